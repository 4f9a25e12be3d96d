"""The app's item controls: their values as a recipe items section, dropdowns built from the item sampler's
tables, items fitted, shown in the GLB and in the rendered preview's overlay and legend, stored and opened
again, and bad choices as one-line messages (through gradio_client, as the browser does)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from .test_ui_client import (  # noqa: F401
    RES,
    _glb_materials,
    _image,
    bad_values_keep_the_state,
    client,
    library_ready,
    loopback_only,
    served,
)

pytestmark = [pytest.mark.network, pytest.mark.slow]

WORN = {"glasses": "aviator", "lens": "sunglasses", "headwear": "beanie", "facewear": "n95", "clothing": "hoodie"}
ITEM_REGIONS = ("glasses", "clothing", "headwear", "facewear")


def region_overlay_pixels(overlay, region: str):
    """(H, W) bool: overlay pixels that are `region`'s strong colour blended over some rgb (what the overlay
    draws at that region's pixels)."""
    from assetgen.app.preview import HAIR_ALPHA, STRONG_COLORS

    colour = np.asarray(STRONG_COLORS[region], np.float64)
    under = (np.asarray(overlay, np.float64)[..., :3] - HAIR_ALPHA * colour) / (1 - HAIR_ALPHA)
    return np.all((under > -2) & (under < 257), axis=-1)


def _asset(seed: int, hair: dict | None = None, **items):
    from assetgen.app.building import build_asset
    from assetgen.app.editor import default_params_ui
    from assetgen.app.hair import hair_spec
    from assetgen.app.items import items_spec

    return build_asset("items", seed, RES, [], {}, default_params_ui(),
                       hair=hair_spec(hair) if hair is not None else None, items=items_spec(items))


# ---- the app logic ---------------------------------------------------------------------------------
def test_items_spec_is_the_recipe_items_section():
    from assetgen.app.items import defaults, hidden_kinds, item_keys, items_spec
    from assetgen.attach.items.sample import CHOICES
    from assetgen.errors import InputError

    assert item_keys()[:2] == ("glasses", "lens")
    assert {"glasses", "lens", "clothing", "headwear", "facewear"} <= set(item_keys())
    assert set(item_keys()) - {"lens"} | set(hidden_kinds()) == set(CHOICES)
    assert items_spec({}) is None and items_spec(defaults()) is None  # nothing worn: no items at all
    assert items_spec({"lens": "tinted"}) is None  # a lens alone wears nothing
    spec = items_spec(WORN)
    assert spec.fixed() == {"glasses": "aviator", "lens": "sunglasses", "clothing": "hoodie", "headwear": "beanie",
                            "facewear": "n95", **{k: "none" for k in item_keys() if k not in WORN}}
    # A type the sampler draws but the controls cannot fix is never worn in the editor.
    assert spec.priors == {k: 0.0 for k in hidden_kinds()}
    spec = items_spec({"glasses": "any", "headwear": "sample", "clothing": "crew_neck"})
    assert spec.fixed() == {"glasses": "any", "clothing": "crew_neck", "facewear": "none",
                            **{k: "none" for k in item_keys() if k not in WORN}}
    assert spec.headwear == "sample" and spec.lens == "sample"  # "any" lens: drawn from the lens table
    for bad, message in (({"hat": "beanie"}, "unknown item control(s) hat; known: glasses, lens"),
                         ({"headwear": "tiara"}, "unknown headwear 'tiara'; use one of none, any, sample, "
                                                 "baseball_cap"),
                         ({"lens": "mirror"}, "unknown lens 'mirror'; use one of any, clear, tinted, sunglasses"),
                         ({"glasses": 3}, "unknown glasses 3; use one of none, any, sample, round"),
                         ({"facewear": "n95 "}, "unknown facewear 'n95 '; use one of none")):
        with pytest.raises(InputError, match="^" + re.escape(message)) as err:
            items_spec(bad)
        assert len(str(err.value).splitlines()) == 1


def test_dropdowns_are_the_samplers_tables(monkeypatch):
    """A variant added to the sampler's table is a choice of its dropdown, with no UI edit; a type the
    recipe's items section cannot fix is not offered."""
    from assetgen.app import items as I
    from assetgen.attach.items import sample
    from assetgen.attach.items.params import FRAMES, GARMENTS, HATS, LENSES, MASKS

    assert I.choices("glasses") == ("none", "any", "sample", *FRAMES)
    assert I.choices("clothing") == ("none", "any", "sample", *GARMENTS)
    assert I.choices("headwear") == ("none", "any", "sample", *HATS)
    assert I.choices("facewear") == ("none", "any", "sample", *MASKS)
    assert I.choices("lens") == ("any", *LENSES)
    monkeypatch.setitem(sample.CHOICES, "headwear", (*HATS, "top_hat"))
    monkeypatch.setitem(sample.CHOICES, "tiaras", ("silver",))
    assert I.choices("headwear")[-1] == "top_hat"
    assert "tiaras" not in I.item_keys() and "tiaras" in I.hidden_kinds()


def test_an_opened_outfit_is_made_again_exactly():
    """The controls an opened asset sets (outfit_to_ui) make the same outfit from the same seed, and Random
    fills the controls with what a recipe's `items: {}` draws for that seed."""
    from assetgen.app.items import outfit_to_ui, random_items

    a = _asset(11, glasses="any", clothing="any", headwear="any", facewear="any")
    ui = outfit_to_ui(a.items.params)
    assert ui["glasses"] == a.items.params.glasses.frame and ui["lens"] == a.items.params.glasses.lens
    assert (ui["clothing"], ui["headwear"], ui["facewear"]) == (
        a.items.params.clothing.style, a.items.params.headwear.kind, a.items.params.facewear.kind)
    b = _asset(11, **ui)
    assert b.items.digest() == a.items.digest() and b.items.params == a.items.params
    assert outfit_to_ui(None) == {"glasses": "none", "lens": "any", "clothing": "none", "headwear": "none",
                                  "facewear": "none", **outfit_to_ui(None)}
    from assetgen.generate import asset_streams
    from assetgen.recipe import ItemsSpec, sample_items_params

    for seed in (1, 2, 3):
        drawn = sample_items_params(ItemsSpec(), asset_streams(seed)["items"])
        r = random_items(seed)
        assert r["clothing"] == drawn.clothing.style  # clothing: always worn at the shipped priors
        assert (r["glasses"] == "none") == (drawn.glasses is None)
        assert (r["headwear"] == "none") == (drawn.headwear is None)


def test_preview_overlay_shows_the_items_in_their_colours():
    from assetgen.app.preview import (
        HAIR_ALPHA,
        ITEM_COLORS,
        legend_html,
        render_preview,
    )

    pv = render_preview(_asset(5, **WORN))
    shown = [r for r, _, _ in pv.legend]
    assert shown[:4] == list(ITEM_REGIONS), shown  # no hair: the items lead the legend
    for region in ITEM_REGIONS:
        m = pv.mask(region)
        assert m.mean() > 0.01, region
        want = np.rint(pv.rgb[m] * (1 - HAIR_ALPHA) + np.asarray(ITEM_COLORS[region]) * HAIR_ALPHA)
        assert np.abs(pv.overlay[m].astype(float) - want).max() <= 1
    # Sunglasses are opaque: the eyes are covered, the lenses are glasses in the segmentation.
    assert not pv.mask("eye_left").any() and not pv.mask("eye_right").any()
    html = legend_html(pv)
    assert all(f'data-region="{r}"' in html for r in ITEM_REGIONS) and "<b>glasses</b>" in html
    # The same head without items: the same framing (the items do not move the camera), no item regions.
    bare = render_preview(_asset(5))
    assert not any(bare.mask(r).any() for r in ITEM_REGIONS)
    face = bare.mask("face_skin")
    assert face.any() and (pv.mask("face_skin") & ~face).sum() == 0


# ---- through the API ---------------------------------------------------------------------------------
def test_item_controls_fit_show_store_and_open_the_items(client, served):  # noqa: F811
    from assetgen.app.editor import editor_expressions
    from assetgen.app.hair import HAIR_KEYS
    from assetgen.app.items import defaults, item_keys

    kw = {"res_v": RES, "seed_v": 6, "name_v": "items_head", "api_name": "/generate_texture"}
    _, glb, summary, status = client.predict(**WORN, **kw)
    labels = summary["labels"]
    assert {k: labels[k] for k in ("glasses", "glasses_frame", "headwear", "facewear", "clothing")} == {
        "glasses": "sunglasses", "glasses_frame": "aviator", "headwear": "beanie", "facewear": "n95",
        "clothing": "hoodie"}
    assert "Items: aviator sunglasses, hoodie, beanie, n95 mask." in status
    mats = _glb_materials(glb)  # what the 3D viewer shows
    assert {m.split("_")[1] for m in mats if m.startswith("Item_")} == set(ITEM_REGIONS)
    rgb, overlay, legend = client.predict(api_name="/render_preview")
    rgb, overlay = _image(rgb), _image(overlay)
    assert rgb.shape == overlay.shape == (512, 512, 3)
    share = {}
    for region in ITEM_REGIONS:
        assert f'data-region="{region}"' in legend, region
        share[region] = region_overlay_pixels(overlay, region).mean()
        assert share[region] > 0.01, (region, share)

    # Items off: no item primitives, labels "none", no item region in the preview.
    _, off_glb, off_summary, off_status = client.predict(glasses="none", headwear="none", facewear="none",
                                                         clothing="none", **kw)
    assert not [m for m in _glb_materials(off_glb) if m.startswith("Item_")]
    assert "glasses" not in off_summary["labels"] and "Items: none." in off_status
    off_rgb, off_overlay, off_legend = client.predict(api_name="/render_preview")
    off_overlay = _image(off_overlay)
    for region in ITEM_REGIONS:
        assert f'data-region="{region}"' not in off_legend
        # (a few other pixels may blend to the same colour by chance, never a tenth of the item's)
        assert region_overlay_pixels(off_overlay, region).mean() < 0.1 * share[region], region
    assert np.abs(_image(off_rgb).astype(int) - rgb).mean() > 5

    if not library_ready():
        pytest.skip("assetgen.library has not landed yet")
    from assetgen.app.library import load

    client.predict(**WORN, **kw)
    _, asset_id, *_ = client.predict(tags_v="items-test", api_name="/save_to_library")
    stored = load(served[1], asset_id)
    assert stored.items is not None and stored.items.params.headwear.kind == "beanie"
    opened = client.predict(asset_id=asset_id, api_name="/open_asset")
    from ui.app import PARAM_KEYS

    first = 2 + 10 + len(editor_expressions()) + len(PARAM_KEYS) + len(HAIR_KEYS)
    items_ui = dict(zip(item_keys(), opened[first:first + len(item_keys())]))
    assert items_ui == {**defaults(), **WORN}


def test_bad_item_choices_are_one_line_and_keep_the_state(client):  # noqa: F811
    bad_values_keep_the_state(client, "kept_items", {"clothing": "v_neck"}, (
        ("glasses", "monocle", "unknown glasses 'monocle'; use one of none, any, sample"),
        ("lens", "mirror", "unknown lens 'mirror'; use one of any, clear, tinted"),
        ("headwear", "crown", "unknown headwear 'crown'; use one of none, any, sample"),
        ("clothing", "", "unknown clothing ''; use one of none, any, sample")))


def test_jewellery_controls_wear_and_show_earrings_and_piercings():
    """The sampler's earrings and piercings are controls too (their tables, no UI code of their own): chosen,
    they are worn, named in the status and in view in the preview's legend, however small."""
    from assetgen.app.items import choices, items_summary
    from assetgen.app.preview import legend_html, render_preview
    from assetgen.attach.items.params import EARRINGS, PIERCINGS

    assert choices("earrings")[3:] == EARRINGS and choices("piercings")[3:] == PIERCINGS
    a = _asset(5, earrings="hoop", piercings="septum")
    assert (a.labels["earrings"], a.labels["piercings"]) == ("hoop", "septum")
    assert items_summary(a) == "hoop earrings, septum piercing"
    pv = render_preview(a)
    assert pv.mask("earrings").any() and pv.mask("piercings").any()
    html = legend_html(pv)
    assert 'data-region="earrings"' in html and 'data-region="piercings"' in html
    assert "0.0%" not in html  # a region in view never reads as none
