"""The three oracles: torch eager in the case dtype (source), torch in float64
(truth) and the ONNX reference evaluator on the exported model (spec).

They are computed once, when an artifact is built, and cached with it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np


def to_torch(array: np.ndarray) -> Any:
    import torch

    if array.dtype.name == "bfloat16":
        return torch.from_numpy(np.array(array, order="C").view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(np.array(array, copy=True))


def to_numpy(tensor: Any) -> np.ndarray:
    import torch

    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        import ml_dtypes

        return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16).copy()
    return tensor.numpy().copy()


def flatten_outputs(value: Any) -> list[Any]:
    """Torch outputs in the order the exporters emit them (nested tuples flattened)."""
    if isinstance(value, (tuple, list)):
        out: list[Any] = []
        for v in value:
            out.extend(flatten_outputs(v))
        return out
    return [value]


def run_torch(module: Any, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    import torch

    with torch.no_grad():
        result = module(*[to_torch(x) for x in inputs])
    return tuple(to_numpy(t) for t in flatten_outputs(result))


def run_torch_float64(module: Any, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """The module and its floating inputs promoted to float64: the truth floating outputs are judged by."""
    import torch

    promoted = copy.deepcopy(module).to(torch.float64)
    args = []
    for x in inputs:
        t = to_torch(x)
        args.append(t.to(torch.float64) if t.is_floating_point() else t)
    with torch.no_grad():
        result = promoted(*args)
    return tuple(to_numpy(t) for t in flatten_outputs(result))


def graph_input_names(model: Any) -> list[str]:
    initializers = {i.name for i in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in initializers]


def reference_session(model: Any) -> tuple[Any, list[str]]:
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(model), graph_input_names(model)


def run_reference_session(session: tuple[Any, list[str]], inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """NumPy's overflow and invalid-value warnings are what special-value inputs are for: not news."""
    import warnings

    evaluator, names = session
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return tuple(np.asarray(o) for o in evaluator.run(None, dict(zip(names, inputs, strict=True))))


def run_reference(model_bytes: bytes, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    import onnx

    return run_reference_session(reference_session(onnx.load_from_string(model_bytes)), inputs)
