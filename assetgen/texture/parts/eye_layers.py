"""The see-through layers around the eyes: lacrimal fluid, eye occlusion (contact shadow), the eye blend
between lid skin and eyeball, and the eyelashes."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .. import chromophore as chrom
from ..base import MaterialTextures
from ..fields import cached, derived
from .common import const, flat_normal, srgb, to_u8
from .geometry import eye_frame, positions

# the lightest a lash card gets: a brown hair's colour darkened as the cards darken it (the strand lashes keep
# a melanin of at least 0.85, about brown's pigment, whatever the scalp's colour)
LASH_DARKEST = chrom.hair_linear_rgb(*chrom.HAIR_COLOR_MELANIN["brown"]) * 0.5


def lacrimal_fluid(ctx, name: str) -> MaterialTextures:
    """The tear meniscus: clear water, glossy. Water scatters no light of its own, so its colour is black: it
    shows what lies beneath and its gloss (a white colour greyed the eye's inner corner like plastic); the
    gloss is not a mirror's, which drew the coarse mesh's facets as bright shards."""
    def build():
        shape = ctx.layout[name].shape
        return np.concatenate([const(shape + (3,), 0.0), const(shape + (1,), 0.12)], -1)
    base = derived(ctx, ("lacrimal", name), build).copy()
    shape = base.shape[:2]
    return MaterialTextures(base, const(shape, 0.15), const(shape, 0.5), flat_normal(shape), alpha_mode="BLEND")


def occlusion_distance(ctx, name: str) -> np.ndarray:
    """(H, W) float32 distance of each covered texel to the island border, 1 at the farthest one."""
    def build():
        d = ndimage.distance_transform_edt(ctx.layout[name].mask).astype(np.float32)
        d /= max(float(d.max()), 1.0)
        return d
    return cached(ctx, ("occl_dist", name), build)


def eye_occlusion(ctx, name: str) -> MaterialTextures:
    """A soft contact shadow where the lids meet the eyeball: dark, alpha strongest at the island border
    (the lid margin) and along the top (upper lid), fading towards the middle."""
    def build():
        mask = ctx.layout[name].mask
        h, w = mask.shape
        d = occlusion_distance(ctx, name)
        rows = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
        alpha = (1.0 - np.clip(d / 0.45, 0, 1)) ** 2 * (0.55 + 0.35 * (1.0 - rows))
        alpha = np.where(mask, alpha, alpha.max() if mask.any() else 0.0)
        col = np.zeros((h, w, 3), np.uint8) + np.array([20, 12, 10], np.uint8)
        return np.concatenate([col, to_u8(alpha)[..., None]], -1)
    base = derived(ctx, ("occlusion", name), build).copy()  # layout-only
    h, w = base.shape[:2]
    return MaterialTextures(base, const((h, w), 1.0), const((h, w), 0.0), flat_normal((h, w)), alpha_mode="BLEND")


def blend_alpha(ctx, name: str) -> np.ndarray:
    """(H, W) float32 alpha of the eye blend: growing with the distance from the eye centre."""
    def build():
        pos, mask = positions(ctx, name)
        side = "Left" if float(np.mean(pos[mask][:, 0])) > 0 else "Right"
        c, _ = eye_frame(ctx, side)
        dx, dy, dz = (pos[..., i] - c[i] for i in range(3))
        d = np.sqrt(dx * dx + dy * dy + dz * dz)
        lo, hi = (np.percentile(d[mask], 5), np.percentile(d[mask], 95)) if mask.any() else (0.0, 1.0)
        t = np.clip((d - np.float32(lo)) / np.float32(max(hi - lo, 1e-3)), 0.0, 1.0)
        return (t * np.sqrt(t) * np.float32(0.8)).astype(np.float32)
    return cached(ctx, ("blend_alpha", name), build)


def eye_blend(ctx, name: str) -> MaterialTextures:
    """Blends the lid skin into the eyeball: skin colour (same chromophore model, a little redder, as at
    the lid margin), alpha fading from the lid side (far from the eye centre) towards the eye."""
    mask = ctx.layout[name].mask
    alpha = derived(ctx, ("blend_alpha_u8", name), lambda: to_u8(blend_alpha(ctx, name)))
    skin = chrom.lut_lookup(np.float32(ctx.params.melanin_fraction), np.float32(ctx.params.hemoglobin * 2.0))
    col = srgb(np.asarray(skin, np.float32)).reshape(3)
    base = np.empty(mask.shape + (4,), np.uint8)
    base[..., :3] = col
    base[..., 3] = alpha
    return MaterialTextures(base, const(mask.shape, 0.4), const(mask.shape, 0.7), flat_normal(mask.shape),
                            alpha_mode="BLEND")


def lash_coords(ctx, name: str) -> tuple[np.ndarray, np.ndarray]:
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
    return cached(ctx, ("lash", name), build)


def eyelashes(ctx, name: str) -> MaterialTextures:
    """Lash strands on the lash cards (alpha MASK, double sided), in a darkened hair colour; no strand at
    all (alpha 0) when the skin's lash_cards is off (a groom's strand lashes take their place)."""
    r = ctx.layout[name]
    mask = r.mask
    h, w = mask.shape
    u, t = lash_coords(ctx, name)
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
    alpha = np.where(mask & ctx.params.lash_cards, np.clip(cover * 1.5, 0, 1), 0.0)
    # lashes keep pigment longer than scalp hair: darken the hair colour, and a grey subject's lashes keep at
    # least a brown's pigment (cards that turned white with the brows read as white blades)
    col = np.broadcast_to(srgb(np.minimum(ctx.hair_rgb * 0.5, LASH_DARKEST)[None, None]), (h, w, 3))
    base = np.concatenate([col, to_u8(alpha)[..., None]], -1)
    return MaterialTextures(base, const((h, w), 0.5), const((h, w), 0.5), flat_normal((h, w)),
                            alpha_mode="MASK", double_sided=True)
