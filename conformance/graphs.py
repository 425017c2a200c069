"""The kinds of node an ONNX graph holds, with the element type each computes in.

The operator support matrix counts every result against the (op, dtype)
pairs of the graph it ran; this reads them off the model itself, not off the
case's declaration, so what is counted is what the backend was given.
"""

from __future__ import annotations

from collections.abc import Iterator

import onnx

from .model import OpUse

DEFAULT_DOMAINS = ("", "ai.onnx")


def graphs_of(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """The graph and every subgraph its nodes hold (If branches, Loop and Scan bodies), outermost first."""
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from graphs_of(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from graphs_of(g)


def _types(graph: onnx.GraphProto) -> dict[str, int]:
    """Element types of the graph's named values, as declared or inferred."""
    known: dict[str, int] = {t.name: t.data_type for t in graph.initializer}
    for info in [*graph.input, *graph.output, *graph.value_info]:
        if info.type.HasField("tensor_type") and info.type.tensor_type.elem_type:
            known[info.name] = info.type.tensor_type.elem_type
    for node in graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value" and attr.type == onnx.AttributeProto.TENSOR:
                    known[node.output[0]] = attr.t.data_type
    return known


def op_name(domain: str, op_type: str) -> str:
    return op_type if domain in DEFAULT_DOMAINS else f"{domain}.{op_type}"


def op_uses(model: onnx.ModelProto | bytes) -> tuple[OpUse, ...]:
    """Each distinct (op, dtype) of the graph and its subgraphs; functions' bodies are not backends' business."""
    if isinstance(model, bytes | bytearray):
        model = onnx.load_model_from_string(bytes(model))
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:
        pass  # an invalid graph still names its ops; dtypes come from what it declares
    uses: set[OpUse] = set()
    outer: dict[str, int] = {}
    for graph in graphs_of(model.graph):
        types = {**outer, **_types(graph)}
        outer = types  # a subgraph sees its outer scope's values
        for node in graph.node:
            typed = [types[n] for n in [*node.input, *node.output] if n and n in types]
            dtype = onnx.helper.tensor_dtype_to_np_dtype(typed[0]).name if typed else ""
            uses.add(OpUse(op_name(node.domain, node.op_type), _readable(dtype)))
    return tuple(sorted(uses))


def _readable(dtype: str) -> str:
    """NumPy's name, except where onnx maps a type NumPy lacks to a stand-in of another name."""
    return {"object": "string"}.get(dtype, dtype)
