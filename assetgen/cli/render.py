"""`assetgen render` and `assetgen bake`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError
from ._app import app, console, writes_output


@app.command()
@writes_output
def render(
    glb: Path = typer.Argument(..., help="A GLB written by assetgen (its NAME.gt.json beside it)."),
    out: Path = typer.Option(..., "--out", help="Output folder for view_XXX.* files."),
    size: int = typer.Option(512, "--size", min=16, max=8192, help="Image width and height in pixels."),
    views: int = typer.Option(8, "--views", min=1, max=10000, help="Number of cameras to sample."),
    seed: int = typer.Option(0, "--seed", min=0, help="Camera sampling seed."),
    layers: str = typer.Option("rgb,albedo,depth,normal,segmentation,seg_facesynthetics", "--layers",
                               help="Comma-separated layers to write."),
    config: Optional[Path] = typer.Option(None, "--config", help="Camera ranges YAML (default: the shipped configs/render.yaml)."),
):
    """Render N sampled views of an asset with ground truth (see assetgen/views/files.py for files)."""
    from ..views.run import render_views
    from ..views.files import FILE_LAYERS

    names = [l.strip() for l in layers.split(",") if l.strip()]
    if not names:
        raise InputError(f"--layers {layers!r} names no layer; give some of {','.join(FILE_LAYERS)} (comma-separated)")
    written = render_views(glb, out, size, views, seed, names, config)
    console.print(f"[green]rendered {len(written)} views[/green] to [bold]{out}[/bold]")


@app.command()
@writes_output
def bake(
    glb: Path = typer.Argument(..., help="The GLB whose UV layout receives the views."),
    views: Path = typer.Option(..., "--views", help="Folder of view_XXX.json + images (from `assetgen render`)."),
    out: Path = typer.Option(..., "--out", help="Output folder for <material>.png and <material>.coverage.png."),
    layer: str = typer.Option("rgb", "--layer", help="Which images to bake: rgb or albedo."),
):
    """Project views back into the asset's UV textures (one PNG + coverage PNG per seen material)."""
    from ..views.run import bake_views

    written = bake_views(glb, views, out, layer)
    console.print(f"[green]baked {len(written)} materials[/green] to [bold]{out}[/bold]: {', '.join(written)}")
