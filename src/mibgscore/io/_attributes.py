"""Patient, study, acquisition and tracer facts from a DICOM header, and pixel spacing guesses."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
from pydicom.dataset import Dataset

from mibgscore.io._views import PHOTOPEAK_KEV, as_list, window_ranges
from mibgscore.io.types import Acquisition, Patient, Study, Tracer

SECONDARY_CAPTURE = {
    "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7.1", "1.2.840.10008.5.1.4.1.1.7.2",
    "1.2.840.10008.5.1.4.1.1.7.3", "1.2.840.10008.5.1.4.1.1.7.4",
}
NM_IMAGE = "1.2.840.10008.5.1.4.1.1.20"
DEFAULT_SPACING_MM = 2.4

# CID 25 radiopharmaceuticals.
MIBG_CODES = {"395787009": "123I-MIBG", "395789007": "131I-MIBG",
              "C-B1045": "123I-MIBG", "C-B1047": "131I-MIBG"}
_MIBG_TEXT = re.compile(r"MIBG|IOBENGUAN|BENZYLGUANIDIN|METAIODOBENZYL|MJBG", re.IGNORECASE)
_TC_TEXT = re.compile(
    r"\bBONE\b|KNOCHEN|OSSEUSE|OSSEOUS|SKELET|\bMDP\b|\bHDP\b|\bHMDP\b|\bDPD\b|MEDRONATE|OXIDRONATE|"
    r"99M?\s*-?\s*TC|TC\s*-?\s*99M|TECHNETIUM|PERTECHNETATE|\bMIBI\b|SESTAMIBI|TETROFOSMIN|\bMAG3\b|"
    r"\bDMSA\b|\bDTPA\b|OCTREO|\bGA-?68|\bIN-?111|\bF-?18|FDG",
    re.IGNORECASE)
_BONE_TEXT = re.compile(r"\bBONE\b|KNOCHEN|OSSEUSE|OSSEOUS|SKELET|\bMDP\b|\bHDP\b|\bHMDP\b|\bDPD\b|"
                        r"MEDRONATE|OXIDRONATE", re.IGNORECASE)
_OTHER_NUCLIDE = re.compile(r"TC|TECHNETIUM|GALLIUM|INDIUM|FLUOR|THALLIUM|XENON|KRYPTON|"
                            r"44588005", re.IGNORECASE)
_IODINE = re.compile(r"IODINE|I-?12[3-5]|I-?131|12[3-5]I|131I|21572004|35530002", re.IGNORECASE)


def _text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _float(ds: Dataset, keyword: str) -> float | None:
    value = ds.get(keyword)
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None


def _date(value) -> dt.date | None:
    text = str(value or "").strip()
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date() if len(text) >= 8 else None
    except ValueError:
        return None


def _age_years(text: str | None) -> float | None:
    """Patient's Age (0010,1010), e.g. '012Y', '006M', '010W', '003D', in years."""
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d{1,3})\s*([DWMY]?)\s*", text.upper())
    if not m:
        return None
    n = int(m.group(1))
    return {"D": n / 365.25, "W": n * 7 / 365.25, "M": n / 12, "Y": float(n), "": float(n)}[
        m.group(2)]


def patient_of(ds: Dataset) -> Patient:
    """Patient attributes; Patient's Size (0010,1020) in m becomes cm, 0 meaning missing."""
    birth = _date(ds.get("PatientBirthDate"))
    study_date = _date(ds.get("StudyDate")) or _date(ds.get("AcquisitionDate")) or _date(
        ds.get("SeriesDate"))
    age = _age_years(_text(ds, "PatientAge"))
    if birth is not None and study_date is not None and study_date >= birth:
        exact = round((study_date - birth).days / 365.25, 2)
        # Patient's Age is cut to whole years: the dates refine it when they agree with it.
        if age is None or abs(exact - age) < 1.0:
            age = exact
    size_m = _float(ds, "PatientSize")
    weight = _float(ds, "PatientWeight")
    sex = _text(ds, "PatientSex")
    name = ds.get("PatientName")
    return Patient(
        patient_id=_text(ds, "PatientID"),
        name=str(name).strip() or None if name is not None else None,
        birth_date=birth,
        age_years=None if age is None else round(age, 2),
        sex=sex.upper() if sex else None,
        height_cm=round(size_m * 100, 1) if size_m and size_m > 0 else None,
        weight_kg=weight if weight and weight > 0 else None,
    )


def study_of(ds: Dataset, sop_uids: tuple[str, ...]) -> Study:
    """Study identity: UIDs, date, description."""
    return Study(
        study_uid=_text(ds, "StudyInstanceUID"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        sop_instance_uids=sop_uids,
        study_date=_date(ds.get("StudyDate")),
        description=_text(ds, "StudyDescription") or _text(ds, "SeriesDescription"),
        accession_number=_text(ds, "AccessionNumber"),
    )


def acquisition_of(ds: Dataset, window: int, transfer_syntax: str | None) -> Acquisition:
    """Camera and acquisition facts, with the energy window of the frames that were read."""
    det = (ds.get("DetectorInformationSequence") or [None])[0]
    collimator = None
    if det is not None:
        collimator = str(det.get("CollimatorGridName", "") or det.get("CollimatorType", "")
                         ).strip() or None
    ranges = window_ranges(ds).get(window) or []
    kev = (min(r[0] for r in ranges), max(r[1] for r in ranges)) if ranges else None
    counts = ds.get("CountsAccumulated")
    duration = _float(ds, "ActualFrameDuration")
    return Acquisition(
        sop_class_uid=_text(ds, "SOPClassUID"),
        modality=_text(ds, "Modality"),
        transfer_syntax_uid=transfer_syntax,
        image_type=tuple(str(v) for v in as_list(ds.get("ImageType"))),
        manufacturer=_text(ds, "Manufacturer"),
        model=_text(ds, "ManufacturerModelName"),
        collimator=collimator,
        energy_window_kev=kev,
        frame_duration_ms=duration,
        scan_velocity_mm_s=_float(ds, "ScanVelocity"),
        counts_accumulated=int(counts) if counts not in (None, "") else None,
    )


def _contains(ranges: list[tuple[float, float]], kev: float) -> bool:
    return any(lo <= kev <= hi for lo, hi in ranges)


def tracer_of(ds: Dataset) -> Tracer:
    """The radiopharmaceutical, from codes, then text, then energy windows and descriptions.

    Radiopharmaceutical Information Sequence (0054,0016): Radiopharmaceutical Code Sequence
    (123I-MIBG 395787009, 131I-MIBG 395789007), Radiopharmaceutical text; else Study/Series
    Description and Protocol Name naming MIBG or a 99mTc agent; else an energy window around
    140 keV not containing 159 keV (99mTc).
    """
    for item in ds.get("RadiopharmaceuticalInformationSequence") or []:
        nuclide = None
        for code in item.get("RadionuclideCodeSequence") or []:
            nuclide = str(code.get("CodeMeaning", "") or code.get("CodeValue", "")).strip() or None
        for code in item.get("RadiopharmaceuticalCodeSequence") or []:
            value = str(code.get("CodeValue", "")).strip()
            meaning = str(code.get("CodeMeaning", "")).strip() or value
            if value in MIBG_CODES:
                return Tracer("mibg", MIBG_CODES[value], nuclide, value,
                              f"Radiopharmaceutical Code Sequence ({value})")
            if value:
                if _MIBG_TEXT.search(meaning):
                    return Tracer("mibg", meaning, nuclide, value,
                                  "Radiopharmaceutical Code Sequence (code meaning)")
                return Tracer("other", meaning, nuclide, value,
                              f"Radiopharmaceutical Code Sequence ({value})")
        text = str(item.get("Radiopharmaceutical", "") or "").strip()
        if text:
            if _MIBG_TEXT.search(text):
                return Tracer("mibg", text, nuclide, None, "Radiopharmaceutical text")
            return Tracer("other", text, nuclide, None, "Radiopharmaceutical text")
        if nuclide and _OTHER_NUCLIDE.search(nuclide) and not _IODINE.search(nuclide):
            return Tracer("other", nuclide, nuclide, None, "Radionuclide Code Sequence")
    texts = [(label, _text(ds, kw)) for kw, label in (
        ("StudyDescription", "Study Description"), ("SeriesDescription", "Series Description"),
        ("ProtocolName", "Protocol Name"), ("ImageComments", "Image Comments"))]
    texts = [(label, t) for label, t in texts if t]
    for label, text in texts:
        if _MIBG_TEXT.search(text):
            return Tracer("mibg", "MIBG", None, None, f"{label} '{text}'")
    for label, text in texts:
        if _TC_TEXT.search(text):
            bone = bool(_BONE_TEXT.search(text))
            name = "a 99mTc bone scan" if bone else f"not MIBG ({text})"
            return Tracer("other", name, "99mTc" if bone else None, None, f"{label} '{text}'")
    ranges = [r for rs in window_ranges(ds).values() for r in rs]
    if ranges and _contains(ranges, 140.0) and not _contains(ranges, PHOTOPEAK_KEV) and not \
            _contains(ranges, 364.0):
        return Tracer("other", "a 99mTc scan", "99mTc", None,
                      "energy window around 140 keV without 159 keV")
    return Tracer()


# Median standing height (cm) by age (years), both sexes, WHO 0-5 y and CDC 2-20 y charts.
_AGE = np.array([0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 99.0])
_HEIGHT = np.array([50, 67, 75, 87, 96, 103, 110, 116, 122, 128, 133, 138, 144, 150, 156,
                    162, 166, 169, 171, 171.0])


def height_from_age_cm(age_years: float) -> float:
    """Median height of a child of this age (WHO and CDC growth charts, sexes pooled)."""
    return float(np.interp(age_years, _AGE, _HEIGHT))


def body_rows(image: np.ndarray) -> int:
    """Rows from the top of the head to the soles, from the row profile of a whole-body view.

    Rows above 5 % of the 90th-percentile row sum, joined across short gaps; the run holding
    the most counts is the body (isolated hot rows, such as a marker or contamination, are not).
    """
    profile = image.astype(np.float64).sum(axis=1)
    if profile.size >= 5:
        profile = np.convolve(profile, np.ones(5) / 5, mode="same")
    lo, hi = np.percentile(profile, 5), np.percentile(profile, 90)
    rows = np.flatnonzero(profile > lo + 0.05 * (hi - lo))
    if rows.size == 0:
        return image.shape[0]
    gap = max(3, image.shape[0] // 50)
    breaks = np.flatnonzero(np.diff(rows) > gap)
    starts = np.r_[rows[0], rows[breaks + 1]]
    ends = np.r_[rows[breaks], rows[-1]]
    best = max(range(len(starts)), key=lambda i: profile[starts[i]:ends[i] + 1].sum())
    return int(ends[best] - starts[best] + 1)


def estimate_spacing(image: np.ndarray, patient: Patient) -> tuple[float, str]:
    """Guess the pixel spacing (mm) when the file has none: body length over rows, or 2.4 mm.

    Returns the spacing and the sentence that says how it was guessed.
    """
    n = body_rows(image)
    if patient.height_cm:
        s = patient.height_cm * 10 / n
        how = (f"pixel spacing estimated from patient height ({patient.height_cm:g} cm over "
               f"{n} rows of body): {s:.2f} mm")
    elif patient.age_years is not None:
        h = height_from_age_cm(patient.age_years)
        s = h * 10 / n
        how = (f"pixel spacing estimated from patient age ({patient.age_years:g} years, median "
               f"height {h:.0f} cm, over {n} rows of body): {s:.2f} mm")
    else:
        return DEFAULT_SPACING_MM, (f"pixel spacing unknown (no Pixel Spacing, height or age): "
                                    f"{DEFAULT_SPACING_MM} mm assumed")
    if not 0.5 <= s <= 8.0:  # a partial-body image or a failed profile: do not trust it
        return DEFAULT_SPACING_MM, (f"{how}, outside 0.5-8 mm, so {DEFAULT_SPACING_MM} mm "
                                    f"assumed instead")
    return round(s, 3), how


def spacing_of(ds: Dataset) -> tuple[tuple[float, float] | None, str | None]:
    """Pixel Spacing (0028,0030) (row, col) in mm, else Imager / Nominal Scanned Pixel Spacing."""
    for keyword, label in (("PixelSpacing", "Pixel Spacing"),
                           ("ImagerPixelSpacing", "Imager Pixel Spacing"),
                           ("NominalScannedPixelSpacing", "Nominal Scanned Pixel Spacing")):
        values = as_list(ds.get(keyword))
        try:
            vals = [float(v) for v in values]
        except (TypeError, ValueError):
            continue
        if len(vals) == 1:
            vals = vals * 2
        if len(vals) >= 2 and vals[0] > 0 and vals[1] > 0:
            return (vals[0], vals[1]), label
    return None, None


def row_direction_is_right(ds: Dataset, detector: int, n_detectors: int) -> bool | None:
    """Whether the image row runs towards the patient's right (seen from behind): True/False/None.

    From Image Orientation (Patient) (0020,0037) of the Detector Information Sequence item, else
    Patient Orientation (0020,0020) for a single-detector file.
    """
    det_seq = ds.get("DetectorInformationSequence") or []
    if 1 <= detector <= len(det_seq):
        iop = as_list(det_seq[detector - 1].get("ImageOrientationPatient"))
        if len(iop) == 6:
            x = float(iop[0])
            if abs(x) > 0.5:
                return x < 0
    if n_detectors == 1:
        po = [str(v).upper() for v in as_list(ds.get("PatientOrientation"))]
        if po and po[0][:1] in ("L", "R"):
            return po[0][:1] == "R"
    return None
