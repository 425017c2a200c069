"""Shape, indexing, sorting, resampling, attention and embedding cases.

Data-movement ops are exact: any dtype torch can move, ONNX must move
bit-for-bit. Index inputs are drawn in range (and unique where ONNX leaves
duplicate writes undefined) from a drawn seed, so the special-values mode
never touches them.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from conformance.casekit import ZERO_SIGN, ZERO_SIGN_NOTE, Fn, seeded
from conformance.dtypes import ALL, FLOATS, NUMERIC
from conformance.generate import Draw, case
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


@case("shape", op_class=OpClass.EXACT, notes="Tensor.permute by a drawn permutation of dims.")
def permute(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1, min_side=0)
    perm = tuple(d.draw("perm", st.permutations(range(len(shape)))))
    return Spec(Fn(torch.permute, dims=perm), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.movedim of one dim to another position.")
def movedim(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    src, dst = _dim(d, len(shape), "source"), _dim(d, len(shape), "destination")
    return Spec(Fn(torch.movedim, source=src, destination=dst), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.squeeze of all size-1 dims or of one dim (size 1 or not).")
def squeeze(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(max_side=2)
    if shape and d.boolean("one_dim"):
        module = Fn(torch.squeeze, dim=_dim(d, len(shape)))
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


@case("shape", op_class=OpClass.EXACT, notes="torch.flatten between a drawn start and end dim.")
def flatten(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_side=0)
    rank = max(len(shape), 1)
    start = d.integer("start_dim", 0, rank - 1)
    end = d.integer("end_dim", start, rank - 1)
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


@case("shape", op_class=OpClass.EXACT, notes="torch.split by an equal size (last chunk short) or by a list of sizes.")
def split(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    n = shape[dim]
    if d.boolean("by_sizes"):
        first = d.integer("first", 0, n)
        sizes: int | list[int] = [first, n - first]
    else:
        sizes = d.integer("split_size", 1, n)
    return Spec(Fn(torch.split, split_size_or_sections=sizes, dim=dim), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.chunk into 1 to 4 chunks (fewer when the dim is short).")
def chunk(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    return Spec(Fn(torch.chunk, chunks=d.integer("chunks", 1, 4), dim=dim), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.tensor_split at drawn indices (empty pieces allowed).")
def tensor_split(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    cuts = sorted(d.draw("indices", st.lists(st.integers(0, shape[dim]), min_size=1, max_size=3)))
    return Spec(Fn(torch.tensor_split, indices=cuts, dim=dim), (d.tensor("x", shape, dtype),))


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


@case("shape", op_class=OpClass.EXACT, notes="torch.repeat_interleave by a constant count, along a dim or flattened.")
def repeat_interleave(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1, max_dims=3)
    repeats = d.integer("repeats", 1, 3)
    if d.boolean("flattened"):
        module = Fn(torch.repeat_interleave, repeats=repeats)
    else:
        module = Fn(torch.repeat_interleave, repeats=repeats, dim=_dim(d, len(shape)))
    return Spec(module, (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.flip over a set of dims (Slice with step -1).")
def flip(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1, min_side=0)
    dims = d.draw("dims", st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    return Spec(Fn(torch.flip, dims=dims), (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.rot90 by k quarter turns in the plane of the first two dims.")
def rot90(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=2)
    return Spec(Fn(torch.rot90, k=d.integer("k", -1, 3), dims=(0, 1)), (d.tensor("x", shape, dtype),))


@case(
    "shape", op_class=OpClass.EXACT, notes="torch.roll by shifts larger than, negative or equal to a dim; or flattened."
)
def roll(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    if d.boolean("flattened"):
        module = Fn(torch.roll, shifts=d.integer("shift", -7, 7))
    else:
        dims = d.draw("dims", st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
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


@case("shape", op_class=OpClass.EXACT, notes="torch.diagonal with an offset between two drawn dims.")
def diagonal(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=2)
    dim1 = d.integer("dim1", 0, len(shape) - 1)
    dim2 = d.choice("dim2", [i for i in range(len(shape)) if i != dim1])
    module = Fn(torch.diagonal, offset=d.integer("offset", -2, 2), dim1=dim1, dim2=dim2)
    return Spec(module, (d.tensor("x", shape, dtype),))


@case("shape", op_class=OpClass.EXACT, notes="torch.nn.functional.pixel_shuffle (DepthToSpace, CRD order).")
def pixel_shuffle(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    r = d.integer("upscale_factor", 1, 3)
    c = d.integer("channels", 1, 2)
    x = d.tensor("x", (d.integer("batch", 1, 2), c * r * r, d.integer("height", 1, 3), d.integer("width", 1, 3)), dtype)
    return Spec(Fn(torch.nn.functional.pixel_shuffle, upscale_factor=r), (x,))


@case("shape", op_class=OpClass.EXACT, notes="torch.nn.functional.pixel_unshuffle (SpaceToDepth in torch's order).")
def pixel_unshuffle(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    r = d.integer("downscale_factor", 1, 3)
    h, w = r * d.integer("blocks_h", 1, 3), r * d.integer("blocks_w", 1, 3)
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 2), h, w), dtype)
    return Spec(Fn(torch.nn.functional.pixel_unshuffle, downscale_factor=r), (x,))


@case("shape", op_class=OpClass.EXACT, notes="torch.nn.functional.channel_shuffle in g groups.")
def channel_shuffle(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64"))
    g = d.integer("groups", 1, 3)
    x = d.tensor("x", (d.integer("batch", 1, 2), g * d.integer("per_group", 1, 3), d.integer("length", 1, 4)), dtype)
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


@case("indexing", op_class=OpClass.EXACT, notes="torch.narrow: a length-l window from a start along a dim.")
def narrow(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    start = d.integer("start", 0, shape[dim])
    length = d.integer("length", 0, shape[dim] - start)
    return Spec(Fn(torch.narrow, dim=dim, start=start, length=length), (d.tensor("x", shape, dtype),))


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
    notes="torch.take_along_dim with in-range (and negative) indices; negative indices wrap in both.",
)
def take_along_dim(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    shape = d.shape(min_dims=1)
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
    notes="torch.Tensor.scatter of a src tensor along a dim (ScatterElements). Indices are distinct "
    "along the dim, because ONNX leaves duplicate writes undefined.",
)
def scatter(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    index_shape = tuple(d.integer(f"index{i}", 1, shape[i]) for i in range(len(shape)))
    index = _permutation_index(d, "index", index_shape, dim, shape[dim])
    src = d.tensor("src", index_shape, dtype)

    def scatter(x: torch.Tensor, index: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        return torch.scatter(x, dim, index, src)

    return Spec(Fn(scatter), (d.tensor("x", shape, dtype), index, src))


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
    notes="torch.scatter_reduce with sum, prod, amax or amin and include_self (ScatterElements "
    "reduction, max/min from opset 18); duplicates allowed since these reductions are order-free "
    "up to rounding.",
)
def scatter_reduce(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    index_shape = list(min(d.integer(f"index{i}", 1, 4), shape[i]) for i in range(len(shape)))
    index_shape[dim] = d.integer("index_len", 1, 6)
    index = d.tensor("index", index_shape, "int64", low=0, high=shape[dim] - 1, special=False)
    src = d.tensor("src", index_shape, dtype)
    reduce = d.choice("reduce", ("sum", "prod", "amax", "amin"))
    include_self = d.boolean("include_self")

    def scatter_reduce(x: torch.Tensor, index: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        return torch.scatter_reduce(x, dim, index, src, reduce=reduce, include_self=include_self)

    return Spec(Fn(scatter_reduce), (d.tensor("x", shape, dtype), index, src))


@case("indexing", op_class=OpClass.EXACT, notes="torch.index_select with in-range, possibly repeated indices (Gather).")
def index_select(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    index = d.tensor("index", (d.integer("n_index", 0, 6),), "int64", low=0, high=shape[dim] - 1, special=False)

    def index_select(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return torch.index_select(x, dim, index)

    return Spec(Fn(index_select), (d.tensor("x", shape, dtype), index))


@case(
    "indexing", op_class=OpClass.EXACT, notes="Advanced indexing x[idx] with an int64 tensor on dim 0, negatives too."
)
def advanced_index(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    n = shape[0]
    index = d.tensor(
        "index", d.shape("index_shape", max_dims=2, max_side=4), "int64", low=-n, high=n - 1, special=False
    )

    def take(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return x[i]

    return Spec(Fn(take), (d.tensor("x", shape, dtype), index))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="torch.index_put (x[idx] = v) with distinct indices on dim 0 (ScatterND); duplicates "
    "would make the result order-dependent.",
)
def index_put(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    shape = d.shape(min_dims=1)
    k = d.integer("n_index", 1, shape[0])
    index = _permutation_index(d, "index", (k,), 0, shape[0])

    def put(x: torch.Tensor, i: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.index_put(x, (i,), v)

    return Spec(Fn(put), (d.tensor("x", shape, dtype), index, d.tensor("values", (k, *shape[1:]), dtype)))


@case(
    "indexing",
    op_class=OpClass.EXACT,
    notes="torch.masked_fill with a broadcast bool mask and a finite, infinite or NaN fill value.",
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

    def fill(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return x.masked_fill(mask, value)

    return Spec(Fn(fill), (d.tensor("x", sx, dtype), d.tensor("mask", sm, "bool")))


@case("indexing", op_class=OpClass.EXACT, notes="torch.nn.functional.one_hot of in-range int64 labels (OneHot).")
def one_hot(d: Draw) -> Spec:
    n = d.integer("num_classes", 1, 6)
    labels = d.tensor("labels", d.shape(max_dims=3), "int64", low=0, high=n - 1, special=False)
    return Spec(Fn(torch.nn.functional.one_hot, num_classes=n), (labels,))


@case(
    "indexing",
    op_class=OpClass.ELEMENTWISE,
    notes="torch.arange sized by the input's last dim, offset and stepped, added to the input (Range, then one rounding in Add).",
)
def arange(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int32", "int64"))
    shape = d.shape(min_dims=1)
    start = d.integer("start", -3, 3)
    step = d.choice("step", (1, 2, -1))

    def add_range(x: torch.Tensor) -> torch.Tensor:
        n = x.shape[-1]
        return x + torch.arange(start, start + step * n, step, dtype=x.dtype)

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
    notes="torch.nn.functional.pad in constant, reflect, replicate and circular mode over the last "
    "1 to 3 dims. Reflect pads stay below the dim size and circular pads at most the size, as torch requires.",
)
def pad(d: Draw) -> Spec:
    mode = d.choice("mode", ("constant", "reflect", "replicate", "circular"))
    dtype = d.dtype(ALL if mode == "constant" else ("float32", "float16", "bfloat16", "float64", "int32", "int64"))
    k = d.integer("padded_dims", 1, 3)
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
    notes="Constant pad with negative amounts, which crop (ONNX Pad allows negative pads).",
)
def pad_negative(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64"))
    shape = d.shape(min_dims=1, min_side=3)
    pads = []
    for i in range(len(shape)):
        pads += [d.integer(f"pad{i}_before", -1, 2), d.integer(f"pad{i}_after", -1, 2)]
    return Spec(Fn(torch.nn.functional.pad, pad=tuple(pads)), (d.tensor("x", shape, dtype),))


# ---------------------------------------------------------------- sorting and selection


@case(
    "sorting",
    op_class=OpClass.EXACT,
    notes="torch.sort values and indices, ascending or descending (TopK with k = size). Any explicit "
    "stable= argument makes both exporters fail, so it is left out; values are drawn wide so ties, "
    "whose order torch does not promise, are rare (ONNX TopK breaks ties by lower index). Torch "
    "orders NaN last ascending; ONNX TopK says nothing about NaN (spec gap).",
)
def sort(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int8", "int32", "int64"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    module = Fn(torch.sort, dim=dim, descending=d.boolean("descending"))
    return Spec(module, (d.tensor("x", shape, dtype, low=-1000, high=1000),))


@case(
    "sorting",
    op_class=OpClass.EXACT,
    notes="torch.argsort (TopK indices); ties are rare, NaN order is a spec gap as for sort.",
)
def argsort(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int32", "int64"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    module = Fn(torch.argsort, dim=dim, descending=d.boolean("descending"))
    return Spec(module, (d.tensor("x", shape, dtype, low=-1000, high=1000),))


@case(
    "sorting",
    op_class=OpClass.EXACT,
    notes="torch.topk, largest or smallest, sorted. Values drawn wide so ties are rare; torch's tie "
    "order is not documented, ONNX TopK's is lower index first. NaN order is a spec gap.",
)
def topk(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int32", "int64"))
    shape = d.shape(min_dims=1)
    dim = _dim(d, len(shape))
    k = d.integer("k", 0, shape[dim])
    module = Fn(torch.topk, k=k, dim=dim, largest=d.boolean("largest"), sorted=True)
    return Spec(module, (d.tensor("x", shape, dtype, low=-1000, high=1000),))


@case(
    "sorting",
    op_class=OpClass.EXACT,
    min_opset=11,
    notes="torch.unique (sorted) with inverse indices and counts (Unique); a data-dependent output "
    "shape. Integer-valued draws so repeats are common. With NaN torch keeps every NaN apart.",
)
def unique(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "int32"))
    shape = d.shape(min_dims=1, max_dims=2)
    x = np.round(d.tensor("x", shape, dtype, low=-3, high=3))
    module = Fn(torch.unique, sorted=True, return_inverse=True, return_counts=True)
    return Spec(module, (x,))


@case(
    "sorting",
    op_class=OpClass.EXACT,
    notes="torch.bucketize of values into sorted 1-D boundaries, right or left side; ties with a boundary matter.",
)
def bucketize(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64"))
    edges = np.sort(d.tensor("boundaries", (d.integer("n_edges", 1, 6),), dtype, special=False))
    right = d.boolean("right")

    def search(x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.bucketize(x, b, right=right)

    return Spec(Fn(search), (d.tensor("x", d.shape(max_dims=2), dtype), edges))


# ---------------------------------------------------------------- resampling


_INTERP_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


@case(
    "resampling",
    op_class=OpClass.ELEMENTWISE,
    notes="torch.nn.functional.interpolate in nearest, nearest-exact, linear, bilinear, bicubic, "
    "trilinear and area mode, by size or by scale factor, align_corners both ways for the linear "
    "family (Resize). nearest uses torch's floor rounding, which Resize spells as asymmetric/floor.",
)
def interpolate(d: Draw) -> Spec:
    mode = d.choice("mode", ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"))
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64"))
    rank = _INTERP_RANK.get(mode) or d.integer("spatial_dims", 1, 3)
    spatial = tuple(d.integer(f"size{i}", 1, 5) for i in range(rank))
    kwargs: dict[str, object] = {"mode": mode}
    if d.boolean("by_scale") and mode != "area":
        # Halving a size-1 axis leaves nothing: torch refuses an empty output, so 0.5 needs sizes >= 2.
        scales = (0.5, 2.0, 3.0, 1.5) if min(spatial) >= 2 else (2.0, 3.0, 1.5)
        kwargs["scale_factor"] = d.choice("scale_factor", scales)
    else:
        kwargs["size"] = tuple(d.integer(f"out{i}", 1, 7) for i in range(rank))
    if mode in _INTERP_RANK:
        kwargs["align_corners"] = d.boolean("align_corners")
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 2), *spatial), dtype)
    return Spec(Fn(torch.nn.functional.interpolate, **kwargs), (x,))


@case(
    "resampling",
    op_class=OpClass.ELEMENTWISE,
    min_opset=16,
    notes="torch.nn.functional.grid_sample (GridSample, opset 16) with bilinear or nearest sampling, "
    "zeros/border/reflection padding and align_corners both ways; grid points in [-1.2, 1.2].",
)
def grid_sample(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    mode = d.choice("mode", ("bilinear", "nearest"))
    padding = d.choice("padding_mode", ("zeros", "border", "reflection"))
    align = d.boolean("align_corners")
    n, c = d.integer("batch", 1, 2), d.integer("channels", 1, 2)
    h, w = d.integer("height", 1, 4), d.integer("width", 1, 4)
    gh, gw = d.integer("grid_h", 1, 4), d.integer("grid_w", 1, 4)
    module = Fn(torch.nn.functional.grid_sample, mode=mode, padding_mode=padding, align_corners=align)
    grid = d.tensor("grid", (n, gh, gw, 2), dtype, low=-1.2, high=1.2, special=False)
    return Spec(module, (d.tensor("x", (n, c, h, w), dtype), grid))


# ---------------------------------------------------------------- attention and embedding


@case(
    "attention",
    unspecified=ZERO_SIGN,
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.functional.scaled_dot_product_attention: no mask, a bool mask (every query "
    "keeps key 0, so no row is fully masked), an additive float mask, or is_causal; optional scale; "
    "heads and batch broadcast in the mask." + ZERO_SIGN_NOTE,
)
def scaled_dot_product_attention(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    b, h = d.integer("batch", 1, 2), d.integer("heads", 1, 3)
    lq, lk, e, ev = (
        d.integer("q_len", 1, 5),
        d.integer("kv_len", 1, 5),
        d.integer("dim", 1, 8),
        d.integer("v_dim", 1, 8),
    )
    mask_kind = d.choice("mask", ("none", "bool", "additive", "causal"))
    scale = d.choice("scale", (None, 0.5))
    q = d.tensor("q", (b, h, lq, e), dtype)
    k = d.tensor("k", (b, h, lk, e), dtype)
    v = d.tensor("v", (b, h, lk, ev), dtype)
    mask_form = d.choice("mask_broadcast", ("2d", "per-batch", "per-head"))
    mask_shape = {"2d": (lq, lk), "per-batch": (b, 1, lq, lk), "per-head": (1, h, lq, lk)}[mask_form]

    if mask_kind == "bool":

        def attend_bool(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
            m = m | (torch.arange(m.shape[-1]) == 0)
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=scale)

        return Spec(Fn(attend_bool), (q, k, v, d.tensor("attn_mask", mask_shape, "bool")))
    if mask_kind == "additive":

        def attend_add(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=scale)

        return Spec(Fn(attend_add), (q, k, v, d.tensor("attn_mask", mask_shape, dtype, special=False)))
    causal = mask_kind == "causal"

    def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)

    return Spec(Fn(attend), (q, k, v))


@case(
    "embedding",
    op_class=OpClass.EXACT,
    notes="torch.nn.Embedding with seeded weights and optional padding_idx, indices of any rank (Gather).",
)
def embedding(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    n, dim = d.integer("num_embeddings", 1, 10), d.integer("embedding_dim", 1, 6)
    padding_idx = d.choice("padding_idx", (None, 0))
    layer = seeded(d.weights_seed(), lambda: torch.nn.Embedding(n, dim, padding_idx=padding_idx))
    layer = layer.to(getattr(torch, dtype))
    return Spec(layer, (d.tensor("indices", d.shape(max_dims=3), "int64", low=0, high=n - 1, special=False),))


@case(
    "embedding",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="torch.nn.EmbeddingBag (sum, mean or max) over fixed-size bags given as a 2-D index tensor, seeded weights."
    + ZERO_SIGN_NOTE,
)
def embedding_bag(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    n, dim = d.integer("num_embeddings", 1, 10), d.integer("embedding_dim", 1, 6)
    mode = d.choice("mode", ("sum", "mean", "max"))
    layer = seeded(d.weights_seed(), lambda: torch.nn.EmbeddingBag(n, dim, mode=mode)).to(getattr(torch, dtype))
    shape = (d.integer("bags", 1, 4), d.integer("bag_size", 1, 4))
    return Spec(layer, (d.tensor("indices", shape, "int64", low=0, high=n - 1, special=False),))
