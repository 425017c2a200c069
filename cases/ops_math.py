"""Transcendental, special and rounding function cases.

Inputs are drawn inside each function's domain (log of positives, acosh of
values >= 1, ...); `--special-values` then injects NaN, infinities, -0.0 and
subnormals on top. bfloat16 is drawn only where the ONNX op the exporters
map to allows it (Exp, Log, Sqrt, Erf, Pow, Reciprocal, Floor, Ceil, ...: yes;
the trigonometric and hyperbolic ops and Round: no).
"""

from __future__ import annotations

import numpy as np
import torch

from conformance.casekit import Fn
from conformance.dtypes import FLOATS, FLOATS_NO_BF16, INTS, SIGNED_INTS
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

from ._draws import int_divisor

#: Dtypes of the ONNX trigonometric/hyperbolic ops (no bfloat16).
TRIG = FLOATS_NO_BF16


def _unary(
    d: Draw,
    fn,
    dtypes: tuple[str, ...] = FLOATS,
    *,
    low: float = -3.0,
    high: float = 3.0,
    **kwargs,
) -> Spec:
    dtype = d.dtype(dtypes)
    return Spec(Fn(fn, **kwargs), (d.tensor("x", d.shape(min_side=0), dtype, low=low, high=high),))


# ---------------------------------------------------------------- exponential and logarithm


@case("transcendental", op_class=OpClass.TRANSCENDENTAL, notes="No ONNX op: exporters compose Pow or Exp(x*ln2).")
def exp2(d: Draw) -> Spec:
    return _unary(d, torch.exp2, low=-12, high=12)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="expm1 near 0 is where Exp(x) - 1 loses every digit: values are drawn around zero on purpose.",
)
def expm1(d: Draw) -> Spec:
    return _unary(d, torch.expm1, low=-1e-3, high=1e-3) if d.boolean("near_zero") else _unary(d, torch.expm1)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def log(d: Draw) -> Spec:
    return _unary(d, torch.log, low=1e-3, high=100)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="log1p near 0 is where Log(1 + x) loses every digit: values are drawn around zero on purpose.",
)
def log1p(d: Draw) -> Spec:
    return _unary(d, torch.log1p, low=-1e-3, high=1e-3) if d.boolean("near_zero") else _unary(d, torch.log1p, low=-0.9)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL, notes="No ONNX op: Log(x) / ln 2.")
def log2(d: Draw) -> Spec:
    return _unary(d, torch.log2, low=1e-3, high=1000)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL, notes="No ONNX op: Log(x) / ln 10.")
def log10(d: Draw) -> Spec:
    return _unary(d, torch.log10, low=1e-3, high=1000)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="log(exp(a) + exp(b)) without overflow in torch; a naive lowering overflows for large inputs.",
)
def logaddexp(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    sa, sb = d.broadcast_shapes()
    scale = d.choice("scale", (3.0, 200.0))
    return Spec(
        Fn(torch.logaddexp),
        (d.tensor("a", sa, dtype, low=-scale, high=scale), d.tensor("b", sb, dtype, low=-scale, high=scale)),
    )


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def logaddexp2(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    sa, sb = d.broadcast_shapes()
    return Spec(
        Fn(torch.logaddexp2), (d.tensor("a", sa, dtype, low=-8, high=8), d.tensor("b", sb, dtype, low=-8, high=8))
    )


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def sqrt(d: Draw) -> Spec:
    return _unary(d, torch.sqrt, low=0, high=100)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL, notes="No ONNX op: Reciprocal(Sqrt(x)) or Pow(x, -0.5).")
def rsqrt(d: Draw) -> Spec:
    return _unary(d, torch.rsqrt, low=1e-2, high=100)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def sigmoid(d: Draw) -> Spec:
    return _unary(d, torch.sigmoid, low=-20, high=20)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL, notes="log(p / (1 - p)), optionally with p clamped to eps.")
def logit(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    eps = d.choice("eps", (None, 1e-3))
    kwargs = {} if eps is None else {"eps": eps}
    return Spec(Fn(torch.logit, **kwargs), (d.tensor("x", d.shape(min_side=0), dtype, low=0.01, high=0.99),))


# ---------------------------------------------------------------- trigonometric and hyperbolic


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def sin(d: Draw) -> Spec:
    return _unary(d, torch.sin, TRIG, low=-10, high=10)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def cos(d: Draw) -> Spec:
    return _unary(d, torch.cos, TRIG, low=-10, high=10)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Drawn in (-1.4, 1.4): near pi/2 tan's condition number makes any float16 comparison meaningless.",
)
def tan(d: Draw) -> Spec:
    return _unary(d, torch.tan, TRIG, low=-1.4, high=1.4)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def asin(d: Draw) -> Spec:
    return _unary(d, torch.asin, TRIG, low=-1, high=1)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def acos(d: Draw) -> Spec:
    return _unary(d, torch.acos, TRIG, low=-1, high=1)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def atan(d: Draw) -> Spec:
    return _unary(d, torch.atan, TRIG, low=-20, high=20)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def sinh(d: Draw) -> Spec:
    return _unary(d, torch.sinh, TRIG, low=-8, high=8)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def cosh(d: Draw) -> Spec:
    return _unary(d, torch.cosh, TRIG, low=-8, high=8)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def asinh(d: Draw) -> Spec:
    return _unary(d, torch.asinh, TRIG, low=-50, high=50)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def acosh(d: Draw) -> Spec:
    return _unary(d, torch.acosh, TRIG, low=1, high=50)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def atanh(d: Draw) -> Spec:
    return _unary(d, torch.atanh, TRIG, low=-0.99, high=0.99)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="No ONNX op: exporters compose Atan and quadrant fix-ups; signs of zero operands pick the quadrant.",
)
def atan2(d: Draw) -> Spec:
    dtype = d.dtype(TRIG)
    sa, sb = d.broadcast_shapes()
    return Spec(Fn(torch.atan2), (d.tensor("y", sa, dtype), d.tensor("x", sb, dtype)))


@case("transcendental", op_class=OpClass.TRANSCENDENTAL, notes="sin(pi x) / (pi x), 1 at x == 0.")
def sinc(d: Draw) -> Spec:
    return _unary(d, torch.sinc, TRIG, low=-4, high=4)


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def deg2rad(d: Draw) -> Spec:
    return _unary(d, torch.deg2rad, low=-720, high=720)


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def rad2deg(d: Draw) -> Spec:
    return _unary(d, torch.rad2deg, low=-7, high=7)


# ---------------------------------------------------------------- special functions


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def erf(d: Draw) -> Spec:
    return _unary(d, torch.erf, low=-4, high=4)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="No ONNX op: 1 - Erf(x), which loses all relative accuracy for large x; drawn where it still has some.",
)
def erfc(d: Draw) -> Spec:
    return _unary(d, torch.erfc, low=-2, high=2)


# ---------------------------------------------------------------- powers


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Tensor base and exponent. Float bases stay positive (a negative base to a fractional power is NaN, "
    "fine but dull); integer exponents stay in [0, 4] (torch refuses negative integer powers).",
)
def pow_tensor(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32", "int64"))
    sa, sb = d.broadcast_shapes()
    if dtype in FLOATS:
        base = d.tensor("base", sa, dtype, low=0.01, high=4)
        exponent = d.tensor("exponent", sb, dtype, low=-3, high=3)
    else:
        base = d.tensor("base", sa, dtype, low=-6, high=6)
        exponent = d.tensor("exponent", sb, dtype, low=0, high=4, special=False)
    return Spec(Fn(torch.pow), (base, exponent))


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Scalar exponents, including the integral ones (2, 3, -1) for which a negative base is defined "
    "and the ones exporters rewrite (0.5 to Sqrt, 2 to Mul).",
)
def pow_scalar(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32", "int64"))
    if dtype in FLOATS:
        exponent = d.choice("exponent", (2, 3, -1, 0.5, -0.5, 1.5, 0))
    else:
        exponent = d.choice("exponent", (2, 3, 0, 1))
    low = 0.01 if isinstance(exponent, float) else -4
    return Spec(Fn(torch.pow, exponent=exponent), (d.tensor("x", d.shape(min_side=0), dtype, low=low, high=4),))


@case("transcendental", op_class=OpClass.TRANSCENDENTAL, notes="Scalar base, tensor exponent: Pow(c, x).")
def pow_scalar_base(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    base = d.choice("base", (2.0, 0.5, 10.0))

    def power(x: torch.Tensor) -> torch.Tensor:
        return torch.pow(base, x)

    return Spec(Fn(power), (d.tensor("x", d.shape(min_side=0), dtype, low=-4, high=4),))


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="float_power computes and returns float64 whatever the input dtype.",
)
def float_power(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "int32", "float64"))
    sa, sb = d.broadcast_shapes()
    return Spec(
        Fn(torch.float_power),
        (
            d.tensor("base", sa, dtype, low=0, high=4),
            d.tensor("exponent", sb, dtype, low=-2, high=3, special=dtype not in ("int32",)),
        ),
    )


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def reciprocal(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    x = d.tensor("x", d.shape(min_side=0), dtype, low=0.1, high=10)
    flip = d.tensor("negate", x.shape, "bool", special=False)
    return Spec(Fn(torch.reciprocal), (np.where(flip, -x, x).astype(x.dtype),))


# ---------------------------------------------------------------- sign, magnitude, rounding


@case("elementwise", op_class=OpClass.EXACT)
def abs_(d: Draw) -> Spec:
    """|x|; abs(INT_MIN) wraps to INT_MIN in two's complement (special values draw it)."""
    return _unary(d, torch.abs, FLOATS + INTS)


@case("elementwise", op_class=OpClass.EXACT)
def neg(d: Draw) -> Spec:
    """-x, signed integers and floats (ONNX Neg has no unsigned types); -(+0.0) is -0.0."""
    return _unary(d, torch.neg, FLOATS + SIGNED_INTS)


@case(
    "elementwise",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="ONNX Sign does not say whether sign(-0.0) is -0.0 or +0.0; NaN maps to NaN in both.",
)
def sign(d: Draw) -> Spec:
    return _unary(d, torch.sign, FLOATS + INTS)


@case("rounding", op_class=OpClass.EXACT)
def floor(d: Draw) -> Spec:
    return _unary(d, torch.floor, low=-10, high=10)


@case("rounding", op_class=OpClass.EXACT)
def ceil(d: Draw) -> Spec:
    """ceil(-0.5) is -0.0 in IEEE and in torch."""
    return _unary(d, torch.ceil, low=-10, high=10)


@case("rounding", op_class=OpClass.EXACT)
def round_(d: Draw) -> Spec:
    """Half to even in torch and ONNX Round; values on .5 are drawn on purpose."""
    dtype = d.dtype(TRIG)
    x = d.tensor("x", d.shape(min_side=0), dtype, low=-8, high=8)
    halves = d.tensor("halves", x.shape, "bool", special=False)
    with np.errstate(invalid="ignore"):
        x = np.where(halves, np.floor(x.astype(np.float64)) + 0.5, x).astype(x.dtype)
    return Spec(Fn(torch.round), (x,))


@case(
    "rounding",
    op_class=OpClass.ELEMENTWISE,
    notes="round(x, decimals=n) is round(x * 10^n) / 10^n in torch; exporters follow that, so the "
    "result is judged like one elementwise rounding.",
)
def round_decimals(d: Draw) -> Spec:
    decimals = d.integer("decimals", -1, 3)
    return _unary(d, torch.round, ("float32", "float64"), low=-100, high=100, decimals=decimals)


@case(
    "rounding",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="No ONNX Trunc before opset 22: exporters compose one, and whether trunc(-0.5) keeps -0.0 varies.",
)
def trunc(d: Draw) -> Spec:
    return _unary(d, torch.trunc, low=-10, high=10)


@case(
    "rounding",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="x - trunc(x); the sign of a zero result is left to the composition.",
)
def frac(d: Draw) -> Spec:
    return _unary(d, torch.frac, low=-10, high=10)


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="C fmod: result has the dividend's sign (ONNX Mod with fmod=1). Integer divisors avoid 0 and -1.",
)
def fmod(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + INTS)
    sa, sb = d.broadcast_shapes()
    a = d.tensor("a", sa, dtype, low=-20, high=20)
    if dtype in INTS:
        b = int_divisor(d, "b", sb, dtype)
    else:
        b = d.tensor("b", sb, dtype, low=0.5, high=6)
    return Spec(Fn(torch.fmod), (a, b))


@case(
    "elementwise",
    op_class=OpClass.TRANSCENDENTAL,
    unspecified=("signed-zero",),
    notes="Python modulo: result has the divisor's sign (ONNX Mod with fmod=0 for integers; floats need "
    "a composition since ONNX requires fmod=1 for them). Integer divisors avoid 0 and -1. For floats torch "
    "itself computes a - b * floor(a / b), whose cancellation costs up to ulp(a) absolute: float32 torch is "
    "~130 ulp of a small result away from the float64 truth, so the transcendental budget applies, with "
    "|a| <= 8 and |b| >= 0.5 so that ulp(a) stays inside it.",
)
def remainder(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + INTS)
    sa, sb = d.broadcast_shapes()
    a = d.tensor("a", sa, dtype, low=-8, high=8)
    if dtype in INTS:
        b = int_divisor(d, "b", sb, dtype)
    else:
        b = d.tensor("b", sb, dtype, low=0.5, high=6)
        negate = d.tensor("negate", sb, "bool", special=False)
        b = np.where(negate, -b, b).astype(b.dtype)
    return Spec(Fn(torch.remainder), (a, b))
