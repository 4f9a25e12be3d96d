"""Reading images (files or bytes) into (H, W, 3|4) uint8 arrays, or one InputError line naming the image.

Every image is checked against a pixel budget from its header before any pixel is decoded (a small file
can declare a huge image: a decompression bomb), decoded in full (a truncated file is an error, never a
partly grey image), and converted to RGB, or RGBA when it carries transparency: palette, greyscale,
greyscale + alpha, CMYK and YCbCr images convert; 16-bit images (PNG, TIFF) are scaled to 8 bits by
round(v / 257) rather than clipped or truncated.
"""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path

import numpy as np

from .errors import InputError

MAX_PIXELS = 1 << 26  # 64 MP (8192 x 8192): the largest image a command reads unless told otherwise
_GREY16 = ("I;16", "I;16L", "I;16B", "I;16N")
_TRUNCATION_LOCK = threading.Lock()


def read_image(path: str | Path, *, what: str = "image", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The image file `path` as (H, W, 3) or (H, W, 4) uint8 (see the module docstring).
    what: what the file is, to start error messages with."""
    path = Path(path)
    label = f"{what} {path}" if what else str(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read {label}: {exc.strerror or exc}") from exc
    return decode_image(data, label, max_pixels=max_pixels)


def decode_image(data: bytes, label: str, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Encoded image bytes (PNG, JPEG, TIFF, ... anything Pillow reads) as (H, W, 3|4) uint8.
    label names the image in error messages ("texture 2 of head.glb")."""
    from PIL import Image, ImageFile, UnidentifiedImageError

    if not data:
        raise InputError(f"{label} is empty (0 bytes); it is not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own budget decides
            im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise InputError(
            f"{label} declares over {2 * Image.MAX_IMAGE_PIXELS:,} pixels; refusing it (a decompression bomb?)"
        ) from exc
    except UnidentifiedImageError as exc:
        raise InputError(f"{label} is not an image file Pillow can read (PNG, JPEG, TIFF, ...)") from exc
    except Exception as exc:  # noqa: BLE001 - Pillow's plugins raise assorted errors on damaged headers
        raise InputError(f"{label} is not a readable image ({_one_line(exc)})") from exc
    with im:
        w, h = im.size
        if w * h > max_pixels:
            raise InputError(
                f"{label} is {w}x{h} = {w * h:,} pixels, over the {max_pixels:,}-pixel limit; "
                "scale it down (or it is a decompression bomb)"
            )
        if w < 1 or h < 1:
            raise InputError(f"{label} has no pixels ({w}x{h})")
        raw16 = _rawmode(im).find(";16") >= 0 and im.mode not in _GREY16
        _load_fully(im, label, ImageFile)
        if raw16:  # Pillow keeps only the high byte of 16-bit colour channels: decode the full values
            return _decode16(data, label, (h, w))
        return _to_rgb8(im, label)


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _rawmode(im) -> str:
    try:
        args = im.tile[0].args if im.tile else ""
    except (AttributeError, IndexError):
        return ""
    if isinstance(args, tuple):
        args = args[0] if args else ""
    return args if isinstance(args, str) else ""


def _load_fully(im, label: str, ImageFile) -> None:
    """Decode every pixel; a file that ends early is an error even when something set Pillow's
    LOAD_TRUNCATED_IMAGES (which would fill the rest with grey)."""

    def load():
        try:
            im.load()
        except Exception as exc:  # noqa: BLE001 - OSError, SyntaxError, ValueError, zlib.error, ...
            text = _one_line(exc)
            if "truncated" in text.lower() or isinstance(exc, EOFError):
                raise InputError(f"{label} is truncated (the file ends before its pixels do); copy or export it again") from exc
            raise InputError(f"{label} cannot be decoded ({text}); the file is damaged") from exc

    if not ImageFile.LOAD_TRUNCATED_IMAGES:
        load()
        return
    with _TRUNCATION_LOCK:
        saved, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
        try:
            load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = saved


def _u16_to_u8(a: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 by round(v * 255 / 65535) = round(v / 257) (never a tie)."""
    return ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _to_rgb8(im, label: str) -> np.ndarray:
    mode = im.mode
    if mode in ("RGB", "RGBA"):
        return np.array(im)
    if mode in _GREY16:
        grey = _u16_to_u8(np.asarray(im))
        return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
    if mode in ("I", "F"):
        kind = "32-bit integer" if mode == "I" else "floating-point"
        raise InputError(f"{label} holds {kind} pixels; save it as an 8- or 16-bit PNG or TIFF")
    alpha = any(b in ("A", "a") for b in im.getbands()) or "transparency" in im.info
    try:
        return np.array(im.convert("RGBA" if alpha else "RGB"))
    except (ValueError, OSError) as exc:
        raise InputError(f"{label}: cannot convert its {mode} pixels to RGB ({_one_line(exc)}); save it as RGB") from exc


def _decode16(data: bytes, label: str, hw: tuple[int, int]) -> np.ndarray:
    """A 16-bit colour image's full values (OpenCV: Pillow has no 16-bit colour mode), scaled to uint8."""
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.shape[:2] != hw or arr.dtype not in (np.uint8, np.uint16):
        raise InputError(f"{label} is a 16-bit image that cannot be decoded in full; save it as an 8-bit PNG")
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    elif arr.shape[2] == 2:  # grey + alpha
        arr = np.concatenate([np.repeat(arr[..., :1], 3, axis=2), arr[..., 1:]], axis=2)
    elif arr.shape[2] in (3, 4):
        arr = arr[..., [2, 1, 0, 3][: arr.shape[2]]]  # OpenCV's BGR(A) -> RGB(A)
    else:
        raise InputError(f"{label} has {arr.shape[2]} channels; save it as RGB or RGBA")
    return np.ascontiguousarray(_u16_to_u8(arr) if arr.dtype == np.uint16 else arr)
