"""The worklist, imports, one study's reading (page and JSON), deletion."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from mibgscore.app.db import STATUSES, User
from mibgscore.app.followup import followup
from mibgscore.app.i18n import translator
from mibgscore.app.readings import delete_study
from mibgscore.app.routes.deps import admin_user, boot, current_user, page, scheme_rows, services
from mibgscore.app.studies import reading, worklist
from mibgscore.errors import ServiceError

logger = logging.getLogger(__name__)

router = APIRouter()


@router.get("/worklist", include_in_schema=False, response_class=HTMLResponse)
def worklist_page(request: Request, user: User = Depends(current_user)):
    t = translator(user.language)
    return page(request, "worklist.html", user, statuses=STATUSES,
                status_words={s: t("status_" + s) for s in STATUSES})


@router.get("/studies/{study_id}", include_in_schema=False, response_class=HTMLResponse)
def reading_page(request: Request, study_id: int, user: User = Depends(current_user)):
    data = reading(services(request).store, study_id)
    return page(request, "reading.html", user, study=data,
                boot=boot(request, user, study_id=study_id))


@router.get("/studies/{study_id}/followup", include_in_schema=False,
            response_class=HTMLResponse)
def followup_page(request: Request, study_id: int, user: User = Depends(current_user)):
    store = services(request).store
    data = reading(store, study_id)
    try:
        comp = followup(store, study_id)
    except ServiceError as exc:
        comp = None
        error = exc.message
    else:
        error = None
    names = {r["key"]: r["name"] for r in scheme_rows(request, user.language)["siopen"]}
    return page(request, "followup.html", user, study=data, comp=comp, error=error,
                names=names,
                boot=boot(request, user, study_id=study_id,
                          prior_id=comp["prior"]["id"] if comp else None,
                          pairing=comp["lesions"] if comp else None))


@router.get("/api/studies", tags=["studies"])
def list_studies(request: Request, q: str = "", status: str = "",
                 _user: User = Depends(current_user)) -> list[dict]:
    """The worklist; ``q`` searches patient ID, name, description and date."""
    svc = services(request)
    rows = worklist(svc.store, q=q, status=status)
    for r in rows:
        r["progress"] = svc.queue.progress(r["id"])
    return rows


@router.post("/api/studies/upload", tags=["studies"])
async def upload(request: Request, user: User = Depends(current_user)) -> dict:
    """Import DICOM files, folders (file names ``folder/.../name``) and zips, DICOMDIRs
    included (multipart field ``files``), read as `mibgscore score` reads them; scoring
    starts in background."""
    svc = services(request)
    settings = svc.settings
    length = request.headers.get("content-length")
    if length is None:
        raise ServiceError("uploads need a Content-Length.", 411, "length")
    if int(length) > svc.importer.max_bytes + 65536:
        raise ServiceError(f"the upload is {int(length) / 2**20:.0f} MiB; the limit is "
                           f"{settings.max_upload_mb:.0f} MiB.", 413, "too_large")
    form = await request.form(max_files=5000, max_fields=10)
    items = [f for f in form.getlist("files") if hasattr(f, "filename")]
    if not items:
        raise ServiceError("no files in the upload (field 'files').")
    with tempfile.TemporaryDirectory(dir=settings.data_dir) as tmp:
        files = await svc.importer.save_uploads(items, Path(tmp))
        report = await svc.importer.import_in_pool(files, user.id)  # off the event loop
    await form.close()
    logger.info("upload: %d imported, %d duplicates, %d refused", len(report.imported),
                len(report.duplicates), len(report.errors))
    return report.to_dict()


@router.get("/api/studies/{study_id}", tags=["studies"])
def get_study(request: Request, study_id: int, _user: User = Depends(current_user)) -> dict:
    """One study's reading: header, automatic and final grades, lesions, history, and
    ``model``, the name of what scored it."""
    svc = services(request)
    out = reading(svc.store, study_id)
    out["progress"] = svc.queue.progress(study_id)
    return out


@router.delete("/api/studies/{study_id}", tags=["studies"])
def remove_study(request: Request, study_id: int, admin: User = Depends(admin_user)) -> dict:
    """Delete a study with its files and history (admin)."""
    delete_study(services(request).store, study_id, admin.id)
    return {"deleted": study_id}
