"""The child: soft-tissue body, skeleton (every bone of the project's vocabulary) and pose.

All sizes are fractions of stature from ``growth``; positions are in body mm (see ``shapes``).
The skeleton is modelled in 3-D where depth matters for the camera: the spine and scapulae
lie posterior in the trunk, the sternum and anterior rib ends anterior, the ribs are curves
around an elliptical thorax, the feet point up from the table and the forearms can rise over
the belly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import growth as g
from .shapes import Capsule, Chain, Ellipsoid, Plate, Profile, Shape, Shell

POSES = ("arms_by_side", "arms_abducted", "hands_on_belly", "hands_on_thighs", "elbows_flexed")


@dataclass
class Pose:
    kind: str
    abd: dict[int, float]          # side (-1 right, +1 left) -> humeral abduction, degrees
    elbow: dict[int, float]        # elbow flexion, degrees
    legs: dict[int, float]         # hip abduction, degrees
    foot_rot: dict[int, float]     # external rotation of the foot, degrees
    plantar: dict[int, float]      # plantar flexion from vertical, degrees
    palm: str                      # "side" (edge-on), "forward" or "down"
    head_tilt: float               # degrees, in the image plane

    @property
    def description(self) -> str:
        words = {
            "arms_by_side": "arms by the side",
            "arms_abducted": "arms abducted from the trunk",
            "hands_on_belly": "hands resting on the belly",
            "hands_on_thighs": "hands resting on the thighs",
            "elbows_flexed": "elbows flexed",
        }[self.kind]
        legs = "legs apart" if max(self.legs.values()) > 6 else "legs together"
        return f"supine, {words}, {legs}, head tilt {self.head_tilt:+.0f} deg"


@dataclass
class Body:
    age: float
    sex: str
    H: float                      # stature, mm
    weight_kg: float
    fat: float
    pose: Pose
    lm: dict = field(default_factory=dict)          # landmarks (body mm)
    soft: list[Shape] = field(default_factory=list)
    bones: dict[str, list[Shape]] = field(default_factory=dict)
    axes: dict[str, tuple] = field(default_factory=dict)
    knots: tuple = ()                                # trunk (ys, ws, ds)

    def D(self, y: float) -> float:
        """Trunk depth (table to anterior skin) at body level y."""
        ys, _, ds = self.knots
        return float(np.interp(y, ys, ds))

    def W(self, y: float) -> float:
        ys, ws, _ = self.knots
        return float(np.interp(y, ys, ws))


def _rot(v, a):
    c, s = math.cos(a), math.sin(a)
    return (c * v[0] - s * v[1], s * v[0] + c * v[1])


def _unit(v):
    n = math.sqrt(sum(c * c for c in v))
    return tuple(c / n for c in v)


def _add(p, v, k=1.0):
    return tuple(a + k * b for a, b in zip(p, v, strict=True))


def draw_pose(rng: np.random.Generator, age: float) -> Pose:
    """Positioning seen in paediatric whole-body MIBG: mostly arms by the side; small children
    are often held or strapped with arms abducted or hands on the belly."""
    young = age < 5
    kinds = POSES
    p = np.array([0.38, 0.22, 0.14, 0.14, 0.12]) if young else np.array(
        [0.46, 0.14, 0.14, 0.16, 0.10])
    kind = str(rng.choice(kinds, p=p / p.sum()))
    abd, elbow = {}, {}
    for s in (-1, 1):
        if kind == "arms_abducted":
            abd[s] = float(rng.uniform(8, 45))
            elbow[s] = float(rng.uniform(0, 25))
        elif kind == "hands_on_belly":
            abd[s] = float(rng.uniform(6, 22))
            elbow[s] = 95.0
        elif kind == "hands_on_thighs":
            abd[s] = float(rng.uniform(2, 8))
            elbow[s] = 20.0
        elif kind == "elbows_flexed":
            abd[s] = float(rng.uniform(4, 20))
            elbow[s] = float(rng.uniform(30, 80))
        else:
            abd[s] = float(rng.uniform(2, 9))
            elbow[s] = float(rng.uniform(0, 12))
    if kind in ("arms_abducted", "elbows_flexed") and rng.random() < 0.5:
        # one arm differently placed (drip line, holding)
        s = int(rng.choice([-1, 1]))
        abd[s] = float(np.clip(abd[s] + rng.uniform(-20, 10), 2, 45))
    apart = rng.random() < (0.45 if young else 0.3)
    legs = {s: float(rng.uniform(4, 11) if apart else rng.uniform(0, 3)) for s in (-1, 1)}
    foot_rot = {s: float(rng.uniform(5, 45)) for s in (-1, 1)}
    plantar = {s: float(rng.uniform(25, 60)) for s in (-1, 1)}
    palm = ("down" if kind in ("hands_on_belly", "hands_on_thighs")
            else str(rng.choice(["side", "forward"], p=[0.65, 0.35])))
    tilt = float(np.clip(rng.normal(0, 4), -9, 9))
    return Pose(kind, abd, elbow, legs, foot_rot, plantar, palm, tilt)


def limit_abduction(pose: Pose, body_half_room: float, H: float, age: float) -> None:
    """Cap the arm abduction so that the hands stay inside the camera field."""
    fr = g.frac
    arm = (fr(g.HUMERUS, age) + fr(g.FOREARM, age) + fr(g.HAND, age)) * H
    x_sj = g.frac(g.BIACROMIAL, age) * H / 2 - 0.013 * H
    room = body_half_room - x_sj - 0.03 * H
    smax = max(0.02, min(1.0, room / arm))
    amax = math.degrees(math.asin(smax))
    for s in (-1, 1):
        pose.abd[s] = float(min(pose.abd[s], amax))


def build_body(age: float, sex: str, stature_mm: float, bmi_ratio: float, pose: Pose,
               rng: np.random.Generator) -> Body:
    H = stature_mm
    fr = lambda t: g.frac(t, age)  # noqa: E731
    fat = math.sqrt(bmi_ratio)
    weight = bmi_ratio * float(np.interp(age, g.AGES, g.BMI_MEDIAN[sex])) * (H / 1000) ** 2
    b = Body(age, sex, H, weight, fat, pose)
    lm = b.lm

    # ---- proportions -------------------------------------------------------------------
    hh = fr(g.HEAD) * H
    hw = hh * fr(g.HEAD_WIDTH)
    had = hw * 1.22
    ff = fr(g.FACE)
    neck_l = fr(g.NECK) * H
    y_sh = hh + neck_l
    y_cr = H - fr(g.LEG) * H
    y_hip = y_cr - 0.045 * H
    y_T1 = y_sh + 0.004 * H
    trunk = y_hip - y_T1
    thor, lumb = 0.545 * trunk, 0.32 * trunk
    y_L1 = y_T1 + thor
    y_S1 = y_L1 + lumb
    sac_len = 1.35 * (y_hip - y_S1)
    v_t, v_l = thor / 12, lumb / 5
    yT = [None] + [y_T1 + (i - 0.5) * v_t for i in range(1, 13)]
    yL = [None] + [y_L1 + (i - 0.5) * v_l for i in range(1, 6)]
    sexw = 1.0 if age < 12 else (1.03 if sex == "M" else 0.97)
    W_sh = fr(g.BIACROMIAL) * H / 2 * sexw
    cage = 0.72 * W_sh                      # bony half-width of the thorax
    W_ch = cage + (0.01 + 0.02 * (fat - 0.85)) * H
    W_w = fr(g.WAIST) * W_ch * fat ** 0.3
    W_hip = (0.10 if not (sex == "F" and age >= 12) else 0.107) * H * fat ** 0.6
    D_ch = 2 * W_ch * fr(g.CHEST_AP) * fat ** 0.3
    D_abd = 2 * W_w * fr(g.ABDOMEN_AP) * fat ** 0.4
    D_pel = 2 * W_hip * 0.6
    r_neck = 0.34 * hw * fat ** 0.5
    W_L = 0.027 * H
    y_crest = y_S1 - 0.025 * H
    y_notch = yT[2] + 0.3 * v_t
    lm.update(hh=hh, hw=hw, had=had, ff=ff, neck_l=neck_l, y_sh=y_sh, y_cr=y_cr, y_hip=y_hip,
              yT=yT, yL=yL, y_L1=y_L1, y_S1=y_S1, v_t=v_t, v_l=v_l, W_sh=W_sh, W_ch=W_ch,
              W_w=W_w, W_hip=W_hip, D_ch=D_ch, D_abd=D_abd, D_pel=D_pel, W_L=W_L,
              y_crest=y_crest, y_notch=y_notch, cage=cage, sac_len=sac_len)

    ys = np.array([y_sh - 0.03 * H, y_sh - 0.02 * H, y_sh - 0.008 * H, y_sh + 0.008 * H,
                   y_sh + 0.045 * H, yT[8], yL[3], y_crest, y_hip + 0.01 * H, y_cr,
                   y_cr + 0.012 * H])
    ws = np.array([r_neck * 1.15, 0.55 * W_sh, 0.8 * W_sh, 0.93 * W_sh, W_ch, W_ch * 0.98, W_w,
                   0.5 * (W_w + W_hip), W_hip, 0.86 * W_hip, 0.35 * W_hip])
    ds = np.array([2 * r_neck, 0.6 * D_ch, 0.8 * D_ch, 0.92 * D_ch, D_ch, 0.98 * D_ch, D_abd,
                   0.5 * (D_abd + D_pel), D_pel, 0.8 * D_pel, 0.4 * D_pel])
    b.knots = (ys, ws, ds)
    soft = b.soft
    soft.append(Profile(ys, ws, ds))

    # ---- head (tilted about the neck) --------------------------------------------------
    tilt = math.radians(pose.head_tilt)
    piv_y = hh + 0.5 * neck_l

    def hp(x, y):
        dx, dy = _rot((x, y - piv_y), tilt)
        return dx, piv_y + dy

    lm["head_pt"] = hp
    lm["tilt"] = tilt
    c = hp(0, 0.42 * hh)
    soft.append(Ellipsoid(c[0], c[1], had / 2, hw / 2, 0.43 * hh, had / 2, tilt))
    c = hp(0, 0.72 * hh)
    soft.append(Ellipsoid(c[0], c[1], 0.52 * had, 0.4 * hw, 0.28 * hh, 0.42 * had, tilt))
    z_neck = r_neck + 0.008 * H
    top = hp(0, 0.86 * hh)
    soft.append(Capsule((top[0], top[1], z_neck), (0, y_sh - 0.01 * H, z_neck), r_neck, r_neck))
    lm["z_neck"] = z_neck
    bones = b.bones
    shell = g.frac(g.SKULL_SHELL_MM, age)
    c = hp(0, 0.41 * hh)
    cran = [Shell(Ellipsoid(c[0], c[1], 0.5 * had, 0.47 * hw, 0.41 * hh, 0.47 * had, tilt),
                  shell)]
    for s in (-1, 1):
        c = hp(s * 0.2 * hw, hh * (1 - 0.62 * ff))
        cran.append(Ellipsoid(c[0], c[1], 0.45 * had, 0.13 * hw, 0.035 * hh, 0.2 * had,
                              tilt - s * 0.35))
    bones["cranium"] = cran
    c1 = hp(0, hh * (1 - 0.82 * ff))
    c2 = hp(0, hh * (1 - 0.5 * ff))
    bones["facial_bones"] = [
        Ellipsoid(c1[0], c1[1], 0.72 * had, 0.41 * hw, 0.11 * hh * ff / 0.45, 0.2 * had, tilt),
        Ellipsoid(c2[0], c2[1], 0.74 * had, 0.24 * hw, 0.17 * ff * hh, 0.18 * had, tilt),
    ]
    mpts = []
    for x, y, z in ((-0.40, 1 - 0.60 * ff, 0.45), (-0.36, 1 - 0.16 * ff, 0.42),
                    (-0.22, 1 - 0.04 * ff, 0.62), (0.0, 0.995, 0.85), (0.22, 1 - 0.04 * ff, 0.62),
                    (0.36, 1 - 0.16 * ff, 0.42), (0.40, 1 - 0.60 * ff, 0.45)):
        p = hp(x * hw, y * hh)
        mpts.append((p[0], p[1], z * had))
    rm = 0.027 * hh
    bones["mandible"] = [Chain(mpts, [0.8 * rm, rm, rm, 1.1 * rm, rm, rm, 0.8 * rm], 0.8)]

    # ---- spine, sacrum ------------------------------------------------------------------
    y_C1 = hh * (1 - 0.5 * ff)
    ctop = hp(0, y_C1)
    zc = z_neck - 0.15 * r_neck
    bones["cervical_spine"] = [Chain(
        [(0.6 * ctop[0], ctop[1], zc), (0.3 * ctop[0], 0.5 * (ctop[1] + y_T1), zc),
         (0, y_T1, 0.34 * b.D(y_T1))],
        [0.45 * W_L, 0.33 * W_L, 0.36 * W_L], 1.2)]
    tp = np.linspace(y_T1, y_L1, 7)
    bones["thoracic_spine"] = [Chain([(0, y, 0.34 * b.D(y)) for y in tp],
                                     list(np.linspace(0.38, 0.5, 7) * W_L), 1.2)]
    lp = np.linspace(y_L1, y_S1, 4)
    bones["lumbar_spine"] = [Chain([(0, y, 0.4 * b.D(y)) for y in lp],
                                   list(np.linspace(0.48, 0.53, 4) * W_L), 1.2)]
    sw = 1.0 * W_L
    bones["sacrum"] = [Plate([(-sw, y_S1), (sw, y_S1), (0.85 * sw, y_S1 + 0.35 * sac_len),
                              (0.25 * sw, y_S1 + sac_len), (-0.25 * sw, y_S1 + sac_len),
                              (-0.85 * sw, y_S1 + 0.35 * sac_len)],
                             0.014 * H, 0.25 * D_pel, 0.004 * H)]
    lm["y_coccyx"] = y_S1 + sac_len

    # ---- thoracic cage ------------------------------------------------------------------
    drop = fr(g.RIB_DROP) * v_t
    prof = [0, 0.45, 0.66, 0.8, 0.9, 0.96, 1.0, 1.0, 1.0, 0.98, 0.95, 0.9, 0.8]
    ends = [0, 0.8, 0.82, 0.82, 0.82, 0.82, 0.8, 0.78, 0.74, 0.7, 0.64, 0.52, 0.42]
    r_rib = 0.0033 * H
    for s, name in ((-1, "ribs_right"), (1, "ribs_left")):
        ribs = []
        for i in range(1, 13):
            yh = yT[i]
            A = cage * prof[i]
            Dy = b.D(yh + 0.5 * drop)
            B = 0.5 * Dy - 0.008 * H
            zc_cage = 0.5 * Dy
            x0 = 0.5 * W_L * (0.7 + 0.03 * i) + r_rib
            phi0 = math.asin(min(0.95, x0 / A))
            phi1 = math.pi * ends[i]
            k = (1.0 if i < 8 else 0.8 if i < 11 else 0.5)
            pts = []
            for phi in np.linspace(phi0, phi1, 11):
                x = s * A * math.sin(phi)
                z = zc_cage - B * math.cos(phi)
                y = yh + k * drop * (1 - math.cos(phi)) / 2
                pts.append((x, y, z))
            rr = r_rib * (0.8 if i in (1, 11, 12) else 1.0)
            ribs.append(Chain(pts, [rr] * len(pts), 0.6))
        bones[name] = ribs
    y_xiph = yT[9]
    sp = np.linspace(y_notch, y_xiph, 5)
    bones["sternum"] = [Chain([(0, y, 0.9 * b.D(y)) for y in sp],
                              [0.012 * H, 0.009 * H, 0.008 * H, 0.0075 * H, 0.0065 * H], 0.35)]
    lm["y_xiph"] = y_xiph
    for s, name in ((-1, "clavicle_right"), (1, "clavicle_left")):
        bones[name] = [Chain([(s * 0.011 * H, y_notch - 0.003 * H, 0.85 * D_ch),
                              (s * 0.55 * W_sh, y_notch - 0.008 * H, 0.72 * D_ch),
                              (s * (W_sh - 0.008 * H), y_sh - 0.004 * H, 0.55 * D_ch)],
                             [0.0036 * H, 0.0038 * H, 0.004 * H])]

    # ---- upper limbs --------------------------------------------------------------------
    L_h, L_f, L_hd = fr(g.HUMERUS) * H, fr(g.FOREARM) * H, fr(g.HAND) * H
    baby = 1.0 + 0.22 * max(0.0, 1.0 - age / 4.0)     # infants' chubby limbs
    r_ua = 0.03 * H * fat ** 0.6 * baby
    r_fa1, r_fa2 = 0.024 * H * fat ** 0.5 * baby, 0.016 * H * fat ** 0.3 * baby
    for s, side in ((-1, "right"), (1, "left")):
        alpha = math.radians(pose.abd[s])
        S = (s * (W_sh - 0.013 * H), y_sh + 0.012 * H, 0.45 * D_ch)
        ze = r_ua
        dh = (s * math.sin(alpha), math.cos(alpha))
        lh = math.sqrt(max(L_h ** 2 - (S[2] - ze) ** 2, (0.8 * L_h) ** 2))
        E = (S[0] + lh * dh[0], S[1] + lh * dh[1], ze)
        flex = math.radians(pose.elbow[s])
        if pose.kind in ("hands_on_belly", "hands_on_thighs"):
            if pose.kind == "hands_on_belly":
                yw = float(rng.uniform(yL[1], y_crest))
                xw = s * float(rng.uniform(0.1, 0.55)) * W_w
                zw = b.D(yw) + r_fa2
            else:
                L_fem = 0.49 * (H - y_hip)
                yw = y_hip + float(rng.uniform(0.15, 0.35)) * L_fem
                xw = s * (0.05 * H + float(rng.uniform(-0.01, 0.02)) * H)
                zw = 2 * 0.048 * H * fat ** 0.7 * baby + r_fa2 * 0.5
            dz = zw - E[2]
            ell = math.sqrt(max(L_f ** 2 - dz ** 2, (0.35 * L_f) ** 2))
            u = _unit((xw - E[0], yw - E[1]))
            Wr = (E[0] + ell * u[0], E[1] + ell * u[1], zw)
            hand_dir = _unit((u[0], u[1], 0.0))
        else:
            carry = math.radians(10) * s
            inward = -s * flex / 3
            df = _rot(dh, carry + inward)
            Wr = (E[0] + L_f * math.cos(flex) * df[0], E[1] + L_f * math.cos(flex) * df[1],
                  ze + L_f * math.sin(flex))
            hand_dir = _unit((Wr[0] - E[0], Wr[1] - E[1], Wr[2] - E[2]))
            if Wr[2] > r_fa2 + 0.02 * H and flex > math.radians(25):
                # hands that rise rest their tips back down on the belly or flank
                hand_dir = _unit((hand_dir[0], hand_dir[1], 0.0))
        soft.append(Capsule(S, E, r_ua, 0.8 * r_ua))
        soft.append(Capsule(E, Wr, r_fa1, r_fa2))
        # humerus
        r_hh = 0.012 * H
        du = _unit((E[0] - S[0], E[1] - S[1], E[2] - S[2]))
        ang = math.atan2(-du[0], du[1])
        hum = [Ellipsoid(S[0], S[1], S[2], r_hh, r_hh, r_hh, ang),
               Capsule(_add(S, du, 0.6 * r_hh), _add(E, du, -0.012 * H), 0.0065 * H,
                       0.0075 * H),
               Ellipsoid(*_add(E, du, -0.011 * H)[:3], 0.017 * H, 0.008 * H, 0.008 * H, ang)]
        bones[f"humerus_{side}"] = hum
        b.axes[f"humerus_{side}"] = ((S[0] - r_hh * du[0], S[1] - r_hh * du[1]), (E[0], E[1]))
        # forearm: radius (thumb side) and ulna
        dv = _unit((Wr[0] - E[0], Wr[1] - E[1], Wr[2] - E[2]))
        perp = _unit((-dv[1], dv[0], 0.0)) if abs(dv[2]) < 0.99 else (1.0, 0.0, 0.0)
        off = 0.0055 * H
        lat = s if pose.palm != "down" else -s
        rad = Capsule(_add(_add(E, dv, 0.008 * H), perp, lat * off),
                      _add(Wr, perp, lat * off * 1.2), 0.0035 * H, 0.0048 * H)
        uln = Capsule(_add(_add(E, dv, -0.004 * H), perp, -lat * off),
                      _add(Wr, perp, -lat * off * 0.9), 0.0052 * H, 0.0032 * H)
        bones[f"forearm_{side}"] = [rad, uln]
        b.axes[f"forearm_{side}"] = ((E[0], E[1]), (Wr[0], Wr[1]))
        # hand
        roll = {"side": math.radians(85), "forward": 0.0, "down": 0.0}[pose.palm]
        u3 = hand_dir
        w0 = _unit((-u3[1], u3[0], 0.0))
        n0 = (u3[1] * w0[2] - u3[2] * w0[1], u3[2] * w0[0] - u3[0] * w0[2],
              u3[0] * w0[1] - u3[1] * w0[0])
        wv = tuple(math.cos(roll) * a + math.sin(roll) * bq for a, bq in zip(w0, n0, strict=True))
        thumb = lat * (1 if (w0[0] * s) > 0 else -1)

        def hpt(a, c, Wr=Wr, u3=u3, wv=wv):
            return tuple(Wr[k] + a * L_hd * u3[k] + c * L_hd * wv[k] for k in range(3))

        hand = [Capsule(hpt(0.03, 0), hpt(0.2, 0), 0.13 * L_hd, 0.15 * L_hd, 0.6)]
        for j, cpos in enumerate((-0.15, -0.05, 0.05, 0.15)):
            c2 = cpos * 0.85
            flen = (0.95, 1.0, 0.96, 0.85)[j]
            hand.append(Capsule(hpt(0.2, cpos), hpt(0.56, c2), 0.03 * L_hd, 0.028 * L_hd))
            hand.append(Capsule(hpt(0.58, c2), hpt(0.58 + 0.4 * flen, c2 * 0.9), 0.024 * L_hd,
                                0.018 * L_hd))
        hand.append(Capsule(hpt(0.12, thumb * 0.2), hpt(0.36, thumb * 0.34), 0.03 * L_hd,
                            0.026 * L_hd))
        hand.append(Capsule(hpt(0.38, thumb * 0.35), hpt(0.58, thumb * 0.44), 0.024 * L_hd,
                            0.018 * L_hd))
        bones[f"hand_{side}"] = hand
        hw_soft = 0.23 * L_hd
        soft.append(Capsule(hpt(0.0, 0), hpt(0.55, 0), hw_soft, hw_soft, 0.45))
        soft.append(Capsule(hpt(0.55, 0), hpt(0.92, 0), 0.8 * hw_soft, 0.6 * hw_soft, 0.4))
        lm[f"shoulder_{side}"] = S
        lm[f"elbow_{side}"] = E
        lm[f"wrist_{side}"] = Wr
        lm[f"hand_{side}"] = hpt(0.45, 0)
        lm[f"antecubital_{side}"] = _add(E, dv, 0.02 * H)
        # scapula (rotates upward with abduction)
        q = (s * 0.55 * W_sh, y_sh + 0.02 * H)
        rot = -s * alpha / 3

        def sp_(x, y, q=q, rot=rot):
            d = _rot((x - q[0], y - q[1]), rot)
            return q[0] + d[0], q[1] + d[1]

        poly = [sp_(s * 0.42 * W_sh, y_sh + 0.006 * H), sp_(s * (W_sh - 0.028 * H),
                                                             y_sh + 0.016 * H),
                sp_(s * 0.78 * W_sh, y_sh + 0.06 * H), sp_(s * 0.5 * W_sh, y_sh + 0.09 * H),
                sp_(s * 0.38 * W_sh, y_sh + 0.05 * H)]
        gl = sp_(s * (W_sh - 0.024 * H), y_sh + 0.016 * H)
        a1 = sp_(s * 0.45 * W_sh, y_sh + 0.02 * H)
        a2 = sp_(s * (W_sh - 0.004 * H), y_sh - 0.002 * H)
        bones[f"scapula_{side}"] = [
            Plate(poly, 0.006 * H, 0.14 * D_ch, 0.004 * H),
            Ellipsoid(gl[0], gl[1], 0.4 * D_ch, 0.009 * H, 0.011 * H, 0.012 * H),
            Capsule((a1[0], a1[1], 0.1 * D_ch), (a2[0], a2[1], 0.4 * D_ch), 0.0045 * H,
                    0.005 * H),
        ]

    # ---- pelvis -------------------------------------------------------------------------
    P = 0.082 * H
    x_hip = 0.05 * H
    for s, side in ((-1, "right"), (1, "left")):
        il = [(s * 0.018 * H, y_S1 - 0.005 * H), (s * 0.03 * H, y_crest - 0.006 * H),
              (s * 0.05 * H, y_crest - 0.012 * H), (s * 0.072 * H, y_crest - 0.005 * H),
              (s * P, y_crest + 0.012 * H), (s * 0.079 * H, y_crest + 0.03 * H),
              (s * 0.068 * H, y_hip - 0.018 * H), (s * 0.04 * H, y_hip - 0.01 * H),
              (s * 0.025 * H, y_S1 + 0.035 * H)]
        hip = [Plate(il, 0.011 * H, 0.42 * D_pel, 0.005 * H),
               Ellipsoid(s * x_hip * 0.97, y_hip - 0.004 * H, 0.5 * D_pel, 0.016 * H, 0.016 * H,
                         0.016 * H),
               Shell(Ellipsoid(s * 0.032 * H, y_hip + 0.025 * H, 0.55 * D_pel, 0.026 * H,
                               0.027 * H, 0.02 * H), 0.011 * H),
               Capsule((s * 0.03 * H, y_hip + 0.004 * H, 0.7 * D_pel),
                       (s * 0.005 * H, y_hip + 0.022 * H, 0.78 * D_pel), 0.007 * H, 0.007 * H),
               Ellipsoid(s * 0.04 * H, y_hip + 0.048 * H, 0.3 * D_pel, 0.01 * H, 0.011 * H,
                         0.012 * H)]
        bones[f"hip_bone_{side}"] = hip
    lm["x_hip"] = x_hip
    lm["y_pubis"] = y_hip + 0.01 * H

    # ---- lower limbs --------------------------------------------------------------------
    L_leg = H - y_hip
    L_fem, L_tib = 0.49 * L_leg, 0.42 * L_leg
    L_foot = fr(g.FOOT) * H
    r_th = 0.048 * H * fat ** 0.7 * baby
    r_kn, r_calf, r_ank = (0.029 * H * fat ** 0.4 * baby, 0.03 * H * fat ** 0.5 * baby,
                           0.017 * H * baby)
    nsa = math.radians(fr(g.NECK_SHAFT))
    lm["L_fem"] = L_fem
    for s, side in ((-1, "right"), (1, "left")):
        beta = math.radians(pose.legs[s])
        Hj = (s * x_hip, y_hip)
        zh = 0.45 * D_pel

        def lp_(lx, ly, Hj=Hj, beta=beta, s=s):
            d = _rot((lx, ly), -s * beta)
            return Hj[0] + d[0], Hj[1] + d[1]

        # leg frame: ly along the leg, lx lateral (times s)
        def leg(lx, ly, z, lp_=lp_):
            x, y = lp_(lx, ly)
            return (x, y, z)

        K = leg(0, L_fem, r_kn)
        A2 = lp_(0, L_fem + L_tib)
        pf = math.radians(pose.plantar[s])
        gam = math.radians(pose.foot_rot[s])
        z_ank = L_foot * (0.22 * math.cos(pf) + 0.3 * math.sin(pf) + 0.05)
        A = (A2[0], A2[1], z_ank)
        soft.append(Capsule(leg(s * 0.006 * H, -0.02 * H, r_th), K, r_th, r_kn))
        mid = leg(0, L_fem + 0.3 * L_tib, r_calf)
        soft.append(Capsule(K, mid, r_kn, r_calf))
        soft.append(Capsule(mid, A, r_calf, r_ank))
        # femur
        r_fh = 0.0125 * H
        nd = (s * math.cos(nsa - math.pi / 2), math.sin(nsa - math.pi / 2))
        T = (0.11 * L_fem * nd[0], 0.11 * L_fem * nd[1])
        fem = [Ellipsoid(*leg(0, 0, zh), r_fh, r_fh, r_fh),
               Capsule(leg(0, 0, zh), leg(T[0], T[1], zh), 0.0072 * H, 0.008 * H),
               Ellipsoid(*leg(s * 0.11 * L_fem, 0.03 * L_fem, 0.9 * zh), 0.011 * H, 0.013 * H,
                         0.011 * H),
               Capsule(leg(T[0] * 0.95, T[1] + 0.02 * L_fem, 0.85 * zh),
                       leg(s * 0.01 * L_fem, 0.93 * L_fem, 1.1 * r_kn), 0.0075 * H, 0.009 * H),
               Ellipsoid(*leg(0, 0.965 * L_fem, 1.1 * r_kn), 0.023 * H, 0.011 * H, 0.016 * H,
                         -s * beta)]
        bones[f"femur_{side}"] = fem
        b.axes[f"femur_{side}"] = (lp_(0, -r_fh), lp_(0, L_fem + 0.004 * H))
        # tibia and fibula
        zt = 1.1 * r_calf
        tib = [Ellipsoid(*leg(0, L_fem + 0.03 * L_tib, 1.1 * r_kn), 0.02 * H, 0.008 * H,
                         0.014 * H, -s * beta),
               Capsule(leg(0, L_fem + 0.04 * L_tib, zt), leg(-s * 0.003 * H, L_fem + 0.96 * L_tib,
                                                            0.8 * z_ank + 0.2 * zt),
                       0.0065 * H, 0.0055 * H),
               Ellipsoid(*leg(-s * 0.006 * H, L_fem + 0.985 * L_tib, z_ank), 0.007 * H,
                         0.007 * H, 0.008 * H),
               Capsule(leg(s * 0.013 * H, L_fem + 0.06 * L_tib, 0.8 * zt),
                       leg(s * 0.013 * H, L_fem + L_tib + 0.008 * H, 0.9 * z_ank),
                       0.0035 * H, 0.003 * H),
               Ellipsoid(*leg(s * 0.013 * H, L_fem + 0.055 * L_tib, 0.8 * zt), 0.005 * H,
                         0.005 * H, 0.005 * H)]
        bones[f"tibia_fibula_{side}"] = tib
        b.axes[f"tibia_fibula_{side}"] = ((K[0], K[1]), (A[0], A[1]))
        # foot: long axis v (heel -> toes), dorsal n, width w
        v = _unit((s * math.sin(gam) * math.cos(pf), math.sin(pf), math.cos(gam) * math.cos(pf)))
        n = _unit((s * math.sin(gam) * math.sin(pf), -math.cos(pf),
                   math.cos(gam) * math.sin(pf)))
        w = (v[1] * n[2] - v[2] * n[1], v[2] * n[0] - v[0] * n[2], v[0] * n[1] - v[1] * n[0])
        heel = tuple(A[k] - 0.22 * L_foot * v[k] - 0.3 * L_foot * n[k] for k in range(3))

        def fp(a, c, d, heel=heel, v=v, w=w, n=n):
            return tuple(heel[k] + L_foot * (a * v[k] + c * w[k] + d * n[k]) for k in range(3))

        foot = [Capsule(fp(0.02, 0, 0.12), fp(0.3, 0, 0.16), 0.1 * L_foot, 0.09 * L_foot),
                Capsule(fp(0.2, 0, 0.3), fp(0.33, 0, 0.28), 0.08 * L_foot, 0.07 * L_foot),
                Capsule(fp(0.36, 0, 0.22), fp(0.48, 0, 0.2), 0.1 * L_foot, 0.1 * L_foot)]
        for j, cw in enumerate((-0.16, -0.08, 0.0, 0.08, 0.15)):
            foot.append(Capsule(fp(0.48, cw * 0.8, 0.2), fp(0.75, cw, 0.1), 0.028 * L_foot,
                                0.022 * L_foot))
            foot.append(Capsule(fp(0.77, cw, 0.09), fp(0.95 - 0.03 * j, cw * 1.05, 0.06),
                                0.024 * L_foot, 0.018 * L_foot))
        bones[f"foot_{side}"] = foot
        soft.append(Capsule(fp(0.0, 0, 0.15), fp(0.7, 0, 0.14), 0.19 * L_foot, 0.2 * L_foot,
                            0.6))
        soft.append(Capsule(fp(0.7, 0, 0.12), fp(0.97, 0, 0.08), 0.2 * L_foot, 0.14 * L_foot,
                            0.45))
        lm[f"hip_{side}"] = (Hj[0], Hj[1], zh)
        lm[f"knee_{side}"] = K
        lm[f"ankle_{side}"] = A
        lm[f"foot_{side}"] = fp(0.55, 0, 0.2)
        lm[f"thigh_{side}"] = leg(0, 0.4 * L_fem, r_th)
    return b
