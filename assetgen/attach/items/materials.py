"""Procedural item materials: a base colour, a pattern, roughness, metallic and the glTF alpha mode.

ItemMaterial is plain data; `texture()` draws its base colour image (sRGB uint8, RGBA for BLEND materials,
RGB otherwise) as a pure function of its fields, so a stored material redraws the same pixels. A part's uv
spans [0, 1] once: the pattern's repeats are drawn into the image (renderers clamp at the edge).

Patterns: solid; stripes (along u); check (gingham: two crossed stripe sets); dots; knit (ribs along v
with knit stitches); weave (fine fabric noise); melange (heathered noise); tortoise (mottled acetate).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from ...color import linear_to_srgb
from ...errors import InputError

PATTERNS = ("solid", "stripes", "check", "dots", "knit", "weave", "melange", "tortoise")
ALPHA_MODES = ("OPAQUE", "BLEND")


@dataclass(frozen=True)
class ItemMaterial:
    """name: the material's name in exports (unique per subject: item_part); color, pattern_color: linear
    RGB in [0, 1]; alpha: opacity of BLEND materials (1 for OPAQUE); roughness, metallic: glTF factors;
    pattern (PATTERNS); repeats: pattern periods across u and along v; seed: the pattern's noise seed;
    size: the image's side in pixels."""

    name: str
    color: tuple[float, float, float]
    alpha: float = 1.0
    alpha_mode: str = "OPAQUE"
    roughness: float = 0.5
    metallic: float = 0.0
    pattern: str = "solid"
    pattern_color: tuple[float, float, float] = (0.0, 0.0, 0.0)
    repeats: tuple[int, int] = (1, 1)
    seed: int = 0
    size: int = 32
    double_sided: bool = True

    def __post_init__(self):
        if self.pattern not in PATTERNS:
            raise InputError(f"unknown item pattern {self.pattern!r}; known: {', '.join(PATTERNS)}")
        if self.alpha_mode not in ALPHA_MODES:
            raise InputError(f"item alpha mode must be OPAQUE or BLEND, not {self.alpha_mode!r}")
        if not 0.0 <= self.alpha <= 1.0:
            raise InputError(f"item material alpha {self.alpha} must lie in [0, 1]")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["color"] = [float(x) for x in self.color]
        d["pattern_color"] = [float(x) for x in self.pattern_color]
        d["repeats"] = [int(x) for x in self.repeats]
        return d

    @staticmethod
    def from_dict(d: dict) -> ItemMaterial:
        d = dict(d)
        d["color"] = tuple(float(x) for x in d["color"])
        d["pattern_color"] = tuple(float(x) for x in d["pattern_color"])
        d["repeats"] = tuple(int(x) for x in d["repeats"])
        return ItemMaterial(**d)

    def texture(self) -> np.ndarray:
        """(size, size, 3|4) uint8 sRGB base colour (RGBA for BLEND: alpha = the material's alpha)."""
        return _texture(self).copy()

    def linear(self) -> np.ndarray:
        """(size, size, 3) float64 linear RGB of the pattern (before encoding)."""
        return _pattern(self)


@lru_cache(maxsize=256)
def _texture(mat: ItemMaterial) -> np.ndarray:
    rgb = linear_to_srgb(np.clip(_pattern(mat), 0.0, 1.0), np.float64)
    img = np.round(rgb * 255).astype(np.uint8)
    if mat.alpha_mode == "BLEND":
        a = np.full(img.shape[:2] + (1,), int(round(mat.alpha * 255)), np.uint8)
        img = np.concatenate([img, a], 2)
    img.setflags(write=False)
    return img


def _pattern(mat: ItemMaterial) -> np.ndarray:
    s = int(mat.size)
    base = np.asarray(mat.color, np.float64)
    other = np.asarray(mat.pattern_color, np.float64)
    ru, rv = mat.repeats
    u = (np.arange(s) + 0.5) / s
    uu, vv = np.meshgrid(u * ru, u * rv)  # (row = v, col = u)
    rng = np.random.default_rng([int(mat.seed) & 0xFFFFFFFF, 0x17E5])
    mix = np.zeros((s, s))
    if mat.pattern == "stripes":
        mix = (np.mod(uu, 1.0) < 0.35).astype(float)
    elif mat.pattern == "check":
        a = (np.mod(uu, 1.0) < 0.5).astype(float)
        b = (np.mod(vv, 1.0) < 0.5).astype(float)
        mix = 0.5 * (a + b)
    elif mat.pattern == "dots":
        du, dv = np.mod(uu, 1.0) - 0.5, np.mod(vv, 1.0) - 0.5
        mix = (du * du + dv * dv < 0.06).astype(float)
    elif mat.pattern == "knit":
        rib = 0.5 + 0.5 * np.cos(2 * np.pi * uu)
        stitch = np.abs(np.mod(vv * 2 + np.abs(np.mod(uu, 1.0) - 0.5), 1.0) - 0.5) * 2
        mix = 0.55 * rib * stitch
    elif mat.pattern == "weave":
        mix = 0.35 * _noise(rng, s, 4) + 0.15 * (np.mod(np.floor(uu * 8) + np.floor(vv * 8), 2))
    elif mat.pattern == "melange":
        mix = 0.6 * _noise(rng, s, 2)
    elif mat.pattern == "tortoise":
        n = _noise(rng, s, 6) * 0.6 + _noise(rng, s, 12) * 0.4
        mix = np.clip((n - 0.35) * 2.5, 0, 1)
    return base[None, None, :] * (1 - mix[..., None]) + other[None, None, :] * mix[..., None]


def _noise(rng: np.random.Generator, s: int, cells: int) -> np.ndarray:
    """(s, s) smooth value noise in [0, 1] with `cells` cells per side, tiling."""
    g = rng.random((cells, cells))
    x = (np.arange(s) + 0.5) / s * cells
    i0 = np.floor(x).astype(int) % cells
    i1 = (i0 + 1) % cells
    f = x - np.floor(x)
    f = f * f * (3 - 2 * f)
    top = g[i0][:, i0] * (1 - f)[None, :] + g[i0][:, i1] * f[None, :]
    bot = g[i1][:, i0] * (1 - f)[None, :] + g[i1][:, i1] * f[None, :]
    return top * (1 - f)[:, None] + bot * f[:, None]
