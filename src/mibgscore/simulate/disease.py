"""Skeletal neuroblastoma: a planned SIOPEN grade per segment, realised as lesions in the marrow.

Grades are planned first (by category), then realised: grades 1-3 as that many discrete foci,
grade 4 as more than three foci or a diffuse lesion over less than half of the segment's bone,
grade 5 as diffuse involvement of 50-95 %, grade 6 of the whole bone. The truth is then read
back from what was actually drawn (foci that found no room are not counted), through the same
segment tables and grading rules that scoring uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from mibgscore.anatomy.bones import BONE_LABEL, BONES, LONG_BONES
from mibgscore.anatomy.scheme import CURIE_KEYS, SIOPEN_KEYS, SegmentScheme, load_scheme
from mibgscore.grading.rules import grade_curie_segment, grade_siopen_segment
from mibgscore.simulate._raster import Canvas
from mibgscore.simulate.biodistribution import Activity
from mibgscore.simulate.types import CATEGORY_TOTALS, TruthLesion

PREDILECTION: dict[str, float] = {
    "skull": 1.0, "thoracic_cage": 0.9, "spine": 1.4, "pelvis": 1.4,
    "right_upper_limb_proximal": 0.8, "right_upper_limb_distal": 0.45,
    "left_upper_limb_proximal": 0.8, "left_upper_limb_distal": 0.45,
    "right_lower_limb_proximal": 1.1, "right_lower_limb_distal": 0.9,
    "left_lower_limb_proximal": 1.1, "left_lower_limb_distal": 0.9,
}
"""Relative chance that a segment is involved (red-marrow rich segments first)."""

MARROW_CHORD_CM: dict[str, float] = {
    "cervical_spine": 1.8, "thoracic_spine": 2.4, "lumbar_spine": 2.8, "sacrum": 2.2,
    "hip_bone_right": 2.0, "hip_bone_left": 2.0, "femur_right": 2.0, "femur_left": 2.0,
    "humerus_right": 1.6, "humerus_left": 1.6, "tibia_fibula_right": 1.6,
    "tibia_fibula_left": 1.6, "ribs_right": 1.0, "ribs_left": 1.0, "cranium": 1.2,
    "scapula_right": 1.0, "scapula_left": 1.0, "sternum": 1.2,
}
"""Marrow thickness crossed by the beam in a 140 cm child (others 1.2 cm), for diffuse disease."""

MIRROR = {k: (k.replace("right", "left") if "right" in k else k.replace("left", "right"))
          for k in SIOPEN_KEYS}


def plan_grades(rng: np.random.Generator, category: str, forced: int | None = None,
                grades: dict[str, int] | None = None) -> dict[str, int]:
    """SIOPEN grade per segment with a total in the category's range.

    ``grades`` (named segments, others 0) or ``forced`` (every segment) override the draw.
    """
    if grades is not None:
        return {k: int(grades.get(k, 0)) for k in SIOPEN_KEYS}
    if forced is not None:
        return dict.fromkeys(SIOPEN_KEYS, forced)
    lo, hi = CATEGORY_TOTALS[category]
    if hi == 0:
        return dict.fromkeys(SIOPEN_KEYS, 0)
    if category == "limited":
        total = int(rng.choice([1, 2, 3], p=[0.3, 0.35, 0.35]))
    elif category == "moderate":
        vals = np.arange(lo, hi + 1)
        p = 1.0 / (vals - 2.5) ** 1.2
        total = int(rng.choice(vals, p=p / p.sum()))
    else:
        vals = np.arange(lo, 61)
        p = 1.0 / (vals - 10.0)
        total = int(rng.choice(vals, p=p / p.sum()))
    grades = dict.fromkeys(SIOPEN_KEYS, 0)
    heavy = total > 16
    symmetric = rng.random() < (0.6 if heavy else 0.3)
    left = total
    keys = list(SIOPEN_KEYS)
    weights = np.array([PREDILECTION[k] for k in keys])
    max_grade = load_scheme("siopen").max_grade
    for _ in range(200):
        if left <= 0:
            break
        open_ = np.array([grades[k] < max_grade for k in keys])
        p = weights * open_
        if p.sum() == 0:
            break
        k = keys[int(rng.choice(len(keys), p=p / p.sum()))]
        top = min(max_grade, grades[k] + left)
        choices = np.arange(grades[k] + 1, top + 1)
        if heavy:
            w = np.where(choices >= 4, 3.0, 1.0)
        else:
            w = np.where(choices <= 3, 2.0, 1.0) / choices
        g = int(rng.choice(choices, p=w / w.sum()))
        m = MIRROR[k]
        if symmetric and m != k and grades[m] == grades[k] and 2 * (g - grades[k]) <= left:
            left -= 2 * (g - grades[k])
            grades[k] = grades[m] = g
        else:
            left -= g - grades[k]
            grades[k] = g
    return grades


@dataclass(frozen=True)
class _Plan:
    """How one segment's grade is realised."""

    foci: int
    fraction: float


def realise(rng: np.random.Generator, grade: int) -> _Plan:
    """Choose foci and diffuse fraction for a SIOPEN grade (mixed patterns included)."""
    if grade == 0:
        return _Plan(0, 0.0)
    if grade <= 3:
        return _Plan(grade, 0.0)
    if grade == 4:
        r = rng.random()
        if r < 0.45:
            return _Plan(int(rng.integers(4, 8)), 0.0)
        frac = float(rng.uniform(0.40, 0.49) if rng.random() < 0.35 else rng.uniform(0.15, 0.45))
        return _Plan(int(rng.integers(1, 3)) if r > 0.85 else 0, frac)
    if grade == 5:
        frac = float(rng.uniform(0.50, 0.58) if rng.random() < 0.35 else rng.uniform(0.55, 0.9))
        return _Plan(int(rng.integers(1, 4)) if rng.random() < 0.15 else 0, frac)
    frac = 1.0 if rng.random() < 0.7 else float(rng.uniform(0.97, 1.0))
    return _Plan(0, frac)


@dataclass
class Disease:
    """Skeletal lesions drawn, and the grades read back from them."""

    lesions: list[TruthLesion]
    involved: np.ndarray
    siopen: dict[str, int]
    curie_skeletal: dict[str, int]
    siopen_fractions: dict[str, float]
    curie_fractions: dict[str, float]


def _order_field(rng: np.random.Generator, key: str, rows: np.ndarray, cols: np.ndarray,
                 axis: tuple[tuple[float, float], tuple[float, float]] | None,
                 anchor_end: int) -> np.ndarray:
    """Order in which diffuse disease spreads over the segment's pixels (lowest first)."""
    n = rows.size
    if axis is not None:  # limbs: from one end along the limb
        (r0, c0), (r1, c1) = axis
        ar, ac = r1 - r0, c1 - c0
        t = ((rows - r0) * ar + (cols - c0) * ac) / max(ar * ar + ac * ac, 1e-6)
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
        base = t if anchor_end == 0 else 1.0 - t
        return base + rng.normal(0.0, 0.03, n)
    if key == "spine":
        anchor = rng.uniform(rows.min(), rows.max())
        return np.abs(rows - anchor) + rng.normal(0.0, 0.5, n)
    # flat bones: patchy marrow disease from a smooth random field
    r_lo, c_lo = rows.min(), cols.min()
    shape = (int(rows.max() - r_lo) + 1, int(cols.max() - c_lo) + 1)
    sigma = max(2.0, 0.12 * max(shape))
    field = ndimage.gaussian_filter(rng.normal(size=shape), sigma)
    field /= field.std() + 1e-9
    grad = rng.normal(0, 0.6, 2)
    return (field[rows - r_lo, cols - c_lo]
            + grad[0] * (rows - rows.mean()) / shape[0] + grad[1] * (cols - cols.mean()) / shape[1])


def draw_disease(rng: np.random.Generator, grades: dict[str, int], *, labels: np.ndarray,
                 position: np.ndarray, depth: np.ndarray, thickness_cm: np.ndarray,
                 siopen: SegmentScheme, curie: SegmentScheme, canvas: Canvas, act: Activity,
                 fwhm_of, height_mm: float,
                 limb_axes: dict[str, tuple[tuple[float, float], tuple[float, float]]]
                 ) -> Disease:
    """Draw the planned grades as lesions and read the truth back.

    Parameters
    ----------
    fwhm_of : callable
        ``fwhm_of(depth, thickness_cm) -> mm``, the resolution that sets how far apart foci
        must lie to be counted separately (at least two FWHM).
    limb_axes : dict
        Per limb segment key, the (row, col) ends of the limb axis (proximal, distal).
    """
    sp = canvas.sp
    smap = siopen.segment_map(labels, position)
    cmap = curie.segment_map(labels, position)
    sidx = {k: i + 1 for i, k in enumerate(siopen.keys)}
    cidx = {k: i + 1 for i, k in enumerate(curie.keys)}
    involved = np.zeros(labels.shape, dtype=bool)
    lesions: list[TruthLesion] = []
    plans = {k: realise(rng, g) for k, g in grades.items()}
    anchors: dict[str, int] = {}
    size_scale = float(np.clip((height_mm / 1200.0) ** 0.35, 0.7, 1.25))
    chord_scale = float(np.clip(height_mm / 1400.0, 0.45, 1.3)) ** 0.7

    chords = np.array([MARROW_CHORD_CM.get(b, 1.2) for b in BONES], dtype=np.float32)
    # local projected activity before the disease: lesions are drawn with a contrast to it
    local = ndimage.gaussian_filter(act.layers.sum(axis=0), max(2.0, 10.0 / sp))

    def diffuse(key: str, fraction: float) -> None:
        seg = smap == sidx[key]
        rows, cols = np.nonzero(seg)
        if rows.size == 0:
            return
        base = key.replace("right_", "").replace("left_", "")
        anchors.setdefault(base, int(rng.integers(0, 2)))
        order = _order_field(rng, key, rows, cols, limb_axes.get(key), anchors[base])
        n = rows.size if fraction >= 1.0 else int(round(fraction * rows.size))
        n = max(1, min(n, rows.size))
        pick = np.argsort(order, kind="stable")[:n]
        pr, pc = rows[pick], cols[pick]
        involved[pr, pc] = True
        r_lo, r_hi, c_lo, c_hi = pr.min(), pr.max() + 1, pc.min(), pc.max() + 1
        sub = np.zeros((r_hi - r_lo, c_hi - c_lo), dtype=np.float32)
        tex = 1.0 + 0.35 * ndimage.gaussian_filter(rng.normal(size=sub.shape), 1.5) / 0.19
        conc = float(math.exp(rng.uniform(math.log(8.0), math.log(30.0))))
        chord = chords[labels[pr, pc] - 1] * chord_scale
        floor = float(rng.uniform(0.5, 1.0)) * local[pr, pc]
        sub[pr - r_lo, pc - c_lo] = np.maximum(conc * chord, floor) * np.clip(
            tex[pr - r_lo, pc - c_lo], 0.3, 2.0)
        sl = (slice(r_lo, r_hi), slice(c_lo, c_hi))
        act.add(sl, sub, np.where(sub > 0, depth[sl], 0.5).astype(np.float32))
        bones, counts = np.unique(labels[pr, pc], return_counts=True)
        main = BONES[int(bones[np.argmax(counts)]) - 1]
        rc, cc = int(round(pr.mean())), int(round(pc.mean()))
        lesions.append(TruthLesion("diffuse", main, key, _curie_of(cmap, curie, pr, pc),
                                   rc, cc, None, n / rows.size))

    def distance_to_diffuse() -> np.ndarray | None:
        if not involved.any():
            return None
        rr, cc = np.nonzero(labels)
        box = (slice(rr.min(), rr.max() + 1), slice(cc.min(), cc.max() + 1))
        dist = np.full(labels.shape, np.inf, dtype=np.float32)
        dist[box] = ndimage.distance_transform_edt(~involved[box]) * sp
        return dist

    # diffuse lesions first
    for key, plan in plans.items():
        if plan.fraction > 0.0:
            diffuse(key, plan.fraction)

    # then discrete foci, apart from each other and from diffuse disease
    dist_diffuse = distance_to_diffuse()
    foci: list[tuple[str, int, int, float, float]] = []  # key, row, col, size_mm, fwhm_mm
    for key in SIOPEN_KEYS:
        plan = plans[key]
        if plan.foci == 0:
            continue
        seg = smap == sidx[key]
        if not seg.any():
            continue
        seg = ndimage.binary_erosion(seg) if seg.sum() > 50 else seg
        rows, cols = np.nonzero(seg)
        if rows.size == 0:
            continue
        cdf = np.cumsum(_marrow_weights(labels[rows, cols], position[rows, cols]))
        placed = 0
        for _ in range(plan.foci * 80):
            if placed == plan.foci:
                break
            i = min(int(np.searchsorted(cdf, rng.random() * cdf[-1])), rows.size - 1)
            r, c = int(rows[i]), int(cols[i])
            size = float(rng.uniform(7.0, 22.0)) * size_scale
            f = fwhm_of(float(depth[r, c]), float(thickness_cm[r, c]))
            if dist_diffuse is not None and dist_diffuse[r, c] < 2.0 * f + size / 2:
                continue
            ok = all(math.hypot((r - r2) * sp, (c - c2) * sp) >= 2.0 * max(f, f2)
                     + 0.5 * (size + s2) for _, r2, c2, s2, f2 in foci)
            if ok:
                foci.append((key, r, c, size, f))
                placed += 1
        if plan.foci > 3 and placed <= 3 and plan.fraction == 0.0:
            # no room for more than three distinct foci: grade 4 as a diffuse lesion instead
            foci = [x for x in foci if x[0] != key]
            diffuse(key, float(rng.uniform(0.2, 0.45)))
            dist_diffuse = distance_to_diffuse()
    for key, r, c, size, f in foci:
        if dist_diffuse is not None and dist_diffuse[r, c] < 2.0 * f + size / 2:
            continue
        bone = BONES[int(labels[r, c]) - 1]
        lesions.append(TruthLesion("focal", bone, key, CURIE_KEYS[int(cmap[r, c]) - 1],
                                   r, c, round(size, 1), None))
        y, x = canvas.to_body(r, c)
        e = canvas.ellipse(y, x, size / 2, size / 2 * float(rng.uniform(0.75, 1.0)),
                           float(rng.uniform(0, 180)))
        if e is not None:
            prof = np.sqrt(np.clip(1.0 - e[1], 0.0, None))
            # peak contrast over the local activity after blurring: 0.8-6 times
            contrast = float(math.exp(rng.uniform(math.log(0.8), math.log(6.0))))
            sig2 = (f / 2.3548) ** 2 + (size / 4.0) ** 2
            unit_peak = (math.pi / 6.0) * size ** 3 / 10.0 / (2.0 * math.pi * sig2)
            conc = float(np.clip(contrast * float(local[r, c]) / unit_peak, 10.0, 400.0))
            act.add(e[0], (conc * size / 10.0 * prof).astype(np.float32), float(depth[r, c]))

    # truth read back from the drawing
    s_frac, c_frac, s_grade, c_grade = {}, {}, {}, {}
    for key in SIOPEN_KEYS:
        seg = smap == sidx[key]
        area = int(seg.sum())
        s_frac[key] = float((involved & seg).sum() / area) if area else 0.0
        n = sum(1 for x in lesions if x.kind == "focal" and x.siopen == key)
        s_grade[key] = grade_siopen_segment(n, s_frac[key])
    for key in CURIE_KEYS:
        if key == "soft_tissue":
            continue
        seg = cmap == cidx[key]
        area = int(seg.sum())
        c_frac[key] = float((involved & seg).sum() / area) if area else 0.0
        n = sum(1 for x in lesions if x.kind == "focal" and x.curie == key)
        c_grade[key] = grade_curie_segment(n, c_frac[key])
    return Disease(lesions, involved, s_grade, c_grade, s_frac, c_frac)


def _curie_of(cmap: np.ndarray, curie: SegmentScheme, rows: np.ndarray, cols: np.ndarray
              ) -> str:
    vals, counts = np.unique(cmap[rows, cols], return_counts=True)
    keep = vals > 0
    v = int(vals[keep][np.argmax(counts[keep])])
    return curie.keys[v - 1]


def _marrow_weights(labels: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Chance of a focus at each candidate pixel: metaphyses of long bones preferred."""
    w = np.ones(labels.shape, dtype=float)
    long_ = np.isin(labels, [BONE_LABEL[b] for b in LONG_BONES])
    pos = np.nan_to_num(position, nan=0.5)
    meta = 0.3 + 2.0 * np.exp(-((pos - 0.12) / 0.08) ** 2) + 2.0 * np.exp(
        -((pos - 0.88) / 0.08) ** 2)
    w[long_] = meta[long_]
    # hands and feet hold little red marrow in children
    w[np.isin(labels, [BONE_LABEL[b] for b in ("hand_right", "hand_left", "foot_right",
                                                 "foot_left")])] = 0.25
    # keep foci off the mid-shaft split so that the segment is unambiguous
    w[long_ & (np.abs(pos - 0.5) < 0.05)] = 1e-6
    return w
