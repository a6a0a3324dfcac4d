"""What the lesion stage returns: focal lesions and the diffuse-involvement map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class FocalLesion:
    """One discrete focus of skeletal uptake (canonical frame).

    Attributes
    ----------
    row, col : int
        Peak of the focus.
    bone_row, bone_col : int
        Nearest pixel of the fitted skeleton (the focus is scored in that pixel's segment).
    bone : str
        Name of that bone (``mibgscore.anatomy.bones.BONES``).
    radius_mm : float
        Radius of the pixels above half the peak excess, in mm.
    contrast : float
        Peak counts over the expected normal counts, minus 1 (0.5 = 50 % above normal).
    z : float
        Peak excess in noise standard deviations (difference-of-Gaussians response).
    confidence : float
        Probability that the focus is a real lesion, 0-1.
    """

    row: int
    col: int
    bone_row: int
    bone_col: int
    bone: str
    radius_mm: float
    contrast: float
    z: float
    confidence: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"focal confidence {self.confidence}")


@dataclass(frozen=True)
class RejectedFocus:
    """A candidate focus set aside as normal uptake, and why.

    Attributes
    ----------
    focus : FocalLesion
    reason : str
        What it was taken for (a finding label such as ``salivary_glands``, or ``not_bone``).
    probability : float
        The verifier's probability that it was bone, 0-1.
    """

    focus: FocalLesion
    reason: str
    probability: float


@dataclass(frozen=True, eq=False)
class SkeletalLesions:
    """Abnormal skeletal uptake of one scan (canonical frame).

    Attributes
    ----------
    focal : tuple of FocalLesion
        Discrete foci, hottest first.
    diffuse : ndarray of shape (rows, cols), bool
        Bone pixels with diffuse involvement (extended regions, not foci).
    excess : ndarray of shape (rows, cols), float32
        Smoothed counts over expected normal counts, minus 1 (the contrast map).
    significance : ndarray of shape (rows, cols), float32
        Excess of the smoothed counts in noise standard deviations.
    bone_zone : ndarray of shape (rows, cols), bool
        Pixels counted as bone (fitted skeleton, slightly dilated for fit tolerance).
    extent_bone : ndarray of shape (rows, cols), int16, or None
        The bone against which diffuse extent is measured, when the detector sees it: at each
        such pixel the label of the fitted bone it counts for (0 elsewhere); None: the fitted
        skeleton itself.
    extent_position : ndarray of shape (rows, cols), float32, or None
        Long-bone position (0 proximal - 1 distal) of each ``extent_bone`` pixel.
    rejected : tuple of RejectedFocus
        Candidate foci set aside as normal uptake (shown as findings, never graded).
    skeleton : WorkingSkeleton or None
        The fitted skeleton as the detector refined it on the image (foci and extent are
        placed on it, and segments graded on it); None: the skeleton it was given.
    """

    focal: tuple[FocalLesion, ...]
    diffuse: np.ndarray
    excess: np.ndarray
    significance: np.ndarray
    bone_zone: np.ndarray
    extent_bone: np.ndarray | None = None
    extent_position: np.ndarray | None = None
    rejected: tuple[RejectedFocus, ...] = ()
    skeleton: Any = None

    def __post_init__(self) -> None:
        if self.diffuse.dtype != bool:
            raise ValueError("diffuse map must be bool")
