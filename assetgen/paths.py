"""Where assetgen keeps its per-user caches, for every stage that stores something there.

The root is ASSETGEN_CACHE, else $XDG_CACHE_HOME/assetgen, else ~/.cache/assetgen; below it the face
model lives in face-models/ict-facekit and UV layouts (with the data derived from them) in uv/.
"""

from __future__ import annotations

import os
from pathlib import Path

FACE_MODEL_SUBDIR = ("face-models", "ict-facekit")
UV_SUBDIR = "uv"


def cache_root() -> Path:
    """The cache root: ASSETGEN_CACHE, else $XDG_CACHE_HOME/assetgen, else ~/.cache/assetgen."""
    root = os.environ.get("ASSETGEN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "assetgen"
    )
    return Path(root)


def _root(cache_dir: str | Path | None) -> Path:
    return cache_root() if cache_dir is None else Path(cache_dir).expanduser()


def face_model_dir(cache_dir: str | Path | None = None) -> Path:
    """Where `assetgen face-model import/fetch` put the model by default: CACHE/face-models/ict-facekit
    (`cache_dir` replaces the cache root)."""
    return _root(cache_dir).joinpath(*FACE_MODEL_SUBDIR)


def uv_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The folder of cached UV layouts: CACHE/uv (`cache_dir` replaces the cache root)."""
    return _root(cache_dir) / UV_SUBDIR
