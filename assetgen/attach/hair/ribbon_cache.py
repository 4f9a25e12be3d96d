"""Exact reuse of a subject's hair ribbons across its poses: RibbonCache.

A data set renders one subject many times, each image with its own expression. A strand group's ribbons
are a function of
  * the posed vertices its binding reads: the corners of its anchor triangles (the roots' included, for
    the side vectors) and, with smooth normals, the corners of every triangle around those corners
    (binding.anchor_frames); every vertex for a group with a pose-time collider (the eyelashes' collider
    reads the whole closed skin);
  * the head centre the normals turn away from (head_frame of five landmarks), through nothing but the
    (S, P) mask of the normals it turns over (ribbons.strip_flip);
  * the group itself and the level-of-detail tolerance.
The cache keeps each group's last pose (those inputs, its posed strands and RibbonMesh) and gives bitwise
ribbons.group_ribbons: when the vertex values the group reads are byte for byte the last pose's and the
flip mask under the new centre is unchanged (a hit), the last RibbonMesh object itself comes back, so
callers can tell by identity that the group did not change; otherwise (a miss) the group is built again,
its strands posed by StrandGroup.evaluate. `hits` and
`misses` count the builds per region.

With the ICT face model an expression moves (by up to ~2 mm) the back of the head, the neck and the ears
that long scalp hair drapes over, and the brows and lids: in a data set of random expressions most builds
miss; a pose that leaves a group's vertices alone (eyes only, a repeated expression) hits.

One cache belongs to one subject (one groom): whoever poses the subject holds it; a cache meeting another
group object builds that one from scratch. It holds about 60 MB for a 28 cm scalp groom (4k strands).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .ribbons import (
    RibbonMesh,
    StripGeometry,
    group_ribbons,
    strip_flip,
    strip_geometry,
    strip_mesh,
)
from .strands import StrandGroup


class _Plan:
    """The vertices one group's ribbons read (pose-independent): the corners of its anchor triangles and,
    with smooth normals, of every triangle around them (its own and its roots' normal support); every vertex
    for a group with a pose-time collider."""

    def __init__(self, group: StrandGroup):
        b = group.binding
        tris = np.asarray(b.triangles)
        used = np.unique(tris[np.unique(np.concatenate([b.tri.ravel(), np.asarray(group.root_tri).ravel()]))])
        for support in (b._normal_support, group.root_binding._normal_support):  # the roots' frames: sides()
            if support is not None:
                used = np.union1d(used, support.corners.ravel())
        self.reads = None if group.collider is not None else used  # None: every vertex

    def reads_bytes(self, vertices: np.ndarray) -> bytes:
        """The bytes of every vertex value this group's ribbons depend on (and their dtype)."""
        v = vertices if self.reads is None else vertices[self.reads]
        return str(vertices.dtype).encode() + np.ascontiguousarray(v).tobytes()


@dataclass
class _Entry:
    """One group's last pose: its inputs (the vertex values it reads, the tolerance) and results."""

    group: StrandGroup
    reads: bytes
    tolerance: float
    geo: StripGeometry  # posed strands and their unturned normals
    flip: np.ndarray | None  # (S, P) bool
    mesh: RibbonMesh


class RibbonCache:
    """Exact per-subject cache of hair ribbons (module docstring). Pass it to build_ribbons(cache=...),
    render.hair.hair_primitive_arrays(ribbon_cache=...) or render.mesh.mesh_from_asset(ribbon_cache=...).
    hits / misses: Counters of group builds per region (a hit returns the last pose's RibbonMesh object)."""

    def __init__(self):
        self._plans: dict[int, tuple[StrandGroup, _Plan]] = {}
        self._entries: dict[int, _Entry] = {}
        self.regions: dict[str, tuple[tuple[RibbonMesh, ...], dict]] = {}  # render.hair's per-region arrays
        self.hits: Counter = Counter()
        self.misses: Counter = Counter()

    def _plan(self, group: StrandGroup) -> _Plan:
        held = self._plans.get(id(group))
        if held is None or held[0] is not group:
            held = self._plans[id(group)] = (group, _Plan(group))
        return held[1]

    def group_ribbons(self, group: StrandGroup, vertices: np.ndarray, centre: np.ndarray | None = None,
                      tolerance: float = 0.0) -> RibbonMesh:
        """Bitwise ribbons.group_ribbons(group, vertices, centre, tolerance), reusing the last pose's."""
        if group.n_strands == 0:
            return group_ribbons(group, vertices, centre, tolerance)
        vertices = np.asarray(vertices)
        plan = self._plan(group)
        reads = plan.reads_bytes(vertices)
        old = self._entries.get(id(group))
        if old is not None and (old.group is not group or old.tolerance != tolerance or old.reads != reads):
            old = None
        if old is not None:  # the same posed strands: only the head centre may have turned some normals over
            geo = old.geo
            flip = strip_flip(geo, centre)
            if (flip is None) == (old.flip is None) and (flip is None or np.array_equal(flip, old.flip)):
                self.hits[group.region] += 1
                return old.mesh
        else:
            geo = strip_geometry(group.evaluate(vertices).astype(np.float64),
                                 np.asarray(group.sides(vertices), np.float64), group.width,
                                 group.tip_taper, group.coverage)
            flip = strip_flip(geo, centre)
        self.misses[group.region] += 1
        mesh = strip_mesh(geo, flip, group.color, group.region, tolerance)
        self._entries[id(group)] = _Entry(group, reads, tolerance, geo, flip, mesh)
        return mesh
