"""The eyeballs: sclera (white, vessels, cornea cut-out, dark inside) and iris (melanin colour, fibres, crypts,
black pupil)."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from .. import chromophore as chrom
from ..base import MaterialTextures
from ..fields import cached, derived
from .common import const, flat_normal, srgb, to_u8
from .geometry import eye_polar, limbus_radius
from .lowfreq import lowfreq_noise

PUPIL_RADIUS_CM = 0.2  # a medium pupil (4 mm diameter) on the ICT iris (radius ~0.76 cm incl. limbus)
SCLERA_SRGB = "#e8e0d8"


def sclera(ctx, name: str) -> MaterialTextures:
    """White of the eye with faint vessels towards the periphery; inside the limbus the cornea is cut out
    (alpha 0, MASK) so the iris behind shows with its black pupil, an opening in the ICT iris mesh through
    which the globes' rear halves show, black (rear_half). (A black disc on the cornea hid the opening
    before; from an angle it slid off the iris's pupil and showed a crescent of iris inside the pupil.)

    Vessels are thin ridges of a noise field (|noise| < 1/6), so most texels have none: their colour
    (white, shaded towards the socket) is layout-only and cached; only the vessel texels are computed."""
    side = "Left" if name.endswith("Left") else "Right"
    lay = _sclera_layout(ctx, name, side)
    rng = ctx.part_rng(name)
    n = lowfreq_noise(ctx, name)
    # vessels: thin ridges of a noise field, denser away from the cornea and towards the eye corners
    t = 1.0 - np.abs(n) * 6.0
    idx = np.flatnonzero((t > 0) & lay["vessel_ok"])  # elsewhere red == 0: the cached vessel-free colour
    veins = np.clip(t.ravel()[idx], 0.0, 1.0) ** 3
    red = (0.15 + 0.35 * rng.random()) * veins * lay["periphery"].ravel()[idx]
    shade = lay["shade"].ravel()[idx]
    base, vessel = _sclera_colours()
    base_color = lay["plain"].copy()
    texels = base_color.reshape(-1, 4)
    for c in range(3):
        col = base[c] + red * (vessel[c] - base[c])
        col *= shade  # slight shading towards the eye socket
        texels[idx, c] = srgb(col)
    shape = base_color.shape[:2]
    return MaterialTextures(base_color, lay["rough"].copy(),
                            lay["spec"].copy(), flat_normal(shape), alpha_mode="MASK")


@lru_cache(maxsize=1)
def _sclera_colours() -> tuple[np.ndarray, np.ndarray]:
    """(3,) float32 linear white of the sclera and of its vessels."""
    return chrom.hex_to_linear(SCLERA_SRGB), chrom.skin_linear_rgb(0.0, 0.1).astype(np.float32)


def _sclera_layout(ctx, name: str, side: str) -> dict:
    """The layout-only parts of a sclera: periphery weight and shading per texel, where vessels can be
    (periphery > 0, not the dark rear half), the vessel-free base colour with alpha (H, W, 4) uint8,
    roughness and specular."""
    def build():
        rho, depth, ang = (np.asarray(a) for a in eye_polar(ctx, name, side))
        limbus = limbus_radius(ctx, side)
        periphery = np.clip((rho - limbus) / 0.6, 0.0, 1.0) * (0.5 + 0.5 * np.abs(np.cos(ang)))
        shade = 1.0 - 0.08 * periphery
        front = depth > 0
        cornea = front & (rho < limbus)
        base, _ = _sclera_colours()
        dark = rear_half(ctx, name, side)
        plain = []
        for c in range(3):
            col = np.broadcast_to(base[c], rho.shape) * shade  # red == 0: base + 0 * (vessel - base)
            col[dark] = 0.0  # as black as the iris's pupil
            plain.append(srgb(col))
        alpha = _cutout_alpha(rho, depth, limbus)
        return {"periphery": periphery, "shade": shade, "vessel_ok": (periphery > 0) & ~dark,
                "plain": cv2.merge(plain + [alpha]), "rough": to_u8(np.where(cornea, 0.05, 0.25)),
                "spec": to_u8(np.where(dark, 0.0, 1.0))}
    return derived(ctx, ("sclera", name), build)


def _cutout_alpha(rho: np.ndarray, depth: np.ndarray, limbus: float) -> np.ndarray:
    """(H, W) uint8 alpha of the sclera: 0 on the cornea (in front, depth > 0, and rho < limbus), 255
    elsewhere. Each edge is a ramp of the signed distance over two texels (the change of rho and depth per
    texel), so that the alpha test of the bilinearly filtered texture cuts a smooth curve where a 0/255
    mask cut texel stairs."""
    def ramp(d):  # d: signed distance (cm) into the opaque side
        gy, gx = np.gradient(d)
        return np.clip(0.5 + d / (2.0 * np.maximum(np.hypot(gx, gy), 1e-6)), 0.0, 1.0)

    return to_u8(np.maximum(ramp(-depth), ramp(rho - limbus)))


IRIS_POLAR = (128, 1024)  # (radius samples, angle samples) of the polar iris image
_WRAP = 4  # angle columns repeated on both sides so bilinear reads wrap around


def iris(ctx, name: str) -> MaterialTextures:
    """Melanin-based iris colour (chromophore.iris_linear_rgb) with radial fibres, a collarette, crypts, a
    dark limbal ring and a black pupil. The pattern is drawn in a small polar image (radius x angle) and
    mapped onto the texture with cached per-texel polar coordinates (one remap per eye)."""
    side = "Left" if name.endswith("Left") else "Right"
    mapx, mapy, rmax = iris_maps(ctx, name, side)
    polar = _iris_polar(ctx, name, side, rmax)
    col = cv2.remap(polar, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    col[rear_half(ctx, name, side)] = 0.0
    shape = mapx.shape
    return MaterialTextures(srgb(col), const(shape, 0.35), _iris_specular(ctx, name, side), flat_normal(shape))


def rear_half(ctx, name: str, side: str) -> np.ndarray:
    """(H, W) bool: the texels of an eye material behind the middle of its depth range along the eye axis.
    The ICT iris is a whole inner globe and the sclera an outer one; their rear halves are seen only through
    the pupil, where they are the dark inside of the eye (painted by distance from the axis alone, the iris
    pattern showed again at the back pole, through the pupil)."""
    def build():
        _, depth, _ = eye_polar(ctx, name, side)
        inside = ctx.layout[name].mask
        if not inside.any():
            return np.zeros(np.shape(depth), bool)
        return np.asarray(depth) < 0.5 * (float(depth[inside].min()) + float(depth[inside].max()))
    return derived(ctx, ("rear_half", name), build)


def _iris_specular(ctx, name: str, side: str) -> np.ndarray:
    """(H, W) uint8 specular of an iris: 0.5, and 0 over the pupil and the rear half, the opening and the
    inside of the eye, which reflect nothing (a sheen there drew a grey ring in the pupil)."""
    def build():
        mapx, mapy, rmax = iris_maps(ctx, name, side)
        rho = mapy / np.float32(IRIS_POLAR[0] - 1) * np.float32(rmax)
        return to_u8(0.5 * np.clip((rho - PUPIL_RADIUS_CM) / 0.01, 0.0, 1.0) * ~rear_half(ctx, name, side))
    return derived(ctx, ("iris_specular", name), build).copy()


def iris_maps(ctx, name: str, side: str):
    """Per iris texel, where to read the polar iris image (cv2.remap's column and row maps, (H, W) float32),
    and the radius rmax (cm) its rows span."""
    def build():
        rho, _, ang = eye_polar(ctx, name, side)
        rmax = 1.05 * limbus_radius(ctx, side)
        nr, na = IRIS_POLAR
        mapx = ((ang + np.pi) / (2 * np.pi) * na + _WRAP - 0.5).astype(np.float32)
        mapy = np.clip(rho / rmax * (nr - 1), 0, nr - 1).astype(np.float32)
        return mapx, mapy, rmax
    return cached(ctx, ("iris_maps", name), build)


def _iris_rows(ctx, name: str, side: str, rmax: float) -> dict:
    """Layout-only rows of the polar iris image: the radius rho (NR, 1), and the normalised radius r
    (0 pupil .. 1 limbus). r is clamped inside the pupil and beyond the limbus, so many rows share a value
    and the pattern (which depends on r only) is drawn once per distinct value: r_unique (M, 1), and
    row_of (NR,) the unique row of each polar row. The collarette per unique row, the angles (1, NA) and
    the limbal ring times the pupil cut-off per polar row (NR, 1) are cached too."""
    def build():
        nr, na = IRIS_POLAR
        limbus = limbus_radius(ctx, side)
        rho = np.linspace(0.0, rmax, nr, dtype=np.float32)[:, None]
        r = np.clip((rho - PUPIL_RADIUS_CM) / max(limbus - PUPIL_RADIUS_CM, 1e-3), 0.0, 1.0)
        r_unique, row_of = np.unique(r[:, 0], return_inverse=True)
        r_unique = r_unique[:, None]
        limbal = 1.0 - 0.75 * np.clip((r - 0.82) / 0.18, 0.0, 1.0) ** 1.5
        pupil = np.clip((rho - PUPIL_RADIUS_CM) / 0.01, 0.0, 1.0)
        return {"ang": np.linspace(-np.pi, np.pi, na, endpoint=False, dtype=np.float32)[None, :],
                "r_unique": r_unique, "row_of": row_of.ravel(),
                "collarette": np.exp(-0.5 * ((r_unique - 0.35) / 0.08) ** 2),
                "row_gain": (limbal * pupil)[:, :, None]}
    return derived(ctx, ("iris_rows", name, rmax), build)


# A crypt's weight exp(-q / 2) only enters as (1 - crypt / 2) in float32, which is exactly 1 while
# crypt <= 2**-24 (q > ~33): texels with q > CRYPT_Q_CUT (weight < exp(-20) ~ 2e-9) are left at 0.
CRYPT_Q_CUT = 40.0


def _crypt_columns(c_a: float, size: float, na: int) -> list[slice]:
    """Column slices of the polar image (angle -pi + 2 pi j / na) that may hold a crypt centred at angle
    c_a: da = wrapped angle * (0.3 + r) >= 0.3 |wrapped|, so beyond |wrapped| > sqrt(CRYPT_Q_CUT) * size /
    0.3 the weight is negligible. Generous: a superset is only slower, never different."""
    half = 1.1 * np.sqrt(CRYPT_Q_CUT) * size / 0.3 + 4 * np.pi / na
    if half >= np.pi * 0.95:
        return [slice(0, na)]
    step = 2 * np.pi / na
    j0 = int(np.floor((c_a - half + np.pi) / step)) - 1
    j1 = int(np.ceil((c_a + half + np.pi) / step)) + 2
    if j0 < 0:
        return [slice(0, j1), slice(na + j0, na)]
    if j1 > na:
        return [slice(0, j1 - na), slice(j0, na)]
    return [slice(j0, j1)]


def _iris_polar(ctx, name: str, side: str, rmax: float) -> np.ndarray:
    """(NR, NA + 2 * _WRAP, 3) float32 linear colour over (rho in [0, rmax], angle in [-pi, pi))."""
    nr, na = IRIS_POLAR
    rng = ctx.part_rng(name)
    rows = _iris_rows(ctx, name, side, rmax)
    r, ang = rows["r_unique"], rows["ang"]  # the pattern is computed on the distinct radii only
    m = len(r)
    eu, ph = chrom.EYE_COLOR_MELANIN[ctx.params.eye_color]
    # radial fibres: random angular harmonics whose phase drifts slowly with the radius
    fib = np.zeros((m, na), np.float32)
    term = np.empty((m, na), np.float32)
    for k in range(6, 90, 3):
        drift = rng.standard_normal() * 1.5
        amp = np.float32(rng.random() / np.sqrt(k))
        np.add(k * ang + rng.random() * 2 * np.pi, drift * r, out=term)
        np.cos(term, out=term)
        term *= amp
        fib += term
    fib /= np.abs(fib).max() + 1e-6
    # crypts: a few dark lacunae near the collarette
    crypt = np.zeros((m, na), np.float32)
    for _ in range(int(rng.integers(4, 12))):
        c_r, c_a, size = rng.uniform(0.25, 0.7), rng.uniform(-np.pi, np.pi), rng.uniform(0.04, 0.09)
        # evaluated only near the crypt (r is sorted, so the near rows are one range)
        dr2 = ((r - c_r) / size) ** 2
        near_rows = np.flatnonzero(dr2[:, 0] <= CRYPT_Q_CUT)
        if not len(near_rows):
            continue
        rows_near = slice(near_rows[0], near_rows[-1] + 1)
        for cols in _crypt_columns(c_a, size, na):
            da = np.angle(np.exp(1j * (ang[:, cols] - c_a))) * (0.3 + r[rows_near])
            blob = np.exp(-0.5 * (dr2[rows_near] + (da / size) ** 2))
            np.maximum(crypt[rows_near, cols], blob, out=crypt[rows_near, cols])
    collarette = rows["collarette"]
    eu_map = eu * (1.0 + 0.35 * fib + 0.6 * collarette) * (1.0 - 0.5 * crypt)
    ph_map = ph * (1.0 + 0.3 * fib + 1.2 * collarette * (ph > eu))
    col = _iris_lookup(eu_map, ph_map)
    col *= (1.0 - 0.5 * crypt)[..., None]  # crypts are deep: less stroma to scatter back
    out = np.empty((nr, na + 2 * _WRAP, 3), np.float32)
    np.multiply(col[rows["row_of"]], rows["row_gain"], out=out[:, _WRAP:-_WRAP])  # limbal ring, pupil
    out[:, :_WRAP] = out[:, na:na + _WRAP]
    out[:, -_WRAP:] = out[:, _WRAP:2 * _WRAP]
    return out


def _iris_lookup(eu: np.ndarray, ph: np.ndarray) -> np.ndarray:
    """Iris colour for per-texel pigment maps via a small cached 2D table in log-concentration (bilinear,
    in float64, one channel at a time from flat tables). Negative pigment counts as none."""
    lut, lo, hi = _iris_table()
    n = lut.shape[0] - 1

    def coord(c):  # -> (cell index, weight of the next cell, weight of this cell)
        t = np.log(np.maximum(c, 1e-4))  # = log(max(clip(c, 0), 1e-4))
        t = np.subtract(t, lo)
        t /= hi - lo
        np.clip(t, 0, 1, out=t)
        t *= n
        i = t.astype(np.intp)  # (intp: what take() indexes with)
        np.minimum(i, n - 1, out=i)
        t -= i
        return i, t, 1 - t

    x0, fx, gx = coord(eu)
    y0, fy, gy = coord(ph)
    i00 = x0 * (n + 1)  # lut[x0, y0] in a flat (n + 1) x (n + 1) table
    i00 += y0
    i01, i10, i11 = i00 + 1, i00 + (n + 1), i00 + (n + 2)
    out = np.empty(np.shape(eu) + (3,), np.float32)
    a, b, c = np.empty(fx.shape), np.empty(fx.shape), np.empty(fx.shape)
    for ch, table in enumerate(_iris_channel_tables()):
        # c0 = lut[x0, y0] gy + lut[x0, y0 + 1] fy; c1 likewise at x0 + 1; colour = c0 gx + c1 fx
        c0 = np.multiply(table.take(i00, mode="clip", out=a), gy, out=a)
        c0 += np.multiply(table.take(i01, mode="clip", out=b), fy, out=b)
        c0 *= gx
        c1 = np.multiply(table.take(i10, mode="clip", out=b), gy, out=b)
        c1 += np.multiply(table.take(i11, mode="clip", out=c), fy, out=c)
        c1 *= fx
        np.add(c0, c1, out=out[..., ch])
    return out


@lru_cache(maxsize=1)
def _iris_channel_tables() -> tuple[np.ndarray, ...]:
    """_iris_table's LUT as three flat float64 channel tables (float32 -> float64 is exact)."""
    lut = _iris_table()[0]
    return tuple(np.ascontiguousarray(lut[..., c], np.float64).ravel() for c in range(3))


_IRIS_TABLE = None


def _iris_table():
    """(lut, lo, hi): iris linear colour over a 48 x 48 grid of (eumelanin, pheomelanin) spaced evenly in
    log concentration from lo = log(1e-4) to hi = log(2)."""
    global _IRIS_TABLE
    if _IRIS_TABLE is None:
        lo, hi = np.log(1e-4), np.log(2.0)
        t = np.exp(np.linspace(lo, hi, 48))
        _IRIS_TABLE = (chrom.iris_linear_rgb(t[:, None], t[None, :]).astype(np.float32), lo, hi)
    return _IRIS_TABLE
