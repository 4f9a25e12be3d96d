"""Image-based lighting and backgrounds in the rgb layer (render.environment) and the data set's `lighting:` /
`background:`: no environment keeps today's bytes, the default studio looks like today, HDRIs change the
diffuse colour and the highlights, rotating the environment moves the lit side, the background is the map
behind the head, the GT layers never change, and a data-set job draws and records its lighting per image."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest

from assetgen.color import linear_to_srgb8, srgb8_to_linear
from assetgen.errors import ConfigError, InputError
from assetgen.lighting import LightingSpec, make_environment
from assetgen.lighting import shipped, studio
from assetgen.lighting.sample import LightingSampler, lighting_from_dict
from assetgen.render import Camera, Renderer
from assetgen.render import environment as ibl
from assetgen.render.camera import intrinsics, look_at

SIZE = 96
GT = ("albedo", "depth", "normal", "segmentation", "uv")


def lighting(kind: str, name: str, rotation: float = 0.0):
    sha = shipped.SHIPPED[name] if kind == "shipped" else studio.studio(name).sha256()
    return make_environment(LightingSpec(kind=kind, name=name, sha256=sha, rotation_deg=rotation, resolution=128))


@pytest.fixture(scope="module")
def front(renderer):
    lo, hi = renderer.mesh.bounds()
    c = (lo + hi) / 2
    return Camera(intrinsics(SIZE, SIZE, 210.0), look_at(c + [0.0, 0.02, 0.6], c), (SIZE, SIZE))


@pytest.fixture(scope="module")
def envs():
    return {n: lighting("shipped", n) for n in ("city", "forest", "sunset")} | {"default": lighting("studio", "default")}


@pytest.fixture(scope="module")
def inputs(envs):
    return {n: l.shading_inputs() for n, l in envs.items()}


def lin(rgb):
    return srgb8_to_linear(rgb).astype(np.float64)


def test_no_environment_leaves_the_rgb_and_every_gt_layer_as_today(renderer, front, envs, inputs):
    before = renderer.render(front)
    lit = renderer.render(front, environment=inputs["city"], background=ibl.environment_background(envs["city"].env, front))
    after = renderer.render(front)
    assert np.array_equal(before.rgb, after.rgb)  # nothing of the environment's state stays behind
    assert not np.array_equal(before.rgb, lit.rgb)
    for name in GT:
        assert np.array_equal(getattr(before, name), getattr(lit, name), equal_nan=name == "uv"), name
    assert np.array_equal(before.triangle, lit.triangle)


def test_the_default_studio_looks_like_the_fixed_lights(renderer, front, inputs):
    today = renderer.render(front, ("rgb", "segmentation"))
    studio_ = renderer.render(front, ("rgb",), environment=inputs["default"]).rgb
    face = today.segmentation > 0
    diff = np.abs(today.rgb.astype(int) - studio_.astype(int))[face]
    assert diff.mean() < 4.0, diff.mean()


def _specular(renderer, camera, si):
    """Linear (H, W, 3): the image under si less the one under si's diffuse part alone."""
    dark = dataclasses.replace(si, levels=tuple(np.zeros_like(l) for l in si.levels))
    full = lin(renderer.render(camera, ("rgb",), environment=si).rgb)
    return full - lin(renderer.render(camera, ("rgb",), environment=dark).rgb), full


def test_two_hdris_differ_in_diffuse_colour_and_in_where_the_highlights_are(renderer, front, inputs):
    seg = renderer.render(front, ("segmentation",)).segmentation > 0
    chroma, peaks = [], []
    for name in ("city", "sunset"):
        spec, full = _specular(renderer, front, inputs[name])
        m = full[seg].mean(0)
        chroma.append(m / m.sum())
        s = spec.sum(-1) * seg
        assert s.max() > 0.02  # a visible specular part
        top = s >= np.quantile(s[seg], 0.99)
        peaks.append(np.argwhere(top).mean(0))
    assert np.abs(chroma[0] - chroma[1]).max() > 0.01, chroma
    assert np.linalg.norm(peaks[0] - peaks[1]) > 3.0, peaks


def test_rotating_the_environment_moves_the_lit_side(renderer, front):
    seg = renderer.render(front, ("segmentation",)).segmentation > 0
    cols = np.nonzero(seg.any(0))[0]
    mid = (cols.min() + cols.max()) // 2
    sides = []
    for rot in (0.0, 180.0):  # split's key at azimuth -90 (the subject's right), then at +90
        img = lin(renderer.render(front, ("rgb",), environment=lighting("studio", "split", rot).shading_inputs()).rgb)
        left, right = img[:, :mid][seg[:, :mid]].mean(), img[:, mid:][seg[:, mid:]].mean()
        sides.append(left - right)
    assert sides[0] * sides[1] < 0, sides
    assert min(abs(s) for s in sides) > 0.02, sides


def test_the_background_is_the_map_where_nothing_is_seen(renderer, front, envs, inputs):
    bg = ibl.environment_background(envs["forest"].env, front)
    res = renderer.render(front, ("rgb", "segmentation"), environment=inputs["forest"], background=bg)
    empty = res.segmentation == 0
    # away from the silhouette (whose pixels blend the two), the image is the background itself
    near = np.zeros_like(empty)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near |= np.roll(~empty, (dy, dx), (0, 1))
    far = empty & ~near
    assert far.sum() > 0.2 * far.size
    assert np.abs(res.rgb[far].astype(int) - linear_to_srgb8(bg)[far].astype(int)).max() <= 1
    # and it is the map seen along the rays: the ray through the centre looks at the map's -z side
    d = ibl.pixel_directions_world(front)[SIZE // 2, SIZE // 2]
    assert d[2] < -0.9
    colour = renderer.render(front, ("rgb",), background=ibl.color_background((0.2, 0.4, 0.6), front.size)).rgb
    assert np.abs(colour[far].astype(int) - [51, 102, 153]).max() <= 1


def test_a_picture_background_covers_the_frame(tmp_path, front):
    from PIL import Image

    img = np.zeros((40, 200, 3), np.uint8)
    img[:, :100] = (255, 0, 0)
    img[:, 100:] = (0, 0, 255)
    Image.fromarray(img).save(tmp_path / "wide.png")
    left = ibl.image_background(tmp_path / "wide.png", front.size, (0.0, 0.5))
    right = ibl.image_background(tmp_path / "wide.png", front.size, (1.0, 0.5))
    assert left.shape == (SIZE, SIZE, 3)
    assert left[:, :, 0].mean() > 0.9 and right[:, :, 2].mean() > 0.9


def test_bad_environment_or_background_is_one_line(renderer, front):
    with pytest.raises(InputError, match="ShadingInputs"):
        renderer.render(front, ("rgb",), environment=np.zeros((8, 16, 3), np.float32))
    with pytest.raises(InputError, match="background must be"):
        renderer.render(front, ("rgb",), background=np.zeros((10, 10, 3), np.float32))


def _linear_samples(monkeypatch) -> dict:
    """Where the rgb pass's linear (h ss, w ss, 4) samples are kept (they pass through ibl.box_filter)."""
    seen = {}
    box_filter = ibl.box_filter

    def keep(fine, ss, channels):
        seen["fine"] = fine.copy()
        return box_filter(fine, ss, channels)

    monkeypatch.setattr(ibl, "box_filter", keep)
    return seen


def test_a_light_straight_behind_the_camera_shades_no_nan(monkeypatch):
    """A glossy quad seen head-on from far away with the light along the view: h = v at every sample, where
    dot(h, v) of unit vectors rounds above 1 and the Fresnel term's pow(1 - dot(h, v), 5) had a negative base
    (NaN, black in the image; the data set's first images showed it at the back of the head)."""
    from assetgen.render.mesh import Primitive, RenderMesh
    from assetgen.render.renderer import Light

    s = 0.1
    quad = Primitive(
        "M_Quad", np.float32([[-s, -s, 0], [s, -s, 0], [s, s, 0], [-s, s, 0]]), np.tile(np.float32([0, 0, 1]), (4, 1)),
        np.float32([[0, 1], [1, 1], [1, 0], [0, 0]]), np.int32([[0, 1, 2], [0, 2, 3]]), np.zeros(2, np.uint8),
        np.full((4, 4, 3), 120, np.uint8), roughness=np.full((4, 4), 90, np.uint8))
    camera = Camera(intrinsics(64, 64, 30000.0), look_at(np.array([0.0, 0.0, 50.0]), np.zeros(3)), (64, 64))
    seen = _linear_samples(monkeypatch)
    r = Renderer(RenderMesh("quad", [quad], np.zeros((68, 3))), lights=(Light((0.0, 0.0, 1.0), (0.5, 0.5, 0.5)),))
    try:
        rgb = r.render(camera, ("rgb",), supersample=2).rgb
    finally:
        r.release()
    assert seen["fine"].shape == (128, 128, 4) and np.isfinite(seen["fine"]).all()
    # every sample sees the same lit quad: one colour, well away from the black a NaN became
    assert rgb.min() > 60 and int(rgb.max()) - int(rgb.min()) <= 1, (rgb.min(), rgb.max())


def test_specular_zero_reflects_nothing_even_at_grazing_angles(inputs):
    """A black quad seen at a grazing angle under an HDRI and a light: with specular 0 (an opening, the
    inside of the eye) it stays black; with specular > 0 Fresnel's grazing term mirrors the surroundings
    (the pupil showed a grey ring of it)."""
    from assetgen.render.mesh import Primitive, RenderMesh
    from assetgen.render.renderer import Light

    def quad(spec):
        s = 0.1
        return Primitive(
            "M_Quad", np.float32([[-s, -s, 0], [s, -s, 0], [s, s, 0], [-s, s, 0]]),
            np.tile(np.float32([0, 0, 1]), (4, 1)), np.float32([[0, 1], [1, 1], [1, 0], [0, 0]]),
            np.int32([[0, 1, 2], [0, 2, 3]]), np.zeros(2, np.uint8), np.zeros((4, 4, 3), np.uint8),
            roughness=np.full((4, 4), 40, np.uint8), specular=np.full((4, 4), spec, np.uint8))

    eye = np.array([0.0, 0.5, 0.03])  # nearly in the quad's plane
    camera = Camera(intrinsics(32, 32, 400.0), look_at(eye, np.zeros(3)), (32, 32))
    peak = {}
    for spec in (0, 255):
        for env in (None, inputs["sunset"]):
            r = Renderer(RenderMesh("quad", [quad(spec)], np.zeros((68, 3))),
                         lights=(Light((0.0, -1.0, 0.2), (2.0, 2.0, 2.0)),))
            try:
                res = r.render(camera, ("rgb", "segmentation"), supersample=1, environment=env)
            finally:
                r.release()
            seen = res.triangle >= 0
            assert seen.sum() > 20
            peak[spec, env is None] = int(res.rgb[seen].max())
    assert peak[0, True] == 0 and peak[0, False] == 0, peak
    assert peak[255, True] > 10 and peak[255, False] > 10, peak


def test_the_cornea_reflects_the_surroundings_over_the_pupil(renderer, inputs):
    """Close on an eye under an HDRI: the pupil (black in the albedo layer: no diffuse, no specular of its
    own) shows the clear cornea's reflection, the catchlights (it was black: the sclera's cornea cut-out
    reflected nothing); the GT layers there still show the iris."""
    lm = renderer.mesh.landmarks_world
    centre = lm[42:48].mean(0)
    camera = Camera(intrinsics(64, 64, 2000.0), look_at(centre + [0.0, 0.0, 0.3], centre), (64, 64))
    res = renderer.render(camera, ("rgb", "albedo", "segmentation"), supersample=1, environment=inputs["city"])
    iris = np.isin(res.segmentation, [res.regions.index(r) for r in res.regions if r.startswith("iris")])
    pupil = iris & (res.albedo.max(2) < 8)
    assert pupil.sum() > 30, pupil.sum()  # the camera sees the pupil through the cornea
    lit = lin(res.rgb[pupil])
    assert np.median(lit.max(1)) > 0.004, np.median(lit.max(1))  # ~2.5 % of the city's radiance, not black


def test_hair_takes_the_environment(face_model, asset, front, inputs):
    from assetgen.attach.hair import make_groom, sample_groom_params

    params = sample_groom_params(np.random.default_rng(3), style="medium", beard_style="full")
    hairy = copy.copy(asset)
    hairy.groom = make_groom(face_model, params, np.random.default_rng(3), rest_vertices=asset.vertices)
    r = Renderer(hairy)
    try:
        base = r.render(front, ("rgb", "segmentation"))
        hair = np.isin(base.segmentation, [base.regions.index("scalp_hair")])
        assert hair.sum() > 50
        city = r.render(front, ("rgb",), environment=inputs["city"]).rgb
        sunset = r.render(front, ("rgb",), environment=inputs["sunset"]).rgb
        assert np.abs(city[hair].astype(int) - sunset[hair].astype(int)).mean() > 2.0
        assert np.array_equal(base.rgb, r.render(front, ("rgb",)).rgb)
    finally:
        r.release()


# ---- the data set ----------------------------------------------------------------------------------------

JOB = {
    "name": "lit", "count": 3, "seed": 5, "resolution": 64, "images_per_subject": 3,
    "subjects": {"recipe": "demo", "texture_resolution": 64, "hair": False},
    "camera": {"supersample": 1},
    "lighting": {"sources": [{"shipped": ["city", "forest"]}, {"studio": ["rembrandt"]}], "exposure": [-1, 1],
                 "temperature": [5000, 8000], "resolution": 64},
    "background": {"type": "environment"},
}


def test_a_lit_dataset_job_is_deterministic_and_records_each_image_lighting(tmp_path, face_model):
    from assetgen.dataset import job_from_dict, run_dataset

    job = job_from_dict(json.loads(json.dumps(JOB)), source="job.yaml")
    a, b = tmp_path / "a", tmp_path / "b"
    run_dataset(job, a)
    run_dataset(job, b, limit=1)  # cut short, then resumed
    run_dataset(job, b)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n
    sampler = LightingSampler(lighting_from_dict(JOB["lighting"]))
    seen = set()
    for i in range(3):
        rec = json.loads((a / f"{i:06d}.json").read_text())["lighting"]
        assert rec["type"] == "environment" and rec["background"] == {"type": "environment"}
        spec = LightingSpec.from_json(rec["spec"])
        assert spec == sampler.spec(5, i)
        seen.add((spec.name, round(spec.rotation_deg, 3)))
    assert len(seen) == 3  # every image its own environment


def test_dataset_lighting_and_background_errors_are_one_line(tmp_path):
    from assetgen.dataset import job_from_dict, run_dataset

    bad = dict(JOB, lighting={"sources": [{"shipped": ["nowhere"]}]})
    with pytest.raises(ConfigError, match="lighting.*nowhere"):
        job_from_dict(bad, source="job.yaml")
    with pytest.raises(ConfigError, match="background type environment"):
        job_from_dict(dict(JOB, lighting={"type": "default"}), source="job.yaml")
    job = job_from_dict(dict(JOB, background={"type": "folder", "folder": str(tmp_path / "none")}), source="job.yaml")
    with pytest.raises(ConfigError, match="background.folder"):
        run_dataset(job, tmp_path / "out")
    assert not (tmp_path / "out").exists()
