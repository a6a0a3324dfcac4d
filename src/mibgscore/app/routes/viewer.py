"""The viewer's pixels: each view's counts and the maps, as raw arrays.

A view is encoded once (raw, and gzip-compressed for clients that accept it) and then served
from memory with an ETag and a private cache lifetime: never compressed again per request.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from mibgscore.app.db import User
from mibgscore.app.routes.deps import current_user, services
from mibgscore.app.storage import MAP_NAMES, map_pixels
from mibgscore.errors import ServiceError

router = APIRouter(tags=["viewer"])


def _raw(arr) -> Response:
    return Response(arr.tobytes(), media_type="application/octet-stream",
                    headers={"X-Rows": str(arr.shape[0]), "X-Cols": str(arr.shape[1])})


@router.get("/api/studies/{study_id}/views/{view}")
def get_view(request: Request, study_id: int, view: str, dtype: str = "float32",
             _user: User = Depends(current_user)) -> Response:
    """One view as raw little-endian counts, (rows, cols) row-major, in the anterior
    orientation (the posterior view mirrored: patient's right on the left): float32, or
    with ``?dtype=uint16`` uint16 when the counts are whole numbers that fit (the
    ``X-Dtype`` header says which). Gzip-encoded when the client accepts it; ETag and
    ``Cache-Control: private, max-age=3600`` (a study's views never change)."""
    if view not in ("anterior", "posterior"):
        raise ServiceError("view is anterior or posterior.", 404, "not_found")
    if dtype not in ("float32", "uint16"):
        raise ServiceError("dtype is float32 or uint16.", 400, "invalid")
    enc = services(request).store.encoded_view(study_id, view, dtype)
    headers = {"X-Rows": str(enc.rows), "X-Cols": str(enc.cols), "X-Dtype": enc.dtype,
               "ETag": f'"{enc.etag}"', "Cache-Control": "private, max-age=3600",
               "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == f'"{enc.etag}"':
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        return Response(enc.gzipped, media_type="application/octet-stream",
                        headers={**headers, "Content-Encoding": "gzip"})
    return Response(enc.raw, media_type="application/octet-stream", headers=headers)


@router.get("/api/studies/{study_id}/maps/{name}")
def get_map(request: Request, study_id: int, name: str,
            _user: User = Depends(current_user)) -> Response:
    """``siopen_map``, ``curie_map`` or ``lesion_mask`` as raw uint8, anterior frame."""
    if name not in MAP_NAMES:
        raise ServiceError("no such map.", 404, "not_found")
    return _raw(map_pixels(services(request).store, study_id, name))
