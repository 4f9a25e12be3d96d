"""Strand groups and grooms (the data types), and the vectorized strand operations the generators use.

A strand is a polyline of P points from its root (on the skin) to its tip. A StrandGroup holds S strands
with the same P, their binding to the face model (so `evaluate(vertices)` gives them on any identity and
expression) and per-strand attributes for rendering. A Groom is the set of groups of one head, one group per
segmentation region: scalp_hair, eyebrow_left, eyebrow_right, beard, moustache, eyelashes. Left and right are
the subject's (eyebrow_left is at +x on the model, the viewer's right in a frontal image).

Operations (numpy, vectorized over strands; loops only over the P points): root sampling, growth along a
direction field with collision against the head's distance field, arc-length resampling and trimming,
rotation-minimizing frames, curls and waves, clumping, frizz, and the final collision pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from ...errors import InputError
from ..binding import Binding, _zero_roots, anchor_frames, bind_at

REGIONS = ("scalp_hair", "eyebrow_left", "eyebrow_right", "beard", "moustache", "eyelashes")
_STRAND_ARRAYS = ("points", "root_tri", "root_bary", "root_radius", "tip_taper", "width", "coverage", "side", "melanin",
                  "redness", "grey", "absorption", "color")


# ---- data types -----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class StrandGroup:
    """S strands of P points of one segmentation region, grown on a rest shape and bound to the model.

    points:      (S, P, 3) float32 rest positions, cm; points[:, 0] are the roots (on the skin);
    binding:     Binding of the S * P points (row s * P + j is strand s point j);
    root_tri:    (S,) int32 triangle of each root; root_bary: (S, 3) float32;
    root_radius: (S,) float32 fibre radius at the root, cm (for strand renderers; ~0.003-0.006);
    tip_taper:   (S,) float32 in [0, 1]: radius and ribbon width at the tip = root value * (1 - tip_taper);
    width:       (S,) float32 ribbon width at the root, cm: one ribbon stands for a clump of fibres;
    coverage:    (S,) float32 in (0, 1]: the share of a ribbon's area its fibres cover (its alpha);
    side:        (S, 3) float32 unit ribbon width direction at the root in the root frame (t, b, n), so
                 ribbons turn with the skin; transported along the strand when ribbons are built;
    melanin, redness: (S,) float32 Blender melanin knobs per strand; grey: (S,) float32 share of grey fibres
                 in each clump (bool in grooms stored before shares);
    absorption:  (S, 3) float32 linear-RGB absorption coefficient (color.absorption); color: (S, 3) float32
                 linear RGB the fibres show (color.absorption_to_color);
    labels:      extra (S,) arrays, e.g. "eye" (+1 subject's left, -1 right) and "upper" for eyelashes;
    collider:    for groups whose skin folds too much for any rigid frame (eyelashes on closing or widening
                 lids): evaluate() pushes the posed points (not the roots) out of the posed closed skin to
                 `clearance` cm, exactly (open3d; ~20 ms per pose for a few thousand points).
    """

    region: str
    points: np.ndarray
    binding: Binding
    root_tri: np.ndarray
    root_bary: np.ndarray
    root_radius: np.ndarray
    tip_taper: np.ndarray
    width: np.ndarray
    coverage: np.ndarray
    side: np.ndarray
    melanin: np.ndarray
    redness: np.ndarray
    grey: np.ndarray
    absorption: np.ndarray
    color: np.ndarray
    labels: Mapping[str, np.ndarray] = field(default_factory=dict)
    collider: object = None
    clearance: float = 0.02

    def __post_init__(self):
        if self.region not in REGIONS:
            raise InputError(f"unknown strand region {self.region!r}; known: {', '.join(REGIONS)}")
        s, p = self.points.shape[:2]
        if len(self.binding) != s * p:
            raise InputError(f"{self.region}: binding has {len(self.binding)} points for {s} x {p} strand points")

    @property
    def n_strands(self) -> int:
        return self.points.shape[0]

    @property
    def n_points(self) -> int:
        return self.points.shape[1]

    def evaluate(self, vertices: np.ndarray, resolve: bool = True) -> np.ndarray:
        """(S, P, 3) or (B, S, P, 3) float32 strands on (V, 3) or (B, V, 3) model vertices. resolve: apply
        the group's collider (if it has one); False gives the pure binding."""
        out = self.binding.evaluate(vertices)
        out = out.reshape(out.shape[:-2] + (self.n_strands, self.n_points, 3))
        if resolve and self.collider is not None and self.n_strands:
            v = np.asarray(vertices)
            flat_v = v.reshape((-1,) + v.shape[-2:])
            flat_o = out.reshape((-1,) + out.shape[-3:])
            for b in range(len(flat_v)):
                tips = flat_o[b, :, 1:].reshape(-1, 3)
                flat_o[b, :, 1:] = self.collider.push_out(flat_v[b], tips, self.clearance).reshape(self.n_strands, -1, 3)
            out = flat_o.reshape(out.shape)
        return out

    @cached_property
    def root_binding(self) -> Binding:
        """Binding of the S roots alone (K = 1, zero offset)."""
        z = np.zeros((self.n_strands, 1, 3), np.float32)
        return Binding(self.root_tri.reshape(-1, 1).astype(np.int32), self.root_bary.reshape(-1, 1, 3).astype(np.float32),
                       z, np.ones((self.n_strands, 1), np.float32), self.binding.triangles, self.binding.normals)

    def roots(self, vertices: np.ndarray) -> np.ndarray:
        """(S, 3) or (B, S, 3) float32 root positions on evaluated vertices."""
        return self.root_binding.evaluate(vertices)

    def sides(self, vertices: np.ndarray) -> np.ndarray:
        """(S, 3) or (B, S, 3) float64 world ribbon side vectors at the roots on evaluated vertices."""
        return self.root_binding.rotate(vertices, self.side)

    def lengths(self, points: np.ndarray | None = None) -> np.ndarray:
        """(S,) polyline lengths (cm) of the rest strands (or of given (S, P, 3) points)."""
        return polyline_lengths(self.points if points is None else points)

    def display_color(self) -> np.ndarray:
        """(S, 3) linear RGB for previews (the fibre colour)."""
        return self.color

    @staticmethod
    def concat(groups: list[StrandGroup]) -> StrandGroup:
        """One group of the strands of several groups of the same region (and points per strand), in order."""
        first = groups[0]
        if len(groups) == 1:
            return first
        if any(g.region != first.region or g.n_points != first.n_points for g in groups):
            raise InputError("StrandGroup.concat: the groups differ in region or points per strand")
        arrays = {k: np.concatenate([getattr(g, k) for g in groups]) for k in _STRAND_ARRAYS}
        labels = {k: np.concatenate([g.labels[k] for g in groups]) for k in first.labels}
        return replace(first, binding=Binding.concat([g.binding for g in groups]), labels=labels, **arrays)


@dataclass(frozen=True, eq=False)
class Groom:
    """All strand groups of one head. rest_vertices: (V, 3) float32 the shape they were grown on;
    params: the GroomParams; info: counts and timings."""

    groups: tuple[StrandGroup, ...]
    params: object
    rest_vertices: np.ndarray
    info: Mapping = field(default_factory=dict)

    def group(self, region: str) -> StrandGroup | None:
        for g in self.groups:
            if g.region == region:
                return g
        return None

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(g.region for g in self.groups)

    def evaluate(self, vertices: np.ndarray, resolve: bool = True) -> dict[str, np.ndarray]:
        """{region: (S, P, 3) or (B, S, P, 3) float32} strands on evaluated model vertices (resolve: see
        StrandGroup.evaluate)."""
        return {g.region: g.evaluate(vertices, resolve) for g in self.groups}

    def n_strands(self) -> dict[str, int]:
        return {g.region: g.n_strands for g in self.groups}

    def with_colliders(self, model, regions: tuple[str, ...] = ("eyelashes",)) -> Groom:
        """The same groom with pose-time colliders on `regions` (make_groom sets them; a groom rebuilt from
        stored arrays has none: call this with the model it was made for)."""
        from ..head import head_geometry

        collider = head_geometry(model, self.rest_vertices).collider
        groups = tuple(replace(g, collider=collider) if g.region in regions else g for g in self.groups)
        return replace(self, groups=groups)

    def digest(self) -> str:
        """sha256 (16 hex) of every array of every group: equal digests = byte-identical grooms."""
        import hashlib

        h = hashlib.sha256()
        for g in self.groups:
            h.update(g.region.encode())
            for a in (g.points, g.binding.tri, g.binding.bary, g.binding.offset, g.binding.weight, g.root_tri,
                      g.root_bary, g.root_radius, g.tip_taper, g.width, g.coverage, g.side, g.melanin, g.redness,
                      g.grey, g.absorption, g.color):
                h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


# ---- small helpers ----------------------------------------------------------------------------------------
def normalize(v, eps: float = 1e-12):
    v = np.asarray(v, np.float64)
    return v / np.maximum(np.sqrt(np.einsum("...i,...i->...", v, v))[..., None], eps)


def along(v, n):
    """(..., 1) dot products of (..., 3) vectors (the component of v along unit n, kept for broadcasting)."""
    return np.einsum("...i,...i->...", v, n)[..., None]


def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _segments(points) -> np.ndarray:
    """(..., P - 1) segment lengths of (..., P, 3) polylines."""
    d = np.diff(np.asarray(points, np.float64), axis=-2)
    return np.sqrt(np.einsum("...i,...i->...", d, d))


def polyline_lengths(points) -> np.ndarray:
    """(...,) lengths of (..., P, 3) polylines."""
    return _segments(points).sum(-1)


def arc_lengths(points) -> np.ndarray:
    """(..., P) cumulative arc length at each point of (..., P, 3) polylines (0 at the root)."""
    seg = _segments(points)
    out = np.zeros(seg.shape[:-1] + (seg.shape[-1] + 1,))
    np.cumsum(seg, -1, out=out[..., 1:])
    return out


def tangents(points) -> np.ndarray:
    """(S, P, 3) unit tangents (central differences, one-sided at the ends)."""
    p = np.asarray(points, np.float64)
    t = np.empty_like(p)
    t[:, 1:-1] = p[:, 2:] - p[:, :-2]
    t[:, 0] = p[:, 1] - p[:, 0]
    t[:, -1] = p[:, -1] - p[:, -2]
    return normalize(t)


def mean_curvature(points) -> np.ndarray:
    """(S,) mean turning angle per cm along each strand (radians / cm): 0 for straight strands."""
    p = np.asarray(points, np.float64)
    d = np.diff(p, axis=1)
    seg = np.linalg.norm(d, axis=2)
    u = d / np.maximum(seg[..., None], 1e-12)
    cosang = np.clip((u[:, 1:] * u[:, :-1]).sum(2), -1, 1)
    return np.arccos(cosang).sum(1) / np.maximum(seg.sum(1), 1e-9)


# ---- roots ------------------------------------------------------------------------------------------------
def sample_roots(rng: np.random.Generator, geo, density: np.ndarray, per_cm2: float, max_count: int | None = None,
                 min_count: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Roots on the skin: count = per_cm2 * sum(area * density) (capped at max_count), triangles drawn with
    probability area * density, uniform barycentric coordinates inside. density: (Fs,) in [0, 1] per skin
    triangle (order of geo.skin). Returns ((n,) global triangle ids int32, (n, 3) float64 bary)."""
    w = geo.skin_area * np.clip(np.asarray(density, np.float64), 0, 1)
    total = float(w.sum())
    n = round(per_cm2 * total)
    if max_count is not None:
        n = min(n, max_count)
    n = max(n, min_count) if total > 0 else 0
    u = rng.random((n, 3))  # fixed draw: 3 uniforms per root
    if n == 0:
        return np.zeros(0, np.int32), np.zeros((0, 3))
    cdf = np.cumsum(w) / total
    local = np.minimum(np.searchsorted(cdf, u[:, 0], side="right"), len(w) - 1)
    s = np.sqrt(u[:, 1])
    bary = np.stack([1 - s, s * (1 - u[:, 2]), s * u[:, 2]], 1)
    return geo.skin[local].astype(np.int32), bary


def surface_points(geo, tri, bary):
    """Rest positions (n, 3) and smooth unit normals (n, 3) of anchors (float64)."""
    c = geo.triangles[tri]
    p = sum(geo.rest[c[:, i]] * bary[:, i:i + 1] for i in range(3))
    n = normalize(sum(geo.vertex_normals[c[:, i]] * bary[:, i:i + 1] for i in range(3)))
    return p, n


# ---- growth -----------------------------------------------------------------------------------------------
DirectionField = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]


def grow(geo, roots: np.ndarray, root_normals: np.ndarray, t0: np.ndarray, lengths: np.ndarray, n_points: int,
         field: DirectionField, clearance, bend: float = 1.5, collide: bool = True,
         exclude: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Grow strands step by step from their roots.

    Each step turns the direction towards field(x, t, n, arc, k) (unit (S, 3); n is the outward unit normal
    of the head at x) with a bending length `bend` cm (how far a strand travels before it follows the
    field), moves ds = length / (P - 1), then pushes the new point out of the head to the clearance (an (S,)
    array of cm, ramped from 0.02 cm at the root so strands leave the skin smoothly, or a callable arc -> (S,))
    and restores the step length. exclude: optional xn (S, 3) -> xn, a last hard constraint per step (the
    face's keep-clear zone); it may lengthen a step. Returns (S, P, 3) float64."""
    roots = np.asarray(roots, np.float64)
    s = len(roots)
    p = int(n_points)
    out = np.empty((s, p, 3))
    out[:, 0] = roots
    if s == 0:
        return out
    ds = np.asarray(lengths, np.float64) / max(p - 1, 1)
    t = normalize(t0)
    n = normalize(root_normals)
    x = roots.copy()
    alpha = (1.0 - np.exp(-ds / max(bend, 1e-6)))[:, None]
    sdf = geo.sdf
    for k in range(1, p):
        arc = ds * k
        desired = field(x, t, n, arc, k)
        t = normalize(t + alpha * (desired - t))
        xn = x + ds[:, None] * t
        if collide:
            clr = clearance(arc) if callable(clearance) else np.minimum(clearance, 0.02 + 0.6 * arc)
            d, g = sdf(xn)
            gl = np.sqrt(np.einsum("ij,ij->i", g, g))[:, None]
            gn = g / np.maximum(gl, 1e-9)
            bad = d < clr
            if bad.any():
                xn[bad] += gn[bad] * (clr[bad] - d[bad])[:, None] * 1.02
                xn[bad] = x[bad] + ds[bad, None] * normalize(xn[bad] - x[bad])  # keep the step length
            n = np.where(gl > 1e-9, gn, n)
        if exclude is not None:
            xn = exclude(xn)
        t = normalize(xn - x)
        x = xn
        out[:, k] = x
    return out


def resample(points: np.ndarray, new_lengths: np.ndarray, n_points: int | None = None) -> np.ndarray:
    """Polylines (S, P, 3) re-cut to arc length new_lengths (S,) (<= their length keeps a prefix, longer
    extends the last segment) with n_points points evenly spaced in arc length. float64."""
    pts = np.asarray(points, np.float64)
    s, p, _ = pts.shape
    q = p if n_points is None else int(n_points)
    cum = arc_lengths(pts)
    target = np.linspace(0, 1, q)[None, :] * np.asarray(new_lengths, np.float64)[:, None]
    # segment of each target: one searchsorted over all strands, each shifted past the previous one
    span = max(float(cum[:, -1].max(initial=0.0)), float(target.max(initial=0.0))) + 1.0
    shift = (np.arange(s, dtype=np.float64) * span)[:, None]
    flat = np.searchsorted((cum + shift).ravel(), (target + shift).ravel(), side="right").reshape(s, q)
    start = np.arange(s)[:, None] * p
    seg = (np.clip(flat - start - 1, 0, p - 2) + start).ravel()  # flat index of each target's segment start
    flat_pts, flat_cum = pts.reshape(-1, 3), cum.ravel()
    a, b = np.take(flat_pts, seg, axis=0), np.take(flat_pts, seg + 1, axis=0)
    c0, c1 = np.take(flat_cum, seg), np.take(flat_cum, seg + 1)
    f = (target.ravel() - c0) / np.maximum(c1 - c0, 1e-12)
    return (a + (b - a) * f[:, None]).reshape(s, q, 3)


def smooth_resample(points: np.ndarray, n_points: int) -> np.ndarray:
    """Polylines (S, P, 3) whose points are evenly spaced in arc length, resampled to n_points points on
    the Catmull-Rom spline through them (C1: no corners where the coarse polyline had them; the ends are
    kept). float64 (S, n_points, 3)."""
    pts = np.asarray(points, np.float64)
    p, q = pts.shape[1], int(n_points)
    if q == p or p < 2:
        return pts.copy()
    ext = np.concatenate([2 * pts[:, :1] - pts[:, 1:2], pts, 2 * pts[:, -1:] - pts[:, -2:-1]], 1)
    u = np.linspace(0, p - 1, q)
    i = np.minimum(u.astype(np.int64), p - 2)
    t = (u - i)[:, None]
    # the spline's weights of the four control points around each sample (Catmull-Rom basis)
    t2, t3 = t * t, t * t * t
    w = 0.5 * np.stack([-t3 + 2 * t2 - t, 3 * t3 - 5 * t2 + 2, -3 * t3 + 4 * t2 + t, t3 - t2])
    return sum(np.take(ext, i + j, axis=1) * w[j] for j in range(4))


def rmf(points: np.ndarray, u0: np.ndarray, binormals: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Rotation-minimizing frames along strands (double reflection, Wang et al. 2008).

    points (S, P, 3); u0 (S, 3) a vector at the root (made perpendicular to the first tangent). Returns
    tangents, u, v (S, P, 3) float64 with v = t x u (None when binormals is False)."""
    pts = np.asarray(points, np.float64)
    t = tangents(pts)
    p = pts.shape[1]
    u = np.empty_like(pts)
    u0 = np.asarray(u0, np.float64)
    u[:, 0] = normalize(u0 - t[:, 0] * (u0 * t[:, 0]).sum(1, keepdims=True))
    # the first reflection of every step at once (it does not depend on u): v1, 2 / |v1|^2, the reflected
    # tangent and the second mirror v2 with 2 / |v2|^2
    v1 = np.diff(pts, axis=1)
    r1 = 2.0 / np.maximum(np.einsum("spi,spi->sp", v1, v1), 1e-20)
    tl = t[:, :-1] - (r1 * np.einsum("spi,spi->sp", v1, t[:, :-1]))[..., None] * v1
    v2 = t[:, 1:] - tl
    r2 = 2.0 / np.maximum(np.einsum("spi,spi->sp", v2, v2), 1e-20)
    v1, v2 = np.ascontiguousarray(np.moveaxis(v1, 1, 0)), np.ascontiguousarray(np.moveaxis(v2, 1, 0))
    r1, r2 = np.ascontiguousarray(r1.T), np.ascontiguousarray(r2.T)
    uk = u[:, 0]
    for k in range(p - 1):
        a, b = v1[k], v2[k]
        ul = uk - (r1[k] * np.einsum("si,si->s", a, uk))[:, None] * a
        uk = ul - (r2[k] * np.einsum("si,si->s", b, ul))[:, None] * b
        uk = uk / np.maximum(np.sqrt(np.einsum("si,si->s", uk, uk)), 1e-12)[:, None]
        u[:, k + 1] = uk
    return t, u, np.cross(t, u) if binormals else None


def add_curl(points: np.ndarray, u0: np.ndarray, radius: np.ndarray, frequency: np.ndarray, phase: np.ndarray,
             kind: str = "helix", ramp: float = 1.0) -> np.ndarray:
    """Curl strands around their centrelines: helices (kind "helix") or planar waves along the root side
    direction u0 (kind "wave"). radius (S,) cm, frequency (S,) turns per cm of centreline, phase (S,) rad;
    the radius ramps in over the first `ramp` cm so roots stay put. (S, P, 3) float64."""
    pts = np.asarray(points, np.float64)
    _, u, v = rmf(pts, u0)
    arc = arc_lengths(pts)
    r = np.asarray(radius, np.float64)[:, None] * smoothstep(arc / max(ramp, 1e-6))
    ang = 2 * np.pi * np.asarray(frequency, np.float64)[:, None] * arc + np.asarray(phase, np.float64)[:, None]
    if kind == "wave":
        off = (r * np.sin(ang))[..., None] * u
    else:
        off = (r * np.cos(ang))[..., None] * u + (r * np.sin(ang))[..., None] * v
    return pts + off


def clump(points: np.ndarray, rng: np.random.Generator, strength: float, clump_size: float = 12.0,
          shape: float = 0.8, classes: np.ndarray | None = None) -> np.ndarray:
    """Pull strands towards the strand of their clump guide, more towards the tips (t^shape), by
    `strength` in [0, 1]. Guides: every strand with probability 1 / clump_size; each strand follows the guide
    of its class (classes (S,) ints, e.g. fringe / rest) whose root is nearest. Draws S uniforms.
    (S, P, 3) float64."""
    from scipy.spatial import cKDTree

    pts = np.asarray(points, np.float64)
    s, p, _ = pts.shape
    u = rng.random(s)
    if s == 0 or strength <= 0:
        return pts
    cls = np.zeros(s, np.int64) if classes is None else np.asarray(classes)
    owner = np.arange(s)
    for c in np.unique(cls):
        members = np.flatnonzero(cls == c)
        guides = members[u[members] < 1.0 / max(clump_size, 1.0)]
        if len(guides) == 0:
            guides = members[[int(np.argmin(u[members]))]]
        owner[members] = guides[cKDTree(pts[guides, 0]).query(pts[members, 0])[1]]
    t = np.linspace(0, 1, p) ** shape
    return pts + strength * t[None, :, None] * (pts[owner] - pts)


FRIZZ_KNOTS = 12


def frizz(points: np.ndarray, rng: np.random.Generator, amount: float, scale: float = 0.25) -> np.ndarray:
    """Random wander growing towards the tips: a Gaussian random walk of `scale` * amount cm on K =
    min(P, FRIZZ_KNOTS) knots along each strand, carried to its P points by a Catmull-Rom spline (smooth
    however finely a strand is sampled). Draws S*K*3 normals. (S, P, 3) float64."""
    pts = np.asarray(points, np.float64)
    s, p, _ = pts.shape
    k = min(p, FRIZZ_KNOTS)
    noise = rng.standard_normal((s, k, 3))
    if amount <= 0 or pts.size == 0:
        return pts
    walk = np.cumsum(noise, axis=1) / np.sqrt(np.arange(1, k + 1))[None, :, None]
    walk = smooth_resample(walk, p)
    t = np.linspace(0, 1, p) ** 1.5
    return pts + amount * scale * t[None, :, None] * walk


def collide(geo, points: np.ndarray, clearance: float | np.ndarray, iterations: int = 3) -> np.ndarray:
    """Push every non-root point out of the head to >= clearance cm (roots stay). (S, P, 3) float64."""
    pts = np.array(points, np.float64)
    if pts.size == 0:
        return pts
    s, p, _ = pts.shape
    clr = np.broadcast_to(np.asarray(clearance, np.float64), (s, p))[:, 1:].reshape(-1)
    pts[:, 1:] = geo.sdf.push_out(pts[:, 1:].reshape(-1, 3), clr, iterations).reshape(s, p - 1, 3)
    return pts


def trim_below(points: np.ndarray, heights: np.ndarray, cut: np.ndarray, min_length: float = 0.3) -> np.ndarray:
    """Cut each strand where its height (S, P) first drops below cut (S,) and resample to its P points over
    the kept length (at least min_length). (S, P, 3) float64."""
    pts = np.asarray(points, np.float64)
    h = np.asarray(heights, np.float64)
    cum = arc_lengths(pts)
    total = cum[:, -1]
    below = h < np.asarray(cut, np.float64)[:, None]
    below[:, 0] = False
    first = np.where(below.any(1), below.argmax(1), -1)
    keep = total.copy()
    has = first > 0
    k = first[has]
    rows = np.flatnonzero(has)
    h0, h1 = h[rows, k - 1], h[rows, k]
    f = np.clip((h0 - np.asarray(cut, np.float64)[rows]) / np.maximum(h0 - h1, 1e-9), 0, 1)
    keep[rows] = cum[rows, k - 1] + f * (cum[rows, k] - cum[rows, k - 1])
    keep = np.maximum(keep, np.minimum(min_length, total))
    return resample(pts, keep)


# ---- assembling a group ------------------------------------------------------------------------------------
def make_group(region: str, geo, points: np.ndarray, root_tri: np.ndarray, root_bary: np.ndarray, *, side_world,
               width, coverage, root_radius, tip_taper, melanin, redness, grey, absorption, color,
               mode: str = "root", blend=(0.5, 1.5), labels=None, normals: str = "smooth",
               frame_anchors: np.ndarray | None = None, collide_on_pose: bool = False) -> StrandGroup:
    """Bind rest strands (S, P, 3) to the model and package them (arrays broadcast to (S,)).

    frame_anchors: optional (S, k) skin triangles near each root; every point then blends its root-frame
    prediction with rigid predictions from those triangles' frames, their share rising from 0 at the root to
    0.7 from 60 % of the strand on."""
    from ..binding import bind_polylines

    pts = np.asarray(points, np.float64)
    s, p, _ = pts.shape
    pts[:, 0] = surface_points(geo, root_tri, root_bary)[0] if s else pts[:, 0]
    tri = np.asarray(geo.triangles, np.int32)
    kw = {}
    if mode in ("surface", "blend") and s:
        # surface anchors only where they get weight (beyond blend[0] of arc length in "blend" mode)
        need = (arc_lengths(pts) > (blend[0] if mode == "blend" else -1.0)).reshape(-1)
        stri = np.repeat(np.asarray(root_tri), p).astype(np.int32)
        sbary = np.repeat(np.asarray(root_bary, np.float64), p, axis=0)
        stri[need], sbary[need] = geo.radial_anchor(pts.reshape(-1, 3)[need])
        kw = dict(surface_tri=stri.reshape(s, p), surface_bary=sbary.reshape(s, p, 3))
    vn = geo.binding_normals
    binding = bind_polylines(geo.rest, tri, pts, root_tri, root_bary, mode=mode, blend=blend, normals=normals,
                             vertex_normals=vn, **kw)
    if frame_anchors is not None and s:
        # average the root frame with the frames of nearby skin triangles: a point then moves with the
        # skin around its root, not with one small (possibly badly shaped) triangle
        fa = np.asarray(frame_anchors)
        k = fa.shape[1]
        flat = pts.reshape(-1, 3)
        extra = [bind_at(geo.rest, tri, flat, np.repeat(fa[:, j], p), np.full((s * p, 3), 1 / 3), normals, vn)
                 for j in range(k)]
        share = np.tile(0.7 * smoothstep(np.linspace(0, 1, p) / 0.6), s)[:, None]  # root frame at the root
        w = np.concatenate([1 - share, np.repeat(share / k, k, axis=1)], 1)
        binding = _zero_roots(Binding.blend([binding] + extra, w), p)
    if s:
        _, rot = anchor_frames(geo.rest, tri, np.asarray(root_tri).reshape(-1, 1), np.asarray(root_bary, np.float32).reshape(-1, 1, 3),
                               normals, vertex_normals=vn)
        side_local = np.einsum("nji,nj->ni", rot[:, 0], normalize(side_world))
    else:
        side_local = np.zeros((0, 3))
    rest = pts.astype(np.float32)

    def per(a, dtype=np.float32):
        return np.broadcast_to(np.asarray(a, dtype), (s,)).copy()

    return StrandGroup(
        region=region, points=rest, binding=binding, root_tri=np.asarray(root_tri, np.int32),
        root_bary=np.asarray(root_bary, np.float32), root_radius=per(root_radius), tip_taper=per(tip_taper),
        width=per(width), coverage=per(coverage), side=np.asarray(side_local, np.float32),
        melanin=per(melanin), redness=per(redness), grey=per(grey),
        absorption=np.asarray(absorption, np.float32).reshape(s, 3), color=np.asarray(color, np.float32).reshape(s, 3),
        labels=dict(labels or {}), collider=geo.collider if collide_on_pose else None,
    )


def replace_points(group: StrandGroup, points: np.ndarray) -> StrandGroup:
    """The same group with other (posed) points, for code that wants group attributes next to positions."""
    return replace(group, points=np.asarray(points, np.float32))
