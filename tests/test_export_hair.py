"""Hair in every export (GLB, gt.json, USD, OBJ, the Blender scene script): an asset with a groom, checked
by reading the written files back (the GLB with the independent parser of test_export_glb, the Khronos
validator and the renderer's reader; USD with pxr; OBJ with trimesh; the scene script with bpy)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from assetgen.attach.hair import make_groom, sample_groom_params
from assetgen.attach.hair.color import absorption_to_color
from assetgen.attach.hair.ribbons import build_ribbons
from assetgen.export.blender import FIBRES_PER_CLUMP
from assetgen.export.formats import FORMATS, SELECTION_FORMATS
from assetgen.export.glb import build_glb
from assetgen.export.hair import HAIR_RULE, hair_primitives
from assetgen.face import ict
from assetgen.generate import AssetRequest, asset_seed, make_asset
from assetgen.recipe import Recipe
from assetgen.render.hair import fibre_texture

from .test_export_glb import Glb

REPO = Path(__file__).resolve().parents[1]
BPY_PYTHON = Path(os.environ.get("ASSETGEN_BPY_PYTHON", REPO / ".venv-bpy" / "bin" / "python"))
HAIR_NAMES = ("scalp_hair", "eyebrow_left", "eyebrow_right", "beard", "moustache")  # eyelashes: ICT's id


@pytest.fixture(scope="module")
def bald(face_model, layout64):
    return make_asset(face_model, layout64, AssetRequest("hair_0", asset_seed(9, 0), Recipe(), 9, 0))


@pytest.fixture(scope="module")
def hairy(face_model, bald):
    """The bald asset with a groom (a thin scalp, brows, a moustache, lashes): every hair region but beard."""
    rng = np.random.default_rng(5)
    params = sample_groom_params(rng, style="balding", beard_style="moustache")
    asset = replace(bald)
    asset.groom = make_groom(face_model, params, rng)
    return asset


@pytest.fixture(scope="module")
def glb_export(hairy, tmp_path_factory):
    out = tmp_path_factory.mktemp("glb")
    FORMATS["glb"](hairy, out, "h")
    return out / "h.glb", Glb((out / "h.glb").read_bytes()), json.loads((out / "h.gt.json").read_text())


def test_glb_hair_primitives_follow_the_contract(hairy, glb_export):
    _, glb, _ = glb_export
    ribbons = build_ribbons(hairy.groom, hairy.model, hairy.vertices, lod=True)  # what every exporter writes
    regions = [g.region for g in hairy.groom.groups]
    assert set(regions) == {"scalp_hair", "eyebrow_left", "eyebrow_right", "moustache", "eyelashes"}
    prims = glb.primitives
    n_face = len(prims) - len(regions)
    hair = prims[n_face:]
    assert all(not glb.json["materials"][p["material"]]["name"].startswith("Hair_") for p in prims[:n_face])
    assert [p["extras"]["assetgen_region"] for p in hair] == regions
    textures = set()
    for p, region in zip(hair, regions):
        mat = glb.json["materials"][p["material"]]
        assert mat["name"] == f"Hair_{region}"
        assert (mat["alphaMode"], mat["alphaCutoff"], mat["doubleSided"]) == ("MASK", 0.5, True)
        pbr = mat["pbrMetallicRoughness"]
        assert pbr["metallicFactor"] == 0 and pbr["roughnessFactor"] == pytest.approx(0.4)
        textures.add(pbr["baseColorTexture"]["index"])
        attrs = p["attributes"]
        assert set(attrs) == {"POSITION", "NORMAL", "TANGENT", "TEXCOORD_0", "COLOR_0", "_OCCLUSION"}
        occ = glb.accessor(attrs["_OCCLUSION"])  # render.hair_occlusion: bent direction (unit), share
        assert occ.shape == (len(glb.accessor(attrs["POSITION"])), 4) and occ.dtype == np.float32
        assert 0 <= occ[:, 3].min() and occ[:, 3].max() <= 1
        np.testing.assert_allclose(np.linalg.norm(occ[:, :3], axis=1), 1.0, atol=1e-5)
        color = glb.accessor(attrs["COLOR_0"])
        assert glb.json["accessors"][attrs["COLOR_0"]]["type"] == "VEC4" and color.dtype == np.float32
        rid = ribbons.region_names.index(region)
        sel = ribbons.vertex_region == rid
        np.testing.assert_array_equal(glb.accessor(attrs["POSITION"]),
                                      (ribbons.positions[sel].astype(np.float64) * 0.01).astype(np.float32))
        np.testing.assert_allclose(color[:, :3], ribbons.color[sel], atol=1e-6)
        np.testing.assert_allclose(color[:, 3], ribbons.alpha[sel], atol=1e-6)
        np.testing.assert_array_equal(glb.accessor(attrs["TEXCOORD_0"]), ribbons.uv[sel])
        tangent = glb.accessor(attrs["TANGENT"])
        assert (tangent[:, 3] == 1).all()
        np.testing.assert_allclose(tangent[:, :3], ribbons.tangents[sel], atol=1e-6)
        assert len(glb.accessor(p["indices"])) == 3 * int((ribbons.region == rid).sum())
    (texture,) = textures  # one shared fibre texture
    np.testing.assert_array_equal(glb.image(texture), fibre_texture())
    sampler = glb.json["samplers"][glb.json["textures"][texture]["sampler"]]
    assert sampler["minFilter"] == sampler["magFilter"] == 9729  # LINEAR: no mipmaps
    groom = glb.json["asset"]["extras"]["groom"]
    assert groom["n_strands"] == hairy.groom.n_strands() and groom["digest"] == hairy.groom.digest()


def test_glb_with_hair_is_validator_clean(glb_export, face_model):
    from assetgen.export.validate import ValidatorUnavailable, validate_glb

    path, glb, _ = glb_export
    try:
        report = validate_glb(path)
    except ValidatorUnavailable as exc:
        pytest.skip(f"glTF validator not installed ({exc}); .ci/setup.sh installs it")
    assert report["numErrors"] == 0, [m for m in report["messages"] if m["severity"] == 0][:5]
    assert report["numWarnings"] == 0, report["messages"][:5]
    n_tri = sum(len(glb.accessor(p["indices"])) // 3 for p in glb.primitives)
    assert report["info"]["totalTriangleCount"] == n_tri > len(face_model.triangles)


def test_ground_truth_with_hair(hairy, glb_export):
    _, glb, gt = glb_export
    assert gt["regions"] == list(ict.REGIONS) + list(HAIR_NAMES)
    counts = [len(glb.accessor(p["indices"])) // 3 for p in glb.primitives]
    assert [p["triangles"] for p in gt["primitives"]] == counts
    assert len(gt["triangle_regions"]) == sum(counts)
    hair = gt["hair"]
    start = sum(counts[: hair["primitives"][0]])
    for k in hair["primitives"]:
        region = glb.primitives[k]["extras"]["assetgen_region"]
        assert set(gt["triangle_regions"][start : start + counts[k]]) == {region}
        assert hair["triangles"][region] == counts[k]
        start += counts[k]
    ribbons = build_ribbons(hairy.groom, hairy.model, hairy.vertices, lod=True)
    assert hair["triangles"] == ribbons.triangle_counts()
    assert "nearest surface at the pixel centre" in hair["rule"] and hair["rule"] == HAIR_RULE
    assert hair["n_strands"] == hairy.groom.n_strands()
    assert hair["params"] == hairy.groom.params.as_dict() and hair["digest"] == hairy.groom.digest()


def test_glb_round_trips_through_the_renderer_reader(hairy, glb_export):
    from assetgen.render.mesh import read_glb

    path, _, gt = glb_export
    mesh = read_glb(path)
    assert tuple(mesh.regions) == tuple(gt["regions"])
    hair = [p for p in mesh.primitives if p.material.startswith("Hair_")]
    assert [p.material for p in hair] == [f"Hair_{g.region}" for g in hairy.groom.groups]
    assert all(p.alpha_mode == "MASK" for p in hair)
    ids = np.concatenate([p.regions for p in mesh.primitives])
    names = np.asarray(mesh.regions)[ids]
    assert names.tolist() == gt["triangle_regions"]


def test_glb_bytes_deterministic_and_unchanged_without_hair(hairy, bald, glb_export):
    path, _, _ = glb_export
    assert build_glb(hairy)[0] == path.read_bytes()
    plain = build_glb(bald)[0]
    for no_hair in (None, replace(hairy.groom, groups=())):
        other = replace(bald)
        other.groom = no_hair
        assert build_glb(other)[0] == plain
        assert hair_primitives(other) == ()
    assert b"Hair_" not in plain


def test_usd_hair_basis_curves(hairy, tmp_path):
    pytest.importorskip("pxr")
    from pxr import Usd, UsdGeom

    FORMATS["usda"](hairy, tmp_path, "u")
    stage = Usd.Stage.Open(str(tmp_path / "u.usda"))
    curves = {p.GetName(): UsdGeom.BasisCurves(p) for p in stage.Traverse() if p.IsA(UsdGeom.BasisCurves)}
    assert list(curves) == [g.region for g in hairy.groom.groups]
    for g in hairy.groom.groups:
        c = curves[g.region]
        assert str(c.GetPrim().GetParent().GetPath()) == "/hair_0/Hair"
        assert c.GetTypeAttr().Get() == "linear"
        assert list(c.GetCurveVertexCountsAttr().Get()) == [g.n_points] * g.n_strands
        pts = np.asarray(c.GetPointsAttr().Get())
        np.testing.assert_allclose(pts, g.evaluate(hairy.vertices).reshape(-1, 3) * 0.01, atol=1e-6)
        widths = np.asarray(c.GetWidthsAttr().Get())
        assert c.GetWidthsInterpolation() == "vertex" and len(widths) == len(pts)
        assert 0 < widths.min() and widths.max() < 0.02  # metres: clumps of a few mm at most
        color = UsdGeom.PrimvarsAPI(c).GetPrimvar("displayColor")
        assert color.GetInterpolation() == "uniform" and len(color.Get()) == g.n_strands
        region = UsdGeom.PrimvarsAPI(c).GetPrimvar("assetgen:region")
        assert region.GetInterpolation() == "constant" and region.Get() == g.region
    gt = json.loads((tmp_path / "u.gt.json").read_text())
    meshes = [p for p in stage.Traverse() if p.IsA(UsdGeom.Mesh)]
    assert len(gt["primitives"]) == len(meshes) and gt["hair"]["primitives"] == []
    assert gt["hair"]["n_strands"] == hairy.groom.n_strands()


def test_obj_hair_groups(hairy, tmp_path):
    import trimesh

    files = FORMATS["obj"](hairy, tmp_path, "o")
    assert tmp_path / "o_textures" / "Hair_fibre.png" in files
    mtl = (tmp_path / "o.mtl").read_text()
    gt = json.loads((tmp_path / "o.gt.json").read_text())
    scene = trimesh.load(str(tmp_path / "o.obj"), process=False, group_material=False)
    faces = {}  # material -> triangles (trimesh names its geometries after the first object)
    for geom in scene.geometry.values():
        faces[geom.visual.material.name] = faces.get(geom.visual.material.name, 0) + len(geom.faces)
    assert sum(faces.values()) == len(gt["triangle_regions"])
    assert faces == {p["material"]: p["triangles"] for p in gt["primitives"]}
    for g in hairy.groom.groups:
        assert f"newmtl Hair_{g.region}\n" in mtl and faces[f"Hair_{g.region}"] > 0
    block = mtl.split("newmtl Hair_scalp_hair\n")[1].split("newmtl")[0]
    assert "map_d -imfchan m o_textures/Hair_fibre.png" in block


def test_blend_script_hair_curves_in_blender(hairy, bald, tmp_path):
    if not BPY_PYTHON.is_file():
        pytest.skip(f"no bpy environment at {BPY_PYTHON} (.ci/setup.sh creates .venv-bpy)")
    out = tmp_path / "blend"
    out.mkdir()
    written = SELECTION_FORMATS["blend-script"]([("bald", bald), ("hairy", hairy)], out)
    assert out / "hairy.hair.npz" in written and not (out / "bald.hair.npz").exists()
    driver = r"""
import json, runpy, sys
script, report = sys.argv[1:3]
sys.argv = [script]
runpy.run_path(script)
import bpy
out = {}
for o in bpy.context.scene.objects:
    if o.type == "CURVES":
        mat = o.data.materials[0]
        nodes = {n.bl_idname for n in mat.node_tree.nodes}
        out[o.name] = {"curves": len(o.data.curves), "points": len(o.data.points), "pass_index": o.pass_index,
                       "material": mat.name, "material_pass": mat.pass_index, "nodes": sorted(nodes),
                       "x": o.location.x, "radius_max": max(a.value for a in o.data.attributes["radius"].data)}
    elif o.type == "MESH":
        names = [m.name for m in o.data.materials if m]
        hair_slots = {k for k, m in enumerate(o.data.materials) if m and m.name.startswith("Hair_")}
        out[o.name] = {"hair_faces": sum(p.material_index in hair_slots for p in o.data.polygons),
                       "faces": len(o.data.polygons), "pass_index": o.pass_index}
json.dump(out, open(report, "w"))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    report = tmp_path / "report.json"
    proc = subprocess.run([str(BPY_PYTHON), "-c", driver, str(out / "scene.py"), str(report)], check=False, cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    scene = json.loads(report.read_text())
    curves = {k: v for k, v in scene.items() if "curves" in v}
    assert sorted(curves) == sorted(f"hairy_hair_{g.region}" for g in hairy.groom.groups)
    for g in hairy.groom.groups:
        c = curves[f"hairy_hair_{g.region}"]
        k = FIBRES_PER_CLUMP.get(g.region, 1)  # fibres spread across each clump's width
        assert (c["curves"], c["points"]) == (k * g.n_strands, k * g.n_strands * g.n_points)
        assert 0 < c["radius_max"] < 0.5e-3  # metres: fibres, not the clump cards' half widths
        assert "ShaderNodeBsdfHairPrincipled" in c["nodes"] and "ShaderNodeAttribute" in c["nodes"]
        assert c["material"].startswith(f"Hair_{g.region}") and c["material_pass"] > 0
        assert c["pass_index"] == 2 and c["x"] == pytest.approx(0.35)
    meshes = [v for v in scene.values() if "hair_faces" in v]
    assert len(meshes) == 2 and all(m["hair_faces"] == 0 for m in meshes)  # the curves replace the cards
    assert meshes[0]["faces"] == meshes[1]["faces"]


def test_hair_curves_file_for_blender(hairy, bald, tmp_path):
    from assetgen.export.blender import write_hair_curves

    assert write_hair_curves(bald, tmp_path / "bald.hair.npz") is None and not (tmp_path / "bald.hair.npz").exists()
    a = write_hair_curves(hairy, tmp_path / "a.hair.npz")
    b = write_hair_curves(hairy, tmp_path / "b.hair.npz")
    assert a.read_bytes() == b.read_bytes()
    data = np.load(a, allow_pickle=False)
    assert data["regions"].tolist() == [g.region for g in hairy.groom.groups]
    for g in hairy.groom.groups:
        np.testing.assert_allclose(data[f"points_{g.region}"], g.evaluate(hairy.vertices) * 0.01, atol=1e-6)
        np.testing.assert_array_equal(data[f"melanin_{g.region}"], g.melanin)
        assert data[f"widths_{g.region}"].shape == (g.n_strands, g.n_points)
        sides = data[f"sides_{g.region}"]
        np.testing.assert_allclose(np.linalg.norm(sides, axis=-1), 1, atol=1e-5)
        tangents = np.gradient(data[f"points_{g.region}"].astype(np.float64), axis=1)
        cos = np.abs((sides * tangents).sum(-1)) / np.maximum(np.linalg.norm(tangents, axis=-1), 1e-12)
        assert np.median(cos) < 1e-3  # across the strand
        assert int(data[f"fibres_{g.region}"]) == FIBRES_PER_CLUMP.get(g.region, 1)
        # each fibre grey or pigmented: the clumps' mean fibre colour is the colour the fast renderer draws
        k = FIBRES_PER_CLUMP.get(g.region, 1)
        absorption = data[f"absorption_{g.region}"]
        assert absorption.shape == (g.n_strands, k, 3) and absorption.dtype == np.float32
        fibre_colour = absorption_to_color(absorption, float(data["radial_roughness"]))
        np.testing.assert_allclose(fibre_colour.mean((0, 1)), np.asarray(g.color).mean(0), atol=0.02 / k ** 0.5)
    assert float(data["roughness"]) == pytest.approx(hairy.groom.params.color.roughness)


def test_fibre_grey_splits_each_clump_by_its_grey_share():
    """fibre_grey: floor or ceil of grey x k grey fibres in each clump, a share grey over many single-fibre
    clumps, none at 0 and all at 1."""
    from assetgen.export.blender import fibre_grey

    rng = np.random.default_rng(0)
    grey = rng.uniform(0, 1, 2000)
    flags = fibre_grey(grey, 8)
    count = flags.sum(1)
    assert flags.shape == (2000, 8) and np.all((count == np.floor(grey * 8)) | (count == np.ceil(grey * 8)))
    assert abs(fibre_grey(np.full(4000, 0.3), 1).mean() - 0.3) < 0.01
    assert not fibre_grey(np.zeros(50), 4).any() and fibre_grey(np.ones(50), 4).all()
