"""Per-texel maps derived from a UV raster by barycentric interpolation (no re-rasterizing)."""

from __future__ import annotations

import numpy as np

from .raster import MaterialRaster


def interpolate(raster: MaterialRaster, triangles: np.ndarray, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Interpolate per-vertex `values` (V, C) over the raster: (H, W, C) float32, `fill` where uncovered.

    triangles: (F, 3) vertex ids (the model's triangulation); use uv ids and per-uv values for
    per-corner attributes.
    """
    values = np.asarray(values, dtype=np.float32)
    squeeze = values.ndim == 1
    if squeeze:
        values = values[:, None]
    h, w = raster.shape
    idx, tri, b = raster.covered()
    corners = triangles[tri]  # (N, 3)
    # value = v0 + b1 (v1 - v0) + b2 (v2 - v0): fewer temporaries than three products and two sums.
    v0 = values[corners[:, 0]]
    acc = values[corners[:, 1]]
    acc -= v0
    acc *= b[:, 1:2]
    v2 = values[corners[:, 2]]
    v2 -= v0
    v2 *= b[:, 2:3]
    acc += v2
    acc += v0
    out = np.full((h * w, values.shape[1]), fill, np.float32)
    out[idx] = acc
    out = out.reshape(h, w, -1)
    return out[..., 0] if squeeze else out


def position_map(raster: MaterialRaster, model, vertices: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 surface positions (the vertices' units) per texel."""
    return interpolate(raster, model.triangles, vertices)


def normal_map(raster: MaterialRaster, model, vertices: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 unit object-space normals per texel (zero where uncovered)."""
    n = interpolate(raster, model.triangles, model.vertex_normals(vertices))
    length = np.linalg.norm(n, axis=-1, keepdims=True)
    return np.divide(n, length, out=np.zeros_like(n), where=length > 0)


def region_map(raster: MaterialRaster, model) -> np.ndarray:
    """(H, W) uint8 region ids (ict.REGIONS; 0 = background where uncovered)."""
    tri = np.asarray(raster.triangle)
    out = np.zeros(tri.shape, np.uint8)
    m = tri >= 0
    out[m] = model.triangle_region[tri[m]]
    return out
