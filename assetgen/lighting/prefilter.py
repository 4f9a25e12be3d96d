"""Specular image-based lighting: the environment prefiltered with a GGX lobe per roughness, as a mip chain.

Level k of `prefilter(env, levels)` is an (H / 2^k, 2H / 2^k, 3) float32 equirectangular map (envmap.py's
orientation) holding, along each reflection direction R, the environment averaged with the GGX lobe of
roughness r_k = k / (levels - 1) (alpha = r_k^2), under the usual split-sum assumption n = v = R (Karis 2013,
"Real Shading in Unreal Engine 4"): weight(l) = D_GGX(h) max(R . l, 0) with h = normalize(R + l), so the
weight depends only on c = R . l (R . h = sqrt((1 + c) / 2)). Level 0 (r = 0, a mirror) is the map itself;
the last (r = 1, alpha = 1, D constant) is the cosine lobe. The renderer uploads the levels as the mip
levels of one texture and reads textureLod(env, uv(R), roughness * (levels - 1)), then multiplies by the
split-sum BRDF scale and bias `env_brdf` (F0 * A + B).

Each level is computed exactly on its own grid from the map averaged down to it (envmap.resize): along a
row the kernel depends only on the azimuth difference, so every (output row, input row) pair is one
circular convolution, done with real FFTs in float64.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from .envmap import check_env, resize, texel_angles, texel_solid_angles

DEFAULT_LEVELS = 6
_ROW_CHUNK = 32


def level_roughness(levels: int = DEFAULT_LEVELS) -> np.ndarray:
    """(levels,) roughness of each mip level: k / (levels - 1)."""
    return np.linspace(0.0, 1.0, levels)


def ggx_lobe(c: np.ndarray, roughness: float) -> np.ndarray:
    """Unnormalised prefilter weight D_GGX(h) max(c, 0) for c = R . l (roughness > 0)."""
    a2 = float(roughness) ** 4
    c = np.asarray(c, np.float64)
    nh2 = (1.0 + c) * 0.5
    d = a2 / (math.pi * (nh2 * (a2 - 1.0) + 1.0) ** 2)
    return d * np.maximum(c, 0.0)


def prefilter_level(env: np.ndarray, roughness: float) -> np.ndarray:
    """The map filtered with the GGX lobe of `roughness` > 0, on its own grid (float32)."""
    env = check_env(env)
    h, w = env.shape[:2]
    sa = texel_solid_angles(h, w)[:, 0]
    spectrum = np.fft.rfft(env.astype(np.float64) * sa[:, None, None], axis=1)  # (h, w/2+1, 3)
    parts = np.ascontiguousarray(np.concatenate([spectrum.real, spectrum.imag], axis=2).transpose(1, 0, 2))
    out = np.empty((h, w, 3), np.float32)
    for (i0, i1), (k_hat, norm) in zip(_row_chunks(h), _kernel(h, float(roughness))):
        acc = k_hat @ parts  # (w/2+1, rows, 6): per frequency, one real matrix product for re and im
        acc = (acc[..., :3] + 1j * acc[..., 3:]).transpose(1, 0, 2)
        out[i0:i1] = np.fft.irfft(acc, n=w, axis=1) / norm[:, None, None]
    return np.maximum(out, 0.0)


def _row_chunks(h: int) -> list[tuple[int, int]]:
    return [(i0, min(i0 + _ROW_CHUNK, h)) for i0 in range(0, h, _ROW_CHUNK)]


_KERNEL_CACHE_BYTES = 64 << 20
_kernels: dict = {}


def _kernel(h: int, roughness: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per row chunk, (the kernel's real spectrum (w/2+1, rows, h), its normalisation (rows,)) for a map h
    high: it depends only on the grid and the roughness, so it is kept (while the kept ones fit in
    _KERNEL_CACHE_BYTES; a bigger one is made for each call)."""
    key = (h, roughness)
    if key in _kernels:
        return _kernels[key]
    w = 2 * h
    theta, _ = texel_angles(h, w)
    st, ct = np.sin(theta), np.cos(theta)
    cos_dphi = np.cos(np.arange(w) * (2.0 * math.pi / w))
    sa = texel_solid_angles(h, w)[:, 0]
    out = []
    for i0, i1 in _row_chunks(h):
        c = st[i0:i1, None, None] * st[None, :, None] * cos_dphi + ct[i0:i1, None, None] * ct[None, :, None]
        k_hat = np.fft.rfft(ggx_lobe(c, roughness), axis=2).real  # the kernel is even in dphi: real spectrum
        norm = k_hat[:, :, 0] @ sa  # (rows,)
        k_hat = np.ascontiguousarray(k_hat.transpose(2, 0, 1))
        k_hat.setflags(write=False)
        norm.setflags(write=False)
        out.append((k_hat, norm))
    size = sum(k.nbytes for k, _ in out)
    if size + sum(k.nbytes for v in _kernels.values() for k, _ in v) <= _KERNEL_CACHE_BYTES:
        _kernels[key] = out
    return out


def check_levels(height: int, levels: int) -> None:
    """InputError unless a map `height` texels high makes `levels` levels (halving, >= 2 rows at the last)."""
    if levels < 2 or height % (1 << (levels - 1)) or height >> (levels - 1) < 2:
        raise InputError(f"cannot make {levels} prefiltered levels of a map {height} texels high: its height must "
                         f"be divisible by 2^(levels-1) and leave at least 2 texels at the last level")


def prefilter(env: np.ndarray, levels: int = DEFAULT_LEVELS) -> list[np.ndarray]:
    """The mip chain of prefiltered maps (see the module docstring); H must be divisible by 2^(levels-1)."""
    env = check_env(env)
    h = env.shape[0]
    check_levels(h, levels)
    out, smaller = [env.copy()], env
    for r in level_roughness(levels)[1:]:
        smaller = resize(smaller, smaller.shape[0] // 2)  # halving again and again: the same solid-angle means
        out.append(prefilter_level(smaller, float(r)))
    return out


def env_brdf(nv, roughness) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of the split-sum environment BRDF, specular = prefiltered * (F0 A + B): Karis' analytic fit
    (2014, "Physically Based Shading on Mobile") of the GGX / Smith / Schlick integral, clipped at 0 (the fit
    dips to -0.0024 for rough surfaces seen head-on)."""
    nv = np.asarray(nv, np.float64)
    r = np.asarray(roughness, np.float64)
    r0 = -1.0 * r + 1.0
    r1 = -0.0275 * r + 0.0425
    r2 = -0.572 * r + 1.04
    r3 = 0.022 * r - 0.04
    a004 = np.minimum(r0 * r0, np.exp2(-9.28 * nv)) * r0 + r1
    return np.maximum(-1.04 * a004 + r2, 0.0), np.maximum(1.04 * a004 + r3, 0.0)
