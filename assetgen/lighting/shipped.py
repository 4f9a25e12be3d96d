"""The HDRIs that ship with assetgen: assetgen/data/hdri/NAME.exr, 512 x 256 half-float RGB, DWAB-compressed.

CC0 environments from Poly Haven, as packaged (resized, EXR-encoded) by the npm package @pmndrs/assets
1.7.0; assetgen/data/hdri/README.md has the licence and docs/make_hdri_data.py regenerates the files, byte
for byte (SHA-256 below).

The packaging's lossy DWAB compression dropped colour channels at the brightest texels of some maps: the
suns of park and sunrise keep only their blue channel (red and green are 0 around them: a blue sun that
would tint every face), and a few texels at the lamps of other maps hold one channel alone. `read_shipped`
repairs them: a texel brighter than 1 whose other two channels are both under 1 % of its brightest one is
set to grey at that brightest value (the channel that survived; the lights are near white). 0-27 texels
a map; every other texel is the file's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import InputError
from .hdri import read_hdri

HDRI_DIR = Path(__file__).resolve().parents[1] / "data" / "hdri"

SHIPPED: dict[str, str] = {
    "apartment": "31c62c03b5686b3d899071070ec1bfc760a3ddc1e6a05915ebc28102fef2fb1c",
    "bridge": "921f8b95cd1ae8bda602d4d395d8ce5574975ae0df626504eb4387cc963212ea",
    "city": "82847b3f3e2073d16647be2eb5712dc0f7e37ddc9480a1d45f2270fe8cd048f6",
    "dawn": "02529d0a04dbc6e761adb9b4f6bcb07b0ef3931b218b394ee6be68b1fe39ce79",
    "esplanade": "2a3c5a870167dc1a1ad44115cd0c554cfde97fa6ca859f4f90f39771db90b54c",
    "forest": "6fff311b5f3dad0910d8f334a6d9d88218ffd873d72c679ee1b7e4bccfa140e3",
    "hall": "205a84e0108d40fb207e077db9bc68a15f329a8af8ee1f82c28524e967963b81",
    "lab": "4f993660d9c53e97cb23f2d901e06aed9bc0323f6cd9079ec0de02e73634796e",
    "lobby": "55b54fc7b4efc5e9fef27529208d4abe9614839307f40490b135ce75aa08b72c",
    "night": "9509f1b917dbb4c98d63b92e9fd12fb79e3376d17ec3186e2de39543e32ce5ff",
    "park": "00e78fd8fe0ac81f73eb3682b1a4e2e1b909148f1b06d1e52e771d4fec3d02a1",
    "sky": "a72412700b91a49080a582420476d2ab9a1e8fd181031f4ae7ec5e2596addc2a",
    "studio": "08038ed9159c24bb732d2218dafa09cef2abaa44f9ce11ec511d87c842d88fad",
    "sunrise": "d48b92f8fd8d1e8eb111d90284a007f811a4d57abe4fa6faf10165287a3fe9c2",
    "sunset": "d09a4d7581f5454f13c3da3c323a231d00a34e60200de7654a895d2d41a7ceb7",
    "venice": "8200c809a7032efaa7d9fa3a5c64939d7f07d26478bc2418af624150af90dac9",
    "warehouse": "bb11fe7e9c3037b8db21beab826a7ed7c452a48cb6d361f982ca7311aacba9c1",
    "workshop": "793ca687c647e032c79ea3a67bd016ad3158d17506540cfa8fdd901550cc0a5d",
}


def names() -> tuple[str, ...]:
    return tuple(SHIPPED)


def shipped_path(name: str) -> Path:
    """The file of shipped HDRI `name`, checked to be present and intact (its SHA-256)."""
    if name not in SHIPPED:
        raise InputError(f"unknown shipped HDRI {name!r} (known: {', '.join(SHIPPED)})")
    path = HDRI_DIR / f"{name}.exr"
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise InputError(f"shipped HDRI {path} is missing ({exc.strerror or exc}); reinstall assetgen") from exc
    if digest != SHIPPED[name]:
        raise InputError(f"shipped HDRI {path} is damaged (SHA-256 {digest[:12]}..., expected "
                         f"{SHIPPED[name][:12]}...); reinstall assetgen or run docs/make_hdri_data.py")
    return path


def repair_dropouts(env: np.ndarray) -> tuple[np.ndarray, int]:
    """(the map with its one-channel texels made grey, how many there were): see the module docstring."""
    top = env.max(axis=-1)
    middle = np.sort(env, axis=-1)[..., 1]
    bad = (top > 1.0) & (middle < 0.01 * top)
    out = env.copy()
    out[bad] = top[bad][:, None]
    return out, int(bad.sum())


def read_shipped(name: str) -> np.ndarray:
    """Shipped HDRI `name` as (256, 512, 3) float32, repaired (see the module docstring)."""
    return repair_dropouts(read_hdri(shipped_path(name)))[0]
