"""One shared headless OpenGL context (EGL; Mesa llvmpipe on CPUs, the NVIDIA driver on GPUs)."""

from __future__ import annotations

import os
import threading

from .errors import AssetgenError

_lock = threading.Lock()
_ctx = None


class GLUnavailable(AssetgenError):
    """No offscreen OpenGL 3.3 context could be created."""


def context():
    """The process-wide moderngl context, created on first use."""
    global _ctx
    with _lock:
        if _ctx is None:
            import moderngl

            backend = os.environ.get("ASSETGEN_GL_BACKEND", "egl")
            try:
                _ctx = moderngl.create_standalone_context(require=330, backend=backend or None)
            except Exception as exc:  # moderngl raises plain Exceptions for missing drivers
                raise GLUnavailable(
                    f"cannot create an offscreen OpenGL context ({backend}): {exc}. On Debian install "
                    "libegl1 libgl1-mesa-dri libegl-mesa0 (the set-up script does this)"
                ) from exc
        return _ctx
