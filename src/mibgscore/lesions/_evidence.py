"""Measurable evidence about one candidate focus: what a physician weighs before calling it bone.

Every feature is physics or anatomy that holds on any camera: how deep the source lies (its
share of counts on the anterior view: vertebrae and the posterior pelvis are posterior, the
bowel, thyroid and heart anterior), whether the same uptake lies at the mirror place across the
midline (salivary and lacrimal glands, brown fat are paired), which normal-uptake finding it
sits in or near, and how it stands out of its surroundings: by contrast, and by significance
against counting noise (a low-count scan's noise makes faint "foci" that no contrast
threshold tells from lesions).
"""

from __future__ import annotations

import math

import numpy as np

from mibgscore.anatomy.bones import BONES, near_injection_site
from mibgscore.lesions.types import FocalLesion
from mibgscore.uptake.types import NormalUptake, WorkingViews

BONE_GROUPS: dict[str, tuple[str, ...]] = {
    "head": ("cranium", "facial_bones", "mandible"),
    "spine": ("cervical_spine", "thoracic_spine", "lumbar_spine"),
    "thorax": ("sternum", "ribs_right", "ribs_left", "clavicle_right", "clavicle_left",
               "scapula_right", "scapula_left"),
    "pelvis": ("sacrum", "hip_bone_right", "hip_bone_left"),
    "limb": ("humerus_right", "humerus_left", "femur_right", "femur_left"),
}
"""Bone groups with their own look of normal uptake; the rest are the distal limbs."""

FINDING_GROUPS: dict[str, tuple[str, ...]] = {
    "glands": ("salivary_glands", "nasopharynx", "lacrimal_glands", "thyroid"),
    "organ": ("heart", "liver", "spleen", "kidney"),
    "urine": ("bladder", "urine"),
    "bowel": ("bowel",),
    "brown_fat": ("brown_fat",),
    "injection": ("injection_site",),
    "tumour": ("soft_tissue_tumour",),
}
"""Normal-uptake findings grouped by how they mimic bone."""

FEATURES: tuple[str, ...] = (
    "confidence", "anterior_share", "mirror_ratio", "log_contrast", "log_significance",
    "radius_mm",
    "midline_mm", *(f"bone_{g}" for g in BONE_GROUPS), "bone_distal", "injection_bone",
    *(f"in_{g}" for g in FINDING_GROUPS), *(f"near_{g}" for g in FINDING_GROUPS),
)
"""Names of the evidence vector's entries, in order."""

NEAR_MM = 15.0
"""A focus this close to a finding's edge is "near" it."""


def local_excess(view: np.ndarray, r: int, c: int, px_mm: float) -> tuple[float, float]:
    """Counts at (r, c) over the median of a ring 15-25 mm around: (excess, ring level)."""
    rad = max(2, int(round(25.0 / px_mm)))
    r0, r1 = max(0, r - rad), min(view.shape[0], r + rad + 1)
    c0, c1 = max(0, c - rad), min(view.shape[1], c + rad + 1)
    win = view[r0:r1, c0:c1]
    rr, cc = np.ogrid[r0 - r: r1 - r, c0 - c: c1 - c]
    d = np.sqrt(rr * rr + cc * cc) * px_mm
    core = win[d <= max(px_mm, 4.0)]
    ring = win[(d >= 15.0) & (d <= 25.0)]
    if core.size == 0 or ring.size == 0:
        return 0.0, 1.0
    level = float(np.median(ring))
    return float(core.mean()) - level, max(level, 1e-6)


def midline_col(body_mask: np.ndarray, row: int) -> float:
    """Centre column of the body's widest run at ``row`` (the trunk or the head there)."""
    line = body_mask[int(np.clip(row, 0, body_mask.shape[0] - 1))]
    cols = np.nonzero(line)[0]
    if cols.size == 0:
        return body_mask.shape[1] / 2.0
    runs = np.split(cols, np.nonzero(np.diff(cols) > 1)[0] + 1)
    main = max(runs, key=len)
    return float(main[0] + main[-1]) / 2.0


def focus_evidence(focus: FocalLesion, views: WorkingViews, uptake: NormalUptake,
                   position: float) -> np.ndarray:
    """The evidence vector (``FEATURES``) of one candidate focus, on the working grid.

    Parameters
    ----------
    focus : FocalLesion
    views : WorkingViews
    uptake : NormalUptake
    position : float
        Long-bone position (0 proximal - 1 distal) at the focus's bone pixel, NaN elsewhere.
    """
    px = views.grid.pixel_mm
    r, c = focus.row, focus.col
    a, p = views.anterior, views.posterior
    combined = views.images.combined
    if a is not None and p is not None:
        ea = max(local_excess(a, r, c, px)[0], 0.0)
        ep = max(local_excess(p, r, c, px)[0], 0.0)
        share = ea / (ea + ep) if ea + ep > 0 else 0.5
    else:
        share = 0.5
    ex, level = local_excess(combined, r, c, px)
    mid = midline_col(views.images.body, r)
    mc = int(round(2 * mid - c))
    if 0 <= mc < combined.shape[1] and abs(mc - c) * px > 12.0:
        mirror = max(local_excess(combined, r, mc, px)[0], 0.0) / max(ex, 1e-6)
    else:
        mirror = 1.0  # on the midline: its own mirror
    bone = focus.bone
    groups = [float(bone in names) for names in BONE_GROUPS.values()]
    distal = float(not any(groups))
    inside, near = [], []
    for labels in FINDING_GROUPS.values():
        masks = [f.mask for f in uptake.findings if f.label in labels]
        inside.append(float(any(m[r, c] for m in masks)))
        near.append(float(any(_within(m, r, c, NEAR_MM / px) for m in masks)))
    return np.array([
        focus.confidence, share, min(mirror, 3.0), math.log1p(max(ex / level, 0.0)),
        math.log1p(max(focus.z, 0.0)), focus.radius_mm, abs(c - mid) * px, *groups, distal,
        float(near_injection_site(bone, position) if bone in BONES else 0.0), *inside, *near,
    ], dtype=np.float64)


def _within(mask: np.ndarray, r: int, c: int, radius: float) -> bool:
    k = int(math.ceil(radius))
    r0, r1 = max(0, r - k), min(mask.shape[0], r + k + 1)
    c0, c1 = max(0, c - k), min(mask.shape[1], c + k + 1)
    return bool(mask[r0:r1, c0:c1].any())
