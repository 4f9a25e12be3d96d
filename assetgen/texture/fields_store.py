"""The per-layout texture fields (fields.LayoutFields), computed once and kept in process and on disk.

layout_fields() looks in an in-process cache, then in the layout's cache folder, and computes the fields
(face_fields + parts.precompute) only when neither has them. On disk they sit next to the UV layout: they
depend on topology + resolution (the layout's cache folder) and on the neutral shape and landmarks
(fields_key, a sub-folder). One .npy file per array, memory-mapped on load, plus meta.json describing the
structure. Written into a temporary sibling folder and renamed, so readers never see half a cache. On load
every file's shape and dtype are checked against meta.json and against what the layout implies; anything
missing, unreadable or inconsistent makes load() return None and the fields are recomputed and stored again
(a damaged cache is rebuilt, never trusted). Values are bit-identical to the in-process computation, so
textures do not depend on whether the cache existed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..io import staged_dir
from . import parts
from .face_fields import region_weight_keys, skin_fields
from .fields import NOISE_STEP, SKIN_MATERIALS, Landmarks, LayoutFields, MaterialFields, low_factor

NAME = "texture-fields-v1"  # bump when what the fields contain or how they are computed changes
FORMAT = 1

_CACHE: "OrderedDict[tuple, LayoutFields]" = OrderedDict()
_LOCK = threading.Lock()
CACHE_SIZE = 4


def fields_key(model) -> str:
    """Hash of what the fields depend on besides topology + resolution: the neutral shape and landmarks."""
    h = hashlib.sha1()
    h.update(np.ascontiguousarray(model.neutral, np.float64).tobytes())
    h.update(np.ascontiguousarray(model.landmarks_68, np.int64).tobytes())
    return h.hexdigest()[:16]


def _key(model, layout) -> tuple:
    return (layout.topology, layout.resolution, fields_key(model),
            tuple((k, r.shape) for k, r in layout.materials.items()))


def compute_fields(model, layout) -> LayoutFields:
    """Everything layout-only, computed in process: the skin fields, vertex weights, UV corners and the
    other materials' maps (parts.precompute fills `extra`)."""
    fields = skin_fields(model, layout)
    parts.precompute(model, layout, fields)
    return fields


def layout_fields(model, layout) -> LayoutFields:
    """The per-layout fields: from the in-process cache, else from the layout's on-disk cache folder
    (memory-mapped), else computed (and stored there when the layout has a cache)."""
    key = _key(model, layout)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    folder = layout.derived_cache_path(NAME)
    fields = None
    if folder is not None:
        fields = load(folder / key[2], model, layout)
    if fields is None:
        fields = compute_fields(model, layout)
        if folder is not None:
            store(folder / key[2], fields, model, layout)
    with _LOCK:
        _CACHE[key] = fields
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return fields


def clear_cache() -> None:
    """Forget the fields kept in process (the disk cache stays)."""
    with _LOCK:
        _CACHE.clear()


def _low_shape(shape: tuple[int, int]) -> tuple[int, int]:
    f = low_factor(shape[0])
    o = f // 2
    return len(range(o, shape[0], f)), len(range(o, shape[1], f))


def _flatten(fields: LayoutFields) -> tuple[dict, dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {}
    meta: dict = {"format": FORMAT, "skin": {}, "weights": None, "corner": [], "extra": []}
    for m, mf in fields.skin.items():
        meta["skin"][m] = {"full_shape": list(mf.full_shape), "factor": mf.factor}
        arrays[f"skin.{m}.pos"] = mf.pos
        arrays[f"skin.{m}.region"] = mf.region
        arrays[f"skin.{m}.mask"] = mf.mask
        for k, v in mf.weights.items():
            arrays[f"skin.{m}.w.{k}"] = v
    meta["weights"] = sorted(fields.vertex_weights)
    for k, v in fields.vertex_weights.items():
        arrays[f"vw.{k}"] = v
    for m, (vid, xy) in fields.corner_uv.items():
        meta["corner"].append(m)
        arrays[f"corner.{m}.vid"] = vid
        arrays[f"corner.{m}.xy"] = xy
    for (kind, name), value in fields.extra.items():
        items = value if isinstance(value, tuple) else (value,)
        spec = []
        for i, v in enumerate(items):
            if isinstance(v, np.ndarray):
                arrays[f"extra.{kind}.{name}.{i}"] = v
                spec.append("array")
            elif isinstance(v, float):
                spec.append(float(v))  # json round-trips floats exactly
            else:
                raise TypeError(f"cannot store {type(v).__name__} in the fields cache ({kind}, {name})")
        meta["extra"].append([kind, name, spec, isinstance(value, tuple)])
    meta["files"] = {k: [list(a.shape), a.dtype.str] for k, a in arrays.items()}
    return meta, arrays


def store(folder: Path, fields: LayoutFields, model, layout) -> bool:
    """Write `fields` to `folder` atomically (io.staged_dir: replaces a damaged copy). False when it could not."""
    try:
        meta, arrays = _flatten(fields)
        with staged_dir(folder) as tmp:
            for k, a in arrays.items():
                np.save(tmp / f"{k}.npy", np.ascontiguousarray(a))
            (tmp / "meta.json").write_text(json.dumps(meta))
        return folder.is_dir()
    except (OSError, TypeError):
        return False  # an unwritable cache only costs speed


def _expected(name: str, layout, n_vertices: int) -> tuple[tuple | None, str | None]:
    """(shape, dtype) a stored array must have, from the layout alone (None: not checked)."""
    parts = name.split(".")
    if parts[0] == "skin":
        low = _low_shape(layout[parts[1]].shape)
        return {"pos": (low + (3,), "<f4"), "region": (low, "|u1"), "mask": (low, "|b1")}.get(
            parts[2], (low, "<f4"))
    if parts[0] == "vw":
        return (n_vertices,), "<f4"
    if parts[0] == "corner":
        return None, ("<f4" if parts[2] == "xy" else None)
    if parts[0] == "extra":
        kind, mat = parts[1], parts[2]
        shape = tuple(layout[mat].shape)
        if kind == "noise_pos":
            return (len(range(0, shape[0], NOISE_STEP)), len(range(0, shape[1], NOISE_STEP)), 3), "<f4"
        return shape, None
    return None, None


def load(folder: Path, model, layout) -> LayoutFields | None:
    """The stored fields (arrays memory-mapped, read-only), or None when absent or not valid."""
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != FORMAT:
            return None
        n_v = len(model.neutral)
        arrays = {}
        for k, (shape, dtype) in meta["files"].items():
            a = np.load(folder / f"{k}.npy", mmap_mode="r", allow_pickle=False)
            if a.shape != tuple(shape) or a.dtype.str != dtype:
                return None
            want_shape, want_dtype = _expected(k, layout, n_v)
            if (want_shape is not None and a.shape != want_shape) or (want_dtype is not None and a.dtype.str != want_dtype):
                return None
            arrays[k] = a
        weight_keys = list(meta["weights"])
        if sorted(weight_keys) != sorted(region_weight_keys()):
            return None
        skin = {}
        if set(meta["skin"]) != {m for m in SKIN_MATERIALS if m in layout.materials}:
            return None
        for m, spec in meta["skin"].items():
            if tuple(spec["full_shape"]) != tuple(layout[m].shape) or spec["factor"] != low_factor(layout[m].shape[0]):
                return None
            weights = {k: arrays[f"skin.{m}.w.{k}"] for k in weight_keys}
            skin[m] = MaterialFields(tuple(spec["full_shape"]), int(spec["factor"]), arrays[f"skin.{m}.pos"],
                                     arrays[f"skin.{m}.region"], arrays[f"skin.{m}.mask"], weights)
        vertex_weights = {k: arrays[f"vw.{k}"] for k in weight_keys}
        if set(meta["corner"]) != set(layout.materials):
            return None
        corner = {}
        for m in meta["corner"]:
            vid, xy = arrays[f"corner.{m}.vid"], arrays[f"corner.{m}.xy"]
            if vid.ndim != 1 or xy.shape != (len(vid), 2) or vid.dtype.kind not in "iu":
                return None
            if len(vid) and (int(vid.min()) < 0 or int(vid.max()) >= n_v):
                return None
            corner[m] = (vid, xy)
        extra = {}
        for kind, name, spec, is_tuple in meta["extra"]:
            items = tuple(arrays[f"extra.{kind}.{name}.{i}"] if s == "array" else float(s) for i, s in enumerate(spec))
            extra[(kind, name)] = items if is_tuple else items[0]
        if set(extra) != parts.expected_keys(layout):
            return None
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None  # a damaged cache is rebuilt, never trusted
    lm = Landmarks(np.asarray(model.neutral[model.landmarks_68], np.float32))
    return LayoutFields(skin, lm, vertex_weights, corner, extra)
