"""Hair colour from pigment, following Blender's Principled Hair BSDF (Chiang et al. 2016 parametrisation).

Absorption coefficient sigma_a (per unit fibre diameter, linear RGB) of a fibre:
    sigma_a = eumelanin * (0.506, 0.841, 1.653) + pheomelanin * (0.343, 0.733, 1.924)   [+ dye]
where the concentrations come from Blender's melanin knobs: q = -ln(max(1 - melanin, 1e-4)),
eumelanin = q (1 - redness), pheomelanin = q redness. A dye ('tint') colour c adds its absorption
    sigma_dye = (ln(c) / f(beta))^2,   f(beta) = 5.969 - 0.215 b + 2.532 b^2 - 10.73 b^3 + 5.574 b^4 + 0.245 b^5
with beta the radial (azimuthal) roughness; the same relation inverted gives the colour a fibre of that
absorption shows (its multiply-scattered albedo, what "hair colour" means in an image):
    colour = exp(-sqrt(sigma_a) * f(beta)).
Grey hair is unpigmented: a grey fibre has no melanin (melanin 0, redness 0: white in Blender's Principled
Hair BSDF) and only the keratin's own, neutral absorption, which leaves it a light neutral grey-white
(GREY_ALBEDO in every channel); the other fibres keep their pigment, so a head that is mostly grey looks
grey, not the tan-pink that a trace of melanin with its pheomelanin share gave. A strand stands for a clump
of fibres (its ribbon is millimetres wide), so it holds a share of grey fibres (strand_melanin: around the
head's grey fraction) and shows the mean of their colours (clump_colour); grey or pigmented clumps whole
drew black and white stripes across a greying head.
"""

from __future__ import annotations

import numpy as np

EUMELANIN = np.array([0.506, 0.841, 1.653])
PHEOMELANIN = np.array([0.343, 0.733, 1.924])
GREY_ALBEDO = 0.55  # the colour (each channel, linear) of an unpigmented fibre


def roughness_factor(radial_roughness: float) -> float:
    x = float(radial_roughness)
    return (((((0.245 * x) + 5.574) * x - 10.73) * x + 2.532) * x - 0.215) * x + 5.969


def concentrations(melanin, redness):
    """(eumelanin, pheomelanin) from Blender's melanin and melanin_redness (arrays or floats)."""
    q = -np.log(np.maximum(1.0 - np.asarray(melanin, np.float64), 1e-4))
    r = np.asarray(redness, np.float64)
    return q * (1 - r), q * r


def absorption(eumelanin, pheomelanin, dye=None, dye_strength: float = 1.0, radial_roughness: float = 0.3):
    """(..., 3) float64 linear-RGB absorption coefficients from pigment concentrations (module docstring)."""
    eu = np.asarray(eumelanin, np.float64)[..., None]
    ph = np.asarray(pheomelanin, np.float64)[..., None]
    sigma = eu * EUMELANIN + ph * PHEOMELANIN
    if dye is not None and dye_strength > 0:
        c = np.clip(np.asarray(dye, np.float64), 1e-3, 1.0)
        sigma = sigma + dye_strength * (np.log(c) / roughness_factor(radial_roughness)) ** 2
    return sigma


def keratin_absorption(radial_roughness: float = 0.3) -> float:
    """Absorption (each channel) of an unpigmented fibre: the one whose colour is GREY_ALBEDO."""
    return float((np.log(GREY_ALBEDO) / roughness_factor(radial_roughness)) ** 2)


def clump_colour(eumelanin, pheomelanin, grey, dye=None, dye_strength: float = 1.0,
                 radial_roughness: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """((..., 3) absorption, (..., 3) linear colour) of clumps of fibres whose pigmented fibres have these
    concentrations and a `grey` share (...,) of unpigmented ones: the colour is the fibres' mean colour (the
    light a clump returns), the absorption the one a single fibre of that colour has. Dye colours both."""
    pigmented = absorption_to_color(absorption(eumelanin, pheomelanin, dye, dye_strength, radial_roughness),
                                    radial_roughness)
    white = absorption_to_color(absorption(0.0, 0.0, dye, dye_strength, radial_roughness)
                                + keratin_absorption(radial_roughness), radial_roughness)
    g = np.asarray(grey, np.float64)[..., None]
    colour = pigmented * (1.0 - g) + white * g
    return color_to_absorption(colour, radial_roughness), colour


def color_to_absorption(color, radial_roughness: float = 0.3):
    """(..., 3) absorption of fibres showing linear colour `color` (the inverse of absorption_to_color)."""
    c = np.clip(np.asarray(color, np.float64), 1e-6, 1.0)
    return (np.log(c) / roughness_factor(radial_roughness)) ** 2


def absorption_to_color(sigma, radial_roughness: float = 0.3):
    """(..., 3) linear RGB colour in (0, 1] of fibres with absorption sigma (inverse of Blender's
    reflectance-to-absorption mapping)."""
    return np.exp(-np.sqrt(np.maximum(np.asarray(sigma, np.float64), 0.0)) * roughness_factor(radial_roughness))


def pigment_color(eumelanin, pheomelanin, dye=None, dye_strength: float = 1.0, radial_roughness: float = 0.3):
    """Linear RGB colour (..., 3) of a fibre with the given concentrations (and dye)."""
    return absorption_to_color(absorption(eumelanin, pheomelanin, dye, dye_strength, radial_roughness), radial_roughness)


def strand_melanin(rng: np.random.Generator, n: int, melanin: float, redness: float, grey_fraction: float,
                   jitter: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-strand (melanin, redness, grey) (n,) float32 arrays: the pigmented fibres' melanin, the group's
    jittered by `jitter` (relative, in -ln(1 - m) space so dark hair stays dark), their redness, and each
    clump's share of grey fibres: uniform within +-half the distance of grey_fraction to 0 or 1 (whichever is
    nearer), so the shares average grey_fraction and a greying head mixes rather than stripes. Draws exactly
    3 n uniforms."""
    u = rng.random((3, n))
    q = -np.log(max(1.0 - melanin, 1e-4)) * (1.0 + jitter * (2 * u[0] - 1))
    mel = 1.0 - np.exp(-np.maximum(q, 0.0))
    red = np.clip(redness + 0.5 * jitter * (2 * u[1] - 1), 0, 1)
    g = float(np.clip(grey_fraction, 0.0, 1.0))
    grey = g + 0.5 * min(g, 1.0 - g) * (2 * u[2] - 1)
    return mel.astype(np.float32), red.astype(np.float32), grey.astype(np.float32)


def melanin_knobs(melanin, redness, grey) -> tuple[np.ndarray, np.ndarray]:
    """(melanin, redness) (n,) float32 of Blender's Principled Hair BSDF for clumps with a grey share: the
    pigment diluted by the grey fibres (0, 0 for an all-grey clump: white)."""
    keep = 1.0 - np.asarray(grey, np.float64)
    return ((np.asarray(melanin, np.float64) * keep).astype(np.float32),
            (np.asarray(redness, np.float64) * keep).astype(np.float32))
