"""The embedded default texture backend: procedural, physically motivated skin in UV space.

The skin materials (M_Face, M_BackHead) are painted by skin.py, the others (eyes, mouth, lashes, ...) by
parts/. Layout-only data are computed once per layout (fields_store.layout_fields); per-asset randomness
comes only from the `rng` argument, so the same params + seed give identical bytes.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from . import parts
from .base import MaterialTextures, ProgressFn, TextureSet
from .context import AssetContext
from .fields import SKIN_MATERIALS
from .fields_store import layout_fields
from .params import SkinParams
from .skin import skin_material


class ProceduralSkinBackend:
    """Procedural skin + eyes + mouth textures from a spectral chromophore model (no network, no GPU)."""

    name = "procedural"

    def generate(self, model, layout, params: SkinParams | Mapping[str, Any] | None, rng: np.random.Generator,
                 progress: ProgressFn | None = None, vertices: np.ndarray | None = None) -> TextureSet:
        """vertices are not used: skin is painted on the neutral mesh, so one texture set fits every
        identity of the topology."""
        p = SkinParams.parse(params)
        fields = layout_fields(model, layout)
        # One child seed per stage: stages stay reproducible independently of each other's draws.
        seeds = rng.integers(0, 2**63 - 1, size=8)
        ctx = AssetContext(model, layout, fields, p, seeds)
        names = list(layout.materials)
        total = len(names)
        out: dict[str, MaterialTextures] = {}
        for i, name in enumerate(names):
            if progress is not None:
                progress(i, total, name)
            if name in SKIN_MATERIALS:
                out[name] = skin_material(ctx, name)
            else:
                out[name] = parts.material(ctx, name)
        if progress is not None:
            progress(total, total, "done")
        return TextureSet(materials=out, labels=p.labels(), params=p.model_dump(mode="json"), backend=self.name)


def procedural_parts(model, layout, params: SkinParams | Mapping[str, Any] | None, seeds,
                     exclude=()) -> dict[str, MaterialTextures]:
    """The non-skin materials of `layout` except `exclude`, as ProceduralSkinBackend paints them for an asset
    whose eight stage seeds are `seeds` (other backends paint the skin and take these parts as they are)."""
    ctx = AssetContext(model, layout, layout_fields(model, layout), SkinParams.parse(params), np.asarray(seeds))
    return {n: parts.material(ctx, n) for n in layout.materials if n not in exclude}
