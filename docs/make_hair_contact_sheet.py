"""Make docs/hair_contact_sheet.png: 24 subjects of the shipped demo recipe with every hair style family,
beard style, natural hair colour and Monk skin tone, young to old, in neutral expression.

    .venv/bin/python docs/make_hair_contact_sheet.py [OUT.png] [--resolution 256] [--tile 256]
"""

from __future__ import annotations

import argparse
from pathlib import Path

STYLES = ("bald", "buzz", "crew", "medium", "long_straight", "wavy", "curly", "coily", "ponytail", "bun", "bob",
          "receding", "balding")
BEARDS = ("none", "stubble", "moustache", "goatee", "chin_strap", "short", "full")
COLORS = ("black", "dark_brown", "brown", "light_brown", "blond", "red", "platinum")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, default=Path(__file__).with_name("hair_contact_sheet.png"))
    ap.add_argument("--resolution", type=int, default=256, help="skin texture size")
    ap.add_argument("--tile", type=int, default=256, help="tile size in pixels")
    args = ap.parse_args()

    from assetgen.demo import default_recipe_path, png_bytes
    from assetgen.face.locate import get_face_model
    from assetgen.generate import AssetRequest, asset_seed, make_asset
    from assetgen.io import atomic_write_bytes
    from assetgen.preview import contact_sheet, render_front
    from assetgen.recipe import load_recipe
    from assetgen.uv import rasterize_uv

    model = get_face_model()
    layout = rasterize_uv(model, args.resolution)
    base = load_recipe(default_recipe_path())
    tiles = []
    for i in range(24):
        beard = BEARDS[i % len(BEARDS)]
        hair = base.hair.model_copy(update={"style": STYLES[i % len(STYLES)], "beard_style": beard,
                                            "color": COLORS[(i * 3) % len(COLORS)]})
        texture = base.texture.model_copy(update={"params": {"skin_tone": 1 + (i * 7) % 10,
                                                             "age": float(18 + (i * 23) % 55)}})
        recipe = base.model_copy(update={"hair": hair, "texture": texture,
                                         "expression": base.expression.model_copy(update={"probability": 0.0})})
        asset = make_asset(model, layout, AssetRequest(f"sheet_{i:02d}", asset_seed(2026, i), recipe, 2026, i))
        tiles.append(render_front(asset, size=args.tile))
        lab = asset.labels
        print(f"{i:2d} {lab['hair_style']:13s} {lab['beard_style']:10s} {lab['hair_color']:11s} "
              f"{lab['skin_tone']} age {lab['age']}", flush=True)
    atomic_write_bytes(args.out, png_bytes(contact_sheet(tiles, columns=6)))
    print(args.out)


if __name__ == "__main__":
    main()
