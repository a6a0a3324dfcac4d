"""Health check for monitors and start-up scripts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from mibgscore import __version__
from mibgscore.app.routes.deps import services

router = APIRouter(tags=["system"])


@router.get("/api/health")
def health(request: Request) -> JSONResponse:
    """200 once the database is ready and background work has started."""
    if not request.app.state.ready:
        return JSONResponse({"status": "starting"}, status_code=503)
    svc = services(request)
    with svc.store.session() as s:
        s.execute(select(1))
    return JSONResponse({"status": "ok", "version": __version__,
                         "scoring_idle": svc.queue.idle()})
