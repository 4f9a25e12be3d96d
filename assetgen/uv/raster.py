"""Rasterize a UV layout once per topology and resolution: per texel the triangle and its barycentrics.

Image convention (glTF's): row 0 is the top of the image, i.e. UV v = 1. A texel (row r, column c) of a
material whose UDIM tiles start at u0 and span `tiles` tiles covers
    u = u0 + tiles * (c + 0.5) / W,   v = 1 - (r + 0.5) / H.
Each material gets its own image (ICT reuses tile [0, 1] for sclera, iris and eye occlusion).
Rasterization draws the UV triangles with OpenGL (EGL, llvmpipe on CPUs): a texel is covered when its
centre lies inside a triangle (GL's top-left rule decides shared edges); barycentrics are interpolated
per texel. Without GL it falls back to casting one ray per texel centre (open3d/Embree).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import InputError
from ..face import ict
from ..io import staged_dir
from ..paths import uv_cache_dir

CACHE_VERSION = 1


def udim_texcoords(uv: np.ndarray, tile_u0: int, tiles: int, *, v_up: bool = False) -> np.ndarray:
    """Model UVs (..., 2) -> (..., 2) float64 coordinates in the material's own image: the UDIM tiles
    [u0, u0 + tiles) squeezed into [0, 1], u' = (u - u0) / tiles; v' = 1 - v (glTF's, image row 0 at
    v' = 0), or v' = v with v_up (OBJ's and USD's st). Not clipped. The one UDIM mapping of the package:
    rasterization, the exporters, the renderer's meshes and the previews all use it."""
    uv = np.asarray(uv, dtype=np.float64)
    v = uv[..., 1] if v_up else 1.0 - uv[..., 1]
    return np.stack([(uv[..., 0] - tile_u0) / tiles, v], axis=-1)


@dataclass(frozen=True, eq=False)
class MaterialRaster:
    """UV rasterization of one material's triangles.

    triangle: (H, W) int32 global triangle id, -1 where no triangle covers the texel centre;
    bary12: (H, W, 2) float32 barycentric weights of triangle corners 1 and 2 (corner 0 = 1 - sum).
    """

    material: str
    tile_u0: int
    tiles: int
    triangle: np.ndarray
    bary12: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.triangle.shape

    @property
    def mask(self) -> np.ndarray:
        """(H, W) bool coverage mask."""
        return self.triangle >= 0

    @property
    def bary(self) -> np.ndarray:
        """(H, W, 3) float32 barycentrics (zero where not covered)."""
        b12 = np.asarray(self.bary12)
        b0 = np.where(self.mask, 1.0 - b12.sum(-1), 0.0).astype(np.float32)
        return np.concatenate([b0[..., None], b12], axis=-1)

    def covered(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat texel indices (N,), their triangles (N,) and barycentrics (N, 3) of covered texels."""
        tri = np.asarray(self.triangle).ravel()
        idx = np.flatnonzero(tri >= 0)
        b12 = np.asarray(self.bary12).reshape(-1, 2)[idx]
        b = np.empty((len(idx), 3), np.float32)
        b[:, 1:] = b12
        np.subtract(1.0, b12[:, 0], out=b[:, 0])
        b[:, 0] -= b12[:, 1]
        return idx, tri[idx], b

    def uv_to_texture(self, uv: np.ndarray) -> np.ndarray:
        """Model UVs (N, 2) -> this material's glTF texture coordinates (N, 2) in [0, 1] (udim_texcoords)."""
        return udim_texcoords(uv, self.tile_u0, self.tiles)


@dataclass(frozen=True, eq=False)
class UVLayout:
    """The rasterized UV layout of a topology at one resolution: one MaterialRaster per material."""

    resolution: int
    topology: str
    materials: Mapping[str, MaterialRaster]
    # Folder of the on-disk cache this layout lives in (None when uncached). Stages may keep data that
    # depends only on topology + resolution here, in files of their own (see derived_cache_path).
    cache_folder: Path | None = None

    def derived_cache_path(self, name: str) -> Path | None:
        """Where a stage may cache data derived from this layout alone (None: don't cache)."""
        return None if self.cache_folder is None else self.cache_folder / name

    def __getitem__(self, material: str) -> MaterialRaster:
        return self.materials[material]


def material_tiles(model, material_index: int) -> tuple[int, int]:
    """(first tile u0, number of tiles) spanned by a material's UVs."""
    tris = model.triangle_material == material_index
    u = model.mesh.uvs[model.triangle_uv_index[tris].ravel(), 0]
    u0 = int(np.floor(u.min()))
    u1 = int(np.ceil(u.max()))
    return u0, max(1, u1 - u0)


def material_image_shape(material: str, resolution: int, tiles: int) -> tuple[int, int]:
    scale = ict.MATERIAL_RESOLUTION_SCALE.get(material, 0.25)
    h = max(16, int(round(resolution * scale)))
    return h, h * tiles


def _pixel_triangles(model, m: int, resolution: int):
    """A material's triangles in its image's pixel space: (n, 3, 2) float64 and their global ids (n,)."""
    name = model.material_names[m]
    u0, tiles = material_tiles(model, m)
    h, w = material_image_shape(name, resolution, tiles)
    tri_ids = np.flatnonzero(model.triangle_material == m).astype(np.int64)
    c = model.mesh.uvs.astype(np.float64)[model.triangle_uv_index[tri_ids]]  # (n, 3, 2)
    px = udim_texcoords(c, u0, tiles) * np.array([w, h], np.float64)
    return name, u0, tiles, (h, w), px, tri_ids


_VERTEX_SHADER = """
#version 330
in vec2 in_px;
in vec2 in_b12;
in int in_tri;
uniform vec2 size;
out vec2 v_b12;
flat out int v_tri;
void main() {
    v_b12 = in_b12;
    v_tri = in_tri;
    gl_Position = vec4(in_px / size * 2.0 - 1.0, 0.0, 1.0);
}
"""
_FRAGMENT_SHADER = """
#version 330
in vec2 v_b12;
flat in int v_tri;
layout(location = 0) out int out_tri;
layout(location = 1) out vec2 out_b12;
void main() {
    out_tri = v_tri + 1;
    out_b12 = v_b12;
}
"""


def _rasterize_material_gl(model, m: int, resolution: int) -> MaterialRaster:
    from ..gl import context, draw_once

    name, u0, tiles, (h, w), px, tri_ids = _pixel_triangles(model, m, resolution)
    ctx = context()
    n = len(tri_ids)
    data = np.zeros(n * 3, dtype=[("px", "f4", 2), ("b12", "f4", 2), ("tri", "i4")])
    data["px"] = px.reshape(-1, 2)
    data["b12"] = np.tile(np.array([[0, 0], [1, 0], [0, 1]], np.float32), (n, 1))
    data["tri"] = np.repeat(tri_ids.astype(np.int32), 3)  # global ids: no remapping after read-back
    prog = ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
    prog["size"].value = (float(w), float(h))
    vbo = ctx.buffer(data.tobytes())
    vao = ctx.vertex_array(prog, [(vbo, "2f 2f 1i", "in_px", "in_b12", "in_tri")])
    try:
        # GL row 0 is at NDC y = -1, i.e. pixel y in [0, 1): buffer rows are image rows as they are.
        # The clear value 0 gives triangle id -1 and barycentrics 0 where nothing is drawn.
        triangle, bary12 = draw_once(vao, (w, h), [(1, "i4"), (2, "f4")])
    finally:
        for obj in (vao, vbo, prog):
            obj.release()
    triangle -= 1
    return MaterialRaster(name, u0, tiles, triangle, bary12)


def _rasterize_material_rays(model, m: int, resolution: int) -> MaterialRaster:
    import open3d as o3d  # heavy import, only needed on a cache miss without GL

    name, u0, tiles, (h, w), pxy, tri_ids = _pixel_triangles(model, m, resolution)
    px = np.zeros((len(tri_ids) * 3, 3), np.float32)
    px[:, :2] = pxy.reshape(-1, 2)
    faces = np.arange(len(px), dtype=np.uint32).reshape(-1, 3)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(px), o3d.core.Tensor(faces))
    rows, cols = np.mgrid[0:h, 0:w]
    rays = np.zeros((h * w, 6), np.float32)
    rays[:, 0] = cols.ravel() + 0.5
    rays[:, 1] = rows.ravel() + 0.5
    rays[:, 2] = 1.0
    rays[:, 5] = -1.0
    hit = scene.cast_rays(o3d.core.Tensor(rays), nthreads=0)
    prim = hit["primitive_ids"].numpy().astype(np.int64)
    valid = np.isfinite(hit["t_hit"].numpy())
    triangle = np.full(h * w, -1, np.int32)
    triangle[valid] = tri_ids[prim[valid]]
    bary12 = np.where(valid[:, None], hit["primitive_uvs"].numpy(), 0.0).astype(np.float32)
    return MaterialRaster(name, u0, tiles, triangle.reshape(h, w), bary12.reshape(h, w, 2))


def rasterize_uv(
    model, resolution: int, cache_dir: str | Path | None = None, use_cache: bool = True, method: str = "auto"
) -> UVLayout:
    """Rasterize every material of `model` at `resolution` (texels per UV tile for the skin materials).

    method: "gl", "rays" or "auto" (GL when a context can be made). Cached on disk under
    cache_dir/uv/<topology>-<resolution>/ (cache_dir default: paths.cache_root()) and memory-mapped on the
    next call.
    """
    if method not in ("auto", "gl", "rays"):
        raise InputError(f"rasterization method must be auto, gl or rays, not {method!r}")
    if not isinstance(resolution, (int, np.integer)) or resolution < 16 or resolution > 16384:
        raise InputError(f"UV resolution must be an integer in [16, 16384], got {resolution!r}")
    resolution = int(resolution)
    folder = None
    if use_cache:
        folder = uv_cache_dir(cache_dir or None) / f"{model.topology_hash}-{resolution}-v{CACHE_VERSION}"
        layout = _load_cached(folder, model.topology_hash, resolution)
        if layout is not None:
            return layout
    rasterize = _rasterize_material_gl if method == "gl" else _rasterize_material_rays
    if method == "auto":
        from ..gl import GLUnavailable, context

        try:
            context()
            rasterize = _rasterize_material_gl
        except GLUnavailable:
            rasterize = _rasterize_material_rays
    rasters = {model.material_names[m]: rasterize(model, m, resolution) for m in range(len(model.material_names))}
    layout = UVLayout(resolution, model.topology_hash, rasters)
    if folder is not None and _store(folder, layout):
        layout = UVLayout(resolution, model.topology_hash, rasters, cache_folder=folder)
    return layout


def _load_cached(folder: Path, topology: str, resolution: int) -> UVLayout | None:
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        rasters = {}
        for i, (name, spec) in enumerate(meta["materials"].items()):
            tri = np.load(folder / f"{i:02d}.triangle.npy", mmap_mode="r")
            bary = np.load(folder / f"{i:02d}.bary12.npy", mmap_mode="r")
            if tri.shape != tuple(spec["shape"]) or bary.shape != tuple(spec["shape"]) + (2,):
                return None
            rasters[name] = MaterialRaster(name, spec["tile_u0"], spec["tiles"], tri, bary)
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None  # a damaged cache is rebuilt, never trusted
    return UVLayout(resolution, topology, rasters, cache_folder=folder)


def _store(folder: Path, layout: UVLayout) -> bool:
    """Write the cache through a staged folder: readers never see half a cache."""
    try:
        with staged_dir(folder) as tmp:
            meta = {"materials": {}, "resolution": layout.resolution, "topology": layout.topology}
            for i, (name, r) in enumerate(layout.materials.items()):
                np.save(tmp / f"{i:02d}.triangle.npy", r.triangle)
                np.save(tmp / f"{i:02d}.bary12.npy", r.bary12)
                meta["materials"][name] = {"tile_u0": r.tile_u0, "tiles": r.tiles, "shape": list(r.shape)}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    except OSError:
        return False  # an unwritable cache only costs speed
    return True
