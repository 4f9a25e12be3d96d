"""Hair batch benchmark: a batch job of subjects with hair (the shipped demo recipe, every style family,
hair_style uniform) stored in a fresh library at a small texture resolution. Prints seconds per subject
(total, and the groom's own share), the library's bytes per subject and the peak resident memory.

    .venv/bin/python bench/bench_hair_batch.py [--n 200] [--resolution 128] [--library DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="subjects")
    ap.add_argument("--resolution", type=int, default=128, help="skin texture size")
    ap.add_argument("--library", type=Path, default=None, help="library folder (default: a temporary one)")
    args = ap.parse_args()

    import assetgen.generate as gen
    from assetgen.batch import job_from_dict, run_batch
    from assetgen.resources import find

    groom_s = []
    grow = gen.grow_asset_groom

    def timed_grow(*a, **k):
        t = time.perf_counter()
        try:
            return grow(*a, **k)
        finally:
            groom_s.append(time.perf_counter() - t)

    gen.grow_asset_groom = timed_grow
    tmp = None if args.library else Path(tempfile.mkdtemp(prefix="bench_hair_"))
    root = args.library or tmp / "lib"
    try:
        job = job_from_dict({"name": "bench-hair", "n": args.n, "recipe": str(find("recipe", "demo")), "seed": 0,
                             "resolution": args.resolution, "distribution": {"hair_style": "uniform"}})
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        res = run_batch(job, library=root)
        seconds = time.perf_counter() - t0
        made = max(len(res.made), 1)
        size = sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())
        out = {
            "subjects": len(res.made), "resolution": args.resolution,
            "seconds_per_subject": round(seconds / made, 3),
            "groom_seconds_per_subject": round(sum(groom_s) / max(len(groom_s), 1), 3),
            "library_mb_per_subject": round(size / made / 1e6, 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "rss_before_batch_mb": round(rss0 / 1024, 1),
        }
        print(json.dumps(out, indent=1))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
