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
import multiprocessing
import os
import sys
import threading
import time
import types
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
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
    return {"stages": clock.to_dict()["stages"], "exported": exported, "shared": shared}


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
    """The pool and the futures of the cases submitted to it, in the order the driver will need them."""

    def __init__(self, jobs: Sequence[CaseJob], workers: int) -> None:
        # spawn, not fork: the driver holds torch's thread pools, a SQLite connection and the progress thread.
        self._pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=outlive_not, initargs=(os.getpid(),)
        )
        with _callers_main_hidden():  # the pool's processes start at the first submits
            self._futures: dict[str, Future[dict[str, Any]]] = {
                j.path: self._pool.submit(prefetch_case, j) for j in jobs
            }

    def wait(self, path: str) -> Mapping[str, Any]:
        """Block until the case's artifacts are cached; what `prefetch_case` says, or {} where it failed."""
        future = self._futures.pop(path, None)
        if future is None:
            return {}
        try:
            return future.result()
        except Exception:  # a pool process that died or a case that cannot draw: the driver does it itself
            return {}

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
