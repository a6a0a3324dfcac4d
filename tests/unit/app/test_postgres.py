"""The app's storage on a real PostgreSQL server started from the Debian binaries."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from mibgscore.app import AppSettings, create_app
from mibgscore.app.users import add_user

from ._studies import fake_scorer
from .conftest import logged_in, upload

PG_BIN = Path("/usr/lib/postgresql/15/bin")

pytestmark = pytest.mark.postgres


def _as_postgres(cmd: list[str]) -> list[str]:
    """Run as user postgres when we are root (the server refuses to run as root)."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-c", " ".join(cmd)]


@pytest.fixture
def postgres_url():
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL server binaries are missing ({PG_BIN}; Debian package "
                    "postgresql)")
    pytest.importorskip("psycopg")
    if os.geteuid() == 0:
        try:
            import pwd

            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
    folder = Path(tempfile.mkdtemp(prefix="mibgscore-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    data = folder / "data"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                 "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True, env=env, cwd=folder)
    opts = f"-k {folder} -c listen_addresses='' -c fsync=off"
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts,
                                 "-l", str(folder / "server.log"), "-w", "start"]),
                   check=True, capture_output=True, env=env, cwd=folder)
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={folder}"
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                     "stop"]), capture_output=True, env=env, cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)


def test_storage_round_trip_on_postgresql(postgres_url, tmp_path, dicom_dir):
    settings = AppSettings(data_dir=tmp_path / "files", database_url=postgres_url,
                           score_in_background=False)
    app = create_app(settings, scorer=fake_scorer())
    add_user(app.state.store, "alice", "correct horse 1")
    add_user(app.state.store, "bob", "correct horse 1")
    alice, bob = logged_in(app, "alice"), logged_in(app, "bob")
    r = upload(alice, *sorted(dicom_dir.iterdir()))
    assert len(r.json()["imported"]) == 3, r.text
    sid = r.json()["imported"][0]
    v = alice.get(f"/api/studies/{sid}").json()["version"]
    assert alice.put(f"/api/studies/{sid}/grades", json={"scheme": "siopen", "segment": "pelvis",
                                                         "grade": 6, "version": v}
                     ).status_code == 200
    r = bob.put(f"/api/studies/{sid}/grades", json={"scheme": "siopen", "segment": "pelvis",
                                                    "grade": 1, "version": v})
    assert r.status_code == 409 and "alice" in r.json()["detail"]
    assert alice.post(f"/api/studies/{sid}/sign", json={"version": v + 1}).status_code == 200
    for c in (alice, bob):
        c.__exit__(None, None, None)

    again = create_app(settings, scorer=fake_scorer())  # a restart: schema already there
    c = logged_in(again, "bob")
    st = c.get(f"/api/studies/{sid}").json()
    assert st["siopen"]["pelvis"] == 6 and st["status"] == "signed"
    assert st["signed_by"] == "alice"
    assert [h["action"] for h in st["history"]] == ["import", "scored", "grade", "sign"]
    assert len(c.get("/api/studies").json()) == 3
    c.__exit__(None, None, None)


def test_schema_version_2_gets_the_wide_study_key_on_postgresql(postgres_url, tmp_path,
                                                                 dicom_dir):
    """Version 3 widens studies.key to the 64 characters of the SHA-256 study key."""
    from sqlalchemy import create_engine, text

    from mibgscore.app.db import SCHEMA_VERSION

    settings = AppSettings(data_dir=tmp_path / "files", database_url=postgres_url,
                           score_in_background=False)
    create_app(settings, scorer=fake_scorer())
    engine = create_engine(postgres_url)
    with engine.begin() as conn:  # back to version 2: a 32-character key column
        conn.execute(text('ALTER TABLE studies ALTER COLUMN "key" TYPE VARCHAR(32)'))
        conn.execute(text("ALTER TABLE studies DROP COLUMN lesions, DROP COLUMN overrides, "
                          "DROP COLUMN evidence"))
        conn.execute(text("DELETE FROM schema_version"))
        conn.execute(text("INSERT INTO schema_version (version, applied_at) VALUES (2, now())"))
    app = create_app(settings, scorer=fake_scorer())
    with engine.connect() as conn:
        width = conn.execute(text("SELECT character_maximum_length FROM "
                                  "information_schema.columns WHERE table_name = 'studies' "
                                  "AND column_name = 'key'")).scalar()
        versions = [v for (v,) in conn.execute(text(
            "SELECT version FROM schema_version ORDER BY id"))]
        columns = {c for (c,) in conn.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'studies'"))}
    engine.dispose()
    assert width == 64 and versions == [2, 3, 4] and SCHEMA_VERSION == 4
    assert {"lesions", "overrides", "evidence"} <= columns  # version 4: the lesion list
    add_user(app.state.store, "alice", "correct horse 1")
    c = logged_in(app, "alice")
    r = upload(c, dicom_dir / "p1.dcm")
    assert len(r.json()["imported"]) == 1, r.text
    c.__exit__(None, None, None)
