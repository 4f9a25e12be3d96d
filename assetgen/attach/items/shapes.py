"""Geometric building blocks of item meshes (numpy, cm): swept tubes and bars, fans and quad grids.

Every builder returns (positions (n, 3), normals (n, 3), uv (n, 2), triangles (t, 3)) for MeshBuilder.add.
"""

from __future__ import annotations

import numpy as np

from ..vectors import cross, norm


def normalize(v, eps: float = 1e-12) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return v / np.maximum(norm(v, keepdims=True), eps)


def superellipse(n: int, a: float, b: float, power: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """A closed 2D section of n points (counter-clockwise): |x/a|^p + |y/b|^p = 1, and its unit outward
    normals. power 2: ellipse; larger: rounded rectangle."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    e = 2.0 / power
    x = a * np.sign(c) * np.abs(c) ** e
    y = b * np.sign(s) * np.abs(s) ** e
    # normal of the implicit curve: gradient of |x/a|^p + |y/b|^p
    nx = np.sign(x) * np.abs(x / a) ** (power - 1) / a
    ny = np.sign(y) * np.abs(y / b) ** (power - 1) / b
    nrm = normalize(np.stack([nx, ny], 1))
    return np.stack([x, y], 1), nrm


def path_frames(path: np.ndarray, up: np.ndarray, closed: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tangent, side and normal (P, 3) along a polyline: tangent by central differences, normal = `up`
    ((3,) or (P, 3)) made orthogonal to the tangent, side = normal x tangent."""
    p = np.asarray(path, np.float64)
    if closed:
        t = np.roll(p, -1, 0) - np.roll(p, 1, 0)
    else:
        t = np.gradient(p, axis=0)
    t = normalize(t)
    u = np.broadcast_to(np.asarray(up, np.float64), p.shape)
    n = normalize(u - t * np.sum(u * t, 1, keepdims=True))
    side = cross(n, t)
    return t, side, n


def sweep(path: np.ndarray, section: np.ndarray, section_normals: np.ndarray, up, *, closed: bool = False,
          caps: bool = True, scale=None, v_scale: float = 1.0):
    """Sweep a closed 2D section (S, 2) (x along the path's side, y along its normal) along a polyline (P, 3).

    up: (3,) or (P, 3) the direction the section's y follows; scale: None, (P,) or (P, 2) per-point section
    scale; closed: the path is a loop; caps: close the ends of an open path with fans. uv: u around the
    section, v along the path (arc length * v_scale, clipped to [0, 1] by the builder)."""
    p = np.asarray(path, np.float64)
    sec = np.asarray(section, np.float64)
    sn = np.asarray(section_normals, np.float64)
    P, S = len(p), len(sec)
    _, side, nrm = path_frames(p, up, closed)
    sc = np.ones((P, 2)) if scale is None else np.broadcast_to(np.asarray(scale, np.float64).reshape(P, -1), (P, 2))
    pos = (p[:, None, :] + side[:, None, :] * (sec[None, :, 0] * sc[:, None, 0])[..., None]
           + nrm[:, None, :] * (sec[None, :, 1] * sc[:, None, 1])[..., None])
    nn = normalize(side[:, None, :] * (sn[None, :, 0] / sc[:, None, 0])[..., None]
                   + nrm[:, None, :] * (sn[None, :, 1] / sc[:, None, 1])[..., None])
    arc = np.concatenate([[0.0], np.cumsum(norm(np.diff(p, axis=0), axis=1))])
    uv = np.stack(np.broadcast_arrays((np.arange(S) / S)[None, :], (arc * v_scale)[:, None]), -1)
    pos, nn, uv = pos.reshape(-1, 3), nn.reshape(-1, 3), uv.reshape(-1, 2)
    tris = []
    rows = P if closed else P - 1
    i = np.arange(rows)[:, None]
    j = np.arange(S)[None, :]
    a = i * S + j
    b = i * S + (j + 1) % S
    c = ((i + 1) % P) * S + (j + 1) % S
    d = ((i + 1) % P) * S + j
    # the section runs counter-clockwise around the path direction: these faces point outwards
    tris.append(np.stack([a, c, b], -1).reshape(-1, 3))
    tris.append(np.stack([a, d, c], -1).reshape(-1, 3))
    tri = np.concatenate(tris)
    if caps and not closed:
        t0 = normalize(p[1] - p[0])
        t1 = normalize(p[-1] - p[-2])
        extra_pos, extra_n, extra_uv, extra_t = [], [], [], []
        base = len(pos)
        for k, (ring, tan, flip) in enumerate(((0, -t0, True), (P - 1, t1, False))):
            ids = np.arange(S) + ring * S
            ctr = pos[ids].mean(0)
            # duplicate the ring with the cap's flat normal
            extra_pos.append(np.concatenate([pos[ids], ctr[None]]))
            extra_n.append(np.tile(tan, (S + 1, 1)))
            extra_uv.append(np.concatenate([uv[ids], [[0.5, uv[ids][0, 1]]]]))
            r = base + np.arange(S)
            centre = base + S
            f = np.stack([r, np.roll(r, -1), np.full(S, centre)], 1)
            extra_t.append(f[:, [0, 2, 1]] if flip else f)
            base += S + 1
        pos = np.concatenate([pos] + extra_pos)
        nn = np.concatenate([nn] + extra_n)
        uv = np.concatenate([uv] + extra_uv)
        tri = np.concatenate([tri] + extra_t)
    return pos, nn, uv, tri


def fan(outline: np.ndarray, centre: np.ndarray, normal, uv_centre=(0.5, 0.5), uv_outline=None):
    """A disk: triangles from `centre` (3,) to consecutive points of a closed outline (N, 3), facing
    `normal` ((3,) or (N + 1, 3): per outline point, then the centre). uv_outline: (N, 2) or a circle."""
    o = np.asarray(outline, np.float64)
    n = len(o)
    pos = np.concatenate([o, np.asarray(centre, np.float64)[None]])
    nrm = np.broadcast_to(np.asarray(normal, np.float64), (n + 1, 3)) if np.ndim(normal) == 1 else np.asarray(normal)
    if uv_outline is None:
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        uv_outline = np.stack([0.5 + 0.5 * np.cos(t), 0.5 + 0.5 * np.sin(t)], 1)
    uv = np.concatenate([np.asarray(uv_outline, np.float64), [uv_centre]])
    i = np.arange(n)
    tri = np.stack([i, (i + 1) % n, np.full(n, n)], 1)
    # orient towards `normal`
    a, b, c = pos[tri[0, 0]], pos[tri[0, 1]], pos[tri[0, 2]]
    if np.dot(cross(b - a, c - a), nrm[-1]) < 0:
        tri = tri[:, [0, 2, 1]]
    return pos, np.array(nrm, np.float64), uv, tri


def grid(points: np.ndarray, *, wrap: bool = False, outward=None, uv_scale=(1.0, 1.0)):
    """A quad grid surface through (R, C, 3) points (rows along v, columns along u; wrap: the columns
    close into a loop). Normals from the triangles; outward: a (3,) point the surface faces away from, to
    orient it (else the orientation of the grid's index order)."""
    from .mesh import vertex_normals

    pts = np.asarray(points, np.float64)
    R, C = pts.shape[:2]
    cols = C if wrap else C - 1
    i = np.arange(R - 1)[:, None]
    j = np.arange(cols)[None, :]
    a = i * C + j
    b = i * C + (j + 1) % C
    c = (i + 1) * C + (j + 1) % C
    d = (i + 1) * C + j
    tri = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    pos = pts.reshape(-1, 3)
    if outward is not None:
        fa, fb, fc = pos[tri[:, 0]], pos[tri[:, 1]], pos[tri[:, 2]]
        fn = cross(fb - fa, fc - fa)
        away = ((fa + fb + fc) / 3 - np.asarray(outward, np.float64))
        if np.sum(np.sum(fn * away, 1)) < 0:
            tri = tri[:, [0, 2, 1]]
    nrm = vertex_normals(pos, tri).astype(np.float64)
    uu, vv = np.meshgrid(np.arange(C) / max(cols, 1), np.arange(R) / max(R - 1, 1))
    uv = np.stack([uu * uv_scale[0], vv * uv_scale[1]], -1).reshape(-1, 2)
    return pos, nrm, uv, tri


def shell(points: np.ndarray, thickness: float, *, wrap: bool = False, outward=None, uv_scale=(1.0, 1.0),
          close_edges: bool = True):
    """A grid surface with thickness: the outer sheet through (R, C, 3) points, an inner sheet `thickness`
    cm inside along the normals, and rims closing the open edges (first and last row; first and last
    column unless wrap). Returns the builder's tuple."""
    pos_o, nrm_o, uv_o, tri_o = grid(points, wrap=wrap, outward=outward, uv_scale=uv_scale)
    R, C = points.shape[:2]
    inner = pos_o - nrm_o * thickness
    pos = np.concatenate([pos_o, inner])
    nrm = np.concatenate([nrm_o, -nrm_o])
    uv = np.concatenate([uv_o, uv_o])
    n = len(pos_o)
    tris = [tri_o, tri_o[:, [0, 2, 1]] + n]
    if close_edges:
        idx = np.arange(n).reshape(R, C)
        loops = [idx[0], idx[-1][::-1]]
        if not wrap:
            loops += [idx[:, 0][::-1], idx[:, -1]]
        extra_pos, extra_nrm, extra_uv = [pos], [nrm], [uv]
        base = len(pos)
        for k, ring in enumerate(loops):
            o, i_ = pos_o[ring], inner[ring]
            m = len(ring)
            # rim strip: outer edge to inner edge, own vertices with a normal across the edge
            e = normalize(np.gradient(o, axis=0))
            en = normalize(cross(e, nrm_o[ring]))
            extra_pos.append(np.concatenate([o, i_]))
            extra_nrm.append(np.concatenate([en, en]))
            extra_uv.append(np.concatenate([uv_o[ring], uv_o[ring]]))
            jj = np.arange(m - 1 if not (wrap and k < 2) else m)
            a, b = base + jj, base + (jj + 1) % m
            c, d = base + m + (jj + 1) % m, base + m + jj
            strip = np.concatenate([np.stack([a, c, b], 1), np.stack([a, d, c], 1)])
            tris.append(strip)
            base += 2 * m
        pos = np.concatenate(extra_pos)
        nrm = np.concatenate(extra_nrm)
        uv = np.concatenate(extra_uv)
    return pos, nrm, uv, np.concatenate(tris)
