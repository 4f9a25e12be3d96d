"""Renderer.update: a renderer re-posed to another expression of its mesh, or given another mesh, renders
exactly what a new renderer of it renders (every layer, hair and worn items included)."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest

from assetgen.render import Camera, Renderer, intrinsics, look_at, mesh_from_asset
from assetgen.render.renderer import LAYERS

SIZE = 96


@pytest.fixture(scope="module")
def dressed(asset, face_model):
    """The shared test asset with a full groom (beard included) and glasses, a cap and a garment."""
    from assetgen.attach.hair import make_groom, sample_groom_params
    from assetgen.attach.items import make_outfit
    from assetgen.attach.items.params import OutfitParams

    out = copy.copy(asset)
    params = sample_groom_params(np.random.default_rng(5), style="medium", beard_style="full")
    out.groom = make_groom(face_model, params, np.random.default_rng(5), rest_vertices=asset.vertices)
    outfit = OutfitParams.model_validate({"glasses": {"frame": "round"}, "headwear": {"kind": "beanie"},
                                          "clothing": {"style": "crew_neck"}})
    out.items = make_outfit(face_model, outfit, np.random.default_rng(5), identity=asset.identity_weights)
    return out


def _posed(asset, model, weights: dict):
    ex = model.expression_weights(weights)
    return replace(asset, vertices=model.vertices(asset.identity_weights, ex), expression_weights=ex)


def _camera(mesh) -> Camera:
    lo, hi = mesh.bounds()
    c = (lo + hi) / 2
    return Camera(intrinsics(SIZE, SIZE, 210.0), look_at(c + [0.15, 0.03, 0.55], c), (SIZE, SIZE))


def _same_render(a, b) -> None:
    for name in ("rgb", "albedo", "depth", "normal", "segmentation", "uv", "material", "triangle", "hair_coverage"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
    for key in ("pixels", "visible"):
        assert np.array_equal(a.landmarks[key], b.landmarks[key]), key


def _updates_render_as_new(meshes) -> None:
    """A renderer of meshes[0] (its rgb resources made) updated to each later mesh and back to the first
    renders every layer as a new renderer of that mesh does."""
    cam = _camera(meshes[0])
    r = Renderer(meshes[0])
    try:
        r.render(cam, LAYERS)
        for m in meshes[1:] + meshes[:1]:
            r.update(m)
            fresh = Renderer(m)
            try:
                _same_render(r.render(cam, LAYERS), fresh.render(cam, LAYERS))
            finally:
                fresh.release()
    finally:
        r.release()


def test_an_updated_renderer_renders_what_a_new_one_does(dressed, face_model):
    names = face_model.expression_names
    jaw = next(n for n in names if "jawopen" in n.lower())
    brow = next(n for n in names if "browinnerup" in n.lower())
    poses = [_posed(dressed, face_model, w) for w in ({}, {jaw: 0.9, brow: 0.8}, {jaw: 0.3})]
    meshes = [mesh_from_asset(p) for p in poses]
    assert any(p.material.startswith("Item_") for p in meshes[0].primitives)
    beard = [[p for p in m.primitives if p.material == "Hair_beard"][0] for m in meshes]
    assert not np.array_equal(beard[0].positions[:10], beard[1].positions[:10])  # the jaw moves the beard
    _updates_render_as_new(meshes)


def test_update_to_another_mesh_renders_it(asset, dressed):
    """A mesh with other materials (here: the bald asset after the dressed one and back) is uploaded anew."""
    _updates_render_as_new([mesh_from_asset(dressed), mesh_from_asset(asset)])
