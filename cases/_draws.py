"""Draw helpers shared by case modules (a `_` module: part of the source hash of each case module using it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from conformance.casekit import Fn
from conformance.generate import Draw
from conformance.model import Spec

#: The dtype of a "promote" second operand, per first-operand dtype. The result type is the wider of the two,
#: and differs from both at int8 with uint8 (int16) and bfloat16 with float16 (float32).
PARTNER = {
    "float32": "float16",
    "float16": "float32",
    "bfloat16": "float16",
    "float64": "int64",
    "int8": "uint8",
    "uint8": "int32",
    "int32": "float32",
    "int64": "float16",
    "bool": "int8",
}


def int_divisor(d: Draw, label: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Integer divisors stay off 0: torch raises, and ONNX leaves it undefined.

    Plain draws also stay off -1, as they always have. In special mode the
    divisor holds every special integer, -1 among them, so INT_MIN meets -1:
    the one quotient that overflows, and traps x86's divide instruction.
    """
    b = d.tensor(label, shape, dtype, low=-9, high=9, special=None if d.special else False)
    off = (b == 0) if d.special else (b == 0) | (b == -1)
    return np.where(off, np.asarray(3, dtype=b.dtype), b).astype(b.dtype)


def scalar_spec(fn: Callable[..., Any], inputs: tuple[np.ndarray, ...], scalar: Any, **kwargs: Any) -> Spec:
    """fn over the inputs, the scalar (where there is one) as its second argument."""
    if scalar is None:
        return Spec(Fn(fn, **kwargs), inputs)

    def with_scalar(a: torch.Tensor) -> torch.Tensor:
        return fn(a, scalar, **kwargs)

    return Spec(Fn(with_scalar), inputs)
