"""Diffusion-made item textures (recipe items.textures: diffusion) on a tiny random-weight text2image model:
painted materials, seeds, provenance, the library, the renderer, the exporters and the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("diffusers")

from assetgen.errors import ConfigError

ITEMS = {"glasses": "rectangular", "lens": "clear", "clothing": "crew_neck", "headwear": "beanie",
         "facewear": "none", "earrings": "stud", "piercings": "none",
         "glasses_params": {"metal": False, "frame_pattern": "tortoise"}}
DIFFUSION = {"steps": 2, "resolution": 32, "size": 16}
PAINTED = {"glasses_frame", "clothing_body", "clothing_trim", "headwear_main"}
SEED = 3


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    """A registry with only a tiny text2image model (the role this stage needs), set as ASSETGEN_MODELS."""
    from assetgen.diffusion.testing import save_tiny_sd

    root = tmp_path_factory.mktemp("item-models")
    save_tiny_sd(root / "sd")
    path = root / "models.yaml"
    path.write_text(yaml.safe_dump({"runtime": {"device": "cpu"}, "models": {
        "text2image": {"source": "./sd", "revision": "tiny", "scheduler": "DDIMScheduler"}}}))
    mp = pytest.MonkeyPatch()
    mp.setenv("ASSETGEN_MODELS", str(path))
    yield path
    mp.undo()


def _recipe(**diffusion):
    from assetgen.recipe import recipe_from_dict

    return recipe_from_dict({"name": "worn", "items": {**ITEMS, "textures": "diffusion",
                                                        "diffusion": {**DIFFUSION, **diffusion}}})


@pytest.fixture(scope="module")
def painted(registry, face_model, layout64):
    """The same asset made twice (seed SEED) with diffusion item textures, and the progress reports."""
    from assetgen.generate import AssetRequest, make_asset

    reports: list[tuple[int, int, str]] = []
    a = make_asset(face_model, layout64, AssetRequest("worn", SEED, _recipe()),
                   progress=lambda d, t, w: reports.append((d, t, w)))
    b = make_asset(face_model, layout64, AssetRequest("worn", SEED, _recipe()))
    return a, b, reports


def _materials(asset) -> dict:
    return {m.name: m for it in asset.items.items for m in it.mesh.materials}


def test_recipe_key_is_validated_and_procedural_assets_are_unchanged(face_model, layout64):
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.recipe import recipe_from_dict

    with pytest.raises(ConfigError, match="textures"):
        recipe_from_dict({"items": {"textures": "painted"}})
    with pytest.raises(ConfigError, match="items.diffusion is set but items.textures is procedural"):
        recipe_from_dict({"items": {"diffusion": {"steps": 4}}})
    with pytest.raises(ConfigError, match="stepz"):
        recipe_from_dict({"items": {"textures": "diffusion", "diffusion": {"stepz": 4}}})
    plain = recipe_from_dict({"items": {**ITEMS, "textures": "procedural"}})
    assert "textures" not in plain.as_dict()["items"] and "diffusion" not in plain.as_dict()["items"]
    assert plain.as_dict() == recipe_from_dict({"items": ITEMS}).as_dict()
    assert _recipe().as_dict()["items"]["textures"] == "diffusion"
    assert _recipe().as_dict()["items"]["diffusion"]["steps"] == 2
    a = make_asset(face_model, layout64, AssetRequest("p", SEED, plain))
    assert all(m.image is None for m in _materials(a).values())
    assert "textures" not in a.provenance["items"] and "item_textures" not in a.labels


def test_fabric_and_acetate_are_painted_seeded_and_recorded(painted, registry):
    a, b, reports = painted
    mats, again = _materials(a), _materials(b)
    assert {n for n, m in mats.items() if m.image is not None} == PAINTED
    assert mats["earrings_metal"].image is None and mats["glasses_lenses"].image is None  # metal, lens
    for name in PAINTED:
        m = mats[name]
        assert m == again[name] and m.image == again[name].image  # one seed, the same bytes
        procedural = replace(m, image=None)
        assert m.texture().shape == procedural.texture().shape == (m.size, m.size, 3)
        assert not np.array_equal(m.texture(), procedural.texture())
        # tint "mean": the image keeps the procedural material's mean linear colour (labels stay true)
        assert np.abs(m.linear().reshape(-1, 3).mean(0) - procedural.linear().reshape(-1, 3).mean(0)).max() < 0.01
    assert a.items.digest() == b.items.digest() == a.provenance["items"]["digest"]
    prov = a.provenance["items"]["textures"]
    assert prov["models"]["text2image"]["source"] == str((registry.parent / "sd").resolve())
    assert prov["models"]["text2image"]["revision"] == "tiny" and prov["scheduler"] == "DDIMScheduler"
    assert (prov["steps"], prov["resolution"], prov["method"]) == (2, 32, "diffusion")
    assert set(prov["materials"]) == PAINTED
    for name, rec in prov["materials"].items():
        assert rec["sha256"] == mats[name].image_sha256() and isinstance(rec["seed"], int)
    assert "tortoiseshell acetate" in prov["materials"]["glasses_frame"]["prompt"]
    assert "knit wool" in prov["materials"]["headwear_main"]["prompt"]
    assert a.labels["item_textures"] == "diffusion"
    items = [(d, t) for d, t, w in reports if w.startswith("item texture ")]
    assert items[-1] == (len(PAINTED) * 2, len(PAINTED) * 2) and len(items) == len(PAINTED) * 2
    assert [d for d, _ in items] == sorted(d for d, _ in items)


def test_another_seed_paints_other_images(painted):
    from assetgen.diffusion.item_textures import ItemTexturePainter
    from assetgen.recipe import ItemTexturesSpec

    outfit = painted[0].items
    painter = ItemTexturePainter(ItemTexturesSpec(**DIFFUSION))
    (o1, p1), (o2, _) = painter(outfit, 11), painter(outfit, 12)
    assert p1["seed"] == 11 and o1.digest() != o2.digest()
    trim = [{m.name: m for it in o.items for m in it.mesh.materials}["clothing_trim"] for o in (o1, o2)]
    assert trim[0].image != trim[1].image


def test_tileable_generation_treats_the_image_as_a_torus(registry):
    """With circular padding the whole text2image model is shift-equivariant on the torus: rolled start
    latents give the same image rolled (so its opposite edges continue each other, no seam); with the
    model's own zero padding they do not. The shared pipeline's padding is restored afterwards."""
    import torch

    from assetgen.diffusion.item_textures import circular_padding, default_runtime

    pipe = default_runtime().load("text2image").obj
    latents = torch.randn((1, 4, 16, 16), generator=torch.Generator("cpu").manual_seed(5))
    shift = 4  # latent texels: a multiple of the UNet's downsampling (2)
    scale = pipe.vae_scale_factor

    def image(lat: torch.Tensor) -> np.ndarray:
        return pipe(prompt="knit fabric", height=32, width=32, num_inference_steps=2, latents=lat.clone(),
                    output_type="np").images[0]

    def rolled_error() -> float:
        a = image(latents)
        b = image(torch.roll(latents, shifts=(shift, shift), dims=(2, 3)))
        return float(np.abs(np.roll(a, (shift * scale, shift * scale), axis=(0, 1)) - b).max())

    with circular_padding(pipe.unet, pipe.vae):
        tiled = rolled_error()
    plain = rolled_error()
    assert tiled < 1e-3 < plain
    assert all(c.padding_mode == "zeros" for c in pipe.unet.modules() if isinstance(c, torch.nn.Conv2d))


def test_library_stores_and_reloads_the_images(painted, tmp_path):
    from assetgen.library import Library

    a = painted[0]
    with Library.open(tmp_path / "lib", create=True) as lib:
        aid = lib.put(a).id
        assert lib.put(painted[1]).id == aid  # same bytes, same id
        record = lib.record(aid).record
        assert {r for r in record["blobs"] if "/image." in r} == {
            "items/glasses/image.glasses_frame", "items/clothing/image.clothing_body",
            "items/clothing/image.clothing_trim", "items/headwear/image.headwear_main"}
        back = lib.load(aid, model=a.model)
        assert lib.check() == []
    assert back.items.digest() == a.items.digest()
    for name, m in _materials(a).items():
        assert _materials(back)[name] == m
        assert np.array_equal(_materials(back)[name].texture(), m.texture())
    assert back.provenance["items"]["textures"]["materials"]["clothing_body"]["prompt"] == \
        a.provenance["items"]["textures"]["materials"]["clothing_body"]["prompt"]


def test_renderer_albedo_shows_the_stored_texels(painted):
    """Every albedo pixel of a painted part lies within the 2x2 stored texels its uv samples (bilinear)."""
    from assetgen.render import Camera, Renderer, intrinsics, look_at

    a = painted[0]
    mats = _materials(a)
    r = Renderer(a)
    try:
        lo, hi = r.mesh.bounds()
        c = (lo + hi) / 2
        cam = Camera(intrinsics(160, 160, 200.0), look_at(c + np.array([0.0, 0.05, 0.6]), c), (160, 160))
        res = r.render(cam, ["albedo", "uv"], supersample=1)
    finally:
        r.release()
    checked = 0
    for name, part in (("clothing_body", "Item_clothing_body"), ("headwear_main", "Item_headwear_main")):
        img = mats[name].texture().astype(np.int16)
        k = res.materials.index(part)
        ys, xs = np.nonzero(res.material == k)
        assert len(ys) > 50, part
        uv = res.uv[ys, xs].astype(np.float64)
        s = img.shape[0]
        x = np.clip(uv[:, 0] * s - 0.5, 0, s - 1)
        y = np.clip(uv[:, 1] * s - 0.5, 0, s - 1)
        x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
        x1, y1 = np.minimum(x0 + 1, s - 1), np.minimum(y0 + 1, s - 1)
        quad = np.stack([img[y0, x0], img[y0, x1], img[y1, x0], img[y1, x1]])
        got = res.albedo[ys, xs].astype(np.int16)
        inside = (got >= quad.min(0) - 2) & (got <= quad.max(0) + 2)
        assert inside.all(axis=1).mean() > 0.99, part
        procedural = replace(mats[name], image=None).texture().astype(np.int16)
        assert np.abs(got - procedural[y0, x0]).mean() > 2, part  # not the procedural pattern
        checked += len(ys)
    assert checked > 0


def test_glb_and_obj_carry_the_stored_images(painted, tmp_path):
    import cv2

    from assetgen.export.asset_files import write_asset
    from assetgen.export.formats import FORMATS
    from assetgen.render import read_glb

    a = painted[0]
    mats = _materials(a)
    mesh = read_glb(write_asset(a, tmp_path).glb)
    parts = {"glasses_frame": "Item_glasses_frame", "clothing_body": "Item_clothing_body",
             "clothing_trim": "Item_clothing_trim", "headwear_main": "Item_headwear_main"}
    for name, part in parts.items():
        assert np.array_equal(mesh.material(part).base_color[..., :3], mats[name].image_array()), part
    (tmp_path / "obj").mkdir()
    files = FORMATS["obj"](a, tmp_path / "obj", "w")
    for name, part in parts.items():
        png = next(f for f in files if f.name == f"{part}_base_color.png")
        img = cv2.cvtColor(cv2.imread(str(png), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        assert np.array_equal(img, mats[name].image_array()), part


def _recipe_file(tmp_path: Path) -> Path:
    path = tmp_path / "worn.yaml"
    path.write_text(yaml.safe_dump({"name": "worn", "items": {**ITEMS, "textures": "diffusion",
                                                              "diffusion": DIFFUSION}}))
    return path


def test_cli_missing_model_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    from assetgen.cli import main

    reg = tmp_path / "models.yaml"
    reg.write_text(yaml.safe_dump({"runtime": {"device": "cpu"}, "models": {}}))
    monkeypatch.setenv("ASSETGEN_MODELS", str(reg))
    out = tmp_path / "out"
    assert main(["demo", "--recipe", str(_recipe_file(tmp_path)), "--out", str(out), "--n", "1",
                 "--resolution", "64"]) == 2
    captured = capsys.readouterr()
    lines = [ln for ln in (captured.out + captured.err).splitlines() if ln.strip()]
    assert len(lines) == 1 and "text2image" in lines[0] and str(reg) in " ".join(lines[0].split())
    assert "Traceback" not in captured.err and not out.exists()


def test_cli_batch_stores_painted_assets(registry, tmp_path):
    from assetgen.cli import main
    from assetgen.library import Library

    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump({"name": "worn-job", "n": 1, "recipe": str(_recipe_file(tmp_path)), "seed": 4,
                                   "resolution": 64}))
    lib_root = tmp_path / "lib"
    assert main(["batch", str(job), "--library", str(lib_root)]) == 0
    with Library.open(lib_root) as lib:
        (aid,) = lib.query(["item_textures=diffusion"])
        rec = lib.record(aid).record
        entry = {m["name"]: m for it in rec["items"]["items"] for m in it["materials"]}
        assert {n for n, m in entry.items() if "image" in m} == PAINTED
        assert json.dumps(rec["provenance"]["items"]["textures"]["models"]["text2image"]["revision"]) == '"tiny"'
