"""Content ids come from what an asset is, not from how its files were encoded: image blob ids are hashes
of the decoded pixels, so any PNG encoder gives the same asset and blob ids; verification decodes and
re-hashes. Also: the face model's fingerprint is read from FaceModel.fingerprint."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

import assetgen.library.blobs as blobs
from assetgen.errors import InputError
from assetgen.generate import AssetRequest, asset_seed, make_asset
from assetgen.library import Library, LibraryError
from assetgen.library.blobs import canonical_pixels, image_id
from assetgen.recipe import Recipe


@pytest.fixture(scope="module")
def asset(face_model, layout64):
    return make_asset(face_model, layout64, AssetRequest("ids", asset_seed(5, 0), Recipe(), 5, 0))


def pillow_png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", compress_level=9, optimize=True)
    return buf.getvalue()


def tex_blobs(lib: Library, asset_id: str) -> dict[str, str]:
    return {k: v for k, v in lib.record(asset_id).blobs.items() if k.startswith("tex/")}


def test_ids_do_not_depend_on_the_png_encoder(tmp_path, asset, face_model, monkeypatch):
    with Library.open(tmp_path / "a") as a:
        first = a.put(asset)
        ids_a = tex_blobs(a, first.id)
        files_a = {k: a.blob_path(v).read_bytes() for k, v in ids_a.items()}
    monkeypatch.setattr(blobs, "_encode_png", pillow_png)
    with Library.open(tmp_path / "b") as b:
        second = b.put(asset)
        assert second.id == first.id and tex_blobs(b, second.id) == ids_a
        files_b = {k: b.blob_path(v).read_bytes() for k, v in ids_a.items()}
        assert any(files_a[k] != files_b[k] for k in ids_a)  # really two encoders: other bytes
        assert b.check() == []
        loaded = b.load(second.id, model=face_model)
        for mat, tex in asset.textures.materials.items():
            for k in ("base_color", "roughness", "specular", "normal"):
                np.testing.assert_array_equal(getattr(loaded.textures.materials[mat], k), getattr(tex, k))
    for k, sha in ids_a.items():  # the id is the hash of the decoded pixels
        mat, name = k.split("/")[1:]
        assert sha == image_id(canonical_pixels(getattr(asset.textures.materials[mat], name)))


def test_image_ids_are_the_decoded_content():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert image_id(canonical_pixels(gray[..., None])) == image_id(gray)  # (H, W, 1) decodes as (H, W)
    assert image_id(gray) != image_id(gray.reshape(4, 3))  # the shape is part of the id
    assert image_id(gray) != image_id(gray.astype(np.uint16))  # and so is the dtype
    assert image_id(gray) != hashlib.sha256(gray.tobytes()).hexdigest()  # domain-separated from raw blobs
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert image_id(blobs.png_decode(pillow_png(rgb))) == image_id(canonical_pixels(rgb))


def test_verification_decodes_and_rehashes(tmp_path, asset):
    with Library.open(tmp_path / "lib") as lib:
        res = lib.put(asset)
        sha = tex_blobs(lib, res.id)["tex/M_Face/base_color"]
        path = lib.blob_path(sha)
        good = path.read_bytes()
        pixels = blobs.png_decode(good)
        # Another encoding of the same pixels is the same content: intact.
        path.write_bytes(pillow_png(pixels))
        assert lib.check() == [] and lib.read_blob(sha) == path.read_bytes()
        # A flipped bit anywhere, stray bytes after the image, or other pixels: corrupt.
        for bad in (good[:100] + bytes([good[100] ^ 4]) + good[101:], good + b"\0",
                    pillow_png(pixels ^ np.uint8(1))):
            path.write_bytes(bad)
            problems = lib.check()
            assert len(problems) == 1 and problems[0].startswith(f"blob {sha}: corrupt")
            with pytest.raises(LibraryError, match="corrupt"):
                lib.load(res.id)
        path.write_bytes(good)
        assert lib.check() == []


def test_blobs_named_by_their_png_bytes_still_verify(tmp_path):
    """A library written before image ids: PNG blobs named by the sha256 of their bytes."""
    with Library.open(tmp_path / "lib") as lib:
        pixels = np.full((4, 4, 3), 7, np.uint8)
        data = pillow_png(pixels)
        sha = hashlib.sha256(data).hexdigest()
        lib.blob_path(sha).parent.mkdir(parents=True, exist_ok=True)
        lib.blob_path(sha).write_bytes(data)
        assert lib.blobs.verify(sha) is None and lib.read_blob(sha) == data
        np.testing.assert_array_equal(lib.blobs.read_image(sha), pixels)


def test_a_model_without_a_fingerprint_is_a_clear_error(tmp_path, asset, face_model):
    stub = SimpleNamespace(vertices=face_model.vertices, units="cm")  # no .fingerprint
    with Library.open(tmp_path / "lib") as lib:
        with pytest.raises(InputError, match="has no fingerprint"):
            lib.put(dataclasses.replace(asset, model=stub))
        assert lib.count() == 0
        aid = lib.put(asset).id
        with pytest.raises(InputError, match="has no fingerprint"):
            lib.load(aid, model=stub)
        assert lib.record(aid).model_fingerprint == face_model.fingerprint
        assert lib.load(aid, model=face_model).name == "ids"
