"""Benchmark: the GT renderer and the projection baker.

Run:  .venv/bin/python bench/bench_render.py [--size 1024] [--texture 2048] [--repeats 10]

Figures (targets on this CPU):
- render: one --size² frame with all GT layers (albedo, depth, normal, segmentation, uv, landmarks),
  warm (shaders compiled, buffers and framebuffers allocated): <= 150 ms;
- render + rgb: the same plus the rgb layer at 2x supersampling (no target; for reference);
- bake: one --size² view into a --texture² M_Face texture, warm (includes rendering the view's own
  visibility layers, reading back and finishing the texture): <= 0.3 s;
- bake x3: three --size² views into the same texture (the float-accumulator path; no target), per view.
Medians and minima of --repeats runs, with the 1-minute load average before and after (other jobs on
this 2-core machine slow everything: compare minima, and only runs at low load). The asset is procedural at UV resolution 256 (its texture size does not
matter to the timings; the baked texture size is set explicitly).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path


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


def _times(fn, repeats: int) -> tuple[float, float]:
    """(median, minimum) seconds of `repeats` calls."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


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
    load0 = os.getloadavg()[0]
    t_gt, m_gt = _times(lambda: renderer.render(cam, gt), args.repeats)
    t_all, m_all = _times(lambda: renderer.render(cam), args.repeats)

    view = View(renderer.render(cam, ["albedo"]).albedo, cam)
    baker = Baker(renderer.mesh, sizes={"M_Face": (args.texture, args.texture)})
    baker.bake([view], materials=["M_Face"])  # warm-up
    t_bake, m_bake = _times(lambda: baker.bake([view], materials=["M_Face"]), args.repeats)
    cams3 = [Camera(cam.K, look_at(c + [x, 0.03, 0.5], c), (s, s)) for x in (-0.15, 0.0, 0.15)]
    views3 = [View(renderer.render(k, ["albedo"]).albedo, k) for k in cams3]
    baker.bake(views3, materials=["M_Face"])
    t_b3, m_b3 = _times(lambda: baker.bake(views3, materials=["M_Face"]), max(3, args.repeats // 2))
    load1 = os.getloadavg()[0]

    info = context().info
    print(f"device: {info.get('GL_RENDERER')} ({os.cpu_count()} CPUs); load average {load0:.2f} before, {load1:.2f} after")
    print(f"render {s}² all GT layers:      {t_gt * 1e3:7.1f} ms  (min {m_gt * 1e3:6.1f}; target {RENDER_TARGET_S * 1e3:.0f} ms, ratio {t_gt / RENDER_TARGET_S:.2f})")
    print(f"render {s}² GT + rgb (2x SS):   {t_all * 1e3:7.1f} ms  (min {m_all * 1e3:6.1f}; no target)")
    print(f"bake {s}² view -> {args.texture}² texture: {t_bake * 1e3:7.1f} ms  (min {m_bake * 1e3:6.1f}; target {BAKE_TARGET_S * 1e3:.0f} ms, ratio {t_bake / BAKE_TARGET_S:.2f})")
    print(f"bake 3 x {s}² views -> {args.texture}²:  {t_b3 * 1e3:7.1f} ms  (min {m_b3 * 1e3:6.1f}; {t_b3 / 3 * 1e3:.1f} ms per view; no target)")
    baker.release()
    renderer.release()


if __name__ == "__main__":
    main()
