"""Noise for textures: 3D value noise evaluated on surface positions, and small periodic detail tiles.

Low-frequency variation is a function of the 3D position of the NEUTRAL surface, so it is continuous
across UV seams and between materials (M_Face / M_BackHead). Fine detail (pores, stubble, brow hairs) is
a periodic 2D tile repeated over the texture: at that scale UV seams are invisible, and a tile costs a
broadcast multiply instead of per-texel noise evaluation.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np


# ---- 3D value noise ---------------------------------------------------------------------------------
class ValueNoise3D:
    """Fractal value noise over a fixed box of space (cm), so every material of one asset samples the
    same random lattices and the pattern is continuous across seams and materials.

    Each octave is a random lattice (spacing cell_cm / 2**o, amplitude gain**o) read by smooth (C1)
    trilinear interpolation; values have zero mean and roughly unit standard deviation."""

    def __init__(self, rng: np.random.Generator, lo, hi, cell_cm: float, octaves: int = 3, gain: float = 0.5):
        self.lo = np.asarray(lo, np.float32) - np.float32(cell_cm)
        hi = np.asarray(hi, np.float32) + np.float32(cell_cm)
        self.cells = [cell_cm / 2**o for o in range(octaves)]
        self.amps = [gain**o for o in range(octaves)]
        self.lattices = []
        for cell in self.cells:
            dims = tuple(int(d) for d in np.ceil((hi - self.lo) / cell) + 2)
            self.lattices.append(rng.standard_normal(dims).astype(np.float32))
        # smooth interpolation of unit-variance lattice values shrinks the variance; undo it roughly
        self.norm = np.float32(2.2 / np.sqrt(sum(a * a for a in self.amps)))

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) positions -> (...) float32."""
        shape = np.shape(points)[:-1]
        pts = np.asarray(points, np.float32).reshape(-1, 3)
        out = np.zeros(len(pts), np.float32)
        for cell, amp, lat in zip(self.cells, self.amps, self.lattices):
            g = (pts - self.lo) / np.float32(cell)
            g = np.clip(g, 0.0, np.asarray(lat.shape, np.float32) - 1.001)
            out += np.float32(amp) * _smooth_trilinear(lat, g)
        out *= self.norm
        return out.reshape(shape)


def _smooth_trilinear(lattice: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Interpolate a 3D lattice at (N, 3) lattice coordinates with smoothstep weights (hides the grid)."""
    i = np.floor(g).astype(np.int32)
    f = g - i
    f = f * f * (3.0 - 2.0 * f)
    x, y, z = i[:, 0], i[:, 1], i[:, 2]
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]

    def lerp(a, b, t):
        return a + (b - a) * t

    c00 = lerp(lattice[x, y, z], lattice[x + 1, y, z], fx)
    c10 = lerp(lattice[x, y + 1, z], lattice[x + 1, y + 1, z], fx)
    c01 = lerp(lattice[x, y, z + 1], lattice[x + 1, y, z + 1], fx)
    c11 = lerp(lattice[x, y + 1, z + 1], lattice[x + 1, y + 1, z + 1], fx)
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
