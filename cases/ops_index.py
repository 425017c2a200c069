"""Indexing and construction cases the shape module does not hold: index_add/index_copy/index_fill,
masked_scatter, take and put, Tensor.unfold (sliding windows), affine_grid, triangular indices,
block_diag, cartesian_prod, vander, and the matrix statistics cov, corrcoef, logdet and renorm.

Exporters write these as ScatterND (with `reduction`, opset 16 on) or
ScatterElements, Gather on a flattened view, Slice/Concat chains, Trilu,
AffineGrid (opset 20 on) or a composition. Repeated indices are drawn where
torch defines the result (index_add and put with accumulate sum duplicates;
index_copy and put without accumulate keep one, which ONNX leaves open, so
their indices are drawn distinct).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from conformance.casekit import ZERO_SIGN, Fn
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

from ._dims import one_dim as _dim

#: Dtypes of the scatter-like cases: floats, and integers where torch's CPU kernels take them.
SCATTER = ("float32", "float16", "float64", "int32", "int64")


def _distinct(d: Draw, label: str, count: int, size: int) -> np.ndarray:
    """`count` distinct indices below `size` (count <= size), in drawn order."""
    order = np.argsort(d.tensor(label, (size,), "float32", low=0, high=1, special=False), kind="stable")
    return order[:count].astype(np.int64)


@case(
    "indexing",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    notes="Tensor.index_add along a dim with repeated indices (ScatterND reduction='add' or a composition) "
    "and alpha 1, 2 or -0.5 (integers: 1, 2); the order duplicates are summed in is open.",
)
def index_add(d: Draw) -> Spec:
    dtype = d.dtype(SCATTER)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    count = d.integer("index_len", 1, 6)
    index = d.tensor("index", (count,), "int64", low=0, high=shape[dim] - 1, special=False)
    source_shape = tuple(count if i == dim % len(shape) else s for i, s in enumerate(shape))
    alpha = d.choice("alpha", (1, 2) if dtype.startswith("int") else (1, 2, -0.5))

    def add(x: torch.Tensor, i: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return x.index_add(dim, i, s, alpha=alpha)

    return Spec(Fn(add), (d.tensor("x", shape, dtype), index, d.tensor("source", source_shape, dtype)))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="Tensor.index_copy (distinct indices: ScatterND) and Tensor.index_fill with a scalar value "
    "(0-d and 1-d indices, repeated ones harmless), along a dim either spelling.",
)
def index_copy_fill(d: Draw) -> Spec:
    dtype = d.dtype((*SCATTER, "bool", "uint8"))
    fill = d.choice("function", ("index_copy", "index_fill"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    size = shape[dim]
    if fill == "index_fill":
        value: Any = True if dtype == "bool" else d.choice("value", (0, -1.5) if dtype.startswith("float") else (0, 7))
        scalar = d.boolean("scalar_index")
        index = d.tensor("index", () if scalar else (d.integer("index_len", 0, 6),), "int64", high=size - 1, low=0)

        def filled(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
            return x.index_fill(dim, i, value)

        return Spec(Fn(filled), (d.tensor("x", shape, dtype), index))
    index = _distinct(d, "index_order", d.integer("index_len", 1, size), size)
    source_shape = tuple(len(index) if i == dim % len(shape) else s for i, s in enumerate(shape))

    def copied(x: torch.Tensor, i: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return x.index_copy(dim, i, s)

    return Spec(Fn(copied), (d.tensor("x", shape, dtype), index, d.tensor("source", source_shape, dtype)))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="Tensor.masked_scatter: the set positions of a mask (same shape, or broadcast from the last dim; "
    "none, some or all set) take the source's elements in row-major order.",
)
def masked_scatter(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64", "int32", "bool"))
    shape = d.shape(min_dims=1)
    broadcast = d.boolean("broadcast_mask")
    mask_shape = shape[-1:] if broadcast else shape
    density = d.choice("density", ("none", "some", "all"))
    mask = d.tensor("mask", mask_shape, "bool", special=False) if density == "some" else None
    if mask is None:
        mask = np.full(mask_shape, density == "all", dtype=bool)
    source = d.tensor("source", (int(np.prod(shape)) + d.integer("source.extra", 0, 3),), dtype)

    def scatter(x: torch.Tensor, m: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return x.masked_scatter(m, s)

    return Spec(Fn(scatter), (d.tensor("x", shape, dtype), mask, source))


@case(
    "indexing",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    notes="torch.take (Gather on the flattened input, negative indices too) and Tensor.put with accumulate "
    "(repeated indices summed: ScatterND reduction='add') or without (distinct indices).",
)
def take_put(d: Draw) -> Spec:
    dtype = d.dtype(SCATTER)
    fn = d.choice("function", ("take", "put", "put_accumulate"))
    shape = d.shape(min_dims=0)
    size = int(np.prod(shape))
    count = d.integer("index_len", 0 if fn == "take" else 1, min(6, size))
    if fn == "put":
        index = _distinct(d, "index_order", count, size)
    else:
        index = d.tensor("index", (count,), "int64", low=-size, high=size - 1, special=False)
    x = d.tensor("x", shape, dtype)
    if fn == "take":
        return Spec(Fn(torch.take), (x, index))
    accumulate = fn == "put_accumulate"

    def put(t: torch.Tensor, i: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return t.put(i, s, accumulate=accumulate)

    return Spec(Fn(put), (x, index, d.tensor("source", (count,), dtype)))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="Tensor.unfold(dim, size, step): sliding windows along a dim as a new last axis (size 1 to the "
    "whole axis, step smaller, equal or larger than size, so windows overlap, tile or skip).",
)
def tensor_unfold(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "bool", "float16"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    size = d.integer("size", 1, shape[dim])
    step = d.integer("step", 1, 4)

    def windows(x: torch.Tensor) -> torch.Tensor:
        return x.unfold(dim, size, step)

    return Spec(Fn(windows), (d.tensor("x", shape, dtype),))


@case(
    "resampling",
    op_class=OpClass.ELEMENTWISE,
    min_opset=20,
    notes="F.affine_grid (AffineGrid, opset 20) of 2-D (N, 2, 3) or 3-D (N, 3, 4) affine matrices to an "
    "output size, align_corners both ways; and grid_sample of an input through that grid.",
)
def affine_grid(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    spatial = d.choice("rank", (2, 3))
    batch = d.integer("batch", 1, 2)
    size = tuple(d.integer(f"size{i}", 1, 5) for i in range(spatial))
    theta = d.tensor("theta", (batch, spatial, spatial + 1), dtype, low=-1.5, high=1.5)
    align = d.boolean("align_corners")
    out_size = (batch, d.integer("channels", 1, 2), *size)

    def grid(t: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.affine_grid(t, list(out_size), align_corners=align)

    return Spec(Fn(grid), (theta,))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.block_diag of two or three matrices (0-d, 1-d and empty ones included) and "
    "torch.cartesian_prod of one to three vectors: Concat/Pad and Expand/Reshape chains.",
)
def block_diag_cartesian(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "bool"))
    fn = d.choice("function", ("block_diag", "cartesian_prod"))
    count = d.integer("count", 1, 3)
    if fn == "cartesian_prod":
        parts = tuple(d.tensor(f"v{i}", (d.integer(f"len{i}", 1, 4),), dtype) for i in range(count))
        return Spec(Fn(torch.cartesian_prod), parts)
    parts = tuple(
        d.tensor(f"m{i}", d.shape(f"shape{i}", max_dims=2, min_side=0, max_side=3), dtype) for i in range(count)
    )
    return Spec(Fn(torch.block_diag), parts)


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.tril_indices and triu_indices of a drawn (row, col) with an offset (the graph is a constant "
    "an exporter folds or builds with Range and Trilu), added to an input so the graph has one; and "
    "torch.vander with N columns, increasing or not.",
)
def tri_indices_vander(d: Draw) -> Spec:
    fn = d.choice("function", ("tril_indices", "triu_indices", "vander"))
    if fn == "vander":
        dtype = d.dtype(("float32", "float64", "int64"))
        x = d.tensor("x", (d.integer("length", 0, 5),), dtype, low=-3, high=3)
        columns = d.choice("N", (None, 1, 4))
        increasing = d.boolean("increasing")

        def vander(t: torch.Tensor) -> torch.Tensor:
            return torch.vander(t, N=columns, increasing=increasing)

        return Spec(Fn(vander), (x,))
    rows, cols, offset = d.integer("row", 0, 5), d.integer("col", 0, 5), d.integer("offset", -3, 3)
    make = getattr(torch, fn)

    def indices(t: torch.Tensor) -> torch.Tensor:
        return make(rows, cols, offset) + t

    return Spec(Fn(indices), (d.tensor("x", (1, 1), "int64", low=0, high=3, special=False),))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.cov (correction 0, 1 or 2, frequency and analytic weights or none) and torch.corrcoef of "
    "variables in rows; one observation, or correction past the count, divides by zero or less.",
)
def cov_corrcoef(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    fn = d.choice("function", ("cov", "corrcoef"))
    shape = (d.integer("variables", 1, 4), d.integer("observations", 1, 6))
    x = d.tensor("x", shape, dtype)
    if fn == "corrcoef":
        return Spec(Fn(torch.corrcoef), (x,))
    correction = d.choice("correction", (0, 1, 2))
    weights = d.choice("weights", ("none", "fweights", "aweights"))
    if weights == "none":
        return Spec(Fn(torch.cov, correction=correction), (x,))
    if weights == "fweights":
        w = d.tensor("fweights_values", (shape[1],), "int64", low=0, high=3, special=False)
    else:
        w = d.tensor("aweights_values", (shape[1],), dtype, low=0.1, high=2.0, special=False)

    def weighted(t: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.cov(t, correction=correction, **{weights: v})

    return Spec(Fn(weighted), (x, w))


@case(
    "linalg",
    op_class=OpClass.MATMUL,
    notes="torch.logdet (NaN for a negative determinant, -inf for a singular matrix) and Tensor.renorm "
    "(p 1, 2 or inf, maxnorm 0.5 or 5: sub-tensors along a dim rescaled to at most maxnorm).",
)
def logdet_renorm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    fn = d.choice("function", ("logdet", "renorm"))
    if fn == "logdet":
        n = d.integer("n", 1, 4)
        a = d.tensor("A", (*d.choice("batch", ((), (2,))), n, n), dtype, low=-2, high=2)
        return Spec(Fn(torch.logdet), (a,))
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    p = d.choice("p", (1.0, 2.0, float("inf")))
    maxnorm = d.choice("maxnorm", (0.5, 5.0))

    def renorm(t: torch.Tensor) -> torch.Tensor:
        return t.renorm(p, dim, maxnorm)

    return Spec(Fn(renorm), (d.tensor("x", shape, dtype),))


@case(
    "sorting",
    op_class=OpClass.EXACT,
    notes="torch.mode along a dim (values and indices, keepdim both ways): the most frequent value, the "
    "smallest of a tie; values from a small range so ties are common (which index torch gives is open, so "
    "values only are returned).",
)
def mode(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "int32"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    keepdim = d.boolean("keepdim")
    x = np.round(d.tensor("x", shape, dtype, low=0, high=3, special=False)).astype(dtype)

    def values(t: torch.Tensor) -> torch.Tensor:
        return torch.mode(t, dim, keepdim).values

    return Spec(Fn(values), (x,))


@case(
    "indexing",
    op_class=OpClass.REDUCTION,
    notes="Tensor.index_reduce along a dim with repeated indices: prod, mean, amax or amin of the rows sent to "
    "each index, with or without the row already there (include_self); rows no index reaches keep their "
    "value. Lowered to ScatterElements/ScatterND with `reduction` (mul, max, min) or a composition; the order "
    "duplicates are combined in is open, and amax/amin propagate NaN in torch.",
)
def index_reduce(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    reduce = d.choice("reduce", ("prod", "mean", "amax", "amin"))
    include_self = d.boolean("include_self")
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    count = d.integer("index_len", 1, 6)
    index = d.tensor("index", (count,), "int64", low=0, high=shape[dim] - 1, special=False)
    source_shape = tuple(count if i == dim % len(shape) else s for i, s in enumerate(shape))
    # prod of up to 7 factors: keep them near 1 so floats stay finite and integers do not wrap.
    low, high = (-2, 2) if reduce == "prod" else (-3, 3)

    def reduce_rows(x: torch.Tensor, i: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return x.index_reduce(dim, i, s, reduce, include_self=include_self)

    x = d.tensor("x", shape, dtype, low=low, high=high)
    return Spec(Fn(reduce_rows), (x, index, d.tensor("source", source_shape, dtype, low=low, high=high)))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="torch.select_scatter, slice_scatter (start, end and step, None or negative) and diagonal_scatter "
    "(offset, two dims in either order): the input with one index, slice or diagonal replaced by `src` "
    "(ScatterND, ScatterElements, or Slice and Concat).",
)
def view_scatter(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64", "bool"))
    function = d.choice("function", ("select_scatter", "slice_scatter", "diagonal_scatter"))
    shape = d.shape(min_dims=2 if function == "diagonal_scatter" else 1)
    rank = len(shape)
    x = d.tensor("x", shape, dtype)
    if function == "select_scatter":
        dim = _dim(d, rank)
        index = d.integer("index", -shape[dim], shape[dim] - 1)
        src = d.tensor("src", tuple(s for i, s in enumerate(shape) if i != dim % rank), dtype)
        return Spec(Fn(torch.select_scatter, dim=dim, index=index), (x, src))
    if function == "slice_scatter":
        dim = _dim(d, rank)
        size = shape[dim]
        start = d.choice("start", (None, 0, 1, -1))
        end = {"none": None, "size": size, "size-1": size - 1, "-1": -1}[
            d.choice("end", ("none", "size", "size-1", "-1"))
        ]
        step = d.integer("step", 1, 3)
        length = len(range(size)[slice(start, end, step)])
        src_shape = tuple(length if i == dim % rank else s for i, s in enumerate(shape))
        module = Fn(torch.slice_scatter, dim=dim, start=start, end=end, step=step)
        return Spec(module, (x, d.tensor("src", src_shape, dtype)))
    dim1 = d.integer("dim1", 0, rank - 1)
    dim2 = d.choice("dim2", [i for i in range(rank) if i != dim1], cover=False)
    offset = d.integer("offset", -2, 2)
    diagonal = torch.diagonal(torch.empty(shape), offset, dim1, dim2).shape
    if 0 in diagonal:
        offset = d.params["offset"] = 0  # past the matrix the diagonal is empty: the main one, recorded so
        diagonal = torch.diagonal(torch.empty(shape), 0, dim1, dim2).shape
    module = Fn(torch.diagonal_scatter, offset=offset, dim1=dim1, dim2=dim2)
    return Spec(module, (x, d.tensor("src", tuple(diagonal), dtype)))
