"""`assetgen demo` end to end: files, determinism, and clean failures on bad input."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assetgen.cli import main


SMALL = ["--n", "2", "--resolution", "64", "--preview-size", "64"]


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    runs = {}
    for key, seed in (("a", 3), ("b", 3), ("c", 4)):
        out = root / key
        assert main(["demo", "--out", str(out), "--seed", str(seed), *SMALL]) == 0
        runs[key] = out
    return runs


def test_demo_writes_glb_gt_and_contact_sheet(demo_runs):
    names = sorted(p.name for p in demo_runs["a"].iterdir())
    assert names == [
        "contact_sheet.png",
        "demo_3_0000.glb",
        "demo_3_0000.gt.json",
        "demo_3_0001.glb",
        "demo_3_0001.gt.json",
    ]
    gt = json.loads((demo_runs["a"] / "demo_3_0000.gt.json").read_text())
    assert gt["units"] == "m" and len(gt["landmarks_68"]["position"]) == 68
    assert gt["provenance"]["seed"] and gt["provenance"]["recipe"]["name"] == "demo"
    from PIL import Image

    sheet = Image.open(demo_runs["a"] / "contact_sheet.png")
    assert sheet.size == (128, 64)
    # The previews show a head, not an empty background: many distinct colours.
    assert len(np.unique(np.asarray(sheet.convert("RGB")).reshape(-1, 3), axis=0)) > 200


def test_same_arguments_give_identical_bytes(demo_runs):
    assert _digests(demo_runs["a"]) == _digests(demo_runs["b"])


def test_another_seed_gives_other_bytes(demo_runs):
    a, c = _digests(demo_runs["a"]), _digests(demo_runs["c"])
    assert a["contact_sheet.png"] != c["contact_sheet.png"]
    assert set(a.values()).isdisjoint(c.values())


def _fails(args, capsys, message):
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in " ".join(err.split()), err
    return err


def test_missing_face_model_fails_cleanly(tmp_path, capsys):
    out = tmp_path / "out"
    _fails(["demo", "--out", str(out), "--face-model", str(tmp_path / "none"), *SMALL], capsys, "does not exist")
    assert not out.exists()


def test_unwritable_output_fails_cleanly(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    _fails(["demo", "--out", str(blocker / "out"), *SMALL], capsys, "cannot create output folder")
    assert blocker.read_text() == "not a folder"


def test_recipe_with_unknown_key_or_expression_fails_cleanly(tmp_path, capsys):
    bad_key = tmp_path / "bad_key.yaml"
    bad_key.write_text("name: x\nidentity: {truncation: 2.0, wobble: 1}\n")
    _fails(["demo", "--out", str(tmp_path / "o1"), "--recipe", str(bad_key), *SMALL], capsys, "identity.wobble")
    bad_expr = tmp_path / "bad_expr.yaml"
    bad_expr.write_text("expression: {names: [jawOpen, smirk]}\n")
    _fails(["demo", "--out", str(tmp_path / "o2"), "--recipe", str(bad_expr), *SMALL], capsys, "smirk")
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_shipped_recipe_is_the_default():
    from assetgen.recipe import Recipe, load_recipe

    repo = Path(__file__).resolve().parents[1]
    shipped = load_recipe(repo / "pipelines" / "demo.yaml")
    assert shipped.hair is not None and shipped.items is not None
    assert shipped.model_copy(update={"hair": None, "items": None}) == Recipe()


def test_console_script_exits_non_zero_with_one_clear_line(tmp_path):
    exe = Path(sys.executable).with_name("assetgen")
    env = {**os.environ, "ASSETGEN_FACE_MODEL": str(tmp_path / "missing")}
    proc = subprocess.run([str(exe), "demo", "--out", str(tmp_path / "o"), *SMALL], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "error:" in proc.stderr and "missing" in proc.stderr
    assert "Traceback" not in proc.stderr
