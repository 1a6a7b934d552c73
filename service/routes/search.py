"""``GET`` and ``POST /api/search``: ranked, cited passages for a question."""

from __future__ import annotations

from email.message import Message
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.exceptions import HTTPException

from service import metrics
from service.backpressure import search_slot
from service.dependencies import SearcherDep
from service.schemas import ErrorResponse, SearchParams, SearchRequest, SearchResponse

router = APIRouter(prefix="/api", tags=["search"])

# 400 (unknown host), 413 and 415 (bodies) are added to every operation by service.docs.describe_errors
ERRORS = {422: {"model": ErrorResponse, "description": "Invalid parameters, with a message saying which and why."},
          503: {"model": ErrorResponse, "description": "Busy: this worker's search slots and queue are full (or no "
                "slot came free within PEERQA_SEARCH_WAIT_SECONDS). Retry after the `Retry-After` seconds.",
                "headers": {"Retry-After": {"description": "Seconds to wait before trying again.",
                                            "schema": {"type": "integer"}}}}}


def json_body(request: Request) -> None:
    """415 for a body not declared as JSON (FastAPI would pass it on as bytes, and the 422 would
    say that the body is not an object)."""
    header = Message()
    header["content-type"] = request.headers.get("content-type", "")
    kind = header.get_content_type() if "content-type" in request.headers else ""
    if kind != "application/json" and not (kind.startswith("application/") and kind.endswith("+json")):
        shown = f"Content-Type {kind}" if kind else "no Content-Type"
        raise HTTPException(415, f"send the search as JSON with the header Content-Type: application/json "
                                 f"(got {shown})")


def run_search(searcher: SearcherDep, request: SearchParams) -> Response:
    """The search as JSON: validated once against ``SearchResponse`` and serialised once (returning
    the model would make FastAPI validate it a second time)."""
    result = searcher.search(request.q, request.k, retriever=request.retriever, explain=request.explain)
    metrics.record_search(result)
    # exclude_unset: page_start/page_end are absent, not null, for sources without pages
    body = SearchResponse.from_result(result, searcher.version).model_dump_json(exclude_unset=True)
    return Response(content=body, media_type="application/json")


@router.get("/search", response_model=SearchResponse, responses=ERRORS, summary="Search with query parameters",
            dependencies=[Depends(search_slot)])
def search_get(searcher: SearcherDep, params: Annotated[SearchParams, Query()]) -> Response:
    """Example: `/api/search?q=Hvad er peerstøtte?&k=5`. Add `explain=true` to see why each passage ranked.
    Unknown parameters (such as a cache-buster `_=123`) are ignored."""
    return run_search(searcher, params)


@router.post("/search", response_model=SearchResponse, summary="Search with a JSON body",
             dependencies=[Depends(json_body), Depends(search_slot)], responses={
                 **ERRORS, 415: {"model": ErrorResponse, "description": "The body is not sent as `application/json`."}})
def search_post(searcher: SearcherDep, request: SearchRequest) -> Response:
    """Body: `{"q": "Hvad er peerstøtte?", "k": 5}`, sent as `application/json`. Unknown fields are
    refused, and `explain` must be a JSON boolean."""
    return run_search(searcher, request)
