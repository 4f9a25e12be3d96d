"""The `assetgen` command line: every command lives in this package and is thin (it parses arguments,
shows progress and calls the stages). `main` turns errors into one line and an exit status."""

from __future__ import annotations

import sys

import typer

from ..errors import AssetgenError
from . import demo as _demo, render as _render  # noqa: F401  (commands register on import)
from ._app import app, console
from .batch import batch
from .diffusion import despecularize, texture
from .export import export
from .face import app as face_app
from .library import app as library_app
from .ui import ui

app.add_typer(face_app, name="face-model", help="Find, import or fetch the face model.")
app.add_typer(library_app, name="library", help="The asset library: ls, show, check, gc, import, sample.")
app.command("texture")(texture)
app.command("despecularize")(despecularize)
app.command("batch")(batch)
app.command("export")(export)
app.command("ui")(ui)


def main(argv: list[str] | None = None) -> int:
    """Entry point: AssetgenError becomes one clear line on stderr and exit status 2."""
    try:
        app(args=argv, standalone_mode=False)
    except AssetgenError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        console.print("[red]aborted[/red]")
        return 130
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
