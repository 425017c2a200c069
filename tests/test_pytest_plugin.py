"""The pytest plugin and the model-check API, used the way a user's project uses them."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest
import torch

from conformance import check_model
from conformance.model import Outcome, Tolerance

from .conftest import conformance


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
    proc = _pytest(tmp_path, "-v", *args, "--conformance-report", str(tmp_path / "rep"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout, "two generated cases and one of ONNX's node tests"
    assert (tmp_path / "rep" / "report.json").exists()
    # Item ids as `--collect-only` lists them (`test_a_node_id_from_collect_only_runs_alone` runs one back).
    assert "conformance/elementwise/add[onnxruntime-dynamo] PASSED" in proc.stdout
    assert "conformance/onnx-node/test_abs[onnxruntime-onnx] PASSED" in proc.stdout

    xdist = _pytest(tmp_path, "-q", "-n", "2", *args)
    assert xdist.returncode == 0, xdist.stdout + xdist.stderr
    with sqlite3.connect(db) as conn:
        runs = conn.execute("SELECT id, status FROM runs ORDER BY started").fetchall()
        counts = conn.execute("SELECT run_id, count(*) FROM results GROUP BY run_id").fetchall()
    assert len(runs) == 2 and all(status == "complete" for _, status in runs)
    per_run = dict(counts)
    assert per_run[runs[1][0]] == per_run[runs[0][0]] >= 2, "every xdist worker's results land in the one run"
    # Both runs feed the op support matrix, as `conformance run` does (the xdist workers' graphs too).
    for run_id, _ in runs:
        matrix = conformance("matrix", run_id, "--json", "--db", str(db))
        assert matrix.returncode == 0, matrix.stderr
        ops = {row["op"] for row in json.loads(matrix.stdout)["rows"] if "onnxruntime" in row["cells"]}
        assert {"Relu", "Add", "Abs"} <= ops, (run_id, ops)


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
    assert "conformance/" not in listing.stdout


def _collected(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The node ids `--collect-only -q` printed."""
    return [line for line in proc.stdout.splitlines() if line.startswith("conformance/")]


def test_a_node_id_from_collect_only_runs_alone(tmp_path: Path) -> None:
    """What a listing prints is what a user passes back, and the item it names runs by itself."""
    from conformance.export import default_cache_dir

    (tmp_path / "pytest.ini").write_text("[pytest]\nconformance_timeout = 60\n")  # an option from the ini file
    db, cache = tmp_path / "r.sqlite", tmp_path / "cache"
    # A cache of its own, sharing ONNX's node tests with the default one: the pack builds them once (56 MB).
    (default_cache_dir() / "onnx-node").mkdir(parents=True, exist_ok=True)
    cache.mkdir()
    (cache / "onnx-node").symlink_to(default_cache_dir() / "onnx-node", target_is_directory=True)
    args = ["--conformance", "--conformance-cases", "relu", "--conformance-backends", "onnxruntime",
            "--conformance-max-examples", "2", "--conformance-db", str(db), "--conformance-memory-limit", "4096",
            "--conformance-cache-dir", str(cache)]  # fmt: skip
    listing = _pytest(tmp_path, "--collect-only", "-q", *args)
    assert _collected(listing) == ["conformance/activation/relu[onnxruntime-dynamo]"], listing.stdout + listing.stderr

    alone = _pytest(tmp_path, "-q", *args, _collected(listing)[0])
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert "1 passed" in alone.stdout
    with sqlite3.connect(db) as conn:
        (options,) = conn.execute("SELECT options FROM runs").fetchone()
        cases = conn.execute("SELECT DISTINCT case_id FROM results").fetchall()
    recorded = json.loads(options)
    assert (recorded["timeout"], recorded["memory_limit_mb"]) == (60, 4096)
    assert recorded["cache_dir"] == str(cache)
    artifacts = [m for m in cache.rglob("model.onnx") if not {"onnx-node", "models"} & set(m.parts)]
    assert len(artifacts) == 2, "the item built its artifacts in the cache it was given"
    assert len(cases) == 2 and all(c.startswith("activation/relu[") for (c,) in cases)

    # A name the suite lacks is a usage error, as a missing file is in pytest.
    missing = _pytest(tmp_path, "--collect-only", "-q", *args, "conformance/activation/relu[reference-dynamo]")
    assert missing.returncode == pytest.ExitCode.USAGE_ERROR
    assert "not found: conformance/activation/relu[reference-dynamo]" in missing.stderr


def test_markers_select_by_backend_and_category(tmp_path: Path) -> None:
    args = ["--conformance", "--conformance-cases", "relu,mlp", "--conformance-backends", "onnxruntime,reference",
            "--conformance-db", str(tmp_path / "m.sqlite"), "--strict-markers", "--collect-only", "-q"]  # fmt: skip
    chosen = _pytest(tmp_path, *args, "-m", "backend_onnxruntime and not model")
    assert _collected(chosen) == ["conformance/activation/relu[onnxruntime-dynamo]"], chosen.stdout + chosen.stderr
    assert "1/4 tests collected (3 deselected)" in chosen.stdout
    # A category's (or a case's) node id selects the items below it, and markers narrow that further.
    models = _pytest(tmp_path, *args, "-m", "not backend_reference", "conformance/model")
    assert _collected(models) == ["conformance/model/mlp[onnxruntime-dynamo]"], models.stdout + models.stderr


def test_the_report_header_names_each_backend_and_its_version(tmp_path: Path) -> None:
    from conformance.backends import backend_version, select_backends

    proc = _pytest(tmp_path, "--collect-only", "--conformance", "--conformance-cases", "relu",
                   "--conformance-backends", "onnxruntime,reference", "--conformance-db", str(tmp_path / "h.sqlite"))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    versions = ", ".join(f"{b.name} {backend_version(b)}" for b in select_backends("onnxruntime,reference"))
    assert f"conformance backends: {versions}" in proc.stdout, proc.stdout


def test_a_failing_item_fails_the_session_and_names_its_finding(tmp_path: Path) -> None:
    """ONNX's DFT node test is off on onnxruntime (20 of 200 elements, 9e8 ulp): prebuilt, so nothing exports."""
    from conformance.findings import cluster
    from conformance.store import Store

    db, junit = tmp_path / "f.sqlite", tmp_path / "junit.xml"
    proc = _pytest(tmp_path, "-q", "--conformance", "--conformance-cases", "onnx-node/test_dft",
                   "--conformance-backends", "onnxruntime", "--conformance-expectations", "none",
                   "--conformance-db", str(db), "--junitxml", str(junit))  # fmt: skip
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED, proc.stdout + proc.stderr
    assert "FAILED conformance/onnx-node/test_dft[onnxruntime-onnx]" in proc.stdout

    (case,) = ElementTree.parse(junit).getroot().iter("testcase")
    assert case.get("name") == "conformance.onnx-node.test_dft[onnxruntime-onnx]"
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props["outcome"] == "mismatch" and props["instances"] == "1"
    assert float(props["max_ulp"]) > 1e6 and float(props["max_abs_error"]) > 0

    with Store(db) as store:
        (run,) = store.runs()
        results = store.results(run.id)
    assert run.status == "complete", "the run finished; its results failed"
    (finding,) = cluster(results)
    assert props["finding"] == finding.id
    assert "conformance findings" in proc.stdout and f"{finding.id} backend: onnxruntime" in proc.stdout


SHRINK_CONFTEST = """
import json
import os
import re

from conformance import pytest_plugin
from conformance.model import Metrics, OracleAgreement, Outcome, Result


def judge(self, instance, planned):
    # A stand-in backend that is wrong on every input of more than one element: nothing exports.
    outcome = Outcome.MISMATCH if sum(x.size for x in instance.inputs) > 1 else Outcome.PASS
    with open(os.environ["JUDGED"], "a") as log:
        log.write(json.dumps([instance.id, str(outcome)]) + "\\n")
    result = Result(run_id=self.run_id, case_id=instance.id, case=instance.case.name,
                    category=instance.case.category, backend=planned.backend, backend_version="test",
                    exporter=planned.exporter, opset=planned.opset, outcome=outcome,
                    oracle=OracleAgreement.AGREE, metrics=Metrics(), params=instance.params)
    return [result]


pytest_plugin.ConformanceSession.judge = judge
"""


def test_shrink_steps_are_not_recorded(tmp_path: Path) -> None:
    """Hypothesis tries many candidates while it shrinks; the store keeps the draws and the minimal failure only."""
    (tmp_path / "conftest.py").write_text(SHRINK_CONFTEST)
    judged_log, db = tmp_path / "judged.jsonl", tmp_path / "s.sqlite"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", JUDGED=str(judged_log))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--conformance", "--conformance-cases",
         "relu", "--conformance-backends", "onnxruntime", "--conformance-max-examples", "10",
         "--conformance-db", str(db)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    judged = [json.loads(line) for line in judged_log.read_text().splitlines()]
    first_failure = next(i for i, (_, outcome) in enumerate(judged) if outcome == "mismatch")
    drawn = {case_id for case_id, _ in judged[:first_failure]}
    minimal = next(case_id for case_id, outcome in reversed(judged) if outcome == "mismatch")
    with sqlite3.connect(db) as conn:
        recorded = dict(conn.execute("SELECT case_id, outcome FROM results").fetchall())
    assert len(judged) > len(recorded) + 1, "Hypothesis shrank, trying candidates"
    assert recorded == {**dict.fromkeys(drawn, "pass"), minimal: "mismatch"}


def test_loadscope_keeps_a_case_on_one_worker(tmp_path: Path) -> None:
    """xdist scopes by what precedes the last `::`; the plugin's scheduler scopes the suite's items by case.

    By xdist's own scopes each item would be a unit of its own, and the first
    two (one case on two backends) would go to two workers.
    """
    proc = _pytest(tmp_path, "-v", "-n", "2", "--dist", "loadscope", "--conformance", "--conformance-cases", "relu,add",
                   "--conformance-backends", "onnxruntime,reference", "--conformance-max-examples", "1",
                   "--conformance-db", str(tmp_path / "x.sqlite"))  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ran = re.findall(r"\[(gw\d)\] \[\s*\d+%\] PASSED (conformance/\S+)", proc.stdout)
    assert len(ran) == 4, proc.stdout
    workers: dict[str, set[str]] = {}
    for worker, nodeid in ran:
        workers.setdefault(nodeid.partition("[")[0], set()).add(worker)
    assert all(len(w) == 1 for w in workers.values()), workers
