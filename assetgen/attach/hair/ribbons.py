"""Renderable hair: strands -> camera-independent ribbons (hair cards), one triangle strip per strand.

Each strand of P points becomes a strip of 2 P vertices and 2 (P - 1) triangles (fewer with the level of
detail below). The strip is centred on the strand; its width direction starts at the root as the group's
root side vector (turned with the skin by the root's binding frame) and is carried along the strand by
rotation-minimizing frames, so a ribbon lies flat along the head like a hair card and twists only as much
as its strand does. Nothing depends on a camera: a rasteriser draws the triangles, a ray caster intersects
them.

Width and coverage (the contract with the renderer and the ground truth):
  * `width` (cm) is the full width of the ribbon at a vertex: the group's per-strand width at the root,
    tapering linearly in arc length to width * (1 - tip_taper) at the tip. One ribbon stands for a clump
    of fibres (scalp: a few mm wide), so a modest number of strands covers a head.
  * `alpha` in (0, 1] is the fraction of the ribbon's area the fibres of the clump actually cover (its fill;
    constant across the width). It fades to 0.5 * alpha over the last 15 % of the length (wispy ends).
  * The hair coverage of a pixel is c = 1 - prod_i (1 - alpha_i * a_i), where a_i is the fraction of the
    pixel's area inside ribbon i (front-to-back over all hair layers; a rasteriser with MSAA or analytic
    coverage computes a_i, a ray caster estimates it with several rays per pixel: a hit on ribbon i counts
    with probability alpha_i). The GT rule "a pixel is hair when c >= 0.5" then marks a pixel fully inside
    one ribbon of alpha >= 0.5 as hair, and needs overlapping ribbons (or one covering >= 0.5 / alpha of the
    pixel) otherwise: thin lashes and brow hairs (0.01-0.04 cm, below a pixel at usual face sizes) are hair
    only where several overlap, as in a photograph.
Vertex attributes: positions, normals (unit ribbon normal, turned away from the head centre), tangents
(unit, root -> tip), uv (u across 0..1, v along 0 root .. 1 tip), width, alpha, color (linear RGB of the
fibres), strand (index within its group), vertex_region; per triangle: region (index into REGIONS).
Triangles run strand by strand, root to tip, the two of each segment together (vertex-cache friendly).

Level of detail (build_ribbons(..., lod=True), what the renderer and every exporter use): a strand point
is left out where the ribbon is straight enough there that the strip between the kept points around it
stays within LOD_TOLERANCE_M of every left-out ribbon vertex (both edges, at the same arc length), its
alpha within LOD_ALPHA_TOLERANCE and its normal and tangent within LOD_ANGLE_DEG. 0.15 mm is half a
pixel of a 1024² view of a head at the typical framing (65 mm lens at 0.58 m, 0.3 mm per pixel) and
under a pixel at the closest (85 mm at 0.45 m). The result depends on the strands alone, never on a
camera: the GLB, the ray caster and the rasteriser see the same triangles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...geometry import UNIT_SCALE
from ..head import head_frame
from .strands import REGIONS, Groom, StrandGroup, arc_lengths, normalize, rmf

LOD_TOLERANCE_M = 1.5e-4  # largest distance of a left-out ribbon vertex from the simplified strip
LOD_ALPHA_TOLERANCE = 0.02  # largest change of a left-out vertex's alpha
LOD_ANGLE_DEG = 5.0  # largest turn of a left-out vertex's normal or tangent
LOD_MAX_SPAN = 8  # segments merged into one at most


@dataclass(frozen=True, eq=False)
class RibbonMesh:
    """Triangle strips of hair. n vertices, m triangles; shapes in the module docstring.

    positions, normals, tangents: (n, 3) float32; uv: (n, 2) float32; width, alpha: (n,) float32;
    color: (n, 3) float32; strand: (n,) int32; vertex_region: (n,) uint8; triangles: (m, 3) int32;
    region: (m,) uint8 (index into region_names)."""

    positions: np.ndarray
    normals: np.ndarray
    tangents: np.ndarray
    uv: np.ndarray
    width: np.ndarray
    alpha: np.ndarray
    color: np.ndarray
    strand: np.ndarray
    vertex_region: np.ndarray
    triangles: np.ndarray
    region: np.ndarray
    region_names: tuple[str, ...] = REGIONS

    @property
    def n_triangles(self) -> int:
        return len(self.triangles)

    @property
    def n_vertices(self) -> int:
        return len(self.positions)

    def triangle_counts(self) -> dict[str, int]:
        counts = np.bincount(self.region, minlength=len(self.region_names))
        return {name: int(c) for name, c in zip(self.region_names, counts) if c}

    @staticmethod
    def concat(meshes: list[RibbonMesh]) -> RibbonMesh:
        meshes = [m for m in meshes if m.n_vertices]
        if not meshes:
            return empty_ribbons()
        offs = np.cumsum([0] + [m.n_vertices for m in meshes[:-1]])
        cat = {k: np.concatenate([getattr(m, k) for m in meshes]) for k in
               ("positions", "normals", "tangents", "uv", "width", "alpha", "color", "strand", "vertex_region", "region")}
        tris = np.concatenate([m.triangles + o for m, o in zip(meshes, offs)]).astype(np.int32)
        return RibbonMesh(triangles=tris, **cat)


def empty_ribbons() -> RibbonMesh:
    z3 = np.zeros((0, 3), np.float32)
    return RibbonMesh(z3, z3, z3, np.zeros((0, 2), np.float32), np.zeros(0, np.float32), np.zeros(0, np.float32), z3,
                      np.zeros(0, np.int32), np.zeros(0, np.uint8), np.zeros((0, 3), np.int32), np.zeros(0, np.uint8))


def ribbon_widths(points: np.ndarray, width: np.ndarray, tip_taper: np.ndarray) -> np.ndarray:
    """(S, P) float64 full ribbon width at each point of (S, P, 3) strands: width (S,) at the root, tapering
    linearly in arc length to width * (1 - tip_taper) at the tip."""
    arc = arc_lengths(points)
    return _tapered(width, tip_taper, arc / np.maximum(arc[:, -1:], 1e-9))


def _tapered(width: np.ndarray, tip_taper: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """(S, P) ribbon widths at arc-length fractions frac (S, P) (ribbon_widths)."""
    return np.asarray(width, np.float64)[:, None] * (1 - np.asarray(tip_taper, np.float64)[:, None] * frac)


def lod_keep(edges: np.ndarray, arc: np.ndarray, alpha: np.ndarray, normals: np.ndarray, tangents: np.ndarray,
             tolerance: float, max_span: int = LOD_MAX_SPAN) -> np.ndarray:
    """(S, P) bool: the strand points a simplified ribbon keeps (roots and tips always). edges (S, P, 2, 3)
    ribbon vertices, arc (S, P) arc length, alpha (S, P), normals and tangents (S, P, 3) unit. From each kept
    point the next kept one is the farthest (at most max_span segments on, every shorter chord holding too)
    whose strip, interpolated in arc length as the rasteriser interpolates it, stays within the tolerances
    (module docstring) at every point it skips."""
    s, p = arc.shape
    keep = np.ones((s, p), bool)
    if s == 0 or p < 3:
        return keep
    e, ar, al = edges.reshape(s * p, 6), arc.reshape(-1), alpha.reshape(-1)
    vecs = (normals.reshape(s * p, 3), tangents.reshape(s * p, 3))
    tol2 = float(tolerance) ** 2
    cos_tol = float(np.cos(np.radians(LOD_ANGLE_DEG)))
    best = np.ones(s * p, np.int64)  # per point: segments to the next kept point when it is kept
    for n in range(2, min(max_span, p - 1) + 1):  # cand: chords (start points) holding at every shorter length
        if n == 2:  # a chord at every point but the last two: the same arithmetic on strided views
            cand = _two_segment_chords(edges.reshape(s, p, 6), arc, alpha, normals, tangents, tol2, cos_tol)
        else:
            cand = cand[cand % p + n <= p - 1]
            # the chord's ends once per chord; each skipped point is then tested on the chords still holding
            live, sub = np.arange(len(cand)), cand
            end = sub + n
            a0, e0, al0 = ar.take(sub), e.take(sub, 0), al.take(sub)
            length = np.maximum(ar.take(end) - a0, 1e-12)
            de, dal = e.take(end, 0) - e0, al.take(end) - al0
            v0 = [v.take(sub, 0) for v in vecs]
            dv = [v.take(end, 0) - x for v, x in zip(vecs, v0)]
            for m in range(1, n):
                mid = sub + m
                lam = ((ar.take(mid) - a0) / length)[:, None]
                d = e0 + de * lam - e.take(mid, 0)
                d *= d
                ok = np.maximum(d[:, :3].sum(1), d[:, 3:].sum(1)) <= tol2
                ok &= np.abs(al0 + dal * lam[:, 0] - al.take(mid)) <= LOD_ALPHA_TOLERANCE
                for v, x, dx in zip(vecs, v0, dv):
                    w = x + dx * lam
                    ok &= (w * v.take(mid, 0)).sum(1) >= cos_tol * np.sqrt((w * w).sum(1))
                if not ok.all():
                    live, sub, a0, e0, al0, length, de, dal = (x[ok] for x in (live, sub, a0, e0, al0, length, de, dal))
                    v0, dv = [x[ok] for x in v0], [x[ok] for x in dv]
            cand = cand[live]
        best[cand] = n
        if not len(cand):
            break
    keep[:] = False
    keep[:, [0, p - 1]] = True
    best = best.reshape(s, p)
    rows = np.arange(s)
    at = np.zeros(s, np.int64)
    todo = rows
    while len(todo):
        at[todo] = np.minimum(at[todo] + best[todo, at[todo]], p - 1)
        keep[todo, at[todo]] = True
        todo = todo[at[todo] < p - 1]
    return keep


def _two_segment_chords(e, ar, al, normals, tangents, tol2: float, cos_tol: float) -> np.ndarray:
    """lod_keep's test of the chords over two segments (the first length; every point but the last two of
    a strand starts one), element for element the same arithmetic: the flat indices (s * P + j) of the
    points whose chord holds, in order."""
    s, p = ar.shape
    a0 = ar[:, :-2]
    length = np.maximum(ar[:, 2:] - a0, 1e-12)
    lam = ((ar[:, 1:-1] - a0) / length)[..., None]
    e0 = e[:, :-2]
    d = e0 + (e[:, 2:] - e0) * lam - e[:, 1:-1]
    d *= d
    ok = np.maximum(d[..., :3].sum(-1), d[..., 3:].sum(-1)) <= tol2
    al0 = al[:, :-2]
    ok &= np.abs(al0 + (al[:, 2:] - al0) * lam[..., 0] - al[:, 1:-1]) <= LOD_ALPHA_TOLERANCE
    for v in (normals, tangents):
        x = v[:, :-2]
        w = x + (v[:, 2:] - x) * lam
        ok &= (w * v[:, 1:-1]).sum(-1) >= cos_tol * np.sqrt((w * w).sum(-1))
    return (np.arange(s)[:, None] * p + np.arange(p - 2))[ok]


def ribbon_strips(points: np.ndarray, side: np.ndarray, width: np.ndarray, tip_taper: np.ndarray, alpha: np.ndarray,
                  color: np.ndarray, region: str, centre: np.ndarray | None = None, tolerance: float = 0.0) -> RibbonMesh:
    """Ribbons of S posed strands (S, P, 3) with root side vectors (S, 3) (world), per-strand width,
    tip_taper, alpha (S,) and color (S, 3). centre: a point inside the head to turn normals away from.
    tolerance > 0 (model units): leave out the points where the ribbon is that straight (lod_keep); 0 keeps
    every point (2 P vertices per strand)."""
    pts = np.asarray(points, np.float64)
    if pts.shape[0] == 0:
        return empty_ribbons()
    geo = strip_geometry(pts, side, width, tip_taper, alpha)
    return strip_mesh(geo, strip_flip(geo, centre), color, region, tolerance)


@dataclass(frozen=True, eq=False)
class StripGeometry:
    """The camera-independent per-point data of S strands' ribbons before normals are turned away from the
    head centre (ribbon_strips): pts, tangents t, unturned normals nrm (S, P, 3) float64, arc, frac (arc /
    length), full width w and alpha a (S, P) float64, edge vertices pos (S, P, 2, 3) (left, right)."""

    pts: np.ndarray
    t: np.ndarray
    nrm: np.ndarray
    arc: np.ndarray
    frac: np.ndarray
    w: np.ndarray
    a: np.ndarray
    pos: np.ndarray


def strip_geometry(pts: np.ndarray, side: np.ndarray, width: np.ndarray, tip_taper: np.ndarray,
                   alpha: np.ndarray) -> StripGeometry:
    """StripGeometry of (S, P, 3) float64 strands (arguments: ribbon_strips)."""
    t, u, _ = rmf(pts, np.asarray(side, np.float64), binormals=False)
    arc = arc_lengths(pts)
    frac = arc / np.maximum(arc[:, -1:], 1e-9)
    w = _tapered(width, tip_taper, frac)
    a = np.asarray(alpha, np.float64)[:, None] * (1 - 0.5 * np.clip((frac - 0.85) / 0.15, 0, 1))
    half = 0.5 * w[..., None] * u
    pos = np.stack([pts - half, pts + half], 2)  # (S, P, 2, 3): left, right
    nrm = normalize(np.cross(u, t))
    return StripGeometry(pts, t, nrm, arc, frac, w, a, pos)


def strip_flip(geo: StripGeometry, centre: np.ndarray | None) -> np.ndarray | None:
    """(S, P) bool: the points whose ribbon normal turns over to face away from `centre` (None: none)."""
    if centre is None:
        return None
    return (geo.nrm * (geo.pts - np.asarray(centre, np.float64))).sum(-1) < 0


def strip_mesh(geo: StripGeometry, flip: np.ndarray | None, color: np.ndarray, region: str,
               tolerance: float) -> RibbonMesh:
    """The RibbonMesh of StripGeometry with normals turned where `flip` (tolerance: see ribbon_strips)."""
    pts = geo.pts
    s, p, _ = pts.shape
    t, pos, arc, frac, w, a = geo.t, geo.pos, geo.arc, geo.frac, geo.w, geo.a
    nrm = geo.nrm
    if flip is not None:
        nrm = nrm.copy()
        nrm[flip] *= -1
    keep = lod_keep(pos, arc, a, nrm, t, tolerance) if tolerance > 0 else np.ones((s, p), bool)
    sel = np.flatnonzero(keep.ravel())  # kept points, strand by strand, root to tip
    strand = sel // p
    k = len(sel)
    # a segment joins kept points g and g + 1 of the same strand; its vertices 2 g (left), 2 g + 1 (right)
    g = np.flatnonzero(strand[1:] == strand[:-1])
    l0, r0, l1, r1 = 2 * g, 2 * g + 1, 2 * g + 2, 2 * g + 3
    tris = np.stack([np.stack([l0, r0, l1], -1), np.stack([r0, r1, l1], -1)], 1).reshape(-1, 3)
    rid = REGIONS.index(region)
    n = 2 * k

    def per_vertex(x, dtype=np.float32):  # (S, P, ...) point values -> (2 k, ...) kept vertex values
        x = np.asarray(x).reshape((s * p,) + np.shape(x)[2:]).take(sel, 0)
        return np.repeat(x.astype(dtype), 2, axis=0)

    return RibbonMesh(
        positions=pos.reshape(s * p, 2, 3).take(sel, 0).reshape(n, 3).astype(np.float32),
        normals=per_vertex(nrm),
        tangents=per_vertex(t),
        uv=np.stack([np.tile([0.0, 1.0], k), np.repeat(frac.ravel()[sel], 2)], -1).astype(np.float32),
        width=per_vertex(w),
        alpha=per_vertex(a),
        color=np.repeat(np.asarray(color, np.float32)[strand], 2, axis=0),
        strand=np.repeat(strand.astype(np.int32), 2),
        vertex_region=np.full(n, rid, np.uint8),
        triangles=tris.astype(np.int32),
        region=np.full(len(tris), rid, np.uint8),
    )


def group_ribbons(group: StrandGroup, vertices: np.ndarray, centre: np.ndarray | None = None,
                  tolerance: float = 0.0) -> RibbonMesh:
    """Ribbons of one strand group posed on (V, 3) model vertices (tolerance: see ribbon_strips)."""
    pts = group.evaluate(vertices)
    return ribbon_strips(pts, group.sides(vertices), group.width, group.tip_taper, group.coverage, group.color,
                         group.region, centre, tolerance)


def lod_tolerance(model) -> float:
    """LOD_TOLERANCE_M in the units of `model` (its `units`, cm by default)."""
    return LOD_TOLERANCE_M / UNIT_SCALE[getattr(model, "units", "cm")]


def posed_group_ribbons(groom: Groom, model, vertices: np.ndarray | None = None,
                        regions: tuple[str, ...] | None = None, lod: bool = False,
                        cache=None) -> list[tuple[StrandGroup, RibbonMesh]]:
    """[(group, its RibbonMesh)] of a groom posed on (V, 3) vertices of `model` (arguments: build_ribbons),
    in the groom's order. cache: a RibbonCache (attach.hair.ribbon_cache) of this groom's subject, which
    gives the same bytes and reuses what an earlier pose already built."""
    verts = groom.rest_vertices if vertices is None else np.asarray(vertices)
    if verts.ndim != 2:
        raise ValueError("build_ribbons poses one mesh at a time: vertices must be (V, 3)")
    centre, _ = head_frame(model, verts)
    tol = lod_tolerance(model) if lod else 0.0
    make = group_ribbons if cache is None else cache.group_ribbons
    return [(g, make(g, verts, centre, tol)) for g in groom.groups if regions is None or g.region in regions]


def build_ribbons(groom: Groom, model, vertices: np.ndarray | None = None,
                  regions: tuple[str, ...] | None = None, lod: bool = False, cache=None) -> RibbonMesh:
    """One RibbonMesh of a groom posed on (V, 3) vertices of `model` (default the groom's rest shape),
    optionally only some regions. Triangles of all groups in one mesh, labelled by region. lod: leave out
    the strand points the ribbon does not need (module docstring); False keeps every point. cache: an
    optional RibbonCache of the subject (same bytes, see posed_group_ribbons)."""
    return RibbonMesh.concat([m for _, m in posed_group_ribbons(groom, model, vertices, regions, lod, cache)])
