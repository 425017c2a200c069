"""Execute stage: run one backend on one artifact and classify what went wrong.

An `Executor` decides where that happens. The in-process one is the simplest;
worker-process isolation (a crash or hang costs one result) plugs in behind
the same protocol. `submit` starts the backends and returns the call that
waits for them, so the engine can prepare the next instance and judge the
last one while the workers run.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import itertools
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .model import Artifact, Backend, Outcome, Unsupported, error_text


@dataclass(frozen=True)
class Execution:
    """A backend's raw outputs, or the outcome that stopped it before comparison."""

    outputs: tuple[np.ndarray, ...] | None
    failure: Outcome | None = None
    message: str = ""
    #: Seconds spent inside the backend's own `prepare` and `run` calls.
    prepare_seconds: float = 0.0
    run_seconds: float = 0.0


_OUT_OF_MEMORY = "out of memory (MemoryError): the backend exceeded the worker's memory limit"


def execute(backend: Backend, model_path: Path, inputs: tuple[np.ndarray, ...]) -> Execution:
    return _execute(backend, model_path, inputs)[0]


def _failure(exc: Exception, otherwise: Outcome) -> tuple[Outcome, str]:
    """How a backend call that raised is recorded; `otherwise` says which step it was."""
    if isinstance(exc, MemoryError):
        return Outcome.CRASH, _OUT_OF_MEMORY
    if isinstance(exc, Unsupported):
        return Outcome.UNSUPPORTED, str(exc)
    return otherwise, error_text(exc)


def _execute(
    backend: Backend,
    model_path: Path,
    inputs: tuple[np.ndarray, ...],
    on_prepared: Callable[[], None] | None = None,
) -> tuple[Execution, Any]:
    """The execution and the prepared session: a worker answers first and frees the session after.

    `on_prepared` hears that `prepare` returned: a worker tells the driver, so a timeout says which step hung.
    """
    start = time.perf_counter()
    try:
        session = backend.prepare(model_path)
    except Exception as exc:
        return Execution(None, *_failure(exc, Outcome.LOAD_FAIL), time.perf_counter() - start), None
    prepared = time.perf_counter()
    if on_prepared is not None:
        on_prepared()
    try:
        outputs = backend.run(session, inputs)
    except Exception as exc:
        elapsed = time.perf_counter() - prepared
        return Execution(None, *_failure(exc, Outcome.RUN_ERROR), prepared - start, elapsed), session
    done = time.perf_counter()
    return Execution(tuple(np.asarray(o) for o in outputs), None, "", prepared - start, done - prepared), session


#: Waits for the executions of one submission, in the order of its backends.
Collect = Callable[[], list[Execution]]


class Executor(Protocol):
    #: Submissions a caller may have uncollected at once.
    window: int

    def start(self, backends: Sequence[Backend]) -> None:
        """Get ready for these backends while the run is still planning; failures show at `submit`."""
        ...

    def submit(self, backends: Sequence[Backend], artifact: Artifact) -> Collect:
        """Start every backend on the artifact; call the result to wait for them.

        A caller has at most `window` submissions uncollected, and collects them in the order it made them.
        """
        ...

    def close(self) -> None: ...


def execute_all(executor: Executor, backends: Sequence[Backend], artifact: Artifact) -> list[Execution]:
    return executor.submit(backends, artifact)()


class InProcessExecutor:
    """Runs backends in the driver process when collected: fastest, but a segfault ends the run."""

    window = 1

    def start(self, backends: Sequence[Backend]) -> None:
        pass

    def submit(self, backends: Sequence[Backend], artifact: Artifact) -> Collect:
        return lambda: [execute(b, artifact.model_path, artifact.inputs) for b in backends]

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- isolation

DEFAULT_TIMEOUT_S = 120.0
#: What a worker sends when `prepare` returned, before the execution itself.
PREPARED = "prepared"
DEFAULT_MEMORY_LIMIT_MB = 8192
STARTUP_TIMEOUT_S = 300.0
_STDERR_TAIL = 2000
#: How much of a dead worker's stderr is searched for the line that says why (a backtrace can be long).
_STDERR_SCAN = 1 << 20
_LAST_WORDS = tuple(
    re.compile(p)
    for p in (r"panicked at", r"Check failed|Assertion .*failed|assertion failed", r"terminate called|what\(\):")
)


def serve(conn: Any) -> int:
    """Serve execute requests for one backend until told to stop or killed (the worker process's loop).

    The driver sends the import path first, then the backend (which unpickles
    only once that path is in place), then requests. stdout and stderr are the
    worker's log file, so a crash's last words survive it; the address-space
    limit turns a runaway allocation into a MemoryError or an abort here, not
    an out-of-memory kill of the whole machine.
    """
    import faulthandler
    import resource

    faulthandler.enable()
    try:
        path, memory_limit_mb, log = conn.recv()
        sys.path[:] = list(dict.fromkeys([*path, *sys.path]))  # the caller's order first, as spawn would
        backend = conn.recv()
    except (EOFError, OSError):
        return 1
    except Exception as exc:  # e.g. a backend class defined in the caller's __main__, which a worker cannot import
        sys.stderr.write(f"cannot receive the backend: {error_text(exc)}\n")
        return 1
    if memory_limit_mb > 0:
        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with contextlib.suppress(Exception):  # a backend that cannot load says so when it is used
        backend.available()  # imports the backend's library now, while the driver is still planning
    try:
        conn.send("ready")
        while True:
            request = conn.recv()
            if request is None:
                return 0
            model_path, inputs = request
            execution, session = _execute(backend, Path(model_path), tuple(inputs), lambda: conn.send(PREPARED))
            conn.send(execution)
            del session  # freeing a session (thread pools, arenas) is the backend's time, not the driver's wait
    except (EOFError, OSError, KeyboardInterrupt):
        # The driver went away without saying stop (killed, or about to kill us): nobody will read the log,
        # and a driver killed outright cannot delete it. A reset or broken pipe is an OSError.
        with contextlib.suppress(OSError):
            os.unlink(log)
        return 0


def _signal_name(exitcode: int | None) -> str:
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


class _Worker:
    """One backend's worker: `python -m conformance.worker` over a pipe, its output in a log file.

    Not a multiprocessing child: spawning one re-runs the caller's `__main__`
    (see `conformance.worker`); fork after torch or a backend started threads
    is unsafe.
    """

    def __init__(self, backend: Backend, memory_limit_mb: int) -> None:
        self.stderr_file = tempfile.NamedTemporaryFile(
            prefix=f"conformance-{backend.name}-", suffix=".log", delete=False
        )
        self.stderr_file.close()
        self.conn, child = multiprocessing.Pipe()
        root = str(Path(__file__).resolve().parents[1])  # where this package is, so `-m` finds it
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH")))),
            PYTHONUNBUFFERED="1",  # what it prints before a crash reaches the log
        )
        try:
            with open(self.stderr_file.name, "ab") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "conformance.worker", str(child.fileno())],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    pass_fds=(child.fileno(),), env=env, close_fds=True,
                    # Its own process group: what it starts (iree-compile, a compiler's children) dies with it.
                    start_new_session=os.name == "posix",
                )  # fmt: skip
        finally:
            child.close()
        try:
            self.conn.send((list(sys.path), memory_limit_mb, self.stderr_file.name))
            self.conn.send(backend)
        except OSError:
            pass  # it died at once: `wait_ready` says so, with its log
        except Exception:
            self.stop(kill=True)
            raise  # a backend object that cannot be pickled

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout: float) -> bool:
        """Startup (spawning, imports) is not charged to the first result's timeout."""
        try:
            return self.conn.poll(timeout) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            return False

    def stderr_tail(self) -> tuple[str, str]:
        """The worker's last words: the line that says why it died (a Rust panic, a failed check) where its
        stderr has one, which a backtrace after it can push far out of the tail; and the tail."""
        try:
            data = Path(self.stderr_file.name).read_bytes()[-_STDERR_SCAN:]
        except OSError:
            return "", ""
        text = data.decode("utf-8", "replace").strip()
        lines = text.splitlines()
        # The most telling kind first (Python's own "Fatal Python error" says least), and its first line: a
        # panic while panicking ("panic in a function that cannot unwind") follows the one that says why.
        for words in _LAST_WORDS:
            hits = [i for i, line in enumerate(lines) if words.search(line)]
            if hits:
                why = " ".join(line.strip() for line in lines[hits[0] : hits[0] + 2])  # Rust: reason on the next line
                return why, text[-_STDERR_TAIL:]
        return "", text[-_STDERR_TAIL:]

    def _join(self, timeout: float | None) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)

    def end(self, what: str, wait: float) -> str:
        """Kill the worker after it died or failed: `what` happened, how it ended, and its last words."""
        self._join(wait)
        message = f"{what} ({_signal_name(self.process.poll())})"
        why, tail = self.stderr_tail()
        self.stop(kill=True)
        message += f": {why}" if why else ""  # on the first line, where findings and report rows read it
        return f"{message}; stderr tail:\n{tail}" if tail else message

    def _kill(self) -> None:
        """The worker and everything it started: a timed-out IREE compile runs in a child of its own,
        which killing the worker alone left compiling (for hours) after the run."""
        if os.name == "posix":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    def stop(self, kill: bool = False) -> None:
        if self.alive:
            if kill:
                self._kill()
            else:
                try:
                    self.conn.send(None)
                except OSError:
                    pass
                self._join(5)
                if self.alive:
                    self._kill()
        self._join(None)
        if os.name == "posix":  # a child it left running when it exited
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.conn.close()
        with contextlib.suppress(OSError):
            os.unlink(self.stderr_file.name)


@dataclass
class _Request:
    """One backend's part of a submission: queued until that backend's worker is free, then in flight."""

    ticket: int
    backend: Backend
    artifact: Artifact
    memo: Path
    worker: _Worker | None = None
    sent: float = 0.0
    prepared: bool = False


class ProcessExecutor:
    """One worker process per backend: a segfault, abort, hang or memory blow-up costs one result.

    A worker that crashes or overruns `timeout` is killed and replaced on the
    next request; the run goes on. Each backend has a queue: with `window`
    submissions uncollected, a fast backend runs ahead while a slow one
    (IREE compiling) works, so the cores are not left waiting for the
    slowest backend of each artifact in turn.
    """

    window = 8

    def __init__(self, timeout: float = DEFAULT_TIMEOUT_S, memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB) -> None:
        self.timeout = timeout
        self.memory_limit_mb = memory_limit_mb
        self._workers: dict[str, _Worker] = {}
        self._starting: dict[str, _Worker] = {}
        self._unstartable: dict[str, Execution] = {}
        self._versions: dict[str, str] = {}
        self._queues: dict[str, collections.deque[_Request]] = {}
        self._in_flight: dict[str, _Request] = {}
        self._answers: dict[int, dict[str, Execution]] = {}
        self._tickets = itertools.count()

    def start(self, backends: Sequence[Backend]) -> None:
        """Spawn every backend's worker without waiting: their imports overlap the run's planning."""
        for backend in backends:
            if backend.name not in self._workers and backend.name not in self._starting:
                with contextlib.suppress(Exception):  # `_worker` tries again and reports why
                    self._starting[backend.name] = _Worker(backend, self.memory_limit_mb)

    def _worker(self, backend: Backend) -> _Worker | Execution:
        worker = self._workers.get(backend.name)
        if worker is not None and worker.alive:
            return worker
        if backend.name in self._unstartable:  # it died starting once; it would again, at a spawn's cost each time
            return self._unstartable[backend.name]
        worker = self._starting.pop(backend.name, None)
        if worker is None:
            try:
                worker = _Worker(backend, self.memory_limit_mb)
            except Exception as exc:  # e.g. a backend object that cannot be sent to a process
                message = f"cannot start a worker for {backend.name}: {error_text(exc)}"
                self._unstartable[backend.name] = Execution(None, Outcome.LOAD_FAIL, message)
                return self._unstartable[backend.name]
        if not worker.wait_ready(STARTUP_TIMEOUT_S):
            failure = Execution(None, Outcome.LOAD_FAIL, worker.end(f"worker for {backend.name} did not start", 1))
            self._unstartable[backend.name] = failure
            return failure
        self._workers[backend.name] = worker
        return worker

    def _crashed(self, name: str, worker: _Worker, elapsed: float) -> Execution:
        del self._workers[name]
        return Execution(None, Outcome.CRASH, worker.end("worker died", 5), 0.0, elapsed)

    def _memo_path(self, backend: Backend, model_digest: str) -> Path:
        from .backends import backend_version
        from .backends.onnx_backend import backend_cache_dir, digest

        if backend.name not in self._versions:
            self._versions[backend.name] = backend_version(backend)
        # "2": notes written before answers waiting in the pipe were read first may record a driver that was
        # away, not a slow prepare; under a new key they are no longer read.
        key = digest("2", backend.name, self._versions[backend.name], model_digest)
        return backend_cache_dir(backend.name) / "prepare-timeouts" / f"{key}.json"

    def _timed_out_before(self, memo: Path) -> Execution | None:
        """The timeout a model's `prepare` ran into before, at this run's timeout or a longer one.

        A compile past the timeout (IREE on a large convolution) runs past it
        again: trying it once per value mode, opset twin and warm run cost the
        nightly two minutes each. A longer timeout tries again; so does
        deleting the note.
        """
        try:
            seconds = float(json.loads(memo.read_text())["timeout_s"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if seconds < self.timeout:
            return None
        message = f"no answer after {seconds:g} s preparing this model before; not sent again (delete {memo} to retry)"
        return Execution(None, Outcome.TIMEOUT, message)

    def _note_timeout(self, memo: Path) -> None:
        with contextlib.suppress(OSError):  # a read-only cache costs the next run time, not this result
            memo.parent.mkdir(parents=True, exist_ok=True)
            memo.write_text(json.dumps({"timeout_s": self.timeout}))

    def submit(self, backends: Sequence[Backend], artifact: Artifact) -> Collect:
        """Queue the artifact for every backend's worker; each runs it as soon as it is free.

        Each request has its own timeout, counted from when its worker (started)
        got it, and a crash or hang costs only its own result; a model whose
        `prepare` ran past the timeout before is not sent again (`_timed_out_before`).
        """
        ticket = next(self._tickets)
        answers = self._answers[ticket] = {}
        try:
            model = Path(artifact.model_path).read_bytes()
        except OSError:
            model = str(artifact.model_path).encode()  # the backend reports the missing file itself
        model_digest = hashlib.sha256(model).hexdigest()  # once per artifact, not once per backend
        for backend in backends:
            memo = self._memo_path(backend, model_digest)
            before = self._timed_out_before(memo)
            if before is not None:
                answers[backend.name] = before
                continue
            self._queues.setdefault(backend.name, collections.deque()).append(_Request(ticket, backend, artifact, memo))
        self._pump()
        names = [b.name for b in backends]
        return lambda: self._collect(ticket, names)

    def _pump(self) -> None:
        """Send each free worker the next request in its backend's queue."""
        for name, queue in self._queues.items():
            while queue and name not in self._in_flight:
                request = queue.popleft()
                worker = self._worker(request.backend)
                if isinstance(worker, Execution):
                    self._answers[request.ticket][name] = worker
                    continue
                request.worker, request.sent = worker, time.perf_counter()
                try:
                    worker.conn.send((str(request.artifact.model_path), request.artifact.inputs))
                except OSError:  # BrokenPipeError included
                    self._answers[request.ticket][name] = self._crashed(name, worker, 0.0)
                    continue
                self._in_flight[name] = request

    def _time_out(self, now: float) -> None:
        for name, request in list(self._in_flight.items()):
            if now - request.sent < self.timeout:
                continue
            del self._in_flight[name], self._workers[name]
            assert request.worker is not None
            request.worker.stop(kill=True)
            if not request.prepared:
                self._note_timeout(request.memo)
            message = f"no answer after {self.timeout:g} s; worker killed"
            self._answers[request.ticket][name] = Execution(None, Outcome.TIMEOUT, message, 0.0, now - request.sent)

    def _collect(self, ticket: int, names: list[str]) -> list[Execution]:
        answers = self._answers[ticket]
        while True:
            # Answers already waiting first: the driver may have been away past the timeout (waiting for an
            # export, starting another backend's worker) while these workers answered in time.
            self._receive(0.0)
            now = time.perf_counter()
            self._time_out(now)
            self._pump()
            if all(name in answers for name in names):
                break
            first = min(r.sent for r in self._in_flight.values()) + self.timeout
            self._receive(max(0.0, first - now))
        del self._answers[ticket]
        return [answers[name] for name in names]

    def _receive(self, timeout: float) -> None:
        """Take what the workers in flight have sent, waiting up to `timeout` for the first of it."""
        by_conn = {r.worker.conn: r for r in self._in_flight.values() if r.worker is not None}
        for conn in multiprocessing.connection.wait(list(by_conn), timeout=timeout):
            request = by_conn[conn]
            name = request.backend.name
            while name in self._in_flight:
                try:
                    answer = conn.recv()
                except (EOFError, OSError):
                    del self._in_flight[name]
                    elapsed = time.perf_counter() - request.sent
                    self._answers[request.ticket][name] = self._crashed(name, request.worker, elapsed)  # type: ignore[arg-type]
                    break
                if answer == PREPARED:
                    request.prepared = True
                    if not conn.poll():
                        break
                    continue
                del self._in_flight[name]
                self._answers[request.ticket][name] = self._in_time(request, answer)

    def _in_time(self, request: _Request, answer: Execution) -> Execution:
        """An answer read late is judged by the worker's own clock: past the timeout it is a timeout still."""
        took = answer.prepare_seconds + answer.run_seconds
        if took <= self.timeout:
            return answer
        if answer.prepare_seconds > self.timeout:
            self._note_timeout(request.memo)
        message = f"no answer after {self.timeout:g} s (it came after {took:.1f} s; the worker was kept)"
        return Execution(None, Outcome.TIMEOUT, message, answer.prepare_seconds, answer.run_seconds)

    def close(self) -> None:
        for request in self._in_flight.values():  # a run stopped with requests out: not worth waiting for
            if request.worker is not None:
                request.worker.stop(kill=True)
        self._in_flight.clear()
        self._queues.clear()
        for worker in self._workers.values():
            worker.stop()
        for worker in self._starting.values():
            worker.stop(kill=True)
        self._workers.clear()
        self._starting.clear()


# --------------------------------------------------------------------------- distributed


def _execute_shipped(backend: Backend, model: bytes, digest: str, inputs: tuple[np.ndarray, ...]) -> Execution:
    """On a Dask worker: the model arrives as bytes (workers need not share the driver's disk)."""
    folder = Path(tempfile.gettempdir()) / "conformance-dask" / digest[:2]
    path = folder / f"{digest}.onnx"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(model)
        os.replace(tmp, path)
    return execute(backend, path, inputs)


#: Seconds to reach a Dask scheduler before the run gives up with a usage error.
CONNECT_TIMEOUT_S = 10.0


class DaskExecutor:
    """Runs backends on an existing Dask cluster, for runs that outgrow one machine.

    A backend's work goes only to workers that declare a resource named after
    it (`dask worker SCHEDULER --resources "onnxruntime=1,openvino=1"`), so
    each backend runs where it is installed. Each worker process is its
    nanny's child: a backend that kills it costs one `crash` result (Dask's
    `KilledWorker`; set `distributed.scheduler.allowed-failures` to 0 so a
    crash is not retried on the next worker), and a task past the timeout is
    a `timeout` whose worker is restarted.
    """

    #: Each submission's timeout counts from `submit`: queued behind another on a worker, it would run out.
    window = 1

    def __init__(self, client: Any, timeout: float = DEFAULT_TIMEOUT_S, *, owns_client: bool = False) -> None:
        self.client = client
        self.timeout = timeout
        self._owns_client = owns_client
        self._offered: set[str] = set()

    @classmethod
    def connect(cls, address: str, timeout: float = DEFAULT_TIMEOUT_S) -> DaskExecutor:
        try:
            from distributed import Client
        except ImportError as exc:
            raise RuntimeError(
                f"Dask distributed is not installed ({exc}); pip install 'onnx-conformance[distributed]'"
            ) from exc
        return cls(Client(address, timeout=CONNECT_TIMEOUT_S), timeout, owns_client=True)

    def _offers(self, name: str) -> bool:
        if name not in self._offered:
            workers = self.client.scheduler_info(n_workers=-1)["workers"].values()
            self._offered.update(r for w in workers for r in w.get("resources", {}))
        return name in self._offered

    def start(self, backends: Sequence[Backend]) -> None:
        pass  # the cluster's workers are already running

    def submit(self, backends: Sequence[Backend], artifact: Artifact) -> Collect:
        import hashlib

        model = artifact.model_path.read_bytes()
        digest = hashlib.sha256(model).hexdigest()
        start = time.perf_counter()
        futures: dict[str, Any] = {}
        done: dict[str, Execution] = {}
        for backend in backends:
            if not self._offers(backend.name):
                message = f"no Dask worker declares the resource {backend.name!r} (dask worker --resources)"
                done[backend.name] = Execution(None, Outcome.LOAD_FAIL, message)
                continue
            futures[backend.name] = self.client.submit(
                _execute_shipped, backend, model, digest, artifact.inputs,
                resources={backend.name: 1}, pure=False,
            )  # fmt: skip
        names = [b.name for b in backends]
        return lambda: self._collect(names, futures, done, start)

    def _collect(
        self, names: list[str], futures: dict[str, Any], done: dict[str, Execution], start: float
    ) -> list[Execution]:
        from distributed import wait

        with contextlib.suppress(TimeoutError):
            wait(list(futures.values()), timeout=max(0.0, start + self.timeout - time.perf_counter()))
        elapsed = time.perf_counter() - start
        for name, future in futures.items():
            if future.status == "finished":
                done[name] = future.result()
            elif future.status == "error":
                exc = future.exception()
                if type(exc).__name__ == "KilledWorker":
                    done[name] = Execution(None, Outcome.CRASH, f"the Dask worker died running it: {exc}", 0.0, elapsed)
                else:
                    done[name] = Execution(None, Outcome.RUN_ERROR, f"Dask: {error_text(exc)}", 0.0, elapsed)
            else:
                done[name] = self._time_out(future, elapsed)
        return [done[name] for name in names]

    def _time_out(self, future: Any, elapsed: float) -> Execution:
        """A hung task keeps its worker's thread: cancel it and restart that worker."""
        stuck = [w for w, keys in self.client.processing().items() if future.key in keys]
        future.cancel()
        if stuck:
            with contextlib.suppress(Exception):
                self.client.restart_workers(stuck, raise_for_error=False)
        return Execution(
            None, Outcome.TIMEOUT, f"no answer after {self.timeout:g} s; Dask worker restarted", 0.0, elapsed
        )

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
