"""Export an Asset as one self-contained glTF 2.0 binary (GLB) that the Khronos validator accepts.

Layout of the file:
  scene 0 -> node 0 (the asset, identity transform) -> mesh 0 -> one primitive per material that has
  triangles, in FaceModel.material_names order, each holding only that material's triangles in the
  model's triangle order (the layout of uv/topology.py, which the other formats and the renderer share).
  Frame: metres, +y up, the face looking down +z (the model's own frame scaled; glTF is +y up too).
  Vertices are split per (vertex id, uv id) corner pair within a primitive, in first-occurrence order;
  GlbExport keeps, per primitive, the map back to the model's vertices and triangles.
  Per vertex of the face primitives, _OCCLUSION (VEC4): the skin's bent normal (xyz) and ambient occlusion (w)
  (render.occlusion).
  Materials: metallic-roughness PBR + KHR_materials_specular; every image an embedded PNG
  (export/materials.py). The irises carry the clear cornea as KHR_materials_clearcoat (face.ict).
  Hair (assets with a groom): after the face primitives, one alpha-masked ribbon primitive per hair
  region, encoded as export/hair.py describes; the asset extras then carry the groom's params and counts.
  Items (assets wearing glasses, clothing, headwear, facewear): then one primitive per item part
  (export/items.py); the asset extras carry the outfit record.

Same asset -> same bytes: no timestamps anywhere, PNGs from png.encode_png (no metadata chunks),
JSON with sorted extras and a fixed layout.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pygltflib as gl

from .. import __version__
from ..errors import InputError
from ..face import ict
from ..geometry import safe_normals, world_positions
from ..io import atomic_path
from ..jsonsafe import json_safe
from ..png import encode_png
from ..render.occlusion import OCCLUSION_ATTRIBUTE, asset_occlusion
from ..uv.topology import GlbPrimitive, topology_of
from .hair import (
    ALPHA_CUTOFF,
    ROUGHNESS,
    HairPrimitive,
    fibre_texture,
    groom_record,
    hair_primitives,
)
from .items import ItemPrimitive, item_primitives, items_record, write_glb_items
from .materials import PendingImages

GLB_FORMAT = "assetgen-glb/1"
UP_AXIS = "+y"
FACING = "+z"  # the face looks down +z (ICT convention, kept as is)

# Component types, accessor types and targets from the glTF 2.0 spec.
_FLOAT, _USHORT, _UINT = gl.FLOAT, gl.UNSIGNED_SHORT, gl.UNSIGNED_INT
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = gl.ARRAY_BUFFER, gl.ELEMENT_ARRAY_BUFFER
_SPECULAR_EXT = "KHR_materials_specular"
_CLEARCOAT_EXT = "KHR_materials_clearcoat"


# ---- results ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class GlbExport:
    """What export_glb wrote: the file, its face primitives (uv.topology.GlbPrimitive) in file order and
    the hair primitives (export.hair.HairPrimitive) and item primitives (export.items.ItemPrimitive)
    that follow them."""

    path: Path
    primitives: tuple[GlbPrimitive, ...]
    units: str = "m"
    up_axis: str = UP_AXIS
    hair: tuple[HairPrimitive, ...] = ()
    items: tuple[ItemPrimitive, ...] = ()

    @property
    def n_triangles(self) -> int:
        return (sum(p.n_triangles for p in self.primitives) + sum(h.n_triangles for h in self.hair)
                + sum(i.n_triangles for i in self.items))


# ---- public API ------------------------------------------------------------------------------
def export_glb(asset, path: str | Path, *, layout=None) -> GlbExport:
    """Write `asset` as a GLB at `path` (atomically) and return what was written.

    layout: an optional UVLayout; when given, its per-material UDIM tiles map the UVs (they equal
    material_tiles' anyway), else the tiles are computed from the model.
    Raises InputError for an asset the exporter cannot represent, OutputError when `path` cannot be
    written (nothing is left behind then).
    """
    path = Path(path)
    data, primitives, hair, items = _build(asset, layout)
    with atomic_path(path, "wb") as fh:
        fh.write(data)
    return GlbExport(path=path, primitives=primitives, hair=hair, items=items)


def build_glb(asset, *, layout=None) -> tuple[bytes, tuple[GlbPrimitive, ...]]:
    """The GLB file contents of `asset` and its face primitives (no file is written).

    The images are PNG-encoded in a thread pool while this thread computes the geometry; the topology
    work (the per-material corner split, UDIM tiles, UVs) is cached per face model (topology_of)."""
    data, primitives, _, _ = _build(asset, layout)
    return data, primitives


def _build(asset, layout) -> tuple[bytes, tuple[GlbPrimitive, ...], tuple[HairPrimitive, ...], tuple[ItemPrimitive, ...]]:
    model = asset.model
    topo = topology_of(model)
    # glTF forbids empty accessors: a material without triangles has nothing to draw and is left out.
    if not topo.parts:
        raise InputError(f"asset {asset.name!r}: the face model has no triangles to export")
    with PendingImages(asset, [part.name for part in topo.parts]) as pending:
        positions = world_positions(asset)
        raw_normals = model.vertex_normals(np.asarray(asset.vertices, dtype=np.float32))
        normals = safe_normals(raw_normals)
        all_tangents = topo.tangents(positions, normals)
        occlusion = asset_occlusion(asset)
        geometry = []
        for part, start, stop in zip(topo.parts, topo.vertex_start[:-1], topo.vertex_start[1:]):
            prim = part.primitive
            texcoords = part.texcoords(_layout_tiles(layout, part.name) or part.model_tiles)
            pos, nrm = positions[prim.source_vertex], normals[prim.source_vertex]
            # the renderer's own bent normals (render.mesh.mesh_from_asset: from the raw normals)
            ao = None if occlusion is None else (occlusion.share[prim.source_vertex],
                                                 occlusion.bent_normals(raw_normals[prim.source_vertex], prim.source_vertex))
            geometry.append((pos, nrm, all_tangents[start:stop], texcoords, ao))
        hair = hair_primitives(asset)
        items = item_primitives(asset)
        pngs = pending.result()
    doc = _Document()
    gl_primitives = []
    for part, (pos, nrm, tangents, texcoords, ao) in zip(topo.parts, geometry):
        material = _material(doc, asset.textures.materials[part.name], part.name, pngs[part.name])
        gl_primitives.append(_write_primitive(doc, part.indices, pos, nrm, tangents, texcoords, material, ao))
    gl_primitives += _write_hair(doc, hair)
    gl_primitives += write_glb_items(doc, items)
    doc.gltf.meshes.append(gl.Mesh(name=asset.name, primitives=gl_primitives))
    doc.gltf.nodes.append(gl.Node(name=asset.name, mesh=0, extras=_node_extras(asset)))
    doc.gltf.scenes.append(gl.Scene(name=asset.name, nodes=[0]))
    doc.gltf.scene = 0
    extras = _asset_extras(asset)
    if hair:
        extras["groom"] = json_safe({k: v for k, v in groom_record(asset).items() if k not in ("rule", "coverage")})
    if items:
        first = len(topo.parts) + len(hair)
        extras["items"] = json_safe({k: v for k, v in items_record(asset, items, first).items() if k != "rule"})
    doc.gltf.asset = gl.Asset(generator=f"assetgen {__version__}", version="2.0", extras=extras)
    return doc.to_glb(), tuple(part.primitive for part in topo.parts), hair, items


def _layout_tiles(layout, name: str) -> tuple[int, int] | None:
    if layout is not None and name in layout.materials:
        raster = layout[name]
        return int(raster.tile_u0), int(raster.tiles)
    return None


# ---- primitives and materials ----------------------------------------------------------------
def _write_primitive(doc, indices, pos, nrm, tangents, texcoords, material: int, occlusion=None) -> gl.Primitive:
    """Add a primitive's accessors. Per glTF vertex: pos (n, 3) float32 metres, nrm (n, 3) unit,
    tangents (n, 4), texcoords (n, 2) glTF's, occlusion (share (n,) in [0, 1], bent normals (n, 3) unit) or None;
    indices (t, 3)."""
    attrs = gl.Attributes(
        POSITION=doc.add_accessor(pos, "VEC3", with_bounds=True),
        NORMAL=doc.add_accessor(nrm, "VEC3"),
        TANGENT=doc.add_accessor(tangents, "VEC4"),
        TEXCOORD_0=doc.add_accessor(texcoords, "VEC2"),
    )
    if occlusion is not None:
        _add_occlusion(doc, attrs, *occlusion)
    return gl.Primitive(
        attributes=attrs, indices=doc.add_indices(indices, len(pos)), material=material, mode=gl.TRIANGLES
    )


def _add_occlusion(doc, attrs, share: np.ndarray, bent: np.ndarray) -> None:
    """The VEC4 OCCLUSION_ATTRIBUTE of a primitive: bent normal (xyz, unit), share (w) per vertex."""
    packed = np.concatenate([bent, np.asarray(share)[:, None]], 1).astype(np.float32)
    setattr(attrs, OCCLUSION_ATTRIBUTE, doc.add_accessor(packed, "VEC4"))


def _write_hair(doc, hair: tuple[HairPrimitive, ...]) -> list[gl.Primitive]:
    """The hair primitives (export/hair.py): one alpha-masked material per region, all sampling the one
    fibre texture through their own sampler (bilinear, no mipmaps: the MASK test is a function of uv)."""
    if not hair:
        return []
    doc.gltf.samplers.append(gl.Sampler(magFilter=gl.LINEAR, minFilter=gl.LINEAR, wrapS=gl.CLAMP_TO_EDGE,
                                        wrapT=gl.CLAMP_TO_EDGE))
    texture = doc.add_texture(encode_png(fibre_texture()), "Hair_fibre", sampler=len(doc.gltf.samplers) - 1)
    out = []
    for h in hair:
        doc.gltf.materials.append(gl.Material(
            name=h.material,
            pbrMetallicRoughness=gl.PbrMetallicRoughness(
                baseColorFactor=[1.0, 1.0, 1.0, 1.0],
                baseColorTexture=gl.TextureInfo(index=texture),
                metallicFactor=0.0,
                roughnessFactor=ROUGHNESS,
            ),
            emissiveFactor=None,
            alphaMode="MASK",
            alphaCutoff=ALPHA_CUTOFF,
            doubleSided=True,
        ))
        attrs = gl.Attributes(
            POSITION=doc.add_accessor(h.positions, "VEC3", with_bounds=True),
            NORMAL=doc.add_accessor(h.normals, "VEC3"),
            TANGENT=doc.add_accessor(h.tangents, "VEC4"),
            TEXCOORD_0=doc.add_accessor(h.texcoords, "VEC2"),
            COLOR_0=doc.add_accessor(h.colors, "VEC4"),
        )
        if h.occlusion is not None:  # as the face's primitives carry theirs (render.hair_occlusion)
            _add_occlusion(doc, attrs, h.occlusion, h.bent_normals)
        out.append(gl.Primitive(attributes=attrs, indices=doc.add_indices(h.indices, h.n_vertices),
                                material=len(doc.gltf.materials) - 1, mode=gl.TRIANGLES,
                                extras={"assetgen_region": h.region}))
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
    if name in ict.CORNEA_COATED:  # the clear cornea's reflection (face.ict)
        material.extensions[_CLEARCOAT_EXT] = {"clearcoatFactor": ict.CORNEA_COAT_WEIGHT,
                                               "clearcoatRoughnessFactor": ict.CORNEA_ROUGHNESS}
    doc.gltf.materials.append(material)
    for ext in material.extensions:
        if ext not in doc.gltf.extensionsUsed:
            doc.gltf.extensionsUsed.append(ext)
    return len(doc.gltf.materials) - 1


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
        self._images: dict[tuple[bytes, int], int] = {}  # (PNG, sampler) -> texture (identical maps stored once)

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

    def add_texture(self, png: bytes, name: str, sampler: int = 0) -> int:
        if (png, sampler) in self._images:
            return self._images[png, sampler]
        view = self._add_view(png)
        self.gltf.images.append(gl.Image(name=name, bufferView=view, mimeType="image/png"))
        self.gltf.textures.append(gl.Texture(name=name, sampler=sampler, source=len(self.gltf.images) - 1))
        self._images[png, sampler] = len(self.gltf.textures) - 1
        return self._images[png, sampler]

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
