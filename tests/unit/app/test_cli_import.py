"""`mibgscore users add`, `mibgscore serve --help`, the watched import folder, the demo set."""

from __future__ import annotations

import io
import shutil
import time

from fastapi.testclient import TestClient

from mibgscore.app import AppSettings, create_app
from mibgscore.cli.main import main

from ._studies import fake_scorer
from .conftest import logged_in


def test_users_add_from_stdin(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert main(["users", "add", "carol", "--role", "admin", "--password-stdin",
                 "--data-dir", str(data)]) == 0
    assert "user carol (admin) saved." in capsys.readouterr().out
    app = create_app(AppSettings(data_dir=data, score_in_background=False))
    from .conftest import login

    with TestClient(app) as c:
        assert login(c, "carol", "a long password").status_code == 303
        assert c.get("/api/me").json()["role"] == "admin"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "dave", "--password-stdin", "--data-dir", str(data)]) == 2
    assert "at least 8 characters" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("long enough!\n"))
    assert main(["users", "add", "dave", "--role", "boss", "--password-stdin",
                 "--data-dir", str(data)]) == 2
    assert "role 'boss'" in capsys.readouterr().err


def test_serve_help_lists_the_storage_options(capsys):
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--data-dir", "--database-url", "--demo", "--import-dir"):
        assert option in out


def test_watched_import_folder(tmp_path, dicom_dir):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = AppSettings(data_dir=tmp_path / "data", import_dir=inbox,
                           import_poll_seconds=0.2)
    app = create_app(settings, scorer=fake_scorer())
    from mibgscore.app.users import add_user

    add_user(app.state.store, "alice", "correct horse 1")
    c = logged_in(app, "alice")
    try:
        shutil.copyfile(dicom_dir / "p1.dcm", inbox / "p1.dcm")
        (inbox / "notes.txt").write_text("not dicom")
        past = time.time() - 10
        import os

        for p in inbox.iterdir():
            os.utime(p, (past, past))
        deadline = time.monotonic() + 30
        rows = []
        while time.monotonic() < deadline:
            rows = c.get("/api/studies").json()
            if rows and rows[0]["status"] == "scored":
                break
            time.sleep(0.2)
        assert [r["patient_id"] for r in rows] == ["P1"] and rows[0]["status"] == "scored"
        assert (inbox / "imported" / "p1.dcm").exists()
        assert not (inbox / "p1.dcm").exists()
    finally:
        c.__exit__(None, None, None)


def test_french_catalogue_is_complete():
    from mibgscore.anatomy.scheme import load_scheme
    from mibgscore.app.i18n import EN, FR, SEGMENT_FR

    assert set(EN) - set(FR) == set()
    for name in ("siopen", "curie"):
        assert set(load_scheme(name).keys) <= set(SEGMENT_FR)


def test_scoring_queue_reports_position_and_progress(tmp_path, dicom_dir):
    import threading

    gate = threading.Event()
    inner = fake_scorer()

    def slow(scan):
        gate.wait(20)
        return inner(scan)

    app = create_app(AppSettings(data_dir=tmp_path / "data"), scorer=slow)
    from mibgscore.app.users import add_user

    from .conftest import upload

    add_user(app.state.store, "alice", "correct horse 1")
    c = logged_in(app, "alice")
    try:
        ids = upload(c, dicom_dir / "p1.dcm", dicom_dir / "p2a.dcm").json()["imported"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rows = {r["id"]: r for r in c.get("/api/studies").json()}
            if rows[ids[0]]["status"] == "scoring":
                break
            time.sleep(0.05)
        assert rows[ids[0]]["progress"]["state"] == "scoring"
        assert 0.0 <= rows[ids[0]]["progress"]["fraction"] < 1.0
        assert rows[ids[1]]["progress"] == {"state": "queued", "position": 1, "fraction": 0.0}
        assert rows[ids[1]]["status"] == "new"
        gate.set()
        while time.monotonic() < deadline + 20:
            rows = {r["id"]: r for r in c.get("/api/studies").json()}
            if all(r["status"] == "scored" for r in rows.values()):
                break
            time.sleep(0.05)
        assert [rows[i]["status"] for i in ids] == ["scored", "scored"]
        assert rows[ids[1]]["progress"] is None
    finally:
        gate.set()
        c.__exit__(None, None, None)


def test_failed_scoring_is_shown_and_the_queue_goes_on(tmp_path, dicom_dir):
    from mibgscore.errors import InputError

    def broken(scan):
        raise InputError("no skeleton could be fitted")

    app = create_app(AppSettings(data_dir=tmp_path / "data", score_in_background=False),
                     scorer=broken)
    from mibgscore.app.users import add_user

    from .conftest import upload

    add_user(app.state.store, "alice", "correct horse 1")
    c = logged_in(app, "alice")
    rows = upload(c, dicom_dir / "p1.dcm", dicom_dir / "p2a.dcm").json()
    assert len(rows["imported"]) == 2
    for r in c.get("/api/studies").json():
        assert r["status"] == "failed"
        assert r["error"] == "automatic scoring failed (no skeleton could be fitted)."
    c.__exit__(None, None, None)


def test_demo_follow_up_pair(tmp_path, monkeypatch):
    """The demo's follow-up patient: one child, two dates, two studies, a comparison."""
    import mibgscore.app.demo as demo
    from mibgscore.app import load_demo

    monkeypatch.setattr(demo, "DEMO_STUDIES", demo.DEMO_STUDIES[3:])
    grades = {"DEMO-004@2025-01-27": {"skull": 4, "spine": 4, "pelvis": 4},
              "DEMO-004@2025-05-19": {"spine": 2}}
    app = create_app(AppSettings(data_dir=tmp_path / "data", score_in_background=False),
                     scorer=fake_scorer(grades))
    password = load_demo(app)
    assert load_demo(app) == password  # a second start: same account, no duplicates
    from .conftest import login

    with TestClient(app) as c:
        assert login(c, "demo", password).status_code == 303
        rows = c.get("/api/studies").json()
        assert [(r["patient_id"], r["study_date"]) for r in rows] == [
            ("DEMO-004", "2025-05-19"), ("DEMO-004", "2025-01-27")]
        assert rows[0]["age_years"] > rows[1]["age_years"]
        f = c.get(f"/api/studies/{rows[0]['id']}/followup").json()
        assert (f["siopen"]["prior_total"], f["siopen"]["current_total"]) == (12, 2)
        assert f["siopen"]["response"] == "partial"


def test_schema_version_1_is_migrated(tmp_path):
    """A version-1 database (no users.session_epoch) is brought to the current version."""
    import sqlite3

    from mibgscore.app.db import SCHEMA_VERSION

    data = tmp_path / "data"
    data.mkdir()
    con = sqlite3.connect(data / "mibgscore.sqlite3")
    con.executescript("""
        CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER, applied_at DATETIME);
        INSERT INTO schema_version (version, applied_at) VALUES (1, '2026-01-01 00:00:00');
        CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(80) UNIQUE,
            password_hash VARCHAR(255), role VARCHAR(16), language VARCHAR(8), active BOOLEAN,
            created_at DATETIME);
    """)
    con.commit()
    con.close()
    app = create_app(AppSettings(data_dir=data, score_in_background=False))
    from mibgscore.app.users import add_user

    add_user(app.state.store, "alice", "correct horse 1")
    c = logged_in(app, "alice")
    assert c.get("/api/me").json()["username"] == "alice"
    c.__exit__(None, None, None)
    con = sqlite3.connect(data / "mibgscore.sqlite3")
    versions = [v for (v,) in con.execute("SELECT version FROM schema_version ORDER BY id")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    con.close()
