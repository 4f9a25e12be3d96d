"""`assetgen dataset JOB.yaml --out DIR`: render a job's images with their ground truth into DIR.

Image i depends on (job seed, i) only, so shards and reruns write the same bytes. `--shard k/n` takes the
subjects s with s % n == k (all images of a subject stay in one shard, made once). A rerun writes exactly
the images that are not complete: an image is complete when its record (STEM.json, written last) and its
other files exist; files of an image cut short (kill -9) are rewritten, and the temporary files of cut
writes (.NAME.*.tmp) are removed. DIR/dataset.json records the job and the code that began the set
(made_by: codeid.code_record); a folder holding another job's images is refused, and so is one begun by
other code (its images differ from this code's for the same seed) unless allow_other_code. When every image
of the job is complete, coco_keypoints.json is (re)written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..batch import parse_shard  # noqa: F401  (one K/N rule for batch and data sets; re-exported)
from ..codeid import code_record
from ..errors import InputError, OutputError
from ..io import atomic_write_json, ensure_dir, read_json_object
from ..jsonsafe import json_safe
from .job import FORMAT, DatasetJob, check_against_model

MANIFEST = "dataset.json"
_CYCLES_BATCH = 16  # images of one subject per Blender process (renderer: cycles)


@dataclass
class DatasetResult:
    job_id: str
    made: list[int] = field(default_factory=list)
    skipped: int = 0  # images of this shard already complete
    total: int = 0  # images of this shard
    complete: bool = False  # every image of the job is complete (coco_keypoints.json written)
    seconds: float = 0.0




def _manifest(job: DatasetJob, library_ids, model) -> dict:
    from .gt import dense_manifest
    from .writer import FACESYNTHETICS_CLASSES

    subjects = {"source": "recipe" if job.spec.subjects.recipe is not None else "library"}
    if library_ids is not None:
        subjects["library_ids"] = list(library_ids)
    extra = {"dense_landmarks": dense_manifest(job, model)} if "dense" in job.spec.layers else {}
    return {"format": FORMAT, "job_id": job.id, "name": job.name, "made_by": code_record(), "count": job.spec.count,
            "images_per_subject": job.spec.per_subject, "job": job.spec.as_json(),
            "subjects": subjects, "facesynthetics_classes": list(FACESYNTHETICS_CLASSES), **extra}


def read_manifest(out: Path) -> dict | None:
    path = out / MANIFEST
    if not path.exists():
        return None
    try:
        data = read_json_object(path, f"data-set manifest {path}", "use another --out or delete the folder")
    except InputError as exc:
        raise OutputError(str(exc)) from exc
    if data.get("format") != FORMAT or not isinstance(data.get("job_id"), str):
        raise OutputError(f"{path} is not an assetgen data-set manifest ({FORMAT}); use another --out")
    return data


def check_existing(existing: dict | None, job: DatasetJob, where: str, allow_other_code: bool = False) -> None:
    """Refuse a target whose manifest (`existing`, None: a new set) is another job's, or this job's made by
    other code than this (its images would differ from the ones this code makes for the same seed) unless
    allow_other_code."""
    if existing is None:
        return
    if existing["job_id"] != job.id:
        raise OutputError(f"{where} holds data set {existing['job_id']} ({existing.get('name')}), made by another job "
                          f"than {job.source} ({job.id}); use another --out")
    made, mine = existing.get("made_by"), code_record()
    if allow_other_code or (isinstance(made, dict) and made.get("code") == mine["code"]):
        return
    by = (f"assetgen {made.get('version')} (code {made.get('code')})" if isinstance(made, dict)
          else "an assetgen that did not record its code")
    raise OutputError(f"{where} holds images of data set {job.id} made by {by}; this is assetgen {mine['version']} "
                      f"(code {mine['code']}), whose images differ: finish the set with the assetgen that began it, "
                      "use another --out, or pass --allow-other-code to mix them (each image's record names its code)")


def check_target(job: DatasetJob, out: str | Path, allow_other_code: bool = False) -> None:
    """check_existing for the set at folder or URL `out` (the CLI's check before its progress bar shows)."""
    from .storage import Target, is_url

    if is_url(out):
        check_existing(Target(str(out)).manifest(), job, str(out), allow_other_code)
    elif Path(out).is_dir():
        check_existing(read_manifest(Path(out)), job, str(out), allow_other_code)


def _remove_stray_temps(out: Path, indices: set[int]) -> int:
    """Delete the temporary files cut writes of these images left behind (.STEM*.tmp); returns how many."""
    n = 0
    for p in out.glob(".[0-9][0-9][0-9][0-9][0-9][0-9]*.tmp"):
        try:
            index = int(p.name[1:7])
        except ValueError:
            continue
        if index in indices:
            p.unlink(missing_ok=True)
            n += 1
    return n


def run_dataset(job: DatasetJob, out: str | Path, shard: tuple[int, int] = (0, 1), face_model: Path | None = None,
                limit: int | None = None, progress=None, workers: int = 1,
                allow_other_code: bool = False) -> DatasetResult:
    """Make the missing images of this shard in `out`. progress(done, total, note): called as images are
    written (done counts this shard's complete images). workers > 1: that many processes render the
    subjects (dealt out in turn; the same bytes as one process; the fast renderer only). A set begun by
    other code (the manifest's made_by) is refused unless allow_other_code (check_existing)."""
    import sys

    from ..face.locate import get_face_model
    from .scene import Scenes
    from .storage import is_url, run_to_url
    from .subjects import Subjects
    from .writer import is_complete

    if is_url(out):  # an fsspec URL: staged locally, uploaded image by image; this module lends its loop
        return run_to_url(sys.modules[__name__], job, out, shard, face_model, limit, progress, workers,
                          allow_other_code)
    t0 = time.perf_counter()
    out = Path(out)
    spec = job.spec
    result = DatasetResult(job_id=job.id)
    existing = read_manifest(out) if out.is_dir() else None
    check_existing(existing, job, str(out), allow_other_code)
    if spec.renderer == "cycles":
        from .cycles import bpy_python

        bpy_python()  # ConfigError before anything is written when bpy's environment is missing
    model = get_face_model(face_model)
    check_against_model(job, model)
    scenes = Scenes(job)  # lighting and backgrounds (their folders checked before anything is written)
    per, n_shard = spec.per_subject, shard[1]
    mine = [i for i in range(spec.count) if (i // per) % n_shard == shard[0]]
    result.total = len(mine)
    stored = (existing or {}).get("subjects", {}).get("library_ids")
    subjects = Subjects(job, model, library_ids=stored if spec.subjects.library is not None else None)
    try:
        ensure_dir(out)
        _remove_stray_temps(out, set(mine))
        todo = [i for i in mine if not is_complete(out, i, spec.layers)]
        result.skipped = len(mine) - len(todo)
        if limit is not None:
            todo = todo[:limit]
        if existing is None:
            atomic_write_json(out / MANIFEST, json_safe(_manifest(job, subjects.library_ids, model)))
        if progress:
            progress(result.skipped, result.total, "")
        if todo:
            _render(job, model, subjects, out, todo, result, progress, scenes, workers=workers, face_model=face_model)
    finally:
        subjects.close()
    result.complete = all(is_complete(out, i, spec.layers) for i in range(spec.count))
    if result.complete:
        from .coco import write_coco

        write_coco(out, range(spec.count), f"assetgen data set {job.name} ({job.id})")
    result.seconds = time.perf_counter() - t0
    return result


def _worker(job: DatasetJob, face_model, library_ids, out: str, todo: list[int], queue) -> None:
    """A worker process of _render_parallel: renders `todo` into `out`, putting ("made", i, note) per
    image written, then ("done", None, ""), or ("error", exception, "")."""
    import pickle

    try:
        from ..face.locate import get_face_model
        from .subjects import Subjects

        model = get_face_model(face_model)
        subjects = Subjects(job, model, library_ids=library_ids)
        result = DatasetResult(job_id=job.id)
        try:
            _render(job, model, subjects, Path(out), todo, result,
                    lambda done, total, note: queue.put(("made", result.made[-1], note)))
        finally:
            subjects.close()
        queue.put(("done", None, ""))
    except BaseException as exc:  # handed to the parent, which raises it
        try:
            pickle.dumps(exc)
        except Exception:
            exc = OutputError(f"a data-set worker process failed: {type(exc).__name__}: {exc}")
        queue.put(("error", exc, ""))


def _render_parallel(job: DatasetJob, model, subjects, out: Path, groups: list[list[int]], result: DatasetResult,
                     progress, scenes, face_model) -> None:
    """groups[0] rendered here, each other group by a worker process (spawned: no GL context or thread
    state is inherited); their images are reported here as they are written, result.made sorted at the end."""
    import multiprocessing as mp
    import queue as queues

    ctx = mp.get_context("spawn")
    messages = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(job, face_model, subjects.library_ids, str(out), g, messages),
                         daemon=True) for g in groups[1:]]
    finished = [0]

    def take(block: bool) -> None:
        while finished[0] < len(procs):
            try:
                kind, value, note = messages.get(timeout=1.0) if block else messages.get_nowait()
            except queues.Empty:
                if not block:
                    return
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    raise OutputError(f"a data-set worker process died (exit code {dead[0].exitcode}); rerun the "
                                      "same command to make the missing images")
                continue
            if kind == "error":
                raise value
            if kind == "done":
                finished[0] += 1
                continue
            result.made.append(value)
            if progress:
                progress(result.skipped + len(result.made), result.total, note)

    def mine(done: int, total: int, note: str) -> None:
        if progress:
            progress(done, total, note)
        take(block=False)

    try:
        for p in procs:
            p.start()
        _render(job, model, subjects, out, groups[0], result, mine, scenes)
        take(block=True)
        for p in procs:
            p.join()
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
        messages.close()
    result.made.sort()


def _render(job: DatasetJob, model, subjects, out: Path, todo: list[int], result: DatasetResult, progress,
            scenes=None, workers: int = 1, face_model=None) -> None:
    from ..attach.hair.ribbon_cache import RibbonCache
    from ..render.mesh import mesh_from_asset
    from ..render.renderer import Renderer
    from .gt import image_gt, pose, sight_points
    from .landmarks import landmarks_70, pupil_vertex_sets, pupils_world
    from .sampling import Sampler, face_metering
    from .scene import Scenes
    from .writer import write_image

    spec = job.spec
    if workers > 1 and spec.renderer != "cycles":
        owner = sorted({i // spec.per_subject for i in todo})
        n = min(int(workers), len(owner))
        if n > 1:
            where = {s: k % n for k, s in enumerate(owner)}  # the subjects dealt out in turn
            groups = [[i for i in todo if where[i // spec.per_subject] == k] for k in range(n)]
            return _render_parallel(job, model, subjects, out, [g for g in groups if g], result, progress, scenes,
                                    face_model)
    sampler = Sampler(job, model)
    scenes = scenes if scenes is not None else Scenes(job)
    pupil_sets = pupil_vertex_sets(model)
    layers = ("rgb", "segmentation", "landmarks") + tuple(
        l for l in ("depth", "normal", "hair_coverage", "albedo") if l in spec.layers) + (
        ("bare_segmentation",) if "seg_bare" in spec.layers else ())
    # The subject posed last: its renderer (re-posed per image) and its hair ribbons' cache.
    drawn = {"subject": None, "key": None, "renderer": None, "ribbons": None}
    pending: list = []  # renderer cycles: images of one subject waiting for their Cycles rgb

    def flush() -> None:
        from .cycles import CyclesView, render_views

        views = [CyclesView(p["posed"], p["res"].camera, None if p["scene"].environment is None
                            else p["scene"].environment.levels[0], p["scene"].background,
                            p["res"].extra.get("exposure_ev", 0.0)) for p in pending]
        for p, image in zip(pending, render_views(views, spec.cycles.samples)):
            write_image(out, p["i"], replace(p["res"], rgb=image.rgb), p["lm70"], p["params"], p["info"],
                        spec.layers, p["scene"].record, p["gt"])
            result.made.append(p["i"])
            if progress:
                progress(result.skipped + len(result.made), result.total, f"subject {p['subject']}")
        pending.clear()

    try:
        for i in todo:
            params = sampler.params(i)
            subject = subjects.get(params.subject)
            camera = params.camera(subject.target, spec.resolution)
            posed, eyes = pose(subject, model, params, camera, spec.gaze)
            off = params.sweep.get("items_off", "none")
            info = subject.info
            if off != "none" and posed.items is not None:  # a sweep's cell takes an item off
                outfit = posed.items.without(off)
                posed = replace(posed, items=outfit if outfit.items else None)
                info = subject.info_wearing(outfit)  # the labels say what the image shows
            key = (tuple(sorted(params.expression.weights.items())), eyes.gaze, off)
            if drawn["subject"] != subject.index:  # a new subject: a new renderer
                if drawn["renderer"] is not None:
                    drawn["renderer"].release()
                cache = RibbonCache()
                drawn.update(subject=subject.index, key=key, ribbons=cache,
                             renderer=Renderer(mesh_from_asset(posed, ribbon_cache=cache), shadows=spec.shadows))
            elif drawn["key"] != key:  # the same subject in another pose: its buffers rewritten
                drawn["renderer"].update(mesh_from_asset(posed, ribbon_cache=drawn["ribbons"]))
                drawn["key"] = key
            renderer = drawn["renderer"]
            scene = scenes.image(i, camera, params)
            pupils = pupils_world(posed.vertices, model.units, pupil_sets)
            points, contour = sight_points(job, model, posed, camera, pupils)
            renderer.landmark_raycaster.expect_sight_lines(camera, points)  # one ray-casting scene per image
            res = renderer.render(camera, layers, supersample=spec.camera.supersample,
                                  environment=scene.environment, background=scene.background,
                                  metering=face_metering(spec, renderer.mesh.regions, params.exposure_offset_ev))
            lm70 = landmarks_70(renderer, res, pupils)
            gt = image_gt(job, model, posed, eyes, camera, renderer, lm70, contour)
            if spec.renderer == "cycles":
                if pending and (pending[0]["subject"] != subject.index or len(pending) >= _CYCLES_BATCH):
                    flush()
                pending.append({"i": i, "res": res, "lm70": lm70, "params": params, "info": info,
                                "scene": scene, "gt": gt, "posed": posed, "subject": subject.index})
                continue
            write_image(out, i, res, lm70, params, info, spec.layers, scene.record, gt)
            result.made.append(i)
            if progress:
                progress(result.skipped + len(result.made), result.total, f"subject {subject.index}")
        if pending:
            flush()
    finally:
        if drawn["renderer"] is not None:
            drawn["renderer"].release()
