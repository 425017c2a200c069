"""Findings' first stages on a real discrepancy: localize it to its node, reduce it, bundle it.

The discrepancy is onnxruntime's (1.32, CPU) ReduceMax on a row that holds
NaN after a number: the reference evaluator propagates the NaN, onnxruntime
returns the row's largest number (a NaN in first position does propagate).
The model puts a Relu before the reduction (NaN passes through it unchanged
on both sides) and an Add after it (which only inherits the error), so
localizing must blame the ReduceMax and neither neighbour.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conformance import layout
from conformance.backends.onnxruntime import OnnxRuntime, OnnxRuntimeNoOpt
from conformance.backends.reference import ReferenceBackend
from conformance.localize import Status, expose_intermediates, localize, node_alone
from conformance.model import OpClass, Outcome
from conformance.oracle import run_reference
from conformance.reduce import fit_model, reduce_inputs, reduced, still_fails_on
from conformance.repro import (
    NotReproduced,
    bundle_for,
    check_bundle,
    draft_issue,
    write_bundle,
)

ORT = OnnxRuntime()
RULE = OpClass.REDUCTION


def chain_model() -> onnx.ModelProto:
    """x -> Relu -> ReduceMax(axis 1, keepdims) -> Add(·, x): the reduction's result broadcast back over x."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("ReduceMax", ["r", "axes"], ["m"], name="reduce", keepdims=1),
        helper.make_node("Add", ["m", "x"], ["y"], name="add"),
    ]
    graph = helper.make_graph(
        nodes,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 6])],
        initializer=[numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    onnx.checker.check_model(model, full_check=True)
    return model


def nan_input() -> np.ndarray:
    """Positive values (Relu keeps them) with one NaN in the middle of row 2: not its first element."""
    x = (np.arange(24, dtype=np.float32).reshape(4, 6) + 1.0) / 4.0
    x[2, 3] = np.nan
    return x


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    path = tmp_path / "chain.onnx"
    onnx.save(chain_model(), str(path))
    return path


@pytest.fixture
def found(model_path: Path):
    return localize(model_path, [nan_input()], ORT, op_class=RULE)


def test_the_discrepancy_is_real_on_this_onnxruntime() -> None:
    """Checked directly, without the code under test: if onnxruntime fixes it, this says so first."""
    import onnxruntime

    model = chain_model()
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": nan_input()})[0]
    want = run_reference(model.SerializeToString(), [nan_input()])[0]
    assert np.isnan(want[2]).all()  # the row's maximum is NaN, and NaN + x is NaN
    assert np.isnan(got[2]).sum() == 1  # only x's own NaN: onnxruntime's maximum of that row was a number


def test_expose_intermediates_adds_every_typed_node_output_after_the_model_outputs() -> None:
    model = chain_model()
    exposed = expose_intermediates(model)
    onnx.checker.check_model(exposed, full_check=True)
    assert [o.name for o in exposed.graph.output] == ["y", "r", "m"]
    assert len(model.graph.output) == 1  # the model given is left as it was
    values = run_reference(exposed.SerializeToString(), [nan_input()])
    assert [v.shape for v in values] == [(4, 6), (4, 6), (4, 1)]


def test_node_alone_is_initializer_free_and_runs() -> None:
    model = chain_model()
    x = nan_input()
    lone = node_alone(model, 1, {"r": np.maximum(x, 0), "axes": np.array([1], dtype=np.int64)})
    onnx.checker.check_model(lone, full_check=True)
    assert [n.op_type for n in lone.graph.node] == ["ReduceMax"]
    assert [i.name for i in lone.graph.input] == ["r", "axes"]
    assert not lone.graph.initializer
    assert [o.name for o in lone.graph.output] == ["m"]
    assert lone.graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT
    assert list(lone.opset_import) == list(model.opset_import)
    (out,) = run_reference(lone.SerializeToString(), [x, np.array([1], dtype=np.int64)])
    assert out.shape == (4, 1) and np.isnan(out[2, 0])


def test_localize_blames_the_reduction_not_the_node_that_inherits_its_error(found, tmp_path: Path) -> None:
    assert found.status is Status.NODE
    assert found.node is not None
    assert (found.node.op_type, found.node.name, found.node.index) == ("ReduceMax", "reduce", 1)
    assert found.node.attributes == {"keepdims": 1}
    assert found.node.input_shapes == ((4, 6), (1,)) and found.node.input_dtypes == ("float32", "int64")
    # In the exposed run the Add diverged too; re-fed the reference's values it was not blamed.
    assert found.diverging == ("reduce", "add")
    assert found.outcome is Outcome.SPECIAL
    assert found.metrics is not None and found.metrics.worst_index == (2, 0)
    assert np.isnan(found.metrics.worst_expected) and found.metrics.worst_actual == np.nanmax(
        nan_input()[2]
    )  # the row without its NaN
    assert "ReduceMax node 'reduce'" in found.evidence and "nan" in found.evidence
    assert found.constant_inputs == (1,)  # the axes were an initializer
    # The lone-node model is valid and shows the discrepancy on its own.
    lone = tmp_path / "lone.onnx"
    lone.write_bytes(found.model_bytes)
    onnx.checker.check_model(str(lone), full_check=True)
    (got,) = ORT.run(ORT.prepare(lone), list(found.inputs))
    assert not np.isnan(got[2, 0]) and np.isnan(found.expected[0][2, 0])


def test_localize_says_when_nothing_diverges(model_path: Path) -> None:
    clean = nan_input()
    clean[2, 3] = 1.0
    assert localize(model_path, [clean], ORT, op_class=RULE).status is Status.NOT_REPRODUCED
    # The reference evaluator run as a backend agrees with itself even on the NaN.
    assert localize(model_path, [nan_input()], ReferenceBackend(), op_class=RULE).status is Status.NOT_REPRODUCED


def test_an_optimizer_rewrite_is_a_whole_graph_finding(tmp_path: Path) -> None:
    """onnxruntime's optimizer drops Add(x, +0.0) as a no-op, but -0.0 + +0.0 is +0.0: the sign of zero leaks.

    No node is wrong on its own, and with the Add's output exposed the
    optimizer keeps the Add, so the exposed run agrees: localizing must say so
    rather than blame a node. Without graph optimizations nothing diverges.
    """
    nodes = [
        helper.make_node("Neg", ["x"], ["n"], name="neg"),
        helper.make_node("Add", ["n", "zero"], ["a"], name="add_zero"),
        helper.make_node("Mul", ["a", "two"], ["y"], name="double"),
    ]
    graph = helper.make_graph(
        nodes,
        "noop",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
        initializer=[
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
            numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    path = tmp_path / "noop.onnx"
    onnx.save(model, str(path))
    x = np.array([0.0, 1.0, -2.0], dtype=np.float32)
    out = localize(path, [x], ORT, op_class=OpClass.ELEMENTWISE)
    assert out.status is Status.WHOLE_GRAPH
    assert out.node is None and not out.model_bytes
    assert "got -0.0, expected 0.0" in out.evidence and "exposing them changed" in out.evidence
    assert localize(path, [x], OnnxRuntimeNoOpt(), op_class=OpClass.ELEMENTWISE).status is Status.NOT_REPRODUCED


def test_localize_stops_at_its_time_budget(model_path: Path) -> None:
    out = localize(model_path, [nan_input()], ORT, op_class=RULE, time_budget=0.0)
    assert out.status is Status.ERROR and "time budget" in out.evidence
    assert out.node is not None and out.node.op_type == "ReduceMax"  # where it had got to


def test_reduce_shrinks_the_input_and_keeps_the_failure(found) -> None:
    still_fails = still_fails_on(ORT, found.model_bytes, op_class=RULE, outcome=found.outcome)
    small = reduce_inputs(found.model_bytes, found.inputs, still_fails, 10.0, keep=found.constant_inputs)
    assert small[0].size < found.inputs[0].size
    assert small[0].ndim == 2 and small[0].shape[0] == 1  # one row is enough
    assert np.isnan(small[0]).sum() == 1 and not np.isnan(small[0][0, 0])  # the NaN, after a number
    np.testing.assert_array_equal(small[1], found.inputs[1])  # the axes are the op's meaning: untouched
    assert still_fails(small)
    fitted = onnx.load_from_string(fit_model(found.model_bytes, small))
    onnx.checker.check_model(fitted, full_check=True)
    dims = [d.dim_value for d in fitted.graph.input[0].type.tensor_type.shape.dim]
    assert dims == list(small[0].shape)


def test_reduce_leaves_inputs_that_do_not_fail_alone(found) -> None:
    clean = [np.ones((4, 6), dtype=np.float32), found.inputs[1]]
    still_fails = still_fails_on(ORT, found.model_bytes, op_class=RULE)
    out = reduce_inputs(found.model_bytes, clean, still_fails, 5.0)
    assert out[0].shape == (4, 6)


def test_bundle_reproduces_in_a_fresh_interpreter(found, tmp_path: Path) -> None:
    small = reduced(found, ORT, op_class=RULE, time_budget=10.0)
    assert small.inputs[0].size < found.inputs[0].size
    issue = draft_issue(small, backend_version=ORT.version())
    out = write_bundle(
        tmp_path / "bundle",
        model_bytes=small.model_bytes,
        inputs=small.inputs,
        expected=small.expected,
        backend_name=small.backend,
        title=issue.title,
        issue_markdown=issue.markdown,
        rtol=small.tolerance.rtol,
        atol=small.tolerance.atol,
    )
    assert check_bundle(out) == 1
    model = onnx.load(str(out / layout.MODEL))
    assert [n.op_type for n in model.graph.node] == ["ReduceMax"]
    data = out / layout.DATA_SET
    names = [i.name for i in model.graph.input]
    for i, name in enumerate(names):
        tensor = onnx.TensorProto()
        tensor.ParseFromString((data / layout.input_file(i)).read_bytes())
        assert tensor.name == name
        np.testing.assert_array_equal(numpy_helper.to_array(tensor), small.inputs[i])
    assert (data / layout.output_file(0)).exists()
    issue = (out / "ISSUE.md").read_text()
    title = issue.splitlines()[0]
    assert title.startswith("# onnxruntime: ReduceMax returns ") and "instead of NaN" in title
    assert title.endswith("(float32)")
    import onnxruntime

    assert f"onnxruntime {onnxruntime.__version__}" in issue and f"onnx {onnx.__version__}" in issue
    assert "`keepdims=1`" in issue and "nan" in issue


def test_a_bundle_that_does_not_fail_exits_0_and_is_not_handed_out(found, tmp_path: Path) -> None:
    clean = (np.ones((1, 3), dtype=np.float32), found.inputs[1])
    model_bytes = fit_model(found.model_bytes, list(clean))
    expected = run_reference(model_bytes, list(clean))
    issue = draft_issue(found, backend_version=ORT.version())
    out = write_bundle(
        tmp_path / "clean",
        model_bytes=model_bytes,
        inputs=clean,
        expected=expected,
        backend_name="onnxruntime",
        title=issue.title,
        issue_markdown=issue.markdown,
        rtol=found.tolerance.rtol,
        atol=found.tolerance.atol,
    )
    assert check_bundle(out) == 0
    passing = dataclasses.replace(found, model_bytes=model_bytes, inputs=clean, expected=tuple(expected))
    with pytest.raises(NotReproduced):
        bundle_for(passing, tmp_path / "refused", backend_version=ORT.version())


def test_a_backend_without_a_template_is_named(found, tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match="'no-such-backend'"):
        write_bundle(
            tmp_path / "no-such-backend",
            model_bytes=found.model_bytes,
            inputs=found.inputs,
            expected=found.expected,
            backend_name="no-such-backend",
            title="t",
            issue_markdown="",
            rtol=0.0,
            atol=0.0,
        )


def test_a_model_the_backend_cannot_take_is_localized_to_the_node_it_cannot_take_alone(tmp_path: Path) -> None:
    """OpenVINO has no Det: the whole model fails to load, and trying each node alone blames Det, not Relu."""
    from conformance.backends.openvino import OpenVINO

    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"), helper.make_node("Det", ["r"], ["y"], name="det")]
    graph = helper.make_graph(
        nodes,
        "det",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path = tmp_path / "det.onnx"
    onnx.save(model, path)
    x = np.array([[2.0, 0.0, 1.0], [1.0, 3.0, 0.0], [0.0, 1.0, 4.0]], dtype=np.float32)
    loc = localize(path, [x], OpenVINO(), op_class=OpClass.MATMUL)
    assert loc.status is Status.NODE and loc.node is not None and loc.node.op_type == "Det", loc.evidence
    assert "cannot load or run the model" in loc.evidence and "Det" in (loc.error or ""), loc.evidence


@pytest.mark.parametrize("backend", ["openvino", "iree", "tvm", "tinygrad", "tract", "onnx2torch"])
def test_every_backends_repro_script_runs_the_model(backend: str, tmp_path: Path) -> None:
    """A template that cannot run the model would exit 2 and hide a real discrepancy: each runs relu(x) + x
    on plain values, which every backend gets right (exit 0: not reproduced)."""
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "x"], ["y"])]
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        nodes, "g", [value("x", TensorProto.FLOAT, [4, 6])], [value("y", TensorProto.FLOAT, [4, 6])]
    )
    model_bytes = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    x = np.arange(24, dtype=np.float32).reshape(4, 6) / 7 - 1
    expected = run_reference(model_bytes, [x])
    out = write_bundle(
        tmp_path / backend, model_bytes=model_bytes, inputs=(x,), expected=expected, backend_name=backend,
        title="t", issue_markdown="", rtol=1e-6, atol=1e-6,
    )  # fmt: skip
    assert check_bundle(out) == 0, (out / "repro.py").read_text()[-1500:]


def test_a_crash_is_localized_reduced_and_bundled_with_the_backend_in_a_worker(tmp_path: Path) -> None:
    """tract 0.23 aborts the process on an int64 MatMul (panic: Can't build a WeightType from I64).

    Run in this process it would take pytest with it: the isolated runner meets each death in a worker, the
    sweep blames the MatMul and not the Neg before it, reducing keeps it dying, and the bundle's repro.py
    (which runs the model in a child) exits 1.
    """
    pytest.importorskip("tract")
    from conformance.backends.tract import Tract
    from conformance.investigate import isolated
    from conformance.localize import BackendDied

    nodes = [
        helper.make_node("Neg", ["a"], ["n"], name="neg"),
        helper.make_node("MatMul", ["n", "b"], ["y"], name="matmul"),
    ]
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        nodes,
        "int_matmul",
        [value("a", TensorProto.INT64, [3, 4]), value("b", TensorProto.INT64, [4, 2])],
        [value("y", TensorProto.INT64, [3, 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path = tmp_path / "int_matmul.onnx"
    onnx.save(model, path)
    a = np.arange(12, dtype=np.int64).reshape(3, 4) - 5
    b = np.arange(8, dtype=np.int64).reshape(4, 2)
    backend = Tract()
    with isolated(backend, 30.0) as run:
        with pytest.raises(BackendDied, match="WeightType"):
            run(model, [a, b])
        loc = localize(path, [a, b], backend, op_class=OpClass.MATMUL, run=run)
        assert loc.status is Status.NODE and loc.node is not None, loc.evidence
        assert loc.node.op_type == "MatMul" and "dies on" in loc.evidence and "WeightType" in loc.error, loc.evidence
        small = reduced(loc, backend, op_class=OpClass.MATMUL, time_budget=20.0, run=run, died=True)
    assert all(x.size <= y.size for x, y in zip(small.inputs, loc.inputs, strict=True))
    out = bundle_for(small, tmp_path / "bundle", backend_version="0.23.9")
    done = subprocess.run([sys.executable, str(out / "repro.py")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "killed the process" in done.stdout, done.stdout + done.stderr


def test_another_backend_stands_in_where_the_reference_evaluator_cannot_run_the_model(tmp_path: Path) -> None:
    """onnx 1.23's reference GridSample knows only opset 20's mode names: at opset 16 'bilinear' raises.

    onnxruntime's intermediates take its place once its outputs match torch's (computed here with torch's own
    grid_sample), and the evidence says so; where the stand-in disagrees with torch, nothing is localized.
    """
    import torch

    from conformance.backends.openvino import OpenVINO
    from conformance.localize import in_process

    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("GridSample", ["r", "g"], ["y"], name="grid", mode="bilinear", align_corners=0),
    ]
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        nodes,
        "grid_sample",
        [value("x", TensorProto.FLOAT, [1, 1, 3, 4]), value("g", TensorProto.FLOAT, [1, 2, 2, 2])],
        [value("y", TensorProto.FLOAT, [1, 1, 2, 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 16)])
    model.ir_version = 8
    path = tmp_path / "grid_sample.onnx"
    onnx.save(model, path)
    x = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4) - 3
    grid = np.linspace(-0.9, 0.9, 8, dtype=np.float32).reshape(1, 2, 2, 2)
    with pytest.raises(Exception, match="only supports nearest, linear, and cubic"):
        run_reference(model.SerializeToString(), [x, grid])
    truth = torch.nn.functional.grid_sample(
        torch.relu(torch.from_numpy(x)), torch.from_numpy(grid), mode="bilinear", align_corners=False
    ).numpy()
    stand_in = [("onnxruntime", in_process(ORT))]
    loc = localize(path, [x, grid], OpenVINO(), op_class=OpClass.ELEMENTWISE, stand_ins=stand_in, truth=[truth])
    assert loc.status is Status.NOT_REPRODUCED, loc.evidence
    assert "onnxruntime's values stand in, and it matches torch" in loc.evidence, loc.evidence
    wrong = localize(path, [x, grid], OpenVINO(), op_class=OpClass.ELEMENTWISE, stand_ins=stand_in, truth=[truth + 1])
    assert wrong.status is Status.ERROR and "onnxruntime disagrees with torch" in wrong.evidence, wrong.evidence


def test_a_node_that_fails_only_on_its_initializers_is_localized_with_them(tmp_path: Path) -> None:
    """onnx2torch 1.5 cannot read a bfloat16 initializer (torch.from_numpy refuses ml_dtypes' bfloat16).

    Initializer-free, every node runs; with its constant input held as an initializer, as the model holds
    it, the Add fails alone: it is the culprit, and its bundle keeps the initializer.
    """
    import ml_dtypes

    from conformance.backends.onnx2torch import OnnxToTorch

    backend = OnnxToTorch()
    if not backend.available().ok:
        pytest.skip(f"onnx2torch: {backend.available()}")

    w = np.array([[0.5, -1.0, 2.0]], dtype=ml_dtypes.bfloat16)
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Add", ["r", "w"], ["y"], name="add"),
    ]
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        nodes,
        "bf16_initializer",
        [value("x", TensorProto.BFLOAT16, [2, 3])],
        [value("y", TensorProto.BFLOAT16, [2, 3])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    path = tmp_path / "bf16.onnx"
    onnx.save(model, path)
    x = np.arange(6, dtype=np.float32).reshape(2, 3).astype(ml_dtypes.bfloat16)
    loc = localize(path, [x], backend, op_class=OpClass.ELEMENTWISE)
    assert loc.status is Status.NODE and loc.node is not None and loc.node.op_type == "Add", loc.evidence
    assert "as initializers" in loc.evidence and "bfloat16" in loc.error, loc.evidence
    alone = onnx.load_from_string(loc.model_bytes)
    assert [i.name for i in alone.graph.initializer] == ["w"] and [i.name for i in alone.graph.input] == ["r"]
    out = bundle_for(loc, tmp_path / "bundle", backend_version="1.5.15")
    assert check_bundle(out) == 1


def test_an_issue_about_extra_outputs_says_how_many_instead_of_quoting_no_element() -> None:
    """onnx2torch hands back TopK's two outputs where the graph declares one (argsort): no element is wrong."""
    from conformance.localize import Localization, NodeInfo

    node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=-1)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3]), helper.make_tensor_value_info("k", TensorProto.INT64, [1])],
        [helper.make_tensor_value_info("i", TensorProto.INT64, [3])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    info = NodeInfo(0, "n0", "TopK", "", {"axis": -1}, ("x", "k"), ((3,), (1,)), ("float32", "int64"), ("v", "i"))
    found = Localization(
        Status.NODE, "onnx2torch", "TopK alone returns two outputs", node=info,
        model_bytes=model.SerializeToString(), inputs=(np.zeros(3, np.float32), np.array([3])),
        expected=(np.arange(3),), actual=(np.zeros(3, np.float32), np.arange(3)), outcome=Outcome.SHAPE,
    )  # fmt: skip
    issue = draft_issue(found, backend_version="1.5.15")
    assert issue.title == "onnx2torch: TopK returns 2 outputs where the graph declares 1 (float32)", issue.title
    assert "The graph declares 1 outputs; onnx2torch returns 2." in issue.markdown


def test_an_issue_about_a_wrong_shape_says_the_shapes_where_both_outputs_print_empty() -> None:
    """onnxruntime's NonZero of a 0-d False gives indices of shape [1, 0], the spec's are [0, 0]: both print
    `[]`, and the issue read "returns wrong values", expected [] and got []."""
    from conformance.localize import Localization, NodeInfo

    node = helper.make_node("NonZero", ["x"], ["y"])
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, None)],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    info = NodeInfo(0, "n0", "NonZero", "", {}, ("x",), ((),), ("bool",), ("y",))
    found = Localization(
        Status.NODE, "onnxruntime", "NonZero alone gives another shape", node=info,
        model_bytes=model.SerializeToString(), inputs=(np.array(False),),
        expected=(np.zeros((0, 0), np.int64),), actual=(np.zeros((1, 0), np.int64),), outcome=Outcome.SHAPE,
    )  # fmt: skip
    issue = draft_issue(found, backend_version="1.32.0")
    assert issue.title == "onnxruntime: NonZero returns shape [1, 0] instead of [0, 0] (bool)", issue.title
    assert "Output 0 has shape [1, 0]; the reference evaluator's (and torch's) is [0, 0]." in issue.markdown


def test_a_constant_the_backend_cannot_take_is_the_culprit_when_every_other_node_is_right_alone() -> None:
    """TVM's importer reads only a Constant's `value`: torch writes `value_int` for max over a dim, and every
    other node passes alone (its constant input fed as an initializer), so the Constant itself is tried."""
    pytest.importorskip("tvm")
    from conformance.backends.tvm import TVM

    backend = TVM()
    const = helper.make_node("Constant", [], ["k"], value_int=0)
    ident = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph(
        [const, ident], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2]), helper.make_tensor_value_info("k", TensorProto.INT64, [])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        onnx.save(model, path)
        found = localize(path, [np.ones(2, np.float32)], backend, op_class=OpClass.EXACT)
    assert found.status is Status.NODE and found.node is not None and found.node.op_type == "Constant", found.evidence
    assert "no value in Constant" in found.evidence


def test_a_model_the_reference_evaluator_has_no_kernel_for_at_its_opset_is_localized_converted(tmp_path: Path) -> None:
    """onnx 1.23's reference evaluator has DequantizeLinear from version 19 only: an opset-17 QDQ graph (what both
    exporters write for fake quantization at 17) could not be localized at all. Converted to opset 19 by onnx's
    version converter, which keeps every value's name, its intermediates are the ones to compare with."""
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quantize"),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="dequantize"),
    ]
    value = helper.make_tensor_value_info
    graph = helper.make_graph(
        nodes,
        "qdq",
        [value("x", TensorProto.FLOAT, [6])],
        [value("y", TensorProto.FLOAT, [6])],
        initializer=[numpy_helper.from_array(np.array(0.5, np.float32), "s"),
                     numpy_helper.from_array(np.array(3, np.uint8), "z")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "qdq.onnx"
    onnx.save(model, path)
    x = np.array([-4.0, -0.25, 0.25, 0.75, 1.0, 200.0], np.float32)
    with pytest.raises(Exception, match="No implementation for operator 'DequantizeLinear'"):
        run_reference(model.SerializeToString(), [x])
    loc = localize(path, [x], ORT, op_class=OpClass.EXACT)
    assert loc.status is Status.NOT_REPRODUCED, loc.evidence
    assert "converted to opset 19 by onnx's version converter" in loc.evidence, loc.evidence


def test_a_node_the_reference_cannot_run_reduces_against_the_backend_standing_in() -> None:
    """onnx 1.23's reference evaluator knows no Relu activation for RNN; tract applies tanh whatever the
    attribute says. Reducing that culprit compared every candidate with the reference, so it raised and the
    finding had no bundle; the backend that stood in while localizing now gives the expected values, and the
    bundle's ISSUE.md says whose they are."""
    from conformance.backends import select_backends
    from conformance.investigate import expect_with
    from conformance.localize import Localization, in_process
    from conformance.reduce import by_reference

    (tract,) = select_backends(["tract"])
    seq, batch, size, hidden = 3, 1, 3, 4
    node = helper.make_node("RNN", ["X", "W", "R"], ["Y", "Y_h"], hidden_size=hidden, activations=["Relu"])
    graph = helper.make_graph(
        [node], "rnn_relu",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [seq, batch, size]),
         helper.make_tensor_value_info("W", TensorProto.FLOAT, [1, hidden, size]),
         helper.make_tensor_value_info("R", TensorProto.FLOAT, [1, hidden, hidden])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [seq, 1, batch, hidden]),
         helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, batch, hidden])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model_bytes = model.SerializeToString()
    rng = np.random.default_rng(0)
    inputs = tuple(
        rng.standard_normal(shape).astype(np.float32)
        for shape in ((seq, batch, size), (1, hidden, size), (1, hidden, hidden))
    )
    with pytest.raises(Exception, match="Relu"):
        by_reference(model_bytes, list(inputs))
    loc = Localization(
        Status.NODE, "tract", "RNN diverges", model_bytes=model_bytes, inputs=inputs, outcome=Outcome.MISMATCH
    )
    expect = expect_with([("onnxruntime", in_process(OnnxRuntime()))])
    out = reduced(loc, tract, op_class=OpClass.ELEMENTWISE, expect=expect, time_budget=20)
    assert out.expected_by.startswith("onnxruntime, standing in for the ONNX reference evaluator"), out.expected_by
    assert "Relu" in out.expected_by
    assert out.expected and all((np.asarray(e) >= 0).all() for e in out.expected), out.expected  # ReLU's outputs
    # tract's tanh: tanh(1) where ReLU gives 1, or a negative value where it gives 0.
    assert out.actual and not np.allclose(out.actual[0], out.expected[0], atol=1e-3), (out.actual, out.expected)
    assert sum(x.size for x in out.inputs) <= sum(x.size for x in inputs)
