"""Ray scale-out benchmark (issue 14): the same batch job, then the same data-set job, on a local Ray
instance with 1 and with 2 workers (CPUs), their throughput, the ratio, and cost models built on what was
measured here.

    .venv/bin/python bench/bench_ray.py [--jobs batch dataset] [--n 16] [--resolution 128] [--recipe demo]
                                        [--images 16] [--per-subject 4] [--image-resolution 128]
                                        [--gpu-s-per-subject S] [--workers 1 2] [--node-cpus 16]
                                        [--target 1000000]

The data-set job is the shipped demo job's settings (subjects of the demo recipe with brows and lashes,
DigiFace-like cameras, expressions, regions/depth/normal layers) at --images images of --per-subject
images per subject, one subject per task; images per second is the task phase's, as for assets. Its
procedural subjects use no GPU: images per GPU-hour are those of a diffusion-textured job, where each task
holds a GPU while it paints its subject (--gpu-s-per-subject, e.g. from bench/bench_diffusion_gpu.py)
and renders its images (the CPU rate measured here).

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
import math
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


def run_dataset_job(images: int, per_subject: int, resolution: int, workers: int, root: Path) -> dict:
    from assetgen.dataset import job_from_dict
    from assetgen.dataset.job import job_path
    from assetgen.dataset.validate import validate
    from assetgen.scale.dataset import run_dataset_ray
    from assetgen.yamlio import load_yaml

    path = job_path("demo")
    data = load_yaml(path, "data-set job")
    data.update(name="bench-faces", count=images, images_per_subject=per_subject, resolution=resolution)
    job = job_from_dict(data, base=path.parent, source="bench data-set job")
    out = root / f"set-{workers}"
    t0 = time.perf_counter()
    res = run_dataset_ray(job, out, num_cpus=workers, chunk=per_subject)
    wall = time.perf_counter() - t0
    s = res.summary
    assert res.made == list(range(images)) and res.complete, (res.made, res.complete)
    assert validate(out) == []
    busy = sum(x.busy_s for x in s.nodes.values())
    return {"workers": workers, "images": images, "wall_s": round(wall, 2), "tasks_s": round(s.wall_s, 2),
            "ray_start_and_stop_s": round(wall - s.wall_s, 2), "images_per_s": round(images / s.wall_s, 3),
            "busy_s": round(busy, 2), "busy_s_per_image": round(busy / images, 3),
            "cpu_s": round(sum(x.cpu_s for x in s.nodes.values()), 2), "retried": s.retried}


def cluster_lines(target: int, per_worker: float, node_cpus: int, cap: float = math.inf) -> list[str]:
    """Wall hours for `target` units on clusters of node_cpus-CPU nodes adding per_worker units/s per CPU
    (capped at `cap` units/s: one driver's merge rate), and the nodes that finish it in 24 h."""
    lines = []
    for nodes in (1, 10, 50, 100):
        rate = min(nodes * node_cpus * per_worker, cap)
        lines.append(f"  {nodes:>4} nodes x {node_cpus} CPUs: {target / rate / 3600:,.1f} h wall"
                     + (" (driver-merge bound)" if rate == cap else ""))
    lines.append(f"  nodes of {node_cpus} CPUs to finish in 24 h: "
                 f"{max(1, math.ceil(target / (24 * 3600 * per_worker * node_cpus)))}"
                 + (" (beyond the driver's merge rate: shard the job over several drivers/libraries)"
                    if target / (24 * 3600) > cap else ""))
    return lines


def dataset_cost_model(runs: list[dict], node_cpus: int, target: int, per_subject: int,
                       gpu_s_per_subject: float | None) -> list[str]:
    last = runs[-1]
    per_worker = last["images_per_s"] / last["workers"]  # images/s one CPU worker adds, at the most workers
    per_cpu_hour = per_worker * 3600
    lines = [f"images per CPU-hour (billed: workers x wall, {last['workers']} workers): {per_cpu_hour:,.0f}",
             f"images per CPU-second actually used in tasks: {last['images'] / last['cpu_s']:.2f} "
             f"({last['images'] / last['cpu_s'] * 3600:,.0f} per CPU-hour on CPUs nobody else loads)",
             f"{target:,} images = {target / per_cpu_hour:,.0f} CPU-hours (procedural subjects, no GPU)"]
    lines += cluster_lines(target, per_worker, node_cpus)
    if gpu_s_per_subject is None:
        lines.append("images per GPU-hour: not measured here (no CUDA device; the subjects above are procedural). "
                     "Pass --gpu-s-per-subject S (a diffusion subject's GPU seconds) to model a diffusion job.")
    else:
        # A diffusion task holds its GPU while it paints the subject and while it renders its images.
        gpu_s_per_image = gpu_s_per_subject / per_subject + 1 / per_worker
        per_gpu_hour = 3600 / gpu_s_per_image
        lines.append(f"images per GPU-hour (diffusion subjects, {gpu_s_per_subject:g} GPU s per subject, "
                     f"{per_subject} images each): {per_gpu_hour:,.0f}")
        for gpus in (8, 64, 256):
            lines.append(f"  {gpus:>4} GPUs: {target / (gpus * per_gpu_hour):,.1f} h wall for {target:,} images")
        lines.append(f"  GPUs to finish in 24 h: {max(1, math.ceil(target / (24 * per_gpu_hour)))}")
    return lines


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
    return lines + cluster_lines(target, per_worker, node_cpus, cap=merge_rate)


def report(title: str, runs: list[dict], unit: str, model_title: str, model: list[str]) -> None:
    """Print a job's runs, each run's speed-up over the first, and its cost model."""
    print(f"== {title}")
    for r in runs:
        print(json.dumps(r))
    base, key = runs[0], f"{unit}_per_s"
    for r in runs[1:]:
        print(f"{r['workers']} workers / {base['workers']}: {r[key] / base[key]:.2f}x "
              f"({base[key]:.3f} -> {r[key]:.3f} {unit}/s; machine: {os.cpu_count()} cores)")
    print(f"cost model ({model_title}, measured here):")
    for line in model:
        print("  " + line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", nargs="+", choices=("batch", "dataset"), default=["batch", "dataset"])
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--recipe", default="demo")
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--per-subject", type=int, default=4)
    ap.add_argument("--image-resolution", type=int, default=128)
    ap.add_argument("--gpu-s-per-subject", type=float, default=None)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--node-cpus", type=int, default=16)
    ap.add_argument("--target", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    shared = REPO.parent / "shared" / "face-models" / "ict-facekit"
    if shared.is_dir():
        os.environ.setdefault("ASSETGEN_FACE_MODEL", str(shared))
    if "batch" in args.jobs:
        with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
            runs = [run(args.n, args.resolution, args.recipe, w, Path(tmp)) for w in args.workers]
        report(f"batch job: {args.n} assets of the {args.recipe} recipe at {args.resolution} px", runs, "assets",
               f"{args.recipe} recipe at {args.resolution} px", cost_model(runs, args.node_cpus, args.target))
    if "dataset" in args.jobs:
        with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
            runs = [run_dataset_job(args.images, args.per_subject, args.image_resolution, w, Path(tmp))
                    for w in args.workers]
        report(f"data-set job: {args.images} images ({args.per_subject} per subject) of the shipped demo job's "
               f"settings at {args.image_resolution} px", runs, "images", f"data set at {args.image_resolution} px",
               dataset_cost_model(runs, args.node_cpus, args.target, args.per_subject, args.gpu_s_per_subject))
    return 0


if __name__ == "__main__":
    sys.exit(main())
