"""Typed dependencies, so routes stay short and tests can swap parts."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from indexer.settings import Settings
from retrieval.searcher import Searcher
from service.feedback import RateLimiter
from service.feedback_postgres import PostgresFeedbackStore
from service.feedback_store import FeedbackBackend, StorageUnavailable, store_for
from service.logs import log_feedback_fault

log = logging.getLogger(__name__)
_made = threading.Lock()  # guards the lazy creation of the per-app parts below


def get_searcher(request: Request) -> Searcher:
    return request.app.state.searchers.get()


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def store_for_settings(settings: Settings) -> FeedbackBackend:
    """The feedback store the settings name: PostgreSQL when ``PEERQA_DATABASE_URL`` is set (a pool
    of at most ``PEERQA_DATABASE_POOL_SIZE`` connections), else SQLite in the data folder.
    ``BadDatabaseUrl`` (a ValueError) when the URL is not a PostgreSQL one: the service does not start."""
    url = settings.database_url.get_secret_value() if settings.database_url is not None else ""
    if url:
        return PostgresFeedbackStore(url, pool_size=settings.database_pool_size)
    return store_for(settings.data_dir)


def feedback_store_of(app: FastAPI) -> FeedbackBackend:
    """The app's one feedback store, made on first use: one store per app, so a database it has
    seen and that then disappears is reported, not created again empty. ``create_api`` calls it at
    start-up to fix "seen" to the moment the service started, and to apply the pending schema
    migrations then (a database that cannot be reached is logged, and migrated on first use)."""
    with _made:
        store = getattr(app.state, "feedback_store", None)
        if store is not None:
            return store
        store = app.state.feedback_store = store_for_settings(app.state.settings)
    _migrate_at_start(store)
    return store


def _migrate_at_start(store: FeedbackBackend) -> None:
    """Apply the pending migrations (the store logs each); a database that fails now is logged,
    and the migrations run on first use instead."""
    try:
        store.migrate()
    except StorageUnavailable as error:
        log_feedback_fault(log, error, "start-up", level=logging.WARNING)


def close_feedback_store(app: FastAPI) -> None:
    """Close the app's feedback store (its connection pool) at shutdown; a later start makes a new one."""
    with _made:
        store, app.state.feedback_store = getattr(app.state, "feedback_store", None), None
    if store is not None:
        store.close()


def get_feedback_store(request: Request) -> FeedbackBackend:
    return feedback_store_of(request.app)


def get_feedback_limiter(request: Request) -> RateLimiter:
    """The app's rate limit for feedback posts (API and form share it), ``feedback_rate_per_minute``."""
    with _made:
        limiter = getattr(request.app.state, "feedback_limiter", None)
        if limiter is None:
            limiter = RateLimiter(request.app.state.settings.feedback_rate_per_minute, window=60.0)
            request.app.state.feedback_limiter = limiter
        return limiter


SearcherDep = Annotated[Searcher, Depends(get_searcher)]
FeedbackStoreDep = Annotated[FeedbackBackend, Depends(get_feedback_store)]
FeedbackLimiterDep = Annotated[RateLimiter, Depends(get_feedback_limiter)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
