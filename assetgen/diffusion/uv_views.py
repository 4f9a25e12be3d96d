"""The text -> UV stage's views of the face: where the cameras stand, and what the texture painted so far
shows in a view (the known image) with the pixels a view should still paint (the inpainting mask)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError

_RAYS: dict = {}  # (K bytes, size) -> (H * W, 3) float32 unit camera-space pixel rays


def face_cameras(mesh, config, frame_material: str = "M_Face"):
    """One Camera per view of `config` (a TextToUVConfig), looking at the centre of `frame_material`
    (metres, +y up, the face looks along +z) from a distance that fits its bounding sphere in the field of
    view."""
    from ..render.camera import Camera, intrinsics, look_at

    try:
        pos = mesh.material(frame_material).positions
    except InputError:
        pos = np.concatenate([p.positions for p in mesh.primitives])
    lo, hi = pos.min(0).astype(np.float64), pos.max(0).astype(np.float64)
    target = (lo + hi) / 2
    radius = float(np.linalg.norm(hi - lo) / 2)
    half = math.radians(config.fov_deg) / 2
    dist = radius * config.margin / math.sin(half)
    size = config.size
    focal = size / 2 / math.tan(half)
    cams = []
    for v in config.views:
        a, e = math.radians(v.azimuth), math.radians(v.elevation)
        eye = target + dist * np.array([math.sin(a) * math.cos(e), math.sin(e), math.cos(a) * math.cos(e)])
        cams.append(Camera(intrinsics(size, size, focal), look_at(eye, target), (size, size)))
    return cams


def lookup_uv(images, uv: np.ndarray, nearest: tuple[bool, ...]) -> list[np.ndarray]:
    """Each (h, w, C) image (all the same size) at the (n, 2) glTF UVs -> (n, C), bilinear or nearest,
    clamped; one coordinate map serves them all."""
    import cv2

    h, w = images[0].shape[:2]
    n = len(uv)
    cols = max(1, min(n, 4096))  # cv2.remap maps must stay under 32767 a side
    rows = -(-n // cols)
    x = np.zeros(rows * cols, np.float32)
    y = np.zeros(rows * cols, np.float32)
    np.multiply(uv[:, 0], w, out=x[:n])
    np.multiply(uv[:, 1], h, out=y[:n])
    x -= 0.5
    y -= 0.5
    x, y = x.reshape(rows, cols), y.reshape(rows, cols)
    return [cv2.remap(img, x, y, cv2.INTER_NEAREST if near else cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE).reshape(rows * cols, -1)[:n]
            for img, near in zip(images, nearest)]


def pixel_rays(cam) -> np.ndarray:
    """(H * W, 3) float32 unit camera-space rays through the pixel centres of `cam` (a few kept per process:
    every view of a recipe shares its intrinsics)."""
    key = (cam.K.tobytes(), tuple(cam.size))
    if key not in _RAYS:
        if len(_RAYS) > 8:
            _RAYS.clear()
        w, h = cam.size
        ys, xs = np.mgrid[0:h, 0:w] + 0.5
        _RAYS[key] = cam.pixel_directions(np.column_stack([xs.ravel(), ys.ravel()])).astype(np.float32)
    return _RAYS[key]


def view_cos(res, idx: np.ndarray) -> np.ndarray:
    """(n,) float32 |cos(angle between the surface normal and the direction to the camera)| at the flat
    pixel indices idx of a render result."""
    c = np.einsum("ij,ij->i", res.normal.reshape(-1, 3)[idx], pixel_rays(res.camera)[idx])
    np.abs(c, out=c)
    return np.minimum(c, np.float32(1), out=c)


def known_and_need(r, tex, best, prims, config) -> tuple[np.ndarray, np.ndarray]:
    """What the painted textures so far show in view r (skin pixels; the procedural parts elsewhere, the
    background colour where the view sees nothing) and the inpainting mask: skin pixels whose texel was
    never seen or seen at less than refine_ratio x this view's cos^power weight, dilated.

    tex: material -> (h, w, 4) uint8 painted texture (alpha 255 where painted); best: material -> (h, w)
    float32 best bake weight so far; prims: material -> its primitive index in r.material."""
    import cv2

    known = np.empty(r.albedo.shape, np.uint8)
    known[:] = config.background
    cv2.copyTo(r.albedo, r.mask.view(np.uint8), known)
    need = np.zeros(r.mask.shape, bool)
    flat_known, flat_need = known.reshape(-1, 3), need.reshape(-1)
    for m, prim in prims.items():
        idx = np.flatnonzero(r.material == prim)
        if not idx.size:
            continue
        rgba, b = lookup_uv([tex[m], best[m]], r.uv.reshape(-1, 2)[idx], (False, True))
        # Alpha is 255 on painted texels, 0 elsewhere (rgb 0 too): dividing by the interpolated alpha
        # leaves unpainted texels out of the bilinear lookups along the painted area's border.
        colour = rgba[:, :3].copy()
        edge = np.flatnonzero(rgba[:, 3] < 255)
        a = rgba[edge, 3:].astype(np.float32)
        colour[edge] = np.where(a > 0, np.rint(rgba[edge, :3] * (255.0 / np.maximum(a, 1.0))).clip(0, 255), 0)
        flat_known[idx] = colour
        b = b[:, 0]
        flat_need[idx] = (b <= 0) | (b < config.refine_ratio * view_cos(r, idx) ** np.float32(config.bake_power))
    if config.mask_dilate:
        k = 2 * config.mask_dilate + 1
        need = cv2.dilate(need.view(np.uint8), np.ones((k, k), np.uint8)).view(bool) & r.mask
    return known, need
