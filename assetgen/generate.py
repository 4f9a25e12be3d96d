"""Make assets from a recipe: face model -> identity/expression -> UV layout -> textures -> Asset.

One job seed derives every asset's seed, and each asset's seed derives separate streams for identity,
expression, texture, hair and items, so changing one part of a recipe never reshuffles the others (the hair
stream came after the first three and the items stream after it: assets without hair or items keep every
value they had before those existed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .asset import Asset, code_provenance
from .errors import ConfigError, InputError
from .recipe import Recipe, hair_labels, sample_expression, sample_hair_params, sample_identity, sample_items_params
from .texture.base import ProgressFn, TextureSet

STREAMS = ("identity", "expression", "texture", "hair", "items")


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
    """A new texture backend of the kind registered under `name`. Cheap to make per asset: the diffusion
    backend's runtime (its loaded models) is `text_to_uv.configured(...)`'s, else the process's shared one
    (diffusion.loading.shared_runtime), so the assets of a batch load each model once."""
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


def subject_hair(spec, params, rng: np.random.Generator, skin_hair_fixed: bool = False):
    """(GroomParams, skin parameters) of one subject from a recipe hair section and its skin parameters: the
    groom greys with the skin's age unless the section fixes the age, and the skin's painted brows and
    stubble take the strands' colour unless `skin_hair_fixed` (the caller fixed the painted colour)."""
    if spec.age == "sample" and "age" in type(params).model_fields:
        spec = spec.model_copy(update={"age": float(min(max(params.age, 5.0), 100.0))})
    hair_params = sample_hair_params(spec, rng)
    skin_color = _SKIN_HAIR_COLOR.get(hair_labels(hair_params)["hair_color"])
    if skin_color and not skin_hair_fixed and "hair_color" in type(params).model_fields:
        params = params.model_copy(update={"hair_color": skin_color})
    return hair_params, params


def skin_under_groom(spec, params):
    """The skin parameters of a subject whose groom grows the parts of hair section `spec`: strand lashes
    replace the face model's lash cards (lash_cards off), where the skin has cards to paint."""
    if "lashes" in spec.parts and "lash_cards" in type(params).model_fields:
        return params.model_copy(update={"lash_cards": False})
    return params


def subject_worn_hair(spec, params, rng: np.random.Generator, outfit_params=None, skin_hair_fixed: bool = False):
    """subject_hair, then, when the subject wears headwear or a mask that its scalp or beard style does not fit
    under (attach.items.compatible_hair), the same draw again (the stream's state restored) with the style
    swapped for one that fits."""
    state = rng.bit_generator.state
    hair_params, skin = subject_hair(spec, params, rng, skin_hair_fixed)
    if outfit_params is None:
        return hair_params, skin
    from .attach.items import compatible_hair

    style, beard = compatible_hair(outfit_params, hair_params.scalp.style, hair_params.beard.style)
    if (style, beard) == (hair_params.scalp.style, hair_params.beard.style):
        return hair_params, skin
    rng.bit_generator.state = state
    return subject_hair(spec.model_copy(update={"style": style, "beard_style": beard}), params, rng, skin_hair_fixed)


def outfit_provenance(outfit) -> dict:
    """What made an outfit, its fingerprint and each item's fit record (no timings: same seed, same bytes)."""
    return {"params": outfit.params.as_dict(), "digest": outfit.digest(),
            "fit": {it.kind: dict(it.info) for it in outfit.items}}


def groom_provenance(groom) -> dict:
    """What made a groom and its fingerprint (no timings: same seed, same bytes)."""
    return {"params": groom.params.as_dict(), "digest": groom.digest(), "n_strands": groom.n_strands()}


def make_asset(model, layout, request: AssetRequest, progress: ProgressFn | None = None, backend=None) -> Asset:
    """Build one asset: sample geometry and texture parameters, generate the texture set.

    backend: a configured texture backend object (default: the recipe's backend, freshly made). With
    `items.textures: diffusion` the outfit's fabric and acetate materials are painted after it is fitted
    (diffusion.item_textures; the skin's diffusion runtime when the skin uses one, so models load once)."""
    recipe = request.recipe
    rng = asset_streams(request.seed)
    identity = sample_identity(model, recipe.identity, rng["identity"])
    expression = sample_expression(model, recipe.expression, rng["expression"])
    vertices = model.vertices(identity, expression)
    backend = backend or texture_backend(recipe.texture.backend)
    params = texture_params(recipe.texture.backend, recipe.texture.params, rng["texture"])
    outfit_params = sample_items_params(recipe.items, rng["items"]) if recipe.items is not None else None
    hair_params = None
    if recipe.hair is not None:
        hair_params, params = subject_worn_hair(recipe.hair, params, rng["hair"], outfit_params,
                                                "hair_color" in recipe.texture.params)
    groom = None
    if hair_params is None:
        textures: TextureSet = backend.generate(model, layout, params, rng["texture"], progress=progress,
                                                vertices=vertices)
    else:
        groom = grow_asset_groom(model, recipe.hair, hair_params, rng["hair"])
        params = skin_under_groom(recipe.hair, params)
        textures = backend.generate(model, layout, params, rng["texture"], progress=progress, vertices=vertices)
    outfit = None
    if outfit_params is not None:
        from .attach.items import make_outfit

        scalp = hair_params.scalp if groom is not None else None
        volume = 0.0 if scalp is None or scalp.style == "bald" else float(scalp.volume)
        outfit = make_outfit(model, outfit_params, rng["items"], identity=identity, hair_volume=volume)
        if recipe.items.textures == "diffusion":
            from .diffusion.item_textures import paint_item_textures

            runtime = backend.runtime if getattr(backend, "name", None) == "diffusion" else None
            outfit, item_textures = paint_item_textures(outfit, recipe.items.diffusion, rng["items"], runtime,
                                                        progress)
        if groom is not None:
            from .attach.items.hair import clip_groom

            groom = clip_groom(groom, outfit, model, model.vertices(identity))
    labels = dict(textures.labels)
    labels["expression"] = "neutral" if not expression.any() else "+".join(
        n for n, w in zip(model.expression_names, expression) if w > 0
    )
    provenance = {
        "recipe": recipe.as_dict(),
        "seed": request.seed,
        "job_seed": request.job_seed,
        "index": request.index,
        "streams": list(STREAMS[:3]) + ["hair"] * (groom is not None) + ["items"] * (outfit is not None),
        "face_model": {"name": "ICT-FaceKit Light", "fingerprint": model.fingerprint, "topology": model.topology_hash},
        "uv_resolution": layout.resolution,
        "texture": {"backend": backend.name, "params": textures.params},
        "code": code_provenance(),
    }
    if groom is not None:
        labels.update(hair_labels(groom.params))
        provenance["hair"] = groom_provenance(groom)
    if outfit is not None:
        from .attach.items import item_labels

        labels.update(item_labels(outfit.params))
        provenance["items"] = outfit_provenance(outfit)
        if recipe.items.textures == "diffusion":
            labels["item_textures"] = "diffusion"
            provenance["items"]["textures"] = item_textures
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
        items=outfit,
    )
