"""The classical despecularizer on `synthetic_highlight_benchmark` (skin tones light to dark, highlights of
every size and strength, partly clipped): PSNR of the diffuse estimate against the true diffuse (sRGB,
8 bits), whole image and highlight pixels only, for doing nothing and for the method; how many pixels
without a highlight it changed (should be 0); and its speed on a 1024² texture against the 500 ms budget
of the diffusion stage's non-model work.

    .venv/bin/python bench/bench_despecular.py [--seeds 3] [--size 256] [--baseline OLD_despecular.py]

--baseline measures another version of the module too, e.g. an earlier commit's:
    git show REV:assetgen/despecular.py > /tmp/despecular_rev.py
    .venv/bin/python bench/bench_despecular.py --baseline /tmp/despecular_rev.py
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUDGET_MS = 500.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    err = np.mean((a.astype(np.float64) - b) ** 2)
    return float(10 * np.log10(255.0**2 / max(err, 1e-12)))


def load_baseline(path: str):
    """A despecular.py from elsewhere, imported as a module of the package (its relative imports work)."""
    spec = importlib.util.spec_from_file_location("assetgen._baseline_despecular", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def quality(methods: dict, seeds: int, size: int) -> None:
    from assetgen.despecular import SKIN_TONES, synthetic_highlight_benchmark

    names = ["nothing", *methods]
    print(f"PSNR (dB) vs the true diffuse, {size}², seeds 0-{seeds - 1}: whole image / highlight pixels only;"
          " changed: pixels without a highlight that were changed")
    print(f"{'tone':8s}" + "".join(f"{n:>22s}" for n in names) + "".join(f"{'changed ' + n:>18s}" for n in methods))
    total = {n: [] for n in names}
    for tone in SKIN_TONES:
        rows = {n: [] for n in names}
        changed = {n: 0 for n in methods}
        for seed in range(seeds):
            b = synthetic_highlight_benchmark(seed, size, tone)
            h = b.highlight
            outs = {"nothing": b.image, **{n: f(b.image).diffuse for n, f in methods.items()}}
            for n, out in outs.items():
                rows[n].append((psnr(out, b.diffuse), psnr(out[h], b.diffuse[h])))
            for n in methods:
                changed[n] += int(((outs[n] != b.image).any(-1) & ~h).sum())
        line = f"{tone:8s}"
        for n in names:
            whole, hl = np.mean(rows[n], 0)
            total[n] += rows[n]
            line += f"{whole:13.1f} / {hl:5.1f}"
        print(line + "".join(f"{changed[n]:18d}" for n in methods), flush=True)
    print(f"{'mean':8s}" + "".join("{:13.1f} / {:5.1f}".format(*np.mean(total[n], 0)) for n in names))


def speed(methods: dict, repeats: int) -> None:
    from assetgen.despecular import synthetic_highlight_benchmark

    tex = synthetic_highlight_benchmark(0, 1024, "medium").image
    print(f"speed on a 1024² benchmark texture (best and median of {repeats}; budget {BUDGET_MS:.0f} ms)")
    times = {n: [] for n in methods}
    for f in methods.values():
        f(tex)  # tables, first-call costs
    for _ in range(repeats):
        for n, f in methods.items():  # interleaved: both see the same machine load
            t = time.perf_counter()
            f(tex)
            times[n].append(time.perf_counter() - t)
    for n, ts in times.items():
        best, med = 1000 * min(ts), 1000 * float(np.median(ts))
        print(f"  {n:10s} best {best:7.1f} ms   median {med:7.1f} ms   best / budget {best / BUDGET_MS:5.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3, help="benchmark images per skin tone")
    ap.add_argument("--size", type=int, default=256, help="benchmark image size for the PSNR figures")
    ap.add_argument("--repeats", type=int, default=7, help="timed runs at 1024²")
    ap.add_argument("--baseline", help="another assetgen/despecular.py to measure alongside")
    args = ap.parse_args(argv)
    from assetgen.despecular import despecularize

    methods = {"method": despecularize}
    if args.baseline:
        methods["baseline"] = load_baseline(args.baseline).despecularize
    quality(methods, args.seeds, args.size)
    speed(methods, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
