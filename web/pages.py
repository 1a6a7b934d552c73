"""Page routes: the chat at ``/`` (answers rendered on the server for ``?q=``), the document view
at ``/documents/{id}``, the feedback form for browsers without JavaScript, and static files.

Every page works without JavaScript; ``static/app.js`` only enhances: it asks without reloading
by fetching ``/fragments/turn`` (one turn, rendered by the same ``turn`` macro as the page, so the
script carries no renderer of its own), keeps the conversation in session storage, copies citations
and sends feedback. Errors on pages are Danish HTML pages (or fragments), not JSON.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

import jinja2
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from indexer.settings import MAX_QUESTION_CHARS, Settings
from indexer.store import original_file
from retrieval.searcher import Searcher
from service import metrics
from service.backpressure import search_slot_when_asked
from service.dependencies import FeedbackLimiterDep, FeedbackStoreDep, SearcherDep, SettingsDep
from service.feedback import (
    StorageUnavailable,
    StoreFull,
    UnknownPassage,
    client_key,
    cross_site_problem,
    record_feedback,
)
from service.logs import log_feedback_fault
from service.schemas import SearchResponse, question_problem
from web import csrf, render
from web.urls import safe_back

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(env=jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                                   autoescape=True, trim_blocks=True, lstrip_blocks=True))
router = APIRouter(include_in_schema=False)
EXAMPLES = (
    "Hvad er peerstøtte?",
    "Hvem er målgruppen for initiativet om at udbrede peers?",
    "Hvad er WRAP?",
    "Hvordan kommer man i gang med peerstøtte i en organisation?",
)
META_LABELS = {"published": "Udgivet", "updated": "Opdateret", "project_period": "Projektperiode",
               "author": "Forfatter", "pages": "Sider", "source_file": "Importeret fra filen"}
#: How the document view names an original file by its format.
ORIGINAL_KINDS = {"pdf": "PDF", "docx": "Word-fil", "html": "webside", "text": "tekstfil", "markdown": "tekstfil"}
EMPTY_QUESTION = "Skriv et spørgsmål, før du søger."
LONG_QUESTION = "Spørgsmålet er {length} tegn langt. Forkort det til højst {limit} tegn."
SEARCH_FAILED = "Søgningen mislykkedes på grund af en fejl i tjenesten. Prøv igen om lidt."
#: The question rules on the chat form, so app.js checks a question before asking with the
#: server's limit and words (``{length}`` is left for the script to fill in).
QUESTION_RULES = {"max_chars": MAX_QUESTION_CHARS, "empty_message": EMPTY_QUESTION,
                  "long_message": LONG_QUESTION.format(length="{length}", limit=MAX_QUESTION_CHARS)}


def question_error(question: str) -> str | None:
    """The Danish message for a question the search does not take: the API's rule
    (``service.schemas.question_problem``), so blank and invisible characters alone are empty."""
    problem = question_problem(question)
    if problem == "not_text":  # e.g. %ED%A0%80 in the address, which decodes to U+FFFD
        return "Spørgsmålet indeholder tegn, der ikke kan læses som tekst. Skriv det igen."
    if problem == "empty":
        return EMPTY_QUESTION
    if problem == "too_long":
        return LONG_QUESTION.format(length=len(question.strip()), limit=MAX_QUESTION_CHARS)
    return None


def site_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def card(request: Request, hit: Any, turn_index: int, question: str, back: str | None,
         original: str | None = None) -> dict[str, Any]:
    """One result card. ``back`` is the chat address without JavaScript that shows the turn
    again; ``None`` for a turn in app.js's stored conversation, which ``/`` restores, so its
    links lead to ``/`` rather than to addresses that would ask the question once more.
    ``original`` is the address of the document's original file, when it was imported from one."""
    spans = [(s.start, s.end) for s in hit.highlights]
    view = render.document_url(hit.doc.id, hit.passage_id, spans)
    card_id = f"t{turn_index}-r{hit.rank}"
    pages = render.page_label(hit.page_start, hit.page_end)
    return {
        "id": card_id, "rank": hit.rank, "title": hit.doc.title, "publisher": hit.doc.publisher,
        "section": hit.section, "pages": pages, "passage_id": hit.passage_id, "question": question,
        "blocks": render.text_blocks(hit.text, spans),
        "doc_url": render.document_url(hit.doc.id, hit.passage_id, spans, question if back else None),
        "source_url": render.safe_source_url(hit.doc.source_url),
        "original_url": original_link(original, hit.page_start),
        "citation": render.citation(hit.doc.title, hit.doc.publisher, hit.section,
                                    render.safe_source_url(hit.doc.source_url) or site_url(request) + view, pages),
        "back": f"{back or '/'}#{card_id}",
    }


def original_link(original: str | None, page: int | None) -> str | None:
    """The original file's address, opened at ``page`` (browsers' PDF viewers read ``#page=N``)."""
    if original is None:
        return None
    return f"{original}#page={page}" if page else original


def original_address(searcher: Searcher, doc_id: str) -> str | None:
    """``/api/documents/{id}/original`` when the index holds the document's original file."""
    document = searcher.document(doc_id)
    if document is None or original_file(searcher.index_path, document) is None:
        return None
    return f"/api/documents/{render.component(doc_id)}/original"


def answer_turn(request: Request, searcher: Searcher, settings: Settings, question: str, index: int,
                back: str | None) -> dict[str, Any]:
    """Search and shape one turn for the ``turn`` macro (``back`` as in :func:`card`)."""
    text = question.strip()
    result = searcher.search(text, settings.page_results)
    metrics.record_search(result)
    response = SearchResponse.from_result(result, searcher.version)
    return {"index": index, "question": response.query, "abstain": response.abstain,
            "cards": [card(request, hit, index, response.query, back, original_address(searcher, hit.doc.id))
                      for hit in response.results]}


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def chat_page(request: Request, searcher: Searcher, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """The chat page; every state of it carries the examples, the question rules and the index version."""
    return page(request, "chat.html", {**context, "examples": EXAMPLES, "rules": QUESTION_RULES,
                                       "version": searcher.version}, status)


def message_page(request: Request, status: int, title: str, message: str, **extra: Any) -> HTMLResponse:
    return page(request, "message.html", {"title": title, "message": message, **extra}, status)


def error_page(request: Request, status: int) -> HTMLResponse:
    """Danish HTML page for an HTTP error on a page address (unknown path, wrong method)."""
    if status == 404:
        return message_page(request, 404, "Siden findes ikke",
                            "Adressen findes ikke her. Tjek linket, eller stil dit spørgsmål på forsiden.")
    if status == 503:
        return message_page(request, 503, "Travlt lige nu",
                            "Mange stiller spørgsmål netop nu, så dit spørgsmål blev ikke søgt. Prøv igen om et "
                            "øjeblik – genindlæs siden.")
    return message_page(request, status, "Det gik ikke",
                        "Forespørgslen kunne ikke gennemføres. Gå til forsiden og prøv igen.")


@router.get("/", response_class=HTMLResponse, include_in_schema=False, dependencies=[Depends(search_slot_when_asked)])
def chat(request: Request, searcher: SearcherDep, settings: SettingsDep, q: str | None = None,
         h: Annotated[list[str] | None, Query()] = None) -> HTMLResponse:
    """The chat; ``q`` is the question asked now, ``h`` the earlier ones a browser without
    JavaScript carries along. Of those, only the latest ``settings.page_history`` valid ones are
    searched again, each once (and not again when it is ``q``), however many ``h`` there are."""
    error = question_error(q) if q is not None else None
    question = q.strip() if q is not None and error is None else None
    history: list[str] = []
    for earlier in reversed(h or ()):
        if len(history) >= settings.page_history:
            break
        text = earlier.strip()
        if text != question and text not in history and question_error(text) is None:
            history.append(text)
    history.reverse()
    asked = [*history, question] if question is not None else history
    back = render.chat_url(asked[-1], asked[:-1]) if asked else "/"
    try:
        turns = [answer_turn(request, searcher, settings, text, i, back) for i, text in enumerate(asked)]
    except Exception:  # never a stack trace for a caseworker; the failure is logged
        log.exception("search failed on the chat page")
        return chat_page(request, searcher, {"q": q or "", "turns": [], "history": history, "answered": False,
                                             "error": SEARCH_FAILED}, 500)
    carried = asked[max(len(asked) - settings.page_history, 0):] if error is None else history
    return chat_page(request, searcher, {
        "q": q if error else "", "turns": turns, "history": carried,
        "answered": bool(turns) and error is None and q is not None, "error": error}, 422 if error else 200)


@router.get("/fragments/turn", response_class=HTMLResponse, include_in_schema=False,
            dependencies=[Depends(search_slot_when_asked)])
def turn_fragment(request: Request, searcher: SearcherDep, settings: SettingsDep, q: str = "",
                  i: Annotated[int, Query(ge=0)] = 0) -> HTMLResponse:
    """One answered turn as an HTML fragment for app.js, numbered ``i`` in the script's
    conversation: the page's own ``turn`` macro, so the script shows what the server renders.
    A question the search does not take is a 422 fragment with the Danish message (no search);
    a failing search is a 500 fragment, never a stack trace."""
    error = question_error(q)
    if error is not None:
        return page(request, "turn_fragment.html", {"error": error}, 422)
    try:
        turn = answer_turn(request, searcher, settings, q, i, None)
    except Exception:  # as on the chat page: logged, and a Danish message for the script to show
        log.exception("search failed for a turn fragment")
        return page(request, "turn_fragment.html", {"error": SEARCH_FAILED}, 500)
    return page(request, "turn_fragment.html", {"turn": turn})


@router.get("/documents/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
def document_page(request: Request, doc_id: str, searcher: SearcherDep, passage: str | None = None,
                  hl: str | None = None, q: str | None = None) -> HTMLResponse:
    document = searcher.document(doc_id)
    if document is None:
        return message_page(
            request, 404, "Dokumentet findes ikke",
            f"Der er intet dokument med id'et »{doc_id}« i søgeindekset. Det kan være fjernet eller "
            "omdøbt, da materialet sidst blev opdateret. Stil spørgsmålet igen for at finde kilden.")
    cited = searcher.passage(passage) if passage else None
    cited = cited if cited is not None and cited.doc_id == doc_id else None
    spans = render.clean_spans(render.parse_highlight_param(hl), len(cited.text)) if cited else []
    answers = [(cited.start + s, cited.start + e) for s, e in spans] if cited else []
    question = q.strip() if q and question_error(q) is None else None
    view = render.document_url(doc_id, cited.id, spans) if cited else f"/documents/{render.component(doc_id)}"
    source_url = render.safe_source_url(document.source_url)
    url = source_url or site_url(request) + view
    pages = render.page_label(cited.page_start, cited.page_end) if cited else ""
    blocks = render.text_blocks(document.body, answers, (cited.start, cited.end) if cited else None)
    return page(request, "document.html", {
        "doc": document, "source_url": source_url, "pages": pages,
        "original_url": original_link(original_address(searcher, doc_id), cited.page_start if cited else None),
        "original_kind": ORIGINAL_KINDS.get(str(document.meta.get("source_format", "")), "fil"),
        "groups": render.cited_groups(render.document_outline(render.mark_pages(blocks, document.page_starts))),
        "cited": cited, "passage_missing": bool(passage) and cited is None, "question": question,
        "back": render.chat_url(question) if question else "/",
        "citation": render.citation(document.title, document.publisher, cited.section if cited else "", url, pages),
        "meta": [(META_LABELS[k], str(v)) for k, v in document.meta.items() if k in META_LABELS and v],
        "version": searcher.version})

@router.post("/feedback", response_class=HTMLResponse, include_in_schema=False)
async def feedback_form(request: Request, searcher: SearcherDep, settings: SettingsDep,
                        store: FeedbackStoreDep, limiter: FeedbackLimiterDep) -> HTMLResponse:
    """The card's feedback form when JavaScript is off (with it, app.js posts to /api/feedback).
    Refused from other sites and without the form's own token (web/csrf.py); limited per address
    and in total; a storage fault is a Danish 503 page, never a stack trace."""
    if cross_site_problem(request):
        return message_page(request, 403, "Vurderingen blev afvist",
                            "Vurderingen kom fra en anden side end denne og blev ikke gemt.")
    wait = limiter.retry_after(client_key(request))
    if wait is not None:
        return feedback_too_often(request, wait)
    body = await request.body()
    if len(body) > settings.max_form_bytes:
        return message_page(request, 413, "Vurderingen blev ikke gemt", "Formularen var for stor.")
    fields = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    back = safe_back(fields.get("back", "/"))
    forged = csrf.problem_of(request, fields.get(csrf.FIELD))
    if forged is not None:
        return message_page(request, 403, "Vurderingen blev afvist", FORM_TOKEN_PROBLEMS[forged], back=back)
    question, passage_id = fields.get("question", ""), fields.get("passage_id", "")
    helpful = {"1": True, "0": False}.get(fields.get("helpful", ""))
    problem = question_error(question) or (None if helpful is not None else "Vælg »Hjælpsomt« eller "
                                                                          "»Ikke hjælpsomt«.")
    if problem is None:
        try:
            await run_in_threadpool(record_feedback, store, searcher, question.strip(), passage_id,
                                    bool(helpful), settings.feedback_max_rows)
            metrics.record_feedback(bool(helpful))
        except UnknownPassage:
            problem = ("Tekststykket findes ikke længere i søgeindekset, måske fordi materialet er "
                       "opdateret. Stil spørgsmålet igen, og vurder det nye svar.")
        except (StorageUnavailable, StoreFull) as exc:
            return feedback_not_stored(request, exc, back)
    if problem:
        return message_page(request, 422, "Vurderingen blev ikke gemt", problem, back=back)
    return message_page(request, 200, "Tak for din vurdering",
                        "Vurderingen er gemt uden oplysninger om dig og bruges til at gøre søgningen bedre.",
                        back=back)


# --- the feedback form's refusals (web/csrf.py signs the form) -------------------------------------

FORM_TOKEN_PROBLEMS = {
    "missing": "Formularen manglede sit sikkerhedsfelt, så vurderingen blev ikke gemt. Den kom måske fra en "
               "anden side. Gå tilbage til svarene, og vurder igen.",
    "invalid": "Formularens sikkerhedsfelt var ugyldigt, så vurderingen blev ikke gemt. Den kom måske fra en "
               "anden side. Gå tilbage til svarene, og vurder igen.",
    "expired": "Siden var for gammel (over 12 timer), så vurderingen blev ikke gemt. Gå tilbage til svarene, "
               "genindlæs siden, og vurder igen.",
}
STORAGE_PROBLEMS = {
    "deleted": "Databasen med vurderinger er forsvundet, siden tjenesten startede, og oprettes ikke igen af sig "
               "selv. Giv den, der driver tjenesten, besked, og prøv igen senere.",
    "locked": "Databasen med vurderinger er optaget af et andet program lige nu. Prøv igen om et øjeblik.",
    "corrupt": "Databasen med vurderinger er beskadiget og skal gendannes. Giv den, der driver tjenesten, besked, "
               "og prøv igen senere.",
    "readonly": "Databasen med vurderinger kan ikke skrives til lige nu. Giv den, der driver tjenesten, besked, "
                "og prøv igen senere.",
    "unavailable": "Databasen med vurderinger kan ikke åbnes lige nu. Prøv igen senere.",
}
STORE_FULL = ("Der er ikke plads til flere vurderinger lige nu, så din blev ikke gemt (intet er slettet). "
              "Giv den, der driver tjenesten, besked, og prøv igen senere.")


def feedback_too_often(request: Request, wait: int) -> HTMLResponse:
    """429: this address has sent its feedback posts for the minute; ``Retry-After`` says when to try."""
    response = message_page(request, 429, "For mange vurderinger",
                            f"Der er sendt mange vurderinger fra din adresse på kort tid, så denne blev ikke "
                            f"gemt. Vent {wait} sekunder, og prøv igen.")
    response.headers["Retry-After"] = str(wait)
    return response


def feedback_not_stored(request: Request, exc: StorageUnavailable | StoreFull, back: str) -> HTMLResponse:
    """503: the feedback database failed (which way is logged) or is full; nothing was stored."""
    log_feedback_fault(log, exc, "form")
    message = STORAGE_PROBLEMS[exc.fault] if isinstance(exc, StorageUnavailable) else STORE_FULL
    response = message_page(request, 503, "Vurderingen blev ikke gemt", message, back=back)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


csrf.install(templates)
