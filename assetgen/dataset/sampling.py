"""What each image of a data set shows: its camera (yaw, pitch, roll, distance, focal length, principal
point) and its expression, drawn from seeded streams so that image i depends on (job seed, i) only.

Streams: image i draws from SeedSequence(seed, spawn_key=(IMAGE_STREAM, i)); with a sweep, what is held
per subject s comes from SeedSequence(seed, spawn_key=(HELD_STREAM, s)) and the grid cell of image i
(i mod the grid size, cells in the order of SweepSpec.keys) sets the swept values.
The gaze draws from streams of its own (GAZE_STREAM per image, GAZE_HELD_STREAM per subject with a sweep).
Every draw takes a fixed count of numbers, so one image's choices never shift another value's draw.

Camera convention (the orbit of configs/render.yaml): the camera looks at the subject's face centre from
target + distance * (sin(yaw) cos(pitch), sin(pitch), cos(yaw) cos(pitch)) in the head's frame (metres, +y
up, the face looks down +z, +x is the subject's left), then rolls about its viewing axis. So the head's
rotation relative to a camera straight in front is R_rel = Rz(roll) @ Rx(pitch) @ Ry(yaw), and
world_to_camera's rotation is R_rel @ diag(1, -1, -1) (OpenCV axes). Positive yaw: the camera is on the
subject's left; positive pitch: the camera is above the face; positive roll turns the image clockwise.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

import numpy as np

from ..face.labels import NOSE, REGION_CLASS, SKIN
from ..render.camera import Camera
from ..render.exposure import Metering
from .job import AngleSpec, DatasetJob, available_presets

IMAGE_STREAM = 0x1D5E7  # spawn keys of the image and held-per-subject streams (any fixed, distinct numbers)
HELD_STREAM = 0x5B7EC
GAZE_STREAM = 0x6A2E0  # the gaze's own streams (image i, or held per subject s with a sweep)
GAZE_HELD_STREAM = 0x6A2E1
EXPOSURE_STREAM = 0x7E0A0  # the auto exposure's offset (image i, or held per subject s with a sweep)
EXPOSURE_HELD_STREAM = 0x7E0A1
SENSOR_WIDTH_MM = 36.0
EULER_CONVENTION = ("R_rel = Rz(roll) @ Rx(pitch) @ Ry(yaw), R_rel = rotation @ diag(1, -1, -1): the head's "
                    "rotation relative to a camera straight in front of it; yaw > 0: camera on the subject's "
                    "left (+x), pitch > 0: camera above the face, roll > 0: image turned clockwise; degrees")


def _stream(seed: int, stream: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, index)))


def image_rng(seed: int, index: int) -> np.random.Generator:
    return _stream(seed, IMAGE_STREAM, index)


def held_rng(seed: int, subject: int) -> np.random.Generator:
    return _stream(seed, HELD_STREAM, subject)


def gaze_rng(seed: int, index: int, held: bool = False) -> np.random.Generator:
    return _stream(seed, GAZE_HELD_STREAM if held else GAZE_STREAM, index)


def exposure_rng(seed: int, index: int, held: bool = False) -> np.random.Generator:
    return _stream(seed, EXPOSURE_HELD_STREAM if held else EXPOSURE_STREAM, index)


# ---- angles ---------------------------------------------------------------------------------------
def truncated_normal(rng: np.random.Generator, sigma: float, limit: float, size=None):
    """Normal(0, sigma) truncated to [-limit, limit], by the inverse CDF of one uniform per value (a fixed
    count of draws). limit 0 gives 0 (a uniform is still drawn)."""
    from scipy.special import ndtr, ndtri

    u = rng.random(size)
    if limit <= 0:
        return u * 0.0
    lo = ndtr(-limit / sigma)
    x = sigma * ndtri(lo + u * (1.0 - 2.0 * lo))
    return np.clip(x, -limit, limit)


def truncated_normal_between(u: float, sigma: float, lo: float, hi: float) -> float:
    """Normal(0, sigma) truncated to [lo, hi] (lo <= 0 <= hi) at the uniform u, by the inverse CDF."""
    from scipy.special import ndtr, ndtri

    if hi <= lo:
        return float(lo)
    a, b = ndtr(lo / sigma), ndtr(hi / sigma)
    return float(np.clip(sigma * ndtri(a + u * (b - a)), lo, hi))


def draw_angle(rng: np.random.Generator, spec: AngleSpec) -> float:
    return float(truncated_normal(rng, spec.sd, spec.limit))


def truncated_normal_density(x, sigma: float, limit: float):
    """The density of truncated_normal at x (0 outside [-limit, limit])."""
    from scipy.special import ndtr

    x = np.asarray(x, np.float64)
    mass = 1.0 - 2.0 * ndtr(-limit / sigma)
    pdf = np.exp(-0.5 * (x / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi) * mass)
    return np.where(np.abs(x) <= limit, pdf, 0.0)


# ---- rotations --------------------------------------------------------------------------------------
def _rx(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], np.float64)


def _ry(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float64)


def _rz(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], np.float64)


FLIP = np.diag([1.0, -1.0, -1.0])  # a camera straight in front of the face, in OpenCV axes


def head_rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """(3, 3) R_rel (see EULER_CONVENTION)."""
    return _rz(math.radians(roll_deg)) @ _rx(math.radians(pitch_deg)) @ _ry(math.radians(yaw_deg))


def euler_from_rotation(R: np.ndarray) -> dict[str, float]:
    """{yaw, pitch, roll} degrees of a world_to_camera rotation (EULER_CONVENTION)."""
    rel = np.asarray(R, np.float64) @ FLIP
    pitch = math.asin(max(-1.0, min(1.0, rel[2, 1])))
    yaw = math.atan2(-rel[2, 0], rel[2, 2])
    roll = math.atan2(-rel[0, 1], rel[1, 1])
    return {"yaw": math.degrees(yaw), "pitch": math.degrees(pitch), "roll": math.degrees(roll)}


# ---- one image's parameters ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpressionDraw:
    """kind: neutral, preset or random; weights: blendshape -> weight in [0, 1] (the non-zero ones, sorted);
    base: the weights at intensity 1 (what a sweep scales)."""

    kind: str
    preset: str | None = None
    intensity: float = 1.0
    base: tuple[tuple[str, float], ...] = ()

    @property
    def weights(self) -> dict[str, float]:
        return {n: min(1.0, w * self.intensity) for n, w in self.base if w * self.intensity > 0}

    def at(self, intensity: float) -> "ExpressionDraw":
        return replace(self, intensity=float(intensity))

    def as_json(self) -> dict:
        return {"kind": self.kind, "preset": self.preset, "intensity": self.intensity, "weights": self.weights}


@dataclass(frozen=True)
class GazeDraw:
    """A gaze in the head frame (face.gaze): yaw/pitch degrees from the eyes' midpoint to the target,
    distance_m (inf: parallel eyes); at_camera: look into the camera instead where it is within the range."""

    yaw: float = 0.0
    pitch: float = 0.0
    distance_m: float = math.inf
    at_camera: bool = False

    def as_json(self) -> dict:
        return {"yaw_deg": self.yaw, "pitch_deg": self.pitch,
                "distance_m": None if math.isinf(self.distance_m) else self.distance_m, "at_camera": self.at_camera}


@dataclass(frozen=True)
class ImageParams:
    index: int
    subject: int
    yaw: float
    pitch: float
    roll: float
    distance_m: float
    focal_mm: float
    principal_jitter: tuple[float, float]
    expression: ExpressionDraw
    sweep: dict = field(default_factory=dict)
    gaze: GazeDraw | None = None  # None: the eyes at rest (the job's gaze is null)
    exposure_offset_ev: float = 0.0  # the auto exposure's offset after metering (0 without auto exposure)

    def camera(self, target: np.ndarray, size: int) -> Camera:
        """The OpenCV camera of this image looking at `target` (world, metres), size x size pixels."""
        R = head_rotation(self.yaw, self.pitch, self.roll) @ FLIP
        T = np.eye(4)
        T[:3, :3] = R
        T[:3, 3] = np.array([0.0, 0.0, self.distance_m]) - R @ np.asarray(target, np.float64)
        f = self.focal_mm / SENSOR_WIDTH_MM * size
        jx, jy = self.principal_jitter
        K = np.array([[f, 0.0, size / 2 + jx * size], [0.0, f, size / 2 + jy * size], [0.0, 0.0, 1.0]])
        return Camera(K, T, (size, size))

    def camera_json(self) -> dict:
        return {"yaw_deg": self.yaw, "pitch_deg": self.pitch, "roll_deg": self.roll, "distance_m": self.distance_m,
                "focal_mm": self.focal_mm, "principal_point_jitter": list(self.principal_jitter)}


def face_metering(spec, regions, offset_ev: float) -> Metering | None:
    """The auto exposure of an image (None without it): metered on the regions of the face's skin and nose
    (FaceSynthetics SKIN and NOSE) among `regions`, with the image's offset."""
    ae = spec.camera.auto_exposure
    if ae is None:
        return None
    metered = tuple(n for n in regions if n in REGION_CLASS and REGION_CLASS[n][0] in (SKIN, NOSE))
    return Metering(metered, ae.target, ae.strength, ae.max_ev, offset_ev)


class Sampler:
    """Draws ImageParams for a job against a face model (the presets it can make)."""

    def __init__(self, job: DatasetJob, model):
        self.job = job
        self.spec = job.spec
        self.presets = available_presets(job, model)
        self.preset_names = tuple(self.presets)
        sweep = self.spec.sweep
        self.grid = list(itertools.product(*(getattr(sweep, k) for k in sweep.keys()))) if sweep else []
        self.grid_keys = sweep.keys() if sweep else ()

    def expression(self, rng: np.random.Generator, non_neutral: bool = False) -> ExpressionDraw:
        ex = self.spec.expression
        mix = ex.mix
        u, u_preset, u_intensity = rng.random(3)
        k = int(rng.integers(1, mix.max_active + 1))
        order = rng.permutation(len(mix.names))
        mix_weights = rng.uniform(0.0, mix.max_weight, mix.max_active)
        neutral, preset = (0.0, ex.preset / (ex.preset + ex.random)) if non_neutral else (ex.neutral, ex.preset)
        if u < neutral:
            return ExpressionDraw("neutral", intensity=0.0)
        if u < neutral + preset and self.preset_names:
            name = self.preset_names[min(int(u_preset * len(self.preset_names)), len(self.preset_names) - 1)]
            lo, hi = ex.intensity
            return ExpressionDraw("preset", name, lo + (hi - lo) * float(u_intensity),
                                  tuple(sorted(self.presets[name].items())))
        picks = [mix.names[j] for j in order[: min(k, len(mix.names))]]
        base = {n: float(w) for n, w in zip(picks, mix_weights)}
        return ExpressionDraw("random", None, 1.0, tuple(sorted(base.items())))

    def _draw(self, rng: np.random.Generator, index: int, subject: int, non_neutral: bool = False) -> ImageParams:
        cam = self.spec.camera
        yaw, pitch, roll = (draw_angle(rng, a) for a in (cam.yaw, cam.pitch, cam.roll))
        d, f = rng.random(2)
        distance = cam.distance_m[0] + (cam.distance_m[1] - cam.distance_m[0]) * float(d)
        focal = cam.focal_mm[0] + (cam.focal_mm[1] - cam.focal_mm[0]) * float(f)
        j = cam.principal_point_jitter
        jx, jy = (float(x) for x in rng.uniform(-j, j, 2))
        expression = self.expression(rng, non_neutral)
        return ImageParams(index, subject, yaw, pitch, roll, distance, focal, (jx, jy), expression)

    def gaze(self, rng: np.random.Generator) -> GazeDraw | None:
        """A gaze from the job's distribution (four uniforms, always drawn), None without one."""
        g = self.spec.gaze
        u_yaw, u_pitch, u_distance, u_camera = (float(x) for x in rng.random(4))
        if g is None:
            return None
        yaw = truncated_normal_between(u_yaw, g.yaw_sigma, -g.yaw_limit, g.yaw_limit)
        pitch = truncated_normal_between(u_pitch, g.pitch_sigma, -g.down, g.up)
        # The range is an ellipse (the eye's field of fixation): a draw beyond it moves in to its edge.
        reach = math.hypot(yaw / g.yaw_limit if g.yaw_limit else 0.0,
                           pitch / (g.up if pitch > 0 else g.down) if pitch else 0.0)
        if reach > 1:
            yaw, pitch = yaw / reach, pitch / reach
        lo, hi = g.distance_m
        near, far = 1.0 / lo, (0.0 if hi is None else 1.0 / hi)  # vergence (1/m) is uniform between them
        vergence = far + (near - far) * u_distance
        distance = math.inf if vergence <= 0 else 1.0 / vergence
        return GazeDraw(yaw, pitch, distance, u_camera < g.at_camera)

    def exposure_offset(self, rng: np.random.Generator) -> float:
        """The auto exposure's offset in stops, uniform in its jitter_ev (0.0 without auto exposure)."""
        ae = self.spec.camera.auto_exposure
        if ae is None:
            return 0.0
        lo, hi = ae.jitter_ev
        return round(lo + (hi - lo) * float(rng.random()), 4)

    def params(self, index: int) -> ImageParams:
        """The parameters of image `index` (of subject index // images_per_subject)."""
        subject = index // self.spec.per_subject
        if not self.grid:
            return replace(self._draw(image_rng(self.spec.seed, index), index, subject),
                           gaze=self.gaze(gaze_rng(self.spec.seed, index)),
                           exposure_offset_ev=self.exposure_offset(exposure_rng(self.spec.seed, index)))
        held = self._draw(held_rng(self.spec.seed, subject), index, subject,
                          non_neutral="intensity" in self.grid_keys)
        held = replace(held, gaze=self.gaze(gaze_rng(self.spec.seed, subject, held=True)),
                       exposure_offset_ev=self.exposure_offset(exposure_rng(self.spec.seed, subject, held=True)))
        cell = dict(zip(self.grid_keys, self.grid[index % len(self.grid)]))
        upd = {k: float(cell[k]) for k in ("yaw", "pitch") if k in cell}
        if "intensity" in cell:
            upd["expression"] = held.expression.at(cell["intensity"])
        if held.gaze is not None and ("gaze_yaw" in cell or "gaze_pitch" in cell):
            upd["gaze"] = replace(held.gaze, yaw=float(cell.get("gaze_yaw", held.gaze.yaw)),
                                  pitch=float(cell.get("gaze_pitch", held.gaze.pitch)), at_camera=False)
        return replace(held, sweep={k: v if isinstance(v, str) else float(v) for k, v in cell.items()}, **upd)
