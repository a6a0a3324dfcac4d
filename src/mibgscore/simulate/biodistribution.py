"""Normal 123I-MIBG biodistribution of a child, its variants and pitfalls, and soft-tissue tumour.

Activity is projected along the antero-posterior axis and kept in a few depth layers (share of
the body thickness: 0 anterior skin, 1 posterior skin) so that the camera can attenuate and
blur each layer for the anterior and the posterior detector. Units are arbitrary: the body
background has concentration 1 per cm of tissue.
"""

from __future__ import annotations

import math

import numpy as np

from mibgscore.result import Finding
from mibgscore.simulate._raster import Canvas
from mibgscore.simulate.phantom import Anatomy, Child

DEPTHS = np.array([0.08, 0.3, 0.5, 0.7, 0.92], dtype=np.float32)
"""Depth layers, as a share of the body thickness from the anterior skin."""


class Activity:
    """Projected activity in depth layers, shape (layers, rows, cols), float32."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.layers = np.zeros((len(DEPTHS), *shape), dtype=np.float32)

    def add(self, sl, values: np.ndarray, depth: float | np.ndarray) -> None:
        """Add projected activity ``values`` on window ``sl`` at ``depth`` (0-1)."""
        if np.isscalar(depth):
            d = float(np.clip(depth, DEPTHS[0], DEPTHS[-1]))
            k = int(np.searchsorted(DEPTHS, d, side="right") - 1)
            k = min(k, len(DEPTHS) - 2)
            w = (d - DEPTHS[k]) / (DEPTHS[k + 1] - DEPTHS[k])
            self.layers[k][sl] += (1.0 - w) * values
            self.layers[k + 1][sl] += w * values
            return
        d = np.clip(depth, DEPTHS[0], DEPTHS[-1])
        k = np.clip(np.searchsorted(DEPTHS, d, side="right") - 1, 0, len(DEPTHS) - 2)
        w = (d - DEPTHS[k]) / (DEPTHS[k + 1] - DEPTHS[k])
        for j in range(len(DEPTHS) - 1):
            sel = k == j
            if sel.any():
                self.layers[j][sl] += np.where(sel, (1.0 - w) * values, 0.0)
                self.layers[j + 1][sl] += np.where(sel, w * values, 0.0)


def blob(canvas: Canvas, act: Activity, centre: tuple[float, float], radii: tuple[float, float],
         conc: float, chord_cm: float, depth: float, angle: float = 0.0,
         power: float = 0.5) -> bool:
    """Add an ellipsoid of concentration ``conc`` (per cm) and central chord ``chord_cm``.

    Returns whether any of it fell on the grid.
    """
    e = canvas.ellipse(centre[0], centre[1], radii[0], radii[1], angle)
    if e is None:
        return False
    sl, q = e
    prof = np.clip(1.0 - q, 0.0, None) ** power
    if not prof.any():
        return False
    act.add(sl, (conc * chord_cm * prof).astype(np.float32), depth)
    return True


def shell(canvas: Canvas, act: Activity, centre, radii, conc: float, chord_cm: float,
          depth: float, angle: float, inner: float) -> None:
    """A hollow ellipsoid (the left-ventricular myocardium), ``inner`` the cavity's share."""
    e = canvas.ellipse(centre[0], centre[1], radii[0], radii[1], angle)
    if e is None:
        return
    sl, q = e
    outer = np.sqrt(np.clip(1.0 - q, 0.0, None))
    cav = np.sqrt(np.clip(inner ** 2 - q, 0.0, None)) / inner
    act.add(sl, (conc * chord_cm * np.clip(outer - 0.85 * inner * cav, 0.0, None)).astype(
        np.float32), depth)


def normal_uptake(child: Child, anatomy: Anatomy, canvas: Canvas, rng: np.random.Generator,
                  *, pitfall_rate: float = 1.0, bowel_scale: float = 1.0
                  ) -> tuple[Activity, list[Finding]]:
    """Body background, organs and the optional pitfalls of a normal 24-h MIBG scan.

    Returns the activity and one finding per visible normal structure or pitfall.
    """
    c = child
    H = c.height_mm
    hh, hw = c.head_len, c.head_width
    ysh, yhip, L = c.y_shoulder, c.y_hip, c.trunk_len
    W = c.chest_half
    lm = anatomy.landmarks
    act = Activity(canvas.shape)
    findings: list[Finding] = []
    T = anatomy.thickness_cm
    scale = H / 1700.0  # organ chords scale with the child

    def note(label: str, y: float, x: float) -> None:
        r, col = canvas.to_pixel(y, x)
        if 0 <= r < canvas.shape[0] and 0 <= col < canvas.shape[1]:
            findings.append(Finding(label, int(round(r)), int(round(col))))

    def u(lo, hi):
        return float(rng.uniform(lo, hi))

    def logu(lo, hi):
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))

    # body background: uniform through the thickness, a little lower in the lungs
    bg = u(0.8, 1.2)
    for k in range(len(DEPTHS)):
        act.layers[k] += (bg / len(DEPTHS)) * T
    e = canvas.ellipse(0.42 * hh, 0.0, 0.42 * hh, 0.5 * hw)
    if e is not None:  # the brain takes up almost no MIBG: only scalp and skull background
        act.layers[:, e[0][0], e[0][1]] *= (
            1.0 - u(0.0, 0.75) * np.sqrt(np.clip(1.0 - e[1], 0.0, None)))[None]
    for s in (-1, 1):
        e = canvas.ellipse(ysh + 0.22 * L, s * 0.52 * W, 0.24 * L, 0.36 * W)
        if e is not None:  # air in the lungs: less tissue, less background
            act.layers[:, e[0][0], e[0][1]] *= (
                1.0 - 0.45 * np.sqrt(np.clip(1.0 - e[1], 0.0, None)))[None]
        blob(canvas, act, (ysh + 0.22 * L, s * 0.52 * W), (0.24 * L, 0.36 * W),
             u(0.3, 0.9), 8.0 * scale, 0.5)  # lung uptake, faint
    if rng.random() < 0.9:
        note("lungs", ysh + 0.22 * L, -0.52 * W)

    # organ uptake over soft tissue varies between children and cameras (washout, time of
    # imaging, scatter): one gain for the hot organs, broad
    organ = logu(0.7, 3.5)

    # head: salivary glands, nasopharynx, lacrimal glands
    sal = logu(10.0, 50.0) * organ
    asym = u(0.7, 1.0)
    for s in (-1, 1):
        f = asym if s == -1 else 1.0
        blob(canvas, act, (0.74 * hh, s * 0.40 * hw), (0.13 * hh, 0.09 * hw),
             sal * f, 2.5 * scale * 1.4, 0.5, angle=s * 8.0)
        blob(canvas, act, (0.93 * hh, s * 0.26 * hw), (0.055 * hh, 0.07 * hw),
             sal * f * u(0.4, 0.9), 2.0 * scale * 1.4, 0.35)
        if rng.random() < 0.7:
            blob(canvas, act, (lm["orbit_left"][0] - 0.02 * hh, s * 0.26 * hw),
                 (0.025 * hh, 0.035 * hw), logu(3.0, 15.0), 1.0 * scale * 1.4, 0.1)
    note("parotid_right", 0.74 * hh, -0.40 * hw)
    note("parotid_left", 0.74 * hh, 0.40 * hw)
    note("submandibular_right", 0.93 * hh, -0.26 * hw)
    note("submandibular_left", 0.93 * hh, 0.26 * hw)
    naso = logu(2.0, 15.0)
    blob(canvas, act, (0.64 * hh, 0.0), (0.07 * hh, 0.10 * hw), naso, 3.0 * scale * 1.4, 0.45)
    note("nasopharynx", 0.64 * hh, 0.0)

    # thyroid: blocked with potassium iodide, sometimes not enough
    if rng.random() < 0.12 * pitfall_rate:
        th = logu(3.0, 25.0)
        yt = ysh - 0.02 * L
        for s in (-1, 1):
            blob(canvas, act, (yt, s * 0.045 * H), (0.035 * H, 0.018 * H), th, 1.5, 0.2)
        note("thyroid", yt, 0.0)

    # heart: left-ventricular myocardium, tilted to the patient's left
    heart_c = (ysh + u(0.24, 0.31) * L, u(0.12, 0.25) * W)
    hr = u(0.26, 0.34) * W * (1.15 if c.age_years < 3 else 1.0)
    shell(canvas, act, heart_c, (hr * 1.15, hr * 0.9), logu(3.0, 12.0) * organ, 6.0 * scale * 1.3,
          0.3, -u(25, 50), u(0.5, 0.7))
    blob(canvas, act, heart_c, (hr * 1.2, hr), u(0.3, 1.0), 8.0 * scale, 0.35)  # blood pool
    note("heart", *heart_c)

    # liver: the most intense organ, right upper quadrant, left lobe crossing the midline
    liv = logu(5.0, 12.0) * organ
    big = 1.0 + 0.25 * (c.age_years < 2)
    ly = ysh + u(0.49, 0.55) * L
    blob(canvas, act, (ly, -0.45 * W), (0.15 * L * big, 0.66 * W), liv, 11.0 * scale * 1.2,
         0.45, angle=u(-20, -8), power=0.6)
    blob(canvas, act, (ly - 0.06 * L, 0.02 * W), (0.07 * L * big, 0.36 * W), liv * u(0.5, 0.8),
         5.0 * scale * 1.2, 0.25, angle=-15.0, power=0.6)
    # the right lobe reaches lower laterally: a wedge rather than a ball
    blob(canvas, act, (ly + 0.08 * L * big, -0.62 * W), (0.09 * L * big, 0.3 * W),
         liv * u(0.7, 1.0), 7.0 * scale * 1.2, 0.5, angle=u(15, 35), power=0.6)
    note("liver", ly, -0.45 * W)

    # spleen (posterior, patient's left), kidneys faint, adrenals sometimes
    if rng.random() < 0.7:
        blob(canvas, act, (ysh + u(0.44, 0.52) * L, 0.72 * W), (0.10 * L, 0.20 * W),
             logu(1.0, 5.0) * organ, 5.0 * scale * 1.3, 0.72, angle=25.0)
        note("spleen", ysh + 0.48 * L, 0.72 * W)
    kid = logu(0.5, 3.0)
    for s in (-1, 1):
        ky = ysh + 0.62 * L + (0.03 * L if s == -1 else 0.0)
        blob(canvas, act, (ky, s * 0.38 * W), (0.10 * L, 0.15 * W), kid, 4.5 * scale * 1.3,
             0.74, angle=-s * 12.0)
        if rng.random() < 0.4:
            blob(canvas, act, (ky - 0.11 * L, s * 0.24 * W), (0.025 * L, 0.05 * W),
                 logu(2.0, 8.0), 1.5 * scale * 1.3, 0.7)
            note(f"adrenal_{'right' if s == -1 else 'left'}", ky - 0.11 * L, s * 0.24 * W)
    note("kidney_right", ysh + 0.65 * L, -0.38 * W)
    note("kidney_left", ysh + 0.62 * L, 0.38 * W)

    # bowel: patchy colon and small bowel
    n_bowel = int(rng.integers(0, 18))
    colon = [(yhip - 0.20 * L, -0.62 * W), (ysh + 0.60 * L, -0.65 * W),
             (ysh + 0.57 * L, 0.0), (ysh + 0.58 * L, 0.62 * W), (yhip - 0.18 * L, 0.62 * W),
             (yhip - 0.08 * L, 0.15 * W)]
    bowel_level = logu(0.5, 6.0) * bowel_scale
    for _ in range(n_bowel):
        if rng.random() < 0.65:
            k = int(rng.integers(0, len(colon) - 1))
            t = u(0, 1)
            y = colon[k][0] + t * (colon[k + 1][0] - colon[k][0])
            x = colon[k][1] + t * (colon[k + 1][1] - colon[k][1])
            r = u(0.04, 0.09) * L
        else:
            y, x = ysh + u(0.6, 0.9) * L, u(-0.5, 0.5) * W
            r = u(0.02, 0.05) * L
        blob(canvas, act, (y, x), (r * u(0.6, 1.4), r), bowel_level * u(0.3, 1.5),
             3.0 * scale * 1.3, u(0.25, 0.65), angle=u(0, 180))
    if n_bowel:
        note("bowel", ysh + 0.65 * L, 0.0)

    # bladder: variable filling, sometimes the hottest structure
    fill = u(0.3, 1.3)
    by = yhip - u(0.02, 0.08) * L + 0.03 * L
    bl = logu(2.0, 60.0)
    blob(canvas, act, (by, u(-0.05, 0.05) * W), (0.07 * L * fill, 0.45 * c.pelvis_half * fill),
         bl, 5.0 * scale * 1.3 * fill, 0.35)
    note("bladder", by, 0.0)
    if rng.random() < 0.15 * pitfall_rate:  # urine on the skin or the nappy
        s = int(rng.choice([-1, 1]))
        y = yhip + u(0.05, 0.35) * L
        x = s * u(0.0, 0.8) * c.pelvis_half
        blob(canvas, act, (y, x), (u(0.01, 0.04) * H, u(0.01, 0.03) * H), bl * u(0.3, 2.0),
             0.6, float(rng.choice([0.08, 0.92])), angle=u(0, 180))
        note("urine_contamination", y, x)

    # brown fat: neck, supraclavicular, paravertebral
    if rng.random() < 0.2 * pitfall_rate:
        bf = logu(3.0, 20.0)
        for s in (-1, 1):
            for _ in range(int(rng.integers(2, 6))):
                y = ysh + u(-0.10, 0.05) * L
                x = s * u(0.12, 0.6) * c.shoulder_half
                r = u(0.008, 0.018) * H
                blob(canvas, act, (y, x), (r, r * u(0.8, 1.8)), bf * u(0.5, 1.2),
                     1.5 * scale * 1.3, 0.3, angle=u(0, 180))
            if rng.random() < 0.5:
                for _ in range(int(rng.integers(2, 6))):
                    y = ysh + u(0.05, 0.45) * L
                    x = s * u(0.05, 0.09) * H
                    r = u(0.006, 0.012) * H
                    blob(canvas, act, (y, x), (r * 1.5, r), bf * u(0.4, 1.0),
                         1.0 * scale * 1.3, 0.88)
        note("brown_fat", ysh - 0.03 * L, -0.35 * c.shoulder_half)

    # injection site
    if rng.random() < 0.35 * pitfall_rate:
        where = str(rng.choice(["hand_right", "hand_left", "elbow_right", "elbow_left",
                                "foot_right", "foot_left"]))
        y, x = lm[where] if not where.startswith("hand") else lm["wrist" + where[4:]]
        r = u(0.005, 0.012) * H
        blob(canvas, act, (y, x), (r, r), logu(10.0, 200.0), 1.0, 0.15)
        note("injection_site", y, x)
    return act, findings


def soft_tissue_tumour(child: Child, anatomy: Anatomy, canvas: Canvas, act: Activity,
                       rng: np.random.Generator) -> list[Finding]:
    """Primary neuroblastoma (adrenal, abdominal, thoracic or pelvic), sometimes with nodes.

    Returns one ``soft_tissue_tumour`` finding per site (the Curie soft-tissue sites).
    """
    c = child
    ysh, yhip, L, W = c.y_shoulder, c.y_hip, c.trunk_len, c.chest_half
    H = c.height_mm
    sites = []
    where = str(rng.choice(["adrenal", "abdominal", "thoracic", "pelvic", "cervical"],
                           p=[0.45, 0.25, 0.17, 0.08, 0.05]))
    s = int(rng.choice([-1, 1]))
    if where == "adrenal":
        y, x = ysh + rng.uniform(0.5, 0.62) * L, s * rng.uniform(0.1, 0.35) * W
    elif where == "abdominal":
        y, x = ysh + rng.uniform(0.6, 0.78) * L, rng.uniform(-0.25, 0.25) * W
    elif where == "thoracic":
        y, x = ysh + rng.uniform(0.05, 0.4) * L, s * rng.uniform(0.05, 0.2) * W
    elif where == "pelvic":
        y, x = yhip - rng.uniform(0.05, 0.2) * L, s * rng.uniform(0.0, 0.2) * W
    else:
        y, x = c.head_len + 0.6 * c.neck_len, s * 0.25 * c.head_width
    size = rng.uniform(0.025, 0.09) * H
    sites.append(("primary", y, x, size))
    if rng.random() < 0.25:  # nodal or distant soft-tissue site
        y2 = y + rng.uniform(-0.25, 0.25) * L
        x2 = rng.uniform(-0.4, 0.4) * W
        if math.hypot(y2 - y, x2 - x) > size + 0.04 * H:
            sites.append(("node", y2, x2, rng.uniform(0.015, 0.035) * H))
    out = []
    for _, y0, x0, sz in sites:
        conc = float(math.exp(rng.uniform(math.log(3.0), math.log(25.0))))
        for _ in range(int(rng.integers(1, 4))):
            dy, dx = rng.normal(0, 0.2 * sz, 2)
            r = sz * 0.5 * rng.uniform(0.6, 1.0)
            blob(canvas, act, (y0 + dy, x0 + dx), (r * rng.uniform(0.7, 1.3), r),
                 conc * rng.uniform(0.6, 1.2), 2.0 * r / 10.0, float(rng.uniform(0.45, 0.75)),
                 angle=float(rng.uniform(0, 180)))
        if rng.random() < 0.25:  # necrotic centre
            blob(canvas, act, (y0, x0), (0.25 * sz, 0.25 * sz), -0.6 * conc,
                 0.4 * sz / 10.0, 0.6)
        r, col = canvas.to_pixel(y0, x0)
        if 0 <= r < canvas.shape[0] and 0 <= col < canvas.shape[1]:
            out.append(Finding("soft_tissue_tumour", int(round(r)), int(round(col))))
    return out
