"""``GET /metrics``: the service's metrics in Prometheus' text format (``service.metrics``).

An async route: it runs on the event loop, so it answers at once however many searches wait for
the thread pool or a search slot. Not in the OpenAPI schema: it is for the monitoring, not for
API clients. It holds no question text (labels are route templates, stages and counts)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from service.metrics import CONTENT_TYPE, exposition

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Every metric of this process, or of every worker summed in multiprocess mode."""
    return Response(exposition(), media_type=CONTENT_TYPE)
