"""Hand-built DICOM NM whole-body files with the quirks real cameras write (test helper).

The phantom is a bright body with one marker pixel on the PATIENT's right (viewer's left on the
anterior view, viewer's right on the stored posterior view), so mirroring can be checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

NM_IMAGE = "1.2.840.10008.5.1.4.1.1.20"
SC_IMAGE = "1.2.840.10008.5.1.4.1.1.7"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ROWS, COLS = 128, 48
MARKER = (20, 8)  # (row, col) on the anterior view: the patient's right, viewer's left

VIEW_CODES = {
    "sct": {"anterior": ("399321004", "SCT", "anterior"),
            "posterior": ("399001007", "SCT", "posterior")},
    "srt": {"anterior": ("G-5215", "SRT", "anterior"), "posterior": ("G-5216", "SRT", "posterior")},
    "retired": {"anterior": ("G-5200", "SRT", "anterior"),
                "posterior": ("G-5201", "SRT", "posterior")},
}
TRACERS = {
    "mibg": ("395787009", "SCT", "Iobenguane (123-I)", "Iobenguane I^123^"),
    "mibg131": ("395789007", "SCT", "Iobenguane (131-I)", "Iobenguane I^131^"),
    "mdp": ("77046003", "SCT", "Technetium Tc99m medronate", "Tc-99m MDP"),
}


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def phantom(view: str, *, rows: int = ROWS, cols: int = COLS, level: float = 50.0,
            seed: int = 0) -> np.ndarray:
    """A view as the camera stores it: body counts plus a 1000-count marker on the patient's right.

    Returns uint16 of shape (rows, cols). The posterior comes as seen from behind: the marker
    lies on the viewer's right.
    """
    rng = np.random.default_rng(seed)
    img = np.zeros((rows, cols), np.float64)
    r0, r1 = rows // 10, rows - rows // 10
    c0, c1 = cols // 4, cols - cols // 4
    img[r0:r1, c0:c1] = level
    img = rng.poisson(img)
    mr, mc = MARKER
    img[mr, mc] = 1000
    if view == "posterior":
        img = img[:, ::-1]
    return img.astype(np.uint16)


def nm_dataset(
    views: tuple[str, ...] = ("anterior", "posterior"),
    *,
    codes: str | None = "sct",
    windows: tuple[tuple[float, float], ...] = ((143.0, 175.0),),
    window_level: tuple[float, ...] | None = None,
    tracer: str | None = "mibg",
    spacing: tuple[float, float] | None = (2.4, 2.4),
    study_uid: str | None = None,
    series_uid: str | None = None,
    series_description: str = "WB MIBG",
    study_description: str = "MIBG whole body",
    image_type: tuple[str, ...] = ("ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"),
    modality: str = "NM",
    sop_class: str = NM_IMAGE,
    rows: int = ROWS,
    cols: int = COLS,
    pixels: dict[str, np.ndarray] | None = None,
    detector_info: bool = True,
    vectors: bool = True,
    patient_size_m: float | None = 1.2,
    patient_age: str | None = "007Y",
    instance_number: int = 1,
    seed: int = 0,
) -> Dataset:
    """One NM image dataset holding ``views`` (one frame per view and energy window).

    ``codes``: "sct", "srt", "retired" (in Detector Information Sequence), "root" (root-level
    View Code Sequence, single view only) or None. ``window_level`` scales counts per window.
    """
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.Modality = modality
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.StudyDate, ds.StudyTime = "20260115", "101500"
    ds.StudyID = "1"
    ds.StudyDescription, ds.SeriesDescription = study_description, series_description
    ds.AccessionNumber = "A123"
    ds.PatientName, ds.PatientID, ds.PatientSex = "Test^Child", "P001", "F"
    ds.PatientBirthDate = "20190110"
    if patient_age is not None:
        ds.PatientAge = patient_age
    if patient_size_m is not None:
        ds.PatientSize = f"{patient_size_m:.2f}"
    ds.PatientWeight = "22"
    ds.Manufacturer, ds.ManufacturerModelName = "Acme", "Gamma 1"
    ds.ImageType = list(image_type)
    ds.InstanceNumber = instance_number
    ds.SeriesNumber = 1
    level = window_level or tuple(1.0 for _ in windows)
    frames, det_vec, win_vec = [], [], []
    for w, _ in enumerate(windows, start=1):
        for d, view in enumerate(views, start=1):
            base = pixels[view] if pixels else phantom(view, rows=rows, cols=cols, seed=seed + d)
            frames.append(np.round(base * level[w - 1]).astype(np.uint16))
            det_vec.append(d)
            win_vec.append(w)
    ds.NumberOfFrames = len(frames)
    if vectors:
        ds.FrameIncrementPointer = [0x00540010, 0x00540020]
        ds.EnergyWindowVector = win_vec
        ds.DetectorVector = det_vec
    ds.NumberOfEnergyWindows = len(windows)
    ds.NumberOfDetectors = len(views)
    seq = []
    for lo, hi in windows:
        item, rng = Dataset(), Dataset()
        rng.EnergyWindowLowerLimit, rng.EnergyWindowUpperLimit = f"{lo:g}", f"{hi:g}"
        item.EnergyWindowRangeSequence = Sequence([rng])
        item.EnergyWindowName = f"{(lo + hi) / 2:.0f} keV"
        seq.append(item)
    ds.EnergyWindowInformationSequence = Sequence(seq)
    if detector_info:
        items = []
        for view in views:
            item = Dataset()
            item.CollimatorGridName = "LEHR"
            if codes in VIEW_CODES:
                item.ViewCodeSequence = Sequence([_code(*VIEW_CODES[codes][view])])
            items.append(item)
        ds.DetectorInformationSequence = Sequence(items)
    if codes == "root":
        ds.ViewCodeSequence = Sequence([_code(*VIEW_CODES["sct"][views[0]])])
    if tracer is not None:
        item = Dataset()
        value, scheme, meaning, text = TRACERS[tracer]
        item.Radiopharmaceutical = text
        item.RadiopharmaceuticalCodeSequence = Sequence([_code(value, scheme, meaning)])
        ds.RadiopharmaceuticalInformationSequence = Sequence([item])
    if spacing is not None:
        ds.PixelSpacing = [f"{spacing[0]:g}", f"{spacing[1]:g}"]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = np.stack(frames).tobytes()
    return ds


def write(ds: Dataset, path: Path) -> Path:
    """Write ``ds`` as a DICOM Part 10 file and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_nm(path: Path, **kwargs) -> Path:
    """Build with :func:`nm_dataset` and write."""
    return write(nm_dataset(**kwargs), path)


def read_back(path: Path) -> Dataset:
    """Parse a file written here (for tests that edit one)."""
    return pydicom.dcmread(path)
