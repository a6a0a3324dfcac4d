"""The DICOM Comprehensive SR: round trip through bytes, sign-off flags, amendment, dciodvfy."""

import dataclasses
import datetime as dt
import io
import shutil
import subprocess

import pydicom
import pytest
from report_cases import make_nm_source

from mibgscore.anatomy.scheme import SIOPEN_KEYS
from mibgscore.report.sr import DEVICE_UID, SCHEME, reading_sr, sr_grades
from mibgscore.report.types import ReadingReport

SIGNED = dt.datetime(2025, 5, 18, 9, 30, tzinfo=dt.UTC)


def _reread(ds: pydicom.Dataset) -> pydicom.Dataset:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return pydicom.dcmread(io.BytesIO(buf.getvalue()))


def _dciodvfy_errors(ds: pydicom.Dataset, tmp_path) -> list[str]:
    path = tmp_path / f"{ds.SOPInstanceUID}.dcm"
    ds.save_as(path, enforce_file_format=True)
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("Error")]


@pytest.fixture(scope="module")
def signed(case):
    scan, result = case
    report = ReadingReport.from_scan(
        scan, result, siopen={**result.siopen, "pelvis": 5}, reader="Martin^Anne",
        signed_at=SIGNED, impression="Focal skull and tibial lesions; diffuse pelvis.",
        institution="Demo hospital")
    source = make_nm_source(scan)
    return report, source, reading_sr(report, source)


def test_grades_survive_bytes(signed):
    report, source, sr = signed
    back = _reread(sr)
    grades = sr_grades(back)
    assert grades["siopen"] == report.siopen
    assert grades["siopen"]["pelvis"] == 5 and len(grades["siopen"]) == len(SIOPEN_KEYS)
    assert grades["curie"] == report.curie
    assert grades["siopen_total"] == 7 and grades["curie_total"] == 4
    assert back.StudyInstanceUID == source.StudyInstanceUID
    assert back.PatientID == "PAT-0042"
    assert back.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator == SCHEME


def test_signed_reading_is_final_and_verified_by_the_reader(signed):
    _, _, sr = signed
    assert (sr.CompletionFlag, sr.VerificationFlag, sr.PreliminaryFlag) == (
        "COMPLETE", "VERIFIED", "FINAL")
    observer = sr.VerifyingObserverSequence[0]
    assert str(observer.VerifyingObserverName) == "Martin^Anne"
    assert observer.VerificationDateTime.startswith("20250518093000")
    text = str(sr)
    assert DEVICE_UID in text and "Martin^Anne" in text


def test_lesions_are_points_on_the_anterior_frame(signed):
    report, source, sr = signed
    points = []

    def walk(items):
        for item in items:
            if item.ValueType == "SCOORD":
                ref = item.ContentSequence[0].ReferencedSOPSequence[0]
                points.append((list(item.GraphicData), ref.ReferencedSOPInstanceUID,
                               ref.get("ReferencedFrameNumber")))
            if "ContentSequence" in item:
                walk(item.ContentSequence)

    walk(sr.ContentSequence)
    lesions = report.automatic_result.lesions
    assert len(points) == len(lesions) == 3
    for (xy, uid, frames), lesion in zip(points, lesions, strict=True):
        assert xy == [lesion.col + 0.5, lesion.row + 0.5]   # (column, row), pixel centres
        assert uid == source.SOPInstanceUID
        assert int(frames) == 1  # the two-frame NM: frame 1 is the anterior view


def test_draft_is_preliminary_and_unverified(case):
    scan, result = case
    sr = reading_sr(ReadingReport.from_scan(scan, result, reader="Martin^Anne"))
    assert (sr.VerificationFlag, sr.PreliminaryFlag) == ("UNVERIFIED", "PRELIMINARY")
    assert "VerifyingObserverSequence" not in sr


def test_amendment_lists_the_earlier_sr(signed):
    report, source, first = signed
    later = dataclasses.replace(report, siopen={**report.siopen, "spine": 1})
    second = reading_sr(later, source, previous=first)
    pred = second.PredecessorDocumentsSequence[0]
    assert pred.ReferencedSeriesSequence[0].ReferencedSOPSequence[0] \
        .ReferencedSOPInstanceUID == first.SOPInstanceUID
    assert second.SeriesInstanceUID == first.SeriesInstanceUID
    assert second.InstanceNumber == first.InstanceNumber + 1
    assert sr_grades(second)["siopen"]["spine"] == 1


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) absent")
def test_dciodvfy_finds_no_error(signed, case, tmp_path):
    scan, result = case
    _, _, sr = signed
    assert _dciodvfy_errors(sr, tmp_path) == []
    bare = reading_sr(ReadingReport.from_scan(scan, result))  # no source, no reader
    assert _dciodvfy_errors(bare, tmp_path) == []
