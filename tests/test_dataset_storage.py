"""`assetgen dataset JOB --out URL` (dataset/storage.py): a set written to memory:// and file:// URLs has a local
run's bytes; an image cut mid-upload (its record missing) is the one image a rerun writes again; a bad URL or
a protocol whose package is missing is one line and exit 2 with nothing written; validate and preview read
a URL; `--ray` workers upload to a file:// URL. No network: memory:// and file:// only. Small images (64 px)."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import pytest
import yaml

from assetgen.cli import main
from assetgen.dataset import job_from_dict, run_dataset, storage
from assetgen.errors import ConfigError
from tests.test_dataset import BASE, job  # two bald subjects of two images each, 64 px


def local_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def url_files(url: str) -> dict[str, bytes]:
    fs, root = fsspec.core.url_to_fs(url)
    return {p.rsplit("/", 1)[-1]: fs.cat_file(p) for p in fs.ls(root, detail=False)}


@pytest.fixture
def memory_url():
    """A fresh memory:// folder, removed afterwards (the memory file system lives as long as the process)."""
    url = f"memory://assetgen-test-{uuid.uuid4().hex[:8]}"
    yield url
    fs, root = fsspec.core.url_to_fs(url)
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture(scope="module")
def local(tmp_path_factory, face_model):
    """The base job made by a plain local run: the bytes every URL run must write."""
    out = tmp_path_factory.mktemp("local") / "set"
    result = run_dataset(job(), out)
    assert result.complete and result.made == [0, 1, 2, 3]
    return out


def copy_to(url: str, files: dict[str, bytes]) -> None:
    fs, root = fsspec.core.url_to_fs(url)
    fs.makedirs(root, exist_ok=True)
    for name, data in files.items():
        fs.pipe_file(f"{root}/{name}", data)


def test_memory_and_file_urls_hold_the_local_runs_bytes(local, memory_url, tmp_path, monkeypatch):
    import tempfile

    staging = tmp_path / "tmp"
    staging.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(staging))  # where the staging folders go
    result = run_dataset(job(), memory_url)
    assert result.made == [0, 1, 2, 3] and result.complete
    assert url_files(memory_url) == local_files(local)  # images, records, dataset.json, coco_keypoints.json
    file_url = (tmp_path / "viafile").as_uri()
    assert file_url.startswith("file:///")
    assert run_dataset(job(), file_url).complete
    assert local_files(tmp_path / "viafile") == local_files(local)
    again = run_dataset(job(), memory_url)
    assert again.made == [] and again.skipped == 4 and again.complete
    assert list(staging.iterdir()) == []  # the staging folders are removed


def test_worker_processes_render_into_the_staging_folder_and_this_process_uploads(local, memory_url):
    """run_dataset's workers=2 to memory:// (a file system only this process sees): the workers write into
    the local staging folder, the uploads happen here."""
    result = run_dataset(job(), memory_url, workers=2)
    assert result.made == [0, 1, 2, 3] and result.complete
    assert url_files(memory_url) == local_files(local)


def test_a_cli_run_to_a_url_then_validate_and_preview_read_it(local, memory_url, tmp_path, capsys):
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(BASE))
    assert main(["dataset", str(path), "--out", memory_url]) == 0
    assert memory_url in capsys.readouterr().out
    assert url_files(memory_url) == local_files(local)
    assert main(["dataset", "validate", memory_url]) == 0
    assert main(["dataset", "preview", memory_url, "--tile", "64"]) == 0
    sheet = url_files(memory_url)["preview.png"]
    assert sheet.startswith(b"\x89PNG")
    fs, root = fsspec.core.url_to_fs(memory_url)
    fs.pipe_file(f"{root}/000002_ldmks.txt", b"1 2\n")
    fs.rm_file(f"{root}/000001_seg.png")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["dataset", "validate", memory_url])
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert f"{memory_url}/000002_ldmks.txt" in out and "000001_seg.png" in out


def test_a_partially_uploaded_image_is_the_one_a_rerun_writes(local, tmp_path, monkeypatch):
    """Image 1's files reached the target but not its record (the run was killed between them), and a cut
    upload left a temporary file: the rerun uploads image 1's files and the COCO file, nothing else."""
    url = (tmp_path / "resumed").as_uri()
    files = local_files(local)
    del files["000001.json"], files["coco_keypoints.json"]
    files["000001.png"] = b"half a png"
    files[".000002.png.abc123.tmp"] = b"a cut upload"
    copy_to(url, files)
    uploaded: list[str] = []
    upload = storage.Target.upload
    monkeypatch.setattr(storage.Target, "upload", lambda self, src, name: (uploaded.append(name), upload(self, src, name)))
    result = run_dataset(job(), url)
    assert result.made == [1] and result.skipped == 3 and result.complete
    assert local_files(tmp_path / "resumed") == local_files(local)  # the temporary file is gone too
    assert uploaded[-2:] == ["000001.json", "coco_keypoints.json"]  # the record after the image's files
    assert sorted(uploaded) == sorted(["coco_keypoints.json"] + [n for n in local_files(local) if n.startswith("000001")])


def test_a_run_cut_mid_upload_resumes_to_the_same_bytes(local, memory_url, monkeypatch):
    """The connection drops in the middle of image 2's files: images 0 and 1 are complete on the target,
    image 2 has no record; the rerun makes exactly images 2 and 3."""
    upload = storage.Target.upload
    calls = []

    def flaky(self, src, name):
        calls.append(name)
        if name == "000002_seg.png":
            raise OSError("connection reset")
        upload(self, src, name)

    monkeypatch.setattr(storage.Target, "upload", flaky)
    with pytest.raises(OSError):
        run_dataset(job(), memory_url)
    partial = url_files(memory_url)
    assert "000001.json" in partial and "000002.png" in partial and "000002.json" not in partial
    monkeypatch.setattr(storage.Target, "upload", upload)
    result = run_dataset(job(), memory_url)
    assert result.made == [2, 3] and result.skipped == 2 and result.complete
    assert url_files(memory_url) == local_files(local)


@pytest.fixture
def missing_package(monkeypatch):
    """A protocol whose implementation lives in a package that is not installed (as s3:// without s3fs)."""
    from fsspec.registry import known_implementations

    monkeypatch.setitem(known_implementations, "nopkg",
                        {"class": "assetgen_no_such_fs.FileSystem", "err": "Install assetgen_no_such_fs"})


@pytest.mark.parametrize("url, words", [
    ("nosuchproto://bucket/set", ["nosuchproto"]),
    ("nopkg://bucket/set", ["nopkg://", "pip install assetgen_no_such_fs"]),
    ("memory://", ["names no folder"]),
])
def test_a_bad_url_is_one_line_and_exit_2_before_anything_is_rendered(url, words, tmp_path, capsys, monkeypatch,
                                                                      missing_package):
    from assetgen.dataset import run

    monkeypatch.setattr(run, "_render", lambda *a, **k: pytest.fail("rendered for a bad URL"))
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(BASE))
    memory = fsspec.filesystem("memory")
    before = set(memory.store)
    assert main(["dataset", str(path), "--out", url]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(w in err[0] for w in words), err
    assert set(memory.store) == before and list(tmp_path.iterdir()) == [path]


def test_the_s3_protocol_without_s3fs_names_the_package(monkeypatch):
    """s3:// is refused by name when s3fs cannot be imported (hidden here, installed or not)."""
    import sys

    monkeypatch.setitem(sys.modules, "s3fs", None)
    from fsspec.registry import _registry

    monkeypatch.delitem(_registry, "s3", raising=False)
    with pytest.raises(ConfigError, match=r"s3:// protocol .*pip install s3fs") as err:
        storage.check_url("s3://bucket/set")
    assert "\n" not in str(err.value)


def test_a_failed_run_to_a_new_file_url_leaves_no_folder(tmp_path):
    from assetgen.errors import FaceModelError

    url = (tmp_path / "new" / "set").as_uri()
    with pytest.raises(FaceModelError):
        run_dataset(job(), url, face_model=tmp_path / "no-model")
    assert not (tmp_path / "new").exists()


def test_a_url_holding_another_job_is_refused(local, memory_url):
    from assetgen.errors import OutputError

    copy_to(memory_url, {"dataset.json": (local / "dataset.json").read_bytes()})
    with pytest.raises(OutputError, match="another job"):
        run_dataset(job_from_dict({**BASE, "seed": 8}, source="job.yaml"), memory_url)
    assert set(url_files(memory_url)) == {"dataset.json"}


def test_a_url_holding_a_set_begun_by_other_code_is_refused(local, memory_url):
    import json

    from assetgen.errors import OutputError

    manifest = {**json.loads((local / "dataset.json").read_text()), "made_by": {"version": "0", "code": "f" * 16}}
    copy_to(memory_url, {"dataset.json": json.dumps(manifest).encode()})
    with pytest.raises(OutputError, match="f{16}.*--allow-other-code"):
        run_dataset(job(), memory_url)
    assert set(url_files(memory_url)) == {"dataset.json"}


def test_only_protocol_urls_take_the_fsspec_path(tmp_path):
    assert storage.is_url("s3://b/x") and storage.is_url("file:///x") and storage.is_url("memory://x")
    assert not storage.is_url(str(tmp_path)) and not storage.is_url("out/faces") and not storage.is_url(tmp_path)
    assert not storage.is_url("out/s3:/x") and not storage.is_url("C:\\data\\set")
    from assetgen.dataset import run

    assert storage.MANIFEST == run.MANIFEST


# ---- Ray: the workers upload ---------------------------------------------------------------------------

@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ray_workers_upload_to_a_file_url_and_resume_it(tmp_path, ray_env, capsys):
    """A set cut after image 0 and image 1's files (no record) is finished by `--ray` tasks uploading to a
    file:// URL: images 1-3 made, image 0 kept, the bytes of a plain one-thread run (as a 1-CPU Ray task)."""
    import os
    import subprocess
    import sys

    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(BASE))
    reference = tmp_path / "reference"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "assetgen", "dataset", str(path), "--out", str(reference)],
                          cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    ref = local_files(reference)
    url = (tmp_path / "set").as_uri()
    copy_to(url, {n: d for n, d in ref.items() if n == "dataset.json" or (n.startswith("00000") and n[5] in "01"
                                                                            and n != "000001.json")})
    assert main(["dataset", str(path), "--out", url, "--ray", "--logs", str(tmp_path / "logs")]) == 0
    err = capsys.readouterr().err
    assert "made 3, already there 1 of 4" in err, err
    assert local_files(tmp_path / "set") == ref
    assert main(["dataset", "validate", url]) == 0
