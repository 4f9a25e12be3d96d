"""The files of one data-set image, in the FaceSynthetics layout with richer ground truth beside it.

Per image i (STEM = i zero-padded to 6 digits), each written atomically (assetgen.io), in this order:
    STEM.png               rgb, uint8 sRGB
    STEM_seg.png           uint8 FaceSynthetics class ids (FACESYNTHETICS_CLASSES, 255 = ignore)
    STEM_ldmks.txt         70 lines "x y": the 68 iBUG points (projected 3D points, "x-ray") then the pupils
    STEM_regions.png       uint8 assetgen region ids (names in the JSON's `regions`)      [layer regions]
    STEM_depth.npy         float32 (H, W) camera z in metres, inf where empty              [layer depth]
    STEM_normal.npy        float32 (H, W, 3) unit camera-space normals (OpenCV axes)       [layer normal]
    STEM_hair_coverage.npy float32 (H, W, K) soft hair masks, subjects with hair only      [layer hair_coverage]
    STEM_albedo.png        uint8 RGB albedo as the textures store it (sRGB-encoded), 0 where empty [layer albedo]
    STEM_dense.npy         float32 (N, 6) dense landmarks: x, y, X, Y, Z, visible (gt.DENSE_COLUMNS; the
                           vertex ids and rule in dataset.json's dense_landmarks)                 [layer dense]
    STEM_seg_bare.png      uint8 FaceSynthetics class ids of the bare head: the face model's own surfaces
                           without hair and items, what lies under them (layered masks)   [layer seg_bare]
    STEM.json              camera, head pose, landmarks (3D-fixed, and `landmarks_2d_contour` in 300-W's
                           2D-contour convention; visibility), gaze (per eye: centre, pupil, optical
                           axis, line of sight, iris contour), expression, the subject's labels, the code
                           that made it (made_by: codeid.code_record), the files:
                           written last, so an image is complete when its JSON exists.
Pixel coordinates: (0, 0) is the top-left corner of the top-left pixel (pixel centres at +0.5), as in
OpenCV's and COCO's continuous coordinates.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from ..codeid import code_record
from ..face.labels import CLASSES, facesynthetics_labels
from ..io import atomic_write_bytes
from ..jsonsafe import json_safe
from ..png import encode_png
from .gt import DENSE_COLUMNS
from .landmarks import PUPIL_RULE, PUPIL_VISIBILITY_RULE
from .sampling import EULER_CONVENTION, euler_from_rotation

# FaceSynthetics class names by id (face.labels.CLASSES, lower case as the data set's README writes them)
FACESYNTHETICS_CLASSES = tuple(CLASSES[i].lower() for i in range(19))
PIXEL_CONVENTION = ("pixel (0, 0) is the top-left corner of the top-left pixel; pixel centres at +0.5 (OpenCV / COCO "
                    "continuous coordinates)")
HEAD_FRAME = ("the subject's head frame is the asset's GLB frame: metres, +y up, the face looks down +z, +x is the "
              "subject's left; x_camera = rotation @ x_head + translation (OpenCV camera axes)")

def stem(index: int) -> str:
    return f"{index:06d}"


def file_names(index: int, layers) -> dict[str, str]:
    """The files of image `index` with these extra layers, by role, in writing order (the record last)."""
    s = stem(index)
    names = {"rgb": f"{s}.png", "seg": f"{s}_seg.png", "ldmks": f"{s}_ldmks.txt"}
    for layer in ("regions", "depth", "normal", "hair_coverage", "albedo", "dense", "seg_bare"):
        if layer in layers:
            names[layer] = f"{s}_{layer}.png" if layer in ("regions", "albedo", "seg_bare") else f"{s}_{layer}.npy"
    names["record"] = f"{s}.json"
    return names


def is_complete(out: Path, index: int, layers) -> bool:
    """Whether image `index` was written to the end (its record exists, written last) with all its files.
    hair_coverage is only written for subjects with hair, so it is not required."""
    names = file_names(index, layers)
    return all((out / f).is_file() for role, f in names.items() if role != "hair_coverage")


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def write_compact_json(path: Path, obj) -> Path:
    """Compact JSON (sorted keys, no spaces; JSON-safe values), written atomically: equal content, equal bytes."""
    text = json.dumps(json_safe(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def ldmks_text(pixels: np.ndarray) -> str:
    return "".join(f"{x:.4f} {y:.4f}\n" for x, y in np.asarray(pixels, np.float64))


def _exposure(result, params) -> dict:
    """The camera's auto exposure as applied (stops, offset included), when the job meters it."""
    if "exposure_ev" not in result.extra:
        return {}
    return {"exposure_ev": result.extra["exposure_ev"], "exposure_offset_ev": params.exposure_offset_ev}


def write_image(out: Path, index: int, result, lm70: dict, params, subject_info: dict, layers, lighting: dict,
                gt: dict | None = None) -> Path:
    """Write image `index`'s files (see the module docstring); returns the record's path. gt: gt.image_gt's
    gaze and contour records and dense array."""
    gt = gt or {}
    names = file_names(index, layers)
    seg = facesynthetics_labels(result.segmentation, result.regions)
    atomic_write_bytes(out / names["rgb"], encode_png(result.rgb))
    atomic_write_bytes(out / names["seg"], encode_png(seg))
    atomic_write_bytes(out / names["ldmks"], ldmks_text(lm70["pixels"]).encode("ascii"))
    if "regions" in names:
        atomic_write_bytes(out / names["regions"], encode_png(result.segmentation))
    if "depth" in names:
        atomic_write_bytes(out / names["depth"], _npy(result.depth.astype(np.float32)))
    if "normal" in names:
        atomic_write_bytes(out / names["normal"], _npy(result.normal.astype(np.float32)))
    if "albedo" in names:
        atomic_write_bytes(out / names["albedo"], encode_png(result.albedo))
    if "dense" in names:
        atomic_write_bytes(out / names["dense"], _npy(np.asarray(gt["dense"], np.float32)))
    if "seg_bare" in names:
        atomic_write_bytes(out / names["seg_bare"], encode_png(facesynthetics_labels(result.bare_segmentation,
                                                                                     result.regions)))
    written = {k: v for k, v in names.items() if k not in ("hair_coverage", "record")}
    if "hair_coverage" in names and result.hair_coverage is not None:
        atomic_write_bytes(out / names["hair_coverage"], _npy(result.hair_coverage.astype(np.float32)))
        written["hair_coverage"] = names["hair_coverage"]
    cam = result.camera
    R, t = cam.world_to_camera[:3, :3], cam.world_to_camera[:3, 3]
    record = {
        "index": index,
        "made_by": code_record(),  # (a set resumed with --allow-other-code mixes images of other code)
        "files": written,
        "image_size": list(cam.size),
        "camera": {**cam.to_json(), **params.camera_json(), **_exposure(result, params)},
        "head_pose": {"rotation": R.tolist(), "translation": t.tolist(), "euler_deg": euler_from_rotation(R),
                      "euler_convention": EULER_CONVENTION, "frame": HEAD_FRAME},
        "expression": params.expression.as_json(),
        "sweep": params.sweep,
        "lighting": lighting,
        "subject": subject_info,
        "regions": list(result.regions),
        "facesynthetics_classes": list(FACESYNTHETICS_CLASSES),
        "landmarks": {
            "count": 70,
            "order": "iBUG 68 (Multi-PIE) then the pupils of the subject's right eye (points 36-41) and left eye",
            "pixels": np.where(np.isfinite(lm70["pixels"]), lm70["pixels"], None).tolist(),
            "camera": lm70["camera"].tolist(),
            "world": lm70["world"].tolist(),
            "visible": [bool(v) for v in lm70["visible"]],
            "pixel_convention": PIXEL_CONVENTION,
            "visibility_rule": lm70["rule"],
            "pupil_visibility_rule": PUPIL_VISIBILITY_RULE,
            "pupil_rule": PUPIL_RULE,
        },
    }
    if "contour" in gt:
        record["landmarks_2d_contour"] = gt["contour"]
    if "gaze" in gt:
        record["gaze"] = gt["gaze"]
    if "dense" in names:
        record["dense_landmarks"] = {"file": names["dense"], "count": len(gt["dense"]),
                                     "columns": list(DENSE_COLUMNS),
                                     "visible": int(np.count_nonzero(np.asarray(gt["dense"])[:, 5]))}
    if result.hair_regions and "hair_coverage" in written:
        record["hair_coverage_regions"] = list(result.hair_regions)
    return write_compact_json(out / names["record"], record)
