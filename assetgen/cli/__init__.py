"""The `assetgen` command line: every command lives in this package and is thin (it parses arguments,
shows progress and calls the stages). `main` turns errors into one line and an exit status."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from ..errors import AssetgenError
from . import demo as _demo, render as _render  # noqa: F401  (commands register on import)
from ._app import app, console, writes_output
from .batch import RayOptionCommand, batch
from .dataset import dataset
from .diffusion import backgrounds, despecularize, texture
from .export import export
from .face import app as face_app
from .library import app as library_app
from .ui import ui

app.add_typer(face_app, name="face-model", help="Find, import or fetch the face model.")
app.add_typer(library_app, name="library", help="The asset library: ls, show, check, gc, import, sample.")
app.command("texture")(writes_output(texture))
app.command("despecularize")(writes_output(despecularize))
app.command("backgrounds")(backgrounds)
app.command("batch", cls=RayOptionCommand)(batch)
app.command("dataset", cls=RayOptionCommand)(dataset)
app.command("export")(export)
app.command("ui")(ui)

PROG = "assetgen"


def _usage_exceptions() -> tuple[type[BaseException], ...]:
    """The exception classes typer raises for usage errors: its own (newer typer vendors click as
    typer._click, whose errors derive from typer.TyperException) and click's, where typer still runs on
    click (then click is imported by the time one is raised)."""
    classes: list[type[BaseException]] = []
    if hasattr(typer, "TyperException"):
        classes.append(typer.TyperException)
    click = sys.modules.get("click")
    if click is not None:
        classes.append(click.ClickException)
    return tuple(classes)


def _no_args_help(exc: BaseException) -> str | None:
    """The help text when `exc` is typer's "no arguments, show the help" signal, else None."""
    if type(exc).__name__ == "NoArgsIsHelpError" and getattr(exc, "ctx", None) is not None:
        return exc.ctx.get_help()
    return None


def _usage_error(exc: BaseException) -> int:
    """Print a usage error as the command's usage line and one message; the exit status (2)."""
    ctx = getattr(exc, "ctx", None)
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    message = " ".join(str(message).split())
    if ctx is not None:
        typer.echo(ctx.get_usage(), err=True)
        message += f" (see `{ctx.command_path} --help`)"
    console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point: AssetgenError becomes one clear line on stderr and exit status 2; a usage error the
    command's usage line and one message, exit 2; `assetgen` (or a group) without arguments its help."""
    try:
        rc = app(args=argv, prog_name=PROG, standalone_mode=False)  # a typer.Exit(n) comes back as n
    except AssetgenError as exc:
        console.print(f"[red]error:[/red] {escape(' '.join(str(exc).split()))}", highlight=False, soft_wrap=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        console.print("[red]aborted[/red]")
        return 130
    except _usage_exceptions() as exc:
        help_text = _no_args_help(exc)
        if help_text is not None:
            typer.echo(help_text)
            return 0
        return _usage_error(exc)
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
