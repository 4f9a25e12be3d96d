"""Benchmark: writing one asset (assetgen.export.asset_files.write_asset: NAME.glb + NAME.gt.json) at 1024² UV.

Run:  .venv/bin/python bench/bench_io.py [--resolution 1024] [--repeats 7] [--face-model DIR]

The asset is a procedural one (seed 1); its M_Face / M_BackHead base colours are then replaced by
diffusion-like images (a smooth colour field plus gaussian noise, sigma 3), which compress far worse
than the procedural ones and are what the diffusion backend hands to the exporter. Only write_asset
is timed (best and median of --repeats, after a first write that is printed too); also printed: the parts (PNG encoding of all material
images, build_glb, the ground-truth record and its JSON), the file sizes, and the ratio to the
per-asset I/O goal of 120 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

GOAL_MS = 120.0
NOISY = ("M_Face", "M_BackHead")


def diffusion_like(h: int, w: int, rng: np.random.Generator, sigma: float = 3.0) -> np.ndarray:
    """(h, w, 3) uint8: a smooth skin-coloured field (low-frequency waves) plus gaussian noise."""
    y = np.linspace(0.0, 1.0, h)[:, None, None]
    x = np.linspace(0.0, 1.0, w)[None, :, None]
    base = np.array([196.0, 150.0, 128.0])
    phase = rng.uniform(0, 2 * np.pi, size=(3, 3))
    smooth = (
        base
        + 18.0 * np.sin(2 * np.pi * (1.3 * x + phase[0]))
        + 12.0 * np.cos(2 * np.pi * (0.7 * y + 0.4 * x + phase[1]))
        + 6.0 * np.sin(2 * np.pi * (3.1 * y + phase[2]))
    )
    noisy = smooth + rng.normal(0.0, sigma, size=(h, w, 3))
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def _best_ms(fn, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
    return min(times), statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--face-model", default=None, help="face-model folder (default: $ASSETGEN_FACE_MODEL or ../shared)")
    ap.add_argument("--procedural-base-color", action="store_true", help="keep the procedural base colours (no noise)")
    args = ap.parse_args(argv)

    from assetgen.export.asset_files import write_asset
    from assetgen.export.glb import build_glb, export_glb
    from assetgen.export.materials import encode_material_images
    from assetgen.export.groundtruth import ground_truth, write_ground_truth
    from assetgen.face.locate import get_face_model
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.recipe import Recipe
    from assetgen.uv import rasterize_uv

    model = get_face_model(args.face_model)
    layout = rasterize_uv(model, args.resolution)
    asset = make_asset(model, layout, AssetRequest(name="bench_io", seed=1, recipe=Recipe()))
    rng = np.random.default_rng(0)
    for name in () if args.procedural_base_color else NOISY:
        tex = asset.textures.materials.get(name)
        if tex is not None:
            h, w = tex.shape
            tex.base_color = diffusion_like(h, w, rng)
    sizes = {n: t.shape for n, t in asset.textures.materials.items()}
    noisy = [] if args.procedural_base_color else [n for n in NOISY if n in sizes]
    print(f"asset: {len(sizes)} materials, {sum(h * w for h, w in sizes.values()) / 1e6:.2f} Mpx of maps; "
          f"noisy base colour on {', '.join(noisy) or 'none'}")

    with tempfile.TemporaryDirectory(prefix="bench-io-") as tmp:
        out = Path(tmp)
        t = time.perf_counter()
        written = write_asset(asset, out)  # the first write also builds the per-model topology cache
        first_ms = (time.perf_counter() - t) * 1000.0
        first = written.glb.read_bytes(), written.ground_truth.read_bytes()
        best, median = _best_ms(lambda: write_asset(asset, out), args.repeats)
        again = written.glb.read_bytes(), written.ground_truth.read_bytes()
        used = [n for m, n in enumerate(model.material_names) if (model.triangle_material == m).any()]
        parts = {
            "encode_pngs": _best_ms(lambda: encode_material_images(asset, used), args.repeats)[0],
            "build_glb": _best_ms(lambda: build_glb(asset), args.repeats)[0],
        }
        glb = export_glb(asset, out / "x.glb")
        parts["gt_record"] = _best_ms(lambda: ground_truth(asset, glb), args.repeats)[0]
        gt = ground_truth(asset, glb)
        parts["gt_write"] = _best_ms(lambda: write_ground_truth(out / "x.gt.json", gt), args.repeats)[0]
        result = {
            "resolution": args.resolution,
            "write_asset_best_ms": round(best, 1),
            "write_asset_median_ms": round(median, 1),
            "first_write_ms": round(first_ms, 1),
            "goal_ms": GOAL_MS,
            "best_over_goal": round(best / GOAL_MS, 3),
            "parts_best_ms": {k: round(v, 1) for k, v in parts.items()},
            "glb_bytes": len(first[0]),
            "gt_json_bytes": len(first[1]),
            "deterministic": first == again,
        }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
