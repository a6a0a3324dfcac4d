"""`mibgscore batch` in a subprocess: kill -9 in the middle, then a re-run completes it."""

import csv
import os
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest

from mibgscore.validation.batch import score_cohort


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    from mibgscore.simulate import write_studies

    folder = tmp_path_factory.mktemp("sim")
    write_studies(folder, 3, seed=12)
    return folder


def test_kill_9_mid_batch_then_rerun_completes_without_rescoring(studies, tmp_path):
    out = tmp_path / "results.csv"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "mibgscore.cli.main", "batch", str(studies), "--out", str(out),
           "--workers", "2", "--quiet"]
    proc = subprocess.Popen(cmd, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if out.is_file() and len(_rows(out)) >= 1:
                break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 the batch and its workers
        proc.wait()
    assert out.is_file(), "the batch wrote nothing before the kill"
    assert 1 <= len(_rows(out)) <= 3
    finished = {r["key"] for r in _rows(out.with_name("results.csv.done"))}
    summary = score_cohort([studies], out, workers=1)
    rows = _rows(out)
    assert len(rows) == 3, rows
    assert len({r["study_uid"] for r in rows}) == 3, "a study was written twice"
    assert summary.skipped == len(finished), "finished studies must not be scored again"
    assert summary.scored == 3 - len(finished)


def test_cli_batch_prints_a_summary_and_refuses_a_foreign_results_file(studies, tmp_path):
    out = tmp_path / "results.csv"
    out.write_text("a,b\n1,2\n")
    proc = subprocess.run([sys.executable, "-m", "mibgscore.cli.main", "batch", str(studies),
                           "--out", str(out), "--quiet"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "results.csv: exists with other columns" in proc.stderr


def test_cli_batch_lesions_classic_reaches_the_workers(studies, tmp_path):
    import json

    from mibgscore.io.read import read_scan
    from mibgscore.pipeline import ScoreParams, score

    out = tmp_path / "results.csv"
    proc = subprocess.run([sys.executable, "-m", "mibgscore.cli.main", "batch", str(studies),
                           "--out", str(out), "--workers", "2", "--lesions", "classic",
                           "--json", "--quiet"], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["scored"], summary["failed"]) == (3, 0), summary
    case = studies / "case_000.dcm"
    row = next(r for r in _rows(out) if r["file"] == str(case))
    expected = score(read_scan(case), params=ScoreParams(lesion_method="classic"))
    assert int(row["siopen_total"]) == expected.siopen_total
    assert int(row["curie_total"]) == expected.curie_total
    bad = subprocess.run([sys.executable, "-m", "mibgscore.cli.main", "batch", str(studies),
                          "--out", str(tmp_path / "other.csv"), "--lesions", "bogus"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "Invalid value for '--lesions'" in bad.stderr


def test_cli_batch_segments_reaches_the_workers_and_is_recorded(studies, tmp_path):
    """`--segments` with humerus and femur split at 0.3 and the sacrum in the spine."""
    import json

    from mibgscore.io.read import read_scan
    from mibgscore.pipeline import score

    text = resources.files("mibgscore.anatomy.schemes").joinpath("siopen.toml").read_text()
    for a, b in (("to = 0.5", "to = 0.3"), ("from = 0.5", "from = 0.3"),
                 ('"hip_bone_left", "sacrum"]', '"hip_bone_left"]'),
                 ('"lumbar_spine"]', '"lumbar_spine", "sacrum"]'),
                 ('name = "SIOPEN"', 'name = "My centre"')):
        text = text.replace(a, b)
    table = tmp_path / "my_centre.toml"
    table.write_text(text, encoding="utf-8")
    out = tmp_path / "results.csv"
    proc = subprocess.run([sys.executable, "-m", "mibgscore.cli.main", "batch", str(studies),
                           "--out", str(out), "--workers", "2", "--segments", str(table),
                           "--json"], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["scored"] == 3
    changed = 0
    for row in _rows(out):
        scan = read_scan(row["file"])
        expected = score(scan, siopen_scheme=table)
        assert {k: int(v) for k, v in row.items() if k in expected.siopen} == expected.siopen
        assert (row["siopen_scheme"], row["model_name"]) == ("My centre", expected.model.name)
        changed += expected.siopen != score(scan).siopen
    assert changed, "the table changes no grade of these studies: a weak test"
    bad = table.with_name("bad.toml")
    bad.write_text(text.replace('"lumbar_spine", "sacrum"]', '"lumbar_spine"]'))
    proc = subprocess.run([sys.executable, "-m", "mibgscore.cli.main", "batch", str(studies),
                           "--out", str(tmp_path / "b.csv"), "--segments", str(bad),
                           "--quiet"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "bad.toml: bone sacrum belongs to no segment" in proc.stderr
