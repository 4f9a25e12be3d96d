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
