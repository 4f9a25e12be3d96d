"""Hair's shading against Cycles: the mean log(our linear rgb / Cycles') over each image's hair pixels, with the
hair's ambient occlusion (render.hair_occlusion) and without it, for three grooms (medium hair with a full beard,
coily, long straight with a short beard; a crew neck each) from the front and from the side under shipped HDRIs.
Cycles draws the hair as hair curves with the Principled Hair BSDF (dataset.cycles), the physically based
reference.

Run: .venv/bin/python bench/bench_hair_cycles.py [--envs park city studio] [--samples 32] [--size 128]
(needs .venv-bpy; about three minutes on the 2-core machines here)

Prints one line per view and the mean |log ratio| over all views with and without the occlusion (0: Cycles'
level) and in how many views the occlusion brings the hair nearer. Pixels: the hair regions of our segmentation
one pixel inside their edges, both images averaged over 5 x 5 pixels (tests/test_dataset_cycles.py's measure).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GROOMS = (("medium", "full", 7), ("coily", "none", 11), ("long_straight", "short", 5))
OFFSETS = {"front": (0.0, 0.02, 0.6), "side": (0.4, 0.05, 0.45)}  # metres from the mesh's centre


def hair_log_ratio(ours, cycles) -> float:
    from scipy import ndimage

    from assetgen.color import srgb8_to_linear

    where = ndimage.binary_erosion(np.isin(ours.segmentation, [ours.regions.index(n) for n in ours.hair_regions]))
    mine = ndimage.uniform_filter(srgb8_to_linear(ours.rgb).mean(2), 5)[where]
    theirs = ndimage.uniform_filter(srgb8_to_linear(cycles.rgb).mean(2), 5)[where]
    return float(np.log(mine / np.maximum(theirs, 1e-4)).mean())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", nargs="+", default=["park", "city", "studio"])
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--size", type=int, default=128)
    args = ap.parse_args()

    from assetgen.dataset.cycles import CyclesView, render_views
    from assetgen.demo import default_recipe_path
    from assetgen.face.locate import get_face_model
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.lighting import LightingSpec, make_environment, shipped
    from assetgen.recipe import ItemsSpec, load_recipe
    from assetgen.render import Camera, Renderer
    from assetgen.render import mesh as mesh_module
    from assetgen.render.camera import intrinsics, look_at
    from assetgen.uv import rasterize_uv

    model = get_face_model()
    layout = rasterize_uv(model, 64)
    base = load_recipe(default_recipe_path())
    subjects = [make_asset(model, layout, AssetRequest(f"{style}+{beard}", seed, base.model_copy(update={
        "items": ItemsSpec(headwear="none", clothing="crew_neck", glasses="none", facewear="none"),
        "hair": base.hair.model_copy(update={"style": style, "beard_style": beard})})))
        for style, beard, seed in GROOMS]
    with_ao = mesh_module.asset_hair_occlusion
    levels: dict[str, list[float]] = {"occluded": [], "open": []}
    for env in args.envs:
        light = make_environment(LightingSpec(kind="shipped", name=env, sha256=shipped.SHIPPED[env], rotation_deg=0.0,
                                              resolution=128))
        ours, views, names = [], [], []
        for subject in subjects:
            for view, offset in OFFSETS.items():
                renders = {}
                for mode in levels:
                    mesh_module.asset_hair_occlusion = with_ao if mode == "occluded" else (lambda asset: None)
                    try:
                        mesh = mesh_module.mesh_from_asset(subject)
                    finally:
                        mesh_module.asset_hair_occlusion = with_ao
                    lo, hi = mesh.bounds()
                    c = (lo + hi) / 2
                    cam = Camera(intrinsics(args.size, args.size, 2.07 * args.size), look_at(c + offset, c),
                                 (args.size, args.size))
                    r = Renderer(mesh)
                    try:
                        renders[mode] = r.render(cam, ("rgb", "segmentation"), environment=light.shading_inputs())
                    finally:
                        r.release()
                ours.append(renders)
                views.append(CyclesView(subject, cam, light.env))
                names.append(f"{env:8s} {subject.name:22s} {view:5s}")
        for name, renders, cyc in zip(names, ours, render_views(views, samples=args.samples)):
            level = {mode: hair_log_ratio(res, cyc) for mode, res in renders.items()}
            for mode in levels:
                levels[mode].append(abs(level[mode]))
            print(f"{name}: hair mean log(ours / cycles) {level['occluded']:+.3f} with its occlusion, "
                  f"{level['open']:+.3f} without", flush=True)
    nearer = sum(a < b for a, b in zip(levels["occluded"], levels["open"]))
    print(f"mean |log(ours / cycles)| over {len(levels['open'])} views: {np.mean(levels['occluded']):.3f} with the "
          f"hair's occlusion, {np.mean(levels['open']):.3f} without; nearer in {nearer}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
