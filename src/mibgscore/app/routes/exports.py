"""Downloads: a reading as PDF, DICOM SR or Encapsulated PDF; all readings as CSV."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from mibgscore.app.db import User
from mibgscore.app.exports import dicom, pdf, readings_csv
from mibgscore.app.routes.deps import current_user, services

router = APIRouter(tags=["exports"])


def _attachment(data: bytes | str, media_type: str, name: str) -> Response:
    return Response(data, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/api/studies/{study_id}/report.pdf")
def report_pdf(request: Request, study_id: int, user: User = Depends(current_user)
               ) -> Response:
    """The reading as a PDF report."""
    data, name = pdf(services(request).store, study_id, user.language)
    return _attachment(data, "application/pdf", name)


@router.get("/api/studies/{study_id}/sr.dcm")
def report_sr(request: Request, study_id: int, user: User = Depends(current_user)
              ) -> Response:
    """The reading as a DICOM Comprehensive SR (TID 1500)."""
    data, name = dicom(services(request).store, study_id, "sr", user.language)
    return _attachment(data, "application/dicom", name)


@router.get("/api/studies/{study_id}/report.dcm")
def report_epdf(request: Request, study_id: int, user: User = Depends(current_user)
                ) -> Response:
    """The PDF report as a DICOM Encapsulated PDF."""
    data, name = dicom(services(request).store, study_id, "pdf", user.language)
    return _attachment(data, "application/dicom", name)


@router.get("/api/readings.csv")
def get_readings_csv(request: Request, _user: User = Depends(current_user)) -> Response:
    """All readings: automatic and final grades per segment, status, reader."""
    return _attachment(readings_csv(services(request).store), "text/csv",
                       "mibgscore-readings.csv")
