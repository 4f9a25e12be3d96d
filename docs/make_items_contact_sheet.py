"""Make an items contact sheet: subjects of the shipped demo recipe (with hair) wearing glasses (every frame
family and lens kind), garments, headwear and masks, rendered by the ground-truth renderer's rgb layer.

    .venv/bin/python docs/make_items_contact_sheet.py [OUT.png] [--n 12] [--resolution 256] [--tile 320]
"""

from __future__ import annotations

import argparse
from pathlib import Path

# (glasses frame, lens, garment, hat, mask) per tile; "none" leaves the item off
LOOKS = (
    ("rectangular", "clear", "crew_neck", "none", "none"), ("aviator", "sunglasses", "collared", "baseball_cap", "none"),
    ("round", "tinted", "turtleneck", "beanie", "none"), ("none", "clear", "hoodie", "none", "surgical"),
    ("cat_eye", "clear", "v_neck", "brimmed_hat", "none"), ("rimless", "clear", "crew_neck", "headscarf", "none"),
    ("none", "clear", "collared", "helmet", "none"), ("rectangular", "sunglasses", "v_neck", "headband", "none"),
    ("round", "clear", "hoodie", "none", "n95"), ("none", "clear", "turtleneck", "beanie", "kn95"),
    ("aviator", "tinted", "crew_neck", "none", "cloth"), ("cat_eye", "sunglasses", "hoodie", "baseball_cap", "none"),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, default=Path(__file__).with_name("items_contact_sheet.png"))
    ap.add_argument("--n", type=int, default=12, help="subjects")
    ap.add_argument("--resolution", type=int, default=256, help="skin texture size")
    ap.add_argument("--tile", type=int, default=320, help="tile size in pixels")
    args = ap.parse_args()

    import numpy as np

    from assetgen.demo import default_recipe_path, png_bytes
    from assetgen.face.locate import get_face_model
    from assetgen.generate import AssetRequest, asset_seed, make_asset
    from assetgen.io import atomic_write_bytes
    from assetgen.preview import contact_sheet
    from assetgen.recipe import ItemsSpec, load_recipe
    from assetgen.render import Camera, Renderer, intrinsics, look_at
    from assetgen.uv import rasterize_uv

    model = get_face_model()
    layout = rasterize_uv(model, args.resolution)
    base = load_recipe(default_recipe_path())
    tiles = []
    for i in range(args.n):
        frame, lens, garment, hat, mask = LOOKS[i % len(LOOKS)]
        items = ItemsSpec(glasses=frame, lens=lens, clothing=garment, headwear=hat, facewear=mask)
        texture = base.texture.model_copy(update={"params": {"skin_tone": 1 + (i * 7) % 10,
                                                             "age": float(18 + (i * 23) % 55)}})
        recipe = base.model_copy(update={"items": items, "texture": texture,
                                         "expression": base.expression.model_copy(update={"probability": 0.0})})
        asset = make_asset(model, layout, AssetRequest(f"items_{i:02d}", asset_seed(2027, i), recipe, 2027, i))
        r = Renderer(asset)
        try:
            yaw = np.radians((-25, 0, 25)[i % 3])
            target = np.array([0.0, -0.01, 0.0])
            eye = target + 0.62 * np.array([np.sin(yaw), 0.03, np.cos(yaw)])
            cam = Camera(intrinsics(args.tile, args.tile, 1.45 * args.tile), look_at(eye, target), (args.tile, args.tile))
            tiles.append(r.render(cam, ["rgb"]).rgb)
        finally:
            r.release()
        lab = asset.labels
        print(f"{i:2d} glasses {lab['glasses_frame']}/{lab['glasses']} clothing {lab['clothing']} headwear "
              f"{lab['headwear']} facewear {lab['facewear']} hair {lab['hair_style']}", flush=True)
    atomic_write_bytes(args.out, png_bytes(contact_sheet(tiles, columns=4)))
    print(args.out)


if __name__ == "__main__":
    main()
