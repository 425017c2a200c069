"""The three oracles: torch eager in the case dtype (source), torch in float64
(truth) and the ONNX reference evaluator on the exported model (spec).

They are computed once, when an artifact is built, and cached with it.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from .tensors import flatten_outputs, to_numpy, to_torch


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
