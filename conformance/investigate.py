"""Investigate: each backend finding of a run localized to its culprit node, reduced, and bundled as a repro.

This is where the findings stages meet the engine: a finding names one of
its results, the run's recorded options say how that instance was drawn,
the artifact cache holds its model and inputs (rebuilt if the cache lost
them), and the backend runs in this process through its adapter. The
outcome of each investigation is kept in the store beside the results, so
reports and `findings` show the culprit node and the bundle without doing it
again.

Only a backend's own failures are localized: an export failure has no
model, and a divergence between torch and the reference evaluator is about
the graph (the reference evaluator is the yardstick here); those are
recorded as not investigated, with the reason. A crash or a timeout would
take this process down or hold it, so such a finding is localized and
reduced with the backend in a worker process (`isolated`), as the engine
ran it: the culprit is the first node that kills the backend alone.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .backends import backend_version, select_backends
from .engine import RunOptions
from .export import ArtifactCache, build_artifact
from .findings import REFERENCE, Finding, Party, cluster, signature_op
from .generate import discover_cases, draw_instances, select_cases
from .localize import BackendDied, Runner, in_process, localize
from .model import Artifact, CaseInstance, Oracles, Outcome, Unspecified, error_text
from .store import Localized, Store
from .timing import StageClock

if TYPE_CHECKING:
    from .reduce import Expect

#: Outcomes a lone node can show: the backend ran and answered something else, or it died.
LOCALIZABLE = frozenset(
    {
        Outcome.MISMATCH,
        Outcome.SPECIAL,
        Outcome.SHAPE,
        Outcome.DTYPE,
        Outcome.RUN_ERROR,
        Outcome.LOAD_FAIL,
        Outcome.CRASH,
        Outcome.TIMEOUT,
    }
)
#: Outcomes that killed or held the backend: investigated with it in a worker process.
DEADLY = frozenset({Outcome.CRASH, Outcome.TIMEOUT})


@contextlib.contextmanager
def isolated(backend: Any, timeout: float) -> Iterator[Runner]:
    """A runner with the backend in a worker process, replaced after each death: a crash or a hang costs a
    `BackendDied`, not this process."""
    from .execute import ProcessExecutor

    executor = ProcessExecutor(timeout=timeout)
    executor.start([backend])
    with tempfile.TemporaryDirectory(prefix="isolated-") as tmp:
        count = 0

        def run(model: Any, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
            nonlocal count
            count += 1
            artifact = Artifact(
                f"isolated-{count}", Path(tmp) / str(count), "", 0, tuple(inputs), Oracles((), None, None)
            )
            artifact.directory.mkdir()
            artifact.model_path.write_bytes(model if isinstance(model, bytes) else model.SerializeToString())
            (execution,) = executor.submit([backend], artifact)()
            if execution.failure in DEADLY:
                # Its first line says why (the panic); the stderr tail stays in the result, not in the evidence
                # every finding, report row and expectation reason quotes.
                raise BackendDied(execution.message.split("; stderr tail:", 1)[0])
            if execution.failure is not None or execution.outputs is None:
                raise RuntimeError(execution.message or str(execution.failure))
            return list(execution.outputs)

        try:
            yield run
        finally:
            executor.close()


@dataclass(frozen=True)
class Investigated:
    finding: Finding
    localized: Localized


def instance_of(run_options: dict[str, Any], case_id: str) -> CaseInstance:
    """The instance a recorded result ran, drawn again from the run's own options (same seed, same id)."""
    options = RunOptions.from_dict(run_options)
    path = case_id.split("[", 1)[0]
    (case,) = select_cases(discover_cases(Path(options.cache_dir), path), path, include_opt_in=True)
    for mode in options.value_modes:
        for instance in draw_instances(
            case, seed=options.seed, max_examples=options.max_examples, values=mode, cover=options.cover
        ):
            if instance.id == case_id:
                return instance
    raise LookupError(f"{case_id} is not drawn by its run's options any more (the case changed since the run)")


def artifact_of(run_options: dict[str, Any], case_id: str, exporter: str, opset: int) -> tuple[CaseInstance, Artifact]:
    instance = instance_of(run_options, case_id)
    cache = ArtifactCache(Path(RunOptions.from_dict(run_options).cache_dir))
    return instance, build_artifact(instance, exporter, opset, cache)


def whole_graph(
    loc: Any, artifact: Artifact, backend: Any, *, op_class: Any, check_signed_zero: bool, run: Runner | None = None
) -> Any:
    """A whole-graph finding's repro is the exported model itself, with its inputs (reduced after, if they shrink).

    Every node is right alone: the backend's rewrites of the graph are wrong,
    and the smallest thing that shows it is the graph.
    """
    import dataclasses

    from .compare import judge, tolerance_for
    from .oracle import run_reference

    model_bytes = artifact.model_path.read_bytes()
    expected = run_reference(model_bytes, artifact.inputs)
    tols = {i: tolerance_for(np.asarray(e).dtype, op_class) for i, e in enumerate(expected)}
    shown = dataclasses.replace(
        loc,
        model_bytes=model_bytes,
        inputs=tuple(artifact.inputs),
        expected=tuple(expected),
        tolerance=tols[0] if tols else loc.tolerance,
    )
    try:
        actual = tuple((run or in_process(backend))(model_bytes, list(artifact.inputs)))
    except BackendDied as exc:  # it dies on the whole graph: the repro shows that, not outputs
        return dataclasses.replace(shown, error=error_text(exc))
    verdict = judge(actual, expected, expected, tols, check_signed_zero=check_signed_zero)
    return dataclasses.replace(shown, actual=actual, outcome=verdict.outcome, metrics=verdict.metrics)


def _one_node(model_path: Path) -> bool:
    import onnx

    nodes = onnx.load(str(model_path), load_external_data=False).graph.node
    return sum(n.op_type != "Constant" for n in nodes) == 1


def why_not(f: Finding) -> str | None:
    """Why a finding is not localized on its backend, or None when it is."""
    if f.party != Party.BACKEND or f.backend in ("*", REFERENCE):
        return f"a {f.party} finding: the graph is in question, not one backend's kernel"
    if Outcome(f.outcome) not in LOCALIZABLE:
        return f"{f.outcome}: nothing a lone node can show"
    return None


def investigate(
    store: Store,
    run_id: str,
    out: Path | Callable[[Finding], Path],
    *,
    budget: float = 30.0,
    only: Sequence[str] = (),
    progress: Callable[[str], None] = lambda _: None,
) -> list[Investigated]:
    """Localize, reduce and bundle every backend finding of a run (or the `only` ids); each is recorded.

    Bundles go to `out/<finding id>`, or where `out(finding)` says. The time
    spent localizing and reducing is added to the run's recorded timings.
    """
    clock = StageClock()
    try:
        return _investigate(store, run_id, out, budget=budget, only=only, progress=progress, clock=clock)
    finally:
        if clock.calls:
            store.add_timings(store.run(run_id).id, clock.to_dict()["stages"])


def _investigate(
    store: Store,
    run_id: str,
    out: Path | Callable[[Finding], Path],
    *,
    budget: float,
    only: Sequence[str],
    progress: Callable[[str], None],
    clock: StageClock,
) -> list[Investigated]:
    bundle_dir = out if callable(out) else lambda f: Path(out) / f.id

    run = store.run(run_id)
    results = store.results(run.id)
    done = []
    stand_ins: dict[str, list[tuple[str, Runner]]] = {}
    for f in cluster(results):
        if only and f.id not in only:
            continue
        started = time.monotonic()
        example = f.example
        key = f"{example['case_id']}|{example['backend']}|{example['exporter']}|{example['opset']}"

        def keep(
            status: str,
            evidence: str,
            *,
            op: str | None = None,
            node: Any = None,
            repro: str | None = None,
            f: Finding = f,
            key: str = key,
            started: float = started,
        ) -> None:
            loc = Localized(f.id, key, status, op, node, evidence, repro, time.monotonic() - started)
            store.record_localization(run.id, loc)
            done.append(Investigated(f, loc))
            progress(f"{f.id} {f.backend} {f.op}: {status}{' ' + op if op else ''}{' -> ' + repro if repro else ''}")

        reason = why_not(f)
        if reason is not None:
            keep("not-investigated", reason)
            continue
        try:
            instance, artifact = artifact_of(run.options, example["case_id"], example["exporter"], example["opset"])
            (backend,) = select_backends([f.backend])
        except Exception as exc:  # the case changed, the backend went away: say so, keep going
            keep("error", f"{type(exc).__name__}: {exc}")
            continue
        if artifact.export_error or not artifact.model_path.exists():
            keep("error", "the artifact holds no model")
            continue
        signed_zero = Unspecified.SIGNED_ZERO not in instance.case.unspecified
        op_class = instance.case.op_class
        died = Outcome(f.outcome) in DEADLY
        if backend.name not in stand_ins:
            stand_ins[backend.name] = _stand_in(backend.name)
        with contextlib.ExitStack() as stack:
            # A lone run that hangs gets a third of the budget: the sweep must reach the node after it.
            runner = stack.enter_context(isolated(backend, budget / 3)) if died else in_process(backend)
            try:
                with clock.stage("localize"):
                    loc = localize(
                        artifact.model_path,
                        artifact.inputs,
                        backend,
                        op_class=op_class,
                        time_budget=budget,
                        check_signed_zero=signed_zero,
                        run=runner,
                        stand_ins=stand_ins[backend.name],
                        truth=artifact.oracles.source or None,
                    )
            except Exception as exc:  # the backend raised where localizing did not expect it: this finding only
                keep("error", f"localizing raised {error_text(exc)}")
                continue
            status, evidence, op, node, repro = _reduce_and_bundle(
                loc, artifact, backend, runner, died, op_class, signed_zero, budget, bundle_dir(f), clock,
                expect_with(stand_ins[backend.name]),
            )  # fmt: skip
        keep(status, evidence, op=op, node=node, repro=repro)
    return done


def expect_with(stand_ins: list[tuple[str, Runner]]) -> Expect:
    """What reducing compares with: the reference evaluator, else the first stand-in that runs the candidate
    (localizing checked the stand-ins against torch on the whole model; the reference's error is kept when
    none runs it)."""
    from .reduce import by_reference

    def expect(model_bytes: bytes, inputs: list[np.ndarray]) -> tuple[Sequence[np.ndarray], str]:
        try:
            return by_reference(model_bytes, inputs)
        except Exception as refused:
            for name, run in stand_ins:
                with contextlib.suppress(Exception):
                    return (
                        run(model_bytes, list(inputs)),
                        f"{name}, standing in for the ONNX reference evaluator, "
                        f"which cannot run this node: {error_text(refused)}",
                    )
            raise refused from None

    return expect


#: Backends whose intermediates stand in where the reference evaluator cannot run a model, first choice first.
STAND_INS = ("onnxruntime", "openvino")


def _stand_in(failing: str) -> list[tuple[str, Runner]]:
    """Other backends to take the reference evaluator's place, each checked against torch by `localize`."""
    out = []
    for name in STAND_INS:
        if failing.startswith(name):
            continue  # not the backend in question (onnxruntime-noopt is onnxruntime's kernels too)
        try:
            (other,) = select_backends([name])
        except Exception:
            continue
        out.append((name, in_process(other)))
    return out


def _reduce_and_bundle(
    loc: Any,
    artifact: Artifact,
    backend: Any,
    run: Runner,
    died: bool,
    op_class: Any,
    signed_zero: bool,
    budget: float,
    out: Path,
    clock: StageClock,
    expect: Expect,
) -> tuple[str, str, str | None, Any, str | None]:
    """A localization reduced and bundled: what `keep` records (status, evidence, op, node, repro)."""
    from .localize import Status
    from .reduce import reduced
    from .repro import NotReproduced, bundle_for

    node = loc.node.to_dict() if loc.node is not None else None
    op = signature_op(node) if node is not None and loc.status is Status.NODE else None
    if node is not None and loc.status is Status.WHOLE_GRAPH and _one_node(artifact.model_path):
        # Alone the node is right, yet the graph is nothing else: how the backend takes that node in a
        # graph (which outputs it keeps, how it types them) is the cause, and the node names it.
        op = signature_op(node)
    repro = None
    evidence = loc.evidence
    try:
        if loc.status is Status.WHOLE_GRAPH:
            with clock.stage("localize"):
                loc = whole_graph(loc, artifact, backend, op_class=op_class, check_signed_zero=signed_zero, run=run)
        if loc.status in (Status.NODE, Status.WHOLE_GRAPH) and loc.model_bytes:
            with clock.stage("reduce"):
                loc = reduced(
                    loc,
                    backend,
                    op_class=op_class,
                    time_budget=budget / 2,
                    check_signed_zero=signed_zero,
                    run=run,
                    died=died,
                    expect=expect,
                )
                repro = str(bundle_for(loc, out, backend_version=backend_version(backend)))
    except (NotReproduced, NotImplementedError) as exc:
        evidence += f" No bundle: {exc}"
    except Exception as exc:  # the backend raised while reducing or bundling: the localization stands
        evidence += f" No bundle: reducing raised {error_text(exc)}"
    return str(loc.status), evidence, op, node, repro
