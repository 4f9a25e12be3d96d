"""Bad input files reach one clear error line (exit 2), never a traceback or a silently wrong result.

Each class of damage goes through the real command line (`assetgen.cli.main`): YAML configs, the GLB and
gt.json `assetgen render` reads, the views folder `assetgen bake` reads, the image `assetgen
despecularize` reads, and the URL and timeout of `assetgen face-model fetch` (validated before any
network or file work: no test here opens a connection).
"""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgen.cli import main
from assetgen.errors import ConfigError, InputError
from assetgen.images import MAX_PIXELS, read_image
from assetgen.yamlio import MAX_NODES, load_yaml


def fails(capsys, args: list[str]) -> str:
    """Run the CLI; assert exit 2 with exactly one non-empty stderr line and no traceback; the line."""
    capsys.readouterr()
    rc = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# ---- 1. YAML ---------------------------------------------------------------------------------------
def _bomb(levels: int = 7) -> str:
    """A render config whose aliases, nested under a key, expand to 10**levels values."""
    lines = ["yaw_deg: [-10, 10]", "junk:", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


BAD_YAML = {
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "is not a UTF-8 text YAML file"),
    "latin-1": ("yaw_deg: [-10, 10]  # \xe9t\xe9\n".encode("latin-1"), "is not a UTF-8 text YAML file"),
    "nul bytes": (b"yaw_deg: [-10, 10]\n\x00\x00\n", "is not a UTF-8 text YAML file"),
    "control character": (b"yaw_deg: [-10, 10]\npitch_deg: \x07\n", "line 2"),
    "alias bomb": (_bomb().encode(), f"over the {MAX_NODES:,} limit"),
    "recursive alias": (b"yaw_deg: [-10, 10]\nloop: &a [1, *a]\n", "refers to its own anchor"),
    "duplicate key": (b"yaw_deg: [-10, 10]\npitch_deg: [-5, 5]\nyaw_deg: [0, 1]\n",
                      "line 3, column 1: key 'yaw_deg' is given twice in one mapping (first at line 1)"),
    "nested duplicate": (b"junk:\n  a:\n    b: 1\n    b: 2\n", "line 4, column 5: key 'b' is given twice"),
    "syntax error": (b"yaw_deg: [-10, 10\npitch_deg: [0, 1]\n", "line 2, column 10: invalid YAML"),
    "two documents": (b"yaw_deg: [-10, 10]\n---\npitch_deg: [0, 1]\n", "line 2, column 1: invalid YAML"),
    "python tag": (b"yaw_deg: !!python/object/apply:os.system ['true']\n", "line 1, column 10: invalid YAML"),
    "top-level list": (b"- yaw_deg\n- pitch_deg\n", "the top level must be a mapping"),
    "deep nesting": (b"a: " + b"[" * 3000 + b"]" * 3000 + b"\n", "nests lists or mappings too deeply"),
}


@pytest.mark.parametrize("case", list(BAD_YAML))
def test_bad_yaml_is_one_line_naming_the_file(tmp_path, capsys, case):
    data, expected = BAD_YAML[case]
    cfg = tmp_path / "render.yaml"
    cfg.write_bytes(data)
    out = tmp_path / "out"
    line = fails(capsys, ["render", tmp_path / "head.glb", "--out", out, "--config", cfg])
    assert str(cfg) in line and expected in line, line
    assert not out.exists()


def test_yaml_loader_keeps_safe_load_semantics(tmp_path):
    p = tmp_path / "ok.yaml"
    # merge keys may override, aliases within the budget load, plain types only
    p.write_text("base: &b {x: 1, y: [1, 2]}\nc:\n  <<: *b\n  x: 2\nd: *b\ne: 2024-01-02\nf: null\n")
    data = load_yaml(p)
    assert data["c"] == {"x": 2, "y": [1, 2]} and data["d"] == {"x": 1, "y": [1, 2]}
    assert str(data["e"]) == "2024-01-02" and data["f"] is None
    p.write_text("# only a comment\n")
    assert load_yaml(p) is None
    p.write_text("- 1\n- 2\n")
    assert load_yaml(p, mapping=False) == [1, 2]
    # the same key spelled twice as numbers is the same key once loaded
    p.write_text("1: a\n1.0: b\n")
    with pytest.raises(ConfigError, match="given twice"):
        load_yaml(p)
    # a bomb that stays under the node budget is an ordinary document
    p.write_text(_bomb(levels=3))
    assert len(load_yaml(p)["junk"]["a2"]) == 10
    with pytest.raises(ConfigError, match=r"cannot read .*missing\.yaml"):
        load_yaml(tmp_path / "missing.yaml")


def test_valid_render_config_with_aliases_still_loads(tmp_path):
    from assetgen.views.cameras import load_ranges

    p = tmp_path / "render.yaml"
    p.write_text("yaw_deg: &r [-10, 10]\npitch_deg: *r\n")
    ranges = load_ranges(p)
    assert ranges.yaw_deg == (-10.0, 10.0) and ranges.pitch_deg == (-10.0, 10.0)


@pytest.mark.parametrize("reader", ["recipe", "job", "distribution", "registry", "text_to_uv"])
def test_every_yaml_reader_uses_the_loader(tmp_path, reader):
    """Each config reader of the package refuses a duplicate key, naming the file and the line."""
    p = tmp_path / "dup.yaml"
    p.write_text("name: x\nname: y\n")
    if reader == "recipe":
        from assetgen.recipe import load_recipe as load
    elif reader == "job":
        from assetgen.batch import load_job as load
    elif reader == "distribution":
        from assetgen.library.sample import load_distribution as load
    elif reader == "registry":
        from assetgen.diffusion.registry import load_registry as load
    else:
        from assetgen.diffusion.text_to_uv import load_config as load
    with pytest.raises(ConfigError) as info:
        load(p)
    assert str(p) in str(info.value) and "line 2, column 1: key 'name' is given twice" in str(info.value)


def test_batch_job_with_duplicate_keys_fails_cleanly(tmp_path, capsys):
    job = tmp_path / "job.yaml"
    job.write_text("name: t\nn: 2\nrecipe: demo\nseed: 1\nseed: 2\n")
    lib = tmp_path / "lib"
    line = fails(capsys, ["batch", job, "--library", lib])
    assert str(job) in line and "key 'seed' is given twice" in line
    assert not lib.exists()


# ---- 2. GLB and gt.json (assetgen render) ----------------------------------------------------------
def _split(glb: bytes) -> tuple[dict, bytes]:
    n = struct.unpack_from("<I", glb, 12)[0]
    doc = json.loads(glb[20 : 20 + n])
    m = struct.unpack_from("<I", glb, 20 + n)[0]
    return doc, glb[28 + n : 28 + n + m]


def _pack(doc: dict, blob: bytes) -> bytes:
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    blob += b"\0" * (-len(blob) % 4)
    body = struct.pack("<II", len(js), 0x4E4F534A) + js + struct.pack("<II", len(blob), 0x004E4942) + blob
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


def _accessor_array(doc: dict, blob: bytearray, index: int) -> np.ndarray:
    """A writable view of accessor `index` inside `blob`."""
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    dtype = {5121: "u1", 5123: "<u2", 5125: "<u4", 5126: "<f4"}[acc["componentType"]]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[acc["type"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    return np.frombuffer(blob, dtype, acc["count"] * width, start).reshape(acc["count"], width)


@pytest.fixture(scope="module")
def good_glb(face_model, layout64, tmp_path_factory) -> Path:
    from assetgen.export.asset_files import write_asset
    from assetgen.generate import AssetRequest, make_asset
    from assetgen.recipe import Recipe

    asset = make_asset(face_model, layout64, AssetRequest(name="head", seed=3, recipe=Recipe()))
    return write_asset(asset, tmp_path_factory.mktemp("good")).glb


def _edit_glb(doc: dict, blob: bytearray, how: str) -> None:
    prim = doc["meshes"][0]["primitives"][0]
    if how == "accessor past the buffer":
        doc["accessors"][prim["attributes"]["POSITION"]]["count"] *= 50
    elif how == "buffer view past the binary chunk":
        doc["bufferViews"][doc["accessors"][prim["indices"]]["bufferView"]]["byteLength"] = len(blob) * 2
    elif how == "missing accessor":
        prim["attributes"]["NORMAL"] = len(doc["accessors"]) + 5
    elif how == "missing material":
        prim["material"] = 99
    elif how == "out-of-range index":
        n = doc["accessors"][prim["attributes"]["POSITION"]]["count"]
        _accessor_array(doc, blob, prim["indices"])[7, 0] = n + 3
    elif how == "degenerate triangle":
        idx = _accessor_array(doc, blob, prim["indices"]).reshape(-1, 3)
        idx[4, 1] = idx[4, 0]
    elif how == "NaN position":
        _accessor_array(doc, blob, prim["attributes"]["POSITION"])[11, 1] = np.nan
    elif how == "infinite position":
        _accessor_array(doc, blob, prim["attributes"]["POSITION"])[12, 2] = np.inf
    elif how == "NaN texcoord":
        _accessor_array(doc, blob, prim["attributes"]["TEXCOORD_0"])[3, 0] = np.nan
    elif how == "truncated texture":
        tex = doc["materials"][prim["material"]]["pbrMetallicRoughness"]["baseColorTexture"]["index"]
        view = doc["bufferViews"][doc["images"][doc["textures"][tex]["source"]]["bufferView"]]
        view["byteLength"] //= 2
    else:
        raise AssertionError(how)


GLB_DAMAGE = {
    "accessor past the buffer": "elements need",
    "buffer view past the binary chunk": "but the binary chunk has",
    "missing accessor": "which does not exist",
    "missing material": "materials[99], which does not exist",
    "out-of-range index": "triangle 2 uses vertex",
    "degenerate triangle": "1 degenerate triangles (a vertex used twice), first triangle 4",
    "NaN position": "primitive 0 POSITION is NaN or infinite at 1 vertices (first: vertex 11,",
    "infinite position": "primitive 0 POSITION is NaN or infinite at 1 vertices (first: vertex 12,",
    "NaN texcoord": "primitive 0 TEXCOORD_0 is NaN or infinite at 1 vertices (first: vertex 3,",
    "truncated texture": "is truncated",
}


def _copy(good_glb: Path, folder: Path) -> tuple[Path, Path]:
    folder.mkdir()
    glb = Path(shutil.copy(good_glb, folder / good_glb.name))
    gt = Path(shutil.copy(good_glb.with_name("head.gt.json"), folder / "head.gt.json"))
    return glb, gt


def _render_fails(capsys, tmp_path: Path, glb: Path) -> str:
    out = tmp_path / "out"
    line = fails(capsys, ["render", glb, "--out", out, "--views", 1, "--size", 16])
    assert not out.exists()
    return line


def test_the_good_glb_reads(good_glb):
    from assetgen.render.mesh import read_glb

    mesh = read_glb(good_glb)
    assert len(mesh.primitives) > 1 and mesh.landmarks_world.shape == (68, 3)


@pytest.mark.parametrize("how", list(GLB_DAMAGE))
def test_damaged_glb_is_one_line(tmp_path, capsys, good_glb, how):
    glb, _ = _copy(good_glb, tmp_path / "in")
    doc, blob = _split(glb.read_bytes())
    blob = bytearray(blob)
    _edit_glb(doc, blob, how)
    glb.write_bytes(_pack(doc, bytes(blob)))
    line = _render_fails(capsys, tmp_path, glb)
    assert str(glb) in line and GLB_DAMAGE[how] in line, line


@pytest.mark.parametrize("how", ["truncated", "not a GLB", "short", "bad JSON chunk", "trailing bytes"])
def test_broken_glb_container_is_one_line(tmp_path, capsys, good_glb, how):
    glb, _ = _copy(good_glb, tmp_path / "in")
    data = glb.read_bytes()
    expected = {"truncated": "is truncated: its header says", "not a GLB": "is not a GLB file",
                "short": "is not a GLB file", "bad JSON chunk": "JSON chunk is not valid JSON",
                "trailing bytes": "bytes after the end its header gives"}[how]
    if how == "truncated":
        data = data[: len(data) * 2 // 3]
    elif how == "not a GLB":
        data = b"PK\x03\x04" + data[4:]
    elif how == "short":
        data = b"glT"
    elif how == "bad JSON chunk":
        data = data[:20] + b"x" + data[21:]
    else:
        data = data + b"\0" * 8
    glb.write_bytes(data)
    line = _render_fails(capsys, tmp_path, glb)
    assert str(glb) in line and expected in line, line


def _edit_gt(gt: dict, how: str):
    if how == "empty object":
        return {}
    if how == "a list":
        return [gt]
    if how == "too few triangle regions":
        gt["triangle_regions"] = gt["triangle_regions"][:-5]
    elif how == "unknown region":
        gt["triangle_regions"][10] = "elbow"
    elif how == "67 landmarks":
        gt["landmarks_68"]["position"] = gt["landmarks_68"]["position"][:67]
    elif how == "NaN landmark":
        gt["landmarks_68"]["position"][5][0] = float("nan")
    elif how == "landmark off its vertex":
        gt["landmarks_68"]["position"][30][1] += 0.01
    elif how == "landmark vertex out of range":
        gt["landmarks_68"]["vertex_index"][2] = [0, 10**6]
    elif how == "primitive counts":
        gt["primitives"][1]["vertices"] += 1
    else:
        raise AssertionError(how)
    return gt


GT_DAMAGE = {
    "empty object": "has no 'triangle_regions'",
    "a list": "must be a JSON object",
    "too few triangle regions": "triangle regions but head.glb has",
    "unknown region": "triangle_regions[10] is 'elbow', not one of its 'regions'",
    "67 landmarks": "landmarks_68.position must be 68 x [x, y, z], got shape (67, 3)",
    "NaN landmark": "landmarks_68.position holds NaN or infinity (landmark 5)",
    "landmark off its vertex": "landmark 30 is at",
    "landmark vertex out of range": "landmark 2 is on vertex 1000000 of primitive 0",
    "primitive counts": "primitive 1 is",
}


@pytest.mark.parametrize("how", list(GT_DAMAGE))
def test_gt_json_that_does_not_match_is_one_line(tmp_path, capsys, good_glb, how):
    glb, gt_path = _copy(good_glb, tmp_path / "in")
    gt = _edit_gt(json.loads(gt_path.read_text()), how)
    gt_path.write_text(json.dumps(gt))
    line = _render_fails(capsys, tmp_path, glb)
    assert str(gt_path) in line and GT_DAMAGE[how] in line, line


@pytest.mark.parametrize("how", ["truncated", "not UTF-8", "missing"])
def test_unreadable_gt_json_is_one_line(tmp_path, capsys, good_glb, how):
    glb, gt_path = _copy(good_glb, tmp_path / "in")
    text = gt_path.read_bytes()
    if how == "truncated":
        gt_path.write_bytes(text[: len(text) // 3])
        expected = "is not valid JSON"
    elif how == "not UTF-8":
        gt_path.write_bytes(b'{"name": "h\xe9ad"}')
        expected = "is not UTF-8 JSON text"
    else:
        gt_path.unlink()
        expected = "is missing"
    line = _render_fails(capsys, tmp_path, glb)
    assert str(gt_path) in line and expected in line, line


# ---- 3. views folder (assetgen bake) ----------------------------------------------------------------
def _view_folder(folder: Path, size: int = 16) -> tuple[Path, Path]:
    from assetgen.render.camera import Camera, intrinsics, look_at

    folder.mkdir()
    cam = Camera(intrinsics(size, size, 40.0), look_at([0, 0, 0.6], [0, 0, 0]), (size, size))
    rec = folder / "view_000.json"
    rec.write_text(json.dumps(cam.to_json()))
    img = folder / "view_000.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)).save(img)
    return rec, img


BAD_VIEWS = {
    "truncated image": ("image", "is truncated"),
    "not an image": ("image", "is not an image file"),
    "image of the wrong size": ("image", "is 8x8 but view_000.json says 16x16"),
    "truncated record": ("record", "is not valid JSON"),
    "empty record": ("record", "camera record needs K"),
    "record is a list": ("record", "must be a JSON object, not list"),
    "NaN in K": ("record", "NaN or infinity"),
    "record not UTF-8": ("record", "is not UTF-8 JSON text"),
}


@pytest.mark.parametrize("how", list(BAD_VIEWS))
def test_damaged_view_files_are_one_line(tmp_path, capsys, good_glb, how):
    rec, img = _view_folder(tmp_path / "views")
    which, expected = BAD_VIEWS[how]
    if how == "truncated image":
        img.write_bytes(img.read_bytes()[:-120])
    elif how == "not an image":
        img.write_text("<html>not found</html>")
    elif how == "image of the wrong size":
        Image.new("RGB", (8, 8)).save(img)
    elif how == "truncated record":
        rec.write_text(rec.read_text()[:40])
    elif how == "empty record":
        rec.write_text("{}")
    elif how == "record is a list":
        rec.write_text("[]")
    elif how == "NaN in K":
        data = json.loads(rec.read_text())
        data["K"][0][0] = float("nan")
        rec.write_text(json.dumps(data))
    else:
        rec.write_bytes(b'{"K": "\xff"}')
    out = tmp_path / "out"
    line = fails(capsys, ["bake", good_glb, "--views", tmp_path / "views", "--out", out])
    assert str(rec if which == "record" else img) in line and expected in line, line
    assert not out.exists()


# ---- 4. images (assetgen despecularize) -------------------------------------------------------------
def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares width x height pixels (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _despecularize_fails(capsys, tmp_path: Path, image: Path) -> str:
    out = tmp_path / "out"
    line = fails(capsys, ["despecularize", image, "--out", out])
    assert not out.exists()
    assert str(image) in line, line
    return line


@pytest.mark.parametrize("size, expected", [((9000, 9000), f"over the {MAX_PIXELS:,}-pixel limit"),
                                            ((40000, 40000), "refusing it (a decompression bomb?)")])
def test_decompression_bomb_is_refused_from_its_header(tmp_path, capsys, size, expected):
    img = tmp_path / "bomb.png"
    img.write_bytes(_png_header_only(*size))
    assert img.stat().st_size < 200
    line = _despecularize_fails(capsys, tmp_path, img)
    assert expected in line and "Warning" not in line, line


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_image_is_refused(tmp_path, capsys, fmt):
    img = tmp_path / f"face.{fmt.lower()}"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(img, format=fmt)
    img.write_bytes(img.read_bytes()[: img.stat().st_size // 2])
    assert "is truncated" in _despecularize_fails(capsys, tmp_path, img)


def test_truncated_image_is_refused_even_when_pillow_is_told_to_accept_it(tmp_path, monkeypatch):
    from PIL import ImageFile

    img = tmp_path / "face.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(img)
    img.write_bytes(img.read_bytes()[:-400])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(InputError, match="is truncated"):
        read_image(img)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # put back as it was


@pytest.mark.parametrize("name, content, expected", [
    ("empty.png", b"", "is empty"),
    ("page.png", b"<html>rate limited</html>", "is not an image file"),
])
def test_non_images_are_refused(tmp_path, capsys, name, content, expected):
    img = tmp_path / name
    img.write_bytes(content)
    assert expected in _despecularize_fails(capsys, tmp_path, img)


def test_float_tiff_is_refused(tmp_path, capsys):
    img = tmp_path / "depth.tif"
    Image.fromarray(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)).save(img)
    assert "floating-point pixels" in _despecularize_fails(capsys, tmp_path, img)


def _u8_of(v16: np.ndarray) -> np.ndarray:
    return np.floor(v16.astype(np.float64) / 257 + 0.5).astype(np.uint8)


def test_16bit_grey_png_is_scaled_not_clipped(tmp_path, capsys):
    grey = np.random.default_rng(2).integers(0, 65536, (24, 32), dtype=np.uint16)
    img = tmp_path / "grey16.png"
    Image.fromarray(grey).save(img)
    assert Image.open(img).mode.startswith("I;16")
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["despecularize", str(img), "--out", str(out)]) == 0
    albedo = np.asarray(Image.open(out / "albedo.png"))
    expected = np.repeat(_u8_of(grey)[..., None], 3, axis=2)
    assert albedo.shape == (24, 32, 3) and np.array_equal(albedo, expected)  # grey has no highlight to remove
    assert albedo.max() < 255 or grey.max() > 65535 - 129


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_keeps_its_low_bits(tmp_path, capsys, channels):
    import cv2

    rgb = np.random.default_rng(3).integers(0, 65536, (20, 30, channels), dtype=np.uint16)
    img = tmp_path / "colour16.png"
    cv2.imwrite(str(img), rgb[..., [2, 1, 0, 3][:channels]])
    got = read_image(img)
    assert got.dtype == np.uint8 and np.array_equal(got, _u8_of(rgb))
    tif = tmp_path / "colour16.tif"
    cv2.imwrite(str(tif), rgb[..., [2, 1, 0, 3][:channels]])
    assert np.array_equal(read_image(tif), _u8_of(rgb))
    capsys.readouterr()
    assert main(["despecularize", str(img), "--out", str(tmp_path / "out")]) == 0
    assert np.asarray(Image.open(tmp_path / "out" / "albedo.png")).shape == (20, 30, channels)


def test_palette_grey_alpha_and_cmyk_convert(tmp_path):
    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    grey = rgb[..., 0]
    # palette with a transparent index -> RGBA
    pal = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.save(tmp_path / "p.png", transparency=0)
    got = read_image(tmp_path / "p.png")
    assert got.shape == (16, 16, 4)
    idx = np.asarray(pal)
    assert np.array_equal(got[..., 3], np.where(idx == 0, 0, 255))
    assert np.array_equal(got[..., :3], np.asarray(pal.convert("RGB")))
    # greyscale -> RGB, greyscale + alpha -> RGBA
    Image.fromarray(grey).save(tmp_path / "l.png")
    assert np.array_equal(read_image(tmp_path / "l.png"), np.repeat(grey[..., None], 3, axis=2))
    Image.fromarray(np.dstack([grey, 255 - grey]), "LA").save(tmp_path / "la.png")
    la = read_image(tmp_path / "la.png")
    assert la.shape == (16, 16, 4) and np.array_equal(la[..., 1], grey) and np.array_equal(la[..., 3], 255 - grey)
    # CMYK JPEG -> RGB
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    cmyk = read_image(tmp_path / "c.jpg")
    assert cmyk.shape == (16, 16, 3) and np.array_equal(cmyk, np.asarray(Image.open(tmp_path / "c.jpg").convert("RGB")))


# ---- 5. face-model fetch ------------------------------------------------------------------------------
@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Any attempt to open a URL fails the test; the cache is a fresh folder that must stay absent."""
    import urllib.request

    def refuse(*args, **kwargs):
        raise AssertionError("the URL was opened; it should have been refused first")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    cache = tmp_path / "cache"
    monkeypatch.setenv("ASSETGEN_CACHE", str(cache))
    return cache


@pytest.mark.parametrize("url, expected", [
    ("ftp://example.org/a.zip", "has scheme 'ftp'"),
    ("example.org/a.zip", "has no scheme"),
    ("http:///a.zip", "has no host"),
    ("https://exa mple.org/a.zip", "contains a space or control character"),
    ("https://example.org/a\tb.zip", "contains a space or control character"),
    ("https://example.org/a.zip\n", "contains a space or control character"),
    ("https://example.org:99999/a.zip", "is not a valid URL"),
    ("file://elsewhere/a.zip", "names host 'elsewhere'"),
    ("file:relative.zip", "a file URL is file:///ABSOLUTE/PATH"),
])
def test_bad_fetch_url_is_refused_before_any_work(tmp_path, capsys, no_network, url, expected):
    out = tmp_path / "model"
    line = fails(capsys, ["face-model", "fetch", "--url", url, "--sha256", "a" * 64, "--out", out])
    assert "--url" in line and expected in line, line
    assert not out.exists() and not no_network.exists()


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf", "-inf"])
def test_bad_fetch_timeout_is_refused_before_any_work(tmp_path, capsys, no_network, timeout):
    out = tmp_path / "model"
    url = (tmp_path / "archive.zip").as_uri()
    line = fails(capsys, ["face-model", "fetch", "--url", url, "--sha256", "a" * 64, "--out", out,
                          f"--timeout={timeout}"])
    assert "--timeout" in line and timeout in line, line
    assert not out.exists() and not no_network.exists()


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), float("inf")])
def test_fetch_api_refuses_bad_timeouts_and_urls_before_any_work(tmp_path, no_network, timeout):
    from assetgen.face.fetch import fetch_face_model

    out = tmp_path / "model"
    with pytest.raises(InputError, match="--timeout must be a finite number of seconds > 0"):
        fetch_face_model((tmp_path / "a.zip").as_uri(), "a" * 64, out, timeout=timeout)
    with pytest.raises(InputError, match="has scheme 'gopher'"):
        fetch_face_model("gopher://example.org/a.zip", "a" * 64, out)
    assert not out.exists() and not no_network.exists()
