"""Reference imagery: prompt -> images aligned to the face's geometry from N cameras, conditioned on
depth and/or normal layers through ControlNet (StableDiffusionControlNetPipeline built from the cached
text2image components plus the ControlNet roles: nothing is loaded twice).

Conditioning comes in as plain arrays (one `ConditionView` per camera) so this stage does not depend on
how they were rendered; `depth_control` / `normal_control` turn them into ControlNet images with the
encodings of assetgen.render.conditioning (shared with text -> UV).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import InputError


@dataclass(eq=False)
class ConditionView:
    """One camera's conditioning. depth: (H, W) float, camera distance (0 or inf = background);
    normal: (H, W, 3) float unit normals in camera space (x right, y up, z towards the camera);
    mask: (H, W) bool foreground (default: finite positive depth). camera: any JSON-able description,
    carried into provenance."""

    depth: np.ndarray | None = None
    normal: np.ndarray | None = None
    mask: np.ndarray | None = None
    camera: dict[str, Any] = field(default_factory=dict)

    def foreground(self) -> np.ndarray:
        if self.mask is not None:
            return np.asarray(self.mask, bool)
        if self.depth is not None:
            d = np.asarray(self.depth)
            return np.isfinite(d) & (d > 0)
        return np.linalg.norm(np.asarray(self.normal), axis=-1) > 0

    @property
    def shape(self) -> tuple[int, int]:
        a = self.depth if self.depth is not None else self.normal
        return tuple(np.asarray(a).shape[:2])


def depth_control(depth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """ControlNet depth image of a view: (H, W, 3) float32 in [0, 1], assetgen.render.conditioning's
    MiDaS-style normalized inverse depth (near = bright, background 0)."""
    from ..render.conditioning import depth_condition

    d = np.where(np.asarray(mask, bool), np.asarray(depth, np.float32), np.float32(np.inf))
    return np.multiply(depth_condition(d), np.float32(1 / 255), dtype=np.float32)


def normal_control(normal: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """ControlNet (normalbae) normal image of a view: (H, W, 3) float32 in [0, 1] from normals in the
    ConditionView frame (x right, y up, z towards the camera), encoded by
    assetgen.render.conditioning.normal_condition (the same images text -> UV conditions on)."""
    from ..render.conditioning import normal_condition

    n = np.asarray(normal, np.float32)
    opencv = np.stack([n[..., 0], -n[..., 1], -n[..., 2]], -1)  # x right, y down, z away
    return np.multiply(normal_condition(opencv, mask), np.float32(1 / 255), dtype=np.float32)


@dataclass(eq=False)
class ReferenceImages:
    images: list[np.ndarray]  # (H, W, 3) uint8 per view
    masks: list[np.ndarray]  # (H, W) bool foreground per view
    provenance: dict[str, Any]


def view_seeds(seed: int, n: int) -> list[int]:
    ss = np.random.SeedSequence(int(seed)).spawn(n)
    return [int(s.generate_state(1, np.uint32)[0]) for s in ss]


def reference_images(runtime, prompt: str, views: Sequence[ConditionView], *, seed: int = 0,
                     conditions: Sequence[str] = ("depth",), steps: int = 20, guidance: float = 7.5,
                     control_scale: float | Sequence[float] = 1.0, negative_prompt: str | None = None,
                     batch_size: int = 8, progress=None) -> ReferenceImages:
    """One image per view, (H, W) = the views' size (a multiple of 8). Each view draws its noise from
    its own seed (derived from `seed` and its index), so adding views never changes earlier ones."""
    import torch

    from .loading import generator, step_callback, to_u8

    if not views:
        raise InputError("reference_images needs at least one view")
    conditions = tuple(conditions)
    roles = {"depth": "controlnet_depth", "normal": "controlnet_normal"}
    if not conditions or any(c not in roles for c in conditions):
        raise InputError(f"conditions must be a non-empty subset of {tuple(roles)}, got {conditions}")
    h, w = views[0].shape
    if h % 8 or w % 8 or any(v.shape != (h, w) for v in views):
        raise InputError("all views must share one size, a multiple of 8")
    pipe = runtime.compose("StableDiffusionControlNetPipeline", "text2image", tuple(roles[c] for c in conditions))
    cond_imgs = {c: [] for c in conditions}
    masks = []
    for v in views:
        fg = v.foreground()
        masks.append(fg)
        for c in conditions:
            src = v.depth if c == "depth" else v.normal
            if src is None:
                raise InputError(f"a view lacks the {c} layer needed for its ControlNet")
            cond_imgs[c].append(depth_control(src, fg) if c == "depth" else normal_control(src, fg))
    seeds = view_seeds(seed, len(views))
    images: list[np.ndarray] = []
    total = steps * ((len(views) + batch_size - 1) // batch_size)
    done = [0]

    def prog(i, n, what):
        if progress is not None:
            progress(done[0] + i, total, "reference views")

    for start in range(0, len(views), batch_size):
        sl = slice(start, start + batch_size)
        gens = [generator(s) for s in seeds[sl]]
        ctrl = [torch.from_numpy(np.stack(cond_imgs[c][sl])).permute(0, 3, 1, 2) for c in conditions]
        n = len(gens)
        scale = control_scale if len(ctrl) > 1 or isinstance(control_scale, float) else float(control_scale[0])
        with runtime.exclusive():
            out = pipe(prompt=[prompt] * n, negative_prompt=[negative_prompt or ""] * n,
                       image=ctrl[0] if len(ctrl) == 1 else ctrl, height=h, width=w, num_inference_steps=steps,
                       guidance_scale=guidance, controlnet_conditioning_scale=scale, generator=gens, output_type="np",
                       callback_on_step_end=step_callback(prog, steps, "views")).images
        images.extend(to_u8(o) for o in out)
        done[0] += steps
    prov = {"stage": "reference_images", "prompt": prompt, "negative_prompt": negative_prompt, "seed": seed,
            "view_seeds": seeds, "steps": steps, "guidance": guidance, "conditions": list(conditions),
            "control_scale": control_scale if isinstance(control_scale, float) else list(control_scale),
            "scheduler": type(pipe.scheduler).__name__, "size": [h, w],
            "cameras": [v.camera for v in views],
            **runtime.provenance("text2image", *(roles[c] for c in conditions))}
    return ReferenceImages(images, masks, prov)
