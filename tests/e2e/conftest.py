"""Fixtures of the browser tests: the real server (`mibgscore serve --demo`) and headless Chromium.

Chromium is Debian's (/usr/bin/chromium) driven by the PyPI playwright package; `playwright
install` is never run. Screenshots go to the test's folder, and to docs/images when
MIBGSCORE_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser_steps import stop

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
DOCS_IMAGES = ROOT / "docs" / "images"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mibgscore() -> list[str]:
    exe = Path(sys.executable).with_name("mibgscore")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mibgscore.cli.main"]


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory):
    """`mibgscore serve --demo` on a free loopback port: yields (base URL, demo password)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)")
    data = tmp_path_factory.mktemp("web-data")
    port = _free_port()
    log = (data / "server.log").open("w")
    proc = subprocess.Popen(_mibgscore() + ["serve", "--demo", "--data-dir", str(data),
                                            "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=log, text=True)
    password = None
    url = None
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and password is None:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"(http://\S+)", line)
            url = url or (m.group(1).rstrip("/") if m else None)
            m = re.search(r"demo account: user 'demo', password '([^']+)'", line)
            password = m.group(1) if m else None
        assert password and url, f"no credentials printed; see {data / 'server.log'}"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the server did not answer /api/health")
        yield url, password, data
    finally:
        stop(proc, log)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 950}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.errors = errors
    yield pg
    context.close()


@pytest.fixture
def screenshot(tmp_path):
    """``screenshot(page, name)``: save a PNG (and copy it to docs/images when asked)."""

    def take(pg, name: str) -> Path:
        path = tmp_path / name
        pg.screenshot(path=str(path))
        if os.environ.get("MIBGSCORE_UPDATE_SCREENSHOTS") == "1":
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_IMAGES / name)
        return path

    return take
