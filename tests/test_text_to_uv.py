"""Text -> UV texture (assetgen.diffusion.text_to_uv): tiny random-weight models, CPU, 2 steps, 64 px views."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assetgen.diffusion.registry import ModelMissingError

VIEWS = [{"azimuth": 0}, {"azimuth": 30}, {"elevation": -30}]


@pytest.fixture(scope="module")
def tiny_registry(tmp_path_factory):
    from assetgen.diffusion.testing import save_tiny_registry

    return save_tiny_registry(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="module")
def runtime(tiny_registry):
    from assetgen.diffusion.loading import DiffusionRuntime

    return DiffusionRuntime.from_config(tiny_registry)


@pytest.fixture(scope="module")
def config():
    from assetgen.diffusion.text_to_uv import load_config

    return load_config(None, view_size=64, steps=2, views=VIEWS)


@pytest.fixture(scope="module")
def runs(runtime, face_model, layout64, config):
    from assetgen.diffusion.text_to_uv import text_to_uv

    calls = []
    a = text_to_uv(runtime, face_model, layout64, config, seed=1, progress=lambda *a: calls.append(a))
    b = text_to_uv(runtime, face_model, layout64, config, seed=1)
    c = text_to_uv(runtime, face_model, layout64, config, seed=2)
    return a, b, c, calls


def test_shapes_ranges_and_materials(runs, layout64):
    a = runs[0]
    assert set(a.materials) == set(layout64.materials)
    for name, m in a.materials.items():
        assert m.base_color.dtype == np.uint8 and m.base_color.shape[:2] == layout64[name].shape
    for name in ("M_Face", "M_BackHead"):
        m = a.materials[name]
        assert m.base_color.shape == layout64[name].shape + (3,)
        assert m.roughness.shape == m.specular.shape == layout64[name].shape
        assert a.seen[name].any()
    assert len(a.views) == len(VIEWS) and all(v.shape == (64, 64, 3) and v.dtype == np.uint8 for v in a.views)
    assert a.masks[0].any() and all(m.shape == (64, 64) for m in a.masks)
    # a later view repaints only part of what it sees: what earlier views painted well is kept
    assert np.array_equal(a.masks[0], a.foregrounds[0])
    for m, fg in zip(a.masks[1:], a.foregrounds[1:]):
        assert not (m & ~fg).any() and (fg & ~m).any()


def test_same_seed_same_bytes_different_seed_differs(runs):
    a, b, c, _ = runs
    for name in a.materials:
        assert np.array_equal(a.materials[name].base_color, b.materials[name].base_color), name
    assert not np.array_equal(a.materials["M_Face"].base_color, c.materials["M_Face"].base_color)
    # the procedural parts depend on the part seeds, not on the diffusion output
    assert a.provenance["view_seeds"] != c.provenance["view_seeds"]


def test_no_unseen_holes_in_covered_texels(runs):
    a = runs[0]
    for name in ("M_Face", "M_BackHead"):
        cov, seen, filled = a.covered[name], a.seen[name], a.filled[name]
        assert np.array_equal(seen | filled, cov)
        assert not (seen & filled).any()
        base = a.materials[name].base_color
        # every texel is defined (pull-push padding): no black background left anywhere
        assert (base.max(axis=-1) > 0).mean() > 0.99
    assert 0 < a.provenance["coverage"]["M_Face"] <= 1


def test_composite_keeps_known_pixels(runs):
    a = runs[0]
    # outside each later view's mask, the view shows the texture painted so far (not diffusion output):
    # the view image there is smooth-ish sampled texture / procedural parts / background, exactly kept
    for v, m in zip(a.views[1:], a.masks[1:]):
        assert v.shape[:2] == m.shape
        assert (v[~m] == 127).all(axis=-1).any()  # background pixels untouched


def test_provenance_complete(runs, config):
    p = runs[0].provenance
    for key in ("prompt", "negative_prompt", "seed", "view_seeds", "steps", "guidance", "cameras", "scheduler",
                "models", "pipelines", "consistency", "recipe", "fill"):
        assert key in p, key
    assert p["prompt"] == config.prompt and p["steps"] == 2
    assert len(p["cameras"]) == len(VIEWS) and "K" in p["cameras"][0]
    for role in ("text2image", "controlnet_depth", "controlnet_normal", "inpainting"):
        assert p["models"][role]["source"] and p["models"][role]["revision"] == "tiny"
    assert p["scheduler"] == "DDIMScheduler"
    json.dumps(p)  # JSON-able


def test_progress_reported(runs):
    calls = runs[3]
    assert calls and calls[-1][0] == calls[-1][1]
    assert all(d <= t for d, t, _ in calls)


def test_pipeline_object_reports_each_step_to_the_hook(runs, runtime, face_model, layout64, config):
    """TextToUVPipeline is what text_to_uv runs: the same bytes, a dataclass result, and callback_on_step_end
    told (pipeline, done, total, what) exactly when the progress callback is."""
    import dataclasses

    from assetgen.diffusion.text_to_uv import TextToUVPipeline, TextToUVResult

    pipe = TextToUVPipeline(runtime)
    hook, progress = [], []
    res = pipe(face_model, layout64, config, seed=1, progress=lambda *a: progress.append(a),
               callback_on_step_end=lambda p, done, total, what: hook.append((p, done, total, what)))
    assert isinstance(res, TextToUVResult) and dataclasses.is_dataclass(res)
    for name in res.materials:
        assert np.array_equal(res.materials[name].base_color, runs[0].materials[name].base_color), name
    assert progress == runs[3]
    assert all(p is pipe for p, *_ in hook) and [h[1:] for h in hook] == progress
    total = len(VIEWS) * config.steps + 2
    assert progress[-1] == (total, total, "done")
    assert [w for _, _, w in progress[: config.steps]] == ["view 0"] * config.steps


def test_backend_protocol(runtime, face_model, layout64, config):
    from assetgen.diffusion.text_to_uv import DiffusionTextureBackend, configured
    from assetgen.generate import texture_backend

    with configured(config.model_copy(update={"views": config.views[:1]}), runtime):
        backend = texture_backend("diffusion")
    assert backend.name == "diffusion"
    ts = backend.generate(face_model, layout64, None, np.random.default_rng(3))
    assert ts.backend == "diffusion" and ts.labels["backend"] == "diffusion" and ts.labels["prompt"] == config.prompt
    assert ts.params["seed"] == ts.seed and set(ts.materials) == set(layout64.materials)
    assert isinstance(DiffusionTextureBackend, type)


def test_missing_model_is_named(face_model, layout64, config, tmp_path):
    from assetgen.diffusion.loading import DiffusionRuntime
    from assetgen.diffusion.registry import registry_from_dict
    from assetgen.diffusion.text_to_uv import DiffusionTextureBackend

    reg = registry_from_dict({"runtime": {"device": "cpu"}, "models": {}}, source=str(tmp_path / "models.yaml"))
    backend = DiffusionTextureBackend(config, DiffusionRuntime(reg))
    with pytest.raises(ModelMissingError, match="text2image"):
        backend.generate(face_model, layout64, None, np.random.default_rng(0))


def test_cli_texture_diffusion(tiny_registry, tmp_path):
    from typer.testing import CliRunner

    from assetgen.cli import app

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("views: [{azimuth: 0}, {azimuth: 70}]\n")
    args = ["texture", "--backend", "diffusion", "--model-config", str(tiny_registry), "--recipe", str(recipe),
            "--prompt", "a weathered face", "--seed", "5", "--steps", "2", "--view-size", "64",
            "--resolution", "64", "--name", "dx", "--out", str(tmp_path / "out")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "dx.glb").stat().st_size > 0
    gt = json.loads((tmp_path / "out" / "dx.gt.json").read_text())
    text = json.dumps(gt)
    assert "a weathered face" in text and "diffusion" in text


def test_cli_missing_model_message(tmp_path):
    from typer.testing import CliRunner

    from assetgen.cli import app

    reg = tmp_path / "models.yaml"
    reg.write_text("models:\n  controlnet_depth: {source: ./nowhere}\n")
    res = CliRunner().invoke(app, ["texture", "--backend", "diffusion", "--model-config", str(reg),
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code != 0
    msg = res.output + repr(res.exception)
    assert "text2image" in msg


def _truth_views(asset, renderer, config):
    """The asset's own albedo seen from the recipe's cameras: stub 'diffusion' output whose true texture
    is known."""
    from assetgen.diffusion.uv_views import face_cameras
    from assetgen.render.mesh import mesh_from_asset

    cams = face_cameras(mesh_from_asset(asset), config)
    return [renderer.render(c, ["albedo"]).albedo for c in cams]


def _psnr(a, b, sel):
    d = a.astype(np.float64)[sel] - b.astype(np.float64)[sel]
    return 10 * np.log10(255.0**2 / max(np.mean(d**2), 1e-12))


def test_bake_at_view_resolution_loses_nothing(face_model, layout256, asset, renderer):
    """Views of 64 px baked at 64² and resampled to the 256² layout are as close to the true texture as
    views baked at 256² (texels finer than the views' pixels only interpolate them)."""
    from assetgen.diffusion.text_to_uv import load_config, text_to_uv

    cfg = load_config(None, view_size=64, views=VIEWS + [{"azimuth": -30}], delight="none")
    assert cfg.bake_shape((256, 256)) == (64, 64) and cfg.bake_shape((64, 128)) == (32, 64)
    assert cfg.model_copy(update={"bake_size": 512}).bake_shape((256, 256)) == (256, 256)
    views = _truth_views(asset, renderer, cfg)
    stubs = dict(generate_view=lambda i, ctrl: views[i], inpaint_view=lambda i, known, mask, ctrl: views[i])
    low = text_to_uv(None, face_model, layout256, cfg, seed=0, **stubs)
    full = text_to_uv(None, face_model, layout256, cfg.model_copy(update={"bake_size": 256}), seed=0, **stubs)
    for name in ("M_Face", "M_BackHead"):
        a, b = low.materials[name].base_color, full.materials[name].base_color
        assert a.shape == b.shape == layout256[name].shape + (3,)
        assert np.array_equal(low.covered[name], layout256[name].mask)
        assert np.array_equal(low.seen[name] | low.filled[name], low.covered[name])
        assert not (low.seen[name] & low.filled[name]).any()
        sel = low.seen[name] & full.seen[name]
        assert sel.sum() > 2000
        truth = asset.textures.materials[name].base_color[..., :3]
        p_low, p_full = _psnr(a, truth, sel), _psnr(b, truth, sel)
        print(f"{name}: vs the true texture {p_low:.2f} dB baked at 64², {p_full:.2f} dB at 256²")
        assert p_low > 20 and p_low >= p_full - 0.5
    assert low.provenance["recipe"]["bake_size"] is None


@pytest.mark.parametrize("fill", ["telea", "diffusion"])
def test_other_fills_fill_every_hole(fill, runtime, face_model, layout64, config):
    """fill: telea (OpenCV) and diffusion (the inpainting model in UV space) fill the never-seen texels
    the views left; seams are padded as with pull-push."""
    from assetgen.diffusion.text_to_uv import text_to_uv

    rng = np.random.default_rng(0)
    imgs = [rng.integers(90, 200, (64, 64, 3), dtype=np.uint8) for _ in VIEWS]
    stubs = dict(generate_view=lambda i, ctrl: imgs[i], inpaint_view=lambda i, known, mask, ctrl: imgs[i])
    res = text_to_uv(runtime, face_model, layout64, config.model_copy(update={"fill": fill}), seed=4, **stubs)
    holes = {m: int(res.filled[m].sum()) for m in ("M_Face", "M_BackHead")}
    assert max(holes.values()) > 0
    for m in ("M_Face", "M_BackHead"):
        assert np.array_equal(res.seen[m] | res.filled[m], res.covered[m])
        assert (res.materials[m].base_color.max(axis=-1) > 0).mean() > 0.99
    assert res.provenance["fill"]["method"] == fill
    if fill == "diffusion":
        hole_mats = [m for m, n in holes.items() if n]
        assert all(res.provenance["fill"][m]["steps"] == 2 for m in hole_mats)
