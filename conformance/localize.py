"""Localize stage: from "the model's outputs differ" to "this node is wrong".

A failing result names a model, not an operator, and a backend maintainer
needs the operator. Every intermediate is exposed as a graph output and
compared with the reference evaluator's value, but a node whose output is off
may only have inherited an error from an earlier one, so each diverging node
is then run alone on the backend, fed the reference's values of its inputs:
the first node that is wrong given right inputs is the culprit. When no node
is wrong alone but the graph is, the backend's rewrites (fusions, layout
changes) are in question, and the finding says so instead of blaming a node.
"""

from __future__ import annotations

import enum
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper, version_converter

from .compare import judge, tolerance_for
from .model import Backend, Metrics, OpClass, Outcome, Tolerance, Verdict, error_text
from .oracle import reference_session


class Status(enum.StrEnum):
    """What localizing a failure found."""

    #: One node is wrong on its own, given the reference's inputs.
    NODE = "node"
    #: Intermediates diverge (or only the whole model does), yet no node is wrong alone: a fusion or optimizer finding.
    WHOLE_GRAPH = "whole-graph"
    #: The model's outputs do not diverge on this backend with these inputs: nothing to localize.
    NOT_REPRODUCED = "not-reproduced"
    #: Localizing could not finish (a run failed, or the time budget ran out); the evidence says why.
    ERROR = "error"


@dataclass(frozen=True)
class NodeInfo:
    """A node as an issue names it: plain values only, so it can travel as JSON."""

    index: int
    name: str
    op_type: str
    domain: str
    attributes: Mapping[str, Any]
    inputs: tuple[str, ...]
    input_shapes: tuple[tuple[int, ...] | None, ...]
    input_dtypes: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def label(self) -> str:
        """How evidence refers to the node: its op, and its name where the graph gave one."""
        return f"{self.op_type} node {self.name!r}" if self.name else f"{self.op_type} node #{self.index}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "op_type": self.op_type,
            "domain": self.domain,
            "attributes": dict(self.attributes),
            "inputs": list(self.inputs),
            "input_shapes": [list(s) if s is not None else None for s in self.input_shapes],
            "input_dtypes": list(self.input_dtypes),
            "outputs": list(self.outputs),
        }


@dataclass(frozen=True, eq=False)
class Localization:
    """Where a failure lies, with what a repro needs: the lone-node model and the inputs that show it."""

    status: Status
    backend: str
    evidence: str
    #: The culprit (status node), or the first node whose output diverged in the exposed run (whole-graph).
    node: NodeInfo | None = None
    #: The culprit alone, initializer-free: every input a graph input. Empty when there is no culprit.
    model_bytes: bytes = b""
    #: The lone model's inputs (the reference's values of the node's inputs), in graph-input order.
    inputs: tuple[np.ndarray, ...] = ()
    #: The reference evaluator's outputs of the lone model, and the backend's (empty when it raised).
    expected: tuple[np.ndarray, ...] = ()
    actual: tuple[np.ndarray, ...] = ()
    #: How the backend's lone outputs compare with the reference's.
    outcome: Outcome | None = None
    metrics: Metrics | None = None
    #: What the backend raised on the lone node, when it raised instead of answering.
    error: str = ""
    #: The tolerance the culprit's first output was judged with (what a repro checks).
    tolerance: Tolerance = field(default_factory=lambda: Tolerance(0.0, 0.0))
    #: Indices of lone inputs that were constants in the model (initializers, Constant nodes): attributes in
    #: all but name (axes, shapes, indices), which reducing must leave alone.
    constant_inputs: tuple[int, ...] = ()
    #: Names of the nodes whose outputs diverged in the exposed run, in graph order.
    diverging: tuple[str, ...] = ()
    #: Who computed `expected` once reduced: the reference evaluator, or the backend standing in for it.
    expected_by: str = "ONNX reference evaluator"

    @property
    def reproduces(self) -> bool:
        return self.status is Status.NODE


# --------------------------------------------------------------------------- model surgery


def _typed(value_info: onnx.ValueInfoProto) -> bool:
    t = value_info.type
    return t.HasField("tensor_type") and t.tensor_type.elem_type != onnx.TensorProto.UNDEFINED


def _inferred(model: onnx.ModelProto) -> onnx.ModelProto:
    """Shape inference is best effort: a model it cannot follow still has whatever types it declares."""
    try:
        return onnx.shape_inference.infer_shapes(model)
    except Exception:
        return model


def _known_types(model: onnx.ModelProto) -> dict[str, onnx.ValueInfoProto]:
    graph = model.graph
    return {v.name: v for v in [*graph.value_info, *graph.output, *graph.input] if _typed(v)}


def _rank(value_info: onnx.ValueInfoProto) -> int | None:
    tensor_type = value_info.type.tensor_type
    return len(tensor_type.shape.dim) if tensor_type.HasField("shape") else None


def _open_output(name: str, elem: int, rank: int | None) -> onnx.ValueInfoProto:
    """An output declared by element type and rank, every dimension left open.

    Sizes are left to the backend: an inferred size a backend disagrees with
    would make it refuse the model rather than show the value, and a lone
    node's sizes change as reducing shrinks its inputs. ONNX's checker wants a
    shape on graph outputs, so the rank is kept where it is known.
    """
    return helper.make_tensor_value_info(name, elem, None if rank is None else [None] * rank)


def expose_intermediates(model: onnx.ModelProto) -> onnx.ModelProto:
    """Every typed node output of the main graph as a graph output, after the model's own outputs.

    The model's outputs keep their positions, so a backend's results still line
    up with the original ones.
    """
    types = _known_types(_inferred(model))
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    taken = {o.name for o in model.graph.output} | {i.name for i in model.graph.input}
    for node in model.graph.node:
        for name in node.output:
            if not name or name in taken or name not in types:
                continue
            taken.add(name)
            known = types[name]
            exposed.graph.output.append(_open_output(name, known.type.tensor_type.elem_type, _rank(known)))
    return exposed


def _subgraph_references(node: onnx.NodeProto) -> list[str]:
    """Names a node's subgraphs read from the enclosing scope: inputs too, though no input list names them."""
    found: list[str] = []

    def walk(graph: onnx.GraphProto, outer_defined: set[str]) -> None:
        defined = set(outer_defined)
        defined.update(i.name for i in graph.input)
        defined.update(i.name for i in graph.initializer)
        for inner in graph.node:
            for name in inner.input:
                if name and name not in defined and name not in found:
                    found.append(name)
            for attr in inner.attribute:
                for sub in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs):
                    walk(sub, defined)
            defined.update(inner.output)

    for attr in node.attribute:
        for sub in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs):
            walk(sub, set())
    return found


def lone_input_names(node: onnx.NodeProto) -> list[str]:
    """The graph inputs a node alone needs: its non-empty inputs once each, then what its subgraphs read."""
    names: list[str] = []
    for name in [*node.input, *_subgraph_references(node)]:
        if name and name not in names:
            names.append(name)
    return names


def _elem_type(array: np.ndarray) -> int:
    return helper.np_dtype_to_tensor_dtype(np.asarray(array).dtype)


def _from_inference(value_info: onnx.ValueInfoProto) -> tuple[int | None, int | None]:
    return value_info.type.tensor_type.elem_type or None, _rank(value_info)


def _from_value(value: Any) -> tuple[int | None, int | None]:
    return (_elem_type(value), value.ndim) if isinstance(value, np.ndarray) else (None, None)


def node_alone(model: onnx.ModelProto, node_index: int, input_values: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The node as a model of its own: what a backend is asked to run when it is suspected.

    Its inputs, initializers included, become graph inputs typed and shaped
    from `input_values`, so the model carries no data and any value can be fed.
    Output types come from shape inference on the whole model, then on the lone
    model, then from `input_values` if it holds the outputs too, then from the
    reference evaluator run on the lone model. Output shapes are left open, so
    the same model stays valid when its inputs shrink.
    """
    node = model.graph.node[node_index]
    missing = [n for n in lone_input_names(node) if n not in input_values]
    if missing:
        raise KeyError(f"no value for input(s) {', '.join(missing)} of node #{node_index} ({node.op_type})")
    inputs = [
        helper.make_tensor_value_info(n, _elem_type(input_values[n]), np.asarray(input_values[n]).shape)
        for n in lone_input_names(node)
    ]
    lone = onnx.NodeProto()
    lone.CopyFrom(node)
    names = [n for n in node.output if n]
    found: dict[str, tuple[int | None, int | None]] = dict.fromkeys(names, (None, None))

    def build() -> onnx.ModelProto:
        outputs = [
            _open_output(n, elem, rank) if elem else helper.make_empty_tensor_value_info(n)
            for n, (elem, rank) in found.items()
        ]
        graph = helper.make_graph([lone], f"{node.op_type}_alone", inputs, outputs)
        made = helper.make_model(graph, opset_imports=list(model.opset_import))
        made.ir_version = model.ir_version
        made.functions.extend(model.functions)
        return made

    def learn(source: Mapping[str, Any], read: Callable[[Any], tuple[int | None, int | None]]) -> None:
        for n, (elem, rank) in found.items():
            if n in source and (elem is None or rank is None):
                new_elem, new_rank = read(source[n])
                found[n] = (elem or new_elem, rank if rank is not None else new_rank)

    def complete() -> bool:
        return all(elem and rank is not None for elem, rank in found.values())

    learn(_known_types(_inferred(model)), _from_inference)
    if not complete():
        learn(_known_types(_inferred(build())), _from_inference)
    if not complete():
        learn(input_values, _from_value)
    if not complete():
        learn(_reference_values(build(), [input_values[n] for n in lone_input_names(node)]), _from_value)
    return build()


# --------------------------------------------------------------------------- running


#: onnx's reference evaluator has some ops from a later version only: onnx 1.23 has no DequantizeLinear before 19.
_NO_KERNEL = re.compile(r"No implementation for operator '[\w.]+' domain '' and version (\d+), found ([^.]*)")


def _reference_session_for(model: onnx.ModelProto) -> tuple[tuple[Any, list[str]], str]:
    """The reference evaluator's session for the model, and a note when it could only take it converted.

    Where it has no kernel for an op at the model's opset, the model goes to the first opset it has one at,
    through onnx's version converter (which keeps the semantics), provided every node keeps its output names:
    the intermediates are then the same values under the same names. Anything else it cannot run, it cannot.
    """
    try:
        return reference_session(model), ""
    except Exception as exc:
        found = _NO_KERNEL.search(str(exc))
        later = sorted(int(v) for v in re.findall(r"\d+", found[2]) if int(v) > int(found[1])) if found else []
        if not later:
            raise
        try:
            converted = version_converter.convert_version(model, later[0])
        except Exception:
            raise exc from None
        if [o for n in converted.graph.node for o in n.output] != [o for n in model.graph.node for o in n.output]:
            raise
        note = (
            f"The ONNX reference evaluator has no kernel at opset {found[1]} ({error_text(exc)}); its values are "
            f"those of the model converted to opset {later[0]} by onnx's version converter. "
        )
        return reference_session(converted), note


def _reference_values(model: onnx.ModelProto, inputs: Sequence[np.ndarray]) -> dict[str, Any]:
    """Every value the reference evaluator computes, by name (initializers and graph inputs too)."""
    return _evaluate(_reference_session_for(model)[0], inputs)


def _evaluate(session: tuple[Any, list[str]], inputs: Sequence[np.ndarray]) -> dict[str, Any]:
    evaluator, names = session
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return evaluator.run(None, dict(zip(names, inputs, strict=True)), intermediate=True)


class BackendDied(RuntimeError):
    """The backend crashed or hung on a model: an isolated runner saw its worker die or run out of time."""


#: Runs a model (a proto or its bytes) on one backend: its outputs, or an exception when it cannot load or run
#: it (`BackendDied` when it crashed or hung). Localizing and reducing take one, so a finding that kills its
#: backend is investigated in a worker process instead of this one.
Runner = Callable[[onnx.ModelProto | bytes, Sequence[np.ndarray]], list[np.ndarray]]


def in_process(backend: Backend) -> Runner:
    """The backend in this process: the fastest runner, for findings that leave the process standing."""

    def run(model: onnx.ModelProto | bytes, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        with tempfile.TemporaryDirectory(prefix="localize-") as tmp:
            path = Path(tmp) / "model.onnx"
            path.write_bytes(model if isinstance(model, bytes) else model.SerializeToString())
            session = backend.prepare(path)
            return [np.asarray(o) for o in backend.run(session, list(inputs))]

    return run


def _judge_values(
    actual: Sequence[np.ndarray], expected: Sequence[np.ndarray], op_class: OpClass, check_signed_zero: bool
) -> Verdict:
    tols = {i: tolerance_for(np.asarray(e).dtype, op_class) for i, e in enumerate(expected)}
    return judge(actual, expected, expected, tols, check_signed_zero=check_signed_zero)


def _plain(value: Any) -> Any:
    """An attribute value as JSON would hold it."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, onnx.TensorProto):
        array = numpy_helper.to_array(value)
        return array.tolist() if array.size <= 64 else f"<tensor {array.dtype} {list(array.shape)}>"
    if isinstance(value, onnx.GraphProto):
        return f"<graph {value.name!r}: {len(value.node)} nodes>"
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def node_info(model: onnx.ModelProto, node_index: int, values: Mapping[str, Any]) -> NodeInfo:
    node = model.graph.node[node_index]
    shapes: list[tuple[int, ...] | None] = []
    dtypes: list[str] = []
    for name in node.input:
        value = values.get(name) if name else None
        if isinstance(value, np.ndarray):
            shapes.append(tuple(int(d) for d in value.shape))
            dtypes.append(value.dtype.name)
        else:
            shapes.append(None)
            dtypes.append("")
    return NodeInfo(
        index=node_index,
        name=node.name,
        op_type=node.op_type,
        domain=node.domain,
        attributes={a.name: _plain(helper.get_attribute_value(a)) for a in node.attribute},
        inputs=tuple(node.input),
        input_shapes=tuple(shapes),
        input_dtypes=tuple(dtypes),
        outputs=tuple(node.output),
    )


def _constants(model: onnx.ModelProto) -> set[str]:
    found = {i.name for i in model.graph.initializer}
    found.update(
        o for n in model.graph.node if n.op_type == "Constant" and n.domain in ("", "ai.onnx") for o in n.output
    )
    return found


def describe_verdict(verdict: Verdict) -> str:
    """A verdict's numbers as one sentence of evidence (judge's message already names the worst element)."""
    m = verdict.metrics
    if not m.elements:
        return f"{verdict.outcome}: {verdict.message}"
    return (
        f"{verdict.outcome}: {verdict.message}; max abs error {m.max_abs_error:.6g}, max ulp {m.max_ulp:.6g}, "
        f"{m.fraction_off:.1%} of {m.elements} elements off"
    )


# --------------------------------------------------------------------------- localizing


def localize(
    model_path: Path,
    inputs: Sequence[np.ndarray],
    backend: Backend,
    *,
    op_class: OpClass,
    time_budget: float = 30.0,
    check_signed_zero: bool = True,
    run: Runner | None = None,
    stand_ins: Sequence[tuple[str, Runner]] = (),
    truth: Sequence[np.ndarray] | None = None,
) -> Localization:
    """Which node makes `backend` differ from the reference evaluator on this model and these inputs.

    Where the reference evaluator cannot run the model (a bug of its own), the
    intermediates of the first of `stand_ins` that can take its place do,
    provided its outputs match `truth` (torch's) when given; the evidence says so.

    `run` runs the backend, in this process unless told otherwise: a backend
    that crashes or hangs on the model needs an isolated runner, whose
    `BackendDied` then makes the culprit the first node that dies alone. The
    time budget bounds the lone-node runs; when it runs out before a culprit
    is found the status is `error` and the evidence says how far it got.
    """
    start = time.monotonic()
    run = run or in_process(backend)
    model = onnx.load(str(model_path))
    inputs = [np.asarray(x) for x in inputs]
    name = backend.name

    def error(evidence: str, **kw: Any) -> Localization:
        return Localization(Status.ERROR, name, evidence, **kw)

    stood_in = ""
    try:
        session, stood_in = _reference_session_for(model)  # converted once, where it must be, and said so
        reference = _evaluate(session, inputs)
        expected = [np.asarray(reference[o.name]) for o in model.graph.output]
    except Exception as exc:
        cannot = f"the reference evaluator cannot run the model: {error_text(exc)}"
        found = _stand_in(model, inputs, stand_ins, truth, op_class, check_signed_zero)
        if isinstance(found, str):
            return error(f"{cannot}; {found}" if found else cannot)
        other, reference, expected = found
        checked = ", and it matches torch on the model's outputs" if truth is not None else ""
        stood_in = (
            f"The reference evaluator cannot run the model ({error_text(exc)}); {other}'s values stand in{checked}. "
        )
    try:
        whole = run(model, inputs)
    except Exception as exc:
        # Nothing to compare intermediates of: each node alone, in order, says which one the backend cannot take.
        died = isinstance(exc, BackendDied)
        failed = f"{stood_in}{name} {'dies on' if died else 'cannot load or run'} the model: {error_text(exc)}"
        return _refeed(
            model, reference, _every_node(model), backend, op_class, check_signed_zero, start, time_budget, failed,
            run, died,
        )  # fmt: skip
    whole_verdict = _judge_values(whole, expected, op_class, check_signed_zero)
    if whole_verdict.outcome is Outcome.PASS:
        return Localization(Status.NOT_REPRODUCED, name, f"{stood_in}{name} matches the reference on the whole model")

    # The reference side needs no exposed model: its intermediate mode already keeps every value it computes.
    exposed = expose_intermediates(model)
    whole_text = f"{stood_in}the model's outputs diverge: {describe_verdict(whole_verdict)}"
    try:
        got = run(exposed, inputs)
    except Exception as exc:
        failed = f"{whole_text}; with its intermediates exposed it cannot run at all: {error_text(exc)}"
        return _refeed(
            model, reference, _every_node(model), backend, op_class, check_signed_zero, start, time_budget, failed, run
        )
    got_by_name = {o.name: v for o, v in zip(exposed.graph.output, got, strict=False)}
    values = reference
    diverging: list[tuple[int, Verdict]] = []
    for index, node in enumerate(exposed.graph.node):
        outs = [o for o in node.output if o in got_by_name and isinstance(values.get(o), np.ndarray)]
        if not outs:
            continue
        verdict = _judge_values([got_by_name[o] for o in outs], [values[o] for o in outs], op_class, check_signed_zero)
        if verdict.outcome is not Outcome.PASS:
            diverging.append((index, verdict))
    if not diverging:
        return Localization(
            Status.WHOLE_GRAPH,
            name,
            f"{whole_text}. With every intermediate exposed as an output no node's output diverges any more: "
            "exposing them changed what the backend fuses or rewrites.",
        )
    return _refeed(model, values, diverging, backend, op_class, check_signed_zero, start, time_budget, whole_text, run)


def _every_node(model: onnx.ModelProto) -> list[tuple[int, Verdict | None]]:
    """Suspects where the model cannot run as a whole: every node in order, then its Constant nodes.

    A Constant is what a lone node's constant inputs are made of, so it is tried
    only when every other node is right alone: then the backend may be refusing
    the Constant itself (TVM's importer reads only its `value` attribute, not
    `value_int` or `value_ints`).
    """
    nodes = list(enumerate(model.graph.node))
    return [(i, None) for i, n in nodes if n.op_type != "Constant"] + [
        (i, None) for i, n in nodes if n.op_type == "Constant"
    ]


def _refeed(
    model: onnx.ModelProto,
    values: Mapping[str, Any],
    suspects: Sequence[tuple[int, Verdict | None]],
    backend: Backend,
    op_class: OpClass,
    check_signed_zero: bool,
    start: float,
    time_budget: float,
    whole_text: str,
    run: Runner,
    died: bool = False,
) -> Localization:
    """The first suspect node that is wrong alone, given the reference's values of its inputs.

    Suspects are the nodes whose exposed outputs diverged, with how (the
    common case), or every node in order with no verdict, when the backend
    could not take the whole model at all (a load or run error): then the
    first node it cannot take alone, or gets wrong alone, is the culprit.
    Where the whole model killed the backend (`died`), the culprit is the first
    node that kills it alone; a node that merely fails alone is another bug,
    named only when no node dies.
    """
    failing_alone: Localization | None = None
    name = backend.name
    swept = all(v is None for _, v in suspects)
    names = tuple(model.graph.node[i].name or f"#{i} {model.graph.node[i].op_type}" for i, _ in suspects)
    constants = _constants(model)
    if not suspects:
        return Localization(Status.ERROR, name, f"{whole_text}. The model has no node to try alone.")
    first_index, first_verdict = suspects[0]
    summary = (
        f"Each of its {len(suspects)} nodes was tried alone, in order."
        if swept
        else f"In the exposed run {len(suspects)} of {len(model.graph.node)} nodes' outputs diverge, in order: "
        f"{', '.join(names)}."
    )
    for tried, (index, exposed_verdict) in enumerate(suspects):
        if time.monotonic() - start > time_budget:
            return Localization(
                Status.ERROR,
                name,
                f"{whole_text}. {summary} The time budget ({time_budget:g} s) ran out after re-feeding {tried} of "
                f"them without a culprit.",
                node=node_info(model, first_index, values),
                diverging=names,
            )
        node = model.graph.node[index]
        info = node_info(model, index, values)
        lone_names = lone_input_names(node)
        if not all(isinstance(values.get(n), np.ndarray) for n in lone_names):
            continue  # an input the reference holds as a sequence or map: not something to feed a lone node
        lone_inputs = tuple(np.asarray(values[n]) for n in lone_names)
        try:
            lone = node_alone(model, index, {n: values[n] for n in [*lone_names, *node.output] if n in values})
        except Exception:
            continue  # no model can hold this node alone (its output types cannot be found): it cannot be re-fed
        lone_bytes = lone.SerializeToString()
        try:
            lone_expected = tuple(np.asarray(v) for v in _reference_values_list(lone, lone_inputs))
        except Exception:
            lone_expected = tuple(np.asarray(values[o]) for o in node.output if o)
        tolerance = tolerance_for(lone_expected[0].dtype, op_class) if lone_expected else Tolerance(0.0, 0.0)
        common = {
            "node": info,
            "model_bytes": lone_bytes,
            "inputs": lone_inputs,
            "expected": lone_expected,
            "tolerance": tolerance,
            "constant_inputs": tuple(i for i, n in enumerate(lone_names) if n in constants),
            "diverging": names,
        }
        lead = f"{whole_text}. " if swept else ""  # where nothing ran, say so first; else the node says enough
        before = ", ".join(names[:tried])
        inherited = f" (the nodes tried before it, {before}, are right alone)" if tried else ""
        in_graph = (
            f"In the whole graph its output diverged: {describe_verdict(exposed_verdict)}. "
            if exposed_verdict is not None
            else ""
        )
        try:
            actual = tuple(run(lone, lone_inputs))
        except Exception as exc:
            message = error_text(exc)
            verb = "dies" if isinstance(exc, BackendDied) else "fails"
            found = Localization(
                Status.NODE,
                name,
                f"{lead}{info.label} (#{index}) {verb} on {name} when run alone with the reference's inputs"
                f"{inherited}: {message}. {in_graph}{summary}",
                error=message,
                **common,
            )
            if not died or isinstance(exc, BackendDied):
                return found
            failing_alone = failing_alone or found
            continue
        held = [n for n in lone_names if n in constants]
        if swept and held:
            # Initializer-free, the node runs; the model held these inputs as data (a bfloat16 initializer a
            # backend cannot read, say): the node with them as initializers is the smaller thing that fails.
            kept, fed = _with_initializers(lone, lone_names, held, values)
            try:
                run(kept, fed)
            except Exception as exc:
                message = error_text(exc)
                dies = isinstance(exc, BackendDied)
                if not died or dies:
                    return Localization(
                        Status.NODE,
                        name,
                        f"{lead}{info.label} (#{index}) {'dies' if dies else 'fails'} on {name} with its constant "
                        f"input(s) {', '.join(held)} as initializers, as the model holds them (fed as graph inputs "
                        f"it runs){inherited}: {message}. {summary}",
                        error=message,
                        **{**common, "model_bytes": kept.SerializeToString(), "inputs": fed, "constant_inputs": ()},
                    )
        if died:
            continue  # it answers alone: whether rightly is not this finding's question
        verdict = _judge_values(actual, lone_expected, op_class, check_signed_zero)
        if verdict.outcome is not Outcome.PASS:
            return Localization(
                Status.NODE,
                name,
                f"{lead}{info.label} (#{index}) diverges on {name} given the reference's values of its "
                f"inputs{inherited}: {describe_verdict(verdict)}. {in_graph}{summary}",
                actual=actual,
                outcome=verdict.outcome,
                metrics=verdict.metrics,
                **common,
            )
    if failing_alone is not None:
        return failing_alone
    first = model.graph.node[first_index]
    seen = f": {describe_verdict(first_verdict)}" if first_verdict is not None else ""
    return Localization(
        Status.WHOLE_GRAPH,
        name,
        f"{whole_text}. {summary} Yet every one of them is right when run alone with the reference's inputs: "
        f"the backend's rewrites of the graph (fusion, optimizer), or how it takes the graph as a whole, are in "
        f"question, first seen at {first.op_type} node #{first_index}{seen}",
        node=node_info(model, first_index, values),
        diverging=names,
    )


def _with_initializers(
    lone: onnx.ModelProto, names: Sequence[str], held: Sequence[str], values: Mapping[str, Any]
) -> tuple[onnx.ModelProto, tuple[np.ndarray, ...]]:
    """The lone model with the `held` inputs made initializers holding their values, and what is still fed."""
    kept = onnx.ModelProto()
    kept.CopyFrom(lone)
    inputs = [i for i in kept.graph.input if i.name not in held]
    del kept.graph.input[:]
    kept.graph.input.extend(inputs)
    kept.graph.initializer.extend(numpy_helper.from_array(np.asarray(values[n]), n) for n in held)
    return kept, tuple(np.asarray(values[n]) for n in names if n not in held)


def _stand_in(
    model: onnx.ModelProto,
    inputs: Sequence[np.ndarray],
    stand_ins: Sequence[tuple[str, Runner]],
    truth: Sequence[np.ndarray] | None,
    op_class: OpClass,
    check_signed_zero: bool,
) -> tuple[str, dict[str, Any], list[np.ndarray]] | str:
    """The first stand-in that runs the model and agrees with torch: its name, values and outputs; else why none."""
    why: list[str] = []
    for other, other_run in stand_ins:
        try:
            values, expected = _stand_in_values(model, inputs, other_run)
        except Exception as exc:
            why.append(f"{other} cannot run it either: {error_text(exc)}")
            continue
        if truth is not None:
            agree = _judge_values(expected, truth, op_class, check_signed_zero)
            if agree.outcome is not Outcome.PASS:
                why.append(f"{other} disagrees with torch: {describe_verdict(agree)}")
                continue
        return other, values, expected
    return "; ".join(why)


def _stand_in_values(
    model: onnx.ModelProto, inputs: Sequence[np.ndarray], run: Runner
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Every value another backend computes (its run with every intermediate exposed), by name, and the
    model's outputs: what the reference evaluator would have given."""
    exposed = expose_intermediates(model)
    got = run(exposed, inputs)
    values: dict[str, Any] = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in values]
    values.update(zip(names, inputs, strict=True))
    values.update({o.name: np.asarray(v) for o, v in zip(exposed.graph.output, got, strict=False)})
    return values, [values[o.name] for o in model.graph.output]


def _reference_values_list(model: onnx.ModelProto, inputs: Sequence[np.ndarray]) -> list[Any]:
    values = _reference_values(model, inputs)
    return [values[o.name] for o in model.graph.output]
