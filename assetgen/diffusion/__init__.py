"""Diffusion stage (runs only early: generate, clean and despecularize appearance).

Importing this package is cheap: torch and diffusers are imported by the functions that need them.
Registry: `load_registry` (configs/models.yaml). Runtime: `DiffusionRuntime` (device, dtype, cache).
Stages: `reference_images`, `text_to_uv` / `TextToUVPipeline` (+ the `DiffusionTextureBackend`, texture backend
"diffusion"),
`clean`/`inpaint_classical`/`inpaint_diffusion`, `despecularize_marigold`, `item_textures` (recipe
items.textures: diffusion: fabric and acetate item materials painted by the text2image model).
The classical despecularizer lives in `assetgen.despecular` (numpy only).
"""

from .registry import ROLES, ModelMissingError, ModelRegistry, ModelSpec, UnsafeModelError, load_registry
from .text_to_uv import (DiffusionTextureBackend, TextToUVConfig, TextToUVPipeline, TextToUVResult, load_config,
                         text_to_uv)

__all__ = ["ROLES", "DiffusionTextureBackend", "ModelMissingError", "ModelRegistry", "ModelSpec", "TextToUVConfig",
           "TextToUVPipeline", "TextToUVResult", "UnsafeModelError", "load_config", "load_registry", "text_to_uv"]
