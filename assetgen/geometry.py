"""Mesh geometry shared by the exporters and the renderer: world positions in metres, safe unit
normals, the per-(vertex, uv) corner split and glTF tangents.

Vertex normals themselves are FaceModel.vertex_normals (face/model.py); these helpers take them as
arrays. Everything here is plain numpy on arrays (and an Asset's vertices and model units), so the
GLB's attributes, the other formats' and the renderer's are computed by the same code, bit for bit.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

UNIT_SCALE = {"m": 1.0, "cm": 0.01, "mm": 0.001}
ITEM_MATERIAL_PREFIX = "Item_"  # the materials of attached items (glasses, hats, clothing...) in every format


def world_positions(asset) -> np.ndarray:
    """(V, 3) float32 vertex positions in metres in the GLB's frame. The GLB's POSITION, the other
    formats', the renderer's and the ground truth all come from here, so they agree bit for bit."""
    units = getattr(asset.model, "units", "cm")
    if units not in UNIT_SCALE:
        raise InputError(f"face model units {units!r} unknown; expected one of {', '.join(UNIT_SCALE)}")
    return (np.asarray(asset.vertices, dtype=np.float64) * UNIT_SCALE[units]).astype(np.float32)


def safe_normals(normals: np.ndarray) -> np.ndarray:
    """(V, 3) float32 unit normals; vertices whose triangles are all degenerate get +z (the viewer
    direction) instead of a zero vector, which glTF forbids."""
    n = np.asarray(normals, dtype=np.float64)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.where(length > 1e-12, n / np.maximum(length, 1e-300), np.array([0.0, 0.0, 1.0]))
    return n.astype(np.float32)


def split_corners(vertex_ids: np.ndarray, uv_ids: np.ndarray, n_uv: int):
    """Give every distinct (vertex id, uv id) pair of the triangle corners its own output vertex (what
    glTF needs: one UV per vertex).

    vertex_ids, uv_ids: (t, 3) ints. Returns source_vertex (n,) int64, source_uv (n,) int64 in order of
    first occurrence (corner order), and indices (t, 3) int64 into them.
    """
    v = np.asarray(vertex_ids, dtype=np.int64).ravel()
    t = np.asarray(uv_ids, dtype=np.int64).ravel()
    _, first, inverse = np.unique(v * int(n_uv) + t, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # np.unique sorts by key; reorder by first occurrence
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    corner = first[order]
    return v[corner], t[corner], rank[inverse.ravel()].reshape(-1, 3)


def vertex_tangents(positions: np.ndarray, normals: np.ndarray, uvs: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(n, 4) float32 glTF tangents by Lengyel's method.

    positions (n, 3), normals (n, 3) unit, uvs (n, 2) with v pointing UP in the image (the model's UVs,
    not glTF's flipped ones), triangles (t, 3). xyz: the direction of increasing u, orthogonalized
    against the normal; w = +1 when cross(normal, xyz) points to increasing v (image up, the +y of the
    tangent-space normal maps), else -1. Each triangle's dP/du, dP/dv is weighted by its UV area, so
    slivers with tiny UV area cannot dominate and UV-degenerate ones drop out. Where the UVs give no
    direction (length below 1e-12 of the largest sum), any unit vector perpendicular to the normal.
    """
    p = np.asarray(positions, dtype=np.float64)
    uv = np.asarray(uvs, dtype=np.float64)
    n = np.asarray(normals, dtype=np.float64)
    tri = np.asarray(triangles, dtype=np.int64)
    e1, e2 = p[tri[:, 1]] - p[tri[:, 0]], p[tri[:, 2]] - p[tri[:, 0]]
    d1, d2 = uv[tri[:, 1]] - uv[tri[:, 0]], uv[tri[:, 2]] - uv[tri[:, 0]]
    det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    # dP/du * det and dP/dv * det, times sign(det): the derivatives weighted by |det| (twice UV area).
    s = np.sign(det)[:, None]
    sdir = (e1 * d2[:, 1:2] - e2 * d1[:, 1:2]) * s
    tdir = (e2 * d1[:, 0:1] - e1 * d2[:, 0:1]) * s
    tan_u = _accumulate(sdir, tri, len(p))
    tan_v = _accumulate(tdir, tri, len(p))
    t = tan_u - n * np.sum(n * tan_u, axis=1, keepdims=True)
    length = np.linalg.norm(t, axis=1, keepdims=True)
    ok = length[:, 0] > 1e-12 * max(1.0, float(np.abs(tan_u).max(initial=0.0)))
    t = np.where(ok[:, None], t / np.maximum(length, 1e-300), any_perpendicular(n))
    w = np.where(np.sum(np.cross(n, t) * tan_v, axis=1) < 0.0, -1.0, 1.0)
    return np.concatenate([t, w[:, None]], axis=1).astype(np.float32)


def _accumulate(per_triangle: np.ndarray, triangles: np.ndarray, n: int) -> np.ndarray:
    """Sum (t, 3) per-triangle vectors onto the (n, 3) vertices of each triangle."""
    idx = triangles.ravel()  # corner order: t0c0, t0c1, t0c2, t1c0, ...
    vals = np.repeat(per_triangle, 3, axis=0)
    return np.stack([np.bincount(idx, weights=vals[:, c], minlength=n) for c in range(3)], axis=1)


def any_perpendicular(n: np.ndarray) -> np.ndarray:
    """(n, 3) unit vectors perpendicular to unit normals `n`: +x (or +y where the normal is within ~25
    degrees of the x axis) minus its component along the normal, normalized."""
    axis = np.where(np.abs(n[:, :1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    t = axis - n * np.sum(n * axis, axis=1, keepdims=True)
    return t / np.linalg.norm(t, axis=1, keepdims=True)
