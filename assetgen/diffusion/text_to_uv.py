"""Text -> UV texture (operation 2): the `diffusion` texture backend and its pipeline, TextToUVPipeline.

Consistency across views: **sequential inpainting in the style of TEXTure / Text2Tex** (not SyncMVD's
latent synchronisation). Only the skin materials (M_Face, M_BackHead by default) are painted; the others
come from the procedural backend (texture.procedural.procedural_parts). Per asset, in the order of
TextToUVPipeline.__call__'s numbered steps:

1. The recipe is checked against the layout and the model registry.
2. The procedural parts (eyes, teeth, lashes, ...) are textured first, so the renders' occlusion and alpha
   cut-outs around the skin are exact.
3. Cameras: N views around the face (default 6: front, 3/4 left/right, profiles, one from below), all
   looking at the centre of M_Face and framing it (uv_views.face_cameras). The mesh is the asset's own
   identity (or the neutral face). One renderer pass per view gives the ControlNet conditioning
   (assetgen.render.conditioning: depth and/or normalbae images) and the uv/material/normal layers.
4. View 0 is generated from scratch by the ControlNet text-to-image pipeline (registry role text2image +
   controlnet_depth / controlnet_normal).
5. Every later view is **inpainted** around what earlier views already painted: the current UV texture
   is sampled into the view through its uv layer (non-skin pixels show the procedural parts), and the
   mask is the skin pixels whose texels were never seen, or were seen only at a worse angle
   (best earlier weight < `refine_ratio` x this view's cos^power weight), dilated by a few pixels
   (uv_views.known_and_need). The inpainting pipeline is StableDiffusionControlNetInpaintPipeline
   assembled from the registry's `inpainting` model (9-channel UNet; the `text2image` model is used when
   none is configured) plus the same ControlNets. Outside the mask the view is composited back
   bit-for-bit (clean.composite).
   Each view (0 included) is baked alone (assetgen.bake.Baker, cos^power x depth-edge x resolution
   weights, its visibility taken from the conditioning render); its texels replace the texture where they
   are new or better seen than before, and the per-texel best weight is kept (so views are never averaged
   into mush). Textures are baked at the views' resolution (`bake_size`, default the view size): a 512²
   view has fewer pixels on the face than a 1024² layout has texels, so finer texels would only
   interpolate the views (tests/test_text_to_uv.py checks the result is as close to a known texture).
6. Optionally the classical despecularizer removes baked-in highlights from the seen texels; then
   never-seen texels of the covered UV area are filled and seams padded (pull-push by default: one pass
   does both, fast and smooth for large areas such as the back of the head; or OpenCV Telea, or the
   diffusion inpainting model in UV space), and the result is resampled (bilinear) to the layout's size
   (uv_finish.py). Skin roughness/specular/normal maps are flat constants (the diffusion model paints
   colour only).
7. Everything that determined the texture goes into TextToUVResult.provenance (model ids + revisions,
   schedulers, steps, guidance, seeds, prompts, cameras).
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError, InputError, validation_problems
from ..texture.base import MaterialTextures, ProgressFn, TextureSet

from ..resources import recipe_path as _recipe_path
from ..yamlio import load_yaml
DEFAULT_RECIPE = _recipe_path("text_to_uv")  # shipped with the package (assetgen.resources)
ROLE_FOR_CONDITION = {"depth": "controlnet_depth", "normal": "controlnet_normal"}


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
        data = load_yaml(path, "text -> UV recipe") or {}
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
    DiffusionRuntime (default: `configured(...)`'s, else the process's shared one over ASSETGEN_MODELS or
    configs/models.yaml (loading.shared_runtime), taken on first use, so constructing the backend is cheap,
    a missing model is reported by generate(), and the backends of a batch's assets load each model once)."""

    name = "diffusion"

    def __init__(self, config: TextToUVConfig | None = None, runtime=None):
        active_cfg, active_rt = _ACTIVE.get() or (None, None)
        self.config = config or active_cfg or load_config()
        self._runtime = runtime or active_rt

    @property
    def runtime(self):
        if self._runtime is None:
            from .loading import shared_runtime

            self._runtime = shared_runtime()
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
        result = TextToUVPipeline(self.runtime)(model, layout, self.config, seed=seed, skin_params=p,
                                                part_seeds=part_seeds, vertices=vertices, progress=progress)
        labels = {**p.labels(), "backend": "diffusion", "prompt": self.config.prompt}
        return TextureSet(materials=result.materials, labels=labels, params=result.provenance,
                          backend=self.name, seed=seed)


# ---- the pipeline --------------------------------------------------------------------------------
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


# callback_on_step_end(pipeline, done, total, what): called after every unit of work (a denoising step of a
# view, a view with nothing left to paint, the finishing), `done` of `total` units so far.
StepEndCallback = Callable[["TextToUVPipeline", int, int, str], None]

# generate_view(i, control) -> (H, W, 3) uint8; inpaint_view(i, known, mask, control) -> (H, W, 3) uint8
ViewGenerator = Callable[[int, list], np.ndarray]
ViewInpainter = Callable[[int, np.ndarray, np.ndarray, list], np.ndarray]


class TextToUVPipeline:
    """Paints the skin materials of a UV layout from a text prompt (see the module docstring for the steps).

    runtime: a DiffusionRuntime (the model registry and its loaded models); generate_view / inpaint_view
    replace the diffusion calls (benchmarks, tests): generate_view(i, control) -> (H, W, 3) uint8,
    inpaint_view(i, known, mask, control) -> (H, W, 3) uint8, control being a list of (H, W, 3) float32
    conditioning images in [0, 1]. With both replaced, no runtime is needed. The pipeline keeps no state
    between calls."""

    def __init__(self, runtime=None, *, generate_view: ViewGenerator | None = None,
                 inpaint_view: ViewInpainter | None = None):
        self.runtime = runtime
        self.generate_view = generate_view
        self.inpaint_view = inpaint_view

    @property
    def uses_models(self) -> bool:
        """Whether a call runs a diffusion model (some view is not painted by a replacement function)."""
        return self.generate_view is None or self.inpaint_view is None

    def __call__(self, model, layout, config: TextToUVConfig, *, seed: int = 0, skin_params=None,
                 part_seeds=None, vertices: np.ndarray | None = None, progress: ProgressFn | None = None,
                 callback_on_step_end: StepEndCallback | None = None) -> TextToUVResult:
        """Paint `layout`'s skin materials from `config.prompt`.

        seed: the diffusion seed (one per view is derived from it); skin_params: SkinParams (or mapping) of
        the procedural parts; part_seeds: their eight stage seeds (default: drawn from `seed`); vertices: the
        asset's geometry in model units (default: the neutral face); progress(done, total, what) and
        callback_on_step_end(pipeline, done, total, what) are told after every unit of work."""
        from ..bake import Baker
        from ..render.renderer import Renderer
        from ..texture.params import SkinParams
        from ..texture.procedural import procedural_parts
        from .clean import composite
        from .reference import view_seeds
        from .uv_finish import finish_materials, flat_skin
        from .uv_views import face_cameras, known_and_need

        t0 = time.perf_counter()
        timings: dict[str, float] = {}

        # 1. Check the recipe against the layout and the model registry
        mats, roles, inpaint_role = self.check_inputs(layout, config)
        steps, n_views = config.steps, len(config.views)
        report = _Progress(self, n_views * steps + 2, progress, callback_on_step_end)

        # 2. Procedural parts: every material but the painted skin
        skin_params = SkinParams.parse(skin_params)
        if part_seeds is None:
            part_seeds = np.random.default_rng(seed).integers(0, 2**63 - 1, size=8)
        materials = procedural_parts(model, layout, skin_params, part_seeds, exclude=mats)
        timings["procedural parts"] = time.perf_counter() - t0

        t = time.perf_counter()
        with contextlib.ExitStack() as stack:
            # 3. Conditioning renders: cameras, one render per view, the ControlNet images
            mesh = self.render_mesh(model, materials, mats, config, vertices)
            cams = face_cameras(mesh, config)
            renderer = Renderer(mesh)
            stack.callback(renderer.release)
            sizes = {m: config.bake_shape(layout[m].shape) for m in mats}  # see TextToUVConfig.bake_shape
            baker = Baker(mesh, sizes=sizes, power=config.bake_power, padding=0)
            stack.callback(baker.release)
            prim_of = {p.material: i for i, p in enumerate(mesh.primitives)}
            prims = {m: prim_of[m] for m in mats}  # the painted materials' primitives in the renders
            renders = [renderer.render(c, ["albedo", "depth", "normal", "uv"]) for c in cams]
            controls = [self.control_images(r, config) for r in renders]
            timings["conditioning renders"] = time.perf_counter() - t

            # 4. Generate view 0 from scratch and bake it
            covered_baked = {m: baker.uv_mask(m).copy() for m in mats}
            tex = {m: np.zeros(sizes[m] + (4,), np.uint8) for m in mats}  # rgb + painted (255) / not (0)
            best = {m: np.zeros(sizes[m], np.float32) for m in mats}
            seeds = view_seeds(seed, n_views)
            pipes: dict[str, Any] = {}
            views, masks = [], []
            for key in ("sample + mask", "bake", "diffusion"):
                timings[key] = 0.0
            t = time.perf_counter()
            need = renders[0].mask.copy()
            img = self.generate(0, controls[0], config, roles, seeds[0], lambda s: report("view 0", 1), pipes)
            timings["diffusion"] += time.perf_counter() - t
            views.append(img)
            masks.append(need)
            t = time.perf_counter()
            self.bake_view(baker, img, cams[0], renders[0], tex, best, config)
            timings["bake"] += time.perf_counter() - t

            # 5. Inpaint every later view around what the earlier ones painted, and bake it
            for i in range(1, n_views):
                t = time.perf_counter()
                known, need = known_and_need(renders[i], tex, best, prims, config)
                timings["sample + mask"] += time.perf_counter() - t
                if not need.any():
                    img = known
                    report(f"view {i} (nothing to paint)", steps)
                else:
                    t = time.perf_counter()
                    img = self.inpaint(i, known, need, controls[i], config, roles, inpaint_role, seeds[i],
                                       lambda s, i=i: report(f"view {i}", 1), pipes)
                    timings["diffusion"] += time.perf_counter() - t
                    t = time.perf_counter()
                    img = composite(known, img, need)
                    timings["sample + mask"] += time.perf_counter() - t
                views.append(img)
                masks.append(need)
                t = time.perf_counter()
                self.bake_view(baker, img, cams[i], renders[i], tex, best, config)
                timings["bake"] += time.perf_counter() - t

        # 6. Delight, fill, pad and resample the painted materials
        t = time.perf_counter()
        seen = {m: (best[m] > 0) & covered_baked[m] for m in mats}
        for m in mats:
            if not seen[m].any():
                raise InputError(f"no view saw material {m}; adjust the recipe's views")
        finished = finish_materials(tex, seen, covered_baked, layout, config, runtime=self.runtime, seed=seed)
        covered, filled, delight_prov = {}, {}, None
        fill_prov: dict[str, Any] = {"method": config.fill}
        for m in mats:
            seen[m] = finished[m].seen
            covered[m] = layout[m].mask
            filled[m] = covered[m] & ~seen[m]
            materials[m] = flat_skin(layout[m].shape, config, finished[m].base)
            delight_prov = finished[m].delight or delight_prov
            if finished[m].fill is not None:
                fill_prov[m] = finished[m].fill
        timings["delight + fill + resample"] = time.perf_counter() - t
        report("done", 2)

        # 7. Provenance
        prov: dict[str, Any] = {
            "stage": "text_to_uv", "consistency": "sequential-inpaint (TEXTure/Text2Tex style)",
            "prompt": config.prompt, "negative_prompt": config.negative_prompt, "seed": seed, "view_seeds": seeds,
            "steps": steps, "guidance": config.guidance, "control_scale": config.control_scale,
            "inpaint_strength": config.inpaint_strength, "conditions": list(config.conditions),
            "recipe": config.model_dump(mode="json"),
            "cameras": [{**c.to_json(), "azimuth": v.azimuth, "elevation": v.elevation} for c, v in zip(cams, config.views)],
            "painted_materials": mats, "bake_shapes": {m: list(sizes[m]) for m in mats}, "fill": fill_prov,
            "delight": delight_prov,
            "coverage": {m: round(float(seen[m].sum()) / max(int(covered[m].sum()), 1), 6) for m in mats},
            "masked_fraction": [round(float(k.mean()), 6) for k in masks],
            "skin_params": skin_params.model_dump(mode="json"),
            "geometry": "neutral" if vertices is None else "asset",
        }
        if self.uses_models:
            prov.update(self.model_provenance(roles, inpaint_role, pipes))
        timings["total"] = time.perf_counter() - t0
        return TextToUVResult(materials, seen, filled, covered, views, masks, prov, [r.mask for r in renders], timings)

    # ---- the steps' parts ------------------------------------------------------------------------
    def check_inputs(self, layout, config: TextToUVConfig) -> tuple[list[str], list[str], str]:
        """(the painted materials present in the layout, the ControlNet roles, the inpainting base role);
        ConfigError for a recipe that paints nothing, ModelMissingError for a role the registry lacks."""
        mats = [m for m in config.materials if m in layout.materials]
        if not mats:
            raise ConfigError(f"none of the recipe's materials {list(config.materials)} is in the UV layout "
                              f"({', '.join(layout.materials)})")
        roles = [ROLE_FOR_CONDITION[c] for c in config.conditions]
        if not roles:
            raise ConfigError("text -> UV needs at least one ControlNet condition (depth and/or normal)")
        runtime = self.runtime
        inpaint_role = "inpainting" if runtime is not None and runtime.registry.has("inpainting") else "text2image"
        if self.uses_models:
            if runtime is None:
                raise InputError("text -> UV needs a DiffusionRuntime (a model registry)")
            for r in ("text2image", *roles):
                runtime.registry.spec(r)  # ModelMissingError naming the role when it is not configured
        return mats, roles, inpaint_role

    @staticmethod
    def render_mesh(model, materials: dict[str, MaterialTextures], mats: list[str], config: TextToUVConfig,
                    vertices: np.ndarray | None):
        """The RenderMesh the views are rendered and baked on: the asset's vertices (default: the neutral
        face), the procedural parts' textures, and tiny opaque placeholder maps on the painted materials
        (their pixels show the painted texture, sampled on the CPU, so full-size maps need no upload)."""
        from ..render.mesh import mesh_from_asset
        from .uv_finish import flat_skin

        verts = np.asarray(model.neutral if vertices is None else vertices, np.float32)
        textures = TextureSet(materials={**materials, **{m: flat_skin((4, 4), config) for m in mats}})
        return mesh_from_asset(SimpleNamespace(name="text_to_uv", model=model, vertices=verts, textures=textures))

    @staticmethod
    def control_images(render, config: TextToUVConfig) -> list[np.ndarray]:
        """The view's ControlNet conditioning images, (H, W, 3) float32 in [0, 1], in config.conditions' order."""
        from ..render.conditioning import depth_condition, normal_condition

        imgs = {"depth": depth_condition(render.depth), "normal": normal_condition(render.normal, render.mask)}
        return [np.multiply(imgs[c], np.float32(1 / 255), dtype=np.float32) for c in config.conditions]

    def generate(self, i: int, ctrl: list[np.ndarray], config: TextToUVConfig, roles: list[str], seed: int,
                 step_report, pipes: dict[str, Any]) -> np.ndarray:
        """View i painted from scratch (the replacement function, else the ControlNet text-to-image
        pipeline, composed once per call into pipes["generate"])."""
        if self.generate_view is not None:
            return self.generate_view(i, ctrl)
        from .view_painting import generate_view

        with self.runtime.exclusive():
            if "generate" not in pipes:
                pipes["generate"] = self.runtime.compose("StableDiffusionControlNetPipeline", "text2image",
                                                         tuple(roles))
            return generate_view(pipes["generate"], config, ctrl, seed, step_report)

    def inpaint(self, i: int, known: np.ndarray, need: np.ndarray, ctrl: list[np.ndarray], config: TextToUVConfig,
                roles: list[str], inpaint_role: str, seed: int, step_report, pipes: dict[str, Any]) -> np.ndarray:
        """View i repainted inside `need` around `known` (the replacement function, else the ControlNet
        inpainting pipeline, composed once per call into pipes["inpaint"])."""
        if self.inpaint_view is not None:
            return self.inpaint_view(i, known, need, ctrl)
        from .view_painting import inpaint_view

        with self.runtime.exclusive():
            if "inpaint" not in pipes:
                pipes["inpaint"] = self.runtime.compose("StableDiffusionControlNetInpaintPipeline", inpaint_role,
                                                        tuple(roles))
            return inpaint_view(pipes["inpaint"], config, known, need, ctrl, seed, step_report)

    @staticmethod
    def bake_view(baker, img: np.ndarray, cam, render, tex: dict[str, np.ndarray], best: dict[str, np.ndarray],
                  config: TextToUVConfig) -> None:
        """Bake one view alone (its visibility from the conditioning render); its texels replace tex[m]
        (alpha 255) where they are new or better seen than before (best < refine_ratio x their weight), and
        best keeps the per-texel best weight."""
        import cv2
        from ..bake import View, visibility_of

        baked = baker.bake([View(img, cam, visibility_of(render))], materials=list(tex))
        for m in tex:
            conf = baked[m].confidence
            upd = (conf > 0) & ((best[m] <= 0) | (best[m] < config.refine_ratio * conf))
            cv2.copyTo(cv2.cvtColor(baked[m].texture, cv2.COLOR_RGB2RGBA), upd.view(np.uint8), tex[m])
            np.copyto(best[m], conf, where=upd)

    def model_provenance(self, roles: list[str], inpaint_role: str, pipes: dict[str, Any]) -> dict[str, Any]:
        """The models (ids, revisions), pipeline classes and the schedulers of the pipelines this call ran."""
        prov = self.runtime.provenance("text2image", *roles, *(() if inpaint_role == "text2image" else (inpaint_role,)))
        schedulers = {k: type(p.scheduler).__name__ for k, p in pipes.items()}
        prov["pipelines"] = {
            "generate": {"class": "StableDiffusionControlNetPipeline", "base_role": "text2image",
                         "scheduler": schedulers.get("generate")},
            "inpaint": {"class": "StableDiffusionControlNetInpaintPipeline", "base_role": inpaint_role,
                        "scheduler": schedulers.get("inpaint")},
        }
        prov["scheduler"] = prov["pipelines"]["generate"]["scheduler"]
        return prov


class _Progress:
    """Counts units of work and tells progress(done, total, what) and callback_on_step_end(pipeline, done,
    total, what) after each."""

    def __init__(self, pipeline: TextToUVPipeline, total: int, progress: ProgressFn | None,
                 callback_on_step_end: StepEndCallback | None):
        self.pipeline, self.total, self.done = pipeline, total, 0
        self.progress, self.callback_on_step_end = progress, callback_on_step_end

    def __call__(self, what: str, k: int = 0) -> None:
        self.done += k
        done = min(self.done, self.total)
        if self.progress is not None:
            self.progress(done, self.total, what)
        if self.callback_on_step_end is not None:
            self.callback_on_step_end(self.pipeline, done, self.total, what)


def text_to_uv(runtime, model, layout, config: TextToUVConfig, *, seed: int = 0, skin_params=None,
               part_seeds=None, vertices: np.ndarray | None = None, progress: ProgressFn | None = None,
               generate_view: ViewGenerator | None = None, inpaint_view: ViewInpainter | None = None,
               callback_on_step_end: StepEndCallback | None = None) -> TextToUVResult:
    """TextToUVPipeline(runtime, generate_view=..., inpaint_view=...)(model, layout, config, ...), in one call."""
    pipe = TextToUVPipeline(runtime, generate_view=generate_view, inpaint_view=inpaint_view)
    return pipe(model, layout, config, seed=seed, skin_params=skin_params, part_seeds=part_seeds, vertices=vertices,
                progress=progress, callback_on_step_end=callback_on_step_end)
