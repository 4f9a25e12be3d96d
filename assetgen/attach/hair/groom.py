"""make_groom: scalp hair, eyebrows, beard / moustache and eyelashes of one head, bound to the face model.

Randomness: the one RNG passed in draws six child seeds first (scalp, brows, beard, lashes, colour, spare),
and every part draws from its own child stream, so a part's shape depends only on its own parameters and
stream: switching the beard style does not move a single scalp strand, and same params + same seed give
byte-identical grooms (Groom.digest()).

Bindings: scalp and beard strands use mode "blend": rigid in the root frame over the first quarter of the
strand (at most 0.5 cm), draping beyond 60 % (at most 1.5 cm) with the skin under them (the skin point
towards the head centre, HeadGeometry.radial_anchor), so on a wider or narrower head, or an open jaw, hair
stays the same distance off the skin; brows and lashes use mode "root" (rigid in their root frame: they
turn with the brow and the lid).
"""

from __future__ import annotations

import time

import numpy as np

from ...errors import InputError
from ..head import head_geometry
from .color import absorption, absorption_to_color, concentrations, strand_melanin
from .face_hair import grow_beard, grow_brow, grow_lashes
from .params import GroomParams
from .scalp import grow_scalp
from .strands import Groom, make_group
from .zones import Landmarks

# fibre radius at the root (cm), ribbon fill (alpha) and tip taper per region
REGION_LOOK = {
    "scalp_hair": dict(root_radius=0.0035, coverage=0.9, tip_taper=0.6),
    "eyebrow_left": dict(root_radius=0.004, coverage=1.0, tip_taper=0.7),
    "eyebrow_right": dict(root_radius=0.004, coverage=1.0, tip_taper=0.7),
    "beard": dict(root_radius=0.006, coverage=0.9, tip_taper=0.6),
    "moustache": dict(root_radius=0.006, coverage=0.9, tip_taper=0.6),
    "eyelashes": dict(root_radius=0.005, coverage=1.0, tip_taper=0.8),
}
_PARTS = ("scalp", "brows", "beard", "lashes", "color", "spare")


def make_groom(model, params: GroomParams, rng: np.random.Generator, *, rest_vertices: np.ndarray | None = None,
               parts: tuple[str, ...] = ("scalp", "brows", "beard", "lashes")) -> Groom:
    """Grow a groom for `model` on rest_vertices (V, 3) (default the neutral) from params and rng.

    parts: which of scalp, brows, beard, lashes to make. Returns a Groom whose groups are bound to the
    model: groom.evaluate(model.vertices(identity, expression)) poses every strand."""
    if not isinstance(params, GroomParams):
        raise InputError(f"params must be a GroomParams (see sample_groom_params), got {type(params).__name__}")
    unknown = set(parts) - {"scalp", "brows", "beard", "lashes"}
    if unknown:
        raise InputError(f"unknown groom part(s) {sorted(unknown)}; known: scalp, brows, beard, lashes")
    t_start = time.perf_counter()
    seeds = dict(zip(_PARTS, rng.integers(0, 2**63 - 1, size=len(_PARTS))))
    stream = {k: np.random.default_rng(int(v)) for k, v in seeds.items()}
    geo = head_geometry(model, rest_vertices)
    lm = Landmarks(geo)
    t_geo = time.perf_counter()
    raw: list[tuple[str, dict, str, np.random.Generator]] = []
    c = params.color
    if "scalp" in parts:
        d = grow_scalp(geo, lm, params.scalp, stream["scalp"])
        if d is not None:
            raw.append(("scalp_hair", d, "blend", np.random.default_rng([int(seeds["color"]), 0])))
    if "brows" in parts:
        for i, (side, region) in enumerate(((1, "eyebrow_left"), (-1, "eyebrow_right"))):
            d = grow_brow(geo, lm, params.brows, stream["brows"], side)
            if d is not None:
                raw.append((region, d, "root", np.random.default_rng([int(seeds["color"]), 1 + i])))
    if "beard" in parts:
        d = grow_beard(geo, lm, params.beard, stream["beard"])
        if d is not None:
            mous = d.pop("moustache")
            for j, (region, sel) in enumerate((("beard", ~mous), ("moustache", mous))):
                if sel.any():
                    raw.append((region, {k: v[sel] for k, v in d.items()}, "blend",
                                np.random.default_rng([int(seeds["color"]), 3 + j])))
    if "lashes" in parts:
        d = grow_lashes(geo, lm, params.lashes, stream["lashes"])
        if d is not None:
            labels = {"eye": d.pop("eye"), "upper": d.pop("upper")}
            d["labels"] = labels
            raw.append(("eyelashes", d, "root", np.random.default_rng([int(seeds["color"]), 5])))
    t_grow = time.perf_counter()
    groups = []
    for region, d, mode, crng in raw:
        s = len(d["root_tri"])
        face = region != "scalp_hair"
        mel0 = c.face_melanin if face else c.melanin
        red0 = c.face_redness if face else c.melanin_redness
        grey_frac = c.grey_fraction * (0.7 if region.startswith("eyebrow") or region == "eyelashes" else 1.0)
        if region == "eyelashes":
            mel0, red0 = max(mel0, 0.85), min(red0, 0.3)  # lashes stay dark
        mel, red, grey = strand_melanin(crng, s, mel0, red0, grey_frac, c.random_color)
        eu, ph = concentrations(mel, red)
        dye = c.dye if (c.dye is not None and not (face and c.face_independent)) else None
        sig = absorption(eu, ph, dye, c.dye_strength, c.radial_roughness)
        col = absorption_to_color(sig, c.radial_roughness)
        look = REGION_LOOK[region]
        # blend: root frame over the first ~25 % of a strand (at most 0.5 cm), draping beyond ~60 % (1.5 cm)
        mean_len = float(np.mean(np.linalg.norm(np.diff(d["points"], axis=1), axis=2).sum(1))) if s else 1.0
        blend = (min(0.5, 0.25 * mean_len), min(1.5, 0.6 * mean_len))
        groups.append(make_group(
            region, geo, d["points"], d["root_tri"], d["root_bary"], side_world=d["side"], width=d["width"],
            coverage=look["coverage"], root_radius=look["root_radius"], tip_taper=look["tip_taper"],
            melanin=mel, redness=red, grey=grey, absorption=sig, color=col, mode=mode, blend=blend,
            labels=d.get("labels"), normals=d.get("normals", "smooth"), frame_anchors=d.get("frame_anchors"),
            collide_on_pose=region == "eyelashes"))
    t_end = time.perf_counter()
    info = dict(seconds=dict(geometry=t_geo - t_start, grow=t_grow - t_geo, bind=t_end - t_grow, total=t_end - t_start),
                n_strands={g.region: g.n_strands for g in groups})
    return Groom(tuple(groups), params, np.asarray(geo.rest, np.float32), info)
