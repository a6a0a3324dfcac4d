"""Folders, .zip archives, DICOMDIRs and mixed inputs: every study found, bad files reported."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pydicom.fileset import FileSet
from pydicom.uid import generate_uid

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "io"))
from nm_files import MARKER, nm_dataset, write, write_nm  # noqa: E402

from mibgscore.errors import InputError  # noqa: E402
from mibgscore.io import iter_scans, read_scan, read_scans  # noqa: E402


def _one_view_pair(folder: Path, study: str, series: str | None = None, stem: str = "") -> None:
    series = series or generate_uid()
    write_nm(folder / f"{stem}ant.dcm", views=("anterior",), study_uid=study, series_uid=series)
    write_nm(folder / f"{stem}post.dcm", views=("posterior",), study_uid=study, series_uid=series,
             instance_number=2)


def test_folder_with_two_files_per_view_pairs_by_study(tmp_path):
    s1, s2 = generate_uid(), generate_uid()
    _one_view_pair(tmp_path / "a", s1, stem="1_")
    _one_view_pair(tmp_path / "b", s2, stem="2_")
    scans = read_scans([tmp_path])
    assert sorted(s.study.study_uid for s in scans) == sorted([s1, s2])
    for scan in scans:
        assert set(scan.sources) == {"anterior", "posterior"}
        folder = Path(scan.sources["anterior"].file).parent
        assert Path(scan.sources["posterior"].file).parent == folder
        assert [int(c) for c in np.argwhere(scan.posterior == 1000)[:, 1]] == [MARKER[1]]


def test_zip_archive(tmp_path):
    study = generate_uid()
    _one_view_pair(tmp_path / "src", study)
    write_nm(tmp_path / "src" / "other.dcm")
    (tmp_path / "src" / "README.txt").write_text("not DICOM, skipped")
    archive = tmp_path / "studies.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted((tmp_path / "src").iterdir()):
            zf.write(f, f"export/{f.name}")
    items = list(iter_scans([archive]))
    assert not [i for i in items if isinstance(i, InputError)]
    assert len(items) == 2
    paired = next(i for i in items if i.study.study_uid == study)
    assert paired.sources["anterior"].file == f"{archive}!export/ant.dcm"
    with pytest.raises(InputError, match=r"studies.zip: holds 2 studies"):
        read_scan(archive)


def test_corrupt_zip_refused(tmp_path):
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    with pytest.raises(InputError, match=r"broken.zip: is not a readable zip archive"):
        read_scan(bad)


def test_empty_folder_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty: is an empty folder"):
        read_scan(tmp_path / "empty")


def test_dicomdir(tmp_path):
    study = generate_uid()
    series = generate_uid()
    fs = FileSet()
    fs.add(nm_dataset(("anterior",), study_uid=study, series_uid=series))
    fs.add(nm_dataset(("posterior",), study_uid=study, series_uid=series, instance_number=2))
    fs.add(nm_dataset())
    fs.write(tmp_path / "media")
    dicomdir = tmp_path / "media" / "DICOMDIR"
    scans = read_scans([dicomdir])
    assert len(scans) == 2
    one_view_files = next(s for s in scans if s.study.study_uid == study)
    assert one_view_files.sources["anterior"].file != one_view_files.sources["posterior"].file
    # The folder that holds the DICOMDIR gives the same studies.
    assert sorted(s.study.study_uid for s in read_scans([tmp_path / "media"])) == sorted(
        s.study.study_uid for s in scans)


def test_mixed_inputs_and_a_bad_file_in_the_middle(tmp_path):
    study = generate_uid()
    _one_view_pair(tmp_path / "f", study)
    multi = write_nm(tmp_path / "multi.dcm")
    junk = tmp_path / "f" / "junk.dcm"
    junk.write_bytes(b"garbage" * 40)
    archive = tmp_path / "z.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(write(nm_dataset(), tmp_path / "tmp.dcm"), "in_zip.dcm")
    items = list(iter_scans([tmp_path / "f", multi, archive]))
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(items) - len(errors) == 3
    assert len(errors) == 1 and errors[0].path.endswith("junk.dcm")
    assert str(errors[0]) == "junk.dcm: is not a DICOM file"


def test_dicomdir_listing_a_missing_file(tmp_path):
    fs = FileSet()
    fs.add(nm_dataset())
    fs.add(nm_dataset())
    fs.write(tmp_path / "media")
    victim = sorted(p for p in (tmp_path / "media").rglob("IM*"))[0]
    victim.unlink()
    items = list(iter_scans([tmp_path / "media" / "DICOMDIR"]))
    errors = [i for i in items if isinstance(i, InputError)]
    assert len(items) == 2 and len(errors) == 1
    assert "cannot be opened (No such file or directory)" in str(errors[0])
