"""Back-pressure: a worker runs a bounded number of searches at once, lets a bounded number wait
for a bounded time, and refuses the rest at once with 503 and ``Retry-After``.

Searching is CPU-bound, so running more searches at once than a worker has cores only makes
each slower: beyond ``PEERQA_MAX_SEARCHES`` searches wait in a short queue (at most
``PEERQA_SEARCH_QUEUE`` of them, each for at most ``PEERQA_SEARCH_WAIT_SECONDS``), and a search
that finds the queue full is answered with 503 straight away, so a load balancer or the client
can try another worker or try again in a moment, instead of every request slowing down together.

The gate is an asyncio dependency: waiting happens on the event loop, not in the thread pool,
so waiting searches never hold threads, and ``/healthz``, ``/readyz`` and ``/metrics`` (async
routes) answer at once however many searches queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from indexer.settings import Settings

log = logging.getLogger(__name__)

#: Seconds a refused client is told to wait (a search takes tens of milliseconds).
RETRY_AFTER_SECONDS = 1
BUSY = "the service is busy (every search slot of this worker is taken and the queue is full); try again shortly"
WAITED = "the service is busy (no search slot became free in time); try again shortly"
#: Called with (reason, searches running, searches waiting) when a search is refused.
RejectHook = Callable[[str, int, int], None]


class SearchGate:
    """At most ``slots`` searches at once; at most ``queue`` waiting, each at most ``wait`` seconds."""

    def __init__(self, slots: int, queue: int, wait: float,
                 on_reject: RejectHook | None = None) -> None:
        self.slots, self.queue, self.wait = slots, queue, wait
        self._free = asyncio.Semaphore(slots)
        self.running = 0
        self.waiting = 0
        self.on_reject = on_reject

    @classmethod
    def from_settings(cls, settings: Settings, on_reject: RejectHook | None = None) -> "SearchGate":
        return cls(settings.max_searches, settings.search_queue, settings.search_wait_seconds, on_reject)

    @property
    def saturated(self) -> bool:
        """Every slot taken and the queue full: the next search would be refused."""
        return self.running >= self.slots and self.waiting >= self.queue

    async def enter(self) -> None:
        """Take a slot, waiting in the queue if there is room; HTTPException(503) otherwise."""
        if self._free.locked():
            if self.waiting >= self.queue:
                self._reject("busy", BUSY)
            self.waiting += 1
            try:
                await asyncio.wait_for(self._free.acquire(), self.wait)
            except TimeoutError:
                self._reject("timeout", WAITED)
            finally:
                self.waiting -= 1
        else:
            await self._free.acquire()
        self.running += 1

    def leave(self) -> None:
        self.running -= 1
        self._free.release()

    def _reject(self, reason: str, message: str) -> None:
        if self.on_reject is not None:
            self.on_reject(reason, self.running, self.waiting)
        # Connection: close, so the client's next try opens a new connection, which another
        # worker sharing the port (one less busy, so quicker to accept) may take
        raise HTTPException(503, message, headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"})


def gate_of(request: Request) -> SearchGate:
    return request.app.state.search_gate


async def search_slot(request: Request) -> AsyncIterator[None]:
    """Dependency of every route that searches: holds a slot for the search's duration."""
    gate = gate_of(request)
    await gate.enter()
    try:
        yield
    finally:
        gate.leave()


async def search_slot_when_asked(request: Request) -> AsyncIterator[None]:
    """For a page that searches only when it carries a question (``q``, or earlier ones in ``h``):
    the chat page itself, asked without one, never waits or is refused."""
    if "q" not in request.query_params and "h" not in request.query_params:
        yield
        return
    async for _ in search_slot(request):
        yield


SearchSlot = Annotated[None, Depends(search_slot)]
