"""`assetgen face-model ...`: import a clone, fetch the public archive, show which model is used.

Errors are raised as assetgen.errors.*; the main CLI prints them as one line and exits 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..face import fetch as fetch_mod
from ..face.importer import import_ict_facekit
from ..face.locate import locate_face_model_dir, user_model_dir
from ._app import positive_seconds

app = typer.Typer(
    help="Get the ICT face model: import a local ICT-FaceKit clone, download it, or show which folder is used.",
    no_args_is_help=True,
    add_completion=False,
)


class _Progress:
    """One self-overwriting status line on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = ""

    def __call__(self, done: int, total: int | None, what: str) -> None:
        if what == "download":
            size = f"{done / 1e6:.1f} MB" + (f" of {total / 1e6:.1f} MB" if total else "")
            line = f"downloading: {size}"
            step = line if self.tty else f"downloading: {done // 50_000_000 * 50} MB"
        else:
            line = f"importing {done}/{total}: {what}"
            step = line if self.tty else f"importing: {10 * done // max(total or 1, 1) * 10}%"
        if self.tty:
            sys.stderr.write("\r\033[K" + line)
            sys.stderr.flush()
        elif step != self.last:  # in logs, a line per 50 MB / 10 % rather than thousands
            typer.echo(step, err=True)
        self.last = step

    def close(self) -> None:
        if self.tty and self.last:
            sys.stderr.write("\n")


@app.command("import")
def import_cmd(
    clone_dir: Path = typer.Argument(..., help="A clone of ICT-VGL/ICT-FaceKit (or its FaceXModel folder)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder [default: the user cache]."),
) -> None:
    """Build the compact face-model folder from a local ICT-FaceKit clone."""
    target = out if out is not None else user_model_dir()
    bar = _Progress()
    try:
        folder = import_ict_facekit(clone_dir, target, progress=bar)
    finally:
        bar.close()
    typer.echo(str(folder))


@app.command("fetch")
def fetch_cmd(
    url: str = typer.Option(fetch_mod.ARCHIVE_URL, "--url", help="Archive to download (http, https or file URL)."),
    sha256: Optional[str] = typer.Option(None, "--sha256", help="Expected sha256 of the archive (hex)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder [default: the user cache]."),
    trust_on_first_use: bool = typer.Option(
        False, "--trust-on-first-use", help="With no known checksum, accept this download's and pin it for next time."
    ),
    timeout: float = typer.Option(fetch_mod.DEFAULT_TIMEOUT_S, "--timeout", help="Network timeout in seconds."),
) -> None:
    """Download the public ICT-FaceKit archive, verify its sha256, and import it."""
    # Arguments first: a bad one is one line before any network or file work.
    fetch_mod.check_url(url)
    if sha256 is not None:
        fetch_mod.normalize_sha256(sha256)
    positive_seconds(timeout, "--timeout")
    bar = _Progress()
    try:
        folder = fetch_mod.fetch_face_model(
            url, sha256, out, trust_on_first_use=trust_on_first_use, timeout=timeout, progress=bar
        )
    finally:
        bar.close()
    typer.echo(str(folder))


@app.command("where")
def where_cmd(
    model: Optional[Path] = typer.Option(None, "--model", help="An explicit folder to check instead."),
) -> None:
    """Print the face-model folder that would be used (and, on stderr, why)."""
    folder, origin = locate_face_model_dir(model)
    typer.echo(str(folder))
    typer.echo(f"(from {origin})", err=True)
