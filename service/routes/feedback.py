"""``/api/feedback``: caseworkers judge passages; evaluators export the judgments as qrels.

Posting is refused from other sites (``Sec-Fetch-Site: cross-site``, or an ``Origin`` that is
not this site), takes only ``Content-Type: application/json``, and is limited per client address
(``PEERQA_FEEDBACK_RATE_PER_MINUTE``) and in total (``PEERQA_FEEDBACK_MAX_ROWS``). The exports
are switched off until ``PEERQA_EXPORT_TOKEN`` is set, then need it as a bearer token, and come
in pages of at most 10 000 lines (the ``Link: <…>; rel="next"`` header leads to the next page).
A storage fault is a 503 with ``Retry-After`` that names it, never a 500.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Annotated, Any, Callable, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from indexer.settings import Settings
from service import metrics
from service.dependencies import FeedbackLimiterDep, FeedbackStoreDep, SearcherDep, SettingsDep
from service.feedback import UnknownPassage, client_key, cross_site_problem, record_feedback
from service.feedback_store import Judgment, StorageUnavailable, StoreFull, qrels_text
from service.logs import log_feedback_fault
from service.schemas import ErrorResponse, checked_question, question_schema

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["feedback"])

MAX_PAGE = 10_000


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "Hvad er peerstøtte?", "passage_id": "peerstoette-tema#3", "helpful": True}]})

    question: str = Field(..., description="The question as asked, 1 to 1000 characters after trimming.",
                          json_schema_extra=question_schema)
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
    def from_judgment(cls, judgment: Judgment) -> FeedbackResponse:
        return cls(id=judgment.id, query_id=judgment.query_id, passage_id=judgment.passage_id,
                   helpful=judgment.helpful, index_version=judgment.index_version, created_at=judgment.created_at)


def error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The API's error body (as ``service.errors`` makes it), with headers such as Retry-After."""
    return JSONResponse({"detail": detail, "errors": []}, status_code=status, headers=headers)


def unavailable(exc: StorageUnavailable | StoreFull) -> JSONResponse:
    """503 for a storage fault or a full store, saying which and when to try again (and logged)."""
    log_feedback_fault(log, exc, "api")
    return error(503, f"feedback not available: {exc}", {"Retry-After": str(exc.retry_after)})


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": {"type": "string"}}


RETRY_AFTER = {"Retry-After": _header("Seconds to wait before trying again.")}
UNAVAILABLE = {"model": ErrorResponse, "headers": RETRY_AFTER,
               "description": "The feedback database is locked, damaged, read-only or gone, or the store is full "
                              "(`PEERQA_FEEDBACK_MAX_ROWS`); the detail says which."}


def not_json(request: Request) -> str | None:
    """What the body is declared as when that is not JSON (``application/json`` or ``…+json``), else None."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json")):
        return None
    return f"Content-Type {kind}" if kind else "no Content-Type"


def parsed_body(body: bytes) -> FeedbackRequest:
    """The JSON body as a FeedbackRequest, or the API's usual 422 naming each field."""
    try:
        return FeedbackRequest.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


@router.post("/feedback", status_code=201, response_model=FeedbackResponse, summary="Judge a passage",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": FeedbackRequest.model_json_schema()}}}},
             responses={
                 403: {"model": ErrorResponse, "description": "Posted from another site (`Sec-Fetch-Site: "
                                                              "cross-site`, or an `Origin` that is not this site)."},
                 415: {"model": ErrorResponse, "description": "The body is not sent as `application/json`."},
                 404: {"model": ErrorResponse, "description": "No passage with this id in the current index "
                                                              "(a newer build may have replaced it: search again)."},
                 422: {"model": ErrorResponse, "description": "Invalid question, field or body."},
                 429: {"model": ErrorResponse, "headers": RETRY_AFTER,
                       "description": "More posts from this address than `PEERQA_FEEDBACK_RATE_PER_MINUTE`."},
                 503: UNAVAILABLE})
async def post_feedback(request: Request, searcher: SearcherDep, store: FeedbackStoreDep, settings: SettingsDep,
                        limiter: FeedbackLimiterDep) -> Response:
    """Body: `{"question": "Hvad er peerstøtte?", "passage_id": "peerstoette-tema#3", "helpful": true}`,
    sent as `Content-Type: application/json` from this site (or from a program: without an `Origin`).
    Stored with the index version and the UTC time; no IP address or user id is kept."""
    problem = cross_site_problem(request)
    if problem:
        return error(403, f"feedback posted from another site is refused ({problem}); judge passages on this "
                          "site's pages")
    wait = limiter.retry_after(client_key(request))
    if wait is not None:
        return error(429, f"too many feedback posts from this address (at most {settings.feedback_rate_per_minute} "
                          f"a minute); try again in {wait} s", {"Retry-After": str(wait)})
    declared = not_json(request)
    if declared:
        return error(415, f"send the feedback as JSON with the header Content-Type: application/json (got {declared})")
    posted = parsed_body(await request.body())
    try:
        judgment = await run_in_threadpool(record_feedback, store, searcher, posted.question, posted.passage_id,
                                           posted.helpful, settings.feedback_max_rows)
    except UnknownPassage as exc:
        return error(404, str(exc))
    except (StorageUnavailable, StoreFull) as exc:
        return unavailable(exc)
    metrics.record_feedback(judgment.helpful)
    return JSONResponse(FeedbackResponse.from_judgment(judgment).model_dump(), status_code=201)


# --- exports ---------------------------------------------------------------------------------------

bearer = HTTPBearer(auto_error=False, scheme_name="ExportToken",
                    description="The value of PEERQA_EXPORT_TOKEN (the exports are off while it is unset).")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
VersionParam = Annotated[str | None, Query(description="Only judgments made on this index version.",
                                           max_length=200)]
LimitParam = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Most lines in this page (1 to {MAX_PAGE}).")]
# The exports answer in text, their errors in JSON: the error content is named (a ``model`` would
# be documented with the route's text media type).
JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
EXPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"content": JSON_ERROR, "headers": {"WWW-Authenticate": _header("`Bearer`: send the export token.")},
          "description": "No or wrong `Authorization: Bearer <PEERQA_EXPORT_TOKEN>`."},
    403: {"content": JSON_ERROR, "description": "The exports are switched off (`PEERQA_EXPORT_TOKEN` unset)."},
    422: {"content": JSON_ERROR, "description": "A query parameter out of range (e.g. `limit` above 10 000)."},
    503: {**{k: v for k, v in UNAVAILABLE.items() if k != "model"}, "content": JSON_ERROR},
}
NEXT_PAGE = "A `Link: <…>; rel=\"next\"` header gives the next page's address while there are more lines."


def export_refusal(export_token: SecretStr | None,
                   credentials: HTTPAuthorizationCredentials | None) -> JSONResponse | None:
    """403 while the exports are off (no ``PEERQA_EXPORT_TOKEN``), 401 without the right bearer token, else None."""
    token = export_token.get_secret_value() if export_token else ""
    if not token:
        return error(403, "the feedback exports are switched off: set PEERQA_EXPORT_TOKEN to a long random secret, "
                          "restart the service, and send it as the header 'Authorization: Bearer <token>'")
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
        return error(401, "the feedback exports need the header 'Authorization: Bearer <PEERQA_EXPORT_TOKEN>'"
                          + (" (the token sent is wrong)" if given else ""),
                     {"WWW-Authenticate": 'Bearer realm="feedback export"'})
    return None


async def export_page(settings: Settings, credentials: HTTPAuthorizationCredentials | None, read_page: Callable[..., list],
                      index_version: str | None, after: str | None, limit: int) -> Response | tuple[list, bool]:
    """One page of an export and whether more follow, or the response that refuses it (no or a
    wrong token, the exports switched off, storage unavailable)."""
    refusal = export_refusal(settings.export_token, credentials)
    if refusal is not None:
        return refusal
    try:
        rows = await run_in_threadpool(read_page, index_version, after, limit + 1)
    except StorageUnavailable as exc:
        return unavailable(exc)
    return rows[:limit], len(rows) > limit


def next_link(request: Request, cursor: str | None, limit: int) -> dict[str, str]:
    if cursor is None:
        return {}
    return {"Link": f'<{request.url.include_query_params(after=cursor, limit=limit)}>; rel="next"'}


@router.get("/feedback/qrels", response_class=PlainTextResponse, summary="Export judgments as TREC qrels",
            responses={200: {"content": {"text/plain": {"example": "fb-0123456789ab 0 peerstoette-tema#3 1\n"}},
                             "description": "One line per question and passage: `query_id 0 passage_id "
                                            "relevance` (1 helpful, 0 not helpful; the latest judgment wins). "
                                            + NEXT_PAGE}, **EXPORT_ERRORS})
async def feedback_qrels(request: Request, store: FeedbackStoreDep, settings: SettingsDep, credentials: BearerDep,
                         index_version: VersionParam = None,
                         layout: Annotated[Literal["trec", "beir"], Query(
                             description="`trec` (default): `query_id 0 passage_id relevance`; `beir`: the "
                                         "tab-separated `qrels/<split>.tsv` of a BEIR folder, with its header "
                                         "(on the first page).")] = "trec",
                         limit: LimitParam = 1000,
                         after: Annotated[str | None, Query(
                             max_length=600, description="Start after this `query_id passage_id` pair (as the "
                                                         "`Link` header of the previous page gives it).")] = None,
                         ) -> Response:
    """Needs `Authorization: Bearer <PEERQA_EXPORT_TOKEN>`. Pair with `/api/feedback/queries` (the
    BEIR `queries.jsonl`) for a benchmark. Passage ids belong to an index version: filter with
    `index_version` when the index has been rebuilt since the judgments were made. Pages of
    `limit` lines, in query id and passage id order; concatenated, the pages are the whole file."""
    page = await export_page(settings, credentials, store.qrels_page, index_version, after, limit)
    if isinstance(page, Response):
        return page
    rows, more = page
    name = "feedback-qrels.tsv" if layout == "beir" else "feedback-qrels.txt"
    return PlainTextResponse(qrels_text(rows, layout, header=after is None), media_type="text/plain; charset=utf-8",
                             headers={"Content-Disposition": f'inline; filename="{name}"',
                                      **next_link(request, rows[-1].cursor if more else None, limit)})


@router.get("/feedback/queries", response_class=Response, summary="Export the judged questions (BEIR JSONL)",
            responses={200: {"content": {"application/x-ndjson": {
                "example": '{"_id": "fb-0123456789ab", "text": "Hvad er peerstøtte?"}\n'}},
                "description": 'One JSON object per line: `{"_id", "text"}`, the ids used in the qrels. '
                               + NEXT_PAGE}, **EXPORT_ERRORS})
async def feedback_queries(request: Request, store: FeedbackStoreDep, settings: SettingsDep, credentials: BearerDep,
                           index_version: VersionParam = None, limit: LimitParam = 1000,
                           after: Annotated[str | None, Query(
                               max_length=200, description="Start after this query id (as the `Link` header of "
                                                           "the previous page gives it).")] = None) -> Response:
    """Needs `Authorization: Bearer <PEERQA_EXPORT_TOKEN>`. Pages of `limit` lines, in query id order."""
    page = await export_page(settings, credentials, store.queries_page, index_version, after, limit)
    if isinstance(page, Response):
        return page
    rows, more = page
    lines = "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in rows)
    return Response(lines, media_type="application/x-ndjson; charset=utf-8",
                    headers={"Content-Disposition": 'inline; filename="feedback-queries.jsonl"',
                             **next_link(request, rows[-1]["_id"] if more else None, limit)})
