"""The model registry: which model plays which role (configs/models.yaml). Plain data, no torch.

A registry file maps roles to models:

    runtime: {device: auto, dtype: auto, cpu_offload: false}
    models:
      text2image: {source: stable-diffusion-v1-5/stable-diffusion-v1-5, revision: main, scheduler: UniPCMultistepScheduler}
      controlnet_depth: {source: /models/control_v11f1p_sd15_depth}

`source` is a hub id (owner/name) or a local folder (absolute, or relative to the registry file).
Every role has a fixed pipeline or model class (ROLES); the registry chooses weights, not code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import AssetgenError, ConfigError, validation_problems
from ..yamlio import load_yaml

# role -> (diffusers class it is loaded with, what it is for)
ROLES: dict[str, tuple[str, str]] = {
    "text2image": ("StableDiffusionPipeline", "text-to-image base model (UNet, VAE, text encoder)"),
    "controlnet_depth": ("ControlNetModel", "depth ControlNet for the text2image model"),
    "controlnet_normal": ("ControlNetModel", "normal-map ControlNet for the text2image model"),
    "inpainting": ("StableDiffusionInpaintPipeline", "inpainting model (9-channel UNet)"),
    "intrinsics": ("MarigoldIntrinsicsPipeline", "Marigold intrinsics (appearance: albedo/roughness/metallicity)"),
    "intrinsics_lighting": ("MarigoldIntrinsicsPipeline", "Marigold intrinsics (lighting: albedo/shading/residual)"),
}

# Schedulers a registry may name (diffusers classes; no arbitrary imports).
SCHEDULERS = (
    "DDIMScheduler", "DDPMScheduler", "PNDMScheduler", "LMSDiscreteScheduler", "EulerDiscreteScheduler",
    "EulerAncestralDiscreteScheduler", "DPMSolverMultistepScheduler", "UniPCMultistepScheduler",
    "LCMScheduler", "HeunDiscreteScheduler",
)

Dtype = Literal["auto", "float32", "float16", "bfloat16"]


class ModelMissingError(AssetgenError):
    """A model a stage needs is not configured, not on disk, or not downloadable (offline)."""


class UnsafeModelError(AssetgenError):
    """A model folder holds only pickled weights or custom code."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """One role's model. revision: a branch, tag or (best) commit hash, recorded in provenance."""

    source: str = Field(min_length=1)
    revision: str | None = None
    dtype: Dtype = "auto"
    scheduler: str | None = None
    variant: str | None = Field(None, description="weights variant, e.g. fp16 (model.fp16.safetensors)")

    @field_validator("scheduler")
    @classmethod
    def _known_scheduler(cls, v: str | None) -> str | None:
        if v is not None and v not in SCHEDULERS:
            raise ValueError(f"unknown scheduler {v!r}; known: {', '.join(SCHEDULERS)}")
        return v

    @property
    def is_local(self) -> bool:
        s = self.source
        return s.startswith(("/", ".", "~")) or Path(s).expanduser().exists() or s.count("/") != 1


class RuntimeSpec(_Strict):
    """device: auto | cuda | cuda:N | cpu | mps; dtype: auto = float16 on CUDA, float32 on CPU."""

    device: str = "auto"
    dtype: Dtype = "auto"
    cpu_offload: bool = False
    attention_slicing: bool = False


class ModelRegistry(_Strict):
    runtime: RuntimeSpec = RuntimeSpec()
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    source_file: str | None = Field(None, exclude=True)

    @field_validator("models")
    @classmethod
    def _known_roles(cls, v: dict[str, ModelSpec]) -> dict[str, ModelSpec]:
        unknown = [r for r in v if r not in ROLES]
        if unknown:
            raise ValueError(f"unknown roles {', '.join(unknown)}; known: {', '.join(ROLES)}")
        return v

    def has(self, role: str) -> bool:
        return role in self.models

    def spec(self, role: str) -> ModelSpec:
        if role not in ROLES:
            raise ConfigError(f"unknown model role {role!r}; known: {', '.join(ROLES)}")
        if role not in self.models:
            where = self.source_file or "the model registry"
            raise ModelMissingError(
                f"no model is configured for role {role!r} ({ROLES[role][1]}) in {where}; add "
                f"`models: {{{role}: {{source: HUB_ID_OR_FOLDER}}}}` (see configs/models.yaml)"
            )
        spec = self.models[role]
        if spec.is_local and self.source_file and not Path(spec.source).expanduser().is_absolute():
            spec = spec.model_copy(update={"source": str((Path(self.source_file).parent / spec.source).resolve())})
        return spec

    def with_models(self, **specs: ModelSpec | dict | str) -> "ModelRegistry":
        """A copy with some roles replaced (a str is a source)."""
        models = dict(self.models)
        for role, s in specs.items():
            models[role] = s if isinstance(s, ModelSpec) else ModelSpec(source=s) if isinstance(s, str) else ModelSpec(**s)
        return ModelRegistry(runtime=self.runtime, models=models, source_file=self.source_file)


def default_registry_path() -> Path:
    """ASSETGEN_MODELS, else configs/models.yaml of the repository."""
    import os

    env = os.environ.get("ASSETGEN_MODELS")
    if env:
        return Path(env)
    from ..resources import config_path  # shipped with the package

    return config_path("models.yaml")


def load_registry(path: str | Path | None = None) -> ModelRegistry:
    """Read a registry YAML; every problem is one ConfigError naming the file and the key."""
    path = Path(path) if path is not None else default_registry_path()
    data = load_yaml(path, "model registry") or {}
    return registry_from_dict(data, source=str(path))


def registry_from_dict(data: dict, source: str | None = None) -> ModelRegistry:
    try:
        reg = ModelRegistry.model_validate({k: v for k, v in (data or {}).items()})
    except ValidationError as exc:
        raise ConfigError(f"{source or 'model registry'} is invalid: {validation_problems(exc)}") from exc
    return reg.model_copy(update={"source_file": source})
