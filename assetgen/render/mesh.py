"""What the renderer and the baker draw: per-material primitives in metres with their textures, regions
and the 68 landmarks. Built from an in-memory Asset or read back from a GLB written by assetgen (plus
its NAME.gt.json), so both inputs go through the same code afterwards."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InputError
from ..face import ict


class Deferred:
    """A field value computed on first access: Primitive(tangents=Deferred(fn)) calls fn() the first
    time `tangents` is read and keeps the result (reading it gives the array, never this wrapper)."""

    __slots__ = ("compute",)

    def __init__(self, compute):
        self.compute = compute


class _DeferredField:
    """Data descriptor behind a dataclass field that may hold a Deferred (default None)."""

    def __set_name__(self, owner, name):
        self._slot = "_deferred_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            return None  # the dataclass default
        value = obj.__dict__.get(self._slot)
        if isinstance(value, Deferred):
            value = obj.__dict__[self._slot] = value.compute()
        return value

    def __set__(self, obj, value):
        obj.__dict__[self._slot] = value


@dataclass(eq=False)
class Primitive:
    """One material's triangles.

    positions: (n, 3) float32 metres; normals: (n, 3) float32 unit; texcoords: (n, 2) float32 glTF UVs of
    the material's image (v' = 0 at the top row); indices: (t, 3) int32; regions: (t,) uint8 ids into
    ict.REGIONS; base_color: (H, W, 3|4) uint8 sRGB; roughness, specular: (H, W) uint8 or None;
    normal: (H, W, 3) uint8 tangent-space normal map (glTF convention: n = texel * 2 - 1, +x = +u,
    +y = +v = image up) or None (shade with the geometric normal), normal_scale its glTF scale;
    tangents: (n, 4) float32 glTF TANGENT (xyz = +u direction, w = handedness: bitangent =
    cross(normal, xyz) * w = +v), or None (the renderer computes them from the UVs when it needs them);
    may be given as a Deferred, computed on first read (mesh_from_asset's are: only rgb renders use them).
    """

    material: str
    positions: np.ndarray
    normals: np.ndarray
    texcoords: np.ndarray
    indices: np.ndarray
    regions: np.ndarray
    base_color: np.ndarray
    roughness: np.ndarray | None = None
    specular: np.ndarray | None = None
    alpha_mode: str = "OPAQUE"
    alpha_cutoff: float = 0.5
    normal: np.ndarray | None = None
    normal_scale: float = 1.0
    tangents: np.ndarray | None = _DeferredField()

    @property
    def n_triangles(self) -> int:
        return len(self.indices)

    def __getstate__(self):  # pickle/copy the computed tangents, not the Deferred's closure
        self.tangents
        return self.__dict__

    def vertex_tangents(self) -> np.ndarray:
        """(n, 4) float32 glTF tangents: the stored ones, else Lengyel's from the texcoords (glTF's v' is
        flipped back to the model's v, which points up in the image: the +y of the normal map)."""
        if self.tangents is not None and len(self.tangents) == len(self.positions):
            return np.asarray(self.tangents, np.float32)
        from ..export.glb import vertex_tangents

        uv = np.asarray(self.texcoords, np.float64)
        return vertex_tangents(self.positions, self.normals, np.stack([uv[:, 0], 1.0 - uv[:, 1]], 1), self.indices)


@dataclass(eq=False)
class RenderMesh:
    """All primitives (file/material order), landmarks_world: (68, 3) float64 metres."""

    name: str
    primitives: list[Primitive]
    landmarks_world: np.ndarray
    regions: tuple[str, ...] = ict.REGIONS
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.primitives:
            raise InputError(f"mesh {self.name!r} has no primitives to render")
        for p in self.primitives:
            if p.texcoords is None or len(p.texcoords) != len(p.positions):
                raise InputError(f"primitive {p.material!r} has no UVs (TEXCOORD_0); re-export the asset with assetgen")
            bc = p.base_color
            if bc.dtype != np.uint8 or bc.ndim != 3 or bc.shape[2] not in (3, 4):
                raise InputError(
                    f"material {p.material!r}: base colour must be (H, W, 3|4) uint8, got {bc.dtype} {bc.shape}"
                )

    @cached_property
    def triangle_offsets(self) -> np.ndarray:
        """(P + 1,) int64: primitive p owns global triangle ids offsets[p]:offsets[p + 1]."""
        return np.concatenate([[0], np.cumsum([p.n_triangles for p in self.primitives])]).astype(np.int64)

    @cached_property
    def triangle_region(self) -> np.ndarray:
        """(T,) uint8 region id of every global triangle."""
        return np.concatenate([p.regions for p in self.primitives]).astype(np.uint8)

    @cached_property
    def triangle_material(self) -> np.ndarray:
        """(T,) int32 primitive index of every global triangle."""
        return np.repeat(np.arange(len(self.primitives), dtype=np.int32), [p.n_triangles for p in self.primitives])

    def solid(self) -> list[int]:
        """Indices of the primitives that are surfaces (not BLEND overlays): what GT layers and ray casts see."""
        return [i for i, p in enumerate(self.primitives) if p.alpha_mode != "BLEND"]

    def triangles_world(self, which: list[int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Concatenated (n, 3) float32 positions, (t, 3) int32 indices and (t,) int64 global triangle ids."""
        which = self.solid() if which is None else which
        pos, idx, ids, base = [], [], [], 0
        for i in which:
            p = self.primitives[i]
            pos.append(p.positions)
            idx.append(p.indices + base)
            ids.append(np.arange(self.triangle_offsets[i], self.triangle_offsets[i + 1]))
            base += len(p.positions)
        return np.concatenate(pos).astype(np.float32), np.concatenate(idx).astype(np.int32), np.concatenate(ids)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        allp = np.concatenate([p.positions for p in self.primitives])
        return allp.min(0).astype(np.float64), allp.max(0).astype(np.float64)

    def material(self, name: str) -> Primitive:
        for p in self.primitives:
            if p.material == name:
                return p
        raise InputError(f"no material {name!r} in mesh {self.name!r}; it has {', '.join(p.material for p in self.primitives)}")


# ---- from an Asset ---------------------------------------------------------------------------
def mesh_from_asset(asset) -> RenderMesh:
    """The asset's geometry in the GLB's frame (metres, the exporter's own conversion and vertex split).

    The split per material and the texture coordinates come from the exporter's per-model topology
    cache (export.glb.topology_of: the same read-only texcoords and indices arrays for every mesh of
    the model); the tangents of normal-mapped materials are computed on first use (Primitive.tangents
    is a Deferred)."""
    from ..export.glb import topology_of, vertex_tangents, world_positions

    model = asset.model
    topo = topology_of(model)
    pos = world_positions(asset)
    nrm = model.vertex_normals(np.asarray(asset.vertices, np.float32))
    regions = np.asarray(model.triangle_region)
    prims = []
    for part in topo.parts:
        tex = asset.textures.materials.get(part.name)
        if tex is None:
            raise InputError(f"asset {asset.name!r} has no textures for material {part.name}")
        normal_map = getattr(tex, "normal", None)
        source_vertex = part.primitive.source_vertex
        p_pos, p_nrm = pos[source_vertex], nrm[source_vertex]
        prims.append(
            Primitive(
                material=part.name,
                positions=p_pos,
                normals=p_nrm,
                texcoords=part.texcoords(part.model_tiles),
                indices=part.indices_int32,
                regions=regions[part.primitive.source_triangle].astype(np.uint8),
                base_color=np.asarray(tex.base_color),
                roughness=np.asarray(tex.roughness),
                specular=np.asarray(tex.specular),
                alpha_mode=tex.alpha_mode,
                alpha_cutoff=float(tex.alpha_cutoff),
                normal=None if normal_map is None else np.asarray(normal_map)[..., :3],
                # The exporter's own tangents (model UVs, v up), as the GLB's TANGENT carries them.
                tangents=None if normal_map is None else Deferred(
                    lambda p_pos=p_pos, p_nrm=p_nrm, part=part: vertex_tangents(p_pos, p_nrm, part.model_uv, part.indices)
                ),
            )
        )
    lm = pos[np.asarray(model.landmarks_68)].astype(np.float64)
    return RenderMesh(asset.name, prims, lm, tuple(getattr(model, "region_names", ict.REGIONS)))


def as_mesh(source) -> RenderMesh:
    """A RenderMesh from a RenderMesh, an Asset or a GLB path."""
    if isinstance(source, RenderMesh):
        return source
    if isinstance(source, (str, Path)):
        return read_glb(source)
    if hasattr(source, "textures") and hasattr(source, "model"):
        return mesh_from_asset(source)
    raise InputError(f"cannot render a {type(source).__name__}; pass an Asset, a RenderMesh or a GLB path")


# ---- from a GLB ------------------------------------------------------------------------------
def read_glb(path: str | Path, gt_path: str | Path | None = None) -> RenderMesh:
    """Read a GLB written by assetgen and the NAME.gt.json beside it (regions and landmarks).

    Raises InputError naming what is missing (no UVs, no base colour texture, no sidecar, ...).
    """
    import pygltflib

    path = Path(path)
    if not path.is_file():
        raise InputError(f"GLB {path} does not exist")
    gt_path = Path(gt_path) if gt_path else path.with_name(path.name[: -len(path.suffix)] + ".gt.json")
    try:
        doc = pygltflib.GLTF2().load_binary(str(path))
    except Exception as exc:  # pygltflib raises assorted errors on damaged files
        raise InputError(f"{path} is not a readable GLB ({exc})") from exc
    if doc is None or not doc.meshes:
        raise InputError(f"{path} holds no mesh")
    blob = doc.binary_blob()
    if not gt_path.is_file():
        raise InputError(f"{gt_path} (the ground-truth sidecar of {path.name}) is missing; regions and landmarks come from it")
    gt = json.loads(gt_path.read_text())
    regions = tuple(gt.get("regions", ict.REGIONS))
    region_id = {n: i for i, n in enumerate(regions)}
    tri_regions = np.array([region_id[n] for n in gt["triangle_regions"]], np.uint8)
    prims, start = [], 0
    for k, gp in enumerate(doc.meshes[0].primitives):
        a = gp.attributes
        if a.TEXCOORD_0 is None:
            raise InputError(f"{path}: primitive {k} has no TEXCOORD_0 (UVs); the renderer and baker need UVs")
        mat = doc.materials[gp.material]
        pbr = mat.pbrMetallicRoughness
        if pbr is None or pbr.baseColorTexture is None:
            raise InputError(f"{path}: material {mat.name!r} has no base colour texture")
        indices = _accessor(doc, blob, gp.indices).reshape(-1, 3).astype(np.int32)
        t = len(indices)
        mrs = _image(doc, blob, pbr.metallicRoughnessTexture.index) if pbr.metallicRoughnessTexture else None
        nt = mat.normalTexture
        normal_map = np.ascontiguousarray(_image(doc, blob, nt.index)[..., :3]) if nt is not None and nt.index is not None else None
        prims.append(
            Primitive(
                material=mat.name,
                positions=_accessor(doc, blob, a.POSITION).astype(np.float32),
                normals=_accessor(doc, blob, a.NORMAL).astype(np.float32),
                texcoords=_accessor(doc, blob, a.TEXCOORD_0).astype(np.float32),
                indices=indices,
                regions=tri_regions[start : start + t],
                base_color=_image(doc, blob, pbr.baseColorTexture.index),
                roughness=None if mrs is None else np.ascontiguousarray(mrs[..., 1]),
                specular=None if mrs is None or mrs.shape[2] < 4 else np.ascontiguousarray(mrs[..., 3]),
                alpha_mode=mat.alphaMode or "OPAQUE",
                alpha_cutoff=float(mat.alphaCutoff if mat.alphaCutoff is not None else 0.5),
                normal=normal_map,
                normal_scale=float(nt.scale if nt is not None and nt.scale is not None else 1.0),
                tangents=None if a.TANGENT is None else _accessor(doc, blob, a.TANGENT).astype(np.float32),
            )
        )
        start += t
    if start != len(tri_regions):
        raise InputError(f"{gt_path} lists {len(tri_regions)} triangle regions but {path.name} has {start} triangles")
    lm = np.asarray(gt["landmarks_68"]["position"], np.float64)
    return RenderMesh(gt.get("name", path.stem), prims, lm, regions, meta={"glb": str(path)})


_DTYPES = {5121: "u1", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def _accessor(doc, blob: bytes, index: int) -> np.ndarray:
    acc = doc.accessors[index]
    view = doc.bufferViews[acc.bufferView]
    width = _WIDTH[acc.type]
    offset = (view.byteOffset or 0) + (acc.byteOffset or 0)
    data = np.frombuffer(blob, _DTYPES[acc.componentType], count=acc.count * width, offset=offset)
    return data.reshape(acc.count, width) if width > 1 else data


def _image(doc, blob: bytes, texture: int) -> np.ndarray:
    img = doc.images[doc.textures[texture].source]
    view = doc.bufferViews[img.bufferView]
    data = blob[(view.byteOffset or 0) : (view.byteOffset or 0) + view.byteLength]
    arr = np.asarray(Image.open(io.BytesIO(data)))
    return arr if arr.ndim == 3 else arr[..., None].repeat(3, 2)
