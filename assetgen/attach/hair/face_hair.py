"""Face hair: eyebrows, beards (with moustache and stubble) and eyelashes, grown on the rest skin.

Eyebrows: roots in a band along the brow landmarks (17-21 the subject's right brow, 22-26 the left), from
the inner end (u = 0) to the tail (u = 1); the band is `thickness` cm at the inner end, tapers towards the
tail, and its middle-to-outer part is lifted by `arch`; random stretches are thinned by `gaps`. Hairs lie
almost flat: upward at the inner end, outward along the brow in the body (the upper rows tilted down and the
lower rows up, so they meet along the middle), outward and down at the tail.

Beards: roots where zones.beard_density says (never on the lips or ears); strands follow gravity along the
skin (towards the throat under the jaw), lifted a little off the skin, longer styles fall and curl. Roots
in the moustache zone form the 'moustache' group, the rest the 'beard' group.

Eyelashes: the lid margins are the skin's eye-hole boundaries, split into upper and lower arcs at the eye
corner landmarks (36/39 right eye, 42/45 left eye). Lashes root on the lid just outside the margin, point
forward and away from the eye, and curl away from it (up on the upper lid, down on the lower); they are
longest about two thirds of the way to the outer corner. Lower lashes are sparser, shorter and finer
(LOWER_WIDTH) and point mostly down, so that a front view shows thin lines under the eye, not dots.
"""

from __future__ import annotations

import numpy as np

from ...face import ict
from ..binding import nearest_triangles
from .params import BeardParams, BrowParams, LashParams
from .strands import (
    add_curl,
    along,
    collide,
    frizz,
    grow,
    normalize,
    sample_roots,
    smoothstep,
    surface_points,
)
from .zones import Landmarks, beard_density, moustache_density


# ---- eyebrows ----------------------------------------------------------------------------------------------
def grow_brow(geo, lm: Landmarks, p: BrowParams, rng: np.random.Generator, side: int):
    """One eyebrow (side +1: the subject's left, landmarks 22-26; -1: right, 17-21). dict or None."""
    ids = [22, 23, 24, 25, 26] if side > 0 else [21, 20, 19, 18, 17]  # inner -> outer
    ctrl = geo.rest[geo.model.landmarks_68[ids]]
    seg = np.linalg.norm(np.diff(ctrl, axis=0), axis=1)
    total = float(seg.sum())
    cum = np.concatenate([[0], np.cumsum(seg)]) / total
    up, front = geo.up, geo.front
    mean_thick = p.thickness * (1 - 0.5 * p.taper)
    n = round(p.density * total * mean_thick)
    u = rng.random((max(n, 0) * 3, 8))  # candidates (3x for thinning), fixed draws per count
    if n <= 0:
        return None
    uu = u[:, 0] * 1.08 - 0.03
    v = u[:, 1] * 2 - 1  # -1 bottom .. +1 top of the band
    thick = p.thickness * (1 - p.taper * smoothstep((uu - 0.35) / 0.65)) * (1 - 0.35 * smoothstep((0.04 - uu) / 0.07))
    # thinning: the tail and the edges of the band are sparser, `gaps` clears a few stretches
    keep_p = (1 - 0.45 * smoothstep((uu - 0.75) / 0.3)) * (1 - 0.5 * np.abs(v) ** 3)
    if p.gaps > 0:
        centres = rng.random(3)
        for c in centres[: 1 + int(p.gaps * 2.99)]:
            keep_p = keep_p * (1 - p.gaps * np.exp(-((uu - (0.2 + 0.7 * c)) / 0.06) ** 2))
    else:
        rng.random(3)
    keep = np.flatnonzero(u[:, 2] < keep_p)[:n]
    uu, v, thick, uk = uu[keep], v[keep], thick[keep], u[keep]
    centre = np.stack([np.interp(np.clip(uu, 0, 1), cum, ctrl[:, k]) for k in range(3)], 1)
    # extrapolate a little past both ends along the end segments
    lo, hi = uu < 0, uu > 1
    centre[lo] += (ctrl[0] - ctrl[1])[None] / max(seg[0], 1e-6) * (-uu[lo] * total)[:, None]
    centre[hi] += (ctrl[-1] - ctrl[-2])[None] / max(seg[-1], 1e-6) * ((uu[hi] - 1) * total)[:, None]
    arch = p.arch * 0.35 * np.sin(np.pi * np.clip((uu - 0.15) / 0.85, 0, 1)) ** 2
    lateral = normalize(np.stack([np.interp(np.clip(uu, 0, 1), cum[1:], np.diff(ctrl[:, k]) / seg) for k in range(3)], 1))
    # band: mostly below the landmark line (brow landmarks trace the upper part of the brow)
    offset = (v * 0.5 - 0.25) * thick + arch
    guess = centre + offset[:, None] * up[None] - 0.3 * front[None]
    tri, bary = geo.closest_skin(guess)
    root, normal = surface_points(geo, tri, bary)
    up_t = normalize(up - normal * (normal @ up)[:, None])
    lat_t = normalize(lateral - normal * (lateral * normal).sum(1, keepdims=True))
    head = 1 - smoothstep(uu / 0.22)
    tail = smoothstep((uu - 0.7) / 0.3)
    direction = lat_t * (0.35 + 0.65 * (1 - head))[:, None] + up_t * (1.3 * head - 0.45 * v * (1 - head) - 0.35 * tail)[:, None]
    direction = normalize(direction + 0.25 * (uk[:, 3:4] - 0.5) * up_t)
    lift = np.radians(12.0)
    t0 = normalize(direction * np.cos(lift) + normal * np.sin(lift))
    length = p.length * (0.7 + 0.4 * uk[:, 4]) * (1 - 0.3 * uu.clip(0, 1)) * (1 - 0.3 * head)
    comb = direction

    def field(x, t, nn, arc, k):
        return normalize(comb - nn * along(comb, nn))

    pts = grow(geo, root, normal, t0, length, p.n_points, field, np.full(len(root), 0.04), bend=0.6)
    pts[:, 1:] = geo.exact_push_out(pts[:, 1:].reshape(-1, 3), 0.03).reshape(len(pts), -1, 3)
    side_vec = normalize(np.cross(direction, normal))
    return dict(points=pts, root_tri=tri, root_bary=bary, side=side_vec, width=np.full(len(root), p.width))


# ---- beard -------------------------------------------------------------------------------------------------
def beard_zone(geo, lm: Landmarks, p: BeardParams) -> tuple[np.ndarray, np.ndarray]:
    """(Fs,) beard density and (Fs,) moustache membership (0..1) per skin triangle."""
    th, ph = geo.skin_centroid_chart
    model = geo.model
    lips = np.isin(model.triangle_region[geo.skin], [model.region_names.index(r) for r in ict.LIP_REGIONS])
    d = beard_density(th, ph, lm, p.style, neck=p.neck, cheek=p.cheek)
    d = d * ~lips * (geo.skin_ear_fraction == 0)
    m = moustache_density(th, ph, lm) * ~lips
    return d, m


def grow_beard(geo, lm: Landmarks, p: BeardParams, rng: np.random.Generator, budget: int = 60_000):
    """Beard strands: dict(points, root_tri, root_bary, side, width, moustache (S,) bool) or None."""
    if p.style == "none" or p.length <= 0 or p.density <= 0:
        return None
    dens, _ = beard_zone(geo, lm, p)
    tri, bary = sample_roots(rng, geo, dens, p.density, max_count=budget // (2 * (p.n_points - 1)))
    s = len(tri)
    if s == 0:
        return None
    u = rng.random((s, 6))
    root, normal = surface_points(geo, tri, bary)
    theta, phi = geo.chart(root)
    in_mous = moustache_density(theta, phi, lm) > 0.5
    if p.style == "moustache":
        in_mous[:] = True
    up, front, left = geo.up, geo.front, geo.left
    down = -up
    q = geo.to_head(root)
    lateral = np.sign(q[:, 0])[:, None] * left[None]
    comb = down[None] + 0.25 * lateral + np.where(in_mous[:, None], 0.8 * lateral - 0.2 * front, 0.0)
    comb_t = comb - normal * (comb * normal).sum(1, keepdims=True)
    weak = np.linalg.norm(comb_t, axis=1) < 0.35
    if weak.any():  # under the chin: towards the throat
        alt = -front[None] + 0.3 * down[None]
        comb_t[weak] = (alt - normal[weak] * (alt * normal[weak]).sum(1, keepdims=True))
    comb_t = normalize(comb_t)
    lift = np.radians({"stubble": 45.0, "short": 30.0, "chin_strap": 30.0}.get(p.style, 22.0))
    t0 = normalize(comb_t * np.cos(lift) + normal * np.sin(lift))
    length = p.length * (0.7 + 0.5 * u[:, 0]) * np.where(in_mous, 0.8, 1.0)
    volume = min(0.15 + 0.12 * p.length, 1.2) if p.style in ("full", "goatee") else 0.03
    layer = 0.02 + volume * (0.5 + 0.5 * u[:, 1])
    grav = 0.0 if p.length < 1.5 else min(1.0, p.length / 6.0)
    comb_world = comb_t

    def field(x, t, nn, arc, k):
        c = normalize(comb_world - nn * along(comb_world, nn))
        wg = (grav * smoothstep(arc / 2.0))[:, None]
        return normalize((1 - wg) * c + wg * down[None])

    pts = grow(geo, root, normal, t0, length, p.n_points, field, layer, bend=0.8 if p.length < 2 else 1.5)
    side = normalize(np.cross(comb_t, normal))
    if p.curl > 0 and p.length > 0.4:
        radius = 0.06 * p.curl * np.minimum(p.length, 4.0) * (0.6 + 0.8 * u[:, 2])
        pts = add_curl(pts, side, radius, 0.9 + 0.6 * u[:, 3], 2 * np.pi * u[:, 4], ramp=0.3)
    pts = frizz(pts, rng, 0.3 * p.curl, scale=0.05 * min(p.length, 4.0))
    pts = collide(geo, pts, 0.03)
    return dict(points=pts, root_tri=tri, root_bary=bary, side=side, width=np.full(s, p.width), moustache=in_mous)


# ---- eyelashes --------------------------------------------------------------------------------------------
LOWER_WIDTH = 0.6  # ribbon width of a lower lash relative to an upper one


def lid_margins(geo) -> dict[tuple[int, bool], np.ndarray]:
    """{(side, upper): (k, 2) ordered directed skin edges of that lid margin, from the inner to the outer
    corner}; side +1 the subject's left eye, -1 the right. Computed once per rest shape."""
    if "lid_margins" not in geo.memo:
        geo.memo["lid_margins"] = _lid_margins(geo)
    return geo.memo["lid_margins"]


def _lid_margins(geo):
    lm_ids = geo.model.landmarks_68
    out = {}
    for hole in geo.holes:
        if not hole.name.startswith("eye"):
            continue
        side = 1 if hole.name == "eye_left" else -1
        inner_id, outer_id = (42, 45) if side > 0 else (39, 36)
        nxt = {int(a): int(b) for a, b in hole.edges}
        start = int(hole.edges[0, 0])
        loop = [start]
        while nxt[loop[-1]] != start:
            loop.append(nxt[loop[-1]])
        loop = np.array(loop)
        pos = geo.rest[loop]
        i_in = int(np.argmin(np.linalg.norm(pos - geo.rest[lm_ids[inner_id]], axis=1)))
        i_out = int(np.argmin(np.linalg.norm(pos - geo.rest[lm_ids[outer_id]], axis=1)))
        k = len(loop)
        arc_a = [(i_in + j) % k for j in range((i_out - i_in) % k + 1)]  # along the loop direction
        arc_b = [(i_in - j) % k for j in range((i_in - i_out) % k + 1)]  # against it
        up = geo.up
        ya, yb = (pos[arc_a] @ up).mean(), (pos[arc_b] @ up).mean()
        for arc, is_upper in ((arc_a, ya > yb), (arc_b, yb >= ya)):
            verts = loop[arc]
            out[(side, bool(is_upper))] = np.stack([verts[:-1], verts[1:]], 1)
    return out


def _lid_front(geo, edges: np.ndarray) -> np.ndarray:
    """Skin triangles facing forward (normal . front > 0.2) within 0.6 cm of a lid margin: the lid's front."""
    key = ("lid_front", edges.tobytes())
    if key not in geo.memo:
        geo.memo[key] = _lid_front_uncached(geo, edges)
    return geo.memo[key]


def _lid_front_uncached(geo, edges: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree

    t = geo.skin_corners
    v = geo.rest
    a, b, c = v[t[:, 0]], v[t[:, 1]], v[t[:, 2]]
    fn = np.cross(b - a, c - a)
    fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-12)
    near = cKDTree(v[np.unique(edges)]).query((a + b + c) / 3, distance_upper_bound=0.6)[0] < np.inf
    return geo.skin[near & (fn @ geo.front > 0.2)]


def grow_lashes(geo, lm: Landmarks, p: LashParams, rng: np.random.Generator):
    """Eyelashes of both eyes: dict(points, root_tri, root_bary, side, width, eye (S,) +1/-1, upper (S,) bool)."""
    margins = lid_margins(geo)
    up, front = geo.up, geo.front
    parts = []
    for key in sorted(margins):
        side, upper = key
        if not upper and not p.lower:
            continue
        edges = margins[key]
        a, b = geo.rest[edges[:, 0]], geo.rest[edges[:, 1]]
        seg = np.linalg.norm(b - a, axis=1)
        cum = np.concatenate([[0], np.cumsum(seg)])
        total = cum[-1]
        density = p.upper_density if upper else p.lower_density
        n = round(density * total * (0.78 if upper else 0.65))
        u = rng.random((max(n, 1), 5))
        if n <= 0:
            continue
        # stratified positions along the margin
        t = (np.arange(n) + 0.2 + 0.6 * u[:, 0]) / n
        t = (0.12 + 0.78 * t) if upper else (0.2 + 0.65 * t)  # clear of the corners, where the lids meet
        pos_arc = t * total
        e = np.clip(np.searchsorted(cum, pos_arc, side="right") - 1, 0, len(edges) - 1)
        f = (pos_arc - cum[e]) / np.maximum(seg[e], 1e-9)
        margin = a[e] + (b[e] - a[e]) * f[:, None]
        vert = up if upper else -up
        # the hole's boundary lies inside the lid (the skin wraps into the socket there): lashes grow from
        # the lid's front edge, the closest forward-facing skin near the margin
        owner, bary = nearest_triangles(geo.rest, geo.triangles, margin, candidates=_lid_front(geo, edges))
        root, normal = surface_points(geo, owner, bary)
        eye_c = geo.rest[np.unique(edges)].mean(0)
        away = normalize(root - eye_c)
        away = normalize(away - front * (away @ front)[:, None])
        # longest about two thirds towards the outer corner
        profile = 0.55 + 0.45 * np.sin(np.pi * np.clip(t * 0.8 + 0.1, 0, 1)) ** 0.7
        length = (p.upper_length if upper else p.lower_length) * profile * (0.85 + 0.3 * u[:, 1])
        # lashes leave the lid forward (the upper ones a little down, clear of the lid above; the lower ones
        # down) and curl away from the eye towards their tips
        c = geo.triangles[owner]
        fn = normalize(np.cross(geo.rest[c[:, 1]] - geo.rest[c[:, 0]], geo.rest[c[:, 2]] - geo.rest[c[:, 0]]))
        if upper:
            t0 = normalize(1.0 * front[None] + 0.6 * fn - 0.1 * vert[None] + 0.3 * away)
            leave, turn = front[None] + 0.3 * away, vert[None] + 0.5 * front[None]
        else:  # lower lashes mostly down, a little forward and outward
            t0 = normalize(0.5 * front[None] + 0.6 * fn + 1.0 * vert[None] + 0.3 * away)
            leave, turn = 0.6 * front[None] + 0.8 * vert[None] + 0.3 * away, vert[None] + 0.2 * front[None]

        def field(x, tt, nn, arc, k, leave=leave, turn=turn, length=length, curl=p.curl):
            s = arc / np.maximum(length, 1e-6)
            w = (0.15 + 0.6 * curl) * smoothstep((s - 0.2) / 0.8)[:, None]
            return normalize((1 - w) * leave + w * turn)

        pts = grow(geo, root, normal, t0, length, p.n_points, field, np.full(n, 0.03), bend=0.25, collide=False)
        # the ribbon lies along the margin: its width direction is the margin tangent
        margin_dir = normalize(b[e] - a[e])
        parts.append(dict(points=pts, root_tri=owner.astype(np.int32), root_bary=bary, side=margin_dir,
                          eye=np.full(n, side, np.int8), upper=np.full(n, upper),
                          frame_anchors=_lid_anchors(geo, root, vert, edges)))
    if not parts:
        return None
    out = {k: np.concatenate([d[k] for d in parts]) for k in parts[0]}
    pts = out["points"]
    pts[:, 1:] = geo.exact_push_out(pts[:, 1:].reshape(-1, 3), 0.02).reshape(len(pts), -1, 3)
    out["width"] = p.width * np.where(out["upper"], 1.0, LOWER_WIDTH)
    out["normals"] = "face"
    return out


def _lid_anchors(geo, root: np.ndarray, vert: np.ndarray, edges: np.ndarray, k: int = 4) -> np.ndarray:
    """(n, k) skin triangles on the lid around each lash root (0.15-0.5 cm away, towards the lid), whose
    frames steady the lash's: the lid's crest triangles are small and turn a lot when the lid moves."""
    from scipy.spatial import cKDTree

    if "skin_centroid_tree" not in geo.memo:
        geo.memo["skin_centroid_tree"] = cKDTree(geo.rest[geo.skin_corners].mean(1))
    tree = geo.memo["skin_centroid_tree"]
    out = np.empty((len(root), k), np.int64)
    targets = [vert * 0.25, vert * 0.45, np.cross(geo.front, vert) * 0.3 + vert * 0.2,
               -np.cross(geo.front, vert) * 0.3 + vert * 0.2]
    for j, off in enumerate(targets[:k]):
        out[:, j] = geo.skin[tree.query(root + off)[1]]
    return out
