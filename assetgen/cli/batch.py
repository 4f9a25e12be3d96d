"""`assetgen batch JOB`: fill a library with a job's assets (resumable, shardable)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..batch import job_path, load_job, parse_shard, run_batch
from ._app import console


def batch(
    job: str = typer.Argument(..., help="A job YAML, or the name of a shipped job: demo (100 assets of the demo "
                                        "recipe at 256 px, balanced attributes)."),
    library: Path = typer.Option(Path("library"), "--library", help="Library folder."),
    shard: Optional[str] = typer.Option(None, "--shard", help="I/N: make only the indices with index % N == I."),
    face_model: Optional[Path] = typer.Option(None, "--face-model", help="Face-model folder (else ASSETGEN_FACE_MODEL, the cache)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=0, max=10_000_000, help="Make at most this many assets this run."),
):
    """Fill a library with a job's assets: resumable (rerun = only the missing ones) and shardable.

    JOB is a job YAML (paths in it are relative to it) or a shipped job's name, from any folder:

    assetgen batch demo --library ./library

    Prints the job id on stdout.
    """
    spec = load_job(job_path(job))
    result = run_batch(spec, library=library, shard=parse_shard(shard), face_model=face_model,
                       console=console, limit=limit)
    console.print(f"[green]job {spec.id}[/green]: made {len(result.made)}, already there {result.skipped}"
                  + (f", made by another process {result.lost_race}" if result.lost_race else "")
                  + f" in {result.seconds:.1f} s -> {library}", highlight=False)
    print(spec.id)
