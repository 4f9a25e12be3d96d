"""make_groom: scalp hair, eyebrows, beard / moustache and eyelashes of one head, bound to the face model.

Randomness: the one RNG passed in draws six child seeds first (scalp, brows, beard, lashes, colour, spare),
and every part draws from its own child stream, so a part's shape depends only on its own parameters and
stream: switching the beard style does not move a single scalp strand, and same params + same seed give
byte-identical grooms (Groom.digest()).

Bindings: scalp and beard strands use mode "blend": rigid in the root frame over the first quarter of the
strand (at most 0.5 cm), draping beyond 60 % (at most 1.5 cm) with the skin under them (the skin point
towards the head centre, HeadGeometry.radial_anchor), so on a wider or narrower head, or an open jaw, hair
stays the same distance off the skin; brows, lashes and groups of hair under 1 cm (buzz cuts, stubble) use
mode "root" (rigid in their root frame: they turn with the skin they grow from).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ...errors import InputError
from ..head import head_geometry
from .color import clump_colour, concentrations, melanin_knobs, strand_melanin
from .face_hair import grow_beard, grow_brow, grow_lashes
from .params import GroomParams
from .scalp import grow_scalp
from .strands import Groom, StrandGroup, make_group
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
    geo.warm()
    t_geo = time.perf_counter()
    c = params.color

    def colour_rng(i: int) -> np.random.Generator:
        return np.random.default_rng([int(seeds["color"]), i])

    def face() -> tuple[list[StrandGroup], float]:
        t = time.perf_counter()
        raw = []
        if "brows" in parts:
            for i, (side, region) in enumerate(((1, "eyebrow_left"), (-1, "eyebrow_right"))):
                d = grow_brow(geo, lm, params.brows, stream["brows"], side)
                if d is not None:
                    raw.append((region, d, "root", colour_rng(1 + i)))
        if "beard" in parts:
            d = grow_beard(geo, lm, params.beard, stream["beard"])
            if d is not None:
                mous = d.pop("moustache")
                for j, (region, sel) in enumerate((("beard", ~mous), ("moustache", mous))):
                    if sel.any():
                        raw.append((region, {k: v[sel] for k, v in d.items()}, "blend", colour_rng(3 + j)))
        if "lashes" in parts:
            d = grow_lashes(geo, lm, params.lashes, stream["lashes"])
            if d is not None:
                labels = {"eye": d.pop("eye"), "upper": d.pop("upper")}
                d["labels"] = labels
                raw.append(("eyelashes", d, "root", colour_rng(5)))
        groups = [_Bound(geo, c, *item).bind() for item in raw]
        return groups, time.perf_counter() - t

    # The scalp and the face hair are independent (own streams, read-only head geometry): the face hair is
    # grown and bound in a worker thread while this one grows the scalp, whose binding (per point) is then
    # split between both threads (the second half is the worker's if it is free by then); numpy and open3d
    # release the GIL for the heavy work. Same bytes whichever thread does what.
    times = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        face_job = pool.submit(face) if {"brows", "beard", "lashes"} & set(parts) else None
        scalp = []
        if "scalp" in parts:
            t = time.perf_counter()
            d = grow_scalp(geo, lm, params.scalp, stream["scalp"])
            if d is not None:
                bound = _Bound(geo, c, "scalp_hair", d, "blend", colour_rng(0))
                n = len(d["root_tri"])
                halves = [slice(0, n // 2), slice(n // 2, n)] if n >= SPLIT_BINDING else [slice(0, n)]
                later = pool.submit(bound.bind, halves[1]) if len(halves) > 1 else None
                done = [bound.bind(halves[0])]
                if later is not None:  # the worker's, unless it is still busy with the face: then ours
                    done.append(bound.bind(halves[1]) if later.cancel() else later.result())
                scalp = [StrandGroup.concat(done)]
            times["scalp"] = time.perf_counter() - t
        face_groups = []
        if face_job is not None:
            face_groups, times["face"] = face_job.result()
    groups = scalp + face_groups
    t_end = time.perf_counter()
    info = dict(seconds=dict(geometry=t_geo - t_start, total=t_end - t_start, **times),
                n_strands={g.region: g.n_strands for g in groups})
    return Groom(tuple(groups), params, np.asarray(geo.rest, np.float32), info)


SPLIT_BINDING = 2000  # strands from which the scalp's binding is split between two threads
# share of the scalp's grey fraction that greys each face region: brows grey later than the scalp and lashes
# seldom go white at all (beards, like the scalp, are left at 1)
FACE_GREY = {"eyebrows": 0.5, "eyelashes": 0.2}
SHORT = 1.0  # cm: groups of shorter strands (on average) are bound in mode "root", not "blend"


class _Bound:
    """The strands `d` of one region with their colours (drawn from crng for the whole region at once), bound
    to the model by bind(strands) for any slice of them (binding is per point, so the slices of a region
    concatenated are the region bound at once)."""

    def __init__(self, geo, c, region: str, d: dict, mode: str, crng: np.random.Generator):
        s = len(d["root_tri"])
        face = region != "scalp_hair"
        mel0 = c.face_melanin if face else c.melanin
        red0 = c.face_redness if face else c.melanin_redness
        grey_frac = c.grey_fraction * FACE_GREY.get("eyebrows" if region.startswith("eyebrow") else region, 1.0)
        if region == "eyelashes":
            mel0, red0 = max(mel0, 0.85), min(red0, 0.3)  # lashes stay dark
        mel, red, grey = strand_melanin(crng, s, mel0, red0, grey_frac, c.random_color)
        eu, ph = concentrations(mel, red)
        dye = c.dye if (c.dye is not None and not (face and c.face_independent)) else None
        sig, col = clump_colour(eu, ph, grey, dye, c.dye_strength, c.radial_roughness)
        mel, red = melanin_knobs(mel, red, grey)
        # blend: root frame over the first ~25 % of a strand (at most 0.5 cm), draping beyond ~60 % (1.5 cm);
        # hair shorter than SHORT cm on average (buzz cuts, stubble) keeps its shape in the root frame
        mean_len = float(np.mean(np.linalg.norm(np.diff(d["points"], axis=1), axis=2).sum(1))) if s else 1.0
        if mode == "blend" and mean_len < SHORT:
            mode = "root"
        self.geo, self.region, self.mode, self.d = geo, region, mode, d
        self.blend = (min(0.5, 0.25 * mean_len), min(1.5, 0.6 * mean_len))
        self.per_strand = dict(melanin=mel, redness=red, grey=grey, absorption=sig, color=col)

    def bind(self, strands: slice = slice(None)) -> StrandGroup:
        d, look = self.d, REGION_LOOK[self.region]

        def cut(a):
            return None if a is None else np.asarray(a)[strands]

        labels = d.get("labels")
        return make_group(
            self.region, self.geo, cut(d["points"]), cut(d["root_tri"]), cut(d["root_bary"]), side_world=cut(d["side"]),
            width=cut(d["width"]), coverage=look["coverage"], root_radius=look["root_radius"],
            tip_taper=look["tip_taper"], **{k: v[strands] for k, v in self.per_strand.items()}, mode=self.mode,
            blend=self.blend, labels=None if labels is None else {k: v[strands] for k, v in labels.items()},
            normals=d.get("normals", "smooth"), frame_anchors=cut(d.get("frame_anchors")),
            collide_on_pose=self.region == "eyelashes")
