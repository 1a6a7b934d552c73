"""Turning every failure into a clear JSON error: 4xx for bad input, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from indexer.settings import MAX_RESULTS

log = logging.getLogger(__name__)


class NotFound(Exception):
    status_code = 404

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _field_name(loc: tuple) -> str:
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
        return "the request body is not valid JSON"
    if kind in {"int_parsing", "int_type"}:
        return "must be a whole number"
    if kind in {"greater_than_equal", "less_than_equal"}:
        return f"must be between 1 and {MAX_RESULTS}" if _field_name(tuple(error.get("loc", ()))) == "k" else error["msg"]
    if kind == "extra_forbidden":
        return "is not a known field (use q, k, explain, retriever)"
    return str(error.get("msg", "is not valid"))


def validation_errors(exc: RequestValidationError) -> list[dict]:
    return [{"field": _field_name(tuple(e.get("loc", ()))), "message": _message(e)} for e in exc.errors()]


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the API) gets an HTML error page."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI) -> None:
    """JSON errors for the API; pages may set ``app.state.html_error_page(request, status)``."""
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "errors": []}, status_code=404)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        html_page = getattr(request.app.state, "html_error_page", None)
        if html_page is not None and wants_html(request):
            return html_page(request, exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such page or endpoint: {request.url.path} (see /docs for the API)"
        return JSONResponse({"detail": detail, "errors": []}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return JSONResponse({"detail": "internal error: the failure was logged; please try again", "errors": []},
                            status_code=500)
