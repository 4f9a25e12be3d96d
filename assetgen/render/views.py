"""Camera sampling from configs/render.yaml and the per-view files of `assetgen render` / `assetgen bake`.

Per view i (XXX = i zero-padded to 3): view_XXX.png (rgb), view_XXX.albedo.png, view_XXX.depth.npy
(float32 metres, inf where empty), view_XXX.normal.npy (float32 camera space), view_XXX.seg.png (uint8
region ids) and view_XXX.json {K, world_to_camera, image_size, segmentation {id: name}, landmarks
{pixels, camera, world, visible}, layers}.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import yaml
from PIL import Image
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from ..errors import ConfigError, InputError, validation_problems
from ..io import atomic_write_bytes, atomic_write_json
from .camera import Camera, look_at

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "render.yaml"
FILE_LAYERS = ("rgb", "albedo", "depth", "normal", "segmentation")


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
    path = Path(path) if path else DEFAULT_CONFIG
    if not path.is_file():
        if path == DEFAULT_CONFIG:
            return CameraRanges()
        raise ConfigError(f"render config {path} does not exist")
    try:
        return CameraRanges.model_validate(yaml.safe_load(path.read_text()) or {})
    except (yaml.YAMLError, OSError) as exc:
        raise ConfigError(f"{path}: cannot read the render config ({exc})") from exc
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


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", compress_level=3)
    return buf.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def write_view(out: Path, index: int, res, layers) -> Path:
    """Write one view's files; returns the JSON path."""
    stem = out / f"view_{index:03d}"
    if "rgb" in layers:
        atomic_write_bytes(f"{stem}.png", _png(res.rgb))
    if "albedo" in layers:
        atomic_write_bytes(f"{stem}.albedo.png", _png(res.albedo))
    if "depth" in layers:
        atomic_write_bytes(f"{stem}.depth.npy", _npy(res.depth.astype(np.float32)))
    if "normal" in layers:
        atomic_write_bytes(f"{stem}.normal.npy", _npy(res.normal.astype(np.float32)))
    if "segmentation" in layers:
        atomic_write_bytes(f"{stem}.seg.png", _png(res.segmentation))
    record = res.camera.to_json()
    record["segmentation"] = {str(i): n for i, n in enumerate(res.regions)}
    record["layers"] = [l for l in layers]
    if res.landmarks is not None:
        lm = res.landmarks
        record["landmarks"] = {
            "pixels": np.where(np.isfinite(lm["pixels"]), lm["pixels"], None).tolist(),
            "camera": lm["camera"].tolist(),
            "world": lm["world"].tolist(),
            "visible": [bool(v) for v in lm["visible"]],
        }
    return atomic_write_json(f"{stem}.json", record)


def read_views(folder: str | Path, layer: str = "rgb"):
    """The (image, Camera) of every view_XXX.json in `folder` with its `layer` image (rgb or albedo)."""
    from ..bake import View

    folder = Path(folder)
    if layer not in ("rgb", "albedo"):
        raise InputError(f"bake layer must be rgb or albedo, not {layer!r}")
    records = sorted(folder.glob("view_[0-9][0-9][0-9].json"))
    if not records:
        raise InputError(f"no view_XXX.json files in {folder}; render views with `assetgen render` first")
    views = []
    for rec in records:
        try:
            cam = Camera.from_json(json.loads(rec.read_text()))
        except json.JSONDecodeError as exc:
            raise InputError(f"{rec} is not valid JSON ({exc})") from exc
        img_path = rec.with_suffix(".png") if layer == "rgb" else rec.with_name(rec.stem + ".albedo.png")
        if not img_path.is_file():
            raise InputError(f"{img_path} is missing (render with --layers including {layer})")
        img = np.asarray(Image.open(img_path))
        if img.ndim != 3 or img.shape[2] not in (3, 4) or img.dtype != np.uint8:
            raise InputError(f"{img_path}: expected an 8-bit RGB image, got {img.dtype} {img.shape}")
        views.append(View(img, cam))
    return views
