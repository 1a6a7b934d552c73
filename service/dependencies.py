"""Typed dependencies, so routes stay short and tests can swap parts."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from indexer.searcher import Searcher
from indexer.settings import Settings


def get_searcher(request: Request) -> Searcher:
    return request.app.state.searchers.get()


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SearcherDep = Annotated[Searcher, Depends(get_searcher)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
