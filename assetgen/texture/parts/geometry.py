"""Layout-only geometry of the non-skin materials, cached in LayoutFields.extra: neutral positions per
texel, the positions where low-frequency noise is evaluated, and each eye's frame, polar coordinates and
limbus radius."""

from __future__ import annotations

import numpy as np

from ...uv import MaterialRaster, fill_background, position_map
from ..fields import NOISE_STEP, cached


def positions(ctx, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Full-res neutral positions (H, W, 3) float32 with the background filled, and the (H, W) mask
    (transient: only precompute() reads them)."""
    def build():
        r = ctx.layout[name]
        mask = r.mask
        pos = position_map(r, ctx.model, ctx.model.neutral)
        return (fill_background(pos, mask) if mask.any() else pos), mask
    return cached(ctx, ("pos", name), build)


def noise_positions(ctx, name: str) -> np.ndarray:
    """Neutral positions at every NOISE_STEP-th texel (h, w, 3) float32, background filled: where the
    low-frequency noise of a small material is evaluated. Rasterized at that step directly (the
    full-resolution positions are not needed)."""
    def build():
        r = ctx.layout[name]
        s = NOISE_STEP
        low = MaterialRaster(r.material, r.tile_u0, r.tiles, np.ascontiguousarray(np.asarray(r.triangle)[::s, ::s]),
                             np.ascontiguousarray(np.asarray(r.bary12)[::s, ::s]))
        mask = low.mask
        pos = position_map(low, ctx.model, ctx.model.neutral)
        return fill_background(pos, mask) if mask.any() else pos
    return cached(ctx, ("noise_pos", name), build)


def eye_frame(ctx, side: str) -> tuple[np.ndarray, np.ndarray]:
    """(centre, axis) of one eye's iris disc: mean position and the disc normal (pointing forwards, +z)."""
    def build():
        pos, mask = positions(ctx, f"M_Iris{side}")
        h, w = mask.shape
        rows, cols = np.nonzero(mask)
        ru = (cols + 0.5) / w - 0.5
        rv = (rows + 0.5) / h - 0.5
        sel = ru * ru + rv * rv < 0.45**2  # the disc, not the small side islands
        pts = pos[rows[sel], cols[sel]].astype(np.float64)
        c = pts.mean(0)
        d = pts - c
        _, vec = np.linalg.eigh(d.T @ d)  # the disc normal: the direction of least variance
        axis = vec[:, 0] if vec[2, 0] > 0 else -vec[:, 0]
        return c.astype(np.float32), axis.astype(np.float32)
    return cached(ctx, ("eye", side), build)


def eye_polar(ctx, name: str, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per texel: distance from the eye axis (cm), signed depth along it (cm), angle around it."""
    def build():
        pos, _ = positions(ctx, name)
        c, axis = eye_frame(ctx, side)
        e1 = np.cross(axis, [0.0, 0.0, 1.0] if abs(axis[2]) < 0.9 else [1.0, 0.0, 0.0])
        e1 /= np.sqrt(e1 @ e1)
        e2 = np.cross(axis, e1)
        dx, dy, dz = (pos[..., i] - c[i] for i in range(3))
        a = [np.float32(v) for v in axis]
        depth = dx * a[0] + dy * a[1] + dz * a[2]
        rx, ry, rz = dx - depth * a[0], dy - depth * a[1], dz - depth * a[2]
        rho = np.sqrt(rx * rx + ry * ry + rz * rz)
        u = rx * np.float32(e1[0]) + ry * np.float32(e1[1]) + rz * np.float32(e1[2])
        v = rx * np.float32(e2[0]) + ry * np.float32(e2[1]) + rz * np.float32(e2[2])
        return rho.astype(np.float32), depth.astype(np.float32), np.arctan2(v, u).astype(np.float32)
    return cached(ctx, ("polar", name), build)


def limbus_radius(ctx, side: str) -> float:
    """One eye's limbus radius (cm): the 99.5th percentile of the iris disc's distance from the eye axis."""
    def build():
        rho, depth, _ = eye_polar(ctx, f"M_Iris{side}", side)
        mask = ctx.layout[f"M_Iris{side}"].mask
        h, w = mask.shape
        rows, cols = np.mgrid[0:h, 0:w]
        disc = mask & (np.hypot((cols + 0.5) / w - 0.5, (rows + 0.5) / h - 0.5) < 0.5)
        return float(np.percentile(rho[disc], 99.5))
    return cached(ctx, ("limbus", side), build)
