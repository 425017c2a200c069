"""The engine: drives one run through generate, export, execute, compare and record.

Front ends (the CLI, the pytest plugin) call `run` and only translate options
and progress; none of them reaches into a stage directly.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import hashlib
import importlib.metadata
import json
import os
import platform
import secrets
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from . import __version__
from .backends import backend_version, select_backends
from .compare import apply_expectations, cached_agreement, judge_outputs
from .execute import (
    DEFAULT_MEMORY_LIMIT_MB,
    DEFAULT_TIMEOUT_S,
    Collect,
    DaskExecutor,
    Execution,
    Executor,
    InProcessExecutor,
    ProcessExecutor,
    execute_all,
)
from .expectations import ExpectationSet, builtin_path
from .expectations import load as load_expectations
from .export import (
    DEFAULT_OPSET,
    EXPORTERS,
    ArtifactCache,
    OracleError,
    artifact_key,
    build_artifact,
    default_cache_dir,
)
from .generate import CaseError, Cover, discover_cases, draw_modes, jobs_of, select_cases
from .graphs import op_uses
from .model import (
    FAILING,
    PREBUILT_EXPORTER,
    Artifact,
    Backend,
    Case,
    CaseInstance,
    Metrics,
    OpUse,
    OracleAgreement,
    Outcome,
    Result,
    Values,
    error_text,
)
from .prefetch import CaseJob, Prefetcher, default_workers
from .replay import for_drawing, remember
from .runlog import warnings_to
from .store import Store, default_db_path
from .timing import StageClock


@dataclass(frozen=True)
class RunOptions:
    cases: str | None = None
    backends: str | None = None
    exporters: tuple[str, ...] = ("dynamo",)
    opset: int = DEFAULT_OPSET
    max_examples: int = 5
    seed: int = 0
    special_values: bool = False
    #: Every opset to export at (empty: `opset` alone); each instance runs at each.
    opsets: tuple[int, ...] = ()
    #: Value modes to draw (`plain`, `special`, `wide`; empty: special or plain as `special_values` says).
    values: tuple[str, ...] = ()
    #: Covering beyond the random draws (`none`, `each`, `pairs`): see `generate.Cover`.
    cover: str = "none"
    #: Run the opt-in case packs (ONNX's node tests) too when no `cases` pattern is given.
    opt_in: bool = False
    #: The preset the options came from, recorded with the run and named in its report.
    preset: str | None = None
    #: Only these results (`case_id|backend|exporter|opset`, as `findings.result_key` writes them): what
    #: `run --failed` re-runs. Empty: every instance on every backend.
    only: tuple[str, ...] = ()
    #: Processes exporting ahead of the backends (`prefetch.py`); None: one less than the cores, at least one,
    #: when the run has cases enough to gain from it; 0: the driver exports each artifact itself.
    export_workers: int | None = None
    #: Draw the failing draws earlier runs kept (`replay.py`) first, and keep this run's when it completes.
    replay: bool = True

    @property
    def opset_list(self) -> tuple[int, ...]:
        return self.opsets or (self.opset,)

    @property
    def value_modes(self) -> tuple[Values, ...]:
        if self.values:
            return tuple(Values(v) for v in self.values)
        return (Values.SPECIAL,) if self.special_values else (Values.PLAIN,)

    cache_dir: Path = field(default_factory=default_cache_dir)
    db: Path = field(default_factory=default_db_path)
    command: str | None = None
    #: Backends run in worker processes unless this is False (faster, but a segfault ends the run).
    isolate: bool = True
    timeout: float = DEFAULT_TIMEOUT_S
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB
    #: A Dask scheduler's address: backends then run on its workers, not in local worker processes.
    dask: str | None = None
    #: Known failures to turn into xfail; the reviewed built-in file by default, None for none.
    expectations: Path | None = field(default_factory=builtin_path)
    #: The series this run belongs to (`conformance nightly` sets one); reports compare runs of one profile.
    profile: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **overrides: Any) -> RunOptions:
        """The options a run recorded (`to_dict`), to resume it as it was started."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in _KEPT_APART or f.name not in data:
                continue
            value = data[f.name]
            if f.name in _PATHS:
                if value is None and f.name != "expectations":
                    continue  # no recorded folder: this machine's default
                value = None if value is None else Path(value)
            elif isinstance(value, list):
                value = tuple(value)
            values[f.name] = value
        return cls(**{**values, **overrides})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in _KEPT_APART:
                continue
            value = getattr(self, f.name)
            out[f.name] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
        return out


#: Recorded by the run itself (its command and series), not among its options.
_KEPT_APART = ("command", "profile")
_PATHS = ("cache_dir", "db", "expectations")


@dataclass
class RunSummary:
    run_id: str
    results: list[Result]
    exported: int = 0
    #: Artifacts built now around a model another instance exported (values differ, the graph does not).
    shared: int = 0
    cached: int = 0
    clock: StageClock = field(default_factory=StageClock)
    #: The run's log: the warnings drawing, exporting and the oracles raised (written only if there were any).
    log: Path | None = None
    #: Instances drawn again from the example database, and the failing draws saved to it / the replayed ones
    #: deleted from it (they pass now) when the run completed.
    replayed: int = 0
    kept: int = 0
    forgotten: int = 0

    @property
    def counts(self) -> Counter[str]:
        return Counter(str(r.outcome) for r in self.results)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.outcome in FAILING]

    def broken_adapters(self) -> dict[str, str]:
        """Backends whose every result says it never ran anything, where another backend passed: a broken
        adapter or install, not hundreds of findings. Backend name to what its results were."""
        return broken_adapters(self.results)


#: Outcomes that say a backend never produced an answer; a backend with only these (and many) is suspect.
_NEVER_RAN = frozenset({Outcome.SKIP, Outcome.LOAD_FAIL, Outcome.UNSUPPORTED, Outcome.CRASH, Outcome.TIMEOUT})
#: Results a backend needs before all of them failing to run says more about the adapter than the cases.
BROKEN_ADAPTER_MIN_RESULTS = 10


def broken_adapters(results: Sequence[Result]) -> dict[str, str]:
    by_backend: dict[str, Counter[str]] = {}
    for r in results:
        if r.outcome is not Outcome.EXPORT_FAIL:  # no model reached any backend: says nothing of one
            by_backend.setdefault(r.backend, Counter())[str(r.outcome)] += 1
    someone_passed = any(c.get("pass") or c.get("xpass") for c in by_backend.values())
    return {
        backend: ", ".join(f"{n} {o}" for o, n in counts.most_common())
        for backend, counts in by_backend.items()
        if someone_passed
        and sum(counts.values()) >= BROKEN_ADAPTER_MIN_RESULTS
        and set(counts) <= {str(o) for o in _NEVER_RAN}
    }


class Progress:
    """What a front end hears about a run; the default hears nothing."""

    def planned(self, total: int) -> None: ...

    def result(self, result: Result) -> None: ...

    def stage(self, what: str) -> None:
        """What the driver is doing now (drawing, exporting an instance, waiting for the export pool)."""


def new_run_id() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def environment(backend_versions: Mapping[str, str]) -> dict[str, Any]:
    """Versions and machine facts that a result depends on, recorded with every run."""
    import numpy
    import onnx

    env: dict[str, Any] = {
        "conformance": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "numpy": numpy.__version__,
        "onnx": onnx.__version__,
        "backends": dict(backend_versions),
    }
    # The installed version, read without importing torch: certifying a materialized profile never needs it.
    try:
        env["torch"] = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        env["torch"] = None
    return env


def default_executor(options: RunOptions) -> Executor:
    if options.dask:
        try:
            return DaskExecutor.connect(options.dask, options.timeout)
        except Exception as exc:  # unreachable scheduler, bad address, no distributed
            raise CaseError(f"cannot use the Dask scheduler {options.dask!r}: {error_text(exc)}") from exc
    if options.isolate:
        return ProcessExecutor(options.timeout, options.memory_limit_mb)
    return InProcessExecutor()


def run(
    options: RunOptions,
    *,
    progress: Progress | None = None,
    executor: Executor | None = None,
    run_id: str | None = None,
    cases: Sequence[Case] | None = None,
    backends: Sequence[Backend] | None = None,
    resume: bool = False,
) -> RunSummary:
    """Run the selected cases on the selected backends and record every result as it arrives.

    `cases` replaces the installed case packs and `backends` the selection by
    name (the model-check API and tests pass their own); `options.cases` still
    filters the cases. With `resume`, `run_id` names a stopped run: what it
    recorded stays, and only the instances it had not finished run, in the
    same environment (or not at all).
    """
    if resume and run_id is None:
        raise CaseError("resuming needs the id of the run to resume")
    progress = progress or Progress()
    unknown = [e for e in options.exporters if e not in EXPORTERS]
    if unknown:
        raise CaseError(f"unknown exporter {unknown[0]!r}; choose from {', '.join(EXPORTERS)}")
    # Cases are chosen before backends are probed and workers start: a glob that matches nothing is a
    # usage error answered at once, not after eight availability checks and eight spawns.
    selected = select_cases(
        discover_cases(options.cache_dir, options.cases, opt_in=options.opt_in) if cases is None else cases,
        options.cases,
        include_opt_in=options.opt_in,
    )
    backends = list(backends) if backends is not None else select_backends(options.backends)
    if executor is None:
        executor = default_executor(options)
    executor.start(backends)  # worker start-up overlaps drawing the instances
    try:
        return _run(options, progress, executor, run_id, selected, backends, resume, prefetchable=cases is None)
    finally:
        executor.close()


def _run(
    options: RunOptions,
    progress: Progress,
    executor: Executor,
    run_id: str | None,
    selected: Sequence[Case],
    backends: list[Backend],
    resume: bool,
    *,
    prefetchable: bool = False,
) -> RunSummary:
    versions = {b.name: backend_version(b) for b in backends}
    cache = ArtifactCache(Path(options.cache_dir))
    expectations = ExpectationSet.of(load_expectations(options.expectations) if options.expectations else [])

    clock = StageClock()
    summary = RunSummary(run_id or new_run_id(), [], clock=clock)
    summary.log = Path(options.db).parent / "logs" / f"{summary.run_id}.log"
    # The selected cases' sources: a resumed run must draw what the stopped one drew.
    env = {**environment(versions), "cases": _fingerprint(f"{c.path}:{c.source_hash}" for c in selected)}
    kept: list[Result] = []
    if resume:  # before drawing: a run that cannot resume says so at once
        with Store(options.db, create=True) as store:
            kept = _resumable(store, summary.run_id, env)
    doing = ["drawing"]  # what the run's log names a warning's source by
    with clock.stage("draw"), warnings_to(summary.log, doing):
        planned = _draw_all(selected, options, Cover(options.cover))
    summary.replayed = sum(i.replayed for i in planned)

    with Store(options.db, create=True) as store:
        jobs = list(jobs_of(planned, options.exporters, options.opset_list))
        only = _only(options.only)
        if only:
            jobs = [(i, e, o) for i, e, o in jobs if _wanted(only, i, e, o)]
        if resume:
            summary.results.extend(kept)
            # A prebuilt instance runs once, at its model's own opset, whatever the run's.
            done = {
                (r.case_id, r.exporter, None if r.exporter == PREBUILT_EXPORTER else r.opset) for r in summary.results
            }
            jobs = [(i, e, o) for i, e, o in jobs if (i.id, e, None if i.prebuilt is not None else o) not in done]
            store.reopen_run(summary.run_id)
        else:
            store.begin_run(
                summary.run_id,
                utc_now(),
                seed=options.seed,
                environment=env,
                options=options.to_dict(),
                command=options.command,
                profile=options.profile,
            )
        progress.planned(sum(len(_backends_for(i, e, o, backends, only)) for i, e, o in jobs))

        def record(results: list[Result], ops: tuple[OpUse, ...] | None = None) -> None:
            results = apply_expectations(results, expectations, summary.run_id, ops)
            with clock.stage("store"):
                store.record_many(results)
            summary.results.extend(results)
            for r in results:
                progress.result(r)

        ops_of_model: dict[Path, tuple[OpUse, ...]] = {}  # instances sharing a model share its ops

        def record_ops(staged: Staged) -> None:
            with clock.stage("store"):
                store.record_graph_ops(
                    summary.run_id, staged.instance.id, staged.exporter, staged.opset, ops_of(staged)
                )

        def ops_of(staged: Staged) -> tuple[OpUse, ...]:
            path = staged.artifact.model_path
            if path not in ops_of_model:
                with clock.stage("judge"):
                    ops_of_model[path] = graph_ops(path)
            return ops_of_model[path]

        # Up to the executor's window of instances wait on the backends while the driver judges the oldest and
        # builds the next: with workers, the harness's own work overlaps the backends', and a fast backend runs
        # ahead of a slow one. Results are recorded in the jobs' order whatever order the backends finish in.
        pending: collections.deque[tuple[Staged, Collect, list[Backend]] | list[Result]] = collections.deque()
        window = max(1, getattr(executor, "window", 1))

        def settle(item: tuple[Staged, Collect, list[Backend]] | list[Result]) -> None:
            if isinstance(item, list):
                record(item)
            else:
                staged, collect, on = item
                record(judge_instance(staged, collect(), on, versions, clock), ops_of(staged))

        status = "interrupted"
        # Compiling ahead fills the backends' caches on this machine: of no use to workers elsewhere.
        ahead = [] if isinstance(executor, DaskExecutor) else [b for b in backends if _ahead(b)]
        prefetcher = _prefetcher(options, jobs, summary.log, ahead) if prefetchable else None
        prefetched: set[str] = set()
        try:
            with warnings_to(summary.log, doing):
                for instance, exporter, opset in jobs:
                    doing[0] = f"{instance.id} {exporter} opset {opset}"
                    progress.stage(f"{instance.case.path} ({exporter}, opset {opset})")
                    if prefetcher is not None and instance.case.path not in prefetched:
                        prefetched.add(instance.case.path)
                        ahead = prefetcher.wait(instance.case.path)
                        for stage, spent in ahead.get("stages", {}).items():
                            clock.add(stage, spent["wall_s"], spent["cpu_s"], spent["calls"])
                        # The driver finds these in the cache; they were built now, by the pool.
                        summary.exported += ahead.get("exported", 0)
                        summary.shared += ahead.get("shared", 0)
                        summary.cached -= ahead.get("exported", 0) + ahead.get("shared", 0)
                    on = _backends_for(instance, exporter, opset, backends, only)
                    staged = stage_instance(instance, exporter, opset, on, versions, cache, summary, clock)
                    # Built while the backends ran the earlier ones; sent once fewer than `window` are out.
                    while len(pending) >= window or (pending and isinstance(pending[0], list)):
                        settle(pending.popleft())
                    if isinstance(staged, Staged):
                        record_ops(staged)
                        pending.append((staged, executor.submit(on, staged.artifact), on))
                    else:
                        pending.append(staged)
                while pending:
                    settle(pending.popleft())
            status = "complete"
        except Exception:
            status = "failed"
            raise
        finally:
            try:
                # What the backends already ran is judged and kept, also when the run stops on an error
                # (not on Ctrl-C: that must not wait for a slow backend).
                while pending and status == "failed":
                    with contextlib.suppress(Exception):  # the error that stopped the run is the one to report
                        settle(pending.popleft())
            finally:
                if prefetcher is not None:
                    prefetcher.close()
                store.finish_run(summary.run_id, utc_now(), status, timings=clock.to_dict())
    if options.replay:
        summary.kept, summary.forgotten = remember(options.db, planned, summary.results)
    return summary


def _only(keys: Sequence[str]) -> dict[tuple[str, str, int], set[str]]:
    """`RunOptions.only` as (case id, exporter, opset) -> the backends to run it on."""
    out: dict[tuple[str, str, int], set[str]] = {}
    for key in keys:
        case_id, backend, exporter, opset = key.rsplit("|", 3)
        out.setdefault((case_id, exporter, int(opset)), set()).add(backend)
    return out


def _backends_for(
    instance: CaseInstance,
    exporter: str,
    opset: int,
    backends: list[Backend],
    only: Mapping[tuple[str, str, int], set[str]],
) -> list[Backend]:
    if not only:
        return backends
    wanted = _wanted(only, instance, exporter, opset)
    return [b for b in backends if b.name in wanted]


def _wanted(
    only: Mapping[tuple[str, str, int], set[str]], instance: CaseInstance, exporter: str, opset: int
) -> set[str]:
    if instance.prebuilt is not None:  # recorded at its model's own opset, whatever the run's
        return {b for (case_id, e, _), names in only.items() if case_id == instance.id and e == exporter for b in names}
    return only.get((instance.id, exporter, opset), set())


#: Fewer cases than this are exported by the driver unless `export_workers` says otherwise: starting a pool
#: process (a fresh interpreter importing torch) costs seconds, more than a handful of exports gains.
PREFETCH_MIN_CASES = 4


def _ahead(backend: Backend) -> bool:
    return callable(getattr(backend, "prepare_ahead", None))


def _prefetcher(
    options: RunOptions, jobs: Sequence[tuple[CaseInstance, str, int]], log: Path | None, ahead: Sequence[Backend] = ()
) -> Prefetcher | None:
    # Only cases with an artifact still to build: a warm run starts no pool (a spawned interpreter importing
    # torch and drawing every case again costs more than reading the cache).
    cache = ArtifactCache(Path(options.cache_dir))
    missing = [
        i for i, e, o in jobs if i.prebuilt is None and not (cache.path(artifact_key(i, e, o)) / "meta.json").exists()
    ]
    paths = list(dict.fromkeys(i.case.path for i in missing))
    workers = options.export_workers
    if workers is None:
        workers = default_workers() if len(paths) >= PREFETCH_MIN_CASES else 0
    if workers <= 0 or not paths:
        return None
    modes = tuple(str(m) for m in options.value_modes)
    draw = (str(options.cache_dir), options.seed, options.max_examples, modes, options.cover)
    matrix = (tuple(options.exporters), options.opset_list, str(log or ""))
    replay_db = str(options.db) if options.replay else ""
    return Prefetcher([CaseJob(p, *draw, *matrix, replay_db=replay_db) for p in paths], workers, ahead)


def _draw_all(selected: Sequence[Case], options: RunOptions, cover: Cover) -> list[CaseInstance]:
    planned: list[CaseInstance] = []
    examples = for_drawing(options.db) if options.replay else None
    for c in selected:
        try:
            planned.extend(
                draw_modes(
                    c,
                    seed=options.seed,
                    max_examples=options.max_examples,
                    modes=options.value_modes,
                    cover=cover,
                    examples=examples,
                )
            )
        except Exception as exc:
            raise CaseError(f"case {c.path} cannot draw an instance: {type(exc).__name__}: {exc}") from exc
    return planned


def _fingerprint(parts: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()[:16]


def _resumable(store: Store, run_id: str, env: Mapping[str, Any]) -> list[Result]:
    """What a stopped run recorded, provided it ran with the versions this one would use."""
    record = store.run(run_id)
    keys = ("conformance", "onnx", "numpy", "torch", "backends", "cases")
    changed = [k for k in keys if record.environment.get(k) != env.get(k)]
    if changed == ["cases"]:
        raise CaseError(f"cannot resume run {run_id}: its cases' sources changed since; start a new run")
    if changed:
        was, now = record.environment.get(changed[0]), env.get(changed[0])
        raise CaseError(
            f"cannot resume run {run_id}: its {changed[0]} was {was}, now {now}; its results would not compare"
        )
    return store.results(run_id)


@dataclass(frozen=True)
class Staged:
    """An instance with its artifact built and its oracles compared: it only waits for the backends."""

    instance: CaseInstance
    exporter: str
    opset: int
    artifact: Artifact
    agreement: OracleAgreement
    why: str


def _result(
    instance: CaseInstance,
    exporter: str,
    opset: int,
    backend: Backend,
    versions: Mapping[str, str],
    outcome: Outcome,
    oracle: OracleAgreement,
    started: float,
    *,
    metrics: Metrics | None = None,
    message: str = "",
) -> Result:
    return Result(
        run_id="",
        case_id=instance.id,
        case=instance.case.name,
        category=instance.case.category,
        backend=backend.name,
        backend_version=versions[backend.name],
        exporter=exporter,
        opset=opset,
        outcome=outcome,
        oracle=oracle,
        metrics=metrics or Metrics(),
        message=message,
        params=instance.params,
        seed=instance.seed,
        duration_s=time.perf_counter() - started,
        values=instance.values,
    )


def stage_instance(
    instance: CaseInstance,
    exporter: str,
    opset: int,
    backends: Sequence[Backend],
    versions: Mapping[str, str],
    cache: ArtifactCache,
    summary: RunSummary | None = None,
    clock: StageClock | None = None,
) -> Staged | list[Result]:
    """Build (or load) the artifact and compare the oracles; the results at once where no backend can run."""
    started = time.perf_counter()
    clock = clock or StageClock()

    def every_backend(outcome: Outcome, message: str, at_opset: int = opset) -> list[Result]:
        return [
            _result(
                instance, exporter, at_opset, b, versions, outcome, OracleAgreement.NO_SPEC, started, message=message
            )
            for b in backends
        ]

    if instance.prebuilt is None and opset < instance.case.min_opset:
        return every_backend(Outcome.SKIP, f"case needs opset {instance.case.min_opset}, run uses {opset}")
    try:
        artifact = build_artifact(instance, exporter, opset, cache, clock)
    except OracleError as exc:
        return every_backend(Outcome.SKIP, str(exc))
    if instance.prebuilt is not None:
        opset = artifact.opset  # the model's own, not the run's: nothing was exported
    if summary is not None:
        summary.exported += artifact.exported
        summary.shared += artifact.fresh and not artifact.exported
        summary.cached += not artifact.fresh
    if artifact.export_error:
        return every_backend(Outcome.EXPORT_FAIL, artifact.export_error, opset)
    with clock.stage("oracles"):
        agreement, why = cached_agreement(instance, artifact)
    return Staged(instance, exporter, opset, artifact, agreement, why)


def judge_instance(
    staged: Staged,
    executions: Sequence[Execution],
    backends: Sequence[Backend],
    versions: Mapping[str, str],
    clock: StageClock | None = None,
) -> list[Result]:
    """Each backend's execution judged against the oracles."""
    clock = clock or StageClock()
    with clock.stage("judge"):
        results = _judge(staged, executions, backends, versions)
    for backend, execution in zip(backends, executions, strict=True):
        clock.backend(backend.name, execution.prepare_seconds, execution.run_seconds)
    return results


def _judge(
    staged: Staged, executions: Sequence[Execution], backends: Sequence[Backend], versions: Mapping[str, str]
) -> list[Result]:
    instance, artifact, agreement, why = staged.instance, staged.artifact, staged.agreement, staged.why
    diverge = why if agreement is OracleAgreement.DIVERGE else ""
    results = []
    for backend, execution in zip(backends, executions, strict=True):
        # A result's duration is its backend's own prepare and run, plus judging it.
        started = time.perf_counter() - execution.prepare_seconds - execution.run_seconds
        stamp = (instance, staged.exporter, staged.opset, backend, versions)
        if execution.failure is not None:
            results.append(_result(*stamp, execution.failure, agreement, started, message=execution.message))
            continue
        assert execution.outputs is not None
        verdict = judge_outputs(instance, artifact, execution.outputs, diverge)
        message = verdict.message or (why if agreement is OracleAgreement.NO_SPEC else "")
        results.append(_result(*stamp, verdict.outcome, agreement, started, metrics=verdict.metrics, message=message))
    return results


#: Beside a cached model: its (op, dtype) kinds of node, so a warm run parses and infers no model for them.
OPS_FILE = "ops.json"


def graph_ops(model_path: Path) -> tuple[OpUse, ...]:
    """The (op, dtype) kinds of node an exported model holds, for the op support matrix; none where no model
    was written or it does not parse (the backends' results say so, not the matrix).

    Kept beside the model the first time (shape inference over every model was most of a warm node-test
    run's judging); a sidecar that cannot be read or written is computed again.
    """
    sidecar = model_path.with_name(OPS_FILE)
    with contextlib.suppress(OSError, ValueError, TypeError):
        return tuple(OpUse(op, dtype) for op, dtype in json.loads(sidecar.read_text()))
    try:
        ops = op_uses(model_path.read_bytes())
    except Exception:
        return ()
    with contextlib.suppress(OSError):
        tmp = sidecar.with_name(f".{OPS_FILE}.{os.getpid()}")
        tmp.write_text(json.dumps([[u.op, u.dtype] for u in ops]))
        os.replace(tmp, sidecar)
    return ops


def run_instance(
    instance: CaseInstance,
    exporter: str,
    opset: int,
    backends: Sequence[Backend],
    versions: Mapping[str, str],
    cache: ArtifactCache,
    executor: Executor,
    summary: RunSummary | None = None,
) -> list[Result]:
    """One instance on one exporter, judged on each backend (results not yet recorded)."""
    staged = stage_instance(instance, exporter, opset, backends, versions, cache, summary)
    if not isinstance(staged, Staged):
        return staged
    return judge_instance(staged, execute_all(executor, backends, staged.artifact), backends, versions)
