"""The gamma camera: attenuation, depth-dependent blur, septal penetration, scatter, noise.

Both detectors see the same depth-layered activity (``biodistribution.Activity``). The anterior
detector sees a layer at depth ``f`` through ``f * T`` of tissue and at a distance
``gap + f * T_ref``; the posterior detector through ``(1 - f) * T``. The posterior view is
produced directly in the anterior's orientation (patient's right on the viewer's left), as the
reader returns it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from mibgscore.simulate.biodistribution import DEPTHS, Activity

INTRINSIC_FWHM_MM = 3.8
"""Intrinsic resolution of the detector at 159 keV."""


@dataclass(frozen=True)
class Camera:
    """One acquisition's camera settings.

    Attributes
    ----------
    collimator : str
        ``"LEHR"`` or ``"MEGP"``.
    face_fwhm_mm, fwhm_slope : float
        Collimator resolution: ``face + slope * distance`` (combined with the intrinsic one).
    gap_anterior_mm, gap_posterior_mm : float
        Distance from each detector to the body surface.
    mu_per_cm : float
        Effective linear attenuation coefficient of soft tissue at 159 keV.
    scatter_fraction, scatter_fwhm_mm : float
        Share and spread of scattered photons accepted in the window.
    star_fraction, star_length_mm, star_angle_deg : float
        Septal penetration (hexagonal star around hot structures).
    posterior_sensitivity : float
        Posterior to anterior detector sensitivity.
    counts_anterior : float
        Expected total counts of the anterior view.
    background_counts : float
        Room background per pixel.
    """

    collimator: str
    face_fwhm_mm: float
    fwhm_slope: float
    gap_anterior_mm: float
    gap_posterior_mm: float
    mu_per_cm: float
    scatter_fraction: float
    scatter_fwhm_mm: float
    star_fraction: float
    star_length_mm: float
    star_angle_deg: float
    posterior_sensitivity: float
    counts_anterior: float
    background_counts: float

    def fwhm_mm(self, distance_mm: float) -> float:
        """System resolution (FWHM, mm) at ``distance_mm`` from the collimator face."""
        geo = self.face_fwhm_mm + self.fwhm_slope * distance_mm
        return math.hypot(INTRINSIC_FWHM_MM, geo)

    def lesion_fwhm_mm(self, depth: float, thickness_cm: float) -> float:
        """FWHM of the sharper view for a source at ``depth`` (0-1) of ``thickness_cm``."""
        t = 10.0 * thickness_cm
        return min(self.fwhm_mm(self.gap_anterior_mm + depth * t),
                   self.fwhm_mm(self.gap_posterior_mm + (1.0 - depth) * t))


def sample_camera(rng: np.random.Generator, *, lehr_probability: float,
                  counts: tuple[float, float]) -> Camera:
    """Draw a camera and acquisition."""
    lehr = rng.random() < lehr_probability
    lo, hi = counts
    return Camera(
        collimator="LEHR" if lehr else "MEGP",
        face_fwhm_mm=float(rng.uniform(1.0, 2.5) if lehr else rng.uniform(2.0, 4.0)),
        fwhm_slope=float(rng.uniform(0.045, 0.065) if lehr else rng.uniform(0.07, 0.095)),
        gap_anterior_mm=float(rng.uniform(15.0, 80.0)),
        gap_posterior_mm=float(rng.uniform(8.0, 30.0)),
        mu_per_cm=float(rng.uniform(0.11, 0.15)),
        scatter_fraction=float(rng.uniform(0.05, 0.4)),
        scatter_fwhm_mm=float(rng.uniform(25.0, 110.0)),
        star_fraction=float(rng.uniform(0.06, 0.2) if lehr else rng.uniform(0.0, 0.01)),
        star_length_mm=float(rng.uniform(60.0, 140.0)),
        star_angle_deg=float(rng.choice([0.0, 30.0]) + rng.uniform(-3, 3)),
        posterior_sensitivity=float(rng.uniform(0.93, 1.07)),
        counts_anterior=float(math.exp(rng.uniform(math.log(lo), math.log(hi)))),
        background_counts=float(rng.uniform(0.0, 0.15)),
    )


def star_kernel(length_px: float, angle_deg: float, half: int | None = None) -> np.ndarray:
    """Six-spoke penetration kernel, sum 1 (spokes at ``angle_deg`` + k * 60 degrees).

    ``half`` sets the kernel's half-size (at least the spoke length).
    """
    n = max(int(math.ceil(length_px)), 3)
    m = max(n, half or 0)
    k = np.zeros((2 * m + 1, 2 * m + 1), dtype=np.float32)
    r = np.arange(1, n + 1, dtype=np.float32)
    w = np.exp(-2.0 * r / n)
    for j in range(6):
        a = math.radians(angle_deg + 60.0 * j)
        rows = np.rint(m + r * math.cos(a)).astype(int)
        cols = np.rint(m + r * math.sin(a)).astype(int)
        np.add.at(k, (rows, cols), w)
    k = ndimage.gaussian_filter(k, 0.6)
    k /= k.sum()
    # half of the penetrating photons form a round halo rather than spokes
    yy, xx = np.mgrid[-m:m + 1, -m:m + 1].astype(np.float32)
    halo = np.exp(-3.0 * np.hypot(yy, xx) / n)
    return (0.5 * k + 0.5 * halo / halo.sum()).astype(np.float32)


def _spread_kernel(camera: Camera, spacing_mm: float) -> np.ndarray:
    """Point-spread of what the blur model leaves out: septal penetration and scatter."""
    sigma = camera.scatter_fwhm_mm / 2.3548 / spacing_mm
    star_len = camera.star_length_mm / spacing_mm
    half = int(math.ceil(max(3.0 * sigma, star_len if camera.star_fraction > 0 else 0.0, 3)))
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1].astype(np.float32)
    scatter = np.exp(-(yy ** 2 + xx ** 2) / (2.0 * sigma ** 2))
    k = camera.scatter_fraction * scatter / scatter.sum()
    k[half, half] += 1.0 - camera.star_fraction
    if camera.star_fraction > 0.0:
        k += camera.star_fraction * star_kernel(star_len, camera.star_angle_deg, half)
    return k.astype(np.float32)


def acquire(act: Activity, thickness_cm: np.ndarray, spacing_mm: float, camera: Camera,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Anterior and posterior count images (float32, integer-valued Poisson counts).

    The posterior view is returned mirrored into the anterior's orientation.
    """
    T = thickness_cm
    inside = T > 0.5 * float(T.max())
    t_ref = 10.0 * float(np.median(T[inside])) if inside.any() else 100.0
    kernel = _spread_kernel(camera, spacing_mm)
    # work on the body's bounding box, padded by the widest spread
    rows, cols = np.nonzero(act.layers.any(axis=0))
    pad = kernel.shape[0] // 2 + 8
    r0, r1 = max(rows.min() - pad, 0), min(rows.max() + pad + 1, T.shape[0])
    c0, c1 = max(cols.min() - pad, 0), min(cols.max() + pad + 1, T.shape[1])
    crop = (slice(r0, r1), slice(c0, c1))
    Tc = T[crop]
    ant = np.zeros(Tc.shape, dtype=np.float32)
    post = np.zeros(Tc.shape, dtype=np.float32)
    mu = camera.mu_per_cm
    for k, f in enumerate(DEPTHS):
        layer = act.layers[k][crop]
        if not layer.any():
            continue
        for out, frac, gap in ((ant, f, camera.gap_anterior_mm),
                               (post, 1.0 - f, camera.gap_posterior_mm)):
            img = layer * np.exp(-mu * frac * Tc)
            sigma = camera.fwhm_mm(gap + frac * t_ref) / 2.3548 / spacing_mm
            out += ndimage.gaussian_filter(img, sigma, mode="constant", truncate=3.0)
    views = []
    for img in (ant, post):
        np.maximum(img, 0.0, out=img)
        total = signal.fftconvolve(img, kernel, mode="same")
        views.append(np.maximum(total, 0.0).astype(np.float32))
    scale = camera.counts_anterior / max(float(views[0].sum()), 1e-9)
    out = []
    for img, sens in ((views[0], 1.0), (views[1], camera.posterior_sensitivity)):
        full = np.full(T.shape, camera.background_counts, dtype=np.float32)
        full[crop] += img * (scale * sens)
        out.append(rng.poisson(full).astype(np.float32))
    return out[0], out[1]
