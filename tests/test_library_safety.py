"""The library never loses data: a damaged or missing catalogue is an error (never re-initialised, never
a reason for gc to delete), `check` reports problems with exit status 1, a read-only library is
readable, and put/gc interleave safely (deterministically, with events)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import traceback
from pathlib import Path

import pytest

import assetgen.library.catalog as catalog
import assetgen.library.store as store
from assetgen.cli import main
from assetgen.errors import OutputError
from assetgen.library import Library, LibraryError
from assetgen.library.blobs import canonical_pixels
from assetgen.library.mesh import import_mesh

QUAD = "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nf 1/1 2/2 3/3\nf 1/1 3/3 4/4\n"


def run_cli(*args: str) -> int:
    """assetgen's exit status for `args` (main returns it, or a command ends the process with it)."""
    try:
        return main(list(args))
    except SystemExit as exc:
        return exc.code


def quad_asset(folder: Path, name: str = "quad"):
    obj = folder / f"{name}.obj"
    obj.write_text(QUAD)
    return import_mesh(obj, name, resolution=16)


def blob_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "blobs").glob("*/*")) if p.parent.name != "tmp"}


@pytest.fixture()
def filled(tmp_path) -> tuple[Path, str]:
    """A library with one imported mesh asset and 40 catalogued records; returns (root, mesh asset id)."""
    root = tmp_path / "lib"
    with Library.open(root) as lib:
        aid = lib.put(quad_asset(tmp_path), tags=["props"]).id
        with lib.writing():
            sha = lib.put_blob(b"shared")
            lib.put_records([dict(name=f"r_{i}", labels={"lipstick": i % 3 == 0, "skin_tone": f"monk_0{1 + i % 9}",
                                                         "age": 20 + i}, blobs={"identity": sha}) for i in range(40)])
        assert lib.check() == []
    return root, aid


# ---- a damaged or missing catalogue ----------------------------------------------------------------
@pytest.mark.parametrize("damage, message", [
    (lambda data: b"", "empty"),
    (lambda data: data[: len(data) // 2], "truncated"),
    (lambda data: data[:60], "truncated"),
    (lambda data: b"not a database at all " * 50, "not a SQLite database"),
])
def test_a_damaged_catalogue_is_an_error_never_a_new_library(filled, damage, message):
    root, _ = filled
    db = root / "catalog.sqlite"
    db.write_bytes(damage(db.read_bytes()))
    before, blobs = db.read_bytes(), blob_files(root)
    for kw in ({}, {"create": False}, {"readonly": True}, {"readonly": False}):
        with pytest.raises(LibraryError, match=f"catalogue {re.escape(str(db))} is corrupt: .*{message}") as err:
            Library.open(root, **kw)
        assert "\n" not in str(err.value)
    assert run_cli("library", "gc", "--library", str(root)) == 2
    assert run_cli("library", "check", "--library", str(root)) == 2
    assert run_cli("library", "ls", "--library", str(root)) == 2
    assert db.read_bytes() == before and blob_files(root) == blobs  # nothing re-initialised or deleted


def test_blobs_without_a_catalogue_are_not_made_a_new_library(filled):
    root, _ = filled
    (root / "catalog.sqlite").unlink()
    blobs = blob_files(root)
    with pytest.raises(LibraryError, match="holds library data .* but no catalog.sqlite"):
        Library.open(root)
    assert run_cli("library", "import", str(root.parent / "quad.obj"), "--library", str(root)) == 2
    assert not (root / "catalog.sqlite").exists() and blob_files(root) == blobs


def test_a_new_library_appears_complete_or_not_at_all(tmp_path, monkeypatch):
    root = tmp_path / "new" / "lib"
    with Library.open(root) as lib:
        assert lib.count() == 0 and not lib.readonly
    assert sorted(p.name for p in root.iterdir()) == [".gc.lock", "blobs", "catalog.sqlite"]
    # A failure while creating leaves neither folders nor a half-made catalogue behind.
    def refuse(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(catalog.os, "link", refuse)
    with pytest.raises(OutputError, match="disk is full"):
        Library.open(tmp_path / "other" / "lib")
    assert not (tmp_path / "other").exists()


# ---- check's exit status ---------------------------------------------------------------------------
def test_check_exits_1_when_it_finds_problems_and_0_when_clean(filled, capsys):
    root, aid = filled
    assert run_cli("library", "check", "--library", str(root)) == 0
    with Library.open(root) as lib:
        sha = lib.record(aid).blobs["mesh/vertices"]
        lib.blob_path(sha).unlink()
    capsys.readouterr()
    assert run_cli("library", "check", "--library", str(root)) == 1
    assert f"blob {sha}: missing (needed by asset {aid})" in capsys.readouterr().out


# ---- read-only libraries -------------------------------------------------------------------------
def _run_commands(commands: dict[str, list[str]]) -> dict[str, tuple[int, str, str]]:
    """name -> (exit status, stdout, stderr) of each assetgen command line, run in this process."""
    out = {}
    for name, args in commands.items():
        o, e = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            rc = run_cli(*args)
        out[name] = (rc, o.getvalue(), e.getvalue())
    return out


def _run_unprivileged(commands: dict[str, list[str]], home: Path) -> dict[str, tuple[int, str, str]]:
    """_run_commands as a user that permission bits bind: this one, or (for root, whom they do not
    bind) a forked child that drops to nobody. The interpreter may sit where nobody cannot reach it, so
    the child runs the commands with what this process has imported (the caller warms that up)."""
    if os.geteuid() != 0:
        return _run_commands(commands)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.environ.update(HOME=str(home), ASSETGEN_CACHE=str(home / "cache"))
            with os.fdopen(write, "w") as fh:
                try:
                    json.dump(_run_commands(commands), fh)
                    code = 0
                except BaseException:
                    fh.write(traceback.format_exc())
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as fh:
        text = fh.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and text, f"the unprivileged child failed: {text}"
    return {k: tuple(v) for k, v in json.loads(text).items()}


def test_a_read_only_library_is_readable(filled):
    """A copy without write bits, read as a user the bits bind: ls, show, check, sample and export
    work; gc fails with a one-line error; not a byte changes."""
    src, aid = filled
    base = Path(tempfile.mkdtemp(prefix="assetgen-ro-"))
    try:
        os.chmod(base, 0o755)
        lib = base / "lib"
        shutil.copytree(src, lib)
        spec = base / "spec.yaml"
        spec.write_text("lipstick: 0.5\n")
        out, home = base / "out", base / "home"
        for d in (out, home):
            d.mkdir()
            os.chmod(d, 0o777)

        def commands(library: Path, out_dir: Path) -> dict[str, list[str]]:
            return {
                "ls": ["library", "ls", "--library", str(library)],
                "show": ["library", "show", aid[:8], "--library", str(library)],
                "check": ["library", "check", "--library", str(library)],
                "sample": ["library", "sample", "--spec", str(spec), "--n", "6", "--library", str(library)],
                "export": ["export", "--out", str(out_dir), "--format", "glb", "--library", str(library),
                           "--where", "kind=mesh"],
                "gc": ["library", "gc", "--library", str(library), "--dry-run"],
            }

        warm = _run_commands(commands(src, base / "warm-out"))  # (imports everything the commands use)
        assert all(v[0] == 0 for v in warm.values()), warm
        before = {p: p.read_bytes() for p in lib.rglob("*") if p.is_file()}
        subprocess.run(["chmod", "-R", "a-w", str(lib)], check=True)
        # A folder SQLite cannot write its -shm file into, though the lock and catalogue files are writable.
        lib2 = base / "lib2"
        shutil.copytree(src, lib2)
        subprocess.run(["chmod", "-R", "a-w", str(lib2)], check=True)
        for f in (lib2 / ".gc.lock", lib2 / "catalog.sqlite"):
            os.chmod(f, 0o666)
        res = _run_unprivileged({**commands(lib, out), "ls2": ["library", "ls", "--library", str(lib2)],
                                 "export2": ["export", "--out", str(out / "2"), "--library", str(lib2),
                                             "--where", "kind=mesh"]}, home)
        assert res["ls2"] == res["ls"][:2] + (res["ls2"][2],) and res["export2"][0] == 0, res
        for name in ("ls", "show", "check", "sample", "export"):
            assert res[name][0] == 0, (name, res[name])
        assert aid in res["ls"][1] and len(res["ls"][1].splitlines()) == 41
        assert json.loads(res["show"][1])["id"] == aid
        assert len([x for x in res["sample"][1].splitlines() if len(x) == 16]) == 6
        assert "ok: 41 assets" in res["check"][2]
        assert (out / "quad.glb").is_file() and (out / "quad.gt.json").is_file()
        assert res["gc"][0] == 2 and "read-only" in res["gc"][2] and len(res["gc"][2].strip().splitlines()) == 1
        assert {p: p.read_bytes() for p in lib.rglob("*") if p.is_file()} == before
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(base)], check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_open_readonly_and_unwritable_locations(filled, monkeypatch):
    root, aid = filled
    db_bytes = (root / "catalog.sqlite").read_bytes()
    with Library.open(root, readonly=True) as lib:
        assert lib.readonly and aid in lib.query() and lib.check() == []
        with pytest.raises(LibraryError, match="read-only"):
            lib.put_blob(b"new")
        with pytest.raises(LibraryError, match="read-only"):
            lib.gc()
    assert (root / "catalog.sqlite").read_bytes() == db_bytes

    # Write access is judged by trying (os.access and permission bits say nothing for root).
    def erofs(path, flags):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(catalog, "_write_probe", erofs)
    with Library.open(root) as lib:
        assert lib.readonly and lib.record(aid).name == "quad"
    with pytest.raises(OutputError, match="read-only"):
        Library.open(root, readonly=False)
    assert run_cli("library", "ls", "--library", str(root)) == 0
    assert run_cli("library", "gc", "--library", str(root)) == 2


# ---- gc never deletes what a catalogue might reference ----------------------------------------------
def test_gc_refuses_when_a_record_does_not_parse(filled):
    root, aid = filled
    with Library.open(root) as lib:
        orphan = lib.put_blob(b"nobody references me")
        lib.conn.execute("UPDATE assets SET record = '{\"blobs\": ' WHERE id = ?", (aid,))
        blobs = blob_files(root)
        with pytest.raises(LibraryError, match=f"gc refused: the record of asset {aid} does not parse"):
            lib.gc()
        lib.conn.execute("UPDATE assets SET record = '{\"blobs\": {\"x\": \"not-a-sha\"}}' WHERE id = ?", (aid,))
        with pytest.raises(LibraryError, match="gc refused: .*'not-a-sha', which is not a blob id"):
            lib.gc()
    assert blob_files(root) == blobs and orphan in blobs


def test_gc_refuses_when_the_catalogue_does_not_read_completely(filled):
    root, _ = filled
    with Library.open(root) as lib:
        orphan = lib.put_blob(b"nobody references me")
        lib.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db = root / "catalog.sqlite"
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    pages = len(data) // page
    assert pages >= 4
    for p in range(pages - 2, pages):  # garbage over the last two pages; the header stays valid
        data[p * page:(p + 1) * page] = bytes([0x5A]) * page
    db.write_bytes(bytes(data))
    blobs = blob_files(root)
    with Library.open(root) as lib:
        with pytest.raises(LibraryError, match="gc refused"):
            lib.gc()
        assert any(p.startswith("catalogue") for p in lib.check())
    assert run_cli("library", "gc", "--library", str(root)) == 2
    assert blob_files(root) == blobs and orphan in blobs


# ---- put and gc interleaved -------------------------------------------------------------------------
def _thread(fn, results: dict, key: str) -> threading.Thread:
    def body():
        try:
            results[key] = fn()
        except BaseException as exc:  # re-raised by the test thread
            results[key] = exc

    t = threading.Thread(target=body, name=key)
    t.start()
    return t


def _value(results: dict, key: str):
    v = results[key]
    if isinstance(v, BaseException):
        raise v
    return v


def test_gc_waits_for_a_put_whose_blobs_are_written_but_not_yet_catalogued(tmp_path, monkeypatch):
    root = tmp_path / "lib"
    Library.open(root).close()
    asset = quad_asset(tmp_path)
    blobs_written, release, gc_waiting = threading.Event(), threading.Event(), threading.Event()

    def pause_writer():
        if threading.current_thread().name == "put":
            blobs_written.set()
            assert release.wait(120)

    monkeypatch.setattr(store, "_before_commit", pause_writer)
    monkeypatch.setattr(catalog, "_lock_wait", lambda path, exclusive: exclusive and gc_waiting.set())

    def put():
        with Library.open(root) as lib:
            return lib.put(asset)

    def gc():
        with Library.open(root) as lib:
            return lib.gc()

    results: dict = {}
    tp = _thread(put, results, "put")
    assert blobs_written.wait(120)
    with Library.open(root, readonly=True) as lib:  # on disk, referenced by no row yet
        assert blob_files(root) and lib.count() == 0 and lib.referenced_blobs() == set()
    tg = _thread(gc, results, "gc")
    assert gc_waiting.wait(120)  # gc blocks on the lock the writer holds
    release.set()
    tp.join(120)
    tg.join(120)
    put_result, gc_result = _value(results, "put"), _value(results, "gc")
    assert gc_result == (0, 0)
    with Library.open(root) as lib:
        assert lib.check() == [] and lib.load(put_result.id).name == "quad"


def test_a_put_waits_for_gc_and_rewrites_a_blob_gc_removed(tmp_path, monkeypatch):
    """The blob a put finds already stored (an orphan) is deleted by a gc that holds the lock; the put,
    waiting for the lock, writes it again before cataloguing."""
    root = tmp_path / "lib"
    asset = quad_asset(tmp_path)
    with Library.open(root) as lib:
        with lib.writing():
            orphan = lib.blobs.put_image(canonical_pixels(asset.textures.materials["M_Mesh"].base_color))
    gc_scanned, release, put_waiting = threading.Event(), threading.Event(), threading.Event()
    references = catalog.Catalog.references

    def pause_gc(self):
        keep = references(self)
        gc_scanned.set()
        assert release.wait(120)
        return keep

    monkeypatch.setattr(catalog.Catalog, "references", pause_gc)
    monkeypatch.setattr(catalog, "_lock_wait", lambda path, exclusive: exclusive or put_waiting.set())

    def gc():
        with Library.open(root) as lib:
            return lib.gc()

    def put():
        with Library.open(root) as lib:
            return lib.put(asset)

    results: dict = {}
    tg = _thread(gc, results, "gc")
    assert gc_scanned.wait(120)
    tp = _thread(put, results, "put")
    assert put_waiting.wait(120)  # the writer blocks on the lock gc holds
    release.set()
    tg.join(120)
    tp.join(120)
    assert _value(results, "gc")[0] == 1  # the orphan
    res = _value(results, "put")
    with Library.open(root) as lib:
        assert lib.record(res.id).record["textures"]["M_Mesh"]["maps"]["base_color"] == orphan
        assert lib.blob_path(orphan).is_file() and lib.check() == []


def test_put_records_checks_blobs_under_the_lock(tmp_path, monkeypatch):
    root = tmp_path / "lib"
    with Library.open(root) as lib:
        # A blob put outside writing() is fair game for gc: put_record then refuses, never a dangling row.
        sha = lib.put_blob(b"loose")
        assert lib.gc()[0] == 1
        with pytest.raises(LibraryError, match=f"blob {sha} is not in the library"):
            lib.put_record("a", {}, {"identity": sha})
        assert lib.count() == 0
        # Inside writing(), a concurrent gc waits until the records are in.
        gc_waiting = threading.Event()
        monkeypatch.setattr(catalog, "_lock_wait", lambda path, exclusive: exclusive and gc_waiting.set())
        results: dict = {}
        with lib.writing():
            sha = lib.put_blob(b"kept")

            def gc():
                with Library.open(root) as other:
                    return other.gc()

            tg = _thread(gc, results, "gc")
            assert gc_waiting.wait(120)
            lib.put_record("b", {}, {"identity": sha})
        tg.join(120)
        assert _value(results, "gc") == (0, 0)
        assert lib.check() == [] and lib.read_blob(sha) == b"kept"
        assert hashlib.sha256(b"kept").hexdigest() == sha
        with pytest.raises(LibraryError, match="while this Library is writing"):
            with lib.writing():
                lib.gc()


def test_a_sqlite_error_midway_is_one_line(filled, monkeypatch, capsys):
    root, _ = filled

    def broken(self, asset_id):
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(Library, "record", broken)
    assert run_cli("library", "ls", "--library", str(root)) == 2
    err = capsys.readouterr().err.strip()
    assert "catalog.sqlite cannot be read (database disk image is malformed)" in err and "Traceback" not in err
