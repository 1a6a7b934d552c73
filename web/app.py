"""The whole site: the API of ``service`` plus the chat and document pages, static files and
the security headers. ``python -m service`` serves this (``--api-only`` serves the API alone)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from indexer.settings import Settings
from service.app import SearcherLoader, create_api
from web.pages import STATIC_DIR, error_page, router
from web.security import SecurityHeaders


def create_app(settings: Settings | None = None, searcher_loader: SearcherLoader | None = None) -> FastAPI:
    """The API with the pages; ``searcher_loader`` lets tests hand in a searcher on a small index."""
    app = create_api(settings, searcher_loader)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.state.html_error_page = error_page
    app.include_router(router)
    return app
