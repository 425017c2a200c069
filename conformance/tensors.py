"""Tensors between numpy and torch, bfloat16 included (numpy holds it as ml_dtypes' type, torch as its own).

Every stage that hands arrays to torch or takes them back uses these, so a
bfloat16 value survives the trip bit for bit.
"""

from __future__ import annotations

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
