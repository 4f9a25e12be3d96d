"""Batch and data-set jobs on Ray (assetgen.scale): the --ray option, library merges, a 2-node cluster on
127.0.0.1 that loses a node mid-run (a batch, a data set), and `assetgen batch --ray` and
`assetgen dataset --ray` end to end. Ray only ever listens on and connects
to 127.0.0.1 here: before any Ray start the module sets RAY_USAGE_STATS_ENABLED=0,
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 and a HOME holding ray_bootstrap_config.yaml (provider: local)."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from assetgen.batch import job_from_dict, run_batch
from assetgen.cli import main
from assetgen.cli.batch import ray_argv
from assetgen.errors import InputError
from assetgen.library import Library, LibraryError
from assetgen.library.merge import merge_bundle, merge_library, pack
from assetgen.scale.runner import check_address

REPO = Path(__file__).resolve().parents[1]
N = 6
JOB = {"name": "ray", "n": N, "recipe": "demo", "seed": 11, "resolution": 64,
       "distribution": {"lipstick": 0.5, "skin_tone": "uniform", "hair_style": "uniform"}}


def write_job(folder: Path, **extra) -> Path:
    import yaml

    path = folder / "job.yaml"
    path.write_text(yaml.safe_dump({**JOB, **extra}))
    return path


def bald_job(folder: Path, n: int = N) -> Path:
    """A job of the demo recipe without its hair section (quick assets: no groom to grow)."""
    import yaml

    recipe = yaml.safe_load((REPO / "pipelines" / "demo.yaml").read_text())
    recipe.pop("hair")
    recipe["name"] = "bald"
    (folder / "bald.yaml").write_text(yaml.safe_dump(recipe))
    return write_job(folder, n=n, recipe="bald.yaml", distribution={"lipstick": 0.5, "skin_tone": "uniform"})


def dump(root: Path) -> dict[str, list]:
    """Every catalogue row that says what an asset is (not rids or wall-clock times), keyed by asset id."""
    c = sqlite3.connect(root / "catalog.sqlite")
    try:
        join = "JOIN assets a ON a.rid = t.asset"
        return {
            "assets": sorted(c.execute("SELECT id, name, kind, parent, job_id, job_index, seed, model_fingerprint, "
                                       "identity_id, texture_set, record, sflags, stone, seye FROM assets")),
            "labels": sorted(c.execute(f"SELECT a.id, key, value, flag, num FROM labels t {join}")),
            "tags": sorted(c.execute(f"SELECT a.id, tag FROM tags t {join}")),
            "blobs": sorted(c.execute(f"SELECT a.id, role, sha FROM asset_blobs t {join}")),
            "identities": sorted(c.execute("SELECT * FROM identities")),
            "texture_sets": sorted(c.execute("SELECT * FROM texture_sets")),
        }
    finally:
        c.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The job made by the plain `assetgen batch` runner, in one process: what Ray must reproduce."""
    root = tmp_path_factory.mktemp("reference") / "lib"
    assert len(run_batch(job_from_dict(JOB), library=root).made) == N
    return root


def test_ray_option_and_addresses():
    assert ray_argv(["job.yaml", "--ray"]) == ["job.yaml", "--ray=local"]
    assert ray_argv(["--ray", "demo", "--limit", "2"]) == ["--ray=local", "demo", "--limit", "2"]
    assert ray_argv(["demo", "--ray", "--limit", "2"]) == ["demo", "--ray=local", "--limit", "2"]
    assert ray_argv(["demo", "--ray", "10.0.0.5:6379"]) == ["demo", "--ray", "10.0.0.5:6379"]
    assert ray_argv(["demo", "--ray", "ray://head:10001"]) == ["demo", "--ray", "ray://head:10001"]
    assert ray_argv(["demo", "--ray", "auto"]) == ["demo", "--ray", "auto"]
    for good in ("local", "auto", "127.0.0.1:6379", "ray://head.example:10001", None):
        assert check_address(good) == good
    for bad in ("", "head", "http://x:1", "a b:1"):
        with pytest.raises(InputError, match="--ray"):
            check_address(bad)


def test_bad_ray_options_are_one_line_errors(tmp_path, ray_env, capsys):
    job = write_job(tmp_path, n=1)
    assert main(["batch", str(job), "--library", str(tmp_path / "lib"), "--ray=nowhere"]) == 2
    assert main(["batch", str(job), "--library", str(tmp_path / "lib"), "--logs", str(tmp_path / "logs")]) == 2
    # nothing listens on port 1: one line at once (Ray itself would wait for the cluster forever)
    assert main(["batch", str(job), "--library", str(tmp_path / "lib"), "--ray", "127.0.0.1:1",
                 "--logs", str(tmp_path / "logs")]) == 2
    err = capsys.readouterr().err
    assert "--ray 'nowhere'" in err and "--logs is for Ray runs" in err and "Traceback" not in err
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in err
    assert not (tmp_path / "lib").exists() and not (tmp_path / "logs").exists()


def test_batch_without_ray_does_not_import_ray(tmp_path):
    job = bald_job(tmp_path, n=1)
    code = ("import sys; from assetgen.cli import main; rc = main(sys.argv[1:]); "
            "print('RAY-IMPORTED' if 'ray' in sys.modules else 'NO-RAY'); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code, "batch", str(job), "--library", str(tmp_path / "lib")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "NO-RAY"
    with Library.open(tmp_path / "lib") as lib:
        assert lib.count() == 1


def test_merge_is_idempotent_and_checks_what_it_merges(tmp_path, reference):
    src = Library.open(reference, readonly=True)
    dst = Library.open(tmp_path / "dst", create=True)
    try:
        first = pack(src, src.query()[:2])
        assert len(first.assets) == 2 and first.nbytes > 0
        res = merge_bundle(dst, first)
        assert len(res.created) == 2 and res.present == []
        again = merge_library(dst, src)  # the two already there are left out, the rest added
        assert len(again.created) == N - 2 and len(again.present) == 2
        assert merge_library(dst, src).created == []
        assert dst.count() == N and dst.check() == []
        assert dump(tmp_path / "dst") == dump(reference)
        # damage is refused before anything is written: a raw blob, an image (by the digest of its bytes
        # taken where it was packed, or, without one, by decoding it)
        fresh = Library.open(tmp_path / "fresh", create=True)
        bundle = pack(src, src.query()[:1])
        image = sorted(bundle.digests)[0]
        raw = sorted(set(bundle.blobs) - set(bundle.digests))[0]
        for sha, drop_digests, why in ((raw, False, "hashes to"), (image, False, "changed after it was packed"),
                                       (image, True, "damaged PNG")):
            bundle = pack(src, src.query()[:1])
            bundle.blobs[sha] = bundle.blobs[sha][:-5] + bytes([bundle.blobs[sha][-5] ^ 1]) + bundle.blobs[sha][-4:]
            if drop_digests:
                bundle.digests.clear()
            with pytest.raises(LibraryError, match=why):
                merge_bundle(fresh, bundle)
        bundle = pack(src, src.query()[:1])
        bundle.assets[0]["record"] = bundle.assets[0]["record"].replace('"name":"ray_', '"name":"raz_')
        with pytest.raises(LibraryError, match="does not hash to its id"):
            merge_bundle(fresh, bundle)
        assert fresh.count() == 0 and not any(p.is_file() for p in (tmp_path / "fresh" / "blobs").glob("*/*"))
        fresh.close()
    finally:
        src.close()
        dst.close()


@contextlib.contextmanager
def cluster_losing_its_worker():
    """A head and a worker node of 1 CPU each on 127.0.0.1 that notice a dead node within about a second
    (default: tens of seconds), and an on_poll callback that removes the worker node, ungracefully, the first
    time the driver sees a task running on it (whatever has finished by then: waiting for a finished task
    as well lost the race where the worker's only task ended with the head's first one). Yields (cluster,
    the head's node id, the callback, killed: [the number of finished tasks when the worker was removed])."""
    from ray.cluster_utils import Cluster

    health = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500, "health_check_failure_threshold": 2}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False,
                                                            "_system_config": health})
    try:
        assert cluster.address.startswith("127.0.0.1:")
        worker = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        killed = []

        def kill_when_busy(state):
            if not killed and worker.node_id in state.running.values():
                killed.append(len(state.done))
                cluster.remove_node(worker, allow_graceful=False)

        yield cluster, cluster.head_node.node_id, kill_when_busy, killed
    finally:
        cluster.shutdown()


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_cluster_loses_a_node_mid_run(tmp_path, ray_env, reference):
    from assetgen.scale.batch import run_batch_ray

    with cluster_losing_its_worker() as (cluster, head, kill_when_busy, killed):
        lib = tmp_path / "lib"
        result = run_batch_ray(job_from_dict(JOB), library=lib, address=cluster.address, chunk=1,
                               staging=tmp_path / "stage", on_poll=kill_when_busy, logs=tmp_path / "logs")
    print("\n".join(result.summary.lines("assets")))
    assert killed and killed[0] < N, "the worker node was never seen busy"
    assert len(result.made) + result.lost_race == N and result.skipped == 0
    assert result.summary.units == N and result.summary.tasks == N
    assert head in result.summary.nodes
    with Library.open(lib, readonly=True) as got:
        assert got.job_indices(result.job_id) == set(range(N))
        assert got.count() == N and got.check() == []
    assert dump(lib) == dump(reference)  # the same assets, byte for byte, as one local process makes
    assert len(list((tmp_path / "logs").glob("*.log"))) == N


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_cli_ray_local_resumes_a_batch(tmp_path, ray_env, capsys):
    job = bald_job(tmp_path)
    lib, ref = tmp_path / "lib", tmp_path / "ref"
    assert len(run_batch(job, library=ref).made) == N
    assert main(["batch", str(job), "--library", str(lib), "--limit", "2"]) == 0  # the plain runner
    capsys.readouterr()
    rc = main(["batch", str(job), "--library", str(lib), "--logs", str(tmp_path / "logs"), "--ray"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert f"made {N - 2}, already there 2" in out.err and "attempts retried" in out.err
    with Library.open(lib, readonly=True) as got:
        assert got.count() == N and got.check() == []
    assert dump(lib) == dump(ref)
    logs = sorted((tmp_path / "logs").glob("*.log"))
    assert logs and all(p.read_text().startswith("task ") for p in logs)
    assert main(["library", "check", "--library", str(lib)]) == 0


# ---- data sets on Ray ------------------------------------------------------------------------------------

# Three bald subjects of two images each, 64 px (a subject's images stay in one task: three tasks).
DATASET = {"name": "rayset", "count": 6, "seed": 5, "resolution": 64, "images_per_subject": 2,
           "subjects": {"recipe": "demo", "texture_resolution": 64, "hair": False}, "camera": {"supersample": 1}}


def dataset_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def plain_dataset(job: Path, out: Path, *extra: str) -> None:
    """`assetgen dataset JOB --out OUT` in a plain process with the machine's own BLAS thread count (a Ray task
    gets one thread: the bytes must not depend on it)."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-m", "assetgen", "dataset", str(job), "--out", str(out), *extra],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def write_dataset_job(folder: Path) -> Path:
    import yaml

    path = folder / "set.yaml"
    path.write_text(yaml.safe_dump(DATASET))
    return path


@pytest.fixture(scope="module")
def dataset_reference(tmp_path_factory):
    """The data set made by the plain `assetgen dataset` runner in one process: what Ray must reproduce."""
    folder = tmp_path_factory.mktemp("dataset-reference")
    plain_dataset(write_dataset_job(folder), folder / "set")
    assert len(list((folder / "set").glob("*_ldmks.txt"))) == 6 and (folder / "set" / "coco_keypoints.json").exists()
    return folder / "set"


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(400)
def test_dataset_cluster_loses_a_node_mid_run(tmp_path, ray_env, dataset_reference):
    from assetgen.dataset import job_from_dict as dataset_job
    from assetgen.dataset.validate import validate
    from assetgen.scale.dataset import run_dataset_ray

    with cluster_losing_its_worker() as (cluster, head, kill_when_busy, killed):
        out = tmp_path / "set"
        result = run_dataset_ray(dataset_job(DATASET), out, address=cluster.address, chunk=1, on_poll=kill_when_busy,
                                 logs=tmp_path / "logs")
    print("\n".join(result.summary.lines("images")))
    assert killed and killed[0] < 3, "the worker node was never seen busy"
    assert result.made == list(range(6)) and result.skipped == 0 and result.complete
    assert result.summary.units == 6 and result.summary.tasks == 3 and head in result.summary.nodes
    assert validate(out) == []
    assert dataset_files(out) == dataset_files(dataset_reference)  # exactly the images, byte for byte
    assert len(list((tmp_path / "logs").glob("*.log"))) == 3


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_cli_dataset_ray_local_resumes_a_set(tmp_path, ray_env, dataset_reference, capsys):
    job = write_dataset_job(tmp_path)
    out = tmp_path / "set"
    plain_dataset(job, out, "--limit", "2")
    rc = main(["dataset", str(job), "--out", str(out), "--ray", "--logs", str(tmp_path / "logs")])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "made 4, already there 2 of 6" in captured.err and "attempts retried" in captured.err
    assert dataset_files(out) == dataset_files(dataset_reference)
    assert main(["dataset", "validate", str(out)]) == 0
    logs = sorted((tmp_path / "logs").glob("*.log"))
    assert logs and all(p.read_text().startswith("task ") for p in logs)


def test_dataset_ray_options_are_one_line_errors(tmp_path, ray_env, capsys):
    job = write_dataset_job(tmp_path)
    out = tmp_path / "set"
    assert main(["dataset", str(job), "--out", str(out), "--ray=nowhere"]) == 2
    assert main(["dataset", str(job), "--out", str(out), "--logs", str(tmp_path / "logs")]) == 2
    assert main(["dataset", "validate", str(out), "--ray"]) == 2
    assert main(["dataset", str(job), "--out", str(out), "--ray", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "--ray 'nowhere'" in err and "--logs is for Ray runs" in err and "--ray is for making a set" in err
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "logs").exists()


def test_library_subjects_are_read_by_the_driver_and_rendered_by_the_task(tmp_path, face_model):
    """A task renders library subjects from the assets the driver sent (no library on the worker), to the
    bytes `assetgen dataset` writes; run here without Ray (a stand-in TaskContext)."""
    from assetgen.batch import job_from_dict as batch_job
    from assetgen.dataset import job_from_dict as dataset_job
    from assetgen.dataset import run_dataset
    from assetgen.dataset.subjects import Subjects
    from assetgen.scale.dataset import library_subjects, render_shard

    (tmp_path / "bald.yaml").write_text("name: bald\n")
    run_batch(batch_job({"name": "t", "n": 2, "recipe": "bald.yaml", "seed": 7, "resolution": 64}, base=tmp_path),
              library=tmp_path / "lib")
    job = dataset_job({**DATASET, "count": 2, "images_per_subject": 1,
                       "subjects": {"library": "lib", "where": ["kind=face"]}}, base=tmp_path)
    run_dataset(job, tmp_path / "plain")
    out = tmp_path / "tasks"
    run_dataset(job, out, limit=0)  # the driver's preparation: the manifest with the library ids
    ids = json.loads((out / "dataset.json").read_text())["subjects"]["library_ids"]
    subjects = Subjects(job, face_model, library_ids=ids)
    given = library_subjects(subjects, [1], 1)
    subjects.close()
    assert list(given) == [1] and given[1][1]["library_id"] == ids[1]

    class Ctx:
        advanced: list = []

        def shared(self, name):
            return face_model

        def advance(self, item):
            self.advanced.append(item)

    (tmp_path / "lib").rename(tmp_path / "gone")  # the task never opens the library
    assert render_shard((job, [1], str(out), ids, given), Ctx()) == [1] and Ctx.advanced == [1]
    with pytest.raises(KeyError):
        render_shard((job, [0], str(out), ids, {}), Ctx())  # subject 0 was not sent
    (tmp_path / "gone").rename(tmp_path / "lib")
    assert run_dataset(job, out).made == [0]
    assert dataset_files(out) == dataset_files(tmp_path / "plain")
