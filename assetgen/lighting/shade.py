"""What a renderer needs from an environment to shade with it, and the reference shading in numpy.

ShadingInputs of an environment map (envmap.py's orientation: world frame, +y up; linear radiance):
    sh           (9, 3) float32   irradiance coefficients C_k (sh.py) of the map less its dominant lights:
                                  E_sh(n) = sum_k C_k Y_k(n), n a unit world normal
    light_dir    (K, 3) float32   the dominant lights (lights.py, K <= 4): unit direction towards each
    light_rgb    (K, 3) float32   ... and its irradiance on a surface facing it (the renderer's Light.color)
    light_radius (K,)   float32   ... and its angular radius in degrees (to widen highlights by, optional)
    levels       tuple of (H / 2^k, 2H / 2^k, 3) float32 prefiltered maps of the whole map (prefilter.py),
                 roughness k / (L - 1): one texture's mip chain, read with textureLod(uv(R), r (L - 1))
`shade` is the image-based part of the renderer's material model (rgb shader: base colour, roughness r,
specular s with F0 = 0.04 s):
    diffuse  = albedo / pi * (E_sh(n) + sum_i light_rgb_i max(0, n . light_dir_i))
    specular = prefiltered(R, r) * (F0 A + B),  R = reflect(-v, n), (A, B) = prefilter.env_brdf(n . v, r)
The lights' specular is already in the prefiltered maps: a renderer that also runs its GGX term for them
counts their highlights twice. Units: radiance in the map's units, irradiance in the same times steradians.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .envmap import check_env, resize, sample
from .lights import DEFAULT_MAX_LIGHTS, extract_lights, light_irradiance
from .prefilter import DEFAULT_LEVELS, env_brdf, level_roughness, prefilter
from .sh import irradiance, irradiance_coefficients

LIGHTS_HEIGHT = 64  # the map is averaged down to this height to find its lights and its SH: plenty for both


@dataclass(frozen=True, eq=False)
class ShadingInputs:
    sh: np.ndarray
    light_dir: np.ndarray
    light_rgb: np.ndarray
    light_radius: np.ndarray
    levels: tuple[np.ndarray, ...]

    @property
    def roughness(self) -> np.ndarray:
        return level_roughness(len(self.levels))


def diffuse_inputs(env: np.ndarray, max_lights: int = DEFAULT_MAX_LIGHTS) -> dict:
    """The diffuse fields of ShadingInputs (sh, light_dir, light_rgb, light_radius) of a map."""
    env = check_env(env)
    small = resize(env, min(LIGHTS_HEIGHT, env.shape[0]))
    residual, lights = extract_lights(small, max_lights)
    return {"sh": irradiance_coefficients(residual).astype(np.float32),
            "light_dir": np.array([l.direction for l in lights], np.float32).reshape(-1, 3),
            "light_rgb": np.array([l.rgb for l in lights], np.float32).reshape(-1, 3),
            "light_radius": np.array([l.radius_deg for l in lights], np.float32)}


def shading_inputs(env: np.ndarray, levels: int = DEFAULT_LEVELS, max_lights: int = DEFAULT_MAX_LIGHTS) -> ShadingInputs:
    return ShadingInputs(levels=tuple(prefilter(env, levels)), **diffuse_inputs(env, max_lights))


def specular_radiance(inputs: ShadingInputs, r: np.ndarray, roughness) -> np.ndarray:
    """Prefiltered radiance (..., 3) along unit directions r (..., 3) at roughness in [0, 1]."""
    lod = np.clip(np.asarray(roughness, np.float64), 0.0, 1.0) * (len(inputs.levels) - 1)
    lod = np.broadcast_to(lod, r.shape[:-1])
    k0 = np.minimum(np.floor(lod).astype(np.int64), len(inputs.levels) - 2)
    f = (lod - k0)[..., None]
    out = np.zeros(r.shape[:-1] + (3,))
    for k in np.unique(k0):
        m = k0 == k
        out[m] = sample(inputs.levels[k], r[m]) * (1 - f[m]) + sample(inputs.levels[k + 1], r[m]) * f[m]
    return out


def diffuse_irradiance(inputs: ShadingInputs, normals) -> np.ndarray:
    """E(n) (..., 3) float64: the SH part plus the lights'."""
    n = np.asarray(normals, np.float64)
    lights = [_Light(d, c) for d, c in zip(inputs.light_dir.astype(np.float64), inputs.light_rgb.astype(np.float64))]
    return irradiance(inputs.sh, n) + light_irradiance(lights, n)


@dataclass(frozen=True)
class _Light:
    direction: np.ndarray
    rgb: np.ndarray


def shade(inputs: ShadingInputs, normals, view, albedo, roughness=0.5, specular=1.0) -> np.ndarray:
    """Outgoing linear radiance (..., 3) float64 at unit normals (..., 3) seen from unit directions
    `view` (..., 3, surface -> eye), albedo (..., 3) linear (see the module docstring)."""
    n = np.asarray(normals, np.float64)
    v = np.asarray(view, np.float64)
    nv = np.sum(n * v, axis=-1, keepdims=True)
    r = 2.0 * nv * n - v
    rough = np.broadcast_to(np.asarray(roughness, np.float64), n.shape[:-1])
    a, b = env_brdf(np.maximum(nv[..., 0], 1e-4), rough)
    f0 = 0.04 * np.broadcast_to(np.asarray(specular, np.float64), n.shape[:-1])
    spec = specular_radiance(inputs, r, rough) * (f0 * a + b)[..., None]
    return np.asarray(albedo, np.float64) / np.pi * diffuse_irradiance(inputs, n) + spec
