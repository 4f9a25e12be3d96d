"""What each eye sees of its surroundings: the brow, the lids, the nose and the cheeks (and any item near the
eye) stop part of what a cornea would otherwise mirror (most of the bright sky above a face) and shade the
eyeball in its socket. Ray tracers get this from their rays; the fast renderer scales the cornea's
reflection and the eyeball's light by maps per eye (render.shaders: CORNEA_PASS and `eyeball`).

A map is a VIS_SIZE equirectangular image over world directions, in the environment's own parametrisation
(u = atan2(z, x) / 2 pi + 0.5, v = acos(y) / pi, row j at v = (j + 0.5) / H). Its visibility is the fraction
of rays in that direction from points on the eye (N_ORIGINS on the front of the iris's dome, the cornea;
2 N_ORIGINS on the white around it) that meet none of the solid surfaces within REACH_M of an eye and in front
of its centre; a point sees nothing below its own surface, nor more than 120 degrees from the eye's axis
(the head). The eyes' own surfaces are left out, and so are hair (its cards are mostly gaps between fibres)
and the lashes (cut-out cards). The shade channels weight it by the cosine over each direction's hemisphere;
the renderer takes a hidden direction's light at BOUNCE, what the skin around sends back.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .hair import is_hair
from .mesh import RenderMesh

VIS_SIZE = (32, 16)  # width (azimuth), height (polar angle): 11.25 degree cells
REACH_M = 0.06  # occluders further than this from both eyes are not looked at (a cap's brim is nearer)
N_ORIGINS = 8
# what the lids and skin around an eye send back of the light they stop (their albedo, ~0.45, times the
# share of the surroundings they see themselves, ~half): the renderer takes light from a hidden direction at
# this fraction, not at nothing (render.shaders CORNEA_PASS)
BOUNCE = 0.2
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


@dataclass(frozen=True)
class EyePoints:
    """An eye's reference points (metres): centre (3,) near the eyeball's centre, axis (3,) unit from it
    through the iris, cornea (k, 3) points on the front of the iris's dome, sclera (m, 3) points on the
    sclera in a ring around the cornea (those under the lids are among them)."""

    centre: np.ndarray
    axis: np.ndarray
    cornea: np.ndarray
    sclera: np.ndarray


def eye_points(mesh: RenderMesh) -> list[EyePoints] | None:
    """Per eye (EYES order) its EyePoints; None when the mesh lacks an eye's materials."""
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
        cornea = front[np.linspace(0, len(front) - 1, min(N_ORIGINS, len(front))).round().astype(int)]
        # the white around it: in each of 2 N_ORIGINS equal sectors round the axis, the sclera vertex nearest
        # 40 degrees off the axis (the middle of the white between the cornea and the lids' reach)
        rel = s - centre
        off = np.degrees(np.arccos(np.clip(rel @ axis / np.maximum(np.linalg.norm(rel, axis=1), 1e-12), -1, 1)))
        side = np.cross(axis, [0.0, 1.0, 0.0])
        side /= max(np.linalg.norm(side), 1e-12)
        up = np.cross(side, axis)
        sector = ((np.arctan2(rel @ up, rel @ side) + np.pi) / (2 * np.pi) * 2 * N_ORIGINS).astype(int)
        sector = np.minimum(sector, 2 * N_ORIGINS - 1)
        order = np.lexsort((np.abs(off - 40.0), sector))  # by sector, then nearest 40 degrees first
        first = order[np.r_[True, sector[order][1:] != sector[order][:-1]]]
        out.append(EyePoints(centre, axis, cornea, s[first]))
    return out


@lru_cache(maxsize=4)
def shade_weights(size: tuple[int, int] = VIS_SIZE) -> np.ndarray:
    """(H W, H W) float64: row i the cosine-weighted share of each cell (its solid angle times its cosine to
    cell i's direction, over that hemisphere): visibility @ weights.T is the unoccluded share of the light a
    surface facing each direction receives. Cached: read only."""
    d = cell_directions(size).reshape(-1, 3)
    h = size[1]
    area = np.repeat(np.sin((np.arange(h) + 0.5) / h * np.pi), size[0])  # cells' solid angles, up to a factor
    w = np.maximum(d @ d.T, 0.0) * area[None]
    w /= w.sum(1, keepdims=True)
    w.setflags(write=False)
    return w


def visibility_maps(mesh: RenderMesh, size: tuple[int, int] = VIS_SIZE):
    """((2, H, W, 3) float32 per eye: channel 0 the visibility (module docstring) of each direction, what
    the cornea mirrors; channels 1 and 2 the share of the surroundings' light a surface facing that direction
    receives on the cornea (the iris under it) and on the sclera left uncovered by the lids (visibility,
    cosine-weighted over its hemisphere: the socket's shade), (2, 3) eyeball centres) or None when the mesh
    has no eyes."""
    import open3d as o3d

    eyes = eye_points(mesh)
    if eyes is None:
        return None
    centres = np.array([e.centre for e in eyes])
    skip = {mesh.regions.index(r) for r in SEE_THROUGH if r in mesh.regions}
    which = [i for i in mesh.solid() if not is_hair(mesh.primitives[i])]
    pos, idx, ids = mesh.triangles_world(which)
    keep = ~np.isin(mesh.triangle_region[ids], list(skip))
    near = np.zeros(len(pos), bool)
    for e in eyes:  # near an eye and in front of its centre (what lies behind meets rays never cast)
        rel = pos - e.centre.astype(np.float32)
        near |= ((rel ** 2).sum(1) <= REACH_M ** 2) & (rel @ e.axis.astype(np.float32) >= 0.0)
    keep &= near[idx].any(1)
    dirs = cell_directions(size).reshape(-1, 3)
    maps = np.ones((2, size[1], size[0], 3), np.float32)
    if not keep.any():
        return maps, centres
    weights = shade_weights(size)
    used, tris = np.unique(idx[keep], return_inverse=True)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(pos[used])),
                        o3d.core.Tensor(np.ascontiguousarray(tris.reshape(-1, 3), np.uint32)))
    for k, e in enumerate(eyes):
        origins = np.concatenate([e.cornea, e.sclera])
        outward = origins - e.centre
        outward /= np.maximum(np.linalg.norm(outward, axis=1, keepdims=True), 1e-12)
        # a point on the eyeball sees only what lies above its own surface (the eyeball is left out of the
        # scene, and what lies behind its centre too)
        cast = (dirs @ e.axis >= BEHIND)[None, :] & (outward @ dirs.T > 0.0)
        origin, cell = np.nonzero(cast)
        rays = o3d.core.Tensor(np.concatenate([origins[origin], dirs[cell]], 1).astype(np.float32))
        free = np.zeros((len(origins), len(dirs)))
        free[origin, cell] = np.isinf(scene.cast_rays(rays)["t_hit"].numpy())
        cornea, sclera = free[: len(e.cornea)], free[len(e.cornea):]
        # the sclera's points under the lids see nothing and shade no pixel: each point counts by how much
        # it sees (the uncovered ones decide)
        seen = cornea.mean(0)
        exposure = sclera.mean(1)
        white = exposure @ sclera / exposure.sum() if exposure.sum() > 0 else seen
        maps[k, ..., 0] = seen.reshape(size[1], size[0])
        maps[k, ..., 1] = (weights @ seen).reshape(size[1], size[0])
        maps[k, ..., 2] = (weights @ white).reshape(size[1], size[0])
    return maps, centres

