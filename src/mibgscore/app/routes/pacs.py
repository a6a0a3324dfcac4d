"""The PACS pane (search and import), its settings page (administrators) and the sending
status of a study's signed results."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from mibgscore.app.db import User
from mibgscore.app.routes.deps import admin_user, current_user, page
from mibgscore.errors import ServiceError
from mibgscore.pacs.types import StudyQuery

router = APIRouter(tags=["pacs"])


class ConnectionIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    protocol: str = "dicomweb"
    url: str | None = Field(None, max_length=512)
    auth: str = "none"
    username: str | None = Field(None, max_length=128)
    secret_ref: str | None = Field(None, max_length=512)
    ca_bundle: str | None = Field(None, max_length=512)
    host: str | None = Field(None, max_length=256)
    port: int = 104
    called_aet: str = Field("ANY-SCP", max_length=16)
    our_aet: str = Field("MIBGSCORE", max_length=16)
    our_port: int = 0
    send_results: bool = True


class ImportIn(BaseModel):
    study_uids: list[str] = Field(min_length=1, max_length=50)
    with_prior: bool = True


def _pacs(request: Request):
    return request.app.state.pacs


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ServiceError(f"{name} {value!r} is not a date (YYYY-MM-DD).") from None


@router.get("/pacs", include_in_schema=False, response_class=HTMLResponse)
def pacs_page(request: Request, user: User = Depends(current_user)):
    return page(request, "pacs.html", user, configured=bool(_pacs(request).connections()))


@router.get("/admin/pacs", include_in_schema=False, response_class=HTMLResponse)
def pacs_settings_page(request: Request, user: User = Depends(admin_user)):
    return page(request, "pacs_settings.html", user, connections=_pacs(request).connections())


@router.get("/api/pacs/connections")
def get_connections(request: Request, _admin: User = Depends(admin_user)) -> list[dict]:
    """The PACS connections (secrets by reference only)."""
    return _pacs(request).connections()


@router.post("/api/pacs/connections", status_code=201)
def post_connection(request: Request, body: ConnectionIn, _admin: User = Depends(admin_user)
                    ) -> dict:
    """Add a PACS connection; the secret is a reference (env:NAME or file:/path)."""
    return _pacs(request).add_connection(body.model_dump())


@router.delete("/api/pacs/connections/{connection_id}", status_code=204)
def delete_connection(request: Request, connection_id: int,
                      _admin: User = Depends(admin_user)) -> None:
    _pacs(request).delete_connection(connection_id)


@router.post("/api/pacs/connections/{connection_id}/test")
def test_connection(request: Request, connection_id: int, _admin: User = Depends(admin_user)
                    ) -> dict:
    """C-ECHO or a QIDO search: ``{"ok", "message"}``."""
    return _pacs(request).test_connection(connection_id)


@router.get("/api/pacs/search")
def search(request: Request, date_from: str | None = None, date_to: str | None = None,
           patient: str | None = Query(None, max_length=64),
           _user: User = Depends(current_user)) -> dict:
    """NM studies of the PACS, MIBG ones marked, with whether each is imported or read."""
    query = StudyQuery(date_from=_date(date_from, "date_from"), date_to=_date(date_to, "date_to"),
                       patient_id=patient or None)
    return {"studies": _pacs(request).search(query)}


@router.post("/api/pacs/import")
def import_studies(request: Request, body: ImportIn, user: User = Depends(current_user)
                   ) -> dict:
    """Import studies from the PACS, with the patient's earlier MIBG studies."""
    return _pacs(request).import_studies(body.study_uids, user.id, with_prior=body.with_prior)


@router.get("/api/pacs/studies/{study_id}")
def sending_status(request: Request, study_id: int, _user: User = Depends(current_user)
                   ) -> dict:
    """Whether the signed results reached the PACS: sent (with the time), waiting, error."""
    return _pacs(request).status(study_id)


@router.post("/api/pacs/studies/{study_id}/retry")
def retry(request: Request, study_id: int, _user: User = Depends(current_user)) -> dict:
    """Send the study's unsent results now."""
    return _pacs(request).retry(study_id)
