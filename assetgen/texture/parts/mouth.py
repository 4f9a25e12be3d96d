"""The mouth: oral mucosa (gums and tongue) and teeth."""

from __future__ import annotations

import cv2
import numpy as np

from .. import chromophore as chrom
from ..base import MaterialTextures
from .common import const, flat_normal, srgb
from .lowfreq import lowfreq_noise

ENAMEL_SRGB = "#e6dcc4"


def gums_tongue(ctx, name: str) -> MaterialTextures:
    """Oral mucosa from the skin chromophore model: thin, lightly pigmented (gingival pigmentation
    follows skin tone), blood-rich epithelium; wet, so glossy."""
    n = lowfreq_noise(ctx, name)
    m0 = ctx.params.melanin_fraction
    mel = np.full(n.shape, 0.35 * m0, np.float32) * np.exp(0.3 * n)
    hb = 0.07 * np.exp(0.15 * n)
    col = chrom.lut_lookup(mel, hb)
    return MaterialTextures(srgb(col), const(n.shape, 0.3), const(n.shape, 0.9), flat_normal(n.shape))


def teeth(ctx, name: str) -> MaterialTextures:
    """Enamel over dentin: off-white, yellower with age, glossy (enamel n ~ 1.63 reflects ~6 %)."""
    n = lowfreq_noise(ctx, name)
    base = chrom.hex_to_linear(ENAMEL_SRGB)
    yellow = np.clip((ctx.params.age - 20.0) / 80.0, 0.0, 0.6)
    tint = np.array([1.0, 0.97 - 0.08 * yellow, 0.92 - 0.25 * yellow], np.float32)
    shade = 1.0 + 0.04 * n
    albedo = base * tint
    col = cv2.merge([srgb(albedo[c] * shade) for c in range(3)])  # one channel at a time: no (H, W, 3) temporaries
    return MaterialTextures(col, const(n.shape, 0.22), const(n.shape, 1.0), flat_normal(n.shape))
