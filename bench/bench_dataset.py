"""Benchmark: `assetgen dataset` images per second with every GT layer written.

Run:  .venv/bin/python bench/bench_dataset.py [--size 512] [--images 20] [--hair | --no-hair] [--items | --no-items]
      [--workers 2]

One subject of the demo recipe (with its hair unless --no-hair, and wearing glasses, a cap and a garment unless
--no-items; texture 256), --images images of --size² with random expressions (each image a new pose, as in a
data set: the mesh is posed, the subject's renderer re-posed (Renderer.update) and the landmark ray caster
rebuilt) and every layer (rgb, FaceSynthetics seg and landmarks, regions, depth, normal, gaze and 2D-contour
records). Prints the time per image of each stage (median over the images), what the optional seg_bare layer,
camera.auto_exposure and `shadows: false` add to the render stage, and the end-to-end rate of
`run_dataset` over --images images of two such subjects, in one process and in --workers processes (each
subject's making excluded: the rate counts each subject's images after its first, over the time from its first
image to its last; one process renders the subjects in turn, workers at once), against the issue's target of >= 10 images/s at 512² on this 2-core CPU. Then the same job with `renderer: cycles` (--cycles-samples, 64) for --cycles-images images (0: skip;
needs .venv-bpy): the Cycles path's seconds per image end to end (Blender start-up, the GLB's import and every
GT layer from assetgen's renderer included, one Blender process per subject batch) and its ratio to the
fast path's. Other jobs on the machine slow everything: compare runs at low load (the load average is printed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

TARGET_IMAGES_PER_S = 10.0
ITEMS = {"glasses": {"clear": 1.0}, "headwear": {"baseball_cap": 1.0}, "clothing": {"crew_neck": 1.0}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--hair", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--items", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--cycles-images", type=int, default=4)
    ap.add_argument("--cycles-samples", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from assetgen.attach.hair.ribbon_cache import RibbonCache
    from assetgen.dataset import job_from_dict, run_dataset
    from assetgen.dataset.gt import image_gt, pose, sight_points
    from assetgen.dataset.landmarks import landmarks_70, pupil_vertex_sets, pupils_world
    from assetgen.dataset.sampling import Sampler
    from assetgen.dataset.subjects import Subjects
    from assetgen.dataset.writer import write_image
    from assetgen.face.locate import get_face_model
    from assetgen.render.mesh import mesh_from_asset
    from assetgen.render.renderer import Renderer

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    data = {"name": "bench", "count": args.images, "seed": 0, "resolution": args.size,
            "images_per_subject": args.images,
            "subjects": {"recipe": "demo", "texture_resolution": 256, "hair": args.hair,
                         **({"distribution": ITEMS} if args.items else {})},
            "expression": {"neutral": 0.0, "preset": 0.5, "random": 0.5}}
    job = job_from_dict(data, source="bench")
    model = get_face_model()
    subjects = Subjects(job, model)
    t = time.perf_counter()
    subject = subjects.get(0)
    t_subject = time.perf_counter() - t
    sampler = Sampler(job, model)
    sets = pupil_vertex_sets(model)
    layers = ("rgb", "segmentation", "landmarks", "depth", "normal")
    names = ("pose + mesh", "renderer update", "render", "pupils + gt", "write")
    stages: dict[str, list[float]] = {k: [] for k in names}
    r = None
    ribbons = RibbonCache()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for i in range(args.images):
            p = sampler.params(i)
            camera = p.camera(subject.target, args.size)
            t0 = time.perf_counter()
            posed, eyes = pose(subject, model, p, camera, job.spec.gaze)
            mesh = mesh_from_asset(posed, ribbon_cache=ribbons)
            t1 = time.perf_counter()
            if r is None:
                r = Renderer(mesh)
            else:
                r.update(mesh)
            pupils = pupils_world(posed.vertices, model.units, sets)
            points, contour = sight_points(job, model, posed, camera, pupils)
            r.landmark_raycaster.expect_sight_lines(camera, points)
            t2 = time.perf_counter()
            res = r.render(camera, layers, supersample=job.spec.camera.supersample)
            t3 = time.perf_counter()
            lm = landmarks_70(r, res, pupils)
            gt = image_gt(job, model, posed, eyes, camera, r, lm, contour)
            t4 = time.perf_counter()
            write_image(out, i, res, lm, p, subject.info, job.spec.layers, {"type": "default"}, gt)
            t5 = time.perf_counter()
            for k, a, b in zip(stages, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
                stages[k].append(b - a)
    # What the optional extras add to the render stage (the last image's camera, median of 5 each):
    # layer seg_bare (a GT pass of the bare head), camera.auto_exposure (face metering) and shadows: false.
    from assetgen.dataset.sampling import face_metering

    def timed(extra=(), metering=None) -> float:
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            r.render(camera, layers + extra, supersample=job.spec.camera.supersample, metering=metering)
            runs.append(time.perf_counter() - t0)
        return statistics.median(runs)

    plain = timed()
    bare = timed(extra=("bare_segmentation",))
    auto = job_from_dict({**data, "camera": {"auto_exposure": {}}}, source="bench").spec
    metered = timed(metering=face_metering(auto, r.mesh.regions, 0.0))
    r.shadows = False  # the job's `shadows: false`
    flat = timed()
    r.shadows = True
    extras = (f"seg_bare {(bare - plain) * 1e3:+.1f} ms, auto_exposure {(metered - plain) * 1e3:+.1f} ms, "
              f"shadows off {(flat - plain) * 1e3:+.1f} ms")
    r.release()
    subjects.close()
    per_image = sum(statistics.median(v) for v in stages.values())
    labels = subject.info["labels"]
    worn = ", ".join(f"{k}={labels.get(k)}" for k in ("hair_style", "beard_style", "glasses", "headwear", "clothing"))
    print(f"subject (demo recipe{' with hair' if args.hair else ', bald'}"
          f"{', glasses, cap and garment' if args.items else ''}, texture 256): {t_subject:.2f} s; "
          f"wears {worn}")
    for k, v in stages.items():
        print(f"  {k:15s} {statistics.median(v) * 1e3:8.1f} ms / image (median)")
    print(f"  {'sum':15s} {per_image * 1e3:8.1f} ms / image -> {1 / per_image:.2f} images/s")
    print(f"  optional extras per image (render stage, median of 5): {extras}")
    two = job_from_dict({**data, "images_per_subject": max(1, -(-args.images // 2))}, source="bench")
    rate = 0.0
    for workers in sorted({1, max(1, args.workers)}):
        stamps: dict[str, list[float]] = {}  # subject -> the times its images were written

        def progress(done, total, note):
            if note:
                stamps.setdefault(note, []).append(time.perf_counter())

        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            result = run_dataset(two, Path(tmp) / "set", workers=workers, progress=progress)
            total = time.perf_counter() - t
        # Each subject is made before its first image: its images after the first, over the time from its
        # first to its last, leave the making out. One process renders the subjects in turn (the spans add
        # up); workers render them at once (the rates add up).
        spans = [(len(v) - 1, v[-1] - v[0]) for v in stamps.values() if len(v) > 1]
        if workers == 1:
            rate = sum(n for n, _ in spans) / max(sum(dt for _, dt in spans), 1e-9)
        else:
            rate = sum(n / max(dt, 1e-9) for n, dt in spans)
        print(f"end to end, {workers} process{'es' if workers > 1 else ''}: {len(result.made)} images of {args.size}² "
              f"(2 subjects) in {total:.1f} s, {rate:.2f} images/s without the subjects' making (target >= "
              f"{TARGET_IMAGES_PER_S:g}: {'met' if rate >= TARGET_IMAGES_PER_S else 'not met'})")
    if args.cycles_images > 0:
        cyc = job_from_dict({**data, "count": args.cycles_images, "images_per_subject": args.cycles_images,
                             "renderer": "cycles", "cycles": {"samples": args.cycles_samples}}, source="bench")
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            made = run_dataset(cyc, Path(tmp) / "set").made
            cyc_total = time.perf_counter() - t
        per = (cyc_total - t_subject) / max(len(made), 1)
        print(f"cycles ({args.cycles_samples} samples, CPU): {len(made)} images of {args.size}² in {cyc_total:.1f} s, "
              f"{per:.2f} s / image without the subject's making -> {per * rate:.0f}x the fast path's time per image")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
