"""The dominant lights of an environment map (a sun, a lamp, a softbox) as directional lights.

Nine SH terms cannot hold a small bright source: its diffuse shading rings by up to 9 % of the source's
peak irradiance. So the part of each texel's radiance above a threshold (`factor` x the map's mean
luminance, colour kept) is taken out; connected bright regions (wrapping around in azimuth) that lie within
`max_radius_deg` of their mean direction and hold at least MIN_SHARE of the map's radiance become lights,
at most `max_lights`, the strongest by luminance; the excess of any further region stays in the map.
Exactly: residual + lights = the map (the lights hold the excess's integral of radiance over solid angle).

Light: unit direction towards it (world, the radiance-weighted mean direction of its region), rgb (the
irradiance it gives a surface facing it, if it were a point) and radius (degrees, of a disc of the
region's solid angle: a renderer may widen its highlight by it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .envmap import LUMINANCE, check_env, texel_directions, texel_solid_angles

DEFAULT_FACTOR = 16.0
DEFAULT_MAX_LIGHTS = 4
MIN_SHARE = 0.01  # a light must hold at least this share of the map's radiance (luminance x solid angle)
MAX_RADIUS_DEG = 15.0  # wider bright regions (a sky, a big softbox) stay in the map: as one point they shade worse


@dataclass(frozen=True)
class DirectionalLight:
    direction: tuple[float, float, float]
    rgb: tuple[float, float, float]
    radius_deg: float


def _label_wrapped(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components of `mask`, joined across the map's left/right seam."""
    from scipy import ndimage

    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return labels, 0
    parent = np.arange(n + 1)

    def root(a):
        while parent[a] != a:
            a = parent[a]
        return a

    h = mask.shape[0]
    for i in range(h):
        for di in (-1, 0, 1):
            k = i + di
            if 0 <= k < h and labels[i, -1] and labels[k, 0]:
                a, b = root(labels[i, -1]), root(labels[k, 0])
                if a != b:
                    parent[max(a, b)] = min(a, b)
    roots = np.array([root(a) for a in range(n + 1)])
    uniq, relabel = np.unique(roots, return_inverse=True)
    return relabel[labels], len(uniq) - 1


def extract_lights(env: np.ndarray, max_lights: int = DEFAULT_MAX_LIGHTS, factor: float = DEFAULT_FACTOR,
                   max_radius_deg: float = MAX_RADIUS_DEG) -> tuple[np.ndarray, tuple[DirectionalLight, ...]]:
    """(residual map (H, 2H, 3) float32, lights strongest first); see the module docstring."""
    env = check_env(env)
    if max_lights <= 0:
        return env.copy(), ()
    h, w = env.shape[:2]
    sa = np.broadcast_to(texel_solid_angles(h, w), (h, w))
    e = env.astype(np.float64)
    lum = e @ LUMINANCE
    mean = float((lum * sa).sum() / (4 * math.pi))
    t = factor * mean
    if not mean > 0 or not (lum > t).any():
        return env.copy(), ()
    bright = lum > t
    excess = np.where(bright[..., None], e * (1.0 - t / np.where(bright, lum, 1.0))[..., None], 0.0)
    labels, n = _label_wrapped(bright)
    dirs = texel_directions(h, w)
    weight = (excess @ LUMINANCE) * sa
    flat, wf = labels.ravel(), weight.ravel()
    power = np.bincount(flat, wf, minlength=n + 1)
    mean_dir = np.stack([np.bincount(flat, wf * dirs[..., c].ravel(), minlength=n + 1) for c in range(3)], axis=1)
    mean_dir /= np.maximum(np.linalg.norm(mean_dir, axis=1, keepdims=True), 1e-300)
    cos_to_mean = np.full(n + 1, 1.0)
    np.minimum.at(cos_to_mean, flat, np.einsum("pk,pk->p", dirs.reshape(-1, 3), mean_dir[flat]))
    power[cos_to_mean < math.cos(math.radians(max_radius_deg))] = -1.0
    power[power < MIN_SHARE * float((lum * sa).sum())] = -1.0
    power[0] = -1.0
    keep = [int(k) for k in np.argsort(-power, kind="stable")[:max_lights] if power[k] > 0]
    residual = e.copy()
    lights = []
    for k in keep:
        m = labels == k
        radius = math.degrees(math.acos(max(-1.0, 1.0 - float(sa[m].sum()) / (2 * math.pi))))
        rgb = (excess[m] * sa[m][:, None]).sum(axis=0)
        lights.append(DirectionalLight(tuple(float(x) for x in mean_dir[k]), tuple(float(x) for x in rgb), radius))
        residual[m] -= excess[m]
    return np.maximum(residual, 0.0).astype(np.float32), tuple(lights)


def light_irradiance(lights, normals: np.ndarray) -> np.ndarray:
    """(..., 3) float64 irradiance of directional lights at unit normals: sum rgb max(0, n . l)."""
    n = np.asarray(normals, np.float64)
    out = np.zeros(n.shape[:-1] + (3,))
    for light in lights:
        out += np.maximum(n @ np.asarray(light.direction), 0.0)[..., None] * np.asarray(light.rgb)
    return out
