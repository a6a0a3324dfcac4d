"""A bone-level skeleton fitted to the body outline of one child.

Bone is invisible on a normal MIBG scan, so the skeleton is inferred from the silhouette:
the head and the neck narrowing, the shoulders, the arms (traced where they stand apart from
the trunk, else laid along its sides), the crotch and the legs, with age-dependent body
proportions filling in what the outline does not show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from mibgscore.anatomy._draw import BoneCanvas
from mibgscore.anatomy._grid import block_mean, outline_factor
from mibgscore.anatomy._outline import Outline, measure_outline
from mibgscore.anatomy.bones import BONE_LABEL, BONES
from mibgscore.anatomy.grid import WorkGrid
from mibgscore.anatomy.types import Body, Skeleton

logger = logging.getLogger(__name__)

SIDES = ("right", "left")

_GROWN = np.array([BONE_LABEL[b] for b in BONES if not b.startswith(
    ("cranium", "facial", "mandible", "hand_", "foot_", "tibia_fibula_", "femur_"))], np.int16)
_GROWN_LUT = np.zeros(len(BONES) + 1, bool)
_GROWN_LUT[_GROWN] = True
_FEMUR_LUT = np.zeros(len(BONES) + 1, bool)
_FEMUR_LUT[[BONE_LABEL["femur_right"], BONE_LABEL["femur_left"]]] = True
"""Patient's sides; on the canonical (anterior-like) frame the right is on the viewer's left."""


@dataclass(frozen=True)
class SkeletonParams:
    """Options of :func:`fit_skeleton`.

    Attributes
    ----------
    clip_to_body : bool
        Keep bone only inside the body outline.
    margin_mm : float
        Soft tissue around the drawn bones given to the nearest bone (a little generous: the
        fitted bone is an estimate, and a focus just beside it is still on bone). 0 for none.
    """

    clip_to_body: bool = True
    margin_mm: float = 4.0


def fit_skeleton(body: Body, *, age_years: float | None = None, height_cm: float | None = None,
                 params: SkeletonParams = SkeletonParams()) -> Skeleton:
    """Fit a bone-level skeleton to the body outline.

    Parameters
    ----------
    body : Body
        The body in its canonical frame (head at row 0), from
        :func:`mibgscore.anatomy.body.find_body`.
    age_years : float, optional
        Age of the child; sets body proportions (head size, leg length). Estimated from the
        body length when missing.
    height_cm : float, optional
        Stature; used to estimate the age when ``age_years`` is missing.
    params : SkeletonParams
        Options.

    Returns
    -------
    Skeleton
        Bone labels, position along long bones, landmarks and a 0-1 confidence, in the
        canonical frame of ``body``.
    """
    f = outline_factor(body.spacing_mm)
    small = block_mean(body.mask.astype(np.float32), f) > 0.5
    if small.sum() < 50:
        small = body.mask.copy()
        f = 1
    outline = measure_outline(small, spacing_mm=body.spacing_mm[0] * f, age_years=age_years,
                              height_cm=height_cm)
    canvas = BoneCanvas(small.shape)
    _draw(canvas, outline, outline.landmarks, 1.0)
    labels_s, position_s = canvas.render(small if params.clip_to_body else None)
    margin_px = int(round(params.margin_mm / (body.spacing_mm[0] * f)))
    if margin_px > 0:
        labels_s, position_s = _grow(labels_s, position_s, margin_px,
                                     small if params.clip_to_body else None)
    labels = _upsample(labels_s, f, body.shape)
    position = _upsample(position_s, f, body.shape)
    if params.clip_to_body:
        outside = ~body.mask
        labels[outside] = 0
        position[outside] = np.nan
    coarse = WorkGrid(f, body.shape, False, body.spacing_mm)
    lm = {k: tuple(float(v) for v in coarse.to_canonical(r, c))
          for k, (r, c) in outline.landmarks.items()}
    logger.debug("skeleton: factor %d, confidence %.2f", f, outline.confidence)
    return Skeleton(bone_labels=labels, bone_position=position, landmarks=lm,
                    confidence=float(np.clip(outline.confidence, 0.0, 1.0)),
                    notes=outline.notes)


def _draw(cv: BoneCanvas, o: Outline, lm: dict[str, tuple[float, float]], s: float) -> None:
    """Paint every bone from the landmarks (full-resolution pixels)."""
    H = o.stature_px * s

    def p(name: str) -> tuple[float, float]:
        return lm[name]

    def w(frac: float) -> float:
        return max(1.5, frac * H)

    # head
    vr, vc = p("vertex")
    cr, cc = p("chin")
    hh = cr - vr
    hw = o.head_width_px * s
    scalp = 0.05 * hw
    cv.ellipse("cranium", (vr + 0.42 * hh, vc), (0.42 * hh - scalp, hw / 2 - scalp))
    face_top = vr + o.face_top * hh
    cv.ellipse("facial_bones", (face_top + 0.5 * (0.82 * hh - (face_top - vr)), cc),
               (0.5 * (0.82 * hh - (face_top - vr)), 0.34 * hw))
    # mandible: the lower face down to the chin, with a window over the upper cervical spine
    # (inside the U of the mandible on a frontal view, above its body)
    rr, ccol = np.ogrid[: cv.shape[0], : cv.shape[1]]
    jaw = ((rr - (vr + 0.72 * hh)) / (0.26 * hh)) ** 2 + ((ccol - cc) / (0.36 * hw)) ** 2 <= 1
    jaw &= (rr >= vr + 0.80 * hh) & (rr <= cr)
    jaw &= ~((np.abs(ccol - cc) < max(1.0, 0.5 * w(0.02))) & (rr < cr - max(1.0, 0.07 * hh)))
    cv.region("mandible", jaw)

    # spine
    base = (vr + 0.78 * hh, vc * 0.5 + cc * 0.5)
    c7 = p("c7")
    t12 = p("t12")
    l5 = p("l5")
    tip = p("coccyx")
    cv.polyline("cervical_spine", [base, p("neck"), c7], [w(0.02), w(0.022), w(0.024)])
    cv.polyline("thoracic_spine", [c7, t12], [w(0.028), w(0.032)])
    cv.polyline("lumbar_spine", [t12, l5], [w(0.036), w(0.04)])
    cv.polyline("sacrum", [l5, tip], [w(0.06), w(0.015)])

    # thoracic cage
    notch = p("sternal_notch")
    xiph = p("xiphoid")
    # narrower than the spine it overlies: a midline focus is far more often vertebral
    cv.polyline("sternum", [notch, xiph], [w(0.014), w(0.009)])
    for side in SIDES:
        sg = -1.0 if side == "right" else 1.0
        acr = p(f"shoulder_{side}")
        cv.polyline(f"clavicle_{side}", [(notch[0], notch[1] + sg * w(0.01)), acr],
                    [w(0.011), w(0.011)])
        cage = o.cage[side]
        pts = [(r * s + (s - 1) / 2, c * s + (s - 1) / 2) for r, c in cage]
        cv.polygon(f"ribs_{side}", pts)
        scap = [(r * s + (s - 1) / 2, c * s + (s - 1) / 2) for r, c in o.scapula[side]]
        cv.polygon(f"scapula_{side}", scap)
        hip = [(r * s + (s - 1) / 2, c * s + (s - 1) / 2) for r, c in o.hip_bone[side]]
        cv.polygon(f"hip_bone_{side}", hip)

        # arm
        arm = [(r * s + (s - 1) / 2, c * s + (s - 1) / 2) for r, c in o.arm[side]]
        hum, fore, hand = _split(arm, (o.props.humerus, o.props.forearm, o.props.hand))
        hw_ = _taper(len(hum), w(0.03), w(0.016), w(0.024))
        hw_[0] = w(0.034)  # the humeral head, at the lateral end of the shoulder
        cv.polyline(f"humerus_{side}", hum, hw_)
        cv.polyline(f"forearm_{side}", fore, _taper(len(fore), w(0.02), w(0.019), w(0.022)))
        cv.polyline(f"hand_{side}", hand, _taper(len(hand), w(0.028), w(0.032), w(0.024)))

        # leg
        leg = [(r * s + (s - 1) / 2, c * s + (s - 1) / 2) for r, c in o.leg[side]]
        (hr, hc), (tr_, tc), (kr, kc) = leg[:3]
        femur = [(hr, hc), (tr_, tc), (tr_ + 0.33 * (kr - tr_), tc + 0.33 * (kc - tc)),
                 (tr_ + 0.8 * (kr - tr_), tc + 0.8 * (kc - tc)), (kr, kc)]
        tib = _between(leg, p(f"knee_{side}"), p(f"ankle_{side}"))
        foot = _between(leg, p(f"ankle_{side}"), p(f"toe_{side}"))
        # femoral head and neck a little wider: a focus there is femoral, not pelvic
        cv.polyline(f"femur_{side}", femur, [w(0.03), w(0.026), w(0.018), w(0.024), w(0.038)])
        cv.polyline(f"tibia_fibula_{side}", tib, _taper(len(tib), w(0.036), w(0.025), w(0.03)))
        cv.polyline(f"foot_{side}", foot, _taper(len(foot), w(0.03), w(0.036), w(0.034)))


def _grow(labels: np.ndarray, position: np.ndarray, px: int, clip: np.ndarray | None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Give the soft tissue within ``px`` pixels of a thin bone to the nearest such bone.

    Thin bones only (spine, ribs, clavicles, scapulae, pelvis, humerus, forearm, the upper
    femur): the skull, hands, feet, femoral shaft and lower leg are drawn broad already. Grown
    one pixel (4-neighbours) at a time, so the nearest bone wins.
    """
    # the femur only at its head, neck and trochanters, where it meets the pelvis
    with np.errstate(invalid="ignore"):
        src = _GROWN_LUT[labels] | (_FEMUR_LUT[labels] & (position < 0.3))
    if not src.any():
        return labels, position
    labels = labels.copy()
    position = position.copy()
    free = labels == 0
    if clip is not None:
        free &= clip
    src_l = np.where(src, labels, 0).astype(np.int16)
    src_p = np.where(src, position, np.nan).astype(np.float32)
    for _ in range(px):
        new_l = np.zeros_like(src_l)
        new_p = np.full_like(src_p, np.nan)
        for axis in (0, 1):
            for step in (1, -1):
                sl = np.roll(src_l, step, axis=axis)
                sp = np.roll(src_p, step, axis=axis)
                edge = [slice(None), slice(None)]
                edge[axis] = slice(0, 1) if step == 1 else slice(-1, None)
                sl[tuple(edge)] = 0
                take = (new_l == 0) & (sl > 0)
                new_l[take] = sl[take]
                new_p[take] = sp[take]
        add = free & (new_l > 0)
        if not add.any():
            break
        labels[add] = new_l[add]
        position[add] = new_p[add]
        src_l[add] = new_l[add]
        src_p[add] = new_p[add]
        free &= ~add
    return labels, position


def _upsample(a: np.ndarray, f: int, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour blow-up by f, cropped or edge-padded to ``shape``."""
    if f > 1:
        a = np.repeat(np.repeat(a, f, axis=0), f, axis=1)
    a = a[: shape[0], : shape[1]]
    pr, pc = shape[0] - a.shape[0], shape[1] - a.shape[1]
    if pr or pc:
        a = np.pad(a, ((0, pr), (0, pc)), mode="edge")
    return np.ascontiguousarray(a)


def _taper(n: int, first: float, middle: float, last: float) -> list[float]:
    """Widths along a polyline of n points: ``first`` at the ends' ... ``middle`` in between."""
    if n <= 2:
        return [first, last][:n] if n == 2 else [first]
    t = np.linspace(0.0, 1.0, n)
    out = np.where(t < 0.5, first + (middle - first) * np.clip(t / 0.2, 0, 1),
                   last + (middle - last) * np.clip((1 - t) / 0.2, 0, 1))
    return [float(x) for x in out]


def _split(path: list[tuple[float, float]], fractions: tuple[float, ...]
           ) -> list[list[tuple[float, float]]]:
    """Cut a polyline into consecutive pieces whose lengths follow ``fractions``."""
    pts = np.asarray(path, float)
    seg = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    bounds = np.concatenate([[0.0], np.cumsum(fractions) / np.sum(fractions)]) * total
    out = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        inner = [tuple(x) for x, c in zip(pts, cum, strict=True) if a < c < b]
        out.append([_at(pts, cum, a), *inner, _at(pts, cum, b)])
    return out


def _at(pts: np.ndarray, cum: np.ndarray, d: float) -> tuple[float, float]:
    return (float(np.interp(d, cum, pts[:, 0])), float(np.interp(d, cum, pts[:, 1])))


def _between(path: list[tuple[float, float]], a: tuple[float, float], b: tuple[float, float]
             ) -> list[tuple[float, float]]:
    """The points of a top-to-bottom polyline between rows of ``a`` and ``b``, with both ends."""
    inner = [q for q in path if a[0] < q[0] < b[0]]
    return [a, *inner, b]


