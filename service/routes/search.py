"""``GET`` and ``POST /api/search``: ranked, cited passages for a question."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from service.dependencies import SearcherDep
from service.schemas import ErrorResponse, SearchRequest, SearchResponse

router = APIRouter(prefix="/api", tags=["search"])

ERRORS = {422: {"model": ErrorResponse, "description": "Invalid parameters, with a message saying which and why."}}


def run_search(searcher: SearcherDep, request: SearchRequest) -> Response:
    """The search as JSON: validated once against ``SearchResponse`` and serialised once (returning
    the model would make FastAPI validate it a second time)."""
    result = searcher.search(request.q, request.k, retriever=request.retriever, explain=request.explain)
    body = SearchResponse.from_result(result, searcher.version).model_dump_json()
    return Response(content=body, media_type="application/json")


@router.get("/search", response_model=SearchResponse, responses=ERRORS, summary="Search with query parameters")
def search_get(searcher: SearcherDep, params: Annotated[SearchRequest, Query()]) -> Response:
    """Example: `/api/search?q=Hvad er peerstøtte?&k=5`. Add `explain=true` to see why each passage ranked."""
    return run_search(searcher, params)


@router.post("/search", response_model=SearchResponse, responses=ERRORS, summary="Search with a JSON body")
def search_post(searcher: SearcherDep, request: SearchRequest) -> Response:
    """Body: `{"q": "Hvad er peerstøtte?", "k": 5}`."""
    return run_search(searcher, request)
