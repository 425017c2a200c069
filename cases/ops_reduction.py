"""Reduction cases: sums, products, extrema and their indices, moments, norms, scans.

Shapes include 0-d scalars and size-1 dims; where reducing over an empty dim
is defined (sum, prod, any, all, count_nonzero, logsumexp, scans) size-0 dims
are drawn too. Reduced dims are drawn as a set, negative spellings included.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from conformance.casekit import Fn
from conformance.dtypes import FLOATS, INTS
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec


def _dim(d: Draw, shape: tuple[int, ...], label: str = "dim") -> int:
    """One dim of `shape`, negative spellings included; 0-d tensors accept 0 and -1."""
    rank = max(len(shape), 1)
    return d.integer(label, -rank, rank - 1)


def _dims(d: Draw, shape: tuple[int, ...], label: str = "dims") -> tuple[int, ...]:
    """A non-empty set of distinct dims of `shape` (rank >= 1), each maybe spelled negatively."""
    rank = len(shape)
    axes = d.draw(label, st.lists(st.integers(0, rank - 1), min_size=1, max_size=rank, unique=True))
    flips = d.draw(f"{label}.negative", st.lists(st.booleans(), min_size=len(axes), max_size=len(axes)))
    return tuple(a - rank if neg else a for a, neg in zip(axes, flips, strict=True))


# ---------------------------------------------------------------- sums and products


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.sum over a set of dims (ReduceSum with several axes); empty dims sum to 0. "
    "ONNX does not say whether a sum of negative zeros is -0.0 or +0.0.",
)
def sum_multi_dim(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS, "bool"))
    shape = d.shape(min_dims=1, min_side=0)
    dims = _dims(d, shape)
    return Spec(Fn(torch.sum, dim=dims, keepdim=d.boolean("keepdim")), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.sum with no dim: every element into a 0-d result, 0-d inputs included.",
)
def sum_all(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32", "int64"))
    shape = d.shape(min_side=0)
    return Spec(Fn(torch.sum), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.mean over a set of dims; size-1 dims only, an empty mean is NaN in torch.",
)
def mean_multi_dim(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_dims=1)
    dims = _dims(d, shape)
    return Spec(Fn(torch.mean, dim=dims, keepdim=d.boolean("keepdim")), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.prod along one dim (ReduceProd); the empty product is 1. Values stay in [-2, 2] "
    "so float16 products do not overflow in the plain mode. Integer products promote to int64 in torch.",
)
def prod(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS))
    shape = d.shape(min_side=0, max_side=4)
    dim = _dim(d, shape)
    return Spec(Fn(torch.prod, dim=dim, keepdim=d.boolean("keepdim")), (d.tensor("x", shape, dtype, low=-2, high=2),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.nansum: NaNs count as zero (exporters rewrite it as Where(IsNaN) + ReduceSum). "
    "The sign of a zero sum is left open by ONNX.",
)
def nansum(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, shape)
    return Spec(Fn(torch.nansum, dim=dim, keepdim=d.boolean("keepdim")), (d.tensor("x", shape, dtype),))


# ---------------------------------------------------------------- extrema


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.amax over a set of dims (ReduceMax); NaN propagates in torch. ONNX ReduceMax "
    "before opset 20 says nothing about NaN.",
)
def amax(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS))
    shape = d.shape(min_dims=1)
    dims = _dims(d, shape)
    return Spec(Fn(torch.amax, dim=dims, keepdim=d.boolean("keepdim")), (d.tensor("x", shape, dtype),))


@case("reduction", op_class=OpClass.EXACT, notes="torch.amin over a set of dims (ReduceMin); NaN propagates in torch.")
def amin(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS))
    shape = d.shape(min_dims=1)
    dims = _dims(d, shape)
    return Spec(Fn(torch.amin, dim=dims, keepdim=d.boolean("keepdim")), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.max with dim: values and indices. Values are drawn from a wide range so ties "
    "are rare; with ties torch returns the first index, as ONNX ArgMax (select_last_index=0) does.",
)
def max_dim(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    shape = d.shape()
    dim = _dim(d, shape)
    x = d.tensor("x", shape, dtype, low=-1000, high=1000)
    return Spec(Fn(torch.max, dim=dim, keepdim=d.boolean("keepdim")), (x,))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.min with dim: values and indices; ties are unlikely (wide value range).",
)
def min_dim(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    shape = d.shape()
    dim = _dim(d, shape)
    x = d.tensor("x", shape, dtype, low=-1000, high=1000)
    return Spec(Fn(torch.min, dim=dim, keepdim=d.boolean("keepdim")), (x,))


@case("reduction", op_class=OpClass.EXACT, notes="torch.max with no dim: a 0-d maximum of every element.")
def max_all(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS))
    return Spec(Fn(torch.max), (d.tensor("x", d.shape(), dtype),))


@case("reduction", op_class=OpClass.EXACT, notes="torch.aminmax: min and max in one call, optionally along a dim.")
def aminmax(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    shape = d.shape(min_dims=1)
    if d.boolean("along_dim"):
        module = Fn(torch.aminmax, dim=_dim(d, shape), keepdim=d.boolean("keepdim"))
    else:
        module = Fn(torch.aminmax)
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.argmax (ArgMax); values drawn wide so ties are rare. Torch treats NaN as the "
    "maximum; ONNX ArgMax says nothing about NaN (spec gap).",
)
def argmax(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int8", "uint8", "int32", "int64"))
    shape = d.shape()
    if d.boolean("flatten"):
        module = Fn(torch.argmax)
    else:
        module = Fn(torch.argmax, dim=_dim(d, shape), keepdim=d.boolean("keepdim"))
    return Spec(module, (d.tensor("x", shape, dtype, low=-1000, high=1000),))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.argmin (ArgMin); ties are rare, and NaN handling is a spec gap as for argmax.",
)
def argmin(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int8", "uint8", "int32", "int64"))
    shape = d.shape()
    if d.boolean("flatten"):
        module = Fn(torch.argmin)
    else:
        module = Fn(torch.argmin, dim=_dim(d, shape), keepdim=d.boolean("keepdim"))
    return Spec(module, (d.tensor("x", shape, dtype, low=-1000, high=1000),))


# ---------------------------------------------------------------- moments


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.var with correction 0, 1 or 2 over a set of dims; when the count is not above "
    "the correction torch gives NaN or inf, which the exported graph must reproduce.",
)
def var(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_dims=1)
    dims = _dims(d, shape)
    correction = d.integer("correction", 0, 2)
    module = Fn(torch.var, dim=dims, correction=correction, keepdim=d.boolean("keepdim"))
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.std with correction 0 or 1 along one dim; sqrt of var, same edge at small counts.",
)
def std(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_dims=1)
    dim = _dim(d, shape)
    correction = d.integer("correction", 0, 1)
    module = Fn(torch.std, dim=dim, correction=correction, keepdim=d.boolean("keepdim"))
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.var_mean: variance and mean in one call; the sign of a zero mean is open in ONNX.",
)
def var_mean(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    shape = d.shape(min_dims=1)
    dims = _dims(d, shape)
    module = Fn(torch.var_mean, dim=dims, correction=d.integer("correction", 0, 1), keepdim=d.boolean("keepdim"))
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.std_mean: standard deviation and mean in one call; the sign of a zero mean is open in ONNX.",
)
def std_mean(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, shape)
    module = Fn(torch.std_mean, dim=dim, correction=d.integer("correction", 0, 1), keepdim=d.boolean("keepdim"))
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.TRANSCENDENTAL,
    notes="torch.logsumexp over a set of dims (ReduceLogSumExp or a max-shifted rewrite); "
    "values reach +-60 so an unshifted exp overflows float16. Empty dims give -inf.",
)
def logsumexp(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_dims=1, min_side=0)
    dims = _dims(d, shape)
    x = d.tensor("x", shape, dtype, low=-60, high=60)
    return Spec(Fn(torch.logsumexp, dim=dims, keepdim=d.boolean("keepdim")), (x,))


# ---------------------------------------------------------------- norms


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.linalg.vector_norm with ord 1, 2, 3, inf, -inf or 0 (ReduceL1, ReduceL2, "
    "ReduceMax(Abs) or a pow/sum rewrite) over a set of dims.",
)
def vector_norm(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_dims=1)
    ord_ = d.choice("ord", (1, 2, 3, math.inf, -math.inf, 0))
    dims = _dims(d, shape)
    module = Fn(torch.linalg.vector_norm, ord=ord_, dim=dims, keepdim=d.boolean("keepdim"))
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.norm (the older entry point) with p=1, 2, inf or 'fro', along a dim or over everything.",
)
def norm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    shape = d.shape(min_dims=1)
    p = d.choice("p", (1, 2, math.inf, "fro"))
    if d.boolean("along_dim"):
        module = Fn(torch.norm, p=p, dim=_dim(d, shape), keepdim=d.boolean("keepdim"))
    else:
        module = Fn(torch.norm, p=p)
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.linalg.matrix_norm with 'fro', 1, -1, inf or -inf over the last two dims (SVD-based "
    "orders 2 and 'nuc' are not exportable).",
)
def matrix_norm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    shape = d.shape(min_dims=2)
    ord_ = d.choice("ord", ("fro", 1, -1, math.inf, -math.inf))
    module = Fn(torch.linalg.matrix_norm, ord=ord_, keepdim=d.boolean("keepdim"))
    return Spec(module, (d.tensor("x", shape, dtype),))


# ---------------------------------------------------------------- scans


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.cumsum (CumSum); integer inputs of 8 and 32 bits promote to int64 in torch.",
)
def cumsum(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS))
    shape = d.shape(min_side=0)
    dim = _dim(d, shape)
    return Spec(Fn(torch.cumsum, dim=dim), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.cumprod; ONNX has no CumProd, so exporters must rewrite it. Values in [-2, 2].",
)
def cumprod(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    shape = d.shape(min_side=0, max_side=4)
    dim = _dim(d, shape)
    return Spec(Fn(torch.cumprod, dim=dim), (d.tensor("x", shape, dtype, low=-2, high=2),))


@case(
    "reduction",
    op_class=OpClass.TRANSCENDENTAL,
    notes="torch.logcumsumexp; no ONNX op, exporters rewrite it. Values up to +-60.",
)
def logcumsumexp(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, shape)
    return Spec(Fn(torch.logcumsumexp, dim=dim), (d.tensor("x", shape, dtype, low=-60, high=60),))


# ---------------------------------------------------------------- logical reductions


@case("reduction", op_class=OpClass.EXACT, notes="torch.all along a dim or over everything; non-bool inputs test != 0.")
def all_(d: Draw) -> Spec:
    dtype = d.dtype(("bool", "float32", "int32", "int64", "uint8"))
    shape = d.shape(min_side=0)
    if d.boolean("along_dim"):
        module = Fn(torch.all, dim=_dim(d, shape), keepdim=d.boolean("keepdim"))
    else:
        module = Fn(torch.all)
    return Spec(module, (d.tensor("x", shape, dtype, low=-1, high=1),))


@case("reduction", op_class=OpClass.EXACT, notes="torch.any along a dim or over everything; non-bool inputs test != 0.")
def any_(d: Draw) -> Spec:
    dtype = d.dtype(("bool", "float32", "int32", "int64", "uint8"))
    shape = d.shape(min_side=0)
    if d.boolean("along_dim"):
        module = Fn(torch.any, dim=_dim(d, shape), keepdim=d.boolean("keepdim"))
    else:
        module = Fn(torch.any)
    return Spec(module, (d.tensor("x", shape, dtype, low=-1, high=1),))


@case("reduction", op_class=OpClass.EXACT, notes="torch.count_nonzero over a set of dims; -0.0 is zero.")
def count_nonzero(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64", "bool"))
    shape = d.shape(min_dims=1, min_side=0)
    dims = _dims(d, shape)
    return Spec(Fn(torch.count_nonzero, dim=dims), (d.tensor("x", shape, dtype, low=-1, high=1),))
