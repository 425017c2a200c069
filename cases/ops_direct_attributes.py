"""Attributes and input forms of common ONNX ops that torch's exporters never write.

torch writes ArgMax without `select_last_index`, CumSum without
`exclusive` or `reverse`, Clip with both bounds, Gemm only for a linear
layer, Split without `num_outputs`, Slice with positive steps in range, Pad
without `axes` or `wrap`, ScatterND without `reduction`, IsInf and
HardSigmoid with fixed attributes. A backend's handling of the rest is
otherwise reached only by ONNX's fixed node tests. Each case writes its node
itself (`direct=True`) and draws every attribute and input form; its forward
pass is the node's meaning by the spec, in torch.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from cases._draws import SCATTER_REDUCTIONS, auto_pads, axes_subset, axis_of, direct
from conformance.casekit import OnnxNode
from conformance.dtypes import FLOATS, FLOATS_NO_BF16, SIGNED_INTS
from conformance.generate import Draw
from conformance.model import OpClass, Spec

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


@direct(
    op_class=OpClass.REDUCTION,
    notes="ONNX ArgMax and ArgMin with select_last_index 0 and 1 (ties: the first or the last), keepdims 0 and 1. "
    "torch and the reference evaluator take NaN as the extreme; ONNX says nothing about NaN (a spec gap).",
)
def arg_reduce(d: Draw) -> Spec:
    op = d.choice("op", ("ArgMax", "ArgMin"))
    dtype = d.dtype((*FLOATS, *SIGNED_INTS, "uint8"))
    shape = d.shape(min_dims=1, min_side=1)
    axis = axis_of(d, len(shape))
    keepdims = d.boolean("keepdims")
    last = d.boolean("select_last_index")

    def fn(x: torch.Tensor) -> torch.Tensor:
        pick = torch.argmax if op == "ArgMax" else torch.argmin
        if not last:
            return pick(x, axis, keepdim=keepdims)
        n = x.shape[axis]
        return n - 1 - pick(x.flip(axis), axis, keepdim=keepdims)

    attrs = {"axis": axis, "keepdims": int(keepdims), "select_last_index": int(last)}
    return Spec(OnnxNode(op, fn, attributes=attrs), (d.tensor("x", shape, dtype, low=-2, high=2),))


@direct(
    op_class=OpClass.REDUCTION,
    notes="ONNX CumSum with exclusive and reverse (torch writes neither), the axis a 0-d int32 or int64 input.",
)
def cumsum(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32", "int64"))
    shape = d.shape(min_dims=1, min_side=0)
    axis = axis_of(d, len(shape))
    exclusive = d.boolean("exclusive")
    reverse = d.boolean("reverse")
    axis_dtype = d.choice("axis_dtype", ("int64", "int32"))
    axis_input = np.array(axis, dtype=axis_dtype)  # the spec's axis is 0-d (onnxruntime takes [axis] too)

    def fn(x: torch.Tensor) -> torch.Tensor:
        t = x.flip(axis) if reverse else x
        out = t.cumsum(axis).to(t.dtype)
        if exclusive:  # shifted by one, a zero first: subtracting the input back would round (and make inf - inf)
            n = t.shape[axis]
            head = torch.zeros_like(t.narrow(axis, 0, min(1, n)))
            out = torch.cat([head, out.narrow(axis, 0, max(0, n - 1))], axis)
        return out.flip(axis) if reverse else out

    attrs = {"exclusive": int(exclusive), "reverse": int(reverse)}
    return Spec(OnnxNode("CumSum", fn, attributes=attrs, inputs=[0, axis_input]), (d.tensor("x", shape, dtype),))


@direct(
    op_class=OpClass.EXACT,
    min_opset=20,
    notes="ONNX IsInf with detect_negative and detect_positive each 0 or 1 (opset 20, which adds float16 and "
    "bfloat16).",
)
def is_inf(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    negative = d.boolean("detect_negative")
    positive = d.boolean("detect_positive")
    shape = d.shape(min_side=0)

    def fn(x: torch.Tensor) -> torch.Tensor:
        return (torch.isneginf(x) & negative) | (torch.isposinf(x) & positive)

    attrs = {"detect_negative": int(negative), "detect_positive": int(positive)}
    return Spec(OnnxNode("IsInf", fn, attributes=attrs), (d.tensor("x", shape, dtype),))


@direct(
    unspecified=("signed-zero",),
    notes="ONNX HardSigmoid max(0, min(1, alpha * x + beta)) with alpha and beta drawn (torch writes 1/6, 1/2).",
)
def hard_sigmoid(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16)
    alpha = d.choice("alpha", (0.2, 1 / 6, 0.5, -0.3, 0.0))
    beta = d.choice("beta", (0.5, 0.0, 1.0, -0.25))
    shape = d.shape(min_side=0)

    def fn(x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(alpha * x + beta, 0, 1)

    attrs = {"alpha": alpha, "beta": beta}
    return Spec(OnnxNode("HardSigmoid", fn, attributes=attrs), (d.tensor("x", shape, dtype, low=-6, high=6),))


@direct(
    unspecified=("signed-zero",),
    op_class=OpClass.EXACT,
    notes="ONNX Clip with only a minimum, only a maximum (an empty input name before it), neither, both, and a "
    "minimum above the maximum (numpy.clip's answer, the maximum: the spec says nothing), bounds as inputs.",
)
def clip(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, *SIGNED_INTS, "uint8"))
    form = d.choice("bounds", ("both", "min", "max", "neither", "min-above-max"))
    shape = d.shape(min_side=0)
    low, high = (1, 3) if dtype == "uint8" else (-1, 2)
    if form == "min-above-max":
        low, high = high, low
    lo = np.array(low, dtype=dtype) if form in ("both", "min", "min-above-max") else None
    hi = np.array(high, dtype=dtype) if form in ("both", "max", "min-above-max") else None
    inputs: tuple[np.ndarray, ...] = (d.tensor("x", shape, dtype, low=-4, high=4),)
    wiring: list[int | np.ndarray | None] = [0]
    if lo is not None or hi is not None:
        wiring.append(None if lo is None else 1)
        inputs += () if lo is None else (lo,)
    if hi is not None:
        wiring.append(len(inputs))
        inputs += (hi,)

    def fn(*args: torch.Tensor) -> torch.Tensor:
        x = args[0]
        if lo is not None:
            x = torch.maximum(x, args[1])
        if hi is not None:
            x = torch.minimum(x, args[-1])
        return x.clone()

    return Spec(OnnxNode("Clip", fn, inputs=wiring), inputs)


@direct(
    op_class=OpClass.MATMUL,
    notes="ONNX Gemm with transA, transB, alpha and beta drawn, and C absent, a scalar, a row, a column or full "
    "(torch writes Gemm only for a linear layer: transB=1, alpha=beta=1, C a row).",
)
def gemm(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS_NO_BF16)
    m, k, n = d.integer("m", 1, 5), d.integer("k", 1, 6), d.integer("n", 1, 5)
    trans_a, trans_b = d.boolean("transA"), d.boolean("transB")
    alpha = d.choice("alpha", (1.0, 0.5, -2.0))
    beta = d.choice("beta", (1.0, 0.0, 2.5))
    form = d.choice("C", ("absent", "scalar", "row", "column", "full"))
    a = d.tensor("a", (k, m) if trans_a else (m, k), dtype)
    b = d.tensor("b", (n, k) if trans_b else (k, n), dtype)
    c_shape = {"scalar": (), "row": (n,), "column": (m, 1), "full": (m, n)}.get(form)
    inputs = (a, b) if c_shape is None else (a, b, d.tensor("c", c_shape, dtype))

    def fn(*args: torch.Tensor) -> torch.Tensor:
        x = args[0].T if trans_a else args[0]
        y = args[1].T if trans_b else args[1]
        out = alpha * (x @ y)
        return out + beta * args[2] if len(args) == 3 else out

    attrs = {"transA": int(trans_a), "transB": int(trans_b), "alpha": alpha, "beta": beta}
    return Spec(OnnxNode("Gemm", fn, attributes=attrs), inputs)


@direct(
    op_class=OpClass.EXACT,
    min_opset=18,
    notes="ONNX Split by num_outputs (opset 18; an uneven split leaves the last part smaller) and by a split input "
    "(zero-length parts included).",
)
def split(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "float16", "bool"))
    shape = d.shape(min_dims=1, min_side=1, max_side=7)
    axis = axis_of(d, len(shape))
    length = shape[axis]
    form = d.choice("form", ("num_outputs", "split"))  # from opset 18 one of the two is required
    if form == "num_outputs":
        count = d.integer("outputs", 1, length)
        step = -(-length // count)
        sizes = [min(step, length - i * step) for i in range(count) if length - i * step > 0]
    else:
        cuts = sorted(d.draw("cuts", st.lists(st.integers(0, length), min_size=1, max_size=3)))
        edges = [0, *cuts, length]
        sizes = [b - a for a, b in itertools.pairwise(edges)]
    attrs: dict[str, object] = {"axis": axis}
    wiring: list[int | np.ndarray | None] = [0]
    if form == "num_outputs":  # chunks of ceil(length / count) may be fewer than count: the node says how many
        attrs["num_outputs"] = d.params["outputs"] = len(sizes)
    else:
        wiring.append(np.array(sizes, dtype=np.int64))

    def fn(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(t.clone() for t in torch.split(x, sizes, axis))

    return Spec(OnnxNode("Split", fn, attributes=attrs, inputs=wiring), (d.tensor("x", shape, dtype),))


def _slice_indices(dim: int, start: int, end: int, step: int) -> list[int]:
    """The indices Slice takes along one axis, by the spec's clamping of start and end."""
    start = start + dim if start < 0 else start
    end = end + dim if end < 0 else end
    if step > 0:
        start, end = min(max(start, 0), dim), min(max(end, 0), dim)
    else:
        start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return list(range(start, end, step))


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX Slice with negative steps, starts and ends past either end (INT64_MAX and INT64_MIN included), "
    "negative axes, axes in any order or omitted, steps omitted.",
)
def slice_(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "float16", "bool"))
    shape = d.shape(min_dims=1, min_side=1, max_side=6)
    rank = len(shape)
    axes = d.draw("axes", st.permutations(range(rank)).map(lambda p: p[: max(1, len(p) // 2 + 1)]))
    axes = [int(a) for a in axes]
    bounds = st.sampled_from((0, 1, 2, -1, -2, 4, 7, -7, int(INT64_MAX), int(INT64_MIN)))
    starts = [int(d.draw(f"start{a}", bounds)) for a in axes]
    ends = [int(d.draw(f"end{a}", bounds)) for a in axes]
    steps = [int(d.draw(f"step{a}", st.sampled_from((1, 2, -1, -2, 3)))) for a in axes]
    negative_axes = d.boolean("axes.negative")
    axes_form = d.choice("axes_form", ("given", "omitted")) if sorted(axes) == list(range(rank)) else "given"
    steps_form = "omitted" if all(s == 1 for s in steps) and d.boolean("steps.omitted") else "given"
    if axes_form == "omitted":  # without axes the i-th start, end and step are axis i's
        order = sorted(range(rank), key=axes.__getitem__)
        axes, starts, ends, steps = ([v[i] for i in order] for v in (axes, starts, ends, steps))
    wiring: list[int | np.ndarray | None] = [0, np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)]
    if axes_form == "given" or steps_form == "given":
        written = [a - rank if negative_axes else a for a in axes]
        wiring.append(np.array(written, dtype=np.int64) if axes_form == "given" else None)
        if steps_form == "given":
            wiring.append(np.array(steps, dtype=np.int64))

    def fn(x: torch.Tensor) -> torch.Tensor:
        out = x
        for a, s, e, st_ in zip(axes, starts, ends, steps, strict=True):
            idx = torch.tensor(_slice_indices(x.shape[a], s, e, st_), dtype=torch.int64)
            out = out.index_select(a, idx)
        return out

    return Spec(OnnxNode("Slice", fn, inputs=wiring), (d.tensor("x", shape, dtype),))


def _pad_index(j: int, dim: int, mode: str) -> int:
    """The input index an output position maps to (j counted from the input's start); -1 for a constant."""
    if 0 <= j < dim:
        return j
    if mode == "constant":
        return -1
    if mode == "edge":
        return min(max(j, 0), dim - 1)
    if mode == "wrap":
        return j % dim
    period = 2 * (dim - 1)  # reflect, without repeating the edge
    if period == 0:
        return 0
    j = j % period
    return j if j < dim else period - j


@direct(
    op_class=OpClass.EXACT,
    min_opset=19,
    notes="ONNX Pad in every mode (constant, reflect, edge, wrap from opset 19), pads that crop (negative), an "
    "axes input (opset 18) negative or omitted, the constant value omitted or given.",
)
def pad(d: Draw) -> Spec:
    mode = d.choice("mode", ("constant", "reflect", "edge", "wrap"))
    dtype = d.dtype(("float32", "int64", "float16", "int32"))
    shape = d.shape(min_dims=1, min_side=1, max_side=5)
    rank = len(shape)
    use_axes = d.boolean("axes.given")
    axes = axes_subset(d, rank) if use_axes else list(range(rank))
    pads_by_axis = {}
    for a in axes:
        # Reflecting what a negative pad left is ill-defined (one element has no mirror): reflect only grows.
        top, bottom = (shape[a] - 1, 0) if mode == "reflect" else (3, -((shape[a] - 1) // 2))
        pads_by_axis[a] = (d.integer(f"before{a}", bottom, top), d.integer(f"after{a}", bottom, top))
    negative_axes = use_axes and d.boolean("axes.negative")
    value = d.choice("constant_value", ("omitted", "given")) if mode == "constant" else "omitted"
    constant = 2 if value == "given" else 0  # the spec's default is 0
    pads = np.array([pads_by_axis[a][0] for a in axes] + [pads_by_axis[a][1] for a in axes], dtype=np.int64)
    wiring: list[int | np.ndarray | None] = [0, pads]
    if value == "given" or use_axes:
        wiring.append(np.array(constant, dtype=dtype) if value == "given" else None)
    if use_axes:
        wiring.append(np.array([a - rank if negative_axes else a for a in axes], dtype=np.int64))

    def fn(x: torch.Tensor) -> torch.Tensor:
        out = x
        for a, (before, after) in pads_by_axis.items():
            # Negative pads crop first; the positive ones then pad what is left (what wrap repeats).
            lo, hi = max(0, -before), x.shape[a] - max(0, -after)
            kept = [_pad_index(j, hi - lo, mode) for j in range(-max(0, before), hi - lo + max(0, after))]
            index = [lo + i if i >= 0 else -1 for i in kept]
            taken = out.index_select(a, torch.tensor([max(i, 0) for i in index], dtype=torch.int64))
            if mode == "constant":
                keep = torch.tensor([i >= 0 for i in index]).reshape([-1 if k == a else 1 for k in range(x.dim())])
                taken = torch.where(keep, taken, torch.tensor(constant, dtype=x.dtype))
            out = taken
        return out.clone()

    return Spec(OnnxNode("Pad", fn, attributes={"mode": mode}, inputs=wiring), (d.tensor("x", shape, dtype),))


@direct(
    op_class=OpClass.REDUCTION,
    min_opset=18,
    notes="ONNX ScatterND with reduction none, add, mul, max and min (opset 18): indices may repeat where a "
    "reduction makes the order irrelevant; negative indices; slices as well as elements. Repeated adds and "
    "multiplies round once each in a floating dtype: judged as a reduction.",
)
def scatter_nd(d: Draw) -> Spec:
    reduction = d.choice("reduction", ("none", "add", "mul", "max", "min"))
    dtype = d.dtype(("float32", "float64", "int64", "int32", "float16"))
    shape = d.shape(min_dims=1, min_side=1, max_side=4)
    k = d.integer("k", 1, len(shape))
    count = d.integer("updates", 1, 5)
    rows = []
    for i in range(count):
        row = [d.integer(f"index{i}.{j}", -shape[j], shape[j] - 1) for j in range(k)]
        rows.append(row)
    if reduction == "none":  # repeated indices leave the result to the order of the writes: unspecified
        seen: dict[tuple[int, ...], list[int]] = {}
        for row in rows:
            seen.setdefault(tuple(r % s for r, s in zip(row, shape, strict=False)), row)
        rows = list(seen.values())
    indices = np.array(rows, dtype=np.int64)
    updates = d.tensor("updates_values", (len(rows), *shape[k:]), dtype)
    data = d.tensor("data", shape, dtype)

    def fn(x: torch.Tensor, idx: torch.Tensor, upd: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        for i, row in enumerate(idx.tolist()):
            where = tuple(r % s for r, s in zip(row, x.shape, strict=False))
            out[where] = SCATTER_REDUCTIONS[reduction](out[where], upd[i])
        return out

    attrs = {} if reduction == "none" and not d.boolean("reduction.explicit") else {"reduction": reduction}
    return Spec(OnnxNode("ScatterND", fn, attributes=attrs), (data, indices, updates))


@direct(
    op_class=OpClass.NORMALIZATION,
    min_opset=23,
    notes="ONNX RMSNormalization (opset 23): axis and epsilon drawn, stash_type omitted or 1 (float32: the "
    "mean of squares from axis to the last axis is computed in float32 whatever the input type, so float64 "
    "inputs are not drawn: their result would be float32's); scale shaped like those axes.",
)
def rms_normalization(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16"))
    shape = d.shape(min_dims=1, min_side=1)
    axis = axis_of(d, len(shape))
    epsilon = d.choice("epsilon", (1e-5, 0.1, 0.0))
    explicit = d.boolean("stash_type.explicit")
    x = d.tensor("x", shape, dtype)
    scale = d.tensor("scale", shape[axis:], dtype, low=0.5, high=2.0)

    def fn(t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        wide = t.float() if t.dtype != torch.float64 else t  # float64 only in the float64 truth
        dims = list(range(axis % t.dim(), t.dim()))
        rms = ((wide * wide).mean(dims, keepdim=True) + epsilon).sqrt()
        return (wide / rms).to(t.dtype) * s

    attrs: dict[str, object] = {"axis": axis, "epsilon": epsilon}
    if explicit:
        attrs["stash_type"] = 1
    return Spec(OnnxNode("RMSNormalization", fn, attributes=attrs), (x, scale))


@direct(
    op_class=OpClass.EXACT,
    min_opset=18,
    notes="ONNX CenterCropPad (opset 18): each axis cropped or zero-padded to the target, centred (an odd "
    "difference puts the extra element after), over all axes or the ones `axes` names.",
)
def center_crop_pad(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "float16", "bool"))
    shape = d.shape(min_dims=1, min_side=1, max_side=6)
    rank = len(shape)
    use_axes = d.boolean("axes.given")
    axes = axes_subset(d, rank) if use_axes else list(range(rank))
    targets = [d.integer(f"target{a}", 1, 8) for a in axes]
    negative = use_axes and d.boolean("axes.negative")

    def fn(x: torch.Tensor) -> torch.Tensor:
        out = x
        for a, target in zip(axes, targets, strict=True):
            dim = out.shape[a]
            if target < dim:
                out = out.narrow(a, (dim - target) // 2, target)
            elif target > dim:
                before = (target - dim) // 2
                shape_before = list(out.shape)
                shape_before[a] = before
                shape_after = list(out.shape)
                shape_after[a] = target - dim - before
                out = torch.cat([out.new_zeros(shape_before), out, out.new_zeros(shape_after)], a)
        return out.clone()

    attrs = {"axes": [a - rank if negative else a for a in axes]} if use_axes else {}
    wiring = [0, np.array(targets, dtype=np.int64)]
    return Spec(OnnxNode("CenterCropPad", fn, attributes=attrs, inputs=wiring), (d.tensor("x", shape, dtype),))


#: Resize's interpolation kernels by mode: radius of support and the kernel of a distance (cubic: Keys, with a).
def _kernel(mode: str, a: float) -> tuple[int, object]:
    def linear(t: float) -> float:
        return max(0.0, 1.0 - abs(t))

    def cubic(t: float) -> float:
        t = abs(t)
        if t <= 1:
            return ((a + 2) * t - (a + 3)) * t * t + 1
        if t < 2:
            return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
        return 0.0

    return (1, linear) if mode == "linear" else (2, cubic)


def _original(x: int, scale: float, length: int, out: int, transform: str, roi: tuple[float, float]) -> float:
    """Resize's coordinate transformation: where output position x falls in the input, by the spec's formulas."""
    if transform == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if transform == "half_pixel_symmetric":
        adjustment = out / (scale * length)
        offset = length / 2 * (1 - adjustment)
        return offset + (x + 0.5) / scale - 0.5
    if transform == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if out > 1 else 0.0
    if transform == "align_corners":
        return 0.0 if out == 1 else x * (length - 1) / (out - 1)
    if transform == "asymmetric":
        return x / scale
    start, end = roi  # tf_crop_and_resize
    if out > 1:
        return start * (length - 1) + x * (end - start) * (length - 1) / (out - 1)
    return 0.5 * (start + end) * (length - 1)


def _nearest(x: float, rule: str) -> int:
    floor = np.floor(x)
    if rule == "floor":
        return int(floor)
    if rule == "ceil":
        return int(np.ceil(x))
    if x - floor == 0.5:
        return int(floor) if rule == "round_prefer_floor" else int(floor) + 1
    return int(np.floor(x + 0.5))


def _resize_taps(
    length: int, out: int, scale: float, how: dict[str, object], roi: tuple[float, float]
) -> tuple[list[list[tuple[int, float]]], np.ndarray]:
    """Per output position along one axis, the input positions it reads and their weights; and which positions
    fall outside (extrapolated). Only a position's own taps take part: a far element's 0 weight times an
    infinity elsewhere in the row would make NaN where the spec reads nothing of it."""
    rows: list[list[tuple[int, float]]] = []
    outside = np.zeros(out, dtype=bool)
    mode = str(how["mode"])
    for o in range(out):
        x = _original(o, scale, length, out, str(how["coordinate_transformation_mode"]), roi)
        if how["coordinate_transformation_mode"] == "tf_crop_and_resize" and not 0 <= x <= length - 1:
            outside[o] = True
            rows.append([])
            continue
        if mode == "nearest":
            rows.append([(min(max(_nearest(x, str(how["nearest_mode"])), 0), length - 1), 1.0)])
            continue
        radius, kernel = _kernel(mode, float(how["cubic_coeff_a"]))
        stretch = scale if how["antialias"] and scale < 1 else 1.0  # antialias widens the kernel when shrinking
        if stretch == 1.0:
            taps = [int(np.floor(x)) + k for k in range(1 - radius, radius + 1)]
        else:
            reach = radius / stretch
            taps = list(range(int(np.floor(x - reach)), int(np.ceil(x + reach)) + 1))
        # Outside the input a tap reads the edge, unless exclude_outside (or an antialiased kernel) drops it.
        keep_edge = not how["exclude_outside"] and stretch == 1.0
        row = [(min(max(t, 0), length - 1), kernel((x - t) * stretch)) for t in taps if keep_edge or 0 <= t < length]
        total = sum(w for _, w in row)
        if (how["exclude_outside"] or stretch != 1.0) and total:
            row = [(t, w / total) for t, w in row]
        rows.append(row)
    return rows, outside


def _resize_axis(x: torch.Tensor, axis: int, rows: list[list[tuple[int, float]]]) -> torch.Tensor:
    """`x` (float64) resized along `axis`: each output position the weighted sum of its own taps."""
    moved = x.movedim(axis, -1)
    parts = [sum((moved[..., t] * w for t, w in row), torch.zeros(moved.shape[:-1], dtype=x.dtype)) for row in rows]
    return torch.stack(parts, -1).movedim(-1, axis)


@direct(
    op_class=OpClass.REDUCTION,
    min_opset=19,
    notes="ONNX Resize with every attribute drawn: nearest, linear and cubic; every coordinate transformation "
    "(half_pixel_symmetric from opset 19, tf_crop_and_resize with a roi and an extrapolation value); every "
    "nearest rounding; cubic_coeff_a and exclude_outside; antialias; scales or sizes, with keep_aspect_ratio_policy; "
    "the axes attribute. The oracle resizes one axis at a time, each output a weighted sum of its own taps by "
    "the spec's formulas; antialias "
    "follows the widened-kernel reading (taps inside the input, weights normalized). Judged as a reduction: each "
    "output is a weighted sum whose weights a backend computes in float32.",
)
def resize(d: Draw) -> Spec:
    mode = d.choice("mode", ("nearest", "linear", "cubic"))
    dtype = d.dtype(("float32", "float16", "float64", "uint8", "int8") if mode == "nearest" else FLOATS_NO_BF16)
    transform = d.choice(
        "coordinate_transformation_mode",
        (
            "half_pixel",
            "half_pixel_symmetric",
            "pytorch_half_pixel",
            "align_corners",
            "asymmetric",
            "tf_crop_and_resize",
        ),
    )
    how: dict[str, object] = {
        "mode": mode,
        "coordinate_transformation_mode": transform,
        "nearest_mode": d.choice("nearest_mode", ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")),
        "cubic_coeff_a": d.choice("cubic_coeff_a", (-0.75, -0.5)),
        "antialias": int(d.boolean("antialias")) if mode != "nearest" else 0,
    }
    # exclude_outside weighs taps outside the input: only a cubic or an antialiased kernel has such taps
    # (onnxruntime refuses it elsewhere).
    how["exclude_outside"] = int(d.boolean("exclude_outside")) if mode == "cubic" or how["antialias"] else 0
    rank = d.choice("rank", (4, 3))
    shape = (
        d.integer("n", 1, 2),
        d.integer("c", 1, 2),
        *d.shape("spatial", min_dims=rank - 2, max_dims=rank - 2, max_side=6),
    )
    axes_form = d.choice("axes", ("all", "spatial", "spatial-negative", "last"))
    axes = {
        "all": list(range(rank)),
        "spatial": list(range(2, rank)),
        "spatial-negative": list(range(2, rank)),
        "last": [rank - 1],
    }[axes_form]
    resized = [a for a in axes if a >= 2]
    by = d.choice("by", ("scales", "sizes"))
    policy = (
        d.choice("keep_aspect_ratio_policy", ("stretch", "not_larger", "not_smaller")) if by == "sizes" else "stretch"
    )
    factors = st.sampled_from((0.5, 0.6, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 1 / 3))
    scales = {a: (float(d.draw(f"scale{a}", factors)) if a in resized else 1.0) for a in axes}
    sizes = {a: (int(d.integer(f"size{a}", 1, 8)) if a in resized else shape[a]) for a in axes}
    roi_pairs = {
        a: (
            (0.0, 1.0) if a not in resized else d.choice(f"roi{a}", ((0.0, 1.0), (0.2, 0.8), (-0.25, 1.25), (0.9, 0.1)))
        )
        for a in axes
    }
    extrapolation = d.choice("extrapolation_value", (0.0, 10.0)) if transform == "tf_crop_and_resize" else 0.0
    requested = dict(sizes)
    if by == "sizes" and policy != "stretch":
        # The policy takes one scale for every axis `axes` names, batch and channel included where named.
        ratios = [sizes[a] / shape[a] for a in axes]
        common = min(ratios) if policy == "not_larger" else max(ratios)
        scales = dict.fromkeys(axes, common)
        sizes = {a: int(np.floor(common * shape[a] + 0.5)) for a in axes}
        if min(sizes.values()) < 1:  # the policy's scale would empty an axis: asked without a policy instead
            policy = "stretch"
            scales = {a: requested[a] / shape[a] for a in axes}
            sizes = dict(requested)
    elif by == "sizes":
        scales = {a: sizes[a] / shape[a] for a in axes}
    else:
        # A scale that would leave an axis empty is taken as 1; the rest as the float32 scales input holds them.
        scales = {a: float(np.float32(s if np.floor(shape[a] * s) >= 1 else 1.0)) for a, s in scales.items()}
        sizes = {a: int(np.floor(shape[a] * scales[a])) for a in axes}
    written_axes = [a - rank for a in axes] if axes_form == "spatial-negative" else axes

    def fn(x: torch.Tensor) -> torch.Tensor:
        out = x.double()  # an int8 or uint8 picked by nearest is exact in float64
        mask = torch.zeros((), dtype=torch.bool)
        for a in axes:
            if sizes[a] == shape[a] and scales[a] == 1.0 and transform != "tf_crop_and_resize":
                continue
            rows, outside = _resize_taps(shape[a], sizes[a], scales[a], how, roi_pairs[a])
            out = _resize_axis(out, a, rows)
            mask = mask | torch.from_numpy(outside).reshape([-1 if k == a else 1 for k in range(x.dim())])
        if transform == "tf_crop_and_resize":
            out = torch.where(mask, torch.tensor(extrapolation, dtype=out.dtype), out)
        return out.to(x.dtype)

    attrs: dict[str, object] = {k: v for k, v in how.items() if k not in ("antialias", "exclude_outside") or v}
    attrs["axes"] = written_axes
    if transform == "tf_crop_and_resize":
        attrs["extrapolation_value"] = extrapolation
    if policy != "stretch":
        attrs["keep_aspect_ratio_policy"] = policy
    roi = np.array([roi_pairs[a][0] for a in axes] + [roi_pairs[a][1] for a in axes], dtype=np.float32)
    wiring: list[int | np.ndarray | None] = [0, roi if transform == "tf_crop_and_resize" else None]
    if by == "scales":
        wiring.append(np.array([scales[a] for a in axes], dtype=np.float32))
    else:
        wiring += [None, np.array([requested[a] for a in axes], dtype=np.int64)]
    return Spec(OnnxNode("Resize", fn, attributes=attrs, inputs=wiring), (d.tensor("x", shape, dtype, low=-4, high=4),))


@direct(
    op_class=OpClass.REDUCTION,
    min_opset=19,
    notes="ONNX MaxPool, AveragePool and LpPool with auto_pad SAME_UPPER, SAME_LOWER and VALID (torch writes "
    "explicit pads only), or explicit pads; strides and dilations (opset 19, where every pool has them); "
    "count_include_pad 0 and 1; LpPool's p; 1-d and 2-d, integer inputs for MaxPool.",
)
def pool_auto_pad(d: Draw) -> Spec:
    op = d.choice("op", ("MaxPool", "AveragePool", "LpPool"))
    dtype = d.dtype(("float32", "float16", "float64", "int8", "uint8") if op == "MaxPool" else FLOATS_NO_BF16)
    rank = d.choice("spatial_rank", (2, 1))
    spatial = d.shape("spatial", min_dims=rank, max_dims=rank, min_side=1, max_side=7)
    shape = (d.integer("n", 1, 2), d.integer("c", 1, 3), *spatial)
    auto_pad = d.choice("auto_pad", ("SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"))
    kernel = [d.integer(f"kernel{i}", 1, 3) for i in range(rank)]
    strides = [d.integer(f"stride{i}", 1, 3) for i in range(rank)]
    dilations = [
        d.integer(f"dilation{i}", 1, 2) if op != "AveragePool" or d.boolean("avg.dilated") else 1 for i in range(rank)
    ]
    explicit = [
        (d.integer(f"pad_begin{i}", 0, kernel[i] - 1), d.integer(f"pad_end{i}", 0, kernel[i] - 1)) for i in range(rank)
    ]
    count_include_pad = op == "AveragePool" and d.boolean("count_include_pad")
    p = d.choice("p", (2, 1, 3)) if op == "LpPool" else 2
    pads = [auto_pads(spatial[i], kernel[i], strides[i], dilations[i], auto_pad, explicit[i]) for i in range(rank)]
    spans = [(kernel[i] - 1) * dilations[i] + 1 for i in range(rank)]
    # A window longer than the padded input leaves no output: the draw is taken with the kernel cut to fit.
    for i in range(rank):
        while spans[i] > spatial[i] + sum(pads[i]) and kernel[i] > 1:
            kernel[i] -= 1
            pads[i] = auto_pads(
                spatial[i],
                kernel[i],
                strides[i],
                dilations[i],
                auto_pad,
                (min(explicit[i][0], kernel[i] - 1), min(explicit[i][1], kernel[i] - 1)),
            )
            spans[i] = (kernel[i] - 1) * dilations[i] + 1
        explicit[i] = (min(explicit[i][0], kernel[i] - 1), min(explicit[i][1], kernel[i] - 1))

    def fn(x: torch.Tensor) -> torch.Tensor:
        floating = x.dtype.is_floating_point
        work = x if op == "MaxPool" else x.double() if x.dtype == torch.float64 else x.float()
        lowest = -torch.inf if floating else torch.iinfo(x.dtype).min
        flat = [v for i in reversed(range(rank)) for v in pads[i]]
        padded = F.pad(work, flat, value=lowest if op == "MaxPool" else 0)
        counted = F.pad(torch.ones_like(work, dtype=torch.float64), flat, value=1.0 if count_include_pad else 0.0)
        for i in range(rank):
            padded = padded.unfold(2 + i, spans[i], strides[i])
            counted = counted.unfold(2 + i, spans[i], strides[i])
        taps = tuple(slice(None, None, dilations[i]) for i in range(rank))
        padded = padded[(..., *taps)]
        counted = counted[(..., *taps)]
        window = tuple(range(-rank, 0))
        if op == "MaxPool":
            return padded.amax(window)
        if op == "LpPool":
            return ((padded.abs() ** p).sum(window) ** (1.0 / p)).to(x.dtype)
        return (padded.sum(window) / counted.sum(window).to(padded.dtype)).to(x.dtype)

    attrs: dict[str, object] = {"kernel_shape": kernel, "strides": strides}
    if auto_pad == "NOTSET":
        attrs["pads"] = [b for b, _ in explicit] + [e for _, e in explicit]
    else:
        attrs["auto_pad"] = auto_pad
    if any(v != 1 for v in dilations):
        attrs["dilations"] = dilations
    if op == "AveragePool":
        attrs["count_include_pad"] = int(count_include_pad)
    if op == "LpPool":
        attrs["p"] = p
    return Spec(OnnxNode(op, fn, attributes=attrs), (d.tensor("x", shape, dtype),))
