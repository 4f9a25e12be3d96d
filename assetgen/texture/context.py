"""Per-asset state of the procedural backend, shared by every material of one asset: its parameters,
noise fields, detail tile offsets, skin spots and hair colour, and one random stream per material."""

from __future__ import annotations

import numpy as np

from . import chromophore as chrom
from .fields import LayoutFields
from .noise import ValueNoise3D
from .params import SkinParams

DETAIL_TILE = 256  # texels; pores are ~8 texels apart at 2048 (about 0.7 mm on the face)


class AssetContext:
    """Per-asset state shared by the materials: parameters, noise fields, colours.

    seeds: the asset's eight stage seeds (0: skin noises, 1: detail tile offsets, 2: skin spots, 3: the
    per-material generators of part_rng), so each stage's draws are independent of the others'."""

    def __init__(self, model, layout, fields: LayoutFields, params: SkinParams, seeds: np.ndarray):
        self.model, self.layout, self.fields, self.params = model, layout, fields, params
        self.seeds = seeds
        lo, hi = model.neutral.min(0), model.neutral.max(0)
        r = np.random.default_rng(seeds[0])
        self.noise_mel = ValueNoise3D(r, lo, hi, cell_cm=4.0, octaves=3)
        self.noise_hb = ValueNoise3D(r, lo, hi, cell_cm=3.0, octaves=2)
        self.noise_rough = ValueNoise3D(r, lo, hi, cell_cm=2.0, octaves=2)
        self.noise_hair = ValueNoise3D(r, lo, hi, cell_cm=0.8, octaves=2)
        self.tile_offsets = np.random.default_rng(seeds[1]).integers(0, DETAIL_TILE, size=(4, 2))
        self.spots = _sample_spots(fields, params, np.random.default_rng(seeds[2]))
        hair = chrom.HAIR_COLOR_MELANIN[params.resolved_hair_color]
        self.hair_rgb = chrom.hair_linear_rgb(*hair)

    def part_rng(self, name: str) -> np.random.Generator:
        """A generator for one material that does not depend on the order materials are built in."""
        salt = int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "little")
        return np.random.default_rng([int(self.seeds[3]), salt])


def _sample_spots(fields: LayoutFields, p: SkinParams, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Spot centres as vertex ids with amplitudes, per kind. Freckles and age spots follow sun exposure
    (nose, cheeks, forehead); moles anywhere on face and neck skin."""
    w = fields.vertex_weights
    out = {}
    n_v = len(w["sun"])
    sun = np.asarray(w["sun"], np.float64) ** 1.5
    # freckles: up to ~400 over the sun-exposed face
    n_fr = int(rng.poisson(400 * p.freckles**1.3)) if p.freckles > 0 else 0
    if n_fr and sun.sum() > 0:
        ids = rng.choice(n_v, size=n_fr, p=sun / sun.sum())
        out["freckles"] = (ids, rng.uniform(0.5, 1.0, n_fr).astype(np.float32))
    n_age = int(rng.poisson(max(0.0, p.age - 42.0) * 0.25))
    if n_age and sun.sum() > 0:
        ids = rng.choice(n_v, size=n_age, p=sun / sun.sum())
        out["age_spots"] = (ids, rng.uniform(0.4, 1.0, n_age).astype(np.float32))
    if p.moles:
        front = np.clip(w["beard"] + w["sun"] + w["forehead"] + w["cheeks"], 0, 1).astype(np.float64) + 1e-3
        ids = rng.choice(n_v, size=p.moles, p=front / front.sum())
        out["moles"] = (ids, rng.uniform(0.6, 1.0, p.moles).astype(np.float32))
    return out
