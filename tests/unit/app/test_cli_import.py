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
    from mibgscore.app.service import add_user

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
    from mibgscore.app.service import add_user

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
