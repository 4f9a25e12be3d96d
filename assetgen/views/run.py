"""Render sampled views of a stored GLB into a folder (`assetgen render`) and bake such a folder back
into the GLB's UV textures (`assetgen bake`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import atomic_write_bytes, ensure_dir
from ..png import encode_png


def render_views(glb: Path, out: Path, size: int, views: int, seed: int, layers: list[str], config: Path | None = None,
                 progress=None) -> list[Path]:
    """Render `views` cameras sampled from the render config (seeded: view i depends on the seed and i
    only) of `glb` at size² pixels into `out`, with the listed layers; returns the view JSON paths."""
    from ..render.mesh import read_glb
    from ..render.renderer import Renderer
    from .cameras import load_ranges, sample_cameras
    from .files import FILE_LAYERS, RENDER_LAYERS, write_view

    unknown = [l for l in layers if l not in FILE_LAYERS + ("landmarks",)]
    if unknown:
        raise InputError(f"unknown layer(s) {', '.join(unknown)}; choose from {', '.join(FILE_LAYERS + ('landmarks',))}")
    render_layers = tuple(dict.fromkeys([RENDER_LAYERS.get(l, l) for l in layers] + ["landmarks"]))
    ranges = load_ranges(config)
    mesh = read_glb(glb)
    if "seg_facesynthetics" in layers:
        from ..face.labels import lookup_table

        lookup_table(mesh.regions)  # a region without a class fails here, before any file is written
    ensure_dir(out)
    rng = np.random.default_rng(seed)  # seeded once: view i depends on the seed and i only
    cams = sample_cameras(mesh, views, size, rng, ranges)
    renderer = Renderer(mesh)
    written = []
    try:
        for i, cam in enumerate(cams):
            res = renderer.render(cam, render_layers, supersample=ranges.supersample)
            written.append(write_view(out, i, res, layers))
            if progress:
                progress(i + 1, len(cams))
    finally:
        renderer.release()
    return written


def bake_views(glb: Path, views_dir: Path, out: Path, layer: str = "rgb") -> list[str]:
    """Bake the views in `views_dir` into `glb`'s materials; write <material>.png and .coverage.png for
    every material some view sees. Returns the material names written."""
    from ..bake import Baker, View
    from ..render.mesh import read_glb
    from .files import read_views

    mesh = read_glb(glb)
    views = [View(image, camera) for image, camera in read_views(views_dir, layer)]
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
