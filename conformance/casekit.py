"""What a case needs besides a draw, for the built-in pack and third-party packs alike.

`Fn` wraps a torch function as an exportable module; `seeded` builds a
module whose weights depend on a seed only. A pack imports these from here
(not from the built-in pack's private modules); their source is part of the
source hash of every case module that uses them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .model import Unspecified


class Fn(torch.nn.Module):
    """Wraps a torch function with fixed keyword arguments as an exportable module."""

    def __init__(self, fn: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__()
        self.fn = fn
        self.kwargs = kwargs

    def forward(self, *args: torch.Tensor) -> Any:
        return self.fn(*args, **self.kwargs)


class OnnxNode(torch.nn.Module):
    """One ONNX node written by hand, with `fn`, the node's meaning by the ONNX spec written in torch, as
    its forward pass (the oracle, in the case dtype and in float64).

    For operators and attributes neither of torch's exporters emits: a case
    marked `direct=True` is "exported" by `to_onnx`, not by torch. The
    node's inputs are `inputs`: an int is that forward argument (a graph
    input), an array a constant (an initializer, as an exporter writes an
    axes or a shape), None an omitted optional input. The graph's outputs
    are the node's, typed and shaped from what `fn` returns; so `fn` must
    return what the spec says the node returns, dtype included.
    """

    def __init__(
        self,
        op_type: str,
        fn: Callable[..., Any],
        *,
        attributes: Mapping[str, Any] | None = None,
        inputs: Sequence[int | np.ndarray | None] | None = None,
        domain: str = "",
    ) -> None:
        super().__init__()
        self.op_type = op_type
        self.fn = fn
        self.attributes = dict(attributes or {})
        self.inputs = None if inputs is None else list(inputs)
        self.domain = domain

    def forward(self, *args: torch.Tensor) -> Any:
        return self.fn(*args)

    def _nodes(self, n_args: int, out_names: Sequence[str]) -> tuple[list[Any], list[Any]]:
        """The graph's nodes and initializers: here the one node, wired to the forward arguments and constants."""
        from onnx import helper, numpy_helper

        wiring = list(range(n_args)) if self.inputs is None else self.inputs
        names: list[str] = []
        initializers = []
        for i, item in enumerate(wiring):
            if item is None:
                names.append("")
            elif isinstance(item, int):
                names.append(f"input_{item}")
            else:
                names.append(f"const_{i}")
                initializers.append(numpy_helper.from_array(np.asarray(item), f"const_{i}"))
        node = helper.make_node(
            self.op_type, names, list(out_names), name=f"/{self.op_type}", domain=self.domain, **self.attributes
        )
        return [node], initializers

    def to_onnx(self, args: Sequence[torch.Tensor], opset: int) -> bytes:
        """The model at `opset` for these arguments."""
        import onnx
        from onnx import helper

        from .tensors import flatten_outputs, to_numpy

        def value(name: str, array: np.ndarray) -> onnx.ValueInfoProto:
            return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape)

        arrays = [to_numpy(a) for a in args]
        with torch.no_grad():
            outputs = [to_numpy(t) for t in flatten_outputs(self.fn(*args))]
        out_names = [f"output_{i}" for i in range(len(outputs))]
        nodes, initializers = self._nodes(len(args), out_names)
        graph = helper.make_graph(
            nodes,
            self.op_type,
            [value(f"input_{i}", a) for i, a in enumerate(arrays)],
            [value(n, o) for n, o in zip(out_names, outputs, strict=True)],
            initializer=initializers,
        )
        opsets = [helper.make_opsetid("", opset)]
        if self.domain:
            opsets.append(helper.make_opsetid(self.domain, 1))
        model = helper.make_model(graph, opset_imports=opsets, producer_name="onnx-conformance")
        model.ir_version = helper.find_min_ir_version_for(opsets[:1])
        return model.SerializeToString()


class OnnxGraph(OnnxNode):
    """A few hand-written nodes around the one a case is about.

    For ops whose values are not tensors (sequences, optionals) or that hold
    graphs (Scan, Loop, If): the harness feeds and compares tensors, so a
    sequence is built from the inputs and turned back into a tensor inside the
    graph. `nodes` are `onnx.NodeProto`s over value names: `input_<i>` is
    forward argument i, `output_<j>` the j-th value `fn` returns; any other name
    is the graph's own, or one of `constants` (initializers). `op_type` names
    the graph and the op the case is about.
    """

    def __init__(
        self, op_type: str, fn: Callable[..., Any], nodes: Sequence[Any], *, constants: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(op_type, fn)
        self.nodes = list(nodes)
        self.constants = dict(constants or {})

    def _nodes(self, n_args: int, out_names: Sequence[str]) -> tuple[list[Any], list[Any]]:
        from onnx import numpy_helper

        return self.nodes, [numpy_helper.from_array(np.asarray(v), k) for k, v in self.constants.items()]


def seeded(seed: int, factory: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """Build a module whose initial weights depend on `seed` only, not on global RNG state.

    Only the CPU generator is seeded: `torch.manual_seed` also queues a lazy
    seeding of every accelerator (with a formatted stack each) even on a CPU
    build, which made seeding the dearest step of drawing and grew without end.
    """
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        module = factory()
    return module.eval()


#: For ops whose zero results' sign ONNX leaves open, with the note that says so.
ZERO_SIGN = (Unspecified.SIGNED_ZERO,)
ZERO_SIGN_NOTE = " The sign of a zero result is left open by ONNX."
