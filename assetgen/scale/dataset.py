"""`assetgen dataset JOB --out DIR --ray [ADDRESS]`: a data set's missing images rendered by Ray tasks.

The driver prepares the folder as `assetgen dataset` does (run_dataset with limit=0: the manifest, the
check that DIR holds this job, stray temporary files removed), lists the images of its shard that are not
complete, and splits them by subject into tasks, so a subject is made (or loaded) once per task. Each
task renders its images with the dataset's own loop (run._render) straight into DIR, which must be a
folder every node sees at the same path (a local disk for a local instance, NFS or another shared
file system on a cluster), or an fsspec URL (s3://, gs://, file:// ...): then each task renders into a
staging folder on its node's disk and uploads every finished image itself, its record last
(dataset/storage.py). Every file is written atomically and
image i depends on (seed, i) only, so a task retried after its node died rewrites the same bytes and
the set ends with exactly the requested images. At the end the driver runs the same preparation again,
which removes the temporary files of killed writes and writes coco_keypoints.json once the whole set is
complete. A rerun after the driver was killed renders only what is missing, like `assetgen dataset`.

Subjects made by a recipe are made on the workers; library subjects are read by the driver (SQLite is
never opened over a shared file system by the workers) and sent with their task. Diffusion subjects ask
Ray for a GPU per task, the rest for a CPU.

The bytes equal a plain run's with the same BLAS thread count: Ray runs a 1-CPU task with one thread
(OMP_NUM_THREADS=1), and the face model's float32 vertices differ in their last bits between counts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..dataset.job import DatasetJob
from ..dataset.run import DatasetResult
from .runner import LOCAL, RunState, RunSummary, Task, chunk_size, progress_poll, ray_session, run_tasks, slots


@dataclass
class RayDatasetResult(DatasetResult):
    """DatasetResult with the Ray run's summary."""

    summary: RunSummary | None = None


def shard_indices(job: DatasetJob, shard: tuple[int, int]) -> list[int]:
    """The images of shard k/n: those of the subjects s with s % n == k (as run_dataset takes them)."""
    per = job.spec.per_subject
    return [i for i in range(job.spec.count) if (i // per) % shard[1] == shard[0]]


def _subjects(job: DatasetJob, model, library_ids, given):
    """The task's Subjects: made by the recipe, or the library subjects the driver sent (`given`)."""
    from ..dataset.subjects import Subjects

    class Given(Subjects):
        def _library_subject(self, s: int):
            return given[s]

    return Subjects(job, model) if library_ids is None else Given(job, model, library_ids=library_ids)


def library_subjects(subjects, images: list[int], per: int) -> dict:
    """What a task rendering `images` gets from the driver's library: {subject: (asset, info)}."""
    return {s: subjects._library_subject(s) for s in sorted({i // per for i in images})}


def render_shard(args, ctx) -> list[int]:
    """Task: render images `indices` of `job` into the shared folder `out`; return the indices written."""
    from ..dataset.run import _render
    from ..dataset.storage import Target, is_url, render_to_target

    job, indices, out, library_ids, given = args
    if given is not None and not isinstance(given, dict):  # an object-store reference from the driver
        import ray

        given = ray.get(given)
    model = ctx.shared("model")
    subjects = _subjects(job, model, library_ids, given)
    result = DatasetResult(job_id=job.id)

    def advance(done, total, note):
        ctx.advance(result.made[-1])

    try:
        if is_url(out):
            render_to_target(_render, Target(out), job, model, subjects, list(indices), result, advance)
        else:
            _render(job, model, subjects, Path(out), list(indices), result, advance)
    finally:
        subjects.close()
    return list(result.made)


def _out(out: str | Path) -> str | Path:
    """An fsspec URL stays a string (its protocol checked here, before Ray starts); a folder is a Path."""
    from ..dataset.storage import check_url, is_url

    if is_url(out):
        check_url(out)
        return out
    return Path(out)


def _manifest(out: str | Path) -> dict | None:
    """The set's dataset.json at a folder or URL, None when there is none yet."""
    from ..dataset.run import read_manifest
    from ..dataset.storage import Target

    if isinstance(out, str):
        return Target(out).manifest()
    return read_manifest(out) if out.is_dir() else None


def _missing(out: str | Path, indices: list[int], layers) -> list[int]:
    """The images among `indices` not complete at the folder or URL `out`."""
    from ..dataset.storage import Target
    from ..dataset.writer import is_complete

    if isinstance(out, str):
        done = Target(out).complete(indices, layers)
        return [i for i in indices if i not in done]
    return [i for i in indices if not is_complete(out, i, layers)]


def _group(todo: list[int], per: int, size: int) -> list[list[int]]:
    """`todo` in tasks of whole subjects (a subject's images never split), about `size` images each."""
    by_subject: dict[int, list[int]] = {}
    for i in todo:
        by_subject.setdefault(i // per, []).append(i)
    out: list[list[int]] = []
    for images in by_subject.values():
        if out and len(out[-1]) + len(images) <= size:
            out[-1].extend(images)
        else:
            out.append(list(images))
    return out


def run_dataset_ray(
    job: DatasetJob,
    out: str | Path,
    *,
    address: str | None = LOCAL,
    shard: tuple[int, int] = (0, 1),
    face_model: Path | None = None,
    limit: int | None = None,
    console=None,
    chunk: int | None = None,
    logs: Path | None = None,
    max_retries: int = 4,
    num_cpus: int | None = None,
    on_poll: Callable[[RunState], None] | None = None,
    allow_other_code: bool = False,
) -> RayDatasetResult:
    """run_dataset on Ray (see the module docstring). address: see runner.ray_session; chunk: images per
    task (default: about four tasks per slot, at most 16; a subject's images stay in one task); logs:
    a folder for per-task logs; num_cpus: a local instance's size; on_poll: the run's state while it
    runs (tests use it); allow_other_code: see run_dataset."""
    from ..dataset.run import check_existing, run_dataset
    from ..face.locate import get_face_model

    t0 = time.perf_counter()
    out = _out(out)
    result = RayDatasetResult(job_id=job.id)
    mine = shard_indices(job, shard)
    existing = _manifest(out)
    check_existing(existing, job, str(out), allow_other_code)  # another job's set, or other code's: before Ray
    pending = list(mine) if existing is None else _missing(out, mine, job.spec.layers)
    if limit is not None:
        pending = pending[:limit]
    model = get_face_model(face_model)
    if pending:
        # Ray first: a run that cannot start or join it writes nothing.
        with ray_session(address, num_cpus=num_cpus) as ray:
            _run(ray, job, model, out, shard, face_model, limit, result, console, chunk, logs, max_retries, on_poll,
                 allow_other_code)
    # run_dataset's own end, rendering nothing: temporary files of killed writes removed, the COCO file
    # written when the whole set is complete.
    end = run_dataset(job, out, shard=shard, face_model=face_model, limit=0, allow_other_code=allow_other_code)
    if not pending:
        result.total, result.skipped = end.total, end.skipped
    result.complete = end.complete
    result.seconds = time.perf_counter() - t0
    return result


def _run(ray, job: DatasetJob, model, out: Path, shard, face_model, limit, result: RayDatasetResult, console, chunk,
         logs, max_retries, on_poll, allow_other_code: bool = False) -> None:
    """The driver's part inside the Ray session: prepare the folder, submit the tasks, follow them."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from ..dataset.run import run_dataset
    from ..dataset.subjects import Subjects

    # The preparation is run_dataset's own, rendering nothing.
    prep = run_dataset(job, out, shard=shard, face_model=face_model, limit=0, allow_other_code=allow_other_code)
    result.total, result.skipped = prep.total, prep.skipped
    todo = _missing(out, shard_indices(job, shard), job.spec.layers)
    if limit is not None:
        todo = todo[:limit]
    if not todo:
        return
    library_ids = None
    if job.spec.subjects.library is not None:
        library_ids = (_manifest(out) or {}).get("subjects", {}).get("library_ids")
    subjects = Subjects(job, model, library_ids=library_ids)
    try:
        cpus, gpus = 1.0, 0.0
        if subjects.batch_job is not None and subjects.batch_job.recipe.texture.backend == "diffusion":
            gpus = 1.0
        per = job.spec.per_subject
        size = chunk or chunk_size(len(todo), slots(ray, cpus, gpus))
        tasks = []
        for images in _group(todo, per, size):
            given = None
            if library_ids is not None:  # the driver reads the library; the task gets the assets
                given = ray.put(library_subjects(subjects, images, per))
            tasks.append(Task(key=f"{job.id[:8]}-{images[0]:07d}-{images[-1]:07d}", fn=render_shard,
                              args=(job, images, str(out), library_ids, given), units=len(images),
                              num_cpus=cpus, num_gpus=gpus))
    finally:
        subjects.close()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=False, disable=console is None) as progress:
        label = f"data set {job.name} ({job.id[:8]}) shard {shard[0]}/{shard[1]} on Ray"
        bar = progress.add_task(label, total=result.total, completed=result.skipped)
        seen: set[int] = set()

        def on_item(key: str, index: Any) -> None:
            seen.add(index)
            progress.update(bar, completed=result.skipped + len(seen))

        def on_result(task: Task, made: list[int]) -> None:
            seen.update(task.args[1])
            result.made.extend(made)
            progress.update(bar, completed=result.skipped + len(seen))

        result.summary = run_tasks(tasks, on_result, shared={"model": model}, on_item=on_item,
                                   on_poll=progress_poll(progress, bar, label, on_poll),
                                   max_retries=max_retries, logs=logs)
        progress.update(bar, description=label)
    result.made.sort()
