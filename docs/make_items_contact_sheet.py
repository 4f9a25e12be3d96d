"""Make an items contact sheet: subjects of the shipped demo recipe (with hair) wearing glasses (every frame
family and lens kind), garments, headwear, masks, earrings, piercings, face tattoos and make-up, rendered by
the ground-truth renderer's rgb layer.

    .venv/bin/python docs/make_items_contact_sheet.py [OUT.png] [--n 24] [--resolution 256] [--tile 320]
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
# (earrings, piercings, skin extras) per tile of the second dozen (the first dozen wears none of them)
TAIL = (
    ("stud", "none", {}), ("hoop", "septum", {}), ("drop", "none", {"makeup": "evening"}),
    ("none", "nostril_stud", {"tattoo": {"motif": "star", "location": "cheek"}}),
    ("hoop", "brow", {}), ("none", "none", {"makeup": "lips"}),
    ("stud", "nostril_ring", {"tattoo": {"motif": "tribal", "location": "temple", "side": "right"}}),
    ("drop", "none", {"makeup": "full"}), ("none", "septum", {"tattoo": {"motif": "dots", "location": "brow"}}),
    ("hoop", "none", {"makeup": "eyes"}), ("stud", "brow", {"tattoo": {"motif": "lines", "location": "neck"}}),
    ("drop", "nostril_stud", {"makeup": "natural"}),
)
# make-up looks drawn as layer colours (sRGB) and opacities
MAKEUP = {
    "lips": {"lipstick": {"color": "#a0223a", "opacity": 0.8}},
    "eyes": {"eyeshadow": {"color": "#6b4f3a", "opacity": 0.6}, "eyeliner": {"color": "#1a1410", "opacity": 0.8}},
    "natural": {"lipstick": {"color": "#c0646e", "opacity": 0.4}, "blush": {"color": "#e58f8f", "opacity": 0.3}},
    "evening": {"lipstick": {"color": "#7a1230", "opacity": 0.9}, "eyeshadow": {"color": "#4a3a6a", "opacity": 0.7},
                "eyeliner": {"color": "#101010", "opacity": 0.9}},
    "full": {"lipstick": {"color": "#b0283c", "opacity": 0.85}, "blush": {"color": "#e07a7a", "opacity": 0.35},
             "eyeshadow": {"color": "#8a5a3a", "opacity": 0.6}, "eyeliner": {"color": "#15100c", "opacity": 0.85}},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, default=Path(__file__).with_name("items_contact_sheet.png"))
    ap.add_argument("--n", type=int, default=24, help="subjects")
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
        earrings, piercings, extra = TAIL[i % len(TAIL)] if i >= len(LOOKS) \
            else ("none", "none", {})
        items = ItemsSpec(glasses=frame, lens=lens, clothing=garment, headwear=hat, facewear=mask,
                          earrings=earrings, piercings=piercings)
        skin = {"skin_tone": 1 + (i * 7) % 10, "age": float(18 + (i * 23) % 55)}
        skin.update(MAKEUP.get(extra.get("makeup"), {}))
        if "tattoo" in extra:
            skin["tattoo"] = extra["tattoo"]
        texture = base.texture.model_copy(update={"params": skin})
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
              f"{lab['headwear']} facewear {lab['facewear']} earrings {lab.get('earrings')} piercings "
              f"{lab.get('piercings')} tattoo {lab.get('tattoo')} makeup {lab.get('makeup')} hair {lab['hair_style']}", flush=True)
    atomic_write_bytes(args.out, png_bytes(contact_sheet(tiles, columns=4)))
    print(args.out)


if __name__ == "__main__":
    main()
