"""Cases whose output shape depends on the input's values: NonZero, Compress, unique runs, bincount.

torch.export meets a data-dependent size here and the exporters must write
ONNX ops whose output shape is known only at run time (NonZero, Compress, a
Unique or a ScatterND into a computed size); a backend that plans memory
ahead must size them after the fact. Masks are drawn with every density
covered (`density`: none set, some, all set), so empty and full results are
both met.
"""

from __future__ import annotations

import numpy as np
import torch

from conformance.casekit import Fn
from conformance.dtypes import FLOATS, INTS
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec


def _mask(d: Draw, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean mask of `shape` with none, some or all elements set (covered)."""
    density = d.choice("density", ("none", "some", "all"))
    drawn = d.tensor("mask", shape, "bool", special=False)
    if density == "some":
        return drawn
    return np.full(shape, density == "all", dtype=bool)


@case(
    "dynamic",
    op_class=OpClass.EXACT,
    notes="torch.nonzero (NonZero, then a Transpose) of a numeric or boolean tensor, 0-d included, as one "
    "(n, rank) index tensor or (as_tuple) one index vector per dim; torch.argwhere is the same.",
)
def nonzero(d: Draw) -> Spec:
    dtype = d.dtype(("bool", "float32", "int64", "int32", "uint8"))
    shape = d.shape(min_side=0)
    mask = _mask(d, shape)
    if dtype == "bool":
        x = mask
    else:
        x = np.where(mask, d.tensor("x", shape, dtype, low=1, high=5, special=False), 0).astype(dtype)
        if dtype in FLOATS and d.special and x.size:  # NaN is non-zero; -0.0 is zero
            x.reshape(-1)[0] = np.nan
            x.reshape(-1)[-1] = -0.0
    form = d.choice("form", ("nonzero", "as_tuple", "argwhere"))
    if form == "argwhere":
        return Spec(Fn(torch.argwhere), (x,))
    return Spec(Fn(torch.nonzero, as_tuple=form == "as_tuple"), (x,))


@case(
    "dynamic",
    op_class=OpClass.EXACT,
    notes="torch.masked_select (a Compress, or NonZero and GatherND) with a mask of the input's shape or "
    "one that broadcasts against it, and x[mask] boolean indexing of the leading dims.",
)
def masked_select(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *INTS, "bool"))
    form = d.choice("form", ("masked_select", "broadcast_mask", "index"))
    shape = d.shape(min_dims=1, min_side=0)
    x = d.tensor("x", shape, dtype)
    if form == "broadcast_mask":
        return Spec(Fn(torch.masked_select), (x, _mask(d, shape[-1:])))
    if form == "index":
        lead = shape[: d.integer("mask_rank", 1, len(shape))]

        def index(t: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
            return t[m]

        return Spec(Fn(index), (x, _mask(d, lead)))
    return Spec(Fn(torch.masked_select), (x, _mask(d, shape)))


@case(
    "dynamic",
    op_class=OpClass.EXACT,
    notes="torch.unique_consecutive over the flattened input or along a dim, with return_inverse and "
    "return_counts drawn: runs of equal values, ties by construction (values from three).",
)
def unique_consecutive(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "int32"))
    shape = d.shape(min_dims=1, max_dims=3, min_side=0)
    x = d.tensor("x", shape, dtype, low=0, high=2, special=False)
    kwargs = {"return_inverse": d.boolean("return_inverse"), "return_counts": d.boolean("return_counts")}
    if d.boolean("dim_given"):
        kwargs["dim"] = d.integer("dim", 0, len(shape) - 1)
    return Spec(Fn(torch.unique_consecutive, **kwargs), (np.floor(x).astype(x.dtype),))


@case(
    "dynamic",
    op_class=OpClass.EXACT,
    notes="torch.bincount of non-negative int64 values, with float weights or none and minlength 0 or past "
    "the largest value: the output length is max(value)+1 or minlength.",
)
def bincount(d: Draw) -> Spec:
    length = d.integer("length", 0, 12)
    x = d.tensor("x", (length,), "int64", low=0, high=6, special=False)
    minlength = d.choice("minlength", (0, 9))
    if d.boolean("weights"):
        w = d.tensor("weights_values", (length,), d.dtype(("float32", "float64")))

        def weighted(t: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return torch.bincount(t, v, minlength=minlength)

        return Spec(Fn(weighted), (x, w))
    return Spec(Fn(torch.bincount, minlength=minlength), (x,))


_ = torch  # the module is named in every Fn above
