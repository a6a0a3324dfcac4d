"""A centre's calibration of the grading: per-segment limits fitted on its own scored scans.

The automatic score stays explainable: a calibrated segment is still graded from its lesion
list, only the limits differ. A focus counts when the focus verifier's probability reaches the
segment's ``focus_p``; diffuse involvement counts when it covers at least ``min_fraction`` of
the segment, grades 5 from ``half`` and 6 from ``whole`` (the bundled rules: 12 %, 50 %, 95 %).
``mibgscore.adapt`` fits these limits; :func:`calibrate_foci` and
:func:`mibgscore.grading.segments.grade_scan` apply them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from mibgscore.anatomy.scheme import SegmentScheme
from mibgscore.anatomy.types import WorkingSkeleton
from mibgscore.grading.rules import MIN_DIFFUSE_FRACTION, SIOPEN_DIFFUSE_WHOLE
from mibgscore.lesions.types import FocalLesion, RejectedFocus, SkeletalLesions
from mibgscore.result import ModelInfo

BELOW_LIMIT = "below_centre_limit"
"""Finding label of a focus the centre's calibration sets aside (probability under its
segment's ``focus_p``)."""

RULE_REJECTIONS = ("injection_site",)
"""Reasons for which a candidate focus stays rejected whatever the calibration: rules, not the
verifier's probability."""


@dataclass(frozen=True)
class SegmentLimits:
    """The limits of one SIOPEN segment.

    Attributes
    ----------
    focus_p : float or None
        Smallest focus-verifier probability of a focus counted in the segment; None keeps
        the detector's own decision.
    min_fraction : float
        Smallest share of the segment's bone graded as diffuse involvement (0-1).
    half, whole : float
        Shares from which diffuse involvement grades 5 and 6.
    """

    focus_p: float | None = None
    min_fraction: float = MIN_DIFFUSE_FRACTION
    half: float = 0.5
    whole: float = SIOPEN_DIFFUSE_WHOLE

    def __post_init__(self) -> None:
        if self.focus_p is not None and not 0.0 <= self.focus_p <= 1.0:
            raise ValueError(f"focus_p {self.focus_p} is not 0-1")
        if not 0.0 <= self.min_fraction <= self.half <= self.whole <= 1.0:
            raise ValueError(f"limits {self.min_fraction}, {self.half}, {self.whole} are not "
                             "ordered within 0-1")

    @property
    def is_default(self) -> bool:
        """True when these are the bundled rules."""
        return self == SegmentLimits()


DEFAULT_LIMITS = SegmentLimits()
"""The bundled rules."""


@dataclass(frozen=True)
class Calibration:
    """Per-segment limits of a centre's adapted model.

    Attributes
    ----------
    name : str
        Name of the adapted model (``ModelInfo.name`` of its results).
    segments : dict of str to SegmentLimits
        By SIOPEN segment key; a segment not named keeps the bundled rules.
    scheme_sha256 : str
        SHA-256 of the segment table the limits were fitted with ('' for the bundled one).
    lone_focus_p : float or None
        A scan whose only abnormality is one focus (no diffuse involvement anywhere) counts
        it only from this probability; None: as any focus.
    """

    name: str = "adapted"
    segments: dict[str, SegmentLimits] = field(default_factory=dict)
    scheme_sha256: str = ""
    lone_focus_p: float | None = None

    def __post_init__(self) -> None:
        if self.lone_focus_p is not None and not 0.0 <= self.lone_focus_p <= 1.0:
            raise ValueError(f"lone_focus_p {self.lone_focus_p} is not 0-1")

    def limits(self, key: str) -> SegmentLimits:
        """The limits of segment ``key``."""
        return self.segments.get(key, DEFAULT_LIMITS)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``calibration.json`` of a model folder)."""
        return {"name": self.name, "scheme_sha256": self.scheme_sha256,
                "lone_focus_p": self.lone_focus_p,
                "segments": {k: asdict(v) for k, v in sorted(self.segments.items())}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        ValueError
            A malformed entry.
        """
        try:
            segments = {str(k): SegmentLimits(**v) for k, v in data.get("segments", {}).items()}
            lone = data.get("lone_focus_p")
            return cls(str(data.get("name", "adapted")), segments,
                       str(data.get("scheme_sha256", "")),
                       None if lone is None else float(lone))
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"malformed calibration: {exc}") from None

    @property
    def sha256(self) -> str:
        """SHA-256 of the canonical JSON form."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def model_of(self, base: ModelInfo) -> ModelInfo:
        """The model of results scored with this calibration over the ``base`` detector."""
        both = hashlib.sha256((base.sha256 + self.sha256).encode()).hexdigest()
        return ModelInfo(self.name, f"{base.name} {base.version} + calibration", both)


def model_of(base: ModelInfo, calibration: Calibration | None) -> ModelInfo:
    """``base``, or the adapted model's when a calibration is applied."""
    return base if calibration is None else calibration.model_of(base)


def calibrate_foci(lesions: SkeletalLesions, skeleton: WorkingSkeleton, scheme: SegmentScheme,
                   calibration: Calibration | None) -> SkeletalLesions:
    """The foci counted under the centre's limits.

    Every candidate focus with a probability (those kept, and those the verifier set aside) is
    counted when its probability reaches its segment's ``focus_p``; a focus set aside by a
    rule (``RULE_REJECTIONS``) stays aside. A lone focus (the scan's only abnormality) under
    ``lone_focus_p`` is set aside too. Foci newly set aside are labelled ``BELOW_LIMIT``.
    Without a calibration, or where a segment keeps the detector's decision, nothing changes.
    """
    if calibration is None or (calibration.lone_focus_p is None and not any(
            v.focus_p is not None for v in calibration.segments.values())):
        return lesions
    fit = skeleton if lesions.skeleton is None else lesions.skeleton
    kept: list[FocalLesion] = []
    rejected: list[RejectedFocus] = []
    candidates = [(x, x.confidence, None) for x in lesions.focal]
    candidates += [(r.focus, r.probability, r) for r in lesions.rejected]
    for focus, p, was in candidates:
        position = float(fit.position[focus.bone_row, focus.bone_col])
        key = scheme.segment_of(focus.bone, 0.5 if position != position else position)
        limit = calibration.limits(key).focus_p if key is not None else None
        if limit is None or (was is not None and was.reason in RULE_REJECTIONS):
            (kept.append(focus) if was is None else rejected.append(was))
        elif p >= limit:
            kept.append(replace(focus, confidence=p))
        else:
            rejected.append(was if was is not None else RejectedFocus(focus, BELOW_LIMIT, p))
    lone = calibration.lone_focus_p
    if (lone is not None and len(kept) == 1 and kept[0].confidence < lone
            and not lesions.diffuse.any()):
        rejected.append(RejectedFocus(kept[0], BELOW_LIMIT, kept[0].confidence))
        kept = []
    return replace(lesions, focal=tuple(kept), rejected=tuple(rejected))
