"""Data sets written to fsspec URLs: `assetgen dataset JOB --out s3://bucket/set` (gs://, memory://, file:// ...).

A plain path is not handled here: run_dataset writes it directly. For a URL, images are rendered into a
local staging folder (a temporary folder on this machine's disk, one per run or Ray task) and each finished
image's files are uploaded to the target, its record (STEM.json) last, so an image is complete on the
target exactly when its record and its other files are there. On file systems with a rename (file://,
sftp, hdfs ...) each file is uploaded to a temporary name (.NAME.HEX.tmp) and moved into place; on object
stores (s3, gs, az, memory ...) an upload is already all-or-nothing and the record-last order is enough.
Resuming lists the target to find the images not complete. dataset.json and coco_keypoints.json are built
in the staging folder with the local writers (same bytes as a local run) and uploaded. A protocol whose
implementation is not installed (s3fs, gcsfs ...) is a one-line error before anything is rendered.

dataset/run.py calls in here for URLs and hands over its render loop (run_to_url's `loop`): this module
does not import run, validate or preview, which import run.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
import uuid
from collections import deque
from pathlib import Path

from ..errors import ConfigError, InputError, OutputError

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
# Protocols whose move is a rename inside one file system: upload to a temporary name, then move.
_RENAMES = {"file", "local", "sftp", "ssh", "hdfs", "arrow_hdfs", "webhdfs", "smb"}
_TEMP = re.compile(r"^\.(\d{6})[^/]*\.tmp$")
_RECORD = re.compile(r"^(\d{6})\.json$")
MANIFEST = "dataset.json"  # run.MANIFEST (not imported: run imports this module)


def is_url(out) -> bool:
    """Whether `out` names an fsspec URL (PROTOCOL://...) rather than a local path."""
    return isinstance(out, str) and bool(_URL.match(out))


def open_fs(url: str):
    """(file system, root path) for `url`; InputError for an unknown protocol, ConfigError naming the package
    to install when the protocol's implementation is missing."""
    try:
        import fsspec  # noqa: F401
    except ImportError as exc:  # pragma: no cover - fsspec is a dependency
        raise ConfigError(f"{url}: URLs need fsspec; pip install fsspec") from exc
    from fsspec.core import url_to_fs
    from fsspec.registry import known_implementations

    protocol = url.split("://", 1)[0].lower()
    try:
        fs, root = url_to_fs(url)
    except ImportError as exc:
        impl = known_implementations.get(protocol, {})
        package = impl.get("class", "").split(".", 1)[0]
        hint = (f"install the package {package} (pip install {package})" if package and package != "fsspec"
                else " ".join(str(exc).split()))
        raise ConfigError(f"{url}: the {protocol}:// protocol is not available here; {hint}") from exc
    except (ValueError, TypeError) as exc:
        raise InputError(f"{url}: {' '.join(str(exc).split())}; use a folder or a URL such as "
                         "file:///abs/path, memory://set, s3://bucket/set") from exc
    root = root.rstrip("/")
    if not root.strip("/"):
        raise InputError(f"{url}: the URL names no folder or bucket; add one (e.g. s3://bucket/set)")
    return fs, root


class Target:
    """The data-set folder at an fsspec URL: list, read and upload files by name."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.fs, self.root = open_fs(url)
        protocols = self.fs.protocol if isinstance(self.fs.protocol, (tuple, list)) else (self.fs.protocol,)
        self.renames = bool(set(protocols) & _RENAMES)

    def where(self, name: str) -> str:
        return f"{self.url}/{name}"

    def _path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def names(self) -> set[str]:
        """The file names directly in the target (empty when it does not exist yet)."""
        try:
            self.fs.invalidate_cache(self.root)
            paths = self.fs.ls(self.root, detail=False)
        except FileNotFoundError:
            return set()
        except OSError as exc:
            raise OutputError(f"cannot list {self.url}: {' '.join(str(exc).split())}; check the URL and its "
                              "credentials") from exc
        return {str(p).rstrip("/").rsplit("/", 1)[-1] for p in paths}

    def exists(self) -> bool:
        try:
            return bool(self.fs.exists(self.root))
        except OSError:
            return False

    def read(self, name: str) -> bytes:
        return self.fs.cat_file(self._path(name))

    def read_many(self, names: list[str]) -> dict[str, bytes]:
        data = self.fs.cat([self._path(n) for n in names]) if names else {}
        return {str(p).rsplit("/", 1)[-1]: v for p, v in data.items()}

    def upload(self, local: Path, name: str) -> None:
        """Put the local file at `name`: a temporary name then a move where that is a rename, else directly."""
        final = self._path(name)
        try:
            if self.renames:
                tmp = self._path(f".{name}.{uuid.uuid4().hex[:12]}.tmp")
                self.fs.put_file(str(local), tmp)
                self.fs.mv(tmp, final)
            else:
                self.fs.put_file(str(local), final)
        except OSError as exc:
            raise OutputError(f"cannot write {self.where(name)}: {' '.join(str(exc).split())}; check the URL "
                              "and its permissions") from exc

    def remove(self, names) -> None:
        for n in names:
            try:
                self.fs.rm_file(self._path(n))
            except FileNotFoundError:
                pass

    def make_root(self) -> bool:
        """Create the target folder where folders exist (file systems); True when this call created it."""
        if not self.renames or self.exists():
            return False
        try:
            self.fs.makedirs(self.root, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create {self.url}: {' '.join(str(exc).split())}; choose another --out") from exc
        return True

    def remove_root_if_empty(self) -> None:
        try:
            if not self.names():
                self.fs.rmdir(self.root)
        except OSError:
            pass

    # ---- the data set's view of the target ------------------------------------------------------------

    def manifest(self, names: set[str] | None = None) -> dict | None:
        """The target's dataset.json (as run.read_manifest checks it), None when there is none."""
        from .job import FORMAT

        names = self.names() if names is None else names
        if MANIFEST not in names:
            return None
        try:
            data = json.loads(self.read(MANIFEST).decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise OutputError(f"{self.where(MANIFEST)} does not parse ({' '.join(str(exc).split())}); use another "
                              "--out or delete it") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("job_id"), str):
            raise OutputError(f"{self.where(MANIFEST)} is not an assetgen data-set manifest ({FORMAT}); use another --out")
        return data

    def complete(self, indices, layers, names: set[str] | None = None) -> set[int]:
        """The images among `indices` whose record and other files are on the target (writer.is_complete)."""
        from .writer import file_names

        names = self.names() if names is None else names
        return {i for i in indices
                if all(f in names for role, f in file_names(i, layers).items() if role != "hair_coverage")}

    def remove_stray_temps(self, indices, names: set[str] | None = None) -> int:
        names = self.names() if names is None else names
        wanted = set(indices)
        stray = [n for n in names if (m := _TEMP.match(n)) and int(m.group(1)) in wanted]
        self.remove(stray)
        return len(stray)


class Staging:
    """A local folder the images are written to. sync() hands each image whose record is there to one upload
    thread (its files, then its record; the local copies deleted after), so uploads overlap rendering; at
    most `backlog` images wait, then sync() waits too. finish() waits for every upload and raises the first
    failure; once one failed, no later image is uploaded (the target keeps whole images only)."""

    def __init__(self, target: Target, layers, backlog: int = 8):
        self.target, self.layers, self.backlog = target, layers, backlog
        self.folder = Path(tempfile.mkdtemp(prefix="assetgen-staging-"))
        self.uploaded: list[int] = []
        self._pool = None
        self._queued: set[int] = set()
        self._futures: deque = deque()
        self._failed = False

    def _upload_image(self, i: int) -> None:
        from .writer import file_names

        if self._failed:
            return
        try:
            names = file_names(i, self.layers)
            for role, name in names.items():
                if role != "record" and (self.folder / name).is_file():
                    self.target.upload(self.folder / name, name)
            self.target.upload(self.folder / names["record"], names["record"])
        except BaseException:
            self._failed = True
            raise
        for name in names.values():
            (self.folder / name).unlink(missing_ok=True)
        self.uploaded.append(i)

    def sync(self) -> None:
        """Queue the images finished since the last call; raise an upload's failure."""
        from concurrent.futures import ThreadPoolExecutor

        new = sorted(i for p in self.folder.iterdir() if (m := _RECORD.match(p.name))
                     and (i := int(m.group(1))) not in self._queued)
        if new and self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="assetgen-upload")
        for i in new:
            self._queued.add(i)
            self._futures.append(self._pool.submit(self._upload_image, i))
        while self._futures and (len(self._futures) > self.backlog or self._futures[0].done()):
            self._futures.popleft().result()

    def finish(self) -> None:
        self.sync()
        while self._futures:
            self._futures.popleft().result()

    def put(self, name: str) -> None:
        """Upload a file written into the staging folder under `name` (the manifest, the COCO file)."""
        self.target.upload(self.folder / name, name)
        (self.folder / name).unlink(missing_ok=True)

    def close(self) -> None:
        """Stop: uploads not started are dropped (their images are made again by a rerun), the folder removed."""
        if self._pool is not None:
            self._failed = True
            self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def render_to_target(render, target: Target, job, model, subjects, todo: list[int], result, progress=None,
                     scenes=None, **options) -> None:
    """render (run._render, given `options`) into a staging folder, each finished image uploaded to `target`
    (record last)."""
    staging = Staging(target, job.spec.layers)

    def uploaded(done: int, total: int, note: str) -> None:
        staging.sync()
        if progress:
            progress(done, total, note)

    try:
        render(job, model, subjects, staging.folder, todo, result, uploaded, scenes, **options)
        staging.finish()
    finally:
        staging.close()


def run_to_url(loop, job, url: str, shard=(0, 1), face_model=None, limit=None, progress=None, workers: int = 1,
               allow_other_code: bool = False):
    """run_dataset for an fsspec URL (see the module docstring): the same checks, images and bytes. loop: the
    module dataset.run (its _render, _manifest and DatasetResult); workers > 1: run_dataset's worker
    processes, rendering into the one staging folder."""
    from ..face.locate import get_face_model
    from ..io import atomic_write_json
    from ..jsonsafe import json_safe
    from .coco import COCO_FILE, build_coco
    from .job import check_against_model
    from .scene import Scenes
    from .subjects import Subjects
    from .writer import stem, write_compact_json

    t0 = time.perf_counter()
    target = Target(url)
    spec = job.spec
    result = loop.DatasetResult(job_id=job.id)
    names = target.names()
    existing = target.manifest(names)
    loop.check_existing(existing, job, target.url, allow_other_code)
    if spec.renderer == "cycles":
        from .cycles import bpy_python

        bpy_python()
    model = get_face_model(face_model)
    check_against_model(job, model)
    scenes = Scenes(job)
    per, n_shard = spec.per_subject, shard[1]
    mine = [i for i in range(spec.count) if (i // per) % n_shard == shard[0]]
    result.total = len(mine)
    stored = (existing or {}).get("subjects", {}).get("library_ids")
    subjects = Subjects(job, model, library_ids=stored if spec.subjects.library is not None else None)
    created = False
    try:
        created = target.make_root()
        target.remove_stray_temps(mine, names)
        done = target.complete(mine, spec.layers, names)
        todo = [i for i in mine if i not in done]
        result.skipped = len(mine) - len(todo)
        if limit is not None:
            todo = todo[:limit]
        if existing is None:
            staging = Staging(target, spec.layers)
            try:
                atomic_write_json(staging.folder / MANIFEST, json_safe(loop._manifest(job, subjects.library_ids, model)))
                staging.put(MANIFEST)
            finally:
                staging.close()
        if progress:
            progress(result.skipped, result.total, "")
        if todo:
            options = {"workers": workers, "face_model": face_model} if workers > 1 else {}
            render_to_target(loop._render, target, job, model, subjects, todo, result, progress, scenes, **options)
    except BaseException:
        if created:
            target.remove_root_if_empty()
        raise
    finally:
        subjects.close()
    all_images = range(spec.count)
    result.complete = len(target.complete(all_images, spec.layers)) == spec.count
    if result.complete:
        records = target.read_many([f"{stem(i)}.json" for i in all_images])
        try:
            parsed = [json.loads(records[f"{stem(i)}.json"].decode("utf-8")) for i in all_images]
        except (KeyError, ValueError) as exc:
            raise OutputError(f"an image record in {target.url} does not parse ({exc}); delete it and rerun the "
                              "data set to rewrite it") from exc
        staging = Staging(target, spec.layers)
        try:
            write_compact_json(staging.folder / COCO_FILE, build_coco(parsed, f"assetgen data set {job.name} ({job.id})"))
            staging.put(COCO_FILE)
        finally:
            staging.close()
    result.seconds = time.perf_counter() - t0
    return result


def check_url(url: str) -> Target:
    """The target of `--out URL`, its protocol checked (before anything is rendered)."""
    return Target(url)


# ---- reading a set at a URL (validate, preview) ---------------------------------------------------------

def local_copy(url: str, names=None) -> tuple[Path, Target]:
    """A temporary local folder holding the set's files at `url` (all of them, or `names`); the caller
    removes it. file:// URLs are read in place."""
    target = Target(url)
    if not target.exists():
        raise InputError(f"data set {url} does not exist")
    folder = Path(tempfile.mkdtemp(prefix="assetgen-read-"))
    wanted = sorted(n for n in target.names() if not n.startswith(".")) if names is None else sorted(names)
    for name, data in target.read_many(wanted).items():
        (folder / name).write_bytes(data)
    return folder, target


def preview_picks(target: Target, n: int) -> set[str]:
    """The files preview() reads for a sheet of `n` images (its picks: records spread evenly, their rgb and
    seg), so a preview of a set at a URL fetches only those."""
    import numpy as np

    names = target.names()
    records = sorted(name for name in names if _RECORD.match(name))
    if not records:
        raise InputError(f"{target.url} holds no data-set images (no 000000.json ...); make them with "
                         "`assetgen dataset`")
    picks = {records[int(k)] for k in np.linspace(0, len(records) - 1, min(max(n, 1), len(records)))}
    return {f for rec in picks for f in (rec, f"{rec[:6]}.png", f"{rec[:6]}_seg.png")} & names
