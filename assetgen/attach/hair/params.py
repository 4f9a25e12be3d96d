"""Groom parameters and their sampler.

`sample_groom_params(rng, priors=None, **fixed)` draws every value, then applies the fixed ones, and
returns a frozen `GroomParams`. Each section draws the same number of uniforms whatever the style, so fixing
one value (say style="bob") never reshuffles the other sections' values for the same seed. Values that
depend on a categorical choice (lengths depend on the style) are derived from the section's uniforms after
the fixed choice is applied, so they stay consistent with it.

fixed: section dicts (scalp={...}, brows={...}, beard={...}, lashes={...}, color={...}) and three shortcuts:
style=... (scalp.style), beard_style=... (beard.style), age=... (color.age).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ...errors import ConfigError, validation_problems
from ..choices import check_choice_tables
from ..choices import choice as _choice

ScalpStyle = Literal["bald", "buzz", "crew", "medium", "long_straight", "wavy", "curly", "coily", "ponytail",
                     "bun", "bob", "receding", "balding"]
SCALP_STYLES: tuple[str, ...] = ScalpStyle.__args__  # type: ignore[attr-defined]
BeardStyle = Literal["none", "stubble", "moustache", "goatee", "chin_strap", "short", "full"]
BEARD_STYLES: tuple[str, ...] = BeardStyle.__args__  # type: ignore[attr-defined]
Parting = Literal["side", "centre", "none"]
HairColorName = Literal["black", "dark_brown", "brown", "light_brown", "blond", "red", "platinum"]
HAIR_COLORS: tuple[str, ...] = HairColorName.__args__  # type: ignore[attr-defined]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- per-style ranges ----------------------------------------------------------------------------------
# length (cm, straightened, at the top of the head), guide density (strands / cm^2 of scalp), ribbon width
# (cm: one ribbon stands for a clump of fibres), points per strand, curl radius (cm), curl frequency (turns
# per cm), lift of the hair layer off the scalp (cm), gravity (0 stiff .. 1 hangs).
STYLE_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "bald": dict(length=(0, 0), density=(0, 0), width=(0.1, 0.1), points=(2, 2), curl_radius=(0, 0), curl_frequency=(0, 0), volume=(0, 0), gravity=(0, 0)),
    "buzz": dict(length=(0.25, 0.6), density=(40, 55), width=(0.07, 0.1), points=(4, 4), curl_radius=(0, 0), curl_frequency=(0, 0), volume=(0.02, 0.05), gravity=(0.0, 0.1)),
    "crew": dict(length=(1.5, 4.0), density=(17, 22), width=(0.14, 0.2), points=(8, 8), curl_radius=(0, 0.05), curl_frequency=(0.3, 0.6), volume=(0.1, 0.3), gravity=(0.05, 0.25)),
    "medium": dict(length=(8.0, 17.0), density=(11, 14), width=(0.22, 0.3), points=(14, 14), curl_radius=(0, 0.1), curl_frequency=(0.1, 0.3), volume=(0.2, 0.6), gravity=(0.6, 0.9)),
    "long_straight": dict(length=(25.0, 45.0), density=(8, 10), width=(0.3, 0.4), points=(22, 22), curl_radius=(0, 0.05), curl_frequency=(0.05, 0.1), volume=(0.3, 0.8), gravity=(0.85, 1.0)),
    "wavy": dict(length=(15.0, 40.0), density=(7, 9), width=(0.3, 0.4), points=(28, 28), curl_radius=(0.5, 1.2), curl_frequency=(0.08, 0.16), volume=(0.6, 1.4), gravity=(0.75, 0.95)),
    "curly": dict(length=(12.0, 32.0), density=(6, 7.5), width=(0.32, 0.45), points=(32, 32), curl_radius=(0.5, 1.0), curl_frequency=(0.3, 0.5), volume=(1.2, 2.5), gravity=(0.5, 0.8)),
    "coily": dict(length=(6.0, 14.0), density=(5, 6), width=(0.45, 0.6), points=(36, 36), curl_radius=(0.2, 0.32), curl_frequency=(0.9, 1.3), volume=(2.0, 4.0), gravity=(0.05, 0.2)),
    "ponytail": dict(length=(25.0, 45.0), density=(7, 9), width=(0.3, 0.4), points=(24, 24), curl_radius=(0, 0.3), curl_frequency=(0.1, 0.2), volume=(0.1, 0.3), gravity=(0.9, 1.0)),
    "bun": dict(length=(25.0, 40.0), density=(7, 9), width=(0.3, 0.4), points=(24, 24), curl_radius=(0, 0), curl_frequency=(0, 0), volume=(0.1, 0.25), gravity=(0.9, 1.0)),
    "bob": dict(length=(16.0, 24.0), density=(10, 12), width=(0.26, 0.34), points=(16, 16), curl_radius=(0, 0.1), curl_frequency=(0.05, 0.1), volume=(0.4, 0.9), gravity=(0.85, 1.0)),
    "receding": dict(length=(1.0, 8.0), density=(14, 18), width=(0.16, 0.26), points=(10, 10), curl_radius=(0, 0.1), curl_frequency=(0.2, 0.4), volume=(0.1, 0.4), gravity=(0.2, 0.6)),
    "balding": dict(length=(0.4, 2.5), density=(18, 24), width=(0.12, 0.18), points=(6, 6), curl_radius=(0, 0.05), curl_frequency=(0.3, 0.5), volume=(0.05, 0.2), gravity=(0.1, 0.4)),
}
BEARD_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "none": dict(length=(0, 0), density=(0, 0), points=(2, 2)),
    "stubble": dict(length=(0.04, 0.15), density=(45, 60), points=(3, 3)),
    "moustache": dict(length=(0.6, 1.8), density=(35, 45), points=(6, 6)),
    "goatee": dict(length=(0.5, 4.0), density=(30, 40), points=(8, 8)),
    "chin_strap": dict(length=(0.3, 1.0), density=(35, 45), points=(5, 5)),
    "short": dict(length=(0.3, 1.2), density=(30, 40), points=(5, 5)),
    "full": dict(length=(2.0, 7.0), density=(18, 24), points=(10, 10)),
}
# (melanin range, redness range) of the natural colour categories (Blender's Principled Hair melanin knobs)
HAIR_COLOR_RANGES: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "black": ((0.92, 1.0), (0.0, 0.1)),
    "dark_brown": ((0.75, 0.92), (0.05, 0.2)),
    "brown": ((0.55, 0.75), (0.1, 0.3)),
    "light_brown": ((0.4, 0.55), (0.15, 0.35)),
    "blond": ((0.15, 0.4), (0.15, 0.35)),
    "red": ((0.35, 0.65), (0.65, 1.0)),
    "platinum": ((0.02, 0.15), (0.05, 0.2)),
}


# ---- sections ----------------------------------------------------------------------------------------
class ScalpParams(_Frozen):
    """Scalp hair. length: cm along the strand at the top of the head (straightened: curls make the visible
    extent shorter); density: guide strands per cm^2; width: ribbon (clump) width in cm; curl_radius (cm)
    and curl_frequency (turns per cm) make helices (curly, coily) or, for 'wavy', planar waves of that
    amplitude; clumping 0..1 pulls strands to clump guides towards the tips; frizz 0..1 random wander;
    parting side/centre/none (part_side: the subject's side of a side part); fringe: front hair combed
    forward and cut above the brows; volume: cm the hair layer stands off the scalp; gravity 0..1;
    recession 0..1 (temples and front move back), crown 0..1 (bald spot at the vertex); forehead: degrees
    from the brows up to the front hairline; sideburn 0..1; tie_height: degrees of elevation of a ponytail or
    bun; tail_length: cm of a ponytail below the tie; cut_drop: cm a bob's cut lies below the mouth."""

    style: ScalpStyle = "medium"
    length: float = Field(12.0, ge=0, le=80)
    length_jitter: float = Field(0.15, ge=0, le=0.6)
    density: float = Field(12.0, ge=0, le=120)
    width: float = Field(0.25, gt=0, le=2)
    n_points: int = Field(14, ge=2, le=64)
    curl_radius: float = Field(0.0, ge=0, le=3)
    curl_frequency: float = Field(0.0, ge=0, le=3)
    clumping: float = Field(0.3, ge=0, le=1)
    frizz: float = Field(0.1, ge=0, le=1)
    parting: Parting = "side"
    part_side: Literal["left", "right"] = "left"
    fringe: bool = False
    volume: float = Field(0.4, ge=0, le=8)
    gravity: float = Field(0.8, ge=0, le=1)
    recession: float = Field(0.0, ge=0, le=1)
    crown: float = Field(0.0, ge=0, le=1)
    forehead: float = Field(25.0, ge=10, le=45)
    sideburn: float = Field(0.5, ge=0, le=1)
    tie_height: float = Field(15.0, ge=-20, le=70)
    tail_length: float = Field(25.0, ge=2, le=60)
    cut_drop: float = Field(2.0, ge=-4, le=10)


class BrowParams(_Frozen):
    """Eyebrows (both sides share the shape). density: strands per cm^2 of brow band; thickness: cm of the
    band at its inner end (tapering to the tail by `taper`); arch 0..1 lifts the outer third; length: cm per
    hair; gaps 0..1 thins random stretches; width: ribbon width cm."""

    density: float = Field(90.0, ge=0, le=300)
    thickness: float = Field(0.9, gt=0, le=2.5)
    taper: float = Field(0.5, ge=0, le=0.9)
    arch: float = Field(0.5, ge=0, le=1)
    length: float = Field(0.8, gt=0, le=2.5)
    gaps: float = Field(0.1, ge=0, le=1)
    width: float = Field(0.03, gt=0, le=0.2)
    n_points: int = Field(5, ge=2, le=16)


class BeardParams(_Frozen):
    """Beard, moustache or stubble. length cm; density strands per cm^2; curl 0..1; width ribbon cm;
    neck 0..1 how far the beard runs under the jaw; cheek 0..1 how high on the cheek."""

    style: BeardStyle = "none"
    length: float = Field(0.0, ge=0, le=30)
    density: float = Field(0.0, ge=0, le=150)
    curl: float = Field(0.2, ge=0, le=1)
    width: float = Field(0.05, gt=0, le=1)
    n_points: int = Field(5, ge=2, le=32)
    neck: float = Field(0.5, ge=0, le=1)
    cheek: float = Field(0.5, ge=0, le=1)


class LashParams(_Frozen):
    """Eyelashes along the lid margins. lengths in cm; curl 0..1 (how far the tips turn away from the eye);
    densities in lashes per cm of lid margin; lower: whether the lower lids have lashes (sparser, shorter
    and finer than the upper ones, pointing down: seen from the front they are thin lines, not dots);
    width: ribbon width of an upper lash (a lower one is LOWER_WIDTH of it)."""

    upper_length: float = Field(0.9, gt=0, le=2.0)
    lower_length: float = Field(0.3, gt=0, le=1.2)
    curl: float = Field(0.5, ge=0, le=1)
    upper_density: float = Field(55.0, ge=0, le=150)
    lower_density: float = Field(14.0, ge=0, le=100)
    lower: bool = True
    width: float = Field(0.015, gt=0, le=0.1)
    n_points: int = Field(6, ge=3, le=16)


class ColorParams(_Frozen):
    """Hair colour from pigment, parametrised like Blender's Principled Hair BSDF (melanin mode):
    melanin 0..1 and melanin_redness 0..1 give eumelanin = q (1 - redness) and pheomelanin = q redness with
    q = -ln(1 - melanin). age (years) sets the grey fraction (share of unpigmented strands) unless `grey` is
    given; dye: an optional linear RGB tint (Blender's 'tint') applied with dye_strength; random_color: per
    strand melanin jitter; face_independent: brows and beard get their own melanin values (face_melanin,
    face_redness) instead of the scalp's."""

    category: HairColorName = "brown"
    melanin: float = Field(0.65, ge=0, le=1)
    melanin_redness: float = Field(0.2, ge=0, le=1)
    age: float = Field(35.0, ge=5, le=100)
    grey: float | None = Field(None, ge=0, le=1)
    grey_onset: float = Field(58.0, ge=20, le=90)
    dye: tuple[float, float, float] | None = None
    dye_strength: float = Field(0.0, ge=0, le=1)
    random_color: float = Field(0.1, ge=0, le=0.5)
    roughness: float = Field(0.3, ge=0, le=1)
    radial_roughness: float = Field(0.3, ge=0, le=1)
    face_independent: bool = False
    face_melanin: float = Field(0.65, ge=0, le=1)
    face_redness: float = Field(0.2, ge=0, le=1)

    @property
    def grey_fraction(self) -> float:
        """Share of grey (unpigmented) strands: `grey`, or a logistic in age (1/2 at grey_onset). Half grey
        by 50 holds for only 6-23 % of people (Panhard et al. 2012), so the onset centres in the late 50s."""
        if self.grey is not None:
            return float(self.grey)
        return float(1.0 / (1.0 + np.exp(-(self.age - self.grey_onset) / 7.0)))


class GroomParams(_Frozen):
    """Everything a groom is made from (besides the face model and the groom's RNG stream)."""

    scalp: ScalpParams = ScalpParams()
    brows: BrowParams = BrowParams()
    beard: BeardParams = BeardParams()
    lashes: LashParams = LashParams()
    color: ColorParams = ColorParams()

    def as_dict(self) -> dict:
        return self.model_dump(mode="json")


class GroomPriors(_Frozen):
    """Probabilities of the categorical choices (each table is normalized when used)."""

    style: dict[str, float] = Field(default_factory=lambda: {
        "bald": 0.05, "buzz": 0.08, "crew": 0.12, "medium": 0.12, "long_straight": 0.12, "wavy": 0.08, "curly": 0.07,
        "coily": 0.07, "ponytail": 0.06, "bun": 0.05, "bob": 0.07, "receding": 0.06, "balding": 0.05})
    beard: dict[str, float] = Field(default_factory=lambda: {
        "none": 0.55, "stubble": 0.15, "moustache": 0.05, "goatee": 0.06, "chin_strap": 0.03, "short": 0.09, "full": 0.07})
    parting: dict[str, float] = Field(default_factory=lambda: {"side": 0.5, "centre": 0.25, "none": 0.25})
    hair_color: dict[str, float] = Field(default_factory=lambda: {
        "black": 0.35, "dark_brown": 0.25, "brown": 0.15, "light_brown": 0.08, "blond": 0.1, "red": 0.05, "platinum": 0.02})
    fringe: float = Field(0.3, ge=0, le=1)
    lower_lashes: float = Field(0.9, ge=0, le=1)
    dye: float = Field(0.08, ge=0, le=1)
    face_independent: float = Field(0.1, ge=0, le=1)
    age: tuple[float, float] = (18.0, 80.0)

    @model_validator(mode="after")
    def _known(self):
        check_choice_tables((("style", self.style, SCALP_STYLES), ("beard", self.beard, BEARD_STYLES),
                             ("parting", self.parting, ("side", "centre", "none")),
                             ("hair_color", self.hair_color, HAIR_COLORS)))
        return self


# ---- sampling ------------------------------------------------------------------------------------------
def _lerp(r: tuple[float, float], u: float) -> float:
    return float(r[0] + (r[1] - r[0]) * u)


def _scalp(u: np.ndarray, pri: GroomPriors, fixed: dict) -> dict:
    style = fixed.get("style") or _choice(u[0], pri.style, SCALP_STYLES)
    rg = STYLE_RANGES[style]
    d = dict(style=style)
    for i, k in enumerate(("length", "density", "width", "curl_radius", "curl_frequency", "volume", "gravity")):
        d[k] = _lerp(rg[k], u[1 + i])
    d["n_points"] = int(rg["points"][0])
    d["length_jitter"] = _lerp((0.05, 0.25), u[8])
    d["clumping"] = _lerp((0.1, 0.6), u[9]) if style not in ("buzz", "bald") else 0.0
    if style == "coily":
        d["clumping"] = _lerp((0.0, 0.2), u[9])
    d["frizz"] = _lerp((0.02, 0.25), u[10]) * (2.0 if style in ("curly", "coily") else 1.0)
    d["parting"] = _choice(u[11], pri.parting, ("side", "centre", "none"))
    d["part_side"] = "left" if u[12] < 0.5 else "right"
    fringe_ok = style in ("medium", "long_straight", "wavy", "bob", "ponytail", "bun", "crew")
    d["fringe"] = bool(fringe_ok and u[13] < pri.fringe)
    d["recession"] = _lerp((0.0, 0.15), u[14])
    d["crown"] = 0.0
    if style == "receding":
        d["recession"] = _lerp((0.45, 0.85), u[14])
    elif style == "balding":
        d["recession"] = _lerp((0.7, 1.0), u[14])
        d["crown"] = _lerp((0.5, 1.0), u[15])
    d["forehead"] = _lerp((21.0, 29.0), u[16])
    d["sideburn"] = _lerp((0.2, 0.9), u[17])
    d["tie_height"] = _lerp((-5.0, 35.0), u[18]) if style == "ponytail" else _lerp((25.0, 55.0), u[18])
    d["tail_length"] = _lerp((15.0, 40.0), u[19])
    d["cut_drop"] = _lerp((-2.0, 5.0), u[20])
    d.update({k: v for k, v in fixed.items() if k != "style"})
    return d


def _brows(u: np.ndarray, fixed: dict) -> dict:
    d = dict(density=_lerp((60, 130), u[0]), thickness=_lerp((0.6, 1.3), u[1]), taper=_lerp((0.3, 0.7), u[2]),
             arch=u[3], length=_lerp((0.55, 1.1), u[4]), gaps=_lerp((0.0, 0.35), u[5]) ** 1.5,
             width=_lerp((0.025, 0.04), u[6]))
    d.update(fixed)
    return d


def _beard(u: np.ndarray, pri: GroomPriors, fixed: dict) -> dict:
    style = fixed.get("style") or _choice(u[0], pri.beard, BEARD_STYLES)
    rg = BEARD_RANGES[style]
    d = dict(style=style, length=_lerp(rg["length"], u[1]), density=_lerp(rg["density"], u[2]),
             curl=_lerp((0.05, 0.6), u[3]), width=_lerp((0.04, 0.07), u[4]) if style != "stubble" else 0.03,
             n_points=int(rg["points"][0]), neck=u[5], cheek=u[6])
    d.update({k: v for k, v in fixed.items() if k != "style"})
    return d


def _lashes(u: np.ndarray, pri: GroomPriors, fixed: dict) -> dict:
    d = dict(upper_length=_lerp((0.7, 1.2), u[0]), lower_length=_lerp((0.2, 0.4), u[1]), curl=_lerp((0.2, 0.9), u[2]),
             upper_density=_lerp((45, 70), u[3]), lower_density=_lerp((10, 18), u[4]), lower=bool(u[5] < pri.lower_lashes))
    d.update(fixed)
    return d


def _color(u: np.ndarray, pri: GroomPriors, fixed: dict) -> dict:
    cat = fixed.get("category") or _choice(u[0], pri.hair_color, HAIR_COLORS)
    mel, red = HAIR_COLOR_RANGES[cat]
    d = dict(category=cat, melanin=_lerp(mel, u[1]), melanin_redness=_lerp(red, u[2]), age=_lerp(pri.age, u[3]),
             grey_onset=float(np.clip(58.0 + 8.0 * np.sqrt(2) * _erfinv(2 * u[4] - 1), 38, 80)),
             random_color=_lerp((0.03, 0.2), u[5]), roughness=_lerp((0.2, 0.4), u[6]),
             radial_roughness=_lerp((0.25, 0.4), u[7]))
    if u[8] < pri.dye:
        d["dye"] = (float(u[9]), float(u[10]), float(u[11]))
        d["dye_strength"] = _lerp((0.4, 1.0), u[12])
    d["face_independent"] = bool(u[13] < pri.face_independent)
    fcat = _choice(u[14], pri.hair_color, HAIR_COLORS) if d["face_independent"] else cat
    fmel, fred = HAIR_COLOR_RANGES[fcat]
    d["face_melanin"] = _lerp(fmel, u[15]) if d["face_independent"] else d["melanin"]
    d["face_redness"] = _lerp(fred, u[16]) if d["face_independent"] else d["melanin_redness"]
    d.update({k: v for k, v in fixed.items() if k != "category"})
    return d


def _erfinv(y: float) -> float:
    from scipy.special import erfinv

    return float(erfinv(np.clip(y, -0.999999, 0.999999)))


def sample_groom_params(rng: np.random.Generator, priors: GroomPriors | None = None, **fixed) -> GroomParams:
    """Draw a GroomParams from `rng` (module docstring for `fixed`). Raises ConfigError on bad fixed values."""
    pri = priors or GroomPriors()
    sections = {k: dict(fixed.pop(k) or {}) for k in ("scalp", "brows", "beard", "lashes", "color") if k in fixed}
    for short, (sec, key) in {"style": ("scalp", "style"), "beard_style": ("beard", "style"), "age": ("color", "age")}.items():
        if short in fixed:
            sections.setdefault(sec, {})[key] = fixed.pop(short)
    if fixed:
        raise ConfigError(f"unknown groom parameter(s) {sorted(fixed)}; use scalp=, brows=, beard=, lashes=, "
                          "color= dicts or style=, beard_style=, age=")
    blocks = {name: rng.random(24) for name in ("scalp", "brows", "beard", "lashes", "color")}  # fixed draw count
    try:
        return GroomParams(
            scalp=ScalpParams(**_scalp(blocks["scalp"], pri, sections.get("scalp", {}))),
            brows=BrowParams(**_brows(blocks["brows"], sections.get("brows", {}))),
            beard=BeardParams(**_beard(blocks["beard"], pri, sections.get("beard", {}))),
            lashes=LashParams(**_lashes(blocks["lashes"], pri, sections.get("lashes", {}))),
            color=ColorParams(**_color(blocks["color"], pri, sections.get("color", {}))),
        )
    except (ValidationError, KeyError) as exc:
        msg = validation_problems(exc) if isinstance(exc, ValidationError) else f"unknown choice {exc}"
        raise ConfigError(f"groom parameters: {msg}") from exc
