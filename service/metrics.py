"""The service's Prometheus metrics (served at ``/metrics`` by ``service.routes.metrics``).

- ``peerqa_http_requests_total{route,method,status}`` and ``peerqa_http_request_duration_seconds{route}``:
  every request, recorded by :class:`RequestMetrics` (an ASGI middleware). ``route`` is the route
  template (``/api/search``, ``/documents/{doc_id}``), or ``other`` for an address no route
  serves: never the raw path or query string, so no question reaches a label and there are few.
- ``peerqa_search_stage_seconds{stage}``: the stages of each search (``SearchResult.stage_seconds``:
  analysis, encoding, dense, lexical, fusion, rerank, highlights).
- ``peerqa_searches_total{retriever,abstained}``: the abstain rate is ``abstained="true"`` over all.
- ``peerqa_feedback_total{helpful}``: judgments stored.
- ``peerqa_rejected_requests_total{reason}``: searches refused by the back-pressure (``busy``, ``timeout``).
- ``peerqa_index_info{version}`` (1 for the build served, 0 for one served before) and
  ``peerqa_index_built_timestamp_seconds`` (its age is ``time() -`` this), set at start-up and at
  each index swap.

Several workers (multiprocess mode). ``prometheus_client`` decides at import whether it keeps
values in memory or in files under ``PROMETHEUS_MULTIPROC_DIR``; so that every worker writes there:

1. the parent process empties the folder (:func:`prepare_multiprocess_dir`) and puts
   ``PROMETHEUS_MULTIPROC_DIR`` into the environment *before* the workers start (a worker must
   see it before it imports ``prometheus_client``: the metrics below are made at import);
2. ``/metrics`` then sums every worker's files (``MultiProcessCollector`` on a fresh registry);
3. a supervisor that replaces a dead worker may call :func:`mark_worker_dead` with its pid, so its
   index gauges stop counting (its counters are kept: totals never go down).

Whether this process runs in multiprocess mode is what ``prometheus_client`` chose at import
(:func:`multiprocess_enabled`), so collection and recording never disagree. The index gauges use
``livemostrecent``: across workers, the build most recently loaded by a live worker.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path
from typing import Iterable

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retrieval.results import SearchResult
from retrieval.searcher import Searcher
from service.logs import log_event

log = logging.getLogger(__name__)

#: The media type of ``/metrics``: Prometheus' text format 0.0.4, which ``generate_latest`` writes.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
#: The label of an address that no route serves.
OTHER = "other"
#: Methods kept as they are in labels; any other (a client may send anything) is ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Refusal reasons of the back-pressure, shown (at 0) before the first refusal.
REJECT_REASONS = ("busy", "timeout")
#: From half a millisecond (a cached question's lexical stage) to 5 s (a cold model's encoding).
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter("peerqa_http_requests_total", "HTTP requests answered, by route template, method and status.",
                        ["route", "method", "status"])
HTTP_DURATION = Histogram("peerqa_http_request_duration_seconds",
                          "Seconds from a request's arrival to the end of its response, by route template.",
                          ["route"], buckets=REQUEST_BUCKETS)
SEARCH_STAGES = Histogram("peerqa_search_stage_seconds", "Seconds each stage of a search took.", ["stage"],
                          buckets=STAGE_BUCKETS)
SEARCHES = Counter("peerqa_searches_total", "Searches answered (API and pages), by retriever and whether the "
                   "answer abstained.", ["retriever", "abstained"])
FEEDBACK = Counter("peerqa_feedback_total", "Feedback judgments stored (API and form), by helpfulness.", ["helpful"])
REJECTED = Counter("peerqa_rejected_requests_total", "Searches refused with 503 by the back-pressure, by reason.",
                   ["reason"])
INDEX_INFO = Gauge("peerqa_index_info", "1 for the index build served now (by build id), 0 for one served before.",
                   ["version"], multiprocess_mode="livemostrecent")
INDEX_BUILT = Gauge("peerqa_index_built_timestamp_seconds", "When the index build served was built (Unix time); "
                    "its age is time() minus this.", multiprocess_mode="livemostrecent")

for _reason in REJECT_REASONS:
    REJECTED.labels(reason=_reason)
for _helpful in ("true", "false"):
    FEEDBACK.labels(helpful=_helpful)


# --- recording ------------------------------------------------------------------------------------

def _flag(value: bool) -> str:
    return "true" if value else "false"


def record_search(result: SearchResult) -> None:
    """Count a search and observe the seconds of each of its stages."""
    SEARCHES.labels(retriever=result.retriever, abstained=_flag(result.abstain)).inc()
    for stage, seconds in result.stage_seconds.items():
        SEARCH_STAGES.labels(stage=stage).observe(seconds)


def record_feedback(helpful: bool) -> None:
    """Count a stored judgment."""
    FEEDBACK.labels(helpful=_flag(helpful)).inc()


def record_rejected(reason: str) -> None:
    """Count a search refused by the back-pressure (``reason``: one of a few words, e.g. ``busy``)."""
    REJECTED.labels(reason=reason).inc()


def search_rejected(reason: str, in_flight: int, waiting: int) -> None:
    """Count and log a refused search: the back-pressure's reject hook
    (``service.backpressure.SearchGate(on_reject=search_rejected)``)."""
    record_rejected(reason)
    log_event(log, "search_rejected", level=logging.WARNING, reason=reason, in_flight=in_flight, waiting=waiting)


def built_timestamp(built_at: str) -> float | None:
    """A manifest's ``built_at`` (ISO 8601) as Unix time, or None when missing or unreadable."""
    try:
        return datetime.fromisoformat(built_at).timestamp() if built_at else None
    except ValueError:
        return None


def record_index(searcher: Searcher, previous_version: str | None = None) -> None:
    """The index gauges for the build ``searcher`` answers from (``previous_version``: the build it replaces)."""
    if previous_version is not None and previous_version != searcher.version:
        INDEX_INFO.labels(version=previous_version).set(0)
    INDEX_INFO.labels(version=searcher.version).set(1)
    built = built_timestamp(searcher.health().built_at)
    if built is not None:
        INDEX_BUILT.set(built)


#: The environment variable prometheus_client reads at import for its multiprocess folder.
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


# --- collecting -----------------------------------------------------------------------------------

def multiprocess_enabled() -> bool:
    """Whether ``prometheus_client`` keeps this process's values in ``PROMETHEUS_MULTIPROC_DIR``
    (decided when it was imported)."""
    return values.ValueClass is not values.MutexValue


def collecting_registry() -> CollectorRegistry:
    """The registry ``/metrics`` reads: every worker's files summed in multiprocess mode, else
    this process's default registry."""
    if not multiprocess_enabled():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def exposition() -> bytes:
    """The metrics in Prometheus' text format."""
    return generate_latest(collecting_registry())


def prepare_multiprocess_dir(path: Path) -> None:
    """Create ``path``, or empty it of the value files of an earlier run (``*.db``; nothing else
    is touched): the parent process calls this before it starts the workers."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)


def mark_worker_dead(pid: int, path: Path | None = None) -> None:
    """Drop the live gauges of a worker that has exited (``path``: the multiprocess folder, by
    default ``PROMETHEUS_MULTIPROC_DIR``); its counters stay in the totals."""
    multiprocess.mark_process_dead(pid, None if path is None else str(path))


# --- requests -------------------------------------------------------------------------------------

def route_template(scope: Scope, as_received: Scope) -> str:
    """The template of the route that answered (``/documents/{doc_id}``), once the app ran on
    ``scope``: the route the router put in it, else the first top-level route or mount matching
    the request ``as_received`` (static files, ``/openapi.json``; a mount rewrites the scope's
    paths), else ``other`` (no route, or refused before routing: unknown host, body too large)."""
    route = scope.get("route")
    if route is None:
        route = _matching(getattr(scope.get("app"), "routes", ()), as_received)
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else OTHER


def _matching(routes: Iterable[BaseRoute], scope: Scope) -> BaseRoute | None:
    """The first route with a path template that matches ``scope`` fully or but for the method."""
    for route in routes:
        if isinstance(getattr(route, "path", None), str) and route.matches(scope)[0] is not Match.NONE:
            return route
    return None


class RequestMetrics:
    """Counts every HTTP request by route template, method and status, and observes its duration
    (to the end of the response body). An exception that escapes the app counts as a 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        as_received = dict(scope)
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = route_template(scope, as_received)
            method = scope["method"] if scope["method"] in METHODS else OTHER
            HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
            HTTP_DURATION.labels(route=route).observe(time.perf_counter() - started)


__all__ = ["CONTENT_TYPE", "RequestMetrics", "exposition", "mark_worker_dead", "multiprocess_enabled",
           "prepare_multiprocess_dir", "record_feedback", "record_index", "record_rejected", "record_search",
           "search_rejected"]
