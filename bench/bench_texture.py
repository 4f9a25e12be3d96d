"""Benchmark: one full procedural texture set at UV resolution 2048 (M_Face / M_BackHead 2048^2).

Run:  .venv/bin/python bench/bench_texture.py [--resolution 2048] [--repeats 5]

Three figures (target: 1.5 s each for the last two):
- first ever: a fresh, empty cache folder (ASSETGEN_CACHE): the per-layout fields (low-res position /
  region maps and landmark region weights of M_Face / M_BackHead, eye polar maps, iris remap tables, lash
  card coordinates, noise positions of the small materials) are computed and written to the layout's
  cache folder (texture-fields-v1);
- new process, disk cache present: a child process loads the layout and those fields from disk
  (memory-mapped) and times its first texture set (also the per-process chromophore LUT, detail tiles);
- warm: further assets with different parameters and seeds in the same process (a dataset run).
The UV rasterization itself (assetgen.uv.rasterize_uv, cached on disk too) is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_S = 1.5
REPO = Path(__file__).resolve().parents[1]


def _clear_caches() -> None:
    from assetgen.texture import chromophore, fields_store, noise
    from assetgen.texture.parts import eyes

    fields_store.clear_cache()
    chromophore.skin_lut.cache_clear()
    chromophore.srgb_encode_table.cache_clear()
    chromophore._reflectance_to_xyz.cache_clear()
    noise.pore_tile.cache_clear()
    noise.hair_tile.cache_clear()
    eyes._IRIS_TABLE = None


def _load_model(face_model: str | None):
    from assetgen.face import load_face_model

    folder = face_model or os.environ.get("ASSETGEN_FACE_MODEL") or REPO.parent / "shared" / "face-models" / "ict-facekit"
    return load_face_model(folder), str(folder)


PARAMS0 = dict(skin_tone=4, freckles=0.4, stubble=0.5, age=45, lipstick={"color": "#a0223a", "opacity": 0.8})


def _child(args) -> int:
    """Runs in a new process: time the first texture set with the layout + fields caches on disk."""
    from assetgen.texture.procedural import ProceduralSkinBackend
    from assetgen.uv import rasterize_uv

    model, _ = _load_model(args.face_model)
    layout = rasterize_uv(model, args.resolution, cache_dir=args.child)
    t = time.perf_counter()
    ProceduralSkinBackend().generate(model, layout, PARAMS0, np.random.default_rng(0))
    print(json.dumps({"first_with_disk_cache": time.perf_counter() - t}))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--processes", type=int, default=3, help="new processes timed with the disk cache present")
    ap.add_argument("--face-model", default=None, help="face-model folder (default: $ASSETGEN_FACE_MODEL or ../shared)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)

    from assetgen.texture.params import SkinParams
    from assetgen.texture.procedural import ProceduralSkinBackend
    from assetgen.uv import rasterize_uv

    model, folder = _load_model(args.face_model)
    backend = ProceduralSkinBackend()
    with tempfile.TemporaryDirectory(prefix="assetgen-bench-") as cache:
        layout = rasterize_uv(model, args.resolution, cache_dir=cache)  # into the empty cache: not timed
        texels = sum(int(np.prod(r.shape)) for r in layout.materials.values())
        _clear_caches()
        t = time.perf_counter()
        backend.generate(model, layout, PARAMS0, np.random.default_rng(0))
        first = time.perf_counter() - t
        fields_dir = layout.derived_cache_path("texture-fields-v1")
        stored = sum(f.stat().st_size for f in fields_dir.rglob("*") if f.is_file()) if fields_dir else 0

        fresh = []
        for _ in range(args.processes):
            out = subprocess.run([sys.executable, __file__, "--child", cache, "--resolution", str(args.resolution),
                                  "--face-model", folder], capture_output=True, text=True, cwd=REPO)
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                return 2
            fresh.append(json.loads(out.stdout.strip().splitlines()[-1])["first_with_disk_cache"])

        # the same, in this process: in-process caches cleared, layout and fields reloaded from disk
        _clear_caches()
        layout = rasterize_uv(model, args.resolution, cache_dir=cache)
        t = time.perf_counter()
        backend.generate(model, layout, PARAMS0, np.random.default_rng(0))
        reload = time.perf_counter() - t

        warm = []
        stages: dict[str, float] = {}
        for i in range(args.repeats):
            params = SkinParams.sample(np.random.default_rng(100 + i))
            marks: list[tuple[str, float]] = []
            t = time.perf_counter()
            backend.generate(model, layout, params, np.random.default_rng(i + 1),
                             progress=lambda d, n, what: marks.append((what, time.perf_counter())))
            warm.append(time.perf_counter() - t)
            for (name, a), (_, b) in zip(marks[:-1], marks[1:]):
                stages[name] = stages.get(name, 0.0) + (b - a) / args.repeats

    med = statistics.median(warm)
    med_fresh = statistics.median(fresh)
    print(f"procedural texture set, UV resolution {args.resolution} ({texels / 1e6:.1f} M texels over "
          f"{len(layout.materials)} materials), {os.cpu_count()} CPU(s)")
    print(f"  first ever (empty cache folder; fields computed + stored, {stored / 1e6:.0f} MB): {first:.3f} s")
    print(f"  new process, disk cache present: median {med_fresh:.3f} s of {len(fresh)} "
          f"({', '.join(f'{x:.3f}' for x in fresh)})   ratio to {TARGET_S} s target: {med_fresh / TARGET_S:.2f}")
    print(f"  same process, in-process caches cleared, reloaded from disk: {reload:.3f} s")
    print(f"  warm median of {args.repeats}: {med:.3f} s (min {min(warm):.3f}, max {max(warm):.3f})   "
          f"ratio to {TARGET_S} s target: {med / TARGET_S:.2f}")
    print("  warm per material (mean): " + ", ".join(f"{k} {v:.3f}" for k, v in stages.items()))
    return 0 if med <= TARGET_S and med_fresh <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
