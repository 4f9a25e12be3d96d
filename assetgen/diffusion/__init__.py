"""Diffusion stage (runs only early: generate, clean and despecularize appearance).

Importing this package is cheap: torch and diffusers are imported by the functions that need them.
Registry: `load_registry` (configs/models.yaml). Runtime: `DiffusionRuntime` (device, dtype, cache).
Stages: `reference_images`, `clean`/`inpaint_classical`/`inpaint_diffusion`, `despecularize_marigold`.
The classical despecularizer lives in `assetgen.despecular` (numpy only).
"""

from .registry import ROLES, ModelMissingError, ModelRegistry, ModelSpec, UnsafeModelError, load_registry

__all__ = ["ROLES", "ModelMissingError", "ModelRegistry", "ModelSpec", "UnsafeModelError", "load_registry"]
