"""Export an Asset as one self-contained glTF 2.0 binary (GLB) that the Khronos validator accepts.

Layout of the file:
  scene 0 -> node 0 (the asset, identity transform) -> mesh 0 -> one primitive per material that has
  triangles, in FaceModel.material_names order, each holding only that material's triangles in the
  model's triangle order.
  Frame: metres, +y up, the face looking down +z (the model's own frame scaled; glTF is +y up too).
  Vertices are split per (vertex id, uv id) corner pair within a primitive, in first-occurrence order;
  GlbExport keeps, per primitive, the map back to the model's vertices and triangles.
  Materials: metallic-roughness PBR + KHR_materials_specular; every image an embedded PNG.

Same asset -> same bytes: no timestamps anywhere, PNGs from a fixed filter and deflate level with no
metadata chunks (see encode_png), JSON with sorted extras and a fixed layout.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import struct
import threading
import weakref
import zlib
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pygltflib as gl
from PIL import Image

try:  # ISA-L's deflate: at level 1 about 4x faster than zlib's level 1 on face maps, and smaller
    from isal.isal_zlib import compress as _deflate
except ImportError:  # pragma: no cover - isal is a dependency; without it zlib (slower) still writes valid PNGs
    _deflate = zlib.compress

from .. import __version__
from ..errors import InputError
from ..io import atomic_path
from ..uv.raster import material_tiles

GLB_FORMAT = "assetgen-glb/1"
UP_AXIS = "+y"
FACING = "+z"  # the face looks down +z (ICT convention, kept as is)
# Pillow's zlib level for the images encode_png hands to Pillow (anything but uint8 gray/RGB/RGBA).
PNG_COMPRESS_LEVEL = 3
# encode_png's own path: PNG filter "Up" on every row, then ISA-L deflate at level 1. On a 1024² asset
# (two noisy diffusion-like base colours) about 14x faster than Pillow at level 3, with ~2 % fewer bytes;
# "Average" would save another 1 % of bytes for 20 % more time.
PNG_DEFLATE_LEVEL = 1
UNIT_SCALE = {"m": 1.0, "cm": 0.01, "mm": 0.001}

# Component types, accessor types and targets from the glTF 2.0 spec.
_FLOAT, _USHORT, _UINT = gl.FLOAT, gl.UNSIGNED_SHORT, gl.UNSIGNED_INT
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = gl.ARRAY_BUFFER, gl.ELEMENT_ARRAY_BUFFER
_SPECULAR_EXT = "KHR_materials_specular"


# ---- results ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class GlbPrimitive:
    """One primitive of the exported mesh.

    source_vertex: (n,) int64, glTF vertex -> model vertex id; source_uv: (n,) int64, glTF vertex ->
    model uv id; source_triangle: (t,) int64, primitive triangle -> model triangle id.
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


@dataclass(frozen=True, eq=False)
class GlbExport:
    """What export_glb wrote: the file and its primitives in file order."""

    path: Path
    primitives: tuple[GlbPrimitive, ...]
    units: str = "m"
    up_axis: str = UP_AXIS

    @property
    def n_triangles(self) -> int:
        return sum(p.n_triangles for p in self.primitives)


# ---- public API ------------------------------------------------------------------------------
def export_glb(asset, path: str | Path, *, layout=None) -> GlbExport:
    """Write `asset` as a GLB at `path` (atomically) and return what was written.

    layout: an optional UVLayout; when given, its per-material UDIM tiles map the UVs (they equal
    material_tiles' anyway), else the tiles are computed from the model.
    Raises InputError for an asset the exporter cannot represent, OutputError when `path` cannot be
    written (nothing is left behind then).
    """
    path = Path(path)
    data, primitives = build_glb(asset, layout=layout)
    with atomic_path(path, "wb") as fh:
        fh.write(data)
    return GlbExport(path=path, primitives=primitives)


def build_glb(asset, *, layout=None) -> tuple[bytes, tuple[GlbPrimitive, ...]]:
    """The GLB file contents of `asset` and its primitives (no file is written).

    The images are PNG-encoded in a thread pool while this thread computes the geometry; the topology
    work (the per-material corner split, UDIM tiles, UVs) is cached per face model."""
    model = asset.model
    topo = topology_of(model)
    # glTF forbids empty accessors: a material without triangles has nothing to draw and is left out.
    if not topo.parts:
        raise InputError(f"asset {asset.name!r}: the face model has no triangles to export")
    with _encode_material_images_async(asset, [part.name for part in topo.parts]) as pending:
        positions = world_positions(asset)
        normals = _safe_normals(model.vertex_normals(np.asarray(asset.vertices, dtype=np.float32)))
        all_tangents = topo.tangents(positions, normals)
        geometry = []
        for part, start, stop in zip(topo.parts, topo.vertex_start[:-1], topo.vertex_start[1:]):
            prim = part.primitive
            texcoords = part.texcoords(_layout_tiles(layout, part.name) or part.model_tiles)
            pos, nrm = positions[prim.source_vertex], normals[prim.source_vertex]
            geometry.append((pos, nrm, all_tangents[start:stop], texcoords))
        pngs = pending.result()
    doc = _Document()
    gl_primitives = []
    for part, (pos, nrm, tangents, texcoords) in zip(topo.parts, geometry):
        material = _material(doc, asset.textures.materials[part.name], part.name, pngs[part.name])
        gl_primitives.append(_write_primitive(doc, part.indices, pos, nrm, tangents, texcoords, material))
    doc.gltf.meshes.append(gl.Mesh(name=asset.name, primitives=gl_primitives))
    doc.gltf.nodes.append(gl.Node(name=asset.name, mesh=0, extras=_node_extras(asset)))
    doc.gltf.scenes.append(gl.Scene(name=asset.name, nodes=[0]))
    doc.gltf.scene = 0
    doc.gltf.asset = gl.Asset(generator=f"assetgen {__version__}", version="2.0", extras=_asset_extras(asset))
    return doc.to_glb(), tuple(part.primitive for part in topo.parts)


def world_positions(asset) -> np.ndarray:
    """(V, 3) float32 vertex positions in metres in the GLB's frame. The GLB's POSITION and the
    ground truth both come from here, so they agree bit for bit."""
    units = getattr(asset.model, "units", "cm")
    if units not in UNIT_SCALE:
        raise InputError(f"face model units {units!r} unknown; expected one of {', '.join(UNIT_SCALE)}")
    return (np.asarray(asset.vertices, dtype=np.float64) * UNIT_SCALE[units]).astype(np.float32)


def json_safe(value: Any) -> Any:
    """A JSON-serialisable copy of `value`: numpy scalars/arrays to Python numbers/lists, tuples to lists,
    dict keys to strings (sorted, so equal content gives equal bytes), non-finite floats to None
    (JSON has no NaN), anything else unknown to its str()."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


# ---- geometry --------------------------------------------------------------------------------
def split_corners(vertex_ids: np.ndarray, uv_ids: np.ndarray, n_uv: int):
    """Give every distinct (vertex id, uv id) pair of the triangle corners its own glTF vertex.

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


def _material_primitive(model, m: int, tri_ids: np.ndarray) -> tuple[GlbPrimitive, np.ndarray]:
    """A material's primitive and its (t, 3) int64 glTF vertex indices."""
    source_vertex, source_uv, indices = split_corners(
        model.triangles[tri_ids], model.triangle_uv_index[tri_ids], len(model.mesh.uvs)
    )
    return GlbPrimitive(model.material_names[m], source_vertex, source_uv, tri_ids), indices


def _tiles(model, m: int, name: str, layout) -> tuple[int, int]:
    return _layout_tiles(layout, name) or material_tiles(model, m)


def _layout_tiles(layout, name: str) -> tuple[int, int] | None:
    if layout is not None and name in layout.materials:
        raster = layout[name]
        return int(raster.tile_u0), int(raster.tiles)
    return None


class _Part:
    """The topology of one exported material: its primitive (read-only arrays), (t, 3) glTF indices
    (int64, and as int32 for the renderer), the model UVs of its glTF vertices, and TEXCOORD_0 per
    UDIM tiling (the model's own tiles' at once, others on first use)."""

    def __init__(self, model, m: int, tri_ids: np.ndarray):
        self.m, self.name = m, model.material_names[m]
        self.primitive, self.indices = _material_primitive(model, m, tri_ids)
        self.indices_int32 = self.indices.astype(np.int32)
        self.model_uv = np.asarray(model.mesh.uvs, dtype=np.float64)[self.primitive.source_uv]
        self.model_tiles = material_tiles(model, m)
        for a in (self.primitive.source_vertex, self.primitive.source_uv, self.primitive.source_triangle,
                  self.indices, self.indices_int32, self.model_uv):
            a.flags.writeable = False
        self._texcoords: dict[tuple[int, int], np.ndarray] = {}
        self.texcoords(self.model_tiles)

    def texcoords(self, tiles: tuple[int, int]) -> np.ndarray:
        out = self._texcoords.get(tiles)
        if out is None:
            out = texture_coordinates(self.model_uv, *tiles)
            out.flags.writeable = False
            self._texcoords[tiles] = out
        return out


class _Topology:
    """The exported materials of a model (those with triangles, in material order), with what was
    read from the model to make them, so a changed model is noticed."""

    def __init__(self, model, key: tuple, triangle_material: np.ndarray):
        self.key, self.triangle_material = key, triangle_material
        self.parts = []
        for m in range(len(model.material_names)):
            tri_ids = np.flatnonzero(triangle_material == m).astype(np.int64)
            if len(tri_ids):
                self.parts.append(_Part(model, m, tri_ids))
        counts = [p.primitive.n_vertices for p in self.parts]
        self.vertex_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.sources: tuple = ()
        self._frame = None

    def tangents(self, positions: np.ndarray, normals: np.ndarray) -> np.ndarray:
        """(sum of the parts' vertices, 4) float32: vertex_tangents of every part, stacked in part order,
        bit for bit what vertex_tangents gives part by part, computed in one pass over all triangles
        (a vertex belongs to one part, so its sums see the same terms in the same order; the
        degenerate-tangent threshold is taken per part, as there)."""
        if self._frame is None:
            self._frame = _TangentFrame(self)
        return self._frame.tangents(positions, normals)


class _TangentFrame:
    """The UV-only parts of vertex_tangents over all exported triangles of a _Topology, and the rest
    of it per asset, on (3, n) component rows (the same operations in the same order as there, so the
    same bits, with fast contiguous loops)."""

    def __init__(self, topo: _Topology):
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
        # The per-vertex sums of _accumulate (a bincount over the corners t0c0, t0c1, t0c2, t1c0, ...)
        # as sums over runs: the corners sorted by vertex, stably, so each vertex's run holds its
        # terms in the same order. Every vertex is some triangle's corner, so no run is empty.
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
        # _any_perpendicular(n), term by term
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


_TOPOLOGIES: "weakref.WeakKeyDictionary[Any, _Topology]" = weakref.WeakKeyDictionary()
_TOPOLOGY_LOCK = threading.Lock()


def topology_of(model) -> _Topology:
    """The model's _Topology: what build_glb and render.mesh_from_asset derive from the topology alone
    (the per-material corner split, UDIM tiles, UVs), cached per model object while its triangles,
    triangle UV indices and UVs are the same array objects (held by the cache, so their ids stay
    theirs) and its material names and triangle materials the same values. Its arrays are read-only
    and the same objects on every call: the baker shares UV masks between meshes keyed on them."""
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
    topo = _Topology(model, key, triangle_material.copy())
    topo.sources = sources
    with _TOPOLOGY_LOCK:
        try:
            _TOPOLOGIES[model] = topo
        except TypeError:
            pass
    return topo


def texture_coordinates(uv: np.ndarray, tile_u0: int, tiles: int) -> np.ndarray:
    """Model UVs (n, 2) -> glTF TEXCOORD_0 (n, 2) float32 of the material's own image (the UDIM mapping
    of uv/raster.py: u' = (u - u0) / tiles, v' = 1 - v)."""
    uv = np.asarray(uv, dtype=np.float64)
    out = np.stack([(uv[:, 0] - tile_u0) / tiles, 1.0 - uv[:, 1]], axis=1)
    # Float noise can push a UV on a tile edge a hair outside [0, 1]; clamping changes nothing visible.
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _safe_normals(normals: np.ndarray) -> np.ndarray:
    """(V, 3) float32 unit normals; vertices whose triangles are all degenerate get +z (the viewer
    direction) instead of a zero vector, which glTF forbids."""
    n = np.asarray(normals, dtype=np.float64)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.where(length > 1e-12, n / np.maximum(length, 1e-300), np.array([0.0, 0.0, 1.0]))
    return n.astype(np.float32)


def vertex_tangents(positions: np.ndarray, normals: np.ndarray, uvs: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(n, 4) float32 glTF tangents by Lengyel's method.

    positions (n, 3), normals (n, 3) unit, uvs (n, 2) with v pointing UP in the image (the model's UVs,
    not glTF's flipped ones), triangles (t, 3). xyz: the direction of increasing u, orthogonalized
    against the normal; w = +1 when cross(normal, xyz) points to increasing v (image up, the +y of the
    tangent-space normal maps), else -1. Each triangle's dP/du, dP/dv is weighted by its UV area, so
    slivers with tiny UV area cannot dominate and UV-degenerate ones drop out.
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
    t = np.where(ok[:, None], t / np.maximum(length, 1e-300), _any_perpendicular(n))
    w = np.where(np.sum(np.cross(n, t) * tan_v, axis=1) < 0.0, -1.0, 1.0)
    return np.concatenate([t, w[:, None]], axis=1).astype(np.float32)


def _accumulate(per_triangle: np.ndarray, triangles: np.ndarray, n: int) -> np.ndarray:
    """Sum (t, 3) per-triangle vectors onto the (n, 3) vertices of each triangle."""
    idx = triangles.ravel()  # corner order: t0c0, t0c1, t0c2, t1c0, ...
    vals = np.repeat(per_triangle, 3, axis=0)
    return np.stack([np.bincount(idx, weights=vals[:, c], minlength=n) for c in range(3)], axis=1)


def _any_perpendicular(n: np.ndarray) -> np.ndarray:
    """(n, 3) unit vectors perpendicular to unit normals `n` (a fallback tangent where UVs are degenerate)."""
    axis = np.where(np.abs(n[:, :1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    t = axis - n * np.sum(n * axis, axis=1, keepdims=True)
    return t / np.linalg.norm(t, axis=1, keepdims=True)


def _write_primitive(doc, indices, pos, nrm, tangents, texcoords, material: int) -> gl.Primitive:
    """Add a primitive's accessors. Per glTF vertex: pos (n, 3) float32 metres, nrm (n, 3) unit,
    tangents (n, 4), texcoords (n, 2) glTF's; indices (t, 3)."""
    attrs = gl.Attributes(
        POSITION=doc.add_accessor(pos, "VEC3", with_bounds=True),
        NORMAL=doc.add_accessor(nrm, "VEC3"),
        TANGENT=doc.add_accessor(tangents, "VEC4"),
        TEXCOORD_0=doc.add_accessor(texcoords, "VEC2"),
    )
    return gl.Primitive(
        attributes=attrs, indices=doc.add_indices(indices, len(pos)), material=material, mode=gl.TRIANGLES
    )


# ---- materials and images --------------------------------------------------------------------
def material_images(tex) -> dict[str, np.ndarray]:
    """The images of one material's glTF maps: baseColor (sRGB, RGBA only when the material blends or
    masks), roughnessSpecular and normal."""
    return {kind: material_image(tex, kind) for kind in MATERIAL_IMAGE_KINDS}


MATERIAL_IMAGE_KINDS = ("baseColor", "roughnessSpecular", "normal")


def material_image(tex, kind: str) -> np.ndarray:
    """One of material_images(tex) (see there), made alone."""
    if kind == "baseColor":
        blended = tex.alpha_mode != "OPAQUE" and tex.base_color.shape[2] == 4
        return tex.base_color if blended else tex.base_color[..., :3]
    if kind == "normal":
        return tex.normal
    if kind != "roughnessSpecular":
        raise KeyError(kind)
    # One RGBA image serves two textures: metallicRoughness reads G (roughness) and B (metallic = 0),
    # KHR_materials_specular reads A. R is 255 so that a viewer using it as occlusion sees none.
    h, w = tex.shape
    mrs = np.empty((h, w, 4), np.uint8)
    mrs[..., 0] = 255
    mrs[..., 1] = tex.roughness
    mrs[..., 2] = 0
    mrs[..., 3] = tex.specular
    return mrs


def _encode_material_images(asset, names: list[str]) -> dict[str, dict[str, bytes]]:
    """PNG bytes of every used material's images (see _encode_material_images_async)."""
    with _encode_material_images_async(asset, names) as pending:
        return pending.result()


class _PendingImages:
    """PNG encodings running in a thread pool; result() -> material -> kind -> PNG bytes."""

    def __init__(self, asset, names: list[str]):
        missing = [n for n in names if n not in asset.textures.materials]
        if missing:
            known = ", ".join(sorted(asset.textures.materials)) or "none"
            raise InputError(
                f"asset {asset.name!r}: the texture set has no maps for material(s) {', '.join(missing)} (it has: {known})"
            )
        jobs = [(n, kind, asset.textures.materials[n]) for n in names for kind in MATERIAL_IMAGE_KINDS]
        # Biggest first, so that no large image starts last; each result goes to its own slot, so the
        # output does not depend on scheduling.
        jobs.sort(key=lambda job: -job[2].shape[0] * job[2].shape[1])
        workers = max(1, min(len(jobs), os.cpu_count() or 1, 8))
        self._pool = ThreadPoolExecutor(workers)
        self._names = names
        self._futures = [(n, kind, self._pool.submit(_encode_material_image, tex, kind)) for n, kind, tex in jobs]

    def result(self) -> dict[str, dict[str, bytes]]:
        out: dict[str, dict[str, bytes]] = {n: {} for n in self._names}
        for n, kind, future in self._futures:
            out[n][kind] = future.result()
        return {n: {kind: out[n][kind] for kind in MATERIAL_IMAGE_KINDS} for n in self._names}

    def __enter__(self) -> "_PendingImages":
        return self

    def __exit__(self, *exc) -> None:
        for _, _, future in self._futures:
            future.cancel()
        self._pool.shutdown(wait=True)


def _encode_material_images_async(asset, names: list[str]) -> _PendingImages:
    """Start PNG-encoding every used material's images in a thread pool (numpy, ISA-L and zlib release
    the GIL). Raises InputError when a material has no maps."""
    return _PendingImages(asset, names)


def _encode_material_image(tex, kind: str) -> bytes:
    return encode_png(material_image(tex, kind))


def _material(doc, tex, name: str, pngs: Mapping[str, bytes]) -> int:
    base_tex = doc.add_texture(pngs["baseColor"], f"{name}_baseColor")
    mrs_tex = doc.add_texture(pngs["roughnessSpecular"], f"{name}_roughnessSpecular")
    normal_tex = doc.add_texture(pngs["normal"], f"{name}_normal")
    material = gl.Material(
        name=name,
        pbrMetallicRoughness=gl.PbrMetallicRoughness(
            baseColorFactor=[1.0, 1.0, 1.0, 1.0],
            baseColorTexture=gl.TextureInfo(index=base_tex),
            metallicFactor=1.0,  # metallic comes from the texture's B channel (0)
            roughnessFactor=1.0,
            metallicRoughnessTexture=gl.TextureInfo(index=mrs_tex),
        ),
        normalTexture=gl.NormalMaterialTexture(index=normal_tex, scale=1.0),
        emissiveFactor=None,
        alphaMode=tex.alpha_mode,
        alphaCutoff=float(tex.alpha_cutoff) if tex.alpha_mode == "MASK" else None,
        doubleSided=bool(tex.double_sided),
        extensions={_SPECULAR_EXT: {"specularFactor": 1.0, "specularTexture": {"index": mrs_tex}}},
    )
    doc.gltf.materials.append(material)
    if _SPECULAR_EXT not in doc.gltf.extensionsUsed:
        doc.gltf.extensionsUsed.append(_SPECULAR_EXT)
    return len(doc.gltf.materials) - 1


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an (H, W) or (H, W, 1..4) uint8 image (gray, gray+alpha, RGB, RGBA), lossless:
    no metadata chunks and a fixed encoder (filter and compressor chosen from the pixels alone), so
    equal pixels give equal bytes. Constant images (flat roughness, normal maps) are encoded once per
    (size, channels, value) and the bytes reused. Other dtypes/shapes go through Pillow (as before)."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in _PNG_COLOR_TYPE) or 0 in a.shape:
        return _encode_png_pillow(a)
    h, w = a.shape[:2]
    c = 1 if a.ndim == 2 else a.shape[2]
    rows = np.ascontiguousarray(a).reshape(h, w * c)
    if not _is_constant(rows, c):
        return _encode_png_rows(rows, w, c)
    key = (h, w, c, rows[0, :c].tobytes())
    with _FLAT_LOCK:
        png = _FLAT_PNGS.get(key)
        if png is not None:
            _FLAT_PNGS.move_to_end(key)
            return png
    png = _encode_png_rows(rows, w, c)
    with _FLAT_LOCK:
        _FLAT_PNGS[key] = png
        while len(_FLAT_PNGS) > _FLAT_CACHE_SIZE:
            _FLAT_PNGS.popitem(last=False)
    return png


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (gray, gray+alpha, RGB, RGBA)
_FLAT_CACHE_SIZE = 64
_FLAT_PNGS: OrderedDict[tuple, bytes] = OrderedDict()  # (h, w, channels, pixel) -> PNG of a constant image
_FLAT_LOCK = threading.Lock()


def _encode_png_pillow(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def _is_constant(rows: np.ndarray, c: int) -> bool:
    """Whether every pixel of the (h, w * c) rows equals the first (the first row answers most images)."""
    first = rows[0]
    if not np.array_equal(first[c:], first[:-c]):
        return False
    return bool((rows == first).all())


def _encode_png_rows(rows: np.ndarray, w: int, c: int) -> bytes:
    """The PNG of an image given as (h, w * c) uint8 rows: IHDR, one IDAT, IEND."""
    h, n = rows.shape
    filtered = np.empty((h, n + 1), np.uint8)  # each row: filter type 2 (Up), then x - up mod 256
    filtered[:, 0] = 2
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    header = struct.pack(">IIBBBBB", w, h, 8, _PNG_COLOR_TYPE[c], 0, 0, 0)
    data = _deflate(filtered, PNG_DEFLATE_LEVEL)
    return b"".join([_PNG_SIGNATURE, _png_chunk(b"IHDR", header), _png_chunk(b"IDAT", data), _png_chunk(b"IEND", b"")])


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return b"".join([struct.pack(">I", len(data)), kind, data, struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))])


# ---- the document and its binary buffer ------------------------------------------------------
class _Document:
    """A glTF document being built with one binary buffer (the GLB's BIN chunk)."""

    def __init__(self):
        self.gltf = gl.GLTF2()
        self.gltf.samplers.append(
            gl.Sampler(
                magFilter=gl.LINEAR,
                minFilter=gl.LINEAR_MIPMAP_LINEAR,
                # Each material owns its image and its UVs never leave [0, 1]: clamping keeps bilinear
                # filtering at the image border from mixing in the opposite edge.
                wrapS=gl.CLAMP_TO_EDGE,
                wrapT=gl.CLAMP_TO_EDGE,
            )
        )
        self._chunks: list[bytes] = []
        self._size = 0
        self._images: dict[bytes, int] = {}  # PNG bytes -> texture index (identical maps are stored once)

    def _add_view(self, data: bytes, target: int | None = None) -> int:
        # Every view starts 4-byte aligned, which satisfies all component types used here.
        pad = -self._size % 4
        if pad:
            self._chunks.append(b"\0" * pad)
            self._size += pad
        view = gl.BufferView(buffer=0, byteOffset=self._size, byteLength=len(data), target=target)
        self.gltf.bufferViews.append(view)
        self._chunks.append(data)
        self._size += len(data)
        return len(self.gltf.bufferViews) - 1

    def add_accessor(self, array: np.ndarray, kind: str, with_bounds: bool = False) -> int:
        a = np.ascontiguousarray(array, dtype="<f4")
        view = self._add_view(a.tobytes(), _ARRAY_BUFFER)
        acc = gl.Accessor(bufferView=view, byteOffset=0, componentType=_FLOAT, count=len(a), type=kind)
        if with_bounds:
            # Bounds of the float32 values as stored: the validator compares them exactly.
            acc.min = [float(x) for x in a.min(axis=0)]
            acc.max = [float(x) for x in a.max(axis=0)]
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1

    def add_indices(self, indices: np.ndarray, n_vertices: int) -> int:
        # glTF reserves the largest value of the index type (primitive restart), hence `<`.
        small = n_vertices < 0xFFFF
        a = np.ascontiguousarray(indices.ravel(), dtype="<u2" if small else "<u4")
        view = self._add_view(a.tobytes(), _ELEMENT_ARRAY_BUFFER)
        kind = _USHORT if small else _UINT
        acc = gl.Accessor(bufferView=view, byteOffset=0, componentType=kind, count=len(a), type="SCALAR")
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1

    def add_texture(self, png: bytes, name: str) -> int:
        if png in self._images:
            return self._images[png]
        view = self._add_view(png)
        self.gltf.images.append(gl.Image(name=name, bufferView=view, mimeType="image/png"))
        self.gltf.textures.append(gl.Texture(name=name, sampler=0, source=len(self.gltf.images) - 1))
        self._images[png] = len(self.gltf.textures) - 1
        return self._images[png]

    def to_glb(self) -> bytes:
        """The GLB bytes: 12-byte header, JSON chunk (space-padded), BIN chunk (zero-padded)."""
        bin_pad = b"\0" * (-self._size % 4)
        bin_len = self._size + len(bin_pad)
        self.gltf.buffers = [gl.Buffer(byteLength=bin_len)]
        text = json.dumps(_json_tree(self.gltf), separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
        text += b" " * (-len(text) % 4)
        total = 12 + 8 + len(text) + 8 + bin_len
        return b"".join(
            [
                struct.pack("<4sII", b"glTF", 2, total),
                struct.pack("<I4s", len(text), b"JSON"),
                text,
                struct.pack("<I4s", bin_len, b"BIN\0"),
                *self._chunks,
                bin_pad,
            ]
        )


def _prune(value: Any) -> Any:
    """Drop None values and empty lists/dicts that pygltflib's dataclasses carry as defaults (glTF forbids
    empty arrays), but keep `extras` verbatim: an empty label is data."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "extras":
                if v not in (None, {}):
                    out[k] = v
                continue
            v = _prune(v)
            if v is None or (isinstance(v, (list, dict)) and not v):
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _json_tree(value: Any) -> Any:
    """_prune(pygltflib.gltf_asdict(value)) for a pygltflib document, in one pass and without
    gltf_asdict's deep copies (the result is serialised at once). Extras are taken as they are (they
    are json_safe output here)."""
    if type(value) is gl.Attributes:
        return _json_tree_items(value.__dict__.items())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES.get(type(value))
        if names is None:
            names = _FIELD_NAMES[type(value)] = tuple(f.name for f in dataclasses.fields(value))
        return _json_tree_items((name, getattr(value, name)) for name in names)
    if isinstance(value, dict):
        return _json_tree_items(value.items())
    if isinstance(value, (list, tuple)):
        return [_json_tree(v) for v in value]
    return value


def _json_tree_items(items) -> dict:
    out = {}
    for k, v in items:
        if k == "extras":
            if v not in (None, {}):
                out[k] = v
            continue
        v = _json_tree(v)
        if v is None or (isinstance(v, (list, dict)) and not v):
            continue
        out[k] = v
    return out


# ---- extras ----------------------------------------------------------------------------------
def _asset_extras(asset) -> dict:
    return json_safe(
        {
            "format": GLB_FORMAT,
            "name": asset.name,
            "units": "m",
            "source_units": getattr(asset.model, "units", "cm"),
            "up_axis": UP_AXIS,
            "facing": FACING,
            "labels": asset.labels,
            "provenance": asset.provenance,
        }
    )


def _node_extras(asset) -> dict:
    return json_safe(
        {
            "identity_weights": np.asarray(asset.identity_weights, dtype=np.float64),
            "expression_weights": asset.expression_named,
        }
    )
