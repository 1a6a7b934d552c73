"""``GET /healthz``: 200 once the index is loaded."""

from __future__ import annotations

from fastapi import APIRouter

from service.dependencies import SearcherDep
from service.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def health(searcher: SearcherDep) -> Health:
    manifest = searcher.index.manifest
    return Health(status="ok", index_version=searcher.version, documents=len(searcher.index.documents),
                  passages=len(searcher.index.passages), model=str(manifest.get("model", "")))
