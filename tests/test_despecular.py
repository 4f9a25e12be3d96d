"""Classical (dichromatic) despecularization on images synthesized with the dichromatic model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assetgen.despecular import despecularize, despecularize_linear, linear_to_srgb


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
    return float(10 * np.log10(peak**2 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_known_diffuse(seed):
    image, diffuse = synth(128, seed)
    assert psnr(image, diffuse) < 25  # the highlights matter
    got, spec = despecularize_linear(image)
    assert psnr(got, diffuse) >= 30.0
    np.testing.assert_allclose(got + spec, image, atol=1e-6)
    assert spec.min() >= 0 and np.allclose(spec[..., 0], spec[..., 2])  # white light: equal per channel


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


# ---- the fast paths against a straightforward float reference ----------------------------------------

def _ref_srgb_to_linear(x):
    x = np.asarray(x, np.float32)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _ref_linear_to_srgb(x):
    x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def _ref_cluster_quantile(key, value, quantile):
    order = np.lexsort((value, key))
    ks = key[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    counts = np.diff(np.r_[starts, len(ks)])
    pick = starts + np.minimum((counts * quantile).astype(np.int64), counts - 1)
    out = np.empty_like(value)
    out[order] = value[order][pick][np.repeat(np.arange(len(starts)), counts)]
    return out


def _ref_linear(img, mask=None, illuminant=None, bins=32, quantile=0.5, min_chroma=0.02, max_samples=1 << 18):
    """The model on whole float32 images: lexsort per cluster, no blocks, no tables."""
    img = np.asarray(img, np.float32)[..., :3]
    h, w = img.shape[:2]
    illum = np.ones(3, np.float32) if illuminant is None else np.asarray(illuminant, np.float32)
    illum = illum / illum.mean()
    x = (img / illum).reshape(-1, 3)
    s, imax, imin = x.sum(-1), x.max(-1), x.min(-1)
    span = imax - imin
    valid = (s > 1e-5) & (span > min_chroma * np.maximum(s, 1e-12))
    if mask is not None:
        valid &= np.asarray(mask, bool).ravel()
    spec = np.zeros(h * w, np.float32)
    idx = np.flatnonzero(valid)
    if idx.size:
        xv, sv, lo, sp = x[idx], s[idx], imin[idx], span[idx]
        chroma = (xv - lo[:, None]) / (sv - 3 * lo)[:, None]
        qa = np.clip((chroma[:, 0] * bins).astype(np.int64), 0, bins - 1)
        qb = np.clip((chroma[:, 1] * bins).astype(np.int64), 0, bins - 1)
        key, ratio = qa * bins + qb, (lo / sp).astype(np.float32)
        if idx.size > max_samples:
            step = -(-idx.size // max_samples)
            table = np.full(bins * bins, np.inf, np.float32)
            table[key[::step]] = _ref_cluster_quantile(key[::step], ratio[::step], quantile)
            q_d = np.minimum(table[key], ratio)
        else:
            q_d = _ref_cluster_quantile(key, ratio, quantile)
        spec[idx] = np.clip(lo - q_d * sp, 0.0, lo)
    specular = spec.reshape(h, w, 1) * illum
    return (img - specular).astype(np.float32), specular.astype(np.float32)


def _ref_u8(u8, mask=None, srgb=True, **kw):
    rgb = u8[..., :3].astype(np.float32) / 255.0
    diffuse, _ = _ref_linear(_ref_srgb_to_linear(rgb) if srgb else rgb, mask=mask, **kw)
    diffuse = np.minimum(_ref_linear_to_srgb(diffuse) if srgb else diffuse, rgb)
    return np.minimum(np.clip(np.rint(diffuse * 255), 0, 255).astype(np.uint8), u8[..., :3])


def texture(n, seed=0):
    """A skin-toned uint8 texture with noise and a highlight (like bench/bench_diffusion.py's)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n] / n
    tex = np.stack([180 + 30 * np.sin(9 * xx), 120 + 20 * np.sin(7 * yy), 90 + 10 * np.sin(5 * xx * yy)], -1)
    tex = tex + rng.normal(0, 3, tex.shape) + 60 * np.exp(-((xx - .5) ** 2 + (yy - .4) ** 2) / .002)[..., None]
    return np.clip(tex, 0, 255).astype(np.uint8)


def _uv_mask(n):
    yy, xx = np.mgrid[0:n, 0:n] / n
    return ((xx - .5) ** 2 + (yy - .5) ** 2 < 0.2) & ((xx * 37).astype(int) % 5 != 0)


def _sample_u8(n=160):
    image, _ = synth(n, 2)
    return np.clip(np.rint(_ref_linear_to_srgb(image) * 255), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("case", ["texture", "texture-mask", "texture-sampled", "texture-rgba", "synth",
                                  "synth-sampled", "illuminant", "linear-u8", "quantile-bins", "primaries"])
def test_uint8_fast_path_matches_float_reference(case):
    img, kw = texture(256, 1), {}
    if case == "texture-mask":
        kw = {"mask": _uv_mask(256)}
    elif case == "texture-sampled":  # clusters learnt on a strided sample (max_samples < valid pixels)
        kw = {"mask": _uv_mask(256), "max_samples": 5000}
    elif case == "texture-rgba":
        img, kw = np.dstack([img, np.full(img.shape[:2], 200, np.uint8)]), {"mask": _uv_mask(256)}
    elif case.startswith("synth"):
        img = _sample_u8()
        kw = {"max_samples": 3000} if case == "synth-sampled" else {}
    elif case == "illuminant":
        kw = {"illuminant": (1.1, 1.0, 0.85)}
    elif case == "linear-u8":
        kw = {"srgb": False, "mask": _uv_mask(256)}
    elif case == "quantile-bins":
        img, kw = _sample_u8(), {"quantile": 0.3, "bins": 20}
    elif case == "primaries":  # two equal channels: chromaticity exactly 0 or 1, the edge clusters
        rng = np.random.default_rng(3)
        lo, hi = rng.integers(0, 120, (128, 128)), rng.integers(130, 256, (128, 128))
        img = np.stack([lo, lo, lo], -1)
        np.put_along_axis(img, rng.integers(0, 3, (128, 128, 1)), hi[..., None], -1)
        img = img.astype(np.uint8)
    out = despecularize(img, **kw)
    ref = _ref_u8(img, **kw)
    diff = np.abs(out.diffuse[..., :3].astype(int) - ref)
    assert np.mean(ref != img[..., :3]) > 0.05  # highlights and noise are removed: a meaningful comparison
    assert np.mean(diff.max(-1) <= 1) >= 0.999, (case, diff.max(), np.mean(diff > 0))
    assert np.array_equal(out.diffuse[..., :3].astype(int) + out.residual, img[..., :3])
    if img.shape[2] == 4:
        assert np.array_equal(out.diffuse[..., 3], img[..., 3])
    if "mask" in kw:
        assert np.array_equal(out.diffuse[~kw["mask"]], img[~kw["mask"]])


@pytest.mark.parametrize("kw", [{}, {"max_samples": 2000}, {"illuminant": (1.1, 1.0, 0.85)}, {"min_chroma": 0.0}])
def test_linear_matches_float_reference(kw):
    image, _ = synth(150, 1)
    mask = np.zeros(image.shape[:2], bool)
    mask[10:, :120] = True
    for m in (None, mask):
        got_d, got_s = despecularize_linear(image, mask=m, **kw)
        ref_d, ref_s = _ref_linear(image, mask=m, **kw)
        np.testing.assert_allclose(got_d, ref_d, atol=1e-6)
        np.testing.assert_allclose(got_s, ref_s, atol=1e-6)


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

