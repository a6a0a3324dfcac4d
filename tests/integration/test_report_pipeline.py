"""Report outputs on a real pipeline result: simulate -> NM file -> read -> score -> report."""

import datetime as dt
import io
import shutil
import subprocess

import numpy as np
import pydicom
import pytest
from PIL import Image

pipeline = pytest.importorskip("mibgscore.pipeline")
study_mod = pytest.importorskip("mibgscore.simulate.study")
write_mod = pytest.importorskip("mibgscore.io.write")

from mibgscore.io.read import read_scan  # noqa: E402
from mibgscore.report.encapsulated import encapsulated_pdf, pdf_bytes  # noqa: E402
from mibgscore.report.overlay import render_overlay  # noqa: E402
from mibgscore.report.sr import reading_sr, sr_grades  # noqa: E402
from mibgscore.report.types import ReadingReport  # noqa: E402


def _errors(ds: pydicom.Dataset, path) -> list[str]:
    ds.save_as(path, enforce_file_format=True)
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [x for x in (out.stdout + out.stderr).splitlines() if x.startswith("Error")]


def test_outputs_of_a_scored_simulated_study(tmp_path):
    simulated = study_mod.simulate_study(11, category="limited")
    nm = tmp_path / "study.dcm"
    write_mod.write_nm(simulated.scan, nm)
    scan = read_scan(nm)
    result = pipeline.score(scan)

    png = render_overlay(scan, result)
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG" and min(im.size) >= 800, im.size
        rgb = np.asarray(im.convert("RGB")).astype(int)
    red = (rgb[..., 0] > 180) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)
    assert red.sum() > 50 or not result.lesions  # lesion marks (and the R/L markers)

    report = ReadingReport.from_scan(scan, result, reader="Martin^Anne",
                                     signed_at=dt.datetime(2025, 5, 18, 9, 30, tzinfo=dt.UTC))
    source = pydicom.dcmread(nm, stop_before_pixels=True)
    sr = reading_sr(report, source)
    back = pydicom.dcmread(io.BytesIO(_bytes(sr)))
    grades = sr_grades(back)
    assert grades["siopen"] == result.siopen
    assert grades["siopen_total"] == result.siopen_total
    assert back.StudyInstanceUID == source.StudyInstanceUID

    pdf = b"%PDF-1.4\n%%EOF\n"
    doc = encapsulated_pdf(pdf, report, source)
    assert pdf_bytes(pydicom.dcmread(io.BytesIO(_bytes(doc)))) == pdf
    assert doc.StudyInstanceUID == source.StudyInstanceUID
    if shutil.which("dciodvfy"):
        assert _errors(sr, tmp_path / "sr.dcm") == []
        assert _errors(doc, tmp_path / "doc.dcm") == []


def _bytes(ds: pydicom.Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
