"""Benchmark: the GT renderer on a subject with hair (scalp + brows + beard + moustache + lashes).

Run:  .venv/bin/python bench/bench_render_hair.py [--size 512] [--repeats 5] [--style medium] [--beard full]
      [--png DIR]

Figures (llvmpipe; target on this CPU: the GT frame with hair <= 150 ms):
- triangle counts: the head's and each hair region's (the ribbons with their level of detail), and how many
  of the hair triangles each pass drew after occlusion culling (render.cull);
- GT: one --size² frame with every GT layer (albedo, depth, normal, segmentation, uv, landmarks), warm, for
  the bald head and the same head with the groom, and their ratio;
- + hair_coverage, + rgb (2x supersampling): the other layers on their own, for reference.
Medians and minima of --repeats runs (wall clock; bald and hair take turns), the minimum CPU time of the
process (all threads, llvmpipe's included: less sensitive to other jobs than the wall clock), with the
1-minute load average before and after (other jobs on this 2-core machine slow everything: compare
minima, and only runs at low load). --png DIR writes the rgb frames (front and three-quarter) of the
subject for looking at.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 0.150
GT = ("albedo", "depth", "normal", "segmentation", "uv", "landmarks")


def _subject(style: str, beard: str, seed: int):
    from assetgen.attach.hair import make_groom, sample_groom_params
    from assetgen.face import load_face_model
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.recipe import Recipe
    from assetgen.uv import rasterize_uv

    folder = os.environ.get("ASSETGEN_FACE_MODEL", str(REPO.parent / "shared" / "face-models" / "ict-facekit"))
    model = load_face_model(folder)
    bald = make_asset(model, rasterize_uv(model, 256), AssetRequest(name="bench", seed=seed, recipe=Recipe()))
    params = sample_groom_params(np.random.default_rng(seed), style=style, beard_style=beard)
    hairy = copy.copy(bald)
    hairy.groom = make_groom(model, params, np.random.default_rng(seed), rest_vertices=bald.vertices)
    return bald, hairy


def _times(fns: dict, repeats: int) -> dict[str, tuple[float, float, float]]:
    """Per name: median and minimum wall time and minimum CPU time (s) of fns[name](), the functions taking
    turns so that other jobs' load falls on all of them alike."""
    wall = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    return {k: (statistics.median(wall[k]), min(wall[k]), min(cpu[k])) for k in fns}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--style", default="medium")
    ap.add_argument("--beard", default="full")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--png", type=Path, default=None)
    args = ap.parse_args()

    from assetgen.png import encode_png
    from assetgen.render import Camera, Renderer, intrinsics, look_at

    bald, hairy = _subject(args.style, args.beard, args.seed)
    s = args.size
    load0 = os.getloadavg()[0]
    views = {}
    for name, asset in (("bald", bald), ("hair", hairy)):
        r = Renderer(asset)
        lo, hi = r.mesh.bounds()
        c = (lo + hi) / 2
        cam = Camera(intrinsics(s, s, 2.0 * s), look_at(c + [0.12, 0.04, 0.6], c + [0.0, 0.02, 0.0]), (s, s))
        warm = r.render(cam, GT + ("rgb", "hair_coverage"))  # warm: programs, buffers, framebuffers, ray caster
        counts = {p.material: p.n_triangles for p in r.mesh.primitives}
        head = sum(n for m, n in counts.items() if not m.startswith("Hair_"))
        hair = {m[len("Hair_"):]: n for m, n in counts.items() if m.startswith("Hair_")}
        print(f"{name}: {head:,} head triangles" + (f", hair {sum(hair.values()):,}: {hair}" if hair else ""))
        if hair:
            drawn = warm.extra["hair_triangles_drawn"]
            print("  hair triangles drawn after occlusion culling: " + ", ".join(f"{k} {n:,}" for k, n in drawn.items()))
        views[name] = (r, cam)
        if args.png and hair:
            args.png.mkdir(parents=True, exist_ok=True)
            for view, eye in (("front", [0.0, 0.03, 0.6]), ("three_quarter", [0.42, 0.06, 0.42])):
                cam2 = Camera(intrinsics(s, s, 2.0 * s), look_at(c + eye, c + [0.0, 0.02, 0.0]), (s, s))
                (args.png / f"hair_{args.style}_{args.beard}_{view}_{s}.png").write_bytes(encode_png(r.render(cam2, ("rgb",)).rgb))
    rows = {"bald": {"hair_coverage": None}, "hair": {}}
    for layer, layers in (("GT", GT), ("hair_coverage", ("hair_coverage",)), ("rgb", ("rgb",))):
        names = ("bald", "hair") if layer != "hair_coverage" else ("hair",)
        timed = _times({n: (lambda r=views[n][0], cam=views[n][1]: r.render(cam, layers)) for n in names}, args.repeats)
        for n in names:
            rows[n][layer] = timed[n]
    for r, _ in views.values():
        r.release()
    load1 = os.getloadavg()[0]
    print(f"{s}² frames, median / min of {args.repeats} (load average {load0:.1f} -> {load1:.1f}):")
    for layer in ("GT", "hair_coverage", "rgb"):
        b, h = rows["bald"][layer], rows["hair"][layer]
        if h is None:
            continue
        line = f"  {layer:14s} hair {h[0] * 1e3:7.1f} / {h[1] * 1e3:7.1f} ms (cpu {h[2] * 1e3:6.1f})"
        if b is not None:
            line += f"   bald {b[0] * 1e3:7.1f} / {b[1] * 1e3:7.1f} ms (cpu {b[2] * 1e3:6.1f})   ratio (min) {h[1] / b[1]:.1f}x"
        print(line)
    gt = rows["hair"]["GT"][1]
    print(f"GT frame with hair: {gt * 1e3:.0f} ms (min) vs target {TARGET_S * 1e3:.0f} ms: {'OK' if gt <= TARGET_S else 'OVER'}")


if __name__ == "__main__":
    main()
