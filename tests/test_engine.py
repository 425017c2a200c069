"""The engine end to end on real exports and real backends."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from conformance.backends.onnx_backend import CACHE_ENV
from conformance.casekit import Fn
from conformance.engine import RunOptions, run
from conformance.generate import Draw, case
from conformance.model import Case, OracleAgreement, Outcome, Spec, Tolerance
from conformance.store import Store

from .test_export import unexportable


def test_relu_passes_on_onnxruntime_and_reference(options: RunOptions) -> None:
    summary = run(replace(options, cases="relu,relu6", max_examples=3))
    assert summary.results and not summary.failed
    assert {r.backend for r in summary.results} == {"onnxruntime", "reference"}
    for r in summary.results:
        assert r.outcome is Outcome.PASS, r
        assert r.metrics.elements > 0 and r.backend_version


def test_export_failure_is_an_outcome_and_the_run_goes_on(options: RunOptions) -> None:
    @case("test")
    def fine(d: Draw) -> Spec:
        return Spec(Fn(torch.relu), (d.tensor("x", (3,), "float32"),))

    summary = run(options, cases=[unexportable, fine])
    by_case = {}
    for r in summary.results:
        by_case.setdefault(r.case, set()).add(r.outcome)
    assert by_case["unexportable"] == {Outcome.EXPORT_FAIL}
    assert by_case["fine"] == {Outcome.PASS}
    failed = [r for r in summary.results if r.outcome is Outcome.EXPORT_FAIL]
    assert all(r.message and "Traceback" not in r.message for r in failed)
    assert summary.failed == failed


@case("test", tolerance=Tolerance(0.0, 0.0))
def exp_exact(d: Draw) -> Spec:
    """exp judged with no tolerance at all: float32 cannot hold e^x exactly, so this must fail."""
    return Spec(Fn(torch.exp), (d.tensor("x", (64,), "float32", low=0.5, high=3),))


def test_a_tolerance_tighter_than_rounding_is_a_mismatch_with_metrics(options: RunOptions) -> None:
    summary = run(replace(options, max_examples=1), cases=[exp_exact])
    assert summary.results
    for r in summary.results:
        assert r.outcome is Outcome.MISMATCH, r
        assert 0 < r.metrics.max_ulp <= 4, "float32 exp should be off by rounding only"
        assert r.metrics.fraction_off > 0 and r.metrics.worst_index
        assert "elements off tolerance" in r.message


@case("test")
def half_sum_keepdim(d: Draw) -> Spec:
    """torch.sum over a float16 axis with keepdim: a case the dynamo exporter gets wrong."""
    return Spec(Fn(torch.sum, dim=1, keepdim=True), (d.tensor("x", (4, 5), "float16"),))


def test_oracle_divergence_is_not_counted_against_backends(options: RunOptions) -> None:
    """torch 2.13's dynamo exporter declares this float16 sum's output float32 (Cast, ReduceSum, no Cast back).

    torch and the reference evaluator then disagree on the dtype. That is the
    exporter's fault: each backend is judged against the spec it implements,
    and passes, while the result says the oracles diverge and why.
    """
    summary = run(replace(options, max_examples=1), cases=[half_sum_keepdim])
    assert summary.results
    for r in summary.results:
        assert r.oracle is OracleAgreement.DIVERGE, r
        assert r.outcome is Outcome.PASS, r
        assert "dtype float32, expected float16" in r.message


def test_every_result_is_in_the_store(options: RunOptions) -> None:
    summary = run(replace(options, cases="add,matmul"))
    with Store(options.db) as store:
        stored = store.results(summary.run_id)
        record = store.run(summary.run_id)
    assert [(r.case_id, r.backend, r.outcome) for r in stored] == [
        (r.case_id, r.backend, r.outcome) for r in summary.results
    ]
    assert record.status == "complete" and record.finished
    assert set(record.environment["backends"]) == {"onnxruntime", "reference"}
    assert record.environment["torch"].startswith("2.13")


def _prebuilt_add(expected_offset: float) -> Case:
    import numpy as np
    from onnx import TensorProto, helper

    from conformance.model import Case, OpClass, Prebuilt

    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["c"])],
        "add",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in ("a", "b")],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [2, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.full((2, 3), 0.5, np.float32)
    item = Prebuilt(model, (a, b), (a + b + np.float32(expected_offset),))
    return Case(name=f"add_offset_{expected_offset}", category="prebuilt", draw=lambda d: None,
                op_class=OpClass.ELEMENTWISE, prebuilt=lambda: [item])  # fmt: skip


def test_prebuilt_cases_run_without_an_exporter(options: RunOptions) -> None:
    summary = run(replace(options, exporters=("dynamo", "torchscript")), cases=[_prebuilt_add(0.0), _prebuilt_add(1.0)])
    by_case = {(r.case, r.backend): r for r in summary.results}
    assert len(summary.results) == 4, "one result per backend: prebuilt instances are not exported per exporter"
    for backend in ("onnxruntime", "reference"):
        ok, wrong = by_case[("add_offset_0.0", backend)], by_case[("add_offset_1.0", backend)]
        assert ok.outcome is Outcome.PASS and ok.exporter == "onnx" and ok.opset == 13
        assert wrong.outcome is Outcome.MISMATCH and wrong.metrics.max_abs_error == 1.0


@case("test")
def maxpool_indices_k1(d: Draw) -> Spec:
    """MaxPool, kernel 1, stride 2, ceil mode, with indices, on a batch of 2: the oracles disagree on the indices."""
    pool = torch.nn.MaxPool2d(kernel_size=1, stride=2, ceil_mode=True, return_indices=True)
    return Spec(pool, (d.tensor("x", (2, 1, 3, 2), "float32"),))


def test_a_backend_that_matches_torch_where_the_reference_evaluator_is_wrong_passes(options: RunOptions) -> None:
    """For the second batch item the exported graph on the reference evaluator gives index 6 where torch gives 0.

    The oracles diverge (the exporter's index arithmetic or the evaluator is in
    question, not the backend). onnxruntime matches torch and passes, the
    reference backend matches the spec oracle and passes, and both results say
    the oracles diverge, so the report lists the instance apart.
    """
    summary = run(replace(options, max_examples=1), cases=[maxpool_indices_k1])
    by_backend = {r.backend: r for r in summary.results}
    assert all(r.oracle is OracleAgreement.DIVERGE for r in summary.results), summary.results
    assert by_backend["onnxruntime"].outcome is Outcome.PASS
    assert "matches torch, not the reference evaluator" in by_backend["onnxruntime"].message
    assert "matches the reference evaluator" in by_backend["reference"].message


def test_a_run_that_stops_on_an_error_keeps_what_the_backends_already_ran(options: RunOptions) -> None:
    """A front end that breaks (a progress bar writing to a closed pipe) stops the run; the instance that was
    already on the backends is still judged and stored, and the run is marked failed, not complete."""
    from conformance.engine import Progress

    class ClosedPipe(Progress):
        def result(self, result: object) -> None:
            raise BrokenPipeError("the terminal went away")

    opts = replace(options, cases="activation/relu,elementwise/add", max_examples=1)
    try:
        run(opts, progress=ClosedPipe(), run_id="stopped")
    except BrokenPipeError:
        pass
    else:
        raise AssertionError("the progress error must reach the caller")
    with Store(opts.db) as store:
        assert store.run("stopped").status == "failed"
        kept = store.results("stopped")
    assert {(r.case, r.backend) for r in kept} == {
        (c, b) for c in ("relu", "add") for b in ("onnxruntime", "reference")
    }, "both instances were on the backends before the error: both are kept"


def test_a_run_resumes_only_with_the_cases_it_started_with(options: RunOptions) -> None:
    import pytest

    from conformance.generate import CaseError

    opts = replace(options, max_examples=1, expectations=None)
    first = run(opts, cases=[exp_exact], run_id="edited")
    edited = replace(exp_exact, source_hash="edited-since")  # what editing the case's module does
    with pytest.raises(CaseError, match="cases' sources changed"):
        run(opts, cases=[edited], run_id="edited", resume=True)
    again = run(opts, cases=[exp_exact], run_id="edited", resume=True)
    assert again.results == first.results, "a finished run resumes to itself: nothing runs twice"
    with Store(opts.db) as store:
        assert store.run("edited").status == "complete"


def test_run_options_round_trip_through_what_a_run_records(tmp_path) -> None:
    """`run --resume` rebuilds a run's options from `to_dict`: every option must come back as it was."""
    for opts in (
        RunOptions(cases="relu", exporters=("dynamo", "torchscript"), dask="tcp://h:8786", cache_dir=tmp_path),
        RunOptions(expectations=None, isolate=False, special_values=True, timeout=7.5, seed=9),
    ):
        assert RunOptions.from_dict(opts.to_dict()) == opts


def test_a_run_spans_its_opsets_and_value_modes_and_records_both(options: RunOptions) -> None:
    """Each instance runs at each opset; each value mode draws its own instances; results say which."""
    opts = replace(
        options,
        cases="elementwise/add",
        backends="reference",
        max_examples=1,
        opsets=(17, 21),
        values=("plain", "special", "wide"),
        cover="each",
    )
    summary = run(opts)
    seen = {(r.opset, str(r.values)) for r in summary.results}
    assert seen == {(o, v) for o in (17, 21) for v in ("plain", "special", "wide")}, seen
    by_id: dict[str, set[int]] = {}
    for r in summary.results:
        by_id.setdefault(r.case_id, set()).add(r.opset)
    assert all(o == {17, 21} for o in by_id.values()), "every instance at every opset"
    grid = [r for r in summary.results if r.params.get("shapes") == [[16, 1], [1, 16]]]
    assert grid and all(str(r.values) == "special" for r in grid), "special mode covers the grid of specials"
    with Store(opts.db) as store:
        kept = store.results(summary.run_id)
    assert len(kept) == len(summary.results), "the store keys a result by its opset too: none overwrote another"
    assert {(r.case_id, r.opset, str(r.values)) for r in kept} == {
        (r.case_id, r.opset, str(r.values)) for r in summary.results
    }


def test_matrix_options_round_trip_through_what_a_run_records(tmp_path) -> None:
    opts = RunOptions(opsets=(17, 21), values=("plain", "wide"), cover="pairs", opt_in=True, preset="nightly")
    assert RunOptions.from_dict(opts.to_dict()) == opts
    assert opts.opset_list == (17, 21) and [str(v) for v in opts.value_modes] == ["plain", "wide"]


def test_a_run_records_where_its_time_went(options: RunOptions) -> None:
    """Per stage wall and CPU seconds, per backend its own time, and peak memory, kept with the run."""
    summary = run(replace(options, cases="relu", max_examples=2))
    with Store(options.db) as store:
        timings = store.run(summary.run_id).timings
    stages = timings["stages"]
    for stage in ("draw", "cache", "prepare", "run", "judge", "store"):
        assert stage in stages and stages[stage]["calls"] > 0, f"stage {stage} missing from {sorted(stages)}"
        assert stages[stage]["wall_s"] >= 0 and stages[stage]["cpu_s"] >= 0
    assert set(timings["backends"]) == {"onnxruntime", "reference"}
    for backend, row in timings["backends"].items():
        assert row["results"] == sum(r.backend == backend for r in summary.results), (backend, row)
        assert row["prepare_s"] + row["run_s"] > 0, (backend, row)
    assert timings["wall_s"] > 0 and timings["peak_rss_mb"]["driver"] > 50, timings


def test_exports_ahead_of_the_backends_change_nothing_but_who_exports(
    options: RunOptions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pool process draws each case again and fills the cache; the driver then finds every artifact:
    the same results in the same order, and the exports counted as this run's. IREE's models are compiled
    ahead, as modules of many, by a process of their own: its worker finds each in its cache."""
    runs = {}
    for workers in (0, 1):
        monkeypatch.setenv(CACHE_ENV, str(tmp_path / f"backends{workers}"))
        opts = replace(
            options, cases="relu,add,exp,sum", max_examples=2, export_workers=workers, backends="onnxruntime,iree",
            cache_dir=tmp_path / f"cache{workers}", db=tmp_path / f"r{workers}.sqlite",
        )  # fmt: skip
        runs[workers] = run(opts)
    rows = {w: [(r.case_id, r.backend, r.exporter, r.outcome, r.metrics) for r in s.results] for w, s in runs.items()}
    assert rows[0] == rows[1] and rows[0], (rows[0][:4], rows[1][:4])
    assert runs[1].exported == runs[0].exported > 0 and runs[1].cached == runs[0].cached == 0
    with Store(tmp_path / "r1.sqlite") as store:
        stages = store.run(runs[1].run_id).timings["stages"]
    assert stages["export"]["calls"] >= runs[1].exported, stages
    assert not list((tmp_path / "backends0" / "iree").glob("*.in")), "without the pool, nothing compiles ahead"
    ahead = list((tmp_path / "backends1" / "iree").glob("*.in"))
    alone = [p.name for p in (tmp_path / "backends1" / "iree").glob("*.vmfb") if not p.name.startswith("batch-")]
    assert len(ahead) >= 4 and not alone, f"every model compiled ahead, none alone by the worker: {alone}"
    warm = run(replace(opts, db=tmp_path / "warm.sqlite"))  # opts: the pool's, cache1 now full
    with Store(tmp_path / "warm.sqlite") as store:
        stages = store.run(warm.run_id).timings["stages"]
    assert stages["draw"]["calls"] == 1 and "export" not in stages, f"a warm run starts no pool: {stages}"


def test_a_backend_that_never_answers_is_flagged_as_a_broken_adapter() -> None:
    from conformance.engine import broken_adapters

    from .conftest import make_result

    fine = [make_result(f"elementwise/add[{i:012d}]", Outcome.PASS) for i in range(12)]
    dead = [make_result(f"elementwise/add[{i:012d}]", Outcome.LOAD_FAIL, backend="b") for i in range(12)]
    half = [make_result(f"elementwise/add[{i:012d}]", o, backend="c") for i, o in enumerate([Outcome.PASS] * 12)]
    assert broken_adapters([*fine, *dead, *half]) == {"b": "12 load-fail"}
    assert broken_adapters(dead) == {}, "with nobody passing, the cases (or the machine) are in question, not b"
