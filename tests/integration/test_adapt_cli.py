"""`mibgscore adapt` end to end on a small centre, `--model` on score and batch, and every
refusal (one sentence, exit 2)."""

import csv
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mibgscore.adapt.model import load_model, write_model
from mibgscore.errors import ModelError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from centre import write_centre  # noqa: E402


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "mibgscore.cli.main", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def _refused(proc, *words):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [x for x in proc.stderr.splitlines() if x.strip() and "━" not in x]
    assert len(lines) == 1, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def centre(tmp_path_factory):
    folder = tmp_path_factory.mktemp("centre")
    readings = write_centre(folder / "scans", 22, seed=75_000_000, patients=18)
    return folder, readings


@pytest.fixture(scope="module")
def model(centre):
    folder, readings = centre
    out = folder / "model"
    proc = _cli("adapt", folder / "scans", "--reference", readings, "--out", out,
                "--folds", 3, "--seed", 1, "--name", "Centre test")
    assert proc.returncode == 0, proc.stderr
    assert "22 studies (18 patients)" in proc.stdout
    return out


def test_model_folder_holds_figures_report_and_manifest(model, centre):
    _, readings = centre
    metrics = json.loads((model / "metrics.json").read_text())
    for side in ("before", "after"):
        block = metrics["cross_validated"][side]
        assert 0.0 < block["icc_a1"] <= 1.0 and block["mae"] >= 0.0
    assert [c["n_train"] for c in metrics["learning_curve"]][-1] == "all"
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["software_version"] and manifest["seed"] == 1
    assert manifest["base_model"]["sha256"] == metrics["base_model"]["sha256"]
    assert manifest["readings"]["sha256"] == hashlib.sha256(readings.read_bytes()).hexdigest()
    uids = {r["study_uid"] for r in csv.DictReader(readings.open())}
    assert len(manifest["training_studies"]) == 22
    assert not uids & set(manifest["training_studies"])  # hashed, never in clear
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in manifest["training_studies"])
    assert set(manifest["files"]) >= {"calibration.json", "siopen.toml", "metrics.json",
                                      "report.html"}
    html = (model / "report.html").read_text()
    assert "shipped" in html and "adapted" in html and "Learning curve" in html
    assert load_model(model).name == "Centre test"


def test_score_and_batch_name_the_adapted_model(model, centre, tmp_path):
    folder, _ = centre
    scan = sorted((folder / "scans").glob("case_*.dcm"))[0]
    proc = _cli("score", scan, "--json", "--model", model)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[0])
    manifest = json.loads((model / "manifest.json").read_text())
    assert result["model"] == manifest["model"]
    assert result["model"]["name"] == "Centre test"
    proc = _cli("batch", scan, "--out", tmp_path / "results.csv", "--model", model, "-q",
                "--workers", 1)
    assert proc.returncode == 0, proc.stderr
    (row,) = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert row["model_sha256"] == manifest["model"]["sha256"]
    assert row["model_name"] == "Centre test"


def test_a_changed_or_foreign_model_is_refused(model, centre, tmp_path):
    folder, _ = centre
    scan = sorted((folder / "scans").glob("case_*.dcm"))[0]
    import shutil

    tampered = tmp_path / "tampered"
    shutil.copytree(model, tampered)
    cal = tampered / "calibration.json"
    cal.write_text(cal.read_text().replace('"name"', '"name" ', 1))
    _refused(_cli("score", scan, "--model", tampered), "calibration.json", "hash mismatch")
    other = tmp_path / "other"
    shutil.copytree(model, other)
    m = json.loads((other / "manifest.json").read_text())
    m["software_version"] = "0.0.1"
    (other / "manifest.json").write_text(json.dumps(m))
    _refused(_cli("score", scan, "--model", other), "mibgscore 0.0.1")
    _refused(_cli("score", scan, "--model", tmp_path), "not a model folder")


def _readings(src: Path, dst: Path, edit) -> Path:
    rows = list(csv.DictReader(src.open()))
    rows = edit(rows)
    with dst.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return dst


def test_bad_readings_are_refused_in_one_sentence(centre, tmp_path):
    folder, readings = centre
    scans = sorted((folder / "scans").glob("case_*.dcm"))[:3]

    def other_uids(rows):
        return [{**r, "study_uid": r["study_uid"] + ".9", "patient_id": "X"} for r in rows]

    def gaps(rows):
        rows[0]["skull"] = ""
        return rows

    def curie_only(rows):
        return [{"study_uid": r["study_uid"], "reader": r["reader"], "curie_skull": 1}
                for r in rows]

    out = tmp_path / "m"
    _refused(_cli("adapt", *scans, "--reference",
                  _readings(readings, tmp_path / "a.csv", other_uids), "--out", out),
             "none of the readings matches")
    _refused(_cli("adapt", *scans, "--reference",
                  _readings(readings, tmp_path / "b.csv", gaps), "--out", out),
             "no grade for skull")
    _refused(_cli("adapt", *scans, "--reference",
                  _readings(readings, tmp_path / "c.csv", curie_only), "--out", out))
    _refused(_cli("adapt", *scans, "--reference", readings, "--out", out),
             "3 studies are matched", "at least 20")
    assert not out.exists()


def test_a_failed_write_leaves_no_half_written_model(tmp_path, model):
    def broken(path):
        raise RuntimeError("disk full")

    target = tmp_path / "new"
    with pytest.raises(RuntimeError):
        write_model(target, {"calibration.json": broken}, {})
    assert not target.exists() and not list(tmp_path.iterdir())
    import shutil

    kept = tmp_path / "kept"
    shutil.copytree(model, kept)
    before = (kept / "manifest.json").read_bytes()
    with pytest.raises(RuntimeError):
        write_model(kept, {"calibration.json": broken}, {})
    assert (kept / "manifest.json").read_bytes() == before
    load_model(kept)
    with pytest.raises(ModelError):
        write_model(tmp_path / "kept" / "siopen.toml", {}, {})


def test_the_pacs_scorer_takes_the_adapted_model(model, centre):
    from mibgscore.cli.pacs import model_scorer
    from mibgscore.io.read import read_scan

    folder, _ = centre
    scan = read_scan(sorted((folder / "scans").glob("case_*.dcm"))[0])
    result = model_scorer("auto", model)(scan)
    assert result.model.name == "Centre test"
    assert result.schemes["siopen"] == load_model(model).siopen_scheme.name
