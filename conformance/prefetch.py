"""Exports ahead of the backends: a pool of processes fills the artifact cache, one case at a time.

Export and the torch oracles dominate a cold run, and the driver can only
build one artifact at a time beside the backends. Here each pool process is
handed a case by its path and the options that draw it, draws its instances
again (draws are deterministic, so the ids and inputs are the driver's), and
builds every (instance, exporter, opset) artifact into the shared cache. The
driver waits for a case's prefetch before staging its first instance, then
finds everything cached: the order of results and their ids are the same as
without a pool. A prefetch that fails costs nothing but time: the driver
builds the artifact itself and records whatever goes wrong, as it always did.

Only cases the installed packs provide can be prefetched (a pool process
finds them by path); cases handed to `engine.run` as objects are built by
the driver.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import sys
import threading
import time
import types
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, InvalidStateError, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .export import ArtifactCache, OracleError, build_artifact
from .generate import Cover, discover_cases, draw_modes, jobs_of, select_cases
from .model import Values
from .replay import for_drawing
from .runlog import warnings_to
from .timing import StageClock


@dataclass(frozen=True)
class CaseJob:
    """What a pool process needs to draw a case's instances as the driver did and build their artifacts."""

    path: str
    cache_dir: str
    seed: int
    max_examples: int
    modes: tuple[str, ...]
    cover: str
    exporters: tuple[str, ...]
    opsets: tuple[int, ...]
    #: The run's log, where this process's warnings go too ("" for none).
    log: str = ""
    #: The results store whose example database the driver replayed from ("" for none): drawn the same here.
    replay_db: str = ""


def default_workers() -> int:
    """Cores left beside the backend workers and the driver: one less than the machine has, at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


def prefetch_case(job: CaseJob) -> dict[str, Any]:
    """Build every artifact of one case into the cache; returns the stage timings it spent, and how many
    artifacts it built by exporting and around a model another instance exported."""
    doing = [job.path]
    with warnings_to(Path(job.log) if job.log else None, doing):
        return _prefetch(job, doing)


def _prefetch(job: CaseJob, doing: list[str]) -> dict[str, Any]:
    clock = StageClock()
    exported = shared = 0
    models: dict[Path, None] = {}
    cache = ArtifactCache(Path(job.cache_dir))
    (case,) = select_cases(discover_cases(Path(job.cache_dir), job.path), job.path, include_opt_in=True)
    with clock.stage("draw"):
        modes = [Values(m) for m in job.modes]
        examples = for_drawing(Path(job.replay_db)) if job.replay_db else None
        instances = draw_modes(
            case, seed=job.seed, max_examples=job.max_examples, modes=modes, cover=Cover(job.cover), examples=examples
        )
    for instance, exporter, opset in jobs_of(instances, job.exporters, job.opsets):
        if instance.prebuilt is None and opset < case.min_opset:
            continue
        doing[0] = f"{instance.id} {exporter} opset {opset}"
        try:
            artifact = build_artifact(instance, exporter, opset, cache, clock)
        except OracleError:
            continue  # the driver meets it again and records the skip
        exported += artifact.exported
        shared += artifact.fresh and not artifact.exported
        if not artifact.export_error:
            models[str(artifact.model_path)] = None
    return {"stages": clock.to_dict()["stages"], "exported": exported, "shared": shared, "models": list(models)}


def prepare_ahead(backends: Sequence[Any], models: Sequence[str], log: str = "") -> dict[str, Any]:
    """Let each backend fill its compile cache with a case's models (`prepare_ahead`); returns the time.

    What fails here costs only time: the backend's worker meets each model in `prepare` and records it.
    """
    clock = StageClock()
    with warnings_to(Path(log) if log else None, [f"compiling {len(models)} models ahead"]):
        for backend in backends:
            with clock.stage("prepare"), contextlib.suppress(Exception):
                backend.prepare_ahead([Path(m) for m in models])
    return {"stages": clock.to_dict()["stages"]}


#: Seconds between a pool process's checks that the driver is still alive.
ORPHAN_CHECK_S = 1.0


def outlive_not(driver: int) -> None:
    """Make this pool process exit once the driver is gone.

    A driver killed outright (SIGKILL, a CI job's time limit) cannot shut its pool down, and an orphaned pool
    process would go on exporting the whole selection for hours.
    """

    def watch() -> None:
        while os.getppid() == driver:
            time.sleep(ORPHAN_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="outlive-not", daemon=True).start()


@contextlib.contextmanager
def _callers_main_hidden() -> Iterator[None]:
    """Start spawned processes from a blank `__main__`, not the caller's.

    Spawn re-imports the caller's main module in each process: a user's script without a main guard would
    run again there, fail multiprocessing's bootstrapping check and kill the pool (the driver then exports
    everything itself, under a traceback per process). A pool process needs only this package and the case
    packs, which it finds by entry point, never the caller's script.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class Prefetcher:
    """The pools and the futures of the cases submitted to them, in the order the driver will need them.

    With `ahead` (backends that define `prepare_ahead`; they are picklable, as they travel to their workers), a
    process of its own compiles each case's models as soon as they are exported: beside the exports of the
    next cases and the backends running the earlier ones, not in their way.
    """

    def __init__(self, jobs: Sequence[CaseJob], workers: int, ahead: Sequence[Any] = ()) -> None:
        # spawn, not fork: the driver holds torch's thread pools, a SQLite connection and the progress thread.
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(workers, mp_context=context, initializer=outlive_not, initargs=(os.getpid(),))
        self._backends = tuple(ahead)
        self._ahead_pool = (
            ProcessPoolExecutor(1, mp_context=context, initializer=outlive_not, initargs=(os.getpid(),))
            if self._backends
            else None
        )
        self._ahead: dict[str, Future[dict[str, Any]]] = {}
        self._log = next((j.log for j in jobs), "")
        with _callers_main_hidden():  # the pools' processes start at their first submits
            if self._ahead_pool is not None:
                self._ahead_pool.submit(os.getpid)  # started now, where the caller's main is hidden
            self._futures: dict[str, Future[dict[str, Any]]] = {}
            for j in jobs:
                self._futures[j.path] = future = self._pool.submit(prefetch_case, j)
                if self._ahead_pool is not None:
                    self._ahead[j.path] = chained = Future()
                    future.add_done_callback(functools.partial(self._compile_ahead, chained))

    def _compile_ahead(self, chained: Future[dict[str, Any]], exported: Future[dict[str, Any]]) -> None:
        """Once a case is exported, hand its models to the compiling process; `chained` gets what it says."""
        try:
            models = exported.result().get("models", [])
            if not models or self._ahead_pool is None:
                _settle(chained, {})
                return
            compiled = self._ahead_pool.submit(prepare_ahead, self._backends, models, self._log)
        except BaseException:  # a failed or cancelled prefetch, a pool already shut down: nothing to compile
            _settle(chained, {})
            return
        compiled.add_done_callback(
            lambda f: _settle(chained, {} if f.cancelled() or f.exception() is not None else f.result())
        )

    def wait(self, path: str) -> Mapping[str, Any]:
        """Block until the case's artifacts are cached (and compiled ahead); what `prefetch_case` says, with the
        time spent compiling ahead added to its stages, or {} where it failed."""
        future = self._futures.pop(path, None)
        if future is None:
            return {}
        try:
            done = dict(future.result())
        except Exception:  # a pool process that died or a case that cannot draw: the driver does it itself
            return {}
        chained = self._ahead.pop(path, None)
        compiled = chained.result() if chained is not None else {}
        stages = {k: dict(v) for k, v in done.get("stages", {}).items()}
        for stage, spent in compiled.get("stages", {}).items():
            row = stages.setdefault(stage, {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0})
            for key in ("wall_s", "cpu_s", "calls"):
                row[key] += spent[key]
        done["stages"] = stages
        return done

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._ahead_pool is not None:
            self._ahead_pool.shutdown(wait=True, cancel_futures=True)
        for chained in self._ahead.values():
            _settle(chained, {})


def _settle(future: Future[dict[str, Any]], value: dict[str, Any]) -> None:
    """Give a chained future its value unless it has one: the pools' callbacks and `close` may both try."""
    with contextlib.suppress(InvalidStateError):
        future.set_result(value)
