"""The Models page and API (administrators only): models, adaptation, activation, rescoring."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel

from mibgscore.app.db import User
from mibgscore.app.models import ModelService
from mibgscore.app.routes.deps import Services, admin_user, boot, page
from mibgscore.errors import ServiceError

router = APIRouter()

REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
              "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox")
"""An adapted model's report.html is shown as written: inline styles and images, no script."""


def attach_models(app: FastAPI, svc: Services, *, custom_scorer: bool = False) -> None:
    """Put the model in use at start on ``app.state.models`` and add the Models routes.

    Raises
    ------
    ModelError
        ``settings.model`` (``serve --model``) cannot be used.
    """
    app.state.models = ModelService(svc.store, svc.queue, custom_scorer=custom_scorer)
    app.include_router(router)


def models_of(request: Request) -> ModelService:
    return request.app.state.models


class AdaptIn(BaseModel):
    name: str


class ActivateIn(BaseModel):
    key: str


class RescoreIn(BaseModel):
    version: int


@router.get("/admin/models", include_in_schema=False, response_class=HTMLResponse)
def models_page(request: Request, user: User = Depends(admin_user)):
    return page(request, "models.html", user, boot=boot(request, user))


@router.get("/admin/models/{key}/report.html", include_in_schema=False)
def model_report(request: Request, key: str, _admin: User = Depends(admin_user)):
    """An adapted model's report, read-only."""
    path = models_of(request).report_path(key)
    return FileResponse(path, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": REPORT_CSP,
                                 "Cache-Control": "no-store"})


@router.get("/api/models", tags=["models"])
def get_models(request: Request, _admin: User = Depends(admin_user)) -> dict:
    """The active model, every model with its cross-validated figures, the activations, the
    adaptation in progress (admin)."""
    return models_of(request).state()


@router.post("/api/models/activate", tags=["models"])
def activate(request: Request, body: ActivateIn, admin: User = Depends(admin_user)) -> dict:
    """Score newly imported (and rescored) studies with model ``key`` (admin)."""
    return models_of(request).activate(body.key, admin.id)


@router.post("/api/models/rollback", tags=["models"])
def rollback(request: Request, admin: User = Depends(admin_user)) -> dict:
    """Return to the model in use before the active one (admin)."""
    return models_of(request).rollback(admin.id)


@router.get("/api/models/adaptation", tags=["models"])
def adaptation(request: Request, _admin: User = Depends(admin_user)) -> dict:
    """The last adaptation started: state, phase, progress, time left, refusal (admin)."""
    job = models_of(request).job
    return {"job": job.to_dict() if job else None}


@router.post("/api/models/adapt", tags=["models"], status_code=202)
def adapt_signed(request: Request, body: AdaptIn, admin: User = Depends(admin_user)) -> dict:
    """Start adapting a model named ``name`` to the signed readings (admin)."""
    return {"job": models_of(request).adapt_from_signed(body.name, admin.username)}


@router.post("/api/models/adapt/upload", tags=["models"], status_code=202)
async def adapt_upload(request: Request, admin: User = Depends(admin_user)) -> dict:
    """Start adapting to an uploaded readings file (multipart ``readings``, field ``name``),
    matched to the stored studies (admin)."""
    limit = request.app.state.settings.max_upload_mb * 2**20
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > limit + 65536:
        raise ServiceError(f"a readings upload needs a Content-Length of at most "
                           f"{limit / 2**20:.0f} MiB.", 413, "too_large")
    form = await request.form(max_files=1, max_fields=4)
    upload, name = form.get("readings"), form.get("name")
    if not hasattr(upload, "filename") or not isinstance(name, str):
        raise ServiceError("the upload needs a readings file (field 'readings') and a model "
                           "name (field 'name').", 422, "invalid")
    content = await upload.read()
    await form.close()
    models = models_of(request)
    from starlette.concurrency import run_in_threadpool

    job = await run_in_threadpool(models.adapt_from_file, name, upload.filename, content,
                                  admin.username)
    return {"job": job}


@router.get("/api/models/studies", tags=["models"])
def model_studies(request: Request, _admin: User = Depends(admin_user)) -> list[dict]:
    """Every study with the model that scored it (admin)."""
    return models_of(request).studies()


@router.post("/api/studies/{study_id}/rescore", tags=["models"])
def rescore(request: Request, study_id: int, body: RescoreIn,
            admin: User = Depends(admin_user)) -> dict:
    """Score the study again with the active model, keeping the reader's edits; a signed
    reading is refused (amend it first) (admin)."""
    return models_of(request).rescore(study_id, admin.id, body.version)
