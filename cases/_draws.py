"""Draw helpers shared by case modules (a `_` module: part of the source hash of each case module using it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from conformance.casekit import Fn
from conformance.generate import Draw, case
from conformance.model import Case, Spec

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


def direct(**kwargs: Any) -> Callable[[Callable[[Draw], Spec]], Case]:
    """A case in the `direct` category: it writes its ONNX node itself (`casekit.OnnxNode`)."""
    return case("direct", direct=True, **kwargs)


def axis_of(d: Draw, rank: int, label: str = "axis") -> int:
    """An axis of a tensor of `rank`, spelled negatively or not (covered)."""
    rank = max(rank, 1)
    return d.integer(label, -rank, -1) if d.boolean(f"{label}.negative") else d.integer(label, 0, rank - 1)


def auto_pads(
    size: int, kernel: int, stride: int, dilation: int, mode: str, explicit: tuple[int, int] = (0, 0)
) -> tuple[int, int]:
    """A spatial axis' (begin, end) padding by a conv's or pool's auto_pad: SAME pads to ceil(size / stride)
    outputs, the odd one at the end (SAME_UPPER) or the beginning (SAME_LOWER); VALID pads nothing; NOTSET
    takes `explicit`."""
    if mode == "NOTSET":
        return explicit
    if mode == "VALID":
        return 0, 0
    span = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + span - size, 0)
    small, large = total // 2, total - total // 2
    return (small, large) if mode == "SAME_UPPER" else (large, small)


#: How a scatter with `reduction` combines the value in place with an update (ScatterND, ScatterElements).
SCATTER_REDUCTIONS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "none": lambda old, new: new,
    "add": torch.add,
    "mul": torch.mul,
    "max": torch.maximum,
    "min": torch.minimum,
}


def axes_subset(d: Draw, rank: int, label: str = "axes") -> list[int]:
    """A drawn non-empty set of a tensor's axes, in increasing order."""
    from hypothesis import strategies as st

    return sorted(set(d.draw(label, st.lists(st.integers(0, rank - 1), min_size=1, max_size=rank))))
