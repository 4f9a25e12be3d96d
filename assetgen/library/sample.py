"""Attribute distributions: what fraction of assets has lipstick, freckles, which skin tones...

One spec serves twice:
  * a batch realizes it: asset `index` of a job gets its target attributes from `targets(index)` and
    the texture parameters are set from them (`texture_overrides`), so the achieved ratios over any
    prefix of a job, and over every shard, are exact up to a few assets;
  * `library sample` draws N existing assets so that the drawn set has the requested ratios.

Targets come from a Kronecker (additive-recurrence) sequence per attribute, frac(u_a + j * alpha_a),
with rationally independent alpha_a (square roots of primes) and offsets u_a from the seed: stratified
(the count of "yes" among the first n is within a couple of n * ratio), and jointly equidistributed, so
attributes are independent of each other (lipstick does not always come with freckles).

YAML (configs/distributions/*.yaml):
    lipstick: 0.2          # fraction with the attribute, in [0, 1]
    freckles: 0.1
    skin_tone: uniform     # or a list of categories (uniform over them) or {monk_01: 0.3, ...}
    hair_style: {curly: 0.1, long_straight: 0.4, buzz: 0.5}   # hair: the recipe needs a hair section
    beard_style: uniform
    hair_color: [black, brown, blond, grey]   # buckets of the hair_color label
    grey: 0.2              # share with grey_fraction >= 0.5 (instead of hair_color, not with it)
    glasses: 0.15          # items (the recipe needs an items section): the share wearing any, or the
    headwear: {none: 0.85, beanie: 0.05, baseball_cap: 0.1}   # label's categories (glasses: none, clear,
    facewear: 0.01         # tinted, sunglasses; clothing: none or a garment; headwear; facewear;
    earrings: 0.10         # earrings: none, stud, hoop, drop; piercings: none, nostril_stud, nostril_ring,
    piercings: 0.03        # septum, brow)
    makeup: 0.15           # the share wearing a make-up look (DigiFace-1M's 0.15)

Make-up: `makeup` decides whether a subject wears a look, a sampled combination of the lipstick, blush,
eyeshadow and eyeliner layers (LOOKS: lips, eyes, natural, evening, full; colours and opacities from the
layers' palettes), or none of them. A per-layer key (lipstick, blush, eyeshadow, eyeliner) then decides its
own layer on top of the look: with makeup 0.15 and lipstick 0.3, 30 % wear lipstick and the looks of the
others never have it unless their lipstick target says so; the asset's `makeup` label (any layer worn)
then reads above 0.15. Give either `makeup` or the layers for one exact share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError, validation_problems
from ..yamlio import load_yaml

BINARY = ("lipstick", "freckles", "blush", "eyeshadow", "eyeliner", "stubble")
CATEGORIES = {
    "skin_tone": tuple(f"monk_{i:02d}" for i in range(1, 11)),
    "eye_color": ("blue", "gray", "green", "hazel", "brown", "dark_brown"),
}
# Hair (the recipe's hair section realizes them): grey = share of subjects whose grey_fraction >= 0.5.
HAIR_BINARY = ("grey",)
HAIR_CATEGORIES = {
    "hair_style": ("bald", "buzz", "crew", "medium", "long_straight", "wavy", "curly", "coily", "ponytail", "bun",
                   "bob", "receding", "balding"),
    "beard_style": ("none", "stubble", "moustache", "goatee", "chin_strap", "short", "full"),
    "hair_color": ("black", "dark_brown", "brown", "light_brown", "blond", "red", "grey", "white", "dyed"),
}
ALL_BINARY = BINARY + HAIR_BINARY
ALL_CATEGORIES = {**CATEGORIES, **HAIR_CATEGORIES}
HAIR_KEYS = HAIR_BINARY + tuple(HAIR_CATEGORIES)
# Items (the recipe's items section realizes them): a ratio = the share wearing one (label != none), or a
# categorical over the label's values.
ITEM_CATEGORIES = {
    "glasses": ("none", "clear", "tinted", "sunglasses"),
    "clothing": ("none", "crew_neck", "v_neck", "collared", "turtleneck", "hoodie"),
    "headwear": ("none", "baseball_cap", "beanie", "brimmed_hat", "headscarf", "headband", "helmet"),
    "facewear": ("none", "surgical", "n95", "kn95", "cloth"),
}
ITEM_CATEGORIES["earrings"] = ("none", "stud", "hoop", "drop")
ITEM_CATEGORIES["piercings"] = ("none", "nostril_stud", "nostril_ring", "septum", "brow")
ITEM_KEYS = tuple(ITEM_CATEGORIES)
ITEM_DEFAULTS = {"glasses": 0.15, "headwear": 0.15, "facewear": 0.01, "earrings": 0.10,
                 "piercings": 0.03}  # configs/distributions/items.yaml
# Read from the asset's labels (a boolean label), realized by texture_overrides.
LABEL_BINARY = ("makeup",)
MAKEUP_DEFAULT = 0.15  # DigiFace-1M; configs/distributions/items.yaml
MAKEUP_LAYERS = ("lipstick", "blush", "eyeshadow", "eyeliner")
LOOKS = {"lips": ("lipstick",), "eyes": ("eyeshadow", "eyeliner"), "natural": ("lipstick", "blush"),
         "evening": ("lipstick", "eyeshadow", "eyeliner"), "full": MAKEUP_LAYERS}
_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73)
# New attributes come last: the sequences of the older ones keep their alpha and offset.
_ALPHA = {name: math.sqrt(p) % 1.0 for name, p in zip(BINARY + tuple(CATEGORIES) + HAIR_KEYS + ITEM_KEYS
                                                      + LABEL_BINARY, _PRIMES)}

Categorical = Union[str, list[str], dict[str, float]]


def _check_categorical(v, field: str):
    """A categorical attribute's value: 'uniform', a list of categories or {category: weight} summing to 1."""
    if v is None:
        return v
    known = {**ALL_CATEGORIES, **ITEM_CATEGORIES}[field]
    if isinstance(v, str):
        if v != "uniform":
            raise ValueError("use 'uniform', a list of categories or a mapping category -> weight")
        return v
    items = list(v) if isinstance(v, list) else list(v.keys())
    unknown = [x for x in items if x not in known]
    if unknown or not items:
        raise ValueError(f"unknown categories {unknown} (known: {', '.join(known)})" if unknown else "is empty")
    if isinstance(v, dict):
        if any(w < 0 or w > 1 for w in v.values()):
            raise ValueError("each weight must lie in [0, 1]")
        if abs(sum(v.values()) - 1.0) > 1e-6:
            raise ValueError(f"weights sum to {sum(v.values()):.6g}, not 1")
    return v


class DistributionSpec(BaseModel):
    """Requested attribute ratios (None: not controlled; the backend samples it as usual)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lipstick: float | None = Field(None, ge=0.0, le=1.0)
    freckles: float | None = Field(None, ge=0.0, le=1.0)
    blush: float | None = Field(None, ge=0.0, le=1.0)
    eyeshadow: float | None = Field(None, ge=0.0, le=1.0)
    eyeliner: float | None = Field(None, ge=0.0, le=1.0)
    stubble: float | None = Field(None, ge=0.0, le=1.0)
    skin_tone: Categorical | None = None
    eye_color: Categorical | None = None
    grey: float | None = Field(None, ge=0.0, le=1.0)
    hair_style: Categorical | None = None
    beard_style: Categorical | None = None
    hair_color: Categorical | None = None
    glasses: float | Categorical | None = None
    clothing: float | Categorical | None = None
    headwear: float | Categorical | None = None
    facewear: float | Categorical | None = None
    earrings: float | Categorical | None = None
    piercings: float | Categorical | None = None
    makeup: float | None = Field(None, ge=0.0, le=1.0)

    @field_validator("glasses", "clothing", "headwear", "facewear", "earrings", "piercings", mode="before")
    @classmethod
    def _item(cls, v, info):
        if isinstance(v, bool) or v is None:
            if isinstance(v, bool):
                raise ValueError("give a ratio in [0, 1] or categories, not true/false")
            return v
        if isinstance(v, (int, float)):
            if not 0.0 <= float(v) <= 1.0:
                raise ValueError(f"the share wearing {info.field_name} must lie in [0, 1], got {v}")
            return float(v)
        return _check_categorical(v, info.field_name)

    @field_validator("skin_tone", "eye_color", "hair_style", "beard_style", "hair_color")
    @classmethod
    def _categorical(cls, v, info):
        return _check_categorical(v, info.field_name)

    @model_validator(mode="after")
    def _one_grey_control(self):
        if self.grey is not None and self.hair_color is not None:
            raise ValueError("grey and hair_color both set the grey share; give hair_color grey/white "
                             "weights instead of grey")
        return self

    # -- derived ------------------------------------------------------------------------------------
    def binary(self) -> dict[str, float]:
        out = {k: float(getattr(self, k)) for k in ALL_BINARY + LABEL_BINARY if getattr(self, k) is not None}
        out.update({k: float(getattr(self, k)) for k in ITEM_KEYS if isinstance(getattr(self, k), float)})
        return out

    def hair(self) -> set[str]:
        """The controlled hair attributes (they need a recipe with a hair section)."""
        return {k for k in HAIR_KEYS if getattr(self, k) is not None}

    def items(self) -> set[str]:
        """The controlled item attributes (they need a recipe with an items section)."""
        return {k for k in ITEM_KEYS if getattr(self, k) is not None}

    def categorical(self) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
        """attribute -> (categories, probabilities) for the controlled categorical attributes."""
        out = {}
        for k, known in {**ALL_CATEGORIES, **ITEM_CATEGORIES}.items():
            v = getattr(self, k)
            if v is None or isinstance(v, float):
                continue
            if v == "uniform":
                cats, p = known, np.full(len(known), 1.0 / len(known))
            elif isinstance(v, list):
                cats = tuple(dict.fromkeys(v))
                p = np.full(len(cats), 1.0 / len(cats))
            else:
                cats = tuple(c for c in known if v.get(c, 0) > 0)
                p = np.array([v[c] for c in cats], dtype=np.float64)
                p = p / p.sum()
            out[k] = (cats, p)
        return out

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @property
    def empty(self) -> bool:
        return not self.as_dict()


def distribution_from_dict(data: Any, source: str = "distribution") -> DistributionSpec:
    if data is None:
        return DistributionSpec()
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping attribute -> ratio, got {type(data).__name__}")
    try:
        return DistributionSpec.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, DistributionSpec.model_fields, noun="attribute", show_input=True)
        raise ConfigError(f"{source} is invalid: {problems}") from exc


def load_distribution(path: str | Path) -> DistributionSpec:
    path = Path(path)
    data = load_yaml(path, "distribution")
    return distribution_from_dict(data, source=str(path))


# ---- the stratified target sequence --------------------------------------------------------------
class TargetSequence:
    """targets(j): the attribute values position j of a job (or draw j of a sample) should have."""

    def __init__(self, spec: DistributionSpec, seed: int):
        self.spec = spec
        self.binary = spec.binary()
        self.cat = spec.categorical()
        ss = np.random.SeedSequence([int(seed), 0xD157])
        u = np.random.default_rng(ss).random(len(_ALPHA))
        self.offset = dict(zip(_ALPHA, u))

    def _x(self, attr: str, j: np.ndarray) -> np.ndarray:
        # j * alpha in float64 loses ~1e-16 * j of precision: fine for j < 1e9.
        return np.mod(self.offset[attr] + np.asarray(j, dtype=np.float64) * _ALPHA[attr], 1.0)

    def targets(self, j: int) -> dict[str, Any]:
        return {k: v[0] for k, v in self.targets_array(np.array([j])).items()}

    def targets_array(self, j: np.ndarray) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for attr, ratio in self.binary.items():
            out[attr] = self._x(attr, j) < ratio
        for attr, (cats, p) in self.cat.items():
            cdf = np.cumsum(p)
            cdf[-1] = 1.0
            k = np.minimum(np.searchsorted(cdf, self._x(attr, j), side="right"), len(cats) - 1)
            out[attr] = np.asarray(cats, dtype=object)[k]
        return out


def texture_overrides(targets: dict[str, Any], seed: int) -> dict[str, Any]:
    """SkinParams values that realize `targets` for the asset with seed `seed` (deterministic)."""
    from ..texture.params import BLUSH_PALETTE, EYESHADOW_PALETTE, LIPSTICK_PALETTE

    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xA77]))
    draws = rng.random(16)  # always draw the same count: one attribute never shifts another's numbers
    palettes = {"lipstick": (LIPSTICK_PALETTE, 0.4, 0.95), "blush": (BLUSH_PALETTE, 0.15, 0.45),
                "eyeshadow": (EYESHADOW_PALETTE, 0.25, 0.75),
                "eyeliner": (("#1a1410", "#0d0d0d", "#2e1f14"), 0.6, 1.0)}
    out: dict[str, Any] = {}
    if "makeup" in targets:  # a look first; the per-layer targets below decide their own layers over it
        look_draws = np.random.default_rng(np.random.SeedSequence([int(seed), 0x3A4E])).random(1)
        looks = list(LOOKS.values())
        layers = looks[min(int(look_draws[0] * len(looks)), len(looks) - 1)] if targets["makeup"] else ()
        for i, (attr, (palette, lo, hi)) in enumerate(palettes.items()):
            if attr in layers:
                color = palette[int(draws[2 * i] * len(palette)) % len(palette)]
                out[attr] = {"color": color, "opacity": round(lo + (hi - lo) * float(draws[2 * i + 1]), 3)}
            else:
                out[attr] = None
    for i, (attr, (palette, lo, hi)) in enumerate(palettes.items()):
        if attr in targets:
            if targets[attr]:
                color = palette[int(draws[2 * i] * len(palette)) % len(palette)]
                out[attr] = {"color": color, "opacity": round(lo + (hi - lo) * float(draws[2 * i + 1]), 3)}
            else:
                out[attr] = None
    if "freckles" in targets:
        out["freckles"] = round(0.1 + 0.8 * float(draws[10]), 3) if targets["freckles"] else 0.0
    if "stubble" in targets:
        out["stubble"] = round(0.1 + 0.9 * float(draws[11]), 3) if targets["stubble"] else 0.0
    if "skin_tone" in targets:
        out["skin_tone"] = int(str(targets["skin_tone"]).split("_")[1])
        out["melanin"] = None
    if "eye_color" in targets:
        out["eye_color"] = str(targets["eye_color"])
    return out


def hair_overrides(targets: dict[str, Any], seed: int) -> dict[str, Any]:
    """HairSpec values (recipe hair section fields) that realize the hair `targets` for the asset with seed
    `seed` (deterministic; one fixed draw count, so one attribute never shifts another's numbers)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x4A1]))
    draws = rng.random(8)
    out: dict[str, Any] = {}
    if "hair_style" in targets:
        out["style"] = str(targets["hair_style"])
    if "beard_style" in targets:
        out["beard_style"] = str(targets["beard_style"])
    color: dict[str, Any] = {}
    natural = ("black", "dark_brown", "brown", "light_brown", "blond", "red")
    if "hair_color" in targets:
        bucket = str(targets["hair_color"])
        color.update(dye=None, dye_strength=0.0, grey=round(0.45 * float(draws[0]), 4))
        if bucket in natural:
            out["color"] = bucket
        else:
            # grey, white or dyed: the pigment underneath is a natural colour drawn from the priors
            out["color"] = natural[int(draws[1] * len(natural)) % len(natural)]
            if bucket == "grey":
                color["grey"] = round(0.5 + 0.34 * float(draws[0]), 4)
            elif bucket == "white":
                color["grey"] = round(0.86 + 0.14 * float(draws[0]), 4)
            else:
                color["dye"] = [round(float(x), 4) for x in draws[2:5]]
                color["dye_strength"] = round(0.5 + 0.5 * float(draws[5]), 4)
    if "grey" in targets:
        g = float(draws[0])
        color["grey"] = round(0.5 + 0.5 * g, 4) if targets["grey"] else round(0.45 * g, 4)
    if color:
        out["color_params"] = color
    return out


def item_overrides(targets: dict[str, Any]) -> dict[str, Any]:
    """ItemsSpec values (recipe items section fields) that realize the item `targets`: a ratio's True is
    "any" (worn, variant drawn), False "none"; a category is the variant (glasses: the lens kind)."""
    out: dict[str, Any] = {}
    for key in ITEM_KEYS:
        if key not in targets:
            continue
        v = targets[key]
        if isinstance(v, (bool, np.bool_)):
            out[key] = "any" if v else "none"
        elif key == "glasses":
            out["glasses"] = "none" if v == "none" else "any"
            if v != "none":
                out["lens"] = str(v)
        else:
            out[key] = str(v)
    return out


# ---- sampling existing assets ----------------------------------------------------------------------
@dataclass
class SampleResult:
    ids: list[str]
    requested: dict[str, Any]
    achieved: dict[str, Any]
    candidates: int
    relaxed: int = 0  # draws whose exact attribute combination had no asset (a near one was taken)
    reused: int = 0  # draws that had to repeat an asset (the combination had fewer assets than draws)
    notes: list[str] = field(default_factory=list)


def sample_assets(library, spec: DistributionSpec, n: int, seed: int, where=(), latest: bool = True) -> SampleResult:
    """Draw `n` assets (distinct while the library has enough of each attribute combination) so that
    the drawn set's attribute ratios follow `spec`. Deterministic for a given library content and seed."""
    if n < 1:
        raise ConfigError("--n must be at least 1")
    conn = library.conn
    sql, params = library._where_sql(where, latest)
    seq = TargetSequence(spec, seed)
    attrs = list(seq.binary) + list(seq.cat)
    # SQLite packs each asset's combination into one integer (from the assets' sampling columns) and
    # groups them; members come back in id order (the subquery's order), so a draw depends only on the
    # library's content and the seed, not on insertion order.
    expr, radix, value_maps = "0", [], {}
    for attr in attrs:
        if attr in seq.binary and attr in ITEM_KEYS:  # worn: the item's label is not "none"
            expr = (f"({expr}) * 2 + coalesce((SELECT l.value != '\"none\"' FROM labels l WHERE l.asset = a.rid "
                    f"AND l.key = '{attr}'), 0)")
            radix.append(2)
        elif attr in seq.binary and attr in LABEL_BINARY:  # a boolean label
            expr = (f"({expr}) * 2 + coalesce((SELECT l.value = 'true' FROM labels l WHERE l.asset = a.rid "
                    f"AND l.key = '{attr}'), 0)")
            radix.append(2)
        elif attr in seq.binary and attr in HAIR_BINARY:  # grey: from the grey_fraction label
            expr = (f"({expr}) * 2 + coalesce((SELECT l.num >= 0.5 FROM labels l WHERE l.asset = a.rid "
                    "AND l.key = 'grey_fraction'), 0)")
            radix.append(2)
        elif attr in seq.binary:
            bit = BINARY.index(attr)
            expr = f"({expr}) * 2 + ((sflags >> {bit}) & 1)"
            radix.append(2)
        else:
            cats_all = {**ALL_CATEGORIES, **ITEM_CATEGORIES}[attr]
            if attr in HAIR_CATEGORIES or attr in ITEM_CATEGORIES:  # from the label (our categories: no user text)
                cases = " ".join(f"WHEN '\"{c}\"' THEN {i}" for i, c in enumerate(cats_all))
                col = (f"(SELECT CASE l.value {cases} END FROM labels l WHERE l.asset = a.rid "
                       f"AND l.key = '{attr}')")
            else:
                col = {"skin_tone": "stone", "eye_color": "seye"}[attr]
            expr = f"({expr}) * {len(cats_all) + 1} + coalesce({col}, {len(cats_all)})"
            radix.append(len(cats_all) + 1)
            value_maps[attr] = {c: i for i, c in enumerate(cats_all)}
    groups = conn.execute(
        f"SELECT code, group_concat(rid) FROM (SELECT a.rid AS rid, {expr} AS code FROM assets a "
        f"WHERE {sql} ORDER BY a.id) GROUP BY code", params).fetchall()
    if not groups:
        raise ConfigError("no assets match; nothing to sample")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5A3B]))
    buckets = {}
    for code, members in sorted(groups):
        buckets[int(code)] = rng.permutation(np.array(members.split(","), dtype=np.int64))
    taken = {c: 0 for c in buckets}
    n_candidates = sum(len(m) for m in buckets.values())
    # Desired combination of every draw.
    targets = seq.targets_array(np.arange(n))
    want = np.zeros(n, dtype=np.int64)
    for attr, size in zip(attrs, radix):
        if attr in seq.binary:
            col = targets[attr].astype(np.int64)
        else:
            vm = value_maps[attr]
            col = np.array([vm[v] for v in targets[attr]], dtype=np.int64)
        want = want * size + col
    result = SampleResult(ids=[], requested=spec.as_dict(), achieved={}, candidates=n_candidates)
    digits_cache: dict[int, tuple[int, ...]] = {}

    def digits(code: int) -> tuple[int, ...]:
        if code not in digits_cache:
            out, c = [], code
            for size in reversed(radix):
                out.append(c % size)
                c //= size
            digits_cache[code] = tuple(reversed(out))
        return digits_cache[code]

    chosen = np.empty(n, dtype=np.int64)  # rids
    chosen_code = np.empty(n, dtype=np.int64)
    for j, code in enumerate(want.tolist()):
        bucket_code = code
        if code not in buckets:
            # Nearest existing combination: the most attributes in common, then the fewest used.
            dw = digits(code)
            bucket_code = max(buckets, key=lambda c: (sum(a == b for a, b in zip(digits(c), dw)), -taken[c], -c))
            result.relaxed += 1
        members = buckets[bucket_code]
        t = taken[bucket_code]
        if t >= len(members):
            result.reused += 1
        chosen[j] = members[t % len(members)]
        chosen_code[j] = bucket_code
        taken[bucket_code] = t + 1
    chosen_rids = chosen.tolist()
    id_of: dict[int, str] = {}
    uniq_rids = sorted(set(chosen_rids))
    for start in range(0, len(uniq_rids), 900):
        chunk = uniq_rids[start:start + 900]
        q = f"SELECT rid, id FROM assets WHERE rid IN ({','.join('?' * len(chunk))})"
        id_of.update(conn.execute(q, chunk).fetchall())
    result.ids = [id_of[r] for r in chosen_rids]
    # Achieved ratios, from the drawn assets' own labels.
    for k, attr in enumerate(attrs):
        div = int(np.prod(radix[k + 1:])) if k + 1 < len(radix) else 1
        col = (chosen_code // div) % radix[k]
        if attr in seq.binary:
            result.achieved[attr] = float(col.mean())
        else:
            cats = {**ALL_CATEGORIES, **ITEM_CATEGORIES}[attr]
            result.achieved[attr] = {c: float((col == i).mean()) for i, c in enumerate(cats) if (col == i).any()}
    if result.relaxed:
        result.notes.append(f"{result.relaxed} draws had no asset with the exact attribute combination; "
                            "the nearest combination was used (fill the library with a matching batch)")
    if result.reused:
        result.notes.append(f"{result.reused} draws repeat an asset (too few assets of some combination)")
    return result
