"""The library on disk: ROOT/catalog.sqlite (WAL) + ROOT/blobs/ab/<sha256> content-addressed files.

What is stored is an asset's meaning, not an export: identity and expression weights (float64 .npy
blobs), the texture set (one PNG blob per map per material), labels, tags, provenance, the face
model's fingerprint and the parent version. The vertices of a face-model asset are recomputed from the
weights and the model (checked against the fingerprint); they are stored as a blob only when they differ
from that (an edited mesh) or when there is no morphable model (an imported mesh).

Atomicity: put() writes every blob first (temporary file, fsync, rename, fsync of the folder), then
inserts all rows of the asset in ONE transaction. A process killed at any instant leaves at worst
unreferenced blobs (`gc` removes them), never a row that points to a missing blob. Writers hold a shared
lock on ROOT/.gc.lock while they put; gc holds it exclusively, so it never removes a blob that an
in-flight put is about to reference.

Assets are immutable: the id is the sha256 of the canonical record (without the wall-clock time), so the
same asset put twice is stored once, and an edit is a new version whose record names its parent.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ..errors import AssetgenError, InputError, OutputError

CATALOG = "catalog.sqlite"
BLOBS = "blobs"
RECORD_FORMAT = "assetgen-library-asset/1"
SCHEMA_VERSION = 1
MAP_NAMES = ("base_color", "roughness", "specular", "normal")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
BUSY_TIMEOUT_S = 120.0

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


class LibraryError(AssetgenError):
    """The library is missing, corrupt or inconsistent, or an id does not name one asset."""


@dataclass
class PutResult:
    """id: the asset's id; created: False when it (or the job's index) was already there."""

    id: str
    created: bool


@dataclass
class AssetRecord:
    """A catalogue row: everything but the blobs' content."""

    id: str
    name: str
    kind: str
    parent: str | None
    created: str
    job_id: str | None
    job_index: int | None
    seed: int | None
    model_fingerprint: str | None
    texture_set: str | None
    labels: dict[str, Any]
    tags: list[str]
    provenance: dict[str, Any]
    blobs: dict[str, str]
    record: dict[str, Any] = field(repr=False, default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "kind": self.kind, "parent": self.parent, "created": self.created,
            "job_id": self.job_id, "job_index": self.job_index, "seed": self.seed,
            "model_fingerprint": self.model_fingerprint, "texture_set": self.texture_set,
            "labels": self.labels, "tags": self.tags, "provenance": self.provenance, "blobs": self.blobs,
        }


# ---- helpers ---------------------------------------------------------------------------------
def canonical_json(obj: Any) -> str:
    from ..export.glb import json_safe

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


def png_decode(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im).copy()


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


def model_fingerprint(model) -> str:
    """The face model's fingerprint (what an asset's geometry depends on)."""
    fp = getattr(model, "fingerprint", None)
    if isinstance(fp, str):
        return fp
    from .. import generate

    return generate.model_fingerprint(model)


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


def _os_error(exc: BaseException, what: str) -> AssetgenError:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(f"{what}: the disk is full ({exc.strerror}); free space and run again "
                           "(nothing already stored was changed)")
    if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
        return OutputError(f"{what}: the disk is full ({exc}); free space and run again "
                           "(nothing already stored was changed)")
    return OutputError(f"{what}: {getattr(exc, 'strerror', None) or exc}")


# ---- the library ---------------------------------------------------------------------------------
class Library:
    """A library rooted at a folder. Open with Library.open(root, create=...). Not thread-safe: use one
    Library per thread or process (processes may share the folder)."""

    def __init__(self, root: Path, conn: sqlite3.Connection):
        self.root = root
        self.conn = conn
        self.blob_dir = root / BLOBS

    # -- opening --------------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | Path = "library", create: bool = True) -> "Library":
        root = Path(root)
        db = root / CATALOG
        if not db.exists():
            if not create:
                raise LibraryError(f"no library at {root} (no {CATALOG}); fill one with `assetgen batch` "
                                   "or pass --library PATH")
            try:
                (root / BLOBS / "tmp").mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _os_error(exc, f"cannot create library {root}") from exc
        try:
            conn = sqlite3.connect(str(db), timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise LibraryError(f"cannot open the catalogue {db}: {exc}") from exc
        lib = cls(root, conn)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            lib._retry(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            with lib._transaction():
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
                raise _os_error(exc, f"cannot open library {root}") from exc
            raise LibraryError(
                f"the catalogue {db} is corrupt or not a library catalogue ({exc}); nothing was changed. "
                "Restore it from a backup; the blobs under blobs/ are intact"
            ) from exc
        if int(version) != SCHEMA_VERSION:
            conn.close()
            raise LibraryError(f"library {root} has schema {version}; this assetgen reads {SCHEMA_VERSION}")
        return lib

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def _retry(fn, attempts: int = 50):
        import time

        for i in range(attempts):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or i == attempts - 1:
                    raise
                time.sleep(0.05 * (1 + i % 5))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        try:
            yield self.conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def _gc_lock(self, exclusive: bool) -> Iterator[None]:
        path = self.root / ".gc.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # releases the lock

    # -- blobs ----------------------------------------------------------------------------------
    def blob_path(self, sha: str) -> Path:
        if not SHA_RE.match(sha):
            raise LibraryError(f"{sha!r} is not a blob hash")
        return self.blob_dir / sha[:2] / sha

    def put_blob(self, data: bytes) -> str:
        """Store `data` (if not there yet) and return its sha256. Temporary file, fsync, rename."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.blob_path(sha)
        if path.exists():
            return sha
        folder = path.parent
        tmp_dir = self.blob_dir / "tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f"{sha[:16]}.", suffix=".tmp", dir=tmp_dir)
        except OSError as exc:
            raise _os_error(exc, f"cannot write blob {sha[:16]} in {self.root}") from exc
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
                raise _os_error(exc, f"cannot write blob {sha[:16]} in {self.root}") from exc
            raise
        return sha

    def read_blob(self, sha: str, verify: bool = True) -> bytes:
        path = self.blob_path(sha)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise LibraryError(f"blob {sha} is missing from {self.blob_dir}; run `assetgen library check` "
                               "(the asset that needs it cannot be loaded)") from exc
        if verify and hashlib.sha256(data).hexdigest() != sha:
            raise LibraryError(f"blob {sha} is corrupt (its content does not match its hash); "
                               "run `assetgen library check`")
        return data

    # -- writing --------------------------------------------------------------------------------
    def put(
        self,
        asset,
        *,
        job_id: str | None = None,
        job_index: int | None = None,
        tags: Iterable[str] = (),
        parent: str | None = None,
        store_vertices: bool | None = None,
    ) -> PutResult:
        """Store an assetgen Asset as one immutable library asset (see the module docstring)."""
        check_name(asset.name)
        tags = sorted({check_name(t, "tag") for t in tags})
        if job_id is not None:
            check_name(job_id, "job id")
        if parent is not None:
            parent = self.resolve(parent)
        model = asset.model
        kind = "mesh" if getattr(model, "is_imported_mesh", False) else "face"
        if job_id is not None and job_index is not None:
            row = self.conn.execute("SELECT id FROM assets WHERE job_id = ? AND job_index = ?",
                                    (job_id, int(job_index))).fetchone()
            if row:
                return PutResult(row[0], False)
        # Encode everything before taking any lock.
        payload: dict[str, bytes] = {}
        texture_record: dict[str, Any] = {}
        pngs = _encode_textures(asset.textures)
        for mat, maps in pngs.items():
            tex = asset.textures.materials[mat]
            texture_record[mat] = {
                "alpha_mode": tex.alpha_mode, "alpha_cutoff": float(tex.alpha_cutoff),
                "double_sided": bool(tex.double_sided), "maps": {},
            }
            for map_name, data in maps.items():
                payload[f"tex/{mat}/{map_name}"] = data
        identity = np.asarray(asset.identity_weights, dtype=np.float64)
        expression = np.asarray(asset.expression_weights, dtype=np.float64)
        vertices = np.asarray(asset.vertices, dtype=np.float32)
        fingerprint = None
        if kind == "face":
            fingerprint = model_fingerprint(model)
            payload["identity"] = npy_bytes(identity)
            payload["expression"] = npy_bytes(expression)
            if store_vertices is None:
                store_vertices = not np.array_equal(model.vertices(identity, expression).astype(np.float32), vertices)
            if store_vertices:
                payload["vertices"] = npy_bytes(vertices)
        else:
            payload.update(model.blobs(vertices))
        with self._gc_lock(exclusive=False):
            blobs = {role: self.put_blob(data) for role, data in sorted(payload.items())}
            for role, sha in blobs.items():
                if role.startswith("tex/"):
                    _, mat, map_name = role.split("/")
                    texture_record[mat]["maps"][map_name] = sha
            tex_doc = {"backend": asset.textures.backend, "materials": texture_record,
                       "params": asset.textures.params, "labels": asset.textures.labels}
            texture_set = hashlib.sha256(canonical_json(tex_doc).encode()).hexdigest()[:16]
            identity_id = blobs["identity"][:16] if "identity" in blobs else None
            record = {
                "format": RECORD_FORMAT, "name": asset.name, "kind": kind, "parent": parent,
                "labels": asset.labels, "tags": tags, "provenance": asset.provenance,
                "model_fingerprint": fingerprint, "texture_set": texture_set, "blobs": blobs,
                "textures": texture_record, "job_id": job_id, "job_index": job_index,
                "units": getattr(model, "units", "cm"),
            }
            if kind == "mesh":
                record["mesh"] = model.describe()
            text = canonical_json(record)
            asset_id = hashlib.sha256(text.encode()).hexdigest()[:16]
            seed = asset.provenance.get("seed") if isinstance(asset.provenance, dict) else None
            from ..asset import utc_timestamp

            try:
                with self._transaction() as c:
                    if c.execute("SELECT 1 FROM assets WHERE id = ?", (asset_id,)).fetchone():
                        return PutResult(asset_id, False)
                    if job_id is not None and job_index is not None:
                        row = c.execute("SELECT id FROM assets WHERE job_id = ? AND job_index = ?",
                                        (job_id, int(job_index))).fetchone()
                        if row:
                            return PutResult(row[0], False)
                    if identity_id:
                        c.execute("INSERT OR IGNORE INTO identities VALUES (?, ?, ?)",
                                  (identity_id, fingerprint, blobs["identity"]))
                    c.execute("INSERT OR IGNORE INTO texture_sets VALUES (?, ?, ?)",
                              (texture_set, asset.textures.backend, canonical_json(tex_doc)))
                    cur = c.execute(
                        "INSERT INTO assets(id, name, kind, parent, created, job_id, job_index, seed, "
                        "model_fingerprint, identity_id, texture_set, record, sflags, stone, seye) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (asset_id, asset.name, kind, parent, utc_timestamp(), job_id,
                         None if job_index is None else int(job_index),
                         None if seed is None else int(seed), fingerprint, identity_id, texture_set, text,
                         *sampling_columns(asset.labels)),
                    )
                    rid = cur.lastrowid
                    c.executemany("INSERT INTO labels VALUES (?, ?, ?, ?, ?)",
                                  [(rid, str(k), *label_columns(v)) for k, v in sorted(asset.labels.items())])
                    c.executemany("INSERT INTO tags VALUES (?, ?)", [(rid, t) for t in tags])
                    c.executemany("INSERT INTO asset_blobs VALUES (?, ?, ?)",
                                  [(rid, role, sha) for role, sha in blobs.items()])
            except sqlite3.OperationalError as exc:
                raise _os_error(exc, f"cannot store asset {asset.name!r}") from exc
        return PutResult(asset_id, True)

    def put_record(self, name: str, labels: dict, blobs: dict[str, str], **kw) -> PutResult:
        """Low-level: catalogue an asset whose blobs are already stored (bulk imports, benchmarks).
        Keywords: kind, provenance, tags, job_id, job_index, model_fingerprint."""
        return self.put_records([dict(name=name, labels=labels, blobs=blobs, **kw)])[0]

    def put_records(self, records: Sequence[dict]) -> list[PutResult]:
        """put_record for many at once, in one transaction (all or nothing)."""
        from ..asset import utc_timestamp

        prepared = []
        known: set[str] = set()
        for r in records:
            check_name(r["name"])
            for sha in r["blobs"].values():
                if sha not in known and not self.blob_path(sha).exists():
                    raise LibraryError(f"blob {sha} is not in the library; put_blob it first")
                known.add(sha)
            rec = {"format": RECORD_FORMAT, "name": r["name"], "kind": r.get("kind", "face"), "parent": None,
                   "labels": r["labels"], "tags": sorted(set(r.get("tags", ()))),
                   "provenance": r.get("provenance") or {}, "model_fingerprint": r.get("model_fingerprint"),
                   "texture_set": None, "blobs": dict(sorted(r["blobs"].items())), "textures": {},
                   "job_id": r.get("job_id"), "job_index": r.get("job_index")}
            text = canonical_json(rec)
            prepared.append((hashlib.sha256(text.encode()).hexdigest()[:16], rec, text))
        now = utc_timestamp()
        out = []
        with self._transaction() as c:
            for asset_id, rec, text in prepared:
                if c.execute("SELECT 1 FROM assets WHERE id = ?", (asset_id,)).fetchone():
                    out.append(PutResult(asset_id, False))
                    continue
                rid = c.execute(
                    "INSERT INTO assets(id, name, kind, parent, created, job_id, job_index, model_fingerprint, "
                    "record, sflags, stone, seye) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (asset_id, rec["name"], rec["kind"], None, now, rec["job_id"], rec["job_index"],
                     rec["model_fingerprint"], text, *sampling_columns(rec["labels"])),
                ).lastrowid
                c.executemany("INSERT INTO labels VALUES (?, ?, ?, ?, ?)",
                              [(rid, str(k), *label_columns(v)) for k, v in sorted(rec["labels"].items())])
                c.executemany("INSERT INTO tags VALUES (?, ?)", [(rid, t) for t in rec["tags"]])
                c.executemany("INSERT INTO asset_blobs VALUES (?, ?, ?)",
                              [(rid, role, sha) for role, sha in rec["blobs"].items()])
                out.append(PutResult(asset_id, True))
        return out

    # -- reading --------------------------------------------------------------------------------
    def resolve(self, id_or_prefix: str) -> str:
        """The full id of the one asset whose id starts with `id_or_prefix` (at least 4 hex digits)."""
        p = str(id_or_prefix).strip().lower()
        if not re.fullmatch(r"[0-9a-f]{4,16}", p):
            raise LibraryError(f"{id_or_prefix!r} is not an asset id (4-16 hex digits)")
        rows = self.conn.execute("SELECT id FROM assets WHERE id >= ? AND id < ? LIMIT 2",
                                 (p, p + "g")).fetchall()
        if not rows:
            raise LibraryError(f"no asset {p} in {self.root}")
        if len(rows) > 1:
            raise LibraryError(f"asset id prefix {p} is ambiguous; give more digits")
        return rows[0][0]

    def record(self, asset_id: str) -> AssetRecord:
        asset_id = self.resolve(asset_id)
        row = self.conn.execute(
            "SELECT id, name, kind, parent, created, job_id, job_index, seed, model_fingerprint, texture_set, record "
            "FROM assets WHERE id = ?", (asset_id,)).fetchone()
        rec = json.loads(row[10])
        return AssetRecord(*row[:10], labels=rec.get("labels", {}), tags=rec.get("tags", []),
                           provenance=rec.get("provenance", {}), blobs=rec.get("blobs", {}), record=rec)

    def job_indices(self, job_id: str) -> set[int]:
        return {r[0] for r in self.conn.execute("SELECT job_index FROM assets WHERE job_id = ?", (job_id,))}

    def has_job_index(self, job_id: str, index: int) -> bool:
        return self.conn.execute("SELECT 1 FROM assets WHERE job_id = ? AND job_index = ?",
                                 (job_id, int(index))).fetchone() is not None

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM assets").fetchone()[0]

    def query(self, where: Sequence[str] = (), *, latest: bool = True, limit: int | None = None) -> list[str]:
        """Ids of the assets matching every KEY<op>VALUE filter, sorted by name then id.

        Keys: a label (skin_tone, lipstick, freckles, ...), or id, name, kind, job, tag, parent.
        Ops: = != > < >= <=. Values are JSON when they parse (true, 0.3, null), else strings.
        latest: only assets no other version names as parent."""
        sql, params = self._where_sql(where, latest)
        sql = f"SELECT a.id FROM assets a WHERE {sql} ORDER BY a.name, a.id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [r[0] for r in self.conn.execute(sql, params)]

    def _where_sql(self, where: Sequence[str], latest: bool) -> tuple[str, list]:
        clauses, params = ["1"], []
        if latest and self.conn.execute("SELECT 1 FROM assets WHERE parent IS NOT NULL LIMIT 1").fetchone():
            clauses.append("NOT EXISTS (SELECT 1 FROM assets c WHERE c.parent = a.id)")
        for item in where:
            m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(!=|>=|<=|=|>|<)\s*(.*?)\s*", item or "")
            if not m:
                raise InputError(f"--where {item!r}: expected KEY=VALUE (or KEY!=, >, <, >=, <= VALUE)")
            key, op, raw = m.groups()
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
            if key in ("id", "name", "kind", "job", "parent", "tag"):
                if op not in ("=", "!="):
                    raise InputError(f"--where {item!r}: {key} takes only = or !=")
                neg = "NOT " if op == "!=" else ""
                if key == "tag":
                    clauses.append(f"{neg}EXISTS (SELECT 1 FROM tags t WHERE t.asset = a.rid AND t.tag = ?)")
                elif key == "id":
                    clauses.append(f"{neg}(a.id LIKE ?)")
                    raw = raw.lower() + "%"
                else:
                    col = {"job": "job_id"}.get(key, key)
                    clauses.append(f"{neg}(a.{col} IS ?)")
                params.append(raw)
                continue
            if op in ("=", "!=") and not isinstance(value, (int, float)) or isinstance(value, bool):
                text = label_columns(value)[0]
                cond = "EXISTS (SELECT 1 FROM labels l WHERE l.asset = a.rid AND l.key = ? AND l.value = ?)"
                clauses.append(cond if op == "=" else f"NOT {cond}")
                params += [key, text]
            else:
                if not isinstance(value, (int, float)):
                    raise InputError(f"--where {item!r}: {op} needs a number")
                sql_op = {"=": "=", "!=": "!="}.get(op, op)
                clauses.append(f"EXISTS (SELECT 1 FROM labels l WHERE l.asset = a.rid AND l.key = ? AND l.num {sql_op} ?)")
                params += [key, float(value)]
        return " AND ".join(clauses), params

    def load(self, asset_id: str, model=None):
        """The stored asset as an assetgen Asset (textures decoded, vertices recomputed or read)."""
        from ..asset import Asset
        from ..texture.base import MaterialTextures, TextureSet

        rec = self.record(asset_id)
        r = rec.record
        blobs = rec.blobs
        materials = {}
        for mat, spec in r.get("textures", {}).items():
            maps = {k: png_decode(self.read_blob(spec["maps"][k])) for k in MAP_NAMES}
            materials[mat] = MaterialTextures(**maps, alpha_mode=spec["alpha_mode"],
                                              alpha_cutoff=spec["alpha_cutoff"], double_sided=spec["double_sided"])
        if rec.texture_set:
            row = self.conn.execute("SELECT record FROM texture_sets WHERE id = ?", (rec.texture_set,)).fetchone()
            tex_doc = json.loads(row[0]) if row else {}
        else:
            tex_doc = {}
        textures = TextureSet(materials, labels=tex_doc.get("labels", {}), params=tex_doc.get("params", {}),
                              backend=tex_doc.get("backend", ""))
        if rec.kind == "mesh":
            from .mesh import MeshModel

            model, vertices = MeshModel.from_blobs(r["mesh"], {k: npy_load(self.read_blob(v)) for k, v in blobs.items()
                                                              if k.startswith("mesh/")})
            identity = np.zeros(0)
            expression = np.zeros(0)
        else:
            if model is None:
                from ..face.locate import get_face_model

                model = get_face_model()
            if model_fingerprint(model) != rec.model_fingerprint:
                raise LibraryError(
                    f"asset {rec.id} was made with face model {rec.model_fingerprint}, but the model found is "
                    f"{model_fingerprint(model)}; point ASSETGEN_FACE_MODEL at the model it was made with")
            identity = npy_load(self.read_blob(blobs["identity"]))
            expression = npy_load(self.read_blob(blobs["expression"]))
            if "vertices" in blobs:
                vertices = npy_load(self.read_blob(blobs["vertices"]))
            else:
                vertices = model.vertices(identity, expression)
        return Asset(name=rec.name, model=model, vertices=vertices, identity_weights=identity,
                     expression_weights=expression, textures=textures, labels=dict(rec.labels),
                     provenance={**rec.provenance, "library": {"id": rec.id, "parent": rec.parent}})

    # -- maintenance ----------------------------------------------------------------------------
    def referenced_blobs(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT DISTINCT sha FROM asset_blobs")}

    def check(self, verify_hashes: bool = True) -> list[str]:
        """Problems found (empty: consistent): SQLite integrity, foreign keys, records, every referenced
        blob present and (verify_hashes) matching its hash."""
        problems: list[str] = []
        try:
            res = [r[0] for r in self.conn.execute("PRAGMA integrity_check")]
            if res != ["ok"]:
                problems += [f"catalogue: {x}" for x in res]
            for row in self.conn.execute("PRAGMA foreign_key_check"):
                problems.append(f"catalogue: table {row[0]} row {row[1]} points to a missing {row[2]} row")
            for aid, text in self.conn.execute("SELECT id, record FROM assets"):
                if hashlib.sha256(text.encode()).hexdigest()[:16] != aid:
                    problems.append(f"asset {aid}: its record does not match its id")
            shas = sorted(self.referenced_blobs())
        except sqlite3.DatabaseError as exc:
            return problems + [f"catalogue: unreadable ({exc})"]
        for sha in shas:
            path = self.blob_path(sha)
            if not path.is_file():
                users = [r[0] for r in self.conn.execute(
                    "SELECT a.id FROM asset_blobs b JOIN assets a ON a.rid = b.asset WHERE b.sha = ? LIMIT 3", (sha,))]
                problems.append(f"blob {sha}: missing (needed by asset {', '.join(users)})")
            elif verify_hashes:
                h = hashlib.sha256()
                with open(path, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
                if h.hexdigest() != sha:
                    problems.append(f"blob {sha}: corrupt (content hashes to {h.hexdigest()[:16]}...)")
        return problems

    def gc(self, dry_run: bool = False) -> tuple[int, int]:
        """Remove blobs no asset references and leftover temporary files. Returns (files, bytes)."""
        removed = freed = 0
        with self._gc_lock(exclusive=True):
            keep = self.referenced_blobs()
            for path in sorted(self.blob_dir.glob("*/*")):
                if not path.is_file():
                    continue
                if path.parent.name != "tmp" and path.name in keep:
                    continue
                size = path.stat().st_size
                if not dry_run:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                removed += 1
                freed += size
        return removed, freed

    def stats(self) -> dict[str, int]:
        c = self.conn
        return {
            "assets": c.execute("SELECT count(*) FROM assets").fetchone()[0],
            "texture_sets": c.execute("SELECT count(*) FROM texture_sets").fetchone()[0],
            "identities": c.execute("SELECT count(*) FROM identities").fetchone()[0],
            "blobs_referenced": c.execute("SELECT count(DISTINCT sha) FROM asset_blobs").fetchone()[0],
        }


def _encode_textures(textures) -> dict[str, dict[str, bytes]]:
    """PNG bytes of every map of every material (encoded in parallel; deterministic)."""
    from concurrent.futures import ThreadPoolExecutor

    from ..export.glb import encode_png

    jobs = [(mat, k, getattr(tex, k)) for mat, tex in sorted(textures.materials.items()) for k in MAP_NAMES]
    with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:
        encoded = list(pool.map(encode_png, [img for _, _, img in jobs]))
    out: dict[str, dict[str, bytes]] = {}
    for (mat, k, _), data in zip(jobs, encoded):
        out.setdefault(mat, {})[k] = data
    return out
