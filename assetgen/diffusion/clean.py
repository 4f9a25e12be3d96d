"""Clean: inpaint an image or UV texture inside a mask.

`inpaint_classical` (OpenCV Telea / Navier-Stokes; CPU, instant, right for tiny holes) needs no torch.
`inpaint_diffusion` runs the registry's inpainting model on a crop around the mask and composites the
result back *only inside the mask*: every texel outside it is returned bit-identical.
`clean` picks: classical for small holes or when no inpainting model is configured, else diffusion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError


@dataclass(eq=False)
class CleanResult:
    image: np.ndarray  # same shape and dtype as the input
    mask: np.ndarray  # (H, W) bool, the texels that were repainted
    method: str
    provenance: dict[str, Any] = field(default_factory=dict)


def _check(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    img = np.asarray(image)
    m = np.asarray(mask).astype(bool)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (3, 4):
        raise InputError(f"clean needs an (H, W, 3|4) uint8 image, got {img.dtype} {img.shape}")
    if m.shape != img.shape[:2]:
        raise InputError(f"mask shape {m.shape} does not match the image {img.shape[:2]}")
    return img, m


def composite(original: np.ndarray, painted: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """painted inside mask, original (bit for bit) outside."""
    import cv2

    out = original.copy()
    src = np.asarray(painted, out.dtype)
    if src.shape != out.shape:
        raise InputError(f"painted image {src.shape} does not match the original {out.shape}")
    cv2.copyTo(np.ascontiguousarray(src), np.ascontiguousarray(mask, bool).view(np.uint8), out)
    return out


def inpaint_classical(image: np.ndarray, mask: np.ndarray, radius: int = 3, method: str = "telea",
                      valid: np.ndarray | None = None) -> CleanResult:
    """OpenCV inpainting inside mask. valid: (H, W) bool texels that are real content (a UV layout's
    coverage); texels neither valid nor masked are never used as sources."""
    import cv2

    img, m = _check(image, mask)
    flag = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}.get(method)
    if flag is None:
        raise InputError(f"unknown classical inpainting method {method!r}; use telea or ns")
    hole = m.copy()
    rgb = np.ascontiguousarray(img[..., :3])
    if valid is not None:
        from ..uv.padding import fill_background

        v = np.asarray(valid, bool) & ~m
        rgb = fill_background(rgb, v)  # background never bleeds in as black
    painted = cv2.inpaint(rgb, hole.astype(np.uint8) * 255, float(radius), flag)
    if img.shape[2] == 4:
        painted = np.concatenate([painted, img[..., 3:]], axis=-1)
    out = composite(img, painted, m)
    return CleanResult(out, m, "classical", {"method": f"opencv-{method}", "radius": radius,
                                              "opencv": cv2.__version__})


def _crop_box(mask: np.ndarray, margin: float, min_size: int) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    side = max(int(max(y1 - y0, x1 - x0) * (1 + 2 * margin)), min_size)
    side = min(side, max(h, w))
    cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
    top = int(np.clip(cy - side // 2, 0, max(h - side, 0)))
    left = int(np.clip(cx - side // 2, 0, max(w - side, 0)))
    return top, left, min(side, h), min(side, w)


def inpaint_diffusion(runtime, image: np.ndarray, mask: np.ndarray, prompt: str = "", *, seed: int = 0,
                      steps: int = 20, guidance: float = 5.0, strength: float = 1.0, size: int = 512,
                      negative_prompt: str | None = None, margin: float = 0.25, progress=None) -> CleanResult:
    """Diffusion inpainting (registry role 'inpainting') on a square crop around the mask, resized to
    `size`, composited back inside the mask only."""
    import cv2

    from .loading import generator, step_callback

    img, m = _check(image, mask)
    if not m.any():
        return CleanResult(img.copy(), m, "diffusion", {"skipped": "empty mask"})
    size = int(size) // 8 * 8
    if size < 16:
        raise InputError("size must be >= 16")
    pipe = runtime.load("inpainting").obj
    top, left, ch, cw = _crop_box(m, margin, min(64, *m.shape))
    crop = img[top:top + ch, left:left + cw, :3]
    cm = m[top:top + ch, left:left + cw]
    src = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    mk = cv2.resize(cm.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST).astype(np.float32)
    mk = cv2.dilate(mk, np.ones((3, 3), np.uint8))
    with runtime.exclusive():
        out = pipe(prompt=prompt, negative_prompt=negative_prompt, image=src[None], mask_image=mk[None, ..., None],
                   height=size, width=size, num_inference_steps=steps, guidance_scale=guidance, strength=strength,
                   generator=generator(seed), output_type="np",
                   callback_on_step_end=step_callback(progress, steps, "inpaint")).images[0]
    painted_crop = cv2.resize(np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8), (cw, ch),
                              interpolation=cv2.INTER_LINEAR)
    painted = img.copy()
    painted[top:top + ch, left:left + cw, :3] = painted_crop
    result = composite(img, painted, m)
    prov = {"stage": "clean", "method": "diffusion-inpaint", "prompt": prompt, "negative_prompt": negative_prompt,
            "seed": seed, "steps": steps, "guidance": guidance, "strength": strength, "size": size,
            "crop": [top, left, ch, cw], "scheduler": type(pipe.scheduler).__name__,
            **runtime.provenance("inpainting")}
    return CleanResult(result, m, "diffusion", prov)


def clean(image: np.ndarray, mask: np.ndarray, runtime=None, *, method: str = "auto", tiny_hole: int = 64,
          valid: np.ndarray | None = None, **diffusion_kw) -> CleanResult:
    """method: auto | classical | diffusion. auto = classical when the mask has <= tiny_hole texels or no
    runtime/inpainting model is available, else diffusion."""
    img, m = _check(image, mask)
    if method == "auto":
        usable = runtime is not None and runtime.registry.has("inpainting")
        method = "diffusion" if usable and int(m.sum()) > tiny_hole else "classical"
    if method == "classical":
        return inpaint_classical(img, m, valid=valid)
    if method == "diffusion":
        if runtime is None:
            raise InputError("diffusion inpainting needs a DiffusionRuntime (a model registry)")
        return inpaint_diffusion(runtime, img, m, **diffusion_kw)
    raise InputError(f"unknown clean method {method!r}; use auto, classical or diffusion")
