"""Per image of a data-set job: its lighting environment and background (job `lighting:` / `background:`).

Image i draws both from its own streams (seed, i, ...) (lighting.sample's for the environment, _STREAM
here for the background picture and its crop), so shards and resumed jobs agree byte for byte. With a sweep
both are held per subject s (streams (seed, s, ...) of their own), and a swept exposure sets the held
environment's exposure_ev: only the grid's values change within a subject. The image's
record keeps what was drawn: {type: default} for the renderer's fixed lights, else {type: environment,
spec: lighting.LightingSpec as JSON}; and background: {type, ...} unless it is none (black).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import ConfigError, InputError
from .job import BACKGROUND_SUFFIXES, DatasetJob, LightingSpec

_STREAM = 0x42474E44  # "BGND"
_HELD_STREAM = 0x42484C44  # "BHLD": a subject's background with a sweep


@dataclass(eq=False)
class ImageScene:
    """What renders image i: environment (lighting.ShadingInputs or None), background ((h, w, 3) float32
    linear or None) and the record to write."""

    environment: object
    background: np.ndarray | None
    record: dict


class Scenes:
    """The job's lighting sampler and background source, resolved once (folders listed)."""

    def __init__(self, job: DatasetJob):
        from ..lighting.sample import LightingSampler

        spec = job.spec
        self.seed = spec.seed
        self.sampler = None if isinstance(spec.lighting, LightingSpec) else LightingSampler(spec.lighting, job.base)
        self.background = spec.background
        self.files: list[Path] = []
        if self.background.type == "folder":
            folder = (job.base / Path(self.background.folder).expanduser()).resolve()
            if not folder.is_dir():
                raise ConfigError(f"{job.source}: background.folder {folder} does not exist or is not a folder; "
                                  "give a folder of .png/.jpg images")
            self.files = sorted((f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in BACKGROUND_SUFFIXES),
                                key=lambda f: f.name)
            if not self.files:
                raise ConfigError(f"{job.source}: background.folder {folder} holds no .png or .jpg images")
        self.held = spec.sweep is not None  # a sweep holds lighting and background per subject
        self._inputs = None  # (spec, Lighting, ShadingInputs) of the last image: sweeps repeat a spec

    def image(self, index: int, camera, params=None) -> ImageScene:
        """The scene of image `index` seen by `camera`; params: its sampling.ImageParams (needed with a sweep:
        its subject holds the draws, its cell's exposure sets the environment's)."""
        from ..lighting.sample import make_environment
        from ..render import environment as ibl

        env = inputs = None
        record: dict = {"type": "default"}
        key, held = index, False
        if self.held:
            if params is None:
                raise InputError("a sweep's scenes are held per subject: pass the image's params")
            key, held = params.subject, True
        if self.sampler is not None:
            spec = self.sampler.spec(self.seed, key, held)
            if params is not None and "exposure" in params.sweep:
                spec = replace(spec, exposure_ev=float(params.sweep["exposure"]))
            if self._inputs is None or self._inputs[0] != spec:
                lighting = make_environment(spec)
                self._inputs = (spec, lighting, lighting.shading_inputs())
            _, lighting, inputs = self._inputs
            env = lighting.env
            record = {"type": "environment", "spec": spec.to_json()}
        bg, kind = None, self.background.type
        if kind == "environment":
            bg = ibl.environment_background(env, camera)
            record["background"] = {"type": kind}
        elif kind == "color":
            bg = ibl.color_background(self.background.color, camera.size)
            record["background"] = {"type": kind, "color": list(self.background.color)}
        elif kind == "folder":
            u = np.random.default_rng([int(self.seed), int(key), _HELD_STREAM if held else _STREAM]).random(3)
            path = self.files[min(int(u[0] * len(self.files)), len(self.files) - 1)]
            offset = (float(u[1]), float(u[2]))
            bg = ibl.image_background(path, camera.size, offset)
            record["background"] = {"type": kind, "file": path.name, "path": str(path), "crop_offset": list(offset)}
        return ImageScene(inputs, bg, record)
