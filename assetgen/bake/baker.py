"""Projection baking: images seen from known cameras -> each material's UV texture.

Per texel: the surface point (interpolated from the mesh's own vertices in metres, rasterized in UV space
like uv/raster.py so texel (r, c) is the point at glTF UV ((c + 0.5)/W, (r + 0.5)/H)), projected into
every view; kept where visible (depth test against the view's depth, rendered when not given); weighted
by cos(view angle)^power times a ramp that is 0 at depth edges (silhouettes, occlusion boundaries) and
1 a few pixels away; blended across views as a weighted mean. Colours are blended as stored (sRGB
values): views of a texel agree closely, so the encoding hardly matters and albedo round-trips exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import InputError
from ..render.camera import Camera
from ..render.mesh import RenderMesh, as_mesh
from ..render.renderer import alpha_cutoff
from . import shaders

# Views disagreeing by this RMS (fraction of full scale) get zero confidence.
DISAGREEMENT_SCALE = 0.1


@dataclass(eq=False)
class View:
    """image: (H, W, 3) uint8 (values as stored, e.g. sRGB); camera: its Camera (size = (W, H)).
    Visibility comes from rendering the mesh itself from the camera (depth and which material each pixel
    sees), so it is exact for this mesh whatever made the image."""

    image: np.ndarray
    camera: Camera

    def __post_init__(self):
        img = np.asarray(self.image)
        w, h = self.camera.size
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (3, 4):
            raise InputError(f"view image must be (H, W, 3) uint8, got {img.dtype} {img.shape}")
        if img.shape[:2] != (h, w):
            raise InputError(f"view image is {img.shape[1]}x{img.shape[0]} but its camera says {w}x{h}")
        self.image = np.ascontiguousarray(img[..., :3])


@dataclass(eq=False)
class BakeResult:
    """One material's bake, (h, w) images with row 0 at the top (glTF UVs).

    texture: (h, w, 3) uint8, padded outwards from seen texels by `padding` texels (0 beyond);
    coverage: (h, w) uint8, 0 unseen, else round(255 * confidence) (at least 1), where confidence =
    min(1, sum of view weights) * agreement, agreement = 1 - mean RMS spread of the views' colours /
    DISAGREEMENT_SCALE (clamped to [0, 1]); confidence: (h, w) float32 = coverage / 255;
    unseen: (h, w) bool, texels of the UV layout that no view saw (what a cleaning stage must fill);
    uv_mask: (h, w) bool, texels the material's triangles cover.
    """

    material: str
    texture: np.ndarray
    confidence: np.ndarray
    coverage: np.ndarray
    unseen: np.ndarray
    uv_mask: np.ndarray

    @property
    def seen(self) -> np.ndarray:
        return self.coverage > 0


class Baker:
    """Bakes views into the textures of one mesh (an Asset, a RenderMesh or an assetgen GLB).

    sizes: material -> (h, w) texture size; default: the size of the mesh's own base colour image.
    power: exponent of the cos weight; edge_px: width of the depth-edge ramp in view pixels (default
    1 % of the view's larger side, at least 2); padding: texels to extend seen content outwards.
    """

    def __init__(self, source, sizes: dict | None = None, power: float = 4.0, edge_px: float | None = None,
                 padding: int = 4, abs_tol: float = 1.5e-3):
        from ..gl import context

        self.mesh: RenderMesh = as_mesh(source)
        self.sizes = dict(sizes or {})
        for name, s in self.sizes.items():
            self.mesh.material(name)  # raises for unknown names
            if len(s) != 2 or min(s) < 1 or max(s) > 16384:
                raise InputError(f"texture size of {name} must be (h, w) in 1..16384, got {s}")
        self.power, self.edge_px, self.padding, self.abs_tol = float(power), edge_px, int(padding), float(abs_tol)
        self.ctx = context()
        self.prog = self.ctx.program(vertex_shader=shaders.VERTEX, fragment_shader=shaders.FRAGMENT)
        self._vaos = {}
        self._renderer = None

    def size_of(self, material: str) -> tuple[int, int]:
        return tuple(self.sizes.get(material, self.mesh.material(material).base_color.shape[:2]))

    def _vao(self, i: int):
        if i not in self._vaos:
            p = self.mesh.primitives[i]
            data = np.empty(len(p.positions), dtype=[("p", "f4", 3), ("n", "f4", 3), ("t", "f4", 2)])
            data["p"], data["n"], data["t"] = p.positions, p.normals, p.texcoords
            vbo = self.ctx.buffer(data.tobytes())
            ibo = self.ctx.buffer(np.ascontiguousarray(p.indices, np.uint32).tobytes())
            vao = self.ctx.vertex_array(self.prog, [(vbo, "3f 3f 2f", "in_pos", "in_nrm", "in_uv")], ibo, index_element_size=4)
            self._vaos[i] = (vao, vbo, ibo)
        return self._vaos[i][0]

    def release(self):
        for objs in self._vaos.values():
            for o in objs:
                o.release()
        self._vaos = {}
        self.prog.release()
        if hasattr(self, "_resolve_prog"):
            self._resolve_vao.release()
            self._resolve_prog.release()
        if self._renderer is not None:
            self._renderer.release()

    def _visibility(self, view: View) -> tuple[np.ndarray, np.ndarray]:
        """(H, W) float32 depth (inf empty) and (H, W) int16 primitive index (-1 empty) of the view."""
        if self._renderer is None:
            from ..render.renderer import Renderer

            self._renderer = Renderer(self.mesh)
        res = self._renderer.render(view.camera, ["depth", "uv"])
        return res.depth, res.material

    def _upload_view(self, view: View):
        """GL textures of a view: image (RGB8, bilinear), depth and owner (R32F, nearest), edge weight
        (R32F, bilinear)."""
        c = self.ctx
        w, h = view.camera.size
        depth, owner = self._visibility(view)
        img = c.texture((w, h), 3, view.image.tobytes())
        d = c.texture((w, h), 1, np.where(np.isfinite(depth), depth, 1e30).astype("f4").tobytes(), dtype="f4")
        o = c.texture((w, h), 1, owner.astype("f4").tobytes(), dtype="f4")
        e = c.texture((w, h), 1, edge_weight(depth, self.edge_px, owner).tobytes(), dtype="f4")
        for t in (d, o):
            t.filter = (c.NEAREST, c.NEAREST)
        for t in (img, e):
            t.filter = (c.LINEAR, c.LINEAR)
        for t in (img, d, e, o):
            t.repeat_x = t.repeat_y = False
        return img, d, e, o

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
        uploaded = [self._upload_view(v) for v in views]
        try:
            return {n: self._bake_material(index[n], views, uploaded) for n in names}
        finally:
            for objs in uploaded:
                for o in objs:
                    o.release()

    def _bake_material(self, i: int, views, uploaded) -> BakeResult:
        c, p = self.ctx, self.prog
        name = self.mesh.primitives[i].material
        h, w = self.size_of(name)
        acc = c.texture((w, h), 4, dtype="f4")
        sq = c.texture((w, h), 4, dtype="f4")
        for t in (acc, sq):
            t.filter = (c.NEAREST, c.NEAREST)
        fbo = c.framebuffer(color_attachments=[acc, sq])
        out_tex = c.renderbuffer((w, h), 4)
        out_mask = c.renderbuffer((w, h), 1)
        out_fbo = c.framebuffer(color_attachments=[out_tex, out_mask])
        own = self._own_alpha(i, h, w)
        try:
            fbo.use()
            c.viewport = (0, 0, w, h)
            c.disable(c.DEPTH_TEST | c.CULL_FACE)
            c.enable(c.BLEND)
            c.blend_func = (c.ONE, c.ONE)  # every view adds into the accumulators
            fbo.clear(0.0, 0.0, 0.0, 0.0)
            vao = self._vao(i)
            p["image"].value, p["depth"].value, p["edge"].value, p["owner"].value, p["own"].value = 0, 1, 2, 3, 4
            p["power"].value, p["abs_tol"].value = self.power, self.abs_tol
            p["prim"].value = float(i)
            p["cutoff"].value = -1.0 if own is None else alpha_cutoff(self.mesh.primitives[i])
            if own is not None:
                own.use(4)
            for view, (img, d, e, o) in zip(views, uploaded):
                cam = view.camera
                p["w2c"].write(cam.world_to_camera.T.astype("f4").tobytes())
                K = cam.K
                p["kf"].value = (K[0, 0], K[1, 1], K[0, 2], K[1, 2])
                p["skew"].value = float(K[0, 1])
                p["size"].value = tuple(float(s) for s in cam.size)
                p["eye"].value = tuple(cam.centre.astype(float))
                img.use(0)
                d.use(1)
                e.use(2)
                o.use(3)
                vao.render()
            c.disable(c.BLEND)
            out_fbo.use()
            c.viewport = (0, 0, w, h)
            acc.use(0)
            sq.use(1)
            r = self._resolve
            r["acc"].value, r["sq"].value, r["disagreement"].value = 0, 1, DISAGREEMENT_SCALE
            self._resolve_vao.render(vertices=3)
            tex = np.empty((h, w, 4), np.uint8)
            mask = np.empty((h, w), np.uint8)
            out_fbo.read_into(tex, attachment=0, components=4)
            out_fbo.read_into(mask, attachment=1, components=1)
        finally:
            for obj in (fbo, acc, sq, out_fbo, out_tex, out_mask) + (() if own is None else (own,)):
                obj.release()
        coverage = np.ascontiguousarray(tex[..., 3])
        seen = coverage > 0
        uv_mask = mask > 0
        texture = pad_nearest(tex[..., :3], seen, self.padding)
        return BakeResult(name, texture, coverage.astype(np.float32) / 255.0, coverage, uv_mask & ~seen, uv_mask)

    @property
    def _resolve(self):
        if not hasattr(self, "_resolve_prog"):
            self._resolve_prog = self.ctx.program(vertex_shader=shaders.RESOLVE_VERTEX, fragment_shader=shaders.RESOLVE_FRAGMENT)
            self._resolve_vao = self.ctx.vertex_array(self._resolve_prog, [])
        return self._resolve_prog

    def _own_alpha(self, i: int, h: int, w: int):
        """The material's base colour as a texture of the bake's size when it is alpha-tested, else None."""
        prim = self.mesh.primitives[i]
        if alpha_cutoff(prim) < 0:
            return None
        a = prim.base_color
        if a.shape[:2] != (h, w):
            a = cv2.resize(a, (w, h), interpolation=cv2.INTER_NEAREST)
        return self.ctx.texture((w, h), 4, np.ascontiguousarray(a).tobytes())


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
