"""Render sampled views of a GLB with ground-truth layers into a folder (what `assetgen render` runs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import atomic_write_bytes, ensure_dir


def render_views(glb: Path, out: Path, size: int, views: int, seed: int, layers: list[str], config: Path | None = None,
                 progress=None) -> list[Path]:
    from .mesh import read_glb
    from .renderer import Renderer
    from .views import FILE_LAYERS, load_ranges, sample_cameras, write_view

    unknown = [l for l in layers if l not in FILE_LAYERS + ("landmarks",)]
    if unknown:
        raise InputError(f"unknown layer(s) {', '.join(unknown)}; choose from {', '.join(FILE_LAYERS + ('landmarks',))}")
    ranges = load_ranges(config)
    mesh = read_glb(glb)
    ensure_dir(out)
    rng = np.random.default_rng(seed)  # seeded once: view i depends on the seed and i only
    cams = sample_cameras(mesh, views, size, rng, ranges)
    renderer = Renderer(mesh)
    written = []
    try:
        for i, cam in enumerate(cams):
            res = renderer.render(cam, tuple(layers) + ("landmarks",), supersample=ranges.supersample)
            written.append(write_view(out, i, res, layers))
            if progress:
                progress(i + 1, len(cams))
    finally:
        renderer.release()
    return written
