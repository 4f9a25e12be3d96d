"""Reading HDR environment maps (OpenEXR and Radiance .hdr) into (H, 2H, 3) float32 linear RGB.

OpenEXR goes through the OpenEXR library (every compression, DWAB included; the R, G, B channels of a
single-part scanline or tiled image), Radiance RGBE through OpenCV. The format is told by the file's
magic bytes, not its name. Negative values (the ringing of lossy EXR compression) become 0. Anything else
wrong is one InputError line naming the file: not an EXR/Radiance file, truncated or corrupt, no R, G, B
channels, NaN or infinity, more than `max_pixels` pixels (checked from the header before decoding), or
not an equirectangular map (width = 2 x height).
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np

from ..errors import InputError

MAX_PIXELS = 1 << 25  # 8192 x 4096
SUFFIXES = (".exr", ".hdr")
_EXR_MAGIC = b"\x76\x2f\x31\x01"
_HDR_MAGIC = (b"#?RADIANCE", b"#?RGBE")


def read_hdri(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The map in `path` as a C-contiguous (H, 2H, 3) float32 array (see the module docstring)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise InputError(f"cannot read environment map {path}: {exc.strerror or exc}") from exc
    if head.startswith(_EXR_MAGIC):
        rgb = _read_exr(path, max_pixels)
    elif head.startswith(_HDR_MAGIC):
        rgb = _read_hdr(path, max_pixels)
    else:
        raise InputError(f"{path} is not an OpenEXR or Radiance .hdr file"
                         + (" (it is empty)" if not head else ""))
    h, w = rgb.shape[:2]
    if w != 2 * h or h < 2:
        raise InputError(f"{path} is {w}x{h}; an equirectangular environment map is twice as wide as it is tall")
    if not np.isfinite(rgb).all():
        raise InputError(f"{path} holds NaN or infinite values; fix or re-export the map")
    return np.ascontiguousarray(np.maximum(rgb, 0.0, dtype=np.float32))


def _check_size(path: Path, w: int, h: int, max_pixels: int) -> None:
    if w < 1 or h < 1:
        raise InputError(f"{path} has no pixels ({w}x{h})")
    if w * h > max_pixels:
        raise InputError(f"{path} is {w}x{h} = {w * h:,} pixels, over the {max_pixels:,}-pixel limit for "
                         "environment maps; scale it down")


def _read_exr(path: Path, max_pixels: int) -> np.ndarray:
    import OpenEXR

    try:
        with OpenEXR.File(str(path), header_only=True) as f:  # copy what is needed before it closes
            parts = len(f.parts)
            header = f.header()
            lo, hi = (np.array(x, np.int64) for x in header.get("dataWindow", ((0, 0), (-1, -1))))
            names = sorted(str(c.name) for c in header.get("channels", []))
    except Exception as exc:
        raise InputError(f"{path} is not a readable OpenEXR file ({_one_line(exc)})") from exc
    w, h = int(hi[0] - lo[0] + 1), int(hi[1] - lo[1] + 1)
    _check_size(path, w, h, max_pixels)
    if parts != 1:
        raise InputError(f"{path} has {parts} parts; save the environment map as a single-part EXR")
    if not {"R", "G", "B"} <= set(names):
        raise InputError(f"{path} has channels {names}; an environment map needs R, G and B")
    try:
        with OpenEXR.File(str(path), separate_channels=True, num_threads=1) as f:
            ch = f.channels()
            planes = [np.array(ch[c].pixels) for c in "RGB"]
    except Exception as exc:
        raise InputError(f"{path} is truncated or corrupt ({_one_line(exc)})") from exc
    for c, p in zip("RGB", planes):
        if p.dtype.kind != "f" or p.shape != (h, w):
            raise InputError(f"{path}: channel {c} is {p.dtype} {p.shape}; need float (half or full) {h}x{w}")
    return np.stack(planes, axis=-1).astype(np.float32)


_RESOLUTION = re.compile(rb"-Y (\d+) \+X (\d+)")


def _read_hdr(path: Path, max_pixels: int) -> np.ndarray:
    with open(path, "rb") as fh:
        data = fh.read(1 << 16)
    end = data.find(b"\n\n")
    line = data[end + 2:].split(b"\n", 1)[0] if end >= 0 else b""
    m = _RESOLUTION.fullmatch(line.strip())
    if not m:
        raise InputError(f"{path} has no standard Radiance resolution line ('-Y H +X W'); re-save it as .hdr or .exr")
    h, w = int(m.group(1)), int(m.group(2))
    _check_size(path, w, h, max_pixels)
    import cv2

    with _quiet_opencv(cv2):
        bgr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if bgr is None or bgr.shape[:2] != (h, w) or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise InputError(f"{path} is a truncated or corrupt Radiance .hdr file")
    return np.ascontiguousarray(bgr[..., ::-1], np.float32)


@contextlib.contextmanager
def _quiet_opencv(cv2):
    """OpenCV logs decoding errors itself; ours is the one line the user sees."""
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    if log is None:
        yield
        return
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        log.setLogLevel(level)


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
