"""Eye gaze on the face model: the eyeballs turn about their centres, the lids follow.

An eyeball is what segments.json's "eyeball" parts name: its sclera (whose front dome is the cornea) and its
iris (a closed lens inside the sclera whose front cap pokes through it). The lacrimal fluid, eye blend and
eye occlusion meshes line the lid margins and move with the lids, not with the eye. The eye's centre is
the centre of the sphere fitted to its sclera vertices (the cornea's bulge left out, SPHERE_RULE).

Gaze: both eyes look at one target point. With the head frame of the model (+y up, the face looks down
+z, +x is the subject's left) a gaze is a direction (yaw, pitch) from the midpoint of the two eyeball
centres and a distance to the target (inf: parallel eyes). Each eye turns by the smallest rotation that
takes the head's forward direction (+z) to the direction from its centre to the target (Listing's law:
no torsion about the line of sight), so the model's rest eyes are the eyes looking straight ahead at
infinity, and gaze (0, 0, inf) leaves every vertex as it is. The rotation moves every vertex of the
eyeball rigidly, so every ground truth taken from the vertices (pupils, iris contour, segmentation) follows.

The ICT eyeLook* blendshapes move only the lids and the skin around the eyes (not the eyeballs): they are
the lids' following of the gaze, weighted by LID_FOLLOW_DEG (a look this many degrees up/down/in/out is
weight 1 of that shape).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import FaceModelError

SIDES = ("right", "left")  # the subject's right eye first, as the 70 landmarks order their pupils
SUFFIX = {"right": "_R", "left": "_L"}
SPHERE_RULE = ("eyeball centre = centre of the sphere fitted (least squares) to the eye's sclera vertices, refitted "
               "to the 70 % that fit it best, which leaves out the cornea's bulge")
PUPIL_RULE = ("pupil centre = mean of the front iris vertices nearest the eye's optical axis (the ring around "
              "the pupil opening); optical axis = from the eyeball centre through the pupil centre")
IRIS_CONTOUR_RULE = ("iris contour = the rim of the iris' visible front cap (its front vertices outside the eyeball's "
                     "sphere): the cap vertices joined by an iris edge to a vertex off the cap farther from the axis, and farther than half the cap's radius from it (the pupil's dip has a rim too), ordered counter-clockwise "
                     "about the optical axis seen from the front, starting towards the head's +x")
# Degrees of look that give weight 1 of the lid shapes. On the ICT eye, eyeLookDown at 1 lowers the upper lid
# by about as much as a 25-degree downward look lowers the iris' top, and eyeLookUp at 1 raises it by about
# the iris' rise in a 20-degree upward look, so the lid keeps covering the same part of the iris.
LID_FOLLOW_DEG = {"eyeLookUp": 20.0, "eyeLookDown": 25.0, "eyeLookIn": 45.0, "eyeLookOut": 45.0}
_RING_TOLERANCE = 1.25  # pupil ring = front iris vertices within this factor of the nearest one's axis distance
_SPHERE_KEEP = 70.0  # percent of sclera vertices kept in the refit


def sphere_fit(points: np.ndarray) -> tuple[np.ndarray, float]:
    """(centre (3,), radius) of the least-squares sphere through `points` (n, 3)."""
    p = np.asarray(points, np.float64)
    A = np.c_[2 * p, np.ones(len(p))]
    sol = np.linalg.lstsq(A, (p ** 2).sum(1), rcond=None)[0]
    c = sol[:3]
    return c, float(math.sqrt(max(sol[3] + c @ c, 0.0)))


def eyeball_sphere(points: np.ndarray) -> tuple[np.ndarray, float]:
    """SPHERE_RULE: the sphere of a sclera without its cornea's bulge. Posing an image asks for the same
    eyes several times: the last few answers are kept, keyed by the points' bytes."""
    p = np.ascontiguousarray(points, np.float64)
    key = hashlib.blake2b(p.tobytes(), digest_size=16).digest() + bytes(str(p.shape), "ascii")
    if key in _SPHERES:
        c, r = _SPHERES[key]
        return c.copy(), r
    c, r = sphere_fit(p)
    for _ in range(3):
        res = np.abs(np.linalg.norm(p - c, axis=1) - r)
        c, r = sphere_fit(p[res <= np.percentile(res, _SPHERE_KEEP)])
    _SPHERES[key] = (c.copy(), r)
    while len(_SPHERES) > 8:
        _SPHERES.pop(next(iter(_SPHERES)))
    return c, r


_SPHERES: dict[bytes, tuple[np.ndarray, float]] = {}  # eyeball_sphere's last answers, oldest first


@dataclass(frozen=True)
class Eye:
    """Fixed vertex ids of one eye: eyeball (every vertex that turns with it), sclera, pupil (the ring whose
    mean is the pupil centre) and iris_contour (IRIS_CONTOUR_RULE, in contour order)."""

    side: str
    eyeball: np.ndarray
    sclera: np.ndarray
    pupil: np.ndarray
    iris_contour: np.ndarray

    def centre(self, vertices: np.ndarray) -> np.ndarray:
        return eyeball_sphere(np.asarray(vertices, np.float64)[self.sclera])[0]

    def pupil_centre(self, vertices: np.ndarray) -> np.ndarray:
        return np.asarray(vertices, np.float64)[self.pupil].mean(0)


def _part(model, name: str) -> tuple[int, int]:
    part = (getattr(model, "segments", None) or {}).get("eyeball", {}).get(name)
    if not (isinstance(part, dict) and len(part.get("vertices", ())) == 2):
        raise FaceModelError(f"the face model's segments.json has no eyeball part {name!r}; eye gaze and pupil "
                             "landmarks need the eyeball parts (use the ICT-FaceKit model)")
    a, b = (int(x) for x in part["vertices"])
    return a, b


def _eye(model, side: str) -> Eye:
    s0, s1 = _part(model, f"Sclera {side}")
    i0, i1 = _part(model, f"Iris {side}")
    neutral = np.asarray(model.neutral, np.float64)
    centre, radius = eyeball_sphere(neutral[s0 : s1 + 1])
    ids = np.arange(i0, i1 + 1)
    d = neutral[ids] - centre
    axis = d.mean(0)
    axis /= np.linalg.norm(axis)
    front = (d @ axis) > 0
    fid, fd = ids[front], d[front]
    axis = fd.mean(0)
    axis /= np.linalg.norm(axis)
    radial = np.linalg.norm(fd - np.outer(fd @ axis, axis), axis=1)
    ring = np.sort(fid[radial <= radial.min() * _RING_TOLERANCE]).astype(np.int64)
    # The iris contour, in a frame about the optical axis (centre -> pupil centre).
    axis = neutral[ring].mean(0) - centre
    axis /= np.linalg.norm(axis)
    e1 = np.array([1.0, 0.0, 0.0]) - axis[0] * axis
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)  # counter-clockwise seen from the front
    # The visible cap: front iris vertices outside the eyeball's sphere; its outer rim: cap vertices with
    # an iris edge to a vertex off the cap farther from the axis (the pupil's dip makes an inner rim too).
    cap = np.zeros(len(neutral), bool)
    cap[fid[np.linalg.norm(fd, axis=1) > radius]] = True
    rad_all = np.zeros(len(neutral))
    da = neutral[ids] - centre
    rad_all[ids] = np.linalg.norm(da - np.outer(da @ axis, axis), axis=1)
    tri = np.asarray(model.triangles)
    tri = tri[np.all((tri >= i0) & (tri <= i1), axis=1)]
    edges = np.r_[tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]
    edges = np.r_[edges, edges[:, ::-1]]
    out = cap[edges[:, 0]] & ~cap[edges[:, 1]] & (rad_all[edges[:, 1]] > rad_all[edges[:, 0]])
    rim = np.unique(edges[out, 0])
    rim = rim[rad_all[rim] > 0.5 * rad_all[cap].max()]  # the pupil's dip has a rim of its own near the axis
    if len(rim) < 8:
        raise FaceModelError(f"the face model's {side} iris has no visible front cap ring (found {len(rim)} "
                             "vertices); the iris contour needs an ICT-like eye mesh")
    rd = neutral[rim] - centre
    ang = np.mod(np.arctan2(rd @ e2, rd @ e1), 2 * np.pi)
    contour = rim[np.lexsort((rim, ang))]
    sclera = np.arange(s0, s1 + 1, dtype=np.int64)
    return Eye(side, np.r_[sclera, ids].astype(np.int64), sclera, ring, np.asarray(contour, np.int64))


@lru_cache(maxsize=4)
def _eyes_cached(model) -> tuple[Eye, Eye]:
    return _eye(model, "right"), _eye(model, "left")


def eyes(model) -> tuple[Eye, Eye]:
    """(right, left) Eye of the face model (computed once per model, on its neutral)."""
    return _eyes_cached(model)


# ---- gaze ----------------------------------------------------------------------------------------
def direction(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Unit head-frame direction of (yaw, pitch): yaw > 0 towards the subject's left (+x), pitch > 0 up."""
    y, p = math.radians(yaw_deg), math.radians(pitch_deg)
    return np.array([math.sin(y) * math.cos(p), math.sin(p), math.cos(y) * math.cos(p)])


def yaw_pitch(d: np.ndarray) -> tuple[float, float]:
    """Inverse of direction(): (yaw, pitch) degrees of a head-frame direction."""
    d = np.asarray(d, np.float64) / np.linalg.norm(d)
    return math.degrees(math.atan2(d[0], d[2])), math.degrees(math.asin(max(-1.0, min(1.0, d[1]))))


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(3, 3) the smallest rotation taking unit vector a to unit vector b (Rodrigues)."""
    a = np.asarray(a, np.float64) / np.linalg.norm(a)
    b = np.asarray(b, np.float64) / np.linalg.norm(b)
    v, c = np.cross(a, b), float(a @ b)
    if c < -1.0 + 1e-12:
        raise ValueError("a gaze cannot turn an eye backwards")
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


FORWARD = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class Gaze:
    """A gaze in the head frame: yaw/pitch degrees of the direction from the eyes' midpoint to the target,
    distance (model units, inf for parallel eyes)."""

    yaw: float = 0.0
    pitch: float = 0.0
    distance: float = math.inf

    @property
    def is_rest(self) -> bool:
        return self.yaw == 0.0 and self.pitch == 0.0 and math.isinf(self.distance)


def eye_rotations(model, vertices: np.ndarray, gaze: Gaze) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per eye (right, left): (centre, rotation, line-of-sight direction) for `gaze` on these model-unit
    vertices (the eyes at rest)."""
    v = np.asarray(vertices, np.float64)
    centres = [e.centre(v) for e in eyes(model)]
    d = direction(gaze.yaw, gaze.pitch)
    out = []
    for c in centres:
        if math.isinf(gaze.distance):
            sight = d
        else:
            sight = (np.mean(centres, axis=0) + gaze.distance * d) - c
            sight = sight / np.linalg.norm(sight)
        out.append((c, rotation_between(FORWARD, sight), sight))
    return out


def apply_gaze(model, vertices: np.ndarray, gaze: Gaze) -> np.ndarray:
    """The vertices (model units) with each eyeball turned to `gaze` about its centre; the array itself
    when the gaze is the rest gaze (so the bytes are the rest pose's)."""
    if gaze.is_rest:
        return vertices
    out = np.array(vertices, copy=True)
    v = np.asarray(vertices, np.float64)
    for eye, (c, R, _) in zip(eyes(model), eye_rotations(model, v, gaze)):
        out[eye.eyeball] = ((v[eye.eyeball] - c) @ R.T + c).astype(out.dtype)
    return out


def lid_weights(model, vertices: np.ndarray, gaze: Gaze) -> dict[str, float]:
    """The eyeLook* blendshape weights of the lids following `gaze` (LID_FOLLOW_DEG), those the model has."""
    if gaze.is_rest:
        return {}
    names = set(model.expression_names)
    out: dict[str, float] = {}
    for eye, (_, _, sight) in zip(eyes(model), eye_rotations(model, vertices, gaze)):
        yaw, pitch = yaw_pitch(sight)
        outward = yaw if eye.side == "left" else -yaw  # the left eye looks out towards +x
        looks = {"eyeLookUp": max(pitch, 0.0), "eyeLookDown": max(-pitch, 0.0),
                 "eyeLookOut": max(outward, 0.0), "eyeLookIn": max(-outward, 0.0)}
        for shape, deg in looks.items():
            name = shape + SUFFIX[eye.side]
            w = min(1.0, deg / LID_FOLLOW_DEG[shape])
            if name in names and w > 0:
                out[name] = w
    return out
