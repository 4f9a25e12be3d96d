"""Item parameters (pydantic, frozen): one model per item type with its variant, and the outfit of a subject.

Sizes are in cm, angles in degrees, colours linear RGB in [0, 1]. `sample.py` draws them; the fitters
(glasses.py, clothing.py, headwear.py, facewear.py, jewellery.py) turn them into meshes fitted to one identity.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..choices import check_choice_tables

Frame = Literal["round", "rectangular", "aviator", "cat_eye", "rimless"]
FRAMES: tuple[str, ...] = Frame.__args__  # type: ignore[attr-defined]
Lens = Literal["clear", "tinted", "sunglasses"]
LENSES: tuple[str, ...] = Lens.__args__  # type: ignore[attr-defined]
Garment = Literal["crew_neck", "v_neck", "collared", "turtleneck", "hoodie"]
GARMENTS: tuple[str, ...] = Garment.__args__  # type: ignore[attr-defined]
Hat = Literal["baseball_cap", "beanie", "brimmed_hat", "headscarf", "headband", "helmet"]
HATS: tuple[str, ...] = Hat.__args__  # type: ignore[attr-defined]
Mask = Literal["surgical", "n95", "kn95", "cloth"]
MASKS: tuple[str, ...] = Mask.__args__  # type: ignore[attr-defined]
Earring = Literal["stud", "hoop", "drop"]
EARRINGS: tuple[str, ...] = Earring.__args__  # type: ignore[attr-defined]
Piercing = Literal["nostril_stud", "nostril_ring", "septum", "brow"]
PIERCINGS: tuple[str, ...] = Piercing.__args__  # type: ignore[attr-defined]
Pattern = Literal["solid", "stripes", "check", "dots", "knit", "weave", "melange", "tortoise"]
KINDS = ("glasses", "clothing", "headwear", "facewear", "earrings", "piercings")  # also the items' regions


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _rgb(v):
    if any(not 0.0 <= float(x) <= 1.0 for x in v):
        raise ValueError(f"a colour is three linear RGB values in [0, 1], got {v!r}")
    return v


Color = Annotated[tuple[float, float, float], AfterValidator(_rgb)]


class GlassesParams(_Frozen):
    """Eyeglasses. frame: outline family; lens: clear (BLEND, almost invisible), tinted (BLEND, coloured) or
    sunglasses (opaque: segmented as glasses); lens_width/lens_height: one lens's outline (cm);
    bridge_width: the gap between the lenses over the nose; rim_thickness: the rim's width in the lens
    plane (0 for rimless); rim_depth: front-to-back; temple_height: the arms' height; wrap: face-form angle
    of the outer rims; tilt: pantoscopic tilt (lower rims nearer the cheeks); vertex_distance: lens plane
    in front of the cornea; lift: lens centre above the pupils (cm); metal: thin metal frame (pads on arms)
    or acetate; frame_color, frame_pattern (solid or tortoise), tint_color and lens_alpha (BLEND opacity)."""

    frame: Frame = "rectangular"
    lens: Lens = "clear"
    lens_width: float = Field(5.0, ge=3.8, le=6.2)
    lens_height: float = Field(3.4, ge=2.0, le=6.2)
    bridge_width: float = Field(1.8, ge=1.2, le=2.6)
    rim_thickness: float = Field(0.35, ge=0.0, le=0.8)
    rim_depth: float = Field(0.4, ge=0.1, le=0.8)
    temple_height: float = Field(0.4, ge=0.12, le=0.9)
    wrap: float = Field(4.0, ge=0.0, le=12.0)
    tilt: float = Field(8.0, ge=0.0, le=15.0)
    vertex_distance: float = Field(1.4, ge=1.1, le=2.2)
    lift: float = Field(0.2, ge=-0.4, le=0.8)
    metal: bool = False
    frame_color: Color = (0.02, 0.02, 0.02)
    frame_pattern: Literal["solid", "tortoise"] = "solid"
    pattern_color: Color = (0.25, 0.1, 0.03)
    tint_color: Color = (0.9, 0.92, 0.95)
    lens_alpha: float = Field(0.1, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check(self):
        if self.frame == "rimless" and self.rim_thickness != 0.0:
            raise ValueError("rimless glasses have rim_thickness 0")
        if self.frame != "rimless" and self.rim_thickness < 0.05:
            raise ValueError(f"a {self.frame} frame needs rim_thickness >= 0.05 cm")
        return self


class ClothingParams(_Frozen):
    """A garment around the neck and shoulders. style: crew_neck, v_neck, collared (shirt with a turned-down
    collar), turtleneck (rolled collar up the neck), hoodie (neckline with a hood lying behind the neck);
    thickness: how far the cloth stands off the skin (cm); neckline: how far the neckline lies below the
    base of the neck at the front (cm; the V's depth for v_neck); collar_height: collar / roll height (cm);
    color, pattern, pattern_color, repeats: the fabric; trim_color: ribbing and collar."""

    style: Garment = "crew_neck"
    thickness: float = Field(0.45, ge=0.25, le=1.2)
    neckline: float = Field(2.0, ge=0.0, le=12.0)
    collar_height: float = Field(3.0, ge=0.5, le=8.0)
    color: Color = (0.2, 0.25, 0.4)
    pattern: Pattern = "solid"
    pattern_color: Color = (0.8, 0.8, 0.8)
    repeats: int = Field(8, ge=1, le=40)
    trim_color: Color = (0.2, 0.25, 0.4)



class HeadwearParams(_Frozen):
    """Headwear. kind: baseball_cap, beanie, brimmed_hat, headscarf (hijab: covers the hair, ears and neck),
    headband, helmet; fit: gap between the scalp (or the hair under it) and the inside (cm);
    band: the front edge's height above the brows (cm); brim: brim length (cm; caps and hats);
    crown: extra crown height (cm; hats, beanies); thickness: the shell's thickness (cm); color, pattern,
    pattern_color, repeats: the fabric; accent_color: brim, band or trim."""

    kind: Hat = "baseball_cap"
    fit: float = Field(0.3, ge=0.15, le=3.0)
    band: float = Field(2.0, ge=0.5, le=5.0)
    brim: float = Field(7.0, ge=0.0, le=14.0)
    crown: float = Field(1.0, ge=0.0, le=8.0)
    thickness: float = Field(0.25, ge=0.1, le=1.5)
    color: Color = (0.1, 0.15, 0.3)
    pattern: Pattern = "solid"
    pattern_color: Color = (0.9, 0.9, 0.9)
    repeats: int = Field(6, ge=1, le=40)
    accent_color: Color = (0.1, 0.15, 0.3)



class FacewearParams(_Frozen):
    """A face mask from the nose bridge to under the chin, cheek to cheek, with ear loops (a head strap for
    n95). kind: surgical (pleated), n95 (cup), kn95 (folded), cloth; fit: gap between skin and mask (cm);
    loop_width: the ear loops' diameter (cm); color, pattern, pattern_color, repeats."""

    kind: Mask = "surgical"
    fit: float = Field(0.35, ge=0.15, le=1.5)
    loop_width: float = Field(0.2, ge=0.08, le=0.6)
    color: Color = (0.55, 0.75, 0.9)
    pattern: Pattern = "solid"
    pattern_color: Color = (0.9, 0.9, 0.9)
    repeats: int = Field(6, ge=1, le=40)



class EarringParams(_Frozen):
    """Earrings in the ear lobes (jewellery.py). style: stud (a gem or metal dome on the lobe), hoop (a ring
    through the lobe, hanging below it), drop (a hook with a pendant); sides: both, left or right lobe (the
    subject's own); size: the stud's diameter, the hoop's diameter or the drop's length (cm); wire: the
    metal's thickness (cm); metal_color, gem_color (studs and drops; None: all metal); roughness."""

    style: Earring = "stud"
    sides: Literal["both", "left", "right"] = "both"
    size: float = Field(0.4, ge=0.2, le=4.0)
    wire: float = Field(0.1, ge=0.05, le=0.25)
    metal_color: Color = (0.9, 0.7, 0.35)
    gem_color: Color | None = None
    roughness: float = Field(0.2, ge=0.05, le=0.6)

    @model_validator(mode="after")
    def _check(self):
        limit = {"stud": 1.0, "hoop": 4.0, "drop": 4.0}[self.style]
        if self.size > limit:
            raise ValueError(f"a {self.style} earring is at most {limit} cm, got size {self.size}")
        return self


class PiercingParams(_Frozen):
    """A facial piercing (jewellery.py). style: nostril_stud, nostril_ring (through the nose wing),
    septum (a ring through the septum, hanging in front of the upper lip), brow (a barbell through the
    outer eyebrow: two balls); side: the subject's left or right (not used by septum); size: the stud's or
    ball's diameter, or the ring's diameter (cm); wire: thickness (cm); metal_color, roughness."""

    style: Piercing = "nostril_stud"
    side: Literal["left", "right"] = "left"
    size: float = Field(0.25, ge=0.1, le=1.6)
    wire: float = Field(0.08, ge=0.04, le=0.16)
    metal_color: Color = (0.75, 0.75, 0.77)
    roughness: float = Field(0.2, ge=0.05, le=0.6)



class OutfitParams(_Frozen):
    """The items one subject wears (None: not worn) and one uniform for the hair compatibility swap."""

    glasses: GlassesParams | None = None
    clothing: ClothingParams | None = None
    headwear: HeadwearParams | None = None
    facewear: FacewearParams | None = None
    earrings: EarringParams | None = None
    piercings: PiercingParams | None = None
    swap: float = Field(0.5, ge=0.0, le=1.0)

    def as_dict(self) -> dict:
        return self.model_dump(mode="json")

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(k for k in KINDS if getattr(self, k) is not None)


class ItemPriors(_Frozen):
    """How often each item type is worn and the variant tables (normalized when used)."""

    glasses: float = Field(0.15, ge=0, le=1)
    headwear: float = Field(0.15, ge=0, le=1)
    facewear: float = Field(0.01, ge=0, le=1)
    clothing: float = Field(1.0, ge=0, le=1)
    earrings: float = Field(0.10, ge=0, le=1)
    piercings: float = Field(0.03, ge=0, le=1)
    frame: dict[str, float] = Field(default_factory=lambda: {
        "round": 0.2, "rectangular": 0.35, "aviator": 0.15, "cat_eye": 0.15, "rimless": 0.15})
    lens: dict[str, float] = Field(default_factory=lambda: {"clear": 0.65, "tinted": 0.1, "sunglasses": 0.25})
    garment: dict[str, float] = Field(default_factory=lambda: {
        "crew_neck": 0.3, "v_neck": 0.2, "collared": 0.2, "turtleneck": 0.1, "hoodie": 0.2})
    hat: dict[str, float] = Field(default_factory=lambda: {
        "baseball_cap": 0.3, "beanie": 0.25, "brimmed_hat": 0.12, "headscarf": 0.12, "headband": 0.11,
        "helmet": 0.1})
    mask: dict[str, float] = Field(default_factory=lambda: {"surgical": 0.45, "n95": 0.2, "kn95": 0.15, "cloth": 0.2})
    earring: dict[str, float] = Field(default_factory=lambda: {"stud": 0.5, "hoop": 0.3, "drop": 0.2})
    piercing: dict[str, float] = Field(default_factory=lambda: {
        "nostril_stud": 0.45, "nostril_ring": 0.25, "septum": 0.15, "brow": 0.15})
    pattern: float = Field(0.3, ge=0, le=1)

    @model_validator(mode="after")
    def _known(self):
        check_choice_tables((("frame", self.frame, FRAMES), ("lens", self.lens, LENSES),
                             ("garment", self.garment, GARMENTS), ("hat", self.hat, HATS),
                             ("mask", self.mask, MASKS), ("earring", self.earring, EARRINGS),
                             ("piercing", self.piercing, PIERCINGS)))
        return self
