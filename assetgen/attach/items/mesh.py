"""ItemMesh: the plain-data triangle mesh of one worn item (glasses, a garment, a hat, a mask).

positions  (n, 3) float32 cm on the rest shape the item was fitted on (the subject's neutral);
normals    (n, 3) float32 unit rest normals;
uv         (n, 2) float32 texture coordinates in [0, 1] (glTF orientation: v = 0 at the image's top row);
triangles  (m, 3) int32, counter-clockwise seen from outside;
part       (m,) int16 index into `parts` (frame, lens, pad, temple, ...): one export primitive per part;
region     (m,) int16 index into `regions` (face.labels names: glasses, clothing, headwear, facewear);
materials  one ItemMaterial per part (colour, pattern, roughness, metallic, alpha mode).

Triangles of one part share its material. Normals of posed items: rotated with a rigid item, recomputed
from the posed triangles of a bound (soft) one (`vertex_normals`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from .materials import ItemMaterial
from ..vectors import cross, norm


@dataclass(frozen=True, eq=False)
class ItemMesh:
    positions: np.ndarray
    normals: np.ndarray
    uv: np.ndarray
    triangles: np.ndarray
    part: np.ndarray
    region: np.ndarray
    parts: tuple[str, ...]
    regions: tuple[str, ...]
    materials: tuple[ItemMaterial, ...]

    def __post_init__(self):
        n, m = len(self.positions), len(self.triangles)
        if self.positions.shape != (n, 3) or self.normals.shape != (n, 3) or self.uv.shape != (n, 2):
            raise InputError(f"ItemMesh arrays disagree: positions {self.positions.shape}, normals "
                             f"{self.normals.shape}, uv {self.uv.shape}")
        if self.triangles.shape != (m, 3) or self.part.shape != (m,) or self.region.shape != (m,):
            raise InputError(f"ItemMesh triangle arrays disagree: {self.triangles.shape}, part {self.part.shape}, "
                             f"region {self.region.shape}")
        if m and (int(self.triangles.min()) < 0 or int(self.triangles.max()) >= n):
            raise InputError("ItemMesh triangles index vertices it does not have")
        if len(self.materials) != len(self.parts):
            raise InputError(f"ItemMesh has {len(self.parts)} parts but {len(self.materials)} materials")
        if m and (int(self.part.max()) >= len(self.parts) or int(self.region.max()) >= len(self.regions)):
            raise InputError("ItemMesh part or region ids out of range")

    @property
    def n_vertices(self) -> int:
        return len(self.positions)

    @property
    def n_triangles(self) -> int:
        return len(self.triangles)

    def part_triangles(self, k: int) -> np.ndarray:
        """(t,) triangle ids of part k."""
        return np.flatnonzero(self.part == k)

    def part_region(self, k: int) -> str:
        """The region of part k (a part has one region)."""
        ids = np.unique(self.region[self.part == k])
        if len(ids) != 1:
            raise InputError(f"item part {self.parts[k]!r} spans regions {[self.regions[i] for i in ids]}")
        return self.regions[int(ids[0])]

    def digest_update(self, h) -> None:
        for a in (self.positions, self.normals, self.uv, self.triangles, self.part, self.region):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(repr((self.parts, self.regions, [m.as_dict() for m in self.materials])).encode())

    def digest(self) -> str:
        h = hashlib.sha256()
        self.digest_update(h)
        return h.hexdigest()[:16]


def vertex_normals(positions: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(n, 3) or (B, n, 3) float32 unit area-weighted vertex normals of (n, 3) or (B, n, 3) positions."""
    p = np.asarray(positions, np.float64)
    if p.ndim == 3:
        return np.stack([vertex_normals(x, triangles) for x in p])
    t = np.asarray(triangles, np.int64)
    a, b, c = p[t[:, 0]], p[t[:, 1]], p[t[:, 2]]
    fn = cross(b - a, c - a)
    corners = t.T.ravel()
    out = np.stack([np.bincount(corners, weights=np.tile(fn[:, k], 3), minlength=len(p)) for k in range(3)], 1)
    return (out / np.maximum(norm(out, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class MeshBuilder:
    """Accumulates pieces (positions, normals, uv, triangles) per named part, then builds an ItemMesh."""

    def __init__(self, region: str):
        self.region = region
        self._pos, self._nrm, self._uv, self._tri, self._part = [], [], [], [], []
        self.parts: list[str] = []
        self.materials: list[ItemMaterial] = []
        self._n = 0

    def part(self, name: str, material: ItemMaterial) -> int:
        if name in self.parts:
            return self.parts.index(name)
        self.parts.append(name)
        self.materials.append(material)
        return len(self.parts) - 1

    def add(self, part: int, positions, normals, uv, triangles) -> np.ndarray:
        """Append one piece to part `part`; returns the new vertex ids."""
        positions = np.asarray(positions, np.float64).reshape(-1, 3)
        tri = np.asarray(triangles, np.int64).reshape(-1, 3)
        ids = np.arange(self._n, self._n + len(positions))
        self._pos.append(positions)
        self._nrm.append(np.asarray(normals, np.float64).reshape(-1, 3))
        self._uv.append(np.asarray(uv, np.float64).reshape(-1, 2))
        self._tri.append(tri + self._n)
        self._part.append(np.full(len(tri), part, np.int16))
        self._n += len(positions)
        return ids

    def build(self) -> ItemMesh:
        pos = np.concatenate(self._pos).astype(np.float32)
        nrm = np.concatenate(self._nrm)
        nrm = (nrm / np.maximum(norm(nrm, axis=1, keepdims=True), 1e-12)).astype(np.float32)
        uv = np.clip(np.concatenate(self._uv), 0.0, 1.0).astype(np.float32)
        tri = np.concatenate(self._tri).astype(np.int32)
        part = np.concatenate(self._part)
        # drop degenerate triangles (a repeated vertex id): glTF readers reject them
        ok = (tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2]) & (tri[:, 0] != tri[:, 2])
        tri, part = tri[ok], part[ok]
        return ItemMesh(pos, nrm, uv, tri, part, np.zeros(len(tri), np.int16), tuple(self.parts), (self.region,),
                        tuple(self.materials))
