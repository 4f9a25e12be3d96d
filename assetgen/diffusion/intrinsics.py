"""Despecularize with Marigold intrinsics (diffusers' MarigoldIntrinsicsPipeline).

Checkpoint "appearance" (role `intrinsics`) predicts albedo, roughness, metallicity;
checkpoint "lighting" (role `intrinsics_lighting`) predicts albedo, diffuse shading and a non-diffuse
residual with image = albedo * shading + residual. Output: albedo (sRGB uint8), residual = what was
removed (image - albedo for appearance; the predicted residual for lighting), and every predicted map.
"""

from __future__ import annotations

import numpy as np

from ..despecular import Despecularized, linear_to_srgb, srgb_to_linear
from ..errors import InputError
from .loading import to_u8


def _u8(x: np.ndarray) -> np.ndarray:
    return to_u8(np.asarray(x, np.float32))


def despecularize_marigold(runtime, image: np.ndarray, *, checkpoint: str = "appearance", seed: int = 0,
                           steps: int | None = None, ensemble_size: int = 1,
                           processing_resolution: int | None = None) -> Despecularized:
    """image: (H, W, 3|4) uint8 sRGB. Returns Despecularized with uint8 sRGB diffuse (= albedo) and
    residual; params holds provenance and `maps` (name -> uint8 array) has every predicted target."""
    from .loading import generator

    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InputError(f"despecularize needs an (H, W, 3|4) uint8 image, got {arr.dtype} {arr.shape}")
    role = {"appearance": "intrinsics", "lighting": "intrinsics_lighting"}.get(checkpoint)
    if role is None:
        raise InputError(f"unknown Marigold checkpoint {checkpoint!r}; use appearance or lighting")
    pipe = runtime.load(role).obj
    rgb = arr[..., :3].astype(np.float32) / 255.0
    steps = steps or pipe.default_denoising_steps or 4
    with runtime.exclusive():
        out = pipe(rgb[None], num_inference_steps=steps, ensemble_size=ensemble_size,
                   processing_resolution=processing_resolution, match_input_resolution=True,
                   generator=generator(seed), output_type="np")
    pred = np.asarray(out.prediction)  # (T, H, W, 3) in [0, 1]
    props = pipe.target_properties or {}
    names = list(props.get("target_names", [f"target{i}" for i in range(pred.shape[0])]))
    maps_lin, maps = {}, {}
    for name, p in zip(names, pred):
        space = (props.get(name) or {}).get("prediction_space", "srgb")
        lin = srgb_to_linear(p) if space == "srgb" else p.astype(np.float32)
        maps_lin[name] = lin
        maps[name] = _u8(linear_to_srgb(lin) if name == "albedo" else p)
    albedo = maps["albedo"]
    if "residual" in maps_lin:
        residual = _u8(linear_to_srgb(maps_lin["residual"]))
    else:
        residual = np.clip(arr[..., :3].astype(np.int16) - albedo.astype(np.int16), 0, 255).astype(np.uint8)
    if arr.shape[2] == 4:
        albedo = np.concatenate([albedo, arr[..., 3:]], axis=-1)
    params = {"stage": "despecularize", "method": "marigold", "checkpoint": checkpoint, "seed": seed,
              "steps": steps, "ensemble_size": ensemble_size, "processing_resolution": processing_resolution,
              "scheduler": type(pipe.scheduler).__name__, "targets": names, **runtime.provenance(role)}
    result = Despecularized(albedo, residual, "marigold", params)
    result.maps = maps  # type: ignore[attr-defined]
    return result
