"""The skin's per-layout fields: low-resolution position / region maps and landmark region weights.

Regions are soft weights defined by 3D distance on the NEUTRAL mesh to landmark curves (Multi-PIE 68
indexing), so they are continuous across UV seams and across materials. They depend only on (topology,
neutral shape, UV resolution); fields_store keeps them once per layout.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.ndimage import distance_transform_edt

from ..uv import MaterialRaster, fill_background, interpolate
from .fields import SKIN_MATERIALS, Landmarks, LayoutFields, MaterialFields, low_factor

# Multi-PIE 68 landmark groups (0-based).
JAW = list(range(0, 17))
BROW_RIGHT = [17, 18, 19, 20, 21]  # subject's right = -x in ICT, listed outer -> inner
BROW_LEFT = [26, 25, 24, 23, 22]  # listed outer -> inner as well
NOSE_BRIDGE = [27, 28, 29, 30]
NOSTRILS = [31, 32, 33, 34, 35]
EYE_RIGHT = [36, 37, 38, 39, 40, 41]
EYE_LEFT = [42, 43, 44, 45, 46, 47]
MOUTH_OUTER = list(range(48, 60))


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def polyline_distance(p, curve: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance from (N, 3) points to a (K, 3) polyline, and the arc-length parameter in [0, 1] of the
    closest point. Vectorized over points (float32, one coordinate array at a time: no small trailing
    axes), looped over the K - 1 segments (K is small). `p` may also be a (x, y, z) tuple of (N,) arrays."""
    x, y, z = _components(p)
    curve = np.asarray(curve, np.float64)
    seg = np.diff(curve, axis=0)
    seg_len = np.sqrt((seg * seg).sum(1))
    total = max(float(seg_len.sum()), 1e-8)
    best = None
    param = None
    acc = 0.0
    for a, ab, length in zip(curve[:-1], seg, seg_len):
        ax, ay, az = (np.float32(v) for v in a)
        bx, by, bz = (np.float32(v) for v in ab)
        inv = np.float32(1.0 / max(float(ab @ ab), 1e-12))
        dx, dy, dz = x - ax, y - ay, z - az
        t = dx * (bx * inv)
        t += dy * (by * inv)
        t += dz * (bz * inv)
        np.clip(t, 0.0, 1.0, out=t)
        dx -= t * bx
        dy -= t * by
        dz -= t * bz
        d2 = dx * dx
        d2 += dy * dy
        d2 += dz * dz
        tp = t * np.float32(length / total)
        tp += np.float32(acc / total)
        if best is None:
            best, param = d2, tp
        else:
            closer = d2 < best
            np.copyto(best, d2, where=closer)
            np.copyto(param, tp, where=closer)
        acc += float(length)
    return np.sqrt(best), param


def _components(p) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if isinstance(p, tuple):
        return p
    p = np.asarray(p, np.float32)
    return (np.ascontiguousarray(p[:, 0]), np.ascontiguousarray(p[:, 1]), np.ascontiguousarray(p[:, 2]))


def point_distance(p, c) -> np.ndarray:
    """(N,) float32 distance of points (an (x, y, z) tuple of (N,) float32 arrays) to one point c."""
    x, y, z = p
    cx, cy, cz = (np.float32(v) for v in np.asarray(c, np.float64))
    dx, dy, dz = x - cx, y - cy, z - cz
    d2 = dx * dx
    d2 += dy * dy
    d2 += dz * dz
    return np.sqrt(d2, out=d2)


def gaussian(d: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * (d / sigma) ** 2).astype(np.float32)


def region_weights(points: np.ndarray, lm: Landmarks) -> dict[str, np.ndarray]:
    """Soft region weights (N,) float32 in [0, 1] for (N, 3) neutral-surface points.

    Keys: brow_right, brow_left (brow hair density shape), cheeks, nose, nose_tip, forehead, chin,
    beard, eyelids (eyeshadow area), lash_line (eyeliner), under_eye, blush, tzone, ears (none yet),
    sun (sun exposure: nose, cheeks, forehead), crow (crow's feet), nasolabial, forehead_y (height above
    the brows in cm, for wrinkle lines)."""
    p = lm.p
    pts = _components(points)
    x, y, z = pts
    front = smoothstep(p[0, 2] - 2.0, p[0, 2] + 1.0, z)  # fades out towards the ears / back of the head
    out: dict[str, np.ndarray] = {}

    # Brows: a band along the brow landmarks, a little above them (the Multi-PIE brow points sit on the
    # lower half of the brow), thick at the inner end and thin at the tail.
    for name, idx in (("brow_right", BROW_RIGHT), ("brow_left", BROW_LEFT)):
        curve = p[idx] + np.array([0.0, 0.12, 0.0], np.float32)
        d, t = polyline_distance(pts, curve)
        half = 0.28 + 0.27 * t  # t = 1 at the inner end (curves are listed outer -> inner)
        out[name] = (1.0 - smoothstep(0.55, 1.0, d / half)) * front

    cheeks = lm.cheek_centres()
    dc = np.minimum(point_distance(pts, cheeks[0]), point_distance(pts, cheeks[1]))
    out["cheeks"] = gaussian(dc, 1.6)
    out["blush"] = gaussian(np.minimum(point_distance(pts, cheeks[0] + [0.3, 0.5, 0.3]),
                                       point_distance(pts, cheeks[1] + [-0.3, 0.5, 0.3])), 1.3)

    dn, _ = polyline_distance(pts, p[NOSE_BRIDGE + [33]])
    dw = np.minimum(point_distance(pts, p[31]), point_distance(pts, p[35]))
    out["nose"] = np.maximum(gaussian(dn, 0.75), gaussian(dw, 0.6))
    out["nose_tip"] = gaussian(point_distance(pts, p[30]), 0.7)

    brow_y = float(np.mean(p[17:27, 1]))
    out["forehead_y"] = (y - brow_y).astype(np.float32)
    out["forehead"] = smoothstep(0.4, 1.2, y - brow_y) * (1.0 - smoothstep(3.5, 5.5, np.abs(x))) * front
    out["tzone"] = np.clip(out["forehead"] * (1.0 - smoothstep(1.5, 4.0, np.abs(x))) + out["nose"], 0, 1)
    out["chin"] = gaussian(point_distance(pts, p[8] + [0.0, 1.2, 0.0]), 1.3)

    # Beard: below a line from the sideburn (jaw top, lm 0/16) over the cheek to above the mouth corners
    # and under the nose; down the neck to a neckline ~2.5 cm below the jaw; front half of the head only.
    ax = np.abs(x)
    sideburn = (float(abs(p[0, 0]) + abs(p[16, 0])) / 2, float(p[0, 1] + p[16, 1]) / 2 - 0.3)
    corner = (float(abs(p[48, 0]) + abs(p[54, 0])) / 2 + 0.4, float(p[48, 1] + p[54, 1]) / 2 + 1.6)
    under_nose = float(p[33, 1]) - 0.15
    top = np.interp(ax, [0.0, corner[0] - 0.6, corner[0], sideburn[0] - 1.5, sideburn[0]],
                    [under_nose, under_nose, corner[1], sideburn[1] - 2.2, sideburn[1]])
    below_top = 1.0 - smoothstep(-0.4, 0.3, y - top)
    jaw_y = np.interp(ax, np.abs(p[JAW[:9], 0])[::-1], p[JAW[:9], 1][::-1])
    neckline = smoothstep(-3.2, -2.2, y - jaw_y)
    back = smoothstep(p[0, 2] - 3.0, p[0, 2] - 1.0, z)  # no beard on the nape
    out["beard"] = (below_top * neckline * back).astype(np.float32)

    # Eyes: eyelids (eyeshadow) between the upper lid and the brow; lash line (eyeliner) along the lid margin.
    lids, lash, under = [], [], []
    for eye, brow in ((EYE_RIGHT, BROW_RIGHT), (EYE_LEFT, BROW_LEFT)):
        upper = p[[eye[0], eye[1], eye[2], eye[3]]]
        lower = p[[eye[3], eye[4], eye[5], eye[0]]]
        du, tu = polyline_distance(pts, upper)
        dl, _ = polyline_distance(pts, lower)
        centre = p[eye].mean(0)
        above = smoothstep(-0.05, 0.15, y - (np.interp(x, np.sort(upper[:, 0]), upper[np.argsort(upper[:, 0]), 1])))
        lids.append((1.0 - smoothstep(0.5, 1.1, du)) * above)
        # eyeliner thickens towards the outer corner (tu small at eye[0] for the right eye listing)
        outer_first = abs(p[eye[0], 0]) > abs(p[eye[3], 0])
        wing = (1.0 - tu) if outer_first else tu
        lash.append(np.maximum(1.0 - smoothstep(0.06, 0.14 + 0.08 * wing, du),
                               0.5 * (1.0 - smoothstep(0.04, 0.1, dl))))
        under.append(gaussian(point_distance(pts, centre + [0.0, -0.8, -0.2]), 0.6))
    out["eyelids"] = np.maximum(*lids).astype(np.float32)
    out["lash_line"] = np.maximum(*lash).astype(np.float32)
    out["under_eye"] = np.maximum(*under).astype(np.float32)

    crow = [gaussian(point_distance(pts, p[i] + [s * 0.7, 0.0, -0.4]), 0.55)
            for i, s in ((36, -1.0), (45, 1.0))]
    out["crow"] = np.maximum(*crow)
    nl = [polyline_distance(pts, np.stack([p[a] + [s * 0.35, 0, 0], p[b] + [s * 0.35, -0.1, 0]]))[0]
          for a, b, s in ((31, 48, -1.0), (35, 54, 1.0))]
    out["nasolabial"] = gaussian(np.minimum(*nl), 0.18)
    out["sun"] = np.clip(0.6 * out["cheeks"] + out["nose"] + 0.6 * out["forehead"], 0.0, 1.0) * front
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


@lru_cache(maxsize=1)
def region_weight_keys() -> tuple[str, ...]:
    """The keys region_weights() returns."""
    lm = Landmarks(np.random.default_rng(0).normal(size=(68, 3)).astype(np.float32))
    return tuple(sorted(region_weights(np.zeros((1, 3), np.float32), lm)))


def _subsample(raster: MaterialRaster, f: int) -> MaterialRaster:
    """A raster sampled at the centres of f x f blocks (nearest full-res texel)."""
    o = f // 2
    tri = np.ascontiguousarray(np.asarray(raster.triangle)[o::f, o::f])
    bary = np.ascontiguousarray(np.asarray(raster.bary12)[o::f, o::f])
    return MaterialRaster(raster.material, raster.tile_u0, raster.tiles, tri, bary)


def _material_fields(model, raster: MaterialRaster, lm: Landmarks) -> MaterialFields:
    f = low_factor(raster.shape[0])
    low = _subsample(raster, f)
    mask = low.mask
    pos = interpolate(low, model.triangles, model.neutral)
    if mask.any():
        pos = fill_background(pos, mask)
    tri = np.asarray(low.triangle)
    region = np.zeros(tri.shape, np.uint8)
    region[mask] = model.triangle_region[tri[mask]]
    if mask.any() and not mask.all():
        # padding texels take the region of the nearest covered texel, so region-driven fields extend
        # smoothly past island borders
        _, (ri, ci) = distance_transform_edt(~mask, return_indices=True)
        region = region[ri, ci]
    h, w = mask.shape
    weights = {k: v.reshape(h, w) for k, v in region_weights(pos.reshape(-1, 3), lm).items()}
    return MaterialFields(raster.shape, f, pos, region, mask, weights)


def _corner_texels(model, layout) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per material: every (vertex, UV corner) pair, as vertex ids and full-res texel (col, row) coords."""
    out = {}
    uv = model.mesh.uvs
    for mi, name in enumerate(model.material_names):
        if name not in layout.materials:
            continue
        r = layout[name]
        sel = model.triangle_material == mi
        pairs = np.unique(np.stack([model.triangles[sel].ravel(), model.triangle_uv_index[sel].ravel()], 1), axis=0)
        h, w = r.shape
        tex = r.uv_to_texture(uv[pairs[:, 1]])
        out[name] = (pairs[:, 0], np.stack([tex[:, 0] * w - 0.5, tex[:, 1] * h - 0.5], 1).astype(np.float32))
    return out


def skin_fields(model, layout) -> LayoutFields:
    """The layout's skin fields, vertex region weights and UV corners; `extra` is left empty for
    parts.precompute."""
    lm = Landmarks(np.asarray(model.neutral[model.landmarks_68], np.float32))
    skin = {m: _material_fields(model, layout[m], lm) for m in SKIN_MATERIALS if m in layout.materials}
    return LayoutFields(skin, lm, region_weights(model.neutral, lm), _corner_texels(model, layout))
