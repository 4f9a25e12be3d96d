"""Diffusion stage on tiny random-weight pipelines (offline, CPU, <= 128 px, 2 steps)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")

from assetgen.diffusion.registry import ModelMissingError, UnsafeModelError, load_registry, registry_from_dict  # noqa: E402


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory) -> Path:
    from assetgen.diffusion.testing import save_tiny_registry

    return save_tiny_registry(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def runtime(tiny_registry):
    from assetgen.diffusion.loading import DiffusionRuntime

    return DiffusionRuntime.from_config(tiny_registry)


def _views(n=2, size=64):
    from assetgen.diffusion.reference import ConditionView

    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    r2 = xx**2 + yy**2
    mask = r2 < 0.16
    z = np.sqrt(np.clip(0.16 - r2, 0, None))
    views = []
    for i in range(n):
        depth = np.where(mask, 3.0 - z + 0.1 * i, 0.0)
        nrm = np.stack([xx, -yy, z], -1) / 0.4
        views.append(ConditionView(depth=depth, normal=np.where(mask[..., None], nrm, 0), mask=mask,
                                   camera={"azimuth": 30 * i}))
    return views


def test_registry_resolves_relative_paths_and_rejects_unknown_roles(tiny_registry):
    from assetgen.errors import ConfigError

    reg = load_registry(tiny_registry)
    assert Path(reg.spec("text2image").source).is_absolute()
    with pytest.raises(ConfigError, match="unknown roles"):
        registry_from_dict({"models": {"upscaler": {"source": "x/y"}}})
    with pytest.raises(ConfigError, match="unknown scheduler"):
        registry_from_dict({"models": {"text2image": {"source": "x/y", "scheduler": "os.system"}}})
    with pytest.raises(ModelMissingError, match="no model is configured for role 'inpainting'"):
        registry_from_dict({"models": {}}).spec("inpainting")


def test_repository_registry_is_valid():
    reg = load_registry(Path(__file__).resolve().parents[1] / "configs" / "models.yaml")
    assert {"text2image", "controlnet_depth", "inpainting", "intrinsics"} <= set(reg.models)


def test_cache_shares_loaded_pipelines(runtime):
    a = runtime.load("text2image")
    assert runtime.load("text2image") is a
    composed = runtime.compose("StableDiffusionControlNetPipeline", "text2image", ("controlnet_depth",))
    assert composed.unet is a.obj.unet and composed.vae is a.obj.vae
    assert runtime.compose("StableDiffusionControlNetPipeline", "text2image", ("controlnet_depth",)) is composed
    assert runtime.device == "cpu" and str(a.obj.unet.dtype) == "torch.float32"


def test_threads_asking_for_one_model_load_it_once(tiny_registry):
    import threading

    from assetgen.diffusion.loading import DiffusionRuntime

    rt = DiffusionRuntime.from_config(tiny_registry)
    entered, second_asks = [], threading.Event()
    real = rt._load

    def counted(*args):
        entered.append(1)
        # without the runtime's lock the second thread would enter too: give it up to a second to show it
        second_asks.wait(5.0)
        for _ in range(100):
            if len(entered) > 1:
                break
            threading.Event().wait(0.01)
        return real(*args)

    rt._load = counted
    got = []

    def ask(signal=None):
        if signal is not None:
            signal.set()
        got.append(rt.load("text2image"))

    first = threading.Thread(target=ask)
    first.start()
    while not entered:
        threading.Event().wait(0.001)
    second = threading.Thread(target=ask, args=(second_asks,))
    second.start()
    first.join()
    second.join()
    assert len(entered) == 1 and len(got) == 2 and got[0] is got[1]


@pytest.mark.parametrize("stage", ["inpaint", "reference"])
def test_a_run_holds_the_runtime_so_runs_take_turns(runtime, stage):
    """Pipelines of one runtime share their UNet and keep state while they run: every step of a run sees the
    runtime's lock held, so another thread cannot start a run then."""
    import threading

    from assetgen.diffusion.clean import inpaint_diffusion
    from assetgen.diffusion.reference import reference_images

    free = []

    def progress(done, total, what):
        got = []
        t = threading.Thread(target=lambda: got.append(runtime.exclusive().acquire(blocking=False)))
        t.start()
        t.join()
        if got[0]:
            runtime.exclusive().release()
        free.append(got[0])

    if stage == "inpaint":
        mask = np.zeros((64, 64), bool)
        mask[20:40, 20:40] = True
        inpaint_diffusion(runtime, np.full((64, 64, 3), 128, np.uint8), mask, "skin", steps=2, size=32,
                          progress=progress)
    else:
        reference_images(runtime, "a face", _views(1, 32), steps=2, progress=progress)
    assert free and not any(free)


def test_refuses_pickled_only_folder(tmp_path):
    from assetgen.diffusion.loading import DiffusionRuntime

    folder = tmp_path / "pickled"
    (folder / "unet").mkdir(parents=True)
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (folder / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    rt = DiffusionRuntime(registry_from_dict({"runtime": {"device": "cpu"}, "models": {"text2image": {"source": str(folder)}}}))
    with pytest.raises(UnsafeModelError, match="only pickled weights.*safetensors only"):
        rt.load("text2image")


def test_refuses_custom_code_components(tmp_path, tiny_registry):
    import shutil

    from assetgen.diffusion.loading import check_local_folder

    folder = tmp_path / "custom"
    shutil.copytree(Path(tiny_registry).parent / "sd", folder)
    index = json.loads((folder / "model_index.json").read_text())
    index["unet"] = ["my_module", "EvilUNet"]
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(UnsafeModelError, match="never remote or custom code"):
        check_local_folder(folder, "text2image")


def test_offline_missing_model_message():
    from assetgen.diffusion.loading import DiffusionRuntime

    rt = DiffusionRuntime(registry_from_dict({"runtime": {"device": "cpu"}, "models": {
        "text2image": {"source": "assetgen-tests/no-such-model", "revision": "abc123"}}}))
    with pytest.raises(ModelMissingError) as err:
        rt.load("text2image")
    msg = str(err.value)
    assert "assetgen-tests/no-such-model" in msg and "text2image" in msg
    assert "huggingface-cli download assetgen-tests/no-such-model --revision abc123" in msg
    assert "configs/models.yaml" in msg and "offline" in msg


def test_reference_images_shapes_seeds_and_provenance(runtime):
    from assetgen.diffusion.reference import reference_images

    steps_seen = []
    views = _views(2)
    a = reference_images(runtime, "a face", views, seed=1, steps=2, conditions=("depth", "normal"),
                         progress=lambda d, t, w: steps_seen.append((d, t)))
    b = reference_images(runtime, "a face", views, seed=1, steps=2, conditions=("depth", "normal"))
    c = reference_images(runtime, "a face", views, seed=2, steps=2, conditions=("depth", "normal"))
    assert len(a.images) == 2 and a.images[0].shape == (64, 64, 3) and a.images[0].dtype == np.uint8
    assert all(np.array_equal(x, y) for x, y in zip(a.images, b.images))
    assert not np.array_equal(a.images[0], c.images[0])
    assert steps_seen[-1] == (2, 2)
    p = a.provenance
    assert p["prompt"] == "a face" and p["seed"] == 1 and p["steps"] == 2 and p["guidance"] == 7.5
    assert set(p["models"]) == {"text2image", "controlnet_depth", "controlnet_normal"}
    assert p["models"]["text2image"]["revision"] == "tiny" and p["scheduler"] == "DDIMScheduler"
    assert p["cameras"][1] == {"azimuth": 30}
    json.dumps(p)


def test_reference_images_follow_the_conditioning(runtime):
    from assetgen.diffusion.reference import reference_images

    v = _views(1)
    a = reference_images(runtime, "a face", v, seed=3, steps=2).images[0]
    v[0].depth = np.where(v[0].mask, 2.0, 0.0)
    b = reference_images(runtime, "a face", v, seed=3, steps=2).images[0]
    assert not np.array_equal(a, b)


def test_diffusion_inpaint_keeps_texels_outside_the_mask(runtime):
    from assetgen.diffusion.clean import clean, inpaint_diffusion

    rng = np.random.default_rng(0)
    tex = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    mask = np.zeros((96, 128), bool)
    mask[30:50, 40:70] = True
    a = inpaint_diffusion(runtime, tex, mask, "skin", seed=0, steps=2, size=64)
    b = inpaint_diffusion(runtime, tex, mask, "skin", seed=0, steps=2, size=64)
    c = inpaint_diffusion(runtime, tex, mask, "skin", seed=1, steps=2, size=64)
    assert a.image.shape == tex.shape and a.image.dtype == np.uint8
    assert np.array_equal(a.image[~mask], tex[~mask])
    assert not np.array_equal(a.image[mask], tex[mask])
    assert np.array_equal(a.image, b.image) and not np.array_equal(a.image[mask], c.image[mask])
    assert a.provenance["models"]["inpainting"]["source"].endswith("sd-inpaint")
    assert clean(tex, mask, runtime, steps=2, size=64).method == "diffusion"
    assert clean(tex, mask & (np.arange(128) == 45), runtime).method == "classical"  # tiny hole


def test_classical_inpaint_fills_hole_without_torch():
    code = (
        "import sys, numpy as np\n"
        "from assetgen.diffusion.clean import inpaint_classical\n"
        "img = np.full((64, 64, 3), (200, 120, 90), np.uint8); m = np.zeros((64, 64), bool); m[20:30, 20:30] = True\n"
        "img[m] = 0\n"
        "r = inpaint_classical(img, m)\n"
        "assert np.abs(r.image[m].astype(int) - (200, 120, 90)).max() <= 2\n"
        "assert np.array_equal(r.image[~m], img[~m])\n"
        "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules, sorted(k for k in sys.modules if 'torch' in k)[:3]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


def test_classical_inpaint_ignores_uv_background():
    from assetgen.diffusion.clean import inpaint_classical

    img = np.zeros((64, 64, 3), np.uint8)
    valid = np.zeros((64, 64), bool)
    valid[:, :32] = True
    img[valid] = (180, 110, 80)
    hole = np.zeros((64, 64), bool)
    hole[20:30, 26:32] = True
    out = inpaint_classical(img, hole, valid=valid).image
    assert np.abs(out[hole].astype(int) - (180, 110, 80)).max() <= 3  # no black bleeding in from background


def test_marigold_despecularize_shapes_and_seeds(runtime):
    from assetgen.diffusion.intrinsics import despecularize_marigold

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    a = despecularize_marigold(runtime, img, seed=0, steps=2)
    b = despecularize_marigold(runtime, img, seed=0, steps=2)
    c = despecularize_marigold(runtime, img, seed=5, steps=2)
    assert a.diffuse.shape == img.shape and a.diffuse.dtype == np.uint8 and a.residual.shape == img.shape
    assert np.array_equal(a.diffuse, b.diffuse) and not np.array_equal(a.diffuse, c.diffuse)
    assert set(a.maps) == {"albedo", "roughness"}
    lit = despecularize_marigold(runtime, img, checkpoint="lighting", seed=0, steps=2)
    assert set(lit.maps) == {"albedo", "shading", "residual"} and lit.residual.shape == img.shape
    assert a.params["models"]["intrinsics"]["revision"] == "tiny" and a.params["steps"] == 2


def _cli():
    from assetgen.cli import app

    return app


def test_cli_despecularize_classical_and_marigold(tmp_path, tiny_registry):
    from PIL import Image
    from typer.testing import CliRunner

    img = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    runner = CliRunner()
    r = runner.invoke(_cli(), ["despecularize", str(tmp_path / "in.png"), "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "c" / "albedo.png").is_file() and (tmp_path / "c" / "residual.png").is_file()
    r = runner.invoke(_cli(), ["despecularize", str(tmp_path / "in.png"), "--method", "marigold", "--model",
                               str(Path(tiny_registry).parent / "marigold-appearance"), "--model-config",
                               str(tiny_registry), "--steps", "2", "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    prov = json.loads((tmp_path / "m" / "provenance.json").read_text())
    assert prov["method"] == "marigold" and prov["seed"] == 0 and prov["steps"] == 2
    assert np.asarray(Image.open(tmp_path / "m" / "albedo.png")).shape == (48, 64, 3)


def test_cli_texture_procedural_imports_no_diffusers(tmp_path):
    code = (
        "import sys, typer\nfrom typer.testing import CliRunner\n"
        "from assetgen.cli import app\n"
        f"r = CliRunner().invoke(app, ['texture', '--backend', 'procedural', '--seed', '3', '--resolution', '64', '--out', {str(tmp_path)!r}])\n"
        "assert r.exit_code == 0, (r.output, r.exception)\n"
        "assert 'diffusers' not in sys.modules and 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
    assert (tmp_path / "texture.glb").is_file() and (tmp_path / "texture.gt.json").is_file()


def test_sd15_class_architectures_have_the_published_sizes():
    """The random-weight models of bench/bench_diffusion_gpu.py are SD1.5-sized (built on the meta device:
    no memory, no time): UNet 859.5 M, VAE 83.7 M, CLIP ViT-L/14 text encoder 123.1 M, ControlNet 361.3 M
    parameters, as the published checkpoints."""
    import torch
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from assetgen.diffusion import testing as T

    with torch.device("meta"):
        models = {"unet": UNet2DConditionModel(**T.SD15_UNET), "vae": AutoencoderKL(**T.SD15_VAE),
                  "text": CLIPTextModel(CLIPTextConfig(**T.SD15_TEXT)), "controlnet": ControlNetModel(**T.SD15_CONTROLNET)}
    published = {"unet": 859.5e6, "vae": 83.65e6, "text": 123.06e6, "controlnet": 361.3e6}
    for name, m in models.items():
        n = sum(p.numel() for p in m.parameters())
        assert abs(n - published[name]) < 1e-3 * published[name], (name, n)


def test_gpu_bench_runs_on_tiny_models():
    """bench/bench_diffusion_gpu.py --smoke: the GPU benchmark's path (registry build, load, text -> UV with
    models, timings) on tiny models on the CPU, so the script works when a GPU is lent."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / "bench_diffusion_gpu.py"
    spec = importlib.util.spec_from_file_location("bench_diffusion_gpu", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = bench.main(["--smoke"])
    assert out["seconds_per_asset"] > 0 and out["timings"]["diffusion"] > 0 and "bake" in out["timings"]


def test_reference_and_text_to_uv_condition_alike(renderer):
    """Reference imagery (ConditionView: x right, y up, z to the camera) and text -> UV (the renderer's
    OpenCV layers) give the ControlNets the same images for the same render."""
    from assetgen.diffusion.reference import depth_control, normal_control
    from assetgen.render import Camera, intrinsics, look_at
    from assetgen.render.conditioning import depth_condition, normal_condition

    lo, hi = renderer.mesh.bounds()
    c = (lo + hi) / 2
    res = renderer.render(Camera(intrinsics(64, 64, 150), look_at(c + [0.2, 0.1, 0.5], c), (64, 64)), ["depth", "normal"])
    gl_normal = res.normal * np.array([1, -1, -1], np.float32)
    assert np.array_equal(np.rint(normal_control(gl_normal, res.mask) * 255), normal_condition(res.normal, res.mask))
    d = np.where(res.mask, res.depth, 0.0)
    assert np.array_equal(np.rint(depth_control(d, res.mask) * 255), depth_condition(res.depth))
