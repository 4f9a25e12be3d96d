"""The root typer app and the stderr console every command prints progress and errors to."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(help="assetgen: textured, ground-truth-annotated face assets.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
console = Console(stderr=True)
