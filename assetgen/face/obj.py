"""Minimal, fast reader for the Wavefront OBJ subset the face models use (v, vt, f, usemtl)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FaceModelError


@dataclass(frozen=True)
class ObjMesh:
    """Polygon mesh as stored in an OBJ file, 0-indexed.

    vertices: (V, 3) float32; uvs: (T, 2) float32;
    poly_vertex / poly_uv: (C,) int32 corner indices of all polygons back to back;
    poly_offset: (P + 1,) int64, polygon p owns corners poly_offset[p]:poly_offset[p + 1];
    poly_material: (P,) int32 index into material_names.
    """

    vertices: np.ndarray
    uvs: np.ndarray
    poly_vertex: np.ndarray
    poly_uv: np.ndarray
    poly_offset: np.ndarray
    poly_material: np.ndarray
    material_names: tuple[str, ...]

    @property
    def n_polygons(self) -> int:
        return len(self.poly_offset) - 1


def read_obj_vertices(path: Path) -> np.ndarray:
    """Only the `v` lines of an OBJ as (V, 3) float32 (morph-target OBJs share topology)."""
    rows = []
    try:
        with open(path, encoding="utf-8", errors="strict") as fh:
            for line in fh:
                if line.startswith("v "):
                    rows.append(line[2:])
    except (OSError, UnicodeDecodeError) as exc:
        raise FaceModelError(f"cannot read OBJ {path}: {exc}") from exc
    try:
        arr = np.array([r.split()[:3] for r in rows], dtype=np.float32)
    except ValueError as exc:
        raise FaceModelError(f"OBJ {path} has a malformed 'v' line: {exc}") from exc
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] != 3:
        raise FaceModelError(f"OBJ {path} has no vertices")
    return arr


def read_obj(path: Path) -> ObjMesh:
    """Read positions, UVs and polygons (with their material groups) of an OBJ file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FaceModelError(f"cannot read OBJ {path}: {exc}") from exc
    v_rows, vt_rows = [], []
    corners_v, corners_t, offsets, poly_mat = [], [], [0], []
    materials: dict[str, int] = {}
    current = -1
    try:
        for lineno, line in enumerate(text.splitlines(), 1):
            if line.startswith("v "):
                v_rows.append(line[2:].split()[:3])
            elif line.startswith("vt "):
                vt_rows.append(line[3:].split()[:2])
            elif line.startswith("f "):
                for token in line[2:].split():
                    parts = token.split("/")
                    corners_v.append(int(parts[0]))
                    corners_t.append(int(parts[1]) if len(parts) > 1 and parts[1] else 0)
                offsets.append(len(corners_v))
                if current < 0:
                    current = materials.setdefault("default", len(materials))
                poly_mat.append(current)
            elif line.startswith("usemtl"):
                name = line.split(maxsplit=1)[1].strip() if len(line.split()) > 1 else "default"
                current = materials.setdefault(name, len(materials))
    except (ValueError, IndexError) as exc:
        raise FaceModelError(f"OBJ {path} line {lineno} is malformed: {line!r}") from exc
    try:
        vertices = np.array(v_rows, dtype=np.float32).reshape(-1, 3)
        uvs = np.array(vt_rows, dtype=np.float32).reshape(-1, 2)
    except ValueError as exc:
        raise FaceModelError(f"OBJ {path} has malformed 'v' or 'vt' lines") from exc
    pv = np.asarray(corners_v, dtype=np.int64)
    pt = np.asarray(corners_t, dtype=np.int64)
    # OBJ allows negative (relative) indices; resolve them, then go 0-based.
    pv = np.where(pv < 0, pv + len(vertices) + 1, pv) - 1
    pt = np.where(pt < 0, pt + len(uvs) + 1, pt) - 1
    if len(vertices) == 0 or len(offsets) < 2:
        raise FaceModelError(f"OBJ {path} has no vertices or no faces")
    if pv.min() < 0 or pv.max() >= len(vertices):
        raise FaceModelError(f"OBJ {path}: a face refers to a vertex that does not exist")
    if len(uvs) and (pt.max() >= len(uvs)):
        raise FaceModelError(f"OBJ {path}: a face refers to a texture coordinate that does not exist")
    if not np.isfinite(vertices).all() or not np.isfinite(uvs).all():
        raise FaceModelError(f"OBJ {path} holds non-finite coordinates")
    return ObjMesh(
        vertices=vertices,
        uvs=uvs,
        poly_vertex=pv.astype(np.int32),
        poly_uv=pt.astype(np.int32),
        poly_offset=np.asarray(offsets, dtype=np.int64),
        poly_material=np.asarray(poly_mat, dtype=np.int32),
        material_names=tuple(materials),
    )
