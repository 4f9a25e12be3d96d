"""Build the compact face-model folder from a clone of the public ICT-FaceKit repository.

The public repository ships one full OBJ per shape (FaceXModel/generic_neutral_mesh.obj, identity000.obj ...
identity099.obj, and one OBJ per expression such as jawOpen.obj), about 400 MB of text. All of them share the
neutral's topology, so the compact folder keeps the neutral OBJ as is and stores every other shape as a
float32 offset from it in one compressed npz (see shared/face-models/ict-facekit/README.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import FaceModelError, OutputError
from . import ict
from .model import load_face_model
from .obj import read_obj

FACEX_FOLDER = "FaceXModel"
README = "README.md"
# Files an importer may find in a folder it is about to replace: anything else there means the user
# pointed --out at a folder that is not ours, and we refuse rather than delete their files.
COMPACT_FILES = frozenset(ict.REQUIRED_FILES + (ict.MATERIAL_MTL, ict.LICENSE, README))

_IDENTITY_RE = re.compile(r"^identity(\d+)\.obj$")
_GET_REPO_HINT = (
    f"clone {ict.PUBLIC_REPOSITORY} (git clone --depth 1 {ict.PUBLIC_REPOSITORY}.git) and pass the clone's "
    "folder, or run `assetgen face-model fetch` to download it"
)

# progress(done, total, what): called after each OBJ is read.
Progress = Callable[[int, int, str], None]


# ---- reading OBJ positions ------------------------------------------------------------------
def read_positions(path: Path) -> np.ndarray:
    """The `v` lines of an OBJ as (V, 3) float64.

    One bytes read, one split, one vectorized float conversion. float64 on purpose: the published files
    hold 6 significant digits, and subtracting in float64 before rounding to float32 reproduces the shared
    compact folder bit for bit.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FaceModelError(f"cannot read OBJ {path}: {exc.strerror or exc}") from exc
    if data.startswith(b"version https://git-lfs"):
        raise FaceModelError(
            f"{path} is a Git LFS pointer, not the mesh; run `git lfs pull` in the clone or download the archive"
        )
    rows = [line[2:] for line in data.split(b"\n") if line.startswith((b"v ", b"v\t"))]
    if not rows:
        raise FaceModelError(f"OBJ {path} has no vertex ('v') lines; the file is empty, truncated or not an OBJ")
    tokens = b" ".join(rows).split()
    if len(tokens) != 3 * len(rows):
        # Optional w or per-vertex colours would give more tokens; the ICT files never have them, and a
        # line cut short by truncation gives fewer. Either way, the slow exact path names the line.
        return _read_positions_per_line(path, rows)
    try:
        arr = np.array(tokens).astype(np.float64).reshape(-1, 3)
    except ValueError as exc:
        raise FaceModelError(f"OBJ {path} has a malformed 'v' line ({exc}); the file is corrupt") from exc
    return arr


def _read_positions_per_line(path: Path, rows: list[bytes]) -> np.ndarray:
    out = np.empty((len(rows), 3), dtype=np.float64)
    for i, row in enumerate(rows):
        parts = row.split()
        try:
            if len(parts) < 3:
                raise ValueError("fewer than 3 coordinates")
            out[i] = [float(p) for p in parts[:3]]
        except ValueError as exc:
            text = row.decode("utf-8", "replace").strip()
            raise FaceModelError(
                f"OBJ {path}: vertex {i + 1} ('v {text}') is malformed ({exc}); the file is truncated or corrupt"
            ) from exc
    return out


# ---- the clone's layout -------------------------------------------------------------------------
def find_facex_folder(clone_dir: str | Path) -> Path:
    """The folder holding generic_neutral_mesh.obj: CLONE/FaceXModel, or CLONE itself if it is that folder."""
    clone_dir = Path(clone_dir).expanduser()
    if not clone_dir.is_dir():
        raise FaceModelError(f"ICT-FaceKit clone {clone_dir} does not exist; {_GET_REPO_HINT}")
    for folder in (clone_dir / FACEX_FOLDER, clone_dir):
        if (folder / ict.NEUTRAL_OBJ).is_file():
            return folder
    raise FaceModelError(
        f"{clone_dir} is not an ICT-FaceKit clone: no {FACEX_FOLDER}/{ict.NEUTRAL_OBJ} in it; {_GET_REPO_HINT}"
    )


def list_morph_targets(facex: Path) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]]]:
    """(identity, expression) lists of (name, path). Identities in number order and required to be
    numbered 0..N-1 without gaps (a gap means an incomplete clone); expressions are every other OBJ,
    sorted by name (code-point order, as in the shared folder: PupilDilate_L before browDown_L)."""
    identities: dict[int, Path] = {}
    expressions: list[tuple[str, Path]] = []
    for path in facex.iterdir():
        if path.suffix != ".obj" or path.name == ict.NEUTRAL_OBJ or not path.is_file():
            continue
        m = _IDENTITY_RE.match(path.name)
        if m:
            identities[int(m.group(1))] = path
        else:
            expressions.append((path.stem, path))
    if not identities:
        raise FaceModelError(f"{facex} holds no identityNNN.obj files; the clone is incomplete. {_GET_REPO_HINT}")
    missing = sorted(set(range(max(identities) + 1)) - set(identities))
    if missing:
        raise FaceModelError(
            f"{facex}: identity{missing[0]:03d}.obj is missing ({len(missing)} identity files in all); "
            "the clone is incomplete. Re-clone or re-download the repository"
        )
    if not expressions:
        raise FaceModelError(f"{facex} holds no expression OBJs (e.g. jawOpen.obj); the clone is incomplete")
    id_list = [(identities[i].stem, identities[i]) for i in sorted(identities)]
    return id_list, sorted(expressions)


# ---- landmark and segment tables ---------------------------------------------------------------
def _packaged_text(name: str) -> str:
    return resources.files("assetgen").joinpath("data", name).read_text(encoding="utf-8")


def _load_table(value: Mapping | str | Path | None, found: list[Path], packaged: str, what: str) -> dict:
    """An explicit mapping or JSON path wins; else the first existing file in `found`; else package data."""
    if isinstance(value, Mapping):
        return json.loads(json.dumps(value))  # a deep, JSON-clean copy
    try:
        if value is not None:
            return json.loads(Path(value).read_text(encoding="utf-8"))
        for path in found:
            if path.is_file():
                return json.loads(path.read_text(encoding="utf-8"))
        return json.loads(_packaged_text(packaged))
    except (OSError, json.JSONDecodeError) as exc:
        raise FaceModelError(f"cannot read the {what} table ({exc}); pass a valid JSON file") from exc


def _check_landmarks(landmarks: Any, n_vertices: int) -> None:
    if not isinstance(landmarks, dict) or "multi_pie_68" not in landmarks:
        raise FaceModelError("the landmarks table must be a JSON object with a 'multi_pie_68' list")
    for name, idx in landmarks.items():
        if not isinstance(idx, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in idx):
            raise FaceModelError(f"landmarks '{name}' must be a list of integer vertex indices")
        bad = [i for i in idx if not 0 <= i < n_vertices]
        if bad:
            raise FaceModelError(
                f"landmarks '{name}' refers to vertex {bad[0]}, but the neutral mesh has {n_vertices} vertices; "
                "the landmark table does not belong to this mesh"
            )
    if len(landmarks["multi_pie_68"]) != 68:
        raise FaceModelError(f"landmarks 'multi_pie_68' lists {len(landmarks['multi_pie_68'])} indices, expected 68")


def _check_segments(segments: Any, n_vertices: int, n_polygons: int) -> None:
    if not isinstance(segments, dict) or not isinstance(segments.get("geometry"), dict):
        raise FaceModelError("the segments table must be a JSON object with a 'geometry' section")
    limits = {"vertices": n_vertices, "polygons": n_polygons}

    def walk(node: Any, where: str) -> None:
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key in limits:
                ok = (
                    isinstance(value, list)
                    and len(value) == 2
                    and all(isinstance(i, int) for i in value)
                    and 0 <= value[0] <= value[1] < limits[key]
                )
                if not ok:
                    raise FaceModelError(
                        f"segments '{where}' {key} range {value!r} does not fit the neutral mesh "
                        f"({limits[key]} {key}); the segment table does not belong to this mesh"
                    )
            else:
                walk(value, f"{where}/{key}" if where else key)

    walk(segments, "")


# ---- output ---------------------------------------------------------------------------------
def _readme(source: str, n_vertices: int, id_names: list[str], ex_names: list[str]) -> str:
    return (
        "# ICT Face Model Light (ICT-FaceKit), compact form\n\n"
        f"Imported by assetgen from {source}.\n"
        f"{len(id_names)} identity shape modes and {len(ex_names)} expression shapes on one topology of "
        f"{n_vertices:,} vertices. Released by USC ICT under the MIT license (see LICENSE).\n\n"
        "| file | what it holds |\n|---|---|\n"
        f"| {ict.NEUTRAL_OBJ}, {ict.MATERIAL_MTL} | the neutral mesh as published |\n"
        f"| {ict.SHAPE_MODES} | `identity` (I, V, 3) and `expression` (E, V, 3) float32: each published "
        "morph-target OBJ's vertex positions minus the neutral's; `identity_names`, `expression_names` |\n"
        f"| {ict.LANDMARKS} | 0-indexed landmark vertex indices (Multi-PIE 68 and jawline variants) |\n"
        f"| {ict.SEGMENTS} | inclusive [first, last] vertex and polygon ranges per part |\n\n"
        "Model: vertices = neutral + sum_i w_id[i] * identity[i] + sum_j w_ex[j] * expression[j] (cm).\n"
    )


def _check_replaceable(out_dir: Path) -> None:
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise OutputError(f"{out_dir} exists and is not a folder; choose another output folder")
    if out_dir.is_dir():
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in COMPACT_FILES)
        if foreign:
            raise OutputError(
                f"refusing to replace {out_dir}: it holds files that are not part of a face-model folder "
                f"({', '.join(foreign[:3])}); choose an empty or new output folder"
            )


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename the finished folder onto out_dir. An existing folder is moved aside first and only deleted
    once the new one is in place, so a failure at any point leaves one complete model at out_dir."""
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.rmdir(old)
        os.rename(out_dir, old)
    try:
        os.rename(tmp, out_dir)
    except OSError:
        if old is not None:
            os.rename(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def import_ict_facekit(
    clone_dir: str | Path,
    out_dir: str | Path,
    *,
    progress: Progress | None = None,
    landmarks: Mapping | str | Path | None = None,
    segments: Mapping | str | Path | None = None,
) -> Path:
    """Build the compact face-model folder at `out_dir` from an ICT-FaceKit clone (or its FaceXModel folder).

    landmarks / segments: a mapping or JSON file in the compact folder's format; by default a
    landmarks.json / segments.json in the clone (FaceXModel/ or its root), else the tables shipped with
    assetgen (transcribed from the source README). Either way they are checked against the mesh.
    Returns out_dir. Raises FaceModelError for a bad clone (nothing is written) and OutputError when
    out_dir cannot be written.
    """
    facex = find_facex_folder(clone_dir)
    root = facex.parent if facex.name == FACEX_FOLDER else facex
    out_dir = Path(out_dir).expanduser().absolute()
    _check_replaceable(out_dir)
    identities, expressions = list_morph_targets(facex)

    # The full reader validates faces, UVs and materials of the neutral, and gives the polygon count.
    mesh = read_obj(facex / ict.NEUTRAL_OBJ)
    n_vertices = mesh.vertices.shape[0]
    lm = _load_table(landmarks, [facex / ict.LANDMARKS, root / ict.LANDMARKS], "ict_landmarks.json", "landmarks")
    seg = _load_table(segments, [facex / ict.SEGMENTS, root / ict.SEGMENTS], "ict_segments.json", "segments")
    _check_landmarks(lm, n_vertices)
    _check_segments(seg, n_vertices, mesh.n_polygons)

    neutral = read_positions(facex / ict.NEUTRAL_OBJ)
    total = len(identities) + len(expressions)
    done = 0

    def deltas(targets: list[tuple[str, Path]]) -> np.ndarray:
        nonlocal done
        out = np.empty((len(targets), n_vertices, 3), dtype=np.float32)
        for k, (name, path) in enumerate(targets):
            pos = read_positions(path)
            if pos.shape[0] != n_vertices:
                raise FaceModelError(
                    f"{path} has {pos.shape[0]} vertices but {ict.NEUTRAL_OBJ} has {n_vertices}; every morph "
                    "target must share the neutral's topology (the file is truncated or from another model)"
                )
            delta = pos - neutral
            if not np.isfinite(delta).all():
                raise FaceModelError(f"{path} holds non-finite coordinates (nan or inf); the file is corrupt")
            out[k] = delta
            done += 1
            if progress is not None:
                progress(done, total, name)
        return out

    identity = deltas(identities)
    expression = deltas(expressions)

    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    except OSError as exc:
        reason = exc.strerror or exc
        raise OutputError(f"cannot write beside {out_dir}: {reason}; choose another output folder") from exc
    try:
        _write_folder(
            tmp, facex, root, identity, expression, [n for n, _ in identities], [n for n, _ in expressions], lm, seg
        )
        load_face_model(tmp)  # what we hand over must load; fail here rather than at first use
        _swap_into_place(tmp, out_dir)
    except OSError as exc:
        raise OutputError(f"cannot write the face model to {out_dir}: {exc.strerror or exc}") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _write_folder(tmp, facex, root, identity, expression, id_names, ex_names, lm, seg) -> None:
    shutil.copyfile(facex / ict.NEUTRAL_OBJ, tmp / ict.NEUTRAL_OBJ)
    mtl = facex / ict.MATERIAL_MTL
    if mtl.is_file():
        shutil.copyfile(mtl, tmp / ict.MATERIAL_MTL)
    else:
        (tmp / ict.MATERIAL_MTL).write_text(_packaged_text(ict.MATERIAL_MTL), encoding="utf-8")
    license_file = root / "LICENSE"
    if license_file.is_file():
        shutil.copyfile(license_file, tmp / ict.LICENSE)
    else:
        (tmp / ict.LICENSE).write_text(_packaged_text("ICT-FaceKit-LICENSE"), encoding="utf-8")
    with open(tmp / ict.SHAPE_MODES, "wb") as fh:
        # Unicode name arrays, never object arrays: the loader uses allow_pickle=False.
        np.savez_compressed(
            fh,
            identity=identity,
            expression=expression,
            identity_names=np.array(id_names, dtype=str),
            expression_names=np.array(ex_names, dtype=str),
        )
        fh.flush()
        os.fsync(fh.fileno())
    for name, table in ((ict.LANDMARKS, lm), (ict.SEGMENTS, seg)):
        # Same layout as the shared folder (indent 1, no trailing newline), so equal tables give equal bytes.
        (tmp / name).write_text(json.dumps(table, indent=1), encoding="utf-8")
    source = str(root)
    (tmp / README).write_text(_readme(source, identity.shape[1], id_names, ex_names), encoding="utf-8")
    with contextlib.suppress(OSError):
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; a model folder is ordinary data
