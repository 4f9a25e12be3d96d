"""One diffusion runtime per process (assetgen.diffusion.loading.shared_runtime): the diffusion skin backend and
the item-texture stage of every asset share it, so a batch loads each model once, and the assets keep the
bytes that fresh runtimes give. Tiny random-weight models, CPU, 2 steps."""

from __future__ import annotations

import collections
import hashlib
import json

import numpy as np
import pytest
import yaml

pytest.importorskip("diffusers")

from assetgen.errors import ConfigError

ROLES = ("text2image", "inpainting", "controlnet_depth", "controlnet_normal")
ITEMS = {"glasses": "rectangular", "lens": "clear", "clothing": "crew_neck", "headwear": "beanie",
         "facewear": "none", "earrings": "none", "piercings": "none", "textures": "diffusion",
         "diffusion": {"steps": 2, "resolution": 32, "size": 16}}
SEEDS = (4, 9)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A registry of the four roles the skin and item stages use, set as ASSETGEN_MODELS; the process's
    shared runtimes are emptied before and after the module."""
    from assetgen.diffusion import loading
    from assetgen.diffusion.testing import save_tiny_controlnet, save_tiny_sd

    root = tmp_path_factory.mktemp("reuse-models")
    save_tiny_sd(root / "sd")
    save_tiny_sd(root / "sd-inpaint", inpainting=True)
    save_tiny_controlnet(root / "cn-depth", seed=1)
    save_tiny_controlnet(root / "cn-normal", seed=2)
    path = root / "models.yaml"
    path.write_text(yaml.safe_dump({"runtime": {"device": "cpu"}, "models": {
        "text2image": {"source": "./sd", "revision": "tiny", "scheduler": "DDIMScheduler"},
        "inpainting": {"source": "./sd-inpaint", "revision": "tiny"},
        "controlnet_depth": {"source": "./cn-depth", "revision": "tiny"},
        "controlnet_normal": {"source": "./cn-normal", "revision": "tiny"}}}))
    mp = pytest.MonkeyPatch()
    mp.setenv("ASSETGEN_MODELS", str(path))
    loading._SHARED.clear()
    yield path
    loading._SHARED.clear()
    mp.undo()


@pytest.fixture(scope="module")
def config():
    from assetgen.diffusion.text_to_uv import load_config

    return load_config(None, view_size=64, steps=2, views=[{"azimuth": 0}, {"azimuth": 30}])


def _recipe():
    from assetgen.recipe import recipe_from_dict

    return recipe_from_dict({"name": "reuse", "texture": {"backend": "diffusion"}, "items": ITEMS})


def _make(face_model, layout, seed: int):
    from assetgen.generate import AssetRequest, make_asset

    return make_asset(face_model, layout, AssetRequest(f"reuse_{seed}", seed, _recipe()))


def _fingerprint(asset) -> str:
    """SHA-256 over every texture map, every item material's image and the provenance."""
    h = hashlib.sha256()
    for name in sorted(asset.textures.materials):
        m = asset.textures.materials[name]
        for a in (m.base_color, m.roughness, m.specular, m.normal):
            h.update(np.ascontiguousarray(a).tobytes())
    for it in asset.items.items:
        for mat in it.mesh.materials:
            h.update(mat.name.encode() + (mat.image_sha256() or "").encode())
    h.update(json.dumps(asset.provenance, sort_keys=True, default=str).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def batch(registry, config, face_model, layout64):
    """Two assets (diffusion skin and item textures) made one after the other in this process, and how many
    times each model role was loaded from disk while they were made."""
    from assetgen.diffusion import loading
    from assetgen.diffusion.text_to_uv import configured

    loads: collections.Counter = collections.Counter()
    original = loading.DiffusionRuntime._load

    def counted(self, role, spec, dtype):
        loads[role] += 1
        return original(self, role, spec, dtype)

    mp = pytest.MonkeyPatch()
    mp.setattr(loading.DiffusionRuntime, "_load", counted)
    try:
        with configured(config):
            assets = [_make(face_model, layout64, s) for s in SEEDS]
    finally:
        mp.undo()
    return assets, loads


def test_a_batch_loads_each_model_once(batch):
    assets, loads = batch
    assert dict(loads) == {role: 1 for role in ROLES}
    a, b = assets
    assert a.textures.backend == b.textures.backend == "diffusion" and a.labels["item_textures"] == "diffusion"
    assert not np.array_equal(a.textures.materials["M_Face"].base_color, b.textures.materials["M_Face"].base_color)


def test_shared_runtime_gives_the_bytes_of_fresh_runtimes(batch, registry, config, face_model, layout64):
    """Each asset made again with its own new runtime (every model loaded afresh) has the same bytes."""
    from assetgen.diffusion.loading import DiffusionRuntime
    from assetgen.diffusion.registry import load_registry
    from assetgen.diffusion.text_to_uv import configured

    for seed, shared in zip(SEEDS, batch[0]):
        fresh = DiffusionRuntime(load_registry(registry))
        with configured(config, fresh):
            alone = _make(face_model, layout64, seed)
        assert {role for role, *_ in fresh._cache if role in ROLES} == set(ROLES)  # it did load its own
        assert _fingerprint(alone) == _fingerprint(shared)


def test_shared_runtime_follows_the_registry_file(registry, tmp_path):
    from assetgen.diffusion import loading
    from assetgen.diffusion.loading import shared_runtime

    first = shared_runtime()
    assert shared_runtime(registry) is first and shared_runtime() is first
    other = tmp_path / "models.yaml"
    other.write_text(registry.read_text().replace("./sd", str(registry.parent / "sd")))
    moved = shared_runtime(other)
    assert moved is not first and shared_runtime(other) is moved
    assert len(loading._SHARED) == 1  # only the latest runtime (and its models) is kept
    other.write_text(other.read_text() + "# edited\n")
    assert shared_runtime(other) is not moved  # same path, new content: a new runtime
    with pytest.raises(ConfigError, match="missing.yaml"):
        shared_runtime(tmp_path / "missing.yaml")
    assert len(loading._SHARED) == 1
    assert shared_runtime() is not first and shared_runtime() is shared_runtime()


def test_a_configured_runtime_takes_precedence(registry, config):
    from assetgen.diffusion.item_textures import ItemTexturePainter, default_runtime
    from assetgen.diffusion.loading import DiffusionRuntime, shared_runtime
    from assetgen.diffusion.registry import load_registry
    from assetgen.diffusion.text_to_uv import configured
    from assetgen.generate import texture_backend
    from assetgen.recipe import ItemTexturesSpec

    mine = DiffusionRuntime(load_registry(registry))
    with configured(config, mine):
        assert texture_backend("diffusion").runtime is mine
        assert default_runtime() is mine and ItemTexturePainter(ItemTexturesSpec()).runtime is mine
    shared = shared_runtime()
    assert shared is not mine
    assert texture_backend("diffusion").runtime is shared and default_runtime() is shared
    assert ItemTexturePainter(ItemTexturesSpec()).runtime is shared
