"""Test studies for the web application: small two-view NM files and a fast scorer."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.result import Lesion, ScoreResult

NM = "1.2.840.10008.5.1.4.1.1.20"


def _uid(text: str) -> str:
    return "2.25." + str(int(hashlib.sha1(text.encode()).hexdigest()[:24], 16))


def _code(value: str, meaning: str, scheme: str = "SCT") -> Dataset:
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def write_study(path: Path, *, patient_id: str, study_date: dt.date, seed: int,
                name: str = "TEST^Child", rows: int = 128, cols: int = 48) -> Path:
    """A two-frame whole-body NM (anterior, posterior) with a few hot spots, seeded."""
    rng = np.random.default_rng(seed)
    img = rng.poisson(3.0, size=(2, rows, cols)).astype(np.uint16)
    img[:, 10:20, 18:30] += 40   # head
    img[:, 40:44, 20:24] += 200  # a hot spot
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = NM
    meta.MediaStorageSOPInstanceUID = _uid(f"sop{seed}{patient_id}")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.SOPClassUID = NM
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = _uid(f"study{seed}{patient_id}")
    ds.SeriesInstanceUID = _uid(f"series{seed}{patient_id}")
    ds.Modality = "NM"
    ds.PatientID = patient_id
    ds.PatientName = name
    ds.PatientBirthDate = "20200101"
    ds.PatientSex = "F"
    ds.StudyDate = study_date.strftime("%Y%m%d")
    ds.StudyDescription = "MIBG whole body"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.NumberOfFrames = 2
    ds.PixelSpacing = [4.0, 4.0]
    ds.FrameIncrementPointer = [pydicom.tag.Tag("DetectorVector")]
    ds.DetectorVector = [1, 2]
    ds.NumberOfDetectors = 2
    dets = []
    for value, meaning in (("399321004", "anterior"), ("399001007", "posterior")):
        d = Dataset()
        d.ViewCodeSequence = Sequence([_code(value, meaning)])
        dets.append(d)
    ds.DetectorInformationSequence = Sequence(dets)
    rp = Dataset()
    rp.Radiopharmaceutical = "123I-MIBG"
    rp.RadiopharmaceuticalCodeSequence = Sequence([_code("395787009", "Iobenguane (123-I)")])
    ds.RadiopharmaceuticalInformationSequence = Sequence([rp])
    ds.PixelData = img.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def fake_scorer(grades_by_patient: dict[str, dict[str, int]] | None = None):
    """A scorer with known answers: SIOPEN grades per ``"ID@date"`` or patient ID (default: skull 2,
    spine 1)."""

    def score(scan) -> ScoreResult:
        g = {k: 0 for k in SIOPEN_KEYS}
        table = grades_by_patient or {}
        pid = scan.patient.patient_id or ""
        g.update(table.get(f"{pid}@{scan.study.study_date}",
                           table.get(pid, {"skull": 2, "spine": 1})))
        curie = {k: 0 for k in CURIE_KEYS}
        curie["head"] = min(3, g["skull"])
        lesions = [Lesion("skull", "focal", 15, 24, None, 0.9)] if g["skull"] else []
        seg_map = np.zeros(scan.shape, np.uint8)
        seg_map[5:25, 10:38] = 1
        seg_map[25:90, 20:28] = 3
        ev = type("Evidence", (), {"siopen_map": seg_map, "curie_map": seg_map,
                                   "lesion_mask": np.zeros(scan.shape, np.uint8)})()
        return ScoreResult(file=scan.path or "", study_uid=scan.study.study_uid, siopen=g,
                           siopen_confidence={k: 0.9 for k in SIOPEN_KEYS}, curie=curie,
                           lesions=lesions, evidence=ev)

    return score
