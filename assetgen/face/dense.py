"""Dense landmarks: a fixed set of face-model vertices spread evenly over the face (DENSE_RULE).

The set is a farthest-point sampling of the face area's skin vertices on the model's neutral mesh, seeded
at the nose tip: point k is the face vertex farthest (Euclidean, on the neutral) from points 0..k-1, ties
to the lowest id. So it depends on the model and the count only, and the first n points of a larger set
are the set of n. Being vertices, the points follow identity and expression exactly.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import FaceModelError

DEFAULT_COUNT = 500
FACE_AREA = "Narrow face area"  # segments.json face_area part: the face from brows to chin, ear to ear
# Skin regions of the face area the points sit on (no eyeballs, mouth interior or lashes there).
DENSE_REGIONS = ("face_skin", "upper_lip", "lower_lip", "nose")
NOSE_TIP_LANDMARK = 30  # iBUG point 30: the seed of the sampling
DENSE_RULE = (f"dense landmarks = farthest-point sampling (Euclidean, on the model's neutral mesh, seeded at iBUG "
              f"point {NOSE_TIP_LANDMARK}, ties to the lowest id) of the vertices of segments.json's "
              f"{FACE_AREA!r} that belong to triangles of the regions {', '.join(DENSE_REGIONS)}")


def face_vertices(model) -> np.ndarray:
    """(n,) int64 sorted ids of the vertices the dense set is drawn from."""
    part = (getattr(model, "segments", None) or {}).get("face_area", {}).get(FACE_AREA)
    if not (isinstance(part, dict) and len(part.get("vertices", ())) == 2):
        raise FaceModelError(f"the face model's segments.json has no face_area part {FACE_AREA!r}; dense landmarks "
                             "need it (use the ICT-FaceKit model) or list vertex ids in dense_landmarks.vertices")
    lo, hi = (int(x) for x in part["vertices"])
    names = tuple(model.region_names)
    wanted = [names.index(r) for r in DENSE_REGIONS if r in names]
    tri = np.asarray(model.triangles)[np.isin(np.asarray(model.triangle_region), wanted)]
    ids = np.unique(tri)
    return ids[(ids >= lo) & (ids <= hi)].astype(np.int64)


@lru_cache(maxsize=8)
def _dense(model, count: int) -> np.ndarray:
    ids = face_vertices(model)
    if count > len(ids):
        raise FaceModelError(f"dense_landmarks.count {count} exceeds the {len(ids)} face vertices; use at most {len(ids)}")
    p = np.asarray(model.neutral, np.float64)[ids]
    seed = int(np.asarray(model.landmarks_68)[NOSE_TIP_LANDMARK])
    first = int(np.flatnonzero(ids == seed)[0]) if seed in set(ids.tolist()) else \
        int(np.argmin(np.linalg.norm(p - np.asarray(model.neutral, np.float64)[seed], axis=1)))
    chosen = np.empty(count, np.int64)
    chosen[0] = first
    d = np.linalg.norm(p - p[first], axis=1)
    for k in range(1, count):
        nxt = int(np.argmax(d))  # the first maximum: ties go to the lowest id (ids are sorted)
        chosen[k] = nxt
        d = np.minimum(d, np.linalg.norm(p - p[nxt], axis=1))
    out = ids[chosen]
    out.setflags(write=False)
    return out


def dense_vertex_ids(model, count: int = DEFAULT_COUNT) -> np.ndarray:
    """(count,) int64 vertex ids of the dense landmarks (DENSE_RULE), in sampling order."""
    return _dense(model, int(count))
