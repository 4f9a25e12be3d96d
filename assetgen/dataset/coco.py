"""One COCO-keypoints JSON for a whole data set (coco_keypoints.json), built from the per-image records.

images: {id = index + 1, file_name, width, height}; one annotation per image: category 1 ("face"), the
70 keypoints as [x, y, v] (v = 2 visible, 1 in the image but hidden, 0 outside the image, then x = y = 0),
num_keypoints (v > 0), bbox [x, y, w, h] = the box of the 68 landmarks clipped to the image, area = w * h,
iscrowd 0. Coordinates are COCO's continuous pixel coordinates (0, 0 = the top-left pixel's corner).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import read_json_object
from .writer import stem, write_compact_json

COCO_FILE = "coco_keypoints.json"
KEYPOINT_NAMES = tuple(f"ibug_{i:02d}" for i in range(68)) + ("pupil_right", "pupil_left")
# iBUG 68 outline: jaw, brows, nose bridge and base, eyes and lips (closed loops), pupils unlinked.
_CHAINS = ((0, 17, False), (17, 22, False), (22, 27, False), (27, 31, False), (31, 36, False), (36, 42, True),
           (42, 48, True), (48, 60, True), (60, 68, True))
SKELETON = tuple((a + 1, a + 2) for s, e, _ in _CHAINS for a in range(s, e - 1)) + \
    tuple((e, s + 1) for s, e, closed in _CHAINS if closed)  # COCO skeletons are 1-based


def annotation(record: dict) -> tuple[dict, dict]:
    """(image entry, annotation) of one image record."""
    i = int(record["index"])
    w, h = record["image_size"]
    lm = record["landmarks"]
    kps = []
    for p, vis in zip(lm["pixels"], lm["visible"]):
        inside = p is not None and p[0] is not None and 0 <= p[0] < w and 0 <= p[1] < h
        kps += [float(p[0]), float(p[1]), 2 if vis else 1] if inside else [0.0, 0.0, 0]
    pts = np.array([p for p in lm["pixels"][:68] if p is not None and None not in p], np.float64).reshape(-1, 2)
    if len(pts):
        lo = np.clip(pts.min(0), 0, [w, h])
        hi = np.clip(pts.max(0), 0, [w, h])
    else:
        lo = hi = np.zeros(2)
    bw, bh = (float(x) for x in hi - lo)
    image = {"id": i + 1, "file_name": record["files"]["rgb"], "width": int(w), "height": int(h)}
    ann = {"id": i + 1, "image_id": i + 1, "category_id": 1, "keypoints": kps,
           "num_keypoints": int(sum(1 for v in kps[2::3] if v > 0)), "bbox": [float(lo[0]), float(lo[1]), bw, bh],
           "area": bw * bh, "iscrowd": 0}
    return image, ann


def build_coco(records: list[dict], description: str = "assetgen data set") -> dict:
    images, anns = [], []
    for rec in sorted(records, key=lambda r: int(r["index"])):
        image, ann = annotation(rec)
        images.append(image)
        anns.append(ann)
    return {
        "info": {"description": description, "version": "1.0"},
        "licenses": [],
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "face", "supercategory": "person", "keypoints": list(KEYPOINT_NAMES),
                        "skeleton": [list(s) for s in SKELETON]}],
    }


def write_coco(out: Path, indices, description: str) -> Path:
    """Build coco_keypoints.json in `out` from the records of `indices` (written atomically)."""
    records = [read_json_object(out / f"{stem(i)}.json", f"image record {out / stem(i)}.json",
                                "delete it and rerun the data set to rewrite it") for i in indices]
    return write_compact_json(out / COCO_FILE, build_coco(records, description))
