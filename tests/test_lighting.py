"""Lighting environments: reading HDRIs, the map operations and their conventions, SH irradiance and the
prefiltered specular maps against brute-force integration, studios, the seeded sampler."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import tomllib

from assetgen.errors import ConfigError, InputError
from assetgen.lighting import envmap, lights, prefilter, sample, sh, shade, shipped, studio, whitebalance
from assetgen.lighting.hdri import read_hdri

REPO = Path(__file__).resolve().parents[1]


def brute_irradiance(env, normals):
    """E(n) = sum over texels of L max(0, n . w) dOmega (float64)."""
    h, w = env.shape[:2]
    d = envmap.texel_directions(h, w)
    sa = np.broadcast_to(envmap.texel_solid_angles(h, w), (h, w))
    cos = np.maximum(np.einsum("nk,ijk->nij", normals, d), 0.0)
    return np.einsum("nij,ij,ijc->nc", cos, sa, env.astype(np.float64))


def unit_vectors(n, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def write_exr(path, channels, compression=None):
    import OpenEXR

    header = {"compression": compression or OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, channels).write(str(path))
    return path


def rgb_planes(a):
    return {c: np.ascontiguousarray(a[..., i]) for i, c in enumerate("RGB")}


@pytest.fixture(scope="module")
def city():
    return read_hdri(shipped.shipped_path("city"))


# ---- shipped maps -------------------------------------------------------------------------------------

def test_the_18_shipped_maps_are_intact_dwab_exrs_that_decode():
    import OpenEXR

    assert len(shipped.names()) == 18
    for name in shipped.names():
        path = shipped.shipped_path(name)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == shipped.SHIPPED[name]
        with OpenEXR.File(str(path), header_only=True) as f:
            assert f.header()["compression"] == OpenEXR.DWAB_COMPRESSION
        env = read_hdri(path)
        assert env.shape == (256, 512, 3) and env.dtype == np.float32 and env.flags.c_contiguous
        assert np.isfinite(env).all() and env.min() >= 0 and env.max() > 1.0, name
    assert sorted(p.stem for p in shipped.HDRI_DIR.glob("*.exr")) == sorted(shipped.names())
    text = (shipped.HDRI_DIR / "README.md").read_text()
    assert "CC0" in text and "Poly Haven" in text and "@pmndrs/assets 1.7.0" in text


def test_the_suns_that_lost_red_and_green_are_repaired_to_grey():
    raw, fixed = read_hdri(shipped.shipped_path("park")), shipped.read_shipped("park")
    i, j = np.unravel_index(np.argmax(raw[..., 2]), raw.shape[:2])
    assert raw[i, j, 2] > 1000 and raw[i, j, :2].max() < 1e-3 * raw[i, j, 2]  # the file's blue sun
    assert np.array_equal(fixed[i, j], np.full(3, raw[i, j, 2], np.float32))
    changed = (fixed != raw).any(-1)
    assert 0 < changed.sum() <= 30 and np.array_equal(fixed[~changed], raw[~changed])
    assert np.array_equal(shipped.read_shipped("city"), read_hdri(shipped.shipped_path("city")))
    _, found = lights.extract_lights(envmap.resize(shipped.read_shipped("sunrise"), 64))
    assert len(found) == 1 and np.ptp(found[0].rgb) < 0.01 * max(found[0].rgb)


def test_a_damaged_shipped_map_is_refused(tmp_path, monkeypatch):
    (tmp_path / "city.exr").write_bytes(shipped.shipped_path("city").read_bytes()[:-10])
    monkeypatch.setattr(shipped, "HDRI_DIR", tmp_path)
    with pytest.raises(InputError, match="damaged"):
        shipped.shipped_path("city")
    with pytest.raises(InputError, match="missing"):
        shipped.shipped_path("park")
    with pytest.raises(InputError, match="unknown shipped HDRI 'moon'"):
        shipped.shipped_path("moon")


def test_the_wheel_ships_the_hdri_folder():
    """pyproject's package-data patterns (setuptools globs, relative to the package) match every file."""
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["assetgen"]
    files = [p.relative_to(REPO / "assetgen").as_posix() for p in shipped.HDRI_DIR.iterdir()]
    assert {"data/hdri/city.exr", "data/hdri/README.md"} <= set(files)
    for f in files:
        assert any(fnmatch.fnmatch(f, pat) and f.count("/") == pat.count("/") for pat in patterns), f


def test_the_regeneration_script_decodes_a_data_url_module_byte_for_byte(tmp_path):
    spec = importlib.util.spec_from_file_location("pmndrs_hdri", REPO / "docs" / "make_hdri_data.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    data = shipped.shipped_path("night").read_bytes()
    js = tmp_path / "night.exr.js"
    js.write_text(tool.PREFIX + base64.b64encode(data).decode() + "'\n")
    assert tool.decode(js) == data
    js.write_text("export default 'data:image/png;base64,AAAA'")
    with pytest.raises(SystemExit, match="not a base64 EXR"):
        tool.decode(js)


# ---- reading ------------------------------------------------------------------------------------------

def test_exr_reads_exactly_and_clamps_negative_ringing(tmp_path):
    a = np.random.default_rng(1).normal(1.0, 2.0, size=(8, 16, 3)).astype(np.float32)
    env = read_hdri(write_exr(tmp_path / "a.exr", rgb_planes(a)))
    assert np.array_equal(env, np.maximum(a, 0))
    planes = rgb_planes(a.astype(np.float16)) | {"A": np.ones((8, 16), np.float16)}
    assert np.array_equal(read_hdri(write_exr(tmp_path / "b.exr", planes)), np.maximum(a.astype(np.float16), 0))


def test_radiance_hdr_reads_in_rgb_order_top_row_first(tmp_path):
    import cv2

    a = np.full((16, 32, 3), 0.25, np.float32)
    a[0, 0] = (8.0, 0.5, 0.125)  # top-left texel, red
    cv2.imwrite(str(tmp_path / "a.hdr"), a[..., ::-1])
    env = read_hdri(tmp_path / "a.hdr")
    assert env.shape == (16, 32, 3)
    assert np.allclose(env, a, rtol=0.01)
    assert env[0, 0, 0] > env[0, 0, 1] > env[0, 0, 2]


def _bad_files(tmp_path):
    good = shipped.shipped_path("city").read_bytes()
    import cv2

    cv2.imwrite(str(tmp_path / "good.hdr"), np.ones((16, 32, 3), np.float32))
    hdr = (tmp_path / "good.hdr").read_bytes()
    nan = np.ones((4, 8, 3), np.float32)
    nan[1, 2, 1] = np.nan
    inf = np.ones((4, 8, 3), np.float32)
    inf[0, 0, 0] = np.inf
    cases = {
        "truncated.exr": (good[: len(good) // 2], "truncated or corrupt"),
        "empty.exr": (b"", "not an OpenEXR or Radiance .hdr file (it is empty)"),
        "text.exr": (b"hello, world", "not an OpenEXR or Radiance"),
        "header_only.exr": (good[:300], "OpenEXR"),
        "truncated.hdr": (hdr[: len(hdr) // 2], "truncated or corrupt Radiance"),
        "no_resolution.hdr": (b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n", "resolution line"),
    }
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    write_exr(tmp_path / "square.exr", rgb_planes(np.ones((8, 8, 3), np.float32)))
    write_exr(tmp_path / "grey.exr", {"Y": np.ones((8, 16), np.float32)})
    write_exr(tmp_path / "nan.exr", rgb_planes(nan))
    write_exr(tmp_path / "inf.exr", rgb_planes(inf))
    cases |= {"square.exr": (None, "twice as wide"), "grey.exr": (None, "channels ['Y']"),
              "nan.exr": (None, "NaN or infinite"), "inf.exr": (None, "NaN or infinite"),
              "missing.exr": (None, "cannot read")}
    return cases


def test_bad_files_are_one_input_error_line_naming_the_file(tmp_path):
    for name, (_, message) in _bad_files(tmp_path).items():
        with pytest.raises(InputError) as err:
            read_hdri(tmp_path / name)
        text = str(err.value)
        assert str(tmp_path / name) in text and message in text and "\n" not in text, (name, text)
    with pytest.raises(InputError, match=r"512x256 = 131,072 pixels, over the 1,000-pixel limit"):
        read_hdri(shipped.shipped_path("city"), max_pixels=1000)
    with pytest.raises(InputError, match="16x32|32x16"):
        read_hdri(tmp_path / "good.hdr", max_pixels=100)


# ---- orientation and map operations --------------------------------------------------------------------

def test_orientation_up_is_the_top_row_and_the_centre_column_is_plus_x():
    h, w = 8, 16
    d = envmap.texel_directions(h, w)
    assert d[0, :, 1].min() > 0.98 and d[-1, :, 1].max() < -0.98
    # the four texels around the centre of the map straddle +x; u = 0.75 is +z (the face's front), 0.25 is -z
    centre = d[h // 2 - 1:h // 2 + 1, w // 2 - 1:w // 2 + 1].sum((0, 1))
    assert np.allclose(centre / np.linalg.norm(centre), [1, 0, 0], atol=1e-12)
    u, v = envmap.direction_to_uv(np.array([[0, 0, 1.0], [0, 0, -1.0], [1.0, 0, 0], [0, 1.0, 0]]))
    assert np.allclose(u[:3], [0.75, 0.25, 0.5]) and np.allclose(v, [0.5, 0.5, 0.5, 0.0])
    uu, vv = envmap.direction_to_uv(d)
    j, i = np.meshgrid(np.arange(w), np.arange(h))
    assert np.allclose(uu, (j + 0.5) / w) and np.allclose(vv, (i + 0.5) / h)
    assert math.isclose(float(envmap.texel_solid_angles(h, w).sum() * w), 4 * math.pi, rel_tol=1e-12)
    # panning right from -z (camera's view direction) reaches +x: u increases (not mirrored)
    camera_right = np.cross([0, 0, -1.0], [0, 1.0, 0])
    assert np.allclose(camera_right, [1, 0, 0])


def _spot(h, w, direction, value=100.0):
    env = np.zeros((h, w, 3), np.float32)
    u, v = envmap.direction_to_uv(np.asarray(direction, float))
    env[min(int(v * h), h - 1), int(u * w) % w] = value
    return env


def _peak_direction(env):
    i, j = np.unravel_index(np.argmax(env[..., 0]), env.shape[:2])
    return envmap.texel_directions(*env.shape[:2])[i, j]


def test_rotate_turns_the_front_light_to_plus_x_and_tilt_moves_it_down():
    env = _spot(32, 64, [0, 0, 1.0])
    assert _peak_direction(env) @ [0, 0, 1] > 0.99
    assert _peak_direction(envmap.rotate(env, 90)) @ [1, 0, 0] > 0.99
    assert _peak_direction(envmap.rotate(env, 0, 90)) @ [0, -1, 0] > 0.99
    assert np.allclose(envmap.rotation(90) @ [0, 0, 1], [1, 0, 0])
    # whole-texel yaw is an exact column shift; 360 degrees is the identity
    e = np.random.default_rng(0).random((16, 32, 3)).astype(np.float32)
    assert np.array_equal(envmap.rotate(e, 360.0 / 32 * 3), np.roll(e, -3, axis=1))
    assert np.array_equal(envmap.rotate(e, 360), e)


def test_yaw_by_column_shift_agrees_with_the_general_resampler():
    e = envmap.resize(read_hdri(shipped.shipped_path("forest")), 32)
    fast = envmap.rotate(e, 37.0)
    general = envmap.sample(e, envmap.texel_directions(32, 64) @ envmap.rotation(37.0)).astype(np.float32)
    assert np.allclose(fast, general, atol=1e-4 * e.max())


def test_resize_keeps_energy_and_constants(city):
    small = envmap.resize(city, 32)
    assert small.shape == (32, 64, 3)
    energy = [(m * envmap.texel_solid_angles(*m.shape[:2])[..., None]).sum((0, 1)) for m in (city, small)]
    assert np.allclose(energy[0], energy[1], rtol=1e-5)
    assert np.allclose(envmap.resize(np.full((64, 128, 3), 0.7, np.float32), 16), 0.7)
    assert envmap.resize(city, 48).shape == (48, 96, 3)
    with pytest.raises(InputError, match="equirectangular"):
        envmap.resize(np.ones((10, 10, 3)), 4)


def test_exposure_and_white_balance():
    e = np.random.default_rng(2).random((8, 16, 3)).astype(np.float32)
    assert np.array_equal(envmap.exposure(e, 1.0), e * 2)
    assert np.array_equal(whitebalance.white_balance(e, 6500), e)
    for k in (2000, 3200, 5000, 8000, 12000, 25000):
        m = whitebalance.kelvin_rgb(k)
        assert math.isclose(float(m @ envmap.LUMINANCE), 1.0, rel_tol=1e-12) and (m >= 0).all()
    assert whitebalance.kelvin_rgb(3200)[0] > 1 > whitebalance.kelvin_rgb(3200)[2]
    assert whitebalance.kelvin_rgb(10000)[2] > 1 > whitebalance.kelvin_rgb(10000)[0]
    x, y = whitebalance.planckian_xy(6500)  # near D65 (0.3127, 0.3290)
    assert abs(x - 0.3127) < 0.004 and abs(y - 0.3290) < 0.01
    with pytest.raises(InputError, match="1667..25000 K"):
        whitebalance.kelvin_rgb(1000)


def test_front_irradiance_is_the_hemisphere_mean_of_brute_force_irradiance(city):
    e = envmap.resize(city, 32)
    # normals on the frontal hemisphere, uniform by area (midpoint rule in cos(polar angle) and azimuth)
    t, p = np.meshgrid((np.arange(40) + 0.5) / 40, (np.arange(80) + 0.5) / 80 * 2 * np.pi, indexing="ij")
    s = np.sqrt(1 - t * t)
    normals = np.stack([s * np.cos(p), s * np.sin(p), t], -1).reshape(-1, 3)
    assert np.allclose(envmap.front_irradiance(e), brute_irradiance(e, normals).mean(0), rtol=2e-3)
    const = np.full((16, 32, 3), 0.3, np.float32)
    assert np.allclose(envmap.front_irradiance(const), 0.3 * np.pi, rtol=1e-6)
    behind, ahead = (envmap.luminance(envmap.front_irradiance(_spot(32, 64, [0, 0, z]))) for z in (-1.0, 1.0))
    assert behind < 2e-3 * ahead  # (the texel nearest -z is a few degrees off it)
    n, scale = envmap.normalize(e, 2.0)
    assert math.isclose(float(envmap.luminance(envmap.front_irradiance(n))), 2.0, rel_tol=1e-5) and scale > 0
    with pytest.raises(InputError, match="black towards the front"):
        envmap.normalize(np.zeros((8, 16, 3), np.float32), 1.0)


# ---- SH irradiance --------------------------------------------------------------------------------------

def test_sh_irradiance_of_constant_and_linear_maps_is_exact():
    normals = unit_vectors(50)
    const = np.full((32, 64, 3), 0.5, np.float32)
    # (exact up to the midpoint rule across each row of texels: O(1 / H^2))
    assert np.allclose(sh.irradiance(sh.irradiance_coefficients(const), normals), 0.5 * np.pi, rtol=1e-3)
    # L(w) = a + b . w  ->  E(n) = pi a + (2 pi / 3) b . n
    a, b = 1.0, np.array([0.2, -0.5, 0.3])
    lin = (a + envmap.texel_directions(64, 128) @ b)[..., None].repeat(3, -1).astype(np.float32)
    assert np.allclose(sh.irradiance(sh.irradiance_coefficients(lin), normals)[:, 0],
                       np.pi * a + 2 * np.pi / 3 * normals @ b, rtol=2e-3)


def test_sh_irradiance_of_one_bright_texel_is_a_clamped_cosine_lobe():
    env = _spot(32, 64, [0.3, 0.5, 0.8])
    w = _peak_direction(env)
    normals = unit_vectors(400, 3)
    brute = brute_irradiance(env, normals)[:, 0]
    peak = 100.0 * float(envmap.texel_solid_angles(32, 64)[np.argmax(env[..., 0].max(1)), 0])
    assert np.allclose(brute, peak * np.maximum(normals @ w, 0), rtol=1e-9)
    approx = sh.irradiance(sh.irradiance_coefficients(env), normals)[:, 0]
    # the 9-term clamped cosine: right at the light and opposite it, within 10 % of the peak everywhere
    assert np.abs(approx - brute).max() < 0.10 * peak
    e_at = sh.irradiance(sh.irradiance_coefficients(env), np.array([w, -w]))[:, 0]
    assert abs(e_at[0] - peak) < 0.15 * peak and abs(e_at[1]) < 0.15 * peak


def test_sh_of_shipped_maps_against_brute_force_and_the_quadratic_form():
    normals = unit_vectors(300, 4)
    for name in ("city", "apartment", "sunset"):
        e = envmap.resize(read_hdri(shipped.shipped_path(name)), 32)
        brute = brute_irradiance(e, normals)
        approx = sh.irradiance(sh.irradiance_coefficients(e), normals)
        assert np.abs(approx - brute).max() < 0.08 * brute.mean(), name
        m = sh.quadratic_form(sh.project(e))
        nh = np.concatenate([normals, np.ones((len(normals), 1))], 1)
        quad = np.einsum("ni,cij,nj->nc", nh, m, nh)
        assert np.allclose(quad, approx, rtol=1e-4, atol=1e-5 * approx.max())


# ---- dominant lights -------------------------------------------------------------------------------------

def test_extracted_lights_plus_residual_are_the_map_and_shade_better_than_sh_alone():
    normals = unit_vectors(300, 5)
    for name in ("esplanade", "sky", "park"):  # maps with a sun
        e = envmap.resize(shipped.read_shipped(name), 64)
        residual, found = lights.extract_lights(e)
        assert 1 <= len(found) <= 4
        sa = envmap.texel_solid_angles(64, 128)[..., None]
        total = (e * sa).sum((0, 1)) - (residual * sa).sum((0, 1))
        assert np.allclose(total, np.sum([l.rgb for l in found], 0), rtol=1e-5)
        brute = brute_irradiance(e, normals)
        sh_only = sh.irradiance(sh.irradiance_coefficients(e), normals)
        split = sh.irradiance(sh.irradiance_coefficients(residual), normals) + lights.light_irradiance(found, normals)
        assert np.abs(split - brute).max() < 0.5 * np.abs(sh_only - brute).max(), name
        assert np.abs(split - brute).max() < 0.06 * brute.mean(), name
    uniform = np.full((16, 32, 3), 0.4, np.float32)
    assert lights.extract_lights(uniform)[1] == ()


def test_lights_are_found_across_the_seam():
    env = np.full((32, 64, 3), 0.01, np.float32)
    env[15:17, 0] = env[15:17, -1] = 50.0  # one lamp at -x, split by the u = 0 / 1 seam
    _, found = lights.extract_lights(env)
    assert len(found) == 1 and np.dot(found[0].direction, [-1, 0, 0]) > 0.99


# ---- prefiltered specular ----------------------------------------------------------------------------------

def brute_prefilter(env, roughness):
    h, w = env.shape[:2]
    d = envmap.texel_directions(h, w).reshape(-1, 3)
    wgt = prefilter.ggx_lobe(d @ d.T, roughness) * np.broadcast_to(envmap.texel_solid_angles(h, w), (h, w)).ravel()
    return ((wgt @ env.reshape(-1, 3).astype(np.float64)) / wgt.sum(1, keepdims=True)).reshape(h, w, 3)


def test_prefilter_matches_brute_force_and_keeps_constants():
    e = np.random.default_rng(7).random((16, 32, 3)).astype(np.float32) ** 4 * 10
    for r in (0.2, 0.5, 1.0):
        assert np.allclose(prefilter.prefilter_level(e, r), brute_prefilter(e, r), rtol=1e-4, atol=1e-5)
    levels = prefilter.prefilter(np.full((64, 128, 3), 0.3, np.float32))
    assert [l.shape for l in levels] == [(64 >> k, 128 >> k, 3) for k in range(6)]
    for lv in levels:
        assert np.allclose(lv, 0.3, rtol=1e-5)
    with pytest.raises(InputError, match="divisible"):
        prefilter.prefilter(np.ones((48, 96, 3), np.float32))


def test_roughest_level_is_the_cosine_lobe_and_a_bright_texel_spreads_with_roughness():
    e = envmap.resize(read_hdri(shipped.shipped_path("lobby")), 32)
    last = prefilter.prefilter_level(e, 1.0)
    dirs = envmap.texel_directions(32, 64).reshape(-1, 3)
    assert np.allclose(last.reshape(-1, 3), brute_irradiance(e, dirs) / np.pi, rtol=2e-3)
    spot = _spot(32, 64, [0, 0, 1.0], 1000.0)
    widths = []
    for r in (0.2, 0.4, 0.6):
        lv = prefilter.prefilter_level(spot, r)[..., 0]
        assert _peak_direction(lv[..., None].repeat(3, -1)) @ [0, 0, 1] > 0.99
        widths.append((lv > lv.max() / 2).sum())
    assert widths[0] < widths[1] < widths[2]


def test_env_brdf_fit_stays_in_range():
    nv, r = np.meshgrid(np.linspace(0.01, 1, 20), np.linspace(0, 1, 20))
    a, b = prefilter.env_brdf(nv, r)
    assert (a >= -1e-3).all() and (b >= -1e-3).all() and (a + b <= 1.05).all()
    a1, b1 = prefilter.env_brdf(1.0, 0.0)
    assert abs(a1 - 1) < 0.05 and abs(b1) < 0.05


def test_reference_shading_under_a_constant_map():
    inputs = shade.shading_inputs(np.full((64, 128, 3), 0.5, np.float32))
    assert inputs.light_dir.shape == (0, 3)
    n = unit_vectors(20, 8)
    albedo = np.random.default_rng(8).random((20, 3))
    out = shade.shade(inputs, n, n, albedo, roughness=0.4, specular=0.5)
    a, b = prefilter.env_brdf(1.0, 0.4)
    assert np.allclose(out, 0.5 * albedo + 0.5 * (0.02 * a + b), rtol=2e-3)


# ---- studios -----------------------------------------------------------------------------------------------

def test_default_studio_is_the_renderers_fixed_lights():
    import inspect

    from assetgen.render.renderer import DEFAULT_LIGHTS, Renderer

    assert tuple((l.direction, l.color) for l in DEFAULT_LIGHTS) == studio.TODAY_LIGHTS
    assert inspect.signature(Renderer).parameters["ambient"].default == studio.TODAY_AMBIENT
    env = studio.draw(studio.PRESETS["default"], 128)
    normals = unit_vectors(200, 9)
    dirs = np.array([np.array(d) / np.linalg.norm(d) for d, _ in studio.TODAY_LIGHTS])
    normals = normals[(np.abs(normals @ dirs.T) > 0.05).all(1)]  # not where a disc is half below the horizon
    today = np.pi * np.array(studio.TODAY_AMBIENT) + sum(
        np.maximum(normals @ (np.array(d) / np.linalg.norm(d)), 0)[:, None] * np.array(c) for d, c in studio.TODAY_LIGHTS)
    assert np.allclose(brute_irradiance(env, normals), today, rtol=0.01, atol=0.01)
    front = float(envmap.luminance(envmap.front_irradiance(env)))
    assert math.isclose(front, studio.todays_front_irradiance(), rel_tol=2e-3)


def test_studio_lights_hold_their_intensity_at_any_resolution():
    key = studio.AreaLight.at(-35, 30, 12, 3.0, 5600)
    assert key.direction[0] < 0 and key.direction[1] > 0 and key.direction[2] > 0  # image left, above, in front
    s = studio.Studio((0.0, 0.0, 0.0), (key,))
    for h in (8, 64, 256):
        env = studio.draw(s, h)
        total = (env * envmap.texel_solid_angles(h, 2 * h)[..., None]).sum((0, 1))
        assert np.allclose(total, key.rgb, rtol=1e-5)
    for name, st in studio.PRESETS.items():
        env = studio.draw(st, 64)
        assert env.shape == (64, 128, 3) and np.isfinite(env).all() and env.min() >= 0, name
    with pytest.raises(InputError, match="unknown studio 'disco'"):
        studio.studio("disco")


# ---- the sampler -----------------------------------------------------------------------------------------

DIST = {"sources": [{"shipped": "all", "weight": 3}, {"studio": ["three_point", "rembrandt"], "rotation": [-20, 20]}],
        "rotation": [-180, 180], "tilt": [-10, 10], "exposure": [-1, 1], "temperature": [4000, 9000],
        "resolution": 64}


def test_same_seed_and_index_same_spec_and_bytes():
    s = sample.LightingSampler(sample.lighting_from_dict(DIST))
    a = s.sample(7, 3)
    sample._maps.clear()
    sample._prefilter_cache.clear()
    b = sample.LightingSampler(sample.lighting_from_dict(DIST)).sample(7, 3)
    assert a.spec == b.spec and a.env.tobytes() == b.env.tobytes() and a.env.shape == (64, 128, 3)
    c = sample.make_environment(sample.LightingSpec.from_json(a.spec.to_json()))
    assert c.env.tobytes() == a.env.tobytes()
    assert s.spec(7, 4) != a.spec and s.spec(8, 3) != a.spec
    ia, ib = a.shading_inputs(), b.shading_inputs()
    assert all(x.tobytes() == y.tobytes() for x, y in zip(ia.levels, ib.levels)) and ia.sh.tobytes() == ib.sh.tobytes()


def test_a_spec_remakes_the_same_bytes_in_another_process():
    import json
    import subprocess
    import sys

    spec = sample.LightingSampler(sample.lighting_from_dict(DIST)).spec(11, 2)
    code = ("import hashlib, json, sys; from assetgen.lighting import sample; "
            "lit = sample.make_environment(sample.LightingSpec.from_json(json.loads(sys.argv[1]))); "
            "si = lit.shading_inputs(); h = hashlib.sha256(lit.env.tobytes() + si.sh.tobytes() + si.light_rgb.tobytes()); "
            "[h.update(l.tobytes()) for l in si.levels]; print(h.hexdigest())")
    run = lambda: subprocess.run([sys.executable, "-c", code, json.dumps(spec.to_json())], capture_output=True,
                                 text=True, check=True, cwd=REPO).stdout.strip()
    lit = sample.make_environment(spec)
    si = lit.shading_inputs()
    h = hashlib.sha256(lit.env.tobytes() + si.sh.tobytes() + si.light_rgb.tobytes())
    for lv in si.levels:
        h.update(lv.tobytes())
    assert run() == h.hexdigest()


def test_specs_follow_the_distribution():
    s = sample.LightingSampler(sample.lighting_from_dict(DIST))
    specs = [s.spec(1, i) for i in range(2000)]
    studios = [x for x in specs if x.kind == "studio"]
    assert abs(len(studios) / len(specs) - 0.25) < 0.03
    assert {x.name for x in specs if x.kind == "shipped"} == set(shipped.names())
    assert all(-20 <= x.rotation_deg <= 20 for x in studios)
    assert max(x.rotation_deg for x in specs) > 150 and min(x.rotation_deg for x in specs) < -150
    assert all(-10 <= x.tilt_deg <= 10 and -1 <= x.exposure_ev <= 1 and 4000 <= x.temperature_k <= 9000 for x in specs)
    assert all(x.sha256 == (shipped.SHIPPED[x.name] if x.kind == "shipped" else studio.studio(x.name).sha256())
               for x in specs)
    mired = np.array([1e6 / x.temperature_k for x in specs])  # uniform in mired
    assert abs(np.median(mired) - (1e6 / 4000 + 1e6 / 9000) / 2) < 5


def test_normalised_maps_light_the_front_alike():
    dist = sample.lighting_from_dict({"exposure": 1.0, "resolution": 64})
    s = sample.LightingSampler(dist)
    for i in range(4):
        lit = s.sample(0, i)
        front = float(envmap.luminance(envmap.front_irradiance(lit.env)))
        assert math.isclose(front, 2 * dist.target_irradiance, rel_tol=1e-4), lit.spec.name
    assert math.isclose(dist.target_irradiance, studio.todays_front_irradiance())


def test_folder_source(tmp_path):
    import cv2

    maps = tmp_path / "maps"
    maps.mkdir()
    write_exr(maps / "b.exr", rgb_planes(np.full((16, 32, 3), 0.5, np.float32)))
    cv2.imwrite(str(maps / "a.HDR"), np.full((16, 32, 3), 0.25, np.float32))
    (maps / "notes.txt").write_text("not a map")
    (tmp_path / "light.yaml").write_text("sources: [{folder: maps}]\nresolution: 64\nnormalize: false\n")
    s = sample.load_lighting(tmp_path / "light.yaml")
    assert [i.name for i in s.items] == ["a.HDR", "b.exr"]
    spec = next(s.spec(0, i) for i in range(50) if s.spec(0, i).name == "b.exr")
    assert spec.kind == "file" and spec.path == str(maps / "b.exr")
    assert spec.sha256 == hashlib.sha256((maps / "b.exr").read_bytes()).hexdigest()
    lit = sample.make_environment(spec)
    assert lit.env.shape == (64, 128, 3) and lit.scale == 1.0
    write_exr(maps / "b.exr", rgb_planes(np.full((16, 32, 3), 0.6, np.float32)))
    sample._maps.clear()
    with pytest.raises(InputError, match="has changed"):
        sample.make_environment(spec)


@pytest.mark.parametrize("data, message", [
    ({"lights": 1}, "unknown key 'lights'"),
    ({"sources": [{"shipped": ["city", "moon"]}]}, "unknown shipped names ['moon']"),
    ({"sources": [{"shipped": "all", "studio": "all"}]}, "exactly one of shipped, folder, studio"),
    ({"sources": []}, "sources"),
    ({"exposure": [2, 1]}, "exposure (EV stops) must be"),
    ({"temperature": 1000}, "temperature (K) must be"),
    ({"resolution": 100}, "power of two"),
    ({"sources": [{"studio": "all", "weight": 0}]}, "weight"),
    ("all", "expected a mapping"),
])
def test_bad_distributions_are_one_config_error_line(data, message):
    with pytest.raises(ConfigError) as err:
        sample.lighting_from_dict(data, "job.yaml: lighting")
    assert message in str(err.value) and "\n" not in str(err.value) and str(err.value).startswith("job.yaml")


def test_missing_or_empty_folders_are_config_errors(tmp_path):
    for folder, message in ((tmp_path / "nope", "does not exist"), (tmp_path, "holds no .exr or .hdr")):
        with pytest.raises(ConfigError, match=message):
            sample.LightingSampler(sample.lighting_from_dict({"sources": [{"folder": str(folder)}]}))


def test_turned_prefiltered_levels_match_prefiltering_the_final_map():
    s = sample.LightingSampler(sample.lighting_from_dict({"tilt": [-30, 30], "temperature": [3000, 9000],
                                                          "resolution": 128, "sources": [{"shipped": ["city"]}]}))
    lit = s.sample(3, 1)
    assert lit.spec.tilt_deg != 0 and lit.spec.temperature_k != 6500
    cached, direct = lit.shading_inputs(), shade.shading_inputs(lit.env)
    assert cached.levels[0] is lit.env and np.array_equal(cached.sh, direct.sh)
    assert all(np.array_equal(cached.levels[k], direct.levels[k]) for k in range(2, 6))
    # the sharpest level is the source's, turned: a resample away from prefiltering the turned map
    assert np.abs(cached.levels[1] - direct.levels[1]).mean() < 0.01 * direct.levels[1].mean()
    with pytest.raises(InputError, match="cannot make 8 prefiltered levels"):
        lit.shading_inputs(8)


def _reference_prefilter_level(env, roughness):
    """prefilter.prefilter_level computed from scratch (its kernel made here, nothing kept)."""
    h, w = env.shape[:2]
    theta, _ = envmap.texel_angles(h, w)
    st, ct = np.sin(theta), np.cos(theta)
    cos_dphi = np.cos(np.arange(w) * (2.0 * math.pi / w))
    sa = envmap.texel_solid_angles(h, w)[:, 0]
    spectrum = np.fft.rfft(env.astype(np.float64) * sa[:, None, None], axis=1)
    out = np.empty((h, w, 3), np.float32)
    for i0 in range(0, h, prefilter._ROW_CHUNK):
        i1 = min(i0 + prefilter._ROW_CHUNK, h)
        c = st[i0:i1, None, None] * st[None, :, None] * cos_dphi + ct[i0:i1, None, None] * ct[None, :, None]
        k_hat = np.fft.rfft(prefilter.ggx_lobe(c, roughness), axis=2).real
        acc = np.einsum("abf,bfc->afc", k_hat, spectrum)
        out[i0:i1] = np.fft.irfft(acc, n=w, axis=1) / (k_hat[:, :, 0] @ sa)[:, None, None]
    return np.maximum(out, 0.0)


def test_kept_kernels_and_texel_weights_give_the_results_of_computing_them_afresh(city):
    env = envmap.resize(city, 64)
    for r in (0.2, 0.6, 1.0):
        first, again = prefilter.prefilter_level(env, r), prefilter.prefilter_level(env * np.float32(2), r)
        for got, want in ((first, _reference_prefilter_level(env, r)),
                          (again, _reference_prefilter_level(env * np.float32(2), r))):
            assert np.abs(got - want).max() <= 1e-6 * np.abs(want).max()  # float rounding only
    h, w = env.shape[:2]
    d = envmap.texel_directions(h, w)
    sa = envmap.texel_solid_angles(h, w)
    front = np.einsum("ij,ijc->c", (1.0 + d @ np.array([0.0, 0.0, 1.0])) * sa * 0.25, env.astype(np.float64))
    assert np.array_equal(envmap.front_irradiance(env), front)
    assert np.array_equal(sh.project(env), np.einsum("ijk,ijc->kc", sh.basis(d) * sa[..., None], env.astype(np.float64)))
    assert not envmap._front_weight(h, w, (0.0, 0.0, 1.0)).flags.writeable


def test_resize_by_whole_factors_is_the_solid_angle_weighted_block_mean(city):
    env = envmap.resize(city, 128)
    h, w = env.shape[:2]
    for f in (2, 4, 8):
        n = h // f
        sa = envmap.texel_solid_angles(h, w)
        cols = env.reshape(h, 2 * n, f, 3).sum(axis=2, dtype=np.float64)
        rows = np.einsum("rfwc,rf->rwc", cols.reshape(n, f, 2 * n, 3), sa.reshape(n, f))
        want = (rows / (sa.reshape(n, f).sum(axis=1)[:, None, None] * f)).astype(np.float32)
        assert np.array_equal(envmap.resize(env, n), want)


def test_shading_inputs_of_a_spec_are_the_same_bytes_with_or_without_kept_kernels(monkeypatch):
    s = sample.LightingSampler(sample.lighting_from_dict({"resolution": 64, "sources": [{"shipped": ["city"]}]}))
    lit = s.sample(0, 4)
    warm = lit.shading_inputs()
    monkeypatch.setattr(prefilter, "_kernels", {})
    monkeypatch.setattr(prefilter, "_KERNEL_CACHE_BYTES", 0)  # nothing kept: every kernel made afresh
    cold = sample.make_environment(lit.spec).shading_inputs()
    assert not prefilter._kernels
    assert all(np.array_equal(a, b) for a, b in zip(warm.levels, cold.levels)) and np.array_equal(warm.sh, cold.sh)


@pytest.mark.parametrize("rotation, tilt", [(0.0, 0.0), (37.3, 0.0), (-90.0, 12.0)])
def test_make_environment_is_the_public_operations_in_order_and_leaves_the_source_map_alone(rotation, tilt):
    spec = sample.LightingSpec(kind="shipped", name="city", sha256=shipped.SHIPPED["city"], rotation_deg=rotation,
                               tilt_deg=tilt, exposure_ev=0.4, temperature_k=4200.0, resolution=64)
    base = sample._base_map(spec).copy()
    lit = sample.make_environment(spec)
    env, scale = envmap.normalize(envmap.rotate(base, rotation, tilt), spec.target_irradiance)
    want = envmap.exposure(whitebalance.white_balance(env, spec.temperature_k), spec.exposure_ev)
    assert np.array_equal(lit.env, want) and lit.scale == scale
    assert np.array_equal(sample._base_map(spec), base)
