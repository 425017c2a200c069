"""Crash isolation with real misbehaving backends: each costs one result, never the run."""

from __future__ import annotations

from dataclasses import replace

from conformance.backends import select_backends
from conformance.engine import RunOptions, run
from conformance.model import Outcome
from conformance.store import Store

from .misbehaving import Abort, Hang, Hog, Segfault


def test_crash_hang_and_memory_blowup_each_cost_one_result(options: RunOptions) -> None:
    reference = select_backends("reference")
    opts = replace(options, cases="add,relu,exp", max_examples=2, timeout=10.0, memory_limit_mb=1536)
    summary = run(opts, backends=[*reference, Segfault(), Abort(), Hang(), Hog()])

    by = {}
    for r in summary.results:
        by.setdefault((r.backend, r.case), []).append(r)
    for name, expected in (
        ("segfault", Outcome.CRASH),
        ("abort", Outcome.CRASH),
        ("hang", Outcome.TIMEOUT),
        ("hog", Outcome.CRASH),
    ):
        add = by[(name, "add")]
        assert add and all(r.outcome is expected for r in add), [(r.outcome, r.message) for r in add]
        # the worker was replaced and the other cases still ran and passed
        for other in ("relu", "exp"):
            assert all(r.outcome is Outcome.PASS for r in by[(name, other)]), by[(name, other)]
    assert all(r.outcome is Outcome.PASS for r in summary.results if r.backend == "reference")

    segv = by[("segfault", "add")][0].message
    assert "SIGSEGV" in segv and "Fatal Python error" in segv, segv
    assert "SIGABRT" in by[("abort", "add")][0].message
    assert "the backend's last words" in by[("abort", "add")][0].message
    assert "no answer after 10 s" in by[("hang", "add")][0].message
    assert "memory limit" in by[("hog", "add")][0].message or "signal" in by[("hog", "add")][0].message

    with Store(opts.db) as store:
        kept = store.results(summary.run_id)
        assert store.run(summary.run_id).status == "complete"
    assert len(kept) == len(summary.results) == 2 * 3 * 5


def test_in_process_execution_gives_the_same_verdicts(options: RunOptions) -> None:
    isolated = run(replace(options, cases="relu,matmul"))
    direct = run(replace(options, cases="relu,matmul", isolate=False))
    assert [(r.case_id, r.backend, r.outcome) for r in isolated.results] == [
        (r.case_id, r.backend, r.outcome) for r in direct.results
    ]
