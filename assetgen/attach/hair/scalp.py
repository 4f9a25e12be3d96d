"""Scalp hair: roots on the scalp, a comb field per style family, growth with collisions, then shape ops.

The generator is a handful of small steps, Infinigen style, each driven by ScalpParams:
  roots     area x density on the scalp zone (zones.scalp_density: hairline, recession, crown, ears out)
  comb      a tangent direction per root: away from the parting (side / centre), brushed back (none),
            forward over the forehead (fringe), away from the crown whorl (buzz, crew, balding)
  growth    strands.grow: lift off the scalp, follow the comb, fall under gravity further out, pushed out
            of the head to a per-strand layer (volume; roots higher on the head lie on outer layers)
  cuts      fringe cut above the brows, bob cut below the mouth (strands.trim_below)
  gathers   ponytail and bun: tight paths over the scalp to a tie point, then a tail or a wrapped bun
  face      the face stays clear: strands (but the fringe) are steered sideways and back around a
            keep-clear zone in front of the eyes, nose, mouth and brows (zones.FaceShield) and cannot enter
            it; after shaping, strands that curl or clump into the zone around the eyes, nose, mouth, lower
            cheeks and chin are shifted sideways out of it (and, as a last resort, cut where they enter it)
  floor     strands end 2-4 cm above the bust's bottom edge (the model stops below the shoulders)
  sampling  curled and waved strands are resampled along a smooth spline to >= CURL_POINTS points per curl
            period before the curl is added (the strand budget shrinks accordingly and ribbons widen to
            keep the coverage)
  shape     curls / waves (helices around the centreline, radius and frequency), clumps, frizz
  collide   a final push of every point to >= 0.04 cm (more for voluminous styles) outside the head
Length is the strand's arc length before curling; curls keep it (the centreline is shortened by the
helix factor sqrt(1 + (2 pi f r)^2)), so a curly strand has the length asked for and a shorter reach.
"""

from __future__ import annotations

import numpy as np

from .params import ScalpParams
from .strands import (
    add_curl,
    along,
    arc_lengths,
    clump,
    collide,
    frizz,
    grow,
    normalize,
    polyline_lengths,
    resample,
    sample_roots,
    smooth_resample,
    smoothstep,
    surface_points,
    trim_below,
)
from .zones import FaceShield, Landmarks, scalp_density

# triangles (2 per segment) the scalp may use; with brows, lashes and beard a full groom stays < 300k
SCALP_TRIANGLE_BUDGET = 215_000
CURL_POINTS = 8  # points per curl (or wave) period at least
MAX_POINTS = 112  # points per strand at most
FACE_MARGIN = 0.5  # cm between the face's keep-clear zone (eyes, nose, mouth) and any scalp strand at rest
MAX_WIDEN = 2.0  # ribbons widen by at most this factor when the budget allows fewer strands than asked for


def scalp_zone(geo, lm: Landmarks, p: ScalpParams) -> np.ndarray:
    """(Fs,) density in [0, 1] per skin triangle (0 on the ears and in their shadow)."""
    th, ph = geo.skin_centroid_chart
    d = scalp_density(th, ph, lm, recession=p.recession, crown=p.crown, forehead=p.forehead, sideburn=p.sideburn)
    return d * (geo.skin_ear_fraction == 0)


def grow_scalp(geo, lm: Landmarks, p: ScalpParams, rng: np.random.Generator, budget: int = SCALP_TRIANGLE_BUDGET):
    """Rest strands of the scalp: dict(points (S, P, 3), root_tri, root_bary, side (S, 3) world ribbon
    direction at the root, width (S,)), or None for a bald head / an empty zone. Draws a fixed number of
    values from rng for a given root count."""
    if p.style == "bald" or p.length <= 0 or p.density <= 0:
        return None
    helix = np.sqrt(1 + (2 * np.pi * p.curl_frequency * p.curl_radius) ** 2)
    kind = "wave" if p.style == "wavy" else "helix"
    curled = p.curl_radius >= 0.02 and p.curl_frequency > 0  # below 0.2 mm a curl is invisible
    n_pts = strand_points(p)
    max_strands = max(1, budget // (2 * (n_pts - 1)))
    zone = scalp_zone(geo, lm, p)
    tri, bary = sample_roots(rng, geo, zone, p.density, max_count=max_strands)
    s = len(tri)
    if s == 0:
        return None
    asked = p.density * float((geo.skin_area * np.clip(zone, 0, 1)).sum())
    widen = float(np.clip(np.sqrt(asked / s), 1.0, MAX_WIDEN))
    u = rng.random((s, 8))  # per-strand uniforms: length, layer, phase, phase2, tail angle, tail radius, misc
    root, normal = surface_points(geo, tri, bary)
    q = geo.to_head(root)
    theta, phi = geo.chart(root)

    # ---- comb direction per root -------------------------------------------------------------------------
    comb = _comb(geo, lm, p, q, theta, phi, normal)
    comb_t = normalize(comb - normal * (comb * normal).sum(1, keepdims=True))
    side = normalize(np.cross(comb_t, normal))

    # ---- lengths -------------------------------------------------------------------------------------------
    length = np.full(s, p.length) * (1 + p.length_jitter * (2 * u[:, 0] - 1))
    if p.style in ("crew", "receding", "balding", "buzz"):
        top = smoothstep((phi - 5.0) / 35.0)
        length *= (0.4 + 0.6 * top) if p.style != "buzz" else (0.8 + 0.2 * top)
    length = np.maximum(length, 0.08)
    centre_len = length / (helix if kind == "helix" else 1.0)

    # ---- the face's keep-clear zone: which way each strand leaves it -----------------------------------
    lateral = comb_t @ geo.left
    strand_side = np.where(np.abs(lateral) > 0.2, np.sign(lateral), np.sign(q[:, 0]))
    strand_side[strand_side == 0] = 1.0
    fr = _fringe_mask(lm, p, theta, phi) if p.fringe else np.zeros(s, bool)
    reach = (1.2 * p.curl_radius if curled else 0.0) + 2.0 * 0.25 * p.frizz
    shield = FaceShield(geo, FACE_MARGIN + reach + 0.4, brows=True)

    # ---- layers: roots higher up lie on outer layers --------------------------------------------------
    height = np.clip((phi + 45.0) / 110.0, 0, 1)
    layer = 0.03 + p.volume * (0.2 + 0.8 * height) * (0.85 + 0.3 * u[:, 1])
    if kind == "helix" and p.curl_radius > 0:
        layer = layer + p.curl_radius

    wander = _wander(rng, s, p.n_points, {"coily": 0.9, "curly": 0.35, "wavy": 0.15}.get(p.style, 0.0))
    if p.style in ("ponytail", "bun"):
        pts = _gathered(geo, lm, p, root, normal, comb_t, length, layer, u)
        if fr.any():  # the fringe hangs free over the forehead, the rest is gathered
            free = _grown(geo, lm, p, root[fr], normal[fr], comb_t[fr], np.minimum(centre_len[fr], 12.0),
                          layer[fr], q[fr], theta[fr], phi[fr], wander[fr])
            brow_y = geo.to_head(lm.pos[17:27])[:, 1].max()
            cut = brow_y + 0.4 + 0.6 * u[fr, 6]
            pts[fr] = trim_below(free, geo.to_head(free)[..., 1], cut, min_length=0.5)
    else:
        pts = _grown(geo, lm, p, root, normal, comb_t, centre_len, layer, q, theta, phi, wander,
                     shield=shield, strand_side=strand_side, free=~fr)
        if fr.any():
            brow_y = geo.to_head(lm.pos[17:27])[:, 1].max()
            heights = geo.to_head(pts)[..., 1]
            cut = np.where(fr, brow_y + 0.4 + 0.6 * u[:, 6], -1e9)
            pts = trim_below(pts, heights, cut, min_length=0.5)
        if p.style == "bob":
            mouth_y = geo.to_head(lm.pos[[48, 54]]).mean(0)[1]
            cut = mouth_y - p.cut_drop + 0.6 * (u[:, 6] - 0.5)
            pts = trim_below(pts, geo.to_head(pts)[..., 1], cut, min_length=1.0)
            pts = _tuck(geo, pts, 1.2)
    # the bust ends below the shoulders: strands end 2-4 cm above its bottom edge (at their azimuth)
    q_all = geo.to_head(pts)
    floor = _rim_height(geo, np.degrees(np.arctan2(q_all[..., 0], q_all[..., 2])))
    floor = floor + 2.0 + 2.0 * u[:, 5:6] + (p.curl_radius if kind == "helix" else 0.0)
    if (q_all[..., 1] < floor).any():
        pts = trim_below(pts, q_all[..., 1] - floor, np.zeros(s), min_length=0.3)
    if pts.shape[1] < n_pts:
        pts = smooth_resample(pts, n_pts)
    if curled:
        radius = p.curl_radius * (0.8 + 0.4 * u[:, 3])
        freq = p.curl_frequency * (0.85 + 0.3 * u[:, 4])
        pts = add_curl(pts, side, radius, freq, 2 * np.pi * u[:, 2], kind=kind, ramp=1.0 if kind == "helix" else 2.0)
    if p.clumping > 0:  # the fringe clumps among itself, and either side of the face (of a parting) apart
        pts = clump(pts, rng, p.clumping, clump_size=10.0 if kind == "helix" else 14.0,
                    classes=2 * fr.astype(np.int64) + (strand_side > 0))
    else:
        rng.random(s)  # keep the draw count independent of the clumping value
    pts = frizz(pts, rng, p.frizz, scale=0.12 if p.length < 5 else 0.25)
    final = (0.04 + 0.5 * np.minimum(layer, 0.2))[:, None]
    pts = collide(geo, pts, final, iterations=4)
    # the lower cheeks too: a strand that found its way round the eyes must not hang across the cheek and chin
    pts = clear_face(geo, pts, FaceShield(geo, FACE_MARGIN, brows=False, cheeks=True), strand_side, final)
    width = p.width * widen * (0.8 + 0.4 * u[:, 7])
    return dict(points=pts, root_tri=tri, root_bary=bary, side=side, width=width)


def strand_points(p: ScalpParams) -> int:
    """Points per scalp strand: the style's n_points, more for curls and waves so that the longest strand
    has >= CURL_POINTS points per period (at most MAX_POINTS). Curls under 1.5 mm need fewer: as many
    as keep the polyline within 0.2 mm of the curve (chord sagitta r (1 - cos(pi / N))), at least 4."""
    r = p.curl_radius
    if not (r >= 0.02 and p.curl_frequency > 0):
        return int(p.n_points)
    per = CURL_POINTS
    if r < 0.15:
        per = int(np.clip(np.ceil(np.pi / np.arccos(max(1 - 0.02 / r, -1.0))), 4, CURL_POINTS))
    helix = np.sqrt(1 + (2 * np.pi * p.curl_frequency * r) ** 2) if p.style != "wavy" else 1.0
    periods = p.length * (1 + p.length_jitter) / helix * p.curl_frequency * 1.15  # the longest, fastest curl
    return int(np.clip(np.ceil(per * periods) + 1, p.n_points, MAX_POINTS))


def clear_face(geo, pts: np.ndarray, shield: FaceShield, strand_side: np.ndarray, clearance, ramp: float = 2.0,
               pad: float = 1.0):
    """Strands (S, P, 3) with no point inside `shield`: a strand that enters it is shifted sideways (towards
    the side it enters from) from there to its tip by what its deepest point needs to lie `pad` cm beyond
    the zone's edge (so that it stays out on narrower faces too), the shift easing in over `ramp` cm
    before; points still inside after that (rare) are cut off with the rest of the strand."""
    q = geo.to_head(pts)
    inside = shield.inside(q)
    inside[:, 0] = False
    rows = np.flatnonzero(inside.any(1))
    if len(rows) == 0:
        return pts
    pts = np.array(pts, np.float64)
    sub = q[rows]
    first = inside[rows].argmax(1)
    x_first = sub[np.arange(len(rows)), first, 0]
    side = np.where(np.abs(x_first) > 1.0, np.sign(x_first), strand_side[rows])
    depth = side[:, None] * (shield.edge(sub[..., 1], side[:, None]) - sub[..., 0])  # how far in, sideways
    need = np.where(inside[rows], depth + pad, 0.0)
    arc = arc_lengths(pts[rows])
    dd = arc[:, :, None] - arc[:, None, :]  # (k, j): how far point k lies beyond point j
    ease = np.where(dd >= 0, 1.0, smoothstep(1 + dd / ramp))
    shift = (np.maximum(need, 0.0)[:, None, :] * ease).max(2) * smoothstep(arc / 1.0)
    sub[..., 0] += side[:, None] * shift
    moved = geo.from_head(sub)
    moved[:, 1:] = collide(geo, moved, np.broadcast_to(clearance, (len(pts), pts.shape[1]))[rows])[:, 1:]
    pts[rows] = moved
    # the last resort: cut a strand where it still enters the zone
    inside = shield.inside(geo.to_head(pts[rows]))
    inside[:, 0] = False
    bad = inside.any(1)
    if bad.any():
        r = rows[bad]
        k = inside[bad].argmax(1)
        keep = arc_lengths(pts[r])[np.arange(len(r)), np.maximum(k - 1, 0)]
        pts[r] = resample(pts[r], np.maximum(keep, 0.05))
    return pts


# ---- comb -----------------------------------------------------------------------------------------------
def _comb(geo, lm, p: ScalpParams, q, theta, phi, normal):
    up, front, left = geo.up, geo.front, geo.left
    down, back = -up, -front
    # azimuthal unit direction (increasing theta) in world
    th = np.radians(theta)
    e_theta = normalize(np.cos(th)[:, None] * left + (-np.sin(th))[:, None] * front)
    crown_q = np.array([0.0, 0.8, -0.45]) * geo.scale * 0.55
    whorl = normalize(geo.from_head(q) - geo.from_head(crown_q))
    front_w = smoothstep((q[:, 2] / geo.scale + 0.05) / 0.35)  # 0 behind the crown, 1 at the forehead
    if p.style in ("buzz", "balding", "coily"):
        comb = whorl + 0.6 * down[None]
    elif p.style in ("crew", "receding"):
        comb = whorl + 0.9 * front_w[:, None] * (0.5 * front + 0.3 * up)[None] + 0.3 * down[None]
    elif p.parting == "none":
        comb = (back[None] * (0.5 + 1.2 * front_w[:, None])) + 0.4 * down[None] + 0.3 * whorl
    else:
        tp = 0.0 if p.parting == "centre" else (20.0 if p.part_side == "left" else -20.0)
        rel = (theta - tp + 180.0) % 360.0 - 180.0
        sigma = np.sign(rel)
        sigma[sigma == 0] = 1.0
        away = sigma[:, None] * e_theta
        top = smoothstep((phi - 15.0) / 30.0)
        comb = (away * (0.4 + 0.9 * top * front_w)[:, None] + (0.3 + 0.6 * front_w)[:, None] * back[None]
                + 0.5 * down[None])
    if p.fringe:
        fr = _fringe_mask(lm, p, theta, phi)
        comb[fr] = front + 0.25 * down + 0.25 * np.sign(theta[fr])[:, None] * left * 0.5
    return normalize(comb)


def _fringe_mask(lm, p: ScalpParams, theta, phi) -> np.ndarray:
    """Roots of the fringe: the front of the scalp, within the temples."""
    hair_front = lm.brow_top + p.forehead + 7.0 * p.recession
    return (np.abs(theta) < lm.temple + 5) & (phi < hair_front + 22.0)


# ---- free growth -----------------------------------------------------------------------------------------
def _rim_height(geo, theta_deg):
    """Head-frame height of the bust's bottom edge at azimuth theta (degrees), interpolated around."""
    if "rim" not in geo.memo:
        q = geo.to_head(geo.rest[geo.hole("neck").vertices])
        t = np.degrees(np.arctan2(q[:, 0], q[:, 2]))
        order = np.argsort(t)
        geo.memo["rim"] = (t[order], q[order, 1])
    t, y = geo.memo["rim"]
    return np.interp(theta_deg, t, y, period=360.0)


def _wander(rng, s, p, amount):
    """(S, P, 3) smooth random unit directions along each strand (meander of kinky hair), times amount.
    Always draws S * P * 3 normals."""
    g = rng.standard_normal((s, p, 3))
    if amount <= 0:
        return np.zeros_like(g)
    k = np.array([0.25, 0.5, 0.25])
    for _ in range(2):
        g[:, 1:-1] = k[0] * g[:, :-2] + k[1] * g[:, 1:-1] + k[2] * g[:, 2:]
    return amount * normalize(g)


def _grown(geo, lm, p: ScalpParams, root, normal, comb_t, length, layer, q, theta, phi, wander, *,
           shield: FaceShield | None = None, strand_side=None, free=None):
    """Free growth along the comb field. With a shield, the `free` strands (all but the fringe) are steered
    sideways (towards strand_side where they are near the middle) and back as they near the face's
    keep-clear zone from above or from the side, gravity yielding to that, and cannot enter it."""
    up = geo.up
    down = -up
    style = p.style
    lift = {"buzz": 20.0, "crew": 45.0, "receding": 35.0, "balding": 25.0, "coily": 45.0, "curly": 40.0}.get(style, 25.0)
    lift = np.radians(lift)
    t0 = normalize(comb_t * np.cos(lift) + normal * np.sin(lift))
    fall = {"buzz": 1e3, "crew": 6.0, "receding": 6.0, "balding": 3.0}.get(style, 3.0)
    grav = p.gravity
    outward = 1.0 if style == "coily" else 0.0
    comb_world = comb_t.copy()

    guard = shield is not None and free is not None and bool(np.any(free))
    if guard:
        side0 = np.asarray(strand_side, np.float64)
        free = np.asarray(free, bool)
        left, front = geo.left, geo.front

    def sides(q, strands):
        """+1 / -1 per point: the side of the face it is on, its strand's side near the middle."""
        return np.where(np.abs(q[:, 0]) > 1.0, np.sign(q[:, 0]), side0[strands])

    def field(x, t, n, arc, k):
        c = comb_world - n * along(comb_world, n)
        c = normalize(c)
        wg = (grav * smoothstep(arc / fall))[:, None]
        d = (1 - wg) * c + wg * down[None]
        if outward:  # afro: out from the head centre, a little upwards, the comb only a hint
            radial = normalize(normalize(x - geo.origin) + 0.3 * up[None])
            rise = smoothstep(arc / 1.5)[:, None]  # leave the scalp along the comb, then stand out
            d = (1.0 - 0.6 * rise) * c + outward * rise * (0.7 * radial + 0.3 * n)
        d = normalize(d)
        if guard:
            # near the keep-clear zone (above it, up to 6 cm over its top, or beside it within 2.5 cm of
            # its widest part below), in front of the head: sideways and back instead of down
            q = geo.to_head(x)
            near = (q[:, 2] > 0) & (q[:, 1] < shield.top + 6.0) & (q[:, 1] > shield.bottom - 1.0)
            idx = np.flatnonzero(free & near)
            if len(idx):
                q = q[idx]
                sd = sides(q, idx)
                gap = sd * (q[:, 0] - shield.edge_below(q[:, 1], sd))
                w = ((1 - smoothstep(gap / 2.5)) * (1 - smoothstep((q[:, 1] - shield.top) / 6.0))
                     * smoothstep((q[:, 1] - shield.bottom + 1.0) / 2.0) * smoothstep(q[:, 2] / 2.0))[:, None]
                away = normalize(sd[:, None] * left[None] - 0.5 * front[None])
                d[idx] = (1 - w) * d[idx] + w * away
        return normalize(d + wander[:, k])

    exclude = None
    if guard:
        def exclude(xn):
            q = geo.to_head(xn)
            idx = np.flatnonzero(free & (q[:, 2] > 0) & (q[:, 1] >= shield.bottom) & (q[:, 1] <= shield.top))
            if len(idx):
                moved, bad = shield.push(q[idx], sides(q[idx], idx))
                if bad.any():
                    xn = xn.copy()
                    xn[idx[bad]] = geo.from_head(moved[bad])
            return xn

    bend = {"buzz": 0.5, "crew": 1.5, "coily": 3.0, "curly": 2.0}.get(style, 1.5)
    pts = grow(geo, root, normal, t0, length, p.n_points, field, layer, bend=bend, exclude=exclude)
    if guard:  # steps lengthened by the zone: back to the asked length
        long = polyline_lengths(pts) > np.asarray(length) * (1 + 1e-6)
        if long.any():
            pts[long] = resample(pts[long], np.asarray(length)[long])
    return pts


def _tuck(geo, pts, depth):
    """Turn the last `depth` cm of each strand towards the neck (a bob's ends curl under)."""
    arc = arc_lengths(pts)
    tail = smoothstep((arc - (arc[:, -1:] - depth)) / depth)
    q = geo.to_head(pts)
    inward = -normalize(np.stack([q[..., 0], np.zeros_like(q[..., 0]), q[..., 2]], -1)) @ geo.axes
    return pts + (0.6 * tail)[..., None] * inward


# ---- ponytail and bun -------------------------------------------------------------------------------------
def _gathered(geo, lm, p: ScalpParams, root, normal, comb_t, length, layer, u):
    """Strands pulled over the scalp to a tie point, then a hanging tail (ponytail) or a wrapped bun."""
    s = len(root)
    n_path = 10
    tie_dir = geo.direction(180.0, p.tie_height)
    tie = geo.radial_surface(tie_dir[None], 0.35)[0]
    # tight path over the scalp: chord points projected radially to the scalp + a thin layer
    f = np.linspace(0, 1, n_path)[None, :, None]
    chord = root[:, None, :] * (1 - f) + tie[None, None, :] * f
    dirs = normalize(chord - geo.origin)
    thin = 0.05 + 0.3 * np.minimum(layer, 1.0)[:, None] * smoothstep(f[..., 0] * 4)
    path = geo.radial_surface(dirs.reshape(-1, 3), thin.reshape(-1)).reshape(s, n_path, 3)
    path[:, 0] = root
    path_len = arc_lengths(path)[:, -1]
    rest_len = np.maximum(length - path_len, 2.0)
    n_tail = 24
    if p.style == "ponytail":
        guide_len = p.tail_length
        out_dir = normalize(tie - geo.origin)
        g = grow(geo, tie[None], out_dir[None], normalize(out_dir * 0.7 - geo.up * 0.3)[None], np.array([guide_len]),
                 n_tail, lambda x, t, n, arc, k: normalize(np.repeat(-geo.up[None], len(x), 0) * smoothstep(arc / 3.0)[:, None]
                                                             + normalize(x - geo.origin) * (1 - smoothstep(arc / 3.0))[:, None]),
                 np.array([1.2]), bend=2.0)[0]
        tt = np.linspace(0, 1, n_tail)
        _, uu, vv = _frames_of(g)
        ang = 2 * np.pi * u[:, 4]
        rad = np.sqrt(u[:, 5])
        spread = 0.5 + 1.6 * smoothstep(tt / 0.3) - 0.5 * smoothstep((tt - 0.6) / 0.4)
        off = (rad[:, None] * spread[None])[..., None] * (np.cos(ang)[:, None, None] * uu[None] + np.sin(ang)[:, None, None] * vv[None])
        tail = g[None] + off
        # each strand keeps its own length: cut the tail where the strand's length runs out
        full = np.concatenate([path, tail[:, 1:]], 1)
        keep = path_len + np.minimum(rest_len, arc_lengths(tail)[:, -1]) * (0.75 + 0.25 * u[:, 6])
        pts = resample(full, keep, p.n_points)
    else:
        # bun: wrap around a torus centred off the tie point
        out_dir = normalize(tie - geo.origin)
        e1 = normalize(np.cross(out_dir, geo.left))
        e2 = np.cross(out_dir, e1)
        r1, r2 = 1.5, 1.1
        centre = tie + out_dir * (r2 + 0.1)
        tt = np.linspace(0, 1, n_tail)[None, :]
        turns = 1.0 + 1.5 * u[:, 5:6]
        alpha = 2 * np.pi * u[:, 4:5] + 2 * np.pi * 0.9 * tt
        beta = np.pi + 2 * np.pi * turns * tt
        ring = (r1 + r2 * np.cos(beta))[..., None] * (np.cos(alpha)[..., None] * e1 + np.sin(alpha)[..., None] * e2)
        bun = centre + ring + (r2 * np.sin(beta))[..., None] * out_dir
        bun[:, 0] = tie
        full = np.concatenate([path, bun[:, 1:]], 1)
        keep = arc_lengths(full)[:, -1] * (0.85 + 0.15 * u[:, 6])
        pts = resample(full, keep, p.n_points)
    return pts


def _frames_of(curve):
    from .strands import rmf

    t, uu, vv = rmf(curve[None], np.cross(curve[1] - curve[0], [1.0, 0.0, 0.0])[None] + 1e-9)
    return t[0], uu[0], vv[0]
