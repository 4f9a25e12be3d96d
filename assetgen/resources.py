"""The files that ship with assetgen: default recipes (pipelines/), configs (configs/: the run defaults,
model registry, render ranges, distributions/, jobs/) and the Gradio app (ui/app.py).

The checkout keeps one copy of each, in its top-level pipelines/, configs/ and ui/ folders; the wheel
carries the same files as assetgen/_data/{pipelines,configs,ui} (setup.py maps the folders there).
Every default path into them is built here, so the package finds them from any working folder, installed
from a wheel or used from the checkout (editable install).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from .errors import ConfigError

KINDS = ("pipelines", "configs", "ui")


def _root() -> Path:
    """The folder holding pipelines/, configs/ and ui/: assetgen/_data in an installed wheel, else the
    checkout this package was imported from."""
    shipped = importlib.resources.files(__package__) / "_data"
    if shipped.is_dir():
        return Path(str(shipped))
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file() and (checkout / "pipelines").is_dir():
        return checkout
    return Path(str(shipped))  # missing: the lookups below name what is missing


def data_dir(kind: str) -> Path:
    """The shipped folder `kind` ("pipelines", "configs" or "ui")."""
    if kind not in KINDS:
        raise ValueError(f"unknown resource kind {kind!r}; one of {', '.join(KINDS)}")
    return _root() / kind


def recipe_path(name: str) -> Path:
    """pipelines/NAME.yaml (it may not exist: see find_recipe)."""
    return data_dir("pipelines") / f"{name}.yaml"


def config_path(rel: str) -> Path:
    """configs/REL, e.g. "render.yaml" or "jobs/demo.yaml" (it may not exist)."""
    return data_dir("configs") / rel


def ui_app_path() -> Path:
    """The Gradio app, ui/app.py."""
    return data_dir("ui") / "app.py"


# Named resources: what a bare name (no path separator, no .yaml suffix) means where a YAML is expected.
_NAMED = {"recipe": ("pipelines", ""), "job": ("configs", "jobs"), "distribution": ("configs", "distributions")}


def _named_dir(what: str) -> Path:
    kind, sub = _NAMED[what]
    return data_dir(kind) / sub if sub else data_dir(kind)


def names(what: str) -> list[str]:
    """The shipped recipes, jobs or distributions (`what`), by name."""
    folder = _named_dir(what)
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def is_name(ref: str | Path) -> bool:
    """Whether `ref` is a bare name (e.g. "demo") rather than a path to a YAML."""
    text = str(ref)
    return bool(text) and "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml"))


def find(what: str, name: str) -> Path:
    """The shipped recipe, job or distribution `name`; ConfigError listing the shipped ones otherwise."""
    path = _named_dir(what) / f"{name}.yaml"
    if is_name(name) and path.is_file():
        return path
    known = names(what)
    raise ConfigError(f"no {what} {name!r} ships with assetgen (shipped: {', '.join(known) or 'none'}); "
                      f"give one of those names or a path to your own {what} YAML")


def yaml_or_name(ref: str | Path, what: str) -> Path:
    """A user's reference to a YAML: an existing file as given, else a bare name of a shipped `what`
    (find), else the path as given (its reader then says it does not exist)."""
    path = Path(ref)
    if path.is_file() or not is_name(ref):
        return path
    return find(what, str(ref))
