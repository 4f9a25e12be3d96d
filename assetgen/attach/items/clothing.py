"""A garment around the neck and shoulders fitted to one identity: crew neck, V-neck, collared shirt,
turtleneck or hoodie, on the neck-and-shoulder stub of the face model.

Fit (head coordinates of the subject's neutral, fit.FitContext): the base of the neck is a curve around the
neck axis, y = chin - (4.25 + 1.75 cos a) (a: azimuth around the neck, 0 at the front: lowest at the
front, highest at the back); the style's neckline lies on or below it (a dip at the front, a V for the
V-neck, never closer than 1.5 cm to the bottom of the stub). The body is the skin below the neckline moved
out along its normals by `thickness`, smoothed (Taubin: no shrinking) and kept at least 60 % of the
thickness off the skin; the neckline carries a ribbed trim (crew, V, hoodie), a stand-and-fall collar
(collared) or a rolled collar up the neck that stays 0.8 cm below the lowest the jaw comes in any envelope
pose (turtleneck); a hoodie adds its hood lying around the back of the neck.

Binding: every vertex follows one skin point (its own skin vertex for the body; the neckline's or a ray
hit's for trims and collars) with a fixed offset in that point's smooth frame (attach.binding.bind_at),
so the garment moves with the neck and never goes under the skin.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..binding import bind_at
from ..head import boundary_loops
from .fit import CLEARANCE, AnchorFrames, FitContext, clear_posed
from .materials import ItemMaterial
from .mesh import MeshBuilder, vertex_normals
from .params import ClothingParams
from .shapes import grid, normalize, shell, superellipse, sweep
from ..vectors import cross


def _ordered_loop(edges: np.ndarray) -> np.ndarray:
    """Vertex ids of a closed boundary loop in travel order, from its directed edges (k, 2)."""
    nxt = {int(a): int(b) for a, b in edges}
    start = int(edges[0, 0])
    out, v = [start], nxt[start]
    while v != start and len(out) <= len(edges):
        out.append(v)
        v = nxt[v]
    return np.array(out, np.int64)


def _taubin(points: np.ndarray, tris: np.ndarray, iterations: int = 6, lam: float = 0.5, mu: float = -0.53,
            fixed: np.ndarray | None = None) -> np.ndarray:
    """Taubin-smoothed (n, 3) points over the mesh (tris (t, 3) into points); `fixed` (n,) bool stay put."""
    from scipy import sparse

    n = len(points)
    e = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    e = np.concatenate([e, e[:, ::-1]])
    a = sparse.csr_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    a.data[:] = 1.0
    deg = np.asarray(a.sum(1)).ravel()
    p = points.copy()
    move = np.ones(n, bool) if fixed is None else ~fixed
    for _ in range(iterations):
        for f in (lam, mu):
            avg = (a @ p) / np.maximum(deg, 1)[:, None]
            p[move] += f * (avg[move] - p[move])
    return p


def fit_clothing(ctx: FitContext, p: ClothingParams, rng: np.random.Generator, name: str = "clothing"):
    """(ItemMesh at rest in world cm, Binding of its vertices, info) of garment `p` fitted to ctx's subject."""
    q = ctx.rest_head
    chin = float(ctx.lm_head[8, 1])
    y_ref = chin - 3.0
    front = ctx.cast_head(np.array([[0.0, y_ref, 30.0]]), np.array([[0.0, 0.0, -1.0]]))["point"][0, 2]
    back = ctx.cast_head(np.array([[0.0, y_ref, -30.0]]), np.array([[0.0, 0.0, 1.0]]))["point"][0, 2]
    z_c = 0.5 * (front + back)

    def azimuth(pts):
        return np.arctan2(pts[..., 0], pts[..., 2] - z_c)

    neck = ctx.region_vertices("neck")
    hole = ctx.geo.hole("neck").vertices
    hq = q[hole]
    h_az = azimuth(hq)
    order = np.argsort(h_az)
    hole_az, hole_y = h_az[order], hq[order, 1]

    def hole_floor(a):
        return np.interp(a, hole_az, hole_y, period=2 * np.pi)

    def base(a):
        return chin - (4.25 + 1.75 * np.cos(a))

    def neckline(a):
        c = np.clip(np.cos(a), 0, None)
        if p.style == "v_neck":
            v = np.clip(1 - np.abs(a) / np.radians(38), 0, None)
            y = base(a) - 0.6 * c ** 2 - p.neckline * v
        elif p.style == "turtleneck":
            y = base(a) - 0.3 * c ** 2
        else:
            y = base(a) - p.neckline * c ** 2
        return np.maximum(y, hole_floor(a) + 1.5)

    nq = q[neck]
    inside = nq[:, 1] < neckline(azimuth(nq))
    gverts = neck[inside]
    keep = np.zeros(len(ctx.rest), bool)
    keep[gverts] = True
    skin_t = ctx.geo.skin_corners
    gtri = skin_t[keep[skin_t].all(1)]
    used = np.unique(gtri)
    remap = np.full(len(ctx.rest), -1, np.int64)
    remap[used] = np.arange(len(used))
    tri_local = remap[gtri]
    rest_v = ctx.rest[used]
    nrm = vertex_normals(rest_v, tri_local).astype(np.float64)
    body = rest_v + nrm * p.thickness
    loops = boundary_loops(gtri)
    on_hole = np.isin(used, hole)
    neck_loop = None
    for lp in loops:
        ids = np.unique(lp)
        if not np.isin(ids, hole).all() and (neck_loop is None or len(lp) > len(neck_loop)):
            neck_loop = lp
    body = _taubin(body, tri_local, fixed=on_hole)
    h = np.sum((body - rest_v) * nrm, 1)
    low = h < 0.6 * p.thickness
    body[low] += nrm[low] * (0.6 * p.thickness - h[low])[:, None]
    # the hem at the bust's cut lies just outside the cut's cap (the closed skin's bottom)
    k = [h.name for h in ctx.geo.holes].index("neck")
    cap = ctx.obstacle_triangles[ctx.obstacle_triangles.max(1) == len(ctx.rest) + k]
    cv = ctx.obstacle_vertices_cached
    cap_n = normalize(cross(cv[cap[:, 1]] - cv[cap[:, 0]], cv[cap[:, 2]] - cv[cap[:, 0]]).sum(0))
    body[on_hole] += cap_n * (CLEARANCE + 0.05)

    b = MeshBuilder("clothing")
    fabric = ItemMaterial(f"{name}_body", tuple(p.color), roughness=0.85, pattern=p.pattern,
                          pattern_color=tuple(p.pattern_color), repeats=(p.repeats, p.repeats),
                          seed=int(rng.integers(0, 2**31)), size=128 if p.pattern != "solid" else 16)
    trim = ItemMaterial(f"{name}_trim", tuple(p.trim_color), roughness=0.8,
                        pattern="knit" if p.style in ("crew_neck", "v_neck", "turtleneck", "hoodie") else "solid",
                        pattern_color=tuple(0.7 * c for c in p.trim_color), repeats=(24, 2), size=64)
    k_body, k_trim = b.part("body", fabric), b.part("trim", trim)
    # planar uv (front view), one scale for both axes: no seam
    bq = ctx.to_head(body)
    span = max(np.ptp(bq[:, 0]), np.ptp(bq[:, 1]), 1e-6)
    uv = np.stack([(bq[:, 0] - bq[:, 0].min()) / span, (bq[:, 1].max() - bq[:, 1]) / span], 1)
    b.add(k_body, body, nrm, uv, tri_local)
    anchor_tri, anchor_slot = ctx.vertex_triangle
    bary1 = np.eye(3)[anchor_slot[used]]
    anchors = [(anchor_tri[used], bary1)]
    # ---- the neckline finish --------------------------------------------------------------------------
    loop = _ordered_loop(neck_loop)
    li = remap[loop]
    lp = body[li]
    lp = _smooth_closed(lp, 3)
    ln = normalize(nrm[li])
    loop_anchor = (anchor_tri[loop], np.eye(3)[anchor_slot[loop]])
    extra_anchor = []
    if p.style in ("crew_neck", "v_neck", "hoodie"):
        r_out, r_up = 0.22 + 0.2 * p.thickness, 0.45 * p.collar_height
        sec = superellipse(10, r_up, r_out, 2.6)
        path = lp + ln * (r_out * 0.6)
        pos, nn, uvs, tt = sweep(path, *sec, ln, closed=True, v_scale=1.0 / 60)
        b.add(k_trim, pos, nn, uvs, tt)
        extra_anchor.append(np.repeat(np.arange(len(loop)), len(sec[0])))
        if p.style == "hoodie":
            hood = _hood(ctx, p, lp, ln, azimuth(ctx.to_head(lp)), k_body, b)
            extra_anchor.append(hood)
    elif p.style == "collared":
        extra_anchor.append(_collar(ctx, p, lp, ln, azimuth(ctx.to_head(lp)), _jaw_floor(ctx, azimuth, azimuth(ctx.to_head(lp))),
                                    k_trim, b))
    else:
        extra_anchor.append(_turtleneck(ctx, p, lp, azimuth, z_c, k_trim, b))
    mesh = b.build()
    # ---- binding: body vertices to their own skin vertex, the rest to a neckline vertex's anchor ----------------
    idx = np.concatenate(extra_anchor) if extra_anchor else np.zeros(0, np.int64)
    tri = np.concatenate([anchors[0][0], loop_anchor[0][idx]])
    bary = np.concatenate([anchors[0][1], loop_anchor[1][idx]])
    if len(tri) != mesh.n_vertices:
        raise AssertionError(f"clothing binding: {len(tri)} anchors for {mesh.n_vertices} vertices")
    # every vertex clears the skin over the neutral and the envelope (the finish is built from offsets alone)
    # the motion under the envelope poses as the binding moves them (a collar's tip swings with its anchor's frame)
    vn = ctx.binding_normals
    frames = AnchorFrames(ctx, tri, bary)
    pos = ctx.clear_points(mesh.positions, frames.motion(mesh.positions), CLEARANCE + 0.05)
    if p.style in ("collared", "turtleneck", "hoodie"):  # what stands up the neck meets the jaw coming down
        pos = clear_posed(ctx, pos, frames, dict.fromkeys(JAW_POSE, 1.0), CLEARANCE + 0.05)
    mesh = replace(mesh, positions=pos.astype(np.float32))
    binding = bind_at(ctx.rest, ctx.triangles, mesh.positions.astype(np.float64), tri, bary, "smooth", vn)
    info = {"style": p.style, "vertices": int(mesh.n_vertices),
            "neckline_front_cm": round(float(chin - neckline(np.array(0.0))), 3)}
    return mesh, binding, info


def _smooth_closed(path: np.ndarray, rounds: int) -> np.ndarray:
    p = path.copy()
    for _ in range(rounds):
        p = 0.5 * p + 0.25 * (np.roll(p, 1, 0) + np.roll(p, -1, 0))
    return p


def _collar(ctx, p: ClothingParams, lp, ln, az, jaw, k_trim, b) -> np.ndarray:
    """A stand-and-fall shirt collar along the neckline but a gap at the front; returns the neckline index
    of every vertex added (their anchors)."""
    open_ = np.abs(az) > np.radians(14)
    start = int(np.argmax(~open_ & np.roll(open_, -1)) + 1) % len(lp)  # first open point after the front gap
    order = np.roll(np.arange(len(lp)), -start)
    order = order[open_[order]]
    up = ctx.axes[1]
    L, N = lp[order], ln[order]
    # the stand stops 1.8 cm under the lowest the jaw comes
    stand = np.clip(jaw[order] - 1.8 - ctx.to_head(L)[:, 1], 0.05, 0.4 * p.collar_height)[:, None]
    fall = 0.6 * p.collar_height
    front = np.clip(np.cos(az[order]), 0, 1) ** 2
    rows = [L + N * 0.05, L + up * stand + N * 0.15, L + up * stand + N * 0.45,
            L + up * (stand[:, 0] - fall * (1 + 0.7 * front))[:, None] + N * (0.55 + 0.5 * front)[:, None]
            + _down_front(ctx, front, fall)]
    pts = np.stack(rows, 0)
    pos, nn, uvs, tt = shell(pts, 0.08, outward=ctx.from_head(np.array([0.0, -14.0, -1.0])))
    b.add(k_trim, pos, nn, uvs, tt)
    n_grid = pts.shape[0] * pts.shape[1]
    anchor_rows = np.tile(order, pts.shape[0])
    # shell: outer grid, inner grid, then 4 rim strips (2 m each) in the order shell() builds them
    idx = [anchor_rows, anchor_rows]
    R, C = pts.shape[:2]
    grid_ids = np.arange(n_grid).reshape(R, C)
    for ring in (grid_ids[0], grid_ids[-1][::-1], grid_ids[:, 0][::-1], grid_ids[:, -1]):
        idx.append(np.concatenate([anchor_rows[ring], anchor_rows[ring]]))
    return np.concatenate(idx)


JAW_POSE = ("jawOpen", "mouthFunnel", "mouthLowerDown_L", "mouthLowerDown_R")


def _jaw_floor(ctx, azimuth, az: np.ndarray) -> np.ndarray:
    """The lowest head-frame height the jaw and chin reach (neutral and any three envelope expressions at
    once), per azimuth around the neck (10 degree bins), at the azimuths `az` (radians)."""
    chin = float(ctx.lm_head[8, 1])
    face = ctx.region_vertices("face_skin", "lower_lip", "neck")
    # the jaw, the chin and the skin under them that the expressions carry (not the neck under a collar)
    face = face[(ctx.rest_head[face, 1] < chin + 4.0) & _carried(ctx)[face]]
    up = ctx.axes[1]
    down = np.minimum(ctx.vertex_motion(face) @ up, 0.0)  # (K, n)
    reach = np.partition(down, 2, axis=0)[:3].sum(0)  # any three expressions at once
    floor_y = ctx.rest_head[face, 1] + reach
    bins = np.linspace(-np.pi, np.pi, 37)
    which = np.clip(np.digitize(azimuth(ctx.rest_head[face]), bins) - 1, 0, 35)
    jaw = np.full(36, np.inf)
    np.minimum.at(jaw, which, floor_y)
    return jaw[np.clip(np.digitize(az, bins) - 1, 0, 35)]


def _carried(ctx) -> np.ndarray:
    """(V,) bool: the model vertices some envelope expression moves more than 2.5 mm (identity-independent:
    kept in the head geometry's memo)."""
    memo = ctx.geo.memo
    if "items.carried" not in memo:
        memo["items.carried"] = np.linalg.norm(ctx.deltas, axis=2).max(0) > 0.25
    return memo["items.carried"]


def _down_front(ctx, front, fall):
    """The collar points drop further at the front (world offset per column)."""
    return -ctx.axes[1] * (0.3 * fall * front)[:, None]


def _turtleneck(ctx, p: ClothingParams, lp, azimuth, z_c: float, k_trim, b) -> np.ndarray:
    """A rolled collar from the neckline up the neck (below the jaw in every envelope pose)."""
    q = ctx.to_head(lp)
    az = azimuth(q)
    chin = float(ctx.lm_head[8, 1])
    jaw_at = _jaw_floor(ctx, azimuth, az)
    top = q[:, 1] + p.collar_height * (0.75 + 0.25 * (1 - np.cos(az)) / 2)
    top = np.minimum(top, chin + 3.0)
    top = np.minimum(np.maximum(top, q[:, 1] + 0.8), jaw_at - 1.2)  # the jaw's reach wins over the roll
    top = np.maximum(top, q[:, 1] + 0.05)
    R = 7
    rows = []
    for k in range(R):
        t = k / (R - 1)
        y = q[:, 1] + (top - q[:, 1]) * t
        origin = np.stack([25 * np.sin(az), y, 25 * np.cos(az) + z_c], 1)
        hit = ctx.cast_head(origin, -np.stack([np.sin(az), np.zeros_like(az), np.cos(az)], 1))
        pt = np.where(hit["hit"][:, None], hit["point"], q + np.array([0, 1.0, 0]) * (y - q[:, 1])[:, None])
        bulge = 0.35 + 0.25 * np.sin(np.pi * t)
        rows.append(ctx.from_head(pt) + ctx.dir_from_head(_outward(az)) * (p.thickness + bulge))
    lip = rows[-1] + ctx.dir_from_head(_outward(az)) * 0.55 - ctx.axes[1] * 1.2
    rows.append(lip)
    pts = np.stack(rows, 0)
    pos, nn, uvs, tt = grid(pts, wrap=True, outward=ctx.from_head(np.array([0.0, -13.0, -1.0])))
    b.add(k_trim, pos, nn, uvs, tt)
    return np.tile(np.arange(len(lp)), len(rows))


def _outward(az):
    return np.stack([np.sin(az), np.zeros_like(az), np.cos(az)], 1)


def _hood(ctx, p: ClothingParams, lp, ln, az, k_body, b) -> np.ndarray:
    """A hood lying down around the back of the neck: a fold of fabric draped over the neckline and the upper
    back, flat against them (tall along the back, thin off it), thinning out where it ends at the sides."""
    back = np.abs(az) > np.radians(70)
    order = np.argsort(np.where(az < 0, az + 2 * np.pi, az))
    order = order[back[order]]
    if len(order) < 4:
        return np.zeros(0, np.int64)
    L, N = lp[order], ln[order]
    up = ctx.axes[1]
    s = np.linspace(0, 1, len(order))
    bulk = np.sin(np.pi * s) ** 0.6
    height = 0.6 + 1.6 * bulk  # half the fold's extent along the back (cm)
    thick = 0.35 + 0.45 * bulk  # half its thickness off the back
    path = L - up * (0.6 * height)[:, None] + N * (thick + 0.5)[:, None]
    path = _smooth_open(path, 3)
    path = ctx.push_out(path, thick + 0.3)
    sec = superellipse(16, 1.0, 1.0, 2.5)
    scale = np.stack([height, thick], 1)
    pos, nn, uvs, tt = sweep(path, *sec, N, scale=scale, v_scale=1.0 / 40)
    b.add(k_body, pos, nn, uvs, tt)
    S = len(sec[0])
    idx = np.repeat(order, S)
    idx = np.concatenate([idx, np.repeat(order[[0]], S + 1), np.repeat(order[[-1]], S + 1)])  # the caps
    return idx


def _smooth_open(path: np.ndarray, rounds: int) -> np.ndarray:
    p = path.copy()
    for _ in range(rounds):
        p[1:-1] = 0.5 * p[1:-1] + 0.25 * (p[:-2] + p[2:])
    return p
