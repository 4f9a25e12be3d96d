"""Benchmark: the GT renderer and the projection baker.

Run:  .venv/bin/python bench/bench_render.py [--size 1024] [--texture 2048] [--repeats 10]

Figures (targets on this CPU):
- render: one --size² frame with all GT layers (albedo, depth, normal, segmentation, uv, landmarks),
  warm (shaders compiled, buffers and framebuffers allocated): <= 150 ms;
- render + rgb: the same plus the rgb layer at 2x supersampling (no target; for reference);
- bake: one --size² view into a --texture² M_Face texture, warm (includes rendering the view's own
  visibility layers, reading back and finishing the texture): <= 0.3 s.
Medians of --repeats runs. The asset is procedural at UV resolution 256 (its texture size does not
matter to the timings; the baked texture size is set explicitly).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RENDER_TARGET_S = 0.150
BAKE_TARGET_S = 0.300


def _asset():
    from assetgen.face import load_face_model
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.recipe import Recipe
    from assetgen.uv import rasterize_uv

    folder = os.environ.get("ASSETGEN_FACE_MODEL", str(REPO.parent / "shared" / "face-models" / "ict-facekit"))
    model = load_face_model(folder)
    return make_asset(model, rasterize_uv(model, 256), AssetRequest(name="bench", seed=1, recipe=Recipe()))


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--texture", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()

    from assetgen.bake import Baker, View
    from assetgen.gl import context
    from assetgen.render import GT_LAYERS, Camera, Renderer, intrinsics, look_at

    asset = _asset()
    renderer = Renderer(asset)
    lo, hi = renderer.mesh.bounds()
    c = (lo + hi) / 2
    s = args.size
    cam = Camera(intrinsics(s, s, 2.0 * s), look_at(c + [0.12, 0.03, 0.5], c), (s, s))
    gt = GT_LAYERS + ("landmarks",)
    renderer.render(cam, gt)  # warm-up: shader compile, framebuffers, open3d scene
    renderer.render(cam)
    t_gt = _median_time(lambda: renderer.render(cam, gt), args.repeats)
    t_all = _median_time(lambda: renderer.render(cam), args.repeats)

    view = View(renderer.render(cam, ["albedo"]).albedo, cam)
    baker = Baker(renderer.mesh, sizes={"M_Face": (args.texture, args.texture)})
    baker.bake([view], materials=["M_Face"])  # warm-up
    t_bake = _median_time(lambda: baker.bake([view], materials=["M_Face"]), args.repeats)

    info = context().info
    print(f"device: {info.get('GL_RENDERER')} ({os.cpu_count()} CPUs)")
    print(f"render {s}² all GT layers:      {t_gt * 1e3:7.1f} ms  (target {RENDER_TARGET_S * 1e3:.0f} ms, ratio {t_gt / RENDER_TARGET_S:.2f})")
    print(f"render {s}² GT + rgb (2x SS):   {t_all * 1e3:7.1f} ms  (no target)")
    print(f"bake {s}² view -> {args.texture}² texture: {t_bake * 1e3:7.1f} ms  (target {BAKE_TARGET_S * 1e3:.0f} ms, ratio {t_bake / BAKE_TARGET_S:.2f})")
    baker.release()
    renderer.release()


if __name__ == "__main__":
    main()
