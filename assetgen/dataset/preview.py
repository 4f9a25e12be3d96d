"""`assetgen dataset preview DIR`: a contact sheet of a data set with its ground truth drawn over the images:
the FaceSynthetics segmentation blended in (one colour per class, ignore pixels dark grey), the 70
landmarks (visible green, hidden red, pupils cyan / magenta when hidden), the jaw points the 2D-contour
convention moves (yellow, orange when hidden), the visible iris contour points (white) and each eye's
line of sight (a blue line 3 cm long from the pupil)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import atomic_write_bytes, read_json_object
from ..png import encode_png

PREVIEW_FILE = "preview.png"
# One colour per FaceSynthetics class (0 = background: not drawn).
PALETTE = np.array([
    (0, 0, 0), (255, 200, 150), (255, 120, 40), (40, 120, 255), (40, 220, 255), (150, 60, 20), (220, 120, 60),
    (200, 60, 200), (255, 120, 255), (140, 0, 40), (255, 40, 80), (200, 20, 120), (120, 200, 80), (250, 230, 40),
    (120, 80, 40), (60, 60, 180), (180, 180, 180), (40, 160, 120), (160, 40, 160)], np.float32)
_ALPHA = 0.35


def _records(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("[0-9][0-9][0-9][0-9][0-9][0-9].json"))


def overlay(rgb: np.ndarray, seg: np.ndarray, pixels, visible, tile: int, record: dict | None = None) -> np.ndarray:
    """(tile, tile, 3) uint8: the image with its classes blended in and its landmarks drawn; with the image's
    record, also the 2D-contour jaw points that moved (yellow, orange when hidden) and per eye the iris
    contour (white dots, visible ones) and the line of sight (a blue arrow from the pupil)."""
    from PIL import Image, ImageDraw

    img = rgb[..., :3].astype(np.float32)
    cls = seg.astype(np.int64)
    drawn = (cls > 0) & (cls < len(PALETTE))
    img[drawn] = (1 - _ALPHA) * img[drawn] + _ALPHA * PALETTE[cls[drawn]]
    img[cls == 255] *= 0.35
    h, w = seg.shape
    im = _tile(Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8)), tile)
    draw = ImageDraw.Draw(im)
    sx, sy = tile / w, tile / h
    r = max(1.0, tile / 160)
    for k, (p, vis) in enumerate(zip(pixels, visible)):
        if p is None or p[0] is None:
            continue
        x, y = p[0] * sx, p[1] * sy
        colour = ((0, 255, 255) if vis else (255, 0, 255)) if k >= 68 else ((0, 230, 0) if vis else (255, 30, 30))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    if record:
        _draw_gt(draw, record, sx, sy, r)
    return np.asarray(im)


def plain(rgb: np.ndarray, tile: int) -> np.ndarray:
    """(tile, tile, 3) uint8: the image alone, resized as overlay() resizes it."""
    from PIL import Image

    return np.asarray(_tile(Image.fromarray(np.ascontiguousarray(rgb[..., :3], np.uint8)), tile))


def _tile(im, tile: int):
    """The PIL image `im` as a tile x tile one: box-filtered down, or nearest-neighbour up."""
    from PIL import Image

    if im.size == (tile, tile):
        return im
    return im.resize((tile, tile), Image.Resampling.BOX if im.size[0] > tile else Image.Resampling.NEAREST)


def _draw_gt(draw, record: dict, sx: float, sy: float, r: float) -> None:
    """The phase-2 ground truth of a record: moved 2D-contour points, iris contours, lines of sight."""
    contour = record.get("landmarks_2d_contour") or {}
    for p, vis, moved in zip(contour.get("pixels", []), contour.get("visible", []), contour.get("moved", [])):
        if moved and p is not None and p[0] is not None:
            x, y = p[0] * sx, p[1] * sy
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 230, 0) if vis else (255, 140, 0))
    eyes = (record.get("gaze") or {}).get("eyes", {})
    K = np.array(record.get("camera", {}).get("K", np.eye(3)), np.float64)
    for eye in eyes.values():
        iris = eye.get("iris_contour", {})
        for p, vis in zip(iris.get("pixels", []), iris.get("visible", [])):
            if vis and p is not None and p[0] is not None:
                x, y = p[0] * sx, p[1] * sy
                draw.ellipse((x - r / 2, y - r / 2, x + r / 2, y + r / 2), fill=(255, 255, 255))
        pupil, sight = eye.get("pupil_centre", {}), eye.get("line_of_sight", {})
        if pupil.get("camera") is None or sight.get("camera") is None:
            continue
        a = np.array(pupil["camera"], np.float64)
        b = a + 0.03 * np.array(sight["camera"], np.float64)  # 3 cm along the line of sight
        if a[2] <= 0 or b[2] <= 0:
            continue
        pa, pb = (K @ a)[:2] / a[2], (K @ b)[:2] / b[2]
        draw.line((pa[0] * sx, pa[1] * sy, pb[0] * sx, pb[1] * sy), fill=(40, 90, 255), width=max(1, int(r)))


def preview(folder: str | Path, out: str | Path | None = None, n: int = 16, tile: int = 256,
            ground_truth: bool = True) -> Path:
    """Write a contact sheet of up to `n` images of the data set in `folder` (spread evenly over it) to
    `out` (default FOLDER/preview.png), with their ground truth drawn over them (overlay) unless
    ground_truth is False (the images as rendered, to judge lighting and backgrounds); returns its path."""
    from PIL import Image

    from ..images import read_image
    from ..preview import contact_sheet

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"data set folder {folder} does not exist; make one with `assetgen dataset JOB.yaml --out DIR`")
    records = _records(folder)
    if not records:
        raise InputError(f"{folder} holds no data-set images (no 000000.json ...); make them with `assetgen dataset`")
    if n < 1 or not 16 <= tile <= 2048:
        raise InputError(f"preview needs n >= 1 and a tile of 16..2048 px, got n={n}, tile={tile}")
    picks = sorted({records[int(k)] for k in np.linspace(0, len(records) - 1, min(n, len(records)))})
    tiles = []
    for rec_path in picks:
        rec = read_json_object(rec_path, f"image record {rec_path}", "rerun the data set to rewrite it")
        files = rec.get("files", {})
        try:
            rgb = read_image(folder / files["rgb"], what="data-set image")
            with Image.open(folder / files["seg"]) as im:
                seg = np.asarray(im)
            lm = rec["landmarks"]
            pixels, visible = lm["pixels"], lm["visible"]
        except (KeyError, TypeError, OSError) as exc:
            raise InputError(f"image record {rec_path} or its files are incomplete ({exc}); run "
                             f"`assetgen dataset validate {folder}`") from exc
        if seg.shape != rgb.shape[:2]:
            raise InputError(f"{folder / files['seg']} is {seg.shape[::-1]} but {files['rgb']} is "
                             f"{rgb.shape[1::-1]}; run `assetgen dataset validate {folder}`")
        tiles.append(overlay(rgb, seg, pixels, visible, tile, rec) if ground_truth else plain(rgb, tile))
    path = Path(out) if out is not None else folder / PREVIEW_FILE
    atomic_write_bytes(path, encode_png(contact_sheet(tiles)))
    return path
