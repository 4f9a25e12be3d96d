"""Colour temperature -> linear-RGB multipliers, to tint an environment as if lit by a different source.

Method: the chromaticity (CIE 1931 xy) of a blackbody at T kelvin from the cubic fits of the Planckian
locus by Kim et al. (2002, US patent 7024034; valid 1667-25000 K), to XYZ at Y = 1, to linear Rec. 709 /
sRGB (D65 matrix), divided by the same for 6500 K (so 6500 K leaves a map unchanged), clipped at 0 and
scaled to luminance 1 (white balance changes colour, not brightness). Lower temperatures are warmer
(orange), higher ones bluer: `temperature` is the colour of the light, as a lamp's rating, not a camera's
white-balance setting (which is the inverse).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .envmap import LUMINANCE, check_env

MIN_K, MAX_K, NEUTRAL_K = 1667.0, 25000.0, 6500.0
_XYZ_TO_RGB = np.array([[3.2404542, -1.5371385, -0.4985314],
                        [-0.9692660, 1.8760108, 0.0415560],
                        [0.0556434, -0.2040259, 1.0572252]])


def planckian_xy(kelvin: float) -> tuple[float, float]:
    """CIE 1931 (x, y) of a blackbody at `kelvin` (Kim et al.'s cubic fits)."""
    t = float(kelvin)
    if not MIN_K <= t <= MAX_K:
        raise InputError(f"colour temperature must lie in {MIN_K:.0f}..{MAX_K:.0f} K, got {kelvin}")
    if t <= 4000:
        x = -0.2661239e9 / t**3 - 0.2343589e6 / t**2 + 0.8776956e3 / t + 0.179910
    else:
        x = -3.0258469e9 / t**3 + 2.1070379e6 / t**2 + 0.2226347e3 / t + 0.240390
    if t <= 2222:
        y = -1.1063814 * x**3 - 1.34811020 * x**2 + 2.18555832 * x - 0.20219683
    elif t <= 4000:
        y = -0.9549476 * x**3 - 1.37418593 * x**2 + 2.09137015 * x - 0.16748867
    else:
        y = 3.0817580 * x**3 - 5.87338670 * x**2 + 3.75112997 * x - 0.37001483
    return x, y


def _rgb(kelvin: float) -> np.ndarray:
    x, y = planckian_xy(kelvin)
    return _XYZ_TO_RGB @ np.array([x / y, 1.0, (1.0 - x - y) / y])


def kelvin_rgb(kelvin: float) -> np.ndarray:
    """(3,) float64 multipliers of luminance 1 for light of colour temperature `kelvin` (6500 K: 1, 1, 1)."""
    if float(kelvin) == NEUTRAL_K:
        return np.ones(3)
    m = np.maximum(_rgb(kelvin) / _rgb(NEUTRAL_K), 0.0)
    return m / float(m @ LUMINANCE)


def white_balance(env: np.ndarray, kelvin: float) -> np.ndarray:
    """env tinted to colour temperature `kelvin` (see the module docstring)."""
    return check_env(env) * kelvin_rgb(kelvin).astype(np.float32)
