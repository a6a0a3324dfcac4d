"""Encapsulated PDF: exact bytes back, same study, dciodvfy clean."""

import datetime as dt
import io
import shutil
import subprocess

import pydicom
import pytest
from report_cases import make_nm_source

from mibgscore.report.encapsulated import ENCAPSULATED_PDF_STORAGE, encapsulated_pdf, pdf_bytes
from mibgscore.report.types import ReadingReport

# A tiny but complete PDF (one empty page); odd and even lengths are both tried.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.mark.parametrize("pdf", [PDF, PDF + b"\n"], ids=["one-length", "other-length"])
def test_pdf_bytes_come_back_exactly(case, pdf):
    scan, result = case
    report = ReadingReport.from_scan(scan, result, reader="Martin^Anne",
                                     signed_at=dt.datetime(2025, 5, 18, 9, 30, tzinfo=dt.UTC))
    source = make_nm_source(scan)
    ds = encapsulated_pdf(pdf, report, source)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    back = pydicom.dcmread(io.BytesIO(buf.getvalue()))
    assert pdf_bytes(back) == pdf
    assert len(back.EncapsulatedDocument) % 2 == 0
    assert back.SOPClassUID == ENCAPSULATED_PDF_STORAGE and back.Modality == "DOC"
    assert back.StudyInstanceUID == source.StudyInstanceUID
    assert back.PatientID == "PAT-0042"
    assert back.ContentDate == "20250518"


def test_refuses_what_is_not_a_pdf(case):
    scan, result = case
    with pytest.raises(ValueError, match="not a PDF"):
        encapsulated_pdf(b"<html>", ReadingReport.from_scan(scan, result))


@pytest.mark.skipif(shutil.which("dciodvfy") is None, reason="dciodvfy (dicom3tools) absent")
def test_dciodvfy_finds_no_error(case, tmp_path):
    scan, result = case
    ds = encapsulated_pdf(PDF, ReadingReport.from_scan(scan, result))
    path = tmp_path / "doc.dcm"
    ds.save_as(path, enforce_file_format=True)
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    errors = [x for x in (out.stdout + out.stderr).splitlines() if x.startswith("Error")]
    assert errors == []
