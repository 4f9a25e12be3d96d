"""Lighting environments as plain data: HDR environment maps (shipped, a user's folder, procedural
studios), their randomised rotation, exposure and white balance, and what a renderer shades with.

    hdri.py         read .exr / .hdr -> (H, 2H, 3) float32 linear RGB, or one InputError line
    shipped.py      the 18 CC0 HDRIs in assetgen/data/hdri (names, checksums)
    envmap.py       the equirectangular orientation (+y up, u = 0.5 + atan2(z, x) / 2 pi) and the map ops:
                    rotate, resize, exposure, front irradiance, normalise
    whitebalance.py colour temperature (K) -> RGB multipliers
    studio.py       key/fill/rim area-light set-ups drawn into maps ("default": the renderer's fixed lights)
    sample.py       the seeded distribution -> LightingSpec (how it was made) + the map
    sh.py           9-coefficient SH irradiance (diffuse);  prefilter.py  GGX mip chain (specular)
    shade.py        ShadingInputs (what the renderer uploads) and the reference shading in numpy

This package imports only the base modules: every later stage (render, views, dataset) may use it.
"""

from .envmap import resize, rotate
from .hdri import read_hdri
from .sample import Lighting, LightingSampler, LightingSpec, lighting_from_dict, load_lighting, make_environment
from .shade import ShadingInputs, shading_inputs

__all__ = ["Lighting", "LightingSampler", "LightingSpec", "ShadingInputs", "lighting_from_dict", "load_lighting",
           "make_environment", "read_hdri", "resize", "rotate", "shading_inputs"]
