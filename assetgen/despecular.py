"""Classical despecularization (dichromatic reflection model), numpy + OpenCV: no torch, no diffusers.

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

Speed (it runs on every painted texture): the arithmetic is float32 and runs block by block on the masked
pixels only; a cluster's quantile comes from one sort of packed (cluster, ratio) words; uint8 input is
decoded by a 256-entry table and encoded by an exact two-lookup table (`_encode8`). The results are the
bytes that whole-image float32 arithmetic gives (tests/test_despecular.py compares with a reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
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
    low = x <= 0.04045
    out = np.divide(x, 12.92, dtype=np.float32)  # the linear segment everywhere, the power only where needed
    t = np.add(x, 0.055, dtype=np.float32)
    t /= np.float32(1.055)
    np.power(t, np.float32(2.4), out=out, where=~low)
    return out


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
    low = x <= 0.0031308
    out = np.multiply(x, 12.92, dtype=np.float32)
    t = np.power(x, np.float32(1 / 2.4), where=~low, out=np.zeros_like(x))
    t *= np.float32(1.055)
    t -= np.float32(0.055)
    np.copyto(out, t, where=~low)
    return out


_U8_LEVELS = np.arange(256, dtype=np.float32) / 255.0  # bit-identical to uint8_image.astype(float32) / 255
_TABLES: dict[str, Any] = {}


def _decode_lut(srgb: bool) -> np.ndarray:
    """uint8 code -> linear float32, bit-identical to srgb_to_linear(u8 / 255) (or u8 / 255)."""
    key = "dec_srgb" if srgb else "dec_lin"
    if key not in _TABLES:
        _TABLES[key] = srgb_to_linear(_U8_LEVELS) if srgb else _U8_LEVELS.copy()
    return _TABLES[key]


def _encode_srgb8_tables() -> tuple[int, np.ndarray, np.ndarray]:
    """Exact linear float32 -> uint8 sRGB, `rint(linear_to_srgb(d) * 255)`, by two lookups.

    thr[k] is the smallest float32 d in [0, 1] that encodes to >= k (bisection on the float bits, the
    encoding being monotone). d in [0, 1] falls in bucket q = floor(d * n) (exact: n is a power of two);
    base[q] is the code of the bucket's start and nxt[q] the next threshold, so the code of d is
    base[q] + (d >= nxt[q]) as long as no bucket holds two thresholds (checked)."""
    if "enc_srgb" in _TABLES:
        return _TABLES["enc_srgb"]

    def code(d: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(linear_to_srgb(d) * 255), 0, 255)

    k = np.arange(1, 256, dtype=np.float32)
    lo = np.zeros(255, np.int64)
    hi = np.full(255, np.float32(1.0).view(np.int32), np.int64)  # non-negative floats sort as their bits
    while np.any(lo < hi):
        mid = (lo + hi) // 2
        up = code(mid.astype(np.int32).view(np.float32)) >= k
        hi = np.where(up, mid, hi)
        lo = np.where(up, lo, mid + 1)
    thr = np.concatenate([[-np.inf], lo.astype(np.int32).view(np.float32), [np.inf, np.inf]])
    thr = thr.astype(np.float32)
    for n in (1 << 14, 1 << 16, 1 << 18):
        starts = np.arange(n + 1, dtype=np.float32) / np.float32(n)
        base = np.searchsorted(thr[1:256], starts, side="right")  # code of each bucket's start
        if np.all(thr[base + 2] >= np.minimum(starts + np.float32(1.0 / n), 1.0)):
            break
    else:  # pragma: no cover - the sRGB curve is never that steep
        raise RuntimeError("sRGB encode table: buckets too coarse")
    _TABLES["enc_srgb"] = (n, base.astype(np.uint8), thr[base + 1])
    return _TABLES["enc_srgb"]


def _encode8(d: np.ndarray, srgb: bool) -> np.ndarray:
    """Linear float32 (1-D, overwritten) -> uint8 `clip(rint(encode(clip(d, 0, 1)) * 255), 0, 255)`,
    encode being linear_to_srgb (srgb) or the identity; the same bytes as computing it."""
    if not srgb:
        d = np.clip(d, 0.0, 1.0)
        return np.rint(np.multiply(d, 255, out=d), out=d).astype(np.uint8)
    n, base, nxt = _encode_srgb8_tables()
    q = np.multiply(d, np.float32(n)).astype(np.intp)
    out = np.take(base, q, mode="clip")  # clip: d outside [0, 1] encodes as its clipped value
    out += d >= np.take(nxt, q, mode="clip")
    return out


def _check_params(illuminant, bins: int, quantile: float) -> np.ndarray:
    if not 0.0 <= quantile <= 1.0 or bins < 1:
        raise InputError("quantile must be in [0, 1] and bins >= 1")
    illum = np.ones(3, np.float32) if illuminant is None else np.asarray(illuminant, np.float32)
    if illum.shape != (3,) or np.any(illum <= 0):
        raise InputError("illuminant must be three positive numbers")
    return illum / illum.mean()


def _mask_index(mask, h: int, w: int) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(mask, bool)
    if m.shape != (h, w):
        raise InputError(f"mask shape {m.shape} does not match the image {(h, w)}")
    return np.flatnonzero(m)


def _sortable(ratio: np.ndarray) -> tuple[np.ndarray, bool]:
    """float32 -> (uint32 bits with the same order, whether they were transformed: negatives flipped)."""
    u = ratio.view(np.uint32)
    if not np.any(u >> 31):  # non-negative floats sort as their bits
        return u, False
    return np.where(u >> 31, ~u, u | np.uint32(1 << 31)), True


def _cluster_values(key: np.ndarray, ratio: np.ndarray, quantile: float) -> tuple[np.ndarray, np.ndarray]:
    """(cluster keys, the `quantile` of `ratio` in each): the element at rank floor(count * quantile)
    (at most count - 1) of the cluster's sorted ratios, as a lexsort by (key, ratio) picks it, but by
    one sort of a packed (key, ratio bits) word."""
    bits, flipped = _sortable(ratio)
    word = key.astype(np.uint64) << np.uint64(32)
    word |= bits
    word.sort()
    ks = word >> np.uint64(32)
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    counts = np.diff(np.r_[starts, len(ks)])
    pick = starts + np.minimum((counts * quantile).astype(np.int64), counts - 1)
    vbits = word[pick].astype(np.uint32)  # the low 32 bits
    if flipped:
        vbits = np.where(vbits >> 31, vbits & np.uint32(0x7FFFFFFF), ~vbits)
    return ks[starts].astype(np.int64), vbits.view(np.float32)


def _lookup(table: np.ndarray | tuple[np.ndarray, np.ndarray], key: np.ndarray, missing: float) -> np.ndarray:
    if isinstance(table, np.ndarray):
        return np.take(table, key, mode="clip")  # keys are in range: clip only skips the check
    keys, vals = table  # too many clusters for a dense table
    pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
    return np.where(keys[pos] == key, vals[pos], np.float32(missing))


def _table(keys: np.ndarray, vals: np.ndarray, n_keys: int, missing: float):
    if n_keys > 1 << 24:
        return keys, vals
    table = np.full(n_keys, missing, np.float32)
    table[keys] = vals
    return table


_BLOCK = 1 << 15  # pixels per block: a block's float temporaries stay in cache


def _lo_span(x0: np.ndarray, x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = np.minimum(x0, x1)
    np.minimum(lo, x2, out=lo)
    span = np.maximum(x0, x1)
    np.maximum(span, x2, out=span)
    span -= lo
    return lo, span


class _Model:
    """The model's per-pixel float32 arithmetic (the same operations, so the same bits, as on whole
    images), block by block over n candidate pixels.

    channels(a, b, pick=None): the illuminant-normalised linear channels (three 1-D float32 arrays) of
    candidates a..b, or of those at block offsets `pick` (a slice or indices). fit(): every candidate's
    validity (chromatic) and cluster key, and each cluster's diffuse ratio learnt on the valid pixels (on a
    strided sample of max_samples of them when there are more). specular(): per block, (a, the valid
    candidates as block offsets or None for all, the channels, their specular amount)."""

    def __init__(self, n, channels, bins, quantile, min_chroma, max_samples):
        self.n, self.channels = n, channels
        self.bins, self.quantile, self.min_chroma, self.max_samples = bins, quantile, min_chroma, max_samples
        # with min_chroma >= 1e-5 a valid pixel's chromaticity denominator is far from zero (float32 error
        # ~1e-7 of the sum), so chroma * bins lies in [0, bins + tiny): int32 truncates as int64 would
        self.key_dtype = np.int32 if min_chroma >= 1e-5 and bins * bins < 2**31 else np.int64

    def fit(self) -> "_Model":
        bins = self.bins
        self.blocks = [(a, min(a + _BLOCK, self.n)) for a in range(0, self.n, _BLOCK)]
        self.sel, self.keys, ratios = [], [], []
        keep_ratios = self.n <= self.max_samples  # then every valid pixel is in the learning set
        for a, b in self.blocks:
            x0, x1, x2 = self.channels(a, b)
            lo, span = _lo_span(x0, x1, x2)
            s = x0 + x1
            s += x2
            valid = s > 1e-5
            valid &= span > self.min_chroma * np.maximum(s, 1e-12)
            sel = None if valid.all() else np.flatnonzero(valid)
            if sel is not None:
                s, lo, span, x0, x1 = s[sel], lo[sel], span[sel], x0[sel], x1[sel]
            den = s - 3 * lo  # specular-free chromaticity (x - lo) / den, sums to 1
            if self.key_dtype is np.int32:
                t = np.subtract(x0, lo, out=s)
                t /= den
                t *= bins
                key = t.astype(np.int32)
                np.minimum(key, bins - 1, out=key)
                key *= bins
                t = np.subtract(x1, lo, out=t)
                t /= den
                t *= bins
                qb = t.astype(np.int32)
                np.minimum(qb, bins - 1, out=qb)
            else:
                key = np.clip((((x0 - lo) / den) * bins).astype(np.int64), 0, bins - 1)
                key *= bins
                qb = np.clip((((x1 - lo) / den) * bins).astype(np.int64), 0, bins - 1)
            key += qb
            self.sel.append(sel)
            self.keys.append(key)
            if keep_ratios:
                ratios.append(np.divide(lo, span, out=den))
        counts = np.array([len(k) for k in self.keys], np.int64)
        nv = int(counts.sum())
        self.table = None
        if not nv:
            return self
        self.sampled = nv > self.max_samples
        if not self.sampled and keep_ratios:
            ks, rs = self.keys, ratios
        else:  # the ratios of the learning set: every valid pixel, or a strided sample of them
            step = -(-nv // self.max_samples)
            first = (-np.concatenate([[0], np.cumsum(counts)[:-1]])) % step  # first sampled offset per block
            ks, rs = [], []
            for (a, b), sel, key, f in zip(self.blocks, self.sel, self.keys, first):
                if f < len(key):
                    pick = slice(f, None, step) if sel is None else sel[f::step]
                    lo, span = _lo_span(*self.channels(a, b, pick))
                    ks.append(key[f::step])
                    rs.append(lo / span)
        keys, vals = _cluster_values(np.concatenate(ks), np.concatenate(rs), self.quantile)
        self.table = _table(keys, vals, bins * bins, np.inf if self.sampled else 0.0)
        return self

    def specular(self):
        if self.table is None:
            return
        for (a, b), sel, key in zip(self.blocks, self.sel, self.keys):
            x = self.channels(a, b)
            lo, span = _lo_span(*(x if sel is None else [c[sel] for c in x]))
            q_d = _lookup(self.table, key, np.inf)
            if self.sampled:
                np.minimum(q_d, lo / span, out=q_d)  # unseen cluster: keep the pixel as is
            q_d *= span
            spec = np.subtract(lo, q_d, out=q_d)
            yield a, sel, x, np.clip(spec, 0.0, lo, out=spec)


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
    illum = _check_params(illuminant, bins, quantile)
    cand = _mask_index(mask, h, w)
    flat = img.reshape(-1, 3)
    if cand is not None:
        flat = flat[cand]
    cols = [np.ascontiguousarray(flat[:, c]) for c in range(3)]

    def channels(a, b, pick=None):
        xs = [col[a:b] if pick is None else col[a:b][pick] for col in cols]
        return [x if illum[c] == 1 else x / illum[c] for c, x in enumerate(xs)]

    full = np.zeros(h * w, np.float32)
    model = _Model(len(cols[0]), channels, bins, quantile, min_chroma, max_samples).fit()
    for a, sel, _, spec in model.specular():
        at = slice(a, a + len(spec)) if sel is None else a + sel
        full[at if cand is None else cand[at]] = spec
    specular = full.reshape(h, w, 1) * illum
    return img - specular, specular


def _despecularize_u8(
    arr: np.ndarray,
    mask: np.ndarray | None,
    srgb: bool,
    illuminant: tuple[float, float, float] | None = None,
    bins: int = 32,
    quantile: float = 0.5,
    min_chroma: float = 0.02,
    max_samples: int = 1 << 18,
) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (H, W, 3|4) -> (diffuse uint8 with alpha, residual uint8): the same bytes as decoding to
    linear float32, `despecularize_linear`, encoding back, rounding and taking the minimum with the input,
    but decoding through a 256-entry table, encoding through `_encode8`, block by block, and only the
    valid (chromatic) candidates. The rest keep their bytes: every code's decode/encode round trip is
    exact. The minimum is implied: encoding is monotone and the specular is >= 0."""
    h, w, nc = arr.shape
    illum = _check_params(illuminant, bins, quantile)
    cand = _mask_index(mask, h, w)
    arr = np.ascontiguousarray(arr)
    if h * w == 0:
        return arr.copy(), np.zeros((h, w, 3), np.uint8)
    out = [p.reshape(-1) for p in cv2.split(arr)]  # contiguous channel planes (copies), written in place
    # the candidates' uint8 codes per channel (views of `out` without a mask: a block is read before it is
    # written), decoded block by block through 256-entry tables
    codes = out[:3] if cand is None else [np.take(p, cand) for p in out[:3]]
    dec = _decode_lut(srgb)
    white = bool(np.all(illum == 1))
    luts = [dec if illum[c] == 1 else dec / illum[c] for c in range(3)]  # == decode(u8) / illum[c]

    def channels(a, b, pick=None):
        if pick is None:
            return [cv2.LUT(p[a:b], lut).reshape(-1) for p, lut in zip(codes, luts)]
        return [np.take(lut, p[a:b][pick]) for p, lut in zip(codes, luts)]

    model = _Model(len(codes[0]), channels, bins, quantile, min_chroma, max_samples).fit()
    for a, sel, x, spec in model.specular():
        # every chromatic pixel is re-encoded (one without specular gets its own code back)
        at = slice(a, a + len(spec)) if sel is None else a + sel  # candidates
        pos = at if cand is None else cand[at]
        for c in range(3):
            if white:  # the channels are the decoded image itself
                d = x[c] if sel is None else x[c][sel]
                d -= spec
            else:
                d = np.take(dec, codes[c][at])
                d -= spec * illum[c]
            out[c][pos] = _encode8(d, srgb)
    diffuse = cv2.merge([p.reshape(h, w) for p in out])
    return diffuse, np.subtract(arr[..., :3], diffuse[..., :3])


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
    if is_u8:
        out_d, out_r = _despecularize_u8(arr, mask, bool(srgb), **kw)
    else:
        rgb = arr[..., :3].astype(np.float32)
        lin = srgb_to_linear(rgb) if srgb else rgb
        diffuse_lin, _ = despecularize_linear(lin, mask=mask, **kw)
        diffuse = linear_to_srgb(diffuse_lin) if srgb else diffuse_lin
        diffuse = np.minimum(diffuse, rgb)
        out_d, out_r = diffuse, rgb - diffuse
        if arr.shape[2] == 4:
            out_d = np.concatenate([out_d, arr[..., 3:]], axis=-1)
    params = {"model": "dichromatic", "estimator": "shen-zheng-2013-intensity-ratio", "srgb_input": bool(srgb)}
    params.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()})
    return Despecularized(out_d, out_r, "classical", params)
