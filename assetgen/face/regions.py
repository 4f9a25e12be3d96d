"""A region label for every triangle, from segments.json, the eyeball parts and the lip contour."""

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
                     triangle_polygon: np.ndarray, landmarks_68: np.ndarray, n_vertices: int) -> np.ndarray:
    """(F,) uint8 region ids (indices into ict.REGIONS) for the triangles of a triangulated mesh.

    mesh: the OBJ (UVs, polygon count); segments: the parsed segments.json; triangles / triangle_uv_index:
    (F, 3) vertex and UV indices; triangle_polygon: (F,) source polygon; landmarks_68: (68,) vertex ids;
    n_vertices: V. FaceModel.triangle_region passes its own; taking arrays rather than the model lets
    model.py import this module without a cycle."""
    region_id = {name: i for i, name in enumerate(ict.REGIONS)}
    n_poly = mesh.n_polygons
    poly_region = np.zeros(n_poly, dtype=np.uint8)
    for section, table in (("geometry", ict.GEOMETRY_PART_REGION), ("eyeball", ict.EYEBALL_PART_REGION)):
        for part, (first, last) in _ranges(segments.get(section, {})):
            if part in table:
                if last >= n_poly:
                    raise FaceModelError(f"segments.json: part {part!r} ends at polygon {last} >= {n_poly}")
                poly_region[first : last + 1] = region_id[table[part]]
    if (poly_region == 0).any():
        raise FaceModelError(f"segments.json leaves {(poly_region == 0).sum()} polygons without a region")
    tri_region = poly_region[triangle_polygon]

    # Lips: face-skin triangles whose UV centroid lies inside the outer lip contour (landmarks 48-59),
    # taken in UV space where the contour is a simple polygon.
    uv_of_vertex = _vertex_uv(mesh.uvs, triangles, triangle_uv_index, n_vertices)
    contour = uv_of_vertex[landmarks_68[list(ict.OUTER_LIP_LANDMARKS)]]
    skin = np.flatnonzero(tri_region == region_id["face_skin"])
    centroids = mesh.uvs[triangle_uv_index[skin]].mean(axis=1)
    tri_region[skin[_points_in_polygon(centroids, contour)]] = region_id["lips"]
    return tri_region


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
