"""``GET /healthz``: 200 once the index is loaded."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from service.dependencies import SearcherDep
from service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def health(searcher: SearcherDep) -> Health:
    return Health(status="ok", **asdict(searcher.health()))
