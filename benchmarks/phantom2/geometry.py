"""Pixel grid of a phantom and the raster primitives its anatomy is drawn with.

Body coordinates are millimetres: ``x`` towards the patient's LEFT (the viewer's right on an
anterior view), ``y`` from the vertex towards the feet. The grid maps them onto the anterior
view's (row, col) pixels with a rotation and a translation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Window = tuple[slice, slice]


@dataclass(frozen=True)
class Patch:
    """A shape drawn on part of the grid.

    Attributes
    ----------
    win : tuple of slice
        (rows, cols) window of the full grid.
    w : ndarray of shape (rows, cols), float32
        Profile 0-1: the normalised chord through the shape (0 outside).
    t : ndarray of shape (rows, cols), float32, or None
        Position along a tube, 0 at its first point, 1 at its last.
    """

    win: Window
    w: np.ndarray
    t: np.ndarray | None = None
    r: np.ndarray | None = None


class Grid:
    """A view's pixel grid and its pose relative to the body.

    Parameters
    ----------
    shape : tuple of int
        (rows, cols).
    spacing_mm : float
        Square pixel size.
    origin_rc : tuple of float
        (row, col) of the body origin (vertex, mid-line).
    theta_deg : float
        In-plane rotation of the body (positive: feet towards the viewer's left).
    """

    def __init__(self, shape: tuple[int, int], spacing_mm: float, origin_rc: tuple[float, float],
                 theta_deg: float = 0.0) -> None:
        self.shape = shape
        self.s = float(spacing_mm)
        self.r0, self.c0 = origin_rc
        th = math.radians(theta_deg)
        self.cos, self.sin = math.cos(th), math.sin(th)

    def to_pixel(self, x: float, y: float) -> tuple[float, float]:
        """(row, col) of body point (x, y) in mm."""
        col = self.c0 + (x * self.cos - y * self.sin) / self.s
        row = self.r0 + (x * self.sin + y * self.cos) / self.s
        return row, col

    def window(self, xmin: float, xmax: float, ymin: float, ymax: float,
               margin_mm: float = 3.0) -> Window | None:
        """Pixel window covering a body-coordinate box, or None when it is off the grid."""
        xs = (xmin - margin_mm, xmax + margin_mm)
        ys = (ymin - margin_mm, ymax + margin_mm)
        pts = [self.to_pixel(x, y) for x in xs for y in ys]
        rows = [p[0] for p in pts]
        cols = [p[1] for p in pts]
        r0 = max(0, int(math.floor(min(rows))))
        r1 = min(self.shape[0], int(math.ceil(max(rows))) + 1)
        c0 = max(0, int(math.floor(min(cols))))
        c1 = min(self.shape[1], int(math.ceil(max(cols))) + 1)
        if r1 <= r0 or c1 <= c0:
            return None
        return slice(r0, r1), slice(c0, c1)

    def coords(self, win: Window) -> tuple[np.ndarray, np.ndarray]:
        """Body coordinates (x, y) in mm of the pixel centres of ``win``."""
        rows = np.arange(win[0].start, win[0].stop, dtype=np.float32)[:, None] - self.r0
        cols = np.arange(win[1].start, win[1].stop, dtype=np.float32)[None, :] - self.c0
        x = (cols * self.cos + rows * self.sin) * self.s
        y = (-cols * self.sin + rows * self.cos) * self.s
        return x, y


def ellipse(grid: Grid, cx: float, cy: float, a: float, b: float, angle_deg: float = 0.0,
            power: float = 2.0) -> Patch | None:
    """Filled (super)ellipse with semi-axes ``a`` (along x) and ``b`` (along y), in mm."""
    r = max(a, b)
    win = grid.window(cx - r, cx + r, cy - r, cy + r)
    if win is None:
        return None
    x, y = grid.coords(win)
    ca, sa = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    u = ((x - cx) * ca + (y - cy) * sa) / a
    v = (-(x - cx) * sa + (y - cy) * ca) / b
    rho = np.abs(u) ** power + np.abs(v) ** power
    w = np.sqrt(np.clip(1.0 - rho, 0.0, 1.0)).astype(np.float32)
    return Patch(win, w)


def tube(grid: Grid, points: np.ndarray, radii: np.ndarray) -> Patch | None:
    """A tube along a polyline whose radius varies linearly between its vertices.

    Parameters
    ----------
    points : ndarray of shape (n, 2)
        Vertices (x, y) in mm.
    radii : ndarray of shape (n,)
        Radius in mm at each vertex.

    Returns
    -------
    Patch or None
        ``w`` is the circular chord profile, ``t`` the arc-length position 0-1, ``r`` the
        local radius in mm.
    """
    points = np.asarray(points, dtype=np.float64)
    radii = np.asarray(radii, dtype=np.float64)
    rmax = float(radii.max())
    win = grid.window(points[:, 0].min() - rmax, points[:, 0].max() + rmax,
                      points[:, 1].min() - rmax, points[:, 1].max() + rmax)
    if win is None:
        return None
    x, y = grid.coords(win)
    seg = np.diff(points, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(lengths)])
    total = max(cum[-1], 1e-6)
    best = np.zeros(x.shape, np.float32)
    tpos = np.zeros(x.shape, np.float32)
    rad = np.zeros(x.shape, np.float32)
    for i in range(len(seg)):
        (ax, ay), (dx, dy) = points[i], seg[i]
        ll = max(lengths[i] ** 2, 1e-9)
        u = np.clip(((x - ax) * dx + (y - ay) * dy) / ll, 0.0, 1.0)
        d = np.hypot(x - (ax + u * dx), y - (ay + u * dy))
        r = radii[i] + (radii[i + 1] - radii[i]) * u
        w = np.sqrt(np.clip(1.0 - (d / r) ** 2, 0.0, 1.0))
        better = w > best
        best[better] = w[better]
        tpos[better] = ((cum[i] + u * lengths[i]) / total)[better]
        rad[better] = r[better]
    return Patch(win, best, tpos, rad)


def polygon(grid: Grid, vertices: np.ndarray) -> Patch | None:
    """Filled polygon (vertices (x, y) in mm); profile 1 inside."""
    from matplotlib.path import Path

    v = np.asarray(vertices, dtype=np.float64)
    win = grid.window(v[:, 0].min(), v[:, 0].max(), v[:, 1].min(), v[:, 1].max())
    if win is None:
        return None
    x, y = grid.coords(win)
    inside = Path(v).contains_points(np.column_stack([x.ravel(), y.ravel()]))
    return Patch(win, inside.reshape(x.shape).astype(np.float32))


def sector(grid: Grid, cx: float, cy: float, r_in: float, r_out: float, ang0_deg: float,
           ang1_deg: float) -> Patch | None:
    """Fan (annular sector) centred at (cx, cy); angles from +x towards +y (downwards)."""
    win = grid.window(cx - r_out, cx + r_out, cy - r_out, cy + r_out)
    if win is None:
        return None
    x, y = grid.coords(win)
    rr = np.hypot(x - cx, y - cy)
    ang = np.degrees(np.arctan2(y - cy, x - cx))
    lo, hi = min(ang0_deg, ang1_deg), max(ang0_deg, ang1_deg)
    inside = (rr >= r_in) & (rr <= r_out) & (((ang - lo) % 360.0) <= (hi - lo))
    edge = np.clip((r_out - rr) / max(0.15 * (r_out - r_in), 1e-3), 0.0, 1.0)
    return Patch(win, (inside * np.sqrt(edge)).astype(np.float32))


def arc_points(cx: float, cy: float, ax: float, ay: float, ang0_deg: float, ang1_deg: float,
               n: int = 10) -> np.ndarray:
    """Points of an elliptical arc (angles from +x towards +y), shape (n, 2)."""
    a = np.radians(np.linspace(ang0_deg, ang1_deg, n))
    return np.column_stack([cx + ax * np.cos(a), cy + ay * np.sin(a)])


def bezier(p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float],
           n: int = 8) -> np.ndarray:
    """Quadratic Bezier curve from p0 to p2 pulled towards p1, shape (n, 2)."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    a, b, c = (np.asarray(p, dtype=np.float64) for p in (p0, p1, p2))
    return (1 - t) ** 2 * a + 2 * (1 - t) * t * b + t**2 * c


def paste(full: np.ndarray, patch: Patch, values: np.ndarray, mode: str = "add") -> None:
    """Add (or take the maximum of) ``values`` into ``full`` on the patch window."""
    if mode == "add":
        full[patch.win] += values
    else:
        np.maximum(full[patch.win], values, out=full[patch.win])
