"""HTTP hardening around the whole service (API and pages), as plain ASGI middleware:

- ``TrustedHosts``: only the host names of ``settings.allowed_hosts`` are answered (others: 400),
  so no foreign Host header reaches a redirect or a citation URL;
- ``BodyLimit``: a body over ``settings.max_body_bytes`` is refused with 413, up front from its
  Content-Length, or while it streams in (chunked) without reading past the limit;
- ``HeadAsGet``: HEAD is answered like GET, without the body, wherever GET is;
- ``CacheControl``: every response says how it may be cached;
- ``RequestMetrics`` (``service.metrics``): every request counted and timed, by route template.

``install_middleware`` stacks them in the order they must run.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_response
from service.metrics import RequestMetrics

#: Static files (not fingerprinted: an hour), and the Swagger UI assets of a pinned package (a day).
STATIC_CACHE = {"/static/": "public, max-age=3600", "/docs-assets/": "public, max-age=86400"}
#: Responses that hold a question or a judgment: kept by no cache (shared or the browser's).
NO_STORE = "no-store"
#: Everything else may be stored but is checked with the server before each reuse.
REVALIDATE = "no-cache"
#: Addresses whose every response is private to the asker.
PRIVATE_PATHS = ("/api/search", "/api/feedback", "/fragments/turn", "/feedback")
#: Query parameters that carry a question (``q``) or earlier ones (``h``) on the pages.
QUESTION_PARAMS = frozenset({"q", "h"})
_PASSED_HOST_CHECK = "peerqa.host_checked"


def _is_under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


class TrustedHosts:
    """Starlette's ``TrustedHostMiddleware`` (without its www redirect), its refusal answered as
    the service's JSON error instead of plain text. IPv6 literals may be listed bare (``::1``);
    the Host header brackets them (``[::1]:8000``)."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        hosts = [*allowed_hosts, *(f"[{h}]" for h in allowed_hosts if ":" in h and not h.startswith("["))]
        self.check = TrustedHostMiddleware(self._trusted, allowed_hosts=hosts, www_redirect=False)

    async def _trusted(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_PASSED_HOST_CHECK] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.check(scope, receive, send)
            return

        async def send_refusal_as_json(message: Message) -> None:
            if scope.get(_PASSED_HOST_CHECK):
                await send(message)
            elif message["type"] == "http.response.start":  # Starlette's plain-text 400: ours instead
                await error_response(400, "unknown host: this service answers only to the host names it is "
                                          "configured for (PEERQA_ALLOWED_HOSTS)")(scope, receive, send)

        await self.check(scope, receive, send_refusal_as_json)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes the limit; FastAPI's body parsing lets an
    HTTPException through, so the app's error handlers answer it (JSON, or a page for browsers)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


class BodyLimit:
    """Refuses a request body over ``max_bytes`` with 413. A Content-Length over the limit is
    refused before anything is read; a body without one (chunked) is counted as the app reads it,
    and reading stops at the first chunk past the limit, so no more than that is ever held."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            problem = (f"the request body is {length} bytes; the limit is {self.max_bytes} bytes"
                       if length.isdigit() else "the Content-Length header is not a number of bytes")
            await error_response(413 if length.isdigit() else 400, problem)(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted_receive, send)


class HeadAsGet:
    """HEAD is routed as GET and answered with GET's status and headers, without the body; on an
    address without GET it is the same 405 as GET, whose Allow lists what the address takes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        as_get = {**scope, "method": "GET"}
        try:
            await self.app(as_get, receive, send_without_body)
        finally:
            if "route" in as_get:  # the route that answered, for RequestMetrics outside
                scope["route"] = as_get["route"]


def cache_policy(method: str, path: str, query_string: bytes, status: int) -> str:
    """The Cache-Control for a response: ``no-store`` for what holds a question or a judgment
    (searches, feedback, pages asked with ``q`` or ``h``, every write), public caching for
    static files, ``no-cache`` for the rest."""
    if status < 400 and method in ("GET", "HEAD"):
        for prefix, policy in STATIC_CACHE.items():
            if path.startswith(prefix):
                return policy
    if method not in ("GET", "HEAD") or any(_is_under(path, p) for p in PRIVATE_PATHS):
        return NO_STORE
    names = {name for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)}
    return NO_STORE if names & QUESTION_PARAMS else REVALIDATE


class CacheControl:
    """Adds ``cache_policy``'s Cache-Control to every response that sets none itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cache_control(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    policy = cache_policy(scope["method"], scope["path"], scope.get("query_string", b""),
                                          message["status"])
                    message = {**message, "headers": [*headers, (b"cache-control", policy.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_cache_control)


def install_middleware(app: FastAPI, allowed_hosts: Sequence[str], max_body_bytes: int) -> None:
    """Stacks the middleware (``settings.allowed_hosts``, ``settings.max_body_bytes``); the last
    added runs first: the request metrics (so refusals count too), Cache-Control on every
    response, then HEAD, the host check and the body limit, then the app."""
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(TrustedHosts, allowed_hosts=allowed_hosts)
    app.add_middleware(HeadAsGet)
    app.add_middleware(CacheControl)
    app.add_middleware(RequestMetrics)
