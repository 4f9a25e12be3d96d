"""Atomic file output (assetgen.io): file modes follow the umask without ever changing it."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from assetgen import io


def _current_umask() -> int:
    mask = os.umask(0o077)  # this test process is single-threaded here
    os.umask(mask)
    return mask


def test_cached_umask_is_the_process_umask():
    assert io._umask() == _current_umask()


def test_atomic_writes_never_touch_the_umask(tmp_path, monkeypatch):
    """Setting the umask is process-wide: a thread creating a file in that instant would get the wrong
    mode. Atomic writes (from any number of threads) must only read the cached value."""
    expect = 0o666 & ~_current_umask()

    def forbidden(*_):
        raise AssertionError("os.umask called after import")

    monkeypatch.setattr(os, "umask", forbidden)
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            for k in range(20):
                io.atomic_write_bytes(tmp_path / f"a{i}-{k}.bin", b"x" * k)
                io.atomic_write_json(tmp_path / f"j{i}-{k}.json", {"k": k})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    files = sorted(tmp_path.iterdir())
    assert len(files) == 4 * 20 * 2
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == expect, f
        assert not f.stat().st_mode & stat.S_IWOTH


def test_umask_fallback_never_opens_the_mask(monkeypatch):
    """Without /proc the umask is read by setting it and putting it back: through 0o077, never 0."""
    real_open, real_umask = open, os.umask
    calls = []

    def no_proc(path, *a, **k):
        if str(path).startswith("/proc/"):
            raise OSError("no /proc here")
        return real_open(path, *a, **k)

    def recording_umask(mask):
        calls.append(mask)
        return real_umask(mask)

    monkeypatch.setattr("builtins.open", no_proc)
    monkeypatch.setattr(os, "umask", recording_umask)
    expect = _current_umask()
    calls.clear()
    assert io._read_umask() == expect
    assert calls == [0o077, expect]


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc/self/status (Linux)")
def test_umask_read_from_proc_without_setting_it(monkeypatch):
    monkeypatch.setattr(os, "umask", lambda *_: (_ for _ in ()).throw(AssertionError("os.umask called")))
    assert io._read_umask() == io._umask()
