"""Label coverage, full size: 1,000 sampled subjects x 3 views, every FaceSynthetics class must occur (issue 12).
Run: .venv/bin/python bench/bench_label_coverage.py [--subjects 1000] [--workers 2] [--save DIR] [--out FILE]

The same measurement as tests/test_label_coverage.py (its job, subjects, views and table): subject s depends on
(seed, s) only, so the table is the same for any --workers; workers take contiguous blocks of subjects, each
in its own process with its own GL context. With --save DIR each worker stores what it has measured every
CHUNK subjects (DIR/part-K-of-W.npz) and a rerun with the same DIR, --subjects and --workers carries on from
there. Prints the per-class table (images and subjects in which each class occurs), the wall time and where
it went per subject; exits 1 when a class never occurs.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHUNK = 25  # subjects between checkpoints


def _block(args):
    """Subjects start..stop-1 of n, resumed from and checkpointed to `part` (None: not stored)."""
    start, stop, n, part, verbose = args
    from assetgen.face.locate import get_face_model
    from tests.test_label_coverage import Coverage, measure

    model = get_face_model()
    parts, done = [], start
    if part is not None and part.exists():
        z = np.load(part)
        parts.append(Coverage(z["seen"], z["worn"], {}))
        done = start + len(z["seen"])
    t0 = time.perf_counter()
    while done < stop:
        b = min(done + CHUNK, stop)
        parts.append(measure(model, range(done, b), n))
        done = b
        cov = Coverage.merge(parts)
        if part is not None:
            tmp = part.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, seen=cov.seen, worn=cov.worn)
            tmp.replace(part)
        if verbose:
            el = time.perf_counter() - t0
            print(f"  subjects {start}..{done - 1} of {start}..{stop - 1} done, {el:.0f} s", flush=True)
    return Coverage.merge(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=1, help="processes (subjects split into contiguous blocks)")
    ap.add_argument("--save", type=Path, help="folder for the workers' checkpoints (a rerun carries on)")
    ap.add_argument("--out", type=Path, help="also write the table to this file")
    args = ap.parse_args(argv)

    from tests.test_label_coverage import N_CLASSES, Coverage, table, write_artifact

    n, w = args.subjects, max(1, args.workers)
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f}", flush=True)
    t0 = time.perf_counter()
    bounds = [round(k * n / w) for k in range(w + 1)]
    jobs = [(bounds[k], bounds[k + 1], n, args.save / f"part-{k}-of-{w}-n{n}.npz" if args.save else None, True)
            for k in range(w)]
    if w == 1:
        parts = [_block(jobs[0])]
    else:
        with mp.get_context("spawn").Pool(w) as pool:
            parts = pool.map(_block, jobs)
    cov = Coverage.merge(parts)
    seconds = time.perf_counter() - t0
    print(table(cov, seconds))
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}; workers {w}")
    text = table(cov)
    if args.out:
        args.out.write_text(text + "\n")
    write_artifact("label_coverage.txt", text)
    return 0 if (cov.images()[:N_CLASSES] > 0).all() else 1


if __name__ == "__main__":
    sys.exit(main())
