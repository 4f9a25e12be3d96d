"""Procedural texture backend: chromophore model, determinism, regions, params and labels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from assetgen import color
from assetgen.errors import ConfigError
from assetgen.face import ict
from assetgen.texture import MaterialTextures, ProceduralSkinBackend, SkinParams, TextureSet
from assetgen.texture import chromophore as chrom
from assetgen.texture.skin import slopes_to_normal
from assetgen.uv import position_map, region_map

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


def _gen(model, layout, seed=0, **params) -> TextureSet:
    return ProceduralSkinBackend().generate(model, layout, params, np.random.default_rng(seed))


# ---- chromophore model ---------------------------------------------------------------------------------
def test_lut_darkens_monotonically_with_melanin():
    lut = chrom.skin_lut()
    y = lut @ LUMA  # (melanin, hemoglobin)
    assert (np.diff(y, axis=0) < 0).all(), "more melanin must always mean a darker albedo"
    assert lut.min() >= 0.0 and lut.max() <= 1.0


def test_more_hemoglobin_is_redder():
    hb = np.array([0.002, 0.01, 0.03, 0.08])
    for mel in (0.01, 0.03, 0.05):
        rgb = chrom.skin_linear_rgb(mel, hb)
        ratio = rgb[:, 0] / rgb[:, 1]
        assert (np.diff(ratio) > 0).all(), (mel, ratio)
        assert (np.diff(rgb @ LUMA) < 0).all()  # blood absorbs: darker as well
    # in dark skin, epidermal melanin masks blood (erythema is hard to see clinically): small effect only
    rgb = chrom.skin_linear_rgb(0.3, hb)
    assert np.ptp(rgb[:, 0] / rgb[:, 1]) < 0.1
    # the LUT used for texels agrees
    lut_ratio = chrom.lut_lookup(np.full(4, 0.02), hb)
    assert (np.diff(lut_ratio[:, 0] / lut_ratio[:, 1]) > 0).all()


def test_lut_lookup_matches_the_spectral_model():
    rng = np.random.default_rng(0)
    mel = rng.uniform(0, chrom.MELANIN_MAX, (40, 30))
    hb = rng.uniform(0, chrom.HEMOGLOBIN_MAX, (40, 30))
    assert np.abs(chrom.lut_lookup(mel, hb) - chrom.skin_linear_rgb(mel, hb)).max() < 0.01


def test_monk_scale_spans_pale_to_very_dark():
    rgb = chrom.skin_linear_rgb(np.array(chrom.MONK_MELANIN), 0.012)
    y = rgb @ LUMA
    assert (np.diff(y) < 0).all()
    srgb = color.linear_to_srgb(rgb) * 255
    assert srgb[0].mean() > 140 and srgb[-1].mean() < 45  # pale vs very dark albedo
    # skin is warm at every tone: R > G > B
    assert ((srgb[:, 0] > srgb[:, 1]) & (srgb[:, 1] > srgb[:, 2])).all()
    # the darkest swatches (display colours close to albedo) are matched within ~25 levels
    for cat in (9, 10):
        sw = np.array([int(chrom.MONK_SWATCHES[cat - 1][i : i + 2], 16) for i in (1, 3, 5)])
        assert np.abs(srgb[cat - 1] - sw).max() < 25


def test_iris_colours_follow_melanin():
    blue = chrom.iris_linear_rgb(*chrom.EYE_COLOR_MELANIN["blue"])
    brown = chrom.iris_linear_rgb(*chrom.EYE_COLOR_MELANIN["brown"])
    assert blue[2] > blue[0]  # scattering makes pigment-poor irides blue
    assert brown[0] > brown[2] and brown @ LUMA < blue @ LUMA


def test_normal_map_sign_convention():
    # a bump: height rises towards the centre
    yy, xx = np.mgrid[0:33, 0:33].astype(np.float32)
    h = np.exp(-((xx - 16) ** 2 + (yy - 16) ** 2) / 40.0)
    dh_drow, dh_dcol = np.gradient(h)
    n = slopes_to_normal(dh_dcol * 5, dh_drow * 5).astype(int)
    assert n[16, 22, 0] > 140  # right of the bump (+u): normal leans to +x
    assert n[16, 10, 0] < 116
    assert n[10, 16, 1] > 140  # above the bump (towards row 0 = +v): normal leans to +y
    assert n[22, 16, 1] < 116
    assert abs(n[16, 16, 0] - 128) <= 1 and n[16, 16, 2] == 255


# ---- the backend ----------------------------------------------------------------------------------------
def test_every_material_gets_maps_of_the_layout_size(face_model, layout64):
    ts = _gen(face_model, layout64)
    assert set(ts.materials) == set(layout64.materials)
    assert ts.backend == "procedural"
    for name, mt in ts.materials.items():
        assert isinstance(mt, MaterialTextures)
        h, w = layout64[name].shape
        assert mt.base_color.shape[:2] == (h, w) and mt.base_color.dtype == np.uint8
        assert mt.roughness.shape == (h, w) and mt.specular.shape == (h, w) and mt.normal.shape == (h, w, 3)
    assert ts.materials["M_LacrimalFluid"].alpha_mode == "BLEND"
    assert ts.materials["M_EyeOcclusion"].alpha_mode == "BLEND"
    assert ts.materials["M_EyeBlend"].alpha_mode == "BLEND"
    assert ts.materials["M_EyeLashes"].alpha_mode == "MASK"
    assert ts.materials["M_Face"].alpha_mode == "OPAQUE"


def test_same_seed_same_bytes_different_seed_different(face_model, layout64):
    p = dict(skin_tone=3, freckles=0.5, stubble=0.4, moles=4)
    a, b, c = _gen(face_model, layout64, 7, **p), _gen(face_model, layout64, 7, **p), _gen(face_model, layout64, 8, **p)
    for name in a.materials:
        for attr in ("base_color", "roughness", "specular", "normal"):
            assert np.array_equal(getattr(a.materials[name], attr), getattr(b.materials[name], attr)), (name, attr)
    assert not np.array_equal(a.materials["M_Face"].base_color, c.materials["M_Face"].base_color)


def _face_masks(model, layout):
    r = layout["M_Face"]
    reg = region_map(r, model)
    pos = position_map(r, model, model.neutral)
    lm = model.neutral[model.landmarks_68]
    brow_y = lm[17:27, 1].mean()
    lips = np.isin(reg, [ict.REGIONS.index(n) for n in ict.LIP_REGIONS])
    forehead = (reg == ict.REGIONS.index("face_skin")) & (pos[..., 1] > brow_y + 1.5) & (np.abs(pos[..., 0]) < 3)
    return lips, forehead


def test_lipstick_changes_lips_not_forehead(face_model, layout256):
    lips, forehead = _face_masks(face_model, layout256)
    assert lips.sum() > 50 and forehead.sum() > 200
    bare = _gen(face_model, layout256, 3).materials["M_Face"].base_color.astype(int)
    red = _gen(face_model, layout256, 3, lipstick={"color": "#c2185b", "opacity": 0.9}).materials["M_Face"]
    diff = np.abs(red.base_color.astype(int) - bare).sum(-1)
    assert diff[lips].mean() > 30
    assert diff[forehead].max() == 0


def _spot_count(img: np.ndarray, mask: np.ndarray) -> int:
    y = (img.astype(np.float32) @ LUMA)
    local = cv2.GaussianBlur(y, (0, 0), 6)
    return int(((local - y > 6) & mask).sum())


def test_freckles_add_melanin_spots(face_model, layout256):
    r = layout256["M_Face"]
    skin = region_map(r, face_model) == ict.REGIONS.index("face_skin")
    plain = _gen(face_model, layout256, 5, skin_tone=2, moles=0).materials["M_Face"].base_color
    freckled = _gen(face_model, layout256, 5, skin_tone=2, moles=0, freckles=0.9).materials["M_Face"].base_color
    n0, n1 = _spot_count(plain, skin), _spot_count(freckled, skin)
    assert n1 > 3 * n0 + 50, (n0, n1)


def test_no_background_colour_in_padding(face_model, layout64):
    ts = _gen(face_model, layout64, skin_tone=1)
    for name in ("M_Face", "M_BackHead", "M_Teeth", "M_GumsTongue"):
        mask = layout64[name].mask
        img = ts.materials[name].base_color[..., :3].astype(np.float32) @ LUMA
        assert (~mask).any()
        # uncovered texels carry skin-like values, not black
        assert img[~mask].min() > 0.5 * np.percentile(img[mask], 5), name


def test_progress_is_reported_per_material(face_model, layout64):
    calls = []
    ProceduralSkinBackend().generate(face_model, layout64, None, np.random.default_rng(0),
                                     progress=lambda d, n, w: calls.append((d, n, w)))
    names = [w for _, _, w in calls]
    assert set(layout64.materials) <= set(names)
    assert calls[-1][0] == calls[-1][1] == len(layout64.materials)


# ---- parameters and labels ------------------------------------------------------------------------------
def test_unknown_parameter_is_a_clear_error():
    with pytest.raises(ConfigError, match="freckels"):
        SkinParams.parse({"freckels": 0.3})


@pytest.mark.parametrize("bad, field", [
    ({"skin_tone": 11}, "skin_tone"),
    ({"freckles": 1.5}, "freckles"),
    ({"age": -3}, "age"),
    ({"eye_color": "purple"}, "eye_color"),
    ({"lipstick": {"color": "red", "opacity": 0.5}}, "lipstick.color"),
    ({"lipstick": {"color": "#aa0000", "opacity": 0.5, "gloss": 1}}, "lipstick.gloss"),
])
def test_out_of_range_values_name_the_field(bad, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        SkinParams.parse(bad)


def test_backend_rejects_bad_params(face_model, layout64):
    with pytest.raises(ConfigError):
        ProceduralSkinBackend().generate(face_model, layout64, {"stubble": 2}, np.random.default_rng(0))


def test_labels_and_params_recorded(face_model, layout64):
    ts = _gen(face_model, layout64, skin_tone=7, freckles=0.3, age=52, eye_color="hazel",
              lipstick={"color": "#A0223A", "opacity": 0.7}, stubble=0.2)
    lab = ts.labels
    assert lab["skin_tone"] == "monk_07"
    assert lab["freckles"] == 0.3 and lab["age"] == 52 and lab["eye_color"] == "hazel" and lab["stubble"] == 0.2
    assert lab["lipstick"] is True and lab["lipstick_color"] == "#a0223a"
    assert lab["blush"] is False and lab["eyeliner"] is False and lab["makeup"] is True
    assert SkinParams.parse(ts.params) == SkinParams.parse(dict(
        skin_tone=7, freckles=0.3, age=52, eye_color="hazel", lipstick={"color": "#A0223A", "opacity": 0.7}, stubble=0.2))
    # explicit melanin overrides the category and is reported as the nearest Monk tone
    assert SkinParams(melanin=0.4).labels()["skin_tone"] == "monk_10"


def test_sampling_covers_tones_and_attributes():
    rng = np.random.default_rng(0)
    samples = [SkinParams.sample(rng) for _ in range(300)]
    tones = {s.labels()["skin_tone"] for s in samples}
    assert tones == {f"monk_{i:02d}" for i in range(1, 11)}
    for key in ("lipstick", "blush", "eyeshadow", "eyeliner"):
        share = np.mean([s.labels()[key] for s in samples])
        assert 0.05 < share < 0.6, key
    assert 0.1 < np.mean([s.stubble > 0 for s in samples]) < 0.7
    assert len({s.eye_color for s in samples}) >= 5
    assert samples[0] == SkinParams.sample(np.random.default_rng(0))


# ---- eyes, mouth, lashes (parts/) -------------------------------------------------------------------------
PART_NAMES_SKIPPED = ("M_Face", "M_BackHead")


def _part_maps(model, layout, seeds, order=None, **params) -> dict:
    """The non-skin materials as the text -> UV stage builds them (one AssetContext, parts.material each)."""
    from assetgen.texture import parts
    from assetgen.texture.context import AssetContext
    from assetgen.texture.fields_store import layout_fields

    ctx = AssetContext(model, layout, layout_fields(model, layout), SkinParams.parse(params), np.asarray(seeds))
    names = order or [n for n in layout.materials if n not in PART_NAMES_SKIPPED]
    return {n: parts.material(ctx, n) for n in names}


def _maps_bytes(mt: MaterialTextures) -> tuple:
    return tuple(getattr(mt, a).tobytes() for a in ("base_color", "roughness", "specular", "normal"))


def test_parts_same_seeds_same_bytes_in_any_order(face_model, layout256):
    names = [n for n in layout256.materials if n not in PART_NAMES_SKIPPED]
    a = _part_maps(face_model, layout256, np.arange(8))
    # other material orders (another material starts the asset's noises, the background draws differ)
    b = _part_maps(face_model, layout256, np.arange(8), order=names[::-1])
    for name in names:
        assert _maps_bytes(a[name]) == _maps_bytes(b[name]), name
        alone = _part_maps(face_model, layout256, np.arange(8), order=[name])[name]
        assert _maps_bytes(alone) == _maps_bytes(a[name]), name
    c = _part_maps(face_model, layout256, np.arange(8) + 1)
    seeded = [n for n in names if n.startswith(("M_Sclera", "M_Iris", "M_Teeth", "M_GumsTongue", "M_EyeLashes"))]
    assert len(seeded) == 7
    for name in seeded:
        assert a[name].base_color.tobytes() != c[name].base_color.tobytes(), name
    # the eye colour reaches the iris
    blue = _part_maps(face_model, layout256, np.arange(8), order=["M_IrisLeft"], eye_color="blue")["M_IrisLeft"]
    assert blue.base_color[..., 2].mean() > a["M_IrisLeft"].base_color[..., 2].mean()


def _reference_noise(noise, points: np.ndarray) -> np.ndarray:
    """ValueNoise3D by the book: every lattice read at its 8 corners by fancy indexing."""
    pts = np.asarray(points, np.float32).reshape(-1, 3)
    out = np.zeros(len(pts), np.float32)

    def lerp(a, b, t):
        return a + (b - a) * t

    for cell, amp, lat in zip(noise.cells, noise.amps, noise.lattices):
        g = np.clip((pts - noise.lo) / np.float32(cell), 0.0, np.asarray(lat.shape, np.float32) - 1.001)
        i = np.floor(g).astype(np.int32)
        f = g - i
        f = f * f * (3.0 - 2.0 * f)
        x, y, z = i.T
        c = [lerp(lat[x, y + dy, z + dz], lat[x + 1, y + dy, z + dz], f[:, 0]) for dz in (0, 1) for dy in (0, 1)]
        out += np.float32(amp) * lerp(lerp(c[0], c[1], f[:, 1]), lerp(c[2], c[3], f[:, 1]), f[:, 2])
    out *= noise.norm
    return out.reshape(np.shape(points)[:-1])


def test_lazy_noise_draws_the_same_values():
    from assetgen.texture.noise import ValueNoise3D

    lo, hi = (-10.0, -12.0, -8.0), (10.0, 9.0, 11.0)
    rng = np.random.default_rng(3)
    near = rng.uniform((1.0, -3.0, 4.0), (4.0, 1.0, 9.0), (40, 30, 3)).astype(np.float32)
    eager = ValueNoise3D(np.random.default_rng(5), lo, hi, 0.7, octaves=2)
    lazy = ValueNoise3D(np.random.default_rng(5), lo, hi, 0.7, octaves=2, lazy=True)
    ref = _reference_noise(eager, near)
    assert np.array_equal(eager(near), ref)
    assert np.array_equal(lazy(near), ref)
    assert lazy._drawn[0] == lazy.lattices[0].size and lazy._drawn[1] < 0.8 * lazy.lattices[1].size
    # points further along the stream: the draws continue where they stopped
    wide = rng.uniform(lo, hi, (2000, 3))
    assert np.array_equal(lazy(wide), eager(wide))
    # a plan evaluates any noise of the same geometry; another seed gives another noise
    other = ValueNoise3D(np.random.default_rng(6), lo, hi, 0.7, octaves=2, lazy=True)
    plan = other.plan(near)
    assert np.array_equal(other.evaluate(plan), _reference_noise(ValueNoise3D(np.random.default_rng(6), lo, hi, 0.7, 2), near))
    assert not np.array_equal(other.evaluate(plan), ref)
    with pytest.raises(ValueError):
        ValueNoise3D(np.random.default_rng(5), lo, hi, 0.5, octaves=2).evaluate(plan)


def test_parts_srgb_and_iris_lookup_match_the_plain_formulas():
    from assetgen.texture.parts import common, eyes

    rng = np.random.default_rng(0)
    x = rng.uniform(-0.2, 1.2, (50, 40, 3))
    assert np.array_equal(common.srgb(x), chrom.encode_srgb8(np.ascontiguousarray(x, np.float32)))
    # iris colour: bilinear in a log-concentration table, in float64
    eu = rng.uniform(-0.01, 2.5, (60, 70)).astype(np.float32)
    ph = np.exp(rng.uniform(-11, 1, (60, 70))).astype(np.float32)
    lut, lo, hi = eyes._iris_table()
    n = lut.shape[0] - 1

    def coord(c):
        t = np.clip((np.log(np.maximum(np.clip(c, 0, None), 1e-4)) - lo) / (hi - lo), 0, 1) * n
        i = np.minimum(t.astype(np.int32), n - 1)
        return i, (t - i)[..., None]

    x0, fx = coord(eu)
    y0, fy = coord(ph)
    c0 = lut[x0, y0] * (1 - fy) + lut[x0, y0 + 1] * fy
    c1 = lut[x0 + 1, y0] * (1 - fy) + lut[x0 + 1, y0 + 1] * fy
    assert np.array_equal(eyes._iris_lookup(eu, ph), (c0 * (1 - fx) + c1 * fx).astype(np.float32))


def _reference_iris_polar(ctx, name, side, rmax):
    """The polar iris image computed on every row and texel (no shared rows, no crypt cut-off)."""
    from assetgen.texture.parts import eyes

    nr, na = eyes.IRIS_POLAR
    rng = ctx.part_rng(name)
    limbus = eyes.limbus_radius(ctx, side)
    rho = np.linspace(0.0, rmax, nr, dtype=np.float32)[:, None]
    r = np.clip((rho - eyes.PUPIL_RADIUS_CM) / max(limbus - eyes.PUPIL_RADIUS_CM, 1e-3), 0.0, 1.0)
    ang = np.linspace(-np.pi, np.pi, na, endpoint=False, dtype=np.float32)[None, :]
    eu, ph = chrom.EYE_COLOR_MELANIN[ctx.params.eye_color]
    fib = np.zeros((nr, na), np.float32)
    for k in range(6, 90, 3):
        drift = rng.standard_normal() * 1.5
        fib += np.float32(rng.random() / np.sqrt(k)) * np.cos(k * ang + rng.random() * 2 * np.pi + drift * r)
    fib /= np.abs(fib).max() + 1e-6
    crypt = np.zeros((nr, na), np.float32)
    for _ in range(int(rng.integers(4, 12))):
        c_r, c_a, size = rng.uniform(0.25, 0.7), rng.uniform(-np.pi, np.pi), rng.uniform(0.04, 0.09)
        da = np.angle(np.exp(1j * (ang - c_a))) * (0.3 + r)
        crypt = np.maximum(crypt, np.exp(-0.5 * (((r - c_r) / size) ** 2 + (da / size) ** 2)))
    collarette = np.exp(-0.5 * ((r - 0.35) / 0.08) ** 2)
    eu_map = eu * (1.0 + 0.35 * fib + 0.6 * collarette) * (1.0 - 0.5 * crypt)
    ph_map = ph * (1.0 + 0.3 * fib + 1.2 * collarette * (ph > eu))
    col = eyes._iris_lookup(np.clip(eu_map, 0, None), np.clip(ph_map, 0, None))
    col *= (1.0 - 0.5 * crypt)[..., None]
    limbal = 1.0 - 0.75 * np.clip((r - 0.82) / 0.18, 0.0, 1.0) ** 1.5
    pupil = np.clip((rho - eyes.PUPIL_RADIUS_CM) / 0.01, 0.0, 1.0)
    col *= (limbal * pupil)[..., None]
    w = eyes._WRAP
    return np.concatenate([col[:, -w:], col, col[:, :w]], axis=1).astype(np.float32)


@pytest.mark.parametrize("eye_color", ["brown", "blue"])
def test_iris_polar_image_matches_full_evaluation(face_model, layout256, eye_color):
    from assetgen.texture.context import AssetContext
    from assetgen.texture.fields_store import layout_fields
    from assetgen.texture.parts import eyes

    fields = layout_fields(face_model, layout256)
    for seed in range(3):
        ctx = AssetContext(face_model, layout256, fields, SkinParams.parse({"eye_color": eye_color}),
                           np.arange(8) + 10 * seed)
        for side in ("Left", "Right"):
            name = f"M_Iris{side}"
            _, _, rmax = eyes.iris_maps(ctx, name, side)
            assert np.array_equal(eyes._iris_polar(ctx, name, side, rmax), _reference_iris_polar(ctx, name, side, rmax))


# ---- per-layout fields cache on disk --------------------------------------------------------------------
def _all_bytes(ts: TextureSet) -> dict:
    return {(n, a): getattr(mt, a).tobytes() for n, mt in ts.materials.items()
            for a in ("base_color", "roughness", "specular", "normal")}


def _fresh_gen(model, cache_dir, **params) -> TextureSet:
    """Generate as a new process would: in-process caches cleared, the layout (re)loaded from its cache."""
    from assetgen.texture import fields_store
    from assetgen.uv import rasterize_uv

    fields_store.clear_cache()
    layout = rasterize_uv(model, 64, cache_dir=cache_dir)
    assert layout.cache_folder is not None
    return ProceduralSkinBackend().generate(model, layout, params, np.random.default_rng(11))


def _fields_folder(model, cache_dir):
    from assetgen.texture import fields_store
    from assetgen.uv import rasterize_uv

    layout = rasterize_uv(model, 64, cache_dir=cache_dir)
    return layout.derived_cache_path(fields_store.NAME) / fields_store.fields_key(model)


def test_fields_disk_cache_gives_identical_bytes(face_model, tmp_path):
    from assetgen.texture import fields_store
    from assetgen.uv import rasterize_uv

    p = dict(skin_tone=5, freckles=0.6, moles=3, age=63, stubble=0.5, lipstick={"color": "#a0223a", "opacity": 0.6})
    first = _fresh_gen(face_model, tmp_path, **p)  # computes the fields and stores them
    folder = _fields_folder(face_model, tmp_path)
    assert (folder / "meta.json").is_file()
    again = _fresh_gen(face_model, tmp_path, **p)  # loads them, memory-mapped
    fields = fields_store.layout_fields(face_model, rasterize_uv(face_model, 64, cache_dir=tmp_path))
    assert isinstance(fields.skin["M_Face"].pos, np.memmap)
    # without any disk cache (in-process computation only)
    fields_store.clear_cache()
    uncached = ProceduralSkinBackend().generate(face_model, rasterize_uv(face_model, 64, use_cache=False), p,
                                                np.random.default_rng(11))
    assert _all_bytes(first) == _all_bytes(again) == _all_bytes(uncached)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "meta"])
def test_damaged_fields_cache_is_rebuilt(face_model, tmp_path, damage):
    from assetgen.texture import fields_store

    good = _fresh_gen(face_model, tmp_path, freckles=0.5)
    folder = _fields_folder(face_model, tmp_path)
    victim = folder / "skin.M_Face.pos.npy"
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:-100])
    elif damage == "garbage":
        victim.write_bytes(b"not a numpy file")
    else:
        (folder / "meta.json").write_text("{")
    again = _fresh_gen(face_model, tmp_path, freckles=0.5)
    assert _all_bytes(again) == _all_bytes(good)
    # the damaged copy was replaced by a valid one, which loads
    from assetgen.uv import rasterize_uv

    fields_store.clear_cache()
    assert fields_store.load(folder, face_model, rasterize_uv(face_model, 64, cache_dir=tmp_path)) is not None
    assert not [p for p in folder.parent.iterdir() if p.name != folder.name]  # no temporary folders left


def test_fields_cache_keyed_by_neutral_shape(face_model, tmp_path):
    from assetgen.texture import fields_store

    class Shifted:
        def __init__(self, m):
            self._m = m
            self.neutral = m.neutral + np.float32(0.5)

        def __getattr__(self, k):
            return getattr(self._m, k)

    assert fields_store.fields_key(Shifted(face_model)) != fields_store.fields_key(face_model)


def test_stubble_below_full_detail_is_a_veil_not_specks(face_model, layout256):
    """At 256 texels a stub would be millimetres wide: the stubble tile is box-filtered (its mean with the
    contrast scaled by resolution / 2048), so grey stubble on dark skin greys the beard zone evenly instead
    of dotting it with light texels."""
    r = layout256["M_Face"]
    skin = region_map(r, face_model) == ict.REGIONS.index("face_skin")
    p = dict(skin_tone=10, moles=0, hair_color="gray")
    plain = _gen(face_model, layout256, 4, **p).materials["M_Face"].base_color.astype(np.float32) @ LUMA
    grey = _gen(face_model, layout256, 4, stubble=1.0, **p).materials["M_Face"].base_color.astype(np.float32) @ LUMA
    diff = np.where(skin, grey - plain, 0.0).astype(np.float32)
    veil = cv2.GaussianBlur(diff, (0, 0), 4)  # the stubble's local mean
    zone = skin & (veil > 5.0)  # the beard zone
    specks = np.std((diff - veil)[zone]) / veil[zone].mean()  # texel-scale contrast against the veil
    assert zone.sum() > 2000 and veil[zone].mean() > 10.0  # the beard zone is greyed
    assert specks < 0.5, specks


def test_sclera_cutout_is_ramped_and_the_pupil_is_black(face_model, layout256):
    """The sclera's cornea cut-out is an alpha ramp (the alpha test of the filtered texture follows the
    limbus, not texel stairs): every opaque texel next to a transparent one is a ramp value. Nothing opaque
    is left inside the cut-out: the pupil is the iris's, black and reflecting nothing, and through its
    opening the globes' rear halves show black (an iris pattern there before, seen through the pupil)."""
    ts = _gen(face_model, layout256, 2)
    for side in ("Left", "Right"):
        sclera, iris = ts.materials[f"M_Sclera{side}"], ts.materials[f"M_Iris{side}"]
        alpha = sclera.base_color[..., 3]
        clear = alpha == 0
        near = cv2.dilate(clear.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & ~clear
        assert clear.sum() > 100 and near.sum() > 50
        assert ((alpha[near] > 0) & (alpha[near] < 255)).mean() > 0.95  # a ramp all round, no 0/255 step
        n, _, stats, _ = cv2.connectedComponentsWithStats((alpha >= 128).astype(np.uint8), connectivity=4)
        assert n == 2  # the sclera and nothing else: no disc on the cornea
        spec = iris.specular  # 0.5, and 0 on the pupil and the rear half, which are black
        assert spec.max() == 128 and (spec == 0).sum() > 0.05 * spec.size
        dark = iris.base_color.max(-1)[spec == 0]
        assert np.percentile(dark, 95) <= 2 and dark.max() <= 40  # (the pupil's edge is filtered)
        dark_sclera = (sclera.base_color[..., :3].max(-1) == 0) & (sclera.specular == 0)
        assert dark_sclera.sum() > 0.2 * alpha.size
