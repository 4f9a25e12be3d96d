"""Face masks fitted to one identity: surgical (pleated), N95 (cup, head straps), KN95 (folded), cloth; from
the nose bridge to under the chin, cheek to cheek, with ear loops (N95: two straps round the head).

Fit (the subject's neutral in its head frame, fit.FitContext): the mask is a grid over directions from the
head centre (azimuth a across, elevation e from the top edge to the bottom edge); the edges follow the
68 landmarks: the top over the nose bridge (landmark 28) and under the lower lids, the bottom under the
chin (landmark 8 and the jaw line), the sides at the jaw's ends (landmarks 2 and 14). Along each ray the
skin's height is made taut (a running maximum of its smoothed self, so the mask spans the mouth, the
nasolabial folds and the nose instead of dipping into them), shaped by kind (pleats, a cup, a central fold)
and set `fit` further out; then every inner point is pushed out until it clears the head by CLEARANCE over
the neutral and the expression envelope, and exactly in the jaw-open poses as its binding moves it (the mask
follows the chin); the pushes are spread over the mask as smooth bulges (no spikes or dents).

Binding: soft: every mask vertex follows its ray's skin point; ear loops and straps follow the skin under
their path. HairClip: the skin the mask covers (beard and moustache strands that would poke out are dropped).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..binding import bind_at
from .fit import CLEARANCE, AnchorFrames, FitContext
from .materials import ItemMaterial
from .mesh import MeshBuilder
from .params import FacewearParams
from .shapes import normalize, shell, superellipse, sweep

GRID = (26, 35)  # the mask's outer sheet: rows from the top edge to the bottom edge, columns cheek to cheek
SLACK_FACTOR = 3.0  # a bound on how far a vertex's gap can fall per cm its rest position moves


def _chart(q):
    return (np.degrees(np.arctan2(q[..., 0], q[..., 2])),
            np.degrees(np.arctan2(q[..., 1], np.hypot(q[..., 0], q[..., 2]))))


def _dirs(a_deg, e_deg) -> np.ndarray:
    a, e = np.radians(a_deg), np.radians(e_deg)
    return np.stack(np.broadcast_arrays(np.cos(e) * np.sin(a), np.sin(e), np.cos(e) * np.cos(a)), -1)


def mask_edges(ctx: FitContext):
    """(side azimuth, top(a), bottom(a)) of the mask in degrees: functions of |azimuth|."""
    a, e = _chart(ctx.lm_head)
    side = float(0.5 * (abs(a[2]) + abs(a[14]))) + 3.0
    top_pts = np.array([[0.0, e[28] - 1.0], [16.0, 0.5 * (e[40] + e[47]) - 5.0],
                        [40.0, 0.5 * (e[40] + e[47]) - 9.0], [side, 0.5 * (e[1] + e[15]) - 3.0]])
    bot_pts = np.array([[0.0, e[8] - 10.0], [31.0, 0.5 * (e[5] + e[11]) - 8.0],
                        [44.0, 0.5 * (e[4] + e[12]) - 7.0], [side, 0.5 * (e[2] + e[14]) - 8.0]])

    def top(x):
        return np.interp(np.abs(x), top_pts[:, 0], top_pts[:, 1])

    def bottom(x):
        return np.interp(np.abs(x), bot_pts[:, 0], bot_pts[:, 1])

    return side, top, bottom


def fit_facewear(ctx: FitContext, p: FacewearParams, rng: np.random.Generator, name: str = "facewear"):
    """(ItemMesh at rest in world cm, Binding, HairClip, info) of mask `p` fitted to ctx's subject."""
    from scipy import ndimage

    from .hair import HairClip

    side, top, bottom = mask_edges(ctx)
    R, C = GRID
    u = np.linspace(-1.0, 1.0, C)
    v = np.linspace(0.0, 1.0, R)
    A = np.broadcast_to(u[None, :] * side, (R, C))
    E = top(A) + (bottom(A) - top(A)) * v[:, None]
    d = _dirs(A, E)
    hit = ctx.cast_head(d.reshape(-1, 3) * 40.0, -d.reshape(-1, 3))
    r = np.where(hit["hit"], 40.0 - hit["t"], np.nan).reshape(R, C)
    r = np.where(np.isfinite(r), r, np.nanmax(r))
    sigma = {"surgical": 2.0, "n95": 2.5, "kn95": 2.2, "cloth": 1.8}[p.kind]
    # taut: the height's grey closing-like hull (dilate, then smooth, never below the skin): the mask spans
    # the mouth and the folds and runs smoothly over the lips and the nose
    taut = r.copy()
    for _ in range(3):
        taut = np.maximum(r, ndimage.gaussian_filter(ndimage.grey_dilation(taut, size=(7, 5), mode="nearest"),
                                                     sigma, mode="nearest"))
    taut = ndimage.gaussian_filter(taut, 1.2, mode="nearest")  # no bumps over the lips (the push below clears)
    uu, vv = np.meshgrid(u, v)
    shape = np.zeros_like(taut)
    if p.kind == "surgical":
        shape = 0.08 * np.sin(2 * np.pi * 3 * vv) * np.clip(1.3 - np.abs(uu), 0, 1) + 0.2 * np.sin(np.pi * vv)
    elif p.kind == "n95":
        shape = 0.9 * np.sin(np.pi * vv) * np.cos(np.pi * uu / 2)
    elif p.kind == "kn95":
        shape = 0.7 * (1 - np.abs(uu)) ** 1.2 * np.sin(np.pi * vv)
    else:
        shape = 0.3 * np.sin(np.pi * vv) * np.cos(np.pi * uu / 2)
    thick = 0.12 if p.kind != "n95" else 0.25
    outer = d * (taut + p.fit + thick + shape)[..., None]
    outer_w = ctx.from_head(outer.reshape(-1, 3)).reshape(R, C, 3)
    # the inner sheet must clear the head over the envelope (the mask moves with the skin under it)
    tri_c = hit["triangle"].reshape(R, C)
    bary_c = hit["bary"].reshape(R, C, 3)
    anc_tri, anc_bary = ctx.skin_anchors(tri_c.reshape(-1), bary_c.reshape(-1, 3), outer_w.reshape(-1, 3))
    motion = _anchor_motion(ctx, anc_tri, anc_bary)
    # one push (up to ~2 cm where the chin and lips come forward); what it leaves short (<= ~1.5 mm) the
    # vertex rounds below clear, measuring every vertex as its binding moves it
    pos, nrm, _, _ = _grid_normals(outer_w)
    inner = pos - nrm * thick
    gap, cl = ctx.worst_gap(inner, motion)
    short = np.maximum(CLEARANCE + 0.05 - gap, 0.0)
    if short.any():
        # a broad bulge rather than a dent-shaped bump: the pushes spread over their neighbourhood
        spread = ndimage.gaussian_filter(ndimage.grey_dilation(short.reshape(R, C), size=(5, 5)), 1.5).reshape(-1)
        push = np.maximum(short * 1.05, spread)
        outer_w = (pos + cl["normal"] * push[:, None]).reshape(R, C, 3)
    b = MeshBuilder("facewear")
    mat = ItemMaterial(f"{name}_mask", tuple(p.color), roughness=0.9, pattern=p.pattern,
                       pattern_color=tuple(p.pattern_color), repeats=(p.repeats, p.repeats),
                       seed=int(rng.integers(0, 2**31)), size=64 if p.pattern != "solid" else 8)
    loop_mat = ItemMaterial(f"{name}_loops", tuple(0.9 * c for c in p.color) if p.kind != "n95" else (0.9, 0.9, 0.9),
                            roughness=0.8, size=4)
    k_mask, k_loop = b.part("mask", mat), b.part("loops", loop_mat)
    pos, nn, uv, tt = shell(outer_w, thick, outward=ctx.from_head(np.zeros(3)))
    b.add(k_mask, pos, nn, uv, tt)
    anchors = [_shell_values(anc_tri.reshape(R, C)), _shell_values(anc_bary.reshape(R, C, 3))]
    tris, barys = [anchors[0]], [anchors[1]]
    # ear loops (N95: straps round the head)
    sec = superellipse(8, p.loop_width / 2, p.loop_width / 2, 2.0)
    if p.kind == "n95":
        sec = superellipse(8, 0.3, 0.05, 4.0)
        paths = _straps(ctx, outer_w)
    else:
        paths = [_ear_loop(ctx, outer_w, s) for s in (1, -1)]
    for path in paths:
        path = ctx.push_out(path, p.loop_width / 2 + CLEARANCE + 0.06)
        c = ctx.closest(path)
        ptri, pbary = ctx.skin_anchors(c["triangle"], c["bary"], c["point"])
        up = normalize(path - ctx.from_head(np.zeros(3)))
        pos, nn, uv, tt = sweep(path, *sec, up, v_scale=0.02)
        b.add(k_loop, pos, nn, uv, tt)
        S = len(sec[0])
        idx = np.concatenate([np.repeat(np.arange(len(path)), S), np.full(S + 1, 0), np.full(S + 1, len(path) - 1)])
        tris.append(ptri[idx])
        barys.append(pbary[idx])
    mesh = b.build()
    tri = np.concatenate(tris)
    bary = np.concatenate(barys)
    if len(tri) != mesh.n_vertices:
        raise AssertionError(f"facewear binding: {len(tri)} anchors for {mesh.n_vertices} vertices")
    # every vertex clears the head over the envelope as the binding moves it (pushes of at most 3 mm a round:
    # a vertex whose anchor's frame swings far is only eased out), and exactly in the jaw-open pose
    frames = AnchorFrames(ctx, tri, bary)
    grid_of = _shell_values(np.arange(R * C).reshape(R, C))
    radial = ctx.dir_from_head(d.reshape(-1, 3))
    pos = mesh.positions.astype(np.float64)
    need = CLEARANCE + 0.05
    gap = np.full(len(pos), -np.inf)  # each vertex's worst gap where it was last measured (`seen`)
    seen = pos.copy()
    for _ in range(3):
        # measured again: the vertices that moved further than their slack could absorb (a posed point moves
        # at most SLACK_FACTOR times its rest point's move: the anchor's frame turns the offset)
        todo = np.flatnonzero(gap - need <= SLACK_FACTOR * np.linalg.norm(pos - seen, axis=1))
        if not len(todo):
            break
        g, cl = ctx.worst_gap(pos[todo], frames.motion(pos[todo], None, todo))
        gap[todo], seen[todo] = g, pos[todo]
        short = need - g
        bad = short > 0
        if not bad.any():
            break
        new = pos.copy()
        new[todo[bad]] += cl["normal"][bad] * np.minimum(short[bad] * 1.05, 0.3)[:, None]
        pos = _smooth_push(pos, new, grid_of, (R, C), radial)
    pos = _clear_jaw(ctx, pos, frames, grid_of, (R, C), radial)
    mesh = replace(mesh, positions=pos.astype(np.float32))
    binding = bind_at(ctx.rest, ctx.triangles, mesh.positions.astype(np.float64), tri, bary, "smooth",
                      ctx.binding_normals)
    # the covered skin: under the mask's outline
    skin = ctx.geo.skin
    ca, ce = _chart(ctx.skin_centroids_head)
    covered = (np.abs(ca) <= side) & (ce <= top(ca)) & (ce >= bottom(ca))
    clip = HairClip(skin[covered].astype(np.int32), np.full(int(covered.sum()), 0.85 * p.fit, np.float32))
    info = {"kind": p.kind, "vertices": int(mesh.n_vertices)}
    return mesh, binding, clip, info


JAW_POSES = (("jawOpen", "mouthFunnel", "mouthLowerDown_L", "mouthLowerDown_R"), ("jawOpen",))


def _clear_jaw(ctx: FitContext, pos: np.ndarray, frames: AnchorFrames, grid_of: np.ndarray,
               shape: tuple[int, int], radial: np.ndarray) -> np.ndarray:
    """(n, 3) mask vertices moved out until they clear the exact jaw-open poses (JAW_POSES: what the
    linearized envelope misses, the chin dropping onto the band under it and the jaw's turn of the
    vertices' offsets), each vertex posed by its binding to its anchor (frames) exactly as worn; the
    pushes are smoothed over the mask (_smooth_push)."""
    names = ctx.model.expression_names
    need = CLEARANCE + 0.05
    for keys in JAW_POSES:
        pose = {k: 1.0 for k in keys if k in names}
        if not pose:
            continue
        posed = ctx.posed_at(pose)[None]
        todo = np.arange(len(pos))  # the vertices that moved since they were last found clear in this pose
        for _ in range(3):
            sub = ctx.clear_against_pose(pos[todo], pose, frames.motion(pos[todo], posed, todo)[0], need)
            if np.array_equal(sub, pos[todo]):
                break
            new = pos.copy()
            new[todo] = sub
            moved = _smooth_push(pos, new, grid_of, shape, radial)
            todo = np.flatnonzero((moved != pos).any(1))
            pos = moved
    return pos


def _smooth_push(pos: np.ndarray, new: np.ndarray, grid_of: np.ndarray, shape: tuple[int, int],
                 radial: np.ndarray) -> np.ndarray:
    """pos moved toward `new` (per-vertex pushes out of the head) with the mask's pushes (its first
    len(grid_of) vertices, grid cell grid_of) made one smooth bulge over the grid: a cell's push is the
    largest of its vertices', widened and blurred over its neighbours, along the blurred push direction
    (radial where none), and applied to every vertex of the cell (sheets and rims stay together, no
    spikes); the other vertices (ear loops) take their own pushes."""
    from scipy import ndimage

    n_mask, cells = len(grid_of), shape[0] * shape[1]
    push = new[:n_mask] - pos[:n_mask]
    out = np.concatenate([pos[:n_mask], new[n_mask:]])
    mag = np.zeros(cells)
    np.maximum.at(mag, grid_of, np.linalg.norm(push, axis=1))
    if not mag.any():
        return out
    vec = np.zeros((cells, 3))
    np.add.at(vec, grid_of, push)
    m2 = mag.reshape(shape)
    bulge = np.maximum(m2, ndimage.gaussian_filter(ndimage.grey_dilation(m2, size=(5, 5)), 1.5)) * 1.05
    dvec = np.stack([ndimage.gaussian_filter(vec[:, k].reshape(shape), 2.5) for k in range(3)], -1).reshape(-1, 3)
    norm = np.linalg.norm(dvec, axis=1, keepdims=True)
    direction = np.where(norm > 1e-9, dvec / np.maximum(norm, 1e-12), radial)
    out[:n_mask] += (bulge.reshape(-1)[:, None] * direction)[grid_of]
    return out


def _grid_normals(pts):
    from .shapes import grid

    return grid(pts)


def _anchor_motion(ctx: FitContext, tri: np.ndarray, bary: np.ndarray) -> np.ndarray:
    """(K, n, 3) motion of model skin anchors under the envelope poses."""
    t = ctx.triangles[tri]
    d = ctx.deltas_by_vertex  # (V, K, 3): a gather copies whole rows
    return sum(d[t[:, k]] * bary[:, k, None, None] for k in range(3)).transpose(1, 0, 2)


def _shell_values(per_grid: np.ndarray) -> np.ndarray:
    """Per-vertex values of shell() without wrap (outer, inner, four rim strips) from per-grid values."""
    R, C = per_grid.shape[:2]
    flat = per_grid.reshape((R * C,) + per_grid.shape[2:])
    idx = np.arange(R * C).reshape(R, C)
    parts = [flat, flat]
    for ring in (idx[0], idx[-1][::-1], idx[:, 0][::-1], idx[:, -1]):
        parts += [flat[ring], flat[ring]]
    return np.concatenate(parts)


def _ear_loop(ctx: FitContext, outer_w: np.ndarray, side: int) -> np.ndarray:
    """World points of an ear loop from the mask's upper side corner round the back of the ear to its lower
    corner."""
    col = -1 if side > 0 else 0
    a = ctx.to_head(outer_w[1, col])
    z = ctx.to_head(outer_w[-2, col])
    q = ctx.rest_head[ctx.region_vertices("ear_left" if side > 0 else "ear_right")]
    top = q[np.argmax(q[:, 1])]
    back_z = q[:, 2].min()
    low = q[np.argmin(q[:, 1])]
    mid_y = 0.5 * (top[1] + low[1])
    ctrl = np.array([a, top + np.array([0, 0.35, 0.4]), [top[0], top[1] + 0.2, back_z - 0.2],
                     [top[0] - side * 0.4, mid_y, back_z - 0.5], [low[0], low[1] - 0.3, low[2] - 0.2], z])
    t = np.linspace(0, 1, 28)
    path = _catmull(ctrl, t)
    return ctx.from_head(path)


def _straps(ctx: FitContext, outer_w: np.ndarray) -> list[np.ndarray]:
    """Two head straps of an N95: round the back of the head above and below the ears."""
    out = []
    for row, elev in ((1, 8.0), (-2, -22.0)):
        left, right = ctx.to_head(outer_w[row, -1]), ctx.to_head(outer_w[row, 0])
        a0 = np.degrees(np.arctan2(left[0], left[2]))
        a1 = np.degrees(np.arctan2(right[0], right[2])) + 360.0
        az = np.linspace(a0, a1, 40)
        e = np.full_like(az, elev)
        blend = np.clip(np.minimum(az - a0, a1 - az) / 25.0, 0, 1)
        e0 = np.degrees(np.arctan2(left[1], np.hypot(left[0], left[2])))
        e = e0 + (elev - e0) * blend
        d = _dirs(az, e)
        hit = ctx.cast_head(d * 40.0, -d)
        r = np.where(hit["hit"], 40.0 - hit["t"], 9.0)
        pts = d * (r + 0.2)[:, None]
        pts[0], pts[-1] = left, right
        out.append(ctx.from_head(pts))
    return out


def _catmull(ctrl: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points at parameters t in [0, 1] of a Catmull-Rom spline through the control points (ends clamped)."""
    p = np.concatenate([ctrl[:1], ctrl, ctrl[-1:]])
    n = len(ctrl) - 1
    s = np.clip(t * n, 0, n - 1e-9)
    i = np.floor(s).astype(int)
    f = (s - i)[:, None]
    p0, p1, p2, p3 = p[i], p[i + 1], p[i + 2], p[i + 3]
    return 0.5 * ((2 * p1) + (-p0 + p2) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f ** 2 + (-p0 + 3 * p1 - 3 * p2 + p3) * f ** 3)
