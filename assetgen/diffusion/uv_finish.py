"""The last step of text -> UV: the painted skin textures, baked at the views' resolution, are delit, their
never-seen texels filled and seams padded, and they are resampled to the layout's size.

Delighting comes first, on the texels views saw (what a fill would spread, it spreads delit); with
pull-push one pass then fills the holes and pads the seams alike. Materials are independent: they are
finished in parallel unless the fill runs the diffusion model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..texture.base import MaterialTextures
from ..uv.padding import fill_background

RESAMPLE = 1  # cv2.INTER_LINEAR, bake size -> layout size: as close to the true texture as cubic or Lanczos (bench)


@dataclass(eq=False)
class Finished:
    """One finished material: base (H, W, 3) uint8 at the layout's size; seen: (H, W) bool texels a view
    painted; delight: the delighting's provenance (None: none); fill: the diffusion fill's (None: none)."""

    base: np.ndarray
    seen: np.ndarray
    delight: dict[str, Any] | None
    fill: dict[str, Any] | None


def finish_materials(tex: dict[str, np.ndarray], seen: dict[str, np.ndarray], covered: dict[str, np.ndarray],
                     layout, config, runtime=None, seed: int = 0) -> dict[str, Finished]:
    """Finish every painted material: tex[m] (h, w, 4) uint8 at the bake size, seen[m] / covered[m] (h, w)
    bool: texels some view painted / the layout covers at that size."""
    mats = list(tex)

    def one(m: str) -> Finished:
        return finish_material(tex[m][..., :3], seen[m], covered[m], layout[m].shape, layout[m].mask, config,
                               runtime=runtime, seed=seed)

    if config.fill != "diffusion" and len(mats) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(mats)) as pool:
            return dict(zip(mats, pool.map(one, mats)))
    return {m: one(m) for m in mats}


def finish_material(img: np.ndarray, seen: np.ndarray, covered: np.ndarray, shape: tuple[int, int],
                    layout_mask: np.ndarray, config, runtime=None, seed: int = 0) -> Finished:
    """Delight (config.delight), fill the holes covered & ~seen (config.fill: pull-push, telea or the
    diffusion inpainting model in UV space), pad, and resample to `shape`."""
    delit, filled_by = None, None
    if config.delight == "classical":
        from ..despecular import despecularize

        d = despecularize(img, mask=seen)
        img, delit = d.diffuse, {"method": d.method, **d.params}
    img = fill_background(np.ascontiguousarray(img), seen)  # holes and seams: pull-push from the seen texels
    hole = covered & ~seen
    if hole.any() and config.fill == "telea":
        from .clean import inpaint_classical

        img = fill_background(inpaint_classical(img, hole, valid=covered).image, covered)
    elif hole.any() and config.fill == "diffusion":
        from .clean import inpaint_diffusion

        res = inpaint_diffusion(runtime, img, hole, config.prompt, seed=seed, steps=config.steps,
                                negative_prompt=config.negative_prompt, size=config.size)
        img = fill_background(res.image, covered)
        filled_by = {k: v for k, v in res.provenance.items() if k not in ("prompt", "negative_prompt")}
    return Finished(resample(img, shape), resample(seen, shape) & layout_mask, delit, filled_by)


def flat_skin(shape, config, base: np.ndarray | None = None) -> MaterialTextures:
    """Skin maps of (h, w) `shape`: `base` (default: the background colour), the recipe's flat roughness
    and specular, a flat normal map (the diffusion model paints colour only)."""
    h, w = shape
    if base is None:
        base = np.empty((h, w, 3), np.uint8)
        base[:] = config.background
    normal = np.empty((h, w, 3), np.uint8)
    normal[:] = (128, 128, 255)
    return MaterialTextures(base, np.full((h, w), config.roughness, np.uint8), np.full((h, w), config.specular, np.uint8), normal)


def resample(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A bake-size texture (every texel defined) or bool map -> the layout's (h, w): bilinear for
    colours, nearest for masks."""
    import cv2

    if image.shape[:2] == tuple(shape):
        return image
    h, w = shape
    if image.dtype == bool:
        return cv2.resize(image.view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    return cv2.resize(image, (w, h), interpolation=RESAMPLE)
