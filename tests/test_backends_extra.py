"""The compiled and converted backends (OpenVINO, IREE, TVM, tinygrad, onnx2torch, tract)
and the `onnx-backend:` wrapper, each run for real on tiny models built here.

Every backend is installed by scripts/setup, so an unavailable one fails
(with its reason) rather than skips.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from conformance.backends.iree import IREE
from conformance.backends.onnx2torch import OnnxToTorch
from conformance.backends.onnx_backend import CACHE_ENV, as_declared, wrap_onnx_backend
from conformance.backends.openvino import OpenVINO
from conformance.backends.tinygrad import Tinygrad
from conformance.backends.tract import Tract
from conformance.backends.tvm import TVM
from conformance.model import Backend, Unsupported

ADAPTERS: dict[str, Callable[[], Backend]] = {
    "openvino": OpenVINO,
    "iree": IREE,
    "tvm": TVM,
    "tinygrad": Tinygrad,
    "onnx2torch": OnnxToTorch,
    "tract": Tract,
}


def _model(nodes, inputs, outputs, opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def _tensor(name: str, elem: int, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def add_relu(elem: int = TensorProto.FLOAT) -> onnx.ModelProto:
    """y = relu(a + b), b broadcast along the rows."""
    return _model(
        [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Relu", ["s"], ["y"])],
        [_tensor("a", elem, [2, 3]), _tensor("b", elem, [3])],
        [_tensor("y", elem, [2, 3])],
    )


def int64_outputs() -> onnx.ModelProto:
    """Two int64 outputs: a scalar sum of products and a per-row argmax."""
    return _model(
        [
            helper.make_node("Mul", ["a", "b"], ["m"]),
            helper.make_node("ReduceSum", ["m"], ["total"], keepdims=0),
            helper.make_node("ArgMax", ["a"], ["where"], axis=1, keepdims=0),
        ],
        [_tensor("a", TensorProto.INT64, [2, 3]), _tensor("b", TensorProto.INT64, [2, 3])],
        [_tensor("total", TensorProto.INT64, []), _tensor("where", TensorProto.INT64, [2])],
    )


def uint8_add() -> onnx.ModelProto:
    return _model(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        [_tensor("a", TensorProto.UINT8, [4]), _tensor("b", TensorProto.UINT8, [4])],
        [_tensor("y", TensorProto.UINT8, [4])],
    )


def scalar_square() -> onnx.ModelProto:
    """A 0-d input and output: adapters must not hand a backend a 1-element vector instead."""
    return _model(
        [helper.make_node("Mul", ["x", "x"], ["y"])],
        [_tensor("x", TensorProto.FLOAT, [])],
        [_tensor("y", TensorProto.FLOAT, [])],
    )


def shape_of() -> onnx.ModelProto:
    """Shape arithmetic as an output: tract computes it as TDim, which its Python API will not hand out as is."""
    return _model(
        [helper.make_node("Shape", ["x"], ["y"])],
        [_tensor("x", TensorProto.FLOAT, [3, 2])],
        [_tensor("y", TensorProto.INT64, [2])],
    )


def det() -> onnx.ModelProto:
    """Det: an op that OpenVINO, TVM, tinygrad and onnx2torch have no implementation of."""
    return _model(
        [helper.make_node("Det", ["a"], ["y"])],
        [_tensor("a", TensorProto.FLOAT, [3, 3])],
        [_tensor("y", TensorProto.FLOAT, [])],
    )


def string_normalizer() -> onnx.ModelProto:
    """A string op: IREE's compiler has no conversion for it."""
    return _model(
        [helper.make_node("StringNormalizer", ["a"], ["y"], case_change_action="UPPER")],
        [_tensor("a", TensorProto.STRING, [2])],
        [_tensor("y", TensorProto.STRING, [2])],
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    built = {
        "add_relu": add_relu(),
        "add_relu_bf16": add_relu(TensorProto.BFLOAT16),
        "int64": int64_outputs(),
        "uint8": uint8_add(),
        "det": det(),
        "scalar": scalar_square(),
        "shape": shape_of(),
        "string": string_normalizer(),
    }
    paths = {}
    for name, model in built.items():
        paths[name] = folder / f"{name}.onnx"
        onnx.save(model, paths[name])
    return paths


@pytest.fixture(scope="module")
def backend_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("backend-cache")


@pytest.fixture
def cached(monkeypatch: pytest.MonkeyPatch, backend_cache: Path) -> Path:
    """Compile caches under the module's temp folder, shared by its tests."""
    monkeypatch.setenv(CACHE_ENV, str(backend_cache))
    return backend_cache


@pytest.fixture(scope="module")
def adapters() -> dict[str, Backend]:
    """One instance per backend for the module: imports (TVM's takes seconds) are paid once."""
    return {name: factory() for name, factory in ADAPTERS.items()}


A = np.array([[1.5, -3.0, 7.0], [0.25, -0.0, 2.0]], dtype=np.float32)
B = np.array([-2.0, 1.0, -7.0], dtype=np.float32)


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_adapter_is_registered_available_and_versioned(name: str, adapters: dict[str, Backend]) -> None:
    backend = adapters[name]
    registered = {ep.name: ep.value for ep in entry_points(group="conformance.backends")}
    assert name in registered, f"entry point {name!r} missing from conformance.backends: {sorted(registered)}"
    assert isinstance(backend, Backend)
    assert backend.name == name
    availability = backend.available()
    assert availability.ok, f"{name} unavailable: {availability.reason}"
    version = backend.version()
    assert version and version != "unknown" and version[0].isdigit(), f"{name} version {version!r}"


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_add_relu_float32(name: str, adapters: dict[str, Backend], models: dict[str, Path], cached: Path) -> None:
    backend = adapters[name]
    session = backend.prepare(models["add_relu"])
    (y,) = backend.run(session, [A, B])
    expected = np.maximum(A + B, 0)
    assert isinstance(y, np.ndarray), f"{name} returned {type(y).__name__}, not a NumPy array"
    assert y.dtype == np.float32 and y.shape == (2, 3), f"{name}: dtype {y.dtype}, shape {y.shape}"
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=0, err_msg=f"{name}: relu(a + b)")


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_a_scalar_stays_a_scalar(
    name: str, adapters: dict[str, Backend], models: dict[str, Path], cached: Path
) -> None:
    backend = adapters[name]
    (y,) = backend.run(backend.prepare(models["scalar"]), [np.array(1.5, dtype=np.float32)])
    assert np.shape(y) == () and float(y) == 2.25, f"{name}: x * x of a 0-d 1.5 gave {y!r}"


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_shape_arithmetic_comes_back_as_int64(
    name: str, adapters: dict[str, Backend], models: dict[str, Path], cached: Path
) -> None:
    backend = adapters[name]
    (y,) = backend.run(backend.prepare(models["shape"]), [np.zeros((3, 2), dtype=np.float32)])
    assert y.dtype == np.int64 and y.tolist() == [3, 2], f"{name}: Shape(x) gave {y!r}"


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_int64_outputs_in_graph_order(
    name: str, adapters: dict[str, Backend], models: dict[str, Path], cached: Path
) -> None:
    backend = adapters[name]
    a = np.array([[3, -1, 4], [1, 5, -9]], dtype=np.int64)
    b = np.array([[2, 7, 1], [8, 2, 8]], dtype=np.int64)
    total, where = backend.run(backend.prepare(models["int64"]), [a, b])
    assert total.dtype == np.int64 and where.dtype == np.int64, f"{name}: dtypes {total.dtype}, {where.dtype}"
    assert int(np.asarray(total).reshape(())) == int((a * b).sum()), f"{name}: sum(a * b) = {total}"
    assert where.tolist() == [2, 1], f"{name}: argmax per row = {where.tolist()}"


#: Backends with no bfloat16 at all; each says so as `unsupported` (test_bfloat16_is_unsupported_where_absent).
NO_BFLOAT16 = {"tract"}


@pytest.mark.parametrize("name", [n for n in ADAPTERS if n not in NO_BFLOAT16])
def test_bfloat16_comes_back_as_bfloat16(
    name: str, adapters: dict[str, Backend], models: dict[str, Path], cached: Path
) -> None:
    """OpenVINO hands bf16 back as float16-typed bits and tinygrad as float32: both are turned back."""
    backend = adapters[name]
    a, b = A.astype(ml_dtypes.bfloat16), B.astype(ml_dtypes.bfloat16)
    (y,) = backend.run(backend.prepare(models["add_relu_bf16"]), [a, b])
    assert y.dtype == ml_dtypes.bfloat16, f"{name}: dtype {y.dtype}"
    expected = np.maximum(a.astype(np.float32) + b.astype(np.float32), 0)
    np.testing.assert_array_equal(y.astype(np.float32), expected, err_msg=f"{name}: bf16 relu(a + b)")


@pytest.mark.parametrize("name", sorted(NO_BFLOAT16))
def test_bfloat16_is_unsupported_where_absent(
    name: str, adapters: dict[str, Backend], models: dict[str, Path], cached: Path
) -> None:
    """tract knows no bfloat16 datum type: the model is `unsupported`, not a load failure."""
    with pytest.raises(Unsupported, match=r"(?i)bfloat16"):
        adapters[name].prepare(models["add_relu_bf16"])


def test_tract_message_drops_its_backtrace(models: dict[str, Path]) -> None:
    """tract's errors carry a Rust backtrace with build paths; findings cluster on what tract said."""
    with pytest.raises(Unsupported) as caught:
        Tract().prepare(models["add_relu_bf16"])
    assert "Stack backtrace" not in str(caught.value) and "callproc.c" not in str(caught.value), str(caught.value)


@pytest.mark.parametrize(("name", "model"), [(n, "string" if n == "iree" else "det") for n in ADAPTERS])
def test_missing_op_is_unsupported(
    name: str, model: str, adapters: dict[str, Backend], models: dict[str, Path], cached: Path
) -> None:
    """A backend that says it lacks an op reports `unsupported`, with its own words, not a load failure."""
    backend = adapters[name]
    inputs = [np.array(["a", "b"], dtype=object)] if model == "string" else [np.eye(3, dtype=np.float32)]
    with pytest.raises(Unsupported) as caught:
        backend.run(backend.prepare(models[model]), inputs)
    op = "StringNormalizer" if model == "string" else "Det"
    assert op in str(caught.value), f"{name}: reason {caught.value!s:.300} does not name {op}"


def test_iree_unsigned_results_keep_their_dtype(models: dict[str, Path], cached: Path) -> None:
    """IREE's integers are signless and come back as int8; the adapter restores the declared uint8."""
    backend = IREE()
    a = np.array([0, 1, 200, 255], dtype=np.uint8)
    (y,) = backend.run(backend.prepare(models["uint8"]), [a, np.full(4, 100, dtype=np.uint8)])
    assert y.dtype == np.uint8, f"dtype {y.dtype}"
    assert y.tolist() == [100, 101, 44, 99], f"uint8 add wraps modulo 256: {y.tolist()}"


@pytest.mark.parametrize("factory", [IREE, TVM], ids=["iree", "tvm"])
def test_compiled_model_is_cached_on_disk(
    factory: Callable[[], IREE | TVM], models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    first = factory()
    session = first.prepare(models["add_relu"])
    assert (first.compiles, first.cache_hits) == (1, 0), "a cold cache compiles"
    files = sorted((tmp_path / first.name).iterdir())
    assert len(files) == 1, f"one compiled module expected in the cache: {files}"
    stamp = files[0].stat().st_mtime_ns
    expected = np.maximum(A + B, 0)
    np.testing.assert_allclose(first.run(session, [A, B])[0], expected, rtol=1e-6)

    second = factory()  # a fresh adapter, as in a fresh worker process
    session = second.prepare(models["add_relu"])
    assert (second.compiles, second.cache_hits) == (0, 1), "the second prepare must read the cache, not compile"
    assert sorted((tmp_path / first.name).iterdir()) == files and files[0].stat().st_mtime_ns == stamp
    np.testing.assert_allclose(second.run(session, [A, B])[0], expected, rtol=1e-6)

    second.prepare(models["int64"])  # another model is another entry
    assert second.compiles == 1 and len(list((tmp_path / first.name).iterdir())) == 2


def test_openvino_states_its_precision_hint() -> None:
    backend = OpenVINO()
    assert backend.notes() == "CPU, INFERENCE_PRECISION_HINT=f32"
    assert backend.metadata()["INFERENCE_PRECISION_HINT"] == "f32"


def test_tinygrad_kernel_cache_is_ours(adapters: dict[str, Backend], cached: Path) -> None:
    """tinygrad's kernel cache goes under the suite's backend cache, not ~/.cache/tinygrad."""
    import tinygrad.helpers

    adapters["tinygrad"].available()
    where = Path(tinygrad.helpers.CACHEDB)
    assert where.name == "cache.db" and where.parent.name == "tinygrad", where
    assert where.parent.parent.name == "backends" or where.parent.parent == cached, where


def test_onnx_backend_wrapper_runs_onnxruntime_backend(models: dict[str, Path]) -> None:
    backend = wrap_onnx_backend("onnx-backend:onnxruntime.backend")
    assert isinstance(backend, Backend)
    assert backend.name == "onnx-backend:onnxruntime.backend"
    assert backend.available().ok, backend.available().reason
    import onnxruntime

    assert backend.version() == onnxruntime.__version__
    (y,) = backend.run(backend.prepare(models["add_relu"]), [A, B])
    np.testing.assert_allclose(y, np.maximum(A + B, 0), rtol=1e-6)
    a = np.array([[3, -1, 4], [1, 5, -9]], dtype=np.int64)
    total, where = backend.run(backend.prepare(models["int64"]), [a, a])
    assert total.dtype == np.int64 and int(total) == int((a * a).sum()) and where.tolist() == [2, 1]


def test_onnx_backend_wrapper_takes_the_class_too(models: dict[str, Path]) -> None:
    backend = wrap_onnx_backend("onnx-backend:onnxruntime.backend.backend.OnnxRuntimeBackend")
    assert backend.available().ok, backend.available().reason
    (y,) = backend.run(backend.prepare(models["add_relu"]), [A, B])
    np.testing.assert_allclose(y, np.maximum(A + B, 0), rtol=1e-6)


def test_onnx_backend_wrapper_maps_not_implemented_to_unsupported(models: dict[str, Path]) -> None:
    """onnxruntime has no bfloat16 Add kernel on the CPU and says NOT_IMPLEMENTED."""
    backend = wrap_onnx_backend("onnx-backend:onnxruntime.backend")
    with pytest.raises(Unsupported, match="NOT_IMPLEMENTED"):
        backend.prepare(models["add_relu_bf16"])


def test_onnx_backend_wrapper_reports_a_missing_module() -> None:
    backend = wrap_onnx_backend("onnx-backend:no_such_package_here.backend")
    availability = backend.available()
    assert not availability.ok and "no_such_package_here" in availability.reason


@pytest.mark.parametrize("spec", ["onnx-backend:", "onnx-backend:not a module", "onnx-backend:a..b"])
def test_onnx_backend_wrapper_rejects_a_malformed_spec(spec: str) -> None:
    with pytest.raises(ValueError, match="does not name a module"):
        wrap_onnx_backend(spec)


def test_as_declared_undoes_only_representation_differences() -> None:
    signless = np.array([-56, 1], dtype=np.int8)
    assert as_declared(signless, np.dtype(np.uint8)).tolist() == [200, 1]
    widened = np.array([1.0, 2.0], dtype=np.float32)
    assert as_declared(widened, np.dtype(np.float64)).dtype == np.float32, "a real dtype divergence is kept"


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_adapter_survives_the_trip_to_a_worker(
    name: str, adapters: dict[str, Backend], models: dict[str, Path], cached: Path
) -> None:
    """Workers receive their backend by pickle, after the driver has used it."""
    import pickle

    backend = adapters[name]
    backend.available()
    backend.prepare(models["add_relu"])
    copy = pickle.loads(pickle.dumps(backend))
    (y,) = copy.run(copy.prepare(models["add_relu"]), [A, B])
    np.testing.assert_allclose(y, np.maximum(A + B, 0), rtol=1e-6)


def test_onnx_backend_wrapper_survives_the_trip_to_a_worker(models: dict[str, Path]) -> None:
    import pickle

    backend = pickle.loads(pickle.dumps(wrap_onnx_backend("onnx-backend:onnxruntime.backend")))
    assert backend.available().ok
    (y,) = backend.run(backend.prepare(models["add_relu"]), [A, B])
    np.testing.assert_allclose(y, np.maximum(A + B, 0), rtol=1e-6)


def test_cli_runs_a_wrapped_onnx_backend(tmp_path: Path) -> None:
    """`--backends onnx-backend:onnxruntime.backend` runs through the worker processes like any backend."""
    import json

    from tests.conftest import conformance

    out = tmp_path / "out"
    done = conformance(
        "run", "--cases", "relu", "--backends", "onnx-backend:onnxruntime.backend", "--max-examples", "1",
        "--db", str(tmp_path / "r.sqlite"), "--quiet", "--out", str(out), "--expectations", "none",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((out / "report.json").read_text())["results"]
    assert {(r["backend"], r["outcome"]) for r in results} == {("onnx-backend:onnxruntime.backend", "pass")}, results


def _add_weight(values: list[float]) -> onnx.ModelProto:
    """y = x + w, w an initializer: its weights reach IREE as a named resource blob, named alike in every model."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "g",
        [_tensor("x", TensorProto.FLOAT, [3])],
        [_tensor("y", TensorProto.FLOAT, [3])],
        [onnx.numpy_helper.from_array(np.array(values, dtype=np.float32), "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_iree_compiles_ahead_as_one_module(
    models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Models compiled together answer as each compiled alone; one IREE cannot convert is left to `prepare`."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    softsign = _model(
        [helper.make_node("Softsign", ["x"], ["y"])],
        [_tensor("x", TensorProto.FLOAT, [3])],
        [_tensor("y", TensorProto.FLOAT, [3])],
    )
    extra = {"w1": _add_weight([1, 2, 3]), "w2": _add_weight([10, 20, 30]), "softsign": softsign}
    for name, model in extra.items():
        onnx.save(model, tmp_path / f"{name}.onnx")
    paths = [
        models["add_relu"],
        models["uint8"],
        tmp_path / "w1.onnx",
        tmp_path / "softsign.onnx",
        tmp_path / "w2.onnx",
    ]
    paths.append(models["string"])  # IREE's importer refuses it: never reaches a batch

    ahead = IREE()
    assert ahead.prepare_ahead(paths) == 4, "the four models IREE converts compile ahead"
    assert ahead.compiles == 1, f"as one module, not {ahead.compiles}"
    assert ahead.prepare_ahead(paths) == 0, "what is cached is not compiled again"

    worker = IREE()  # a fresh adapter, as in a backend worker
    x = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    (y1,) = worker.run(worker.prepare(tmp_path / "w1.onnx"), [x])
    (y2,) = worker.run(worker.prepare(tmp_path / "w2.onnx"), [x])
    (y,) = worker.run(worker.prepare(models["add_relu"]), [A, B])
    (u,) = worker.run(
        worker.prepare(models["uint8"]), [np.array([0, 1, 200, 255], np.uint8), np.full(4, 100, np.uint8)]
    )
    assert (worker.compiles, worker.cache_hits) == (0, 4), "each model is found in the batch"
    assert y1.tolist() == [1.5, 1.0, 5.0] and y2.tolist() == [10.5, 19.0, 32.0], (
        f"each keeps its own weights: {y1} {y2}"
    )
    np.testing.assert_allclose(y, np.maximum(A + B, 0), rtol=1e-6)
    assert u.dtype == np.uint8 and u.tolist() == [100, 101, 44, 99]
    with pytest.raises(Unsupported, match="Softsign"):
        worker.prepare(tmp_path / "softsign.onnx")  # compiled alone, with its own message
