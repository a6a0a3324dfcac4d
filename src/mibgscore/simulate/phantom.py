"""A child's planar anatomy: bones, body outline and thickness, drawn on the scan's grid.

Proportions change with age (the head is about a quarter of the height at one year and a
seventh at sixteen; the legs grow from about 38 % to 49 % of the height). Body coordinates are
in mm, ``y`` from the vertex towards the feet and ``x`` towards the patient's left (see
``_raster``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mibgscore.anatomy.bones import BONE_LABEL, DRAW_ORDER
from mibgscore.simulate._raster import Canvas, along, unit

AGES = np.array([0.5, 1, 2, 4, 6, 8, 10, 12, 14, 16], dtype=float)
HEIGHT_CM = np.array([67, 75, 87, 103, 116, 128, 139, 150, 163, 170], dtype=float)
HEAD_FRACTION = np.array([0.26, 0.25, 0.225, 0.195, 0.18, 0.17, 0.16, 0.153, 0.146, 0.14])
LEG_FRACTION = np.array([0.37, 0.38, 0.41, 0.44, 0.46, 0.47, 0.48, 0.485, 0.49, 0.49])
BMI = np.array([17.0, 17.0, 16.3, 15.7, 15.4, 15.8, 16.6, 17.6, 18.8, 20.0])

SIDES = {"right": -1, "left": 1}
"""Sign of x on the patient's right and left."""


def _at(age: float, table: np.ndarray) -> float:
    return float(np.interp(math.log(age), np.log(AGES), table))


@dataclass(frozen=True)
class Child:
    """A simulated child: size, proportions and position on the table (mm, degrees)."""

    age_years: float
    sex: str
    height_mm: float
    weight_kg: float
    head_len: float
    head_width: float
    face_fraction: float
    neck_len: float
    leg_len: float
    shoulder_half: float
    chest_half: float
    pelvis_half: float
    habitus: float
    ap_ratio: float
    arm_abduction: tuple[float, float]
    elbow_angle: tuple[float, float]
    hand_pose: tuple[str, str]
    leg_abduction: tuple[float, float]
    foot_turn: tuple[float, float]
    bone_scale: float
    arm_scale: float = 1.0

    @property
    def y_shoulder(self) -> float:
        """Level of the acromions (mm from the vertex)."""
        return self.head_len + self.neck_len

    @property
    def y_hip(self) -> float:
        """Level of the hip joints."""
        return self.height_mm - self.leg_len

    @property
    def trunk_len(self) -> float:
        """Shoulder to hip-joint distance."""
        return self.y_hip - self.y_shoulder


def sample_child(rng: np.random.Generator, age_range: tuple[float, float]) -> Child:
    """Draw a child: age, size, habitus and positioning."""
    lo, hi = age_range
    if rng.random() < 0.5:
        age = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    else:
        age = float(rng.uniform(lo, hi))
    h = float(np.clip(_at(age, HEIGHT_CM) * rng.normal(1.0, 0.045), 60.0, 180.0)) * 10.0
    bmi = _at(age, BMI) * float(np.exp(rng.normal(0.0, 0.12)))
    weight = bmi * (h / 1000.0) ** 2
    habitus = float(np.clip((bmi / _at(age, BMI)) ** 0.8 * rng.normal(1.0, 0.04), 0.8, 1.35))
    head_len = _at(age, HEAD_FRACTION) * rng.normal(1.0, 0.04) * h
    young = float(np.clip((age - 0.5) / 15.5, 0.0, 1.0))
    abd = float(rng.uniform(2.0, 24.0))
    legs = float(rng.uniform(-1.0, 9.0))
    poses = ("supine", "prone", "mid")
    return Child(
        age_years=age,
        sex=str(rng.choice(["M", "F"])),
        height_mm=h,
        weight_kg=float(weight),
        head_len=head_len,
        head_width=head_len * (0.82 - 0.08 * young) * rng.uniform(0.95, 1.05),
        face_fraction=0.30 + 0.12 * young,
        neck_len=h * (0.03 + 0.025 * young),
        leg_len=_at(age, LEG_FRACTION) * rng.normal(1.0, 0.02) * h,
        shoulder_half=h * 0.113 * rng.uniform(0.93, 1.07),
        chest_half=h * 0.113 * (0.86 - 0.08 * young) * rng.uniform(0.95, 1.05),
        pelvis_half=h * (0.085 - 0.006 * young) * rng.uniform(0.93, 1.07),
        habitus=habitus,
        ap_ratio=(0.78 - 0.14 * young) * rng.uniform(0.9, 1.1),
        arm_abduction=(abd + rng.normal(0, 2.0), abd + rng.normal(0, 2.0)),
        elbow_angle=(float(rng.uniform(-2, 12)), float(rng.uniform(-2, 12))),
        hand_pose=(str(rng.choice(poses, p=[0.45, 0.35, 0.2])),
                   str(rng.choice(poses, p=[0.45, 0.35, 0.2]))),
        leg_abduction=(legs + rng.normal(0, 1.5), legs + rng.normal(0, 1.5)),
        foot_turn=(float(rng.uniform(0, 35)), float(rng.uniform(0, 35))),
        bone_scale=float(rng.uniform(0.92, 1.08)),
        arm_scale=float(rng.uniform(0.94, 1.06)),
    )


@dataclass
class Anatomy:
    """The child drawn on the grid.

    Attributes
    ----------
    bone_labels : ndarray (rows, cols), int16
        Bone map (``BONE_LABEL``), overlaps by ``DRAW_ORDER``.
    bone_position : ndarray (rows, cols), float32
        0 proximal - 1 distal along long bones, NaN elsewhere.
    bone_depth : ndarray (rows, cols), float32
        Depth of the visible bone as a share of the body thickness (0 anterior, 1 posterior).
    thickness_cm : ndarray (rows, cols), float32
        Antero-posterior body thickness.
    landmarks : dict of str to (float, float)
        Body-coordinate landmarks (y, x) in mm.
    """

    bone_labels: np.ndarray
    bone_position: np.ndarray
    bone_depth: np.ndarray
    thickness_cm: np.ndarray
    landmarks: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def body_mask(self) -> np.ndarray:
        """Pixels inside the body outline."""
        return self.thickness_cm > 0.0


class _Bones:
    """Collects each bone's pieces, then paints them in ``DRAW_ORDER``."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.pieces: dict[str, list] = {name: [] for name in DRAW_ORDER}

    def add(self, bone: str, win, inside: np.ndarray | None, depth, position=None) -> None:
        if win is None:
            return
        sl = win[0]
        mask = inside
        if not mask.any():
            return
        self.pieces[bone].append((sl, mask, depth, position))

    def paint(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        shape = self.canvas.shape
        labels = np.zeros(shape, dtype=np.int16)
        position = np.full(shape, np.nan, dtype=np.float32)
        depth = np.zeros(shape, dtype=np.float32)
        for bone in DRAW_ORDER:
            lab = BONE_LABEL[bone]
            for sl, mask, d, pos in self.pieces[bone]:
                labels[sl][mask] = lab
                dep = depth[sl]
                dep[mask] = d[mask] if isinstance(d, np.ndarray) else d
                p = position[sl]
                p[mask] = np.nan if pos is None else pos[mask]
        return labels, position, depth


def _axis_position(canvas: Canvas, win, start: tuple[float, float], end: tuple[float, float]
                   ) -> np.ndarray:
    """Position 0-1 of the window's pixels along the axis start -> end."""
    sl = win[0]
    rows = np.arange(sl[0].start, sl[0].stop, dtype=np.float32)[:, None]
    cols = np.arange(sl[1].start, sl[1].stop, dtype=np.float32)[None, :]
    # body coordinates of the window pixels
    dy = (rows - canvas.r0) * canvas.sp
    dx = (cols - canvas.c0) * canvas.sp
    y = canvas.cos * dy - canvas.sin * dx
    x = canvas.sin * dy + canvas.cos * dx
    ay, ax = end[0] - start[0], end[1] - start[1]
    t = ((y - start[0]) * ay + (x - start[1]) * ax) / (ay * ay + ax * ax)
    return np.clip(t, 0.0, 1.0).astype(np.float32)


def draw_child(child: Child, canvas: Canvas) -> Anatomy:
    """Draw the bones and the soft-tissue outline of ``child`` on ``canvas``."""
    c = child
    H = c.height_mm
    hh, hw = c.head_len, c.head_width
    ysh, yhip, L = c.y_shoulder, c.y_hip, c.trunk_len
    bs = c.bone_scale
    b = _Bones(canvas)
    lm: dict[str, tuple[float, float]] = {"vertex": (0.0, 0.0), "chin": (hh, 0.0)}

    def ell(bone, cy, cx, ry, rx, angle=0.0, depth=0.5):
        e = canvas.ellipse(cy, cx, ry, rx, angle)
        if e is not None:
            b.add(bone, e, e[1] <= 1.0, depth)

    def cap(bone, p0, p1, r0, r1, depth=0.5, axis=None):
        k = canvas.capsule(p0, p1, r0, r1)
        if k is None:
            return
        pos = None if axis is None else _axis_position(canvas, k, *axis)
        b.add(bone, k, k[1] <= 1.0, depth, pos)

    # --- skull
    ell("cranium", 0.40 * hh, 0.0, 0.40 * hh, 0.485 * hw, depth=0.5)
    ff = c.face_fraction
    f_top, f_bot = hh * (1.0 - ff) - 0.05 * hh, 0.86 * hh
    ell("facial_bones", 0.5 * (f_top + f_bot), 0.0, 0.5 * (f_bot - f_top), 0.36 * hw, depth=0.2)
    rm = max(0.028 * hh, 1.5)
    for s in (-1, 1):
        cap("mandible", (0.62 * hh, s * 0.37 * hw), (0.80 * hh, s * 0.35 * hw), rm, rm, 0.5)
        cap("mandible", (0.80 * hh, s * 0.35 * hw), (0.97 * hh, s * 0.13 * hw), rm, rm, 0.3)
        cap("mandible", (0.97 * hh, s * 0.13 * hw), (0.99 * hh, 0.0), rm, rm, 0.25)
    lm["orbit_right"] = (hh * (1.0 - ff) + 0.02 * hh, -0.17 * hw)
    lm["orbit_left"] = (hh * (1.0 - ff) + 0.02 * hh, 0.17 * hw)

    # --- spine: 7 cervical, 12 thoracic, 5 lumbar vertebrae
    yc0, yt0 = 0.70 * hh, ysh - 0.03 * L
    yl0, yl1, ys1 = ysh + 0.50 * L, ysh + 0.76 * L, ysh + 1.04 * L
    vert: list[tuple[str, float, float, float, float]] = []
    for bone, y0, y1, n, w0, w1, d in (("cervical_spine", yc0, yt0, 7, 0.012, 0.014, 0.6),
                                       ("thoracic_spine", yt0, yl0, 12, 0.016, 0.021, 0.72),
                                       ("lumbar_spine", yl0, yl1, 5, 0.024, 0.029, 0.66)):
        step = (y1 - y0) / n
        for i in range(n):
            yc = y0 + (i + 0.5) * step
            half_w = H * bs * (w0 + (w1 - w0) * i / max(n - 1, 1))
            win = canvas.window(yc - 0.42 * step, yc + 0.42 * step, -half_w, half_w)
            if win is not None:
                sl, y, x = win
                inside = ((np.abs(y - yc) / (0.42 * step)) ** 4
                          + (np.abs(x) / half_w) ** 4) <= 1.0
                b.add(bone, (sl,), inside, d)
            vert.append((bone, yc, half_w, step, d))
    t_levels = [v for v in vert if v[0] == "thoracic_spine"]
    lm["c7"] = (vert[6][1], 0.0)
    lm["t12"] = (t_levels[-1][1], 0.0)
    lm["l5"] = (vert[-1][1], 0.0)

    # --- sacrum (inverted triangle) and hip bones
    ph = c.pelvis_half * bs
    sac_w = 0.30 * ph
    pts = [(yl1, -sac_w), (yl1, sac_w), (yl1 + 0.16 * L, 0.6 * sac_w), (ys1, 0.12 * sac_w),
           (ys1, -0.12 * sac_w), (yl1 + 0.16 * L, -0.6 * sac_w)]
    win = canvas.polygon(pts)
    if win is not None:
        b.add("sacrum", win, win[1], 0.8)
    hj = 0.60 * ph
    for side, s in SIDES.items():
        pts = [(yhip - 0.27 * L, s * 0.27 * ph), (yhip - 0.33 * L, s * 0.42 * ph),
               (yhip - 0.33 * L, s * 0.72 * ph), (yhip - 0.24 * L, s * 0.98 * ph),
               (yhip - 0.12 * L, s * 0.90 * ph), (yhip - 0.03 * L, s * (hj / ph + 0.16) * ph),
               (yhip + 0.08 * L, s * (hj / ph + 0.06) * ph), (yhip + 0.14 * L, s * 0.55 * ph),
               (yhip + 0.14 * L, s * 0.32 * ph), (yhip + 0.10 * L, s * 0.05 * ph),
               (yhip + 0.03 * L, s * 0.05 * ph), (yhip + 0.0 * L, s * 0.30 * ph),
               (yhip - 0.07 * L, s * 0.40 * ph), (yhip - 0.13 * L, s * 0.24 * ph)]
        win = canvas.polygon(pts)
        if win is not None:
            mask = win[1].copy()
            hole = canvas.ellipse(yhip + 0.075 * L, s * 0.36 * ph, 0.035 * L, 0.11 * ph)
            if hole is not None:
                # cut the obturator foramen out where the windows overlap
                full = np.zeros(canvas.shape, dtype=bool)
                full[hole[0]] = hole[1] <= 1.0
                mask &= ~full[win[0]]
            b.add(f"hip_bone_{side}", win, mask, 0.55)
        lm[f"hip_{side}"] = (yhip, s * hj)
        lm[f"iliac_crest_{side}"] = (yhip - 0.33 * L, s * 0.72 * ph)
    lm["pubis"] = (yhip + 0.07 * L, 0.0)

    # --- ribs, sternum, clavicles, scapulae
    W = c.chest_half * bs
    rib_w = [0.45, 0.62, 0.74, 0.83, 0.9, 0.95, 0.98, 1.0, 0.99, 0.96, 0.85, 0.7]
    rr = max(0.0036 * H * bs, 1.3)
    st = (yl0 - yt0) / 12
    for i, (_, y0, half_w, _, _) in enumerate(t_levels):
        R = W * rib_w[i]
        shape = [(0.0, half_w / R, 0.88), (-0.3, 0.45, 0.86), (0.2, 0.8, 0.72),
                 (1.2, 0.97, 0.55), (2.2, 1.0, 0.45)]
        if i < 7:
            shape += [(3.4, 0.93, 0.3), (4.5, 0.75, 0.18), (5.2, 0.5, 0.12), (5.5, 0.3, 0.1)]
        elif i < 10:
            shape += [(3.4, 0.93, 0.3), (4.3, 0.78, 0.2), (4.8, 0.6, 0.15)]
        else:
            shape += [(3.0, 0.95, 0.38)]
        if i == 0:
            shape = [(0.0, half_w / R, 0.85), (-0.4, 0.6, 0.8), (0.2, 0.95, 0.6),
                     (1.2, 1.0, 0.4), (2.0, 0.8, 0.25), (2.4, 0.45, 0.15)]
        for side, s in SIDES.items():
            for (ya, xa, da), (yb, xb, db) in zip(shape[:-1], shape[1:], strict=True):
                k = canvas.capsule((y0 + ya * st, s * xa * R), (y0 + yb * st, s * xb * R), rr, rr)
                if k is not None:
                    depth = (da + (db - da) * k[2]).astype(np.float32)
                    b.add(f"ribs_{side}", k, k[1] <= 1.0, depth)
    shh = c.shoulder_half * bs
    ell("sternum", ysh + 0.08 * L, 0.0, 0.055 * L, 0.015 * H * bs, depth=0.06)
    cap("sternum", (ysh + 0.12 * L, 0.0), (ysh + 0.37 * L, 0.0), 0.009 * H * bs,
        0.008 * H * bs, depth=0.06)
    lm["sternum_top"] = (ysh + 0.03 * L, 0.0)
    lm["xiphoid"] = (ysh + 0.37 * L, 0.0)
    rc = max(0.0045 * H * bs, 1.3)
    for side, s in SIDES.items():
        p0 = (ysh + 0.035 * L, s * 0.025 * H)
        p1 = (ysh + 0.0 * L, s * 0.5 * shh)
        p2 = (ysh - 0.015 * L, s * 0.92 * shh)
        cap(f"clavicle_{side}", p0, p1, rc, rc, 0.15)
        cap(f"clavicle_{side}", p1, p2, rc, rc * 0.9, 0.18)
        pts = [(ysh + 0.00 * L, s * 0.42 * shh), (ysh - 0.02 * L, s * 0.70 * shh),
               (ysh - 0.01 * L, s * 0.96 * shh), (ysh + 0.06 * L, s * 0.90 * shh),
               (ysh + 0.11 * L, s * 0.82 * shh), (ysh + 0.38 * L, s * 0.62 * shh),
               (ysh + 0.31 * L, s * 0.46 * shh), (ysh + 0.10 * L, s * 0.40 * shh)]
        win = canvas.polygon(pts)
        if win is not None:
            b.add(f"scapula_{side}", win, win[1], 0.85)
        lm[f"shoulder_{side}"] = (ysh + 0.05 * L, s * 0.95 * shh)

    # --- upper limbs
    young = float(np.clip((c.age_years - 0.5) / 15.5, 0.0, 1.0))
    len_hum = H * (0.165 + 0.025 * young) * bs * c.arm_scale
    len_fa = H * (0.13 + 0.02 * young) * bs * c.arm_scale
    len_hand = H * (0.10 + 0.01 * young) * c.arm_scale
    arms: dict[str, dict[str, tuple[float, float]]] = {}
    for k_side, (side, s) in enumerate(SIDES.items()):
        head = lm[f"shoulder_{side}"]
        u = unit(c.arm_abduction[k_side], s)
        rh = 0.013 * H * bs
        top = (head[0] - rh * u[0], head[1] - rh * u[1])
        elbow = (head[0] + len_hum * u[0], head[1] + len_hum * u[1])
        axis = (top, elbow)
        ell(f"humerus_{side}", head[0], head[1], rh, rh, depth=0.5)
        b.pieces[f"humerus_{side}"][-1:] = [
            (sl, m, d, _axis_position(canvas, (sl,), *axis))
            for sl, m, d, _ in b.pieces[f"humerus_{side}"][-1:]]
        mid = along(head, elbow, 0.8)
        cap(f"humerus_{side}", head, mid, 0.0080 * H * bs, 0.0065 * H * bs, 0.5, axis)
        cap(f"humerus_{side}", mid, elbow, 0.0065 * H * bs, 0.0125 * H * bs, 0.5, axis)
        u2 = unit(c.arm_abduction[k_side] + c.elbow_angle[k_side], s)
        wrist = (elbow[0] + len_fa * u2[0], elbow[1] + len_fa * u2[1])
        perp = (-u2[1] * s, u2[0] * s)  # points laterally
        off = {"supine": 0.0075, "prone": 0.0075, "mid": 0.002}[c.hand_pose[k_side]] * H
        cross = -1.0 if c.hand_pose[k_side] == "prone" else 1.0
        rad_p = (elbow[0] + off * perp[0], elbow[1] + off * perp[1])
        rad_d = (wrist[0] + cross * off * perp[0], wrist[1] + cross * off * perp[1])
        uln_p = (elbow[0] - off * perp[0], elbow[1] - off * perp[1])
        uln_d = (wrist[0] - cross * off * perp[0], wrist[1] - cross * off * perp[1])
        fa_axis = (elbow, wrist)
        cap(f"forearm_{side}", rad_p, rad_d, 0.0042 * H * bs, 0.0065 * H * bs, 0.5, fa_axis)
        cap(f"forearm_{side}", uln_p, uln_d, 0.0055 * H * bs, 0.0040 * H * bs, 0.5, fa_axis)
        # hand: palm and fingers
        u3 = unit(c.arm_abduction[k_side] + c.elbow_angle[k_side] * 0.5, s)
        ang = math.degrees(math.atan2(u3[1], u3[0]))
        width = {"supine": 0.019, "prone": 0.018, "mid": 0.010}[c.hand_pose[k_side]] * H
        palm = (wrist[0] + 0.25 * len_hand * u3[0], wrist[1] + 0.25 * len_hand * u3[1])
        fing = (wrist[0] + 0.68 * len_hand * u3[0], wrist[1] + 0.68 * len_hand * u3[1])
        ell(f"hand_{side}", palm[0], palm[1], 0.24 * len_hand, width, -ang, 0.5)
        ell(f"hand_{side}", fing[0], fing[1], 0.30 * len_hand, width * 0.85, -ang, 0.5)
        arms[side] = {"shoulder": head, "elbow": elbow, "wrist": wrist, "hand": fing,
                      "u": u, "u2": u2, "palm": palm, "hand_width": (width, width)}
        lm[f"elbow_{side}"] = elbow
        lm[f"wrist_{side}"] = wrist
        lm[f"hand_{side}"] = fing

    # --- lower limbs
    foot_h = 0.04 * H
    len_fem = 0.54 * (c.leg_len - foot_h)
    len_tib = 0.46 * (c.leg_len - foot_h)
    legs: dict[str, dict[str, tuple[float, float]]] = {}
    for k_side, (side, s) in enumerate(SIDES.items()):
        hip = lm[f"hip_{side}"]
        v = unit(c.leg_abduction[k_side], s)
        valgus = 0.25 * hj
        knee = (hip[0] + len_fem * v[0], hip[1] + len_fem * v[1] - s * valgus)
        rf = 0.011 * H * bs
        axis_dir = ((knee[0] - hip[0]) / len_fem, (knee[1] - hip[1]) / len_fem)
        top = (hip[0] - rf * axis_dir[0], hip[1] - rf * axis_dir[1])
        axis = (top, knee)
        troch = (hip[0] + 0.025 * H, hip[1] + s * 0.035 * H)
        ell(f"femur_{side}", hip[0], hip[1], rf, rf, depth=0.5)
        b.pieces[f"femur_{side}"][-1:] = [
            (sl, m, d, _axis_position(canvas, (sl,), *axis))
            for sl, m, d, _ in b.pieces[f"femur_{side}"][-1:]]
        cap(f"femur_{side}", hip, troch, 0.0065 * H * bs, 0.009 * H * bs, 0.5, axis)
        mid = along(troch, knee, 0.8)
        cap(f"femur_{side}", troch, mid, 0.0085 * H * bs, 0.0075 * H * bs, 0.5, axis)
        cap(f"femur_{side}", mid, knee, 0.0075 * H * bs, 0.0135 * H * bs, 0.5, axis)
        w = unit(c.leg_abduction[k_side] * 0.6, s)
        ankle = (knee[0] + len_tib * w[0], knee[1] + len_tib * w[1])
        lat = (0.0, s * 1.0)
        tib_off = -0.003 * H
        fib_off = 0.011 * H
        ax_t = (knee, ankle)
        cap(f"tibia_fibula_{side}", (knee[0], knee[1] + tib_off * lat[1]),
            along((knee[0], knee[1] + tib_off * lat[1]), (ankle[0], ankle[1]), 0.2),
            0.0125 * H * bs, 0.0075 * H * bs, 0.5, ax_t)
        cap(f"tibia_fibula_{side}",
            along((knee[0], knee[1] + tib_off * lat[1]), (ankle[0], ankle[1]), 0.2),
            (ankle[0], ankle[1] + tib_off * lat[1]), 0.0065 * H * bs, 0.0085 * H * bs, 0.5,
            ax_t)
        cap(f"tibia_fibula_{side}", (knee[0] + 0.04 * len_tib, knee[1] + fib_off * lat[1]),
            (ankle[0] + 0.02 * len_tib, ankle[1] + fib_off * lat[1]), 0.0035 * H * bs,
            0.004 * H * bs, 0.55, ax_t)
        turn = c.foot_turn[k_side]
        foot_c = (ankle[0] + 0.03 * H, ankle[1] + s * 0.012 * H * math.sin(math.radians(turn)))
        ell(f"foot_{side}", foot_c[0], foot_c[1], 0.034 * H, 0.017 * H, -s * turn * 0.5, 0.5)
        legs[side] = {"hip": hip, "knee": knee, "ankle": ankle, "foot": foot_c, "troch": troch}
        lm[f"knee_{side}"] = knee
        lm[f"ankle_{side}"] = ankle
        lm[f"foot_{side}"] = foot_c

    labels, position, depth = b.paint()
    thickness = _soft_tissue(child, canvas, lm, arms, legs, vert)
    # bones lie inside the body by construction; make sure the outline holds them
    thickness[(labels > 0) & (thickness <= 0)] = 0.5
    for key, (y, x) in (("neck", ((hh + ysh) / 2, 0.0)), ("heart", (ysh + 0.3 * L, 0.0))):
        lm[key] = (y, x)
    lm["mid_trunk"] = (ysh + 0.5 * L, 0.0)
    return Anatomy(labels, position, depth, thickness, lm)


def _soft_tissue(c: Child, canvas: Canvas, lm, arms, legs, vert) -> np.ndarray:
    """Antero-posterior body thickness (cm), 0 outside the body."""
    H = c.height_mm
    hh, hw = c.head_len, c.head_width
    ysh, yhip, L = c.y_shoulder, c.y_hip, c.trunk_len
    fat = 1.0 + (c.habitus - 1.0) * 0.8
    T = np.zeros(canvas.shape, dtype=np.float32)

    def put(sl, t):
        np.maximum(T[sl], t, out=T[sl])

    e = canvas.ellipse(0.5 * hh, 0.0, 0.53 * hh, 0.54 * hw)
    if e is not None:
        put(e[0], (1.15 * hw / 10.0) * np.sqrt(np.clip(1.0 - e[1], 0.0, None)))

    def limb(p0, p1, r0, r1):
        k = canvas.capsule(p0, p1, r0, r1)
        if k is not None:
            rad = (r0 + (r1 - r0) * k[2]) / 10.0
            put(k[0], 2.0 * rad * np.sqrt(np.clip(1.0 - k[1] ** 2, 0.0, None)))

    limb((0.82 * hh, 0.0), (ysh + 0.05 * L, 0.0), 0.30 * hw * fat, 0.33 * hw * fat)
    # trunk: half-width profile along y, elliptical cross-section
    shh, W, ph = c.shoulder_half, c.chest_half, c.pelvis_half
    ys = np.array([ysh - 0.03 * L, ysh + 0.03 * L, ysh + 0.10 * L, ysh + 0.35 * L,
                   ysh + 0.55 * L, ysh + 0.72 * L, yhip, yhip + 0.10 * L, yhip + 0.15 * L])
    hwid = np.array([0.45 * shh, 0.85 * shh, 0.98 * shh, 1.10 * W * fat, 1.08 * W * fat,
                     1.05 * W * fat ** 1.3, 1.25 * ph * fat, 1.22 * ph * fat, 0.9 * ph * fat])
    depth_ratio = np.array([0.7, 0.6, 0.62, 0.66, 0.70, 0.74, 0.72, 0.66, 0.6]) * (
        c.ap_ratio / 0.68) * fat ** 0.5
    win = canvas.window(ys[0], ys[-1], -hwid.max(), hwid.max())
    if win is not None:
        sl, y, x = win
        half = np.interp(y, ys, hwid).astype(np.float32)
        ratio = np.interp(y, ys, depth_ratio).astype(np.float32)
        inside = (y >= ys[0]) & (y <= ys[-1]) & (np.abs(x) < half)
        prof = np.sqrt(np.clip(1.0 - (x / half) ** 2, 0.0, None))
        # round the top of the shoulders and the bottom of the buttocks
        edge = np.clip(np.minimum(y - ys[0], ys[-1] - y) / (0.06 * L), 0.0, 1.0)
        t = np.where(inside, 2.0 * half * ratio * prof * np.sqrt(edge) / 10.0, 0.0)
        put(sl, t.astype(np.float32))
    for side in ("right", "left"):
        a = arms[side]
        r_ua = 0.024 * H * fat
        limb(a["shoulder"], a["elbow"], r_ua, 0.018 * H * fat)
        limb(a["elbow"], a["wrist"], 0.018 * H * fat, 0.012 * H * fat)
        e = canvas.ellipse(a["palm"][0], a["palm"][1], 0.3 * (0.10 * H), a["hand_width"][0] * 1.35)
        if e is not None:
            put(e[0], 0.012 * H / 10 * 2 * np.sqrt(np.clip(1.0 - e[1], 0.0, None)))
        e = canvas.ellipse(a["hand"][0], a["hand"][1], 0.36 * (0.10 * H),
                           a["hand_width"][0] * 1.2)
        if e is not None:
            put(e[0], 0.008 * H / 10 * 2 * np.sqrt(np.clip(1.0 - e[1], 0.0, None)))
        g = legs[side]
        s = SIDES[side]
        thigh_top = (g["hip"][0] - 0.01 * H, g["hip"][1] + s * 0.01 * H)
        limb(thigh_top, g["knee"], 0.048 * H * fat, 0.029 * H * fat ** 0.7)
        limb(g["knee"], g["ankle"], 0.029 * H * fat ** 0.7, 0.017 * H)
        e = canvas.ellipse(g["foot"][0], g["foot"][1], 0.045 * H, 0.024 * H)
        if e is not None:
            put(e[0], 0.05 * H / 10 * np.sqrt(np.clip(1.0 - e[1], 0.0, None)))
    return T


def extent_mm(child: Child) -> tuple[float, float]:
    """Approximate (length, half-width) of the body on the table, hands included."""
    H = child.height_mm
    young = float(np.clip((child.age_years - 0.5) / 15.5, 0.0, 1.0))
    arm = H * (0.165 + 0.025 * young + 0.13 + 0.02 * young + 0.10 + 0.01 * young) * (
        child.bone_scale * child.arm_scale)
    reach = 0.0
    for k in range(2):
        a = math.radians(max(child.arm_abduction[k], 0.0) + 0.5 * child.elbow_angle[k])
        reach = max(reach, child.shoulder_half * 0.95 + arm * math.sin(a) + 0.03 * H)
    half = max(reach, child.shoulder_half * 1.15 + 0.024 * H * child.habitus,
               child.pelvis_half * 1.3 * child.habitus + 0.05 * H)
    return H * 1.01, half
