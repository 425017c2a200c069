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
