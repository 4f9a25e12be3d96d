"""What the renderer and the baker draw: per-material primitives in metres with their textures, regions
and the 68 landmarks. Built from an in-memory Asset or read back from a GLB written by assetgen (plus
its NAME.gt.json), so both inputs go through the same code afterwards."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ..io import read_json_object
from ..errors import InputError
from ..face import ict
from ..geometry import vertex_tangents, world_positions
from ..uv.topology import topology_of
from .hair_occlusion import asset_hair_occlusion
from .occlusion import OCCLUSION_ATTRIBUTE, asset_occlusion
from .hair import (
    HAIR_ALPHA_CUTOFF,
    HAIR_MATERIAL_PREFIX,
    fibre_texture,
    hair_primitive_arrays,
    with_hair_regions,
)


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
    may be given as a Deferred, computed on first read (mesh_from_asset's are: only rgb renders use them);
    colors: (n, 4) float32 glTF COLOR_0 (linear RGB times the base colour, alpha times its alpha) or None;
    occlusion: (n,) float32 ambient occlusion in [0, 1] (render.occlusion: the share of the surroundings a
    vertex sees; the rgb pass scales the environment's light by it) or None (1); bent_normals: (n, 3) float32
    unit, the direction the seen part of its surroundings centres on, in this pose (render.occlusion: the
    rgb pass takes the environment's diffuse light along it), or None (the normals).
    Hair primitives (render.hair) are MASK materials with colors; their tangents point root -> tip.
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
    colors: np.ndarray | None = None
    occlusion: np.ndarray | None = None
    bent_normals: np.ndarray | None = None

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
        uv = np.asarray(self.texcoords, np.float64)
        return vertex_tangents(self.positions, self.normals, np.stack([uv[:, 0], 1.0 - uv[:, 1]], 1), self.indices)


def alpha_cutoff(prim: Primitive) -> float:
    """The alpha test threshold of a primitive (-1: none). Only MASK materials with an alpha channel
    (the texture's or COLOR_0's) test; the GT layers, the ray caster and the baker all cut out by it."""
    has_alpha = prim.base_color.shape[2] == 4 or prim.colors is not None
    return float(prim.alpha_cutoff) if prim.alpha_mode == "MASK" and has_alpha else -1.0


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
def mesh_from_asset(asset, ribbon_cache=None) -> RenderMesh:
    """The asset's geometry in the GLB's frame (metres, the exporter's own conversion and vertex split).
    ribbon_cache: the subject's attach.hair.ribbon_cache.RibbonCache when it is posed again and again (the
    same bytes; an unchanged hair region keeps its arrays, see render.hair.hair_primitive_arrays).

    The split per material and the texture coordinates come from the per-model topology cache the
    exporters use too (uv.topology.topology_of: the same read-only texcoords and indices arrays for
    every mesh of the model); the tangents of normal-mapped materials are computed on first use
    (Primitive.tangents is a Deferred)."""
    model = asset.model
    topo = topology_of(model)
    occlusion = asset_occlusion(asset)
    pos = world_positions(asset)
    nrm = model.vertex_normals(np.asarray(asset.vertices, np.float32))
    regions = np.asarray(model.triangle_region)
    region_names = tuple(getattr(model, "region_names", ict.REGIONS))
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
                occlusion=None if occlusion is None else occlusion.share[source_vertex],
                bent_normals=None if occlusion is None else occlusion.bent_normals(p_nrm, source_vertex),
                tangents=None if normal_map is None else Deferred(
                    lambda p_pos=p_pos, p_nrm=p_nrm, part=part: vertex_tangents(p_pos, p_nrm, part.model_uv, part.indices)
                ),
            )
        )
    hair = hair_primitive_arrays(asset, ribbon_cache, asset_hair_occlusion(asset))
    if hair:
        region_names = with_hair_regions(region_names)
        fibre = fibre_texture()
        for region, arrays in hair:
            prims.append(Primitive(
                material=HAIR_MATERIAL_PREFIX + region, base_color=fibre, alpha_mode="MASK",
                alpha_cutoff=HAIR_ALPHA_CUTOFF, regions=np.full(len(arrays["indices"]), region_names.index(region), np.uint8),
                **arrays))
    if getattr(asset, "items", None) is not None:  # worn items: ordinary primitives (attach.items.primitives)
        from ..attach.items.primitives import item_primitives, with_item_regions

        region_names = with_item_regions(region_names, asset)
        for it in item_primitives(asset):
            prims.append(Primitive(
                material=it.material, positions=it.positions, normals=it.normals, texcoords=it.texcoords,
                indices=it.indices, regions=np.full(it.n_triangles, region_names.index(it.region), np.uint8),
                base_color=it.base_color, roughness=it.metallic_roughness()[..., 1], alpha_mode=it.alpha_mode))
    lm = pos[np.asarray(model.landmarks_68)].astype(np.float64)
    return RenderMesh(asset.name, prims, lm, region_names)


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

    Everything is checked before it is used: the container (magic, version, length, chunks), every index
    into the glTF arrays, every accessor and image against the binary chunk, triangle indices against
    the vertex count (and no repeated vertex in a triangle), finite vertex data, and the sidecar against
    the GLB (triangle and vertex counts, region names, the 68 landmarks where its vertex indices put them).
    Each problem is one InputError naming the file and what is wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"GLB {path} does not exist")
    gt_path = Path(gt_path) if gt_path else path.with_name(path.name[: -len(path.suffix)] + ".gt.json")
    doc = _Glb(path)
    meshes = doc.list("meshes")
    if not meshes:
        raise InputError(f"{path} holds no mesh")
    gprims = doc.field(meshes[0], "primitives", list, "mesh 0")
    if not gprims:
        raise InputError(f"{path}: mesh 0 has no primitives")
    if not gt_path.is_file():
        raise InputError(f"{gt_path} (the ground-truth sidecar of {path.name}) is missing; regions and landmarks come from it")
    gt = _read_gt(gt_path)
    regions, tri_names = _gt_regions(gt, gt_path)
    n_triangles = []
    prims = []
    for k, gp in enumerate(gprims):
        prims.append(_primitive(doc, gp, k))
        n_triangles.append(len(prims[-1][1]))
    if sum(n_triangles) != len(tri_names):
        raise InputError(
            f"{gt_path} lists {len(tri_names)} triangle regions but {path.name} has {sum(n_triangles)} triangles; "
            "the sidecar belongs to another GLB (export the asset again)"
        )
    region_id = {n: i for i, n in enumerate(regions)}
    tri_regions = np.fromiter((region_id[n] for n in tri_names), np.uint8, len(tri_names))
    _check_gt_primitives(gt, gt_path, path, [(p[0], len(p[1]), len(p[2]["positions"])) for p in prims])
    lm = _gt_landmarks(gt, gt_path, path, [p[2]["positions"] for p in prims])
    out, start = [], 0
    for k, (name, indices, arrays) in enumerate(prims):
        t = len(indices)
        region = arrays.pop("_region")
        if region is not None:
            mine = set(tri_names[start : start + t])
            if mine != {region}:
                raise _gt_fail(
                    gt_path, f"the triangles of primitive {k} ({name!r}) are {sorted(mine)} but {path.name} marks it "
                    f"as region {region!r} (extras.assetgen_region)"
                )
        out.append(Primitive(material=name, indices=indices, regions=tri_regions[start : start + t], **arrays))
        start += t
    name = gt.get("name", path.stem)
    return RenderMesh(name if isinstance(name, str) else path.stem, out, lm, regions, meta={"glb": str(path)})


_GLB_MAGIC = b"glTF"
_CHUNK_JSON, _CHUNK_BIN = 0x4E4F534A, 0x004E4942
_DTYPES = {5121: "u1", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
_GLB_MAX_TEXTURE_PIXELS = 1 << 28  # 16384 x 16384: a material's texture spans one or more UV tiles


class _Glb:
    """A GLB's JSON and binary chunk, with checked access to its arrays (each failure an InputError)."""

    def __init__(self, path: Path):
        import struct

        self.path = path
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read GLB {path}: {exc.strerror or exc}") from exc
        if len(data) < 12 or data[:4] != _GLB_MAGIC:
            raise InputError(f"{path} is not a GLB file (it does not start with 'glTF'); render and bake read binary glTF written by assetgen")
        version, length = struct.unpack_from("<II", data, 4)
        if version != 2:
            raise InputError(f"{path} is glTF version {version}; only glTF 2.0 GLBs are read")
        if length > len(data):
            raise InputError(f"{path} is truncated: its header says {length:,} bytes but the file has {len(data):,}; copy or export it again")
        if length < len(data):
            raise InputError(f"{path} has {len(data) - length:,} bytes after the end its header gives; the file is damaged")
        chunks, at = [], 12
        while at < length:
            if at + 8 > length:
                raise InputError(f"{path} is damaged: a chunk header is cut off at byte {at:,}")
            size, kind = struct.unpack_from("<II", data, at)
            if at + 8 + size > length:
                raise InputError(f"{path} is truncated: a chunk of {size:,} bytes at byte {at:,} runs past the end of the file")
            chunks.append((kind, data[at + 8 : at + 8 + size]))
            at += 8 + size + (-size % 4)
        if not chunks or chunks[0][0] != _CHUNK_JSON:
            raise InputError(f"{path} is damaged: its first chunk is not the JSON chunk")
        try:
            self.json = json.loads(chunks[0][1].decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"{path} is damaged: its JSON chunk is not valid JSON ({_one_line(exc)})") from exc
        if not isinstance(self.json, dict):
            raise InputError(f"{path} is damaged: its JSON chunk is not an object")
        self.blob = next((c for kind, c in chunks[1:] if kind == _CHUNK_BIN), b"")

    def fail(self, what: str) -> InputError:
        return InputError(f"{self.path}: {what}; the GLB is damaged or was not written by assetgen")

    def list(self, key: str) -> list:
        value = self.json.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"'{key}' is not a list")
        return value

    def item(self, key: str, index, what: str) -> dict:
        items = self.list(key)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(items):
            raise self.fail(f"{what} refers to {key}[{index}], which does not exist ({len(items)} {key})")
        if not isinstance(items[index], dict):
            raise self.fail(f"{key}[{index}] is not an object")
        return items[index]

    def field(self, obj: dict, key: str, kind, what: str, default=None):
        value = obj.get(key, default)
        if kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        elif kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))
        else:
            ok = isinstance(value, kind)
        if not ok:
            raise self.fail(f"{what} has {key} = {value!r}")
        return value

    def view_bytes(self, index, what: str) -> tuple[int, int, int | None]:
        """(start, length, stride) of bufferViews[index] inside the binary chunk."""
        view = self.item("bufferViews", index, what)
        where = f"bufferViews[{index}]"
        if self.field(view, "buffer", int, where) != 0:
            raise self.fail(f"{where} points into buffer {view['buffer']}; only the GLB's own binary chunk is read")
        start = self.field(view, "byteOffset", int, where, 0)
        length = self.field(view, "byteLength", int, where)
        stride = view.get("byteStride")
        if stride is not None:
            stride = self.field(view, "byteStride", int, where)
        if start + length > len(self.blob):
            raise self.fail(
                f"{where} spans bytes {start:,}..{start + length:,} but the binary chunk has {len(self.blob):,}"
            )
        return start, length, stride

    def accessor(self, index, what: str, types: tuple[str, ...], components: tuple[int, ...],
                 normalized: tuple[int, ...] = ()) -> np.ndarray:
        """The accessor's values, (count,) for SCALAR else (count, width), after checking that its type
        and component type are what `what` needs and that every element lies inside its buffer view.
        normalized: the integer component types that may be normalized (values come back as stored)."""
        acc = self.item("accessors", index, what)
        where = f"accessors[{index}] ({what})"
        if acc.get("sparse") is not None:
            raise self.fail(f"{where} is sparse; sparse accessors are not read")
        if acc.get("type") not in types or acc.get("componentType") not in components + normalized:
            raise self.fail(f"{where} is {acc.get('type')} of component type {acc.get('componentType')}, not {'/'.join(types)}")
        if bool(acc.get("normalized")) != (acc["componentType"] in normalized):
            raise self.fail(
                f"{where} is {'' if acc.get('normalized') else 'not '}normalized with component type {acc['componentType']}; "
                "expected floats" + (" or normalized unsigned bytes/shorts" if normalized else "")
            )
        count = self.field(acc, "count", int, where)
        start, length, stride = self.view_bytes(self.field(acc, "bufferView", int, where), where)
        dtype = np.dtype(_DTYPES[acc["componentType"]])
        width = _WIDTH[acc["type"]]
        element = dtype.itemsize * width
        stride = stride or element
        offset = self.field(acc, "byteOffset", int, where, 0)
        if stride < element:
            raise self.fail(f"{where}: byteStride {stride} is smaller than an element ({element} bytes)")
        end = offset + (count - 1) * stride + element if count else offset
        if end > length:
            raise self.fail(f"{where}: {count:,} elements need {end:,} bytes but its buffer view has {length:,}")
        arr = np.ndarray((count, width), dtype, buffer=self.blob, offset=start + offset, strides=(stride, dtype.itemsize))
        return arr[:, 0] if width == 1 else arr

    def image(self, texture, what: str) -> np.ndarray:
        from ..images import decode_image

        tex = self.item("textures", texture, what)
        where = f"textures[{texture}] ({what})"
        img = self.item("images", self.field(tex, "source", int, where), where)
        if img.get("bufferView") is None:
            raise self.fail(f"{where} is not embedded in the GLB (uri {img.get('uri')!r})")
        start, length, _ = self.view_bytes(self.field(img, "bufferView", int, where), where)
        return decode_image(self.blob[start : start + length], f"{self.path}: {where}", max_pixels=_GLB_MAX_TEXTURE_PIXELS)


def _one_line(exc) -> str:
    return " ".join(str(exc).split())


def _finite(doc: _Glb, arr: np.ndarray, what: str) -> np.ndarray:
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        first = int(np.argmax(bad))
        raise InputError(
            f"{doc.path}: {what} is NaN or infinite at {int(bad.sum()):,} vertices (first: vertex {first}, "
            f"{arr[first].tolist()}); the GLB is damaged, export it again"
        )
    return arr


def _primitive(doc: _Glb, gp, k: int) -> tuple[str, np.ndarray, dict]:
    """(material name, (t, 3) int32 indices, the other Primitive fields) of mesh 0's primitive k."""
    what = f"primitive {k}"
    if not isinstance(gp, dict):
        raise doc.fail(f"{what} is not an object")
    if gp.get("mode", 4) != 4:
        raise doc.fail(f"{what} draws mode {gp.get('mode')!r}, not triangles (4)")
    a = doc.field(gp, "attributes", dict, what)
    if a.get("TEXCOORD_0") is None:
        raise InputError(f"{doc.path}: {what} has no TEXCOORD_0 (UVs); the renderer and baker need UVs")
    for need in ("POSITION", "NORMAL"):
        if a.get(need) is None:
            raise InputError(f"{doc.path}: {what} has no {need}; export the asset again with assetgen")
    if gp.get("indices") is None:
        raise InputError(f"{doc.path}: {what} has no triangle indices; export the asset again with assetgen")
    mat = doc.item("materials", gp.get("material"), what)
    name = mat.get("name") if isinstance(mat.get("name"), str) else f"material_{gp['material']}"
    pbr = mat.get("pbrMetallicRoughness") or {}
    if not isinstance(pbr, dict) or not isinstance(pbr.get("baseColorTexture"), dict):
        raise InputError(f"{doc.path}: material {name!r} has no base colour texture")
    float3 = (5126,)
    positions = _finite(doc, doc.accessor(a["POSITION"], f"{what} POSITION", ("VEC3",), float3), f"{what} POSITION")
    n = len(positions)
    if n == 0:
        raise doc.fail(f"{what} has no vertices")
    arrays = {"positions": positions.astype(np.float32)}
    for key, attr, kind in (("NORMAL", "normals", "VEC3"), ("TEXCOORD_0", "texcoords", "VEC2"), ("TANGENT", "tangents", "VEC4")):
        if a.get(key) is None:
            continue
        values = _finite(doc, doc.accessor(a[key], f"{what} {key}", (kind,), float3), f"{what} {key}")
        if len(values) != n:
            raise doc.fail(f"{what} has {n:,} positions but {len(values):,} {key} values")
        arrays[attr] = values.astype(np.float32)
    if a.get("COLOR_0") is not None:
        # glTF: VEC3/VEC4 floats, or normalized unsigned bytes/shorts (stored / 255 or / 65535).
        raw = doc.accessor(a["COLOR_0"], f"{what} COLOR_0", ("VEC3", "VEC4"), float3, normalized=(5121, 5123))
        scale = {np.dtype("u1"): 255.0, np.dtype("<u2"): 65535.0}.get(raw.dtype, 1.0)
        col = np.ones((len(raw), 4), np.float32)
        col[:, : raw.shape[1]] = _finite(doc, raw.astype(np.float64) / scale, f"{what} COLOR_0")
        if len(col) != n:
            raise doc.fail(f"{what} has {n:,} positions but {len(col):,} COLOR_0 values")
        if col.min() < 0 or col.max() > 1:
            raise InputError(
                f"{doc.path}: {what} COLOR_0 holds values outside 0..1 (min {float(col.min()):g}, max "
                f"{float(col.max()):g}); glTF colours are linear 0..1, export the asset again"
            )
        arrays["colors"] = col
    if a.get(OCCLUSION_ATTRIBUTE) is not None:  # assetgen's per-vertex bent normal and ambient occlusion
        occ = _finite(doc, doc.accessor(a[OCCLUSION_ATTRIBUTE], f"{what} {OCCLUSION_ATTRIBUTE}", ("VEC4",), float3),
                      f"{what} {OCCLUSION_ATTRIBUTE}")
        if len(occ) != n:
            raise doc.fail(f"{what} has {n:,} positions but {len(occ):,} {OCCLUSION_ATTRIBUTE} values")
        if occ[:, 3].min() < 0 or occ[:, 3].max() > 1:
            raise doc.fail(f"{what} {OCCLUSION_ATTRIBUTE} holds shares (w) outside 0..1")
        length = np.linalg.norm(occ[:, :3], axis=1)
        if np.abs(length - 1).max() > 1e-3:
            raise doc.fail(f"{what} {OCCLUSION_ATTRIBUTE} holds bent normals (xyz) that are not unit vectors")
        arrays["occlusion"] = np.ascontiguousarray(occ[:, 3], np.float32)
        arrays["bent_normals"] = np.ascontiguousarray(occ[:, :3], np.float32)
    extras = gp.get("extras")
    region = extras.get("assetgen_region") if isinstance(extras, dict) else None
    if region is not None and not isinstance(region, str):
        raise doc.fail(f"{what} has extras.assetgen_region = {region!r}, not a region name")
    arrays["_region"] = region
    flat = doc.accessor(gp["indices"], f"{what} indices", ("SCALAR",), (5121, 5123, 5125))
    if len(flat) % 3:
        raise doc.fail(f"{what} has {len(flat):,} indices, not a multiple of 3 (triangles)")
    if len(flat) and int(flat.max()) >= n:
        first = int(np.argmax(flat >= n))
        raise InputError(
            f"{doc.path}: {what} (material {name!r}) triangle {first // 3} uses vertex {int(flat[first])} but the "
            f"primitive has {n:,} vertices; the GLB is damaged, export it again"
        )
    indices = flat.reshape(-1, 3).astype(np.int32)
    degenerate = (indices[:, 0] == indices[:, 1]) | (indices[:, 1] == indices[:, 2]) | (indices[:, 0] == indices[:, 2])
    if degenerate.any():
        first = int(np.argmax(degenerate))
        raise InputError(
            f"{doc.path}: {what} (material {name!r}) has {int(degenerate.sum()):,} degenerate triangles (a vertex "
            f"used twice), first triangle {first} = {indices[first].tolist()}; the GLB is damaged, export it again"
        )
    base = doc.field(pbr["baseColorTexture"], "index", int, f"material {name!r} baseColorTexture")
    arrays["base_color"] = doc.image(base, f"material {name!r} base colour")
    mr = pbr.get("metallicRoughnessTexture")
    mrs = None
    if mr is not None:
        where = f"material {name!r} metallicRoughnessTexture"
        mrs = doc.image(doc.field(doc.field(pbr, "metallicRoughnessTexture", dict, where), "index", int, where), where)
    arrays["roughness"] = None if mrs is None else np.ascontiguousarray(mrs[..., 1])
    arrays["specular"] = None if mrs is None or mrs.shape[2] < 4 else np.ascontiguousarray(mrs[..., 3])
    nt = mat.get("normalTexture")
    normal_scale = 1.0
    if isinstance(nt, dict) and nt.get("index") is not None:
        normal = doc.image(doc.field(nt, "index", int, f"material {name!r} normalTexture"), f"material {name!r} normal map")
        arrays["normal"] = np.ascontiguousarray(normal[..., :3])
        normal_scale = float(doc.field(nt, "scale", float, f"material {name!r} normalTexture", 1.0))
    arrays["normal_scale"] = normal_scale
    mode = mat.get("alphaMode") or "OPAQUE"
    if mode not in ("OPAQUE", "MASK", "BLEND"):
        raise doc.fail(f"material {name!r} has alphaMode {mode!r}")
    arrays["alpha_mode"] = mode
    arrays["alpha_cutoff"] = float(doc.field(mat, "alphaCutoff", float, f"material {name!r}", 0.5))
    return name, indices, arrays


def _read_gt(gt_path: Path) -> dict:
    return read_json_object(gt_path, f"ground-truth sidecar {gt_path}", "export the asset again")


def _gt_fail(gt_path: Path, what: str) -> InputError:
    return InputError(f"{gt_path}: {what}; export the asset again to rewrite the sidecar")


def _gt_regions(gt: dict, gt_path: Path) -> tuple[tuple[str, ...], list]:
    regions = gt.get("regions", list(ict.REGIONS))
    if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions) or not regions:
        raise _gt_fail(gt_path, "'regions' must be a non-empty list of region names")
    if len(set(regions)) != len(regions) or len(regions) > 256:
        raise _gt_fail(gt_path, f"'regions' must be at most 256 distinct names, got {len(regions)} ({len(set(regions))} distinct)")
    if "triangle_regions" not in gt:
        raise _gt_fail(gt_path, "it has no 'triangle_regions' (one region name per triangle)")
    names = gt["triangle_regions"]
    if not isinstance(names, list):
        raise _gt_fail(gt_path, "'triangle_regions' must be a list of region names")
    known = set(regions)
    for i, n in enumerate(names):
        if not isinstance(n, str) or n not in known:
            raise _gt_fail(gt_path, f"triangle_regions[{i}] is {n!r}, not one of its 'regions'")
    return tuple(regions), names


def _check_gt_primitives(gt: dict, gt_path: Path, path: Path, prims: list[tuple[str, int, int]]) -> None:
    """The sidecar's per-primitive record (material, triangles, vertices), when it has one, matches the GLB."""
    listed = gt.get("primitives")
    if listed is None:
        return
    if not isinstance(listed, list) or len(listed) != len(prims):
        n = len(listed) if isinstance(listed, list) else "no list of"
        raise _gt_fail(gt_path, f"it lists {n} primitives but {path.name} has {len(prims)}")
    for k, (rec, (name, t, v)) in enumerate(zip(listed, prims)):
        got = (rec.get("material"), rec.get("triangles"), rec.get("vertices")) if isinstance(rec, dict) else rec
        if got != (name, t, v):
            raise _gt_fail(gt_path, f"primitive {k} is {got!r} (material, triangles, vertices) but {path.name} has {(name, t, v)!r}")


def _gt_landmarks(gt: dict, gt_path: Path, path: Path, positions: list[np.ndarray]) -> np.ndarray:
    """(68, 3) float64 landmark positions, checked to be finite and, where the sidecar gives the GLB
    vertex of each, to sit on that vertex."""
    rec = gt.get("landmarks_68")
    if not isinstance(rec, dict) or "position" not in rec:
        raise _gt_fail(gt_path, "it has no 'landmarks_68' {'position': 68 x [x, y, z]}")
    try:
        lm = np.asarray(rec["position"], np.float64)
    except (TypeError, ValueError) as exc:
        raise _gt_fail(gt_path, f"landmarks_68.position is not a list of [x, y, z] numbers ({_one_line(exc)})") from exc
    if lm.shape != (68, 3):
        raise _gt_fail(gt_path, f"landmarks_68.position must be 68 x [x, y, z], got shape {lm.shape}")
    if not np.isfinite(lm).all():
        raise _gt_fail(gt_path, f"landmarks_68.position holds NaN or infinity (landmark {int(np.argmax(~np.isfinite(lm).all(1)))})")
    where = rec.get("vertex_index")
    if where is None:
        return lm
    try:
        vi = np.asarray(where, np.int64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _gt_fail(gt_path, f"landmarks_68.vertex_index is not 68 x [primitive, vertex] ({_one_line(exc)})") from exc
    if vi.shape != (68, 2):
        raise _gt_fail(gt_path, f"landmarks_68.vertex_index must be 68 x [primitive, vertex], got shape {vi.shape}")
    for i, (p, v) in enumerate(vi.tolist()):
        if not (0 <= p < len(positions) and 0 <= v < len(positions[p])):
            raise _gt_fail(gt_path, f"landmark {i} is on vertex {v} of primitive {p}, which {path.name} does not have")
        if not np.allclose(positions[p][v], lm[i], rtol=0, atol=1e-6):
            raise InputError(
                f"{gt_path}: landmark {i} is at {lm[i].tolist()} but vertex {v} of primitive {p} of {path.name} is at "
                f"{positions[p][v].tolist()}; the sidecar belongs to another GLB (export the asset again)"
            )
    return lm
