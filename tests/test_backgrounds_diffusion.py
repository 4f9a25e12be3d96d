"""Background plates from the diffusion stage (assetgen.diffusion.backgrounds, `assetgen backgrounds`) and a
data set that shows them: a tiny random-weight text2image model, CPU, 2 steps, 32 px."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import yaml

pytest.importorskip("diffusers")

from assetgen.cli import main  # noqa: E402
from assetgen.errors import OutputError  # noqa: E402


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from assetgen.diffusion.testing import save_tiny_sd

    root = tmp_path_factory.mktemp("bg-models")
    save_tiny_sd(root / "sd")
    path = root / "models.yaml"
    path.write_text(yaml.safe_dump({"runtime": {"device": "cpu"}, "models": {
        "text2image": {"source": "./sd", "revision": "tiny", "scheduler": "DDIMScheduler"}}}))
    return path


@pytest.fixture(scope="module")
def runtime(registry):
    from assetgen.diffusion.loading import DiffusionRuntime

    return DiffusionRuntime.from_config(registry)


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_plates_are_painted_recorded_and_reproduced(runtime, tmp_path):
    from assetgen.diffusion.backgrounds import make_backgrounds, plate_seed
    from assetgen.images import read_image

    seen = []
    a = make_backgrounds(runtime, tmp_path / "a", n=3, prompts=("a kitchen", "a park"), size=32, seed=5, steps=2,
                         progress=lambda done, total, what: seen.append((done, total)))
    assert a.files == ("plate_0000.png", "plate_0001.png", "plate_0002.png")
    assert seen[-1] == (6, 6) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    manifest = json.loads((tmp_path / "a" / "backgrounds.json").read_text())
    assert [p["prompt"] for p in manifest["plates"]] == ["a kitchen", "a park", "a kitchen"]
    assert [p["seed"] for p in manifest["plates"]] == [plate_seed(5, i) for i in range(3)]
    assert manifest["models"]["text2image"]["revision"] == "tiny" and manifest["scheduler"] == "DDIMScheduler"
    images = [read_image(tmp_path / "a" / f) for f in a.files]
    for plate, img in zip(manifest["plates"], images):
        assert hashlib.sha256((tmp_path / "a" / plate["file"]).read_bytes()).hexdigest() == plate["sha256"]
        assert img.shape == (32, 32, 3)
    assert not np.array_equal(images[0], images[1])
    # same arguments, same bytes; a shorter run keeps the first plates; another seed paints others
    make_backgrounds(runtime, tmp_path / "b", n=3, prompts=("a kitchen", "a park"), size=32, seed=5, steps=2)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    make_backgrounds(runtime, tmp_path / "b", n=2, prompts=("a kitchen", "a park"), size=32, seed=5, steps=2)
    assert sorted(_files(tmp_path / "b")) == ["backgrounds.json", "plate_0000.png", "plate_0001.png"]
    assert (tmp_path / "b" / "plate_0001.png").read_bytes() == (tmp_path / "a" / "plate_0001.png").read_bytes()
    make_backgrounds(runtime, tmp_path / "c", n=1, prompts=("a kitchen",), size=32, seed=6, steps=2)
    assert (tmp_path / "c" / "plate_0000.png").read_bytes() != (tmp_path / "a" / "plate_0000.png").read_bytes()


def test_a_folder_of_other_files_is_refused_untouched(runtime, tmp_path):
    from assetgen.diffusion.backgrounds import make_backgrounds

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "holiday.png").write_bytes(b"not ours")
    with pytest.raises(OutputError, match="other files"):
        make_backgrounds(runtime, tmp_path / "mine", n=1, size=32, steps=2)
    assert _files(tmp_path / "mine") == {"holiday.png": b"not ours"}
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(OutputError, match="cannot write"):  # its parent is a file
        make_backgrounds(runtime, tmp_path / "file" / "plates", n=1, size=32, steps=2)


def test_cli_paints_plates_and_fails_in_one_line_without_a_model(registry, tmp_path, capsys):
    out = tmp_path / "plates"
    assert main(["backgrounds", "--out", str(out), "--n", "2", "--size", "32", "--steps", "2",
                 "--model-config", str(registry)]) == 0
    assert sorted(_files(out)) == ["backgrounds.json", "plate_0000.png", "plate_0001.png"]
    capsys.readouterr()
    none = tmp_path / "none.yaml"
    none.write_text(yaml.safe_dump({"runtime": {"device": "cpu"}, "models": {}}))
    assert main(["backgrounds", "--out", str(tmp_path / "x"), "--model-config", str(none)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "text2image" in err[-1] and not (tmp_path / "x").exists()
    assert main(["backgrounds", "--out", str(tmp_path / "y"), "--size", "36", "--model-config", str(registry)]) == 2
    assert "multiple of 8" in capsys.readouterr().err and not (tmp_path / "y").exists()


def test_a_data_set_shows_the_plates_behind_the_head(runtime, tmp_path, face_model):
    from assetgen.dataset import job_from_dict, run_dataset
    from assetgen.diffusion.backgrounds import make_backgrounds
    from assetgen.images import read_image

    make_backgrounds(runtime, tmp_path / "plates", n=2, size=32, steps=2)
    base = {"name": "bg", "count": 1, "seed": 3, "resolution": 64, "images_per_subject": 1,
            "subjects": {"recipe": "demo", "texture_resolution": 64, "hair": False}, "camera": {"supersample": 1}}
    sets = {}
    for kind, bg in (("none", {"type": "none"}), ("plates", {"type": "folder", "folder": str(tmp_path / "plates")})):
        run_dataset(job_from_dict({**base, "background": bg}, base=tmp_path), tmp_path / kind)
        sets[kind] = (read_image(tmp_path / kind / "000000.png"),
                      read_image(tmp_path / kind / "000000_seg.png"),
                      json.loads((tmp_path / kind / "000000.json").read_text()))
    (rgb0, seg0, _), (rgb1, seg1, rec) = sets["none"], sets["plates"]
    assert np.array_equal(seg0, seg1)  # the ground truth never sees the background
    empty = seg1 == 0
    assert empty.any() and (rgb0[empty] == 0).all() and (rgb1[empty] > 0).any()
    assert rec["lighting"]["background"]["file"] in ("plate_0000.png", "plate_0001.png")
