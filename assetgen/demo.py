"""`assetgen demo`: N assets of the default recipe on the procedural backend, plus a contact sheet."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .generate import AssetRequest, WrittenAsset, asset_seed, make_asset, write_asset
from .io import atomic_write_bytes, ensure_dir
from .recipe import Recipe, check_recipe, load_recipe


@dataclass
class DemoResult:
    out: Path
    assets: list[WrittenAsset] = field(default_factory=list)
    contact_sheet: Path | None = None


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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .face.locate import get_face_model
    from .preview import contact_sheet, render_front
    from .uv import rasterize_uv

    # Validate everything before touching the output folder: bad input leaves nothing behind.
    recipe = load_recipe(recipe_path) if recipe_path else Recipe()
    model = get_face_model(face_model)
    check_recipe(model, recipe)
    out = ensure_dir(out)
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
