"""The `assetgen` command line. Thin: it parses arguments, shows progress and calls the stages."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .errors import AssetgenError

app = typer.Typer(help="assetgen: textured, ground-truth-annotated face assets.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
console = Console(stderr=True)


def _face_model_app():
    try:
        from .face.commands import app as face_app
    except ImportError:  # pragma: no cover - during development
        return None
    return face_app


_fm = _face_model_app()
if _fm is not None:
    app.add_typer(_fm, name="face-model", help="Find, import or fetch the face model.")


def _register_optional_commands() -> None:
    """Commands of stages that register themselves (their modules import heavy libraries lazily)."""
    from .batch import batch
    from .diffusion.commands import register as register_diffusion
    from .export.commands import export
    from .library.commands import app as library_app
    from .ui_commands import ui

    register_diffusion(app)
    app.add_typer(library_app, name="library", help="The asset library: ls, show, check, gc, import, sample.")
    app.command("batch")(batch)
    app.command("export")(export)
    app.command("ui")(ui)


_register_optional_commands()


@app.command()
def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Output folder."),
    n: int = typer.Option(8, "--n", min=1, max=100000, help="Number of assets."),
    seed: int = typer.Option(0, "--seed", min=0, help="Job seed: same seed, same bytes."),
    resolution: int = typer.Option(1024, "--resolution", min=16, max=8192, help="Skin texture size (texels per UV tile)."),
    recipe: Optional[Path] = typer.Option(None, "--recipe", help="Recipe YAML (default: pipelines/demo.yaml's content)."),
    face_model: Optional[Path] = typer.Option(None, "--face-model", help="Compact face-model folder (else ASSETGEN_FACE_MODEL, the cache)."),
    preview_size: int = typer.Option(256, "--preview-size", min=32, max=2048, help="Contact sheet tile size."),
):
    """Generate N textured face assets (NAME.glb + NAME.gt.json each) and a contact sheet."""
    from .demo import run_demo

    t0 = time.perf_counter()
    result = run_demo(out=out, n=n, seed=seed, resolution=resolution, recipe_path=recipe,
                      face_model=face_model, preview_size=preview_size, console=console)
    console.print(f"[green]wrote {len(result.assets)} assets[/green] to [bold]{result.out}[/bold] "
                  f"(contact sheet: {result.contact_sheet}) in {time.perf_counter() - t0:.1f} s")
    print(result.out)


@app.command()
def render(
    glb: Path = typer.Argument(..., help="A GLB written by assetgen (its NAME.gt.json beside it)."),
    out: Path = typer.Option(..., "--out", help="Output folder for view_XXX.* files."),
    size: int = typer.Option(512, "--size", min=16, max=8192, help="Image width and height in pixels."),
    views: int = typer.Option(8, "--views", min=1, max=10000, help="Number of cameras to sample."),
    seed: int = typer.Option(0, "--seed", min=0, help="Camera sampling seed."),
    layers: str = typer.Option("rgb,albedo,depth,normal,segmentation", "--layers", help="Comma-separated layers to write."),
    config: Optional[Path] = typer.Option(None, "--config", help="Camera ranges YAML (default configs/render.yaml)."),
):
    """Render N sampled views of an asset with ground truth (see assetgen/render/views.py for files)."""
    from .render.commands import render_views

    names = [l.strip() for l in layers.split(",") if l.strip()]
    written = render_views(glb, out, size, views, seed, names, config)
    console.print(f"[green]rendered {len(written)} views[/green] to [bold]{out}[/bold]")


@app.command()
def bake(
    glb: Path = typer.Argument(..., help="The GLB whose UV layout receives the views."),
    views: Path = typer.Option(..., "--views", help="Folder of view_XXX.json + images (from `assetgen render`)."),
    out: Path = typer.Option(..., "--out", help="Output folder for <material>.png and <material>.coverage.png."),
    layer: str = typer.Option("rgb", "--layer", help="Which images to bake: rgb or albedo."),
):
    """Project views back into the asset's UV textures (one PNG + coverage PNG per seen material)."""
    from .render.commands import bake_views

    written = bake_views(glb, views, out, layer)
    console.print(f"[green]baked {len(written)} materials[/green] to [bold]{out}[/bold]: {', '.join(written)}")


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
