"""The per-layout fields of the procedural texture backend: their types, how they are read, and the
constants every part of the backend shares.

The fields depend only on topology, neutral shape and UV resolution, never on texture parameters:
face_fields computes the skin's (low-resolution position / region maps and landmark region weights),
parts.precompute the other materials' maps (in `extra`), and fields_store keeps them in process and on
disk so that many assets reuse them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..face import ict

SKIN_MATERIALS = ("M_Face", "M_BackHead")
REGION_ID = {name: i for i, name in enumerate(ict.REGIONS)}
NOISE_STEP = 4  # low-frequency noise of the small materials is evaluated on every 4th texel, then upsampled


@dataclass
class Landmarks:
    """3D landmark positions (cm) of the neutral face and the derived anchor points."""

    p: np.ndarray  # (68, 3)

    @property
    def face_width(self) -> float:
        return float(np.linalg.norm(self.p[16] - self.p[0]))

    def cheek_centres(self) -> np.ndarray:
        """(2, 3): the apples of the cheeks, between lower eyelid, nose wing and the jaw."""
        p = self.p
        right = (p[41] + p[40] + p[31] + p[48] + 2 * p[2]) / 6.0
        left = (p[46] + p[47] + p[35] + p[54] + 2 * p[14]) / 6.0
        return np.stack([right, left])


@dataclass
class MaterialFields:
    """Low-resolution geometry of one material. `factor`: full size = low size * factor (H, W divisible
    or cropped); pos: (h, w, 3) float32 neutral positions, background filled by pull-push so that every
    texel (also padding) has a plausible position; region: (h, w) uint8, padding texels take the nearest
    island's region; mask: (h, w) bool coverage;
    weights: region_weights() as (h, w) float32 maps; full_shape: (H, W)."""

    full_shape: tuple[int, int]
    factor: int
    pos: np.ndarray
    region: np.ndarray
    mask: np.ndarray
    weights: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class LayoutFields:
    """Everything layout-only the backend reads: the skin materials' low-resolution fields, the landmarks,
    the region weights at the vertices, every material's UV corners, and the other materials' maps."""

    skin: dict[str, MaterialFields]
    landmarks: Landmarks
    vertex_weights: dict[str, np.ndarray]  # region_weights() at the vertices, (V,) each
    corner_uv: dict[str, tuple[np.ndarray, np.ndarray]]  # material -> (vertex ids (C,), texel xy (C, 2) full res)
    extra: dict = field(default_factory=dict)  # other materials' maps: (kind, material or side) -> value


def low_factor(h: int) -> int:
    """Downsampling factor for the low-frequency fields: ~1/4 of the texture, but never below 64 texels."""
    f = 1
    while h // (f * 2) >= 64 and f < 4:
        f *= 2
    return f


class LayoutContext:
    """The layout-only part of an AssetContext (model, layout, fields): what the builders of layout-only
    maps read, so parts.precompute can run them without an asset."""

    def __init__(self, model, layout, fields):
        self.model, self.layout, self.fields = model, layout, fields


def cached(ctx, key, fn):
    """fields.extra[key], made by fn() when missing. Layout-only maps are all computed up front by
    parts.precompute() (so the disk cache holds them); `fn` only runs for a key precompute did not produce."""
    extra = ctx.fields.extra
    if key not in extra:
        extra[key] = fn()
    return extra[key]


def derived(ctx, key, fn):
    """Layout-only values derived from the cached maps (masks, weights, constant texture parts), kept in
    process on the fields object itself (not in `extra`, which is what the disk cache stores). They depend
    on the layout and neutral shape only, so the order materials and assets are built in does not matter;
    callers must not modify what this returns."""
    store = vars(ctx.fields).get("_parts_derived")
    if store is None:
        store = vars(ctx.fields).setdefault("_parts_derived", {})
    if key not in store:
        store[key] = fn()
    return store[key]


def texels_per_cm(ctx, name: str, mf: MaterialFields) -> float:
    """Median low-res texel density of a material (the face UV is close to uniform)."""
    key = ("density", name)
    if key not in ctx.fields.extra:
        dp = mf.pos[:, 1:] - mf.pos[:, :-1]
        d = np.sqrt(dp[..., 0] ** 2 + dp[..., 1] ** 2 + dp[..., 2] ** 2)
        both = mf.mask[:, 1:] & mf.mask[:, :-1]
        ctx.fields.extra[key] = 1.0 / max(float(np.median(d[both])) if both.any() else 0.1, 1e-4)
    return ctx.fields.extra[key]
