"""Text -> UV seconds per asset with full-size SD1.5-class models (random weights: they time the same as real
ones): UNet, VAE, CLIP text encoder, depth + normal ControlNets and a 9-channel inpainting UNet built from
the published architectures (assetgen.diffusion.testing.SD15_*), float16, saved as safetensors and loaded
through the registry like real weights. Goal (issue 4): <= 3 s per asset on one H100 for 6 views x 512²,
20 steps, 2048² UV including the fill.

    .venv/bin/python bench/bench_diffusion_gpu.py                    # needs a CUDA device, ~5 GB of disk
    .venv/bin/python bench/bench_diffusion_gpu.py --models DIR       # reuse models saved by an earlier run
    .venv/bin/python bench/bench_diffusion_gpu.py --smoke            # tiny models on the CPU: checks the script
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, help="folder with models.yaml from an earlier run (default: build into a temp folder)")
    ap.add_argument("--uv", type=int, default=2048)
    ap.add_argument("--view-size", type=int, default=512)
    ap.add_argument("--views", type=int, default=6)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="tiny random models, CPU, 64² views, 2 steps, 256² UV")
    args = ap.parse_args(argv)

    import torch

    from assetgen.diffusion.loading import DiffusionRuntime
    from assetgen.diffusion.testing import save_sd15_registry, save_tiny_registry
    from assetgen.diffusion.text_to_uv import load_config, text_to_uv
    from assetgen.face.locate import get_face_model
    from assetgen.uv import rasterize_uv

    if args.smoke:
        args.uv, args.view_size, args.steps, args.repeats = 256, 64, 2, 1
    elif not torch.cuda.is_available():
        sys.exit("bench_diffusion_gpu: no CUDA device (use --smoke to check the script on the CPU)")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        if args.models:
            registry = args.models / "models.yaml"
        elif args.smoke:
            registry = save_tiny_registry(Path(tmp))
        else:
            registry = save_sd15_registry(Path(tmp))
        built = time.perf_counter() - t
        runtime = DiffusionRuntime.from_config(registry)
        model = get_face_model(None)
        layout = rasterize_uv(model, args.uv)
        base = load_config(None, view_size=args.view_size, steps=args.steps)
        cfg = base.model_copy(update={"views": base.views[: args.views]})
        device = runtime.device
        print(f"device {device} ({torch.cuda.get_device_name() if device.startswith('cuda') else 'CPU'}), torch "
              f"{torch.__version__}, models {'reused' if args.models else f'built + saved in {built:.1f} s'}")

        def sync():
            if device.startswith("cuda"):
                torch.cuda.synchronize()

        t = time.perf_counter()
        text_to_uv(runtime, model, layout, cfg, seed=0)  # loads the models, warms kernels
        sync()
        print(f"first asset (loading + warm-up): {time.perf_counter() - t:.2f} s")
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        runs = []
        for i in range(args.repeats):
            t = time.perf_counter()
            r = text_to_uv(runtime, model, layout, cfg, seed=i + 1)
            sync()
            runs.append((time.perf_counter() - t, r.timings))
        wall, timings = min(runs, key=lambda x: x[0])
        print(f"text -> UV, {len(cfg.views)} views x {cfg.size}², {args.steps} steps, {args.uv}² UV, best of {args.repeats}:")
        for k, v in timings.items():
            if k != "total":
                print(f"  {k:<22} {v:7.3f} s")
        print(f"  {'seconds per asset':<22} {wall:7.3f} s   (goal <= 3 s on one H100: {wall / 3.0:.2f} x)")
        if device.startswith("cuda"):
            print(f"  peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
        return {"seconds_per_asset": wall, "timings": timings}


if __name__ == "__main__":
    main()
