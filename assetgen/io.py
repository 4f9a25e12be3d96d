"""Atomic file output: write to a temporary file beside the target, fsync, rename. A reader (or a crash)
never sees half a file, and an existing file is only replaced by a complete new one."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

from .errors import InputError, OutputError


def ensure_dir(folder: str | Path) -> Path:
    """Create `folder` if needed and check it is writable; raise OutputError naming it otherwise."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {folder}: {exc.strerror or exc}; choose another --out") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {folder} is not writable; choose another --out or fix its permissions")
    return folder


@contextlib.contextmanager
def output_dir(folder: str | Path) -> Iterator[Path]:
    """ensure_dir(folder) around a command's work: if the block raises, the folders this call created
    (`folder` and the parents it had to make) are removed again while still empty, so a failed command
    leaves no empty output folder behind. What the block wrote stays."""
    folder = Path(folder)
    created = []
    p = folder
    while not p.exists() and not p.is_symlink() and p != p.parent:
        created.append(p)
        p = p.parent
    try:
        yield ensure_dir(folder)
    except BaseException:
        for p in created:  # deepest first; stop at the first one that is not empty
            try:
                p.rmdir()
            except FileNotFoundError:
                continue
            except OSError:
                break
        raise


@contextlib.contextmanager
def atomic_path(path: str | Path, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file next to `path` for writing; on success fsync and rename it onto `path`,
    on any error remove it and leave `path` as it was."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the user's usual mode
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        raise


def _read_umask() -> int:
    """The process umask. Linux reports it in /proc/self/status; elsewhere the only way to read it is to
    set it and put it back, so that happens once, at import (before this package starts threads), under a
    lock, and through 0o077 rather than 0: a file another thread creates in that instant is private to its
    owner, never world-writable."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()
_UMASK = _read_umask()


def _umask() -> int:
    """The umask read at import (see _read_umask): atomic writes never change the process umask."""
    return _UMASK


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """JSON with sorted keys and a fixed layout, so equal content gives equal bytes."""
    text = json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def staged_dir(folder: str | Path) -> Iterator[Path]:
    """Yield an empty temporary folder beside `folder`; when the block succeeds, put it in place of
    `folder` with renames (a folder already there, e.g. one a reader rejected as damaged, is moved
    aside and deleted), so readers see the old folder or the complete new one, never a mix. On error
    the temporary folder is removed. Raises OSError (caches treat that as "not cached")."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield tmp
        trash = None
        if folder.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            with contextlib.suppress(OSError):  # another process may have replaced it already
                os.rename(folder, trash / "old")
        try:
            os.rename(tmp, folder)
        except OSError:
            if not folder.is_dir():  # not a lost race with another writer: a real failure
                raise
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_json_object(path: str | Path, label: str, remedy: str) -> dict:
    """The JSON object stored in `path`. Every failure (unreadable, not UTF-8, not JSON, not an object) is
    one InputError: `label` names the file in it ("view record X"), `remedy` says how to fix it."""
    try:
        obj = json.loads(Path(path).read_bytes().decode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {label}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{label} is not UTF-8 JSON text (byte {exc.start}); {remedy}") from exc
    except ValueError as exc:
        raise InputError(f"{label} is not valid JSON ({' '.join(str(exc).split())}); it is truncated or damaged, "
                         f"{remedy}") from exc
    if not isinstance(obj, dict):
        raise InputError(f"{label} must be a JSON object, not {type(obj).__name__}; {remedy}")
    return obj
