"""A quick look at heads and strands without a GPU or matplotlib: numpy z-buffered point splatting.

Orthographic views of the head frame ("front", "side" = from the subject's right, "back", "top",
"three_quarter"). The head is drawn from dense surface samples with Lambert shading; strands from points
sampled along every segment (about two per pixel), shaded with a Kajiya-Kay style highlight, z-tested
against the head and each other. For eyeballing shapes only: no antialiasing, no coverage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

VIEWS = {
    "front": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    "side": ((0, 0, 1), (0, 1, 0), (-1, 0, 0)),
    "back": ((-1, 0, 0), (0, 1, 0), (0, 0, -1)),
    "top": ((1, 0, 0), (0, 0, -1), (0, 1, 0)),
}


def view_matrix(name: str) -> np.ndarray:
    """(3, 3) rows: screen right, screen up, towards the viewer (in model coordinates, +y up, +z front)."""
    if name == "three_quarter":
        a = np.radians(-40)
        r = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
        return r
    return np.asarray(VIEWS[name], np.float64)


def _surface_samples(vertices, triangles, per_cm2, rng):
    v = np.asarray(vertices, np.float64)
    a, b, c = (v[triangles[:, i]] for i in range(3))
    n = np.cross(b - a, c - a)
    area = 0.5 * np.linalg.norm(n, axis=1)
    n /= np.maximum(2 * area[:, None], 1e-12)
    cnt = rng.poisson(area * per_cm2)
    tid = np.repeat(np.arange(len(triangles)), cnt)
    r1, r2 = rng.random(len(tid)), rng.random(len(tid))
    s = np.sqrt(r1)
    p = a[tid] * (1 - s)[:, None] + b[tid] * (s * (1 - r2))[:, None] + c[tid] * (s * r2)[:, None]
    return p, n[tid], tid


class Canvas:
    """A z-buffered RGB image for one orthographic view. extent: (centre (2,), half size) in cm."""

    def __init__(self, view: str | np.ndarray, size: int = 512, centre=(0.0, 0.0), half: float = 16.0,
                 background=(255, 255, 255)):
        self.r = view_matrix(view) if isinstance(view, str) else np.asarray(view, np.float64)
        self.size = size
        self.centre = np.asarray(centre, np.float64)
        self.half = half
        self.rgb = np.empty((size, size, 3), np.float64)
        self.rgb[:] = background
        self.depth = np.full((size, size), -np.inf)

    def project(self, p):
        q = np.asarray(p, np.float64) @ self.r.T
        px = ((q[:, 0] - self.centre[0]) / self.half * 0.5 + 0.5) * (self.size - 1)
        py = (0.5 - (q[:, 1] - self.centre[1]) / self.half * 0.5) * (self.size - 1)
        return px, py, q[:, 2]

    def splat(self, points, colors, bias: float = 0.0):
        px, py, z = self.project(points)
        ix, iy = np.rint(px).astype(np.int64), np.rint(py).astype(np.int64)
        ok = (ix >= 0) & (ix < self.size) & (iy >= 0) & (iy < self.size)
        ix, iy, z, col = ix[ok], iy[ok], z[ok] + bias, np.asarray(colors, np.float64)[ok]
        flat = iy * self.size + ix
        order = np.lexsort((z, flat))  # per pixel, nearest last
        last = order[np.r_[flat[order][1:] != flat[order][:-1], True]]
        dflat = self.depth.reshape(-1)
        win = z[last] > dflat[flat[last]]
        sel = last[win]
        dflat[flat[sel]] = z[sel]
        self.rgb.reshape(-1, 3)[flat[sel]] = col[sel]

    def head(self, vertices, triangles, tri_colors=None, samples_per_pixel: float = 3.0, seed: int = 0):
        rng = np.random.default_rng(seed)
        per_cm2 = samples_per_pixel * (self.size / (2 * self.half)) ** 2
        p, n, tid = _surface_samples(vertices, np.asarray(triangles), per_cm2, rng)
        light = np.array([0.3, 0.4, 1.0]) @ self.r
        light /= np.linalg.norm(light)
        shade = 0.35 + 0.65 * np.clip(n @ light, 0, 1)
        base = np.array([225.0, 190.0, 165.0]) if tri_colors is None else np.asarray(tri_colors, np.float64)[tid]
        front = n @ self.r[2] > -0.05  # back faces are not drawn
        col = base * shade[:, None] if base.ndim == 2 else base[None] * shade[:, None]
        self.splat(p[front], col[front])

    def strands(self, points, colors, step_px: float = 0.5, width_px: int = 1):
        """points (S, P, 3); colors (S, 3) 0-255 base colours."""
        pts = np.asarray(points, np.float64)
        if pts.size == 0:
            return
        s, p, _ = pts.shape
        seg = pts[:, 1:] - pts[:, :-1]
        seg_len_px = np.linalg.norm(seg @ self.r[:2].T, axis=-1) / (2 * self.half) * self.size
        k = np.maximum(1, np.ceil(seg_len_px / step_px)).astype(np.int64).ravel()
        a = pts[:, :-1].reshape(-1, 3)
        d = seg.reshape(-1, 3)
        sid = np.repeat(np.arange(s), p - 1)
        idx = np.repeat(np.arange(len(k)), k)
        frac = (np.arange(idx.size) - np.repeat(np.cumsum(k) - k, k)) / np.repeat(k, k)
        q = a[idx] + d[idx] * frac[:, None]
        t = d[idx] / np.maximum(np.linalg.norm(d[idx], axis=1, keepdims=True), 1e-9)
        view = self.r[2]
        light = np.array([0.3, 0.6, 0.8]) @ self.r
        light /= np.linalg.norm(light)
        h = light + view
        h /= np.linalg.norm(h)
        th = t @ h
        spec = np.sqrt(np.clip(1 - th * th, 0, 1)) ** 40
        tl = t @ light
        diff = np.sqrt(np.clip(1 - tl * tl, 0, 1))
        rng = np.random.default_rng(1)
        jitter = 0.85 + 0.3 * rng.random(s)
        base = np.asarray(colors, np.float64)[sid[idx]] * jitter[sid[idx], None]
        col = np.clip(base * (0.35 + 0.65 * diff[:, None]) + 90 * spec[:, None], 0, 255)
        self.splat(q, col, bias=0.02)
        if width_px > 1:
            for dx, dy in ((1, 0), (0, 1)):
                off = (dx * self.r[0] + dy * self.r[1]) * (2 * self.half / self.size)
                self.splat(q + off, col, bias=0.02)

    def ribbons(self, mesh, samples_per_pixel: float = 2.0, seed: int = 0):
        """Draw a RibbonMesh: area samples of its triangles kept with probability alpha (dithered coverage),
        shaded with the strand tangents."""
        if mesh.n_triangles == 0:
            return
        rng = np.random.default_rng(seed)
        v = mesh.positions.astype(np.float64)
        tri = mesh.triangles
        a, b, c = v[tri[:, 0]], v[tri[:, 1]], v[tri[:, 2]]
        area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
        per_cm2 = samples_per_pixel * (self.size / (2 * self.half)) ** 2
        cnt = rng.poisson(area * per_cm2 + 0.3)
        tid = np.repeat(np.arange(len(tri)), cnt)
        r1, r2 = rng.random(len(tid)), rng.random(len(tid))
        sq = np.sqrt(r1)
        w = np.stack([1 - sq, sq * (1 - r2), sq * r2], 1)
        corners = tri[tid]
        p = sum(v[corners[:, k]] * w[:, k:k + 1] for k in range(3))
        alpha = sum(mesh.alpha[corners[:, k]] * w[:, k] for k in range(3))
        keep = rng.random(len(tid)) < alpha
        t = sum(mesh.tangents[corners[:, k]].astype(np.float64) * w[:, k:k + 1] for k in range(3))
        t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)
        base = 255 * np.clip(mesh.color[corners[:, 0]].astype(np.float64), 0, 1) ** (1 / 2.2)
        light = np.array([0.3, 0.6, 0.8]) @ self.r
        light /= np.linalg.norm(light)
        h = light + self.r[2]
        h /= np.linalg.norm(h)
        th, tl = t @ h, t @ light
        spec = np.sqrt(np.clip(1 - th * th, 0, 1)) ** 40
        diff = np.sqrt(np.clip(1 - tl * tl, 0, 1))
        col = np.clip(base * (0.35 + 0.65 * diff[:, None]) + 70 * spec[:, None], 0, 255)
        self.splat(p[keep], col[keep], bias=0.01)

    def image(self) -> np.ndarray:
        return np.clip(self.rgb, 0, 255).astype(np.uint8)

    def save(self, path):
        from PIL import Image

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(self.image()).save(path)


def preview_groom(model, groom, vertices=None, views=("front", "side", "back"), size: int = 512,
                  path=None, tri_colors=None, half: float = 17.0, mode: str = "ribbons"):
    """Side-by-side views of a groom on a head: (size, size * len(views), 3) uint8, saved when path is given.

    vertices: (V, 3) the head to draw on (the groom is evaluated on them); default the rest shape.
    mode: "ribbons" draws the ribbon meshes (their widths and coverage), "strands" the centre lines."""
    from ..head import skin_triangles

    verts = groom.rest_vertices if vertices is None else np.asarray(vertices)
    skin = skin_triangles(model)
    names = model.region_names
    eyes = np.flatnonzero(np.isin(model.triangle_region, [names.index(r) for r in
                                                          ("sclera_left", "sclera_right", "iris_left", "iris_right")]))
    tris = model.triangles[np.concatenate([skin, eyes])]
    if tri_colors is None:
        tri_colors = np.tile([225.0, 190.0, 165.0], (len(tris), 1))
        reg = model.triangle_region[eyes]
        iris = np.isin(reg, [names.index("iris_left"), names.index("iris_right")])
        tri_colors[len(skin):] = np.where(iris[:, None], [70.0, 50.0, 35.0], [235.0, 232.0, 225.0])
    posed = groom.evaluate(verts)
    mesh = None
    if mode == "ribbons":
        from .ribbons import build_ribbons

        mesh = build_ribbons(groom, model, verts)
    panels = []
    for v in views:
        cv = Canvas(v, size=size, centre=(0.0, -1.0) if v != "top" else (0.0, 0.0), half=half)
        cv.head(verts, tris, None if tri_colors is None else tri_colors)
        if mesh is not None:
            cv.ribbons(mesh)
        for g in groom.groups if mesh is None else ():
            cv.strands(posed[g.region], 255 * np.clip(g.display_color(), 0, 1) ** (1 / 2.2),
                       width_px=2 if g.region in ("scalp_hair", "beard", "moustache") else 1)
        panels.append(cv.image())
    img = np.concatenate(panels, axis=1)
    if path is not None:
        from PIL import Image

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(path)
    return img
