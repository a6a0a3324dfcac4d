"""The viewer's pixels: each view's counts and the maps, as raw arrays."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from mibgscore.app.db import User
from mibgscore.app.routes.deps import current_user, services
from mibgscore.app.storage import MAP_NAMES, map_pixels, view_pixels
from mibgscore.errors import ServiceError

router = APIRouter(tags=["viewer"])


def _raw(arr) -> Response:
    return Response(arr.tobytes(), media_type="application/octet-stream",
                    headers={"X-Rows": str(arr.shape[0]), "X-Cols": str(arr.shape[1])})


@router.get("/api/studies/{study_id}/views/{view}")
def get_view(request: Request, study_id: int, view: str,
             _user: User = Depends(current_user)) -> Response:
    """One view as raw little-endian float32 counts, (rows, cols) row-major, in the
    anterior orientation (the posterior view mirrored: patient's right on the left)."""
    if view not in ("anterior", "posterior"):
        raise ServiceError("view is anterior or posterior.", 404, "not_found")
    return _raw(view_pixels(services(request).store, study_id, view))


@router.get("/api/studies/{study_id}/maps/{name}")
def get_map(request: Request, study_id: int, name: str,
            _user: User = Depends(current_user)) -> Response:
    """``siopen_map``, ``curie_map`` or ``lesion_mask`` as raw uint8, anterior frame."""
    if name not in MAP_NAMES:
        raise ServiceError("no such map.", 404, "not_found")
    return _raw(map_pixels(services(request).store, study_id, name))
