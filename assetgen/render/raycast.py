"""Independent ray casting against a RenderMesh (open3d's Embree RaycastingScene): landmark visibility
here, and the reference that the GL layers are tested against.

Like the GT pass it sees the solid (non-BLEND) materials and applies MASK materials' alpha test: a hit
whose effective alpha (the base colour texture's alpha, bilinear, times the interpolated COLOR_0 alpha
where the primitive has one, e.g. hair) is below the cutoff is skipped and the ray continues behind it. The landmark caster
also leaves out the regions that never hide a landmark (LANDMARK_SEE_THROUGH_REGIONS).
"""

from __future__ import annotations

import numpy as np

from .mesh import RenderMesh, alpha_cutoff

# How far past a cut-out hit a continued ray starts (metres): far below any real surface spacing.
_STEP = 1e-6
_MAX_LAYERS = 64  # cut-out hits skipped per ray at most (hair: many ribbon edges and tips)
# Sight-line casts (Raycaster.cast(..., camera=)): a ray on the line from a point to the camera centre
# projects to that point's pixel all along it, so of the triangles wholly in front of the camera only those
# whose pixel box holds that pixel can meet it (the others are always cast against). The boxes are taken
# this much wider (pixels) against rounding; the answers are those of the whole set.
SIGHT_MARGIN_PX = 1.0
_SIGHT_PAD_PX = 4  # sight lines of origins this far outside the image still use the selection
_FRONT_M = 1e-6

# Landmark visibility (Renderer.landmarks; the rule is written into every view's JSON): surfaces nearer
# than this to a landmark along its line of sight do not hide it (metres), and regions that never do.
# 5 mm is the depth of the creases landmarks are annotated in: seen from the front, the inner mouth
# corners lie up to ~4 mm behind the lips around them (lips pressed, smiling, funnelled), the outer eye
# corners ~2 mm under the lids; what should hide a landmark (nose, cheek, jaw, the far side of the head)
# is centimetres away.
LANDMARK_CLEARANCE_M = 5e-3
LANDMARK_SEE_THROUGH_REGIONS = ("eyelashes",)
LANDMARK_VISIBILITY_RULE = (
    "visible = in front of the camera, inside the image, and the line of sight from the camera centre to "
    f"the landmark crosses no surface farther than {LANDMARK_CLEARANCE_M * 1e3:g} mm from the landmark; surfaces "
    "are the opaque and alpha-tested materials (seen through their cut-outs) without the triangles of the "
    f"region(s) {', '.join(LANDMARK_SEE_THROUGH_REGIONS)}; blended overlays never hide a landmark. So lips pressed "
    "together, the eyelid margin and skin folds at a landmark do not hide it; the nose, a cheek or the far "
    "side of the head do."
)


def sample_bilinear(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear lookup like GL's (texel centres at (i + 0.5) / W, clamp to edge). image: (H, W) float;
    uv: (n, 2) glTF coordinates (v' = 0 at the top row). Returns (n,) float64."""
    h, w = image.shape
    x = np.clip(uv[:, 0] * w - 0.5, 0, w - 1)
    y = np.clip(uv[:, 1] * h - 0.5, 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(np.int64), w - 2 if w > 1 else 0)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 2 if h > 1 else 0)
    fx, fy = x - x0, y - y0
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    img = np.asarray(image, np.float64)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bot = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bot * fy


class Raycaster:
    """Casts rays at the solid (non-BLEND) triangles of a mesh, the same set the GT layers draw."""

    def __init__(self, mesh: RenderMesh, which: list[int] | None = None, skip_regions: tuple[str, ...] = ()):
        """which: the primitives to cast against (default: the solid ones); skip_regions: region names
        whose triangles are left out."""
        import open3d as o3d  # heavy import: only when ray casting is used

        self._o3d = o3d
        self.mesh = mesh
        pos, idx, self.triangle_ids = mesh.triangles_world(which)
        skip = [k for k, name in enumerate(mesh.regions) if name in skip_regions]
        if skip:
            keep = ~np.isin(mesh.triangle_region[self.triangle_ids], skip)
            idx, self.triangle_ids = idx[keep], self.triangle_ids[keep]
        self._pos, self._idx = pos, idx.astype(np.uint32)
        self._scene = None  # the whole set's scene, built on the first cast that needs it
        self._view = None  # sight-line casts: the last camera's triangle boxes, cells asked for, scene
        # Alpha-tested primitives (cutoff, texture alpha), for the cut-out test of the triangles hit.
        self._masked = {}
        for i, p in enumerate(mesh.primitives):
            c = alpha_cutoff(p)
            if c >= 0:
                bc = p.base_color
                self._masked[i] = (c, bc[..., 3].astype(np.float64) / 255.0 if bc.shape[2] == 4 else np.ones(bc.shape[:2]))

    def _make_scene(self, idx: np.ndarray):
        o3d = self._o3d
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.core.Tensor(self._pos), o3d.core.Tensor(np.ascontiguousarray(idx)))
        return scene

    @property
    def scene(self):
        """The open3d RaycastingScene of all this caster's triangles."""
        if self._scene is None:
            self._scene = self._make_scene(self._idx)
        return self._scene

    def _sight_scene(self, camera, origins: np.ndarray):
        """(scene, triangle ids) for rays on the lines from `origins` (n, 3) to `camera`'s centre, or None
        (cast against all): the triangles not wholly in front of the camera, and those whose pixel box
        (SIGHT_MARGIN_PX wider) holds a pixel cell asked for (for this camera so far: a cast whose cells
        were all asked for before reuses the last scene). None when an origin is not in front of the camera
        or outside the image's neighbourhood, or when the selection would save little."""
        o_cam = camera.to_camera(origins)
        if not len(origins) or (o_cam[:, 2] <= _FRONT_M).any():
            return None
        px = camera.project(o_cam)
        w, h = camera.size
        pad = _SIGHT_PAD_PX
        if not np.isfinite(px).all() or (px < -pad + 1).any() or (px[:, 0] >= w + pad - 1).any() or (px[:, 1] >= h + pad - 1).any():
            return None
        cx, cy = (np.floor(px) + pad).astype(np.int64).T
        view = self._sight_view(camera)
        cells = view["cells"]
        if view["scene"] is not None and cells[cy, cx].all():
            return view["scene"]
        cells[cy, cx] = True
        # The cells asked for, summed (a summed-area table) for O(1) queries of each triangle's box.
        sat = np.zeros((cells.shape[0] + 1, cells.shape[1] + 1), np.int32)
        np.cumsum(np.cumsum(cells, 0, dtype=np.int32), 1, out=sat[1:, 1:])
        x0, y0, x1, y1 = view["box_cells"]
        count = sat[y1, x1] - sat[y0, x1] - sat[y1, x0] + sat[y0, x0]
        keep = ~view["front"]
        keep[view["front_ids"][count > 0]] = True
        sel = np.flatnonzero(keep)
        if len(sel) >= 0.5 * len(keep):
            view["scene"] = None
            return None
        view["scene"] = (self._make_scene(self._idx[sel]), self.triangle_ids[sel])
        return view["scene"]

    def _sight_view(self, camera) -> dict:
        """The sight-line state of `camera` (a new camera starts it afresh): its triangles' pixel boxes, the
        pixel cells asked for so far and the scene of their triangles."""
        view = self._view
        if view is None or view["camera"] is not camera:
            w, h = camera.size
            pad = _SIGHT_PAD_PX
            view = self._view = {"camera": camera, "cells": np.zeros((h + 2 * pad, w + 2 * pad), bool), "scene": None}
            self._pixel_boxes(view)
        return view

    def expect_sight_lines(self, camera, points: np.ndarray) -> None:
        """Announce the points (n, 3) whose lines of sight to `camera` will be cast (cast(..., camera=)):
        the first such cast then builds one scene for all of them rather than one per new set of pixels.
        The answers are the same either way; points outside the image's neighbourhood are ignored."""
        o_cam = camera.to_camera(np.asarray(points, np.float64))
        o_cam = o_cam[o_cam[:, 2] > _FRONT_M]
        if not len(o_cam):
            return
        px = camera.project(o_cam)
        w, h = camera.size
        pad = _SIGHT_PAD_PX
        ok = np.isfinite(px).all(1) & (px >= -pad + 1).all(1) & (px[:, 0] < w + pad - 1) & (px[:, 1] < h + pad - 1)
        if ok.any():
            view = self._sight_view(camera)
            cx, cy = (np.floor(px[ok]) + pad).astype(np.int64).T
            if not view["cells"][cy, cx].all():
                view["cells"][cy, cx] = True
                view["scene"] = None

    def _pixel_boxes(self, view: dict) -> None:
        """Per triangle of this caster, from view["camera"]: whether it lies wholly in front of the camera
        (its pixel box bounds its image only then) and, for those, the cells of the box (SIGHT_MARGIN_PX
        wider, clipped to the cell grid) as half-open summed-area table indices x0, y0, x1, y1."""
        camera = view["camera"]
        w2c = np.asarray(camera.world_to_camera, np.float64)
        p = self._pos.astype(np.float64)
        # (per axis rather than a (n, 3) @ (3, 3) product, which BLAS threads make slow on a busy machine)
        x, y, z = (p[:, 0] * m[0] + p[:, 1] * m[1] + p[:, 2] * m[2] + m[3] for m in w2c[:3])
        (fx, sk, cx), (_, fy, cy) = np.asarray(camera.K, np.float64)[:2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = (fx * x + sk * y) / z + cx
            v = fy * y / z + cy
        a, b, c = self._idx[:, 0], self._idx[:, 1], self._idx[:, 2]
        front = np.minimum(np.minimum(z[a], z[b]), z[c]) > _FRONT_M
        ids = np.flatnonzero(front)
        a, b, c = a[ids], b[ids], c[ids]
        gh, gw = view["cells"].shape
        pad, m = _SIGHT_PAD_PX, SIGHT_MARGIN_PX
        with np.errstate(invalid="ignore"):
            lo_u = np.floor(np.minimum(np.minimum(u[a], u[b]), u[c]) - m) + pad
            lo_v = np.floor(np.minimum(np.minimum(v[a], v[b]), v[c]) - m) + pad
            hi_u = np.floor(np.maximum(np.maximum(u[a], u[b]), u[c]) + m) + pad + 1
            hi_v = np.floor(np.maximum(np.maximum(v[a], v[b]), v[c]) + m) + pad + 1
        finite = np.isfinite(lo_u) & np.isfinite(lo_v) & np.isfinite(hi_u) & np.isfinite(hi_v)
        front[ids[~finite]] = False  # (cast against always, as the triangles not in front are)
        ids = ids[finite]
        view["front"], view["front_ids"] = front, ids
        view["box_cells"] = (np.clip(lo_u[finite], 0, gw).astype(np.int64), np.clip(lo_v[finite], 0, gh).astype(np.int64),
                             np.clip(hi_u[finite], 0, gw).astype(np.int64), np.clip(hi_v[finite], 0, gh).astype(np.int64))

    def _cast_once(self, origins, directions, scene=None, ids=None):
        rays = np.concatenate([origins, directions], axis=1).astype(np.float32)
        hit = (self.scene if scene is None else scene).cast_rays(self._o3d.core.Tensor(rays), nthreads=0)
        t = hit["t_hit"].numpy().astype(np.float64)
        prim = hit["primitive_ids"].numpy().astype(np.int64)
        ok = np.isfinite(t)
        tri = np.full(len(t), -1, np.int64)
        tri[ok] = (self.triangle_ids if ids is None else ids)[prim[ok]]
        return t, tri, hit["primitive_uvs"].numpy().astype(np.float64)

    def cast(self, origins: np.ndarray, directions: np.ndarray, camera=None) -> dict[str, np.ndarray]:
        """origins, directions: (n, 3) (unit directions give distances in metres). Returns t (n,) float64
        (inf on a miss), triangle (n,) int64 global triangle id (-1 on a miss), bary12 (n, 2), and
        alpha_margin (n,): the smallest |alpha - cutoff| met on the way (inf if no masked surface), so
        callers can set aside rays whose fate hangs on texture filtering. camera: a Camera whose centre
        every ray's line passes through (sight lines): the same answers, cast against the triangles that
        can meet those lines only."""
        o = np.asarray(origins, np.float64).copy()
        d = np.asarray(directions, np.float64)
        scene = ids = None
        if camera is not None:
            scene, ids = self._sight_scene(camera, o) or (None, None)
        n = len(o)
        t_total = np.zeros(n)
        out_t = np.full(n, np.inf)
        out_tri = np.full(n, -1, np.int64)
        out_b = np.zeros((n, 2))
        margin = np.full(n, np.inf)
        todo = np.arange(n)
        for _ in range(_MAX_LAYERS):
            t, tri, b = self._cast_once(o[todo], d[todo], scene, ids)
            prim = np.where(tri >= 0, self.mesh.triangle_material[np.maximum(tri, 0)], -1)
            cut = np.zeros(len(todo), bool)
            for pi, (cutoff, alpha) in self._masked.items():
                sel = np.flatnonzero(prim == pi)
                if not len(sel):
                    continue
                p = self.mesh.primitives[pi]
                corners = p.indices[tri[sel] - self.mesh.triangle_offsets[pi]]
                c = p.texcoords[corners].astype(np.float64)
                uv = c[:, 0] * (1 - b[sel].sum(1))[:, None] + c[:, 1] * b[sel, :1] + c[:, 2] * b[sel, 1:]
                a = sample_bilinear(alpha, uv)
                if p.colors is not None:  # COLOR_0 alpha at the hit (barycentric, as GL interpolates it)
                    ca = np.asarray(p.colors)[corners, 3].astype(np.float64)
                    a = a * (ca[:, 0] * (1 - b[sel].sum(1)) + ca[:, 1] * b[sel, 0] + ca[:, 2] * b[sel, 1])
                margin[todo[sel]] = np.minimum(margin[todo[sel]], np.abs(a - cutoff))
                cut[sel] = a < cutoff
            keep = ~cut
            done = todo[keep]
            out_t[done] = t_total[done] + t[keep]
            out_tri[done] = tri[keep]
            out_b[done] = b[keep]
            todo_next = todo[cut]
            if not len(todo_next):
                break
            step = t[cut] + _STEP
            o[todo_next] += d[todo_next] * step[:, None]
            t_total[todo_next] += step
            todo = todo_next
        return {"t": out_t, "triangle": out_tri, "bary12": out_b, "alpha_margin": margin}

    def line_of_sight_clear(self, points: np.ndarray, eye: np.ndarray, clearance: float, camera=None) -> np.ndarray:
        """(n,) bool: whether the segment from `eye` (3,) to each point (n, 3) crosses no surface farther
        than `clearance` metres from the point. Cast from the point's end: from point + clearance * d
        towards the eye (d the unit direction to the eye), so the ray stops short of the point and never
        aims at the mesh vertex or edge it may lie on: nearby eyes give the same answers. A point within
        `clearance` of the eye is clear. camera: a Camera whose centre is `eye` (cast's sight lines: the same
        answers, faster)."""
        points = np.asarray(points, np.float64)
        to_eye = np.asarray(eye, np.float64)[None, :] - points
        dist = np.linalg.norm(to_eye, axis=1)
        clear = np.ones(len(points), bool)
        far = np.flatnonzero(dist > clearance)
        if len(far):
            d = to_eye[far] / dist[far, None]
            hit = self.cast(points[far] + clearance * d, d, camera)
            clear[far] = ~(hit["t"] < dist[far] - clearance)
        return clear
