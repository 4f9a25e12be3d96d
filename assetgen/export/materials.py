"""The images of a material's glTF maps, and their PNG encoding in a thread pool.

A material exports three images: baseColor (sRGB; RGBA only when the material blends or masks),
roughnessSpecular (one RGBA image: G roughness, B metallic 0, A specular, R 255) and normal.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import InputError
from ..png import encode_png

MATERIAL_IMAGE_KINDS = ("baseColor", "roughnessSpecular", "normal")


def material_images(tex) -> dict[str, np.ndarray]:
    """The images of one material's glTF maps (MATERIAL_IMAGE_KINDS, see the module docstring)."""
    return {kind: material_image(tex, kind) for kind in MATERIAL_IMAGE_KINDS}


def material_image(tex, kind: str) -> np.ndarray:
    """One of material_images(tex), made alone."""
    if kind == "baseColor":
        blended = tex.alpha_mode != "OPAQUE" and tex.base_color.shape[2] == 4
        return tex.base_color if blended else tex.base_color[..., :3]
    if kind == "normal":
        return tex.normal
    if kind != "roughnessSpecular":
        raise KeyError(kind)
    # One RGBA image serves two textures: metallicRoughness reads G (roughness) and B (metallic = 0),
    # KHR_materials_specular reads A. R is 255 so that a viewer using it as occlusion sees none.
    h, w = tex.shape
    mrs = np.empty((h, w, 4), np.uint8)
    mrs[..., 0] = 255
    mrs[..., 1] = tex.roughness
    mrs[..., 2] = 0
    mrs[..., 3] = tex.specular
    return mrs


def encode_material_images(asset, names: list[str]) -> dict[str, dict[str, bytes]]:
    """material -> kind -> PNG bytes of the listed materials' images (see PendingImages)."""
    with PendingImages(asset, names) as pending:
        return pending.result()


class PendingImages:
    """PNG encodings of the listed materials' images, started at once in a thread pool (numpy, ISA-L and
    zlib release the GIL); result() -> material -> kind -> PNG bytes. Use as a context manager: leaving
    it cancels what has not started and waits for the rest. Raises InputError when a material has no
    maps."""

    def __init__(self, asset, names: list[str]):
        missing = [n for n in names if n not in asset.textures.materials]
        if missing:
            known = ", ".join(sorted(asset.textures.materials)) or "none"
            raise InputError(
                f"asset {asset.name!r}: the texture set has no maps for material(s) {', '.join(missing)} (it has: {known})"
            )
        jobs = [(n, kind, asset.textures.materials[n]) for n in names for kind in MATERIAL_IMAGE_KINDS]
        # Biggest first, so that no large image starts last; each result goes to its own slot, so the
        # output does not depend on scheduling.
        jobs.sort(key=lambda job: -job[2].shape[0] * job[2].shape[1])
        workers = max(1, min(len(jobs), os.cpu_count() or 1, 8))
        self._pool = ThreadPoolExecutor(workers)
        self._names = names
        self._futures = [(n, kind, self._pool.submit(_encode_material_image, tex, kind)) for n, kind, tex in jobs]

    def result(self) -> dict[str, dict[str, bytes]]:
        out: dict[str, dict[str, bytes]] = {n: {} for n in self._names}
        for n, kind, future in self._futures:
            out[n][kind] = future.result()
        return {n: {kind: out[n][kind] for kind in MATERIAL_IMAGE_KINDS} for n in self._names}

    def __enter__(self) -> "PendingImages":
        return self

    def __exit__(self, *exc) -> None:
        for _, _, future in self._futures:
            future.cancel()
        self._pool.shutdown(wait=True)


def _encode_material_image(tex, kind: str) -> bytes:
    return encode_png(material_image(tex, kind))
