"""Headless OpenGL contexts (EGL; Mesa llvmpipe on CPUs, the NVIDIA driver on GPUs).

A GL context is current on one thread only, so each thread gets its own, created on first use and kept
for the thread's life. Objects made in one thread's context must be used from that thread.
"""

from __future__ import annotations

import os
import threading

from .errors import AssetgenError

_local = threading.local()


class GLUnavailable(AssetgenError):
    """No offscreen OpenGL 3.3 context could be created."""


def context():
    """This thread's moderngl context, created on first use."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        import moderngl

        backend = os.environ.get("ASSETGEN_GL_BACKEND", "egl")
        try:
            ctx = moderngl.create_standalone_context(require=330, backend=backend or None)
        except Exception as exc:  # moderngl raises plain Exceptions for missing drivers
            raise GLUnavailable(
                f"cannot create an offscreen OpenGL context ({backend}): {exc}. On Debian install "
                "libegl1 libgl1-mesa-dri libegl-mesa0 (the set-up script does this)"
            ) from exc
        _local.ctx = ctx
    return ctx
