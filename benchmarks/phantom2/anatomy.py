"""A 2-D child: proportions by age, pose, body thickness and a bone map built from parts.

Own construction, independent of ``mibgscore.simulate``: vertebrae are single blocks along a
gently curved spine, ribs are Bezier arcs, iliac wings are fans, long bones are tubes whose
ends (epiphyses and metaphyses) are wider than the shaft, the skull is an ellipse with a
separate face and a horseshoe mandible. Bone names are the project's (``anatomy.bones``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mibgscore.anatomy.bones import BONE_LABEL, LONG_BONES

from .geometry import Grid, Patch, bezier, ellipse, polygon, sector, tube

# Own proportion table (rounded from growth-chart and anthropometry figures): age in years ->
# stature median (cm), head height / stature, sitting height / stature, head width / head
# height, biacromial / stature, bi-iliac / stature, humerus, forearm and hand length / stature,
# neck (chin to C7) / trunk.
_AGES = np.array([0.5, 1, 2, 4, 6, 8, 10, 12, 14, 17])
_TABLE = {
    "height_cm": [67, 75, 87, 103, 116, 128, 139, 150, 163, 172],
    "head": [0.245, 0.232, 0.207, 0.182, 0.166, 0.156, 0.148, 0.141, 0.136, 0.131],
    "sitting": [0.665, 0.645, 0.600, 0.567, 0.552, 0.540, 0.530, 0.521, 0.519, 0.524],
    "head_width": [0.86, 0.84, 0.82, 0.80, 0.78, 0.77, 0.76, 0.75, 0.74, 0.73],
    "shoulder": [0.230, 0.226, 0.220, 0.214, 0.210, 0.209, 0.210, 0.214, 0.219, 0.224],
    "pelvis": [0.172, 0.166, 0.160, 0.154, 0.150, 0.149, 0.150, 0.154, 0.158, 0.162],
    "humerus": [0.163, 0.168, 0.174, 0.179, 0.183, 0.185, 0.187, 0.189, 0.190, 0.191],
    "forearm": [0.124, 0.129, 0.134, 0.139, 0.142, 0.143, 0.144, 0.145, 0.146, 0.146],
    "hand": [0.098, 0.099, 0.100, 0.102, 0.103, 0.104, 0.105, 0.106, 0.107, 0.108],
    "neck": [0.015, 0.018, 0.024, 0.030, 0.034, 0.037, 0.039, 0.041, 0.043, 0.045],
}

ARM_POSES = ("side", "abducted", "belly", "thighs")


def proportion(name: str, age_years: float) -> float:
    """Interpolated value of one row of the proportion table at ``age_years``."""
    return float(np.interp(age_years, _AGES, _TABLE[name]))


@dataclass(frozen=True)
class Child:
    """A phantom patient: size, build and pose.

    Attributes
    ----------
    age_years, height_cm : float
        Age (0.5-17) and stature (60-185 cm).
    sex : str
        ``"M"`` or ``"F"``.
    build : float
        Soft-tissue width factor: 0.8 thin, 1 average, up to 1.45 obese.
    arm_pose : tuple of str
        Pose of the (right, left) arm, one of :data:`ARM_POSES`.
    abduction_deg : tuple of float
        Humerus angle from the body axis, (right, left).
    leg_spread_deg : tuple of float
        Leg angle from the body axis, (right, left).
    scoliosis_mm : float
        Lateral deviation of the mid-thoracic spine (signed).
    rotation_deg : float
        In-plane tilt of the whole body on the table.
    hand_targets : tuple of float
        Lateral position of each hand as a fraction of stature (belly and thigh poses).
    """

    age_years: float
    sex: str
    height_cm: float
    build: float
    arm_pose: tuple[str, str]
    abduction_deg: tuple[float, float]
    leg_spread_deg: tuple[float, float]
    scoliosis_mm: float
    rotation_deg: float
    hand_targets: tuple[float, float] = (0.04, 0.04)


def sample_child(rng: np.random.Generator) -> Child:
    """Draw a child aged 6 months to 17 years with a plausible size, build and pose."""
    age = float(np.clip(rng.choice([rng.uniform(0.5, 5), rng.uniform(0.5, 17)]), 0.5, 17.0))
    h = float(np.interp(age, _AGES, _TABLE["height_cm"])) * rng.normal(1.0, 0.06)
    h = float(np.clip(h, 60.0, 185.0))
    build = float(np.clip(rng.choice([rng.normal(1.0, 0.08), rng.uniform(0.8, 0.9),
                                      rng.uniform(1.2, 1.45)], p=[0.7, 0.15, 0.15]), 0.78, 1.45))
    pose = str(rng.choice(ARM_POSES, p=[0.45, 0.2, 0.2, 0.15]))
    poses = [pose, pose]
    if rng.random() < 0.15:
        poses[int(rng.integers(2))] = str(rng.choice(ARM_POSES))
    abd = []
    for p in poses:
        abd.append({"side": rng.uniform(3, 12), "abducted": rng.uniform(20, 45),
                    "belly": rng.uniform(8, 20), "thighs": rng.uniform(2, 8)}[p])
    together = rng.random() < 0.6
    spread = tuple(float(rng.uniform(0, 2) if together else rng.uniform(3, 10)) for _ in range(2))
    return Child(
        age_years=round(age, 2), sex=str(rng.choice(["M", "F"])), height_cm=round(h, 1),
        build=round(build, 3), arm_pose=(poses[0], poses[1]),
        abduction_deg=(float(abd[0]), float(abd[1])), leg_spread_deg=spread,  # type: ignore[arg-type]
        scoliosis_mm=float(rng.normal(0, 4)), rotation_deg=float(rng.normal(0, 2.0)),
        hand_targets=(float(rng.uniform(0.015, 0.06)), float(rng.uniform(0.015, 0.06))),
    )


@dataclass
class BonePiece:
    """One drawn piece of a bone (a bone may have several: 12 ribs, radius and ulna)."""

    bone: str
    patch: Patch
    depth: float
    chord_mm: float


@dataclass
class Anatomy:
    """The child drawn on a grid.

    Attributes
    ----------
    child : Child
    grid : Grid
    landmarks : dict of str to (x, y)
        Body-coordinate points in mm (e.g. ``"hip_right"``, ``"t12"``, ``"bladder"``).
    levels : dict of str to float
        Body-coordinate heights in mm (``"chin"``, ``"c7"``, ``"shoulder"``, ...).
    thickness : ndarray of shape (rows, cols), float32
        Antero-posterior body thickness in mm (0 outside the body).
    bone_labels : ndarray of shape (rows, cols), uint8
        0 background, ``BONE_LABEL[name]`` per bone, the topmost bone where they overlap.
    bone_position : ndarray of shape (rows, cols), float32
        0 proximal - 1 distal along long bones (0.5 elsewhere).
    bone_chord : ndarray of shape (rows, cols), float32
        Marrow chord in mm through the topmost bone (for emission).
    bone_depth : ndarray of shape (rows, cols), float32
        Depth of the topmost bone as a fraction of the thickness (0 anterior, 1 posterior).
    vertebra_rows : list of tuple
        (name, x, y) of every vertebra centre, cervical to lumbar.
    """

    child: Child
    grid: Grid
    landmarks: dict[str, tuple[float, float]]
    levels: dict[str, float]
    thickness: np.ndarray
    bone_labels: np.ndarray
    bone_position: np.ndarray
    bone_chord: np.ndarray
    bone_depth: np.ndarray
    vertebrae: list[tuple[str, float, float]] = field(default_factory=list)
    limb_depth: dict[str, float] = field(default_factory=dict)


def levels_of(child: Child) -> dict[str, float]:
    """Heights (y, mm from the vertex) of the body landmarks."""
    h = child.height_cm * 10.0
    a = child.age_years
    head = proportion("head", a) * h
    sit = proportion("sitting", a) * h
    trunk = sit - head
    lv = {"height": h, "head": head, "chin": head, "skull_base": 0.74 * head}
    lv["c7"] = head + proportion("neck", a) * trunk
    lv["shoulder"] = lv["c7"] + 0.075 * trunk
    lv["t12"] = head + 0.47 * trunk
    lv["l5"] = head + 0.72 * trunk
    lv["crest"] = head + 0.70 * trunk
    lv["hip"] = head + 0.895 * trunk
    lv["ischium"] = sit
    leg = h - lv["hip"]
    lv["knee"] = lv["hip"] + 0.47 * leg
    lv["ankle"] = h - 0.045 * h
    return lv


def _spine_x(child: Child, lv: dict[str, float], y: float) -> float:
    top, bottom = lv["c7"], lv["l5"]
    if y <= top or y >= bottom:
        return 0.0
    return child.scoliosis_mm * math.sin(math.pi * (y - top) / (bottom - top))


def draw_anatomy(child: Child, grid: Grid) -> Anatomy:
    """Draw body thickness and bones of ``child`` on ``grid``."""
    lv = levels_of(child)
    h = lv["height"]
    a = child.age_years
    b = child.build
    head_h = lv["head"]
    head_w = proportion("head_width", a) * head_h
    sh_hw = proportion("shoulder", a) * h / 2
    pel_hw = proportion("pelvis", a) * h / 2
    chest_hw = (0.102 - 0.012 * min(a, 10) / 10) * h
    x_hip = 0.63 * pel_hw
    thor_len = lv["t12"] - lv["c7"]
    lm: dict[str, tuple[float, float]] = {}
    pieces: list[BonePiece] = []
    body_parts: list[tuple[Patch, float]] = []  # (patch, full thickness in mm)
    limb_depth: dict[str, float] = {}

    def add(bone: str, patch: Patch | None, depth: float, chord: float) -> None:
        if patch is not None:
            pieces.append(BonePiece(bone, patch, depth, chord))

    def part(patch: Patch | None, thick: float) -> None:
        if patch is not None:
            body_parts.append((patch, thick))

    # --- skull: cranium, face, mandible
    add("cranium", ellipse(grid, 0.0, 0.40 * head_h, head_w / 2, 0.40 * head_h), 0.5,
        0.09 * head_h)
    add("facial_bones", ellipse(grid, 0.0, 0.62 * head_h, 0.30 * head_w, 0.17 * head_h,
                                power=2.6), 0.3, 0.06 * head_h)
    for side in (-1, 1):
        pts = bezier((side * 0.34 * head_w, 0.66 * head_h), (side * 0.33 * head_w, 0.93 * head_h),
                     (0.0, 0.95 * head_h), n=9)
        add("mandible", tube(grid, pts, np.full(len(pts), 0.035 * head_h)), 0.35, 0.05 * head_h)

    # --- spine: single blocks along a curved line
    vertebrae: list[tuple[str, float, float]] = []
    spans = [("cervical_spine", lv["skull_base"], lv["c7"], 7, 0.0085),
             ("thoracic_spine", lv["c7"], lv["t12"], 12, 0.0105),
             ("lumbar_spine", lv["t12"], lv["l5"], 5, 0.0145)]
    for bone, y0, y1, n, hw in spans:
        step = (y1 - y0) / n
        for i in range(n):
            yc = y0 + (i + 0.5) * step
            xc = _spine_x(child, lv, yc)
            grow = 1.0 + 0.25 * i / max(n - 1, 1)
            add(bone, ellipse(grid, xc, yc, hw * h * grow, 0.47 * step, power=4.0),
                0.7 if bone != "cervical_spine" else 0.6, 0.02 * h)
            vertebrae.append((f"{bone[0].upper()}{i + 1}", xc, yc))
    lm["t12"] = (_spine_x(child, lv, lv["t12"]), lv["t12"])
    # sacrum: inverted triangle
    add("sacrum", polygon(grid, np.array([[-0.032 * h, lv["l5"]], [0.032 * h, lv["l5"]],
                                          [0.004 * h, lv["hip"] + 0.03 * h],
                                          [-0.004 * h, lv["hip"] + 0.03 * h]])), 0.75, 0.015 * h)

    # --- thoracic cage
    widths = [0.55, 0.72, 0.83, 0.90, 0.95, 0.98, 1.0, 1.0, 0.98, 0.94, 0.86, 0.76]
    rib_r = 0.0036 * h
    y_notch = lv["c7"] + 0.13 * thor_len
    for side, name in ((-1, "ribs_right"), (1, "ribs_left")):
        for k in range(12):
            yk = lv["c7"] + (k + 0.5) * thor_len / 12
            xs = _spine_x(child, lv, yk) + side * 0.012 * h
            wk = side * widths[k] * chest_hw
            drop = thor_len * (0.13 + 0.03 * k)
            lat = (wk, yk + 0.35 * drop)
            post = bezier((xs, yk), (0.75 * wk, yk - 0.08 * drop), lat, n=8)
            pts = post
            if k < 10:
                ant = bezier(lat, (0.97 * wk, yk + 0.8 * drop), (0.3 * wk, yk + drop), n=8)
                pts = np.vstack([post, ant[1:]])
            add(name, tube(grid, pts, np.full(len(pts), rib_r)), 0.5, 2 * rib_r)
    add("sternum", tube(grid, np.array([[0, y_notch], [0, y_notch + 0.03 * h],
                                        [0, y_notch + 0.105 * h]]),
                        np.array([0.012, 0.009, 0.007]) * h), 0.08, 0.008 * h)
    for side, name in ((-1, "clavicle_right"), (1, "clavicle_left")):
        pts = bezier((side * 0.012 * h, y_notch), (side * 0.5 * sh_hw, y_notch - 0.012 * h),
                     (side * (sh_hw - 0.008 * h), lv["shoulder"] - 0.004 * h), n=8)
        add(name, tube(grid, pts, np.full(len(pts), 0.0045 * h)), 0.15, 0.009 * h)
    for side, name in ((-1, "scapula_right"), (1, "scapula_left")):
        ys = lv["shoulder"]
        v = np.array([[0.95, -0.004], [0.86, 0.02], [0.58, 0.095], [0.40, 0.075],
                      [0.42, 0.004]])
        add(name, polygon(grid, np.column_stack([side * v[:, 0] * sh_hw, ys + v[:, 1] * h])),
            0.85, 0.006 * h)

    # --- pelvis: fan-shaped iliac wings, ischio-pubic ring
    for side, name in ((-1, "hip_bone_right"), (1, "hip_bone_left")):
        xc, yc = side * 0.85 * x_hip, lv["hip"] - 0.012 * h
        r_out = (lv["hip"] - lv["crest"]) * 1.12
        angs = (-160.0, -75.0) if side < 0 else (-105.0, -20.0)
        add(name, sector(grid, xc, yc, 0.0, r_out, *angs), 0.55, 0.011 * h)
        ring = np.array([[side * x_hip, lv["hip"] + 0.01 * h],
                         [side * 0.85 * x_hip, lv["hip"] + 0.05 * h],
                         [side * 0.35 * x_hip, lv["hip"] + 0.055 * h],
                         [side * 0.08 * x_hip, lv["hip"] + 0.035 * h],
                         [side * 0.45 * x_hip, lv["hip"] + 0.005 * h],
                         [side * x_hip, lv["hip"] - 0.003 * h]])
        add(name, tube(grid, ring, np.full(len(ring), 0.0065 * h)), 0.5, 0.012 * h)
        add(name, ellipse(grid, side * x_hip, lv["hip"] - 0.004 * h, 0.02 * h, 0.018 * h),
            0.55, 0.015 * h)
        lm["hip_" + ("right" if side < 0 else "left")] = (side * x_hip, lv["hip"])

    # --- lower limbs
    for side, sname in ((-1, "right"), (1, "left")):
        spread = math.tan(math.radians(child.leg_spread_deg[0 if side < 0 else 1]))
        hx, hy = side * x_hip, lv["hip"]
        kx = side * (0.70 * x_hip + spread * (lv["knee"] - hy))
        ax = side * (0.66 * x_hip + spread * (lv["ankle"] - hy))
        troch = (side * 1.48 * x_hip, hy + 0.03 * h)
        shaft = [troch[0] + (kx - troch[0]) * f for f in (0.12, 0.5, 0.86, 1.0)]
        shaft_y = [troch[1] + (lv["knee"] - troch[1]) * f for f in (0.12, 0.5, 0.86, 1.0)]
        pts = np.array([[hx, hy], [side * 1.22 * x_hip, hy + 0.012 * h], troch]
                       + list(zip(shaft, shaft_y, strict=True)))
        add(f"femur_{sname}", tube(grid, pts, np.array([0.013, 0.0085, 0.012, 0.0092, 0.0078,
                                                        0.0105, 0.0150]) * h), 0.5, 0.016 * h)
        ky = lv["knee"] + 0.012 * h
        tib = np.array([[kx, ky], [kx + (ax - kx) * 0.12, ky + (lv["ankle"] - ky) * 0.12],
                        [kx + (ax - kx) * 0.5, ky + (lv["ankle"] - ky) * 0.5],
                        [kx + (ax - kx) * 0.9, ky + (lv["ankle"] - ky) * 0.9],
                        [ax, lv["ankle"]]])
        add(f"tibia_fibula_{sname}", tube(grid, tib, np.array([0.0135, 0.0095, 0.0072, 0.0085,
                                                               0.0092]) * h), 0.45, 0.014 * h)
        fib = np.array([[kx + side * 0.012 * h, ky + 0.012 * h],
                        [ax + side * 0.011 * h, lv["ankle"] + 0.004 * h]])
        add(f"tibia_fibula_{sname}", tube(grid, fib, np.array([0.0045, 0.0040]) * h), 0.5,
            0.007 * h)
        add(f"foot_{sname}", ellipse(grid, ax + side * 0.004 * h, lv["ankle"] + 0.028 * h,
                                     0.021 * h, 0.030 * h), 0.5, 0.02 * h)
        lm[f"knee_{sname}"] = (kx, lv["knee"])
        lm[f"ankle_{sname}"] = (ax, lv["ankle"])
        # soft tissue of the leg
        part(tube(grid, np.array([[hx * 1.05, hy - 0.02 * h], [kx, lv["knee"]],
                                  [kx + (ax - kx) * 0.35, lv["knee"] + (lv["ankle"] - lv["knee"])
                                   * 0.35], [ax, lv["ankle"]]]),
                  np.array([0.058 * b, 0.033 * b, 0.034 * b, 0.019]) * h), 0.0)
        part(ellipse(grid, ax + side * 0.004 * h, lv["ankle"] + 0.03 * h, 0.03 * h, 0.034 * h),
             0.0)

    # --- upper limbs
    for i, (side, sname) in enumerate(((-1, "right"), (1, "left"))):
        pose = child.arm_pose[i]
        alpha = math.radians(child.abduction_deg[i])
        sx, sy = side * (sh_hw - 0.012 * h), lv["shoulder"] + 0.012 * h
        lh, lf, lhand = (proportion(k, a) * h for k in ("humerus", "forearm", "hand"))
        ex, ey = sx + side * math.sin(alpha) * lh, sy + math.cos(alpha) * lh
        if pose == "belly":
            target = (side * child.hand_targets[i] * h, lv["t12"] + 0.06 * h)
        elif pose == "thighs":
            target = (side * (x_hip + child.hand_targets[i] * h * 0.5), lv["hip"] + 0.11 * h)
        else:
            g = alpha + math.radians(3.0)
            target = (ex + side * math.sin(g) * lf, ey + math.cos(g) * lf)
        d = np.array([target[0] - ex, target[1] - ey])
        d = d / max(np.hypot(*d), 1e-6)
        wx, wy = ex + d[0] * lf, ey + d[1] * lf
        depth = 0.06 if pose in ("belly", "thighs") else 0.5
        limb_depth[f"forearm_{sname}"] = depth
        hum = np.array([[sx, sy], [sx + (ex - sx) * 0.1, sy + (ey - sy) * 0.1],
                        [sx + (ex - sx) * 0.25, sy + (ey - sy) * 0.25],
                        [sx + (ex - sx) * 0.88, sy + (ey - sy) * 0.88], [ex, ey]])
        add(f"humerus_{sname}", tube(grid, hum, np.array([0.0118, 0.0095, 0.0068, 0.0085,
                                                          0.0112]) * h), 0.5, 0.012 * h)
        perp = np.array([-d[1], d[0]]) * 0.0055 * h
        for off, rr in ((perp, (0.0048, 0.0038, 0.0058)), (-perp, (0.0052, 0.0036, 0.0040))):
            pts = np.array([[ex + off[0] * 0.6, ey + off[1] * 0.6],
                            [ex + d[0] * lf * 0.5 + off[0], ey + d[1] * lf * 0.5 + off[1]],
                            [wx + off[0], wy + off[1]]])
            add(f"forearm_{sname}", tube(grid, pts, np.array(rr) * h), depth, 0.009 * h)
        palm_c = (wx + d[0] * 0.35 * lhand, wy + d[1] * 0.35 * lhand)
        ang = math.degrees(math.atan2(d[1], d[0])) - 90.0
        add(f"hand_{sname}", ellipse(grid, palm_c[0], palm_c[1], 0.021 * h, 0.3 * lhand, ang),
            depth, 0.008 * h)
        for f in (-1.5, -0.5, 0.5, 1.5):
            base = (palm_c[0] + perp[0] * f * 1.2 + d[0] * 0.25 * lhand,
                    palm_c[1] + perp[1] * f * 1.2 + d[1] * 0.25 * lhand)
            tip = (base[0] + d[0] * 0.42 * lhand, base[1] + d[1] * 0.42 * lhand)
            add(f"hand_{sname}", tube(grid, np.array([base, tip]), np.array([0.0028, 0.0022])
                                      * h), depth, 0.005 * h)
        lm[f"shoulder_{sname}"] = (sx, sy)
        lm[f"elbow_{sname}"] = (ex, ey)
        lm[f"wrist_{sname}"] = (wx, wy)
        lm[f"hand_{sname}"] = palm_c
        part(tube(grid, np.array([[sx, sy], [ex, ey], [wx, wy]]),
                  np.array([0.030 * b, 0.022 * b, 0.017 * b]) * h), 0.0)
        part(ellipse(grid, palm_c[0], palm_c[1], 0.026 * h, 0.6 * lhand, ang), 0.0)

    # --- head, neck and trunk soft tissue
    part(ellipse(grid, 0.0, 0.47 * head_h, 0.54 * head_w, 0.53 * head_h), 1.2 * head_w)
    part(tube(grid, np.array([[0, 0.8 * head_h], [0, lv["shoulder"]]]),
              np.array([0.034 * b * h, 0.045 * b * h])), 0.0)
    thickness = np.zeros(grid.shape, np.float32)
    for p, thick in body_parts:
        if thick <= 0:  # a tube or a limb ellipse: thickness is its own diameter
            r = p.r if p.r is not None else np.float32(0.026 * h)
            vals = 2.0 * r * p.w
        else:
            vals = thick * p.w
        np.maximum(thickness[p.win], vals, out=thickness[p.win])
    _trunk(grid, child, lv, sh_hw, chest_hw, pel_hw, thickness)

    labels = np.zeros(grid.shape, np.uint8)
    position = np.full(grid.shape, 0.5, np.float32)
    chord = np.zeros(grid.shape, np.float32)
    depth_map = np.full(grid.shape, 0.5, np.float32)
    order = sorted(range(len(pieces)), key=lambda j: _PAINT.index(pieces[j].bone))
    for j in order:
        pc = pieces[j]
        m = pc.patch.w > 0.05
        win = pc.patch.win
        labels[win][m] = BONE_LABEL[pc.bone]
        if pc.bone in LONG_BONES and pc.patch.t is not None:
            position[win][m] = pc.patch.t[m]
        else:
            position[win][m] = 0.5
        chord[win][m] = pc.chord_mm * np.maximum(pc.patch.w[m], 0.35)
        depth_map[win][m] = pc.depth
    lm["bladder"] = (0.0, lv["hip"] - 0.005 * h)
    return Anatomy(child, grid, lm, lv, thickness, labels, position, chord, depth_map,
                   vertebrae, limb_depth)


# painting order: later pieces cover earlier ones
_PAINT = ["scapula_right", "scapula_left", "ribs_right", "ribs_left", "hip_bone_right",
          "hip_bone_left", "sacrum", "clavicle_right", "clavicle_left", "cervical_spine",
          "thoracic_spine", "lumbar_spine", "sternum", "cranium", "facial_bones", "mandible",
          "femur_right", "femur_left", "tibia_fibula_right", "tibia_fibula_left", "foot_right",
          "foot_left", "humerus_right", "humerus_left", "forearm_right", "forearm_left",
          "hand_right", "hand_left"]


def _trunk(grid: Grid, child: Child, lv: dict[str, float], sh_hw: float, chest_hw: float,
           pel_hw: float, thickness: np.ndarray) -> None:
    h, b = lv["height"], child.build
    belly = b ** 1.4
    ys = np.array([lv["c7"] + 0.005 * h, lv["shoulder"], lv["shoulder"] + 0.05 * h, lv["t12"],
                   lv["crest"], lv["hip"], lv["ischium"] + 0.015 * h])
    hw = np.array([0.55 * sh_hw * b, 1.0 * sh_hw, 1.08 * chest_hw * b, 0.9 * chest_hw * belly,
                   1.15 * pel_hw * b, 1.28 * pel_hw * b, 1.1 * pel_hw * b])
    dp = np.array([0.07, 0.10, 0.115 * b, 0.11 * belly, 0.105 * belly, 0.10 * b, 0.07 * b]) * h
    win = grid.window(-hw.max(), hw.max(), ys[0], ys[-1])
    if win is None:
        return
    x, y = grid.coords(win)
    hwy = np.interp(y, ys, hw)
    dpy = np.interp(y, ys, dp)
    inside = (y >= ys[0]) & (y <= ys[-1])
    taper = np.clip((ys[-1] - y) / (0.02 * h), 0.0, 1.0)
    t = dpy * np.sqrt(np.clip(1.0 - (x / hwy) ** 2, 0.0, 1.0)) ** 0.8 * inside * np.sqrt(taper)
    np.maximum(thickness[win], t.astype(np.float32), out=thickness[win])
