"""The content-addressed blob store: ROOT/blobs/ab/<id>, written by temporary file, fsync and rename.

A blob's id is a sha256 of its content. For raw blobs (weights, meshes as .npy) that is the hash of the
file's bytes. For images it is the hash of the decoded pixels (a domain prefix, dtype, shape, then the
pixel bytes): the file is a PNG, but which PNG encoder wrote it (ISA-L or zlib, any level) does not
change the id, so the same pixels get the same id on every machine. Verifying an image blob therefore
checks the PNG container (every chunk's CRC, nothing after IEND), decodes it and re-hashes the pixels.
Blobs written before image ids existed (PNG files named by the hash of their bytes) still verify.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import secrets
import zlib
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..png import encode_png
from .common import SHA_RE, LibraryError, os_error

BLOBS = "blobs"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMAGE_ID_DOMAIN = b"assetgen-library-image/1\0"


def _encode_png(image: np.ndarray) -> bytes:
    """The package's lossless PNG writer (only the file's bytes depend on it, never a blob id)."""
    return encode_png(image)


def _write_all(fh, data: bytes) -> None:
    """Write `data` to an open file (a seam for tests that simulate a full disk)."""
    fh.write(data)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---- image content ids ---------------------------------------------------------------------------
def png_decode(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im).copy()


def png_problem(data: bytes) -> str | None:
    """Why `data` is not one complete, intact PNG (None when it is): the signature, every chunk's
    length and CRC, and IEND as the last bytes. Catches bit flips a decoder would skip over."""
    if not data.startswith(PNG_SIGNATURE):
        return "not a PNG file"
    view = memoryview(data)
    pos, n = len(PNG_SIGNATURE), len(data)
    while True:
        if pos + 12 > n:
            return f"truncated after {pos} bytes"
        length = int.from_bytes(view[pos:pos + 4], "big")
        kind = bytes(view[pos + 4:pos + 8])
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > n:
            return f"chunk {kind!r} at byte {pos} is truncated"
        if zlib.crc32(view[pos + 8:end - 4], zlib.crc32(kind)) != int.from_bytes(view[end - 4:end], "big"):
            return f"chunk {kind!r} at byte {pos} fails its CRC"
        pos = end
        if kind == b"IEND":
            return None if pos == n else f"{n - pos} stray bytes after the end of the image"


def image_id(pixels: np.ndarray) -> str:
    """The id of an image blob: sha256 of a domain prefix, the dtype and shape, and the pixel bytes
    (C order, little-endian) of the array a PNG decoder returns for it (see canonical_pixels)."""
    a = np.ascontiguousarray(pixels)
    if a.dtype.byteorder == ">":
        a = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<")))
    h = hashlib.sha256(IMAGE_ID_DOMAIN)
    h.update(f"{a.dtype.str}|{'x'.join(str(s) for s in a.shape)}\0".encode())
    h.update(a.reshape(-1).view(np.uint8) if a.size else b"")
    return h.hexdigest()


def canonical_pixels(image: np.ndarray) -> np.ndarray:
    """The array that decoding the stored PNG of `image` gives back: uint8 gray (H, W), gray+alpha,
    RGB or RGBA as they are ((H, W, 1) becomes (H, W)); anything else through an actual round trip."""
    a = np.asarray(image)
    if a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.dtype == np.uint8 and (a.ndim == 2 or (a.ndim == 3 and 2 <= a.shape[2] <= 4)):
        return np.ascontiguousarray(a)
    return png_decode(_encode_png(a))


def _content_problem(sha: str, data: bytes) -> str | None:
    """None when `data` is what blob `sha` must hold (its bytes or, for a PNG, its pixels hash to sha)."""
    if hashlib.sha256(data).hexdigest() == sha:
        return None
    if not data.startswith(PNG_SIGNATURE):
        return "content hashes to " + hashlib.sha256(data).hexdigest()[:16] + "..."
    problem = png_problem(data)
    if problem:
        return f"damaged PNG: {problem}"
    try:
        got = image_id(png_decode(data))
    except Exception as exc:  # Pillow raises many kinds on a damaged stream
        return f"PNG does not decode: {exc}"
    return None if got == sha else f"pixels hash to {got[:16]}..."


class BlobStore:
    """ROOT/blobs: put/read/verify blobs by id. Writers hold the library's write lock (Library.writing)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.dir = self.root / BLOBS

    def path(self, sha: str) -> Path:
        if not isinstance(sha, str) or not SHA_RE.match(sha):
            raise LibraryError(f"{sha!r} is not a blob id")
        return self.dir / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    # -- writing --------------------------------------------------------------------------------
    def put_bytes(self, data: bytes) -> str:
        """Store raw `data` (if not there yet); returns its sha256."""
        sha = hashlib.sha256(data).hexdigest()
        self.write(sha, lambda: data)
        return sha

    def put_image(self, pixels: np.ndarray, encoded: bytes | None = None) -> str:
        """Store an image (canonical pixels, see canonical_pixels) as a PNG under its pixel id.
        `encoded`: its PNG bytes when already made; encoded here only when the blob is new."""
        sha = image_id(pixels)
        self.write(sha, (lambda: encoded) if encoded is not None else (lambda: _encode_png(pixels)))
        return sha

    def write(self, sha: str, make: Callable[[], bytes]) -> bool:
        """Write blob `sha` with the bytes make() returns, unless it exists. True when written."""
        path = self.path(sha)
        if path.is_file():
            return False
        data = make()
        folder = path.parent
        tmp_dir = self.dir / "tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp_dir.mkdir(parents=True, exist_ok=True)
            tmp = tmp_dir / f"{sha[:16]}.{secrets.token_hex(8)}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask's permissions
        except OSError as exc:
            raise os_error(exc, f"cannot write blob {sha[:16]} in {self.root}") from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                _write_all(fh, data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            _fsync_dir(folder)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise os_error(exc, f"cannot write blob {sha[:16]} in {self.root}") from exc
            raise
        return True

    # -- reading --------------------------------------------------------------------------------
    def _read(self, sha: str) -> bytes:
        path = self.path(sha)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise LibraryError(f"blob {sha} is missing from {self.dir}; run `assetgen library check` "
                               "(the asset that needs it cannot be loaded)") from exc
        except OSError as exc:
            raise LibraryError(f"cannot read blob {path}: {exc.strerror or exc}") from exc

    def _corrupt(self, sha: str, why: str) -> LibraryError:
        return LibraryError(f"blob {sha} is corrupt ({why}); run `assetgen library check`")

    def read(self, sha: str, verify: bool = True) -> bytes:
        data = self._read(sha)
        if verify:
            problem = _content_problem(sha, data)
            if problem:
                raise self._corrupt(sha, problem)
        return data

    def read_image(self, sha: str) -> np.ndarray:
        """The pixels of image blob `sha`, verified against the id."""
        data = self._read(sha)
        problem = png_problem(data)
        if problem:
            raise self._corrupt(sha, f"damaged PNG: {problem}")
        try:
            pixels = png_decode(data)
        except Exception as exc:  # Pillow raises many kinds on a damaged stream
            raise self._corrupt(sha, f"PNG does not decode: {exc}") from exc
        if image_id(pixels) != sha and hashlib.sha256(data).hexdigest() != sha:
            raise self._corrupt(sha, "its pixels do not match its id")
        return pixels

    def verify(self, sha: str) -> str | None:
        """'missing', 'corrupt (why)' or None when blob `sha` is present and intact."""
        path = self.path(sha)
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(PNG_SIGNATURE))
                if head == PNG_SIGNATURE:
                    problem = _content_problem(sha, head + fh.read())
                    return None if problem is None else f"corrupt ({problem})"
                h = hashlib.sha256(head)
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        except FileNotFoundError:
            return "missing"
        except IsADirectoryError:
            return "missing (a folder is in its place)"
        except OSError as exc:
            return f"unreadable ({exc.strerror or exc})"
        return None if h.hexdigest() == sha else f"corrupt (content hashes to {h.hexdigest()[:16]}...)"

    # -- maintenance ----------------------------------------------------------------------------
    def files(self) -> Iterator[tuple[Path, bool]]:
        """(path, is_temporary) of every file directly in a blobs/ subfolder, sorted."""
        for path in sorted(self.dir.glob("*/*")):
            if path.is_file():
                yield path, path.parent.name == "tmp"
