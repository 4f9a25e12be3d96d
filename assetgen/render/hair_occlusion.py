"""Ambient occlusion of hair: how much of its surroundings a hair fibre sees past the rest of the hair and the
head. Fibres inside a groom, under a beard's surface or against the scalp see little of the sky; a ray
tracer's images show them dark, and without it the fast renderer lit every ribbon with the whole sky
towards the camera (hair came out brighter than Cycles' where no light shadows it).

Per subject, at its neutral (identity, no expression; the same for every pose, as render.occlusion's skin
occlusion): the groom's ribbons (render.occlusion.worn_at_neutral) are splatted into a grid of VOXEL_CM
cells as an extinction density (projected ribbon area a volume: ribbon area x opacity / 2 / cell volume),
the closed head (attach.head's capped skin) and the opaque parts of what the subject wears (a cap's crown
and brim, a hood, a collar: render.occlusion.worn_at_neutral) fill their cells opaque, and the transmittance
through the cells
past every cell to the grid's edge is swept along the 26 neighbour directions. A cell's share is twice
their mean, at most 1: what passes of the half of its surroundings on its open side (a fibre on the
groom's surface sees the whole half the rgb pass lights it with); its bent direction is the mean of the
directions weighted by what passes, unit (the open side of the groom). Posed hair looks its vertices up
in the grid (trilinear), so a beard following the jaw keeps its own values. The rgb pass scales the environment's and the ambient light on hair by the share and takes the
irradiance towards the bent direction the more the fibre is hidden; direct lights stay with the shadow
maps (render.shadows).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from itertools import product

import numpy as np
from scipy import ndimage

VOXEL_CM = 0.6  # a short crop's hair layer spans a few cells; an afro's dozens
MAX_CELLS = 96  # per axis (long hair: the cell grows)
MARGIN_CELLS = 2
HEAD_DENSITY = 50.0  # per cm: opaque within a cell
DIRECTIONS = np.array([d for d in product((-1, 0, 1), repeat=3) if any(d)], np.int64)  # (26, 3)
_CACHE: dict = {}
_CACHE_SIZE = 4
_LOCK = threading.Lock()


@dataclass(frozen=True)
class HairOcclusion:
    """A subject's occlusion grid in model units: cell (i, j, k) centred at origin + (ijk + 0.5) * voxel;
    values (X, Y, Z, 4) float32: the share in [0, 1], then the bent vector, the mean of the 26 unit
    directions weighted by their transmittance (not unit: short where the cell sees every side alike)."""

    origin: np.ndarray
    voxel: float
    values: np.ndarray

    @property
    def share(self) -> np.ndarray:
        return self.values[..., 0]

    @property
    def bent(self) -> np.ndarray:
        return self.values[..., 1:]

    def at(self, points: np.ndarray, normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(share (n,), bent (n, 3) unit) float32 at (n, 3) points in model units (trilinear, clamped to the
        grid); where the weighted directions cancel, the bent direction is the point's normal (n, 3)."""
        dims = np.array(self.values.shape[:3])
        q = np.clip((np.asarray(points, np.float64) - self.origin) / self.voxel - 0.5, 0.0, dims - 1)
        i0 = np.minimum(np.floor(q).astype(np.int64), np.maximum(dims - 2, 0))
        f = q - i0
        base = (i0[:, 0] * dims[1] + i0[:, 1]) * dims[2] + i0[:, 2]
        step = np.where(dims > 1, [dims[1] * dims[2], dims[2], 1], 0)  # the next cell along each axis
        flat = self.values.reshape(-1, 4)
        acc = np.zeros((len(q), 4))
        for dx, dy, dz in np.ndindex(2, 2, 2):  # the eight cells round each point: one gather of four values
            w = (f[:, 0] if dx else 1.0 - f[:, 0]) * (f[:, 1] if dy else 1.0 - f[:, 1]) * (f[:, 2] if dz else 1.0 - f[:, 2])
            acc += w[:, None] * flat.take(base + (dx * step[0] + dy * step[1] + dz * step[2]), axis=0)
        bent = acc[:, 1:]
        length = np.linalg.norm(bent, axis=1, keepdims=True)
        unit = np.where(length > 1e-6, bent / np.maximum(length, 1e-12), np.asarray(normals, np.float64))
        return np.clip(acc[:, 0], 0.0, 1.0).astype(np.float32), unit.astype(np.float32)


def asset_hair_occlusion(asset) -> HairOcclusion | None:
    """groom_occlusion of an asset's subject and what it wears (None without an identity or a groom)."""
    return groom_occlusion(asset.model, getattr(asset, "identity_weights", None), getattr(asset, "groom", None),
                           getattr(asset, "items", None))


def groom_occlusion(model, identity_weights: np.ndarray | None, groom, outfit=None) -> HairOcclusion | None:
    """The occlusion grid of a groom on the subject with `identity_weights`, under the opaque parts of what it
    wears (outfit: attach.items; module docstring), kept for the last few subjects (by content); None
    without an identity or strands."""
    if identity_weights is None or groom is None or not getattr(groom, "groups", ()):
        return None
    outfit = outfit if outfit is not None and getattr(outfit, "items", ()) else None
    w = np.ascontiguousarray(identity_weights, np.float64)
    key = (id(model), model.topology_hash, hashlib.blake2b(w.tobytes(), digest_size=16).digest(), groom.digest(),
           None if outfit is None else outfit.digest())
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    out = _compute(model, w, groom, outfit)
    if out is not None:
        for a in (out.values, out.origin):
            a.setflags(write=False)
    with _LOCK:
        _CACHE[key] = out
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
    return out


def _compute(model, identity_weights: np.ndarray, groom, outfit=None) -> HairOcclusion | None:
    from .occlusion import worn_at_neutral

    worn = worn_at_neutral(model, identity_weights, groom, outfit)
    if not len(worn.hair_triangles):
        return None
    pos, tri = worn.hair_positions, worn.hair_triangles
    # the grid holds the hair and what is worn over it (a brim reaching out past the fringe)
    both = np.concatenate([pos, worn.solid_positions]) if len(worn.solid_triangles) else pos
    lo, hi = both.min(0), both.max(0)
    voxel = max(VOXEL_CM, float((hi - lo).max()) / (MAX_CELLS - 2 * MARGIN_CELLS))
    origin = (np.floor(lo / voxel) - MARGIN_CELLS) * voxel  # on a fixed lattice: what is worn moves no cell
    dims = np.ceil((hi - origin) / voxel).astype(np.int64) + MARGIN_CELLS
    a, b, c = pos[tri[:, 0]], pos[tri[:, 1]], pos[tri[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    cell = np.clip(((a + b + c) / 3.0 - origin) // voxel, 0, dims - 1).astype(np.int64)
    flat = np.ravel_multi_index(cell.T, dims)
    sigma = np.bincount(flat, weights=0.5 * area * worn.hair_opacity, minlength=int(np.prod(dims)))
    sigma = sigma.reshape(dims) / voxel ** 3
    sigma[_inside_head(model, identity_weights, origin, voxel, dims)] = HEAD_DENSITY
    sigma[_on_surfaces(worn.solid_positions, worn.solid_triangles, origin, voxel, dims)] = HEAD_DENSITY
    share, bent = _sweep(sigma, voxel)
    return HairOcclusion(origin, float(voxel), np.concatenate([share[..., None], bent], -1).astype(np.float32))


def _inside_head(model, identity_weights: np.ndarray, origin: np.ndarray, voxel: float, dims) -> np.ndarray:
    """(X, Y, Z) bool: the cells whose centre lies inside the subject's closed head at its neutral."""
    import open3d as o3d

    from ..attach.head import head_geometry

    geo = head_geometry(model)
    verts = geo.capped_vertices(np.asarray(model.vertices(identity_weights), np.float64))
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(verts, np.float32)),
                        o3d.core.Tensor(np.ascontiguousarray(geo.capped_triangles, np.uint32)))
    axes = [origin[k] + (np.arange(dims[k]) + 0.5) * voxel for k in range(3)]
    centres = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3).astype(np.float32)
    inside = scene.compute_occupancy(o3d.core.Tensor(centres), nsamples=3).numpy() > 0.5
    return inside.reshape(tuple(dims))


def _on_surfaces(positions: np.ndarray, triangles: np.ndarray, origin: np.ndarray, voxel: float,
                 dims) -> np.ndarray:
    """(X, Y, Z) bool: the cells an item's opaque triangles pass through, thickened by a cell across (a thin
    shell stops the sweep's diagonal steps too): points every half cell over each triangle, binned."""
    cells = np.zeros(tuple(dims), bool)
    if not len(triangles):
        return cells
    a, b, c = (positions[triangles[:, k]] for k in range(3))
    edge = np.max([np.linalg.norm(b - a, axis=1), np.linalg.norm(c - b, axis=1), np.linalg.norm(a - c, axis=1)], 0)
    steps = np.maximum(np.ceil(edge / (0.5 * voxel)).astype(np.int64), 1)
    for n in np.unique(steps):
        sel = steps == n
        i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
        keep = i + j <= n
        u, v = (i[keep] / n)[:, None], (j[keep] / n)[:, None]  # barycentric lattice of the triangle
        pts = (a[sel][:, None] * (1 - u - v) + b[sel][:, None] * u + c[sel][:, None] * v).reshape(-1, 3)
        idx = np.floor((pts - origin) / voxel).astype(np.int64)
        inside = ((idx >= 0) & (idx < dims)).all(1)
        cells[tuple(idx[inside].T)] = True
    return ndimage.binary_dilation(cells)


def _sweep(sigma: np.ndarray, voxel: float) -> tuple[np.ndarray, np.ndarray]:
    """(share (X, Y, Z) (module docstring), bent (X, Y, Z, 3)) of an extinction grid (per model unit): per
    direction d of the 26, the transmittance T through the cells past each cell to beyond the grid's edge,
    T(x) = exp(-s(x + d) |d| voxel) T(x + d), 1 outside (a cell's own density left out: a fibre on the
    groom's surface is not hidden by the cell it lies in); swept slab by slab along an axis where d moves."""
    share = np.zeros(sigma.shape)
    bent = np.zeros(sigma.shape + (3,))
    for d in DIRECTIONS:
        axis = int(np.flatnonzero(d)[0])
        s = np.moveaxis(sigma, axis, 0)
        step = float(np.linalg.norm(d)) * voxel
        rest = [int(d[k]) for k in range(3) if k != axis]
        n0 = s.shape[0]
        sp = np.pad(s, ((0, 0), (1, 1), (1, 1)))
        t = np.ones((n0 + 2,) + sp.shape[1:])  # slabs 0 and n0 + 1: outside the grid
        inner = (slice(1, -1), slice(1, -1))
        shifted = (slice(1 + rest[0], sp.shape[1] - 1 + rest[0]), slice(1 + rest[1], sp.shape[2] - 1 + rest[1]))
        order = range(n0 - 1, -1, -1) if d[axis] > 0 else range(n0)
        for i in order:
            j = i + int(d[axis])  # the neighbour slab the direction leads to
            ahead = sp[j][shifted] if 0 <= j < n0 else 0.0
            t[i + 1][inner] = np.exp(-ahead * step) * t[j + 1][shifted]
        tv = np.moveaxis(t[1:-1, 1:-1, 1:-1], 0, axis)
        share += tv
        bent += tv[..., None] * (d / np.linalg.norm(d))
    return np.minimum(2.0 * share / len(DIRECTIONS), 1.0), bent / len(DIRECTIONS)
