"""`assetgen batch JOB.yaml`: fill a library with a job's assets (resumable, shardable)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..batch import load_job, parse_shard, run_batch


def batch(
    job: Path = typer.Argument(..., help="Job YAML (see configs/jobs/)."),
    library: Path = typer.Option(Path("library"), "--library", help="Library folder."),
    shard: Optional[str] = typer.Option(None, "--shard", help="I/N: make only the indices with index % N == I."),
    face_model: Optional[Path] = typer.Option(None, "--face-model", help="Face-model folder (else ASSETGEN_FACE_MODEL, the cache)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=0, help="Make at most this many assets this run."),
):
    """Fill a library with a job's assets: resumable (rerun = only the missing ones) and shardable."""
    from rich.console import Console

    console = Console(stderr=True)
    spec = load_job(job)
    result = run_batch(spec, library=library, shard=parse_shard(shard), face_model=face_model,
                       console=console, limit=limit)
    console.print(f"[green]job {spec.id}[/green]: made {len(result.made)}, already there {result.skipped}"
                  + (f", made by another process {result.lost_race}" if result.lost_race else "")
                  + f" in {result.seconds:.1f} s -> {library}")
    print(spec.id)
