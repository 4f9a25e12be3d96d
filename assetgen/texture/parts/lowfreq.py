"""Low-frequency 3D value noise of the small noisy materials (sclera vessels, mucosa, enamel), per asset.

Evaluated on every NOISE_STEP-th texel of the material's neutral positions (continuous over seams) and
upsampled. The noises are drawn lazily and shared between materials whose generators match; see
_asset_noise for how the draws stay independent of threads and material order.
"""

from __future__ import annotations

import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from ..fields import derived
from ..noise import ValueNoise3D
from .geometry import noise_positions

# The low-frequency noise of each noise material (see noise_materials): cell size (cm), generator salt.
LOWFREQ_NOISE = {"M_Sclera": (0.6, "vessels"), "M_GumsTongue": (0.8, "mucosa"), "M_Teeth": (0.5, "enamel")}
# Per-asset noises of the small materials (see _asset_noise).
_ASSET_NOISES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_DRAW_POOL: ThreadPoolExecutor | None = None
_DRAW_POOL_LOCK = threading.Lock()


def noise_materials(layout) -> list[str]:
    """The layout's materials with low-frequency noise: the scleras, gums and tongue, teeth."""
    return [n for n in layout.materials if n.startswith("M_Sclera") or n in ("M_GumsTongue", "M_Teeth")]


def _neutral_box(ctx) -> tuple[np.ndarray, np.ndarray]:
    return derived(ctx, ("neutral_box",), lambda: (ctx.model.neutral.min(0), ctx.model.neutral.max(0)))


def lowfreq_noise(ctx, name: str) -> np.ndarray:
    """(H, W) float32 3D value noise on the material's neutral positions (continuous over seams)."""
    noise, plan = _asset_noise(ctx, name)
    n = noise.evaluate(plan)  # low-frequency: evaluated at 1/4 and upsampled
    h, w = ctx.layout[name].shape
    return cv2.resize(n, (w, h), interpolation=cv2.INTER_LINEAR)


def _asset_noise(ctx, name: str):
    """The asset's noise for a noise material, and the plan (cached lattice cells and weights) of the
    material's noise positions.

    The noise spans the whole head but a material reads a small part of it, so its lattices are drawn
    lazily (ValueNoise3D lazy=True: the same values, drawn only as far as needed). Materials whose
    generators start in the same state share one noise per asset. The first noise material of an asset
    starts drawing the other materials' lattices in a background thread (numpy's normal sampler releases
    the GIL; it is most of these materials' cost): each noise draws its stream in order under its own
    lock, so the values do not depend on which thread draws them, or when."""
    noises = _ASSET_NOISES.get(ctx)
    if noises is None:
        noises = _ASSET_NOISES.setdefault(ctx, {})
        others = [_noise_and_plan(ctx, noises, n) for n in noise_materials(ctx.layout) if n != name]
        if others:
            _draw_pool().submit(_prepare_all, others)
    return _noise_and_plan(ctx, noises, name)


def _noise_and_plan(ctx, noises: dict, name: str):
    cell_cm, salt = LOWFREQ_NOISE["M_Sclera" if name.startswith("M_Sclera") else name]
    rng = ctx.part_rng(name + salt)
    key = (repr(rng.bit_generator.state), cell_cm)
    noise = noises.get(key)
    if noise is None:
        lo, hi = _neutral_box(ctx)
        noise = noises[key] = ValueNoise3D(rng, lo, hi, cell_cm, octaves=2, lazy=True)
    plan = derived(ctx, ("noise_plan", name, cell_cm), lambda: noise.plan(noise_positions(ctx, name)))
    return noise, plan


def _prepare_all(jobs) -> None:
    for noise, plan in jobs:
        noise.prepare(plan)


def _draw_pool() -> ThreadPoolExecutor:
    global _DRAW_POOL
    with _DRAW_POOL_LOCK:
        if _DRAW_POOL is None:
            _DRAW_POOL = ThreadPoolExecutor(1, thread_name_prefix="assetgen-noise")
        return _DRAW_POOL


def _after_fork_in_child() -> None:
    """A forked child has no pool thread, and may have copied a noise in the middle of a draw (its lock
    held): start afresh (noises are rebuilt from the asset's seeds, with the same values)."""
    global _DRAW_POOL, _DRAW_POOL_LOCK
    _DRAW_POOL, _DRAW_POOL_LOCK = None, threading.Lock()
    _ASSET_NOISES.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
