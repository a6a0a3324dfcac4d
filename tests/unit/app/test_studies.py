"""A study's identity and what its JSON says: the shared study key, the model that scored it,
and the error family the app answers with."""

from __future__ import annotations

import dataclasses
import sqlite3

from mibgscore.app import create_app
from mibgscore.errors import MibgscoreError, ServiceError
from mibgscore.io.keys import study_key
from mibgscore.io.read import read_scan

from ._studies import fake_scorer
from .conftest import logged_in, upload


def test_a_study_is_keyed_by_the_shared_study_key(app, alice, dicom_dir):
    r = upload(alice, dicom_dir / "p1.dcm").json()
    row = alice.get(f"/api/studies/{r['imported'][0]}").json()
    key = study_key(read_scan(dicom_dir / "p1.dcm"))
    assert row["key"] == key and len(key) == 64
    assert (app.state.settings.studies_dir / key / "views.npz").exists()


def test_studies_under_the_former_short_key_are_rekeyed_at_start(app, alice, dicom_dir):
    sid = upload(alice, dicom_dir / "p1.dcm").json()["imported"][0]
    settings = app.state.settings
    key = alice.get(f"/api/studies/{sid}").json()["key"]
    old = "0123456789abcdef"  # a 16-character SHA-1 key of the former scheme
    (settings.studies_dir / key).rename(settings.studies_dir / old)
    con = sqlite3.connect(settings.data_dir / "mibgscore.sqlite3")
    con.execute("UPDATE studies SET key = ? WHERE id = ?", (old, sid))
    con.commit()
    con.close()
    again = create_app(settings, scorer=fake_scorer())
    c = logged_in(again, "alice")
    try:
        assert c.get(f"/api/studies/{sid}").json()["key"] == key
        assert (settings.studies_dir / key / "dicom").is_dir()
        assert not (settings.studies_dir / old).exists()
        r = upload(c, dicom_dir / "p1.dcm").json()
        assert r["imported"] == [] and r["duplicates"] == [sid]
        assert c.get(f"/api/studies/{sid}/views/anterior").status_code == 200
    finally:
        c.__exit__(None, None, None)


def test_the_study_json_names_the_model_that_scored_it(tmp_path, dicom_dir):
    from mibgscore.app import AppSettings
    from mibgscore.app.users import add_user

    inner = fake_scorer()

    def scorer(scan):
        result = inner(scan)
        model = type(result.model)("classic", "1.2", "ab" * 32)
        return dataclasses.replace(result, model=model)

    app = create_app(AppSettings(data_dir=tmp_path / "data", score_in_background=False),
                     scorer=scorer)
    add_user(app.state.store, "alice", "correct horse 1")
    c = logged_in(app, "alice")
    try:
        sid = upload(c, dicom_dir / "p1.dcm").json()["imported"][0]
        study = c.get(f"/api/studies/{sid}").json()
        assert study["model"] == "classic"
        assert study["auto"]["model"] == {"name": "classic", "version": "1.2",
                                          "sha256": "ab" * 32}
    finally:
        c.__exit__(None, None, None)


def test_a_study_not_yet_scored_has_no_model(tmp_path, dicom_dir):
    from mibgscore.app import AppSettings
    from mibgscore.app.users import add_user

    app = create_app(AppSettings(data_dir=tmp_path / "data"), scorer=fake_scorer())
    add_user(app.state.store, "alice", "correct horse 1")
    c = logged_in(app, "alice")  # the scoring thread runs, but nothing is queued yet
    try:
        app.state.queue.stop()  # keep the study unscored
        sid = upload(c, dicom_dir / "p1.dcm").json()["imported"][0]
        study = c.get(f"/api/studies/{sid}").json()
        assert study["status"] == "new" and study["model"] is None
    finally:
        c.__exit__(None, None, None)


def test_service_errors_are_of_the_family_and_keep_their_status(alice):
    err = ServiceError("no such study.", 404, "not_found")
    assert isinstance(err, MibgscoreError) and err.status == 404 and err.code == "not_found"
    assert str(err) == err.message == "no such study."
    r = alice.get("/api/studies/999")
    assert r.status_code == 404 and r.json() == {"detail": "no such study.", "code": "not_found"}
