"""What each eye sees of its surroundings (render.eye_visibility) and how the fast renderer uses it: the
cornea mirrors only what the brow, lids, nose and cheeks leave in view, and the eyeball is shaded in its
socket."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from assetgen.face.ict import CORNEA_MATERIALS
from assetgen.lighting import LightingSpec, make_environment, shipped
from assetgen.render import Camera, Renderer
from assetgen.render import renderer as renderer_module
from assetgen.render.camera import intrinsics, look_at
from assetgen.render.eye_visibility import VIS_SIZE, cell_directions, eye_points, visibility_maps
from assetgen.render.mesh import RenderMesh, mesh_from_asset


@pytest.fixture(scope="module")
def mesh(asset):
    return mesh_from_asset(asset)


@pytest.fixture(scope="module")
def maps(mesh):
    return visibility_maps(mesh)


def cell_of(d: np.ndarray) -> tuple[int, int]:
    """(row, column) of the map cell holding world direction d (the environment's parametrisation)."""
    w, h = VIS_SIZE
    u = np.arctan2(d[2], d[0]) / (2 * np.pi) + 0.5
    v = np.arccos(np.clip(d[1], -1, 1)) / np.pi
    return min(int(v * h), h - 1), min(int(u * w), w - 1)


def test_each_eye_sees_a_human_field_of_view(mesh, maps):
    """The neutral face looking down +z: each eye sees ahead, nothing straight up (the brow) or behind, and
    further to its own side than across the nose."""
    seen, centres = maps
    assert seen.shape == (2, VIS_SIZE[1], VIS_SIZE[0], 3) and seen.dtype == np.float32
    assert (seen >= 0).all() and (seen <= 1).all()
    eyes = eye_points(mesh)
    assert centres[0][0] > 0 > centres[1][0]  # eye 0 is the subject's left (+x)
    for k, e in enumerate(eyes):
        centre, axis = e.centre, e.axis
        assert axis[2] > 0.9 and len(e.cornea) == 8 and ((e.cornea - centre) @ axis > 0).all()
        assert len(e.sclera) == 16 and ((e.sclera - centre) @ axis > 0).all()
        vis, shade, white = seen[k, ..., 0], seen[k, ..., 1], seen[k, ..., 2]
        assert vis[cell_of(axis)] > 0.8, vis[cell_of(axis)]
        assert vis[0].max() == 0.0  # within 11 degrees of straight up: the brow
        dirs = cell_directions()
        assert vis[dirs @ axis < -0.5].max() == 0.0  # behind the eye
        side = np.sign(centre[0])
        # 70 degrees off the axis, level: towards the temple and towards the nose
        temple = cell_of(np.array([side * np.sin(np.radians(70)), 0.0, np.cos(np.radians(70))]))
        nose = cell_of(np.array([-side * np.sin(np.radians(70)), 0.0, np.cos(np.radians(70))]))
        assert vis[temple] > vis[nose] + 0.3, (vis[temple], vis[nose])
        # a surface of the eyeball facing ahead gets part of the light only: the socket shades it
        print(f"eye {k}: ahead {vis[cell_of(axis)]:.2f}, temple {vis[temple]:.2f}, nose {vis[nose]:.2f}, "
              f"shade ahead: cornea {shade[cell_of(axis)]:.2f}, sclera {white[cell_of(axis)]:.2f}")
        assert 0.3 < shade[cell_of(axis)] < 0.95, shade[cell_of(axis)]
        # the white sits deeper in the socket than the cornea, by the lid margins
        assert 0.1 < white[cell_of(axis)] < shade[cell_of(axis)], (white[cell_of(axis)], shade[cell_of(axis)])


def test_closed_lids_hide_the_surroundings(face_model, asset, maps):
    """The maps follow the expression: with the eyes shut, the lids cover most of the corneas."""
    ex = face_model.expression_weights({"eyeBlink_L": 1.0, "eyeBlink_R": 1.0})
    shut = dataclasses.replace(asset, vertices=face_model.vertices(asset.identity_weights, ex), expression_weights=ex)
    closed, _ = visibility_maps(mesh_from_asset(shut))
    open_ = maps[0]
    for k in range(2):
        print(f"eye {k}: mean visibility {open_[k, ..., 0].mean():.3f} open, {closed[k, ..., 0].mean():.3f} shut")
        assert closed[k, ..., 0].mean() < 0.15 * open_[k, ..., 0].mean(), (closed[k, ..., 0].mean(), open_[k, ..., 0].mean())


def test_a_mesh_without_eyes_sees_everything(mesh):
    eyeless = RenderMesh(mesh.name, [p for p in mesh.primitives if p.material not in CORNEA_MATERIALS],
                         mesh.landmarks_world, mesh.regions)
    assert eye_points(eyeless) is None and visibility_maps(eyeless) is None
    r = Renderer(eyeless)
    try:
        lo, hi = eyeless.bounds()
        c = (lo + hi) / 2
        res = r.render(Camera(intrinsics(32, 32, 60.0), look_at(c + [0, 0, 0.6], c), (32, 32)), ("rgb",))
        assert res.rgb.max() > 0
    finally:
        r.release()


def test_the_eyes_are_shaded_and_mirror_less_only_where_they_are(asset, monkeypatch):
    """Close on the eyes under a shipped HDRI, from below (the cornea mirrors the sky above, which the brow
    hides): the sclera and iris come out darker than with maps that see everything, and nothing else in
    the image changes."""
    light = make_environment(LightingSpec(kind="shipped", name="city", sha256=shipped.SHIPPED["city"],
                                          rotation_deg=0.0, resolution=128))
    renders = {}
    for mode in ("maps", "open"):
        if mode == "open":
            monkeypatch.setattr(renderer_module, "visibility_maps", lambda mesh: None)
        r = Renderer(asset)
        try:
            centre = r.mesh.landmarks_world[36:48].mean(0)
            camera = Camera(intrinsics(128, 64, 600.0), look_at(centre + [0.0, -0.15, 0.4], centre), (128, 64))
            renders[mode] = r.render(camera, ("rgb", "segmentation"), environment=light.shading_inputs())
        finally:
            r.release()
    seg = renders["maps"].segmentation
    regions = renders["maps"].regions
    eye = np.isin(seg, [regions.index(n) for n in ("sclera_left", "sclera_right", "iris_left", "iris_right")])
    assert eye.sum() > 200
    ours, open_ = (renders[m].rgb.astype(np.int32) for m in ("maps", "open"))
    print(f"eyes: mean {ours[eye].mean():.1f} with the maps, {open_[eye].mean():.1f} seeing everything")
    assert ours[eye].mean() < 0.93 * open_[eye].mean(), (ours[eye].mean(), open_[eye].mean())
    assert (ours[eye] <= open_[eye] + 1).all()
    # the overlays over the eyes (lids' shadow, tear line) blend over them: a pixel beyond the eyes stays
    grown = eye.copy()
    for axis in (0, 1):
        for step in (-2, -1, 1, 2):
            grown |= np.roll(eye, step, axis)
    np.testing.assert_array_equal(ours[~grown], open_[~grown])
