"""Which frame of a DICOM NM file is which view, and in which energy window."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.tag import Tag

# View codes (CID 26): current SCT codes, legacy SRT codes, and the retired SRT codes.
VIEW_CODES = {
    "399321004": "anterior", "G-5215": "anterior", "G-5200": "anterior",
    "399001007": "posterior", "G-5216": "posterior", "G-5201": "posterior",
}
PHOTOPEAK_KEV = 159.0  # 123I

_ENERGY_WINDOW_VECTOR = Tag(0x0054, 0x0010)
_DETECTOR_VECTOR = Tag(0x0054, 0x0020)
_ANT = re.compile(r"(?<![A-Z])ANT(?:ERIOR|ERIEUR|\.)?(?![A-Z])")
_POST = re.compile(r"(?<![A-Z])POST(?:ERIOR|ERIEUR|\.)?(?![A-Z])")


@dataclass(frozen=True)
class Frame:
    """One frame of a file: its 0-based index, 1-based energy window and detector."""

    index: int
    window: int
    detector: int


@dataclass
class ViewGuess:
    """The view of one frame, and the rule that named it (``None`` when no rule could)."""

    frame: Frame
    view: str | None
    how: str
    guessed: bool  # True when taken from text or position: it becomes an assumption


def as_list(value) -> list:
    """pydicom returns a bare value for VM 1: make every multi-valued element a list."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value]
    try:
        return list(value)
    except TypeError:
        return [value]


def frames_of(ds: Dataset) -> tuple[list[Frame], list[str]]:
    """Map each frame to (energy window, detector) through Frame Increment Pointer (0028,0009).

    Returns the frames and the assumptions made (vectors missing or inconsistent).
    """
    n = int(ds.get("NumberOfFrames", 1) or 1)
    notes: list[str] = []
    pointers = [Tag(t) for t in as_list(ds.get("FrameIncrementPointer"))]
    vectors: dict[int, list[int]] = {}
    for tag in (_ENERGY_WINDOW_VECTOR, _DETECTOR_VECTOR):
        if tag in ds and ds[tag].value is not None:
            values = [int(v) for v in as_list(ds[tag].value)]
            if len(values) == n:
                vectors[tag] = values
            elif values:
                notes.append(f"{ds[tag].keyword} has {len(values)} values for {n} frames: ignored")
    if _DETECTOR_VECTOR in vectors or _ENERGY_WINDOW_VECTOR in vectors:
        windows = vectors.get(_ENERGY_WINDOW_VECTOR, [1] * n)
        detectors = vectors.get(_DETECTOR_VECTOR)
        if detectors is None:
            n_win = max(windows)
            detectors = _implied(n, windows, n_win)
            if n > n_win:
                notes.append("no Detector Vector: frames taken to follow detectors in order")
        if pointers and not set(pointers) & set(vectors):
            notes.append("Frame Increment Pointer names no energy window or detector vector")
        pairs = list(zip(windows, detectors, strict=True))
        if len(set(pairs)) < n:  # one detector twice in a window: frames taken in file order
            notes.append("several frames share one detector and energy window: they are taken "
                         "as successive views in file order")
            seen: dict[int, int] = {}
            detectors = []
            for w in windows:
                seen[w] = seen.get(w, 0) + 1
                detectors.append(seen[w])
        return [Frame(i, windows[i], detectors[i]) for i in range(n)], notes
    # No vectors at all: the frames are taken as detectors 1..n in one energy window, in order.
    if n > 1:
        notes.append(f"no Energy Window or Detector Vector: the {n} frames taken as detectors "
                     f"1 to {n} in file order")
    return [Frame(i, 1, i + 1) for i in range(n)], notes


def _implied(n: int, windows: list[int], n_win: int) -> list[int]:
    """Detector per frame when only the energy window vector exists (windows vary fastest)."""
    out, seen = [], {}
    for w in windows:
        seen[w] = seen.get(w, 0) + 1
        out.append(seen[w])
    return out


def window_ranges(ds: Dataset) -> dict[int, list[tuple[float, float]]]:
    """Energy ranges (keV) of each 1-based window, from Energy Window Information Sequence."""
    out: dict[int, list[tuple[float, float]]] = {}
    for i, item in enumerate(ds.get("EnergyWindowInformationSequence") or [], start=1):
        ranges = []
        for r in item.get("EnergyWindowRangeSequence") or []:
            try:
                lo = float(r.get("EnergyWindowLowerLimit"))
                hi = float(r.get("EnergyWindowUpperLimit"))
            except (TypeError, ValueError):  # missing or unreadable: this range is ignored
                continue
            ranges.append((lo, hi))
        out[i] = ranges
    return out


def window_name(ds: Dataset, window: int) -> str | None:
    """Energy Window Name (0054,0018) of a 1-based window, if any."""
    seq = ds.get("EnergyWindowInformationSequence") or []
    if 1 <= window <= len(seq):
        name = seq[window - 1].get("EnergyWindowName")
        return str(name) if name else None
    return None


def _code_view(seq) -> tuple[str | None, str | None]:
    for item in seq or []:
        value = str(item.get("CodeValue", "")).strip()
        if value in VIEW_CODES:
            scheme = str(item.get("CodingSchemeDesignator", "")).strip()
            return VIEW_CODES[value], f"{value}, {scheme}" if scheme else value
    return None, None


def text_view(text: str | None) -> str | None:
    """'anterior' or 'posterior' when the text names exactly one of them (ANT, POST...)."""
    if not text:
        return None
    up = str(text).upper()
    ant, post = bool(_ANT.search(up)), bool(_POST.search(up))
    if ant == post:
        return None
    return "anterior" if ant else "posterior"


def name_views(ds: Dataset, frames: list[Frame]) -> list[ViewGuess]:
    """Name the view of each frame (one energy window's frames), following the fallback order.

    Detector Information Sequence item -> View Code Sequence; root-level View Code Sequence (one
    detector only); Image ID / Series Description / Protocol Name text (one detector only);
    Patient Orientation (0020,0020) starting with R, a posterior (one detector only); the
    position in the file (first detector anterior, second posterior).
    """
    detectors = sorted({f.detector for f in frames})
    det_seq = ds.get("DetectorInformationSequence") or []
    out: list[ViewGuess] = []
    for f in frames:
        view = how = None
        guessed = False
        if 1 <= f.detector <= len(det_seq):
            view, code = _code_view(det_seq[f.detector - 1].get("ViewCodeSequence"))
            if view:
                how = (f"View Code Sequence ({code}) in Detector Information Sequence item "
                       f"{f.detector}")
        if view is None and len(detectors) == 1:
            view, code = _code_view(ds.get("ViewCodeSequence"))
            if view:
                how = f"View Code Sequence ({code}) at the top level of the file"
        if view is None and len(detectors) == 1:
            for keyword, label in (("ImageID", "Image ID"),
                                   ("SeriesDescription", "Series Description"),
                                   ("ProtocolName", "Protocol Name"),
                                   ("DerivationDescription", "Derivation Description")):
                text = ds.get(keyword)
                view = text_view(text)
                if view:
                    how = f"{label} '{text}'"
                    guessed = True
                    break
        if view is None and len(detectors) == 1:
            po = [str(v).upper() for v in as_list(ds.get("PatientOrientation"))]
            # Only R counts: L/F is what many cameras write on every image, posteriors included.
            if len(po) == 2 and po[0][:1] == "R" and po[1][:1] in ("F", "H"):
                view = "posterior"
                how = (f"Patient Orientation '{po[0]}\\{po[1]}' (the patient's right towards "
                       f"the image's right: seen from behind)")
                guessed = True
        out.append(ViewGuess(f, view, how or "", guessed))
    # Two detectors without codes: per-detector text (e.g. 'ANT' in Image ID) cannot tell them
    # apart, so fall back on the position in the file.
    if len(detectors) >= 2 and any(g.view is None for g in out):
        known = {g.view for g in out if g.view}
        ranks = {d: i for i, d in enumerate(detectors)}  # one look-up per frame, not a scan
        for g in out:
            if g.view is None:
                rank = ranks[g.frame.detector]
                pos = ("anterior", "posterior")[rank] if rank < 2 else None
                if pos in known or pos is None:
                    other = ({"anterior", "posterior"} - known)
                    pos = other.pop() if len(other) == 1 and len(detectors) == 2 else None
                g.view = pos
                g.how = (f"position in the file (detector {g.frame.detector} of "
                         f"{len(detectors)}: {pos})") if pos else ""
                g.guessed = True
    return out
