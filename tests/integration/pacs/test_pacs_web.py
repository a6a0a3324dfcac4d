"""The web application with the test Orthanc: a PACS connection set by an administrator (and
tested), the PACS pane's search and import (with the earlier study), signing sends the
verified SR and the PDF; with the PACS down they wait in the outbox, across a restart."""

from __future__ import annotations

import io
import re
import time

import pydicom
import pytest
from fastapi.testclient import TestClient

from mibgscore.app import AppSettings, create_app
from mibgscore.app.users import add_user
from mibgscore.report.encapsulated import pdf_bytes
from mibgscore.report.sr import sr_grades

from ._orthanc import PASSWORD, USER

LOGIN_PASSWORD = "correct horse 1"


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    from argon2 import PasswordHasher

    import mibgscore.app.security as security

    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=256,
                                                            parallelism=1))
    monkeypatch.setattr(security, "_DUMMY_HASH", None)


def _client(app, username: str) -> TestClient:
    c = TestClient(app)
    c.__enter__()
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"username": username, "password": LOGIN_PASSWORD,
                               "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    c.headers["X-CSRF-Token"] = c.get("/api/me").json()["csrf"]
    return c


def _app(data_dir):
    app = create_app(AppSettings(data_dir=data_dir, score_in_background=False))
    add_user(app.state.store, "drreader", LOGIN_PASSWORD, "reader")
    add_user(app.state.store, "root", LOGIN_PASSWORD, "admin")
    return app


def _verified(pacs, study_uid: str, modality: str) -> list[pydicom.Dataset]:
    out = []
    for inst in pacs.orthanc.instances_of(study_uid):
        if inst["Modality"] != modality:
            continue
        ds = pydicom.dcmread(io.BytesIO(pacs.orthanc.file(inst["ID"])))
        if modality == "DOC" or ds.get("VerificationFlag") == "VERIFIED":
            out.append(ds)
    return sorted(out, key=lambda d: int(d.InstanceNumber))


def _wait_state(client, sid: int, state: str, seconds: float = 40) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        s = client.get(f"/api/pacs/studies/{sid}").json()
        if s["state"] == state:
            return s
        time.sleep(0.25)
    pytest.fail(f"study {sid}: sending state {s} after {seconds:.0f} s, not {state}")


def _sign(client, sid: int) -> dict:
    v = client.get(f"/api/studies/{sid}").json()["version"]
    r = client.post(f"/api/studies/{sid}/sign", json={"version": v})
    assert r.status_code == 200, r.text
    return r.json()


def test_import_from_orthanc_sign_and_find_the_sr_and_pdf_in_orthanc(pacs, secret_env,
                                                                     tmp_path):
    app = _app(tmp_path / "data")
    admin, reader = _client(app, "root"), _client(app, "drreader")
    # no PACS yet: the pane says so, a search is refused in one sentence
    assert "No PACS is configured" in reader.get("/pacs").text
    r = reader.get("/api/pacs/search")
    assert r.status_code == 409 and "no PACS is configured" in r.json()["detail"]
    # secrets only by reference; readers cannot configure
    bad = {"name": "main", "url": pacs.orthanc.dicomweb, "auth": "basic", "username": USER,
           "secret_ref": PASSWORD}
    r = admin.post("/api/pacs/connections", json=bad)
    assert r.status_code == 400 and "by reference" in r.json()["detail"]
    good = dict(bad, secret_ref=f"env:{secret_env}")
    assert reader.post("/api/pacs/connections", json=good).status_code == 403
    r = admin.post("/api/pacs/connections", json=good)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert "Test connection" in admin.get("/admin/pacs").text
    r = admin.post(f"/api/pacs/connections/{cid}/test").json()
    assert r["ok"] and "answered in" in r["message"]
    # search: the MIBG studies, the bone scan unmarked, not the CT
    found = {s["study_uid"]: s for s in reader.get("/api/pacs/search").json()["studies"]}
    assert pacs.ct not in found and not found[pacs.bone_scan]["mibg"]
    assert {u for u, s in found.items() if s["mibg"]} == set(pacs.mibg)
    assert all(s["study_id"] is None for s in found.values())
    # import the follow-up study: the earlier one comes with it
    r = reader.post("/api/pacs/import", json={"study_uids": [pacs.mibg[1]]})
    assert r.status_code == 200, r.text
    report = r.json()
    assert len(report["imported"]) == 2 and len(report["priors"]) == 1, report
    found = {s["study_uid"]: s for s in reader.get("/api/pacs/search").json()["studies"]}
    sid = found[pacs.mibg[1]]["study_id"]
    assert found[pacs.mibg[0]]["status"] == "scored" and found[pacs.mibg[1]]["status"] == "scored"
    assert reader.get(f"/api/pacs/studies/{sid}").json()["state"] == "none"
    # sign: the verified SR and the PDF reach Orthanc
    signed = _sign(reader, sid)
    status = _wait_state(reader, sid, "sent")
    assert status["sent_at"] and {i["what"] for i in status["items"]} == {"sr", "pdf"}
    (sr,) = _verified(pacs, pacs.mibg[1], "SR")
    assert str(sr.VerifyingObserverSequence[0].VerifyingObserverName).rstrip("^") == "drreader"
    assert sr.CompletionFlag == "COMPLETE"
    assert sr_grades(sr)["siopen"] == signed["siopen"]
    (doc,) = _verified(pacs, pacs.mibg[1], "DOC")
    assert pdf_bytes(doc).startswith(b"%PDF")
    # an amendment is a new SR in the same series, referencing the one it replaces
    v = reader.get(f"/api/studies/{sid}").json()["version"]
    assert reader.post(f"/api/studies/{sid}/amend",
                       json={"reason": "second look", "version": v}).status_code == 200
    _sign(reader, sid)
    deadline = time.monotonic() + 40
    while len(_verified(pacs, pacs.mibg[1], "SR")) < 2:
        assert time.monotonic() < deadline, "the amended SR did not reach Orthanc"
        time.sleep(0.3)
    first, second = _verified(pacs, pacs.mibg[1], "SR")
    assert second.SeriesInstanceUID == first.SeriesInstanceUID
    refs = [i.ReferencedSOPInstanceUID for s in second.PredecessorDocumentsSequence
            for se in s.ReferencedSeriesSequence for i in se.ReferencedSOPSequence]
    assert refs == [first.SOPInstanceUID]
    # the database holds the secret's name, never the secret
    assert PASSWORD.encode() not in (tmp_path / "data" / "mibgscore.sqlite3").read_bytes()
    admin.__exit__(None, None, None)
    reader.__exit__(None, None, None)


def test_results_signed_while_the_pacs_is_down_are_delivered_after_a_restart(
        pacs, secret_env, tmp_path):
    data = tmp_path / "data"
    app = _app(data)
    admin, reader = _client(app, "root"), _client(app, "drreader")
    admin.post("/api/pacs/connections", json={
        "name": "main", "protocol": "dimse", "host": "127.0.0.1",
        "port": pacs.orthanc.dicom_port, "called_aet": "TESTPACS", "our_aet": "MIBGSCORE",
        "our_port": pacs.our_port}).raise_for_status()
    r = reader.post("/api/pacs/import", json={"study_uids": [pacs.mibg[0]],
                                              "with_prior": False})
    assert r.status_code == 200 and len(r.json()["imported"]) == 1, r.text
    sid = r.json()["studies"][0]
    pacs.orthanc.stop()
    try:
        r = admin.post("/api/pacs/connections/1/test").json()
        assert not r["ok"] and "cannot connect to the PACS" in r["message"]
        assert "cannot connect" in reader.get("/api/pacs/search").json()["detail"]
        _sign(reader, sid)
        status = _wait_state(reader, sid, "error")
        assert "cannot connect to the PACS" in status["error"]
        assert "Traceback" not in status["error"]
        app.state.pacs.stop()
    finally:
        pacs.orthanc.start()
    # the web application restarts: the outbox is still there and is delivered
    before = len(_verified(pacs, pacs.mibg[0], "SR"))
    again = create_app(AppSettings(data_dir=data, score_in_background=False))
    reader2 = _client(again, "drreader")
    assert reader2.get(f"/api/pacs/studies/{sid}").json()["state"] == "error"
    status = reader2.post(f"/api/pacs/studies/{sid}/retry").json()
    assert status["state"] == "sent", status
    assert len(_verified(pacs, pacs.mibg[0], "SR")) == before + 1
    assert len(_verified(pacs, pacs.mibg[0], "DOC")) >= 1
    again.state.pacs.stop()
    for c in (admin, reader, reader2):
        c.__exit__(None, None, None)
