"""Text -> UV texture (operation 2): the `diffusion` texture backend.

Consistency across views: **sequential inpainting in the style of TEXTure / Text2Tex** (not SyncMVD's
latent synchronisation). Per asset:

1. Cameras: N views around the face (default 6: front, 3/4 left/right, profiles, one from below), all
   looking at the centre of M_Face and framing it. The mesh is the asset's own identity (or the neutral
   face), with the procedural non-skin parts (eyes, teeth, lashes, ...) already textured, so their
   occlusion and alpha cut-outs are exact. One renderer pass per view gives the ControlNet conditioning
   (assetgen.render.conditioning: depth and/or normalbae images) and the uv/material/normal layers.
2. View 0 is generated from scratch by the ControlNet text-to-image pipeline (registry role text2image +
   controlnet_depth / controlnet_normal).
3. Every later view is **inpainted** around what earlier views already painted: the current UV texture
   is sampled into the view through its uv layer (non-skin pixels show the procedural parts), and the
   mask is the skin pixels whose texels were never seen, or were seen only at a worse angle
   (best earlier weight < `refine_ratio` x this view's cos^power weight), dilated by a few pixels. The
   inpainting pipeline is StableDiffusionControlNetInpaintPipeline assembled from the registry's
   `inpainting` model (9-channel UNet; the `text2image` model is used when none is configured) plus the
   same ControlNets. Outside the mask the view is composited back bit-for-bit (clean.composite).
4. Each view is baked alone (assetgen.bake.Baker, cos^power x depth-edge x resolution weights, its
   visibility taken from the conditioning render); its texels replace the texture where they are new
   or better seen than before, and the per-texel best weight is kept (so views are never averaged into
   mush). Textures are baked at the views' resolution (`bake_size`, default the view size): a 512²
   view has fewer pixels on the face than a 1024² layout has texels, so finer texels would only
   interpolate the views (tests/test_text_to_uv.py checks the result is as close to a known texture).
5. Optionally the classical despecularizer removes baked-in highlights from the seen texels; then
   never-seen texels of the covered UV area are filled and seams padded (pull-push by default: one pass
   does both, fast and smooth for large areas such as the back of the head; or OpenCV Telea, or the
   diffusion inpainting model in UV space), and the result is resampled (bilinear) to the layout's size.

Only the skin materials (M_Face, M_BackHead by default) are painted; the others come from the
procedural backend (texture.parts). Skin roughness/specular/normal maps are flat constants (the
diffusion model paints colour only). Everything that determined the texture goes into TextureSet.params
(model ids + revisions, schedulers, steps, guidance, seeds, prompts, cameras).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError, InputError, validation_problems
from ..texture.base import MaterialTextures, ProgressFn, TextureSet

DEFAULT_RECIPE = Path(__file__).resolve().parents[2] / "pipelines" / "text_to_uv.yaml"
ROLE_FOR_CONDITION = {"depth": "controlnet_depth", "normal": "controlnet_normal"}
RESAMPLE = 1  # cv2.INTER_LINEAR, bake size -> layout size: as close to the true texture as cubic or Lanczos (bench)


class ViewSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    azimuth: float = Field(0.0, ge=-180, le=180, description="degrees, + = the face's left side (camera at +x)")
    elevation: float = Field(0.0, gt=-89, lt=89, description="degrees, + = camera above")


class TextToUVConfig(BaseModel):
    """The text -> UV recipe (pipelines/text_to_uv.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    prompt: str = "photo of a human face, natural skin, even diffuse lighting"
    negative_prompt: str | None = "makeup, harsh shadows, specular highlights, text, watermark"
    conditions: tuple[Literal["depth", "normal"], ...] = ("depth", "normal")
    views: tuple[ViewSpec, ...] = (ViewSpec(), ViewSpec(azimuth=45), ViewSpec(azimuth=-45),
                                   ViewSpec(azimuth=90), ViewSpec(azimuth=-90), ViewSpec(elevation=-30))
    view_size: int = Field(512, ge=16, le=2048)
    fov_deg: float = Field(30.0, gt=5, lt=120)
    margin: float = Field(1.1, ge=1.0, le=3.0, description="framing: 1 = M_Face's bounding sphere fills the view")
    steps: int = Field(20, ge=1, le=200)
    guidance: float = Field(7.5, ge=0)
    control_scale: float = Field(1.0, ge=0)
    inpaint_strength: float = Field(1.0, gt=0, le=1)
    refine_ratio: float = Field(0.5, ge=0, le=1, description="repaint texels whose best weight < ratio x this view's")
    mask_dilate: int = Field(3, ge=0, le=64, description="view pixels added around the inpainting mask")
    bake_power: float = Field(4.0, ge=0)
    bake_size: int | None = Field(None, ge=16, le=16384, description=(
        "texels per side (at most) of each painted texture while views are baked, filled and delighted, "
        "then resampled to the layout's size; default: the view size"))
    materials: tuple[str, ...] = ("M_Face", "M_BackHead")
    fill: Literal["pull-push", "telea", "diffusion"] = "pull-push"
    delight: Literal["none", "classical"] = "classical"
    roughness: int = Field(150, ge=0, le=255)
    specular: int = Field(180, ge=0, le=255)
    background: tuple[int, int, int] = (127, 127, 127)
    seed: int | None = Field(None, ge=0, description="fix the diffusion seed (default: drawn from the asset's texture stream)")

    @property
    def size(self) -> int:
        return int(self.view_size) // 8 * 8

    def bake_shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        """(h, w) a painted texture of layout size `shape` is baked at: scaled down (aspect kept) so its
        longer side is at most bake_size (default: the view size), never up."""
        h, w = int(shape[0]), int(shape[1])
        limit = int(self.bake_size or self.size)
        if max(h, w) <= limit:
            return h, w
        f = limit / max(h, w)
        return max(1, round(h * f)), max(1, round(w * f))


def load_config(path: str | Path | None = None, **overrides) -> TextToUVConfig:
    """Read a text -> UV recipe YAML (default pipelines/text_to_uv.yaml), then apply overrides (None = keep)."""
    path = Path(path) if path is not None else DEFAULT_RECIPE
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read text -> UV recipe {path}: {exc}") from exc
    elif path != DEFAULT_RECIPE:
        raise ConfigError(f"text -> UV recipe {path} does not exist")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return TextToUVConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {validation_problems(exc)}") from exc


# ---- the backend ---------------------------------------------------------------------------------
_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("assetgen_text_to_uv", default=None)


@contextlib.contextmanager
def configured(config: TextToUVConfig | None = None, runtime=None):
    """Within the block, `DiffusionTextureBackend()` (e.g. from generate.texture_backend("diffusion"))
    uses this recipe and runtime instead of the defaults."""
    token = _ACTIVE.set((config, runtime))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


class DiffusionTextureBackend:
    """TextureBackend "diffusion": skin painted by ControlNet diffusion + baking, other parts procedural.

    config: the recipe (default: `configured(...)`'s, else pipelines/text_to_uv.yaml); runtime: a
    DiffusionRuntime (default: one over configs/models.yaml or ASSETGEN_MODELS, made on first use, so
    constructing the backend is cheap and a missing model is reported by generate())."""

    name = "diffusion"

    def __init__(self, config: TextToUVConfig | None = None, runtime=None):
        active_cfg, active_rt = _ACTIVE.get() or (None, None)
        self.config = config or active_cfg or load_config()
        self._runtime = runtime or active_rt

    @property
    def runtime(self):
        if self._runtime is None:
            from .loading import DiffusionRuntime

            self._runtime = DiffusionRuntime.from_config()
        return self._runtime

    def generate(self, model, layout, params=None, rng: np.random.Generator | None = None,
                 progress: ProgressFn | None = None, vertices: np.ndarray | None = None) -> TextureSet:
        """params: SkinParams (or mapping) for the procedural parts (eye colour, ...); rng: the asset's
        texture stream (the diffusion seed is drawn from it unless the recipe fixes one); vertices: the
        asset's geometry in model units (default: the neutral face)."""
        from ..texture.params import SkinParams

        rng = rng if rng is not None else np.random.default_rng(0)
        p = SkinParams.parse(params)
        part_seeds = rng.integers(0, 2**63 - 1, size=8)
        seed = int(self.config.seed) if self.config.seed is not None else int(rng.integers(0, 2**31 - 1))
        result = text_to_uv(self.runtime, model, layout, self.config, seed=seed, skin_params=p,
                            part_seeds=part_seeds, vertices=vertices, progress=progress)
        labels = {**p.labels(), "backend": "diffusion", "prompt": self.config.prompt}
        return TextureSet(materials=result.materials, labels=labels, params=result.provenance,
                          backend=self.name, seed=seed)


# ---- the stage -----------------------------------------------------------------------------------
@dataclass(eq=False)
class TextToUVResult:
    """materials: every material's MaterialTextures; per painted material (h, w) bool maps: seen (painted
    by a view), filled (never seen, filled), covered (the UV layout's texels); views: the final (H, W, 3)
    uint8 image of every view; masks: the inpainting mask of every view; foregrounds: the pixels that see
    the mesh in every view; timings: seconds per stage."""

    materials: dict[str, MaterialTextures]
    seen: dict[str, np.ndarray]
    filled: dict[str, np.ndarray]
    covered: dict[str, np.ndarray]
    views: list[np.ndarray]
    masks: list[np.ndarray]
    provenance: dict[str, Any]
    foregrounds: list[np.ndarray] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def face_cameras(mesh, config: TextToUVConfig, frame_material: str = "M_Face"):
    """One Camera per config view, looking at the centre of `frame_material` (metres, +y up, the face
    looks along +z) from a distance that fits its bounding sphere in the field of view."""
    from ..render.camera import Camera, intrinsics, look_at

    try:
        pos = mesh.material(frame_material).positions
    except InputError:
        pos = np.concatenate([p.positions for p in mesh.primitives])
    lo, hi = pos.min(0).astype(np.float64), pos.max(0).astype(np.float64)
    target = (lo + hi) / 2
    radius = float(np.linalg.norm(hi - lo) / 2)
    half = math.radians(config.fov_deg) / 2
    dist = radius * config.margin / math.sin(half)
    size = config.size
    focal = size / 2 / math.tan(half)
    cams = []
    for v in config.views:
        a, e = math.radians(v.azimuth), math.radians(v.elevation)
        eye = target + dist * np.array([math.sin(a) * math.cos(e), math.sin(e), math.cos(a) * math.cos(e)])
        cams.append(Camera(intrinsics(size, size, focal), look_at(eye, target), (size, size)))
    return cams


def _parts(model, layout, skin_params, part_seeds, materials) -> dict[str, MaterialTextures]:
    from ..texture import parts
    from ..texture.face_fields import layout_fields
    from ..texture.procedural import AssetContext

    ctx = AssetContext(model, layout, layout_fields(model, layout), skin_params, np.asarray(part_seeds))
    return {n: parts.material(ctx, n) for n in layout.materials if n not in materials}


def _flat_skin(shape, config: TextToUVConfig, base: np.ndarray | None = None) -> MaterialTextures:
    """Skin maps of (h, w) `shape`: `base` (default: the background colour), the recipe's flat roughness
    and specular, a flat normal map."""
    h, w = shape
    if base is None:
        base = np.empty((h, w, 3), np.uint8)
        base[:] = config.background
    normal = np.empty((h, w, 3), np.uint8)
    normal[:] = (128, 128, 255)
    return MaterialTextures(base, np.full((h, w), config.roughness, np.uint8), np.full((h, w), config.specular, np.uint8), normal)


def _resample(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A bake-size texture (every texel defined) or bool map -> the layout's (h, w): bilinear for
    colours, nearest for masks."""
    import cv2

    if image.shape[:2] == tuple(shape):
        return image
    h, w = shape
    if image.dtype == bool:
        return cv2.resize(image.view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    return cv2.resize(image, (w, h), interpolation=RESAMPLE)


def _lookup(images, uv: np.ndarray, nearest: tuple[bool, ...]) -> list[np.ndarray]:
    """Each (h, w, C) image (all the same size) at the (n, 2) glTF UVs -> (n, C), bilinear or nearest,
    clamped; one coordinate map serves them all."""
    import cv2

    h, w = images[0].shape[:2]
    n = len(uv)
    cols = max(1, min(n, 4096))  # cv2.remap maps must stay under 32767 a side
    rows = -(-n // cols)
    x = np.zeros(rows * cols, np.float32)
    y = np.zeros(rows * cols, np.float32)
    np.multiply(uv[:, 0], w, out=x[:n])
    np.multiply(uv[:, 1], h, out=y[:n])
    x -= 0.5
    y -= 0.5
    x, y = x.reshape(rows, cols), y.reshape(rows, cols)
    return [cv2.remap(img, x, y, cv2.INTER_NEAREST if near else cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE).reshape(rows * cols, -1)[:n]
            for img, near in zip(images, nearest)]


_RAYS: dict = {}  # (K bytes, size) -> (H * W, 3) float32 unit camera-space pixel rays


def _pixel_rays(cam) -> np.ndarray:
    key = (cam.K.tobytes(), tuple(cam.size))
    if key not in _RAYS:
        if len(_RAYS) > 8:
            _RAYS.clear()
        w, h = cam.size
        ys, xs = np.mgrid[0:h, 0:w] + 0.5
        _RAYS[key] = cam.pixel_directions(np.column_stack([xs.ravel(), ys.ravel()])).astype(np.float32)
    return _RAYS[key]


def _view_cos(res, idx: np.ndarray) -> np.ndarray:
    """(n,) float32 |cos(angle between the surface normal and the direction to the camera)| at the flat
    pixel indices idx."""
    c = np.einsum("ij,ij->i", res.normal.reshape(-1, 3)[idx], _pixel_rays(res.camera)[idx])
    np.abs(c, out=c)
    return np.minimum(c, np.float32(1), out=c)


def _known_and_need(r, tex, best, prims, config: TextToUVConfig):
    """What the painted textures so far show in view r (skin pixels; the procedural parts elsewhere, the
    background colour where the view sees nothing) and the inpainting mask: skin pixels whose texel was
    never seen or seen at less than refine_ratio x this view's cos^power weight, dilated."""
    import cv2

    known = np.empty(r.albedo.shape, np.uint8)
    known[:] = config.background
    cv2.copyTo(r.albedo, r.mask.view(np.uint8), known)
    need = np.zeros(r.mask.shape, bool)
    flat_known, flat_need = known.reshape(-1, 3), need.reshape(-1)
    for m, prim in prims.items():
        idx = np.flatnonzero(r.material == prim)
        if not idx.size:
            continue
        rgba, b = _lookup([tex[m], best[m]], r.uv.reshape(-1, 2)[idx], (False, True))
        # Alpha is 255 on painted texels, 0 elsewhere (rgb 0 too): dividing by the interpolated alpha
        # leaves unpainted texels out of the bilinear lookups along the painted area's border.
        colour = rgba[:, :3].copy()
        edge = np.flatnonzero(rgba[:, 3] < 255)
        a = rgba[edge, 3:].astype(np.float32)
        colour[edge] = np.where(a > 0, np.rint(rgba[edge, :3] * (255.0 / np.maximum(a, 1.0))).clip(0, 255), 0)
        flat_known[idx] = colour
        b = b[:, 0]
        flat_need[idx] = (b <= 0) | (b < config.refine_ratio * _view_cos(r, idx) ** np.float32(config.bake_power))
    if config.mask_dilate:
        k = 2 * config.mask_dilate + 1
        need = cv2.dilate(need.view(np.uint8), np.ones((k, k), np.uint8)).view(bool) & r.mask
    return known, need


def text_to_uv(runtime, model, layout, config: TextToUVConfig, *, seed: int = 0, skin_params=None,
               part_seeds=None, vertices: np.ndarray | None = None, progress: ProgressFn | None = None,
               generate_view=None, inpaint_view=None) -> TextToUVResult:
    """Paint the skin materials of `layout` from `config.prompt` (see the module docstring).

    generate_view / inpaint_view replace the diffusion calls (benchmarks, tests): generate_view(i, control)
    -> (H, W, 3) uint8; inpaint_view(i, known, mask, control) -> (H, W, 3) uint8; control: a list of
    (H, W, 3) float32 conditioning images in [0, 1]."""
    import cv2
    from ..bake import Baker, View, visibility_of
    from ..render.conditioning import depth_condition, normal_condition
    from ..render.mesh import mesh_from_asset
    from ..render.renderer import Renderer
    from ..texture.base import TextureSet as _TS
    from ..texture.params import SkinParams
    from ..uv.padding import fill_background
    from .clean import composite
    from .reference import view_seeds

    T: dict[str, float] = {}
    t0 = time.perf_counter()
    mats = [m for m in config.materials if m in layout.materials]
    if not mats:
        raise ConfigError(f"none of the recipe's materials {list(config.materials)} is in the UV layout "
                          f"({', '.join(layout.materials)})")
    roles = [ROLE_FOR_CONDITION[c] for c in config.conditions]
    if not roles:
        raise ConfigError("text -> UV needs at least one ControlNet condition (depth and/or normal)")
    use_models = generate_view is None or inpaint_view is None
    inpaint_role = "inpainting" if runtime is not None and runtime.registry.has("inpainting") else "text2image"
    if use_models:
        if runtime is None:
            raise InputError("text -> UV needs a DiffusionRuntime (a model registry)")
        for r in ("text2image", *roles):
            runtime.registry.spec(r)  # ModelMissingError naming the role when it is not configured
    steps, n_views = config.steps, len(config.views)
    total = n_views * steps + 2
    done = [0]

    def report(what: str, k: int = 0):
        done[0] += k
        if progress is not None:
            progress(min(done[0], total), total, what)

    # -- geometry + procedural parts ---------------------------------------------------------------
    skin_params = SkinParams.parse(skin_params)
    part_seeds = np.random.default_rng(seed).integers(0, 2**63 - 1, size=8) if part_seeds is None else part_seeds
    materials = _parts(model, layout, skin_params, part_seeds, mats)
    T["procedural parts"] = time.perf_counter() - t0
    t = time.perf_counter()
    verts = np.asarray(model.neutral if vertices is None else vertices, np.float32)
    shell = type("_Shell", (), {})()
    shell.name, shell.model, shell.vertices = "text_to_uv", model, verts
    # The renders only need the skin opaque (its pixels show the painted texture, sampled on the CPU):
    # tiny placeholder maps keep them out of the uploads.
    shell.textures = _TS(materials={**materials, **{m: _flat_skin((4, 4), config) for m in mats}})
    mesh = mesh_from_asset(shell)
    cams = face_cameras(mesh, config)
    renderer = Renderer(mesh)
    # Views are baked at (about) their own resolution: a 512² view spans fewer pixels than a 1024² layout
    # has texels (bench/bench_diffusion.py prints the fraction), so finer texels would only hold bilinear
    # interpolation of the views, at 4x the cost of baking, filling and delighting.
    sizes = {m: config.bake_shape(layout[m].shape) for m in mats}
    baker = Baker(mesh, sizes=sizes, power=config.bake_power, padding=0)
    prim_of = {p.material: i for i, p in enumerate(mesh.primitives)}
    try:
        renders = [renderer.render(c, ["albedo", "depth", "normal", "uv"]) for c in cams]
        controls = []
        for r in renders:
            imgs = {"depth": depth_condition(r.depth), "normal": normal_condition(r.normal, r.mask)}
            controls.append([np.multiply(imgs[c], np.float32(1 / 255), dtype=np.float32) for c in config.conditions])
        T["conditioning renders"] = time.perf_counter() - t

        # -- sequential generation ------------------------------------------------------------------
        bake_cov = {m: baker.uv_mask(m).copy() for m in mats}
        tex = {m: np.zeros(sizes[m] + (4,), np.uint8) for m in mats}  # rgb + painted (255) / not (0)
        best = {m: np.zeros(sizes[m], np.float32) for m in mats}
        seeds = view_seeds(seed, n_views)
        views, masks = [], []
        T["sample + mask"] = T["bake"] = T["diffusion"] = 0.0
        gen_pipe = inp_pipe = None
        for i, (cam, r, ctrl) in enumerate(zip(cams, renders, controls)):
            t = time.perf_counter()
            if i > 0:
                known, need = _known_and_need(r, tex, best, {m: prim_of[m] for m in mats}, config)
            T["sample + mask"] += time.perf_counter() - t
            t = time.perf_counter()
            if i == 0:
                need = r.mask.copy()
                if generate_view is not None:
                    img = generate_view(i, ctrl)
                else:
                    if gen_pipe is None:
                        gen_pipe = runtime.compose("StableDiffusionControlNetPipeline", "text2image", tuple(roles))
                    img = _run_generate(gen_pipe, config, ctrl, seeds[i], lambda s: report("view 0", 1))
            elif not need.any():
                img = known
                report(f"view {i} (nothing to paint)", steps)
            else:
                if inpaint_view is not None:
                    img = inpaint_view(i, known, need, ctrl)
                else:
                    if inp_pipe is None:
                        inp_pipe = runtime.compose("StableDiffusionControlNetInpaintPipeline", inpaint_role, tuple(roles))
                    img = _run_inpaint(inp_pipe, config, known, need, ctrl, seeds[i], lambda s, i=i: report(f"view {i}", 1))
                T["diffusion"] += time.perf_counter() - t
                t = time.perf_counter()
                img = composite(known, img, need)
                T["sample + mask"] += time.perf_counter() - t
                t = time.perf_counter()
            T["diffusion"] += time.perf_counter() - t
            views.append(img)
            masks.append(need)
            t = time.perf_counter()
            baked = baker.bake([View(img, cam, visibility_of(r))], materials=mats)
            for m in mats:
                b = baked[m]
                conf = b.confidence
                upd = (conf > 0) & ((best[m] <= 0) | (best[m] < config.refine_ratio * conf))
                cv2.copyTo(cv2.cvtColor(b.texture, cv2.COLOR_RGB2RGBA), upd.view(np.uint8), tex[m])  # alpha 255
                np.copyto(best[m], conf, where=upd)
            T["bake"] += time.perf_counter() - t
    finally:
        baker.release()
        renderer.release()

    # -- delight, fill, pad, resample ------------------------------------------------------------------
    # Delighting comes first, on the texels views saw (what a fill would spread, it spreads delit); with
    # pull-push one pass then fills the holes and pads the seams alike. Materials are independent: they
    # are finished in parallel unless the fill runs the diffusion model.
    t = time.perf_counter()
    seen = {m: (best[m] > 0) & bake_cov[m] for m in mats}
    for m in mats:
        if not seen[m].any():
            raise InputError(f"no view saw material {m}; adjust the recipe's views")

    def finish(m: str):
        cov, s = bake_cov[m], seen[m]
        img, delit, filled_by = tex[m][..., :3], None, None
        if config.delight == "classical":
            from ..despecular import despecularize

            d = despecularize(img, mask=s)
            img, delit = d.diffuse, {"method": d.method, **d.params}
        img = fill_background(np.ascontiguousarray(img), s)  # holes and seams: pull-push from the seen texels
        hole = cov & ~s
        if hole.any() and config.fill == "telea":
            from .clean import inpaint_classical

            img = fill_background(inpaint_classical(img, hole, valid=cov).image, cov)
        elif hole.any() and config.fill == "diffusion":
            from .clean import inpaint_diffusion

            res = inpaint_diffusion(runtime, img, hole, config.prompt, seed=seed, steps=steps,
                                    negative_prompt=config.negative_prompt, size=config.size)
            img = fill_background(res.image, cov)
            filled_by = {k: v for k, v in res.provenance.items() if k not in ("prompt", "negative_prompt")}
        return _resample(img, layout[m].shape), _resample(s, layout[m].shape) & layout[m].mask, delit, filled_by

    if config.fill != "diffusion" and len(mats) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(mats)) as pool:
            finished = dict(zip(mats, pool.map(finish, mats)))
    else:
        finished = {m: finish(m) for m in mats}
    covered, filled, delight_prov = {}, {}, None
    fill_prov: dict[str, Any] = {"method": config.fill}
    for m in mats:
        base, seen[m], delit, filled_by = finished[m]
        covered[m] = layout[m].mask
        filled[m] = covered[m] & ~seen[m]
        materials[m] = _flat_skin(layout[m].shape, config, base)
        delight_prov = delit or delight_prov
        if filled_by is not None:
            fill_prov[m] = filled_by
    T["delight + fill + resample"] = time.perf_counter() - t
    report("done", 2)

    prov: dict[str, Any] = {
        "stage": "text_to_uv", "consistency": "sequential-inpaint (TEXTure/Text2Tex style)",
        "prompt": config.prompt, "negative_prompt": config.negative_prompt, "seed": seed, "view_seeds": seeds,
        "steps": steps, "guidance": config.guidance, "control_scale": config.control_scale,
        "inpaint_strength": config.inpaint_strength, "conditions": list(config.conditions),
        "recipe": config.model_dump(mode="json"),
        "cameras": [{**c.to_json(), "azimuth": v.azimuth, "elevation": v.elevation} for c, v in zip(cams, config.views)],
        "painted_materials": mats, "bake_shapes": {m: list(sizes[m]) for m in mats}, "fill": fill_prov, "delight": delight_prov,
        "coverage": {m: round(float(seen[m].sum()) / max(int(covered[m].sum()), 1), 6) for m in mats},
        "masked_fraction": [round(float(k.mean()), 6) for k in masks],
        "skin_params": skin_params.model_dump(mode="json"),
        "geometry": "neutral" if vertices is None else "asset",
    }
    if use_models:
        prov.update(runtime.provenance("text2image", *roles, *(() if inpaint_role == "text2image" else (inpaint_role,))))
        prov["pipelines"] = {
            "generate": {"class": "StableDiffusionControlNetPipeline", "base_role": "text2image",
                         "scheduler": type(gen_pipe.scheduler).__name__ if gen_pipe is not None else None},
            "inpaint": {"class": "StableDiffusionControlNetInpaintPipeline", "base_role": inpaint_role,
                        "scheduler": type(inp_pipe.scheduler).__name__ if inp_pipe is not None else None},
        }
        prov["scheduler"] = prov["pipelines"]["generate"]["scheduler"]
    T["total"] = time.perf_counter() - t0
    return TextToUVResult(materials, seen, filled, covered, views, masks, prov, [r.mask for r in renders], T)


def _progress_cb(step_report):
    def cb(pipe, step, timestep, kwargs):
        step_report(step)
        return kwargs

    return cb


def _control_tensors(ctrl):
    import torch

    ts = [torch.from_numpy(np.ascontiguousarray(c.transpose(2, 0, 1)))[None] for c in ctrl]
    return ts[0] if len(ts) == 1 else ts


def _scale(config, ctrl):
    return float(config.control_scale) if len(ctrl) == 1 else [float(config.control_scale)] * len(ctrl)


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)


def _run_generate(pipe, config: TextToUVConfig, ctrl, seed: int, step_report) -> np.ndarray:
    import torch

    s = config.size
    out = pipe(prompt=config.prompt, negative_prompt=config.negative_prompt, image=_control_tensors(ctrl),
               height=s, width=s, num_inference_steps=config.steps, guidance_scale=config.guidance,
               controlnet_conditioning_scale=_scale(config, ctrl), generator=torch.Generator("cpu").manual_seed(seed),
               output_type="np", callback_on_step_end=_progress_cb(step_report)).images[0]
    return _to_u8(out)


def _run_inpaint(pipe, config: TextToUVConfig, known, need, ctrl, seed: int, step_report) -> np.ndarray:
    import torch

    s = config.size
    out = pipe(prompt=config.prompt, negative_prompt=config.negative_prompt,
               image=(known.astype(np.float32) / 255.0)[None], mask_image=need.astype(np.float32)[None, ..., None],
               control_image=_control_tensors(ctrl), height=s, width=s, strength=config.inpaint_strength,
               num_inference_steps=config.steps, guidance_scale=config.guidance,
               controlnet_conditioning_scale=_scale(config, ctrl), generator=torch.Generator("cpu").manual_seed(seed),
               output_type="np", callback_on_step_end=_progress_cb(step_report)).images[0]
    return _to_u8(out)


# ---- a whole asset -------------------------------------------------------------------------------
