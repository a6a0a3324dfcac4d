"""The command line under hostile input (issue 14): every refusal exits 2 with one line per
file naming it, no traceback, no abort; `batch` records a file that crashes the decoder in
failures.csv and leaves no worker running after `kill -9`; the crash log is private."""

from __future__ import annotations

import csv
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "unit" / "io"))
import hostile_files as hostile  # noqa: E402


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("mibgscore")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mibgscore.cli.main"]


def _run(args: list[str], tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, MIBGSCORE_LOG_DIR=str(tmp_path / "logs"))
    return subprocess.run(_cli() + args, capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=tmp_path)


def test_info_and_score_refuse_each_hostile_file_in_one_line(tmp_path):
    files = [hostile.j2k_garbage(tmp_path / "j2k_garbage.dcm"),
             hostile.rle_bad_header(tmp_path / "rle_bad_header.dcm"),
             hostile.compressed_rows_65535(tmp_path / "rle_rows65535.dcm"),
             hostile.frames(tmp_path / "frames_max.dcm", 2_147_483_647),
             hostile.spacing(tmp_path / "spacing_tiny.dcm", "1e-308"),
             hostile.spacing(tmp_path / "spacing_1e-9.dcm", "1e-9")]
    for command in ("info", "score"):
        r = _run([command, *map(str, files)], tmp_path)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2, (command, r.returncode, r.stderr[-2000:])
        assert "Traceback" not in r.stderr + r.stdout
        assert len(lines) == len(files) + 1, (command, lines)  # one per file, one summary
        named = sorted(line.split(": ")[1] for line in lines[:-1])
        assert named == sorted(p.name for p in files), (command, lines)
        assert f"{len(files)} inputs could not be" in lines[-1]


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    pairs = [tuple(map(int, line.split())) for line in out.splitlines() if line.strip()]
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, pp in pairs if pp in frontier]
        found += kids
        frontier = kids
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cohort")
    r = subprocess.run(_cli() + ["simulate", str(folder), "--n", "4", "--seed", "21"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    hostile.j2k_garbage(folder / "j2k_garbage.dcm")
    return folder


def test_batch_records_a_decoder_crash_and_its_workers_die_with_it(cohort, tmp_path):
    out = tmp_path / "run" / "results.csv"
    r = _run(["batch", str(cohort), "--out", str(out), "--workers", "1"], tmp_path, 600)
    assert "Traceback" not in r.stderr
    with (out.parent / "failures.csv").open() as fh:
        failures = list(csv.DictReader(fh))
    assert [Path(f["file"]).name for f in failures] == ["j2k_garbage.dcm"], failures
    assert "JPEG 2000" in failures[0]["reason"]

    env = dict(os.environ, MIBGSCORE_LOG_DIR=str(tmp_path / "logs"))
    proc = subprocess.Popen(_cli() + ["batch", str(cohort), "--out",
                                      str(tmp_path / "killed" / "results.csv"),
                                      "--workers", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 3:
        time.sleep(0.2)
        workers = _descendants(proc.pid)
    assert len(workers) >= 3, workers  # the fork server and two workers at least
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    left = [p for p in workers if _alive(p)]
    for p in left:  # never leave them to the next test
        os.kill(p, signal.SIGKILL)
    assert not left, f"{len(left)} batch processes outlived kill -9 of their parent"


def test_the_crash_log_is_private_to_the_user(tmp_path, monkeypatch):
    from mibgscore.errors import write_crash_log

    monkeypatch.delenv("MIBGSCORE_LOG_DIR", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    try:
        raise RuntimeError("a bug")
    except RuntimeError as exc:
        path = write_crash_log(exc)
    assert path == tmp_path / "state" / "mibgscore" / "mibgscore-crash.log"
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "RuntimeError: a bug" in path.read_text()
