"""A request body must arrive within ``PEERQA_REQUEST_READ_TIMEOUT`` seconds: a client that
sends half a body and stalls gets 408 and its connection back, instead of holding a worker's
attention for as long as it likes. (Idle keep-alive connections are closed by uvicorn after 5 s;
slow request headers are a reverse proxy's job: see docs/deploy.md, ``client_header_timeout``.)"""

from __future__ import annotations

import asyncio
import time

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTimeout(HTTPException):
    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the request body did not arrive within {seconds:g} s; send it whole, then wait "
                              "for the answer", headers={"Connection": "close"})


class ReadTimeout:
    """Bounds the time from the request's start to the last chunk of its body. Once the body is
    in, ``receive`` is passed through untouched (it then only waits for a disconnect)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.seconds
        complete = False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0.001))
            except TimeoutError:
                raise BodyTimeout(self.seconds) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, timed_receive, send)
