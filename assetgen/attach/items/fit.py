"""Per-identity fitting facts: the subject's neutral head, its frame, fast closest-skin queries and the
expression envelope (how far expressions can move the skin towards an item).

Items are fitted on the subject's neutral (identity weights, no expression), in its head frame
(head.head_frame: x the subject's left, y up, z front), then bound to the model so that any expression
poses them. Expressions move the skin under an item; since the model is linear and its expression deltas do
not depend on the identity, every expression alone at full weight (envelope_poses) gives, for any rest point
with its closest skin point, the change of its gap (linearized: the item point's motion under the item's
binding minus the skin point's motion, along the distance gradient); the worst case is the sum of the
COMBINE (3) most negative changes: any three expressions at full weight at once. Fitters keep that worst
case above CLEARANCE.

The distance queries use open3d on the closed skin of the subject (head.HeadGeometry.capped_triangles with
the neutral's vertices: "the head" of the tests), built once per subject.
"""

from __future__ import annotations

import hashlib
import threading
from functools import cached_property

import numpy as np

from ...face.model import blend_modes
from ..head import head_frame, head_geometry
from ..vectors import cross, norm

CLEARANCE = 0.05  # cm: the least gap between an item and the head, for every identity and expression
ENVELOPE_WEIGHT = 1.0
COMBINE = 3  # expressions acting at once in the envelope
_BLOCK = 131072  # float64 values per array in AnchorFrames' blocked loops (a few of them fit in cache)
_SCREEN_CELLS = (1.5, 0.6)  # cm: grid cells of screened_closest's rounds, coarse to fine
_SCREEN_MARGIN = 1e-4  # cm: certified points clear `need` by this much more (open3d answers in float32)
_POSES_CACHE: dict = {}
_LOCK = threading.Lock()


def envelope_poses(model) -> list[dict[str, float]]:
    """The extreme expressions the fit guards against: every expression of the model alone at full weight
    (FitContext.worst_gap combines the COMBINE worst of them)."""
    return [{n: ENVELOPE_WEIGHT} for n in model.expression_names]


def envelope_deltas(model) -> np.ndarray:
    """(K, V, 3) float32 vertex displacements of envelope_poses (identity-independent), cached per model."""
    key = (id(model), model.topology_hash)
    with _LOCK:
        d = _POSES_CACHE.get(key)
        if d is None:
            w = np.stack([model.expression_weights(p) for p in envelope_poses(model)]).astype(np.float32)
            d = blend_modes(w, np.asarray(model.expression_basis, np.float32)).astype(np.float32)
            if len(_POSES_CACHE) > 12:
                _POSES_CACHE.clear()
            _POSES_CACHE[key] = d
    return d


def envelope_deltas_capped(model, geo) -> np.ndarray:
    """(K, V + 4, 3) envelope_deltas with the hole caps' centres (HeadGeometry.capped_vertices), cached."""
    key = ("capped", id(model), model.topology_hash)
    with _LOCK:
        d = _POSES_CACHE.get(key)
    if d is None:
        d = geo.capped_vertices(envelope_deltas(model))
        with _LOCK:
            _POSES_CACHE[key] = d
    return d


def envelope_deltas_by_vertex(model, geo=None) -> np.ndarray:
    """(V, K, 3) envelope_deltas (geo given: (V + 4, K, 3) envelope_deltas_capped), vertex-major, cached."""
    key = ("by_vertex", geo is not None, id(model), model.topology_hash)
    with _LOCK:
        d = _POSES_CACHE.get(key)
    if d is None:
        d = envelope_deltas(model) if geo is None else envelope_deltas_capped(model, geo)
        d = np.ascontiguousarray(d.transpose(1, 0, 2))
        with _LOCK:
            _POSES_CACHE[key] = d
    return d


def envelope_deltas_by_component(model) -> np.ndarray:
    """(V, 3, K) envelope_deltas with the vertex first and the poses last (AnchorFrames' layout), cached."""
    key = ("by_component", id(model), model.topology_hash)
    with _LOCK:
        d = _POSES_CACHE.get(key)
    if d is None:
        d = np.ascontiguousarray(envelope_deltas(model).transpose(1, 2, 0))
        with _LOCK:
            _POSES_CACHE[key] = d
    return d


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(distinct rows, inverse) of a 2-D array with repeated rows (rows equal value for value), None when
    every row is distinct. Rows are grouped by a 1-D sort key and the grouping is verified exactly
    (np.unique(axis=0) sorts whole rows, far slower)."""
    a = np.asarray(a)
    if len(a) < 2:
        return None
    key = a @ (1.0 + np.arange(a.shape[1]) * np.pi)
    order = np.argsort(key, kind="stable")
    k = key[order]
    first = np.concatenate([[True], k[1:] != k[:-1]])
    if first.all():
        if np.isfinite(k).all():
            return None
        uniq, inv = np.unique(a, axis=0, return_inverse=True)
        return (uniq, np.asarray(inv).reshape(-1)) if len(uniq) < len(a) else None
    inv = np.empty(len(a), np.int64)
    inv[order] = np.cumsum(first) - 1
    uniq = a[order[first]]
    if not np.array_equal(uniq[inv], a):  # a key shared by different rows: sort whole rows
        uniq, inv = np.unique(a, axis=0, return_inverse=True)
        inv = np.asarray(inv).reshape(-1)
        if len(uniq) == len(a):
            return None
    return uniq, inv


class FitContext:
    """What every item fitter of one subject shares (built once per subject; cheap until used)."""

    def __init__(self, model, rest: np.ndarray):
        self.model = model
        self.rest = np.asarray(rest, np.float64)
        self.geo = head_geometry(model)  # topology facts (skin, holes, caps) from the model's neutral
        self.origin, self.axes = head_frame(model, self.rest)
        self.lm = self.rest[np.asarray(model.landmarks_68)]
        self.triangles = np.asarray(model.triangles)
        self.region_of = np.asarray(model.triangle_region)

    # ---- frames ----------------------------------------------------------------------------------------
    def to_head(self, p) -> np.ndarray:
        return (np.asarray(p, np.float64) - self.origin) @ self.axes.T

    def from_head(self, q) -> np.ndarray:
        return np.asarray(q, np.float64) @ self.axes + self.origin

    def dir_from_head(self, d) -> np.ndarray:
        return np.asarray(d, np.float64) @ self.axes

    @cached_property
    def lm_head(self) -> np.ndarray:
        return self.to_head(self.lm)

    @cached_property
    def rest_head(self) -> np.ndarray:
        """(V, 3) the neutral's vertices in head coordinates."""
        return self.to_head(self.rest)

    @cached_property
    def binding_normals(self) -> np.ndarray:
        """(V, 3) the neutral's smooth vertex normals as bindings compute them (binding.vertex_normals64), at
        the corners of skin triangles (every item anchor's triangle; the same bytes: the same triangles in
        the same order reach them), 0 elsewhere."""
        from ..binding import vertex_normals64

        memo = self.geo.memo
        if "items.skin_corner_faces" not in memo:  # the triangles around the skin's vertices
            mark = np.zeros(len(self.rest), bool)
            mark[self.geo.skin_corners] = True
            memo["items.skin_corner_faces"] = self.triangles[mark[self.triangles].any(1)]
        return vertex_normals64(self.rest, memo["items.skin_corner_faces"])

    @cached_property
    def skin_centroids_head(self) -> np.ndarray:
        """(Fs, 3) centroids of the skin triangles (HeadGeometry.skin order) in head coordinates."""
        t, v = self.geo.skin_corners, self.rest_head
        return (v[t[:, 0]] + v[t[:, 1]] + v[t[:, 2]]) / 3  # mean(1)'s arithmetic, without its slow reduction

    def region_vertices(self, *names: str) -> np.ndarray:
        """Model vertices of the triangles of regions `names` (topology only: kept in the geometry's memo)."""
        key = ("items.region_vertices",) + names
        memo = self.geo.memo
        if key not in memo:
            ids = [self.model.region_names.index(n) for n in names]
            memo[key] = np.unique(self.triangles[np.isin(self.region_of, ids)])
        return memo[key]

    # ---- the obstacle: closed skin + lash cards ------------------------------------------------------------
    @cached_property
    def obstacle_triangles(self) -> np.ndarray:
        """(F, 3) int32 over V + 4 vertices: the closed skin (head.HeadGeometry.capped_triangles)."""
        return np.asarray(self.geo.capped_triangles, np.int32)

    def obstacle_vertices(self, vertices=None) -> np.ndarray:
        return self.geo.capped_vertices(self.rest if vertices is None else vertices)

    @cached_property
    def scene(self):
        import open3d as o3d

        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(self.obstacle_vertices_cached, np.float32)),
                            o3d.core.Tensor(np.ascontiguousarray(self.obstacle_triangles, np.uint32)))
        return scene

    def face_normals(self, tri: np.ndarray) -> np.ndarray:
        """(n, 3) unit normals of obstacle triangles `tri` at the neutral."""
        v = self.obstacle_vertices_cached
        t = self.obstacle_triangles[np.asarray(tri)]
        n = cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
        return n / np.maximum(norm(n, axis=1, keepdims=True), 1e-12)

    @cached_property
    def obstacle_vertices_cached(self) -> np.ndarray:
        return self.obstacle_vertices().astype(np.float64)

    def closest(self, points: np.ndarray) -> dict[str, np.ndarray]:
        """Closest points of the closed skin to (n, 3) world points: point (n, 3), normal (n, 3) (outward
        direction of the distance's gradient), triangle (n,) obstacle triangle id (capped numbering: skin
        triangles first, in HeadGeometry.skin order), bary (n, 3), distance (n,) signed (negative inside).
        open3d's exact closest points (~20 us a point: callers query centrelines, not whole meshes)."""
        p = np.ascontiguousarray(np.asarray(points, np.float64).reshape(-1, 3))
        if not len(p):
            z = np.zeros((0, 3))
            return {"point": z, "normal": z, "triangle": np.zeros(0, np.int64), "bary": z, "distance": np.zeros(0)}
        # fitters ask again for points they asked for (the same front at the chosen height, a sheet's closest
        # points and then its gaps): the last few answers are kept, by the points' bytes
        key = hashlib.blake2b(p.tobytes(), digest_size=16).digest()
        memo = self.__dict__.setdefault("_closest_memo", {})
        if key in memo:
            return {k: v.copy() for k, v in memo[key].items()}
        # items repeat positions (a shell's rim strips, a sweep's caps): query each distinct one once
        dup = unique_rows(p)
        if dup is not None:
            out = {k: v[dup[1]] for k, v in self.closest(dup[0]).items()}
        else:
            out = self._closest_distinct(p)
        if len(memo) >= 16:
            memo.pop(next(iter(memo)))
        memo[key] = {k: v.copy() for k, v in out.items()}
        return out

    def _closest_distinct(self, p: np.ndarray) -> dict[str, np.ndarray]:
        """closest() of (n, 3) float64 points, each one distinct."""
        import open3d as o3d

        res = self.scene.compute_closest_points(o3d.core.Tensor(p.astype(np.float32)))
        cp = res["points"].numpy().astype(np.float64)
        tri = res["primitive_ids"].numpy().astype(np.int64)
        uv = res["primitive_uvs"].numpy().astype(np.float64)
        bary = np.stack([1 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]], 1)
        delta = p - cp
        dist = norm(delta, axis=1)
        # inside or out by ray parity (the closest face's normal is unreliable at edges and creases)
        inside = self.scene.compute_occupancy(o3d.core.Tensor(p.astype(np.float32)), nsamples=3).numpy() > 0.5
        sign = np.where(inside, -1.0, 1.0)
        # the distance's gradient (outward), the face normal where the point lies on the surface
        grad = delta * (sign / np.maximum(dist, 1e-12))[:, None]
        on = ~(dist > 1e-4)
        if on.any():
            grad[on] = self.face_normals(tri[on])
        return {"point": cp, "normal": grad, "triangle": tri, "bary": bary, "distance": sign * dist}

    def raycast(self, origins: np.ndarray, directions: np.ndarray) -> dict[str, np.ndarray]:
        """Hits of rays (world) with the obstacle: t (n,) (inf: miss), point (n, 3), normal (n, 3)."""
        import open3d as o3d

        o = np.asarray(origins, np.float64).reshape(-1, 3)
        d = np.asarray(directions, np.float64).reshape(-1, 3)
        d = d / np.maximum(norm(d, axis=1, keepdims=True), 1e-12)
        hit = self.scene.cast_rays(o3d.core.Tensor(np.concatenate([o, d], 1).astype(np.float32)))
        t = hit["t_hit"].numpy().astype(np.float64)
        prim = hit["primitive_ids"].numpy().astype(np.int64)
        ok = np.isfinite(t)
        nrm = np.zeros_like(o)
        nrm[ok] = self.face_normals(prim[ok])
        uv = hit["primitive_uvs"].numpy().astype(np.float64)
        bary = np.stack([1 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]], 1)
        return {"t": t, "point": o + d * np.where(ok, t, 0)[:, None], "normal": nrm, "hit": ok,
                "triangle": np.where(ok, prim, 0), "bary": bary}

    def skin_anchors(self, triangle: np.ndarray, bary: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model skin anchors (triangle ids (n,), bary (n, 3)) of closed-skin hits (capped numbering): skin
        triangles map to their model ids; a hit on a hole's cap takes the nearest skin vertex of that
        hole's rim (one-hot bary on a skin triangle holding it)."""
        tri = np.asarray(triangle, np.int64)
        bary = np.asarray(bary, np.float64).copy()
        n_skin = len(self.geo.skin)
        out = self.geo.skin[np.minimum(tri, n_skin - 1)].astype(np.int64)
        cap = tri >= n_skin
        if cap.any():
            rim = np.concatenate([h.vertices for h in self.geo.holes])
            pts = np.asarray(points, np.float64).reshape(-1, 3)[cap]
            near = rim[np.argmin(((pts[:, None, :] - self.rest[rim][None]) ** 2).sum(-1), 1)]
            t, slot = self.vertex_triangle
            out[cap] = t[near]
            b = np.zeros((int(cap.sum()), 3))
            b[np.arange(len(b)), slot[near]] = 1.0
            bary[cap] = b
        return out, bary

    @cached_property
    def vertex_triangle(self) -> tuple[np.ndarray, np.ndarray]:
        """Per model vertex, a skin triangle holding it and the vertex's corner slot there ((V,), (V,))."""
        memo = self.geo.memo
        if "items.vertex_triangle" not in memo:
            t = self.geo.skin_corners
            tri = np.full(len(self.rest), -1, np.int64)
            slot = np.zeros(len(self.rest), np.int64)
            for k in range(3):
                tri[t[:, k]] = self.geo.skin
                slot[t[:, k]] = k
            memo["items.vertex_triangle"] = (tri, slot)
        return memo["items.vertex_triangle"]

    def cast_head(self, origins_head, directions_head) -> dict[str, np.ndarray]:
        """raycast with origins and directions in head coordinates; point and normal come back in head
        coordinates too."""
        hit = self.raycast(self.from_head(origins_head), self.dir_from_head(directions_head))
        hit["point"] = self.to_head(hit["point"])
        hit["normal"] = hit["normal"] @ self.axes.T
        return hit

    def push_out(self, points: np.ndarray, needed) -> np.ndarray:
        """(n, 3) world points moved along the distance gradient until each is >= needed (cm, scalar or
        (n,)) from the obstacle at the neutral (three rounds)."""
        p = np.array(points, np.float64).reshape(-1, 3)
        need = np.broadcast_to(np.asarray(needed, np.float64), (len(p),))
        for _ in range(3):
            c = self.closest(p)
            bad = c["distance"] < need
            if not bad.any():
                break
            p[bad] += c["normal"][bad] * (need[bad] - c["distance"][bad])[:, None] * 1.02
        return p

    # ---- expressions -----------------------------------------------------------------------------------------
    @cached_property
    def deltas(self) -> np.ndarray:
        return envelope_deltas(self.model)

    @property
    def deltas_by_vertex(self) -> np.ndarray:
        """(V, K, 3) envelope_deltas with the vertex first (a gather of vertices copies whole rows)."""
        return envelope_deltas_by_vertex(self.model)

    def posed(self) -> np.ndarray:
        """(K, V, 3) float32 the subject's neutral under every envelope pose (computed once)."""
        if "_posed" not in self.__dict__:
            self.__dict__["_posed"] = self.rest[None].astype(np.float32) + self.deltas
        return self.__dict__["_posed"]

    def skin_motion_along(self, tri: np.ndarray, bary: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """(K, n) motion of obstacle points (triangle ids, bary) under the envelope poses along (n, 3)
        directions (cap triangles move with the mean of their hole's rim): each corner's deltas are
        projected first, so the (K, n, 3) motion is never formed. Products and sums one ufunc each, not BLAS
        (whose kernels, fused or not, differ from machine to machine)."""
        t = self.obstacle_triangles[np.asarray(tri)]
        d = envelope_deltas_by_vertex(self.model, self.geo)  # (V + 4, K, 3)
        n = len(t)
        corners = d[t.reshape(-1)].reshape(n, 3 * d.shape[1], 3)
        u = np.asarray(direction, np.float32)[:, None, :]
        along = corners[..., 0] * u[..., 0]
        along += corners[..., 1] * u[..., 1]
        along += corners[..., 2] * u[..., 2]
        return np.einsum("nck,nc->kn", along.reshape(n, 3, d.shape[1]), np.asarray(bary, np.float32))

    def vertex_motion(self, vertices: np.ndarray) -> np.ndarray:
        """(K, n, 3) motion of model vertices under the envelope poses."""
        return self.deltas[:, np.asarray(vertices), :]

    def rigid_transforms(self, rigid) -> tuple[np.ndarray, np.ndarray]:
        """R (K, 3, 3), t (K, 3) of a RigidBinding (zero-offset anchors) under every envelope pose: the
        anchors move with the skin points they sit on."""
        from ..binding import fit_rigid

        b = rigid.anchors
        t = self.triangles[b.tri[:, 0]]
        motion = np.einsum("knci,nc->kni", self.deltas[:, t.reshape(-1), :].reshape(len(self.deltas), len(t), 3, 3),
                           b.bary[:, 0].astype(np.float32))
        return fit_rigid(rigid.rest, b.evaluate(self.rest)[None].astype(np.float64) + motion, rigid.weights)

    def worst_gap(self, points: np.ndarray, motion: np.ndarray) -> tuple[np.ndarray, dict]:
        """(n,) the smallest gap of item points (n, 3) to the head over the neutral and every envelope pose,
        linearized at the neutral's closest points; motion: (K, n, 3) the points' displacement under the
        poses (from the item's binding). Also returns the closest-point record."""
        c = self.closest(points)
        along = np.einsum("kni,ni->kn", motion, c["normal"])
        change = np.minimum(along - self.skin_motion_along(c["triangle"], c["bary"], c["normal"]), 0.0)
        k = min(COMBINE, len(change))
        worst = np.partition(change, k - 1, axis=0)[:k].sum(0) if len(change) else np.zeros(len(points))
        return c["distance"] + worst, c

    def clear_points(self, points: np.ndarray, motion, need: float, rounds: int = 3,
                     max_push: float = np.inf) -> np.ndarray:
        """(n, 3) world points pushed along the distance gradient until worst_gap >= need. motion: (K, n, 3)
        (the points follow skin anchors) or a function of the points (a rigid item); max_push: cm a point
        moves at most per round."""
        p = np.array(points, np.float64).reshape(-1, 3)
        idx = np.arange(len(p))
        for _ in range(rounds):
            if not len(idx):
                break
            m = motion(p[idx]) if callable(motion) else motion[:, idx]
            gap, cl = self.worst_gap(p[idx], m)
            short = need - gap
            bad = short > 0
            if not bad.any():
                break
            p[idx[bad]] += cl["normal"][bad] * np.minimum(short[bad] * 1.05, max_push)[:, None]
            idx = idx[bad]  # only the pushed points can still be short
        return p

    def anchor_motion(self, tri: np.ndarray, bary: np.ndarray) -> np.ndarray:
        """(K, n, 3) motion of model skin anchors (triangle ids, bary) under the envelope poses."""
        t = self.triangles[np.asarray(tri)]
        d = self.deltas_by_vertex
        return np.einsum("ncki,nc->kni", d[t.reshape(-1)].reshape(len(t), 3, d.shape[1], 3),
                         np.asarray(bary, np.float32))

    def posed_at(self, pose: dict[str, float]) -> np.ndarray:
        """(V, 3) float64 the subject's neutral in one expression pose (cached per pose)."""
        key = ("posed",) + tuple(sorted(pose.items()))
        cache = self.__dict__.setdefault("_pose_cache", {})
        if key not in cache:
            w = np.asarray(self.model.expression_weights(pose), np.float32)
            cache[key] = self.rest + blend_modes(w, np.asarray(self.model.expression_basis, np.float32))
        return cache[key]

    def pose_scene(self, pose: dict[str, float]):
        """open3d RaycastingScene of the closed skin in one expression pose (cached per pose: the fitters
        of one subject share it)."""
        import open3d as o3d

        key = ("scene",) + tuple(sorted(pose.items()))
        cache = self.__dict__.setdefault("_pose_cache", {})
        if key not in cache:
            vc = self.geo.capped_vertices(self.posed_at(pose))
            scene = o3d.t.geometry.RaycastingScene()
            scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(vc, np.float32)),
                                o3d.core.Tensor(np.ascontiguousarray(self.obstacle_triangles, np.uint32)))
            cache[key] = scene
        return cache[key]

    def clear_against_pose(self, points: np.ndarray, pose: dict[str, float], anchor_motion: np.ndarray | None,
                           need: float) -> np.ndarray:
        """(n, 3) world points moved out so that, in the given expression pose (the points moving with their
        anchors by anchor_motion (n, 3), or not at all), they clear that pose's closed skin by `need`: exact
        distances to the posed skin, for what the linearized envelope misses (a chin coming down onto a
        collar from above)."""
        p = np.array(points, np.float64).reshape(-1, 3)
        shift = np.zeros_like(p) if anchor_motion is None else np.asarray(anchor_motion, np.float64)
        # a shell's rim strips repeat its sheets' points (with their anchors): move each distinct one once
        dup = unique_rows(np.concatenate([p, shift], 1))
        if dup is not None:
            return self.clear_against_pose(dup[0][:, :3], pose, dup[0][:, 3:], need)[dup[1]]
        scene = self.pose_scene(pose)
        idx = np.arange(len(p))
        for _ in range(2):
            if not len(idx):
                break
            x = p[idx] + shift[idx]
            delta, inside, exact = screened_closest(scene, x, need + _SCREEN_MARGIN)
            dist = norm(delta, axis=1)
            short = np.where(inside, need + dist, need - dist)
            short[~exact] = -1.0  # certified clear
            # a point more than 1 cm inside is a fold of the closed skin's caps (the open mouth's), not a contact
            bad = (short > 0) & ~(inside & (dist > 1.0))
            if not bad.any():
                break
            direction = delta[bad] / np.maximum(dist[bad], 1e-9)[:, None] * np.where(inside[bad], -1.0, 1.0)[:, None]
            p[idx[bad]] += direction * short[bad, None] * 1.05
            idx = idx[bad]  # only the moved points can still be short
        return p


def screened_closest(scene, x: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(delta (n, 3) = x - closest point, inside (n,), exact (n,)) of (n, 3) float64 points against an open3d
    scene of a closed surface, exact for every point that may lie outside closer than `floor` (cm) or
    inside; the others (exact False) are certified outside and at least `floor` away without a query of
    their own: the distance is 1-Lipschitz, so a point within r of a queried point lying d >= floor + r
    outside lies on the same side at least d - r away. Queried: one point per cell of a coarse grid, then
    per cell of finer grids (_SCREEN_CELLS) among the points not yet certified, then what is left. Items
    lie mostly well clear of the skin, and a query costs more than the screening."""
    import open3d as o3d

    n = len(x)
    delta = np.zeros((n, 3))
    inside = np.zeros(n, bool)
    exact = np.zeros(n, bool)
    todo = np.arange(n)
    for cell in _SCREEN_CELLS + (0.0,):
        if not len(todo):
            break
        if cell and len(todo) >= 64:
            key = np.floor(x[todo] / cell).astype(np.int64)
            key = (key[:, 0] * 1_000_003 + key[:, 1]) * 1_000_033 + key[:, 2]
            _, first, group = np.unique(key, return_index=True, return_inverse=True)
            reps = todo[first]
        else:
            reps, group = todo, None
        q = o3d.core.Tensor(x[reps].astype(np.float32))
        cp = scene.compute_closest_points(q)["points"].numpy().astype(np.float64)
        delta[reps] = x[reps] - cp
        inside[reps] = scene.compute_occupancy(q, nsamples=3).numpy() > 0.5
        exact[reps] = True
        if group is None:
            break
        rep_of = reps[group.reshape(-1)]
        d_rep = np.where(inside[rep_of], -1.0, 1.0) * norm(delta[rep_of], axis=1)
        clear = d_rep - norm(x[todo] - x[rep_of], axis=1) >= floor
        todo = todo[~clear & ~exact[todo]]
    return delta, inside, exact


def clear_posed(ctx: FitContext, pos: np.ndarray, frames: AnchorFrames, pose: dict[str, float], need: float,
                rounds: int = 3) -> np.ndarray:
    """(n, 3) item vertices (bound by `frames`, in order) moved out until they clear the closed skin of one
    exact expression pose by `need`, each posed by its binding as worn (its anchor's posed frame turns its
    offset): what the linearized envelope misses where the skin moves far (the chin dropping onto a collar
    or a scarf). Only the vertices moved in a round are measured again."""
    pose = {k: v for k, v in pose.items() if k in ctx.model.expression_names}
    if not pose:
        return np.asarray(pos, np.float64)
    posed = ctx.posed_at(pose)[None]
    pos = np.array(pos, np.float64)
    todo = np.arange(len(pos))
    for _ in range(rounds):
        sub = ctx.clear_against_pose(pos[todo], pose, frames.motion(pos[todo], posed, todo)[0], need)
        moved = (sub != pos[todo]).any(1)
        if not moved.any():
            break
        pos[todo] = sub
        todo = todo[moved]
    return pos


class AnchorFrames:
    """The frames of a soft binding's distinct anchors (tri, bary: per vertex, many shared) at the subject's
    neutral and on posed meshes, so that the motion of points bound to them (bind_at, smooth normals) under
    poses costs one frame per distinct anchor and pose. The frames are those of attach.binding.anchor_frames
    (smooth mode: the blended area-weighted vertex normals), computed on the sub-mesh the anchors need (their
    triangles and every triangle around their corners) with the components before the poses ((n, 3, B)):
    every arithmetic step runs over contiguous pose rows and every gather copies whole rows. A mask has
    ~1,000 anchors under 57 poses: faces, anchors and points are taken in blocks of _BLOCK values an array,
    so that the temporaries of each step stay in cache."""

    def __init__(self, ctx: FitContext, tri: np.ndarray, bary: np.ndarray):
        from scipy import sparse

        self.ctx = ctx
        bary32 = np.asarray(bary, np.float32)
        key = np.concatenate([np.asarray(tri, np.float64)[:, None], bary32.astype(np.float64)], 1)
        dup = unique_rows(key)
        uniq, self.inverse = (key, np.arange(len(key))) if dup is None else dup
        tri_u = uniq[:, 0].astype(np.int64)
        self.bary = np.ascontiguousarray(uniq[:, 1:])
        corners = np.unique(ctx.triangles[tri_u])
        mark = np.zeros(len(ctx.rest), bool)
        mark[corners] = True
        around = np.flatnonzero(mark[ctx.triangles].any(1))  # includes the anchors' own triangles
        self.vertices = np.unique(ctx.triangles[around])  # the sub-mesh's vertices (model ids)
        remap = np.full(len(ctx.rest), -1, np.int64)
        remap[self.vertices] = np.arange(len(self.vertices))
        self.faces = remap[ctx.triangles[around]]  # (Fs, 3) sub-mesh ids
        self.corners = remap[ctx.triangles[tri_u]]  # (m, 3) each anchor's triangle
        # vertex <- face sum, for the normals of the anchors' corners (each corner's faces in a fixed order)
        used = remap[corners]
        slot = np.full(len(self.vertices), -1, np.int64)
        slot[used] = np.arange(len(used))
        rows, cols = [], []
        for c in range(3):
            keep = np.flatnonzero(slot[self.faces[:, c]] >= 0)
            rows.append(slot[self.faces[keep, c]])
            cols.append(keep)
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        self.sum = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(used), len(self.faces)))
        self.corner_slot = slot[self.corners]  # (m, 3) rows of the summed normals
        vc = ctx.rest[self.vertices][:, :, None]
        origin, t, b, n = self._frames(vc, self._vertex_normals(vc))
        self.origin, self.rest_axes = origin[..., 0], (t[..., 0], b[..., 0], n[..., 0])  # (m, 3) each
        self._posed: dict = {}

    def _vertex_normals(self, vc: np.ndarray) -> np.ndarray:
        """(n_used, 3, B) unit smooth normals of the anchors' corners on sub-mesh vertices vc (U, 3, B)."""
        f = self.faces
        fn = np.empty((len(f),) + vc.shape[1:], vc.dtype)  # (Fs, 3, B) face normals, in blocks that stay in cache
        step = max(1, _BLOCK // (3 * vc.shape[2]))
        for s in range(0, len(f), step):
            fb = f[s:s + step]
            a = vc[fb[:, 0]]
            e1 = vc[fb[:, 1]]
            e1 -= a
            e2 = vc[fb[:, 2]]
            e2 -= a
            _cross3(e1, e2, out=fn[s:s + step])
        vn = (self.sum.astype(fn.dtype, copy=False) @ fn.reshape(len(f), -1)).reshape((-1,) + fn.shape[1:])
        vn /= np.maximum(_norm3(vn), 1e-12)[:, None]
        return vn

    def _frames(self, vc: np.ndarray, vn: np.ndarray, rows=slice(None)) -> tuple[np.ndarray, ...]:
        """Origins, tangents, bitangents and normals, each (r, 3, B), of the distinct anchors `rows` on sub-mesh
        vertices vc (U, 3, B) (float64, or float32 for the envelope) with their corners' normals vn
        (_vertex_normals), in vc's precision."""
        corners, slot, bary = self.corners[rows], self.corner_slot[rows], self.bary[rows].astype(vc.dtype)
        w = [bary[:, k, None, None] for k in range(3)]
        p0 = vc[corners[:, 0]]
        origin = p0 * w[0]
        e1 = vc[corners[:, 1]]
        tmp = e1 * w[1]
        origin += tmp
        e1 -= p0
        e2 = vc[corners[:, 2]]
        np.multiply(e2, w[2], out=tmp)
        origin += tmp
        e2 -= p0
        n = vn[slot[:, 0]]
        n *= w[0]
        for k in (1, 2):
            g = vn[slot[:, k]]
            g *= w[k]
            n += g
        length = _norm3(n)
        flat = length < 1e-8
        if flat.any():  # a degenerate blend falls back to the face normal
            n = np.where(flat[:, None], _cross3(e1, e2), n)
            length = _norm3(n)
        n /= np.maximum(length, 1e-12)[:, None]
        dot = e1[:, 0] * n[:, 0]
        dot += e1[:, 1] * n[:, 1]
        dot += e1[:, 2] * n[:, 2]
        t = np.multiply(n, dot[:, None], out=tmp)
        np.subtract(e1, t, out=t)
        t /= np.maximum(_norm3(t), 1e-12)[:, None]
        return origin, t, _cross3(n, t), n

    def _posed_frames(self, posed) -> tuple[np.ndarray, np.ndarray]:
        """(shift (m, 3, B), turn (m, 3, 3, B)): the affine map of a bound point, motion = shift + turn @ p
        (turn = R_pose R_rest^T - I), under the envelope poses (posed None) or (B, V, 3) posed meshes.
        The envelope's maps are float32 (the linearized envelope is an estimate: ~1e-6 cm of rounding in a
        motion costs nothing, half the memory traffic halves the time); exact poses' are float64."""
        key = "envelope" if posed is None else id(posed)
        if key not in self._posed:
            if posed is None:  # the K envelope poses, only where the sub-mesh is
                vc = (self.ctx.rest[self.vertices].astype(np.float32)[:, :, None]
                      + envelope_deltas_by_component(self.ctx.model)[self.vertices])
            else:
                vc = np.ascontiguousarray(np.asarray(posed, np.float64)[:, self.vertices].transpose(1, 2, 0))
            vn = self._vertex_normals(vc)
            m, B = len(self.bary), vc.shape[2]
            shift, turn = np.empty((m, 3, B), vc.dtype), np.empty((m, 3, 3, B), vc.dtype)
            step = max(1, _BLOCK // (3 * B))
            for s in range(0, m, step):
                rows = slice(s, s + step)
                origin, *axes = self._frames(vc, vn, rows)
                rest_axes = [a[rows].astype(vc.dtype) for a in self.rest_axes]
                o0 = self.origin[rows].astype(vc.dtype)
                tb, tmp = turn[rows], np.empty(origin[:, 0].shape, vc.dtype)
                for r in range(3):
                    for c in range(3):
                        x = tb[:, r, c]
                        for j in range(3):  # (R_pose R_rest^T)[r, c] = sum_j axes[j][r] rest_axes[j][c], from +0
                            np.multiply(axes[j][:, r], rest_axes[j][:, c, None], out=tmp)
                            if j:
                                x += tmp
                            else:
                                np.add(tmp, 0.0, out=x)
                for r in range(3):
                    acc = np.multiply(tb[:, r, 0], o0[:, 0, None])
                    for c in (1, 2):
                        np.multiply(tb[:, r, c], o0[:, c, None], out=tmp)
                        acc += tmp
                    np.subtract(origin[:, r], acc, out=shift[rows][:, r])
                    tb[:, r, r] -= 1.0
            self._posed[key] = (posed, shift, turn)
        return self._posed[key][1:]

    def motion(self, points: np.ndarray, posed: np.ndarray | None = None, rows: np.ndarray | None = None) -> np.ndarray:
        """(B, n, 3) displacement of (n, 3) points bound at the neutral under (B, V, 3) posed meshes (None:
        the K envelope poses); rows: the binding's points they are (default all, in order)."""
        p = np.asarray(points, np.float64).reshape(-1, 3)
        i = self.inverse if rows is None else self.inverse[np.asarray(rows)]
        if len(i) == 1 < len(p):  # one anchor carries every point
            i = np.repeat(i, len(p))
        shift, turn = self._posed_frames(posed)
        B = shift.shape[2]
        out = np.empty((B, len(i), 3))
        step = max(1, _BLOCK // (3 * B))
        p = p.astype(shift.dtype, copy=False)
        for s in range(0, len(i), step):
            ib, pb = i[s:s + step], p[s:s + step]
            acc = shift[ib]  # (b, 3, B)
            g = turn[ib]
            tmp = np.empty((len(ib), B), shift.dtype)
            for r in range(3):
                for c in range(3):
                    np.multiply(g[:, r, c], pb[:, c, None], out=tmp)
                    acc[:, r] += tmp
            out[:, s:s + step] = acc.transpose(2, 0, 1)
        return out


def _norm3(x: np.ndarray) -> np.ndarray:
    """(n, ...) lengths of (n, 3, ...) vectors (components on axis 1)."""
    s = x[:, 0] * x[:, 0]
    s += x[:, 1] * x[:, 1]
    s += x[:, 2] * x[:, 2]
    return np.sqrt(s, out=s)


def _cross3(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(n, 3, ...) cross products of (n, 3, ...) vectors (components on axis 1)."""
    if out is None:
        out = np.empty(np.broadcast_shapes(a.shape, b.shape), np.result_type(a, b))
    tmp = np.empty(out[:, 0].shape, out.dtype)
    for k in range(3):
        i, j = (k + 1) % 3, (k + 2) % 3
        np.multiply(a[:, i], b[:, j], out=out[:, k])
        np.multiply(a[:, j], b[:, i], out=tmp)
        out[:, k] -= tmp
    return out
