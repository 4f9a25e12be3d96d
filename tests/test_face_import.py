"""Importing an ICT-FaceKit clone into the compact folder: a tiny fake clone, bad inputs, and the real data."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from assetgen.errors import FaceModelError, OutputError
from assetgen.face import ict, load_face_model
from assetgen.face.importer import import_ict_facekit, read_positions

SHARED_MODEL = Path(__file__).resolve().parents[2] / "shared" / "face-models" / "ict-facekit"
GRID = 4  # a 4 x 4 grid of vertices: 16 vertices, 9 quads
N_VERTS = GRID * GRID
LANDMARKS = {"multi_pie_68": [i % N_VERTS for i in range(68)], "nose": [5, 6]}
SEGMENTS = {
    "geometry": {
        "Face": {"vertices": [0, 7], "polygons": [0, 4]},
        "Head and Neck": {"vertices": [8, 15], "polygons": [5, 8]},
    }
}
IDENTITY_NAMES = ["identity000", "identity001", "identity002"]
EXPRESSION_NAMES = ["jawOpen", "PupilDilate_L"]  # sorted on import: PupilDilate_L first


def grid_vertices() -> np.ndarray:
    y, x = np.mgrid[0:GRID, 0:GRID]
    return np.stack([x.ravel(), y.ravel(), np.zeros(N_VERTS)], axis=1).astype(np.float64)


def obj_text(positions: np.ndarray) -> str:
    """A small OBJ in the ICT layout: header comment, mtllib, v, vt, then faces in two material groups."""
    lines = ["# test mesh", "mtllib ICTFaceModelMaterial.mtl"]
    lines += ["v %.6g %.6g %.6g" % tuple(p) for p in positions]
    lines += ["vt %.6g %.6g" % (p[0] / GRID, p[1] / GRID) for p in grid_vertices()]
    cells = [(r, c) for r in range(GRID - 1) for c in range(GRID - 1)]
    quads = [(r * GRID + c, r * GRID + c + 1, (r + 1) * GRID + c + 1, (r + 1) * GRID + c) for r, c in cells]
    for k, q in enumerate(quads):
        if k in (0, 5):
            lines.append("usemtl " + ("M_Face" if k == 0 else "M_BackHead"))
        lines.append("f " + " ".join(f"{i + 1}/{i + 1}" for i in q))
    return "\n".join(lines) + "\n"


def make_deltas(seed: int = 0) -> dict[str, np.ndarray]:
    """name -> (V, 3) delta, exactly representable in the 6-digit text we write."""
    rng = np.random.default_rng(seed)
    return {n: np.round(rng.normal(0, 0.5, (N_VERTS, 3)), 3) for n in IDENTITY_NAMES + EXPRESSION_NAMES}


def make_clone(root: Path, deltas: dict[str, np.ndarray] | None = None, tables: bool = True) -> Path:
    """Write a tiny ICT-FaceKit-like clone: root/FaceXModel/*.obj (+ LICENSE, tables in the clone)."""
    deltas = make_deltas() if deltas is None else deltas
    facex = root / "FaceXModel"
    facex.mkdir(parents=True)
    neutral = grid_vertices()
    (facex / ict.NEUTRAL_OBJ).write_text(obj_text(neutral))
    for name, d in deltas.items():
        (facex / f"{name}.obj").write_text(obj_text(neutral + d))
    (facex / ict.MATERIAL_MTL).write_text("newmtl M_Face\nnewmtl M_BackHead\n")
    (root / "LICENSE").write_text("MIT test license\n")
    if tables:
        (facex / ict.LANDMARKS).write_text(json.dumps(LANDMARKS))
        (facex / ict.SEGMENTS).write_text(json.dumps(SEGMENTS))
    return root


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


# ---- the happy path ---------------------------------------------------------------------------
def test_import_tiny_clone_roundtrips_deltas_and_names(tmp_path):
    deltas = make_deltas()
    clone = make_clone(tmp_path / "clone", deltas)
    seen = []
    out = import_ict_facekit(clone, tmp_path / "model", progress=lambda d, t, n: seen.append((d, t, n)))
    assert out == (tmp_path / "model").absolute()
    assert set(p.name for p in out.iterdir()) >= set(ict.REQUIRED_FILES) | {ict.LICENSE, ict.MATERIAL_MTL, "README.md"}
    with np.load(out / ict.SHAPE_MODES, allow_pickle=False) as z:
        assert z["identity"].dtype == np.float32 and z["identity"].shape == (3, N_VERTS, 3)
        assert z["expression"].shape == (2, N_VERTS, 3)
        assert list(z["identity_names"]) == IDENTITY_NAMES
        assert list(z["expression_names"]) == ["PupilDilate_L", "jawOpen"]
        assert z["identity_names"].dtype.kind == "U"
        for i, n in enumerate(IDENTITY_NAMES):
            np.testing.assert_allclose(z["identity"][i], deltas[n], atol=1e-6)
        np.testing.assert_allclose(z["expression"][0], deltas["PupilDilate_L"], atol=1e-6)
        np.testing.assert_allclose(z["expression"][1], deltas["jawOpen"], atol=1e-6)
    assert (out / ict.NEUTRAL_OBJ).read_bytes() == (clone / "FaceXModel" / ict.NEUTRAL_OBJ).read_bytes()
    assert (out / ict.LICENSE).read_text() == "MIT test license\n"
    assert json.loads((out / ict.LANDMARKS).read_text()) == LANDMARKS
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5] and all(s[1] == 5 for s in seen)

    model = load_face_model(out)
    assert model.n_vertices == N_VERTS and model.material_names == ("M_Face", "M_BackHead")
    v = model.vertices(identity=np.array([1.0, 0, 0]), expression={"jawOpen": 1.0})
    np.testing.assert_allclose(v, grid_vertices() + deltas["identity000"] + deltas["jawOpen"], atol=1e-5)
    assert leftovers(tmp_path) == []


def test_import_accepts_facex_folder_and_explicit_tables(tmp_path):
    clone = make_clone(tmp_path / "clone", tables=False)
    lm = dict(LANDMARKS, extra=[1, 2, 3])
    out = import_ict_facekit(clone / "FaceXModel", tmp_path / "m", landmarks=lm, segments=SEGMENTS)
    assert json.loads((out / ict.LANDMARKS).read_text())["extra"] == [1, 2, 3]
    # Given the FaceXModel folder itself, the clone root (its parent) still supplies the LICENSE.
    assert (out / ict.LICENSE).read_text() == "MIT test license\n"


def test_reimport_replaces_existing_model_atomically(tmp_path):
    out = import_ict_facekit(make_clone(tmp_path / "a", make_deltas(1)), tmp_path / "m")
    first = (out / ict.SHAPE_MODES).read_bytes()
    import_ict_facekit(make_clone(tmp_path / "b", make_deltas(2)), tmp_path / "m")
    assert (out / ict.SHAPE_MODES).read_bytes() != first
    assert leftovers(tmp_path) == []


def test_read_positions_handles_extra_components_and_crlf(tmp_path):
    p = tmp_path / "x.obj"
    p.write_bytes(b"# c\r\nv 1 2 3 1.0\r\nv 4 5 6 0.5\r\nvt 0 0\r\nvn 0 0 1\r\n")
    np.testing.assert_array_equal(read_positions(p), [[1, 2, 3], [4, 5, 6]])


# ---- bad inputs: a clear FaceModelError, and nothing left behind -------------------------------
def _assert_fails_cleanly(tmp_path, clone, match, **kw):
    out = tmp_path / "model"
    with pytest.raises(FaceModelError, match=match):
        import_ict_facekit(clone, out, **kw)
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_missing_facex_folder_names_path_and_fix(tmp_path):
    (tmp_path / "empty").mkdir()
    _assert_fails_cleanly(tmp_path, tmp_path / "empty", r"empty.*FaceXModel.*git clone")
    _assert_fails_cleanly(tmp_path, tmp_path / "nope", r"nope does not exist")


def test_vertex_count_mismatch_names_the_file(tmp_path):
    clone = make_clone(tmp_path / "clone")
    bad = clone / "FaceXModel" / "identity001.obj"
    lines = bad.read_text().splitlines()
    del lines[3]  # the second 'v' line
    bad.write_text("\n".join(lines))
    _assert_fails_cleanly(tmp_path, clone, r"identity001\.obj has 15 vertices but .* has 16")


def test_truncated_obj_fails(tmp_path):
    clone = make_clone(tmp_path / "clone")
    bad = clone / "FaceXModel" / "jawOpen.obj"
    text = bad.read_text()
    bad.write_text(text[: text.index("v ", 60) + 6])  # cut in the middle of a 'v' line
    _assert_fails_cleanly(tmp_path, clone, r"jawOpen\.obj")


def test_non_finite_values_fail(tmp_path):
    clone = make_clone(tmp_path / "clone")
    bad = clone / "FaceXModel" / "identity002.obj"
    lines = bad.read_text().splitlines()
    lines[4] = "v nan 0 0"
    bad.write_text("\n".join(lines))
    _assert_fails_cleanly(tmp_path, clone, r"identity002\.obj holds non-finite")


def test_malformed_number_fails(tmp_path):
    clone = make_clone(tmp_path / "clone")
    bad = clone / "FaceXModel" / "identity000.obj"
    lines = bad.read_text().splitlines()
    lines[5] = "v 1 zero 0"
    bad.write_text("\n".join(lines))
    _assert_fails_cleanly(tmp_path, clone, r"identity000\.obj.*malformed")


def test_identity_gap_and_lfs_pointer_fail(tmp_path):
    clone = make_clone(tmp_path / "clone")
    (clone / "FaceXModel" / "identity001.obj").unlink()
    _assert_fails_cleanly(tmp_path, clone, r"identity001\.obj is missing")
    shutil.rmtree(clone)
    clone = make_clone(tmp_path / "clone")
    (clone / "FaceXModel" / "jawOpen.obj").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\n")
    _assert_fails_cleanly(tmp_path, clone, r"Git LFS pointer")


def test_landmarks_that_do_not_fit_the_mesh_fail(tmp_path):
    clone = make_clone(tmp_path / "clone", tables=False)
    # Without tables in the clone the shipped ICT tables are used; their indices exceed a 16-vertex mesh.
    _assert_fails_cleanly(tmp_path, clone, r"landmarks 'multi_pie_68' refers to vertex \d+, but .* 16 vertices")
    bad_seg = {"geometry": {"Face": {"vertices": [0, 99], "polygons": [0, 1]}}}
    match = r"segments 'geometry/Face' vertices range"
    _assert_fails_cleanly(tmp_path, clone, match, landmarks=LANDMARKS, segments=bad_seg)


def test_failed_reimport_keeps_the_existing_model(tmp_path):
    out = import_ict_facekit(make_clone(tmp_path / "good"), tmp_path / "model")
    before = (out / ict.SHAPE_MODES).read_bytes()
    broken = make_clone(tmp_path / "broken")
    (broken / "FaceXModel" / "jawOpen.obj").write_text("v 1 2 3\n")
    with pytest.raises(FaceModelError):
        import_ict_facekit(broken, out)
    assert (out / ict.SHAPE_MODES).read_bytes() == before
    assert leftovers(tmp_path) == []


def test_refuses_to_replace_a_foreign_folder(tmp_path):
    target = tmp_path / "home"
    target.mkdir()
    (target / "thesis.tex").write_text("precious")
    with pytest.raises(OutputError, match="refusing to replace"):
        import_ict_facekit(make_clone(tmp_path / "clone"), target)
    assert (target / "thesis.tex").read_text() == "precious"


# ---- the real model: rebuild a few modes from the shared compact folder -------------------------
def test_reimport_from_real_data_matches_shared_folder(tmp_path):
    src = Path(os.environ.get("ASSETGEN_FACE_MODEL") or SHARED_MODEL)
    if not (src / ict.SHAPE_MODES).is_file():
        pytest.skip(f"no compact face model at {src}")
    facex = tmp_path / "clone" / "FaceXModel"
    facex.mkdir(parents=True)
    neutral_text = (src / ict.NEUTRAL_OBJ).read_text()
    (facex / ict.NEUTRAL_OBJ).write_text(neutral_text)
    neutral = read_positions(facex / ict.NEUTRAL_OBJ)
    with np.load(src / ict.SHAPE_MODES, allow_pickle=False) as z:
        picks = {"identity000": z["identity"][0], "identity001": z["identity"][1]}
        picks.update({str(z["expression_names"][j]): z["expression"][j] for j in (0, 30)})
    # A morph OBJ only needs its 'v' lines for the importer; the published files carry 6 digits (%g).
    for name, delta in picks.items():
        pos = neutral + delta.astype(np.float64)
        (facex / f"{name}.obj").write_text("".join("v %g %g %g\n" % tuple(p) for p in pos))
    out = import_ict_facekit(tmp_path / "clone", tmp_path / "model")
    with np.load(out / ict.SHAPE_MODES, allow_pickle=False) as z:
        assert list(z["expression_names"]) == ["PupilDilate_L", "jawOpen"]
        # float64 parsing and subtraction reproduce the shared float32 deltas (to the last bit almost always).
        for got, name in zip(z["identity"], ["identity000", "identity001"]):
            np.testing.assert_allclose(got, picks[name], atol=2e-6)
            assert (got == picks[name]).mean() > 0.99
        np.testing.assert_allclose(z["expression"][1], picks["jawOpen"], atol=2e-6)
    for name in (ict.LANDMARKS, ict.SEGMENTS, ict.MATERIAL_MTL, ict.LICENSE, ict.NEUTRAL_OBJ):
        assert (out / name).read_bytes() == (src / name).read_bytes(), name
