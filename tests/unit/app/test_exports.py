"""DICOM exports of a signed reading: Comprehensive SR and Encapsulated PDF."""

from __future__ import annotations

import io
import shutil
import subprocess

import pydicom
import pytest

from .test_api import _import_all


def test_sr_and_encapsulated_pdf(alice, dicom_dir, tmp_path):
    pytest.importorskip("mibgscore.report.sr")
    pytest.importorskip("mibgscore.report.encapsulated")
    rows = _import_all(alice, dicom_dir)
    row = rows["P2@2025-01-10"]
    sid = row["id"]
    alice.put(f"/api/studies/{sid}/grades", json={"scheme": "siopen", "segment": "pelvis",
                                                 "grade": 5, "version": row["version"]})
    alice.post(f"/api/studies/{sid}/sign", json={"version": row["version"] + 1})
    r = alice.get(f"/api/studies/{sid}/sr.dcm")
    assert r.status_code == 200, r.text[:300]
    sr = pydicom.dcmread(io.BytesIO(r.content))
    assert sr.Modality == "SR" and sr.PatientID == "P2"
    assert sr.VerificationFlag == "VERIFIED"
    text = str(sr)
    assert "alice" in text
    path = tmp_path / "sr.dcm"
    path.write_bytes(r.content)
    if shutil.which("dciodvfy"):
        out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True)
        errors = [x for x in (out.stdout + out.stderr).splitlines() if x.startswith("Error")]
        assert not errors, errors
    r = alice.get(f"/api/studies/{sid}/report.dcm")
    assert r.status_code == 200, r.text[:300]
    doc = pydicom.dcmread(io.BytesIO(r.content))
    assert doc.Modality == "DOC" and doc.MIMETypeOfEncapsulatedDocument == "application/pdf"
    assert bytes(doc.EncapsulatedDocument)[:4] == b"%PDF"
