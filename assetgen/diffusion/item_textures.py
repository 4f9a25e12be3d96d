"""Diffusion-made item textures (recipe `items.textures: diffusion`): the fabric and acetate materials of an
outfit painted by the model registry's text2image model; everything else stays procedural.

Per painted material (painted_parts: clothing body and trim, headwear main (not helmets), facewear mask,
acetate glasses frames; never metal (metallic > 0), lenses (BLEND), pads, loops, accents or jewellery):

1. A prompt made from the item: its variant, the material's pattern and colour names, the fabric it stands
   for, e.g. "seamless flat texture of striped cotton jersey fabric, navy blue and white, evenly lit,
   top-down, fills the frame" (item_prompt).
2. One StableDiffusionPipeline call at `resolution`, its noise from a CPU generator seeded per material
   (the outfit's seed and the material's name), so the same config and seed give the same bytes on the CPU
   and painting one more item never changes another's image.
3. Tileable: while it runs, every convolution of the UNet and the VAE pads circularly, so the image wraps
   across both edges (headwear and sleeves meet their own u = 0 / u = 1 seam); the shared cached pipeline
   is restored afterwards.
4. Resized (in linear light) to the stored size (ItemTexturesSpec.size, or the material's own if larger),
   then tinted: with tint `mean` every channel is scaled so the image's mean linear colour equals the
   procedural material's mean, so the colour labels of the item stay true.
5. The image is put on the material (ItemMaterial.with_image): the library stores it with the outfit, the
   renderer and every exporter take it through ItemMaterial.texture(), none of them imports this module.

Provenance (item_textures_provenance): model source, revision and class, scheduler, steps, guidance, sizes,
and per material its prompt, seed and image SHA-256.
"""

from __future__ import annotations

import contextlib
import zlib
from dataclasses import replace
from typing import Any

import numpy as np

from ..color import linear_to_srgb8, srgb_to_linear
from ..errors import InputError
from ..texture.base import ProgressFn

ROLE = "text2image"

# (kind, part) -> the material it stands for, by item variant (None: any variant); missing: procedural
_FABRIC: dict[tuple[str, str], dict[str | None, str]] = {
    ("clothing", "body"): {"hoodie": "cotton fleece", "collared": "woven cotton shirting",
                           "turtleneck": "fine knit wool", None: "cotton jersey"},
    ("clothing", "trim"): {None: "ribbed knit"},
    ("headwear", "main"): {"beanie": "chunky knit wool", "baseball_cap": "cotton twill", "brimmed_hat": "wool felt",
                           "headscarf": "printed cotton voile", "headband": "elastic knit", None: "fabric"},
    ("facewear", "mask"): {"surgical": "nonwoven polypropylene", "n95": "nonwoven polypropylene",
                           "kn95": "nonwoven polypropylene", "cloth": "cotton", None: "fabric"},
    ("glasses", "frame"): {None: "acetate plastic"},
}
_PATTERN_WORDS = {"solid": "plain", "stripes": "striped", "check": "gingham check", "dots": "polka dot",
                  "knit": "knitted", "weave": "finely woven", "melange": "heathered melange",
                  "tortoise": "tortoiseshell"}
# sRGB colour names for prompts (nearest by Euclidean distance in sRGB)
_COLOURS = {
    "black": (20, 20, 20), "charcoal grey": (60, 60, 64), "grey": (128, 128, 128), "light grey": (190, 190, 190),
    "white": (240, 240, 240), "navy blue": (25, 35, 80), "blue": (40, 80, 180), "light blue": (140, 180, 225),
    "teal": (0, 120, 120), "dark green": (25, 70, 35), "green": (60, 140, 60), "olive": (110, 110, 50),
    "yellow": (230, 200, 50), "mustard": (190, 150, 40), "orange": (230, 120, 40), "red": (190, 30, 30),
    "burgundy": (110, 20, 40), "pink": (235, 150, 175), "purple": (110, 50, 140), "brown": (100, 65, 40),
    "tan": (185, 150, 105), "beige": (220, 205, 175), "cream": (245, 235, 210), "rose": (200, 90, 135),
    "magenta": (190, 40, 140), "coral": (240, 125, 100), "lavender": (180, 160, 220), "khaki": (170, 160, 110),
}


def painted_parts(outfit) -> list[tuple[int, int]]:
    """(item index, material index) of the outfit's materials this stage paints, in outfit order."""
    out = []
    for i, it in enumerate(outfit.items):
        for k, (part, mat) in enumerate(zip(it.mesh.parts, it.mesh.materials)):
            if (it.kind, part) not in _FABRIC or mat.metallic > 0 or mat.alpha_mode != "OPAQUE":
                continue
            if it.kind == "headwear" and it.variant == "helmet":
                continue
            out.append((i, k))
    return out


def colour_name(linear_rgb) -> str:
    """The nearest prompt colour name (in CIELAB) of a linear RGB colour."""
    import cv2

    names = list(_COLOURS)
    srgb = linear_to_srgb8(np.clip(np.asarray(linear_rgb, np.float64), 0.0, 1.0))
    table = np.asarray([srgb] + [_COLOURS[n] for n in names], np.uint8)[None]
    lab = cv2.cvtColor(table.astype(np.float32) / np.float32(255.0), cv2.COLOR_RGB2Lab)[0].astype(np.float64)
    return names[int(np.argmin(np.sum((lab[1:] - lab[0]) ** 2, axis=1)))]


def item_prompt(kind: str, variant: str, part: str, material) -> str:
    """The prompt of one item material (module docstring, step 1)."""
    table = _FABRIC[(kind, part)]
    stuff = table.get(variant, table[None])
    pattern = _PATTERN_WORDS.get(material.pattern, material.pattern)
    if material.pattern == "knit" and "knit" in stuff:
        pattern = "fine"
    colour = colour_name(material.color)
    if material.pattern != "solid":
        other = colour_name(material.pattern_color)
        if other != colour:
            colour = f"{colour} and {other}"
    return (f"seamless flat texture of {pattern} {stuff}, {colour}, evenly lit, top-down, fills the frame, "
            f"high detail")


def material_seed(seed: int, name: str) -> int:
    """The diffusion seed of material `name` of an outfit whose seed is `seed`."""
    ss = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(seed) >> 32 & 0xFFFFFFFF, zlib.crc32(name.encode())])
    return int(ss.generate_state(1, np.uint32)[0])


@contextlib.contextmanager
def circular_padding(*modules):
    """Within the block every Conv2d of `modules` pads circularly (tileable output); restored after."""
    import torch

    convs = [m for mod in modules if mod is not None for m in mod.modules() if isinstance(m, torch.nn.Conv2d)]
    before = [c.padding_mode for c in convs]
    try:
        for c in convs:
            c.padding_mode = "circular"
        yield
    finally:
        for c, mode in zip(convs, before):
            c.padding_mode = mode


def finish_image(image: np.ndarray, material, size: int, tint: str = "mean") -> np.ndarray:
    """(size, size, 3) uint8 sRGB: `image` ((H, W, 3) uint8 sRGB) resized in linear light, then (tint `mean`)
    scaled per channel so its mean linear colour is the procedural `material`'s."""
    import cv2

    lin = srgb_to_linear(np.asarray(image, np.float32) / np.float32(255.0), np.float32)
    if lin.shape[:2] != (size, size):
        shrink = size < min(lin.shape[:2])
        lin = cv2.resize(lin, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    lin = lin.astype(np.float64)
    if tint == "mean":
        target = replace(material, image=None).linear().reshape(-1, 3).mean(0)
        mean = lin.reshape(-1, 3).mean(0)
        dark = mean < 1e-4  # a black channel cannot be scaled: it takes the target flat
        lin = np.where(dark, target, lin)
        gain = np.where(dark, 1.0, target / np.maximum(mean, 1e-4))
        for _ in range(8):  # the gain again where clipping at 1 lowered the mean
            gain *= target / np.maximum(np.clip(lin * gain, 0.0, 1.0).reshape(-1, 3).mean(0), 1e-6)
        lin = np.clip(lin * gain, 0.0, 1.0)
        lin = lin + (target - lin.reshape(-1, 3).mean(0))  # what the gain could not reach: a uniform shift
    return linear_to_srgb8(np.clip(lin, 0.0, 1.0))


def default_runtime():
    """The runtime `text_to_uv.configured(...)` set for this block, else the process's shared one over the
    default registry (loading.shared_runtime: ASSETGEN_MODELS or configs/models.yaml), which the diffusion
    skin backend uses too, so a batch loads its models once."""
    from .loading import shared_runtime
    from .text_to_uv import _ACTIVE

    active = (_ACTIVE.get() or (None, None))[1]
    return active if active is not None else shared_runtime()


class ItemTexturePainter:
    """Paints an outfit's fabric and acetate materials (module docstring). spec: the recipe's
    ItemTexturesSpec; runtime: a DiffusionRuntime (default: default_runtime(), made on first use)."""

    def __init__(self, spec, runtime=None):
        self.spec = spec
        self._runtime = runtime

    @property
    def runtime(self):
        if self._runtime is None:
            self._runtime = default_runtime()
        return self._runtime

    def __call__(self, outfit, seed: int, progress: ProgressFn | None = None) -> tuple[Any, dict[str, Any]]:
        """(the outfit with its painted materials' images set, provenance). seed: the outfit's diffusion
        seed (each material's is derived from it and its name)."""
        from .loading import generator, step_callback, to_u8

        spec = self.spec
        targets = painted_parts(outfit)
        self.runtime.registry.spec(ROLE)  # ModelMissingError naming the role before any work
        res = int(spec.resolution) // 8 * 8
        if res < 8:
            raise InputError(f"items.diffusion.resolution {spec.resolution} is below 8 pixels")
        pipe = self.runtime.load(ROLE).obj if targets else None
        total = len(targets) * int(spec.steps)
        items = list(outfit.items)
        mats: dict[int, list] = {}
        records: dict[str, dict[str, Any]] = {}
        for n, (i, k) in enumerate(targets):
            it = outfit.items[i]
            mat = it.mesh.materials[k]
            prompt = item_prompt(it.kind, it.variant, it.mesh.parts[k], mat)
            s = material_seed(seed, mat.name)
            with self.runtime.exclusive(), (circular_padding(pipe.unet, pipe.vae) if spec.tileable
                                            else contextlib.nullcontext()):
                out = pipe(prompt=prompt, negative_prompt=spec.negative_prompt, height=res, width=res,
                           num_inference_steps=int(spec.steps), guidance_scale=float(spec.guidance),
                           generator=generator(s), output_type="np",
                           callback_on_step_end=step_callback(progress, total, f"item texture {mat.name}",
                                                              n * int(spec.steps))).images[0]
            raw = to_u8(np.asarray(out, np.float64))
            size = max(int(spec.size), int(mat.size))
            painted = mat.with_image(finish_image(raw, mat, size, spec.tint))
            mats.setdefault(i, list(it.mesh.materials))[k] = painted
            records[mat.name] = {"item": it.kind, "variant": it.variant, "part": it.mesh.parts[k], "prompt": prompt,
                                 "seed": s, "size": size, "sha256": painted.image_sha256()}
        for i, m in mats.items():
            items[i] = replace(items[i], mesh=replace(items[i].mesh, materials=tuple(m)))
        painted_outfit = replace(outfit, items=tuple(items)) if mats else outfit
        prov: dict[str, Any] = {
            "method": "diffusion", "seed": int(seed), "steps": int(spec.steps), "guidance": float(spec.guidance),
            "resolution": res, "tileable": bool(spec.tileable), "tint": spec.tint,
            "negative_prompt": spec.negative_prompt, "materials": records,
        }
        if pipe is not None:
            prov.update(self.runtime.provenance(ROLE))
            prov["scheduler"] = type(pipe.scheduler).__name__
        return painted_outfit, prov


def paint_item_textures(outfit, spec, rng: np.random.Generator, runtime=None,
                        progress: ProgressFn | None = None) -> tuple[Any, dict[str, Any]]:
    """ItemTexturePainter(spec, runtime)(outfit, seed): the seed is spec.seed, else one number drawn from
    `rng` (the asset's items stream)."""
    seed = int(spec.seed) if spec.seed is not None else int(rng.integers(0, 2**31 - 1))
    return ItemTexturePainter(spec, runtime)(outfit, seed, progress)
