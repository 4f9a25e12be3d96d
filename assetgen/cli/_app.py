"""The root typer app, the stderr console every command prints progress and errors to, and the checks
shared by several commands."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console

from ..errors import InputError
from ..names import check_name

app = typer.Typer(help="assetgen: textured, ground-truth-annotated face assets.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
console = Console(stderr=True)


def writes_output(command: Callable) -> Callable:
    """Run `command` inside io.output_dir(its `out` argument): the output folder exists while it runs,
    and a failed run leaves no empty folder behind (nor the parents it had to create)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        from ..io import output_dir

        out = kwargs.get("out")
        if out is None:
            return command(*args, **kwargs)
        with output_dir(out):
            return command(*args, **kwargs)

    return run


def asset_name(value: Optional[str]) -> Optional[str]:
    """Typer callback for a --name option: assetgen.names' file-safe rule (no empty name, path separator,
    '..', NUL or control character), as one InputError line."""
    return value if value is None else check_name(value, "--name")


def positive_seconds(value: float, option: str = "--timeout") -> float:
    """A finite, positive number of seconds."""
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{option} must be a finite number of seconds > 0, got {value}")
    return value


def read_ids(path: Path, option: str = "--ids") -> list[str]:
    """The asset ids of a file, one a line (blank lines skipped, repeats dropped, order kept); InputError
    when it cannot be read, is not UTF-8 text or lists no id."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {option} {path}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\0" in text:
        raise InputError(f"{option} {path} is not a text file of asset ids (one a line, UTF-8)")
    ids = [line.strip() for line in text.splitlines() if line.strip()]
    if not ids:
        raise InputError(f"{option} {path} lists no asset ids (one a line, e.g. from `assetgen library sample --out`)")
    return list(dict.fromkeys(ids))  # a sample may repeat an asset; export it once
