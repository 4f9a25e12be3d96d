"""The package's PNG writer: lossless, deterministic PNG bytes of uint8 images.

Same pixels -> same bytes: no metadata chunks (no time, no text), a fixed filter and a fixed
compressor chosen from the pixels alone. Every file assetgen writes as PNG (GLB images, texture
files of the other formats, baked textures, library blobs) is encoded here.
"""

from __future__ import annotations

import io
import struct
import threading
import zlib
from collections import OrderedDict

import numpy as np
from PIL import Image

try:  # ISA-L's deflate (a standard zlib stream, produced faster than zlib's)
    from isal.isal_zlib import compress as _deflate
except ImportError:  # pragma: no cover - isal is a dependency; without it zlib (slower) still writes valid PNGs
    _deflate = zlib.compress

# Pillow's zlib level for the images encode_png hands to Pillow (anything but uint8 gray/GA/RGB/RGBA).
PNG_COMPRESS_LEVEL = 3
# encode_png's own path: PNG filter "Up" on every row, then deflate at this level (ISA-L's).
PNG_DEFLATE_LEVEL = 1


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an (H, W) or (H, W, 1..4) uint8 image (gray, gray+alpha, RGB, RGBA), lossless:
    no metadata chunks and a fixed encoder (filter and compressor chosen from the pixels alone), so
    equal pixels give equal bytes. Constant images (flat roughness, normal maps) are encoded once per
    (size, channels, value) and the bytes reused. Other dtypes/shapes (bool, uint16, ...) go through
    Pillow at PNG_COMPRESS_LEVEL."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in _PNG_COLOR_TYPE) or 0 in a.shape:
        return _encode_png_pillow(a)
    h, w = a.shape[:2]
    c = 1 if a.ndim == 2 else a.shape[2]
    rows = np.ascontiguousarray(a).reshape(h, w * c)
    if not _is_constant(rows, c):
        return _encode_png_rows(rows, w, c)
    key = (h, w, c, rows[0, :c].tobytes())
    with _FLAT_LOCK:
        png = _FLAT_PNGS.get(key)
        if png is not None:
            _FLAT_PNGS.move_to_end(key)
            return png
    png = _encode_png_rows(rows, w, c)
    with _FLAT_LOCK:
        _FLAT_PNGS[key] = png
        while len(_FLAT_PNGS) > _FLAT_CACHE_SIZE:
            _FLAT_PNGS.popitem(last=False)
    return png


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (gray, gray+alpha, RGB, RGBA)
_FLAT_CACHE_SIZE = 64
_FLAT_PNGS: OrderedDict[tuple, bytes] = OrderedDict()  # (h, w, channels, pixel) -> PNG of a constant image
_FLAT_LOCK = threading.Lock()


def _encode_png_pillow(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def _is_constant(rows: np.ndarray, c: int) -> bool:
    """Whether every pixel of the (h, w * c) rows equals the first (the first row answers most images)."""
    first = rows[0]
    if not np.array_equal(first[c:], first[:-c]):
        return False
    return bool((rows == first).all())


def _encode_png_rows(rows: np.ndarray, w: int, c: int) -> bytes:
    """The PNG of an image given as (h, w * c) uint8 rows: IHDR, one IDAT, IEND."""
    h, n = rows.shape
    filtered = np.empty((h, n + 1), np.uint8)  # each row: filter type 2 (Up), then x - up mod 256
    filtered[:, 0] = 2
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    header = struct.pack(">IIBBBBB", w, h, 8, _PNG_COLOR_TYPE[c], 0, 0, 0)
    data = _deflate(filtered, PNG_DEFLATE_LEVEL)
    return b"".join([_PNG_SIGNATURE, _png_chunk(b"IHDR", header), _png_chunk(b"IDAT", data), _png_chunk(b"IEND", b"")])


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return b"".join([struct.pack(">I", len(data)), kind, data, struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))])
