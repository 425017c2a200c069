"""Statistics and set-membership cases that ONNX has no single op for: NaN-aware means and medians,
quantiles, differences, integrals, histograms, searchsorted and isin, and the determinant.

Each draws the arguments of its torch signature that change the graph as
covered parameters: the dim (either spelling) or every element, keepdim,
quantile's five interpolation modes and scalar or vector q, diff's order and
prepend/append, searchsorted's side and sorter, isin's invert. Reductions
with NaN-skipping semantics get rows all NaN in special mode (structured
draws), where the answer is NaN and a composition may divide by zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from conformance.casekit import Fn
from conformance.dtypes import FLOATS_NO_BF16
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

from ._dims import one_dim as _dim


def _along(d: Draw, shape: tuple[int, ...]) -> dict[str, Any]:
    """dim= and keepdim= where the draw reduces along a dim, {} where it reduces every element."""
    if not shape or not d.boolean("along_dim"):
        return {}
    return {"dim": _dim(d, len(shape)), "keepdim": d.boolean("keepdim")}


def _nan_holes(d: Draw, x: np.ndarray) -> np.ndarray:
    """x with every third element NaN where `nan_holes` is drawn: plain draws hold NaN too, which a NaN-skipping
    reduction is about."""
    if x.size and d.boolean("nan_holes"):
        x.reshape(-1)[:: max(1, x.size // 3)] = np.nan
    return x


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.nanmean over every element or along a dim (keepdim both ways): the mean of the non-NaN "
    "values, NaN where a row has none.",
)
def nanmean(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16)
    shape = d.shape(min_side=1)
    x = _nan_holes(d, d.tensor("x", shape, dtype))
    return Spec(Fn(torch.nanmean, **_along(d, shape)), (x,))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.nanmedian over every element (the value) or along a dim (values and indices, keepdim both "
    "ways): the lower middle of the non-NaN values. Values are wide so ties are rare.",
)
def nanmedian(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    shape = d.shape(min_side=1)
    x = _nan_holes(d, d.tensor("x", shape, dtype, low=-1000, high=1000))
    return Spec(Fn(torch.nanmedian, **_along(d, shape)), (x,))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.quantile and nanquantile with a scalar q or a vector of them (0 and 1 among them), over "
    "every element or along a dim, keepdim both ways, and interpolation linear, lower, higher, midpoint "
    "or nearest (round half to even between the two neighbours).",
)
def quantile(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    nan_aware = d.boolean("nanquantile")
    shape = d.shape(min_side=1)
    x = d.tensor("x", shape, dtype, low=-100, high=100)
    vector = d.choice("q_form", ("scalar", "vector")) == "vector"
    kwargs = _along(d, shape)
    interpolation = d.choice("interpolation", ("linear", "lower", "higher", "midpoint", "nearest"))
    fn = torch.nanquantile if nan_aware else torch.quantile

    def quantiles(t: torch.Tensor) -> torch.Tensor:
        # q in the input's dtype, which torch requires (the float64 oracle runs this in float64 too).
        q = torch.tensor([0.0, 0.25, 0.5, 0.9, 1.0], dtype=t.dtype) if vector else 0.3
        return fn(t, q, interpolation=interpolation, **kwargs)

    return Spec(Fn(quantiles), (x,))


@case(
    "reduction",
    op_class=OpClass.ELEMENTWISE,
    notes="torch.diff of order n = 1 or 2 along a dim (either spelling), with prepend and append tensors "
    "given or not; bool inputs give a logical xor, unsigned ones wrap.",
)
def diff(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int32", "int64", "uint8", "bool"))
    shape = d.shape(min_dims=1, min_side=1)
    dim = _dim(d, len(shape))
    n = d.choice("n", (1, 2))
    inputs = [d.tensor("x", shape, dtype)]
    edges = [e for e in ("prepend", "append") if d.boolean(e)]
    edge_shape = tuple(1 if i == dim % len(shape) else s for i, s in enumerate(shape))
    inputs += [d.tensor(f"{e}_values", edge_shape, dtype) for e in edges]

    def differences(t: torch.Tensor, *given: torch.Tensor) -> torch.Tensor:
        return torch.diff(t, n=n, dim=dim, **dict(zip(edges, given, strict=True)))

    return Spec(Fn(differences), tuple(inputs))


@case(
    "reduction",
    op_class=OpClass.REDUCTION,
    notes="torch.trapezoid and cumulative_trapezoid along a dim with unit spacing, a scalar dx, or sample "
    "points x (unevenly spaced, given as a second input).",
)
def trapezoid(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    cumulative = d.boolean("cumulative")
    shape = d.shape(min_dims=1, min_side=1)
    dim = _dim(d, len(shape))
    spacing = d.choice("spacing", ("unit", "dx", "x"))
    y = d.tensor("y", shape, dtype)
    fn = torch.cumulative_trapezoid if cumulative else torch.trapezoid
    if spacing == "x":
        steps = d.tensor("x", (shape[dim],), dtype, low=0.1, high=2.0, special=False)
        points = np.cumsum(steps).astype(steps.dtype)

        def integral(t: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
            return fn(t, at, dim=dim)

        return Spec(Fn(integral), (y, points))
    kwargs: dict[str, Any] = {"dim": dim}
    if spacing == "dx":
        kwargs["dx"] = 0.5
    return Spec(Fn(fn, **kwargs), (y,))


@case(
    "reduction",
    op_class=OpClass.EXACT,
    notes="torch.histc with 1, 4 or 7 bins over given [min, max] bounds or (0, 0: the data's own range); "
    "values on bin edges and outside the bounds (ignored) are drawn.",
)
def histc(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    bins = d.choice("bins", (1, 4, 7))
    bounds = d.choice("bounds", ((0.0, 0.0), (-2.0, 2.0)))
    # torch refuses a NaN or infinite data range: special values only where the bounds are given.
    data_range = bounds == (0.0, 0.0)
    shape = d.shape(min_dims=1, min_side=1)
    x = np.round(d.tensor("x", shape, dtype, low=-4, high=4, special=False if data_range else None), 0)
    x = x.astype(dtype)
    return Spec(Fn(torch.histc, bins=bins, min=bounds[0], max=bounds[1]), (x,))


@case(
    "sorting",
    op_class=OpClass.EXACT,
    notes="torch.searchsorted into a sorted 1-D sequence or into sorted rows (one per row of the values), "
    "side left or right (or right=True), out_int32, and a sorter permutation given instead of sorted "
    "boundaries; values equal to a boundary are drawn.",
)
def searchsorted(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int32", "int64"))
    batched = d.boolean("batched_sequence")
    rows = d.integer("rows", 1, 3)
    length = d.integer("length", 1, 6)
    seq_shape = (rows, length) if batched else (length,)
    raw = d.tensor("sorted_sequence", seq_shape, dtype, low=-5, high=5, special=False)
    values = d.tensor("values", (rows, d.integer("values_count", 1, 4)), dtype, low=-6, high=6)
    if values.size and raw.size:
        values.reshape(-1)[0] = raw.reshape(-1)[0]  # a tie with a boundary
    side = d.choice("side", ("left", "right", "right_flag"))
    kwargs: dict[str, Any] = {"out_int32": d.boolean("out_int32")}
    kwargs.update({"right": True} if side == "right_flag" else {"side": side})
    if d.boolean("sorter"):
        order = np.argsort(raw, axis=-1, kind="stable")

        def with_sorter(s: torch.Tensor, v: torch.Tensor, o: torch.Tensor) -> torch.Tensor:
            return torch.searchsorted(s, v, sorter=o, **kwargs)

        return Spec(Fn(with_sorter), (raw, values, order.astype(np.int64)))
    return Spec(Fn(torch.searchsorted, **kwargs), (np.sort(raw, axis=-1), values))


@case(
    "sorting",
    op_class=OpClass.EXACT,
    notes="torch.isin of elements in a set of test elements (a tensor, 0-d included), invert both ways; "
    "values drawn from a small range so both answers occur; NaN is in no set.",
)
def isin(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "int32", "float64"))
    x = d.tensor("elements", d.shape(min_side=0), dtype, low=-4, high=4)
    test = d.tensor("test_elements", d.shape("test_shape", max_dims=2, min_side=0), dtype, low=-4, high=4)
    if dtype.startswith("float"):
        x, test = np.round(x).astype(dtype), np.round(test).astype(dtype)
    return Spec(Fn(torch.isin, invert=d.boolean("invert")), (x, test))


@case(
    "linalg",
    op_class=OpClass.MATMUL,
    min_opset=11,
    notes="torch.linalg.det (Det) of square matrices 1x1 to 5x5, batched or not, singular ones among them "
    "(a repeated row: det 0, whose sign ONNX does not fix) and torch.linalg.slogdet's sign and log|det|.",
)
def det(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    n = d.integer("n", 1, 5)
    batch = d.choice("batch", ((), (2,), (2, 3)))
    a = d.tensor("A", (*batch, n, n), dtype, low=-2, high=2)
    if n > 1 and d.boolean("singular"):
        a[..., 1, :] = a[..., 0, :]
    fn = d.choice("function", ("det", "slogdet"))
    return Spec(Fn(getattr(torch.linalg, fn)), (a,))
