"""The data-set job: what `assetgen dataset JOB.yaml --out DIR` makes, validated at the edge.

    name: demo-set              # optional; file-safe
    count: 100                  # images
    seed: 0                     # image i depends on (seed, i) only
    resolution: 512             # square images, 64..2048 px (64..255 for tests and quick looks)
    images_per_subject: 10      # consecutive images share a subject (with `sweep:`, the grid's size)
    subjects:                   # exactly one of recipe / library
      recipe: demo              # made on the fly: subject s is asset s of `assetgen batch` with this recipe,
      texture_resolution: 256   #   the job's seed, this resolution and distribution
      hair: true                # the recipe's hair; false: none; or the parts to grow, e.g. [brows, lashes]
      distribution: balanced    # attribute ratios (assetgen.library.sample), a shipped name, a path or inline
      # library: ../library     # or stored assets: a library folder (relative to this file)
      # where: [skin_tone=monk_05]  # its query filters (assetgen library ls --where); with a distribution,
                                    # subjects are sampled with those ratios (assetgen library sample)
    camera:                     # yaw/pitch/roll: normals truncated at +-limit, density at the limit =
      yaw: {limit: 90, edge_density: 0.001}    #  edge_density x the density at 0 (DigiFace-1M's rule)
      pitch: {limit: 30, edge_density: 0.001}
      roll: {limit: 0}
      distance_m: [0.32, 0.42]  # uniform, camera to the face centre
      focal_mm: [45, 65]        # uniform, 35 mm-equivalent (36 mm sensor width)
      principal_point_jitter: 0.03   # uniform +- this fraction of the image size
      supersample: 2            # rgb antialiasing (GT layers are exact)
      auto_exposure:            # null (the default): the lighting's exposure as is. Set: the camera meters the
        target: 0.18            #   face (skin and nose) like face-priority auto exposure: `strength` of the
        strength: 0.5           #   stops that bring its mean linear luminance to `target`, clamped to +-max_ev,
        max_ev: 3.0             #   plus a per-image offset uniform in jitter_ev (held per subject in a sweep);
        jitter_ev: [-0.3, 0.3]  #   each record's camera.exposure_ev says what was applied
    expression:
      neutral: 0.25             # shares of neutral, preset and random images (sum to 1)
      preset: 0.35
      random: 0.4
      presets: [smile, surprise]          # which presets (default: every one the face model can make)
      define: {wink: {eyeBlink_L: 1.0}}   # more presets: blendshape -> weight
      intensity: [0.6, 1.0]     # presets are scaled by a uniform intensity
      mix: {max_active: 3, max_weight: 0.8, names: [jawOpen, mouthSmile_L, ...]}   # random mixes
    sweep:                      # optional grids; everything else is held per subject
      yaw: [-60, -30, 0, 30, 60]
      pitch: [-20, 0, 20]
      intensity: [0.0, 0.5, 1.0]
      gaze_yaw: [-30, 0, 30]    # eyes (gaze_pitch too); the gaze's distance is held per subject
      exposure: [-1, 0, 1]      # EV of the environment (image-based lighting); lighting and background are
                                #   held per subject in a sweep
      items_off: [none, glasses]   # an item taken off (glasses, clothing, earrings, piercings; none: as worn)
    lighting:                   # {type: default}: the renderer's fixed lights (the default); or image-based
      sources: [{shipped: all}] #   lighting from assetgen.lighting's distribution: shipped HDRIs, {folder: DIR},
      rotation: [-180, 180]     #   {studio: [three_point, ...]}; rotation, tilt, exposure (EV), temperature (K),
      exposure: [-0.5, 0.5]     #   normalize, resolution (see assetgen/lighting/sample.py); each image draws its
      temperature: [5000, 8000] #   own from (seed, image) and records it
    background: {type: environment}   # none (black, the default), environment (the HDRI behind the head; needs
                                # image-based lighting), color (color: [r, g, b] sRGB 0..1), folder (folder: DIR
                                # of .png/.jpg images, one picked per image, scaled to cover and cropped)
    layers: [regions, depth, normal]   # the extra GT files beside the FaceSynthetics ones: regions, depth,
                                       # normal, hair_coverage, albedo, dense, seg_bare (writer.py)
    gaze:                       # eyes looking around independently of the head (face.gaze); null: straight ahead
      yaw_limit: 25             # degrees, + towards the subject's left: normal(0, yaw_sigma) truncated at +-limit
      yaw_sigma: 12
      up: 12                    # pitch (+ up): normal(0, pitch_sigma) truncated to [-down, up]
      down: 20                  # (the range is the ellipse through these limits)
      pitch_sigma: 8
      distance_m: [0.3, null]   # target distance; 1/distance uniform (null: up to parallel eyes)
      at_camera: 0.1            # share of images looking into the camera (where it is within the range)
      lids_follow: true         # the lids follow the look (eyeLook* blendshapes)
    dense_landmarks: {count: 500}      # layer dense: points spread over the face, or {vertices: [ids...]}
    renderer: assetgen          # the rgb image's renderer: assetgen (fast, the default) or cycles (Blender Cycles
    cycles: {samples: 64}       #   in .venv-bpy, dataset/cycles.py); every GT layer is assetgen's either way
    shadows: true               # the fast renderer's two strongest lights cast shadows (render/shadows.py);
                                #   false: flatter and about 10 % faster (Cycles' lights always cast them)

Every problem is one ConfigError naming the file and the key.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError, validation_problems
from ..names import name_problem

FORMAT = "assetgen-dataset/1"
EXTRA_LAYERS = ("regions", "depth", "normal", "hair_coverage", "albedo", "dense", "seg_bare")
EXPOSURE_MAX = 10.0  # EV a sweep may set the environment's exposure to, either way
# The eyeball's physiological range (degrees from looking straight ahead): a gaze distribution may not reach
# beyond it.
GAZE_YAW_MAX = 50.0
GAZE_UP_MAX = 40.0
GAZE_DOWN_MAX = 55.0

# Named expressions as mixes of ARKit-style blendshapes (ICT-FaceKit's names). A preset is offered when the
# face model has every shape it uses; a job's `expression.define` adds or replaces presets.
PRESETS: dict[str, dict[str, float]] = {
    "smile": {"mouthSmile_L": 0.8, "mouthSmile_R": 0.8, "cheekSquint_L": 0.3, "cheekSquint_R": 0.3},
    "open_smile": {"mouthSmile_L": 0.8, "mouthSmile_R": 0.8, "jawOpen": 0.3, "cheekSquint_L": 0.4,
                   "cheekSquint_R": 0.4},
    "surprise": {"browInnerUp_L": 0.8, "browInnerUp_R": 0.8, "browOuterUp_L": 0.7, "browOuterUp_R": 0.7,
                 "eyeWide_L": 0.6, "eyeWide_R": 0.6, "jawOpen": 0.4},
    "anger": {"browDown_L": 0.8, "browDown_R": 0.8, "eyeSquint_L": 0.4, "eyeSquint_R": 0.4, "noseSneer_L": 0.3,
              "noseSneer_R": 0.3, "mouthPress_L": 0.5, "mouthPress_R": 0.5},
    "sadness": {"browInnerUp_L": 0.6, "browInnerUp_R": 0.6, "mouthFrown_L": 0.7, "mouthFrown_R": 0.7,
                "mouthShrugLower": 0.3},
    "disgust": {"noseSneer_L": 0.8, "noseSneer_R": 0.8, "mouthUpperUp_L": 0.5, "mouthUpperUp_R": 0.5,
                "browDown_L": 0.3, "browDown_R": 0.3},
    "fear": {"browInnerUp_L": 0.8, "browInnerUp_R": 0.8, "eyeWide_L": 0.7, "eyeWide_R": 0.7,
             "mouthStretch_L": 0.5, "mouthStretch_R": 0.5},
    "kiss": {"mouthPucker": 0.9},
    "mouth_open": {"jawOpen": 0.6},
    "eyes_closed": {"eyeBlink_L": 1.0, "eyeBlink_R": 1.0},
}

DEFAULT_MIX = ("jawOpen", "mouthSmile_L", "mouthSmile_R", "browInnerUp_L", "browInnerUp_R", "eyeBlink_L", "eyeBlink_R",
               "mouthFunnel", "mouthPucker", "browDown_L", "browDown_R", "cheekPuff_L", "cheekPuff_R", "mouthFrown_L",
               "mouthFrown_R", "eyeWide_L", "eyeWide_R", "noseSneer_L", "noseSneer_R", "mouthStretch_L",
               "mouthStretch_R", "eyeLookUp_L", "eyeLookUp_R", "eyeLookDown_L", "eyeLookDown_R", "jawLeft",
               "jawRight", "mouthLeft", "mouthRight")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _finite_range(v, what: str = "range"):
    if len(v) != 2 or not all(math.isfinite(x) for x in v) or v[0] > v[1]:
        raise ValueError(f"must be a finite [min, max] with min <= max, got {list(v)}")
    return v


class AngleSpec(_Strict):
    """A normal truncated at +-limit degrees whose density at the limit is edge_density times its density
    at 0 (sigma = limit / sqrt(2 ln(1 / edge_density))), or with an explicit sigma. limit 0: always 0."""

    limit: float = Field(ge=0, le=180)
    edge_density: float = Field(0.001, gt=0, lt=1)
    sigma: Optional[float] = Field(None, gt=0)

    @property
    def sd(self) -> float:
        if self.sigma is not None:
            return float(self.sigma)
        return float(self.limit / math.sqrt(2.0 * math.log(1.0 / self.edge_density)))


class AutoExposureSpec(_Strict):
    """Face-metered exposure of the rgb image (render.exposure.Metering)."""

    target: float = Field(0.18, gt=0, le=1)
    strength: float = Field(0.5, ge=0, le=1)
    max_ev: float = Field(3.0, ge=0, le=10)
    jitter_ev: tuple[float, float] = (-0.3, 0.3)

    @field_validator("jitter_ev")
    @classmethod
    def _jitter(cls, v):
        _finite_range(v)
        if max(abs(v[0]), abs(v[1])) > 10:
            raise ValueError(f"must stay within +-10 stops, got {list(v)}")
        return v


class CameraSpec(_Strict):
    yaw: AngleSpec = AngleSpec(limit=90.0)
    pitch: AngleSpec = AngleSpec(limit=30.0)
    roll: AngleSpec = AngleSpec(limit=0.0)
    distance_m: tuple[float, float] = (0.32, 0.42)
    focal_mm: tuple[float, float] = (45.0, 65.0)
    principal_point_jitter: float = Field(0.03, ge=0, le=0.25)
    target_offset_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    supersample: int = Field(2, ge=1, le=4)
    auto_exposure: Optional[AutoExposureSpec] = None

    @field_validator("distance_m", "focal_mm")
    @classmethod
    def _positive_range(cls, v):
        _finite_range(v)
        if v[0] <= 0:
            raise ValueError(f"must be > 0, got {list(v)}")
        return v

    @field_validator("pitch")
    @classmethod
    def _pitch(cls, v):
        if v.limit >= 89:
            raise ValueError(f"pitch limit must stay below 89 degrees (the camera keeps the head upright), got {v.limit}")
        return v


class MixSpec(_Strict):
    """Random blendshape mixes: 1..max_active shapes from `names`, each weight uniform in [0, max_weight]."""

    max_active: int = Field(3, ge=1, le=20)
    max_weight: float = Field(0.8, gt=0, le=1)
    names: tuple[str, ...] = DEFAULT_MIX

    @field_validator("names")
    @classmethod
    def _some(cls, v):
        if not v:
            raise ValueError("must name at least one blendshape")
        return v


class ExpressionSpec(_Strict):
    neutral: float = Field(0.25, ge=0, le=1)
    preset: float = Field(0.35, ge=0, le=1)
    random: float = Field(0.4, ge=0, le=1)
    presets: Optional[tuple[str, ...]] = None
    define: dict[str, dict[str, float]] = Field(default_factory=dict)
    intensity: tuple[float, float] = (0.6, 1.0)
    mix: MixSpec = MixSpec()

    @field_validator("intensity")
    @classmethod
    def _intensity(cls, v):
        _finite_range(v)
        if v[0] < 0 or v[1] > 1:
            raise ValueError(f"must lie in [0, 1], got {list(v)}")
        return v

    @field_validator("define")
    @classmethod
    def _define(cls, v):
        for name, shapes in v.items():
            if name_problem(name) is not None:
                raise ValueError(f"preset name {name!r} is not allowed: {name_problem(name)}")
            if not shapes:
                raise ValueError(f"preset {name!r} names no blendshape")
            for shape, w in shapes.items():
                if not (math.isfinite(w) and 0 <= w <= 1):
                    raise ValueError(f"preset {name!r}: weight of {shape!r} must lie in [0, 1], got {w}")
        return v

    @model_validator(mode="after")
    def _shares(self):
        total = self.neutral + self.preset + self.random
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"neutral + preset + random must be 1, got {self.neutral} + {self.preset} + "
                             f"{self.random} = {total:g}")
        return self

    def preset_table(self) -> dict[str, dict[str, float]]:
        """The presets a job may draw: the chosen built-in ones (all by default) plus `define`."""
        table = {**PRESETS, **self.define}
        if self.presets is None:
            return table
        return {n: table[n] for n in self.presets}


class SubjectsSpec(_Strict):
    recipe: Optional[str] = None
    texture_resolution: int = Field(512, ge=64, le=4096)
    hair: Union[bool, tuple[Literal["scalp", "brows", "beard", "lashes"], ...]] = True
    distribution: Union[str, dict[str, Any], None] = None
    library: Optional[str] = None
    where: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_source(self):
        if (self.recipe is None) == (self.library is None):
            raise ValueError("give exactly one of recipe (subjects made on the fly) or library (stored subjects)")
        if self.recipe is not None and self.where:
            raise ValueError("where filters library subjects; it needs `library:`, not `recipe:`")
        if self.library is not None and self.hair is not True:
            raise ValueError("hair chooses what a recipe grows; library subjects keep the hair they were made with")
        return self


class SweepSpec(_Strict):
    """Grids swept per subject (every combination, in the order intensity, yaw, pitch, gaze_yaw, gaze_pitch,
    exposure, items_off); exposure: the environment's exposure_ev (EV after normalising), the lighting held
    per subject; items_off: an item kind taken off the subject in that cell ("none": as worn). Headwear and
    facewear are not swept: the hair under them was grown for them (swapped for a style that fits, clipped
    where they cover it)."""

    yaw: Optional[tuple[float, ...]] = None
    pitch: Optional[tuple[float, ...]] = None
    intensity: Optional[tuple[float, ...]] = None
    gaze_yaw: Optional[tuple[float, ...]] = None
    gaze_pitch: Optional[tuple[float, ...]] = None
    exposure: Optional[tuple[float, ...]] = None
    items_off: Optional[tuple[Literal["none", "glasses", "clothing", "earrings", "piercings"], ...]] = None

    @field_validator("items_off")
    @classmethod
    def _kinds(cls, v):
        if v is not None and (not v or len(set(v)) != len(v)):
            raise ValueError(f"must list distinct item kinds (none = as worn), got {list(v)}")
        return v

    @field_validator("yaw", "pitch", "intensity", "gaze_yaw", "gaze_pitch", "exposure")
    @classmethod
    def _values(cls, v, info):
        if v is None:
            return v
        if not v or len(v) > 1000:
            raise ValueError("must list 1..1000 values")
        if not all(math.isfinite(x) for x in v):
            raise ValueError(f"must be finite numbers, got {list(v)}")
        if info.field_name == "gaze_yaw" and any(abs(x) > GAZE_YAW_MAX for x in v):
            raise ValueError(f"eyes turn at most {GAZE_YAW_MAX:g} degrees sideways, got {list(v)}")
        if info.field_name == "gaze_pitch" and any(not -GAZE_DOWN_MAX <= x <= GAZE_UP_MAX for x in v):
            raise ValueError(f"eyes look at most {GAZE_UP_MAX:g} degrees up and {GAZE_DOWN_MAX:g} down, got {list(v)}")
        if info.field_name == "exposure":
            if any(abs(x) > EXPOSURE_MAX for x in v):
                raise ValueError(f"exposures must lie within +-{EXPOSURE_MAX:g} EV, got {list(v)}")
            return v
        bound = {"yaw": 180.0, "pitch": 88.0, "intensity": None, "gaze_yaw": 180.0, "gaze_pitch": 180.0}[info.field_name]
        if bound is not None and any(abs(x) > bound for x in v):
            raise ValueError(f"values must lie within +-{bound:g} degrees, got {list(v)}")
        if bound is None and any(not 0 <= x <= 1 for x in v):
            raise ValueError(f"intensities must lie in [0, 1], got {list(v)}")
        return v

    def keys(self) -> tuple[str, ...]:
        return tuple(k for k in ("intensity", "yaw", "pitch", "gaze_yaw", "gaze_pitch", "exposure", "items_off")
                     if getattr(self, k) is not None)

    def size(self) -> int:
        return math.prod(len(getattr(self, k)) for k in self.keys())


class GazeSpec(_Strict):
    """Where the eyes look, independently of the head (face.gaze): a direction from the eyes' midpoint,
    yaw (+ towards the subject's left) a normal truncated at +-yaw_limit, pitch (+ up) a normal truncated
    to [-down, up], moved in to the ellipse through (+-yaw_limit, 0), (0, up), (0, -down) when beyond it
    (the eye's field of fixation), and a target distance whose inverse (the vergence) is uniform between 1/max and
    1/min (max null: up to parallel eyes). A share `at_camera` of images look into the camera instead,
    where the camera lies within the range. lids_follow: the lids follow the look (the eyeLook* shapes).

    The defaults are the range in which the ICT eye, seen from the front at a neutral expression, keeps
    its pupil inside the lid opening for most identities (its eyeball is large, 15.5 mm in radius, its
    opening narrow, and its eyeLookUp raises the upper lid little); the limits (GAZE_*_MAX) are the human
    eye's. Beyond the defaults the iris of this model hides in a corner or under a lid."""

    yaw_limit: float = Field(25.0, ge=0)
    yaw_sigma: float = Field(12.0, gt=0)
    up: float = Field(12.0, ge=0)
    down: float = Field(20.0, ge=0)
    pitch_sigma: float = Field(8.0, gt=0)
    distance_m: tuple[float, Optional[float]] = (0.3, None)
    at_camera: float = Field(0.1, ge=0, le=1)
    lids_follow: bool = True

    @field_validator("yaw_limit")
    @classmethod
    def _yaw(cls, v):
        if v > GAZE_YAW_MAX:
            raise ValueError(f"is {v:g} degrees, beyond the eyeball's range (at most {GAZE_YAW_MAX:g})")
        return v

    @field_validator("up")
    @classmethod
    def _up(cls, v):
        if v > GAZE_UP_MAX:
            raise ValueError(f"is {v:g} degrees, beyond the eyeball's range (at most {GAZE_UP_MAX:g})")
        return v

    @field_validator("down")
    @classmethod
    def _down(cls, v):
        if v > GAZE_DOWN_MAX:
            raise ValueError(f"is {v:g} degrees, beyond the eyeball's range (at most {GAZE_DOWN_MAX:g})")
        return v

    @field_validator("distance_m")
    @classmethod
    def _distance(cls, v):
        lo, hi = v
        if not (math.isfinite(lo) and lo >= 0.05) or (hi is not None and not (math.isfinite(hi) and hi >= lo)):
            raise ValueError(f"must be [min, max] metres with 0.05 <= min <= max (max null: infinity), got {list(v)}")
        return v


class DenseSpec(_Strict):
    """The dense landmarks (layer `dense`): `count` points spread over the face (face.dense), or the
    model's vertex ids `vertices` (then count is ignored)."""

    count: int = Field(500, ge=1, le=5000)
    vertices: Optional[tuple[int, ...]] = None

    @field_validator("vertices")
    @classmethod
    def _ids(cls, v):
        if v is not None and (not v or len(v) > 100_000 or any(i < 0 for i in v)):
            raise ValueError("must list 1..100000 vertex ids >= 0")
        if v is not None and len(set(v)) != len(v):
            raise ValueError("lists a vertex id twice")
        return v


class LightingSpec(_Strict):
    """`lighting: {type: default}`: the renderer's two fixed directional lights (no environment)."""

    type: Literal["default"]


def _lighting(v):
    """{type: default} -> LightingSpec; any other mapping -> assetgen.lighting's distribution."""
    from ..lighting.sample import LightingDistribution

    if isinstance(v, (LightingSpec, LightingDistribution)) or not isinstance(v, dict):
        return v
    if "type" in v:
        return LightingSpec.model_validate(v)
    try:
        return LightingDistribution.model_validate(v)
    except ValidationError as exc:
        raise ValueError(validation_problems(exc, LightingDistribution.model_fields, show_input=True)) from None


BACKGROUND_SUFFIXES = (".png", ".jpg", ".jpeg")


class BackgroundSpec(_Strict):
    """What the rgb image shows behind the head (render.environment); the GT layers never see it."""

    type: Literal["none", "environment", "color", "folder"] = "none"
    color: Optional[tuple[float, float, float]] = None
    folder: Optional[str] = None

    @field_validator("color")
    @classmethod
    def _color(cls, v):
        if v is not None and not all(math.isfinite(c) and 0.0 <= c <= 1.0 for c in v):
            raise ValueError(f"color must be three sRGB values in 0..1, got {list(v)}")
        return v

    @model_validator(mode="after")
    def _fields(self):
        if (self.type == "color") != (self.color is not None):
            raise ValueError("give color: [r, g, b] (sRGB 0..1) with type color, and only then")
        if (self.type == "folder") != (self.folder is not None):
            raise ValueError("give folder: DIR (of .png/.jpg images) with type folder, and only then")
        return self


class CyclesSpec(_Strict):
    """`cycles:` settings of `renderer: cycles` (assetgen.dataset.cycles)."""

    samples: int = Field(64, ge=1, le=65536)


class JobSpec(_Strict):
    name: Optional[str] = None
    count: int = Field(ge=1, le=10_000_000)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    resolution: int = Field(512, ge=64, le=2048)
    images_per_subject: Optional[int] = Field(None, ge=1, le=1_000_000)
    subjects: SubjectsSpec
    camera: CameraSpec = CameraSpec()
    expression: ExpressionSpec = ExpressionSpec()
    sweep: Optional[SweepSpec] = None
    lighting: Union[LightingSpec, "LightingDistribution"] = LightingSpec(type="default")
    background: BackgroundSpec = BackgroundSpec()
    layers: tuple[str, ...] = ("regions", "depth", "normal")
    gaze: Optional[GazeSpec] = GazeSpec()
    dense_landmarks: DenseSpec = DenseSpec()
    renderer: Literal["assetgen", "cycles"] = "assetgen"
    cycles: CyclesSpec = CyclesSpec()
    shadows: bool = True

    def as_json(self) -> dict:
        """The spec as JSON; renderer and cycles only when the rgb is Cycles', camera.auto_exposure only when
        set, shadows only when off (so jobs without them keep the ids and manifests they had before those keys
        existed)."""
        data = self.model_dump(mode="json")
        if self.renderer == "assetgen":
            data.pop("renderer")
            data.pop("cycles")
        if self.camera.auto_exposure is None:
            data["camera"].pop("auto_exposure")
        if self.shadows:
            data.pop("shadows")
        return data

    @model_validator(mode="after")
    def _cycles(self):
        if self.renderer != "cycles" and "cycles" in self.model_fields_set:
            raise ValueError("cycles: settings are for renderer: cycles, but renderer is assetgen; add "
                             "renderer: cycles or drop cycles:")
        if self.renderer == "cycles" and not self.shadows:
            raise ValueError("shadows: false turns the fast renderer's shadows off, but renderer is cycles (its "
                             "lights always cast them); drop shadows: false or use renderer: assetgen")
        return self

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        problem = None if v is None else name_problem(v) or (None if len(v) <= 64 else "use at most 64 characters")
        if problem is not None:  # subjects made on the fly are named NAME_SEED_INDEX
            raise ValueError(f"name {v!r} is not allowed: {problem}")
        return v

    @field_validator("layers")
    @classmethod
    def _layers(cls, v):
        unknown = [l for l in v if l not in EXTRA_LAYERS]
        if unknown:
            raise ValueError(f"unknown layer(s) {', '.join(map(str, unknown))}; choose from {', '.join(EXTRA_LAYERS)}")
        if len(set(v)) != len(v):
            raise ValueError(f"a layer is listed twice: {list(v)}")
        return v

    @field_validator("lighting", mode="before")
    @classmethod
    def _lighting(cls, v):
        return _lighting(v)

    @model_validator(mode="after")
    def _background(self):
        if self.background.type == "environment" and isinstance(self.lighting, LightingSpec):
            raise ValueError("background type environment shows the lighting's HDRI, but lighting is {type: default}; "
                             "give a lighting distribution (e.g. lighting: {sources: [{shipped: all}]})")
        return self

    @model_validator(mode="after")
    def _sweep(self):
        if self.sweep is None:
            return self
        if not self.sweep.keys():
            raise ValueError("sweep lists no grid; give yaw, pitch, intensity, gaze_yaw, gaze_pitch, exposure and/or "
                             "items_off values (or drop `sweep:`)")
        n = self.sweep.size()
        if self.images_per_subject is not None and self.images_per_subject != n:
            raise ValueError(f"images_per_subject is {self.images_per_subject} but the sweep grid has {n} cells; "
                             "drop images_per_subject (a sweep sets it)")
        if self.sweep.exposure is not None and self.camera.auto_exposure is not None:
            raise ValueError("sweep.exposure steps the lighting's exposure, but camera.auto_exposure meters it back; "
                             "drop one of them")
        if self.sweep.exposure is not None and isinstance(self.lighting, LightingSpec):
            raise ValueError("sweep.exposure sets the environment's exposure, but lighting is {type: default}; give "
                             "image-based lighting (lighting: {sources: [{shipped: all}]})")
        if (self.sweep.gaze_yaw is not None or self.sweep.gaze_pitch is not None) and self.gaze is None:
            raise ValueError("sweep.gaze_yaw / gaze_pitch turn the eyes, but gaze is null; drop `gaze: null`")
        if self.sweep.intensity is not None and self.expression.preset + self.expression.random == 0:
            raise ValueError("sweep.intensity scales each subject's expression, but expression.preset and "
                             "expression.random are both 0; give one a share")
        return self

    @property
    def per_subject(self) -> int:
        if self.sweep is not None:
            return self.sweep.size()
        return self.images_per_subject or 1

    @property
    def n_subjects(self) -> int:
        return -(-self.count // self.per_subject)


from ..lighting.sample import LightingDistribution  # noqa: E402  (JobSpec's lighting type)

JobSpec.model_rebuild()

@dataclass
class DatasetJob:
    """A validated job: the spec, the folder its relative paths start from, and its id (a hash of
    everything that decides the images)."""

    spec: JobSpec
    base: Path
    source: str
    id: str

    @property
    def name(self) -> str:
        return self.spec.name or "dataset"

    def identity(self) -> dict:
        """What decides the images (the spec as JSON; paths as written), hashed into the job id."""
        return {"format": FORMAT, "job": self.spec.as_json()}


def job_from_dict(data: Any, base: Path = Path("."), source: str = "job") -> DatasetJob:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of data-set settings (count, subjects, camera, ...)")
    try:
        spec = JobSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source} is invalid: {validation_problems(exc, JobSpec.model_fields)}") from exc
    ident = {"format": FORMAT, "job": spec.as_json()}
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]
    return DatasetJob(spec=spec, base=base, source=source, id=digest)


def job_path(ref: str | Path) -> Path:
    """The job file `assetgen dataset REF` means: REF if it is a file, else the shipped job of that name
    (configs/datasets/NAME.yaml, e.g. demo)."""
    from .. import resources

    path = Path(ref)
    if path.is_file():
        return path
    shipped_dir = resources.config_path("datasets")
    shipped = sorted(p.stem for p in shipped_dir.glob("*.yaml")) if shipped_dir.is_dir() else []
    if resources.is_name(str(ref)) and str(ref) in shipped:
        return shipped_dir / f"{ref}.yaml"
    raise ConfigError(f"data-set job {ref} not found: no such file, nor a shipped job (shipped: "
                      f"{', '.join(shipped) or 'none'})")


def load_job(path: str | Path) -> DatasetJob:
    """Read and validate a data-set job YAML (a path, or a shipped job's name); paths in it are relative to it."""
    from ..yamlio import load_yaml

    path = job_path(path)
    return job_from_dict(load_yaml(path, "data-set job"), base=path.parent, source=str(path))


def check_against_model(job: DatasetJob, model) -> None:
    """The blendshape names the job uses exist in the face model (ConfigError naming the key otherwise)."""
    names = set(model.expression_names)
    ex = job.spec.expression
    for shape in ex.mix.names:
        if shape not in names:
            raise ConfigError(f"{job.source}: expression.mix.names has {shape!r}, which the face model does not have "
                              f"(it has e.g. {', '.join(model.expression_names[:4])}, ...)")
    for preset, shapes in ex.define.items():
        for shape in shapes:
            if shape not in names:
                raise ConfigError(f"{job.source}: expression.define.{preset} uses {shape!r}, which the face model "
                                  "does not have")
    if ex.presets is not None:
        table = {**PRESETS, **ex.define}
        for p in ex.presets:
            if p not in table:
                raise ConfigError(f"{job.source}: expression.presets names {p!r}, which is neither built in "
                                  f"({', '.join(PRESETS)}) nor in expression.define")
            missing = [s for s in table[p] if s not in names]
            if missing:
                raise ConfigError(f"{job.source}: expression.presets: {p!r} needs blendshapes the face model lacks "
                                  f"({', '.join(missing)}); drop it or define it with expression.define")
    ids = job.spec.dense_landmarks.vertices
    if ids is not None and max(ids) >= model.n_vertices:
        raise ConfigError(f"{job.source}: dense_landmarks.vertices has vertex id {max(ids)}, but the face model has "
                          f"{model.n_vertices} vertices (ids 0..{model.n_vertices - 1})")
    if ex.preset > 0 and not available_presets(job, model):
        raise ConfigError(f"{job.source}: expression.preset is {ex.preset} but the face model can make none of the "
                          "presets; set expression.preset to 0 or add some with expression.define")


def available_presets(job: DatasetJob, model) -> dict[str, dict[str, float]]:
    """The presets the job draws from (sorted by name): listed ones, or every one the model can make."""
    names = set(model.expression_names)
    table = job.spec.expression.preset_table()
    return {n: table[n] for n in sorted(table) if all(s in names for s in table[n])}
