"""Running assetgen work as Ray tasks: connecting, task submission with retries, progress, logs, and the
per-node throughput summary. Knows nothing of assets or images: a job (assetgen.scale.batch, a data set)
hands it Tasks and a function that takes each finished task's value in the driver.

A Task names a module-level function `fn(args, ctx) -> value` that runs on a worker. `ctx` (TaskContext)
gives it the driver's shared objects (`ctx.shared(name)`: sent once per job through Ray's object store,
unpickled once per worker process) and a way to report each finished item (`ctx.advance(item)`), which
moves the driver's progress bar while the task is still running. Whatever fn prints or warns goes into
the task's log, returned with its value (written to `logs/<task key>.log` when a log folder is given).

Fault tolerance is Ray's: a task whose worker or node dies is run again elsewhere (max_retries). Tasks
must therefore be idempotent, and a value is only used once its task has finished: the driver takes
each value as it arrives (on_result), so killing the driver loses only the tasks in flight.

Ray is imported only inside these functions: without --ray nothing imports it.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import io
import math
import os
import pickle
import platform
import re
import shutil
import socket
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..errors import AssetgenError, ConfigError, InputError, OutputError

LOCAL = "local"
RAY_PIN = "ray==2.60.0"
ADDRESS_RE = re.compile(r"^(auto|(ray://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5})$")
# Environment for the Ray processes this package starts itself (a local instance): no usage statistics,
# the node's address is 127.0.0.1, and HOME (of Ray's own processes, not the workers) holds a bootstrap
# config saying the provider is local, so Ray's dashboard does not probe a cloud metadata address.
LOCAL_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
BOOTSTRAP_CONFIG = "ray_bootstrap_config.yaml"
# Versions that change an item's bytes: a worker whose differ from the driver's would make other bytes.
FINGERPRINT_DISTS = ("numpy", "scipy", "torch", "pillow", "opencv-python-headless", "open3d", "xatlas")


def require_ray():
    """The ray module, or a ConfigError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs Ray, an optional extra: pip install 'assetgen[ray]' ({RAY_PIN})") from None
    return ray


def check_address(address: str | None) -> str | None:
    """`address` if it is one --ray accepts: local, auto, HOST:PORT or ray://HOST:PORT (None: the Ray
    session this process already has, else local)."""
    if address is None or address == LOCAL or ADDRESS_RE.match(address):
        return address
    raise InputError(f"--ray {address!r}: expected nothing (a local Ray instance), auto (the cluster this "
                     "machine belongs to), HOST:PORT or ray://HOST:PORT")


_HOME: list[str] = []


def _ray_home() -> str:
    """This process's HOME for the Ray processes it starts: made once, holding the bootstrap config, and
    kept until the process exits (Ray keeps its authentication token there, which this process caches
    for every later local start), then removed."""
    if not _HOME:
        import atexit

        home = tempfile.mkdtemp(prefix="assetgen-ray-home-")
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        Path(home, BOOTSTRAP_CONFIG).write_text("provider: {type: local}\n")
        _HOME.append(home)
    return _HOME[0]


@contextlib.contextmanager
def _local_env() -> Iterator[None]:
    """The environment of a private local instance for the block: LOCAL_ENV (unless the user set those
    variables; set before Ray is imported, which reads them then) and HOME = _ray_home(). Ray's processes,
    workers included, keep the environment they start with, so this process gets its own back after the
    block; XDG_CACHE_HOME keeps the workers' caches (assetgen's, model weights) where they were. Ray's
    local start sets RAY_AUTH_MODE=token in this process (its token lives in that HOME): restored too, so a
    later start or join elsewhere (another HOME) does not look for a token that is not there."""
    saved = {k: os.environ.get(k) for k in (*LOCAL_ENV, "HOME", "XDG_CACHE_HOME", "RAY_AUTH_MODE")}
    try:
        os.environ.setdefault("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
        for k, v in LOCAL_ENV.items():
            os.environ.setdefault(k, v)
        os.environ["HOME"] = _ray_home()
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def ray_session(address: str | None = LOCAL, *, num_cpus: int | None = None,
                num_gpus: int | None = None) -> Iterator[Any]:
    """Ray for the block, then disconnected (and a local instance stopped). address: 'local' starts a
    private instance on this machine (num_cpus/num_gpus: its size, default all); 'auto', HOST:PORT or
    ray://HOST:PORT joins a running cluster; None uses the session this process already has, else
    starts a local one."""
    import logging

    address = check_address(address)
    if address is None:
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            yield ray
            return
    common = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address in (None, LOCAL):
        with _local_env():
            ray = require_ray()
            ray.init(address=LOCAL, num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False, **common)
    else:
        ray = require_ray()
        _check_reachable(address)
        try:
            ray.init(address=address, **common)
        except Exception as exc:  # ConnectionError, RuntimeError, grpc errors: all mean "not reachable"
            raise ConfigError(f"cannot join the Ray cluster at {address}: {_one_line(exc)}; start it with "
                              "`ray start --head` there, or check the address") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address: str, timeout: float = 10.0) -> None:
    """A ConfigError unless HOST:PORT of `address` accepts a connection (Ray itself would wait forever)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start it with "
                          "`ray start --head` there, or check the address") from None


def environment_fingerprint() -> str:
    """A hash of what determines the bytes a worker makes: assetgen's source files, the versions of the
    numeric packages, the Python version. Equal on the driver and every worker, or the run stops."""
    from importlib import metadata

    h = hashlib.sha256(platform.python_version().encode())
    pkg = Path(__file__).resolve().parents[1]
    for path in sorted(pkg.rglob("*.py")):
        h.update(path.relative_to(pkg).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    for dist in FINGERPRINT_DISTS:
        try:
            h.update(f"{dist}={metadata.version(dist)}\0".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist}=none\0".encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Task:
    """One unit of work. key: short and file-safe, names it in logs and errors; fn: a module-level
    function fn(args, ctx) -> value run on a worker (see the module docstring); units: the items it
    makes (progress); num_cpus/num_gpus: what it holds while it runs."""

    key: str
    fn: Callable[[Any, "TaskContext"], Any]
    args: Any
    units: int = 1
    num_cpus: float = 1.0
    num_gpus: float = 0.0


@dataclass
class TaskResult:
    """What a worker sends back: the value and where, when and how long it ran."""

    key: str
    value: Any
    node_id: str
    host: str
    pid: int
    started: float
    seconds: float
    cpu_seconds: float
    log: str


@dataclass
class NodeStats:
    """One node's share of a run: finished tasks, items, busy seconds (wall time inside tasks, summed),
    CPU seconds, and attempts started there that never finished (the node or worker died)."""

    host: str
    tasks: int = 0
    units: int = 0
    busy_s: float = 0.0
    cpu_s: float = 0.0
    lost: int = 0


@dataclass
class RunState:
    """The driver's view while it runs, given to on_poll: tasks finished (keys), running (key -> node
    id of its latest attempt), started attempts per key, tasks not yet submitted."""

    total: int
    done: set[str] = field(default_factory=set)
    running: dict[str, str] = field(default_factory=dict)
    attempts: collections.Counter = field(default_factory=collections.Counter)
    waiting: int = 0


@dataclass
class RunSummary:
    """A finished run: wall seconds, tasks, items, retried attempts and the per-node figures."""

    wall_s: float = 0.0
    tasks: int = 0
    units: int = 0
    retried: int = 0
    nodes: dict[str, NodeStats] = field(default_factory=dict)

    def lines(self, unit: str = "items") -> list[str]:
        """The per-node throughput table, one line per node, then the total."""
        out = [f"{'node':<28} {'tasks':>6} {unit:>8} {'busy s':>9} {unit + '/busy s':>14} {'lost':>5}"]
        for node_id, s in sorted(self.nodes.items(), key=lambda kv: kv[1].host + kv[0]):
            rate = s.units / s.busy_s if s.busy_s > 0 else 0.0
            out.append(f"{(s.host + ' ' + node_id[:8])[:28]:<28} {s.tasks:>6} {s.units:>8} {s.busy_s:>9.1f} "
                       f"{rate:>14.2f} {s.lost:>5}")
        rate = self.units / self.wall_s if self.wall_s > 0 else 0.0
        out.append(f"{len(self.nodes)} nodes: {self.units} {unit} in {self.wall_s:.1f} s wall ({rate:.2f} {unit}/s), "
                   f"{self.retried} attempts retried")
        return out


class TaskContext:
    """What a task function gets on its worker: shared(name), advance(item), and key/node_id/host."""

    _cache: "collections.OrderedDict[str, Any]" = collections.OrderedDict()

    def __init__(self, key: str, shared: dict, progress, node_id: str, host: str):
        self.key = key
        self.node_id = node_id
        self.host = host
        self._shared = shared
        self._progress = progress

    def shared(self, name: str) -> Any:
        """The driver's shared object `name`, unpickled once per worker process (the last 4 kept)."""
        ref = self._shared[name]
        cache = TaskContext._cache
        k = ref.hex()
        if k not in cache:
            import ray

            cache[k] = pickle.loads(ray.get(ref))
            while len(cache) > 4:
                cache.popitem(last=False)
        cache.move_to_end(k)
        return cache[k]

    def advance(self, item: Any = None) -> None:
        """Report one finished item (hashable, e.g. its index) to the driver's progress."""
        if self._progress is not None:
            self._progress.report.remote(("advance", self.key, item))


_FINGERPRINT: list[str] = []


def _execute(fn, args, key: str, shared: dict, progress, fingerprint: str) -> TaskResult:
    """The Ray task around every Task: reports its start, checks the environment, runs fn capturing its
    output and warnings, and returns a TaskResult."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    host = socket.gethostname()
    if progress is not None:
        progress.report.remote(("start", key, node_id))
    if not _FINGERPRINT:
        _FINGERPRINT.append(environment_fingerprint())
    if _FINGERPRINT[0] != fingerprint:
        raise ConfigError(f"node {host} runs other assetgen code or package versions than the driver "
                          f"(fingerprint {_FINGERPRINT[0]}, driver {fingerprint}): install the same assetgen "
                          "and dependencies on every node")
    started, cpu0 = time.time(), time.process_time()
    t0 = time.perf_counter()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            value = fn(args, TaskContext(key, shared, progress, node_id, host))
    except BaseException:
        sys.stderr.write(f"[assetgen task {key}] output before the failure:\n{out.getvalue()}")
        raise
    seconds = time.perf_counter() - t0
    log = [f"task {key} on {host} (node {node_id}, pid {os.getpid()}): {seconds:.2f} s, "
           f"{time.process_time() - cpu0:.2f} s CPU", out.getvalue().rstrip()]
    log += [f"warning: {w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught]
    return TaskResult(key=key, value=value, node_id=node_id, host=host, pid=os.getpid(), started=started,
                      seconds=seconds, cpu_seconds=time.process_time() - cpu0,
                      log="\n".join(x for x in log if x) + "\n")


class _Progress:
    """A Ray actor on the driver's node collecting the tasks' start and item events."""

    def __init__(self):
        self.events: list = []

    def report(self, event) -> None:
        self.events.append(event)

    def drain(self) -> list:
        events, self.events = self.events, []
        return events


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _failure(ray, task: Task, exc: BaseException, host: str | None) -> AssetgenError:
    """A task's final failure as one user error; an assetgen error raised in the task keeps its class."""
    where = f" on {host}" if host else ""
    cause = getattr(exc, "cause", None) if isinstance(exc, ray.exceptions.RayTaskError) else None
    if isinstance(cause, AssetgenError):
        err = type(cause)(f"task {task.key}{where}: {_one_line(cause)}")
    elif cause is not None:
        err = OutputError(f"task {task.key}{where} failed: {type(cause).__name__}: {_one_line(cause)} "
                          "(the work finished before it is kept; rerun to resume)")
    else:
        err = OutputError(f"task {task.key}{where} failed after its retries: {type(exc).__name__}: "
                          f"{_one_line(exc)} (the work finished before it is kept; rerun to resume)")
    return err


def progress_poll(progress, bar, label: str, on_poll=None):
    """The on_poll of run_tasks that shows on the driver's bar how many tasks run on how many nodes, then
    calls the caller's own on_poll (if any) with the RunState."""

    def poll(state: RunState) -> None:
        nodes = len(set(state.running.values()))
        progress.update(bar, description=f"{label}: {len(state.running)} tasks running on {nodes} nodes")
        if on_poll is not None:
            on_poll(state)

    return poll


def slots(ray, num_cpus: float = 1.0, num_gpus: float = 0.0) -> int:
    """How many tasks of this size the cluster runs at once (at least 1)."""
    res = ray.cluster_resources()
    n = math.floor(res.get("CPU", 0) / num_cpus) if num_cpus else 1 << 30
    if num_gpus:
        n = min(n, math.floor(res.get("GPU", 0) / num_gpus))
    return max(1, n)


def chunk_size(items: int, slots_: int, largest: int = 16) -> int:
    """Items per task: about four tasks per slot (load balance, fine resume), at most `largest`."""
    return max(1, min(largest, math.ceil(items / (4 * max(1, slots_)))))


def chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def _write_log(logs: Path, name: str, text: str) -> None:
    from ..io import atomic_write_bytes

    atomic_write_bytes(logs / name, text.encode())


def run_tasks(
    tasks: Iterable[Task],
    on_result: Callable[[Task, Any], None],
    *,
    shared: dict[str, Any] | None = None,
    on_item: Callable[[str, Any], None] | None = None,
    on_poll: Callable[[RunState], None] | None = None,
    max_retries: int = 4,
    max_in_flight: int | None = None,
    logs: Path | None = None,
    poll_s: float = 0.25,
) -> RunSummary:
    """Run `tasks` on the Ray session of this process (see ray_session) and call on_result(task, value)
    in this process as each one finishes, in finishing order. shared: objects every task may read
    (ctx.shared). on_item(key, item): each item a task reports; on_poll(state): every poll_s seconds.
    A task is retried max_retries times when its worker or node dies (an exception it raises is
    final); the first task that fails for good stops the run with one AssetgenError, after cancelling
    the rest. logs: a folder for each task's log (<key>.log; <key>.error.log for a failure)."""
    ray = require_ray()
    tasks = list(tasks)
    summary = RunSummary(tasks=len(tasks))
    state = RunState(total=len(tasks), waiting=len(tasks))
    if not tasks:
        return summary
    t0 = time.perf_counter()
    fingerprint = environment_fingerprint()
    gpus = ray.cluster_resources().get("GPU", 0)
    for task in tasks:
        if task.num_gpus > gpus:
            raise ConfigError(f"task {task.key} needs {task.num_gpus:g} GPU(s) but the Ray cluster has {gpus:g}; "
                              "add GPU nodes (or start the local instance on a machine with one)")
    if logs is not None:
        from ..io import ensure_dir

        logs = ensure_dir(logs)
    refs = {name: ray.put(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)) for name, obj in (shared or {}).items()}
    remote = ray.remote(_execute)
    progress = None
    try:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=True)
        progress = ray.remote(num_cpus=0, scheduling_strategy=here)(_Progress).remote()
    except Exception:  # progress is a convenience: without the actor the bar moves per finished task
        progress = None
    window = max_in_flight or 2 * slots(ray, tasks[0].num_cpus, tasks[0].num_gpus) + 2
    queue = collections.deque(tasks)
    in_flight: dict[Any, Task] = {}
    hosts: dict[str, str] = {}
    started_on: collections.Counter = collections.Counter()

    def drain() -> None:
        nonlocal progress
        if progress is None:
            return
        try:
            events = ray.get(progress.drain.remote(), timeout=30)
        except Exception:
            progress = None
            return
        for ev in events:
            if ev[0] == "start" and ev[1] not in state.done:
                state.running[ev[1]] = ev[2]
                state.attempts[ev[1]] += 1
                started_on[ev[2]] += 1
            elif ev[0] == "advance" and on_item is not None:
                on_item(ev[1], ev[2])

    try:
        while queue or in_flight:
            while queue and len(in_flight) < window:
                task = queue.popleft()
                ref = remote.options(num_cpus=task.num_cpus, num_gpus=task.num_gpus, max_retries=max_retries,
                                     retry_exceptions=False, name=f"assetgen:{task.key}").remote(
                    task.fn, task.args, task.key, refs, progress, fingerprint)
                in_flight[ref] = task
            state.waiting = len(queue)
            ready, _ = ray.wait(list(in_flight), num_returns=len(in_flight), timeout=poll_s)
            drain()
            for ref in ready:
                task = in_flight.pop(ref)
                try:
                    res: TaskResult = ray.get(ref)
                except Exception as exc:
                    node = state.running.get(task.key)
                    if logs is not None:
                        _write_log(logs, f"{task.key}.error.log", f"task {task.key} failed: {exc}\n")
                    raise _failure(ray, task, exc, hosts.get(node or "", None)) from None
                hosts[res.node_id] = res.host
                state.running.pop(task.key, None)
                state.done.add(task.key)
                s = summary.nodes.setdefault(res.node_id, NodeStats(host=res.host))
                s.tasks += 1
                s.units += task.units
                s.busy_s += res.seconds
                s.cpu_s += res.cpu_seconds
                summary.units += task.units
                if logs is not None:
                    _write_log(logs, f"{task.key}.log", res.log)
                on_result(task, res.value)
            if on_poll is not None:
                on_poll(state)
    finally:
        for ref in in_flight:
            with contextlib.suppress(Exception):
                ray.cancel(ref)
        if progress is not None:
            with contextlib.suppress(Exception):
                ray.kill(progress)
    drain_attempts = sum(state.attempts.values())
    summary.retried = max(0, drain_attempts - len(tasks))
    for node_id, n in started_on.items():
        s = summary.nodes.setdefault(node_id, NodeStats(host=hosts.get(node_id, "(lost node)")))
        s.lost = max(0, n - s.tasks)
    summary.wall_s = time.perf_counter() - t0
    return summary
