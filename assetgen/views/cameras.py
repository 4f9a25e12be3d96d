"""Camera sampling for views of stored assets: the ranges of a render config (configs/render.yaml,
shipped with the package) and the cameras drawn from them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..errors import ConfigError, validation_problems
from ..render.camera import Camera, look_at
from ..resources import config_path

DEFAULT_CONFIG = config_path("render.yaml")  # shipped with the package (assetgen.resources)


class CameraRanges(BaseModel):
    """Ranges the render command samples cameras from (see configs/render.yaml)."""

    model_config = ConfigDict(extra="forbid")
    yaw_deg: tuple[float, float] = (-60.0, 60.0)
    pitch_deg: tuple[float, float] = (-20.0, 25.0)
    distance_m: tuple[float, float] = (0.45, 0.7)
    focal_mm: tuple[float, float] = (45.0, 85.0)
    target_offset_m: tuple[float, float, float] = (0.0, 0.0, 0.02)
    supersample: int = 2

    @field_validator("yaw_deg", "pitch_deg", "distance_m", "focal_mm")
    @classmethod
    def _ordered(cls, v):
        if not all(math.isfinite(x) for x in v) or v[0] > v[1]:
            raise ValueError(f"must be a finite [min, max] with min <= max, got {list(v)}")
        return v

    @field_validator("pitch_deg")
    @classmethod
    def _pitch(cls, v):
        if v[0] <= -89 or v[1] >= 89:
            raise ValueError("pitch must stay inside (-89, 89) degrees (the camera keeps world +y up)")
        return v

    @field_validator("distance_m", "focal_mm")
    @classmethod
    def _positive(cls, v):
        if v[0] <= 0:
            raise ValueError("must be > 0")
        return v

    @field_validator("supersample")
    @classmethod
    def _ss(cls, v):
        if not 1 <= v <= 4:
            raise ValueError("supersample must be 1..4")
        return v


def load_ranges(path: str | Path | None = None) -> CameraRanges:
    """The camera ranges of a render config YAML (default configs/render.yaml; built-in ranges without it)."""
    from ..yamlio import load_yaml

    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_file():
        if path == DEFAULT_CONFIG:
            return CameraRanges()
        raise ConfigError(f"render config {path} does not exist")
    try:
        return CameraRanges.model_validate(load_yaml(path, "render config") or {})
    except ValidationError as exc:
        raise ConfigError(f"{path}: {validation_problems(exc)}") from exc


def sample_cameras(mesh, n: int, size: int, rng: np.random.Generator, ranges: CameraRanges) -> list[Camera]:
    """`n` cameras orbiting the head (square images of `size` px), drawn from `rng` in a fixed order."""
    lo, hi = mesh.bounds()
    target = (lo + hi) / 2 + np.asarray(ranges.target_offset_m)
    cams = []
    for _ in range(n):
        yaw, pitch, dist, focal = (rng.uniform(*r) for r in (ranges.yaw_deg, ranges.pitch_deg, ranges.distance_m, ranges.focal_mm))
        y, p = math.radians(yaw), math.radians(pitch)
        eye = target + dist * np.array([math.sin(y) * math.cos(p), math.sin(p), math.cos(y) * math.cos(p)])
        fx = focal / 36.0 * size
        K = np.array([[fx, 0, size / 2], [0, fx, size / 2], [0, 0, 1]])
        cams.append(Camera(K, look_at(eye, target), (size, size)))
    return cams
