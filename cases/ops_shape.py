"""Shape, indexing, sorting, resampling, attention and embedding cases.

Data-movement ops are exact: any dtype torch can move, ONNX must move
bit-for-bit. Index inputs are drawn in range (and unique where ONNX leaves
duplicate writes undefined) from a drawn seed, so the special-values mode
never touches them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from conformance.casekit import ZERO_SIGN, ZERO_SIGN_NOTE, Fn, seeded
from conformance.dtypes import ALL, FLOATS, NUMERIC
from conformance.generate import Draw, case, numpy_dtype
from conformance.model import OpClass, Spec

#: Sums of products can end in a zero whose sign ONNX leaves open (ScatterElements add, MatMul, ReduceSum).


def _dim(d: Draw, rank: int, label: str = "dim") -> int:
    return d.integer(label, -rank, rank - 1)


def _permutation_index(d: Draw, label: str, shape: tuple[int, ...], dim: int, n: int) -> np.ndarray:
    """int64 indices in [0, n) of `shape`, distinct along `dim` (needs shape[dim] <= n)."""
    rng = np.random.Generator(np.random.PCG64(d.weights_seed(f"{label}.seed")))
    d.params[label] = f"int64{list(shape)} unique along {dim}"
    moved = [s for i, s in enumerate(shape) if i != dim % len(shape)]
    rows = int(np.prod(moved, dtype=np.int64))
    k = shape[dim]
    out = np.stack([rng.permutation(n)[:k] for _ in range(rows)]) if rows else np.zeros((0, k), np.int64)
    out = out.reshape((*moved, k)).astype(np.int64)
    return np.ascontiguousarray(np.moveaxis(out, -1, dim % len(shape)))


# ---------------------------------------------------------------- views and reshapes


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="Tensor.permute by a drawn permutation of dims, spelled positive or negative.",
)
def permute(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1, min_side=0)
    perm = tuple(d.draw("perm", st.permutations(range(len(shape)))))
    if d.boolean("negative_dims"):
        perm = tuple(p - len(shape) for p in perm)
    return Spec(Fn(torch.permute, dims=perm), (d.tensor("x", shape, dtype),))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.movedim of one dim (either sign), or of a tuple of dims, to other positions.",
)
def movedim(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    rank = len(shape)
    src: int | tuple[int, ...]
    dst: int | tuple[int, ...]
    if rank >= 2 and d.boolean("several"):
        n = d.integer("n_moved", 2, rank)
        # Positive sources and negative destinations here; the single-dim form draws both signs for both.
        src = tuple(d.draw("source", st.permutations(range(rank)))[:n])
        dst = tuple(d.draw("destination", st.permutations(range(-rank, 0)))[:n])
    else:
        src, dst = _dim(d, rank, "source"), _dim(d, rank, "destination")
    return Spec(Fn(torch.movedim, source=src, destination=dst), (d.tensor("x", shape, dtype),))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.squeeze of all size-1 dims, of one dim (size 1 or not) or of a tuple of dims (torch >= 2.0).",
)
def squeeze(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(max_side=2)
    if shape and d.boolean("one_dim"):
        dim = _dim(d, len(shape))
        if d.boolean("as_tuple"):
            others = [i for i in range(len(shape)) if i != dim % len(shape)]
            extra = d.draw("more_dims", st.lists(st.sampled_from(others), unique=True)) if others else []
            module = Fn(torch.squeeze, dim=(dim, *extra))
        else:
            module = Fn(torch.squeeze, dim=dim)
    else:
        module = Fn(torch.squeeze)
    return Spec(module, (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.unsqueeze at any position, 0-d inputs included.")
def unsqueeze(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape()
    dim = d.integer("dim", -len(shape) - 1, len(shape))
    return Spec(Fn(torch.unsqueeze, dim=dim), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="Tensor.expand of size-1 dims, new leading dims and -1 (Expand).")
def expand(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(max_side=3)
    lead = d.shape("new_leading", min_dims=0 if shape else 1, max_dims=2, max_side=3)
    target = [*lead]
    for i, s in enumerate(shape):
        target.append(d.integer(f"to{i}", 0, 4) if s == 1 else (-1 if d.boolean(f"keep{i}") else s))

    def expand(x: torch.Tensor) -> torch.Tensor:
        return x.expand(*target)

    return Spec(Fn(expand), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.broadcast_to one of two mutually broadcastable shapes.")
def broadcast_to(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    sa, sb = d.broadcast_shapes()
    target = (d.integer("new_leading", 1, 3), *np.broadcast_shapes(sa, sb))
    return Spec(Fn(torch.broadcast_to, size=target), (d.tensor("x", sa, dtype),))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.flatten between a drawn start and end dim, spelled positive or negative.",
)
def flatten(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_side=0)
    rank = max(len(shape), 1)
    start = d.integer("start_dim", 0, rank - 1)
    end = d.integer("end_dim", start, rank - 1)
    if d.boolean("negative_start"):
        start -= rank
    if d.boolean("negative_end"):
        end -= rank
    return Spec(Fn(torch.flatten, start_dim=start, end_dim=end), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.unflatten of one dim into two factors, one spelled -1.")
def unflatten(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = list(d.shape(min_dims=1, max_dims=3))
    dim = _dim(d, len(shape))
    a, b = d.integer("factor_a", 1, 3), d.integer("factor_b", 1, 3)
    shape[dim] = a * b
    sizes = (a, -1) if d.boolean("infer") else (a, b)
    return Spec(Fn(torch.unflatten, dim=dim, sizes=sizes), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.stack of three tensors along a new dim.")
def stack(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_side=0)
    dim = d.integer("dim", -len(shape) - 1, len(shape))

    def stack3(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return torch.stack([a, b, c], dim=dim)

    return Spec(Fn(stack3), tuple(d.tensor(n, shape, dtype) for n in "abc"))


@case("shape", op_class=OpClass.EXACT, notes="torch.hstack/vstack/dstack of two tensors of rank 1 to 3.")
def hvdstack(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    fn = d.choice("fn", ("hstack", "vstack", "dstack"))
    shape = d.shape(min_dims=1, max_dims=3)

    def stack2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return getattr(torch, fn)([a, b])

    return Spec(Fn(stack2), (d.tensor("a", shape, dtype), d.tensor("b", shape, dtype)))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.split by an equal size (last chunk short, or one chunk when the size passes the dim) "
    "or by a list of two or three sizes, zeros included.",
)
def split(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    n = shape[dim]
    if d.boolean("by_sizes"):
        first = d.integer("first", 0, n)
        second = d.integer("second", 0, n - first) if d.boolean("three_pieces") else n - first
        sizes: int | list[int] = [first, second] + ([n - first - second] if first + second < n else [])
    else:
        sizes = d.integer("split_size", 1, n + 2)
    return Spec(Fn(torch.split, split_size_or_sections=sizes, dim=dim), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.chunk into 1 to 4 chunks (fewer when the dim is short).")
def chunk(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    return Spec(Fn(torch.chunk, chunks=d.integer("chunks", 1, 4), dim=dim), (d.tensor("x", shape, dtype),))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.tensor_split at drawn indices (empty pieces allowed), or into n sections (uneven, "
    "more sections than elements too).",
)
def tensor_split(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    if d.boolean("by_sections"):
        module = Fn(torch.tensor_split, sections=d.integer("sections", 1, shape[dim] + 2), dim=dim)
    else:
        cuts = sorted(d.draw("indices", st.lists(st.integers(0, shape[dim]), min_size=1, max_size=3)))
        module = Fn(torch.tensor_split, indices=cuts, dim=dim)
    return Spec(module, (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.unbind: one output per slice along a dim.")
def unbind(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    return Spec(Fn(torch.unbind, dim=_dim(d, len(shape))), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="Tensor.repeat with as many or more repeats than dims (Tile).")
def repeat(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(max_dims=3, max_side=3)
    extra = d.integer("extra_dims", 0 if shape else 1, 2)
    reps = tuple(d.integer(f"rep{i}", 0, 3) for i in range(len(shape) + extra))

    def repeat(x: torch.Tensor) -> torch.Tensor:
        return x.repeat(*reps)

    return Spec(Fn(repeat), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.tile with fewer reps than dims (left-padded with ones).")
def tile(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(max_dims=3, max_side=3)
    reps = tuple(d.integer(f"rep{i}", 1, 3) for i in range(d.integer("n_reps", 1, 3)))
    return Spec(Fn(torch.tile, dims=reps), (d.tensor("x", shape, dtype),))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.repeat_interleave along a dim or flattened, by a constant count, or by a repeats "
    "tensor input (one count per slice, zeros included, or a single count), with or without "
    "output_size; a tensor count makes the output shape data-dependent.",
)
def repeat_interleave(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1, max_dims=3)
    flattened = d.boolean("flattened")
    dim = None if flattened else _dim(d, len(shape))
    kwargs: dict[str, object] = {} if dim is None else {"dim": dim}
    x = d.tensor("x", shape, dtype)
    form = d.choice("repeats_form", ("int", "tensor", "one-element tensor"))
    if form == "int":
        return Spec(Fn(torch.repeat_interleave, repeats=d.integer("repeats", 1, 3), **kwargs), (x,))
    n = 1 if form == "one-element tensor" else int(np.prod(shape)) if dim is None else shape[dim]
    repeats = d.tensor("repeats", (n,), "int64", low=0 if n > 1 else 1, high=3, special=False)
    if d.boolean("output_size"):
        slices = int(np.prod(shape)) if dim is None else shape[dim]
        kwargs["output_size"] = int(np.broadcast_to(repeats, (slices,)).sum())
    return Spec(Fn(torch.repeat_interleave, **kwargs), (x, repeats))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.flip over a set of dims, spelled positive or negative (Slice with step -1).",
)
def flip(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1, min_side=0)
    dims = d.draw("dims", st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    if d.boolean("negative_dims"):
        dims = [i - len(shape) for i in dims]
    return Spec(Fn(torch.flip, dims=dims), (d.tensor("x", shape, dtype),))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.rot90 by k quarter turns (negative and past a full turn too) in the plane of two drawn "
    "dims, in either order, negative dims too.",
)
def rot90(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=2)
    rank = len(shape)
    plane = tuple(d.draw("dims", st.permutations(range(rank)))[:2])
    if d.boolean("negative_dims"):
        plane = (plane[0] - rank, plane[1] - rank)
    k = d.choice("k", (-1, 0, 1, 2, 3, 5))
    return Spec(Fn(torch.rot90, k=k, dims=plane), (d.tensor("x", shape, dtype),))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.roll by shifts larger than, negative or equal to a dim, over positive or negative dims; "
    "or flattened. Zero-size dims included.",
)
def roll(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1, min_side=0)
    if d.boolean("flattened"):
        module = Fn(torch.roll, shifts=d.integer("shift", -7, 7))
    else:
        dims = d.draw("dims", st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
        if d.boolean("negative_dims"):
            dims = [i - len(shape) for i in dims]
        shifts = tuple(d.integer(f"shift{i}", -7, 7) for i in range(len(dims)))
        module = Fn(torch.roll, shifts=shifts, dims=tuple(dims))
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "shape", op_class=OpClass.EXACT, notes="torch.tril with a diagonal offset, batched (Trilu, opset 14).", min_opset=14
)
def tril(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=2, min_side=0)
    return Spec(Fn(torch.tril, diagonal=d.integer("diagonal", -3, 3)), (d.tensor("x", shape, dtype),))


@case(
    "shape", op_class=OpClass.EXACT, notes="torch.triu with a diagonal offset, batched (Trilu, opset 14).", min_opset=14
)
def triu(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=2, min_side=0)
    return Spec(Fn(torch.triu, diagonal=d.integer("diagonal", -3, 3)), (d.tensor("x", shape, dtype),))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.diagonal with an offset between two drawn dims, in either order, spelled positive or negative.",
)
def diagonal(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=2)
    dim1 = d.integer("dim1", 0, len(shape) - 1)
    dim2 = d.choice("dim2", [i for i in range(len(shape)) if i != dim1])
    if d.boolean("negative_dims"):
        dim1, dim2 = dim1 - len(shape), dim2 - len(shape)
    module = Fn(torch.diagonal, offset=d.integer("offset", -2, 2), dim1=dim1, dim2=dim2)
    return Spec(module, (d.tensor("x", shape, dtype),))


def _lead(d: Draw) -> tuple[int, ...]:
    """Batch dims in front of (C, H, W): none, one, or two."""
    return tuple(d.integer("batch" if i == 0 else f"batch{i}", 1, 2) for i in range(d.choice("batch_dims", (0, 1, 2))))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.nn.functional.pixel_shuffle (DepthToSpace, CRD order) on 3-d (unbatched), 4-d and 5-d inputs.",
)
def pixel_shuffle(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    r = d.integer("upscale_factor", 1, 3)
    c = d.integer("channels", 1, 2)
    x = d.tensor("x", (*_lead(d), c * r * r, d.integer("height", 1, 3), d.integer("width", 1, 3)), dtype)
    return Spec(Fn(torch.nn.functional.pixel_shuffle, upscale_factor=r), (x,))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.nn.functional.pixel_unshuffle (SpaceToDepth in torch's order) on 3-d (unbatched), 4-d and 5-d inputs.",
)
def pixel_unshuffle(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    r = d.integer("downscale_factor", 1, 3)
    h, w = r * d.integer("blocks_h", 1, 3), r * d.integer("blocks_w", 1, 3)
    x = d.tensor("x", (*_lead(d), d.integer("channels", 1, 2), h, w), dtype)
    return Spec(Fn(torch.nn.functional.pixel_unshuffle, downscale_factor=r), (x,))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.nn.functional.channel_shuffle in g groups, any dtype, one or two spatial dims.",
)
def channel_shuffle(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    g = d.integer("groups", 1, 3)
    spatial = tuple(
        d.integer("length" if i == 0 else f"length{i}", 1, 4) for i in range(d.integer("spatial_dims", 1, 2))
    )
    x = d.tensor("x", (d.integer("batch", 1, 2), g * d.integer("per_group", 1, 3), *spatial), dtype)
    return Spec(Fn(torch.nn.functional.channel_shuffle, groups=g), (x,))


# ---------------------------------------------------------------- slicing and indexing


@case("indexing", op_class=OpClass.EXACT, notes="Basic slicing with start, stop and step > 1 on every dim (Slice).")
def slice_step(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1, max_side=6)
    slices = []
    for i, n in enumerate(shape):
        start = d.integer(f"start{i}", -n, n)
        stop = d.integer(f"stop{i}", -n, n + 2)
        slices.append(slice(start, stop, d.integer(f"step{i}", 1, 3)))
    index = tuple(slices)

    def take(x: torch.Tensor) -> torch.Tensor:
        return x[index]

    return Spec(Fn(take), (d.tensor("x", shape, dtype),))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="torch.select: one integer index along a dim, negative too (Gather with a scalar index).",
)
def select(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    i = d.integer("index", -shape[dim], shape[dim] - 1)
    return Spec(Fn(torch.select, dim=dim, index=i), (d.tensor("x", shape, dtype),))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="torch.narrow: a length-l window from a start along a dim; the start negative (counted from "
    "the end) or given as a 0-d int64 tensor input (a data-dependent Slice).",
)
def narrow(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    n = shape[dim]
    start = d.integer("start", 0, n)
    length = d.integer("length", 0, n - start)
    if start < n and d.boolean("negative_start"):
        start -= n
    x = d.tensor("x", shape, dtype)
    if d.boolean("start_tensor"):

        def narrow(x: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
            return torch.narrow(x, dim, start, length)

        return Spec(Fn(narrow), (x, np.asarray(start, np.int64)))
    return Spec(Fn(torch.narrow, dim=dim, start=start, length=length), (x,))


@case("indexing", op_class=OpClass.EXACT, notes="torch.gather along a dim with in-range indices (GatherElements).")
def gather(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    index_shape = tuple(d.integer(f"index{i}", 0 if i == dim % len(shape) else 1, 4) for i in range(len(shape)))
    index_shape = tuple(s if i == dim % len(shape) else min(s, shape[i]) for i, s in enumerate(index_shape))
    index = d.tensor("index", index_shape, "int64", low=0, high=shape[dim] - 1, special=False)

    def gather(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return torch.gather(x, dim, index)

    return Spec(Fn(gather), (d.tensor("x", shape, dtype), index))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="torch.take_along_dim with in-range (and negative) indices along a dim, where negative "
    "indices wrap in both; or with dim=None over the flattened input (non-negative indices only, "
    "as torch requires there).",
)
def take_along_dim(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    shape = d.shape(min_dims=1)
    if d.boolean("flattened"):
        numel = int(np.prod(shape))
        flat = d.tensor("index", (d.integer("index_len", 0, 6),), "int64", low=0, high=numel - 1, special=False)

        def take_flat(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
            return torch.take_along_dim(x, index)

        return Spec(Fn(take_flat), (d.tensor("x", shape, dtype), flat))
    dim = _dim(d, len(shape))
    index_shape = list(shape)
    index_shape[dim] = d.integer("index_len", 1, 4)
    n = shape[dim]
    index = d.tensor("index", index_shape, "int64", low=-n, high=n - 1, special=False)

    def take(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return torch.take_along_dim(x, index, dim=dim)

    return Spec(Fn(take), (d.tensor("x", shape, dtype), index))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="torch.scatter along a dim of a src tensor or of a Python scalar value, plain or with the "
    "(deprecated) reduce='add'/'multiply' (ScatterElements, reduction from opset 16). Indices are "
    "distinct along the dim, because ONNX leaves duplicate writes undefined.",
)
def scatter(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    index_shape = tuple(d.integer(f"index{i}", 1, shape[i]) for i in range(len(shape)))
    index = _permutation_index(d, "index", index_shape, dim, shape[dim])
    reduce = d.choice("reduce", (None, "add", "multiply"))
    kwargs: dict[str, object] = {} if reduce is None else {"reduce": reduce}
    x = d.tensor("x", shape, dtype)
    if d.choice("src_form", ("tensor", "scalar")) == "scalar":
        value = True if dtype == "bool" else -1.5 if dtype in FLOATS else 3

        def scatter_value(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
            return torch.scatter(x, dim, index, value, **kwargs)

        return Spec(Fn(scatter_value), (x, index))
    src = d.tensor("src", index_shape, dtype)

    def scatter(x: torch.Tensor, index: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        return torch.scatter(x, dim, index, src, **kwargs)

    return Spec(Fn(scatter), (x, index, src))


@case(
    "indexing",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="torch.scatter_add along a dim with repeated indices (ScatterElements reduction='add'); "
    "the summation order of duplicates is open, hence the reduction tolerance." + ZERO_SIGN_NOTE,
)
def scatter_add(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    index_shape = list(min(d.integer(f"index{i}", 1, 4), shape[i]) for i in range(len(shape)))
    index_shape[dim] = d.integer("index_len", 1, 6)
    index = d.tensor("index", index_shape, "int64", low=0, high=shape[dim] - 1, special=False)
    src = d.tensor("src", index_shape, dtype)

    def scatter_add(x: torch.Tensor, index: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        return torch.scatter_add(x, dim, index, src)

    return Spec(Fn(scatter_add), (d.tensor("x", shape, dtype), index, src))


@case(
    "indexing",
    op_class=OpClass.REDUCTION,
    min_opset=18,
    notes="torch.scatter_reduce with sum, prod, mean, amax or amin and include_self both ways "
    "(ScatterElements reduction, max/min from opset 18; mean has no ONNX reduction, so exporters "
    "must compose it, and integer mean rounds as torch's integer division does); duplicates allowed "
    "since these reductions are order-free up to rounding.",
)
def scatter_reduce(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    index_shape = list(min(d.integer(f"index{i}", 1, 4), shape[i]) for i in range(len(shape)))
    index_shape[dim] = d.integer("index_len", 1, 6)
    index = d.tensor("index", index_shape, "int64", low=0, high=shape[dim] - 1, special=False)
    src = d.tensor("src", index_shape, dtype)
    reduce = d.choice("reduce", ("sum", "prod", "mean", "amax", "amin"))
    include_self = d.boolean("include_self")

    def scatter_reduce(x: torch.Tensor, index: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        return torch.scatter_reduce(x, dim, index, src, reduce=reduce, include_self=include_self)

    return Spec(Fn(scatter_reduce), (d.tensor("x", shape, dtype), index, src))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="torch.index_select with in-range, possibly repeated indices, a 1-d index (empty too) or a "
    "0-d one, which keeps the dim at size 1 (Gather).",
)
def index_select(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    index_shape = () if d.boolean("scalar_index") else (d.integer("n_index", 0, 6),)
    index = d.tensor("index", index_shape, "int64", low=0, high=shape[dim] - 1, special=False)

    def index_select(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return torch.index_select(x, dim, index)

    return Spec(Fn(index_select), (d.tensor("x", shape, dtype), index))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="Advanced indexing with int64 tensors, negatives too: x[idx] on dim 0, x[:, idx] on dim 1, "
    "or x[i, j] with two index tensors that broadcast together (Gather, GatherND).",
)
def advanced_index(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    form = d.choice("form", ("first", "second", "pair") if len(shape) >= 2 else ("first",))
    axis = 1 if form == "second" else 0
    n = shape[axis]
    index = d.tensor(
        "index", d.shape("index_shape", max_dims=2, max_side=4), "int64", low=-n, high=n - 1, special=False
    )
    x = d.tensor("x", shape, dtype)
    if form == "pair":
        m = shape[1]
        second = d.tensor(
            "index_b", d.shape("index_b_shape", max_dims=1, max_side=4), "int64", low=-m, high=m - 1, special=False
        )

        def take_pair(x: torch.Tensor, i: torch.Tensor, j: torch.Tensor) -> torch.Tensor:
            return x[i[..., None] if i.ndim else i, j]

        return Spec(Fn(take_pair), (x, index, second))
    if form == "second":

        def take_second(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
            return x[:, i]

        return Spec(Fn(take_second), (x, index))

    def take(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return x[i]

    return Spec(Fn(take), (x, index))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="torch.index_put (x[idx] = v, or += with accumulate=True: ScatterND reduction='add', opset "
    "16) with distinct indices on dim 0, or distinct (row, column) pairs on dims 0 and 1; values of "
    "the indexed shape or broadcast from their trailing dims. Duplicates would make the result "
    "order-dependent.",
)
def index_put(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    accumulate = d.boolean("accumulate")
    if len(shape) >= 2 and d.boolean("two_dims"):
        k = d.integer("n_index", 1, shape[0] * shape[1])
        flat = _permutation_index(d, "index", (k,), 0, shape[0] * shape[1])
        indices: tuple[np.ndarray, ...] = (flat // shape[1], flat % shape[1])
    else:
        k = d.integer("n_index", 1, shape[0])
        indices = (_permutation_index(d, "index", (k,), 0, shape[0]),)
    rest = shape[len(indices) :]
    values_shape = rest if d.boolean("broadcast_values") else (k, *rest)

    def put(x: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        return torch.index_put(x, rest[:-1], rest[-1], accumulate=accumulate)

    return Spec(Fn(put), (d.tensor("x", shape, dtype), *indices, d.tensor("values", values_shape, dtype)))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="torch.masked_fill with a broadcast bool mask and a finite, infinite or NaN fill value, given "
    "as a Python number or as a 0-d tensor input.",
)
def masked_fill(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    sx = d.shape()
    kept = [s if d.boolean(f"mask_keeps{i}") else 1 for i, s in enumerate(sx)]
    sm = tuple(kept[d.integer("mask_drops", 0, len(sx)) :])  # the mask broadcasts to x, never beyond
    if dtype == "bool":
        value: float | bool = d.boolean("value")
    elif dtype in FLOATS:
        value = d.choice("value", (0.0, -1.5, float("-inf"), float("nan")))
    else:
        value = d.choice("value", (0, 1, -1 if dtype != "uint8" else 2))

    inputs = (d.tensor("x", sx, dtype), d.tensor("mask", sm, "bool"))
    if d.boolean("value_tensor"):

        def fill_tensor(x: torch.Tensor, mask: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            return x.masked_fill(mask, v)

        return Spec(Fn(fill_tensor), (*inputs, np.asarray(value, numpy_dtype(dtype))))

    def fill(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return x.masked_fill(mask, value)

    return Spec(Fn(fill), inputs)


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="torch.nn.functional.one_hot of in-range int64 labels (OneHot), with num_classes given or "
    "-1 (inferred from the largest label: a data-dependent depth).",
)
def one_hot(d: Draw) -> Spec:
    n = d.integer("num_classes", 1, 6)
    labels = d.tensor("labels", d.shape(max_dims=3), "int64", low=0, high=n - 1, special=False)
    num_classes = -1 if d.boolean("infer_classes") else n
    return Spec(Fn(torch.nn.functional.one_hot, num_classes=num_classes), (labels,))


@case(
    "indexing",
    op_class=OpClass.ELEMENTWISE,
    notes="torch.arange sized by the input's last dim, offset and stepped (integer steps, and exact "
    "fractional ones for floating inputs), in the input's dtype or in the dtype torch infers from the "
    "Python numbers (int64 or the default float32), added to the input (Range, then one rounding in Add).",
)
def arange(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    shape = d.shape(min_dims=1)
    start = d.integer("start", -3, 3)
    step = d.choice("step", (1, 2, -1, 0.5, -1.5) if dtype in FLOATS else (1, 2, -1))
    explicit = d.boolean("explicit_dtype")

    def add_range(x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        return x + torch.arange(start, start + step * n, step, dtype=x.dtype if explicit else None)

    return Spec(Fn(add_range), (d.tensor("x", shape, dtype),))


@case("indexing", op_class=OpClass.EXACT, notes="torch.meshgrid of two or three 1-D tensors, ij or xy indexing.")
def meshgrid(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    n = d.integer("n_inputs", 2, 3)
    indexing = d.choice("indexing", ("ij", "xy"))
    inputs = tuple(d.tensor(f"x{i}", (d.integer(f"len{i}", 1, 4),), dtype) for i in range(n))

    def grid(*xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return torch.meshgrid(*xs, indexing=indexing)

    return Spec(Fn(grid), inputs)


# ---------------------------------------------------------------- padding


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.nn.functional.pad in constant (zero or non-zero value), reflect, replicate and "
    "circular mode over the last 1, 2 or 3 dims, each side drawn apart (asymmetric). Reflect pads "
    "stay below the dim size and circular pads at most the size, as torch requires; torch has no "
    "bool reflect or replicate kernel.",
)
def pad(d: Draw) -> Spec:
    mode = d.choice("mode", ("constant", "reflect", "replicate", "circular"))
    dtype = d.dtype(NUMERIC if mode in ("reflect", "replicate") else ALL)
    k = d.choice("padded_dims", (1, 2, 3))
    if mode == "constant":
        lead = d.shape("lead", max_dims=2, max_side=3)
    else:
        # torch pads the last k dims of a (k+1)- or (k+2)-d tensor in these modes.
        lead = d.shape("lead", min_dims=1, max_dims=2, max_side=2)
    spatial = tuple(d.integer(f"size{i}", 1 if mode != "reflect" else 2, 4) for i in range(k))
    pads: list[int] = []
    for i in reversed(range(k)):
        limit = {"constant": 2, "reflect": spatial[i] - 1, "replicate": 2, "circular": spatial[i]}[mode]
        pads += [d.integer(f"pad{i}_before", 0, limit), d.integer(f"pad{i}_after", 0, limit)]
    kwargs: dict[str, object] = {"pad": tuple(pads), "mode": mode}
    if mode == "constant":
        kwargs["value"] = d.choice("value", (0.0, 1.5, -2.0) if dtype in FLOATS else (0, 1, 2))
    x = d.tensor("x", (*lead, *spatial), dtype)
    return Spec(Fn(torch.nn.functional.pad, **kwargs), (x,))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="Pads with negative amounts, which crop (ONNX Pad allows negative pads): constant over "
    "every dim, or reflect, replicate or circular over the last 1 to 3 dims of a tensor with one or "
    "two more.",
)
def pad_negative(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64"))
    shape = d.shape(min_dims=1, min_side=3)
    rank = len(shape)
    mode = d.choice("mode", ("constant", "reflect", "replicate", "circular") if rank >= 2 else ("constant",))
    # torch pads every dim in constant mode here, and the last k of a (k+1)- or (k+2)-d tensor otherwise.
    k = rank if mode == "constant" else d.integer("padded_dims", max(1, rank - 2), min(3, rank - 1))
    pads = []
    for i in reversed(range(rank - k, rank)):
        pads += [d.integer(f"pad{i}_before", -1, 2), d.integer(f"pad{i}_after", -1, 2)]
    return Spec(Fn(torch.nn.functional.pad, pad=tuple(pads), mode=mode), (d.tensor("x", shape, dtype),))


# ---------------------------------------------------------------- sorting and selection


def _sort_input(d: Draw, shape: tuple[int, ...], dtype: str, *, ties: bool) -> np.ndarray:
    """Wide values (ties rare), or small integers (ties common) where the order of ties is defined."""
    if ties:
        return np.round(d.tensor("x", shape, dtype, low=0 if dtype == "uint8" else -3, high=3))
    return d.tensor("x", shape, dtype, low=0 if dtype == "uint8" else -1000, high=1000)


@case(
    "sorting",
    op_class=OpClass.EXACT,
    notes="torch.sort values and indices, ascending or descending, along any dim of a tensor that may "
    "have a zero-size dim (TopK with k = size), with stable= left out, False or True. Unstable sorts "
    "draw wide values so ties, whose order torch does not promise, are rare; a stable sort draws "
    "small integers so ties are common, and then keeps them in input order, which is ONNX TopK's "
    "lower-index-first (both exporters refuse any explicit stable= as of torch 2.13: an export-fail "
    "finding). Torch orders NaN last ascending; ONNX TopK says nothing about NaN (spec gap).",
)
def sort(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64", "int8", "uint8", "int32", "int64"))
    shape = d.shape(min_dims=1, min_side=0)
    dim = _dim(d, len(shape))
    stable = d.choice("stable", (None, False, True))
    kwargs: dict[str, object] = {} if stable is None else {"stable": stable}
    module = Fn(torch.sort, dim=dim, descending=d.boolean("descending"), **kwargs)
    return Spec(module, (_sort_input(d, shape, dtype, ties=stable is True),))


@case(
    "sorting",
    op_class=OpClass.EXACT,
    notes="torch.argsort (TopK indices), ascending or descending, stable= left out, False or True; as "
    "for sort, ties are rare unless the sort is stable, where they are common and ordered by index. "
    "NaN order is a spec gap as for sort.",
)
def argsort(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    shape = d.shape(min_dims=1, min_side=0)
    dim = _dim(d, len(shape))
    stable = d.choice("stable", (None, False, True))
    kwargs: dict[str, object] = {} if stable is None else {"stable": stable}
    module = Fn(torch.argsort, dim=dim, descending=d.boolean("descending"), **kwargs)
    return Spec(module, (_sort_input(d, shape, dtype, ties=stable is True),))


@case(
    "sorting",
    op_class=OpClass.EXACT,
    notes="torch.topk, largest or smallest, with k = 1, k = the dim's size or k drawn (0 too), sorted "
    "or not. Unsorted results come in an order neither torch nor ONNX promises, so the module sorts "
    "both outputs along the dim after TopK(sorted=0). Values drawn wide so ties are rare; torch's tie "
    "order is not documented, ONNX TopK's is lower index first. NaN order is a spec gap.",
)
def topk(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64", "int8", "uint8", "int32", "int64"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    k_form = d.choice("k_form", ("one", "all", "drawn"))
    k = {"one": 1, "all": shape[dim]}.get(k_form) or d.integer("k", 0, shape[dim])
    largest = d.boolean("largest")
    x = d.tensor("x", shape, dtype, low=0 if dtype == "uint8" else -1000, high=1000)
    if d.boolean("sorted"):
        return Spec(Fn(torch.topk, k=k, dim=dim, largest=largest, sorted=True), (x,))

    def topk_unsorted(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        values, indices = torch.topk(x, k, dim=dim, largest=largest, sorted=False)
        return values.sort(dim=dim).values, indices.sort(dim=dim).values

    return Spec(Fn(topk_unsorted), (x,))


@case(
    "sorting",
    op_class=OpClass.EXACT,
    min_opset=11,
    notes="torch.unique (Unique; a data-dependent output shape) of the flattened input or of slices "
    "along a dim (negative too), sorted or not, with or without inverse indices and counts. The order "
    "of an unsorted result is unspecified in torch (ONNX: first occurrence), so the module puts it in "
    "ascending order and remaps the inverse; torch sorts slices along a dim regardless, so sorted=False "
    "goes with the flattened form only. Integer-valued draws so repeats are common. With NaN torch "
    "keeps every NaN apart.",
)
def unique(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int8", "uint8", "int32", "int64", "bool"))
    shape = d.shape(min_dims=1, max_dims=2)
    x = d.tensor("x", shape, dtype, low=0 if dtype == "uint8" else -3, high=3)
    x = x if dtype == "bool" else np.round(x)
    inverse, counts = d.boolean("return_inverse"), d.boolean("return_counts")
    if d.boolean("by_dim"):
        dim = _dim(d, len(shape))
        return Spec(Fn(torch.unique, sorted=True, return_inverse=inverse, return_counts=counts, dim=dim), (x,))
    if d.boolean("sorted"):
        return Spec(Fn(torch.unique, sorted=True, return_inverse=inverse, return_counts=counts), (x,))

    def unique_unsorted(x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        values, inv, cnt = torch.unique(x, sorted=False, return_inverse=True, return_counts=True)
        order = torch.argsort(values.int() if values.dtype == torch.bool else values)
        rank = torch.argsort(order)
        out = (values[order], *((rank[inv],) if inverse else ()), *((cnt[order],) if counts else ()))
        return out if len(out) > 1 else out[0]

    return Spec(Fn(unique_unsorted), (x,))


@case(
    "sorting",
    op_class=OpClass.EXACT,
    notes="torch.bucketize of values into sorted 1-D boundaries, right or left side, int64 or int32 "
    "output (out_int32); ties with a boundary matter.",
)
def bucketize(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int32", "int64"))
    edges = np.sort(d.tensor("boundaries", (d.integer("n_edges", 1, 6),), dtype, special=False))
    right, out_int32 = d.boolean("right"), d.boolean("out_int32")

    def search(x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.bucketize(x, b, right=right, out_int32=out_int32)

    return Spec(Fn(search), (d.tensor("x", d.shape(max_dims=2), dtype), edges))


# ---------------------------------------------------------------- resampling


_INTERP_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


@case(
    "resampling",
    op_class=OpClass.ELEMENTWISE,
    notes="torch.nn.functional.interpolate in nearest, nearest-exact, linear, bilinear, bicubic, "
    "trilinear and area mode (Resize), by size or by scale factor: whole, half and other non-integer "
    "factors (0.6, 1.7, 2.3) above and below 1, one for every axis or one per axis, with "
    "recompute_scale_factor (scales from the sizes, not the factor) or without; align_corners both "
    "ways for the linear family; antialias for bilinear and bicubic (Resize antialias, opset 18; "
    "torch has no float16/bfloat16 antialias kernel). nearest uses torch's floor rounding, which "
    "Resize spells as asymmetric/floor.",
)
def interpolate(d: Draw) -> Spec:
    mode = d.choice("mode", ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"))
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64"))
    rank = _INTERP_RANK.get(mode) or d.integer("spatial_dims", 1, 3)
    spatial = tuple(d.integer(f"size{i}", 1, 5) for i in range(rank))
    kwargs: dict[str, object] = {"mode": mode}
    if d.boolean("by_scale"):
        # Shrinking a size-1 axis leaves nothing: torch refuses an empty output, so factors < 1 need sizes >= 2.
        scales = (0.5, 0.6, 1.5, 1.7, 2.0, 2.3) if min(spatial) >= 2 else (1.5, 1.7, 2.0, 2.3)
        scale: float | tuple[float, ...] = d.choice("scale_factor", scales)
        if rank > 1 and d.boolean("per_axis_scale"):
            scale = (scale, *(d.choice(f"scale_factor{i}", scales, cover=False) for i in range(1, rank)))
        kwargs["scale_factor"] = scale
        if d.boolean("recompute_scale_factor"):
            kwargs["recompute_scale_factor"] = True
    else:
        kwargs["size"] = tuple(d.integer(f"out{i}", 1, 7) for i in range(rank))
    if mode in _INTERP_RANK:
        kwargs["align_corners"] = d.boolean("align_corners")
    if mode in ("bilinear", "bicubic") and dtype in ("float32", "float64"):
        kwargs["antialias"] = d.boolean("antialias")
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 2), *spatial), dtype)
    return Spec(Fn(torch.nn.functional.interpolate, **kwargs), (x,))


@case(
    "resampling",
    op_class=OpClass.ELEMENTWISE,
    min_opset=16,
    notes="torch.nn.functional.grid_sample (GridSample, opset 16) with bilinear, nearest or bicubic "
    "sampling, zeros/border/reflection padding and align_corners both ways, on 4-d input or (bilinear "
    "and nearest only, as torch allows) volumetric 5-d input, which GridSample takes from opset 20; "
    "grid points in [-1.2, 1.2].",
)
def grid_sample(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    mode = d.choice("mode", ("bilinear", "nearest", "bicubic"))
    padding = d.choice("padding_mode", ("zeros", "border", "reflection"))
    align = d.boolean("align_corners")
    n, c = d.integer("batch", 1, 2), d.integer("channels", 1, 2)
    h, w = d.integer("height", 1, 4), d.integer("width", 1, 4)
    gh, gw = d.integer("grid_h", 1, 4), d.integer("grid_w", 1, 4)
    module = Fn(torch.nn.functional.grid_sample, mode=mode, padding_mode=padding, align_corners=align)
    if mode != "bicubic" and d.boolean("volumetric"):
        depth, gd = d.integer("depth", 1, 3), d.integer("grid_d", 1, 3)
        grid = d.tensor("grid", (n, gd, gh, gw, 3), dtype, low=-1.2, high=1.2, special=False)
        return Spec(module, (d.tensor("x", (n, c, depth, h, w), dtype), grid))
    grid = d.tensor("grid", (n, gh, gw, 2), dtype, low=-1.2, high=1.2, special=False)
    return Spec(module, (d.tensor("x", (n, c, h, w), dtype), grid))


# ---------------------------------------------------------------- attention and embedding


class _Named(torch.nn.Module):
    """A module called with its inputs by name, so optional ones in the middle can be left out."""

    def __init__(self, module: torch.nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.module = module
        self.names = names

    def forward(self, *inputs: torch.Tensor) -> Any:
        return self.module(**dict(zip(self.names, inputs, strict=True)))


def _sdpa(scale: float | None, gqa: bool) -> Callable[..., torch.Tensor]:
    """scaled_dot_product_attention with scale and enable_gqa bound; enable_gqa only when set."""
    extra: dict[str, object] = {"enable_gqa": True} if gqa else {}

    def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, scale=scale, **kwargs, **extra)

    return attention


@case(
    "attention",
    unspecified=ZERO_SIGN,
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.functional.scaled_dot_product_attention: no mask, a bool mask (every query "
    "keeps key 0, so no row is fully masked), an additive float mask, or is_causal (with query and "
    "key lengths that differ too); default, smaller or larger scale; heads and batch broadcast in the "
    "mask; enable_gqa with fewer key/value heads than query heads (grouped-query attention). "
    "dropout_p stays 0: anything else is random." + ZERO_SIGN_NOTE,
)
def scaled_dot_product_attention(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64"))
    b, h = d.integer("batch", 1, 2), d.integer("heads", 1, 4)
    gqa = d.boolean("enable_gqa")
    hk = d.choice("kv_heads", [g for g in range(1, h + 1) if h % g == 0], cover=False) if gqa else h
    lq, lk, e, ev = (
        d.integer("q_len", 1, 5),
        d.integer("kv_len", 1, 5),
        d.integer("dim", 1, 8),
        d.integer("v_dim", 1, 8),
    )
    mask_kind = d.choice("mask", ("none", "bool", "additive", "causal"))
    scale = d.choice("scale", (None, 0.5, 2.0))
    q = d.tensor("q", (b, h, lq, e), dtype)
    k = d.tensor("k", (b, hk, lk, e), dtype)
    v = d.tensor("v", (b, hk, lk, ev), dtype)
    attention = _sdpa(scale, gqa)
    mask_form = d.choice("mask_broadcast", ("2d", "per-batch", "per-head"))
    mask_shape = {"2d": (lq, lk), "per-batch": (b, 1, lq, lk), "per-head": (1, h, lq, lk)}[mask_form]

    if mask_kind == "bool":

        def attend_bool(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
            m = m | (torch.arange(m.shape[-1]) == 0)
            return attention(q, k, v, attn_mask=m)

        return Spec(Fn(attend_bool), (q, k, v, d.tensor("attn_mask", mask_shape, "bool")))
    if mask_kind == "additive":

        def attend_add(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
            return attention(q, k, v, attn_mask=m)

        return Spec(Fn(attend_add), (q, k, v, d.tensor("attn_mask", mask_shape, dtype, special=False)))
    causal = mask_kind == "causal"

    def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return attention(q, k, v, is_causal=causal)

    return Spec(Fn(attend), (q, k, v))


@case(
    "embedding",
    op_class=OpClass.EXACT,
    notes="torch.nn.Embedding with seeded weights and padding_idx none, first or last (spelled -1), "
    "indices of any rank (Gather). max_norm is the embedding_max_norm case; scale_grad_by_freq and "
    "sparse change only gradients.",
)
def embedding(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    n, dim = d.integer("num_embeddings", 1, 10), d.integer("embedding_dim", 1, 6)
    padding_idx = d.choice("padding_idx", (None, 0, -1))
    layer = seeded(d.weights_seed(), lambda: torch.nn.Embedding(n, dim, padding_idx=padding_idx))
    layer = layer.to(getattr(torch, dtype))
    return Spec(layer, (d.tensor("indices", d.shape(max_dims=3), "int64", low=0, high=n - 1, special=False),))


class _Renormed(torch.nn.Module):
    """An embedding lookup with max_norm on a copy of the table, so a call never rewrites the module's weights."""

    def __init__(self, layer: torch.nn.Embedding, max_norm: float, norm_type: float) -> None:
        super().__init__()
        self.layer = layer
        self.max_norm = max_norm
        self.norm_type = norm_type

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        weight = self.layer.weight.clone()
        return torch.nn.functional.embedding(
            indices, weight, self.layer.padding_idx, max_norm=self.max_norm, norm_type=self.norm_type
        )


@case(
    "embedding",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.functional.embedding with max_norm: each row looked up whose p-norm (p = 1, 2 or 3) "
    "passes max_norm is scaled down to it before the lookup (a norm and a division: normalization "
    "tolerance). torch renormalizes the table in place, so the module looks up in a copy and every "
    "call (eager, export, truth) starts from the same seeded weights.",
)
def embedding_max_norm(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    n, dim = d.integer("num_embeddings", 1, 10), d.integer("embedding_dim", 1, 6)
    padding_idx = d.choice("padding_idx", (None, 0))
    max_norm, norm_type = d.choice("max_norm", (1.0, 0.5)), d.choice("norm_type", (2.0, 1.0, 3.0))
    layer = seeded(d.weights_seed(), lambda: torch.nn.Embedding(n, dim, padding_idx=padding_idx))
    module = _Renormed(layer.to(getattr(torch, dtype)), max_norm, norm_type)
    return Spec(module, (d.tensor("indices", d.shape(max_dims=3), "int64", low=0, high=n - 1, special=False),))


@case(
    "embedding",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="torch.nn.EmbeddingBag (sum, mean or max), seeded weights, over fixed-size bags given as a "
    "2-D index tensor or over 1-D indices cut by an offsets input (empty bags included, with or "
    "without include_last_offset); per_sample_weights (sum only, as torch requires); padding_idx, "
    "whose entries drop out of every bag. max_norm is drawn by the embedding_max_norm case." + ZERO_SIGN_NOTE,
)
def embedding_bag(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    n, dim = d.integer("num_embeddings", 1, 10), d.integer("embedding_dim", 1, 6)
    mode = d.choice("mode", ("sum", "mean", "max"))
    include_last = d.boolean("include_last_offset")
    padding_idx = d.choice("padding_idx", (None, 0))
    layer = seeded(
        d.weights_seed(),
        lambda: torch.nn.EmbeddingBag(n, dim, mode=mode, include_last_offset=include_last, padding_idx=padding_idx),
    ).to(getattr(torch, dtype))
    if d.choice("input_form", ("2d", "offsets")) == "2d":
        shape: tuple[int, ...] = (d.integer("bags", 1, 4), d.integer("bag_size", 1, 4))
        inputs = {"input": d.tensor("indices", shape, "int64", low=0, high=n - 1, special=False)}
    else:
        shape = (d.integer("n_indices", 0, 8),)
        inputs = {"input": d.tensor("indices", shape, "int64", low=0, high=n - 1, special=False)}
        cuts = sorted(d.draw("offsets", st.lists(st.integers(0, shape[0]), min_size=0, max_size=3)))
        inputs["offsets"] = np.asarray([0, *cuts, *([shape[0]] if include_last else [])], np.int64)
    if mode == "sum" and d.boolean("per_sample_weights"):
        inputs["per_sample_weights"] = d.tensor("sample_weights", shape, dtype)
    return Spec(_Named(layer, tuple(inputs)), tuple(inputs.values()))


@case(
    "shape",
    op_class=OpClass.EXACT,
    notes="torch.diag (a vector to a matrix with the vector on a diagonal, a matrix to its diagonal), "
    "torch.diagflat (the flattened input on a diagonal) and torch.diag_embed (the last axis on the diagonal "
    "of two new dims, in either order), each with an offset above or below the main diagonal.",
)
def diag(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    function = d.choice("function", ("diag", "diagflat", "diag_embed"))
    offset = d.integer("offset", -2, 2)
    if function == "diag" and d.boolean("matrix"):  # a matrix's diagonal: any size, long rows included
        return Spec(Fn(torch.diag, diagonal=offset), (d.tensor("x", d.shape(min_dims=2, max_dims=2), dtype),))
    # The output squares the last axis (or the whole input): small sides, never lengthened past a tile width.
    shape = tuple(d.integer(f"size{i}", 1, 5) for i in range(d.integer("rank", 1, 1 if function == "diag" else 3)))
    if function == "diag":
        return Spec(Fn(torch.diag, diagonal=offset), (d.tensor("x", shape, dtype),))
    if function == "diagflat":
        return Spec(Fn(torch.diagflat, offset=offset), (d.tensor("x", shape, dtype),))
    out_rank = len(shape) + 1
    dim1 = d.integer("dim1", -out_rank, out_rank - 1)
    dim2 = d.choice("dim2", [i for i in range(-out_rank, out_rank) if i % out_rank != dim1 % out_rank], cover=False)
    module = Fn(torch.diag_embed, offset=offset, dim1=dim1, dim2=dim2)
    return Spec(module, (d.tensor("x", shape, dtype),))
