"""The library: ROOT/catalog.sqlite (see catalog.py) + ROOT/blobs/ab/<id> content-addressed files (see
blobs.py). This module is the facade: put, load, query, check, gc.

What is stored is an asset's meaning, not an export: identity and expression weights (float64 .npy
blobs), the texture set (one PNG blob per map per material, its id taken from the pixels), the groom
(its arrays as .npy blobs, params and digest in the record: groom.py), labels, tags,
provenance, the face model's fingerprint and the parent version. The vertices of a face-model asset are
recomputed from the weights and the model (checked against the fingerprint); they are stored as a blob
only when they differ from that (an edited mesh) or when there is no morphable model (an imported mesh).

Atomicity: put() writes every blob first (temporary file, fsync, rename, fsync of the folder), then
inserts all rows of the asset in ONE transaction. A process killed at any instant leaves at worst
unreferenced blobs (`gc` removes them), never a row that points to a missing blob. Writers hold
ROOT/.gc.lock shared from the moment they look for a blob until the rows naming it are committed; gc
holds it exclusively while it reads every reference and deletes, so it never removes a blob an in-flight
write is about to reference, and it refuses to delete anything when the catalogue does not read completely.

Assets are immutable: the id is the sha256 of the canonical record (without the wall-clock time), so the
same asset put twice is stored once, and an edit is a new version whose record names its parent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from ..errors import InputError
from . import blobs as blobstore
from .blobs import BLOBS, BlobStore, canonical_pixels, image_id, png_decode
from .catalog import (BUSY_TIMEOUT_S, CATALOG, LOCK, SCHEMA, SCHEMA_VERSION, Catalog, WriteLock, label_columns,
                      sampling_columns, where_sql)
from .common import NAME_RE, SHA_RE, LibraryError, canonical_json, check_name, npy_bytes, npy_load, os_error

__all__ = [
    "AssetRecord", "BLOBS", "BUSY_TIMEOUT_S", "CATALOG", "Library", "LibraryError", "MAP_NAMES", "NAME_RE",
    "PutResult", "RECORD_FORMAT", "SCHEMA", "SCHEMA_VERSION", "SHA_RE", "canonical_json", "check_name",
    "label_columns", "model_fingerprint", "npy_bytes", "npy_load", "png_decode", "sampling_columns",
]

RECORD_FORMAT = "assetgen-library-asset/1"
MAP_NAMES = ("base_color", "roughness", "specular", "normal")


def _before_commit() -> None:
    """Called by writers holding the write lock, blobs written, just before the transaction (a seam
    for tests that interleave writers with gc)."""


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


def model_fingerprint(model) -> str:
    """The face model's fingerprint (what an asset's geometry depends on): FaceModel.fingerprint."""
    fp = getattr(model, "fingerprint", None)
    if isinstance(fp, str) and fp:
        return fp
    raise InputError(f"the face model ({type(model).__name__}) has no fingerprint: a library asset records "
                     "which model made it, so store and load face assets with an assetgen FaceModel")


def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(min(8, os.cpu_count() or 1))


class Library:
    """A library rooted at a folder. Open with Library.open(root, create=..., readonly=...). Not
    thread-safe: use one Library per thread or process (processes may share the folder)."""

    def __init__(self, root: Path, catalog: Catalog):
        self.root = root
        self.catalog = catalog
        self.conn = catalog.conn
        self.readonly = catalog.readonly
        self.blobs = BlobStore(root)
        self.blob_dir = self.blobs.dir
        self._lock = WriteLock(root / LOCK)

    # -- opening --------------------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | Path = "library", create: bool = True, readonly: bool | None = None) -> "Library":
        """Open the library at `root`. create: make a new one when the folder holds no library data.
        readonly: True never writes (ls, show, check, sample, export); False requires write access;
        None (default) opens read-only when the folder cannot be written."""
        root = Path(root)
        return cls(root, Catalog.open(root, create=create, readonly=readonly))

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _transaction(self):
        return self.catalog.transaction()

    def _require_writable(self, what: str) -> None:
        if self.readonly:
            raise LibraryError(f"library {self.root} is open read-only (a read-only mount, no write permission "
                               f"or readonly=True); cannot {what}")

    @contextlib.contextmanager
    def writing(self) -> Iterator["Library"]:
        """Hold the write lock (shared with other writers, exclusive of gc) across several calls:
        blobs put with put_blob inside stay until put_record(s) inside reference them."""
        self._require_writable("write")
        with self._lock.hold(exclusive=False):
            yield self

    # -- blobs ----------------------------------------------------------------------------------
    def blob_path(self, sha: str) -> Path:
        return self.blobs.path(sha)

    def put_blob(self, data: bytes) -> str:
        """Store raw `data` (if not there yet) and return its sha256. Unreferenced until a record names
        it: call put_record(s) inside the same `with lib.writing():` so gc cannot remove it meanwhile."""
        with self.writing():
            return self.blobs.put_bytes(data)

    def read_blob(self, sha: str, verify: bool = True) -> bytes:
        return self.blobs.read(sha, verify=verify)

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
        self._require_writable(f"store asset {getattr(asset, 'name', '?')!r}")
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
        # Everything is hashed (and new images encoded) before taking the lock.
        payload: dict[str, bytes] = {}
        fingerprint = None
        vertices = np.asarray(asset.vertices, dtype=np.float32)
        if kind == "face":
            fingerprint = model_fingerprint(model)
            identity = np.asarray(asset.identity_weights, dtype=np.float64)
            expression = np.asarray(asset.expression_weights, dtype=np.float64)
            payload["identity"] = npy_bytes(identity)
            payload["expression"] = npy_bytes(expression)
            if store_vertices is None:
                store_vertices = not np.array_equal(model.vertices(identity, expression).astype(np.float32), vertices)
            if store_vertices:
                payload["vertices"] = npy_bytes(vertices)
        else:
            payload.update(model.blobs(vertices))
        groom_record = None
        if getattr(asset, "groom", None) is not None:
            from .groom import groom_payload

            groom_payload_, groom_record = groom_payload(asset.groom)
            payload.update(groom_payload_)
        items_record = None
        if getattr(asset, "items", None) is not None:
            from .items import items_payload

            items_payload_, items_record = items_payload(asset.items)
            payload.update(items_payload_)
        images = [(mat, k, getattr(tex, k)) for mat, tex in sorted(asset.textures.materials.items()) for k in MAP_NAMES]
        with _pool() as pool:
            pixels = list(pool.map(canonical_pixels, [img for _, _, img in images]))
            image_ids = list(pool.map(image_id, pixels))
            new = [i for i, sha in enumerate(image_ids) if not self.blobs.exists(sha)]
            encoded = dict(zip(new, pool.map(lambda i: blobstore._encode_png(pixels[i]), new)))
        texture_record: dict[str, Any] = {}
        for mat, tex in sorted(asset.textures.materials.items()):
            texture_record[mat] = {
                "alpha_mode": tex.alpha_mode, "alpha_cutoff": float(tex.alpha_cutoff),
                "double_sided": bool(tex.double_sided), "maps": {},
            }
        blobs: dict[str, str] = {}
        with self.writing():
            for role, data in sorted(payload.items()):
                blobs[role] = self.blobs.put_bytes(data)
            for i, ((mat, map_name, _), sha) in enumerate(zip(images, image_ids)):
                self.blobs.write(sha, lambda i=i: encoded[i] if i in encoded else blobstore._encode_png(pixels[i]))
                blobs[f"tex/{mat}/{map_name}"] = sha
                texture_record[mat]["maps"][map_name] = sha
            blobs = dict(sorted(blobs.items()))
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
            if groom_record is not None:
                record["groom"] = groom_record
            if items_record is not None:
                record["items"] = items_record
            text = canonical_json(record)
            asset_id = hashlib.sha256(text.encode()).hexdigest()[:16]
            seed = asset.provenance.get("seed") if isinstance(asset.provenance, dict) else None
            from ..asset import utc_timestamp

            _before_commit()
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
                raise os_error(exc, f"cannot store asset {asset.name!r}") from exc
        return PutResult(asset_id, True)

    def put_record(self, name: str, labels: dict, blobs: dict[str, str], **kw) -> PutResult:
        """Low-level: catalogue an asset whose blobs are already stored (bulk imports, benchmarks).
        Keywords: kind, provenance, tags, job_id, job_index, model_fingerprint."""
        return self.put_records([dict(name=name, labels=labels, blobs=blobs, **kw)])[0]

    def put_records(self, records: Sequence[dict]) -> list[PutResult]:
        """put_record for many at once, in one transaction (all or nothing). The blobs must be in the
        library: checked under the write lock, so gc cannot remove them before the rows are in."""
        from ..asset import utc_timestamp

        self._require_writable("store records")
        prepared = []
        for r in records:
            check_name(r["name"])
            for sha in r["blobs"].values():
                self.blobs.path(sha)  # a blob id, or LibraryError
            rec = {"format": RECORD_FORMAT, "name": r["name"], "kind": r.get("kind", "face"), "parent": None,
                   "labels": r["labels"], "tags": sorted(set(r.get("tags", ()))),
                   "provenance": r.get("provenance") or {}, "model_fingerprint": r.get("model_fingerprint"),
                   "texture_set": None, "blobs": dict(sorted(r["blobs"].items())), "textures": {},
                   "job_id": r.get("job_id"), "job_index": r.get("job_index")}
            text = canonical_json(rec)
            prepared.append((hashlib.sha256(text.encode()).hexdigest()[:16], rec, text))
        now = utc_timestamp()
        out = []
        with self.writing():
            known: set[str] = set()
            for _, rec, _ in prepared:
                for sha in rec["blobs"].values():
                    if sha not in known and not self.blobs.exists(sha):
                        raise LibraryError(f"blob {sha} is not in the library; put_blob it first "
                                           "(inside the same `with lib.writing():`)")
                    known.add(sha)
            _before_commit()
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
        try:
            rec = json.loads(row[10])
        except ValueError as exc:
            raise LibraryError(f"the record of asset {asset_id} in {self.catalog.path} does not parse ({exc}); "
                               "run `assetgen library check`") from exc
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
        """Ids of the assets matching every KEY OP VALUE filter, sorted by name then id (the filter
        language: catalog.where_sql). latest: only assets no other version names as parent."""
        sql, params = self._where_sql(where, latest)
        sql = f"SELECT a.id FROM assets a WHERE {sql} ORDER BY a.name, a.id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [r[0] for r in self.conn.execute(sql, params)]

    def _where_sql(self, where: Sequence[str], latest: bool) -> tuple[str, list]:
        return where_sql(self.conn, where, latest)

    def load(self, asset_id: str, model=None):
        """The stored asset as an assetgen Asset (textures decoded, vertices recomputed or read)."""
        from ..asset import Asset
        from ..texture.base import MaterialTextures, TextureSet

        rec = self.record(asset_id)
        r = rec.record
        blobs = rec.blobs
        materials = {}
        for mat, spec in r.get("textures", {}).items():
            maps = {k: self.blobs.read_image(spec["maps"][k]) for k in MAP_NAMES}
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
            found = model_fingerprint(model)
            if found != rec.model_fingerprint:
                raise LibraryError(
                    f"asset {rec.id} was made with face model {rec.model_fingerprint}, but the model found is "
                    f"{found}; point ASSETGEN_FACE_MODEL at the model it was made with")
            identity = npy_load(self.read_blob(blobs["identity"]))
            expression = npy_load(self.read_blob(blobs["expression"]))
            if "vertices" in blobs:
                vertices = npy_load(self.read_blob(blobs["vertices"]))
            else:
                vertices = model.vertices(identity, expression)
        groom = None
        if "groom" in r:
            from .groom import groom_from_blobs

            groom = groom_from_blobs(r["groom"], blobs, self.read_blob)
            if rec.kind != "mesh":
                # stored arrays carry no pose-time colliders; the model they were made for restores them
                groom = groom.with_colliders(model)
        outfit = None
        if "items" in r:
            from .items import items_from_blobs

            outfit = items_from_blobs(r["items"], blobs, self.read_blob)
        return Asset(name=rec.name, model=model, vertices=vertices, identity_weights=identity,
                     expression_weights=expression, textures=textures, labels=dict(rec.labels),
                     provenance={**rec.provenance, "library": {"id": rec.id, "parent": rec.parent}}, groom=groom,
                     items=outfit)

    # -- maintenance ----------------------------------------------------------------------------
    def referenced_blobs(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT DISTINCT sha FROM asset_blobs")}

    def check(self, verify_hashes: bool = True) -> list[str]:
        """Problems found (empty: consistent): SQLite integrity, foreign keys, records, every referenced
        blob present and (verify_hashes) matching its id (images: decoded and re-hashed)."""
        problems: list[str] = []
        try:
            res = [r[0] for r in self.conn.execute("PRAGMA integrity_check")]
            if res != ["ok"]:
                problems += [f"catalogue: {x}" for x in res]
            for row in self.conn.execute("PRAGMA foreign_key_check"):
                problems.append(f"catalogue: table {row[0]} row {row[1]} points to a missing {row[2]} row")
            grooms, outfits = [], []
            for aid, text in self.conn.execute("SELECT id, record FROM assets"):
                if hashlib.sha256(text.encode()).hexdigest()[:16] != aid:
                    problems.append(f"asset {aid}: its record does not match its id")
                else:
                    if '"groom":' in text:
                        grooms.append(aid)
                    if '"items":' in text:
                        outfits.append(aid)
            shas = sorted(self.referenced_blobs())
        except sqlite3.DatabaseError as exc:
            return problems + [f"catalogue: unreadable ({exc})"]
        for sha in shas:
            if not SHA_RE.match(sha):
                problems.append(f"catalogue: {sha!r} is not a blob id")
                continue
            problem = self.blobs.verify(sha) if verify_hashes else (None if self.blobs.exists(sha) else "missing")
            if problem is None:
                continue
            if problem.startswith("missing"):
                users = [r[0] for r in self.conn.execute(
                    "SELECT a.id FROM asset_blobs b JOIN assets a ON a.rid = b.asset WHERE b.sha = ? LIMIT 3", (sha,))]
                problem += f" (needed by asset {', '.join(users)})"
            problems.append(f"blob {sha}: {problem}")
        if verify_hashes:
            problems += self._check_grooms(grooms)
            if outfits:
                from .items import check_items

                problems += check_items(self, outfits)
        return problems

    def _check_grooms(self, ids: list[str]) -> list[str]:
        """Problems of stored grooms: each rebuilt from its blobs must have the digest its record names."""
        from .groom import groom_from_blobs

        problems = []
        for aid in ids:
            r = self.record(aid).record
            if "groom" not in r:
                continue
            try:
                digest = groom_from_blobs(r["groom"], r.get("blobs", {}), self.read_blob).digest()
            except Exception as exc:  # a missing or damaged blob is reported above; name the asset here
                problems.append(f"asset {aid}: its groom does not load ({str(exc).splitlines()[0]})")
                continue
            if digest != r["groom"].get("digest"):
                problems.append(f"asset {aid}: its groom's digest {digest} differs from the recorded "
                                f"{r['groom'].get('digest')}")
        return problems

    def gc(self, dry_run: bool = False) -> tuple[int, int]:
        """Remove blobs no asset references and leftover temporary files. Returns (files, bytes).
        Refuses (LibraryError, nothing deleted) when the catalogue does not read completely."""
        self._require_writable("collect garbage")
        removed = freed = 0
        with self._lock.hold(exclusive=True):
            keep = self.catalog.references()
            for path, temporary in self.blobs.files():
                if not temporary and (path.name in keep or not SHA_RE.match(path.name)):
                    continue
                try:
                    size = path.stat().st_size
                    if not dry_run:
                        path.unlink()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise os_error(exc, f"cannot remove {path}") from exc
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
