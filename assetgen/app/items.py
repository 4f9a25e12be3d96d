"""The editor's item controls: their choices, their values -> a recipe items section (recipe.ItemsSpec), and a
stored outfit's parameters -> their values (opening an asset).

One dropdown per item type the item sampler knows (attach.items.sample.CHOICES: glasses frame families,
garments, hats, masks, and whatever types and variants are added there and to the recipe's items section),
plus the lens kind. Each takes `none` (not worn), `any` (worn, variant drawn from the seed), `sample` (worn
with the priors' probability, as `sample` in a recipe's `items:` section) or a variant; the lens takes `any`
or a lens kind. Every type `none` is no items at all: the asset as before items existed.
"""

from __future__ import annotations

from typing import Any

from ..errors import InputError

NONE = "none"
ANY = "any"
SAMPLE = "sample"
LENS = "lens"


# what the status calls a worn variant: "<variant> <noun>" (glasses: the frame and the lens kind)
NOUNS = {"facewear": "mask", "earrings": "earrings", "piercings": "piercing"}


def item_tables() -> dict[str, tuple[str, ...]]:
    """{item type: its variants} for every type the sampler draws and a recipe's items section can fix, in
    the sampler's order."""
    from ..attach.items.sample import CHOICES
    from ..recipe import ItemsSpec

    return {kind: tuple(variants) for kind, variants in CHOICES.items() if kind in ItemsSpec.model_fields}


def hidden_kinds() -> tuple[str, ...]:
    """The item types the sampler draws that a recipe's items section cannot fix (no control): never worn in
    the editor (their priors set to 0), so the editor wears exactly what its controls say."""
    from ..attach.items.sample import CHOICES

    return tuple(kind for kind in CHOICES if kind not in item_tables())


def _variant(item, variants: tuple[str, ...]) -> str | None:
    """The worn item's variant: its (first) field whose value is one of `variants`."""
    return next((getattr(item, f) for f in type(item).model_fields
                 if isinstance(getattr(item, f), str) and getattr(item, f) in variants), None)


def lens_choices() -> tuple[str, ...]:
    from ..attach.items.params import LENSES

    return (ANY, *LENSES)


def kind_choices(kind: str) -> tuple[str, ...]:
    return (NONE, ANY, SAMPLE, *item_tables()[kind])


def item_keys() -> tuple[str, ...]:
    """The UI's keys (gradio_client names them so), in the order the controls are laid out and received: the
    item types, the lens kind right after glasses."""
    keys: list[str] = []
    for kind in item_tables():
        keys.append(kind)
        if kind == "glasses":
            keys.append(LENS)
    return tuple(keys)


def defaults() -> dict[str, Any]:
    """Nothing worn; any lens."""
    return {k: ANY if k == LENS else NONE for k in item_keys()}


def choices(key: str) -> tuple[str, ...]:
    return lens_choices() if key == LENS else kind_choices(key)


def _choice(values: dict[str, Any], key: str) -> str:
    v = values.get(key)
    if v is None or v == "":
        v = defaults()[key]
    known = choices(key)
    if not isinstance(v, str) or v not in known:
        shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
        raise InputError(f"unknown {key.replace('_', ' ')} {shown}; use one of {', '.join(known)}")
    return v


def items_spec(values: dict[str, Any]):
    """The item controls' values ({item_keys(): value}, missing ones at defaults()) -> a recipe.ItemsSpec, or
    None when every type is `none`. A bad value is an InputError naming the control, the value and what it
    takes."""
    from pydantic import ValidationError

    from ..errors import validation_problems
    from ..recipe import ItemsSpec

    keys = item_keys()
    unknown = sorted(set(values) - set(keys))
    if unknown:
        raise InputError(f"unknown item control(s) {', '.join(unknown)}; known: {', '.join(keys)}")
    chosen = {k: _choice(values, k) for k in keys}
    if all(chosen[k] == NONE for k in keys if k != LENS):
        return None
    fields: dict[str, Any] = {k: v for k, v in chosen.items() if k != LENS}
    fields[LENS] = SAMPLE if chosen[LENS] == ANY else chosen[LENS]
    from ..attach.items.params import ItemPriors

    hidden = {kind: 0.0 for kind in hidden_kinds() if kind in ItemPriors.model_fields}
    if hidden:
        fields["priors"] = hidden
    try:
        return ItemsSpec(**fields)
    except ValidationError as exc:
        raise InputError(f"items: {validation_problems(exc)}") from None


def outfit_to_ui(params) -> dict[str, Any]:
    """An outfit's OutfitParams (or its dict, or None: no items) -> the item controls' values that make it
    again from the same seed (each worn type's variant fixed, the lens kind fixed; every other value is drawn
    again from the seed's items stream exactly as before)."""
    from ..attach.items.params import OutfitParams

    out = defaults()
    if params is None:
        return out
    p = params if isinstance(params, OutfitParams) else OutfitParams.model_validate(params)
    tables = item_tables()
    for kind in tables:
        item = getattr(p, kind, None)
        if item is None:
            continue
        out[kind] = _variant(item, tables[kind]) or ANY
        if kind == "glasses":
            out[LENS] = item.lens
    return out


def random_items(seed: Any) -> dict[str, Any]:
    """The item controls for a random subject of `seed`: what a recipe's `items: {}` section (every type
    `sample`, the shipped priors) draws from the seed's items stream, each worn type's variant fixed."""
    from ..generate import asset_streams
    from ..recipe import ItemsSpec, sample_items_params
    from .editor import check_seed

    return outfit_to_ui(sample_items_params(ItemsSpec(), asset_streams(check_seed(seed))["items"]))


def items_summary(asset) -> str:
    """One line on what the asset wears for the status, e.g. "aviator sunglasses, hoodie, beanie, n95 mask"."""
    from ..attach.items.sample import CHOICES

    outfit = getattr(asset, "items", None)
    if outfit is None or not outfit.params.kinds:
        return "none"
    p = outfit.params
    words = []
    for kind in p.kinds:
        item = getattr(p, kind)
        if kind == "glasses":
            lens = "" if item.lens == "sunglasses" else f"{item.lens} "
            noun = "sunglasses" if item.lens == "sunglasses" else "glasses"
            words.append(f"{item.frame.replace('_', ' ')} {lens}{noun}")
            continue
        variant = _variant(item, tuple(CHOICES.get(kind, ()))) or kind
        words.append(" ".join(w for w in (variant.replace("_", " "), NOUNS.get(kind)) if w))
    return ", ".join(words)
