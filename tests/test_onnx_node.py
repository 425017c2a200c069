"""ONNX's node tests as the `onnx-node` case pack, the scoreboard figure, and `export-cases`.

The node tests are collected once per process (seconds); every test here that
needs them shares that collection and the case index in the session's cache.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from onnx import numpy_helper

from conformance.compare import judge
from conformance.engine import RunOptions, run
from conformance.export import ArtifactCache, read_tensor
from conformance.export_cases import export_cases
from conformance.generate import select_cases
from conformance.model import (
    PREBUILT_EXPORTER,
    Case,
    Metrics,
    OracleAgreement,
    Outcome,
    Prebuilt,
    Result,
    Tolerance,
)
from conformance.packs import onnx_node
from conformance.report import load_schema, render_html, render_markdown, report_data, scoreboard
from conformance.store import Store

from .conftest import conformance

HANDFUL = "onnx-node/test_abs*,onnx-node/test_add*,onnx-node/test_string_concat,onnx-node/test_identity_sequence"


@pytest.fixture(scope="module")
def node_cases() -> list[Case]:
    return list(onnx_node.load())


def test_the_store_lives_in_the_cache_dir_the_run_is_given(tmp_path: Path) -> None:
    from conformance.generate import discover_cases

    before = dict(os.environ)
    cases = [c for c in discover_cases(tmp_path) if c.category == "onnx-node"]
    assert os.environ == before, "the cache dir reaches the pack as an argument, not through the environment"
    (store,) = (tmp_path / "onnx-node").iterdir()
    assert (store / "index.json").is_file() and (store / "test_abs" / "model.onnx").is_file()
    (abs_case,) = [c for c in cases if c.name == "test_abs"]
    assert abs_case.prebuilt is not None and abs_case.prebuilt()[0].inputs, "its data is read from that store"


def test_the_pack_lists_every_node_test_under_onnx_node(node_cases: list[Case]) -> None:
    collected = onnx_node.node_tests()
    assert len(node_cases) == len(collected) > 1500, "one case per node test collect_testcases(None) builds"
    by_name = {c.name: c for c in node_cases}
    abs_case = by_name["test_abs"]
    assert abs_case.path == "onnx-node/test_abs" and abs_case.prebuilt is not None
    assert abs_case.tolerance == Tolerance(1e-3, 1e-7), "the test's own rtol/atol, ONNX's runner defaults"
    assert "signed-zero" in abs_case.unspecified, "ONNX's runner does not tell -0.0 from +0.0"
    assert "op:Abs" in abs_case.tags


def test_listing_reads_the_index_and_collects_nothing(node_cases: list[Case]) -> None:
    """After one collection the index makes `load()` cheap: no node-test module is imported."""
    code = (
        "import sys, time; t = time.perf_counter()\n"
        "from conformance.packs.onnx_node import load\n"
        "cases = load()\n"
        "assert 'onnx.backend.test.case.node' not in sys.modules, 'the node tests were collected'\n"
        "print(len(cases), time.perf_counter() - t)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    count, seconds = proc.stdout.split()
    assert int(count) == len(node_cases)
    # Loose on purpose: collecting takes ONNX seconds to minutes, reading the index well under one.
    assert float(seconds) < 30.0, f"load() took {seconds} s from the index"


def test_the_pack_is_an_entry_point_and_selects_by_glob(node_cases: list[Case]) -> None:
    from importlib.metadata import entry_points

    assert "conformance.packs.onnx_node:load" in {e.value for e in entry_points(group="conformance.cases")}
    assert [c.path for c in select_cases(node_cases, "onnx-node/test_abs*")] == ["onnx-node/test_abs"]
    assert len(select_cases(node_cases, "onnx-node/*")) == len(node_cases)


def test_random_draws_are_judged_by_shape_and_dtype_not_values(options: RunOptions, node_cases: list[Case]) -> None:
    """test_bernoulli* compares one run's draws with another's: the reference evaluator's outcome used to
    flip between pass and mismatch from run to run. Its values are now unspecified; shape and dtype stay."""
    random = {c.name for c in node_cases if "values" in c.unspecified}
    assert {"test_bernoulli", "test_bernoulli_expanded", "test_bernoulli_seed"} <= random
    assert not any(name.startswith(("test_abs", "test_add")) for name in random)
    opts = replace(options, backends="reference", cases="onnx-node/test_bernoulli*", expectations=None)
    outcomes = {str(r.outcome) for _ in range(3) for r in run(opts).results}
    assert outcomes == {"pass"}, f"the random tests' outcomes on the reference evaluator: {outcomes}"


def test_values_the_comparison_cannot_hold_are_named() -> None:
    assert onnx_node.as_array(np.float32(2.5)).shape == ()
    strings = onnx_node.as_array(np.array([b"a", "b"], dtype=object))
    assert strings.dtype == object and strings.tolist() == ["a", "b"], "outputs: object arrays of str"
    inputs = onnx_node.as_array(np.array([b"a", "bc"], dtype=object), role="input")
    assert inputs.dtype == np.dtype("<U2"), "inputs: fixed-width str, whose bytes (and so ids) are stable"
    for value, word in (([np.zeros(2)], "sequence"), (None, "optional"), ({1: 2}, "map")):
        with pytest.raises(onnx_node.Unrepresentable, match=word):
            onnx_node.as_array(value)


def test_strings_and_narrow_floats_compare_by_onnx_rules() -> None:
    import ml_dtypes

    got, want = np.array(["a", "b"], dtype=object), np.array(["a", "c"], dtype=object)
    verdict = judge([got], [want], [want], Tolerance(0, 0))
    assert verdict.outcome is Outcome.MISMATCH and "got 'b', expected 'c'" in verdict.message
    assert (
        judge([np.array("a")], [np.array("a", dtype=object)], [np.array("a", dtype=object)], Tolerance(0, 0)).outcome
        is Outcome.PASS
    )
    f8 = np.array([1.0, np.nan, -2.0], dtype=np.float32).astype(ml_dtypes.float8_e5m2)
    assert judge([f8], [f8], [f8], Tolerance(1e-3, 1e-7)).outcome is Outcome.PASS, (
        "NaN matches NaN, as in assert_allclose"
    )


def test_a_prebuilt_instance_with_a_skip_reason_is_skipped_on_every_backend(options: RunOptions) -> None:
    skipped = Case(
        name="sequence_thing",
        category="prebuilt",
        draw=lambda d: None,
        prebuilt=lambda: [Prebuilt(b"not a model", (), (), skip="has a sequence value")],
    )
    summary = run(replace(options, isolate=False), cases=[skipped])
    assert [(r.outcome, r.message) for r in summary.results] == [(Outcome.SKIP, "has a sequence value")] * 2


@pytest.fixture(scope="module")
def node_run(
    tmp_path_factory: pytest.TempPathFactory, artifact_cache: Path, node_cases: list[Case]
) -> tuple[Path, str]:
    db = tmp_path_factory.mktemp("node") / "r.sqlite"
    options = RunOptions(backends="onnxruntime,reference", cache_dir=artifact_cache, db=db, isolate=False)
    summary = run(replace(options, cases=HANDFUL), cases=node_cases)
    return db, summary.run_id


def test_a_handful_of_node_tests_pass_on_onnxruntime_and_reference(node_run: tuple[Path, str]) -> None:
    db, run_id = node_run
    with Store(db) as store:
        results = store.results(run_id)
    names = {r.case for r in results}
    assert {"test_abs", "test_add", "test_add_bcast", "test_string_concat", "test_identity_sequence"} <= names
    for r in results:
        assert r.exporter == PREBUILT_EXPORTER and r.category == "onnx-node"
        if r.case == "test_identity_sequence":
            assert r.outcome is Outcome.SKIP and "sequence" in r.message, r
        else:
            assert r.outcome is Outcome.PASS, f"{r.case} on {r.backend}: {r.outcome}: {r.message}"
    assert {r.backend for r in results} == {"onnxruntime", "reference"}
    assert len(results) == 2 * len(names), "every selected node test is recorded once per backend"


def test_the_scoreboard_figure_is_in_report_json_html_and_markdown(node_run: tuple[Path, str]) -> None:
    db, run_id = node_run
    with Store(db) as store:
        data = report_data(store, run_id)
    jsonschema.Draft202012Validator(load_schema()).validate(data)
    for backend in ("onnxruntime", "reference"):
        board = data["backends"][backend]["scoreboard"]
        assert board["skipped"] == 1 and board["failed"] == 0 and board["score"] == 1.0
        assert board["tests"] == board["passed"] + 1
    html = render_html(data)
    assert 'id="scoreboard-table"' in html and "passed / (passed + failed)" in html
    assert "| onnxruntime | " in render_markdown(data).split("ONNX node tests", 1)[1]


def test_expectations_cover_node_tests(tmp_path: Path, artifact_cache: Path, node_cases: list[Case]) -> None:
    known = tmp_path / "known.toml"
    known.write_text(
        '[[expectation]]\nbackend = "reference"\ncase = "onnx-node/test_abs"\noutcome = "mismatch"\n'
        'reason = "stale on purpose"\n'
    )
    options = RunOptions(
        backends="reference", cache_dir=artifact_cache, db=tmp_path / "r.sqlite", isolate=False, expectations=known
    )
    (result,) = run(replace(options, cases="onnx-node/test_abs"), cases=node_cases).results
    assert result.outcome is Outcome.XPASS and result.waiver and result.waiver["reason"] == "stale on purpose"


def _result(case: str, outcome: Outcome, category: str = "onnx-node") -> Result:
    return Result(
        "r", f"{category}/{case}[0]", case, category, "b", "1", "onnx", 13, outcome, OracleAgreement.AGREE, Metrics()
    )


def test_the_scoreboard_counts_as_the_old_onnx_scoreboard() -> None:
    outcomes = [Outcome.PASS, Outcome.XPASS, Outcome.MISMATCH, Outcome.UNSUPPORTED, Outcome.XFAIL, Outcome.SKIP]
    results = [_result(f"t{i}", o) for i, o in enumerate(outcomes)] + [_result("relu", Outcome.PASS, "activation")]
    assert scoreboard(results) == {"tests": 6, "passed": 2, "failed": 3, "skipped": 1, "score": 0.4}
    assert scoreboard([_result("relu", Outcome.PASS, "activation")]) is None, "no node test, no figure"


RUNNER = """
import sys, unittest
from pathlib import Path

import onnx.backend.test.loader as loader
import onnx.backend.test.runner as runner
import onnxruntime.backend as backend

directory = Path(sys.argv[1]).resolve()
# The public loader reads the exported folders (DIR's parent is the data dir, DIR's name the kind).
tests = loader.load_model_tests(data_dir=str(directory.parent), kind=directory.name)
# The Runner loads ONNX's own suites through load_model_tests: hand it the exported ones instead.
runner.load_model_tests = lambda data_dir=None, kind=None: tests if kind == "simple" else []
suite = runner.Runner(backend, __name__).include(r"_cpu$").test_suite
result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
print("SUMMARY", len(tests), result.testsRun - len(result.skipped), len(result.failures), len(result.errors))
"""


def _onnx_runner(directory: Path) -> tuple[int, int, int, int, str]:
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(directory)], capture_output=True, text=True, timeout=300)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("SUMMARY")), None)
    assert line is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    tests, ran, failures, errors = (int(v) for v in line.split()[1:])
    return tests, ran, failures, errors, proc.stdout


def test_exported_cases_run_under_onnx_backend_test_runner(
    tmp_path: Path, artifact_cache: Path, node_cases: list[Case]
) -> None:
    from cases.ops import relu

    out = tmp_path / "exported"
    abs_case = select_cases(node_cases, "onnx-node/test_abs")
    report = export_cases(
        [relu, *abs_case],
        out,
        exporters=["torchscript"],
        opset=18,
        seed=0,
        max_examples=2,
        cache=ArtifactCache(artifact_cache),
    )
    assert not report.failed, report.failed
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(folders) == 3 and all(f.startswith("test_") for f in folders), folders
    assert "test_onnx_node_test_abs_" in " ".join(folders) and "test_activation_relu_" in " ".join(folders)
    for f in folders:
        assert {p.name for p in (out / f).iterdir()} == {"model.onnx", "test_data_set_0", "data.json"}
        assert {p.name for p in (out / f / "test_data_set_0").iterdir()} >= {"input_0.pb", "output_0.pb"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(t["dir"] for t in manifest["tests"]) == folders

    tests, ran, failures, errors, log = _onnx_runner(out)
    assert (tests, ran, failures, errors) == (3, 3, 0, 0), log

    # The runner really reads the expected outputs: a wrong one fails.
    broken = tmp_path / "broken"
    shutil.copytree(out / folders[0], broken / folders[0])
    target = broken / folders[0] / "test_data_set_0" / "output_0.pb"
    expected = read_tensor(target)
    target.write_bytes(numpy_helper.from_array(expected + expected.dtype.type(3), name="out").SerializeToString())
    assert _onnx_runner(broken)[:4] == (1, 1, 1, 0)


def test_export_cases_refuses_an_unknown_exporter(tmp_path: Path) -> None:
    proc = conformance("export-cases", "--cases", "activation/relu", "--exporters", "bogus", str(tmp_path / "x"))
    assert proc.returncode == 2 and "unknown exporter 'bogus'" in proc.stderr


def test_export_cases_command_writes_backend_test_folders(tmp_path: Path, artifact_cache: Path) -> None:
    out = tmp_path / "out"
    proc = conformance(
        "export-cases", "--cases", "activation/relu", "--exporters", "torchscript", "--max-examples", "2",
        "--cache-dir", str(artifact_cache), "--quiet", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "2 backend-test folders written, 0 instances not exported" in proc.stdout
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert all(f.name.startswith("test_activation_relu_") and (f / "model.onnx").exists() for f in folders)
    assert json.loads((folders[0] / "data.json").read_text())["rtol"] == 1e-3, "never tighter than ONNX's default"


def test_cache_dir_also_holds_the_collected_node_tests(tmp_path: Path) -> None:
    """`--cache-dir` moves every cache a run builds, the pack's collected node tests included."""
    cache = tmp_path / "cache"
    proc = conformance(
        "run", "--cases", "onnx-node/test_abs", "--backends", "reference", "--cache-dir", str(cache),
        "--db", str(tmp_path / "r.sqlite"), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (store,) = (cache / "onnx-node").iterdir()
    assert (store / onnx_node.INDEX).exists() and (store / "test_abs" / "model.onnx").exists()
    (result,) = json.loads((tmp_path / "out" / "report.json").read_text())["results"]
    assert result["case"] == "test_abs" and result["outcome"] == "pass", result


def test_a_selection_the_node_tests_cannot_meet_does_not_collect_them(tmp_path: Path, artifact_cache: Path) -> None:
    """The pack declares its paths (`onnx-node/test_*`) and that its cases are opt-in, so `--cases relu` in a new
    cache folder skips collecting them (half a minute), while a glob that may reach them still loads them."""
    from conformance.generate import discover_cases, globs_may_meet

    assert [c.path for c in select_cases(discover_cases(tmp_path, "relu"), "relu")] == ["activation/relu"]
    assert not any(c.category == onnx_node.CATEGORY for c in discover_cases(tmp_path, None, opt_in=False))
    assert not (tmp_path / "onnx-node").exists(), "nothing of the pack was collected"
    for pattern in ("*abs", "test_a*", "onnx-node/*", "*", "t?st_abs", "[t]est_abs", "test_abs"):
        assert any(globs_may_meet(pattern, g) for g in ("onnx-node/test_*", "test_*")), pattern
    for pattern in ("relu", "elementwise/*", "abs*", "onnx-node/abs"):
        assert not any(globs_may_meet(pattern, g) for g in ("onnx-node/test_*", "test_*")), pattern
    cases = discover_cases(artifact_cache, "*_abs")
    nodes = [c for c in cases if c.category == onnx_node.CATEGORY]
    assert "test_abs" in {c.name for c in nodes}
    assert all(any(fnmatch.fnmatchcase(c.path, g) for g in onnx_node.load.paths) for c in nodes), "the claim holds"
