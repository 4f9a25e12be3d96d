"""Loading models of the registry: safetensors only, never remote code, one cache shared by all stages.

`DiffusionRuntime` owns the device, dtype and offload choices and a cache of loaded pipelines keyed by
(role, source, revision, dtype, device), so reference imagery, text->UV and clean reuse one text2image
UNet/VAE/text encoder instead of loading it per stage. `shared_runtime()` is the process's one runtime per
registry file, which the diffusion skin backend and the item-texture stage both take when no runtime is
given, so a batch of assets loads each model once per process.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from .registry import (ROLES, ModelMissingError, ModelRegistry, ModelSpec, UnsafeModelError, default_registry_path,
                       load_registry)

_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
_ALLOWED_LIBRARIES = {"diffusers", "transformers", None}


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def how_to_get(role: str, spec: ModelSpec) -> str:
    rev = f" --revision {spec.revision}" if spec.revision else ""
    return (
        f"download it on a connected machine with `huggingface-cli download {spec.source}{rev} "
        f"--include '*.json' '*.txt' '*.safetensors' --local-dir DIR`, copy DIR here and set "
        f"`models.{role}.source: DIR` in configs/models.yaml (or pass --model-config FILE)"
    )


def check_local_folder(folder: Path, role: str = "model") -> None:
    """Refuse a folder that is missing, holds only pickled weights, or ships custom pipeline code."""
    if not folder.is_dir():
        raise ModelMissingError(f"model folder for role {role!r} not found: {folder}")
    files = [p for p in folder.rglob("*") if p.is_file()]
    safe = [p for p in files if p.name.endswith(".safetensors")]
    pickled = [p for p in files if p.name.endswith(_PICKLE_SUFFIXES)]
    if not safe:
        if pickled:
            raise UnsafeModelError(
                f"model folder {folder} (role {role!r}) holds only pickled weights "
                f"({', '.join(sorted(p.name for p in pickled)[:4])}); assetgen loads safetensors only. Convert "
                f"it on a trusted machine (load it there, then `pipe.save_pretrained(DIR, safe_serialization=True)`) "
                f"or download the .safetensors files"
            )
        raise ModelMissingError(f"model folder {folder} (role {role!r}) has no .safetensors weights")
    index = folder / "model_index.json"
    if index.is_file():
        try:
            comps = json.loads(index.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {index}: {exc}") from exc
        for name, value in comps.items():
            if name.startswith("_") or not isinstance(value, list) or len(value) != 2:
                continue
            if value[0] not in _ALLOWED_LIBRARIES:
                raise UnsafeModelError(
                    f"{index}: component {name!r} comes from {value[0]!r}; only diffusers/transformers "
                    f"components are loaded (never remote or custom code)"
                )


def pick_device(pref: str = "auto") -> str:
    import torch

    if pref == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "cpu"
    if pref.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {pref!r} requested but CUDA is not available; use device: auto or cpu")
    return pref


def pick_dtype(device: str, pref: str = "auto"):
    """CUDA: float16 (or the requested float16/bfloat16/float32); CPU/MPS: float32 (half is slow or
    unsupported there, so a half request falls back to float32)."""
    import torch

    table = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if not device.startswith("cuda"):
        return torch.float32
    if pref == "auto":
        return torch.float16
    return table[pref]


def _quiet() -> None:
    """No per-component loading bars: assetgen shows one progress bar of its own."""
    import diffusers
    import transformers

    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()


def _scheduler_class(name: str):
    import diffusers

    return getattr(diffusers, name)


@dataclass
class LoadedModel:
    role: str
    obj: Any
    spec: ModelSpec
    location: str  # the folder it was loaded from, or the hub id

    def provenance(self) -> dict[str, Any]:
        return {
            "role": self.role, "source": self.spec.source, "revision": self.spec.revision,
            "class": type(self.obj).__name__, "variant": self.spec.variant,
        }


@dataclass
class DiffusionRuntime:
    """Device/dtype choices plus the shared cache of loaded pipelines and models."""

    registry: ModelRegistry
    device: str | None = None
    dtype_name: str | None = None
    cpu_offload: bool | None = None
    _cache: dict = field(default_factory=dict, repr=False)
    _lock: Any = field(default_factory=threading.RLock, repr=False, compare=False)

    def __post_init__(self):
        rt = self.registry.runtime
        self.device = pick_device(self.device or rt.device)
        self.dtype_name = self.dtype_name or rt.dtype
        self.cpu_offload = rt.cpu_offload if self.cpu_offload is None else self.cpu_offload

    @classmethod
    def from_config(cls, path: str | Path | None = None, **kw) -> "DiffusionRuntime":
        return cls(load_registry(path), **kw)

    def dtype_for(self, spec: ModelSpec):
        return pick_dtype(self.device, spec.dtype if spec.dtype != "auto" else self.dtype_name)

    def exclusive(self):
        """The runtime's lock (re-entrant), for `with runtime.exclusive():` around a stage's use of its models.
        Its pipelines share components (a composed ControlNet pipeline runs the text2image UNet) and keep
        state while they run (the scheduler's timesteps; the item painter's circular padding), so runs of
        one runtime take turns; loading takes it too, so threads asking for one model load it once."""
        return self._lock

    # -- loading ---------------------------------------------------------------------------------
    def load(self, role: str) -> LoadedModel:
        """The model of `role`, loaded once and cached (one load when threads ask at once)."""
        spec = self.registry.spec(role)
        dtype = self.dtype_for(spec)
        key = (role, spec.source, spec.revision, spec.variant, str(dtype), self.device, self.cpu_offload)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            loaded = self._load(role, spec, dtype)
            self._cache[key] = loaded
            return loaded

    def _load(self, role: str, spec: ModelSpec, dtype) -> LoadedModel:
        import diffusers

        cls = getattr(diffusers, ROLES[role][0])
        kwargs: dict[str, Any] = dict(torch_dtype=dtype, use_safetensors=True)
        if spec.variant:
            kwargs["variant"] = spec.variant
        if spec.is_local:
            folder = Path(spec.source).expanduser()
            check_local_folder(folder, role)
            location = str(folder)
        else:
            location = spec.source
            kwargs["revision"] = spec.revision
            if offline():
                kwargs["local_files_only"] = True
        if issubclass(cls, diffusers.DiffusionPipeline):
            kwargs["trust_remote_code"] = False
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # torch_dtype -> dtype rename (diffusers >= 0.36)
                _quiet()
                obj = cls.from_pretrained(location, **kwargs)
        except (OSError, EnvironmentError, ValueError) as exc:
            if spec.is_local:
                raise ModelMissingError(f"cannot load {ROLES[role][0]} for role {role!r} from {location}: {exc}") from exc
            state = "offline (HF_HUB_OFFLINE=1) and not in the local cache" if offline() else "could not be fetched"
            raise ModelMissingError(
                f"model {spec.source!r} (role {role!r}, {ROLES[role][1]}) is missing: {state}. To get it, "
                f"{how_to_get(role, spec)}. ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
            ) from exc
        if spec.scheduler and hasattr(obj, "scheduler"):
            obj.scheduler = _scheduler_class(spec.scheduler).from_config(obj.scheduler.config)
        if isinstance(obj, diffusers.DiffusionPipeline):
            obj.set_progress_bar_config(disable=True)
            self._place(obj)
        else:
            obj.to(self.device)
        return LoadedModel(role, obj, spec, location)

    def _place(self, pipe) -> None:
        if self.cpu_offload and self.device.startswith("cuda"):
            pipe.enable_model_cpu_offload(device=self.device)
        else:
            pipe.to(self.device)
        if self.registry.runtime.attention_slicing and hasattr(pipe, "enable_attention_slicing"):
            pipe.enable_attention_slicing()

    def compose(self, kind: str, base_role: str, controlnet_roles: tuple[str, ...] = ()):
        """A pipeline of class `kind` assembled from the cached components of `base_role` plus
        ControlNets: no weights are loaded twice. Cached too."""
        import diffusers

        key = ("compose", kind, base_role, controlnet_roles, self.registry.spec(base_role).source,
               tuple(self.registry.spec(r).source for r in controlnet_roles))
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            base = self.load(base_role)
            comps = dict(base.obj.components)
            cls = getattr(diffusers, kind)
            if controlnet_roles:
                nets = [self.load(r).obj for r in controlnet_roles]
                comps["controlnet"] = nets[0] if len(nets) == 1 else diffusers.MultiControlNetModel(nets)
            accepted = set(cls._get_signature_keys(cls)[0]) | set(cls._optional_components)
            pipe = cls(**{k: v for k, v in comps.items() if k in accepted})
            pipe.set_progress_bar_config(disable=True)
            if self.cpu_offload and self.device.startswith("cuda"):
                self._place(pipe)
            self._cache[key] = pipe
            return pipe

    def provenance(self, *roles: str) -> dict[str, Any]:
        models = {}
        for r in roles:
            s = self.registry.spec(r)
            models[r] = {"source": s.source, "revision": s.revision, "variant": s.variant, "class": ROLES[r][0]}
        return {"models": models, "device": self.device, "dtype": str(self.dtype_for(self.registry.spec(roles[0]))).replace("torch.", "") if roles else None,
                "cpu_offload": bool(self.cpu_offload)}

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


# the process's runtimes by registry file (resolved path, SHA-256 of its bytes); only the latest is kept,
# since each one holds its loaded models (GBs of weights on the device)
_SHARED: dict[tuple[str, bytes], DiffusionRuntime] = {}
_SHARED_MAX = 1
_SHARED_LOCK = threading.Lock()


def shared_runtime(path: str | Path | None = None) -> DiffusionRuntime:
    """The process's runtime over the registry file `path` (default: ASSETGEN_MODELS, else
    configs/models.yaml), made on first use and returned again while that file's path and content stay the
    same: every stage and every asset of a batch then share its loaded models. A changed or other registry
    file gets a new runtime, which replaces the kept one (the old one's models are freed once no caller
    holds it). A registry that cannot be read or parsed raises ConfigError and is not kept."""
    path = Path(path) if path is not None else default_registry_path()
    try:
        digest = hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return DiffusionRuntime(load_registry(path))  # load_registry names the unreadable file
    key = (str(path.resolve()), digest)
    with _SHARED_LOCK:
        runtime = _SHARED.get(key)
        if runtime is None:
            runtime = DiffusionRuntime(load_registry(path))
            while len(_SHARED) >= _SHARED_MAX:
                _SHARED.pop(next(iter(_SHARED)))
            _SHARED[key] = runtime
        return runtime


def generator(seed: int, device: str = "cpu"):
    """A seeded torch.Generator. Noise is drawn on the CPU so a seed gives the same start on any device."""
    import torch

    return torch.Generator(device="cpu").manual_seed(int(seed) & 0xFFFF_FFFF_FFFF_FFFF)


def step_callback(progress, total: int, what: str, done: int = 0):
    """A callback_on_step_end that reports progress(done + steps so far, total, what) (done: the steps of
    earlier pipeline calls of the same task)."""
    def cb(pipe, step, timestep, kwargs):
        if progress is not None:
            progress(done + step + 1, total, what)
        return kwargs

    return cb


def to_u8(x: np.ndarray) -> np.ndarray:
    """uint8 of pipeline output in [0, 1] (x * 255 rounded, in x's own float type, and clipped)."""
    return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)
