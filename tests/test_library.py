"""The asset library: round trip, versions, queries, check/gc, bad input, import, sampling."""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from assetgen.errors import ConfigError, InputError, OutputError
from assetgen.generate import AssetRequest, asset_seed, make_asset
from assetgen.library import Library, LibraryError
from assetgen.cli.library import app
from assetgen.library.sample import TargetSequence, distribution_from_dict, sample_assets
from assetgen.recipe import Recipe

runner = CliRunner()


@pytest.fixture(scope="module")
def assets(face_model, layout64):
    return [make_asset(face_model, layout64, AssetRequest(f"t_{i}", asset_seed(3, i), Recipe(), 3, i))
            for i in range(3)]


@pytest.fixture()
def lib(tmp_path):
    with Library.open(tmp_path / "lib") as lib:
        yield lib


def test_round_trip_is_exact(lib, assets, face_model):
    a = assets[0]
    res = lib.put(a, tags=["unit"])
    assert res.created and len(res.id) == 16
    assert lib.put(a, tags=["unit"]).created is False  # same content, same id: stored once
    b = lib.load(res.id, model=face_model)
    assert b.name == a.name and b.labels == a.labels
    np.testing.assert_array_equal(b.identity_weights, a.identity_weights)
    np.testing.assert_array_equal(b.expression_weights, a.expression_weights)
    np.testing.assert_array_equal(np.asarray(b.vertices, np.float32), np.asarray(a.vertices, np.float32))
    for m, tex in a.textures.materials.items():
        for k in ("base_color", "roughness", "specular", "normal"):
            np.testing.assert_array_equal(getattr(b.textures.materials[m], k), getattr(tex, k))
        assert b.textures.materials[m].alpha_mode == tex.alpha_mode
    rec = lib.record(res.id[:6])
    assert rec.model_fingerprint == face_model.fingerprint and rec.tags == ["unit"]
    assert "vertices" not in rec.blobs  # recomputed from the weights and the model
    assert lib.check() == []


def test_versions_queries_and_cli(lib, assets, face_model):
    ids = [lib.put(a).id for a in assets]
    import dataclasses

    edited = assets[0]

    moved = dataclasses.replace(edited, vertices=np.asarray(edited.vertices) + 0.5,
                                labels={**edited.labels, "edited": True})
    v2 = lib.put(moved, parent=ids[0])
    assert v2.created and lib.record(v2.id).parent == ids[0]
    assert "vertices" in lib.record(v2.id).blobs  # edited geometry is stored
    np.testing.assert_allclose(lib.load(v2.id, model=face_model).vertices, moved.vertices, atol=1e-6)
    heads = lib.query()
    assert ids[0] not in heads and v2.id in heads and len(heads) == 3
    assert set(lib.query(latest=False)) == set(ids) | {v2.id}
    tone = assets[1].labels["skin_tone"]
    assert ids[1] in lib.query([f"skin_tone={tone}"])
    assert lib.query(["edited=true"]) == [v2.id]
    assert lib.query(["age>200"]) == []
    with pytest.raises(InputError):
        lib.query(["nonsense"])
    root = str(lib.root)
    out = runner.invoke(app, ["ls", "--library", root])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 3 and all(line.split()[0] in heads for line in lines)
    out = runner.invoke(app, ["ls", "--library", root, "--where", f"skin_tone={tone}"])
    assert ids[1] in out.output
    out = runner.invoke(app, ["show", v2.id[:8], "--library", root])
    assert out.exit_code == 0 and json.loads(out.output)["parent"] == ids[0]
    out = runner.invoke(app, ["check", "--library", root])
    assert out.exit_code == 0, out.output


def test_check_finds_missing_and_corrupt_blobs_and_gc_removes_orphans(lib, assets):
    res = lib.put(assets[0])
    rec = lib.record(res.id)
    orphan = lib.put_blob(b"nobody references me")
    (lib.blob_dir / "tmp" / "stale.tmp").write_bytes(b"half a blob")
    assert lib.check() == []
    files, _ = lib.gc()
    assert files == 2 and not lib.blob_path(orphan).exists()
    assert lib.check() == []
    sha = rec.blobs["tex/M_Face/base_color"]
    path = lib.blob_path(sha)
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    problems = lib.check()
    assert any("corrupt" in p and sha in p for p in problems)
    with pytest.raises(LibraryError, match="corrupt"):
        lib.load(res.id)
    path.unlink()
    assert any("missing" in p and res.id in p for p in lib.check())
    with pytest.raises(LibraryError, match="missing"):
        lib.load(res.id)
    out = runner.invoke(app, ["check", "--library", str(lib.root)])
    assert out.exit_code == 1 and "missing" in out.output
    assert lib.gc()[0] == 0  # gc never removes what the catalogue references (it is already gone)


def test_bad_input_is_a_clear_error_and_loses_nothing(tmp_path, assets, monkeypatch):
    root = tmp_path / "lib"
    with Library.open(root) as lib:
        kept = lib.put(assets[0]).id
        import dataclasses

        for bad in ("../evil", "a/b", ".hidden", "x..y", ""):
            with pytest.raises(InputError):
                lib.put(dataclasses.replace(assets[1], name=bad))
        # A full disk while writing blobs: OutputError, no row, the stored asset intact.
        import assetgen.library.blobs as store

        def full(fh, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(store, "_write_all", full)
        with pytest.raises(OutputError, match="disk is full"):
            lib.put(assets[1])
        monkeypatch.undo()
        assert lib.query() == [kept] and lib.check() == []
        assert not list((root / "blobs" / "tmp").iterdir())
    with pytest.raises(LibraryError, match="no library"):
        Library.open(tmp_path / "nowhere", create=False)
    # A corrupted catalogue: a clear error, and the file is left as it was for recovery.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "catalog.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LibraryError, match="corrupt"):
        Library.open(bad)
    assert (bad / "catalog.sqlite").read_bytes() == b"this is not sqlite" * 100
    out = runner.invoke(app, ["ls", "--library", str(bad)])
    assert out.exit_code != 0 and isinstance(out.exception, LibraryError)


def test_import_mesh_with_and_without_uvs(tmp_path, face_model):
    import trimesh

    from assetgen.export.glb import export_glb

    box = trimesh.creation.box(extents=(0.1, 0.05, 0.02))
    ply = tmp_path / "box.ply"
    box.export(ply)
    obj = tmp_path / "uvbox.obj"
    obj.write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nf 1/1 2/2 3/3\nf 1/1 3/3 4/4\n")
    root = tmp_path / "lib"
    out = runner.invoke(app, ["import", str(ply), "--library", str(root), "--resolution", "64",
                              "--label", "accessory=true", "--tag", "props"])
    assert out.exit_code == 0, out.output
    aid = out.output.strip()
    out = runner.invoke(app, ["import", str(obj), "--name", "quad", "--library", str(root), "--resolution", "32"])
    assert out.exit_code == 0, out.output
    with Library.open(root) as lib:
        assert lib.query(["accessory=true"]) == [aid] and len(lib.query(["kind=mesh"])) == 2
        a = lib.load(aid)
        assert a.provenance["imported"]["unwrapped"] is True
        assert len(a.model.triangles) == 12 and a.model.uvs.min() >= 0 and a.model.uvs.max() <= 1
        q = lib.load(lib.query(["name=quad"])[0])
        assert q.provenance["imported"]["unwrapped"] is False
        export_glb(a, tmp_path / "box.glb")
        assert lib.check() == []
    bad = tmp_path / "x.txt"
    bad.write_text("hi")
    out = runner.invoke(app, ["import", str(bad), "--library", str(root)])
    assert isinstance(out.exception, InputError)


def _fake_library(root, n, seed=0):
    """n catalogued assets with random labels (metadata only; they share one tiny blob)."""
    rng = np.random.default_rng(seed)
    lib = Library.open(root)
    sha = lib.put_blob(b"x")
    for i in range(n):
        labels = {"lipstick": bool(rng.random() < 0.3), "freckles": float(rng.random() < 0.25) * 0.4,
                  "skin_tone": f"monk_{int(rng.integers(1, 11)):02d}"}
        lib.put_record(f"a_{i}", labels, {"identity": sha})
    return lib


def test_sampling_hits_the_requested_ratios(tmp_path):
    lib = _fake_library(tmp_path / "lib", 2500)
    spec = distribution_from_dict({"lipstick": 0.2, "freckles": 0.1, "skin_tone": "uniform"})
    res = sample_assets(lib, spec, 1000, seed=7)
    assert len(res.ids) == 1000 and len(set(res.ids)) == 1000 and res.relaxed == 0
    labels = [lib.record(i).labels for i in res.ids]
    assert abs(np.mean([l["lipstick"] for l in labels]) - 0.2) <= 0.02
    assert abs(np.mean([l["freckles"] > 0 for l in labels]) - 0.1) <= 0.02
    tones = [l["skin_tone"] for l in labels]
    for k in range(1, 11):
        assert abs(tones.count(f"monk_{k:02d}") / 1000 - 0.1) <= 0.02
    assert sample_assets(lib, spec, 1000, seed=7).ids == res.ids  # deterministic per seed
    assert sample_assets(lib, spec, 1000, seed=8).ids != res.ids
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text("lipstick: 0.5\nskin_tone: [monk_01, monk_02]\n")
    out = runner.invoke(app, ["sample", "--spec", str(spec_file), "--n", "100", "--seed", "1",
                              "--library", str(lib.root)])
    assert out.exit_code == 0, out.output
    got = [line for line in out.stdout.splitlines() if len(line) == 16]
    assert len(got) == 100
    assert {lib.record(i).labels["skin_tone"] for i in got} == {"monk_01", "monk_02"}
    lib.close()


def test_distribution_spec_is_validated():
    with pytest.raises(ConfigError, match="lipstick"):
        distribution_from_dict({"lipstick": 1.2})
    with pytest.raises(ConfigError, match="unknown attribute 'tattoo'"):
        distribution_from_dict({"tattoo": 0.1})
    with pytest.raises(ConfigError, match="sum"):
        distribution_from_dict({"skin_tone": {"monk_01": 0.7, "monk_02": 0.7}})
    with pytest.raises(ConfigError, match="unknown categories"):
        distribution_from_dict({"skin_tone": ["monk_11"]})
    seq = TargetSequence(distribution_from_dict({"lipstick": 0.2, "freckles": 0.1, "skin_tone": "uniform"}), 0)
    t = seq.targets_array(np.arange(1000))
    assert abs(t["lipstick"].mean() - 0.2) < 0.005 and abs(t["freckles"].mean() - 0.1) < 0.005
    both = (t["lipstick"] & t["freckles"]).mean()
    assert abs(both - 0.02) < 0.01  # attributes are independent, not stacked on the same assets
