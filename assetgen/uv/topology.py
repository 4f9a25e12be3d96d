"""The per-material vertex layout of a face model, as the GLB has it, shared by every exporter and
by the renderer's meshes.

One primitive per material that has triangles, in material order, holding that material's triangles
in the model's triangle order. Its vertices are the distinct (vertex id, uv id) corner pairs in
first-occurrence order (geometry.split_corners), so each carries one UV; its texture coordinates are
the material's UDIM tiles mapped into its own image (raster.udim_texcoords). topology_of caches this
per model, with the tangent work that depends on the UVs alone.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..geometry import split_corners
from .raster import material_tiles, udim_texcoords


@dataclass(frozen=True, eq=False)
class GlbPrimitive:
    """One primitive of the exported mesh (the GLB's; the other formats and the renderer follow it).

    source_vertex: (n,) int64, primitive vertex -> model vertex id; source_uv: (n,) int64, primitive
    vertex -> model uv id; source_triangle: (t,) int64, primitive triangle -> model triangle id.
    """

    material: str
    source_vertex: np.ndarray
    source_uv: np.ndarray
    source_triangle: np.ndarray

    @property
    def n_triangles(self) -> int:
        return len(self.source_triangle)

    @property
    def n_vertices(self) -> int:
        return len(self.source_vertex)


def texture_coordinates(uv: np.ndarray, tile_u0: int, tiles: int) -> np.ndarray:
    """Model UVs (n, 2) -> glTF TEXCOORD_0 (n, 2) float32 of the material's own image: udim_texcoords,
    clamped to [0, 1] (float noise can push a UV on a tile edge a hair outside)."""
    return np.clip(udim_texcoords(uv, tile_u0, tiles), 0.0, 1.0).astype(np.float32)


def material_primitive(model, m: int, tri_ids: np.ndarray) -> tuple[GlbPrimitive, np.ndarray]:
    """Material m's primitive over its triangles `tri_ids` and its (t, 3) int64 vertex indices."""
    source_vertex, source_uv, indices = split_corners(
        model.triangles[tri_ids], model.triangle_uv_index[tri_ids], len(model.mesh.uvs)
    )
    return GlbPrimitive(model.material_names[m], source_vertex, source_uv, tri_ids), indices


class MaterialPart:
    """The layout of one material: its primitive (read-only arrays), (t, 3) indices (int64, and as
    int32 for the renderer), the model UVs of its vertices, its UDIM tiles (model_tiles) and its
    TEXCOORD_0 per UDIM tiling (the model's own tiles' at once, others on first use)."""

    def __init__(self, model, m: int, tri_ids: np.ndarray):
        self.m, self.name = m, model.material_names[m]
        self.primitive, self.indices = material_primitive(model, m, tri_ids)
        self.indices_int32 = self.indices.astype(np.int32)
        self.model_uv = np.asarray(model.mesh.uvs, dtype=np.float64)[self.primitive.source_uv]
        self.model_tiles = material_tiles(model, m)
        for a in (self.primitive.source_vertex, self.primitive.source_uv, self.primitive.source_triangle,
                  self.indices, self.indices_int32, self.model_uv):
            a.flags.writeable = False
        self._texcoords: dict[tuple[int, int], np.ndarray] = {}
        self.texcoords(self.model_tiles)

    def texcoords(self, tiles: tuple[int, int]) -> np.ndarray:
        """(n, 2) float32 read-only glTF TEXCOORD_0 for UDIM tiles (u0, count)."""
        out = self._texcoords.get(tiles)
        if out is None:
            out = texture_coordinates(self.model_uv, *tiles)
            out.flags.writeable = False
            self._texcoords[tiles] = out
        return out


class Topology:
    """The exported materials of a model (those with triangles, in material order), with what was
    read from the model to make them, so a changed model is noticed.

    parts: the MaterialParts; vertex_start: (P + 1,) int64, part p owns the stacked vertices
    vertex_start[p]:vertex_start[p + 1]."""

    def __init__(self, model, key: tuple, triangle_material: np.ndarray):
        self.key, self.triangle_material = key, triangle_material
        self.parts: list[MaterialPart] = []
        for m in range(len(model.material_names)):
            tri_ids = np.flatnonzero(triangle_material == m).astype(np.int64)
            if len(tri_ids):
                self.parts.append(MaterialPart(model, m, tri_ids))
        counts = [p.primitive.n_vertices for p in self.parts]
        self.vertex_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.sources: tuple = ()
        self._frame = None

    def tangents(self, positions: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """(sum of the parts' vertices, 4) float32: geometry.vertex_tangents of every part, stacked in
        part order, bit for bit what vertex_tangents gives part by part, computed in one pass over all
        triangles (a vertex belongs to one part, so its sums see the same terms in the same order; the
        degenerate-tangent threshold is taken per part, as there). positions, normals: (V, 3) per
        model vertex."""
        if self._frame is None:
            self._frame = _TangentFrame(self)
        return self._frame.tangents(positions, normals)


class _TangentFrame:
    """The UV-only parts of vertex_tangents over all exported triangles of a Topology, and the rest
    of it per asset, on (3, n) component rows (the same operations in the same order as there, so the
    same bits, with contiguous loops)."""

    def __init__(self, topo: Topology):
        parts, start = topo.parts, topo.vertex_start
        self.source_vertex = np.concatenate([p.primitive.source_vertex for p in parts])
        tri = np.concatenate([p.indices + start[i] for i, p in enumerate(parts)]).astype(np.int64)
        self.corners = [np.ascontiguousarray(tri[:, c]) for c in range(3)]
        uv = np.concatenate([p.model_uv for p in parts])
        d1, d2 = uv[tri[:, 1]] - uv[tri[:, 0]], uv[tri[:, 2]] - uv[tri[:, 0]]
        det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
        self.s = np.sign(det)
        self.d1u, self.d1v = d1[:, 0].copy(), d1[:, 1].copy()
        self.d2u, self.d2v = d2[:, 0].copy(), d2[:, 1].copy()
        self.n = int(start[-1])
        # The per-vertex sums of geometry._accumulate (a bincount over the corners t0c0, t0c1, t0c2,
        # t1c0, ...) as sums over runs: the corners sorted by vertex, stably, so each vertex's run
        # holds its terms in the same order. Every vertex is some triangle's corner, so no run is empty.
        order = np.argsort(tri.ravel(), kind="stable")
        self.corner_triangle = order // 3
        self.vertex_run = np.flatnonzero(np.r_[True, np.diff(tri.ravel()[order]) != 0])
        assert len(self.vertex_run) == self.n
        self.part_start = start[:-1]
        self.part_of_vertex = np.repeat(np.arange(len(parts)), np.diff(start))

    def tangents(self, positions: np.ndarray, normals: np.ndarray) -> np.ndarray:
        p = np.asarray(positions[self.source_vertex], dtype=np.float64).T.copy()  # (3, n)
        n0, n1, n2 = np.asarray(normals[self.source_vertex], dtype=np.float64).T.copy()
        c0, c1, c2 = self.corners
        e1 = p[:, c1] - p[:, c0]
        e2 = p[:, c2] - p[:, c0]
        per_triangle = np.empty((6, len(c0)))
        per_triangle[:3] = (e1 * self.d2v - e2 * self.d1v) * self.s
        per_triangle[3:] = (e2 * self.d1u - e1 * self.d2u) * self.s
        # + 0.0: bincount starts each sum at +0.0, which turns a lone -0.0 term into +0.0
        sums = np.add.reduceat(np.take(per_triangle, self.corner_triangle, axis=1), self.vertex_run, axis=1) + 0.0
        u0, u1, u2 = sums[:3]
        dot = n0 * u0 + n1 * u1 + n2 * u2
        t0, t1, t2 = u0 - n0 * dot, u1 - n1 * dot, u2 - n2 * dot
        length = np.sqrt(t0 * t0 + t1 * t1 + t2 * t2)
        part_max = np.maximum.reduceat(np.abs(sums[:3]).max(axis=0), self.part_start)
        ok = length > (1e-12 * np.maximum(1.0, part_max))[self.part_of_vertex]
        # geometry.any_perpendicular(n), term by term
        a0 = np.where(np.abs(n0) < 0.9, 1.0, 0.0)
        a1 = 1.0 - a0
        a2 = np.zeros_like(a0)
        dot = n0 * a0 + n1 * a1 + n2 * a2
        q0, q1, q2 = a0 - n0 * dot, a1 - n1 * dot, a2 - n2 * dot
        q_length = np.sqrt(q0 * q0 + q1 * q1 + q2 * q2)
        safe = np.maximum(length, 1e-300)
        t0 = np.where(ok, t0 / safe, q0 / q_length)
        t1 = np.where(ok, t1 / safe, q1 / q_length)
        t2 = np.where(ok, t2 / safe, q2 / q_length)
        v0, v1, v2 = sums[3:]
        side = (n1 * t2 - n2 * t1) * v0 + (n2 * t0 - n0 * t2) * v1 + (n0 * t1 - n1 * t0) * v2
        out = np.empty((self.n, 4), np.float32)
        out[:, 0], out[:, 1], out[:, 2] = t0, t1, t2
        out[:, 3] = np.where(side < 0.0, -1.0, 1.0)
        return out


_TOPOLOGIES: "weakref.WeakKeyDictionary[Any, Topology]" = weakref.WeakKeyDictionary()
_TOPOLOGY_LOCK = threading.Lock()


def topology_of(model) -> Topology:
    """The model's Topology (the per-material corner split, UDIM tiles, UVs), cached per model object
    while its triangles, triangle UV indices and UVs are the same array objects (held by the cache, so
    their ids stay theirs) and its material names and triangle materials the same values. Its arrays
    are read-only and the same objects on every call: the baker shares UV masks between meshes keyed
    on them."""
    triangle_material = np.asarray(model.triangle_material)
    sources = (model.triangles, model.triangle_uv_index, model.mesh.uvs)
    key = (tuple(model.material_names), len(model.mesh.uvs))
    with _TOPOLOGY_LOCK:
        try:
            topo = _TOPOLOGIES.get(model)
        except TypeError:  # not weakly referenceable: no caching
            topo = None
    if (
        topo is not None
        and topo.key == key
        and all(a is b for a, b in zip(topo.sources, sources))
        and np.array_equal(topo.triangle_material, triangle_material)
    ):
        return topo
    topo = Topology(model, key, triangle_material.copy())
    topo.sources = sources
    with _TOPOLOGY_LOCK:
        try:
            _TOPOLOGIES[model] = topo
        except TypeError:
            pass
    return topo
