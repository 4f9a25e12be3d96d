"""Occlusion culling of hair for the rasteriser: per view, the chunks of hair triangles that lie wholly
behind the non-hair surfaces already drawn are left out of the draw.

Exact, not approximate: a chunk is left out only when every fragment it could produce fails the depth test
(or falls outside the image), so every layer is the same with and without culling. The renderer draws a
hair primitive's triangles in a fixed spatial order (pieces of up to RUN triangles of a strip, in Morton
order of their centres on a GRID^3 grid over the primitive), cut into chunks of CHUNK triangles: small
clusters of ribbon pieces. Per view: the depth buffer of the non-hair surfaces is read back and reduced to
a max pyramid; a chunk is hidden when its nearest depth (the near face of its camera-space bounding box)
lies behind the farthest depth stored over its screen rectangle (its bounding box's projection, one pixel
wider on each side). The drawn chunks' triangles go into one index buffer; the GT shader recovers each
triangle's id from gl_PrimitiveID through two maps: drawn chunk -> chunk (per view) and drawn position ->
triangle (the spatial order).
"""

from __future__ import annotations

import numpy as np

CHUNK_SHIFT = 5
CHUNK = 1 << CHUNK_SHIFT  # triangles per chunk
GRID = 64  # cells per axis of the spatial order
RUN = 2  # triangles of a strip kept together in it at most (a ribbon segment)
MAP_ROW_SHIFT = 10  # the chunk map texture is 2 ** MAP_ROW_SHIFT texels wide
DEPTH_MARGIN = 1e-6  # window-depth margin over the 24-bit depth buffer's rounding (its step is 6e-8)


def _spread_bits(x: np.ndarray) -> np.ndarray:
    """10-bit integers -> their bits at every third position (for 3D Morton codes)."""
    x = x.astype(np.uint64) & np.uint64(0x3FF)
    for shift, mask in ((16, 0x30000FF), (8, 0x300F00F), (4, 0x30C30C3), (2, 0x9249249)):
        x = (x | (x << np.uint64(shift))) & np.uint64(mask)
    return x


def spatial_order(positions: np.ndarray, indices: np.ndarray, grid: int = GRID, run: int = RUN,
                  corners: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(t,) int64 permutation of t triangles (indices (t, 3) into positions (n, 3)): runs of at most `run`
    consecutive triangles that share an edge (pieces of a strip, whose vertices the rasteriser then
    transforms once) in Morton order of their centres' cells on a grid^3 grid over their bounding box,
    the given order within a cell. corners: the triangles' three (t, 3) float64 corner positions when the
    caller has them."""
    t = len(indices)
    if not t:
        return np.zeros(0, np.int64)
    joined = np.zeros(t, bool)  # triangle k shares an edge with triangle k - 1 (two corners in common)
    cur, prev = indices[1:], indices[:-1]
    shared = np.zeros(t - 1, np.int8)
    for a in range(3):
        c = cur[:, a]
        shared += (c == prev[:, 0]) | (c == prev[:, 1]) | (c == prev[:, 2])
    joined[1:] = shared >= 2
    start = np.flatnonzero(~joined)
    strip = np.cumsum(~joined) - 1
    piece = np.concatenate([[True], (strip[1:] != strip[:-1]) | ((np.arange(1, t) - start[strip[1:]]) % run == 0)])
    piece_of = np.cumsum(piece) - 1
    if corners is None:
        pos = np.asarray(positions, np.float64)
        corners = (pos[indices[:, 0]], pos[indices[:, 1]], pos[indices[:, 2]])
    centres = (corners[0] + corners[1] + corners[2]) / 3.0  # each triangle's mean
    count = np.bincount(piece_of)
    centre = np.stack([np.bincount(piece_of, centres[:, k]) for k in range(3)], 1) / count[:, None]
    lo, hi = centre.min(0), centre.max(0)
    q = np.minimum(((centre - lo) / np.maximum(hi - lo, 1e-12) * grid).astype(np.int64), grid - 1)
    code = _spread_bits(q[:, 0]) | (_spread_bits(q[:, 1]) << np.uint64(1)) | (_spread_bits(q[:, 2]) << np.uint64(2))
    return np.argsort(code[piece_of], kind="stable")


class HairChunks:
    """The chunks of one hair primitive: order (n,) int32 (drawn position -> triangle), padded indices
    (n_chunks, 3 CHUNK) uint32 in that order, and the chunks' world bounds (centre, half extent)."""

    def __init__(self, positions: np.ndarray, indices: np.ndarray):
        idx = np.asarray(indices, np.int64).reshape(-1, 3)
        pos = np.asarray(positions, np.float64)
        corners = (pos[idx[:, 0]], pos[idx[:, 1]], pos[idx[:, 2]])
        self.order = spatial_order(pos, idx, corners=corners).astype(np.int32)
        self.n_triangles = len(idx)
        n = -(-self.n_triangles // CHUNK)
        padded = np.zeros((n * CHUNK, 3), np.uint32)
        padded[: self.n_triangles] = idx[self.order]
        self.indices = padded.reshape(n, 3 * CHUNK)
        lo, hi = np.zeros((n, 3)), np.zeros((n, 3))
        if n:
            for out, f, fill in ((lo, np.minimum, np.inf), (hi, np.maximum, -np.inf)):
                per = np.full((n * CHUNK, 3), fill)  # per triangle (in drawing order), then per chunk
                per[: self.n_triangles] = f(f(corners[0], corners[1]), corners[2])[self.order]
                per = per.reshape(n, CHUNK, 3)
                while per.shape[1] > 1:  # pairwise halving: contiguous element-wise steps, not a strided reduction
                    per = f(per[:, 0::2], per[:, 1::2])
                out[:] = per[:, 0]
        self.centre, self.half = (lo + hi) / 2, (hi - lo) / 2

    @property
    def n_chunks(self) -> int:
        return len(self.indices)

    def draw_indices(self, chunks: np.ndarray) -> np.ndarray:
        """The index data of `chunks` (in any order), CHUNK triangles each (the last chunk's padding is
        degenerate triangles, which draw nothing)."""
        return self.indices[chunks].reshape(-1)


def max_pyramid(depth: np.ndarray) -> list[np.ndarray]:
    """Levels of 2 x 2 maxima of an (h, w) depth buffer: level k holds the max over 2^k x 2^k pixel cells
    (cells past the image's edge hold the max of their pixels inside it)."""
    levels = [np.asarray(depth, np.float32)]
    while max(levels[-1].shape) > 1:
        a = levels[-1]
        h, w = a.shape
        if h % 2 or w % 2:
            a = np.pad(a, ((0, h % 2), (0, w % 2)), constant_values=-np.inf)
        levels.append(np.maximum(np.maximum(a[0::2, 0::2], a[1::2, 0::2]), np.maximum(a[0::2, 1::2], a[1::2, 1::2])))
    return levels


def visible_chunks(centre: np.ndarray, half: np.ndarray, camera, near_far: tuple[float, float],
                   pyramid: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(n,) bool: which of n chunks (world bounding boxes: centre, half extent (n, 3)) may put a fragment
    in front of the depth buffer (`pyramid` of it, window depth) from `camera` with clip planes near_far;
    and (n,) float64 the camera z of each box's near face."""
    near, far = near_far
    w2c = np.asarray(camera.world_to_camera, np.float64)
    rot = w2c[:3, :3]
    c = centre @ rot.T + w2c[:3, 3]
    e = half @ np.abs(rot).T
    lo, hi = c - e, c + e  # camera-space box around the chunk
    front = lo[:, 2] > near  # boxes reaching the near plane are always drawn
    zlo = np.where(front, lo[:, 2], 1.0)
    zhi = np.where(front, hi[:, 2], 1.0)
    # x / z and y / z over the box: their extremes are at its corners
    xz = (lo[:, 0] / zlo, lo[:, 0] / zhi, hi[:, 0] / zlo, hi[:, 0] / zhi)
    yz = (lo[:, 1] / zlo, lo[:, 1] / zhi, hi[:, 1] / zlo, hi[:, 1] / zhi)
    x_lo, x_hi = np.minimum.reduce(xz), np.maximum.reduce(xz)
    y_lo, y_hi = np.minimum.reduce(yz), np.maximum.reduce(yz)
    (fx, s, cx), (_, fy, cy) = np.asarray(camera.K, np.float64)[:2]
    u = (fx * x_lo + s * y_lo, fx * x_lo + s * y_hi, fx * x_hi + s * y_lo, fx * x_hi + s * y_hi)
    v = (fy * y_lo, fy * y_hi)
    width, height = camera.size
    # the pixels whose centre (i + 0.5) the chunk may cover, one more on each side
    x0 = np.floor(np.minimum.reduce(u) + cx - 0.5) - 1
    x1 = np.ceil(np.maximum.reduce(u) + cx - 0.5) + 1
    y0 = np.floor(np.minimum(*v) + cy - 0.5) - 1
    y1 = np.ceil(np.maximum(*v) + cy - 0.5) + 1
    outside = (x1 < 0) | (y1 < 0) | (x0 > width - 1) | (y0 > height - 1)
    x0, x1 = (np.clip(a, 0, width - 1).astype(np.int64) for a in (x0, x1))
    y0, y1 = (np.clip(a, 0, height - 1).astype(np.int64) for a in (y0, y1))
    # the farthest stored depth over the rectangle: the 2 x 2 cells of the first level where it spans <= 2
    stored = np.full(len(c), np.inf)
    todo = np.flatnonzero(front & ~outside)
    for k, level in enumerate(pyramid):
        if not len(todo):
            break
        a, b, p, q = x0[todo] >> k, x1[todo] >> k, y0[todo] >> k, y1[todo] >> k
        at = (b - a <= 1) & (q - p <= 1)
        a, b, p, q = a[at], b[at], p[at], q[at]
        stored[todo[at]] = np.maximum(np.maximum(level[p, a], level[p, b]), np.maximum(level[q, a], level[q, b]))
        todo = todo[~at]
    nearest = 0.5 * ((far + near) / (far - near) - 2 * far * near / ((far - near) * zlo)) + 0.5  # window depth at zlo
    return ~(front & (outside | (stored + DEPTH_MARGIN < nearest))), lo[:, 2]


class HairCuller:
    """The chunks of a mesh's hair primitives, culled together per view."""

    def __init__(self, chunks: list[HairChunks]):
        self.chunks = chunks
        self.starts = np.cumsum([0] + [c.n_chunks for c in chunks])
        self.centre = np.concatenate([c.centre for c in chunks]) if chunks else np.zeros((0, 3))
        self.half = np.concatenate([c.half for c in chunks]) if chunks else np.zeros((0, 3))

    def drawn(self, camera, near_far: tuple[float, float], depth: np.ndarray, front_to_back: bool = False) -> list[np.ndarray]:
        """Per primitive, the (k,) int64 ids of its chunks to draw over the (h, w) window depth buffer
        `depth` (rows as read back) from `camera`: ascending, or nearest first (front_to_back: the depth
        test then rejects more of the hidden fragments before shading them)."""
        keep, z = visible_chunks(self.centre, self.half, camera, near_far, max_pyramid(depth))
        out = []
        for a, b in zip(self.starts[:-1], self.starts[1:]):
            ids = np.flatnonzero(keep[a:b])
            out.append(ids[np.argsort(z[a:b][ids], kind="stable")] if front_to_back else ids)
        return out


def map_size(n: int) -> tuple[int, int]:
    """(width, height) of a map texture (one int per texel, row after row) of n entries."""
    w = 1 << MAP_ROW_SHIFT
    return w, max(1, -(-n // w))
