"""The morphable face model: load the compact folder, evaluate shapes, topology and labels.

vertices = neutral + sum_i w_id[i] * identity[i] + sum_j w_ex[j] * expression[j]   (centimetres, +y up)
"""

from __future__ import annotations

import hashlib
import json
import threading
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping

import numpy as np

from ..errors import FaceModelError, InputError
from . import ict
from .obj import ObjMesh, read_obj
from .regions import triangle_regions

_MEMO_LOCK = threading.Lock()  # FaceModel's identity-sum memo (the UI evaluates models from several threads)


@dataclass(frozen=True, eq=False)
class FaceModel:
    """A linear morphable face model on one topology.

    neutral: (V, 3) float32 cm; identity_basis: (I, V, 3) float32; expression_basis: (E, V, 3) float32;
    mesh: the neutral OBJ (UVs, polygons, materials); landmarks: name -> (K,) int vertex indices;
    segments: the parsed segments.json.
    """

    neutral: np.ndarray
    identity_basis: np.ndarray
    expression_basis: np.ndarray
    identity_names: tuple[str, ...]
    expression_names: tuple[str, ...]
    mesh: ObjMesh
    landmarks: Mapping[str, np.ndarray]
    segments: Mapping
    source: str = ""
    units: str = "cm"
    meta: Mapping = field(default_factory=dict)

    # ---- sizes -------------------------------------------------------------------------------
    @property
    def n_vertices(self) -> int:
        return self.neutral.shape[0]

    @property
    def n_identity(self) -> int:
        return self.identity_basis.shape[0]

    @property
    def material_names(self) -> tuple[str, ...]:
        return self.mesh.material_names

    # ---- topology (computed once) --------------------------------------------------------------
    @cached_property
    def _triangulation(self):
        return triangulate(self.mesh)

    @property
    def triangles(self) -> np.ndarray:
        """(F, 3) int32 vertex indices of the triangulated polygons (fan around each polygon's corner 0)."""
        return self._triangulation[0]

    @property
    def triangle_uv_index(self) -> np.ndarray:
        """(F, 3) int32 indices into mesh.uvs for each triangle corner."""
        return self._triangulation[1]

    @property
    def triangle_polygon(self) -> np.ndarray:
        """(F,) int32: the source polygon of each triangle."""
        return self._triangulation[2]

    @property
    def triangle_material(self) -> np.ndarray:
        """(F,) int32 index into material_names."""
        return self.mesh.poly_material[self.triangle_polygon]

    @cached_property
    def triangle_region(self) -> np.ndarray:
        """(F,) uint8 region id, an index into ict.REGIONS."""
        return triangle_regions(self.mesh, self.segments, self.triangles, self.triangle_uv_index,
                                self.triangle_polygon, self.landmarks_68, self.neutral)

    @property
    def region_names(self) -> tuple[str, ...]:
        return ict.REGIONS

    @cached_property
    def topology_hash(self) -> str:
        """Identifies triangles + UVs + materials: keys caches that depend on topology only."""
        h = hashlib.sha256()
        for a in (self.triangles, self.triangle_uv_index, self.mesh.uvs, self.triangle_material):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update("\n".join(self.material_names).encode())
        return h.hexdigest()[:16]

    @cached_property
    def fingerprint(self) -> str:
        """sha256 (16 hex) of the model's numbers and topology: what an asset's geometry depends on."""
        h = hashlib.sha256()
        for a in (self.neutral, self.identity_basis, self.expression_basis):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(self.topology_hash.encode())
        return h.hexdigest()[:16]

    @property
    def landmarks_68(self) -> np.ndarray:
        """(68,) int vertex indices of the Multi-PIE 68 landmarks."""
        return self.landmarks["multi_pie_68"]

    # ---- evaluation ----------------------------------------------------------------------------
    def identity_weights(
        self, rng: np.random.Generator, n: int | None = None, truncation: float | None = None
    ) -> np.ndarray:
        """Draw (I,) or (n, I) standard-normal identity weights, optionally truncated to |w| <= truncation
        by resampling (not clipping, so the distribution keeps its shape inside the bound)."""
        shape = (self.n_identity,) if n is None else (n, self.n_identity)
        w = rng.standard_normal(shape)
        if truncation is not None:
            if not truncation > 0:
                raise InputError(f"truncation must be > 0, got {truncation}")
            bad = np.abs(w) > truncation
            while bad.any():
                w[bad] = rng.standard_normal(int(bad.sum()))
                bad = np.abs(w) > truncation
        return w

    def expression_weights(self, named: Mapping[str, float] | None = None) -> np.ndarray:
        """(E,) weights from {expression name: weight in [0, 1]}; unknown names are an error."""
        w = np.zeros(len(self.expression_names), dtype=np.float64)
        if not named:
            return w
        index = {n: i for i, n in enumerate(self.expression_names)}
        for name, value in named.items():
            if name not in index:
                close = [n for n in self.expression_names if n.lower().startswith(str(name).lower()[:5])]
                hint = f" (did you mean {', '.join(close[:4])}?)" if close else ""
                raise InputError(f"unknown expression name {name!r}{hint}; known: see FaceModel.expression_names")
            w[index[name]] = float(value)
        return w

    def vertices(self, identity=None, expression=None) -> np.ndarray:
        """Evaluate the model. identity: (I,) or (B, I) weights, or None for the mean shape; expression:
        (E,) or (B, E) weights in [0, 1], a {name: weight} mapping, or None. Returns (V, 3) or (B, V, 3)
        float32 in centimetres. Vectorized over the batch."""
        wid = self._check_weights(identity, self.n_identity, "identity")
        if isinstance(expression, Mapping):
            expression = self.expression_weights(expression)
        wex = self._check_weights(expression, len(self.expression_names), "expression")
        if wex is not None and ((wex < 0).any() or (wex > 1).any()):
            raise InputError("expression weights must lie in [0, 1]")
        batch = None
        for w in (wid, wex):
            if w is not None and w.ndim == 2:
                if batch is not None and w.shape[0] != batch:
                    raise InputError("identity and expression batches differ in size")
                batch = w.shape[0]
        if batch is None:  # one subject posed many times (a data set): its identity sum is kept
            acc = self._identity_sum(wid)
        else:
            acc = np.broadcast_to(self.neutral, (batch,) + self.neutral.shape).astype(np.float64)
            if wid is not None and wid.any():
                acc = acc + blend_modes(wid, self.identity_basis)
        if wex is not None and wex.any():
            acc = acc + blend_modes(wex, self.expression_basis)
        return acc.astype(np.float32)

    def _identity_sum(self, wid) -> np.ndarray:
        """(V, 3) float64 neutral + the identity modes of (I,) weights wid (or None): the first term of every
        evaluation, in the same order; the last few are kept (read-only) by the weights' bytes."""
        key = None if wid is None else wid.tobytes()
        with _MEMO_LOCK:
            memo = self.__dict__.setdefault("_identity_sums", {})
            acc = memo.get(key)
        if acc is None:
            acc = self.neutral.astype(np.float64)
            if wid is not None and wid.any():
                acc = acc + blend_modes(wid, self.identity_basis)
            acc.setflags(write=False)
            with _MEMO_LOCK:
                if len(memo) >= 8:
                    memo.pop(next(iter(memo)))
                memo[key] = acc
        return acc

    @staticmethod
    def _check_weights(w, n: int, what: str):
        if w is None:
            return None
        w = np.asarray(w, dtype=np.float64)
        if w.ndim not in (1, 2) or w.shape[-1] != n:
            raise InputError(f"{what} weights must have shape ({n},) or (batch, {n}), got {w.shape}")
        if not np.isfinite(w).all():
            raise InputError(f"{what} weights contain NaN or infinity")
        return w

    def vertex_normals(self, vertices: np.ndarray) -> np.ndarray:
        """(V, 3) float32 unit normals, area-weighted over the triangles."""
        return vertex_normals(vertices, self.triangles)


# ---- topology helpers ------------------------------------------------------------------------
def triangulate(mesh: ObjMesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fan-triangulate every polygon around its first corner.

    Returns triangles (F, 3) int32 vertex ids, (F, 3) int32 uv ids, (F,) int32 polygon ids.
    """
    off = mesh.poly_offset
    counts = np.diff(off)
    if (counts < 3).any():
        raise FaceModelError("the mesh has a polygon with fewer than 3 corners")
    n_tri = counts - 2
    poly = np.repeat(np.arange(len(counts), dtype=np.int32), n_tri)
    # k-th triangle of a polygon uses corners (0, k + 1, k + 2).
    k = np.arange(len(poly)) - np.repeat(np.cumsum(n_tri) - n_tri, n_tri)
    base = off[:-1][poly]
    corners = np.stack([base, base + k + 1, base + k + 2], axis=1)
    return (mesh.poly_vertex[corners].astype(np.int32), mesh.poly_uv[corners].astype(np.int32), poly)


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(V, 3) float32 unit normals of (V, 3) vertices: the sum of the (area-weighted) normals of each
    vertex's triangles in float64, normalized (0 where the sum is 0).

    The sums are np.add.at's over the corners (corner 0 of every triangle, then corner 1, then 2),
    done by one bincount per coordinate over the corners in that order: the same terms added in the
    same order, so the same bits (tests/test_face_model.py keeps the np.add.at formula).
    """
    vertices = np.asarray(vertices)
    triangles = np.asarray(triangles)
    n_vertices = len(vertices)
    c0, c1, c2 = (np.ascontiguousarray(triangles[:, c], dtype=np.intp) for c in range(3))
    # take raises IndexError for ids >= V and wraps ids in [-V, 0), as fancy indexing does
    x, y, z = (np.ascontiguousarray(vertices[:, k], dtype=np.float64) for k in range(3))
    x0, y0, z0 = x.take(c0), y.take(c0), z.take(c0)
    ax, ay, az = x.take(c1) - x0, y.take(c1) - y0, z.take(c1) - z0
    bx, by, bz = x.take(c2) - x0, y.take(c2) - y0, z.take(c2) - z0
    corners = np.concatenate((c0, c1, c2))
    if corners.size and corners.min() < 0:  # np.add.at wraps negative ids; bincount refuses them
        corners = np.where(corners < 0, corners + n_vertices, corners)
    # np.cross(a, b), term by term, summed per vertex
    n = [np.bincount(corners, weights=np.concatenate((f, f, f)), minlength=n_vertices)
         for f in (ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx)]
    length = np.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2])  # np.linalg.norm's sum, in its order
    out = np.empty((n_vertices, 3), np.float32)
    for k in range(3):
        out[:, k] = np.divide(n[k], length, out=np.zeros(n_vertices), where=length > 0)
    return out


# ---- loading ---------------------------------------------------------------------------------
def load_face_model(folder: str | Path) -> FaceModel:
    """Load a compact ICT-style face-model folder (see shared/face-models/ict-facekit/README.md)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FaceModelError(
            f"face-model folder {folder} does not exist; set ASSETGEN_FACE_MODEL to the compact ICT-FaceKit "
            "folder, or run `assetgen face-model import PATH_TO_ICT_FACEKIT_CLONE`"
        )
    missing = [f for f in ict.REQUIRED_FILES if not (folder / f).is_file()]
    if missing:
        raise FaceModelError(
            f"face-model folder {folder} is incomplete: missing {', '.join(missing)}; "
            "re-import it with `assetgen face-model import` or point ASSETGEN_FACE_MODEL elsewhere"
        )
    mesh = read_obj(folder / ict.NEUTRAL_OBJ)
    try:
        with np.load(folder / ict.SHAPE_MODES, allow_pickle=False) as z:
            identity = np.asarray(z["identity"], dtype=np.float32)
            expression = np.asarray(z["expression"], dtype=np.float32)
            identity_names = tuple(str(s) for s in z["identity_names"])
            expression_names = tuple(str(s) for s in z["expression_names"])
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise FaceModelError(f"{folder / ict.SHAPE_MODES} is corrupt or incomplete ({exc}); re-import the model") from exc
    n = mesh.vertices.shape[0]
    for name, arr, names in (("identity", identity, identity_names), ("expression", expression, expression_names)):
        if arr.ndim != 3 or arr.shape[1:] != (n, 3):
            raise FaceModelError(
                f"{folder / ict.SHAPE_MODES}: '{name}' has shape {arr.shape}, expected (k, {n}, 3) to match "
                f"the {n} vertices of {ict.NEUTRAL_OBJ}"
            )
        if len(names) != arr.shape[0]:
            raise FaceModelError(f"{folder / ict.SHAPE_MODES}: {len(names)} {name} names for {arr.shape[0]} modes")
        if not np.isfinite(arr).all():
            raise FaceModelError(f"{folder / ict.SHAPE_MODES}: '{name}' holds non-finite values")
    try:
        landmarks_raw = json.loads((folder / ict.LANDMARKS).read_text())
        segments = json.loads((folder / ict.SEGMENTS).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise FaceModelError(f"{folder}: landmarks.json or segments.json is not valid JSON ({exc})") from exc
    landmarks = {k: np.asarray(v, dtype=np.int64) for k, v in landmarks_raw.items()}
    lm = landmarks.get("multi_pie_68")
    if lm is None or lm.shape != (68,) or lm.min() < 0 or lm.max() >= n:
        raise FaceModelError(f"{folder / ict.LANDMARKS}: 'multi_pie_68' must list 68 vertex indices below {n}")
    if "geometry" not in segments:
        raise FaceModelError(f"{folder / ict.SEGMENTS}: no 'geometry' section")
    return FaceModel(
        neutral=mesh.vertices,
        identity_basis=identity,
        expression_basis=expression,
        identity_names=identity_names,
        expression_names=expression_names,
        mesh=mesh,
        landmarks=landmarks,
        segments=segments,
        source=str(folder.resolve()),
    )


def blend_modes(weights, basis: np.ndarray) -> np.ndarray:
    """(..., V, 3) float64 sum_k weights[..., k] * basis[k] for weights (..., K) and a (K, V, 3) basis.

    Summed in float64 mode by mode in index order with elementwise operations: a BLAS product's summation
    order depends on its thread count and the CPU, and the same weights must give the same bytes on every
    machine. Modes a row does not use are skipped for that row."""
    w = np.asarray(weights, np.float64)
    flat_w = w.reshape(-1, w.shape[-1])
    out = np.zeros((len(flat_w),) + basis.shape[1:], np.float64)
    for k in np.flatnonzero(np.abs(flat_w).max(0)):
        rows = np.flatnonzero(flat_w[:, k])
        if len(rows) == len(flat_w):
            out += flat_w[:, k, None, None] * basis[k]
        else:
            out[rows] += flat_w[rows, k, None, None] * basis[k]
    return out.reshape(w.shape[:-1] + basis.shape[1:])
