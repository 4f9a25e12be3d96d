"""Minimal, strict reader for the Wavefront OBJ subset the face models and mesh imports use (v, vt, f,
usemtl). Problems are one-line errors naming the file and line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AssetgenError, FaceModelError


@dataclass(frozen=True)
class ObjMesh:
    """Polygon mesh as stored in an OBJ file, 0-indexed.

    vertices: (V, 3) float32; uvs: (T, 2) float32;
    poly_vertex / poly_uv: (C,) int32 corner indices of all polygons back to back (poly_uv is -1 for
    every corner when no face has texture coordinates);
    poly_offset: (P + 1,) int64, polygon p owns corners poly_offset[p]:poly_offset[p + 1];
    poly_material: (P,) int32 index into material_names; poly_line: (P,) int64 line of each polygon.
    """

    vertices: np.ndarray
    uvs: np.ndarray
    poly_vertex: np.ndarray
    poly_uv: np.ndarray
    poly_offset: np.ndarray
    poly_material: np.ndarray
    material_names: tuple[str, ...]
    poly_line: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n_polygons(self) -> int:
        return len(self.poly_offset) - 1

    @property
    def has_uvs(self) -> bool:
        return bool(len(self.poly_uv)) and int(self.poly_uv.min()) >= 0


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


def _text(path: Path, error: type[AssetgenError]) -> str:
    """The file as text; a binary or non-UTF-8 file is a one-line error."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read OBJ {path}: {exc.strerror or exc}") from exc
    nul = data.find(b"\0")
    if nul >= 0:
        raise error(f"OBJ {path} is not a text file (a zero byte at offset {nul}); export the mesh as a text OBJ")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"OBJ {path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                    "save it as UTF-8") from exc


def _floats(rows: list[list[str]], lines: list[int], width: int, what: str, path: Path,
            error: type[AssetgenError]) -> np.ndarray:
    """(N, width) float32 of the rows; the first malformed or non-finite row is named by its line."""
    try:
        with np.errstate(over="ignore"):
            out = np.array(rows, dtype=np.float32).reshape(-1, width)
    except (ValueError, OverflowError):
        for row, line in zip(rows, lines):
            try:
                np.array(row, dtype=np.float64).reshape(width)
            except ValueError as exc:
                raise error(f"OBJ {path} line {line}: malformed '{what}' line ({' '.join(row)!r})") from exc
        raise
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        noun = "vertex" if what == "v" else "texture coordinate"
        raise error(f"OBJ {path} line {lines[i]}: {noun} {i + 1} is not finite ({' '.join(rows[i])}); "
                    "fix or remove it")
    return out


def read_obj(path: Path, error: type[AssetgenError] = FaceModelError) -> ObjMesh:
    """Read positions, UVs and polygons (with their material groups) of an OBJ file.

    Relative (negative) indices count back from the vertices defined before their line, as OBJ says.
    Every index must name an existing vertex / texture coordinate; faces either all have texture
    coordinates or none does; every coordinate is finite. Violations raise `error` naming the line."""
    path = Path(path)
    text = _text(path, error)
    v_rows: list[list[str]] = []
    vt_rows: list[list[str]] = []
    v_lines: list[int] = []
    vt_lines: list[int] = []
    corners_v: list[int] = []
    corners_t: list[int] = []
    offsets, poly_mat, poly_line = [0], [], []
    materials: dict[str, int] = {}
    current = -1
    no_uv_line = uv_line = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        tag = parts[0]
        if tag == "v":
            if len(parts) < 4:
                raise error(f"OBJ {path} line {lineno}: malformed 'v' line ({line.strip()!r}): needs x y z")
            v_rows.append(parts[1:4])
            v_lines.append(lineno)
        elif tag == "vt":
            if len(parts) < 3:
                raise error(f"OBJ {path} line {lineno}: malformed 'vt' line ({line.strip()!r}): needs u v")
            vt_rows.append(parts[1:3])
            vt_lines.append(lineno)
        elif tag == "f":
            if len(parts) < 4:
                raise error(f"OBJ {path} line {lineno}: a face needs at least 3 corners ({line.strip()!r})")
            nv, nt = len(v_rows), len(vt_rows)
            with_uv = 0
            for token in parts[1:]:
                a, _, rest = token.partition("/")
                b = rest.partition("/")[0]
                try:
                    vi = int(a)
                    ti = int(b) if b else 0
                except ValueError as exc:
                    raise error(f"OBJ {path} line {lineno}: malformed face corner {token!r}") from exc
                if vi == 0 or vi < -nv:
                    raise error(f"OBJ {path} line {lineno}: vertex index {vi} does not exist "
                                f"({nv} vertices are defined before this line)")
                if b and (ti == 0 or ti < -nt):
                    raise error(f"OBJ {path} line {lineno}: texture coordinate index {ti} does not exist "
                                f"({nt} are defined before this line)")
                corners_v.append(vi - 1 if vi > 0 else nv + vi)
                corners_t.append((ti - 1 if ti > 0 else nt + ti) if b else -1)
                with_uv += bool(b)
            if with_uv not in (0, len(parts) - 1):
                raise error(f"OBJ {path} line {lineno}: some corners of the face have texture coordinates "
                            "and some do not")
            if with_uv:
                uv_line = uv_line or lineno
            else:
                no_uv_line = no_uv_line or lineno
            offsets.append(len(corners_v))
            if current < 0:
                current = materials.setdefault("default", len(materials))
            poly_mat.append(current)
            poly_line.append(lineno)
        elif tag == "usemtl":
            current = materials.setdefault(parts[1] if len(parts) > 1 else "default", len(materials))
    if not v_rows or len(offsets) < 2:
        raise error(f"OBJ {path} has no vertices or no faces")
    if uv_line and no_uv_line:
        raise error(f"OBJ {path} line {no_uv_line}: the face has no texture coordinates but others (line "
                    f"{uv_line}) do; give every face texture coordinates or none")
    vertices = _floats(v_rows, v_lines, 3, "v", path, error)
    uvs = _floats(vt_rows, vt_lines, 2, "vt", path, error) if vt_rows else np.zeros((0, 2), np.float32)
    pv = np.asarray(corners_v, dtype=np.int64)
    pt = np.asarray(corners_t, dtype=np.int64)
    off = np.asarray(offsets, dtype=np.int64)
    lines = np.asarray(poly_line, dtype=np.int64)
    for idx, count, noun in ((pv, len(vertices), "vertex"), (pt, len(uvs), "texture coordinate")):
        bad = idx >= count
        if bad.any():
            c = int(np.argmax(bad))
            p = int(np.searchsorted(off, c, side="right") - 1)
            raise error(f"OBJ {path} line {lines[p]}: {noun} index {idx[c] + 1} does not exist "
                        f"(the file has {count})")
    return ObjMesh(
        vertices=vertices,
        uvs=uvs,
        poly_vertex=pv.astype(np.int32),
        poly_uv=pt.astype(np.int32),
        poly_offset=off,
        poly_material=np.asarray(poly_mat, dtype=np.int32),
        material_names=tuple(materials),
        poly_line=lines,
    )
