"""Download the public ICT-FaceKit repository archive and import it into the user cache.

Checksum policy (an archive is only extracted after its sha256 matched an expected digest):

1. `sha256=` (the CLI's --sha256) wins when given;
2. else ARCHIVE_SHA256 below, for the default ARCHIVE_URL, once someone has verified and pinned it;
3. else a digest pinned for that URL in CACHE/face-models/pins.json by an earlier successful fetch;
4. else, with `trust_on_first_use=True` (--trust-on-first-use), the digest of what arrives is accepted and
   pinned, so any later download of the same URL must match it (like ssh's known_hosts);
5. else the download stops with a DownloadError that prints the archive's digest and asks for --sha256 or
   --trust-on-first-use. That archive is kept as CACHE/downloads/<its sha256>.zip, so the re-run with
   `--sha256 <that digest>` does not download it again (it is re-hashed before use; nothing else reads it).

A mismatch deletes the download and names both digests. GitHub builds /archive/<commit>.zip on demand; if
it ever changes its zip encoder the digest changes though the files do not. Then verify the new archive
and re-run with --sha256 NEW (which also replaces the pin).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable

from ..errors import DownloadError, InputError, OutputError
from ..io import atomic_write_json
from . import ict
from .importer import FACEX_FOLDER, find_facex_folder, import_ict_facekit

ARCHIVE_COMMIT = "da5f95a607f5e6b37755b38d3385d7f2853732e5"
ARCHIVE_URL = f"https://github.com/ICT-VGL/ICT-FaceKit/archive/{ARCHIVE_COMMIT}.zip"
# None: not pinned yet (no one here has downloaded and verified it); see the policy above.
ARCHIVE_SHA256: str | None = None

DEFAULT_TIMEOUT_S = 60.0
MAX_DOWNLOAD_BYTES = 2 << 30  # the archive is a few hundred MB; anything far larger is not it
MAX_EXTRACT_BYTES = 4 << 30  # total uncompressed size of what we extract (zip-bomb guard)
MAX_MEMBERS = 50_000
CHUNK = 1 << 20
USER_AGENT = "assetgen-face-fetch/0.1 (+https://github.com/ICT-VGL/ICT-FaceKit)"

# progress(done, total or None, what): bytes while downloading ("download"), then OBJ counts while importing.
FetchProgress = Callable[[int, "int | None", str], None]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


# ---- paths and pins -----------------------------------------------------------------------------
def _cache_root(cache_dir: str | Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    from ..paths import cache_root as default_cache_dir  # honours ASSETGEN_CACHE / XDG_CACHE_HOME

    return default_cache_dir()


def pins_path(cache_dir: str | Path | None = None) -> Path:
    return _cache_root(cache_dir) / "face-models" / "pins.json"


def downloads_dir(cache_dir: str | Path | None = None) -> Path:
    return _cache_root(cache_dir) / "downloads"


def read_pins(cache_dir: str | Path | None = None) -> dict[str, str]:
    path = pins_path(cache_dir)
    try:
        pins = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        raise DownloadError(f"cannot read the checksum pins {path} ({exc}); fix or delete that file") from exc
    if not isinstance(pins, dict):
        raise DownloadError(f"{path} is not a JSON object of url -> sha256; fix or delete that file")
    return {str(k): str(v) for k, v in pins.items()}


def _record_pin(url: str, digest: str, cache_dir: str | Path | None) -> None:
    pins = read_pins(cache_dir)
    if pins.get(url) == digest:
        return
    pins[url] = digest
    pins_path(cache_dir).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(pins_path(cache_dir), pins)


def normalize_sha256(value: str) -> str:
    digest = value.strip().lower()
    if digest.startswith("sha256:"):
        digest = digest[len("sha256:"):]
    if not _HEX64.match(digest):
        raise InputError(f"--sha256 must be 64 hexadecimal digits, got {value!r}")
    return digest


def check_url(url: str) -> str:
    """`url` if it is an http(s) URL with a host or a file URL with a path; InputError otherwise (checked
    before any network or file work)."""
    from urllib.parse import urlsplit

    if not isinstance(url, str) or not url:
        raise InputError("--url is empty; give an http(s):// or file:// URL of the ICT-FaceKit archive")
    bad = next((ch for ch in url if ord(ch) <= 32 or 127 <= ord(ch) <= 159), None)
    if bad is not None:
        raise InputError(
            f"--url {url!r} contains a space or control character ({bad!r}); percent-encode it (%20 for a space)"
        )
    if not url.isascii():
        raise InputError(f"--url {url!r} contains non-ASCII characters; percent-encode them")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
    except ValueError as exc:
        raise InputError(f"--url {url!r} is not a valid URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise InputError(
            f"--url {url!r} has {'scheme ' + repr(scheme) if scheme else 'no scheme'}; use http://, https:// or file://"
        )
    if scheme in ("http", "https") and not parts.hostname:
        raise InputError(f"--url {url!r} has no host; write it as {scheme}://HOST/PATH")
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InputError(f"--url {url!r} names host {parts.netloc!r}; a file URL is file:///ABSOLUTE/PATH")
        if not parts.path.startswith("/") or parts.path == "/":
            raise InputError(f"--url {url!r} has no file path; a file URL is file:///ABSOLUTE/PATH")
    return url


def check_timeout(timeout) -> float:
    """`timeout` as a float if it is a finite number of seconds > 0; InputError otherwise."""
    import math

    try:
        value = float(timeout)
    except (TypeError, ValueError) as exc:
        raise InputError(f"--timeout must be a number of seconds, got {timeout!r}") from exc
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"--timeout must be a finite number of seconds > 0, got {timeout!r}")
    return value


def expected_digest(url: str, sha256: str | None, cache_dir: str | Path | None = None) -> tuple[str | None, str]:
    """(digest or None, where it came from) following the policy in the module docstring."""
    if sha256:
        return normalize_sha256(sha256), "given with --sha256"
    if url == ARCHIVE_URL and ARCHIVE_SHA256:
        return ARCHIVE_SHA256, "pinned in assetgen.face.fetch.ARCHIVE_SHA256"
    pinned = read_pins(cache_dir).get(url)
    if pinned:
        return normalize_sha256(pinned), f"pinned by an earlier fetch in {pins_path(cache_dir)}"
    return None, "unknown"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


# ---- download ---------------------------------------------------------------------------------
def download(
    url: str,
    dest_dir: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    progress: FetchProgress | None = None,
) -> tuple[Path, str]:
    """Stream `url` into a temporary file in dest_dir, hashing on the way. Returns (path, sha256 hex).
    The caller owns (and must delete) the file; on any error it is already gone."""
    check_url(url)
    timeout = check_timeout(timeout)
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=dest_dir)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _stream(url, out, timeout, max_bytes, progress)
        return tmp, digest
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _stream(url, out, timeout, max_bytes, progress) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    h = hashlib.sha256()
    done = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            total = _content_length(resp)
            if total is not None and total > max_bytes:
                raise DownloadError(f"{url} is {total:,} bytes, over the {max_bytes:,}-byte limit; is the URL right?")
            while block := resp.read(CHUNK):
                done += len(block)
                if done > max_bytes:
                    raise DownloadError(f"{url} sent more than {max_bytes:,} bytes; stopped (is the URL right?)")
                h.update(block)
                out.write(block)
                if progress is not None:
                    progress(done, total, "download")
            if total is not None and done != total:
                raise DownloadError(f"download of {url} ended after {done:,} of {total:,} bytes; try again")
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{url} answered HTTP {exc.code} {exc.reason}; check the URL (--url)") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (TimeoutError, socket.timeout)):
            raise DownloadError(
                f"connecting to {url} timed out after {timeout:g} s; try again or raise --timeout"
            ) from exc
        raise DownloadError(
            f"cannot reach {url} ({exc.reason}); are you offline? Without a network, clone or copy "
            f"{ict.PUBLIC_REPOSITORY} elsewhere and run `assetgen face-model import CLONE`"
        ) from exc
    except (TimeoutError, socket.timeout) as exc:
        raise DownloadError(f"download of {url} stalled for {timeout:g} s after {done:,} bytes; try again") from exc
    except (ConnectionError, http.client.HTTPException) as exc:
        raise DownloadError(f"connection to {url} broke after {done:,} bytes ({exc!r}); try again") from exc
    except OSError as exc:
        # Writing the temporary file failed (disk full, permissions): the cache location is the problem.
        raise OutputError(f"cannot store the download of {url}: {exc.strerror or exc}; set ASSETGEN_CACHE") from exc
    return h.hexdigest()


def _content_length(resp) -> int | None:
    value = resp.headers.get("Content-Length") if getattr(resp, "headers", None) is not None else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# ---- safe extraction ----------------------------------------------------------------------------
def _member_path(name: str) -> PurePosixPath:
    """The member's relative path, or DownloadError if it could land outside the extraction folder."""
    unified = name.replace("\\", "/")
    path = PurePosixPath(unified)
    if unified.startswith("/") or re.match(r"^[A-Za-z]:", unified) or ".." in path.parts:
        raise DownloadError(
            f"archive member {name!r} would be written outside the extraction folder; refusing to extract "
            "this archive (it is not the ICT-FaceKit archive)"
        )
    return path


def _wanted(path: PurePosixPath) -> bool:
    """Only what the importer reads: FaceXModel/* and the LICENSE, at the root or under one top folder."""
    parts = path.parts
    for top in (0, 1):
        rest = parts[top:]
        if len(rest) == 2 and rest[0] == FACEX_FOLDER:
            return True
        if rest == ("LICENSE",):
            return True
    return False


def safe_extract(archive: Path, dest: Path, *, max_total: int = MAX_EXTRACT_BYTES) -> None:
    """Extract the needed members of `archive` into `dest`, after checking every member's name, type and
    the total size. Raises DownloadError for an unsafe or broken archive."""
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise DownloadError(f"archive has {len(infos):,} members, over the {MAX_MEMBERS:,} limit; refusing it")
            chosen = []
            for info in infos:
                path = _member_path(info.filename)
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise DownloadError(f"archive member {info.filename!r} is a symbolic link; refusing this archive")
                if not info.is_dir() and _wanted(path):
                    chosen.append((info, path))
            total = sum(info.file_size for info, _ in chosen)
            if total > max_total:
                raise DownloadError(
                    f"archive would unpack to {total:,} bytes, over the {max_total:,}-byte limit; refusing it"
                )
            budget = max_total
            for info, path in chosen:
                budget = _extract_member(zf, info, dest / Path(*path.parts), budget)
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{archive} is not a valid zip archive ({exc}); the download is corrupt") from exc
    except (zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise DownloadError(f"cannot unpack {archive} ({exc})") from exc


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL | O_NOFOLLOW: never write through something already there (a link planted by a duplicate name).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except FileExistsError as exc:
        raise DownloadError(f"archive lists {info.filename!r} twice; refusing this archive") from exc
    with zf.open(info) as src, os.fdopen(fd, "wb") as out:
        # Count real bytes too: the header's size is what the limit was checked against.
        while block := src.read(CHUNK):
            budget -= len(block)
            if budget < 0:
                raise DownloadError("archive unpacks to more than its headers claim; refusing it (zip bomb?)")
            out.write(block)
    return budget


def _clone_root(extracted: Path) -> Path:
    """GitHub archives hold one top folder (ICT-FaceKit-<commit>/); accept that or a flat layout."""
    candidates = [extracted] + sorted(p for p in extracted.iterdir() if p.is_dir())
    for folder in candidates:
        if (folder / FACEX_FOLDER / ict.NEUTRAL_OBJ).is_file():
            return folder
    return find_facex_folder(extracted)  # raises the importer's clear "not an ICT-FaceKit clone" error


# ---- the whole fetch ----------------------------------------------------------------------------
def fetch_face_model(
    url: str = ARCHIVE_URL,
    sha256: str | None = None,
    out_dir: str | Path | None = None,
    *,
    trust_on_first_use: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: FetchProgress | None = None,
    cache_dir: str | Path | None = None,
) -> Path:
    """Download the ICT-FaceKit archive at `url`, verify its sha256 (policy: module docstring), extract it
    safely and import it into `out_dir` (default: the user cache's face-models/ict-facekit). Returns out_dir.

    cache_dir: root for pins.json and downloads/ (default: assetgen's cache folder).
    """
    check_url(url)
    timeout = check_timeout(timeout)
    if out_dir is None:
        from ..paths import face_model_dir as user_model_dir

        out_dir = user_model_dir(cache_dir)
    out_dir = Path(out_dir).expanduser()
    expected, origin = expected_digest(url, sha256, cache_dir)
    ddir = downloads_dir(cache_dir)
    archive, actual = _cached_archive(ddir, expected)
    if archive is None:
        archive, actual = download(url, ddir, timeout=timeout, progress=progress)
    try:
        if expected is not None and actual != expected:
            raise DownloadError(
                f"checksum mismatch for {url}: expected sha256 {expected} ({origin}), got {actual}. The download "
                "is corrupt or the archive changed; the file was deleted. If you verified the new archive, "
                f"re-run with --sha256 {actual}"
            )
        if expected is None and not trust_on_first_use:
            kept = _keep_unverified(archive, ddir, actual)
            archive = None  # kept on purpose, see the policy
            raise DownloadError(
                f"no checksum is known for {url}; the downloaded archive has sha256 {actual}. Compare it with a "
                f"trusted source, then re-run with --sha256 {actual} (it reuses {kept}), or pass "
                "--trust-on-first-use to accept and pin it"
            )
        _extract_and_import(archive, ddir, out_dir, progress)
        _record_pin(url, actual, cache_dir)
    finally:
        if archive is not None:
            archive.unlink(missing_ok=True)
    return out_dir


def _cached_archive(ddir: Path, expected: str | None) -> tuple[Path | None, str | None]:
    """A kept download whose content has the expected digest (re-hashed, not trusted by name)."""
    if expected is None:
        return None, None
    kept = ddir / f"{expected}.zip"
    if not kept.is_file():
        return None, None
    return kept, file_sha256(kept)


def _keep_unverified(archive: Path, ddir: Path, digest: str) -> Path:
    kept = ddir / f"{digest}.zip"
    if archive != kept:
        os.replace(archive, kept)
    return kept


def _extract_and_import(archive: Path, ddir: Path, out_dir: Path, progress: FetchProgress | None) -> None:
    work = Path(tempfile.mkdtemp(prefix=".extract-", dir=ddir))
    try:
        safe_extract(archive, work)
        root = _clone_root(work)
        import_ict_facekit(root, out_dir, progress=progress)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
