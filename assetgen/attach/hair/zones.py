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
