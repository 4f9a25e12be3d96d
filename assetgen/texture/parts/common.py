"""Drawing helpers shared by the non-skin materials: constant and flat-normal maps, sRGB and 8-bit encoding."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import chromophore as chrom

FLAT = np.array([128, 128, 255], np.uint8)


def const(shape, value) -> np.ndarray:
    """A uint8 map of `shape` holding value (in [0, 1]) * 255, rounded."""
    return np.full(shape, int(np.clip(round(value * 255), 0, 255)), np.uint8)


@lru_cache(maxsize=16)
def _flat_normal_template(shape: tuple) -> np.ndarray:
    a = np.broadcast_to(FLAT, shape + (3,)).copy()
    a.flags.writeable = False
    return a


def flat_normal(shape) -> np.ndarray:
    """A (H, W, 3) uint8 tangent-space normal map pointing straight out (128, 128, 255), writable."""
    return _flat_normal_template(tuple(int(s) for s in shape)).copy()


SRGB_BITS = 12  # chrom.encode_srgb8's default quantisation


def srgb(linear: np.ndarray) -> np.ndarray:
    """Linear float values -> sRGB bytes: chrom.encode_srgb8 (the same bytes), reading the table with np.take."""
    scaled = np.clip(np.asarray(linear, np.float32), 0.0, 1.0)
    scaled *= np.float32(2**SRGB_BITS - 1)
    scaled += np.float32(0.5)  # truncation after +0.5 = rounding
    return np.take(chrom.srgb_encode_table(SRGB_BITS), scaled.astype(np.uint16))


def to_u8(a: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> uint8, rounded and clipped."""
    return np.clip(np.asarray(a) * 255.0 + 0.5, 0, 255).astype(np.uint8)
