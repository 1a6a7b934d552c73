"""``/api/feedback``: caseworkers judge passages; evaluators export the judgments as qrels."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.dependencies import FeedbackStoreDep, SearcherDep
from service.feedback import UnknownPassage, record_feedback
from service.feedback_store import Judgment
from service.schemas import ErrorResponse, checked_question

router = APIRouter(prefix="/api", tags=["feedback"])


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"question": "Hvad er peerstøtte?", "passage_id": "peerstoette-tema#3", "helpful": True}]})

    question: str = Field(..., description="The question as asked, 1 to 1000 characters after trimming.")
    passage_id: str = Field(..., description="A passage id from a search response of the current index.",
                            max_length=300)
    helpful: bool = Field(..., strict=True, description="true: the passage helped answer the question.")

    @field_validator("question")
    @classmethod
    def question_length(cls, value: str) -> str:
        return checked_question(value)


class FeedbackResponse(BaseModel):
    id: int
    query_id: str = Field(..., description="Stable id of the question, as used in the qrels export.")
    passage_id: str
    helpful: bool
    index_version: str = Field(..., description="Build id of the index the judgment was made on.")
    created_at: str = Field(..., description="UTC time, ISO 8601.")

    @classmethod
    def from_judgment(cls, judgment: Judgment) -> "FeedbackResponse":
        return cls(id=judgment.id, query_id=judgment.query_id, passage_id=judgment.passage_id,
                   helpful=judgment.helpful, index_version=judgment.index_version, created_at=judgment.created_at)


@router.post("/feedback", status_code=201, response_model=FeedbackResponse, summary="Judge a passage",
             responses={422: {"model": ErrorResponse, "description": "Invalid question or unknown passage id."}})
def post_feedback(body: FeedbackRequest, searcher: SearcherDep, store: FeedbackStoreDep) -> FeedbackResponse:
    """Body: `{"question": "Hvad er peerstøtte?", "passage_id": "peerstoette-tema#3", "helpful": true}`.
    Stored with the index version and the UTC time; no IP address or user id is kept."""
    try:
        judgment = record_feedback(store, searcher, body.question, body.passage_id, body.helpful)
    except UnknownPassage as exc:
        raise RequestValidationError([{"type": "value_error", "loc": ("body", "passage_id"), "msg": str(exc),
                                       "input": body.passage_id, "ctx": {"error": str(exc)}}]) from None
    return FeedbackResponse.from_judgment(judgment)


VersionParam = Annotated[str | None, Query(description="Only judgments made on this index version.",
                                           max_length=200)]


@router.get("/feedback/qrels", response_class=PlainTextResponse, summary="Export judgments as TREC qrels",
            responses={200: {"content": {"text/plain": {"example": "fb-0123456789ab 0 peerstoette-tema#3 1\n"}},
                             "description": "One line per question and passage: `query_id 0 passage_id "
                                            "relevance` (1 helpful, 0 not helpful; the latest judgment wins)."}})
def feedback_qrels(store: FeedbackStoreDep, index_version: VersionParam = None,
                   layout: Annotated[Literal["trec", "beir"], Query(
                       description="`trec` (default): `query_id 0 passage_id relevance`; `beir`: the "
                                   "tab-separated `qrels/<split>.tsv` of a BEIR folder, with its header.")] = "trec",
                   ) -> PlainTextResponse:
    """Pair with `/api/feedback/queries` (the BEIR `queries.jsonl`) for a benchmark. Passage ids
    belong to an index version: filter with `index_version` when the index has been rebuilt since
    the judgments were made."""
    name = "feedback-qrels.tsv" if layout == "beir" else "feedback-qrels.txt"
    return PlainTextResponse(store.qrels(index_version, layout), media_type="text/plain; charset=utf-8",
                             headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/feedback/queries", response_class=Response, summary="Export the judged questions (BEIR JSONL)",
            responses={200: {"content": {"application/x-ndjson": {
                "example": '{"_id": "fb-0123456789ab", "text": "Hvad er peerstøtte?"}\n'}},
                "description": 'One JSON object per line: `{"_id", "text"}`, the ids used in the qrels.'}})
def feedback_queries(store: FeedbackStoreDep, index_version: VersionParam = None) -> Response:
    lines = "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in store.queries(index_version))
    return Response(lines, media_type="application/x-ndjson; charset=utf-8",
                    headers={"Content-Disposition": 'inline; filename="feedback-queries.jsonl"'})
