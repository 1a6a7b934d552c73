"""Typed dependencies, so routes stay short and tests can swap parts."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from indexer.settings import Settings
from retrieval.searcher import Searcher
from service.feedback import RateLimiter
from service.feedback_store import FeedbackStore, store_for

_made = threading.Lock()  # guards the lazy creation of the per-app parts below


def get_searcher(request: Request) -> Searcher:
    return request.app.state.searchers.get()


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def feedback_store_of(app: FastAPI) -> FeedbackStore:
    """The app's one feedback store, made on first use: one store per app, so a database it has
    seen and that then disappears is reported, not created again empty. ``create_api`` may set
    ``app.state.feedback_store`` at start-up to fix "seen" to the moment the service started."""
    with _made:
        store = getattr(app.state, "feedback_store", None)
        if store is None:
            store = app.state.feedback_store = store_for(app.state.settings.data_dir)
        return store


def get_feedback_store(request: Request) -> FeedbackStore:
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
FeedbackStoreDep = Annotated[FeedbackStore, Depends(get_feedback_store)]
FeedbackLimiterDep = Annotated[RateLimiter, Depends(get_feedback_limiter)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
