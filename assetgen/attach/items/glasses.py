"""Eyeglasses fitted to one identity: lens outlines by family, rims, bridge, nose pads on arms, end pieces
and temples that run back over the ears and down behind them; one rigid body.

Fit (head coordinates of the subject's neutral, fit.FitContext): the lens centres sit in front of the
pupils (`lift` above them), the lens plane `vertex_distance` in front of the cornea, tilted and wrapped;
the pads touch the sides of the nose at the inner eye corners' height (their back faces CLEARANCE + the
expression envelope off the skin); the frame front then moves forward until every front point clears the
head by CLEARANCE over the neutral and every envelope pose (fit.FitContext.worst_gap), which is how the
frame comes to rest on a high nose bridge; the temples start at end pieces wide enough for the head, follow
the head's side CLEARANCE off the skin, rest on the top of the ear root and bend down behind the ear.

Binding: RigidBinding on skin anchors where glasses rest (both pad contacts, both ear tops, the nasion):
the glasses move as one rigid body with them.
"""

from __future__ import annotations

import numpy as np

from ..binding import RigidBinding, bind_at
from .fit import CLEARANCE, FitContext
from .materials import ItemMaterial
from .mesh import MeshBuilder
from .params import GlassesParams
from .shapes import fan, normalize, superellipse, sweep

N_OUTLINE = 64
MARGIN = 0.04  # cm added to CLEARANCE for the linearized envelope
PAD_MARGIN = 0.06  # the pads' (the nose side wrinkles under noseSneer: the linearization is rougher there)


def lens_outline(p: GlassesParams, n: int = N_OUTLINE) -> np.ndarray:
    """(n, 2) counter-clockwise lens outline in lens coordinates (u away from the nose, v up), centred."""
    a, b = p.lens_width / 2, p.lens_height / 2
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    power = {"round": 2.0, "rectangular": 4.5, "aviator": 2.4, "cat_eye": 3.2, "rimless": 3.4}[p.frame]
    e = 2.0 / power
    c, s = np.cos(t), np.sin(t)
    u = a * np.sign(c) * np.abs(c) ** e
    v = b * np.sign(s) * np.abs(s) ** e
    if p.frame == "aviator":  # teardrop: fuller and longer below, towards the nose
        low = np.clip(-v / b, 0, 1)
        v = v * (1 + 0.12 * low)
        u = u - 0.22 * a * low ** 2 * (1 - u / a) * 0.5
        top = np.clip(v / b, 0, 1)
        v = v - 0.08 * b * top ** 4
    elif p.frame == "cat_eye":  # the upper outer corner swept up
        up = np.clip(v / b, 0, 1) * np.clip(u / a, 0, 1) ** 2
        v = v + 0.35 * b * up
        u = u + 0.06 * a * up
        v = v - 0.08 * b * np.clip(-u / a, 0, 1) * np.clip(v / b, 0, 1)
    return np.stack([u, v], 1)


def offset_outline(outline: np.ndarray, d: float) -> np.ndarray:
    """A closed 2D outline moved d outward along its normals (counter-clockwise: outward = right of travel)."""
    tangent = np.roll(outline, -1, 0) - np.roll(outline, 1, 0)
    nrm = normalize(np.stack([tangent[:, 1], -tangent[:, 0]], 1))
    return outline + nrm * d


class _Frame:
    """The frame front's surface: lens coordinates of either side -> head coordinates."""

    def __init__(self, p: GlassesParams, y_c: float, z0: float):
        self.p = p
        self.bridge = p.bridge_width
        self.x_c = p.bridge_width / 2 + p.lens_width / 2
        self.y_c = y_c
        self.z0 = z0
        reach = p.lens_width + p.rim_thickness
        self.k = np.tan(np.radians(p.wrap)) / (2 * reach)
        self.tilt = np.tan(np.radians(p.tilt))

    def z(self, x, y):
        out = np.maximum(np.abs(x) - self.bridge / 2, 0.0)
        return self.z0 - self.k * out ** 2 + (np.asarray(y) - self.y_c) * self.tilt

    def place(self, uv: np.ndarray, side: int, dz: float = 0.0) -> np.ndarray:
        """(n, 3) head coordinates of lens coordinates (n, 2) on side +1 (subject's left) or -1."""
        x = side * (self.x_c + uv[:, 0])
        y = self.y_c + uv[:, 1]
        return np.stack([x, y, self.z(x, y) + dz], 1)

    def widen(self, extra: float) -> None:
        """Move both lenses `extra` cm away from the nose (a wider bridge)."""
        self.bridge += 2 * extra
        self.x_c += extra

    def normal(self, side: int) -> np.ndarray:
        return normalize(np.array([side * np.tan(np.radians(self.p.wrap)) * 0.5, -self.tilt, 1.0]))


def fit_glasses(ctx: FitContext, p: GlassesParams, name: str = "glasses"):
    """(ItemMesh at rest in world cm, RigidBinding, info) of glasses `p` fitted to ctx's subject."""
    lm = ctx.lm_head
    eye_y = float(np.mean(lm[36:48, 1]))
    iris = ctx.rest_head[ctx.region_vertices("iris_left", "iris_right")]
    cornea = float(iris[:, 2].max())
    frame = _Frame(p, eye_y + p.lift, cornea + p.vertex_distance)
    outline = lens_outline(p)
    h_half = float(outline[:, 1].max())
    rim_r = p.rim_thickness / 2
    metal = p.metal or p.frame == "rimless"

    # ---- anchors: pad contacts on the nose sides, ear tops, nasion ------------------------------------------
    y_pad = float(np.mean(lm[[39, 42], 1])) - 0.25
    ridge = ctx.cast_head(np.array([[0.0, y_pad, 30.0]]), np.array([[0.0, 0.0, -1.0]]))["point"][0]
    pads = []
    for side in (1, -1):
        o = np.array([side * 3.0, y_pad, ridge[2] + 0.6])
        hit = ctx.cast_head(o[None], normalize(np.array([[-side * 1.0, 0.0, -0.45]])))
        pads.append((hit["point"][0], normalize(hit["normal"][0])))
    ears = []
    for side, region in ((1, "ear_left"), (-1, "ear_right")):
        q = ctx.rest_head[ctx.region_vertices(region)]
        top = q[np.argmax(q[:, 1])]
        rear = q[q[:, 1] > top[1] - 2.5]
        ears.append((top, q, float(rear[:, 2].min())))
    anchor_head = np.array([pads[0][0], pads[1][0], ears[0][0], ears[1][0], lm[27]])
    anchor_world = ctx.from_head(anchor_head)
    c = ctx.closest(anchor_world)
    skin = c["triangle"] < len(ctx.geo.skin)
    tri = np.where(skin, ctx.geo.skin[np.minimum(c["triangle"], len(ctx.geo.skin) - 1)], 0)
    binding = bind_at(ctx.rest, ctx.triangles, c["point"][skin], tri[skin], c["bary"][skin], "face")
    weights = np.array([1.0, 1.0, 1.0, 1.0, 0.5])[skin]
    rigid = RigidBinding(binding, binding.evaluate(ctx.rest).astype(np.float64), weights)
    rot, trans = ctx.rigid_transforms(rigid)  # (K, 3, 3), (K, 3)

    rot_t = np.ascontiguousarray(rot.transpose(0, 2, 1))

    def motion(world: np.ndarray) -> np.ndarray:
        return np.matmul(world[None], rot_t) + trans[:, None, :] - world[None]

    def worst(head_pts: np.ndarray):
        w = ctx.from_head(head_pts)
        return ctx.worst_gap(w, motion(w))

    need = CLEARANCE + MARGIN
    # ---- a bridge wide enough for the nose at the frame's inner edges ------------------------------------------
    rim_path = offset_outline(outline, rim_r) if rim_r > 0 else outline
    inner = rim_path[rim_path[:, 0] < -0.3 * p.lens_width / 2]
    limit = max(0.0, 1.5 - p.bridge_width / 2)
    widened = 0.0
    for _ in range(3):  # over the neutral and the envelope poses; both sides alike (the worse decides)
        gap, cl = worst(np.concatenate([frame.place(inner, 1), frame.place(inner, -1)]))
        nx = np.maximum(np.abs(cl["normal"] @ ctx.axes[0]), 0.3)
        step = float(np.max((need + max(rim_r, p.rim_depth / 2) - gap) / nx))
        if step <= 1e-4 or widened >= limit:
            break
        step = min(step * 1.05, limit - widened)
        frame.widen(step)
        widened += step
    # ---- the front: rims (or lens edges), lenses, bridge; the height (within -6..+3 mm of the lift) that needs
    # the least forward move, then moved forward until every front point clears ----------------------------------
    inner_top = outline[np.argmin(outline[:, 0] - 0.6 * outline[:, 1])]  # upper inner corner
    bridge_r = max(0.5 * p.rim_depth, 0.08) if not metal else 0.06
    rim_extra = p.rim_depth / 2 + rim_r * 0.3

    def front(dz):
        pts, extra = [], []
        for side in (1, -1):
            pts += [frame.place(rim_path, side, dz), frame.place(outline * 0.6, side, dz)]
            extra += [np.full(len(rim_path), rim_extra), np.zeros(len(outline))]
        bridge = _bridge_path(frame, inner_top, rim_r, dz)
        return np.concatenate(pts + [bridge]), np.concatenate(extra + [np.full(len(bridge), bridge_r)])

    def forward_step(dz):
        pts, extra = front(dz)
        gap, cl = worst(pts)
        nz = np.maximum(cl["normal"] @ ctx.axes[2], 0.25)
        return float(np.max((need + extra - gap) / nz))

    y0 = frame.y_c
    best = None
    for dy in (0.0, -0.3, -0.6, 0.3):
        frame.y_c = y0 + dy
        step = forward_step(0.0)
        if best is None or step < best[0] - 0.02:
            best = (step, dy)
    frame.y_c = y0 + best[1]
    dz = 0.0
    for _ in range(4):
        step = forward_step(dz)
        if step <= 1e-4:
            break
        dz += step * 1.05
    # ---- pads on arms ---------------------------------------------------------------------------------------
    b = MeshBuilder("glasses")
    frame_mat = ItemMaterial(
        f"{name}_frame", tuple(p.frame_color), roughness=0.25 if metal else 0.35, metallic=0.9 if metal else 0.0,
        pattern=p.frame_pattern, pattern_color=tuple(p.pattern_color), repeats=(3, 3), seed=7, size=32)
    lens_mat = ItemMaterial(
        f"{name}_lenses", tuple(p.tint_color), alpha=p.lens_alpha if p.lens != "sunglasses" else 1.0,
        alpha_mode="OPAQUE" if p.lens == "sunglasses" else "BLEND", roughness=0.08, metallic=0.0, size=4)
    pad_mat = ItemMaterial(f"{name}_pads", (0.75, 0.75, 0.72), roughness=0.3, size=4)
    k_frame, k_lens, k_pad = b.part("frame", frame_mat), b.part("lenses", lens_mat), b.part("pads", pad_mat)
    to_w = ctx.from_head
    rot_w = ctx.dir_from_head
    sec_rim = superellipse(12, max(rim_r, 0.03), p.rim_depth / 2, 4.0 if not metal else 2.0)
    sec_round = superellipse(8, 1.0, 1.0, 2.0)
    front_up = rot_w(np.array([0.0, 0.0, 1.0]))
    for side in (1, -1):
        if rim_r > 0:
            path = to_w(frame.place(rim_path, side, dz))
            b.add(k_frame, *sweep(path, *sec_rim, front_up, closed=True, v_scale=0.05))
        lens = frame.place(offset_outline(outline, min(rim_r * 0.5, 0.05)) if rim_r > 0 else outline, side, dz)
        centre = frame.place(np.zeros((1, 2)), side, dz)[0] + np.array([0, 0, 0.08])
        b.add(k_lens, *fan(to_w(lens), to_w(centre), rot_w(frame.normal(side))))
    bridge = to_w(_bridge_path(frame, inner_top, rim_r, dz))
    b.add(k_frame, *sweep(bridge, sec_round[0] * np.array([bridge_r, bridge_r * 0.8]), sec_round[1], front_up,
                          v_scale=0.05))
    if p.frame == "aviator":
        top = outline[np.argmax(outline[:, 1] - 0.3 * outline[:, 0])]
        a_, b_ = frame.place(top[None], -1, dz)[0], frame.place(top[None], 1, dz)[0]
        xs = np.linspace(0, 1, 9)[:, None]
        bar = a_ * (1 - xs) + b_ * xs
        bar[:, 2] += 0.05 + 0.1 * np.sin(np.pi * xs[:, 0])
        b.add(k_frame, *sweep(to_w(bar), sec_round[0] * 0.06, sec_round[1], front_up, v_scale=0.05))
    pad_info = []
    for side, (contact, nrm) in zip((1, -1), pads):
        pad_half = 0.07
        centre = contact + nrm * (pad_half + CLEARANCE + PAD_MARGIN)
        long_axis = normalize(np.array([0.0, 1.0, 0.0]) - nrm * nrm[1])
        path = centre + long_axis * np.linspace(-0.5, 0.5, 7)[:, None]
        taper = np.sin(np.linspace(0.15, np.pi - 0.15, 7))
        pts = to_w(path)
        # push the pad so that its back clears the nose over the envelope
        for _ in range(3):
            gap, cl = ctx.worst_gap(pts, motion(pts))
            short = float(np.max(pad_half * taper + CLEARANCE + PAD_MARGIN - gap))
            if short <= 1e-4:
                break
            pts = pts + rot_w(nrm) * short * 1.05
        sec = superellipse(10, 0.3, pad_half, 2.0)
        b.add(k_pad, *sweep(pts, *sec, rot_w(nrm), scale=np.stack([taper, np.maximum(taper, 0.4)], 1), v_scale=0.1))
        pad_head = ctx.to_head(pts.mean(0))
        # the arm: from the rim's inner edge at the pad's height to the pad
        inner = outline[np.argmin(outline[:, 0] + 2.0 * np.abs(outline[:, 1] - (y_pad - frame.y_c)))]
        start = frame.place(offset_outline(outline, rim_r)[[np.argmin(np.linalg.norm(outline - inner, axis=1))]], side, dz)[0]
        start[2] -= p.rim_depth * 0.3
        t = np.linspace(0, 1, 8)[:, None]
        mid = (start + pad_head) / 2 + np.array([0, 0, 0.25])
        arm = (1 - t) ** 2 * start + 2 * (1 - t) * t * mid + t ** 2 * pad_head
        arm_w = ctx.push_out(to_w(arm), 0.04 + need)
        b.add(k_frame, *sweep(arm_w, sec_round[0] * 0.035, sec_round[1], front_up, v_scale=0.1))
        pad_info.append(float(np.min(gap)))
    # ---- end pieces and temples ------------------------------------------------------------------------------
    tw, th = (0.08, p.temple_height / 2) if not metal else (0.05, max(p.temple_height / 2, 0.07))
    temple_need = np.hypot(tw, th * 0.2) + need + 0.02
    sec_temple = superellipse(10, th, tw, 4.0 if not metal else 2.0)
    temples = []
    for side, (top, ear_q, rear_z) in zip((1, -1), ears):
        hinge_uv = outline[np.argmax(outline[:, 0] - 0.8 * np.abs(outline[:, 1] - 0.3 * h_half))]
        edge = frame.place((hinge_uv + np.array([rim_r, 0.0]))[None], side, dz)[0]
        y_h = edge[1]
        z_h = edge[2] - p.rim_depth / 2 - 0.15
        skull = ctx.cast_head(np.array([[side * 25.0, y_h, z_h - 1.0]]), np.array([[-side, 0.0, 0.0]]))["point"][0]
        x_h = side * max(abs(edge[0]) + 0.25, abs(skull[0]) + th * 0.3 + temple_need + 0.15)
        hinge = np.array([x_h, y_h, z_h])
        endpiece = np.stack([edge + np.array([0, 0, -p.rim_depth * 0.2]), (edge + hinge) / 2, hinge])
        b.add(k_frame, *sweep(to_w(endpiece), superellipse(8, 0.18, 0.12, 4.0)[0], superellipse(8, 0.18, 0.12, 4.0)[1],
                              rot_w(np.array([0, 1.0, 0])), v_scale=0.1))
        path = _temple_path(ctx, side, hinge, top, ear_q, rear_z, th, temple_need)
        w = to_w(path)
        for _ in range(3):
            gap, cl = ctx.worst_gap(w, motion(w))
            short = temple_need - gap
            if short.max() <= 1e-4:
                break
            w = w + cl["normal"] * np.maximum(short, 0)[:, None] * 1.05
            w[0] = to_w(hinge)
        b.add(k_frame, *sweep(w, *sec_temple, rot_w(np.array([side * 1.0, 0.0, 0.0])), v_scale=0.02))
        temples.append(float(np.min(gap)))
    mesh = b.build()
    info = {"front_shift_cm": round(float(dz), 4), "raised_cm": round(float(best[1]), 4),
            "bridge_cm": round(float(frame.bridge), 4),
            "pad_gap_cm": [round(x, 4) for x in pad_info], "temple_gap_cm": [round(x, 4) for x in temples]}
    return mesh, rigid, info


def _bridge_path(frame: _Frame, inner_top: np.ndarray, rim_r: float, dz: float) -> np.ndarray:
    """(9, 3) head coordinates of the bridge over the nose between the rims' upper inner corners."""
    start = frame.place((inner_top + np.array([-rim_r, 0.0]))[None], -1, dz)[0]
    end = frame.place((inner_top + np.array([-rim_r, 0.0]))[None], 1, dz)[0]
    t = np.linspace(0, 1, 9)[:, None]
    path = start * (1 - t) + end * t
    bump = np.sin(np.pi * t[:, 0])
    path[:, 1] += 0.2 * bump
    path[:, 2] = np.maximum(path[:, 2], frame.z(0.0, path[:, 1]) + dz) + 0.05 * bump
    return path


def _temple_path(ctx: FitContext, side: int, hinge: np.ndarray, top: np.ndarray, ear_q: np.ndarray, rear_z: float,
                 th: float, need: float) -> np.ndarray:
    """Head coordinates of a temple's centreline: from the hinge back along the head's side to over the ear
    top, then down behind the ear."""
    y_rest = top[1] + th + need
    z_end = top[2] - 0.3
    n1 = 16
    s = np.linspace(0, 1, n1)
    z = hinge[2] + (z_end - hinge[2]) * s
    ease = np.clip(s * 1.6, 0, 1)
    y = hinge[1] + (y_rest - hinge[1]) * ease * ease * (3 - 2 * ease)
    skull = ctx.cast_head(np.stack([np.full(n1, side * 25.0), y, z], 1), np.tile([[-side, 0.0, 0.0]], (n1, 1)))
    sx = np.where(skull["hit"], np.abs(skull["point"][:, 0]), abs(hinge[0]))
    x = np.maximum(abs(hinge[0]) + (sx[-1] + need - abs(hinge[0])) * s, sx + need)
    first = np.stack([side * x, y, z], 1)
    # down behind the ear: follow the ear's rear edge
    n2 = 8
    drop = np.linspace(0, 1, n2 + 1)[1:]
    y2 = y_rest - 2.6 * drop
    rear = np.array([ear_q[np.abs(ear_q[:, 1] - yy) < 0.4][:, 2].min() if (np.abs(ear_q[:, 1] - yy) < 0.4).any()
                     else rear_z for yy in y2])
    z2 = np.minimum(z_end - 0.6 * drop, rear - th * 0.3 - need - 0.1)
    z2 = np.minimum.accumulate(z2)
    skull2 = ctx.cast_head(np.stack([np.full(n2, side * 25.0), y2, z2], 1), np.tile([[-side, 0.0, 0.0]], (n2, 1)))
    sx2 = np.where(skull2["hit"], np.abs(skull2["point"][:, 0]), sx[-1])
    second = np.stack([side * (sx2 + need), y2, z2], 1)
    path = np.concatenate([first, second])
    for _ in range(2):  # smooth the bend, ends fixed
        path[1:-1] = 0.5 * path[1:-1] + 0.25 * (path[:-2] + path[2:])
    return path
