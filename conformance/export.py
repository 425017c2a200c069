"""Export stage: a case instance becomes an artifact on disk.

The artifact is written in ONNX's backend-test layout (`model.onnx`,
`test_data_set_0/input_N.pb`, `output_N.pb`) so other harnesses can read it,
plus `oracle/` (float64 truth, reference evaluator outputs) and `meta.json`.
It lives in a content-addressed cache keyed by everything that determines it,
so a warm run exports nothing. Export failures are cached too: retrying the
same exporter on the same input gives the same failure.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import layout
from .model import DIRECT_EXPORTER, PREBUILT_EXPORTER, Artifact, CaseInstance, Oracles, error_text, is_float
from .timing import StageClock

#: Bump when the artifact layout, the model's normalization or the oracle computation changes:
#: old entries are then ignored. 2: the exporter's debugging metadata is stripped.
ARTIFACT_FORMAT = 2
DEFAULT_OPSET = 18
EXPORTERS = ("dynamo", "torchscript")


def default_cache_dir() -> Path:
    env = os.environ.get("CONFORMANCE_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("onnx-conformance")) / "artifacts"


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporters print progress and deprecation chatter; a run's output is ours.

    torchscript's C++ side prints the whole TorchScript IR of a graph it fails
    on straight to file descriptor 1, past Python's sys.stdout: that descriptor
    is pointed at /dev/null for the export too. What failed is in the message.
    """
    names = ("torch.onnx", "torch.export", "torch._dynamo", "torch.fx", "onnxscript")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            _fd_to_null(1),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


@contextlib.contextmanager
def _fd_to_null(fd: int) -> Iterator[None]:
    try:
        sys.stdout.flush()
        saved = os.dup(fd)
    except (OSError, ValueError):  # no such descriptor (an embedding host): nothing to quiet
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(null)


DynamicAxes = tuple[Mapping[int, str], ...] | None

#: `_remembered_cia_ops`'s one entry: the dispatcher's state and torch's answer for it (one per process).
_CIA_MEMO: dict[tuple[Any, ...], frozenset[Any]] = {}


@functools.cache
def _torchlib_registry(opset_version: int, build: Callable[..., Any]) -> Any:
    """torch's table of ONNX functions for an opset, built once per process.

    `torch.onnx.export` builds it again on every call: onnxscript parses the
    source of some 1,500 torchlib functions each time, 60% of exporting a
    small case. The table depends on torch and the opset alone, and exporting
    only reads it, so the same one serves every export; a test checks that
    the models it gives are byte for byte the ones a fresh table gives.
    """
    from torch.onnx._internal.exporter import _registration

    return build(_registration.ONNXRegistry, opset_version=opset_version)


def _dispatcher_state() -> tuple[Any, ...]:
    """What torch's set of preservable composite ops depends on: its op namespaces and its registrations."""
    import torch

    registrations = torch._C._dispatch_get_registrations_for_dispatch_key("CompositeImplicitAutograd")
    return tuple(torch.ops._dir), frozenset(registrations), len(torch._C._dispatch_get_all_op_names())


def _remembered_cia_ops(collect: Callable[[], set[Any]], memo: dict[tuple[Any, ...], frozenset[Any]]) -> set[Any]:
    """torch's `_collect_all_valid_cia_ops`, computed again only when the dispatcher changed.

    torch walks every op namespace and, for each, asks the dispatcher for every
    composite op again: twice per export, a third of a small case's export
    time. torch cannot cache it because a custom op may be registered between
    two exports; keyed on the dispatcher's registrations (a millisecond to
    read), a new op still gives a fresh answer.
    """
    state = _dispatcher_state()
    if state not in memo:
        memo.clear()
        memo[state] = frozenset(collect())
    return set(memo[state])


@contextlib.contextmanager
def _reused_registry() -> Iterator[None]:
    """While one export runs: `ONNXRegistry.from_torchlib` answers from `_torchlib_registry`, and torch's
    collection of composite ops from `_remembered_cia_ops`."""
    import torch.export.decomp_utils as decomp_utils
    import torch.export.exported_program as exported_program
    from torch.onnx._internal.exporter import _constants, _registration

    cls = _registration.ONNXRegistry
    original = cls.__dict__["from_torchlib"]
    cls.from_torchlib = classmethod(  # type: ignore[method-assign]
        lambda _cls, opset_version=_constants.TORCHLIB_OPSET: _torchlib_registry(opset_version, original.__func__)
    )
    collect = exported_program._collect_all_valid_cia_ops
    remembered = functools.partial(_remembered_cia_ops, collect, _CIA_MEMO)
    modules = (exported_program, decomp_utils)
    for module in modules:
        module._collect_all_valid_cia_ops = remembered  # type: ignore[attr-defined]
    try:
        yield
    finally:
        cls.from_torchlib = original  # type: ignore[method-assign]
        for module in modules:
            module._collect_all_valid_cia_ops = collect  # type: ignore[attr-defined]


def _export_dynamo(module: Any, args: tuple[Any, ...], opset: int, dynamic: DynamicAxes, reuse: bool = True) -> bytes:
    import torch

    shapes = None
    if dynamic is not None:
        dims: dict[str, Any] = {}
        shapes = tuple(
            {axis: dims.setdefault(name, torch.export.Dim(name)) for axis, name in axes.items()} or None
            for axes in dynamic
        )
    with _reused_registry() if reuse else contextlib.nullcontext():
        program = torch.onnx.export(
            module,
            args,
            dynamo=True,
            external_data=False,
            opset_version=opset,
            verbose=False,
            optimize=True,
            dynamic_shapes=shapes,
        )
    return program.model_proto.SerializeToString()


def _export_torchscript(module: Any, args: tuple[Any, ...], opset: int, dynamic: DynamicAxes) -> bytes:
    import torch

    buffer = io.BytesIO()
    names = [f"input_{i}" for i in range(len(args))]
    axes = None if dynamic is None else {n: dict(a) for n, a in zip(names, dynamic, strict=True) if a}
    torch.onnx.export(
        module, args, buffer, dynamo=False, opset_version=opset, verbose=False, input_names=names, dynamic_axes=axes
    )
    return buffer.getvalue()


def _export_direct(module: Any, args: tuple[Any, ...], opset: int, dynamic: DynamicAxes) -> bytes:
    """A direct case's graph, which its module (`casekit.OnnxNode`) writes itself."""
    if not hasattr(module, "to_onnx"):
        raise TypeError(f"exporter {DIRECT_EXPORTER!r} needs a module that writes its graph (casekit.OnnxNode)")
    return module.to_onnx(args, opset)


_EXPORT_FUNCTIONS: dict[str, Callable[[Any, tuple[Any, ...], int, DynamicAxes], bytes]] = {
    "dynamo": _export_dynamo,
    "torchscript": _export_torchscript,
    DIRECT_EXPORTER: _export_direct,
}


def exporter_message(exc: BaseException) -> str:
    """The exporter's own words, first lines first: its messages run to pages."""
    return error_text(exc, max_lines=25)


#: Node metadata torch's dynamo exporter writes for debugging: source stack traces (absolute paths
#: of wherever the case was installed), FX node text, module class paths and name scopes. They make
#: a model's bytes depend on the machine and the caller, not on what the artifact key names.
DEBUG_METADATA_PREFIXES = ("pkg.torch.onnx.", "namespace")


def _strip_nodes(nodes: Any) -> None:
    """Recurses into If/Loop/Scan bodies: their nodes carry the same metadata."""
    for node in nodes:
        _strip_entries(node)
        node.doc_string = ""
        for attr in node.attribute:
            for graph in (attr.g, *attr.graphs) if attr.HasField("g") else attr.graphs:
                _strip_nodes(graph.node)
                graph.doc_string = ""


def _strip_entries(proto: Any) -> None:
    keep = [(p.key, p.value) for p in proto.metadata_props if not p.key.startswith(DEBUG_METADATA_PREFIXES)]
    if len(keep) != len(proto.metadata_props):
        del proto.metadata_props[:]
        for key, value in keep:
            proto.metadata_props.add(key=key, value=value)


def normalize_model(model_bytes: bytes) -> bytes:
    """The exported model without the exporter's debugging metadata, so its bytes are portable.

    Node names, value names and the graph signature stay: they are what a reader
    (and localization) maps back to the torch program; nothing else changes.
    """
    import onnx

    model = onnx.ModelProto()
    model.ParseFromString(model_bytes)
    _strip_nodes(model.graph.node)
    for function in model.functions:
        _strip_nodes(function.node)
    return model.SerializeToString(deterministic=True)


def export_model(
    module: Any, inputs: Sequence[np.ndarray], exporter: str, opset: int, dynamic_axes: DynamicAxes = None
) -> bytes:
    """Export with one of torch's two exporters, normalized; raises what the exporter raises."""
    from .tensors import to_torch

    try:
        fn = _EXPORT_FUNCTIONS[exporter]
    except KeyError:
        raise ValueError(f"unknown exporter {exporter!r}; choose from {', '.join(EXPORTERS)}") from None
    module.eval()
    args = tuple(to_torch(x) for x in inputs)
    with _quiet_exporter():
        return normalize_model(fn(module, args, opset, dynamic_axes))


def artifact_key(instance: CaseInstance, exporter: str, opset: int) -> str:
    import torch

    parts = {
        "format": ARTIFACT_FORMAT,
        "case": instance.case.path,
        "source": instance.case.source_hash,
        "instance": instance.id,
        "torch": torch.__version__,
        # The reference evaluator's outputs are cached beside the model: another onnx computes them anew.
        "onnx": _distribution("onnx"),
        "onnxscript": _distribution("onnxscript"),
        "exporter": exporter,
        "opset": opset,
        "hash_seed": hash_seed(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def model_key(instance: CaseInstance, exporter: str, opset: int) -> str:
    """What determines the exported graph, and nothing that only changes its input values.

    Instances that differ only in values (a case's plain, special and wide
    draws) share one export. The drawn parameters name shapes, dtypes and
    attributes; tensors a module holds (weights, constants a case built from
    a drawn tensor) are hashed by value; the inputs a model is traced with
    are hashed where they are not the instance's own.
    """
    import torch

    parts = {
        "format": ARTIFACT_FORMAT,
        "case": instance.case.path,
        "source": instance.case.source_hash,
        "params": json.dumps(instance.params, sort_keys=True, default=str),
        "module": module_fingerprint(instance.module),
        "traced": _arrays_hash(instance.export_inputs) if instance.export_inputs is not None else "inputs",
        "dynamic": json.dumps(instance.dynamic_axes, sort_keys=True, default=str),
        "torch": torch.__version__,
        # The dynamo exporter lowers through onnxscript's torchlib: another onnxscript, another graph.
        "onnxscript": _distribution("onnxscript"),
        "exporter": exporter,
        "opset": opset,
        "hash_seed": hash_seed(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


@functools.cache
def _distribution(name: str) -> str:
    """An installed distribution's version; read once a process (parsing its METADATA cost 0.7 ms, and every
    instance's two keys asked for it)."""
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def _arrays_hash(arrays: Sequence[Any]) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.asarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def module_fingerprint(module: Any) -> str:
    """A hash of every tensor a module holds: its state, and tensors kept as plain attributes (Fn's kwargs)."""
    import torch

    from .tensors import to_numpy

    h = hashlib.sha256()

    def add(name: str, value: Any) -> None:
        if isinstance(value, torch.Tensor):
            h.update(name.encode())
            h.update(_arrays_hash([to_numpy(value.detach())]).encode())
        elif isinstance(value, np.ndarray):
            h.update(name.encode())
            h.update(_arrays_hash([value]).encode())
        elif isinstance(value, dict):
            for k in sorted(value, key=str):
                add(f"{name}.{k}", value[k])
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                add(f"{name}[{i}]", v)

    if isinstance(module, torch.nn.Module):
        for name, tensor in [*module.named_parameters(), *module.named_buffers()]:  # non-persistent buffers too
            add(name, tensor)
        for prefix, sub in module.named_modules():
            for attr, value in sorted(vars(sub).items()):
                if not attr.startswith("_"):
                    add(f"{prefix}.{attr}", value)
    return h.hexdigest()


def hash_seed() -> str:
    """'0' where this process hashes strings with the fixed seed 0, else 'random'.

    torch 2.13's dynamo exporter orders some values by the iteration order of
    sets of names (embedding_bag's Loop gets its carried values in either
    order), so its bytes depend on the process's string-hash seed. Only a
    process started with PYTHONHASHSEED=0 (the CLI restarts itself so) makes
    the same bytes as any other; artifacts from other processes get keys of
    their own, so they never stand in for a pinned export in a shared cache.
    """
    return "0" if sys.flags.hash_randomization == 0 else "random"


# --------------------------------------------------------------------------- on-disk layout


def _write_tensor(path: Path, array: np.ndarray, name: str) -> None:
    from onnx import numpy_helper

    path.write_bytes(numpy_helper.from_array(np.asarray(array), name=name).SerializeToString())


_RAW_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
               10: np.float16, 11: np.float64}  # fmt: skip


def read_tensor(path: Path) -> np.ndarray:
    return parse_tensor(path.read_bytes())


def parse_tensor(data: bytes) -> np.ndarray:
    """A serialized TensorProto as NumPy; plain raw-data tensors take a fast path (warm runs read thousands)."""
    import onnx
    from onnx import numpy_helper

    tensor = onnx.TensorProto()
    tensor.ParseFromString(data)
    dtype = _RAW_DTYPES.get(tensor.data_type)
    if dtype is not None and tensor.raw_data and not tensor.external_data:
        return np.frombuffer(tensor.raw_data, dtype=dtype).reshape(tuple(tensor.dims)).copy()
    return numpy_helper.to_array(tensor)


def _read_outputs(directory: Path, prefix: str, count: int) -> tuple[np.ndarray, ...]:
    return tuple(read_tensor(directory / f"{prefix}_{i}.pb") for i in range(count))


def _io_names(model_bytes: bytes, n_in: int, n_out: int) -> tuple[list[str], list[str]]:
    import onnx

    from .oracle import graph_input_names

    model = onnx.load_from_string(model_bytes)
    ins = graph_input_names(model)
    outs = [o.name for o in model.graph.output]
    ins += [f"input_{i}" for i in range(len(ins), n_in)]
    outs += [f"output_{i}" for i in range(len(outs), n_out)]
    return ins, outs


@dataclass(frozen=True)
class ArtifactCache:
    root: Path

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def model_path(self, key: str) -> Path:
        return self.root / "models" / key[:2] / key

    def load_model(self, key: str) -> tuple[bytes | None, str] | None:
        """An export shared by instances that differ only in values: (model, "") or (None, error); None if absent."""
        folder = self.model_path(key)
        try:
            if (folder / layout.MODEL).exists():
                return (folder / layout.MODEL).read_bytes(), ""
            return None, (folder / "export_error.txt").read_text()
        except OSError:
            return None

    def store_model(self, key: str, model_bytes: bytes | None, error: str) -> None:
        folder = self.model_path(key)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:8]}-", dir=folder.parent))
        try:
            if model_bytes is not None:
                (tmp / layout.MODEL).write_bytes(model_bytes)
            else:
                (tmp / "export_error.txt").write_text(error)
            with contextlib.suppress(OSError):  # another process stored the same export first
                os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def load(self, key: str, inputs: tuple[np.ndarray, ...]) -> Artifact | None:
        directory = self.path(key)
        try:
            meta = json.loads((directory / "meta.json").read_text())
            if meta.get("format") != ARTIFACT_FORMAT:
                return None
            n = meta["outputs"]
            source = _read_outputs(directory / layout.DATA_SET, "output", n)
            truth = _read_outputs(directory / "oracle", "truth", n) if meta["truth"] else None
            spec = _read_outputs(directory / "oracle", "spec", n) if meta["spec"] else None
        except (OSError, ValueError, KeyError):
            return None  # absent or damaged: rebuild it
        return Artifact(
            key=key,
            directory=directory,
            exporter=meta["exporter"],
            opset=meta["opset"],
            inputs=inputs,
            oracles=Oracles(source=source, truth=truth, spec=spec, spec_error=meta.get("spec_error", "")),
            export_error=meta.get("export_error", ""),
            fresh=False,
        )

    def store(
        self,
        key: str,
        meta: dict[str, Any],
        model_bytes: bytes | None,
        inputs: tuple[np.ndarray, ...],
        oracles: Oracles,
    ) -> Path:
        """Write to a temporary folder, then rename: a killed run never leaves half an artifact."""
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:8]}-", dir=final.parent))
        try:
            data = tmp / layout.DATA_SET
            data.mkdir()
            (tmp / "oracle").mkdir()
            in_names, out_names = [f"input_{i}" for i in range(len(inputs))], []
            if model_bytes is not None:
                (tmp / layout.MODEL).write_bytes(model_bytes)
                in_names, out_names = _io_names(model_bytes, len(inputs), len(oracles.source))
            out_names += [f"output_{i}" for i in range(len(out_names), len(oracles.source))]
            for i, x in enumerate(inputs):
                _write_tensor(data / layout.input_file(i), x, in_names[i])
            for i, y in enumerate(oracles.source):
                _write_tensor(data / layout.output_file(i), y, out_names[i])
            for prefix, arrays in (("truth", oracles.truth), ("spec", oracles.spec)):
                for i, y in enumerate(arrays or ()):
                    _write_tensor(tmp / "oracle" / f"{prefix}_{i}.pb", y, out_names[i] if i < len(out_names) else "")
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True, default=str))
            try:
                os.replace(tmp, final)
            except OSError:
                if not (final / "meta.json").exists():
                    shutil.rmtree(final, ignore_errors=True)
                    os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return final


class OracleError(RuntimeError):
    """No usable oracle: torch itself cannot run the instance, or a prebuilt
    instance's expected values cannot be compared (it says why). The case is at
    fault, not a backend: every backend records `skip`."""


def _graph_tensors(graph: Any) -> Iterator[Any]:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    yield from _node_tensors(graph.node)


def _node_tensors(nodes: Any) -> Iterator[Any]:
    for node in nodes:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            for graph in (attr.g, *attr.graphs) if attr.HasField("g") else attr.graphs:
                yield from _graph_tensors(graph)


def external_data_problem(model: Any, folder: Path | None) -> str | None:
    """Why a model's external data may not be read, or None when it has none or it stays in `folder`.

    A location that is absolute, climbs out with `..`, or resolves (through a
    symlink) outside the model's folder is refused, as onnx refuses it since
    CVE-2022-25882: a model must not make a backend read any file it names.
    With no folder (a model held as bytes) there is nothing external to read.
    """
    from onnx import TensorProto

    tensors = [*_graph_tensors(model.graph), *(t for f in model.functions for t in _node_tensors(f.node))]
    for tensor in tensors:
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        what = f"tensor {tensor.name!r} keeps its data in {location!r}"
        if not location:
            return f"{what}: no location"
        if Path(location).is_absolute() or location.startswith(("/", "\\")) or ".." in Path(location).parts:
            return f"{what}, outside the model's folder; refused"
        if folder is None:
            return f"{what}, but the model is held without its folder; external data is not supported here"
        root = folder.resolve()
        target = (root / location).resolve()
        if root not in target.parents:
            return f"{what}, which resolves outside the model's folder ({target}); refused"
    return None


def _prebuilt_artifact(instance: CaseInstance, cache: ArtifactCache) -> Artifact:
    """A prebuilt model goes into the cache as it is; its expected outputs are every oracle."""
    item = instance.prebuilt
    assert item is not None
    if item.skip:
        raise OracleError(item.skip)
    h = hashlib.sha256(f"format{ARTIFACT_FORMAT}:prebuilt:{instance.id}".encode())
    h.update(item.model)
    key = h.hexdigest()
    cached = cache.load(key, instance.inputs)
    if cached is not None:
        return cached
    import onnx

    try:
        model = onnx.load_from_string(item.model)
    except Exception as exc:  # protobuf's DecodeError, and whatever a truncated file gives
        raise OracleError(f"{instance.id}: model.onnx does not parse: {error_text(exc)}") from exc
    problem = external_data_problem(model, None)
    if problem:
        raise OracleError(f"{instance.id}: {problem}")
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    oracles = Oracles(source=tuple(item.outputs), truth=None, spec=tuple(item.outputs))
    return _save(cache, key, instance, PREBUILT_EXPORTER, opset, item.model, oracles)


def _save(
    cache: ArtifactCache,
    key: str,
    instance: CaseInstance,
    exporter: str,
    opset: int,
    model_bytes: bytes | None,
    oracles: Oracles,
    export_error: str = "",
) -> Artifact:
    """Store a fresh artifact; its meta.json says what `ArtifactCache.load` needs to read it back."""
    meta = {
        "format": ARTIFACT_FORMAT,
        "key": key,
        "case_id": instance.id,
        "exporter": exporter,
        "opset": opset,
        "params": dict(instance.params),
        "outputs": len(oracles.source),
        "truth": oracles.truth is not None,
        "spec": oracles.spec is not None,
        "spec_error": oracles.spec_error,
        "export_error": export_error,
    }
    directory = cache.store(key, meta, model_bytes, instance.inputs, oracles)
    return Artifact(key, directory, exporter, opset, instance.inputs, oracles, export_error, fresh=True)


def build_artifact(
    instance: CaseInstance, exporter: str, opset: int, cache: ArtifactCache, clock: StageClock | None = None
) -> Artifact:
    """The cached artifact for (instance, exporter, opset), exporting only on a miss; `clock` hears each stage."""
    clock = clock or StageClock()
    if instance.prebuilt is not None:
        with clock.stage("cache"):
            return _prebuilt_artifact(instance, cache)
    from . import oracle

    key = artifact_key(instance, exporter, opset)
    with clock.stage("cache"):
        cached = cache.load(key, instance.inputs)
    if cached is not None:
        return cached

    # Where torch itself may trap on the values (integer overflow in a division), it runs in a child.
    isolated = oracle.needs_child(instance.inputs, str(instance.values))

    def guarded(fn: Callable[..., Any], *args: Any) -> Any:
        return oracle.in_child(fn, *args) if isolated else fn(*args)

    try:
        with clock.stage("oracles"):
            source = guarded(oracle.run_torch, instance.module, instance.inputs)
    except Exception as exc:
        raise OracleError(f"torch eager cannot run {instance.id}: {exporter_message(exc)}") from exc
    truth = None
    floating = any(is_float(x.dtype) for x in source)
    if floating and instance.case.float64_truth:
        try:
            with clock.stage("oracles"):
                truth = guarded(oracle.run_torch_float64, instance.module, instance.inputs)
        except Exception as exc:
            raise OracleError(f"torch float64 cannot run {instance.id}: {exporter_message(exc)}") from exc

    spec: tuple[np.ndarray, ...] | None = None
    spec_error = ""
    mkey = model_key(instance, exporter, opset)
    with clock.stage("cache"):
        shared = cache.load_model(mkey)
    if shared is not None:
        model_bytes, export_error = shared
    else:
        model_bytes, export_error = None, ""
        try:
            traced_with = instance.export_inputs if instance.export_inputs is not None else instance.inputs
            # torchscript traces by running the module: on such values the trace itself can trap. Its C++
            # passes trap on their own too (take with an empty index divides by zero): it always runs in a child.
            with clock.stage("export"):
                args = (export_model, instance.module, traced_with, exporter, opset, instance.dynamic_axes)
                model_bytes = oracle.in_child(*args) if exporter == "torchscript" else guarded(*args)
        except Exception as exc:
            export_error = exporter_message(exc)
        with clock.stage("cache"):
            cache.store_model(mkey, model_bytes, export_error)
    if model_bytes is not None:
        try:
            with clock.stage("oracles"):
                spec = oracle.run_reference(model_bytes, instance.inputs)
        except Exception as exc:
            spec_error = exporter_message(exc)
        if spec is not None and len(spec) != len(source):
            spec_error = f"reference evaluator returned {len(spec)} outputs, torch {len(source)}"
            spec = None

    oracles = Oracles(source=source, truth=truth, spec=spec, spec_error=spec_error)
    with clock.stage("cache"):
        artifact = _save(cache, key, instance, exporter, opset, model_bytes, oracles, export_error)
    return dataclasses.replace(artifact, exported=shared is None)
