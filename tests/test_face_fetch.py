"""Fetching the face-model archive, against a real HTTP server on 127.0.0.1 only."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import socket
import stat
import threading
import time
import zipfile
from pathlib import Path

import pytest

from assetgen.errors import DownloadError, InputError
from assetgen.face import ict, load_face_model
from assetgen.face import fetch as F

try:
    from .test_face_import import make_clone
except ImportError:  # tests/ run as plain folder rather than a package
    from test_face_import import make_clone

pytestmark = pytest.mark.network


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch, tmp_path):
    # urllib honours *_proxy variables; with them a request for 127.0.0.1 could leave this machine.
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("ASSETGEN_CACHE", str(tmp_path / "cache"))


class Server:
    """http.server on 127.0.0.1:<free port>, serving path -> (status, bytes) from a dict, counting hits."""

    def __init__(self):
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.hits: list[str] = []
        self.delay = 0.0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits.append(self.path)
                if outer.delay:
                    time.sleep(outer.delay)
                status, body = outer.routes.get(self.path, (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def zip_of_clone(tmp_path: Path, top: str = "ICT-FaceKit-da5f95a") -> bytes:
    clone = make_clone(tmp_path / "src" / top)
    (clone / "README.md").write_text("not needed by the importer")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{top}/", b"")
        for p in sorted(clone.rglob("*")):
            if p.is_file():
                zf.write(p, f"{top}/{p.relative_to(clone).as_posix()}")
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_files(tmp_path: Path) -> list[str]:
    root = tmp_path / "cache"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ---- success -----------------------------------------------------------------------------------
def test_fetch_with_sha256_imports_and_pins(tmp_path, server):
    data = zip_of_clone(tmp_path)
    server.routes["/a.zip"] = (200, data)
    seen = []
    out = F.fetch_face_model(server.url("/a.zip"), sha(data), tmp_path / "model", progress=lambda *a: seen.append(a))
    model = load_face_model(out)
    assert model.n_identity == 3 and model.expression_names == ("PupilDilate_L", "jawOpen")
    assert seen[0][2] == "download" and seen[-1][:2] == (5, 5)
    assert json.loads((tmp_path / "cache/face-models/pins.json").read_text()) == {server.url("/a.zip"): sha(data)}
    # The archive and the extraction folder are gone; only the pin stays.
    assert cache_files(tmp_path) == ["face-models/pins.json"]
    assert [p.name for p in (tmp_path / "cache/downloads").iterdir()] == []


def test_default_out_is_the_user_cache(tmp_path, server):
    data = zip_of_clone(tmp_path)
    server.routes["/a.zip"] = (200, data)
    out = F.fetch_face_model(server.url("/a.zip"), "SHA256:" + sha(data).upper())
    assert out == tmp_path / "cache" / "face-models" / "ict-facekit"
    assert all((out / f).is_file() for f in ict.REQUIRED_FILES)


def test_unknown_checksum_prints_digest_then_reuses_the_download(tmp_path, server):
    data = zip_of_clone(tmp_path)
    server.routes["/a.zip"] = (200, data)
    with pytest.raises(DownloadError, match=rf"no checksum is known.*sha256 {sha(data)}.*--sha256 {sha(data)}"):
        F.fetch_face_model(server.url("/a.zip"), out_dir=tmp_path / "model")
    assert not (tmp_path / "model").exists()
    assert cache_files(tmp_path) == [f"downloads/{sha(data)}.zip"]
    out = F.fetch_face_model(server.url("/a.zip"), sha(data), tmp_path / "model")
    assert len(server.hits) == 1  # the second run used the kept archive (after re-hashing it)
    assert load_face_model(out).n_identity == 3
    assert cache_files(tmp_path) == ["face-models/pins.json"]


def test_trust_on_first_use_pins_then_detects_a_changed_archive(tmp_path, server):
    first = zip_of_clone(tmp_path / "one")
    server.routes["/a.zip"] = (200, first)
    F.fetch_face_model(server.url("/a.zip"), out_dir=tmp_path / "model", trust_on_first_use=True)
    before = (tmp_path / "model" / ict.SHAPE_MODES).read_bytes()
    changed = first + b"\0"  # still a readable zip, but not the archive that was pinned
    server.routes["/a.zip"] = (200, changed)
    with pytest.raises(DownloadError, match=rf"expected sha256 {sha(first)} \(pinned.*got {sha(changed)}"):
        F.fetch_face_model(server.url("/a.zip"), out_dir=tmp_path / "model", trust_on_first_use=True)
    assert (tmp_path / "model" / ict.SHAPE_MODES).read_bytes() == before


def test_file_url_works_offline(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_of_clone(tmp_path))
    out = F.fetch_face_model(archive.as_uri(), sha(archive.read_bytes()), tmp_path / "model")
    assert load_face_model(out).n_vertices == 16


# ---- failures ----------------------------------------------------------------------------------
def test_checksum_mismatch_leaves_nothing_behind(tmp_path, server):
    data = zip_of_clone(tmp_path)
    server.routes["/a.zip"] = (200, data)
    wrong = "0" * 64
    with pytest.raises(DownloadError, match=rf"checksum mismatch.*expected sha256 {wrong}.*got {sha(data)}"):
        F.fetch_face_model(server.url("/a.zip"), wrong, tmp_path / "model")
    assert not (tmp_path / "model").exists()
    assert cache_files(tmp_path) == []


def test_http_404_is_a_download_error(tmp_path, server):
    with pytest.raises(DownloadError, match=r"HTTP 404"):
        F.fetch_face_model(server.url("/missing.zip"), "a" * 64, tmp_path / "model")
    assert cache_files(tmp_path) == []


def test_unreachable_server_says_offline(tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match=r"cannot reach .*offline.*face-model import"):
        F.fetch_face_model(f"http://127.0.0.1:{port}/a.zip", "a" * 64, tmp_path / "model", timeout=5)


def test_slow_server_times_out(tmp_path, server):
    server.routes["/a.zip"] = (200, b"x")
    server.delay = 1.5
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match=r"timed out|stalled"):
        F.fetch_face_model(server.url("/a.zip"), "a" * 64, tmp_path / "model", timeout=0.3)
    assert time.monotonic() - t0 < 1.4
    assert cache_files(tmp_path) == []


def test_bad_sha256_argument():
    with pytest.raises(InputError, match="64 hexadecimal"):
        F.normalize_sha256("abc")


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "top/../../evil.txt", "C:/evil.txt", "..\\evil.txt"])
def test_malicious_member_is_rejected(tmp_path, server, name):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("top/FaceXModel/generic_neutral_mesh.obj", "v 0 0 0\n")
        zf.writestr(name, "pwned")
    data = buf.getvalue()
    server.routes["/evil.zip"] = (200, data)
    with pytest.raises(DownloadError, match="outside the extraction folder"):
        F.fetch_face_model(server.url("/evil.zip"), sha(data), tmp_path / "model")
    assert not (tmp_path / "model").exists()
    assert not list(tmp_path.rglob("evil.txt"))
    assert cache_files(tmp_path) == []


def test_symlink_member_is_rejected(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("top/FaceXModel/generic_neutral_mesh.obj")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    (tmp_path / "a.zip").write_bytes(buf.getvalue())
    with pytest.raises(DownloadError, match="symbolic link"):
        F.safe_extract(tmp_path / "a.zip", tmp_path / "x")


def test_zip_bomb_limit(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("top/FaceXModel/big.obj", b"\0" * 2_000_000)  # compresses to ~2 kB
    (tmp_path / "a.zip").write_bytes(buf.getvalue())
    with pytest.raises(DownloadError, match="over the 1,000,000-byte limit"):
        F.safe_extract(tmp_path / "a.zip", tmp_path / "x", max_total=1_000_000)
    assert not (tmp_path / "x").exists()


def test_not_a_zip_and_not_a_clone(tmp_path, server):
    server.routes["/junk.zip"] = (200, b"<html>rate limited</html>")
    with pytest.raises(DownloadError, match="not a valid zip"):
        F.fetch_face_model(server.url("/junk.zip"), sha(b"<html>rate limited</html>"), tmp_path / "m")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("other-repo/README.md", "hello")
    server.routes["/other.zip"] = (200, buf.getvalue())
    with pytest.raises(Exception, match="not an ICT-FaceKit clone"):
        F.fetch_face_model(server.url("/other.zip"), sha(buf.getvalue()), tmp_path / "m")
    assert cache_files(tmp_path) == []


def test_default_constants_point_at_the_pinned_commit():
    assert F.ARCHIVE_URL == f"https://github.com/ICT-VGL/ICT-FaceKit/archive/{F.ARCHIVE_COMMIT}.zip"
    assert len(F.ARCHIVE_COMMIT) == 40 and F.ARCHIVE_COMMIT.startswith("da5f95a")
    assert F.ARCHIVE_SHA256 is None or len(F.ARCHIVE_SHA256) == 64
