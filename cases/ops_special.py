"""torch.special and integer-arithmetic cases that ONNX has no op for: the exporter must compose them.

Each function is drawn over its own domain, with the parts of it where a
naive composition loses every digit (log_ndtr's far left tail, erfcx for
large x, ndtri near 0 and 1) inside the drawn range; special values then add
NaN, infinities, signed zeros and subnormals on top. Integer inputs, where
torch takes them, are promoted to float32 by torch, and the exporter must
write that Cast. The integer functions (gcd, lcm) take every integer dtype
and zero operands.
"""

from __future__ import annotations

import numpy as np
import torch

from conformance.casekit import Fn
from conformance.dtypes import FLOATS_NO_BF16, SIGNED_INTS
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

#: The float dtypes drawn: torch computes none of these in bfloat16 (its kernels refuse it or upcast).
FLOATS = FLOATS_NO_BF16
#: For the functions torch's CPU kernels have no float16 for (ndtri, log_ndtr, erfcx).
NO_HALF = ("float32", "float64")
#: The integer input torch promotes to its default float dtype.
PROMOTED = ("int64",)


def _unary(d: Draw, fn, *, low: float, high: float, dtypes: tuple[str, ...] = FLOATS + PROMOTED, **kwargs) -> Spec:
    """fn of one tensor in [low, high] (integer bounds rounded inward), 0-d and empty shapes included."""
    dtype = d.dtype(dtypes)
    if dtype in PROMOTED:
        low, high = float(np.ceil(low)), float(np.floor(high))
    return Spec(Fn(fn, **kwargs), (d.tensor("x", d.shape(min_side=0), dtype, low=low, high=high),))


_NOTE = " No ONNX op: the exporter composes it (or fails)."


@case("special", op_class=OpClass.TRANSCENDENTAL, notes="Standard normal CDF, (1 + erf(x/√2))/2." + _NOTE)
def ndtr(d: Draw) -> Spec:
    return _unary(d, torch.special.ndtr, low=-8, high=8)


@case(
    "special",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Inverse normal CDF over (0, 1); values within 1e-3 of either end are drawn (near_edge), where "
    "a composition through erfinv(2p - 1) loses its digits." + _NOTE,
)
def ndtri(d: Draw) -> Spec:
    edge = d.boolean("near_edge")
    low, high = (1e-6, 1e-3) if edge else (0.01, 0.99)
    dtype = d.dtype(NO_HALF)
    x = d.tensor("x", d.shape(min_side=0), dtype, low=low, high=high)
    if edge and d.boolean("upper"):
        x = (1 - x.astype(np.float64)).astype(x.dtype)
    return Spec(Fn(torch.special.ndtri), (x,))


@case(
    "special",
    op_class=OpClass.TRANSCENDENTAL,
    notes="log of the normal CDF down to x = -40: log(ndtr(x)) underflows to -inf past about -38 in float32 "
    "where the true value is finite." + _NOTE,
)
def log_ndtr(d: Draw) -> Spec:
    return _unary(d, torch.special.log_ndtr, low=-40, high=6, dtypes=NO_HALF + PROMOTED)


@case(
    "special",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Scaled complementary error function exp(x²)·erfc(x) up to x = 50, where exp(x²) alone "
    "overflows and the product is about 1/(x√π)." + _NOTE,
)
def erfcx(d: Draw) -> Spec:
    return _unary(d, torch.special.erfcx, low=-3, high=50, dtypes=NO_HALF + PROMOTED)


@case(
    "special",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Modified Bessel functions i0e, i1 and i1e (odd: i1(-x) = -i1(x)); i0e and i1e stay bounded "
    "where i0 and i1 overflow." + _NOTE,
)
def bessel_i(d: Draw) -> Spec:
    fn = d.choice("function", ("i0e", "i1", "i1e"))
    return _unary(d, getattr(torch.special, fn), low=-30, high=30)


@case(
    "special",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Bessel functions of the first and second kind, orders 0 and 1 (y0 and y1 for x > 0 only: "
    "-inf at 0, NaN below)." + _NOTE,
)
def bessel_jy(d: Draw) -> Spec:
    fn = d.choice("function", ("bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1"))
    low = 0.05 if fn.startswith("bessel_y") else -20
    return _unary(d, getattr(torch.special, fn), low=low, high=20, dtypes=("float32", "float64"))


@case(
    "special",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Entropy term -x·ln(x): 0 at x = 0, -inf below zero (special values reach both)." + _NOTE,
)
def entr(d: Draw) -> Spec:
    return _unary(d, torch.special.entr, low=0, high=4)


@case(
    "special",
    op_class=OpClass.TRANSCENDENTAL,
    notes="x·log1p(y), 0 where x = 0 whatever y (NaN y aside), with broadcasting in both directions." + _NOTE,
)
def xlog1py(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    sa, sb = d.broadcast_shapes()
    x = d.tensor("x", sa, dtype, low=-3, high=3)
    if x.size and d.boolean("zero_x"):
        x.reshape(-1)[0] = 0
    return Spec(Fn(torch.special.xlog1py), (x, d.tensor("y", sb, dtype, low=-0.9, high=5)))


@case(
    "special",
    op_class=OpClass.TRANSCENDENTAL,
    notes="polygamma(n, x) for n = 0 (digamma) to 3 over positive x, and negative x between the poles." + _NOTE,
)
def polygamma(d: Draw) -> Spec:
    n = d.choice("n", (0, 1, 2, 3))
    dtype = d.dtype(("float32", "float64"))
    shape = d.shape(min_side=0)
    if d.boolean("negative"):
        fraction = d.tensor("x", shape, dtype, low=0.2, high=0.8)
        pole = d.tensor("pole", shape, "int64", low=0, high=3, special=False)
        x = (-(pole + fraction.astype(np.float64))).astype(fraction.dtype)
    else:
        x = d.tensor("x", shape, dtype, low=0.1, high=8)

    def fn(t: torch.Tensor) -> torch.Tensor:
        return torch.special.polygamma(n, t)

    return Spec(Fn(fn), (x,))


@case(
    "special",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Multivariate log-gamma of order p = 1 to 4 (a sum of p lgamma terms) for x > (p - 1)/2, the "
    "domain torch checks." + _NOTE,
)
def multigammaln(d: Draw) -> Spec:
    p = d.choice("p", (1, 2, 3, 4))
    dtype = d.dtype(("float32", "float64"))
    x = d.tensor("x", d.shape(min_side=0), dtype, low=(p - 1) / 2 + 0.05, high=10, special=False)
    return Spec(Fn(torch.special.multigammaln, p=p), (x,))


@case(
    "special",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Hurwitz zeta(x, q) for x > 1 and q > 0, both broadcast." + _NOTE,
)
def zeta(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    sa, sb = d.broadcast_shapes()
    return Spec(
        Fn(torch.special.zeta), (d.tensor("x", sa, dtype, low=1.1, high=6), d.tensor("q", sb, dtype, low=0.2, high=5))
    )


@case(
    "special",
    op_class=OpClass.EXACT,
    notes="torch.gcd and torch.lcm of integers (zeros included: gcd(0, 0) = 0, lcm(x, 0) = 0; results are "
    "non-negative), broadcast in both directions." + _NOTE,
)
def gcd_lcm(d: Draw) -> Spec:
    fn = d.choice("function", ("gcd", "lcm"))
    dtype = d.dtype((*SIGNED_INTS, "uint8"))
    sa, sb = d.broadcast_shapes()
    bound = 12 if fn == "lcm" else 100  # lcm of larger values overflows int8
    a = d.tensor("a", sa, dtype, low=-bound if dtype != "uint8" else 0, high=bound, special=False)
    b = d.tensor("b", sb, dtype, low=-bound if dtype != "uint8" else 0, high=bound, special=False)
    if a.size and d.boolean("zero"):
        a.reshape(-1)[0] = 0
    return Spec(Fn(getattr(torch, fn)), (a, b))


@case(
    "special",
    op_class=OpClass.ELEMENTWISE,
    notes="torch.ldexp(x, e) = x·2^e with integer exponents -30 to 30 (past float16's range both ways), "
    "and torch.frexp's mantissa and exponent (two outputs)." + _NOTE,
)
def ldexp_frexp(d: Draw) -> Spec:
    fn = d.choice("function", ("ldexp", "frexp"))
    dtype = d.dtype(FLOATS)
    if fn == "frexp":
        return Spec(Fn(torch.frexp), (d.tensor("x", d.shape(min_side=0), dtype, low=-1000, high=1000),))
    sa, sb = d.broadcast_shapes()
    x = d.tensor("x", sa, dtype)
    return Spec(Fn(torch.ldexp), (x, d.tensor("e", sb, "int32", low=-30, high=30, special=False)))


@case(
    "special",
    op_class=OpClass.EXACT,
    notes="torch.nextafter(x, y): the next representable float after x toward y; exact, so a composition "
    "through bit casts or scaling is judged to the last bit, at zero (the smallest subnormal) too." + _NOTE,
)
def nextafter(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    sa, sb = d.broadcast_shapes()
    x = d.tensor("x", sa, dtype)
    if x.size and d.boolean("zero_x"):
        x.reshape(-1)[0] = 0
    return Spec(Fn(torch.nextafter), (x, d.tensor("y", sb, dtype)))
