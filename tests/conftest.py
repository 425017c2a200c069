"""Shared fixtures: every test runs with its caches and stores under a temporary folder.

onnxruntime and friends write caches under $HOME, so HOME moves too. The
artifact cache is shared by the whole session on purpose: exports are real and
slow, and a warm cache is itself behaviour under test.
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
    saved = dict(os.environ)
    os.environ.update(
        {
            "HOME": str(root / "home"),
            "XDG_CACHE_HOME": str(root / "xdg-cache"),
            "XDG_DATA_HOME": str(root / "xdg-data"),
            "CONFORMANCE_CACHE_DIR": str(root / "artifacts"),
            "CONFORMANCE_DB": str(root / "default.sqlite"),
        }
    )
    (root / "home").mkdir()
    yield root
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def artifact_cache(isolated_environment: Path) -> Path:
    return isolated_environment / "artifacts"


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
