"""Make assets from a recipe: face model -> identity/expression -> UV layout -> textures -> Asset.

One job seed derives every asset's seed, and each asset's seed derives separate streams for identity,
expression, texture and hair, so changing one part of a recipe never reshuffles the others (the hair
stream is the last child of the seed: assets without hair keep every value they had before it existed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .asset import Asset, code_provenance
from .errors import ConfigError, InputError
from .recipe import Recipe, hair_labels, sample_expression, sample_hair_params, sample_identity
from .texture.base import ProgressFn, TextureSet

STREAMS = ("identity", "expression", "texture", "hair")


def asset_seed(job_seed: int, index: int) -> int:
    """The seed of asset `index` of a job: independent of how many assets the job has."""
    if job_seed < 0 or index < 0:
        raise InputError("seeds and indices must be non-negative")
    state = np.random.SeedSequence(job_seed, spawn_key=(index,)).generate_state(2, np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def asset_streams(seed: int) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}


def texture_backend(name: str):
    """The texture backend registered under `name` (diffusion backends register here later)."""
    from .texture.procedural import ProceduralSkinBackend

    def diffusion():  # lazy: torch/diffusers load only when this backend is used
        from .diffusion.text_to_uv import DiffusionTextureBackend

        return DiffusionTextureBackend()

    backends: dict[str, Callable] = {"procedural": ProceduralSkinBackend, "diffusion": diffusion}
    if name not in backends:
        raise ConfigError(f"unknown texture backend {name!r}; known: {', '.join(backends)}")
    return backends[name]()


def texture_params(backend_name: str, fixed: dict, rng: np.random.Generator):
    """Sample the backend's parameters, then apply the recipe's fixed ones (validated: ConfigError)."""
    from .texture.procedural import SkinParams

    sampled = SkinParams.sample(rng)
    return SkinParams.parse({**sampled.model_dump(), **fixed})


@dataclass
class AssetRequest:
    """Everything that determines one asset."""

    name: str
    seed: int
    recipe: Recipe
    job_seed: int | None = None
    index: int | None = None


def grow_asset_groom(model, spec, params, rng: np.random.Generator):
    """The groom of an asset, grown once on the model's neutral head (whose collision geometry is built once
    per process) and bound to its surface: the asset's identity and expression pose it through the binding,
    as for any other subject wearing it."""
    from .attach.hair import make_groom

    return make_groom(model, params, rng, parts=tuple(spec.parts))


# the procedural skin's painted brow / stubble colour that goes with a groom's colour bucket
_SKIN_HAIR_COLOR = {"black": "black", "dark_brown": "dark_brown", "brown": "brown", "light_brown": "light_brown",
                    "blond": "blond", "red": "red", "grey": "gray", "white": "gray"}


def groom_provenance(groom) -> dict:
    """What made a groom and its fingerprint (no timings: same seed, same bytes)."""
    return {"params": groom.params.as_dict(), "digest": groom.digest(), "n_strands": groom.n_strands()}


def make_asset(model, layout, request: AssetRequest, progress: ProgressFn | None = None, backend=None) -> Asset:
    """Build one asset: sample geometry and texture parameters, generate the texture set.

    backend: a configured texture backend object (default: the recipe's backend, freshly made)."""
    recipe = request.recipe
    rng = asset_streams(request.seed)
    identity = sample_identity(model, recipe.identity, rng["identity"])
    expression = sample_expression(model, recipe.expression, rng["expression"])
    vertices = model.vertices(identity, expression)
    backend = backend or texture_backend(recipe.texture.backend)
    params = texture_params(recipe.texture.backend, recipe.texture.params, rng["texture"])
    hair_params = None
    if recipe.hair is not None:
        # One subject: the groom greys with the skin's age unless the recipe fixes it, and the skin's
        # painted brows and stubble take the strands' colour unless the recipe fixes that.
        spec = recipe.hair
        if spec.age == "sample" and "age" in type(params).model_fields:
            spec = spec.model_copy(update={"age": float(min(max(params.age, 5.0), 100.0))})
        hair_params = sample_hair_params(spec, rng["hair"])
        skin_color = _SKIN_HAIR_COLOR.get(hair_labels(hair_params)["hair_color"])
        if skin_color and "hair_color" not in recipe.texture.params and "hair_color" in type(params).model_fields:
            params = params.model_copy(update={"hair_color": skin_color})
    groom = None
    if hair_params is None:
        textures: TextureSet = backend.generate(model, layout, params, rng["texture"], progress=progress,
                                                vertices=vertices)
    else:
        groom = grow_asset_groom(model, recipe.hair, hair_params, rng["hair"])
        textures = backend.generate(model, layout, params, rng["texture"], progress=progress, vertices=vertices)
    labels = dict(textures.labels)
    labels["expression"] = "neutral" if not expression.any() else "+".join(
        n for n, w in zip(model.expression_names, expression) if w > 0
    )
    provenance = {
        "recipe": recipe.as_dict(),
        "seed": request.seed,
        "job_seed": request.job_seed,
        "index": request.index,
        "streams": list(STREAMS if groom is not None else STREAMS[:3]),
        "face_model": {"name": "ICT-FaceKit Light", "fingerprint": model.fingerprint, "topology": model.topology_hash},
        "uv_resolution": layout.resolution,
        "texture": {"backend": backend.name, "params": textures.params},
        "code": code_provenance(),
    }
    if groom is not None:
        labels.update(hair_labels(groom.params))
        provenance["hair"] = groom_provenance(groom)
    return Asset(
        name=request.name,
        model=model,
        vertices=vertices,
        identity_weights=identity,
        expression_weights=expression,
        textures=textures,
        labels=labels,
        provenance=provenance,
        groom=groom,
    )
