"""Recording caseworkers' judgments against the index that answered (used by the API and the
no-JavaScript form of the pages alike), and the guards both put in front of the store: posts
from other sites are refused (:func:`cross_site_problem`) and each client address may post
``feedback_rate_per_minute`` times a minute (:class:`RateLimiter`)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.requests import Request

from retrieval.searcher import Searcher
from service.feedback_store import FeedbackBackend, Judgment, StorageUnavailable, StoreFull

DEFAULT_PORTS = {"http": 80, "https": 443}

__all__ = ["RateLimiter", "StorageUnavailable", "StoreFull", "UnknownPassage", "client_key", "cross_site_problem",
           "record_feedback"]  # the store's errors too: callers of record_feedback catch them


class UnknownPassage(ValueError):
    """The judged passage id is not in the current index; the message says what to do."""


def record_feedback(store: FeedbackBackend, searcher: Searcher, question: str, passage_id: str,
                    helpful: bool, max_rows: int | None = None) -> Judgment:
    """Store one judgment against the current index; UnknownPassage if the id is not in it,
    StoreFull when the store holds ``max_rows``, StorageUnavailable when the database fails."""
    if not searcher.has_passage(passage_id):
        raise UnknownPassage(f"no passage {passage_id!r} in the current index ({searcher.version}); "
                             "use a passage_id from a fresh search response")
    return store.add(question, passage_id, helpful, searcher.version, max_rows=max_rows)


def _origin_key(scheme: str, host: str | None, port: int | None) -> tuple[str, str, int | None]:
    scheme = scheme.lower()
    return scheme, (host or "").lower(), port if port is not None else DEFAULT_PORTS.get(scheme)


def cross_site_problem(request: Request) -> str | None:
    """Why the post comes from another site, or None: ``Sec-Fetch-Site: cross-site``, or an
    ``Origin`` (``null`` included, as sandboxed frames send) that is not this site's own
    ``scheme://host[:port]``. A request with neither header (curl, old browsers) passes here."""
    if request.headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
        return "Sec-Fetch-Site is cross-site"
    origin = request.headers.get("origin")
    if origin is None:
        return None
    try:
        given = urlsplit(origin.strip())
        theirs = _origin_key(given.scheme, given.hostname, given.port)
    except ValueError:  # a port that is not a number
        return f"Origin {origin!r} is not this site"
    ours = _origin_key(request.url.scheme, request.url.hostname, request.url.port)
    return None if given.netloc and theirs == ours else f"Origin {origin!r} is not this site"


def client_key(request: Request) -> str:
    """The client's address as the rate limit counts it (a proxy in front makes it the proxy's)."""
    return request.client.host if request.client else "unknown"


class RateLimiter:
    """A sliding window per client: at most ``limit`` hits in any ``window`` seconds. Thread-safe;
    it forgets clients idle for a window and tracks at most ``max_clients`` at once (the longest
    idle are dropped first), so its memory stays small."""

    def __init__(self, limit: int, window: float = 60.0, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """Count a hit for ``client``; None when allowed, else whole seconds until one is (not counted)."""
        now = self._clock()
        with self._lock:
            hits = self._hits.pop(client, None) or deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            self._hits[client] = hits  # re-inserted last: the dict is ordered by latest activity
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            if len(self._hits) > self.max_clients:
                self._forget(now)
            return None

    def _forget(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
        while len(self._hits) > self.max_clients:
            del self._hits[next(iter(self._hits))]
