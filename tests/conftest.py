"""Shared fixtures. The face model comes from ASSETGEN_FACE_MODEL (CI points it at ../shared/...)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tests never write into the user's cache: UV layouts and fetched models go to a throwaway folder.
os.environ["ASSETGEN_CACHE"] = tempfile.mkdtemp(prefix="assetgen-test-cache-")
atexit.register(shutil.rmtree, os.environ["ASSETGEN_CACHE"], ignore_errors=True)

REPO = Path(__file__).resolve().parents[1]
SHARED_MODEL = REPO.parent / "shared" / "face-models" / "ict-facekit"
if SHARED_MODEL.is_dir():
    # The CLI and library code find the model the way a user's would: through the environment.
    os.environ.setdefault("ASSETGEN_FACE_MODEL", str(SHARED_MODEL))


def face_model_dir() -> Path:
    env = os.environ.get("ASSETGEN_FACE_MODEL")
    return Path(env) if env else SHARED_MODEL


@pytest.fixture(scope="session")
def face_model():
    from assetgen.face import load_face_model

    folder = face_model_dir()
    if not folder.is_dir():
        pytest.fail(f"face model not found at {folder}; set ASSETGEN_FACE_MODEL")
    return load_face_model(folder)


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("uv-cache")


@pytest.fixture(scope="session")
def layout64(face_model, uv_cache):
    from assetgen.uv import rasterize_uv

    return rasterize_uv(face_model, 64, cache_dir=uv_cache)


@pytest.fixture(scope="session")
def layout256(face_model, uv_cache):
    from assetgen.uv import rasterize_uv

    return rasterize_uv(face_model, 256, cache_dir=uv_cache)


@pytest.fixture(scope="session")
def asset(face_model, layout256):
    """A procedural asset (seed 1) on the 256² layout, shared by the renderer and baker tests."""
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.recipe import Recipe

    return make_asset(face_model, layout256, AssetRequest(name="t", seed=1, recipe=Recipe()))


@pytest.fixture(scope="session")
def dressed_asset(face_model, layout64):
    """The demo recipe's subject (seed 7, the 64² layout) with a baseball cap, a crew neck and medium hair with a
    full beard."""
    from assetgen.demo import default_recipe_path
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.recipe import ItemsSpec, load_recipe

    base = load_recipe(default_recipe_path())
    recipe = base.model_copy(update={
        "items": ItemsSpec(headwear="baseball_cap", clothing="crew_neck", glasses="none", facewear="none"),
        "hair": base.hair.model_copy(update={"style": "medium", "beard_style": "full"})})
    a = make_asset(face_model, layout64, AssetRequest("dressed", 7, recipe))
    assert set(a.items.kinds) == {"clothing", "headwear"} and a.labels["beard_style"] == "full"
    return a


@pytest.fixture(scope="session")
def renderer(asset):
    from assetgen.render import Renderer

    r = Renderer(asset)
    yield r
    r.release()


@pytest.fixture(scope="module")
def ray_env(tmp_path_factory):
    """The settings that keep Ray on 127.0.0.1 (no usage statistics, the node address, a HOME whose
    ray_bootstrap_config.yaml says provider local), set before Ray is imported or started."""
    home = tmp_path_factory.mktemp("ray-home")
    (home / "ray_bootstrap_config.yaml").write_text("provider: {type: local}\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAY_USAGE_STATS_ENABLED", "0")
        mp.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        mp.setenv("HOME", str(home))
        # This one process starts several Ray instances, each with its own HOME: a local start turns token
        # authentication on for the whole process (cached in Ray's C++ config), which a later cluster
        # without the token then refuses. Off for all of them here.
        mp.setenv("RAY_AUTH_MODE", "disabled")
        yield home



@pytest.fixture
def occlusion_renders(monkeypatch):
    """render(asset, offsets, size, focal, layers, environment, which="asset_occlusion") -> ({"occluded": [...],
    "open": [...]}, cameras): the asset's RenderResults, with the skin's ambient occlusion (render.occlusion)
    and without it (which="asset_hair_occlusion": the hair's, render.hair_occlusion), from size x size cameras
    of focal length `focal` (pixels) looking at the centre of its bounding box from each offset (metres)."""
    from assetgen.render import Camera, Renderer
    from assetgen.render import mesh as mesh_module
    from assetgen.render.camera import intrinsics, look_at

    def render(asset, offsets, size, focal, layers, environment, which="asset_occlusion"):
        out, cameras = {}, []
        for mode in ("occluded", "open"):
            if mode == "open":
                monkeypatch.setattr(mesh_module, which, lambda asset: None)
            r = Renderer(mesh_module.mesh_from_asset(asset))
            try:
                lo, hi = r.mesh.bounds()
                c = (lo + hi) / 2
                cameras = [Camera(intrinsics(size, size, focal), look_at(c + off, c), (size, size)) for off in offsets]
                out[mode] = [r.render(cam, layers, environment=environment) for cam in cameras]
            finally:
                r.release()
        monkeypatch.undo()
        return out, cameras

    return render
