"""Diffusion-stage timings on CPU with tiny random-weight models (the model forwards are negligible, so
the figures are what the stage costs around them). Target: non-model work <= 0.5 s per asset at 1024² UV.

    .venv/bin/python bench/bench_diffusion.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def best(fn, n=3):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    from assetgen.despecular import despecularize
    from assetgen.diffusion.clean import inpaint_classical, inpaint_diffusion
    from assetgen.cli.diffusion import _png
    from assetgen.diffusion.loading import DiffusionRuntime
    from assetgen.diffusion.reference import ConditionView, depth_control, normal_control, reference_images
    from assetgen.diffusion.testing import save_tiny_registry

    rng = np.random.default_rng(0)
    uv = 1024
    yy, xx = np.mgrid[0:uv, 0:uv] / uv
    tex = np.stack([180 + 30 * np.sin(9 * xx), 120 + 20 * np.sin(7 * yy), 90 + 10 * np.sin(5 * xx * yy)], -1)
    tex = np.clip(tex + rng.normal(0, 3, tex.shape) + 60 * np.exp(-((xx - .5) ** 2 + (yy - .4) ** 2) / .002)[..., None], 0, 255).astype(np.uint8)
    hole = np.zeros((uv, uv), bool)
    hole[500:540, 300:360] = True
    rows = {}
    rows["despecularize classical 1024²"] = best(lambda: despecularize(tex))
    rows["inpaint classical 1024² (2400-texel hole)"] = best(lambda: inpaint_classical(tex, hole))
    v = 512
    yv, xv = np.mgrid[0:v, 0:v] / v - 0.5
    mask = xv**2 + yv**2 < 0.16
    z = np.sqrt(np.clip(0.16 - xv**2 - yv**2, 0, None))
    depth = np.where(mask, 3 - z, 0)
    normal = np.stack([xv, -yv, z], -1) / 0.4
    rows["ControlNet images 6 views x 512² (depth+normal)"] = best(
        lambda: [(depth_control(depth, mask), normal_control(normal, mask)) for _ in range(6)])
    rows["PNG encode 1024² albedo+residual"] = best(lambda: (_png(tex), _png(tex)))
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        reg = save_tiny_registry(Path(d))
        rows["(build + save tiny models)"] = time.perf_counter() - t
        rt = DiffusionRuntime.from_config(reg)
        t = time.perf_counter()
        rt.load("inpainting")
        rt.compose("StableDiffusionControlNetPipeline", "text2image", ("controlnet_depth", "controlnet_normal"))
        rows["(load tiny models through the registry)"] = time.perf_counter() - t
        inpaint_diffusion(rt, tex, hole, "skin", steps=2, size=64)
        rows["inpaint diffusion 1024², tiny model, 2 steps @64"] = best(
            lambda: inpaint_diffusion(rt, tex, hole, "skin", steps=2, size=64))
        small = [ConditionView(depth=depth[::8, ::8], normal=normal[::8, ::8], mask=mask[::8, ::8]) for _ in range(6)]
        reference_images(rt, "a face", small, steps=2, conditions=("depth", "normal"))
        rows["reference images 6 views x 64², tiny, 2 steps"] = best(
            lambda: reference_images(rt, "a face", small, steps=2, conditions=("depth", "normal")))
    width = max(map(len, rows))
    for k, s in rows.items():
        print(f"{k:<{width}}  {s * 1000:8.1f} ms")
    non_model = sum(v for k, v in rows.items() if not k.startswith("(") and "tiny" not in k)
    print(f"{'non-model work per asset (sum of the above without forwards)':<{width}}  {non_model * 1000:8.1f} ms"
          f"  (target <= 500 ms)")



def text_to_uv_figures(uv: int = 1024, view: int = 512, repeats: int = 5) -> None:
    """Text -> UV per asset outside the model forwards: 6 views x 512² at 1024² UV, the diffusion calls
    replaced by stubs returning the asset's own albedo seen from each camera (so every other stage runs
    exactly as in production, and the true texture is known), plus writing the asset (GLB + gt.json)."""
    import tempfile as _tf

    from assetgen.bake import Baker, View
    from assetgen.diffusion.text_to_uv import DiffusionTextureBackend, load_config, text_to_uv
    from assetgen.diffusion.uv_views import face_cameras
    from assetgen.face.locate import get_face_model
    from assetgen.export.asset_files import write_asset
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.recipe import Recipe, TextureSpec
    from assetgen.render.mesh import mesh_from_asset
    from assetgen.render.renderer import Renderer
    from assetgen.texture.base import TextureSet
    from assetgen.uv import rasterize_uv

    model = get_face_model(None)
    layout = rasterize_uv(model, uv)
    cfg = load_config(None, view_size=view)
    truth_asset = make_asset(model, layout, AssetRequest(name="truth", seed=3, recipe=Recipe(name="truth")))
    mesh = mesh_from_asset(truth_asset)
    cams = face_cameras(mesh, cfg)
    renderer = Renderer(truth_asset)
    imgs = [renderer.render(c, ["albedo"]).albedo for c in cams]
    stubs = dict(generate_view=lambda i, ctrl: imgs[i], inpaint_view=lambda i, known, mask, ctrl: imgs[i])
    text_to_uv(None, model, layout, cfg, seed=0, **stubs)  # warm GL + caches
    runs = [text_to_uv(None, model, layout, cfg, seed=0, **stubs) for _ in range(repeats)]
    keys = [k for k in runs[0].timings if k != "total"]
    t = {k: min(r.timings[k] for r in runs) for k in keys + ["total"]}

    class _Stub(DiffusionTextureBackend):
        def generate(self, model, layout, params=None, rng=None, progress=None, vertices=None):
            r = runs[0]
            return TextureSet(r.materials, {"backend": "diffusion"}, r.provenance, "diffusion", 0)

    request = AssetRequest(name="bench", seed=0, recipe=Recipe(name="bench", texture=TextureSpec(backend="diffusion")))
    asset = make_asset(model, layout, request, backend=_Stub(cfg, runtime=object()))
    with _tf.TemporaryDirectory() as d:
        write_asset(asset, Path(d))
        t["write GLB + gt.json"] = best(lambda: write_asset(asset, Path(d)), repeats)
    print(f"\ntext -> UV, {len(cfg.views)} views x {view}², {uv}² UV, diffusion stubbed (CPU, EGL llvmpipe), "
          f"best of {repeats}:")
    width = max(map(len, t)) + 2
    for k in keys + ["write GLB + gt.json"]:
        print(f"  {k:<{width}}  {t[k] * 1000:8.1f} ms")
    total = t["total"] - t["diffusion"] + t["write GLB + gt.json"]
    print(f"  {'all non-model work per asset':<{width}}  {total * 1000:8.1f} ms  ({total / 0.5:.2f} x the 0.5 s target)")

    # Why textures are baked at the view size: a 1024² texel is finer than what a 512² view resolves.
    baker = Baker(mesh, power=cfg.bake_power, padding=0, min_px_per_texel=1.0)
    try:
        resolved = baker.bake([View(im, c) for im, c in zip(imgs, cams)], materials=["M_Face"])["M_Face"]
    finally:
        baker.release()
    frac = resolved.seen.sum() / max(layout["M_Face"].mask.sum(), 1)
    full = text_to_uv(None, model, layout, cfg.model_copy(update={"bake_size": uv}), seed=0, **stubs)
    print(f"  M_Face texels at {uv}² that some {view}² view resolves (>= 1 px per texel): {100 * frac:.3f} %")
    for m in ("M_Face", "M_BackHead"):
        sel = runs[0].seen[m] & full.seen[m]
        true = truth_asset.textures.materials[m].base_color[..., :3]
        ps = [10 * np.log10(255.0**2 / np.mean((r.materials[m].base_color.astype(float)[sel] - true.astype(float)[sel]) ** 2))
              for r in (runs[0], full)]
        print(f"  {m}: PSNR vs the true texture, baked at {runs[0].provenance['bake_shapes'][m][0]}² and resampled "
              f"{ps[0]:.2f} dB, baked at {uv}² {ps[1]:.2f} dB")
    print("  GPU (full-size SD1.5 UNet/VAE/ControlNet fp16, 6 x 512², 20 steps -> 2048²): bench/bench_diffusion_gpu.py,"
          " needs a CUDA device")


if __name__ == "__main__":
    main()
    text_to_uv_figures()
