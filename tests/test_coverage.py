"""Coverage is measured from the exported graphs and the eager run, not declared."""

from __future__ import annotations

import json
from pathlib import Path

from onnx import helper

from conformance.coverage import default_domain_ops, onnx_ops

from .conftest import conformance


def test_ops_are_found_in_subgraphs_and_functions() -> None:
    then = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "then", [], [])
    els = helper.make_graph([helper.make_node("Neg", ["x"], ["y"])], "else", [], [])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=els)
    fn = helper.make_function("local", "f", ["a"], ["b"], [helper.make_node("Exp", ["a"], ["b"])], [])
    graph = helper.make_graph([node, helper.make_node("f", ["y"], ["z"], domain="local")], "g", [], [])
    model = helper.make_model(graph, functions=[fn])
    assert onnx_ops(model) == {"If", "Relu", "Neg", "Exp"}


def test_default_domain_ops_follow_the_opset() -> None:
    assert "Gelu" in default_domain_ops(20) and "Gelu" not in default_domain_ops(18)
    assert "Upsample" not in default_domain_ops(18), "deprecated operators are not targets"


def test_coverage_json_counts_onnx_and_torch_operators(tmp_path: Path, artifact_cache: Path) -> None:
    out = tmp_path / "cov.json"
    proc = conformance(
        "coverage", "--cases", "relu,add,conv2d,matmul", "--max-examples", "1", "--cache-dir", str(artifact_cache),
        "--json-out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert {"Relu", "Add", "Conv", "MatMul"} <= set(data["onnx"]["exercised"])
    assert data["onnx"]["count"] == len(data["onnx"]["exercised"])
    assert data["onnx"]["available"] > 150
    assert {"relu", "add", "convolution"} <= set(data["torch"]["operators"])
    assert "ONNX operators exercised" in proc.stdout


def test_parameter_coverage_is_kept_per_case_and_read_back_while_nothing_it_depends_on_changed(
    tmp_path: Path, monkeypatch
) -> None:
    """Covering draws take most of `coverage --params`; a warm call reads the rows, and other options draw."""
    import conformance.coverage as coverage
    from conformance.generate import discover_cases, select_cases

    cases = select_cases(discover_cases(), "avg_pool2d,sign")
    first = coverage.parameters(cases, seed=0, max_examples=2, cover="each", cache_dir=tmp_path)
    assert len(list((tmp_path / "params").rglob("*.json"))) == 2

    def no_drawing(*args, **kwargs):
        raise AssertionError("drew again although nothing changed")

    monkeypatch.setattr(coverage, "draw_covering", no_drawing)
    assert coverage.parameters(cases, seed=0, max_examples=2, cover="each", cache_dir=tmp_path) == first
    monkeypatch.undo()
    coverage.parameters(cases, seed=1, max_examples=2, cover="each", cache_dir=tmp_path)
    assert len(list((tmp_path / "params").rglob("*.json"))) == 4, "another seed is drawn, not read"
