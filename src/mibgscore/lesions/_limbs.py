"""The fitted legs moved onto the legs the network sees.

The outline fit places each leg from the silhouette, which cannot part two legs held together
(infants) or follow legs apart; the network's bone map shows each leg. Row by row below the
pelvis, the bone map's ridges are found; with two ridges the patient's right leg takes the one
on the anterior view's left, and each fitted leg bone is moved sideways onto its ridge (with one
ridge, or none, the fit stays). Long-bone positions move with their pixels.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from mibgscore.anatomy.bones import BONE_LABEL
from mibgscore.anatomy.types import WorkingSkeleton

LEGS = {
    "right": tuple(BONE_LABEL[b] for b in ("femur_right", "tibia_fibula_right", "foot_right")),
    "left": tuple(BONE_LABEL[b] for b in ("femur_left", "tibia_fibula_left", "foot_left")),
}
"""Bone labels of each leg (patient's side)."""

RIDGE_P = 0.5
"""A column is on a leg's bone where the network's bone probability reaches this."""

MAX_SHIFT_MM = 120.0
"""Largest sideways move of a fitted leg bone."""


def _ridges(profile: np.ndarray, min_gap: int) -> list[int]:
    """Columns of the bone map's ridges in one row: weighted centres of runs above
    ``RIDGE_P``, runs closer than ``min_gap`` merged."""
    on = np.concatenate([[0], (profile >= RIDGE_P).astype(np.int8), [0]])
    edges = np.diff(on)
    starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    if starts.size == 0:
        return []
    cols = np.arange(profile.size, dtype=np.float64)
    w = np.concatenate([[0.0], np.cumsum(profile)])
    wc = np.concatenate([[0.0], np.cumsum(profile * cols)])
    centres = (wc[ends] - wc[starts]) / np.maximum(w[ends] - w[starts], 1e-9)
    merged = [float(centres[0])]
    for c in centres[1:]:
        if c - merged[-1] < min_gap:
            merged[-1] = (merged[-1] + float(c)) / 2.0
        else:
            merged.append(float(c))
    return [int(round(c)) for c in merged]


def refine_legs(skeleton: WorkingSkeleton, bone_p: np.ndarray) -> WorkingSkeleton:
    """The skeleton with each leg bone moved, row by row, onto the network's leg ridges.

    Parameters
    ----------
    skeleton : WorkingSkeleton
    bone_p : ndarray of shape (rows, cols), float
        The network's bone probability on the working grid.
    """
    labels, position = skeleton.labels, skeleton.position
    px = skeleton.grid.pixel_mm
    max_shift = int(round(MAX_SHIFT_MM / px))
    min_gap = max(2, int(round(25.0 / px)))
    side_rows = {s: np.isin(labels, ids) for s, ids in LEGS.items()}
    rows = np.nonzero(side_rows["right"].any(axis=1) & side_rows["left"].any(axis=1))[0]
    if rows.size == 0:
        return skeleton
    shifts = {s: np.zeros(labels.shape[0]) for s in LEGS}
    valid = np.zeros(labels.shape[0], bool)
    cols = np.arange(labels.shape[1], dtype=np.float64)
    centres = {s: (side_rows[s] * cols).sum(axis=1) / np.maximum(side_rows[s].sum(axis=1), 1)
               for s in LEGS}
    for r in rows[::2]:  # every other row: the shifts are smoothed along the leg anyway
        ridges = _ridges(bone_p[r], min_gap)
        if len(ridges) < 2:
            continue
        cr, cl = float(centres["right"][r]), float(centres["left"][r])
        # the two ridges nearest the legs' fitted centres, the right leg on the lower column
        mid = (cr + cl) / 2.0
        right = [c for c in ridges if c < mid + max_shift / 2]
        left = [c for c in ridges if c > mid - max_shift / 2]
        pair = min(((a, b) for a in right for b in left if b - a >= min_gap),
                   key=lambda ab: abs(ab[0] - cr) + abs(ab[1] - cl), default=None)
        if pair is None:
            continue
        dr, dl = pair[0] - cr, pair[1] - cl
        if abs(dr) > max_shift or abs(dl) > max_shift:
            continue
        shifts["right"][r], shifts["left"][r] = dr, dl
        valid[r] = True
    if valid.sum() < 0.3 * rows[::2].size:
        return skeleton
    idx = np.nonzero(valid)[0]
    smooth = {side: ndi.median_filter(np.interp(np.arange(labels.shape[0]), idx,
                                                shifts[side][idx]),
                                      size=max(3, int(round(30.0 / px)) | 1))
              for side in LEGS}
    if all(np.abs(np.rint(v[rows])).max() < 2 for v in smooth.values()):
        return skeleton  # within a pixel of the fit: nothing to move
    out_labels, out_position = labels.copy(), position.copy()
    leg = side_rows["right"] | side_rows["left"]
    out_labels[leg] = 0
    out_position[leg] = np.nan
    for side in LEGS:
        # rows without two ridges take the nearest measured shift; jitter smoothed away
        filled = smooth[side]
        rr, cc = np.nonzero(side_rows[side])
        new_c = np.clip(cc + np.rint(filled[rr]).astype(int), 0, labels.shape[1] - 1)
        free = out_labels[rr, new_c] == 0
        out_labels[rr[free], new_c[free]] = labels[rr[free], cc[free]]
        out_position[rr[free], new_c[free]] = position[rr[free], cc[free]]
    return WorkingSkeleton(skeleton.grid, skeleton.skeleton, out_labels, out_position)
