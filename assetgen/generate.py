"""Make assets from a recipe: face model -> identity/expression -> UV layout -> textures -> Asset.

One job seed derives every asset's seed, and each asset's seed derives separate streams for identity,
expression and texture, so changing one part of a recipe never reshuffles the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .asset import Asset, code_provenance
from .errors import ConfigError, InputError
from .recipe import Recipe, sample_expression, sample_identity
from .texture.base import ProgressFn, TextureSet

STREAMS = ("identity", "expression", "texture")


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
    textures: TextureSet = backend.generate(model, layout, params, rng["texture"], progress=progress,
                                            vertices=vertices)
    labels = dict(textures.labels)
    labels["expression"] = "neutral" if not expression.any() else "+".join(
        n for n, w in zip(model.expression_names, expression) if w > 0
    )
    provenance = {
        "recipe": recipe.as_dict(),
        "seed": request.seed,
        "job_seed": request.job_seed,
        "index": request.index,
        "streams": list(STREAMS),
        "face_model": {"name": "ICT-FaceKit Light", "fingerprint": model.fingerprint, "topology": model.topology_hash},
        "uv_resolution": layout.resolution,
        "texture": {"backend": backend.name, "params": textures.params},
        "code": code_provenance(),
    }
    return Asset(
        name=request.name,
        model=model,
        vertices=vertices,
        identity_weights=identity,
        expression_weights=expression,
        textures=textures,
        labels=labels,
        provenance=provenance,
    )
