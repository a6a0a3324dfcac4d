"""The web API: login, CSRF, roles, limits, reading edits, sign-off, follow-up, exports."""

from __future__ import annotations

import io
import logging
import zipfile

import numpy as np
import pytest
from fastapi.testclient import TestClient

from mibgscore.app import AppSettings, create_app
from mibgscore.io.read import read_scan

from ._studies import fake_scorer
from .conftest import PASSWORD, logged_in, login, upload


def _import_all(client, dicom_dir) -> dict[str, dict]:
    r = upload(client, *sorted(dicom_dir.iterdir()))
    assert r.status_code == 200, r.text
    assert len(r.json()["imported"]) == 3, r.json()
    rows = client.get("/api/studies").json()
    return {f"{x['patient_id']}@{x['study_date']}": x for x in rows}


def test_health_and_openapi(app):
    with TestClient(app) as c:
        assert c.get("/api/health").json()["status"] == "ok"
        schema = c.get("/openapi.json").json()
        assert "/api/studies/{study_id}/grades" in schema["paths"]
        assert "/api/studies/upload" in schema["paths"]


def test_login_is_required(app):
    with TestClient(app) as c:
        assert c.get("/api/studies").status_code == 401
        r = c.get("/worklist", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert c.get("/api/studies/1/views/anterior").status_code == 401


def test_login_sets_a_signed_httponly_cookie(app):
    with TestClient(app) as c:
        r = login(c, "alice")
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.get("/api/me").json()["username"] == "alice"
        c.cookies.set("mibgscore_session", "forged.value.here")
        assert c.get("/api/me").status_code == 401


def test_logout_ends_the_session_even_for_a_copied_cookie(app):
    with TestClient(app) as c:
        login(c, "alice")
        stolen = c.cookies.get("mibgscore_session")
        csrf = c.get("/api/me").json()["csrf"]
        assert c.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert c.get("/api/me").status_code == 401
        c.cookies.set("mibgscore_session", stolen)
        assert c.get("/api/me").status_code == 401
        c.cookies.clear()
        assert login(c, "alice").status_code == 303  # a new login works again
        assert c.get("/api/me").status_code == 200


def test_login_rate_limit_blocks_after_five_failures(app):
    with TestClient(app) as c:
        for _ in range(5):
            assert login(c, "alice", "wrong password").status_code == 401
        r = login(c, "alice", PASSWORD)  # even the right password waits now
        assert r.status_code == 429, r.status_code
        assert "Retry-After" in r.headers
        assert login(c, "bob", PASSWORD).status_code == 303  # another user is not blocked


def test_state_changing_requests_need_the_csrf_token(app, alice, dicom_dir):
    rows = _import_all(alice, dicom_dir)
    sid = rows["P1@2025-02-01"]["id"]
    version = rows["P1@2025-02-01"]["version"]
    body = {"scheme": "siopen", "segment": "skull", "grade": 3, "version": version}
    token = alice.headers.pop("X-CSRF-Token")
    assert alice.put(f"/api/studies/{sid}/grades", json=body).status_code == 403
    r = alice.put(f"/api/studies/{sid}/grades", json=body, headers={"X-CSRF-Token": "x" + token})
    assert r.status_code == 403 and r.json()["code"] == "csrf"
    files = [("files", ("a.dcm", b"x", "application/dicom"))]
    assert alice.post("/api/studies/upload", files=files).status_code == 403
    r = alice.put(f"/api/studies/{sid}/grades", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 200
    with TestClient(alice.app) as fresh:
        r = fresh.post("/login", data={"username": "alice", "password": PASSWORD})
        assert r.status_code == 403  # the login form needs its token too


def test_roles_reader_cannot_delete_or_manage_users(app, alice, admin, dicom_dir):
    rows = _import_all(alice, dicom_dir)
    sid = rows["P1@2025-02-01"]["id"]
    assert alice.delete(f"/api/studies/{sid}").status_code == 403
    assert alice.post("/api/users", json={"username": "eve", "password": "12345678x"}
                      ).status_code == 403
    assert alice.get("/admin/users").status_code == 403
    r = admin.post("/api/users", json={"username": "carol", "password": "long enough 1",
                                       "role": "reader", "language": "fr"})
    assert r.status_code == 201
    assert admin.delete(f"/api/studies/{sid}").status_code == 200
    assert alice.get(f"/api/studies/{sid}").status_code == 404
    assert not (app.state.settings.studies_dir / rows["P1@2025-02-01"]["key"]).exists()


TRAVERSALS = [
    "/static/../secret_key", "/static/%2e%2e/secret_key", "/static/..%2fsecret_key",
    "/static/%2e%2e/%2e%2e/settings.py", "/static/..%5c..%5csettings.py", "/../secret_key",
    "/static/../../../../etc/passwd", "/static//etc/passwd", "/secret_key", "/mibgscore.sqlite3",
    "/static/%2e%2e%2f%2e%2e%2fdb.py", "/api/studies/1/maps/../../secret_key",
    "/api/studies/1/views/..%2f..%2fsecret_key", "/api/studies/..%2f1/views/anterior",
]


def test_no_path_traversal(app, alice):
    secret = (app.state.settings.data_dir / "secret_key").read_text()
    for url in TRAVERSALS:
        r = alice.get(url)
        assert r.status_code == 404, (url, r.status_code)
        assert secret not in r.text and "root:" not in r.text


def test_static_files_are_served(alice):
    r = alice.get("/static/viewer.js")
    assert r.status_code == 200 and "class Viewer" in r.text


def test_upload_refuses_non_dicom_and_oversize(tmp_path, dicom_dir):
    settings = AppSettings(data_dir=tmp_path / "small", score_in_background=False,
                           max_upload_mb=0.05)
    app = create_app(settings, scorer=fake_scorer())
    from mibgscore.app.users import add_user

    add_user(app.state.store, "alice", PASSWORD)
    c = logged_in(app, "alice")
    r = c.post("/api/studies/upload",
               files=[("files", ("notes.txt", b"patient notes" * 10, "text/plain"))])
    assert r.status_code == 422  # nothing imported: a 4xx with the sentences (issue 14)
    assert r.json()["imported"] == [] and "not a DICOM file" in r.json()["errors"][0]
    big = (dicom_dir / "p1.dcm").read_bytes() * 3  # ~75 kB > 50 kB
    r = c.post("/api/studies/upload", files=[("files", ("big.dcm", big, "application/dicom"))])
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    c.__exit__(None, None, None)


def test_zip_upload_ignores_member_paths(alice, app, dicom_dir, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.dcm", (dicom_dir / "p1.dcm").read_bytes())
        zf.writestr("/abs/p2a.dcm", (dicom_dir / "p2a.dcm").read_bytes())
    r = alice.post("/api/studies/upload",
                   files=[("files", ("study.zip", buf.getvalue(), "application/zip"))])
    assert r.status_code == 200, r.text
    assert len(r.json()["imported"]) == 2
    assert not (tmp_path / "evil.dcm").exists() and not (tmp_path.parent / "evil.dcm").exists()
    r = alice.post("/api/studies/upload",
                   files=[("files", ("study.zip", buf.getvalue(), "application/zip"))])
    assert r.json()["imported"] == [] and len(r.json()["duplicates"]) == 2


def test_worklist_views_and_maps(alice, dicom_dir):
    rows = _import_all(alice, dicom_dir)
    p1 = rows["P1@2025-02-01"]
    assert p1["status"] == "scored" and p1["auto_siopen_total"] == 3
    assert p1["patient_name"] == "TEST^Child" and p1["age_years"] == pytest.approx(5.1, abs=0.1)
    assert [r["patient_id"] for r in alice.get("/api/studies", params={"q": "p2"}).json()] == \
        ["P2", "P2"]
    scan = read_scan(dicom_dir / "p1.dcm")
    for view in ("anterior", "posterior"):
        r = alice.get(f"/api/studies/{p1['id']}/views/{view}")
        arr = np.frombuffer(r.content, "<f4").reshape(int(r.headers["X-Rows"]),
                                                       int(r.headers["X-Cols"]))
        np.testing.assert_array_equal(arr, getattr(scan, view))
    r = alice.get(f"/api/studies/{p1['id']}/maps/siopen_map")
    seg = np.frombuffer(r.content, np.uint8).reshape(128, 48)
    assert seg[10, 20] == 1 and seg[50, 24] == 3


def test_edit_conflict_sign_amend_history(alice, bob, dicom_dir):
    rows = _import_all(alice, dicom_dir)
    sid = rows["P1@2025-02-01"]["id"]
    v = alice.get(f"/api/studies/{sid}").json()["version"]
    r = alice.put(f"/api/studies/{sid}/grades",
                  json={"scheme": "siopen", "segment": "skull", "grade": 4, "version": v})
    assert r.status_code == 200, r.text
    st = r.json()
    assert st["siopen"]["skull"] == 4 and st["siopen_total"] == 5 and st["version"] == v + 1
    assert st["status"] == "in_review" and st["edited"] == ["siopen:skull"]
    # Bob still holds version v: told, nothing overwritten
    r = bob.put(f"/api/studies/{sid}/grades",
                json={"scheme": "siopen", "segment": "skull", "grade": 0, "version": v})
    assert r.status_code == 409
    assert "alice changed this reading" in r.json()["detail"]
    assert bob.get(f"/api/studies/{sid}").json()["siopen"]["skull"] == 4
    # a grade out of range
    r = alice.put(f"/api/studies/{sid}/grades",
                  json={"scheme": "siopen", "segment": "skull", "grade": 7, "version": v + 1})
    assert r.status_code == 400 and "0 to 6" in r.json()["detail"]
    r = alice.put(f"/api/studies/{sid}/impression", json={"text": "Skull lesions.",
                                                          "version": v + 1})
    assert r.status_code == 200
    r = alice.post(f"/api/studies/{sid}/sign", json={"version": v + 2})
    assert r.status_code == 200 and r.json()["status"] == "signed"
    assert r.json()["signed_by"] == "alice" and r.json()["locked"]
    v = r.json()["version"]
    r = alice.put(f"/api/studies/{sid}/grades",
                  json={"scheme": "siopen", "segment": "skull", "grade": 2, "version": v})
    assert r.status_code == 409 and r.json()["code"] == "locked"
    assert alice.post(f"/api/studies/{sid}/amend", json={"reason": "", "version": v}
                      ).status_code == 400
    r = bob.post(f"/api/studies/{sid}/amend", json={"reason": "Skull lesion is a suture.",
                                                    "version": v})
    assert r.status_code == 200 and r.json()["status"] == "amending"
    v = r.json()["version"]
    r = bob.put(f"/api/studies/{sid}/grades",
                json={"scheme": "siopen", "segment": "skull", "grade": 3, "version": v})
    r = bob.post(f"/api/studies/{sid}/sign", json={"version": v + 1})
    st = r.json()
    assert st["status"] == "amended" and st["signed_by"] == "bob" and st["siopen_total"] == 4
    actions = [(h["user"], h["action"]) for h in st["history"]]
    assert actions == [("alice", "import"), ("system", "scored"), ("alice", "grade"),
                       ("alice", "impression"), ("alice", "sign"), ("bob", "amend"),
                       ("bob", "grade"), ("bob", "sign")]
    amend = st["history"][5]["detail"]
    assert amend["reason"] == "Skull lesion is a suture."
    grade = st["history"][6]["detail"]
    assert (grade["from"], grade["to"], grade["auto"]) == (4, 3, 2)


def test_accept_all_resets_to_automatic(alice, dicom_dir):
    rows = _import_all(alice, dicom_dir)
    sid = rows["P2@2025-01-10"]["id"]
    v = rows["P2@2025-01-10"]["version"]
    alice.put(f"/api/studies/{sid}/grades",
              json={"scheme": "curie", "segment": "pelvis", "grade": 3, "version": v})
    r = alice.post(f"/api/studies/{sid}/accept-all", json={"version": v + 1})
    assert r.status_code == 200
    assert r.json()["curie"]["pelvis"] == 0 and r.json()["edited"] == []
    assert r.json()["history"][-1]["detail"]["reset"] == {"curie": {"pelvis": [3, 0]}}


def test_followup_numbers(alice, dicom_dir):
    rows = _import_all(alice, dicom_dir)
    base, after = rows["P2@2025-01-10"], rows["P2@2025-05-02"]
    alice.post(f"/api/studies/{base['id']}/sign", json={"version": base["version"]})
    f = alice.get(f"/api/studies/{after['id']}/followup").json()
    assert f["prior"]["id"] == base["id"] and f["prior_signed"] and not f["current_signed"]
    s = f["siopen"]
    assert (s["prior_total"], s["current_total"], s["change"]) == (12, 3, -9)
    assert s["change_percent"] == -75.0 and s["response"] == "partial"
    by = {x["segment"]: x for x in s["segments"]}
    assert (by["spine"]["prior"], by["spine"]["current"], by["spine"]["change"]) == (4, 2, -2)
    assert by["pelvis"]["change"] == -4 and f["interval_days"] == 112
    r = alice.get(f"/api/studies/{base['id']}/followup")
    assert r.status_code == 404 and r.json()["code"] == "no_prior"
    page = alice.get(f"/studies/{after['id']}/followup")
    assert page.status_code == 200 and "partial response" in page.text


def test_complete_response(app, grades, alice, dicom_dir):
    grades["P2@2025-05-02"] = {}
    rows = _import_all(alice, dicom_dir)
    f = alice.get(f"/api/studies/{rows['P2@2025-05-02']['id']}/followup").json()
    assert f["siopen"]["current_total"] == 0 and f["siopen"]["response"] == "complete"


def test_csv_export(alice, dicom_dir):
    rows = _import_all(alice, dicom_dir)
    sid = rows["P1@2025-02-01"]["id"]
    alice.put(f"/api/studies/{sid}/grades", json={"scheme": "siopen", "segment": "pelvis",
                                                 "grade": 1, "version": rows["P1@2025-02-01"]
                                                 ["version"]})
    import csv

    r = alice.get("/api/readings.csv")
    assert r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert len(table) == 3
    p1 = next(x for x in table if x["patient_id"] == "P1")
    assert p1["siopen_total_auto"] == "3" and p1["siopen_total"] == "4" and p1["edited"] == "1"
    assert p1["siopen_pelvis_auto"] == "0" and p1["siopen_pelvis"] == "1"
    assert p1["reader"] == "alice" and p1["status"] == "in_review"


def test_french_interface_per_user(alice, bob, dicom_dir):
    rows = _import_all(alice, dicom_dir)
    sid = rows["P1@2025-02-01"]["id"]
    assert "Liste de travail" in bob.get("/worklist").text
    assert "Worklist" in alice.get("/worklist").text
    page = bob.get(f"/studies/{sid}").text
    assert ("Crâne" in page or "Cr\\u00e2ne" in page) and "Signer" in page
    assert alice.put("/api/me/language", json={"language": "fr"}).status_code == 200
    assert "Liste de travail" in alice.get("/worklist").text


def test_no_patient_data_in_logs(alice, dicom_dir, caplog):
    caplog.set_level(logging.DEBUG)
    rows = _import_all(alice, dicom_dir)
    sid = rows["P1@2025-02-01"]["id"]
    alice.get(f"/studies/{sid}")
    alice.get("/api/studies", params={"q": "TEST^Child"})
    alice.post(f"/api/studies/{sid}/sign", json={"version": rows["P1@2025-02-01"]["version"]})
    # the server's loggers (the test client's own httpx logger shows the URLs it sends)
    text = "\n".join(r.getMessage() for r in caplog.records
                     if r.name.startswith(("mibgscore", "uvicorn", "fastapi", "starlette")))
    assert "upload: 3 imported" in text
    for secret in ("TEST", "Child", "P1", "P2", "p1.dcm", "20200101", "2020-01-01"):
        assert secret not in text, secret


def test_everything_survives_a_restart(app, alice, dicom_dir):
    rows = _import_all(alice, dicom_dir)
    sid = rows["P1@2025-02-01"]["id"]
    alice.put(f"/api/studies/{sid}/grades", json={"scheme": "siopen", "segment": "pelvis",
                                                 "grade": 5, "version": rows["P1@2025-02-01"]
                                                 ["version"]})
    again = create_app(app.state.settings, scorer=fake_scorer())
    c = logged_in(again, "alice")  # same secret: the same users, the same data
    st = c.get(f"/api/studies/{sid}").json()
    assert st["siopen"]["pelvis"] == 5 and st["status"] == "in_review"
    c.__exit__(None, None, None)


def test_pdf_export(alice, dicom_dir):
    pytest.importorskip("mibgscore.report.pdf")
    rows = _import_all(alice, dicom_dir)
    sid = rows["P1@2025-02-01"]["id"]
    alice.post(f"/api/studies/{sid}/sign", json={"version": rows["P1@2025-02-01"]["version"]})
    r = alice.get(f"/api/studies/{sid}/report.pdf")
    assert r.status_code == 200, r.text[:300]
    assert r.content.startswith(b"%PDF") and r.headers["content-type"] == "application/pdf"
