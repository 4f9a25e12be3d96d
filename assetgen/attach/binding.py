"""Attachment bindings: geometry expressed relative to the face model's surface.

A bound point is a weighted blend of K *anchors*. An anchor is a point on one triangle of the model
(triangle id + barycentric coordinates) plus an offset expressed in that triangle's local orthonormal
frame at the anchor:

    world(p) = sum_k weight[p, k] * (origin_k + R_k @ offset[p, k])
    origin_k = sum_i bary[p, k, i] * vertex[triangles[tri[p, k], i]]
    R_k      = [tangent | bitangent | normal]       (columns; offset = (t, b, n) components)

The frame at an anchor:
    normal    "face":   the triangle's unit normal (e1 x e2, e1 = v1 - v0, e2 = v2 - v0);
              "smooth": the anchor's barycentric blend of area-weighted vertex normals, normalized
                        (continuous across triangles: neighbouring anchors turn together);
    tangent   the first edge e1 with its normal component removed, normalized;
    bitangent normal x tangent.

Because the same function computes the frames when binding and when evaluating, evaluating a binding on
the vertices it was bound on gives the input points back (up to float32 storage of the offsets, about
1e-7 relative). Any identity + expression of the model (same topology) then moves the bound geometry with
the skin under it. K = 1 with offset 0 pins a point to the surface (hair roots); K = 1 with a non-zero
offset moves a point rigidly with one surface frame (a strand point relative to its root: the strand keeps
its shape in the root frame); K = 2 blends two such predictions (a strand point that follows its root near
the root and drapes with the skin under it further out, see `bind_polylines`). Weights of one point sum to
1, so a blend is exact at rest too.

Rigid items (glasses, hats) use `RigidBinding`: a few anchors on the skin and the best-fit rigid motion of
those anchors (Kabsch) applied to the whole item, so the item moves but never bends.

Shapes: n points, K anchors per point, F triangles, V vertices, B batch. Units are the model's (cm).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from ..errors import InputError
from .vectors import cross

NormalMode = Literal["face", "smooth"]
_EPS = 1e-12
BATCH_CHUNK = 4_000_000  # anchor evaluations per chunk of a batch (bounds evaluate()'s memory)


# ---- the data type -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Binding:
    """n points bound to a triangle mesh topology through K anchors each.

    tri:       (n, K) int32 triangle ids (rows of `triangles`);
    bary:      (n, K, 3) float32 barycentric coordinates of each anchor on its triangle (sum to 1);
    offset:    (n, K, 3) float32 offset from the anchor in its frame, as (tangent, bitangent, normal)
               components, in the mesh's units (cm);
    weight:    (n, K) float32 blend weights, each row sums to 1;
    triangles: (F, 3) int32 the topology the ids refer to (shared, not copied);
    normals:   "face" or "smooth": how anchor frames get their normal (module docstring).
    """

    tri: np.ndarray
    bary: np.ndarray
    offset: np.ndarray
    weight: np.ndarray
    triangles: np.ndarray
    normals: NormalMode = "face"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        tri, bary, off, w = self.tri, self.bary, self.offset, self.weight
        if tri.ndim != 2:
            raise InputError(f"Binding.tri must be (n, K), got {tri.shape}")
        n, k = tri.shape
        if bary.shape != (n, k, 3) or off.shape != (n, k, 3) or w.shape != (n, k):
            raise InputError(
                f"Binding arrays disagree: tri {tri.shape}, bary {bary.shape}, offset {off.shape}, weight {w.shape}"
            )
        if self.normals not in ("face", "smooth"):
            raise InputError(f"Binding.normals must be 'face' or 'smooth', got {self.normals!r}")

    # ---- sizes and slicing ----------------------------------------------------------------------
    def __len__(self) -> int:
        return self.tri.shape[0]

    @property
    def n_anchors(self) -> int:
        return self.tri.shape[1]

    def subset(self, index) -> Binding:
        """The binding of points[index] (any numpy index: slice, int array, bool mask)."""
        return Binding(self.tri[index], self.bary[index], self.offset[index], self.weight[index],
                       self.triangles, self.normals, dict(self.meta))

    @staticmethod
    def concat(bindings: Sequence[Binding]) -> Binding:
        """Points of several bindings one after the other (same topology, K and normal mode)."""
        if not bindings:
            raise InputError("Binding.concat needs at least one binding")
        first = bindings[0]
        for b in bindings[1:]:
            if b.triangles is not first.triangles and not np.array_equal(b.triangles, first.triangles):
                raise InputError("Binding.concat: the bindings refer to different topologies")
            if b.n_anchors != first.n_anchors or b.normals != first.normals:
                raise InputError("Binding.concat: the bindings differ in anchors per point or normal mode")
        return Binding(*(np.concatenate([getattr(b, a) for b in bindings]) for a in ("tri", "bary", "offset", "weight")),
                       first.triangles, first.normals)

    @staticmethod
    def blend(bindings: Sequence[Binding], weights: np.ndarray) -> Binding:
        """One binding whose anchors are those of all `bindings` (each K = 1 or more), point by point.

        weights: (n, len(bindings)) float, per point the share of each binding's prediction (rows are
        normalized here). Exact at rest whenever each input binding is."""
        if not bindings:
            raise InputError("Binding.blend needs at least one binding")
        w = np.asarray(weights, np.float64)
        n = len(bindings[0])
        if w.shape != (n, len(bindings)) or any(len(b) != n for b in bindings):
            raise InputError(f"Binding.blend: weights {w.shape} do not match {len(bindings)} bindings of {n} points")
        if (w < 0).any():
            raise InputError("Binding.blend: weights must be >= 0")
        w = w / np.maximum(w.sum(1, keepdims=True), _EPS)
        normals = bindings[0].normals
        if any(b.normals != normals for b in bindings):
            raise InputError("Binding.blend: the bindings differ in normal mode")
        tri = np.concatenate([b.tri for b in bindings], 1)
        bary = np.concatenate([b.bary for b in bindings], 1)
        off = np.concatenate([b.offset for b in bindings], 1)
        ww = np.concatenate([b.weight * w[:, [i]] for i, b in enumerate(bindings)], 1).astype(np.float32)
        return Binding(tri, bary, off, ww, bindings[0].triangles, normals)

    # ---- evaluation ---------------------------------------------------------------------------------
    def evaluate(self, vertices: np.ndarray) -> np.ndarray:
        """(n, 3) or (B, n, 3) float32 positions for (V, 3) or (B, V, 3) vertices. See `evaluate`."""
        return evaluate(self, vertices)

    def frames(self, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Anchor origins (..., n, K, 3) and frames (..., n, K, 3, 3) float64 (columns t, b, n). Each distinct
        anchor is framed once (a strand's points share its root anchor, neighbours share surface anchors)
        and gathered to every point: the same values as framing them all."""
        tri, bary, inverse = self._distinct_anchors
        origin, rot = anchor_frames(vertices, self.triangles, tri, bary, self.normals, self._normal_support)
        return np.take(origin[..., 0, :], inverse, axis=-2), np.take(rot[..., 0, :, :], inverse, axis=-3)

    def rotate(self, vertices: np.ndarray, local: np.ndarray, anchor: int = 0) -> np.ndarray:
        """World directions of vectors given in the frames of anchor `anchor`: local (n, 3) -> (..., n, 3)."""
        _, rot = anchor_frames(vertices, self.triangles, self.tri[:, anchor:anchor + 1],
                               self.bary[:, anchor:anchor + 1], self.normals, self._normal_support)
        return np.einsum("...nij,nj->...ni", rot[..., 0, :, :], np.asarray(local, np.float64))

    def to_local(self, vertices: np.ndarray, world: np.ndarray, anchor: int = 0) -> np.ndarray:
        """Inverse of `rotate` for one (V, 3) mesh: world directions (n, 3) -> (n, 3) frame components."""
        _, rot = anchor_frames(vertices, self.triangles, self.tri[:, anchor:anchor + 1],
                               self.bary[:, anchor:anchor + 1], self.normals, self._normal_support)
        return np.einsum("nji,nj->ni", rot[:, 0], np.asarray(world, np.float64))

    @cached_property
    def _distinct_anchors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The distinct anchors (equal triangle and barycentric bytes): tri (m, 1), bary (m, 1, 3) and, per
        point and anchor, its row among them (n, K)."""
        n, k = self.tri.shape
        key = np.concatenate([np.ascontiguousarray(self.tri).reshape(n * k, -1).view(np.uint8),
                              np.ascontiguousarray(self.bary).reshape(n * k, -1).view(np.uint8)], 1)
        key = np.ascontiguousarray(key).view(np.dtype((np.void, key.shape[1]))).ravel()
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        return (self.tri.reshape(-1)[first].reshape(-1, 1), self.bary.reshape(-1, 3)[first].reshape(-1, 1, 3),
                inverse.reshape(n, k))

    @cached_property
    def _normal_support(self):
        return _NormalSupport(self.triangles, self.tri) if self.normals == "smooth" else None


# ---- frames -------------------------------------------------------------------------------------
class _NormalSupport:
    """The triangles around the vertices a binding's anchors use, and a sparse vertex <- triangle sum,
    so smooth normals cost only what the binding touches (also for a batch of meshes)."""

    def __init__(self, triangles: np.ndarray, tri: np.ndarray):
        from scipy import sparse

        triangles = np.asarray(triangles)
        used = np.unique(triangles[np.unique(tri)].ravel())
        touches = np.isin(triangles, used).any(1)
        self.support = np.flatnonzero(touches)
        corners = triangles[self.support]
        rows, cols = [], []
        for c in range(3):
            vid = corners[:, c]
            keep = np.isin(vid, used)
            rows.append(np.searchsorted(used, vid[keep]))
            cols.append(np.flatnonzero(keep))
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        self.matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(used), len(self.support)))
        self.used = used
        self.corners = corners

    def vertex_normals(self, vertices: np.ndarray) -> np.ndarray:
        """(..., len(used), 3) float64 unit area-weighted normals of the used vertices."""
        v = np.asarray(vertices, np.float64)
        a, b, c = (v[..., self.corners[:, i], :] for i in range(3))
        fn = np.cross(b - a, c - a)  # (..., Fs, 3), length = 2 * area
        batch = fn.shape[:-2]
        flat = np.moveaxis(fn, -2, 0).reshape(fn.shape[-2], -1)
        vn = (self.matrix @ flat).reshape((len(self.used),) + batch + (3,))
        vn = np.moveaxis(vn, 0, -2)
        return vn / np.maximum(np.linalg.norm(vn, axis=-1, keepdims=True), _EPS)


def vertex_normals64(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(V, 3) float64 unit area-weighted vertex normals (0 for unused vertices); one bincount per axis."""
    v = np.asarray(vertices, np.float64)
    t = np.asarray(triangles, np.int64)
    a, b, c = v[t[:, 0]], v[t[:, 1]], v[t[:, 2]]
    fn = np.cross(b - a, c - a)
    corners = t.T.ravel()
    n = np.stack([np.bincount(corners, weights=np.tile(fn[:, k], 3), minlength=len(v)) for k in range(3)], 1)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), _EPS)


def anchor_frames(vertices, triangles, tri, bary, normals: NormalMode = "face", support=None, vertex_normals=None):
    """Origins (..., n, K, 3) and frames (..., n, K, 3, 3) float64 of anchors (tri (n, K), bary (n, K, 3))
    on (V, 3) or (B, V, 3) vertices. Frame columns: tangent, bitangent, normal (module docstring).
    vertex_normals: the (V, 3) smooth normals of these vertices if already known (vertex_normals64)."""
    v = np.asarray(vertices)
    if v.ndim not in (2, 3) or v.shape[-1] != 3:
        raise InputError(f"vertices must be (V, 3) or (B, V, 3), got {v.shape}")
    tri = np.asarray(tri)
    corners = np.take(np.asarray(triangles), tri, axis=0)  # (n, K, 3)
    bary = np.asarray(bary, np.float64)
    p = [np.take(v, corners[..., i], axis=-2).astype(np.float64, copy=False) for i in range(3)]  # (..., n, K, 3)
    origin = p[0] * bary[..., 0:1] + p[1] * bary[..., 1:2] + p[2] * bary[..., 2:3]
    e1, e2 = p[1] - p[0], p[2] - p[0]
    if normals == "face":
        n = cross(e1, e2)
    else:
        if vertex_normals is not None:
            vn, idx = np.asarray(vertex_normals, np.float64), corners
        elif support is None:  # all vertex normals of the mesh(es): cheap for one mesh, no set-up
            flat = v.reshape((-1,) + v.shape[-2:])
            vn, idx = np.stack([vertex_normals64(m, triangles) for m in flat]).reshape(v.shape), corners
        else:
            vn = support.vertex_normals(v)  # (..., U, 3)
            idx = np.searchsorted(support.used, corners)  # (n, K, 3)
        n = sum(np.take(vn, idx[..., i], axis=-2) * bary[..., i:i + 1] for i in range(3))
        # a degenerate blend (opposite normals) falls back to the face normal
        bad = _norm(n) < 1e-8
        if bad.any():
            n = np.where(bad, cross(e1, e2), n)
    n = n / np.maximum(_norm(n), _EPS)
    t = e1 - n * np.einsum("...i,...i->...", e1, n)[..., None]
    t = t / np.maximum(_norm(t), _EPS)
    b = cross(n, t)
    return origin, np.stack([t, b, n], axis=-1)


def _norm(x: np.ndarray) -> np.ndarray:
    """(..., 1) Euclidean lengths of (..., 3) vectors."""
    return np.sqrt(np.einsum("...i,...i->...", x, x))[..., None]


def evaluate(binding: Binding, vertices: np.ndarray) -> np.ndarray:
    """Positions of the bound points on evaluated meshes.

    vertices: (V, 3) or (B, V, 3) float (any identity + expression of the model the binding was made on).
    Returns (n, 3) or (B, n, 3) float32. Vectorized over points, anchors and the batch (large batches
    are done in chunks of about 4 M anchor evaluations to bound memory)."""
    v = np.asarray(vertices)
    if v.ndim == 3:
        step = max(1, int(BATCH_CHUNK // max(1, binding.tri.size)))
        if len(v) > step:
            return np.concatenate([evaluate(binding, v[i:i + step]) for i in range(0, len(v), step)])
    origin, rot = binding.frames(v)
    world = origin + np.einsum("...ij,...j->...i", rot, binding.offset.astype(np.float64))
    out = np.einsum("...nkc,nk->...nc", world, binding.weight.astype(np.float64))
    return out.astype(np.float32)


# ---- binding -------------------------------------------------------------------------------------
def closest_on_triangles(points: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(n, 3) float64 barycentric coordinates of the closest point on triangle (a, b, c) to each point
    (all (n, 3)); Ericson's region tests, vectorized. Degenerate triangles give a corner or an edge point."""
    p, a, b, c = (np.asarray(x, np.float64) for x in (points, a, b, c))
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(1), (ac * ap).sum(1)
    bp = p - b
    d3, d4 = (ab * bp).sum(1), (ac * bp).sum(1)
    cp = p - c
    d5, d6 = (ab * cp).sum(1), (ac * cp).sum(1)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    n = len(p)
    out = np.empty((n, 3))
    done = np.zeros(n, bool)

    def put(mask, u, v, w):  # the first region test that holds decides
        m = mask & ~done
        out[m, 0], out[m, 1], out[m, 2] = u[m], v[m], w[m]
        done[m] = True

    with np.errstate(divide="ignore", invalid="ignore"):
        one, zero = np.ones(n), np.zeros(n)
        put((d1 <= 0) & (d2 <= 0), one, zero, zero)  # vertex a
        put((d3 >= 0) & (d4 <= d3), zero, one, zero)  # vertex b
        t = d1 / (d1 - d3)
        put((vc <= 0) & (d1 >= 0) & (d3 <= 0), 1 - t, t, zero)  # edge ab
        put((d6 >= 0) & (d5 <= d6), zero, zero, one)  # vertex c
        t = d2 / (d2 - d6)
        put((vb <= 0) & (d2 >= 0) & (d6 <= 0), 1 - t, zero, t)  # edge ac
        t = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        put((va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0), zero, 1 - t, t)  # edge bc
        den = va + vb + vc
        v, w = vb / den, vc / den
        put(np.ones(n, bool), 1 - v - w, v, w)  # inside
    bad = ~np.isfinite(out).all(1)
    out[bad] = (1.0, 0.0, 0.0)
    return out


def nearest_triangles(vertices: np.ndarray, triangles: np.ndarray, points: np.ndarray,
                      candidates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the closest triangle (among `candidates`, default all) and the barycentric
    coordinates of the closest point on it: ((n,) int32 triangle ids, (n, 3) float64). open3d's BVH."""
    import open3d as o3d

    triangles = np.asarray(triangles)
    cand = np.arange(len(triangles)) if candidates is None else np.asarray(candidates)
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(vertices, np.float32)),
                        o3d.core.Tensor(np.ascontiguousarray(triangles[cand], np.uint32)))
    res = scene.compute_closest_points(o3d.core.Tensor(np.ascontiguousarray(points, np.float32)))
    tri = cand[res["primitive_ids"].numpy().astype(np.int64)].astype(np.int32)
    v = np.asarray(vertices, np.float64)
    corners = triangles[tri]
    bary = closest_on_triangles(points, v[corners[:, 0]], v[corners[:, 1]], v[corners[:, 2]])
    return tri, bary


def bind_at(vertices: np.ndarray, triangles: np.ndarray, points: np.ndarray, tri: np.ndarray, bary: np.ndarray,
            normals: NormalMode = "face", vertex_normals: np.ndarray | None = None) -> Binding:
    """Bind points to given anchors (tri (n,) ids, bary (n, 3)): offset = frame^T (point - anchor). K = 1.
    vertex_normals: (V, 3) vertex_normals64 of `vertices` to reuse (smooth mode; computed if None)."""
    points = np.asarray(points, np.float64)
    tri = np.asarray(tri, np.int64).reshape(-1, 1)
    bary = np.asarray(bary, np.float64).reshape(-1, 1, 3)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) != len(tri):
        raise InputError(f"points must be (n, 3) matching {len(tri)} anchors, got {points.shape}")
    bary32 = bary.astype(np.float32)  # the frames are computed from the stored (float32) coordinates
    draft = Binding(tri.astype(np.int32), bary32, np.zeros_like(bary32), np.ones(tri.shape, np.float32),
                    np.asarray(triangles, np.int32), normals)
    origin, rot = anchor_frames(vertices, draft.triangles, draft.tri, draft.bary, normals, vertex_normals=vertex_normals)
    local = np.einsum("nji,nj->ni", rot[:, 0], points - origin[:, 0])
    return Binding(draft.tri, bary32, local[:, None, :].astype(np.float32), draft.weight, draft.triangles, normals)


def bind(vertices: np.ndarray, triangles: np.ndarray, points: np.ndarray, tri_ids: np.ndarray | None = None,
         *, normals: NormalMode = "face", candidates: np.ndarray | None = None) -> Binding:
    """Bind (n, 3) points to the mesh (vertices (V, 3) at rest, triangles (F, 3)).

    tri_ids: (n,) the triangle of each point, or None for the nearest triangle (open3d closest point;
    `candidates` restricts the search, e.g. to skin triangles). The anchor is the closest point on that
    triangle; the offset (usually along the normal) is kept in the anchor's frame. K = 1."""
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise InputError(f"points must be (n, 3), got {points.shape}")
    v = np.asarray(vertices, np.float64)
    if tri_ids is None:
        tri, bary = nearest_triangles(v, triangles, points, candidates)
    else:
        tri = np.asarray(tri_ids, np.int64)
        corners = np.asarray(triangles)[tri]
        bary = closest_on_triangles(points, v[corners[:, 0]], v[corners[:, 1]], v[corners[:, 2]])
    return bind_at(v, triangles, points, tri, bary, normals)


def bind_polylines(vertices: np.ndarray, triangles: np.ndarray, polylines: np.ndarray, root_tri: np.ndarray,
                   root_bary: np.ndarray, *, mode: Literal["root", "surface", "blend"] = "root",
                   surface_tri: np.ndarray | None = None, surface_bary: np.ndarray | None = None,
                   blend: tuple[float, float] = (0.5, 1.5), normals: NormalMode = "smooth",
                   vertex_normals: np.ndarray | None = None) -> Binding:
    """Bind polylines (S, P, 3) whose first point is a surface point (root_tri (S,), root_bary (S, 3)).

    Returns a Binding of S * P points (row-major: strand s point j is row s * P + j).

    mode "root":    every point is offset from its strand's root frame: a strand keeps its shape relative
                    to the root (eyebrows, lashes, beards, short hair: the skin under them hardly bends).
    mode "surface": every point is offset from its own surface anchor (surface_tri (S, P), surface_bary
                    (S, P, 3), e.g. its nearest skin point): the strand drapes with the skin under it, so a
                    point lying 2 mm above a wider or narrower head stays 2 mm above it (long hair).
    mode "blend":   root frame for arc length <= blend[0] (cm) from the root, surface anchor beyond
                    blend[1], smoothstep between. Keeps the lift at the root and the draping further out.
    The root point itself is always anchored at its root with zero offset, so roots stay exactly on the
    skin for every identity and expression."""
    if mode not in ("root", "surface", "blend"):
        raise InputError(f"bind_polylines mode must be 'root', 'surface' or 'blend', got {mode!r}")
    pts = np.asarray(polylines, np.float64)
    if pts.ndim != 3 or pts.shape[2] != 3:
        raise InputError(f"polylines must be (S, P, 3), got {pts.shape}")
    s, p, _ = pts.shape
    root_tri = np.asarray(root_tri).reshape(s)
    root_bary = np.asarray(root_bary, np.float64).reshape(s, 3)
    flat = pts.reshape(-1, 3)
    rtri = np.repeat(root_tri, p)
    rbary = np.repeat(root_bary, p, axis=0)
    if normals == "smooth" and vertex_normals is None:
        vertex_normals = vertex_normals64(vertices, triangles)
    if mode == "root":
        return _zero_roots(_bind_to_roots(vertices, triangles, pts, root_tri, root_bary, normals, vertex_normals), p)
    if surface_tri is None or surface_bary is None:
        raise InputError(f"bind_polylines mode {mode!r} needs surface_tri and surface_bary")
    stri = np.asarray(surface_tri).reshape(s, p).copy()
    sbary = np.asarray(surface_bary, np.float64).reshape(s, p, 3).copy()
    stri[:, 0], sbary[:, 0] = root_tri, root_bary
    stri, sbary = stri.reshape(-1), sbary.reshape(-1, 3)
    if mode == "surface":
        return _zero_roots(bind_at(vertices, triangles, flat, stri, sbary, normals, vertex_normals), p)
    d = np.diff(pts, axis=1)
    seg = np.sqrt(np.einsum("spi,spi->sp", d, d))
    arc = np.concatenate([np.zeros((s, 1)), np.cumsum(seg, 1)], 1).reshape(-1)
    a, b = blend
    x = np.clip((arc - a) / max(b - a, 1e-9), 0, 1)
    w_surface = x * x * (3 - 2 * x)
    # each anchor is bound only where it has weight (the rest keep a zero-weight copy of the root anchor)
    tri = np.stack([rtri, rtri], 1).astype(np.int32)
    bary = np.stack([rbary, rbary], 1)
    off = np.zeros((s * p, 2, 3))
    roots = _bind_to_roots(vertices, triangles, pts, root_tri, root_bary, normals, vertex_normals)
    off[:, 0] = roots.offset[:, 0]
    sel = w_surface > 0
    if sel.any():
        part = bind_at(vertices, triangles, flat[sel], stri[sel], sbary[sel], normals, vertex_normals)
        tri[sel, 1], bary[sel, 1], off[sel, 1] = part.tri[:, 0], part.bary[:, 0], part.offset[:, 0]
    w = np.stack([1 - w_surface, w_surface], 1).astype(np.float32)
    both = Binding(tri, bary.astype(np.float32), off.astype(np.float32), w, np.asarray(triangles, np.int32), normals)
    return _zero_roots(both, p)


def _bind_to_roots(vertices, triangles, pts, root_tri, root_bary, normals, vertex_normals) -> Binding:
    """bind_at of every point of (S, P, 3) polylines to its strand's root anchor, with the S root frames
    computed once (the same numbers bind_at would compute per point)."""
    s, p, _ = pts.shape
    bary32 = np.asarray(root_bary, np.float32).reshape(s, 1, 3)
    tri = np.asarray(root_tri, np.int64).reshape(s, 1)
    origin, rot = anchor_frames(vertices, triangles, tri, bary32, normals, vertex_normals=vertex_normals)
    local = ((pts - origin[:, 0][:, None, :]) @ rot[:, 0]).reshape(-1, 1, 3)  # R^T (p - o) per point
    n = s * p
    return Binding(np.repeat(tri, p, axis=0).astype(np.int32), np.repeat(bary32, p, axis=0), local.astype(np.float32),
                   np.ones((n, 1), np.float32), np.asarray(triangles, np.int32), normals)


def _zero_roots(b: Binding, p: int) -> Binding:
    """Root rows (every p-th): all weight on the first anchor, zero offset (the root's surface point)."""
    off, w = b.offset.copy(), b.weight.copy()
    off[::p] = 0.0
    w[::p] = 0.0
    w[::p, 0] = 1.0
    return Binding(b.tri, b.bary, off, w, b.triangles, b.normals)


# ---- rigid items ---------------------------------------------------------------------------------
def fit_rigid(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares rotation R and translation t with dst ~ src @ R.T + t (Kabsch, no scaling).

    src: (m, 3); dst: (m, 3) or (B, m, 3). Returns R (3, 3) or (B, 3, 3), t (3,) or (B, 3), float64."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    cs = (src * w[:, None]).sum(0)
    cd = np.einsum("...mi,m->...i", dst, w)
    h = np.einsum("m,mi,...mj->...ij", w, src - cs, dst - cd[..., None, :])
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("...ij,...jk->...ik", u, vt)))
    fix = np.ones(h.shape[:-1])
    fix[..., 2] = d
    r = np.einsum("...ji,...j,...kj->...ik", vt, fix, u)
    t = cd - np.einsum("...ij,j->...i", r, cs)
    return r, t


@dataclass(frozen=True, eq=False)
class RigidBinding:
    """A rigid item (glasses, a hat shell) that follows a few skin anchors as one rigid body.

    anchors: Binding of m surface points (K = 1, usually zero offset) on the skin where the item rests;
    rest: (m, 3) float64 their rest positions; weights: (m,) how much each anchor counts in the fit.
    transform(vertices) gives the best-fit motion of the anchors; apply(...) moves the item's points."""

    anchors: Binding
    rest: np.ndarray
    weights: np.ndarray

    @staticmethod
    def from_points(vertices, triangles, anchor_points, weights=None, candidates=None) -> RigidBinding:
        b = bind(vertices, triangles, anchor_points, normals="face", candidates=candidates)
        rest = b.evaluate(vertices).astype(np.float64)
        w = np.ones(len(rest)) if weights is None else np.asarray(weights, np.float64)
        return RigidBinding(b, rest, w)

    def transform(self, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """R (3, 3) or (B, 3, 3), t (3,) or (B, 3) float64: world = R @ rest_point + t."""
        return fit_rigid(self.rest, self.anchors.evaluate(vertices), self.weights)

    def apply(self, vertices: np.ndarray, points: np.ndarray) -> np.ndarray:
        """(n, 3) item points at rest -> (n, 3) or (B, n, 3) float32 on the evaluated mesh(es)."""
        r, t = self.transform(vertices)
        out = np.einsum("...ij,nj->...ni", r, np.asarray(points, np.float64)) + t[..., None, :]
        return out.astype(np.float32)
