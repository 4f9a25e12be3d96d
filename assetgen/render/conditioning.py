"""Conditioning images for ControlNets, from the renderer's exact depth and normal layers.

depth: the MiDaS-style image the SD depth ControlNets (control_v11f1p_sd15_depth, controlnet-depth-*)
were trained on: inverse depth normalized to [0, 1], near = bright, far = dark, background 0 (as MiDaS
gives for the far distance). Normalization: d = (1/z - 1/z_far) / (1/z_near - 1/z_far) with z_near the
nearest visible depth and z_far = 2 * the farthest visible depth, so the farthest visible surface stays
clearly above the background (1/z_far is never reached). Written as 3 equal uint8 channels.

normal: the 'normalbae' ControlNet encoding (control_v11p_sd15_normalbae, "ScanNet protocol": what the
BAE estimator outputs): RGB = (n + 1) / 2 * 255 with n in a camera frame of x to the image's left (R),
y up (G), z towards the camera (B): a surface facing the camera is (128, 128, 255)-ish blue, one facing
left red, one facing up green. The background is (128, 128, 255), a far wall facing the camera (every
pixel of an estimated map is a unit normal; black is not one). From OpenCV camera normals (x right,
y down, z away): (-x, -y, -z). Normals facing away from the camera (back faces of thin cards) are
flipped towards it. The convention is the published annotator's; it has not been checked against the
checkpoint's behaviour here (no weights on these machines).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError


def depth_condition(depth: np.ndarray) -> np.ndarray:
    """(H, W) float32 metres (inf = empty) -> (H, W, 3) uint8 normalized inverse depth, 0 = far/empty."""
    z = np.asarray(depth)
    if z.ndim != 2:
        raise InputError(f"depth must be (H, W), got {z.shape}")
    if z.dtype.kind != "f" or z.itemsize > 8:
        z = z.astype(np.float64)
    fg = z > 0
    fg &= z < np.inf  # finite and in front (NaN fails both)
    h, w = z.shape
    if not fg.any():
        return np.zeros((h, w, 3), np.uint8)
    # float64 throughout, the same operations in the same order as the plain formula: identical bytes.
    near = float(np.min(z, where=fg, initial=np.inf))
    far = 2.0 * float(np.max(z, where=fg, initial=0.0))
    v = np.where(fg, z, np.float64(far))  # float64 (the scalar is a strong float64)
    np.divide(1.0, v, out=v)
    v -= 1.0 / far
    v /= 1.0 / near - 1.0 / far
    np.clip(v, 0.0, 1.0, out=v)
    v *= 255
    np.rint(v, out=v)
    v *= fg
    return np.repeat(v.astype(np.uint8).reshape(-1), 3).reshape(h, w, 3)


# normalbae encoding per pixel: factor (per channel) and offset by pixel class 0 = background,
# 1 = faces the camera (-x, -y, -z), 2 = faces away (flipped first: x, y, z). The background's offset -1
# drives it to 0 through the clip; it is painted BACKGROUND afterwards.
_NORMAL_FACTOR = np.array([[0.0, 0.0, 0.0], [-1.0, -1.0, -1.0], [1.0, 1.0, 1.0]])
NORMAL_BACKGROUND = (128, 128, 255)
_NORMAL_OFFSET = np.array([[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
_ROWS = 32  # image rows per block of the dense path (float64 temporaries stay in cache)


def _encode_normals(n: np.ndarray, cls: np.ndarray, out: np.ndarray, work: np.ndarray) -> None:
    """out (..., 3) uint8 = normalbae of n (..., 3) by pixel class cls (...) uint8; work: float64 like n.

    The float64 operations of rint((e + 1) * 0.5 * 255) with e = ±n (the sign flips are exact and
    * 0.5 * 255 is one rounding of the same product as * 127.5): identical bytes."""
    np.take(_NORMAL_FACTOR, cls, axis=0, out=work, mode="clip")  # (mode="raise" would buffer out)
    with np.errstate(invalid="ignore"):  # inf * 0 in the background: NaN, which the clip sends to 0
        np.multiply(n, work, out=work)
    work += np.take(_NORMAL_OFFSET, cls, axis=0, mode="clip")
    work *= 127.5
    np.rint(work, out=work)
    np.fmax(work, 0.0, out=work)  # the clip, with NaN (a non-finite normal, say) going to 0
    np.minimum(work, 255.0, out=work)
    np.copyto(out, work, casting="unsafe")


def normal_condition(normal: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 OpenCV camera-space normals + (H, W) bool mask -> (H, W, 3) uint8 normalbae RGB."""
    n = np.asarray(normal)
    if n.ndim != 3 or n.shape[2] != 3 or n.shape[:2] != np.shape(mask):
        raise InputError(f"normal must be (H, W, 3) matching the mask, got {n.shape} and {np.shape(mask)}")
    if n.dtype.kind != "f" or n.itemsize > 8:
        n = n.astype(np.float64)
    m = np.ascontiguousarray(mask, dtype=bool)
    h, w = m.shape
    # Sparse (most of the image is background): only the covered pixels, gathered. Dense: row blocks.
    idx = np.flatnonzero(m)
    if len(idx) <= 0.4 * m.size:
        sub = np.take(n.reshape(-1, 3), idx, axis=0)
        cls = np.greater(sub[:, 2], 0).view(np.uint8) + np.uint8(1)  # faces away from the camera: flip
        enc = np.empty(sub.shape, np.uint8)
        _encode_normals(sub, cls, enc, np.empty(sub.shape, np.float64))
        out = np.empty((h * w, 3), np.uint8)
        out[:] = NORMAL_BACKGROUND
        out[idx] = enc
        return out.reshape(h, w, 3)
    out = np.empty((h, w, 3), np.uint8)
    rows = min(_ROWS, h)
    cls_buf, work = np.empty((rows, w), np.uint8), np.empty((rows, w, 3), np.float64)
    for r0 in range(0, h, rows):
        r1 = min(r0 + rows, h)
        cls = cls_buf[: r1 - r0]
        np.greater(n[r0:r1, :, 2], 0, out=cls.view(bool))
        cls += 1
        cls *= m[r0:r1].view(np.uint8)
        _encode_normals(n[r0:r1], cls, out[r0:r1], work[: r1 - r0])
    if not m.all():
        np.copyto(out, np.array(NORMAL_BACKGROUND, np.uint8), where=~m[..., None])
    return out


def conditioning(result) -> dict[str, np.ndarray]:
    """{'depth': ..., 'normal': ...} conditioning images of a RenderResult (needs depth and normal layers)."""
    if result.depth is None or result.normal is None:
        raise InputError("conditioning needs a render with the depth and normal layers")
    return {"depth": depth_condition(result.depth), "normal": normal_condition(result.normal, result.mask)}
