"""Body outline, head/feet orientation and posterior-onto-anterior registration."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from mibgscore.anatomy._grid import (
    block_mean,
    body_threshold,
    fill_small_holes,
    largest_parts,
    outline_factor,
    upsample_mask,
)
from mibgscore.anatomy.grid import geometric_mean
from mibgscore.anatomy.types import Body
from mibgscore.io.types import Scan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BodyParams:
    """Options of :func:`find_body`.

    Attributes
    ----------
    smooth_mm : float
        Gaussian smoothing (sigma, mm) before thresholding the body outline.
    max_shift_mm : float
        Largest posterior-to-anterior shift searched, in mm.
    scale_tolerance : float
        Posterior/anterior body-length ratios closer to 1 than this are not rescaled.
    edge_fraction : float
        The outline passes where the counts fall to this share of the nearby level.
    edge_window_mm : float
        Size of the neighbourhood that sets the nearby level.
    """

    smooth_mm: float = 6.0
    max_shift_mm: float = 120.0
    scale_tolerance: float = 0.04
    edge_fraction: float = 0.4
    edge_window_mm: float = 25.0


def find_body(scan: Scan, *, params: BodyParams = BodyParams()) -> Body:
    """Find the body outline, put the head at row 0 and register the posterior view.

    Parameters
    ----------
    scan : Scan
        Views as read (posterior already mirrored left-right); either may be None.
    params : BodyParams
        Options.

    Returns
    -------
    Body
        Views, mask and registration in the canonical frame (head at row 0).
    """
    ant, post = scan.anterior, scan.posterior
    f = outline_factor(scan.spacing_mm)
    sigma = params.smooth_mm / (min(scan.spacing_mm) * f)
    notes: list[str] = []

    small = {k: ndi.gaussian_filter(block_mean(v, f), sigma, truncate=2.5)
             for k, v in scan.views.items()}
    shift = (0.0, 0.0)
    row_scale = 1.0
    pair = ant is not None and post is not None
    if pair:
        ma = _rough_mask(small["anterior"])
        mp = _rough_mask(small["posterior"])
        na, npo = int(ma.sum()), int(mp.sum())
        if min(na, npo) < 0.3 * max(na, npo, 1):
            pair = False
            notes.append("one view holds almost no body: views not registered")
    if pair:
        row_scale = _row_scale(ma, mp, params.scale_tolerance)
        if row_scale != 1.0:
            top = float(np.argmax(mp.any(axis=1)))
            small["posterior"] = _scale_rows(small["posterior"], row_scale, top)
            mp = _rough_mask(small["posterior"])
            notes.append(f"posterior view scaled by {row_scale:.3f} along the body")
        max_shift = int(round(params.max_shift_mm / (min(scan.spacing_mm) * f)))
        ds = _mask_shift(ma, mp, max_shift)
        shift = (ds[0] * f, ds[1] * f)
        if abs(shift[0]) * scan.spacing_mm[0] > 2 or abs(shift[1]) * scan.spacing_mm[1] > 2:
            notes.append(f"posterior view shifted by ({shift[0]:.1f}, {shift[1]:.1f}) pixels "
                         "onto the anterior")
        top_full = float(np.argmax(mp.any(axis=1))) * f if row_scale != 1.0 else 0.0
        post = _warp(post, row_scale, top_full, shift)
        small["posterior"] = _warp(small["posterior"], 1.0, 0.0, ds)
        combined = geometric_mean(small["anterior"], small["posterior"])
        # where the geometric mean loses the edge (one view empty), fall back to the mean
        combined = np.maximum(combined, 0.5 * (small["anterior"] + small["posterior"]) * 0.8)
    elif len(small) == 2:
        combined = np.maximum(small["anterior"], small["posterior"])
    else:
        combined = next(iter(small.values()))
        notes.append(f"single view ({next(iter(small))}): no registration")

    mask_small = _small_mask(combined, params.edge_fraction,
                             params.edge_window_mm / (min(scan.spacing_mm) * f))
    flipped = _feet_first(combined, mask_small)
    shape = scan.shape
    mask = upsample_mask(mask_small, f, shape)
    if not mask.any():
        notes.append("no body outline found: whole image used")
        mask = np.ones(shape, bool)

    if flipped:
        notes.append("feet-first scan: flipped")
        ant = None if ant is None else np.ascontiguousarray(ant[::-1])
        post = None if post is None else np.ascontiguousarray(post[::-1])
        mask = np.ascontiguousarray(mask[::-1])
        shift = (-shift[0], shift[1])
    logger.debug("body: factor %d, flipped %s, shift %s, scale %.3f", f, flipped, shift,
                 row_scale)
    return Body(
        anterior=ant,
        posterior=post,
        flipped_rows=flipped,
        posterior_shift=(float(shift[0]), float(shift[1])),
        mask=mask,
        spacing_mm=(float(scan.spacing_mm[0]), float(scan.spacing_mm[1])),
        notes=tuple(notes),
        posterior_row_scale=float(row_scale),
    )


def to_original_frame(body: Body, row: float, col: float) -> tuple[float, float]:
    """Map a (row, col) of the canonical frame back to the scan's own (anterior) pixel grid."""
    r, c = body.grid.canonical_to_original(row, col)
    return float(r), float(c)


def _rough_mask(smooth: np.ndarray) -> np.ndarray:
    """Quick body mask for registration: above the body threshold."""
    return smooth > body_threshold(smooth)[0]


def _small_mask(smooth: np.ndarray, edge_fraction: float = 0.4, window_px: float = 6.0
                ) -> np.ndarray:
    """Body mask on the working grid.

    A pixel is body when it stands above the background noise and reaches ``edge_fraction``
    of the highest level nearby (hot organs clipped): near half-maximum edges whatever the
    local thickness, so thin limbs are kept and the scatter halo beside the trunk is not.
    """
    thr, bg, body = body_threshold(smooth)
    capped = np.minimum(smooth, bg + 1.5 * (body - bg))
    # nearby level: maximum over a window, computed on a grid twice as coarse
    size = max(2, int(round(window_px / 2)))
    rows, cols = capped.shape
    pr, pc = (-rows) % 2, (-cols) % 2
    c2 = np.pad(capped, ((0, pr), (0, pc)), mode="edge")
    c2 = c2.reshape(c2.shape[0] // 2, 2, c2.shape[1] // 2, 2).max(axis=(1, 3))
    local = ndi.maximum_filter(c2, size=size)
    local = np.repeat(np.repeat(local, 2, axis=0), 2, axis=1)[:rows, :cols]
    above = smooth > thr
    m = above & (smooth - bg > edge_fraction * (local - bg))
    # a limb parted from a much hotter neighbour (a faint leg beside a diffusely involved
    # one) keeps at least its core: the part above 60 % of the highest level of its own run
    core = smooth > max(thr, bg + 0.25 * (body - bg))
    runs, n = ndi.label(core, structure=[[0, 0, 0], [1, 1, 1], [0, 0, 0]])
    if n:
        run_max = np.concatenate([[bg], ndi.maximum(capped, runs, np.arange(1, n + 1))])
        m |= core & (smooth - bg > 0.6 * (run_max[runs] - bg))
    return fill_small_holes(largest_parts(m))


def _row_scale(ma: np.ndarray, mp: np.ndarray, tol: float) -> float:
    ra, rp = np.flatnonzero(ma.any(axis=1)), np.flatnonzero(mp.any(axis=1))
    if ra.size < 10 or rp.size < 10:
        return 1.0
    s = (ra[-1] - ra[0] + 1) / (rp[-1] - rp[0] + 1)
    return float(s) if abs(s - 1.0) > tol and 0.8 < s < 1.25 else 1.0


def _scale_rows(img: np.ndarray, s: float, top: float) -> np.ndarray:
    """Stretch rows about row ``top`` by ``s`` (linear interpolation, zero outside)."""
    # output row r samples input row top + (r - top) / s
    src = top + (np.arange(img.shape[0]) - top) / s
    i0 = np.floor(src).astype(int)
    w = (src - i0).astype(np.float32)[:, None]
    valid = (i0 >= 0) & (i0 < img.shape[0] - 1)
    i0c = np.clip(i0, 0, img.shape[0] - 2)
    out = (1 - w) * img[i0c] + w * img[i0c + 1]
    out[~valid] = 0
    return out.astype(np.float32)


def _mask_shift(ma: np.ndarray, mp: np.ndarray, max_shift: int) -> tuple[float, float]:
    """Shift (row, col) to apply to the posterior mask so it overlays the anterior one.

    Rows and columns separately, from the outline's row and column profiles (the views of a
    whole-body sweep differ by a translation, not a rotation).
    """
    out = []
    for axis in (1, 0):
        a = ma.sum(axis=axis).astype(np.float64)
        p = mp.sum(axis=axis).astype(np.float64)
        n = a.size
        lags = np.arange(-min(max_shift, n - 1), min(max_shift, n - 1) + 1)
        score = np.array([np.dot(a[max(0, k): n + min(0, k)], p[max(0, -k): n - max(0, k)])
                          for k in lags])
        i = int(np.argmax(score))
        out.append(float(lags[i]) + _subpixel(score, i))
    return out[0], out[1]


def _subpixel(line: np.ndarray, i: int) -> float:
    if 0 < i < line.size - 1:
        a, b, c = line[i - 1], line[i], line[i + 1]
        den = a - 2 * b + c
        if den < 0:
            return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    return 0.0


def _warp(img: np.ndarray, s: float, top: float, shift: tuple[float, float]) -> np.ndarray:
    """Scale rows about ``top`` by ``s``, then shift by (row, col) (bilinear, zero outside)."""
    if s != 1.0:
        img = _scale_rows(img, s, top)
    if abs(shift[0]) < 1e-3 and abs(shift[1]) < 1e-3:
        return img
    out = img.astype(np.float32, copy=False)
    for axis, d in enumerate(shift):
        if abs(d - round(d)) < 0.15:
            out = _shift_int(out, int(round(d)), axis)  # a whole pixel is close enough
        else:
            out = _shift_axis(out, d, axis)
    return out


def _shift_axis(img: np.ndarray, d: float, axis: int) -> np.ndarray:
    """Shift along one axis by d pixels (linear interpolation, zero fill)."""
    n = int(np.floor(d))
    frac = d - n
    a = _shift_int(img, n, axis)
    if frac < 1e-3:
        return a
    b = _shift_int(img, n + 1, axis)
    return ((1 - frac) * a + frac * b).astype(np.float32)


def _shift_int(img: np.ndarray, n: int, axis: int) -> np.ndarray:
    out = np.zeros_like(img)
    size = img.shape[axis]
    if abs(n) >= size:
        return out
    src = [slice(None)] * 2
    dst = [slice(None)] * 2
    if n >= 0:
        src[axis], dst[axis] = slice(0, size - n), slice(n, size)
    else:
        src[axis], dst[axis] = slice(-n, size), slice(0, size + n)
    out[tuple(dst)] = img[tuple(src)]
    return out


def _feet_first(smooth: np.ndarray, mask: np.ndarray) -> bool:
    """True when the head lies at the bottom of the image.

    Shape cues only (counts at the ends vary too much: hot feet, a full bladder): the legs
    part at the feet end, and most of the body's area (head, trunk, arms) lies in the half
    nearer the head.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size < 10:
        return False
    r0, r1 = rows[0], rows[-1] + 1
    n = max(2, (r1 - r0) // 10)
    legs = _two_runs(mask[r1 - n: r1]) - _two_runs(mask[r0: r0 + n])
    width = mask[r0:r1].sum(axis=1).astype(float)
    centre = float((width * np.arange(r1 - r0)).sum() / max(width.sum(), 1.0)) / (r1 - r0)
    score = legs + 4.0 * (0.5 - centre)
    return bool(score < -0.3)


def _two_runs(block: np.ndarray) -> float:
    """Share of rows holding two or more separate runs of body."""
    if block.size == 0:
        return 0.0
    d = np.diff(block.astype(np.int8), axis=1)
    starts = (d == 1).sum(axis=1) + block[:, 0]
    return float(np.mean(starts >= 2))
