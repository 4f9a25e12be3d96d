"""The editor's values -> an Asset: face-model geometry with a texture from the chosen backend and, when the
hair and item controls ask for them, a groom (assetgen.attach.hair) and an outfit (assetgen.attach.items)
made as generate.make_asset makes them."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..errors import InputError
from ..library.store import check_name
from .editor import EditorState, check_seed, face_model, skin_params, uv_layout, weights
from .texturing import diffusion_message

ProgressFn = Callable[[int, int, str], None]


def build_asset(name: str, seed: Any, resolution: Any, identity: Sequence[float], expressions: dict[str, float],
                params: dict[str, Any], backend: str = "procedural", state: EditorState | None = None,
                progress: ProgressFn | None = None, texture=None, hair=None, items=None):
    """The editor's values -> an Asset (geometry from the face model, texture from the chosen backend).

    Same stages as generate.make_asset, with explicit weights and parameters instead of a recipe's draws;
    the texture stream comes from the seed exactly as make_asset derives it. backend "diffusion" needs
    `texture`: a configured texture backend object (DiffusionTexturing.backend(...)); for the diffusion
    backend `params` are those of the procedural parts (eyes, teeth, ...). hair: a recipe.HairSpec
    (app.hair.hair_spec) or None (no strands); the groom comes from the seed's hair stream, greys with the
    skin's age and colours the painted brows and stubble unless `params` fix hair_color, as in make_asset.
    items: a recipe.ItemsSpec (app.items.items_spec) or None (nothing worn); the outfit comes from the seed's
    items stream and is fitted to the identity, a hair style that does not fit under the chosen hat or mask
    is swapped for one that does, and strands that would poke through an item are dropped, as in make_asset."""
    from ..asset import Asset, code_provenance
    from ..generate import (
        STREAMS,
        asset_streams,
        groom_provenance,
        grow_asset_groom,
        outfit_provenance,
        skin_under_groom,
        subject_worn_hair,
        texture_backend,
    )
    from ..recipe import hair_labels, sample_items_params

    name = check_name(name.strip() if isinstance(name, str) else name)  # the library's rule: a safe file name
    seed = check_seed(seed)
    if backend not in ("procedural", "diffusion"):
        raise InputError(f"unknown texture backend {backend!r}; use procedural or diffusion")
    if backend == "diffusion" and texture is None:
        raise InputError(diffusion_message())
    model = face_model()
    layout = uv_layout(resolution)
    ident, expr = weights(model, identity, expressions, state)
    p = skin_params(params)
    vertices = model.vertices(ident, expr)
    rng = asset_streams(seed)
    texturer = texture if texture is not None else texture_backend(backend)
    groom = None
    outfit_params = sample_items_params(items, rng["items"]) if items is not None else None
    if hair is not None:
        skin_hair_fixed = params.get("hair_color") not in (None, "", "auto")
        hair_params, p = subject_worn_hair(hair, p, rng["hair"], outfit_params, skin_hair_fixed)
        groom = grow_asset_groom(model, hair, hair_params, rng["hair"])
        p = skin_under_groom(hair, p)
    outfit = None
    if outfit_params is not None:
        from ..attach.items import make_outfit

        scalp = groom.params.scalp if groom is not None else None
        volume = 0.0 if scalp is None or scalp.style == "bald" else float(scalp.volume)
        outfit = make_outfit(model, outfit_params, rng["items"], identity=ident, hair_volume=volume)
        if groom is not None:
            from ..attach.items.hair import clip_groom

            groom = clip_groom(groom, outfit, model, model.vertices(ident))
    textures = texturer.generate(model, layout, p, rng["texture"], progress=progress, vertices=vertices)
    labels = dict(textures.labels)
    labels["expression"] = "neutral" if not expr.any() else "+".join(
        n for n, w in zip(model.expression_names, expr) if w > 0)
    provenance = {
        "source": "ui",
        "seed": seed,
        "streams": list(STREAMS),
        "identity_weights": [round(float(x), 6) for x in ident],
        "expression_weights": {n: round(float(w), 6) for n, w in zip(model.expression_names, expr) if w},
        "face_model": {"name": "ICT-FaceKit Light", "fingerprint": model.fingerprint, "topology": model.topology_hash},
        "uv_resolution": layout.resolution,
        "texture": {"backend": backend, "params": textures.params},
        "code": code_provenance(),
    }
    if groom is not None:
        labels.update(hair_labels(groom.params))
        provenance["hair"] = {**groom_provenance(groom), "spec": hair.model_dump(mode="json")}
    if outfit is not None:
        from ..attach.items import item_labels

        labels.update(item_labels(outfit.params))
        provenance["items"] = {**outfit_provenance(outfit), "spec": items.model_dump(mode="json")}
    return Asset(name=name, model=model, vertices=vertices, identity_weights=ident, expression_weights=expr,
                 textures=textures, labels=labels, provenance=provenance, groom=groom, items=outfit)
