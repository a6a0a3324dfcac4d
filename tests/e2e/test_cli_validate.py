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


def test_validate_finds_the_overlays_that_score_wrote(tmp_path):
    """`score --overlay DIR` and `validate --overlay DIR` share one naming rule."""
    from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
    from mibgscore.simulate import write_studies

    write_studies(tmp_path / "sim", 2, seed=13)
    proc = _cli("score", tmp_path / "sim", "--json", "--overlay", tmp_path / "ov")
    assert proc.returncode == 0, proc.stderr
    scored = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert len(scored) == 2 and len(list((tmp_path / "ov").glob("*.png"))) == 2
    auto, readings = [], []
    for d in scored:
        row = {"study_uid": d["study_uid"], "file": d["file"], **d["siopen"]["segments"],
               **{f"curie_{k}": v for k, v in d["curie"]["segments"].items()}}
        auto.append(row)
        readings.append({**row, "reader": "Dr A", "skull": (row["skull"] + 1) % 7})
    assert set(SIOPEN_KEYS) <= set(auto[0]) and f"curie_{CURIE_KEYS[0]}" in auto[0]
    write_wide_csv(auto, tmp_path / "results.csv")
    write_wide_csv(readings, tmp_path / "readings.csv")
    proc = _cli("validate", "--auto", tmp_path / "results.csv", "--reference",
                tmp_path / "readings.csv", "--overlay", tmp_path / "ov", "--out", tmp_path / "v",
                "--resamples", 100)
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "v" / "report.html").read_text()
    assert html.count('alt="overlay of the automatic reading"') == 2
    assert not (tmp_path / "v" / "overlays").exists(), "validate drew what score had written"


def test_validate_segments_is_recorded(files, tmp_path):
    from importlib import resources

    text = resources.files("mibgscore.anatomy.schemes").joinpath("siopen.toml").read_text()
    table = tmp_path / "my_centre.toml"
    table.write_text(text.replace('name = "SIOPEN"', 'name = "My centre"', 1), encoding="utf-8")
    proc = _cli("validate", "--auto", files / "results.csv", "--reference",
                files / "readings.csv", "--out", tmp_path / "v", "--json", "--resamples", 100,
                "--segments", table)
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert printed["schemes"] == {"siopen": "My centre", "curie": "Curie"}
    assert printed["models"] == []  # these results do not say which model scored them
    assert "segment tables My centre and Curie" in (tmp_path / "v" / "report.html").read_text()
