"""OBJ import reads what the file says or says exactly what is wrong: relative indices count from their
line, faces without texture coordinates never borrow one, bad indices and non-finite numbers are
errors naming the line, degenerate faces are dropped and reported, binary files are refused."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from assetgen.cli.library import app
from assetgen.errors import FaceModelError, InputError
from assetgen.face.obj import read_obj
from assetgen.library import Library
from assetgen.library.mesh import import_mesh

runner = CliRunner()
TRI = "v 0 0 0\nv 1 0 0\nv 1 1 0\n"


def write(tmp_path, text, name="m.obj"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_relative_indices_count_back_from_their_line(tmp_path):
    text = ("v 0 0 0\nv 1 0 0\nv 1 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nf -3/-3 -2/-2 -1/-1\n"
            "v 5 5 5\nv 6 5 5\nv 6 6 5\nvt .5 .5\nvt .6 .6\nvt .7 .7\nf -3/-3 -2/-2 -1/-1\nf 1/1 -1/-1 5/5\n")
    path = write(tmp_path, text)
    obj = read_obj(path, error=InputError)
    assert obj.poly_vertex.tolist() == [0, 1, 2, 3, 4, 5, 0, 5, 4]
    assert obj.poly_uv.tolist() == [0, 1, 2, 3, 4, 5, 0, 5, 4]
    asset = import_mesh(path, "rel", resolution=16)
    assert asset.model.triangles.tolist() == [[0, 1, 2], [3, 4, 5], [0, 5, 4]]
    np.testing.assert_allclose(asset.model.uvs[asset.model.triangle_uv_index[1]], [[.5, .5], [.6, .6], [.7, .7]], rtol=1e-6)
    assert asset.provenance["imported"]["unwrapped"] is False


def test_faces_without_uvs_never_borrow_one(tmp_path):
    path = write(tmp_path, TRI + "v 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nf 1/1 2/2 3/3\nf 1 3 4\n")
    with pytest.raises(InputError, match=r"line 9: the face has no texture coordinates but others \(line 8\) do"):
        import_mesh(path, "mixed", resolution=16)
    path = write(tmp_path, TRI + "vt 0 0\nf 1/1 2 3\n")
    with pytest.raises(InputError, match="line 5: some corners of the face have texture coordinates"):
        import_mesh(path, "mixed", resolution=16)
    # No face with UVs: unwrapped, whatever vt lines the file has.
    path = write(tmp_path, TRI + "v 0 1 0\nvt 0.9 0.9\nf 1//1 2//1 3//1\nf 1 3 4\n")
    a = import_mesh(path, "plain", resolution=16)
    assert a.provenance["imported"]["unwrapped"] is True and np.isfinite(a.model.uvs).all()


@pytest.mark.parametrize("text, message", [
    (TRI + "f 1 2 9\n", r"line 4: vertex index 9 does not exist \(the file has 3\)"),
    (TRI + "f 1 2 -4\n", r"line 4: vertex index -4 does not exist \(3 vertices are defined before this line\)"),
    (TRI + "f 0 1 2\n", "line 4: vertex index 0 does not exist"),
    (TRI + "vt 0 0\nf 1/1 2/1 3/2\n", r"line 5: texture coordinate index 2 does not exist \(the file has 1\)"),
    (TRI + "vt 0 0\nf 1/-2 2/1 3/1\n", "line 5: texture coordinate index -2 does not exist"),
    (TRI + "f 1 2\n", "line 4: a face needs at least 3 corners"),
    (TRI + "f 1 a 3\n", "line 4: malformed face corner 'a'"),
    ("v 0 0 0\nv nan 0 0\nv 1 1 0\nf 1 2 3\n", r"line 2: vertex 2 is not finite \(nan 0 0\)"),
    ("v 0 0 0\nv 1 0 0\nv 1 1e60 0\nf 1 2 3\n", r"line 3: vertex 3 is not finite \(1 1e60 0\)"),
    (TRI + "vt 0 inf\nf 1/1 2/1 3/1\n", "line 4: texture coordinate 1 is not finite"),
    ("v 0 0 0\nv 1 zero 0\nv 1 1 0\nf 1 2 3\n", "line 2: malformed 'v' line"),
    ("v 0 0\n", "line 1: malformed 'v' line"),
    ("# nothing\n", "has no vertices or no faces"),
])
def test_bad_obj_is_an_error_naming_the_line(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=message) as err:
        import_mesh(path, "bad", resolution=16)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(FaceModelError, match=message):  # the face model's reader says the same
        read_obj(path)


@pytest.mark.parametrize("data, message", [
    (b"v 0 0 0\n\x00\x01\x02binary", "not a text file .*offset 8"),
    ("v 0 0 0 # caf\u00e9\n".encode("latin-1"), "not UTF-8 text .*0xe9 at offset 13"),
])
def test_binary_or_non_utf8_obj_is_one_line_error(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(InputError, match=message) as err:
        import_mesh(path, "bin", resolution=16)
    assert "\n" not in str(err.value)


def test_degenerate_faces_are_dropped_and_reported(tmp_path):
    path = write(tmp_path, TRI + "v 0 1 0\nf 1 2 2\nf 1 2 3\nf 3 3 3\nf 1 3 4\n")
    root = tmp_path / "lib"
    out = runner.invoke(app, ["import", str(path), "--name", "deg", "--library", str(root), "--resolution", "16"])
    assert out.exit_code == 0, out.output
    assert "dropped 2 face(s) that repeat a vertex" in out.stderr and "line(s) 5, 7" in out.stderr
    with Library.open(root) as lib:
        a = lib.load(out.stdout.strip().splitlines()[-1])
        assert a.provenance["imported"]["dropped_degenerate_faces"] == [5, 7]
        assert len(a.model.triangles) == 2 and np.isfinite(a.model.uvs).all()
        assert lib.check() == []
    path = write(tmp_path, TRI + "f 1 1 2\n", "all.obj")
    with pytest.raises(InputError, match="every face repeats a vertex"):
        import_mesh(path, "all", resolution=16)


def test_imported_obj_exports(tmp_path):
    from assetgen.export.glb import export_glb

    text = ("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvt 0.5 0.5\n"
            "f 1/1 2/2 3/3 4/4\nf -4/-5 -2/-1 -1/-2\n")  # a quad (fan-triangulated) and a relative face
    a = import_mesh(write(tmp_path, text), "quad", resolution=16)
    assert a.model.triangle_uv_index.tolist() == [[0, 1, 2], [0, 2, 3], [0, 4, 3]]
    export_glb(a, tmp_path / "quad.glb")
    assert (tmp_path / "quad.glb").stat().st_size > 0


def test_non_finite_ply_vertex_is_named(tmp_path):
    ply = ("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
           "element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n0 nan 0\n1 1 0\n3 0 1 2\n")
    path = write(tmp_path, ply, "m.ply")
    with pytest.raises(InputError, match=r"m\.ply: vertex 1 \(0-based\) is not finite \(0 nan 0\)"):
        import_mesh(path, "ply", resolution=16)
