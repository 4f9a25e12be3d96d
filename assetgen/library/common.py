"""What the library's catalogue, blob store and facade share: the error class, names, canonical JSON,
.npy bytes and the mapping of OS/SQLite failures to user errors."""

from __future__ import annotations

import errno
import io
import json
import re
import sqlite3
from typing import Any

import numpy as np

from ..errors import AssetgenError, InputError, OutputError
from ..jsonsafe import json_safe

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class LibraryError(AssetgenError):
    """The library is missing, corrupt or inconsistent, or an id does not name one asset."""


def canonical_json(obj: Any) -> str:
    """Compact, key-sorted JSON of `obj` (through the package's one normaliser, json_safe): equal
    content gives equal text (asset and job ids are hashes of it)."""
    return json.dumps(json_safe(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def check_name(name: str, what: str = "asset name") -> str:
    """A file-safe name: letters, digits, '.', '_', '-', not starting with a dot, no '..' (so it can never
    leave a folder when used as a file name)."""
    if not isinstance(name, str) or not NAME_RE.match(name) or ".." in name:
        raise InputError(
            f"{what} {name!r} is not allowed: use 1-128 letters, digits, '.', '_' or '-' "
            "(no path separators, no '..', not starting with '.')"
        )
    return name


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def npy_load(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)


def os_error(exc: BaseException, what: str) -> AssetgenError:
    """An OSError/sqlite3 error while writing as a one-line OutputError."""
    if is_disk_full(exc):
        detail = exc.strerror if isinstance(exc, OSError) else str(exc)
        return OutputError(f"{what}: the disk is full ({detail}); free space and run again "
                           "(nothing already stored was changed)")
    return OutputError(f"{what}: {getattr(exc, 'strerror', None) or exc}")
