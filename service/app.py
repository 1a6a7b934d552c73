"""Builds the FastAPI application of the API: search, documents, feedback, health, error handling,
the HTTP hardening of ``service.middleware``, and the index loaded once at start-up (``web.app``
adds the pages on top of it)."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Callable

from fastapi import FastAPI

from indexer.settings import Settings, load_settings
from retrieval.searcher import Searcher
from service.backpressure import SearchGate
from service.dependencies import close_feedback_store, feedback_store_of
from service.docs import install_docs, install_openapi
from service.errors import install_error_handlers
from service.feedback_store import StorageUnavailable
from service.logs import log_feedback_fault, log_startup
from service.metrics import search_rejected
from service.middleware import install_middleware
from service.routes import documents, feedback, health, metrics, search
from service.state import SearcherHolder
from service.timeouts import ReadTimeout

DESCRIPTION = """Extractive question answering over Danish social-sector documents about peer support.
Answers are ranked passages from the source documents, each with its citation, its place in the
document (section and character offsets) and the sentence(s) that best answer the question."""

log = logging.getLogger(__name__)

SearcherLoader = Callable[[Path], Searcher]


def create_api(settings: Settings | None = None, searcher_loader: SearcherLoader | None = None) -> FastAPI:
    """The API alone; ``searcher_loader`` lets tests hand in a searcher built on a small index."""
    settings = settings or load_settings()

    def default_loader(path: Path) -> Searcher:
        return Searcher.open(settings, path)

    loader = searcher_loader or default_loader

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # loads the index and the model once; later builds are loaded and swapped in by the holder's watcher
        holder = app.state.searchers = SearcherHolder(settings.index_dir, loader, settings.reload_interval)
        try:  # the feedback database as it is at start-up: one deleted later is reported, not recreated
            feedback_store_of(app)
        except StorageUnavailable as error:
            log_feedback_fault(log, error, "start-up", level=logging.WARNING)
        log_startup(log, holder.get(), settings)
        try:
            with holder:  # the watcher runs while the app serves, and is stopped at shutdown
                yield
        finally:
            close_feedback_store(app)  # PostgreSQL's connection pool

    app = FastAPI(title="Peerstøtte-søgning API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.search_gate = SearchGate.from_settings(settings, on_reject=search_rejected)
    # the host check, body limit, HEAD and Cache-Control: the API alone has them too
    install_middleware(app, settings.allowed_hosts, settings.max_body_bytes)
    app.add_middleware(ReadTimeout, seconds=settings.request_read_timeout)
    install_docs(app)
    install_openapi(app, settings.max_body_bytes)
    install_error_handlers(app)
    app.include_router(search.router)
    app.include_router(documents.router)
    app.include_router(health.router)
    app.include_router(feedback.router)
    app.include_router(metrics.router)
    return app
