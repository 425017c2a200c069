"""History: series of runs, what changed between two runs, and the nightly command.

Runs are written as real rows into a real store; `diff` and `nightly` are run
as the installed console script, as a user (or a nightly job) would.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from conformance.history import (
    DEFAULT_DRIFT_ULP,
    diff_results,
    diff_runs,
    figures_by_backend,
    previous_run,
    series_of,
    series_runs,
    trend,
)
from conformance.model import Metrics, Outcome, Result
from conformance.store import Store

from .conftest import conformance, make_result


def result(case_id: str, outcome: Outcome = Outcome.PASS, backend: str = "onnxruntime", **metrics: float) -> Result:
    message = "" if outcome is Outcome.PASS else f"{outcome} here"
    return make_result(case_id, outcome, backend=backend, message=message, metrics=Metrics(elements=4, **metrics))


def record_run(
    store: Store,
    run_id: str,
    started: str,
    results: list[Result],
    *,
    profile: str | None = None,
    cases: str | None = "math/*",
    status: str = "complete",
) -> None:
    store.begin_run(run_id, started, seed=0, environment={}, options={"cases": cases}, profile=profile)
    for r in results:
        store.record(replace(r, run_id=run_id))
    if status:
        store.finish_run(run_id, started, status)


BASE = [
    result("math/exp[1]"),
    result("math/log[2]", max_ulp=1.0),
    result("math/sin[3]", Outcome.MISMATCH, max_ulp=100.0),
    result("math/cos[4]"),
    result("math/tan[5]"),
]


def test_diff_classifies_every_kind_of_change() -> None:
    after = [
        result("math/exp[1]", Outcome.MISMATCH, max_ulp=9.0),  # new failure
        result("math/log[2]", max_ulp=1.0 + DEFAULT_DRIFT_ULP + 1),  # worse accuracy, still passing
        result("math/sin[3]"),  # fixed
        result("math/cos[4]", Outcome.UNSUPPORTED),  # lost coverage
        result("math/new[6]", Outcome.CRASH),  # added (failing, but never ran before)
    ]  # math/tan[5] removed
    sqrt = result("math/sqrt[7]", max_ulp=50.0)
    after.append(replace(sqrt, metrics=replace(sqrt.metrics, max_ulp=1.0)))  # better accuracy
    d = diff_results([*BASE, sqrt], after, run_a="a", run_b="b")
    ids = {name: [c.case_id for c in getattr(d, name)] for name in ("new_failures", "fixes", "lost_coverage")}
    assert ids == {"new_failures": ["math/exp[1]"], "fixes": ["math/sin[3]"], "lost_coverage": ["math/cos[4]"]}
    assert [c.case_id for c in d.drift_worse] == ["math/log[2]"], "a new failure is not also counted as drift"
    assert [c.case_id for c in d.drift_better] == ["math/sqrt[7]"]
    assert [(c.case_id, c.after) for c in d.added] == [("math/new[6]", "crash")]
    assert [(c.case_id, c.before) for c in d.removed] == [("math/tan[5]", "pass")]
    assert d.regressed
    text = d.format_text()
    assert "REGRESSED" in text and "math/exp[1] on onnxruntime (dynamo, opset 18): pass -> mismatch" in text, text
    json.dumps(d.to_dict(), allow_nan=False)


def test_identical_runs_and_small_drift_do_not_regress() -> None:
    wobble = [replace(r, metrics=replace(r.metrics, max_ulp=r.metrics.max_ulp + 2)) for r in BASE]
    d = diff_results(BASE, wobble)
    assert not d.regressed, d.format_text()
    assert d.format_text().endswith("no regression")
    assert diff_results(BASE, wobble, threshold=1.0).drift_worse, "a threshold below the wobble must flag it"


def test_an_infinite_error_is_drift_and_travels_as_a_string() -> None:
    d = diff_results(BASE, [replace(BASE[1], metrics=replace(BASE[1].metrics, max_ulp=float("inf")))])
    assert [c.case_id for c in d.drift_worse] == ["math/log[2]"]
    assert d.to_dict()["drift_worse"][0]["ulp_after"] == "inf"


def test_coverage_and_correctness_are_apart() -> None:
    rows = [
        result("a/x[1]"),
        result("a/x[2]", Outcome.MISMATCH),
        result("a/x[3]", Outcome.UNSUPPORTED),
        result("a/x[4]", Outcome.SKIP),
        result("a/x[5]", Outcome.EXPORT_FAIL),
        result("a/x[6]", Outcome.XFAIL),
    ]
    f = figures_by_backend(rows)["onnxruntime"]
    assert (f.ran, f.passed, f.unsupported, f.not_run) == (3, 1, 1, 2)
    assert f.coverage == pytest.approx(3 / 4), "unsupported lowers coverage; skips and export failures do not count"
    assert f.correctness == pytest.approx(1 / 3), "unsupported is not counted as wrong"


def test_series_follow_the_profile_else_the_case_selection(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite", create=True) as store:
        record_run(store, "n1", "2026-01-01T00:00:00", BASE, profile="nightly")
        record_run(store, "x1", "2026-01-01T01:00:00", BASE, cases="other*")
        record_run(store, "m1", "2026-01-01T02:00:00", BASE)
        record_run(store, "n2", "2026-01-02T00:00:00", BASE, profile="nightly", status="")  # still running
        record_run(store, "n3", "2026-01-03T00:00:00", BASE, profile="nightly")
        record_run(store, "m2", "2026-01-03T01:00:00", BASE)
        n3, m2 = store.run("n3"), store.run("m2")
        assert series_of(n3) == "profile:nightly" and series_of(m2) == "cases:math/*"
        assert [r.id for r in series_runs(store, n3)] == ["n1", "n3"], "unfinished runs are left out of a series"
        assert [r.id for r in series_runs(store, m2)] == ["m1", "m2"]
        assert previous_run(store, n3).id == "n1"  # type: ignore[union-attr]
        assert previous_run(store, store.run("n1")) is None
        points = trend(store, n3)
        assert [p["run_id"] for p in points] == ["n1", "n3"]
        assert points[0]["backends"]["onnxruntime"]["correctness"] == pytest.approx(4 / 5)


def test_diff_command_lists_the_regressed_case_and_exits_1(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    regressed = [
        result("math/exp[1]", Outcome.MISMATCH, max_ulp=3.0, max_abs_error=0.25),
        *BASE[1:],
    ]
    with Store(db, create=True) as store:
        record_run(store, "before", "2026-01-01T00:00:00", BASE)
        record_run(store, "after", "2026-01-02T00:00:00", regressed)
        assert diff_runs(store, "before", "after").regressed
    proc = conformance("diff", "before", "after", "--db", str(db))
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "new failures: 1" in proc.stdout, proc.stdout
    assert "math/exp[1] on onnxruntime (dynamo, opset 18): pass -> mismatch" in proc.stdout, proc.stdout

    as_json = conformance("diff", "before", "after", "--db", str(db), "--json")
    assert as_json.returncode == 1
    data = json.loads(as_json.stdout)
    assert [c["case_id"] for c in data["new_failures"]] == ["math/exp[1]"] and data["regressed"] is True
    (finding,) = data["findings"]["new"]
    assert finding["op"] == "math/exp" and finding["backend"] == "onnxruntime" and not data["findings"]["fixed"]
    assert f"new {finding['id']} backend: onnxruntime, math/exp" in proc.stdout, proc.stdout

    same = conformance("diff", "before", "before", "--db", str(db))
    assert same.returncode == 0, same.stdout
    assert "no regression" in same.stdout

    fixed = conformance("diff", "after", "before", "--db", str(db))
    assert fixed.returncode == 0 and "fixes: 1" in fixed.stdout, fixed.stdout
    assert "findings: 0 new, 1 fixed" in fixed.stdout and f"fixed {finding['id']}" in fixed.stdout, fixed.stdout

    missing = conformance("diff", "before", "nosuchrun", "--db", str(db))
    assert missing.returncode == 2 and "no run 'nosuchrun'" in missing.stderr, missing.stderr


def test_nightly_twice_keeps_both_runs_and_draws_a_trend_of_two(tmp_path: Path) -> None:
    db, root = tmp_path / "s.sqlite", tmp_path / "reports"
    args = ["nightly", "--cases", "relu", "--backends", "reference", "--max-examples", "1"]
    args += ["--db", str(db), "--out-root", str(root)]
    first = conformance(*args)
    assert first.returncode == 0, (first.stdout, first.stderr)
    assert "nothing to compare with" in first.stdout
    second = conformance(*args)
    assert second.returncode == 0, (second.stdout, second.stderr)
    assert "no regression" in second.stdout, second.stdout

    with Store(db) as store:
        runs = store.runs()
    assert len(runs) == 2 and {r.profile for r in runs} == {"nightly:relu"}
    assert all(r.status == "complete" for r in runs)

    dated = root / runs[1].started[:10]
    for folder in (dated, root / "latest"):
        assert sorted(p.name for p in folder.iterdir()) == ["junit.xml", "report.html", "report.json", "summary.md"]
    html = (root / "latest" / "report.html").read_text()
    points = re.findall(r'<circle class="trend-point" data-backend="reference" data-run="([^"]+)"', html)
    assert points == [runs[0].id, runs[1].id], "the trend shows both nightly runs, oldest first"
    data = json.loads((root / "latest" / "report.json").read_text())
    assert data["run"]["id"] == runs[1].id and data["previous_run"] == runs[0].id
    assert data["regressions"]["regressed"] is False
