"""Diffuse lighting as 9 spherical-harmonic coefficients (Ramamoorthi & Hanrahan 2001, "An Efficient
Representation for Irradiance Environment Maps").

Basis (real SH up to l = 2, in the world frame of envmap.py, index: function):
    0: 0.282095                1: 0.488603 y          2: 0.488603 z          3: 0.488603 x
    4: 1.092548 x y            5: 1.092548 y z        6: 0.315392 (3 z^2 - 1)
    7: 1.092548 x z            8: 0.546274 (x^2 - y^2)
`project` integrates the radiance against them over the map's texels (weighted by exact solid angles);
the irradiance at unit normal n is E(n) = sum_k A_l(k) L_k Y_k(n) with A_0 = pi, A_1 = 2 pi / 3,
A_2 = pi / 4 (the clamped cosine's SH weights): `irradiance_coefficients` folds A in, so a shader needs
only E(n) = sum_k C_k Y_k(n) (9 vec3), or the equivalent quadratic form E(n) = (n, 1)^T M (n, 1) per
channel (`quadratic_form`, the paper's equation 12). A Lambertian surface of albedo rho then leaves
radiance rho / pi * E(n). The 9 terms hold a constant or linear environment exactly and any other to a few
per cent of its mean irradiance (the cosine kernel's l >= 3 part, which they drop, is small).
"""

from __future__ import annotations

import functools

import numpy as np

from .envmap import check_env, texel_directions, texel_solid_angles

A_HAT = np.array([np.pi] + [2 * np.pi / 3] * 3 + [np.pi / 4] * 5)


def basis(d: np.ndarray) -> np.ndarray:
    """The 9 basis functions (..., 9) float64 at unit directions d (..., 3)."""
    d = np.asarray(d, np.float64)
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    return np.stack([np.full_like(x, 0.282095), 0.488603 * y, 0.488603 * z, 0.488603 * x,
                     1.092548 * x * y, 1.092548 * y * z, 0.315392 * (3 * z * z - 1), 1.092548 * x * z,
                     0.546274 * (x * x - y * y)], axis=-1)


def project(env: np.ndarray) -> np.ndarray:
    """(9, 3) float64 radiance coefficients L_k of the map."""
    env = check_env(env)
    h, w = env.shape[:2]
    y = _weighted_basis(h, w) if h <= 256 else _weighted_basis.__wrapped__(h, w)  # kept for small grids only
    return np.einsum("ijk,ijc->kc", y, env.astype(np.float64))


@functools.lru_cache(maxsize=8)
def _weighted_basis(h: int, w: int) -> np.ndarray:
    """(h, w, 9) basis at the texel centres times their solid angles (read-only; kept per grid)."""
    y = basis(texel_directions(h, w)) * texel_solid_angles(h, w)[..., None]
    y.setflags(write=False)
    return y


def irradiance_coefficients(env: np.ndarray) -> np.ndarray:
    """(9, 3) float64 C_k = A_l L_k: E(n) = sum_k C_k Y_k(n)."""
    return project(env) * A_HAT[:, None]


def irradiance(coefficients: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """E(n) (..., 3) float64 at unit normals (..., 3) from irradiance_coefficients."""
    return basis(normals) @ np.asarray(coefficients, np.float64)


def quadratic_form(radiance_coefficients: np.ndarray) -> np.ndarray:
    """(3, 4, 4) float64 M per channel with E(n) = (n, 1)^T M (n, 1), from `project`'s L_k."""
    c1, c2, c3, c4, c5 = 0.429043, 0.511664, 0.743125, 0.886227, 0.247708
    L = np.asarray(radiance_coefficients, np.float64)
    l00, l1m1, l10, l11, l2m2, l2m1, l20, l21, l22 = L
    m = np.array([[c1 * l22, c1 * l2m2, c1 * l21, c2 * l11],
                  [c1 * l2m2, -c1 * l22, c1 * l2m1, c2 * l1m1],
                  [c1 * l21, c1 * l2m1, c3 * l20, c2 * l10],
                  [c2 * l11, c2 * l1m1, c2 * l10, c4 * l00 - c5 * l20]])  # (4, 4, 3)
    return np.moveaxis(m, -1, 0)
