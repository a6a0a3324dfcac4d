"""The Models page in Chromium against `mibgscore serve`: a centre of 20 signed readings is
adapted from the page (progress shown), its figures appear beside the shipped model's, it is
activated; refusals show as one sentence. Screenshot: docs/images/web_models.png."""

from __future__ import annotations

import importlib.util
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_steps import stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 180_000


def _centre_module():
    """tests/unit/app/test_models_centre.py: the fixture centre shared with the API tests."""
    spec = importlib.util.spec_from_file_location(
        "models_centre", ROOT / "tests" / "unit" / "app" / "test_models_centre.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def centre_server(tmp_path, tmp_path_factory, browser):
    """`mibgscore serve` on a copy of the fixture centre: yields (base URL, password)."""
    centre = _centre_module()
    data = centre.copy_centre(tmp_path_factory.getbasetemp(), tmp_path / "data")
    exe = Path(sys.executable).with_name("mibgscore")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "mibgscore.cli.main"]
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(cmd + ["serve", "--data-dir", str(data), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"web interface: (http://\S+)", line)
            url = m.group(1).rstrip("/") if m else None
        assert url, f"the server did not start; see {tmp_path / 'server.log'}"
        import urllib.request

        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/api/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        yield url, centre.PASSWORD
    finally:
        stop(proc, log)


def _text(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def test_models_page(centre_server, page, screenshot, tmp_path):
    url, password = centre_server
    page.goto(url + "/login")
    page.fill("#username", "root")
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/worklist")
    page.click("nav a[href='/admin/models']")
    page.wait_for_selector("#models-body tr[data-key=shipped]")
    assert _text(page, "#active-model").startswith("scoring with shipped")
    assert page.is_disabled("#rollback")
    assert "20 signed studies" in _text(page, "#signed-count")
    page.wait_for_selector("#model-studies-body tr[data-study]")
    assert page.locator("#model-studies-body button.rescore[disabled]").count() == 20

    # a refusal is one sentence
    page.fill("#adapt-name", "shipped")
    page.click("#adapt-signed")
    page.wait_for_selector("#model-message.error:has-text('shipped')")
    assert _text(page, "#model-message") == ("'shipped' names the shipped model; choose "
                                             "another name.")

    # adapt from the signed readings, with progress
    page.fill("#adapt-name", "centre-a")
    page.click("#adapt-signed")
    page.wait_for_selector("#adapt-progress:not([hidden])", timeout=10_000)
    page.wait_for_selector("#adapt-status:has-text('scoring')", timeout=60_000)
    page.wait_for_selector("#adapt-status.ok", timeout=TIMEOUT_MS)
    assert "centre-a adapted in" in _text(page, "#adapt-status")
    row = page.locator("#models-body tr[data-key='centre-a']")
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[2] == "20 (20)", cells
    icc_before, icc_after = float(cells[3]), float(cells[4])
    assert 0.5 < icc_before <= 1 and 0.5 < icc_after <= 1, cells
    assert re.fullmatch(r"\d+ %", cells[9]) and cells[13] == "report", cells

    # activate it: the page says so, and the roll-back names the shipped model
    row.locator("button.activate").click()
    page.wait_for_selector("#active-model:has-text('scoring with centre-a')")
    assert _text(page, "#rollback") == "Roll back to shipped"
    assert row.locator(".badge").inner_text() == "active"
    assert "activate centre-a · root" in _text(page, "#model-history")

    # a study imported now is scored by centre-a, and shows it
    new = _centre_module().simulate_files(tmp_path / "new", 1, seed=5300)[0][0]
    csrf = re.search(r'"csrf": "([^"]+)"', page.content()).group(1)
    r = page.request.post(url + "/api/studies/upload", headers={"X-CSRF-Token": csrf},
                          multipart={"files": {"name": new.name, "mimeType": "application/dicom",
                                               "buffer": new.read_bytes()}})
    assert r.ok, r.text()
    sid = r.json()["imported"][0]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # scored in the server's background thread
        rows = page.request.get(url + "/api/models/studies").json()
        if next(s for s in rows if s["id"] == sid)["model"]:
            break
        time.sleep(0.5)
    page.reload()
    top = page.locator("#model-studies-body tr[data-study]").first
    top.locator("td:has-text('centre-a')").wait_for(timeout=60_000)
    assert "active" in top.inner_text() and top.locator("button.rescore").is_enabled()
    page.wait_for_selector("#models-body tr[data-key='centre-a'] .badge")
    screenshot(page, "web_models.png")
    # the browser logs the refused request (422) of the name 'shipped'; nothing else
    assert [e for e in page.errors if "status of 422" not in e] == []
