"""Export formats by name: the one place that maps a format to its writer.

FORMATS maps a per-asset format name to writer(asset, out_dir, stem) -> list of written paths; every
such writer writes STEM.<ext> (plus textures) and the ground-truth sidecar STEM.gt.json beside it
(groundtruth.write_sidecar). SELECTION_FORMATS maps a whole-selection format name to
writer(assets, out_dir) -> list of written paths (assets: (stem, asset) pairs). The writers live in
their own modules (glb, obj, usd, blender) and never import this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from ..errors import InputError
from ..io import ensure_dir


def _glb(asset, out_dir: Path, stem: str) -> list[Path]:
    from .glb import export_glb
    from .groundtruth import write_sidecar

    path = Path(out_dir) / f"{stem}.glb"
    glb = export_glb(asset, path)
    return [path, write_sidecar(asset, path, glb.primitives, "glb", glb.hair, glb.items)]


def _usd(fmt: str) -> Callable[..., list[Path]]:
    def run(asset, out_dir: Path, stem: str) -> list[Path]:
        from .usd import export_usd

        return export_usd(asset, out_dir, stem, fmt=fmt)

    return run


def _obj(asset, out_dir: Path, stem: str) -> list[Path]:
    from .obj import export_obj

    return export_obj(asset, out_dir, stem)


def _blend_script(assets: Iterable, out_dir: Path) -> list[Path]:
    """Every asset as STEM.glb + STEM.gt.json (+ STEM.hair.npz with hair), then one scene.py that loads
    them all in Blender."""
    from .blender import write_hair_curves, write_scene_script

    written, glbs = [], []
    for stem, asset in assets:
        files = _glb(asset, out_dir, stem)
        written += files
        glbs.append(files[0].name)
        hair = write_hair_curves(asset, Path(out_dir) / f"{stem}.hair.npz")
        if hair is not None:
            written.append(hair)
    written.append(write_scene_script(out_dir, glbs))
    return written


FORMATS: dict[str, Callable[..., list[Path]]] = {
    "glb": _glb,
    "usd": _usd("usda"),
    "usda": _usd("usda"),
    "usdc": _usd("usdc"),
    "usdz": _usd("usdz"),
    "obj": _obj,
}
SELECTION_FORMATS: dict[str, Callable[..., list[Path]]] = {
    "blend-script": _blend_script,
}


def export_selection(assets, fmt: str, out_dir: str | Path) -> list[Path]:
    """Export (stem, asset) pairs (an iterable; assets are produced one at a time) in `fmt` into out_dir."""
    if fmt not in FORMATS and fmt not in SELECTION_FORMATS:
        raise InputError(f"unknown export format {fmt!r}; known: {', '.join([*FORMATS, *SELECTION_FORMATS])}")
    out = ensure_dir(out_dir)
    if fmt in SELECTION_FORMATS:
        return SELECTION_FORMATS[fmt](assets, out)
    written: list[Path] = []
    for stem, asset in assets:
        written += FORMATS[fmt](asset, out, stem)
    return written
