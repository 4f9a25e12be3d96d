"""Texture backends: the embedded procedural skin model, and (later) diffusion backends."""

from .base import MaterialTextures, ProgressFn, TextureBackend, TextureSet
from .params import MakeupLayer, SkinParams
from .procedural import ProceduralSkinBackend

__all__ = [
    "MakeupLayer",
    "MaterialTextures",
    "ProceduralSkinBackend",
    "ProgressFn",
    "SkinParams",
    "TextureBackend",
    "TextureSet",
]
