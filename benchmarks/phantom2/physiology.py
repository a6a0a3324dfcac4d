"""Normal 123I-MIBG biodistribution, soft-tissue findings and skeletal disease of a phantom.

Every source is an emission map (activity concentration relative to the liver, times the chord
through the source in mm) on a window of the grid, with a depth (0 anterior - 1 posterior) that
the camera uses for attenuation and collimator blur. Normal bone takes up no MIBG.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from mibgscore.anatomy.bones import BONE_LABEL
from mibgscore.anatomy.scheme import load_scheme

from .anatomy import Anatomy, proportion
from .geometry import Grid, Window, bezier, ellipse, tube

FULL: Window = (slice(None), slice(None))


@dataclass
class Source:
    """Emission on part of the grid (concentration x chord in mm) at one depth."""

    win: Window
    emission: np.ndarray
    depth: float
    label: str


@dataclass(frozen=True)
class FocalLesion:
    """A discrete skeletal lesion: centre in body mm and pixels, diameter, bone and segments.

    ``contrast`` is the expected blurred peak over the normal emission beneath it.
    """

    x_mm: float
    y_mm: float
    row: int
    col: int
    diameter_mm: float
    concentration: float
    bone: str
    position: float
    siopen: str
    curie: str
    contrast: float = 0.0


@dataclass
class Disease:
    """Skeletal and soft-tissue disease of one phantom."""

    category: str
    focal: list[FocalLesion] = field(default_factory=list)
    diffuse: np.ndarray | None = None
    diffuse_segments: dict[str, float] = field(default_factory=dict)
    soft_tissue_sites: list[tuple[str, int, int]] = field(default_factory=list)


def _organ(grid: Grid, label: str, cx: float, cy: float, a: float, b: float, half_depth: float,
           conc: float, depth: float, angle: float = 0.0, power: float = 2.0) -> Source | None:
    p = ellipse(grid, cx, cy, a, b, angle, power)
    if p is None or conc <= 0:
        return None
    return Source(p.win, (conc * 2.0 * half_depth * p.w).astype(np.float32), depth, label)


def _texture(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float,
             amount: float) -> np.ndarray:
    n = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma_px)
    n /= max(float(n.std()), 1e-6)
    return np.clip(1.0 + amount * n, 0.2, None).astype(np.float32)


def normal_uptake(an: Anatomy, rng: np.random.Generator) -> tuple[list[Source], dict]:
    """Draw the normal biodistribution and incidental findings.

    Returns
    -------
    sources : list of Source
    findings : dict
        Which optional findings were drawn (thyroid, brown fat, contamination, injection).
    """
    g, lv, lm = an.grid, an.levels, an.landmarks
    ch = an.child
    h = lv["height"]
    head_h = lv["head"]
    head_w = proportion("head_width", ch.age_years) * head_h
    chest_hw = (0.102 - 0.012 * min(ch.age_years, 10) / 10) * h
    pel_hw = proportion("pelvis", ch.age_years) * h / 2
    thor = lv["t12"] - lv["c7"]
    young = 1.25 if ch.age_years < 2 else 1.0
    src: list[Source | None] = []
    found: dict = {}
    u = rng.uniform

    bg = u(0.022, 0.05)
    src.append(Source(FULL, (bg * an.thickness).astype(np.float32), 0.5, "soft_tissue"))
    # head: parotid and submandibular glands, nasopharynx, lacrimal glands
    par = u(0.6, 2.0)
    for s in (-1, 1):
        src.append(_organ(g, "salivary", s * 0.40 * head_w, 0.69 * head_h, 0.10 * head_w,
                          0.13 * head_h, 0.08 * head_w, par * u(0.85, 1.15), 0.5, s * 10))
        src.append(_organ(g, "salivary", s * 0.22 * head_w, 0.90 * head_h, 0.075 * head_w,
                          0.06 * head_h, 0.06 * head_w, par * u(0.4, 0.9), 0.4))
        if rng.random() < 0.5:
            src.append(_organ(g, "lacrimal", s * 0.27 * head_w, 0.42 * head_h, 0.05 * head_w,
                              0.035 * head_h, 0.03 * head_w, u(0.3, 1.0), 0.15))
    src.append(_organ(g, "nasopharynx", 0.0, 0.64 * head_h, 0.10 * head_w, 0.08 * head_h,
                      0.1 * head_w, u(0.4, 1.4), 0.5))
    # thorax: myocardium (left ventricle ring), lungs
    hx, hy = 0.22 * chest_hw, lv["c7"] + 0.62 * thor
    myo = u(0.2, 0.7)
    ha, hb = 0.30 * chest_hw * young, 0.19 * thor
    outer = _organ(g, "heart", hx, hy, ha, hb, 0.05 * h, myo, 0.3, 35)
    inner = _organ(g, "heart", hx + 0.03 * chest_hw, hy, 0.6 * ha, 0.55 * hb, 0.03 * h,
                   -myo * 0.8, 0.3, 35)
    if outer is not None and inner is not None:
        outer.emission[_rel(outer.win, inner.win)] += inner.emission
        np.clip(outer.emission, 0, None, out=outer.emission)
    src.append(outer)
    lung = u(0.03, 0.09)
    for s in (-1, 1):
        src.append(_organ(g, "lung", s * 0.5 * chest_hw, lv["c7"] + 0.45 * thor,
                          0.42 * chest_hw, 0.36 * thor, 0.04 * h, lung, 0.5))
    # abdomen: liver (two lobes, textured), spleen, kidneys, bowel
    liv = u(0.8, 1.25)
    ly = lv["c7"] + 0.86 * thor
    for cx, cy, a, b, ang, c in ((-0.45 * chest_hw, ly, 0.58 * chest_hw * young,
                                  0.065 * h * young, -12, 1.0),
                                 (0.12 * chest_hw, ly - 0.012 * h, 0.38 * chest_hw,
                                  0.035 * h * young, 8, 0.8)):
        o = _organ(g, "liver", cx, cy, a, b, 0.045 * h, liv * c, 0.45, ang, 2.4)
        if o is not None:
            o.emission *= _texture(rng, o.emission.shape, 3.0, 0.12)
        src.append(o)
    src.append(_organ(g, "spleen", 0.72 * chest_hw, lv["t12"] - 0.012 * h, 0.2 * chest_hw,
                      0.042 * h, 0.025 * h, u(0.12, 0.55), 0.7, 20))
    kid = u(0.06, 0.3)
    for s in (-1, 1):
        src.append(_organ(g, "kidney", s * 0.048 * h, lv["t12"] + (0.018 if s < 0 else 0.008) * h,
                          0.022 * h, 0.04 * h, 0.02 * h, kid, 0.75, -s * 12))
    src.extend(_bowel(an, rng, chest_hw, pel_hw))
    # bladder: variable filling, sometimes the hottest thing
    fill = u(0.012, 0.04) * h
    by = lv["hip"] + 0.025 * h - 0.8 * fill
    src.append(_organ(g, "bladder", u(-0.004, 0.004) * h, by, fill, 0.8 * fill, 0.9 * fill,
                      float(np.exp(u(np.log(0.4), np.log(8.0)))), 0.35))
    # optional findings
    if rng.random() < 0.15:
        found["thyroid"] = True
        c = u(0.5, 3.0)
        for s in (-1, 1):
            src.append(_organ(g, "thyroid", s * 0.012 * h, lv["c7"] - 0.008 * h, 0.008 * h,
                              0.016 * h, 0.008 * h, c, 0.2))
    if rng.random() < 0.2:
        found["adrenals"] = True
        for s in (-1, 1):
            src.append(_organ(g, "adrenal", s * 0.035 * h, lv["t12"] - 0.008 * h, 0.01 * h,
                              0.008 * h, 0.008 * h, u(0.2, 0.6), 0.7))
    if rng.random() < 0.15:
        found["brown_fat"] = True
        src.extend(_brown_fat(an, rng))
    if rng.random() < 0.12:
        found["urine_contamination"] = True
        for _ in range(int(rng.integers(1, 4))):
            x = u(-0.09, 0.09) * h
            y = lv["ischium"] + u(-0.01, 0.12) * h
            d = u(4, 14)
            src.append(_organ(g, "contamination", x, y, d, d * u(0.6, 1.4), d, u(2, 20),
                              float(rng.choice([0.0, 1.0]))))
    if rng.random() < 0.2:
        side = str(rng.choice(["right", "left"]))
        where = str(rng.choice(["elbow", "wrist", "hand", "ankle"]))
        x, y = lm[f"{where}_{side}"] if where != "ankle" else lm[f"ankle_{side}"]
        found["injection"] = f"{where}_{side}"
        d = u(4, 10)
        src.append(_organ(g, "injection", x + u(-4, 4), y + u(-6, 6), d, d, d, u(2, 15), 0.1))
    return [s for s in src if s is not None], found


def _rel(outer: Window, inner: Window) -> Window:
    """``inner`` expressed inside ``outer`` (inner must lie within outer)."""
    r0 = max(inner[0].start, outer[0].start) - outer[0].start
    c0 = max(inner[1].start, outer[1].start) - outer[1].start
    return (slice(r0, r0 + inner[0].stop - inner[0].start),
            slice(c0, c0 + inner[1].stop - inner[1].start))


def _bowel(an: Anatomy, rng: np.random.Generator, chest_hw: float, pel_hw: float
           ) -> list[Source | None]:
    g, lv, h = an.grid, an.levels, an.levels["height"]
    u = rng.uniform
    out: list[Source | None] = []
    level = float(np.exp(u(np.log(0.03), np.log(0.7))))
    path = [(-0.6 * pel_hw, lv["crest"] + 0.02 * h), (-0.62 * chest_hw, lv["t12"] + 0.025 * h),
            (0.0, lv["t12"] + 0.05 * h), (0.62 * chest_hw, lv["t12"] + 0.01 * h),
            (0.6 * pel_hw, lv["crest"] + 0.02 * h), (0.2 * pel_hw, lv["hip"] - 0.01 * h),
            (0.0, lv["hip"] + 0.01 * h)]
    for i in range(len(path) - 1):
        if rng.random() < 0.35:
            continue
        pts = bezier(path[i], ((path[i][0] + path[i + 1][0]) / 2 + u(-0.02, 0.02) * h,
                               (path[i][1] + path[i + 1][1]) / 2 + u(-0.02, 0.02) * h),
                     path[i + 1], n=6)
        r = u(0.012, 0.022) * h
        p = tube(g, pts, np.full(len(pts), r))
        if p is not None:
            e = level * u(0.3, 1.5) * 2 * r * p.w * _texture(rng, p.w.shape, 4.0, 0.45)
            out.append(Source(p.win, e.astype(np.float32), u(0.25, 0.6), "bowel"))
    for _ in range(int(rng.integers(0, 6))):
        x, y = u(-0.8, 0.8) * pel_hw, u(lv["t12"] + 0.03 * h, lv["hip"] - 0.02 * h)
        out.append(_organ(g, "bowel", x, y, u(0.008, 0.02) * h, u(0.008, 0.02) * h, 0.01 * h,
                          level * u(0.3, 1.5), u(0.25, 0.6)))
    return out


def _brown_fat(an: Anatomy, rng: np.random.Generator) -> list[Source | None]:
    g, lv, h = an.grid, an.levels, an.levels["height"]
    sh_hw = proportion("shoulder", an.child.age_years) * h / 2
    u = rng.uniform
    c = u(0.3, 1.2)
    out: list[Source | None] = []
    for s in (-1, 1):
        for _ in range(int(rng.integers(3, 7))):  # supraclavicular and neck
            out.append(_organ(g, "brown_fat", s * u(0.15, 0.75) * sh_hw,
                              lv["shoulder"] - u(-0.01, 0.035) * h, u(0.006, 0.014) * h,
                              u(0.006, 0.012) * h, 0.01 * h, c * u(0.5, 1.2), 0.3))
        if rng.random() < 0.5:  # paravertebral, over the spine's edge
            for _ in range(int(rng.integers(2, 6))):
                out.append(_organ(g, "brown_fat", s * u(0.018, 0.03) * h,
                                  u(lv["c7"], lv["t12"]), 0.006 * h, u(0.008, 0.016) * h,
                                  0.006 * h, c * u(0.5, 1.0), 0.85))
    return out


# ---------------------------------------------------------------- disease

_SEG_WEIGHT = {"skull": 1.2, "thoracic_cage": 1.0, "spine": 1.4, "pelvis": 1.4,
               "right_upper_limb_proximal": 0.7, "right_upper_limb_distal": 0.5,
               "left_upper_limb_proximal": 0.7, "left_upper_limb_distal": 0.5,
               "right_lower_limb_proximal": 1.1, "right_lower_limb_distal": 1.0,
               "left_lower_limb_proximal": 1.1, "left_lower_limb_distal": 1.0}

# joint landmark from which diffuse marrow disease spreads in each limb segment
_SEED = {"right_upper_limb_proximal": "shoulder_right", "left_upper_limb_proximal":
         "shoulder_left", "right_upper_limb_distal": "elbow_right", "left_upper_limb_distal":
         "elbow_left", "right_lower_limb_proximal": "hip_right", "left_lower_limb_proximal":
         "hip_left", "right_lower_limb_distal": "knee_right", "left_lower_limb_distal":
         "knee_left"}


def plan_grades(rng: np.random.Generator, category: str) -> dict[str, int]:
    """Target SIOPEN grade per segment for a ``normal``, ``limited`` or ``extensive`` scan."""
    keys = list(_SEG_WEIGHT)
    w = np.array([_SEG_WEIGHT[k] for k in keys])
    grades = dict.fromkeys(keys, 0)
    if category == "normal":
        return grades
    if category == "limited":
        left = int(rng.integers(1, 6))
        while left > 0:
            free = [i for i, k in enumerate(keys) if grades[k] == 0]
            k = keys[int(rng.choice(free, p=w[free] / w[free].sum()))]
            g = 4 if left >= 4 and rng.random() < 0.3 else int(min(left, rng.integers(1, 4)))
            grades[k] = g
            left -= g
        return grades
    if rng.random() < 0.35:  # diffuse marrow pattern
        for k in keys:
            if rng.random() < 0.85:
                grades[k] = int(rng.choice([3, 4, 5, 6], p=[0.1, 0.3, 0.35, 0.25]))
    else:
        n = int(rng.integers(3, 13))
        for k in rng.choice(keys, size=n, replace=False, p=w / w.sum()):
            grades[str(k)] = int(rng.choice([1, 2, 3, 4, 5, 6], p=[.2, .2, .18, .2, .12, .1]))
    while sum(grades.values()) <= 5:
        k = keys[int(rng.integers(len(keys)))]
        grades[k] = min(6, grades[k] + 2)
    return grades


def draw_disease(an: Anatomy, rng: np.random.Generator, category: str,
                 background: np.ndarray, blur_mm: float) -> tuple[Disease, list[Source]]:
    """Place skeletal lesions realising a planned grade per segment, and soft-tissue tumour.

    Parameters
    ----------
    background : ndarray of shape (rows, cols), float32
        Normal emission (for lesion contrast: a lesion is drawn visible above what lies over
        it).
    blur_mm : float
        Typical system FWHM, used to keep discrete lesions apart.
    """
    g = an.grid
    s = g.s
    siopen = load_scheme("siopen")
    curie = load_scheme("curie")
    seg_map = siopen.segment_map(an.bone_labels, an.bone_position)
    cur_map = curie.segment_map(an.bone_labels, an.bone_position)
    h = an.levels["height"]
    plan = plan_grades(rng, category)
    dis = Disease(category)
    diffuse = np.zeros(g.shape, bool)
    sources: list[Source] = []
    centres: list[tuple[float, float, float]] = []  # row, col, radius px
    label_to_bone = {v: k for k, v in BONE_LABEL.items()}
    size_scale = float(np.clip(h / 1400.0, 0.55, 1.0))

    def place(key: str, n: int, avoid: np.ndarray) -> int:
        idx = siopen.keys.index(key) + 1
        cand = (seg_map == idx) & ~avoid
        if key in _SEED:  # keep clear of the mid-shaft split of the long bone
            cand &= np.abs(an.bone_position - 0.5) > 0.07
        rr, cc = np.nonzero(cand)
        placed = 0
        tries = 0
        while placed < n and tries < 400 and len(rr):
            tries += 1
            j = int(rng.integers(len(rr)))
            r, c = int(rr[j]), int(cc[j])
            d = float(np.exp(rng.uniform(np.log(5), np.log(25)))) * size_scale
            rad = d / 2 / s
            gap = (0.5 * d + 1.2 * blur_mm + 4.0) / s
            if any(math.hypot(r - r2, c - c2) < rad2 + gap for r2, c2, rad2 in centres):
                continue
            centres.append((r, c, rad))
            x, y = _body_xy(g, r, c)
            bone = label_to_bone[int(an.bone_labels[r, c])]
            k = max(1, int(round(0.5 * d / s)))
            local = float(background[max(r - k, 0): r + k + 1, max(c - k, 0): c + k + 1].mean())
            q = float(np.exp(rng.uniform(np.log(1.2), np.log(10.0))))  # peak over background
            peak = d * d / (d * d + blur_mm * blur_mm)  # blurred peak of a small sphere
            conc = max(float(np.exp(rng.uniform(np.log(0.5), np.log(6.0)))),
                       q * local / (d * peak))
            if conc > 15.0:  # would be lost in the liver or bladder: not a callable focus
                centres.pop()
                continue
            p = ellipse(g, x, y, d / 2, d / 2 * rng.uniform(0.8, 1.25), rng.uniform(0, 180))
            if p is not None:
                sources.append(Source(p.win, (conc * d * p.w).astype(np.float32),
                                      float(an.bone_depth[r, c]), "bone_focal"))
            ck = curie.keys[int(cur_map[r, c]) - 1]
            dis.focal.append(FocalLesion(float(x), float(y), r, c, float(d), conc, bone,
                                         float(an.bone_position[r, c]), key, ck,
                                         max(q, conc * d * peak / max(local, 1e-6))))
            placed += 1
        return placed

    # diffuse first (foci must then avoid the involved marrow)
    want_foci: dict[str, int] = {}
    for key, grade in plan.items():
        frac = 0.0
        if grade == 4 and rng.random() < 0.5:
            frac = rng.uniform(0.15, 0.4)
        elif grade == 4:
            want_foci[key] = int(rng.integers(4, 8))
        elif grade == 5:
            frac = rng.uniform(0.58, 0.88)
        elif grade == 6:
            frac = 1.0
        elif grade > 0:
            want_foci[key] = grade
        if frac > 0:
            got = _diffuse_region(an, seg_map, siopen.keys.index(key) + 1, frac, key, rng)
            if got is not None:
                diffuse |= got
                if grade == 5 and rng.random() < 0.3:
                    want_foci[key] = int(rng.integers(1, 3))
    for key, n in want_foci.items():
        got = place(key, n, diffuse)
        if got < n and n >= 4 and got < 4:  # no room for discrete foci: make it diffuse
            region = _diffuse_region(an, seg_map, siopen.keys.index(key) + 1,
                                     rng.uniform(0.15, 0.4), key, rng)
            if region is not None:
                diffuse |= region
    if diffuse.any():
        level = float(np.exp(rng.uniform(np.log(2.0), np.log(7.0))))  # marrow / background
        dconc = np.zeros(g.shape, np.float32)
        for i in range(len(siopen.keys)):
            m = diffuse & (seg_map == i + 1)
            if m.any():
                local = float(np.median(background[m]))
                chord = float(np.median(an.bone_chord[m]))
                dconc[m] = max(0.15, level * rng.uniform(0.8, 1.25) * local / max(chord, 1.0))
        tex = _texture(rng, g.shape, 6.0 / s, 0.35)
        em = ndimage.gaussian_filter(dconc, 1.5 / s + 0.5) * an.bone_chord * tex
        em = np.where(an.bone_labels > 0, np.maximum(em, dconc * an.bone_chord * tex), 0)
        for depth in np.unique(an.bone_depth[diffuse]):
            m = an.bone_depth == depth
            sources.append(Source(FULL, np.where(m, em, 0).astype(np.float32), float(depth),
                                  "bone_diffuse"))
    dis.diffuse = diffuse
    # soft-tissue tumour: primary (adrenal / retroperitoneal, thoracic, pelvic) and nodes
    p_tumour = 0.1 if category == "normal" else 0.45
    if rng.random() < p_tumour:
        sources.extend(_tumour(an, rng, dis))
    return dis, sources


def _body_xy(g: Grid, r: float, c: float) -> tuple[float, float]:
    dc, dr = c - g.c0, r - g.r0
    return (dc * g.cos + dr * g.sin) * g.s, (-dc * g.sin + dr * g.cos) * g.s


def _diffuse_region(an: Anatomy, seg_map: np.ndarray, idx: int, frac: float, key: str,
                    rng: np.random.Generator) -> np.ndarray | None:
    rr, cc = np.nonzero(seg_map == idx)
    if len(rr) == 0:
        return None
    if key in _SEED:
        x, y = an.landmarks[_SEED[key]]
        r0, c0 = an.grid.to_pixel(x, y)
    else:
        j = int(rng.integers(len(rr)))
        r0, c0 = rr[j], cc[j]
    if key == "spine":  # a run of whole vertebrae
        dist = np.abs(rr - r0) + 0.01 * np.abs(cc - c0)
    else:
        dist = np.hypot(rr - r0, cc - c0)
    n = len(rr) if frac >= 1.0 else int(round(frac * len(rr)))
    keep = np.argsort(dist, kind="stable")[:n]
    out = np.zeros(seg_map.shape, bool)
    out[rr[keep], cc[keep]] = True
    return out


def _tumour(an: Anatomy, rng: np.random.Generator, dis: Disease) -> list[Source]:
    g, lv, h = an.grid, an.levels, an.levels["height"]
    u = rng.uniform
    where = str(rng.choice(["adrenal", "thoracic", "pelvic"], p=[0.7, 0.2, 0.1]))
    side = float(rng.choice([-1.0, 1.0]))
    x, y = {"adrenal": (side * u(0.01, 0.05) * h, lv["t12"] + u(-0.01, 0.03) * h),
            "thoracic": (side * u(0.01, 0.03) * h, lv["c7"] + u(0.3, 0.8) * (lv["t12"] - lv["c7"])),
            "pelvic": (side * u(0.0, 0.03) * h, lv["crest"] + u(0.02, 0.05) * h)}[where]
    d = u(30, 100) * float(np.clip(h / 1300, 0.6, 1.2))
    out: list[Source] = []
    p = ellipse(g, x, y, d / 2, d / 2 * u(0.7, 1.3), u(0, 180), 2.0)
    if p is not None:
        tex = _texture(rng, p.w.shape, 8.0 / g.s, 0.5)
        core = np.where(p.w > 0.6, u(0.2, 1.0), 1.0)  # necrotic centre sometimes
        e = (u(0.6, 4.0) * d * p.w * tex * core).astype(np.float32)
        out.append(Source(p.win, e, 0.55, "tumour"))
        r, c = g.to_pixel(x, y)
        dis.soft_tissue_sites.append((where, int(r), int(c)))
    if rng.random() < 0.3:  # a nodal mass
        x2, y2 = x + side * u(0.0, 0.02) * h, y + u(0.05, 0.1) * h
        d2 = u(12, 30)
        p = ellipse(g, x2, y2, d2 / 2, d2 / 2, 0.0)
        if p is not None:
            out.append(Source(p.win, (u(1.0, 4.0) * d2 * p.w).astype(np.float32), 0.5, "node"))
            r, c = g.to_pixel(x2, y2)
            dis.soft_tissue_sites.append(("node", int(r), int(c)))
    return out
