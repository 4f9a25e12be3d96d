"""Classical despecularization (dichromatic reflection model), numpy + OpenCV: no torch, no diffusers.

Model (Shafer 1985), in linear RGB under a white (or given, then normalised away) illuminant:
    I = m_d * Lambda + m_s * (1, 1, 1) / 3
with Lambda the diffuse chromaticity. The specular term adds the same amount to every channel, so
    q = min(I) / (max(I) - min(I))  equals Lambda_min / (Lambda_max - Lambda_min) on diffuse pixels
(independent of shading m_d) and is larger by m_s / 3 / (max - min) wherever a highlight adds white;
the specular-free hue g = (I_r - I_b) / sum(I - min I) is the same with or without a highlight
(Shen & Zheng, Applied Optics 2013, "intensity ratio").

Skin albedo has two chromophores, so the diffuse q is not a function of hue alone; it is estimated
locally: within a window, q_d = a * g + b, fitted on the pixels believed diffuse (a guided-filter
regression on a coarse grid of cells, coefficients interpolated back; windows without enough diffuse
pixels, e.g. inside a large highlight, are filled from around). A pixel's evidence is d = q - q_d, against
the local noise sigma of d on diffuse pixels plus the 8-bit quantisation bound of q. Highlights are found
by hysteresis: components of pixels with d > grow_threshold * sigma (plus clipped pixels) that hold a
seed, a pixel with d > seed_threshold * sigma, or with such pooled evidence over 5 x 5 in a component of
at least a third of a cell (pooling trusts independent noise, which albedo detail is not). Fit and detection
alternate five times, each fit leaving out what the last one detected (and 2 pixels around it); the first
four, which only decide that, run at half resolution. A pixel is changed only inside a highlight and where
its own d > threshold * sigma + bound (sigma counted up to twice where the fit window held few diffuse
pixels: q_d is then interpolated from farther away); then
    specular = min(I) - q_d * (max(I) - min(I)),   clipped to [0, min(I)];   diffuse = I - specular.
Everywhere else the output is the input, bit for bit. Clipped highlight pixels (a channel at the top of
its range) have no chromatic evidence left: they are filled from the surrounding diffuse estimate, ring by
ring from the outside in, and never brightened.

Speed (it runs on every painted texture): whole-plane float32 arithmetic with OpenCV filters; the
regression's moments are box-filtered on the coarse grid; uint8 input is decoded, and its quantisation
bound looked up, through 256-entry tables, and only changed pixels are encoded (exactly, by the two-lookup
`_encode8`). tests/test_despecular.py compares the results with a plain numpy implementation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from . import color
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
    """sRGB-encoded -> linear, always float32 (the package's one transfer function, assetgen.color)."""
    return color.srgb_to_linear(x, np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear -> sRGB-encoded in [0, 1], always float32 (assetgen.color; the input is clipped)."""
    return color.linear_to_srgb(x, np.float32)


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


# ---- the estimator ---------------------------------------------------------------------------------------
#
# Every step works on whole (H, W) float32 planes or on a coarse grid of cell x cell blocks; the same code
# serves uint8 and float input (tests/test_despecular.py checks it against a separate plain-numpy version).

_CELLS = 3  # the hue regression's window radius, in cells (a window is 2 * 3 + 1 cells wide)
_ITERATIONS = 5  # fit and detect, each fit leaving out what the last detected: 4 at half resolution, 1 full
_RIDGE = np.float32(1e-5)  # regularises the regression slope where hue hardly varies
_MIN_SUPPORT = 0.15  # a window needs this fraction of diffuse pixels to be fitted, else it is filled
_EVIDENCE = 5  # the pooled evidence window (pixels)
_EXCLUDE = 2  # detected highlights and this many pixels around them are left out of the next fit
_SPARSE_FIT = 1.0  # the change margin grows by up to this factor where the fit had few diffuse pixels
_POOLED_AREA = 1 / 3  # pooled evidence seeds only components of this many cells or more (>= 3 pixels)
_INIT_SPREAD = 6.0  # the first fit leaves out ratios above median + this many (robust) standard deviations


def _check_params(illuminant, window, threshold, seed_threshold, grow_threshold, min_chroma) -> np.ndarray:
    """The normalised illuminant (mean 1), after checking the estimator's options."""
    if window is not None and (int(window) != window or window < 3):
        raise InputError("window must be a whole number of pixels >= 3 (or None: from the image size)")
    if not 0 < grow_threshold <= threshold <= seed_threshold:
        raise InputError("thresholds must satisfy 0 < grow_threshold <= threshold <= seed_threshold")
    if not 0 <= min_chroma < 1:
        raise InputError("min_chroma must be in [0, 1)")
    illum = np.ones(3, np.float32) if illuminant is None else np.asarray(illuminant, np.float32)
    if illum.shape != (3,) or np.any(illum <= 0):
        raise InputError("illuminant must be three positive numbers")
    return illum / illum.mean()


def _mask(mask, h: int, w: int) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(mask, bool)
    if m.shape != (h, w):
        raise InputError(f"mask shape {m.shape} does not match the image {(h, w)}")
    return m


def _halfstep_lut(srgb: bool) -> np.ndarray:
    """uint8 code -> half the width, in linear units, of the values that round to it: how far a decoded
    code may be from the value that was quantised."""
    key = "half_srgb" if srgb else "half_lin"
    if key not in _TABLES:
        c = np.arange(256, dtype=np.float64)
        lo, hi = np.maximum(c - 0.5, 0) / 255, np.minimum(c + 0.5, 255) / 255
        if srgb:
            lo, hi = color.srgb_to_linear(lo), color.srgb_to_linear(hi)
        _TABLES[key] = ((hi - lo) / 2).astype(np.float32)
    return _TABLES[key]


def _box(v: np.ndarray, n: int) -> np.ndarray:
    return cv2.boxFilter(v, -1, (n, n), normalize=True, borderType=cv2.BORDER_REFLECT)


def _halve(s: np.ndarray) -> np.ndarray:
    """2 x 2 block sums (zero-padded to even sizes)."""
    h, w = s.shape[:2]
    if h % 2 or w % 2:
        p = np.zeros((h + h % 2, w + w % 2) + s.shape[2:], s.dtype)
        p[:h, :w] = s
        s = p
    return s[0::2, 0::2] + s[1::2, 0::2] + s[0::2, 1::2] + s[1::2, 1::2]


def _pull_push(v: np.ndarray, known: np.ndarray) -> np.ndarray:
    """v (h, w) or (h, w, c) float32 -> v where `known`, elsewhere the known values' average pulled down a
    pyramid of 2 x 2 blocks and pushed back up by bilinear interpolation (a smooth fill of any hole)."""
    wt = known.astype(np.float32)
    levels = [(v * (wt if v.ndim == 2 else wt[..., None]), wt)]
    while max(levels[-1][1].shape) > 1:
        s, w = levels[-1]
        levels.append((_halve(s), _halve(w)))
    est = None
    for s, w in reversed(levels):
        ww = w if s.ndim == 2 else w[..., None]
        own = np.divide(s, ww, out=np.zeros_like(s), where=ww > 0)
        if est is not None:
            up = cv2.resize(est, (2 * est.shape[1], 2 * est.shape[0]), interpolation=cv2.INTER_LINEAR)
            own = np.where(ww > 0, own, up[: s.shape[0], : s.shape[1]].reshape(s.shape))
        est = own
    return np.where(known if v.ndim == 2 else known[..., None], v, est).astype(np.float32)


def _extremes(x, half):
    """(min, max, the min channel's half-step, the max channel's): per pixel, of three planes."""
    x0, x1, x2 = x
    lo = np.minimum(np.minimum(x0, x1), x2)
    hi = np.maximum(np.maximum(x0, x1), x2)
    h0, h1, h2 = half
    lo_half = np.where(x0 == lo, h0, np.where(x1 == lo, h1, h2)).astype(np.float32)
    hi_half = np.where(x0 == hi, h0, np.where(x1 == hi, h1, h2)).astype(np.float32)
    return lo, hi, lo_half, hi_half


@dataclass
class _Estimate:
    """change: flat indices of the pixels given a specular amount `spec` (illuminant-normalised linear);
    fill: flat indices of the clipped highlight pixels whose colour is lost (filled from neighbours)."""

    change: np.ndarray
    spec: np.ndarray
    fill: np.ndarray


def _pad(v, H: int, W: int):
    """A plane zero-padded at the bottom and right to (H, W)."""
    u = v.view(np.uint8) if v.dtype == bool else v
    u = cv2.copyMakeBorder(u, 0, H - u.shape[0], 0, W - u.shape[1], cv2.BORDER_CONSTANT, value=0)
    return u.view(bool) if v.dtype == bool else u


class _Grid:
    """Cells of cell x cell pixels over an (h, w) plane, the last row and column of cells partly outside
    (counted as zeros)."""

    def __init__(self, h: int, w: int, cell: int):
        self.h, self.w, self.cell = h, w, cell
        self.shape = (-(-h // cell), -(-w // cell))
        self.whole = (h // cell, w // cell)

    def down(self, v: np.ndarray) -> np.ndarray:
        """The cells' means."""
        c = self.cell
        if c == 1:
            return v
        (hc, wc), (hw, ww) = self.shape, self.whole
        if (hc, wc) == (hw, ww):
            return cv2.resize(v, (wc, hc), interpolation=cv2.INTER_AREA)
        out = np.zeros((hc, wc), np.float32)
        if hw and ww:
            out[:hw, :ww] = cv2.resize(v[: hw * c, : ww * c], (ww, hw), interpolation=cv2.INTER_AREA)
        area = np.float32(c * c)
        if hw < hc:  # the bottom row of cells, zero-padded to whole ones
            strip = np.zeros((c, wc * c), np.float32)
            strip[: self.h - hw * c, : self.w] = v[hw * c :]
            out[hw] = strip.reshape(c, wc, c).sum((0, 2)) / area
        if ww < wc:  # the right column
            strip = np.zeros((hw * c, c), np.float32)
            strip[:, : self.w - ww * c] = v[: hw * c, ww * c :]
            out[:hw, ww] = strip.reshape(hw, c, c).sum((1, 2)) / area
        return out

    def up(self, v: np.ndarray) -> np.ndarray:
        """Cell values interpolated bilinearly to every pixel."""
        c = self.cell
        if c == 1:
            return v
        hc, wc = self.shape
        return cv2.resize(v, (wc * c, hc * c), interpolation=cv2.INTER_LINEAR)[: self.h, : self.w]


class _Ratios:
    """The per-pixel quantities of one resolution: q (intensity ratio), g (hue), quant (q's quantisation
    bound), meas (q measured: the pixel is in the mask, not clipped, max > min), use (fit on: also
    min_chroma), clipped (in the mask)."""

    def __init__(self, x, lo, hi, lo_half, hi_half, clipped, cand, min_chroma: float, cell: int):
        self.x, self.lo = x, lo
        self.grid = _Grid(*lo.shape, cell)
        x0, x1, x2 = x
        self.span = span = hi - lo
        meas = span > 0
        meas &= ~clipped
        if cand is not None:
            meas &= cand
        total = x0 + x1
        total += x2
        self.meas, self.use = meas, meas & (span > np.float32(min_chroma) * total)
        self.mf = mf = meas.astype(np.float32)
        inv = np.maximum(span, np.float32(1e-30))
        np.divide(mf, inv, out=inv)  # 1 / span where measured, else 0
        self.q = lo * inv
        total -= 3 * lo  # the specular-free sum
        np.maximum(total, np.float32(1e-30), out=total)
        g = x0 - x2
        g /= total
        g *= mf
        self.g = g
        quant = lo_half + hi_half
        quant *= self.q
        quant += lo_half
        quant *= inv  # lo and hi each off by up to their half-step
        self.quant = quant
        self.clipped = clipped if cand is None else clipped & cand

    def center(self, q0: float, g0: float) -> None:
        """Shift q and g by typical values (the fit is unchanged; its float32 moments lose less)."""
        self.q -= np.float32(q0)
        self.g -= np.float32(g0)

    def halved(self) -> tuple:
        """The planes averaged over 2 x 2 blocks (odd sizes padded), for `_Ratios` at half resolution:
        (x, lo, hi, lo_half, hi_half, clipped, cand)."""
        h, w = self.lo.shape
        H, W = h + h % 2, w + w % 2

        def down(v):
            if (H, W) != (h, w):
                v = _pad(v, H, W)
            return cv2.resize(v, (W // 2, H // 2), interpolation=cv2.INTER_AREA)

        x = [down(c) for c in self.x]
        lo = np.minimum(np.minimum(x[0], x[1]), x[2])
        hi = np.maximum(np.maximum(x[0], x[1]), x[2])
        half = down(self.quant * self.span) / 2  # a bound on lo's and hi's errors (both at once)
        clipped = down(self.clipped.astype(np.float32)) > 0
        cand = down(self.mf + self.clipped) > 0.5
        return x, lo, hi, half, half, clipped, cand


def _pass(r: _Ratios, wgt: np.ndarray, seed_threshold: float, grow_threshold: float):
    """One fit and detection: (region, q_d, d, sigma, support): region the highlight pixels (bool plane),
    support per cell the fraction of the fit window's pixels that were fitted on."""
    grid, q, g = r.grid, r.q, r.g
    down, up = grid.down, grid.up
    k = 2 * _CELLS + 1
    wf = wgt.astype(np.float32)
    dw = down(wf)
    wg = wf * g
    m0, mg = _box(dw, k), _box(down(wg), k)
    t = wf * q
    mq = _box(down(t), k)
    t *= g
    mgq = _box(down(t), k)
    wg *= g
    mgg = _box(down(wg), k)
    have = m0 > _MIN_SUPPORT
    s0 = np.maximum(m0, np.float32(1e-12))
    mg /= s0
    mq /= s0
    a = (mgq / s0 - mg * mq) / (mgg / s0 - mg * mg + _RIDGE)
    b = mq - a * mg
    if not have.all():
        ab = _pull_push(np.dstack([a, b]), have)
        a, b = np.ascontiguousarray(ab[..., 0]), np.ascontiguousarray(ab[..., 1])
    q_d = up(a) * g
    q_d += up(b)
    d = q - q_d
    e = np.multiply(d, d, out=wg)
    np.minimum(e, 1, out=e)
    e *= wf
    n = 2 * k - 1
    e0, e2 = _box(dw, n), _box(down(e), n)
    var = np.divide(e2, e0, out=np.zeros_like(e2), where=e0 > 0)
    if not (e0 > _MIN_SUPPORT).all():
        var = _pull_push(var, e0 > _MIN_SUPPORT)
    sigma = up(var) + np.float32(1e-10)
    np.sqrt(sigma, out=sigma)
    np.multiply(sigma, np.float32(seed_threshold), out=t)
    t += r.quant
    strong = d > t
    strong &= r.meas
    ev = (_EVIDENCE, _EVIDENCE)
    if not hasattr(r, "pooled_k"):
        # pooled evidence: the mean d of the window's m measured pixels > seed * sigma / sqrt(m) + their
        # mean quant; times count = m / 25 (the blurred measured mask): blur(d * measured) >
        # seed * sigma * sqrt(count) / 5 + blur(quant * measured)
        count = cv2.blur(r.mf, ev, borderType=cv2.BORDER_REFLECT)
        r.pooled_quant = cv2.blur(r.quant * r.mf, ev, borderType=cv2.BORDER_REFLECT)
        np.sqrt(count, out=count)
        count *= np.float32(seed_threshold / _EVIDENCE)
        r.pooled_k = count
    pooled = cv2.blur(np.multiply(d, r.mf, out=e), ev, borderType=cv2.BORDER_REFLECT)
    np.multiply(sigma, r.pooled_k, out=t)
    t += r.pooled_quant
    seeds = pooled > t
    seeds &= r.meas
    np.multiply(sigma, np.float32(grow_threshold), out=t)
    t += r.quant
    low = d > t
    low &= r.meas
    low |= r.clipped
    n, labels = cv2.connectedComponents(low.view(np.uint8), connectivity=8)
    at = np.flatnonzero(low)
    labels_at = labels.flat[at]
    keep = np.zeros(n, bool)
    keep[labels[strong]] = True
    big = np.bincount(labels_at, minlength=n) >= max(3, round(grid.cell**2 * _POOLED_AREA))
    keep[labels[seeds]] |= big[labels[seeds]]
    keep[0] = False
    region = np.zeros(low.shape, bool)
    region.flat[at] = keep[labels_at]
    return region, q_d, d, sigma, m0


def _estimate(x, lo, hi, lo_half, hi_half, clipped, cand, window, threshold, seed_threshold, grow_threshold,
              min_chroma) -> _Estimate:
    """x: the three illuminant-normalised linear (H, W) float32 planes; lo, hi: their per-pixel min and
    max; lo_half, hi_half: those channels' quantisation half-widths (planes or floats); clipped: (H, W)
    bool, a channel at the top of its range; cand: pixels to process (None: all). The first fits and
    detections, which only decide what the next fit leaves out, run at half resolution; the last at full.
    See the module docstring."""
    h, w = lo.shape
    if window is None:
        window = max(21, round(min(h, w) * 7 / 96))
    cell = max(1, round(window / (2 * _CELLS + 1)))
    full = _Ratios(x, lo, hi, lo_half, hi_half, clipped, cand, min_chroma, cell)
    none = _Estimate(np.zeros(0, np.intp), np.zeros(0, np.float32), np.zeros(0, np.intp))
    if not full.use.any():
        return none
    half = _Ratios(*full.halved(), min_chroma, max(1, round(cell / 2)))
    full.x = half.x = None  # (memory)
    # the first fit leaves out ratios far above the median (robust statistics of a regular sample)
    step = max(1, half.q.size // 65536)
    sample = half.use.reshape(-1)[::step]
    if not sample.any():
        return none
    qs = half.q.reshape(-1)[::step][sample]
    q0, g0 = np.median(qs), np.median(half.g.reshape(-1)[::step][sample])
    half.center(q0, g0)
    full.center(q0, g0)
    top = np.float32(_INIT_SPREAD * 1.4826 * np.median(np.abs(qs - q0)))
    wgt = half.use & (half.q <= top)
    kernel = np.ones((2 * _EXCLUDE + 1,) * 2, np.uint8)
    for _ in range(_ITERATIONS - 1):
        region = _pass(half, wgt, seed_threshold, grow_threshold)[0]
        wgt = half.use & ~cv2.dilate(region.view(np.uint8), kernel).view(bool)
    seen = cv2.resize(region.view(np.uint8), (2 * region.shape[1], 2 * region.shape[0]),
                      interpolation=cv2.INTER_NEAREST)[:h, :w]
    del half, region, wgt
    wgt = full.use & (full.q <= top) & ~cv2.dilate(seen, kernel).view(bool)
    region, q_d, d, sigma, support = _pass(full, wgt, seed_threshold, grow_threshold)
    at = np.flatnonzero(region & full.meas)
    # a pixel is changed where its own evidence is clear; where the fit had few diffuse pixels near (it
    # was interpolated from farther away), the margin is wider
    widen = full.grid.up(np.float32(1 + _SPARSE_FIT) - np.float32(_SPARSE_FIT) * np.minimum(support, 1))
    at = at[d.flat[at] > np.float32(threshold) * sigma.flat[at] * widen.flat[at] + full.quant.flat[at]]
    lo_at = lo.flat[at]
    spec = np.clip(lo_at - (q_d.flat[at] + np.float32(q0)) * full.span.flat[at], 0, lo_at)
    return _Estimate(at, spec.astype(np.float32), np.flatnonzero(region & full.clipped))


def _filled(decode, shape: tuple[int, int], fill: np.ndarray, cand: np.ndarray | None) -> np.ndarray:
    """The fill values (n, 3) at the flat indices `fill` of an (H, W) image: holes filled ring by ring from
    the outside in, each pixel with the mean of its filled or processed 8-neighbours (pixels of `cand`
    that are not holes). decode(box) -> the diffuse estimate (linear float32, (h, w, 3)) in a box (a pair
    of slices); the work is done box by box around groups of holes, with the same result."""
    h, w = shape
    holes = np.zeros((h, w), np.uint8)
    holes.flat[fill] = 1
    # groups of holes: on a 4x coarser grid, a cell with a hole and its neighbours
    coarse = cv2.dilate((_Grid(h, w, 4).down(holes.astype(np.float32)) > 0).view(np.uint8), np.ones((3, 3), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(coarse, connectivity=8)
    out = np.zeros((h, w, 3), np.float32)
    ring = np.ones((3, 3), np.float32)
    for i, (x0, y0, bw, bh, _) in enumerate(stats[1:], 1):
        box = np.s_[y0 * 4 : min(h, (y0 + bh) * 4), x0 * 4 : min(w, (x0 + bw) * 4)]
        todo = holes[box].astype(bool)
        known = ~todo if cand is None else cand[box] & ~todo
        val = decode(box) * known[..., None]
        wt = known.astype(np.float32)
        while todo.any():
            s = cv2.filter2D(val, -1, ring, borderType=cv2.BORDER_CONSTANT)
            c = cv2.filter2D(wt, -1, ring, borderType=cv2.BORDER_CONSTANT)
            edge = todo & (c > 0)
            if not edge.any():
                break  # no processed pixel touches these holes: they keep their values
            val[edge] = s[edge] / c[edge][:, None]
            wt[edge] = 1
            todo &= ~edge
        val[todo] = np.inf  # unfilled: the caller's minimum with the input keeps the input
        mine = np.repeat(np.repeat(labels[y0 : y0 + bh, x0 : x0 + bw] == i, 4, 0), 4, 1)[: val.shape[0], : val.shape[1]]
        mine &= holes[box].astype(bool)  # this group's holes (boxes of different groups may overlap)
        out[box][mine] = val[mine]
    return out.reshape(-1, 3)[fill]


_DEFAULTS = dict(window=None, threshold=3.5, seed_threshold=6.0, grow_threshold=2.5, min_chroma=0.02)


def despecularize_linear(
    image: np.ndarray,
    mask: np.ndarray | None = None,
    illuminant: tuple[float, float, float] | None = None,
    window: int | None = None,
    threshold: float = 3.5,
    seed_threshold: float = 6.0,
    grow_threshold: float = 2.5,
    min_chroma: float = 0.02,
) -> tuple[np.ndarray, np.ndarray]:
    """Linear RGB float (H, W, 3) -> (diffuse, specular), both linear float32, diffuse + specular = image.

    mask: (H, W) bool, the pixels to process and to learn from (default: all); illuminant: the light's RGB
    (default white); window: the hue regression's window in pixels (default: 7/96 of the image's shorter
    side, at least 21); threshold, seed_threshold, grow_threshold: by how many noise standard deviations
    (plus the 8-bit quantisation bound) a pixel's ratio must exceed the local diffuse ratio to be changed,
    to start a highlight, to extend one; min_chroma: pixels less chromatic than this are not learnt from.
    Values are taken to be no more precise than 8 bits; a channel at >= 1 is clipped.
    """
    img = np.asarray(image, np.float32)
    if img.ndim != 3 or img.shape[2] < 3:
        raise InputError(f"despecularize needs an (H, W, 3) image, got shape {img.shape}")
    p = dict(window=window, threshold=threshold, seed_threshold=seed_threshold, grow_threshold=grow_threshold,
             min_chroma=min_chroma)
    return _despecularize_float(img[..., :3], mask, illuminant, None, p)


def _despecularize_float(img: np.ndarray, mask, illuminant, half, p: dict) -> tuple[np.ndarray, np.ndarray]:
    """Linear float32 (H, W, 3) -> (diffuse, specular). half: the channels' quantisation half-widths
    (three (H, W) planes; None: an 8-bit step of linear values)."""
    h, w = img.shape[:2]
    illum = _check_params(illuminant, **p)
    cand = _mask(mask, h, w)
    diffuse = img.copy()
    if h * w == 0:
        return diffuse, np.zeros_like(img)
    planes = [np.ascontiguousarray(img[..., c]) for c in range(3)]
    x = [pl if illum[c] == 1 else pl / illum[c] for c, pl in enumerate(planes)]
    if half is None:
        half = [np.float32(0.5 / 255)] * 3
    half = [hc if illum[c] == 1 else hc / illum[c] for c, hc in enumerate(half)]
    clipped = np.maximum(np.maximum(planes[0], planes[1]), planes[2]) >= 1
    est = _estimate(x, *_extremes(x, half), clipped, cand, **p)
    flat = diffuse.reshape(-1, 3)
    flat[est.change] -= est.spec[:, None] * illum
    if est.fill.size:
        got = _filled(lambda box: diffuse[box], (h, w), est.fill, cand)
        flat[est.fill] = np.minimum(got, img.reshape(-1, 3)[est.fill])
    return diffuse, img - diffuse


def _despecularize_u8(arr: np.ndarray, mask: np.ndarray | None, srgb: bool, illuminant=None,
                      **kw) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (H, W, 3|4) -> (diffuse uint8 with alpha, residual uint8): `despecularize_linear` on the
    decoded image (through 256-entry tables, the 8-bit quantisation bound exact per code), encoding only
    the changed pixels (exactly, `_encode8`); every other pixel keeps its bytes."""
    p = {**_DEFAULTS, **kw}
    h, w, _ = arr.shape
    illum = _check_params(illuminant, **p)
    cand = _mask(mask, h, w)
    arr = np.ascontiguousarray(arr)
    if h * w == 0:
        return arr.copy(), np.zeros((h, w, 3), np.uint8)
    out = list(cv2.split(arr))  # contiguous channel planes (copies), written in place
    codes = out[:3]
    dec, half8 = _decode_lut(srgb), _halfstep_lut(srgb)
    white = bool(np.all(illum == 1))
    x = [cv2.LUT(c, dec if white else dec / illum[i]) for i, c in enumerate(codes)]
    c_lo = np.minimum(np.minimum(codes[0], codes[1]), codes[2])
    c_hi = np.maximum(np.maximum(codes[0], codes[1]), codes[2])
    if white:  # decoding is monotone: the min and max codes are the min and max channels
        ext = [cv2.LUT(c_lo, dec), cv2.LUT(c_hi, dec), cv2.LUT(c_lo, half8), cv2.LUT(c_hi, half8)]
    else:
        ext = _extremes(x, [cv2.LUT(c, half8 / illum[i]) for i, c in enumerate(codes)])
    est = _estimate(x, *ext, c_hi == 255, cand, **p)
    if est.change.size:
        flat = [c.reshape(-1) for c in codes]
        for i in range(3):
            d = np.take(dec, flat[i][est.change])
            d -= est.spec * illum[i]
            flat[i][est.change] = _encode8(d, srgb)  # <= the input's code: the specular is >= 0
    if est.fill.size:
        got = _filled(lambda box: np.dstack([cv2.LUT(c[box], dec) for c in codes]), (h, w), est.fill, cand)
        for i in range(3):
            flat = codes[i].reshape(-1)
            flat[est.fill] = np.minimum(_encode8(np.ascontiguousarray(got[:, i]), srgb), flat[est.fill])
    diffuse = cv2.merge(out)
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
    process, e.g. a UV layout's coverage. The residual is image - diffuse in the input's encoding. Pixels
    without clear evidence of a highlight keep their exact values. kw: see `despecularize_linear`.
    """
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise InputError(f"despecularize needs an (H, W, 3) or (H, W, 4) image, got shape {arr.shape}")
    unknown = set(kw) - set(_DEFAULTS) - {"illuminant"}
    if unknown:
        known = ", ".join(["illuminant", *_DEFAULTS])
        raise InputError(f"unknown despecularize option(s) {sorted(unknown)}; known: {known}")
    is_u8 = arr.dtype == np.uint8
    if srgb is None:
        srgb = is_u8
    if is_u8:
        out_d, out_r = _despecularize_u8(arr, mask, bool(srgb), **kw)
    else:
        rgb = arr[..., :3].astype(np.float32)
        lin, half = rgb, None
        if srgb:  # the quantisation bound of the sRGB code each value rounds to
            lin = srgb_to_linear(rgb)
            codes = np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
            half = [cv2.LUT(np.ascontiguousarray(codes[..., c]), _halfstep_lut(True)) for c in range(3)]
        p = {**_DEFAULTS, **{k: v for k, v in kw.items() if k != "illuminant"}}
        diffuse_lin, _ = _despecularize_float(lin, mask, kw.get("illuminant"), half, p)
        changed = (diffuse_lin != lin).any(-1)  # the others keep their exact values
        diffuse = rgb.copy()
        got = diffuse_lin[changed]
        diffuse[changed] = np.minimum(linear_to_srgb(got) if srgb else got, rgb[changed])
        out_d, out_r = diffuse, rgb - diffuse
        if arr.shape[2] == 4:
            out_d = np.concatenate([out_d, arr[..., 3:]], axis=-1)
    params = {"model": "dichromatic", "estimator": "intensity-ratio-local-hue-regression", "srgb_input": bool(srgb)}
    params.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()})
    return Despecularized(out_d, out_r, "classical", params)


# ---- a benchmark with known answers ------------------------------------------------------------------

SKIN_TONES: dict[str, tuple[float, float]] = {  # mean melanin, haemoglobin of `synthetic_highlight_benchmark`
    "light": (0.1, 0.4), "medium": (0.55, 0.45), "olive": (0.95, 0.4), "brown": (1.5, 0.45), "dark": (2.3, 0.5)}
_SKIN_BASE = np.array([0.95, 0.80, 0.66])  # linear albedo without chromophores
_MELANIN = np.array([0.9, 1.15, 1.4])  # absorption per unit (R, G, B): darkens, most in blue
_HAEMOGLOBIN = np.array([0.12, 0.6, 0.5])  # absorbs green and blue: redness


@dataclass(eq=False)
class HighlightBenchmark:
    """image: uint8 sRGB (H, W, 3), diffuse + white specular, clipped at 1 in linear; diffuse: the uint8
    sRGB ground truth; highlight: (H, W) bool, specular > 1e-4 (linear); specular: (H, W) linear float32."""

    image: np.ndarray
    diffuse: np.ndarray
    highlight: np.ndarray
    specular: np.ndarray
    tone: str
    seed: int


def _smooth_noise(rng, n: int, scale: float, octaves: int) -> np.ndarray:
    """Zero-mean, unit-variance noise with features from `scale` pixels down, octave by octave."""
    out, total = np.zeros((n, n), np.float32), 0.0
    for o in range(octaves):
        k = max(2, int(round(n / scale * 2**o)))
        grid = rng.standard_normal((k, k)).astype(np.float32)
        out += 0.5**o * cv2.resize(grid, (n, n), interpolation=cv2.INTER_CUBIC)
        total += 0.25**o
    return out / np.float32(np.sqrt(total))


def _add_blob(field: np.ndarray, cy: float, cx: float, radius: float, amount: float) -> None:
    """field += amount * a Gaussian of the given radius (sigma) around (cy, cx), within 3.5 sigma."""
    n = field.shape[0]
    r = 3.5 * radius
    y0, y1, x0, x1 = (max(0, int(cy - r)), min(n, int(cy + r) + 2), max(0, int(cx - r)), min(n, int(cx + r) + 2))
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    field[y0:y1, x0:x1] += amount * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius * radius))


def _add_lobe(field: np.ndarray, cy: float, cx: float, radius: float, aspect: float, angle: float,
              power: float, peak: float) -> None:
    """field += peak * (1 - rho^2)^power inside an ellipse (semi-axes radius, radius / aspect; rotated):
    a specular lobe with a compact support, flat-topped for small powers, peaked for large."""
    n = field.shape[0]
    y0, y1, x0, x1 = (max(0, int(cy - radius) - 1), min(n, int(cy + radius) + 2),
                      max(0, int(cx - radius) - 1), min(n, int(cx + radius) + 2))
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    c, s = np.cos(angle), np.sin(angle)
    u = ((xx - cx) * c + (yy - cy) * s) / radius
    v = (-(xx - cx) * s + (yy - cy) * c) * (aspect / radius)
    field[y0:y1, x0:x1] += peak * np.clip(1 - u * u - v * v, 0, 1) ** power


def synthetic_highlight_benchmark(seed: int = 0, size: int = 256, tone: str = "medium",
                                  highlights: bool = True) -> HighlightBenchmark:
    """A skin texture with white highlights and its known diffuse (a testing utility: deterministic per
    seed, size and tone).

    Albedo: two chromophores (melanin, haemoglobin; Beer-Lambert) whose maps vary smoothly at several
    scales, with freckles and moles, red blotches, pores and per-pixel noise, around a tone of
    `SKIN_TONES`; times diffuse shading of a bumpy surface. Highlights: white lobes from 1 pixel to a fifth
    of the image across, weak (0.01) to far past clipping (1.6), flat-topped or peaked, elongated, a third
    of them overlapping another, plus single-pixel glints; the sum is clipped at 1 per channel.
    Features scale with `size`."""
    if tone not in SKIN_TONES:
        raise InputError(f"unknown tone {tone!r}; known: {', '.join(SKIN_TONES)}")
    rng = np.random.default_rng([seed, list(SKIN_TONES).index(tone)])
    n, f = size, size / 256
    mel0, hb0 = SKIN_TONES[tone]
    mel = mel0 + 0.12 * _smooth_noise(rng, n, n / 3, 4) + 0.03 * rng.standard_normal((n, n), np.float32)
    hb = hb0 + 0.15 * _smooth_noise(rng, n, n / 4, 4) + 0.03 * rng.standard_normal((n, n), np.float32)
    for _ in range(26):  # freckles and moles
        _add_blob(mel, *rng.uniform(0, n, 2), rng.uniform(0.8 * f, 0.015 * n), rng.uniform(0.1, 0.6))
    for _ in range(19):  # red blotches
        _add_blob(hb, *rng.uniform(0, n, 2), rng.uniform(f, 0.05 * n), rng.uniform(0.1, 0.5))
    mel, hb = np.maximum(mel, 0), np.maximum(hb, 0)
    albedo = _SKIN_BASE * np.exp(-(mel[..., None] * _MELANIN + hb[..., None] * _HAEMOGLOBIN))
    pores = (rng.random((n, n)) < 0.01 / (f * f)).astype(np.float32)
    pores = np.clip(cv2.GaussianBlur(pores, (0, 0), 0.7 * f) * 0.84 * f * f, 0, 0.5)
    albedo *= ((1 - pores) * (1 + 0.02 * rng.standard_normal((n, n), np.float32)))[..., None]
    height = _smooth_noise(rng, n, n / 2, 3) * (0.06 * n)
    gy, gx = np.gradient(height)
    light = np.array([0.4, -0.3, 0.87]) / np.linalg.norm([0.4, -0.3, 0.87])
    shade = 0.25 + 0.65 * np.clip((-gx * light[0] - gy * light[1] + light[2]) / np.sqrt(gx * gx + gy * gy + 1), 0, 1)
    diffuse = (albedo * shade[..., None]).astype(np.float32)
    spec = np.zeros((n, n), np.float32)
    if highlights:
        placed: list[tuple[float, float, float]] = []
        for _ in range(int(rng.integers(25, 45))):
            if placed and rng.random() < 0.35:  # overlap an earlier one
                py, px, pr = placed[int(rng.integers(len(placed)))]
                cy, cx = py + rng.normal(0, pr), px + rng.normal(0, pr)
            else:
                cy, cx = rng.uniform(0, n, 2)
            radius = float(np.exp(rng.uniform(np.log(0.6), np.log(n / 5))))
            peak = float(np.exp(rng.uniform(np.log(0.01), np.log(1.6))))
            _add_lobe(spec, cy, cx, radius, rng.uniform(1, 3), rng.uniform(0, np.pi), rng.uniform(1.5, 8), peak)
            placed.append((cy, cx, radius))
        for _ in range(int(rng.integers(3, 10))):  # single-pixel glints
            y, x = rng.integers(0, n, 2)
            spec[y, x] += float(np.exp(rng.uniform(np.log(0.02), np.log(1.0))))

    def encode(lin):
        return np.clip(np.rint(linear_to_srgb(lin) * 255), 0, 255).astype(np.uint8)

    return HighlightBenchmark(encode(diffuse + spec[..., None]), encode(diffuse), spec > 1e-4, spec, tone, seed)
