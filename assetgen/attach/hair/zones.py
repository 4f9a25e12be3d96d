"""Where hair grows: density maps on the skin, drawn in the head chart relative to the landmarks.

All functions take chart angles (theta, phi in degrees, see attach.head) and return a density in [0, 1]
(1 = full density). Angles are relative to landmark positions measured on the rest shape, so the zones
follow the head they are grown on. Left/right are the subject's (theta > 0 is the subject's left).

Scalp: hair above a hairline phi > H(|theta|): the front hairline sits `forehead` degrees above the
highest brow landmark, the temples dip into an M, a sideburn runs down in front of the ear, the line
passes above and behind the ear (the ear itself and its shadow are excluded geometrically, see
HeadGeometry.ear_vertex_mask) and ends at the nape. `recession` in [0, 1] raises the front and especially
the temples (Norwood-like M), `crown` in [0, 1] opens a bald spot at the vertex that grows into the
horseshoe of a balding head.
"""

from __future__ import annotations

import numpy as np


def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class Landmarks:
    """Chart positions of the landmarks the zones use, measured once on the rest shape."""

    def __init__(self, geo):
        lm = geo.rest[geo.model.landmarks_68]
        self.theta, self.phi = geo.chart(lm)
        self.pos = lm
        t, p = self.theta, self.phi
        self.brow_top = float(p[17:27].max())
        self.temple = float(np.abs(t[[17, 26]]).mean())  # |theta| of the brow tails
        self.tragus_theta = float(np.abs(t[[0, 16]]).mean())
        self.tragus_phi = float(p[[0, 16]].mean())
        self.jaw_theta = np.abs(t[0:17])
        self.jaw_phi = p[0:17]
        self.mouth_corner = float(np.abs(t[[48, 54]]).mean())
        self.nose_base = float(p[31:36].mean())
        self.upper_lip = float(p[50:53].max())
        self.lower_lip = float(p[56:59].min())
        self.chin = float(p[8])
        self.eye_phi = float(p[36:48].mean())


def scalp_density(theta, phi, lm: Landmarks, *, recession: float = 0.0, crown: float = 0.0,
                  forehead: float = 25.0, sideburn: float = 0.5, soft: float = 2.5):
    """Scalp hair density in [0, 1] at chart points (arrays of degrees)."""
    a = np.abs(np.asarray(theta, np.float64))
    phi = np.asarray(phi, np.float64)
    r = float(np.clip(recession, 0, 1))
    pf = lm.brow_top + forehead + 7.0 * r
    tt = lm.temple + 8.0
    sb = lm.tragus_phi - 4.0 - 12.0 * sideburn
    t0 = lm.tragus_theta
    xs = [0.0, 0.6 * tt, tt, tt + 9, t0, t0 + 3, t0 + 20, 100, 115, 140, 180]
    ys = [pf, pf + 0.5 - 1.5 * r, pf - 3 + 22 * r, lm.brow_top + 12 + 16 * r, lm.brow_top + 4 + 12 * r,
          sb + 8 * r, sb + 8 * r, -18, -32, -40, -44]
    h = np.interp(a, xs, ys)
    d = smoothstep((phi - h) / soft + 0.5)
    if crown > 0:
        # bald spot around the vertex (back of the top), radius grows with `crown`
        c = float(np.clip(crown, 0, 1))
        t, p = np.radians(theta), np.radians(phi)
        ct, cp = np.radians(180.0), np.radians(55.0 + 25 * c)  # moves from the crown over the vertex
        cosang = np.sin(p) * np.sin(cp) + np.cos(p) * np.cos(cp) * np.cos(t - ct)
        ang = np.degrees(np.arccos(np.clip(cosang, -1, 1)))
        radius = 6.0 + 50.0 * c
        d = d * smoothstep((ang - radius) / (soft * 2) + 0.5)
    return d


def beard_density(theta, phi, lm: Landmarks, style: str, *, neck: float = 0.5, cheek: float = 0.5, soft: float = 1.5):
    """Beard density in [0, 1] per style: 'stubble' and 'full' and 'short' cover cheeks, jaw, chin, upper lip
    and the neck under the jaw; 'goatee' the chin and the mouth surround; 'chin_strap' a band along the
    jaw; 'moustache' only the upper lip. Lips are excluded by the caller (the lips region)."""
    a = np.abs(np.asarray(theta, np.float64))
    phi = np.asarray(phi, np.float64)
    jaw = np.interp(a, lm.jaw_theta[8:17], lm.jaw_phi[8:17], right=lm.jaw_phi[16])  # chart of the jawline
    mc = lm.mouth_corner
    mous = moustache_density(theta, phi, lm, soft=soft)
    if style == "moustache":
        return mous
    # neck limit: below the jaw by 10-18 degrees (deeper under the chin)
    depth = (10.0 + 8.0 * neck) * (1.0 - 0.5 * np.clip((a - 20) / 40, 0, 1))
    below = smoothstep((phi - (jaw - depth)) / soft + 0.5)
    if style == "chin_strap":
        band = 4.5
        return smoothstep((phi - (jaw - band)) / soft + 0.5) * smoothstep(((jaw + band) - phi) / soft + 0.5) * \
            smoothstep((lm.tragus_theta + 6 - a) / soft + 0.5) * smoothstep((phi - (jaw - depth)) / soft + 0.5)
    if style == "goatee":
        width = mc + 3.0
        side = smoothstep((width - a) / soft + 0.5)
        top = smoothstep((lm.nose_base - 1.0 - phi) / soft + 0.5)
        lowest = lm.chin - 10.0
        return np.maximum(side * top * smoothstep((phi - lowest) / soft + 0.5), mous)
    # full / short / stubble: upper border from the sideburn to the nose wing (cheek line)
    top_at_side = lm.tragus_phi + 1.0
    top_at_mouth = lm.nose_base - 2.0 + 6.0 * (cheek - 0.5)
    t_side = lm.tragus_theta + 9.0
    cheek_line = np.interp(a, [0, mc + 4, t_side], [lm.nose_base, top_at_mouth, top_at_side])
    upper = smoothstep((cheek_line - phi) / soft + 0.5)
    inside = smoothstep((t_side + 2 - a) / soft + 0.5)
    return np.maximum(upper * below * inside, mous)


def moustache_density(theta, phi, lm: Landmarks, soft: float = 1.0):
    """The upper lip between the nose base and the lip, widening to the mouth corners."""
    a = np.abs(np.asarray(theta, np.float64))
    phi = np.asarray(phi, np.float64)
    mc = lm.mouth_corner
    top = np.interp(a, [0, 4, mc + 2], [lm.nose_base - 0.8, lm.nose_base - 0.3, lm.nose_base - 6])
    bottom = np.interp(a, [0, mc, mc + 2], [lm.upper_lip - 0.5, lm.lower_lip + 0.5, lm.lower_lip - 1.0])
    return smoothstep((top - phi) / soft + 0.5) * smoothstep((phi - bottom) / soft + 0.5) * \
        smoothstep((mc + 2.5 - a) / soft + 0.5)


# ---- the face's keep-clear zone ------------------------------------------------------------------------------
FACE_ZONE = np.r_[7:10, 27:36, 36:48, 48:60]  # chin, nose, eyes, mouth (Multi-PIE 68)
BROWS_INNER = np.r_[18:26]  # the brows without their tails (the temples stay free for hair beside the face)
LOWER_JAW = np.r_[3:14]  # the jaw line from below the cheekbones round the chin (the lower cheeks in front of it)


class FaceShield:
    """The keep-clear zone in front of the face, in head coordinates (x left, y up, z front; attach.head):
    points with z > 0 whose (x, y) lies in the convex hull of the chin, nose, eye and mouth landmarks (and,
    with brows=True, the brows without their tails; with cheeks=True, the jaw line below the cheekbones, so
    the lower cheeks and the chin too), grown by `margin` cm. Scalp hair stays out of it: only a fringe may
    hang over the forehead and brows, and it ends above the eyes.

    bounds(y) gives the zone's x interval at height y (empty above `top` and below `bottom`); inside(q)
    tests points; push(q, side) moves points that are inside to its edge on their `side` (+1: +x)."""

    def __init__(self, geo, margin: float, brows: bool = True, n_rows: int = 256, cheeks: bool = False):
        ids = np.concatenate([FACE_ZONE] + ([BROWS_INNER] if brows else []) + ([LOWER_JAW] if cheeks else []))
        q = geo.to_head(geo.rest[geo.model.landmarks_68[ids]])[:, :2]
        # the hull grown by a disc: hull of the landmark points with a ring of radius margin around each
        ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        ring = np.stack([np.cos(ang), np.sin(ang)], 1) * max(float(margin), 1e-3)
        pts = (q[:, None, :] + ring[None]).reshape(-1, 2)
        from scipy.spatial import ConvexHull

        poly = pts[ConvexHull(pts).vertices]
        a, b = poly, np.roll(poly, -1, axis=0)
        self.bottom, self.top = float(poly[:, 1].min()), float(poly[:, 1].max())
        self.rows = np.linspace(self.bottom, self.top, n_rows)
        y = self.rows[:, None]
        lo_y, hi_y = np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1])
        cross = (y >= lo_y) & (y <= hi_y) & (hi_y > lo_y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
        self.lo = np.where(cross, x, np.inf).min(1)
        self.hi = np.where(cross, x, -np.inf).max(1)
        # the widest the zone gets at or below each height: what a strand coming down meets
        self.lo_below = np.minimum.accumulate(self.lo)
        self.hi_below = np.maximum.accumulate(self.hi)
        self.margin = float(margin)

    def bounds(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) x interval of the zone at heights y (lo > hi where the zone does not reach)."""
        y = np.asarray(y, np.float64)
        lo = np.interp(y, self.rows, self.lo)
        hi = np.interp(y, self.rows, self.hi)
        out = (y < self.bottom) | (y > self.top)
        return np.where(out, np.inf, lo), np.where(out, -np.inf, hi)

    def inside(self, q: np.ndarray) -> np.ndarray:
        """(...,) bool: head-frame points (..., 3) inside the zone."""
        lo, hi = self.bounds(q[..., 1])
        return (q[..., 2] > 0) & (q[..., 0] > lo) & (q[..., 0] < hi)

    def edge(self, y: np.ndarray, side: np.ndarray) -> np.ndarray:
        """x of the zone's edge on `side` (+1 / -1) at heights y (clamped into the zone's rows)."""
        yc = np.clip(np.asarray(y, np.float64), self.bottom, self.top)
        return np.where(np.asarray(side) > 0, np.interp(yc, self.rows, self.hi), np.interp(yc, self.rows, self.lo))

    def edge_below(self, y: np.ndarray, side: np.ndarray) -> np.ndarray:
        """x of the zone's widest edge on `side` at or below heights y: where a strand falling from y has to
        be to pass beside the zone."""
        yc = np.clip(np.asarray(y, np.float64), self.bottom, self.top)
        return np.where(np.asarray(side) > 0, np.interp(yc, self.rows, self.hi_below),
                        np.interp(yc, self.rows, self.lo_below))

    def push(self, q: np.ndarray, side: np.ndarray, eps: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
        """Points (n, 3) moved sideways out of the zone to its edge on their side (+1 / -1 per point);
        returns (moved points, (n,) bool which were inside)."""
        q = np.array(q, np.float64)
        bad = self.inside(q)
        if bad.any():
            s = np.asarray(side, np.float64)[bad]
            q[bad, 0] = self.edge(q[bad, 1], s) + s * eps
        return q, bad
