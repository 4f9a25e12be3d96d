"""Ambient occlusion of the face model's skin: how much of its surroundings each skin vertex sees past the rest
of the head. The eye sockets, the sides of the nose, the lips' corners, the ears' folds and under the chin
see less; a ray tracer's images show it, and the fast renderer's rgb pass scales the environment's light by
it (the diffuse SH and ambient, the prefiltered specular; direct lights cast no shadows either way).

Per subject, at its neutral (its identity, no expression): the same for every pose of a subject, so that a
data set's image does not depend on which pose a renderer saw first; kept per subject. RAYS rays a vertex,
cosine-distributed round its normal (one fixed set, turned into each vertex's frame), from LIFT above the
surface; a ray that meets the head's solid surfaces (not the eyes' overlays or the lash cards) within REACH
counts as hidden. Vertices of other materials see everything (1).

What the subject wears occludes too, at the same neutral: the opaque parts of its items (a cap's brim over the
forehead, a collar round the neck, glasses' rims) hide a ray that meets them within ATTACHMENT_REACH, and each
hair ribbon a ray crosses within that reach lets 1 - its opacity through (the fibre texture's mean alpha times
the ribbon's alpha: the scalp under hair and the forehead under a fringe see less of the sky).

Besides the share, each vertex keeps where its open sky lies: its bent normal, the mean of its rays' directions
weighted by what passes along each, kept as an offset from its normal at the neutral (0 where every ray
passes) so that a pose's normal bent by it follows the expression. The rgb pass lights the diffuse from the
environment along the bent normal (never above what the whole sky would give): a cap's brim hides the bright
sky above the brow, which Cycles' rays find and a share alone cannot. Direct lights stay unshadowed.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import numpy as np

from ..geometry import any_perpendicular
from .hair import fibre_texture

RAYS = 16
# The GLB carries it per vertex of the face's primitives as this application-specific attribute (glTF: an
# underscore name; other readers leave it alone), a VEC4: xyz the bent normal (unit, in the GLB's pose), w the
# share. One attribute, not two: Blender's glTF importer pairs several custom attributes of a mesh's
# primitives in an order that varies from run to run.
OCCLUSION_ATTRIBUTE = "_OCCLUSION"
REACH_CM = 5.0  # a fold deeper than this is rare on a head: further surfaces do not hide (the shoulders, the far side)
LIFT_CM = 0.01
ATTACHMENT_REACH_CM = 12.0  # a brim, a collar and hair beside the face lie farther out than the head's folds
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


@dataclass(frozen=True)
class Worn:
    """What a subject wears, as occluders of its skin at its neutral (model units): the items' opaque parts,
    positions (n, 3) float64 and triangles (t, 3) int64; the hair ribbons, positions (m, 3) float64, triangles
    (h, 3) int64 and opacity (h,) float64 (the share of a ray crossing the ribbon that it stops)."""

    solid_positions: np.ndarray
    solid_triangles: np.ndarray
    hair_positions: np.ndarray
    hair_triangles: np.ndarray
    hair_opacity: np.ndarray


@dataclass(frozen=True)
class SkinOcclusion:
    """Per model vertex: share (V,) float32 in [0, 1], what passes of RAYS rays; bend (V, 3) float32, the bent
    normal minus the normal at the neutral (module docstring), 0 where nothing hides."""

    share: np.ndarray
    bend: np.ndarray

    def bent_normals(self, normals: np.ndarray, vertices: np.ndarray) -> np.ndarray:
        """(n, 3) float32 unit bent normals of model vertices `vertices` (n,) whose normals in the pose at
        hand are `normals` (n, 3): each normal turned by its neutral's bend."""
        n = np.asarray(normals, np.float32)
        b = n + self.bend[vertices]
        length = np.linalg.norm(b, axis=1, keepdims=True)
        up = np.array([0.0, 0.0, 1.0], np.float32)  # (a degenerate vertex without a normal: any unit vector)
        return np.where(length > 1e-6, b / np.maximum(length, np.float32(1e-6)), up).astype(np.float32)


def asset_occlusion(asset) -> SkinOcclusion | None:
    """skin_occlusion of an asset: its model and identity, with what it wears (its groom and items)."""
    return skin_occlusion(asset.model, getattr(asset, "identity_weights", None), getattr(asset, "groom", None),
                          getattr(asset, "items", None))


def skin_occlusion(model, identity_weights: np.ndarray | None, groom=None, outfit=None) -> SkinOcclusion | None:
    """Per model vertex, the share of RAYS that leave the head and what it wears (a groom, an outfit:
    attach.hair / attach.items, bound to the model) unhidden, and the bend of its normal towards them (module
    docstring); share 1 and no bend for vertices of materials other than RECEIVERS; None for a model without skin (an imported mesh) or a bare geometry
    without an identity (diffusion's conditioning views). Kept for the last few subjects (identity and what
    it wears, by content)."""
    if identity_weights is None or not set(RECEIVERS) & set(model.material_names):
        return None
    w = np.ascontiguousarray(identity_weights, np.float64)
    groom = groom if groom is not None and getattr(groom, "groups", ()) else None
    outfit = outfit if outfit is not None and getattr(outfit, "items", ()) else None
    key = (id(model), model.topology_hash, hashlib.blake2b(w.tobytes(), digest_size=16).digest(),
           None if groom is None else groom.digest(), None if outfit is None else outfit.digest())
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    out = _compute(model, w, None if groom is None and outfit is None else worn_at_neutral(model, w, groom, outfit))
    out.share.setflags(write=False)
    out.bend.setflags(write=False)
    with _LOCK:
        _CACHE[key] = out
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
    return out


def worn_at_neutral(model, identity_weights: np.ndarray, groom=None, outfit=None) -> Worn:
    """A groom's ribbons and an outfit's opaque parts on the identity's neutral (either may be None)."""
    neutral = np.asarray(model.vertices(identity_weights), np.float32)
    pos, tri, base = [np.zeros((0, 3))], [np.zeros((0, 3), np.int64)], 0
    for it in () if outfit is None else outfit.items:
        mesh = it.mesh
        keep = np.concatenate([mesh.part_triangles(k) for k, m in enumerate(mesh.materials) if m.alpha_mode != "BLEND"]
                              + [np.zeros(0, np.int64)]).astype(np.int64)
        pos.append(np.asarray(it.evaluate(neutral), np.float64))
        tri.append(np.asarray(mesh.triangles, np.int64)[np.sort(keep)] + base)
        base += len(pos[-1])
    hair_pos, hair_tri, opacity = np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros(0)
    if groom is not None:
        from ..attach.hair.ribbons import RibbonMesh, posed_group_ribbons

        meshes = [m for _, m in posed_group_ribbons(groom, model, neutral, lod=True) if m.n_triangles]
        if meshes:
            rib = RibbonMesh.concat(meshes)
            hair_pos, hair_tri = np.asarray(rib.positions, np.float64), np.asarray(rib.triangles, np.int64)
            fibre = float(fibre_texture()[..., 3].mean()) / 255.0  # across the ribbon
            opacity = fibre * np.asarray(rib.alpha, np.float64)[hair_tri].mean(1)
    return Worn(np.concatenate(pos), np.concatenate(tri), hair_pos, hair_tri, opacity)


def _compute(model, identity_weights: np.ndarray, worn: Worn | None = None) -> SkinOcclusion:
    import open3d as o3d

    v = np.asarray(model.vertices(identity_weights), np.float64)
    tri = np.asarray(model.triangles)
    names = list(model.material_names)
    mat = np.asarray(model.triangle_material)
    solid = ~np.isin(mat, [names.index(m) for m in TRANSPARENT if m in names])
    skin = np.isin(mat, [names.index(m) for m in RECEIVERS if m in names])
    share, bend = np.ones(len(v), np.float32), np.zeros((len(v), 3), np.float32)
    receivers = np.unique(tri[skin])
    if not len(receivers):
        return SkinOcclusion(share, bend)
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
    rays = o3d.core.Tensor(rays)
    hit = scene.cast_rays(rays)["t_hit"].numpy().reshape(len(receivers), RAYS)
    seen = (hit >= REACH_CM).astype(np.float64)
    if worn is not None:
        seen *= _worn_transmittance(worn, rays).reshape(len(receivers), RAYS)
    share[receivers] = seen.mean(1)
    # the bend: the open rays' mean direction against all rays' (not the normal: 16 rays' mean is not quite it)
    mean_all = dirs.sum(1)
    mean_all /= np.linalg.norm(mean_all, axis=1, keepdims=True)
    mean_open = np.einsum("vr,vri->vi", seen, dirs)
    length = np.linalg.norm(mean_open, axis=1, keepdims=True)
    hidden = length[:, 0] < 1e-9  # nothing open at all: no direction to prefer
    mean_open = np.where(hidden[:, None], mean_all, mean_open / np.maximum(length, 1e-12))
    bend[receivers] = np.where((seen == 1.0).all(1)[:, None], 0.0, mean_open - mean_all)
    return SkinOcclusion(share, bend)


def _worn_transmittance(worn: Worn, rays) -> np.ndarray:
    """(r,) float64 the share of each ray that passes what is worn within ATTACHMENT_REACH_CM: 0 where an opaque
    part meets it, else the product of 1 - opacity over the hair ribbons it crosses (in order of distance along
    the ray, then triangle: the same bytes whatever order the ray caster lists them in)."""
    import open3d as o3d

    n = int(rays.shape[0])
    through = np.ones(n)
    if len(worn.solid_triangles):
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.core.Tensor(worn.solid_positions.astype(np.float32)),
                            o3d.core.Tensor(np.ascontiguousarray(worn.solid_triangles, np.uint32)))
        through[scene.cast_rays(rays)["t_hit"].numpy() < ATTACHMENT_REACH_CM] = 0.0
    if len(worn.hair_triangles):
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.core.Tensor(worn.hair_positions.astype(np.float32)),
                            o3d.core.Tensor(np.ascontiguousarray(worn.hair_triangles, np.uint32)))
        found = scene.list_intersections(rays)
        t = found["t_hit"].numpy()
        ray = np.repeat(np.arange(n), np.diff(found["ray_splits"].numpy().astype(np.int64)))
        prim = found["primitive_ids"].numpy().astype(np.int64)
        near = t < ATTACHMENT_REACH_CM
        ray, prim, t = ray[near], prim[near], t[near]
        order = np.lexsort((prim, t, ray))
        ray, prim = ray[order], prim[order]
        if len(ray):
            starts = np.flatnonzero(np.r_[True, ray[1:] != ray[:-1]])
            through[ray[starts]] *= np.multiply.reduceat(1.0 - worn.hair_opacity[prim], starts)
    return through
