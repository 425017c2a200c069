"""Draw helpers shared by case modules (a `_` module: part of the source hash of each case module using it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

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


class ConvGeometry(NamedTuple):
    """A drawn convolution: what Conv, ConvInteger and QLinearConv share (the batch size is drawn by the case)."""

    rank: int
    group: int
    c_in: int
    c_out: int
    spatial: tuple[int, ...]
    kernel: list[int]
    strides: list[int]
    dilations: list[int]
    pads: list[tuple[int, int]]
    mode: str
    explicit: list[tuple[int, int]]

    @property
    def w_shape(self) -> tuple[int, ...]:
        return (self.c_out, self.c_in // self.group, *self.kernel)

    def x_shape(self, n: int) -> tuple[int, ...]:
        return (n, self.c_in, *self.spatial)

    @property
    def onnx_pads(self) -> list[int]:
        """The explicit pads as ONNX writes them: every begin, then every end."""
        return [b for b, _ in self.explicit] + [e for _, e in self.explicit]

    @property
    def torch_pads(self) -> list[int]:
        """The effective pads (auto_pad applied) as `F.pad` takes them: last axis first."""
        return [v for i in reversed(range(self.rank)) for v in self.pads[i]]


def conv_geometry(d: Draw) -> ConvGeometry:
    """A 1-d or 2-d convolution: groups (depthwise included), strides, dilations, auto_pad or explicit
    asymmetric pads. At most 2 input channels per group and a 3x3 kernel; a kernel longer than the padded
    input (no output) is cut to fit."""
    rank = d.choice("spatial_rank", (2, 1))
    groups = d.choice("group", (1, 2, "depthwise"))
    per = d.integer("channels_per_group", 1, 2)
    g = 3 if groups == "depthwise" else int(groups)
    c_in = 3 if groups == "depthwise" else g * per
    c_out = g * d.integer("out_per_group", 1, 2)
    spatial = d.shape("spatial", min_dims=rank, max_dims=rank, min_side=1, max_side=7)
    kernel = [d.integer(f"kernel{i}", 1, 3) for i in range(rank)]
    strides = [d.choice(f"stride{i}", (1, 2)) for i in range(rank)]
    dilations = [d.choice(f"dilation{i}", (1, 2)) for i in range(rank)]
    mode = d.choice("auto_pad", ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"))
    explicit = [(d.integer(f"pad_begin{i}", 0, 2), d.integer(f"pad_end{i}", 0, 2)) for i in range(rank)]
    pads = [auto_pads(spatial[i], kernel[i], strides[i], dilations[i], mode, explicit[i]) for i in range(rank)]
    for i in range(rank):
        while (kernel[i] - 1) * dilations[i] + 1 > spatial[i] + sum(pads[i]) and kernel[i] > 1:
            kernel[i] -= 1
            if mode != "NOTSET":
                pads[i] = auto_pads(spatial[i], kernel[i], strides[i], dilations[i], mode)
    return ConvGeometry(rank, g, c_in, c_out, tuple(spatial), kernel, strides, dilations, pads, mode, explicit)
