"""What the non-glTF writers (OBJ, USD) share: the mesh per material and the texture files.

The mesh is the GLB's (uv/topology.py): one part per material that has triangles, in the model's
material order, vertices split per (vertex, uv) corner pair in first-occurrence order. So the
ground-truth sidecar's [primitive, vertex] landmark indices and per-triangle regions hold for the USD
meshes and the OBJ groups too (primitive p = the p-th mesh / group; vertex v = its v-th vertex).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..geometry import safe_normals, world_positions
from ..io import atomic_write_bytes
from ..png import encode_png
from ..uv.raster import udim_texcoords
from ..uv.topology import GlbPrimitive, topology_of


@dataclass(frozen=True, eq=False)
class MeshPart:
    """One material's mesh: positions (n, 3) float32 metres, normals (n, 3), st (n, 2) float32 texture
    coordinates with v UP (OBJ/USD convention; image row 0 = v 1), indices (t, 3) int64."""

    material: str
    primitive: GlbPrimitive
    positions: np.ndarray
    normals: np.ndarray
    st: np.ndarray
    indices: np.ndarray


def mesh_parts(asset) -> list[MeshPart]:
    """The asset's MeshParts in primitive order. Raises InputError when a material with triangles has
    no textures, or when nothing has triangles."""
    model = asset.model
    topo = topology_of(model)
    if not topo.parts:
        raise InputError(f"asset {asset.name!r} has no triangles to export")
    missing = [part.name for part in topo.parts if part.name not in asset.textures.materials]
    if missing:
        raise InputError(f"asset {asset.name!r}: no textures for material(s) {', '.join(missing)}")
    positions = world_positions(asset)
    normals = safe_normals(model.vertex_normals(np.asarray(asset.vertices, dtype=np.float32)))
    parts = []
    for part in topo.parts:
        prim = part.primitive
        st = np.clip(udim_texcoords(part.model_uv, *part.model_tiles, v_up=True), 0.0, 1.0).astype(np.float32)
        parts.append(MeshPart(part.name, prim, positions[prim.source_vertex], normals[prim.source_vertex], st, part.indices))
    return parts


def texture_files(asset, folder: Path, prefix: str = "") -> dict[str, dict[str, Path]]:
    """Write each material's base colour (sRGB; RGBA when blended/masked), roughness (grey) and normal map
    as PNGs in `folder`; returns material -> {"base_color", "roughness", "normal"} -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict[str, Path]] = {}
    for name, tex in asset.textures.materials.items():
        blended = tex.alpha_mode != "OPAQUE" and tex.base_color.shape[2] == 4
        images = {"base_color": tex.base_color if blended else tex.base_color[..., :3],
                  "roughness": tex.roughness, "normal": tex.normal}
        out[name] = {}
        for kind, img in images.items():
            path = folder / f"{prefix}{name}_{kind}.png"
            atomic_write_bytes(path, encode_png(img))
            out[name][kind] = path
    return out
