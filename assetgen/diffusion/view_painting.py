"""One view of the text -> UV stage painted by a diffusers ControlNet pipeline: generated from scratch
(StableDiffusionControlNetPipeline) or inpainted around what earlier views painted
(StableDiffusionControlNetInpaintPipeline). Both take the recipe's prompt, steps, guidance and ControlNet
scale, a CPU generator seeded per view (the same bytes on any device), and report every denoising step."""

from __future__ import annotations

from typing import Callable

import numpy as np

from .loading import generator, to_u8

# step_report(step): called after each denoising step
StepReport = Callable[[int], None]


def generate_view(pipe, config, ctrl: list[np.ndarray], seed: int, step_report: StepReport) -> np.ndarray:
    """(H, W, 3) uint8 view from the prompt and the conditioning images `ctrl` ((H, W, 3) float32 in [0, 1])."""
    s = config.size
    out = pipe(prompt=config.prompt, negative_prompt=config.negative_prompt, image=_control_tensors(ctrl),
               height=s, width=s, num_inference_steps=config.steps, guidance_scale=config.guidance,
               controlnet_conditioning_scale=_scale(config, ctrl), generator=generator(seed),
               output_type="np", callback_on_step_end=_step_callback(step_report)).images[0]
    return to_u8(out)


def inpaint_view(pipe, config, known: np.ndarray, need: np.ndarray, ctrl: list[np.ndarray], seed: int,
                 step_report: StepReport) -> np.ndarray:
    """(H, W, 3) uint8 view repainted inside the bool mask `need`, from the known (H, W, 3) uint8 image."""
    s = config.size
    out = pipe(prompt=config.prompt, negative_prompt=config.negative_prompt,
               image=(known.astype(np.float32) / 255.0)[None], mask_image=need.astype(np.float32)[None, ..., None],
               control_image=_control_tensors(ctrl), height=s, width=s, strength=config.inpaint_strength,
               num_inference_steps=config.steps, guidance_scale=config.guidance,
               controlnet_conditioning_scale=_scale(config, ctrl), generator=generator(seed),
               output_type="np", callback_on_step_end=_step_callback(step_report)).images[0]
    return to_u8(out)


def _step_callback(step_report: StepReport):
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


