"""Classical (dichromatic) despecularization: on images synthesized with the dichromatic model, on the skin
benchmark of `synthetic_highlight_benchmark`, and against a plain numpy/scipy implementation."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from assetgen import despecular as D
from assetgen.despecular import (SKIN_TONES, despecularize, despecularize_linear, linear_to_srgb,
                                 synthetic_highlight_benchmark)
from assetgen.errors import InputError


def synth(n=128, seed=0, peak=0.5):
    """Known diffuse (a two-chromophore skin albedo x Lambertian shading on a sphere) + white Blinn-Phong
    highlights, in linear RGB."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n] / n

    def field():
        return sum(np.sin(2 * np.pi * (a * xx + b * yy) + c) for a, b, c in rng.uniform(0, 3, (4, 3))) / 4

    melanin, hemoglobin = 0.8 + 0.3 * field(), 0.5 + 0.2 * field()
    for _ in range(8):  # moles / freckles
        cx, cy, r = *rng.uniform(0.1, 0.9, 2), rng.uniform(0.01, 0.04)
        melanin = melanin + 0.8 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    albedo = 0.85 * np.exp(-(melanin[..., None] * [0.35, 0.75, 1.3] + hemoglobin[..., None] * [0.25, 1.0, 0.6]))
    nx, ny = (xx - 0.5) * 1.5, (yy - 0.5) * 1.5
    normal = np.stack([nx, ny, np.sqrt(np.clip(1 - nx**2 - ny**2, 0.05, 1))], -1)
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    light = np.array([0.3, -0.4, 0.86]) / np.linalg.norm([0.3, -0.4, 0.86])
    half = (light + [0, 0, 1]) / np.linalg.norm(light + [0, 0, 1])
    diffuse = albedo * (np.clip(normal @ light, 0, 1) * 0.85 + 0.15)[..., None]
    specular = peak * np.clip(normal @ half, 0, 1) ** 80
    return (diffuse + specular[..., None]).astype(np.float32), diffuse.astype(np.float32)


def psnr(a, b, peak=1.0):
    return float(10 * np.log10(peak**2 / max(np.mean((np.asarray(a, np.float64) - b) ** 2), 1e-12)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_known_diffuse(seed):
    image, diffuse = synth(128, seed)
    assert psnr(image, diffuse) < 25  # the highlights matter
    got, spec = despecularize_linear(image)
    assert psnr(got, diffuse) >= 30.0
    np.testing.assert_allclose(got + spec, image, atol=1e-6)
    lit = (image < 1).all(-1)  # white light: equal per channel (clipped pixels are filled instead)
    assert spec.min() >= 0 and np.allclose(spec[lit][:, 0], spec[lit][:, 2])


def test_srgb_uint8_roundtrip_and_residual():
    image, diffuse = synth(96, 0)
    u8 = np.clip(np.rint(linear_to_srgb(image) * 255), 0, 255).astype(np.uint8)
    out = despecularize(u8)
    assert out.diffuse.dtype == np.uint8 and out.diffuse.shape == u8.shape
    assert np.array_equal(out.diffuse.astype(int) + out.residual, u8)
    truth = np.clip(np.rint(linear_to_srgb(diffuse) * 255), 0, 255)
    assert psnr(out.diffuse, truth, 255) >= 30.0 and out.method == "classical"


def test_mask_and_grey_pixels_are_left_alone():
    image, _ = synth(64, 1)
    mask = np.zeros(image.shape[:2], bool)
    mask[:, :32] = True
    d, s = despecularize_linear(image, mask=mask)
    assert np.array_equal(d[:, 32:], image[:, 32:])
    grey = np.full((8, 8, 3), 0.5, np.float32)
    assert np.array_equal(despecularize_linear(grey)[0], grey)


def test_tinted_illuminant():
    image, diffuse = synth(96, 2)
    tint = np.array([1.1, 1.0, 0.85], np.float32)
    got, _ = despecularize_linear(image * tint, illuminant=tuple(tint))
    assert psnr(got / tint, diffuse) >= 30.0


def test_classical_path_imports_no_torch():
    code = ("import sys, numpy as np\nfrom assetgen.despecular import despecularize\n"
            "despecularize(np.full((8, 8, 3), 100, np.uint8))\n"
            "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


# ---- the skin benchmark: highlights of every size and strength on chromatic, textured albedo ------------

@functools.cache
def _bench(seed: int, tone: str, highlights: bool = True):
    return synthetic_highlight_benchmark(seed, 256, tone, highlights=highlights)


def test_benchmark_generator():
    a, b = _bench(0, "medium"), synthetic_highlight_benchmark(0, 256, "medium")
    assert a.image.tobytes() == b.image.tobytes() and a.diffuse.tobytes() == b.diffuse.tobytes()  # seeded
    assert a.image.shape == a.diffuse.shape == (256, 256, 3) and a.image.dtype == a.diffuse.dtype == np.uint8
    assert np.array_equal(a.highlight, a.specular > 1e-4) and 0.05 < a.highlight.mean() < 0.4
    assert np.all(a.image >= a.diffuse)  # white light only adds
    means = [_bench(0, t).diffuse.reshape(-1, 3).mean(0) for t in SKIN_TONES]
    assert all(m[0] > m[1] > m[2] for m in means)  # skin: red > green > blue
    assert all(np.all(m1 < m0) for m0, m1 in zip(means, means[1:]))  # light to dark
    top = np.stack([_bench(s, t).image == 255 for s in (0, 1) for t in SKIN_TONES])
    assert (top.any(-1) & ~top.all(-1)).sum() > 100 and top.all(-1).sum() > 10  # partly and fully clipped
    free = _bench(0, "olive", False)
    assert not free.highlight.any() and np.array_equal(free.image, free.diffuse)
    with pytest.raises(InputError):
        synthetic_highlight_benchmark(0, 64, "green")


@pytest.mark.parametrize("tone", list(SKIN_TONES))
def test_pixels_without_highlight_keep_their_bytes(tone):
    for seed in (0, 1):
        b = _bench(seed, tone)
        out = despecularize(b.image).diffuse
        assert np.array_equal(out[~b.highlight], b.image[~b.highlight]), (tone, seed)
        assert np.any(out != b.image)
    free = _bench(2, tone, False).image
    assert np.array_equal(despecularize(free).diffuse, free)


def test_benchmark_psnr():
    """Whole-image and highlight-pixel PSNR (sRGB, 8 bits) against the true diffuse, per tone over two
    seeds: doing nothing vs the despecularizer."""
    rows = []
    for tone in SKIN_TONES:
        for seed in (0, 1):
            b = _bench(seed, tone)
            out = despecularize(b.image).diffuse
            h = b.highlight
            rows.append((psnr(b.image, b.diffuse, 255), psnr(out, b.diffuse, 255),
                         psnr(b.image[h], b.diffuse[h], 255), psnr(out[h], b.diffuse[h], 255)))
    r = np.array(rows)
    for i, tone in enumerate(SKIN_TONES):
        n, m, nh, mh = r[2 * i : 2 * i + 2].mean(0)
        print(f"{tone:7s} whole {n:5.1f} -> {m:5.1f} dB   highlights {nh:5.1f} -> {mh:5.1f} dB")
    n, m, nh, mh = r.mean(0)
    print(f"{'mean':7s} whole {n:5.1f} -> {m:5.1f} dB   highlights {nh:5.1f} -> {mh:5.1f} dB")
    assert m >= 33.0 and mh >= 28.0
    assert np.all(r[:, 1].reshape(-1, 2).mean(1) >= 33.0)  # every tone
    assert np.all(r[:, 1] >= r[:, 0] + 5)  # every image gains


def test_residual_is_nonnegative_and_reconstructs():
    b = _bench(1, "light")  # light skin: the most clipping
    out = despecularize(b.image)
    assert np.all(out.diffuse <= b.image)  # the uint8 residual did not wrap
    assert np.array_equal(out.diffuse.astype(int) + out.residual, b.image)
    assert (b.image == 255).any(-1)[out.residual.any(-1)].any()  # clipped highlight pixels were filled
    img = b.image.astype(np.float32) / 255
    for srgb in (True, False):  # float input, sRGB (the benchmark's encoding) or taken as linear
        got = despecularize(img, srgb=srgb)
        assert got.residual.min() >= 0 and got.residual.max() > 0.1
        np.testing.assert_allclose(got.diffuse + got.residual, img, atol=1e-6)
        if srgb:
            assert np.array_equal(got.diffuse[~b.highlight], img[~b.highlight])


def test_odd_inputs():
    rng = np.random.default_rng(3)
    lo, hi = rng.integers(0, 120, (64, 64)), rng.integers(130, 256, (64, 64))
    primaries = np.stack([lo, lo, lo], -1)  # two equal channels: hue exactly at the edges
    np.put_along_axis(primaries, rng.integers(0, 3, (64, 64, 1)), hi[..., None], -1)
    for img in (primaries.astype(np.uint8), np.zeros((5, 7, 3), np.uint8), np.full((9, 4, 3), 255, np.uint8),
                _bench(0, "brown").image[:1, :1], _bench(0, "brown").image[:3, :40], _bench(0, "light").image[:50]):
        out = despecularize(img)
        assert out.diffuse.shape == img.shape and np.all(out.diffuse <= img)
        assert np.array_equal(out.diffuse.astype(int) + out.residual, img)
    assert np.array_equal(despecularize(np.full((9, 4, 3), 255, np.uint8)).diffuse, np.full((9, 4, 3), 255))


def test_options_are_checked():
    img = _bench(0, "dark").image
    with pytest.raises(InputError):
        despecularize(img, bins=32)  # an option of no estimator here
    with pytest.raises(InputError):
        despecularize(img, threshold=7.0)  # above seed_threshold
    with pytest.raises(InputError):
        despecularize(img, window=2)
    with pytest.raises(InputError):
        despecularize(img, mask=np.ones((8, 8), bool))


# ---- the implementation (tables, cells, OpenCV filters, boxes) against a plain numpy/scipy one ---------

def _ref_down(v, c):
    """Cell means, the image zero-padded to whole cells."""
    h, w = v.shape
    p = np.zeros((-(-h // c) * c, -(-w // c) * c))
    p[:h, :w] = v
    return p.reshape(p.shape[0] // c, c, p.shape[1] // c, c).mean((1, 3))


def _ref_up(v, c, h, w):
    """Cell values to pixels, bilinearly: cell i's centre is pixel (i + 0.5) * c - 0.5, clamped at edges."""
    def axis(n):
        s = (np.arange(n * c) + 0.5) / c - 0.5
        i0 = np.clip(np.floor(s).astype(int), 0, n - 1)
        return i0, np.minimum(i0 + 1, n - 1), np.maximum(s - i0, 0)

    (y0, y1, fy), (x0, x1, fx) = axis(v.shape[0]), axis(v.shape[1])
    rows = v[y0] * (1 - fy)[:, None] + v[y1] * fy[:, None]
    return (rows[:, x0] * (1 - fx) + rows[:, x1] * fx)[:h, :w]


def _ref_pull_push(v, known):
    """v where known, elsewhere the known values' average pulled down 2 x 2 blocks, pushed back bilinearly."""
    levels = [(np.where(known, v, 0.0), known.astype(float))]
    while max(levels[-1][0].shape) > 1:
        pair = []
        for a in levels[-1]:
            p = np.zeros((a.shape[0] + a.shape[0] % 2, a.shape[1] + a.shape[1] % 2))
            p[: a.shape[0], : a.shape[1]] = a
            pair.append(p.reshape(p.shape[0] // 2, 2, p.shape[1] // 2, 2).sum((1, 3)))
        levels.append(tuple(pair))
    est = None
    for s, w in reversed(levels):
        own = np.where(w > 0, s / np.maximum(w, 1e-300), 0.0)
        est = own if est is None else np.where(w > 0, own, _ref_up(est, 2, *s.shape))
    return np.where(known, v, est)


def _ref_ratios(x, lo, hi, lo_half, hi_half, clipped, cand, min_chroma):
    span, total = hi - lo, x[0] + x[1] + x[2]
    meas = (span > 0) & ~clipped & cand
    safe = np.where(meas, span, 1.0)
    q = np.where(meas, lo / safe, 0.0)
    return dict(x=x, lo=lo, span=span, meas=meas, use=meas & (span > min_chroma * total), q=q,
                g=np.where(meas, (x[0] - x[2]) / np.where(meas, total - 3 * lo, 1.0), 0.0),
                quant=np.where(meas, (lo_half + q * (lo_half + hi_half)) / safe, 0.0), clipped=clipped & cand)


def _ref_halved(r):
    def down2(v):
        return _ref_down(np.asarray(v, float), 2)

    x = [down2(c) for c in r["x"]]
    half = down2(r["quant"] * r["span"]) / 2
    return (x, np.minimum(np.minimum(x[0], x[1]), x[2]), np.maximum(np.maximum(x[0], x[1]), x[2]), half, half,
            down2(r["clipped"]) > 0, down2(r["meas"] + r["clipped"]) > 0.5)


def _ref_pass(r, wgt, cell, seed, grow):
    h, w = r["q"].shape
    q, g, k = r["q"], r["g"], 2 * D._CELLS + 1
    wf = wgt.astype(float)

    def mom(v, n=k):
        return ndimage.uniform_filter(_ref_down(v, cell), n, mode="reflect")

    m0 = mom(wf)
    s0 = np.maximum(m0, 1e-12)
    mg, mq, mgg, mgq = mom(wf * g) / s0, mom(wf * q) / s0, mom(wf * g * g) / s0, mom(wf * g * q) / s0
    a = (mgq - mg * mq) / (mgg - mg * mg + float(D._RIDGE))
    b = mq - a * mg
    have = m0 > D._MIN_SUPPORT
    if not have.all():
        a, b = _ref_pull_push(a, have), _ref_pull_push(b, have)
    q_d = _ref_up(a, cell, h, w) * g + _ref_up(b, cell, h, w)
    d = q - q_d
    e0, e2 = mom(wf, 2 * k - 1), mom(np.minimum(d * d, 1) * wf, 2 * k - 1)
    var = np.where(e0 > 0, e2 / np.maximum(e0, 1e-300), 0.0)
    if not (e0 > D._MIN_SUPPORT).all():
        var = _ref_pull_push(var, e0 > D._MIN_SUPPORT)
    sigma = np.sqrt(_ref_up(var, cell, h, w) + 1e-10)
    mf = r["meas"].astype(float)

    def pool(v):
        return ndimage.uniform_filter(v, D._EVIDENCE, mode="reflect")

    pooled = pool(d * mf) > sigma * seed / D._EVIDENCE * np.sqrt(np.maximum(pool(mf), 0)) + pool(r["quant"] * mf)
    strong = r["meas"] & (d > seed * sigma + r["quant"])
    low = (r["meas"] & (d > grow * sigma + r["quant"])) | r["clipped"]
    labels, _ = ndimage.label(low, np.ones((3, 3)))
    pooled_labels = labels[r["meas"] & pooled]
    big = np.bincount(labels.ravel())[pooled_labels] >= max(3, round(cell * cell * D._POOLED_AREA))
    region = np.isin(labels, np.concatenate([labels[strong], pooled_labels[big]])) & low
    return region, q_d, d, sigma, m0


def _ref_estimate(x, lo, hi, lo_half, hi_half, clipped, cand, window=None, threshold=3.5, seed_threshold=6.0,
                  grow_threshold=2.5, min_chroma=0.02):
    """(changed, specular, filled) (H, W) planes: the module docstring's estimator, written plainly."""
    h, w = lo.shape
    window = window or max(21, round(min(h, w) * 7 / 96))
    cell = max(1, round(window / (2 * D._CELLS + 1)))
    full = _ref_ratios(x, lo, hi, lo_half, hi_half, clipped, cand, min_chroma)
    half = _ref_ratios(*_ref_halved(full), min_chroma)
    step = max(1, half["q"].size // 65536)
    qs = half["q"].ravel()[::step][half["use"].ravel()[::step]]
    med = np.median(qs)
    top = med + D._INIT_SPREAD * 1.4826 * np.median(np.abs(qs - med))
    grown = np.ones((2 * D._EXCLUDE + 1,) * 2, bool)
    wgt = half["use"] & (half["q"] <= top)
    for _ in range(D._ITERATIONS - 1):
        region = _ref_pass(half, wgt, max(1, round(cell / 2)), seed_threshold, grow_threshold)[0]
        wgt = half["use"] & ~ndimage.binary_dilation(region, grown)
    seen = np.repeat(np.repeat(region, 2, 0), 2, 1)[:h, :w]
    wgt = full["use"] & (full["q"] <= top) & ~ndimage.binary_dilation(seen, grown)
    region, q_d, d, sigma, support = _ref_pass(full, wgt, cell, seed_threshold, grow_threshold)
    widen = _ref_up(1 + D._SPARSE_FIT - D._SPARSE_FIT * np.minimum(support, 1), cell, h, w)
    change = region & full["meas"] & (d > threshold * sigma * widen + full["quant"])
    spec = np.where(change, np.clip(lo - q_d * full["span"], 0, lo), 0.0)
    return change, spec, region & full["clipped"]


def _ref_fill(img, holes, cand):
    """Holes filled ring by ring from the outside in, each with the mean of its known 8-neighbours."""
    known = cand & ~holes
    val, wt, todo = img * known[..., None], known.astype(float), holes.copy()
    ones = np.ones((3, 3))
    while todo.any():
        n = ndimage.convolve(wt, ones, mode="constant")
        edge = todo & (n > 0)
        if not edge.any():
            break
        s = np.stack([ndimage.convolve(val[..., c], ones, mode="constant") for c in range(3)], -1)
        val[edge] = s[edge] / n[edge][:, None]
        wt[edge], todo[edge] = 1, False
    val[todo] = np.inf
    return val


def _ref_decode(v, srgb):
    v = np.asarray(v, float)
    return np.where(v <= 0.04045, v / 12.92, ((np.maximum(v, 0) + 0.055) / 1.055) ** 2.4) if srgb else v


def _ref_encode8(v, srgb):
    v = np.clip(v, 0, 1)
    v = np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055) if srgb else v
    return np.clip(np.rint(v * 255), 0, 255).astype(np.uint8)


def _ref_planes(lin, half, illuminant):
    illum = np.ones(3) if illuminant is None else np.asarray(illuminant, float)
    illum = illum / illum.mean()
    x, hw = lin / illum, half / illum
    i_lo, i_hi = x.argmin(-1)[..., None], x.argmax(-1)[..., None]
    lo, hi = np.take_along_axis(x, i_lo, -1)[..., 0], np.take_along_axis(x, i_hi, -1)[..., 0]
    return illum, [x[..., c] for c in range(3)], lo, hi, np.take_along_axis(hw, i_lo, -1)[..., 0], \
        np.take_along_axis(hw, i_hi, -1)[..., 0]


def _ref_u8(u8, mask=None, srgb=True, illuminant=None, **kw):
    codes = u8[..., :3]
    cand = np.ones(codes.shape[:2], bool) if mask is None else np.asarray(mask, bool)
    lin = _ref_decode(codes / 255, srgb)
    c = np.arange(256.0)
    steps = (_ref_decode(np.minimum(c + 0.5, 255) / 255, srgb) - _ref_decode(np.maximum(c - 0.5, 0) / 255, srgb)) / 2
    illum, x, lo, hi, lo_half, hi_half = _ref_planes(lin, steps[codes], illuminant)
    change, spec, fill = _ref_estimate(x, lo, hi, lo_half, hi_half, codes.max(-1) == 255, cand, **kw)
    out = codes.copy()
    out[change] = _ref_encode8(lin[change] - spec[change][:, None] * illum, srgb)
    if fill.any():
        filled = _ref_fill(_ref_decode(out / 255, srgb), fill, cand)
        out[fill] = np.minimum(_ref_encode8(filled[fill], srgb), codes[fill])
    return out


def _uv_mask(n):
    yy, xx = np.mgrid[0:n, 0:n] / n
    return ((xx - .5) ** 2 + (yy - .5) ** 2 < 0.2) & ((xx * 37).astype(int) % 5 != 0)


@pytest.mark.parametrize("case", ["light", "dark-mask", "rgba", "illuminant", "linear-u8", "options", "odd-size"])
def test_uint8_path_matches_plain_reference(case):
    img, kw = _bench(0, "dark" if case == "dark-mask" else "light").image, {}
    if case == "dark-mask":
        kw = {"mask": _uv_mask(256)}
    elif case == "rgba":
        img, kw = np.dstack([img, np.full(img.shape[:2], 200, np.uint8)]), {"mask": _uv_mask(256)}
    elif case == "illuminant":  # the benchmark under a warm light, its tint passed on
        tint = np.array([1.1, 1.0, 0.85])
        img = _ref_encode8(np.minimum(_ref_decode(img / 255, True) * tint / tint.max(), 1), True)
        kw = {"illuminant": tuple(tint)}
    elif case == "linear-u8":
        kw = {"srgb": False}
    elif case == "options":
        kw = {"window": 15, "threshold": 4.0, "seed_threshold": 7.0, "grow_threshold": 2.0, "min_chroma": 0.05}
    elif case == "odd-size":  # partial cells at the bottom and right, an odd size to halve
        img = np.ascontiguousarray(img[:201, 30:187])
    out = despecularize(img, **kw)
    ref = _ref_u8(img, **kw)
    changed, ref_changed = (out.diffuse[..., :3] != img[..., :3]).any(-1), (ref != img[..., :3]).any(-1)
    assert ref_changed.mean() > 0.005  # a meaningful comparison: highlights were removed
    assert np.mean(changed != ref_changed) <= 0.001, (case, np.mean(changed != ref_changed))
    diff = np.abs(out.diffuse[..., :3].astype(int) - ref).max(-1)
    assert np.mean(diff <= 1) >= 0.999, (case, diff.max(), np.mean(diff > 1))
    assert np.array_equal(out.diffuse[..., :3].astype(int) + out.residual, img[..., :3])
    if img.shape[2] == 4:
        assert np.array_equal(out.diffuse[..., 3], img[..., 3])
    if "mask" in kw:
        assert np.array_equal(out.diffuse[~kw["mask"]], img[~kw["mask"]])


@pytest.mark.parametrize("kw", [{}, {"illuminant": (1.1, 1.0, 0.85)}, {"min_chroma": 0.0}])
def test_linear_path_matches_plain_reference(kw):
    image, _ = synth(150, 1)
    if "illuminant" in kw:  # lit by it
        image = image * np.float32(kw["illuminant"]) / np.float32(max(kw["illuminant"]))
    mask = np.zeros(image.shape[:2], bool)
    mask[10:, :120] = True
    for m in (None, mask):
        got_d, got_s = despecularize_linear(image, mask=m, **kw)
        cand = np.ones(image.shape[:2], bool) if m is None else m
        illum, *planes = _ref_planes(image.astype(float), np.full(image.shape, 0.5 / 255), kw.get("illuminant"))
        opts = {k: v for k, v in kw.items() if k != "illuminant"}
        change, spec, fill = _ref_estimate(*planes, image.max(-1) >= 1, cand, **opts)
        ref = image - spec[..., None] * illum
        if fill.any():
            ref[fill] = np.minimum(_ref_fill(ref, fill, cand)[fill], image[fill])
        assert change.mean() > 0.005
        close = np.isclose(got_d, ref, atol=1e-5).all(-1)
        assert close.mean() >= 0.999, (kw, m is None, close.mean())
        np.testing.assert_allclose(got_d + got_s, image, atol=1e-6)


def _ref_linear_to_srgb(x):
    x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def texture(n, seed=0):
    """A skin-toned uint8 texture with noise and a highlight (like bench/bench_diffusion.py's)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n] / n
    tex = np.stack([180 + 30 * np.sin(9 * xx), 120 + 20 * np.sin(7 * yy), 90 + 10 * np.sin(5 * xx * yy)], -1)
    tex = tex + rng.normal(0, 3, tex.shape) + 60 * np.exp(-((xx - .5) ** 2 + (yy - .4) ** 2) / .002)[..., None]
    return np.clip(tex, 0, 255).astype(np.uint8)


def test_encode_table_is_exact():
    from assetgen.despecular import _encode8, _encode_srgb8_tables

    _, base, nxt = _encode_srgb8_tables()
    thr = np.unique(nxt[np.isfinite(nxt)])  # the 255 code thresholds
    assert len(thr) == 255
    bits = thr.view(np.int32)[:, None] + np.arange(-40, 41)[None]  # every float near a threshold
    d = np.concatenate([bits.ravel().view(np.float32), np.random.default_rng(0).random(200_000, np.float32),
                        np.linspace(0, 1, 100_001, dtype=np.float32), [0.0, 1.0, -1e-9, 1e-45]]).astype(np.float32)
    for srgb, enc in ((True, _ref_linear_to_srgb), (False, lambda v: np.clip(v, 0.0, 1.0))):
        want = np.clip(np.rint(enc(d) * 255), 0, 255).astype(np.uint8)
        assert np.array_equal(_encode8(d.copy(), srgb), want)


def test_deterministic_and_layout_independent():
    img = texture(200, 4)
    mask = _uv_mask(200)
    a, b = despecularize(img, mask=mask), despecularize(img.copy(), mask=mask.astype(np.uint8))
    assert a.diffuse.tobytes() == b.diffuse.tobytes() and a.residual.tobytes() == b.residual.tobytes()
    t = np.ascontiguousarray(img.transpose(1, 0, 2)).transpose(1, 0, 2)  # a non-contiguous view, same pixels
    c = despecularize(t, mask=mask)
    assert np.array_equal(c.diffuse, a.diffuse) and np.array_equal(img, t)  # and the input is untouched
    assert np.array_equal(despecularize(img[:0]).diffuse, img[:0])
    assert np.array_equal(despecularize(img, mask=np.zeros((200, 200), bool)).diffuse, img)

