"""Find the face-model folder: an explicit path, ASSETGEN_FACE_MODEL, the user cache, or a download.

An explicit path or the environment variable, once given, must be right: falling through to another model
would silently produce assets from a model the user did not ask for.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..errors import FaceModelError
from ..paths import face_model_dir
from . import ict
from .model import FaceModel, load_face_model

ENV_VAR = "ASSETGEN_FACE_MODEL"


def user_model_dir(cache_dir: str | Path | None = None) -> Path:
    """Where `assetgen face-model import/fetch` put the model by default: CACHE/face-models/ict-facekit."""
    return face_model_dir(cache_dir)


def missing_files(folder: Path) -> list[str]:
    """Required files absent from `folder` (all of them if it is not a folder)."""
    if not folder.is_dir():
        return list(ict.REQUIRED_FILES)
    return [f for f in ict.REQUIRED_FILES if not (folder / f).is_file()]


def _checked(folder: Path, origin: str) -> Path:
    if not folder.exists():
        raise FaceModelError(f"face-model folder {folder} ({origin}) does not exist; fix the path or unset it")
    missing = missing_files(folder)
    if missing:
        raise FaceModelError(
            f"face-model folder {folder} ({origin}) is not a complete model: missing {', '.join(missing)}; "
            "point it at a folder made by `assetgen face-model import` (or the shared ict-facekit folder)"
        )
    return folder


def locate_face_model_dir(explicit: str | Path | None = None, *, fetch: bool = False) -> tuple[Path, str]:
    """(folder, where it came from). See resolve_face_model_dir."""
    if explicit is not None and str(explicit) != "":
        return _checked(Path(explicit).expanduser(), "given explicitly"), "explicit"
    env = os.environ.get(ENV_VAR, "")
    if env.strip():
        return _checked(Path(env.strip()).expanduser(), f"from {ENV_VAR}"), ENV_VAR
    cached = user_model_dir()
    if not missing_files(cached):
        return cached, "user cache"
    if fetch:
        from .fetch import fetch_face_model

        return fetch_face_model(out_dir=cached), "downloaded"
    state = "is incomplete" if cached.exists() else "does not exist"
    raise FaceModelError(
        f"no face model found: no explicit path, {ENV_VAR} is not set, and the user cache {cached} {state}. "
        f"Fix: set {ENV_VAR}=/path/to/ict-facekit (a compact folder), or run "
        "`assetgen face-model import PATH_TO_ICT_FACEKIT_CLONE`, or `assetgen face-model fetch` to download it"
    )


def resolve_face_model_dir(explicit: str | Path | None = None, *, fetch: bool = False) -> Path:
    """The face-model folder to use, in this order: `explicit` (a CLI flag or config value), the
    ASSETGEN_FACE_MODEL environment variable, the user cache (CACHE/face-models/ict-facekit), then a
    download into the user cache if `fetch` is true. Each of the first three must be a complete folder;
    an explicit or environment path that is broken is an error, not a reason to look elsewhere.
    Raises FaceModelError listing the fixes when nothing is found."""
    return locate_face_model_dir(explicit, fetch=fetch)[0]


# ---- loaded models, once per process --------------------------------------------------------------
_models: dict[tuple[str, int], FaceModel] = {}
_lock = threading.Lock()


def get_face_model(explicit: str | Path | None = None, fetch: bool = False) -> FaceModel:
    """The FaceModel at resolve_face_model_dir(explicit, fetch=fetch), loaded once per folder per process.

    The key includes shape_modes.npz's modification time, so a re-import into the same folder is picked up.
    """
    folder = resolve_face_model_dir(explicit, fetch=fetch).resolve()
    try:
        stamp = (folder / ict.SHAPE_MODES).stat().st_mtime_ns
    except OSError:
        stamp = 0
    key = (str(folder), stamp)
    with _lock:  # loading holds the lock: two threads asking at once load it once
        model = _models.get(key)
        if model is None:
            for old in [k for k in _models if k[0] == key[0]]:
                del _models[old]
            model = _models[key] = load_face_model(folder)
    return model


def clear_face_model_cache() -> None:
    with _lock:
        _models.clear()
