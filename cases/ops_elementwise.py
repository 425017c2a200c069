"""Elementwise arithmetic, comparison, logical and bitwise operator cases.

Binary cases draw how their second operand is given (`other`): a tensor of
the same dtype broadcast against the first (0-d scalars included), a Python
int or float (torch's scalar promotion: an integer tensor and a float scalar
make float32), or a tensor of another dtype (torch's type promotion, which an
exporter must spell as casts). Unary cases allow size-0 dims. Dtypes are
those torch eager runs on CPU, whether or not the ONNX op the exporters map
to takes them (ONNX's logical ops take bool only, its Bitwise* ops integers
only, BitShift unsigned integers only): an exporter must then cast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from conformance.casekit import Fn
from conformance.dtypes import ALL, FLOATS, INTS, NUMERIC
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

from ._draws import PARTNER, int_divisor, scalar_spec

#: The same for ops that take integers and bool only.
INT_PARTNER = {"int8": "uint8", "uint8": "int32", "int32": "int64", "int64": "int8", "bool": "int8"}
#: Every way a binary op's second operand can be given.
OPERANDS = ("tensor", "int", "float", "promote")


def _operands(
    d: Draw,
    dtypes: tuple[str, ...],
    *,
    forms: tuple[str, ...] = OPERANDS,
    scalars: tuple[int, float] = (2, -1.5),
    partners: Mapping[str, str] = PARTNER,
    low: float = -3.0,
    high: float = 3.0,
    divisor: bool = False,
) -> tuple[str, tuple[np.ndarray, ...], int | float | None]:
    """The dtype, the tensor inputs, and the Python scalar second operand (None when it is a tensor).

    An unsigned first operand takes the int scalar's magnitude: a negative
    one wraps in torch, which is not what the case is about.
    """
    dtype = d.dtype(dtypes)
    form = d.choice("other", forms)
    if form in ("int", "float"):
        a = d.tensor("a", d.shape(min_side=0), dtype, low=low, high=high)
        scalar = scalars[0] if form == "int" else scalars[1]
        return dtype, (a,), abs(scalar) if dtype == "uint8" and form == "int" else scalar
    sa, sb = d.broadcast_shapes()
    other = partners[dtype] if form == "promote" else dtype
    a = d.tensor("a", sa, dtype, low=low, high=high)
    b = _divisor(d, "b", sb, other) if divisor else d.tensor("b", sb, other, low=low, high=high)
    return dtype, (a, b), None


def _floating(inputs: tuple[np.ndarray, ...], scalar: Any) -> bool:
    """Whether torch's result type is floating (a float alpha or value is allowed only then)."""
    return any(x.dtype.kind == "f" or x.dtype.name == "bfloat16" for x in inputs) or isinstance(scalar, float)


def _divisor(d: Draw, label: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if dtype in INTS:
        return int_divisor(d, label, shape, dtype)
    return d.tensor(label, shape, dtype)


def _alpha(d: Draw, inputs: tuple[np.ndarray, ...], scalar: Any) -> int | float:
    """alpha 1, 2, -1, and 0.5 where the result is floating (torch refuses a float alpha otherwise)."""
    return d.choice("alpha", (1, 2, -1, 0.5) if _floating(inputs, scalar) else (1, 2, -1))


# ---------------------------------------------------------------- arithmetic


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    notes="a - alpha * b, alpha 1, 2, -1 or 0.5 (floating results only); b a broadcast tensor, a Python int or "
    "float, or a tensor of another dtype. Integer overflow under special values wraps in two's complement.",
)
def sub(d: Draw) -> Spec:
    _dtype, inputs, scalar = _operands(d, NUMERIC)
    return scalar_spec(torch.sub, inputs, scalar, alpha=_alpha(d, inputs, scalar))


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    notes="b - alpha * a, the reversed subtraction Python's `scalar - tensor` lowers to; b a broadcast tensor, "
    "a Python int or float, or a tensor of another dtype; alpha as in sub.",
)
def rsub(d: Draw) -> Spec:
    _dtype, inputs, scalar = _operands(d, NUMERIC)
    return scalar_spec(torch.rsub, inputs, scalar, alpha=_alpha(d, inputs, scalar))


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    notes="True division (rounding_mode=None); integer inputs promote to float32 (an exporter must insert the "
    "casts). The divisor is a broadcast tensor, a Python int or float, or a tensor of another dtype.",
)
def div(d: Draw) -> Spec:
    _dtype, inputs, scalar = _operands(d, NUMERIC, scalars=(-3, -1.5))
    return scalar_spec(torch.div, inputs, scalar)


def _rounded_division(d: Draw, fn: Callable[..., Any], **kwargs: Any) -> Spec:
    """Integer divisors stay off 0 (and off -1 outside special mode); a Python divisor is -3 or -1.5 (3 for uint8)."""
    _dtype, inputs, scalar = _operands(d, NUMERIC, scalars=(-3, -1.5), low=-20, high=20, divisor=True)
    return scalar_spec(fn, inputs, scalar, **kwargs)


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="div(rounding_mode='trunc'): C division for integers; ONNX has no truncating Div for floats, so "
    "exporters compose Div and a rounding op, whose result for -0.x may be -0.0 or +0.0. The divisor is a "
    "broadcast tensor, a Python int or float, or a tensor of another dtype.",
)
def div_trunc(d: Draw) -> Spec:
    return _rounded_division(d, torch.div, rounding_mode="trunc")


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="div(rounding_mode='floor'): Python floor division; for integers ONNX Div truncates, so an "
    "exporter must correct negative quotients. The divisor is a broadcast tensor, a Python int or float, or a "
    "tensor of another dtype.",
)
def div_floor(d: Draw) -> Spec:
    return _rounded_division(d, torch.div, rounding_mode="floor")


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="floor_divide, the `//` operator; same rounding as div(rounding_mode='floor'). The divisor is a "
    "broadcast tensor, a Python int or float, or a tensor of another dtype.",
)
def floor_divide(d: Draw) -> Spec:
    return _rounded_division(d, torch.floor_divide)


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    notes="x * x in every numeric dtype; bool squares to int64 (torch's pow promotion).",
)
def square(d: Draw) -> Spec:
    dtype = d.dtype((*NUMERIC, "bool"))
    return Spec(Fn(torch.square), (d.tensor("x", d.shape(min_side=0), dtype),))


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="ONNX Max/Min do not say which zero max(-0.0, +0.0) returns. Bool inputs (ONNX Max takes none) and "
    "a second operand of another dtype (torch promotes) too.",
)
def maximum(d: Draw) -> Spec:
    """NaN propagates in torch.maximum: a backend that returns the other operand is wrong."""
    _dtype, inputs, _ = _operands(d, (*NUMERIC, "bool"), forms=("tensor", "promote"))
    return Spec(Fn(torch.maximum), inputs)


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="ONNX Max/Min do not say which zero min(-0.0, +0.0) returns. Bool inputs (ONNX Min takes none) and "
    "a second operand of another dtype (torch promotes) too.",
)
def minimum(d: Draw) -> Spec:
    _dtype, inputs, _ = _operands(d, (*NUMERIC, "bool"), forms=("tensor", "promote"))
    return Spec(Fn(torch.minimum), inputs)


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    notes="x + value * a * b over three broadcast operands; value 1, 2, -1 or 0 (and 0.5 for floating dtypes; "
    "no -1 for uint8); `a` of another dtype promotes the result.",
)
def addcmul(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    promote = d.boolean("promote")
    sx, sa, sb = d.broadcast_shapes(num=3)
    x, b = d.tensor("x", sx, dtype), d.tensor("b", sb, dtype)
    a = d.tensor("a", sa, PARTNER[dtype] if promote else dtype)
    if _floating((x, a, b), None):
        value = d.choice("value", (1, 2, -1, 0, 0.5))
    else:
        value = d.choice("value", (1, 2, 0) if dtype == "uint8" else (1, 2, -1, 0))
    return Spec(Fn(torch.addcmul, value=value), (x, a, b))


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    notes="x + value * a / b, value 1, 0.5, -2 or 0; the divisor stays off zero in plain mode (floats only in "
    "torch); `a` of another dtype promotes the result.",
)
def addcdiv(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    promote = d.boolean("promote")
    sx, sa, sb = d.broadcast_shapes(num=3)
    value = d.choice("value", (1, 0.5, -2.0, 0))
    a = d.tensor("a", sa, PARTNER[dtype] if promote else dtype)
    return Spec(
        Fn(torch.addcdiv, value=value),
        (d.tensor("x", sx, dtype), a, d.tensor("b", sb, dtype, low=0.5, high=4)),
    )


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    notes="start + weight * (end - start), weight a broadcast tensor or a Python float: 0, 0.25, 0.5 (torch "
    "switches formula there), 0.75, 1, and -0.5 and 1.5 (extrapolation).",
)
def lerp(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    tensor_weight = d.boolean("tensor_weight")
    if tensor_weight:
        ss, se, sw = d.broadcast_shapes(num=3)
        w = d.tensor("weight", sw, dtype, low=-0.5, high=1.5)
        return Spec(Fn(torch.lerp), (d.tensor("start", ss, dtype), d.tensor("end", se, dtype), w))
    ss, se = d.broadcast_shapes()
    weight = d.choice("weight", (0.0, 0.25, 0.5, 0.75, 1.0, -0.5, 1.5))
    return Spec(Fn(torch.lerp, weight=weight), (d.tensor("start", ss, dtype), d.tensor("end", se, dtype)))


@case(
    "elementwise",
    op_class=OpClass.TRANSCENDENTAL,
    notes="x * log(y), defined as 0 where x == 0 (even for y == 0). Both tensors, or x or y a Python float "
    "(0.0 or 2.5: y = 0.0 makes every nonzero x's result infinite); int64 inputs promote to float32.",
)
def xlogy(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64", "int64"))
    form = d.choice("form", ("tensors", "scalar_x", "scalar_y"))
    if form == "tensors":
        sa, sb = d.broadcast_shapes()
        x = d.tensor("x", sa, dtype, low=-3, high=3)
        return Spec(Fn(torch.xlogy), (x, d.tensor("y", sb, dtype, low=0.05, high=8)))
    scalar = d.choice("scalar", (0.0, 2.5))
    shape = d.shape(min_side=0)
    if form == "scalar_x":
        y = d.tensor("y", shape, dtype, low=0.05, high=8)
        return Spec(Fn(lambda y: torch.xlogy(scalar, y)), (y,))
    return Spec(Fn(lambda x: torch.xlogy(x, scalar)), (d.tensor("x", shape, dtype, low=-3, high=3),))


@case(
    "elementwise",
    op_class=OpClass.EXACT,
    notes="Step function: 0 below zero, 1 above, `values` at exactly zero; every dtype torch takes (both inputs "
    "of one dtype: torch refuses to promote here).",
)
def heaviside(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    sa, sb = d.broadcast_shapes()
    x = d.tensor("x", sa, dtype)
    x = np.where(np.abs(x.astype(np.float64)) < 0.5, np.zeros((), x.dtype), x).astype(x.dtype)
    return Spec(Fn(torch.heaviside), (x, d.tensor("values", sb, dtype)))


@case(
    "elementwise",
    op_class=OpClass.EXACT,
    notes="NaN, +inf and -inf replaced: nan default (0) or 0.5 or -2; posinf default (the dtype's max), 100 or "
    "1e6 (past float16's max: it rounds to inf there); neginf default, -100 or 0. Only --special-values makes "
    "this more than identity; int32 is identity in torch whatever the arguments.",
)
def nan_to_num(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32"))
    kwargs = {
        "nan": d.choice("nan", (None, 0.5, -2.0)),
        "posinf": d.choice("posinf", (None, 100.0, 1e6)),
        "neginf": d.choice("neginf", (None, -100.0, 0.0)),
    }
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    return Spec(Fn(torch.nan_to_num, **kwargs), (d.tensor("x", d.shape(min_side=0), dtype),))


# ---------------------------------------------------------------- clamp and where


@case(
    "elementwise",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="clamp with Python bounds (ONNX Clip): both, min only, max only, or inverted (min > max: every "
    "element becomes max, in torch and in Clip alike); bounds Python ints or non-integer floats, which "
    "promote an integer input to float32. Clip does not say which zero it returns at a zero bound.",
)
def clamp(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    which = d.choice("bounds", ("both", "min", "max", "inverted"))
    lo = d.integer("min", -2, 1) if dtype != "uint8" else d.integer("min", 0, 1)
    hi = d.integer("max", 1, 3)
    if d.boolean("float_bounds"):
        lo, hi = lo + 0.5, hi - 0.25
    kwargs = {
        "both": {"min": lo, "max": hi},
        "min": {"min": lo},
        "max": {"max": hi},
        "inverted": {"min": hi + 1, "max": lo},
    }[which]
    return Spec(Fn(torch.clamp, **kwargs), (d.tensor("x", d.shape(min_side=0), dtype, low=-4, high=4),))


@case(
    "elementwise",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="clamp with broadcast tensor bounds: ONNX Clip takes scalar bounds only, so exporters lower it "
    "to Max/Min. Both bounds, min only, max only, or inverted (every min above every max: torch and Clip "
    "both give max).",
)
def clamp_tensor(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    which = d.choice("bounds", ("both", "min", "max", "inverted"))
    sx, slo, shi = d.broadcast_shapes(num=3)
    x = d.tensor("x", sx, dtype, low=-4, high=4)
    below, above = ((-3, 0), (0, 3)) if which != "inverted" else ((1, 3), (-3, 0))
    if dtype == "uint8":
        below, above = ((0, 1), (1, 3)) if which != "inverted" else ((2, 3), (0, 1))
    lo = d.tensor("min", slo, dtype, low=below[0], high=below[1], special=False)
    hi = d.tensor("max", shi, dtype, low=above[0], high=above[1], special=False)
    if which == "min":
        return Spec(Fn(lambda x, lo: torch.clamp(x, min=lo)), (x, lo))
    if which == "max":
        return Spec(Fn(lambda x, hi: torch.clamp(x, max=hi)), (x, hi))
    return Spec(Fn(torch.clamp), (x, lo, hi))


@case(
    "elementwise",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="max(x, lower), the bound a broadcast tensor, a Python int or float, or a tensor of another dtype.",
)
def clamp_min(d: Draw) -> Spec:
    _dtype, inputs, scalar = _operands(d, NUMERIC, scalars=(1, 0.5))
    return scalar_spec(torch.clamp_min, inputs, scalar)


@case(
    "elementwise",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="min(x, upper), the bound a broadcast tensor, a Python int or float, or a tensor of another dtype.",
)
def clamp_max(d: Draw) -> Spec:
    _dtype, inputs, scalar = _operands(d, NUMERIC, scalars=(1, 0.5))
    return scalar_spec(torch.clamp_max, inputs, scalar)


@case(
    "elementwise",
    op_class=OpClass.EXACT,
    notes="Select with a bool condition, all three operands broadcast together; y of the same dtype as x or "
    "of another (torch promotes both branches).",
)
def where(d: Draw) -> Spec:
    dtype = d.dtype((*NUMERIC, "bool"))
    promote = d.choice("other", ("tensor", "promote")) == "promote"
    sc, sx, sy = d.broadcast_shapes(num=3)
    cond = d.tensor("condition", sc, "bool")
    y = d.tensor("y", sy, PARTNER[dtype] if promote else dtype)
    return Spec(Fn(torch.where), (cond, d.tensor("x", sx, dtype), y))


@case(
    "elementwise",
    op_class=OpClass.EXACT,
    notes="torch.where with a Python scalar as y, as x, or as both branches; the scalar an int or a float. "
    "An int scalar keeps x's dtype, a float one keeps a floating x's and makes an integer x float32, and two "
    "scalars make int64 or float32: a scalar's dtype must follow those rules, not default to float32.",
)
def where_scalar(d: Draw) -> Spec:
    dtype = d.dtype(NUMERIC)
    scalars = d.choice("scalars", ("y", "x", "both"))
    sc, sx = d.broadcast_shapes()
    other = d.choice("other", (0, 1, -1) if dtype != "uint8" else (0, 1, 7))
    second = 2
    if d.choice("scalar_type", ("int", "float")) == "float":
        other, second = float(other) * 0.5, 2.5
    cond = d.tensor("condition", sc, "bool")
    if scalars == "both":
        return Spec(Fn(lambda cond: torch.where(cond, other, second)), (cond,))

    def select(cond: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.where(cond, other, x) if scalars == "x" else torch.where(cond, x, other)

    return Spec(Fn(select), (cond, d.tensor("x", sx, dtype)))


# ---------------------------------------------------------------- comparison


def _compare(d: Draw, fn: Callable[..., Any], dtypes: tuple[str, ...]) -> Spec:
    # Small integer ranges make equal elements common, so the boundary of each comparison is hit; so do the
    # Python scalars 1 and 1.0.
    _dtype, inputs, scalar = _operands(d, dtypes, scalars=(1, 1.0), low=-2, high=2)
    inputs = tuple(
        np.round(x.astype(np.float64)).astype(x.dtype) if x.dtype.kind == "f" or x.dtype.name == "bfloat16" else x
        for x in inputs
    )
    return scalar_spec(fn, inputs, scalar)


#: What every comparison case covers, for its notes.
COMPARE_NOTE = " The second operand is a broadcast tensor, a Python int or float, or a tensor of another dtype."


@case("comparison", op_class=OpClass.EXACT, notes="Equality; -0.0 == +0.0 and NaN != NaN." + COMPARE_NOTE)
def eq(d: Draw) -> Spec:
    return _compare(d, torch.eq, (*NUMERIC, "bool"))


@case("comparison", op_class=OpClass.EXACT, notes="Inequality; exporters lower it to Not(Equal)." + COMPARE_NOTE)
def ne(d: Draw) -> Spec:
    return _compare(d, torch.ne, (*NUMERIC, "bool"))


@case("comparison", op_class=OpClass.EXACT, notes="a < b." + COMPARE_NOTE)
def lt(d: Draw) -> Spec:
    return _compare(d, torch.lt, NUMERIC)


@case("comparison", op_class=OpClass.EXACT, notes="a <= b; LessOrEqual needs opset 12." + COMPARE_NOTE)
def le(d: Draw) -> Spec:
    return _compare(d, torch.le, NUMERIC)


@case("comparison", op_class=OpClass.EXACT, notes="a >= b; GreaterOrEqual needs opset 12." + COMPARE_NOTE)
def ge(d: Draw) -> Spec:
    return _compare(d, torch.ge, NUMERIC)


@case(
    "comparison",
    op_class=OpClass.EXACT,
    notes="|a - b| <= atol + rtol * |b| (no ONNX op: exporters compose), rtol 1e-5, 1e-2 or 0, atol 1e-8, "
    "1e-2 or 0, equal_nan off or on; equal infinities are close and NaN is close to NaN only with equal_nan. "
    "Integer inputs too.",
)
def isclose(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int64"))
    shape = d.shape(min_side=0)
    wide = 100 if dtype == "int64" else 3
    a = d.tensor("a", shape, dtype, low=-wide, high=wide)
    # b is a perturbed copy of a, so both answers occur; specials in a carry over into b.
    rel = d.tensor("perturbation", shape, "float64", low=-0.03, high=0.03, special=False)
    with np.errstate(all="ignore"):
        b = (a.astype(np.float64) * (1 + rel)).astype(a.dtype)
    rtol = d.choice("rtol", (1e-5, 1e-2, 0.0))
    atol = d.choice("atol", (1e-8, 1e-2, 0.0))
    equal_nan = d.boolean("equal_nan")
    return Spec(Fn(torch.isclose, rtol=rtol, atol=atol, equal_nan=equal_nan), (a, b))


#: Dtypes of the classification cases: integers and bool are never NaN or infinite, but torch takes them.
CLASSIFY = (*FLOATS, "int32", "bool")


def _classify(d: Draw, fn: Callable[..., Any]) -> Spec:
    dtype = d.dtype(CLASSIFY)
    return Spec(Fn(fn), (d.tensor("x", d.shape(min_side=0), dtype),))


@case(
    "comparison",
    op_class=OpClass.EXACT,
    notes="Only --special-values puts NaN in; plain draws check the all-False answer. ONNX IsNaN takes no "
    "integers or bool: an exporter must fold or cast them.",
)
def isnan(d: Draw) -> Spec:
    return _classify(d, torch.isnan)


@case(
    "comparison",
    op_class=OpClass.EXACT,
    notes="ONNX IsInf takes float and double only before opset 20 (float16 and bfloat16 from 20), and never "
    "integers or bool.",
)
def isinf(d: Draw) -> Spec:
    return _classify(d, torch.isinf)


@case("comparison", op_class=OpClass.EXACT, notes="No ONNX op: exporters compose IsInf and IsNaN.")
def isfinite(d: Draw) -> Spec:
    return _classify(d, torch.isfinite)


@case("comparison", op_class=OpClass.EXACT, notes="IsInf(detect_negative=0) in ONNX; dtypes as in isinf.")
def isposinf(d: Draw) -> Spec:
    return _classify(d, torch.isposinf)


@case("comparison", op_class=OpClass.EXACT, notes="IsInf(detect_positive=0) in ONNX; dtypes as in isinf.")
def isneginf(d: Draw) -> Spec:
    return _classify(d, torch.isneginf)


@case(
    "comparison",
    op_class=OpClass.EXACT,
    notes="Sign bit set: True for -0.0 and for negative NaN, which a `x < 0` lowering gets wrong; integers "
    "(x < 0) and bool too.",
)
def signbit(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    return Spec(Fn(torch.signbit), (d.tensor("x", d.shape(min_side=0), dtype),))


# ---------------------------------------------------------------- logical


#: The logical ops take no Python scalars; any dtype, promoted or not, is cast to bool (x != 0).
LOGICAL_NOTE = "Non-bool inputs test the exporter's Cast to bool (x != 0); b of the same dtype or of another."


def _logical(d: Draw, fn: Callable[..., Any]) -> Spec:
    _dtype, inputs, _ = _operands(d, ALL, forms=("tensor", "promote"), low=-1, high=1)
    return Spec(Fn(fn), inputs)


@case("logical", op_class=OpClass.EXACT, notes=LOGICAL_NOTE)
def logical_and(d: Draw) -> Spec:
    return _logical(d, torch.logical_and)


@case("logical", op_class=OpClass.EXACT, notes=LOGICAL_NOTE)
def logical_or(d: Draw) -> Spec:
    return _logical(d, torch.logical_or)


@case("logical", op_class=OpClass.EXACT, notes=LOGICAL_NOTE)
def logical_xor(d: Draw) -> Spec:
    return _logical(d, torch.logical_xor)


@case("logical", op_class=OpClass.EXACT, notes="Non-bool inputs test the exporter's Cast to bool (x != 0).")
def logical_not(d: Draw) -> Spec:
    dtype = d.dtype(ALL)
    return Spec(Fn(torch.logical_not), (d.tensor("x", d.shape(min_side=0), dtype, low=-1, high=1),))


# ---------------------------------------------------------------- bitwise


BITWISE = ("int8", "uint8", "int32", "int64", "bool")


def _bitwise(d: Draw, fn: Callable[..., Any]) -> Spec:
    """b a broadcast tensor, the Python int 5 (a bool input then makes int64), or another integer dtype."""
    _dtype, inputs, scalar = _operands(
        d, BITWISE, forms=("tensor", "int", "promote"), scalars=(5, 0.0), partners=INT_PARTNER, low=-128, high=127
    )
    return scalar_spec(fn, inputs, scalar)


@case(
    "bitwise",
    op_class=OpClass.EXACT,
    notes="Bool inputs map to ONNX And, integers to BitwiseAnd; b a tensor, a Python int or another dtype.",
)
def bitwise_and(d: Draw) -> Spec:
    return _bitwise(d, torch.bitwise_and)


@case(
    "bitwise",
    op_class=OpClass.EXACT,
    notes="Bool inputs map to ONNX Or, integers to BitwiseOr; b a tensor, a Python int or another dtype.",
)
def bitwise_or(d: Draw) -> Spec:
    return _bitwise(d, torch.bitwise_or)


@case(
    "bitwise",
    op_class=OpClass.EXACT,
    notes="Bool inputs map to ONNX Xor, integers to BitwiseXor; b a tensor, a Python int or another dtype.",
)
def bitwise_xor(d: Draw) -> Spec:
    return _bitwise(d, torch.bitwise_xor)


@case("bitwise", op_class=OpClass.EXACT, notes="Bool inputs map to ONNX Not, integers to BitwiseNot.")
def bitwise_not(d: Draw) -> Spec:
    dtype = d.dtype(BITWISE)
    return Spec(Fn(torch.bitwise_not), (d.tensor("x", d.shape(min_side=0), dtype, low=-128, high=127),))


BITS = {"int8": 8, "uint8": 8, "int32": 32, "int64": 64}


def _shift(d: Draw, fn: Callable[..., Any]) -> Spec:
    """Shift amounts stay in [0, bits of a's dtype): a larger or negative shift is undefined in C."""
    dtype = d.dtype(INTS)
    form = d.choice("other", ("tensor", "int", "scalar_input", "promote"))
    low, high = (0, 255) if dtype == "uint8" else (-128, 127)
    if form == "int":
        return Spec(Fn(lambda a: fn(a, 3)), (d.tensor("a", d.shape(min_side=0), dtype, low=low, high=high),))
    if form == "scalar_input":
        value = 100 if dtype == "uint8" else -100
        shift = d.tensor("shift", d.shape(min_side=0), dtype, low=0, high=BITS[dtype] - 1, special=False)
        return Spec(Fn(lambda shift: fn(value, shift)), (shift,))
    sa, sb = d.broadcast_shapes()
    a = d.tensor("a", sa, dtype, low=low, high=high)
    other = INT_PARTNER[dtype] if form == "promote" else dtype
    shift = d.tensor("shift", sb, other, low=0, high=min(BITS[dtype], BITS[other]) - 1, special=False)
    return Spec(Fn(fn), (a, shift))


SHIFT_NOTE = (
    "ONNX BitShift takes unsigned integers only, so signed inputs need the exporter to compose. The shift "
    "amount is a broadcast tensor, the Python int 3, or a tensor of another integer dtype (torch promotes), or "
    "the input is the Python int 100 (-100 for signed dtypes) shifted by a tensor; amounts stay below the bit "
    "width (a larger shift is undefined in C and gives 0 in torch)."
)


@case("bitwise", op_class=OpClass.EXACT, notes=SHIFT_NOTE + " Signed left shifts wrap in two's complement.")
def bitwise_left_shift(d: Draw) -> Spec:
    return _shift(d, torch.bitwise_left_shift)


@case("bitwise", op_class=OpClass.EXACT, notes=SHIFT_NOTE + " Signed right shifts are arithmetic (sign-filling).")
def bitwise_right_shift(d: Draw) -> Spec:
    return _shift(d, torch.bitwise_right_shift)
