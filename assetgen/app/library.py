"""The library tab's wiring: save, list with filters, open, new version. All library calls are here.

Uses assetgen.library's public API: Library.open(root), put(asset, tags=, parent=), query(filters),
record(id), load(id), and assetgen.library.mesh.import_mesh (as `assetgen library import`) for meshes. When the library package is not importable the tab says so (library_available).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import AssetgenError, InputError

_lock = threading.Lock()  # one writer per process; the library itself also locks across processes


def library_available() -> str | None:
    """None when the library package can be used, else why not (shown in the tab)."""
    try:
        from ..library import Library  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import problem means: not available
        return f"The asset library is not available in this build ({type(exc).__name__}: {exc})."
    return None


def _open(root: Path):
    from ..library import Library

    return Library.open(Path(root), create=True)


def parse_labels(text: str) -> dict[str, Any]:
    """'key=value' pairs, one a line or comma-separated; values are JSON when they parse (true, 0.3)."""
    import json

    labels: dict[str, Any] = {}
    for part in re.split(r"[\n,]", text or ""):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise InputError(f"label {part!r} must be key=value")
        k, v = (x.strip() for x in part.split("=", 1))
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}", k):
            raise InputError(f"label key {k!r} must be letters, digits, '_', '.' or '-'")
        try:
            labels[k] = json.loads(v)
        except ValueError:
            labels[k] = v
    return labels


def parse_tags(text: str) -> list[str]:
    tags = [t.strip() for t in re.split(r"[,\s]+", text or "") if t.strip()]
    for t in tags:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", t):
            raise InputError(f"tag {t!r} must be letters, digits, '-' or '_'")
    return sorted(set(tags))


def parse_filters(text: str) -> list[str]:
    """Filter text ('skin_tone=monk_03, lipstick=true, tag=hero') -> the library's KEY<op>VALUE list."""
    out = []
    for part in re.split(r"[\n,]", text or ""):
        part = part.strip()
        if not part:
            continue
        if not re.search(r"(=|!=|>=|<=|>|<)", part):
            raise InputError(f"filter {part!r} must be KEY=VALUE (or !=, >, <, >=, <=), e.g. skin_tone=monk_03")
        out.append(part)
    return out


def save(root: Path, asset, labels_text: str = "", tags_text: str = "", parent: str | None = None) -> str:
    """Store the asset (extra labels merged over its own) and return its id; parent makes a new version."""
    if asset is None:
        raise InputError("nothing to save yet: press \"Generate texture\" first")
    extra = parse_labels(labels_text)
    tags = parse_tags(tags_text)
    asset.labels = {**asset.labels, **extra}
    with _lock:
        lib = _open(root)
        try:
            return lib.put(asset, tags=tags, parent=parent or None).id
        finally:
            lib.close()


MESH_SUFFIXES = (".obj", ".ply", ".glb")
MAX_MESH_BYTES = 20 << 20
MESH_RESOLUTION = 512


def import_mesh(root: Path, path: str | Path, name: str = "", labels_text: str = "", tags_text: str = "",
                max_bytes: int = MAX_MESH_BYTES, resolution: int = MESH_RESOLUTION) -> tuple[str, str]:
    """An uploaded OBJ/PLY/GLB -> a library asset, through the library's own importer (UVs made with
    xatlas when the file has none). Returns (id, name). The file is read and checked completely before
    anything is stored: a broken mesh stores nothing."""
    from ..library.mesh import import_mesh as read_mesh
    from ..library.store import check_name

    p = Path(path) if path else None
    if p is None or not p.is_file():
        raise InputError("upload a mesh first (OBJ, PLY or GLB)")
    if p.suffix.lower() not in MESH_SUFFIXES:
        raise InputError(f"{p.name} is not a mesh this app imports (use {', '.join(MESH_SUFFIXES)})")
    size = p.stat().st_size
    if size > max_bytes:
        raise InputError(f"the mesh upload is {size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB")
    if size == 0:
        raise InputError(f"{p.name} is empty")
    name = (name or "").strip() or re.sub(r"[^A-Za-z0-9_-]+", "_", p.stem).strip("_")[:64] or "mesh"
    check_name(name)
    labels = parse_labels(labels_text)
    tags = parse_tags(tags_text)
    try:
        asset = read_mesh(p, name, resolution=resolution, labels=labels)
    except AssetgenError as exc:
        raise InputError(f"{p.name} could not be imported as a mesh: {str(exc).replace(str(p), p.name)}") from None
    except Exception as exc:  # noqa: BLE001 - a malformed file can break the readers in many ways
        raise InputError(f"{p.name} could not be imported as a mesh ({type(exc).__name__}: {exc})") from None
    if not np.isfinite(np.asarray(asset.vertices)).all():
        raise InputError(f"{p.name} could not be imported as a mesh: its vertices are not all finite numbers")
    with _lock:
        lib = _open(root)
        try:
            return lib.put(asset, tags=tags).id, asset.name
        finally:
            lib.close()


def is_mesh(asset) -> bool:
    """An imported mesh (not a face asset the editor can open)."""
    return bool(getattr(asset.model, "is_imported_mesh", False))


def listing(root: Path, filters_text: str = "", limit: int = 200) -> list[dict[str, Any]]:
    """[{id, name, tags, labels, parent}] of the latest versions matching the filters."""
    where = parse_filters(filters_text)
    if not Path(root).exists():
        return []
    lib = _open(root)
    try:
        out = []
        for asset_id in lib.query(where, limit=limit):
            rec = lib.record(asset_id)
            out.append({"id": rec.id, "name": rec.name, "tags": list(rec.tags), "labels": dict(rec.labels),
                        "parent": rec.parent})
        return out
    finally:
        lib.close()


def thumbnail(root: Path, asset_id: str, cache: Path, size: int = 160) -> Path:
    """A small picture of the asset's face albedo (cached by id: library assets are immutable)."""
    from PIL import Image

    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{asset_id}.png"
    if path.is_file():
        return path
    asset = load(root, asset_id)
    tex = asset.textures.materials.get("M_Face") or next(iter(asset.textures.materials.values()))
    img = Image.fromarray(np.ascontiguousarray(tex.base_color[..., :3])).resize((size, size))
    tmp = path.with_suffix(".tmp.png")
    img.save(tmp)
    tmp.replace(path)
    return path


def load(root: Path, asset_id: str):
    """The stored asset (an assetgen Asset; provenance['library'] = {id, parent})."""
    asset_id = str(asset_id or "").strip()
    if not asset_id:
        raise InputError("choose an asset in the gallery (or type its id) first")
    lib = _open(root)
    try:
        return lib.load(lib.resolve(asset_id))
    finally:
        lib.close()


def explain(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, AssetgenError) else f"{type(exc).__name__}: {exc}"


def gallery_items(root: Path, entries: Sequence[dict[str, Any]], cache: Path) -> list[tuple[str, str]]:
    items = []
    for e in entries:
        try:
            items.append((str(thumbnail(root, e["id"], cache)), f"{e['name']} · {e['id'][:8]}"))
        except AssetgenError:
            continue  # an asset made with another face model: listed by id, no picture
    return items
