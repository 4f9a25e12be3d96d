"""Finding the face-model folder, the per-process model cache, and the `face-model` CLI sub-app."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assetgen.errors import FaceModelError
from assetgen.face import ict
from assetgen.face import locate as L
from assetgen.cli.face import app

try:
    from .test_face_import import make_clone
except ImportError:  # tests/ run as plain folder rather than a package
    from test_face_import import make_clone


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    monkeypatch.delenv(L.ENV_VAR, raising=False)
    monkeypatch.setenv("ASSETGEN_CACHE", str(tmp_path / "cache"))
    L.clear_face_model_cache()
    yield
    L.clear_face_model_cache()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from assetgen.face.importer import import_ict_facekit

    root = tmp_path_factory.mktemp("tiny")
    return import_ict_facekit(make_clone(root / "clone"), root / "model")


def fake_folder(path: Path, skip: str | None = None) -> Path:
    """A folder with the required file names (contents do not matter to resolving)."""
    path.mkdir(parents=True)
    for name in ict.REQUIRED_FILES:
        if name != skip:
            (path / name).write_text("x")
    return path


# ---- resolve order -------------------------------------------------------------------------------
def test_explicit_beats_env_beats_cache(tmp_path, monkeypatch):
    explicit = fake_folder(tmp_path / "explicit")
    env = fake_folder(tmp_path / "env")
    cache = fake_folder(tmp_path / "cache" / "face-models" / "ict-facekit")
    monkeypatch.setenv(L.ENV_VAR, str(env))
    assert L.resolve_face_model_dir(explicit) == explicit
    assert L.resolve_face_model_dir(str(explicit)) == explicit
    assert L.locate_face_model_dir(None) == (env, L.ENV_VAR)
    monkeypatch.delenv(L.ENV_VAR)
    assert L.locate_face_model_dir() == (cache, "user cache")


def test_cache_location_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("ASSETGEN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert L.user_model_dir() == tmp_path / "xdg" / "assetgen" / "face-models" / "ict-facekit"
    folder = fake_folder(L.user_model_dir())
    assert L.resolve_face_model_dir() == folder


def test_cache_paths_order_and_layout(tmp_path, monkeypatch):
    """assetgen.paths: ASSETGEN_CACHE, else $XDG_CACHE_HOME/assetgen, else ~/.cache/assetgen; the face model
    and the UV layouts below it; the face-model fetcher and locator agree on the folder."""
    from assetgen import paths
    from assetgen.face import fetch

    monkeypatch.setenv("ASSETGEN_CACHE", str(tmp_path / "own"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_root() == tmp_path / "own"
    monkeypatch.delenv("ASSETGEN_CACHE")
    assert paths.cache_root() == tmp_path / "xdg" / "assetgen"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert paths.cache_root() == tmp_path / "home" / ".cache" / "assetgen"
    assert paths.face_model_dir() == tmp_path / "home" / ".cache" / "assetgen" / "face-models" / "ict-facekit"
    assert paths.uv_cache_dir() == tmp_path / "home" / ".cache" / "assetgen" / "uv"
    assert paths.face_model_dir(tmp_path / "c") == tmp_path / "c" / "face-models" / "ict-facekit"
    assert paths.uv_cache_dir(tmp_path / "c") == tmp_path / "c" / "uv"
    assert L.user_model_dir() == paths.face_model_dir()
    assert fetch.downloads_dir() == paths.cache_root() / "downloads"
    assert fetch.pins_path(tmp_path / "c") == tmp_path / "c" / "face-models" / "pins.json"


def test_uv_layouts_are_cached_under_the_uv_cache_dir(face_model, tmp_path, monkeypatch):
    from assetgen import paths
    from assetgen.uv import rasterize_uv

    monkeypatch.setenv("ASSETGEN_CACHE", str(tmp_path / "own"))
    layout = rasterize_uv(face_model, 16)
    assert layout.cache_folder is not None and layout.cache_folder.parent == paths.uv_cache_dir()
    assert rasterize_uv(face_model, 16, cache_dir=tmp_path / "c").cache_folder.parent == tmp_path / "c" / "uv"


def test_broken_explicit_or_env_path_does_not_fall_through(tmp_path, monkeypatch):
    fake_folder(tmp_path / "cache" / "face-models" / "ict-facekit")  # a good model that must NOT be used
    broken = fake_folder(tmp_path / "broken", skip=ict.SHAPE_MODES)
    match = rf"broken \(given explicitly\) is not a complete model: missing {ict.SHAPE_MODES}"
    with pytest.raises(FaceModelError, match=match):
        L.resolve_face_model_dir(broken)
    with pytest.raises(FaceModelError, match=r"nowhere \(given explicitly\) does not exist"):
        L.resolve_face_model_dir(tmp_path / "nowhere")
    monkeypatch.setenv(L.ENV_VAR, str(broken))
    with pytest.raises(FaceModelError, match=rf"from {L.ENV_VAR}\) is not a complete model"):
        L.resolve_face_model_dir()


def test_nothing_found_lists_places_and_fixes(tmp_path):
    fake_folder(tmp_path / "cache" / "face-models" / "ict-facekit", skip=ict.LANDMARKS)  # incomplete cache
    with pytest.raises(FaceModelError) as err:
        L.resolve_face_model_dir()
    msg = str(err.value)
    assert L.ENV_VAR in msg and str(tmp_path / "cache" / "face-models" / "ict-facekit") in msg
    assert "is incomplete" in msg
    assert "assetgen face-model import" in msg and "assetgen face-model fetch" in msg


def test_fetch_is_used_only_when_asked(tmp_path, monkeypatch):
    import assetgen.face.fetch as F

    calls = []

    def fake_fetch(out_dir=None, **kw):
        calls.append(out_dir)
        return fake_folder(out_dir)

    monkeypatch.setattr(F, "fetch_face_model", fake_fetch)
    with pytest.raises(FaceModelError):
        L.resolve_face_model_dir()
    assert calls == []
    target = tmp_path / "cache" / "face-models" / "ict-facekit"
    assert L.locate_face_model_dir(fetch=True) == (target, "downloaded")
    assert calls == [target]


# ---- memoized loading ---------------------------------------------------------------------------------
def test_get_face_model_loads_once_per_folder(tiny_model, monkeypatch):
    import assetgen.face.locate as mod

    loads = []
    real = mod.load_face_model
    monkeypatch.setattr(mod, "load_face_model", lambda f: loads.append(f) or real(f))
    a = L.get_face_model(tiny_model)
    b = L.get_face_model(str(tiny_model))
    monkeypatch.setenv(L.ENV_VAR, str(tiny_model))
    c = L.get_face_model()
    assert a is b is c and len(loads) == 1
    # A re-import into the same folder (newer shape_modes.npz) is loaded afresh.
    npz = tiny_model / ict.SHAPE_MODES
    st = npz.stat()
    os.utime(npz, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert L.get_face_model(tiny_model) is not a and len(loads) == 2


# ---- the CLI sub-app -----------------------------------------------------------------------------------
runner = CliRunner()


def test_cli_import_then_where(tmp_path, monkeypatch):
    clone = make_clone(tmp_path / "clone")
    result = runner.invoke(app, ["import", str(clone)])
    assert result.exit_code == 0, result.output
    target = tmp_path / "cache" / "face-models" / "ict-facekit"
    assert result.stdout.strip().splitlines()[-1] == str(target)
    assert (target / ict.SHAPE_MODES).is_file()
    where = runner.invoke(app, ["where"])
    assert where.exit_code == 0 and where.stdout.strip() == str(target)


def test_cli_import_to_out_and_where_with_model(tmp_path):
    clone = make_clone(tmp_path / "clone")
    out = tmp_path / "elsewhere"
    result = runner.invoke(app, ["import", str(clone), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / ict.SHAPE_MODES).is_file()
    where = runner.invoke(app, ["where", "--model", str(out)])
    assert where.stdout.strip() == str(out)


def test_cli_errors_are_assetgen_errors(tmp_path):
    # The main CLI turns AssetgenError into one red line; the sub-app just raises it.
    result = runner.invoke(app, ["import", str(tmp_path / "no-clone")])
    assert result.exit_code != 0 and isinstance(result.exception, FaceModelError)
    assert "does not exist" in str(result.exception)
    where = runner.invoke(app, ["where"])
    assert isinstance(where.exception, FaceModelError) and "face-model fetch" in str(where.exception)


def test_cli_fetch_from_file_url(tmp_path):
    import hashlib
    import zipfile

    clone = make_clone(tmp_path / "src" / "ICT-FaceKit-x")
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in clone.rglob("*"):
            zf.write(p, "ICT-FaceKit-x/" + p.relative_to(clone).as_posix())
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    out = tmp_path / "m"
    result = runner.invoke(app, ["fetch", "--url", archive.as_uri(), "--sha256", digest, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out)
    bad = runner.invoke(app, ["fetch", "--url", archive.as_uri(), "--sha256", "f" * 64, "--out", str(tmp_path / "n")])
    assert "checksum mismatch" in str(bad.exception) and not (tmp_path / "n").exists()
