"""The sRGB transfer function (IEC 61966-2-1), once for the whole package.

    encode: s = 12.92 x                  for x <= 0.0031308,   s = 1.055 x^(1/2.4) - 0.055   above
    decode: x = s / 12.92                for s <= 0.04045,     x = ((s + 0.055) / 1.055)^2.4  above

The numpy functions compute in float32 or float64 (the input's float type, or `dtype`): every constant
is rounded to that type and the operations are the plain formula's, so float32 results are those of
the formula evaluated on float32 arrays with Python-float constants, and float64 results those of the
formula in float64. SRGB_GLSL is the same pair for shaders.
"""

from __future__ import annotations

import numpy as np

# GLSL of the pair (vec3 in [0, 1] -> vec3), for shaders that decode textures or encode their output.
SRGB_GLSL = """
vec3 to_linear(vec3 c) { return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(0.04045, c)); }
vec3 to_srgb(vec3 c) { return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c)); }
"""


def _float_dtype(x, dtype) -> np.dtype:
    if dtype is not None:
        dt = np.dtype(dtype)
    else:
        dt = np.asarray(x).dtype
        if dt not in (np.float32, np.float64):
            dt = np.dtype(np.float64)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"sRGB functions compute in float32 or float64, not {dt}")
    return dt


def linear_to_srgb(x, dtype=None) -> np.ndarray:
    """Linear values -> sRGB-encoded values, both in [0, 1] (the input is clipped to [0, 1] first).

    dtype: float32 or float64 (default: the input's, float64 for non-float input)."""
    dt = _float_dtype(x, dtype)
    x = np.asarray(x, dt)
    x = np.clip(x, dt.type(0.0), dt.type(1.0), out=np.empty_like(x))
    low = x <= dt.type(0.0031308)
    out = np.multiply(x, dt.type(12.92), out=np.empty_like(x))
    high = np.power(x, dt.type(1 / 2.4), out=np.zeros_like(x), where=~low)
    high *= dt.type(1.055)
    high -= dt.type(0.055)
    np.copyto(out, high, where=~low)
    return out


def srgb_to_linear(s, dtype=None) -> np.ndarray:
    """sRGB-encoded values in [0, 1] -> linear values (not clipped).

    dtype: float32 or float64 (default: the input's, float64 for non-float input)."""
    dt = _float_dtype(s, dtype)
    s = np.asarray(s, dt)
    low = s <= dt.type(0.04045)
    out = np.divide(s, dt.type(12.92), out=np.empty_like(s))
    high = np.add(s, dt.type(0.055), out=np.empty_like(s))
    high /= dt.type(1.055)
    np.power(high, dt.type(2.4), out=out, where=~low)
    return out


def linear_to_srgb8(x) -> np.ndarray:
    """Linear values (clipped to [0, 1]) -> sRGB uint8, rint(linear_to_srgb(x) * 255), computed in the
    input's float type (float64 for non-float input)."""
    s = linear_to_srgb(x)
    s *= s.dtype.type(255.0)
    return np.rint(s, out=s).astype(np.uint8)


def srgb8_to_linear(encoded) -> np.ndarray:
    """sRGB uint8 -> linear float32 in [0, 1], srgb_to_linear(encoded / 255) in float32."""
    return srgb_to_linear(np.asarray(encoded, np.float32) / np.float32(255.0))
