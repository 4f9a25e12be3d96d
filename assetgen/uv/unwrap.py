"""UV unwrapping for meshes that have none (imported heads, accessories), with xatlas.

xatlas cuts seams, so vertices are split; `source_vertex` maps every output vertex back to the input
vertex it came from, so per-vertex data (landmarks, weights, labels) carries over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass(frozen=True, eq=False)
class UnwrappedMesh:
    """vertices: (N, 3) float32; triangles: (F, 3) int32 into vertices (same order as the input faces);
    uvs: (N, 2) float32 in [0, 1]; source_vertex: (N,) int64 index of the input vertex."""

    vertices: np.ndarray
    triangles: np.ndarray
    uvs: np.ndarray
    source_vertex: np.ndarray


def check_triangle_mesh(vertices: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a triangle mesh; raise InputError naming the problem."""
    v = np.asarray(vertices)
    f = np.asarray(triangles)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) < 3:
        raise InputError(f"vertices must be (n >= 3, 3), got {v.shape}")
    if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
        raise InputError(f"triangles must be (m >= 1, 3), got {f.shape}")
    if not np.issubdtype(f.dtype, np.integer):
        raise InputError("triangle indices must be integers")
    if not np.isfinite(v).all():
        raise InputError("vertices contain NaN or infinity")
    if f.min() < 0 or f.max() >= len(v):
        raise InputError(f"triangle indices must lie in [0, {len(v) - 1}]")
    return v.astype(np.float32), f.astype(np.uint32)


def unwrap(vertices: np.ndarray, triangles: np.ndarray, resolution: int = 1024, padding: int = 4) -> UnwrappedMesh:
    """Unwrap a triangle mesh into one [0, 1]² atlas; charts are packed for `resolution` with `padding`
    texels between them (so islands can be dilated without touching)."""
    import xatlas

    v, f = check_triangle_mesh(vertices, triangles)
    atlas = xatlas.Atlas()
    atlas.add_mesh(v, f)
    pack = xatlas.PackOptions()
    pack.resolution = int(resolution)
    pack.padding = int(padding)
    pack.bilinear = True
    atlas.generate(pack_options=pack)
    vmapping, indices, uvs = atlas[0]
    if len(indices) != len(f):
        raise InputError("xatlas dropped degenerate triangles; clean the mesh (remove zero-area faces) first")
    return UnwrappedMesh(
        vertices=v[vmapping],
        triangles=indices.astype(np.int32),
        uvs=uvs.astype(np.float32),
        source_vertex=vmapping.astype(np.int64),
    )
