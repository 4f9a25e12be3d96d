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


_NUMPY_DTYPE = {"f1": "uint8", "i4": "int32", "f4": "float32"}


def draw_once(vao, size: tuple[int, int], targets: list[tuple[int, str]]) -> list:
    """Render `vao` once (no depth test, blending or culling) into fresh colour targets cleared to 0,
    read them back and free them. size: (w, h); targets: (components, dtype) per attachment, dtype one of
    "f1" (uint8), "i4" (int32), "f4" (float32). Returns per target an (h, w) array for one component,
    else (h, w, components); row 0 is GL row 0."""
    import numpy as np

    ctx = vao.ctx
    w, h = size
    rbs = [ctx.renderbuffer((w, h), components=n, dtype=dt) for n, dt in targets]
    fbo = ctx.framebuffer(color_attachments=rbs)
    try:
        fbo.use()
        ctx.viewport = (0, 0, w, h)
        ctx.disable(ctx.DEPTH_TEST | ctx.BLEND | ctx.CULL_FACE)
        fbo.clear(0.0, 0.0, 0.0, 0.0)
        vao.render()
        out = []
        for k, (n, dt) in enumerate(targets):
            a = np.empty((h, w) if n == 1 else (h, w, n), _NUMPY_DTYPE[dt])
            fbo.read_into(a, attachment=k, components=n, dtype=dt)
            out.append(a)
        return out
    finally:
        fbo.release()
        for rb in rbs:
            rb.release()
