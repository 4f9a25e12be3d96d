"""Shadows of the rgb layer's directional lights (the fixed lights, or an environment's dominant lights: a sun, a
lamp): per light and per render, a depth map of the solid surfaces seen along the light (alpha-tested MASK
materials by their cutoff; hair by its alpha-tested part, every chunk of it, not culled), orthographic over the
mesh's bounding box, one tile of an atlas. The rgb shaders look each point up in it (shaders.SHADOW_GLSL): a
surface from a point lifted off it by two texels along its normal, so that it does not shadow itself; hair from
a point lifted three texels towards the light (a ribbon's normal says little). The nose's shadow on the cheek, a
brim's on the brow, the beard's on the neck, the upper strands' on the lower ones; the GT layers never see
shadows."""

from __future__ import annotations

import numpy as np

from ..geometry import any_perpendicular

SIZE = 512  # texels a side of a light's map: ~0.6 mm a texel over a head with a hat and a garment
MAX_SHADOWED = 2  # the strongest lights (an environment's come strongest first) cast shadows, each a tile of
# one atlas (one texture for the shader to sample); a weaker light's shadow hardly shows and costs a pass
SHADOW_UNIT = 6  # the atlas's texture unit: after the base, roughness, environment, normal map, the eyes' maps


def light_view(direction, corners: np.ndarray) -> tuple[np.ndarray, float]:
    """(4, 4) float64 world -> map (OpenGL clip space: x, y, depth in -1..1, depth -1 nearest the light) of the
    light towards `direction` (world) over the box with `corners` (8, 3); and a texel's size (world units)."""
    z = np.asarray(direction, np.float64)
    z = z / np.linalg.norm(z)
    x = any_perpendicular(z[None])[0]
    rot = np.stack([x, np.cross(z, x), z])  # rows: the map's x, y and the direction towards the light
    centre = np.asarray(corners, np.float64).mean(0)
    local = (np.asarray(corners, np.float64) - centre) @ rot.T
    lo, hi = local.min(0), local.max(0)
    pad = 0.01 * (hi - lo).max() + 1e-6
    lo, hi = lo - pad, hi + pad
    view = np.eye(4)
    view[:3, :3] = rot
    view[:3, 3] = -rot @ centre
    proj = np.eye(4)
    for k in range(2):
        proj[k, k] = 2.0 / (hi[k] - lo[k])
        proj[k, 3] = -(hi[k] + lo[k]) / (hi[k] - lo[k])
    proj[2, 2] = -2.0 / (hi[2] - lo[2])  # nearest the light (largest z) -> -1
    proj[2, 3] = (hi[2] + lo[2]) / (hi[2] - lo[2])
    return proj @ view, float((hi[:2] - lo[:2]).max() / SIZE)
