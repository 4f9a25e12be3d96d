"""Ambient occlusion of the face model's skin: how much of its surroundings each skin vertex sees past the rest
of the head. The eye sockets, the sides of the nose, the lips' corners, the ears' folds and under the chin
see less; a ray tracer's images show it, and the fast renderer's rgb pass scales the environment's light by
it (the diffuse SH and ambient, the prefiltered specular; direct lights cast no shadows either way).

Per subject, at its neutral (its identity, no expression): the same for every pose of a subject, so that a
data set's image does not depend on which pose a renderer saw first; kept per identity. RAYS rays a vertex,
cosine-distributed round its normal (one fixed set, turned into each vertex's frame), from LIFT above the
surface; a ray that meets the head's solid surfaces (not the eyes' overlays or the lash cards) within REACH
counts as hidden. Vertices of other materials see everything (1).
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np

from ..geometry import any_perpendicular

RAYS = 16
# The GLB carries it per vertex of the face's primitives as this application-specific attribute (glTF: an
# underscore name; other readers leave it alone)
OCCLUSION_ATTRIBUTE = "_OCCLUSION"
REACH_CM = 5.0  # a fold deeper than this is rare on a head: further surfaces do not hide (the shoulders, the far side)
LIFT_CM = 0.01
RECEIVERS = ("M_Face", "M_BackHead")  # the skin
TRANSPARENT = ("M_LacrimalFluid", "M_EyeBlend", "M_EyeOcclusion", "M_EyeLashes")  # overlays and cards
_CACHE: dict = {}
_CACHE_SIZE = 4
_LOCK = threading.Lock()


def hemisphere_directions(n: int = RAYS) -> np.ndarray:
    """(n, 3) unit directions about +z, cosine-distributed (a Fibonacci spiral on the unit disc, lifted)."""
    k = np.arange(n) + 0.5
    r = np.sqrt(k / n)
    phi = k * np.pi * (3.0 - np.sqrt(5.0))
    return np.stack([r * np.cos(phi), r * np.sin(phi), np.sqrt(1.0 - r * r)], 1)


def skin_occlusion(model, identity_weights: np.ndarray | None) -> np.ndarray | None:
    """(V,) float32 per model vertex: the share of RAYS that leave the head unhidden (module docstring), 1 for
    vertices of materials other than RECEIVERS; None for a model without skin (an imported mesh) or a bare
    geometry without an identity (diffusion's conditioning views). Kept for the last few identities."""
    if identity_weights is None or not set(RECEIVERS) & set(model.material_names):
        return None
    w = np.ascontiguousarray(identity_weights, np.float64)
    key = (id(model), model.topology_hash, hashlib.blake2b(w.tobytes(), digest_size=16).digest())
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    out = _compute(model, w)
    out.setflags(write=False)
    with _LOCK:
        _CACHE[key] = out
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
    return out


def _compute(model, identity_weights: np.ndarray) -> np.ndarray:
    import open3d as o3d

    v = np.asarray(model.vertices(identity_weights), np.float64)
    tri = np.asarray(model.triangles)
    names = list(model.material_names)
    mat = np.asarray(model.triangle_material)
    solid = ~np.isin(mat, [names.index(m) for m in TRANSPARENT if m in names])
    skin = np.isin(mat, [names.index(m) for m in RECEIVERS if m in names])
    out = np.ones(len(v), np.float32)
    receivers = np.unique(tri[skin])
    if not len(receivers):
        return out
    n = np.asarray(model.vertex_normals(v.astype(np.float32)), np.float64)[receivers]
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    t = any_perpendicular(n)
    b = np.cross(n, t)
    local = hemisphere_directions()
    dirs = (local[None, :, 0:1] * t[:, None] + local[None, :, 1:2] * b[:, None] + local[None, :, 2:3] * n[:, None])
    origins = np.repeat(v[receivers] + n * LIFT_CM, RAYS, 0)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(v.astype(np.float32)), o3d.core.Tensor(np.ascontiguousarray(tri[solid], np.uint32)))
    rays = np.concatenate([origins, dirs.reshape(-1, 3)], 1).astype(np.float32)
    hit = scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy().reshape(len(receivers), RAYS)
    out[receivers] = (hit >= REACH_CM).mean(1)
    return out
