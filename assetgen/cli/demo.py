"""`assetgen demo`: the main job on the embedded default."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from ._app import app, console, writes_output


@app.command()
@writes_output
def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", help="Output folder."),
    n: int = typer.Option(8, "--n", min=1, max=1000, help="Number of assets (for more, `assetgen batch`)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Job seed: same seed, same bytes."),
    resolution: int = typer.Option(1024, "--resolution", min=16, max=8192, help="Skin texture size (texels per UV tile)."),
    recipe: Optional[str] = typer.Option(None, "--recipe", help="Recipe YAML, or a shipped recipe's name (default: demo)."),
    face_model: Optional[Path] = typer.Option(None, "--face-model", help="Compact face-model folder (else ASSETGEN_FACE_MODEL, the cache)."),
    preview_size: int = typer.Option(256, "--preview-size", min=32, max=2048, help="Contact sheet tile size."),
):
    """Generate N textured face assets (NAME.glb + NAME.gt.json each) and a contact sheet."""
    from ..demo import recipe_file, run_demo

    t0 = time.perf_counter()
    result = run_demo(out=out, n=n, seed=seed, resolution=resolution, recipe_path=recipe_file(recipe),
                      face_model=face_model, preview_size=preview_size, console=console)
    console.print(f"[green]wrote {len(result.assets)} assets[/green] to [bold]{result.out}[/bold] "
                  f"(contact sheet: {result.contact_sheet}) in {time.perf_counter() - t0:.1f} s")
    print(result.out)
