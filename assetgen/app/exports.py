"""What the app shows and hands out for an asset: the viewer's GLB, its UV texture and summary, a
preview picture, and the export formats."""

from __future__ import annotations

import io
import json
import threading
import uuid
import zipfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError

EXPORT_FORMATS = ("glb", "gt.json", "textures.zip", "preview.png")
DISPLAY_MATERIAL = "M_Face"


def new_workdir(root: Path) -> Path:
    d = Path(root) / uuid.uuid4().hex[:12]
    d.mkdir(parents=True, exist_ok=True)
    return d


def export_for_viewer(asset, workdir: Path) -> Path:
    """Write NAME.glb (+ NAME.gt.json) for the 3D viewer; returns the GLB path."""
    from ..export.asset_files import write_asset

    return write_asset(asset, Path(workdir)).glb


def uv_image(asset, material: str = DISPLAY_MATERIAL) -> np.ndarray:
    """The material's base colour (UV texture) as (H, W, 3) uint8."""
    tex = asset.textures.materials.get(material)
    if tex is None:
        raise InputError(f"the asset has no material {material!r}")
    return np.ascontiguousarray(tex.base_color[..., :3])


def summary(asset) -> dict[str, Any]:
    return {"name": asset.name, "labels": asset.labels, "seed": asset.provenance.get("seed"),
            "uv_resolution": asset.provenance.get("uv_resolution"),
            "library": asset.provenance.get("library")}


def export_files(asset, formats: Sequence[str], workdir: Path) -> list[Path]:
    """Write the chosen formats of the asset into a fresh folder under workdir; returns the files."""
    from ..export.asset_files import write_asset
    from ..export.materials import material_images
    from ..png import encode_png

    if asset is None:
        raise InputError("nothing to export yet: press \"Generate texture\" or open an asset first")
    formats = list(formats or [])
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown or not formats:
        raise InputError(f"choose export formats among {', '.join(EXPORT_FORMATS)}")
    out = new_workdir(Path(workdir) / "export")
    written = write_asset(asset, out)
    files: list[Path] = []
    if "glb" in formats:
        files.append(written.glb)
    if "gt.json" in formats:
        files.append(written.ground_truth)
    if "textures.zip" in formats:
        zpath = out / f"{asset.name}.textures.zip"
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_STORED) as zf:
            for mat, tex in asset.textures.materials.items():
                for map_name, img in material_images(tex).items():
                    zf.writestr(f"{mat}/{map_name}.png", encode_png(img))
            zf.writestr("params.json", json.dumps(asset.textures.params, indent=2, default=str))
        files.append(zpath)
    if "preview.png" in formats:
        from PIL import Image

        ppath = out / f"{asset.name}.preview.png"
        Image.fromarray(preview_image(asset)).save(ppath)
        files.append(ppath)
    return files


_gl_thread = None
_gl_lock = threading.Lock()


def on_gl_thread(fn, *args, timeout: float = 120, **kwargs):
    """fn(*args, **kwargs) on the app's one GL thread; waits for its result. GL contexts are bound to a
    thread, and the UI's callbacks run on many: every render runs on this dedicated thread."""
    global _gl_thread
    from concurrent.futures import ThreadPoolExecutor

    with _gl_lock:
        if _gl_thread is None:
            _gl_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assetgen-gl")
    return _gl_thread.submit(fn, *args, **kwargs).result(timeout=timeout)


def preview_image(asset, size: int = 256) -> np.ndarray:
    """A front preview (OpenGL, on the GL thread); the face UV texture when no GL context can be made."""
    try:
        from ..preview import render_front

        return on_gl_thread(render_front, asset, size)
    except Exception:  # noqa: BLE001 - no GL here: the UV texture is still a useful picture
        from PIL import Image

        return np.asarray(Image.fromarray(uv_image(asset)).resize((size, size)))


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()
