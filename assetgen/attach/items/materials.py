"""Procedural item materials: a base colour, a pattern, roughness, metallic and the glTF alpha mode.

ItemMaterial is plain data; `texture()` draws its base colour image (sRGB uint8, RGBA for BLEND materials,
RGB otherwise) as a pure function of its fields, so a stored material redraws the same pixels. A part's uv
spans [0, 1] once: the pattern's repeats are drawn into the image (renderers clamp at the edge).

Patterns: solid; stripes (along u); check (gingham: two crossed stripe sets); dots; knit (ribs along v
with knit stitches); weave (fine fabric noise); melange (heathered noise); tortoise (mottled acetate).

A material may instead carry a stored image (`image`: raw (size, size, 3) uint8 sRGB bytes, e.g. made by the
diffusion stage, assetgen.diffusion.item_textures); `texture()` then returns those pixels, so the renderer
and every exporter use them like the procedural ones. `as_dict()` names the image by its SHA-256 only (the
library keeps the pixels as a blob of their own); a material without one records exactly as before.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

import numpy as np

from ...color import linear_to_srgb, srgb_to_linear
from ...errors import InputError

PATTERNS = ("solid", "stripes", "check", "dots", "knit", "weave", "melange", "tortoise")
ALPHA_MODES = ("OPAQUE", "BLEND")


@dataclass(frozen=True)
class ItemMaterial:
    """name: the material's name in exports (unique per subject: item_part); color, pattern_color: linear
    RGB in [0, 1]; alpha: opacity of BLEND materials (1 for OPAQUE); roughness, metallic: glTF factors;
    pattern (PATTERNS); repeats: pattern periods across u and along v; seed: the pattern's noise seed;
    size: the image's side in pixels; image: stored base colour pixels (see the module docstring) or None
    (procedural)."""

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
    image: bytes | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.pattern not in PATTERNS:
            raise InputError(f"unknown item pattern {self.pattern!r}; known: {', '.join(PATTERNS)}")
        if self.alpha_mode not in ALPHA_MODES:
            raise InputError(f"item alpha mode must be OPAQUE or BLEND, not {self.alpha_mode!r}")
        if not 0.0 <= self.alpha <= 1.0:
            raise InputError(f"item material alpha {self.alpha} must lie in [0, 1]")
        if self.image is not None and len(self.image) != int(self.size) ** 2 * 3:
            raise InputError(f"item material {self.name}: its image has {len(self.image)} bytes, not the "
                             f"{int(self.size)}x{int(self.size)}x3 its size needs")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["color"] = [float(x) for x in self.color]
        d["pattern_color"] = [float(x) for x in self.pattern_color]
        d["repeats"] = [int(x) for x in self.repeats]
        del d["image"]
        if self.image is not None:
            d["image"] = self.image_sha256()
        return d

    @staticmethod
    def from_dict(d: dict, image: np.ndarray | bytes | None = None) -> ItemMaterial:
        """The material `as_dict()` wrote; `image`: its stored pixels when the dict names one (checked
        against the recorded SHA-256)."""
        d = dict(d)
        d["color"] = tuple(float(x) for x in d["color"])
        d["pattern_color"] = tuple(float(x) for x in d["pattern_color"])
        d["repeats"] = tuple(int(x) for x in d["repeats"])
        sha = d.pop("image", None)
        if sha is None:
            return ItemMaterial(**d)
        if image is None:
            raise InputError(f"item material {d.get('name')!r} names an image ({sha[:16]}) but none was given")
        mat = ItemMaterial(**d).with_image(image)
        if mat.image_sha256() != sha:
            raise InputError(f"item material {d.get('name')!r}: its image's SHA-256 {mat.image_sha256()[:16]} "
                             f"differs from the recorded {sha[:16]}")
        return mat

    def with_image(self, image: np.ndarray | bytes) -> ItemMaterial:
        """A copy whose base colour is `image`: (s, s, 3) uint8 sRGB (size becomes s), or raw bytes of this
        material's size."""
        if isinstance(image, (bytes, bytearray, memoryview)):
            return replace(self, image=bytes(image))
        img = np.asarray(image)
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3 or img.shape[0] != img.shape[1]:
            raise InputError(f"item material {self.name}: an image must be (s, s, 3) uint8, not "
                             f"{img.shape} {img.dtype}")
        return replace(self, size=int(img.shape[0]), image=np.ascontiguousarray(img).tobytes())

    def image_array(self) -> np.ndarray | None:
        """(size, size, 3) uint8 sRGB view of the stored image (read-only), or None (procedural)."""
        if self.image is None:
            return None
        s = int(self.size)
        return np.frombuffer(self.image, np.uint8).reshape(s, s, 3)

    def image_sha256(self) -> str | None:
        return None if self.image is None else hashlib.sha256(self.image).hexdigest()

    def texture(self) -> np.ndarray:
        """(size, size, 3|4) uint8 sRGB base colour (RGBA for BLEND: alpha = the material's alpha): the
        stored image if there is one, else the procedural pattern."""
        return _texture(self).copy()

    def linear(self) -> np.ndarray:
        """(size, size, 3) float64 linear RGB of the base colour (before encoding)."""
        if self.image is not None:
            return srgb_to_linear(self.image_array() / 255.0, np.float64)
        return _pattern(self)


@lru_cache(maxsize=256)
def _texture(mat: ItemMaterial) -> np.ndarray:
    if mat.image is not None:
        img = mat.image_array().copy()
    else:
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
