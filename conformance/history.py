"""History over the results store: series of runs, diffs between two runs, trends.

A *series* is the set of runs that are comparable night after night. A run
recorded with a profile (`conformance nightly` records one) belongs to the
series of that profile; a run without one belongs to the series of runs that
selected the same cases (`options["cases"]`, `*` for all), so `run --cases
relu` is compared with earlier `run --cases relu`, not with a full run.

Results of two runs are matched on (case id, backend, exporter, opset): the case id
is stable for a given seed, so two runs with different seeds share no result
and show only cases added and removed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .model import FAILING, Outcome, Result
from .store import RunRecord, Store

#: Default accuracy-drift threshold: a result whose max ULP error grew by more
#: than this many units in the last place has drifted. A few ULPs of noise are
#: normal for threaded reductions; the tolerance rule allows far more.
DEFAULT_DRIFT_ULP = 4.0

#: Outcomes that mean the backend ran the model and produced an answer.
PASSED = frozenset({Outcome.PASS, Outcome.XPASS})
#: Outcomes that are nobody's answer about the backend: it declined, the case
#: was skipped, or the exporter failed before the backend saw a model.
NOT_RUN = frozenset({Outcome.UNSUPPORTED, Outcome.SKIP, Outcome.EXPORT_FAIL})

#: How much worse one outcome is than another, for colouring a cell that
#: aggregates several results (worst wins).
SEVERITY = {
    Outcome.PASS: 0,
    Outcome.SKIP: 1,
    Outcome.UNSUPPORTED: 2,
    Outcome.XFAIL: 3,
    Outcome.XPASS: 4,
    Outcome.EXPORT_FAIL: 5,
    Outcome.SPECIAL: 6,
    Outcome.MISMATCH: 7,
    Outcome.DTYPE: 8,
    Outcome.SHAPE: 9,
    Outcome.LOAD_FAIL: 10,
    Outcome.RUN_ERROR: 11,
    Outcome.TIMEOUT: 12,
    Outcome.CRASH: 13,
}

Key = tuple[str, str, str, int]


def result_key(result: Result) -> Key:
    """What a result is compared by across runs: the same instance on the same backend, exported the same way."""
    return (result.case_id, result.backend, result.exporter, result.opset)


def series_of(run: RunRecord) -> str:
    """The name of the series a run belongs to (see the module docstring)."""
    if run.profile:
        return f"profile:{run.profile}"
    return f"cases:{run.options.get('cases') or '*'}"


def series_runs(store: Store, run: RunRecord, limit: int | None = None) -> list[RunRecord]:
    """Runs of `run`'s series up to and including `run`, oldest first.

    Runs still recording or interrupted are left out (their counts would
    dip), except `run` itself.
    """
    series = series_of(run)
    chosen: list[RunRecord] = []
    for r in store.runs():
        if r.id == run.id:
            chosen.append(r)
            break
        if r.status == "complete" and series_of(r) == series:
            chosen.append(r)
    return chosen[-limit:] if limit else chosen


def previous_run(store: Store, run: RunRecord) -> RunRecord | None:
    """The last complete run of the same series before `run`, if any."""
    earlier = [r for r in series_runs(store, run) if r.id != run.id]
    return earlier[-1] if earlier else None


# --------------------------------------------------------------------------- figures


@dataclass
class BackendFigures:
    """Coverage, correctness and counts for one backend, apart from each other.

    coverage = ran / (ran + unsupported); correctness = passed / ran. Skips and
    export failures are neither: the backend never saw a model.
    """

    total: int = 0
    ran: int = 0
    passed: int = 0
    unsupported: int = 0
    not_run: int = 0
    failed: int = 0

    def add(self, result: Result) -> None:
        self.total += 1
        if result.outcome is Outcome.UNSUPPORTED:
            self.unsupported += 1
        elif result.outcome in NOT_RUN:
            self.not_run += 1
        else:
            self.ran += 1
            self.passed += result.outcome in PASSED
        self.failed += result.outcome in FAILING

    @property
    def coverage(self) -> float | None:
        offered = self.ran + self.unsupported
        return self.ran / offered if offered else None

    @property
    def correctness(self) -> float | None:
        return self.passed / self.ran if self.ran else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "ran": self.ran,
            "passed": self.passed,
            "unsupported": self.unsupported,
            "not_run": self.not_run,
            "failed": self.failed,
            "coverage": self.coverage,
            "correctness": self.correctness,
        }


def figures_by_backend(results: Iterable[Result]) -> dict[str, BackendFigures]:
    out: dict[str, BackendFigures] = {}
    for r in results:
        out.setdefault(r.backend, BackendFigures()).add(r)
    return dict(sorted(out.items()))


def trend(
    store: Store, run: RunRecord, limit: int = 30, results: Sequence[Result] | None = None
) -> list[dict[str, Any]]:
    """Pass rate (correctness) per backend for each run of the series, oldest first (`results`: the run's own,
    where the caller has them already)."""
    points = []
    for r in series_runs(store, run, limit):
        figures = figures_by_backend(results if r.id == run.id and results is not None else store.results(r.id))
        points.append(
            {
                "run_id": r.id,
                "started": r.started,
                "backends": {b: f.to_dict() for b, f in figures.items()},
            }
        )
    return points


# --------------------------------------------------------------------------- diff


@dataclass(frozen=True)
class Change:
    """One result matched across two runs (either side may be missing)."""

    case_id: str
    backend: str
    exporter: str
    opset: int
    before: str | None
    after: str | None
    ulp_before: float | None = None
    ulp_after: float | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "backend": self.backend,
            "exporter": self.exporter,
            "opset": self.opset,
            "before": self.before,
            "after": self.after,
            "ulp_before": _finite(self.ulp_before),
            "ulp_after": _finite(self.ulp_after),
            "message": self.message,
        }

    def line(self) -> str:
        where = f"{self.case_id} on {self.backend} ({self.exporter}, opset {self.opset})"
        if self.ulp_before is not None or self.ulp_after is not None:
            return f"{where}: max ULP {_fmt(self.ulp_before)} -> {_fmt(self.ulp_after)}"
        first = self.message.splitlines()[0][:160] if self.message else ""
        text = f"{where}: {self.before or '(absent)'} -> {self.after or '(absent)'}"
        return f"{text}: {first}" if first else text


@dataclass
class Diff:
    """What changed between run A (before) and run B (after).

    Regressions are new failures (a result that did not fail in A and fails in
    B), lost coverage (a backend that ran a case now says unsupported) and
    accuracy drift for the worse beyond the threshold. Cases only in B that
    fail are listed with the added cases, not as regressions: nothing
    regressed that never ran before.
    """

    run_a: str
    run_b: str
    threshold: float
    new_failures: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    changed_failures: list[Change] = field(default_factory=list)
    lost_coverage: list[Change] = field(default_factory=list)
    drift_worse: list[Change] = field(default_factory=list)
    drift_better: list[Change] = field(default_factory=list)
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)

    @property
    def regressions(self) -> list[Change]:
        return [*self.new_failures, *self.lost_coverage, *self.drift_worse]

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def to_dict(self) -> dict[str, Any]:
        lists = (
            "new_failures",
            "fixes",
            "changed_failures",
            "lost_coverage",
            "drift_worse",
            "drift_better",
            "added",
            "removed",
        )
        out: dict[str, Any] = {"run_a": self.run_a, "run_b": self.run_b, "threshold_ulp": self.threshold}
        out["regressed"] = self.regressed
        for name in lists:
            out[name] = [c.to_dict() for c in getattr(self, name)]
        return out

    def format_text(self, limit: int = 50) -> str:
        sections = [
            ("new failures", self.new_failures),
            ("lost coverage (ran before, unsupported now)", self.lost_coverage),
            (f"accuracy drift, worse by more than {self.threshold:g} ULP", self.drift_worse),
            ("failures that changed kind", self.changed_failures),
            ("fixes", self.fixes),
            (f"accuracy drift, better by more than {self.threshold:g} ULP", self.drift_better),
            ("cases added", self.added),
            ("cases removed", self.removed),
        ]
        lines = [f"diff {self.run_a} -> {self.run_b}: " + ("REGRESSED" if self.regressed else "no regression")]
        for title, changes in sections:
            if not changes:
                continue
            lines.append(f"{title}: {len(changes)}")
            lines.extend(f"  {c.line()}" for c in changes[:limit])
            if len(changes) > limit:
                lines.append(f"  ... and {len(changes) - limit} more")
        return "\n".join(lines)


def diff_results(
    before: Sequence[Result],
    after: Sequence[Result],
    *,
    run_a: str = "",
    run_b: str = "",
    threshold: float = DEFAULT_DRIFT_ULP,
) -> Diff:
    a = {result_key(r): r for r in before}
    b = {result_key(r): r for r in after}
    d = Diff(run_a or (before[0].run_id if before else ""), run_b or (after[0].run_id if after else ""), threshold)
    for k in sorted(a.keys() | b.keys()):
        ra, rb = a.get(k), b.get(k)
        if ra is None:
            assert rb is not None
            d.added.append(Change(*k, None, str(rb.outcome), message=rb.message))
            continue
        if rb is None:
            d.removed.append(Change(*k, str(ra.outcome), None, message=ra.message))
            continue
        change = Change(*k, str(ra.outcome), str(rb.outcome), message=rb.message)
        fail_a, fail_b = ra.outcome in FAILING, rb.outcome in FAILING
        if fail_b and not fail_a:
            d.new_failures.append(change)
        elif fail_a and not fail_b:
            d.fixes.append(change)
        elif fail_a and fail_b and ra.outcome != rb.outcome:
            d.changed_failures.append(change)
        elif rb.outcome is Outcome.UNSUPPORTED and ra.outcome not in NOT_RUN:
            d.lost_coverage.append(change)
        elif ra.measured and rb.measured:  # same verdict either way: did the error itself move?
            ua, ub = ra.metrics.max_ulp, rb.metrics.max_ulp
            drift = Change(*k, str(ra.outcome), str(rb.outcome), ua, ub, rb.message)
            if _worse(ua, ub, threshold):
                d.drift_worse.append(drift)
            elif _worse(ub, ua, threshold):
                d.drift_better.append(drift)
    return d


def _worse(before: float, after: float, threshold: float) -> bool:
    if math.isnan(before) or math.isnan(after):
        return False
    if math.isinf(after):
        return not math.isinf(before)
    return after - before > threshold


def diff_runs(store: Store, run_a: str, run_b: str, threshold: float = DEFAULT_DRIFT_ULP) -> Diff:
    a, b = store.run(run_a), store.run(run_b)
    return diff_results(store.results(a.id), store.results(b.id), run_a=a.id, run_b=b.id, threshold=threshold)


def _finite(x: float | None) -> float | str | None:
    """JSON has no inf or NaN: those travel as strings."""
    if x is None or math.isfinite(x):
        return x
    return str(x)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"
