"""`assetgen demo`: N assets of the default recipe on the procedural backend, plus a contact sheet."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .export.asset_files import WrittenAsset, write_asset
from .generate import AssetRequest, asset_seed, make_asset
from .io import atomic_write_bytes, output_dir
from .recipe import Recipe, check_recipe, load_recipe


@dataclass
class DemoResult:
    out: Path
    assets: list[WrittenAsset] = field(default_factory=list)
    contact_sheet: Path | None = None


def recipe_file(ref: str | Path | None) -> Path | None:
    """The recipe YAML `--recipe REF` means: a file, or a shipped recipe's name (None: the default)."""
    from .resources import yaml_or_name

    return None if ref is None else yaml_or_name(ref, "recipe")


def default_recipe_path() -> Path:
    """The shipped pipelines/demo.yaml: Recipe() with a hair section sampling every style family."""
    from .resources import find

    return find("recipe", "demo")


def png_bytes(image: np.ndarray) -> bytes:
    """Deterministic PNG encoding (no metadata, fixed compression)."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def run_demo(
    out: Path,
    n: int = 8,
    seed: int = 0,
    resolution: int = 1024,
    recipe_path: Path | None = None,
    face_model: Path | None = None,
    preview_size: int = 256,
    console=None,
) -> DemoResult:
    """Write n assets of the recipe (default: the shipped demo recipe, with hair) and a contact sheet into
    `out` (tiles show the hair); nothing is created
    when the inputs are wrong, and a run that fails leaves no empty folder."""
    from .face.locate import get_face_model

    # Validate everything before touching the output folder: bad input leaves nothing behind.
    recipe = load_recipe(recipe_path or default_recipe_path())
    model = get_face_model(face_model)
    check_recipe(model, recipe)
    with output_dir(out) as out:
        return _write_demo(out, model, recipe, n, seed, resolution, preview_size, console)


def _write_demo(out: Path, model, recipe: Recipe, n: int, seed: int, resolution: int, preview_size: int,
                console) -> DemoResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .preview import contact_sheet, render_front
    from .uv import rasterize_uv

    result = DemoResult(out=out)
    previews = []
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False, disable=console is None,
    ) as progress:
        task = progress.add_task("UV layout", total=n + 1)
        layout = rasterize_uv(model, resolution)
        progress.update(task, advance=1, description="assets")
        for i in range(n):
            request = AssetRequest(name=f"{recipe.name}_{seed}_{i:04d}", seed=asset_seed(seed, i),
                                   recipe=recipe, job_seed=seed, index=i)
            asset = make_asset(model, layout, request)
            result.assets.append(write_asset(asset, out))
            previews.append(render_front(asset, size=preview_size))
            progress.update(task, advance=1, description=f"assets ({asset.name})")
    sheet_path = out / "contact_sheet.png"
    atomic_write_bytes(sheet_path, png_bytes(contact_sheet(previews)))
    result.contact_sheet = sheet_path
    return result
