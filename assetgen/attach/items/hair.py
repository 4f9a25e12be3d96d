"""Hair under items: drop the strands that would poke through a hat, a headscarf or a mask.

Two tests, both needed: the covered area (below), and exact crossings (a strand segment through the item's
mesh, ray casts on the subject's neutral: brims, visors and rims lie outside the covered area).

Each item that covers hair carries a HairClip: the skin triangles it covers and, per triangle, the
clearance between the skin and the item's inside. A scalp, beard or moustache strand is dropped when any of
its points lies over a covered triangle (its nearest skin point) farther from the skin than that clearance
less a margin: it would pass through the item. Strands that stay are under the item (hidden) or outside
what it covers. The test runs on the groom's rest strands (the groom's own rest shape, whose distance grid
head.HeadGeometry keeps) with the per-triangle clearances of the item, which are identity-independent
(both are offsets from the skin), so a groom and an outfit made for one subject match.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

CLIPPED_REGIONS = ("scalp_hair", "beard", "moustache", "eyebrow_left", "eyebrow_right")
MARGIN = 0.08  # cm: strand points this close under the item's inside count as poking through
_PER_STRAND = ("root_tri", "root_bary", "root_radius", "tip_taper", "width", "coverage", "side", "melanin",
               "redness", "grey", "absorption", "color")


@dataclass(frozen=True, eq=False)
class HairClip:
    """Skin triangles (model triangle ids) an item covers and the clearance (cm) between the skin and the
    item's inside there: scalp or face strand points over these triangles farther out than the clearance
    would poke through the item."""

    triangles: np.ndarray
    clearance: np.ndarray  # (len(triangles),) float32


def covered_clearance(outfit, n_triangles: int) -> np.ndarray:
    """(F,) float32 per model triangle: the least clearance of the items covering it (inf: not covered)."""
    out = np.full(n_triangles, np.inf, np.float32)
    for it in outfit.items:
        clip = it.hair_clip
        if clip is not None and len(clip.triangles):
            np.minimum.at(out, clip.triangles, clip.clearance.astype(np.float32))
    return out


def strand_keep(points: np.ndarray, geo, clearance_by_tri: np.ndarray) -> np.ndarray:
    """(S,) bool: strands (S, P, 3) at geo's rest shape that stay clear of the items (module docstring)."""
    s, p, _ = points.shape
    if not s:
        return np.zeros(0, bool)
    flat = points.reshape(-1, 3)
    d = geo.sdf.distance(flat)
    tri, _ = geo.nearest_skin(flat)
    limit = clearance_by_tri[tri] - MARGIN
    poke = np.isfinite(limit) & (d > limit)
    poke = poke.reshape(s, p)
    poke[:, 0] = False  # roots lie on the skin
    return ~poke.any(1)


def crossing(points: np.ndarray, items, rest: np.ndarray) -> np.ndarray:
    """(S,) bool: strands (S, P, 3) posed on `rest` one of whose segments crosses an item's mesh posed on
    `rest` (open3d ray casts along every segment)."""
    import open3d as o3d

    s, p, _ = points.shape
    hit = np.zeros(s, bool)
    if not s or not items:
        return hit
    scene = o3d.t.geometry.RaycastingScene()
    for it in items:
        scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(it.evaluate(rest), np.float32)),
                            o3d.core.Tensor(np.ascontiguousarray(it.mesh.triangles, np.uint32)))
    seg = np.diff(points.astype(np.float64), axis=1).reshape(-1, 3)
    length = np.linalg.norm(seg, axis=1)
    ok = length > 1e-7
    rays = np.concatenate([points[:, :-1].reshape(-1, 3)[ok], seg[ok] / length[ok, None]], 1).astype(np.float32)
    t = scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy()
    bad = np.zeros(len(seg), bool)
    bad[np.flatnonzero(ok)] = t <= length[ok]
    return bad.reshape(s, p - 1).any(1)


def clip_groom(groom, outfit, model, rest: np.ndarray | None = None):
    """The groom without the strands that would poke through the outfit's items (the same groom when no
    item covers hair): strands reaching out of a covered area (strand_keep) and strands one of whose
    segments crosses a hat or mask posed on `rest` (the subject's neutral; default the groom's rest shape).
    info["clipped"] counts the dropped strands per region."""
    from ..head import head_geometry

    clearance = covered_clearance(outfit, len(model.triangles))
    if not np.isfinite(clearance).any():
        return groom
    geo = head_geometry(model, groom.rest_vertices)
    rest = groom.rest_vertices if rest is None else rest
    covering = [it for it in outfit.items if it.hair_clip is not None]
    groups, dropped = [], {}
    for g in groom.groups:
        if g.region not in CLIPPED_REGIONS or not g.n_strands:
            groups.append(g)
            continue
        keep = strand_keep(g.points, geo, clearance)
        if keep.any():
            idx = np.flatnonzero(keep)
            posed = g.binding.subset(_rows(idx, g.n_points)).evaluate(rest).reshape(len(idx), g.n_points, 3)
            keep[idx[crossing(posed, covering, rest)]] = False
        if keep.all():
            groups.append(g)
            continue
        dropped[g.region] = int((~keep).sum())
        if keep.any():
            groups.append(subset_group(g, keep))
    info = dict(groom.info)
    info["clipped"] = dropped
    return replace(groom, groups=tuple(groups), info=info)


def _rows(strands: np.ndarray, n_points: int) -> np.ndarray:
    return (np.asarray(strands)[:, None] * n_points + np.arange(n_points)[None, :]).reshape(-1)


def subset_group(g, keep: np.ndarray):
    """A StrandGroup holding only the strands where keep (S,) bool is True."""
    rows = _rows(np.flatnonzero(keep), g.n_points)
    fields = {k: getattr(g, k)[keep] for k in _PER_STRAND}
    labels = {k: np.asarray(v)[keep] for k, v in g.labels.items()}
    return replace(g, points=g.points[keep], binding=g.binding.subset(rows), labels=labels, **fields)
