"""The 68/70 landmarks in the 2D-contour convention of 300-W: the jaw points slide to the visible silhouette
of the face when the head is turned (landmark marching, as 3DDFA's and DECA's dynamic contour do).

Each jaw point k (0-16, but the chin point 8, which stays) has a fixed path on the face (found once on
the model's neutral mesh): the section of the face skin by the horizontal plane through its vertex, from
the vertex round the front of the face to its middle, as points on mesh edges (vertex a, vertex b,
fraction t), so it follows identity and expression. On the side of the face turned away from the camera
(the subject's right, points 0-7, when the camera is on the subject's left with yaw > CONTOUR_MIN_YAW_DEG,
and the mirror), a jaw point whose own surface faces away from the camera (vertex normal . view ray > 0)
marches along its path to the first place where the surface turns to face the camera: the silhouette (the
rim where the view ray grazes the surface, interpolated linearly between the path points either side of
the turn). Everything else keeps its 3D-fixed position. Visibility is the renderer's landmark rule
(render.raycast.LANDMARK_VISIBILITY_RULE)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..face import ict
from ..geometry import UNIT_SCALE

CONTOUR_MIN_YAW_DEG = 5.0
CHIN = 8
CONTOUR_RULE = (
    "2D-contour landmarks (300-W): points 0-7 (subject's right) and 9-16 (left) on the side turned away from the "
    f"camera (|head yaw| > {CONTOUR_MIN_YAW_DEG:g} degrees) whose surface faces away from the camera move along the "
    "horizontal section of the face skin through their vertex, towards the face's middle, to the first point "
    "where the surface faces the camera (the silhouette, interpolated between path points); all other points are the "
    "3D-fixed ones")
_SKIN = ("face_skin", "upper_lip", "lower_lip", "nose", "neck")


@dataclass(frozen=True)
class ContourPaths:
    """Per jaw point k: (a, b, t) arrays of its path's points (t = position between vertices a and b), first
    the point's own vertex (a = b), then inwards."""

    paths: dict


def _section(model, k: int) -> np.ndarray:
    v = np.asarray(model.neutral, np.float64)
    vid = int(np.asarray(model.landmarks_68)[k])
    y0 = v[vid, 1] - 1e-6  # just below the vertex: the plane crosses edges, not the vertex itself
    names = tuple(model.region_names)
    tri = np.asarray(model.triangles)[np.isin(np.asarray(model.triangle_region), [names.index(r) for r in _SKIN])]
    side = np.sign(v[vid, 0])
    h = v[:, 1] - y0
    # Edges crossing the plane y = y0, as points; per triangle the two crossing edges make a segment.
    below = h[tri] < 0
    mixed = tri[below.any(1) & ~below.all(1)]
    segs = []
    for tr in mixed.tolist():
        pts = [(min(a, b), max(a, b)) for a, b in ((tr[0], tr[1]), (tr[1], tr[2]), (tr[2], tr[0]))
               if (h[a] < 0) != (h[b] < 0)]
        segs.append(pts)
    graph: dict = {}
    for p, q in segs:
        graph.setdefault(p, []).append(q)
        graph.setdefault(q, []).append(p)

    def point(key):
        a, b = key
        t = h[a] / (h[a] - h[b])
        return v[a] + t * (v[b] - v[a]), t

    keys = list(graph)
    pos = np.array([point(kk)[0] for kk in keys])
    # Start at the crossing nearest the landmark's vertex, then walk the way that heads inwards.
    start = keys[int(np.argmin(np.linalg.norm(pos - v[vid], axis=1)))]
    out = [(vid, vid, 0.0)]
    best = None
    for first in graph[start]:
        walk, prev, cur = [start], start, first
        while cur is not None and cur not in walk:
            walk.append(cur)
            p = point(cur)[0]
            if side * p[0] <= 0:  # reached the middle of the face
                break
            nxt = [n for n in graph[cur] if n != prev]
            prev, cur = cur, (nxt[0] if nxt else None)
        end = point(walk[-1])[0]
        if side * end[0] < side * point(walk[0])[0][0] and (best is None or end[2] > point(best[-1])[0][2]):
            best = walk  # the way round the front of the face (not round the neck)
    for kk in best or [start]:
        a, b = kk
        out.append((a, b, float(point(kk)[1])))
    return np.array(out, dtype=[("a", np.int64), ("b", np.int64), ("t", np.float64)])


@lru_cache(maxsize=4)
def contour_paths(model) -> ContourPaths:
    """The jaw points' paths of the face model (computed once per model)."""
    return ContourPaths({k: _section(model, k) for k in ict.JAW_LANDMARKS if k != CHIN})


def contour_landmarks(model, vertices: np.ndarray, normals: np.ndarray, camera, head_yaw_deg: float) -> dict:
    """The 68 landmarks in the 2D-contour convention for posed model-unit `vertices` with their `normals`,
    seen from `camera` (world = model units x scale): world (68, 3) metres, moved (68,) bool."""
    scale = UNIT_SCALE[model.units]
    v = np.asarray(vertices, np.float64)
    n = np.asarray(normals, np.float64)
    world = v[np.asarray(model.landmarks_68)] * scale
    moved = np.zeros(68, bool)
    if abs(head_yaw_deg) <= CONTOUR_MIN_YAW_DEG:
        return {"world": world, "moved": moved}
    eye = np.asarray(camera.centre, np.float64) / scale
    # yaw > 0: the camera is on the subject's left, so the right side (points 0-7) is turned away.
    far = range(CHIN) if head_yaw_deg > 0 else range(CHIN + 1, 17)
    paths = contour_paths(model).paths
    for k in far:
        path = paths[k]
        a, b, t = path["a"], path["b"], path["t"][:, None]
        p = v[a] + t * (v[b] - v[a])
        nn = n[a] + t * (n[b] - n[a])
        ray = p - eye
        f = np.einsum("ij,ij->i", nn / np.linalg.norm(nn, axis=1, keepdims=True), ray / np.linalg.norm(ray, axis=1, keepdims=True))
        if f[0] <= 0:
            continue  # the point's own surface faces the camera: it is on or inside the silhouette
        turn = np.flatnonzero(f <= 0)
        j = int(turn[0]) if len(turn) else len(f) - 1
        s = f[j - 1] / (f[j - 1] - f[j]) if len(turn) else 1.0
        world[k] = (p[j - 1] + s * (p[j] - p[j - 1])) * scale
        moved[k] = True
    return {"world": world, "moved": moved}
