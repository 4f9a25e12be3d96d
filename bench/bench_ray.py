"""Ray scale-out benchmark (issue 14): the same batch job on a local Ray instance with 1 and with 2
workers (CPUs), its throughput, the ratio, and a cost model built on what was measured here.

    .venv/bin/python bench/bench_ray.py [--n 16] [--resolution 128] [--recipe demo] [--workers 1 2]
                                        [--node-cpus 16] [--target 1000000]

Each run starts its own Ray instance (127.0.0.1 only: usage statistics off, a private HOME for Ray's
processes) and fills a fresh library. Throughput is assets per second of the task phase (from the
first submission to the last merge; Ray's start is reported apart); a worker's first asset includes
its warm-up (imports, the face model, the UV layout, the hair geometry). CPU-hours are what a cluster
bills: workers x wall time. Diffusion textures need a CUDA device and their weights, which this bench
does not have: the GPU side of the cost model is left to bench/bench_diffusion_gpu.py's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(n: int, resolution: int, recipe: str, workers: int, root: Path) -> dict:
    from assetgen.batch import job_from_dict
    from assetgen.scale.batch import run_batch_ray

    job = job_from_dict({"name": "bench", "n": n, "recipe": recipe, "seed": 0, "resolution": resolution,
                         "distribution": {"lipstick": 0.2, "skin_tone": "uniform"}})
    t0 = time.perf_counter()
    res = run_batch_ray(job, library=root / f"lib-{workers}", num_cpus=workers, chunk=1)
    wall = time.perf_counter() - t0
    s = res.summary
    assert len(res.made) == n, (len(res.made), n)
    return {"workers": workers, "assets": n, "wall_s": round(wall, 2), "tasks_s": round(s.wall_s, 2),
            "ray_start_and_stop_s": round(wall - s.wall_s, 2), "assets_per_s": round(n / s.wall_s, 3),
            "busy_s": round(sum(x.busy_s for x in s.nodes.values()), 2),
            "cpu_s": round(sum(x.cpu_s for x in s.nodes.values()), 2),
            "driver_merge_s": round(res.merge_s, 3), "retried": s.retried}


def cost_model(runs: list[dict], node_cpus: int, target: int) -> list[str]:
    best = max(runs, key=lambda r: r["assets_per_s"] / r["workers"])
    last = runs[-1]
    per_worker = last["assets_per_s"] / last["workers"]  # what one more worker adds, as measured at the most workers
    per_cpu_hour = per_worker * 3600
    merge_rate = last["assets"] / last["driver_merge_s"] if last["driver_merge_s"] > 0 else float("inf")
    lines = [f"assets per CPU-hour (billed: workers x wall, {last['workers']} workers): {per_cpu_hour:,.0f}",
             f"assets per CPU-hour at the best per-worker rate ({best['workers']} worker(s)): "
             f"{best['assets_per_s'] / best['workers'] * 3600:,.0f}",
             f"assets per CPU-second actually used in tasks: {last['assets'] / last['cpu_s']:.2f}",
             f"driver merge: {merge_rate:,.1f} assets/s (the ceiling of one driver, whatever the cluster)",
             f"{target:,} assets = {target / per_cpu_hour:,.0f} CPU-hours"]
    for nodes in (1, 10, 50, 100):
        cluster_rate = min(nodes * node_cpus * per_worker, merge_rate)
        hours = target / cluster_rate / 3600
        lines.append(f"  {nodes:>4} nodes x {node_cpus} CPUs: {hours:,.1f} h wall"
                     + (" (driver-merge bound)" if cluster_rate == merge_rate else ""))
    nodes_24h = target / (24 * 3600 * per_worker * node_cpus)
    lines.append(f"  nodes of {node_cpus} CPUs to finish in 24 h: {max(1, round(nodes_24h + 0.499))}"
                 + (" (beyond the driver's merge rate: shard the job over several drivers/libraries)"
                    if target / (24 * 3600) > merge_rate else ""))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--recipe", default="demo")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--node-cpus", type=int, default=16)
    ap.add_argument("--target", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    shared = REPO.parent / "shared" / "face-models" / "ict-facekit"
    if shared.is_dir():
        os.environ.setdefault("ASSETGEN_FACE_MODEL", str(shared))
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        runs = [run(args.n, args.resolution, args.recipe, w, Path(tmp)) for w in args.workers]
    for r in runs:
        print(json.dumps(r))
    base = runs[0]
    for r in runs[1:]:
        print(f"{r['workers']} workers / {base['workers']}: {r['assets_per_s'] / base['assets_per_s']:.2f}x "
              f"({base['assets_per_s']:.3f} -> {r['assets_per_s']:.3f} assets/s; machine: {os.cpu_count()} cores)")
    print(f"cost model ({args.recipe} recipe at {args.resolution} px, measured here):")
    for line in cost_model(runs, args.node_cpus, args.target):
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
