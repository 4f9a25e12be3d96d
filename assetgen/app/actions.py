"""Thin actions behind the authoring UI: plain values in, plain values (arrays, paths, dicts) out.

Nothing here imports Gradio; the UI (ui/app.py) lays out components and wires events to these functions,
and gradio_client users reach the same functions through the UI's named API endpoints. Errors are
AssetgenError subclasses with a message a person can act on; the UI shows them as they are.
"""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import AssetgenError, InputError

# The editor shows the leading identity modes and these named expressions (those the model has).
N_IDENTITY_SLIDERS = 10
IDENTITY_RANGE = 3.0
EDITOR_EXPRESSIONS = (
    "jawOpen", "mouthSmile_L", "mouthSmile_R", "eyeBlink_L", "eyeBlink_R", "browInnerUp_L", "browInnerUp_R",
    "browDown_L", "browDown_R", "mouthFunnel", "mouthPucker", "cheekPuff_L", "cheekPuff_R", "noseSneer_L",
    "noseSneer_R",
)
MAKEUP_LAYERS = ("lipstick", "blush", "eyeshadow", "eyeliner")
MAKEUP_DEFAULT_COLORS = {"lipstick": "#a0223a", "blush": "#e58f8f", "eyeshadow": "#6b4f3a", "eyeliner": "#1a1410"}
RESOLUTIONS = (128, 256, 512, 1024, 2048)
EXPORT_FORMATS = ("glb", "gt.json", "textures.zip", "preview.png")
MAX_UPLOAD_PIXELS = 4096 * 4096
UPLOAD_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
DISPLAY_MATERIAL = "M_Face"


class Cancelled(AssetgenError):
    """The person pressed Cancel while an operation was running."""


# ---- the face model and layouts -------------------------------------------------------------------
def face_model():
    from ..face.locate import get_face_model

    return get_face_model()


_layout_lock = threading.Lock()


def uv_layout(resolution: int):
    from ..uv import rasterize_uv

    resolution = int(resolution)
    if resolution not in RESOLUTIONS:
        raise InputError(f"UV resolution must be one of {', '.join(map(str, RESOLUTIONS))}, got {resolution}")
    with _layout_lock:  # two sessions asking for a new resolution rasterize it once
        return rasterize_uv(face_model(), resolution)


def editor_expressions(model=None) -> list[str]:
    model = model or face_model()
    return [n for n in EDITOR_EXPRESSIONS if n in model.expression_names]


def identity_labels(model=None, n: int = N_IDENTITY_SLIDERS) -> list[str]:
    model = model or face_model()
    names = list(model.identity_names[:n])
    return [f"identity {i + 1}" + (f" ({nm})" if nm and not nm.isdigit() else "") for i, nm in enumerate(names)]


# ---- parameters -----------------------------------------------------------------------------------
def normalize_color(value: Any) -> str:
    """A colour picker's value (#rgb, #rrggbb, #rrggbbaa, rgb(...)/rgba(...)) -> #rrggbb."""
    s = str(value or "").strip().lower()
    m = re.fullmatch(r"#([0-9a-f]{3})", s)
    if m:
        return "#" + "".join(ch * 2 for ch in m.group(1))
    m = re.fullmatch(r"#([0-9a-f]{6})([0-9a-f]{2})?", s)
    if m:
        return "#" + m.group(1)
    m = re.fullmatch(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*[\d.]+\s*)?\)", s)
    if m:
        return "#" + "".join(f"{max(0, min(255, round(float(x)))):02x}" for x in m.groups())
    raise InputError(f"{value!r} is not a colour (use #rrggbb)")


def skin_params(values: dict[str, Any]):
    """UI values -> validated SkinParams. Makeup: <layer>_color + <layer>_opacity (0 = none);
    hair_color 'auto' = chosen from skin tone and age. Errors: ConfigError naming the field."""
    from ..texture.params import SkinParams

    v = dict(values)
    params: dict[str, Any] = {}
    for key in ("skin_tone", "moles"):
        if key in v:
            params[key] = int(round(float(v.pop(key))))
    for key in ("hemoglobin", "freckles", "stubble", "brow_density", "age"):
        if key in v:
            params[key] = float(v.pop(key))
    if "eye_color" in v:
        params["eye_color"] = v.pop("eye_color")
    hair = v.pop("hair_color", "auto")
    params["hair_color"] = None if hair in (None, "", "auto") else hair
    for layer in MAKEUP_LAYERS:
        color = v.pop(f"{layer}_color", None)
        opacity = float(v.pop(f"{layer}_opacity", 0.0) or 0.0)
        params[layer] = {"color": normalize_color(color), "opacity": opacity} if opacity > 0 else None
    if v:
        raise InputError(f"unknown texture parameters: {', '.join(sorted(v))}")
    return SkinParams.parse(params)


def params_to_ui(params: dict[str, Any]) -> dict[str, Any]:
    """SkinParams (as a dict) -> the UI's flat values (inverse of skin_params)."""
    from ..texture.params import SkinParams

    p = SkinParams.parse(params or {})
    out: dict[str, Any] = {
        "skin_tone": p.monk_category, "hemoglobin": p.hemoglobin, "freckles": p.freckles, "moles": p.moles,
        "stubble": p.stubble, "brow_density": p.brow_density, "age": p.age, "eye_color": p.eye_color,
        "hair_color": p.hair_color or "auto",
    }
    for layer in MAKEUP_LAYERS:
        lay = getattr(p, layer)
        out[f"{layer}_color"] = lay.color if lay is not None else MAKEUP_DEFAULT_COLORS[layer]
        out[f"{layer}_opacity"] = lay.opacity if lay is not None else 0.0
    return out


def default_params_ui() -> dict[str, Any]:
    from ..texture.params import SkinParams

    return params_to_ui(SkinParams().model_dump())


def random_editor(seed: int, n_identity: int = N_IDENTITY_SLIDERS) -> dict[str, Any]:
    """Random identity (truncated normal, as recipes draw it) and texture parameters from `seed`."""
    from ..generate import asset_streams
    from ..texture.params import SkinParams

    seed = check_seed(seed)
    model = face_model()
    rng = asset_streams(seed)
    w = model.identity_weights(rng["identity"], truncation=2.5)[:n_identity]
    w = np.clip(np.round(w, 2), -IDENTITY_RANGE, IDENTITY_RANGE)
    params = SkinParams.sample(rng["texture"])
    return {"identity": [float(x) for x in w], "params": params_to_ui(params.model_dump()), "seed": seed}


def check_seed(seed: Any) -> int:
    try:
        s = int(seed)
    except (TypeError, ValueError):
        raise InputError(f"seed must be a whole number, got {seed!r}") from None
    if s < 0 or s > 2**63 - 1:
        raise InputError("seed must be between 0 and 2^63 - 1")
    return s


def check_name(name: str) -> str:
    name = str(name or "").strip()
    if not name or len(name) > 64 or not all(ch.isalnum() or ch in "-_" for ch in name):
        raise InputError(f"asset name {name!r} must be 1-64 letters, digits, '-' or '_'")
    return name


# ---- the editor's asset ---------------------------------------------------------------------------
@dataclass
class EditorState:
    """What one browser session is editing. base_identity / base_expression: weights of an asset opened
    from the library (the sliders override their leading modes / named expressions); parent: its id."""

    asset: Any = None
    glb: str | None = None
    base_identity: np.ndarray | None = None
    base_expression: np.ndarray | None = None
    parent: str | None = None
    workdir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def weights(model, identity: Sequence[float], expressions: dict[str, float], state: EditorState | None = None):
    """Slider values (+ the opened asset's other weights) -> (identity (I,), expression (E,))."""
    ident = np.zeros(model.n_identity) if state is None or state.base_identity is None else state.base_identity.copy()
    vals = np.asarray([float(x) for x in identity], np.float64)
    if len(vals) > model.n_identity:
        raise InputError(f"the model has {model.n_identity} identity modes, got {len(vals)} values")
    if not np.isfinite(vals).all():
        raise InputError("identity values must be finite numbers")
    ident[: len(vals)] = vals
    expr = (np.zeros(len(model.expression_names)) if state is None or state.base_expression is None
            else state.base_expression.copy())
    named = model.expression_weights({k: float(v) for k, v in expressions.items()})
    for k in expressions:
        expr[model.expression_names.index(k)] = named[model.expression_names.index(k)]
    if (expr < 0).any() or (expr > 1).any():
        raise InputError("expression weights must lie in [0, 1]")
    return ident, expr


ProgressFn = Callable[[int, int, str], None]


def build_asset(name: str, seed: int, resolution: int, identity: Sequence[float], expressions: dict[str, float],
                params: dict[str, Any], backend: str = "procedural", state: EditorState | None = None,
                progress: ProgressFn | None = None, texture=None):
    """The editor's values -> an Asset (geometry from the face model, texture from the chosen backend).

    Same stages as generate.make_asset, with explicit weights and parameters instead of a recipe's draws;
    the texture stream comes from the seed exactly as make_asset derives it. backend "diffusion" needs
    `texture`: a configured texture backend object (DiffusionTexturing.backend(...)); for the diffusion
    backend `params` are those of the procedural parts (eyes, teeth, ...)."""
    from ..asset import Asset, code_provenance
    from ..generate import STREAMS, asset_streams, texture_backend

    name = check_name(name)
    seed = check_seed(seed)
    if backend not in ("procedural", "diffusion"):
        raise InputError(f"unknown texture backend {backend!r}; use procedural or diffusion")
    if backend == "diffusion" and texture is None:
        raise InputError(diffusion_message())
    model = face_model()
    layout = uv_layout(resolution)
    ident, expr = weights(model, identity, expressions, state)
    p = skin_params(params)
    vertices = model.vertices(ident, expr)
    rng = asset_streams(seed)
    texturer = texture if texture is not None else texture_backend(backend)
    textures = texturer.generate(model, layout, p, rng["texture"], progress=progress, vertices=vertices)
    labels = dict(textures.labels)
    labels["expression"] = "neutral" if not expr.any() else "+".join(
        n for n, w in zip(model.expression_names, expr) if w > 0)
    provenance = {
        "source": "ui",
        "seed": seed,
        "streams": list(STREAMS),
        "identity_weights": [round(float(x), 6) for x in ident],
        "expression_weights": {n: round(float(w), 6) for n, w in zip(model.expression_names, expr) if w},
        "face_model": {"name": "ICT-FaceKit Light", "fingerprint": model.fingerprint, "topology": model.topology_hash},
        "uv_resolution": layout.resolution,
        "texture": {"backend": backend, "params": textures.params},
        "code": code_provenance(),
    }
    return Asset(name=name, model=model, vertices=vertices, identity_weights=ident, expression_weights=expr,
                 textures=textures, labels=labels, provenance=provenance)


def new_workdir(root: Path) -> Path:
    d = Path(root) / uuid.uuid4().hex[:12]
    d.mkdir(parents=True, exist_ok=True)
    return d


def export_for_viewer(asset, workdir: Path) -> Path:
    """Write NAME.glb (+ NAME.gt.json) for the 3D viewer; returns the GLB path."""
    from ..generate import write_asset

    return write_asset(asset, Path(workdir)).glb


def uv_image(asset, material: str = DISPLAY_MATERIAL) -> np.ndarray:
    """The material's base colour (UV texture) as (H, W, 3) uint8."""
    tex = asset.textures.materials.get(material)
    if tex is None:
        raise InputError(f"the asset has no material {material!r}")
    return np.ascontiguousarray(tex.base_color[..., :3])


def summary(asset) -> dict[str, Any]:
    return {"name": asset.name, "labels": asset.labels, "seed": asset.provenance.get("seed"),
            "uv_resolution": asset.provenance.get("uv_resolution"),
            "library": asset.provenance.get("library")}


# ---- diffusion ------------------------------------------------------------------------------------
def diffusion_models(registry_path: str | Path | None = None) -> list[str]:
    """'role: source' for every model the registry configures (empty when there is no registry)."""
    from ..diffusion.registry import load_registry

    try:
        reg = load_registry(registry_path)
    except AssetgenError:
        return []
    return [f"{role}: {spec.source}" + (f"@{spec.revision}" if spec.revision else "") for role, spec in reg.models.items()]


def _hub_cached(spec) -> bool:
    """Whether a hub model is already in this machine's Hugging Face cache (nothing is fetched)."""
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(spec.source, revision=spec.revision, local_files_only=True)
        return True
    except Exception:  # noqa: BLE001 - not cached (or no huggingface_hub): not available here
        return False


def diffusion_problem(registry_path: str | Path | None = None, conditions: Sequence[str] = ("depth", "normal"),
                      recipe_problem: str | None = None) -> str | None:
    """Why the diffusion backend cannot run here, or None when every model it needs is available (the
    same checks as `assetgen texture --backend diffusion`, plus: the UI never downloads a hub model on a
    click, so a hub model must already be in the local cache)."""
    from ..diffusion.loading import check_local_folder, how_to_get
    from ..diffusion.registry import load_registry

    if recipe_problem:
        return f"The text -> UV recipe cannot be used: {recipe_problem}. Use the procedural backend."
    try:
        reg = load_registry(registry_path)
    except AssetgenError as exc:
        return f"No diffusion model registry: {exc}. Use the procedural backend."
    roles = ["text2image", *(f"controlnet_{c}" for c in conditions)]
    if reg.has("inpainting"):
        roles.append("inpainting")
    missing = []
    for role in roles:
        try:
            spec = reg.spec(role)
        except AssetgenError as exc:
            return f"No diffusion model configured: {exc}. Use the procedural backend."
        if spec.is_local:
            try:
                check_local_folder(Path(spec.source).expanduser(), role)
            except AssetgenError as exc:
                missing.append(str(exc))
        elif not _hub_cached(spec):
            missing.append(f"{role} ({spec.source}) is not downloaded on this machine: {how_to_get(role, spec)}")
    if missing:
        return "Diffusion models are configured but not available: " + "; ".join(missing) + ". Use the procedural backend."
    return None


def diffusion_message(registry_path: str | Path | None = None, conditions: Sequence[str] = ("depth", "normal"),
                      recipe_problem: str | None = None) -> str:
    """What the UI shows under the diffusion backend: why it cannot run, or that it is ready."""
    problem = diffusion_problem(registry_path, conditions, recipe_problem)
    if problem:
        return problem
    return ("Diffusion models ready (text -> UV: ControlNet views baked into the UV layout). The first "
            "generation loads the models.")


class DiffusionTexturing:
    """The diffusion backend as the UI uses it: one model registry and text -> UV recipe per app, one
    DiffusionRuntime (loaded pipelines are shared by every session), and one dedicated worker thread, so
    generations run one at a time on the shared pipelines and the GL renderer/baker stay on one thread.

    registry_path: the model registry (None: ASSETGEN_MODELS or configs/models.yaml); recipe: the text ->
    UV recipe YAML (None: pipelines/text_to_uv.yaml); overrides: recipe fields to override (view_size, ...)."""

    def __init__(self, registry_path: str | Path | None = None, recipe: str | Path | None = None,
                 overrides: dict[str, Any] | None = None):
        from ..diffusion.text_to_uv import load_config

        self.registry_path = registry_path
        self.recipe = recipe
        self.overrides = dict(overrides or {})
        self.recipe_problem: str | None = None
        try:
            self.defaults = load_config(recipe, **self.overrides)
        except AssetgenError as exc:
            self.recipe_problem = str(exc)
            self.defaults = load_config(None)
        self._runtime = None
        self._lock = threading.Lock()
        self._worker = None

    def problem(self) -> str | None:
        return diffusion_problem(self.registry_path, self.defaults.conditions, self.recipe_problem)

    def message(self) -> str:
        return diffusion_message(self.registry_path, self.defaults.conditions, self.recipe_problem)

    def config(self, prompt: str | None = None, negative_prompt: str | None = None, steps: Any = None,
               seed: Any = None):
        """The recipe with the UI's values: an empty prompt keeps the recipe's; an empty negative prompt
        means none; seed < 0 (or None) draws the diffusion seed from the asset's texture stream."""
        from ..diffusion.text_to_uv import load_config

        prompt = (prompt or "").strip() or None
        if prompt is not None and len(prompt) > 1000:
            raise InputError("the prompt is too long (at most 1000 characters)")
        negative = (negative_prompt or "").strip()
        if len(negative) > 1000:
            raise InputError("the negative prompt is too long (at most 1000 characters)")
        try:
            steps = None if steps in (None, "") else int(steps)
        except (TypeError, ValueError):
            raise InputError(f"steps must be a whole number, got {steps!r}") from None
        if steps is not None and not 1 <= steps <= 200:
            raise InputError("steps must be between 1 and 200")
        s = None if seed in (None, "") or int(seed) < 0 else check_seed(seed)
        overrides = {**self.overrides, "prompt": prompt, "steps": steps, "seed": s}
        cfg = load_config(self.recipe, **overrides)
        return cfg.model_copy(update={"negative_prompt": negative or None})

    def runtime(self):
        with self._lock:
            if self._runtime is None:
                from ..diffusion.loading import DiffusionRuntime
                from ..diffusion.registry import load_registry

                self._runtime = DiffusionRuntime(load_registry(self.registry_path))
            return self._runtime

    def backend(self, prompt=None, negative_prompt=None, steps=None, seed=None):
        """A DiffusionTextureBackend with the UI's values over the app's registry (ModelMissingError and
        the like come from generate(), as AssetgenErrors with a message)."""
        from ..diffusion.text_to_uv import DiffusionTextureBackend

        problem = self.problem()
        if problem:
            raise InputError(problem)
        cfg = self.config(prompt, negative_prompt, steps, seed)
        return DiffusionTextureBackend(cfg, self.runtime())

    def run(self, fn: Callable, *args, **kwargs):
        """fn(*args, **kwargs) on the diffusion worker thread (in the caller's context, so progress
        reporting that relies on context variables keeps working); waits for its result."""
        import contextvars
        from concurrent.futures import ThreadPoolExecutor

        with self._lock:
            if self._worker is None:
                self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assetgen-diffusion")
        ctx = contextvars.copy_context()
        return self._worker.submit(ctx.run, fn, *args, **kwargs).result()


# ---- despecularize / clean ------------------------------------------------------------------------
def read_upload(path: str | Path, max_bytes: int = 20 << 20) -> np.ndarray:
    """An uploaded image -> (H, W, 3) uint8 RGB. Refuses non-images, huge files and huge pictures."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise InputError("the upload is missing; upload it again")
    size = p.stat().st_size
    if size > max_bytes:
        raise InputError(f"the upload is {size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB")
    if p.suffix.lower() not in UPLOAD_SUFFIXES:
        raise InputError(f"{p.name} is not an image this app reads (use {', '.join(UPLOAD_SUFFIXES)})")
    try:
        with Image.open(p) as im:
            if im.width * im.height > MAX_UPLOAD_PIXELS:
                raise InputError(f"{p.name} is {im.width}x{im.height}; the limit is {MAX_UPLOAD_PIXELS} pixels (4096x4096)")
            return np.asarray(im.convert("RGB")).copy()
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise InputError(f"{p.name} is not a readable image: {exc}") from None


def despecularize_image(image: np.ndarray, mask: np.ndarray | None = None, gain: float = 4.0):
    """(before, after, residual shown x gain, params): classical dichromatic despecularization."""
    from ..despecular import despecularize

    res = despecularize(image, mask=mask)
    before = np.ascontiguousarray(np.asarray(image)[..., :3])
    after = np.ascontiguousarray(res.diffuse[..., :3])
    shown = np.clip(res.residual.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    return before, after, shown, {**res.params, "residual_display_gain": gain,
                                  "residual_mean": float(res.residual.mean())}


def despecularize_asset(asset, gain: float = 4.0):
    """Despecularize the asset's face albedo inside the UV layout's coverage."""
    img = uv_image(asset)
    return despecularize_image(img, gain=gain)


def clean_image(image: np.ndarray, threshold: int = 8):
    """Classical inpaint of near-black texels (holes, unbaked background); returns (cleaned, mask)."""
    from ..diffusion.clean import inpaint_classical

    img = np.asarray(image)[..., :3]
    mask = img.max(-1) < threshold
    if not mask.any():
        return np.ascontiguousarray(img), mask
    res = inpaint_classical(img, mask)
    return np.ascontiguousarray(res.image[..., :3]), mask


# ---- export ---------------------------------------------------------------------------------------
def export_files(asset, formats: Sequence[str], workdir: Path) -> list[Path]:
    """Write the chosen formats of the asset into a fresh folder under workdir; returns the files."""
    from ..export.glb import encode_png, material_images
    from ..generate import write_asset

    if asset is None:
        raise InputError("nothing to export yet: press \"Generate texture\" or open an asset first")
    formats = list(formats or [])
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown or not formats:
        raise InputError(f"choose export formats among {', '.join(EXPORT_FORMATS)}")
    out = new_workdir(Path(workdir) / "export")
    written = write_asset(asset, out)
    files: list[Path] = []
    if "glb" in formats:
        files.append(written.glb)
    if "gt.json" in formats:
        files.append(written.ground_truth)
    if "textures.zip" in formats:
        zpath = out / f"{asset.name}.textures.zip"
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_STORED) as zf:
            for mat, tex in asset.textures.materials.items():
                for map_name, img in material_images(tex).items():
                    zf.writestr(f"{mat}/{map_name}.png", encode_png(img))
            zf.writestr("params.json", json.dumps(asset.textures.params, indent=2, default=str))
        files.append(zpath)
    if "preview.png" in formats:
        from PIL import Image

        ppath = out / f"{asset.name}.preview.png"
        Image.fromarray(preview_image(asset)).save(ppath)
        files.append(ppath)
    return files


_gl_thread = None


def preview_image(asset, size: int = 256) -> np.ndarray:
    """A front preview (OpenGL); the face UV texture when no GL context can be made. GL contexts are
    bound to a thread, and the UI's callbacks run on many: every render runs on one dedicated thread."""
    global _gl_thread
    try:
        from concurrent.futures import ThreadPoolExecutor

        from ..preview import render_front

        with _layout_lock:
            if _gl_thread is None:
                _gl_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assetgen-gl")
        return _gl_thread.submit(render_front, asset, size).result(timeout=120)
    except Exception:  # noqa: BLE001 - no GL here: the UV texture is still a useful picture
        from PIL import Image

        return np.asarray(Image.fromarray(uv_image(asset)).resize((size, size)))


def png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()
