"""Quantized operators and quantization attributes torch's exporters never write, as single ONNX nodes.

torch writes QuantizeLinear and DequantizeLinear only as its quantization
passes lower them: positive axes, a zero point always given, no `block_size`,
no `output_dtype`, no `precision`, no `saturate`; and it never writes
QLinearMatMul, QLinearConv or ConvInteger at all. Without these cases a
backend's kernels for them meet only ONNX's fixed node tests. Each case
writes its node itself (`direct=True`) and draws every attribute and input
form the spec allows; its forward pass is the node's meaning by the spec, in
torch.

The oracles compute exactly and round where the spec rounds, so nothing
reruns in float64 (`float64_truth=False`): quantized results are judged
exactly, one step apart is a failure; DequantizeLinear's float results are
rounded once and judged within the elementwise tolerance. The requantizing
ops (QLinear*) draw scales of at most two significant bits, y_scale a power
of two and accumulators under 2^21: every product and quotient of their
scales and accumulators is then exact in float32, so the spec's
round-half-to-even is what is judged, not the order a backend multiplies its
scales in. Float8, int4 and uint4 are not drawn: the suite's tensors have no
such dtypes (conformance/dtypes.py, conformance/tensors.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from cases._draws import ConvGeometry, axis_of, conv_geometry, direct
from conformance.casekit import OnnxNode
from conformance.generate import Draw, numpy_dtype
from conformance.model import OpClass, Spec
from conformance.tensors import to_torch

#: Each quantized integer type's range (the spec's saturation bounds).
QRANGE = {"uint8": (0, 255), "int8": (-128, 127), "uint16": (0, 65535), "int16": (-32768, 32767)}
#: The 8-bit types every opset has; 16-bit ones from opset 21.
QTYPES_8 = ("uint8", "int8")
QTYPES_16 = ("uint16", "int16")
#: The float types of scales (and of x, from opset 19).
SCALE_DTYPES = ("float32", "float16", "bfloat16")
#: ONNX's TensorProto number of each dtype named here (output_dtype, precision).
PROTO = {
    "float32": 1,
    "uint8": 2,
    "int8": 3,
    "uint16": 4,
    "int16": 5,
    "float16": 10,
    "bfloat16": 16,
}
#: QuantizeLinear and DequantizeLinear scales: powers of two (exact ties), and ones whose quotient is inexact.
SCALES = (1.0, 0.25, 0.0078125, 0.1, 0.003)
#: QLinear* scales of a (or x) and of b (or w): at most two significant bits, so a product of two has at most four.
A_SCALES = (1.0, 0.5, 0.75, 0.046875)
B_SCALES = (1.0, 0.25, 1.5, 0.0234375)
#: Zero points: the range's low end, middle, high end (odd: a tie then rounds apart from zp + tie), or random per element.
ZERO_POINTS = ("low", "middle", "high", "random")
#: Ends of the float16 range: a (x - zero point) past it would overflow a multiplication "in the output precision".
FLOAT16_MAX = 65504


def _torch_dtype(name: str) -> torch.dtype:
    return getattr(torch, name)


def _node(
    op: str,
    meaning: Callable[..., torch.Tensor],
    operands: Sequence[tuple[np.ndarray | None, bool]],
    attrs: dict[str, Any],
) -> Spec:
    """The node over `operands` (an array and whether it is a graph input, or None for an omitted optional input);
    `meaning` receives every operand in the node's order, None where omitted, constants as tensors."""
    wiring: list[int | np.ndarray | None] = []
    graph: list[np.ndarray] = []
    for array, as_input in operands:
        if array is None:
            wiring.append(None)
        elif as_input:
            wiring.append(len(graph))
            graph.append(array)
        else:
            wiring.append(array)
    while wiring and wiring[-1] is None:
        wiring.pop()
    constants = {i: to_torch(w) for i, w in enumerate(wiring) if isinstance(w, np.ndarray)}
    count = len(operands)

    def fn(*args: torch.Tensor) -> torch.Tensor:
        full: list[torch.Tensor | None] = []
        for i, w in enumerate(wiring):
            full.append(None if w is None else constants[i] if isinstance(w, np.ndarray) else args[w])
        return meaning(*full, *([None] * (count - len(full))))

    return Spec(OnnxNode(op, fn, attributes=attrs, inputs=wiring), tuple(graph))


def _spread(v: torch.Tensor, shape: Sequence[int], axis: int | None, block: int) -> torch.Tensor:
    """A scale or zero point laid over x's shape: as is (per tensor), along `axis` (per axis), or each entry
    repeated `block` times along `axis` with the last block cut to fit (blocked)."""
    if v.dim() == 0 or axis is None:
        return v
    if block:
        return v.repeat_interleave(block, dim=axis).narrow(axis, 0, shape[axis])
    view = [1] * len(shape)
    view[axis] = -1
    return v.reshape(view)


def _zero_point(d: Draw, label: str, shape: Sequence[int], dtype: str, form: str) -> np.ndarray:
    """A zero point of `shape` at the range's low end, middle, high end, or random per element (`form`)."""
    lo, hi = QRANGE[dtype]
    if form == "random":
        return d.tensor(f"{label}.values", shape, "int64", low=lo, high=hi, special=False).astype(dtype)
    return np.full(tuple(shape), {"low": lo, "middle": (lo + hi + 1) // 2, "high": hi}[form], dtype=dtype)


def _scale(d: Draw, label: str, shape: Sequence[int], options: Sequence[float], dtype: str = "float32") -> np.ndarray:
    """A scale of `shape`: one drawn value everywhere, or (`.mixed`, where it is not a scalar) one per element.

    `.mixed` is drawn for a scalar too (and means nothing there): a label drawn on one path only stays unseen by
    covering when a large draw takes that path first."""
    base = d.choice(label, options)
    mixed = d.boolean(f"{label}.mixed")
    if shape and mixed:
        picks = d.tensor(f"{label}.picks", shape, "int64", low=0, high=len(options) - 1, special=False)
        return np.asarray(options, dtype=np.float64)[picks].astype(numpy_dtype(dtype))
    return np.full(tuple(shape), base, dtype=np.float64).astype(numpy_dtype(dtype))


class _Granularity(NamedTuple):
    form: str
    shape: tuple[int, ...]
    axis: int | None
    block: int
    qshape: tuple[int, ...]


def _granularity(d: Draw, forms: Sequence[str]) -> _Granularity:
    """x's shape and how its scale covers it: per tensor (x of any rank, empty included), per axis (a 1-D scale
    along a drawn axis, either way spelled; rank 2 or more, since opset 19 reads a rank-1 x as per tensor), or
    blocked (the axis cut into blocks of `block_size`, the last one full or partial)."""
    form = d.choice("granularity", forms)
    if form == "per-tensor":
        return _Granularity(form, d.shape(min_side=0), None, 0, ())
    shape = list(d.shape(min_dims=2 if form == "per-axis" else 1, min_side=1))
    axis = axis_of(d, len(shape))
    if form == "per-axis":
        return _Granularity(form, tuple(shape), axis, 0, (shape[axis],))
    block = d.choice("block_size", (2, 1, 3, 4))
    blocks = d.integer("blocks", 1, 3)
    partial = block > 1 and d.choice("last_block", ("full", "partial")) == "partial"
    shape[axis] = (blocks - 1) * block + (d.integer("last_block.length", 1, block - 1) if partial else block)
    qshape = list(shape)
    qshape[axis] = blocks
    return _Granularity(form, tuple(shape), axis, block, tuple(qshape))


def _axis_attrs(d: Draw, g: _Granularity) -> dict[str, Any]:
    """`axis` where the spec does not need it (`axis.written`): the default 1 written out, or, per tensor, an axis
    of x (either way spelled) that the spec ignores."""
    written = d.boolean("axis.written")
    if g.axis is None:
        return {"axis": axis_of(d, len(g.shape))} if written and g.shape else {}
    return {"axis": g.axis} if g.axis != 1 or written else {}


def _quantize(d: Draw, level: int) -> Spec:
    """QuantizeLinear with what opset `level` (13, 21 or 23) allows."""
    if level == 13:
        x_dtype = scale_dtype = "float32"
    elif level == 21:
        x_dtype = scale_dtype = d.dtype(SCALE_DTYPES)  # one type T1 for both at opsets 19 and 21
    else:
        x_dtype = d.dtype((*SCALE_DTYPES, "int32"), label="x_dtype")
        scale_dtype = d.dtype(SCALE_DTYPES, label="scale_dtype")
    precision = d.choice("precision", ("unset", *SCALE_DTYPES)) if level >= 23 else "unset"
    g = _granularity(d, ("per-axis", "blocked", "per-tensor") if level >= 21 else ("per-axis", "per-tensor"))
    zp_form = d.choice("zero_point", ("omitted", *ZERO_POINTS))
    out_attr = level >= 21 and d.boolean("output_dtype")
    qtypes = QTYPES_8 + QTYPES_16 if level >= 21 else QTYPES_8
    # With neither a zero point nor output_dtype the output is uint8 (the spec's default).
    qdtype = d.dtype(qtypes, label="to") if zp_form != "omitted" or out_attr else "uint8"
    saturate = d.choice("saturate", ("unset", 1, 0)) if level >= 21 else "unset"
    qmin, qmax = QRANGE[qdtype]
    scale = _scale(d, "scale", g.qshape, SCALES, scale_dtype)
    zp = None if zp_form == "omitted" else _zero_point(d, "zero_point", g.qshape, qdtype, zp_form)
    qparams = d.choice("qparams", ("constant", "input"))

    # x in quantization steps: over the range and four steps past each end, for every zero point drawn.
    zps = np.zeros(1, np.int64) if zp is None else zp.astype(np.int64)
    steps = d.tensor("steps", g.shape, "float32", low=qmin - int(zps.max()) - 4, high=qmax - int(zps.min()) + 4)
    steps = steps.astype(np.float64)
    finite = np.isfinite(steps)
    if steps.size and d.boolean("ties"):  # exactly half way between two steps (exact for power-of-two scales)
        steps = np.where(finite, np.floor(np.where(finite, steps, 0)) + 0.5, steps)
    steps = np.where(np.isnan(steps), 0.0, steps)  # NaN has no quantized value: undefined, not drawn
    full_scale = _spread(torch.from_numpy(scale.astype(np.float64)), g.shape, g.axis, g.block).numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        real = steps * full_scale
        if x_dtype == "int32":
            info = np.iinfo(np.int32)
            x = np.clip(np.rint(real), info.min, info.max).astype(np.int32)
        else:
            x = real.astype(numpy_dtype(x_dtype))

    work = _torch_dtype(precision if precision != "unset" else scale_dtype)

    def meaning(t: torch.Tensor, s: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        q = torch.round(t.to(work) / _spread(s, t.shape, g.axis, g.block).to(work)).double()
        if z is not None:
            q = q + _spread(z, t.shape, g.axis, g.block).double()
        return q.clamp(qmin, qmax).to(_torch_dtype(qdtype))

    attrs = _axis_attrs(d, g)
    if g.block:
        attrs["block_size"] = g.block
    if out_attr:
        attrs["output_dtype"] = PROTO[qdtype]
    if precision != "unset":
        attrs["precision"] = PROTO[precision]
    if saturate != "unset":
        attrs["saturate"] = saturate
    as_input = qparams == "input"
    return _node("QuantizeLinear", meaning, [(x, True), (scale, as_input), (zp, as_input)], attrs)


def _dequantize(d: Draw, level: int) -> Spec:
    """DequantizeLinear with what opset `level` (13, 21 or 23) allows."""
    x_dtype = d.dtype((*QTYPES_8, "int32") if level == 13 else (*QTYPES_8, *QTYPES_16, "int32"), label="from")
    scale_dtype = "float32" if level == 13 else d.dtype(SCALE_DTYPES, label="scale_dtype")
    out_attr = level >= 23 and d.boolean("output_dtype")
    out = d.dtype(SCALE_DTYPES, label="to") if out_attr else scale_dtype
    g = _granularity(d, ("per-axis", "blocked", "per-tensor") if level >= 21 else ("per-axis", "per-tensor"))
    # int32 has no zero point (the spec: it is supposed to be 0).
    zp_form = d.choice("zero_point", ("omitted",) if x_dtype == "int32" else ("omitted", *ZERO_POINTS))
    scale = _scale(d, "scale", g.qshape, SCALES, scale_dtype)
    zp = None if zp_form == "omitted" else _zero_point(d, "zero_point", g.qshape, x_dtype, zp_form)
    qparams = d.choice("qparams", ("constant", "input"))
    lo, hi = QRANGE.get(x_dtype, (-(2**20), 2**20))
    x = d.tensor("x", g.shape, x_dtype, low=lo, high=hi)
    if out == "float16":
        # The spec multiplies "in the output precision": past float16's range (x - zero point) would overflow
        # before the scale brings it back; left open, not drawn.
        z = np.zeros(()) if zp is None else _spread(torch.from_numpy(zp.astype(np.int64)), g.shape, g.axis, g.block)
        z = np.asarray(z, dtype=np.int64)
        x = np.clip(x.astype(np.int64), z - FLOAT16_MAX, z + FLOAT16_MAX).astype(x_dtype)

    def meaning(t: torch.Tensor, s: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
        v = t.double()
        if z is not None:
            v = v - _spread(z, t.shape, g.axis, g.block).double()
        return (v * _spread(s, t.shape, g.axis, g.block).double()).to(_torch_dtype(out))

    attrs = _axis_attrs(d, g)
    if g.block:
        attrs["block_size"] = g.block
    if out_attr:
        attrs["output_dtype"] = PROTO[out]
    as_input = qparams == "input"
    return _node("DequantizeLinear", meaning, [(x, True), (scale, as_input), (zp, as_input)], attrs)


_QUANTIZE_NOTE = (
    "ONNX QuantizeLinear: y = saturate(round_half_even(x / y_scale) + y_zero_point), the division in the "
    "scale's type (or `precision`'s, opset 23); values four steps past both ends of the range and, with `ties`, "
    "exactly half way between two steps; infinities saturate, NaN is undefined and not drawn."
)
_DEQUANTIZE_NOTE = (
    "ONNX DequantizeLinear: y = (x - x_zero_point) * x_scale, rounded once to the output type (a backend "
    "multiplying in the output precision is within the tolerance). int32 is drawn without a zero point, as the "
    "spec says; with a float16 output |x - zero point| stays within float16's range."
)


@direct(
    op_class=OpClass.EXACT,
    float64_truth=False,
    min_opset=13,
    notes=_QUANTIZE_NOTE + " Opset 13 forms: float32 x, per tensor or per axis with a 1-D scale (negative axes "
    "too, the default axis 1 written or not, an axis attribute per tensor that the spec ignores), the zero point "
    "omitted (uint8 output, zero point 0) or int8/uint8; scale and zero point constants or graph inputs.",
)
def quantize_linear_attrs(d: Draw) -> Spec:
    return _quantize(d, 13)


@direct(
    op_class=OpClass.EXACT,
    float64_truth=False,
    min_opset=21,
    notes=_QUANTIZE_NOTE + " Opset 21 forms: float32, float16 and bfloat16 x and scale; blocked quantization "
    "(block_size 1 to 4, the last block full or partial); output_dtype with or without a zero point; int16 and "
    "uint16 outputs; saturate 0 and 1 (it applies to float8 only: integer outputs saturate regardless).",
)
def quantize_linear_blocked(d: Draw) -> Spec:
    return _quantize(d, 21)


@direct(
    op_class=OpClass.EXACT,
    float64_truth=False,
    min_opset=23,
    notes=_QUANTIZE_NOTE + " Opset 23 forms: x and scale of different types (int32 x too) and the `precision` "
    "attribute naming the division's type; int32 scales (an integer division) are not drawn.",
)
def quantize_linear_precision(d: Draw) -> Spec:
    return _quantize(d, 23)


@direct(
    op_class=OpClass.ELEMENTWISE,
    float64_truth=False,
    min_opset=13,
    notes=_DEQUANTIZE_NOTE + " Opset 13 forms: uint8, int8 and int32 x, float32 scale, per tensor or per axis "
    "(negative axes too, axis 1 written or not), the zero point omitted or given, constants or graph inputs.",
)
def dequantize_linear_attrs(d: Draw) -> Spec:
    return _dequantize(d, 13)


@direct(
    op_class=OpClass.ELEMENTWISE,
    float64_truth=False,
    min_opset=21,
    notes=_DEQUANTIZE_NOTE + " Opset 21 forms: int16 and uint16 x, float16 and bfloat16 scales (the output's "
    "type), blocked dequantization (block_size 1 to 4, the last block full or partial).",
)
def dequantize_linear_blocked(d: Draw) -> Spec:
    return _dequantize(d, 21)


@direct(
    op_class=OpClass.ELEMENTWISE,
    float64_truth=False,
    min_opset=23,
    notes=_DEQUANTIZE_NOTE + " Opset 23 forms: output_dtype, the same as or other than the scale's type.",
)
def dequantize_linear_output_dtype(d: Draw) -> Spec:
    return _dequantize(d, 23)


#: How y_scale is drawn: a power of two fitting the largest |real| into about 128 steps, four times coarser, eight
#: times finer (most values saturate), or twice the scales' common granule (each odd accumulator an exact tie).
Y_SCALES = ("fit", "coarse", "saturating", "half-step")


def _y_scale(real: np.ndarray, products: np.ndarray, how: str) -> np.ndarray:
    """A power-of-two y_scale (`how` one of Y_SCALES) for `real` = accumulator * input scales, whose scale
    products (`products`, a_scale * b_scale) are dyadic: acc * products / y_scale is then exact in float32."""
    if how == "half-step":
        granule = 2.0**8
        while np.any(np.mod(products, granule) != 0):  # the largest power of two dividing every product
            granule /= 2
        return np.array(2 * granule, dtype=np.float32)
    top = float(np.max(np.abs(real))) if real.size else 0.0
    exponent = (math.ceil(math.log2(top / 128)) if top > 0 else 0) + {"fit": 0, "coarse": 2, "saturating": -3}[how]
    return np.array(2.0**exponent, dtype=np.float32)


def _requantize(
    acc: torch.Tensor, scale: torch.Tensor, y_scale: torch.Tensor, y_zp: torch.Tensor, dtype: str
) -> torch.Tensor:
    """saturate(round_half_even(acc * scale / y_scale) + y_zero_point), exact in float64 for these scales."""
    lo, hi = QRANGE[dtype]
    real = acc.double() * scale / y_scale.double()
    return (torch.round(real) + y_zp.double()).clamp(lo, hi).to(_torch_dtype(dtype))


def _operand(d: Draw, label: str, shape: Sequence[int], dtype: str, zp: np.ndarray, near: bool) -> np.ndarray:
    """A quantized operand over its whole range (the extremes in special values), or within three steps of its
    zero point (`near`: small accumulators, so the requantized values land on exact ties often)."""
    lo, hi = QRANGE[dtype]
    if not near:
        return d.tensor(label, shape, dtype, low=lo, high=hi)
    small = d.tensor(label, shape, "int64", low=-3, high=3, special=False)
    return np.clip(zp.astype(np.int64) + small, lo, hi).astype(dtype)


@direct(
    op_class=OpClass.EXACT,
    float64_truth=False,
    notes="ONNX QLinearMatMul: int8 or uint8 a, b and y each, 2-d or batched 3-d a and b (broadcast); scales and "
    "zero points per tensor, per row of a ([M], or [D, M, 1] batched) and per column of b ([N], or [D, 1, N]); "
    "y = saturate(round_half_even(sum (a - a_zp)(b - b_zp) * a_scale * b_scale / y_scale) + y_zp) with int32 "
    "accumulation, the zero point added after rounding. Operands over the whole range or near their zero points; "
    "y_scale fitting, coarse, saturating both ends, or a half step (exact ties); b and the quantization "
    "parameters constants or graph inputs.",
)
def qlinear_matmul(d: Draw) -> Spec:
    a_dtype = d.dtype(QTYPES_8, label="a_dtype")
    b_dtype = d.dtype(QTYPES_8, label="b_dtype")
    y_dtype = d.dtype(QTYPES_8, label="y_dtype")
    a_rank = d.choice("a_rank", (2, 3))
    b_rank = d.choice("b_rank", (2, 3))
    batch = d.integer("batch", 1, 3) if 3 in (a_rank, b_rank) else 1
    m, k = d.integer("m", 1, 5), d.integer("k", 1, 20)  # k * 255 * 255 stays under 2^21
    (n,) = d.shape("n", min_dims=1, max_dims=1)
    a_shape = (batch, m, k) if a_rank == 3 else (m, k)
    b_shape = (batch, k, n) if b_rank == 3 else (k, n)
    a_form = d.choice("a_quantization", ("per-tensor", "per-row"))
    b_form = d.choice("b_quantization", ("per-tensor", "per-column"))
    a_qshape = () if a_form == "per-tensor" else (batch, m, 1) if a_rank == 3 else (m,)
    b_qshape = () if b_form == "per-tensor" else (batch, 1, n) if b_rank == 3 else (n,)
    a_scale = _scale(d, "a_scale", a_qshape, A_SCALES)
    b_scale = _scale(d, "b_scale", b_qshape, B_SCALES)
    a_zp = _zero_point(d, "a_zero_point", a_qshape, a_dtype, d.choice("a_zero_point", ZERO_POINTS))
    b_zp = _zero_point(d, "b_zero_point", b_qshape, b_dtype, d.choice("b_zero_point", ZERO_POINTS))
    y_zp = _zero_point(d, "y_zero_point", (), y_dtype, d.choice("y_zero_point", ZERO_POINTS))
    y_how = d.choice("y_scale", Y_SCALES)
    # Half steps land in range only for small accumulators: operands near their zero points.
    near = y_how == "half-step" or d.choice("values", ("full", "near-zero-point")) == "near-zero-point"
    a_row = a_zp.reshape(-1, 1) if a_zp.ndim == 1 else a_zp
    a = _operand(d, "a", a_shape, a_dtype, np.broadcast_to(a_row, a_shape), near)
    b = _operand(d, "b", b_shape, b_dtype, np.broadcast_to(b_zp, b_shape), near)
    b_constant = d.boolean("b.constant")
    qparams = d.choice("qparams", ("constant", "input"))

    def rows(v: torch.Tensor) -> torch.Tensor:
        return v.reshape(-1, 1) if v.dim() == 1 else v  # a's [M] per-row vector runs down the rows

    def accumulate(ta: torch.Tensor, za: torch.Tensor, tb: torch.Tensor, zb: torch.Tensor) -> torch.Tensor:
        return torch.matmul(ta.long() - rows(za.long()), tb.long() - zb.long())

    acc = accumulate(*(torch.from_numpy(v.astype(np.int64)) for v in (a, a_zp, b, b_zp)))
    products = rows(torch.from_numpy(a_scale.astype(np.float64))).numpy() * b_scale.astype(np.float64)
    y_scale = _y_scale(acc.double().numpy() * products, products, y_how)

    def meaning(*args: torch.Tensor) -> torch.Tensor:
        ta, sa, za, tb, sb, zb, sy, zy = args
        acc = accumulate(ta, za, tb, zb)
        return _requantize(acc, rows(sa.double()) * sb.double(), sy, zy, y_dtype)

    q = qparams == "input"
    operands = [(a, True), (a_scale, q), (a_zp, q), (b, not b_constant), (b_scale, q), (b_zp, q), (y_scale, q)]
    return _node("QLinearMatMul", meaning, [*operands, (y_zp, q)], {})


_CONV = {1: F.conv1d, 2: F.conv2d}


def _geometry(d: Draw) -> tuple[ConvGeometry, tuple[int, ...]]:
    """The shared convolution geometry (at most 18 products of at most 255 * 255 per output) and x's shape."""
    geo = conv_geometry(d)
    return geo, geo.x_shape(d.integer("n", 1, 2))


def _conv_attrs(d: Draw, geo: ConvGeometry) -> dict[str, Any]:
    """The conv attributes; the ones at their defaults (strides and dilations 1, group 1, pads 0, the kernel
    read from w) written or left out as drawn."""
    written = d.boolean("defaults.written")
    attrs: dict[str, Any] = {}
    if written or d.boolean("kernel_shape.written"):
        attrs["kernel_shape"] = geo.kernel
    if written or any(s != 1 for s in geo.strides):
        attrs["strides"] = geo.strides
    if written or any(v != 1 for v in geo.dilations):
        attrs["dilations"] = geo.dilations
    if written or geo.group != 1:
        attrs["group"] = geo.group
    if geo.mode == "NOTSET":
        if written or any(p for pair in geo.explicit for p in pair):
            attrs["pads"] = geo.onnx_pads
        if written:
            attrs["auto_pad"] = "NOTSET"
    else:
        attrs["auto_pad"] = geo.mode
    return attrs


def _int_conv(x: torch.Tensor, w: torch.Tensor, geo: ConvGeometry) -> torch.Tensor:
    """The exact integer convolution of zero-point-free operands, padded with zeros (the real value 0, so the
    zero point in quantized terms); in float64, exact at these sizes (|sum| < 2^21)."""
    padded = F.pad(x.double(), geo.torch_pads)
    out = _CONV[geo.rank](padded, w.double(), None, stride=geo.strides, dilation=geo.dilations, groups=geo.group)
    return out.round().long()


def _per_channel(v: torch.Tensor, rank: int, lead: int) -> torch.Tensor:
    """A per-output-channel vector shaped to broadcast over w (lead 0) or over y (lead 1); a scalar as is."""
    if v.dim() == 0:
        return v
    return v.reshape(*([1] * lead), -1, *([1] * (rank + 1 - lead)))


@direct(
    op_class=OpClass.EXACT,
    float64_truth=False,
    notes="ONNX QLinearConv: int8 or uint8 x, w and y each; w's scale and zero point per tensor or per output "
    "channel (equal or different zero points per channel); the int32 bias (scale x_scale * w_scale, zero point 0) "
    "present or absent; groups (depthwise included), strides, dilations, auto_pad or explicit asymmetric pads "
    "(padding the real value 0), kernel_shape written or read from w, 1-d and 2-d; y_scale drawn as for "
    "QLinearMatMul (exact ties included). "
    "y = saturate(round_half_even((conv(x - x_zp, w - w_zp) + B) * x_scale * w_scale / y_scale) + y_zp).",
)
def qlinear_conv(d: Draw) -> Spec:
    x_dtype = d.dtype(QTYPES_8, label="x_dtype")
    w_dtype = d.dtype(QTYPES_8, label="w_dtype")
    y_dtype = d.dtype(QTYPES_8, label="y_dtype")
    geo, x_shape = _geometry(d)
    c_out = geo.w_shape[0]
    w_form = d.choice("w_quantization", ("per-tensor", "per-channel"))
    w_qshape = (c_out,) if w_form == "per-channel" else ()
    x_scale = _scale(d, "x_scale", (), A_SCALES)
    w_scale = _scale(d, "w_scale", w_qshape, B_SCALES)
    x_zp = _zero_point(d, "x_zero_point", (), x_dtype, d.choice("x_zero_point", ZERO_POINTS))
    w_zp = _zero_point(d, "w_zero_point", w_qshape, w_dtype, d.choice("w_zero_point", ZERO_POINTS))
    y_zp = _zero_point(d, "y_zero_point", (), y_dtype, d.choice("y_zero_point", ZERO_POINTS))
    y_how = d.choice("y_scale", Y_SCALES)
    near = y_how == "half-step" or d.choice("values", ("full", "near-zero-point")) == "near-zero-point"
    x = _operand(d, "x", x_shape, x_dtype, x_zp, near)
    w = _operand(d, "w", geo.w_shape, w_dtype, _per_channel(torch.from_numpy(w_zp), geo.rank, 0).numpy(), near)
    bias = d.tensor("B", (c_out,), "int32", low=-(2**14), high=2**14, special=False) if d.boolean("bias") else None
    w_constant = d.boolean("w.constant")
    qparams = d.choice("qparams", ("constant", "input"))

    def accumulate(tx: torch.Tensor, zx: torch.Tensor, tw: torch.Tensor, zw: torch.Tensor, tb: Any) -> torch.Tensor:
        acc = _int_conv(tx.long() - zx.long(), tw.long() - _per_channel(zw.long(), geo.rank, 0), geo)
        return acc if tb is None else acc + _per_channel(tb.long(), geo.rank, 1)

    ints = [None if v is None else torch.from_numpy(v.astype(np.int64)) for v in (x, x_zp, w, w_zp, bias)]
    acc = accumulate(*ints)
    products = float(x_scale) * _per_channel(torch.from_numpy(w_scale.astype(np.float64)), geo.rank, 1)
    y_scale = _y_scale((acc.double() * products).numpy(), np.asarray(products), y_how)

    def meaning(*args: torch.Tensor) -> torch.Tensor:
        tx, sx, zx, tw, sw, zw, sy, zy, tb = args
        scale = sx.double() * _per_channel(sw.double(), geo.rank, 1)
        return _requantize(accumulate(tx, zx, tw, zw, tb), scale, sy, zy, y_dtype)

    q = qparams == "input"
    operands = [(x, True), (x_scale, q), (x_zp, q), (w, not w_constant), (w_scale, q), (w_zp, q), (y_scale, q)]
    return _node("QLinearConv", meaning, [*operands, (y_zp, q), (bias, q)], _conv_attrs(d, geo))


@direct(
    op_class=OpClass.EXACT,
    float64_truth=False,
    notes="ONNX ConvInteger: int8 or uint8 x and w; x's zero point absent or scalar, w's absent, scalar or per "
    "output channel; groups (depthwise included), strides, dilations, auto_pad or explicit asymmetric pads "
    "(padding the real value 0), kernel_shape written or read from w, 1-d and 2-d; "
    "int32 conv(x - x_zero_point, w - w_zero_point).",
)
def conv_integer(d: Draw) -> Spec:
    x_dtype = d.dtype(QTYPES_8, label="x_dtype")
    w_dtype = d.dtype(QTYPES_8, label="w_dtype")
    geo, x_shape = _geometry(d)
    x_form = d.choice("x_zero_point", ("absent", "scalar"))
    w_form = d.choice("w_zero_point", ("absent", "scalar", "per-channel"))
    x_zp = None if x_form == "absent" else _zero_point(d, "x_zp", (), x_dtype, d.choice("x_zp", ZERO_POINTS))
    w_qshape = (geo.w_shape[0],) if w_form == "per-channel" else ()
    w_zp = None if w_form == "absent" else _zero_point(d, "w_zp", w_qshape, w_dtype, d.choice("w_zp", ZERO_POINTS))
    x = d.tensor("x", x_shape, x_dtype, low=QRANGE[x_dtype][0], high=QRANGE[x_dtype][1])
    w = d.tensor("w", geo.w_shape, w_dtype, low=QRANGE[w_dtype][0], high=QRANGE[w_dtype][1])
    w_constant = d.boolean("w.constant")
    qparams = d.choice("qparams", ("constant", "input"))

    def meaning(tx: torch.Tensor, tw: torch.Tensor, zx: Any, zw: Any) -> torch.Tensor:
        xs = tx.long() - (0 if zx is None else zx.long())
        ws = tw.long() - (0 if zw is None else _per_channel(zw.long(), geo.rank, 0))
        return _int_conv(xs, ws, geo).to(torch.int32)

    q = qparams == "input"
    operands = [(x, True), (w, not w_constant), (x_zp, q), (w_zp, q)]
    return _node("ConvInteger", meaning, operands, _conv_attrs(d, geo))
