"""The seeded sampler of outfits and the compatibility rules between items and hair.

`sample_outfit_params(rng, priors=None, **fixed)` draws every value from fixed-size blocks of uniforms
(one block per item type, whatever is chosen), then applies the fixed ones, so fixing one choice never
reshuffles another item's values for the same seed.

fixed: glasses / clothing / headwear / facewear / earrings / piercings = "none", "any" (worn, variant
drawn) or a variant name (a frame family, garment style, hat kind, mask kind, earring style or piercing
style); lens = a lens kind; and per-type parameter dicts glasses_params / ... / piercings_params (fields of
the params models). The jewellery's blocks come from a child stream seeded by the parent stream's state
after the other blocks (read, not advanced), so the jewellery left every other draw of a seed as it was.

Compatibility (DigiFace-1M swaps hair styles under headwear): `compatible_hair(outfit, style, beard)`
gives the scalp style and beard style a subject wearing `outfit` should have: a style that does not fit
under the hat (volume, a bun, a ponytail under a helmet) is swapped for one that does, and a long beard
under a mask for a short one; the choice comes from the outfit's own `swap` uniform (deterministic). What
still reaches into an item is clipped from the groom (outfit.clip_groom).
"""

from __future__ import annotations

import numpy as np
from pydantic import ValidationError

from ...errors import ConfigError, validation_problems
from ..choices import choice as _choice
from .params import (
    FRAMES,
    GARMENTS,
    HATS,
    LENSES,
    MASKS,
    EARRINGS,
    PIERCINGS,
    ClothingParams,
    EarringParams,
    FacewearParams,
    GlassesParams,
    HeadwearParams,
    ItemPriors,
    OutfitParams,
    PiercingParams,
)

BLOCK = 32  # uniforms per item type, always drawn
BASE_KINDS = ("glasses", "clothing", "headwear", "facewear")  # drawn from the parent stream
CHOICES = {"glasses": FRAMES, "clothing": GARMENTS, "headwear": HATS, "facewear": MASKS, "earrings": EARRINGS,
           "piercings": PIERCINGS}
_PARAMS = {"glasses": GlassesParams, "clothing": ClothingParams, "headwear": HeadwearParams,
           "facewear": FacewearParams, "earrings": EarringParams, "piercings": PiercingParams}
_TABLES = {"glasses": "frame", "clothing": "garment", "headwear": "hat", "facewear": "mask", "earrings": "earring",
           "piercings": "piercing"}

# scalp styles that fit under each kind of headwear (the rest are swapped for one of these)
HAIR_UNDER = {
    "baseball_cap": ("bald", "buzz", "crew", "medium", "long_straight", "wavy", "bob", "receding", "balding", "ponytail"),
    "beanie": ("bald", "buzz", "crew", "medium", "long_straight", "wavy", "bob", "receding", "balding"),
    "brimmed_hat": ("bald", "buzz", "crew", "medium", "long_straight", "wavy", "bob", "receding", "balding"),
    "helmet": ("bald", "buzz", "crew", "medium", "receding", "balding"),
    "headscarf": ("bald", "buzz", "crew"),
    "headband": ("bald", "buzz", "crew", "receding", "balding"),
}
# beard styles that fit under a mask
BEARD_UNDER_MASK = ("none", "stubble", "moustache", "short")

# linear RGB palettes
FRAME_COLORS = ((0.01, 0.01, 0.01), (0.06, 0.03, 0.015), (0.2, 0.09, 0.03), (0.02, 0.03, 0.08),
                (0.25, 0.02, 0.02), (0.5, 0.5, 0.52), (0.18, 0.18, 0.2), (0.6, 0.45, 0.2))
METAL_COLORS = ((0.75, 0.55, 0.25), (0.6, 0.6, 0.62), (0.15, 0.15, 0.16), (0.45, 0.3, 0.2))
TINTS = ((0.2, 0.12, 0.05), (0.05, 0.08, 0.05), (0.12, 0.12, 0.14), (0.3, 0.15, 0.3), (0.05, 0.12, 0.3))
FABRIC = ((0.02, 0.02, 0.025), (0.8, 0.8, 0.78), (0.05, 0.07, 0.2), (0.3, 0.02, 0.03), (0.08, 0.2, 0.08),
          (0.45, 0.45, 0.45), (0.55, 0.35, 0.15), (0.7, 0.55, 0.35), (0.15, 0.3, 0.6), (0.6, 0.1, 0.25),
          (0.85, 0.6, 0.1), (0.25, 0.2, 0.35))
MASK_COLORS = {"surgical": ((0.45, 0.7, 0.9), (0.85, 0.88, 0.9), (0.1, 0.1, 0.12), (0.75, 0.55, 0.7)),
               "n95": ((0.85, 0.85, 0.82), (0.8, 0.8, 0.78)), "kn95": ((0.9, 0.9, 0.9), (0.1, 0.1, 0.1)),
               "cloth": FABRIC}
PATTERNS = ("stripes", "check", "dots", "melange", "weave")


def _pick(u: float, seq):
    return seq[min(int(u * len(seq)), len(seq) - 1)]


def _lerp(a: float, b: float, u: float) -> float:
    return float(a + (b - a) * u)


def _glasses(u, pri: ItemPriors, frame: str, fixed: dict) -> dict:
    lens = fixed.get("lens") or _choice(u[0], pri.lens, LENSES)
    metal = frame in ("aviator", "rimless") or (frame == "round" and u[1] < 0.5)
    heights = {"round": (0.85, 1.0), "rectangular": (0.5, 0.7), "aviator": (0.8, 0.95), "cat_eye": (0.55, 0.7),
               "rimless": (0.55, 0.72)}
    width = _lerp(4.5, 5.6, u[2])
    d = dict(frame=frame, lens=lens, lens_width=width, lens_height=width * _lerp(*heights[frame], u[3]),
             bridge_width=_lerp(1.5, 2.2, u[4]), rim_depth=_lerp(0.25, 0.5, u[6]) if not metal else _lerp(0.15, 0.25, u[6]),
             temple_height=_lerp(0.3, 0.7, u[7]) if not metal else _lerp(0.15, 0.25, u[7]),
             wrap=_lerp(0.0, 8.0, u[8]), tilt=_lerp(4.0, 12.0, u[9]), vertex_distance=_lerp(1.2, 1.6, u[10]),
             lift=_lerp(-0.1, 0.4, u[11]), metal=metal)
    d["rim_thickness"] = 0.0 if frame == "rimless" else (_lerp(0.25, 0.55, u[5]) if not metal else _lerp(0.08, 0.14, u[5]))
    d["frame_color"] = _pick(u[12], METAL_COLORS if metal else FRAME_COLORS)
    d["frame_pattern"] = "tortoise" if (not metal and u[13] < 0.25) else "solid"
    d["pattern_color"] = _pick(u[14], ((0.3, 0.12, 0.03), (0.5, 0.3, 0.08), (0.08, 0.04, 0.02)))
    if lens == "clear":
        d["tint_color"], d["lens_alpha"] = (0.9, 0.93, 0.95), _lerp(0.06, 0.14, u[15])
    elif lens == "tinted":
        d["tint_color"], d["lens_alpha"] = _pick(u[16], TINTS), _lerp(0.3, 0.6, u[15])
    else:
        d["tint_color"], d["lens_alpha"] = tuple(0.3 * c for c in _pick(u[16], TINTS)), 1.0
    d.update(fixed.get("params", {}))
    return d


def _fabric(u, pri: ItemPriors, base: int) -> dict:
    color = _pick(u[base], FABRIC)
    patterned = u[base + 1] < pri.pattern
    other = _pick(u[base + 2], FABRIC)
    if other == color:
        other = FABRIC[(FABRIC.index(color) + 3) % len(FABRIC)]
    return dict(color=color, pattern=_pick(u[base + 3], PATTERNS) if patterned else "solid", pattern_color=other,
                repeats=int(round(_lerp(4, 14, u[base + 4]))))


def _clothing(u, pri: ItemPriors, style: str, fixed: dict) -> dict:
    necklines = {"crew_neck": (0.5, 2.5), "v_neck": (5.0, 9.0), "collared": (1.0, 3.0), "turtleneck": (0.0, 0.0),
                 "hoodie": (1.0, 3.0)}
    collars = {"crew_neck": (0.8, 1.2), "v_neck": (0.8, 1.2), "collared": (3.0, 4.5), "turtleneck": (4.0, 6.5),
               "hoodie": (1.0, 1.5)}
    d = dict(style=style, thickness=_lerp(0.3, 0.6, u[0]), neckline=_lerp(*necklines[style], u[1]),
             collar_height=_lerp(*collars[style], u[2]), **_fabric(u, pri, 3))
    d["trim_color"] = d["color"] if u[8] < 0.6 else _pick(u[9], FABRIC)
    d.update(fixed.get("params", {}))
    return d


def _headwear(u, pri: ItemPriors, kind: str, fixed: dict) -> dict:
    brims = {"baseball_cap": (6.0, 8.0), "brimmed_hat": (5.0, 9.0), "helmet": (0.0, 0.0), "beanie": (0.0, 0.0),
             "headscarf": (0.0, 0.0), "headband": (0.0, 0.0)}
    crowns = {"baseball_cap": (0.5, 1.5), "brimmed_hat": (2.0, 6.0), "helmet": (1.0, 2.0), "beanie": (0.5, 4.0),
              "headscarf": (0.3, 1.0), "headband": (0.0, 0.0)}
    bands = {"baseball_cap": (1.2, 2.2), "brimmed_hat": (1.5, 2.5), "helmet": (1.0, 2.0), "beanie": (0.8, 2.5),
             "headscarf": (0.5, 1.5), "headband": (1.5, 3.0)}
    thick = {"baseball_cap": (0.15, 0.25), "brimmed_hat": (0.2, 0.35), "helmet": (0.8, 1.3), "beanie": (0.3, 0.6),
             "headscarf": (0.15, 0.3), "headband": (0.2, 0.4)}
    d = dict(kind=kind, fit=_lerp(0.25, 0.45, u[0]), band=_lerp(*bands[kind], u[1]), brim=_lerp(*brims[kind], u[2]),
             crown=_lerp(*crowns[kind], u[3]), thickness=_lerp(*thick[kind], u[4]), **_fabric(u, pri, 5))
    if kind == "helmet":
        d["pattern"] = "solid"
    if kind == "beanie" and u[11] < 0.5:
        d["pattern"] = "knit"
    d["accent_color"] = d["color"] if u[10] < 0.5 else _pick(u[12], FABRIC)
    d.update(fixed.get("params", {}))
    return d


def _facewear(u, pri: ItemPriors, kind: str, fixed: dict) -> dict:
    d = dict(kind=kind, fit=_lerp(0.25, 0.45, u[0]), loop_width=_lerp(0.12, 0.3, u[1]),
             color=_pick(u[2], MASK_COLORS[kind]), pattern="solid", pattern_color=(0.9, 0.9, 0.9), repeats=6)
    if kind == "cloth":
        d.update(_fabric(u, pri, 3))
    d.update(fixed.get("params", {}))
    return d


# jewellery metals (linear RGB: yellow gold, silver, rose gold, dark steel) and gems
METALS = ((0.92, 0.68, 0.3), (0.8, 0.8, 0.82), (0.85, 0.5, 0.38), (0.12, 0.12, 0.13))
GEMS = ((0.9, 0.92, 0.95), (0.05, 0.1, 0.6), (0.6, 0.02, 0.05), (0.02, 0.4, 0.12), (0.02, 0.02, 0.02),
        (0.85, 0.82, 0.75))


def _earrings(u, pri: ItemPriors, style: str, fixed: dict) -> dict:
    sizes = {"stud": (0.25, 0.6), "hoop": (0.8, 3.0), "drop": (1.0, 3.0)}
    d = dict(style=style, sides="both" if u[0] < 0.85 else ("left" if u[1] < 0.5 else "right"),
             size=_lerp(*sizes[style], u[2]), wire=_lerp(0.07, 0.14, u[3]), metal_color=_pick(u[4], METALS),
             gem_color=None if style == "hoop" or u[5] < 0.4 else _pick(u[6], GEMS), roughness=_lerp(0.12, 0.35, u[7]))
    d.update(fixed.get("params", {}))
    return d


def _piercings(u, pri: ItemPriors, style: str, fixed: dict) -> dict:
    sizes = {"nostril_stud": (0.15, 0.3), "nostril_ring": (0.7, 1.0), "septum": (0.8, 1.2), "brow": (0.2, 0.35)}
    d = dict(style=style, side="left" if u[0] < 0.5 else "right", size=_lerp(*sizes[style], u[1]),
             wire=_lerp(0.06, 0.1, u[2]), metal_color=_pick(u[3], METALS), roughness=_lerp(0.12, 0.35, u[4]))
    d.update(fixed.get("params", {}))
    return d


_SECTIONS = {"glasses": _glasses, "clothing": _clothing, "headwear": _headwear, "facewear": _facewear,
             "earrings": _earrings, "piercings": _piercings}


def _child_stream(rng: np.random.Generator) -> np.random.Generator:
    """A generator seeded by `rng`'s current state, which it leaves where it was."""
    import hashlib
    import json

    state = json.dumps(rng.bit_generator.state, sort_keys=True, default=str).encode()
    words = np.frombuffer(hashlib.sha256(state).digest(), np.uint32)
    return np.random.default_rng(np.random.SeedSequence([0x1E3E1, *words.tolist()]))


def sample_outfit_params(rng: np.random.Generator, priors: ItemPriors | None = None, **fixed) -> OutfitParams:
    """Draw an OutfitParams from `rng` (module docstring for `fixed`). ConfigError on bad fixed values."""
    pri = priors or ItemPriors()
    fixed = dict(fixed)
    lens = fixed.pop("lens", None)
    if lens is not None and lens not in LENSES:
        raise ConfigError(f"unknown lens {lens!r}; use one of {', '.join(LENSES)}")
    per: dict[str, dict] = {}
    for kind in CHOICES:
        per[kind] = {"choice": fixed.pop(kind, None), "params": dict(fixed.pop(f"{kind}_params", None) or {})}
        unknown = sorted(set(per[kind]["params"]) - set(_PARAMS[kind].model_fields))
        if unknown:
            raise ConfigError(f"unknown {kind}_params field(s) {unknown}; known: {', '.join(_PARAMS[kind].model_fields)}")
    if fixed:
        raise ConfigError(f"unknown item parameter(s) {sorted(fixed)}; use glasses=, lens=, clothing=, headwear=, "
                          "facewear=, earrings=, piercings= and glasses_params= (... _params) dicts")
    per["glasses"]["lens"] = lens
    blocks = {kind: rng.random(BLOCK) for kind in BASE_KINDS}  # fixed draw count
    swap = float(rng.random())
    child = _child_stream(rng)
    blocks.update({kind: child.random(BLOCK) for kind in CHOICES if kind not in BASE_KINDS})
    out: dict = {"swap": swap}
    for kind, choices in CHOICES.items():
        u = blocks[kind]
        choice = per[kind]["choice"]
        if choice is not None and choice not in ("none", "any", "sample") and choice not in choices:
            raise ConfigError(f"unknown {kind} {choice!r}; use sample, none, any or one of {', '.join(choices)}")
        table = getattr(pri, _TABLES[kind])
        worn = u[31] < getattr(pri, kind) if choice in (None, "sample") else choice != "none"
        if not worn:
            out[kind] = None
            continue
        variant = choice if choice in choices else _choice(u[30], table, choices)
        d = _SECTIONS[kind](u, pri, variant, per[kind])
        try:
            out[kind] = _PARAMS[kind](**d)
        except ValidationError as exc:
            raise ConfigError(f"{kind} parameters: {validation_problems(exc)}") from exc
    return OutfitParams(**out)


def compatible_hair(outfit: OutfitParams, style: str, beard: str) -> tuple[str, str]:
    """(scalp style, beard style) for a subject wearing `outfit` whose groom would have `style`, `beard`."""
    if outfit.headwear is not None:
        fits = HAIR_UNDER[outfit.headwear.kind]
        if style not in fits:
            style = _pick(outfit.swap, [s for s in fits if s != "bald"])
    if outfit.facewear is not None and beard not in BEARD_UNDER_MASK:
        beard = _pick(outfit.swap, BEARD_UNDER_MASK)
    return style, beard


def item_labels(outfit: OutfitParams | None) -> dict:
    """Flat labels of an outfit (library --where, dataset filters): what each item type is ('none' when not
    worn); glasses = the lens kind (clear, tinted, sunglasses), glasses_frame = the frame family; earrings
    and piercings = the style."""
    o = outfit or OutfitParams()
    return {
        "glasses": o.glasses.lens if o.glasses else "none",
        "glasses_frame": o.glasses.frame if o.glasses else "none",
        "clothing": o.clothing.style if o.clothing else "none",
        "headwear": o.headwear.kind if o.headwear else "none",
        "facewear": o.facewear.kind if o.facewear else "none",
        "earrings": o.earrings.style if o.earrings else "none",
        "piercings": o.piercings.style if o.piercings else "none",
    }
