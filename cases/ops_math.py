"""Transcendental, special and rounding function cases.

Inputs are drawn inside each function's domain (log of positives, acosh of
values >= 1, ...); `--special-values` then injects NaN, infinities, -0.0 and
subnormals on top. bfloat16 is drawn only where the ONNX op the exporters
map to allows it (Exp, Log, Sqrt, Erf, Pow, Reciprocal, Floor, Ceil, ...: yes;
the trigonometric and hyperbolic ops and Round: no, before opset 22). Ops that
compute in floating point also take an integer input, which torch promotes to
float32: the exporter must insert the Cast, since the ONNX ops take floats only.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from conformance.casekit import Fn
from conformance.dtypes import FLOATS, FLOATS_NO_BF16, INTS, NUMERIC, SIGNED_INTS
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

from ._draws import int_divisor

#: Dtypes of the ONNX trigonometric/hyperbolic ops (no bfloat16).
TRIG = FLOATS_NO_BF16
#: The integer input dtype of the ops that promote integers to float32 (torch's default integer dtype).
PROMOTED = ("int64",)


def _int_range(low: float, high: float) -> tuple[int, int]:
    """The integers inside [low, high]; the nearest ones around it where none is inside."""
    lo, hi = math.ceil(low), math.floor(high)
    return (lo, hi) if lo <= hi else (math.floor(low), math.ceil(high))


def _tensor(d: Draw, label: str, shape: tuple[int, ...], dtype: str, *, low: float, high: float) -> np.ndarray:
    """A tensor in [low, high], for integer dtypes too (the draw itself truncates bounds toward zero)."""
    if dtype in INTS:
        low, high = _int_range(low, high)
    return d.tensor(label, shape, dtype, low=low, high=high)


def _values(d: Draw, dtype: str, *, low: float = -3.0, high: float = 3.0) -> np.ndarray:
    return _tensor(d, "x", d.shape(min_side=0), dtype, low=low, high=high)


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
    return Spec(Fn(fn, **kwargs), (_values(d, dtype, low=low, high=high),))


def _as(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`values` (computed in float64) back in x's dtype."""
    return np.asarray(values).astype(x.dtype)


def _zeroed(x: np.ndarray, where: np.ndarray | bool = True) -> np.ndarray:
    """x with its finite elements `where` says replaced by a zero of their own sign (specials stay)."""
    if x.dtype.kind in "iu":
        return np.where(where, np.zeros((), x.dtype), x)
    wide = x.astype(np.float64)
    return _as(x, np.where(np.logical_and(where, np.isfinite(wide)), np.copysign(0.0, wide), wide))


def _signed_zeros(d: Draw, label: str, x: np.ndarray) -> np.ndarray:
    """x with signed zeros where a drawn mask says."""
    return _zeroed(x, d.tensor(label, x.shape, "bool", special=False))


def _scalar_divisor(d: Draw, dtype: str) -> float | int:
    """A Python-number divisor: negative ones flip fmod's and remainder's conventions apart; a float one
    promotes an integer tensor to float32. uint8 gets none below zero (torch would wrap it to 254)."""
    if dtype == "uint8":
        options: tuple[float | int, ...] = (3, 1.5)
    elif dtype in INTS:
        options = (3, -2, 1.5)
    else:
        options = (2.5, -1.5, 3)
    return d.choice("b_scalar", options)


# ---------------------------------------------------------------- exponential and logarithm


@case("transcendental", op_class=OpClass.TRANSCENDENTAL, notes="No ONNX op: exporters compose Pow or Exp(x*ln2).")
def exp2(d: Draw) -> Spec:
    return _unary(d, torch.exp2, FLOATS + PROMOTED, low=-12, high=12)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="expm1 near 0 is where Exp(x) - 1 loses every digit: float values are drawn around zero on purpose.",
)
def expm1(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + PROMOTED)
    near = dtype in FLOATS and d.boolean("near_zero")
    bound = 1e-3 if near else 3.0
    return Spec(Fn(torch.expm1), (_values(d, dtype, low=-bound, high=bound),))


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def log(d: Draw) -> Spec:
    return _unary(d, torch.log, FLOATS + PROMOTED, low=1e-3, high=100)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="log1p near 0 is where Log(1 + x) loses every digit: float values are drawn around zero on purpose.",
)
def log1p(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + PROMOTED)
    near = dtype in FLOATS and d.boolean("near_zero")
    low, high = (-1e-3, 1e-3) if near else (-0.9, 3.0)
    return Spec(Fn(torch.log1p), (_values(d, dtype, low=low, high=high),))


@case("transcendental", op_class=OpClass.TRANSCENDENTAL, notes="No ONNX op: Log(x) / ln 2.")
def log2(d: Draw) -> Spec:
    return _unary(d, torch.log2, FLOATS + PROMOTED, low=1e-3, high=1000)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL, notes="No ONNX op: Log(x) / ln 10.")
def log10(d: Draw) -> Spec:
    return _unary(d, torch.log10, FLOATS + PROMOTED, low=1e-3, high=1000)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="log(exp(a) + exp(b)) without overflow in torch; a naive lowering overflows for large inputs "
    "(at scale 200 Exp overflows in every dtype but float64).",
)
def logaddexp(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    sa, sb = d.broadcast_shapes()
    scale = d.choice("scale", (3.0, 200.0))
    return Spec(
        Fn(torch.logaddexp),
        (d.tensor("a", sa, dtype, low=-scale, high=scale), d.tensor("b", sb, dtype, low=-scale, high=scale)),
    )


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="No ONNX op: log2(2^a + 2^b); at scale 200 a naive Pow(2, x) overflows in every dtype but float64.",
)
def logaddexp2(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    sa, sb = d.broadcast_shapes()
    scale = d.choice("scale", (8.0, 200.0))
    return Spec(
        Fn(torch.logaddexp2),
        (d.tensor("a", sa, dtype, low=-scale, high=scale), d.tensor("b", sb, dtype, low=-scale, high=scale)),
    )


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def sqrt(d: Draw) -> Spec:
    return _unary(d, torch.sqrt, FLOATS + PROMOTED, low=0, high=100)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL, notes="No ONNX op: Reciprocal(Sqrt(x)) or Pow(x, -0.5).")
def rsqrt(d: Draw) -> Spec:
    return _unary(d, torch.rsqrt, FLOATS + PROMOTED, low=1e-2, high=100)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def sigmoid(d: Draw) -> Spec:
    return _unary(d, torch.sigmoid, FLOATS + PROMOTED, low=-20, high=20)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="No ONNX op: log(p / (1 - p)). With eps, p is first clamped to [eps, 1 - eps] (a Clip in the "
    "graph), and values are drawn past [0, 1] so the clamp bites; eps 0.0 clamps to the closed interval "
    "(logit of 0 and 1 is -inf and inf); 1e-6 is subnormal in float16, where 1 - eps rounds to 1.",
)
def logit(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + PROMOTED)
    eps = d.choice("eps", (None, 0.0, 1e-6, 0.25))
    kwargs = {} if eps is None else {"eps": eps}
    low, high = (0.01, 0.99) if eps is None else (-0.25, 1.25)
    return Spec(Fn(torch.logit, **kwargs), (_values(d, dtype, low=low, high=high),))


# ---------------------------------------------------------------- trigonometric and hyperbolic


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def sin(d: Draw) -> Spec:
    return _unary(d, torch.sin, TRIG + PROMOTED, low=-10, high=10)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def cos(d: Draw) -> Spec:
    return _unary(d, torch.cos, TRIG + PROMOTED, low=-10, high=10)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Drawn in (-1.4, 1.4): near pi/2 tan's condition number makes any float16 comparison meaningless.",
)
def tan(d: Draw) -> Spec:
    return _unary(d, torch.tan, TRIG + PROMOTED, low=-1.4, high=1.4)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def asin(d: Draw) -> Spec:
    return _unary(d, torch.asin, TRIG + PROMOTED, low=-1, high=1)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def acos(d: Draw) -> Spec:
    return _unary(d, torch.acos, TRIG + PROMOTED, low=-1, high=1)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def atan(d: Draw) -> Spec:
    return _unary(d, torch.atan, TRIG + PROMOTED, low=-20, high=20)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def sinh(d: Draw) -> Spec:
    return _unary(d, torch.sinh, TRIG + PROMOTED, low=-8, high=8)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def cosh(d: Draw) -> Spec:
    return _unary(d, torch.cosh, TRIG + PROMOTED, low=-8, high=8)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def asinh(d: Draw) -> Spec:
    return _unary(d, torch.asinh, TRIG + PROMOTED, low=-50, high=50)


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def acosh(d: Draw) -> Spec:
    return _unary(d, torch.acosh, TRIG + PROMOTED, low=1, high=50)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Drawn in (-0.99, 0.99); an integer input is 0 there (and ±1 with special values: ±inf).",
)
def atanh(d: Draw) -> Spec:
    return _unary(d, torch.atanh, TRIG + PROMOTED, low=-0.99, high=0.99)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="No ONNX op: exporters compose Atan(y / x) and quadrant fix-ups. x_sign 'negative' puts every "
    "element where the fix-up adds ±pi (y's sign picks which); 'zero' makes x ±0 and some of y ±0, where "
    "y / x is ±inf or NaN and torch returns ±pi/2, ±0 or ±pi by the zeros' signs.",
)
def atan2(d: Draw) -> Spec:
    dtype = d.dtype(TRIG + PROMOTED)
    sa, sb = d.broadcast_shapes()
    x_sign = d.choice("x_sign", ("mixed", "negative", "zero"))
    y = d.tensor("y", sa, dtype)
    x = _tensor(d, "x", sb, dtype, low=-3, high=-0.01 if x_sign == "negative" else 3)
    if x_sign == "zero":
        x, y = _zeroed(x), _signed_zeros(d, "y_zero", y)
    return Spec(Fn(torch.atan2), (y, x))


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="sin(pi x) / (pi x), 1 at x == 0, where a plain composition divides 0 by 0 (integer inputs hit it).",
)
def sinc(d: Draw) -> Spec:
    return _unary(d, torch.sinc, TRIG + PROMOTED, low=-4, high=4)


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def deg2rad(d: Draw) -> Spec:
    return _unary(d, torch.deg2rad, FLOATS + PROMOTED, low=-720, high=720)


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def rad2deg(d: Draw) -> Spec:
    return _unary(d, torch.rad2deg, FLOATS + PROMOTED, low=-7, high=7)


# ---------------------------------------------------------------- special functions


@case("transcendental", op_class=OpClass.TRANSCENDENTAL)
def erf(d: Draw) -> Spec:
    return _unary(d, torch.erf, FLOATS + PROMOTED, low=-4, high=4)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="No ONNX op: 1 - Erf(x), which loses all relative accuracy for large x; drawn where it still has some.",
)
def erfc(d: Draw) -> Spec:
    return _unary(d, torch.erfc, FLOATS + PROMOTED, low=-2, high=2)


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="No ONNX op: ONNX has Erf but no inverse, so an exporter must compose an approximation (or "
    "fail). Drawn in (-0.99, 0.99), where the result is well conditioned; ±1 (±inf) and values outside "
    "(NaN) come with special values; an integer input is 0 there.",
)
def erfinv(d: Draw) -> Spec:
    return _unary(d, torch.erfinv, FLOATS + PROMOTED, low=-0.99, high=0.99)


def _gamma_argument(d: Draw, dtype: str) -> np.ndarray:
    """Positive x, or (floats) negative x between the poles at the non-positive integers, 0.2 off each."""
    shape = d.shape(min_side=0)
    if dtype in INTS or not d.boolean("negative"):
        return _tensor(d, "x", shape, dtype, low=0.1, high=8)
    fraction = d.tensor("x", shape, dtype, low=0.2, high=0.8)
    pole = d.tensor("pole", shape, "int64", low=0, high=4, special=False)
    return _as(fraction, -(pole + fraction.astype(np.float64)))


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="No ONNX op: log|Gamma(x)|, which an exporter must compose (or fail on). Positive x, or negative "
    "x kept 0.2 off the poles at the non-positive integers (inf there, with special values' zeros).",
)
def lgamma(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + PROMOTED)
    return Spec(Fn(torch.lgamma), (_gamma_argument(d, dtype),))


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="No ONNX op: Gamma'(x) / Gamma(x), which an exporter must compose (or fail on). Positive x, or "
    "negative x kept 0.2 off the poles; digamma(±0.0) is ∓inf in torch.",
)
def digamma(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + PROMOTED)
    return Spec(Fn(torch.digamma), (_gamma_argument(d, dtype),))


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="No ONNX op: the modified Bessel function I0 (torch.special.i0), which an exporter must compose "
    "(or fail on). Even, grows like e^|x|: overflows float16 past |x| ~ 12, which the wide value mode reaches.",
)
def i0(d: Draw) -> Spec:
    return _unary(d, torch.i0, FLOATS + PROMOTED, low=-10, high=10)


# ---------------------------------------------------------------- powers


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Tensor base and exponent. Float bases stay positive unless negative_base, whose exponents are "
    "integral floats (a negative base to a fractional power is NaN); an int64 exponent for a float base "
    "(and a float32 one for an integer base, which promotes the result to float32) is the ONNX Pow with two "
    "input types. Integer exponents of an integer base stay in [0, 4] (negative ones truncate to 0 in torch, "
    "and ONNX leaves them open).",
)
def pow_tensor(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32", "int64"))
    sa, sb = d.broadcast_shapes()
    if dtype in FLOATS:
        exponent_dtype = d.choice("exponent_dtype", ("same", "int64"))
        negative_base = d.boolean("negative_base")
        base = d.tensor("base", sa, dtype, low=-4 if negative_base else 0.01, high=4)
        if exponent_dtype == "int64":
            exponent = d.tensor("exponent", sb, "int64", low=-3, high=3)
        else:
            exponent = d.tensor("exponent", sb, dtype, low=-3, high=3)
            if negative_base:
                exponent = _as(exponent, np.round(exponent.astype(np.float64)))
    else:
        exponent_dtype = d.choice("exponent_dtype", ("same", "float32"))
        base = d.tensor("base", sa, dtype, low=-6, high=6)
        if exponent_dtype == "float32":
            exponent = d.tensor("exponent", sb, "float32", low=-3, high=3)
        else:
            exponent = d.tensor("exponent", sb, dtype, low=0, high=4, special=False)
    return Spec(Fn(torch.pow), (base, exponent))


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Scalar exponents: Python ints (2, 3, -1, -2, 0, 1) and integral floats (2.0, -3.0), for which a "
    "negative base is defined, fractional ones (0.5, -0.5, 1.5) on positive bases, and the ones exporters "
    "rewrite (0.5 to Sqrt, 2 to Mul, 1 to Identity, 0 to ones). An integer tensor takes no negative int "
    "exponent (torch refuses) and promotes to float32 under a float exponent.",
)
def pow_scalar(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int32", "int64"))
    if dtype in FLOATS:
        exponent = d.choice("exponent", (2, 3, -1, -2, 0, 1, 2.0, -3.0, 0.5, -0.5, 1.5))
    else:
        exponent = d.choice("exponent", (2, 3, 0, 1, 2.0, 0.5))
    low = -4 if float(exponent).is_integer() else 0.01
    return Spec(Fn(torch.pow, exponent=exponent), (_values(d, dtype, low=low, high=4),))


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Scalar base, tensor exponent: Pow(c, x). A negative base gets integral exponents; base 0.0 "
    "gives inf for negative exponents and 1 at 0; e may be rewritten to Exp. A float base promotes an "
    "integer exponent to float32; the int base 2 keeps it int64, with exponents in [0, 6].",
)
def pow_scalar_base(d: Draw) -> Spec:
    dtype = d.dtype((*FLOATS, "int64"))
    base = d.choice("base", (2.0, 0.5, 10.0, math.e, -2.0, 0.0, 2))
    shape = d.shape(min_side=0)
    if isinstance(base, int) and dtype in INTS:
        x = d.tensor("x", shape, dtype, low=0, high=6, special=False)
    else:
        x = d.tensor("x", shape, dtype, low=-4, high=4)
        if base < 0 and dtype in FLOATS:
            x = _as(x, np.round(x.astype(np.float64)))

    def power(x: torch.Tensor) -> torch.Tensor:
        return torch.pow(base, x)

    return Spec(Fn(power), (x,))


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="float_power computes and returns float64 whatever the input dtype: the exporter casts every "
    "operand up. Tensor base and exponent, or a Python-number exponent (integral, negative, fractional), "
    "or a Python-number base.",
)
def float_power(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "bfloat16", "float64", "int32", "int64"))
    form = d.choice("form", ("tensor", "scalar_exponent", "scalar_base"))
    special = dtype not in INTS  # integer exponents at INT_MIN/INT_MAX say nothing about float_power
    if form == "scalar_exponent":
        exponent = d.choice("exponent", (2, -1, 0.5, 2.5))
        x = _values(d, dtype, low=0, high=4)
        return Spec(Fn(torch.float_power, exponent=exponent), (x,))
    if form == "scalar_base":
        base = d.choice("base", (2, 0.5))
        x = d.tensor("exponent", d.shape(min_side=0), dtype, low=-2, high=3, special=special)

        def power(x: torch.Tensor) -> torch.Tensor:
            return torch.float_power(base, x)

        return Spec(Fn(power), (x,))
    sa, sb = d.broadcast_shapes()
    return Spec(
        Fn(torch.float_power),
        (d.tensor("base", sa, dtype, low=0, high=4), d.tensor("exponent", sb, dtype, low=-2, high=3, special=special)),
    )


@case("elementwise", op_class=OpClass.ELEMENTWISE)
def reciprocal(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + PROMOTED)
    x = _values(d, dtype, low=0.1, high=10)
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


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    notes="torch.angle of real numbers: pi below zero, 0 at or above it (-0.0 included, unlike atan2(0, -0.0)), "
    "NaN for NaN; integers give float32. No ONNX op: a Where/Less composition or Atan2-like lowering. Judged "
    "as elementwise, not exact: pi is rounded to the output dtype (the float64 truth is not).",
)
def angle(d: Draw) -> Spec:
    return _unary(d, torch.angle, FLOATS_NO_BF16 + INTS)


@case(
    "elementwise",
    op_class=OpClass.EXACT,
    notes="No ONNX op: |x| with the sign bit of `other`, a tensor or a Python number. copysign(x, -0.0) is "
    "-|x|, which a composition through Sign (Sign(-0.0) is 0) gets wrong, so zeros of both signs are drawn "
    "in the tensor form and offered as scalars. Integer inputs promote to float32.",
)
def copysign(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + PROMOTED)
    sa, sb = d.broadcast_shapes()
    x = d.tensor("x", sa, dtype)
    if d.choice("form", ("tensor", "scalar")) == "scalar":
        return Spec(Fn(torch.copysign, other=d.choice("scalar", (-2.0, -0.0, 0.0, 3))), (x,))
    return Spec(Fn(torch.copysign), (x, _signed_zeros(d, "other_zero", d.tensor("other", sb, dtype))))


def _nan_holes(d: Draw, label: str, x: np.ndarray) -> np.ndarray:
    mask = d.tensor(label, x.shape, "bool", special=False)
    return np.where(mask, np.asarray(np.nan, dtype=x.dtype), x)


def _nan_ignoring(d: Draw) -> tuple[np.ndarray, np.ndarray]:
    dtype = d.dtype(NUMERIC)
    sa, sb = d.broadcast_shapes()
    a, b = d.tensor("a", sa, dtype), d.tensor("b", sb, dtype)
    if dtype in FLOATS and d.boolean("nan_holes"):
        a, b = _nan_holes(d, "a_nan", a), _nan_holes(d, "b_nan", b)
    return a, b


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="No ONNX op: fmax returns the other operand where one is NaN, ONNX Max propagates NaN, so "
    "exporters must compose IsNaN and Where; nan_holes puts NaNs in plain draws too. ONNX Max does not say "
    "which zero max(-0.0, +0.0) returns.",
)
def fmax(d: Draw) -> Spec:
    return Spec(Fn(torch.fmax), _nan_ignoring(d))


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="No ONNX op: fmin returns the other operand where one is NaN, ONNX Min propagates NaN, so "
    "exporters must compose IsNaN and Where; nan_holes puts NaNs in plain draws too. ONNX Min does not say "
    "which zero min(-0.0, +0.0) returns.",
)
def fmin(d: Draw) -> Spec:
    return Spec(Fn(torch.fmin), _nan_ignoring(d))


@case(
    "transcendental",
    op_class=OpClass.TRANSCENDENTAL,
    notes="No ONNX op: sqrt(a^2 + b^2), which a plain Sqrt(a*a + b*b) composition overflows (float16 past "
    "~256) and underflows where torch's scaled hypot does not; the wide value mode draws those magnitudes. "
    "hypot(inf, NaN) is inf.",
)
def hypot(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    sa, sb = d.broadcast_shapes()
    return Spec(Fn(torch.hypot), (d.tensor("a", sa, dtype, low=-4, high=4), d.tensor("b", sb, dtype, low=-4, high=4)))


@case(
    "rounding",
    op_class=OpClass.EXACT,
    notes="ONNX Floor takes floats only: an integer input is returned unchanged by torch, and the exporter "
    "must pass it through (or cast around Floor).",
)
def floor(d: Draw) -> Spec:
    return _unary(d, torch.floor, (*FLOATS, "int64"), low=-10, high=10)


@case(
    "rounding",
    op_class=OpClass.EXACT,
    notes="ceil(-0.5) is -0.0 in IEEE and in torch. ONNX Ceil takes floats only: an integer input is "
    "returned unchanged.",
)
def ceil(d: Draw) -> Spec:
    return _unary(d, torch.ceil, (*FLOATS, "int64"), low=-10, high=10)


@case(
    "rounding",
    op_class=OpClass.EXACT,
    notes="Half to even in torch and ONNX Round; float values on .5 are drawn on purpose. ONNX Round takes "
    "floats only: an integer input is returned unchanged.",
)
def round_(d: Draw) -> Spec:
    dtype = d.dtype((*TRIG, "int64"))
    x = _values(d, dtype, low=-8, high=8)
    if dtype in INTS:
        return Spec(Fn(torch.round), (x,))
    halves = d.tensor("halves", x.shape, "bool", special=False)
    with np.errstate(invalid="ignore"):
        x = np.where(halves, np.floor(x.astype(np.float64)) + 0.5, x).astype(x.dtype)
    return Spec(Fn(torch.round), (x,))


@case(
    "rounding",
    op_class=OpClass.ELEMENTWISE,
    notes="No ONNX attribute: round(x, decimals=n) is round(x * 10^n) / 10^n in torch (for negative n, "
    "x / 10^-n first), and exporters compose that, so the result is judged like one elementwise rounding. "
    "For n <= 0 values exactly halfway between two results (150 for n = -2) are drawn on purpose, for "
    "half to even; for n > 0 no such value is exact, and a near-half one rounds by its float32 error, which "
    "the float64 truth does not share, so none is drawn. float16 keeps |x| small enough that x * 10^n stays "
    "finite.",
)
def round_decimals(d: Draw) -> Spec:
    dtype = d.dtype(TRIG)
    decimals = d.choice("decimals", (-2, -1, 0, 1, 3))
    bound = min(100.0, 1e4 / 10.0**decimals) if dtype == "float16" else 100.0
    x = _values(d, dtype, low=-bound, high=bound)
    if decimals <= 0:
        step = 10.0**-decimals
        halves = d.tensor("halves", x.shape, "bool", special=False)
        with np.errstate(invalid="ignore"):
            wide = x.astype(np.float64)
            x = _as(x, np.where(halves & (np.abs(wide) <= bound), (np.floor(wide / step) + 0.5) * step, wide))
    return Spec(Fn(torch.round, decimals=decimals), (x,))


@case(
    "rounding",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="No ONNX Trunc before opset 22: exporters compose one, and whether trunc(-0.5) keeps -0.0 varies. "
    "An integer input is returned unchanged.",
)
def trunc(d: Draw) -> Spec:
    return _unary(d, torch.trunc, (*FLOATS, "int64"), low=-10, high=10)


@case(
    "rounding",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="x - trunc(x); the sign of a zero result is left to the composition.",
)
def frac(d: Draw) -> Spec:
    return _unary(d, torch.frac, low=-10, high=10)


def _signed_divisor(d: Draw, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Divisors of both signs; integer ones avoid 0 (and -1 outside special mode), float ones |b| >= 0.5."""
    if dtype in INTS:
        return int_divisor(d, "b", shape, dtype)
    b = d.tensor("b", shape, dtype, low=0.5, high=6)
    negate = d.tensor("negate", shape, "bool", special=False)
    return np.where(negate, -b, b).astype(b.dtype)


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="C fmod: result has the dividend's sign (ONNX Mod with fmod=1). Divisors of both signs; integer "
    "divisors avoid 0 and -1.",
)
def fmod(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + INTS)
    sa, sb = d.broadcast_shapes()
    a = d.tensor("a", sa, dtype, low=-20, high=20)
    return Spec(Fn(torch.fmod), (a, _signed_divisor(d, sb, dtype)))


@case(
    "elementwise",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="fmod by a Python number, a constant in the graph: negative divisors, and float ones that promote "
    "an integer tensor to float32 (ONNX Mod takes one type).",
)
def fmod_scalar(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + INTS)
    a = _values(d, dtype, low=-20, high=20)
    return Spec(Fn(torch.fmod, other=_scalar_divisor(d, dtype)), (a,))


#: Why remainder is judged with the transcendental budget.
_REMAINDER_BUDGET = (
    " For floats torch itself computes a - b * floor(a / b), whose cancellation costs up to ulp(a) absolute: "
    "float32 torch is ~130 ulp of a small result away from the float64 truth, so the transcendental budget "
    "applies, with |a| <= 8 and |b| >= 0.5 so that ulp(a) stays inside it."
)


@case(
    "elementwise",
    op_class=OpClass.TRANSCENDENTAL,
    unspecified=("signed-zero",),
    notes="Python modulo: result has the divisor's sign (ONNX Mod with fmod=0 for integers; floats need "
    "a composition since ONNX requires fmod=1 for them). Divisors of both signs; integer divisors avoid 0 "
    "and -1." + _REMAINDER_BUDGET,
)
def remainder(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + INTS)
    sa, sb = d.broadcast_shapes()
    a = d.tensor("a", sa, dtype, low=-8, high=8)
    return Spec(Fn(torch.remainder), (a, _signed_divisor(d, sb, dtype)))


@case(
    "elementwise",
    op_class=OpClass.TRANSCENDENTAL,
    unspecified=("signed-zero",),
    notes="remainder with a Python number: the divisor (negative ones flip the result's sign; float ones "
    "promote an integer tensor to float32), or the dividend over a tensor divisor (torch.remainder(7, b))."
    + _REMAINDER_BUDGET,
)
def remainder_scalar(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS + INTS)
    if d.choice("form", ("scalar_divisor", "scalar_dividend")) == "scalar_divisor":
        return Spec(Fn(torch.remainder, other=_scalar_divisor(d, dtype)), (_values(d, dtype, low=-8, high=8),))
    b = _signed_divisor(d, d.shape(min_side=0), dtype)
    if dtype == "uint8":
        options: tuple[float | int, ...] = (7, 2.5)
    elif dtype in INTS:
        options = (7, -5, 2.5)
    else:
        options = (7.5, -5.0)
    dividend = d.choice("a_scalar", options)

    def modulo(b: torch.Tensor) -> torch.Tensor:
        return torch.remainder(dividend, b)

    return Spec(Fn(modulo), (b,))
