"""Turning every failure into a clear JSON error: 4xx for bad input, never a stack trace.

Every error body has one shape, ``{"detail": "...", "errors": [{"field", "message"}]}``
(``service.schemas.ErrorResponse``), whether a route, a handler here or a middleware of
``service.middleware`` answers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from email.message import Message

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles

from indexer.settings import MAX_RESULTS

log = logging.getLogger(__name__)

#: The methods ``allowed_methods`` tries (HEAD follows GET).
PROBED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
#: FastAPI's 400 when it cannot read a body as JSON (its cause is chained on the exception).
FASTAPI_BODY_FAILURE = "There was an error parsing the body"


class NotFound(Exception):
    status_code = 404

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def printable(text: str) -> str:
    """``text`` safe to encode as UTF-8: a lone surrogate becomes its escape (``\\ud800``)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_response(status: int, detail: str, errors: Sequence[Mapping[str, str]] = (),
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The JSON error every part of the service answers with."""
    items = [{"field": printable(e["field"]), "message": printable(e["message"])} for e in errors]
    return JSONResponse({"detail": printable(detail), "errors": items}, status_code=status,
                        headers=dict(headers or {}))


def _field_name(loc: tuple) -> str:
    if loc and loc[0] == "body" and all(isinstance(p, int) for p in loc[1:]):
        return "body"  # the body as a whole (a JSON syntax error carries its position)
    parts = [str(p) for p in loc if p not in ("query", "body", "path")]
    return ".".join(parts) or "request"


def _message(error: dict) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "")))
    if kind == "missing":
        return "is required"
    if kind == "json_invalid":
        where = error.get("loc", ())[-1]
        reason = f": {ctx['error']} at character {where}" if ctx.get("error") and isinstance(where, int) else ""
        return f"the request body is not valid JSON{reason}"
    if kind in {"int_parsing", "int_type"}:
        return "must be a whole number"
    if kind in {"bool_parsing", "bool_type"}:
        return "must be a boolean: true or false"
    if kind in {"greater_than_equal", "less_than_equal"}:
        return f"must be between 1 and {MAX_RESULTS}" if _field_name(tuple(error.get("loc", ()))) == "k" else error["msg"]
    if kind == "extra_forbidden":
        return "is not a known field (use q, k, explain, retriever)"
    return str(error.get("msg", "is not valid"))


def validation_errors(exc: RequestValidationError) -> list[dict]:
    return [{"field": _field_name(tuple(e.get("loc", ()))), "message": _message(e)} for e in exc.errors()]


def body_problem(request: Request, cause: BaseException | None) -> str:
    """Why FastAPI could not read the body as JSON, in words a caller can act on."""
    if isinstance(cause, UnicodeDecodeError):
        header = Message()
        header["content-type"] = request.headers.get("content-type", "")
        charset = header.get_param("charset")
        said = (f" (the Content-Type names charset={charset}, but JSON is always UTF-8)"
                if isinstance(charset, str) and charset.lower().replace("-", "") != "utf8" else "")
        return f"the request body is not valid UTF-8{said}: send the JSON encoded as UTF-8"
    if isinstance(cause, RecursionError):
        return "the JSON in the request body is nested too deeply"
    return "the request body could not be read as JSON"


def allowed_methods(request: Request) -> list[str]:
    """The methods some route answers at this path (each method is tried against the app's
    routes, included routers too), HEAD wherever GET is (``service.middleware`` answers HEAD like
    GET); a static file mount answers GET."""
    # the scope as the app's router saw it (a mount has since moved root_path to itself)
    scope = {**request.scope, "root_path": request.scope.get("app_root_path", request.scope.get("root_path", ""))}
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Mount):
            if isinstance(route.app, StaticFiles) and route.matches(scope)[0] == Match.FULL:
                methods.add("GET")
            continue
        methods.update(m for m in PROBED_METHODS if route.matches({**scope, "method": m})[0] == Match.FULL)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API) gets an HTML error page."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI) -> None:
    """JSON errors for the API; pages may set ``app.state.html_error_page(request, status)``."""
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return error_response(422, detail, errors)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return error_response(404, exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == FASTAPI_BODY_FAILURE:
            message = body_problem(request, exc.__cause__)
            return error_response(422, f"body: {message}", [{"field": "body", "message": message}])
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        html_page = getattr(request.app.state, "html_error_page", None)
        if html_page is not None and wants_html(request):
            page: Response = html_page(request, exc.status_code)
            page.headers.update(headers)
            return page
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such page or endpoint: {request.url.path} (see /docs for the API)"
        if exc.status_code == 405 and detail == "Method Not Allowed":
            detail = f"{request.method} is not allowed here; use {headers['Allow']}"
        return error_response(exc.status_code, detail, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # answered outside the middleware stack (by Starlette's ServerErrorMiddleware), so the
        # response carries its own Cache-Control
        log.exception("unexpected error on %s", request.url.path)
        return error_response(500, "internal error: the failure was logged; please try again",
                              headers={"Cache-Control": "no-store"})
