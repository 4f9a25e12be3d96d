"""Outfit: the items one subject wears, each an ItemMesh fitted to the subject's neutral and bound to the
face model, so that `evaluate(vertices)` poses them for any expression (and any identity, though they were
fitted to one).

Item: kind (glasses, clothing, headwear, facewear), variant, its params, the mesh at rest, and its
binding: a RigidBinding (glasses, hard hats: the mesh moves as one rigid body with a few skin anchors) or a
Binding of every mesh vertex (garments, masks, soft hats: each vertex follows its skin point with a fixed
offset in that point's frame). hair_clip: where the item covers the scalp or the face (skin triangle ids
and the clearance under it) so that make_asset can drop the strands that would poke through it.

make_outfit(model, params, rng, identity) fits everything (target 0.2 s per subject: bench/bench_items.py).
Randomness: the rng gives one child seed per item type (drawn whatever is worn), so changing one item never
changes another.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ...errors import InputError
from ..binding import Binding, RigidBinding
from .fit import FitContext
from .hair import HairClip
from .mesh import ItemMesh, vertex_normals
from .params import KINDS, OutfitParams


@dataclass(frozen=True, eq=False)
class Item:
    kind: str
    variant: str
    params: object
    mesh: ItemMesh
    binding: Binding | RigidBinding
    hair_clip: HairClip | None = None
    info: Mapping = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InputError(f"unknown item kind {self.kind!r}; known: {', '.join(KINDS)}")
        if isinstance(self.binding, Binding) and len(self.binding) != self.mesh.n_vertices:
            raise InputError(f"{self.kind}: binding has {len(self.binding)} points for {self.mesh.n_vertices} vertices")

    @property
    def rigid(self) -> bool:
        return isinstance(self.binding, RigidBinding)

    def evaluate(self, vertices: np.ndarray) -> np.ndarray:
        """(n, 3) or (B, n, 3) float32 item vertices on (V, 3) or (B, V, 3) model vertices (cm)."""
        if self.rigid:
            return self.binding.apply(vertices, self.mesh.positions)
        return self.binding.evaluate(vertices)

    def normals(self, vertices: np.ndarray, positions: np.ndarray | None = None) -> np.ndarray:
        """(n, 3) float32 unit normals of the posed item on (V, 3) vertices: the rest normals turned with a
        rigid item, recomputed from the posed triangles of a soft one (positions: the posed vertices if
        already known)."""
        if self.rigid:
            r, _ = self.binding.transform(vertices)
            n = np.asarray(self.mesh.normals, np.float64) @ r.T
            return (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)
        pos = self.evaluate(vertices) if positions is None else positions
        return vertex_normals(pos, self.mesh.triangles)

    def digest_update(self, h) -> None:
        h.update(f"{self.kind}/{self.variant}/{self.params.model_dump_json()}".encode())
        self.mesh.digest_update(h)
        b = self.binding.anchors if self.rigid else self.binding
        for a in (b.tri, b.bary, b.offset, b.weight):
            h.update(np.ascontiguousarray(a).tobytes())
        if self.rigid:
            h.update(np.ascontiguousarray(self.binding.rest).tobytes())
            h.update(np.ascontiguousarray(self.binding.weights).tobytes())
        if self.hair_clip is not None:
            h.update(np.ascontiguousarray(self.hair_clip.triangles).tobytes())
            h.update(np.ascontiguousarray(self.hair_clip.clearance).tobytes())


@dataclass(frozen=True, eq=False)
class Outfit:
    items: tuple[Item, ...]
    params: OutfitParams
    info: Mapping = field(default_factory=dict)

    def item(self, kind: str) -> Item | None:
        for it in self.items:
            if it.kind == kind:
                return it
        return None

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(it.kind for it in self.items)

    def evaluate(self, vertices: np.ndarray) -> dict[str, np.ndarray]:
        return {it.kind: it.evaluate(vertices) for it in self.items}

    def without(self, kind: str) -> "Outfit":
        """The outfit with the item of `kind` taken off (itself when none is worn); the others unchanged."""
        if kind not in KINDS:
            raise InputError(f"unknown item kind {kind!r}; known: {', '.join(KINDS)}")
        if self.item(kind) is None:
            return self
        return Outfit(tuple(it for it in self.items if it.kind != kind), self.params.model_copy(update={kind: None}),
                      self.info)

    def digest(self) -> str:
        h = hashlib.sha256()
        for it in self.items:
            it.digest_update(h)
        return h.hexdigest()[:16]


def make_outfit(model, params: OutfitParams, rng: np.random.Generator, *, identity=None,
                rest_vertices: np.ndarray | None = None, hair_volume: float = 0.0) -> Outfit:
    """Fit every item of `params` to the subject with `identity` weights (or given rest vertices; default the
    model's neutral). hair_volume: cm the subject's scalp hair stands off the scalp (hats sit on it).
    Returns an Outfit whose items are bound to the model."""
    from .clothing import fit_clothing
    from .facewear import fit_facewear
    from .glasses import fit_glasses
    from .headwear import fit_headwear

    if not isinstance(params, OutfitParams):
        raise InputError(f"params must be an OutfitParams (see sample_outfit_params), got {type(params).__name__}")
    t0 = time.perf_counter()
    seeds = {k: int(s) for k, s in zip(KINDS, rng.integers(0, 2**63 - 1, size=len(KINDS)))}
    if rest_vertices is None:
        rest_vertices = model.vertices(identity) if identity is not None else model.neutral
    ctx = FitContext(model, rest_vertices)
    items, seconds = [], {}
    for kind in KINDS:
        p = getattr(params, kind)
        if p is None:
            continue
        t = time.perf_counter()
        item_rng = np.random.default_rng(seeds[kind])
        if kind == "glasses":
            mesh, binding, info = fit_glasses(ctx, p)
            items.append(Item(kind, p.frame, p, mesh, binding, None, info))
        elif kind == "clothing":
            mesh, binding, info = fit_clothing(ctx, p, item_rng)
            items.append(Item(kind, p.style, p, mesh, binding, None, info))
        elif kind == "headwear":
            mesh, binding, clip, info = fit_headwear(ctx, p, item_rng, hair_volume)
            items.append(Item(kind, p.kind, p, mesh, binding, clip, info))
        elif kind == "facewear":
            mesh, binding, clip, info = fit_facewear(ctx, p, item_rng)
            items.append(Item(kind, p.kind, p, mesh, binding, clip, info))
        else:
            from .jewellery import fit_jewellery

            mesh, binding, info = fit_jewellery(ctx, kind, p)
            items.append(Item(kind, p.style, p, mesh, binding, None, info))
        seconds[kind] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    return Outfit(tuple(items), params, {"seconds": seconds})

