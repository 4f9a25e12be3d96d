"""A region label for every triangle: segments.json's parts, the eyeball parts, and the face and head skin
split so that every FaceSynthetics class can be drawn (face/labels.py maps regions to classes).

All of it is topology: computed once on the neutral, so a triangle keeps its region for every identity
and expression. In order:
- segments.json: each geometry part (and eyeball part) gives its region (ict.GEOMETRY_PART_REGION);
  "Face" starts as face_skin, "Head and Neck" as back_of_head.
- ear_left / ear_right: the face polygons of ict.EAR_POLYGONS (the whole auricle, front and back).
- upper_lip / lower_lip: face-skin triangles whose UV centroid lies inside the outer lip contour (landmarks
  48-59, in UV space where the contour is a simple polygon), split at the mouth line (48, 60, the middles
  of 61/67, 62/66, 63/65, then 64, 54): above it in UV (v up = up on the face) is the upper lip.
- nose: the face polygons of ict.NOSE_POLYGONS (tip, alae, nostrils, columella) and every other face-skin
  triangle whose UV centroid lies inside the convex hull (in UV) of those and of landmark 27: the bridge
  up to the nasion between the eyes.
- neck: the skin below the plane through the jaw angles (landmarks 4 and 12) tilted up towards the back by
  ict.NECK_PLANE_TILT_DEG; on the face part only outside (below) the jaw line 0-16 in UV, so the chin and
  jaw stay face skin and the neck starts under the jaw. The rest of "Head and Neck" is back_of_head.
Brows are not skin regions: strand eyebrows are the hair regions eyebrow_left / eyebrow_right, and the skin
under them is face_skin.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..errors import FaceModelError
from . import ict
from .obj import ObjMesh


def _points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """(N,) bool: even-odd rule for (N, 2) points against a closed (K, 2) polygon."""
    x, y = points[:, 0:1], points[:, 1:2]
    x0, y0 = polygon[:, 0], polygon[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        xint = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return (crosses & (x < xint)).sum(axis=1) % 2 == 1


def triangle_regions(mesh: ObjMesh, segments: Mapping, triangles: np.ndarray, triangle_uv_index: np.ndarray,
                     triangle_polygon: np.ndarray, landmarks_68: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """(F,) uint8 region ids (indices into ict.REGIONS) for the triangles of a triangulated mesh.

    mesh: the OBJ (UVs, polygon count); segments: the parsed segments.json; triangles / triangle_uv_index:
    (F, 3) vertex and UV indices; triangle_polygon: (F,) source polygon; landmarks_68: (68,) vertex ids;
    vertices: (V, 3) the neutral shape (cm, +y up, facing +z). FaceModel.triangle_region passes its own;
    taking arrays rather than the model lets model.py import this module without a cycle."""
    rid = {name: i for i, name in enumerate(ict.REGIONS)}
    n_poly = mesh.n_polygons
    poly_region = np.zeros(n_poly, dtype=np.uint8)
    for section, table in (("geometry", ict.GEOMETRY_PART_REGION), ("eyeball", ict.EYEBALL_PART_REGION)):
        for part, (first, last) in _ranges(segments.get(section, {})):
            if part in table:
                if last >= n_poly:
                    raise FaceModelError(f"segments.json: part {part!r} ends at polygon {last} >= {n_poly}")
                poly_region[first : last + 1] = rid[table[part]]
    if (poly_region == 0).any():
        raise FaceModelError(f"segments.json leaves {(poly_region == 0).sum()} polygons without a region")
    tri_region = poly_region[triangle_polygon]
    vertices = np.asarray(vertices, np.float64)
    centroid = vertices[triangles].mean(axis=1)
    uv_centroid = mesh.uvs[triangle_uv_index].mean(axis=1)
    # The nose bridge and the neck test whole polygons, so their borders follow polygon edges rather than
    # zigzag through the triangles of a quad; the lips test triangles (the skin texture's lip colour
    # follows the same triangles).
    poly_xyz = _polygon_means(triangle_polygon, n_poly, centroid)
    poly_uv = _polygon_means(triangle_polygon, n_poly, uv_centroid)
    uv_of_vertex = _vertex_uv(mesh.uvs, triangles, triangle_uv_index, len(vertices))
    lm_uv = uv_of_vertex[np.asarray(landmarks_68)]
    lm_xyz = vertices[np.asarray(landmarks_68)]
    face = tri_region == rid["face_skin"]

    # Ears: the face polygons of each auricle's run, checked to lie on its side of the head.
    for name, (first, last) in ict.EAR_POLYGONS.items():
        ear = face & (triangle_polygon >= first) & (triangle_polygon <= last)
        side = 1.0 if name.endswith("_left") else -1.0
        whole = len(np.unique(triangle_polygon[ear])) == last - first + 1
        if not whole or not (side * centroid[ear, 0] > 5.0).all():
            raise _topology(f"polygons {first}-{last} are not the {name.replace('_', ' ')}")
        tri_region[ear] = rid[name]

    # Lips: inside the outer lip contour in UV, split at the mouth line.
    skin = np.flatnonzero(tri_region == rid["face_skin"])
    lips = skin[_points_in_polygon(uv_centroid[skin], lm_uv[list(ict.OUTER_LIP_LANDMARKS)])]
    line = np.array([lm_uv[list(group)].mean(axis=0) for group in ict.MOUTH_LINE_LANDMARKS])
    if not (np.diff(line[:, 0]) > 0).all():
        raise _topology("the mouth line (landmarks 48, 60-67, 54) does not run left to right in UV")
    upper = uv_centroid[lips, 1] >= np.interp(uv_centroid[lips, 0], line[:, 0], line[:, 1])
    tri_region[lips[upper]] = rid["upper_lip"]
    tri_region[lips[~upper]] = rid["lower_lip"]

    # Nose: its polygon run, and the face skin inside the UV hull of that run and the nasion.
    first, last = ict.NOSE_POLYGONS
    dome = face & (triangle_polygon >= first) & (triangle_polygon <= last)
    tip = np.asarray(landmarks_68)[30]
    if len(np.unique(triangle_polygon[dome])) != last - first + 1 or not np.isin(tip, triangles[dome]):
        raise _topology(f"polygons {first}-{last} are not the nose (landmark 30, the nose tip, is not on them)")
    hull = _convex_hull(np.concatenate([mesh.uvs[triangle_uv_index[dome]].reshape(-1, 2),
                                        lm_uv[[ict.NASION_LANDMARK]]]))
    skin = np.flatnonzero(tri_region == rid["face_skin"])
    tri_region[skin[_points_in_polygon(poly_uv[triangle_polygon[skin]], hull)]] = rid["nose"]
    tri_region[dome] = rid["nose"]

    # Neck: below the tilted jaw-angle plane; on the face part also below the jaw line in UV.
    below = _below_neck_plane(poly_xyz, lm_xyz[list(ict.JAW_ANGLE_LANDMARKS)])[triangle_polygon]
    jaw = lm_uv[list(ict.JAW_LANDMARKS)]
    above_jaw = np.concatenate([jaw, [[jaw[-1, 0], jaw[:, 1].max() + 1.0], [jaw[0, 0], jaw[:, 1].max() + 1.0]]])
    skin = np.flatnonzero(tri_region == rid["face_skin"])
    skin = skin[below[skin] & ~_points_in_polygon(poly_uv[triangle_polygon[skin]], above_jaw)]
    tri_region[skin] = rid["neck"]
    tri_region[(tri_region == rid["back_of_head"]) & below] = rid["neck"]
    return tri_region


def _polygon_means(triangle_polygon: np.ndarray, n_poly: int, values: np.ndarray) -> np.ndarray:
    """(P, D): the mean of each polygon's per-triangle (F, D) values."""
    total = np.zeros((n_poly, values.shape[1]), np.float64)
    np.add.at(total, triangle_polygon, values)
    return total / np.maximum(np.bincount(triangle_polygon, minlength=n_poly), 1)[:, None]


def _topology(what: str) -> FaceModelError:
    return FaceModelError(f"face model: {what}; assetgen's regions (face/ict.py) are made for the ICT Face Model "
                          f"Light topology: import the model with `assetgen face-model import` or `fetch`")


def _below_neck_plane(points: np.ndarray, jaw_angles: np.ndarray) -> np.ndarray:
    """(N,) bool: points below the plane through the two jaw angles that rises ict.NECK_PLANE_TILT_DEG
    towards the back of the head (-z)."""
    axis = jaw_angles[1] - jaw_angles[0]
    axis = axis / np.linalg.norm(axis)
    up = np.array([0.0, 1.0, 0.0]) - axis[1] * axis
    up /= np.linalg.norm(up)
    front = np.cross(axis, up)
    front = front if front[2] > 0 else -front  # the face looks along +z
    t = np.radians(ict.NECK_PLANE_TILT_DEG)
    normal = np.cos(t) * up + np.sin(t) * front  # d behind the jaw angles the plane is d * tan(t) higher
    return (points - jaw_angles[0]) @ normal < 0.0


def _convex_hull(points: np.ndarray) -> np.ndarray:
    """(K, 2) the convex hull of (N, 2) points, counter-clockwise (Andrew's monotone chain)."""
    pts = np.unique(np.asarray(points, np.float64), axis=0)

    def half(seq):
        out = []
        for p in seq:
            while len(out) >= 2 and _turn(out[-2], out[-1], p) <= 0:
                out.pop()
            out.append(p)
        return out[:-1]

    return np.array(half(pts) + half(pts[::-1]))


def _turn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """z of (b - a) x (c - a): > 0 for a left turn a -> b -> c."""
    return float((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))


def _ranges(section: dict):
    for part, spec in section.items():
        first, last = spec["polygons"]
        yield part, (int(first), int(last))


def _vertex_uv(uvs: np.ndarray, triangles: np.ndarray, triangle_uv_index: np.ndarray, n_vertices: int) -> np.ndarray:
    """(V, 2): one UV per vertex (the first corner that uses it); good enough for landmark contours."""
    uv = np.zeros((n_vertices, 2), dtype=np.float32)
    v = triangles.ravel()[::-1]
    t = triangle_uv_index.ravel()[::-1]
    uv[v] = uvs[t]  # reversed so the first occurrence wins
    return uv
