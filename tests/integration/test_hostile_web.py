"""The web server under hostile input (issue 14), on a real uvicorn server in this process:
every hostile upload gets a 4xx with a sentence while /api/health keeps answering fast;
login hammering and hashing stay off the event loop; back-pressure answers 503 with
Retry-After; sessions end on a password change or reset; throttling per user name and per
address, X-Forwarded-For only from configured proxies; formula-safe CSV; private files;
compact, cached views; huge ids are 404s."""

from __future__ import annotations

import csv
import importlib.util
import io
import re
import socket
import stat
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn

from mibgscore.app import AppSettings, create_app
from mibgscore.app.users import add_user

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "unit" / "io"))
import hostile_files as hostile  # noqa: E402
from nm_files import write_nm  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "hostile_app_studies", HERE.parents[1] / "unit" / "app" / "_studies.py")
_studies = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_studies)

PASSWORD = "correct horse 1"


@pytest.fixture(autouse=True)
def fast_password_hashing(request, monkeypatch):
    """Cheap argon2 parameters, but for the login-hammering test (which needs the real cost)."""
    if "hammering" in request.node.name:
        return
    from argon2 import PasswordHasher

    import mibgscore.app.security as security

    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=256,
                                                            parallelism=1))
    monkeypatch.setattr(security, "_DUMMY_HASH", None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(tmp_path: Path, **settings):
    """A real server (uvicorn, in a thread) on a fresh data folder; yields (base URL, app)."""
    defaults = {"data_dir": tmp_path / "data", "score_in_background": False}
    app = create_app(AppSettings(**(defaults | settings)), scorer=_studies.fake_scorer())
    add_user(app.state.store, "alice", PASSWORD, "reader")
    add_user(app.state.store, "root", PASSWORD, "admin")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False,
                                           proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield url, app
    finally:
        server.should_exit = True
        thread.join(10)


def login(url: str, username: str = "alice", password: str = PASSWORD,
          headers: dict | None = None) -> tuple[httpx.Client, httpx.Response]:
    c = httpx.Client(base_url=url, timeout=60, headers=headers or {})
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"username": username, "password": password,
                               "csrf_token": token})
    if r.status_code == 303:
        c.headers["X-CSRF-Token"] = c.get("/api/me").json()["csrf"]
    return c, r


class HealthProbe:
    """GET /api/health every 25 ms in a thread; latencies in ms."""

    def __init__(self, url: str) -> None:
        self.url, self.ms, self._stop = url, [], threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as c:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                assert c.get("/api/health").status_code == 200
                self.ms.append(1000 * (time.perf_counter() - t0))
                time.sleep(0.025)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join(30)

    def p95(self) -> float:
        return float(np.percentile(self.ms, 95))


def _hostile_uploads(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    dicom = write_nm(folder / "ok.dcm").read_bytes()
    return {
        "j2k_garbage.dcm": hostile.j2k_garbage(folder / "j2k_garbage.dcm"),
        "jpegls_rows65535.dcm": hostile.jpegls_rows_65535(folder / "jpegls_rows65535.dcm"),
        "rle_rows65535.dcm": hostile.compressed_rows_65535(folder / "rle_rows65535.dcm"),
        "rle_bad_header.dcm": hostile.rle_bad_header(folder / "rle_bad_header.dcm"),
        "frames65536.dcm": hostile.frames(folder / "frames65536.dcm", 65536),
        "frames_max.dcm": hostile.frames(folder / "frames_max.dcm", 2_147_483_647),
        "spacing_tiny.dcm": hostile.spacing(folder / "spacing_tiny.dcm", "1e-308"),
        "spacing_001.dcm": hostile.spacing(folder / "spacing_001.dcm", "0.01"),
        "spacing_1000.dcm": hostile.spacing(folder / "spacing_1000.dcm", "1000"),
        "badcrc.zip": hostile.bad_crc_zip(folder / "badcrc.zip", dicom),
        "method99.zip": hostile.method99_zip(folder / "method99.zip", dicom),
        "nested.zip": hostile.zip_in_zip(folder / "nested.zip", 32),
        "huge_member.zip": hostile.huge_member_zip(folder / "huge_member.zip", dicom),
    }


def test_each_hostile_upload_is_a_4xx_while_health_stays_fast(tmp_path):
    files = _hostile_uploads(tmp_path / "hostile")
    with serve(tmp_path) as (url, _app):
        c, _ = login(url)
        with HealthProbe(url) as probe:
            for name, path in files.items():
                r = c.post("/api/studies/upload",
                           files=[("files", (name, path.read_bytes(), "application/dicom"))])
                assert r.status_code == 422, (name, r.status_code, r.text[:200])
                detail = r.json()["detail"]
                assert detail.startswith(name) and "\n" not in detail, detail
            time.sleep(0.3)
        assert c.get("/api/health").status_code == 200  # the server is alive
    assert len(probe.ms) > 10 and probe.p95() < 100, \
        f"/api/health p95 {probe.p95():.0f} ms, max {max(probe.ms):.0f} ms"


def test_hostile_files_in_the_watched_folder_are_set_aside_once(tmp_path):
    watched = tmp_path / "watch"
    watched.mkdir()
    j2k = hostile.j2k_garbage(watched / "j2k_garbage.dcm")
    frames = hostile.frames(watched / "frames.dcm", 10_000_000)
    old = time.time() - 10
    for p in (j2k, frames):
        import os

        os.utime(p, (old, old))
    with serve(tmp_path, import_dir=watched, import_poll_seconds=0.2) as (url, _app):
        failed = watched / "failed"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list(failed.glob("*.txt"))) < 2:
            time.sleep(0.2)
        assert httpx.get(f"{url}/api/health").status_code == 200
    assert sorted(p.name for p in failed.iterdir()) == [
        "frames.dcm", "frames.dcm.txt", "j2k_garbage.dcm", "j2k_garbage.dcm.txt"]
    assert "declares 10,000,000 frames" in (failed / "frames.dcm.txt").read_text()
    assert "JPEG 2000" in (failed / "j2k_garbage.dcm.txt").read_text()
    assert not list(watched.glob("*.dcm"))  # never read again


def test_login_hammering_keeps_health_fast(tmp_path):
    with serve(tmp_path, login_failures_per_minute=100_000) as (url, _app):
        stop = threading.Event()
        codes: list[int] = []

        def hammer(i: int) -> None:
            with httpx.Client(base_url=url, timeout=60) as c:
                token = re.search(r'name="csrf_token" value="([^"]+)"',
                                  c.get("/login").text).group(1)
                while not stop.is_set():
                    r = c.post("/login", data={"username": f"alice{i % 2}",
                                               "password": "wrong password",
                                               "csrf_token": token})
                    codes.append(r.status_code)

        clients = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
        with HealthProbe(url) as probe:
            for t in clients:
                t.start()
            time.sleep(4.0)
            stop.set()
            for t in clients:
                t.join(30)
    assert codes.count(401) >= 4, codes  # the passwords were really checked
    assert probe.p95() <= 100, (f"/api/health p95 {probe.p95():.0f} ms under 4 login "
                                f"clients (median {statistics.median(probe.ms):.0f} ms)")


def test_a_full_hashing_queue_answers_503_with_retry_after(tmp_path):
    with serve(tmp_path, hash_workers=1, hash_queue=0) as (url, _app):
        answers: list[httpx.Response] = []
        barrier = threading.Barrier(6)

        def attempt() -> None:
            with httpx.Client(base_url=url, timeout=60) as c:
                token = re.search(r'name="csrf_token" value="([^"]+)"',
                                  c.get("/login").text).group(1)
                barrier.wait()
                answers.append(c.post("/login", data={"username": "alice",
                                                      "password": "wrong password",
                                                      "csrf_token": token}))

        threads = [threading.Thread(target=attempt) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    busy = [r for r in answers if r.status_code == 503]
    assert busy and all(r.headers["Retry-After"].isdigit() for r in busy), \
        [r.status_code for r in answers]
    assert "busy" in busy[0].json()["detail"]


def test_sessions_end_on_password_reset_and_change(tmp_path):
    with serve(tmp_path) as (url, app):
        a1, _ = login(url)
        a2, _ = login(url)
        assert a1.get("/api/me").status_code == 200
        r = a1.put("/api/me/password", json={"current": PASSWORD, "new": "new password 2"})
        assert r.status_code == 200, r.text
        assert a1.get("/api/me").status_code == 200  # the session that changed it stays
        assert a2.get("/api/me").status_code == 401
        add_user(app.state.store, "alice", "reset password 3")  # an administrator's reset
        assert a1.get("/api/me").status_code == 401
        assert login(url, password="reset password 3")[1].status_code == 303


def test_throttling_per_user_name_and_per_address(tmp_path):
    with serve(tmp_path, login_failures_per_minute=2) as (url, _app):
        rotated = [login(url, password="wrong", headers={"X-Forwarded-For": f"10.0.0.{i}"}
                         )[1].status_code for i in range(4)]
        assert rotated == [401, 401, 429, 429], rotated  # the header is not believed
        sprayed = [login(url, username=f"user{i}", password="wrong")[1].status_code
                   for i in range(8)]  # 2 failures above, 8 allowed per address
        assert sprayed == [401] * 6 + [429] * 2, sprayed
    with serve(tmp_path / "proxied", login_failures_per_minute=2,
               forwarded_allow_ips=("127.0.0.1",)) as (url, _app):
        for i in range(10):  # a trusted proxy: each client address has its own count
            r = login(url, username=f"u{i}", password="wrong",
                      headers={"X-Forwarded-For": f"10.0.0.{i}"})[1]
            assert r.status_code == 401


def test_secure_cookie_flag(tmp_path):
    with serve(tmp_path, secure_cookies=True) as (url, _app):
        assert "secure" in httpx.get(f"{url}/login").headers["set-cookie"].lower()
    with serve(tmp_path / "plain") as (url, _app):
        assert "secure" not in httpx.get(f"{url}/login").headers["set-cookie"].lower()


def test_views_are_compact_cached_and_files_private(tmp_path):
    (tmp_path / "in").mkdir()
    study = _studies.write_study(tmp_path / "in" / "p1.dcm", patient_id="=HYPERLINK(\"x\")",
                                 study_date=__import__("datetime").date(2025, 2, 1), seed=1)
    with serve(tmp_path) as (url, app):
        c, _ = login(url)
        r = c.post("/api/studies/upload",
                   files=[("files", ("p1.dcm", study.read_bytes(), "application/dicom"))])
        sid = r.json()["imported"][0]
        f32 = c.get(f"/api/studies/{sid}/views/anterior")
        u16 = c.get(f"/api/studies/{sid}/views/anterior?dtype=uint16")
        rows, cols = int(u16.headers["X-Rows"]), int(u16.headers["X-Cols"])
        assert u16.headers["X-Dtype"] == "uint16" and len(u16.content) == rows * cols * 2
        assert np.array_equal(np.frombuffer(u16.content, "<u2"),
                              np.frombuffer(f32.content, "<f4"))
        assert u16.headers["content-encoding"] == "gzip"  # encoded once, served as kept
        assert "max-age" in u16.headers["cache-control"] and u16.headers["etag"]
        again = c.get(f"/api/studies/{sid}/views/anterior?dtype=uint16",
                      headers={"If-None-Match": u16.headers["etag"]})
        assert again.status_code == 304
        for path in ("/api/studies/99999999999999999999", "/api/studies/9223372036854775808",
                     "/api/studies/99999999999999999999/views/anterior"):
            r = c.get(path)
            assert r.status_code == 404 and "too large" in r.json()["detail"], (path, r.text)
        assert c.get("/api/studies/9223372036854775807").status_code == 404
        ver = c.get(f"/api/studies/{sid}").json()["version"]
        c.put(f"/api/studies/{sid}/impression", json={"text": "=cmd|' /C calc'!A0",
                                                      "version": ver})
        table = list(csv.DictReader(io.StringIO(c.get("/api/readings.csv").text)))
        assert table[0]["patient_id"] == "'=HYPERLINK(\"x\")", table[0]
        assert table[0]["impression"] == "'=cmd|' /C calc'!A0", table[0]
        data = Path(app.state.settings.data_dir)
    modes = {p.relative_to(data): stat.S_IMODE(p.stat().st_mode) for p in data.rglob("*")}
    loose = {str(p): oct(m) for p, m in modes.items()
             if m & 0o077 and not str(p).endswith(("-wal", "-shm", "-journal"))}
    assert not loose, loose
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


@pytest.mark.parametrize("argv", [["serve", "--help"]])
def test_serve_has_the_security_options(argv, capsys):
    from mibgscore.cli.main import main

    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "--secure-cookies" in out and "--forwarded-allow-ips" in out


def test_a_short_load_run_has_no_errors_and_loses_no_edit(tmp_path):
    sys.path.insert(0, str(HERE.parents[2] / "benchmarks"))
    import load

    (tmp_path / "in").mkdir()
    import datetime as dt

    paths = [_studies.write_study(tmp_path / "in" / f"p{i}.dcm", patient_id=f"P{i}",
                                  study_date=dt.date(2025, 2, 1), seed=i, rows=1024, cols=256)
             for i in range(3)]
    with serve(tmp_path) as (url, _app):
        c, _ = login(url)
        r = c.post("/api/studies/upload", files=[("files", (p.name, p.read_bytes(),
                                                           "application/dicom"))
                                                 for p in paths])
        assert len(r.json()["imported"]) == 3, r.text
        result = load.run_load(url, "alice", PASSWORD, clients=8, seconds=5)
    assert not result.errors, result.errors[:5]
    assert result.edits_accepted > 5 and result.edits_lost == 0, result.table()
    # the 500 ms target under 50 clients is measured by benchmarks/load.py on a quiet machine;
    # here (clients and server in one process, a shared machine) a looser bound still catches
    # views compressed again on every request
    assert result.p("view", 95) <= 1500, result.table()
