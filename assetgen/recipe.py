"""Recipes: how a batch of assets is drawn (identity, expression, texture backend and its parameters, hair,
the items worn).

A recipe is validated at the edge (unknown keys are errors) and recorded in every asset's provenance.
The readable default lives in pipelines/demo.yaml; `Recipe()` is the same recipe without its `hair:`
section (a recipe without one makes bald assets without brow or lash strands, exactly as before hair).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ConfigError, validation_problems
from .names import name_problem
from .yamlio import load_yaml

# Expressions a face-data user sees most; each drawn asset activates a few of them.
DEFAULT_EXPRESSIONS = (
    "jawOpen", "mouthSmile_L", "mouthSmile_R", "browInnerUp_L", "browInnerUp_R", "eyeBlink_L", "eyeBlink_R",
    "mouthFunnel", "mouthPucker", "browDown_L", "browDown_R", "cheekPuff_L", "cheekPuff_R", "mouthFrown_L",
    "mouthFrown_R", "eyeWide_L", "eyeWide_R", "noseSneer_L", "noseSneer_R", "mouthStretch_L", "mouthStretch_R",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IdentitySpec(_Strict):
    """Identity weights ~ N(0, scale^2), resampled beyond |w| > truncation (None: no truncation)."""

    truncation: float | None = Field(2.5, gt=0)
    scale: float = Field(1.0, ge=0, le=3)
    modes: int | None = Field(None, ge=1, description="use only the leading modes (None: all)")


class ExpressionSpec(_Strict):
    """With probability `probability` an asset gets 1..max_active expressions from `names`, each with a
    weight uniform in [0, max_weight]; otherwise it is neutral."""

    probability: float = Field(0.5, ge=0, le=1)
    max_active: int = Field(2, ge=1, le=10)
    max_weight: float = Field(0.7, ge=0, le=1)
    names: tuple[str, ...] = DEFAULT_EXPRESSIONS


class TextureSpec(_Strict):
    """backend: which texture backend; params: fixed skin parameters (the rest are sampled). The
    diffusion backend paints the skin and takes the procedural parts (eyes, teeth, ...) from params."""

    backend: Literal["procedural", "diffusion"] = "procedural"
    params: dict[str, Any] = Field(default_factory=dict)


_SAMPLE = "sample"
_HAIR_SECTIONS = ("scalp", "brows", "beard", "lashes", "color")
HAIR_COLOR_LABELS = ("black", "dark_brown", "brown", "light_brown", "blond", "red", "grey", "white", "dyed")


def _hair_param_models() -> dict[str, type]:
    from .attach.hair.params import BeardParams, BrowParams, ColorParams, LashParams, ScalpParams

    return {"scalp": ScalpParams, "brows": BrowParams, "beard": BeardParams, "lashes": LashParams,
            "color": ColorParams}


def _hair_choices():
    from .attach.hair.params import BEARD_STYLES, HAIR_COLORS, SCALP_STYLES

    return SCALP_STYLES, BEARD_STYLES, HAIR_COLORS


class HairSpec(_Strict):
    """The groom of each asset (assetgen.attach.hair). Every value is `sample` (drawn per asset from the
    priors) or fixed. style: scalp style (SCALP_STYLES); beard_style (BEARD_STYLES); color: natural colour
    category (black, dark_brown, brown, light_brown, blond, red, platinum); age: years (sets the grey
    share); grey: share of grey strands 0..1; scalp/brows/beard/lashes/color: fixed GroomParams fields of
    that section (e.g. scalp: {length: 20}); priors: GroomPriors (style, beard, parting, hair_color
    probability tables, fringe, dye, face_independent probabilities, age range); parts: what grows."""

    style: str = _SAMPLE
    beard_style: str = _SAMPLE
    color: str = _SAMPLE
    age: float | Literal["sample"] = _SAMPLE
    grey: float | Literal["sample"] = _SAMPLE
    scalp: dict[str, Any] = Field(default_factory=dict)
    brows: dict[str, Any] = Field(default_factory=dict)
    beard: dict[str, Any] = Field(default_factory=dict)
    lashes: dict[str, Any] = Field(default_factory=dict)
    color_params: dict[str, Any] = Field(default_factory=dict)
    priors: dict[str, Any] = Field(default_factory=dict)
    parts: tuple[Literal["scalp", "brows", "beard", "lashes"], ...] = ("scalp", "brows", "beard", "lashes")

    @field_validator("style", "beard_style", "color")
    @classmethod
    def _choice(cls, v: str, info) -> str:
        styles, beards, colors = _hair_choices()
        known = {"style": styles, "beard_style": beards, "color": colors}[info.field_name]
        if v != _SAMPLE and v not in known:
            raise ValueError(f"unknown {info.field_name} {v!r}; use sample or one of {', '.join(known)}")
        return v

    @field_validator("age")
    @classmethod
    def _age(cls, v):
        if v != _SAMPLE and not 5 <= float(v) <= 100:
            raise ValueError(f"age {v} must lie in [5, 100] (or be sample)")
        return v

    @field_validator("grey")
    @classmethod
    def _grey(cls, v):
        if v != _SAMPLE and not 0 <= float(v) <= 1:
            raise ValueError(f"grey {v} must lie in [0, 1] (or be sample)")
        return v

    @field_validator("scalp", "brows", "beard", "lashes", "color_params")
    @classmethod
    def _section(cls, v: dict, info) -> dict:
        section = "color" if info.field_name == "color_params" else info.field_name
        model = _hair_param_models()[section]
        fixed = {k: x for k, x in v.items() if x != _SAMPLE}
        unknown = sorted(set(fixed) - set(model.model_fields))
        if unknown:
            raise ValueError(f"unknown {section} parameter(s) {unknown}; known: {', '.join(model.model_fields)}")
        try:
            model(**fixed)
        except ValidationError as exc:
            raise ValueError(validation_problems(exc)) from None
        return fixed

    @field_validator("priors")
    @classmethod
    def _priors(cls, v: dict) -> dict:
        from .attach.hair.params import GroomPriors

        try:
            GroomPriors(**v)
        except ValidationError as exc:
            raise ValueError(validation_problems(exc)) from None
        return v

    def fixed(self) -> dict[str, Any]:
        """The fixed values as sample_groom_params keywords (section dicts and shortcuts)."""
        out: dict[str, Any] = {}
        for name in _HAIR_SECTIONS:
            vals = dict(getattr(self, "color_params" if name == "color" else name))
            if name == "color":
                if self.color != _SAMPLE:
                    vals["category"] = self.color
                if self.grey != _SAMPLE:
                    vals["grey"] = float(self.grey)
            if vals:
                out[name] = vals
        if self.style != _SAMPLE:
            out["style"] = self.style
        if self.beard_style != _SAMPLE:
            out["beard_style"] = self.beard_style
        if self.age != _SAMPLE:
            out["age"] = float(self.age)
        return out

    def groom_priors(self):
        from .attach.hair.params import GroomPriors

        return GroomPriors(**self.priors)


def _item_choices() -> dict[str, tuple[str, ...]]:
    from .attach.items.params import EARRINGS, FRAMES, GARMENTS, HATS, LENSES, MASKS, PIERCINGS

    return {"glasses": FRAMES, "lens": LENSES, "clothing": GARMENTS, "headwear": HATS, "facewear": MASKS,
            "earrings": EARRINGS, "piercings": PIERCINGS}


def _item_param_models() -> dict[str, type]:
    from .attach.items.params import (
        ClothingParams,
        EarringParams,
        FacewearParams,
        GlassesParams,
        HeadwearParams,
        PiercingParams,
    )

    return {"glasses_params": GlassesParams, "clothing_params": ClothingParams, "headwear_params": HeadwearParams,
            "facewear_params": FacewearParams, "earrings_params": EarringParams, "piercings_params": PiercingParams}


class ItemTexturesSpec(_Strict):
    """How diffusion-made item textures are drawn (items.textures: diffusion; assetgen.diffusion.item_textures):
    steps / guidance: of the registry's text2image model; resolution: the generated image's side (rounded down
    to a multiple of 8); size: the stored texture's side (the material's own size when that is larger);
    tileable: circular padding in the model's convolutions, so the image wraps seamlessly across u and v;
    tint: `mean` scales the image so its mean linear colour is the procedural material's (colour labels stay
    true), `none` keeps the model's colours; negative_prompt; seed: fixes the diffusion seed (default: drawn
    from the asset's items stream)."""

    steps: int = Field(20, ge=1, le=200)
    guidance: float = Field(7.5, ge=0, le=50)
    resolution: int = Field(512, ge=16, le=2048)
    size: int = Field(128, ge=4, le=4096)
    tileable: bool = True
    tint: Literal["mean", "none"] = "mean"
    negative_prompt: str | None = "text, watermark, logo, seams, shadows, folds, perspective, person"
    seed: int | None = Field(None, ge=0)


class ItemsSpec(_Strict):
    """What each asset wears (assetgen.attach.items). glasses / clothing / headwear / facewear: `sample`
    (worn with the priors' probability, variant drawn), `none`, `any` (worn, variant drawn) or a variant:
    a frame family (round, rectangular, aviator, cat_eye, rimless), a garment (crew_neck, v_neck, collared,
    turtleneck, hoodie), a hat (baseball_cap, beanie, brimmed_hat, headscarf, headband, helmet) or a mask
    (surgical, n95, kn95, cloth); earrings: stud, hoop, drop; piercings: nostril_stud, nostril_ring, septum,
    brow; lens: sample or clear, tinted, sunglasses; *_params: fixed fields of that
    item's parameters (e.g. glasses_params: {vertex_distance: 1.5}); priors: ItemPriors (glasses 0.15,
    headwear 0.15, facewear 0.01, clothing 1.0, earrings 0.10, piercings 0.03 and the variant tables). With
    a hair section, a scalp or
    beard style that does not fit under the chosen hat or mask is swapped for one that does (attach.items
    .compatible_hair), and strands that would still poke through an item are dropped.
    textures: `procedural` (default: patterns drawn from each material's fields) or `diffusion` (fabric and
    acetate materials painted by the model registry's text2image model, drawn as `diffusion:`
    (ItemTexturesSpec) says; metal, lenses and small trims stay procedural)."""

    glasses: str = _SAMPLE
    lens: str = _SAMPLE
    clothing: str = _SAMPLE
    headwear: str = _SAMPLE
    facewear: str = _SAMPLE
    earrings: str = _SAMPLE
    piercings: str = _SAMPLE
    glasses_params: dict[str, Any] = Field(default_factory=dict)
    clothing_params: dict[str, Any] = Field(default_factory=dict)
    headwear_params: dict[str, Any] = Field(default_factory=dict)
    facewear_params: dict[str, Any] = Field(default_factory=dict)
    earrings_params: dict[str, Any] = Field(default_factory=dict)
    piercings_params: dict[str, Any] = Field(default_factory=dict)
    priors: dict[str, Any] = Field(default_factory=dict)
    textures: Literal["procedural", "diffusion"] = "procedural"
    diffusion: ItemTexturesSpec = ItemTexturesSpec()

    @model_validator(mode="after")
    def _diffusion_only_with_diffusion(self) -> ItemsSpec:
        if self.textures != "diffusion" and self.diffusion != ItemTexturesSpec():
            raise ValueError("items.diffusion is set but items.textures is procedural; set items.textures: "
                             "diffusion or drop items.diffusion")
        return self

    @field_validator("glasses", "lens", "clothing", "headwear", "facewear", "earrings", "piercings")
    @classmethod
    def _choice(cls, v: str, info) -> str:
        known = _item_choices()[info.field_name]
        extra = () if info.field_name == "lens" else ("none", "any")
        if v != _SAMPLE and v not in known + extra:
            raise ValueError(f"unknown {info.field_name} {v!r}; use sample, {', '.join(extra + known)}")
        return v

    @field_validator("glasses_params", "clothing_params", "headwear_params", "facewear_params", "earrings_params",
                     "piercings_params")
    @classmethod
    def _params(cls, v: dict, info) -> dict:
        model = _item_param_models()[info.field_name]
        unknown = sorted(set(v) - set(model.model_fields))
        if unknown:
            raise ValueError(f"unknown {info.field_name} field(s) {unknown}; known: {', '.join(model.model_fields)}")
        return v

    @field_validator("priors")
    @classmethod
    def _priors(cls, v: dict) -> dict:
        from .attach.items.params import ItemPriors

        try:
            ItemPriors(**v)
        except ValidationError as exc:
            raise ValueError(validation_problems(exc)) from None
        return v

    def fixed(self) -> dict[str, Any]:
        """The fixed values as sample_outfit_params keywords."""
        out: dict[str, Any] = {k: getattr(self, k) for k in ("glasses", "lens", "clothing", "headwear", "facewear",
                                                             "earrings", "piercings")
                               if getattr(self, k) != _SAMPLE}
        for k in ("glasses_params", "clothing_params", "headwear_params", "facewear_params", "earrings_params",
                  "piercings_params"):
            if getattr(self, k):
                out[k] = dict(getattr(self, k))
        return out


class Recipe(_Strict):
    name: str = "demo"
    identity: IdentitySpec = IdentitySpec()
    expression: ExpressionSpec = ExpressionSpec()
    texture: TextureSpec = TextureSpec()
    hair: HairSpec | None = None
    items: ItemsSpec | None = None

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        problem = name_problem(v)  # asset files are named after the recipe
        if problem is not None:
            raise ValueError(f"recipe name {v!r} is not allowed: {problem}")
        return v

    def as_dict(self) -> dict[str, Any]:
        d = self.model_dump(mode="json")
        if d.get("hair") is None:
            d.pop("hair", None)  # a recipe without hair records (and hashes) exactly as before hair existed
        if d.get("items") is None:
            d.pop("items", None)  # likewise without items
        elif d["items"]["textures"] == "procedural":
            del d["items"]["textures"], d["items"]["diffusion"]  # likewise with procedural item textures
        return d


def load_recipe(path: str | Path) -> Recipe:
    """Read a recipe YAML; every problem becomes one ConfigError naming the file and the key."""
    path = Path(path)
    data = load_yaml(path, "recipe") or {}
    return recipe_from_dict(data, source=str(path))


def recipe_from_dict(data: dict, source: str = "recipe") -> Recipe:
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source} is invalid: {validation_problems(exc)}") from exc


def check_recipe(model, recipe: Recipe) -> None:
    """Check what a recipe says against the face model (expression names) and the texture backend."""
    unknown = [n for n in recipe.expression.names if n not in model.expression_names]
    if unknown:
        raise ConfigError(
            f"recipe expression.names has unknown expressions: {', '.join(unknown)} "
            f"(the model has e.g. {', '.join(model.expression_names[:4])}, ...)"
        )
    if recipe.identity.modes is not None and recipe.identity.modes > model.n_identity:
        raise ConfigError(f"recipe identity.modes = {recipe.identity.modes} but the model has {model.n_identity} modes")
    if recipe.items is not None and recipe.items.textures == "diffusion":
        from .diffusion.registry import load_registry

        load_registry().spec("text2image")  # ModelMissingError naming the role and the registry file


def sample_identity(model, spec: IdentitySpec, rng: np.random.Generator) -> np.ndarray:
    """(I,) float64 identity weights drawn by the spec."""
    w = model.identity_weights(rng, truncation=spec.truncation) * spec.scale
    if spec.modes is not None:
        w[spec.modes :] = 0.0
    return w


def sample_expression(model, spec: ExpressionSpec, rng: np.random.Generator) -> np.ndarray:
    """(E,) float64 expression weights in [0, 1] drawn by the spec (validated against the model)."""
    unknown = [n for n in spec.names if n not in model.expression_names]
    if unknown:
        raise ConfigError(f"recipe expression.names has unknown expressions: {', '.join(unknown)}")
    w = np.zeros(len(model.expression_names))
    # Draw every number even when unused, so one asset's choices never shift the next asset's stream.
    active = rng.random() < spec.probability
    k = int(rng.integers(1, spec.max_active + 1))
    picks = rng.choice(len(spec.names), size=min(k, len(spec.names)), replace=False)
    weights = rng.uniform(0.0, spec.max_weight, size=len(picks))
    if active:
        for p, x in zip(picks, weights):
            w[model.expression_names.index(spec.names[p])] = x
    return w


def sample_hair_params(spec: HairSpec, rng: np.random.Generator):
    """GroomParams for one asset: the spec's fixed values over values drawn from `rng` with its priors."""
    from .attach.hair.params import sample_groom_params

    return sample_groom_params(rng, spec.groom_priors(), **spec.fixed())


def sample_items_params(spec: ItemsSpec, rng: np.random.Generator):
    """OutfitParams for one asset: the spec's fixed values over values drawn from `rng` with its priors."""
    from .attach.items.params import ItemPriors
    from .attach.items.sample import sample_outfit_params

    return sample_outfit_params(rng, ItemPriors(**spec.priors), **spec.fixed())


def hair_color_label(color) -> str:
    """The named colour bucket of a ColorParams: dyed, white/grey by grey share, else by melanin."""
    if color.dye is not None and color.dye_strength >= 0.4:
        return "dyed"
    g = color.grey_fraction
    if g >= 0.85:
        return "white"
    if g >= 0.5:
        return "grey"
    m = color.melanin
    if color.melanin_redness >= 0.6 and m < 0.75:
        return "red"
    for bound, name in ((0.92, "black"), (0.75, "dark_brown"), (0.55, "brown"), (0.4, "light_brown")):
        if m >= bound:
            return name
    return "blond"


def hair_labels(params) -> dict[str, Any]:
    """Flat labels of a groom's parameters (library --where, dataset filters)."""
    scalp = params.scalp
    return {
        "hair_style": scalp.style,
        "hair_length_cm": 0.0 if scalp.style == "bald" else round(float(scalp.length), 2),
        "hair_color": hair_color_label(params.color),
        "beard_style": params.beard.style,
        "hair_brow_density": round(float(params.brows.density), 2),
        "grey_fraction": round(float(params.color.grey_fraction), 4),
    }
