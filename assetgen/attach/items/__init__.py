"""Accessories and clothing bound to the face model: eyeglasses, garments, headwear and face masks, each a
procedural ItemMesh fitted to one identity and bound to the model surface (RigidBinding or Binding).

Entry points: sample_outfit_params (seeded, with compatibility rules), make_outfit (fit + bind),
Outfit.evaluate (pose for any expression), compatible_hair / clip_groom (hair under hats and masks).
"""

from .materials import ItemMaterial
from .mesh import ItemMesh
from .outfit import HairClip, Item, Outfit, make_outfit
from .params import (
    FRAMES,
    GARMENTS,
    HATS,
    KINDS,
    LENSES,
    MASKS,
    ClothingParams,
    FacewearParams,
    GlassesParams,
    HeadwearParams,
    ItemPriors,
    OutfitParams,
)
from .sample import compatible_hair, item_labels, sample_outfit_params

__all__ = [
    "FRAMES", "GARMENTS", "HATS", "KINDS", "LENSES", "MASKS", "ClothingParams", "FacewearParams", "GlassesParams",
    "HairClip", "HeadwearParams", "Item", "ItemMaterial", "ItemMesh", "ItemPriors", "Outfit", "OutfitParams",
    "compatible_hair", "item_labels", "make_outfit", "sample_outfit_params",
]
