"""Make docs/cycles_hair_sheet.png: six grooms, each as assetgen's fast renderer draws it (left) and as
`--renderer cycles` draws it (right: hair curves with the Principled Hair BSDF, each clump's fibres grey or
pigmented), same camera and shipped HDRI (studio, then park with its sun).

    .venv/bin/python docs/make_cycles_hair_sheet.py [OUT.png] [--size 256] [--samples 64]   (needs .venv-bpy)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

GROOMS = (("coily", "none", "red", 11), ("medium", "full", "black", 7), ("long_straight", "short", "brown", 5),
          ("wavy", "none", "blond", 3), ("curly", "goatee", "dark_brown", 9), ("crew", "stubble", "platinum", 4))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, default=Path(__file__).with_name("cycles_hair_sheet.png"))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--samples", type=int, default=64)
    args = ap.parse_args()

    from assetgen.dataset.cycles import CyclesView, render_views
    from assetgen.demo import default_recipe_path
    from assetgen.face.locate import get_face_model
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.io import atomic_write_bytes
    from assetgen.lighting import LightingSpec, make_environment, shipped
    from assetgen.png import encode_png
    from assetgen.recipe import ItemsSpec, load_recipe
    from assetgen.render import Camera, Renderer
    from assetgen.render.camera import intrinsics, look_at
    from assetgen.render.mesh import mesh_from_asset
    from assetgen.uv import rasterize_uv

    model = get_face_model()
    layout = rasterize_uv(model, 128)
    base = load_recipe(default_recipe_path())
    size = args.size
    pairs = []
    for k, (style, beard, colour, seed) in enumerate(GROOMS):
        subject = make_asset(model, layout, AssetRequest(f"{style}+{beard}", seed, base.model_copy(update={
            "items": ItemsSpec(headwear="none", clothing="crew_neck", glasses="none", facewear="none"),
            "hair": base.hair.model_copy(update={"style": style, "beard_style": beard, "color": colour})})))
        env = "studio" if k < 3 else "park"
        light = make_environment(LightingSpec(kind="shipped", name=env, sha256=shipped.SHIPPED[env],
                                              rotation_deg=0.0, resolution=128))
        mesh = mesh_from_asset(subject)
        lo, hi = mesh.bounds()
        c = (lo + hi) / 2
        cam = Camera(intrinsics(size, size, 2.07 * size), look_at(c + [0.12, 0.03, 0.58], c), (size, size))
        r = Renderer(mesh)
        try:
            ours = r.render(cam, ("rgb",), environment=light.shading_inputs()).rgb[..., :3]
        finally:
            r.release()
        cycles = render_views([CyclesView(subject, cam, light.env)], samples=args.samples)[0].rgb
        pairs.append(np.concatenate([ours, cycles], 1))
        print(f"{style} + {beard} ({colour}, grey {subject.labels.get('grey_fraction')}) under {env}", flush=True)
    rows = [np.concatenate(pairs[i:i + 3], 1) for i in (0, 3)]
    atomic_write_bytes(args.out, encode_png(np.concatenate(rows, 0)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
