"""The ground-truth sidecar NAME.gt.json of a GLB, readable without assetgen.

Everything refers to the GLB as written: positions in metres in its world frame (+y up, identity node
transform), landmark vertices as [primitive, vertex] pairs of its mesh, triangle regions in the order of
its primitives (file order) and their index buffers.

{
  "format": "assetgen-gt/1", "glb": "NAME.glb", "units": "m", "up_axis": "+y", "facing": "+z",
  "primitives": [{"material": str, "triangles": int, "vertices": int}, ...],
  "landmarks_68": {"position": 68 x [x, y, z], "vertex_index": 68 x [primitive, vertex]},
  "regions": [region names, id order], "triangle_regions": [one name per triangle],
  "identity_weights": [float, ...], "expression_weights": {name: float (non-zero only)},
  "labels": {...}, "provenance": {...}
}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..face import ict
from ..io import atomic_write_json
from .glb import FACING, GlbExport, json_safe, world_positions

GT_FORMAT = "assetgen-gt/1"


def ground_truth(asset, glb: GlbExport) -> dict:
    """The ground-truth record of `asset` as exported in `glb` (a JSON-safe dict)."""
    model = asset.model
    positions = world_positions(asset)
    lm = np.asarray(model.landmarks_68, dtype=np.int64)
    regions = tuple(getattr(model, "region_names", ict.REGIONS))
    region_id = np.asarray(model.triangle_region)
    tri_regions = [regions[int(r)] for p in glb.primitives for r in region_id[p.source_triangle]]
    return {
        "format": GT_FORMAT,
        "glb": Path(glb.path).name,
        "name": asset.name,
        "units": glb.units,
        "up_axis": glb.up_axis,
        "facing": FACING,
        "primitives": [
            {"material": p.material, "triangles": p.n_triangles, "vertices": p.n_vertices} for p in glb.primitives
        ],
        "landmarks_68": {
            # float32 -> Python float is exact, so these equal the GLB's POSITION values bit for bit.
            "position": [[float(c) for c in positions[v]] for v in lm],
            "vertex_index": landmark_vertex_index(glb, lm),
        },
        "regions": list(regions),
        "triangle_regions": tri_regions,
        "identity_weights": json_safe(np.asarray(asset.identity_weights, dtype=np.float64)),
        "expression_weights": json_safe(asset.expression_named),
        "labels": json_safe(asset.labels),
        "provenance": json_safe(asset.provenance),
    }


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


def write_ground_truth(path: str | Path, gt: dict) -> Path:
    """Write `gt` atomically as sorted, indented JSON (same record -> same bytes)."""
    return atomic_write_json(path, gt)
