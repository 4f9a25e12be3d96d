"""`assetgen batch JOB`: fill a library with a job's assets (resumable, shardable, on Ray with --ray)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperCommand

from ..batch import job_path, load_job, parse_shard, run_batch
from ..errors import InputError
from ..scale.runner import ADDRESS_RE, LOCAL, check_address
from ._app import console


def ray_argv(args: list[str]) -> list[str]:
    """`args` with a bare `--ray` (last, or before an option or a word that is no address) written as
    `--ray=local`, so that --ray takes an optional value: `--ray` or `--ray ADDRESS`."""
    out: list[str] = []
    for i, a in enumerate(args):
        if a == "--":
            return out + list(args[i:])
        nxt = args[i + 1] if i + 1 < len(args) else None
        bare = a == "--ray" and (nxt is None or not (nxt == LOCAL or ADDRESS_RE.match(nxt)))
        out.append("--ray=local" if bare else a)
    return out


class RayOptionCommand(TyperCommand):
    """A command with `--ray [ADDRESS]` (register it with app.command(name, cls=RayOptionCommand))."""

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, ray_argv(list(args)))


def batch(
    job: str = typer.Argument(..., help="A job YAML, or the name of a shipped job: demo (100 assets of the demo "
                                        "recipe at 256 px, balanced attributes)."),
    library: Path = typer.Option(Path("library"), "--library", help="Library folder."),
    shard: Optional[str] = typer.Option(None, "--shard", help="I/N: make only the indices with index % N == I."),
    face_model: Optional[Path] = typer.Option(None, "--face-model", help="Face-model folder (else ASSETGEN_FACE_MODEL, the cache)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=0, max=10_000_000, help="Make at most this many assets this run."),
    ray: Optional[str] = typer.Option(None, "--ray", metavar="[ADDRESS]",
                                      help="Make the assets as Ray tasks: --ray alone starts a local Ray instance, "
                                           "--ray ADDRESS (auto, HOST:PORT, ray://HOST:PORT) joins a cluster. "
                                           "Needs pip install 'assetgen[ray]'."),
    logs: Optional[Path] = typer.Option(None, "--logs", help="With --ray: write each task's log to this folder."),
):
    """Fill a library with a job's assets: resumable (rerun = only the missing ones) and shardable.

    JOB is a job YAML (paths in it are relative to it) or a shipped job's name, from any folder:

    assetgen batch demo --library ./library

    assetgen batch demo --library ./library --ray          (on a local Ray instance; --ray ADDRESS: a cluster)

    Prints the job id on stdout.
    """
    if logs is not None and ray is None:
        raise InputError("--logs is for Ray runs: add --ray (or --ray ADDRESS)")
    spec = load_job(job_path(job))
    if ray is None:
        result = run_batch(spec, library=library, shard=parse_shard(shard), face_model=face_model,
                           console=console, limit=limit)
    else:
        from ..scale.batch import run_batch_ray

        result = run_batch_ray(spec, library=library, address=check_address(ray), shard=parse_shard(shard),
                               face_model=face_model, console=console, limit=limit, logs=logs)
        for line in result.summary.lines("assets") if result.summary else ():
            console.print(line, highlight=False)
    console.print(f"[green]job {spec.id}[/green]: made {len(result.made)}, already there {result.skipped}"
                  + (f", made by another process {result.lost_race}" if result.lost_race else "")
                  + f" in {result.seconds:.1f} s -> {library}", highlight=False)
    print(spec.id)
