"""`assetgen ui`: the Gradio authoring app (ui/app.py, shipped with the package: assetgen.resources)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from ..resources import ui_app_path


def load_ui_module():
    """ui/app.py as a module (the one already imported as ui.app, else the shipped file)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    if "ui.app" in sys.modules:
        return sys.modules["ui.app"]
    if "assetgen_ui_app" in sys.modules:
        return sys.modules["assetgen_ui_app"]
    app_file = ui_app_path()
    if not app_file.is_file():
        from ..errors import ConfigError

        raise ConfigError(f"the UI app {app_file} is missing; reinstall assetgen (pip install --force-reinstall)")
    spec = importlib.util.spec_from_file_location("assetgen_ui_app", app_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[spec.name]
        raise
    return module


def ui(
    port: int = typer.Option(7860, "--port", min=1, max=65535, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (127.0.0.1: this machine only)."),
    library: Path = typer.Option(Path("library"), "--library", help="Asset library folder."),
    resolution: int = typer.Option(512, "--resolution", min=16, max=8192, help="Default UV resolution in the editor."),
    model_config: Optional[Path] = typer.Option(
        None, "--model-config", help="Diffusion model registry YAML (default: ASSETGEN_MODELS, else the shipped configs/models.yaml)."),
    recipe: Optional[Path] = typer.Option(
        None, "--recipe", help="Text -> UV recipe YAML for the diffusion backend (default: the shipped pipelines/text_to_uv.yaml)."),
    view_size: Optional[int] = typer.Option(
        None, "--view-size", min=16, max=2048, help="Diffusion view size in px (overrides the recipe)."),
):
    """Start the Gradio authoring app (author, preview in 3D, compare, save and browse assets)."""
    module = load_ui_module()
    typer.echo(f"assetgen ui: http://{host}:{port}/ (library {library.resolve()})", err=True)
    overrides = {"view_size": view_size} if view_size else None
    module.launch(port=port, host=host, library=library, default_resolution=resolution, models_config=model_config,
                  diffusion_recipe=recipe, diffusion_overrides=overrides)
