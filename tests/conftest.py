"""Shared fixtures: every test runs with its caches and stores under a temporary folder.

onnxruntime and friends write caches under $HOME, so HOME moves too. The
artifact cache is shared by the whole session on purpose: exports are real and
slow, and a warm cache is itself behaviour under test. Under xdist the workers
share it too (artifacts are written to a temporary folder and renamed, so two
processes building the same one both end with a whole artifact): each export,
and the collection of ONNX's node tests, is then paid once, not once per worker.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from conformance.engine import RunOptions
from conformance.model import Metrics, OracleAgreement, Outcome, Result
from conformance.store import Store

#: Hypothesis profiles for the fuzz tests: `ci` keeps the suite in its time budget; `thorough` runs
#: many more examples on demand (`pytest --hypothesis-profile thorough tests/test_fuzz.py`).
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "thorough", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("CONFORMANCE_HYPOTHESIS_PROFILE", "ci"))

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("env")
    # Under xdist each worker's base folder sits in the session's own: its parent is the run's, shared.
    shared = tmp_path_factory.getbasetemp().parent if os.environ.get("PYTEST_XDIST_WORKER") else root
    saved = dict(os.environ)
    os.environ.update(
        {
            "HOME": str(root / "home"),
            "XDG_CACHE_HOME": str(root / "xdg-cache"),
            "XDG_DATA_HOME": str(root / "xdg-data"),
            "CONFORMANCE_CACHE_DIR": str(shared / "artifacts"),
            "CONFORMANCE_DB": str(root / "default.sqlite"),
        }
    )
    (root / "home").mkdir()
    yield root
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def artifact_cache(isolated_environment: Path) -> Path:
    return Path(os.environ["CONFORMANCE_CACHE_DIR"])


@pytest.fixture
def options(tmp_path: Path, artifact_cache: Path) -> RunOptions:
    """Run options on the shared warm cache and a fresh store."""
    return RunOptions(
        backends="onnxruntime,reference", max_examples=2, seed=3, cache_dir=artifact_cache, db=tmp_path / "r.sqlite"
    )


def conformance(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user would."""
    return subprocess.run(
        [str(BIN / "conformance"), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=os.environ.copy(),
    )


def make_result(
    case_id: str,
    outcome: Outcome = Outcome.PASS,
    *,
    backend: str = "onnxruntime",
    message: str = "",
    metrics: Metrics | None = None,
    **fields: Any,
) -> Result:
    """A result row for report and store tests: case and category come from the id."""
    category, rest = case_id.split("/", 1)
    row: dict[str, Any] = {
        "run_id": "",
        "case_id": case_id,
        "case": rest.split("[", 1)[0],
        "category": category,
        "backend": backend,
        "backend_version": "1.0",
        "exporter": "dynamo",
        "opset": 18,
        "outcome": outcome,
        "oracle": OracleAgreement.AGREE,
        "metrics": metrics or Metrics(),
        "message": message,
    }
    row.update(fields)
    return Result(**row)


LARGE_BACKENDS = ("alpha", "beta", "gamma", "delta", "epsilon")


def record_large_run(store: Store, run_id: str, *, cases: int = 100, instances: int = 10) -> dict[str, Any]:
    """A run of `cases` x 5 backends x `instances` results, mostly passes, for the report's scale tests.

    Failures depend only on the case and on instances 0-9, so more instances add passes and nothing else:
    how the page grows with passing results is then what a test sees. Returns facts the tests check against.
    """
    store.begin_run(run_id, "2026-01-01T00:00:00+00:00", seed=0, environment={"python": "3"}, options={})
    rows: list[Result] = []
    in_full: list[str] = []  # what the page shows in full: failures and expected failures
    for c in range(cases):
        for k in range(instances):
            case_id = f"bulk/op{c:03d}[{k}]"
            for b, backend in enumerate(LARGE_BACKENDS):
                outcome, message, waiver = Outcome.PASS, "", None
                metrics = Metrics(elements=12, max_ulp=1.0, worst_index=(1, 2), worst_actual=0.5, worst_expected=0.5)
                if c % 10 == 3 and b == 1:
                    outcome, message, metrics = Outcome.UNSUPPORTED, "no kernel for Op(float16)", Metrics()
                elif c % 10 == 5 and b == 2 and k in (0, 3, 6, 9):
                    outcome, message = Outcome.MISMATCH, f"max ULP 2048 > 4 at output 0 [1, 2] (instance {k})"
                    metrics = Metrics(elements=12, max_ulp=2048.0, max_abs_error=0.5, fraction_off=0.25)
                elif c % 25 == 7 and b == 3 and k == 4:
                    outcome, message, metrics = Outcome.CRASH, "Segmentation fault (signal 11)", Metrics()
                elif c % 20 == 11 and b == 0 and k in (1, 6):
                    outcome, message = Outcome.XFAIL, "mismatch, known"
                    waiver = {"reason": "https://example.org/issues/1", "actual": "mismatch"}
                elif c % 50 == 13 and k == 9:
                    outcome, message, metrics = Outcome.SKIP, "needs opset 19", Metrics()
                if outcome not in (Outcome.PASS, Outcome.UNSUPPORTED, Outcome.SKIP):
                    in_full.append(case_id)
                row = make_result(
                    case_id, outcome, backend=backend, message=message, metrics=metrics, waiver=waiver,
                    params={"dtype": "float32", "shape": [3, 4]}, run_id=run_id,
                )  # fmt: skip
                rows.append(row)
    store.record_many(rows)
    store.finish_run(run_id, "2026-01-01T00:01:00+00:00")
    mixed = [r for r in rows if r.case == "op005" and r.backend == "gamma"]
    return {
        "results": len(rows),
        "in_full": len(in_full),
        "summarized": sum(r.outcome in (Outcome.PASS, Outcome.SKIP, Outcome.UNSUPPORTED) for r in rows),
        "all_passed_instances": _all_passed(rows),
        "all_pass_cell": ("bulk/op000", "alpha", instances),
        "mixed_cell": ("bulk/op005", "gamma", len(mixed), "bulk/op005[3]"),
    }


def _all_passed(rows: list[Result]) -> set[str]:
    outcomes: dict[str, set[Outcome]] = {}
    for r in rows:
        outcomes.setdefault(r.case_id, set()).add(r.outcome)
    return {case_id for case_id, seen in outcomes.items() if seen == {Outcome.PASS}}
