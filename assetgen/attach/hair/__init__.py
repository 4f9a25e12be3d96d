"""Procedural hair: grooms of strands (scalp, brows, beard, lashes) bound to the face model, pigment
colours and renderable ribbons. Entry points: sample_groom_params, make_groom, build_ribbons."""

from .color import absorption, absorption_to_color, concentrations, pigment_color
from .groom import make_groom
from .params import (
    BEARD_STYLES,
    SCALP_STYLES,
    BeardParams,
    BrowParams,
    ColorParams,
    GroomParams,
    GroomPriors,
    LashParams,
    ScalpParams,
    sample_groom_params,
)
from .ribbons import RibbonMesh, build_ribbons
from .strands import REGIONS, Groom, StrandGroup

__all__ = [
    "BEARD_STYLES", "REGIONS", "SCALP_STYLES", "BeardParams", "BrowParams", "ColorParams", "Groom", "GroomParams",
    "GroomPriors", "LashParams", "RibbonMesh", "ScalpParams", "StrandGroup", "absorption", "absorption_to_color",
    "build_ribbons", "concentrations", "make_groom", "pigment_color", "sample_groom_params",
]
