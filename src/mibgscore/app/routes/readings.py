"""The reader's work on a study: grades, lesion edits, impression, sign-off, amendment,
follow-up."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from mibgscore.app.db import User
from mibgscore.app.exports import lesion_edits_csv
from mibgscore.app.followup import followup
from mibgscore.app.readings import (
    accept_all,
    add_diffuse,
    add_focus,
    amend,
    edit_lesion,
    set_grade,
    set_impression,
    sign,
)
from mibgscore.app.routes.deps import current_user, services
from mibgscore.app.studies import diffuse_runs

router = APIRouter(tags=["reading"])


class GradeIn(BaseModel):
    scheme: str = "siopen"
    segment: str
    grade: int
    version: int


class VersionIn(BaseModel):
    version: int


class ImpressionIn(BaseModel):
    text: str = Field(max_length=10000)
    version: int


class AmendIn(BaseModel):
    reason: str = Field(max_length=2000)
    version: int


class LesionEditIn(BaseModel):
    rejected: str | None = Field(default=None, max_length=32)
    version: int


class FocusIn(BaseModel):
    row: int
    col: int
    version: int


class DiffuseIn(BaseModel):
    strokes: list[list[float]] = Field(max_length=2000)
    version: int


@router.put("/api/studies/{study_id}/grades")
def put_grade(request: Request, study_id: int, body: GradeIn,
              user: User = Depends(current_user)) -> dict:
    """Set one segment's grade; ``version`` must be the study's current version (else
    409)."""
    return set_grade(services(request).store, study_id, user.id, scheme=body.scheme,
                              segment=body.segment, grade=body.grade, version=body.version)


@router.post("/api/studies/{study_id}/accept-all")
def post_accept_all(request: Request, study_id: int, body: VersionIn,
                    user: User = Depends(current_user)) -> dict:
    """Make every final grade the automatic one."""
    return accept_all(services(request).store, study_id, user.id,
                               version=body.version)


@router.put("/api/studies/{study_id}/impression")
def put_impression(request: Request, study_id: int, body: ImpressionIn,
                   user: User = Depends(current_user)) -> dict:
    """Save the free-text impression."""
    return set_impression(services(request).store, study_id, user.id,
                                   text=body.text, version=body.version)


@router.post("/api/studies/{study_id}/sign")
def post_sign(request: Request, study_id: int, body: VersionIn,
              user: User = Depends(current_user)) -> dict:
    """Sign the reading (it is then locked)."""
    return sign(services(request).store, study_id, user.id, version=body.version)


@router.post("/api/studies/{study_id}/amend")
def post_amend(request: Request, study_id: int, body: AmendIn,
               user: User = Depends(current_user)) -> dict:
    """Reopen a signed reading for an amendment, with a reason."""
    return amend(services(request).store, study_id, user.id, reason=body.reason,
                          version=body.version)


@router.get("/api/studies/{study_id}/followup")
def get_followup(request: Request, study_id: int, _user: User = Depends(current_user)
                 ) -> dict:
    """Comparison with the patient's prior study: change per segment, response."""
    return followup(services(request).store, study_id)


@router.put("/api/studies/{study_id}/lesions/{lesion_id}")
def put_lesion(request: Request, study_id: int, lesion_id: int, body: LesionEditIn,
               user: User = Depends(current_user)) -> dict:
    """Reject a lesion (``rejected``: physiological, artefact, injection_site, not_abnormal,
    added_in_error) or restore it (``rejected`` null); both scores recompute."""
    return edit_lesion(services(request).store, study_id, user.id, lesion_id=lesion_id,
                       rejected=body.rejected, version=body.version)


@router.post("/api/studies/{study_id}/lesions")
def post_focus(request: Request, study_id: int, body: FocusIn,
               user: User = Depends(current_user)) -> dict:
    """Add a focus the software missed at (row, col) of the anterior frame."""
    return add_focus(services(request).store, study_id, user.id, row=body.row, col=body.col,
                     version=body.version)


@router.post("/api/studies/{study_id}/lesions/diffuse")
def post_diffuse(request: Request, study_id: int, body: DiffuseIn,
                 user: User = Depends(current_user)) -> dict:
    """Add a diffuse region painted by the reader (brush dabs ``[row, col, radius]``)."""
    return add_diffuse(services(request).store, study_id, user.id, strokes=body.strokes,
                       version=body.version)


@router.get("/api/studies/{study_id}/diffuse")
def get_diffuse(request: Request, study_id: int, _user: User = Depends(current_user)
                ) -> dict:
    """The automatic diffuse involvement as runs ``[row, first col, last col, SIOPEN label]``
    (anterior frame), for the viewer to draw each region."""
    return diffuse_runs(services(request).store, study_id)


@router.get("/api/lesion-edits.csv")
def get_lesion_edits(request: Request, _user: User = Depends(current_user)) -> Response:
    """Every lesion of every scored study with the reader's decision (kept, rejected with
    its reason, added): the centre's training set."""
    body = lesion_edits_csv(services(request).store)
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="mibgscore-lesion-edits.csv"'})
