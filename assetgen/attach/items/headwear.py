"""Headwear fitted to one identity: baseball cap, beanie, brimmed hat, headscarf (hijab), headband, helmet.

Fit (the subject's neutral in its head frame, fit.FitContext): the skull is a height field over directions
from the head centre C (azimuth a, elevation e; ray casts). The rim of a hat is a curve e_rim(a) through
three heights: `band` cm above the brows at the front, above the ear tops at the sides, lower at the back
(e_rim = c0 + c1 cos a + c2 cos 2a). The crown lies `fit` (+ the hair's volume) + `thickness` off the skull
over e >= e_rim(a), rising by `crown` towards the top; caps get a D-shaped visor at the front, brimmed hats
a brim all round and a band, beanies a folded cuff, helmets a thick shell with a short peak; a headband is
the crown's strip just above the rim; a headscarf covers everything but an oval face opening, ears and neck
included, down to the shoulders. Every inner point is then pushed out until it clears the head by
CLEARANCE over the neutral and the expression envelope (fit.FitContext.worst_gap).

Binding: caps, brimmed hats and helmets are rigid (RigidBinding on skull anchors: forehead, temples, crown,
back of the head); beanies, headbands and headscarves are soft (every vertex follows its ray's skin point).
HairClip: the skin they cover and the clearance under them, so make_asset drops strands that would poke out.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..binding import RigidBinding, bind_at
from .fit import CLEARANCE, AnchorFrames, FitContext, clear_posed
from .materials import ItemMaterial
from .mesh import MeshBuilder
from .params import HeadwearParams
from .shapes import fan, grid, normalize, shell, superellipse, sweep

RIGID = ("baseball_cap", "brimmed_hat", "helmet")
# the exact poses a headscarf is cleared against (besides the linearized envelope): the jaw opening
JAW_POSES = (("jawOpen", "mouthFunnel", "mouthLowerDown_L", "mouthLowerDown_R"), ("jawOpen",))
N_AZ = 48


def _dirs(a_deg, e_deg) -> np.ndarray:
    a, e = np.radians(a_deg), np.radians(e_deg)
    return np.stack(np.broadcast_arrays(np.cos(e) * np.sin(a), np.sin(e), np.cos(e) * np.cos(a)), -1)


class _Skull:
    """Ray casts from the head centre's outside towards it: the skull height field of the subject."""

    def __init__(self, ctx: FitContext):
        self.ctx = ctx

    def cast(self, a_deg, e_deg):
        d = _dirs(a_deg, e_deg)
        shape = d.shape[:-1]
        flat = d.reshape(-1, 3)
        hit = self.ctx.cast_head(flat * 40.0, -flat)
        r = np.where(hit["hit"], 40.0 - hit["t"], np.nan)
        cap = hit["triangle"] >= len(self.ctx.geo.skin)
        return {"r": r.reshape(shape), "dir": d, "valid": (hit["hit"] & ~cap).reshape(shape),
                "triangle": hit["triangle"], "bary": hit["bary"], "point": hit["point"]}


def rim_curve(ctx: FitContext, p: HeadwearParams, a_deg, side_margin: float = 0.8, back_drop: float = 6.0):
    """Elevation (degrees) of the hat's rim at azimuth a: front `band` cm above the brows, sides side_margin
    cm above the ear tops, back back_drop degrees under the sides."""
    lm = ctx.lm_head
    brow = lm[[19, 24]].mean(0)
    e_brow = np.degrees(np.arctan2(brow[1], np.hypot(brow[0], brow[2])))
    r_front = float(np.linalg.norm(brow))
    front = e_brow + np.degrees(p.band / r_front)
    tops = []
    for region in ("ear_left", "ear_right"):
        q = ctx.rest_head[ctx.region_vertices(region)]
        e = np.degrees(np.arctan2(q[:, 1], np.hypot(q[:, 0], q[:, 2])))
        k = np.argmax(e)
        tops.append((e[k], np.linalg.norm(q[k])))
    e_ear = max(t[0] for t in tops)
    side = e_ear + np.degrees(side_margin / np.mean([t[1] for t in tops]))
    back = side - back_drop
    c1 = (front - back) / 2
    c0 = ((front + back) / 2 + side) / 2
    c2 = ((front + back) / 2 - side) / 2
    a = np.radians(a_deg)
    return c0 + c1 * np.cos(a) + c2 * np.cos(2 * a)


def fit_headwear(ctx: FitContext, p: HeadwearParams, rng: np.random.Generator, hair_volume: float = 0.0,
                 name: str = "headwear"):
    """(ItemMesh at rest in world cm, Binding or RigidBinding, HairClip, info) of headwear `p` for ctx's subject."""
    from .hair import HairClip

    skull = _Skull(ctx)
    fit = p.fit + (0.0 if p.kind in ("headscarf",) else 0.7 * min(hair_volume, 2.0))
    b = MeshBuilder("headwear")
    pattern = p.pattern if p.kind != "helmet" else "solid"
    main = ItemMaterial(f"{name}_main", tuple(p.color), roughness=0.35 if p.kind == "helmet" else 0.85,
                        pattern=pattern, pattern_color=tuple(p.pattern_color),
                        repeats=(p.repeats * (4 if pattern == "knit" else 1), p.repeats), seed=int(rng.integers(0, 2**31)),
                        size=128 if pattern != "solid" else 16)
    accent = ItemMaterial(f"{name}_accent", tuple(p.accent_color), roughness=0.6 if p.kind != "helmet" else 0.3, size=8)
    k_main, k_acc = b.part("main", main), b.part("accent", accent)
    az = np.linspace(-180.0, 180.0, N_AZ, endpoint=False)
    anchors_tri, anchors_bary = [], []  # per added vertex (soft items)
    if p.kind == "headscarf":
        clip_cover = _headscarf(ctx, skull, p, fit, b, k_main, k_acc, anchors_tri, anchors_bary)
        n_crown = clip_cover[1]
    else:
        rim = rim_curve(ctx, p, az, side_margin=0.6 if p.kind in ("beanie", "headband") else 0.9)
        top = rim + 3.0 if p.kind == "headband" else np.full(N_AZ, 89.0)
        if p.kind == "headband":
            top = rim + np.degrees(max(p.band, 2.0) / 10.0)
        rows = 16 if p.kind != "headband" else 4
        t = np.linspace(0, 1, rows)[:, None]
        elev = rim[None, :] + (top - rim)[None, :] * t
        cast = skull.cast(az[None, :], elev)
        r = np.where(cast["valid"], cast["r"], np.nanmean(cast["r"]))
        lift = p.crown * np.sin(np.clip(t, 0, 1) * np.pi / 2) ** 2 if p.kind != "headband" else 0.0
        outer = cast["dir"] * (r + fit + p.thickness + lift)[..., None]
        if p.kind == "helmet":  # a rounder shell: smooth the skull's bumps
            outer = _smooth_rows(outer, 2)
        outer_w = ctx.from_head(outer.reshape(-1, 3)).reshape(outer.shape)
        inner_need = CLEARANCE + 0.04
        # the inner sheet must clear the head: push the outer sheet out where it does not
        inner_w = _inner(outer_w, p.thickness)
        outer_w = _clear(ctx, outer_w, inner_w, inner_need, rigid=p.kind in RIGID)
        pos, nn, uv, tt = shell(outer_w, p.thickness, wrap=True, outward=ctx.from_head(np.zeros(3)),
                                close_edges=True, uv_scale=(1.0, 1.0))
        if p.kind != "headband":
            # close the top: the shell's top row is at 89 degrees; a fan over it
            ring = outer_w[-1]
            pole = ctx.from_head(np.array([0.0, 1.0, 0.0]) * (r[-1].mean() + fit + p.thickness + p.crown))
            fpos, fn, fuv, ftt = fan(ring, pole, ctx.dir_from_head(np.array([0.0, 1.0, 0.0])))
            b.add(k_main, fpos, fn, fuv, ftt)
            anchors_tri.append(np.repeat(cast["triangle"].reshape(outer.shape[:2])[-1:], 1, 0).reshape(-1))
            anchors_tri[-1] = np.concatenate([anchors_tri[-1], anchors_tri[-1][:1]])
            anchors_bary.append(np.concatenate([cast["bary"].reshape(outer.shape[:2] + (3,))[-1],
                                                cast["bary"].reshape(outer.shape[:2] + (3,))[-1][:1]]))
        b.add(k_main, pos, nn, uv, tt)
        anchors_tri.append(_shell_anchor(cast["triangle"].reshape(outer.shape[:2]), True))
        anchors_bary.append(_shell_anchor(cast["bary"].reshape(outer.shape[:2] + (3,)), True))
        n_crown = sum(len(t) for t in anchors_tri)  # the crown (cleared above); the extras follow
        # the rim row's skin anchors, for trims
        rim_tri = cast["triangle"].reshape(outer.shape[:2])[0]
        rim_bary = cast["bary"].reshape(outer.shape[:2] + (3,))[0]
        rim_path = outer_w[0]
        rim_dir = normalize(ctx.dir_from_head(cast["dir"][0]))
        extra = []
        if p.kind == "beanie":  # folded cuff
            cuff = np.stack([rim_path + rim_dir * 0.05 - ctx.axes[1] * 0.1, rim_path + rim_dir * 0.45 - ctx.axes[1] * 0.05,
                             _lift_rows(ctx, rim_path, outer_w, 4) + rim_dir * 0.45,
                             _lift_rows(ctx, rim_path, outer_w, 4) + rim_dir * 0.05])
            extra.append(("main", grid(np.concatenate([cuff, cuff[:1]]), wrap=True), cuff.shape[0] + 1))
        if p.kind == "baseball_cap" and p.brim > 0:
            extra.append(("accent", _visor(ctx, outer_w, az, p), None))
        if p.kind == "brimmed_hat":
            extra.append(("accent", _band(ctx, outer_w, rim_dir, p), None))
            extra.append(("main", _brim(ctx, outer_w, rim_dir, az, p), None))
        if p.kind == "helmet":
            extra.append(("accent", _peak(ctx, outer_w, az, p), None))
        for part, piece, _ in extra:
            pos, nn, uv, tt = piece
            b.add(k_main if part == "main" else k_acc, pos, nn, uv, tt)
            # trims follow the nearest rim column's anchor
            col = _nearest_column(ctx, pos, rim_path)
            anchors_tri.append(rim_tri[col])
            anchors_bary.append(rim_bary[col])
        clip_cover = ("crown", rim, fit)
    mesh = b.build()
    info = {"kind": p.kind, "vertices": int(mesh.n_vertices), "fit_cm": round(float(fit), 4)}
    clip = _hair_clip(ctx, p, clip_cover)
    if p.kind in RIGID:
        binding = _rigid(ctx)
        rot, trans = ctx.rigid_transforms(binding)
        rot_t = np.ascontiguousarray(rot.transpose(0, 2, 1))
        pos = mesh.positions.astype(np.float64)
        pos[n_crown:] = ctx.clear_points(pos[n_crown:], lambda w: np.matmul(w[None], rot_t) + trans[:, None, :] - w[None],
                                         CLEARANCE + 0.04)
        mesh = replace(mesh, positions=pos.astype(np.float32))
    else:
        tri_c = np.concatenate(anchors_tri)
        bary = np.concatenate(anchors_bary)
        if len(tri_c) != mesh.n_vertices:
            raise AssertionError(f"headwear binding: {len(tri_c)} anchors for {mesh.n_vertices} vertices")
        tri, bary = ctx.skin_anchors(tri_c, bary, mesh.positions)
        pos = mesh.positions.astype(np.float64)
        pos[n_crown:] = ctx.clear_points(pos[n_crown:], ctx.anchor_motion(tri[n_crown:], bary[n_crown:]),
                                         CLEARANCE + 0.04)
        if p.kind == "headscarf":  # the chin dropping onto what hangs under it: the exact jaw-open poses
            frames = AnchorFrames(ctx, tri, bary)
            for keys in JAW_POSES:
                pos = clear_posed(ctx, pos, frames, dict.fromkeys(keys, 1.0), CLEARANCE + 0.04)
        mesh = replace(mesh, positions=pos.astype(np.float32))
        binding = bind_at(ctx.rest, ctx.triangles, mesh.positions.astype(np.float64), tri, bary, "smooth",
                          ctx.binding_normals)
    return mesh, binding, HairClip(*clip), info


def _inner(outer_w: np.ndarray, thickness: float) -> np.ndarray:
    from .shapes import grid as _grid

    pos, nrm, _, _ = _grid(outer_w, wrap=True)
    return (pos - nrm * thickness).reshape(outer_w.shape)


def _clear(ctx: FitContext, outer_w, inner_w, need: float, rigid: bool):
    """Push the outer sheet out wherever the inner sheet comes closer than `need` to the head over the neutral
    and the envelope (rigid items: the envelope of the skull anchors' motion)."""
    flat_in = inner_w.reshape(-1, 3)
    if rigid:
        gap, cl = ctx.worst_gap(flat_in, _rigid_motion(ctx, flat_in))
    else:  # soft items move with the skin under them: the neutral's distance is their gap
        cl = ctx.closest(flat_in)
        gap = cl["distance"]
    short = np.maximum(need - gap, 0.0)
    if not short.any():
        return outer_w
    push = (cl["normal"] * short[:, None] * 1.05).reshape(outer_w.shape)
    return outer_w + push


def _rigid_anchor_points(ctx: FitContext) -> np.ndarray:
    """Skull points where a rigid hat rests (head coordinates): forehead, temples, crown, back, above the ears."""
    a = np.array([0.0, 60.0, -60.0, 0.0, 180.0, 100.0, -100.0])
    e = np.array([25.0, 20.0, 20.0, 70.0, 20.0, 15.0, 15.0])
    d = _dirs(a, e)
    hit = ctx.cast_head(d * 40.0, -d)
    return hit


def _rigid(ctx: FitContext) -> RigidBinding:
    if "headwear.rigid" in ctx.__dict__:
        return ctx.__dict__["headwear.rigid"]
    hit = _rigid_anchor_points(ctx)
    pts = ctx.from_head(hit["point"])
    tri, bary = ctx.skin_anchors(hit["triangle"], hit["bary"], pts)
    b = bind_at(ctx.rest, ctx.triangles, pts, tri, bary, "face")
    rb = ctx.__dict__["headwear.rigid"] = RigidBinding(b, b.evaluate(ctx.rest).astype(np.float64), np.ones(len(pts)))
    return rb


def _rigid_motion(ctx: FitContext, world: np.ndarray) -> np.ndarray:
    rb = _rigid(ctx)
    rot, trans = ctx.rigid_transforms(rb)
    return np.matmul(world[None], np.ascontiguousarray(rot.transpose(0, 2, 1))) + trans[:, None, :] - world[None]


def _shell_anchor(per_grid: np.ndarray, wrap: bool) -> np.ndarray:
    """Per-vertex values of shell() (outer, inner, rim strips of the first and last row) from per-grid values."""
    R, C = per_grid.shape[:2]
    flat = per_grid.reshape((R * C,) + per_grid.shape[2:])
    idx = np.arange(R * C).reshape(R, C)
    parts = [flat, flat]
    for ring in (idx[0], idx[-1][::-1]):
        parts += [flat[ring], flat[ring]]
    return np.concatenate(parts)


def _smooth_rows(pts: np.ndarray, rounds: int) -> np.ndarray:
    p = pts.copy()
    for _ in range(rounds):
        p = 0.5 * p + 0.25 * (np.roll(p, 1, 1) + np.roll(p, -1, 1))
        p[1:-1] = 0.5 * p[1:-1] + 0.25 * (p[:-2] + p[2:])
    return p


def _lift_rows(ctx, rim_path, outer_w, k: int) -> np.ndarray:
    return outer_w[min(k, len(outer_w) - 1)]


def _nearest_column(ctx, pos: np.ndarray, rim_path: np.ndarray) -> np.ndarray:
    q = ctx.to_head(pos)
    rq = ctx.to_head(rim_path)
    a = np.arctan2(q[:, 0], q[:, 2])
    ra = np.arctan2(rq[:, 0], rq[:, 2])
    d = np.abs(np.angle(np.exp(1j * (a[:, None] - ra[None, :]))))
    return np.argmin(d, 1)


def _visor(ctx, outer_w, az, p: HeadwearParams):
    """A cap's D-shaped visor from the front rim, tilted down a little and curved at its sides."""
    front = np.flatnonzero(np.abs(az) <= 70)
    front = front[np.argsort(az[front])]
    rim = ctx.to_head(outer_w[0][front])
    a = np.radians(az[front])
    length = p.brim * np.cos(a * (90.0 / 75.0)) ** 0.6
    out = np.stack([np.sin(a) * 0.35, np.zeros_like(a), np.cos(a)], 1)
    out = normalize(out)
    rows = []
    for s in np.linspace(0, 1, 6):
        drop = -np.tan(np.radians(12)) * s * length - 0.6 * s * s * np.abs(np.sin(a)) * length / max(p.brim, 1)
        rows.append(rim + out * (s * length)[:, None] + np.stack([0 * a, drop, 0 * a], 1))
    pts = ctx.from_head(np.stack(rows).reshape(-1, 3)).reshape(6, len(front), 3)
    return shell(pts, 0.25, outward=ctx.from_head(np.array([0.0, -20.0, 0.0])))


def _brim(ctx, outer_w, rim_dir, az, p: HeadwearParams):
    rim = ctx.to_head(outer_w[0])
    a = np.radians(az)
    out = np.stack([np.sin(a), np.zeros_like(a), np.cos(a)], 1)
    rows = []
    for s in np.linspace(0, 1, 5):
        rows.append(rim + out * (s * p.brim) + np.array([0.0, -np.tan(np.radians(10)) * s * p.brim, 0.0]))
    pts = ctx.from_head(np.stack(rows).reshape(-1, 3)).reshape(5, len(az), 3)
    pts = np.concatenate([pts, pts[:, :1]], 1)
    return shell(pts, 0.3, wrap=False, outward=ctx.from_head(np.array([0.0, -20.0, 0.0])))


def _band(ctx, outer_w, rim_dir, p: HeadwearParams):
    path = outer_w[1] + rim_dir * 0.08
    sec = superellipse(8, 0.06, 0.9, 6.0)
    return sweep(path, *sec, rim_dir, closed=True, v_scale=0.02)


def _peak(ctx, outer_w, az, p: HeadwearParams):
    front = np.flatnonzero(np.abs(az) <= 45)
    front = front[np.argsort(az[front])]
    rim = ctx.to_head(outer_w[0][front])
    a = np.radians(az[front])
    out = np.stack([np.sin(a) * 0.3, np.zeros_like(a), np.cos(a)], 1)
    length = 2.0 * np.cos(a * 2) ** 0.5
    rows = [rim + out * (s * length)[:, None] - np.array([0, 0.15 * s, 0]) for s in np.linspace(0, 1, 3)]
    pts = ctx.from_head(np.stack(rows).reshape(-1, 3)).reshape(3, len(front), 3)
    return shell(pts, 0.3, outward=ctx.from_head(np.array([0.0, -20.0, 0.0])))


def _headscarf(ctx, skull, p: HeadwearParams, fit, b, k_main, k_acc, anchors_tri, anchors_bary):
    """Everything but an oval face opening, down to the shoulders; a hem around the face. Returns the
    (rim, fit) cover description for the hair clip."""
    e_c, e_h, e_chin = _face_opening(ctx, p)
    a_h = FACE_OPENING_HALF_WIDTH
    az = np.linspace(-180.0, 180.0, 72, endpoint=False)
    # per column, the lowest elevation whose ray still meets the skin (not a hole's cap) within 25 cm: the
    # scarf's lower edge on the shoulders
    probe = np.linspace(-75.0, 0.0, 31)
    pc = skull.cast(az[None, :], probe[:, None])
    ok = pc["valid"] & (pc["r"] < 25)
    low = np.full(len(az), 0.0)
    for j in range(len(az)):
        bad = np.flatnonzero(~ok[:, j])
        low[j] = probe[bad.max() + 1] if len(bad) and bad.max() + 1 < len(probe) else (probe[0] if not len(bad) else 0.0)
    low = np.convolve(np.concatenate([low[-2:], low, low[:2]]), np.ones(5) / 5, mode="valid") + 2.0
    rows = 40
    t = np.linspace(0, 1, rows)[:, None]
    E = low[None, :] + (89.0 - low[None, :]) * t
    A = np.broadcast_to(az[None, :], E.shape).copy()
    # cells inside the face opening move onto its edge (radially in the chart), so the edge is smooth
    x, y = A / a_h, (E - e_c) / e_h
    rho = np.hypot(x, y)
    inside = rho < 1.0
    scale = np.where(inside, 1.0 / np.maximum(rho, 1e-6), 1.0)
    A = np.where(inside, x * scale * a_h, A)
    E = np.where(inside, e_c + y * scale * e_h, E)
    cast = skull.cast(A, E)
    r = np.where(cast["valid"], cast["r"], np.nan)
    r = np.where(np.isfinite(r), r, np.nanmedian(r))
    # taut over the ears and the jaw: the height's dilated and smoothed hull, never under the skin
    from scipy import ndimage

    taut = r.copy()
    for _ in range(3):
        taut = np.maximum(r, ndimage.gaussian_filter(ndimage.grey_dilation(taut, size=(5, 5), mode="wrap"),
                                                     1.5, mode="wrap"))
    # only below the temples and away from the face opening (the crown keeps the skull's shape)
    w = np.clip((20.0 - E) / 25.0, 0, 1) * np.clip((rho - 1.15) / 0.3, 0, 1)
    r = r + (taut - r) * w
    loose = fit + p.thickness + 0.8 * np.clip(-E / 60.0, 0, 1)
    pts = cast["dir"] * (r + loose)[..., None]
    pos_w = ctx.from_head(pts.reshape(-1, 3)).reshape(pts.shape)
    gp, gn, guv, gt = grid(pos_w, wrap=True, outward=ctx.from_head(np.zeros(3)))
    flat_in = inside.reshape(-1)
    gt = gt[~flat_in[gt].all(1)]  # triangles wholly in the opening collapse onto its edge: dropped
    used = np.unique(gt)
    remap = np.full(len(gp), -1, np.int64)
    remap[used] = np.arange(len(used))
    inner = gp[used] - gn[used] * p.thickness
    # the scarf moves with the skin under it (its gap does not change with the expression): the neutral's
    # distance is its gap
    cl = ctx.closest(inner)
    short = np.maximum(CLEARANCE + 0.04 - cl["distance"], 0.0)
    outer = gp[used] + cl["normal"] * short[:, None] * 1.05
    b.add(k_main, outer, gn[used], guv[used], remap[gt])
    tri_s, bary_s = _neck_anchors(ctx, pts.reshape(-1, 3)[used], E.reshape(-1)[used] < e_chin,
                                  cast["triangle"][used], cast["bary"][used])
    anchors_tri.append(tri_s)
    anchors_bary.append(bary_s)
    # the hem around the face opening
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    ha, he = a_h * np.sin(t) * 1.02, e_c + e_h * np.cos(t) * 1.02
    hc = skull.cast(ha, he)
    hr = np.where(hc["valid"], hc["r"], np.nanmean(hc["r"]))
    hem = ctx.from_head(hc["dir"] * (hr + fit + p.thickness + 0.15)[:, None])
    hem = ctx.push_out(hem, CLEARANCE + 0.35)
    sec = superellipse(8, 0.35, 0.3, 2.0)
    pos, nn, uv, tt = sweep(hem, *sec, normalize(ctx.dir_from_head(hc["dir"])), closed=True, v_scale=0.02)
    b.add(k_acc, pos, nn, uv, tt)
    anchors_tri.append(np.repeat(hc["triangle"], len(sec[0])))
    anchors_bary.append(np.repeat(hc["bary"], len(sec[0]), axis=0))
    return ("scarf", len(used), fit)  # the scarf's vertices come first, the hem (cleared later) follows


def _jaw_clearance(ctx: FitContext, world: np.ndarray, tri: np.ndarray, bary: np.ndarray) -> np.ndarray:
    """(n,) the least signed distance (cm) over JAW_POSES of world points bound to skin anchors (model
    triangle ids, bary; smooth frames as bind_at) to that pose's closed skin."""
    import open3d as o3d

    frames = AnchorFrames(ctx, tri, bary)
    out = np.full(len(world), np.inf)
    for keys in JAW_POSES:
        pose = {k: 1.0 for k in keys if k in ctx.model.expression_names}
        if not pose:
            continue
        x = world + frames.motion(world, ctx.posed_at(pose)[None])[0]
        scene = ctx.pose_scene(pose)
        q = o3d.core.Tensor(x.astype(np.float32))
        dist = np.linalg.norm(x - scene.compute_closest_points(q)["points"].numpy(), axis=1)
        inside = scene.compute_occupancy(q, nsamples=3).numpy() > 0.5
        out = np.minimum(out, np.where(inside, -dist, dist))
    return out


def _neck_anchors(ctx: FitContext, pts_head: np.ndarray, below_chin: np.ndarray, tri: np.ndarray,
                  bary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Skin anchors of scarf points (head coordinates; capped numbering in and out). A point under the chin
    is bound by its ray from the head centre to the jaw, which turns when the mouth opens and swings the
    point's offset into the neck; such a point is bound instead to the skin a horizontal ray towards the
    head's vertical axis meets (the throat) where that keeps it farther out of the exact jaw-open skin."""
    tri, bary = np.array(tri, np.int64), np.array(bary, np.float64)
    idx = np.flatnonzero(below_chin)
    if not len(idx):
        return tri, bary
    p = pts_head[idx]
    h = p * np.array([1.0, 0.0, 1.0])
    h /= np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-9)
    hit = ctx.cast_head(p + h * 40.0, -h)
    hit_ok = hit["hit"] & (hit["triangle"] < len(ctx.geo.skin))
    idx, p = idx[hit_ok], p[hit_ok]
    if not len(idx):
        return tri, bary
    world = ctx.from_head(p)
    ray_tri, ray_bary = ctx.skin_anchors(tri[idx], bary[idx], world)
    neck_tri, neck_bary = ctx.skin_anchors(hit["triangle"][hit_ok], hit["bary"][hit_ok], world)
    both = _jaw_clearance(ctx, np.concatenate([world, world]), np.concatenate([ray_tri, neck_tri]),
                          np.concatenate([ray_bary, neck_bary]))  # bound either way, in one query per pose
    ray, neck = both[:len(world)], both[len(world):]
    ok = neck > ray
    tri[idx[ok]], bary[idx[ok]] = hit["triangle"][hit_ok][ok], hit["bary"][hit_ok][ok]
    return tri, bary


def _hair_clip(ctx: FitContext, p: HeadwearParams, cover):
    """(skin triangle ids, clearance) the item covers."""
    skin = ctx.geo.skin
    cent = ctx.skin_centroids_head
    a = np.degrees(np.arctan2(cent[:, 0], cent[:, 2]))
    e = np.degrees(np.arctan2(cent[:, 1], np.hypot(cent[:, 0], cent[:, 2])))
    if cover[0] == "scarf":
        fit = cover[2]
        covered = ~_in_face(ctx, p, a, e) & (e > -62)
        clearance = fit
    else:
        _, rim, fit = cover
        az = np.linspace(-180.0, 180.0, N_AZ, endpoint=False)
        rim_at = np.interp(a, az, rim, period=360.0)
        covered = e >= rim_at
        if p.kind == "headband":
            covered &= e <= rim_at + np.degrees(max(p.band, 2.0) / 10.0)
        clearance = fit
    tri = skin[covered].astype(np.int32)
    # the inside lies `fit` off the skull along the rays: a little less along the skin's normal
    return tri, np.full(len(tri), 0.85 * clearance, np.float32)


FACE_OPENING_HALF_WIDTH = 58.0  # degrees of azimuth either side of the front


def _face_opening(ctx, p: HeadwearParams) -> tuple[float, float, float]:
    """The headscarf's oval face opening in elevation (degrees): its centre, half height and the chin's
    elevation (4 deg under the chin landmark); the top lies `band` above the brows."""
    lm = ctx.lm_head
    brow = lm[[19, 24]].mean(0)
    e_top = np.degrees(np.arctan2(brow[1], np.hypot(brow[0], brow[2]))) + np.degrees(p.band / np.linalg.norm(brow))
    chin = lm[8]
    e_chin = np.degrees(np.arctan2(chin[1], np.hypot(chin[0], chin[2]))) - 4.0
    return (e_top + e_chin) / 2, (e_top - e_chin) / 2, e_chin


def _in_face(ctx, p, a, e):
    e_c, e_h, _ = _face_opening(ctx, p)
    return ((a / FACE_OPENING_HALF_WIDTH) ** 2 + ((e - e_c) / e_h) ** 2) < 1.0
