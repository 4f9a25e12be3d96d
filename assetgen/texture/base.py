"""What every texture backend produces: one set of PBR maps per material, plus labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

import numpy as np

# Called as progress(done, total, what) by long operations.
ProgressFn = Callable[[int, int, str], None]


@dataclass(eq=False)
class MaterialTextures:
    """The maps of one material, all (H, W, ...) uint8, row 0 = top of the image (glTF convention).

    base_color: (H, W, 3) sRGB albedo, or (H, W, 4) with straight alpha for blended materials;
    roughness: (H, W) linear perceptual roughness (0 = mirror, 255 = fully rough);
    specular: (H, W) linear specular intensity, glTF KHR_materials_specular 'specular' factor * 255
        (255 = the dielectric default of 4 % reflectance at normal incidence);
    normal: (H, W, 3) tangent-space normal map, glTF convention (+x right = +u, +y up = +v, 128 = 0);
    alpha_mode: glTF alphaMode for this material ("OPAQUE", "MASK" or "BLEND").
    """

    base_color: np.ndarray
    roughness: np.ndarray
    specular: np.ndarray
    normal: np.ndarray
    alpha_mode: str = "OPAQUE"
    alpha_cutoff: float = 0.5
    double_sided: bool = False

    def __post_init__(self):
        h, w = self.base_color.shape[:2]
        for name in ("base_color", "roughness", "specular", "normal"):
            a = getattr(self, name)
            if a.dtype != np.uint8 or a.shape[:2] != (h, w):
                raise ValueError(f"MaterialTextures.{name} must be uint8 of size {(h, w)}, got {a.dtype} {a.shape}")
        if self.base_color.ndim != 3 or self.base_color.shape[2] not in (3, 4):
            raise ValueError("base_color must be (H, W, 3) or (H, W, 4)")
        if self.normal.ndim != 3 or self.normal.shape[2] != 3:
            raise ValueError("normal must be (H, W, 3)")
        if self.alpha_mode not in ("OPAQUE", "MASK", "BLEND"):
            raise ValueError(f"alpha_mode must be OPAQUE, MASK or BLEND, not {self.alpha_mode!r}")

    @property
    def shape(self) -> tuple[int, int]:
        return self.base_color.shape[:2]


@dataclass(eq=False)
class TextureSet:
    """Textures for every material of a topology, with the labels and parameters that made them.

    materials: material name (as in the face model) -> MaterialTextures;
    labels: attribute -> JSON value (e.g. {"skin_tone": "monk_05", "freckles": 0.3, "lipstick": true});
    params: the backend's full parameters (JSON-serialisable); backend: its name; seed: the seed used.
    """

    materials: dict[str, MaterialTextures]
    labels: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    backend: str = ""
    seed: int | None = None


class TextureBackend(Protocol):
    """A texture backend turns (model, UV layout, parameters, RNG) into a TextureSet.

    vertices: the asset's evaluated (V, 3) vertices, for backends that look at the asset's own shape
    (diffusion renders it); backends that work on the neutral mesh alone ignore them."""

    name: str

    def generate(
        self,
        model,
        layout,
        params: Mapping[str, Any] | Any,
        rng: np.random.Generator,
        progress: ProgressFn | None = None,
        vertices: np.ndarray | None = None,
    ) -> TextureSet: ...
