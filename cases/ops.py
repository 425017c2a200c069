"""Operator cases: one draw function per PyTorch operator.

Each function draws its configuration and inputs through `Draw`, so every
choice is labelled in a failure report and reproducible from the seed.
"""

from __future__ import annotations

import torch

from conformance.casekit import Fn, seeded
from conformance.dtypes import FLOATS, FLOATS_NO_BF16, SIGNED_INTS
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

# ---------------------------------------------------------------- elementwise


@case("activation", op_class=OpClass.EXACT, unspecified=("signed-zero",))
def relu(d: Draw) -> Spec:
    """max(x, 0); ONNX leaves relu(-0.0) open, so signed zeros are not judged."""
    dtype = d.dtype(FLOATS_NO_BF16)
    x = d.tensor("x", d.shape(), dtype)
    return Spec(Fn(torch.relu), (x,))


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def add(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16 + SIGNED_INTS)
    sa, sb = d.broadcast_shapes()
    return Spec(Fn(torch.add), (d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)))


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def mul(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16 + SIGNED_INTS)
    sa, sb = d.broadcast_shapes()
    return Spec(Fn(torch.mul), (d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)))


@case("comparison", op_class=OpClass.EXACT)
def greater(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16 + SIGNED_INTS)
    sa, sb = d.broadcast_shapes()
    return Spec(Fn(torch.gt), (d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)))


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def exp(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16)
    return Spec(Fn(torch.exp), (d.tensor("x", d.shape(), dtype, low=-10, high=10),))


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def tanh(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16)
    return Spec(Fn(torch.tanh), (d.tensor("x", d.shape(), dtype, low=-5, high=5),))


# ---------------------------------------------------------------- reductions


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="ONNX does not say whether a sum of negative zeros is -0.0 or +0.0.",
)
def sum_(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS_NO_BF16, "int32", "int64"))
    shape = d.shape(min_dims=1)
    dim = d.integer("dim", -len(shape), len(shape) - 1)
    keepdim = d.boolean("keepdim")
    return Spec(Fn(torch.sum, dim=dim, keepdim=keepdim), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="ONNX does not say whether a mean of negative zeros is -0.0 or +0.0.",
)
def mean(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16)
    shape = d.shape(min_dims=1)
    dim = d.integer("dim", -len(shape), len(shape) - 1)
    keepdim = d.boolean("keepdim")
    return Spec(Fn(torch.mean, dim=dim, keepdim=keepdim), (d.tensor("x", shape, dtype),))


@case("reduction", op_class=OpClass.TRANSCENDENTAL)
def softmax(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16)
    shape = d.shape(min_dims=1)
    dim = d.integer("dim", -len(shape), len(shape) - 1)
    return Spec(Fn(torch.softmax, dim=dim), (d.tensor("x", shape, dtype),))


# ---------------------------------------------------------------- linear algebra, convolution


@case("linalg", op_class=OpClass.MATMUL)
def matmul(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    batch = d.shape("batch", max_dims=2, max_side=3)
    m, k, n = d.integer("m", 1, 8), d.integer("k", 1, 16), d.integer("n", 1, 8)
    a = d.tensor("a", (*batch, m, k), dtype)
    b = d.tensor("b", (k, n), dtype)
    return Spec(Fn(torch.matmul), (a, b))


@case("conv", op_class=OpClass.MATMUL)
def conv2d(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    groups = d.integer("groups", 1, 2)
    cin = groups * d.integer("in_per_group", 1, 3)
    cout = groups * d.integer("out_per_group", 1, 3)
    kernel = d.integer("kernel", 1, 3)
    stride = d.integer("stride", 1, 2)
    padding = d.integer("padding", 0, 1)
    dilation = d.integer("dilation", 1, 2)
    bias = d.boolean("bias")
    size = (kernel - 1) * dilation + 1
    h, w = d.integer("height", size, size + 5), d.integer("width", size, size + 5)
    seed = d.weights_seed()
    conv = seeded(
        seed,
        lambda: torch.nn.Conv2d(
            cin, cout, kernel, stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias
        ),
    )
    conv = conv.to(getattr(torch, dtype))
    return Spec(conv, (d.tensor("x", (d.integer("batch", 1, 2), cin, h, w), dtype),))


# ---------------------------------------------------------------- shape


@case("shape", op_class=OpClass.EXACT)
def reshape(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + SIGNED_INTS + ("bool",))
    shape = d.shape(min_dims=1)
    numel = 1
    for s in shape:
        numel *= s
    flat = d.boolean("flatten")
    target = (-1,) if flat else (numel, 1)
    return Spec(Fn(torch.reshape, shape=target), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT)
def transpose(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16 + SIGNED_INTS + ("bool",))
    shape = d.shape(min_dims=2)
    d0 = d.integer("dim0", 0, len(shape) - 1)
    d1 = d.integer("dim1", 0, len(shape) - 1)
    return Spec(Fn(torch.transpose, dim0=d0, dim1=d1), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT)
def cat(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16 + SIGNED_INTS)
    shape = d.shape(min_dims=1)
    dim = d.integer("dim", 0, len(shape) - 1)
    other = list(shape)
    other[dim] = d.integer("other_size", 0, 4)

    def concat(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.cat([a, b], dim=dim)

    return Spec(Fn(concat), (d.tensor("a", shape, dtype), d.tensor("b", tuple(other), dtype)))
