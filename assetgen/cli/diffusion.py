"""`assetgen texture`, `assetgen despecularize` and `assetgen backgrounds`.
`texture --backend procedural` and `despecularize --method classical` never import torch or diffusers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from ..errors import InputError
from ._app import asset_name

def _png(image: np.ndarray) -> bytes:
    from ..png import encode_png  # the package's fast, deterministic lossless PNG

    return encode_png(image)


def _read_image(path: Path) -> np.ndarray:
    """The input image as (H, W, 3|4) uint8 sRGB (16-bit images scaled, palettes and greys expanded);
    an unreadable, truncated or oversized file is one InputError naming it."""
    from ..images import read_image

    return read_image(path, what="image")


def texture(
    prompt: str = typer.Option("", "--prompt", help="Text prompt (diffusion backend)."),
    backend: str = typer.Option("procedural", "--backend", help="procedural | diffusion"),
    model_config: Optional[Path] = typer.Option(None, "--model-config", help="Model registry YAML (default configs/models.yaml)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Asset seed: same seed, same bytes."),
    out: Path = typer.Option(Path("out/texture"), "--out", help="Output folder."),
    resolution: int = typer.Option(1024, "--resolution", min=16, max=8192, help="Texture size per UV tile."),
    name: str = typer.Option("texture", "--name", callback=asset_name, help="Asset name (file stem)."),
    face_model: Optional[Path] = typer.Option(None, "--face-model", help="Compact face-model folder."),
    recipe: Optional[Path] = typer.Option(None, "--recipe", help="Text -> UV recipe YAML (default pipelines/text_to_uv.yaml)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, max=200, help="Denoising steps per view (diffusion; overrides the recipe)."),
    view_size: Optional[int] = typer.Option(None, "--view-size", min=16, max=2048, help="View size in px (diffusion; overrides the recipe)."),
):
    """Texture one face asset and write NAME.glb + NAME.gt.json (as `assetgen demo` does)."""
    from ..face.locate import get_face_model
    from ..export.asset_files import write_asset
    from ..generate import AssetRequest, make_asset
    from ..io import ensure_dir
    from ..recipe import Recipe, TextureSpec
    from ..uv import rasterize_uv

    if backend not in ("procedural", "diffusion"):
        raise InputError(f"unknown --backend {backend!r}; use procedural or diffusion")
    if backend == "diffusion":
        from ..diffusion.loading import DiffusionRuntime
        from ..diffusion.registry import load_registry
        from ..diffusion.text_to_uv import DiffusionTextureBackend, load_config

        reg = load_registry(model_config)  # validate the registry before anything else
        cfg = load_config(recipe, prompt=prompt or None, steps=steps, view_size=view_size)
        for role in ("text2image", *(f"controlnet_{c}" for c in cfg.conditions)):
            reg.spec(role)  # ModelMissingError naming the role
        diffusion_backend = DiffusionTextureBackend(cfg, DiffusionRuntime(reg))
    t0 = time.perf_counter()
    model = get_face_model(face_model)
    out = ensure_dir(out)
    layout = rasterize_uv(model, resolution)
    spec = Recipe(name=name, texture=TextureSpec(backend=backend))
    request = AssetRequest(name=name, seed=seed, recipe=spec)
    if backend == "diffusion":
        asset = make_asset(model, layout, request, progress=_progress_echo(), backend=diffusion_backend)
    else:
        asset = make_asset(model, layout, request)
    written = write_asset(asset, out)
    typer.echo(f"wrote {written.glb} and {written.ground_truth} in {time.perf_counter() - t0:.1f} s", err=True)
    print(out)


def _progress_echo():
    last = [-1]

    def report(done: int, total: int, what: str) -> None:
        pct = int(100 * done / max(total, 1))
        if pct // 10 != last[0] // 10 or done == total:
            typer.echo(f"  {pct:3d}% {what}", err=True)
        last[0] = pct

    return report


def despecularize(
    image: Path = typer.Argument(..., help="Image or UV texture (PNG/JPEG, sRGB)."),
    method: str = typer.Option("classical", "--method", help="classical | marigold"),
    model: Optional[Path] = typer.Option(None, "--model", help="Local Marigold intrinsics folder (overrides the registry)."),
    checkpoint: str = typer.Option("appearance", "--checkpoint", help="Marigold checkpoint: appearance | lighting"),
    model_config: Optional[Path] = typer.Option(None, "--model-config", help="Model registry YAML."),
    seed: int = typer.Option(0, "--seed", min=0),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, max=1000, help="Marigold denoising steps (default: the model's)."),
    out: Path = typer.Option(Path("out/despecularize"), "--out", help="Output folder."),
):
    """Split an image into albedo.png and residual.png (what was removed), plus provenance.json."""
    from ..io import atomic_write_bytes, atomic_write_json, ensure_dir

    if method not in ("classical", "marigold"):
        raise InputError(f"unknown --method {method!r}; use classical or marigold")
    img = _read_image(image)
    extra: dict[str, np.ndarray] = {}
    if method == "classical":
        from ..despecular import despecularize as classical

        result = classical(img)
        prov = {"stage": "despecularize", "method": "classical", **result.params}
    else:
        from ..diffusion.intrinsics import despecularize_marigold
        from ..diffusion.loading import DiffusionRuntime
        from ..diffusion.registry import load_registry

        reg = load_registry(model_config)
        if model is not None:
            role = "intrinsics" if checkpoint == "appearance" else "intrinsics_lighting"
            reg = reg.with_models(**{role: str(model.resolve())})
        result = despecularize_marigold(DiffusionRuntime(reg), img, checkpoint=checkpoint, seed=seed, steps=steps)
        prov = result.params
        extra = {k: v for k, v in getattr(result, "maps", {}).items() if k != "albedo"}
    out = ensure_dir(out)
    atomic_write_bytes(out / "albedo.png", _png(result.diffuse))
    atomic_write_bytes(out / "residual.png", _png(result.residual))
    for k, v in extra.items():
        atomic_write_bytes(out / f"{k}.png", _png(v))
    atomic_write_json(out / "provenance.json", {"input": str(image), **prov})
    print(out)


def backgrounds(
    out: Path = typer.Option(..., "--out", help="The folder of plates (new, empty, or one this command made: replaced)."),
    n: int = typer.Option(16, "--n", min=1, max=10_000, help="How many plates."),
    prompt: Optional[list[str]] = typer.Option(None, "--prompt", help="A scene to paint (repeat for several; plate i "
                                                                     "takes prompt i mod their number). Default: 12 "
                                                                     "indoor and outdoor scenes."),
    size: int = typer.Option(512, "--size", min=16, max=2048, help="Plate width and height in px (a multiple of 8)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Same seed, same bytes."),
    steps: int = typer.Option(25, "--steps", min=1, max=500, help="Denoising steps per plate."),
    guidance: float = typer.Option(6.0, "--guidance", min=0.0, max=50.0, help="Classifier-free guidance scale."),
    model_config: Optional[Path] = typer.Option(None, "--model-config", help="Model registry YAML (default configs/models.yaml)."),
):
    """Paint background plates with the registry's text2image model, for a data-set job's
    `background: {type: folder, folder: DIR}`; DIR/backgrounds.json records how each was made."""
    from ..diffusion.backgrounds import PROMPTS, make_backgrounds
    from ..diffusion.loading import DiffusionRuntime
    from ..diffusion.registry import load_registry

    t0 = time.perf_counter()  # make_backgrounds checks the request, the folder and the model before any work
    plates = make_backgrounds(DiffusionRuntime(load_registry(model_config)), out, n=n,
                              prompts=tuple(prompt) if prompt else PROMPTS, size=size, seed=seed, steps=steps,
                              guidance=guidance, progress=_progress_echo())
    typer.echo(f"wrote {len(plates.files)} plates and backgrounds.json in {time.perf_counter() - t0:.1f} s", err=True)
    print(plates.folder)
