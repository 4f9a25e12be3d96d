"""Classical despecularization (dichromatic reflection model), numpy only: no torch, no diffusers.

Model (Shafer 1985), in linear RGB under a white (or given, then normalised away) illuminant:
    I = m_d * Lambda + m_s * (1, 1, 1) / 3
with Lambda the diffuse chromaticity. The specular term adds the same amount to every channel, so
    I - min(I)                      is specular-free, and
    q = min(I) / (max(I) - min(I))  equals Lambda_min / (Lambda_max - Lambda_min) on diffuse pixels
(independent of shading m_d) and is larger wherever a highlight adds white. Following Shen & Zheng
(Applied Optics 2013, "intensity ratio"), pixels are clustered by their specular-free chromaticity
(I - min I) / sum(I - min I), which a highlight does not change; within a cluster most pixels are
diffuse, so the cluster's median q is its diffuse q. Per pixel then
    specular = min(I) - q_d * (max(I) - min(I)),   clipped to [0, min(I)];   diffuse = I - specular.
Achromatic (grey) pixels carry no chromatic cue and are left unchanged; skin is chromatic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError


@dataclass(eq=False)
class Despecularized:
    """diffuse: the image without highlights (albedo x shading); residual: what was removed
    (image - diffuse, >= 0). Both in the input's encoding: uint8 sRGB for uint8 input, float otherwise."""

    diffuse: np.ndarray
    residual: np.ndarray
    method: str
    params: dict[str, Any] = field(default_factory=dict)


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def _cluster_quantile(key: np.ndarray, value: np.ndarray, quantile: float) -> np.ndarray:
    """For each element, the `quantile` of `value` over all elements sharing its `key` (vectorised)."""
    order = np.lexsort((value, key))
    ks = key[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    counts = np.diff(np.r_[starts, len(ks)])
    pick = starts + np.minimum((counts * quantile).astype(np.int64), counts - 1)
    per_cluster = value[order][pick]
    cluster_of_sorted = np.repeat(np.arange(len(starts)), counts)
    out = np.empty_like(value)
    out[order] = per_cluster[cluster_of_sorted]
    return out


def despecularize_linear(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    illuminant: tuple[float, float, float] | None = None,
    bins: int = 32,
    quantile: float = 0.5,
    min_chroma: float = 0.02,
    max_samples: int = 1 << 18,
) -> tuple[np.ndarray, np.ndarray]:
    """Linear RGB float (H, W, 3) -> (diffuse, specular), both linear float32, diffuse + specular = image.

    mask: (H, W) bool, pixels to process and to learn clusters from (default: all);
    illuminant: the light's RGB (default white); bins: clusters per chromaticity axis;
    quantile: which quantile of a cluster's intensity ratio is taken as diffuse (0.5: Shen & Zheng's
    median; lower removes more); max_samples: clusters are learnt on at most this many pixels.
    """
    img = np.asarray(image, np.float32)
    if img.ndim != 3 or img.shape[2] < 3:
        raise InputError(f"despecularize needs an (H, W, 3) image, got shape {img.shape}")
    img = img[..., :3]
    h, w = img.shape[:2]
    if not 0.0 <= quantile <= 1.0 or bins < 1:
        raise InputError("quantile must be in [0, 1] and bins >= 1")
    illum = np.ones(3, np.float32) if illuminant is None else np.asarray(illuminant, np.float32)
    if illum.shape != (3,) or np.any(illum <= 0):
        raise InputError("illuminant must be three positive numbers")
    illum = illum / illum.mean()
    x = (img / illum).reshape(-1, 3)
    s = x.sum(-1)
    imax = x.max(-1)
    imin = x.min(-1)
    span = imax - imin
    valid = (s > 1e-5) & (span > min_chroma * np.maximum(s, 1e-12))
    if mask is not None:
        m = np.asarray(mask, bool)
        if m.shape != (h, w):
            raise InputError(f"mask shape {m.shape} does not match the image {(h, w)}")
        valid &= m.ravel()
    spec = np.zeros(h * w, np.float32)
    idx = np.flatnonzero(valid)
    if idx.size:
        xv, sv, lo, sp = x[idx], s[idx], imin[idx], span[idx]
        chroma = (xv - lo[:, None]) / (sv - 3 * lo)[:, None]  # specular-free chromaticity, sums to 1
        qa = np.clip((chroma[:, 0] * bins).astype(np.int64), 0, bins - 1)
        qb = np.clip((chroma[:, 1] * bins).astype(np.int64), 0, bins - 1)
        key = qa * bins + qb
        ratio = (lo / sp).astype(np.float32)
        if idx.size > max_samples:  # learn each cluster's ratio on a strided sample, apply it to all
            step = -(-idx.size // max_samples)
            ks, rs = key[::step], ratio[::step]
            table = np.full(bins * bins, np.inf, np.float32)
            q_s = _cluster_quantile(ks, rs, quantile)
            table[ks] = q_s
            q_d = np.minimum(table[key], ratio)  # unseen cluster: keep the pixel as is
        else:
            q_d = _cluster_quantile(key, ratio, quantile)
        spec[idx] = np.clip(lo - q_d * sp, 0.0, lo)
    specular = spec.reshape(h, w, 1) * illum
    diffuse = img - specular
    return diffuse.astype(np.float32), specular.astype(np.float32)


def despecularize(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    srgb: bool | None = None,
    **kw,
) -> Despecularized:
    """Image or UV texture -> diffuse + removed specular residual (classical, CPU, no model).

    image: (H, W, 3|4) uint8 (sRGB) or float in [0, 1] (sRGB when srgb=True, linear when srgb=False;
    default: sRGB for uint8, linear for float). Alpha is kept on the diffuse output. mask: texels to
    process, e.g. a UV layout's coverage. The residual is image - diffuse in the input's encoding.
    """
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InputError(f"despecularize needs an (H, W, 3) or (H, W, 4) image, got shape {arr.shape}")
    is_u8 = arr.dtype == np.uint8
    if srgb is None:
        srgb = is_u8
    rgb = arr[..., :3].astype(np.float32) / (255.0 if is_u8 else 1.0)
    lin = srgb_to_linear(rgb) if srgb else rgb
    diffuse_lin, _ = despecularize_linear(lin, mask=mask, **kw)
    diffuse = linear_to_srgb(diffuse_lin) if srgb else diffuse_lin
    diffuse = np.minimum(diffuse, rgb)
    residual = rgb - diffuse
    if is_u8:
        d8 = np.clip(np.rint(diffuse * 255), 0, 255).astype(np.uint8)
        d8 = np.minimum(d8, arr[..., :3])
        r8 = (arr[..., :3] - d8).astype(np.uint8)
        out_d, out_r = d8, r8
    else:
        out_d, out_r = diffuse.astype(np.float32), residual.astype(np.float32)
    if arr.shape[2] == 4:
        out_d = np.concatenate([out_d, arr[..., 3:]], axis=-1)
    params = {"model": "dichromatic", "estimator": "shen-zheng-2013-intensity-ratio", "srgb_input": bool(srgb)}
    params.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()})
    return Despecularized(out_d, out_r, "classical", params)
