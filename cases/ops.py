"""Operator cases: one draw function per PyTorch operator.

Each function draws its configuration and inputs through `Draw`, so every
choice is labelled in a failure report and reproducible from the seed.
Binary elementwise cases draw how their second operand is given (`other`):
a broadcast tensor of the same dtype, a Python int or float, or a tensor of
another dtype (torch promotes; an exporter must insert the casts).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from conformance.casekit import Fn, seeded
from conformance.dtypes import ALL, FLOATS, FLOATS_NO_BF16, INTS, NUMERIC
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

from ._draws import PARTNER, scalar_spec


def _operands(
    d: Draw, dtypes: tuple[str, ...], scalars: tuple[int, float] = (2, -1.5)
) -> tuple[str, tuple[np.ndarray, ...], int | float | None]:
    """The dtype, the tensor inputs, and the Python scalar second operand (None when it is a tensor)."""
    dtype = d.dtype(dtypes)
    form = d.choice("other", ("tensor", "int", "float", "promote"))
    if form in ("int", "float"):
        scalar = scalars[0] if form == "int" else scalars[1]
        return dtype, (d.tensor("a", d.shape(min_side=0), dtype),), scalar
    sa, sb = d.broadcast_shapes()
    other = PARTNER[dtype] if form == "promote" else dtype
    return dtype, (d.tensor("a", sa, dtype), d.tensor("b", sb, other)), None


def _dim(d: Draw, shape: tuple[int, ...]) -> int:
    """One dim of `shape`, spelled negatively or not (covered); 0-d tensors accept 0 and -1."""
    rank = max(len(shape), 1)
    return d.integer("dim", -rank, -1) if d.boolean("dim.negative") else d.integer("dim", 0, rank - 1)


def _dtype_arg(d: Draw, options: tuple[str | None, ...]) -> dict[str, torch.dtype]:
    """A `dtype=` keyword (or none): the input is cast to it before the op."""
    name = d.choice("dtype_arg", options)
    return {} if name is None else {"dtype": getattr(torch, name)}


# ---------------------------------------------------------------- elementwise


@case("activation", op_class=OpClass.EXACT, unspecified=("signed-zero",))
def relu(d: Draw) -> Spec:
    """max(x, 0) in the float dtypes every backend has: the smoke case tests and examples rely on."""
    dtype = d.dtype(FLOATS_NO_BF16)
    x = d.tensor("x", d.shape(), dtype)
    return Spec(Fn(torch.relu), (x,))


@case(
    "activation",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="max(x, 0) in every dtype torch takes (ONNX Relu takes integers from opset 14, bfloat16 too); size-0 "
    "dims included. ONNX leaves relu(-0.0) open, so signed zeros are not judged.",
)
def relu_dtypes(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    x = d.tensor("x", d.shape(min_side=0), dtype)
    return Spec(Fn(torch.relu), (x,))


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    notes="a + alpha * b, alpha 1, 2 or -1 (and 0.5 where the result is floating: torch refuses it otherwise); "
    "b a broadcast tensor, a Python int or float, or a tensor of another dtype. Bool + bool is a logical or.",
)
def add(d: Draw) -> Spec:
    _dtype, inputs, scalar = _operands(d, ALL)
    floating = any(x.dtype.kind in "fV" for x in inputs) or isinstance(scalar, float)
    alpha = d.choice("alpha", (1, 2, -1, 0.5) if floating else (1, 2, -1))
    return scalar_spec(torch.add, inputs, scalar, alpha=alpha)


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    notes="a * b, b a broadcast tensor, a Python int or float, or a tensor of another dtype; bool * bool is a "
    "logical and, bool * int scalar makes int64.",
)
def mul(d: Draw) -> Spec:
    _dtype, inputs, scalar = _operands(d, ALL, scalars=(3, -1.5))
    return scalar_spec(torch.mul, inputs, scalar)


@case(
    "comparison",
    op_class=OpClass.EXACT,
    notes="a > b, b a broadcast tensor, a Python int or float (0 and 0.5), or a tensor of another dtype.",
)
def greater(d: Draw) -> Spec:
    _dtype, inputs, scalar = _operands(d, NUMERIC, scalars=(0, 0.5))
    return scalar_spec(torch.gt, inputs, scalar)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="exp(x); integer and bool inputs promote to float32 (an exporter must cast first); size-0 dims too.",
)
def exp(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int64", "bool"))
    return Spec(Fn(torch.exp), (d.tensor("x", d.shape(min_side=0), dtype, low=-10, high=10),))


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="tanh(x); integer and bool inputs promote to float32 (an exporter must cast first); size-0 dims too.",
)
def tanh(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int64", "bool"))
    return Spec(Fn(torch.tanh), (d.tensor("x", d.shape(min_side=0), dtype, low=-5, high=5),))


# ---------------------------------------------------------------- reductions


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.sum along one dim, spelled as is or negatively, keepdim both ways, size-0 dims and 0-d inputs "
    "included; integer and bool inputs sum to int64 unless dtype= says otherwise (none, float32, float64 or "
    "int64). ONNX does not say whether a sum of negative zeros is -0.0 or +0.0.",
)
def sum_(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS, "bool"))
    shape = d.shape(min_side=0)
    dim = _dim(d, shape)
    keepdim = d.boolean("keepdim")
    kwargs = _dtype_arg(d, (None, "float32", "float64") if dtype in FLOATS else (None, "int64", "float32"))
    return Spec(Fn(torch.sum, dim=dim, keepdim=keepdim, **kwargs), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.mean along one dim, spelled as is or negatively, keepdim both ways; dtype= none, float32 or "
    "float64 (required for the int64 input). Size-0 dims included: an empty mean is NaN. ONNX does not say "
    "whether a mean of negative zeros is -0.0 or +0.0.",
)
def mean(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int64"))
    shape = d.shape(min_side=0)
    dim = _dim(d, shape)
    keepdim = d.boolean("keepdim")
    kwargs = _dtype_arg(d, (None, "float32", "float64") if dtype in FLOATS else ("float32", "float64"))
    return Spec(Fn(torch.mean, dim=dim, keepdim=keepdim, **kwargs), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Softmax over a dim spelled as is or negatively, 0-d and size-0 inputs included; dtype= none, "
    "float32 or float64 (a cast before the op).",
)
def softmax(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_side=0)
    dim = _dim(d, shape)
    return Spec(
        Fn(torch.softmax, dim=dim, **_dtype_arg(d, (None, "float32", "float64"))), (d.tensor("x", shape, dtype),)
    )


# ---------------------------------------------------------------- linear algebra, convolution


@case(
    "linalg",
    op_class=OpClass.MATMUL,
    notes="torch.matmul over every rank combination ONNX MatMul must follow numpy for: 1-d by 1-d (a dot "
    "product), 1-d by n-d and n-d by 1-d (the prepended/appended dim removed), 2-d by 2-d, and batched on both "
    "sides with the batch dims broadcast; k = 0 (an all-zero result) included. Integer matmul too.",
)
def matmul(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32", "int64"))
    ranks = d.choice("ranks", ("1x1", "1xn", "nx1", "2x2", "batched"))
    m, k, n = d.integer("m", 1, 8), d.integer("k", 0, 16), d.integer("n", 1, 8)
    if ranks == "batched":
        ba, bb = d.broadcast_shapes("batch", max_dims=2)
    else:
        batch = d.shape("batch", max_dims=2, max_side=3) if ranks in ("1xn", "nx1") else ()
        ba, bb = (batch, ()) if ranks == "nx1" else ((), batch)
    sa = (k,) if ranks in ("1x1", "1xn") else (*ba, m, k)
    sb = (k,) if ranks in ("1x1", "nx1") else (*bb, k, n)
    low, high = (-3, 3) if dtype in FLOATS else (-9, 9)
    return Spec(
        Fn(torch.matmul), (d.tensor("a", sa, dtype, low=low, high=high), d.tensor("b", sb, dtype, low=low, high=high))
    )


@case(
    "conv",
    op_class=OpClass.MATMUL,
    notes="nn.Conv2d with padding an int, 'valid' or 'same' (stride 1; an even effective kernel makes torch pad "
    "one more at the end), padding_mode zeros, reflect, replicate or circular (a Pad before the Conv), kernel "
    "height and width drawn apart, with and without bias, batched or unbatched (3-d) input.",
)
def conv2d(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    groups = d.integer("groups", 1, 2)
    cin = groups * d.integer("in_per_group", 1, 3)
    cout = groups * d.integer("out_per_group", 1, 3)
    kernel = (d.integer("kernel", 1, 3), d.integer("kernel_w", 1, 4))
    dilation = d.integer("dilation", 1, 2)
    padding = d.choice("padding", (0, 1, 2, "valid", "same"))
    stride = 1 if padding == "same" else d.integer("stride", 1, 2)
    padding_mode = d.choice("padding_mode", ("zeros", "reflect", "replicate", "circular"))
    bias = d.boolean("bias")
    size = [(k - 1) * dilation + 1 for k in kernel]
    # reflect needs each pad below the input size; 3 is the largest pad any draw here makes.
    h = d.integer("height", max(size[0], 4), size[0] + 5)
    w = d.integer("width", max(size[1], 4), size[1] + 5)
    seed = d.weights_seed()
    conv = seeded(
        seed,
        lambda: torch.nn.Conv2d(
            cin,
            cout,
            kernel,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode,
        ),
    )
    conv = conv.to(getattr(torch, dtype))
    batch = (d.integer("batch", 1, 2),) if d.boolean("batched") else ()
    return Spec(conv, (d.tensor("x", (*batch, cin, h, w), dtype),))


# ---------------------------------------------------------------- shape


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="reshape to (-1,) (flat), (numel, 1) (column), (-1, last) (a -1 among known dims), the dims "
    "reversed (with size-0 inputs a literal 0 in the target, which ONNX Reshape copies from the input unless "
    "allowzero=1), or a 1-element input to a 0-d scalar; every dtype.",
)
def reshape(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    target = d.choice("target", ("flat", "column", "infer", "reversed", "scalar"))
    if target == "scalar":
        shape = d.shape(max_side=1)
    else:
        shape = d.shape(min_dims=1, min_side=1 if target == "infer" else 0)
    numel = math.prod(shape)
    if target == "flat":
        size: tuple[int, ...] = (-1,)
    elif target == "column":
        size = (numel, 1)
    elif target == "infer":
        size = (-1, shape[-1])
    else:
        size = tuple(reversed(shape))  # the scalar's () included
    return Spec(Fn(torch.reshape, shape=size), (d.tensor("x", shape, dtype),))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="transpose of two dims, each spelled as is or negatively (equal dims a no-op), 0-d, 1-d and size-0 "
    "inputs included; every dtype.",
)
def transpose(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_side=0)
    rank = max(len(shape), 1)
    lo, hi = (-rank, -1) if d.boolean("dims.negative") else (0, rank - 1)
    d0, d1 = d.integer("dim0", lo, hi), d.integer("dim1", lo, hi)
    return Spec(Fn(torch.transpose, dim0=d0, dim1=d1), (d.tensor("x", shape, dtype),))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.cat of two or three tensors along a dim spelled as is or negatively, a size-0 part "
    "included; the other parts of the same dtype, of another (torch promotes the result), or a size-0 1-d "
    "tensor (which torch skips whatever the other's shape: legacy behaviour an exporter must follow).",
)
def cat(d: Draw) -> Spec:
    dtype = d.dtype((*NUMERIC, "bool"))
    parts = d.choice("parts", ("same", "promote", "legacy_empty"))
    count = d.choice("count", (2, 3))
    shape = d.shape(min_dims=1)
    dim = _dim(d, shape)
    tensors = [d.tensor("a", shape, dtype)]
    for i in range(1, count):
        if parts == "legacy_empty" and i == 1:
            tensors.append(d.tensor("b", (0,), dtype))
            continue
        other = list(shape)
        other[dim] = d.integer(f"size{i}", 0, 4)
        label = "b" if i == 1 else "c"
        tensors.append(d.tensor(label, tuple(other), PARTNER[dtype] if parts == "promote" else dtype))

    def concat(*xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=dim)

    return Spec(Fn(concat), tuple(tensors))
