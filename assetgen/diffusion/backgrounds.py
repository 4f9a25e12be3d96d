"""Background plates for data sets, made by the registry's text2image model: the early diffusion stage paints
pictures of places a face photo is taken in, and a data-set job shows them behind the head with
`background: {type: folder, folder: DIR}`. The data-set stage only reads pictures, never the models.

make_backgrounds(runtime, out, n=...) writes plate_0000.png ... and backgrounds.json (the model, its
revision and scheduler, and per plate its prompt, seed and SHA-256) into `out` at once: the folder appears
complete or not at all, and a rerun with the same arguments gives the same bytes on a CPU.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, OutputError

ROLE = "text2image"
MANIFEST = "backgrounds.json"
PLATE = "plate_{:04d}.png"
# scenes people are photographed in, as a shallow-focus photo would show them behind a head (no people, so
# no second face competes with the subject's ground truth)
PROMPTS = (
    "an empty office interior with desks and windows, soft daylight, shallow depth of field, photo",
    "a living room with a sofa and bookshelves, warm lamp light, blurred background, photo",
    "a city street at dusk with shop windows and bokeh lights, photo",
    "a green park with trees and a path on a sunny day, blurred, photo",
    "a kitchen with wooden cabinets, morning light, out of focus, photo",
    "a cafe interior with tables and plants, warm light, bokeh, photo",
    "a beach with sea and sky at sunset, soft focus, photo",
    "a brick wall with graffiti in an alley, overcast light, photo",
    "a library with rows of books, soft light, shallow depth of field, photo",
    "a snowy mountain landscape under a clear sky, photo",
    "a train station hall with large windows, blurred, photo",
    "a bedroom with curtains and a bed, dim evening light, out of focus, photo",
)
NEGATIVE = "people, person, face, portrait, text, watermark, logo, frame"


@dataclass(frozen=True)
class BackgroundPlates:
    folder: Path
    files: tuple[str, ...]
    provenance: dict


def plate_seed(seed: int, index: int) -> int:
    """The noise seed of plate `index`: from (seed, index) alone, so a longer run keeps the earlier plates."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint64)[0] >> 1)


def _check_request(n: int, size: int, prompts: Sequence[str], steps: int, guidance: float) -> tuple[str, ...]:
    """The prompts as a tuple, after every argument is checked (InputError naming the bad one)."""
    if not 1 <= int(n) <= 10_000:
        raise InputError(f"the number of background plates must be 1..10000, got {n}")
    if int(size) % 8 or not 16 <= int(size) <= 2048:
        raise InputError(f"the plate size must be a multiple of 8 in 16..2048 pixels, got {size}")
    if not 1 <= int(steps) <= 500:
        raise InputError(f"steps must be 1..500, got {steps}")
    if not (np.isfinite(guidance) and 0.0 <= float(guidance) <= 50.0):
        raise InputError(f"guidance must be a number in 0..50, got {guidance}")
    prompts = tuple(prompts)
    if not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
        raise InputError("give at least one non-empty prompt for the background plates")
    return prompts


def _check_out(out: Path) -> None:
    """A new or empty folder, or one this stage made (its manifest and plates only): it is replaced whole."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file; give a folder for the background plates")
    above = next((p for p in out.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise OutputError(f"cannot write the background plates to {out}: {above} is a file")
    if out.is_dir():
        names = {p.name for p in out.iterdir()}
        ours = {MANIFEST} | {n for n in names if n.startswith("plate_") and n.endswith(".png")}
        if names and (MANIFEST not in names or names - ours):
            raise OutputError(f"{out} holds other files; give a new or empty folder (or one `assetgen backgrounds` "
                              "made, which is replaced)")


def make_backgrounds(runtime, out: str | Path, *, n: int = 16, prompts: Sequence[str] = PROMPTS, size: int = 512,
                     seed: int = 0, steps: int = 25, guidance: float = 6.0, progress=None) -> BackgroundPlates:
    """Paint n plates of size² pixels (plate i: prompts[i % len(prompts)], noise seed plate_seed(seed, i))
    into the folder `out`, replacing a folder this stage made before. progress(done, total, what) is told
    after every denoising step. Raises ModelMissingError (no text2image model) before anything is written."""
    from ..io import atomic_write_bytes, atomic_write_json, staged_dir
    from ..png import encode_png
    from .loading import generator, step_callback, to_u8

    # 1. check everything before any work or any file
    prompts = _check_request(n, size, prompts, steps, guidance)
    out = Path(out)
    _check_out(out)
    runtime.registry.spec(ROLE)  # ModelMissingError naming the role and the registry
    loaded = runtime.load(ROLE)
    pipe = loaded.obj
    # 2. paint each plate from its own prompt and seed
    images, plates = [], []
    total = int(n) * int(steps)
    with runtime.exclusive():
        for i in range(int(n)):
            prompt, s = prompts[i % len(prompts)], plate_seed(seed, i)
            img = pipe(prompt=prompt, negative_prompt=NEGATIVE, height=int(size), width=int(size),
                       num_inference_steps=int(steps), guidance_scale=float(guidance), generator=generator(s),
                       output_type="np",
                       callback_on_step_end=step_callback(progress, total, f"background {i + 1}/{n}",
                                                          i * int(steps))).images[0]
            png = encode_png(to_u8(np.asarray(img, np.float64)))
            images.append(png)
            plates.append({"file": PLATE.format(i), "prompt": prompt, "seed": s,
                           "sha256": hashlib.sha256(png).hexdigest()})
        scheduler = type(pipe.scheduler).__name__
    # 3. the folder, whole: the plates, then the manifest that records how they were made
    provenance = {"stage": "backgrounds", "role": ROLE, "seed": int(seed), "steps": int(steps),
                  "guidance": float(guidance), "size": int(size), "negative_prompt": NEGATIVE,
                  "scheduler": scheduler, **runtime.provenance(ROLE), "plates": plates}
    try:
        with staged_dir(out) as tmp:
            for plate, png in zip(plates, images):
                atomic_write_bytes(tmp / plate["file"], png)
            atomic_write_json(tmp / MANIFEST, provenance)
    except OSError as exc:
        raise OutputError(f"cannot write the background plates to {out}: {exc.strerror or exc}") from exc
    return BackgroundPlates(out, tuple(p["file"] for p in plates), provenance)
