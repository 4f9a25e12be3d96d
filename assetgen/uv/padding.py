"""Island padding: grow texture content outwards from covered texels so that mip-mapping and bilinear
filtering across island borders never pull in background colour."""

from __future__ import annotations

import cv2
import numpy as np


def dilate(image: np.ndarray, mask: np.ndarray, pixels: int = 8) -> np.ndarray:
    """Fill uncovered texels within `pixels` of an island with the mean of their already-filled
    neighbours, one ring per pass. image: (H, W) or (H, W, C); mask: (H, W) bool. Returns a new array of
    image's dtype; covered texels are unchanged."""
    if pixels <= 0:
        return image.copy()
    dtype = image.dtype
    img = image.astype(np.float32, copy=True)
    squeeze = img.ndim == 2
    if squeeze:
        img = img[..., None]
    filled = np.asarray(mask, dtype=bool).copy()
    kernel = np.ones((3, 3), np.float32)
    for _ in range(int(pixels)):
        weight = cv2.filter2D(filled.astype(np.float32), -1, kernel, borderType=cv2.BORDER_CONSTANT)
        ring = (weight > 0) & ~filled
        if not ring.any():
            break
        acc = cv2.filter2D(img * filled[..., None], -1, kernel, borderType=cv2.BORDER_CONSTANT)
        if acc.ndim == 2:
            acc = acc[..., None]
        img[ring] = acc[ring] / weight[ring][:, None]
        filled |= ring
    out = img[..., 0] if squeeze else img
    if np.issubdtype(dtype, np.integer):
        out = np.clip(np.rint(out), np.iinfo(dtype).min, np.iinfo(dtype).max)
    return out.astype(dtype)


def fill_background(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill every uncovered texel (pull-push: average down a pyramid, then back up), so a texture has no
    hard background edges anywhere. Covered texels are unchanged."""
    dtype = image.dtype
    img = image.astype(np.float32)
    squeeze = img.ndim == 2
    if squeeze:
        img = img[..., None]
    m = np.asarray(mask, np.float32)
    levels = []
    cur, cm = img * m[..., None], m
    while min(cur.shape[:2]) > 1:
        levels.append((cur, cm))
        h2, w2 = (cur.shape[0] + 1) // 2, (cur.shape[1] + 1) // 2
        s = cv2.resize(cur, (w2, h2), interpolation=cv2.INTER_AREA)
        if s.ndim == 2:
            s = s[..., None]
        sm = cv2.resize(cm, (w2, h2), interpolation=cv2.INTER_AREA)
        cur = np.divide(s, sm[..., None], out=np.zeros_like(s), where=sm[..., None] > 0) * (sm[..., None] > 0)
        cm = (sm > 0).astype(np.float32)
    filled = cur
    for lvl, lm in reversed(levels):
        up = cv2.resize(filled, (lvl.shape[1], lvl.shape[0]), interpolation=cv2.INTER_LINEAR)
        if up.ndim == 2:
            up = up[..., None]
        known = lm[..., None] > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            own = np.where(known, lvl / np.maximum(lm[..., None], 1e-8), up)
        filled = own
    out = np.where(np.asarray(mask, bool)[..., None], img, filled)
    out = out[..., 0] if squeeze else out
    if np.issubdtype(dtype, np.integer):
        out = np.clip(np.rint(out), np.iinfo(dtype).min, np.iinfo(dtype).max)
    return out.astype(dtype)
