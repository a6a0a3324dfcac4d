"""Writing simulated studies: NM files, truth tables, label maps, the CLI."""

import csv
import hashlib
import shutil
import subprocess
import sys

import numpy as np
import pydicom
import pytest

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.io.write import write_nm
from mibgscore.simulate import simulate_study, write_studies
from mibgscore.simulate.study import child_seed


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    paths = write_studies(out, n=2, seed=3)
    return out, paths


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_write_studies_files_and_truth(written):
    out, paths = written
    assert [p.name for p in paths] == ["case_000.dcm", "case_001.dcm"]
    with (out / "truth.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    assert header[:14] == ["file", *SIOPEN_KEYS, "siopen_total"]
    assert header[14:25] == [*[f"curie_{k}" for k in CURIE_KEYS], "curie_total"]
    for i, row in enumerate(rows):
        truth = simulate_study(child_seed(3, i)).truth
        assert row["file"] == f"case_{i:03d}.dcm"
        assert [int(row[k]) for k in SIOPEN_KEYS] == list(truth.siopen.values())
        assert int(row["siopen_total"]) == truth.siopen_total
        assert int(row["curie_total"]) == truth.curie_total
        labels = np.load(out / "labels" / f"case_{i:03d}.npz")
        assert set(labels.files) >= {"bone_labels", "bone_position", "siopen_map", "curie_map"}
        assert np.array_equal(labels["bone_labels"], truth.bone_labels)
        assert labels["siopen_map"].max() <= 12 and labels["curie_map"].max() <= 10
    with (out / "lesions.csv").open() as fh:
        lesions = list(csv.DictReader(fh))
    assert all(x["kind"] in ("focal", "diffuse", "soft_tissue") for x in lesions)


def test_same_seed_same_bytes(written, tmp_path):
    out, _ = written
    write_studies(tmp_path, n=2, seed=3)
    assert _digest(tmp_path) == _digest(out)


def test_nm_file_attributes(written):
    out, paths = written
    ds = pydicom.dcmread(paths[0])
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.20"
    assert ds.NumberOfFrames == 2 and list(ds.ImageType)[2] == "WHOLE BODY"
    assert [e.CodeValue for d in ds.DetectorInformationSequence
            for e in d.ViewCodeSequence] == ["399321004", "399001007"]
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    assert rp.RadiopharmaceuticalCodeSequence[0].CodeValue == "395787009"
    assert rp.RadionuclideCodeSequence[0].CodeValue == "21572004"
    study = simulate_study(child_seed(3, 0))
    frames = ds.pixel_array
    assert frames.dtype == np.uint16
    assert np.array_equal(frames[0], study.scan.anterior.astype(np.uint16))
    # the posterior frame is stored as acquired, i.e. un-mirrored
    assert np.array_equal(frames[1], study.scan.posterior[:, ::-1].astype(np.uint16))


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) absent")
def test_dciodvfy_finds_no_error(written, tmp_path):
    _, paths = written
    big = simulate_study(4)  # also a file from a plain Scan built elsewhere
    write_nm(big.scan, tmp_path / "one.dcm")
    for path in [*paths, tmp_path / "one.dcm"]:
        res = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
        errors = [x for x in (res.stdout + res.stderr).splitlines() if x.startswith("Error")]
        assert not errors, "\n".join(errors)


def test_cli_simulate(tmp_path):
    res = subprocess.run([sys.executable, "-m", "mibgscore.cli.main", "simulate",
                          str(tmp_path / "out"), "--n", "1", "--seed", "9",
                          "--category", "limited"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "out" / "case_000.dcm").is_file()
    with (tmp_path / "out" / "truth.csv").open() as fh:
        row = next(csv.DictReader(fh))
    assert 1 <= int(row["siopen_total"]) <= 3
    bad = subprocess.run([sys.executable, "-m", "mibgscore.cli.main", "simulate",
                          str(tmp_path / "x"), "--category", "severe"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "severe" in bad.stderr
