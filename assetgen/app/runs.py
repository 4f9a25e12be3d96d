"""Cancel flags of the runs in progress, by browser session.

The Cancel button sets the flags of its session's runs; a running job's progress callback sees its flag
and stops at the next step (Gradio's `cancels` only drops the waiting client, the worker thread runs on).
A flag exists only while its run does, and a closed session's runs are cancelled and forgotten, so the
map holds at most the runs in progress."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from ..errors import AssetgenError


class Cancelled(AssetgenError):
    """The person pressed Cancel while an operation was running."""


class RunFlags:
    """session -> the cancel flags (threading.Event) of that session's runs in progress."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._runs: dict[str, set[threading.Event]] = {}
        self._active = 0  # runs whose code is still executing (a closed session's runs finish their step)

    @contextmanager
    def run(self, session: str) -> Iterator[threading.Event]:
        """A fresh flag for one run of `session`, dropped when the run ends (result, error or cancel)."""
        flag = threading.Event()
        with self._lock:
            self._runs.setdefault(session, set()).add(flag)
            self._active += 1
        try:
            yield flag
        finally:
            with self._lock:
                flags = self._runs.get(session)
                if flags is not None:
                    flags.discard(flag)
                    if not flags:
                        del self._runs[session]
                self._active -= 1
                self._lock.notify_all()

    def cancel(self, session: str) -> int:
        """Set the flags of the session's runs; returns how many runs were asked to stop."""
        with self._lock:
            flags = list(self._runs.get(session, ()))
        for flag in flags:
            flag.set()
        return len(flags)

    def close(self, session: str) -> None:
        """The session ended (its tab closed): stop its runs and forget it at once."""
        with self._lock:
            flags = self._runs.pop(session, set())
        for flag in flags:
            flag.set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no run is in progress (a cancelled run ends at its next progress step); False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self._active == 0, timeout)

    def sessions(self) -> list[str]:
        with self._lock:
            return sorted(self._runs)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(f) for f in self._runs.values())
