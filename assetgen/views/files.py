"""The per-view files of `assetgen render`, read back by `assetgen bake`.

Per view i (XXX = i zero-padded to 3): view_XXX.png (rgb), view_XXX.albedo.png, view_XXX.depth.npy (float32
metres, inf where empty), view_XXX.normal.npy (float32 camera space), view_XXX.seg.png (uint8 region ids),
view_XXX.seg_fs.png (layer seg_facesynthetics: uint8 FaceSynthetics class ids, 255 = ignore, the same pixels
as seg.png mapped by face.labels), view_XXX.seg_bare.png (layer bare_segmentation: uint8 region ids of the
face model's own surfaces alone, what lies under hair and items), view_XXX.hair_coverage.npy (float32 (H, W,
K) soft coverage of the K hair regions, only for meshes with hair) and view_XXX.json {K, world_to_camera,
image_size, segmentation {id: name}, landmarks {pixels, camera, world, visible, visibility_rule}, layers, with
seg_facesynthetics: seg_facesynthetics {classes, region_class, ignore, left_right, source}
(face.labels.mapping_record of the mesh's regions), and for meshes with hair: hair {regions, gt_rule,
coverage_rule} (render.hair)}. landmarks.visibility_rule says in words how `visible` was decided
(render.raycast.LANDMARK_VISIBILITY_RULE). PNGs come from png.encode_png.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import atomic_write_bytes, atomic_write_json, read_json_object
from ..png import encode_png
from ..render.camera import Camera

FILE_LAYERS = ("rgb", "albedo", "depth", "normal", "segmentation", "hair_coverage", "seg_facesynthetics",
               "bare_segmentation")
# The renderer layers each file layer needs (the FaceSynthetics map is the segmentation, mapped).
RENDER_LAYERS = {"seg_facesynthetics": "segmentation"}


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def write_view(out: Path, index: int, res, layers) -> Path:
    """Write one view's files (the listed layers of the RenderResult `res`, and its JSON); returns the
    JSON path."""
    stem = out / f"view_{index:03d}"
    if "rgb" in layers:
        atomic_write_bytes(f"{stem}.png", encode_png(res.rgb))
    if "albedo" in layers:
        atomic_write_bytes(f"{stem}.albedo.png", encode_png(res.albedo))
    if "depth" in layers:
        atomic_write_bytes(f"{stem}.depth.npy", _npy(res.depth.astype(np.float32)))
    if "normal" in layers:
        atomic_write_bytes(f"{stem}.normal.npy", _npy(res.normal.astype(np.float32)))
    if "segmentation" in layers:
        atomic_write_bytes(f"{stem}.seg.png", encode_png(res.segmentation))
    if "hair_coverage" in layers and res.hair_coverage is not None:
        atomic_write_bytes(f"{stem}.hair_coverage.npy", _npy(res.hair_coverage.astype(np.float32)))
    if "bare_segmentation" in layers:
        atomic_write_bytes(f"{stem}.seg_bare.png", encode_png(res.bare_segmentation))
    fs = None
    if "seg_facesynthetics" in layers:
        from ..face.labels import facesynthetics_labels, mapping_record

        if res.segmentation is None:
            raise InputError("the seg_facesynthetics layer maps the segmentation layer: render with 'segmentation'")
        fs = mapping_record(res.regions)
        atomic_write_bytes(f"{stem}.seg_fs.png", encode_png(facesynthetics_labels(res.segmentation, res.regions)))
    record = res.camera.to_json()
    record["segmentation"] = {str(i): n for i, n in enumerate(res.regions)}
    record["layers"] = [l for l in layers]
    if fs is not None:
        record["seg_facesynthetics"] = fs
    if res.hair_regions:
        from ..render.hair import HAIR_COVERAGE_RULE, HAIR_GT_RULE

        record["hair"] = {"regions": list(res.hair_regions), "gt_rule": HAIR_GT_RULE, "coverage_rule": HAIR_COVERAGE_RULE}
    if res.landmarks is not None:
        lm = res.landmarks
        record["landmarks"] = {
            "pixels": np.where(np.isfinite(lm["pixels"]), lm["pixels"], None).tolist(),
            "camera": lm["camera"].tolist(),
            "world": lm["world"].tolist(),
            "visible": [bool(v) for v in lm["visible"]],
            "visibility_rule": lm["rule"],
        }
    return atomic_write_json(f"{stem}.json", record)


def read_views(folder: str | Path, layer: str = "rgb") -> list[tuple[np.ndarray, Camera]]:
    """(image, Camera) of every view_XXX.json in `folder`, the image its `layer` (rgb or albedo) as
    (H, W, 3|4) uint8. A damaged or inconsistent view file is an InputError naming the file."""
    from ..images import read_image

    folder = Path(folder)
    if layer not in ("rgb", "albedo"):
        raise InputError(f"bake layer must be rgb or albedo, not {layer!r}")
    if not folder.is_dir():
        raise InputError(f"views folder {folder} does not exist; render views with `assetgen render` first")
    records = sorted(folder.glob("view_[0-9][0-9][0-9].json"))
    if not records:
        raise InputError(f"no view_XXX.json files in {folder}; render views with `assetgen render` first")
    views = []
    for rec in records:
        cam = _read_view_camera(rec)
        img_path = rec.with_suffix(".png") if layer == "rgb" else rec.with_name(rec.stem + ".albedo.png")
        if not img_path.is_file():
            raise InputError(f"{img_path} is missing (render with --layers including {layer})")
        img = read_image(img_path, what="view image")
        w, h = cam.size
        if img.shape[:2] != (h, w):
            raise InputError(
                f"view image {img_path} is {img.shape[1]}x{img.shape[0]} but {rec.name} says {w}x{h}; "
                "re-render the views or remove the stray file"
            )
        views.append((img, cam))
    return views


def _read_view_camera(rec: Path) -> Camera:
    record = read_json_object(rec, f"view record {rec}", "re-render the views")
    try:
        return Camera.from_json(record)
    except InputError as exc:
        raise InputError(f"view record {rec}: {exc}") from exc
