"""Batch jobs: validation, determinism, the distribution realized, resume after SIGKILL, concurrent shards."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assetgen.batch import job_from_dict, load_job, parse_shard, run_batch
from assetgen.cli import main
from assetgen.errors import ConfigError, InputError
from assetgen.library import Library

REPO = Path(__file__).resolve().parents[1]


def write_job(tmp_path: Path, n: int = 12, **extra) -> Path:
    import yaml

    job = {"name": "t", "n": n, "recipe": "demo", "seed": 5, "resolution": 64,
           "distribution": {"lipstick": 0.25, "freckles": 0.25, "skin_tone": "uniform"}, **extra}
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    return path


def test_example_job_and_bad_jobs(tmp_path):
    job = load_job(REPO / "configs" / "jobs" / "demo.yaml")
    assert job.spec.n >= 1 and job.distribution.lipstick == 0.2 and len(job.id) == 16
    base = {"n": 3, "recipe": "demo", "seed": 1, "resolution": 64}
    assert job_from_dict(base).id == job_from_dict({**base, "n": 50}).id  # n extends a job
    assert job_from_dict(base).id != job_from_dict({**base, "seed": 2}).id
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        job_from_dict({**base, "colour": "red"})
    with pytest.raises(ConfigError, match="lipstick"):
        job_from_dict({**base, "distribution": {"lipstick": 1.5}})
    with pytest.raises(ConfigError, match="no recipe"):
        job_from_dict({**base, "recipe": "nope"})
    with pytest.raises(InputError):
        parse_shard("4/4")
    assert parse_shard("1/4") == (1, 4)
    # The command: a clear one-line error (exit 2), and the library is untouched.
    lib_root = tmp_path / "lib"
    good = write_job(tmp_path, n=2)
    assert main(["batch", str(good), "--library", str(lib_root)]) == 0
    before = (lib_root / "catalog.sqlite").read_bytes()
    bad = tmp_path / "bad.yaml"
    bad.write_text("n: 3\ndistribution: {lipstick: 2}\n")
    assert main(["batch", str(bad), "--library", str(lib_root)]) == 2
    assert (lib_root / "catalog.sqlite").read_bytes() == before
    with Library.open(lib_root) as lib:
        assert lib.count() == 2 and lib.check() == []


def test_batch_realizes_the_distribution_and_is_reproducible(tmp_path, face_model):
    job = job_from_dict({"n": 24, "seed": 3, "resolution": 64,
                         "distribution": {"lipstick": 0.5, "freckles": 0.25, "skin_tone": ["monk_02", "monk_09"]}})
    a = run_batch(job, library=tmp_path / "a")
    assert len(a.made) == 24
    b = run_batch(job, library=tmp_path / "b", shard=(1, 2))
    c = run_batch(job, library=tmp_path / "b", shard=(0, 2))
    assert sorted(b.made + c.made) == sorted(a.made)  # same job seed, same assets, however it is split
    assert run_batch(job, library=tmp_path / "a").made == []  # resume: nothing missing
    with Library.open(tmp_path / "a") as lib:
        labels = [lib.record(i).labels for i in lib.query()]
    assert abs(sum(l["lipstick"] for l in labels) - 12) <= 1
    assert abs(sum(l["freckles"] > 0 for l in labels) - 6) <= 1
    assert {l["skin_tone"] for l in labels} == {"monk_02", "monk_09"}
    assert abs(sum(l["skin_tone"] == "monk_02" for l in labels) - 12) <= 1


def _spawn(job: Path, lib: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "assetgen", "batch", str(job), "--library", str(lib), *args],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())


def _count(lib: Path) -> int:
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{lib / 'catalog.sqlite'}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT count(*) FROM assets").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _wait_count(proc, lib: Path, at_least: int, timeout: float = 60) -> None:
    t0 = time.monotonic()
    while _count(lib) < at_least:
        if proc.poll() is not None:
            return
        if time.monotonic() - t0 > timeout:
            raise AssertionError("batch made no progress")
        time.sleep(0.02)


@pytest.mark.slow
def test_sigkill_at_several_points_then_resume(tmp_path):
    n = 14
    job_path = write_job(tmp_path, n=n)
    lib = tmp_path / "lib"
    rnd = random.Random(1)
    # Killed: during start-up, right after the 1st, 4th and 8th asset committed, and at random instants
    # in between (mid-blob-write or mid-transaction, whatever the timing hits).
    plans = [("time", 0.4), ("count", 1), ("count", 4), ("time_after", rnd.uniform(0.0, 0.25)),
             ("count", 8), ("time_after", rnd.uniform(0.0, 0.25))]
    for kind, value in plans:
        proc = _spawn(job_path, lib)
        if kind == "time":
            time.sleep(value)
        elif kind == "count":
            _wait_count(proc, lib, value)
        else:
            _wait_count(proc, lib, _count(lib) + 1)
            time.sleep(value)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if (lib / "catalog.sqlite").exists():
            with Library.open(lib, create=False) as L:
                assert L.check() == [], f"inconsistent after kill ({kind} {value})"
    assert 8 <= _count(lib) < n  # the kills interrupted real work
    proc = _spawn(job_path, lib)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    with Library.open(lib) as L:
        job_id = load_job(job_path).id
        assert L.job_indices(job_id) == set(range(n))
        ids = L.query()
        assert len(ids) == n == len(set(ids))
        assert L.check() == []
        L.gc()
        assert L.check() == [] and L.count() == n
    # The resumed library holds exactly the assets of an uninterrupted run.
    clean = run_batch(load_job(job_path), library=tmp_path / "clean")
    assert sorted(clean.made) == sorted(ids)


@pytest.mark.slow
def test_four_concurrent_shards_and_a_racing_duplicate(tmp_path):
    n = 16
    job_path = write_job(tmp_path, n=n)
    lib = tmp_path / "lib"
    procs = [_spawn(job_path, lib, "--shard", f"{i}/4") for i in range(4)]
    procs.append(_spawn(job_path, lib))  # a whole-job run racing the shards
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err.decode()
    with Library.open(lib) as L:
        job_id = load_job(job_path).id
        rows = L.conn.execute("SELECT job_index FROM assets WHERE job_id = ?", (job_id,)).fetchall()
        assert sorted(r[0] for r in rows) == list(range(n))  # the union, no duplicate
        assert L.count() == n and L.check() == []
