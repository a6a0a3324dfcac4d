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


def _items(items, name: str):
    """Content items (depth first) whose concept name has code value ``name``."""
    for item in items:
        if item.ConceptNameCodeSequence[0].CodeValue == name:
            yield item
        if "ContentSequence" in item:
            yield from _items(item.ContentSequence, name)


def test_finding_sites_are_the_segment_tables(signed):
    from mibgscore.anatomy.scheme import load_scheme
    from mibgscore.report.sr import _groups

    _, _, sr = signed
    siopen = load_scheme("siopen")
    seen = 0
    for group in _groups(_reread(sr)):
        ident = next(_items(group.ContentSequence, "112039")).TextValue
        sites = [i for i in group.ContentSequence
                 if i.ConceptNameCodeSequence[0].CodeValue == "363698007"]
        if ident.startswith("SIOPEN "):
            expected = siopen.segment(ident.split()[1]).site
            (site,) = sites
            assert site.ConceptCodeSequence[0].CodeValue == expected.location.value
            modifiers = {i.ConceptNameCodeSequence[0].CodeValue: i.ConceptCodeSequence[0]
                         .CodeValue for i in site.get("ContentSequence", [])}
            want = {}
            if expected.laterality is not None:
                want["272741003"] = expected.laterality.value
            if expected.modifier is not None:
                want["106233006"] = expected.modifier.value
            assert modifiers == want, ident
            seen += 1
        elif ident.startswith("Curie "):
            assert sites == []  # the Curie table gives no finding site
    assert seen == len(SIOPEN_KEYS)
    left_distal = siopen.segment("left_lower_limb_distal").site
    assert (left_distal.location.value, left_distal.laterality.value,
            left_distal.modifier.value) == ("61685007", "7771000", "46053002")


def test_the_device_observer_is_the_model_that_scored(case):
    from mibgscore.result import ModelInfo

    scan, result = case
    scored = dataclasses.replace(result, model=ModelInfo("learned", "3", "ab12" * 16))
    sr = _reread(reading_sr(ReadingReport.from_scan(scan, scored)))
    (model_name,) = _items(sr.ContentSequence, "121015")  # Device Observer Model Name
    assert model_name.TextValue == "learned 3"
    parameters = {i.TextValue for i in _items(sr.ContentSequence, "111002")}
    assert parameters == {"model=learned", "model_version=3", f"model_sha256={'ab12' * 16}"}
    bare = reading_sr(ReadingReport.from_scan(scan, result))  # model not known: the software
    assert [i.TextValue for i in _items(bare.ContentSequence, "121015")] == ["mibgscore"]
    assert list(_items(bare.ContentSequence, "111002")) == []


VALIDATOR_LIMIT = ("Unrecognized defined term <99MIBGS> for value 1 of attribute "
                   "<Coding Scheme Designator>")
"""dicom3tools knows only its built-in coding schemes: a private ``99`` scheme, declared in
Coding Scheme Identification Sequence, is "unrecognized" whatever the SR says."""


def _dciodvfy_warnings(ds: pydicom.Dataset, tmp_path) -> list[str]:
    path = tmp_path / f"w-{ds.SOPInstanceUID}.dcm"
    ds.save_as(path, enforce_file_format=True)
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (out.stdout + out.stderr).splitlines()
            if line.startswith("Warning") and VALIDATOR_LIMIT not in line]


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) absent")
@pytest.mark.parametrize("reader, pn", [("Dr Anne Martin", "Martin^Anne^^Dr"),
                                        ("alice", "alice^"), ("Martin^Anne", "Martin^Anne")])
def test_signed_sr_names_the_reader_in_the_current_pn_form(case, tmp_path, reader, pn):
    scan, result = case
    report = ReadingReport.from_scan(scan, result, reader=reader, signed_at=SIGNED)
    sr = reading_sr(report, make_nm_source(scan))
    assert str(sr.VerifyingObserverSequence[0].VerifyingObserverName) == pn
    assert pn in str(sr)  # the person observer too
    assert _dciodvfy_warnings(sr, tmp_path) == []
    assert _dciodvfy_errors(sr, tmp_path) == []


def test_every_private_code_is_declared(signed):
    _, _, sr = signed
    used = {el.value for el in sr.iterall() if el.keyword == "CodingSchemeDesignator"}
    declared = {item.CodingSchemeDesignator for item in sr.CodingSchemeIdentificationSequence}
    assert SCHEME in used and {d for d in used if d.startswith("99")} <= declared
    item = sr.CodingSchemeIdentificationSequence[0]
    assert item.CodingSchemeName and item.CodingSchemeResponsibleOrganization
