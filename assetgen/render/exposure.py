"""Auto exposure metered on the face, as a camera's face-priority metering does: the rgb image (linear,
background included) is scaled towards the exposure that brings the mean luminance of chosen regions (the
face's skin) to a target: `strength` of that correction in stops (1: every face at the target; cameras
brighten a dark face but do not make it as bright as a pale one), clamped to +-max_ev, then shifted by an
offset (photos are not all metered alike). Without it the face's brightness follows the lighting and the
skin's albedo alone: under a normalised environment a very dark skin renders nearly black, which no camera
with face metering would record."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

LUMA = (0.2126, 0.7152, 0.0722)  # Rec. 709 luminance of linear sRGB primaries
# The stops applied are rounded: a last-bit difference in a mean (another machine's summation) cannot
# change them, so the same image has the same bytes everywhere.
EV_DECIMALS = 4


@dataclass(frozen=True)
class Metering:
    """regions: region names metered (RenderResult.regions); target: their mean linear luminance after a
    full correction; strength: the share of the full correction (in stops) applied; max_ev: the metered
    correction's bound either way; offset_ev: stops added after metering."""

    regions: tuple[str, ...]
    target: float = 0.18
    strength: float = 1.0
    max_ev: float = 4.0
    offset_ev: float = 0.0

    def __post_init__(self):
        if not self.regions:
            raise InputError("metering needs at least one region to meter")
        for name, v in (("target", self.target), ("strength", self.strength), ("max_ev", self.max_ev),
                        ("offset_ev", self.offset_ev)):
            if not math.isfinite(v):
                raise InputError(f"metering {name} must be finite, got {v}")
        if not 0 < self.target <= 1 or not 0 <= self.strength <= 1 or self.max_ev < 0:
            raise InputError(f"metering needs 0 < target <= 1, 0 <= strength <= 1 and max_ev >= 0, got "
                             f"{self.target}, {self.strength}, {self.max_ev}")


def metered_ev(linear: np.ndarray, mask: np.ndarray, m: Metering) -> float:
    """Stops to scale (h, w, 3) linear by: m.strength times those that bring its mean luminance over (h, w)
    bool mask to m.target, clamped to +-m.max_ev, plus m.offset_ev; the offset alone where the mask is empty
    (nothing to meter). Rounded to EV_DECIMALS."""
    if not mask.any():
        return round(float(m.offset_ev), EV_DECIMALS)
    px = linear[mask].astype(np.float64)
    mean = float(np.mean(px[:, 0] * LUMA[0] + px[:, 1] * LUMA[1] + px[:, 2] * LUMA[2]))
    full = math.inf if mean <= 0 else math.log2(m.target / mean)
    ev = min(max(m.strength * full if m.strength else 0.0, -m.max_ev), m.max_ev) + m.offset_ev
    return round(float(ev), EV_DECIMALS)


def region_mask(segmentation: np.ndarray, regions: tuple[str, ...], metered: tuple[str, ...]) -> np.ndarray:
    """(h, w) bool: pixels of `segmentation` (ids into regions) that show one of the `metered` regions."""
    ids = [k for k, name in enumerate(regions) if name in metered]
    return np.isin(segmentation, ids)
