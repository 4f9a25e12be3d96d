"""Equirectangular environment maps: the direction of every texel, and the operations on whole maps.

A map is an (H, 2H, 3) float32 array of linear-RGB radiance (relative units; a constant map of value L
gives irradiance pi * L on every surface), row 0 at the top.

Orientation, in the renderer's world frame (glTF: metres, +y up, the face looks along +z, so a default
camera stands on +z looking along -z; +x is the image's right and the subject's left):
    texel (row i, column j) has its centre at u = (j + 0.5) / W, v = (i + 0.5) / H, and looks along
    d = (sin(theta) cos(phi), cos(theta), sin(theta) sin(phi)),  theta = pi v,  phi = 2 pi (u - 0.5);
    inversely u = 0.5 + atan2(d.z, d.x) / (2 pi), v = acos(d.y) / pi.
So the top row is straight up (+y), the centre column (u = 0.5) is +x, u = 0.75 is +z (in front of the face,
behind the camera: the light on the face's front) and u = 0.25 is -z (behind the head: the background a
frontal camera sees). This is three.js's and Blender's equirectangular mapping once glTF's axes are imported
(Blender x, y, z = glTF x, -z, y), so an HDRI looks the same here, in a browser and in Cycles, and is not
mirrored: panning right (from -z towards +x) increases u.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import InputError

# Rec. 709 / sRGB luminance weights (linear RGB).
LUMINANCE = np.array([0.2126, 0.7152, 0.0722])


def check_env(env, what: str = "environment map") -> np.ndarray:
    """env as a C-contiguous (H, 2H, 3) float32 array, or one InputError line."""
    a = np.asarray(env)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[1] != 2 * a.shape[0] or a.shape[0] < 2:
        raise InputError(f"{what} must be an (H, 2H, 3) equirectangular RGB array, got shape {a.shape}")
    a = np.ascontiguousarray(a, np.float32)
    if not np.isfinite(a).all():
        raise InputError(f"{what} holds NaN or infinite values; pass finite radiance")
    return a


def texel_angles(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """(theta (h,), phi (w,)) float64: polar angle from +y and azimuth atan2(z, x) of the texel centres."""
    theta = (np.arange(h) + 0.5) * (math.pi / h)
    phi = ((np.arange(w) + 0.5) / w - 0.5) * (2.0 * math.pi)
    return theta, phi


def texel_directions(h: int, w: int) -> np.ndarray:
    """(h, w, 3) float64 unit directions of the texel centres (see the module docstring)."""
    theta, phi = texel_angles(h, w)
    st, ct = np.sin(theta)[:, None], np.cos(theta)[:, None]
    return np.stack(np.broadcast_arrays(st * np.cos(phi), ct, st * np.sin(phi)), axis=-1)


def texel_solid_angles(h: int, w: int) -> np.ndarray:
    """(h, 1) float64 solid angle of each row's texels: (2 pi / w) (cos theta_top - cos theta_bottom);
    they sum to 4 pi over the map."""
    edges = np.cos(np.arange(h + 1) * (math.pi / h))
    return ((edges[:-1] - edges[1:]) * (2.0 * math.pi / w))[:, None]


def direction_to_uv(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions (..., 3) -> (u, v) in [0, 1] (the module docstring's mapping)."""
    d = np.asarray(d, np.float64)
    u = 0.5 + np.arctan2(d[..., 2], d[..., 0]) / (2.0 * math.pi)
    v = np.arccos(np.clip(d[..., 1], -1.0, 1.0)) / math.pi
    return u, v


def sample(env: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Bilinear radiance (..., 3) float64 of `env` along unit directions d (..., 3): u wraps around,
    v is clamped at the poles (texel centres at (j + 0.5) / W, (i + 0.5) / H, as a GL sampler reads)."""
    h, w = env.shape[:2]
    u, v = direction_to_uv(d)
    x, y = u * w - 0.5, np.clip(v * h - 0.5, 0.0, h - 1.0)
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    x0 = x0.astype(np.int64) % w
    x1 = (x0 + 1) % w
    y0 = y0.astype(np.int64)
    y1 = np.minimum(y0 + 1, h - 1)
    e = env.astype(np.float64, copy=False)
    top = e[y0, x0] * (1 - fx) + e[y0, x1] * fx
    bottom = e[y1, x0] * (1 - fx) + e[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def rotation(yaw_deg: float, tilt_deg: float = 0.0) -> np.ndarray:
    """(3, 3) R = R_x(tilt) @ R_y(yaw), both right-handed: yaw +90 turns +z (the face's front) into +x
    (the image's right), tilt +90 turns +z into -y (straight down)."""
    a, b = math.radians(yaw_deg), math.radians(tilt_deg)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    return rx @ ry


def rotate(env: np.ndarray, yaw_deg: float, tilt_deg: float = 0.0) -> np.ndarray:
    """The environment turned by rotation(yaw, tilt): what came from direction d now comes from R d.

    Yaw alone shifts every row by yaw / 360 of its width (linear interpolation between the two nearest
    columns: exact for whole-texel shifts); a tilt resamples the whole map bilinearly."""
    env = check_env(env)
    h, w = env.shape[:2]
    if tilt_deg == 0.0:
        shift = (float(yaw_deg) / 360.0 % 1.0) * w  # out column j reads input column j + shift
        k = math.floor(shift)
        f = np.float32(shift - k)
        a = np.roll(env, -k, axis=1)
        if f == 0:
            return np.ascontiguousarray(a)
        return a * (np.float32(1) - f) + np.roll(a, -1, axis=1) * f
    d = texel_directions(h, w) @ rotation(yaw_deg, tilt_deg)  # rows R^T d
    return sample(env, d).astype(np.float32)


def resize(env: np.ndarray, height: int) -> np.ndarray:
    """The map at `height` x 2 `height`. Shrinking by a whole factor averages each block of texels
    weighted by their solid angle (no energy moves between directions); any other size is resampled
    with OpenCV (area averaging down, bilinear up)."""
    env = check_env(env)
    h, w = env.shape[:2]
    if height < 2:
        raise InputError(f"environment map height must be at least 2 texels, got {height}")
    if height == h:
        return env.copy()
    if h % height == 0:
        f = h // height
        sa = texel_solid_angles(h, w)  # (h, 1)
        blocks = env.reshape(h, 2 * height, f, 3)
        cols = blocks[:, :, 0].astype(np.float64)  # (h, w / f, 3): summed in order, as .sum(axis=2) would
        for k in range(1, f):
            cols += blocks[:, :, k]
        rows = np.einsum("rfwc,rf->rwc", cols.reshape(height, f, 2 * height, 3), sa.reshape(height, f))
        return (rows / (sa.reshape(height, f).sum(axis=1)[:, None, None] * f)).astype(np.float32)
    import cv2

    interp = cv2.INTER_AREA if height < h else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(env, (2 * height, height), interpolation=interp), np.float32)


def exposure(env: np.ndarray, ev: float) -> np.ndarray:
    """env * 2^ev (exposure in stops)."""
    return check_env(env) * np.float32(2.0 ** float(ev))


def luminance(rgb) -> np.ndarray:
    """Rec. 709 luminance of linear RGB (..., 3)."""
    return np.asarray(rgb, np.float64) @ LUMINANCE


def front_irradiance(env: np.ndarray, front=(0.0, 0.0, 1.0)) -> np.ndarray:
    """(3,) float64: the irradiance averaged over all surface normals of the hemisphere facing `front`.

    Exactly 1/4 of the integral of L(w) (1 + w . front) over the sphere: the hemisphere mean of the
    clamped cosine kernel has only the constant and linear spherical-harmonic terms (its l >= 2 even terms
    average to 0 over a hemisphere and the cosine kernel has no odd l >= 3 terms). A constant map L gives
    pi L; a light straight behind (w = -front) does not count, one at the side counts half."""
    env = check_env(env)
    h, w = env.shape[:2]
    front = tuple(float(x) for x in np.asarray(front, np.float64).ravel())
    weight = _front_weight(h, w, front) if h <= 512 else _front_weight.__wrapped__(h, w, front)  # kept if small
    return np.einsum("ij,ijc->c", weight, env.astype(np.float64))


@functools.lru_cache(maxsize=16)
def _front_weight(h: int, w: int, front: tuple) -> np.ndarray:
    """front_irradiance's (h, w) texel weights (read-only; kept: every map of a data set has the same grid)."""
    weight = (1.0 + texel_directions(h, w) @ np.asarray(front, np.float64)) * texel_solid_angles(h, w) * 0.25
    weight.setflags(write=False)
    return weight


def normalize(env: np.ndarray, target: float, front=(0.0, 0.0, 1.0)) -> tuple[np.ndarray, float]:
    """(env * s, s) with s such that the luminance of front_irradiance is `target` (colour kept)."""
    env = check_env(env)
    s = normalization_scale(env, target, front)
    return env * np.float32(s), s


def normalization_scale(env: np.ndarray, target: float, front=(0.0, 0.0, 1.0)) -> float:
    """The factor `normalize` scales env by."""
    env = check_env(env)
    if not target > 0:
        raise InputError(f"normalisation target irradiance must be > 0, got {target}")
    y = float(luminance(front_irradiance(env, front)))
    if not y > 0:
        raise InputError("environment map is black towards the front; it cannot be normalised")
    return float(target) / y
