"""The ground truth of a data-set image beyond the 70 landmarks: the gaze (the eyes and lids posed, then per
eye its centre, pupil, optical axis, line of sight and iris contour), the 68/70 landmarks in the 2D-contour
convention (contour.py) and the dense landmarks (face.dense).

Gaze directions are given as unit vectors in camera space (OpenCV axes: x right, y down, z forward) and as
pitch/yaw in the convention of MPIIGaze and ETH-XGaze (GAZE_ANGLES), and in the head frame as yaw/pitch
of face.gaze (yaw > 0 towards the subject's left, pitch > 0 up; 0, 0 = straight ahead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..face import gaze as eye_gaze
from ..geometry import UNIT_SCALE, world_positions
from ..render.raycast import LANDMARK_CLEARANCE_M, LANDMARK_VISIBILITY_RULE
from .landmarks import PUPIL_VISIBILITY_RULE, pupils_clear

GAZE_ANGLES = ("camera-space pitch = asin(-g_y), yaw = atan2(-g_x, -g_z) for a unit direction g (MPIIGaze / "
               "ETH-XGaze): 0, 0 is parallel to the camera's axis, towards the camera; pitch > 0 up in the image, "
               "yaw > 0 towards the image's left; degrees")
HEAD_ANGLES = ("head-frame yaw = atan2(g_x, g_z), pitch = asin(g_y) (face.gaze): 0, 0 is straight ahead (+z), yaw > 0 "
               "towards the subject's left (+x), pitch > 0 up; degrees")
GAZE_KINDS = ("rest: the job has no gaze, the model's rest eyes (straight ahead, parallel); random: drawn from the "
              "job's distribution; camera: looking into the camera (drawn with the job's at_camera share, and the "
              "camera within the range); sweep: the sweep's gaze_yaw / gaze_pitch")


@dataclass
class PosedGaze:
    """How an image's eyes were posed: the gaze (model units), its kind, the lid weights added, and per eye
    (right, left) (centre, rotation, line of sight) in the model's head frame."""

    gaze: eye_gaze.Gaze
    kind: str
    lids: dict
    eyes: list


def resolve_gaze(model, params, vertices: np.ndarray, camera, spec) -> tuple[eye_gaze.Gaze, str]:
    """The image's gaze in model units (GazeDraw -> face.gaze.Gaze): its drawn direction and distance, or
    the camera's when it asks to look into the camera and the camera is within the job's range."""
    draw = params.gaze
    if draw is None or spec is None:
        return eye_gaze.Gaze(), "rest"
    scale = UNIT_SCALE[model.units]
    if draw.at_camera:
        v = np.asarray(vertices, np.float64)
        mid = np.mean([e.centre(v) for e in eye_gaze.eyes(model)], axis=0)
        to_cam = np.asarray(camera.centre, np.float64) / scale - mid
        yaw, pitch = eye_gaze.yaw_pitch(to_cam)
        if abs(yaw) <= spec.yaw_limit and -spec.down <= pitch <= spec.up:
            return eye_gaze.Gaze(yaw, pitch, float(np.linalg.norm(to_cam))), "camera"
    kind = "sweep" if {"gaze_yaw", "gaze_pitch"} & set(params.sweep) else "random"
    return eye_gaze.Gaze(draw.yaw, draw.pitch, draw.distance_m / scale), kind


def pose(subject, model, params, camera, spec) -> tuple[object, PosedGaze]:
    """The subject's asset with the image's expression, lids following the gaze (spec.lids_follow) and
    eyes turned to it; spec: the job's GazeSpec (None: eyes at rest)."""
    weights = params.expression.weights
    ex = model.expression_weights(weights)
    v = model.vertices(subject.asset.identity_weights, ex)
    gaze, kind = resolve_gaze(model, params, v, camera, spec)
    lids = eye_gaze.lid_weights(model, v, gaze) if spec is not None and spec.lids_follow else {}
    eyes = eye_gaze.eye_rotations(model, v, gaze)
    if lids:
        combined = dict(weights)
        for name, w in lids.items():
            combined[name] = min(1.0, combined.get(name, 0.0) + w)
        ex = model.expression_weights(combined)
        v = model.vertices(subject.asset.identity_weights, ex)
    v = eye_gaze.apply_gaze(model, v, gaze)
    return replace(subject.asset, vertices=v, expression_weights=ex), PosedGaze(gaze, kind, lids, eyes)


def _angles(d_cam: np.ndarray) -> dict:
    g = np.asarray(d_cam, np.float64) / np.linalg.norm(d_cam)
    return {"pitch_deg": math.degrees(math.asin(max(-1.0, min(1.0, -g[1])))),
            "yaw_deg": math.degrees(math.atan2(-g[0], -g[2]))}


def _in_image(camera, cam_pts: np.ndarray, px: np.ndarray) -> np.ndarray:
    w, h = camera.size
    ok = (cam_pts[:, 2] > 0) & np.all(np.isfinite(px), axis=1)
    return ok & (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)


def _px(px: np.ndarray) -> list:
    return np.where(np.isfinite(px), px, None).tolist()


def gaze_record(model, posed, posed_gaze: PosedGaze, camera, renderer, lm70: dict) -> dict:
    """The image record's `gaze`: per eye its centre, pupil, optical axis, line of sight and iris contour."""
    scale = UNIT_SCALE[model.units]
    v = np.asarray(posed.vertices, np.float64)
    R = camera.world_to_camera[:3, :3]
    g = posed_gaze.gaze
    out = {
        "kind": posed_gaze.kind,
        "kinds": GAZE_KINDS,
        "head_frame": {"yaw_deg": g.yaw, "pitch_deg": g.pitch,
                       "distance_m": None if math.isinf(g.distance) else g.distance * scale},
        "lid_follow_weights": dict(sorted(posed_gaze.lids.items())),
        "angles": GAZE_ANGLES,
        "head_angles": HEAD_ANGLES,
        "rules": {"eyeball_centre": eye_gaze.SPHERE_RULE, "pupil": eye_gaze.PUPIL_RULE,
                  "iris_contour": eye_gaze.IRIS_CONTOUR_RULE, "visibility": PUPIL_VISIBILITY_RULE,
                  "line_of_sight": "from the eyeball centre towards the gaze target (parallel eyes: the gaze "
                                   "direction); optical axis: from the eyeball centre through the pupil centre"},
        "eyes": {},
    }
    target = None
    if not math.isinf(g.distance):
        mid = np.mean([c for c, _, _ in posed_gaze.eyes], axis=0)
        target = (mid + g.distance * eye_gaze.direction(g.yaw, g.pitch)) * scale
        out["target_camera"] = camera.to_camera(target[None])[0].tolist()
    else:
        out["target_camera"] = None
    for k, (eye, (_, _, sight)) in enumerate(zip(eye_gaze.eyes(model), posed_gaze.eyes)):
        centre = eye.centre(v) * scale
        pupil = eye.pupil_centre(v) * scale
        optical = (pupil - centre) / np.linalg.norm(pupil - centre)
        c_cam = camera.to_camera(centre[None])
        iris = v[eye.iris_contour] * scale
        i_cam = camera.to_camera(iris)
        i_px = camera.project(i_cam)
        vis = _in_image(camera, i_cam, i_px)
        if vis.any():
            vis[vis] = pupils_clear(renderer, iris[vis], camera.centre, camera)
        sight_cam, optical_cam = R @ sight, R @ optical
        yaw_h, pitch_h = eye_gaze.yaw_pitch(sight)
        out["eyes"][eye.side] = {
            "eyeball_centre": {"camera": c_cam[0].tolist(), "pixels": _px(camera.project(c_cam))[0],
                               "radius_m": eye_gaze.eyeball_sphere(v[eye.sclera])[1] * scale},
            "pupil_centre": {"camera": lm70["camera"][68 + k].tolist(), "pixels": _px(lm70["pixels"][68 + k : 69 + k])[0],
                             "visible": bool(lm70["visible"][68 + k]), "landmark": 68 + k},
            "optical_axis": {"camera": optical_cam.tolist(), **_angles(optical_cam)},
            "line_of_sight": {"camera": sight_cam.tolist(), **_angles(sight_cam),
                              "head_yaw_deg": yaw_h, "head_pitch_deg": pitch_h},
            "iris_contour": {"pixels": _px(i_px), "camera": i_cam.tolist(), "visible": [bool(x) for x in vis],
                             "vertex_ids": eye.iris_contour.tolist()},
        }
    return out


def image_contour(model, posed, camera) -> dict:
    """The jaw landmarks of the image in the 2D-contour convention (contour.contour_landmarks)."""
    from .contour import contour_landmarks
    from .sampling import euler_from_rotation

    v = np.asarray(posed.vertices, np.float64)
    yaw = euler_from_rotation(camera.world_to_camera[:3, :3])["yaw"]
    return contour_landmarks(model, v, model.vertex_normals(np.asarray(posed.vertices, np.float32)), camera, yaw)


def contour_record(model, posed, camera, renderer, lm70: dict, contour: dict | None = None) -> dict:
    """The image record's `landmarks_2d_contour`: the 70 landmarks with the jaw in 300-W's 2D-contour
    convention (contour.py; `contour`: image_contour's result when already made), visibility by the
    renderer's landmark rule."""
    from .contour import CONTOUR_RULE

    c = image_contour(model, posed, camera) if contour is None else contour
    moved = np.r_[c["moved"], False, False]
    world = np.array(lm70["world"], np.float64)
    pixels, cam, visible = np.array(lm70["pixels"], np.float64), np.array(lm70["camera"], np.float64), np.array(lm70["visible"])
    if moved.any():
        k = np.flatnonzero(moved)
        world[k] = c["world"][k]
        cam[k] = camera.to_camera(world[k])
        pixels[k] = camera.project(cam[k])
        vis = _in_image(camera, cam[k], pixels[k])
        if vis.any():
            vis[vis] = renderer.landmark_raycaster.line_of_sight_clear(world[k][vis], camera.centre, LANDMARK_CLEARANCE_M,
                                                                       camera)
        visible[k] = vis
    return {"pixels": _px(pixels), "camera": cam.tolist(), "world": world.tolist(), "visible": [bool(x) for x in visible],
            "moved": [bool(x) for x in moved], "rule": CONTOUR_RULE, "visibility_rule": LANDMARK_VISIBILITY_RULE}


DENSE_COLUMNS = ("x", "y", "X", "Y", "Z", "visible")


def dense_array(posed, ids: np.ndarray, camera, renderer) -> np.ndarray:
    """(N, 6) float32 dense landmarks: pixel x, y (COCO continuous coordinates), camera X, Y, Z (metres,
    OpenCV axes) and visible (1/0, the renderer's landmark rule)."""
    world = world_positions(posed)[ids].astype(np.float64)
    cam = camera.to_camera(world)
    px = camera.project(cam)
    vis = _in_image(camera, cam, px)
    if vis.any():
        vis[vis] = renderer.landmark_raycaster.line_of_sight_clear(world[vis], camera.centre, LANDMARK_CLEARANCE_M, camera)
    return np.c_[px, cam, vis.astype(np.float64)].astype(np.float32)


def dense_ids(job, model) -> np.ndarray:
    """The job's dense landmark vertex ids: its own list, or face.dense's set of its count."""
    from ..face.dense import dense_vertex_ids

    d = job.spec.dense_landmarks
    return np.asarray(d.vertices, np.int64) if d.vertices is not None else dense_vertex_ids(model, d.count)


def dense_manifest(job, model) -> dict:
    """What dataset.json says about the dense landmarks (the vertex ids, their rule and file columns)."""
    from ..face.dense import DENSE_RULE

    rule = DENSE_RULE if job.spec.dense_landmarks.vertices is None else "the job's dense_landmarks.vertices"
    return {"vertex_ids": dense_ids(job, model).tolist(), "rule": rule, "columns": list(DENSE_COLUMNS),
            "visibility_rule": LANDMARK_VISIBILITY_RULE}


def sight_points(job, model, posed, camera, pupils: np.ndarray) -> tuple[np.ndarray, dict]:
    """The world points (n, 3) whose lines of sight an image's ground truth casts (the 68 landmarks, the
    pupils, the iris contours, the 2D-contour jaw points and the dense landmarks) and the image's contour
    (image_contour), for the ray caster's expect_sight_lines and image_gt."""
    scale = UNIT_SCALE[model.units]
    v = np.asarray(posed.vertices, np.float64)
    contour = image_contour(model, posed, camera)
    parts = [world_positions(posed)[np.asarray(model.landmarks_68)].astype(np.float64), np.asarray(pupils, np.float64),
             np.asarray(contour["world"], np.float64)[np.asarray(contour["moved"], bool)]]
    parts += [v[eye.iris_contour] * scale for eye in eye_gaze.eyes(model)]
    if "dense" in job.spec.layers:
        parts.append(world_positions(posed)[dense_ids(job, model)].astype(np.float64))
    return np.concatenate(parts), contour


def image_gt(job, model, posed, posed_gaze: PosedGaze, camera, renderer, lm70: dict, contour: dict | None = None) -> dict:
    """The image's gaze and 2D-contour records, and its dense landmarks when the job writes them
    (contour: image_contour's result when already made)."""
    gt = {"gaze": gaze_record(model, posed, posed_gaze, camera, renderer, lm70),
          "contour": contour_record(model, posed, camera, renderer, lm70, contour)}
    if "dense" in job.spec.layers:
        gt["dense"] = dense_array(posed, dense_ids(job, model), camera, renderer)
    return gt
