"""`assetgen export --format blend-script`: run the generated scene.py with bpy 5.0.1 (a separate virtual
environment, .venv-bpy: bpy pins numpy 1.26) and check the scene and the rendered ground-truth passes."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import zlib
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from assetgen.generate import AssetRequest, asset_seed, make_asset
from assetgen.library import Library
from assetgen.recipe import Recipe

REPO = Path(__file__).resolve().parents[1]
BPY_PYTHON = Path(os.environ.get("ASSETGEN_BPY_PYTHON", REPO / ".venv-bpy" / "bin" / "python"))

pytestmark = pytest.mark.skipif(
    not BPY_PYTHON.is_file(),
    reason=f"no bpy environment at {BPY_PYTHON} (.ci/setup.sh creates .venv-bpy with bpy==5.0.1 "
    "unless ASSETGEN_WITH_BPY=0; or set ASSETGEN_BPY_PYTHON)",
)

# Runs scene.py the way `blender -b -P scene.py -- ARGS` does (sys.argv after "--"), then reports the scene.
DRIVER = r"""
import json, runpy, sys
script, render_dir, report = sys.argv[1:4]
sys.argv = [script, "--", "--render", render_dir, "--samples", "2", "--resolution", "64"]
runpy.run_path(script)
import bpy
scene = bpy.context.scene
layer = scene.view_layers[0]
meshes = [o for o in scene.objects if o.type == "MESH"]
json.dump({
    "blender": bpy.app.version_string,
    "engine": scene.render.engine,
    "camera": scene.camera.name if scene.camera else None,
    "lights": sum(o.type == "LIGHT" for o in scene.objects),
    "meshes": {o.name: {"pass_index": o.pass_index, "polygons": len(o.data.polygons),
                        "materials": {m.name: m.pass_index for m in o.data.materials if m}} for o in meshes},
    "passes": {k: getattr(layer, k) for k in
               ("use_pass_z", "use_pass_normal", "use_pass_object_index", "use_pass_material_index")},
    "cornea": sorted(m.name for m in bpy.data.materials if m.node_tree and "assetgen cornea" in m.node_tree.nodes),
    "coat": {m.name: n.inputs["Coat Weight"].default_value for m in bpy.data.materials if m.node_tree
             for n in m.node_tree.nodes if n.type == "BSDF_PRINCIPLED"},
}, open(report, "w"))
"""


def read_exr(path: Path) -> dict[str, np.ndarray]:
    """A minimal OpenEXR reader (scanline, single- or multi-part, NONE/ZIPS/ZIP) -> {channel: HxW float32}.
    Enough for Blender's multilayer output; neither environment has OpenEXR bindings."""
    data = path.read_bytes()
    assert data[:4] == b"\x76\x2f\x31\x01", "not an OpenEXR file"
    flags = struct.unpack_from("<I", data, 4)[0]
    assert not flags & 0xA00, "tiled or deep EXR"
    multi, pos, headers = bool(flags & 0x1000), 8, []
    while True:
        attrs = {}
        while data[pos] != 0:
            end = data.index(b"\0", pos)
            name, pos = data[pos:end].decode(), data.index(b"\0", end + 1) + 1
            size = struct.unpack_from("<i", data, pos)[0]
            attrs[name], pos = data[pos + 4:pos + 4 + size], pos + 4 + size
        pos += 1
        if not attrs:
            break
        headers.append(attrs)
        if not multi:
            break
    parts = []
    for attrs in headers:
        chans, raw, p = [], attrs["channels"], 0
        while raw[p] != 0:
            end = raw.index(b"\0", p)
            ptype = struct.unpack_from("<i", raw, end + 1)[0]
            chans.append((raw[p:end].decode(), np.dtype({0: np.uint32, 1: np.float16, 2: np.float32}[ptype])))
            p = end + 17
        comp = attrs["compression"][0]
        assert comp in (0, 2, 3), f"EXR compression {comp} (lossy or unsupported): the passes must be lossless"
        window = struct.unpack("<4i", attrs["dataWindow"])
        lines = 16 if comp == 3 else 1
        n = -(-(window[3] - window[1] + 1) // lines)
        parts.append((chans, comp, window, lines, struct.unpack_from(f"<{n}Q", data, pos)))
        pos += 8 * n
    out = {}
    for chans, comp, (x0, y0, x1, y1), lines, offsets in parts:
        w = x1 - x0 + 1
        planes = {name: np.zeros((y1 - y0 + 1, w), np.float32) for name, _ in chans}
        for off in offsets:
            off += 4 if multi else 0  # the part number
            y, size = struct.unpack_from("<ii", data, off)
            block = data[off + 8:off + 8 + size]
            rows = min(lines, y1 + 1 - y)
            if comp and size < rows * w * sum(t.itemsize for _, t in chans):
                d = np.frombuffer(zlib.decompress(block), np.uint8).astype(np.int64)
                d[1:] -= 128  # undo the predictor, then the byte interleaving
                t = (np.cumsum(d) & 0xFF).astype(np.uint8)
                b = np.empty_like(t)
                b[0::2], b[1::2] = t[:(len(t) + 1) // 2], t[(len(t) + 1) // 2:]
                block = b.tobytes()
            p = 0
            for r in range(rows):
                for name, t in chans:
                    planes[name][y - y0 + r] = np.frombuffer(block, t, w, p)
                    p += w * t.itemsize
        out.update(planes)
    return out


def test_blend_script_renders_ground_truth_passes_in_blender(tmp_path, face_model, layout64):
    from assetgen.cli.export import export

    root = tmp_path / "lib"
    with Library.open(root) as lib:
        for i in range(2):
            a = make_asset(face_model, layout64, AssetRequest(f"bl_{i}", asset_seed(11, i), Recipe(), 11, i))
            lib.put(replace(a, labels={**a.labels, "n": i}))
    app = typer.Typer()
    app.command()(export)
    out = tmp_path / "blend"
    res = CliRunner().invoke(app, ["--library", str(root), "--format", "blend-script", "--out", str(out)])
    assert res.exit_code == 0, res.output
    glbs = sorted(p.name for p in out.glob("*.glb"))
    assert len(glbs) == 2

    render_dir, report = tmp_path / "render", tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    proc = subprocess.run([str(BPY_PYTHON), "-c", DRIVER, str(out / "scene.py"), str(render_dir), str(report)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    scene = json.loads(report.read_text())

    assert scene["blender"].startswith("5.0") and scene["engine"] == "CYCLES"
    assert scene["camera"] and scene["lights"] == 3
    assert all(scene["passes"].values()), scene["passes"]
    meshes = scene["meshes"]
    assert len(meshes) == 2 and all(m["polygons"] > 1000 for m in meshes.values())
    assert sorted(m["pass_index"] for m in meshes.values()) == [1, 2]
    mat_index = [k for m in meshes.values() for k in m["materials"].values()]
    assert len(mat_index) > 2 and sorted(mat_index) == list(range(1, len(mat_index) + 1))  # distinct, from 1
    # the clear cornea's reflection over each asset's sclera and iris materials, nowhere else
    from assetgen.face.ict import CORNEA_MATERIALS

    assert sorted(n.split(".")[0] for n in scene["cornea"]) == sorted(CORNEA_MATERIALS * 2), scene["cornea"]
    # the GLB's clear coat on the irises (the cornea for other renderers) gives way to that layer: no second
    # reflection
    assert scene["coat"] and not any(scene["coat"].values()), scene["coat"]

    info = json.loads((render_dir / "passes.json").read_text())
    assert info["object_index"] == {g: i + 1 for i, g in enumerate(glbs)}
    by_index = {m["pass_index"]: m for m in meshes.values()}
    for glb, k in info["object_index"].items():
        assert info["asset_materials"][glb] == by_index[k]["materials"]

    exr = read_exr(render_dir / "passes.exr")
    names, layer = info["passes"], info["view_layer"]

    def plane(role, chan):
        key = f"{layer}.{names[role]}.{chan}"
        assert key in exr, (key, sorted(exr))
        return exr[key]

    ob, ma, z = plane("object_index", "X"), plane("material_index", "X"), plane("depth", "Z")
    normal = np.stack([plane("normal", c) for c in "XYZ"], -1)
    rgb = np.stack([plane("combined", c) for c in "RGB"], -1)
    assert ob.shape == (64, 64) and rgb.shape == (64, 64, 3)
    assert set(np.unique(ob)) == {0.0, 1.0, 2.0}  # unfiltered: exact indices, background 0, both heads seen
    fg = ob > 0
    assert 0.03 < fg.mean() < 0.8
    # Asset 1 stands 0.35 m right of asset 0 (+x is right in the image).
    cols = np.arange(64)[None, :].repeat(64, 0)
    assert cols[ob == 1].mean() + 10 < cols[ob == 2].mean()
    # Material indices: integers, several per head, each pixel's material belongs to its object's asset.
    assert np.array_equal(ma, np.round(ma)) and (ma[fg] > 0).all() and (ma[~fg] == 0).all()
    for k, m in by_index.items():
        seen = set(np.unique(ma[ob == k]).astype(int))
        assert len(seen) >= 2 and seen <= set(m["materials"].values()), (k, seen)
    # Depth: finite, in front of the camera, within the scene on the heads; far plane elsewhere.
    assert np.isfinite(z[fg]).all() and (z[fg] > 0.1).all() and z[fg].max() < 10 and (z[~fg] > 1e3).all()
    # Normals are filtered (averaged over the samples): unit length inside, shorter on silhouettes.
    length = np.linalg.norm(normal[fg], axis=-1)
    assert (length < 1.01).all() and (length > 0.95).mean() > 0.8
    assert (normal[~fg] == 0).all(-1).mean() > 0.9  # the index pass takes one sample: edges differ
    assert normal[fg][:, 1].mean() < -0.3  # the faces look at the camera (-y)
    assert np.isfinite(rgb).all() and rgb[fg].std() > 0.01 and rgb[fg].mean() > rgb[~fg].mean()

    png = cv2.imread(str(render_dir / "beauty.png"), cv2.IMREAD_UNCHANGED)
    assert png is not None and png.shape[:2] == (64, 64) and png.dtype == np.uint8 and png.std() > 5
