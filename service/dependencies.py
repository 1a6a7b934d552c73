"""Typed dependencies, so routes stay short and tests can swap parts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from indexer.settings import Settings
from retrieval.searcher import Searcher
from service.feedback_store import FeedbackStore, store_for


def get_searcher(request: Request) -> Searcher:
    return request.app.state.searchers.get()


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_feedback_store(request: Request) -> FeedbackStore:
    return store_for(request.app.state.settings.data_dir)


SearcherDep = Annotated[Searcher, Depends(get_searcher)]
FeedbackStoreDep = Annotated[FeedbackStore, Depends(get_feedback_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
