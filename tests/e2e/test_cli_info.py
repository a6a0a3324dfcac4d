"""`mibgscore info` in a subprocess: good and bad inputs, text and JSON Lines, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "io"))
from nm_files import write_nm  # noqa: E402

EXE = ROOT / ".venv" / "bin" / "mibgscore"


def _info(*args, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "mibgscore.cli.main"]
    return subprocess.run([*cmd, "info", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env={"MIBGSCORE_LOG_DIR": str(cwd),
                                                     "PATH": "/usr/bin:/bin"})


@pytest.fixture()
def good(tmp_path) -> Path:
    return write_nm(tmp_path / "wb.dcm", patient_age="004Y")


def test_text_output_on_a_good_file(tmp_path, good):
    out = _info(good, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "anterior   frame 1 of wb.dcm" in out.stdout
    assert "View Code Sequence (399001007, SCT)" in out.stdout
    assert "48 x 128 (cols x rows), pixel spacing 2.4 x 2.4 mm" in out.stdout
    assert "123I-MIBG [mibg]" in out.stdout
    assert "age 4 y" in out.stdout
    assert out.stderr == ""


def test_json_lines(tmp_path, good):
    second = write_nm(tmp_path / "wb2.dcm")
    out = _info("--json", good, second, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(records) == 2
    assert {r["views"]["anterior"]["frame"] for r in records} == {0}
    assert all(r["spacing_mm"] == [2.4, 2.4] for r in records)


def test_bad_inputs_reported_and_the_others_continue(tmp_path, good):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    cut = write_nm(tmp_path / "cut.dcm")
    cut.write_bytes(cut.read_bytes()[:-4000])
    broken_zip = tmp_path / "broken.zip"
    broken_zip.write_bytes(b"PK\x03\x04nonsense")
    spot = write_nm(tmp_path / "spot.dcm", image_type=("ORIGINAL", "PRIMARY", "STATIC"))
    single = write_nm(tmp_path / "one.dcm", views=("anterior",))
    out = _info(text, cut, good, broken_zip, spot, single, tmp_path / "missing.dcm",
                cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout
    assert "anterior   frame 1 of wb.dcm" in out.stdout
    err = out.stderr
    assert "error: notes.txt: is not a DICOM file" in err
    assert "error: cut.dcm: has truncated pixel data" in err
    assert "error: broken.zip: is not a readable zip archive" in err
    assert "spot views are not supported yet" in err
    assert "error: one.dcm: only the anterior view was found" in err
    assert "error: missing.dcm: does not exist" in err
    assert "6 inputs could not be read (1 study read)" in err
    assert "internal error" not in err


def test_bone_scan_needs_force_and_single_view(tmp_path):
    path = get_testdata_file("JPEG-LL.dcm")
    refused = _info(path, cwd=tmp_path)
    assert refused.returncode == 2
    assert "99mTc bone scan" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    read = _info("--force", "--single-view", "--json", path, cwd=tmp_path)
    assert read.returncode == 0, read.stderr
    record = json.loads(read.stdout)
    assert record["views"]["anterior"]["counts"] == 3_596_452
    assert record["tracer"]["status"] == "other"
    assert record["matrix"] == {"rows": 1024, "cols": 256}
