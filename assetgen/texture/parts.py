"""Textures of the non-skin materials: eyes (sclera, iris, lacrimal fluid, occlusion, blend), lashes,
teeth, gums and tongue.

Layout-only data (eye polar maps, iris remap tables, lash card coordinates, noise positions) are computed
up front by precompute() into LayoutFields.extra, which face_fields caches in process and on disk; what is
derived from them (masks, weights, the seed-independent parts of textures) is kept in process on the fields
object (_derived). The seeded work left per asset is mostly drawing noise lattices (see _asset_noise). Colours
come from the chromophore model where a pigment model applies (iris melanin, mucosa blood, lash hair);
enamel and the sclera use measured-looking constant albedos, which is fine for these small parts.
"""

from __future__ import annotations

import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING

import cv2
import numpy as np
from scipy import ndimage

from . import chromophore as chrom
from .base import MaterialTextures
from ..uv import MaterialRaster, fill_background, position_map

if TYPE_CHECKING:
    from .procedural import AssetContext

FLAT = np.array([128, 128, 255], np.uint8)
PUPIL_RADIUS_CM = 0.2  # a medium pupil (4 mm diameter) on the ICT iris (radius ~0.76 cm incl. limbus)
CORNEA_PUPIL_CM = 0.15  # opaque black disc on the cornea that hides the hole in the ICT iris mesh
ENAMEL_SRGB = "#e6dcc4"
SCLERA_SRGB = "#e8e0d8"


def material(ctx: "AssetContext", name: str) -> MaterialTextures:
    if name.startswith("M_Sclera"):
        return sclera(ctx, name)
    if name.startswith("M_Iris"):
        return iris(ctx, name)
    return {
        "M_GumsTongue": gums_tongue,
        "M_Teeth": teeth,
        "M_LacrimalFluid": lacrimal_fluid,
        "M_EyeOcclusion": eye_occlusion,
        "M_EyeBlend": eye_blend,
        "M_EyeLashes": eyelashes,
    }.get(name, generic)(ctx, name)


# ---- cached layout data -------------------------------------------------------------------------------
# Layout-only maps are computed up front by precompute() (so an on-disk cache can hold all of them) and
# read through _cached(); `fn` only runs for a key precompute did not produce.
NOISE_STEP = 4  # low-frequency noise of the small materials is evaluated on every 4th texel, then upsampled


def _cached(ctx, key, fn):
    extra = ctx.fields.extra
    if key not in extra:
        extra[key] = fn()
    return extra[key]


def _derived(ctx, key, fn):
    """Layout-only values derived from the cached maps (masks, weights, constant texture parts), kept in
    process on the fields object itself (not in `extra`, which is what the disk cache stores). They depend
    on the layout and neutral shape only, so the order materials and assets are built in does not matter;
    callers must not modify what this returns."""
    store = vars(ctx.fields).get("_parts_derived")
    if store is None:
        store = vars(ctx.fields).setdefault("_parts_derived", {})
    if key not in store:
        store[key] = fn()
    return store[key]


# Per-asset noises of the small materials (see _asset_noise).
_ASSET_NOISES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_DRAW_POOL: ThreadPoolExecutor | None = None
_DRAW_POOL_LOCK = threading.Lock()


class _LayoutCtx:
    """The part of AssetContext that layout-only builders use."""

    def __init__(self, model, layout, fields):
        self.model, self.layout, self.fields = model, layout, fields


def _noise_materials(layout) -> list[str]:
    return [n for n in layout.materials if n.startswith("M_Sclera") or n in ("M_GumsTongue", "M_Teeth")]


def expected_keys(layout) -> set[tuple[str, str]]:
    """The `extra` keys precompute() produces for a layout (a stored cache must hold exactly these)."""
    from .face_fields import SKIN_MATERIALS

    keys = {("density", n) for n in SKIN_MATERIALS if n in layout.materials}
    keys |= {("noise_pos", n) for n in _noise_materials(layout)}
    for n in layout.materials:
        side = "Left" if n.endswith("Left") else "Right"
        if n.startswith("M_Sclera"):
            keys |= {("polar", n), ("limbus", side)}
        elif n.startswith("M_Iris"):
            keys |= {("iris_maps", n), ("limbus", side)}
        elif n == "M_EyeOcclusion":
            keys.add(("occl_dist", n))
        elif n == "M_EyeBlend":
            keys.add(("blend_alpha", n))
        elif n == "M_EyeLashes":
            keys.add(("lash", n))
    return keys


def precompute(model, layout, fields) -> None:
    """Fill fields.extra with every layout-only map the materials read (see expected_keys); transient
    full-resolution positions are dropped afterwards."""
    from .face_fields import SKIN_MATERIALS
    from .procedural import texels_per_cm

    ctx = _LayoutCtx(model, layout, fields)
    for n in layout.materials:
        if n in SKIN_MATERIALS:
            texels_per_cm(ctx, n, fields.skin[n])
        side = "Left" if n.endswith("Left") else "Right"
        if n.startswith("M_Sclera"):
            _eye_polar(ctx, n, side)
            _limbus_radius(ctx, side)
        elif n.startswith("M_Iris"):
            _iris_maps(ctx, n, side)
        elif n == "M_EyeOcclusion":
            _occlusion_distance(ctx, n)
        elif n == "M_EyeBlend":
            _blend_alpha(ctx, n)
        elif n == "M_EyeLashes":
            _lash_coords(ctx, n)
    for n in _noise_materials(layout):
        _noise_positions(ctx, n)
    keep = expected_keys(layout)
    for k in [k for k in fields.extra if k not in keep]:
        del fields.extra[k]


def _positions(ctx, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Full-res neutral positions (H, W, 3) float32 with the background filled, and the (H, W) mask
    (transient: only precompute() reads them)."""
    def build():
        r = ctx.layout[name]
        mask = r.mask
        pos = position_map(r, ctx.model, ctx.model.neutral)
        return (fill_background(pos, mask) if mask.any() else pos), mask
    return _cached(ctx, ("pos", name), build)


def _noise_positions(ctx, name: str) -> np.ndarray:
    """Neutral positions at every NOISE_STEP-th texel (h, w, 3) float32, background filled: where the
    low-frequency noise of a small material is evaluated. Rasterized at that step directly (the
    full-resolution positions are not needed)."""
    def build():
        r = ctx.layout[name]
        s = NOISE_STEP
        low = MaterialRaster(r.material, r.tile_u0, r.tiles, np.ascontiguousarray(np.asarray(r.triangle)[::s, ::s]),
                             np.ascontiguousarray(np.asarray(r.bary12)[::s, ::s]))
        mask = low.mask
        pos = position_map(low, ctx.model, ctx.model.neutral)
        return fill_background(pos, mask) if mask.any() else pos
    return _cached(ctx, ("noise_pos", name), build)


def _eye_frame(ctx, side: str) -> tuple[np.ndarray, np.ndarray]:
    """(centre, axis) of one eye's iris disc: mean position and the disc normal (pointing forwards, +z)."""
    def build():
        pos, mask = _positions(ctx, f"M_Iris{side}")
        h, w = mask.shape
        rows, cols = np.nonzero(mask)
        ru = (cols + 0.5) / w - 0.5
        rv = (rows + 0.5) / h - 0.5
        sel = ru * ru + rv * rv < 0.45**2  # the disc, not the small side islands
        pts = pos[rows[sel], cols[sel]].astype(np.float64)
        c = pts.mean(0)
        d = pts - c
        _, vec = np.linalg.eigh(d.T @ d)  # the disc normal: the direction of least variance
        axis = vec[:, 0] if vec[2, 0] > 0 else -vec[:, 0]
        return c.astype(np.float32), axis.astype(np.float32)
    return _cached(ctx, ("eye", side), build)


def _eye_polar(ctx, name: str, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per texel: distance from the eye axis (cm), signed depth along it (cm), angle around it."""
    def build():
        pos, _ = _positions(ctx, name)
        c, axis = _eye_frame(ctx, side)
        e1 = np.cross(axis, [0.0, 0.0, 1.0] if abs(axis[2]) < 0.9 else [1.0, 0.0, 0.0])
        e1 /= np.sqrt(e1 @ e1)
        e2 = np.cross(axis, e1)
        dx, dy, dz = (pos[..., i] - c[i] for i in range(3))
        a = [np.float32(v) for v in axis]
        depth = dx * a[0] + dy * a[1] + dz * a[2]
        rx, ry, rz = dx - depth * a[0], dy - depth * a[1], dz - depth * a[2]
        rho = np.sqrt(rx * rx + ry * ry + rz * rz)
        u = rx * np.float32(e1[0]) + ry * np.float32(e1[1]) + rz * np.float32(e1[2])
        v = rx * np.float32(e2[0]) + ry * np.float32(e2[1]) + rz * np.float32(e2[2])
        return rho.astype(np.float32), depth.astype(np.float32), np.arctan2(v, u).astype(np.float32)
    return _cached(ctx, ("polar", name), build)


# ---- helpers --------------------------------------------------------------------------------------------
def _const(shape, value) -> np.ndarray:
    return np.full(shape, int(np.clip(round(value * 255), 0, 255)), np.uint8)


@lru_cache(maxsize=16)
def _flat_normal_template(shape: tuple) -> np.ndarray:
    a = np.broadcast_to(FLAT, shape + (3,)).copy()
    a.flags.writeable = False
    return a


def _flat_normal(shape) -> np.ndarray:
    return _flat_normal_template(tuple(int(s) for s in shape)).copy()


SRGB_BITS = 12  # chrom.encode_srgb8's default quantisation


def _srgb(linear: np.ndarray) -> np.ndarray:
    """chrom.encode_srgb8 (the same bytes), with the table read by np.take, which is about twice as fast
    as fancy indexing."""
    scaled = np.clip(np.asarray(linear, np.float32), 0.0, 1.0)
    scaled *= np.float32(2**SRGB_BITS - 1)
    scaled += np.float32(0.5)  # truncation after +0.5 = rounding
    return np.take(chrom.srgb_encode_table(SRGB_BITS), scaled.astype(np.uint16))


def _neutral_box(ctx) -> tuple[np.ndarray, np.ndarray]:
    return _derived(ctx, ("neutral_box",), lambda: (ctx.model.neutral.min(0), ctx.model.neutral.max(0)))


# The low-frequency noise of each noise material (see _noise_materials): cell size (cm), generator salt.
LOWFREQ_NOISE = {"M_Sclera": (0.6, "vessels"), "M_GumsTongue": (0.8, "mucosa"), "M_Teeth": (0.5, "enamel")}


def _lowfreq_noise(ctx, name: str) -> np.ndarray:
    """(H, W) float32 3D value noise on the material's neutral positions (continuous over seams)."""
    noise, plan = _asset_noise(ctx, name)
    n = noise.evaluate(plan)  # low-frequency: evaluated at 1/4 and upsampled
    h, w = ctx.layout[name].shape
    return cv2.resize(n, (w, h), interpolation=cv2.INTER_LINEAR)


def _asset_noise(ctx, name: str):
    """The asset's noise for a noise material, and the plan (cached lattice cells and weights) of the
    material's noise positions.

    The noise spans the whole head but a material reads a small part of it, so its lattices are drawn
    lazily (ValueNoise3D lazy=True: the same values, drawn only as far as needed). Materials whose
    generators start in the same state share one noise per asset. The first noise material of an asset
    starts drawing the other materials' lattices in a background thread (numpy's normal sampler releases
    the GIL; it is most of these materials' cost): each noise draws its stream in order under its own
    lock, so the values do not depend on which thread draws them, or when."""
    noises = _ASSET_NOISES.get(ctx)
    if noises is None:
        noises = _ASSET_NOISES.setdefault(ctx, {})
        others = [_noise_and_plan(ctx, noises, n) for n in _noise_materials(ctx.layout) if n != name]
        if others:
            _draw_pool().submit(_prepare_all, others)
    return _noise_and_plan(ctx, noises, name)


def _noise_and_plan(ctx, noises: dict, name: str):
    from .noise import ValueNoise3D
    cell_cm, salt = LOWFREQ_NOISE["M_Sclera" if name.startswith("M_Sclera") else name]
    rng = ctx.part_rng(name + salt)
    key = (repr(rng.bit_generator.state), cell_cm)
    noise = noises.get(key)
    if noise is None:
        lo, hi = _neutral_box(ctx)
        noise = noises[key] = ValueNoise3D(rng, lo, hi, cell_cm, octaves=2, lazy=True)
    plan = _derived(ctx, ("noise_plan", name, cell_cm), lambda: noise.plan(_noise_positions(ctx, name)))
    return noise, plan


def _prepare_all(jobs) -> None:
    for noise, plan in jobs:
        noise.prepare(plan)


def _draw_pool() -> ThreadPoolExecutor:
    global _DRAW_POOL
    with _DRAW_POOL_LOCK:
        if _DRAW_POOL is None:
            _DRAW_POOL = ThreadPoolExecutor(1, thread_name_prefix="assetgen-noise")
        return _DRAW_POOL


def _after_fork_in_child() -> None:
    """A forked child has no pool thread, and may have copied a noise in the middle of a draw (its lock
    held): start afresh (noises are rebuilt from the asset's seeds, with the same values)."""
    global _DRAW_POOL, _DRAW_POOL_LOCK
    _DRAW_POOL, _DRAW_POOL_LOCK = None, threading.Lock()
    _ASSET_NOISES.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# ---- materials ------------------------------------------------------------------------------------------
def generic(ctx, name: str) -> MaterialTextures:
    shape = ctx.layout[name].shape
    return MaterialTextures(_const(shape + (3,), 0.5), _const(shape, 0.5), _const(shape, 0.5), _flat_normal(shape))


def sclera(ctx, name: str) -> MaterialTextures:
    """White of the eye with faint vessels towards the periphery; inside the limbus the cornea is cut out
    (alpha 0, MASK) so the iris behind shows; a small opaque black disc at the centre is the pupil (it also
    hides the hole in the ICT iris mesh).

    Vessels are thin ridges of a noise field (|noise| < 1/6), so most texels have none: their colour
    (white, shaded towards the socket) is layout-only and cached; only the vessel texels are computed."""
    side = "Left" if name.endswith("Left") else "Right"
    lay = _sclera_layout(ctx, name, side)
    rng = ctx.part_rng(name)
    n = _lowfreq_noise(ctx, name)
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
        texels[idx, c] = _srgb(col)
    shape = base_color.shape[:2]
    return MaterialTextures(base_color, lay["rough"].copy(),
                            _const(shape, 1.0), _flat_normal(shape), alpha_mode="MASK")


@lru_cache(maxsize=1)
def _sclera_colours() -> tuple[np.ndarray, np.ndarray]:
    """(3,) float32 linear white of the sclera and of its vessels."""
    return chrom.hex_to_linear(SCLERA_SRGB), chrom.skin_linear_rgb(0.0, 0.1).astype(np.float32)


def _sclera_layout(ctx, name: str, side: str) -> dict:
    """The layout-only parts of a sclera: periphery weight and shading per texel, where vessels can be
    (periphery > 0, not the pupil), the vessel-free base colour with alpha (H, W, 4) uint8, roughness."""
    def build():
        rho, depth, ang = (np.asarray(a) for a in _eye_polar(ctx, name, side))
        limbus = _limbus_radius(ctx, side)
        periphery = np.clip((rho - limbus) / 0.6, 0.0, 1.0) * (0.5 + 0.5 * np.abs(np.cos(ang)))
        shade = 1.0 - 0.08 * periphery
        front = depth > 0
        pupil = front & (rho < CORNEA_PUPIL_CM)
        cornea = front & (rho < limbus) & ~pupil
        base, _ = _sclera_colours()
        plain = []
        for c in range(3):
            col = np.broadcast_to(base[c], rho.shape) * shade  # red == 0: base + 0 * (vessel - base)
            col[pupil] = 0.01
            plain.append(_srgb(col))
        alpha = np.where(cornea, 0, 255).astype(np.uint8)
        return {"periphery": periphery, "shade": shade, "vessel_ok": (periphery > 0) & ~pupil,
                "plain": cv2.merge(plain + [alpha]), "rough": _to_u8(np.where(cornea | pupil, 0.05, 0.25))}
    return _derived(ctx, ("sclera", name), build)


def _limbus_radius(ctx, side: str) -> float:
    def build():
        rho, depth, _ = _eye_polar(ctx, f"M_Iris{side}", side)
        mask = ctx.layout[f"M_Iris{side}"].mask
        h, w = mask.shape
        rows, cols = np.mgrid[0:h, 0:w]
        disc = mask & (np.hypot((cols + 0.5) / w - 0.5, (rows + 0.5) / h - 0.5) < 0.5)
        return float(np.percentile(rho[disc], 99.5))
    return _cached(ctx, ("limbus", side), build)


IRIS_POLAR = (128, 1024)  # (radius samples, angle samples) of the polar iris image
_WRAP = 4  # angle columns repeated on both sides so bilinear reads wrap around


def iris(ctx, name: str) -> MaterialTextures:
    """Melanin-based iris colour (chromophore.iris_linear_rgb) with radial fibres, a collarette, crypts, a
    dark limbal ring and a black pupil. The pattern is drawn in a small polar image (radius x angle) and
    mapped onto the texture with cached per-texel polar coordinates (one remap per eye)."""
    side = "Left" if name.endswith("Left") else "Right"
    mapx, mapy, rmax = _iris_maps(ctx, name, side)
    polar = _iris_polar(ctx, name, side, rmax)
    col = cv2.remap(polar, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    shape = mapx.shape
    return MaterialTextures(_srgb(col), _const(shape, 0.35), _const(shape, 0.5), _flat_normal(shape))


def _iris_maps(ctx, name: str, side: str):
    def build():
        rho, _, ang = _eye_polar(ctx, name, side)
        rmax = 1.05 * _limbus_radius(ctx, side)
        nr, na = IRIS_POLAR
        mapx = ((ang + np.pi) / (2 * np.pi) * na + _WRAP - 0.5).astype(np.float32)
        mapy = np.clip(rho / rmax * (nr - 1), 0, nr - 1).astype(np.float32)
        return mapx, mapy, rmax
    return _cached(ctx, ("iris_maps", name), build)


def _iris_rows(ctx, name: str, side: str, rmax: float) -> dict:
    """Layout-only rows of the polar iris image: the radius rho (NR, 1), and the normalised radius r
    (0 pupil .. 1 limbus). r is clamped inside the pupil and beyond the limbus, so many rows share a value
    and the pattern (which depends on r only) is drawn once per distinct value: r_unique (M, 1), and
    row_of (NR,) the unique row of each polar row. The collarette per unique row, the angles (1, NA) and
    the limbal ring times the pupil cut-off per polar row (NR, 1) are cached too."""
    def build():
        nr, na = IRIS_POLAR
        limbus = _limbus_radius(ctx, side)
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
    return _derived(ctx, ("iris_rows", name, rmax), build)


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
    global _IRIS_TABLE
    if _IRIS_TABLE is None:
        lo, hi = np.log(1e-4), np.log(2.0)
        t = np.exp(np.linspace(lo, hi, 48))
        _IRIS_TABLE = (chrom.iris_linear_rgb(t[:, None], t[None, :]).astype(np.float32), lo, hi)
    return _IRIS_TABLE


def gums_tongue(ctx, name: str) -> MaterialTextures:
    """Oral mucosa from the skin chromophore model: thin, lightly pigmented (gingival pigmentation
    follows skin tone), blood-rich epithelium; wet, so glossy."""
    n = _lowfreq_noise(ctx, name)
    m0 = ctx.params.melanin_fraction
    mel = np.full(n.shape, 0.35 * m0, np.float32) * np.exp(0.3 * n)
    hb = 0.07 * np.exp(0.15 * n)
    col = chrom.lut_lookup(mel, hb)
    return MaterialTextures(_srgb(col), _const(n.shape, 0.3), _const(n.shape, 0.9), _flat_normal(n.shape))


def teeth(ctx, name: str) -> MaterialTextures:
    """Enamel over dentin: off-white, yellower with age, glossy (enamel n ~ 1.63 reflects ~6 %)."""
    n = _lowfreq_noise(ctx, name)
    base = chrom.hex_to_linear(ENAMEL_SRGB)
    yellow = np.clip((ctx.params.age - 20.0) / 80.0, 0.0, 0.6)
    tint = np.array([1.0, 0.97 - 0.08 * yellow, 0.92 - 0.25 * yellow], np.float32)
    shade = 1.0 + 0.04 * n
    albedo = base * tint
    col = cv2.merge([_srgb(albedo[c] * shade) for c in range(3)])  # one channel at a time: no (H, W, 3) temporaries
    return MaterialTextures(col, _const(n.shape, 0.22), _const(n.shape, 1.0), _flat_normal(n.shape))


def lacrimal_fluid(ctx, name: str) -> MaterialTextures:
    """The tear meniscus: nearly transparent water, very glossy."""
    def build():
        shape = ctx.layout[name].shape
        return np.concatenate([_const(shape + (3,), 0.9), _const(shape + (1,), 0.12)], -1)
    base = _derived(ctx, ("lacrimal", name), build).copy()
    shape = base.shape[:2]
    return MaterialTextures(base, _const(shape, 0.04), _const(shape, 0.5), _flat_normal(shape), alpha_mode="BLEND")


def _occlusion_distance(ctx, name: str) -> np.ndarray:
    def build():
        d = ndimage.distance_transform_edt(ctx.layout[name].mask).astype(np.float32)
        d /= max(float(d.max()), 1.0)
        return d
    return _cached(ctx, ("occl_dist", name), build)


def eye_occlusion(ctx, name: str) -> MaterialTextures:
    """A soft contact shadow where the lids meet the eyeball: dark, alpha strongest at the island border
    (the lid margin) and along the top (upper lid), fading towards the middle."""
    def build():
        mask = ctx.layout[name].mask
        h, w = mask.shape
        d = _occlusion_distance(ctx, name)
        rows = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
        alpha = (1.0 - np.clip(d / 0.45, 0, 1)) ** 2 * (0.55 + 0.35 * (1.0 - rows))
        alpha = np.where(mask, alpha, alpha.max() if mask.any() else 0.0)
        col = np.zeros((h, w, 3), np.uint8) + np.array([20, 12, 10], np.uint8)
        return np.concatenate([col, _to_u8(alpha)[..., None]], -1)
    base = _derived(ctx, ("occlusion", name), build).copy()  # layout-only
    h, w = base.shape[:2]
    return MaterialTextures(base, _const((h, w), 1.0), _const((h, w), 0.0), _flat_normal((h, w)), alpha_mode="BLEND")


def _blend_alpha(ctx, name: str) -> np.ndarray:
    """(H, W) float32 alpha of the eye blend: growing with the distance from the eye centre."""
    def build():
        pos, mask = _positions(ctx, name)
        side = "Left" if float(np.mean(pos[mask][:, 0])) > 0 else "Right"
        c, _ = _eye_frame(ctx, side)
        dx, dy, dz = (pos[..., i] - c[i] for i in range(3))
        d = np.sqrt(dx * dx + dy * dy + dz * dz)
        lo, hi = (np.percentile(d[mask], 5), np.percentile(d[mask], 95)) if mask.any() else (0.0, 1.0)
        t = np.clip((d - np.float32(lo)) / np.float32(max(hi - lo, 1e-3)), 0.0, 1.0)
        return (t * np.sqrt(t) * np.float32(0.8)).astype(np.float32)
    return _cached(ctx, ("blend_alpha", name), build)


def eye_blend(ctx, name: str) -> MaterialTextures:
    """Blends the lid skin into the eyeball: skin colour (same chromophore model, a little redder, as at
    the lid margin), alpha fading from the lid side (far from the eye centre) towards the eye."""
    mask = ctx.layout[name].mask
    alpha = _derived(ctx, ("blend_alpha_u8", name), lambda: _to_u8(_blend_alpha(ctx, name)))
    skin = chrom.lut_lookup(np.float32(ctx.params.melanin_fraction), np.float32(ctx.params.hemoglobin * 2.0))
    col = _srgb(np.asarray(skin, np.float32)).reshape(3)
    base = np.empty(mask.shape + (4,), np.uint8)
    base[..., :3] = col
    base[..., 3] = alpha
    return MaterialTextures(base, _const(mask.shape, 0.4), _const(mask.shape, 0.7), _flat_normal(mask.shape),
                            alpha_mode="BLEND")


def _lash_coords(ctx, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per texel of the lash cards: position along the lid (0..1 across the card) and along the lash
    (0 at the root row, 1 at the tip row); the cards are rows of islands with roots at their top edge."""
    def build():
        mask = ctx.layout[name].mask
        lab, n = ndimage.label(mask)
        h, w = mask.shape
        u = np.zeros((h, w), np.float32)
        t = np.zeros((h, w), np.float32)
        for i, sl in enumerate(ndimage.find_objects(lab)):
            if sl is None:
                continue
            rs, cs = sl
            rr = (np.arange(rs.start, rs.stop, dtype=np.float32) - rs.start) / max(rs.stop - rs.start - 1, 1)
            cc = (np.arange(cs.start, cs.stop, dtype=np.float32) - cs.start) / max(cs.stop - cs.start - 1, 1)
            sub = lab[sl] == i + 1
            t[sl] = np.where(sub, rr[:, None], t[sl])
            u[sl] = np.where(sub, cc[None, :], u[sl])
        return u, t
    return _cached(ctx, ("lash", name), build)


def eyelashes(ctx, name: str) -> MaterialTextures:
    """Lash strands on the lash cards (alpha MASK, double sided), in a darkened hair colour."""
    r = ctx.layout[name]
    mask = r.mask
    h, w = mask.shape
    u, t = _lash_coords(ctx, name)
    rng = ctx.part_rng(name)
    # strands: narrow bumps along the card, each with its own length and curl
    cols = np.arange(w, dtype=np.float32)
    n_strands = max(8, w // 3)
    centres = rng.random(n_strands) * w
    lengths = rng.uniform(0.55, 1.0, n_strands)
    width = max(0.6, w / 500.0)
    # each column takes the length of its strongest strand (the first one, on ties) where any reaches it
    g = np.exp(-0.5 * ((cols[None, :] - centres[:, None]) / width) ** 2)  # (strands, w)
    best = np.argmax(g, axis=0)
    strand = g[best, np.arange(w)]
    length = np.where(strand > 0, lengths[best], 0.0).astype(np.float32)
    cover = strand[None, :] * (t < length[None, :]) * (1.0 - 0.5 * t)
    alpha = np.where(mask, np.clip(cover * 1.5, 0, 1), 0.0)
    # lashes keep pigment longer than scalp hair: darken the hair colour
    col = np.broadcast_to(_srgb((ctx.hair_rgb * 0.5)[None, None]), (h, w, 3))
    base = np.concatenate([col, _to_u8(alpha)[..., None]], -1)
    return MaterialTextures(base, _const((h, w), 0.5), _const((h, w), 0.5), _flat_normal((h, w)),
                            alpha_mode="MASK", double_sided=True)


def _to_u8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(a) * 255.0 + 0.5, 0, 255).astype(np.uint8)
