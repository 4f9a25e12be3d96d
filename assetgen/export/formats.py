"""Export formats by name, and what the non-glTF writers share.

FORMATS maps a format name to exporter(asset, out_dir, stem) -> list of written paths; every exporter
writes STEM.<ext> (plus textures) and the ground-truth sidecar STEM.gt.json beside it.

The mesh is written the way the GLB writes it: one mesh per material that has triangles, in the model's
material order, vertices split per (vertex, uv) corner pair in first-occurrence order. So the sidecar's
[primitive, vertex] landmark indices and per-triangle regions hold for the USD meshes and the OBJ groups
too (primitive p = the p-th mesh / group; vertex v = its v-th vertex).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import InputError
from ..io import atomic_write_bytes
from .glb import (
    GlbExport,
    GlbPrimitive,
    _material_primitive,
    _safe_normals,
    _tiles,
    encode_png,
    world_positions,
)
from .groundtruth import ground_truth, write_ground_truth


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
    model = asset.model
    positions = world_positions(asset)
    normals = _safe_normals(model.vertex_normals(np.asarray(asset.vertices, dtype=np.float32)))
    parts = []
    for m, name in enumerate(model.material_names):
        tri_ids = np.flatnonzero(model.triangle_material == m).astype(np.int64)
        if not len(tri_ids):
            continue
        if name not in asset.textures.materials:
            raise InputError(f"asset {asset.name!r}: no textures for material {name}")
        prim, indices = _material_primitive(model, m, tri_ids)
        u0, tiles = _tiles(model, m, name, None)
        uv = np.asarray(model.mesh.uvs, dtype=np.float64)[prim.source_uv]
        st = np.clip(np.stack([(uv[:, 0] - u0) / tiles, uv[:, 1]], axis=1), 0.0, 1.0).astype(np.float32)
        parts.append(MeshPart(name, prim, positions[prim.source_vertex], normals[prim.source_vertex], st, indices))
    if not parts:
        raise InputError(f"asset {asset.name!r} has no triangles to export")
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


def write_sidecar(asset, path: Path, parts: list[MeshPart], fmt: str) -> Path:
    gt = ground_truth(asset, GlbExport(path=path, primitives=tuple(p.primitive for p in parts)))
    gt["file"] = path.name
    gt["export_format"] = fmt
    gt_path = path.parent / f"{path.name.rsplit('.', 1)[0]}.gt.json"
    write_ground_truth(gt_path, gt)
    return gt_path


def export_glb_with_sidecar(asset, out_dir: Path, stem: str) -> list[Path]:
    from .glb import export_glb

    path = Path(out_dir) / f"{stem}.glb"
    glb = export_glb(asset, path)
    gt = ground_truth(asset, glb)
    gt["file"] = path.name
    gt["export_format"] = "glb"
    gt_path = Path(out_dir) / f"{stem}.gt.json"
    write_ground_truth(gt_path, gt)
    return [path, gt_path]


def _usd(fmt: str) -> Callable:
    def run(asset, out_dir: Path, stem: str) -> list[Path]:
        from .usd import export_usd

        return export_usd(asset, out_dir, stem, fmt=fmt)

    return run


def _obj(asset, out_dir: Path, stem: str) -> list[Path]:
    from .obj import export_obj

    return export_obj(asset, out_dir, stem)


FORMATS: dict[str, Callable[..., list[Path]]] = {
    "glb": export_glb_with_sidecar,
    "usd": _usd("usda"),
    "usda": _usd("usda"),
    "usdc": _usd("usdc"),
    "usdz": _usd("usdz"),
    "obj": _obj,
    # blend-script is a whole-selection format (GLBs + one scene.py): see export_selection.
}
SELECTION_FORMATS = ("blend-script",)


def export_selection(assets, fmt: str, out_dir: str | Path) -> list[Path]:
    """Export (stem, asset) pairs (an iterable; assets are produced one at a time) in `fmt` into out_dir."""
    from ..io import ensure_dir

    if fmt not in FORMATS and fmt not in SELECTION_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; known: {', '.join([*FORMATS, *SELECTION_FORMATS])}")
    out = ensure_dir(out_dir)
    written: list[Path] = []
    if fmt == "blend-script":
        from .blender import write_scene_script

        glbs = []
        for stem, asset in assets:
            files = export_glb_with_sidecar(asset, out, stem)
            written += files
            glbs.append(files[0].name)
        written.append(write_scene_script(out, glbs))
        return written
    for stem, asset in assets:
        written += FORMATS[fmt](asset, out, stem)
    return written
