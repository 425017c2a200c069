"""Selection, set, generator and bit operators in forms torch's exporters never write, as single ONNX nodes.

The torch-side cases reach these ops only as torch spells them: topk with
ties avoided and an unsorted result re-sorted, K a constant; unique with
an unsorted result put in order; tril and triu with a constant diagonal;
bit shifts on the dtypes torch shifts (not uint16/32/64); arange with the
bounds torch traced; einsum with whatever equation the exporter passes on;
Dropout never in inference (the exporters drop it). Here each node gets
what the spec allows: ties ordered by index, K and Trilu's k as graph
inputs, Unique's first-occurrence order with every optional output, Mod
with either fmod on every integer dtype, implicit and upper-case Einsum
equations with spaces, Dropout's optional inputs and mask. Each case draws
every attribute and input form; its forward pass is the node's meaning by
the spec, in torch (numpy where torch has no kernel for a dtype the spec
allows).

MelWeightMatrix is not here: its spec gives the mel formula and "triangles
with a peak of 1.0" only. How mel points map onto DFT bins (rounded to a bin
or not, with dft_length or dft_length + 1, num_mel_bins + 1 or + 2 steps)
is written nowhere but in the reference evaluator, so an oracle would copy
an implementation, not the spec.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from cases._draws import axis_of, direct, int_divisor
from conformance.casekit import ZERO_SIGN, ZERO_SIGN_NOTE, OnnxNode
from conformance.dtypes import FLOATS, FLOATS_NO_BF16
from conformance.generate import Draw, numpy_dtype
from conformance.model import OpClass, Spec

#: Every integer dtype the spec's numeric ops take; torch has few kernels for the wide unsigned ones.
ALL_INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
UNSIGNED = ("uint8", "uint16", "uint32", "uint64")
#: The signed dtype of each wide unsigned one: same bits, so gather and where run on a view of it.
_SIGNED_VIEW = {torch.uint16: torch.int16, torch.uint32: torch.int32, torch.uint64: torch.int64}


def _viewable(x: torch.Tensor) -> torch.Tensor:
    """x as a dtype torch's gather and where have kernels for, its bits unchanged (uint16/32/64 have none)."""
    return x.view(_SIGNED_VIEW[x.dtype]) if x.dtype in _SIGNED_VIEW else x


def _back(y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return y.view(like.dtype) if like.dtype in _SIGNED_VIEW else y


def _without_nan(x: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """NaN replaced by `fill` where the spec says nothing of NaN (special draws put NaN everywhere)."""
    if x.dtype.kind != "f" and x.dtype.name != "bfloat16":
        return x
    x = np.array(x, copy=True)
    x[x != x] = fill
    return x


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX TopK (opset 11): largest 1 and 0, sorted 1 and 0, any axis spelled either way (or left to its "
    "default -1), K a constant or a graph input, k from 1 to the axis' length, every integer and floating "
    "dtype. Equal values (small whole numbers make them common; -0 equals +0) come lower index first, as the "
    "spec says. With sorted 0 the order of the results is undefined and the suite compares in order, so "
    "sorted 0 is drawn with k = 1 only. K is 'a single positive value': k = 0 is not drawn. The spec says "
    "nothing of NaN, and the suite cannot leave only NaN's place unjudged (Unspecified has no such entry): "
    "NaN is replaced by 0 in special draws.",
)
def top_k(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS_NO_BF16, *ALL_INTS))  # bfloat16 from TopK-24 only
    shape = d.shape(min_dims=1, max_dims=3, min_side=1)
    axis = axis_of(d, len(shape))
    size = shape[axis]
    largest = d.boolean("largest")
    sorted_ = d.boolean("sorted")
    k_form = d.choice("k", ("one", "all", "some") if sorted_ else ("one",))
    k = {"one": 1, "all": size}.get(k_form) or d.integer("k.value", 1, size)
    k_input = d.choice("k.input", ("constant", "graph-input"))
    explicit = d.boolean("attributes.explicit")
    if d.choice("values", ("ties", "spread")) == "ties":
        x = np.round(d.tensor("x", shape, dtype, low=0 if dtype in UNSIGNED else -2, high=2))
    else:
        x = d.tensor("x", shape, dtype, low=0 if dtype in UNSIGNED else -1000, high=1000)
    x = _without_nan(x)
    k_array = np.array([k], dtype=np.int64)

    def fn(t: torch.Tensor, *_k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        order = torch.sort(t, dim=axis, descending=largest, stable=True).indices  # ties: lower index first
        indices = order.narrow(axis, 0, k)
        return _back(_viewable(t).gather(axis, indices), t), indices

    attrs: dict[str, object] = {}
    if explicit or axis != -1:
        attrs["axis"] = axis
    if explicit or not largest:
        attrs["largest"] = int(largest)
    if explicit or not sorted_:
        attrs["sorted"] = int(sorted_)
    if k_input == "constant":
        return Spec(OnnxNode("TopK", fn, attributes=attrs, inputs=[0, k_array]), (x,))
    return Spec(OnnxNode("TopK", fn, attributes=attrs), (x, k_array))


@direct(
    op_class=OpClass.EXACT,
    unspecified=ZERO_SIGN,
    min_opset=11,
    notes="ONNX Unique: sorted 1 (also by default) and 0 (order of first occurrence), axis absent (the flattened "
    "input, 0-d and 0-size too), given or negative (unique slices; sorted slices in the lexicographic order "
    "of numpy.unique, which the spec cites and its example 4 follows), the outputs Y; Y and indices; ...; all "
    "four (the node writer names outputs in order, so a later output alone is not drawn). Inputs repeat a "
    "few drawn values or slices, so repeats are the rule, in the order drawn or largest first (where sorted 0 "
    "and 1 must differ). -0 equals +0: which of the two Y shows the spec "
    "leaves open. NaN, which the spec says nothing of, is replaced in special draws.",
)
def unique(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "float16", "int8", "uint8", "int16", "int32", "int64", "bool"))
    form = d.choice("axis", ("absent", "given", "negative"))
    distinct = d.integer("distinct", 1, 4)
    if form == "absent":
        axis = None
        shape = d.shape(min_dims=0, max_dims=3, min_side=0)
        n, rest = math.prod(shape), ()
    else:
        shape = d.shape(min_dims=1, max_dims=3, min_side=1)
        rank = len(shape)
        axis = d.integer("axis.value", 0, rank - 1) if form == "given" else d.integer("axis.value", -rank, -1)
        n, rest = shape[axis], tuple(s for i, s in enumerate(shape) if i != axis % rank)
    protos = _without_nan(d.tensor("values", (distinct, *rest), dtype, low=0 if dtype in UNSIGNED else -3, high=3))
    if dtype.startswith("float"):
        protos = np.round(protos)
    pattern = d.tensor("pattern", (n,), "int64", low=0, high=distinct - 1, special=False)
    if d.choice("first_occurrence", ("as drawn", "largest first")) == "largest first":
        # The values or slices relabelled so they first occur largest first: sorted 0 and 1 then differ.
        seen = list(dict.fromkeys(pattern.tolist()))
        flat = protos.reshape(distinct, -1).astype(np.float64)
        ranked = np.lexsort(flat.T[::-1])[::-1] if flat.shape[1] else np.arange(distinct)
        protos = protos[ranked]
        pattern = np.array([seen.index(p) for p in pattern.tolist()], dtype=np.int64)
    picked = protos[pattern]
    x = picked.reshape(shape) if axis is None else np.moveaxis(picked, 0, axis)
    x = np.array(x, dtype=dtype, order="C")
    sorted_ = d.boolean("sorted")
    explicit = d.boolean("sorted.explicit")
    outputs = d.choice("outputs", (1, 2, 3, 4))

    def fn(t: torch.Tensor) -> tuple[torch.Tensor, ...]:
        a = None if axis is None else axis % t.dim()
        rows = t.reshape(-1, 1) if a is None else t.movedim(a, 0).reshape(t.shape[a], -1)
        keys = [tuple(r.tolist()) for r in rows]  # -0.0 == 0.0, and hashes alike: one key
        first: dict[tuple, int] = {}
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        order = sorted(first) if sorted_ else list(first)
        position = {key: j for j, key in enumerate(order)}
        indices = torch.tensor([first[key] for key in order], dtype=torch.int64)
        inverse = torch.tensor([position[key] for key in keys], dtype=torch.int64)
        counts = torch.tensor([keys.count(key) for key in order], dtype=torch.int64)
        y = t.reshape(-1)[indices] if a is None else t.index_select(a, indices)
        return (y, indices, inverse, counts)[:outputs]

    attrs: dict[str, object] = {} if axis is None else {"axis": axis}
    if explicit or not sorted_:
        attrs["sorted"] = int(sorted_)
    return Spec(OnnxNode("Unique", fn, attributes=attrs), (x,))


@direct(
    op_class=OpClass.EXACT,
    min_opset=14,
    notes="ONNX Trilu: upper 1 (also by default) and 0, k absent (0), negative, zero, positive and past the "
    "matrix either way, k a constant or a graph input, batched or not, 0-size matrices and batches, every "
    "dtype torch holds. Elements outside the kept triangle are set to zero (+0).",
)
def trilu(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *ALL_INTS, "bool"))
    batch = d.shape("batch", max_dims=2, min_side=0, max_side=3)
    n, m = d.integer("n", 0, 4), d.integer("m", 0, 4)
    upper = d.boolean("upper")
    explicit = d.boolean("upper.explicit")
    form = d.choice("k", ("absent", "negative", "zero", "positive", "beyond"))
    if form == "negative":
        k = -d.integer("k.value", 1, max(n, 1))
    elif form == "positive":
        k = d.integer("k.value", 1, max(m, 1))
    elif form == "beyond":  # every diagonal kept or none
        k = m + d.integer("k.value", 0, 3) if d.boolean("k.above") else -n - d.integer("k.value", 0, 3)
    else:
        k = 0
    k_input = d.choice("k.input", ("constant", "graph-input")) if form != "absent" else "absent"
    x = d.tensor("x", (*batch, n, m), dtype)
    k_array = np.array(k, dtype=np.int64)

    def fn(t: torch.Tensor, *_k: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(t.shape[-2:], dtype=torch.bool)
        keep = ones.triu(k) if upper else ones.tril(k)
        v = _viewable(t)
        return _back(torch.where(keep, v, torch.zeros_like(v)), t)

    attrs = {"upper": int(upper)} if explicit or not upper else {}
    if k_input == "graph-input":
        return Spec(OnnxNode("Trilu", fn, attributes=attrs), (x, k_array))
    wiring: list[int | np.ndarray | None] = [0] if k_input == "absent" else [0, k_array]
    return Spec(OnnxNode("Trilu", fn, attributes=attrs, inputs=wiring), (x,))


@direct(
    op_class=OpClass.EXACT,
    min_opset=13,
    notes="ONNX Mod: fmod 0 (also by default) on every integer dtype, Python's % (the sign of the divisor); "
    "fmod 1 on integers and floats, C's fmod (the sign of the dividend, truncated quotient), both with "
    "negative operands and broadcasting. The spec's text says fmod 1 constrains T to floats, but its type "
    "list takes integers and ONNX's own test_mod_int64_fmod runs int64 with fmod 1: integers are drawn. "
    "An integer divisor is never 0 (undefined); a float divisor of ±0 gives NaN, ±inf gives the dividend, "
    "as the spec lists. Which zero fmod(-0, y > 0) gives the spec leaves open: a dividend -0 becomes +0.",
)
def mod(d: Draw) -> Spec:
    fmod = d.choice("fmod", (0, 1))
    dtype = d.dtype(ALL_INTS if fmod == 0 else (*ALL_INTS, *FLOATS))
    explicit = d.boolean("fmod.explicit")
    a_shape, b_shape = d.broadcast_shapes()
    integer = dtype in ALL_INTS
    a = d.tensor("a", a_shape, dtype, low=0 if dtype in UNSIGNED else -20, high=20)
    if integer:
        b = int_divisor(d, "b", b_shape, dtype)
    else:
        a = np.array(a, copy=True)
        a[a.astype(np.float32) == 0] = 0  # -0 becomes +0
        b = d.tensor("b", b_shape, dtype, low=-9, high=9)

    def fn(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.dtype.is_floating_point:
            return torch.fmod(x, y)
        # numpy: torch has no remainder for uint16/32/64, and numpy gives INT_MIN % -1 = 0 without a trap.
        with np.errstate(all="ignore"):
            out = (np.fmod if fmod else np.mod)(x.numpy(), y.numpy())
        return torch.from_numpy(np.asarray(out, dtype=x.numpy().dtype))

    attrs = {"fmod": fmod} if explicit or fmod else {}
    return Spec(OnnxNode("Mod", fn, attributes=attrs), (a, b))


@direct(
    op_class=OpClass.EXACT,
    min_opset=11,
    notes="ONNX BitShift, LEFT (bits past the width are lost) and RIGHT (logical), on uint8, uint16, uint32 and "
    "uint64, shapes broadcast together. A shift of the bit width or more the spec leaves undefined: shifts "
    "are drawn from 0 to the width - 1.",
)
def bit_shift(d: Draw) -> Spec:
    dtype = d.dtype(UNSIGNED)
    direction = d.choice("direction", ("LEFT", "RIGHT"))
    bits = np.iinfo(dtype).bits
    x_shape, s_shape = d.broadcast_shapes()
    x = d.tensor("x", x_shape, dtype, low=0, high=min(int(np.iinfo(dtype).max), 2**31))
    shift = d.tensor("shift", s_shape, dtype, low=0, high=bits - 1, special=False)

    def fn(t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        # numpy: torch has no shifts for uint16/32/64; numpy's unsigned shifts drop the bits pushed out.
        shifted = (np.left_shift if direction == "LEFT" else np.right_shift)(t.numpy(), s.numpy())
        return torch.from_numpy(np.asarray(shifted, dtype=t.numpy().dtype))

    return Spec(OnnxNode("BitShift", fn, attributes={"direction": direction}), (x, shift))


@direct(
    op_class=OpClass.EXACT,
    min_opset=11,
    notes="ONNX Range: max(ceil((limit - start) / delta), 0) elements start + i * delta, in float, double, "
    "int16, int32 and int64, delta positive or negative, results of 1 to 12 elements or empty (limit = start, "
    "or limit on the wrong side). Float bounds are quarters, so every quotient and element is exact in every "
    "precision and the count is not a question of rounding. delta = 0 divides by zero: not drawn.",
)
def range_(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "int16", "int32", "int64"))
    unit = 0.25 if dtype.startswith("float") else 1
    negative = d.boolean("delta.negative")
    step = d.integer("delta", 1, 6)
    start = d.integer("start", -40, 40)
    result = d.choice("result", ("elements", "empty: limit = start", "empty: wrong way"))
    if result == "elements":
        count = d.integer("count", 1, 12)
        span = (count - 1) * step + d.integer("remainder", 1, step)  # ceil(span / step) = count
    elif result == "empty: limit = start":
        span = 0
    else:
        span = -d.integer("distance", 1, 8)
    sign = -1 if negative else 1
    values = [start * unit, (start + sign * span) * unit, sign * step * unit]
    inputs = tuple(np.array(v, dtype=dtype) for v in values)

    def fn(s: torch.Tensor, limit: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
        first, last, by = s.item(), limit.item(), delta.item()
        if isinstance(by, int):  # exact integer ceil of (last - first) / by
            n = max(-((first - last) // by), 0)
        else:
            n = max(math.ceil((last - first) / by), 0)
        return (torch.arange(n, dtype=torch.float64) * by + first).to(s.dtype)

    return Spec(OnnxNode("Range", fn), inputs)


#: Equation -> each operand's dims, one letter per dim, "..." for the ellipsis: the node gets the equation as
#: written here (implicit outputs in ASCII order, upper case, spaces, repeated letters, an ellipsis).
_EINSUM = {
    "ij,jk": ("ij", "jk"),  # implicit: ik
    "ji": ("ji",),  # implicit: ij, a transpose
    "jB,jA": ("jB", "jA"),  # implicit: AB (upper case sorts first)
    "ij,ij": ("ij", "ij"),  # implicit: nothing left, a scalar
    "ij,jk,kl": ("ij", "jk", "kl"),  # implicit: il
    "i,j": ("i", "j"),  # implicit outer product: ij
    "i,j->ij": ("i", "j"),
    "...ij,...jk->...ik": ("...ij", "...jk"),
    "...ij,...jk": ("...ij", "...jk"),  # implicit: ...ik
    "...ii->...i": ("...ii",),
    "ii->i": ("ii",),
    "ii": ("ii",),  # implicit trace
    "ij->": ("ij",),
    " ij , jk -> ki ": ("ij", "jk"),
}


def _explicit(equation: str) -> str:
    """The equation with its output written out, by the spec's implicit rule: letters found exactly once, in
    ASCII order, after the ellipsis where there is one."""
    equation = equation.replace(" ", "")
    if "->" in equation:
        return equation
    letters = equation.replace("...", "").replace(",", "")
    once = sorted(c for c in set(letters) if letters.count(c) == 1)
    return f"{equation}->{'...' if '...' in equation else ''}{''.join(once)}"


@direct(
    op_class=OpClass.MATMUL,
    unspecified=ZERO_SIGN,
    min_opset=12,
    notes="ONNX Einsum with the equation written straight into the node: implicit outputs (letters found "
    "once, in ASCII order, upper case first: ji is a transpose, jB,jA gives AB), an implicit scalar, three "
    "operands, an outer product, an ellipsis of 0 to 2 dims (each operand's the same rank, as the spec asks, "
    "sizes equal or 1 to broadcast) in explicit and implicit equations, diagonals, a trace, a sum of "
    "everything, spaces. Integer operands keep to plain values (products of wide ones overflow)." + ZERO_SIGN_NOTE,
)
def einsum(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "float16", "int32", "int64"))
    equation = d.choice("equation", tuple(_EINSUM))
    terms = _EINSUM[equation]
    letters = sorted(set("".join(terms).replace(".", "")))
    sizes = {c: d.integer(f"size_{c}", 1, 4) for c in letters}
    ellipsis: tuple[int, ...] = ()
    broadcast = False
    if "..." in equation:
        ellipsis = d.shape("ellipsis", max_dims=2, max_side=3)
        broadcast = d.boolean("ellipsis.broadcast")
    integer = dtype.startswith("int")
    inputs = []
    for i, term in enumerate(terms):
        dims = [sizes[c] for c in term.replace("...", "")]
        lead = ellipsis
        if broadcast and i == 1:  # the second operand's ellipsis dims broadcast where they are 1
            lead = tuple(1 if (j % 2 == 0) else s for j, s in enumerate(ellipsis))
        shape = (*lead, *dims) if "..." in term else tuple(dims)
        inputs.append(d.tensor(f"x{i}", shape, dtype, special=False if integer else None))
    explicit = _explicit(equation)

    def fn(*xs: torch.Tensor) -> torch.Tensor:
        return torch.einsum(explicit, *xs)

    return Spec(OnnxNode("Einsum", fn, attributes={"equation": equation}), tuple(inputs))


@direct(
    op_class=OpClass.EXACT,
    min_opset=12,
    notes="ONNX Dropout in inference: training_mode absent, false (a constant or a graph input), or true with "
    "ratio 0 (nothing dropped, scale 1: as deterministic as the others); ratio absent (0.5), a constant or a "
    "graph input, of any floating dtype; seed set or not; the mask output requested or not. The output is "
    "the input, NaN and -0 included, and the mask all true.",
)
def dropout_inference(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_side=0)
    training = d.choice("training_mode", ("absent", "false", "false-input", "true-ratio-0"))
    ratio_form = d.choice(
        "ratio", ("absent", "constant", "graph-input") if training != "true-ratio-0" else ("constant",)
    )
    ratio_dtype = d.dtype(FLOATS_NO_BF16, label="ratio_dtype")  # bfloat16 ratios from Dropout-22 only
    ratio_value = 0.0 if training == "true-ratio-0" else d.choice("ratio.value", (0.0, 0.5, 0.9))
    mask = d.boolean("mask")
    seeded_ = d.boolean("seed")
    x = d.tensor("x", shape, dtype)
    ratio = np.array(ratio_value, dtype=numpy_dtype(ratio_dtype))
    inputs: list[np.ndarray] = [x]
    wiring: list[int | np.ndarray | None] = [0]
    if ratio_form == "constant":
        wiring.append(ratio)
    elif ratio_form == "graph-input":
        wiring.append(len(inputs))
        inputs.append(ratio)
    elif training != "absent":
        wiring.append(None)
    if training == "false-input":
        wiring.append(len(inputs))
        inputs.append(np.array(False))
    elif training in ("false", "true-ratio-0"):
        wiring.append(np.array(training != "false"))

    def fn(t: torch.Tensor, *_: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if mask:
            return t.clone(), torch.ones(t.shape, dtype=torch.bool)
        return t.clone()

    attrs = {"seed": 7} if seeded_ else {}
    return Spec(OnnxNode("Dropout", fn, attributes=attrs, inputs=wiring), tuple(inputs))
