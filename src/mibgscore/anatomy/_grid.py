"""The coarse outline grid (about 4 mm pixels) and the body threshold shared by body.py and
skeleton.py. The scoring stages' working grid is :mod:`mibgscore.anatomy.grid`."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import block_reduce

OUTLINE_MM = 4.0
"""Target pixel size (mm) of the coarse grid on which the outline and skeleton are fitted."""


def outline_factor(spacing_mm: tuple[float, float], target_mm: float = OUTLINE_MM) -> int:
    """Integer block size that brings the pixel spacing near ``target_mm``."""
    return max(1, int(round(target_mm / min(spacing_mm))))


def block_mean(img: np.ndarray, f: int) -> np.ndarray:
    """Mean over f x f blocks (edges padded by replication), float32."""
    if f == 1:
        return img.astype(np.float32, copy=False)
    rows, cols = img.shape
    pr, pc = (-rows) % f, (-cols) % f
    if pr or pc:
        img = np.pad(img, ((0, pr), (0, pc)), mode="edge")
    return block_reduce(img.astype(np.float32, copy=False), (f, f), np.mean).astype(np.float32)


def upsample_mask(small: np.ndarray, f: int, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour blow-up of a working-grid mask back to ``shape``."""
    if f == 1:
        return small[: shape[0], : shape[1]].copy()
    big = np.repeat(np.repeat(small, f, axis=0), f, axis=1)
    return big[: shape[0], : shape[1]]


def body_threshold(smooth: np.ndarray) -> tuple[float, float, float]:
    """Threshold separating the body from the background on a smoothed count image.

    The background is taken from the lower 40 % of pixels (a child covers less of a
    whole-body field than that), the body level is the median of what clearly stands above
    it: mostly soft tissue, so hot organs (liver, bladder) do not drag the threshold up.

    Returns
    -------
    threshold, background, body_level : float
        The threshold, the background level and the median level inside the body.
    """
    v = smooth.ravel()
    if v.size > 20000:
        v = v[:: v.size // 20000]  # a regular sample is plenty for levels
    hi = float(np.percentile(v, 99.5))
    low = v[v <= np.percentile(v, 40.0)]
    bg = float(np.median(low))
    noise = 1.4826 * float(np.median(np.abs(low - bg)))
    if hi <= bg:
        return bg + 0.5, bg, bg + 1.0
    t_low = bg + max(6.0 * noise, 0.02 * (hi - bg))
    inside = v[v > t_low]
    body = float(np.median(inside)) if inside.size else hi
    thr = bg + max(BODY_FRACTION * (body - bg), 4.0 * noise)
    return min(thr, bg + 0.5 * (body - bg)), bg, body


BODY_FRACTION = 0.12
"""Body threshold: background plus this share of the body's median level above it."""


def largest_parts(mask: np.ndarray, min_fraction: float = 0.05) -> np.ndarray:
    """Keep the largest connected component and those at least ``min_fraction`` of its size."""
    lab, n = ndi.label(mask)
    if n <= 1:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    keep = sizes >= max(1, min_fraction * sizes.max())
    keep[0] = False
    return keep[lab]


def fill_small_holes(mask: np.ndarray, max_fraction: float = 0.002) -> np.ndarray:
    """Fill holes smaller than ``max_fraction`` of the mask's area.

    Large holes are kept: the gap between legs whose feet touch, or between an arm and the
    trunk, is background, not body.
    """
    lab, n = ndi.label(~mask)
    if n <= 1:
        return mask
    border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    small = sizes <= max(4, max_fraction * mask.sum())
    small[border] = False
    small[0] = False
    return mask | small[lab]
