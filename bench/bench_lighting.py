"""Benchmark and contact sheet of the lighting stage (assetgen.lighting).

Run:  .venv/bin/python bench/bench_lighting.py [--repeats 5] [--sheet OUT.png]

Figures (medians of --repeats, with the 1-minute load average: other jobs on the machine slow everything):
- reading one shipped HDRI (512 x 256 DWAB EXR) with its checksum;
- the full prefiltered chain of a 256-high map, SH + dominant lights of it;
- per image of a data set: a spec and its map from the sampler, then its ShadingInputs (warm: the
  source's sharpest prefiltered level is cached), for the default distribution (all shipped maps).
--sheet writes a contact sheet: the 18 shipped maps tone-mapped (normalised to the same front irradiance),
then spheres lit by several environments with the reference shading (lighting.shade: SH diffuse + dominant
lights + prefiltered GGX specular), a skin-coloured rough one and a glossy grey one, in front of the map.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def timed(fn, repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def aces(x: np.ndarray) -> np.ndarray:
    """Narkowicz's fit of the ACES filmic curve (linear -> display-linear in [0, 1])."""
    return np.clip(x * (2.51 * x + 0.03) / (x * (2.43 * x + 0.59) + 0.14), 0.0, 1.0)


def display(rgb: np.ndarray) -> np.ndarray:
    from assetgen.color import linear_to_srgb8

    return linear_to_srgb8(aces(np.asarray(rgb, np.float32) * 1.6))


def sphere(inputs, env, size: int, albedo, roughness: float, specular: float = 1.0) -> np.ndarray:
    """A unit sphere seen from +z (orthographic shading, perspective background of the map)."""
    from assetgen.lighting.envmap import sample
    from assetgen.lighting.shade import shade

    c = (np.arange(size) + 0.5) / size * 2 - 1
    x, y = np.meshgrid(c * 1.15, -c * 1.15)
    r2 = x * x + y * y
    inside = r2 < 1
    bg = np.stack([x * 0.6, y * 0.6, -np.ones_like(x)], -1)
    out = sample(env, bg / np.linalg.norm(bg, axis=-1, keepdims=True))
    n = np.stack([x, y, np.sqrt(np.maximum(1 - r2, 0))], -1)[inside]
    v = np.broadcast_to([0.0, 0.0, 1.0], n.shape)
    out[inside] = shade(inputs, n, v, np.broadcast_to(albedo, n.shape), roughness, specular)
    return display(out)


def label(img, text: str):
    from PIL import Image, ImageDraw

    im = Image.fromarray(img)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, 7 * len(text) + 6, 14], fill=(0, 0, 0))
    d.text((3, 1), text, fill=(255, 255, 255))
    return np.asarray(im)


def contact_sheet(out: Path) -> None:
    from PIL import Image

    from assetgen.color import srgb8_to_linear
    from assetgen.lighting import envmap, sample, shipped, studio
    from assetgen.lighting.shade import shading_inputs

    target = studio.todays_front_irradiance()
    tiles = []
    for name in shipped.names():
        env, _ = envmap.normalize(shipped.read_shipped(name), target)
        tiles.append(label(display(envmap.resize(env, 128)), name))
    cols = 3
    rows = [np.concatenate(tiles[i:i + cols], axis=1) for i in range(0, len(tiles), cols)]
    maps = np.concatenate(rows, axis=0)  # 6 x 128 rows, 3 x 256 columns

    skin = srgb8_to_linear(np.array([205, 150, 125], np.uint8))
    grey = np.array([0.18, 0.18, 0.18])
    setups = [("studio (HDRI)", {"shipped": ["studio"]}, 0.0), ("city", {"shipped": ["city"]}, 0.0),
              ("sunset", {"shipped": ["sunset"]}, 90.0), ("forest", {"shipped": ["forest"]}, 0.0),
              ("studio three_point", {"studio": ["three_point"]}, 0.0), ("studio default", {"studio": ["default"]}, 0.0)]
    size = 128
    columns = []
    for title, source, yaw in setups:
        s = sample.LightingSampler(sample.lighting_from_dict({"sources": [source], "rotation": yaw}))
        lit = s.sample(0, 0)
        inputs = shading_inputs(lit.env)
        a = sphere(inputs, lit.env, size, skin, 0.45)
        b = sphere(inputs, lit.env, size, grey, 0.12)
        columns.append(label(np.concatenate([a, b], axis=0), title))
    spheres = np.concatenate(columns, axis=1)  # 2 x 128 rows, 6 x 128 columns
    w = max(maps.shape[1], spheres.shape[1])
    pad = lambda im: np.pad(im, ((0, 0), (0, w - im.shape[1]), (0, 0)))
    sheet = np.concatenate([pad(maps), np.zeros((8, w, 3), np.uint8), pad(spheres)], axis=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(out)
    print(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sheet", type=Path, help="write the contact sheet here")
    args = ap.parse_args()

    from assetgen.lighting import prefilter, sample, shipped
    from assetgen.lighting.hdri import read_hdri
    from assetgen.lighting.shade import diffuse_inputs

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    t = timed(lambda: read_hdri(shipped.shipped_path("city")), args.repeats)
    print(f"read one shipped HDRI (512x256 DWAB EXR + SHA-256)   {t * 1e3:8.1f} ms")
    env = read_hdri(shipped.shipped_path("city"))
    print(f"prefiltered chain, 6 levels of a 256-high map        {timed(lambda: prefilter.prefilter(env), args.repeats) * 1e3:8.1f} ms")
    print(f"SH + dominant lights of a 256-high map               {timed(lambda: diffuse_inputs(env), args.repeats) * 1e3:8.1f} ms")
    s = sample.LightingSampler(sample.lighting_from_dict({"exposure": [-1, 1], "temperature": [4500, 9000]}))
    for i in range(40):  # warm: every source decoded and its sharpest level made once
        s.sample(0, i).shading_inputs()
    n = 20
    t0 = time.perf_counter()
    lits = [s.sample(1, i) for i in range(n)]
    t1 = time.perf_counter()
    for lit in lits:
        lit.shading_inputs()
    t2 = time.perf_counter()
    print(f"per image: spec + map (warm)                         {(t1 - t0) / n * 1e3:8.1f} ms")
    print(f"per image: ShadingInputs (warm)                      {(t2 - t1) / n * 1e3:8.1f} ms")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.sheet:
        contact_sheet(args.sheet)


if __name__ == "__main__":
    main()
