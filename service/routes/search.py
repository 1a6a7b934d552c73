"""``GET`` and ``POST /api/search``: ranked, cited passages for a question."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from service.dependencies import SearcherDep
from service.schemas import ErrorResponse, SearchRequest, SearchResponse

router = APIRouter(prefix="/api", tags=["search"])

ERRORS = {422: {"model": ErrorResponse, "description": "Invalid parameters, with a message saying which and why."}}


def run_search(searcher: SearcherDep, request: SearchRequest) -> SearchResponse:
    result = searcher.search(request.q, request.k, retriever=request.retriever, explain=request.explain)
    return SearchResponse.from_result(result, searcher.version)


@router.get("/search", response_model=SearchResponse, responses=ERRORS, summary="Search with query parameters")
def search_get(searcher: SearcherDep, params: Annotated[SearchRequest, Query()]) -> SearchResponse:
    """Example: `/api/search?q=Hvad er peerstøtte?&k=5`. Add `explain=true` to see why each passage ranked."""
    return run_search(searcher, params)


@router.post("/search", response_model=SearchResponse, responses=ERRORS, summary="Search with a JSON body")
def search_post(searcher: SearcherDep, request: SearchRequest) -> SearchResponse:
    """Body: `{"q": "Hvad er peerstøtte?", "k": 5}`."""
    return run_search(searcher, request)
