"""The 70 landmarks of a data-set image: the 68 iBUG (Multi-PIE) points the renderer gives, then the two
pupil centres (FaceSynthetics' order: point 68 is the pupil of the eye of points 36-41, the subject's
right eye; point 69 that of points 42-47, the subject's left eye).

A pupil centre is the mean of a fixed set of iris vertices (face.gaze.PUPIL_RULE): the ICT eyes' iris is a
closed lens around a pupil opening, so no vertex sits on the optical axis; the vertices of the lens' front
side nearest the eye's axis (a ring around the opening, found once on the neutral mesh) average to the
point on the axis. Being fixed vertices of the eyeball, they follow its gaze rotation (face.gaze). A pupil is visible when it is in front of the camera, inside the image and its line of sight
crosses no surface but the eyeballs' own (PUPIL_VISIBILITY_RULE). No distance rule can tell the two apart:
the cornea lies about 2 mm in front of the pupil centre, and a closed ICT eyelid cuts into the eyeball
and meets the line of sight even closer (1.5-1.8 mm).
"""

from __future__ import annotations

import numpy as np

from ..face import gaze
from ..geometry import UNIT_SCALE

EYEBALL_REGIONS = ("sclera_left", "iris_left", "sclera_right", "iris_right")
PUPIL_VISIBILITY_RULE = (
    "pupils (points 68, 69): visible = in front of the camera, inside the image, and the line of sight from the "
    "pupil centre to the camera centre crosses no surface but the eyeballs' (sclera and iris, the cornea being "
    "part of the sclera); surfaces are the opaque and alpha-tested materials (seen through their cut-outs) "
    "without the eyelashes. So a closed or lowered lid, the nose or the far side of the head hide a pupil"
)
_STEP_M = 1e-6  # how far past an eyeball hit the next cast starts
_MAX_EYEBALL_HITS = 16
PUPIL_RULE = gaze.PUPIL_RULE + "; " + gaze.SPHERE_RULE


def pupil_vertex_sets(model) -> tuple[np.ndarray, np.ndarray]:
    """(right, left) int64 vertex ids whose means are the pupil centres (subject's right eye first)."""
    right, left = gaze.eyes(model)
    return right.pupil, left.pupil


def pupils_world(vertices: np.ndarray, units: str, sets: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(2, 3) float64 pupil centres in metres (the renderer's world frame) for model-unit `vertices`."""
    v = np.asarray(vertices, np.float64)
    return np.stack([v[s].mean(0) for s in sets]) * UNIT_SCALE[units]


def pupils_clear(renderer, points: np.ndarray, eye: np.ndarray, camera=None) -> np.ndarray:
    """(n,) bool: PUPIL_VISIBILITY_RULE's line-of-sight test for pupil centres `points` (n, 3) seen from
    `eye` (camera: the Camera whose centre it is, for the ray caster's faster sight-line casts)."""
    caster = renderer.landmark_raycaster
    mesh = renderer.mesh
    eyeball = np.isin(np.asarray(mesh.triangle_region), [k for k, n in enumerate(mesh.regions) if n in EYEBALL_REGIONS])
    points = np.asarray(points, np.float64)
    to_eye = np.asarray(eye, np.float64)[None, :] - points
    dist = np.linalg.norm(to_eye, axis=1)
    d = to_eye / dist[:, None]
    at = np.zeros(len(points))
    clear = np.ones(len(points), bool)
    todo = np.arange(len(points))
    for _ in range(_MAX_EYEBALL_HITS):
        hit = caster.cast(points[todo] + at[todo, None] * d[todo], d[todo], camera)
        t, tri = hit["t"], hit["triangle"]
        blocked = np.isfinite(t) & (at[todo] + t < dist[todo])
        through = blocked & eyeball[np.maximum(tri, 0)]
        clear[todo[blocked & ~through]] = False
        at[todo[through]] += t[through] + _STEP_M
        todo = todo[through]
        if not len(todo):
            break
    clear[todo] = False  # still inside eyeball layers after the last cast: call it hidden
    return clear


def landmarks_70(renderer, result, pupils: np.ndarray) -> dict:
    """The 68 landmarks of a RenderResult (render with "landmarks") plus the two pupils: pixels (70, 2),
    camera (70, 3), world (70, 3) float64 and visible (70,) bool."""
    cam = result.camera
    lm = result.landmarks
    p_cam = cam.to_camera(pupils)
    p_px = cam.project(p_cam)
    w, h = cam.size
    inside = (p_cam[:, 2] > 0) & np.all(np.isfinite(p_px), axis=1)
    inside &= (p_px[:, 0] >= 0) & (p_px[:, 0] < w) & (p_px[:, 1] >= 0) & (p_px[:, 1] < h)
    visible = np.zeros(2, bool)
    if inside.any():
        visible[inside] = pupils_clear(renderer, pupils[inside], cam.centre, cam)
    return {
        "pixels": np.concatenate([lm["pixels"], p_px]),
        "camera": np.concatenate([lm["camera"], p_cam]),
        "world": np.concatenate([lm["world"], pupils]),
        "visible": np.concatenate([lm["visible"], visible]),
        "rule": lm["rule"],
    }
