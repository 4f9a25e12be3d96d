"""Noise for textures: 3D value noise evaluated on surface positions, and small periodic detail tiles.

Low-frequency variation is a function of the 3D position of the NEUTRAL surface, so it is continuous
across UV seams and between materials (M_Face / M_BackHead). Fine detail (pores, stubble, brow hairs) is
a periodic 2D tile repeated over the texture: at that scale UV seams are invisible, and a tile costs a
broadcast multiply instead of per-texel noise evaluation.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import cv2
import numpy as np


# ---- 3D value noise ---------------------------------------------------------------------------------
class ValueNoise3D:
    """Fractal value noise over a fixed box of space (cm), so every material of one asset samples the
    same random lattices and the pattern is continuous across seams and materials.

    Each octave is a random lattice (spacing cell_cm / 2**o, amplitude gain**o) read by smooth (C1)
    trilinear interpolation; values have zero mean and roughly unit standard deviation.

    lazy=True gives the same noise, but draws the lattices from rng only as far as the evaluated points
    need them: the values are drawn in C order (x slowest), octave after octave, so a point set that
    touches a small part of the box only needs the earlier octaves plus a prefix of the last one. The
    noise then owns rng (its state afterwards is unspecified): draw nothing else from it. Draws happen in
    order under a lock, so any thread may trigger them (see prepare()) without changing the values."""

    def __init__(self, rng: np.random.Generator, lo, hi, cell_cm: float, octaves: int = 3, gain: float = 0.5,
                 lazy: bool = False):
        self.lo = np.asarray(lo, np.float32) - np.float32(cell_cm)
        hi = np.asarray(hi, np.float32) + np.float32(cell_cm)
        self.cells = [cell_cm / 2**o for o in range(octaves)]
        self.amps = [gain**o for o in range(octaves)]
        self.lattices = []
        for cell in self.cells:
            dims = tuple(int(d) for d in np.ceil((hi - self.lo) / cell) + 2)
            # lazy: zeros (untouched pages cost nothing), filled in order by _draw
            self.lattices.append(np.zeros(dims, np.float32) if lazy else rng.standard_normal(dims).astype(np.float32))
        self._rng = rng if lazy else None
        self._drawn = [0 if lazy else lat.size for lat in self.lattices]
        self._lock = threading.Lock()
        # smooth interpolation of unit-variance lattice values shrinks the variance; undo it roughly
        self.norm = np.float32(2.2 / np.sqrt(sum(a * a for a in self.amps)))

    @property
    def geometry(self) -> tuple:
        """What a NoisePlan depends on (noises with equal geometry can share plans)."""
        return (self.lo.tobytes(), tuple(self.cells), tuple(lat.shape for lat in self.lattices))

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) positions -> (...) float32."""
        return self.evaluate(self.plan(points))

    def plan(self, points: np.ndarray) -> "NoisePlan":
        """The lattice cells and interpolation weights of (..., 3) positions: everything evaluate() needs
        that does not depend on the random values (cache it when the same points are evaluated again)."""
        shape = np.shape(points)[:-1]
        pts = np.asarray(points, np.float32).reshape(-1, 3)
        octaves = []
        for cell, lat in zip(self.cells, self.lattices):
            g = (pts - self.lo) / np.float32(cell)
            g = np.clip(g, 0.0, np.asarray(lat.shape, np.float32) - 1.001)
            i = np.floor(g).astype(np.int32)
            f = g - i
            f = f * f * (3.0 - 2.0 * f)
            sy, sz = lat.shape[1], lat.shape[2]
            base = (i[:, 0].astype(np.intp) * sy + i[:, 1]) * sz + i[:, 2]
            stride_x, stride_y = sy * sz, sz
            offsets = np.array([0, stride_x, stride_y, stride_x + stride_y, 1, stride_x + 1, stride_y + 1,
                                stride_x + stride_y + 1], np.intp)
            # (8, N) flat indices of the corners [x, y, z], [x + 1, y, z], [x, y + 1, z], [x + 1, y + 1, z],
            # then the same at z + 1
            corners = base[None, :] + offsets[:, None]
            need = int(corners.max()) + 1 if len(pts) else 0
            octaves.append((corners, f[:, 0].copy(), f[:, 1].copy(), f[:, 2].copy(), need))
        return NoisePlan(self.geometry, shape, octaves)

    def evaluate(self, plan: "NoisePlan") -> np.ndarray:
        """The noise at the points of a plan made by a noise of the same geometry -> (...) float32."""
        if plan.geometry != self.geometry:
            raise ValueError("noise plan made for a different noise geometry")
        self.prepare(plan)
        out = np.zeros(int(np.prod(plan.shape, dtype=np.int64)), np.float32)
        for amp, lat, (corners, fx, fy, fz, _) in zip(self.amps, self.lattices, plan.octaves):
            v = lat.reshape(-1).take(corners)
            out += np.float32(amp) * _trilerp(v, fx, fy, fz)
        out *= self.norm
        return out.reshape(plan.shape)

    def prepare(self, plan: "NoisePlan") -> None:
        """Draw the lattice values the points of a plan read (lazy noise; nothing to do otherwise)."""
        if self._rng is None:
            return
        for o, octave in enumerate(plan.octaves):
            self._draw(o, octave[-1])

    def _draw(self, octave: int, count: int) -> None:
        """Make sure the first `count` values (C order) of lattice `octave` are drawn (lazy noise)."""
        with self._lock:
            for o in range(octave + 1):
                flat = self.lattices[o].reshape(-1)
                want = flat.size if o < octave else min(count, flat.size)
                if self._drawn[o] < want:
                    # piecewise draws of standard_normal continue the same stream as one draw of the whole
                    flat[self._drawn[o]:want] = self._rng.standard_normal(want - self._drawn[o])
                    self._drawn[o] = want


class NoisePlan:
    """ValueNoise3D.plan(): per octave the 8 lattice corners (flat indices) of every point, the smoothstep
    weights along x, y, z, and how many lattice values (C order) the points reach."""

    def __init__(self, geometry: tuple, shape: tuple, octaves: list):
        self.geometry, self.shape, self.octaves = geometry, shape, octaves


def _trilerp(v: np.ndarray, fx, fy, fz) -> np.ndarray:
    """Smooth trilinear interpolation (the smoothstep weights hide the grid): (8, N) corner values (order
    of NoisePlan corners) and (N,) weights along x, y, z -> (N,) values."""
    def lerp(a, b, t):
        return a + (b - a) * t

    c00 = lerp(v[0], v[1], fx)
    c10 = lerp(v[2], v[3], fx)
    c01 = lerp(v[4], v[5], fx)
    c11 = lerp(v[6], v[7], fx)
    return lerp(lerp(c00, c10, fy), lerp(c01, c11, fy), fz)


# ---- periodic detail tiles ------------------------------------------------------------------------------
def _periodic_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur on a torus (the tile repeats, so its borders must too)."""
    pad = int(np.ceil(3 * sigma)) + 1
    big = np.pad(img, pad, mode="wrap")
    return cv2.GaussianBlur(big, (0, 0), sigma)[pad:-pad, pad:-pad]


def _splat_points(size: int, xy: np.ndarray, weights: np.ndarray) -> np.ndarray:
    img = np.zeros((size, size), np.float32)
    ix = np.mod(np.rint(xy).astype(int), size)
    np.add.at(img, (ix[:, 1], ix[:, 0]), weights.astype(np.float32))
    return img


@lru_cache(maxsize=8)
def pore_tile(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A periodic pore height field (size, size) float32 in [-1, 0] (pores are pits), and its gradients
    d/dcol, d/drow (size, size) float32 per texel. A pore is ~size/40 texels wide; fine mottling between
    pores adds the micro-relief of the skin surface."""
    rng = np.random.default_rng(seed)
    n = int(size * size / 60.0)  # ~one pore per 8x8 texels
    xy = rng.random((n, 2)) * size
    pits = _periodic_blur(_splat_points(size, xy, rng.uniform(0.5, 1.0, n)), max(0.6, size / 256.0))
    pits /= pits.max() + 1e-8
    micro = _periodic_blur(rng.standard_normal((size, size)).astype(np.float32), max(0.8, size / 200.0))
    micro /= np.abs(micro).max() + 1e-8
    h = -(0.8 * pits + 0.2 * (0.5 + 0.5 * micro))
    h = (h - h.max()) / (h.max() - h.min() + 1e-8)
    gy, gx = _periodic_gradient(h)
    return h.astype(np.float32), gx, gy


def _periodic_gradient(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central differences with wrap-around: (d/drow, d/dcol)."""
    gy = 0.5 * (np.roll(h, -1, 0) - np.roll(h, 1, 0))
    gx = 0.5 * (np.roll(h, -1, 1) - np.roll(h, 1, 1))
    return gy.astype(np.float32), gx.astype(np.float32)


@lru_cache(maxsize=8)
def hair_tile(size: int, kind: str, seed: int = 0) -> np.ndarray:
    """A periodic hair coverage tile (size, size) float32 in [0, 1].

    kind "stubble": short dark stubs in a follicle pattern (~one per 6x6 texels);
    kind "brow": longer thin strokes running mostly along +u (rising slightly), for the brows."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size), np.float32)
    if kind == "stubble":
        n, length, angle0, spread, width = int(size * size / 36.0), max(1.5, size / 170.0), 1.57, 0.6, 1
    elif kind == "brow":
        n, length, angle0, spread, width = int(size * size / 40.0), max(4.0, size / 20.0), 0.25, 0.35, 1
    else:
        raise ValueError(f"unknown hair tile kind {kind!r}")
    start = rng.random((n, 2)) * size
    ang = angle0 + rng.uniform(-spread, spread, n)
    ln = length * rng.uniform(0.6, 1.2, n)
    steps = max(2, int(np.ceil(length * 1.3)))
    t = np.linspace(0.0, 1.0, steps)[None, :, None]
    d = np.stack([np.cos(ang), -np.sin(ang)], 1)[:, None, :]  # image rows grow downwards
    pts = (start[:, None, :] + t * ln[:, None, None] * d).reshape(-1, 2)
    # taper: hair is darkest at the root
    w = np.broadcast_to((1.0 - 0.6 * t[..., 0]), (n, steps)).ravel()
    img = _splat_points(size, pts, w)
    if width > 0:
        img = _periodic_blur(img, 0.5)
    return np.clip(img * 2.0, 0.0, 1.0).astype(np.float32)
