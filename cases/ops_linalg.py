"""Linear-algebra cases: matrix products in every spelling torch has, einsum, and
distances built on them. Weights of modules come from a drawn seed.

Integer matrix products are exact in torch and in ONNX's MatMul, so int32 and
int64 are drawn where torch's CPU kernels have them. Operands drawn `transpose_*`
are stored the other way round and transposed inside the graph, as `x @ w.T`
does (Gemm's transA/transB, or a Transpose before MatMul).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from conformance.casekit import ZERO_SIGN, ZERO_SIGN_NOTE, Fn, seeded
from conformance.dtypes import FLOATS
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

MM_DTYPES = ("float32", "float16", "bfloat16", "float64", "int32", "int64")
#: Sums of products can end in a zero whose sign ONNX leaves open (MatMul, Gemm, ReduceSum).


def _size(d: Draw, label: str, low: int = 1, high: int = 6) -> int:
    return d.integer(label, low, high)


def _scale(d: Draw, label: str, dtype: str) -> float | int:
    """A beta/alpha multiplier; integers for integer dtypes, as torch requires."""
    if dtype.startswith(("int", "uint")):
        return d.choice(label, (0, 1, 2, -1))
    return d.choice(label, (0.0, 1.0, 0.5, -2.0))


def _transposing(fn: Callable[..., Any], flips: Sequence[bool], **kwargs: Any) -> Fn:
    """`fn` on its operands, those flagged in `flips` transposed in their last two dims first."""
    if not any(flips):
        return Fn(fn, **kwargs)

    def call(*xs: torch.Tensor) -> torch.Tensor:
        return fn(*(x.transpose(-2, -1) if flip else x for x, flip in zip(xs, flips, strict=True)), **kwargs)

    return Fn(call)


def _stored(shape: tuple[int, ...], flip: bool) -> tuple[int, ...]:
    """The shape an operand is drawn in: its last two dims swapped where the graph transposes it."""
    return (*shape[:-2], shape[-1], shape[-2]) if flip else shape


_TRANSPOSE_NOTE = " Either operand may come transposed (a Transpose, or Gemm's transA/transB)."


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.bmm: batched (b, n, m) @ (b, m, p); size-0 batch and k drawn." + _TRANSPOSE_NOTE + ZERO_SIGN_NOTE,
)
def bmm(d: Draw) -> Spec:
    dtype = d.dtype(MM_DTYPES)
    b, n, m, p = _size(d, "b", 0, 3), _size(d, "n"), _size(d, "m", 0, 8), _size(d, "p")
    flips = (d.boolean("transpose_a"), d.boolean("transpose_b"))
    a = d.tensor("a", _stored((b, n, m), flips[0]), dtype)
    return Spec(_transposing(torch.bmm, flips), (a, d.tensor("b_", _stored((b, m, p), flips[1]), dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.mm: 2-D matrix product (MatMul or Gemm), int32 and int64 included." + _TRANSPOSE_NOTE + ZERO_SIGN_NOTE,
)
def mm(d: Draw) -> Spec:
    dtype = d.dtype(MM_DTYPES)
    n, m, p = _size(d, "n"), _size(d, "m", 1, 16), _size(d, "p")
    flips = (d.boolean("transpose_a"), d.boolean("transpose_b"))
    a, b = d.tensor("a", _stored((n, m), flips[0]), dtype), d.tensor("b", _stored((m, p), flips[1]), dtype)
    return Spec(_transposing(torch.mm, flips), (a, b))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.mv: matrix times vector, the matrix optionally transposed in the graph." + ZERO_SIGN_NOTE,
)
def mv(d: Draw) -> Spec:
    dtype = d.dtype(MM_DTYPES)
    n, m = _size(d, "n"), _size(d, "m", 1, 16)
    flips = (d.boolean("transpose_a"), False)
    a = d.tensor("a", _stored((n, m), flips[0]), dtype)
    return Spec(_transposing(torch.mv, flips), (a, d.tensor("v", (m,), dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.dot: inner product of two vectors (empty ones included) into a 0-d tensor." + ZERO_SIGN_NOTE,
)
def dot(d: Draw) -> Spec:
    dtype = d.dtype(MM_DTYPES)
    n = _size(d, "n", 0, 32)
    return Spec(Fn(torch.dot), (d.tensor("a", (n,), dtype), d.tensor("b", (n,), dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.ELEMENTWISE,
    notes="torch.outer: one product per element, no accumulation." + ZERO_SIGN_NOTE,
)
def outer(d: Draw) -> Spec:
    dtype = d.dtype((*MM_DTYPES, "int8", "uint8"))
    n, m = _size(d, "n", 0, 6), _size(d, "m")
    return Spec(Fn(torch.outer), (d.tensor("a", (n,), dtype), d.tensor("b", (m,), dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.inner: contraction over the last dim of both inputs; a 0-d operand scales the other." + ZERO_SIGN_NOTE,
)
def inner(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64", "int64"))
    form = d.choice("operands", ("tensors", "scalar_a", "scalar_b"))
    k = _size(d, "k", 1, 8)
    sa = () if form == "scalar_a" else (*d.shape("batch_a", max_dims=2, max_side=3), k)
    sb = () if form == "scalar_b" else (*d.shape("batch_b", max_dims=2, max_side=3), k)
    return Spec(Fn(torch.inner), (d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)))


_ALPHA_BETA_NOTE = (
    " alpha and beta 0, 1, 0.5, -2 (0, 1, 2, -1 for integers). With beta == 0 torch ignores the input "
    "(NaN in it does not propagate)."
)


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.addmm: beta * input + alpha * (a @ b), input full, a row, a column or 0-d; Gemm's alpha/beta."
    + _ALPHA_BETA_NOTE
    + _TRANSPOSE_NOTE
    + ZERO_SIGN_NOTE,
)
def addmm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64", "int64"))
    n, m, p = _size(d, "n"), _size(d, "m", 1, 12), _size(d, "p")
    bias_shape = d.choice("bias_shape", ("full", "row", "column", "scalar"))
    shape = {"full": (n, p), "row": (p,), "column": (n, 1), "scalar": ()}[bias_shape]
    flips = (False, d.boolean("transpose_a"), d.boolean("transpose_b"))
    module = _transposing(torch.addmm, flips, beta=_scale(d, "beta", dtype), alpha=_scale(d, "alpha", dtype))
    a, b = d.tensor("a", _stored((n, m), flips[1]), dtype), d.tensor("b", _stored((m, p), flips[2]), dtype)
    return Spec(module, (d.tensor("input", shape, dtype), a, b))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.addmv: beta * input + alpha * (a @ v), input (n,), (1,) or 0-d." + _ALPHA_BETA_NOTE + ZERO_SIGN_NOTE,
)
def addmv(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64", "int64"))
    n, m = _size(d, "n"), _size(d, "m", 1, 12)
    form = d.choice("input_broadcast", ("full", "one", "scalar"))
    shape = {"full": (n,), "one": (1,), "scalar": ()}[form]
    module = Fn(torch.addmv, beta=_scale(d, "beta", dtype), alpha=_scale(d, "alpha", dtype))
    inputs = (d.tensor("input", shape, dtype), d.tensor("a", (n, m), dtype), d.tensor("v", (m,), dtype))
    return Spec(module, inputs)


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.addr: beta * input + alpha * outer(a, b), input full, a row, a column or 0-d."
    + _ALPHA_BETA_NOTE
    + ZERO_SIGN_NOTE,
)
def addr(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64", "int64"))
    n, m = _size(d, "n"), _size(d, "m")
    form = d.choice("input_broadcast", ("full", "row", "column", "scalar"))
    shape = {"full": (n, m), "row": (m,), "column": (n, 1), "scalar": ()}[form]
    module = Fn(torch.addr, beta=_scale(d, "beta", dtype), alpha=_scale(d, "alpha", dtype))
    inputs = (d.tensor("input", shape, dtype), d.tensor("a", (n,), dtype), d.tensor("b", (m,), dtype))
    return Spec(module, inputs)


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.baddbmm: beta * input + alpha * bmm(a, b), input full or broadcast (a matrix, a row, 0-d)."
    + _ALPHA_BETA_NOTE
    + ZERO_SIGN_NOTE,
)
def baddbmm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64", "int64"))
    b, n, m, p = _size(d, "b", 1, 3), _size(d, "n"), _size(d, "m", 1, 8), _size(d, "p")
    form = d.choice("input_broadcast", ("full", "matrix", "row", "scalar"))
    shape = {"full": (b, n, p), "matrix": (n, p), "row": (1, 1, p), "scalar": ()}[form]
    module = Fn(torch.baddbmm, beta=_scale(d, "beta", dtype), alpha=_scale(d, "alpha", dtype))
    inputs = (d.tensor("input", shape, dtype), d.tensor("a", (b, n, m), dtype), d.tensor("b_", (b, m, p), dtype))
    return Spec(module, inputs)


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.addbmm: beta * input + alpha * sum over the batch of bmm, input full, a row or 0-d."
    + _ALPHA_BETA_NOTE
    + ZERO_SIGN_NOTE,
)
def addbmm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64", "int64"))
    b, n, m, p = _size(d, "b", 1, 3), _size(d, "n"), _size(d, "m", 1, 8), _size(d, "p")
    form = d.choice("input_broadcast", ("full", "row", "scalar"))
    shape = {"full": (n, p), "row": (p,), "scalar": ()}[form]
    module = Fn(torch.addbmm, beta=_scale(d, "beta", dtype), alpha=_scale(d, "alpha", dtype))
    inputs = (d.tensor("input", shape, dtype), d.tensor("a", (b, n, m), dtype), d.tensor("b_", (b, m, p), dtype))
    return Spec(module, inputs)


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.Linear with seeded weights and optional bias over inputs of rank 1 to 4 (Gemm or MatMul+Add)."
    + ZERO_SIGN_NOTE,
)
def linear(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    fin, fout = _size(d, "in_features", 1, 16), _size(d, "out_features", 1, 8)
    bias = d.boolean("bias")
    lead = d.shape("lead", max_dims=3, max_side=3)
    layer = seeded(d.weights_seed(), lambda: torch.nn.Linear(fin, fout, bias=bias)).to(getattr(torch, dtype))
    return Spec(layer, (d.tensor("x", (*lead, fin), dtype),))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.Bilinear with seeded weights: x1^T A x2 + b, over inputs of rank 1 to 3." + ZERO_SIGN_NOTE,
)
def bilinear(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    n1, n2, out = _size(d, "in1", 1, 5), _size(d, "in2", 1, 5), _size(d, "out", 1, 4)
    bias = d.boolean("bias")
    lead = tuple(_size(d, f"batch{i}", 1, 4) for i in range(d.integer("lead_dims", 0, 2)))
    layer = seeded(d.weights_seed(), lambda: torch.nn.Bilinear(n1, n2, out, bias=bias)).to(getattr(torch, dtype))
    return Spec(layer, (d.tensor("x1", (*lead, n1), dtype), d.tensor("x2", (*lead, n2), dtype)))


#: Equation -> each operand's dims, one letter per dim; `1` is a dim of size 1 (broadcast in an ellipsis).
_EINSUM = {
    "ij,jk->ik": ("ij", "jk"),
    "ij,jk": ("ij", "jk"),
    "bij,bjk->bik": ("bij", "bjk"),
    "bhqd,bhkd->bhqk": ("bhqd", "bhkd"),
    "i,i->": ("i", "i"),
    "i,j->ij": ("i", "j"),
    "ij,j->i": ("ij", "j"),
    "ij,ij->": ("ij", "ij"),
    "ij->ji": ("ij",),
    "bij->bj": ("bij",),
    "ii->i": ("ii",),
    "ii->": ("ii",),
    "bii->bi": ("bii",),
    "...ij,...jk->...ik": ("yzij", "1jk"),
    "ij,ij->ij": ("ij", "ij"),
    "bn,anm,bm->ba": ("bn", "anm", "bm"),
}


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.einsum over matrix products (explicit and implicit output), batched attention scores, "
    "inner, outer and full contractions, traces, diagonals (batched too), transposes, sums, an ellipsis "
    "that broadcasts across ranks and a size-1 dim, and a three-operand contraction." + ZERO_SIGN_NOTE,
)
def einsum(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "float16", "int64"))
    equation = d.choice("equation", sorted(_EINSUM))
    letters = sorted(set("".join(_EINSUM[equation])) - {"1"})
    sizes = {"1": 1} | {c: d.integer(f"size_{c}", 1, 4) for c in letters}
    inputs = tuple(d.tensor(f"x{i}", tuple(sizes[c] for c in spec), dtype) for i, spec in enumerate(_EINSUM[equation]))

    def contract(*xs: torch.Tensor) -> torch.Tensor:
        return torch.einsum(equation, *xs)

    return Spec(Fn(contract), inputs)


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.tensordot contracting k = 0..2 dims, dims given as an int (last k of a with first k of b), "
    "as lists naming those, or as lists of permuted positions, non-negative or negative." + ZERO_SIGN_NOTE,
)
def tensordot(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64"))
    form = d.choice("dims_form", ("int", "lists", "permuted", "negative"))
    k = d.integer("contract_dims", 0, 2)
    shared = d.shape("shared", min_dims=k, max_dims=k, max_side=4)
    # Free dims stay short (a large draw lengthens the contracted ones only), so outputs stay small.
    free_a = tuple(d.integer(f"free_a{i}", 1, 3) for i in range(d.integer("free_a_dims", 0, 2)))
    free_b = tuple(d.integer(f"free_b{i}", 1, 3) for i in range(d.integer("free_b_dims", 0, 2)))
    # Axes named ("a", i) are a's own, ("s", j) the j-th contracted pair; permuted forms shuffle both operands.
    axes_a = [("a", i) for i in range(len(free_a))] + [("s", j) for j in range(k)]
    axes_b = [("s", j) for j in range(k)] + [("b", i) for i in range(len(free_b))]
    if form in ("permuted", "negative"):
        axes_a = list(d.choice("order_a", list(itertools.permutations(axes_a)), cover=False))
        axes_b = list(d.choice("order_b", list(itertools.permutations(axes_b)), cover=False))
    size = {("a", i): s for i, s in enumerate(free_a)} | {("b", i): s for i, s in enumerate(free_b)}
    size |= {("s", j): s for j, s in enumerate(shared)}
    dims_a = [axes_a.index(("s", j)) - (len(axes_a) if form == "negative" else 0) for j in range(k)]
    dims_b = [axes_b.index(("s", j)) - (len(axes_b) if form == "negative" else 0) for j in range(k)]
    dims: int | list[list[int]] = k if form == "int" else [dims_a, dims_b]
    a = d.tensor("a", tuple(size[x] for x in axes_a), dtype)
    b = d.tensor("b", tuple(size[x] for x in axes_b), dtype)
    return Spec(Fn(torch.tensordot, dims=dims), (a, b))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.linalg.multi_dot: a chain of 2 to 4 products, the first and the last operand matrices or "
    "vectors (a row and a column vector: a 1-D or 0-d result)." + ZERO_SIGN_NOTE,
)
def multi_dot(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64"))
    count = d.choice("operands", (2, 3, 4))
    first_vector, last_vector = d.boolean("first_vector"), d.boolean("last_vector")
    sides = [_size(d, f"size{i}") for i in range(count + 1)]
    shapes = [(sides[i], sides[i + 1]) for i in range(count)]
    if first_vector:
        shapes[0] = shapes[0][1:]
    if last_vector:
        shapes[-1] = shapes[-1][:1]

    def chain(*xs: torch.Tensor) -> torch.Tensor:
        return torch.linalg.multi_dot(list(xs))

    return Spec(Fn(chain), tuple(d.tensor(f"x{i}", s, dtype) for i, s in enumerate(shapes)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.linalg.matrix_power with n in 0..3 (identity for 0), batched; for floats also n = -1, -2 "
    "(the inverse: no ONNX op, an exporter must decompose it) on diagonally dominant matrices." + ZERO_SIGN_NOTE,
)
def matrix_power(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64"))
    power = d.choice("power", (0, 1, 2, 3) if dtype == "int64" else (-2, -1, 0, 1, 2, 3))
    n = _size(d, "size", 1, 4)
    batch = d.shape("batch", max_dims=2, max_side=3)
    x = d.tensor("x", (*batch, n, n), dtype, low=-1, high=1, special=None if power >= 0 else False)
    if power < 0:
        # Well away from singular, so the inverse is accurate and torch never raises.
        x = x + (n + 1) * np.eye(n, dtype=x.dtype)
    return Spec(Fn(torch.linalg.matrix_power, n=power), (x,))


def _dim(d: Draw, rank: int, position: int) -> int:
    """The dim at `position` of a rank-`rank` result, named from the front or (negative) from the back."""
    return position - rank if d.boolean("negative_dim") else position


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.linalg.vecdot: batched dot product along any dim (positive or negative), broadcast." + ZERO_SIGN_NOTE,
)
def vecdot(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    sa, sb = d.broadcast_shapes()
    k = _size(d, "k", 1, 6)
    # The contracted dim sits `back` dims from the end, so rank broadcasting still lines the others up.
    back = d.integer("dim_from_end", 0, min(len(sa), len(sb)))
    sa = (*sa[: len(sa) - back], k, *sa[len(sa) - back :])
    sb = (*sb[: len(sb) - back], k, *sb[len(sb) - back :])
    rank = max(len(sa), len(sb))
    dim = _dim(d, rank, rank - 1 - back)
    return Spec(Fn(torch.linalg.vecdot, dim=dim), (d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)))


@case("linalg", op_class=OpClass.EXACT, notes="torch.trace: the sum of the main diagonal of a 2-D matrix.")
def trace(d: Draw) -> Spec:
    dtype = d.dtype(("int32", "int64"))
    return Spec(Fn(torch.trace), (d.tensor("x", (_size(d, "rows"), _size(d, "cols")), dtype),))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.linalg.cross of 3-vectors along any dim (positive or negative), broadcast." + ZERO_SIGN_NOTE,
)
def cross(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int32", "int64"))
    sa, sb = d.broadcast_shapes(max_dims=3)
    rank = max(len(sa), len(sb))  # linalg.cross broadcasts sizes but not ranks
    sa, sb = (1,) * (rank - len(sa)) + sa, (1,) * (rank - len(sb)) + sb
    position = d.integer("dim_pos", 0, rank)
    sa, sb = (*sa[:position], 3, *sa[position:]), (*sb[:position], 3, *sb[position:])
    dim = _dim(d, rank + 1, position)
    return Spec(Fn(torch.linalg.cross, dim=dim), (d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.functional.cosine_similarity along any dim, same shapes or broadcast, eps 1e-8, 0.1 or 0 "
    "(norms clamp to eps; with 0 a zero vector gives NaN)." + ZERO_SIGN_NOTE,
)
def cosine_similarity(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    if d.boolean("broadcast"):
        sa, sb = d.broadcast_shapes(max_dims=3)
        k = _size(d, "k", 1, 5)
        sa, sb = (*sa, k), (*sb, k)
    else:
        sa = sb = d.shape(min_dims=1)
    rank = max(len(sa), len(sb))
    dim = d.integer("dim", -rank, rank - 1)
    module = Fn(torch.nn.functional.cosine_similarity, dim=dim, eps=d.choice("eps", (1e-8, 0.1, 0.0)))
    return Spec(module, (d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="torch.nn.functional.pairwise_distance with p = 0, 1, 1.5, 2, 3, inf, eps 1e-6, 0 or 0.5 (added to "
    "the difference) and keepdim, on (n, k) pairs, 1-D vectors, or one (k,) operand broadcast against (n, k)."
    + ZERO_SIGN_NOTE,
)
def pairwise_distance(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    n, k = _size(d, "n", 1, 5), _size(d, "k", 1, 8)
    form = d.choice("shapes", ("matrix", "vector", "broadcast_a", "broadcast_b"))
    sa = (k,) if form in ("vector", "broadcast_a") else (n, k)
    sb = (k,) if form in ("vector", "broadcast_b") else (n, k)
    module = Fn(
        torch.nn.functional.pairwise_distance,
        p=d.choice("p", (0.0, 1.0, 1.5, 2.0, 3.0, math.inf)),
        eps=d.choice("eps", (1e-6, 0.0, 0.5)),
        keepdim=d.boolean("keepdim"),
    )
    return Spec(module, (d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="torch.cdist between two point sets with p = 0, 1, 1.5, 2, inf; for p = 2 every compute_mode (the "
    "matmul form sqrt(|x|^2 + |y|^2 - 2xy) or the direct one). Unbatched, batched, or batch dims that "
    "broadcast across ranks." + ZERO_SIGN_NOTE,
)
def cdist(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    form = d.choice("batch_form", ("none", "same", "broadcast"))
    b, p, r, m = _size(d, "batch", 1, 2), _size(d, "p_rows"), _size(d, "r_rows"), _size(d, "features", 1, 4)
    lead_a, lead_b = {"none": ((), ()), "same": ((b,), (b,)), "broadcast": ((b, 1), (_size(d, "batch_b", 1, 3),))}[form]
    norm = d.choice("p", (0.0, 1.0, 1.5, 2.0, math.inf))
    modes = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")
    extra = {"compute_mode": d.choice("compute_mode", modes)} if norm == 2.0 else {}
    module = Fn(torch.cdist, p=norm, **extra)
    return Spec(module, (d.tensor("x1", (*lead_a, p, m), dtype), d.tensor("x2", (*lead_b, r, m), dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.ELEMENTWISE,
    notes="torch.kron: Kronecker product of tensors of rank 1 to 3, the lower rank padded with leading ones."
    + ZERO_SIGN_NOTE,
)
def kron(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64"))
    ranks = d.choice("ranks", ("2x2", "1x2", "2x1", "3x2", "1x1"))

    def shape(prefix: str, rank: int) -> tuple[int, ...]:
        names = ("depth", "rows", "cols")[3 - rank :]
        return tuple(_size(d, f"{prefix}_{name}", 1, 3) for name in names)

    sa, sb = shape("a", int(ranks[0])), shape("b", int(ranks[2]))
    return Spec(Fn(torch.kron), (d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)))
