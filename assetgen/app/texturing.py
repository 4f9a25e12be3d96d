"""The diffusion texture backend as the app offers it: which models the registry names, why it cannot run
here (the UI never downloads a model on a click), and DiffusionTexturing, one per app."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import AssetgenError, InputError
from .editor import check_seed, whole_number


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
        steps = None if steps in (None, "") else whole_number(steps, "steps")
        if steps is not None and not 1 <= steps <= 200:
            raise InputError("steps must be between 1 and 200")
        s = None if seed in (None, "") else whole_number(seed, "noise seed")
        s = None if s is None or s < 0 else check_seed(s, "noise seed")
        overrides = {**self.overrides, "prompt": prompt, "steps": steps, "seed": s}
        cfg = load_config(self.recipe, **overrides)
        return cfg.model_copy(update={"negative_prompt": negative or None})

    def runtime(self):
        with self._lock:
            if self._runtime is None:  # the process's runtime: batch-style item painting shares its models
                from ..diffusion.loading import shared_runtime

                self._runtime = shared_runtime(self.registry_path)
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
