"""Operators and attributes neither of torch's exporters emits, written as single ONNX nodes.

torch lowers `softsign` to arithmetic, `hardshrink` to Where, `amin` to
ReduceMin without `noop_with_empty_axes`, and never writes Hardmax, LRN,
MeanVarianceNormalization, ReverseSequence, Compress, OneHot (dynamo), the
variadic Sum and Mean, the window generators, DynamicQuantizeLinear or
MatMulInteger: without these cases a backend's kernels for them meet only
ONNX's fixed node tests. Each case draws every attribute of its node and
writes the node itself (`direct=True`, exporter "direct", at every opset
of a run); its forward pass is the node's meaning by the ONNX spec,
written in torch, which is the oracle in the case dtype and in float64.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from cases._draws import axes_subset, direct
from cases._draws import axis_of as _axis
from conformance.casekit import OnnxNode
from conformance.dtypes import FLOATS, FLOATS_NO_BF16, SIGNED_INTS
from conformance.generate import Draw
from conformance.model import OpClass, Spec


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX Hardmax (opset 13 and later: along one axis): 1 at the first maximum of each slice, 0 elsewhere.",
)
def hardmax(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_dims=1, min_side=1)
    axis = _axis(d, len(shape))
    explicit = d.boolean("axis.explicit")

    def fn(x: torch.Tensor) -> torch.Tensor:
        return F.one_hot(x.argmax(axis), x.shape[axis]).movedim(-1, axis % x.dim()).to(x.dtype)

    attrs = {"axis": axis} if explicit or axis != -1 else {}
    return Spec(OnnxNode("Hardmax", fn, attributes=attrs), (d.tensor("x", shape, dtype),))


@direct(
    op_class=OpClass.NORMALIZATION,
    notes="ONNX LRN: the window over channels is [c - floor((size-1)/2), c + ceil((size-1)/2)], which for an even "
    "size is not torch's local_response_norm window; the oracle follows the spec.",
)
def lrn(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16)
    rank = d.choice("rank", (3, 4, 5))
    shape = (d.integer("n", 1, 2), d.integer("c", 1, 7), *d.shape("spatial", min_dims=rank - 2, max_dims=rank - 2))
    size = d.choice("size", (1, 2, 3, 4, 5))
    alpha = d.choice("alpha", (1e-4, 0.5, 2.0))
    beta = d.choice("beta", (0.75, 0.5, 1.0))
    bias = d.choice("bias", (1.0, 2.0, 0.5))
    before, after = (size - 1) // 2, math.ceil((size - 1) / 2)

    def fn(x: torch.Tensor) -> torch.Tensor:
        sq = F.pad((x * x).movedim(1, -1), (before, after)).movedim(-1, 1)
        total = sum(sq.narrow(1, i, x.shape[1]) for i in range(size))
        return x / (bias + alpha / size * total) ** beta

    attrs = {"size": size, "alpha": alpha, "beta": beta, "bias": bias}
    return Spec(OnnxNode("LRN", fn, attributes=attrs), (d.tensor("x", shape, dtype),))


@direct(
    unspecified=("signed-zero",),
    op_class=OpClass.ELEMENTWISE,
    notes="ONNX Shrink: x + bias below -lambd, x - bias above lambd, else 0; integer inputs with whole biases.",
)
def shrink(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS_NO_BF16, "int8", "int32", "int64"))
    integer = not dtype.startswith("float")
    bias = d.choice("bias", (0.0, 1.0, -2.0) if integer else (0.0, 0.5, 1.5, -1.0))
    lambd = d.choice("lambd", (0.5, 0.0, 2.0, -1.0))
    shape = d.shape(min_side=0)

    def fn(x: torch.Tensor) -> torch.Tensor:
        wide = x.double()
        out = torch.where(wide < -lambd, wide + bias, torch.where(wide > lambd, wide - bias, torch.zeros_like(wide)))
        return out.to(x.dtype)

    attrs = {"bias": bias, "lambd": lambd}
    return Spec(OnnxNode("Shrink", fn, attributes=attrs), (d.tensor("x", shape, dtype, low=-4, high=4),))


@direct(unspecified=("signed-zero",), op_class=OpClass.EXACT, notes="ONNX ThresholdedRelu: x above alpha, else 0.")
def thresholded_relu(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16)
    alpha = d.choice("alpha", (1.0, 0.0, -1.0, 2.5))
    shape = d.shape(min_side=0)

    def fn(x: torch.Tensor) -> torch.Tensor:
        return torch.where(x > alpha, x, torch.zeros_like(x))

    return Spec(
        OnnxNode("ThresholdedRelu", fn, attributes={"alpha": alpha}), (d.tensor("x", shape, dtype, low=-4, high=4),)
    )


@direct(notes="ONNX Softsign: x / (1 + |x|).")
def softsign(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16)
    shape = d.shape(min_side=0)
    return Spec(OnnxNode("Softsign", lambda x: x / (1 + x.abs())), (d.tensor("x", shape, dtype, low=-8, high=8),))


@direct(
    op_class=OpClass.NORMALIZATION,
    notes="ONNX MeanVarianceNormalization, as its function body: (X - E[X]) / (sqrt(E[X^2] - E[X]^2) + 1e-9) over "
    "`axes` (default 0, 2, 3).",
)
def mean_variance_normalization(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16)
    shape = d.shape(min_dims=4, max_dims=4, min_side=1)
    form = d.choice("axes", ("default", "spatial", "channel", "all", "last-negative"))
    axes = {"default": [0, 2, 3], "spatial": [2, 3], "channel": [1], "all": [0, 1, 2, 3], "last-negative": [-1]}[form]

    def fn(x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(axes, keepdim=True)
        var = (x * x).mean(axes, keepdim=True) - mean * mean
        return (x - mean) / (var.sqrt() + 1e-9)

    attrs = {} if form == "default" else {"axes": axes}
    return Spec(OnnxNode("MeanVarianceNormalization", fn, attributes=attrs), (d.tensor("x", shape, dtype),))


#: Each reduce op: its meaning over the axes drawn, and the dtypes it takes.
_REDUCE_INTS = ("int32", "int64")
REDUCE_OPS = {
    "ReduceSum": (lambda x, a, k: x.sum(a, keepdim=k), FLOATS + _REDUCE_INTS),
    "ReduceMean": (lambda x, a, k: _mean(x, a, k), FLOATS + _REDUCE_INTS),
    "ReduceProd": (lambda x, a, k: _prod(x, a, k), FLOATS + _REDUCE_INTS),
    "ReduceMax": (lambda x, a, k: x.amax(a, keepdim=k), (*FLOATS, *_REDUCE_INTS, "int8", "uint8")),
    "ReduceMin": (lambda x, a, k: x.amin(a, keepdim=k), (*FLOATS, *_REDUCE_INTS, "int8", "uint8")),
    "ReduceL1": (lambda x, a, k: x.abs().sum(a, keepdim=k), FLOATS + _REDUCE_INTS),
    "ReduceL2": (lambda x, a, k: (x * x).sum(a, keepdim=k).sqrt(), FLOATS_NO_BF16),
    "ReduceSumSquare": (lambda x, a, k: (x * x).sum(a, keepdim=k), FLOATS + _REDUCE_INTS),
    "ReduceLogSum": (lambda x, a, k: x.sum(a, keepdim=k).log(), FLOATS_NO_BF16),
    "ReduceLogSumExp": (lambda x, a, k: x.logsumexp(a, keepdim=k), FLOATS_NO_BF16),
}


#: A reduction over an empty set of axes: the identity, except that the composite ones still square, take
#: the absolute value or the log (ReduceSumSquare is x * x, ReduceLogSum log x); LogSumExp is x itself.
NO_AXES = {
    "ReduceLogSum": torch.log,
    "ReduceSumSquare": lambda x: x * x,
    "ReduceL1": torch.abs,
    "ReduceL2": torch.abs,
}


def _mean(x: torch.Tensor, axes: list[int], keepdim: bool) -> torch.Tensor:
    """An integer mean truncates toward zero (onnxruntime divides the sum; the reference evaluator casts numpy's
    mean): torch's own mean refuses integers."""
    if x.dtype.is_floating_point:
        return x.mean(axes, keepdim=keepdim)
    count = math.prod(x.shape[a] for a in axes)
    return torch.div(x.sum(axes, keepdim=keepdim), count, rounding_mode="trunc")


def _prod(x: torch.Tensor, axes: list[int], keepdim: bool) -> torch.Tensor:
    for axis in sorted((a % x.dim() for a in axes), reverse=True):
        x = x.prod(axis, keepdim=keepdim)
    return x


def _empty_reduction(op: str, x: torch.Tensor, axes: list[int], keepdim: bool) -> torch.Tensor:
    """What a reduction over no elements gives, by the spec: the identity of its operation."""
    shape = (
        [1 if i in axes else s for i, s in enumerate(x.shape)]
        if keepdim
        else [s for i, s in enumerate(x.shape) if i not in axes]
    )
    floating = x.dtype.is_floating_point
    lowest = -math.inf if floating else torch.iinfo(x.dtype).min
    highest = math.inf if floating else torch.iinfo(x.dtype).max
    fill = {
        "ReduceProd": 1,
        "ReduceMax": lowest,
        "ReduceMin": highest,
        "ReduceLogSum": -math.inf,
        "ReduceLogSumExp": -math.inf,
    }
    return torch.full(shape, fill.get(op, 0), dtype=x.dtype)


@direct(
    op_class=OpClass.REDUCTION,
    min_opset=18,
    notes="Every ONNX Reduce op at opset 18, where axes is an input: axes omitted, empty (with noop_with_empty_axes "
    "0 and 1), one axis either way spelled, several, all; keepdims 0 and 1; zero-size inputs (the empty set's "
    "identity: 0, 1, -inf, +inf; ReduceMean of nothing is undefined and not drawn).",
)
def reduce(d: Draw) -> Spec:
    op = d.choice("op", tuple(REDUCE_OPS))
    meaning, dtypes = REDUCE_OPS[op]
    dtype = d.dtype(dtypes)
    shape = d.shape(min_side=0 if op != "ReduceMean" else 1, min_dims=1)
    rank = len(shape)
    form = d.choice("axes", ("omitted", "empty", "one", "one-negative", "several", "all"))
    keepdims = d.boolean("keepdims")
    noop = d.boolean("noop_with_empty_axes")
    if form in ("omitted", "empty"):
        axes = [] if noop else list(range(rank))
    elif form == "one":
        axes = [d.integer("axis", 0, rank - 1)]
    elif form == "one-negative":
        axes = [d.integer("axis", -rank, -1)]
    elif form == "several":
        axes = axes_subset(d, rank, "several")
    else:
        axes = list(range(rank))
    wiring: list[int | np.ndarray | None] = [0]
    if form != "omitted":
        wiring.append(np.array([] if form == "empty" else axes, dtype=np.int64))
    positive = sorted(a % rank for a in axes)

    def fn(x: torch.Tensor) -> torch.Tensor:
        if not positive:  # reduced over no axes, a composite reduction still does its other steps (the spec)
            return NO_AXES.get(op, torch.clone)(x)
        if any(x.shape[a] == 0 for a in positive):
            return _empty_reduction(op, x, positive, keepdims)
        return meaning(x, positive, keepdims).to(x.dtype)

    attrs = {"keepdims": int(keepdims), "noop_with_empty_axes": int(noop)}
    low, high = (0.1, 3.0) if op == "ReduceLogSum" else (-3.0, 3.0)
    x = d.tensor("x", shape, dtype, low=low, high=high)
    return Spec(OnnxNode(op, fn, attributes=attrs, inputs=wiring), (x,))


@direct(
    op_class=OpClass.REDUCTION,
    notes="ONNX GlobalMaxPool, GlobalAveragePool and GlobalLpPool (p drawn) over every spatial axis, 1-d to 3-d.",
)
def global_pool(d: Draw) -> Spec:
    op = d.choice("op", ("GlobalMaxPool", "GlobalAveragePool", "GlobalLpPool"))
    dtype = d.dtype(FLOATS_NO_BF16)
    spatial = d.shape("spatial", min_dims=1, max_dims=3)
    shape = (d.integer("n", 1, 2), d.integer("c", 1, 4), *spatial)
    axes = list(range(2, len(shape)))
    p = d.choice("p", (2, 1, 3)) if op == "GlobalLpPool" else None

    def fn(x: torch.Tensor) -> torch.Tensor:
        if op == "GlobalMaxPool":
            return x.amax(axes, keepdim=True)
        if op == "GlobalAveragePool":
            return x.mean(axes, keepdim=True)
        return (x.abs() ** p).sum(axes, keepdim=True) ** (1.0 / p)

    attrs = {"p": p} if p is not None and p != 2 else {}
    return Spec(OnnxNode(op, fn, attributes=attrs), (d.tensor("x", shape, dtype),))


@direct(
    op_class=OpClass.NORMALIZATION,
    notes="ONNX LpNormalization: x divided by its L1 or L2 norm along `axis`; a zero slice is 0/0 by the spec.",
)
def lp_normalization(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16)
    shape = d.shape(min_dims=1, min_side=1)
    axis = _axis(d, len(shape))
    p = d.choice("p", (2, 1))

    def fn(x: torch.Tensor) -> torch.Tensor:
        norm = x.abs().sum(axis, keepdim=True) if p == 1 else (x * x).sum(axis, keepdim=True).sqrt()
        return x / norm

    return Spec(OnnxNode("LpNormalization", fn, attributes={"axis": axis, "p": p}), (d.tensor("x", shape, dtype),))


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX SpaceToDepth, and DepthToSpace in both modes (DCR and CRD; torch's pixel_shuffle writes only "
    "CRD), by the spec's reshape-transpose-reshape.",
)
def space_depth(d: Draw) -> Spec:
    op = d.choice("op", ("SpaceToDepth", "DepthToSpace-DCR", "DepthToSpace-CRD"))
    dtype = d.dtype(("float32", "float16", "int64", "uint8", "bool"))
    b = d.choice("blocksize", (1, 2, 3))
    n, c = d.integer("n", 1, 2), d.integer("c", 1, 3)
    h, w = d.integer("h", 1, 3), d.integer("w", 1, 3)
    if op == "SpaceToDepth":
        shape = (n, c, h * b, w * b)
    else:
        shape = (n, c * b * b, h, w)

    def fn(x: torch.Tensor) -> torch.Tensor:
        if op == "SpaceToDepth":
            t = x.reshape(n, c, h, b, w, b).permute(0, 3, 5, 1, 2, 4)
            return t.reshape(n, c * b * b, h, w)
        if op.endswith("DCR"):
            t = x.reshape(n, b, b, c, h, w).permute(0, 3, 4, 1, 5, 2)
        else:
            t = x.reshape(n, c, b, b, h, w).permute(0, 1, 4, 2, 5, 3)
        return t.reshape(n, c, h * b, w * b)

    attrs: dict[str, object] = {"blocksize": b}
    if op != "SpaceToDepth" and (op.endswith("CRD") or d.boolean("mode.explicit")):
        attrs["mode"] = op.rsplit("-", 1)[1]
    return Spec(OnnxNode(op.split("-")[0], fn, attributes=attrs), (d.tensor("x", shape, dtype),))


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX ReverseSequence: batch and time axis either way round, lengths from 1 to the whole sequence.",
)
def reverse_sequence(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "int64", "int8", "bool"))
    batch_axis = d.choice("batch_axis", (1, 0))
    time_axis = 1 - batch_axis
    batch, time = d.integer("batch", 1, 4), d.integer("time", 1, 6)
    rest = d.shape("rest", max_dims=2)
    shape = [0, 0, *rest]
    shape[batch_axis], shape[time_axis] = batch, time
    lens = np.array([d.integer(f"len{i}", 1, time) for i in range(batch)], dtype=np.int64)

    def fn(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        for i, length in enumerate(lengths.tolist()):
            piece = x.select(batch_axis, i).narrow(0, 0, length)
            out.select(batch_axis, i).narrow(0, 0, length).copy_(piece.flip(0))
        return out

    attrs = {"batch_axis": batch_axis, "time_axis": time_axis}
    return Spec(OnnxNode("ReverseSequence", fn, attributes=attrs), (d.tensor("x", shape, dtype), lens))


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX Compress as numpy.compress: along an axis or flattened (no axis), a condition shorter than the "
    "axis (the rest dropped), all false.",
)
def compress(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "int32", "bool", "float16"))
    shape = d.shape(min_dims=1, min_side=1)
    flat = d.boolean("flatten")
    axis = None if flat else _axis(d, len(shape))
    length = int(np.prod(shape)) if flat else shape[axis]
    shorter = d.boolean("condition.shorter") and length > 1
    n = d.integer("condition.length", 1, length - 1) if shorter else length
    condition = d.tensor("condition", (n,), "bool", special=False)

    def fn(x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        src = x.reshape(-1) if axis is None else x
        dim = 0 if axis is None else axis % x.dim()
        keep = torch.nonzero(cond).reshape(-1)
        return src.index_select(dim, keep)

    attrs = {} if axis is None else {"axis": axis}
    return Spec(OnnxNode("Compress", fn, attributes=attrs), (d.tensor("x", shape, dtype), condition))


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX OneHot: indices in [-depth, depth-1] (negative ones count from the end) and outside it (all off), "
    "the new axis anywhere, int32, int64 and float indices, off and on values of the output dtype.",
)
def one_hot(d: Draw) -> Spec:
    index_dtype = d.dtype(("int64", "int32", "float32"), label="index_dtype")
    dtype = d.dtype(("float32", "int64", "int32", "float16"))
    depth = d.integer("depth", 1, 6)
    shape = d.shape(min_dims=1, max_dims=3)  # ONNX's shape inference refuses 0-d indices
    axis = d.integer("axis", -(len(shape) + 1), len(shape))
    explicit = d.boolean("axis.explicit")
    off, on = d.choice("values", ((0, 1), (-1, 3), (2, 0)))
    indices = d.tensor("indices", shape, "int64", low=-depth - 2, high=depth + 2, special=False).astype(index_dtype)
    values = np.array([off, on], dtype=dtype)

    def fn(idx: torch.Tensor, depth_t: torch.Tensor, vals: torch.Tensor) -> torch.Tensor:
        k = int(depth_t.reshape(-1)[0])
        i = idx.to(torch.int64)
        inside = (i >= -k) & (i < k)
        hot = F.one_hot(torch.where(inside, i % k, 0), k) * inside.unsqueeze(-1).to(torch.int64)
        out = torch.where(hot.bool(), vals[1], vals[0])
        return out.movedim(-1, axis % out.dim())

    attrs = {"axis": axis} if explicit or axis != -1 else {}
    depth_input = np.array(depth if d.boolean("depth.scalar") else [depth], dtype=np.int64)
    return Spec(OnnxNode("OneHot", fn, attributes=attrs), (indices, depth_input, values))


@direct(
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="ONNX's variadic Sum, Mean, Max and Min: one to four inputs broadcast together (torch's exporters write "
    "only two-input Max and Min). Which zero Max(-0, +0) gives the spec leaves open.",
)
def variadic(d: Draw) -> Spec:
    op = d.choice("op", ("Sum", "Mean", "Max", "Min"))
    dtypes = FLOATS if op in ("Sum", "Mean") else (*FLOATS, *SIGNED_INTS)  # Sum and Mean take floats only
    dtype = d.dtype(dtypes)
    count = d.choice("inputs", (1, 2, 3, 4))
    shapes = d.broadcast_shapes(num=count) if count > 1 else (d.shape(),)
    xs = tuple(d.tensor(f"x{i}", s, dtype) for i, s in enumerate(shapes))

    def fn(*args: torch.Tensor) -> torch.Tensor:
        out = args[0]
        for a in args[1:]:
            out = {"Max": torch.maximum, "Min": torch.minimum}.get(op, torch.add)(out, a)
        out = out.expand(torch.broadcast_shapes(*(a.shape for a in args)))
        return (out / len(args)).to(out.dtype) if op == "Mean" else out.clone()

    return Spec(OnnxNode(op, fn), xs)


@direct(
    op_class=OpClass.TRANSCENDENTAL,
    min_opset=17,
    notes="ONNX HannWindow, HammingWindow (alpha 25/46, not torch's 0.54) and BlackmanWindow: periodic or "
    "symmetric, every output dtype they allow, sizes from 1.",
)
def window(d: Draw) -> Spec:
    op = d.choice("op", ("HannWindow", "HammingWindow", "BlackmanWindow"))
    periodic = d.boolean("periodic")
    out = d.choice("output_datatype", ("float32", "float64", "float16", "int64", "int32", "uint8", "int8"))
    size = d.integer("size", 1, 40)
    proto = {"float32": 1, "uint8": 2, "int8": 3, "int32": 6, "int64": 7, "float16": 10, "float64": 11}[out]

    def fn(size_t: torch.Tensor) -> torch.Tensor:
        n = int(size_t)
        span = n if periodic else n - 1
        k = torch.arange(n, dtype=torch.float64)
        angle = 2 * math.pi * k / span if span else torch.full((n,), math.nan, dtype=torch.float64)
        if op == "HannWindow":
            w = 0.5 - 0.5 * torch.cos(angle)
        elif op == "HammingWindow":
            w = 25 / 46 - 21 / 46 * torch.cos(angle)
        else:
            w = 0.42 - 0.5 * torch.cos(angle) + 0.08 * torch.cos(2 * angle)
        return w.to(getattr(torch, out))

    attrs = {"periodic": int(periodic), "output_datatype": proto}
    return Spec(OnnxNode(op, fn, attributes=attrs), (np.array(size, dtype=np.int64),))


@direct(
    op_class=OpClass.TRANSCENDENTAL,
    min_opset=20,
    notes="ONNX Gelu (opset 20), exact and tanh-approximated, written as the op torch's exporters decompose.",
)
def gelu(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    approximate = d.choice("approximate", ("none", "tanh"))
    explicit = d.boolean("approximate.explicit")
    shape = d.shape(min_side=0)
    attrs = {"approximate": approximate} if explicit or approximate != "none" else {}
    fn = lambda x: F.gelu(x, approximate=approximate)  # noqa: E731
    return Spec(OnnxNode("Gelu", fn, attributes=attrs), (d.tensor("x", shape, dtype, low=-6, high=6),))


@direct(
    op_class=OpClass.EXACT,
    float64_truth=False,
    notes="ONNX DynamicQuantizeLinear: scale (max(0, max x) - min(0, min x)) / 255, zero point and values rounded "
    "half to even, all in float32 as the spec writes it. An all-zero input divides by a zero scale: not drawn.",
)
def dynamic_quantize_linear(d: Draw) -> Spec:
    shape = d.shape(min_dims=1, min_side=1)
    low, high = d.choice("range", ((-3.0, 3.0), (0.0, 5.0), (-5.0, 0.0), (-100.0, 1.0)))
    x = d.tensor("x", shape, "float32", low=low, high=high)
    if not np.any(x):
        x = x + np.float32(1)

    def fn(t: torch.Tensor) -> tuple[torch.Tensor, ...]:
        t = t.float()
        lo = torch.clamp(t.min(), max=0.0)
        hi = torch.clamp(t.max(), min=0.0)
        scale = (hi - lo) / 255
        zero = torch.clamp(torch.round(0 - lo / scale), 0, 255)
        y = torch.clamp(torch.round(t / scale) + zero, 0, 255)
        return y.to(torch.uint8), scale.reshape(()), zero.to(torch.uint8).reshape(())

    return Spec(OnnxNode("DynamicQuantizeLinear", fn), (x,))


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX MatMulInteger: int8 or uint8 operands, zero points absent, scalar, or per row of A and per column "
    "of B, batched and broadcast; int32 results.",
)
def matmul_integer(d: Draw) -> Spec:
    a_dtype = d.dtype(("uint8", "int8"), label="a_dtype")
    b_dtype = d.dtype(("uint8", "int8"), label="b_dtype")
    m, k, n = d.integer("m", 1, 5), d.integer("k", 1, 9), d.integer("n", 1, 5)
    batch = d.shape("batch", max_dims=2, max_side=3)
    a = d.tensor("a", (*batch, m, k), a_dtype, low=-128, high=255)
    b = d.tensor("b", (k, n), b_dtype, low=-128, high=255)
    a_zp_form = d.choice("a_zero_point", ("absent", "scalar", "per-row"))
    b_zp_form = d.choice("b_zero_point", ("absent", "scalar", "per-column"))
    rng = np.random.default_rng(d.integer("zero_points.seed", 0, 2**16))

    def zero_point(form: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray | None:
        info = np.iinfo(dtype)
        if form == "absent":
            return None
        values = rng.integers(info.min, info.max, size=() if form == "scalar" else shape, endpoint=True)
        return np.asarray(values, dtype=dtype)

    # By the spec, A's per-row zero point is [M] for a 2-d A and [..., M, 1] for a batched one; B's is [N].
    a_zp = zero_point(a_zp_form, a_dtype, (*batch, m, 1) if batch else (m,))
    b_zp = zero_point(b_zp_form, b_dtype, (n,))
    inputs = [a, b] + [z for z in (a_zp, b_zp) if z is not None]
    wiring: list[int | np.ndarray | None] = [0, 1]
    if a_zp is not None or b_zp is not None:
        wiring.append(None if a_zp is None else 2)
    if b_zp is not None:
        wiring.append(len(inputs) - 1)

    def fn(*args: torch.Tensor) -> torch.Tensor:
        x, y = args[0].to(torch.int64), args[1].to(torch.int64)
        if a_zp is not None:
            za = args[2].to(torch.int64)
            x = x - (za.reshape(-1, 1) if za.dim() == 1 else za)
        if b_zp is not None:
            y = y - args[-1].to(torch.int64)
        return torch.matmul(x, y).to(torch.int32)

    return Spec(OnnxNode("MatMulInteger", fn, inputs=wiring), tuple(inputs))
