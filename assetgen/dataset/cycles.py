"""The rgb image of data-set images rendered by Blender Cycles (`renderer: cycles`, `--renderer cycles`).

Every ground-truth layer still comes from assetgen's renderer; only STEM.png is Cycles'. A batch of images
(one subject: its posed GLBs, several cameras) is rendered by one Blender process, so Blender's start-up
and each GLB's import are paid once per batch. bpy 5.0.1 pins numpy 1.26, so it runs from its own
environment: .venv-bpy/bin/python (or ASSETGEN_BPY_PYTHON) runs SCRIPT on a folder holding

    spec.json            samples and the views, in order
    subject_K.glb        each posed subject (export.glb.build_glb), the scene's geometry and materials
    subject_K.npz        each triangle's centroid (GLB frame, metres) and assetgen region id, in the order
                         of render.mesh.mesh_from_asset's primitives (the GLB's own); the hair regions' ids
    subject_K.hair.npz   its hair as curves (export.blender.write_hair_curves), for a subject with hair
    env_K.exr            each environment map (lighting's orientation; float32, ZIP)

and writes view_N.exr per view: a multilayer OpenEXR with the Combined pass (linear, premultiplied alpha:
the film is transparent) and the Material Index pass (for a subject with hair, view_N_index.exr holds it).

Same scene as ours:
- camera: OpenCV K and world_to_camera exactly: sensor fit horizontal with sensor width = image width and
  focal length = fx (both in "pixels"), the principal point as lens shift in units of the image width;
  extrinsics turned from the GLB frame (+y up) to Blender's (+z up: (x, y, z) -> (x, -z, y), as the glTF
  importer turns the meshes) and from OpenCV camera axes (+y down, +z forward) to Blender's (+y up, -z
  forward). Square pixels without skew (the data set's cameras) only.
- environment: the equirect map drawn for the image (lighting.Lighting.env, rotation, exposure and white
  balance applied) is the world's Environment Texture unrotated: lighting's u = 0.5 + atan2(z, x) / 2 pi
  (GLB frame, row 0 up) is Cycles' u = 0.5 - atan2(y, x) / 2 pi after the axis turn. Lighting
  {type: default} (assetgen's two fixed lights) is drawn as a uniform white world of radiance 1.
- background: composited as ours is: rgb = Combined + (1 - alpha) * the image's background (black for
  none), then the writer's sRGB encoding (color.linear_to_srgb8), no tone curve (view transform Standard).
- material index: every (Blender material, region) pair gets its own material whose pass index is the
  assetgen region id (polygons matched to our triangles by centroid), so Cycles' Material Index pass is
  comparable with our segmentation (0 = background in both).
- corneas: as in the fast renderer, the clear cornea reflects (export.cornea_bpy).
- hair: drawn as hair curves with a Principled Hair BSDF, as the Blender export draws it (export.hair_bpy,
  subject_K.hair.npz: K fibres a clump, each grey or pigmented, their mean colour the clump colour the fast
  renderer draws), not as the GLB's ribbon cards, whose opaque curls trap the light of a path tracer (a grey
  coily groom came out near black); the cards, kept as objects of their own, give the Material Index pass in
  a one-sample render of their own (view_N_index.exr), so that pass is our segmentation's hair.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, InputError, OutputError
from ..export.cornea_bpy import CORNEA_BPY
from ..export.hair_bpy import HAIR_BPY

DEFAULT_SAMPLES = 64
REPO = Path(__file__).resolve().parents[2]
# Blender glTF frame turn: GLB (x, y, z) -> Blender (x, -z, y).
GLB_TO_BLENDER = np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], np.float64)
OPENCV_TO_BLENDER_CAMERA = np.diag([1.0, -1.0, -1.0, 1.0])


def bpy_python() -> Path:
    """The Python with bpy 5.0.1: ASSETGEN_BPY_PYTHON, else REPO/.venv-bpy/bin/python (ConfigError when absent)."""
    env = os.environ.get("ASSETGEN_BPY_PYTHON")
    path = Path(env) if env else REPO / ".venv-bpy" / "bin" / "python"
    if not path.is_file():
        raise ConfigError(f"renderer cycles needs Blender's bpy 5.0.1 in its own environment, but {path} does not "
                          "exist; create it (python -m venv .venv-bpy && .venv-bpy/bin/pip install bpy==5.0.1), set "
                          "ASSETGEN_BPY_PYTHON, or use renderer: assetgen")
    return path


@dataclass(eq=False)
class CyclesView:
    """One image: the posed asset (views of one asset should share the object), its camera (render.camera.
    Camera), environment map ((H, 2H, 3) float32 linear, or None for the default lights), background
    ((h, w, 3) float32 linear, or None: black) and exposure (stops, applied to the composited image)."""

    posed: object
    camera: object
    environment: np.ndarray | None = None
    background: np.ndarray | None = None
    exposure_ev: float = 0.0  # stops the finished image is scaled by (the camera's metered exposure)


@dataclass(eq=False)
class CyclesImage:
    """linear: (H, W, 4) float32 Combined (premultiplied alpha); material_index: (H, W) int32 pass index;
    rgb: (H, W, 3) uint8 sRGB composited over the view's background."""

    linear: np.ndarray
    material_index: np.ndarray
    rgb: np.ndarray


def camera_settings(camera) -> dict:
    """The Blender camera of an OpenCV camera (module docstring): matrix_world (4x4, Blender world frame),
    lens, sensor width, shifts, resolution."""
    K, (w, h) = camera.K, camera.size
    fx, s, cx = K[0]
    fy, cy = K[1, 1], K[1, 2]
    if abs(s) > 1e-9 or abs(fx - fy) > 1e-6 * fx:
        raise InputError(f"renderer cycles takes square pixels without skew; this camera has fx={fx:g}, fy={fy:g}, "
                         f"skew={s:g}")
    cam_to_world = np.linalg.inv(camera.world_to_camera)
    m = GLB_TO_BLENDER @ cam_to_world @ OPENCV_TO_BLENDER_CAMERA
    return {"matrix_world": m.tolist(), "lens": float(fx), "sensor_width": float(w), "width": int(w),
            "height": int(h), "shift_x": float((w / 2 - cx) / w), "shift_y": float((cy - h / 2) / w)}


def write_exr(path: Path, rgb: np.ndarray) -> Path:
    """(H, W, 3) float32 linear RGB -> an OpenEXR file (ZIP, lossless)."""
    import OpenEXR

    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"RGB": np.ascontiguousarray(rgb, np.float32)}) as f:
        f.write(str(path))
    return path


def read_passes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Blender's multilayer EXR -> (Combined (H, W, 4) float32, Material Index (H, W) int32)."""
    import OpenEXR

    channels: dict[str, np.ndarray] = {}
    with OpenEXR.File(str(path), separate_channels=True) as f:
        for part in f.parts:
            for name, ch in part.channels.items():
                channels[name] = np.array(ch.pixels, np.float32)

    def find(pass_names, suffix):
        for name, px in channels.items():
            parts = name.split(".")
            if len(parts) >= 2 and parts[-2] in pass_names and parts[-1] == suffix:
                return px
        raise OutputError(f"{path}: Blender wrote no {pass_names[0]}.{suffix} channel (has {sorted(channels)})")

    combined = np.stack([find(("Combined",), c) for c in "RGBA"], -1)
    index = find(("Material Index", "IndexMA"), "X")
    return combined, np.rint(index).astype(np.int32)


def region_centroids(posed) -> dict[str, np.ndarray]:
    """Each triangle's centroid (GLB frame, float32) and region id, over render.mesh's primitives; the hair
    regions' names (Hair_<name> materials) and region ids."""
    from ..render.hair import HAIR_MATERIAL_PREFIX
    from ..render.mesh import mesh_from_asset

    mesh = mesh_from_asset(posed)
    cents, regions, hair_names, hair_ids = [], [], [], []
    for prim in mesh.primitives:
        pos = np.asarray(prim.positions, np.float64)
        tri = np.asarray(prim.indices, np.int64).reshape(-1, 3)
        cents.append(pos[tri].mean(axis=1))
        regions.append(np.asarray(prim.regions, np.int32))
        if prim.material.startswith(HAIR_MATERIAL_PREFIX) and len(prim.regions):
            hair_names.append(prim.material[len(HAIR_MATERIAL_PREFIX):])
            hair_ids.append(int(prim.regions[0]))
    return {"centroids": np.concatenate(cents).astype(np.float32), "regions": np.concatenate(regions),
            "hair_names": np.array(hair_names, dtype=np.str_), "hair_ids": np.array(hair_ids, np.int32)}


def render_views(views: list[CyclesView], samples: int = DEFAULT_SAMPLES, keep: Path | None = None) -> list[CyclesImage]:
    """Render `views` in one Blender process (module docstring); returns one CyclesImage per view, in order.
    keep: also copy the batch folder there (for inspection)."""
    from ..color import linear_to_srgb8
    from ..export.blender import write_hair_curves
    from ..export.glb import build_glb

    python = bpy_python()
    if not views:
        return []
    with tempfile.TemporaryDirectory(prefix="assetgen-cycles-") as tmp:
        work = Path(tmp)
        glbs: dict[int, str] = {}
        envs: dict[int, str | None] = {}
        spec_views = []
        for n, v in enumerate(views):
            if id(v.posed) not in glbs:
                k = len(glbs)
                glbs[id(v.posed)] = name = f"subject_{k}"
                (work / f"{name}.glb").write_bytes(build_glb(v.posed)[0])
                np.savez(work / f"{name}.npz", **region_centroids(v.posed))
                write_hair_curves(v.posed, work / f"{name}.hair.npz")
            env_key = id(v.environment) if v.environment is not None else 0
            if env_key not in envs:
                if v.environment is None:
                    envs[env_key] = None
                else:
                    envs[env_key] = f"env_{len(envs)}.exr"
                    write_exr(work / envs[env_key], np.asarray(v.environment, np.float32))
            spec_views.append({"subject": glbs[id(v.posed)], "env": envs[env_key], "out": f"view_{n}.exr",
                               "index_out": f"view_{n}_index.exr",
                               **camera_settings(v.camera)})
        (work / "spec.json").write_text(json.dumps({"samples": int(samples), "views": spec_views}))
        (work / "render.py").write_text(SCRIPT)
        proc = subprocess.run([str(python), str(work / "render.py"), "--", str(work / "spec.json")],
                              capture_output=True, text=True, cwd=work)
        if proc.returncode != 0:
            tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or ["no output"]
            raise OutputError(f"Blender (Cycles) failed on {len(views)} view(s) with status {proc.returncode}: "
                              f"{tail[0]}; run {python} on a job with renderer: cycles to see its log")
        if keep is not None:
            shutil.copytree(work, keep, dirs_exist_ok=True)
        out = []
        for v, sv in zip(views, spec_views):
            combined, index = read_passes(work / sv["out"])
            if (work / sv["index_out"]).is_file():  # a subject with hair: the index pass of its cards
                index = read_passes(work / sv["index_out"])[1]
            combined = np.nan_to_num(combined, nan=0.0, posinf=0.0, neginf=0.0)  # a rare NaN/inf path sample
            bg = np.zeros(combined.shape[:2] + (3,), np.float32) if v.background is None else v.background
            lin = combined[..., :3] + (1.0 - combined[..., 3:4]) * np.asarray(bg, np.float32)
            if v.exposure_ev:
                lin *= np.float32(2.0 ** v.exposure_ev)
            out.append(CyclesImage(linear=combined, material_index=index, rgb=linear_to_srgb8(lin)))
        return out


SCRIPT = r'''# Generated by assetgen (assetgen.dataset.cycles): render data-set views with Cycles.
# python render.py -- spec.json   (bpy 5.0.1)
import json
import os
import sys

import bpy
import numpy as np
from mathutils import Matrix, kdtree

SPEC = os.path.abspath(sys.argv[sys.argv.index("--") + 1])
HERE = os.path.dirname(SPEC)


def configure(scene, samples):
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.use_denoising = False
    scene.cycles.seed = 0
    scene.render.film_transparent = True
    scene.render.resolution_percentage = 100
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    scene.view_layers[0].use_pass_material_index = True
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):  # Blender 5.0
        settings.media_type = "MULTI_LAYER_IMAGE"
    settings.file_format = "OPEN_EXR_MULTILAYER"
    settings.color_depth = "32"
    settings.exr_codec = "ZIP"


def clear_subject():
    for o in [o for o in bpy.data.objects if o.type != "CAMERA"]:
        bpy.data.objects.remove(o, do_unlink=True)
    bpy.data.orphans_purge(do_recursive=True)


__CORNEA__
__HAIR__


def load_subject(name):
    """Import NAME.glb; give the cornea materials their reflection; hair as curves (NAME.hair.npz), its cards
    kept apart for the index pass; split each material per region so that its pass index is the region id.
    Returns (curves objects, card objects)."""
    clear_subject()
    before = set(bpy.data.objects)
    before_materials = set(bpy.data.materials)
    bpy.ops.import_scene.gltf(filepath=os.path.join(HERE, name + ".glb"))
    add_corneas(before_materials)
    data = np.load(os.path.join(HERE, name + ".npz"))
    new = [o for o in bpy.data.objects if o not in before]
    mats = {m.name: m for o in new if o.type == "MESH" for m in o.data.materials if m is not None}
    made, cards = hair_curves(os.path.join(HERE, name + ".hair.npz"), new, mats, name, keep_cards=True)
    hair_ids = dict(zip([str(n) for n in data["hair_names"]], [int(i) for i in data["hair_ids"]]))
    for region, obj in made:
        obj.data.materials[0].pass_index = hair_ids.get(region, 0)
    cents, regions = data["centroids"].astype(np.float64), data["regions"]
    tree = kdtree.KDTree(len(cents))
    for k, c in enumerate(cents):
        tree.insert(c, k)
    tree.balance()
    bpy.context.view_layer.update()
    for o in [o for o in bpy.data.objects if o not in before and o.type == "MESH"]:
        mesh = o.data
        n = len(mesh.polygons)
        centre = np.empty(n * 3)
        mesh.polygons.foreach_get("center", centre)
        centre = centre.reshape(n, 3)
        mw = np.array(o.matrix_world)
        world = centre @ mw[:3, :3].T + mw[:3, 3]
        glb = np.stack([world[:, 0], world[:, 2], -world[:, 1]], -1)  # Blender -> GLB frame
        region = np.array([regions[tree.find(p)[1]] for p in glb], np.int32)
        slots = np.empty(n, np.int32)
        mesh.polygons.foreach_get("material_index", slots)
        old = list(mesh.materials)
        pairs = sorted(set(zip(slots.tolist(), region.tolist())))
        mats = []
        for slot, r in pairs:
            base = old[slot] if slot < len(old) else None
            m = base.copy() if base is not None else bpy.data.materials.new("region")
            m.name = "%s__r%d" % (base.name if base is not None else "none", r)
            m.pass_index = r
            mats.append(m)
        lookup = {p: k for k, p in enumerate(pairs)}
        mesh.materials.clear()
        for m in mats:
            mesh.materials.append(m)
        mesh.polygons.foreach_set("material_index", np.array([lookup[(s, r)] for s, r in zip(slots.tolist(),
                                                                                           region.tolist())], np.int32))
        mesh.update()
    return [obj for _, obj in made], cards


def set_world(scene, env):
    world = bpy.data.worlds.get("assetgen") or bpy.data.worlds.new("assetgen")
    scene.world = world
    world.use_nodes = True
    nt = world.node_tree
    nt.nodes.clear()
    out = nt.nodes.new("ShaderNodeOutputWorld")
    bg = nt.nodes.new("ShaderNodeBackground")
    bg.inputs["Strength"].default_value = 1.0
    if env is None:
        bg.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    else:
        tex = nt.nodes.new("ShaderNodeTexEnvironment")
        img = bpy.data.images.load(os.path.join(HERE, env), check_existing=True)
        try:
            img.colorspace_settings.name = "Linear Rec.709"
        except TypeError:
            img.colorspace_settings.name = "Linear"
        tex.image = img
        tex.interpolation = "Linear"
        tex.projection = "EQUIRECTANGULAR"
        nt.links.new(tex.outputs["Color"], bg.inputs["Color"])
    nt.links.new(bg.outputs["Background"], out.inputs["Surface"])


def set_camera(scene, cam, v):
    cam.matrix_world = Matrix(v["matrix_world"])
    d = cam.data
    d.type = "PERSP"
    d.sensor_fit = "HORIZONTAL"
    d.sensor_width = v["sensor_width"]
    d.lens = v["lens"]
    d.shift_x, d.shift_y = v["shift_x"], v["shift_y"]
    d.clip_start, d.clip_end = 0.01, 100.0
    scene.render.resolution_x, scene.render.resolution_y = v["width"], v["height"]


def main():
    spec = json.load(open(SPEC))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    configure(scene, spec["samples"])
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(cam)
    scene.camera = cam
    subject = env = ()
    curves = cards = []
    for v in spec["views"]:
        if v["subject"] != subject:
            subject = v["subject"]
            curves, cards = load_subject(subject)
        if v["env"] != env:
            env = v["env"]
            set_world(scene, env)
        set_camera(scene, cam, v)
        scene.render.filepath = os.path.join(HERE, v["out"])
        shown(cards, False)
        bpy.ops.render.render(write_still=True)
        if cards:  # the Material Index pass of the hair cards (our segmentation's hair): one sample is exact
            shown(cards, True)
            shown(curves, False)
            scene.cycles.samples = 1
            scene.render.filepath = os.path.join(HERE, v["index_out"])
            bpy.ops.render.render(write_still=True)
            scene.cycles.samples = spec["samples"]
            shown(curves, True)


def shown(objects, visible):
    for o in objects:
        o.hide_render = not visible


main()
'''.replace("__CORNEA__\n", CORNEA_BPY).replace("__HAIR__\n", HAIR_BPY)
