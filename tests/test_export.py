"""Export: both exporters, ONNX's backend-test layout, the content-addressed cache, export-fail."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from conformance.casekit import Fn
from conformance.export import ArtifactCache, artifact_key, build_artifact, read_tensor
from conformance.generate import Draw, case, discover_cases, draw_instances, select_cases
from conformance.model import Spec, error_text


def _instance(name: str, seed: int = 0):
    return draw_instances(select_cases(discover_cases(), name)[0], seed=seed, max_examples=1)[0]


@pytest.mark.parametrize(("exporter", "opset"), [("dynamo", 18), ("torchscript", 17)])
def test_artifact_is_in_onnx_backend_test_layout(tmp_path: Path, exporter: str, opset: int) -> None:
    inst = _instance("add")
    art = build_artifact(inst, exporter, opset, ArtifactCache(tmp_path))
    assert not art.export_error and art.fresh
    model = onnx.load(str(art.directory / "model.onnx"))
    onnx.checker.check_model(model)
    assert {o.version for o in model.opset_import if o.domain in ("", "ai.onnx")} == {opset}
    data = art.directory / "test_data_set_0"
    inputs = sorted(data.glob("input_*.pb"))
    assert len(inputs) == len(inst.inputs)
    for path, x in zip(inputs, inst.inputs, strict=True):
        assert read_tensor(path).tobytes() == x.tobytes()
    graph_inputs = [i.name for i in model.graph.input]
    assert [onnx.load_tensor(str(p)).name for p in inputs] == graph_inputs, "input_N.pb must name the graph input"
    np.testing.assert_array_equal(read_tensor(data / "output_0.pb"), art.oracles.source[0])


def test_second_build_reads_the_cache_and_exports_nothing(tmp_path: Path) -> None:
    inst = _instance("relu")
    cache = ArtifactCache(tmp_path)
    first = build_artifact(inst, "dynamo", 18, cache)
    second = build_artifact(inst, "dynamo", 18, cache)
    assert first.fresh and not second.fresh
    assert second.directory == first.directory
    for a, b in zip(first.oracles.source, second.oracles.source, strict=True):
        assert a.tobytes() == b.tobytes()
    assert (second.oracles.spec is None) == (first.oracles.spec is None)


def test_cache_key_covers_exporter_opset_and_instance() -> None:
    a, b = draw_instances(select_cases(discover_cases(), "relu")[0], seed=0, max_examples=2)
    keys = {
        artifact_key(a, "dynamo", 18),
        artifact_key(a, "torchscript", 18),
        artifact_key(a, "dynamo", 17),
        artifact_key(b, "dynamo", 18),
    }
    assert len(keys) == 4
    assert artifact_key(a, "dynamo", 18) == artifact_key(_instance("relu", 0), "dynamo", 18)


def test_damaged_cache_entry_is_rebuilt(tmp_path: Path) -> None:
    inst = _instance("relu")
    cache = ArtifactCache(tmp_path)
    art = build_artifact(inst, "dynamo", 18, cache)
    (art.directory / "test_data_set_0" / "output_0.pb").unlink()
    again = build_artifact(inst, "dynamo", 18, cache)
    assert again.fresh


def _cholesky(x: torch.Tensor) -> torch.Tensor:
    return torch.linalg.cholesky(x @ x.T + 3 * torch.eye(x.shape[0]))


@case("test")
def unexportable(d: Draw) -> Spec:
    """Cholesky has no ONNX operator and neither exporter decomposes it: a genuine export failure."""
    return Spec(Fn(_cholesky), (d.tensor("x", (3, 3), "float32"),))


@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
def test_export_failure_is_recorded_with_the_exporters_message(tmp_path: Path, exporter: str) -> None:
    inst = draw_instances(unexportable, seed=0, max_examples=1)[0]
    art = build_artifact(inst, exporter, 18, ArtifactCache(tmp_path))
    assert art.export_error, "the export should have failed"
    assert "Traceback" not in art.export_error and "\x1b[" not in art.export_error
    assert "cholesky" in art.export_error.lower() or "ConversionError" in art.export_error
    assert len(art.export_error) <= 2000
    assert not (art.directory / "model.onnx").exists()
    # the failure is cached too: the same exporter fails the same way on the same input
    assert not build_artifact(inst, exporter, 18, ArtifactCache(tmp_path)).fresh


def test_function_wrapper_exports() -> None:
    assert Fn(torch.add)(torch.ones(1), torch.ones(1)).item() == 2.0


@case("test")
def dynamic_batch(d: Draw) -> Spec:
    """Traced at batch 2, judged at the drawn batch: passes only if the batch axis really is dynamic."""
    linear = torch.nn.Linear(4, 3).eval()
    batch = d.integer("batch", 3, 5)
    return Spec(
        linear,
        (d.tensor("x", (batch, 4), "float32"),),
        dynamic_axes=({0: "batch"},),
        export_inputs=(np.zeros((2, 4), np.float32),),
    )


@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
def test_dynamic_axes_are_exported_as_dynamic(tmp_path: Path, exporter: str) -> None:
    inst = draw_instances(dynamic_batch, seed=0, max_examples=1)[0]
    art = build_artifact(inst, exporter, 18, ArtifactCache(tmp_path))
    assert not art.export_error, art.export_error
    dim0 = onnx.load(str(art.model_path)).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim0.dim_param and not dim0.dim_value, dim0
    assert art.oracles.spec is not None and art.oracles.spec[0].shape[0] == inst.inputs[0].shape[0]


def test_torch_trapping_on_int_min_by_minus_one_costs_the_instance_not_the_process(tmp_path: Path) -> None:
    """torch.div(INT_MIN, -1, rounding_mode='trunc') raises SIGFPE in torch's CPU kernel (torch 2.13)."""
    from conformance.export import OracleError
    from conformance.oracle import in_child

    (case,) = select_cases(discover_cases(), "elementwise/div_trunc")
    inst = next(
        i
        for i in draw_instances(case, seed=0, max_examples=1, values="special", cover="each")
        if i.inputs[0].dtype == np.int32
    )
    with pytest.raises(OracleError, match="SIGFPE"):
        build_artifact(inst, "dynamo", 18, ArtifactCache(tmp_path))
    # An exception in the child comes back with its text; a value comes back as it is.
    assert in_child(sum, [1, 2, 3]) == 6
    with pytest.raises(RuntimeError, match="ZeroDivisionError") as raised:
        in_child(lambda: 1 // 0)
    # Recorded, it names the cause's class, not the carrier that brought it across the process.
    assert error_text(raised.value).startswith("ZeroDivisionError: "), error_text(raised.value)


def test_a_torchscript_export_that_traps_is_an_export_failure_not_a_dead_process(tmp_path: Path) -> None:
    """torch.onnx's torchscript path divides by zero on torch.take with an empty index (torch 2.13, plain
    values): the export pool's process died of SIGFPE, then the driver exporting the case itself."""
    from conformance.casekit import Fn

    @case("test")
    def take_nothing(d: Draw) -> Spec:
        return Spec(Fn(torch.take), (d.tensor("x", (2, 3), "float32"), np.zeros((0,), np.int64)))

    inst = draw_instances(take_nothing, seed=0, max_examples=1)[0]
    art = build_artifact(inst, "torchscript", 17, ArtifactCache(tmp_path))
    assert "SIGFPE" in art.export_error, art.export_error
    assert not build_artifact(inst, "dynamo", 17, ArtifactCache(tmp_path)).export_error


OPENMP_AFTER_FORK = """
import torch
from conformance.oracle import in_child
torch.set_num_threads(2)
x = torch.randn(4096, 512)
torch.softmax(x, -1)  # the parent runs an OpenMP parallel region first
print(in_child(lambda: float(torch.softmax(x, -1).sum())))
"""


def test_a_forked_torch_child_does_not_hang_in_openmp() -> None:
    """GNU OpenMP is not fork-safe: after the parent ran a parallel region, the child's softmax waited at the
    team barrier forever (a nightly's export pool hung on it for hours)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", OPENMP_AFTER_FORK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and float(done.stdout) > 0, done.stderr[-2000:]


def test_a_hung_child_is_killed_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from conformance import oracle

    monkeypatch.setattr(oracle, "CHILD_TIMEOUT_S", 1.0)
    started = time.monotonic()
    with pytest.raises(oracle.ChildCrashed, match="hung"):
        oracle.in_child(time.sleep, 30)
    assert time.monotonic() - started < 10


def test_value_modes_share_one_export_and_weights_keep_models_apart(tmp_path: Path) -> None:
    """Plain, special and wide draws of one instance differ only in values: the exporter runs once."""
    from conformance.export import model_key

    cache = ArtifactCache(tmp_path)
    (case,) = select_cases(discover_cases(), "elementwise/add")
    modes = [draw_instances(case, seed=3, max_examples=1, values=m)[0] for m in ("plain", "special", "wide")]
    assert len({i.id for i in modes}) == 3 and len({model_key(i, "dynamo", 18) for i in modes}) == 1
    built = [build_artifact(i, "dynamo", 18, cache) for i in modes]
    assert [a.exported for a in built] == [True, False, False] and all(a.fresh for a in built)
    assert len({(a.directory / "model.onnx").read_bytes() for a in built}) == 1
    # Each keeps its own inputs and oracles.
    assert len({a.directory for a in built}) == 3
    assert not np.array_equal(read_tensor(built[0].directory / "test_data_set_0" / "input_0.pb"), modes[1].inputs[0])

    # A tensor held by the module (a weight, a constant) is part of the graph: other values, another model.
    linear = select_cases(discover_cases(), "linalg/linear")[0]
    (a,) = draw_instances(linear, seed=0, max_examples=1)
    other = dataclasses.replace(a, module=copy.deepcopy(a.module))
    with torch.no_grad():
        next(other.module.parameters()).add_(1.0)
    assert model_key(other, "dynamo", 18) != model_key(a, "dynamo", 18)
    assert model_key(a, "dynamo", 18) != model_key(a, "torchscript", 18) != model_key(a, "dynamo", 17)


def test_a_failing_torchscript_export_prints_nothing_to_the_console(capfd: pytest.CaptureFixture[str]) -> None:
    """torchscript's C++ side dumps the TorchScript IR to descriptor 1 when it fails; the run's output is ours."""
    from conformance.export import export_model

    module = Fn(torch.nn.functional.interpolate, size=(4, 6), mode="nearest-exact")
    with pytest.raises(Exception, match="nearest"):
        export_model(module, [np.ones((1, 1, 3, 5), np.float32)], "torchscript", 17)
    out, err = capfd.readouterr()
    assert "Torch IR graph" not in out + err and not out.strip(), out[:500]


def test_cache_keys_follow_the_versions_that_make_the_graph_and_the_reference_outputs(monkeypatch) -> None:
    """onnxscript lowers dynamo's graph, onnx computes the cached reference outputs: either changing is a miss."""
    import importlib.metadata

    from conformance.export import _distribution, model_key

    inst = _instance("relu")
    before = (artifact_key(inst, "dynamo", 18), model_key(inst, "dynamo", 18))
    real = importlib.metadata.version
    # Versions are read once a process: a process whose packages change (a test's pretend upgrade) starts over.
    _distribution.cache_clear()
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.9" if name == "onnxscript" else real(name))
    assert artifact_key(inst, "dynamo", 18) != before[0] and model_key(inst, "dynamo", 18) != before[1]
    _distribution.cache_clear()
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.9" if name == "onnx" else real(name))
    assert artifact_key(inst, "dynamo", 18) != before[0] and model_key(inst, "dynamo", 18) == before[1]
    _distribution.cache_clear()  # the pretend versions stay out of later tests in this process


def test_one_torchlib_registry_per_process_exports_the_same_bytes_as_a_fresh_one() -> None:
    """torch builds its ONNX function table and collects its composite ops anew on every export, most of a
    small case's export time; the suite builds the table once per opset and collects the ops again only when
    the dispatcher changed. Whatever the case, the model must be the one torch's own path writes.

    Each case is exported at one of three opsets in turn (every opset meets several op families, and the
    test does not pay 78 exports for the 26 that show it)."""
    from conformance.export import _CIA_MEMO, _export_dynamo, _torchlib_registry, normalize_model
    from conformance.tensors import to_torch

    opsets = (17, 18, 21)
    before = _torchlib_registry.cache_info()
    # Not lstm_dynamic: torch's second dynamic LSTM export in a process differs from its first whatever the
    # registry (the hand-triaged expectation on model/lstm_dynamic says why).
    names = "softmax,conv2d,interpolate,sort,einsum,layer_norm,lstm,gru,cumsum,where,max_pool2d,gelu,topk"
    selection = select_cases(discover_cases(), names)
    assert len(selection) >= 13, [c.path for c in selection]
    for k, selected in enumerate(selection):
        opset = opsets[k % len(opsets)]
        instance = draw_instances(selected, seed=0, max_examples=1)[0]
        instance.module.eval()
        args = tuple(to_torch(x) for x in (instance.export_inputs or instance.inputs))
        fresh, reused = (
            normalize_model(_export_dynamo(instance.module, args, opset, instance.dynamic_axes, reuse=r))
            for r in (False, True)
        )
        assert fresh == reused, f"{instance.id} at opset {opset}: the reused registry changed the model"
    # The table was built at most once per opset's registry and served every other export from memory.
    after = _torchlib_registry.cache_info()
    assert after.misses - before.misses <= len(opsets), after
    assert after.hits - before.hits >= len(selection) - len(opsets), after
    assert len(_CIA_MEMO) == 1, "the composite ops of the dispatcher as it is were not remembered"


def test_composite_ops_are_collected_again_when_a_custom_op_is_registered() -> None:
    """torch does not cache its composite-op collection because a custom op may be registered between two
    exports: the remembered answer must follow the dispatcher, or a new composite op would be decomposed."""
    import torch

    from conformance.export import _remembered_cia_ops

    calls: list[int] = []

    def collect() -> set[str]:
        calls.append(1)
        return {f"answer {len(calls)}"}

    memo: dict[tuple[object, ...], frozenset[object]] = {}
    assert _remembered_cia_ops(collect, memo) == _remembered_cia_ops(collect, memo) == {"answer 1"}
    with torch.library._scoped_library("conformance_test", "FRAGMENT") as lib:
        lib.define("composite(Tensor x) -> Tensor")
        lib.impl("composite", lambda x: x + 1, "CompositeImplicitAutograd")
        assert _remembered_cia_ops(collect, memo) == {"answer 2"}
    assert len(calls) == 2 and len(memo) == 1
