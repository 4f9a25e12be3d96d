"""Procedural studio set-ups drawn into environment maps, so HDRIs and studios share one shading path.

A studio is a uniform ambient radiance plus round area lights (discs on the sphere of directions). A light
sits at (azimuth, elevation) degrees around the face: azimuth 0 is the face's front (+z, where a frontal
camera stands), +90 is +x (the image's right, the subject's left), elevation +90 straight up. Its
`intensity` is the integral of its radiance over its solid angle (for a small disc: the irradiance on a
surface facing it), coloured by a colour temperature (whitebalance.kelvin_rgb, luminance 1). A disc's
edge is antialiased over one texel (a disc narrower than a texel is drawn one texel wide) and its radiance
set so that the drawn disc holds exactly that integral on any grid.

"default" is the renderer's fixed look today (render.renderer.DEFAULT_LIGHTS, two directional lights,
and its ambient term), each light a 2-degree disc: its diffuse shading matches the directional lights to
well under 1 %. "uniform" is a constant grey.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .envmap import texel_directions, texel_solid_angles
from .whitebalance import kelvin_rgb

# The renderer's default lights (direction towards the light, irradiance) and ambient radiance.
TODAY_LIGHTS = (((0.4, 0.5, 1.0), (2.6, 2.5, 2.4)), ((-0.7, 0.1, 0.5), (0.6, 0.65, 0.75)))
TODAY_AMBIENT = (0.08, 0.08, 0.09)


@dataclass(frozen=True)
class AreaLight:
    """A disc light: unit direction towards it (world), angular radius (degrees), linear-RGB intensity."""

    direction: tuple[float, float, float]
    radius_deg: float
    rgb: tuple[float, float, float]

    @classmethod
    def at(cls, azimuth: float, elevation: float, radius_deg: float, intensity: float,
           kelvin: float = 6500.0) -> AreaLight:
        a, e = math.radians(azimuth), math.radians(elevation)
        d = (math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a))
        return cls(d, float(radius_deg), tuple(float(x) for x in kelvin_rgb(kelvin) * float(intensity)))


@dataclass(frozen=True)
class Studio:
    """Ambient radiance (linear RGB) and area lights."""

    ambient: tuple[float, float, float]
    lights: tuple[AreaLight, ...]

    def to_json(self) -> dict:
        return {"ambient": list(self.ambient),
                "lights": [{"direction": list(l.direction), "radius_deg": l.radius_deg, "rgb": list(l.rgb)}
                           for l in self.lights]}

    def sha256(self) -> str:
        """Of the canonical JSON: identifies what is drawn."""
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


def _today() -> Studio:
    lights = []
    for d, rgb in TODAY_LIGHTS:
        n = math.sqrt(sum(x * x for x in d))
        lights.append(AreaLight(tuple(x / n for x in d), 2.0, rgb))
    return Studio(TODAY_AMBIENT, tuple(lights))


def _grey(x: float) -> tuple[float, float, float]:
    return (x, x, x)


PRESETS: dict[str, Studio] = {
    "default": _today(),
    "uniform": Studio(_grey(0.5), ()),
    # key (camera left, above), soft fill (camera right), cool rim from behind
    "three_point": Studio(_grey(0.03), (AreaLight.at(-35, 30, 12, 3.0, 5600), AreaLight.at(45, 10, 25, 0.8),
                                        AreaLight.at(160, 40, 8, 2.0, 7500))),
    # high key at 45 degrees leaving a lit triangle on the shadowed cheek, weak fill
    "rembrandt": Studio(_grey(0.02), (AreaLight.at(-50, 40, 10, 3.5, 5000), AreaLight.at(40, 0, 30, 0.4))),
    # key straight above the camera, fill from below (a reflector)
    "butterfly": Studio(_grey(0.03), (AreaLight.at(0, 45, 12, 3.0, 5600), AreaLight.at(0, -25, 30, 0.6))),
    # one side lit, the other dark
    "split": Studio(_grey(0.02), (AreaLight.at(-90, 5, 10, 3.0, 5600),)),
    # a large soft key and fill
    "softbox": Studio(_grey(0.05), (AreaLight.at(-20, 25, 35, 2.5, 5600), AreaLight.at(60, 0, 40, 0.7))),
    # two rims from behind and a soft frontal fill
    "rim": Studio(_grey(0.02), (AreaLight.at(-135, 20, 10, 2.0, 7500), AreaLight.at(135, 20, 10, 2.0, 7500),
                                AreaLight.at(0, 10, 30, 0.5))),
}


def todays_front_irradiance() -> float:
    """Luminance of envmap.front_irradiance for the renderer's default lights (analytic): the
    normalisation target that keeps today's overall brightness."""
    lum = np.array([0.2126, 0.7152, 0.0722])
    total = math.pi * float(lum @ TODAY_AMBIENT)
    for d, rgb in TODAY_LIGHTS:
        total += float(lum @ rgb) * (1.0 + d[2] / math.sqrt(sum(x * x for x in d))) / 4.0
    return total


def studio(name: str) -> Studio:
    if name not in PRESETS:
        raise InputError(f"unknown studio {name!r} (known: {', '.join(PRESETS)})")
    return PRESETS[name]


def draw(s: Studio, height: int = 256) -> np.ndarray:
    """The studio as an (height, 2 height, 3) float32 environment map."""
    if height < 8:
        raise InputError(f"studio maps need at least 8 rows, got {height}")
    h, w = height, 2 * height
    dirs = texel_directions(h, w)
    sa = texel_solid_angles(h, w)
    env = np.broadcast_to(np.asarray(s.ambient, np.float64), (h, w, 3)).copy()
    texel = math.pi / h
    for light in s.lights:
        if not light.radius_deg > 0:
            raise InputError(f"a studio light's radius must be > 0 degrees, got {light.radius_deg}")
        angle = np.arccos(np.clip(dirs @ np.asarray(light.direction, np.float64), -1.0, 1.0))
        radius = max(math.radians(light.radius_deg), texel)  # never narrower than a texel
        cover = np.clip((radius - angle) / texel + 0.5, 0.0, 1.0)
        env += (cover / float((cover * sa).sum()))[..., None] * np.asarray(light.rgb, np.float64)
    return env.astype(np.float32)
