"""Recipes: how a batch of assets is drawn (identity, expression, texture backend and its parameters).

A recipe is validated at the edge (unknown keys are errors) and recorded in every asset's provenance.
The readable default lives in pipelines/demo.yaml; `Recipe()` is the same recipe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


class Recipe(_Strict):
    name: str = "demo"
    identity: IdentitySpec = IdentitySpec()
    expression: ExpressionSpec = ExpressionSpec()
    texture: TextureSpec = TextureSpec()

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        problem = name_problem(v)  # asset files are named after the recipe
        if problem is not None:
            raise ValueError(f"recipe name {v!r} is not allowed: {problem}")
        return v

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


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
