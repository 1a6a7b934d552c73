"""``GET /healthz`` (liveness): 200 once the index is loaded, with the build it answers from and,
when a newer published build could not be loaded, why (``degraded``). ``GET /readyz``
(readiness): 200 while this worker takes searches, 503 while every search slot and the queue
are full, so a load balancer sends the next request elsewhere. Both are async routes: they run
on the event loop and answer at once however many searches are queued."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from retrieval.searcher import Searcher
from service.backpressure import gate_of
from service.schemas import Health, Readiness

router = APIRouter(tags=["health"])


def current_searcher(request: Request) -> Searcher:
    """The searcher now served (not a dependency: FastAPI would run a plain one in the thread
    pool, where it could wait behind searches)."""
    return request.app.state.searchers.get()


@router.get("/healthz", response_model=Health)
async def health(request: Request) -> Health:
    searcher = current_searcher(request)
    fields = asdict(searcher.health())
    fields.setdefault("index_built_at", fields.get("built_at", ""))
    return Health(status="ok", degraded=getattr(request.app.state.searchers, "degraded", None), **fields)


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness, "description": "Busy: every "
            "search slot of this worker is taken and its queue is full; send searches elsewhere for now."}})
async def readiness(request: Request) -> JSONResponse:
    searcher, gate = current_searcher(request), gate_of(request)
    ready = Readiness(ready=not gate.saturated, index_version=searcher.version, searches_running=gate.running,
                      searches_waiting=gate.waiting, search_slots=gate.slots, queue_size=gate.queue)
    return JSONResponse(ready.model_dump(), status_code=200 if ready.ready else 503,
                        headers=None if ready.ready else {"Retry-After": "1"})
