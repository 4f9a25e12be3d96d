"""`assetgen dataset validate DIR`: check a data set against its manifest (dataset.json): every image of the job
has all its files, the FaceSynthetics files parse (rgb and seg PNGs of the job's size, seg ids in 0..18 or
255, 70 lines of two finite numbers; the bare-head segmentation's ids likewise), the region ids are in range,
the float layers have the image's shape, the albedo is an RGB image of it, the dense landmarks have the
manifest's count, each record has its 2D-contour landmarks and both eyes' gaze, and coco_keypoints.json lists
every image with 70 keypoints.
Returns the problems found."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import InputError, OutputError

_SEG_IDS = set(range(19)) | {255}


def _classes(path: Path, size: int, what: str, problems: list[str]) -> None:
    """A FaceSynthetics label image: a gray PNG of the job's size with class ids in 0..18 or 255."""
    seg = _png(path, size, what, problems, gray=True)
    if seg is not None:
        bad = sorted(set(np.unique(seg).tolist()) - _SEG_IDS)
        if bad:
            problems.append(f"{path}: class ids {bad} outside 0..18 and 255")


def _png(path: Path, size: int, what: str, problems: list[str], gray: bool):
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            arr = np.asarray(im)
            mode = im.mode
    except Exception as exc:  # noqa: BLE001 - any unreadable image is a problem to report
        problems.append(f"{path}: unreadable {what} ({' '.join(str(exc).split())})")
        return None
    want = "L" if gray else "RGB"
    if mode != want or arr.shape[:2] != (size, size):
        problems.append(f"{path}: {what} is {mode} {arr.shape[1::-1]}, expected {want} {size}x{size}")
        return None
    return arr


def _ldmks(path: Path, problems: list[str]) -> None:
    try:
        lines = path.read_text(encoding="ascii").splitlines()
        values = [[float(x) for x in line.split()] for line in lines]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        problems.append(f"{path}: does not parse as lines of 'x y' ({' '.join(str(exc).split())})")
        return
    if len(values) != 70 or any(len(v) != 2 or not all(np.isfinite(v)) for v in values):
        problems.append(f"{path}: expected 70 lines of two finite numbers, got {len(values)} lines")


def _npy(path: Path, shape: tuple, problems: list[str]) -> None:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: unreadable .npy ({' '.join(str(exc).split())})")
        return
    if arr.dtype != np.float32 or arr.shape[: len(shape)] != shape:
        problems.append(f"{path}: {arr.dtype} {arr.shape}, expected float32 {shape}")


def validate(folder: str | Path) -> list[str]:
    """The problems of the data set in `folder` (empty when it is complete and consistent)."""
    from .coco import COCO_FILE
    from .run import read_manifest
    from .writer import file_names

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"data set folder {folder} does not exist")
    try:
        manifest = read_manifest(folder)
    except OutputError as exc:
        return [str(exc)]
    if manifest is None:
        return [f"{folder}: no dataset.json; this is not a data set made by `assetgen dataset`"]
    count, job = int(manifest["count"]), manifest.get("job", {})
    size, layers = int(job.get("resolution", 0)), tuple(job.get("layers", ()))
    problems: list[str] = []
    for i in range(count):
        names = file_names(i, layers)
        missing = [f for role, f in names.items() if role != "hair_coverage" and not (folder / f).is_file()]
        if missing:
            problems.append(f"image {i}: missing {', '.join(missing)} (rerun `assetgen dataset` to finish it)")
            continue
        try:
            rec = json.loads((folder / names["record"]).read_text(encoding="utf-8"))
            regions = rec["regions"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{folder / names['record']}: unreadable record ({' '.join(str(exc).split())})")
            continue
        _png(folder / names["rgb"], size, "rgb image", problems, gray=False)
        _classes(folder / names["seg"], size, "FaceSynthetics segmentation", problems)
        _ldmks(folder / names["ldmks"], problems)
        if "regions" in names:
            reg = _png(folder / names["regions"], size, "region map", problems, gray=True)
            if reg is not None and int(reg.max()) >= len(regions):
                problems.append(f"{folder / names['regions']}: region id {int(reg.max())} but the record names "
                                f"{len(regions)} regions")
        if "seg_bare" in names:
            _classes(folder / names["seg_bare"], size, "bare-head segmentation", problems)
        if "depth" in names:
            _npy(folder / names["depth"], (size, size), problems)
        if "normal" in names:
            _npy(folder / names["normal"], (size, size, 3), problems)
        if "hair_coverage" in rec.get("files", {}):
            _npy(folder / rec["files"]["hair_coverage"], (size, size), problems)
        if "albedo" in names:
            _png(folder / names["albedo"], size, "albedo image", problems, gray=False)
        if "dense" in names:
            n_dense = len(manifest.get("dense_landmarks", {}).get("vertex_ids", []))
            _npy(folder / names["dense"], (n_dense, 6), problems)
        _record_gt(folder / names["record"], rec, problems)
    _check_coco(folder / COCO_FILE, count, problems)
    return problems


def _record_gt(path: Path, rec: dict, problems: list[str]) -> None:
    """The record's 2D-contour landmarks (70 points with flags) and gaze (both eyes, unit directions)."""
    contour = rec.get("landmarks_2d_contour")
    if not isinstance(contour, dict) or any(len(contour.get(k, [])) != 70 for k in ("pixels", "visible", "moved")):
        problems.append(f"{path}: landmarks_2d_contour needs 70 pixels, visible and moved entries")
    eyes = (rec.get("gaze") or {}).get("eyes") if isinstance(rec.get("gaze"), dict) else None
    if not isinstance(eyes, dict) or set(eyes) != {"right", "left"}:
        problems.append(f"{path}: gaze needs the eyes right and left")
        return
    for side, eye in eyes.items():
        try:
            dirs = [np.asarray(eye[k]["camera"], np.float64) for k in ("optical_axis", "line_of_sight")]
            iris = eye["iris_contour"]
            ok = all(d.shape == (3,) and abs(np.linalg.norm(d) - 1) < 1e-6 for d in dirs)
            ok &= len(iris["pixels"]) == len(iris["visible"]) == len(iris["camera"]) > 0
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            problems.append(f"{path}: gaze.eyes.{side} needs unit optical_axis and line_of_sight directions and an "
                            "iris_contour of pixels, camera points and visible flags")


def _check_coco(path: Path, count: int, problems: list[str]) -> None:
    if not path.is_file():
        problems.append(f"{path} is missing (it is written when every image is complete)")
        return
    try:
        coco = json.loads(path.read_text(encoding="utf-8"))
        images, anns, cats = coco["images"], coco["annotations"], coco["categories"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"{path}: not a COCO keypoints file ({' '.join(str(exc).split())})")
        return
    if len(images) != count or len(anns) != count:
        problems.append(f"{path}: {len(images)} images and {len(anns)} annotations, expected {count} of each")
    n_kp = len(cats[0].get("keypoints", [])) if cats else 0
    if n_kp != 70 or any(len(a.get("keypoints", [])) != 3 * n_kp for a in anns):
        problems.append(f"{path}: every annotation needs 70 keypoints as [x, y, v] triples")
