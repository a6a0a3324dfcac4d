"""Fixtures: an app on a fresh data folder (fast known-answer scorer), users, logged-in clients."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient

from mibgscore.app import AppSettings, create_app
from mibgscore.app.users import add_user

from ._studies import fake_scorer, write_study

PASSWORD = "correct horse 1"


def login(client: TestClient, username: str, password: str = PASSWORD):
    """Log in through the form (with its CSRF token); return the response."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, follow_redirects=False)


def logged_in(app, username: str) -> TestClient:
    c = TestClient(app)
    c.__enter__()
    r = login(c, username)
    assert r.status_code == 303, r.text
    c.headers["X-CSRF-Token"] = c.get("/api/me").json()["csrf"]
    return c


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """Cheap argon2 parameters in tests (the app's defaults cost ~0.5 s per hash)."""
    from argon2 import PasswordHasher

    import mibgscore.app.security as security

    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=256,
                                                            parallelism=1))
    monkeypatch.setattr(security, "_DUMMY_HASH", None)


@pytest.fixture
def grades():
    """SIOPEN grades the fake scorer gives, per patient ID (tests may change it first)."""
    return {"P1": {"skull": 2, "spine": 1},
            "P2": {"skull": 3, "spine": 4, "pelvis": 4, "thoracic_cage": 1},
            "P2@2025-05-02": {"skull": 1, "spine": 2}}


@pytest.fixture
def app(tmp_path, grades):
    settings = AppSettings(data_dir=tmp_path / "data", score_in_background=False)
    application = create_app(settings, scorer=fake_scorer(grades))
    store = application.state.store
    add_user(store, "alice", PASSWORD, "reader")
    add_user(store, "bob", PASSWORD, "reader", "fr")
    add_user(store, "root", PASSWORD, "admin")
    return application


@pytest.fixture
def alice(app):
    c = logged_in(app, "alice")
    yield c
    c.__exit__(None, None, None)


@pytest.fixture
def bob(app):
    c = logged_in(app, "bob")
    yield c
    c.__exit__(None, None, None)


@pytest.fixture
def admin(app):
    c = logged_in(app, "root")
    yield c
    c.__exit__(None, None, None)


@pytest.fixture
def dicom_dir(tmp_path):
    """Three studies: P1 once, P2 at baseline (2025-01-10) and after induction (2025-05-02)."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_study(folder / "p1.dcm", patient_id="P1", study_date=dt.date(2025, 2, 1), seed=1)
    write_study(folder / "p2a.dcm", patient_id="P2", study_date=dt.date(2025, 1, 10), seed=2)
    write_study(folder / "p2b.dcm", patient_id="P2", study_date=dt.date(2025, 5, 2), seed=3)
    return folder


def upload(client: TestClient, *paths):
    files = [("files", (p.name, p.read_bytes(), "application/dicom")) for p in paths]
    return client.post("/api/studies/upload", files=files)
