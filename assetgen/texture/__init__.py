"""Texture backends: the embedded procedural skin model, and (later) diffusion backends."""

from .base import MaterialTextures, ProgressFn, TextureBackend, TextureSet

__all__ = ["MaterialTextures", "ProgressFn", "TextureBackend", "TextureSet"]
