"""`assetgen batch JOB --ray [ADDRESS]`: the job's missing assets made by Ray tasks, merged here.

Each task makes a chunk of asset indices (make_job_asset is deterministic per index) into a staging
library in a node-local temporary folder, packs it (assetgen.library.merge.pack) and returns the bundle;
the driver merges each bundle into the main library in one transaction as it arrives. The main library's
SQLite file is only ever opened by the driver. A task retried after its node died makes the same bytes,
and the merge skips what is already there, so the library ends with exactly the requested indices. A
rerun after the driver was killed plans only the indices not in the library, like `assetgen batch`.

Diffusion textures ask Ray for a GPU per task (and a CPU); procedural ones for a CPU.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..batch import BatchResult, Job, load_job, make_job_asset
from .runner import (LOCAL, RunState, RunSummary, Task, chunk_size, chunks, progress_poll, ray_session, run_tasks,
                     slots)

STAGE_PREFIX = "assetgen-stage-"


@dataclass
class RayBatchResult(BatchResult):
    """BatchResult with the Ray run's summary and the driver's seconds spent merging."""

    summary: RunSummary | None = None
    merge_s: float = 0.0


_LAYOUTS: dict[tuple[str, int], Any] = {}


def _layout(model, resolution: int):
    key = (model.fingerprint, resolution)
    if key not in _LAYOUTS:
        from ..uv import rasterize_uv

        _LAYOUTS.clear()
        _LAYOUTS[key] = rasterize_uv(model, resolution)
    return _LAYOUTS[key]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def sweep_staging(root: Path) -> None:
    """Remove staging folders this host's dead processes left in `root` (a worker killed mid-task)."""
    mine = f"{STAGE_PREFIX}{socket.gethostname()}-"
    with contextlib.suppress(OSError):
        for entry in root.iterdir():
            if entry.name.startswith(mine):
                pid = entry.name[len(mine):].split("-", 1)[0]
                if pid.isdigit() and not _alive(int(pid)):
                    shutil.rmtree(entry, ignore_errors=True)


def make_chunk(args, ctx):
    """Task: make the assets `indices` of `job` into a staging library; return it packed (a Bundle)."""
    from ..library.merge import pack
    from ..library.store import Library

    job, indices, staging = args
    model = ctx.shared("model")
    layout = _layout(model, job.spec.resolution)
    root = Path(staging or tempfile.gettempdir())
    root.mkdir(parents=True, exist_ok=True)
    sweep_staging(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{socket.gethostname()}-{os.getpid()}-", dir=root))
    try:
        with Library.open(folder / "library", create=True) as lib:
            for index in indices:
                asset = make_job_asset(job, model, layout, index)
                lib.put(asset, job_id=job.id, job_index=index, tags=job.spec.tags)
                del asset
                ctx.advance(index)
            return pack(lib, verify=False)  # put() made every blob from its pixels just now
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def task_resources(job: Job) -> tuple[float, float]:
    """(CPUs, GPUs) one task of `job` holds: a GPU for diffusion textures, else a CPU only."""
    return (1.0, 1.0) if job.recipe.texture.backend == "diffusion" else (1.0, 0.0)


def run_batch_ray(
    job: Job | str | Path,
    library: str | Path = "library",
    *,
    address: str | None = LOCAL,
    shard: tuple[int, int] = (0, 1),
    face_model: Path | None = None,
    console=None,
    limit: int | None = None,
    chunk: int | None = None,
    logs: Path | None = None,
    staging: Path | None = None,
    max_retries: int = 4,
    num_cpus: int | None = None,
    on_poll: Callable[[RunState], None] | None = None,
) -> RayBatchResult:
    """run_batch on Ray (see the module docstring). address: see runner.ray_session; chunk: assets per
    task (default: about four tasks per slot, at most 16); logs: a folder for per-task logs; staging:
    the workers' staging folder (default: each node's temporary folder); num_cpus: a local instance's
    size; on_poll: called with the run's state while it runs (tests use it)."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    from ..face.locate import get_face_model
    from ..library.catalog import CATALOG
    from ..library.merge import merge_bundle
    from ..library.store import Library
    from ..recipe import check_recipe

    if not isinstance(job, Job):
        job = load_job(job)
    i_shard, n_shard = shard
    model = get_face_model(face_model)
    check_recipe(model, job.recipe)
    t0 = time.perf_counter()
    # The library is created with the first merge: a run that fails before (no Ray, no cluster) leaves
    # no empty library behind.
    lib = Library.open(library, create=False, readonly=False) if (Path(library) / CATALOG).exists() else None
    result = RayBatchResult(job_id=job.id)
    try:
        done = lib.job_indices(job.id) if lib is not None else set()
        mine = list(range(i_shard, job.spec.n, n_shard))
        todo = [i for i in mine if i not in done]
        result.skipped = len(mine) - len(todo)
        if limit is not None:
            todo = todo[:limit]
        if not todo:
            result.seconds = time.perf_counter() - t0
            return result
        cpus, gpus = task_resources(job)
        with ray_session(address, num_cpus=num_cpus) as ray, Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TimeRemainingColumn(), console=console, transient=False, disable=console is None,
        ) as progress:
            n_slots = slots(ray, cpus, gpus)
            size = chunk or chunk_size(len(todo), n_slots)
            tasks = [Task(key=f"{job.id[:8]}-{c[0]:07d}-{c[-1]:07d}", fn=make_chunk, args=(job, c, staging),
                          units=len(c), num_cpus=cpus, num_gpus=gpus) for c in chunks(todo, size)]
            label = f"job {job.name} ({job.id[:8]}) shard {i_shard}/{n_shard} on Ray"
            bar = progress.add_task(label, total=len(mine), completed=result.skipped)
            seen: set[int] = set()

            def on_item(key: str, index: Any) -> None:
                if index not in seen:
                    seen.add(index)
                    progress.update(bar, completed=result.skipped + len(seen))

            def on_result(task: Task, bundle) -> None:
                nonlocal lib
                t = time.perf_counter()
                if lib is None:
                    lib = Library.open(library, create=True)
                merged = merge_bundle(lib, bundle)
                result.merge_s += time.perf_counter() - t
                result.made += [aid for aid, _ in merged.created]
                result.lost_race += len(merged.present)
                seen.update(task.args[1])
                progress.update(bar, completed=result.skipped + len(seen))

            result.summary = run_tasks(tasks, on_result, shared={"model": model}, on_item=on_item,
                                       on_poll=progress_poll(progress, bar, label, on_poll),
                                       max_retries=max_retries, logs=logs)
            progress.update(bar, description=label, completed=result.skipped + len(result.made) + result.lost_race)
    finally:
        if lib is not None:
            lib.close()
    result.seconds = time.perf_counter() - t0
    return result
