"""The working grid: the pixel grid the scoring stages work on, and the way back to the scan.

Every stage after the body outline works in the *canonical* frame (head at row 0) on pixels
binned ``factor`` x ``factor`` (fine-pixel cameras are binned for speed and noise). One
:class:`WorkGrid`, built once with the body, holds that choice and maps points and maps
between the working grid, the canonical frame and the scan's own (anterior) pixel grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.measure import block_reduce

WORK_PIXEL_MM = 1.7
"""Scans with finer pixels than this are scored on 2 x 2 binned pixels (speed, noise)."""


def geometric_mean(anterior: np.ndarray, posterior: np.ndarray) -> np.ndarray:
    """Geometric mean of two registered views (negative counts taken as 0), float32.

    The geometric mean of opposed views depends little on a source's depth: the combination
    every stage uses where both views exist.
    """
    return np.sqrt(np.maximum(anterior, 0) * np.maximum(posterior, 0)).astype(np.float32)


@dataclass(frozen=True)
class WorkGrid:
    """Canonical frame and working resolution of one scan.

    Working pixel (i, j) covers canonical pixels ``i * factor ... i * factor + factor - 1``
    (rows) and the same for columns; rows and columns beyond the last whole block are left out.
    Canonical row r is scan row ``rows - 1 - r`` when the scan was taken feet first.

    Attributes
    ----------
    factor : int
        Binning (1: none; 2: 2 x 2 pixels summed).
    shape : tuple of int
        (rows, cols) of the scan, which the canonical frame shares.
    flipped_rows : bool
        True when the rows were flipped to bring the head to row 0 (feet-first scan).
    spacing_mm : tuple of float
        Pixel spacing (row, col) of the scan, in mm.
    """

    factor: int
    shape: tuple[int, int]
    flipped_rows: bool
    spacing_mm: tuple[float, float]

    def __post_init__(self) -> None:
        if self.factor < 1 or min(self.shape) < self.factor:
            raise ValueError(f"working grid factor {self.factor} for shape {self.shape}")

    @classmethod
    def for_scan(cls, shape: tuple[int, int], spacing_mm: tuple[float, float],
                 flipped_rows: bool) -> WorkGrid:
        """The grid of a scan: binned 2 x 2 below ``WORK_PIXEL_MM``, else not binned."""
        factor = 2 if max(spacing_mm) < WORK_PIXEL_MM else 1
        return cls(factor, (int(shape[0]), int(shape[1])), bool(flipped_rows),
                   (float(spacing_mm[0]), float(spacing_mm[1])))

    @property
    def working_shape(self) -> tuple[int, int]:
        """(rows, cols) of the working grid."""
        return self.shape[0] // self.factor, self.shape[1] // self.factor

    @property
    def working_spacing_mm(self) -> tuple[float, float]:
        """Pixel spacing (row, col) of the working grid, in mm."""
        return self.spacing_mm[0] * self.factor, self.spacing_mm[1] * self.factor

    @property
    def pixel_mm(self) -> float:
        """Mean side of a working pixel, in mm."""
        return float(np.mean(self.working_spacing_mm))

    def _crop(self, a: np.ndarray) -> np.ndarray:
        r, c = self.working_shape
        return a[: r * self.factor, : c * self.factor]

    def bin(self, counts: np.ndarray) -> np.ndarray:
        """Counts summed over each working pixel, float32 (canonical frame in)."""
        if self.factor == 1:
            return np.asarray(counts, np.float32)
        f = self.factor
        return block_reduce(self._crop(counts), (f, f), np.sum).astype(np.float32)

    def bin_mask(self, mask: np.ndarray) -> np.ndarray:
        """A working pixel is in ``mask`` when at least half of its pixels are."""
        if self.factor == 1:
            return np.asarray(mask, bool)
        f = self.factor
        return block_reduce(self._crop(mask).astype(np.int32), (f, f), np.sum) * 2 >= f * f

    def shrink(self, labels: np.ndarray) -> np.ndarray:
        """A label or value map sampled at each working pixel's centre pixel (nearest)."""
        if self.factor == 1:
            return labels
        r, c = self.working_shape
        o = self.factor // 2
        return np.ascontiguousarray(labels[o::self.factor, o::self.factor][:r, :c])

    def grow(self, a: np.ndarray) -> np.ndarray:
        """A working-grid map on the canonical pixels (rows and columns past the last block
        repeat the edge)."""
        if self.factor == 1 and a.shape == self.shape:
            return a
        f = self.factor
        big = np.repeat(np.repeat(a, f, axis=0), f, axis=1)
        pr, pc = self.shape[0] - big.shape[0], self.shape[1] - big.shape[1]
        if pr > 0 or pc > 0:
            big = np.pad(big, ((0, max(pr, 0)), (0, max(pc, 0))), mode="edge")
        return big[: self.shape[0], : self.shape[1]]

    def to_canonical(self, rows: np.ndarray | float, cols: np.ndarray | float
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Canonical (row, col) of working-grid (row, col): the centre of the block."""
        half = (self.factor - 1) / 2.0
        return (np.asarray(rows, float) * self.factor + half,
                np.asarray(cols, float) * self.factor + half)

    def to_working(self, rows: np.ndarray | float, cols: np.ndarray | float
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Working-grid (row, col), rounded, of canonical (row, col) (inverse of
        :meth:`to_canonical` on block centres)."""
        half = (self.factor - 1) / 2.0
        return (np.rint((np.asarray(rows, float) - half) / self.factor).astype(np.intp),
                np.rint((np.asarray(cols, float) - half) / self.factor).astype(np.intp))

    def canonical_to_original(self, rows: np.ndarray | float, cols: np.ndarray | float
                              ) -> tuple[np.ndarray, np.ndarray]:
        """Scan (row, col) of canonical (row, col) (undoes the feet-first flip)."""
        rows = np.asarray(rows, float)
        if self.flipped_rows:
            rows = self.shape[0] - 1 - rows
        return rows, np.asarray(cols, float)

    def to_original(self, points: np.ndarray | list[tuple[float, float]]) -> np.ndarray:
        """Scan pixels (row, col), int, of working-grid points.

        Parameters
        ----------
        points : array-like of shape (n, 2)
            (row, col) on the working grid.

        Returns
        -------
        ndarray of shape (n, 2), int64
            (row, col) in the scan's own anterior pixel grid.
        """
        p = np.asarray(points, float).reshape(-1, 2)
        r, c = self.canonical_to_original(*self.to_canonical(p[:, 0], p[:, 1]))
        return np.stack([np.rint(r), np.rint(c)], axis=1).astype(np.int64)

    def to_original_map(self, a: np.ndarray) -> np.ndarray:
        """A working-grid or canonical-frame map in the scan's own frame and pixel grid."""
        if a.shape != self.shape:
            a = self.grow(a)
        return np.ascontiguousarray(a[::-1]) if self.flipped_rows else a
