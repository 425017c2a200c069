"""Linear-algebra cases: matrix products in every spelling torch has, einsum, and
distances built on them. Weights of modules come from a drawn seed.

Integer matrix products are exact in torch and in ONNX's MatMul, so int32 and
int64 are drawn where torch's CPU kernels have them.
"""

from __future__ import annotations

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


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.bmm: batched (b, n, m) @ (b, m, p); size-0 batch and k drawn." + ZERO_SIGN_NOTE,
)
def bmm(d: Draw) -> Spec:
    dtype = d.dtype(MM_DTYPES)
    b, n, m, p = _size(d, "b", 0, 3), _size(d, "n"), _size(d, "m", 0, 8), _size(d, "p")
    return Spec(Fn(torch.bmm), (d.tensor("a", (b, n, m), dtype), d.tensor("b_", (b, m, p), dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.mm: 2-D matrix product (MatMul or Gemm)." + ZERO_SIGN_NOTE,
)
def mm(d: Draw) -> Spec:
    dtype = d.dtype(MM_DTYPES)
    n, m, p = _size(d, "n"), _size(d, "m", 1, 16), _size(d, "p")
    return Spec(Fn(torch.mm), (d.tensor("a", (n, m), dtype), d.tensor("b", (m, p), dtype)))


@case("linalg", unspecified=ZERO_SIGN, op_class=OpClass.MATMUL, notes="torch.mv: matrix times vector." + ZERO_SIGN_NOTE)
def mv(d: Draw) -> Spec:
    dtype = d.dtype(MM_DTYPES)
    n, m = _size(d, "n"), _size(d, "m", 1, 16)
    return Spec(Fn(torch.mv), (d.tensor("a", (n, m), dtype), d.tensor("v", (m,), dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.dot: inner product of two vectors into a 0-d tensor." + ZERO_SIGN_NOTE,
)
def dot(d: Draw) -> Spec:
    dtype = d.dtype(MM_DTYPES)
    n = _size(d, "n", 1, 32)
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
    notes="torch.inner: contraction over the last dim of both inputs." + ZERO_SIGN_NOTE,
)
def inner(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64"))
    k = _size(d, "k", 1, 8)
    sa = (*d.shape("batch_a", max_dims=2, max_side=3), k)
    sb = (*d.shape("batch_b", max_dims=2, max_side=3), k)
    return Spec(Fn(torch.inner), (d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.addmm: beta * input + alpha * (a @ b), input broadcast; Gemm's alpha/beta. "
    "With beta == 0 torch ignores the input (NaN in it does not propagate)." + ZERO_SIGN_NOTE,
)
def addmm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64", "int64"))
    n, m, p = _size(d, "n"), _size(d, "m", 1, 12), _size(d, "p")
    bias_shape = d.choice("bias_shape", ("full", "row", "scalar"))
    shape = {"full": (n, p), "row": (p,), "scalar": ()}[bias_shape]
    module = Fn(torch.addmm, beta=_scale(d, "beta", dtype), alpha=_scale(d, "alpha", dtype))
    inputs = (d.tensor("input", shape, dtype), d.tensor("a", (n, m), dtype), d.tensor("b", (m, p), dtype))
    return Spec(module, inputs)


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.addmv: beta * input + alpha * (a @ v)." + ZERO_SIGN_NOTE,
)
def addmv(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64"))
    n, m = _size(d, "n"), _size(d, "m", 1, 12)
    module = Fn(torch.addmv, beta=_scale(d, "beta", dtype), alpha=_scale(d, "alpha", dtype))
    inputs = (d.tensor("input", (n,), dtype), d.tensor("a", (n, m), dtype), d.tensor("v", (m,), dtype))
    return Spec(module, inputs)


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.addr: beta * input + alpha * outer(a, b)." + ZERO_SIGN_NOTE,
)
def addr(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64"))
    n, m = _size(d, "n"), _size(d, "m")
    module = Fn(torch.addr, beta=_scale(d, "beta", dtype), alpha=_scale(d, "alpha", dtype))
    inputs = (d.tensor("input", (n, m), dtype), d.tensor("a", (n,), dtype), d.tensor("b", (m,), dtype))
    return Spec(module, inputs)


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.baddbmm: beta * input + alpha * bmm(a, b), input broadcast." + ZERO_SIGN_NOTE,
)
def baddbmm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64", "int64"))
    b, n, m, p = _size(d, "b", 1, 3), _size(d, "n"), _size(d, "m", 1, 8), _size(d, "p")
    form = d.choice("input_broadcast", ("full", "matrix", "row"))
    shape = {"full": (b, n, p), "matrix": (n, p), "row": (1, 1, p)}[form]
    module = Fn(torch.baddbmm, beta=_scale(d, "beta", dtype), alpha=_scale(d, "alpha", dtype))
    inputs = (d.tensor("input", shape, dtype), d.tensor("a", (b, n, m), dtype), d.tensor("b_", (b, m, p), dtype))
    return Spec(module, inputs)


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.addbmm: beta * input + alpha * sum over the batch of bmm." + ZERO_SIGN_NOTE,
)
def addbmm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    b, n, m, p = _size(d, "b", 1, 3), _size(d, "n"), _size(d, "m", 1, 8), _size(d, "p")
    module = Fn(torch.addbmm, beta=_scale(d, "beta", dtype), alpha=_scale(d, "alpha", dtype))
    inputs = (d.tensor("input", (n, p), dtype), d.tensor("a", (b, n, m), dtype), d.tensor("b_", (b, m, p), dtype))
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
    notes="torch.nn.Bilinear with seeded weights: x1^T A x2 + b." + ZERO_SIGN_NOTE,
)
def bilinear(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    n1, n2, out = _size(d, "in1", 1, 5), _size(d, "in2", 1, 5), _size(d, "out", 1, 4)
    bias = d.boolean("bias")
    batch = _size(d, "batch", 1, 4)
    layer = seeded(d.weights_seed(), lambda: torch.nn.Bilinear(n1, n2, out, bias=bias)).to(getattr(torch, dtype))
    return Spec(layer, (d.tensor("x1", (batch, n1), dtype), d.tensor("x2", (batch, n2), dtype)))


_EINSUM = {
    "ij,jk->ik": ("ij", "jk"),
    "bij,bjk->bik": ("bij", "bjk"),
    "bhqd,bhkd->bhqk": ("bhqd", "bhkd"),
    "i,i->": ("i", "i"),
    "i,j->ij": ("i", "j"),
    "ij,j->i": ("ij", "j"),
    "ij->ji": ("ij",),
    "bij->bj": ("bij",),
    "ii->i": ("ii",),
    "ii->": ("ii",),
    "...ij,...jk->...ik": ("zij", "zjk"),
    "ij,ij->ij": ("ij", "ij"),
    "bn,anm,bm->ba": ("bn", "anm", "bm"),
}


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.einsum over matrix products, batched attention scores, traces, diagonals, "
    "transposes, sums, ellipsis and a three-operand contraction." + ZERO_SIGN_NOTE,
)
def einsum(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "float16", "int64"))
    equation = d.choice("equation", sorted(_EINSUM))
    letters = sorted(set("".join(_EINSUM[equation])))
    sizes = {c: d.integer(f"size_{c}", 1, 4) for c in letters}
    inputs = tuple(d.tensor(f"x{i}", tuple(sizes[c] for c in spec), dtype) for i, spec in enumerate(_EINSUM[equation]))

    def contract(*xs: torch.Tensor) -> torch.Tensor:
        return torch.einsum(equation, *xs)

    return Spec(Fn(contract), inputs)


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.tensordot contracting the last k dims of a with the first k of b." + ZERO_SIGN_NOTE,
)
def tensordot(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    k = d.integer("contract_dims", 0, 2)
    shared = d.shape("shared", min_dims=k, max_dims=k, max_side=4)
    sa = (*d.shape("free_a", max_dims=2, max_side=3), *shared)
    sb = (*shared, *d.shape("free_b", max_dims=2, max_side=3))
    return Spec(Fn(torch.tensordot, dims=k), (d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.linalg.multi_dot: a chain of three matrix products." + ZERO_SIGN_NOTE,
)
def multi_dot(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    a, b, c, e = (_size(d, n) for n in "abce")

    def chain(x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.linalg.multi_dot([x, y, z])

    inputs = (d.tensor("x", (a, b), dtype), d.tensor("y", (b, c), dtype), d.tensor("z", (c, e), dtype))
    return Spec(Fn(chain), inputs)


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.linalg.matrix_power with n in 0..3 (identity for 0)." + ZERO_SIGN_NOTE,
)
def matrix_power(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    n = _size(d, "size", 1, 4)
    batch = d.shape("batch", max_dims=2, max_side=3)
    x = d.tensor("x", (*batch, n, n), dtype, low=-1, high=1)
    return Spec(Fn(torch.linalg.matrix_power, n=d.integer("power", 0, 3)), (x,))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.linalg.vecdot: batched dot product along a dim, broadcast." + ZERO_SIGN_NOTE,
)
def vecdot(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    sa, sb = d.broadcast_shapes()
    k = _size(d, "k", 1, 6)
    return Spec(Fn(torch.linalg.vecdot, dim=-1), (d.tensor("a", (*sa, k), dtype), d.tensor("b", (*sb, k), dtype)))


@case("linalg", op_class=OpClass.EXACT, notes="torch.trace: the sum of the main diagonal of a 2-D matrix.")
def trace(d: Draw) -> Spec:
    dtype = d.dtype(("int32", "int64"))
    return Spec(Fn(torch.trace), (d.tensor("x", (_size(d, "rows"), _size(d, "cols")), dtype),))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.linalg.cross of 3-vectors along a dim, broadcast." + ZERO_SIGN_NOTE,
)
def cross(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64"))
    sa, sb = d.broadcast_shapes(max_dims=3)
    rank = max(len(sa), len(sb))  # linalg.cross broadcasts sizes but not ranks
    sa, sb = (1,) * (rank - len(sa)) + sa, (1,) * (rank - len(sb)) + sb
    return Spec(Fn(torch.linalg.cross, dim=-1), (d.tensor("a", (*sa, 3), dtype), d.tensor("b", (*sb, 3), dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.functional.cosine_similarity along a dim with eps 1e-8; zero vectors clamp to eps."
    + ZERO_SIGN_NOTE,
)
def cosine_similarity(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    shape = d.shape(min_dims=1)
    dim = d.integer("dim", -len(shape), len(shape) - 1)
    module = Fn(torch.nn.functional.cosine_similarity, dim=dim)
    return Spec(module, (d.tensor("a", shape, dtype), d.tensor("b", shape, dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="torch.nn.functional.pairwise_distance with p = 1, 2 or 3, eps 1e-6." + ZERO_SIGN_NOTE,
)
def pairwise_distance(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    n, k = _size(d, "n", 1, 5), _size(d, "k", 1, 8)
    module = Fn(torch.nn.functional.pairwise_distance, p=d.choice("p", (1.0, 2.0, 3.0)), keepdim=d.boolean("keepdim"))
    return Spec(module, (d.tensor("a", (n, k), dtype), d.tensor("b", (n, k), dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="torch.cdist between two point sets with p = 1 or 2." + ZERO_SIGN_NOTE,
)
def cdist(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    b, p, r, m = _size(d, "batch", 1, 2), _size(d, "p_rows"), _size(d, "r_rows"), _size(d, "features", 1, 4)
    module = Fn(torch.cdist, p=d.choice("p", (1.0, 2.0)))
    return Spec(module, (d.tensor("x1", (b, p, m), dtype), d.tensor("x2", (b, r, m), dtype)))


@case(
    "linalg",
    unspecified=ZERO_SIGN,
    op_class=OpClass.ELEMENTWISE,
    notes="torch.kron: Kronecker product of two 2-D tensors." + ZERO_SIGN_NOTE,
)
def kron(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int64"))
    sa = (_size(d, "a_rows", 1, 3), _size(d, "a_cols", 1, 3))
    sb = (_size(d, "b_rows", 1, 3), _size(d, "b_cols", 1, 3))
    return Spec(Fn(torch.kron), (d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)))
