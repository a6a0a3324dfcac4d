"""Small synthetic whole-body MIBG scans with known landmarks, for the anatomy tests.

A child is drawn as capsules (limbs, neck), ellipses (head, trunk) and hot organs with
Poisson noise. Independent of ``mibgscore.simulate`` on purpose: the anatomy tests must not
depend on how that simulator draws a body.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from mibgscore.io.types import Scan


@dataclass(frozen=True, eq=False)
class Child:
    """A synthetic scan with its true body outline and landmarks (anterior frame, pixels)."""

    scan: Scan
    keypoints: dict[str, tuple[float, float]]
    mask: np.ndarray
    height_px: float


def _capsule(rr, cc, a, b, radius):
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    d = b - a
    t = np.clip(((rr - a[0]) * d[0] + (cc - a[1]) * d[1]) / max(d @ d, 1e-9), 0, 1)
    return np.hypot(rr - a[0] - t * d[0], cc - a[1] - t * d[1]) <= radius


def _ellipse(rr, cc, c, ry, rx):
    return ((rr - c[0]) / ry) ** 2 + ((cc - c[1]) / rx) ** 2 <= 1.0


def make_child(*, height_cm: float = 110.0, spacing_mm: float = 2.4, shape=(1024, 256),
               arms: str = "side", legs_apart: bool = True, col_offset_mm: float = 0.0,
               top_mm: float = 60.0, counts: float = 1.5e6, seed: int = 0,
               feet_first: bool = False, posterior_shift_px: tuple[int, int] = (0, 0),
               single_view: bool = False, hot_leg: float = 1.0,
               leg_level: float = 1.0) -> Child:
    """A synthetic scan with its landmarks (row, col in the anterior frame, pixels).

    ``arms`` is ``"side"`` (hanging, touching the trunk), ``"apart"`` (hanging, a gap from the
    trunk) or ``"abducted"`` (about 45 degrees out). ``hot_leg`` multiplies the counts of the
    left leg below the crotch (a diffusely involved limb beside a faint one), ``leg_level`` those of
    both legs (thin limbs count less than the trunk).
    """
    rng = np.random.default_rng(seed)
    rows, cols = shape
    H = height_cm * 10 / spacing_mm  # stature in pixels
    age = float(np.interp(height_cm, [60, 75, 87, 103, 116, 138, 162, 172], [0.5, 1, 2, 4, 6, 10,
                                                                             14, 18]))
    head = float(np.interp(age, [0, 2, 6, 10, 18], [0.25, 0.2, 0.167, 0.15, 0.13])) * H
    leg = float(np.interp(age, [0, 1, 3, 6, 10, 18], [0.34, 0.37, 0.41, 0.44, 0.46, 0.47])) * H
    v = top_mm / spacing_mm
    mid = cols / 2 + col_offset_mm / spacing_mm
    chin = v + head
    shoulder = chin + 0.06 * H
    crotch = v + H - leg
    soles = v + H
    sh_half = 0.12 * H
    hip_half = 0.09 * H
    rr, cc = np.mgrid[0:rows, 0:cols].astype(float)
    body = np.zeros(shape, bool)
    body |= _ellipse(rr, cc, (v + head / 2, mid), head / 2, head * 0.4)
    body |= _capsule(rr, cc, (chin - 0.02 * H, mid), (shoulder + 0.02 * H, mid), 0.045 * H)
    trunk = np.zeros(shape, bool)
    for r in np.linspace(shoulder, crotch, 30):
        t = (r - shoulder) / (crotch - shoulder)
        half = sh_half * (1 - t) + hip_half * t - 0.02 * H * np.sin(np.pi * t)
        trunk |= (np.abs(rr - r) <= (crotch - shoulder) / 29) & (np.abs(cc - mid) <= half)
    trunk &= ~((rr < shoulder + 0.03 * H) & (np.abs(cc - mid) > sh_half * 0.85))
    body |= trunk | _ellipse(rr, cc, (shoulder + 0.03 * H, mid), 0.04 * H, sh_half)
    arm_r = 0.028 * H
    arm_len = 0.43 * H
    kp: dict[str, tuple[float, float]] = {"vertex": (v, mid), "chin": (chin, mid),
                                          "crotch": (crotch, mid), "soles": (soles, mid)}
    for sg, side in ((-1, "right"), (1, "left")):
        acr = (shoulder + 0.025 * H, mid + sg * (sh_half - arm_r * 0.8))
        if arms == "side":
            ang = np.deg2rad(3)
        elif arms == "apart":
            ang = np.deg2rad(12)
        else:
            ang = np.deg2rad(45)
        d = np.array([np.cos(ang), sg * np.sin(ang)])
        if arms == "apart":
            acr = (acr[0], acr[1] + sg * 0.02 * H)
        elbow = np.array(acr) + d * 0.43 * arm_len
        wrist = np.array(acr) + d * 0.76 * arm_len
        hand = np.array(acr) + d * arm_len
        body |= _capsule(rr, cc, acr, elbow, arm_r * 1.1)
        body |= _capsule(rr, cc, elbow, wrist, arm_r * 0.9)
        body |= _capsule(rr, cc, wrist, hand, arm_r * 0.8)
        foot_c = mid + sg * (0.07 * H if legs_apart else 0.04 * H)
        hip = (crotch - 0.12 * leg, mid + sg * 0.05 * H)
        knee_c = mid + sg * (0.06 * H if legs_apart else 0.04 * H)
        knee = (crotch + 0.4 * leg, knee_c)
        ankle = (soles - 0.05 * H, foot_c)
        body |= _capsule(rr, cc, (crotch, mid + sg * 0.055 * H), knee, 0.045 * H)
        body |= _capsule(rr, cc, knee, ankle, 0.032 * H)
        body |= _capsule(rr, cc, ankle, (soles - 0.012 * H, foot_c), 0.03 * H)
        kp.update({f"shoulder_{side}": acr, f"elbow_{side}": tuple(elbow),
                   f"wrist_{side}": tuple(wrist), f"hip_{side}": hip, f"knee_{side}": knee,
                   f"ankle_{side}": ankle})
    img = body * 1.0
    # hot organs: salivary glands, heart, liver, bladder
    img += 6 * _ellipse(rr, cc, (v + 0.8 * head, mid - 0.3 * head), 0.05 * H, 0.02 * H)
    img += 6 * _ellipse(rr, cc, (v + 0.8 * head, mid + 0.3 * head), 0.05 * H, 0.02 * H)
    img += 4 * _ellipse(rr, cc, (shoulder + 0.12 * H, mid + 0.03 * H), 0.04 * H, 0.045 * H)
    img += 5 * _ellipse(rr, cc, (shoulder + 0.2 * H, mid - 0.05 * H), 0.05 * H, 0.08 * H)
    img += 5 * _ellipse(rr, cc, (crotch - 0.05 * H, mid), 0.03 * H, 0.035 * H)
    img *= body
    legs = rr > crotch + 0.03 * H
    img[legs] *= leg_level
    img[legs & (cc > mid)] *= hot_leg
    img = ndi.gaussian_filter(img, 4.0 / spacing_mm * 2)
    img += 0.01  # scatter background
    scale = counts / img.sum()
    ant = rng.poisson(img * scale).astype(np.float32)
    post_img = np.roll(img, posterior_shift_px, axis=(0, 1))
    post = rng.poisson(post_img * scale * 0.9).astype(np.float32)
    if feet_first:
        ant, post = ant[::-1].copy(), post[::-1].copy()
        body = body[::-1].copy()
        kp = {k: (rows - 1 - r, c) for k, (r, c) in kp.items()}
    scan = Scan(anterior=ant, posterior=None if single_view else post,
                spacing_mm=(spacing_mm, spacing_mm))
    return Child(scan=scan, keypoints=kp, mask=body, height_px=H)
