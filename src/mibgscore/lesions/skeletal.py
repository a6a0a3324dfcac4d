"""Stage 4: abnormal skeletal uptake - discrete foci and diffuse involvement.

Both views enter through their geometric mean (posterior registered onto anterior), so depth
matters less. Each pixel is compared with the counts a normal scan would show there (the
background model of the normal-uptake stage: soft tissue, and organ surface inside organs), and
every threshold is a contrast ratio AND a number of noise standard deviations, so that neither
the count level nor the noise decides alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import ndimage as ndi

from mibgscore import __version__
from mibgscore.anatomy.bones import BONES
from mibgscore.anatomy.types import WorkingSkeleton
from mibgscore.lesions.detector import lone_injection_site
from mibgscore.lesions.types import FocalLesion, SkeletalLesions
from mibgscore.result import ModelInfo
from mibgscore.uptake.images import grow, kernel_power, smooth
from mibgscore.uptake.normal import BackgroundParams, expected_counts
from mibgscore.uptake.types import NormalUptake, WorkingViews

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LesionParams:
    """Options of the lesion stage (lengths in mm, contrasts as ratios, z in noise SDs).

    Attributes
    ----------
    focal_mm : float
        Gaussian sigma of the focus detector (difference of Gaussians, sigma and 3 sigma).
    focal_z : float
        Minimum detector response in noise SDs.
    focal_contrast : float
        Minimum peak contrast over expected normal counts.
    focal_max_radius_mm : float
        Largest radius (mm, at half the peak excess) of a focus; larger hot spots are organ
        uptake or diffuse disease.
    organ_contrast : float
        Minimum contrast of a focus inside organ uptake (over the organ's surface).
    bone_tolerance_mm : float
        A focus farther than this from the fitted skeleton is not skeletal.
    diffuse_mm : float
        Gaussian sigma of the image in which diffuse involvement is sought.
    diffuse_contrast, diffuse_z : float
        Minimum contrast and significance of a diffusely involved pixel.
    diffuse_min_area_mm2 : float
        Smallest connected involved area called diffuse (smaller ones are foci).
    diffuse_specific : float
        Share of a region's excess that must be its own, above the soft tissue 8-16 mm
        around it (0-1).
    head_focal_z, head_focal_contrast : float
        Stronger evidence asked of a focus in the skull (cranium, face, mandible), where glands
        and the nasopharynx make small normal hot spots.
    texture_ratio, texture_amplitude : float
        Bone *texture* that makes a trunk bone group diffusely involved: the median, over the
        group's bone, of the band-pass (``focal_mm`` to twice it) power over its noise power,
        and of the band-pass amplitude over the local counts. Marrow disease makes the ribs,
        vertebrae and pelvis visible as a pattern; normal trunk soft tissue is smooth.
    texture_pixel_ratio, texture_pixel_amplitude : float
        The same, per pixel, for the involved part of a group that passes.
    texture_window_mm : float
        Gaussian sigma over which the band-pass power is averaged.
    texture_margin_mm : float
        Margin (beyond the 6 mm rim of findings) left out of the texture measurement.
    lone_extremity_is_injection : bool
        Take a lone focus where tracer is injected (forearm, hand, lower leg, foot, elbow) on
        an otherwise normal skeleton for the injection site
        (:func:`mibgscore.lesions.detector.lone_injection_site`).
    background : BackgroundParams
        The model of a normal scan's counts against which every contrast is measured.
    """

    focal_mm: float = 3.5
    focal_z: float = 6.0
    focal_contrast: float = 0.25
    focal_max_radius_mm: float = 11.0
    organ_contrast: float = 0.8
    bone_tolerance_mm: float = 8.0
    diffuse_mm: float = 4.0
    diffuse_contrast: float = 0.3
    diffuse_z: float = 3.0
    diffuse_min_area_mm2: float = 900.0
    diffuse_specific: float = 0.6
    head_focal_z: float = 7.5
    head_focal_contrast: float = 0.4
    texture_ratio: float = 16.0
    texture_amplitude: float = 0.06
    texture_pixel_ratio: float = 6.0
    texture_pixel_amplitude: float = 0.03
    texture_window_mm: float = 8.0
    texture_margin_mm: float = 10.0
    lone_extremity_is_injection: bool = True
    background: BackgroundParams = field(default_factory=BackgroundParams)


HEAD_BONES = frozenset({"cranium", "facial_bones", "mandible"})
"""Bones of the SIOPEN skull segment."""

TRUNK_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"cervical_spine", "thoracic_spine", "lumbar_spine"}),
    frozenset({"sacrum", "hip_bone_right", "hip_bone_left"}),
)
"""Trunk bone groups (spine, pelvis) judged as a whole for bone texture. The thoracic cage is
left out: the edges and mottling of the heart, liver and lungs over it look like texture too
(normal scans of the independent phantom were called diffuse)."""

class ClassicDetector:
    """The hand-made detector: contrast over a model of the normal scan's counts, and noise.

    Parameters
    ----------
    params : LesionParams, optional
    """

    def __init__(self, params: LesionParams | None = None) -> None:
        self.params = params if params is not None else LesionParams()
        text = json.dumps(asdict(self.params), sort_keys=True)
        self.model = ModelInfo("classic", __version__,
                               hashlib.sha256(text.encode()).hexdigest())

    def find(self, views: WorkingViews, skeleton: WorkingSkeleton,
             uptake: NormalUptake) -> SkeletalLesions:
        """Foci and diffuse involvement (see :func:`find_lesions`)."""
        del views  # the combined views travel with the uptake stage's output
        with_background = expected_counts(uptake, skeleton.labels,
                                          params=self.params.background)
        return find_lesions(with_background, skeleton, params=self.params)


def find_lesions(uptake: NormalUptake, skeleton: WorkingSkeleton, *,
                 params: LesionParams = LesionParams()) -> SkeletalLesions:
    """Find focal and diffuse skeletal uptake.

    Parameters
    ----------
    uptake : NormalUptake
        Normal-uptake findings with the expected normal counts
        (:func:`mibgscore.uptake.normal.expected_counts`).
    skeleton : WorkingSkeleton
        Fitted bone map (``BONE_LABEL``) and long-bone positions on the same grid.
    params : LesionParams
        Options.

    Returns
    -------
    SkeletalLesions
        Foci (hottest first) and the diffuse-involvement map.
    """
    bone_labels = skeleton.labels
    im = uptake.images
    g = im.combined
    px = float(np.mean(im.spacing_mm))
    spx = im.spacing_mm[0] * im.spacing_mm[1]
    expected = np.maximum(uptake.expected, 1e-3)
    # contrast is measured against at least half the full-thickness level, so that the thin
    # body edge (where blur and outline matter more than uptake) does not look hot
    denom = expected if uptake.level is None else np.maximum(expected, 0.5 * uptake.level)
    bone = bone_labels > 0
    tol = max(1, int(round(params.bone_tolerance_mm / px)))
    if bone.any():
        dist, (ir, ic) = ndi.distance_transform_edt(~bone, return_indices=True)
        near_bone = dist <= tol
    else:
        dist = np.full(g.shape, np.inf)
        ir = ic = np.zeros(g.shape, int)
        near_bone = np.zeros(g.shape, bool)
    bone_zone = grow(bone, max(1, int(round(3.0 / px)))) & im.body

    # diffuse involvement
    inside = im.body.astype(np.float32)
    gin = g * inside
    sd_ = params.diffuse_mm / px
    gd = _masked(gin, inside, sd_)
    var_d = smooth(im.variance, sd_) * kernel_power(sd_)
    excess = ((gd - expected) / denom).astype(np.float32)
    signif = ((gd - expected) / np.sqrt(np.maximum(var_d, 1e-6))).astype(np.float32)
    # the blurred tail of a hot organ reaches past its outline
    near_finding = grow(uptake.mask, max(1, int(round(6.0 / px))))
    involved = (bone_zone & ~near_finding & (excess > params.diffuse_contrast)
                & (signif > params.diffuse_z))
    lab, n = ndi.label(involved)
    diffuse = np.zeros_like(involved)
    if n:
        sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:] * spx
        big = np.nonzero(sizes >= params.diffuse_min_area_mm2)[0] + 1
        keep = [k for k in big if _bone_specific(lab, int(k), excess, bone_zone, im.body, px,
                                                  params)]

        diffuse = np.isin(lab, keep)

    # discrete foci
    s1 = params.focal_mm / px
    s2 = 3.0 * s1
    g1 = _masked(gin, inside, s1)
    dog = g1 - _masked(gin, inside, s2)
    var_local = smooth(im.variance, s2)
    z = dog / np.sqrt(np.maximum(var_local * kernel_power(s1, s2), 1e-6))
    contrast = (g1 - expected) / denom
    size = max(3, int(round(2.5 * s1)) * 2 + 1)
    peaks = (dog == ndi.maximum_filter(dog, size=size)) & (z > params.focal_z) & near_bone
    peaks &= im.body
    need = np.where(near_finding, params.organ_contrast, params.focal_contrast)
    peaks &= contrast > need
    peaks &= ~grow(uptake.opaque, max(1, int(round(4.0 / px))))
    peaks &= ~_midface(uptake, bone_labels)
    pr, pc = np.nonzero(peaks)
    order = np.argsort(-z[pr, pc])
    focal = []
    for k in order:
        r, c = int(pr[k]), int(pc[k])
        if diffuse[r, c] and contrast[r, c] < 2.0 * max(float(excess[r, c]), 0.1) + 0.3:
            continue  # a bump inside diffuse involvement, not a separate focus
        br, bc = int(ir[r, c]), int(ic[r, c])
        label = int(bone_labels[br, bc])
        if label <= 0:
            continue
        radius = _radius_mm(g1, expected, r, c, px, size)
        if radius > params.focal_max_radius_mm:
            continue
        if BONES[label - 1] in HEAD_BONES and (z[r, c] < params.head_focal_z
                                               or contrast[r, c] < params.head_focal_contrast):
            continue  # glands and nasopharynx make weak hot spots over the skull
        conf = _focal_confidence(float(z[r, c]), float(contrast[r, c]), params,
                                 in_organ=bool(uptake.mask[r, c]),
                                 dist_mm=float(dist[r, c]) * px)
        focal.append(FocalLesion(row=r, col=c, bone_row=br, bone_col=bc, bone=BONES[label - 1],
                                 radius_mm=radius, contrast=float(contrast[r, c]),
                                 z=float(z[r, c]), confidence=conf))
    if params.lone_extremity_is_injection and lone_injection_site(focal, diffuse, skeleton):
        logger.debug("lesions: lone focus on %s taken for the injection site", focal[0].bone)
        focal = []
    textured = _textured(gin, inside, g1, im.variance, bone_labels, near_finding, focal, px,
                         params)
    diffuse = diffuse | textured
    logger.debug("lesions: %d foci, %d diffuse pixels (%d by texture)", len(focal),
                 int(diffuse.sum()), int(textured.sum()))
    return SkeletalLesions(focal=tuple(focal), diffuse=diffuse, excess=excess,
                           significance=signif, bone_zone=bone_zone)


def _textured(gin: np.ndarray, inside: np.ndarray, g1: np.ndarray, variance: np.ndarray,
              bone_labels: np.ndarray, near_finding: np.ndarray, focal: list[FocalLesion],
              px: float, params: LesionParams) -> np.ndarray:
    """Trunk bone made visible as a pattern by diffuse marrow disease.

    Normal trunk soft tissue is smooth at the scale of a rib or a vertebra; diffuse marrow
    involvement draws the bones themselves. The band-pass power (difference of Gaussians,
    ``focal_mm`` and twice it) averaged over ``texture_window_mm`` is compared with the power
    the noise alone would give, and with the local counts. A trunk bone group (thoracic cage,
    spine, pelvis) is involved when its median passes both; its involved part is then where
    each pixel passes the (lower) pixel thresholds. Findings (10 mm around) and detected foci
    (12 mm around) are left out: an organ's edge or a focus is structure too.
    """
    out = np.zeros(bone_labels.shape, bool)
    names = {n: i + 1 for i, n in enumerate(BONES)}
    trunk = np.isin(bone_labels, [names[n] for g in TRUNK_GROUPS for n in g])
    if not trunk.any():
        return out
    s1 = params.focal_mm / px
    dog = g1 - _masked(gin, inside, 2.0 * s1)  # g1: the focus detector's image at s1
    w = params.texture_window_mm / px
    # the band-pass answers an organ's edge up to twice its sigma away: findings and that
    # margin are left out of the averages, not only out of the pixels judged
    clear = (inside > 0) & ~grow(near_finding, max(1, int(round(params.texture_margin_mm
                                                                 / px))))
    weight = clear.astype(np.float32)
    den = np.maximum(smooth(weight, w), 0.05)
    power = smooth(dog * dog * weight, w) / den
    noise = smooth(variance * weight, w) / den * kernel_power(s1, 2.0 * s1)
    level = smooth(gin * weight, w) / den
    ratio = power / np.maximum(noise, 1e-6)
    amp = np.sqrt(np.maximum(power - noise, 0.0)) / np.maximum(level, 1e-6)
    usable = trunk & clear
    if focal:
        spots = np.zeros(bone_labels.shape, bool)
        for x in focal:
            spots[x.row, x.col] = True
        usable &= ~grow(spots, max(1, int(round(12.0 / px))))
    passing = usable & (ratio > params.texture_pixel_ratio) & (amp > params.texture_pixel_amplitude)
    for group in TRUNK_GROUPS:
        m = usable & np.isin(bone_labels, [names[n] for n in group])
        if m.sum() < 10:
            continue
        if (np.median(ratio[m]) > params.texture_ratio
                and np.median(amp[m]) > params.texture_amplitude):
            out |= passing & m
    if out.any():
        lab, n = ndi.label(out)
        sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:] * px * px
        out = np.isin(lab, np.nonzero(sizes >= params.diffuse_min_area_mm2)[0] + 1)
    return out


def _midface(uptake: NormalUptake, bone_labels: np.ndarray) -> np.ndarray:
    """The nasopharynx: the middle of the face, between the orbits and the chin, where normal
    uptake sits over the facial bones (foci there are not scored)."""
    from mibgscore.uptake.landmarks import trunk_frame

    f = trunk_frame(bone_labels, uptake.images.body)
    out = np.zeros(bone_labels.shape, bool)
    r0, r1 = int(max(0, f.face_top)), int(max(0, f.neck))
    half = 1.5 * f.spine_half_width + 2
    c0, c1 = int(max(0, f.midline - half)), int(f.midline + half + 1)
    if r1 > r0:
        out[r0:r1, c0:c1] = True
    return out


def _bone_specific(lab: np.ndarray, k: int, excess: np.ndarray, bone_zone: np.ndarray,
                   body: np.ndarray, px: float, params: LesionParams) -> bool:
    """Whether an involved region is hotter than the soft tissue around it.

    Marrow disease raises the bone above the soft tissue beside it; an error of the normal
    model (a thick foot, an arm against the trunk) raises both. The ring is taken 8-16 mm
    away, beyond the camera blur.
    """
    near = max(1, int(round(8.0 / px)))
    far = max(near + 1, int(round(16.0 / px)))
    sl = ndi.find_objects((lab == k).astype(np.int8))[0]
    r0, r1 = max(0, sl[0].start - far), min(lab.shape[0], sl[0].stop + far)
    c0, c1 = max(0, sl[1].start - far), min(lab.shape[1], sl[1].stop + far)
    region = lab[r0:r1, c0:c1] == k
    ring = (grow(region, far) & ~grow(region, near) & ~bone_zone[r0:r1, c0:c1]
            & body[r0:r1, c0:c1])
    if ring.sum() < 5:
        return True  # nothing to compare with (skull, pelvis filled with bone)
    ex = excess[r0:r1, c0:c1]
    inside = float(np.median(ex[region]))
    around = float(np.median(ex[ring]))
    return inside - max(around, 0.0) >= params.diffuse_specific * inside


def _masked(gin: np.ndarray, inside: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian mean over the body only (no dip at the body's edge)."""
    den = smooth(inside, sigma)
    return smooth(gin, sigma) / np.maximum(den, 0.05)


def _radius_mm(g1: np.ndarray, expected: np.ndarray, r: int, c: int, px: float,
               size: int) -> float:
    half = size
    r0, r1 = max(0, r - half), min(g1.shape[0], r + half + 1)
    c0, c1 = max(0, c - half), min(g1.shape[1], c + half + 1)
    ex = g1[r0:r1, c0:c1] - expected[r0:r1, c0:c1]
    peak = ex[r - r0, c - c0]
    if peak <= 0:
        return 0.0
    area = float((ex >= 0.5 * peak).sum())
    return math.sqrt(area / math.pi) * px


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 40.0), -40.0)))


def _focal_confidence(z: float, contrast: float, params: LesionParams, *, in_organ: bool,
                      dist_mm: float) -> float:
    """Probability that a focus is a real skeletal lesion, from its margins over the thresholds."""
    need = params.organ_contrast if in_organ else params.focal_contrast
    p = _sigmoid((z - params.focal_z) / 1.5 + 1.0) * _sigmoid((contrast - need) / 0.15 + 1.0)
    if dist_mm > 0.5 * params.bone_tolerance_mm:
        p *= 0.8
    if in_organ:
        p *= 0.8
    return float(min(max(p, 0.0), 1.0))
