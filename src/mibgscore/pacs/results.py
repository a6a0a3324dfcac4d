"""A study scored from the PACS, and the preliminary result that goes back: a TID 1500 SR
(unverified) and the overlay as a Secondary Capture, each in a new series of the study."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from mibgscore.anatomy.scheme import SegmentScheme, load_scheme
from mibgscore.errors import InputError
from mibgscore.io.types import Scan
from mibgscore.result import ScoreResult

logger = logging.getLogger(__name__)

OVERLAY_SERIES_NUMBER = 903
"""Series Number of the overlay Secondary Capture (the SR is 901, the PDF 902)."""

Scorer = Callable[[Scan], ScoreResult]


@dataclass
class ScoredStudy:
    """One study read from retrieved files and scored.

    Attributes
    ----------
    scan : Scan
        The whole-body scan found among the files.
    result : ScoreResult
        Its score.
    source : Dataset
        Header of the NM instance read (no pixels): patient and study attributes of results.
    skipped : list of str
        One sentence per other file or scan that was not scored.
    """

    scan: Scan
    result: ScoreResult
    source: Dataset
    skipped: list[str] = field(default_factory=list)


def default_scorer(params=None, schemes: tuple[SegmentScheme, SegmentScheme] | None = None
                   ) -> Scorer:
    """``mibgscore.pipeline.score`` with ``params`` and the segment tables ``schemes``."""
    from mibgscore.pipeline import ScoreParams, score

    siopen, curie = schemes or (load_scheme("siopen"), load_scheme("curie"))
    chosen = params or ScoreParams()
    return lambda scan: score(scan, params=chosen, siopen_scheme=siopen, curie_scheme=curie)


def score_files(files: list[Path], scorer: Scorer, *, force: bool = False) -> ScoredStudy:
    """Score the first whole-body scan among ``files`` (a retrieved or received study).

    Raises
    ------
    InputError
        None of the files is a scan that can be scored (the first reason given).
    """
    from mibgscore.io.read import iter_scans

    skipped: list[str] = []
    for item in iter_scans(files, force=force, allow_single_view=True):
        if isinstance(item, Exception):
            skipped.append(str(item))
            continue
        result = scorer(item)
        label = next(iter(item.sources.values())).file if item.sources else item.path
        source = pydicom.dcmread(label or files[0], stop_before_pixels=True)
        return ScoredStudy(item, result, source, skipped)
    raise InputError(skipped[0] if skipped else "the study holds no DICOM file to score.")


def preliminary_reading_sr(study: ScoredStudy) -> Dataset:
    """The automatic score as a Comprehensive SR: preliminary, unverified, no reader."""
    from mibgscore.report.sr import reading_sr
    from mibgscore.report.types import ReadingReport

    report = ReadingReport.from_scan(study.scan, study.result)
    sr = reading_sr(report, study.source)
    sr.SeriesDescription = "MIBG automatic score (preliminary, not verified)"
    return sr


def overlay_capture(png: bytes, source: Dataset) -> Dataset:
    """The overlay PNG as a Secondary Capture Image (RGB) in a new series of the study."""
    from highdicom.sc import SCImage
    from PIL import Image
    from pydicom.uid import generate_uid

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    sc = SCImage.from_ref_dataset(
        ref_dataset=source, pixel_array=rgb, photometric_interpretation="RGB",
        bits_allocated=8, coordinate_system="PATIENT", series_instance_uid=generate_uid(),
        series_number=OVERLAY_SERIES_NUMBER, sop_instance_uid=generate_uid(),
        instance_number=1, manufacturer="mibgscore project", patient_orientation=("L", "F"),
        transfer_syntax_uid="1.2.840.10008.1.2.1")
    sc.SeriesDescription = "MIBG automatic score overlay (preliminary, not verified)"
    sc.ImageComments = "Automatic SIOPEN/Curie score, not verified by a physician."
    sc.BurnedInAnnotation = "YES"
    return sc


def preliminary_results(study: ScoredStudy,
                        schemes: tuple[SegmentScheme, SegmentScheme] | None = None
                        ) -> list[Dataset]:
    """The SR and the overlay Secondary Capture of an automatic score, ready to store."""
    from mibgscore.report.overlay import render_overlay

    png = render_overlay(study.scan, study.result, schemes=schemes)
    return [preliminary_reading_sr(study), overlay_capture(png, study.source)]


def to_bytes(ds: Dataset) -> bytes:
    """A dataset as a DICOM file (preamble and file meta)."""
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
