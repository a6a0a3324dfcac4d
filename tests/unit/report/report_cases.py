"""Hand-made scans and results with known lesions, segments and findings (no pipeline)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np

from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS
from mibgscore.io.types import Patient, Scan, Study, ViewSource
from mibgscore.result import Finding, Lesion, ScoreResult

ROWS, COLS = 512, 128

# Boxes (row0, row1, col0, col1) per SIOPEN segment in the anterior frame (patient's right on
# the viewer's left, so "right_*" segments sit at small columns).
BOXES = {
    "skull": (10, 70, 44, 84),
    "thoracic_cage": (90, 190, 34, 94),
    "spine": (80, 250, 60, 68),
    "pelvis": (250, 300, 40, 88),
    "right_upper_limb_proximal": (95, 150, 20, 30),
    "right_upper_limb_distal": (150, 260, 14, 26),
    "left_upper_limb_proximal": (95, 150, 98, 108),
    "left_upper_limb_distal": (150, 260, 102, 114),
    "right_lower_limb_proximal": (300, 390, 44, 58),
    "right_lower_limb_distal": (390, 500, 44, 56),
    "left_lower_limb_proximal": (300, 390, 70, 84),
    "left_lower_limb_distal": (390, 500, 72, 84),
}
FOCAL = [(40, 70, "skull"), (440, 50, "right_lower_limb_distal")]   # (row, col, segment)


def make_case(seed: int = 0, *, noise: bool = True) -> tuple[Scan, ScoreResult]:
    """A scan with a body, bones, two focal lesions (pelvis diffuse too) and a liver."""
    rng = np.random.default_rng(seed)
    rr, cc = np.mgrid[:ROWS, :COLS]
    body = np.zeros((ROWS, COLS), np.float32)
    seg_map = np.zeros((ROWS, COLS), np.uint8)
    for i, key in enumerate(SIOPEN_KEYS):
        r0, r1, c0, c1 = BOXES[key]
        body[r0:r1, c0 - 4:c1 + 4] = 4.0
        seg_map[r0:r1, c0:c1] = i + 1
    seg_map[(seg_map == 2) & (cc >= 60) & (cc < 68)] = 3  # spine over the thoracic cage
    bone = seg_map > 0
    expected = body + 6.0 * bone
    lesion_mask = np.zeros((ROWS, COLS), bool)
    for r, c, _ in FOCAL:
        spot = (rr - r) ** 2 + (cc - c) ** 2 <= 9
        expected[spot] += 200.0
        lesion_mask |= spot
    pelvis = seg_map == 4
    diffuse = pelvis & (cc < 64)
    expected[diffuse] += 15.0
    lesion_mask |= diffuse
    liver = (rr - 200) ** 2 / 30 ** 2 + (cc - 45) ** 2 / 20 ** 2 <= 1
    expected[liver] += 20.0
    if noise:
        ant = rng.poisson(expected).astype(np.float32)
        post = rng.poisson(expected * 0.8).astype(np.float32)
    else:
        ant, post = expected.astype(np.float32), (expected * 0.8).astype(np.float32)
    scan = Scan(
        anterior=ant, posterior=post, spacing_mm=(4.0, 4.0),
        patient=Patient(patient_id="PAT-0042", name="DOE^JANE", sex="F",
                        birth_date=dt.date(2019, 3, 4), age_years=6.2),
        study=Study(study_uid="1.2.826.0.1.3680043.8.498.1",
                    series_uid="1.2.826.0.1.3680043.8.498.2",
                    sop_instance_uids=("1.2.826.0.1.3680043.8.498.3",),
                    study_date=dt.date(2025, 5, 17), description="WB MIBG",
                    accession_number="ACC123"),
        sources={"anterior": ViewSource("x.dcm", 0, "test"),
                 "posterior": ViewSource("x.dcm", 1, "test")},
        path="x.dcm",
    )
    siopen = {k: 0 for k in SIOPEN_KEYS}
    siopen.update(skull=1, right_lower_limb_distal=1, pelvis=4)
    curie = {k: 0 for k in CURIE_KEYS}
    curie.update(head=1, legs_feet=1, pelvis=2)
    conf = {k: 0.95 for k in SIOPEN_KEYS}
    conf["pelvis"] = 0.55
    result = ScoreResult(
        file="case.dcm", study_uid=scan.study.study_uid, siopen=siopen, siopen_confidence=conf,
        curie=curie,
        lesions=[Lesion(seg, "focal", r, c, None, 0.9) for r, c, seg in FOCAL]
        + [Lesion("pelvis", "diffuse", 275, 52, 0.45, 0.6)],
        findings=[Finding("liver", 200, 45)],
        evidence=SimpleNamespace(siopen_map=seg_map, curie_map=seg_map, lesion_mask=lesion_mask,
                                 skeleton=None),
    )
    return scan, result


def make_nm_source(scan: Scan) -> pydicom.Dataset:  # noqa: F821 - imported inside
    """A two-frame NM Image dataset (anterior, posterior) for the scan, built with pydicom."""
    import pydicom
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.20"
    ds.SOPInstanceUID = scan.study.sop_instance_uids[0]
    ds.StudyInstanceUID = scan.study.study_uid
    ds.SeriesInstanceUID = scan.study.series_uid
    ds.Modality = "NM"
    ds.PatientName = scan.patient.name
    ds.PatientID = scan.patient.patient_id
    ds.PatientBirthDate = "20190304"
    ds.PatientSex = "F"
    ds.StudyDate = "20250517"
    ds.StudyTime = "101500"
    ds.StudyID = "S1"
    ds.AccessionNumber = "ACC123"
    ds.ReferringPhysicianName = ""
    ds.NumberOfFrames = 2
    ds.Rows, ds.Columns = scan.shape
    ds.PixelData = np.stack([scan.anterior, scan.posterior]).astype(np.uint16).tobytes()
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    assert isinstance(ds, pydicom.Dataset)
    return ds
