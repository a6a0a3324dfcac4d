"""What the anatomy stage returns: the body in a canonical frame, and the fitted skeleton."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from mibgscore.anatomy.bones import BONES
from mibgscore.anatomy.grid import WorkGrid, geometric_mean
from mibgscore.anatomy.scheme import SegmentScheme


@dataclass(frozen=True, eq=False)
class Body:
    """The scan's views in a canonical frame (head at row 0), registered, with the body outline.

    Attributes
    ----------
    anterior, posterior : ndarray of shape (rows, cols), float32, or None
        Counts per pixel, head towards row 0 (flipped upside-down when the scan was taken
        feet first). The posterior view keeps the reader's left-right mirroring (patient's right
        on the viewer's left) and is shifted (and scaled along rows if needed) onto the
        anterior. None where the view is absent.
    flipped_rows : bool
        True if the rows were flipped to bring the head to row 0; use
        :func:`mibgscore.anatomy.body.to_original_frame` to map positions back.
    posterior_shift : tuple of float
        (row, col) shift in pixels applied to the posterior view, in the canonical frame.
    posterior_row_scale : float
        Scale applied to the posterior rows about the vertex (1.0 when none was needed).
    mask : ndarray of shape (rows, cols), bool
        Body silhouette in the canonical frame.
    spacing_mm : tuple of float
        Pixel spacing (row, col) in mm.
    notes : tuple of str
        What was found or assumed (e.g. "feet-first scan: flipped").
    """

    anterior: np.ndarray | None
    posterior: np.ndarray | None
    flipped_rows: bool
    posterior_shift: tuple[float, float]
    mask: np.ndarray
    spacing_mm: tuple[float, float]
    notes: tuple[str, ...] = ()
    posterior_row_scale: float = 1.0

    def __post_init__(self) -> None:
        views = [v for v in (self.anterior, self.posterior) if v is not None]
        if not views:
            raise ValueError("a Body needs at least one view")
        if self.mask.dtype != bool or self.mask.shape != views[0].shape:
            raise ValueError("the body mask must be a bool array of the views' shape")

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the canonical frame."""
        return self.mask.shape  # type: ignore[return-value]

    @cached_property
    def grid(self) -> WorkGrid:
        """The scoring stages' working grid and the way back to the scan's frame."""
        return WorkGrid.for_scan(self.shape, self.spacing_mm, self.flipped_rows)

    @property
    def counts(self) -> np.ndarray:
        """Both views combined, float32 (rows, cols): the geometric mean where both exist."""
        if self.anterior is not None and self.posterior is not None:
            return geometric_mean(self.anterior, self.posterior)
        v = self.anterior if self.anterior is not None else self.posterior
        return v  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class Skeleton:
    """A bone-level skeleton fitted to one child, in the canonical frame of its :class:`Body`.

    Attributes
    ----------
    bone_labels : ndarray of shape (rows, cols), int16
        0 outside bone, ``BONE_LABEL[name]`` per bone; overlaps resolved with ``DRAW_ORDER``.
    bone_position : ndarray of shape (rows, cols), float32
        Position along long bones, 0 proximal - 1 distal; NaN elsewhere.
    landmarks : dict of str to (float, float)
        Named points (row, col) in the canonical frame: vertex, chin, neck, c7, sternal_notch,
        xiphoid, t12, l5, iliac_crest, coccyx, pubis, and per side (``_right``, ``_left``: the
        patient's) shoulder, elbow, wrist, hand (centre), fingertip, hip, knee, ankle, foot
        (centre), toe.
    confidence : float
        0-1: how well the silhouette supported the fit (low when limbs could not be traced).
    notes : tuple of str
        What was assumed (e.g. "arms not separated from the trunk: placed along the sides").
    """

    bone_labels: np.ndarray
    bone_position: np.ndarray
    landmarks: dict[str, tuple[float, float]] = field(default_factory=dict)
    confidence: float = 0.0
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.bone_labels.dtype != np.int16 or self.bone_labels.ndim != 2:
            raise ValueError("bone_labels must be a 2-D int16 array")
        if self.bone_position.shape != self.bone_labels.shape:
            raise ValueError("bone_position must have the shape of bone_labels")
        if self.bone_labels.min() < 0 or self.bone_labels.max() > len(BONES):
            raise ValueError("bone label out of range")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} is not in 0-1")

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the canonical frame."""
        return self.bone_labels.shape  # type: ignore[return-value]

    @property
    def bone_mask(self) -> np.ndarray:
        """bool (rows, cols): any bone."""
        return self.bone_labels > 0

    def segment_map(self, scheme: SegmentScheme) -> np.ndarray:
        """Segment label map (uint8, 0 outside bone, i + 1 for ``scheme.segments[i]``)."""
        return scheme.segment_map(self.bone_labels, self.bone_position)

    def on(self, grid: WorkGrid) -> WorkingSkeleton:
        """This skeleton on the working grid (nearest pixel)."""
        return WorkingSkeleton(grid=grid, skeleton=self, labels=grid.shrink(self.bone_labels),
                               position=grid.shrink(self.bone_position))


@dataclass(frozen=True, eq=False)
class WorkingSkeleton:
    """A fitted skeleton sampled on the working grid (canonical frame).

    Attributes
    ----------
    grid : WorkGrid
    skeleton : Skeleton
        The full-resolution fit it was sampled from.
    labels : ndarray of shape grid.working_shape, int16
        Bone labels at each working pixel's centre.
    position : ndarray of shape grid.working_shape, float32
        Position along long bones (0 proximal - 1 distal), NaN elsewhere.
    """

    grid: WorkGrid
    skeleton: Skeleton
    labels: np.ndarray
    position: np.ndarray

    def segment_map(self, scheme: SegmentScheme) -> np.ndarray:
        """Segment label map on the working grid (uint8, i + 1 for ``scheme.segments[i]``)."""
        return scheme.segment_map(self.labels, self.position)

    @cached_property
    def nearest(self) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Distance (working pixels) from each pixel to the nearest bone pixel, and that
        pixel's (row, col) index arrays (computed once per skeleton)."""
        from scipy import ndimage as ndi

        dist, idx = ndi.distance_transform_edt(self.labels == 0, return_indices=True)
        return dist, (idx[0], idx[1])
