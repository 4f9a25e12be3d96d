"""`assetgen dataset JOB.yaml --out DIR`, `assetgen dataset preview DIR` and `assetgen dataset validate DIR`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError
from ._app import console

ACTIONS = ("preview", "validate")


def dataset(
    job: str = typer.Argument(..., metavar="JOB.yaml|preview|validate",
                              help="A data-set job YAML or a shipped job's name (demo: configs/datasets/demo.yaml), "
                                   "or preview / validate."),
    folder: Optional[str] = typer.Argument(None, metavar="[DIR|URL]", help="The data-set folder or URL (preview, validate)."),
    out: Optional[str] = typer.Option(None, "--out", help="Output folder or fsspec URL (s3://bucket/set, file:///abs/path, "
                                                        "memory://set ...) (making a set); the sheet's path (preview)."),
    shard: Optional[str] = typer.Option(None, "--shard", help="I/N: make only the subjects s with s % N == I."),
    face_model: Optional[Path] = typer.Option(None, "--face-model", help="Face-model folder (else ASSETGEN_FACE_MODEL, the cache)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=0, max=100_000_000, help="Make at most this many images this run."),
    n: int = typer.Option(16, "--n", min=1, max=1024, help="preview: how many images the sheet shows."),
    tile: int = typer.Option(256, "--tile", min=16, max=2048, help="preview: tile size in pixels."),
    gt: bool = typer.Option(True, "--gt/--no-gt", help="preview: draw the segmentation and landmarks over the images "
                                                      "(--no-gt: the images as rendered)."),
    ray: Optional[str] = typer.Option(None, "--ray", metavar="[ADDRESS]",
                                      help="Render the images as Ray tasks: --ray alone starts a local Ray instance, "
                                           "--ray ADDRESS (auto, HOST:PORT, ray://HOST:PORT) joins a cluster; --out "
                                           "must be a folder every node sees at the same path, or a URL every node "
                                           "can write to (the workers upload). Needs pip install "
                                           "'assetgen[ray]'."),
    logs: Optional[Path] = typer.Option(None, "--logs", help="With --ray: write each task's log to this folder."),
    workers: int = typer.Option(1, "--workers", min=1, max=256,
                                help="Processes rendering subjects on this machine (the same bytes as one; the "
                                     "assetgen renderer only; with --ray each task is one process)."),
    renderer: Optional[str] = typer.Option(None, "--renderer", metavar="assetgen|cycles",
                                           help="The rgb image's renderer (overrides the job's renderer:): assetgen "
                                                "(fast) or cycles (Blender Cycles from .venv-bpy); the ground truth "
                                                "is assetgen's either way."),
    allow_other_code: bool = typer.Option(False, "--allow-other-code",
                                          help="Go on with a set begun by another assetgen (other code: its images "
                                               "differ from this one's for the same seed); each image's record names "
                                               "the code that made it."),
):
    """Render a training data set: images with ground truth in the FaceSynthetics layout (resumable, shardable).

    assetgen dataset demo --out out/faces [--shard 0/4]      (the shipped configs/datasets/demo.yaml)

    assetgen dataset demo --out s3://bucket/faces            (an fsspec URL: staged locally, uploaded image by image)

    assetgen dataset demo --out /nfs/faces --ray [ADDRESS]   (as Ray tasks: a local instance, or a cluster)

    assetgen dataset preview out/faces      (a contact sheet with landmarks and segmentation drawn)

    assetgen dataset validate out/faces     (exit status 1 when a file is missing or does not parse)
    """
    if logs is not None and ray is None:
        raise InputError("--logs is for Ray runs: add --ray (or --ray ADDRESS)")
    if workers > 1 and ray is not None:
        raise InputError("--workers is for runs on this machine; with --ray, Ray runs one process per task slot "
                         "(size the nodes with ray start --num-cpus)")
    if job in ACTIONS:
        if ray is not None:
            raise InputError(f"--ray is for making a set (assetgen dataset JOB.yaml --out DIR --ray), not for {job}")
        if folder is None:
            raise InputError(f"`assetgen dataset {job}` needs the data-set folder: assetgen dataset {job} DIR")
        from ..dataset.storage import is_url

        if job == "preview":
            from ..dataset.preview import preview

            path = (_preview_url(folder, out, n=n, tile=tile, gt=gt) if is_url(folder)
                    else preview(folder, out, n=n, tile=tile, ground_truth=gt))
            console.print(f"[green]preview[/green] written to [bold]{path}[/bold]", highlight=False)
            print(path)
            return 0
        from ..dataset.validate import validate

        problems = _validate_url(folder) if is_url(folder) else validate(folder)
        for p in problems[:50]:
            typer.echo(p)
        if len(problems) > 50:
            typer.echo(f"... and {len(problems) - 50} more problems")
        if problems:
            console.print(f"[red]{len(problems)} problem(s)[/red] in {folder}", highlight=False)
            raise SystemExit(1)  # (typer.Exit's status is lost under the main CLI's standalone_mode=False)
        console.print(f"[green]{folder} is a complete, valid data set[/green]", highlight=False)
        return 0
    if folder is not None:
        raise InputError(f"unexpected argument {str(folder)!r}; make a set with `assetgen dataset JOB.yaml --out DIR`")
    if out is None:
        raise InputError("--out DIR is required: where the data set is written (assetgen dataset JOB.yaml --out DIR)")
    if ray is not None:
        from ..scale.runner import check_address

        ray = check_address(ray)
    if renderer is not None and renderer not in ("assetgen", "cycles"):
        raise InputError(f"--renderer {renderer!r}: choose assetgen or cycles")
    from ..dataset.storage import check_url, is_url

    if is_url(out):
        check_url(out)  # an unknown protocol or a missing implementation (s3fs ...): one line, nothing written
    return _make(job, out, shard, face_model, limit, ray, logs, renderer, workers, allow_other_code)


def _make(job_ref: str, out: str, shard, face_model, limit, ray=None, logs=None, renderer=None,
          workers: int = 1, allow_other_code: bool = False) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from ..dataset import load_job, parse_shard, run_dataset
    from ..dataset.run import check_target
    from ..dataset.storage import is_url
    from ..io import output_dir

    if not is_url(out):
        out = Path(out)
    spec = load_job(job_ref) if renderer is None else _with_renderer(job_ref, renderer)
    k_n = parse_shard(shard)
    check_target(spec, out, allow_other_code)  # another job's set or other code's: one line, before any bar
    if ray is not None:
        from ..scale.dataset import run_dataset_ray

        with contextlib.nullcontext(out) if is_url(out) else output_dir(out):
            result = run_dataset_ray(spec, out, address=ray, shard=k_n, face_model=face_model, limit=limit,
                                     console=console, logs=logs, allow_other_code=allow_other_code)
        for line in result.summary.lines("images") if result.summary else ():
            console.print(line, highlight=False)
        return _done(spec, out, result)
    with contextlib.nullcontext(out) if is_url(out) else output_dir(out), Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=console, transient=False,
    ) as bar:
        task = bar.add_task(f"data set {spec.name} ({spec.id[:8]}) shard {k_n[0]}/{k_n[1]}", total=None)

        def progress(done: int, total: int, note: str) -> None:
            bar.update(task, completed=done, total=total)

        result = run_dataset(spec, out, shard=k_n, face_model=face_model, limit=limit, progress=progress,
                             workers=workers, allow_other_code=allow_other_code)
    return _done(spec, out, result)


def _validate_url(url: str) -> list[str]:
    """validate() for a set at a URL, read through a local copy (file:// in place); problems name the URL."""
    import shutil

    from ..dataset.storage import Target, local_copy
    from ..dataset.validate import validate

    if url.startswith("file://"):
        return validate(Target(url).root)
    folder, target = local_copy(url)
    try:
        return [p.replace(str(folder), target.url) for p in validate(folder)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _preview_url(url: str, out: str | None, n: int, tile: int, gt: bool = True) -> str:
    """preview() for a set at a URL: only the picked images' records, rgb and seg are read; the sheet goes to
    --out (a path or URL), by default URL/preview.png."""
    import shutil

    from ..dataset.preview import PREVIEW_FILE, preview
    from ..dataset.storage import Target, is_url, local_copy, preview_picks

    target = Target(url)
    folder, _ = local_copy(url, preview_picks(target, n))
    try:
        to_url = out is None or is_url(out)
        path = preview(folder, folder / PREVIEW_FILE if to_url else out, n=n, tile=tile, ground_truth=gt)
        if not to_url:
            return str(path)
        dest, name = (target, PREVIEW_FILE) if out is None else (Target(out.rsplit("/", 1)[0]), out.rsplit("/", 1)[1])
        dest.upload(path, name)
        return dest.where(name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _with_renderer(job_ref: str, renderer: str):
    """The job with its `renderer:` key set as --renderer says."""
    from ..dataset.job import job_from_dict, job_path
    from ..yamlio import load_yaml

    path = job_path(job_ref)
    data = load_yaml(path, "data-set job")
    if isinstance(data, dict):
        data = {**{k: v for k, v in data.items() if renderer == "cycles" or k != "cycles"}, "renderer": renderer}
    return job_from_dict(data, base=path.parent, source=str(path))


def _done(spec, out: str, result) -> int:
    console.print(f"[green]data set {spec.id}[/green]: made {len(result.made)}, already there {result.skipped} of "
                  f"{result.total} in {result.seconds:.1f} s -> {out}"
                  + ("" if result.complete else " (the set is not complete yet: other shards or a --limit)"),
                  highlight=False)
    print(out)
    return 0
