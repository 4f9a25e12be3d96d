"""`assetgen ui`: the Gradio authoring app (ui/app.py)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from typing import Optional

import typer

UI_APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"


def load_ui_module():
    """ui/app.py as a module (it lives beside the package, in the checkout)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    if "ui.app" in sys.modules:
        return sys.modules["ui.app"]
    if not UI_APP.is_file():
        from ..errors import ConfigError

        raise ConfigError(f"the UI app {UI_APP} is missing; `assetgen ui` runs from a source checkout")
    spec = importlib.util.spec_from_file_location("assetgen_ui_app", UI_APP)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def ui(
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (127.0.0.1: this machine only)."),
    library: Path = typer.Option(Path("library"), "--library", help="Asset library folder."),
    resolution: int = typer.Option(512, "--resolution", help="Default UV resolution in the editor."),
    model_config: Optional[Path] = typer.Option(
        None, "--model-config", help="Diffusion model registry YAML (default: ASSETGEN_MODELS or configs/models.yaml)."),
    recipe: Optional[Path] = typer.Option(
        None, "--recipe", help="Text -> UV recipe YAML for the diffusion backend (default pipelines/text_to_uv.yaml)."),
    view_size: Optional[int] = typer.Option(
        None, "--view-size", min=16, help="Diffusion view size in px (overrides the recipe)."),
):
    """Start the Gradio authoring app (author, preview in 3D, compare, save and browse assets)."""
    module = load_ui_module()
    typer.echo(f"assetgen ui: http://{host}:{port}/ (library {library.resolve()})", err=True)
    overrides = {"view_size": view_size} if view_size else None
    module.launch(port=port, host=host, library=library, default_resolution=resolution, models_config=model_config,
                  diffusion_recipe=recipe, diffusion_overrides=overrides)
