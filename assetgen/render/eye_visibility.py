"""What each eye's clear cornea sees of its surroundings: the brow, the lids, the nose and the cheeks (and any
item near the eye) stop part of what a cornea would otherwise mirror, most of the bright sky above a face.
Ray tracers get this from their rays; the fast renderer scales the cornea's reflection by a map per eye
(render.shaders CORNEA_PASS).

A map is a VIS_SIZE equirectangular image over world directions, in the environment's own parametrisation
(u = atan2(z, x) / 2 pi + 0.5, v = acos(y) / pi, row j at v = (j + 0.5) / H): the fraction of rays in that
direction from points on the cornea (the front of the iris's dome, N_ORIGINS of them) that meet none of the
solid surfaces within REACH_M of an eye and in front of its centre (directions more than 120 degrees from
the eye's axis are not cast: the head). The eyes' own surfaces are left out, and so are hair (its cards
are mostly gaps between fibres) and the lashes (cut-out cards).
"""

from __future__ import annotations

import numpy as np

from .hair import is_hair
from .mesh import RenderMesh

VIS_SIZE = (32, 16)  # width (azimuth), height (polar angle): 11.25 degree cells
REACH_M = 0.06  # occluders further than this from both eyes are not looked at (a cap's brim is nearer)
N_ORIGINS = 8
BEHIND = -0.5  # directions more than 120 degrees from an eye's axis meet the head behind it: not cast
EYES = (("M_ScleraLeft", "M_IrisLeft"), ("M_ScleraRight", "M_IrisRight"))  # face.ict materials, eye 0 and 1
# regions that never stop what a cornea sees: the eyes themselves, their overlays, the lashes' cards
SEE_THROUGH = ("sclera_left", "sclera_right", "iris_left", "iris_right", "lacrimal_fluid", "eye_blend",
               "eye_occlusion", "eyelashes")


def cell_directions(size: tuple[int, int] = VIS_SIZE) -> np.ndarray:
    """(H, W, 3) unit world directions at the centres of the map's cells."""
    w, h = size
    phi = ((np.arange(w) + 0.5) / w - 0.5) * 2 * np.pi
    theta = (np.arange(h) + 0.5) / h * np.pi
    st = np.sin(theta)[:, None]
    return np.stack(np.broadcast_arrays(st * np.cos(phi), np.cos(theta)[:, None], st * np.sin(phi)), -1)


def cornea_points(mesh: RenderMesh) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None:
    """Per eye (EYES order): (eyeball centre (3,) (near it), the eye's axis (3,) unit, from the centre through the
    iris, points on the cornea (k, 3)), metres; None when the mesh lacks an eye's materials."""
    by_name = {p.material: p for p in mesh.primitives}
    if any(s not in by_name or i not in by_name for s, i in EYES):
        return None
    out = []
    for sclera, iris in EYES:
        # the middle of the sclera's box: within a millimetre of the eyeball's centre (the cornea's bulge
        # lengthens the box), at a fraction of face.gaze.eyeball_sphere's cost every pose
        s = np.asarray(by_name[sclera].positions, np.float64)
        centre = 0.5 * (s.min(0) + s.max(0))
        q = np.asarray(by_name[iris].positions, np.float64)
        axis = q.mean(0) - centre
        axis /= max(np.linalg.norm(axis), 1e-12)
        # the front of the dome: the iris vertices furthest along the eye's axis, spread over it
        front = q[np.argsort(-(q - centre) @ axis, kind="stable")[: max(N_ORIGINS, len(q) // 4)]]
        pick = front[np.linspace(0, len(front) - 1, min(N_ORIGINS, len(front))).round().astype(int)]
        out.append((centre, axis, pick))
    return out


def shade_weights(size: tuple[int, int] = VIS_SIZE) -> np.ndarray:
    """(H W, H W) float64: row i the cosine-weighted share of each cell (its solid angle times its cosine to
    cell i's direction, over that hemisphere): visibility @ weights.T is the unoccluded share of the light a
    surface facing each direction receives."""
    d = cell_directions(size).reshape(-1, 3)
    h = size[1]
    area = np.repeat(np.sin((np.arange(h) + 0.5) / h * np.pi), size[0])  # cells' solid angles, up to a factor
    w = np.maximum(d @ d.T, 0.0) * area[None]
    return w / w.sum(1, keepdims=True)


def visibility_maps(mesh: RenderMesh, size: tuple[int, int] = VIS_SIZE):
    """((2, H, W, 2) float32 per eye: channel 0 the visibility (module docstring) of each direction, what
    the cornea mirrors; channel 1 the share of the surroundings' light a surface of the eyeball facing that
    direction receives (visibility, cosine-weighted over its hemisphere: the socket's shade on sclera and
    iris), (2, 3) eyeball centres) or None when the mesh has no eyes."""
    import open3d as o3d

    eyes = cornea_points(mesh)
    if eyes is None:
        return None
    centres = np.array([c for c, _, _ in eyes])
    skip = {mesh.regions.index(r) for r in SEE_THROUGH if r in mesh.regions}
    which = [i for i in mesh.solid() if not is_hair(mesh.primitives[i])]
    pos, idx, ids = mesh.triangles_world(which)
    keep = ~np.isin(mesh.triangle_region[ids], list(skip))
    near = np.zeros(len(pos), bool)
    for c, axis, _ in eyes:  # near an eye and in front of its centre (what lies behind meets rays never cast)
        rel = pos - c.astype(np.float32)
        near |= ((rel ** 2).sum(1) <= REACH_M ** 2) & (rel @ axis.astype(np.float32) >= 0.0)
    keep &= near[idx].any(1)
    dirs = cell_directions(size).reshape(-1, 3)
    maps = np.ones((2, size[1], size[0], 2), np.float32)
    if not keep.any():
        return maps, centres
    weights = _shade_weights(size)
    used, tris = np.unique(idx[keep], return_inverse=True)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(pos[used])),
                        o3d.core.Tensor(np.ascontiguousarray(tris.reshape(-1, 3), np.uint32)))
    for k, (_, axis, origins) in enumerate(eyes):
        ahead = np.flatnonzero(dirs @ axis >= BEHIND)
        o = np.repeat(origins, len(ahead), 0)
        d = np.tile(dirs[ahead], (len(origins), 1))
        rays = o3d.core.Tensor(np.concatenate([o, d], 1).astype(np.float32))
        free = np.isinf(scene.cast_rays(rays)["t_hit"].numpy()).reshape(len(origins), -1)
        seen = np.zeros(len(dirs))
        seen[ahead] = free.mean(0)
        maps[k, ..., 0] = seen.reshape(size[1], size[0])
        maps[k, ..., 1] = (weights @ seen).reshape(size[1], size[0])
    return maps, centres


_WEIGHTS: dict = {}


def _shade_weights(size) -> np.ndarray:
    if size not in _WEIGHTS:
        _WEIGHTS[size] = shade_weights(size)
    return _WEIGHTS[size]
