"""Gamma-camera model: attenuation, depth-dependent collimator blur, scatter, septal penetration.

Each emitting solid is a slab per pixel (chord ``thk`` centred at ``zc``). For each view its
counts are (uniform slab, self-attenuated) times exp(-mu x tissue between the slab and the
skin facing the detector); lungs attenuate at 30 % of soft tissue; the table at 4 %. The
counts go into distance bins (source to collimator face, linear sharing between neighbours),
each bin is blurred with the system FWHM at its distance, FWHM(d) = sqrt(Ri^2 + (c0 + c1 d)^2)
(geometric collimator resolution grows linearly with distance; Cherry, Sorenson & Phelps,
Physics in Nuclear Medicine, ch. 14). Scatter in the photopeak window is an exponential
kernel, the 529 keV emissions of 123I that cross low-energy septa give a broad halo and a
six-spoke star (hexagonal holes) around very hot spots (Dobbeleir et al., EJNM 1999;
Snay et al., Med Phys 2011). Medium-energy collimators: poorer resolution, little penetration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter
from scipy.signal import fftconvolve

F32 = np.float32

COLLIMATORS = {
    # intrinsic FWHM, collimator FWHM = c0 + c1 * d (mm), penetration spokes, halo
    "LEHR": dict(ri=3.7, c0=1.2, c1=0.052, pen=0.07, pen_len=55.0, halo=0.08, halo_sd=55.0),
    "LEGP": dict(ri=3.7, c0=1.8, c1=0.072, pen=0.11, pen_len=65.0, halo=0.12, halo_sd=65.0),
    "LMEGP": dict(ri=3.7, c0=2.0, c1=0.076, pen=0.015, pen_len=50.0, halo=0.04, halo_sd=60.0),
    "MEGP": dict(ri=3.7, c0=2.5, c1=0.086, pen=0.006, pen_len=40.0, halo=0.02, halo_sd=60.0),
}

MU_TISSUE = 0.0125   # /mm, broad-beam soft tissue at 159 keV (narrow beam 0.0145)
LUNG_REL = 0.3
TABLE_TRANSMISSION = 0.96
BINS = np.array([0, 30, 60, 100, 150, 210, 280, 370, 480, 620], dtype=F32)


@dataclass
class Camera:
    manufacturer: str
    model: str
    collimator: str
    contour: bool          # anterior detector follows the body outline
    gap_ant: float         # mm between anterior skin and collimator face
    gap_post: float        # mm between table underside and collimator
    table_mm: float
    scatter_frac: float
    scatter_len: float
    star_angle: float      # degrees
    window: tuple[float, float]

    @property
    def p(self) -> dict:
        return COLLIMATORS[self.collimator]

    def fwhm(self, d):
        p = self.p
        return np.sqrt(p["ri"] ** 2 + (p["c0"] + p["c1"] * np.asarray(d, float)) ** 2)


def draw_camera(rng: np.random.Generator) -> Camera:
    coll = str(rng.choice(list(COLLIMATORS), p=[0.35, 0.15, 0.15, 0.35]))
    vendor = [("Phantom3 Imaging", "Duo WB"), ("Phantom3 Imaging", "Duo WB-S"),
              ("Synthetic Gamma", "SG-2 Whole Body"), ("Open Camera Works", "OCW Dual")]
    man, mod = vendor[int(rng.integers(len(vendor)))]
    contour = bool(rng.random() < 0.65)
    low, high = (143.0, 175.0) if rng.random() < 0.7 else (151.0, 167.0)
    return Camera(man, mod, coll, contour,
                  float(rng.uniform(8, 25) if contour else rng.uniform(25, 60)),
                  float(rng.uniform(3, 12)), float(rng.uniform(8, 15)),
                  float(rng.uniform(0.22, 0.38) * (0.8 if high - low < 20 else 1.0)),
                  float(rng.uniform(14, 24)), float(rng.choice([0.0, 30.0]) + rng.normal(0, 3)),
                  (low, high))


class Projector:
    """Accumulates attenuated counts per distance bin for the anterior and posterior views."""

    def __init__(self, grid, cam: Camera, z_top, z_bot, lung_top, lung_bot):
        self.grid, self.cam = grid, cam
        self.z_top, self.z_bot = z_top, z_bot
        self.lung_top, self.lung_bot = lung_top, lung_bot
        self.off_post = cam.table_mm + cam.gap_post
        row_max = z_top.max(axis=1)
        if cam.contour:
            from scipy.ndimage import maximum_filter1d
            k = max(3, int(60 / grid.sy))
            zd = gaussian_filter(maximum_filter1d(row_max, k), k / 3)
            self.zdet = np.maximum(zd, 0.0) + cam.gap_ant
        else:
            self.zdet = np.full(grid.ny, float(row_max.max()) + cam.gap_ant)
        self.zdet = self.zdet.astype(F32)
        self.acc = np.zeros((2, len(BINS), grid.ny, grid.nx), F32)

    def weights(self, sl, thk, zc):
        """Counts per unit concentration reaching each view, and the source distances."""
        zf = zc + thk / 2
        zb = zc - thk / 2
        zt, zbot = self.z_top[sl], self.z_bot[sl]
        lt, lb = self.lung_top[sl], self.lung_bot[sl]
        pa = np.clip(zt - zf, 0, None) - (1 - LUNG_REL) * np.clip(lt - np.maximum(zf, lb), 0,
                                                                  None)
        pp = np.clip(zb - zbot, 0, None) - (1 - LUNG_REL) * np.clip(np.minimum(zb, lt) - lb, 0,
                                                                    None)
        mt = F32(MU_TISSUE) * thk
        sa = np.where(mt > 1e-3, (1 - np.exp(-mt)) / np.maximum(mt, 1e-6), 1.0)
        base = thk * sa
        wa = base * np.exp(-MU_TISSUE * np.clip(pa, 0, None))
        wp = base * np.exp(-MU_TISSUE * np.clip(pp, 0, None)) * TABLE_TRANSMISSION
        rows = np.arange(sl[0].start, sl[0].stop)
        da = self.zdet[rows][:, None] - zc
        dp = zc + self.off_post
        return wa.astype(F32), wp.astype(F32), da, dp

    def deposit(self, sl, act, wa, wp, da, dp):
        for v, w, d in ((0, wa, da), (1, wp, dp)):
            fi = np.interp(np.clip(d, 0, BINS[-1]), BINS, np.arange(len(BINS), dtype=F32))
            k0 = np.minimum(fi.astype(np.int32), len(BINS) - 2)
            f = (fi - k0).astype(F32)
            val = (w * act).astype(F32)
            for k in np.unique(k0[val > 0]):
                sel = (k0 == k) & (val > 0)
                self.acc[v, k][sl][sel] += val[sel] * (1 - f[sel])
                self.acc[v, k + 1][sl][sel] += val[sel] * f[sel]

    def add(self, sl, thk, zc, act):
        wa, wp, da, dp = self.weights(sl, thk, zc)
        self.deposit(sl, act, wa, wp, da, dp)
        return wa, wp

    def blur(self) -> tuple[np.ndarray, np.ndarray]:
        out = []
        for v in (0, 1):
            img = np.zeros((self.grid.ny, self.grid.nx), F32)
            for k, d in enumerate(BINS):
                a = self.acc[v, k]
                if not a.any():
                    continue
                sd = float(self.cam.fwhm(d)) / 2.3548
                img += gaussian_filter(a, (sd / self.grid.sy, sd / self.grid.sx),
                                       mode="constant", truncate=3.0)
            out.append(img)
        self.acc[:] = 0
        return out[0], out[1]

    def sigma_px(self, d):
        sd = float(self.cam.fwhm(d)) / 2.3548
        return sd / self.grid.sy, sd / self.grid.sx


def spread_kernel(cam: Camera, sy: float, sx: float) -> np.ndarray:
    """Scatter + 529 keV halo + septal-penetration star, as a fraction of the primary counts."""
    p = cam.p
    reach = min(max(4 * p["pen_len"], 3 * p["halo_sd"], 5 * cam.scatter_len), 320.0)
    ny, nx = int(reach / sy), int(reach / sx)
    y = (np.arange(-ny, ny + 1) * sy)[:, None]
    x = (np.arange(-nx, nx + 1) * sx)[None, :]
    r = np.hypot(x, y)
    sc = np.exp(-r / cam.scatter_len)
    k = cam.scatter_frac * sc / sc.sum()
    halo = np.exp(-0.5 * (r / p["halo_sd"]) ** 2)
    k += p["halo"] * halo / halo.sum()
    star = np.zeros_like(r)
    pix = min(sy, sx)
    for j in range(3):
        th = math.radians(cam.star_angle + 60 * j)
        perp = np.abs(-math.sin(th) * x + math.cos(th) * y)
        star += np.where(perp < 0.6 * pix, np.exp(-r / p["pen_len"]), 0.0)
    star[r < 1.5 * pix] = 0
    star = gaussian_filter(star, 0.6)
    k += p["pen"] * star / star.sum()
    return k.astype(F32)


def spread(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return np.clip(fftconvolve(img, kernel, mode="same"), 0, None).astype(F32)


def sphere_patch(proj: Projector, xw: float, yw: float, z: float, radius: float):
    """A uniform sphere at world (xw, yw) and height z, blurred for each view at its distance.
    Returns (slices, anterior, posterior) per unit concentration on the projector's grid."""
    g = proj.grid
    r = int(yw / g.sy)
    row = min(max(r, 0), g.ny - 1)
    da = float(proj.zdet[row] - z)
    dp = float(z + proj.off_post)
    sd = float(proj.cam.fwhm(max(da, dp, 1.0))) / 2.3548
    half = radius + 3.5 * sd + 2 * max(g.sy, g.sx)
    r0 = max(0, int((yw - half) / g.sy))
    r1 = min(g.ny, int((yw + half) / g.sy) + 1)
    c0 = max(0, int((xw - half) / g.sx))
    c1 = min(g.nx, int((xw + half) / g.sx) + 1)
    if r1 <= r0 or c1 <= c0:
        return None
    Y = ((np.arange(r0, r1) + 0.5) * g.sy)[:, None]
    X = ((np.arange(c0, c1) + 0.5) * g.sx)[None, :]
    rho2 = (X - xw) ** 2 + (Y - yw) ** 2
    thk = 2 * np.sqrt(np.clip(radius ** 2 - rho2, 0, None))
    vol = 4 / 3 * math.pi * radius ** 3 / (g.sy * g.sx)
    if thk.sum() <= 0:
        i, j = np.unravel_index(np.argmin(rho2), rho2.shape)
        thk = np.zeros_like(rho2)
        thk[i, j] = vol
    else:
        thk *= vol / thk.sum()
    thk = thk.astype(F32)
    sl = (slice(r0, r1), slice(c0, c1))
    # attenuation of the sphere as a whole: a slab of its full diameter at the centre
    zc = np.full_like(thk, z)
    slab = np.where(thk > 0, F32(2 * radius), 0).astype(F32)
    wa, wp, _, _ = proj.weights(sl, slab, zc)
    wa = np.where(slab > 0, wa / np.maximum(slab, 1e-6), 0) * thk
    wp = np.where(slab > 0, wp / np.maximum(slab, 1e-6), 0) * thk
    sa = proj.sigma_px(da)
    sp = proj.sigma_px(dp)
    fa = gaussian_filter(wa.astype(F32), sa, mode="constant", truncate=3.5)
    fp = gaussian_filter(wp.astype(F32), sp, mode="constant", truncate=3.5)
    return sl, fa, fp
