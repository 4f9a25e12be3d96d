"""Jewellery fitted to one identity: earrings in the ear lobes (stud, hoop, drop) and facial piercings
(nostril stud, nostril ring, septum ring, brow barbell), metal (and gem) pieces bound to the skin.

Fit (head coordinates of the subject's neutral, fit.FitContext): each piece has a piercing point on the skin
found by ray casting (the outer face of the ear lobe EDGE above its lower edge, the side of the nose
wing, the underside of the columella between the nostrils (1.5 mm up into it), the outer end of the brow) with the skin's normal there. Studs and
balls sit on the skin at their radius + CLEARANCE along the normal. Rings and drops pass through the
piercing point (the wire runs along the normal through the tissue) and hang from it; they turn in their
hole and then tilt outward in steps (SWINGS) until every centreline point clears the head by CLEARANCE +
its radius over the neutral and the expression envelope, but for the passage through the tissue (PASSAGE
cm of arc either side of the piercing point)
(FitContext.worst_gap); a ring or drop that no swing clears shrinks (SCALES) and swings again; what still
does not clear is moved out along the normal (info: swing_deg, scale, moved_cm). In the passage the metal
is in the tissue by design (the piercing itself): the one place an item may meet the head.

Binding: every vertex of a piece is bound (smooth frames) to its piercing point's skin anchor with a fixed
offset in that anchor's frame, so the piece follows the lobe, nose or brow as one rigid body through every
expression.
"""

from __future__ import annotations

import numpy as np

from ..binding import bind_at
from .fit import CLEARANCE, AnchorFrames, FitContext
from .materials import ItemMaterial
from .mesh import MeshBuilder
from .params import EarringParams, PiercingParams
from .shapes import normalize, superellipse, sweep
from ..vectors import cross

# (turn about the piercing's axis, tilt outward) in degrees: a ring or drop turns in its hole towards the
# face or the back before its hole tilts
SWINGS = tuple((np.radians(t), np.radians(a)) for a in (0.0, 20.0, 40.0, 60.0, 70.0)
               for t in (0.0, 30.0, -30.0, 60.0, -60.0))
SCALES = (1.0, 0.8, 0.65, 0.5, 0.35)  # rings and drops shrink when no swing clears
MARGIN = 0.02  # cm over CLEARANCE for the linearized envelope
STUD_LIFT = 0.1  # cm a stud or ball moves off the skin at most (it sits on its piercing: bulging skin meets it)
MOVED_MARGIN = 0.08  # cm more clearance for a piece the swings could not clear (moved out along the normal)
EDGE = 0.35  # cm from an earring's piercing down to the lobe's edge
LOBE = 0.4  # cm: an ear lobe's thickness where a ray cannot measure it
PASSAGE = 0.5  # cm of a ring's arc either side of the piercing point that may lie in the tissue
GEM = (0.0, 0.05)  # gem material: metallic, roughness


def ellipsoid(centre, radii, axes, n: int = 8):
    """(positions, normals, uv, triangles) of an ellipsoid: centre (3,), radii (3,) along the rows of axes
    (3, 3); n latitude bands, 2n longitudes (a seam column repeated for the uv)."""
    th = np.linspace(0.0, np.pi, n + 1)
    ph = np.linspace(0.0, 2 * np.pi, 2 * n + 1)
    t, p = np.meshgrid(th, ph, indexing="ij")
    unit = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    r = np.asarray(radii, np.float64)
    a = np.asarray(axes, np.float64)
    pos = np.asarray(centre, np.float64) + (unit * r) @ a
    nrm = normalize((unit / r) @ a)
    uv = np.stack([p.ravel() / (2 * np.pi), t.ravel() / np.pi], 1)
    cols = 2 * n + 1
    tri = []
    for i in range(n):
        for j in range(2 * n):
            a0, a1, b0, b1 = i * cols + j, i * cols + j + 1, (i + 1) * cols + j, (i + 1) * cols + j + 1
            tri += [[a0, b0, b1], [a0, b1, a1]]
    tri = np.asarray(tri, np.int64)
    # outward winding: flip if the first non-degenerate triangle faces in
    v = pos[tri]
    fn = cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    if np.sum(np.einsum("ni,ni->n", fn, v.mean(1) - np.asarray(centre))) < 0:
        tri = tri[:, ::-1]
    return pos, nrm, uv, tri


def _frame(n: np.ndarray) -> np.ndarray:
    """(3, 3) rows: two tangents and the unit normal n."""
    n = normalize(n)
    t = normalize(cross(n, [0.0, 1.0, 0.0]) if abs(n[1]) < 0.9 else cross(n, [1.0, 0.0, 0.0]))
    return np.stack([t, cross(n, t), n])


class _Piece:
    """One piece of metal: centreline (P, 3) head cm with per-point radius, closed or not, or balls
    (centres with radii); the piercing point and its normal; the part (metal or gem) of each ball."""

    def __init__(self, pierce, normal):
        self.pierce = np.asarray(pierce, np.float64)
        self.normal = normalize(np.asarray(normal, np.float64))
        self.tubes: list[tuple[np.ndarray, float, bool]] = []
        self.through: list[np.ndarray] = []  # per tube: its points inside the tissue (the piercing's passage)
        self.balls: list[tuple[np.ndarray, np.ndarray, np.ndarray, str]] = []  # centre, radii, axes, part

    def tube(self, path: np.ndarray, radius: float, closed: bool, through: np.ndarray) -> None:
        self.tubes.append((path, radius, closed))
        self.through.append(np.asarray(through, bool))

    def points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centreline points, their radii and whether each is in the piercing's passage (exempt)."""
        pts = [p for p, _, _ in self.tubes] + [c[None] for c, _, _, _ in self.balls]
        rad = [np.full(len(p), r) for p, r, _ in self.tubes] + [np.array([float(np.min(r))]) for _, r, _, _ in self.balls]
        exempt = self.through + [np.zeros(1, bool) for _ in self.balls]
        return np.concatenate(pts), np.concatenate(rad), np.concatenate(exempt)

    def shifted(self, d: np.ndarray) -> _Piece:
        out = _Piece(self.pierce, self.normal)
        out.tubes = [(p + d, r, c) for p, r, c in self.tubes]
        out.through = list(self.through)
        out.balls = [(c + d, r, a, k) for c, r, a, k in self.balls]
        return out


def _anchor(ctx: FitContext, point_head: np.ndarray, region: str) -> tuple[int, np.ndarray]:
    """(model skin triangle id, one-hot bary (3,)) of the vertex of `region` nearest a head-coordinate point:
    a piece follows the part it pierces (a septum ring the nose, not the lip under it)."""
    ids = ctx.region_vertices(region)
    v = int(ids[np.argmin(np.linalg.norm(ctx.rest_head[ids] - np.asarray(point_head, np.float64), axis=1))])
    tri, slot = ctx.vertex_triangle
    bary = np.zeros(3)
    bary[slot[v]] = 1.0
    return int(tri[v]), bary


def _shortfall(ctx: FitContext, piece: _Piece, frames: AnchorFrames) -> float:
    """cm the piece's points outside the piercing's passage lack of CLEARANCE + MARGIN + their radius
    (<= 0: clear)."""
    pts, rad, exempt = piece.points()
    far = ~exempt
    if not far.any():
        return -1.0
    w = ctx.from_head(pts[far])
    gap, _ = ctx.worst_gap(w, frames.motion(w))
    return float(np.max(CLEARANCE + MARGIN + rad[far] - gap))


def _settle(ctx: FitContext, build, pierce, normal, region: str) -> tuple[_Piece, dict]:
    """The first swing of build(angle) -> _Piece that clears (else the best one moved out along the normal);
    the piece and its fit record."""
    tri, bary = _anchor(ctx, pierce, region)
    frames = AnchorFrames(ctx, np.array([tri]), bary[None])
    best = None
    rigid = not build(SWINGS[0], 1.0).tubes  # studs and balls: nothing to swing or shrink
    for scale in SCALES[:1] if rigid else SCALES:
        for a in SWINGS[:1] if rigid else SWINGS:
            piece = build(a, scale)
            short = _shortfall(ctx, piece, frames)
            if best is None or short < best[0] - 1e-6:
                best = (short, a, scale, piece)
            if short <= 0:
                break
        if best[0] <= 0:
            break
    short, angle, scale, piece = best
    moved = 0.0
    limit = STUD_LIFT if not piece.tubes else np.inf
    extra = 0.0 if short <= 0 else MOVED_MARGIN  # a piece off its hole keeps a wider berth: the envelope is linear
    for _ in range(4):
        if short + extra <= 0 or moved >= limit:
            break
        step = min((short + extra) * 1.05, limit - moved)
        piece = piece.shifted(piece.normal * step)
        moved += step
        short = _shortfall(ctx, piece, frames)
    pts, rad, exempt = piece.points()
    reach = float(np.max(np.linalg.norm(pts[exempt] - piece.pierce, axis=1) + rad[exempt])) if exempt.any() else 0.0
    return piece, {"swing_deg": [round(float(np.degrees(x)), 1) for x in angle], "scale": scale,
                   "passage_cm": round(reach, 4), "moved_cm": round(moved, 4),
                   "clearance_cm": round(float(CLEARANCE + MARGIN - max(short, 0.0)), 4),
                   "pierce": [round(float(x), 4) for x in ctx.from_head(piece.pierce[None])[0]],
                   "anchor": (tri, bary)}


def _ring(centre_in: np.ndarray, tangent: np.ndarray, hang: np.ndarray, radius: float, n: int = 24,
          passage: float = PASSAGE) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) a circle through centre_in with tangent `tangent` there, hanging along `hang`, and (n,) whether
    each point lies within `passage` cm of arc of centre_in (in the tissue)."""
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    c = centre_in + hang * radius
    arc = np.minimum(t, 2 * np.pi - t) * radius
    return c - np.outer(np.cos(t), hang) * radius + np.outer(np.sin(t), tangent) * radius, arc <= passage


def _swing(d: np.ndarray, n: np.ndarray, a) -> tuple[np.ndarray, np.ndarray]:
    """The hanging direction d turned by a[0] about the piercing's axis n, then tilted by a[1] towards n,
    and the axis tilted likewise (both unit)."""
    side = normalize(cross(n, d))
    d = normalize(np.cos(a[0]) * d + np.sin(a[0]) * side)
    return normalize(np.cos(a[1]) * d + np.sin(a[1]) * n), normalize(-np.sin(a[1]) * d + np.cos(a[1]) * n)


def _down_along(n: np.ndarray, d=(0.0, -1.0, 0.0)) -> np.ndarray:
    d = np.asarray(d, np.float64)
    return normalize(d - n * np.dot(d, n))


def _surface(ctx: FitContext, origin, direction, fallback) -> tuple[np.ndarray, np.ndarray]:
    hit = ctx.cast_head(np.asarray(origin, np.float64)[None], normalize(np.asarray(direction, np.float64))[None])
    if hit["hit"][0]:
        return hit["point"][0], normalize(hit["normal"][0])
    c = ctx.closest(ctx.from_head(np.asarray(fallback, np.float64)[None]))
    return ctx.to_head(c["point"])[0], normalize((c["normal"] @ ctx.axes.T)[0])


def _lobe(ctx: FitContext, side: int, size: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Piercing point, outward normal and thickness (cm) of one ear lobe (head coordinates): the first of rays
    cast inward at the lobe's height that hits the ear itself."""
    region = "ear_left" if side > 0 else "ear_right"
    q = ctx.rest_head[ctx.region_vertices(region)]
    low = q[q[:, 1] < q[:, 1].min() + 0.8]
    y = q[:, 1].min() + 0.3
    ear = ctx.model.region_names.index(region)
    zs = float(np.median(low[:, 2])) + np.array([0.0, -0.2, 0.2, -0.4, 0.4])
    hit = ctx.cast_head(np.stack([np.full(len(zs), side * 25.0), np.full(len(zs), y), zs], 1),
                        np.tile([[-side, 0.0, 0.0]], (len(zs), 1)))
    n_skin = len(ctx.geo.skin)
    tri = np.where(hit["triangle"] < n_skin, ctx.geo.skin[np.minimum(hit["triangle"], n_skin - 1)], -1)
    on_ear = hit["hit"] & (tri >= 0) & (ctx.region_of[np.maximum(tri, 0)] == ear)
    if on_ear.any():
        k = int(np.flatnonzero(on_ear)[0])
        p, n = hit["point"][k], normalize(hit["normal"][k])
    else:
        p, n = _surface(ctx, (side * 25.0, y, zs[0]), (-side, 0.0, 0.0), low.mean(0))
    if n[0] * side < 0.2:  # the lobe's face, not its edge: lean the normal outward
        n = normalize(n + np.array([side * 0.5, 0.0, 0.0]))
    # the lobe's lower edge below the point (rays along -n down the face until one misses the ear), then the
    # point moved to EDGE above it: a ring through it wraps around the edge
    d = _down_along(n)
    steps = np.arange(-1.0, 2.0, 0.05)
    probe = ctx.cast_head(p + np.outer(steps, d) + n * 1.5, np.tile(-n, (len(steps), 1)))
    ptri = np.where(probe["triangle"] < n_skin, ctx.geo.skin[np.minimum(probe["triangle"], n_skin - 1)], -1)
    lobe = probe["hit"] & (ptri >= 0) & (ctx.region_of[np.maximum(ptri, 0)] == ear) & (probe["t"] < 2.5)
    below = np.flatnonzero(~lobe & (steps > 0))
    if lobe[steps <= 0.001].any() and len(below):
        edge = steps[below[0]]
        k = int(np.argmin(np.abs(steps - (edge - EDGE))))
        if lobe[k]:
            p, n = probe["point"][k], normalize(probe["normal"][k])
            if n[0] * side < 0.2:
                n = normalize(n + np.array([side * 0.5, 0.0, 0.0]))
    # the lobe's thickness: where a ray from just inside the front face leaves it again
    back = ctx.cast_head((p - n * 0.01)[None], (-n)[None])
    t = float(back["t"][0]) if back["hit"][0] and back["t"][0] < 1.0 else LOBE
    return p, n, max(t, 0.1)


def _earring(ctx: FitContext, p: EarringParams, side: int) -> tuple[_Piece, dict]:
    pierce, n, thick = _lobe(ctx, side, p.size)
    w = p.wire / 2
    inside = pierce - n * thick / 2
    passage = thick / 2 + p.wire + 0.1
    down = _down_along(n)
    if p.style == "stud":
        r = p.size / 2

        def build(a, scale):
            piece = _Piece(pierce, n)
            piece.balls.append((pierce + n * (0.6 * r + CLEARANCE + MARGIN), np.array([r, r, 0.6 * r]), _frame(n),
                                "gem" if p.gem_color is not None else "metal"))
            return piece
    elif p.style == "hoop":
        radius = p.size / 2

        def build(a, scale):
            d, t = _swing(down, n, a)
            piece = _Piece(pierce, n)
            # a tilted hole is longer: the wire crosses the lobe obliquely
            path, through = _ring(inside, t, d, max(radius * scale, (EDGE + p.wire) / 2 + 0.1),
                                  passage=passage + thick / 2 * (1 / np.cos(a[1]) - 1))
            piece.tube(path, w, True, through)
            return piece
    else:
        gem_r = float(np.clip(0.18 * p.size, 0.12, 0.4))

        def build(a, scale):
            d, t = _swing(down, n, a)
            piece = _Piece(pierce, n)
            hook = np.array([inside, pierce + n * 0.1 - d * 0.08, pierce + n * 0.2 + d * 0.05, pierce + n * 0.22 + d * 0.2])
            chain_end = hook[-1] + d * max(p.size * scale - 2 * gem_r - 0.2, 0.05)
            chain = np.concatenate([hook, hook[-1] + np.outer(np.linspace(0, 1, 6)[1:], chain_end - hook[-1])])
            piece.tube(chain, w, False, np.arange(len(chain)) < 2)
            centre = chain_end + d * gem_r * 1.2
            piece.balls.append((centre, np.array([gem_r * 0.8, gem_r * 0.8, gem_r * 1.2]),
                                np.stack([t, cross(d, t), d]), "gem" if p.gem_color is not None else "metal"))
            return piece
    return _settle(ctx, build, pierce, n, "ear_left" if side > 0 else "ear_right")


def _piercing(ctx: FitContext, p: PiercingParams) -> list[tuple[_Piece, dict]]:
    lm = ctx.lm_head
    side = 1 if p.side == "left" else -1
    w = p.wire / 2
    if p.style in ("nostril_stud", "nostril_ring"):
        base = lm[35] if side > 0 else lm[31]
        pierce, n = _surface(ctx, base + np.array([side * 3.0, 0.3, 0.6]), (-side, -0.1, -0.35), base)
        if p.style == "nostril_stud":
            r = p.size / 2

            def build(a, scale):
                piece = _Piece(pierce, n)
                piece.balls.append((pierce + n * (0.6 * r + CLEARANCE + MARGIN), np.array([r, r, 0.6 * r]),
                                    _frame(n), "metal"))
                return piece
            return [_settle(ctx, build, pierce, n, "nose")]
        radius = p.size / 2
        down = _down_along(n, (0.0, -1.0, 0.2))

        def build(a, scale):
            d, t = _swing(down, n, a)
            piece = _Piece(pierce, n)
            path, through = _ring(pierce - n * 0.1, t, d, radius * scale)
            piece.tube(path, w, True, through)
            return piece
        return [_settle(ctx, build, pierce, n, "nose")]
    if p.style == "septum":
        guess = lm[33] + 0.3 * (lm[30] - lm[33])
        under, _ = _surface(ctx, guess - np.array([0.0, 2.0, 0.0]), (0.0, 1.0, 0.0), guess)
        pierce = under + np.array([0.0, 0.15, 0.0])  # 1.5 mm up in the columella
        fwd = np.array([0.0, 0.0, 1.0])
        down = normalize(np.array([0.0, -1.0, 0.35]))
        radius = p.size / 2

        def build(a, scale):
            tilt = a[0] + a[1] if a[0] >= 0 else a[1]  # the ring swings forward, off the lip
            d = normalize(np.cos(tilt) * down + np.sin(tilt) * fwd)
            piece = _Piece(pierce, fwd)
            path, through = _ring(pierce, np.array([1.0, 0.0, 0.0]), d, radius * scale)
            piece.tube(path, w, True, through)
            return piece
        return [_settle(ctx, build, pierce, fwd, "nose")]
    # brow: a barbell through the outer eyebrow, two balls on the skin above and below
    end, inner = (lm[26], lm[24]) if side > 0 else (lm[17], lm[19])
    at = end + 0.25 * (inner - end)
    r = p.size / 2
    out = []
    for dy in (0.45, -0.45):
        pierce, n = _surface(ctx, at + np.array([0.0, dy, 10.0]), (0.0, 0.0, -1.0), at + np.array([0.0, dy, 0.0]))

        def build(a, scale, pierce=pierce, n=n):
            piece = _Piece(pierce, n)
            piece.balls.append((pierce + n * (r + CLEARANCE + MARGIN), np.array([r, r, r]), _frame(n), "metal"))
            return piece
        out.append(_settle(ctx, build, pierce, n, "face_skin"))
    return out


def fit_jewellery(ctx: FitContext, kind: str, p: EarringParams | PiercingParams):
    """(ItemMesh at rest in world cm, Binding, info) of earrings or a piercing fitted to ctx's subject."""
    if kind == "earrings":
        sides = {"both": (1, -1), "left": (1,), "right": (-1,)}[p.sides]
        fitted = [_earring(ctx, p, s) for s in sides]
        gem = p.gem_color
    else:
        fitted = _piercing(ctx, p)
        gem = None
    b = MeshBuilder(kind)
    k_metal = b.part("metal", ItemMaterial(f"{kind}_metal", tuple(p.metal_color), roughness=p.roughness, metallic=1.0,
                                           size=4))
    k_gem = b.part("gem", ItemMaterial(f"{kind}_gem", tuple(gem), roughness=GEM[1], metallic=GEM[0], size=4)) \
        if gem is not None else k_metal
    to_w, rot_w = ctx.from_head, ctx.dir_from_head
    tri_v, bary_v = [], []
    for piece, info in fitted:
        tri, bary = info["anchor"]
        n0 = b._n
        for path, r, closed in piece.tubes:
            sec = superellipse(8, r, r, 2.0)
            b.add(k_metal, *sweep(to_w(path), *sec, rot_w(piece.normal), closed=closed, v_scale=0.5))
        for centre, radii, axes, part in piece.balls:
            pos, nrm, uv, t = ellipsoid(centre, radii, axes)
            b.add(k_gem if part == "gem" else k_metal, to_w(pos), rot_w(nrm), uv, t)
        count = b._n - n0
        tri_v.append(np.full(count, tri, np.int64))
        bary_v.append(np.tile(bary, (count, 1)))
    mesh = b.build()
    binding = bind_at(ctx.rest, ctx.triangles, mesh.positions.astype(np.float64), np.concatenate(tri_v),
                      np.concatenate(bary_v), "smooth", ctx.binding_normals)
    info = {"pieces": [{k: v for k, v in i.items() if k != "anchor"} for _, i in fitted]}
    return mesh, binding, info
