"""`mibgscore validate` in a subprocess: --json, readers-only, templates, precise refusals."""

import csv
import json
import subprocess
import sys

import pytest

from mibgscore.validation.readers import simulated_reader, synthetic_cohort, write_wide_csv


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "mibgscore.cli.main", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readings")
    truth = synthetic_cohort(12, seed=8)
    auto = [{k: v for k, v in r.items() if k != "reader"}
            for r in simulated_reader(truth, name="x", seed=3)]
    write_wide_csv(auto, folder / "results.csv")
    readers = [{**r, "reader": "consensus"} for r in truth]
    readers += simulated_reader(truth, name="Dr B", seed=4)
    write_wide_csv(readers, folder / "readings.csv")
    return folder


def test_validate_json_prints_metrics_json(files, tmp_path):
    proc = _cli("validate", "--auto", files / "results.csv", "--reference",
                files / "readings.csv", "--out", tmp_path / "v", "--json", "--resamples", 100)
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    saved = json.loads((tmp_path / "v" / "metrics.json").read_text())
    assert printed == saved
    assert printed["n_studies"] == 24
    assert printed["reference"] == "consensus"  # a reader named consensus is the reference
    assert printed["readers"]["names"] == ["consensus", "Dr B"]
    assert (tmp_path / "v" / "report.html").is_file()
    assert (tmp_path / "v" / "per_study.csv").is_file()


def test_validate_without_auto_compares_the_readers(files, tmp_path):
    proc = _cli("validate", "--reference", files / "readings.csv", "--out", tmp_path / "r",
                "--resamples", 100)
    assert proc.returncode == 0, proc.stderr
    assert "24 studies: Dr B vs consensus" in proc.stdout
    assert "SIOPEN total ICC(A,1)" in proc.stdout
    assert "columns read as named" in proc.stderr


def test_bad_reference_is_refused_with_one_sentence(files, tmp_path):
    with (files / "readings.csv").open() as fh:
        rows = list(csv.reader(fh))
    rows[3][rows[0].index("spine")] = "9"
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    proc = _cli("validate", "--reference", bad, "--out", tmp_path / "x")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: bad.csv: row 4 gives spine grade 9 (column G), but "
                                   "SIOPEN grades run from 0 to 6.")


def test_templates_are_written(tmp_path):
    proc = _cli("validate", "--templates", tmp_path / "t")
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in (tmp_path / "t").iterdir())
    assert names == ["readings_long_template.csv", "readings_wide_template.csv",
                     "readings_wide_template.xlsx"]
