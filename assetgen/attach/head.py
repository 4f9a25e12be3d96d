"""What attachments need to know about the head: the closed skin, a head frame and chart, a signed distance
field, the ears, and fast nearest-skin lookups.

Everything here is computed once per rest shape (usually the model's neutral) and cached in memory:
grooms are grown on the rest shape and carried to other identities and expressions by bindings.

Skin = the triangles of the face model's skin regions (face.ict.SKIN_REGIONS: the "Face" and "Head and
Neck" parts: face skin, lips, nose, ears, back of the head, neck). The skin has four holes (both eye
openings, the mouth, the bottom of the neck); `capped` closes each with a fan around the hole's centroid so
the result is a closed surface with an inside ("the head mesh" of the tests). The caps are computed from the
evaluated vertices, so they exist for every identity and expression.

Head frame (from the Multi-PIE 68 landmarks of the mesh): x = unit(lm16 - lm0) (the subject's left), up =
from the chin (lm8) to the brows (mean of lm19, lm24) made orthogonal to x, front = x cross up. Its origin,
the head centre C, lies behind the ear-to-ear midpoint: C = mid(lm0, lm16) + s * (-0.265 front + 0.034 up)
with s = |lm16 - lm0| (about the middle of the skull of the neutral; scales with the head).
Chart: azimuth theta in degrees around the up axis (0 = front, +90 = subject's left, +-180 = back) and
elevation phi in degrees above the horizontal plane through C. Masks (hairline, beard zones) are drawn in
this chart relative to landmark positions, so they follow the rest shape.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import FaceModelError
from ..face import ict

SKIN_REGIONS = ict.SKIN_REGIONS
_CACHE: dict[tuple, HeadGeometry] = {}
_LOCK = threading.Lock()


def skin_triangles(model) -> np.ndarray:
    """(Fs,) int64 ids of the skin triangles (face skin, lips, head and neck)."""
    ids = [model.region_names.index(r) for r in SKIN_REGIONS]
    return np.flatnonzero(np.isin(model.triangle_region, ids))


def boundary_loops(triangles: np.ndarray) -> list[np.ndarray]:
    """Directed boundary edges (k, 2) of a triangle set, grouped into connected loops, each as it is
    oriented in its triangle (a -> b)."""
    e = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    key = np.sort(e, 1)
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    bnd = e[cnt[inv.ravel()] == 1]
    # connected components of the boundary graph
    verts = np.unique(bnd)
    parent = {int(v): int(v) for v in verts}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in bnd:
        ra, rb = find(int(a)), find(int(b))
        if ra != rb:
            parent[ra] = rb
    roots = np.array([find(int(a)) for a in bnd[:, 0]])
    return [bnd[roots == r] for r in np.unique(roots)]


@dataclass(frozen=True)
class Hole:
    name: str  # "eye_left", "eye_right", "mouth", "neck"
    edges: np.ndarray  # (k, 2) directed boundary edges
    vertices: np.ndarray  # (k,) vertex ids of the loop, unordered


class HeadGeometry:
    """The rest-shape facts attachments need. Build with `head_geometry(model, rest_vertices)` (cached).

    Attributes: model, rest (V, 3) float64, skin (Fs,) triangle ids, holes, frame (origin (3,), axes (3, 3)
    rows x/up/front), sdf (SignedDistanceGrid of the capped rest skin)."""

    def __init__(self, model, rest: np.ndarray):
        self.model = model
        self.rest = np.asarray(rest, np.float64)
        self.triangles = np.asarray(model.triangles)
        self.skin = skin_triangles(model)
        self.holes = self._find_holes()
        self.origin, self.axes = head_frame(model, self.rest)
        self.scale = float(np.linalg.norm(self.rest[model.landmarks_68[16]] - self.rest[model.landmarks_68[0]]))
        self.memo: dict = {}  # per-rest-shape results of other modules (lid margins, ...)
        self._warm_lock = threading.Lock()

    # ---- closed skin -----------------------------------------------------------------------------
    def _find_holes(self) -> tuple[Hole, ...]:
        loops = boundary_loops(self.skin_corners)
        if len(loops) != 4:
            raise FaceModelError(f"the skin has {len(loops)} boundary loops, expected 4 (eyes, mouth, neck)")
        lm = self.rest[self.model.landmarks_68]
        centres = {"eye_right": lm[36:42].mean(0), "eye_left": lm[42:48].mean(0), "mouth": lm[60:68].mean(0)}
        out, taken = [], set()
        for name, c in centres.items():
            d = [np.linalg.norm(self.rest[np.unique(lp)].mean(0) - c) for lp in loops]
            i = int(np.argmin(d))
            taken.add(i)
            out.append(Hole(name, loops[i], np.unique(loops[i])))
        (rest,) = [i for i in range(4) if i not in taken]
        out.append(Hole("neck", loops[rest], np.unique(loops[rest])))
        return tuple(out)

    def warm(self) -> HeadGeometry:
        """Build every cached fact attachments read (distance grid, closed-skin BVH, normals, areas, chart,
        ears, collider) now, so that threads growing parts of a groom side by side only read them."""
        with self._warm_lock:
            if not self.memo.get("warm"):
                _ = (self.sdf, self.collider, self.binding_normals, self.vertex_normals, self.skin_area,
                     self.skin_centroid_chart, self.skin_ear_fraction)
                self.raycast(self.origin[None], self.up[None])  # open3d commits its BVH on the first query
                self.memo["warm"] = True
        return self

    def hole(self, name: str) -> Hole:
        for h in self.holes:
            if h.name == name:
                return h
        raise KeyError(name)

    @cached_property
    def collider(self) -> Collider:
        return Collider(self.capped_triangles, tuple(h.vertices for h in self.holes))

    @cached_property
    def capped_triangles(self) -> np.ndarray:
        """(Fc, 3) int32 triangles of the closed skin over V + 4 vertices (the hole centroids appended in
        the order of `holes`)."""
        n = len(self.rest)
        caps = [self.skin_corners]
        for i, h in enumerate(self.holes):
            c = np.full(len(h.edges), n + i)
            caps.append(np.stack([h.edges[:, 1], h.edges[:, 0], c], 1))  # reversed: consistent orientation
        return np.concatenate(caps).astype(np.int32)

    def capped_vertices(self, vertices: np.ndarray) -> np.ndarray:
        """(V + 4, 3) or (B, V + 4, 3) float32: vertices plus the centroid of each hole."""
        v = np.asarray(vertices, np.float32)
        cents = np.stack([v[..., h.vertices, :].mean(-2) for h in self.holes], -2)
        return np.concatenate([v, cents], -2)

    def capped(self, vertices: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The closed skin of (V, 3) vertices (default: the rest shape): ((V + 4, 3) float32, (Fc, 3) int32)."""
        return self.capped_vertices(self.rest if vertices is None else vertices), self.capped_triangles

    # ---- chart -------------------------------------------------------------------------------------
    def to_head(self, points: np.ndarray) -> np.ndarray:
        """Points (..., 3) in head-frame coordinates (x left, y up, z front; origin at C), float64."""
        return (np.asarray(points, np.float64) - self.origin) @ self.axes.T

    def from_head(self, q: np.ndarray) -> np.ndarray:
        return np.asarray(q, np.float64) @ self.axes + self.origin

    def chart(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(theta, phi) degrees of points (..., 3): azimuth (0 front, +90 subject's left) and elevation."""
        q = self.to_head(points)
        theta = np.degrees(np.arctan2(q[..., 0], q[..., 2]))
        phi = np.degrees(np.arctan2(q[..., 1], np.hypot(q[..., 0], q[..., 2])))
        return theta, phi

    def direction(self, theta, phi) -> np.ndarray:
        """World unit direction(s) from C for chart angles in degrees."""
        t, p = np.radians(theta), np.radians(phi)
        q = np.stack(np.broadcast_arrays(np.cos(p) * np.sin(t), np.sin(p), np.cos(p) * np.cos(t)), -1)
        return q @ self.axes

    @property
    def up(self) -> np.ndarray:
        return self.axes[1]

    @property
    def front(self) -> np.ndarray:
        return self.axes[2]

    @property
    def left(self) -> np.ndarray:
        return self.axes[0]

    # ---- per-triangle facts --------------------------------------------------------------------------
    @cached_property
    def skin_corners(self) -> np.ndarray:
        """(Fs, 3) the skin triangles' vertex ids (model numbering, `skin` order)."""
        return self.triangles[self.skin]

    @cached_property
    def _edge_table(self):
        t = self.skin_corners.astype(np.int64)
        nv = len(self.rest)
        a = np.concatenate([t[:, 0], t[:, 1], t[:, 2]])
        b = np.concatenate([t[:, 1], t[:, 2], t[:, 0]])
        slot = np.repeat(np.arange(3), len(t))
        owner = np.tile(self.skin, 3)
        code = a * nv + b
        order = np.argsort(code)
        return code[order], owner[order], slot[order], nv

    def edge_owner(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For skin edges (a[i], b[i]) in either direction: the skin triangle holding it and the corner slots
        of a and b in that triangle ((k,) each)."""
        code, owner, slot, nv = self._edge_table
        a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
        fwd = a * nv + b
        i = np.clip(np.searchsorted(code, fwd), 0, len(code) - 1)
        hit = code[i] == fwd
        j = np.clip(np.searchsorted(code, b * nv + a), 0, len(code) - 1)
        tri = np.where(hit, owner[i], owner[j])
        sa = np.where(hit, slot[i], (slot[j] + 1) % 3)
        sb = np.where(hit, (slot[i] + 1) % 3, slot[j])
        return tri, sa, sb

    @cached_property
    def vertex_normals(self) -> np.ndarray:
        """(V, 3) float64 unit normals of the rest shape over the skin triangles."""
        from ..face.model import vertex_normals

        return vertex_normals(self.rest, self.skin_corners).astype(np.float64)

    @cached_property
    def binding_normals(self) -> np.ndarray:
        """(V, 3) float64 smooth normals over all model triangles, as bindings compute them (rest shape)."""
        from .binding import vertex_normals64

        return vertex_normals64(self.rest, self.triangles)

    @cached_property
    def skin_area(self) -> np.ndarray:
        """(Fs,) float64 areas (cm^2) of the skin triangles."""
        a, b, c = (self.rest[self.skin_corners[:, i]] for i in range(3))
        return 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)

    @cached_property
    def skin_centroid_chart(self) -> tuple[np.ndarray, np.ndarray]:
        return self.chart(self.rest[self.skin_corners].mean(1))

    @cached_property
    def ear_vertex_mask(self) -> np.ndarray:
        """(V,) bool: skin vertices on or near an ear, or in an ear's shadow (hair cannot grow there).

        Found geometrically: an ear is where the skin is thin (a ray into the skin leaves it again within
        2 cm) at the side of the head; the zone is widened by 0.5 cm; the ear's shadow is the skin whose
        outward ray hits the head again within 2.5 cm (the groove behind the ear)."""
        from scipy.spatial import cKDTree

        vid = np.unique(self.skin_corners)
        p, n = self.rest[vid], self.vertex_normals[vid]
        theta, phi = self.chart(p)
        side = (np.abs(theta) > 55) & (np.abs(theta) < 135) & (phi > -50) & (phi < 20)
        inward = self.raycast(p - 0.01 * n, -n)
        outward = self.raycast(p + 0.01 * n, n)
        thin = side & (inward < 2.0)
        mask = np.zeros(len(self.rest), bool)
        if thin.any():
            near = cKDTree(p[thin]).query(p, distance_upper_bound=0.5)[0] < np.inf
            mask[vid[near & side]] = True
        mask[vid[side & (outward < 2.5)]] = True
        return mask

    @cached_property
    def skin_ear_fraction(self) -> np.ndarray:
        """(Fs,) float: fraction of each skin triangle's corners in the ear mask."""
        return self.ear_vertex_mask[self.skin_corners].mean(1)

    # ---- ray casting and distance -----------------------------------------------------------------
    @cached_property
    def _scene(self):
        import open3d as o3d

        v, t = self.capped()
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(v, np.float32)),
                            o3d.core.Tensor(np.ascontiguousarray(t, np.uint32)))
        return scene

    def raycast(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """(n,) float64 hit distances along unit directions against the closed rest skin (inf: no hit)."""
        import open3d as o3d

        rays = np.concatenate([origins, directions], -1).astype(np.float32)
        if len(rays) == 0:
            return np.zeros(0)
        return self._scene.cast_rays(o3d.core.Tensor(rays))["t_hit"].numpy().astype(np.float64)

    def radial_surface(self, directions: np.ndarray, clearance: float | np.ndarray = 0.0) -> np.ndarray:
        """(n, 3) float64: along each unit direction from the head centre, the outermost skin point
        pushed `clearance` cm further out along the ray (the scalp as a height field over directions)."""
        d = np.asarray(directions, np.float64)
        far = 60.0
        t = self.raycast(self.origin + far * d, -d)
        t = np.where(np.isfinite(t), t, far)
        r = far - t + np.asarray(clearance, np.float64)
        return self.origin + d * r[..., None]

    def radial_anchor(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Skin anchors of points seen from the head centre: where the segment from each point towards the
        centre C first meets the skin ((n,) triangle ids, (n, 3) bary). Over an ear this is the ear's outer
        side, under the chin the chin: the skin a strand point rests on. Points whose ray meets a hole's cap
        or nothing, or meets skin much farther away than the nearest skin (1.25 x + 0.2 cm: hair lying on a
        shoulder), take the nearest skin point instead (nearest_skin)."""
        import open3d as o3d

        pts = np.asarray(points, np.float64).reshape(-1, 3)
        if len(pts) == 0:
            return np.zeros(0, np.int32), np.zeros((0, 3))
        d = self.origin - pts
        dist = np.linalg.norm(d, axis=1)
        d = d / np.maximum(dist, 1e-9)[:, None]
        rays = np.concatenate([pts, d], 1).astype(np.float32)
        hit = self._scene.cast_rays(o3d.core.Tensor(rays))
        prim = hit["primitive_ids"].numpy().astype(np.int64)
        uv = hit["primitive_uvs"].numpy().astype(np.float64)
        t = hit["t_hit"].numpy()
        ok = np.isfinite(t) & (prim >= 0) & (prim < len(self.skin))
        # where the skin towards the centre is much farther than the nearest skin (a point lying on a
        # shoulder, beside the neck), the nearest skin point is the one it rests on
        d_near = self.sdf.distance(pts)
        ok &= ~(t > 1.25 * np.abs(d_near) + 0.2)
        tri = np.empty(len(pts), np.int32)
        bary = np.empty((len(pts), 3))
        tri[ok] = self.skin[prim[ok]]
        bary[ok] = np.stack([1 - uv[ok, 0] - uv[ok, 1], uv[ok, 0], uv[ok, 1]], 1)
        if not ok.all():
            tri[~ok], bary[~ok] = self.nearest_skin(pts[~ok])
        return tri, bary

    def exact_push_out(self, points: np.ndarray, clearance) -> np.ndarray:
        """(n, 3) float64: points closer than `clearance` cm to the closed rest skin, or inside it, moved to
        `clearance` outside along the exact closest-point direction (open3d BVH; for small point sets:
        lashes and brows, where the distance grid is too coarse for the eyelids)."""
        import open3d as o3d

        p = np.array(points, np.float64).reshape(-1, 3)
        if len(p) == 0:
            return p
        clr = np.broadcast_to(np.asarray(clearance, np.float64), (len(p),))
        q = o3d.core.Tensor(p.astype(np.float32))
        cp = self._scene.compute_closest_points(q)["points"].numpy().astype(np.float64)
        inside = self._scene.compute_occupancy(q, nsamples=3).numpy() > 0.5
        delta = p - cp
        dist = np.linalg.norm(delta, axis=1)
        sd = np.where(inside, -dist, dist)
        bad = sd < clr
        if bad.any():
            out_dir = delta[bad] / np.maximum(dist[bad], 1e-9)[:, None] * np.where(inside[bad], -1.0, 1.0)[:, None]
            p[bad] = cp[bad] + out_dir * clr[bad, None]
        return p

    def closest_skin(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact closest skin point of each point ((n,) triangle ids int32, (n, 3) float64 bary), through the
        closed skin's BVH built once (binding.nearest_triangles with candidates=skin builds one per call)."""
        import open3d as o3d

        from .binding import closest_on_triangles, nearest_triangles

        pts = np.asarray(points, np.float64).reshape(-1, 3)
        if len(pts) == 0:
            return np.zeros(0, np.int32), np.zeros((0, 3))
        prim = self._scene.compute_closest_points(o3d.core.Tensor(pts.astype(np.float32)))["primitive_ids"].numpy()
        prim = prim.astype(np.int64)
        cap = prim >= len(self.skin)
        tri = self.skin[np.minimum(prim, len(self.skin) - 1)].astype(np.int32)
        if cap.any():  # nearer to a hole's cap than to any skin triangle: the skin alone decides
            tri[cap] = nearest_triangles(self.rest, self.triangles, pts[cap], candidates=self.skin)[0]
        c = self.triangles[tri]
        return tri, closest_on_triangles(pts, self.rest[c[:, 0]], self.rest[c[:, 1]], self.rest[c[:, 2]])

    @cached_property
    def sdf(self) -> SignedDistanceGrid:
        return SignedDistanceGrid.build(self)

    # ---- anchors ------------------------------------------------------------------------------------
    def nearest_skin(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Approximate nearest skin anchor of each point ((n,) triangle ids, (n, 3) bary), from the distance
        grid's per-node nearest surface sample (within a few mm of the true closest point; exact where it
        matters little: the anchor only has to be a nearby skin point, offsets make bindings exact)."""
        return self.sdf.nearest_anchor(points)


class Collider:
    """The closed skin of any pose, for pushing a few points out of it exactly (open3d closest points).

    capped_triangles: (Fc, 3) int32 over V + len(holes) vertices; holes: vertex ids of each hole (their
    centroids are the extra vertices). Small and picklable: strand groups keep one."""

    def __init__(self, capped_triangles: np.ndarray, holes: tuple[np.ndarray, ...]):
        self.capped_triangles = np.asarray(capped_triangles, np.int32)
        self.holes = tuple(np.asarray(h) for h in holes)

    def capped_vertices(self, vertices: np.ndarray) -> np.ndarray:
        v = np.asarray(vertices, np.float32)
        return np.concatenate([v, np.stack([v[h].mean(0) for h in self.holes])], 0)

    def push_out(self, vertices: np.ndarray, points: np.ndarray, clearance: float) -> np.ndarray:
        """(n, 3) float32: points inside the closed skin of (V, 3) vertices, or closer than clearance cm,
        moved to clearance outside along the closest-point direction."""
        import open3d as o3d

        p = np.array(points, np.float64).reshape(-1, 3)
        if len(p) == 0:
            return p.astype(np.float32)
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.core.Tensor(self.capped_vertices(vertices)),
                            o3d.core.Tensor(self.capped_triangles.astype(np.uint32)))
        idx = np.arange(len(p))
        for _ in range(3):  # where folds touch (closed lids) one push can land in the other side
            q = o3d.core.Tensor(p[idx].astype(np.float32))
            cp = scene.compute_closest_points(q)["points"].numpy().astype(np.float64)
            inside = scene.compute_occupancy(q, nsamples=3).numpy() > 0.5
            delta = p[idx] - cp
            dist = np.linalg.norm(delta, axis=1)
            bad = inside | (dist < 0.5 * clearance)
            if not bad.any():
                break
            sign = np.where(inside[bad], -1.0, 1.0)[:, None]
            idx = idx[bad]
            p[idx] = cp[bad] + delta[bad] / np.maximum(dist[bad], 1e-9)[:, None] * sign * clearance
        return p.astype(np.float32)


def head_frame(model, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(origin C (3,), axes (3, 3) rows x/up/front) of the head frame of (V, 3) vertices (module doc)."""
    lm = np.asarray(vertices, np.float64)[model.landmarks_68]
    s = np.linalg.norm(lm[16] - lm[0])
    x = (lm[16] - lm[0]) / s
    up = lm[[19, 24]].mean(0) - lm[8]
    up = up - x * (up @ x)
    up /= np.linalg.norm(up)
    front = np.cross(x, up)
    origin = (lm[0] + lm[16]) / 2 + s * (-0.265 * front + 0.034 * up)
    return origin, np.stack([x, up, front])


def head_geometry(model, rest: np.ndarray | None = None) -> HeadGeometry:
    """The HeadGeometry of `model` at `rest` vertices (default the neutral), built once per process."""
    rest = model.neutral if rest is None else np.asarray(rest)
    h = hashlib.sha256(np.ascontiguousarray(rest, np.float32).tobytes()).hexdigest()[:16]
    key = (id(model), model.topology_hash, h)
    with _LOCK:
        geo = _CACHE.get(key)
        if geo is None:
            if len(_CACHE) >= 4:  # ~40 MB each
                _CACHE.clear()
            geo = _CACHE[key] = HeadGeometry(model, rest)
    return geo


# ---- signed distance ---------------------------------------------------------------------------------
class SignedDistanceGrid:
    """Signed distance to the closed rest skin on a regular grid (negative inside), trilinear in between.

    Built from dense surface samples (spacing <= 0.12 cm, each with its smooth normal): every grid node
    (h = 0.25 cm) keeps its nearest sample (exact Euclidean distance transform over the nodes the surface
    passes through); within two nodes of the surface the value is the point-to-plane distance to that
    sample (sub-mm accurate on the smooth scalp; up to ~2 mm off at sharp rims: ears, the bust's bottom
    edge), further away the distance to the nearest surface node; the sign comes from filling the closed
    shell. About 2 s once per rest shape; then ~0.5 us per query point.
    """

    def __init__(self, origin, h, dist, node_sample, samples_tri, samples_bary, samples_pos, geo):
        self.origin, self.h = origin, h
        self.dist = dist
        self.node_sample = node_sample
        self.samples_tri, self.samples_bary, self.samples_pos = samples_tri, samples_bary, samples_pos
        self.geo = geo

    @staticmethod
    def build(geo: HeadGeometry, h: float = 0.25, pad: float = 3.0, spacing: float = 0.12) -> SignedDistanceGrid:
        from scipy import ndimage

        vc, tc = geo.capped()
        vc = vc.astype(np.float64)
        n_skin = len(geo.skin)
        # dense barycentric samples of every closed-skin triangle
        a, b, c = vc[tc[:, 0]], vc[tc[:, 1]], vc[tc[:, 2]]
        longest = np.max([np.linalg.norm(b - a, axis=1), np.linalg.norm(c - b, axis=1), np.linalg.norm(a - c, axis=1)], 0)
        level = np.maximum(1, np.ceil(longest / spacing)).astype(np.int64)
        tri_ids, barys = [], []
        for lv in np.unique(level):
            ids = np.flatnonzero(level == lv)
            i, j = np.meshgrid(np.arange(lv + 1), np.arange(lv + 1), indexing="ij")
            keep = i + j <= lv
            u = np.stack([1 - (i[keep] + j[keep]) / lv, i[keep] / lv, j[keep] / lv], 1)
            tri_ids.append(np.repeat(ids, len(u)))
            barys.append(np.tile(u, (len(ids), 1)))
        stri = np.concatenate(tri_ids)
        sbary = np.concatenate(barys)
        spos = a[stri] * sbary[:, :1] + b[stri] * sbary[:, 1:2] + c[stri] * sbary[:, 2:]
        # smooth normals: skin vertex normals; caps use their face normal
        vn = np.zeros((len(vc), 3))
        vn[: len(geo.rest)] = geo.vertex_normals
        fn = np.cross(b - a, c - a)
        fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-12)
        on_skin = stri < n_skin
        corners = tc[stri]
        snorm = np.where(on_skin[:, None], sum(vn[corners[:, k]] * sbary[:, k:k + 1] for k in range(3)), fn[stri])
        snorm /= np.maximum(np.linalg.norm(snorm, axis=1, keepdims=True), 1e-12)

        lo = vc.min(0) - pad
        shape = tuple(np.ceil((vc.max(0) + pad - lo) / h).astype(int) + 1)
        node = np.rint((spos - lo) / h).astype(np.int64)
        flat = np.ravel_multi_index(node.T, shape)
        d2 = ((spos - (lo + node * h)) ** 2).sum(1)
        order = np.lexsort((d2, flat))
        first = order[np.r_[True, flat[order][1:] != flat[order][:-1]]]
        shell = np.zeros(shape, bool)
        shell.flat[flat[first]] = True
        best = np.full(int(np.prod(shape)), -1, np.int64)
        best[flat[first]] = first
        edt, ind = ndimage.distance_transform_edt(~shell, return_indices=True)
        nearest_node = np.ravel_multi_index(ind, shape)
        node_sample = best[nearest_node].reshape(shape)
        del ind, nearest_node
        inside = ndimage.binary_fill_holes(shell) & ~shell

        # far from the surface: the distance to the nearest shell node; within two nodes of it: the
        # point-to-plane distance to that node's sample (exact on a smooth surface)
        sign = np.where(inside, np.float32(-1), np.float32(1))
        dist = (sign * (edt.astype(np.float32) * np.float32(h))).astype(np.float32)
        near = np.flatnonzero(edt.reshape(-1) <= 2.0)
        nodes = lo + h * np.stack(np.unravel_index(near, shape), 1)
        smp = node_sample.reshape(-1)[near]
        plane = np.einsum("ij,ij->i", nodes - spos[smp], snorm[smp])
        on_shell = shell.reshape(-1)[near]
        dist.reshape(-1)[near] = np.where(on_shell, plane, sign.reshape(-1)[near] * np.abs(plane))
        del edt
        # anchors for the skin only: a cap sample borrows the midpoint of its cap triangle's hole edge on
        # the skin triangle that owns that edge
        s_tri = np.where(on_skin, geo.skin[np.minimum(stri, n_skin - 1)], -1).astype(np.int64)
        spos_anchor = spos.copy()
        cap_ids = np.flatnonzero(~on_skin)
        if len(cap_ids):
            skin_t = geo.skin_corners
            nv = len(vc)
            keys = np.concatenate([skin_t[:, [k, (k + 1) % 3]] for k in range(3)])
            code = keys[:, 0].astype(np.int64) * nv + keys[:, 1]
            owner = np.tile(geo.skin, 3)
            slot = np.repeat(np.arange(3), len(skin_t))
            order = np.argsort(code)
            cap_tri = tc[stri[cap_ids]]  # (b, a, centre): the skin edge is a -> b
            want = cap_tri[:, 1].astype(np.int64) * nv + cap_tri[:, 0]
            hit = order[np.searchsorted(code[order], want)]
            s_tri[cap_ids] = owner[hit]
            bb = np.zeros((len(cap_ids), 3))
            bb[np.arange(len(cap_ids)), slot[hit]] = 0.5
            bb[np.arange(len(cap_ids)), (slot[hit] + 1) % 3] = 0.5
            sbary = sbary.copy()
            sbary[cap_ids] = bb
            spos_anchor[cap_ids] = (vc[cap_tri[:, 0]] + vc[cap_tri[:, 1]]) / 2
        # keep only the samples some node refers to (memory)
        used, remap = np.unique(node_sample, return_inverse=True)
        return SignedDistanceGrid(lo, h, dist, remap.reshape(shape).astype(np.int32), s_tri[used].astype(np.int32),
                                  sbary[used].astype(np.float64), spos_anchor[used], geo)

    def __call__(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Signed distance (n,) and its gradient (n, 3) (not normalized) at (n, 3) points, float64.
        Points outside the grid read as 10 cm outside."""
        c, f, outside = self._corners(points)
        fx, fy, fz = f
        dcx = c[4:] - c[:4]  # along x, over (dy, dz)
        cx = c[:4] + dcx * fx
        dy = cx[2:] - cx[:2]  # along y, over dz
        cxy = cx[:2] + dy * fy
        dcxy = dcx[:2] + (dcx[2:] - dcx[:2]) * fy
        d = cxy[0] + (cxy[1] - cxy[0]) * fz
        grad = np.empty((len(d), 3))
        grad[:, 0] = dcxy[0] + (dcxy[1] - dcxy[0]) * fz
        grad[:, 1] = dy[0] + (dy[1] - dy[0]) * fz
        grad[:, 2] = cxy[1] - cxy[0]
        grad /= self.h
        if outside.any():
            d[outside] = 10.0
            grad[outside] = 0.0
        return d, grad

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance (n,) at (n, 3) points (as __call__, without the gradient)."""
        c, f, outside = self._corners(points)
        fx, fy, fz = f
        cx = c[:4] + (c[4:] - c[:4]) * fx
        cxy = cx[:2] + (cx[2:] - cx[:2]) * fy
        d = cxy[0] + (cxy[1] - cxy[0]) * fz
        if outside.any():
            d[outside] = 10.0
        return d

    def _corners(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The 8 grid values around each point ((8, n) float64, corners in (dx, dy, dz) order), the point's
        fractions within its cell ((3, n)) and whether it lies outside the grid ((n,) bool)."""
        pts = np.asarray(points, np.float64).reshape(-1, 3)
        p = (pts - self.origin) * (1.0 / self.h)
        hi = self._hi
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        outside = (x < 0) | (y < 0) | (z < 0) | (x > hi[0]) | (y > hi[1]) | (z > hi[2])
        np.clip(p, 0.0, hi, out=p)
        i0 = p.astype(np.int64)
        np.minimum(i0, self._hi_int, out=i0)
        f = (p - i0).T.copy()
        base = i0[:, 0] * self._strides[0] + i0[:, 1] * self._strides[1] + i0[:, 2]
        c = self._flat.take(self._corner_offsets[:, None] + base[None, :]).astype(np.float64)
        return c, f, outside

    @cached_property
    def _hi_int(self) -> np.ndarray:
        return self._hi.astype(np.int64) - 1

    @cached_property
    def _hi(self) -> np.ndarray:
        return np.array(self.dist.shape, np.float64) - 1

    @cached_property
    def _strides(self) -> np.ndarray:
        _, ny, nz = self.dist.shape
        return np.array([ny * nz, nz, 1], np.int64)

    @cached_property
    def _flat(self) -> np.ndarray:
        return np.ascontiguousarray(self.dist).reshape(-1)

    @cached_property
    def _corner_offsets(self) -> np.ndarray:
        _, ny, nz = self.dist.shape
        return np.array([(dx * ny + dy) * nz + dz for dx in (0, 1) for dy in (0, 1) for dz in (0, 1)], np.int64)

    def push_out(self, points: np.ndarray, clearance, iterations: int = 3) -> np.ndarray:
        """(n, 3) float64 points moved along the distance gradient until each is >= clearance (cm, scalar
        or (n,)) from the skin; points already far enough do not move."""
        p = np.array(points, np.float64).reshape(-1, 3)
        clr = np.broadcast_to(np.asarray(clearance, np.float64), (len(p),))
        idx = np.flatnonzero(self.distance(p) < clr)  # most points are far enough: no gradient for them
        for _ in range(iterations):
            if len(idx) == 0:
                break
            d, g = self(p[idx])
            bad = d < clr[idx]
            if not bad.any():
                break
            idx, d, g = idx[bad], d[bad], g[bad]
            gn = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-9)
            p[idx] += gn * (clr[idx] - d)[:, None] * 1.02
        return p

    def nearest_anchor(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pts = np.asarray(points, np.float64).reshape(-1, 3)
        idx = np.rint((pts - self.origin) / self.h).astype(np.int64)
        idx = np.clip(idx, 0, np.array(self.dist.shape) - 1)
        s = self.node_sample[idx[:, 0], idx[:, 1], idx[:, 2]]
        return self.samples_tri[s], self.samples_bary[s]
