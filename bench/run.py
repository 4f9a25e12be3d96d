"""Speed benchmarks of the spine, against the targets of the issue. Run: .venv/bin/python bench/run.py

Prints one line per figure: measured seconds, target, and measured/target (<= 1.00 meets it).
Options: --skip-demo (the demo benchmark takes about a minute), --resolution R (UV/texture size).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def report(what: str, seconds: float, target: float) -> None:
    print(f"{what:<52} {seconds:8.3f} s   target {target:6.2f} s   ratio {seconds / target:5.2f}", flush=True)


def bench_uv(model, resolution: int) -> None:
    from assetgen.uv import rasterize_uv

    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        layout = rasterize_uv(model, resolution, cache_dir=cache)  # includes creating the GL context
        report(f"UV rasterization {resolution}², first time (+GL context)", time.perf_counter() - t, 1.0)
        best = min(_timed(lambda: rasterize_uv(model, resolution, cache_dir=cache)) for _ in range(5))
        report(f"UV rasterization {resolution}², from cache", best, 0.05)
        texels = sum(r.triangle.size for r in layout.materials.values())
        print(f"  ({len(layout.materials)} materials, {texels / 1e6:.1f} M texels)")


def bench_texture(resolution: int) -> int:
    """The texture figures (first ever, new process with the disk cache, warm): bench_texture.py."""
    sys.path.insert(0, str(REPO / "bench"))
    import bench_texture

    return bench_texture.main(["--resolution", str(resolution)])


def bench_demo() -> None:
    exe = REPO / ".venv" / "bin" / "assetgen"
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        subprocess.run([str(exe), "demo", "--out", out], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=os.environ.copy())
        report("assetgen demo (8 assets, 1024², with imports)", time.perf_counter() - t, 60.0)


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--resolution", type=int, default=2048)
    ap.add_argument("--skip-demo", action="store_true")
    args = ap.parse_args(argv)
    from assetgen.face.locate import get_face_model

    print(f"cpu cores: {os.cpu_count()}")
    model = get_face_model()
    _ = model.triangle_region  # topology work is part of loading, not of the stages timed here
    bench_uv(model, args.resolution)
    status = bench_texture(args.resolution)
    if not args.skip_demo:
        bench_demo()
    return status


if __name__ == "__main__":
    sys.exit(main())
