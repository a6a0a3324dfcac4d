"""Steps the browser tests share: log in as the demo reader, wait until every study is scored,
stop a server started for a test."""

from __future__ import annotations

import subprocess

TIMEOUT_MS = 120_000


def login(page, url: str, password: str, user: str = "demo") -> None:
    """Log in through the login page and land on the worklist."""
    page.goto(url + "/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/worklist")


def wait_all_scored(page, n: int) -> list[str]:
    """Wait until the worklist shows ``n`` studies and none is new or scoring; their badges."""
    page.wait_for_selector(f"#worklist-body tr.study-row:nth-child({n})", timeout=TIMEOUT_MS)
    # the page's CSP forbids eval (wait_for_function): poll the DOM from Python instead
    badges: list[str] = []
    for _ in range(600):
        badges = page.locator("#worklist-body .badge").all_inner_texts()
        if len(badges) >= n and not {"new", "scoring"} & set(badges):
            return badges
        page.wait_for_timeout(200)
    raise AssertionError(f"studies still scoring: {badges}")


def stop(proc: subprocess.Popen, log) -> None:
    """Terminate a server process (killed after 10 s) and close its log."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
