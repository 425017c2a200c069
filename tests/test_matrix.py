"""The operator support matrix, built from real runs and from hand-made results where blame is the point."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.findings import Finding, result_key
from conformance.matrix import FAIL, PARTIAL, PASS, UNSUPPORTED, build
from conformance.model import OpUse, Outcome
from tests.conftest import conformance, make_result

RELU = "activation/relu[abc]"
GRAPH = {(RELU, "dynamo", 18): (OpUse("Relu", "float32"),)}
TWO = {(RELU, "dynamo", 18): (OpUse("Relu", "float32"), OpUse("Add", "float32"))}


def _finding(r, party: str = "backend", node: dict | None = None) -> Finding:
    return Finding(
        id="F0123456789", backend=r.backend, exporter=r.exporter, op="Relu", dtype="float32", outcome=str(r.outcome),
        message="", party=party, evidence="", instances=(r.case_id,), results=1, cases=("activation/relu",),
        node=node, members=(result_key(r),),
    )  # fmt: skip


def test_relu_has_one_cell_per_backend_that_ran_it(tmp_path: Path) -> None:
    """The issue's check: after a small run, `matrix --json` lists Relu with a cell per backend."""
    db = str(tmp_path / "r.sqlite")
    ran = conformance(
        "run", "--cases", "relu", "--backends", "onnxruntime,reference,tract", "--max-examples", "3",
        "--values", "plain,special", "--db", db, "--quiet", "--expectations", "none",
    )  # fmt: skip
    assert ran.returncode in (0, 1), ran.stderr
    shown = conformance("matrix", "--json", "--db", db, "--out", str(tmp_path / "m"))
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    relu = [row for row in data["rows"] if row["op"] == "Relu"]
    assert relu, f"no Relu row in {[row['op'] for row in data['rows']]}"
    assert data["backends"] == ["onnxruntime", "reference", "tract"]
    for row in relu:
        assert set(row["cells"]) == {"onnxruntime", "reference", "tract"}, row
        assert row["opset"] == 18 and row["dtype"] in ("float32", "float64"), row
        assert row["cells"]["onnxruntime"]["status"] == PASS, row
    # tract's Relu maps NaN to 0; the third special draw (seed 0) is the first large enough to hold a NaN.
    tract = [row["cells"]["tract"] for row in relu]
    assert any(c["status"] in (FAIL, PARTIAL) and c["failed"] >= 1 for c in tract), tract
    assert json.loads((tmp_path / "m" / "matrix.json").read_text()) == data
    assert "| `Relu` | 18 | float" in (tmp_path / "m" / "matrix.md").read_text()
    text = conformance("matrix", "--db", db, "--op", "Rel*")
    assert text.returncode == 0 and text.stdout.splitlines()[0].split()[:3] == ["op", "opset", "dtype"], text.stdout
    assert all(line.startswith("Relu") for line in text.stdout.splitlines()[1:] if line and line[0].isupper())


def test_a_localized_failure_blames_the_culprit_op_only() -> None:
    bad = make_result(RELU, Outcome.MISMATCH, opset=18)
    node = {"op_type": "Add", "domain": "", "input_dtypes": ["float32", "float32"]}
    m = build([bad, make_result(RELU, opset=18, backend="reference")], TWO, [_finding(bad, node=node)])
    assert m.cell(("Add", 18, "float32"), "onnxruntime").status == FAIL
    assert m.cell(("Relu", 18, "float32"), "onnxruntime").status == "untested", "an innocent op is not blamed"
    assert m.cell(("Relu", 18, "float32"), "reference").status == PASS


def test_an_unlocalized_failure_implicates_every_op_without_failing_one() -> None:
    bad = make_result(RELU, Outcome.MISMATCH, opset=18)
    m = build([bad, make_result(RELU, opset=18)], TWO, [_finding(bad)])
    cell = m.cell(("Add", 18, "float32"), "onnxruntime")
    assert (cell.status, cell.passed, cell.implicated, cell.failed) == (PARTIAL, 1, 1, 0)
    one = build([bad], GRAPH, [_finding(bad)])
    assert one.cell(("Relu", 18, "float32"), "onnxruntime").status == FAIL, "a one-op graph's failure is that op's"


def test_a_fault_that_is_not_the_backends_counts_against_none_of_its_ops() -> None:
    bad = make_result(RELU, Outcome.MISMATCH, opset=18)
    m = build([bad], GRAPH, [_finding(bad, party="exporter")])
    assert m.cell(("Relu", 18, "float32"), "onnxruntime").status == "untested"


def test_unsupported_blames_the_op_the_message_names() -> None:
    r = make_result(RELU, Outcome.UNSUPPORTED, opset=18, message="Translating node #3 Unimplemented(Add)")
    m = build([r], TWO)
    assert m.cell(("Add", 18, "float32"), "onnxruntime").status == UNSUPPORTED
    assert m.cell(("Relu", 18, "float32"), "onnxruntime").status == "untested"


def test_a_models_ops_are_kept_beside_it_and_read_back(tmp_path: Path) -> None:
    """A warm run reads each model's (op, dtype) kinds from a sidecar instead of inferring shapes again."""
    import onnx
    from onnx import TensorProto, helper

    from conformance.engine import OPS_FILE, graph_ops

    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [value("x", TensorProto.FLOAT, [2])],
        [value("y", TensorProto.FLOAT, [2])],
    )
    path = tmp_path / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    first = graph_ops(path)
    assert [(u.op, u.dtype) for u in first] == [("Relu", "float32")]
    assert (tmp_path / OPS_FILE).exists()
    path.write_bytes(b"not a model any more")  # read back from the sidecar, not the model
    assert graph_ops(path) == first
    assert graph_ops(tmp_path / "nowhere" / "model.onnx") == ()
