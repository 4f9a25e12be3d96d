"""Hair's ambient occlusion (render.hair_occlusion): the sweep on grids whose answer is known, a groom dark
inside and open outside, kept per subject with the same bytes, carried by the render mesh and the GLB, and
darkening the hair of the rgb layer only."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from assetgen.lighting import LightingSpec, make_environment, shipped
from assetgen.render import hair_occlusion as hair_occlusion_module
from assetgen.render import mesh as mesh_module
from assetgen.render.hair_occlusion import DIRECTIONS, _sweep, asset_hair_occlusion


def test_the_sweep_sees_everything_in_empty_space_and_nothing_inside_an_opaque_block():
    empty = np.zeros((6, 7, 8))
    share, bent = _sweep(empty, 0.5)
    assert share.shape == empty.shape and bent.shape == empty.shape + (3,)
    np.testing.assert_allclose(share, 1.0)
    np.testing.assert_allclose(bent, 0.0, atol=1e-12)
    block = np.zeros((9, 9, 9))
    block[3:6, 3:6, 3:6] = 100.0  # opaque
    share, bent = _sweep(block, 0.5)
    assert share[4, 4, 4] < 1e-6
    # beside the block the open side lies away from it
    beside = bent[4, 4, 7]
    assert beside[2] > 0 and abs(beside[0]) < 1e-9 and abs(beside[1]) < 1e-9
    # in an opaque corner (x < 4 and z < 4 filled): 15 of the 26 directions hidden, the share twice the rest
    corner = np.zeros((9, 9, 9))
    corner[:4] = 100.0
    corner[:, :, :4] = 100.0
    share, bent = _sweep(corner, 0.5)
    assert share[4, 4, 4] == pytest.approx(2 * 11 / 26, abs=1e-6)
    assert bent[4, 4, 4][0] > 0 and bent[4, 4, 4][2] > 0 and abs(bent[4, 4, 4][1]) < 1e-9
    # inside a half-dense slab part of the light passes; beside it, the open side's half all of it
    slab = np.zeros((9, 9, 9))
    slab[:, :, 3:6] = 2.0
    share, _ = _sweep(slab, 0.5)
    assert 0.05 < share[4, 4, 4] < 0.9 and share[4, 4, 7] == 1.0
    assert len(DIRECTIONS) == 26 and len({tuple(d) for d in DIRECTIONS}) == 26


@pytest.fixture(scope="module")
def groom_occlusion(dressed_asset):
    return asset_hair_occlusion(dressed_asset)


def _hair(mesh):
    return [p for p in mesh.primitives if p.material.startswith("Hair_")]


def test_a_groom_is_dark_inside_and_open_outside(dressed_asset, groom_occlusion):
    occ = groom_occlusion
    assert occ is not None and occ.share.min() >= 0 and occ.share.max() <= 1
    hair = {p.material: p for p in _hair(mesh_module.mesh_from_asset(dressed_asset))}
    scalp, beard = hair["Hair_scalp_hair"], hair["Hair_beard"]
    centre = np.asarray(dressed_asset.vertices, np.float64).mean(0) * 0.01  # metres, as the mesh
    for name, p in (("scalp hair", scalp), ("beard", beard)):
        assert p.occlusion.dtype == np.float32 and p.occlusion.shape == (len(p.positions),)
        np.testing.assert_allclose(np.linalg.norm(p.bent_normals, axis=1), 1.0, atol=1e-5)
        v = p.texcoords[:, 1]  # root 0 -> tip 1
        roots, tips = np.median(p.occlusion[v < 0.15]), np.median(p.occlusion[v > 0.85])
        outward = p.positions - centre
        outward /= np.linalg.norm(outward, axis=1, keepdims=True)
        away = np.mean(np.einsum("ni,ni->n", p.bent_normals[v < 0.15], outward[v < 0.15]) > 0)
        print(f"{name}: median share at the roots {roots:.2f}, at the tips {tips:.2f}; "
              f"{away:.0%} of the roots' open sides face away from the head")
        assert roots < tips - 0.15 and away > 0.8


def test_kept_per_subject_and_the_same_bytes_again(dressed_asset, groom_occlusion):
    assert asset_hair_occlusion(dataclasses.replace(dressed_asset, name="renamed")) is groom_occlusion
    hair_occlusion_module._CACHE.clear()
    again = asset_hair_occlusion(dressed_asset)
    assert again is not groom_occlusion
    np.testing.assert_array_equal(again.share, groom_occlusion.share)
    np.testing.assert_array_equal(again.bent, groom_occlusion.bent)
    # every pose looks up its own hair in the subject's one grid: the beard follows the jaw
    a = dressed_asset
    ex = a.model.expression_weights({"jawOpen": 1.0})
    posed = dataclasses.replace(a, vertices=a.model.vertices(a.identity_weights, ex), expression_weights=ex)
    p0, p1 = (next(p for p in _hair(mesh_module.mesh_from_asset(x)) if p.material == "Hair_beard") for x in (a, posed))
    assert not np.array_equal(p0.occlusion, p1.occlusion)
    assert asset_hair_occlusion(posed) is again


def test_the_glb_carries_it(tmp_path, dressed_asset):
    from assetgen.export.asset_files import write_asset

    read = _hair(mesh_module.read_glb(write_asset(dressed_asset, tmp_path).glb))
    made = _hair(mesh_module.mesh_from_asset(dressed_asset))
    assert len(read) == len(made) > 1
    for p, q in zip(read, made):
        np.testing.assert_array_equal(p.occlusion, q.occlusion)
        np.testing.assert_array_equal(p.bent_normals, q.bent_normals)


def test_it_darkens_the_hair_of_the_rgb_and_nothing_else(dressed_asset, occlusion_renders):
    light = make_environment(LightingSpec(kind="shipped", name="forest", sha256=shipped.SHIPPED["forest"],
                                          rotation_deg=0.0, resolution=128))
    out, _ = occlusion_renders(dressed_asset, [[0.15, 0.05, 0.55]], 128, 250.0, ("rgb", "segmentation", "depth", "normal"),
                               light.shading_inputs(), which="asset_hair_occlusion")
    ours, open_ = out["occluded"][0], out["open"][0]
    for layer in ("segmentation", "depth", "normal"):
        np.testing.assert_array_equal(getattr(ours, layer), getattr(open_, layer))
    seg, regions = ours.segmentation, ours.regions
    a, b = ours.rgb.astype(np.float64).mean(2), open_.rgb.astype(np.float64).mean(2)
    hair = np.isin(seg, [regions.index(n) for n in ("scalp_hair", "beard") if n in regions])
    skin = seg == regions.index("face_skin")
    drop = 1 - a[hair].mean() / b[hair].mean()
    print(f"hair pixels {int(hair.sum())}: darkened by {drop:.1%}; face skin changed at "
          f"{int((a[skin] != b[skin]).sum())} of {int(skin.sum())} pixels")
    assert hair.sum() > 200 and drop > 0.1
    assert (a[hair] <= b[hair] + 2).mean() > 0.98
    # the skin is shaded as before: only where soft hair blends over it (the beard's and the fringe's edges)
    # does it change, and darker
    assert (a[skin] == b[skin]).mean() > 0.7 and (a[skin] <= b[skin] + 1).all()


def test_what_is_worn_over_the_hair_hides_it(dressed_asset, groom_occlusion, monkeypatch):
    """The cap's crown and brim and the collar (their opaque parts) fill their cells too: the brows under the
    brim, the hair under the crown and the beard over the collar see less; nothing sees more (the grid lies
    on a fixed lattice, so adding what is worn moves no cell)."""
    a = dressed_asset
    bare = hair_occlusion_module.groom_occlusion(a.model, a.identity_weights, a.groom, None)
    assert bare is not groom_occlusion and bare.voxel == groom_occlusion.voxel
    worn_mesh = mesh_module.mesh_from_asset(a)
    monkeypatch.setattr(mesh_module, "asset_hair_occlusion", lambda asset: bare)
    bare_mesh = mesh_module.mesh_from_asset(a)
    monkeypatch.undo()
    drops = {}
    for p, q in zip(_hair(worn_mesh), _hair(bare_mesh)):
        worn, alone = p.occlusion, q.occlusion
        assert (worn <= alone + 1e-3).all(), p.material
        drops[p.material.removeprefix("Hair_")] = float(alone.mean() - worn.mean())
    print("mean share lost to what is worn: " + ", ".join(f"{k} {v:.2f}" for k, v in drops.items()))
    assert drops["eyebrow_left"] > 0.2 and drops["eyebrow_right"] > 0.2
    assert drops["scalp_hair"] > 0.03 and drops["beard"] > 0.02
