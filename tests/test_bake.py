"""Projection baking: albedo round trip (render -> bake -> compare with the asset's texture), bad input."""

from __future__ import annotations

import numpy as np
import pytest

from assetgen.bake import Baker, View, pad_nearest
from assetgen.errors import InputError
from assetgen.render import Camera, Renderer, intrinsics, look_at

SIZE = 256
SKIN = ("M_Face", "M_BackHead")


@pytest.fixture(scope="module")
def asset(face_model, layout256):
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.recipe import Recipe

    return make_asset(face_model, layout256, AssetRequest(name="t", seed=1, recipe=Recipe()))


@pytest.fixture(scope="module")
def renderer(asset):
    r = Renderer(asset)
    yield r
    r.release()


def ring_cameras(renderer, size=SIZE) -> list[Camera]:
    """Five yaws at eye level and one from above: 6 views around the face."""
    lo, hi = renderer.mesh.bounds()
    c = (lo + hi) / 2
    cams = []
    for yaw, pitch in ((-70, 0), (-35, 0), (0, 0), (35, 0), (70, 0), (0, 30)):
        y, p = np.radians(yaw), np.radians(pitch)
        eye = c + 0.5 * np.array([np.sin(y) * np.cos(p), np.sin(p), np.cos(y) * np.cos(p)])
        cams.append(Camera(intrinsics(size, size, 2.0 * size), look_at(eye, c), (size, size)))
    return cams


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_albedo_round_trip(renderer):
    views = [View(renderer.render(cam, ["albedo"]).albedo, cam) for cam in ring_cameras(renderer)]
    baker = Baker(renderer.mesh)
    try:
        out = baker.bake(views)
    finally:
        baker.release()
    got, ref, got_conf, ref_conf, lines = [], [], [], [], []
    for name, res in out.items():
        own = renderer.mesh.material(name).base_color[..., :3]
        assert res.texture.shape == own.shape and res.coverage.shape == own.shape[:2]
        assert not (res.unseen & res.seen).any() and (res.uv_mask >= res.seen).all()
        seen, confident = res.seen, res.confidence >= 0.5
        if seen.any():
            lines.append(f"{name}: seen {seen.mean():.2f}, PSNR {psnr(res.texture[seen], own[seen]):.1f} dB")
        if name in SKIN:
            got.append(res.texture[seen])
            ref.append(own[seen])
        got_conf.append(res.texture[confident])
        ref_conf.append(own[confident])
    print("\n".join(lines))
    # The skin maps (256² for the whole head) are at the views' resolution: every seen texel counts.
    skin = psnr(np.concatenate(got), np.concatenate(ref))
    # Small parts (iris, sclera, lashes: 64-128² on a 1 cm eye) are far finer than a 256 px view
    # resolves; the resolution-aware confidence says so, and confident texels must round-trip too.
    confident = psnr(np.concatenate(got_conf), np.concatenate(ref_conf))
    print(f"skin PSNR {skin:.1f} dB, confident texels (all materials) {confident:.1f} dB")
    assert skin >= 35.0 and confident >= 35.0
    face = out["M_Face"]
    assert face.seen[face.uv_mask].mean() > 0.85


def test_camera_seeing_nothing_gives_empty_coverage(renderer):
    lo, hi = renderer.mesh.bounds()
    c = (lo + hi) / 2
    cam = Camera(intrinsics(64, 64, 100), look_at(c + [0, 0, 0.5], c + [0, 0, 1.5]), (64, 64))
    baker = Baker(renderer.mesh)
    try:
        out = baker.bake([View(np.full((64, 64, 3), 200, np.uint8), cam)], materials=["M_Face"])
    finally:
        baker.release()
    res = out["M_Face"]
    assert not res.coverage.any() and (res.unseen == res.uv_mask).all() and res.uv_mask.mean() > 0.5


def test_bad_views_are_refused(renderer):
    cam = ring_cameras(renderer, 64)[2]
    with pytest.raises(InputError, match="64x64"):
        View(np.zeros((32, 64, 3), np.uint8), cam)
    with pytest.raises(InputError, match="uint8"):
        View(np.zeros((64, 64, 3), np.float32), cam)
    with pytest.raises(InputError, match="no material"):
        Baker(renderer.mesh).bake([View(np.zeros((64, 64, 3), np.uint8), cam)], materials=["M_Nope"])
    with pytest.raises(InputError):
        Baker(renderer.mesh, sizes={"M_Face": (0, 10)})


def test_pad_nearest_copies_nearest_seen_texel():
    img = np.zeros((5, 5, 3), np.uint8)
    mask = np.zeros((5, 5), bool)
    img[2, 2] = (10, 20, 30)
    mask[2, 2] = True
    img[0, 0] = 99  # unseen garbage must not survive
    out = pad_nearest(img, mask, 2)
    assert (out[1:4, 1:4] == (10, 20, 30)).all() and (out[0, 0] == 0).all()


def test_render_and_bake_commands(tmp_path, asset):
    import json

    from PIL import Image

    from assetgen.cli import main
    from assetgen.generate import write_asset

    written = write_asset(asset, tmp_path)
    views = tmp_path / "views"
    assert main(["render", str(written.glb), "--out", str(views), "--size", "96", "--views", "3", "--seed", "5"]) == 0
    rec = json.loads((views / "view_002.json").read_text())
    assert rec["image_size"] == [96, 96] and len(rec["landmarks"]["visible"]) == 68
    assert rec["segmentation"]["0"] == "background" and np.asarray(rec["K"]).shape == (3, 3)
    depth = np.load(views / "view_000.depth.npy")
    assert depth.dtype == np.float32 and depth.shape == (96, 96) and np.isinf(depth).any()
    assert np.asarray(Image.open(views / "view_000.seg.png")).max() < len(rec["segmentation"])
    out = tmp_path / "baked"
    assert main(["bake", str(written.glb), "--views", str(views), "--layer", "albedo", "--out", str(out)]) == 0
    face = np.asarray(Image.open(out / "M_Face.png"))
    cov = np.asarray(Image.open(out / "M_Face.coverage.png"))
    assert face.shape[:2] == cov.shape and cov.max() > 0
    assert main(["bake", str(written.glb), "--views", str(tmp_path), "--out", str(out)]) == 2  # no views: clear error


def test_render_config_is_validated(tmp_path):
    from assetgen.errors import ConfigError
    from assetgen.render.views import load_ranges

    bad = tmp_path / "r.yaml"
    bad.write_text("yaw_deg: [30, -30]\n")
    with pytest.raises(ConfigError, match="yaw_deg"):
        load_ranges(bad)
    assert load_ranges().supersample >= 1
