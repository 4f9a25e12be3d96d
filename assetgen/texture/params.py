"""Parameters of the procedural skin backend (pydantic v2), their labels, and random sampling."""

from __future__ import annotations

from typing import Any, Literal, Mapping

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError
from . import chromophore
from .tattoo import TattooParams, sample_tattoo

HEX_COLOR = r"^#[0-9a-fA-F]{6}$"
EyeColor = Literal["blue", "gray", "green", "hazel", "brown", "dark_brown"]
HairColor = Literal["black", "dark_brown", "brown", "light_brown", "blond", "red", "gray"]


class MakeupLayer(BaseModel):
    """A pigment layer composited over the skin albedo: colour (sRGB hex) and opacity in [0, 1]."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    color: str = Field(pattern=HEX_COLOR)
    opacity: float = Field(0.7, ge=0.0, le=1.0)


class SkinParams(BaseModel):
    """Everything the procedural backend varies.

    skin_tone: Monk Skin Tone category 1..10 (1 = palest); melanin: explicit epidermal melanosome volume
    fraction (overrides skin_tone; the label then reports the nearest Monk category); hemoglobin: dermal
    blood volume fraction (redness); freckles: density 0..1; moles: count; lipstick / blush / eyeshadow /
    eyeliner: makeup layers or None; tattoo: a face tattoo decal (tattoo.py) or None; stubble: beard stubble density 0..1; brow_density: 0..1; age in years
    (deeper pores, wrinkles, age spots, greyer hair); eye_color: iris category; hair_color: brow / stubble
    hair colour (None: chosen from skin tone and age); lash_cards: draw lashes on the face model's lash cards
    (False where a groom grows strand lashes: they replace the cards, which then stay transparent).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    skin_tone: int = Field(5, ge=1, le=10)
    melanin: float | None = Field(None, ge=0.0, le=chromophore.MELANIN_MAX)
    hemoglobin: float = Field(0.012, ge=0.001, le=0.1)
    freckles: float = Field(0.0, ge=0.0, le=1.0)
    moles: int = Field(3, ge=0, le=60)
    lipstick: MakeupLayer | None = None
    blush: MakeupLayer | None = None
    eyeshadow: MakeupLayer | None = None
    eyeliner: MakeupLayer | None = None
    tattoo: TattooParams | None = None
    stubble: float = Field(0.0, ge=0.0, le=1.0)
    brow_density: float = Field(0.8, ge=0.0, le=1.0)
    age: float = Field(35.0, ge=12.0, le=95.0)
    eye_color: EyeColor = "brown"
    hair_color: HairColor | None = None
    lash_cards: bool = True

    # ---- derived values ---------------------------------------------------------------------------
    @property
    def melanin_fraction(self) -> float:
        return float(self.melanin) if self.melanin is not None else chromophore.monk_melanin(self.skin_tone)

    @property
    def monk_category(self) -> int:
        return chromophore.nearest_monk(self.melanin) if self.melanin is not None else self.skin_tone

    @property
    def resolved_hair_color(self) -> str:
        if self.hair_color is not None:
            return self.hair_color
        if self.age >= 65:
            return "gray"
        m = self.monk_category
        return "black" if m >= 6 else "dark_brown" if m >= 4 else "brown"

    def labels(self) -> dict[str, Any]:
        """Flat JSON labels a dataset user filters on."""
        return {
            "skin_tone": f"monk_{self.monk_category:02d}",
            "melanin": round(self.melanin_fraction, 4),
            "hemoglobin": round(float(self.hemoglobin), 4),
            "freckles": round(float(self.freckles), 3),
            "moles": int(self.moles),
            "lipstick": self.lipstick is not None and self.lipstick.opacity > 0,
            "lipstick_color": self.lipstick.color.lower() if self.lipstick is not None else None,
            "blush": self.blush is not None and self.blush.opacity > 0,
            "eyeshadow": self.eyeshadow is not None and self.eyeshadow.opacity > 0,
            "eyeliner": self.eyeliner is not None and self.eyeliner.opacity > 0,
            "makeup": any(x is not None for x in (self.lipstick, self.blush, self.eyeshadow, self.eyeliner)),
            "tattoo": self.tattoo.motif if self.tattoo is not None else "none",
            "tattoo_location": self.tattoo.location if self.tattoo is not None else "none",
            "stubble": round(float(self.stubble), 3),
            "brow_density": round(float(self.brow_density), 3),
            "age": round(float(self.age), 1),
            "eye_color": self.eye_color,
            "hair_color": self.resolved_hair_color,
        }

    # ---- construction -------------------------------------------------------------------------------
    @classmethod
    def parse(cls, params: "SkinParams | Mapping[str, Any] | None") -> "SkinParams":
        """Validate a mapping (or pass a SkinParams through); errors become ConfigError naming the fields."""
        if params is None:
            return cls()
        if isinstance(params, cls):
            return params
        if not isinstance(params, Mapping):
            raise ConfigError(f"skin parameters must be a mapping or SkinParams, not {type(params).__name__}")
        try:
            return cls.model_validate(dict(params))
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from exc

    @classmethod
    def sample(cls, rng: np.random.Generator) -> "SkinParams":
        """Random parameters covering every skin tone equally and all attributes with plausible rates. The
        tattoo (TATTOO_SHARE) comes from a child stream seeded by rng's state, which it leaves as it was, so
        every other value and the stream after it are what they were without tattoos."""
        import hashlib
        import json

        digest = hashlib.sha256(json.dumps(rng.bit_generator.state, sort_keys=True, default=str).encode()).digest()
        tu = np.random.default_rng(np.random.SeedSequence([0x7A7, *np.frombuffer(digest, np.uint32).tolist()])).random(9)
        tattoo = sample_tattoo(tu[1:]) if tu[0] < TATTOO_SHARE else None
        tone = int(rng.integers(1, 11))
        light = tone <= 4
        age = float(np.round(rng.uniform(18, 80), 1))
        eye_p = {"blue": 0.3, "gray": 0.08, "green": 0.15, "hazel": 0.17, "brown": 0.25, "dark_brown": 0.05} \
            if light else {"blue": 0.0, "gray": 0.0, "green": 0.03, "hazel": 0.1, "brown": 0.42, "dark_brown": 0.45}
        eye = str(rng.choice(list(eye_p), p=np.array(list(eye_p.values())) / sum(eye_p.values())))
        freckles = float(np.round(rng.beta(1.2, 3.0), 3)) if rng.random() < (0.35 if light else 0.1) else 0.0
        hair = None
        if age < 65:
            hair_p = {"black": 0.15, "dark_brown": 0.3, "brown": 0.25, "light_brown": 0.12, "blond": 0.12,
                      "red": 0.06} if light else {"black": 0.7, "dark_brown": 0.3}
            hair = str(rng.choice(list(hair_p), p=np.array(list(hair_p.values())) / sum(hair_p.values())))

        def layer(p, palette, lo, hi):
            if rng.random() >= p:
                return None
            return MakeupLayer(color=str(rng.choice(palette)), opacity=float(np.round(rng.uniform(lo, hi), 3)))

        return cls(
            skin_tone=tone,
            hemoglobin=float(np.round(np.clip(rng.lognormal(np.log(0.012), 0.35), 0.003, 0.05), 4)),
            freckles=freckles,
            moles=int(rng.poisson(3)),
            lipstick=layer(0.3, LIPSTICK_PALETTE, 0.4, 0.95),
            blush=layer(0.2, BLUSH_PALETTE, 0.15, 0.45),
            eyeshadow=layer(0.18, EYESHADOW_PALETTE, 0.25, 0.75),
            eyeliner=layer(0.18, ("#1a1410", "#0d0d0d", "#2e1f14"), 0.6, 1.0),
            tattoo=tattoo,
            stubble=float(np.round(rng.uniform(0.1, 1.0), 3)) if rng.random() < 0.35 else 0.0,
            brow_density=float(np.round(rng.uniform(0.4, 1.0), 3)),
            age=age,
            eye_color=eye,
            hair_color=hair,
        )


TATTOO_SHARE = 0.02  # subjects with a face tattoo in SkinParams.sample
LIPSTICK_PALETTE = ("#a0223a", "#c2185b", "#8e1b2c", "#d9546b", "#b5655b", "#7a2e3b", "#e0707c", "#5c1a24")
BLUSH_PALETTE = ("#e58f8f", "#d9777a", "#f0a38c", "#c86b6b")
EYESHADOW_PALETTE = ("#6b4f3a", "#8a6d5a", "#3d3a4f", "#7b5c7a", "#a67c52", "#4a5a3a")


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ())) or "(parameters)"
        if err.get("type") == "extra_forbidden":
            parts.append(f"unknown skin parameter {where!r} (known: {', '.join(SkinParams.model_fields)})")
        else:
            parts.append(f"skin parameter {where!r}: {err.get('msg')} (got {err.get('input')!r})")
    return "invalid skin parameters: " + "; ".join(parts)
