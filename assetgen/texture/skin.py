"""The skin materials (M_Face, M_BackHead): procedural, physically motivated skin in UV space.

Per asset and material:

1. low resolution (~1/4, see fields.low_factor): melanin and hemoglobin maps from the parameters,
   3D value noise on the neutral surface (continuous across seams and materials), landmark-defined
   regions (cheek / nose redness, lips), freckles, moles and age spots; albedo = chromophore LUT lookup
   (chromophore.py); makeup composited on top; roughness, specular, pore depth, hair densities and
   wrinkle slopes;
2. bilinear upsampling to full resolution (every low-res texel is defined, also in the padding, so there is
   no background to bleed at mip levels);
3. full resolution detail from periodic tiles: pores (albedo cavity + tangent-space normals), stubble and
   brow hairs; sRGB encoding through a table.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import chromophore as chrom
from .base import MaterialTextures
from .context import DETAIL_TILE, AssetContext
from .fields import REGION_ID, MaterialFields, texels_per_cm
from .noise import hair_tile, pore_tile

FULL_DETAIL_RESOLUTION = 2048  # pore relief is scaled down below this, where texels are larger than pores


def skin_material(ctx: AssetContext, name: str) -> MaterialTextures:
    """The maps of one skin material: low-resolution fields, then full-resolution detail."""
    mf = ctx.fields.skin[name]
    low = _skin_low(ctx, name, mf)
    return _skin_full(ctx, mf, low)


def _skin_low(ctx: AssetContext, name: str, mf: MaterialFields) -> dict[str, np.ndarray]:
    """Low-resolution maps (h, w[, 3]) float32: albedo (linear), roughness, specular, pore depth,
    stubble, brow_r, brow_l, wrinkle slopes gx/gy (height per full-res texel)."""
    p = ctx.params
    w = mf.weights
    reg = mf.region
    # the lip region follows triangle edges (staircase in UV): soften it to a natural vermilion border
    lips = cv2.GaussianBlur(((reg == REGION_ID["upper_lip"]) | (reg == REGION_ID["lower_lip"])).astype(np.float32),
                            (0, 0), 1.5)
    mucosa = ((reg == REGION_ID["mouth_socket"]) | (reg == REGION_ID["eye_socket_left"])
              | (reg == REGION_ID["eye_socket_right"])).astype(np.float32)
    skin = 1.0 - mucosa
    age_t = float(np.clip((p.age - 25.0) / 50.0, 0.0, 1.0))
    noise = _low_noises(ctx, mf)

    # Melanin: the base fraction, mottled by low-frequency noise, slightly darker under the eyes,
    # with freckles / age spots (relative to the base) and moles (absolute).
    m0 = p.melanin_fraction
    mel = m0 * np.exp(0.1 * noise["mel"]) * (1.0 + 0.15 * w["under_eye"] - 0.25 * lips)
    px = texels_per_cm(ctx, name, mf)
    if "freckles" in ctx.spots:
        mel = mel + (1.2 * m0 + 0.01) * _spot_map(ctx, name, mf, "freckles", 0.06)
    if "age_spots" in ctx.spots:
        mel = mel + (0.8 * m0 + 0.01) * _spot_map(ctx, name, mf, "age_spots", 0.18)
    if "moles" in ctx.spots:
        mel = np.maximum(mel, 0.35 * _spot_map(ctx, name, mf, "moles", 0.1))
    # Hemoglobin: redder cheeks, nose and lips; thinner, paler skin with age.
    hb = p.hemoglobin * np.exp(0.2 * noise["hb"]) * (1.0 + 0.9 * w["cheeks"] + 1.0 * w["nose_tip"] + 0.4 * w["nose"]
                                              + 0.3 * w["eyelids"]) * (1.0 - 0.25 * age_t)
    hb = hb + lips * (np.clip(p.hemoglobin * 5.0, 0.04, 0.1) - hb)
    # Mucosa (inside of the mouth and eye sockets): thin, lightly pigmented and blood-rich.
    mel = mel + mucosa * (0.3 * m0 - mel)
    hb = hb + mucosa * (0.08 - hb)
    albedo = chrom.lut_lookup(mel.astype(np.float32), hb.astype(np.float32))

    rough = 0.55 + 0.04 * noise["rough"] - 0.12 * w["tzone"] - 0.2 * lips + 0.06 * age_t
    spec = 0.7 + 0.15 * w["tzone"] + 0.1 * lips - 0.05 * age_t
    rough = rough * skin + 0.3 * mucosa
    spec = spec * skin + 0.9 * mucosa
    albedo, rough, spec = _makeup(ctx, albedo, rough, spec, w, lips, skin)

    pore = (1.0 + 0.8 * w["nose"] + 0.4 * w["cheeks"] + 0.2 * w["forehead"] - 0.8 * lips - 0.6 * w["eyelids"]) \
        * (0.8 + 0.8 * age_t) * skin
    hair_var = 0.75 + 0.25 * np.clip(noise["hair"], -1, 1)
    stubble = p.stubble * w["beard"] * (1.0 - lips) * skin * hair_var
    brow_r = p.brow_density * w["brow_right"] * hair_var
    brow_l = p.brow_density * w["brow_left"] * hair_var
    gx, gy = _wrinkle_slopes(ctx, mf, lips, age_t, px, noise["hair"])
    return dict(albedo=albedo, rough=rough, spec=spec, pore=pore, stubble=stubble, brow_r=brow_r,
                brow_l=brow_l, gx=gx, gy=gy)


def _spot_map(ctx: AssetContext, name: str, mf: MaterialFields, kind: str, sigma_cm: float) -> np.ndarray:
    """(h, w) float32 spot field at low resolution: impulses at every UV corner of the chosen vertices
    (so a spot on a seam appears on both sides), blurred by a Gaussian of sigma_cm."""
    h, w = mf.pos.shape[:2]
    img = np.zeros((h, w), np.float32)
    spots = ctx.spots.get(kind)
    if spots is None or name not in ctx.fields.corner_uv:
        return img
    ids, amp = spots
    vid, xy = ctx.fields.corner_uv[name]
    order = np.argsort(vid)
    sv = vid[order]
    lo, hi = np.searchsorted(sv, ids, "left"), np.searchsorted(sv, ids, "right")
    counts = hi - lo
    if counts.sum() == 0:
        return img
    take = np.concatenate([order[a:b] for a, b in zip(lo, hi)])
    amps = np.repeat(amp, counts)
    col = np.clip(((xy[take, 0] + 0.5) / mf.factor).astype(int), 0, w - 1)
    row = np.clip(((xy[take, 1] + 0.5) / mf.factor).astype(int), 0, h - 1)
    np.add.at(img, (row, col), amps)
    sigma_px = max(0.6, sigma_cm * texels_per_cm(ctx, name, mf))
    img = cv2.GaussianBlur(img, (0, 0), sigma_px) * np.float32(2 * np.pi * sigma_px**2)
    return np.clip(img, 0.0, 1.5)


def _low_noises(ctx: AssetContext, mf: MaterialFields) -> dict[str, np.ndarray]:
    """The asset's 3D noise fields on this material, (h, w) float32 each. They are smooth, so they are
    evaluated at half the low resolution and upsampled."""
    h, w = mf.pos.shape[:2]
    sub = mf.pos[::2, ::2]
    out = {}
    for key, fn in (("mel", ctx.noise_mel), ("hb", ctx.noise_hb), ("rough", ctx.noise_rough), ("hair", ctx.noise_hair)):
        out[key] = cv2.resize(fn(sub), (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def _makeup(ctx, albedo, rough, spec, w, lips, skin):
    """Composite makeup layers over the linear albedo (a pigment layer of given opacity)."""
    p = ctx.params

    def over(img, layer, alpha):
        a = alpha[..., None].astype(np.float32)
        return img + a * (chrom.hex_to_linear(layer.color) - img)

    if p.eyeshadow is not None:
        albedo = over(albedo, p.eyeshadow, p.eyeshadow.opacity * w["eyelids"] * skin)
    if p.blush is not None:
        albedo = over(albedo, p.blush, p.blush.opacity * w["blush"] * skin)
    if p.eyeliner is not None:
        albedo = over(albedo, p.eyeliner, p.eyeliner.opacity * w["lash_line"] * skin)
    if p.lipstick is not None:
        a = p.lipstick.opacity * lips
        albedo = over(albedo, p.lipstick, a)
        rough = rough + a * (0.3 - rough)  # a satin finish
        spec = spec + a * (0.9 - spec)
    return albedo, rough, spec


def _wrinkle_slopes(ctx, mf: MaterialFields, lips, age_t: float, px: float, jitter: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Age wrinkles (forehead lines, crow's feet, nasolabial folds) and lip lines as a low-res height
    field (cm); returns its slopes dh/dx along columns and rows (dimensionless), (h, w) float32 each."""
    w = mf.weights
    pos = mf.pos
    h = np.zeros(pos.shape[:2], np.float32)
    if age_t > 0:
        lines = 0.5 - 0.5 * np.cos(2 * np.pi * (w["forehead_y"] / 0.9 + 0.15 * jitter))
        h -= age_t * 0.012 * w["forehead"] * (1.0 - lines) ** 4
        lm = ctx.fields.landmarks.p
        for i in (36, 45):
            ang = np.arctan2(pos[..., 1] - lm[i, 1], pos[..., 0] - lm[i, 0])
            rays = (0.5 + 0.5 * np.cos(ang * 14.0)) ** 6
            h -= age_t * 0.01 * w["crow"] * rays
        h -= age_t * 0.02 * w["nasolabial"]
    lip_lines = (0.5 + 0.5 * np.cos(2 * np.pi * pos[..., 0] / 0.12)) ** 4
    h -= 0.004 * lips * lip_lines
    gy, gx = np.gradient(h)  # cm per low-res texel
    # physical slope (cm / cm) = gradient * texels per cm: a normal map stores slopes, not heights
    return (gx * np.float32(px)).astype(np.float32), (gy * np.float32(px)).astype(np.float32)


BAND = 128  # rows per band of the full-resolution per-texel work (divides DETAIL_TILE)


def _skin_full(ctx: AssetContext, mf: MaterialFields, low: dict[str, np.ndarray]) -> MaterialTextures:
    """Full-resolution maps. The per-texel arithmetic runs in bands of BAND rows, so its temporaries stay
    small."""
    H, W = mf.full_shape
    size = (W, H)
    up = lambda a: cv2.resize(np.ascontiguousarray(a, np.float32), size, interpolation=cv2.INTER_LINEAR)
    albedo = up(low["albedo"])
    aux = up(np.stack([low["rough"], low["spec"], low["pore"], low["stubble"]], -1))
    wrinkle = up(np.stack([low["gx"], low["gy"]], -1))
    T = min(DETAIL_TILE, H)
    ph, pgx, pgy = pore_tile(T)
    off = ctx.tile_offsets
    strength = np.float32(min(1.0, H / FULL_DETAIL_RESOLUTION))
    band = BAND if T % BAND == 0 else T
    rolled = lambda t, o: np.roll(t, (int(o[0]) % t.shape[0], int(o[1]) % t.shape[1]), axis=(0, 1))
    cav_t, gx_t, gy_t = (rolled(t, off[0]) for t in (ph, pgx, pgy))
    stubble_t = rolled(hair_tile(T, "stubble"), off[1])
    stubble_mean = _stubble_mean(stubble_t, float(aux[..., 3].max())) if strength < 1.0 else None
    hair = np.asarray(ctx.hair_rgb, np.float32)
    rough = np.empty((H, W), np.float32)
    k_amp = np.empty((H, W), np.float32)
    for r0 in range(0, H, band):
        r1 = min(r0 + band, H)
        rows = lambda t: _tile_band(t, r0, r1, W)
        pore_amp = aux[r0:r1, :, 2] * strength
        cav = rows(cav_t)  # pores: small cavities in [-1, 0], slightly darker (less light escapes) and rougher
        pc = pore_amp * cav
        albedo[r0:r1] *= (1.0 + 0.10 * pc)[..., None]
        rough[r0:r1] = aux[r0:r1, :, 0] - 0.05 * pc
        np.multiply(pore_amp, np.float32(0.9), out=k_amp[r0:r1])
        dens = aux[r0:r1, :, 3]
        if dens.max() > 1e-3:
            cov = np.clip(np.float32(1.6) * dens * rows(stubble_t), 0.0, 1.0)
            if stubble_mean is not None:  # texels larger than stubs: their box-filtered look
                mean = np.interp(dens, *stubble_mean).astype(np.float32)
                cov = mean + (cov - mean) * strength
            cov = cov[..., None]
            sub = albedo[r0:r1]
            sub += cov * (hair - sub)
    brow = hair_tile(T, "brow")
    for key, t, o in (("brow_r", np.ascontiguousarray(brow[:, ::-1]), off[2]), ("brow_l", brow, off[3])):
        if low[key].max() > 1e-3:
            _composite_hair(albedo, up(low[key]), t, o, ctx.hair_rgb, 2.2)
    if ctx.params.tattoo is not None:
        from .tattoo import paint_tattoo

        paint_tattoo(ctx.model, ctx.fields.landmarks.p, ctx.params.tattoo, mf.pos, mf.factor, albedo,
                     chrom.hex_to_linear(ctx.params.tattoo.color))
    base = np.empty((H, W, 3), np.uint8)
    normal = np.empty((H, W, 3), np.uint8)
    rough8 = np.empty((H, W), np.uint8)
    spec8 = np.empty((H, W), np.uint8)
    for r0 in range(0, H, band):
        r1 = min(r0 + band, H)
        base[r0:r1] = chrom.encode_srgb8(albedo[r0:r1])
        # normals from the slopes of height = pore_amp * tile + wrinkles
        k = k_amp[r0:r1]
        slopes_to_normal(k * _tile_band(gx_t, r0, r1, W) + wrinkle[r0:r1, :, 0],
                         k * _tile_band(gy_t, r0, r1, W) + wrinkle[r0:r1, :, 1], out=normal[r0:r1])
        rough8[r0:r1] = _to_u8(rough[r0:r1])
        spec8[r0:r1] = _to_u8(aux[r0:r1, :, 1])
    return MaterialTextures(base_color=base, roughness=rough8, specular=spec8, normal=normal)


def _stubble_mean(tile: np.ndarray, top: float) -> tuple[np.ndarray, np.ndarray]:
    """(density, mean coverage) samples over [0, top]: the stubble's coverage at a density averaged over the
    tile, what a texel much larger than a stub shows (_skin_full keeps it and scales the rest by strength)."""
    dens = np.linspace(0.0, max(top, 1e-3), 33)
    return dens, np.array([np.clip(1.6 * d * tile, 0.0, 1.0).mean(dtype=np.float64) for d in dens])


def _tile_band(t: np.ndarray, r0: int, r1: int, W: int) -> np.ndarray:
    """Rows r0:r1 (within one tile period) of tile `t` repeated over width W."""
    T = t.shape[0]
    a = r0 % T
    rows = t[a: a + (r1 - r0)]
    reps = -(-W // t.shape[1])
    return np.tile(rows, (1, reps))[:, :W] if reps > 1 else rows[:, :W]


def _tiled(t: np.ndarray, shape: tuple[int, int], offset) -> np.ndarray:
    t = np.roll(t, (int(offset[0]) % t.shape[0], int(offset[1]) % t.shape[1]), axis=(0, 1))
    reps = (-(-shape[0] // t.shape[0]), -(-shape[1] // t.shape[1]))
    return np.tile(t, reps)[: shape[0], : shape[1]]


def _composite_hair(albedo: np.ndarray, density: np.ndarray, tile: np.ndarray, offset, color: np.ndarray,
                    gain: float) -> None:
    """In place: hair coverage = clip(gain * density * tile) blends the albedo towards the hair colour,
    only inside the bounding box where the density is non-zero (brows are small)."""
    rows = np.flatnonzero(density.max(1) > 1e-3)
    if rows.size == 0:
        return
    cols = np.flatnonzero(density[rows[0]: rows[-1] + 1].max(0) > 1e-3)
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    t = _tiled(tile, albedo.shape[:2], offset)[r0:r1, c0:c1]
    cov = np.clip(np.float32(gain) * density[r0:r1, c0:c1] * t, 0.0, 1.0)[..., None]
    sub = albedo[r0:r1, c0:c1]
    sub += cov * (np.asarray(color, np.float32) - sub)


def slopes_to_normal(dh_dcol: np.ndarray, dh_drow: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Height-field slopes (per texel, along image columns and rows) -> (H, W, 3) uint8 tangent-space
    normal map in the glTF convention: +x = +u = towards higher columns, +y = +v = towards row 0 (image
    row 0 is the top, v = 1), 128 = 0. The surface normal of a height field is (-dh/du, -dh/dv, 1), and
    dh/dv = -dh/drow, hence n ~ (-dh/dcol, +dh/drow, 1)."""
    nx = -dh_dcol
    ny = dh_drow
    inv = 1.0 / np.sqrt(1.0 + nx * nx + ny * ny)
    if out is None:
        out = np.empty(nx.shape + (3,), np.uint8)
    out[..., 0] = np.clip(nx * inv * 127.5 + 128.0, 0, 255)
    out[..., 1] = np.clip(ny * inv * 127.5 + 128.0, 0, 255)
    out[..., 2] = np.clip(inv * 127.5 + 128.0, 0, 255)
    return out


def _to_u8(a: np.ndarray) -> np.ndarray:
    return np.clip(a * np.float32(255.0) + np.float32(0.5), 0, 255).astype(np.uint8)
