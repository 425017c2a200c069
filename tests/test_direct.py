"""Direct cases: ONNX nodes no torch exporter writes, each written by its case, judged against its torch meaning."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import onnx
import pytest
import torch

from conformance.casekit import OnnxNode
from conformance.engine import RunOptions, run
from conformance.findings import Attribution, Party, cluster, ours_if_direct
from conformance.generate import Draw, case, draw_instances, jobs_of
from conformance.model import DIRECT_EXPORTER, OracleAgreement, Outcome, Spec
from conformance.tensors import to_torch


def test_a_direct_case_runs_once_per_opset_whatever_the_exporters(options: RunOptions) -> None:
    summary = run(
        replace(
            options,
            cases="direct/hardmax,direct/thresholded_relu",
            exporters=("dynamo", "torchscript"),
            opsets=(17, 21),
            isolate=False,  # what is planned is under test, not the workers
        )
    )
    keys = {(r.case_id, r.backend, r.exporter, r.opset) for r in summary.results}
    instances = {r.case_id for r in summary.results}
    assert len(keys) == len(summary.results) == len(instances) * 2 * 2, "one result per instance, backend and opset"
    assert {r.exporter for r in summary.results} == {DIRECT_EXPORTER}
    assert {r.opset for r in summary.results} == {17, 21}
    for r in summary.results:  # onnxruntime has no bfloat16 Hardmax kernel: coverage, not failure
        assert r.outcome in (Outcome.PASS, Outcome.UNSUPPORTED), f"{r.case_id} on {r.backend}: {r.outcome} {r.message}"
    assert sum(r.outcome is Outcome.PASS for r in summary.results) >= len(summary.results) // 2


def test_the_written_node_is_a_valid_model_with_every_drawn_attribute() -> None:
    from cases.ops_direct import REDUCE_OPS, reduce

    instances = draw_instances(reduce, seed=0, max_examples=12)
    ops = set()
    for instance in instances:
        args = tuple(to_torch(x) for x in instance.inputs)
        model = onnx.load_from_string(instance.module.to_onnx(args, 18))
        onnx.checker.check_model(model, full_check=True)
        (node,) = model.graph.node
        ops.add(node.op_type)
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["keepdims"] == int(instance.params["keepdims"]), instance.params
        assert attrs["noop_with_empty_axes"] == int(instance.params["noop_with_empty_axes"]), instance.params
        # the node's declared output is what its torch meaning returns
        expected = instance.module(*args)
        declared = model.graph.output[0].type.tensor_type
        assert [d.dim_value for d in declared.shape.dim] == list(expected.shape), instance.params
    assert ops <= set(REDUCE_OPS) and len(ops) > 3, ops


def test_jobs_of_a_direct_instance_name_the_direct_exporter_at_every_opset() -> None:
    @case("test", direct=True)
    def softsign(d: Draw) -> Spec:
        return Spec(OnnxNode("Softsign", lambda x: x / (1 + x.abs())), (d.tensor("x", (3,), "float32"),))

    (instance,) = draw_instances(softsign, seed=0, max_examples=1)
    jobs = [(e, o) for _, e, o in jobs_of([instance], ("dynamo", "torchscript"), (17, 21, 23))]
    assert jobs == [(DIRECT_EXPORTER, 17), (DIRECT_EXPORTER, 21), (DIRECT_EXPORTER, 23)]


def test_a_wrong_graph_of_a_direct_case_is_the_cases_fault_not_an_exporters() -> None:
    blamed = ours_if_direct(Attribution(Party.EXPORTER, "the backends side with the reference"), DIRECT_EXPORTER)
    assert blamed.party == Party.CASE and "writes this graph itself" in blamed.evidence
    kept = ours_if_direct(Attribution(Party.EXPORTER, "torch's dynamo exporter raised"), "dynamo")
    assert kept.party == Party.EXPORTER
    backend = ours_if_direct(Attribution(Party.BACKEND, "3 of 4 pass"), DIRECT_EXPORTER)
    assert backend.party == Party.BACKEND


def test_a_direct_case_whose_meaning_is_wrong_is_found_and_blamed_on_the_case(options: RunOptions) -> None:
    @case("test", direct=True)
    def wrong_softsign(d: Draw) -> Spec:
        """The meaning written here is x / (2 + |x|), not the spec's: every backend sides with the reference."""
        return Spec(OnnxNode("Softsign", lambda x: x / (2 + x.abs())), (d.tensor("x", (2, 3), "float32"),))

    three = replace(options, backends="onnxruntime,reference,onnxruntime-noopt", isolate=False)
    summary = run(three, cases=[wrong_softsign])
    assert summary.results and all(r.oracle is OracleAgreement.DIVERGE for r in summary.results)
    (finding,) = cluster(summary.results)
    assert finding.party == Party.CASE, finding.evidence
    assert "the backends side with the reference" in finding.evidence
    assert "the graph the case wrote" in finding.evidence and "exporter wrote" not in finding.evidence


def test_the_direct_exporter_refuses_a_module_that_does_not_write_its_graph() -> None:
    from conformance.export import export_model

    with pytest.raises(TypeError, match="writes its graph"):
        export_model(torch.nn.ReLU(), (np.ones(3, np.float32),), DIRECT_EXPORTER, 18)


#: Nodes ONNX's own checker refuses although the spec defines them: findings about the spec, not the case.
SPEC_REFUSES = {
    # onnx 1.23's function body of MeanVarianceNormalization: its epsilon Constant fails inference for float
    # ("One and only one of the attributes 'value', ...") and is float32 beside float16 and double inputs.
    "MeanVarianceNormalization",
}


def test_every_direct_case_writes_a_node_onnx_itself_accepts() -> None:
    """Every drawn node passes ONNX's checker and strict shape inference at every opset the case runs at.

    A node the spec refuses (Sum of integers, Split without num_outputs at opset 18) would make every
    backend's refusal a finding about the case: the checker catches it before any backend runs.
    """
    from conformance.generate import Cover, discover_cases, draw_modes, select_cases
    from conformance.model import Values

    direct = select_cases(discover_cases(), "direct/*")
    assert all(c.direct for c in direct)
    assert len(direct) >= 25, [c.path for c in direct]
    refused = []
    for c in direct:
        for instance in draw_modes(c, seed=0, max_examples=2, modes=[Values.PLAIN], cover=Cover.EACH):
            args = tuple(to_torch(x) for x in instance.inputs)
            for opset in (o for o in (17, 21, 23) if o >= c.min_opset):
                model = onnx.load_from_string(instance.module.to_onnx(args, opset))
                if model.graph.node[0].op_type in SPEC_REFUSES:
                    continue
                try:
                    onnx.checker.check_model(model, full_check=True)
                except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
                    refused.append(f"{instance.id} at opset {opset} {instance.params}: {str(exc).splitlines()[0]}")
    assert not refused, "\n".join(refused[:10])


def _slice_as_written(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """What the written Slice node means by the spec, read from its inputs alone (axes and steps optional)."""
    from cases.ops_direct_attributes import _slice_indices

    (node,) = model.graph.node
    given = {i.name: onnx.numpy_helper.to_array(i).tolist() for i in model.graph.initializer}
    starts, ends = given[node.input[1]], given[node.input[2]]
    axes = given[node.input[3]] if len(node.input) > 3 and node.input[3] else list(range(len(starts)))
    steps = given[node.input[4]] if len(node.input) > 4 else [1] * len(starts)
    out = x
    for a, s, e, step in zip(axes, starts, ends, steps, strict=True):
        out = np.take(out, _slice_indices(x.shape[a], s, e, step), axis=a % x.ndim)
    return out


def test_a_slice_without_axes_writes_its_starts_in_axis_order() -> None:
    """Seed 34 draws a rank-2 slice over axes [1, 0] with the axes and steps inputs both omitted: the node's
    i-th start must then be axis i's, as the case's meaning reads it."""
    from cases.ops_direct_attributes import slice_

    omitted = 0
    for seed in (0, 34):
        for instance in draw_instances(slice_, seed=seed, max_examples=20):
            args = tuple(to_torch(x) for x in instance.inputs)
            model = onnx.load_from_string(instance.module.to_onnx(args, 21))
            omitted += len(model.graph.node[0].input) == 3
            written = _slice_as_written(model, instance.inputs[0])
            meant = instance.module(*args).numpy()
            assert written.shape == meant.shape and np.array_equal(written, meant), instance.params
    assert omitted, "no draw left the axes and steps inputs out: the order they imply went untested"


def test_resize_reads_only_each_positions_own_taps() -> None:
    """An infinity nearest picks stays infinite, and one linear never reaches stays out: a dense weight
    matrix would multiply it by 0 into NaN everywhere in its row."""
    from cases.ops_direct_attributes import _resize_axis, _resize_taps

    nearest = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor",
               "cubic_coeff_a": -0.75, "exclude_outside": 0, "antialias": 0}  # fmt: skip
    x = torch.tensor([[np.inf, 1.0, 2.0, 3.0]], dtype=torch.float64)
    rows, _ = _resize_taps(4, 8, 2.0, nearest, (0.0, 1.0))
    assert _resize_axis(x, 1, rows).tolist() == [[np.inf, np.inf, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]]
    rows, _ = _resize_taps(4, 8, 2.0, {**nearest, "mode": "linear"}, (0.0, 1.0))
    linear = _resize_axis(x, 1, rows)[0].tolist()
    assert np.isinf(linear[0]) and linear[2:] == [1.0, 1.5, 2.0, 2.5, 3.0, 3.0], linear


def test_an_integer_reduce_mean_truncates_toward_zero() -> None:
    """torch's mean refuses integers: the case's meaning divides the sum, as onnxruntime does."""
    from cases.ops_direct import REDUCE_OPS

    mean, dtypes = REDUCE_OPS["ReduceMean"]
    assert "int32" in dtypes
    got = mean(torch.tensor([[-3, 2], [7, 2]], dtype=torch.int32), [1], False)
    assert got.tolist() == [0, 4]  # -1/2 and 9/2 (the case casts the sum's int64 back to the input's dtype)


def test_a_sequence_built_and_read_back_inside_the_graph_runs_as_its_meaning() -> None:
    """`OnnxGraph`: tensors in and out, a sequence between them (SequenceConstruct, then ConcatFromSequence)."""
    import onnxruntime as ort

    from conformance.casekit import OnnxGraph

    nodes = [
        onnx.helper.make_node("SequenceConstruct", ["input_0", "input_1"], ["seq"]),
        onnx.helper.make_node("SequenceInsert", ["seq", "input_0", "at"], ["seq2"]),
        onnx.helper.make_node("ConcatFromSequence", ["seq2"], ["output_0"], axis=1, new_axis=1),
        onnx.helper.make_node("SequenceLength", ["seq2"], ["output_1"]),
    ]

    def meaning(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.stack([a, a, b], dim=1), torch.tensor(3)

    graph = OnnxGraph("SequenceInsert", meaning, nodes, constants={"at": np.array(-2, np.int64)})
    a, b = torch.arange(6.0).reshape(2, 3), -torch.arange(6.0).reshape(2, 3)
    model = onnx.load_from_string(graph.to_onnx((a, b), 18))
    onnx.checker.check_model(model, full_check=True)
    assert [n.op_type for n in model.graph.node] == ["SequenceConstruct", "SequenceInsert", "ConcatFromSequence",
                                                     "SequenceLength"]  # fmt: skip
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_0": a.numpy(), "input_1": b.numpy()})
    expected = [t.numpy() for t in meaning(a, b)]
    assert all(np.array_equal(g, e) for g, e in zip(got, expected, strict=True)), (got, expected)
