"""The reader's work on a study: grades, impression, sign-off, amendment, follow-up."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from mibgscore.app.db import User
from mibgscore.app.followup import followup
from mibgscore.app.readings import accept_all, amend, set_grade, set_impression, sign
from mibgscore.app.routes.deps import current_user, services

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
