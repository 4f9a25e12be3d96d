"""Seeded lighting: a distribution over environments -> per image a LightingSpec and its environment map.

Distribution (a YAML mapping, validated here; every key optional, shown with its default):
    sources: [{shipped: all}]     # where environments come from, weights relative, e.g.
      # - {shipped: all, weight: 3}            # or a list of names (shipped.names())
      # - {folder: ~/hdri, weight: 1}          # every .exr / .hdr in it (relative: to the YAML's folder)
      # - {studio: [three_point, rembrandt], rotation: [-20, 20]}   # or all (studio.PRESETS); a source's
      #                                        # own rotation range replaces the global one
    rotation: [-180, 180]         # yaw about +y in degrees (envmap.rotation), uniform; or one number
    tilt: 0                       # rotation about +x after the yaw, degrees in [-90, 90] (+: the front goes down)
    exposure: 0                   # EV stops after normalisation, e.g. [-1, 1] (uniform)
    temperature: 6500             # light colour in K (whitebalance), e.g. [4500, 9000]: uniform in mired (1e6 / K)
    normalize: true               # scale each map so its front irradiance (envmap.front_irradiance) is:
    target_irradiance: 1.666...   # the renderer's fixed lights' (studio.todays_front_irradiance)
    resolution: 256               # working map height (power of two, 64..2048); width is twice that

The environment of a spec: the source map resized to the working resolution, rotated, normalised, white
balanced, exposed, in that order (`make_environment`): a spec alone remakes the same bytes. Image `index`
of a job with seed `seed` draws from its own stream (seed, index), so shards and resumed jobs agree.
Sources are an item list fixed when the distribution is resolved (a folder's files sorted by name): a
source's weight is shared evenly by its items.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError, InputError, validation_problems
from ..yamlio import load_yaml
from . import envmap, shipped, studio
from .hdri import SUFFIXES, read_hdri
from .prefilter import DEFAULT_LEVELS, check_levels, level_roughness, prefilter_level
from .shade import ShadingInputs, diffuse_inputs, shading_inputs
from .whitebalance import MAX_K, MIN_K, kelvin_rgb

Range = float | tuple[float, float]
_STREAM = 0x4C494748  # "LIGH": this sampler's stream, apart from the others drawn from (seed, index)
_HELD_STREAM = 0x4C484C44  # "LHLD": a spec held by a group of images (a data-set subject's sweep), by group index
_CACHE_BYTES = 256 << 20  # per cache: every shipped map and studio at 256 high fits (26 x 1.5 MB)


class Source(BaseModel):
    """One source of environments: exactly one of shipped, folder, studio."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shipped: Literal["all"] | list[str] | None = None
    folder: str | None = None
    studio: Literal["all"] | list[str] | None = None
    weight: float = Field(1.0, gt=0.0, allow_inf_nan=False)
    rotation: float | tuple[float, float] | None = None

    @field_validator("rotation")
    @classmethod
    def _rotation(cls, v):
        return None if v is None else _range(v, -360.0, 360.0, "rotation (degrees)")

    @model_validator(mode="after")
    def _one_kind(self):
        given = [k for k in ("shipped", "folder", "studio") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of shipped, folder, studio" + (f" (got {', '.join(given)})" if given else ""))
        for kind, known in (("shipped", shipped.names()), ("studio", tuple(studio.PRESETS))):
            v = getattr(self, kind)
            if isinstance(v, list):
                bad = [x for x in v if x not in known]
                if bad or not v:
                    raise ValueError(f"unknown {kind} names {bad} (known: {', '.join(known)})" if bad else f"{kind} list is empty")
        return self


def _range(v, lo: float, hi: float, what: str) -> tuple[float, float]:
    a, b = (v, v) if isinstance(v, (int, float)) else v
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b)) or a > b or a < lo or b > hi:
        raise ValueError(f"{what} must be a number or [low, high] with {lo:g} <= low <= high <= {hi:g}")
    return a, b


class LightingDistribution(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    sources: list[Source] = Field(default_factory=lambda: [Source(shipped="all")], min_length=1)
    rotation: Range = (-180.0, 180.0)
    tilt: Range = 0.0
    exposure: Range = 0.0
    temperature: Range = 6500.0
    normalize: bool = True
    target_irradiance: float = Field(default_factory=studio.todays_front_irradiance, gt=0.0, allow_inf_nan=False)
    resolution: int = 256

    @field_validator("rotation")
    @classmethod
    def _rotation(cls, v):
        return _range(v, -360.0, 360.0, "rotation (degrees)")

    @field_validator("tilt")
    @classmethod
    def _tilt(cls, v):
        return _range(v, -90.0, 90.0, "tilt (degrees)")

    @field_validator("exposure")
    @classmethod
    def _exposure(cls, v):
        return _range(v, -10.0, 10.0, "exposure (EV stops)")

    @field_validator("temperature")
    @classmethod
    def _temperature(cls, v):
        return _range(v, MIN_K, MAX_K, "temperature (K)")

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, v):
        if v < 64 or v > 2048 or v & (v - 1):
            raise ValueError("resolution must be a power of two in 64..2048 (the map's height)")
        return v


def lighting_from_dict(data: Any, source: str = "lighting") -> LightingDistribution:
    """Validate a distribution mapping (None: the defaults) or raise one ConfigError line."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping (sources, rotation, exposure, ...), got {type(data).__name__}")
    try:
        return LightingDistribution.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, LightingDistribution.model_fields, show_input=True)
        raise ConfigError(f"{source} is invalid: {problems}") from exc


def load_lighting(path: str | Path) -> LightingSampler:
    """A sampler for the distribution in YAML file `path` (folders relative to its folder)."""
    path = Path(path)
    return LightingSampler(lighting_from_dict(load_yaml(path, "lighting distribution"), str(path)), path.parent)


@dataclass(frozen=True)
class LightingSpec:
    """How one environment was made; `make_environment(spec)` remakes it exactly.

    kind: "shipped" | "file" | "studio"; name: the shipped or studio name, or the file's name; path: the
    file (kind "file" only); sha256: of the file's bytes (shipped, file) or of the studio's canonical JSON;
    then the operations' parameters, in the order they are applied."""

    kind: str
    name: str
    sha256: str
    rotation_deg: float = 0.0
    tilt_deg: float = 0.0
    exposure_ev: float = 0.0
    temperature_k: float = 6500.0
    normalize: bool = True
    target_irradiance: float = field(default_factory=studio.todays_front_irradiance)
    resolution: int = 256
    path: str | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> LightingSpec:
        try:
            return cls(**data)
        except TypeError as exc:
            raise InputError(f"lighting record does not match LightingSpec's fields: {exc}") from exc


@dataclass(frozen=True, eq=False)
class Lighting:
    """A spec, its environment map ((H, 2H, 3) float32 linear RGB radiance) and the normalisation
    factor that was applied (1 without normalisation)."""

    spec: LightingSpec
    env: np.ndarray
    scale: float

    def shading_inputs(self, levels: int = DEFAULT_LEVELS) -> ShadingInputs:
        """What the renderer shades with (shade.py), made from this map, except the sharpest prefiltered
        level (by far the costliest): that one is made once per source map and turned and scaled as this
        map was (a bilinear resample of it, where the rotation is not a whole number of its texels)."""
        s = self.spec
        check_levels(self.env.shape[0], levels)
        if levels < 3:
            return shading_inputs(self.env, levels)
        gain = (self.scale * 2.0 ** s.exposure_ev * kelvin_rgb(s.temperature_k)).astype(np.float32)
        sharp = envmap.rotate(_sharpest_level(s, levels), s.rotation_deg, s.tilt_deg) * gain
        rest, smaller = [], envmap.resize(self.env, self.env.shape[0] // 2)
        for r in level_roughness(levels)[2:]:
            smaller = envmap.resize(smaller, smaller.shape[0] // 2)
            rest.append(prefilter_level(smaller, float(r)))
        return ShadingInputs(levels=(self.env, sharp, *rest), **diffuse_inputs(self.env))


@dataclass(frozen=True)
class _Item:
    kind: str
    name: str
    weight: float
    path: str | None = None
    rotation: tuple[float, float] | None = None


class LightingSampler:
    """A validated distribution resolved to its items (folders listed): draws specs per (seed, index)."""

    def __init__(self, dist: LightingDistribution, base_dir: str | Path | None = None):
        self.dist = dist
        items: list[_Item] = []
        for src in dist.sources:
            if src.shipped is not None:
                group = [_Item("shipped", n, 0.0) for n in (shipped.names() if src.shipped == "all" else src.shipped)]
            elif src.studio is not None:
                group = [_Item("studio", n, 0.0) for n in (tuple(studio.PRESETS) if src.studio == "all" else src.studio)]
            else:
                group = [_Item("file", p.name, 0.0, str(p)) for p in _folder_files(src.folder, base_dir)]
            items += [_Item(i.kind, i.name, src.weight / len(group), i.path, src.rotation) for i in group]
        self.items = tuple(items)
        w = np.array([i.weight for i in items], np.float64)
        self._cdf = np.cumsum(w / w.sum())

    def spec(self, seed: int, index: int, held: bool = False) -> LightingSpec:
        """The spec of image `index` of a job seeded `seed` (both >= 0); held: of group `index` instead (a
        stream apart from the images')."""
        if seed < 0 or index < 0:
            raise InputError(f"seed and index must be >= 0, got {seed}, {index}")
        u = np.random.default_rng([int(seed), int(index), _HELD_STREAM if held else _STREAM]).random(5)
        d = self.dist
        item = self.items[min(int(np.searchsorted(self._cdf, u[0], side="right")), len(self.items) - 1)]
        (r0, r1), (t0, t1), (e0, e1), (k0, k1) = item.rotation or d.rotation, d.tilt, d.exposure, d.temperature
        mired = 1e6 / k1 + (1e6 / k0 - 1e6 / k1) * u[4]
        return LightingSpec(
            kind=item.kind, name=item.name, sha256=_item_sha256(item), path=item.path,
            rotation_deg=float(r0 + (r1 - r0) * u[1]), tilt_deg=float(t0 + (t1 - t0) * u[2]),
            exposure_ev=float(e0 + (e1 - e0) * u[3]), temperature_k=float(min(max(1e6 / mired, k0), k1)),
            normalize=d.normalize, target_irradiance=float(d.target_irradiance), resolution=d.resolution)

    def sample(self, seed: int, index: int) -> Lighting:
        return make_environment(self.spec(seed, index))


def _folder_files(folder: str, base_dir) -> list[Path]:
    p = Path(os.path.abspath(Path(base_dir or ".") / os.path.expanduser(folder)))  # records stay valid elsewhere
    if not p.is_dir():
        raise ConfigError(f"lighting folder {p} does not exist or is not a folder; give a folder of .exr/.hdr maps")
    files = sorted((f for f in p.iterdir() if f.is_file() and f.suffix.lower() in SUFFIXES), key=lambda f: f.name)
    if not files:
        raise ConfigError(f"lighting folder {p} holds no .exr or .hdr files")
    return files


_sha_cache: dict[tuple, str] = {}


def _file_sha256(path: str) -> str:
    try:
        st = os.stat(path)
        key = (path, st.st_size, st.st_mtime_ns)
        if key not in _sha_cache:
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            _sha_cache[key] = digest.hexdigest()
    except OSError as exc:
        raise InputError(f"cannot read environment map {path}: {exc.strerror or exc}") from exc
    return _sha_cache[key]


def _item_sha256(item: _Item) -> str:
    if item.kind == "shipped":
        return shipped.SHIPPED[item.name]
    if item.kind == "studio":
        return studio.studio(item.name).sha256()
    return _file_sha256(item.path)


_maps: OrderedDict = OrderedDict()


def _remember(cache: OrderedDict, key, value: np.ndarray) -> None:
    """Keep `value`, dropping the least recently used entries beyond _CACHE_BYTES (the newest stays)."""
    cache[key] = value
    while len(cache) > 1 and sum(v.nbytes for v in cache.values()) > _CACHE_BYTES:
        cache.popitem(last=False)


def _base_map(spec: LightingSpec) -> np.ndarray:
    """The source map of `spec` at its working resolution (checked against its sha256; kept, see _remember)."""
    key = (spec.kind, spec.name, spec.path, spec.sha256, spec.resolution)
    if key in _maps:
        _maps.move_to_end(key)
        return _maps[key]
    if spec.kind == "studio":
        s = studio.studio(spec.name)
        if s.sha256() != spec.sha256:
            raise InputError(f"studio {spec.name!r} differs from the one this lighting record was made with")
        env = studio.draw(s, spec.resolution)
    elif spec.kind == "shipped":
        if shipped.SHIPPED.get(spec.name) != spec.sha256:
            raise InputError(f"shipped HDRI {spec.name!r} is not the one this lighting record was made with")
        env = envmap.resize(shipped.read_shipped(spec.name), spec.resolution)
    elif spec.kind == "file" and spec.path:
        if _file_sha256(spec.path) != spec.sha256:
            raise InputError(f"environment map {spec.path} has changed since this lighting record was made "
                             "(its SHA-256 differs)")
        env = envmap.resize(read_hdri(spec.path), spec.resolution)
    else:
        raise InputError(f"lighting record kind {spec.kind!r} is not shipped, file (with a path) or studio")
    env.setflags(write=False)
    _remember(_maps, key, env)
    return env


_prefilter_cache: OrderedDict = OrderedDict()


def _sharpest_level(spec: LightingSpec, levels: int) -> np.ndarray:
    """Level 1 of the source map's prefiltered chain (kept, see _remember)."""
    key = (spec.kind, spec.name, spec.path, spec.sha256, spec.resolution, levels)
    if key not in _prefilter_cache:
        base = _base_map(spec)
        level = prefilter_level(envmap.resize(base, base.shape[0] // 2), float(level_roughness(levels)[1]))
        level.setflags(write=False)
        _remember(_prefilter_cache, key, level)
    _prefilter_cache.move_to_end(key)
    return _prefilter_cache[key]


def make_environment(spec: LightingSpec) -> Lighting:
    """The environment map of `spec`: resized source, rotated, normalised, white balanced, exposed."""
    env = envmap.rotate(_base_map(spec), spec.rotation_deg, spec.tilt_deg)  # a new array: scaled in place
    scale = 1.0
    if spec.normalize:
        scale = envmap.normalization_scale(env, spec.target_irradiance)
        env *= np.float32(scale)  # envmap.normalize
    env *= kelvin_rgb(spec.temperature_k).astype(np.float32)  # white_balance
    env *= np.float32(2.0 ** float(spec.exposure_ev))  # envmap.exposure
    return Lighting(spec, env, scale)
