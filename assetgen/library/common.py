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

from ..names import NAME_RE, check_name  # noqa: F401  (the one naming rule, re-exported)
from ..errors import AssetgenError, OutputError
from ..jsonsafe import json_safe

SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class LibraryError(AssetgenError):
    """The library is missing, corrupt or inconsistent, or an id does not name one asset."""


def canonical_json(obj: Any) -> str:
    """Compact, key-sorted JSON of `obj` (through the package's one normaliser, json_safe): equal
    content gives equal text (asset and job ids are hashes of it)."""
    return json.dumps(json_safe(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


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
