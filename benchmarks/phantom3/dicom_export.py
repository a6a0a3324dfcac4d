"""Write a phantom3 case as one NM Image Storage multi-frame whole-body instance (pydicom).

Export style, on purpose unlike the project's own writer: Frame Increment Pointer names both
Energy Window Vector and Detector Vector; two detectors, the anterior one being detector 1 or
2 depending on the seed; an optional lower scatter window (then four frames, photopeak first);
View Code Sequence inside each Detector Information Sequence item, SCT codes for some seeds and
the older SNOMED-RT (SRT) ones for the others; the posterior frame stored as the posterior
detector sees it (NOT mirrored); 16-bit unsigned; explicit, implicit VR or RLE Lossless;
Radiopharmaceutical Information Sequence with 123I-MIBG codes; Patient's Age as "007Y" or
"018M"; head- or feet-first given by Patient Gantry Relationship Code Sequence (no Patient
Position attribute).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID

from .case import NM_STORAGE, TRANSFER, uid

CODES = {
    "SCT": {"anterior": ("399321004", "SCT", "Anterior projection"),
            "posterior": ("399001007", "SCT", "Posterior projection"),
            "mibg": ("395787009", "SCT", "Iodine^123 3-Iodobenzylguanidine MIBG"),
            "i123": ("21572004", "SCT", "^123^Iodine"),
            "supine": ("40199007", "SCT", "supine"),
            "HFS": ("102540008", "SCT", "headfirst"),
            "FFS": ("102541007", "SCT", "feet-first")},
    "SRT": {"anterior": ("G-5215", "SRT", "Anterior projection"),
            "posterior": ("G-5216", "SRT", "Posterior projection"),
            "mibg": ("C-B110E", "SRT", "Iobenguane I^123^"),
            "i123": ("C-114A4", "SRT", "^123^Iodine"),
            "supine": ("F-10340", "SRT", "supine"),
            "HFS": ("F-10470", "SRT", "headfirst"),
            "FFS": ("F-10480", "SRT", "feet-first")},
}


def _code(value, scheme, meaning) -> Dataset:
    d = Dataset()
    d.CodeValue = value
    d.CodingSchemeDesignator = scheme
    d.CodeMeaning = meaning
    return d


def _age(age_years: float) -> str:
    if age_years < 2:
        return f"{int(age_years * 12):03d}M"
    return f"{int(age_years):03d}Y"


def write_dicom(case, path) -> Path:
    """Write ``case`` to ``path`` (one file); returns the path."""
    path = Path(path)
    scan, meta = case.scan, case.truth["meta"]
    ex = meta["export"]
    codes = CODES[ex["codes"]]
    rows, cols = scan.shape
    sop = scan.study.sop_instance_uids[0]
    ts = UID(TRANSFER[ex["transfer"]])
    ant = scan.anterior
    post_camera = np.fliplr(scan.posterior)      # as the posterior detector sees it
    det_view = {ex["ant_detector"]: "anterior", 3 - ex["ant_detector"]: "posterior"}
    views = {"anterior": ant, "posterior": post_camera}
    windows = [tuple(meta["camera"]["energy_window_kev"])]
    if ex["scatter_window"]:
        lo = windows[0][0]
        windows.append((round(lo - 24.0, 1), round(lo - 4.0, 1)))
    rng = np.random.default_rng([case.seed, 77])
    frames, ewv, detv = [], [], []
    from scipy.ndimage import gaussian_filter

    for w in range(1, len(windows) + 1):
        for d in (1, 2):
            img = views[det_view[d]]
            if w == 2:   # scatter window: broad, fewer counts
                lam = gaussian_filter(img.astype(np.float64), 6.0) * 0.35
                img = rng.poisson(lam)
            frames.append(np.clip(img, 0, 65535).astype(np.uint16))
            ewv.append(w)
            detv.append(d)

    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = NM_STORAGE
    fm.MediaStorageSOPInstanceUID = sop
    fm.TransferSyntaxUID = ts if ex["transfer"] != "rle" else UID(TRANSFER["explicit"])
    fm.ImplementationClassUID = UID("1.2.826.0.1.3680043.8.498.1")
    fm.ImplementationVersionName = "PHANTOM3_1"
    ds = Dataset()
    ds.file_meta = fm
    st = scan.study
    date = st.study_date or dt.date(2016, 1, 4)
    d8 = date.strftime("%Y%m%d")
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"]
    ds.SOPClassUID = NM_STORAGE
    ds.SOPInstanceUID = sop
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = d8
    ds.StudyTime = "101500"
    ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = "102000"
    ds.AccessionNumber = st.accession_number or ""
    ds.Modality = "NM"
    ds.Manufacturer = scan.acquisition.manufacturer
    ds.ManufacturerModelName = scan.acquisition.model
    ds.InstitutionName = "phantom3"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = st.description
    ds.SeriesDescription = "WB MIBG 24H ANT+POST"
    ds.BodyPartExamined = "WHOLEBODY"
    p = scan.patient
    ds.PatientName = p.name
    ds.PatientID = p.patient_id
    ds.PatientBirthDate = p.birth_date.strftime("%Y%m%d") if p.birth_date else ""
    ds.PatientSex = p.sex
    ds.PatientAge = _age(meta["age_years"])
    if p.height_cm:
        ds.PatientSize = f"{p.height_cm / 100:.3f}"
    if p.weight_kg:
        ds.PatientWeight = f"{p.weight_kg:.1f}"
    ds.StudyInstanceUID = st.study_uid
    ds.SeriesInstanceUID = st.series_uid
    ds.StudyID = str(case.seed)
    ds.SeriesNumber = 3
    ds.InstanceNumber = 1
    # orientation by codes (NM/PET Patient Orientation), so no Patient Position attribute
    ds.PatientOrientationCodeSequence = Sequence([_code(*codes["supine"])])
    ds.PatientGantryRelationshipCodeSequence = Sequence(
        [_code(*codes["FFS" if meta["feet_first"] else "HFS"])])
    ds.FrameOfReferenceUID = uid(case.seed, "for")
    ds.PositionReferenceIndicator = ""
    # NM image pixel / multi-frame
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [f"{scan.spacing_mm[0]:.4f}", f"{scan.spacing_mm[1]:.4f}"]
    ds.NumberOfFrames = len(frames)
    ds.FrameIncrementPointer = [pydicom.tag.Tag(0x0054, 0x0010), pydicom.tag.Tag(0x0054, 0x0020)]
    ds.EnergyWindowVector = ewv
    ds.NumberOfEnergyWindows = len(windows)
    ewis = []
    for i, (lo, hi) in enumerate(windows):
        it = Dataset()
        r = Dataset()
        r.EnergyWindowLowerLimit = f"{lo:.1f}"
        r.EnergyWindowUpperLimit = f"{hi:.1f}"
        it.EnergyWindowRangeSequence = Sequence([r])
        it.EnergyWindowName = "I123" if i == 0 else "SCATTER"
        ewis.append(it)
    ds.EnergyWindowInformationSequence = Sequence(ewis)
    ds.DetectorVector = detv
    ds.NumberOfDetectors = 2
    dis = []
    for d in (1, 2):
        it = Dataset()
        it.CollimatorGridName = scan.acquisition.collimator
        it.CollimatorType = "PARA"
        it.FieldOfViewShape = "RECTANGLE"
        it.FieldOfViewDimensions = [540, 400]
        it.ZoomFactor = [1.0, 1.0]
        it.RadialPosition = f"{meta['camera']['gap_ant_mm'] + 150:.1f}"
        it.ViewCodeSequence = Sequence([_code(*codes[det_view[d]])])
        # patient LPS: columns run to the patient's left (anterior detector) or right
        # (posterior detector, unmirrored); rows run to the feet (or the head, feet-first)
        xdir = 1 if det_view[d] == "anterior" else -1
        zdir = 1 if meta["feet_first"] else -1
        it.ImageOrientationPatient = [xdir, 0, 0, 0, 0, zdir]
        it.ImagePositionPatient = [f"{-xdir * cols * scan.spacing_mm[1] / 2:.1f}", "0.0",
                                   f"{-zdir * 0.0:.1f}"]
        dis.append(it)
    ds.DetectorInformationSequence = Sequence(dis)
    rp = Dataset()
    rp.Radiopharmaceutical = "Iobenguane I-123 (MIBG)"
    rp.RadiopharmaceuticalCodeSequence = Sequence([_code(*codes["mibg"])])
    rp.RadionuclideCodeSequence = Sequence([_code(*codes["i123"])])
    dose = float(np.clip(5.2 * meta["weight_kg"], 37.0, 400.0))
    rp.RadionuclideTotalDose = f"{dose:.1f}"
    rp.RadiopharmaceuticalStartTime = "100000"      # the day before (24 h uptake)
    rp.RadiopharmaceuticalRoute = "IV"
    ds.RadiopharmaceuticalInformationSequence = Sequence([rp])
    ds.ActualFrameDuration = int(scan.acquisition.frame_duration_ms)
    ds.ScanVelocity = f"{scan.acquisition.scan_velocity_mm_s:.2f}"
    ds.ScanLength = int(meta["scan_rows"] * scan.spacing_mm[0])
    ds.WholeBodyTechnique = ["1PS", "PCN"] if meta["camera"]["body_contour"] else ["1PS"]
    ds.CountsAccumulated = int(sum(int(f.sum()) for f, e in zip(frames, ewv, strict=True)
                                   if e == 1))
    ds.CorrectedImage = ["UNIF", "DECY"]
    ds.PixelData = np.stack(frames).tobytes()
    if ex["transfer"] == "rle":
        from pydicom.uid import RLELossless

        ds.compress(RLELossless)
    ds.save_as(path, enforce_file_format=True)
    return path
