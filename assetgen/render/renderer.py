"""The ground-truth renderer: offscreen OpenGL (moderngl over EGL) from explicit OpenCV cameras.

Layers (by name): rgb, albedo, depth, normal, segmentation, uv, landmarks, hair_coverage. All GT layers
come from one non-antialiased pass over the solid (non-BLEND) materials into float/integer targets; rgb is
a second pass (supersampled, blended overlays and the clear corneas' reflections included: shaders'
CORNEA_PASS; the eyes shaded by their sockets: render.eye_visibility; the lights' shadows: render.shadows), the
only one that uses the materials' tangent-space normal maps (per-vertex glTF tangents; the normal layer is the
interpolated vertex normal).
See camera.py for the camera convention and the exact K -> GL projection.

Hair (render.hair: one MASK primitive per hair region, COLOR_0 per vertex) is in every layer. The GT layers
alpha-test it like any MASK material with effective alpha = texture alpha x COLOR_0 alpha (hair.HAIR_GT_RULE;
its normal is the ribbon normal turned towards the camera). rgb shades it with a Kajiya-Kay strand model:
the part that passes the alpha test is drawn opaque (depth-written), the part that fails it blended on top
(premultiplied, no depth write). hair_coverage is a third pass (hair.HAIR_COVERAGE_RULE). Every pass draws
hair after the other surfaces and leaves out the pieces of it wholly hidden behind them (render.cull:
exact, the layers are the same without it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..color import linear_to_srgb8
from ..errors import InputError
from ..face import ict
from ..geometry import ITEM_MATERIAL_PREFIX
from . import environment as ibl
from . import shaders
from .camera import Camera
from .cull import CHUNK, HairChunks, HairCuller, map_size
from .exposure import Metering, metered_ev, region_mask
from .eye_visibility import EYES, VIS_SIZE, visibility_maps
from .hair import HAIR_MATERIAL_PREFIX, is_hair
from .mesh import RenderMesh, alpha_cutoff, as_mesh
from .raycast import (
    LANDMARK_CLEARANCE_M,
    LANDMARK_SEE_THROUGH_REGIONS,
    LANDMARK_VISIBILITY_RULE,
    Raycaster,
)
from .shadows import MAX_SHADOWED, SHADOW_UNIT, SIZE as SHADOW_SIZE, light_view

LAYERS = ("rgb", "albedo", "depth", "normal", "segmentation", "uv", "landmarks", "hair_coverage", "bare_segmentation")
DEFAULT_LAYERS = LAYERS[:-1]  # bare_segmentation costs a pass of its own: on request only
GT_LAYERS = ("albedo", "depth", "normal", "segmentation", "uv")


@dataclass(frozen=True)
class Light:
    """A directional light: direction towards the light (world), linear RGB irradiance."""

    direction: tuple[float, float, float]
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)


DEFAULT_LIGHTS = (Light((0.4, 0.5, 1.0), (2.6, 2.5, 2.4)), Light((-0.7, 0.1, 0.5), (0.6, 0.65, 0.75)))

# Programs and framebuffers are shared by the Renderers of one GL context (one per thread, see gl.py):
# compiled once, and the framebuffers (cleared before every pass, read back before render() returns)
# allocated once per size instead of per Renderer. A few framebuffer sizes are kept, most recent last.
_PROGRAM_SOURCES = {
    "gt": (shaders.VERTEX, shaders.GT_OPAQUE_FRAGMENT),
    "gt_alpha": (shaders.VERTEX, shaders.GT_FRAGMENT),
    "rgb": (shaders.RGB_VERTEX, shaders.RGB_FRAGMENT),
    "gt_hair": (shaders.HAIR_VERTEX, shaders.GT_HAIR_FRAGMENT),
    "rgb_hair": (shaders.HAIR_RGB_VERTEX, shaders.HAIR_RGB_FRAGMENT),
    "coverage": (shaders.HAIR_VERTEX, shaders.HAIR_COVERAGE_FRAGMENT),
    "depth": (shaders.VERTEX, shaders.DEPTH_FRAGMENT),
    "depth_hair": (shaders.HAIR_VERTEX, shaders.HAIR_DEPTH_FRAGMENT),
}
_PROGRAM_SOURCES.update(ibl.PROGRAM_SOURCES)  # rgb under an environment (render.environment)
# How dark hair roots are in the rgb layer, per hair region (scalp roots lie under the hair above them).
_ROOT_SHADOW = {"scalp_hair": 0.55, "beard": 0.35, "moustache": 0.3}
_SHARED_FRAMEBUFFERS = 4
# The eyeball's materials and the channel of render.eye_visibility's maps that shades them (shaders' eyeball)
_EYEBALL = {iris: 1 for _, iris in EYES} | {sclera: 2 for sclera, _ in EYES}
_NAN_PAIR = np.full(2, np.nan, np.float32).view(np.uint64)[0]
_shared = threading.local()


def _context_cache(ctx) -> dict:
    cache = getattr(_shared, "cache", None)
    if cache is None or cache["ctx"] is not ctx:
        cache = _shared.cache = {"ctx": ctx, "programs": {}, "fbos": OrderedDict()}
    return cache


def _program(ctx, kind: str):
    programs = _context_cache(ctx)["programs"]
    if kind not in programs:
        vs, fs = _PROGRAM_SOURCES[kind]
        programs[kind] = ctx.program(vertex_shader=vs, fragment_shader=fs)
    return programs[kind]


@dataclass(eq=False)
class RenderResult:
    """Per-pixel layers, (H, W, ...) with row 0 at the top; None for layers not requested.

    rgb: (H, W, 3) uint8 sRGB; albedo: (H, W, 3) uint8 as the texture stores it (0 where empty);
    depth: (H, W) float32 camera z in metres, inf where empty; normal: (H, W, 3) float32 unit camera-space
    interpolated vertex normal (OpenCV axes; normal maps bend only the rgb layer's), 0 where empty; segmentation: (H, W) uint8 ids into `regions` (0 =
    background); uv: (H, W, 2) float32 glTF UV of the material's image (NaN where empty), with
    material (H, W) int16 primitive index (-1 empty); triangle: (H, W) int32 global triangle id (-1 empty);
    landmarks: {pixels (68, 2), camera (68, 3), world (68, 3), visible (68,) bool, rule str} (Renderer.landmarks);
    hair_coverage: (H, W, K) float32 in [0, 1], channel k the soft coverage of hair region hair_regions[k]
    (render.hair.HAIR_COVERAGE_RULE), None for a mesh without hair; bare_segmentation: (H, W) uint8 like
    segmentation, of the face model's own surfaces alone (no hair, no items: what lies under them; on request).

    Hair (render.hair) is in every layer: the GT layers see its alpha-tested surface (HAIR_GT_RULE; its
    normal is the ribbon normal facing the camera, its albedo texel x COLOR_0), rgb blends it softly.
    extra (meshes with hair): hair_triangles (int) and hair_triangles_drawn ({pass: triangles drawn}, passes
    gt, rgb, hair_coverage): what occlusion culling (render.cull) left to draw.
    """

    camera: Camera
    regions: tuple[str, ...]
    materials: tuple[str, ...]
    rgb: np.ndarray | None = None
    albedo: np.ndarray | None = None
    depth: np.ndarray | None = None
    normal: np.ndarray | None = None
    segmentation: np.ndarray | None = None
    uv: np.ndarray | None = None
    material: np.ndarray | None = None
    triangle: np.ndarray | None = None
    landmarks: dict | None = None
    hair_coverage: np.ndarray | None = None
    bare_segmentation: np.ndarray | None = None
    hair_regions: tuple[str, ...] = ()  # the mesh's hair regions (hair_coverage's channels); () without hair
    extra: dict = field(default_factory=dict)

    @property
    def mask(self) -> np.ndarray:
        """(H, W) bool: pixels that see the mesh."""
        return self.triangle >= 0


class Renderer:
    """Renders one mesh (an Asset, a RenderMesh or a GLB path) from any number of cameras.

    Vertex buffers and base colours are uploaded once, the rgb pass's own resources on its first use;
    programs and framebuffers (per image size) are shared by the Renderers of the thread's GL context.
    update() swaps in another pose of the mesh, rewriting only what changed (a data set's subject is posed
    anew for each image). Not thread-safe (one GL context per thread, see gl.py). shadows: the rgb layer's
    directional lights cast shadows (render.shadows).
    """

    def __init__(self, source, lights=DEFAULT_LIGHTS, env_map: np.ndarray | None = None, ambient=(0.08, 0.08, 0.09),
                 shadows: bool = True):
        from ..gl import context

        self.mesh: RenderMesh = as_mesh(source)
        self.lights = tuple(lights)[:4]
        self.shadows = bool(shadows)
        self.ambient = tuple(float(a) for a in ambient)
        self.ctx = context()
        self._landmark_raycaster = None
        self._objects = []
        self._cornea_textures = None
        self._luts: dict = {}
        # The GT layers need the geometry and the base colours; what only the rgb pass uses (its
        # program, tangents, roughness/specular and normal maps, the environment's mip-maps) is uploaded
        # on the first rgb render.
        self._draws = [self._upload(i, p) for i, p in enumerate(self.mesh.primitives)]
        self._hair_drawn: dict[str, int] = {}
        self._env_data = _check_env(env_map)
        self._env = None
        self._rgb_ready = False
        self._mesh_changed()

    def _mesh_changed(self):
        """Recompute what derives from the whole mesh (culling groups, clip-plane box, lookup tables)."""
        self._culler = HairCuller([d["chunks"] for d in self._draws if "hair" in d])
        self._luts = {}
        self._landmark_raycaster = None
        self._cornea_sight = None
        lo, hi = self.mesh.bounds()
        self._corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])

    def update(self, source) -> None:
        """Render `source` (as for the constructor) from now on, typically another pose of the same mesh.
        Matched by position, primitives whose vertex data alone changed get their vertex buffers rewritten;
        one whose triangles, textures or hair changed is uploaded anew; unchanged ones (the same arrays or
        equal ones) are kept; a mesh with other materials is uploaded anew as a whole. Renders are then the
        same as a new Renderer's."""
        mesh = as_mesh(source)
        if [p.material for p in mesh.primitives] != [p.material for p in self.mesh.primitives]:
            for o in [o for d in self._draws for o in d["objects"]]:
                o.release()
            self.mesh = mesh
            self._draws = [self._upload(i, p) for i, p in enumerate(mesh.primitives)]
            if self._rgb_ready:
                for d in self._draws:
                    self._prepare_rgb_draw(d)
            self._mesh_changed()
            return
        for i, (new, old) in enumerate(zip(mesh.primitives, self.mesh.primitives)):
            d = self._draws[i]
            if new is old:
                continue
            same_look = all(_same(getattr(new, k), getattr(old, k)) for k in _LOOK) and all(
                getattr(new, k) == getattr(old, k) for k in ("alpha_mode", "alpha_cutoff", "normal_scale"))
            vertex_only = same_look and "hair" not in d and len(new.positions) == len(old.positions) and _same(
                new.indices, old.indices)
            if vertex_only:
                if not (_same(new.positions, old.positions) and _same(new.normals, old.normals)):
                    d["vbo"].write(_vertex_data(new))
                    if "tbo" in d:
                        d["tbo"].write(_rgb_tangents(new, hair=False))
                if "obo" in d and not (_same(new.occlusion, old.occlusion) and _same(new.bent_normals, old.bent_normals)
                                       and _same(new.normals, old.normals)):
                    d["obo"].write(_occlusion(new))
                d["prim"] = new
            elif same_look and all(_same(getattr(new, k), getattr(old, k)) for k in _VERTEX + _OCCLUSION):
                d["prim"] = new
            else:
                for o in d.pop("objects"):
                    o.release()
                self._draws[i] = self._upload(i, new)
                if self._rgb_ready:
                    self._prepare_rgb_draw(self._draws[i])
        self.mesh = mesh
        for i, d in enumerate(self._draws):
            d["offset"] = int(mesh.triangle_offsets[i])
        self._mesh_changed()

    # ---- resources ---------------------------------------------------------------------------
    def _keep(self, obj, d: dict | None = None):
        """Hold a GL object: the draw's own (released when the primitive is uploaded anew) or the renderer's."""
        (self._objects if d is None else d["objects"]).append(obj)
        return obj

    def _texture(self, image: np.ndarray, components: int, filter_linear: bool = True, d: dict | None = None):
        img = np.ascontiguousarray(image, dtype=np.uint8)  # uploaded from the array itself, no copy
        h, w = img.shape[:2]
        tex = self._keep(self.ctx.texture((w, h), components, img), d)
        # Rows go up top-first and glTF's v' = 0 is the top row: GL's t = v' samples them as they are.
        # No mipmaps: the albedo layer returns stored values, not averages of them.
        f = self.ctx.LINEAR if filter_linear else self.ctx.NEAREST
        tex.filter = (f, f)
        tex.repeat_x = tex.repeat_y = False
        return tex

    def _upload(self, i: int, p):
        d = {"objects": [], "offset": int(self.mesh.triangle_offsets[i]), "prim": p}
        d["vbo"] = self._keep(self.ctx.buffer(_vertex_data(p)), d)
        d["layout"] = [(d["vbo"], "3f 3f 2f", "in_pos", "in_nrm", "in_uv")]
        if is_hair(p):
            # Hair is drawn occlusion-culled (render.cull): its index buffer holds each pass's drawn chunks.
            d["hair"] = p.material[len(HAIR_MATERIAL_PREFIX):]
            d["cbo"] = self._keep(self.ctx.buffer(np.ascontiguousarray(p.colors, np.float32)), d)
            d["chunks"] = HairChunks(p.positions, p.indices)
            d["ibo"] = self._keep(self.ctx.buffer(reserve=max(d["chunks"].indices.nbytes, 4)), d)
            d["count"] = 0
        else:
            indices = np.ascontiguousarray(p.indices)
            indices = indices.view(np.uint32) if indices.dtype == np.int32 else indices.astype(np.uint32)
            d["ibo"] = self._keep(self.ctx.buffer(indices), d)
        if p.alpha_mode != "BLEND":  # the GT pass draws these; overlays wait for an rgb render
            self._base(d)
        return d

    def _base(self, d: dict):
        """The primitive's base colour texture (uploaded on first use). An RGB image goes up as an RGB
        texture: it samples alpha = 1, as an opaque RGBA one would."""
        if "base" not in d:
            bc = d["prim"].base_color
            d["base"] = self._texture(bc, bc.shape[2], d=d)
        return d["base"]

    def _vao(self, d: dict, kind: str):
        """The primitive's vertex array for program `kind` (made on first use)."""
        if kind not in d:
            base = kind.removesuffix("_ibl")  # an rgb program's IBL variant takes its vertex layout
            layout = d["layout"] + ([(d["tbo"], "4f", "in_tan")] if base in ("rgb", "rgb_hair") else [])
            layout += [(d["obo"], "1f 3f", "in_ao", "in_bent")] if base in ("rgb", "rgb_hair") else []
            layout += [(d["cbo"], "4f", "in_col")] if base in ("gt_hair", "rgb_hair", "coverage", "depth_hair") else []
            ibo = d["ibo"]
            if kind == "depth_hair":  # a light sees every chunk, not the camera's (render.shadows): their own indices
                every = d["chunks"].draw_indices(np.arange(d["chunks"].n_chunks))
                ibo = self._keep(self.ctx.buffer(every) if len(every) else self.ctx.buffer(reserve=4), d)
            d[kind] = self._keep(self.ctx.vertex_array(_program(self.ctx, kind), layout, ibo, index_element_size=4), d)
        return d[kind]

    def _prepare_rgb(self):
        """Upload what only the rgb pass uses, once."""
        if self._rgb_ready:
            return
        for d in self._draws:
            self._prepare_rgb_draw(d)
        if self._env_data is not None:
            env = self._env_data
            tex = self._keep(self.ctx.texture((env.shape[1], env.shape[0]), 3, env, dtype="f4"))
            tex.build_mipmaps()
            tex.filter = (self.ctx.LINEAR_MIPMAP_LINEAR, self.ctx.LINEAR)
            self._env_lod = float(np.log2(env.shape[0]))
            self._env = tex
        self._rgb_ready = True

    def _bind_cornea_sight(self, prog):
        """Bind each eye's map of what its cornea sees (render.eye_visibility; made once per mesh, into two
        textures kept for the renderer's life) to units 4 and 5 and the eyeball centres to prog; a mesh
        without eyes sees everything."""
        if self._cornea_sight is None:
            found = visibility_maps(self.mesh)
            maps, centres = found if found is not None else (np.ones((2, VIS_SIZE[1], VIS_SIZE[0], 3), np.float32),
                                                             np.zeros((2, 3)))
            if self._cornea_textures is None:
                self._cornea_textures = []
                for _ in range(2):
                    tex = self._keep(self.ctx.texture(VIS_SIZE, 3, dtype="f4"))
                    tex.filter = (self.ctx.LINEAR, self.ctx.LINEAR)
                    tex.repeat_x, tex.repeat_y = True, False  # azimuth wraps round, the poles do not
                    self._cornea_textures.append(tex)
            for tex, m in zip(self._cornea_textures, maps):
                tex.write(np.ascontiguousarray(m, np.float32))
            self._cornea_sight = np.asarray(centres, "f4")
        self._cornea_textures[0].use(4)
        self._cornea_textures[1].use(5)
        prog["eye_centre"].write(self._cornea_sight.tobytes())

    def _prepare_rgb_draw(self, d: dict):
        """Upload what the rgb pass needs of one primitive (tangents, roughness/specular, normal map)."""
        p = d["prim"]
        rs = np.zeros(p.base_color.shape[:2] + (2,), np.uint8)
        rs[..., 0] = p.roughness if p.roughness is not None and p.roughness.shape == rs.shape[:2] else 128
        rs[..., 1] = p.specular if p.specular is not None and p.specular.shape == rs.shape[:2] else 255
        # Normal mapping is rgb-only: the tangents get their own buffer, bound to the rgb pass alone.
        nmap = p.normal is not None
        d["tbo"] = self._keep(self.ctx.buffer(_rgb_tangents(p, hair="hair" in d)), d)
        d["obo"] = self._keep(self.ctx.buffer(_occlusion(p)), d)
        d["rough_spec"] = self._texture(rs, 2, d=d)
        d["normal"] = self._texture(p.normal[..., :3] if nmap else np.array([[[128, 128, 255]]], np.uint8), 3, d=d)
        d["use_normal"] = int(nmap)

    def _lut(self, name: str) -> np.ndarray:
        """Per raw triangle id (global id + 1, 0 = background): material (int16, -1) or region (uint8, 0)."""
        if name not in self._luts:
            if name == "material":
                self._luts[name] = np.concatenate([[-1], self.mesh.triangle_material]).astype(np.int16)
            else:
                self._luts[name] = np.concatenate([[0], self.mesh.triangle_region]).astype(np.uint8)
        return self._luts[name]

    def _framebuffer(self, kind: str, w: int, h: int):
        fbos = _context_cache(self.ctx)["fbos"]
        key = (kind, w, h)
        if key in fbos:
            fbos.move_to_end(key)
        else:
            c = self.ctx
            if kind == "gt":
                att = [c.renderbuffer((w, h), 4, dtype="f4"), c.renderbuffer((w, h), 1, dtype="i4"),
                       c.renderbuffer((w, h), 2, dtype="f4"), c.renderbuffer((w, h), 4)]
            elif kind == "coverage":
                att = [c.renderbuffer((w, h), 4, dtype="f4"), c.renderbuffer((w, h), 4, dtype="f4")]
            else:
                att = [c.renderbuffer((w, h), 4, dtype="f4")]
            depth = c.depth_renderbuffer((w, h))
            fbos[key] = (c.framebuffer(color_attachments=att, depth_attachment=depth), att + [depth])
            while len(fbos) > _SHARED_FRAMEBUFFERS:
                _, (fbo, objs) = fbos.popitem(last=False)
                fbo.release()
                for o in objs:
                    o.release()
        return fbos[key][0]

    def _cull_hair(self, fbo, camera: Camera, nf, layer: str, chunk_map: bool = False, front_to_back: bool = False):
        """Fill each hair primitive's index buffer with its chunks not hidden behind the depth drawn so far
        into `fbo` from `camera` (render.cull); chunk_map: nearest first, with the chunk map the GT shader
        reads triangle ids through; front_to_back: nearest first (the depth test then spares the shading
        of more hidden fragments). Counts the triangles drawn into self._hair_drawn[layer]."""
        w, h = camera.size
        depth = np.empty((h, w), np.float32)
        fbo.read_into(depth, attachment=-1, components=1, dtype="f4")
        hair = [d for d in self._draws if "hair" in d]
        drawn_triangles = 0
        for d, drawn in zip(hair, self._culler.drawn(camera, nf, depth, front_to_back=chunk_map or front_to_back)):
            chunks = d["chunks"]
            d["drawn"] = drawn
            data = chunks.draw_indices(drawn)
            d["count"] = len(data)
            drawn_triangles += int(np.minimum((drawn + 1) * CHUNK, chunks.n_triangles).sum() - (drawn * CHUNK).sum())
            if len(data):
                d["ibo"].write(data)
            if chunk_map and len(drawn):
                if "chunk_map" not in d:
                    d["chunk_map"] = self._int_map(np.zeros(chunks.n_chunks, np.int32), d)
                    d["triangle_order"] = self._int_map(chunks.order, d)
                m = np.zeros(np.prod(map_size(chunks.n_chunks)), np.int32)
                m[: len(drawn)] = drawn
                d["chunk_map"].write(m)
        self._hair_drawn[layer] = drawn_triangles

    def _hair_in_order(self):
        """Rewrite each hair primitive's index buffer with the chunks _cull_hair chose, in ascending order
        (the fixed spatial order: what blended hair is composited in)."""
        for d in self._draws:
            if "hair" in d and d["count"]:
                d["ibo"].write(d["chunks"].draw_indices(np.sort(d["drawn"])))

    def _int_map(self, values: np.ndarray, d: dict):
        """An integer texture holding `values` row after row (render.cull.map_size), owned by draw d."""
        w, h = map_size(len(values))
        data = np.zeros(w * h, np.int32)
        data[: len(values)] = values
        tex = self._keep(self.ctx.texture((w, h), 1, data, dtype="i4"), d)
        tex.filter = (self.ctx.NEAREST, self.ctx.NEAREST)
        return tex

    def _draw_hair(self, d: dict, kind: str):
        """Draw a hair primitive's chunks of the current pass (after _cull_hair)."""
        if d["count"]:
            self._vao(d, kind).render(vertices=d["count"])

    def release(self):
        """Free this renderer's buffers and textures (the programs and framebuffers are shared, see above)."""
        for o in self._objects + [o for d in self._draws for o in d["objects"]]:
            o.release()
        self._objects, self._draws, self._env, self._cornea_textures = [], [], None, None

    @property
    def hair_regions(self) -> tuple[str, ...]:
        """The hair regions of the mesh's hair primitives, in primitive order (the hair_coverage channels)."""
        return tuple(dict.fromkeys(d["hair"] for d in self._draws if "hair" in d))

    @property
    def landmark_raycaster(self) -> Raycaster:
        """The ray caster of landmark visibility: the solid triangles but LANDMARK_SEE_THROUGH_REGIONS'."""
        if self._landmark_raycaster is None:
            self._landmark_raycaster = Raycaster(self.mesh, skip_regions=LANDMARK_SEE_THROUGH_REGIONS)
        return self._landmark_raycaster

    # ---- rendering ---------------------------------------------------------------------------
    def near_far(self, camera: Camera) -> tuple[float, float] | None:
        """Clip planes bracketing the mesh's bounding box (None when all of it is behind the camera)."""
        z = camera.to_camera(self._corners)[:, 2]
        far = float(z.max()) * 1.01 + 1e-3
        if far <= 1e-3:
            return None
        # Geometry closer than 1 mm to the camera is clipped: a camera inside the head sees its inside.
        return max(float(z.min()) * 0.99 - 1e-3, 1e-3), far

    def _set_camera(self, prog, camera: Camera, nf):
        prog["w2c"].write(camera.world_to_camera.T.astype("f4").tobytes())
        prog["proj"].write(camera.gl_projection(*nf).T.astype("f4").tobytes())

    def render(self, camera: Camera, layers=DEFAULT_LAYERS, supersample: int = 2, environment=None,
               background=None, metering: Metering | None = None) -> RenderResult:
        """Render the requested layers (names from LAYERS) from `camera`. environment (lighting.ShadingInputs)
        lights the rgb layer in place of the fixed lights; background ((h, w, 3) float32 linear) shows behind
        the mesh in it instead of black (render.environment); metering (render.exposure) exposes the rgb
        layer for the face (the stops applied in extra["exposure_ev"]). The GT layers are the same either
        way."""
        if not isinstance(camera, Camera):
            raise InputError("render needs an assetgen.render.Camera (K, world_to_camera, size)")
        layers = tuple(layers)
        unknown = [l for l in layers if l not in LAYERS]
        if unknown:
            raise InputError(f"unknown layer(s) {', '.join(unknown)}; choose from {', '.join(LAYERS)}")
        if not 1 <= int(supersample) <= 4:
            raise InputError(f"supersample must be 1..4, got {supersample}")
        nf = self.near_far(camera)
        res = RenderResult(camera, tuple(self.mesh.regions), tuple(p.material for p in self.mesh.primitives))
        self._hair_drawn = {}
        self._render_gt(camera, nf, res, layers)
        if "bare_segmentation" in layers:
            res.bare_segmentation = self._render_bare(camera, nf)
        if "rgb" in layers:
            linear = self._render_rgb(camera, nf, int(supersample), ibl.check_inputs(environment),
                                      ibl.check_background(background, camera.size))
            if metering is not None:  # the camera's exposure, metered on the face in the finished image
                seg = res.segmentation if res.segmentation is not None else np.take(self._lut("region"),
                                                                                    res.triangle + 1)
                ev = metered_ev(linear, region_mask(seg, res.regions, metering.regions), metering)
                linear *= np.float32(2.0 ** ev)
                res.extra["exposure_ev"] = ev
            res.rgb = linear_to_srgb8(linear)
        res.hair_regions = self.hair_regions
        if "hair_coverage" in layers and self.hair_regions:
            res.hair_coverage = self._render_coverage(camera, nf, int(supersample))
        if "landmarks" in layers:
            res.landmarks = self.landmarks(camera)
        if self.hair_regions:
            res.extra["hair_triangles"] = sum(c.n_triangles for c in self._culler.chunks)
            res.extra["hair_triangles_drawn"] = dict(self._hair_drawn)
        return res

    def _gt_target(self, w: int, h: int):
        """The GT framebuffer of this size, bound and cleared, depth-tested, neither blended nor culled."""
        fbo = self._framebuffer("gt", w, h)
        c = self.ctx
        fbo.use()
        c.viewport = (0, 0, w, h)
        c.enable(c.DEPTH_TEST)
        c.disable(c.BLEND | c.CULL_FACE)
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        return fbo

    def _gt_programs(self, camera: Camera, nf) -> None:
        """Aim the GT programs (the hair one too where there is hair) at `camera`."""
        for kind in ("gt", "gt_alpha") + (("gt_hair",) if self.hair_regions else ()):
            prog = _program(self.ctx, kind)
            self._set_camera(prog, camera, nf)
            prog["base"].value = 0

    def _draw_gt_surface(self, d: dict) -> None:
        """Draw a solid primitive that is not hair into the bound GT framebuffer, alpha-tested as the layers
        define it."""
        cutoff = alpha_cutoff(d["prim"])
        kind = "gt_alpha" if cutoff >= 0 else "gt"  # below 0 nothing is discarded: no alpha test
        prog = _program(self.ctx, kind)
        prog["tri_offset"].value = d["offset"]
        if cutoff >= 0:
            prog["cutoff"].value = cutoff
        self._base(d).use(0)
        self._vao(d, kind).render()

    def _render_gt(self, camera: Camera, nf, res: RenderResult, layers):
        w, h = camera.size
        fbo = self._gt_target(w, h)
        c = self.ctx
        if nf is not None:
            self._gt_programs(camera, nf)
            if self.hair_regions:
                hp = _program(c, "gt_hair")
                hp["chunk_map"].value, hp["triangle_order"].value = 1, 2
            # The other surfaces first, then hair, culled against their depth.
            solid = self.mesh.solid()
            hair = [i for i in solid if "hair" in self._draws[i]]
            for i in [i for i in solid if i not in hair] + hair:
                d = self._draws[i]
                if "hair" not in d:
                    self._draw_gt_surface(d)
                    continue
                if i == hair[0]:
                    self._cull_hair(fbo, camera, nf, "gt", chunk_map=True)
                cutoff = alpha_cutoff(d["prim"])
                hp["tri_offset"].value = d["offset"]
                if cutoff >= 0:
                    hp["cutoff"].value = cutoff
                self._base(d).use(0)
                if d["count"]:
                    d["chunk_map"].use(1)
                    d["triangle_order"].use(2)
                    self._draw_hair(d, "gt_hair")
        # llvmpipe rasterizes on the first read. Only the attachments the layers need are read, each
        # straight into its layer's array where the layouts match.
        layers = set(layers)
        raw = np.empty((h, w), np.int32)  # global triangle id + 1, 0 = background
        fbo.read_into(raw, attachment=1, components=1, dtype="i4")
        if "segmentation" in layers:
            res.segmentation = np.take(self._lut("region"), raw)
        if "uv" in layers:
            res.material = np.take(self._lut("material"), raw)
        tri = raw
        tri -= 1
        res.triangle = tri
        empty = tri < 0 if {"depth", "uv"} & layers else None
        if "depth" in layers:
            geom = np.empty((h, w, 4), np.float32)
            fbo.read_into(geom, attachment=0, components=4, dtype="f4")
            res.depth = np.where(empty, np.float32(np.inf), geom[..., 3])
        if "normal" in layers:
            res.normal = np.empty((h, w, 3), np.float32)
            fbo.read_into(res.normal, attachment=0, components=3, dtype="f4")
        if "uv" in layers:
            uv = np.empty((h, w, 2), np.float32)
            fbo.read_into(uv, attachment=2, components=2, dtype="f4")
            # NaN where empty, both components at once: a uv pair is one 8-byte word.
            np.copyto(uv.view(np.uint64).reshape(h, w), _NAN_PAIR, where=empty)
            res.uv = uv
        if "albedo" in layers:
            res.albedo = np.empty((h, w, 3), np.uint8)
            fbo.read_into(res.albedo, attachment=3, components=3)

    def _render_bare(self, camera: Camera, nf) -> np.ndarray:
        """(H, W) uint8 region ids of the face model's own surfaces alone: no hair and no items (what lies
        under them), the same alpha test as the segmentation layer."""
        w, h = camera.size
        fbo = self._gt_target(w, h)
        if nf is not None:
            self._gt_programs(camera, nf)
            for i in self.mesh.solid():
                d = self._draws[i]
                if "hair" not in d and not d["prim"].material.startswith(ITEM_MATERIAL_PREFIX):
                    self._draw_gt_surface(d)
        raw = np.empty((h, w), np.int32)
        fbo.read_into(raw, attachment=1, components=1, dtype="i4")
        return np.take(self._lut("region"), raw)

    def _shadow_maps(self, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Render the depth map of each light towards `directions` (k, 3) (render.shadows) into its tile of the
        context's shadow atlas, bound to unit SHADOW_UNIT; returns the (4, 4, 4) world -> map matrices and (4,)
        texel sizes of the shader's four lights (unused slots: identity, 0)."""
        c = self.ctx
        cache = _context_cache(c)
        if "shadow_atlas" not in cache:
            tex = c.depth_texture((MAX_SHADOWED * SHADOW_SIZE, SHADOW_SIZE))
            tex.compare_func = "<="
            tex.filter = (c.LINEAR, c.LINEAR)
            tex.repeat_x = tex.repeat_y = False
            cache["shadow_atlas"] = (tex, c.framebuffer(depth_attachment=tex))
        tex, fbo = cache["shadow_atlas"]
        vps, texels = np.tile(np.eye(4), (4, 1, 1)), np.zeros(4)  # the shader's arrays: 4 (its lights)
        fbo.use()
        fbo.clear(depth=1.0)
        casters = [(self._draws[i], "depth_hair" if "hair" in self._draws[i] else "depth") for i in self.mesh.solid()]
        programs = {kind: _program(c, kind) for _, kind in casters}
        for prog in programs.values():
            prog["w2c"].write(np.eye(4, dtype="f4").tobytes())
            prog["base"].value = 0
        c.enable(c.DEPTH_TEST)
        c.disable(c.BLEND | c.CULL_FACE)
        for k, direction in enumerate(directions[:MAX_SHADOWED]):
            vps[k], texels[k] = light_view(direction, self._corners)
            c.viewport = (k * SHADOW_SIZE, 0, SHADOW_SIZE, SHADOW_SIZE)
            for prog in programs.values():
                prog["proj"].write(vps[k].T.astype("f4").tobytes())
            for d, kind in casters:
                programs[kind]["cutoff"].value = alpha_cutoff(d["prim"])
                self._base(d).use(0)
                self._vao(d, kind).render()
        tex.use(SHADOW_UNIT)
        return vps, texels

    def _render_rgb(self, camera: Camera, nf, ss: int, environment=None, background=None) -> np.ndarray:
        self._prepare_rgb()
        w, h = camera.size
        W, H = w * ss, h * ss
        c = self.ctx
        lights = (np.asarray(environment.light_dir, np.float64) if environment is not None
                  else np.array([l.direction for l in self.lights], np.float64).reshape(-1, 3))
        lights = lights[: min(len(lights), MAX_SHADOWED) if self.shadows else 0]
        shadows = self._shadow_maps(lights) if nf is not None else None
        fbo = self._framebuffer("rgb", W, H)
        fbo.use()
        c.viewport = (0, 0, W, H)
        fbo.clear(0.0, 0.0, 0.0, 1.0 if background is None else 0.0, depth=1.0)  # alpha 0: coverage
        if nf is not None:
            # Supersampling: the same camera on an ss-times finer grid (pixel centres of the fine grid).
            K = camera.K.copy()
            K[:2] *= ss
            fine = Camera(K, camera.world_to_camera, (W, H))
            p = _program(c, ibl.program_kind("rgb", environment))
            self._set_camera(p, fine, nf)
            p["eye"].value = tuple(camera.centre.astype(float))
            p["ambient"].value = self.ambient
            p["n_lights"].value = len(self.lights)
            if self.lights:
                p["light_dir"].write(np.array([l.direction for l in self.lights] + [(0, 0, 1)] * (4 - len(self.lights)), "f4").tobytes())
                p["light_rgb"].write(np.array([l.color for l in self.lights] + [(0, 0, 0)] * (4 - len(self.lights)), "f4").tobytes())
            p["base"].value, p["rough_spec"].value, p["env"].value, p["normal_map"].value = 0, 1, 2, 3
            p["use_env"].value = int(self._env is not None)
            p["cornea"].value = 0
            p["cornea_sight0"].value, p["cornea_sight1"].value = 4, 5
            self._bind_cornea_sight(p)
            _bind_shadows(p, len(lights), *shadows)
            if self._env is not None:
                self._env.use(2)
                p["env_lod"].value = self._env_lod
            if environment is not None:
                ibl.bind(c, p, environment)
            c.enable(c.DEPTH_TEST | c.BLEND)
            c.disable(c.CULL_FACE)
            c.blend_func = (c.ONE, c.ONE_MINUS_SRC_ALPHA)  # premultiplied output
            prims = self.mesh.primitives
            hair = [i for i, d in enumerate(self._draws) if "hair" in d]
            # Opaque and alpha-tested surfaces, hair's alpha-tested part, the corneas, blended overlays, then
            # hair's soft part (what fails the alpha test) blended over everything in front of which it lies.
            order = [i for i, q in enumerate(prims) if q.alpha_mode != "BLEND" and i not in hair]
            order += [(i, 0) for i in hair]
            # the clear corneas' reflections over the irises (their depth written: the sclera's cut-out hides
            # the iris dome behind it), under the overlays (the eyes' occlusion shadow darkens them) and hair
            order += [("cornea", i) for name in ict.CORNEA_MATERIALS for i, q in enumerate(prims) if q.material == name]
            order += [i for i, q in enumerate(prims) if q.alpha_mode == "BLEND"]
            order += [(i, 1) for i in hair]
            if hair:
                hp = _program(c, ibl.program_kind("rgb_hair", environment))
                self._set_camera(hp, fine, nf)
                hp["eye"].value = tuple(camera.centre.astype(float))
                hp["ambient"].value = self.ambient
                hp["n_lights"].value = len(self.lights)
                if self.lights:
                    hp["light_dir"].write(p["light_dir"].read())
                    hp["light_rgb"].write(p["light_rgb"].read())
                hp["base"].value, hp["env"].value = 0, 2
                _bind_shadows(hp, len(lights), *shadows)
                hp["use_env"].value = int(self._env is not None)
                if self._env is not None:
                    hp["env_lod"].value = self._env_lod
                if environment is not None:
                    ibl.bind(c, hp, environment)
            for i in order:
                if hair and i == (hair[0], 0):  # the opaque surfaces are drawn: cull hair against them
                    self._cull_hair(fbo, fine, nf, "rgb", front_to_back=True)  # opaque part: order-free but for ties
                if hair and i == (hair[0], 1):  # the soft part blends: in the fixed order
                    self._hair_in_order()
                if isinstance(i, tuple) and i[0] == "cornea":
                    d = self._draws[i[1]]
                    p["blended"].value, p["cornea"].value, p["use_normal_map"].value = 0, 1, 0
                    p["cutoff"].value = alpha_cutoff(d["prim"])
                    self._base(d).use(0)
                    p["eyeball"].value = 0
                    c.depth_func = "<="  # the iris's dome again, at the depth it wrote
                    self._vao(d, ibl.program_kind("rgb", environment)).render()
                    c.depth_func = "<"
                    p["cornea"].value = 0
                    continue
                if isinstance(i, tuple):
                    i, soft = i
                    d = self._draws[i]
                    hp["soft"].value = soft
                    hp["cutoff"].value = alpha_cutoff(d["prim"])
                    hp["root_shadow"].value = _ROOT_SHADOW.get(d["hair"], 0.15)
                    fbo.depth_mask = not soft  # (the framebuffer's mask: moderngl has no Context.depth_mask)
                    self._base(d).use(0)
                    self._draw_hair(d, ibl.program_kind("rgb_hair", environment))
                    continue
                d = self._draws[i]
                prim = d["prim"]
                blended = prim.alpha_mode == "BLEND"
                p["blended"].value = int(blended)
                p["eyeball"].value = _EYEBALL.get(prim.material, 0)
                p["cutoff"].value = alpha_cutoff(prim)
                # Overlays write depth like the surfaces (the bald rgb layer is defined so): one hides
                # hair's soft part behind it.
                self._base(d).use(0)
                d["rough_spec"].use(1)
                d["normal"].use(3)
                p["use_normal_map"].value = d["use_normal"]
                p["normal_scale"].value = float(prim.normal_scale)
                self._vao(d, ibl.program_kind("rgb", environment)).render()
            fbo.depth_mask = True
            c.disable(c.BLEND)
        lin = np.empty((H, W, 4), np.float32)
        fbo.read_into(lin, components=4, dtype="f4")
        if background is not None:
            return ibl.composite(lin, ss, background)
        return np.ascontiguousarray(ibl.box_filter(lin, ss, 3))  # box filter in linear light

    def _render_coverage(self, camera: Camera, nf, ss: int) -> np.ndarray:
        """(H, W, K) float32 hair coverage per hair region (render.hair.HAIR_COVERAGE_RULE): the non-hair
        solid surfaces fill the depth buffer, then every hair primitive multiplies its region's channel
        by (1 - effective alpha) where it lies in front of them, on the ss-times finer grid; the pixel's
        value is the mean of 1 - that product over its ss x ss samples."""
        regions = self.hair_regions
        if len(regions) > 8:
            raise InputError(f"mesh {self.mesh.name!r} has {len(regions)} hair materials (Hair_*); hair_coverage holds at most 8")
        w, h = camera.size
        W, H = w * ss, h * ss
        fbo = self._framebuffer("coverage", W, H)
        c = self.ctx
        fbo.use()
        c.viewport = (0, 0, W, H)
        fbo.clear(1.0, 1.0, 1.0, 1.0, depth=1.0)
        if nf is not None:
            K = camera.K.copy()
            K[:2] *= ss
            fine = Camera(K, camera.world_to_camera, (W, H))
            dp, cp = _program(c, "depth"), _program(c, "coverage")
            for prog in (dp, cp):
                self._set_camera(prog, fine, nf)
                prog["base"].value = 0
            c.enable(c.DEPTH_TEST)
            c.disable(c.BLEND | c.CULL_FACE)
            fbo.color_mask = ((False,) * 4, (False,) * 4)  # the depth program writes no colour
            for i in self.mesh.solid():
                d = self._draws[i]
                if "hair" not in d:
                    dp["cutoff"].value = alpha_cutoff(d["prim"])
                    self._base(d).use(0)
                    self._vao(d, "depth").render()
            fbo.color_mask = ((True,) * 4, (True,) * 4)
            self._cull_hair(fbo, fine, nf, "hair_coverage")
            c.enable(c.BLEND)
            c.blend_func = (c.ZERO, c.ONE_MINUS_SRC_COLOR)  # dst * (1 - src), alpha channel included
            fbo.depth_mask = False
            for d in self._draws:
                if "hair" in d:
                    cp["channel"].value = regions.index(d["hair"])
                    self._base(d).use(0)
                    self._draw_hair(d, "coverage")
            fbo.depth_mask = True
            c.disable(c.BLEND)
        # Per target in use: the mean transmittance over each pixel's ss x ss samples (a sum of ss^2
        # strided views), coverage = 1 - it.
        cov = np.empty((h, w, len(regions)), np.float32)
        part = np.empty((H, W, 4), np.float32)
        for k in range(0, len(regions), 4):
            fbo.read_into(part, attachment=k // 4, components=4, dtype="f4")
            n = min(4, len(regions) - k)
            mean = part[::ss, ::ss, :n].copy()
            for dy in range(ss):
                for dx in range(ss):
                    if dy or dx:
                        mean += part[dy::ss, dx::ss, :n]
            cov[..., k : k + n] = 1.0 - mean * np.float32(1.0 / (ss * ss))
        return np.clip(cov, 0.0, 1.0, out=cov)

    def landmarks(self, camera: Camera) -> dict:
        """The 68 landmarks: pixels (68, 2), camera (68, 3), world (68, 3) float64, visible (68,) bool,
        and rule (str): how `visible` was decided (raycast.LANDMARK_VISIBILITY_RULE).

        pixels and camera are given whether visible or not ("x-ray"). visible = in front of the camera,
        inside the image, and the line of sight crosses no surface farther than LANDMARK_CLEARANCE_M
        (5 mm) from the landmark (Raycaster.line_of_sight_clear over the solid triangles, through MASK
        cut-outs, eyelashes left out: the full rule is LANDMARK_VISIBILITY_RULE). Surfaces that close
        (lips pressed together, the eyelid margin, skin folds) belong to the landmark's own spot, and
        the ray stops short of the landmark's vertex, so equivalent cameras (the same camera jittered by
        1e-6) get the same flags.
        """
        world = np.asarray(self.mesh.landmarks_world, np.float64)
        cam = camera.to_camera(world)
        px = camera.project(cam)
        w, h = camera.size
        inside = (cam[:, 2] > 0) & np.all(np.isfinite(px), axis=1)
        inside &= (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
        visible = np.zeros(len(world), bool)
        if inside.any():
            visible[inside] = self.landmark_raycaster.line_of_sight_clear(world[inside], camera.centre, LANDMARK_CLEARANCE_M,
                                                                           camera)
        return {"pixels": px, "camera": cam, "world": world, "visible": visible, "rule": LANDMARK_VISIBILITY_RULE}


# Primitive fields update() compares: what a primitive looks like, and its vertex data besides positions
# and normals (texcoords and triangles: a change uploads the primitive anew).
_LOOK = ("base_color", "roughness", "specular", "normal", "colors")
_VERTEX = ("positions", "normals", "texcoords", "indices")
_OCCLUSION = ("occlusion", "bent_normals")


def _bind_shadows(prog, n: int, vps: np.ndarray, texels: np.ndarray) -> None:
    """Point an rgb program's shadow lookups (shaders.SHADOW_GLSL) at the atlas of Renderer._shadow_maps: the
    first n lights cast shadows."""
    prog["n_shadows"].value = n
    prog["light_vp"].write(np.ascontiguousarray(vps.transpose(0, 2, 1), "f4").tobytes())
    prog["shadow_texel"].write(texels.astype("f4").tobytes())
    prog["shadow_atlas"].value = SHADOW_UNIT


def _occlusion(p) -> bytes:
    """A primitive's per-vertex ambient occlusion and bent normal for the rgb pass, (n, 4) float32 (1 and the
    normal where it has none)."""
    out = np.empty((len(p.positions), 4), np.float32)
    out[:, 0] = 1.0 if p.occlusion is None else p.occlusion
    out[:, 1:] = p.normals if p.bent_normals is None else p.bent_normals
    return out.tobytes()


def _same(a, b) -> bool:
    """Whether two optional arrays hold the same values (the same object, or equal shape, dtype and bytes)."""
    if a is b:
        return True
    if a is None or b is None:
        return False
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)


def _vertex_data(p) -> np.ndarray:
    """A primitive's interleaved vertex buffer: position, normal, texcoord (float32)."""
    data = np.empty(len(p.positions), dtype=[("p", "f4", 3), ("n", "f4", 3), ("t", "f4", 2)])
    data["p"], data["n"], data["t"] = p.positions, p.normals, p.texcoords
    return data


def _rgb_tangents(p, hair: bool) -> np.ndarray:
    """The rgb pass's tangents of a primitive: hair's strand directions (anisotropic highlights), a
    normal-mapped surface's glTF tangents, +x elsewhere (unused there)."""
    if hair or p.normal is not None:
        return np.ascontiguousarray(p.vertex_tangents(), np.float32)
    return np.tile(np.array([[1.0, 0.0, 0.0, 1.0]], np.float32), (len(p.positions), 1))


def _check_env(env_map) -> np.ndarray | None:
    if env_map is None:
        return None
    env = np.ascontiguousarray(env_map, np.float32)
    if env.ndim != 3 or env.shape[2] != 3 or env.shape[1] != 2 * env.shape[0] or not np.isfinite(env).all():
        raise InputError(f"environment map must be a finite (H, 2H, 3) float32 equirectangular image in linear RGB, got {env.shape}")
    return env


def render(source, camera: Camera, layers=DEFAULT_LAYERS, **kwargs) -> RenderResult:
    """One-off render (builds a Renderer; keep a Renderer for many views)."""
    r = Renderer(source, **kwargs)
    try:
        return r.render(camera, layers)
    finally:
        r.release()
