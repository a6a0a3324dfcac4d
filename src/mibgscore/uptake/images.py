"""Combined views, noise model and the smooth soft-tissue background of a scan."""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np
from scipy import ndimage as ndi

from mibgscore.anatomy.grid import WorkGrid, geometric_mean
from mibgscore.anatomy.types import Body
from mibgscore.uptake.types import ViewImages, WorkingViews

logger = logging.getLogger(__name__)

PRE_SMOOTH_PX = 0.7
"""Gaussian sigma (pixels) applied to each view before the geometric mean (tames zero counts)."""


def smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter (sigma in pixels) truncated at 3 sigma, for speed."""
    return ndi.gaussian_filter(image, sigma, truncate=3.0)


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """Dilate a bool mask by ``pixels`` (square neighbourhood: one separable pass)."""
    if pixels <= 0:
        return mask
    return ndi.maximum_filter(mask.astype(np.uint8), size=2 * pixels + 1).astype(bool)


PROFILE_GROW_MM = 2.0
"""The thickness profile is drawn on the body outline grown by this much (mm)."""


def combine_views(anterior: np.ndarray | None, posterior: np.ndarray | None,
                  body: np.ndarray | None, spacing_mm: tuple[float, float]) -> ViewImages:
    """Combine the anterior and registered posterior views into one image with a noise model.

    Parameters
    ----------
    anterior, posterior : ndarray of shape (rows, cols), float32, or None
        Counts, in the same (canonical) frame; at least one is given.
    body : ndarray of shape (rows, cols), bool, or None
        Body outline; estimated from the counts when None.
    spacing_mm : tuple of float
        Pixel spacing (row, col) in mm.

    Returns
    -------
    ViewImages
        Geometric mean (or the single view), Poisson variance scaled by the measured noise gain,
        and the body's median counts.
    """
    views = [np.clip(v, 0, None).astype(np.float32) for v in (anterior, posterior)
             if v is not None]
    if not views:
        raise ValueError("no view to combine")
    soft = [smooth(v, PRE_SMOOTH_PX) for v in views]
    if len(views) == 2:
        combined = geometric_mean(soft[0], soft[1])
        mean = 0.5 * (soft[0] + soft[1])
        variance = 0.5 * mean  # var((A + P) / 2) for Poisson counts
    else:
        combined = soft[0]
        mean = soft[0]
        variance = mean.copy()
    gain = noise_gain(views)
    variance = (np.maximum(variance, 0.25) * gain).astype(np.float32)
    if body is None:
        body = rough_body(mean)
    inside = combined[body]
    reference = float(np.median(inside)) if inside.size else float(np.median(combined))
    if reference <= 0:
        reference = float(np.mean(combined[combined > 0])) if np.any(combined > 0) else 1.0
    body = body.astype(bool)
    # the outline is drawn where counts fade; tissue reaches a little beyond it
    px = float(np.mean(spacing_mm))
    n_grow = max(1, int(round(PROFILE_GROW_MM / px)))
    outer = grow(body, n_grow) & ~valleys(combined, px)
    return ViewImages(combined=combined, variance=variance, noise_gain=gain,
                      reference_counts=reference, body=body,
                      spacing_mm=(float(spacing_mm[0]), float(spacing_mm[1])),
                      n_views=len(views), profile=chord_profile(outer, px)[0],
                      central=chord_profile(body & ~valleys(combined, px), px)[1])


def working_views(body: Body, grid: WorkGrid | None = None) -> WorkingViews:
    """Bin the body's registered views onto its working grid (``body.grid`` unless another is
    given) and combine them once."""
    grid = body.grid if grid is None else grid
    a = None if body.anterior is None else grid.bin(body.anterior)
    p = None if body.posterior is None else grid.bin(body.posterior)
    images = combine_views(a, p, grid.bin_mask(body.mask), grid.working_spacing_mm)
    return WorkingViews(body=body, grid=grid, anterior=a, posterior=p, images=images)


LIMB_GROUPS: dict[str, int] = {
    "humerus_right": 2, "forearm_right": 2, "hand_right": 2,
    "humerus_left": 3, "forearm_left": 3, "hand_left": 3,
    "femur_right": 4, "tibia_fibula_right": 4, "foot_right": 4,
    "femur_left": 5, "tibia_fibula_left": 5, "foot_left": 5,
}
"""Body parts by bone: 1 trunk and head (every bone not listed), 2-5 the four limbs."""


def part_borders(bone_labels: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Pixels where a row crosses from one body part to another (arm to trunk, leg to leg).

    Each body pixel belongs to the part (trunk, each limb) of its nearest fitted bone; where
    neighbours along a row belong to different parts, the arm lies against the trunk (or the
    legs against each other), and the thickness profile must restart there.
    """
    from mibgscore.anatomy.bones import BONES

    if not (bone_labels > 0).any():
        return np.zeros(body.shape, bool)
    lut = np.ones(len(BONES) + 1, np.int8)
    lut[0] = 0
    for name, group in LIMB_GROUPS.items():
        lut[BONES.index(name) + 1] = group
    groups = lut[bone_labels]
    idx = ndi.distance_transform_edt(groups == 0, return_distances=False, return_indices=True)
    part = groups[tuple(idx)]
    change = np.zeros(body.shape, bool)
    change[:, 1:] = part[:, 1:] != part[:, :-1]
    return change & body


def valleys(combined: np.ndarray, px: float, *, width_mm: float = 25.0,
            depth: float = 0.6) -> np.ndarray:
    """Pixels in a deep dip of counts between two parts along a row (legs or arm and trunk
    touching): lower than ``depth`` times the highest counts within ``width_mm`` on BOTH sides.
    """
    s = smooth(combined, max(1.0, 3.0 / px))
    k = max(3, int(round(width_mm / px)) | 1)
    left = ndi.maximum_filter1d(s, k, axis=1, origin=k // 2)
    right = ndi.maximum_filter1d(s, k, axis=1, origin=-(k // 2))
    return s < depth * np.minimum(left, right)


def noise_gain(views: list[np.ndarray]) -> float:
    """Measured pixel noise variance over the Poisson variance, from neighbour differences.

    For Poisson counts the difference of two horizontal neighbours has variance 2 * mean;
    the median of d^2 / (2 * mean) is 0.455 for Gaussian noise. Clipped to 0.3-10.
    """
    ratios = []
    for v in views:
        a, b = v[:, :-1], v[:, 1:]
        m = 0.5 * (a + b)
        keep = m > 3.0
        if keep.sum() < 200:
            continue
        d2 = (a - b)[keep] ** 2 / (2.0 * m[keep])
        ratios.append(float(np.median(d2)) / 0.455)
    if not ratios:
        return 1.0
    return float(np.clip(np.median(ratios), 0.3, 10.0))


def rough_body(counts: np.ndarray) -> np.ndarray:
    """Body outline from counts alone: smoothed counts above a small share of the body level."""
    s = ndi.gaussian_filter(counts.astype(np.float32), 3.0)
    positive = s[s > 0]
    if positive.size == 0:
        return np.ones(counts.shape, bool)
    level = np.percentile(positive, 60)
    body = s > 0.15 * level
    body = ndi.binary_fill_holes(body)
    return body


def _norm_ppf(p: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(min(max(p, 1e-6), 1 - 1e-6)))


@lru_cache(maxsize=64)
def kernel_power(sigma: float, sigma2: float = 0.0) -> float:
    """Sum of squared weights of the pre-smoothing followed by a Gaussian (or DoG) kernel.

    The noise variance of a filtered image of white noise with unit variance. ``sigma2`` > 0
    gives the difference of Gaussians ``G(sigma) - G(sigma2)``.
    """
    half = int(4 * max(sigma, sigma2, PRE_SMOOTH_PX) + 4)
    delta = np.zeros((2 * half + 1, 2 * half + 1), np.float64)
    delta[half, half] = 1.0
    base = ndi.gaussian_filter(delta, PRE_SMOOTH_PX)
    k = ndi.gaussian_filter(base, sigma) if sigma > 0 else base
    if sigma2 > 0:
        k = k - ndi.gaussian_filter(base, sigma2)
    return float(np.sum(k * k))


def masked_smooth(image: np.ndarray, weight: np.ndarray, sigma: float,
                  min_weight: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Normalised convolution: Gaussian mean of ``image`` over pixels where ``weight`` is set.

    Returns the smoothed image and the smoothed weight (0-1); where the weight falls below
    ``min_weight`` the estimate is unreliable.
    """
    w = weight.astype(np.float32)
    num = smooth(image * w, sigma)
    den = smooth(w, sigma)
    out = np.where(den > min_weight, num / np.maximum(den, 1e-6), 0.0)
    return out.astype(np.float32), den


MU_PER_MM = 0.012
"""Effective linear attenuation of 123I photons (159 keV) in soft tissue, per mm."""

DEPTH_PER_WIDTH = 0.75
"""Front-to-back depth of a body part over its width (elliptic cross-sections)."""


def chord_profile(body: np.ndarray, px: float = 2.5) -> tuple[np.ndarray, np.ndarray]:
    """Expected soft-tissue counts (relative) across the body, row by row, from its thickness.

    Each horizontal run of body pixels (trunk, a limb, the head) is the cross-section of an
    elliptic cylinder of depth ``DEPTH_PER_WIDTH`` times its width; the geometric mean of a
    uniform source of thickness t is proportional to ``t * exp(-mu t / 2)``, which this
    returns relative to t = 100 mm.

    Parameters
    ----------
    body : ndarray of shape (rows, cols), bool
        Body outline (runs split where two parts touch).
    px : float
        Pixel size in mm.

    Returns
    -------
    profile : ndarray of shape (rows, cols), float32
        0 outside the body.
    central : ndarray of shape (rows, cols), bool
        Pixels in the middle 60 % of their run (where the profile is reliable).
    """
    rows, cols = body.shape
    idx = np.broadcast_to(np.arange(cols), (rows, cols))
    left = np.maximum.accumulate(np.where(~body, idx, -1), axis=1)
    right = np.minimum.accumulate(np.where(~body, idx, cols)[:, ::-1], axis=1)[:, ::-1]
    width = (right - left - 1).astype(np.float32)
    x = (idx - left - 0.5) / np.maximum(width, 1.0) * 2.0 - 1.0
    t = DEPTH_PER_WIDTH * width * px * np.sqrt(np.clip(1.0 - x * x, 0.0, 1.0))
    ref = 100.0 * np.exp(-MU_PER_MM * 50.0)
    prof = t * np.exp(-MU_PER_MM * t / 2.0) / ref
    central = body & (np.abs(x) < 0.6)
    return np.where(body, prof, 0.0).astype(np.float32), central


def soft_tissue_level(images: ViewImages, exclude: np.ndarray, *,
                      window_mm: float | tuple[float, float] = 60.0, percentile: float = 40.0,
                      block_mm: float = 6.0, blur_mm: float = 4.0,
                      with_level: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Counts of normal soft tissue at each pixel: thickness profile times a robust local level.

    Normal soft tissue follows the body's thickness. The counts are divided by a thickness
    profile (:func:`chord_profile`); a robust low percentile of that ratio over a window
    (on block means, for speed and noise) gives the local level, which times the profile and
    the camera blur is the expected count. Pixels outside the body, near its edge, or in
    ``exclude`` (organs) do not enter the level.

    Parameters
    ----------
    images : ViewImages
        Combined views.
    exclude : ndarray of shape (rows, cols), bool
        Pixels not to use (organ uptake).
    window_mm : float or (float, float)
        Window of the percentile (rows, cols), in mm.
    percentile : float
        Percentile within the window (0-100); its bias under noise is removed.
    block_mm : float
        Side of the blocks, in mm (at least a ninth of the window).
    blur_mm : float
        Gaussian sigma (mm) of the camera blur applied to the expected image.
    with_level : bool
        Also return the level itself (counts at full thickness, before the profile).

    Returns
    -------
    ndarray of shape (rows, cols), float32
        Expected soft-tissue counts per pixel (and the level, with ``with_level``).
    """
    img = images.combined
    rows, cols = img.shape
    dr, dc = images.spacing_mm
    win_r, win_c = (window_mm, window_mm) if np.isscalar(window_mm) else window_mm
    block_mm = max(block_mm, min(win_r, win_c) / 9.0)
    br = max(1, int(round(block_mm / dr)))
    bc = max(1, int(round(block_mm / dc)))
    pr, pc = (-rows) % br, (-cols) % bc
    px = float(np.mean(images.spacing_mm))
    if images.profile is not None:
        prof, central = images.profile, images.central
    else:
        prof, central = chord_profile(images.body, px)
    usable = central & ~exclude
    if usable.sum() < 50:
        usable = central
        if usable.sum() < 50:
            usable = np.ones_like(images.body)
    safe = np.maximum(prof, 0.05)
    ratio = img / safe
    a = np.pad(ratio * usable, ((0, pr), (0, pc)))
    u = np.pad(usable, ((0, pr), (0, pc))).astype(np.float32)
    rb, cb = a.shape[0] // br, a.shape[1] // bc
    sums = a.reshape(rb, br, cb, bc).sum(axis=(1, 3))
    nums = u.reshape(rb, br, cb, bc).sum(axis=(1, 3))
    good = nums >= 0.3 * br * bc
    if not good.any():
        good = nums > 0
    means = np.where(good, sums / np.maximum(nums, 1), 0.0)
    vpad = np.pad(images.variance / (safe * safe) * usable, ((0, pr), (0, pc)))
    block_var = vpad.reshape(rb, br, cb, bc).sum(axis=(1, 3)) / np.maximum(nums, 1) ** 2
    idx = ndi.distance_transform_edt(~good, return_distances=False, return_indices=True)
    filled = means[tuple(idx)]
    size_r = max(3, int(round(win_r / (br * dr))) | 1)
    size_c = max(3, int(round(win_c / (bc * dc))) | 1)
    low = ndi.percentile_filter(filled, percentile, size=(size_r, size_c), mode="nearest")
    # a low percentile of noisy block means sits below the true level by about z_p block SDs
    z_p = float(_norm_ppf(percentile / 100.0))
    spread = np.sqrt(np.median(block_var[good])) if good.any() else 0.0
    low = low - z_p * spread
    sm_r, sm_c = max(1, size_r // 2) | 1, max(1, size_c // 2) | 1
    low = ndi.uniform_filter(low, size=(sm_r, sm_c), mode="nearest")
    up = ndi.zoom(low, (br, bc), order=1, mode="nearest", grid_mode=True)[:rows, :cols]
    if up.shape != img.shape:  # zoom rounding
        up = np.pad(up, ((0, rows - up.shape[0]), (0, cols - up.shape[1])), mode="edge")
    level = up * prof
    level = smooth(level, blur_mm / px)
    floor = 0.02 * images.reference_counts
    expected = np.maximum(level, floor).astype(np.float32)
    if with_level:
        return expected, np.maximum(up, floor).astype(np.float32)
    return expected
