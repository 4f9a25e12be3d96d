"""Face tattoos as UV decals: a small procedural motif (parallel lines, a ring of dots, tribal-like strokes,
a star; never text) painted into the skin albedo at a face location (cheek, temple, brow, neck).

The decal is placed in 3D on the neutral face, not in UV space: its centre is a landmark-derived skin point,
its plane the skin's tangent plane there, and every texel takes the motif at its neutral position projected
onto that plane (texels more than DEPTH cm off the plane are left alone), so the motif keeps its shape across
UV seams and at any resolution. Deterministic: the params say everything (the motif's jitter comes from
`seed`).
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

HEX_COLOR = r"^#[0-9a-fA-F]{6}$"
Motif = Literal["lines", "dots", "tribal", "star"]
MOTIFS: tuple[str, ...] = Motif.__args__  # type: ignore[attr-defined]
Location = Literal["cheek", "temple", "brow", "neck"]
LOCATIONS: tuple[str, ...] = Location.__args__  # type: ignore[attr-defined]
INKS = ("#15171c", "#1d2433", "#262020", "#2a3b2e", "#5a1a1a")
DEPTH = 0.8  # cm: texels farther off the decal's plane are not painted


class TattooParams(BaseModel):
    """motif; location and side (the subject's own); size: the motif's width (cm); angle: its rotation in
    the skin plane (deg); color: ink (sRGB hex); opacity; seed: the motif's small jitter."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    motif: Motif = "star"
    location: Location = "cheek"
    side: Literal["left", "right"] = "left"
    size: float = Field(1.6, ge=0.5, le=4.0)
    angle: float = Field(0.0, ge=-180.0, le=180.0)
    color: str = Field("#15171c", pattern=HEX_COLOR)
    opacity: float = Field(0.85, ge=0.0, le=1.0)
    seed: int = Field(0, ge=0, le=2**31 - 1)


def sample_tattoo(u: np.ndarray) -> TattooParams:
    """TattooParams from 8 uniforms."""
    pick = lambda x, seq: seq[min(int(x * len(seq)), len(seq) - 1)]
    location = pick(u[1], LOCATIONS)
    size = {"cheek": (1.0, 2.2), "temple": (1.0, 2.0), "brow": (0.8, 1.6), "neck": (1.5, 3.5)}[location]
    return TattooParams(motif=pick(u[0], MOTIFS), location=location, side="left" if u[2] < 0.5 else "right",
                        size=round(size[0] + (size[1] - size[0]) * float(u[3]), 3),
                        angle=round(-40.0 + 80.0 * float(u[4]), 1), color=pick(u[5], INKS),
                        opacity=round(0.6 + 0.35 * float(u[6]), 3), seed=int(u[7] * 2**31) % 2**31)


def decal_frame(model, landmarks: np.ndarray, p: TattooParams) -> tuple[np.ndarray, np.ndarray]:
    """(centre (3,), axes (3, 3): u, v in the skin plane, the skin normal) of the decal on the neutral (cm)."""
    lm = np.asarray(landmarks, np.float64)
    s = 1.0 if p.side == "left" else -1.0
    left = p.side == "left"
    if p.location == "cheek":
        guess = ((lm[46] + lm[47] + lm[35] + lm[54] + 2 * lm[14]) if left else
                 (lm[41] + lm[40] + lm[31] + lm[48] + 2 * lm[2])) / 6.0
    elif p.location == "temple":
        guess = (lm[26] if left else lm[17]) + np.array([s * 0.8, 0.6, -1.2])
    elif p.location == "brow":
        guess = (lm[24] if left else lm[19]) + np.array([0.0, 1.3, 0.0])
    else:
        guess = lm[8] + np.array([s * 3.0, -3.5, -2.5])
    v = np.asarray(model.neutral, np.float64)
    near = np.argsort(np.linalg.norm(v - guess, axis=1))[:12]
    centre = v[near[0]]
    t = np.asarray(model.triangles)
    touching = t[np.isin(t, near).any(1)]
    fn = np.cross(v[touching[:, 1]] - v[touching[:, 0]], v[touching[:, 2]] - v[touching[:, 0]]).sum(0)
    n = fn / max(np.linalg.norm(fn), 1e-12)
    if np.dot(n, centre - v.mean(0)) < 0:
        n = -n
    a = np.radians(p.angle)
    up = np.array([0.0, 1.0, 0.0])
    e1 = np.cross(up, n)
    e1 /= max(np.linalg.norm(e1), 1e-12)
    e2 = np.cross(n, e1)
    return centre, np.stack([np.cos(a) * e1 + np.sin(a) * e2, -np.sin(a) * e1 + np.cos(a) * e2, n])


def motif_coverage(p: TattooParams, x: np.ndarray, y: np.ndarray, px: float) -> np.ndarray:
    """Ink coverage in [0, 1] at motif coordinates x, y (cm from the centre, in the decal plane); px: cm per
    texel (edges are smoothed over about one texel)."""
    s = p.size / 2
    x, y = x / s, y / s  # the motif spans [-1, 1]
    soft = max(px / s, 1e-4)
    j = np.random.default_rng(p.seed).uniform(-1.0, 1.0, 8)

    def band(d, w):  # coverage of a stroke of half-width w at distance d
        return np.clip((w - d) / soft + 0.5, 0.0, 1.0)

    if p.motif == "lines":
        cov = np.zeros_like(x)
        for k in (-1, 0, 1):
            d = np.maximum(np.abs(x - k * 0.45), 0.0)
            cov = np.maximum(cov, band(d, 0.07 + 0.02 * j[k + 1]) * band(np.abs(y), 0.85 - 0.15 * abs(k)))
    elif p.motif == "dots":
        cov = band(np.hypot(x, y), 0.14)
        for k in range(8):
            a = 2 * np.pi * k / 8 + 0.1 * j[0]
            cov = np.maximum(cov, band(np.hypot(x - 0.7 * np.cos(a), y - 0.7 * np.sin(a)), 0.11))
    elif p.motif == "tribal":
        cov = np.zeros_like(x)
        for sign in (1.0, -1.0):
            curve = sign * (0.25 + 0.35 * np.sin(2.2 * x + 0.3 * j[1]))
            width = 0.12 * np.clip(1.0 - np.abs(x), 0.0, 1.0) ** 0.7
            cov = np.maximum(cov, band(np.abs(y - curve), width) * (np.abs(x) < 1.0))
        cov = np.maximum(cov, band(np.abs(y), 0.05) * band(np.abs(x), 0.6))
    else:  # a five-pointed star
        r, th = np.hypot(x, y), np.arctan2(x, y)
        sector = np.mod(th, 2 * np.pi / 5) - np.pi / 5
        inner, outer = 0.38, 0.95
        # distance to the star's edge along the ray, linear between the tips and the notches
        edge = inner + (outer - inner) * (1.0 - np.abs(sector) / (np.pi / 5))
        cov = band(r - edge, 0.0)
    return cov.astype(np.float32)


def paint_tattoo(model, landmarks: np.ndarray, p: TattooParams, pos_low: np.ndarray, factor: int,
                 albedo: np.ndarray, ink_linear: np.ndarray) -> None:
    """In place: composite the decal into a full-resolution linear albedo (H, W, 3) whose low-resolution
    neutral positions are pos_low (h, w, 3) (full = low * factor)."""
    centre, axes = decal_frame(model, landmarks, p)
    d = pos_low.astype(np.float64) - centre
    local = d @ axes.T  # (h, w, 3): u, v, off the plane
    reach = p.size * 0.75 + 0.2
    near = (np.abs(local[..., 0]) < reach) & (np.abs(local[..., 1]) < reach) & (np.abs(local[..., 2]) < DEPTH + 0.5)
    if not near.any():
        return
    h, w = pos_low.shape[:2]
    fy = fx = int(factor)
    rows, cols = np.flatnonzero(near.any(1)), np.flatnonzero(near.any(0))
    r0, r1 = max(rows[0] - 1, 0), min(rows[-1] + 2, h)
    c0, c1 = max(cols[0] - 1, 0), min(cols[-1] + 2, w)
    crop = np.ascontiguousarray(local[r0:r1, c0:c1], np.float32)
    full = cv2.resize(crop, ((c1 - c0) * fx, (r1 - r0) * fy), interpolation=cv2.INTER_LINEAR)
    if full.ndim == 2:
        full = full[..., None]
    step = np.linalg.norm(np.diff(crop[..., :2], axis=1), axis=-1)
    px = float(np.median(step)) / fx if step.size else 0.01
    cov = motif_coverage(p, full[..., 0], full[..., 1], px) * (np.abs(full[..., 2]) < DEPTH)
    a = (np.float32(p.opacity) * cov)[..., None]
    sub = albedo[r0 * fy:r1 * fy, c0 * fx:c1 * fx]
    hh, ww = min(sub.shape[0], a.shape[0]), min(sub.shape[1], a.shape[1])
    sub[:hh, :ww] += a[:hh, :ww] * (np.asarray(ink_linear, np.float32) - sub[:hh, :ww])
