"""Frame mapping, view text, tracer and patient rules of the reader, on in-memory headers."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from mibgscore.io._attributes import (
    _age_years,
    body_rows,
    estimate_spacing,
    height_from_age_cm,
    spacing_of,
    tracer_of,
)
from mibgscore.io._views import as_list, frames_of, name_views, text_view
from mibgscore.io.types import Patient


def test_as_list_normalises_vm_1():
    assert as_list(1) == [1]
    assert as_list([1, 2]) == [1, 2]
    assert as_list("ANT") == ["ANT"]
    assert as_list(None) == []


def test_frames_follow_the_vectors_last_varying_fastest():
    ds = Dataset()
    ds.NumberOfFrames = 4
    ds.FrameIncrementPointer = [0x00540010, 0x00540020]
    ds.EnergyWindowVector = [1, 1, 2, 2]
    ds.DetectorVector = [1, 2, 1, 2]
    frames, notes = frames_of(ds)
    assert [(f.window, f.detector) for f in frames] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert notes == []


def test_single_frame_with_bare_vectors():
    ds = Dataset()
    ds.NumberOfFrames = 1
    ds.FrameIncrementPointer = 0x00540010
    ds.EnergyWindowVector = 1
    ds.DetectorVector = 2
    frames, _ = frames_of(ds)
    assert [(f.index, f.window, f.detector) for f in frames] == [(0, 1, 2)]


def test_no_vectors_frames_taken_in_order():
    ds = Dataset()
    ds.NumberOfFrames = 2
    frames, notes = frames_of(ds)
    assert [(f.window, f.detector) for f in frames] == [(1, 1), (1, 2)]
    assert "file order" in notes[0]


def test_one_detector_twice_becomes_two_positions():
    ds = Dataset()
    ds.NumberOfFrames = 2
    ds.EnergyWindowVector = [1, 1]
    ds.DetectorVector = [1, 1]
    frames, notes = frames_of(ds)
    assert [f.detector for f in frames] == [1, 2]
    assert "file order" in notes[0]


@pytest.mark.parametrize("text, view", [
    ("WB ANT", "anterior"), ("ANTERIOR", "anterior"), ("wb_ant_10cm", "anterior"),
    ("Post.", "posterior"), ("WB POSTERIOR", "posterior"), ("ANT/POST", None),
    ("WHOLE BODY", None), ("POSTINJECTION ANTIBODY", None), ("", None), (None, None),
])
def test_text_view(text, view):
    assert text_view(text) == view


def test_view_codes_in_detector_items():
    ds = Dataset()
    items = []
    for value in ("G-5216", "G-5215"):  # posterior on detector 1, anterior on detector 2
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator = value, "SRT"
        item = Dataset()
        item.ViewCodeSequence = Sequence([code])
        items.append(item)
    ds.DetectorInformationSequence = Sequence(items)
    ds.NumberOfFrames = 2
    frames, _ = frames_of(ds)
    assert [g.view for g in name_views(ds, frames)] == ["posterior", "anterior"]


def _rp(**kw) -> Dataset:
    ds = Dataset()
    item = Dataset()
    for k, v in kw.items():
        setattr(item, k, v)
    ds.RadiopharmaceuticalInformationSequence = Sequence([item])
    return ds


def test_tracer_rules():
    assert tracer_of(_rp(Radiopharmaceutical="123I-mIBG")).status == "mibg"
    assert tracer_of(_rp(Radiopharmaceutical="Iobenguane")).status == "mibg"
    assert tracer_of(_rp(Radiopharmaceutical="meta-iodo-benzylguanidine")).status == "mibg"
    other = tracer_of(_rp(Radiopharmaceutical="Tc99m-HDP"))
    assert other.status == "other" and other.name == "Tc99m-HDP"
    ds = Dataset()
    ds.StudyDescription = "WB 99mTc"
    assert tracer_of(ds).status == "other"
    ds = Dataset()
    ds.StudyDescription = "MIBG bone marrow"
    assert tracer_of(ds).status == "mibg"  # MIBG named: never a bone scan
    assert tracer_of(Dataset()).status == "unknown"


@pytest.mark.parametrize("text, years", [
    ("012Y", 12.0), ("006M", 0.5), ("052W", 52 * 7 / 365.25), ("010D", 10 / 365.25),
    ("", None), ("abc", None)])
def test_patient_age(text, years):
    assert _age_years(text) == (pytest.approx(years) if years is not None else None)


def test_height_from_age_is_monotonic_and_sane():
    heights = [height_from_age_cm(a) for a in np.arange(0, 18, 0.5)]
    assert all(b >= a for a, b in zip(heights, heights[1:], strict=False))
    assert height_from_age_cm(5) == 110


def test_body_rows_ignore_an_isolated_hot_row():
    img = np.zeros((500, 50))
    img[100:400, 10:40] = 10.0
    img[30, 25] = 5000.0  # contamination far above the head
    assert body_rows(img) == pytest.approx(300, abs=4)


def test_estimate_spacing_prefers_height_then_age():
    img = np.zeros((500, 50))
    img[50:450, 10:40] = 10.0
    s, how = estimate_spacing(img, Patient(height_cm=100.0, age_years=12.0))
    assert s == pytest.approx(2.5, rel=0.02) and "patient height" in how
    s, how = estimate_spacing(img, Patient(age_years=5.0))
    assert s == pytest.approx(1100 / 400, rel=0.02) and "patient age" in how
    s, how = estimate_spacing(img, Patient())
    assert s == 2.4 and "2.4 mm assumed" in how


def test_spacing_sources():
    ds = Dataset()
    assert spacing_of(ds) == (None, None)
    ds.NominalScannedPixelSpacing = [3.0, 3.0]
    assert spacing_of(ds) == ((3.0, 3.0), "Nominal Scanned Pixel Spacing")
    ds.PixelSpacing = [2.0, 2.5]
    assert spacing_of(ds) == ((2.0, 2.5), "Pixel Spacing")


@pytest.mark.parametrize("orientation, view", [(["L", "F"], None), (["R", "F"], "posterior"),
                                               (["A", "F"], None)])
def test_view_from_patient_orientation_of_a_lone_view(orientation, view):
    ds = Dataset()
    ds.NumberOfFrames = 1
    ds.PatientOrientation = orientation
    frames, _ = frames_of(ds)
    (guess,) = name_views(ds, frames)
    assert guess.view == view
    if view:
        assert guess.guessed and "Patient Orientation" in guess.how
