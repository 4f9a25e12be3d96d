"""Shadows of the rgb layer's directional lights (render.shadows): the map's frame, a nose's shadow on the far
cheek, no surface shadowing itself, the GT layers untouched."""

from __future__ import annotations

import numpy as np

from assetgen.render import Camera, Renderer
from assetgen.render.camera import intrinsics, look_at
from assetgen.render.renderer import Light
from assetgen.render.shadows import SIZE, light_view

LAYERS = ("rgb", "segmentation", "depth", "normal", "albedo", "uv")


def test_the_map_covers_the_box_with_the_nearest_corner_first():
    rng = np.random.default_rng(0)
    corners = np.array([[x, y, z] for x in (-0.1, 0.1) for y in (-0.15, 0.12) for z in (-0.1, 0.13)]) + [0.0, 1.6, 0.0]
    for direction in list(rng.normal(size=(5, 3))) + [np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])]:
        vp, texel = light_view(direction, corners)
        clip = np.c_[corners, np.ones(8)] @ vp.T
        assert np.allclose(clip[:, 3], 1.0)  # orthographic
        assert (np.abs(clip[:, :3]) <= 1.0).all() and (np.abs(clip[:, :3]).max(0) > 0.95).all()
        toward = corners @ (direction / np.linalg.norm(direction))
        assert np.argmin(clip[:, 2]) == np.argmax(toward)  # nearest the light: the smallest depth
        extent = max(2.0 / np.linalg.norm(vp[0, :3]), 2.0 / np.linalg.norm(vp[1, :3]))  # the map's width, world
        assert np.isclose(texel * SIZE, extent) and extent < np.linalg.norm(np.ptp(corners, 0)) * 1.03


def _front(renderer, size=160):
    lo, hi = renderer.mesh.bounds()
    c = (lo + hi) / 2
    return Camera(intrinsics(size, size, 330.0), look_at(c + [0.0, 0.02, 0.6], c), (size, size))


def test_a_side_light_casts_the_nose_on_the_far_cheek_and_nothing_on_the_lit_side(asset):
    side = (Light((1.0, 0.05, 0.35), (3.0, 3.0, 3.0)),)  # low, from the subject's left (+x: the image's right)
    out = {}
    for shadows in (True, False):
        r = Renderer(asset, lights=side, ambient=(0.02, 0.02, 0.02), shadows=shadows)
        try:
            out[shadows] = r.render(_front(r), LAYERS)
        finally:
            r.release()
    on, off = out[True], out[False]
    for layer in LAYERS[1:]:
        np.testing.assert_array_equal(getattr(on, layer), getattr(off, layer), err_msg=layer)
    a, b = on.rgb.astype(np.float64).mean(2), off.rgb.astype(np.float64).mean(2)
    assert (a <= b + 1).all()  # a shadow only takes light away
    seg, regions = on.segmentation, on.regions
    face = np.isin(seg, [regions.index(n) for n in ("face_skin", "nose", "upper_lip", "lower_lip")])
    neck = seg == regions.index("neck")
    column = np.broadcast_to(np.arange(seg.shape[1])[None], seg.shape)
    centre = np.median(column[face])
    dark = b - a
    shaded = dark > 10
    lit = face & (column > centre + 12)
    print(f"shadowed (darker by more than 10 of 255): {shaded[face].sum()} face pixels, "
          f"{(column[face & shaded] < centre).mean():.0%} of them on the far side of the nose; {shaded[neck].sum()} "
          f"neck pixels under the jaw; the lit side {(dark[lit] > 1).mean():.2%} changed by more than 1")
    # (most: the brow also shades the near eye's socket under so low a light)
    assert shaded[face].sum() > 150 and (column[face & shaded] < centre).mean() > 0.7  # the nose on the far cheek
    assert shaded[neck].sum() > 150  # the jaw on the neck
    assert (dark[lit] > 1).mean() < 0.02  # no surface shadows itself ("acne")


def test_without_lights_or_with_shadows_off_nothing_changes(asset):
    images = []
    for lights, shadows in (((), True), ((), False)):
        r = Renderer(asset, lights=lights, shadows=shadows)
        try:
            images.append(r.render(_front(r), ("rgb",)).rgb)
        finally:
            r.release()
    assert np.array_equal(images[0], images[1])


def test_hair_casts_shadows_on_the_skin_and_on_itself(dressed_asset):
    """A light from above and in front, no ambient light: with the hair in the lights' depth maps the skin next to
    it is darker than on the same mesh without the hair (the beard's shadow on the neck, the hair's on the
    temples), never lighter; and the hair itself is darker with shadows than without (its lower strands under its
    upper ones and under the cap's brim)."""
    from assetgen.render.hair import is_hair
    from assetgen.render.mesh import RenderMesh, mesh_from_asset

    mesh = mesh_from_asset(dressed_asset)
    bald = RenderMesh(mesh.name, [p for p in mesh.primitives if not is_hair(p)], mesh.landmarks_world, mesh.regions,
                      mesh.meta)
    top = (Light((0.3, 1.0, 0.6), (3.0, 3.0, 3.0)),)
    out = {}
    for name, m, shadows in (("hair", mesh, True), ("hair_unshadowed", mesh, False), ("bald", bald, True)):
        r = Renderer(m, lights=top, ambient=(0.0, 0.0, 0.0), shadows=shadows)
        try:
            out[name] = r.render(_front(r), ("rgb", "segmentation", "hair_coverage"))
        finally:
            r.release()
    regions = out["hair"].regions
    skin_ids = [regions.index(n) for n in ("face_skin", "nose", "neck", "upper_lip", "lower_lip")]
    # the skin that both show, where no wisp of hair's soft part lies over it either
    skin = np.isin(out["hair"].segmentation, skin_ids) & np.isin(out["bald"].segmentation, skin_ids)
    skin &= out["hair"].hair_coverage.max(2) < 1e-3
    with_hair, without = (out[k].rgb.astype(np.float64).mean(2) for k in ("hair", "bald"))
    dark = (without - with_hair)[skin]
    hair = np.isin(out["hair"].segmentation, [regions.index(n) for n in out["hair"].hair_regions])
    lit, unshadowed = (out[k].rgb.astype(np.float64).mean(2)[hair].mean() for k in ("hair", "hair_unshadowed"))
    print(f"skin seen with and without the hair: {(dark > 10).sum()} of {skin.sum()} pixels darker by more than 10 "
          f"of 255 with it, the most lightened by {max(0.0, -dark.min()):.1f}; the hair's mean level {lit:.1f} with "
          f"shadows, {unshadowed:.1f} without")
    assert (dark > 10).sum() > 100 and dark.min() > -2
    assert lit < 0.9 * unshadowed
