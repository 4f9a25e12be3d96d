"""Projection baking: images seen from known cameras -> each material's UV texture.

Per texel: the surface point (interpolated from the mesh's own vertices in metres, rasterized in UV space
like uv/raster.py so texel (r, c) is the point at glTF UV ((c + 0.5)/W, (r + 0.5)/H)), projected into
every view; kept where visible (depth test against the view's own depth and material ids, rendered from
the mesh on the GPU); weighted by cos(view angle)^power times a ramp that is 0 at depth edges
(silhouettes, occlusion boundaries) and 1 a few pixels away, times the texel's on-screen area (capped at
1 pixel); blended across views as a weighted mean. Optionally (min_px_per_texel) a view counts for a
texel only where it resolves it: texels that no view sees at that resolution are reported unseen.
Colours are blended as stored (sRGB values): views of a texel agree closely, so the encoding hardly
matters. The renderer's albedo layer holds exact stored texel values (nearest); baked back with
sampling="nearest" and min_px_per_texel=1 it reproduces the texture (tests/test_bake.py: > 45 dB).

Speed: everything per view stays on the GPU except a 2-byte-per-pixel read-back (edge flags and
material ids, for the distance transform and to skip materials the view does not show); a single view
is drawn straight into the 8-bit result (no float accumulators, no resolve pass); GL objects are reused
across calls; padding works on one uint32 per texel over the band to fill; per view only the triangles
that may face it are drawn in UV space.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputError
from ..gl import draw_once
from ..render.camera import Camera
from ..render.mesh import RenderMesh, alpha_cutoff, as_mesh
from . import shaders

# Views disagreeing by this RMS (fraction of full scale) get zero confidence.
DISAGREEMENT_SCALE = 0.1
# A triangle is drawn for a view when one of its vertex normals has cos(angle to the camera) above this.
FACING_SLACK = -0.1


@dataclass(eq=False)
class View:
    """image: (H, W, 3) uint8 (values as stored, e.g. sRGB); camera: its Camera (size = (W, H)).
    Visibility comes from rendering the mesh itself from the camera (depth and which material each pixel
    sees), so it is exact for this mesh whatever made the image. visibility: optionally that render
    already made, (H, W, 2) float32 camera z (>= 1e30 where empty) and primitive index (-1 where empty),
    e.g. `visibility_of(renderer.render(camera, ["depth"]))`, to skip drawing it again."""

    image: np.ndarray
    camera: Camera
    visibility: np.ndarray | None = None

    def __post_init__(self):
        img = np.asarray(self.image)
        w, h = self.camera.size
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (3, 4):
            raise InputError(f"view image must be (H, W, 3) uint8, got {img.dtype} {img.shape}")
        if img.shape[:2] != (h, w):
            raise InputError(f"view image is {img.shape[1]}x{img.shape[0]} but its camera says {w}x{h}")
        self.image = np.ascontiguousarray(img[..., :3])
        if self.visibility is not None:
            vis = np.asarray(self.visibility)
            if vis.shape != (h, w, 2) or vis.dtype != np.float32:
                raise InputError(f"view visibility must be ({h}, {w}, 2) float32, got {vis.dtype} {vis.shape}")
            self.visibility = np.ascontiguousarray(vis)


def visibility_of(result) -> np.ndarray:
    """(H, W, 2) float32 View.visibility of a RenderResult (needs its depth and uv layers): camera z,
    1e30 where empty; primitive index, -1 where empty."""
    if result.depth is None or result.material is None:
        raise InputError("visibility needs a render with the depth and uv layers")
    vis = np.empty(result.depth.shape + (2,), np.float32)
    vis[..., 0] = result.depth
    vis[..., 0][~np.isfinite(result.depth)] = 1e30
    vis[..., 1] = result.material
    return vis


@dataclass(eq=False)
class BakeResult:
    """One material's bake, (h, w) images with row 0 at the top (glTF UVs).

    texture: (h, w, 3) uint8, padded outwards from seen texels by `padding` texels (0 beyond);
    coverage: (h, w) uint8, 0 unseen, else round(255 * confidence) (at least 1), where confidence =
    min(1, sum of view weights) * agreement, agreement = 1 - RMS (over channels) of the weighted
    standard deviation of the views' colours / DISAGREEMENT_SCALE (clamped to [0, 1]);
    confidence (property): (h, w) float32 = coverage / 255;
    unseen: (h, w) bool, texels of the UV layout that no view saw (what a cleaning stage must fill);
    uv_mask: (h, w) bool, texels the material's triangles cover.
    """

    material: str
    texture: np.ndarray
    coverage: np.ndarray
    unseen: np.ndarray
    uv_mask: np.ndarray

    @property
    def confidence(self) -> np.ndarray:
        return self.coverage.astype(np.float32) * np.float32(1 / 255)

    @property
    def seen(self) -> np.ndarray:
        return self.coverage > 0


class Baker:
    """Bakes views into the textures of one mesh (an Asset, a RenderMesh or an assetgen GLB).

    sizes: material -> (h, w) texture size; default: the size of the mesh's own base colour image.
    power: exponent of the cos weight; edge_px: width of the depth-edge ramp in view pixels (default
    1 % of the view's larger side, at least 2); padding: texels to extend seen content outwards.
    min_px_per_texel: a view contributes to a texel only where the texel spans at least this many view
    pixels across (sqrt of its on-screen area); 0 takes every view that sees the texel, however coarsely
    (weighted down by resolution), 1 keeps only views that resolve the texture ("equal resolution"):
    texels no view resolves are then reported unseen, for the cleaning stage to fill.
    sampling: "linear" (bilinear lookups of the images) or "nearest".

    GL objects (programs, vertex arrays, per-view textures, accumulators of each texture size) are made
    once and reused across calls; release() frees them.
    """

    def __init__(self, source, sizes: dict | None = None, power: float = 4.0, edge_px: float | None = None,
                 padding: int = 4, abs_tol: float = 1.5e-3, min_px_per_texel: float = 0.0,
                 sampling: str = "linear"):
        from ..gl import context

        self.mesh: RenderMesh = as_mesh(source)
        self.sizes = dict(sizes or {})
        for name, s in self.sizes.items():
            self.mesh.material(name)  # raises for unknown names
            if len(s) != 2 or min(s) < 1 or max(s) > 16384:
                raise InputError(f"texture size of {name} must be (h, w) in 1..16384, got {s}")
        if sampling not in ("linear", "nearest"):
            raise InputError(f"sampling must be 'linear' or 'nearest', got {sampling!r}")
        if not (np.isfinite(min_px_per_texel) and min_px_per_texel >= 0):
            raise InputError(f"min_px_per_texel must be a finite number >= 0, got {min_px_per_texel}")
        self.power, self.edge_px, self.padding, self.abs_tol = float(power), edge_px, int(padding), float(abs_tol)
        self.min_px_per_texel, self.sampling = float(min_px_per_texel), sampling
        self.ctx = c = context()
        self.prog = c.program(vertex_shader=shaders.VERTEX, fragment_shader=shaders.FRAGMENT)
        self._vis_prog = c.program(vertex_shader=shaders.VIS_VERTEX, fragment_shader=shaders.VIS_FRAGMENT)
        self._edge_prog = c.program(vertex_shader=shaders.FULLSCREEN_VERTEX, fragment_shader=shaders.EDGE_FRAGMENT)
        self._resolve_prog = c.program(vertex_shader=shaders.FULLSCREEN_VERTEX, fragment_shader=shaders.RESOLVE_FRAGMENT)
        self._mask_prog = c.program(vertex_shader=shaders.VERTEX, fragment_shader=shaders.MASK_FRAGMENT)
        self._objects = [self.prog, self._vis_prog, self._edge_prog, self._resolve_prog, self._mask_prog]
        self._edge_vao = self._keep(c.vertex_array(self._edge_prog, []))
        self._resolve_vao = self._keep(c.vertex_array(self._resolve_prog, []))
        self._prims: dict[int, dict] = {}
        self._slots: list[dict] = []   # per-view GL resources, by position in the views list
        self._targets: dict = {}       # (h, w) -> accumulators and the 8-bit output
        self._uv_masks: dict = {}      # (primitive, h, w) -> (h, w) bool
        self._own: dict = {}           # (primitive, h, w) -> alpha texture of that size
        lo, hi = self.mesh.bounds()
        self._corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])

    # ---- resources ---------------------------------------------------------------------------
    def _keep(self, obj):
        self._objects.append(obj)
        return obj

    def size_of(self, material: str) -> tuple[int, int]:
        return tuple(self.sizes.get(material, self.mesh.material(material).base_color.shape[:2]))

    def _prim(self, i: int) -> dict:
        """Vertex arrays of primitive i (UV-space bake, UV mask, camera-space visibility) and, for
        alpha-tested ones, its base colour as the renderer samples it."""
        if i not in self._prims:
            c, p = self.ctx, self.mesh.primitives[i]
            data = np.empty(len(p.positions), dtype=[("p", "f4", 3), ("n", "f4", 3), ("t", "f4", 2)])
            data["p"], data["n"], data["t"] = p.positions, p.normals, p.texcoords
            vbo = self._keep(c.buffer(data.tobytes()))
            ibo = self._keep(c.buffer(np.ascontiguousarray(p.indices, np.uint32).tobytes()))
            faces = np.ascontiguousarray(p.indices, np.uint32)
            # Per view only the triangles that can face it are drawn in UV space (see _facing).
            cull_ibo = self._keep(c.buffer(reserve=max(faces.nbytes, 4)))
            d = {
                "bake": self._keep(c.vertex_array(self.prog, [(vbo, "3f 3f 2f", "in_pos", "in_nrm", "in_uv")], ibo, index_element_size=4)),
                "bake_culled": self._keep(c.vertex_array(self.prog, [(vbo, "3f 3f 2f", "in_pos", "in_nrm", "in_uv")], cull_ibo, index_element_size=4)),
                "cull_ibo": cull_ibo,
                "faces": faces.reshape(-1, 3),
                "mask": self._keep(c.vertex_array(self._mask_prog, [(vbo, "24x 2f", "in_uv")], ibo, index_element_size=4)),
                "vis": self._keep(c.vertex_array(self._vis_prog, [(vbo, "3f 12x 2f", "in_pos", "in_uv")], ibo, index_element_size=4)),
                "vbo": vbo,
                "ibo": ibo,
                "cutoff": alpha_cutoff(p),
                "base": None,
            }
            if d["cutoff"] >= 0:
                a = np.ascontiguousarray(p.base_color)
                tex = self._keep(c.texture((a.shape[1], a.shape[0]), 4, a.tobytes()))
                tex.filter = (c.LINEAR, c.LINEAR)  # as the renderer's GT pass samples it
                tex.repeat_x = tex.repeat_y = False
                d["base"] = tex
            self._prims[i] = d
        return self._prims[i]

    def _slot(self, k: int, w: int, h: int) -> dict:
        """GL resources of the k-th view of a call, (re)made when its size changes."""
        while len(self._slots) <= k:
            self._slots.append({})
        s = self._slots[k]
        if s.get("size") != (w, h):
            for o in s.get("objects", ()):
                o.release()
            c = self.ctx
            img = c.texture((w, h), 3)
            vis = c.texture((w, h), 2, dtype="f4")
            zbuf = c.depth_renderbuffer((w, h))
            vis_fbo = c.framebuffer(color_attachments=[vis], depth_attachment=zbuf)
            edge_rb = c.renderbuffer((w, h), 2)
            edge_fbo = c.framebuffer(color_attachments=[edge_rb])
            edge = c.texture((w, h), 1)
            vis.filter = (c.NEAREST, c.NEAREST)
            edge.filter = (c.LINEAR, c.LINEAR)
            for t in (img, vis, edge):
                t.repeat_x = t.repeat_y = False
            s.clear()
            s.update(size=(w, h), img=img, vis=vis, vis_fbo=vis_fbo, edge_fbo=edge_fbo, edge=edge,
                     readback=np.empty((h, w, 2), np.uint8),
                     objects=(vis_fbo, edge_fbo, img, vis, zbuf, edge_rb, edge))
        f = self.ctx.NEAREST if self.sampling == "nearest" else self.ctx.LINEAR
        s["img"].filter = (f, f)
        return s

    def _target(self, h: int, w: int) -> dict:
        key = (h, w)
        if key not in self._targets:
            c = self.ctx
            acc = c.texture((w, h), 4, dtype="f4")
            sq = c.texture((w, h), 1, dtype="f4")
            for t in (acc, sq):
                t.filter = (c.NEAREST, c.NEAREST)
            fbo = c.framebuffer(color_attachments=[acc, sq])
            out = c.renderbuffer((w, h), 4)
            out_fbo = c.framebuffer(color_attachments=[out])
            self._targets[key] = dict(acc=acc, sq=sq, fbo=fbo, out_fbo=out_fbo, readback=np.empty((h, w, 4), np.uint8),
                                      objects=(fbo, out_fbo, acc, sq, out))
        return self._targets[key]

    def release(self):
        for group in [s.get("objects", ()) for s in self._slots] + [t["objects"] for t in self._targets.values()]:
            for o in group:
                o.release()
        for o in list(self._own.values()) + self._objects:
            o.release()
        self._slots, self._targets, self._own, self._objects, self._prims = [], {}, {}, [], {}

    # ---- per view ----------------------------------------------------------------------------
    def _near_far(self, camera: Camera):
        z = camera.to_camera(self._corners)[:, 2]
        far = float(z.max()) * 1.01 + 1e-3
        if far <= 1e-3:
            return None
        return max(float(z.min()) * 0.99 - 1e-3, 1e-3), far

    def _prepare(self, k: int, view: View) -> tuple[dict, set]:
        """Upload view k: its image, visibility (camera z and primitive per pixel, rendered from the mesh
        with the renderer's alpha test) and depth-edge weights. Returns its slot and the set of primitives
        it shows."""
        c = self.ctx
        cam = view.camera
        w, h = cam.size
        s = self._slot(k, w, h)
        s["img"].write(view.image)
        c.disable(c.BLEND | c.CULL_FACE)
        s["vis_fbo"].use()
        c.viewport = (0, 0, w, h)
        nf = self._near_far(cam)
        if view.visibility is not None:
            s["vis"].write(view.visibility)
        else:
            s["vis_fbo"].clear(1e30, -1.0, 0.0, 0.0, depth=1.0)
        if nf is not None and view.visibility is None:
            c.enable(c.DEPTH_TEST)
            v = self._vis_prog
            v["w2c"].write(cam.world_to_camera.T.astype("f4").tobytes())
            v["proj"].write(cam.gl_projection(*nf).T.astype("f4").tobytes())
            v["base"].value = 0
            for i in self.mesh.solid():
                d = self._prim(i)
                v["cutoff"].value, v["prim"].value = d["cutoff"], float(i)
                if d["base"] is not None:
                    d["base"].use(0)
                d["vis"].render()
            c.disable(c.DEPTH_TEST)
        s["edge_fbo"].use()
        s["vis"].use(0)
        self._edge_prog["vis"].value = 0
        self._edge_vao.render(vertices=3)
        rb = s["readback"]
        s["edge_fbo"].read_into(rb, components=2)
        ramp = float(self.edge_px) if self.edge_px else max(2.0, 0.01 * max(h, w))
        edge = rb[..., 0]
        if len(self.mesh.primitives) < 255:
            counts = np.bincount(rb[..., 1].ravel(), minlength=256)
            shown = {int(j) - 1 for j in np.flatnonzero(counts[1:]) + 1}
        else:
            shown = set(range(len(self.mesh.primitives)))
        if not shown:
            s["edge"].write(np.zeros((h, w), np.uint8))
            return s, shown
        # Distance (pixels) to the nearest edge pixel; 0 there, rising to 1 at `ramp` pixels (8-bit).
        dist = cv2.distanceTransform(cv2.bitwise_not(edge), cv2.DIST_L2, 3)
        dist -= 0.5
        dist *= 255.0 / ramp
        np.clip(dist, 0.0, 255.0, out=dist)
        s["edge"].write(dist.astype(np.uint8))
        return s, shown

    # ---- baking ------------------------------------------------------------------------------
    def bake(self, views, materials=None) -> dict[str, BakeResult]:
        """Bake `views` (a list of View) into `materials` (default: all solid ones). Returns name -> BakeResult."""
        views = list(views)
        if not views:
            raise InputError("bake needs at least one view")
        names = [p.material for p in self.mesh.primitives if p.alpha_mode != "BLEND"] if materials is None else list(materials)
        index = {p.material: i for i, p in enumerate(self.mesh.primitives)}
        for n in names:
            if n not in index:
                raise InputError(f"no material {n!r} to bake into; the mesh has {', '.join(index)}")
        prepared = [self._prepare(k, v) for k, v in enumerate(views)]
        return {n: self._bake_material(index[n], views, prepared) for n in names}

    def _bake_material(self, i: int, views, prepared) -> BakeResult:
        c, p = self.ctx, self.prog
        name = self.mesh.primitives[i].material
        h, w = self.size_of(name)
        uv_mask = self.uv_mask(name).copy()  # the cached mask stays private
        seeing = [(v, s) for v, (s, shown) in zip(views, prepared) if i in shown]
        if not seeing:  # no view shows this material: nothing to draw
            z = np.zeros((h, w), np.uint8)
            return BakeResult(name, np.zeros((h, w, 3), np.uint8), z, uv_mask.copy(), uv_mask)
        t = self._target(h, w)
        d = self._prim(i)
        own = self._own_alpha(i, h, w)
        # One view: drawn straight into the 8-bit target (colour, coverage), as RESOLVE would give it;
        # several: weighted sums in float accumulators, then RESOLVE.
        single = len(seeing) == 1
        fbo = t["out_fbo"] if single else t["fbo"]
        fbo.use()
        c.viewport = (0, 0, w, h)
        c.disable(c.DEPTH_TEST | c.CULL_FACE)
        fbo.clear(0.0, 0.0, 0.0, 0.0)
        if not single:
            c.enable(c.BLEND)
            c.blend_func = (c.ONE, c.ONE)  # every view adds into the accumulators
        p["image"].value, p["vis"].value, p["edge"].value, p["own"].value = 0, 1, 2, 3
        p["power"].value, p["abs_tol"].value = self.power, self.abs_tol
        p["min_area"].value = self.min_px_per_texel**2
        p["prim"].value = float(i)
        p["single"].value = int(single)
        p["cutoff"].value = -1.0 if own is None else d["cutoff"]
        if own is not None:
            own.use(3)
        for view, s in seeing:
            cam = view.camera
            p["w2c"].write(cam.world_to_camera.T.astype("f4").tobytes())
            K = cam.K
            p["kf"].value = (K[0, 0], K[1, 1], K[0, 2], K[1, 2])
            p["skew"].value = float(K[0, 1])
            p["size"].value = tuple(float(x) for x in cam.size)
            p["eye"].value = tuple(cam.centre.astype(float))
            s["img"].use(0)
            s["vis"].use(1)
            s["edge"].use(2)
            faces = self._facing(i, cam)
            if len(faces) == len(d["faces"]):
                d["bake"].render()
            elif len(faces):
                d["cull_ibo"].orphan()  # fresh storage: no wait for earlier draws still reading it
                d["cull_ibo"].write(faces.tobytes())
                d["bake_culled"].render(vertices=faces.size)
        if not single:
            c.disable(c.BLEND)
            t["out_fbo"].use()
            c.viewport = (0, 0, w, h)
            t["acc"].use(0)
            t["sq"].use(1)
            r = self._resolve_prog
            r["acc"].value, r["sq"].value, r["disagreement"].value = 0, 1, DISAGREEMENT_SCALE
            self._resolve_vao.render(vertices=3)
        tex = t["readback"]
        t["out_fbo"].read_into(tex, components=4)
        coverage = cv2.extractChannel(tex, 3)
        seen = coverage > 0
        texture = _pad_rgba(tex, seen, self.padding)
        return BakeResult(name, texture, coverage, uv_mask & ~seen, uv_mask)

    def _facing(self, i: int, camera: Camera) -> np.ndarray:
        """(k, 3) uint32 triangles of primitive i that may face `camera`: those with a vertex whose normal
        is within ~95 degrees of the direction to the camera. Every other texel would get weight 0 (the
        shader's cos <= 0 test), and the slack covers the normal and direction varying across a
        triangle, so drawing only these changes no texel; it saves shading the far side (~40 % of the
        texels for a face view)."""
        d, p = self._prim(i), self.mesh.primitives[i]
        to_eye = np.asarray(camera.centre, np.float32) - p.positions
        cos = (p.normals * to_eye).sum(-1) / np.maximum(np.linalg.norm(to_eye, axis=-1), 1e-12)
        keep = (cos > FACING_SLACK)[d["faces"]].any(axis=1)
        return d["faces"] if keep.all() else np.ascontiguousarray(d["faces"][keep])

    def uv_mask(self, material: str) -> np.ndarray:
        """(h, w) bool: texels of `material`'s texture (at its bake size) whose centre its triangles cover
        (cached: do not modify)."""
        i = self._index(material)
        h, w = self.size_of(material)
        key = (i, h, w)
        if key not in self._uv_masks:
            shared = _shared_uv_mask(self.mesh.primitives[i], h, w)
            if shared is not None:
                self._uv_masks[key] = shared
                return shared
            (m,) = draw_once(self._prim(i)["mask"], (w, h), [(1, "f1")])
            self._uv_masks[key] = m > 0
            _keep_uv_mask(self.mesh.primitives[i], h, w, self._uv_masks[key])
        return self._uv_masks[key]

    def positions(self, material: str) -> np.ndarray:
        """(h, w, 3) float32 surface point (world metres) the baker projects for each texel of `material`
        (0 where no triangle covers the texel centre)."""
        i = self._index(material)
        h, w = self.size_of(material)
        c = self.ctx
        prog = c.program(vertex_shader=shaders.VERTEX, fragment_shader=shaders.POSITION_FRAGMENT)
        d = self._prim(i)
        vao = c.vertex_array(prog, [(d["vbo"], "3f 12x 2f", "in_pos", "in_uv")], d["ibo"], index_element_size=4)
        try:
            (out,) = draw_once(vao, (w, h), [(4, "f4")])
        finally:
            vao.release()
            prog.release()
        return np.ascontiguousarray(out[..., :3])

    def _index(self, material: str) -> int:
        for i, p in enumerate(self.mesh.primitives):
            if p.material == material:
                return i
        raise InputError(f"no material {material!r}; the mesh has {', '.join(p.material for p in self.mesh.primitives)}")

    def _own_alpha(self, i: int, h: int, w: int):
        """The material's base colour as a texture of the bake's size when it is alpha-tested, else None."""
        prim = self.mesh.primitives[i]
        if alpha_cutoff(prim) < 0:
            return None
        key = (i, h, w)
        if key not in self._own:
            a = prim.base_color
            if a.shape[:2] != (h, w):
                a = cv2.resize(a, (w, h), interpolation=cv2.INTER_NEAREST)
            self._own[key] = self.ctx.texture((w, h), 4, np.ascontiguousarray(a).tobytes())
        return self._own[key]


# UV masks depend only on a primitive's texture coordinates and triangles, which meshes of one topology
# share (render.mesh caches them read-only): keyed by those arrays' identity, checked through weak
# references so a recycled id never matches.
_UV_MASKS: dict = {}


def _shared_uv_mask(prim, h: int, w: int):
    hit = _UV_MASKS.get((id(prim.texcoords), id(prim.indices), h, w))
    if hit is not None and hit[0]() is prim.texcoords and hit[1]() is prim.indices:
        return hit[2]
    return None


def _keep_uv_mask(prim, h: int, w: int, mask: np.ndarray) -> None:
    import weakref

    if prim.texcoords.flags.writeable or prim.indices.flags.writeable:
        return  # arrays someone may change in place: not shareable
    if len(_UV_MASKS) >= 64:
        _UV_MASKS.clear()
    mask.setflags(write=False)
    _UV_MASKS[(id(prim.texcoords), id(prim.indices), h, w)] = (weakref.ref(prim.texcoords), weakref.ref(prim.indices), mask)


def edge_weight(depth: np.ndarray, edge_px: float | None = None, owner: np.ndarray | None = None) -> np.ndarray:
    """(H, W) float32 in [0, 1]: 0 on depth edges (empty pixels, neighbours whose depths differ by more
    than 1 % of the depth, or that see different materials `owner`) rising linearly to 1 at `edge_px`
    pixels away. Bilinear lookups near a silhouette would blend in background or the occluder; this
    keeps those texels out."""
    z = np.asarray(depth, np.float32)
    h, w = z.shape
    ramp = float(edge_px) if edge_px else max(2.0, 0.01 * max(h, w))
    empty = ~np.isfinite(z)
    zf = np.where(empty, 0.0, z)
    edge = empty.copy()
    for axis in (0, 1):
        a = np.take(zf, range(0, z.shape[axis] - 1), axis=axis)
        b = np.take(zf, range(1, z.shape[axis]), axis=axis)
        ea = np.take(empty, range(0, z.shape[axis] - 1), axis=axis) | np.take(empty, range(1, z.shape[axis]), axis=axis)
        jump = (np.abs(a - b) > 0.01 * np.minimum(a, b)) | ea
        if owner is not None:
            jump |= np.diff(owner, axis=axis) != 0
        if axis == 0:
            edge[:-1] |= jump
            edge[1:] |= jump
        else:
            edge[:, :-1] |= jump
            edge[:, 1:] |= jump
    if not (~edge).any():
        return np.zeros((h, w), np.float32)
    dist = cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, 3)
    return np.clip((dist - 0.5) / ramp, 0.0, 1.0).astype(np.float32)


def _pad_rgba(rgba: np.ndarray, mask: np.ndarray, pixels: int) -> np.ndarray:
    """pad_nearest for the baker's read-back: (h, w, 4) uint8 that is already 0 wherever `mask` is False.
    Returns (h, w, 3). Works on one uint32 per texel and only on the band to be filled."""
    if pixels > 0 and mask.any() and not mask.all():
        unseen = cv2.compare(mask.view(np.uint8), 0, cv2.CMP_EQ)
        dist, labels = cv2.distanceTransformWithLabels(unseen, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
        # Unseen texels are >= 1 from every seen one (seen ones are 0).
        fill = np.flatnonzero(cv2.inRange(dist, 0.5, float(pixels)))
        if len(fill):
            # Labels number the zero (seen) pixels in row-major order: map each label to its flat index.
            src = np.flatnonzero(mask)
            flat = rgba.view(np.uint32).reshape(-1)
            flat[fill] = flat[src[labels.reshape(-1)[fill] - 1]]
    return cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)


def pad_nearest(image: np.ndarray, mask: np.ndarray, pixels: int) -> np.ndarray:
    """Copy each masked-out texel within `pixels` of the mask from its nearest masked texel, so bilinear
    filtering and mip-mapping across island borders and seams never pull in unrelated colour. image:
    (h, w, C); mask: (h, w) bool. Masked texels are unchanged; farther texels stay 0."""
    out = image * mask[..., None].astype(image.dtype)
    if pixels <= 0 or not mask.any() or mask.all():
        return out
    dist, labels = cv2.distanceTransformWithLabels(
        (~mask).astype(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    # Labels number the zero (masked) pixels in row-major order: map each label to its flat index.
    src = np.flatnonzero(mask.ravel())
    fill = (~mask) & (dist <= pixels)
    idx = src[labels[fill] - 1]
    out[fill] = image.reshape(-1, image.shape[-1])[idx]
    return out
