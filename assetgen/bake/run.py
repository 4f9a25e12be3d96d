"""Bake a folder of rendered views back into a GLB's UV textures (what `assetgen bake` runs)."""

from __future__ import annotations

from pathlib import Path

from ..io import atomic_write_bytes, ensure_dir


def bake_views(glb: Path, views_dir: Path, out: Path, layer: str = "rgb") -> list[str]:
    """Bake the views in `views_dir` into `glb`'s materials; write <material>.png and .coverage.png for
    every material some view sees. Returns the material names written."""
    from .baker import Baker
    from ..export.glb import encode_png
    from ..render.mesh import read_glb
    from ..render.views import read_views

    mesh = read_glb(glb)
    views = read_views(views_dir, layer)
    ensure_dir(out)
    # The albedo layer holds stored texel values exactly, so look them up exactly (nearest). Texels seen
    # by few view pixels still count as seen, with a confidence that says so (coverage.png).
    baker = Baker(mesh, sampling="nearest" if layer == "albedo" else "linear")
    try:
        results = baker.bake(views)
    finally:
        baker.release()
    written = []
    for name, res in results.items():
        if not res.seen.any():
            continue
        atomic_write_bytes(out / f"{name}.png", encode_png(res.texture))
        atomic_write_bytes(out / f"{name}.coverage.png", encode_png(res.coverage))
        written.append(name)
    return written
