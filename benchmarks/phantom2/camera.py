"""Planar gamma camera: attenuation by depth, depth-dependent collimator blur, scatter,
septal penetration and Poisson noise, for the anterior and the (mirrored) posterior view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from .physiology import Source


@dataclass(frozen=True)
class Camera:
    """Acquisition settings of one phantom scan.

    Attributes
    ----------
    collimator : str
        ``"LEHR"`` (septal penetration at 159 keV) or ``"ME"``.
    mu_per_cm : float
        Effective (broad-beam) linear attenuation coefficient of soft tissue.
    gap_mm : tuple of float
        Air gap between the skin and the (anterior, posterior) detector.
    scatter_fraction : float
        Scatter counts relative to primary counts.
    penetration : float
        Share of counts in the septal-penetration star (0 for ME collimators).
    counts : float
        Expected total counts of the anterior view.
    """

    collimator: str
    mu_per_cm: float
    gap_mm: tuple[float, float]
    scatter_fraction: float
    penetration: float
    counts: float

    def fwhm_mm(self, distance_mm: float) -> float:
        """System resolution at ``distance_mm`` from the collimator face."""
        if self.collimator == "ME":
            return math.hypot(3.8, 2.6 + 0.085 * distance_mm)
        return math.hypot(3.6, 1.6 + 0.068 * distance_mm)


def sample_camera(rng: np.random.Generator) -> Camera:
    """Draw camera settings: mostly low-energy high-resolution collimators."""
    coll = "LEHR" if rng.random() < 0.65 else "ME"
    return Camera(
        collimator=coll, mu_per_cm=float(rng.uniform(0.11, 0.14)),
        gap_mm=(float(rng.uniform(15, 70)), float(rng.uniform(12, 35))),
        scatter_fraction=float(rng.uniform(0.15, 0.4)),
        penetration=float(rng.uniform(0.02, 0.07)) if coll == "LEHR" else 0.0,
        counts=float(np.exp(rng.uniform(np.log(2e5), np.log(4e6)))),
    )


_DEPTH_BINS_MM = np.array([0, 25, 50, 75, 100, 130, 165, 210, 270, 1e9])


def project(sources: list[Source], thickness: np.ndarray, spacing_mm: float, camera: Camera,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """Image the sources on both detectors.

    Parameters
    ----------
    sources : list of Source
    thickness : ndarray of shape (rows, cols), float32
        Body thickness in mm.
    spacing_mm : float
    camera : Camera
    rng : Generator
        For the Poisson noise.

    Returns
    -------
    anterior, posterior : ndarray of shape (rows, cols), float32
        Counts; the posterior view is mirrored into the anterior's orientation (patient's
        right on the viewer's left), i.e. it is simply drawn on the anterior's grid.
    scale : float
        Counts per emission unit.
    """
    shape = thickness.shape
    expected = []
    for view in ("anterior", "posterior"):
        layers = np.zeros((len(_DEPTH_BINS_MM) - 1, *shape), np.float32)
        gap = camera.gap_mm[0 if view == "anterior" else 1]
        for s in sources:
            t = thickness[s.win]
            frac = s.depth if view == "anterior" else 1.0 - s.depth
            path = frac * t
            att = np.exp(-camera.mu_per_cm * 0.1 * path)
            em = s.emission * att
            on = s.emission > 0
            z = gap + (float(np.median(path[on])) if on.any() else 0.0)
            k = int(np.searchsorted(_DEPTH_BINS_MM, z, side="right") - 1)
            layers[k][s.win] += em
        img = np.zeros(shape, np.float32)
        for k in range(len(layers)):
            if not layers[k].any():
                continue
            z = 0.5 * (_DEPTH_BINS_MM[k] + min(_DEPTH_BINS_MM[k + 1], 400.0))
            sigma = camera.fwhm_mm(z) / 2.3548 / spacing_mm
            img += ndimage.gaussian_filter(layers[k], sigma, mode="constant")
        expected.append(img)
    totals = []
    for prim in expected:
        sc = (0.6 * ndimage.gaussian_filter(prim, 18.0 / spacing_mm, mode="constant")
              + 0.4 * ndimage.gaussian_filter(prim, 45.0 / spacing_mm, mode="constant"))
        total = prim + camera.scatter_fraction * sc
        if camera.penetration > 0:
            total += camera.penetration * _star(prim, spacing_mm)
        totals.append(np.clip(total, 0, None))
    scale = camera.counts / max(float(totals[0].sum()), 1e-9)
    out = [rng.poisson(t * scale).astype(np.float32) for t in totals]
    return out[0], out[1], scale


def _star(img: np.ndarray, spacing_mm: float) -> np.ndarray:
    """Septal penetration: six spokes (hexagonal holes) decaying with distance, unit sum."""
    half = int(min(140.0 / spacing_mm, 80))
    yy, xx = np.mgrid[-half: half + 1, -half: half + 1].astype(np.float32)
    k = np.zeros_like(xx)
    r = np.hypot(xx, yy) * spacing_mm
    for ang in (0.0, 60.0, 120.0):
        a = math.radians(ang + 90.0)
        dist = np.abs(xx * math.sin(a) - yy * math.cos(a)) * spacing_mm
        k += np.exp(-(dist / 1.5) ** 2) * np.exp(-r / 45.0)
    k[half, half] = 0
    k /= k.sum()
    return signal.fftconvolve(img, k, mode="same").clip(0)
