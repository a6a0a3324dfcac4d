"""Fixtures of the PACS tests: one private Orthanc per session, loaded with simulated MIBG
studies (`mibgscore simulate`), a bone scan and a CT beside them.

Orthanc (Debian packages orthanc, orthanc-dicomweb) runs on free loopback ports with a
private configuration and its storage in a temporary folder, and is stopped after the tests;
the system's Orthanc service is never used.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from ._orthanc import AET, DICOMWEB_PLUGIN, ORTHANC, PASSWORD, USER, Orthanc, free_port

PATIENT = "PACS-SIM-1"
SECRET_VARIABLE = "MIBGSCORE_TEST_PACS_PASSWORD"


@dataclass
class PacsWorld:
    """The running Orthanc and what it holds."""

    orthanc: Orthanc
    mibg: list[str]          # Study Instance UIDs of the MIBG studies (earlier first)
    bone_scan: str           # an NM study with 99mTc-MDP
    ct: str                  # a CT study of the same patient
    files: dict[str, Path]   # study UID -> the DICOM file loaded
    our_port: int            # port of our AE (MIBGSCORE) for C-MOVE retrieval
    listener_port: int       # port of the AE LISTENER (Orthanc's modality "listener")

    def dicomweb_args(self) -> list[str]:
        return ["--dicomweb", self.orthanc.dicomweb, "--user", USER,
                "--password-env", SECRET_VARIABLE]

    def dimse_args(self) -> list[str]:
        return ["--dimse", f"127.0.0.1:{self.orthanc.dicom_port}", "--called-aet", AET]


def _edit(path: Path, out: Path, **values) -> Path:
    ds = pydicom.dcmread(path)
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    ds.save_as(out, enforce_file_format=True)
    return out


def _bone_scan(path: Path, out: Path) -> Path:
    ds = pydicom.dcmread(path)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyDescription, ds.SeriesDescription = "BONE SCAN WHOLE BODY", "WB"
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    rp.Radiopharmaceutical = "99mTc-MDP"
    code = rp.RadiopharmaceuticalCodeSequence[0] if "RadiopharmaceuticalCodeSequence" in rp \
        else None
    if code is not None:
        code.CodeValue, code.CodeMeaning = "C-B1037", "Tc-99m MDP"
    ds.save_as(out, enforce_file_format=True)
    return out


def _ct(out: Path) -> Path:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality, ds.PatientID, ds.PatientName = "CT", PATIENT, "SIMULATED^PACS"
    ds.StudyDate, ds.StudyTime = "20240110", "090000"
    ds.StudyDescription = "CT THORAX for MIBG correlation"
    ds.SeriesDescription, ds.ImageType = "AXIAL", ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.KVP = -1024, 1, 120
    ds.PixelData = bytes(128)
    ds.save_as(out, enforce_file_format=True)
    return out


@pytest.fixture(scope="session")
def pacs(tmp_path_factory) -> PacsWorld:
    """A private Orthanc with two MIBG studies of one patient (2024-01-10, 2024-05-02), a
    bone scan of another patient and a CT of the first, all as NM files from
    ``mibgscore simulate`` (the CT written here)."""
    if not (Path(ORTHANC).exists() and Path(DICOMWEB_PLUGIN).exists()):
        pytest.fail("Orthanc and its DICOMweb plugin are needed (Debian packages orthanc, "
                    "orthanc-dicomweb)")
    from mibgscore.simulate.study import write_studies

    root = tmp_path_factory.mktemp("pacs")
    sim = write_studies(root / "sim", n=3, seed=13, category="limited")
    files = root / "load"
    files.mkdir()
    first = _edit(sim[0], files / "mibg_1.dcm", PatientID=PATIENT,
                  PatientName="SIMULATED^PACS", StudyDate="20240110")
    second = _edit(sim[1], files / "mibg_2.dcm", PatientID=PATIENT,
                   PatientName="SIMULATED^PACS", StudyDate="20240502")
    bone = _bone_scan(sim[2], files / "bone.dcm")
    ct = _ct(files / "ct.dcm")
    our_port, listener_port = free_port(), free_port()
    orthanc = Orthanc(root / "orthanc", {"mibgscore": ("MIBGSCORE", our_port),
                                         "listener": ("LISTENER", listener_port)})
    orthanc.start()
    uids = {}
    for path in (first, second, bone, ct):
        orthanc.upload(path)
        uids[path.stem] = str(pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID)
    world = PacsWorld(orthanc=orthanc, mibg=[uids["mibg_1"], uids["mibg_2"]],
                      bone_scan=uids["bone"], ct=uids["ct"],
                      files={uids[p.stem]: p for p in (first, second, bone, ct)},
                      our_port=our_port, listener_port=listener_port)
    yield world
    orthanc.stop()
    shutil.rmtree(root / "orthanc" / "storage", ignore_errors=True)


@pytest.fixture
def secret_env(monkeypatch):
    """The Orthanc password in the environment variable the connection names."""
    monkeypatch.setenv(SECRET_VARIABLE, PASSWORD)
    return SECRET_VARIABLE


__all__ = ["PATIENT", "PacsWorld", "dt"]
