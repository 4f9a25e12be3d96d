"""GLB export and its ground-truth sidecar, checked by reading the written files back independently
(a small GLB parser below, no assetgen code) and with the Khronos glTF validator."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
from PIL import Image

from assetgen.asset import Asset
from assetgen.errors import InputError, OutputError
from assetgen.export.glb import export_glb
from assetgen.geometry import vertex_tangents
from assetgen.export.groundtruth import ground_truth, write_ground_truth
from assetgen.texture.base import MaterialTextures, TextureSet

BLENDED = {"M_EyeLashes": "BLEND", "M_EyeOcclusion": "BLEND", "M_LacrimalFluid": "MASK"}
EXPRESSION = {"jawOpen": 0.6, "eyeBlink_L": 0.3}


# ---- an independent GLB reader ---------------------------------------------------------------
class Glb:
    """Parses a GLB: json (dict), bin (bytes); accessor(i) -> numpy array, image(i) -> numpy array."""

    _DTYPES = {5120: "i1", 5121: "u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
    _WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}

    def __init__(self, data: bytes):
        magic, version, length = struct.unpack_from("<4sII", data, 0)
        assert (magic, version, length) == (b"glTF", 2, len(data))
        json_len, json_type = struct.unpack_from("<I4s", data, 12)
        assert json_type == b"JSON" and json_len % 4 == 0
        self.json = json.loads(data[20 : 20 + json_len])
        bin_len, bin_type = struct.unpack_from("<I4s", data, 20 + json_len)
        assert bin_type == b"BIN\0"
        self.bin = data[28 + json_len : 28 + json_len + bin_len]

    def view(self, i: int) -> bytes:
        v = self.json["bufferViews"][i]
        return self.bin[v.get("byteOffset", 0) : v.get("byteOffset", 0) + v["byteLength"]]

    def accessor(self, i: int) -> np.ndarray:
        a = self.json["accessors"][i]
        width = self._WIDTH[a["type"]]
        dtype = self._DTYPES[a["componentType"]]
        raw = np.frombuffer(self.view(a["bufferView"]), dtype, offset=a.get("byteOffset", 0), count=a["count"] * width)
        return raw.reshape(a["count"], width) if width > 1 else raw

    def image(self, texture: int) -> np.ndarray:
        img = self.json["images"][self.json["textures"][texture]["source"]]
        assert img["mimeType"] == "image/png"
        return np.asarray(Image.open(io.BytesIO(self.view(img["bufferView"]))))

    @property
    def primitives(self) -> list[dict]:
        (mesh,) = self.json["meshes"]
        return mesh["primitives"]


# ---- fixtures --------------------------------------------------------------------------------
def synthetic_textures(model, layout, seed: int = 0) -> TextureSet:
    """Gradient/solid uint8 maps per material at the layout's image sizes."""
    rng = np.random.default_rng(seed)
    materials = {}
    for name in model.material_names:
        h, w = layout[name].shape
        ramp = np.linspace(0, 255, w, dtype=np.float64)[None, :].repeat(h, 0).astype(np.uint8)
        mode = BLENDED.get(name, "OPAQUE")
        channels = [ramp, ramp[::-1], np.full((h, w), rng.integers(0, 256), np.uint8)]
        if mode != "OPAQUE":
            channels.append(ramp.T[:h, :w] if h == w else np.full((h, w), 200, np.uint8))
        normal = np.empty((h, w, 3), np.uint8)
        normal[...] = (128, 140, 250)  # a slightly tilted flat normal
        materials[name] = MaterialTextures(
            base_color=np.dstack(channels),
            roughness=np.full((h, w), 90 + len(materials), np.uint8),
            specular=ramp[::-1].copy(),
            normal=normal,
            alpha_mode=mode,
            alpha_cutoff=0.4,
            double_sided=mode != "OPAQUE",
        )
    return TextureSet(materials, labels={"skin_tone": "test"}, params={}, backend="synthetic", seed=seed)


def make_asset(model, textures, seed: int = 1, expression=EXPRESSION, name: str = "face_0001") -> Asset:
    wid = model.identity_weights(np.random.default_rng(seed), truncation=2.5)
    wex = model.expression_weights(expression)
    return Asset(
        name=name,
        model=model,
        vertices=model.vertices(wid, wex),
        identity_weights=wid,
        expression_weights=wex,
        textures=textures,
        labels={"skin_tone": "test", "age": np.int64(40), "empty": ""},
        provenance={"seed": np.int64(seed), "scale": np.float32(0.5), "tuple": (1, 2)},
    )


@pytest.fixture(scope="module")
def textures(face_model, layout64):
    return synthetic_textures(face_model, layout64)


@pytest.fixture(scope="module")
def exported(face_model, textures, tmp_path_factory):
    """(asset, GlbExport, parsed Glb, ground-truth dict read back from disk, file bytes)."""
    folder = tmp_path_factory.mktemp("glb")
    asset = make_asset(face_model, textures)
    glb = export_glb(asset, folder / f"{asset.name}.glb")
    write_ground_truth(folder / f"{asset.name}.gt.json", ground_truth(asset, glb))
    data = glb.path.read_bytes()
    gt = json.loads((folder / f"{asset.name}.gt.json").read_text())
    return asset, glb, Glb(data), gt, data


# ---- geometry --------------------------------------------------------------------------------
def test_one_primitive_per_material_in_model_order(face_model, exported):
    asset, glb, parsed, gt, _ = exported
    used = [n for m, n in enumerate(face_model.material_names) if (face_model.triangle_material == m).any()]
    names = [parsed.json["materials"][p["material"]]["name"] for p in parsed.primitives]
    assert names == used == [p.material for p in glb.primitives]
    assert [p["material"] for p in gt["primitives"]] == used
    for prim, gp, rec in zip(parsed.primitives, glb.primitives, gt["primitives"]):
        m = face_model.material_names.index(gp.material)
        expect = np.flatnonzero(face_model.triangle_material == m)
        np.testing.assert_array_equal(gp.source_triangle, expect)  # model triangle order kept
        assert len(parsed.accessor(prim["indices"])) == 3 * len(expect) == 3 * rec["triangles"]
        assert parsed.json["accessors"][prim["indices"]]["componentType"] in (5123, 5125)
    assert len(parsed.json["nodes"]) == 1 and parsed.json["scenes"][parsed.json["scene"]]["nodes"] == [0]


def test_positions_triangles_and_uvs_match_the_model(face_model, exported):
    asset, glb, parsed, _, _ = exported
    expect_cm = face_model.vertices(asset.identity_weights, EXPRESSION)
    for prim, gp in zip(parsed.primitives, glb.primitives):
        pos = parsed.accessor(prim["attributes"]["POSITION"])
        assert pos.dtype == np.float32 and pos.shape == (gp.n_vertices, 3)
        np.testing.assert_allclose(pos, expect_cm[gp.source_vertex] * 0.01, rtol=1e-6, atol=1e-8)
        acc = parsed.json["accessors"][prim["attributes"]["POSITION"]]
        assert acc["min"] == pos.min(0).tolist() and acc["max"] == pos.max(0).tolist()
        # Each glTF triangle is the model triangle, corner for corner (vertex and UV).
        tri = parsed.accessor(prim["indices"]).reshape(-1, 3).astype(np.int64)
        np.testing.assert_array_equal(gp.source_vertex[tri], face_model.triangles[gp.source_triangle])
        np.testing.assert_array_equal(gp.source_uv[tri], face_model.triangle_uv_index[gp.source_triangle])
        # TEXCOORD_0: in [0, 1], the UDIM mapping of the material's layout raster.
        uv = parsed.accessor(prim["attributes"]["TEXCOORD_0"])
        assert uv.min() >= 0.0 and uv.max() <= 1.0
        m = face_model.material_names.index(gp.material)
        from assetgen.uv.raster import material_tiles

        u0, tiles = material_tiles(face_model, m)
        src = face_model.mesh.uvs[gp.source_uv].astype(np.float64)
        np.testing.assert_allclose(uv[:, 0], (src[:, 0] - u0) / tiles, atol=1e-6)
        np.testing.assert_allclose(uv[:, 1], 1.0 - src[:, 1], atol=1e-6)
        # Split per (vertex, uv) pair: no two glTF vertices share both.
        keys = gp.source_vertex * len(face_model.mesh.uvs) + gp.source_uv
        assert len(np.unique(keys)) == len(keys)


def test_one_udim_mapping_for_rasterizer_exporters_and_renderer(face_model, layout64, exported):
    """The UV rasterizer's texels, the GLB's TEXCOORD_0, the OBJ/USD st and the renderer's texcoords
    all come from uv.raster.udim_texcoords: a covered texel's model UV (its triangle's corner UVs at its
    barycentrics) maps to the texel's centre; TEXCOORD_0 and st agree in u bit for bit and in v up to
    the flip."""
    from assetgen.export.parts import mesh_parts
    from assetgen.render import mesh_from_asset
    from assetgen.uv.raster import udim_texcoords

    asset, glb, parsed, _, _ = exported
    uvs = np.asarray(face_model.mesh.uvs, np.float64)
    multi_tile = False
    for name in ("M_Face", "M_BackHead", "M_IrisLeft", "M_Teeth", "M_LacrimalFluid"):
        raster = layout64[name]
        multi_tile |= raster.tiles > 1
        idx, tri, bary = raster.covered()
        model_uv = np.einsum("nk,nkc->nc", bary.astype(np.float64), uvs[face_model.triangle_uv_index[tri]])
        h, w = raster.shape
        centre = np.column_stack([(idx % w + 0.5) / w, (idx // w + 0.5) / h])
        assert np.abs(udim_texcoords(model_uv, raster.tile_u0, raster.tiles) - centre).max() < 1e-3 / max(h, w), name
        assert np.array_equal(raster.uv_to_texture(model_uv), udim_texcoords(model_uv, raster.tile_u0, raster.tiles))
    assert multi_tile  # M_LacrimalFluid spans two UDIM tiles
    render_mesh = mesh_from_asset(asset)
    for prim, part, rp in zip(parsed.primitives, mesh_parts(asset), render_mesh.primitives):
        texcoord = parsed.accessor(prim["attributes"]["TEXCOORD_0"])
        assert np.array_equal(rp.texcoords, texcoord)
        assert np.array_equal(part.st[:, 0], texcoord[:, 0])
        assert np.abs(part.st[:, 1] - (1.0 - texcoord[:, 1].astype(np.float64))).max() < 1e-7


def test_normals_and_tangents(face_model, exported):
    asset, glb, parsed, _, _ = exported
    normals = face_model.vertex_normals(asset.vertices)
    agree = total = 0
    for prim, gp in zip(parsed.primitives, glb.primitives):
        n = parsed.accessor(prim["attributes"]["NORMAL"]).astype(np.float64)
        t = parsed.accessor(prim["attributes"]["TANGENT"]).astype(np.float64)
        pos = parsed.accessor(prim["attributes"]["POSITION"]).astype(np.float64)
        uv = parsed.accessor(prim["attributes"]["TEXCOORD_0"]).astype(np.float64)
        np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(n, normals[gp.source_vertex], atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(t[:, :3], axis=1), 1.0, atol=1e-5)
        assert set(np.unique(t[:, 3])) <= {-1.0, 1.0}
        assert np.abs(np.sum(t[:, :3] * n, axis=1)).max() < 1e-4
        # Per face: the tangent follows +u and cross(N, T) * w follows image-up (-v in glTF UVs).
        tri = parsed.accessor(prim["indices"]).reshape(-1, 3).astype(np.int64)
        e1, e2 = pos[tri[:, 1]] - pos[tri[:, 0]], pos[tri[:, 2]] - pos[tri[:, 0]]
        d1, d2 = uv[tri[:, 1]] - uv[tri[:, 0]], uv[tri[:, 2]] - uv[tri[:, 0]]
        det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
        ok = np.abs(det) > 1e-12
        dpdu = (e1 * d2[:, 1:2] - e2 * d1[:, 1:2])[ok] / det[ok, None]
        dpdv = (e2 * d1[:, 0:1] - e1 * d2[:, 0:1])[ok] / det[ok, None]
        tc = t[tri[ok, 0]]
        bitangent = np.cross(n[tri[ok, 0]], tc[:, :3]) * tc[:, 3:]
        good = (np.sum(tc[:, :3] * dpdu, axis=1) > 0) & (np.sum(bitangent * -dpdv, axis=1) > 0)
        agree += int(good.sum())
        total += int(ok.sum())
    assert agree / total > 0.99, f"only {agree}/{total} faces agree with their tangent frame"


@pytest.mark.parametrize("mirror", [1.0, -1.0])
def test_tangents_of_a_flat_quad(mirror):
    # A quad in the xy plane facing +z, u along +x and v (image up) along +y, or along -y when mirrored.
    pos = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], np.float32)
    nrm = np.tile(np.array([0, 0, 1], np.float32), (4, 1))
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64)
    uv[:, 1] *= mirror
    tri = np.array([[0, 1, 2], [0, 2, 3]])
    t = vertex_tangents(pos, nrm, uv, tri)
    np.testing.assert_allclose(t, np.tile([1.0, 0.0, 0.0, mirror], (4, 1)), atol=1e-6)


# ---- materials -------------------------------------------------------------------------------
def test_materials_and_textures(face_model, textures, exported):
    _, glb, parsed, _, _ = exported
    doc = parsed.json
    assert "KHR_materials_specular" in doc["extensionsUsed"]
    for sampler in doc["samplers"]:
        assert sampler["minFilter"] == 9987 and sampler["magFilter"] == 9729
    for prim in parsed.primitives:
        mat = doc["materials"][prim["material"]]
        tex = textures.materials[mat["name"]]
        pbr = mat["pbrMetallicRoughness"]
        base = parsed.image(pbr["baseColorTexture"]["index"])
        mrs = parsed.image(pbr["metallicRoughnessTexture"]["index"])
        spec = mat["extensions"]["KHR_materials_specular"]["specularTexture"]["index"]
        assert spec == pbr["metallicRoughnessTexture"]["index"]  # one image: G roughness, B metal, A specular
        np.testing.assert_array_equal(mrs[..., 1], tex.roughness)
        assert (mrs[..., 2] == 0).all() and (mrs[..., 0] == 255).all()
        np.testing.assert_array_equal(mrs[..., 3], tex.specular)
        np.testing.assert_array_equal(parsed.image(mat["normalTexture"]["index"]), tex.normal)
        assert mat["alphaMode"] == tex.alpha_mode and mat["doubleSided"] == tex.double_sided
        if tex.alpha_mode == "OPAQUE":
            np.testing.assert_array_equal(base, tex.base_color[..., :3])
            assert "alphaCutoff" not in mat
        else:
            np.testing.assert_array_equal(base, tex.base_color)
            assert ("alphaCutoff" in mat) == (tex.alpha_mode == "MASK")


def test_the_irises_carry_the_clear_cornea_as_a_clear_coat(exported):
    # other glTF renderers draw the cornea's catchlights from it: a coat of IOR 1.5 (4 %) weighted to the
    # cornea's reflectance (IOR 1.376: 2.5 %), as smooth as the fast renderer's cornea
    from assetgen.face.ict import CORNEA_COAT_WEIGHT, CORNEA_COATED, CORNEA_ROUGHNESS

    doc = exported[2].json
    coated = {m["name"]: m["extensions"]["KHR_materials_clearcoat"] for m in doc["materials"]
              if "KHR_materials_clearcoat" in m.get("extensions", {})}
    assert sorted(coated) == sorted(CORNEA_COATED)
    for coat in coated.values():
        assert coat == {"clearcoatFactor": CORNEA_COAT_WEIGHT, "clearcoatRoughnessFactor": CORNEA_ROUGHNESS}
    assert abs(CORNEA_COAT_WEIGHT * 0.04 - 0.025) < 1e-4
    assert "KHR_materials_clearcoat" in doc["extensionsUsed"]


def test_extras(exported):
    asset, _, parsed, _, _ = exported
    extras = parsed.json["asset"]["extras"]
    assert extras["name"] == asset.name and extras["up_axis"] == "+y" and extras["units"] == "m"
    assert extras["labels"] == {"age": 40, "empty": "", "skin_tone": "test"}
    assert extras["provenance"] == {"scale": 0.5, "seed": 1, "tuple": [1, 2]}
    node = parsed.json["nodes"][0]["extras"]
    np.testing.assert_array_equal(node["identity_weights"], asset.identity_weights)
    assert node["expression_weights"] == pytest.approx(EXPRESSION)


def test_missing_material_textures_is_an_input_error(face_model, textures, tmp_path):
    partial = TextureSet({k: v for k, v in textures.materials.items() if k != "M_Teeth"})
    with pytest.raises(InputError, match="M_Teeth"):
        export_glb(make_asset(face_model, partial), tmp_path / "x.glb")
    assert list(tmp_path.iterdir()) == []


# ---- ground truth ----------------------------------------------------------------------------
def test_landmarks_point_at_their_glb_vertices(face_model, exported):
    asset, _, parsed, gt, _ = exported
    lm = gt["landmarks_68"]
    assert len(lm["position"]) == len(lm["vertex_index"]) == 68
    positions = [parsed.accessor(p["attributes"]["POSITION"]) for p in parsed.primitives]
    for pos, (p, v) in zip(lm["position"], lm["vertex_index"]):
        assert positions[p][v].tolist() == pos  # exact: both are the same float32 values
    expect = asset.vertices[face_model.landmarks_68].astype(np.float64) * 0.01
    np.testing.assert_allclose(np.array(lm["position"]), expect, rtol=1e-6, atol=1e-8)


def test_triangle_regions_follow_the_glb(face_model, exported):
    _, glb, parsed, gt, _ = exported
    n_tri = sum(len(parsed.accessor(p["indices"])) // 3 for p in parsed.primitives)
    assert len(gt["triangle_regions"]) == n_tri == len(face_model.triangles)
    expect = [gt["regions"][r] for p in glb.primitives for r in face_model.triangle_region[p.source_triangle]]
    assert gt["triangle_regions"] == expect
    assert set(gt["triangle_regions"]) <= set(gt["regions"]) and gt["regions"][0] == "background"
    counts = [len(parsed.accessor(p["indices"])) // 3 for p in parsed.primitives]
    assert [p["triangles"] for p in gt["primitives"]] == counts


def test_ground_truth_fields(exported):
    asset, glb, _, gt, _ = exported
    assert gt["glb"] == glb.path.name and gt["units"] == "m" and gt["up_axis"] == "+y"
    assert isinstance(gt["format"], str) and gt["format"]
    assert gt["expression_weights"] == pytest.approx(EXPRESSION)
    assert gt["identity_weights"] == asset.identity_weights.tolist()
    assert gt["labels"]["age"] == 40 and gt["provenance"]["scale"] == 0.5


# ---- validity, determinism, failures ---------------------------------------------------------
def test_khronos_validator_reports_no_errors(face_model, exported):
    from assetgen.export.validate import ValidatorUnavailable, validate_glb

    try:
        report = validate_glb(exported[1].path)
    except ValidatorUnavailable as exc:
        pytest.skip(f"glTF validator not installed ({exc}); .ci/setup.sh installs it")
    errors = [m for m in report["messages"] if m["severity"] == 0]
    assert report["numErrors"] == 0, errors[:5]
    assert report["numWarnings"] == 0, report["messages"][:5]
    assert report["info"]["totalTriangleCount"] == len(face_model.triangles)


def test_same_asset_same_bytes_other_identity_other_bytes(face_model, textures, exported, tmp_path):
    asset, _, _, _, data = exported
    again = export_glb(asset, tmp_path / "again.glb")
    assert again.path.read_bytes() == data
    gt_a = write_ground_truth(tmp_path / "a.gt.json", ground_truth(asset, again)).read_bytes()
    gt_b = write_ground_truth(tmp_path / "b.gt.json", ground_truth(asset, again)).read_bytes()
    assert gt_a == gt_b
    other = export_glb(make_asset(face_model, textures, seed=2), tmp_path / "other.glb")
    assert other.path.read_bytes() != data


@pytest.mark.parametrize("where", ["under_a_file", "missing_parent"])
def test_unwritable_output_is_an_output_error(face_model, textures, tmp_path, where):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    target = blocker / "x.glb" if where == "under_a_file" else tmp_path / "missing" / "x.glb"
    with pytest.raises(OutputError, match="x.glb"):
        export_glb(make_asset(face_model, textures), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
    assert blocker.read_text() == "not a folder"


# ---- the fast paths: PNG encoder, batched geometry, ground-truth JSON -------------------------
def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, checking the signature and each chunk's CRC."""
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        assert crc == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + length
    return chunks


@pytest.mark.parametrize("shape", [(37, 53), (37, 53, 1), (37, 53, 2), (64, 48, 3), (29, 31, 4), (1, 1, 3), (1, 9, 4), (9, 1)])
@pytest.mark.parametrize("content", ["noise", "smooth", "constant"])
def test_encode_png_is_lossless_deterministic_and_plain(shape, content):
    from assetgen import png

    rng = np.random.default_rng(sum(shape))
    if content == "noise":
        img = rng.integers(0, 256, size=shape, dtype=np.uint8)
    elif content == "smooth":  # wraps around 255 -> 0 in places: the filter's modular arithmetic
        img = (np.add.outer(np.arange(shape[0]) * 7, np.arange(shape[1]) * 5) % 256).astype(np.uint8)
        img = np.broadcast_to(img.reshape(shape[:2] + (1,) * (len(shape) - 2)), shape).copy()
    else:
        img = np.full(shape, 201, np.uint8)
        if len(shape) == 3:
            img[...] = np.arange(shape[2], dtype=np.uint8) * 60 + 3
    data = png.encode_png(img)
    assert png.encode_png(img.copy()) == data
    back = np.asarray(Image.open(io.BytesIO(data)))
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back.reshape(img.shape), img)
    assert [kind for kind, _ in _png_chunks(data)] == [b"IHDR", b"IDAT", b"IEND"]  # no time, no text
    if content == "constant":  # the cached bytes are the ones a fresh encoding gives
        png._FLAT_PNGS.clear()
        assert png.encode_png(img) == data


def test_encode_png_of_views_and_other_dtypes():
    from assetgen.png import encode_png

    rng = np.random.default_rng(7)
    rgba = rng.integers(0, 256, size=(40, 30, 4), dtype=np.uint8)
    for view in (rgba[..., :3], rgba[::2, ::3], rgba[5:25, 3:20, 1:3], np.asfortranarray(rgba[..., 0])):
        data = encode_png(view)
        assert encode_png(np.ascontiguousarray(view)) == data
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), view)
    # dtypes and layouts PNG's 8-bit path does not cover still go through Pillow, losslessly
    mask = rng.random((16, 24)) > 0.5
    assert (np.asarray(Image.open(io.BytesIO(encode_png(mask)))) == mask).all()
    deep = rng.integers(0, 65536, size=(16, 24), dtype=np.uint16)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encode_png(deep)))), deep)


def test_glb_images_are_the_encoded_material_images(face_model, textures, exported):
    from assetgen.export.materials import material_images
    from assetgen.png import encode_png

    _, _, parsed, _, _ = exported
    doc = parsed.json
    for prim in parsed.primitives:
        mat = doc["materials"][prim["material"]]
        images = material_images(textures.materials[mat["name"]])
        for kind, info in [("baseColor", mat["pbrMetallicRoughness"]["baseColorTexture"]),
                           ("roughnessSpecular", mat["pbrMetallicRoughness"]["metallicRoughnessTexture"]),
                           ("normal", mat["normalTexture"])]:
            source = doc["textures"][info["index"]]["source"]
            assert parsed.view(doc["images"][source]["bufferView"]) == encode_png(images[kind]), (mat["name"], kind)


def test_normals_and_tangents_are_bit_for_bit_the_reference_functions(face_model, exported):
    from assetgen.geometry import safe_normals, vertex_tangents

    asset, glb, parsed, _, _ = exported
    normals = safe_normals(face_model.vertex_normals(np.asarray(asset.vertices, dtype=np.float32)))
    for prim, gp in zip(parsed.primitives, glb.primitives):
        pos = parsed.accessor(prim["attributes"]["POSITION"])
        nrm = parsed.accessor(prim["attributes"]["NORMAL"])
        assert nrm.tobytes() == normals[gp.source_vertex].tobytes()
        tri = parsed.accessor(prim["indices"]).reshape(-1, 3).astype(np.int64)
        model_uv = np.asarray(face_model.mesh.uvs, dtype=np.float64)[gp.source_uv]
        expect = vertex_tangents(pos, nrm, model_uv, tri)
        assert parsed.accessor(prim["attributes"]["TANGENT"]).tobytes() == expect.tobytes(), gp.material


def test_gltf_json_tree_equals_pygltflib_asdict_pruned(exported):
    import pygltflib

    from assetgen.export.glb import _json_tree, _prune

    _, _, parsed, _, _ = exported
    doc = pygltflib.GLTF2.from_json(json.dumps(parsed.json))
    assert _json_tree(doc) == _prune(pygltflib.gltf_asdict(doc))


@pytest.mark.parametrize(
    "record",
    [
        {"triangle_regions": ["lips", "nose", "é\"\\\n\t\x01", "lips"] * 40, "regions": ["a"], "z": 1},
        {"weights": [0.1, 1e-300, -2.5e17, 3, -0.0, 12345678901234567890] * 20, "flags": [True, False] * 40},
        {"ints": list(range(100)), "nested": {"inner": ["x"] * 100}, "mixed": ["a", 1] * 50, "tuple": ("t",) * 70},
        {"a": ["\x00assetgen-flat-list-0\x00"] * 70, "b": "\x00assetgen-flat-list-0\x00", "empty": []},
        {"lists": [[1, 2]] * 70, "short": ["s"] * 63, "unicode": ["日本", "ü"] * 40},
    ],
)
def test_ground_truth_json_is_atomic_write_json_byte_for_byte(record, tmp_path):
    from assetgen.export.groundtruth import ground_truth_json
    from assetgen.io import atomic_write_json

    expect = atomic_write_json(tmp_path / "ref.json", record).read_bytes()
    assert ground_truth_json(record) == expect
    assert write_ground_truth(tmp_path / "fast.json", record).read_bytes() == expect


def test_ground_truth_file_is_atomic_write_json_byte_for_byte(exported, tmp_path):
    from assetgen.io import atomic_write_json

    asset, glb, _, _, _ = exported
    gt = ground_truth(asset, glb)
    assert write_ground_truth(tmp_path / "a.json", gt).read_bytes() == atomic_write_json(tmp_path / "b.json", gt).read_bytes()
