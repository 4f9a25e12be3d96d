"""The editor's hair controls: their choices, their values -> a recipe hair section (recipe.HairSpec), and a
stored groom's parameters -> their values (opening an asset).

Every control is a fixed value or empty / "sample": empty leaves the value to the groom's sampler (the
style's own range, drawn from the asset's seed), exactly as `sample` in a recipe's `hair:` section. The
style "off" grows no strands at all (painted brows and stubble only, the asset as before hair existed);
"bald" grows brows, lashes and the chosen beard on a hairless scalp.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import InputError

OFF = "off"
SAMPLE = "sample"
PARTINGS = ("auto", "left", "right", "centre", "none")  # left/right: a side parting on that side
FRINGES = ("auto", "yes", "no")

# The UI's keys (gradio_client names them so) in the order the controls are laid out and received.
HAIR_KEYS = (
    "hair_style", "hair_length", "hair_density", "hair_curl", "hair_parting", "hair_fringe", "hair_pigment",
    "hair_melanin", "hair_redness", "hair_grey", "beard_style", "brow_hair_density", "brow_hair_thickness",
)
DEFAULTS: dict[str, Any] = {
    "hair_style": "medium", "hair_length": "", "hair_density": "", "hair_curl": "", "hair_parting": "auto",
    "hair_fringe": "auto", "hair_pigment": "dark_brown", "hair_melanin": "", "hair_redness": "", "hair_grey": "",
    "beard_style": "none", "brow_hair_density": "", "brow_hair_thickness": "",
}
# (label, unit, the groom parameter's own bounds) of each number control: a number, or empty ("" or None)
# for the sampled value.
NUMBERS: dict[str, tuple[str, str, float, float]] = {
    "hair_length": ("hair length", "cm", 0.0, 80.0),
    "hair_density": ("hair density", "strands per cm²", 0.0, 120.0),
    "hair_curl": ("curl radius", "cm", 0.0, 3.0),
    "hair_melanin": ("melanin", "0..1", 0.0, 1.0),
    "hair_redness": ("melanin redness", "0..1", 0.0, 1.0),
    "hair_grey": ("grey share", "0..1", 0.0, 1.0),
    "brow_hair_density": ("brow density", "strands per cm²", 0.0, 300.0),
    "brow_hair_thickness": ("brow thickness", "cm", 0.01, 2.5),
}


def style_choices() -> tuple[str, ...]:
    from ..attach.hair.params import SCALP_STYLES

    return (OFF, SAMPLE, *SCALP_STYLES)


def beard_choices() -> tuple[str, ...]:
    from ..attach.hair.params import BEARD_STYLES

    return (SAMPLE, *BEARD_STYLES)


def pigment_choices() -> tuple[str, ...]:
    from ..attach.hair.params import HAIR_COLORS

    return (SAMPLE, *HAIR_COLORS)


def _number(values: dict[str, Any], key: str) -> float | None:
    """A number control's value (a number or its text): None when empty, else a finite number inside the
    parameter's bounds."""
    v = values.get(key)
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    what, unit, lo, hi = NUMBERS[key]
    try:
        x = float(v) if not isinstance(v, bool) else math.nan
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x) or not lo <= x <= hi:
        shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
        raise InputError(f"{what} must be a number from {lo:g} to {hi:g} ({unit}) or empty (sampled), got {shown}")
    return x


def _choice(values: dict[str, Any], key: str, known: tuple[str, ...], what: str) -> str:
    v = values.get(key, DEFAULTS[key])
    if v is None or v == "":
        v = DEFAULTS[key]
    if not isinstance(v, str) or v not in known:
        shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
        raise InputError(f"unknown {what} {shown}; use one of {', '.join(known)}")
    return v


def hair_spec(values: dict[str, Any]):
    """The hair controls' values ({HAIR_KEYS: value}, missing ones at DEFAULTS) -> a recipe.HairSpec, or None
    for style "off". A bad value is an InputError naming the control, the value and what it takes."""
    from pydantic import ValidationError

    from ..errors import validation_problems
    from ..recipe import HairSpec

    unknown = sorted(set(values) - set(HAIR_KEYS))
    if unknown:
        raise InputError(f"unknown hair control(s) {', '.join(unknown)}; known: {', '.join(HAIR_KEYS)}")
    style = _choice(values, "hair_style", style_choices(), "hair style")
    beard = _choice(values, "beard_style", beard_choices(), "beard style")
    pigment = _choice(values, "hair_pigment", pigment_choices(), "hair colour")
    parting = _choice(values, "hair_parting", PARTINGS, "parting")
    fringe = _choice(values, "hair_fringe", FRINGES, "fringe")
    nums = {k: _number(values, k) for k in NUMBERS}  # every value is checked, whatever the style
    if style == OFF:
        return None
    scalp: dict[str, Any] = {}
    for key, field in (("hair_length", "length"), ("hair_density", "density"), ("hair_curl", "curl_radius")):
        if nums[key] is not None:
            scalp[field] = nums[key]
    if parting in ("left", "right"):
        scalp.update(parting="side", part_side=parting)
    elif parting != "auto":
        scalp["parting"] = parting
    if fringe != "auto":
        scalp["fringe"] = fringe == "yes"
    brows = {f: nums[k] for k, f in (("brow_hair_density", "density"), ("brow_hair_thickness", "thickness"))
             if nums[k] is not None}
    color: dict[str, Any] = {}
    priors: dict[str, Any] = {}
    if pigment != SAMPLE or nums["hair_melanin"] is not None or nums["hair_redness"] is not None:
        # A chosen colour is the colour: no dye drawn over it, and brows and beard share it.
        priors = {"dye": 0.0, "face_independent": 0.0}
    if nums["hair_melanin"] is not None:
        color.update(melanin=nums["hair_melanin"], face_melanin=nums["hair_melanin"])
    if nums["hair_redness"] is not None:
        color.update(melanin_redness=nums["hair_redness"], face_redness=nums["hair_redness"])
    try:
        return HairSpec(style=style, beard_style=beard, color=pigment,
                        grey=SAMPLE if nums["hair_grey"] is None else nums["hair_grey"],
                        scalp=scalp, brows=brows, color_params=color, priors=priors)
    except ValidationError as exc:
        raise InputError(f"hair: {validation_problems(exc)}") from None


def groom_to_ui(params) -> dict[str, Any]:
    """A groom's GroomParams (or its dict, or None: no groom) -> the hair controls' values that grow it again
    from the same seed (style, lengths and colours fixed, numbers as the shortest text that reads back to the
    same float; what the controls do not show is drawn again from the seed exactly as before). A dye and brows
    of their own colour are no controls: such a groom grows again undyed, with brows of the scalp's colour."""
    from ..attach.hair.params import GroomParams

    if params is None:
        return {**DEFAULTS, "hair_style": OFF}
    p = params if isinstance(params, GroomParams) else GroomParams.model_validate(params)
    s, c, b = p.scalp, p.color, p.brows
    parting = p.scalp.part_side if s.parting == "side" else s.parting
    return {k: repr(float(v)) if k in NUMBERS else v for k, v in {
        "hair_style": s.style, "hair_length": s.length, "hair_density": s.density, "hair_curl": s.curl_radius,
        "hair_parting": parting, "hair_fringe": "yes" if s.fringe else "no", "hair_pigment": c.category,
        "hair_melanin": c.melanin, "hair_redness": c.melanin_redness, "hair_grey": c.grey_fraction,
        "beard_style": p.beard.style, "brow_hair_density": b.density, "brow_hair_thickness": b.thickness,
    }.items()}


def hair_summary(asset) -> str:
    """One line on the asset's groom for the status: style, beard, colour (pigments) and strand count."""
    groom = getattr(asset, "groom", None)
    if groom is None:
        return "no hair strands"
    from ..attach.hair.color import concentrations

    p = groom.params
    eu, ph = concentrations(p.color.melanin, p.color.melanin_redness)
    beard = "" if p.beard.style == "none" else f", {p.beard.style.replace('_', ' ')} beard"
    length = "" if p.scalp.style == "bald" else f" {p.scalp.length:.1f} cm"
    return (f"{p.scalp.style.replace('_', ' ')}{length}{beard}, {asset.labels.get('hair_color', p.color.category)} "
            f"(eumelanin {float(eu):.2f}, pheomelanin {float(ph):.2f}, grey {p.color.grey_fraction:.0%}), "
            f"{sum(groom.n_strands().values()):,} strands")


def pigment_hex(asset) -> str | None:
    """The sRGB colour (#rrggbb) a fibre of the groom's scalp pigment shows (None: no groom)."""
    groom = getattr(asset, "groom", None)
    if groom is None:
        return None
    import numpy as np

    from ..attach.hair.color import concentrations, pigment_color
    from ..color import linear_to_srgb8

    c = groom.params.color
    eu, ph = concentrations(c.melanin, c.melanin_redness)
    rgb = pigment_color(eu, ph, c.dye, c.dye_strength, c.radial_roughness)
    return "#" + "".join(f"{int(x):02x}" for x in np.asarray(linear_to_srgb8(np.asarray(rgb))).reshape(3))


def random_hair(seed: Any) -> dict[str, Any]:
    """The hair controls for a random subject of `seed`: style, beard and colour drawn from the groom's priors
    (from the seed's hair stream, as a recipe's `sample` would), every number empty (drawn at generation)."""
    from ..attach.hair.params import sample_groom_params
    from ..generate import asset_streams
    from .editor import check_seed

    p = sample_groom_params(asset_streams(check_seed(seed))["hair"])
    return {**DEFAULTS, "hair_style": p.scalp.style, "beard_style": p.beard.style, "hair_pigment": p.color.category}
