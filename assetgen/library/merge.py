"""Moving assets between libraries: pack() takes assets out of one library as a Bundle (their records and
every blob they reference, plain picklable data), merge_bundle() puts a Bundle into another library.

Used where many processes make assets but only one may write the library: each writes a staging library
on its own disk (SQLite is never shared over a network file system) and hands a Bundle to the one
process that merges into the main library (assetgen.scale).

A merge is idempotent and never duplicates: an asset is identified by its id (the hash of its record,
checked here), and an asset whose id, or whose (job id, job index), is already in the library is left
out. Every record must hash to its id and every blob's bytes must be the ones packed before anything is
written: a raw blob's id is the hash of its bytes; an image blob's id is the hash of its pixels, checked
by decoding it where it is packed (pack verifies, in parallel on the workers), and the bundle carries the
hash of its bytes, checked here (an image without one is decoded here). Blobs are written first, then
every new row in ONE transaction (the same order and lock as Library.put), so a merge killed at any
instant leaves at worst unreferenced blobs for `gc`, never half an asset.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any, Sequence

from .blobs import _content_problem
from .catalog import label_columns, sampling_columns
from .common import LibraryError, check_name, os_error
from .store import RECORD_FORMAT, Library, _pool

__all__ = ["Bundle", "MergeResult", "merge_bundle", "merge_library", "pack"]


@dataclass
class Bundle:
    """Assets packed for another library. assets: one dict per asset, parents before children, with
    id, created, seed, record (the catalogue's record text) and texture_set (that set's record text or
    None); blobs: every blob the records reference, sha -> bytes; digests: sha256 of the bytes of each
    blob whose id is not that (images), taken where they were verified."""

    assets: list[dict[str, Any]] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return sum(len(b) for b in self.blobs.values()) + sum(len(a["record"]) for a in self.assets)


@dataclass
class MergeResult:
    """created: (id, job_index) of the assets added; present: ids left out because the asset, or its
    job index, was already in the library."""

    created: list[tuple[str, int | None]] = field(default_factory=list)
    present: list[str] = field(default_factory=list)


def pack(lib: Library, ids: Sequence[str] | None = None, verify: bool = True) -> Bundle:
    """The assets `ids` of `lib` (default: all of them, every version) as a Bundle. verify: check every
    blob against its id while reading it (images decoded); False for blobs this process just stored."""
    if ids is None:
        rows = lib.conn.execute("SELECT id, created, seed, record, texture_set FROM assets ORDER BY rid").fetchall()
    else:
        wanted = [lib.resolve(i) for i in ids]
        order = {r[0]: r[1] for r in lib.conn.execute("SELECT id, rid FROM assets")}
        rows = [lib.conn.execute("SELECT id, created, seed, record, texture_set FROM assets WHERE id = ?",
                                 (i,)).fetchone() for i in sorted(set(wanted), key=order.__getitem__)]
    bundle = Bundle()
    for asset_id, created, seed, text, tex_id in rows:
        tex_text = None
        if tex_id is not None:
            row = lib.conn.execute("SELECT record FROM texture_sets WHERE id = ?", (tex_id,)).fetchone()
            if row is None:
                raise LibraryError(f"asset {asset_id} names texture set {tex_id}, which is not in {lib.root}; "
                                   "run `assetgen library check`")
            tex_text = row[0]
        bundle.assets.append({"id": asset_id, "created": created, "seed": seed, "record": text,
                              "texture_set": tex_text})
        for sha in _record(asset_id, text)["blobs"].values():
            bundle.blobs.setdefault(sha, b"")
    shas = list(bundle.blobs)
    with _pool() as pool:
        for sha, data in zip(shas, pool.map(lambda s: lib.read_blob(s, verify=verify), shas)):
            bundle.blobs[sha] = data
            digest = hashlib.sha256(data).hexdigest()
            if digest != sha:
                bundle.digests[sha] = digest
    return bundle


def _blob_problem(bundle: Bundle, sha: str) -> str | None:
    """Why the bundle's bytes for blob `sha` are not the ones packed (None when they are)."""
    data = bundle.blobs[sha]
    digest = hashlib.sha256(data).hexdigest()
    if digest == sha:
        return None
    if sha in bundle.digests:
        return None if bundle.digests[sha] == digest else "its bytes changed after it was packed"
    return _content_problem(sha, data)


def _record(asset_id: str, text: str) -> dict[str, Any]:
    if hashlib.sha256(text.encode()).hexdigest()[:16] != asset_id:
        raise LibraryError(f"bundled asset {asset_id}: its record does not hash to its id (damaged in transit?); "
                           "nothing was merged")
    try:
        rec = json.loads(text)
    except ValueError as exc:
        raise LibraryError(f"bundled asset {asset_id}: its record does not parse ({exc}); nothing was merged") from exc
    if not isinstance(rec, dict) or rec.get("format") != RECORD_FORMAT or not isinstance(rec.get("blobs"), dict):
        raise LibraryError(f"bundled asset {asset_id}: not a {RECORD_FORMAT} record; nothing was merged")
    return rec


def merge_bundle(lib: Library, bundle: Bundle) -> MergeResult:
    """Add the bundle's assets that `lib` does not hold yet (by id, and by job index); see the module
    docstring. Returns what was added and what was already there."""
    lib._require_writable("merge assets")
    result = MergeResult()
    conn = lib.conn
    new: list[tuple[dict, dict]] = []
    seen_ids: set[str] = set()
    seen_jobs: set[tuple[str, int]] = set()
    for item in bundle.assets:
        rec = _record(item["id"], item["record"])
        check_name(rec.get("name"))
        job = (rec.get("job_id"), rec.get("job_index"))
        if (item["id"] in seen_ids
                or conn.execute("SELECT 1 FROM assets WHERE id = ?", (item["id"],)).fetchone()
                or (None not in job and (job in seen_jobs or conn.execute(
                    "SELECT 1 FROM assets WHERE job_id = ? AND job_index = ?", (job[0], int(job[1]))).fetchone()))):
            result.present.append(item["id"])
            continue
        if rec.get("texture_set") is not None:
            tex = item.get("texture_set")
            if tex is None or hashlib.sha256(tex.encode()).hexdigest()[:16] != rec["texture_set"]:
                raise LibraryError(f"bundled asset {item['id']}: its texture set {rec['texture_set']} is missing "
                                   "from the bundle or does not match its id; nothing was merged")
        parent = rec.get("parent")
        if parent is not None and parent not in seen_ids and not conn.execute(
                "SELECT 1 FROM assets WHERE id = ?", (parent,)).fetchone():
            raise LibraryError(f"bundled asset {item['id']}: its parent {parent} is neither in {lib.root} nor "
                               "earlier in the bundle; merge the parent first (nothing was merged)")
        seen_ids.add(item["id"])
        if None not in job:
            seen_jobs.add((job[0], int(job[1])))
        new.append((item, rec))
    if not new:
        return result
    needed = sorted({sha for _, rec in new for sha in rec["blobs"].values()})
    missing = [sha for sha in needed if sha not in bundle.blobs and not lib.blobs.exists(sha)]
    if missing:
        raise LibraryError(f"blob {missing[0]} is neither in the bundle nor in {lib.root} "
                           f"({len(missing)} missing); nothing was merged")
    to_write = [sha for sha in needed if sha in bundle.blobs and not lib.blobs.exists(sha)]
    with _pool() as pool:
        problems = [(sha, p) for sha, p in zip(to_write, pool.map(lambda s: _blob_problem(bundle, s), to_write)) if p]
    if problems:
        raise LibraryError(f"bundled blob {problems[0][0]} is damaged ({problems[0][1]}; {len(problems)} in all); "
                           "nothing was merged")
    with lib.writing():
        with _pool() as pool:
            list(pool.map(lambda s: lib.blobs.write(s, lambda: bundle.blobs[s]), to_write))
        try:
            with lib._transaction() as c:
                for item, rec in new:
                    asset_id = item["id"]
                    job_id, job_index = rec.get("job_id"), rec.get("job_index")
                    if c.execute("SELECT 1 FROM assets WHERE id = ?", (asset_id,)).fetchone() or (
                            job_id is not None and job_index is not None and c.execute(
                                "SELECT 1 FROM assets WHERE job_id = ? AND job_index = ?",
                                (job_id, int(job_index))).fetchone()):
                        result.present.append(asset_id)  # a concurrent writer stored it meanwhile
                        continue
                    blobs = rec["blobs"]
                    identity_id = blobs["identity"][:16] if "identity" in blobs else None
                    if identity_id:
                        c.execute("INSERT OR IGNORE INTO identities VALUES (?, ?, ?)",
                                  (identity_id, rec.get("model_fingerprint"), blobs["identity"]))
                    if rec.get("texture_set") is not None:
                        tex = item["texture_set"]
                        c.execute("INSERT OR IGNORE INTO texture_sets VALUES (?, ?, ?)",
                                  (rec["texture_set"], json.loads(tex).get("backend"), tex))
                    labels = rec.get("labels") or {}
                    seed = item.get("seed")
                    rid = c.execute(
                        "INSERT INTO assets(id, name, kind, parent, created, job_id, job_index, seed, "
                        "model_fingerprint, identity_id, texture_set, record, sflags, stone, seye) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (asset_id, rec["name"], rec.get("kind", "face"), rec.get("parent"),
                         item.get("created") or _now(), job_id,
                         None if job_index is None else int(job_index), None if seed is None else int(seed),
                         rec.get("model_fingerprint"), identity_id, rec.get("texture_set"), item["record"],
                         *sampling_columns(labels)),
                    ).lastrowid
                    c.executemany("INSERT INTO labels VALUES (?, ?, ?, ?, ?)",
                                  [(rid, str(k), *label_columns(v)) for k, v in sorted(labels.items())])
                    c.executemany("INSERT INTO tags VALUES (?, ?)", [(rid, t) for t in rec.get("tags") or ()])
                    c.executemany("INSERT INTO asset_blobs VALUES (?, ?, ?)",
                                  [(rid, role, sha) for role, sha in blobs.items()])
                    result.created.append((asset_id, None if job_index is None else int(job_index)))
        except sqlite3.OperationalError as exc:
            raise os_error(exc, f"cannot merge {len(new)} assets into {lib.root}") from exc
    return result


def _now() -> str:
    from ..asset import utc_timestamp

    return utc_timestamp()


def merge_library(lib: Library, source: Library, ids: Sequence[str] | None = None) -> MergeResult:
    """Merge the assets `ids` of library `source` (default: all) into `lib`."""
    return merge_bundle(lib, pack(source, ids))
