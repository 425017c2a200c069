"""The pytest plugin and the model-check API, used the way a user's project uses them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from conformance import check_model
from conformance.model import Outcome, Tolerance


class TinyNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(x)) * 2


def test_check_model_passes_on_onnxruntime_and_reference(tmp_path: Path) -> None:
    result = check_model(
        TinyNet().eval(), (torch.randn(3, 8),), backends=["onnxruntime", "reference"], db=tmp_path / "c.sqlite"
    )
    assert {(r.backend, r.exporter) for r in result.results} == {("onnxruntime", "dynamo"), ("reference", "dynamo")}
    assert all(r.outcome is Outcome.PASS and r.metrics.elements == 12 for r in result.results), result.results
    result.assert_ok()


def test_a_divergence_reads_like_a_diff(tmp_path: Path) -> None:
    """Zero tolerance is tighter than any float32 backend's rounding against float64 torch."""
    result = check_model(
        TinyNet().eval(),
        (torch.randn(3, 8),),
        backends="onnxruntime",
        tolerance=Tolerance(0.0, 0.0),
        db=tmp_path / "c.sqlite",
    )
    assert not result.ok
    with pytest.raises(AssertionError) as info:
        result.assert_ok()
    text = str(info.value)
    assert "TinyNet: 1 of 1 backend results differ from torch" in text
    assert "onnxruntime (dynamo): mismatch" in text
    assert "  - expected output[0][" in text and "  + actual   output[0][" in text
    assert "ulp" in text


def test_check_model_with_dynamic_batch(tmp_path: Path) -> None:
    batch = torch.export.Dim("batch")
    result = check_model(
        TinyNet().eval(), (torch.randn(3, 8),), backends="onnxruntime", exporters=["dynamo", "torchscript"],
        dynamic_shapes=({0: batch},), db=tmp_path / "c.sqlite", cache_dir=tmp_path / "cache",
    )  # fmt: skip
    result.assert_ok()
    assert len(result.results) == 2
    import onnx

    models = sorted(m for m in (tmp_path / "cache").rglob("model.onnx") if "models" not in m.parts)
    assert len(models) == 2, "one artifact per exporter"
    assert len(list((tmp_path / "cache" / "models").rglob("model.onnx"))) == 2, "one export per exporter"
    for path in models:
        dim0 = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0]
        assert dim0.dim_param and not dim0.dim_value, f"{path}: the batch axis was exported fixed: {dim0}"


def _pytest(project: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project, capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


USER_TESTS = """
import torch
from conformance.model import Tolerance

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.conv = torch.nn.Conv2d(2, 3, 3)

    def forward(self, x):
        return torch.relu(self.conv(x)).mean(dim=(2, 3))

def test_my_model(conformance_check):
    conformance_check(Net().eval(), (torch.randn(1, 2, 6, 6),), backends=["onnxruntime", "reference"])

def test_my_model_too_strict(conformance_check):
    conformance_check(Net().eval(), (torch.randn(1, 2, 6, 6),), backends=["onnxruntime"], tolerance=Tolerance(0.0, 0.0))
"""


def test_fixture_in_a_fresh_project(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    proc = _pytest(tmp_path, "-q", "-rf")
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout + proc.stderr
    assert "conformance/check.py" not in proc.stdout, "the failure shows the diff, not our internals"
    assert "Net: 1 of 1 backend results differ from torch" in proc.stdout
    assert "- expected output[0]" in proc.stdout and "+ actual   output[0]" in proc.stdout


def test_plugin_runs_cases_and_records_them(tmp_path: Path) -> None:
    db = tmp_path / "p.sqlite"
    args = ["--conformance", "--conformance-cases", "add,relu,onnx-node/test_abs", "--conformance-backends", "onnxruntime",
            "--conformance-max-examples", "3", "--conformance-db", str(db)]  # fmt: skip
    proc = _pytest(tmp_path, "-q", *args, "--conformance-report", str(tmp_path / "rep"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout, "two generated cases and one of ONNX's node tests"
    assert (tmp_path / "rep" / "report.json").exists()
    listing = _pytest(tmp_path, "--collect-only", "-q", *args)
    assert "conformance::elementwise/add[onnxruntime-dynamo]" in listing.stdout
    assert "conformance::onnx-node/test_abs[onnxruntime-onnx]" in listing.stdout

    xdist = _pytest(tmp_path, "-q", "-n", "2", *args)
    assert xdist.returncode == 0, xdist.stdout + xdist.stderr
    with sqlite3.connect(db) as conn:
        runs = conn.execute("SELECT id, status FROM runs ORDER BY started").fetchall()
        counts = conn.execute("SELECT run_id, count(*) FROM results GROUP BY run_id").fetchall()
    assert len(runs) == 2 and all(status == "complete" for _, status in runs)
    per_run = dict(counts)
    assert per_run[runs[1][0]] == per_run[runs[0][0]] >= 2, "every xdist worker's results land in the one run"


def test_a_stale_expectation_fails_the_item_as_xpass(tmp_path: Path) -> None:
    known = tmp_path / "known.toml"
    known.write_text(
        '[[expectation]]\nbackend = "onnxruntime"\ncase = "activation/relu"\noutcome = "mismatch"\nreason = "made up"\n'
    )
    proc = _pytest(tmp_path, "-q", "--conformance", "--conformance-cases", "relu", "--conformance-backends",
                   "onnxruntime", "--conformance-max-examples", "2", "--conformance-expectations", str(known),
                   "--conformance-db", str(tmp_path / "x.sqlite"))  # fmt: skip
    assert proc.returncode == 1
    assert "xpass" in proc.stdout and "expectation is stale" in proc.stdout
    assert "reproduce: conformance run --cases activation/relu --backends onnxruntime --exporters dynamo" in proc.stdout


def test_a_session_without_conformance_collects_nothing_and_imports_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        textwrap.dedent(
            """
            import sys

            def test_plain():
                assert "conformance.engine" not in sys.modules
                assert "torch" not in sys.modules
                assert "onnx" not in sys.modules
            """
        )
    )
    proc = _pytest(tmp_path, "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    listing = _pytest(tmp_path, "--collect-only", "-q")
    assert "conformance::" not in listing.stdout
