"""Export to USD (usda/usdc/usdz), OBJ and a Blender scene script, each with its ground-truth sidecar."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from assetgen.errors import InputError
from assetgen.export.formats import FORMATS, export_selection
from assetgen.export.parts import mesh_parts
from assetgen.face import ict
from assetgen.generate import AssetRequest, asset_seed, make_asset
from assetgen.library import Library
from assetgen.recipe import Recipe

pxr = pytest.importorskip("pxr")


@pytest.fixture(scope="module")
def asset(face_model, layout64):
    return make_asset(face_model, layout64, AssetRequest("exp_0", asset_seed(9, 0), Recipe(), 9, 0))


def test_usd_reopens_and_binds_textures(tmp_path, asset):
    from pxr import Usd, UsdGeom, UsdShade

    files = FORMATS["usd"](asset, tmp_path, "exp_0")
    path = tmp_path / "exp_0.usda"
    assert files[0] == path and (tmp_path / "exp_0.gt.json").is_file()
    stage = Usd.Stage.Open(str(path))
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0 and UsdGeom.GetStageUpAxis(stage) == "Y"
    parts = mesh_parts(asset)
    meshes = [p for p in stage.Traverse() if p.IsA(UsdGeom.Mesh)]
    assert [m.GetName() for m in meshes] == [p.material for p in parts]
    gt = json.loads((tmp_path / "exp_0.gt.json").read_text())
    assert gt["file"] == "exp_0.usda" and gt["export_format"] == "usda"
    for prim, part, info in zip(meshes, parts, gt["primitives"]):
        mesh = UsdGeom.Mesh(prim)
        pts = np.asarray(mesh.GetPointsAttr().Get())
        assert len(pts) == info["vertices"] and len(mesh.GetFaceVertexCountsAttr().Get()) == info["triangles"]
        material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()
        assert material and material.GetPrim().GetName() == part.material
        surface = material.ComputeSurfaceSource()[0]
        assert surface.GetIdAttr().Get() == "UsdPreviewSurface"
        src = surface.GetInput("diffuseColor").GetConnectedSources()[0][0].source
        tex = UsdShade.Shader(src.GetPrim())
        file = tex.GetInput("file").Get()
        resolved = (path.parent / file.path).resolve()
        assert resolved.is_file() and resolved.name == f"{part.material}_base_color.png"
        for name in ("roughness", "normal"):
            assert surface.GetInput(name).GetConnectedSources()[0]
        # the clear cornea as a clear coat on the irises only (face.ict)
        coat = surface.GetInput("clearcoat")
        assert (coat.Get() if coat else 0.0) == pytest.approx(ict.CORNEA_COAT_WEIGHT if part.material in
                                                              ict.CORNEA_COATED else 0.0)
        if part.material in ict.CORNEA_COATED:
            assert surface.GetInput("clearcoatRoughness").Get() == pytest.approx(ict.CORNEA_ROUGHNESS)
    # Landmark positions in the sidecar are the USD points they index.
    p, v = gt["landmarks_68"]["vertex_index"][30]
    pts = np.asarray(UsdGeom.Mesh(meshes[p]).GetPointsAttr().Get())
    np.testing.assert_allclose(pts[v], gt["landmarks_68"]["position"][30], atol=1e-6)


def test_usdz_and_usdc(tmp_path, asset):
    from pxr import Usd, UsdGeom, UsdShade

    FORMATS["usdz"](asset, tmp_path, "a")
    FORMATS["usdc"](asset, tmp_path, "b")
    for name in ("a.usdz", "b.usdc"):
        stage = Usd.Stage.Open(str(tmp_path / name))
        mesh = next(p for p in stage.Traverse() if p.IsA(UsdGeom.Mesh))
        assert UsdShade.MaterialBindingAPI(mesh).ComputeBoundMaterial()[0]
    assert not (tmp_path / "a_textures").exists()  # packed inside the usdz
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no work folders left


def test_obj_mtl_textures(tmp_path, asset):
    import trimesh

    files = FORMATS["obj"](asset, tmp_path, "o")
    obj, mtl = tmp_path / "o.obj", tmp_path / "o.mtl"
    assert obj in files and mtl in files and (tmp_path / "o.gt.json").is_file()
    text = mtl.read_text()
    for part in mesh_parts(asset):
        assert f"newmtl {part.material}" in text
        assert (tmp_path / "o_textures" / f"{part.material}_base_color.png").is_file()
        block = text.split(f"newmtl {part.material}\n")[1].split("newmtl")[0]
        assert ("\nPc " in block) == (part.material in ict.CORNEA_COATED), part.material  # the clear cornea
    scene = trimesh.load(str(obj), process=False)
    n = sum(len(p.indices) for p in mesh_parts(asset))
    total = sum(len(g.faces) for g in scene.geometry.values()) if hasattr(scene, "geometry") else len(scene.faces)
    assert total == n


def test_blend_script_and_library_export_command(tmp_path, asset, face_model):
    import ast

    from assetgen.cli.export import export

    root = tmp_path / "lib"
    with Library.open(root) as lib:
        lib.put(asset)
        lib.put(__import__("dataclasses").replace(asset, labels={**asset.labels, "v": 2}))
    app = typer.Typer()
    app.command()(export)
    runner = CliRunner()
    out = tmp_path / "blend"
    res = runner.invoke(app, ["--library", str(root), "--format", "blend-script", "--out", str(out)])
    assert res.exit_code == 0, res.output
    script = (out / "scene.py").read_text()
    ast.parse(script)
    glbs = sorted(p.name for p in out.glob("*.glb"))
    assert len(glbs) == 2 and all(g in script for g in glbs)  # same name twice -> name_ID8 stems
    assert all((out / g.replace(".glb", ".gt.json")).is_file() for g in glbs)
    for needle in ("use_pass_object_index", "use_pass_material_index", "use_pass_z", "use_pass_normal"):
        assert needle in script
    res = runner.invoke(app, ["--library", str(root), "--format", "usdz", "--out", str(tmp_path / "u"),
                              "--where", "v=2"])
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "u").glob("*.usdz"))) == 1
    res = runner.invoke(app, ["--library", str(root), "--format", "fbx", "--out", str(tmp_path / "x")])
    assert isinstance(res.exception, InputError)
    res = runner.invoke(app, ["--library", str(root), "--format", "obj", "--out", str(tmp_path / "x"),
                              "--where", "skin_tone=monk_99"])
    assert isinstance(res.exception, InputError) and "empty" in str(res.exception)


def test_imported_mesh_exports_everywhere(tmp_path):
    import trimesh

    from assetgen.library.mesh import import_mesh

    ply = tmp_path / "s.ply"
    trimesh.creation.icosphere(subdivisions=1, radius=0.05).export(ply)
    a = import_mesh(ply, "sphere", resolution=32)
    for fmt in ("glb", "usda", "obj"):
        files = export_selection([("sphere", a)], fmt, tmp_path / fmt)
        assert (tmp_path / fmt / "sphere.gt.json").is_file() and files
