"""Renderable hair: strands -> camera-independent ribbons (hair cards), one triangle strip per strand.

Each strand of P points becomes a strip of 2 P vertices and 2 (P - 1) triangles. The strip is centred on
the strand; its width direction starts at the root as the group's root side vector (turned with the skin
by the root's binding frame) and is carried along the strand by rotation-minimizing frames, so a ribbon
lies flat along the head like a hair card and twists only as much as its strand does. Nothing depends on a
camera: a rasteriser draws the triangles, a ray caster intersects them.

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..head import head_frame
from .strands import REGIONS, Groom, StrandGroup, arc_lengths, normalize, rmf


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


def ribbon_strips(points: np.ndarray, side: np.ndarray, width: np.ndarray, tip_taper: np.ndarray, alpha: np.ndarray,
                  color: np.ndarray, region: str, centre: np.ndarray | None = None) -> RibbonMesh:
    """Ribbons of S posed strands (S, P, 3) with root side vectors (S, 3) (world), per-strand width,
    tip_taper, alpha (S,) and color (S, 3). centre: a point inside the head to turn normals away from."""
    pts = np.asarray(points, np.float64)
    s, p, _ = pts.shape
    if s == 0:
        return empty_ribbons()
    t, u, _ = rmf(pts, np.asarray(side, np.float64))
    arc = arc_lengths(pts)
    frac = arc / np.maximum(arc[:, -1:], 1e-9)
    w = np.asarray(width, np.float64)[:, None] * (1 - np.asarray(tip_taper, np.float64)[:, None] * frac)
    a = np.asarray(alpha, np.float64)[:, None] * (1 - 0.5 * np.clip((frac - 0.85) / 0.15, 0, 1))
    half = 0.5 * w[..., None] * u
    pos = np.stack([pts - half, pts + half], 2)  # (S, P, 2, 3): left, right
    nrm = normalize(np.cross(u, t))
    if centre is not None:
        flip = (nrm * (pts - np.asarray(centre, np.float64))).sum(-1) < 0
        nrm[flip] *= -1
    v = np.broadcast_to(frac[..., None], (s, p, 2))
    uu = np.broadcast_to(np.array([0.0, 1.0]), (s, p, 2))
    base = (np.arange(s)[:, None] * p + np.arange(p - 1)[None, :]) * 2  # vertex id of (strand, point, left)
    l0, r0, l1, r1 = base, base + 1, base + 2, base + 3
    tris = np.concatenate([np.stack([l0, r0, l1], -1).reshape(-1, 3), np.stack([r0, r1, l1], -1).reshape(-1, 3)])
    rid = REGIONS.index(region)
    n = s * p * 2
    return RibbonMesh(
        positions=pos.reshape(n, 3).astype(np.float32),
        normals=np.repeat(nrm, 2, axis=1).reshape(n, 3).astype(np.float32),
        tangents=np.repeat(t, 2, axis=1).reshape(n, 3).astype(np.float32),
        uv=np.stack([uu, v], -1).reshape(n, 2).astype(np.float32),
        width=np.repeat(w, 2, axis=1).reshape(n).astype(np.float32),
        alpha=np.repeat(a, 2, axis=1).reshape(n).astype(np.float32),
        color=np.repeat(np.broadcast_to(np.asarray(color, np.float32)[:, None, :], (s, p, 3)), 2, axis=1).reshape(n, 3),
        strand=np.repeat(np.arange(s, dtype=np.int32), 2 * p),
        vertex_region=np.full(n, rid, np.uint8),
        triangles=tris.astype(np.int32),
        region=np.full(len(tris), rid, np.uint8),
    )


def group_ribbons(group: StrandGroup, vertices: np.ndarray, centre: np.ndarray | None = None) -> RibbonMesh:
    """Ribbons of one strand group posed on (V, 3) model vertices."""
    pts = group.evaluate(vertices)
    return ribbon_strips(pts, group.sides(vertices), group.width, group.tip_taper, group.coverage, group.color,
                         group.region, centre)


def build_ribbons(groom: Groom, model, vertices: np.ndarray | None = None,
                  regions: tuple[str, ...] | None = None) -> RibbonMesh:
    """One RibbonMesh of a groom posed on (V, 3) vertices of `model` (default the groom's rest shape),
    optionally only some regions. Triangles of all groups in one mesh, labelled by region."""
    verts = groom.rest_vertices if vertices is None else np.asarray(vertices)
    if verts.ndim != 2:
        raise ValueError("build_ribbons poses one mesh at a time: vertices must be (V, 3)")
    centre, _ = head_frame(model, verts)
    return RibbonMesh.concat([group_ribbons(g, verts, centre) for g in groom.groups
                              if regions is None or g.region in regions])
