"""Library benchmarks (issue 5):
  1. insert the metadata of 10,000 assets, one transaction each (target <= 10 s);
  2. sample 1,000 of 100,000 assets by a distribution (target <= 100 ms);
  3. peak RSS over a batch of the procedural backend (default 1,000 assets at 512²): at 100 and at the end.

    .venv/bin/python bench/bench_library.py [--skip-batch] [--batch-n 1000] [--resolution 512]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def fake_labels(rng) -> dict:
    return {"lipstick": bool(rng.random() < 0.3), "freckles": round(float(rng.random() < 0.25) * rng.random(), 3),
            "skin_tone": f"monk_{int(rng.integers(1, 11)):02d}", "age": round(float(rng.uniform(18, 80)), 1),
            "eye_color": str(rng.choice(["blue", "brown", "green"])), "expression": "neutral"}


def bench_insert(root: Path, n: int = 10_000) -> float:
    from assetgen.library import Library

    rng = np.random.default_rng(0)
    with Library.open(root) as lib, lib.writing():  # (the blobs stay until the records name them)
        shas = {k: lib.put_blob(f"{k}".encode()) for k in ("identity", "expression", "tex/M_Face/base_color")}
        t0 = time.perf_counter()
        for i in range(n):
            lib.put_record(f"a_{i}", fake_labels(rng), shas, job_id="bench", job_index=i)
        return time.perf_counter() - t0


def bench_sample(root: Path, n_lib: int = 100_000, n: int = 1000) -> dict:
    from assetgen.library import Library
    from assetgen.library.sample import distribution_from_dict, sample_assets

    rng = np.random.default_rng(1)
    with Library.open(root) as lib:
        with lib.writing():
            sha = lib.put_blob(b"x")
            have = lib.count()
            for start in range(have, n_lib, 5000):
                lib.put_records([dict(name=f"s_{i}", labels=fake_labels(rng), blobs={"identity": sha})
                                 for i in range(start, min(n_lib, start + 5000))])
        spec = distribution_from_dict({"lipstick": 0.2, "freckles": 0.1, "skin_tone": "uniform"})
        times = []
        for seed in range(5):
            t0 = time.perf_counter()
            res = sample_assets(lib, spec, n, seed=seed)
            times.append(time.perf_counter() - t0)
        return {"library": lib.count(), "best_s": min(times), "median_s": float(np.median(times)),
                "achieved": res.achieved}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_batch(root: Path, n: int, resolution: int) -> dict:
    from assetgen.batch import job_from_dict, run_batch

    job = job_from_dict({"name": "bench", "n": n, "seed": 0, "resolution": resolution,
                         "distribution": {"lipstick": 0.2, "freckles": 0.1, "skin_tone": "uniform"}})
    out = {}
    t0 = time.perf_counter()
    first = min(100, n)
    run_batch(job, library=root, limit=first)
    out[f"peak_rss_mb_at_{first}"] = round(peak_rss_mb(), 1)
    out[f"s_per_asset_first_{first}"] = round((time.perf_counter() - t0) / first, 3)
    t1 = time.perf_counter()
    run_batch(job, library=root)
    out[f"peak_rss_mb_at_{n}"] = round(peak_rss_mb(), 1)
    if n > first:
        out["s_per_asset_rest"] = round((time.perf_counter() - t1) / (n - first), 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--batch-n", type=int, default=1000)
    ap.add_argument("--resolution", type=int, default=512)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    base = Path(args.dir or tempfile.mkdtemp(prefix="bench-library-"))
    result = {"insert_10k_s": round(bench_insert(base / "insert"), 2)}
    print(json.dumps(result), flush=True)
    s = bench_sample(base / "sample")
    result["sample_1000_of_100k_ms"] = round(s["best_s"] * 1000, 1)
    result["sample_median_ms"] = round(s["median_s"] * 1000, 1)
    result["sample_achieved"] = s["achieved"]
    print(json.dumps(result), flush=True)
    if not args.skip_batch:
        result["batch"] = {"n": args.batch_n, "resolution": args.resolution,
                           **bench_batch(base / "batch", args.batch_n, args.resolution)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
