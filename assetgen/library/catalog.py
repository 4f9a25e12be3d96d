"""The catalogue: ROOT/catalog.sqlite (WAL). Its schema, opening (new, existing, read-only), transactions,
the writers' lock, label columns and the --where filter language.

Opening never initialises over an existing file: a new catalogue is built under a temporary name and
linked into place complete, so a catalogue that is empty, truncated or not SQLite can only be damage,
and is reported (naming the file) instead of being mistaken for a new, empty library. A library that
cannot be written (a read-only mount, no write permission) is opened read-only.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import math
import os
import re
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import quote

import numpy as np

from ..errors import InputError, OutputError
from .blobs import BLOBS, _fsync_dir
from .common import SHA_RE, LibraryError, canonical_json, os_error

CATALOG = "catalog.sqlite"
LOCK = ".gc.lock"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 120.0
SQLITE_MAGIC = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities(
    id TEXT PRIMARY KEY, model_fingerprint TEXT, weights_blob TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS texture_sets(
    id TEXT PRIMARY KEY, backend TEXT, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS assets(
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent TEXT REFERENCES assets(id),
    created TEXT NOT NULL,
    job_id TEXT,
    job_index INTEGER,
    seed INTEGER,
    model_fingerprint TEXT,
    identity_id TEXT REFERENCES identities(id),
    texture_set TEXT REFERENCES texture_sets(id),
    record TEXT NOT NULL,
    sflags INTEGER NOT NULL DEFAULT 0,
    stone INTEGER,
    seye INTEGER,
    UNIQUE(job_id, job_index));
CREATE INDEX IF NOT EXISTS assets_parent ON assets(parent);
CREATE INDEX IF NOT EXISTS assets_name ON assets(name);
-- Covering index for sampling: a scan in id order reads no wide rows (records are kilobytes).
CREATE INDEX IF NOT EXISTS assets_sampling ON assets(id, sflags, stone, seye, parent);
CREATE TABLE IF NOT EXISTS labels(
    asset INTEGER NOT NULL REFERENCES assets(rid), key TEXT NOT NULL, value TEXT NOT NULL,
    flag INTEGER NOT NULL, num REAL, PRIMARY KEY(asset, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS labels_key ON labels(key, value, asset);
CREATE INDEX IF NOT EXISTS labels_flag ON labels(key, asset, flag);
CREATE TABLE IF NOT EXISTS tags(
    asset INTEGER NOT NULL REFERENCES assets(rid), tag TEXT NOT NULL, PRIMARY KEY(asset, tag)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_tag ON tags(tag, asset);
CREATE TABLE IF NOT EXISTS asset_blobs(
    asset INTEGER NOT NULL REFERENCES assets(rid), role TEXT NOT NULL, sha TEXT NOT NULL,
    PRIMARY KEY(asset, role)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS asset_blobs_sha ON asset_blobs(sha);
"""
SCHEMA_OBJECTS = frozenset(re.findall(r"CREATE (?:TABLE|INDEX) IF NOT EXISTS (\w+)", SCHEMA))
CORE_TABLES = ("meta", "assets", "labels", "tags", "asset_blobs", "identities", "texture_sets")
_READONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)


def _damaged(db: Path, why: str) -> LibraryError:
    return LibraryError(
        f"the catalogue {db} is corrupt: {why}; nothing was changed. Restore it from a backup "
        f"(the blobs under {db.parent / BLOBS} are intact)")


# ---- the writers' lock ---------------------------------------------------------------------------
def _lock_wait(path: Path, exclusive: bool) -> None:
    """Called just before blocking on the lock another process or Library holds (a seam for tests)."""


class WriteLock:
    """ROOT/.gc.lock: writers (put, put_records, put_blob) hold it shared while they write blobs and
    insert the rows that reference them; gc holds it exclusively while it reads the references and
    deletes. Re-entrant within one Library."""

    def __init__(self, path: Path):
        self.path = path
        self.depth = 0
        self.exclusive = False

    @contextlib.contextmanager
    def hold(self, exclusive: bool) -> Iterator[None]:
        if self.depth:
            if exclusive and not self.exclusive:
                raise LibraryError("gc cannot run while this Library is writing (inside Library.writing())")
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise os_error(exc, f"cannot lock library {self.path.parent} ({self.path})") from exc
        try:
            op = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            try:
                fcntl.flock(fd, op | fcntl.LOCK_NB)
            except BlockingIOError:
                _lock_wait(self.path, exclusive)
                fcntl.flock(fd, op)
            self.depth, self.exclusive = 1, exclusive
            try:
                yield
            finally:
                self.depth, self.exclusive = 0, False
        finally:
            os.close(fd)  # releases the lock


# ---- opening ------------------------------------------------------------------------------------
def header_problem(db: Path) -> str | None:
    """Why `db` cannot be a complete SQLite catalogue, judged from its size and 100-byte header
    (None: plausible). A truncation is detected from the header's page count when no write-ahead log
    is pending."""
    try:
        size = db.stat().st_size
        with open(db, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise LibraryError(f"cannot read the catalogue {db} ({exc.strerror or exc}); check its permissions") from exc
    if size == 0:
        return "it is empty (0 bytes)"
    if size < 100:
        if head.startswith(SQLITE_MAGIC) or SQLITE_MAGIC.startswith(head):
            return f"it is truncated ({size} bytes)"
        return "it is not a SQLite database"
    if head[:16] != SQLITE_MAGIC:
        return "it is not a SQLite database"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return "its header is damaged"
    pages = int.from_bytes(head[28:32], "big")
    wal = db.with_name(db.name + "-wal")
    wal_pending = wal.exists() and wal.stat().st_size > 0
    if head[24:28] == head[92:96] and not wal_pending and size < pages * page_size:
        return f"it is truncated ({size} bytes; its header says {pages * page_size})"
    return None


def _write_probe(path: Path, flags: int) -> None:
    """Open `path` for writing and close it again: whether writes are possible here is only known by
    trying (permission bits do not bind root; a read-only mount refuses everyone)."""
    os.close(os.open(path, flags, 0o666))


def writable(root: Path) -> bool:
    """Whether the library at `root` can be written (lock file and catalogue open for writing)."""
    for path, flags in ((root / LOCK, os.O_RDWR | os.O_CREAT), (root / CATALOG, os.O_RDWR)):
        try:
            _write_probe(path, flags)
        except OSError as exc:
            if exc.errno in _READONLY_ERRNOS:
                return False
            raise os_error(exc, f"cannot open library {root}") from exc
    return True


def _check_creatable(root: Path) -> None:
    """A new catalogue only goes into a folder that holds no library data: blobs without a catalogue
    mean the catalogue was lost, and a new, empty one would let gc delete every blob."""
    db = root / CATALOG
    leftovers = [p for p in (root / (CATALOG + "-wal"),) if p.exists()]
    blob_dir = root / BLOBS
    if blob_dir.is_dir():
        for sub in blob_dir.iterdir():
            if sub.name != "tmp" and sub.is_dir() and any(True for _ in sub.iterdir()):
                leftovers.append(sub)
                break
    if leftovers and not db.exists():  # (a concurrent creator may have made both meanwhile)
        raise LibraryError(
            f"{root} holds library data ({leftovers[0]}) but no {CATALOG}: the catalogue was deleted or moved. "
            f"Restore {db} from a backup; a new library is not created over it (nothing was changed)")


def _create(root: Path) -> None:
    """Create the library folder and its catalogue: built under a temporary name and linked into place
    complete (a concurrent creator's catalogue wins; never a half-made file under the real name)."""
    made: list[Path] = []
    for folder in (*reversed(root.parents), root, root / BLOBS, root / BLOBS / "tmp"):
        if not folder.exists():
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                _remove_empty(made)
                raise os_error(exc, f"cannot create library {root}") from exc
            made.append(folder)
    tmp = None
    try:
        tmp = root / f".catalog.{secrets.token_hex(8)}.new"
        os.close(os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666))  # the umask's permissions
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            conn.execute("COMMIT")
        finally:
            conn.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        db = root / CATALOG
        try:
            os.link(tmp, db)
        except FileExistsError:
            pass  # another process created it first: use theirs
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
                raise
            if not db.exists():  # no hard links here: a rename (only one racing creator can win a link)
                os.rename(tmp, db)
        _fsync_dir(root)
    except (OSError, sqlite3.Error) as exc:
        _cleanup_tmp(tmp)
        _remove_empty(made)
        raise os_error(exc, f"cannot create library {root}") from exc
    _cleanup_tmp(tmp)


def _cleanup_tmp(tmp: Path | None) -> None:
    if tmp is not None:
        for p in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            with contextlib.suppress(OSError):
                p.unlink()


def _remove_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _cannot_write(exc: sqlite3.Error) -> bool:
    """Whether SQLite failed for want of write access (to the folder, the -shm or -wal file)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN"))


def _retry(fn, attempts: int = 50):
    for i in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or i == attempts - 1:
                raise
            time.sleep(0.05 * (1 + i % 5))


class Catalog:
    """An open catalogue connection. readonly: opened without write access (mode=ro, or immutable when
    the folder cannot even hold SQLite's shared-memory file)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, readonly: bool):
        self.path = path
        self.conn = conn
        self.readonly = readonly

    @classmethod
    def open(cls, root: Path, *, create: bool, readonly: bool | None) -> "Catalog":
        db = root / CATALOG
        if not db.exists() and not db.is_symlink():
            if not create or readonly:
                raise LibraryError(f"no library at {root} (no {CATALOG}); fill one with `assetgen batch` "
                                   "or pass --library PATH")
            _check_creatable(root)
            if not db.exists():
                _create(root)
        problem = header_problem(db)
        if problem:
            raise _damaged(db, problem)
        cat = None
        if readonly is not True and writable(root):
            cat = cls._connect_rw(db)  # None when SQLite finds it cannot write here after all
        if cat is None and readonly is False:
            raise OutputError(f"library {root} is read-only (a read-only mount or no write permission); "
                              "this command changes it, so run it where the library is writable")
        cat = cat or cls._connect_ro(db)
        try:
            cat._validate()
            if not cat.readonly:
                cat._upgrade()
        except BaseException:
            cat.conn.close()
            raise
        return cat

    @staticmethod
    def _connect_rw(db: Path) -> "Catalog | None":
        try:
            conn = sqlite3.connect(str(db), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise LibraryError(f"cannot open the catalogue {db}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            conn.close()
            if _cannot_write(exc):
                return None
            raise _damaged(db, str(exc)) from exc
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _damaged(db, str(exc)) from exc
        return Catalog(db, conn, readonly=False)

    @staticmethod
    def _connect_ro(db: Path) -> "Catalog":
        uri = "file:" + quote(str(db.absolute()))
        try:
            conn = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return Catalog(db, conn, readonly=True)
            except sqlite3.OperationalError as exc:
                conn.close()
                if not _cannot_write(exc):
                    raise
            # The folder cannot hold the -shm file: read the file as it is, which is only complete when
            # no write-ahead log is waiting to be applied.
            wal = db.with_name(db.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise LibraryError(
                    f"the catalogue {db} has changes in {wal.name} not yet applied, and the folder is read-only: "
                    "open the library once where it is writable (e.g. a copy) to apply them")
            conn = sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise _damaged(db, str(exc)) from exc
        return Catalog(db, conn, readonly=True)

    def _validate(self) -> None:
        db = self.path
        try:
            names = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
            missing = [t for t in CORE_TABLES if t not in names]
            if missing:
                raise LibraryError(f"{db} is a SQLite database but not a library catalogue (no {missing[0]} table); "
                                   "nothing was changed. Point --library at a library folder")
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise _damaged(db, str(exc)) from exc
        if row is None:
            raise _damaged(db, "it records no schema version")
        if row[0] != str(SCHEMA_VERSION):
            raise LibraryError(f"library {db.parent} has schema {row[0]}; this assetgen reads {SCHEMA_VERSION}")
        self._names = names

    def _upgrade(self) -> None:
        """Add indexes a newer assetgen defines (all IF NOT EXISTS); nothing when all are there."""
        if SCHEMA_OBJECTS <= self._names:
            return
        try:
            with self.transaction() as c:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        c.execute(statement)
        except sqlite3.OperationalError as exc:
            raise os_error(exc, f"cannot update the catalogue {self.path}") from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any exception)."""
        _retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        try:
            yield self.conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def references(self) -> set[str]:
        """Every blob id the catalogue refers to, read completely inside one read transaction, or a
        LibraryError: a page that does not read, a record that does not parse, a row count that does
        not add up. gc deletes only what this returns as unreferenced, so partial answers are refused."""
        db = self.path

        def refuse(why: str) -> LibraryError:
            return LibraryError(f"gc refused: {why}; nothing was deleted. Run `assetgen library check` and "
                                f"restore {db} from a backup if it is damaged")

        keep: set[str] = set()

        def add(sha: Any, where: str) -> None:
            if not isinstance(sha, str) or not SHA_RE.match(sha):
                raise refuse(f"{where} names {sha!r}, which is not a blob id")
            keep.add(sha)

        c = self.conn
        try:
            c.execute("BEGIN")
            try:
                result = [r[0] for r in c.execute("PRAGMA quick_check")]
                if result != ["ok"]:
                    raise refuse(f"the catalogue {db} is damaged ({result[0]})")
                n = 0
                for aid, text in c.execute("SELECT id, record FROM assets"):
                    n += 1
                    try:
                        rec = json.loads(text)
                        blobs = rec["blobs"]
                        if not isinstance(blobs, dict):
                            raise TypeError("'blobs' is not a mapping")
                        maps = [m for spec in (rec.get("textures") or {}).values() for m in spec["maps"].values()]
                    except (ValueError, TypeError, KeyError, AttributeError) as exc:
                        raise refuse(f"the record of asset {aid} does not parse ({exc})") from exc
                    for role, sha in blobs.items():
                        add(sha, f"asset {aid} ({role})")
                    for sha in maps:
                        add(sha, f"asset {aid} (texture)")
                if n != c.execute("SELECT count(*) FROM assets").fetchone()[0]:
                    raise refuse("the assets table did not read completely")
                for aid, sha in c.execute("SELECT asset, sha FROM asset_blobs"):
                    add(sha, f"asset row {aid}")
                for (sha,) in c.execute("SELECT weights_blob FROM identities"):
                    add(sha, "an identity")
                for tid, text in c.execute("SELECT id, record FROM texture_sets"):
                    try:
                        maps = [m for spec in json.loads(text)["materials"].values() for m in spec["maps"].values()]
                    except (ValueError, TypeError, KeyError, AttributeError) as exc:
                        raise refuse(f"texture set {tid} does not parse ({exc})") from exc
                    for sha in maps:
                        add(sha, f"texture set {tid}")
            finally:
                with contextlib.suppress(sqlite3.Error):
                    c.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise refuse(f"the catalogue {db} cannot be read completely ({exc})") from exc
        return keep


# ---- labels ---------------------------------------------------------------------------------------
def label_columns(value: Any) -> tuple[str, int, float | None]:
    """(canonical JSON value, truthy flag, numeric value or None) of a label value."""
    text = canonical_json(value)
    if isinstance(value, (bool, np.bool_)):
        return text, int(bool(value)), float(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        f = float(value)
        return text, int(f != 0.0), f
    if value is None:
        return text, 0, None
    if isinstance(value, str):
        return text, int(value.lower() not in ("", "none", "false", "no", "0")), None
    return text, int(bool(value)), None


def sampling_columns(labels: dict) -> tuple[int, int | None, int | None]:
    """The labels sampling reads, packed: (bit i = BINARY[i] truthy, skin tone index, eye colour index)."""
    from .sample import BINARY, CATEGORIES

    flags = 0
    for i, k in enumerate(BINARY):
        if k in labels and label_columns(labels[k])[1]:
            flags |= 1 << i
    tone = CATEGORIES["skin_tone"].index(labels["skin_tone"]) if labels.get("skin_tone") in CATEGORIES["skin_tone"] else None
    eye = CATEGORIES["eye_color"].index(labels["eye_color"]) if labels.get("eye_color") in CATEGORIES["eye_color"] else None
    return flags, tone, eye


# ---- --where ------------------------------------------------------------------------------------
WHERE_OPS = ("=", "!=", ">", "<", ">=", "<=")
WHERE_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.]*)\s*([=!<>]+)\s*(.*?)\s*", re.DOTALL)
COLUMN_KEYS = {"id": "id", "name": "name", "kind": "kind", "job": "job_id", "parent": "parent", "tag": None}
_LABEL = "EXISTS (SELECT 1 FROM labels l WHERE l.asset = a.rid AND l.key = ? AND {})"


def parse_where(item: str) -> tuple[str, str, Any, str]:
    """(key, operator, value, raw value text) of one KEY OP VALUE filter; InputError naming the problem.
    The value is JSON when it parses (true, 0.3, null, "text"), else the text itself."""
    usage = "use KEY OP VALUE with OP one of = != > < >= <= (e.g. lipstick=true, age>=30, skin_tone=monk_03)"
    m = WHERE_RE.fullmatch(item or "") if isinstance(item, str) else None
    if not m:
        raise InputError(f"--where {item!r} is not a filter: {usage}")
    key, op, raw = m.groups()
    if op not in WHERE_OPS:
        raise InputError(f"--where {item!r}: unknown operator {op!r}; {usage}")
    if raw == "":
        raise InputError(f"--where {item!r}: no value after {op!r}; {usage}")
    if raw[0] in "=!<>":
        raise InputError(f"--where {item!r}: unknown operator {op + ' ' + raw[0]!r}; {usage} "
                         "(write a value that starts with =, !, < or > as a JSON string: name=\"=x\")")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"--where {item!r}: {raw} is not a finite number")
    return key, op, value, raw


def where_sql(conn: sqlite3.Connection, where: Sequence[str], latest: bool) -> tuple[str, list]:
    """SQL condition on `assets a` (and its parameters) for the filters, all of which must hold.

    Keys: a label, or id (a prefix), name, kind, job, tag, parent (these take = and != only; null
    matches an empty column, e.g. parent=null).
    = and != on a label compare: booleans by truth (a number label is true when not 0; text and null
    labels are neither), numbers by value, anything else by its JSON. > < >= <= take a number or a
    boolean (false < true). != is the exact complement of = (an asset without the label is != anything).
    latest: only assets no other version names as parent."""
    clauses, params = ["1"], []
    if latest and conn.execute("SELECT 1 FROM assets WHERE parent IS NOT NULL LIMIT 1").fetchone():
        clauses.append("NOT EXISTS (SELECT 1 FROM assets c WHERE c.parent = a.id)")
    for item in where:
        key, op, value, raw = parse_where(item)
        neg = "NOT " if op == "!=" else ""
        if key in COLUMN_KEYS:
            if op not in ("=", "!="):
                raise InputError(f"--where {item!r}: {key} takes only = or !=")
            text = value if isinstance(value, str) else raw
            if key == "tag":
                clauses.append(f"{neg}EXISTS (SELECT 1 FROM tags t WHERE t.asset = a.rid AND t.tag = ?)")
            elif key == "id":
                if not re.fullmatch(r"[0-9a-fA-F]{1,16}", text):
                    raise InputError(f"--where {item!r}: an id is 1-16 hex digits (a prefix of one)")
                clauses.append(f"{neg}(a.id LIKE ?)")
                text = text.lower() + "%"
            else:
                clauses.append(f"{neg}(a.{COLUMN_KEYS[key]} IS ?)")
                text = None if value is None else text  # parent=null: no parent
            params.append(text)
            continue
        sql_op = "=" if op == "!=" else op
        if isinstance(value, bool):
            cond = _LABEL.format(f"l.num IS NOT NULL AND l.flag {sql_op} ?")
            value = int(value)
        elif isinstance(value, (int, float)):
            cond = _LABEL.format(f"l.num {sql_op} ?")
            value = float(value)
        elif op in ("=", "!="):
            cond = _LABEL.format("l.value = ?")
            value = label_columns(value)[0]
        else:
            raise InputError(f"--where {item!r}: {op} compares numbers or booleans, not {raw!r}; "
                             "use = or != for text")
        clauses.append(neg + cond)
        params += [key, value]
    return " AND ".join(clauses), params
