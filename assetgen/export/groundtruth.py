"""The ground-truth sidecar NAME.gt.json of a GLB, readable without assetgen.

Everything refers to the GLB as written: positions in metres in its world frame (+y up, identity node
transform), landmark vertices as [primitive, vertex] pairs of its mesh, triangle regions in the order of
its primitives (file order) and their index buffers.

{
  "format": "assetgen-gt/1", "glb": "NAME.glb", "units": "m", "up_axis": "+y", "facing": "+z",
  "primitives": [{"material": str, "triangles": int, "vertices": int}, ...],
  "landmarks_68": {"position": 68 x [x, y, z], "vertex_index": 68 x [primitive, vertex]},
  "regions": [region names, id order], "triangle_regions": [one name per triangle],
  "facesynthetics": {"classes": {id: name}, "region_class": {region: class id}, "ignore": 255,
                     "left_right": str, "source": str},
  "identity_weights": [float, ...], "expression_weights": {name: float (non-zero only)},
  "labels": {...}, "provenance": {...}
}
With hair (an asset with a groom): "regions" continues with the hair regions the face model lacks
(export.hair.hair_region_names: hair eyelashes share ICT's "eyelashes"), "primitives" and
"triangle_regions" continue through the hair primitives that follow the face ones in files with hair
triangles (GLB, OBJ; a hair triangle's region is its primitive's hair region), and "hair" records the
rule, the groom's params, per-region strand counts (export.hair.groom_record), plus "primitives" (the
indices of the hair primitives; empty for USD, which writes hair as curves) and "triangles" (hair region
-> its triangle count there).
With items (glasses, clothing, headwear, facewear): "regions" continues with the item regions it lacks,
"primitives" and "triangle_regions" through the item primitives that follow (export.items), and "items"
records the rule (clear lenses are overlays), the outfit and the item primitives' indices.
"facesynthetics" maps every region of "regions" to a class of Microsoft's Face Synthetics data set
(face.labels: their ids, 255 = ignore, left/right the subject's own): the table the seg_facesynthetics
layer of `assetgen render` applies.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..face import ict
from ..face.labels import mapping_record
from ..geometry import world_positions
from ..io import atomic_write_bytes
from ..jsonsafe import json_safe
from .glb import FACING, GlbExport
from .hair import groom_record, hair_region_names, has_hair
from .items import has_items, items_record, with_item_regions

GT_FORMAT = "assetgen-gt/1"


def ground_truth(asset, glb: GlbExport) -> dict:
    """The ground-truth record of `asset` as exported in `glb` (a JSON-safe dict)."""
    model = asset.model
    positions = world_positions(asset)
    lm = np.asarray(model.landmarks_68, dtype=np.int64)
    regions = tuple(getattr(model, "region_names", ict.REGIONS))
    region_id = np.asarray(model.triangle_region)
    names = np.empty(len(regions), dtype=object)
    names[:] = regions
    triangles = [p.source_triangle for p in glb.primitives]
    tri_regions = names[region_id[np.concatenate(triangles)]].tolist() if triangles else []
    hair = None
    if has_hair(asset):
        regions = hair_region_names(regions)
        for h in glb.hair:
            tri_regions += [h.region] * h.n_triangles
        hair = groom_record(asset)
        hair["triangles"] = {h.region: h.n_triangles for h in glb.hair}
        hair["primitives"] = list(range(len(glb.primitives), len(glb.primitives) + len(glb.hair)))
    items = None
    if has_items(asset):
        regions = with_item_regions(regions, asset)
        for it in glb.items:
            tri_regions += [it.region] * it.n_triangles
        items = items_record(asset, glb.items, len(glb.primitives) + len(glb.hair))
    record = {
        "format": GT_FORMAT,
        "glb": Path(glb.path).name,
        "name": asset.name,
        "units": glb.units,
        "up_axis": glb.up_axis,
        "facing": FACING,
        "primitives": [
            {"material": p.material, "triangles": p.n_triangles, "vertices": p.n_vertices}
            for p in (*glb.primitives, *glb.hair, *glb.items)
        ],
        "landmarks_68": {
            # float32 -> Python float is exact, so these equal the GLB's POSITION values bit for bit.
            "position": [[float(c) for c in positions[v]] for v in lm],
            "vertex_index": landmark_vertex_index(glb, lm),
        },
        "regions": list(regions),
        "triangle_regions": tri_regions,
        "facesynthetics": mapping_record(regions),
        "identity_weights": json_safe(np.asarray(asset.identity_weights, dtype=np.float64)),
        "expression_weights": json_safe(asset.expression_named),
        "labels": json_safe(asset.labels),
        "provenance": json_safe(asset.provenance),
    }
    if hair is not None:
        record["hair"] = json_safe(hair)
    if items is not None:
        record["items"] = json_safe(items)
    return record


def landmark_vertex_index(glb: GlbExport, vertices: np.ndarray) -> list[list[int]]:
    """For each model vertex id, [primitive, glTF vertex]: the first primitive in file order holding it,
    and its first glTF vertex there (a vertex on a UV seam has several)."""
    out = []
    for v in np.asarray(vertices, dtype=np.int64):
        for p, prim in enumerate(glb.primitives):
            hits = np.flatnonzero(prim.source_vertex == v)
            if len(hits):
                out.append([p, int(hits[0])])
                break
        else:
            raise InputError(f"landmark vertex {int(v)} is on no exported triangle; the GLB cannot locate it")
    return out


def write_sidecar(asset, path: Path, primitives, fmt: str, hair=(), items=()) -> Path:
    """Write the sidecar STEM.gt.json of the exported file `path` (STEM.<ext>, any format) whose
    primitives (meshes, groups) are `primitives` (GlbPrimitive, file order) followed by the hair ribbon
    primitives `hair` (HairPrimitive; none for formats writing hair as curves) and the item primitives
    `items` (ItemPrimitive): the ground-truth record plus "file" (the file's name) and "export_format"
    (`fmt`). Returns the sidecar's path."""
    path = Path(path)
    gt = ground_truth(asset, GlbExport(path=path, primitives=tuple(primitives), hair=tuple(hair), items=tuple(items)))
    gt["file"] = path.name
    gt["export_format"] = fmt
    return write_ground_truth(path.parent / f"{path.name.rsplit('.', 1)[0]}.gt.json", gt)


def write_ground_truth(path: str | Path, gt: dict) -> Path:
    """Write `gt` atomically as sorted, indented JSON (same record -> same bytes): the bytes of
    io.atomic_write_json, made faster (see ground_truth_json)."""
    return atomic_write_bytes(path, ground_truth_json(gt))


_FLAT_LIST_MIN = 64  # top-level lists at least this long, of str or of numbers, take the fast path


def ground_truth_json(gt: dict) -> bytes:
    """UTF-8 of json.dumps(gt, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    (what io.atomic_write_json writes), byte for byte. json's indented encoder is pure Python; long
    flat lists (triangle_regions: one of a few region names per triangle) are instead written item by
    item with the newline and indent as the separator, and spliced in."""
    if not isinstance(gt, dict):
        return _plain_json(gt)
    spliced = {}
    record = dict(gt)
    for key, value in gt.items():
        items = _flat_list_items(value) if isinstance(key, str) else None
        if items is not None:
            marker = f"\x00assetgen-flat-list-{len(spliced)}\x00"
            record[key] = marker
            spliced[json.dumps(marker)] = items
    if not spliced:
        return _plain_json(gt)
    text = json.dumps(record, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    for marker, items in spliced.items():
        if text.count(marker) != 1:  # the marker's text occurs elsewhere too: take the slow path
            return _plain_json(gt)
        text = text.replace(marker, "[\n  " + items + "\n ]")
    return text.encode("utf-8")


def _plain_json(obj) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


_ITEM_SEPARATOR = ",\n  "  # the items of a top-level list sit at depth 2: two spaces


def _flat_list_items(value) -> str | None:
    """The items of a top-level list as json.dumps(indent=1) writes them, joined by their separator,
    when `value` is a list (or tuple) of at least _FLAT_LIST_MIN items, all str or all int/float (not
    bool), which json writes the same way with and without indent; else None."""
    if not isinstance(value, (list, tuple)) or len(value) < _FLAT_LIST_MIN:
        return None
    try:
        distinct = set(value)
    except TypeError:  # unhashable items: lists, dicts
        return None
    if all(type(v) is str for v in distinct):
        # Each distinct string encoded once (a str subclass equal to one of them encodes the same).
        encoded = {v: json.dumps(v, ensure_ascii=False) for v in distinct}
        return _ITEM_SEPARATOR.join(map(encoded.__getitem__, value))
    if set(map(type, value)) <= {int, float}:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(_ITEM_SEPARATOR, ": "))[1:-1]
    return None
