"""The skin's ambient occlusion (render.occlusion): per subject at its neutral, carried by the render mesh and
the GLB, and scaling the environment's light in the rgb pass only."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from assetgen.lighting import LightingSpec, make_environment, shipped
from assetgen.render import mesh as mesh_module
from assetgen.render import occlusion as occlusion_module
from assetgen.render.occlusion import RAYS, RECEIVERS, _compute, asset_occlusion, skin_occlusion


@pytest.fixture(scope="module")
def occlusion(face_model, asset):
    return skin_occlusion(face_model, asset.identity_weights).share


def region_mean(model, ao, region: str) -> float:
    names = list(model.material_names)
    skin = np.isin(model.triangle_material, [names.index(m) for m in RECEIVERS])
    tris = skin & (np.asarray(model.triangle_region) == model.region_names.index(region))
    return float(ao[np.unique(model.triangles[tris])].mean())


def test_the_folds_and_the_insides_see_less_than_the_open_skin(face_model, occlusion):
    ao = occlusion
    assert ao.shape == (len(face_model.neutral),) and ao.dtype == np.float32
    assert ao.min() >= 0 and ao.max() <= 1
    means = {r: region_mean(face_model, ao, r) for r in ("face_skin", "neck", "back_of_head", "nose",
                                                         "eye_socket_left", "mouth_socket")}
    print("ambient occlusion by region: " + ", ".join(f"{k} {v:.2f}" for k, v in means.items()))
    assert means["face_skin"] > 0.8 and means["neck"] > 0.85 and means["back_of_head"] > 0.85
    assert means["nose"] < means["face_skin"] - 0.2  # the nostrils
    assert means["eye_socket_left"] < 0.2 and means["mouth_socket"] < 0.2  # inside the head
    teeth = np.unique(face_model.triangles[face_model.triangle_material == list(face_model.material_names).index("M_Teeth")])
    assert (ao[teeth] == 1).all()  # not skin: not occluded


def test_kept_per_identity_and_the_same_bytes_again(face_model, asset, occlusion):
    kept = skin_occlusion(face_model, asset.identity_weights)
    assert skin_occlusion(face_model, asset.identity_weights.copy()) is kept and kept.share is occlusion
    again = _compute(face_model, np.asarray(asset.identity_weights, np.float64))
    np.testing.assert_array_equal(again.share, occlusion)
    np.testing.assert_array_equal(again.bend, kept.bend)
    other = skin_occlusion(face_model, face_model.identity_weights(np.random.default_rng(5), truncation=2.0))
    assert not np.array_equal(other.share, occlusion)


def test_every_pose_of_a_subject_carries_its_neutral_occlusion(face_model, asset, occlusion):
    ex = face_model.expression_weights({"jawOpen": 1.0, "eyeBlink_L": 1.0})
    posed = dataclasses.replace(asset, vertices=face_model.vertices(asset.identity_weights, ex), expression_weights=ex)
    neutral, moved = mesh_module.mesh_from_asset(asset), mesh_module.mesh_from_asset(posed)
    for p, q in zip(neutral.primitives, moved.primitives):
        assert p.occlusion is not None and np.array_equal(p.occlusion, q.occlusion)
    face = neutral.material("M_Face")
    assert face.occlusion.min() < 0.5 < face.occlusion.max()


def test_the_glb_carries_it(tmp_path, asset):
    from assetgen.export.asset_files import write_asset

    mesh = mesh_module.read_glb(write_asset(asset, tmp_path).glb)
    for p, q in zip(mesh.primitives, mesh_module.mesh_from_asset(asset).primitives):
        np.testing.assert_array_equal(p.occlusion, q.occlusion)
        np.testing.assert_array_equal(p.bent_normals, q.bent_normals)


@pytest.fixture(scope="module")
def dressed(face_model, dressed_asset):
    """The dressed subject and its bare occlusion (the same identity wearing nothing)."""
    return dressed_asset, skin_occlusion(face_model, dressed_asset.identity_weights).share


def test_what_is_worn_hides_the_skin_under_it(face_model, dressed):
    a, bare = dressed
    worn = asset_occlusion(a).share
    assert worn.shape == bare.shape and worn.dtype == np.float32
    assert (worn <= bare + 1e-6).all()  # wearing something never uncovers the skin
    only = {k: skin_occlusion(face_model, a.identity_weights, a.groom if k == "hair" else None,
                              a.items if k == "items" else None).share for k in ("hair", "items")}
    regions = ("face_skin", "nose", "neck", "back_of_head")
    means = {k: {r: region_mean(face_model, ao, r) for r in regions}
             for k, ao in (("bare", bare), ("items", only["items"]), ("hair", only["hair"]), ("worn", worn))}
    print("ambient occlusion by region: " + "; ".join(
        f"{k}: " + ", ".join(f"{r} {v:.2f}" for r, v in m.items()) for k, m in means.items()))
    # the cap covers the back of the head and its brim shades the brow and the nose; the collar the neck
    assert means["items"]["back_of_head"] < means["bare"]["back_of_head"] - 0.3
    assert means["items"]["nose"] < means["bare"]["nose"] - 0.02
    assert means["items"]["neck"] < means["bare"]["neck"] - 0.15
    # hair over the scalp and the beard over the jaw let part of each ray through: values between the
    # head's 1/RAYS steps
    assert means["hair"]["back_of_head"] < means["bare"]["back_of_head"] - 0.2
    assert means["hair"]["face_skin"] < means["bare"]["face_skin"] - 0.02
    steps = only["hair"] * RAYS
    assert (np.abs(steps - np.round(steps)) > 1e-3).mean() > 0.2


def test_what_is_worn_is_kept_by_content_and_the_same_bytes_again(face_model, dressed):
    a, bare = dressed
    worn = asset_occlusion(a)
    assert asset_occlusion(dataclasses.replace(a, name="renamed")) is worn  # the same subject: kept
    occlusion_module._CACHE.clear()
    again = asset_occlusion(a)
    assert again is not worn and np.array_equal(again.share, worn.share) and np.array_equal(again.bend, worn.bend)
    hatless = dataclasses.replace(a, items=a.items.without("headwear"))
    other = asset_occlusion(hatless)
    assert not np.array_equal(other.share, worn.share) and (other.share >= worn.share - 1e-6).all()
    # the mesh carries what is worn
    face = mesh_module.mesh_from_asset(a).material("M_Face")
    np.testing.assert_array_equal(face.occlusion, worn.share[_source(a, "M_Face")])


def test_the_bent_normals_turn_away_from_what_hides_the_sky(face_model, dressed):
    """Under the cap's brim the open sky lies ahead and below: the brow's bent normals tip down; where every ray
    passes there is no bend; each pose bends its own normals by the neutral's bend."""
    a, bare = dressed
    worn = skin_occlusion(face_model, a.identity_weights, None, a.items)
    up = np.array([0.0, 1.0, 0.0])  # the face model's up (+y)
    normals = np.asarray(face_model.vertex_normals(np.asarray(face_model.vertices(a.identity_weights), np.float32)))
    front = normals[:, 2] > 0.5
    # facing forward, the cap hiding much of its sky but not all (under the cap itself nothing is open: no bend)
    brow = np.flatnonzero(front & (worn.share < bare - 0.2) & (worn.share > 0))
    assert len(brow) > 50
    bent = worn.bent_normals(normals[brow], brow)
    tip = bent @ up - normals[brow] @ up
    print(f"{len(brow)} forward-facing vertices under the brim: the bent normal tips down by {-tip.mean():.2f} "
          f"(of a unit vector's height), {np.mean(tip < 0):.0%} of them down")
    assert tip.mean() < -0.15 and np.mean(tip < 0) > 0.9
    open_ = np.flatnonzero(worn.share == 1.0)
    assert len(open_) and not worn.bend[open_].any()
    ex = face_model.expression_weights({"jawOpen": 1.0})
    posed = dataclasses.replace(a, vertices=face_model.vertices(a.identity_weights, ex), expression_weights=ex)
    m0, m1 = (mesh_module.mesh_from_asset(x).material("M_Face") for x in (a, posed))
    src = _source(a, "M_Face")
    assert np.array_equal(m0.occlusion, m1.occlusion)
    for m in (m0, m1):
        np.testing.assert_allclose(np.linalg.norm(m.bent_normals, axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(m.bent_normals, asset_occlusion(a).bent_normals(m.normals, src), atol=1e-6)
    assert not np.allclose(m0.bent_normals, m1.bent_normals, atol=1e-3)  # the jaw turned its normals and bends


def _source(asset, material: str) -> np.ndarray:
    from assetgen.uv.topology import topology_of

    return next(p.primitive.source_vertex for p in topology_of(asset.model).parts if p.name == material)


def test_it_darkens_the_folds_of_the_rgb_and_nothing_else(asset, occlusion_renders):
    light = make_environment(LightingSpec(kind="shipped", name="forest", sha256=shipped.SHIPPED["forest"],
                                          rotation_deg=0.0, resolution=128))
    renders, _ = occlusion_renders(asset, [[0.0, 0.02, 0.6]], 128, 270.0, ("rgb", "segmentation", "depth", "normal"),
                                   light.shading_inputs())
    renders = {k: v[0] for k, v in renders.items()}
    ours, open_ = renders["occluded"], renders["open"]
    for layer in ("segmentation", "depth", "normal"):
        np.testing.assert_array_equal(getattr(ours, layer), getattr(open_, layer))
    seg, regions = ours.segmentation, ours.regions
    a, b = ours.rgb.astype(np.float64).mean(2), open_.rgb.astype(np.float64).mean(2)
    skin = np.isin(seg, [regions.index(n) for n in ("face_skin", "nose", "neck", "upper_lip", "lower_lip")])
    assert (a[skin] <= b[skin] + 1).all()
    nose, face = seg == regions.index("nose"), seg == regions.index("face_skin")
    drop = {k: 1 - a[m].mean() / b[m].mean() for k, m in (("nose", nose), ("face", face))}
    print(f"rgb darkened by the occlusion: nose {drop['nose']:.1%}, face skin {drop['face']:.1%}")
    assert drop["nose"] > drop["face"] + 0.02 and drop["face"] > 0.01
