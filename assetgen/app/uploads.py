"""Pictures the person uploads or the current texture: reading uploads safely, despecularizing, cleaning."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..images import read_image
from .exports import uv_image

MAX_UPLOAD_PIXELS = 4096 * 4096
UPLOAD_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def read_upload(path: str | Path, max_bytes: int = 20 << 20) -> np.ndarray:
    """An uploaded image -> (H, W, 3) uint8 RGB. Refuses non-images, huge files and huge pictures."""
    p = Path(path)
    if not p.is_file():
        raise InputError("the upload is missing; upload it again")
    size = p.stat().st_size
    if size > max_bytes:
        raise InputError(f"the upload is {size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB")
    if p.suffix.lower() not in UPLOAD_SUFFIXES:
        raise InputError(f"{p.name} is not an image this app reads (use {', '.join(UPLOAD_SUFFIXES)})")
    # Alpha is dropped: the app's image tools work on colour (a transparent pixel keeps its colour).
    return read_image(p, what="upload", max_pixels=MAX_UPLOAD_PIXELS)[..., :3].copy()


def despecularize_image(image: np.ndarray, mask: np.ndarray | None = None, gain: float = 4.0):
    """(before, after, residual shown x gain, params): classical dichromatic despecularization."""
    from ..despecular import despecularize

    res = despecularize(image, mask=mask)
    before = np.ascontiguousarray(np.asarray(image)[..., :3])
    after = np.ascontiguousarray(res.diffuse[..., :3])
    shown = np.clip(res.residual.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    return before, after, shown, {**res.params, "residual_display_gain": gain,
                                  "residual_mean": float(res.residual.mean())}


def despecularize_asset(asset, gain: float = 4.0):
    """Despecularize the asset's face albedo inside the UV layout's coverage."""
    img = uv_image(asset)
    return despecularize_image(img, gain=gain)


def clean_image(image: np.ndarray, threshold: int = 8):
    """Classical inpaint of near-black texels (holes, unbaked background); returns (cleaned, mask)."""
    from ..diffusion.clean import inpaint_classical

    img = np.asarray(image)[..., :3]
    mask = img.max(-1) < threshold
    if not mask.any():
        return np.ascontiguousarray(img), mask
    res = inpaint_classical(img, mask)
    return np.ascontiguousarray(res.image[..., :3]), mask
