"""Conditioning images for ControlNets, from the renderer's exact depth and normal layers.

depth: the MiDaS-style image the SD depth ControlNets (control_v11f1p_sd15_depth, controlnet-depth-*)
were trained on: inverse depth normalized to [0, 1], near = bright, far = dark, background 0 (as MiDaS
gives for the far distance). Normalization: d = (1/z - 1/z_far) / (1/z_near - 1/z_far) with z_near the
nearest visible depth and z_far = 2 * the farthest visible depth, so the farthest visible surface stays
clearly above the background (1/z_far is never reached). Written as 3 equal uint8 channels.

normal: the 'normalbae' ControlNet encoding (control_v11p_sd15_normalbae): RGB = (n + 1) / 2 * 255 with
n in a camera frame of x right (R), y up (G), z towards the camera (B), so a surface facing the camera
is (128, 128, 255)-ish blue; background (0, 0, 0). From OpenCV camera normals (x right, y down, z away):
(x, -y, -z). Normals facing away from the camera (back faces of thin cards) are flipped towards it.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError


def depth_condition(depth: np.ndarray) -> np.ndarray:
    """(H, W) float32 metres (inf = empty) -> (H, W, 3) uint8 normalized inverse depth, 0 = far/empty."""
    z = np.asarray(depth, np.float64)
    if z.ndim != 2:
        raise InputError(f"depth must be (H, W), got {z.shape}")
    fg = np.isfinite(z) & (z > 0)
    out = np.zeros(z.shape, np.float64)
    if fg.any():
        near, far = z[fg].min(), 2.0 * z[fg].max()
        inv = 1.0 / np.where(fg, z, far)
        out = np.where(fg, (inv - 1.0 / far) / (1.0 / near - 1.0 / far), 0.0)
    img = np.rint(np.clip(out, 0, 1) * 255).astype(np.uint8)
    return np.repeat(img[..., None], 3, axis=2)


def normal_condition(normal: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 OpenCV camera-space normals + (H, W) bool mask -> (H, W, 3) uint8 normalbae RGB."""
    n = np.asarray(normal, np.float64)
    if n.ndim != 3 or n.shape[2] != 3 or n.shape[:2] != np.shape(mask):
        raise InputError(f"normal must be (H, W, 3) matching the mask, got {n.shape} and {np.shape(mask)}")
    n = np.where(n[..., 2:3] > 0, -n, n)  # face the camera: OpenCV z points away from it
    enc = np.stack([n[..., 0], -n[..., 1], -n[..., 2]], axis=-1)
    img = np.rint((enc + 1.0) * 0.5 * 255).clip(0, 255).astype(np.uint8)
    img[~np.asarray(mask, bool)] = 0
    return img


def conditioning(result) -> dict[str, np.ndarray]:
    """{'depth': ..., 'normal': ...} conditioning images of a RenderResult (needs depth and normal layers)."""
    if result.depth is None or result.normal is None:
        raise InputError("conditioning needs a render with the depth and normal layers")
    return {"depth": depth_condition(result.depth), "normal": normal_condition(result.normal, result.mask)}
