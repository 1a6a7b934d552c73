"""``GET /healthz``: 200 once the index is loaded, with the build it answers from and, when a
newer published build could not be loaded, why (``degraded``)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request

from service.dependencies import SearcherDep
from service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def health(searcher: SearcherDep, request: Request) -> Health:
    fields = asdict(searcher.health())
    fields.setdefault("index_built_at", fields.get("built_at", ""))
    return Health(status="ok", degraded=getattr(request.app.state.searchers, "degraded", None), **fields)
