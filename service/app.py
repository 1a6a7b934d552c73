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
from service.dependencies import feedback_store_of
from service.docs import install_docs, install_openapi
from service.errors import install_error_handlers
from service.feedback_store import StorageUnavailable
from service.middleware import install_middleware
from service.routes import documents, feedback, health, search
from service.state import SearcherHolder

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
            log.warning("feedback store unavailable at start-up: %s", error)
        with holder:  # the watcher runs while the app serves, and is stopped at shutdown
            yield

    app = FastAPI(title="Peerstøtte-søgning API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.settings = settings
    # the host check, body limit, HEAD and Cache-Control: the API alone has them too
    install_middleware(app, settings.allowed_hosts, settings.max_body_bytes)
    install_docs(app)
    install_openapi(app, settings.max_body_bytes)
    install_error_handlers(app)
    app.include_router(search.router)
    app.include_router(documents.router)
    app.include_router(health.router)
    app.include_router(feedback.router)
    return app
