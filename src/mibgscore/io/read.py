"""Read whole-body NM scans from DICOM files, folders, .zip archives and DICOMDIRs.

One :class:`~mibgscore.io.types.Scan` per study (per series when a study holds several complete
pairs of views): anterior and posterior counts, the posterior mirrored into the anterior's
orientation, with every guess made on the way in ``Scan.assumptions``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import pixel_array
from pydicom.uid import UID

from mibgscore.errors import InputError, UnsupportedScanError, WrongTracerError
from mibgscore.io._attributes import (
    NM_IMAGE,
    SECONDARY_CAPTURE,
    acquisition_of,
    body_rows,
    estimate_spacing,
    patient_of,
    row_direction_is_right,
    spacing_of,
    study_of,
    tracer_of,
)
from mibgscore.io._decoder import decode_in_worker
from mibgscore.io._sources import Source, expand
from mibgscore.io._views import (
    PHOTOPEAK_KEV,
    Frame,
    ViewGuess,
    as_list,
    frames_of,
    name_views,
    window_name,
    window_ranges,
)
from mibgscore.io.limits import check_body, check_field, check_header
from mibgscore.io.types import Scan, Tracer, ViewSource

logger = logging.getLogger(__name__)

I131_KEV = 364.0
BODY_CHECK_ROWS = 512
"""Matrices of fewer rows (test phantoms, spot-sized images) are too coarse for the body's
length to be compared with the patient's height."""

__all__ = ["iter_scans", "read_scan", "read_scans", "scan_summary"]

_MODALITY_NAMES = {"CT": "a CT", "MR": "an MR", "PT": "a PET", "CR": "a radiograph",
                   "DX": "a radiograph", "US": "an ultrasound", "XA": "an angiography",
                   "MG": "a mammography", "SR": "a structured report", "PR": "a presentation state",
                   "SEG": "a segmentation", "DOC": "a document", "KO": "a key object selection",
                   "RTSTRUCT": "a structure set", "RTPLAN": "a treatment plan"}
_NON_IMAGES = {"SR", "PR", "KO", "DOC", "SEG", "RTSTRUCT", "RTPLAN", "REG", "RWV", "PLAN",
               "ECG", "AU"}
_OTHER_ACQUISITIONS = {"DYNAMIC": "a dynamic acquisition", "GATED": "a gated acquisition",
                       "TOMO": "a SPECT acquisition", "GATED TOMO": "a gated SPECT acquisition",
                       "RECON TOMO": "a SPECT reconstruction",
                       "RECON GATED TOMO": "a gated SPECT reconstruction"}


@dataclass
class _File:
    """One DICOM image file, header only, with its frames of the chosen energy window named."""

    source: Source
    ds: Dataset
    guesses: list[ViewGuess]
    window: int
    notes: list[str]

    @property
    def study_uid(self) -> str:
        return str(self.ds.get("StudyInstanceUID", "") or "") or f"no-study:{self.source.label}"

    @property
    def series_uid(self) -> str:
        return str(self.ds.get("SeriesInstanceUID", "") or "") or f"no-series:{self.source.label}"

    @property
    def order(self) -> tuple:
        n = self.ds.get("InstanceNumber")
        try:
            n = int(n)
        except (TypeError, ValueError):
            n = 10**9
        return (n, self.source.label)


@dataclass
class _Part:
    """One view image: a frame of a file and the view it shows."""

    file: _File
    guess: ViewGuess

    @property
    def view(self) -> str | None:
        return self.guess.view


@dataclass
class _Group:
    """The parts that make one scan (one or two views), and notes about how they were paired."""

    parts: list[_Part]
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- public functions


def read_scan(path: str | os.PathLike, *, force: bool = False,
              allow_single_view: bool = False) -> Scan:
    """Read one whole-body MIBG study from a file, a folder, a .zip archive or a DICOMDIR.

    Parameters
    ----------
    path : str or PathLike
        A DICOM file (multi-frame NM with both views, or one view), a folder or .zip holding the
        files of one study, or a DICOMDIR.
    force : bool
        Read a study whose tracer is not MIBG (a bone scan, say) instead of refusing it.
    allow_single_view : bool
        Read a study where only one view was found; the missing view is None.

    Returns
    -------
    Scan
        Counts as float32, posterior mirrored into the anterior orientation.

    Raises
    ------
    InputError
        One sentence naming the file: not DICOM, not NM, truncated, no counts, several studies...
    UnsupportedScanError
        Spot views, one view only (without ``allow_single_view``), CT and other modalities.
    WrongTracerError
        Another tracer than MIBG (without ``force``).
    """
    scans: list[Scan] = []
    errors: list[InputError] = []
    for item in iter_scans([path], force=force, allow_single_view=allow_single_view):
        (errors if isinstance(item, InputError) else scans).append(item)
    if not scans:
        if errors:
            raise errors[0]
        raise InputError("holds no readable scan", path=str(path))
    if len(scans) > 1:
        studies = {s.study.study_uid for s in scans}
        what = (f"{len(studies)} studies" if len(studies) > 1
                else f"{len(scans)} scans of one study")
        raise InputError(f"holds {what}; use read_scans() or `mibgscore batch` to read them all",
                         path=str(path))
    for err in errors:
        logger.warning("skipped while reading a scan: %s", err.reason)
    return scans[0]


def read_scans(paths: Iterable[str | os.PathLike] | str | os.PathLike, *, force: bool = False,
               allow_single_view: bool = False) -> list[Scan]:
    """Read every study found in files, folders, .zip archives and DICOMDIRs.

    Files that cannot be read are skipped with a warning; the first of their errors is raised
    only when nothing at all could be read. Options as in :func:`read_scan`.
    """
    scans: list[Scan] = []
    errors: list[InputError] = []
    for item in iter_scans(paths, force=force, allow_single_view=allow_single_view):
        if isinstance(item, InputError):
            errors.append(item)
            logger.warning("skipped: %s", item.reason)
        else:
            scans.append(item)
    if not scans and errors:
        raise errors[0]
    return scans


def iter_scans(paths: Iterable[str | os.PathLike] | str | os.PathLike, *, force: bool = False,
               allow_single_view: bool = False) -> Iterator[Scan | InputError]:
    """Yield one Scan per study found, or an InputError for each input that cannot be read.

    Files are grouped by Study Instance UID, then by series and view. A bad file yields its
    InputError (with ``.path`` set) and the iteration goes on: it never raises for a bad file.
    One input gives at most one error: a file's later errors are dropped, and the members of
    a zip archive that cannot be read make one error for the archive.
    Options as in :func:`read_scan`.
    """
    said: set[str] = set()
    members: dict[str, list[InputError]] = {}
    for item in _iter_scans(paths, force=force, allow_single_view=allow_single_view):
        if not isinstance(item, InputError):
            yield item
            continue
        label = item.path or ""
        if label in said:
            logger.debug("another error of the same file: %s", item.reason)
            continue
        said.add(label)
        archive, bang, _ = label.partition("!")
        if bang:
            members.setdefault(archive, []).append(item)
        else:
            yield item
    for archive, errors in members.items():
        if len(errors) == 1:
            yield errors[0]
        else:
            first = errors[0]
            member = (first.path or "").partition("!")[2]
            yield type(first)(f"{len(errors)} of its members could not be read; the first, "
                              f"{member}: {first.reason}", path=archive)


def _iter_scans(paths: Iterable[str | os.PathLike] | str | os.PathLike, *, force: bool,
                allow_single_view: bool) -> Iterator[Scan | InputError]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[_File] = []
    rejected: dict[tuple[str, str], list[Source]] = {}
    for item in expand(paths):
        if isinstance(item, InputError):
            yield item
            continue
        try:
            f = _inspect(item)
        except _Rejected as rej:
            rejected.setdefault((rej.series, rej.message), []).append(item)
            continue
        except InputError as exc:
            yield exc
            continue
        except _DAMAGE as exc:  # garbage in an attribute the reader needs
            yield _damaged(item.label, exc)
            continue
        except MemoryError:
            yield _no_memory(item.label)
            continue
        if f is not None:
            files.append(f)
    for (_, message), sources in rejected.items():
        more = len(sources) - 1
        tail = f" (and {more} more file{'s' if more > 1 else ''} of its series)" if more else ""
        yield UnsupportedScanError(message + tail, path=sources[0].label)
    for group in _group(files):
        try:
            yield _assemble(group, force=force, allow_single_view=allow_single_view)
        except InputError as exc:
            yield exc
        except _DAMAGE as exc:
            yield _damaged(group.parts[0].file.source.label, exc)
        except MemoryError:
            yield _no_memory(group.parts[0].file.source.label)


_DAMAGE = (ValueError, TypeError, AttributeError, KeyError, IndexError, NotImplementedError,
           OverflowError)


def _no_memory(label: str) -> InputError:
    """One sentence for a file that needed more memory than there is."""
    return InputError("needs more memory to read than this computer has free; the file is "
                      "probably damaged", path=label)


def _damaged(label: str, exc: BaseException) -> InputError:
    """One sentence for a file whose attributes hold values the reader cannot use."""
    logger.debug("unusable attribute value", exc_info=exc)
    text = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
    return InputError(f"is a damaged DICOM file: an attribute holds an unusable value ({text})",
                      path=label)


# --------------------------------------------------------------------------- one file's header


class _Rejected(Exception):
    """A file that is DICOM but not a whole-body NM image; reported once per series."""

    def __init__(self, series: str, message: str) -> None:
        super().__init__(message)
        self.series, self.message = series, message


def _inspect(source: Source) -> _File | None:
    """Read a header, refuse what is not a whole-body NM image, name the views of its frames."""
    ds = source.read_header()
    series = str(ds.get("SeriesInstanceUID", "") or source.label)
    sop = str(ds.get("SOPClassUID", "") or "")
    modality = str(ds.get("Modality", "") or "").upper()
    if sop == "1.2.840.10008.1.3.10":
        return None  # a DICOMDIR met inside a folder: the files it lists are walked anyway
    if "Rows" not in ds or "Columns" not in ds:
        if modality in _NON_IMAGES:  # reports, presentation states... met beside the images
            if not source.given:
                logger.debug("skipped a non-image DICOM object (%s)", modality)
                return None
            what = _MODALITY_NAMES.get(modality, f"a {modality} object")
            raise _Rejected(series, f"is {what}, not an image")
        raise InputError("has no image (Rows and Columns missing): is the file truncated?",
                         path=source.label)
    if sop != NM_IMAGE and sop not in SECONDARY_CAPTURE and modality != "NM":
        what = _MODALITY_NAMES.get(modality, f"a {modality or 'non-NM'} image")
        raise _Rejected(series, f"is {what} (Modality {modality or 'missing'}), not a nuclear "
                                f"medicine whole-body scan")
    if sop in SECONDARY_CAPTURE and modality not in ("NM", "OT", ""):
        raise _Rejected(series, f"is a Secondary Capture of Modality {modality}, not a nuclear "
                                f"medicine whole-body scan")
    if int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        raise _Rejected(series, "is a colour image (a screen capture?), not a count image; "
                                "export the original NM study instead")
    image_type = [str(v).upper() for v in as_list(ds.get("ImageType"))]
    kind = image_type[2] if len(image_type) > 2 else ""
    if kind == "STATIC":
        raise _Rejected(series, "is a spot view (Image Type STATIC): spot views are not supported "
                                "yet, only whole-body scans")
    if kind in _OTHER_ACQUISITIONS:
        raise _Rejected(series, f"is {_OTHER_ACQUISITIONS[kind]} (Image Type {kind}), not a "
                                f"whole-body scan")
    check_header(ds, source.label)
    frames, notes = frames_of(ds)
    window, more_notes = _choose_window(source, ds, frames)
    notes += more_notes
    chosen = [f for f in frames if f.window == window]
    guesses = name_views(ds, chosen)
    return _File(source, ds, guesses, window, notes)


def _choose_window(source: Source, ds: Dataset, frames: list[Frame]) -> tuple[int, list[str]]:
    """The photopeak energy window: the one whose range holds 159 keV, else the most counts."""
    windows = sorted({f.window for f in frames})
    if len(windows) == 1:
        return windows[0], []
    ranges = window_ranges(ds)
    for kev in (PHOTOPEAK_KEV, I131_KEV):
        holding = [w for w in windows if any(lo <= kev <= hi for lo, hi in ranges.get(w, []))]
        if holding:  # the narrowest window around the photopeak
            w = min(holding, key=lambda w: min(hi - lo for lo, hi in ranges[w]))
            return w, []
    pixels = _decode(source, _pixel_dataset(source, ds))
    sums = {w: float(sum(pixels[f.index].sum() for f in frames if f.window == w)) for w in windows}
    w = max(windows, key=lambda w: sums[w])
    label = window_name(ds, w) or f"window {w}"
    return w, [f"no energy window holds {PHOTOPEAK_KEV:g} keV: the window with the most counts "
               f"({label}) taken as the photopeak"]


# --------------------------------------------------------------------------- pairing views


def _group(files: list[_File]) -> list[_Group]:
    """Group the view images by study, then series, and pair anterior with posterior."""
    studies: dict[str, list[_File]] = {}
    for f in files:
        studies.setdefault(f.study_uid, []).append(f)
    groups: list[_Group] = []
    for study_files in studies.values():
        series: dict[str, list[_File]] = {}
        for f in sorted(study_files, key=lambda f: f.order):
            series.setdefault(f.series_uid, []).append(f)
        leftovers: list[_Part] = []
        for series_files in series.values():
            parts = [_Part(f, g) for f in series_files for g in f.guesses]
            _resolve_unknown(parts)
            # A file holding both views makes one scan by itself.
            singles: list[_Part] = []
            for f in series_files:
                own = [p for p in parts if p.file is f]
                if sorted(p.view for p in own) == ["anterior", "posterior"]:
                    groups.append(_Group(own))
                else:
                    singles.extend(own)
            leftovers.extend(_pair(singles, groups, note=None))
        rest = _pair(leftovers, groups,
                     note="anterior and posterior views paired across two series of the study")
        groups.extend(_Group([p]) for p in rest)
    return groups


def _pair(parts: list[_Part], groups: list[_Group], note: str | None) -> list[_Part]:
    """Pair one anterior with one posterior when exactly one of each is there; return the rest."""
    ant = [p for p in parts if p.view == "anterior"]
    post = [p for p in parts if p.view == "posterior"]
    if len(ant) == 1 and len(post) == 1:
        groups.append(_Group([ant[0], post[0]], [note] if note else []))
        return [p for p in parts if p is not ant[0] and p is not post[0]]
    if ant and len(ant) == len(post):  # several acquisitions of the same series: by order
        for a, p in zip(ant, post, strict=True):
            groups.append(_Group([a, p], ["views paired by instance order within the series"]))
        return [p for p in parts if p.view not in ("anterior", "posterior")]
    return parts


def _resolve_unknown(parts: list[_Part]) -> None:
    """Name the views no rule could name, from their place in the series."""
    unknown = [p for p in parts if p.view is None]
    if not unknown:
        return
    known = [p.view for p in parts if p.view is not None]
    if (len(unknown) == 2 and not known and unknown[0].file is not unknown[1].file
            and not _copies(unknown[0].file.ds, unknown[1].file.ds)):
        for p, view in zip(unknown, ("anterior", "posterior"), strict=True):
            p.guess.view, p.guess.guessed = view, True
            p.guess.how = (f"position in the series (instance {p.file.order[0]}, "
                           f"first anterior, second posterior)")
        return
    if len(unknown) == 1 and len(known) == 1:
        view = "posterior" if known[0] == "anterior" else "anterior"
        unknown[0].guess.view, unknown[0].guess.guessed = view, True
        unknown[0].guess.how = f"the other view of the series (which holds the {known[0]})"
        return
    for p in unknown:
        p.guess.view, p.guess.guessed = "anterior", True
        p.guess.how = "position in the file (frame 1 taken as anterior)"


def _copies(a: Dataset, b: Dataset) -> bool:
    """Whether two files are copies of one image (e.g. lossless and lossy exports)."""
    def sources(ds: Dataset) -> set[str]:
        return {str(item.get("ReferencedSOPInstanceUID", ""))
                for item in ds.get("SourceImageSequence") or []} - {""}

    return bool(sources(a) & sources(b))


# --------------------------------------------------------------------------- one scan


def _assemble(group: _Group, *, force: bool, allow_single_view: bool) -> Scan:
    """Check tracer and views, decode the pixels, and build the Scan."""
    parts = {p.view: p for p in group.parts}
    first = parts.get("anterior") or parts["posterior"]
    files = list({id(p.file): p.file for p in group.parts}.values())
    label = first.file.source.label
    assumptions: list[str] = []
    for f in files:
        for note in f.notes:
            if note not in assumptions:
                assumptions.append(note)
    assumptions += group.notes

    tracer = _tracer([f.ds for f in files])
    if tracer.status == "other":
        if not force:
            raise WrongTracerError(_tracer_sentence(tracer) + "; use --force to read it anyway",
                                   path=label)
        assumptions.append(_tracer_sentence(tracer) + ": read anyway because of --force")
    elif tracer.status == "unknown":
        assumptions.append("no tracer information in the file: taken to be 123I-MIBG")

    if len(parts) == 1:
        (only,) = parts
        missing = "posterior" if only == "anterior" else "anterior"
        if not allow_single_view:
            raise UnsupportedScanError(
                f"only the {only} view was found; the {missing} view is missing, so the study "
                f"cannot be scored (use --single-view to read it anyway)", path=label)
        assumptions.append(f"only the {only} view was found: the {missing} view is missing")

    views: dict[str, np.ndarray] = {}
    sources: dict[str, ViewSource] = {}
    decoded: dict[int, np.ndarray] = {}
    for view in ("anterior", "posterior"):
        part = parts.get(view)
        if part is None:
            continue
        f = part.file
        if id(f) not in decoded:
            decoded[id(f)] = _counts(f.source, _pixel_dataset(f.source, f.ds))
            f.ds.pop(_PIXEL_DATA, None)  # the counts are kept: free the file's bytes
        image = decoded[id(f)][part.guess.frame.index]
        n_det = len({g.frame.detector for g in f.guesses})
        right = row_direction_is_right(f.ds, part.guess.frame.detector, n_det)
        how = part.guess.how
        # Cameras store the posterior as seen from behind; orientation attributes are too often
        # copied from the anterior to be trusted, so they only raise a warning.
        if view == "posterior":
            image = image[:, ::-1]
            how += "; mirrored left-right into the anterior orientation"
            if right is False:
                assumptions.append("the file's orientation attributes say the posterior view is "
                                   "already in the anterior orientation, but it was mirrored as "
                                   "cameras store it: check the patient's right side")
        elif right is True:
            assumptions.append("the file's orientation attributes say the anterior view is "
                               "stored as seen from behind, but it was not mirrored: check the "
                               "patient's right side")
        if float(image.max(initial=0)) <= 0:
            raise InputError(f"the {view} view holds no counts (every pixel is 0 or less)",
                             path=f.source.label)
        views[view] = np.ascontiguousarray(image, dtype=np.float32)
        sources[view] = ViewSource(f.source.label, part.guess.frame.index, how)
        if part.guess.guessed:
            assumptions.append(f"{view} view taken from {part.guess.how}")

    if len(views) == 2 and views["anterior"].shape != views["posterior"].shape:
        a, p = views["anterior"].shape, views["posterior"].shape
        raise UnsupportedScanError(
            f"the anterior ({a[1]} x {a[0]}) and posterior ({p[1]} x {p[0]}) views differ in "
            f"size and cannot form one scan", path=label)

    ds = first.file.ds
    patient = patient_of(ds)
    spacing, spacing_from = spacing_of(ds)
    sop = str(ds.get("SOPClassUID", ""))
    if spacing is None:
        image = sum(v for v in views.values())
        spacing_value, sentence = estimate_spacing(image, patient)
        spacing = (spacing_value, spacing_value)
        what = "a Secondary Capture image without" if sop in SECONDARY_CAPTURE else "no"
        assumptions.append(f"{what} Pixel Spacing: {sentence}")
    else:
        if sop in SECONDARY_CAPTURE:
            assumptions.append(f"a Secondary Capture image: pixel spacing "
                               f"{spacing[0]:g} x {spacing[1]:g} mm taken from {spacing_from}, "
                               f"which a Secondary Capture does not guarantee")
        elif spacing_from != "Pixel Spacing":
            assumptions.append(f"no Pixel Spacing: spacing taken from {spacing_from}")
        check_field(next(iter(views.values())).shape, spacing, label, spacing_from or "")
        image = sum(v for v in views.values())
        note = check_body(body_rows(image) * spacing[0], patient.height_cm, spacing[0],
                          spacing_from or "") if image.shape[0] >= BODY_CHECK_ROWS else None
        if note:
            assumptions.append(note)
        if len(files) == 2:
            other, _ = spacing_of(files[1].ds)
            if other is not None and not np.allclose(other, spacing, rtol=1e-3):
                assumptions.append(f"the two views give different pixel spacings ({spacing} and "
                                   f"{other} mm): the {first.view} view's is used")

    sop_uids = tuple(dict.fromkeys(str(f.ds.get("SOPInstanceUID", "")) for f in files
                                   if f.ds.get("SOPInstanceUID")))
    ts = first.file.ds.file_meta.get("TransferSyntaxUID") if hasattr(first.file.ds, "file_meta") \
        else None
    scan = Scan(
        anterior=views.get("anterior"),
        posterior=views.get("posterior"),
        spacing_mm=(float(spacing[0]), float(spacing[1])),
        patient=patient,
        study=study_of(ds, sop_uids),
        tracer=tracer,
        acquisition=acquisition_of(ds, first.file.window, str(ts) if ts else None),
        sources=sources,
        assumptions=tuple(dict.fromkeys(assumptions)),
        path=_common_path(files),
    )
    logger.info("read a scan: %d view(s), %d x %d, %.2f mm", len(views), scan.shape[1],
                scan.shape[0], scan.spacing_mm[0])
    return scan


def _tracer(datasets: list[Dataset]) -> Tracer:
    found = [tracer_of(ds) for ds in datasets]
    for status in ("mibg", "other"):
        for t in found:
            if t.status == status:
                return t
    return found[0]


def _tracer_sentence(tracer: Tracer) -> str:
    name = tracer.name or "another tracer"
    if tracer.code or tracer.how.startswith("Radio"):
        return f"the tracer is {name} ({tracer.how}), not MIBG"
    if not name.startswith(("a ", "an ", "not ")):
        name = f"a {name} scan"
    if name.startswith("not "):
        return f"the study is {name} ({tracer.how})"
    return f"the study looks like {name} ({tracer.how}), not MIBG"


def _common_path(files: list[_File]) -> str:
    paths = sorted({f.source.path for f in files})
    if len(paths) == 1:
        return paths[0] if files[0].source.member is None or len(files) > 1 \
            else files[0].source.label
    try:
        return os.path.commonpath(paths)
    except ValueError:
        return paths[0]


# --------------------------------------------------------------------------- pixels


_PIXEL_DATA = 0x7FE00010


def _pixel_dataset(source: Source, header: Dataset) -> Dataset:
    """The dataset to decode: the header itself when its Pixel Data is deferred, else a re-read."""
    if _PIXEL_DATA in header:
        return header
    return source.read_full()


def _decode(source: Source, ds: Dataset) -> np.ndarray:
    """All frames as an array of shape (frames, rows, cols); one sentence when that fails."""
    ts = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if "PixelData" not in ds:
        raise InputError("has no pixel data: is the file truncated?", path=source.label)
    rows, cols = int(ds.Rows), int(ds.Columns)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    try:
        compressed = ts is not None and UID(str(ts)).is_compressed
    except ValueError:
        raise InputError(f"has an unknown transfer syntax ({ts})", path=source.label) from None
    if not compressed:
        bits = int(ds.get("BitsAllocated", 16) or 16)
        expected = rows * cols * n * bits // 8
        got = len(ds.PixelData)
        if got < expected:
            raise InputError(f"has truncated pixel data ({got:,} of {expected:,} bytes)",
                             path=source.label)
    name = UID(str(ts)).name if ts else "an unknown transfer syntax"
    if compressed and UID(str(ts)).is_encapsulated:  # decoders that can crash: in the worker
        arr = decode_in_worker(ds, str(ts), name, source.label)
        return _shaped(arr, n, rows, cols, source)
    try:
        arr = pixel_array(ds)
    except (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError):
        raise
    except BaseException as exc:
        text = str(exc)
        if "not support" in text.lower() or "no plugin" in text.lower() or \
                "no pixel data decoders" in text.lower():
            hint = (" (install pylibjpeg-libjpeg to read 12-bit JPEG)"
                    if ts == "1.2.840.10008.1.2.4.51" else "")
            raise InputError(f"has pixel data in {name}, which no installed decoder can "
                             f"read{hint}", path=source.label) from None
        raise InputError(f"has damaged or truncated pixel data ({name}: "
                         f"{text.splitlines()[0][:100] if text else type(exc).__name__})",
                         path=source.label) from None
    return _shaped(arr, n, rows, cols, source)


def _shaped(arr, n: int, rows: int, cols: int, source: Source) -> np.ndarray:
    """The decoded frames as (frames, rows, cols), or one sentence when the shape is wrong."""
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.shape != (n, rows, cols):
        raise InputError(f"has pixel data of shape {arr.shape}, not {n} frames of {rows} x {cols}",
                         path=source.label)
    return arr


def _counts(source: Source, ds: Dataset) -> np.ndarray:
    """Counts per pixel, float32, Rescale Slope and Intercept applied."""
    arr = _decode(source, ds)
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    out = arr.astype(np.float32)
    if slope != 1.0 or intercept != 0.0:
        out = out * np.float32(slope) + np.float32(intercept)
    return out


# --------------------------------------------------------------------------- summary


def scan_summary(scan: Scan) -> dict:
    """What was read, as plain JSON-ready data (the `mibgscore info --json` record).

    Counts arrays are summarised (shape, sum), not listed.
    """
    p, s, t, a = scan.patient, scan.study, scan.tracer, scan.acquisition

    def iso(d):
        return d.isoformat() if d else None

    return {
        "path": scan.path,
        "views": {
            view: {
                "file": scan.sources[view].file if view in scan.sources else None,
                "frame": scan.sources[view].frame if view in scan.sources else None,
                "how": scan.sources[view].how if view in scan.sources else None,
                "counts": float(image.sum(dtype=np.float64)),
            }
            for view, image in scan.views.items()
        },
        "matrix": {"rows": scan.shape[0], "cols": scan.shape[1]},
        "spacing_mm": list(scan.spacing_mm),
        "patient": {"id": p.patient_id, "name": p.name, "birth_date": iso(p.birth_date),
                    "age_years": p.age_years, "sex": p.sex, "height_cm": p.height_cm,
                    "weight_kg": p.weight_kg},
        "study": {"study_uid": s.study_uid, "series_uid": s.series_uid,
                  "sop_instance_uids": list(s.sop_instance_uids), "date": iso(s.study_date),
                  "description": s.description, "accession_number": s.accession_number},
        "tracer": {"status": t.status, "name": t.name, "isotope": t.isotope, "code": t.code,
                   "how": t.how},
        "acquisition": {"sop_class_uid": a.sop_class_uid, "modality": a.modality,
                        "transfer_syntax_uid": a.transfer_syntax_uid,
                        "image_type": list(a.image_type), "manufacturer": a.manufacturer,
                        "model": a.model, "collimator": a.collimator,
                        "energy_window_kev": list(a.energy_window_kev)
                        if a.energy_window_kev else None,
                        "frame_duration_ms": a.frame_duration_ms,
                        "scan_velocity_mm_s": a.scan_velocity_mm_s,
                        "counts_accumulated": a.counts_accumulated},
        "assumptions": list(scan.assumptions),
    }
