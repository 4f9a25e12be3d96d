"""The running assetgen's code digest: its modules and data files, what decides the bytes it writes (the
package version alone does not change with every change). A data set records it, so that resuming a set
with other code, whose images would differ from those already there, is noticed. A checkout and a wheel
built from it give the same digest: the wheel's copies of pipelines/, configs/ and ui/ (assetgen/_data) are
left out, as are byte-code caches."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from . import __version__

PACKAGE = Path(__file__).resolve().parent


def _counted(rel: Path) -> bool:
    if "__pycache__" in rel.parts or rel.parts[0] == "_data":
        return False
    return rel.suffix == ".py" or rel.parts[0] == "data"


@lru_cache(maxsize=1)
def code_digest() -> str:
    """16 hex digits: sha256 over the package's .py files and data/ folder (relative paths and contents, in
    sorted order)."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        rel = path.relative_to(PACKAGE)
        if path.is_file() and _counted(rel):
            data = path.read_bytes()
            h.update(f"{rel.as_posix()}\0{len(data)}\0".encode())
            h.update(data)
    return h.hexdigest()[:16]


def code_record() -> dict[str, str]:
    """{"version": the package version, "code": code_digest()}: how a stored file was made."""
    return {"version": __version__, "code": code_digest()}
