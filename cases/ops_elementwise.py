"""Elementwise arithmetic, comparison, logical and bitwise operator cases.

Binary cases draw mutually broadcastable shapes (0-d scalars included);
unary cases allow size-0 dims. Dtypes are those torch eager runs on CPU and
the ONNX op the exporters map to allows (ONNX's logical ops take bool only,
its Bitwise* ops integers only, BitShift unsigned integers only).
"""

from __future__ import annotations

import numpy as np
import torch

from conformance.casekit import Fn
from conformance.dtypes import FLOATS, INTS, NUMERIC
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

from ._draws import int_divisor


def _binary(
    d: Draw, dtypes: tuple[str, ...], *, low: float = -3.0, high: float = 3.0
) -> tuple[str, np.ndarray, np.ndarray]:
    dtype = d.dtype(dtypes)
    sa, sb = d.broadcast_shapes()
    return dtype, d.tensor("a", sa, dtype, low=low, high=high), d.tensor("b", sb, dtype, low=low, high=high)


def _divisor(d: Draw, label: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtype in INTS:
        return int_divisor(d, label, shape, dtype)
    return d.tensor(label, shape, dtype)


# ---------------------------------------------------------------- arithmetic


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def sub(d: Draw) -> Spec:
    """a - alpha * b; integer overflow under special values wraps in two's complement."""
    dtype, a, b = _binary(d, NUMERIC)
    alpha = d.choice("alpha", (1, 2) if dtype in INTS else (1, 2, 0.5))
    return Spec(Fn(torch.sub, alpha=alpha), (a, b))


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def rsub(d: Draw) -> Spec:
    """b - a, the reversed subtraction Python's `scalar - tensor` lowers to."""
    _dtype, a, b = _binary(d, NUMERIC)
    return Spec(Fn(torch.rsub), (a, b))


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def div(d: Draw) -> Spec:
    """True division; integer inputs promote to float32 (an exporter must insert the casts)."""
    _dtype, a, b = _binary(d, NUMERIC)
    return Spec(Fn(torch.div), (a, b))


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="div(rounding_mode='trunc'): C division for integers; ONNX has no truncating Div for floats, so "
    "exporters compose Div and a rounding op, whose result for -0.x may be -0.0 or +0.0.",
)
def div_trunc(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    sa, sb = d.broadcast_shapes()
    a = d.tensor("a", sa, dtype, low=-20, high=20)
    return Spec(Fn(torch.div, rounding_mode="trunc"), (a, _divisor(d, "b", sb, dtype)))


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="div(rounding_mode='floor'): Python floor division; for integers ONNX Div truncates, so an "
    "exporter must correct negative quotients.",
)
def div_floor(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    sa, sb = d.broadcast_shapes()
    a = d.tensor("a", sa, dtype, low=-20, high=20)
    return Spec(Fn(torch.div, rounding_mode="floor"), (a, _divisor(d, "b", sb, dtype)))


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="floor_divide, the `//` operator; same rounding as div(rounding_mode='floor').",
)
def floor_divide(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    sa, sb = d.broadcast_shapes()
    a = d.tensor("a", sa, dtype, low=-20, high=20)
    return Spec(Fn(torch.floor_divide), (a, _divisor(d, "b", sb, dtype)))


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def square(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    return Spec(Fn(torch.square), (d.tensor("x", d.shape(min_side=0), dtype),))


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="ONNX Max/Min do not say which zero max(-0.0, +0.0) returns.",
)
def maximum(d: Draw) -> Spec:
    """NaN propagates in torch.maximum: a backend that returns the other operand is wrong."""
    _dtype, a, b = _binary(d, NUMERIC)
    return Spec(Fn(torch.maximum), (a, b))


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="ONNX Max/Min do not say which zero min(-0.0, +0.0) returns.",
)
def minimum(d: Draw) -> Spec:
    _dtype, a, b = _binary(d, NUMERIC)
    return Spec(Fn(torch.minimum), (a, b))


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def addcmul(d: Draw) -> Spec:
    """x + value * a * b over three broadcast operands."""
    dtype = d.dtype(NUMERIC)
    sx, sa, sb = d.broadcast_shapes(num=3)
    value = d.choice("value", (1, 2, -1) if dtype in INTS else (1, 0.5, -2.0))
    if dtype == "uint8" and value == -1:
        value = 1
    return Spec(
        Fn(torch.addcmul, value=value),
        (d.tensor("x", sx, dtype), d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)),
    )


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def addcdiv(d: Draw) -> Spec:
    """x + value * a / b; the divisor stays off zero in plain mode (floats only in torch)."""
    dtype = d.dtype(FLOATS)
    sx, sa, sb = d.broadcast_shapes(num=3)
    value = d.choice("value", (1, 0.5, -2.0))
    return Spec(
        Fn(torch.addcdiv, value=value),
        (d.tensor("x", sx, dtype), d.tensor("a", sa, dtype), d.tensor("b", sb, dtype, low=0.5, high=4)),
    )


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def lerp(d: Draw) -> Spec:
    """start + weight * (end - start), weight a scalar or a broadcast tensor."""
    dtype = d.dtype(FLOATS)
    tensor_weight = d.boolean("tensor_weight")
    if tensor_weight:
        ss, se, sw = d.broadcast_shapes(num=3)
        w = d.tensor("weight", sw, dtype, low=-0.5, high=1.5)
        return Spec(Fn(torch.lerp), (d.tensor("start", ss, dtype), d.tensor("end", se, dtype), w))
    ss, se = d.broadcast_shapes()
    weight = d.choice("weight", (0.0, 0.25, 0.5, 0.75, 1.0))
    return Spec(Fn(torch.lerp, weight=weight), (d.tensor("start", ss, dtype), d.tensor("end", se, dtype)))


@case("elementwise", op_class=OpClass.TRANSCENDENTAL)
def xlogy(d: Draw) -> Spec:
    """x * log(y), defined as 0 where x == 0 (even for y == 0)."""
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64"))
    sa, sb = d.broadcast_shapes()
    x = d.tensor("x", sa, dtype, low=-3, high=3)
    return Spec(Fn(torch.xlogy), (x, d.tensor("y", sb, dtype, low=0.05, high=8)))


@case("elementwise", op_class=OpClass.EXACT)
def heaviside(d: Draw) -> Spec:
    """Step function: 0 below zero, 1 above, `values` at exactly zero."""
    dtype = d.dtype(FLOATS)
    sa, sb = d.broadcast_shapes()
    x = d.tensor("x", sa, dtype)
    x = np.where(np.abs(x.astype(np.float64)) < 0.5, np.zeros((), x.dtype), x).astype(x.dtype)
    return Spec(Fn(torch.heaviside), (x, d.tensor("values", sb, dtype)))


@case("elementwise", op_class=OpClass.EXACT)
def nan_to_num(d: Draw) -> Spec:
    """NaN, +inf and -inf replaced; only --special-values makes this more than identity."""
    dtype = d.dtype(FLOATS)
    explicit = d.boolean("explicit")
    kwargs = {"nan": 0.5, "posinf": 100.0, "neginf": -100.0} if explicit else {}
    return Spec(Fn(torch.nan_to_num, **kwargs), (d.tensor("x", d.shape(min_side=0), dtype),))


# ---------------------------------------------------------------- clamp and where


@case(
    "elementwise",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="clamp with scalar bounds (ONNX Clip); Clip does not say which zero it returns at a zero bound.",
)
def clamp(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    which = d.choice("bounds", ("both", "min", "max"))
    lo = d.integer("min", -2, 1) if dtype != "uint8" else d.integer("min", 0, 1)
    hi = d.integer("max", 1, 3)
    if dtype in FLOATS:
        lo, hi = lo + 0.5, hi - 0.25
    kwargs = {"both": {"min": lo, "max": hi}, "min": {"min": lo}, "max": {"max": hi}}[which]
    return Spec(Fn(torch.clamp, **kwargs), (d.tensor("x", d.shape(min_side=0), dtype, low=-4, high=4),))


@case(
    "elementwise",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="clamp with broadcast tensor bounds: ONNX Clip takes scalar bounds only, so exporters lower it "
    "to Max/Min. Bounds are drawn with min <= max (torch and ONNX differ otherwise by design).",
)
def clamp_tensor(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int8", "int32", "int64"))
    sx, slo, shi = d.broadcast_shapes(num=3)
    x = d.tensor("x", sx, dtype, low=-4, high=4)
    lo = d.tensor("min", slo, dtype, low=-3, high=0, special=False)
    hi = d.tensor("max", shi, dtype, low=0, high=3, special=False)
    return Spec(Fn(torch.clamp), (x, lo, hi))


@case("elementwise", op_class=OpClass.EXACT, unspecified=("signed-zero",))
def clamp_min(d: Draw) -> Spec:
    """max(x, lower) with a broadcast tensor bound."""
    _dtype, a, b = _binary(d, (*FLOATS, "int8", "int32", "int64"))
    return Spec(Fn(torch.clamp_min), (a, b))


@case("elementwise", op_class=OpClass.EXACT, unspecified=("signed-zero",))
def clamp_max(d: Draw) -> Spec:
    """min(x, upper) with a broadcast tensor bound."""
    _dtype, a, b = _binary(d, (*FLOATS, "int8", "int32", "int64"))
    return Spec(Fn(torch.clamp_max), (a, b))


@case("elementwise", op_class=OpClass.EXACT)
def where(d: Draw) -> Spec:
    """Select with a bool condition, all three operands broadcast together."""
    dtype = d.dtype((*NUMERIC, "bool"))
    sc, sx, sy = d.broadcast_shapes(num=3)
    cond = d.tensor("condition", sc, "bool")
    return Spec(Fn(torch.where), (cond, d.tensor("x", sx, dtype), d.tensor("y", sy, dtype)))


@case("elementwise", op_class=OpClass.EXACT)
def where_scalar(d: Draw) -> Spec:
    """torch.where(cond, x, scalar): the scalar's dtype must follow x, not default to float32."""
    dtype = d.dtype(NUMERIC)
    sc, sx = d.broadcast_shapes()
    other = d.choice("other", (0, 1, -1) if dtype != "uint8" else (0, 1, 7))
    if dtype in FLOATS:
        other = float(other) * 0.5

    def select(cond: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.where(cond, x, other)

    return Spec(Fn(select), (d.tensor("condition", sc, "bool"), d.tensor("x", sx, dtype)))


# ---------------------------------------------------------------- comparison


def _compare(d: Draw, fn, dtypes: tuple[str, ...]) -> Spec:
    dtype = d.dtype(dtypes)
    sa, sb = d.broadcast_shapes()
    # Small integer ranges make equal elements common, so the boundary of each comparison is hit.
    a = d.tensor("a", sa, dtype, low=-2, high=2)
    b = d.tensor("b", sb, dtype, low=-2, high=2)
    if dtype in FLOATS:
        a, b = np.round(a.astype(np.float64)).astype(a.dtype), np.round(b.astype(np.float64)).astype(b.dtype)
    return Spec(Fn(fn), (a, b))


@case("comparison", op_class=OpClass.EXACT)
def eq(d: Draw) -> Spec:
    """Equality; -0.0 == +0.0 and NaN != NaN."""
    return _compare(d, torch.eq, (*NUMERIC, "bool"))


@case("comparison", op_class=OpClass.EXACT)
def ne(d: Draw) -> Spec:
    """Inequality; exporters lower it to Not(Equal)."""
    return _compare(d, torch.ne, (*NUMERIC, "bool"))


@case("comparison", op_class=OpClass.EXACT)
def lt(d: Draw) -> Spec:
    return _compare(d, torch.lt, NUMERIC)


@case("comparison", op_class=OpClass.EXACT)
def le(d: Draw) -> Spec:
    return _compare(d, torch.le, NUMERIC)


@case("comparison", op_class=OpClass.EXACT)
def ge(d: Draw) -> Spec:
    return _compare(d, torch.ge, NUMERIC)


@case("comparison", op_class=OpClass.EXACT)
def isclose(d: Draw) -> Spec:
    """|a - b| <= atol + rtol * |b|, with equal infinities close and NaN never close."""
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_side=0)
    a = d.tensor("a", shape, dtype)
    # b is a perturbed copy of a, so both answers occur; specials in a carry over into b.
    rel = d.tensor("perturbation", shape, "float64", low=-0.03, high=0.03, special=False)
    with np.errstate(all="ignore"):
        b = (a.astype(np.float64) * (1 + rel)).astype(a.dtype)
    rtol = d.choice("rtol", (1e-5, 1e-2))
    atol = d.choice("atol", (1e-8, 1e-2))
    return Spec(Fn(torch.isclose, rtol=rtol, atol=atol), (a, b))


def _classify(d: Draw, fn) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    return Spec(Fn(fn), (d.tensor("x", d.shape(min_side=0), dtype),))


@case("comparison", op_class=OpClass.EXACT)
def isnan(d: Draw) -> Spec:
    """Only --special-values puts NaN in; plain draws check the all-False answer."""
    dtype = d.dtype(FLOATS)
    return Spec(Fn(torch.isnan), (d.tensor("x", d.shape(min_side=0), dtype),))


@case("comparison", op_class=OpClass.EXACT, notes="ONNX IsInf takes float and double only.")
def isinf(d: Draw) -> Spec:
    return _classify(d, torch.isinf)


@case("comparison", op_class=OpClass.EXACT, notes="No ONNX op: exporters compose IsInf and IsNaN.")
def isfinite(d: Draw) -> Spec:
    return _classify(d, torch.isfinite)


@case("comparison", op_class=OpClass.EXACT, notes="IsInf(detect_negative=0) in ONNX.")
def isposinf(d: Draw) -> Spec:
    return _classify(d, torch.isposinf)


@case("comparison", op_class=OpClass.EXACT, notes="IsInf(detect_positive=0) in ONNX.")
def isneginf(d: Draw) -> Spec:
    return _classify(d, torch.isneginf)


@case("comparison", op_class=OpClass.EXACT)
def signbit(d: Draw) -> Spec:
    """Sign bit set: True for -0.0 and for negative NaN, which a `x < 0` lowering gets wrong."""
    dtype = d.dtype(FLOATS)
    return Spec(Fn(torch.signbit), (d.tensor("x", d.shape(min_side=0), dtype),))


# ---------------------------------------------------------------- logical


LOGICAL_INPUTS = ("bool", "float32", "int32", "uint8")


@case("logical", op_class=OpClass.EXACT, notes="Non-bool inputs test the exporter's Cast to bool (x != 0).")
def logical_and(d: Draw) -> Spec:
    _dtype, a, b = _binary(d, LOGICAL_INPUTS, low=-1, high=1)
    return Spec(Fn(torch.logical_and), (a, b))


@case("logical", op_class=OpClass.EXACT, notes="Non-bool inputs test the exporter's Cast to bool (x != 0).")
def logical_or(d: Draw) -> Spec:
    _dtype, a, b = _binary(d, LOGICAL_INPUTS, low=-1, high=1)
    return Spec(Fn(torch.logical_or), (a, b))


@case("logical", op_class=OpClass.EXACT, notes="Non-bool inputs test the exporter's Cast to bool (x != 0).")
def logical_xor(d: Draw) -> Spec:
    _dtype, a, b = _binary(d, LOGICAL_INPUTS, low=-1, high=1)
    return Spec(Fn(torch.logical_xor), (a, b))


@case("logical", op_class=OpClass.EXACT, notes="Non-bool inputs test the exporter's Cast to bool (x != 0).")
def logical_not(d: Draw) -> Spec:
    dtype = d.dtype(LOGICAL_INPUTS)
    return Spec(Fn(torch.logical_not), (d.tensor("x", d.shape(min_side=0), dtype, low=-1, high=1),))


# ---------------------------------------------------------------- bitwise


BITWISE = ("int8", "uint8", "int32", "int64", "bool")


@case("bitwise", op_class=OpClass.EXACT, notes="Bool inputs map to ONNX And, integers to BitwiseAnd.")
def bitwise_and(d: Draw) -> Spec:
    _dtype, a, b = _binary(d, BITWISE, low=-128, high=127)
    return Spec(Fn(torch.bitwise_and), (a, b))


@case("bitwise", op_class=OpClass.EXACT, notes="Bool inputs map to ONNX Or, integers to BitwiseOr.")
def bitwise_or(d: Draw) -> Spec:
    _dtype, a, b = _binary(d, BITWISE, low=-128, high=127)
    return Spec(Fn(torch.bitwise_or), (a, b))


@case("bitwise", op_class=OpClass.EXACT, notes="Bool inputs map to ONNX Xor, integers to BitwiseXor.")
def bitwise_xor(d: Draw) -> Spec:
    _dtype, a, b = _binary(d, BITWISE, low=-128, high=127)
    return Spec(Fn(torch.bitwise_xor), (a, b))


@case("bitwise", op_class=OpClass.EXACT, notes="Bool inputs map to ONNX Not, integers to BitwiseNot.")
def bitwise_not(d: Draw) -> Spec:
    dtype = d.dtype(BITWISE)
    return Spec(Fn(torch.bitwise_not), (d.tensor("x", d.shape(min_side=0), dtype, low=-128, high=127),))


@case(
    "bitwise",
    op_class=OpClass.EXACT,
    notes="ONNX BitShift takes unsigned integers only; shift amounts stay below the bit width "
    "(a larger shift is undefined in C and gives 0 in torch).",
)
def bitwise_left_shift(d: Draw) -> Spec:
    dtype = d.dtype(("uint8",))
    sa, sb = d.broadcast_shapes()
    a = d.tensor("a", sa, dtype, low=0, high=255)
    return Spec(Fn(torch.bitwise_left_shift), (a, d.tensor("shift", sb, dtype, low=0, high=7, special=False)))


@case(
    "bitwise",
    op_class=OpClass.EXACT,
    notes="ONNX BitShift takes unsigned integers only; shift amounts stay below the bit width.",
)
def bitwise_right_shift(d: Draw) -> Spec:
    dtype = d.dtype(("uint8",))
    sa, sb = d.broadcast_shapes()
    a = d.tensor("a", sa, dtype, low=0, high=255)
    return Spec(Fn(torch.bitwise_right_shift), (a, d.tensor("shift", sb, dtype, low=0, high=7, special=False)))
