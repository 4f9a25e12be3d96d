"""Vector helpers of the attachments (bindings, item fitters): np.cross and np.linalg.norm over the last
axis with numpy's own arithmetic (the same bytes), without the argument handling that costs more than the
arithmetic on the small arrays they work on."""

from __future__ import annotations

import numpy as np


def norm(v, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """np.linalg.norm(v, axis=axis, keepdims=keepdims) of real vectors: the same arithmetic (same bytes)
    without its argument handling, which costs more than the sum on small arrays."""
    v = np.asarray(v)
    if v.dtype.kind != "f":
        v = v.astype(np.float64)
    return np.sqrt(np.add.reduce(v * v, axis=axis, keepdims=keepdims))


def cross(a, b) -> np.ndarray:
    """a x b over the last axis (3): np.cross's arithmetic (same bytes) without its axis handling, which costs
    more than the products on small arrays."""
    a, b = np.asarray(a), np.asarray(b)
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), np.promote_types(a.dtype, b.dtype))
    tmp = np.empty(out.shape[:-1], out.dtype)
    for k in range(3):
        i, j = (k + 1) % 3, (k + 2) % 3
        np.multiply(a[..., i], b[..., j], out=out[..., k])
        np.multiply(a[..., j], b[..., i], out=tmp)
        out[..., k] -= tmp
    return out
