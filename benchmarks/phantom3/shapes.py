"""Analytic solids projected onto a pixel grid.

Body coordinates, in mm: x lateral (patient's left positive), y from the vertex towards the
feet, z height above the table top (posterior surface near 0, anterior surface up). A solid
evaluated on a window gives, per pixel, its chord along z (``thk``) and the z of the chord's
centre (``zc``). The body lies in the camera field through a rigid placement (``Grid``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

F32 = np.float32


@dataclass(frozen=True)
class Window:
    r0: int
    r1: int
    c0: int
    c1: int
    X: np.ndarray
    Y: np.ndarray

    @property
    def sl(self) -> tuple[slice, slice]:
        return slice(self.r0, self.r1), slice(self.c0, self.c1)


@dataclass(frozen=True)
class Grid:
    """Pixel grid of the camera field and where the body lies in it.

    world(mm) = (cx, cy) + R(angle) @ body(mm); pixel (i, j) has its centre at
    ((j + 0.5) * sx, (i + 0.5) * sy) in world mm.
    """

    ny: int
    nx: int
    sy: float
    sx: float
    cx: float
    cy: float
    angle: float

    def to_world(self, x, y):
        c, s = math.cos(self.angle), math.sin(self.angle)
        return self.cx + c * x - s * y, self.cy + s * x + c * y

    def to_pixel(self, x, y):
        """(row, col) float pixel coordinates of body points."""
        xw, yw = self.to_world(np.asarray(x, float), np.asarray(y, float))
        return yw / self.sy - 0.5, xw / self.sx - 0.5

    def coords(self, r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
        yw = ((np.arange(r0, r1, dtype=F32) + F32(0.5)) * F32(self.sy))[:, None]
        xw = ((np.arange(c0, c1, dtype=F32) + F32(0.5)) * F32(self.sx))[None, :]
        c, s = F32(math.cos(self.angle)), F32(math.sin(self.angle))
        dx = xw - F32(self.cx)
        dy = yw - F32(self.cy)
        return c * dx + s * dy, -s * dx + c * dy

    def window(self, box: tuple[float, float, float, float]) -> Window | None:
        xmin, xmax, ymin, ymax = box
        xs = np.array([xmin, xmax, xmin, xmax])
        ys = np.array([ymin, ymin, ymax, ymax])
        rr, cc = self.to_pixel(xs, ys)
        r0 = max(0, int(math.floor(rr.min())) - 1)
        r1 = min(self.ny, int(math.ceil(rr.max())) + 2)
        c0 = max(0, int(math.floor(cc.min())) - 1)
        c1 = min(self.nx, int(math.ceil(cc.max())) + 2)
        if r1 <= r0 or c1 <= c0:
            return None
        X, Y = self.coords(r0, r1, c0, c1)
        return Window(r0, r1, c0, c1, X, Y)


class Shape:
    """A solid: ``box()`` in body mm, ``eval(X, Y) -> (thk, zc)``."""

    def box(self) -> tuple[float, float, float, float]:
        raise NotImplementedError

    def eval(self, X, Y):
        raise NotImplementedError

    def parts(self):
        return (self,)


@dataclass
class Ellipsoid(Shape):
    """Ellipsoid with semi-axes ax, ay (in the image plane, rotated by ``ang``) and az (depth)."""

    cx: float
    cy: float
    cz: float
    ax: float
    ay: float
    az: float
    ang: float = 0.0

    def box(self):
        r = max(self.ax, self.ay)
        return self.cx - r, self.cx + r, self.cy - r, self.cy + r

    def q(self, X, Y):
        c, s = F32(math.cos(self.ang)), F32(math.sin(self.ang))
        dx = X - F32(self.cx)
        dy = Y - F32(self.cy)
        u = (dx * c + dy * s) / F32(self.ax)
        v = (-dx * s + dy * c) / F32(self.ay)
        return 1.0 - u * u - v * v

    def eval(self, X, Y):
        q = self.q(X, Y)
        thk = F32(2 * self.az) * np.sqrt(np.clip(q, 0, None))
        return thk, np.full_like(thk, self.cz)


@dataclass
class Shell(Shape):
    """Hollow ellipsoid: the outer chord minus the inner one (skull vault, heart wall)."""

    outer: Ellipsoid
    wall: float

    def box(self):
        return self.outer.box()

    def eval(self, X, Y):
        o = self.outer
        inner = Ellipsoid(o.cx, o.cy, o.cz, max(o.ax - self.wall, 1e-3),
                          max(o.ay - self.wall, 1e-3), max(o.az - self.wall, 1e-3), o.ang)
        t1, zc = o.eval(X, Y)
        t2, _ = inner.eval(X, Y)
        return t1 - t2, zc


@dataclass
class Capsule(Shape):
    """Tapered capsule between two 3-D points; ``kz`` scales the depth of the cross-section."""

    p1: tuple[float, float, float]
    p2: tuple[float, float, float]
    r1: float
    r2: float
    kz: float = 1.0

    def box(self):
        r = max(self.r1, self.r2)
        (x1, y1, _), (x2, y2, _) = self.p1, self.p2
        return min(x1, x2) - r, max(x1, x2) + r, min(y1, y2) - r, max(y1, y2) + r

    def eval(self, X, Y):
        x1, y1, z1 = self.p1
        x2, y2, z2 = self.p2
        dx, dy, dz = x2 - x1, y2 - y1, z2 - z1
        L2 = dx * dx + dy * dy
        if L2 < 1e-6:
            t = np.zeros_like(X)
        else:
            t = np.clip(((X - F32(x1)) * F32(dx) + (Y - F32(y1)) * F32(dy)) / F32(L2), 0, 1)
        px = X - (F32(x1) + t * F32(dx))
        py = Y - (F32(y1) + t * F32(dy))
        r = F32(self.r1) + t * F32(self.r2 - self.r1)
        h2 = r * r - px * px - py * py
        L = math.sqrt(L2)
        sec = min(math.sqrt(L2 + dz * dz) / max(L, 1e-6), 4.0)
        thk = F32(2 * self.kz * sec) * np.sqrt(np.clip(h2, 0, None))
        return thk, F32(z1) + t * F32(dz)


@dataclass
class Chain(Shape):
    """A bent tube through 3-D points (ribs, clavicles, mandible, bowel)."""

    pts: list[tuple[float, float, float]]
    radii: list[float]
    kz: float = 1.0

    def box(self):
        r = max(self.radii)
        xs = [p[0] for p in self.pts]
        ys = [p[1] for p in self.pts]
        return min(xs) - r, max(xs) + r, min(ys) - r, max(ys) + r

    def parts(self):
        return tuple(Capsule(self.pts[i], self.pts[i + 1], self.radii[i], self.radii[i + 1],
                             self.kz) for i in range(len(self.pts) - 1))


@dataclass
class Plate(Shape):
    """A flat bone: polygon in the image plane, thickness ``t`` (rounded over ``edge`` mm), at
    depth z = z0 + gx * x + gy * y."""

    poly: list[tuple[float, float]]
    t: float
    z0: float
    edge: float = 3.0
    gx: float = 0.0
    gy: float = 0.0

    def box(self):
        xs = [p[0] for p in self.poly]
        ys = [p[1] for p in self.poly]
        return min(xs), max(xs), min(ys), max(ys)

    def eval(self, X, Y):
        inside = np.zeros(X.shape, bool)
        dist = np.full(X.shape, np.inf, F32)
        n = len(self.poly)
        for i in range(n):
            x1, y1 = self.poly[i]
            x2, y2 = self.poly[(i + 1) % n]
            cond = (Y > y1) != (Y > y2)
            if y2 != y1:
                xint = x1 + (Y - y1) * ((x2 - x1) / (y2 - y1))
                inside ^= cond & (X < xint)
            ex, ey = x2 - x1, y2 - y1
            L2 = ex * ex + ey * ey
            t = np.clip(((X - x1) * ex + (Y - y1) * ey) / max(L2, 1e-9), 0, 1)
            d = np.hypot(X - (x1 + t * ex), Y - (y1 + t * ey))
            np.minimum(dist, d, out=dist)
        prof = np.sqrt(np.clip(dist / self.edge, 0, 1))
        thk = np.where(inside, F32(self.t) * prof, 0).astype(F32)
        zc = (F32(self.z0) + F32(self.gx) * X + F32(self.gy) * Y).astype(F32)
        return thk, zc


@dataclass
class Profile(Shape):
    """The trunk: half-width W(y) and depth D(y) at knots; D-shaped cross-section lying on the
    table (flat back, round front)."""

    ys: np.ndarray
    ws: np.ndarray
    ds: np.ndarray

    def box(self):
        w = float(np.max(self.ws))
        return -w, w, float(self.ys[0]), float(self.ys[-1])

    def eval(self, X, Y):
        W = np.interp(Y, self.ys, self.ws, left=0, right=0).astype(F32)
        D = np.interp(Y, self.ys, self.ds, left=0, right=0).astype(F32)
        s = 1.0 - (X / np.maximum(W, F32(1e-3))) ** 2
        r = np.sqrt(np.clip(s, 0, None))
        thk = np.where(W > 0, D * r, 0).astype(F32)
        zlo = D * (1 - r) * F32(0.25)
        return thk, zlo + thk / 2


@dataclass
class Raster:
    """A solid (or a union of solids) rasterised on a grid, in a bounding window."""

    r0: int
    c0: int
    thk: np.ndarray
    zc: np.ndarray
    pos: np.ndarray | None = None

    @property
    def sl(self) -> tuple[slice, slice]:
        h, w = self.thk.shape
        return slice(self.r0, self.r0 + h), slice(self.c0, self.c0 + w)


def rasterize(grid: Grid, shapes, axis=None) -> Raster | None:
    """Union (by the thickest chord) of ``shapes`` on ``grid``.

    ``axis`` = ((x0, y0), (x1, y1)) gives a long bone's proximal and distal ends: the raster
    then carries ``pos``, the projection on that axis clipped to 0-1.
    """
    pieces = []
    for sh in shapes:
        for part in sh.parts():
            w = grid.window(part.box())
            if w is None:
                continue
            thk, zc = part.eval(w.X, w.Y)
            if not np.any(thk > 0):
                continue
            pieces.append((w, thk, zc))
    if not pieces:
        return None
    r0 = min(p[0].r0 for p in pieces)
    r1 = max(p[0].r1 for p in pieces)
    c0 = min(p[0].c0 for p in pieces)
    c1 = max(p[0].c1 for p in pieces)
    T = np.zeros((r1 - r0, c1 - c0), F32)
    Z = np.zeros_like(T)
    for w, thk, zc in pieces:
        sub = slice(w.r0 - r0, w.r1 - r0), slice(w.c0 - c0, w.c1 - c0)
        better = thk > T[sub]
        T[sub] = np.where(better, thk, T[sub])
        Z[sub] = np.where(better, zc, Z[sub])
    pos = None
    if axis is not None:
        (xa, ya), (xb, yb) = axis
        X, Y = grid.coords(r0, r1, c0, c1)
        ex, ey = xb - xa, yb - ya
        pos = np.clip(((X - xa) * ex + (Y - ya) * ey) / (ex * ex + ey * ey), 0, 1).astype(F32)
    return Raster(r0, c0, T, Z, pos)


def smooth_noise(rng: np.random.Generator, box: tuple[float, float, float, float],
                 scale_mm: float):
    """A smooth zero-mean, unit-SD random field over a body-coordinate box; returns a function
    of (X, Y) arrays (bilinear interpolation of a coarse lattice)."""
    from scipy.ndimage import gaussian_filter, map_coordinates

    xmin, xmax, ymin, ymax = box
    step = scale_mm / 2.0
    nx = int((xmax - xmin) / step) + 6
    ny = int((ymax - ymin) / step) + 6
    a = gaussian_filter(rng.standard_normal((ny, nx)), 1.0, mode="wrap")
    a = (a - a.mean()) / (a.std() + 1e-9)
    x0, y0 = xmin - 2 * step, ymin - 2 * step

    def f(X, Y):
        cc = (np.asarray(X) - x0) / step
        rr = (np.asarray(Y) - y0) / step
        return map_coordinates(a, [rr.ravel(), cc.ravel()], order=1,
                               mode="nearest").reshape(np.shape(X)).astype(F32)

    return f
