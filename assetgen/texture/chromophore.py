"""Spectral chromophore models: skin, iris and hair colour from pigment concentrations.

Skin is a two-layer Kubelka-Munk model in the spirit of Donner & Jensen 2006 ("A spectral BSSRDF for
shading human skin", EGSR) and of the (melanin, hemoglobin) LUT of Jimenez et al. 2010 ("A practical
appearance model for dynamic facial color", SIGGRAPH Asia):

* epidermis (thickness EPIDERMIS_CM) holding melanosomes at volume fraction f_mel, over
* a semi-infinite dermis holding blood at volume fraction f_blood (oxygen saturation OXY_SATURATION).

Optical properties (all cm^-1, lambda in nm):

* melanosome absorption mu_a,mel = 6.6e11 * lambda^-3.33 (Jacques 1998, "Skin optics", OMLC News;
  restated in Jacques 2013);
* baseline (bloodless, pigment-free) tissue absorption mu_a,base = 0.244 + 85.3 exp(-(lambda - 154) / 66.2)
  (Jacques 2013, "Optical properties of biological tissues: a review", Phys. Med. Biol. 58 R37);
* whole blood absorption from the molar extinction of oxy/deoxy-hemoglobin tabulated by S. Prahl (OMLC,
  from Gratzer and Kollias), mu_a = ln(10) * eps * 150 g/L / 64 500 g/mol;
* reduced scattering mu_s' = 46.0 (lambda / 500)^-1.421, the average for skin in Jacques 2013, Table 2.

Each layer is turned into Kubelka-Munk coefficients K = 2 mu_a, S = 0.75 mu_s' (the diffuse-light
relation used e.g. by van Gemert & Star 1987), the epidermis as a finite slab (Kubelka 1948 hyperbolic
solution) and the dermis as R_inf; the layers are combined with Kubelka's layering formula and the
internal reflection at the air/skin interface (n = 1.4) with Saunderson's correction. The external
specular reflection is left out on purpose: in a PBR material it belongs to the specular lobe, not to the
albedo. The reflectance spectrum (400-700 nm, 10 nm) is integrated against the CIE 1931 2-degree colour
matching functions (the multi-lobe analytic fit of Wyman, Sloan & Shirley 2013, JCGT 2(2)) under CIE D65,
normalised so a perfect white diffuser maps to Y = 1, then converted to linear sRGB (IEC 61966-2-1).

The iris uses the same pipeline with a stromal layer whose scattering is Rayleigh-like (lambda^-4; blue
irides have little pigment and look blue from scattering, not pigment) and whose pigments are eumelanin
(Jacques' lambda^-3.33) and pheomelanin (lambda^-4.7, the slope implied by the RGB absorption ratios of
d'Eon et al. 2011, "An energy-conserving hair reflectance model"), over the dark iris pigment epithelium.
Hair colour follows d'Eon et al. 2011 (eumelanin / pheomelanin RGB absorption per fibre diameter), light
crossing a fibre twice.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from ..color import linear_to_srgb8, srgb_to_linear

# ---- spectral sampling ------------------------------------------------------------------------
WAVELENGTHS_NM = np.arange(400.0, 701.0, 10.0)  # (31,)

# Molar extinction coefficients of hemoglobin in water [cm^-1 / (mol/L)], S. Prahl (OMLC), compiled from
# W. B. Gratzer and N. Kollias; sampled at 400..700 nm every 10 nm.
HBO2_EXTINCTION = np.array([
    266232, 466840, 480360, 246072, 102580, 62816, 44480, 33209.2, 26629.2, 23684.4, 20932.8,
    20035.2, 24202.4, 39956.8, 53236, 43016, 32613.2, 44496, 50104, 14400.8, 3200,
    1506, 942, 610, 442, 368, 319.6, 294, 277.6, 276, 290,
])
HB_EXTINCTION = np.array([
    223296, 303956, 407560, 528600, 413280, 103292, 23388.8, 16156.4, 14550, 16684, 20862,
    25773.6, 31589.6, 39036.4, 46592, 53412, 53788, 45072, 37020, 28324.4, 14677.2,
    9443.6, 6509.6, 5148.8, 4345.2, 3750.12, 3226.56, 2795.12, 2407.92, 2051.96, 1794.28,
])

# CIE standard illuminant D65 relative spectral power, 400..700 nm every 10 nm (CIE 015).
D65_SPD = np.array([
    82.7549, 91.4860, 93.4318, 86.6823, 104.865, 117.008, 117.812, 114.861, 115.923, 108.811, 109.354,
    107.802, 104.790, 107.689, 104.405, 104.046, 100.000, 96.3342, 95.7880, 88.6856, 90.0062,
    89.5991, 87.6987, 83.2886, 83.6992, 80.0268, 80.2146, 82.2778, 78.2842, 69.7213, 71.6091,
])

# XYZ -> linear sRGB (D65 white), IEC 61966-2-1.
XYZ_TO_SRGB = np.array([
    [3.2404542, -1.5371385, -0.4985314],
    [-0.9692660, 1.8760108, 0.0415560],
    [0.0556434, -0.2040259, 1.0572252],
])

# ---- model constants --------------------------------------------------------------------------
EPIDERMIS_CM = 0.01  # 100 um, typical facial epidermis
OXY_SATURATION = 0.75  # mixed arterial / venous dermal blood
HEMOGLOBIN_G_PER_L = 150.0
HEMOGLOBIN_G_PER_MOL = 64500.0
SKIN_REFRACTIVE_INDEX = 1.4

# LUT domain (Jimenez et al. 2010 use similar ranges): melanosome volume fraction in the epidermis and
# blood volume fraction in the dermis. Jacques 1998 quotes 1.3-6.3 % (light), 11-16 % (medium) and
# 18-43 % (dark) melanosome fractions; dermal blood is typically 0.2-7 %.
MELANIN_MAX = 0.5
HEMOGLOBIN_MAX = 0.2
LUT_SIZE = 64

# Monk Skin Tone scale (Monk 2019; Google's published swatches) -> epidermal melanosome fraction.
# The fractions span Jacques' ranges (pale ~1 %, medium 5-15 %, very dark 35-45 %) and were spaced by
# matching the LUT luminance to the swatches' relative luminance (swatches are display colours of lit
# skin, so only their ordering and ratios are meaningful for an albedo); the darkest swatches match the
# LUT albedo directly. tests/test_texture.py checks the ordering.
MONK_MELANIN = (0.010, 0.015, 0.020, 0.028, 0.045, 0.09, 0.15, 0.24, 0.34, 0.45)
MONK_SWATCHES = (
    "#f6ede4", "#f3e7db", "#f7ead0", "#eadaba", "#d7bd96",
    "#a07e56", "#825c43", "#604134", "#3a312a", "#292420",
)


def monk_melanin(category: int) -> float:
    """Melanosome volume fraction for a Monk category 1..10."""
    return MONK_MELANIN[int(category) - 1]


def nearest_monk(melanin: float) -> int:
    """The Monk category 1..10 whose melanin fraction is nearest (in log space) to `melanin`."""
    d = np.abs(np.log(np.maximum(melanin, 1e-4)) - np.log(np.asarray(MONK_MELANIN)))
    return int(np.argmin(d)) + 1


# ---- colour science -----------------------------------------------------------------------------
def _piecewise_gaussian(lam: np.ndarray, mu: float, s1: float, s2: float) -> np.ndarray:
    s = np.where(lam < mu, s1, s2)
    return np.exp(-0.5 * ((lam - mu) / s) ** 2)


def cie1931_cmf(lam: np.ndarray) -> np.ndarray:
    """(N, 3) CIE 1931 2-degree colour matching functions, Wyman, Sloan & Shirley 2013 multi-lobe fit."""
    g = _piecewise_gaussian
    x = 1.056 * g(lam, 599.8, 37.9, 31.0) + 0.362 * g(lam, 442.0, 16.0, 26.7) - 0.065 * g(lam, 501.1, 20.4, 26.2)
    y = 0.821 * g(lam, 568.8, 46.9, 40.5) + 0.286 * g(lam, 530.9, 16.3, 31.1)
    z = 1.217 * g(lam, 437.0, 11.8, 36.0) + 0.681 * g(lam, 459.0, 26.0, 13.8)
    return np.stack([x, y, z], axis=-1)


@lru_cache(maxsize=1)
def _reflectance_to_xyz() -> np.ndarray:
    """(31, 3): reflectance spectrum -> XYZ under D65, with Y(white) = 1."""
    w = cie1931_cmf(WAVELENGTHS_NM) * D65_SPD[:, None]
    return w / w[:, 1].sum()


def spectrum_to_linear_srgb(reflectance: np.ndarray) -> np.ndarray:
    """(..., 31) reflectance spectra -> (..., 3) linear sRGB (not clipped)."""
    xyz = reflectance @ _reflectance_to_xyz()
    return xyz @ XYZ_TO_SRGB.T


def hex_to_linear(color: str) -> np.ndarray:
    """'#rrggbb' -> (3,) linear sRGB float32 (decoded in float64)."""
    c = color.lstrip("#")
    srgb = np.array([int(c[i : i + 2], 16) for i in (0, 2, 4)], np.float64) / 255.0
    return srgb_to_linear(srgb).astype(np.float32)


@lru_cache(maxsize=1)
def srgb_encode_table(bits: int = 12) -> np.ndarray:
    """(2**bits,) uint8: linear value (quantized to `bits`) -> sRGB byte, so textures encode by one lookup."""
    return linear_to_srgb8(np.arange(2**bits, dtype=np.float64) / (2**bits - 1))


def encode_srgb8(linear: np.ndarray, bits: int = 12) -> np.ndarray:
    """Linear float image in [0, 1] -> sRGB uint8 of the same shape, via the lookup table."""
    n = np.float32(2**bits - 1)
    scaled = np.clip(linear, 0.0, 1.0).astype(np.float32, copy=False)
    scaled *= n
    scaled += np.float32(0.5)  # truncation after +0.5 = rounding
    return srgb_encode_table(bits)[scaled.astype(np.uint16)]


# ---- tissue optics ------------------------------------------------------------------------------
def melanin_absorption(lam: np.ndarray = WAVELENGTHS_NM) -> np.ndarray:
    """mu_a of a melanosome [cm^-1] (Jacques)."""
    return 6.6e11 * lam**-3.33


def baseline_absorption(lam: np.ndarray = WAVELENGTHS_NM) -> np.ndarray:
    """mu_a of bloodless, pigment-free tissue [cm^-1] (Jacques 2013)."""
    return 0.244 + 85.3 * np.exp(-(lam - 154.0) / 66.2)


def blood_absorption(saturation: float = OXY_SATURATION) -> np.ndarray:
    """mu_a of whole blood [cm^-1] at WAVELENGTHS_NM (Prahl's extinction, 150 g/L hemoglobin)."""
    eps = saturation * HBO2_EXTINCTION + (1.0 - saturation) * HB_EXTINCTION
    return np.log(10.0) * eps * HEMOGLOBIN_G_PER_L / HEMOGLOBIN_G_PER_MOL


def skin_scattering(lam: np.ndarray = WAVELENGTHS_NM) -> np.ndarray:
    """Reduced scattering mu_s' of skin [cm^-1] (Jacques 2013, Table 2 average for skin)."""
    return 46.0 * (lam / 500.0) ** -1.421


def km_slab(k: np.ndarray, s: np.ndarray, d: float) -> tuple[np.ndarray, np.ndarray]:
    """Kubelka-Munk reflectance and transmittance of a slab of thickness d (any broadcast shapes)."""
    a = 1.0 + k / s
    b = np.sqrt(a * a - 1.0)
    bsd = b * s * d
    sh, ch = np.sinh(bsd), np.cosh(bsd)
    den = a * sh + b * ch
    return sh / den, b / den


def km_infinite(k: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Kubelka-Munk reflectance of an optically thick layer."""
    q = k / s
    return 1.0 + q - np.sqrt(q * q + 2.0 * q)


def internal_diffuse_reflectance(n: float) -> float:
    """Diffuse internal reflectance of a dielectric boundary seen from inside (Egan & Hilgeman 1979 fit)."""
    return -1.440 / n**2 + 0.710 / n + 0.668 + 0.0636 * n


def saunderson(r_body: np.ndarray, n: float = SKIN_REFRACTIVE_INDEX) -> np.ndarray:
    """Body reflectance seen through the interface, without the external specular part."""
    ri = internal_diffuse_reflectance(n)
    return (1.0 - ri) * r_body / (1.0 - ri * r_body)


def skin_reflectance(melanin: np.ndarray, hemoglobin: np.ndarray) -> np.ndarray:
    """(..., 31) diffuse reflectance spectra for melanosome fractions and dermal blood fractions (broadcast)."""
    mel = np.asarray(melanin, np.float64)[..., None]
    hb = np.asarray(hemoglobin, np.float64)[..., None]
    base = baseline_absorption()
    scat = 0.75 * skin_scattering()
    mua_epi = mel * melanin_absorption() + (1.0 - mel) * base
    mua_derm = hb * blood_absorption() + (1.0 - hb) * base
    r_e, t_e = km_slab(2.0 * mua_epi, scat, EPIDERMIS_CM)
    r_d = km_infinite(2.0 * mua_derm, scat)
    body = r_e + t_e * t_e * r_d / (1.0 - r_e * r_d)
    return saunderson(body)


def skin_linear_rgb(melanin, hemoglobin) -> np.ndarray:
    """(..., 3) linear sRGB albedo, clipped to [0, 1]."""
    return np.clip(spectrum_to_linear_srgb(skin_reflectance(melanin, hemoglobin)), 0.0, 1.0)


# ---- the 2D LUT ----------------------------------------------------------------------------------
# Axes are warped by a square root: colour changes fastest at low concentrations, so uniform steps in
# sqrt(fraction) keep bilinear interpolation error small with a 64 x 64 table.
@lru_cache(maxsize=1)
def skin_lut() -> np.ndarray:
    """(LUT_SIZE, LUT_SIZE, 3) float32 linear sRGB albedo over (sqrt melanin axis, sqrt hemoglobin axis)."""
    t = np.linspace(0.0, 1.0, LUT_SIZE)
    mel = (t**2 * MELANIN_MAX)[:, None]
    hb = (t**2 * HEMOGLOBIN_MAX)[None, :]
    return skin_linear_rgb(mel, hb).astype(np.float32)


def lut_lookup(melanin, hemoglobin) -> np.ndarray:
    """Bilinear LUT lookup: (...) melanin and hemoglobin fractions -> (..., 3) float32 linear sRGB.

    The LUT is treated as a 64 x 64 image (row = melanin axis, column = hemoglobin axis) and read with
    cv2.remap, which does the bilinear interpolation multi-threaded."""
    shape = np.broadcast_shapes(np.shape(melanin), np.shape(hemoglobin))
    n = np.float32(LUT_SIZE - 1)
    mel = np.broadcast_to(np.asarray(melanin, np.float32), shape)
    hb = np.broadcast_to(np.asarray(hemoglobin, np.float32), shape)
    rows = np.sqrt(np.clip(mel * np.float32(1.0 / MELANIN_MAX), 0.0, 1.0)) * n
    cols = np.sqrt(np.clip(hb * np.float32(1.0 / HEMOGLOBIN_MAX), 0.0, 1.0)) * n
    if len(shape) != 2 or max(shape) >= 32767:  # remap wants a 2D map of moderate size
        size = int(np.prod(shape))
        width = 1024
        pad = (-size) % width
        rows = np.pad(rows.ravel(), (0, pad)).reshape(-1, width)
        cols = np.pad(cols.ravel(), (0, pad)).reshape(-1, width)
        out = cv2.remap(skin_lut(), cols, rows, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return out.reshape(-1, 3)[:size].reshape(shape + (3,))
    return cv2.remap(skin_lut(), np.ascontiguousarray(cols), np.ascontiguousarray(rows), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


# ---- iris ----------------------------------------------------------------------------------------
IRIS_STROMA_CM = 0.03  # stroma thickness (~300 um)
IRIS_BORDER_CM = 0.005  # anterior border layer (~50 um), where most iris melanin sits
IRIS_EPITHELIUM_REFLECTANCE = 0.03  # the posterior pigment epithelium is nearly black


def pheomelanin_absorption(lam: np.ndarray = WAVELENGTHS_NM) -> np.ndarray:
    """Pheomelanin mu_a [cm^-1 per unit fraction]: lambda^-4.7, equal to eumelanin's at 500 nm (see module doc)."""
    return melanin_absorption(np.array(500.0)) * (lam / 500.0) ** -4.7


def iris_linear_rgb(eumelanin, pheomelanin) -> np.ndarray:
    """(..., 3) linear sRGB iris colour for melanin volume fractions of the anterior border layer.

    The pigment-free stroma is a Kubelka-Munk slab whose collagen scatters like small particles
    (lambda^-4 Tyndall/Rayleigh term, plus a weak lambda^-1.4 term for larger structures) over the dark
    pigment epithelium; the melanin-bearing anterior border layer filters light on the way in and out
    (Beer-Lambert, twice its thickness)."""
    eu = np.asarray(eumelanin, np.float64)[..., None]
    ph = np.asarray(pheomelanin, np.float64)[..., None]
    lam = WAVELENGTHS_NM
    scat = 0.75 * (60.0 * (lam / 500.0) ** -4.0 + 20.0 * (lam / 500.0) ** -1.421)
    r, t = km_slab(2.0 * baseline_absorption(), scat, IRIS_STROMA_CM)
    rb = IRIS_EPITHELIUM_REFLECTANCE
    stroma = r + t * t * rb / (1.0 - r * rb)
    mua = eu * melanin_absorption() + ph * pheomelanin_absorption()
    body = stroma * np.exp(-2.0 * mua * IRIS_BORDER_CM)
    return np.clip(spectrum_to_linear_srgb(saunderson(body)), 0.0, 1.0)


# Border-layer melanin (eumelanin, pheomelanin) per eye colour category. Blue/grey irides carry almost
# no pigment (their colour is scattering); green and hazel irides are pheomelanin-rich; brown irides are
# eumelanin-rich (Prota et al. 1998, "Characterization of melanins in human irides and cultured uveal
# melanocytes from eyes of different colors").
EYE_COLOR_MELANIN = {
    "blue": (0.002, 0.0005),
    "gray": (0.008, 0.004),
    "green": (0.004, 0.06),
    "hazel": (0.08, 0.12),
    "brown": (0.25, 0.1),
    "dark_brown": (0.6, 0.1),
}


# ---- hair ----------------------------------------------------------------------------------------
EUMELANIN_RGB = np.array([0.419, 0.697, 1.37])  # d'Eon et al. 2011, absorption per unit concentration
PHEOMELANIN_RGB = np.array([0.187, 0.4, 1.05])

# (eumelanin, pheomelanin) concentrations per hair colour (d'Eon et al. 2011 range 0..8).
HAIR_COLOR_MELANIN = {
    "black": (8.0, 0.2),
    "dark_brown": (4.0, 0.3),
    "brown": (2.0, 0.4),
    "light_brown": (1.0, 0.3),
    "blond": (0.3, 0.15),
    "red": (0.4, 1.6),
    "gray": (0.15, 0.05),
}


def hair_linear_rgb(eumelanin: float, pheomelanin: float) -> np.ndarray:
    """(3,) linear colour of a hair lying on skin: d'Eon's absorption per fibre diameter, crossed twice
    (light enters the fibre, reflects off the skin below it and leaves through it again)."""
    sigma_a = eumelanin * EUMELANIN_RGB + pheomelanin * PHEOMELANIN_RGB
    return np.exp(-2.0 * sigma_a).astype(np.float32)
