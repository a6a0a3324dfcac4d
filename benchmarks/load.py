"""Load on the web server: N clients for S seconds (worklist, a study's reading, both views,
health), one of them editing grades; errors, latency per kind of request, and whether every
accepted edit was kept.

    .venv/bin/python benchmarks/load.py --clients 50 --seconds 60

starts `mibgscore serve --demo` on a free port in a fresh data folder (the demo's five
scored studies), logs every client in (retrying on 503/429 as told by Retry-After), runs
the load, prints a Markdown table. ``run_load`` is the same load against any server (the
test suite runs a short one).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz import write_section  # noqa: E402  (one way of writing a page's section)

KINDS = ("worklist", "study", "view", "health", "edit")


@dataclass
class LoadResult:
    """Latencies (ms) per kind of request, errors, and the editing client's outcome."""

    clients: int
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    edits_accepted: int = 0
    edits_conflicts: int = 0
    edits_lost: int = 0

    def p(self, kind: str, q: float) -> float:
        values = self.latencies.get(kind) or [float("nan")]
        return float(np.percentile(values, q))

    def table(self) -> str:
        lines = ["| request | count | p50 | p95 | max |", "|---|---|---|---|---|"]
        for kind in KINDS:
            v = self.latencies.get(kind) or []
            if v:
                lines.append(f"| {kind} | {len(v):,} | {self.p(kind, 50):.0f} ms | "
                             f"{self.p(kind, 95):.0f} ms | {max(v):.0f} ms |")
        lines += ["", f"{self.clients} clients for {self.seconds:g} s: "
                      f"{sum(len(v) for v in self.latencies.values()):,} requests, "
                      f"{len(self.errors)} errors; edits accepted {self.edits_accepted}, "
                      f"conflicts {self.edits_conflicts}, lost {self.edits_lost}."]
        if self.errors:
            lines.append("First errors: " + "; ".join(self.errors[:5]))
        return "\n".join(lines)


def login(url: str, username: str, password: str, deadline: float) -> httpx.Client:
    """A logged-in client (retrying while the server says it is busy or throttling)."""
    c = httpx.Client(base_url=url, timeout=60, headers={"Accept-Encoding": "gzip"})
    while True:
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = c.post("/login", data={"username": username, "password": password,
                                   "csrf_token": token})
        if r.status_code == 303:
            c.headers["X-CSRF-Token"] = c.get("/api/me").json()["csrf"]
            return c
        if r.status_code not in (429, 503) or time.monotonic() > deadline:
            raise RuntimeError(f"login failed: {r.status_code} {r.text[:100]}")
        time.sleep(float(r.headers.get("Retry-After", "1")))


def _timed(result: LoadResult, kind: str, fn) -> httpx.Response | None:
    t0 = time.perf_counter()
    try:
        r = fn()
    except httpx.HTTPError as exc:
        result.errors.append(f"{kind}: {type(exc).__name__}")
        return None
    result.latencies[kind].append(1000 * (time.perf_counter() - t0))
    if r.status_code >= 400 and not (kind == "edit" and r.status_code == 409):
        result.errors.append(f"{kind}: HTTP {r.status_code}")
    return r


def run_load(url: str, username: str, password: str, *, clients: int = 50,
             seconds: float = 60.0) -> LoadResult:
    """``clients`` logged-in clients for ``seconds``; the first edits grades of one study."""
    result = LoadResult(clients, seconds)
    deadline = time.monotonic() + 120
    sessions = [login(url, username, password, deadline) for _ in range(clients)]
    studies = [s for s in sessions[0].get("/api/studies").json() if s.get("status") in
               ("scored", "in_review", "new", "scoring")]
    if not studies:
        raise RuntimeError("no study to read")
    ids = [s["id"] for s in studies]
    edited = ids[0]
    stop = threading.Event()
    lock = threading.Lock()

    def reader(c: httpx.Client, i: int) -> None:
        n = 0
        while not stop.is_set():
            sid = ids[(i + n) % len(ids)]
            n += 1
            _timed(result, "worklist", lambda: c.get("/api/studies"))
            _timed(result, "study", lambda sid=sid: c.get(f"/api/studies/{sid}"))
            for view in ("anterior", "posterior"):
                _timed(result, "view", lambda sid=sid, view=view: c.get(
                    f"/api/studies/{sid}/views/{view}?dtype=uint16"))
            _timed(result, "health", lambda: c.get("/api/health"))

    def editor(c: httpx.Client) -> None:
        grade, last = 0, None
        while not stop.is_set():
            version = c.get(f"/api/studies/{edited}").json()["version"]
            grade = (grade % 6) + 1
            body = {"scheme": "siopen", "segment": "skull", "grade": grade, "version": version}
            r = _timed(result, "edit", lambda body=body: c.put(
                f"/api/studies/{edited}/grades", json=body))
            if r is not None and r.status_code == 200:
                with lock:
                    result.edits_accepted += 1
                last = grade
            elif r is not None and r.status_code == 409:
                result.edits_conflicts += 1
            time.sleep(0.05)
        final = c.get(f"/api/studies/{edited}").json()
        kept = (final.get("siopen") or final.get("final", {}).get("siopen") or {}).get("skull")
        if last is not None and kept is not None and kept != last:
            result.edits_lost += 1

    threads = [threading.Thread(target=editor, args=(sessions[0],))]
    threads += [threading.Thread(target=reader, args=(c, i)) for i, c in
                enumerate(sessions[1:], start=1)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(120)
    for c in sessions:
        c.close()
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--out", type=Path, help="Markdown page to write the table into (its "
                    "section between <!-- load N clients --> markers)")
    args = ap.parse_args(argv)
    exe = Path(sys.executable).with_name("mibgscore")
    with tempfile.TemporaryDirectory() as data:
        port = _free_port()
        proc = subprocess.Popen([str(exe), "serve", "--demo", "--data-dir", data, "--port",
                                 str(port)], stdout=subprocess.PIPE, text=True,
                                stderr=subprocess.DEVNULL)
        try:
            password = None
            for line in proc.stdout:
                m = re.search(r"password '([^']+)'", line)
                if m:
                    password = m.group(1)
                    break
            url = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    with urllib.request.urlopen(url + "/api/health", timeout=2) as r:
                        if r.status == 200 and b'"scoring_idle":true' in r.read():
                            break
                except OSError:
                    pass
                time.sleep(0.5)
            result = run_load(url, "demo", password or "", clients=args.clients,
                              seconds=args.seconds)
        finally:
            proc.terminate()
            proc.wait(30)
    shown = " ".join(["benchmarks/load.py", *(argv if argv is not None else sys.argv[1:])])
    text = (f"```\n.venv/bin/python {shown}\n```\n\n{result.table()}\n\nLoad average "
            f"of the machine at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
            f"({os.cpu_count()} cores; the clients run on the same machine).")
    print(text)
    if args.out:
        write_section(args.out, f"load {args.clients} clients", text)
    return 0 if not result.errors and not result.edits_lost else 1


if __name__ == "__main__":
    sys.exit(main())
