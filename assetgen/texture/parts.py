"""Textures of the non-skin materials: eyes (sclera, iris, lacrimal fluid, occlusion, blend), lashes,
teeth, gums and tongue.

Layout-only data (eye polar maps, iris remap tables, lash card coordinates, noise positions) are computed
up front by precompute() into LayoutFields.extra, which face_fields caches in process and on disk. Colours
come from the chromophore model where a pigment model applies (iris melanin, mucosa blood, lash hair);
enamel and the sclera use measured-looking constant albedos, which is fine for these small parts.
"""

from __future__ import annotations

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


def _flat_normal(shape) -> np.ndarray:
    return np.broadcast_to(FLAT, tuple(shape) + (3,)).copy()


def _srgb(linear: np.ndarray) -> np.ndarray:
    return chrom.encode_srgb8(np.ascontiguousarray(linear, np.float32))


def _lowfreq_noise(ctx, name: str, cell_cm: float, salt: str) -> np.ndarray:
    """(H, W) float32 3D value noise on the material's neutral positions (continuous over seams)."""
    from .noise import ValueNoise3D
    small = _noise_positions(ctx, name)  # low-frequency: evaluated at 1/4 and upsampled
    rng = ctx.part_rng(name + salt)
    lo, hi = ctx.model.neutral.min(0), ctx.model.neutral.max(0)
    n = ValueNoise3D(rng, lo, hi, cell_cm, octaves=2)(small)
    h, w = ctx.layout[name].shape
    return cv2.resize(n, (w, h), interpolation=cv2.INTER_LINEAR)


# ---- materials ------------------------------------------------------------------------------------------
def generic(ctx, name: str) -> MaterialTextures:
    shape = ctx.layout[name].shape
    return MaterialTextures(_const(shape + (3,), 0.5), _const(shape, 0.5), _const(shape, 0.5), _flat_normal(shape))


def sclera(ctx, name: str) -> MaterialTextures:
    """White of the eye with faint vessels towards the periphery; inside the limbus the cornea is cut out
    (alpha 0, MASK) so the iris behind shows; a small opaque black disc at the centre is the pupil (it also
    hides the hole in the ICT iris mesh)."""
    side = "Left" if name.endswith("Left") else "Right"
    rho, depth, ang = _eye_polar(ctx, name, side)
    limbus = _limbus_radius(ctx, side)
    rng = ctx.part_rng(name)
    base = chrom.hex_to_linear(SCLERA_SRGB)
    n = _lowfreq_noise(ctx, name, 0.6, "vessels")
    # vessels: thin ridges of a noise field, denser away from the cornea and towards the eye corners
    veins = np.clip(1.0 - np.abs(n) * 6.0, 0.0, 1.0) ** 3
    periphery = np.clip((rho - limbus) / 0.6, 0.0, 1.0) * (0.5 + 0.5 * np.abs(np.cos(ang)))
    red = (0.15 + 0.35 * rng.random()) * veins * periphery
    vessel = chrom.skin_linear_rgb(0.0, 0.1).astype(np.float32)
    col = base + red[..., None] * (vessel - base)
    col *= (1.0 - 0.08 * periphery)[..., None]  # slight shading towards the eye socket
    front = depth > 0
    pupil = front & (rho < CORNEA_PUPIL_CM)
    cornea = front & (rho < limbus) & ~pupil
    col[pupil] = 0.01
    alpha = np.where(cornea, 0, 255).astype(np.uint8)
    base_color = np.concatenate([_srgb(col), alpha[..., None]], -1)
    rough = np.where(cornea | pupil, 0.05, 0.25)
    return MaterialTextures(base_color, _to_u8(rough),
                            _const(rho.shape, 1.0), _flat_normal(rho.shape), alpha_mode="MASK")


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


def _iris_polar(ctx, name: str, side: str, rmax: float) -> np.ndarray:
    """(NR, NA + 2 * _WRAP, 3) float32 linear colour over (rho in [0, rmax], angle in [-pi, pi))."""
    nr, na = IRIS_POLAR
    rng = ctx.part_rng(name)
    limbus = _limbus_radius(ctx, side)
    rho = np.linspace(0.0, rmax, nr, dtype=np.float32)[:, None]
    r = np.clip((rho - PUPIL_RADIUS_CM) / max(limbus - PUPIL_RADIUS_CM, 1e-3), 0.0, 1.0)  # 0 pupil .. 1 limbus
    ang = np.linspace(-np.pi, np.pi, na, endpoint=False, dtype=np.float32)[None, :]
    eu, ph = chrom.EYE_COLOR_MELANIN[ctx.params.eye_color]
    # radial fibres: random angular harmonics whose phase drifts slowly with the radius
    fib = np.zeros((nr, na), np.float32)
    for k in range(6, 90, 3):
        drift = rng.standard_normal() * 1.5
        fib += np.float32(rng.random() / np.sqrt(k)) * np.cos(k * ang + rng.random() * 2 * np.pi + drift * r)
    fib /= np.abs(fib).max() + 1e-6
    # crypts: a few dark lacunae near the collarette
    crypt = np.zeros((nr, na), np.float32)
    for _ in range(int(rng.integers(4, 12))):
        c_r, c_a, size = rng.uniform(0.25, 0.7), rng.uniform(-np.pi, np.pi), rng.uniform(0.04, 0.09)
        da = np.angle(np.exp(1j * (ang - c_a))) * (0.3 + r)
        crypt = np.maximum(crypt, np.exp(-0.5 * (((r - c_r) / size) ** 2 + (da / size) ** 2)))
    collarette = np.exp(-0.5 * ((r - 0.35) / 0.08) ** 2)
    eu_map = eu * (1.0 + 0.35 * fib + 0.6 * collarette) * (1.0 - 0.5 * crypt)
    ph_map = ph * (1.0 + 0.3 * fib + 1.2 * collarette * (ph > eu))
    col = _iris_lookup(np.clip(eu_map, 0, None), np.clip(ph_map, 0, None))
    col *= (1.0 - 0.5 * crypt)[..., None]  # crypts are deep: less stroma to scatter back
    limbal = 1.0 - 0.75 * np.clip((r - 0.82) / 0.18, 0.0, 1.0) ** 1.5
    pupil = np.clip((rho - PUPIL_RADIUS_CM) / 0.01, 0.0, 1.0)
    col *= (limbal * pupil)[..., None]
    return np.concatenate([col[:, -_WRAP:], col, col[:, :_WRAP]], axis=1).astype(np.float32)


def _iris_lookup(eu: np.ndarray, ph: np.ndarray) -> np.ndarray:
    """Iris colour for per-texel pigment maps via a small cached 2D table in log-concentration."""
    lut, lo, hi = _iris_table()
    n = lut.shape[0] - 1
    x = np.clip((np.log(np.maximum(eu, 1e-4)) - lo) / (hi - lo), 0, 1) * n
    y = np.clip((np.log(np.maximum(ph, 1e-4)) - lo) / (hi - lo), 0, 1) * n
    x0 = np.minimum(x.astype(np.int32), n - 1)
    y0 = np.minimum(y.astype(np.int32), n - 1)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]
    c0 = lut[x0, y0] * (1 - fy) + lut[x0, y0 + 1] * fy
    c1 = lut[x0 + 1, y0] * (1 - fy) + lut[x0 + 1, y0 + 1] * fy
    return (c0 * (1 - fx) + c1 * fx).astype(np.float32)


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
    n = _lowfreq_noise(ctx, name, 0.8, "mucosa")
    m0 = ctx.params.melanin_fraction
    mel = np.full(n.shape, 0.35 * m0, np.float32) * np.exp(0.3 * n)
    hb = 0.07 * np.exp(0.15 * n)
    col = chrom.lut_lookup(mel, hb)
    return MaterialTextures(_srgb(col), _const(n.shape, 0.3), _const(n.shape, 0.9), _flat_normal(n.shape))


def teeth(ctx, name: str) -> MaterialTextures:
    """Enamel over dentin: off-white, yellower with age, glossy (enamel n ~ 1.63 reflects ~6 %)."""
    n = _lowfreq_noise(ctx, name, 0.5, "enamel")
    base = chrom.hex_to_linear(ENAMEL_SRGB)
    yellow = np.clip((ctx.params.age - 20.0) / 80.0, 0.0, 0.6)
    tint = np.array([1.0, 0.97 - 0.08 * yellow, 0.92 - 0.25 * yellow], np.float32)
    col = base * tint * (1.0 + 0.04 * n)[..., None]
    return MaterialTextures(_srgb(col), _const(n.shape, 0.22), _const(n.shape, 1.0), _flat_normal(n.shape))


def lacrimal_fluid(ctx, name: str) -> MaterialTextures:
    """The tear meniscus: nearly transparent water, very glossy."""
    shape = ctx.layout[name].shape
    base = np.concatenate([_const(shape + (3,), 0.9), _const(shape + (1,), 0.12)], -1)
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
    mask = ctx.layout[name].mask
    h, w = mask.shape
    d = _occlusion_distance(ctx, name)
    rows = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
    alpha = (1.0 - np.clip(d / 0.45, 0, 1)) ** 2 * (0.55 + 0.35 * (1.0 - rows))
    alpha = np.where(mask, alpha, alpha.max() if mask.any() else 0.0)
    col = np.zeros((h, w, 3), np.uint8) + np.array([20, 12, 10], np.uint8)
    base = np.concatenate([col, _to_u8(alpha)[..., None]], -1)
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
    alpha = _blend_alpha(ctx, name)
    skin = chrom.lut_lookup(np.float32(ctx.params.melanin_fraction), np.float32(ctx.params.hemoglobin * 2.0))
    col = np.broadcast_to(_srgb(np.asarray(skin, np.float32)[None, None]), mask.shape + (3,))
    base = np.concatenate([col, _to_u8(alpha)[..., None]], -1)
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
    strand = np.zeros(w, np.float32)
    length = np.zeros(w, np.float32)
    width = max(0.6, w / 500.0)
    for c, ln in zip(centres, lengths):
        g = np.exp(-0.5 * ((cols - c) / width) ** 2)
        upd = g > strand
        length[upd] = ln
        strand = np.maximum(strand, g)
    cover = strand[None, :] * (t < length[None, :]) * (1.0 - 0.5 * t)
    alpha = np.where(mask, np.clip(cover * 1.5, 0, 1), 0.0)
    # lashes keep pigment longer than scalp hair: darken the hair colour
    col = np.broadcast_to(_srgb((ctx.hair_rgb * 0.5)[None, None]), (h, w, 3))
    base = np.concatenate([col, _to_u8(alpha)[..., None]], -1)
    return MaterialTextures(base, _const((h, w), 0.5), _const((h, w), 0.5), _flat_normal((h, w)),
                            alpha_mode="MASK", double_sided=True)


def _to_u8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(a) * 255.0 + 0.5, 0, 255).astype(np.uint8)
