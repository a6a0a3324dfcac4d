"""Stage 3: recognise normal uptake (organs, glands, brown fat, injection site) and
soft-tissue tumour, so that none of it is scored as bone.

Hot regions are found against a robust soft-tissue level. Large organs are looked for in the
zone where anatomy puts them (relative to the fitted trunk landmarks) and must look like organs
(large, compact, not a stripe along the spine); the rest is labelled by place, size and shape.
What is not explained stays for the lesion stage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage as ndi

from mibgscore.anatomy.bones import BONES, near_injection_site
from mibgscore.anatomy.types import WorkingSkeleton
from mibgscore.uptake.images import (
    grow,
    kernel_power,
    smooth,
    soft_tissue_level,
)
from mibgscore.uptake.landmarks import Frame, trunk_frame
from mibgscore.uptake.types import NormalUptake, UptakeFinding, ViewImages, WorkingViews

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UptakeParams:
    """Options of the normal-uptake stage.

    Attributes
    ----------
    smooth_mm : float
        Gaussian sigma (mm) of the image in which hot regions are sought.
    hot_ratio : float
        A pixel is hot when its counts exceed the soft-tissue level by this share (0.6 = 60 %).
    organ_ratio : float
        Smaller share that is enough inside the zone where anatomy puts an organ.
    hot_z : float
        ... and by this many noise standard deviations.
    tumour_min_size, tumour_min_peak : float
        A soft-tissue tumour is at least this share of the trunk width across (as the side of
        a square of its area) and this many times the body's median counts at its peak.
    """

    smooth_mm: float = 4.0
    hot_ratio: float = 0.6
    organ_ratio: float = 0.3
    hot_z: float = 4.0
    tumour_min_size: float = 0.25
    tumour_min_peak: float = 2.0


@dataclass(frozen=True)
class BackgroundParams:
    """Options of the model of a normal scan's counts (:func:`expected_counts`).

    Attributes
    ----------
    organ_surface_mm : float
        Gaussian sigma (mm) of the organ surface used as the expected counts inside organs.
    bone_margin_mm : float
        The fitted skeleton is grown by this much before soft tissue around it is sampled.
    spill_mm, spill_share : float
        Gaussian sigma (mm) and weight of the counts that hot findings spill around them,
        added to the expected counts outside the findings.
    level_window_mm : tuple of float
        Window (rows, cols) in mm over which the soft-tissue level is taken (wide, so that
        diffuse disease of large bones stands out).
    """

    organ_surface_mm: float = 7.0
    bone_margin_mm: float = 3.0
    spill_mm: float = 12.0
    spill_share: float = 1.0
    level_window_mm: tuple[float, float] = (80.0, 140.0)


def find_normal_uptake(views: WorkingViews, skeleton: WorkingSkeleton, *,
                       params: UptakeParams = UptakeParams()) -> NormalUptake:
    """Find normal uptake and soft-tissue tumour on a scan.

    Parameters
    ----------
    views : WorkingViews
        Registered views on the working grid and their combination
        (:func:`mibgscore.uptake.images.working_views`).
    skeleton : WorkingSkeleton
        The fitted skeleton on the same grid.
    params : UptakeParams
        Options.

    Returns
    -------
    NormalUptake
        Labelled findings and their union mask; ``expected`` is the rough soft-tissue level
        against which organs were found (a lesion detector may refine it with
        :func:`expected_counts`).
    """
    images = views.images
    bone_labels = skeleton.labels
    g = images.combined
    px = float(np.mean(images.spacing_mm))
    frame = trunk_frame(bone_labels, images.body)
    # organs can be larger than the lesion-scale window: look for them against a window as
    # wide as the trunk
    trunk_mm = 2.0 * frame.trunk_half_width * px
    soft0 = soft_tissue_level(images, np.zeros_like(images.body),
                              window_mm=float(np.clip(trunk_mm, 80.0, 260.0)), percentile=30.0)
    sigma = params.smooth_mm / px
    gh = smooth(g, sigma)
    sd = np.sqrt(images.variance * kernel_power(sigma))
    signif = gh - soft0 > params.hot_z * sd
    hot = images.body & (gh > soft0 * (1 + params.hot_ratio)) & signif
    # where anatomy puts an organ, a weaker excess is enough to call it that organ
    warm = images.body & (gh > soft0 * (1 + params.organ_ratio)) & signif
    bone = grow(bone_labels > 0, max(1, int(round(3.0 / px))))
    ctx = _Context(images, frame, gh, hot, bone, px, views.anterior, views.posterior, warm,
                   _nearest_bone(skeleton))

    findings: list[UptakeFinding] = []
    taken = np.zeros_like(hot)
    basins = _basins(gh, warm | hot, px)
    trunk = _trunk_pixels(ctx)
    for label, zone, min_area, keep in sorted(_organ_zones(ctx),
                                              key=lambda z: ORGAN_ORDER.index(z[0])):
        # each hot basin is one organ at most: the heart on the liver's dome is its own
        found = _organ_in_zone(ctx, label, zone & trunk & ~taken, min_area, keep, basins)
        for f in found:
            taken |= f.mask
        findings.extend(found)
    findings.extend(_other_findings(ctx, hot & ~taken, params))

    mask = np.zeros_like(hot)
    for f in findings:
        mask |= f.mask
    logger.debug("normal uptake: %s", ", ".join(f.label for f in findings) or "none")
    return NormalUptake(findings=tuple(findings), mask=mask,
                        expected=soft0.astype(np.float32), images=images, level=None)


def expected_counts(uptake: NormalUptake, bone_labels: np.ndarray, *,
                    params: BackgroundParams = BackgroundParams()) -> NormalUptake:
    """``uptake`` with the counts a normal scan would show at each pixel (``expected``) and
    the soft-tissue level at full body thickness (``level``).

    Bone is invisible on a normal scan: the level of soft tissue is read off the non-bone,
    non-finding middle of each body part over a wide window and drawn back through the
    thickness profile; inside findings the organ's own smoothed surface is expected.

    Parameters
    ----------
    uptake : NormalUptake
        From :func:`find_normal_uptake`.
    bone_labels : ndarray of shape (rows, cols), int
        Fitted bone labels on the same (working) grid.
    params : BackgroundParams
    """
    images, mask = uptake.images, uptake.mask
    g = images.combined
    px = float(np.mean(images.spacing_mm))
    frame = trunk_frame(bone_labels, images.body)
    n_grow = max(1, int(round(4.0 / px)))
    keep_out = grow(bone_labels > 0, max(1, int(round(
        params.bone_margin_mm / px)))) | grow(mask, n_grow)
    soft, level = soft_tissue_level(images, keep_out, window_mm=params.level_window_mm,
                                    percentile=50.0, with_level=True)
    # the head is nearly all bone, and its normal look (scalp rim, cold brain) is its own:
    # there, the level is taken locally
    # elsewhere the local level (a low percentile over a few centimetres) is a floor: it
    # follows what the thickness model misses (arms against the trunk, feet, shoulders)
    local = soft_tissue_level(images, grow(mask, n_grow))
    head = (np.arange(mask.shape[0]) < frame.neck).astype(np.float32)
    w = ndi.gaussian_filter1d(head, 10.0 / px)[:, None]
    soft = (w * local + (1.0 - w) * np.maximum(soft, local)).astype(np.float32)
    # hot organs spill counts around them (camera blur tails, scatter, septal penetration)
    spill = smooth(np.where(mask, np.maximum(g - soft, 0.0), 0.0), params.spill_mm / px)
    soft = (soft + params.spill_share * np.where(mask, 0.0, spill)).astype(np.float32)
    surface = smooth(g, params.organ_surface_mm / px)
    expected = np.where(mask, np.maximum(soft, surface), soft).astype(np.float32)
    return replace(uptake, expected=expected, level=level)


@dataclass
class _Context:
    images: ViewImages
    frame: Frame
    gh: np.ndarray
    hot: np.ndarray
    bone: np.ndarray
    px: float
    anterior: np.ndarray | None
    posterior: np.ndarray | None
    warm: np.ndarray | None = None
    nearest_bone: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.gh.shape

    def box(self, r0: float, r1: float, c0: float, c1: float) -> np.ndarray:
        z = np.zeros(self.shape, bool)
        rows, cols = self.shape
        a, b = int(max(0, round(r0))), int(min(rows, round(r1)))
        c, d = int(max(0, round(c0))), int(min(cols, round(c1)))
        if b > a and d > c:
            z[a:b, c:d] = True
        return z

    def finding(self, label: str, mask: np.ndarray) -> UptakeFinding:
        vals = np.where(mask, self.gh, -np.inf)
        r, c = np.unravel_index(int(np.argmax(vals)), vals.shape)
        frac = None
        if self.anterior is not None and self.posterior is not None:
            a = float(self.anterior[mask].sum())
            p = float(self.posterior[mask].sum())
            frac = a / (a + p) if a + p > 0 else None
        return UptakeFinding(label=label, row=int(r), col=int(c), mask=mask,
                             area_mm2=float(mask.sum()) * self.images.spacing_mm[0]
                             * self.images.spacing_mm[1],
                             peak_ratio=float(self.gh[r, c]) / self.images.reference_counts,
                             anterior_fraction=frac)


def _nearest_bone(skeleton: WorkingSkeleton) -> tuple[np.ndarray, np.ndarray] | None:
    """Label and long-bone position of the nearest fitted bone at each pixel (None without a
    skeleton)."""
    if not (skeleton.labels > 0).any():
        return None
    _, idx = skeleton.nearest
    return skeleton.labels[idx], skeleton.position[idx]


ORGAN_ORDER = ("liver", "spleen", "heart", "bladder", "kidney", "salivary_glands")
"""Organs are claimed in this order (largest and hottest first)."""

SEPARATE_ORGANS = frozenset({"heart", "liver", "spleen"})
"""Organs told apart by their own peak where their uptake touches."""


def _organ_zones(ctx: _Context) -> list[tuple[str, np.ndarray, float, int]]:
    """(label, zone, minimum area in mm^2, how many regions to keep) for the organs."""
    f = ctx.frame
    w = f.trunk_half_width  # pixels
    th = max(f.thorax_bottom - f.thorax_top, 10.0)
    ab = max(f.pelvis_top - f.thorax_bottom, 10.0)
    pv = max(f.pelvis_bottom - f.pelvis_top, 10.0)
    m = f.midline
    wmm = w * ctx.px
    big = (0.22 * wmm) ** 2
    return [
        ("heart", ctx.box(f.thorax_top + 0.3 * th, f.thorax_bottom + 0.05 * th,
                          m - 0.35 * w, m + 0.95 * w), 0.4 * big, 1),
        ("liver", ctx.box(f.thorax_top + 0.45 * th, f.thorax_bottom + 0.6 * ab,
                          m - 1.3 * w, m + 0.45 * w), 0.6 * big, 1),
        ("spleen", ctx.box(f.thorax_top + 0.55 * th, f.thorax_bottom + 0.45 * ab,
                           m + 0.3 * w, m + 1.3 * w), 0.25 * big, 1),
        ("bladder", ctx.box(f.pelvis_top + 0.3 * pv, f.pelvis_bottom + 0.25 * pv,
                            m - 0.45 * w, m + 0.45 * w), 0.35 * big, 1),
        ("kidney", ctx.box(f.thorax_bottom - 0.15 * th, f.thorax_bottom + 0.8 * ab,
                           m - 0.9 * w, m + 0.9 * w), 0.2 * big, 2),
        ("salivary_glands", ctx.box(f.face_top, f.neck + 0.06 * th, m - 0.9 * w, m + 0.9 * w),
         0.02 * big, 6),
    ]


ARM_BONES = frozenset({"humerus_right", "humerus_left", "forearm_right", "forearm_left",
                       "hand_right", "hand_left"})


def _trunk_pixels(ctx: _Context) -> np.ndarray:
    """Pixels whose nearest fitted bone is not an arm's: organs lie in the trunk, and an
    arm held against it is not the heart or the spleen."""
    if ctx.nearest_bone is None:
        return np.ones(ctx.shape, bool)
    arm = np.zeros(len(BONES) + 1, bool)
    arm[[BONES.index(b) + 1 for b in ARM_BONES]] = True
    return ~arm[ctx.nearest_bone[0]]


BASIN_MM = 30.0
"""Peaks of uptake closer than this belong to one basin (one organ)."""


def _basins(gh: np.ndarray, mask: np.ndarray, px: float) -> np.ndarray:
    """Watershed basins of the smoothed counts inside ``mask``, one per peak at least
    ``BASIN_MM`` from a hotter one (int32 labels, 0 outside): touching organs apart."""
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    if not mask.any():
        return np.zeros(mask.shape, np.int32)
    peaks = peak_local_max(np.where(mask, gh, 0.0), min_distance=max(1, int(BASIN_MM / px)),
                           labels=mask.astype(np.int32), exclude_border=False)
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return watershed(-gh, markers, mask=mask).astype(np.int32)


def _organ_in_zone(ctx: _Context, label: str, zone: np.ndarray, min_area: float,
                   keep: int, basins: np.ndarray | None = None) -> list[UptakeFinding]:
    cand = (ctx.warm if ctx.warm is not None and label != "salivary_glands" else ctx.hot) & zone
    if not cand.any():
        return []
    if basins is not None and label in SEPARATE_ORGANS:
        # connected candidates split along the basins' borders: one region per basin
        lab, n = np.where(cand, basins, 0), int(basins.max())
    else:
        lab, n = ndi.label(cand)
    area_px = min_area / (ctx.images.spacing_mm[0] * ctx.images.spacing_mm[1])
    sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    order = np.argsort(sizes)[::-1]
    f = ctx.frame
    out = []
    for i in order:
        if sizes[i] < area_px or len(out) >= keep:
            break
        region = lab == i + 1
        rows, cols = np.nonzero(region)
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        height, width = r1 - r0, c1 - c0
        on_spine = np.abs(cols - f.midline) <= 1.3 * f.spine_half_width
        if label != "salivary_glands":
            # an organ is compact: not a vertical stripe confined to the spine, nor a thin line
            if on_spine.mean() > 0.6 or height > 3.5 * max(width, 1):
                continue
            if region.sum() / max(height * width, 1) < 0.3:
                continue
        if label == "bladder" and abs(float(np.mean(cols)) - f.midline) > 0.2 * f.trunk_half_width:
            continue  # the bladder lies on the midline; a hot spot beside it is the pelvis's
        name = label
        if label == "salivary_glands":
            centre_off = abs(float(np.mean(cols)) - f.midline)
            if centre_off < 0.6 * f.spine_half_width + 2 and width < 3 * f.spine_half_width:
                name = "nasopharynx" if np.mean(rows) < f.neck - 0.02 * (f.neck - f.head_top) \
                    else "thyroid"
        if label in ("liver", "spleen", "kidney"):
            # these organs lie beside the spine: what overlies the spine is the spine's
            spine_band = np.abs(np.arange(region.shape[1]) - f.midline) <= (
                1.3 * f.spine_half_width + 1)
            region = region & ~spine_band[None, :]
            if not region.any():
                continue
        if label == "kidney":
            full = ctx.finding(label, region)
            if full.anterior_fraction is not None and full.anterior_fraction > 0.5:
                continue  # kidneys are posterior
        out.append(ctx.finding(name, region))
    return out


def _other_findings(ctx: _Context, hot: np.ndarray, params: UptakeParams
                    ) -> list[UptakeFinding]:
    f = ctx.frame
    lab, n = ndi.label(hot)
    if n == 0:
        return []
    out = []
    w = f.trunk_half_width
    spx = ctx.images.spacing_mm[0] * ctx.images.spacing_mm[1]
    wmm = w * ctx.px
    for i, sl in enumerate(ndi.find_objects(lab)):
        region = lab[sl] == i + 1
        area = float(region.sum()) * spx
        rows, cols = np.nonzero(region)
        rows = rows + sl[0].start
        cols = cols + sl[1].start
        rc, cc = float(rows.mean()), float(cols.mean())
        full = np.zeros(ctx.shape, bool)
        full[sl] = region
        on_bone = float(ctx.bone[full].mean())
        peak = float(ctx.gh[full].max()) / ctx.images.reference_counts
        lateral = abs(cc - f.midline)
        in_trunk_rows = f.neck <= rc <= f.pelvis_bottom
        height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
        if ctx.nearest_bone is not None:
            pr, pc = np.unravel_index(int(np.argmax(np.where(full, ctx.gh, -np.inf))), full.shape)
            near = int(ctx.nearest_bone[0][pr, pc])
            extremity = near > 0 and near_injection_site(BONES[near - 1],
                                                         float(ctx.nearest_bone[1][pr, pc]))
        else:
            extremity = not in_trunk_rows or lateral > 1.1 * w
        small = area < (0.25 * wmm) ** 2
        if extremity and small and (peak > 4.0 or (on_bone < 0.3 and peak > 2.5)):
            out.append(ctx.finding("injection_site", full))
        elif f.neck <= rc <= f.thorax_top + 0.25 * (f.thorax_bottom - f.thorax_top) \
                and lateral > 1.5 * f.spine_half_width and on_bone < 0.5:
            out.append(ctx.finding("brown_fat", full))
        elif f.thorax_bottom - 0.3 * (f.thorax_bottom - f.thorax_top) <= rc <= f.pelvis_bottom \
                and lateral < 0.9 * w and area > (params.tumour_min_size * wmm) ** 2 \
                and peak > params.tumour_min_peak \
                and width > 2.2 * f.spine_half_width and height < 3 * width \
                and region.sum() / max(height * width, 1) > 0.45:
            out.append(ctx.finding("soft_tissue_tumour", full))
        elif (f.pelvis_top <= rc <= f.pelvis_bottom + 1.5 * (f.pelvis_bottom - f.pelvis_top)
              and on_bone < 0.6 and area > (0.12 * wmm) ** 2 and height < 2.5 * width
              and region.sum() / max(height * width, 1) > 0.5):
            out.append(ctx.finding("urine", full))
        elif f.thorax_bottom <= rc <= f.pelvis_bottom and lateral < w and on_bone < 0.35:
            out.append(ctx.finding("bowel", full))
    return out
