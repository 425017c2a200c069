"""Reduction cases: sums, products, extrema and their indices, order statistics, moments, norms, scans.

Shapes include 0-d scalars and size-1 dims; where reducing over an empty dim
is defined (sum, prod, mean, var, any, all, count_nonzero, logsumexp, norms of
non-negative order, scans) size-0 dims are drawn too. How the dims are named
is drawn as a covered parameter (`dim_form`): every dim (dim=None or left
out), one dim spelled as is or negatively (`dim.negative`), or a set of dims
with negative spellings mixed in. `dtype=` arguments are drawn where the
function has one, since exporters must insert the cast.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from hypothesis import strategies as st

from conformance.casekit import Fn
from conformance.dtypes import FLOATS, INTS
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec


def _dim(d: Draw, shape: tuple[int, ...], label: str = "dim") -> int:
    """One dim of `shape`, spelled negatively or not (covered); 0-d tensors accept 0 and -1."""
    rank = max(len(shape), 1)
    if d.boolean(f"{label}.negative"):
        return d.integer(label, -rank, -1)
    return d.integer(label, 0, rank - 1)


def _dims(d: Draw, shape: tuple[int, ...], label: str = "dims", max_size: int | None = None) -> tuple[int, ...]:
    """A non-empty set of distinct dims of `shape` (rank >= 1), each maybe spelled negatively."""
    rank = len(shape)
    size = rank if max_size is None else min(rank, max_size)
    axes = d.draw(label, st.lists(st.integers(0, rank - 1), min_size=1, max_size=size, unique=True))
    flips = d.draw(f"{label}.negative", st.lists(st.booleans(), min_size=len(axes), max_size=len(axes)))
    return tuple(a - rank if neg else a for a, neg in zip(axes, flips, strict=True))


def _reduce_dims(
    d: Draw,
    shape: tuple[int, ...],
    forms: tuple[str, ...] = ("all", "one", "set"),
    *,
    every: Any = None,
    max_set: int | None = None,
) -> Any:
    """The `dim=` of a reduction over `shape`: `every` (None or ()) for "all", one dim, or a set of dims.

    A set needs rank >= 1, so a 0-d shape is offered the other forms only.
    """
    form = d.choice("dim_form", [f for f in forms if f != "set" or shape])
    if form == "all":
        return every
    if form == "one":
        return _dim(d, shape)
    return _dims(d, shape, max_size=max_set)


def _dtype_arg(d: Draw, dtype: str, floating: tuple[Any, ...], integral: tuple[Any, ...]) -> dict[str, Any]:
    """A `dtype=` keyword (or none) for an input of `dtype`: `floating` options for floats, else `integral`."""
    name = d.choice("dtype_arg", floating if dtype in FLOATS else integral)
    return {} if name is None else {"dtype": getattr(torch, name)}


#: `dtype=` options of the accumulating reductions: none, a float (a cast before the sum) or int64.
_ACC_FLOAT = (None, "float32", "float64")
_ACC_INT = (None, "int64", "float32")


# ---------------------------------------------------------------- sums and products


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.sum over one dim or a set of dims (ReduceSum with axes), keepdim both ways, with dtype= "
    "none, float32, float64 or int64 (a Cast first); empty dims sum to 0. ONNX does not say whether a sum "
    "of negative zeros is -0.0 or +0.0.",
)
def sum_multi_dim(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS, "bool"))
    shape = d.shape(min_dims=1, min_side=0)
    dims = _reduce_dims(d, shape, ("one", "set"))
    kwargs = _dtype_arg(d, dtype, _ACC_FLOAT, _ACC_INT)
    return Spec(Fn(torch.sum, dim=dims, keepdim=d.boolean("keepdim"), **kwargs), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.sum of every element, 0-d inputs included, with dim left out, dim=None or dim=() (which "
    "torch also reads as every dim, unlike ONNX's empty axes without noop_with_empty_axes), keepdim both "
    "ways where a dim is spelled, and dtype= as for sum_multi_dim.",
)
def sum_all(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32", "int64", "bool"))
    shape = d.shape(min_side=0)
    spelling = d.choice("spelling", ("omitted", "None", "()"))
    kwargs = _dtype_arg(d, dtype, _ACC_FLOAT, _ACC_INT)
    if spelling != "omitted":
        kwargs.update(dim=None if spelling == "None" else (), keepdim=d.boolean("keepdim"))
    return Spec(Fn(torch.sum, **kwargs), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.mean over every dim (dim=None), one dim or a set of dims, keepdim both ways; dtype= float32 "
    "or float64 (required for int64 inputs). An empty mean is NaN in torch, and the graph must say so.",
)
def mean_multi_dim(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int64"))
    shape = d.shape(min_side=0)
    dims = _reduce_dims(d, shape)
    kwargs = _dtype_arg(d, dtype, _ACC_FLOAT, ("float32", "float64"))
    return Spec(Fn(torch.mean, dim=dims, keepdim=d.boolean("keepdim"), **kwargs), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.prod of everything or along one dim with keepdim (ReduceProd; torch.prod takes no set of "
    "dims), dtype= as for sum; the empty product is 1. Values stay in [-2, 2] so float16 products do not "
    "overflow in the plain mode. Integer products promote to int64 in torch.",
)
def prod(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS))
    shape = d.shape(min_side=0, max_side=4)
    kwargs = _dtype_arg(d, dtype, _ACC_FLOAT, _ACC_INT)
    if d.choice("dim_form", ("all", "one")) == "one":
        kwargs.update(dim=_dim(d, shape), keepdim=d.boolean("keepdim"))
    return Spec(Fn(torch.prod, **kwargs), (d.tensor("x", shape, dtype, low=-2, high=2),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.nansum over every dim, one dim or a set, keepdim both ways, dtype= none, float32 or float64: "
    "NaNs count as zero (exporters rewrite it as Where(IsNaN) + ReduceSum). The sign of a zero sum is left "
    "open by ONNX.",
)
def nansum(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    shape = d.shape(min_dims=1, min_side=0)
    dims = _reduce_dims(d, shape)
    kwargs = _dtype_arg(d, dtype, _ACC_FLOAT, _ACC_INT)
    return Spec(Fn(torch.nansum, dim=dims, keepdim=d.boolean("keepdim"), **kwargs), (d.tensor("x", shape, dtype),))


# ---------------------------------------------------------------- extrema


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.amax over every dim (dim=()), one dim or a set (ReduceMax), keepdim both ways; bool "
    "inputs too (ReduceMax takes bool only from opset 20). NaN propagates in torch; ONNX ReduceMax before "
    "opset 20 says nothing about NaN. Reduced dims are never empty (torch refuses).",
)
def amax(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS, "bool"))
    shape = d.shape()
    dims = _reduce_dims(d, shape, every=())
    return Spec(Fn(torch.amax, dim=dims, keepdim=d.boolean("keepdim")), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.amin over every dim (dim=()), one dim or a set (ReduceMin), keepdim both ways, bool too; "
    "NaN propagates in torch.",
)
def amin(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS, "bool"))
    shape = d.shape()
    dims = _reduce_dims(d, shape, every=())
    return Spec(Fn(torch.amin, dim=dims, keepdim=d.boolean("keepdim")), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.max with dim (positive or negative): values and indices, keepdim both ways. Values are "
    "drawn from a wide range so ties are rare; with ties torch returns the first index, as ONNX ArgMax "
    "(select_last_index=0) does.",
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
    notes="torch.min with dim (positive or negative): values and indices, keepdim both ways; ties are "
    "unlikely (wide value range).",
)
def min_dim(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    shape = d.shape()
    dim = _dim(d, shape)
    x = d.tensor("x", shape, dtype, low=-1000, high=1000)
    return Spec(Fn(torch.min, dim=dim, keepdim=d.boolean("keepdim")), (x,))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.max with no dim: a 0-d maximum of every element; bool too (ReduceMax takes bool from opset 20).",
)
def max_all(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS, "bool"))
    return Spec(Fn(torch.max), (d.tensor("x", d.shape(), dtype),))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.aminmax: min and max in one call, over everything or along a dim (either spelling) with keepdim.",
)
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
    notes="torch.argmax (ArgMax) along a dim, or flattened (dim=None) where keepdim=True keeps every dim "
    "as size 1; values drawn wide so ties are rare. Torch treats NaN as the maximum; ONNX ArgMax says "
    "nothing about NaN (spec gap).",
)
def argmax(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int8", "uint8", "int32", "int64"))
    shape = d.shape()
    dim = None if d.boolean("flatten") else _dim(d, shape)
    module = Fn(torch.argmax, dim=dim, keepdim=d.boolean("keepdim"))
    return Spec(module, (d.tensor("x", shape, dtype, low=-1000, high=1000),))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.argmin (ArgMin) along a dim or flattened, keepdim both ways; ties are rare, and NaN "
    "handling is a spec gap as for argmax.",
)
def argmin(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int8", "uint8", "int32", "int64"))
    shape = d.shape()
    dim = None if d.boolean("flatten") else _dim(d, shape)
    module = Fn(torch.argmin, dim=dim, keepdim=d.boolean("keepdim"))
    return Spec(module, (d.tensor("x", shape, dtype, low=-1000, high=1000),))


# ---------------------------------------------------------------- order statistics


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.median of every element (empty inputs give NaN) or along a dim (values and indices, "
    "keepdim both ways): the lower of the two middle values for even counts. ONNX has no median, so "
    "exporters sort (TopK) and gather. Values are wide so ties, whose index torch leaves open, are rare.",
)
def median(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32", "int64"))
    along = d.boolean("along_dim")
    shape = d.shape(min_side=1 if along else 0)
    module = Fn(torch.median, dim=_dim(d, shape), keepdim=d.boolean("keepdim")) if along else Fn(torch.median)
    return Spec(module, (d.tensor("x", shape, dtype, low=-1000, high=1000),))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.kthvalue: the k-th smallest along a dim (left out: the last), k the smallest, an inner "
    "rank or the largest, keepdim both ways; values and indices. ONNX has no kthvalue (TopK and a "
    "gather). Values are wide so ties are rare.",
)
def kthvalue(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    shape = d.shape()
    kwargs: dict[str, Any] = {}
    if d.boolean("dim_given"):
        kwargs["dim"] = _dim(d, shape)
    n = shape[kwargs.get("dim", -1)] if shape else 1
    rank = d.choice("k_rank", ("smallest", "inner", "largest") if n > 2 else ("smallest", "largest")[:n])
    k = {"smallest": 1, "largest": n}.get(rank) or d.integer("k", 2, n - 1)
    module = Fn(torch.kthvalue, k=k, keepdim=d.boolean("keepdim"), **kwargs)
    return Spec(module, (d.tensor("x", shape, dtype, low=-1000, high=1000),))


# ---------------------------------------------------------------- scans with indices


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.cummax along a dim (either spelling): running maximum and its index, empty dims "
    "included. ONNX has no such op; exporters rewrite it. Values are wide so ties (torch gives the last "
    "index) are rare.",
)
def cummax(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32", "int64"))
    shape = d.shape(min_side=0)
    dim = _dim(d, shape)
    return Spec(Fn(torch.cummax, dim=dim), (d.tensor("x", shape, dtype, low=-1000, high=1000),))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.cummin along a dim (either spelling): running minimum and its index, as cummax.",
)
def cummin(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32", "int64"))
    shape = d.shape(min_side=0)
    dim = _dim(d, shape)
    return Spec(Fn(torch.cummin, dim=dim), (d.tensor("x", shape, dtype, low=-1000, high=1000),))


# ---------------------------------------------------------------- moments


def _correction(d: Draw, options: tuple[Any, ...]) -> dict[str, Any]:
    """`correction=` one of `options`, or (None) the older `unbiased=` flag, which is correction 1 or 0."""
    correction = d.choice("correction", options)
    if correction is None:
        return {"unbiased": d.boolean("unbiased")}
    return {"correction": correction}


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.var with correction 0, 1, 2 or 0.5, or unbiased=True/False, over every dim, one dim or a "
    "set of dims, keepdim both ways; when the count (0 for empty dims) is not above the correction torch "
    "gives NaN or inf, which the exported graph must reproduce.",
)
def var(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_side=0)
    dims = _reduce_dims(d, shape)
    kwargs = _correction(d, (0, 1, 2, 0.5, None))
    module = Fn(torch.var, dim=dims, keepdim=d.boolean("keepdim"), **kwargs)
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.std with correction 0, 1, 2 or 0.5, or unbiased=True/False, over every dim, one dim or a "
    "set, keepdim both ways; sqrt of var, same edge at small and empty counts.",
)
def std(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_side=0)
    dims = _reduce_dims(d, shape)
    kwargs = _correction(d, (0, 1, 2, 0.5, None))
    module = Fn(torch.std, dim=dims, keepdim=d.boolean("keepdim"), **kwargs)
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.var_mean: variance (correction 0, 1, 2 or unbiased=) and mean in one call over every dim, "
    "one dim or a set, keepdim both ways; the sign of a zero mean is open in ONNX.",
)
def var_mean(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    shape = d.shape(min_dims=1)
    dims = _reduce_dims(d, shape)
    kwargs = _correction(d, (0, 1, 2, None))
    module = Fn(torch.var_mean, dim=dims, keepdim=d.boolean("keepdim"), **kwargs)
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.std_mean: standard deviation (correction 0, 1, 2 or unbiased=) and mean in one call over "
    "every dim, one dim or a set, keepdim both ways; the sign of a zero mean is open in ONNX.",
)
def std_mean(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    shape = d.shape(min_dims=1)
    dims = _reduce_dims(d, shape)
    kwargs = _correction(d, (0, 1, 2, None))
    module = Fn(torch.std_mean, dim=dims, keepdim=d.boolean("keepdim"), **kwargs)
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.TRANSCENDENTAL,
    notes="torch.logsumexp over one dim or a set of dims, keepdim both ways (ReduceLogSumExp or a "
    "max-shifted rewrite); values reach +-60 so an unshifted exp overflows float16. Empty dims give "
    "-inf. Integer inputs promote to float32 in torch.",
)
def logsumexp(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32", "int64"))
    shape = d.shape(min_dims=1, min_side=0)
    dims = _reduce_dims(d, shape, ("one", "set"))
    x = d.tensor("x", shape, dtype, low=-60, high=60)
    return Spec(Fn(torch.logsumexp, dim=dims, keepdim=d.boolean("keepdim")), (x,))


# ---------------------------------------------------------------- norms

#: Orders with an identity (a norm over an empty dim is 0); inf, -inf and negative orders have none.
_EMPTY_OK = (0, 1, 2, 3, 0.5, "fro")


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.linalg.vector_norm with ord 1, 2, 3, 0.5, inf, -inf or 0 (ReduceL1, ReduceL2, "
    "ReduceMax(Abs) or a pow/sum rewrite) over every dim, one dim or a set, keepdim both ways, and "
    "dtype= none or float64 (a widening cast first). Empty dims only for orders with an identity.",
)
def vector_norm(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    ord_ = d.choice("ord", (1, 2, 3, 0.5, math.inf, -math.inf, 0))
    shape = d.shape(min_side=0 if ord_ in _EMPTY_OK else 1)
    dims = _reduce_dims(d, shape)
    kwargs = _dtype_arg(d, dtype, (None, "float64"), ())
    module = Fn(torch.linalg.vector_norm, ord=ord_, dim=dims, keepdim=d.boolean("keepdim"), **kwargs)
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.norm (the older entry point) with p=1, 2, 3, 0.5, 0, inf, -inf or 'fro' over everything "
    "(dim=None), one dim or a set of dims ('fro' takes at most two), keepdim both ways. 'nuc' is not drawn: "
    "it needs an SVD, which ONNX lacks.",
)
def norm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    p = d.choice("p", (1, 2, 3, 0.5, 0, math.inf, -math.inf, "fro"))
    shape = d.shape(min_side=0 if p in _EMPTY_OK else 1)
    dims = _reduce_dims(d, shape, max_set=2 if p == "fro" else None)
    module = Fn(torch.norm, p=p, dim=dims, keepdim=d.boolean("keepdim"))
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.linalg.matrix_norm with 'fro', 1, -1, inf or -inf over two dims: the last two or a drawn "
    "pair, either spelling, rows before columns or after (which swaps the 1 and inf norms); keepdim both "
    "ways, dtype= none or float64. Empty matrices only for 'fro', 1 and inf. SVD-based orders 2, -2 and "
    "'nuc' are not drawn: ONNX has no SVD.",
)
def matrix_norm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    ord_ = d.choice("ord", ("fro", 1, -1, math.inf, -math.inf))
    shape = d.shape(min_dims=2, min_side=0 if ord_ in ("fro", 1, math.inf) else 1)
    kwargs = _dtype_arg(d, dtype, (None, "float64"), ())
    if d.boolean("dim_given"):
        rank = len(shape)
        pair = d.draw("dim", st.lists(st.integers(0, rank - 1), min_size=2, max_size=2, unique=True))
        negative = d.boolean("dim.negative")
        kwargs["dim"] = tuple(a - rank if negative else a for a in pair)
    module = Fn(torch.linalg.matrix_norm, ord=ord_, keepdim=d.boolean("keepdim"), **kwargs)
    return Spec(module, (d.tensor("x", shape, dtype),))


# ---------------------------------------------------------------- scans


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.cumsum (CumSum) along a dim (either spelling), empty dims included, with dtype= none, "
    "float32, float64 or int64; bool and integer inputs of 8 and 32 bits promote to int64 in torch.",
)
def cumsum(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS, "bool"))
    shape = d.shape(min_side=0)
    dim = _dim(d, shape)
    kwargs = _dtype_arg(d, dtype, _ACC_FLOAT, _ACC_INT)
    return Spec(Fn(torch.cumsum, dim=dim, **kwargs), (d.tensor("x", shape, dtype),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    unspecified=("signed-zero",),
    notes="torch.cumprod along a dim (either spelling), with dtype= as for cumsum; ONNX has no CumProd, "
    "so exporters must rewrite it. Values in [-2, 2].",
)
def cumprod(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    shape = d.shape(min_side=0, max_side=4)
    dim = _dim(d, shape)
    kwargs = _dtype_arg(d, dtype, _ACC_FLOAT, _ACC_INT)
    return Spec(Fn(torch.cumprod, dim=dim, **kwargs), (d.tensor("x", shape, dtype, low=-2, high=2),))


@case(
    "reduction",
    op_class=OpClass.TRANSCENDENTAL,
    notes="torch.logcumsumexp along a dim (either spelling), empty dims included; no ONNX op, exporters "
    "rewrite it. Values up to +-60.",
)
def logcumsumexp(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_dims=1, min_side=0)
    dim = _dim(d, shape)
    return Spec(Fn(torch.logcumsumexp, dim=dim), (d.tensor("x", shape, dtype, low=-60, high=60),))


# ---------------------------------------------------------------- logical reductions


def _logical(d: Draw, fn: Any) -> Spec:
    dtype = d.dtype(("bool", "float32", "float16", "int8", "int32", "int64", "uint8"))
    shape = d.shape(min_side=0)
    if d.boolean("along_dim"):
        dims = _reduce_dims(d, shape, ("one", "set"))
        module = Fn(fn, dim=dims, keepdim=d.boolean("keepdim"))
    else:
        module = Fn(fn)
    return Spec(module, (d.tensor("x", shape, dtype, low=-1, high=1),))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.all over everything, one dim or a set of dims, keepdim both ways; non-bool inputs test != 0.",
)
def all_(d: Draw) -> Spec:
    return _logical(d, torch.all)


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.any over everything, one dim or a set of dims, keepdim both ways; non-bool inputs test != 0.",
)
def any_(d: Draw) -> Spec:
    return _logical(d, torch.any)


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.count_nonzero over every dim (dim=None), one dim or a set of dims; -0.0 is zero.",
)
def count_nonzero(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64", "bool"))
    shape = d.shape(min_side=0)
    dims = _reduce_dims(d, shape)
    return Spec(Fn(torch.count_nonzero, dim=dims), (d.tensor("x", shape, dtype, low=-1, high=1),))
