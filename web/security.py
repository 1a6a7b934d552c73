"""Security headers on every response: a Content-Security-Policy without inline scripts or
styles, no MIME sniffing, no referrer to other sites.

FastAPI's Swagger UI (``/docs``) and ReDoc (``/redoc``) are built from an inline script and CDN
assets, so they are exempt from the CSP (offline they cannot load their CDN assets anyway);
``/openapi.json`` works either way.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'self'; frame-ancestors 'none'; form-action 'self'")

COMMON_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}

CSP_EXEMPT = ("/docs", "/redoc")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, csp: str = CSP) -> None:
        self.app = app
        self.csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        exempt = any(path == p or path.startswith(p + "/") for p in CSP_EXEMPT)
        extra = dict(COMMON_HEADERS)
        if not exempt:
            extra["content-security-policy"] = self.csp
            extra["x-frame-options"] = "DENY"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in extra.items() if k.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
