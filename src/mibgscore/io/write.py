"""Scan -> DICOM NM: one multi-frame NM Image Storage instance holding both views."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np

from mibgscore.io.types import Scan

logger = logging.getLogger(__name__)

NM_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.20"
VIEW_CODES = {
    "anterior": ("399321004", "SCT", "anterior projection"),
    "posterior": ("399001007", "SCT", "posterior projection"),
}
"""View Code Sequence (0054,0220) values, CID 26."""

TRACER_CODE = ("395787009", "SCT", "Iobenguane (123-I)")
ISOTOPE_CODE = ("21572004", "SCT", "^123^Iodine")
PHOTOPEAK_KEV = (143.0, 175.0)
"""123I photopeak window: 159 keV +/- 10 %."""


def _code(value: str, scheme: str, meaning: str):
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def _da(d: dt.date | None) -> str:
    return "" if d is None else d.strftime("%Y%m%d")


def _age_string(age_years: float | None) -> str:
    if age_years is None:
        return ""
    if age_years < 2.0:
        return f"{min(int(age_years * 12), 999):03d}M"
    return f"{min(int(age_years), 999):03d}Y"


def write_nm(scan: Scan, path: str | Path) -> None:
    """Write ``scan`` as one standard multi-frame NM Image Storage file.

    Frame 1 is the anterior view (detector 1), frame 2 the posterior view (detector 2),
    un-mirrored back to its as-acquired orientation (patient's right on the viewer's right).
    Frame Increment Pointer (0028,0009) names Energy Window Vector (0054,0010) and Detector
    Vector (0054,0020); each detector's view is in Detector Information Sequence (0054,0022)
    -> View Code Sequence (0054,0220). Pixels are rounded to uint16 (clipped to 0-65535).

    Parameters
    ----------
    scan : Scan
        Two views (a single view is written as a one-frame file).
    path : str or Path
        Output file.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    views = scan.views
    names = [v for v in ("anterior", "posterior") if v in views]
    frames = []
    for name in names:
        img = views[name]
        if name == "posterior":
            img = img[:, ::-1]  # back to as acquired: seen from behind
        frames.append(np.clip(np.rint(img), 0, 65535).astype(np.uint16))
    pixels = np.stack(frames)
    rows, cols = pixels.shape[1:]
    study, patient, acq = scan.study, scan.patient, scan.acquisition

    study_uid = study.study_uid or generate_uid()
    series_uid = study.series_uid or generate_uid()
    sop_uid = study.sop_instance_uids[0] if study.sop_instance_uids else generate_uid()
    date = study.study_date or dt.date.today()

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = NM_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.10.1524.1"
    meta.ImplementationVersionName = "MIBGSCORE_01"

    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    ds.SOPClassUID = NM_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = _da(date)
    ds.SeriesDate = _da(date)
    ds.AcquisitionDate = _da(date)
    ds.ContentDate = _da(date)
    ds.StudyTime = "100000"
    ds.SeriesTime = "100000"
    ds.AcquisitionTime = "100000"
    ds.ContentTime = "100000"
    ds.AccessionNumber = study.accession_number or ""
    ds.Modality = "NM"
    ds.Manufacturer = acq.manufacturer or ""
    ds.InstitutionName = "mibgscore"
    ds.ReferringPhysicianName = ""
    ds.StationName = "SIM"
    ds.StudyDescription = study.description or ""
    ds.SeriesDescription = "WB ANT/POST"
    ds.BodyPartExamined = "WHOLEBODY"
    ds.ManufacturerModelName = acq.model or ""
    ds.SoftwareVersions = "mibgscore"

    ds.PatientName = patient.name or ""
    ds.PatientID = patient.patient_id or ""
    ds.PatientBirthDate = _da(patient.birth_date)
    ds.PatientSex = patient.sex if patient.sex in ("M", "F", "O") else ""
    ds.PatientAge = _age_string(patient.age_years)
    if patient.height_cm is not None:
        ds.PatientSize = f"{patient.height_cm / 100.0:.3f}"
    if patient.weight_kg is not None:
        ds.PatientWeight = f"{patient.weight_kg:.1f}"

    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.AcquisitionNumber = 1
    ds.PatientOrientation = ""
    ds.FrameOfReferenceUID = generate_uid(entropy_srcs=[study_uid, "frame-of-reference"])
    ds.PositionReferenceIndicator = ""

    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = int(rows)
    ds.Columns = int(cols)
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [f"{scan.spacing_mm[0]:.6g}", f"{scan.spacing_mm[1]:.6g}"]
    ds.NumberOfFrames = len(frames)
    ds.FrameIncrementPointer = [0x00540010, 0x00540020]
    ds.EnergyWindowVector = [1] * len(frames)
    ds.NumberOfEnergyWindows = 1
    ds.DetectorVector = list(range(1, len(frames) + 1))
    ds.NumberOfDetectors = len(frames)
    ds.ActualFrameDuration = int(round(acq.frame_duration_ms or 600000))
    if acq.counts_accumulated is not None:
        ds.CountsAccumulated = int(acq.counts_accumulated)
    ds.WholeBodyTechnique = ["1PS"]
    ds.ScanVelocity = f"{acq.scan_velocity_mm_s or 2.0:.4g}"  # mm/s
    ds.ScanLength = int(round(rows * scan.spacing_mm[0]))

    lo, hi = acq.energy_window_kev or PHOTOPEAK_KEV
    win = Dataset()
    band = Dataset()
    band.EnergyWindowLowerLimit = f"{lo:.4g}"
    band.EnergyWindowUpperLimit = f"{hi:.4g}"
    win.EnergyWindowRangeSequence = [band]
    win.EnergyWindowName = "I123 PHOTOPEAK"
    ds.EnergyWindowInformationSequence = [win]

    rp = Dataset()
    rp.RadionuclideCodeSequence = [_code(*ISOTOPE_CODE)]
    rp.RadiopharmaceuticalCodeSequence = [_code(*TRACER_CODE)]
    rp.Radiopharmaceutical = "123I-MIBG"
    rp.RadiopharmaceuticalRoute = "IV"
    ds.RadiopharmaceuticalInformationSequence = [rp]

    detectors = []
    for name in names:
        det = Dataset()
        det.CollimatorGridName = acq.collimator or ""
        det.CollimatorType = "PARA"
        det.ImagePositionPatient = ["0", "0", "0"]
        # rows run head to feet; columns to the patient's left (anterior) or right (posterior)
        det.ImageOrientationPatient = (["1", "0", "0", "0", "0", "-1"] if name == "anterior"
                                       else ["-1", "0", "0", "0", "0", "-1"])
        det.ViewCodeSequence = [_code(*VIEW_CODES[name])]
        detectors.append(det)
    ds.DetectorInformationSequence = detectors
    ds.PatientOrientationCodeSequence = [_code("102538003", "SCT", "recumbent")]
    ds.PatientOrientationCodeSequence[0].PatientOrientationModifierCodeSequence = [
        _code("40199007", "SCT", "supine")]
    ds.PatientGantryRelationshipCodeSequence = [_code("102540008", "SCT", "headfirst")]
    ds.AcquisitionContextSequence = []
    ds.ImageID = "WB"

    ds.PixelData = pixels.tobytes()
    ds["PixelData"].VR = "OW"
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(out, enforce_file_format=True)
    logger.debug("wrote NM file with %d frames", len(frames))
