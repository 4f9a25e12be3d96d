"""Export an Asset as one self-contained glTF 2.0 binary (GLB) that the Khronos validator accepts.

Layout of the file:
  scene 0 -> node 0 (the asset, identity transform) -> mesh 0 -> one primitive per material that has
  triangles, in FaceModel.material_names order, each holding only that material's triangles in the
  model's triangle order.
  Frame: metres, +y up, the face looking down +z (the model's own frame scaled; glTF is +y up too).
  Vertices are split per (vertex id, uv id) corner pair within a primitive, in first-occurrence order;
  GlbExport keeps, per primitive, the map back to the model's vertices and triangles.
  Materials: metallic-roughness PBR + KHR_materials_specular; every image an embedded PNG.

Same asset -> same bytes: no timestamps anywhere, PNGs with a fixed compression level and no
metadata chunks, JSON with sorted extras and a fixed layout.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pygltflib as gl
from pygltflib import gltf_asdict
from PIL import Image

from .. import __version__
from ..errors import InputError
from ..io import atomic_path
from ..uv.raster import material_tiles

GLB_FORMAT = "assetgen-glb/1"
UP_AXIS = "+y"
FACING = "+z"  # the face looks down +z (ICT convention, kept as is)
# zlib level 3: about 2.5x faster than the default 6 on face textures for a few % more bytes.
PNG_COMPRESS_LEVEL = 3
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
    """The GLB file contents of `asset` and its primitives (no file is written)."""
    model = asset.model
    positions = world_positions(asset)
    normals = _safe_normals(model.vertex_normals(np.asarray(asset.vertices, dtype=np.float32)))
    # glTF forbids empty accessors: a material without triangles has nothing to draw and is left out.
    used = [(m, n) for m, n in enumerate(model.material_names) if (model.triangle_material == m).any()]
    if not used:
        raise InputError(f"asset {asset.name!r}: the face model has no triangles to export")
    pngs = _encode_material_images(asset, [n for _, n in used])
    doc = _Document()
    primitives = []
    gl_primitives = []
    for m, name in used:
        tri_ids = np.flatnonzero(model.triangle_material == m).astype(np.int64)
        prim, indices = _material_primitive(model, m, tri_ids)
        u0, tiles = _tiles(model, m, name, layout)
        material = _material(doc, asset.textures.materials[name], name, pngs[name])
        model_uv = np.asarray(model.mesh.uvs, dtype=np.float64)[prim.source_uv]
        texcoords = texture_coordinates(model_uv, u0, tiles)
        pos, nrm = positions[prim.source_vertex], normals[prim.source_vertex]
        gl_primitives.append(_write_primitive(doc, indices, pos, nrm, model_uv, texcoords, material))
        primitives.append(prim)
    doc.gltf.meshes.append(gl.Mesh(name=asset.name, primitives=gl_primitives))
    doc.gltf.nodes.append(gl.Node(name=asset.name, mesh=0, extras=_node_extras(asset)))
    doc.gltf.scenes.append(gl.Scene(name=asset.name, nodes=[0]))
    doc.gltf.scene = 0
    doc.gltf.asset = gl.Asset(generator=f"assetgen {__version__}", version="2.0", extras=_asset_extras(asset))
    return doc.to_glb(), tuple(primitives)


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
    if layout is not None and name in layout.materials:
        raster = layout[name]
        return int(raster.tile_u0), int(raster.tiles)
    return material_tiles(model, m)


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


def _write_primitive(doc, indices, pos, nrm, model_uv, texcoords, material: int) -> gl.Primitive:
    """Add a primitive's accessors. Per glTF vertex: pos (n, 3) float32 metres, nrm (n, 3) unit,
    model_uv (n, 2) the model's UVs (for the tangents), texcoords (n, 2) glTF's; indices (t, 3)."""
    attrs = gl.Attributes(
        POSITION=doc.add_accessor(pos, "VEC3", with_bounds=True),
        NORMAL=doc.add_accessor(nrm, "VEC3"),
        TANGENT=doc.add_accessor(vertex_tangents(pos, nrm, model_uv, indices), "VEC4"),
        TEXCOORD_0=doc.add_accessor(texcoords, "VEC2"),
    )
    return gl.Primitive(
        attributes=attrs, indices=doc.add_indices(indices, len(pos)), material=material, mode=gl.TRIANGLES
    )


# ---- materials and images --------------------------------------------------------------------
def material_images(tex) -> dict[str, np.ndarray]:
    """The images of one material's glTF maps: baseColor (sRGB, RGBA only when the material blends or
    masks), roughnessSpecular and normal."""
    blended = tex.alpha_mode != "OPAQUE" and tex.base_color.shape[2] == 4
    # One RGBA image serves two textures: metallicRoughness reads G (roughness) and B (metallic = 0),
    # KHR_materials_specular reads A. R is 255 so that a viewer using it as occlusion sees none.
    h, w = tex.shape
    mrs = np.empty((h, w, 4), np.uint8)
    mrs[..., 0] = 255
    mrs[..., 1] = tex.roughness
    mrs[..., 2] = 0
    mrs[..., 3] = tex.specular
    return {
        "baseColor": tex.base_color if blended else tex.base_color[..., :3],
        "roughnessSpecular": mrs,
        "normal": tex.normal,
    }


def _encode_material_images(asset, names: list[str]) -> dict[str, dict[str, bytes]]:
    """PNG bytes of every used material's images, encoded in parallel (zlib releases the GIL; map keeps
    the order, so the result does not depend on scheduling)."""
    missing = [n for n in names if n not in asset.textures.materials]
    if missing:
        known = ", ".join(sorted(asset.textures.materials)) or "none"
        raise InputError(
            f"asset {asset.name!r}: the texture set has no maps for material(s) {', '.join(missing)} (it has: {known})"
        )
    jobs = [(n, kind, img) for n in names for kind, img in material_images(asset.textures.materials[n]).items()]
    workers = max(1, min(len(jobs), os.cpu_count() or 1, 8))
    with ThreadPoolExecutor(workers) as pool:
        encoded = list(pool.map(encode_png, [img for _, _, img in jobs]))
    out: dict[str, dict[str, bytes]] = {n: {} for n in names}
    for (n, kind, _), png in zip(jobs, encoded):
        out[n][kind] = png
    return out


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
    """PNG bytes of an (H, W), (H, W, 3) or (H, W, 4) uint8 image: fixed compression, no metadata
    chunks (Pillow writes no time or text unless asked), so equal pixels give equal bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


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
        binary = b"".join(self._chunks)
        binary += b"\0" * (-len(binary) % 4)
        self.gltf.buffers = [gl.Buffer(byteLength=len(binary))]
        text = json.dumps(
            _prune(gltf_asdict(self.gltf)), separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
        text += b" " * (-len(text) % 4)
        total = 12 + 8 + len(text) + 8 + len(binary)
        return b"".join(
            [
                struct.pack("<4sII", b"glTF", 2, total),
                struct.pack("<I4s", len(text), b"JSON"),
                text,
                struct.pack("<I4s", len(binary), b"BIN\0"),
                binary,
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
