"""The reader on whole-body files written by others: the NEMA WG04 NM1 GE Millennium scan.

JPEG-LL.dcm (pydicom-data) is a 99mTc bone scan, Secondary Capture, one view per file, JPEG
lossless; JPEG2000.dcm and JPEG-lossy.dcm (pydicom) are lossy copies of the same image.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from mibgscore.errors import InputError, UnsupportedScanError, WrongTracerError
from mibgscore.io import iter_scans, read_scan


@pytest.fixture(scope="module")
def jpeg_ll():
    path = get_testdata_file("JPEG-LL.dcm")
    if path is None:
        pytest.skip("pydicom-data is not installed")
    return path


def test_bone_scan_refused_as_not_mibg(jpeg_ll):
    with pytest.raises(WrongTracerError, match=r"JPEG-LL.dcm: the study looks like a 99mTc bone "
                                               r"scan \(Study Description 'Whole Body Bone'\), "
                                               r"not MIBG; use --force"):
        read_scan(jpeg_ll)


def test_one_view_refused_after_force(jpeg_ll):
    with pytest.raises(UnsupportedScanError, match="only the anterior view was found"):
        read_scan(jpeg_ll, force=True)


def test_read_with_force(jpeg_ll):
    scan = read_scan(jpeg_ll, force=True, allow_single_view=True)
    assert scan.shape == (1024, 256)
    assert scan.posterior is None
    assert scan.anterior.dtype == np.float32
    total = float(scan.anterior.sum(dtype=np.float64))
    assert total == 3_596_452, f"sum of pixels {total:,.0f}"
    assert scan.acquisition.counts_accumulated == 3_596_452
    assert scan.spacing_mm == (2.26, 2.26)
    assert scan.tracer.status == "other" and "bone" in scan.tracer.name
    assert scan.acquisition.transfer_syntax_uid == "1.2.840.10008.1.2.4.70"
    assert scan.acquisition.manufacturer == "GE Medical Systems"
    assert scan.patient.sex == "M" and scan.patient.height_cm is None
    text = " ".join(scan.assumptions)
    assert "Secondary Capture" in text
    assert "read anyway because of --force" in text
    assert "anterior view taken from position in the file" in text
    assert "only the anterior view was found" in text


def test_jpeg2000_copy(jpeg_ll):
    scan = read_scan(get_testdata_file("JPEG2000.dcm"), force=True, allow_single_view=True)
    ref = read_scan(jpeg_ll, force=True, allow_single_view=True)
    assert scan.acquisition.transfer_syntax_uid == "1.2.840.10008.1.2.4.91"
    assert scan.shape == ref.shape
    # Lossy: the same image as the lossless copy (correlation 0.95), with 2 % fewer counts.
    r = float(np.corrcoef(scan.anterior.ravel(), ref.anterior.ravel())[0, 1])
    assert r > 0.9, f"correlation with the lossless pixels {r:.3f}"
    assert float(scan.anterior.sum()) == pytest.approx(3_596_452, rel=0.03)


def test_jpeg_lossy_12_bit():
    path = get_testdata_file("JPEG-lossy.dcm")
    if importlib.util.find_spec("libjpeg") is None:
        with pytest.raises(InputError, match=r"JPEG-lossy.dcm: has pixel data in JPEG Extended "
                                             r".*no installed decoder can read.*pylibjpeg-libjpeg"):
            read_scan(path, force=True, allow_single_view=True)
    else:
        scan = read_scan(path, force=True, allow_single_view=True)
        assert float(scan.anterior.sum()) == pytest.approx(3_596_452, rel=0.05)


def test_lossless_and_lossy_copies_are_not_paired_as_two_views(jpeg_ll):
    """The three files share study and series UIDs; they are copies, not anterior + posterior."""
    items = list(iter_scans([jpeg_ll, get_testdata_file("JPEG2000.dcm")], force=True,
                            allow_single_view=True))
    assert len(items) == 2
    assert all(not isinstance(i, InputError) and i.posterior is None for i in items)
