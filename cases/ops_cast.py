"""Casts between dtypes (Tensor.to, type_as and the dtype methods): ONNX Cast.

A cast's meaning is its dtype, so no case here reruns in float64: torch in the
case dtype is the truth (`float64_truth=False`), and floating results are
judged bit-exactly. Float-to-integer casts of NaN, infinities and
out-of-range values are undefined in C, torch and ONNX alike; those cases
drop such values (special-values runs still send -0.0, subnormals and tiny
magnitudes). Integer narrowing is not undefined in torch (it wraps); ONNX's
Cast does not say, so those cases say so in their notes.
"""

from __future__ import annotations

import numpy as np
import torch

from conformance.casekit import Fn
from conformance.dtypes import ALL, FLOATS, INTS
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

#: Float values that convert to each integer dtype without leaving its range.
INT_RANGE = {
    "int8": (-128, 127),
    "uint8": (0, 255),
    "int16": (-30000, 30000),
    "int32": (-60000, 60000),
    "int64": (-60000, 60000),
}
#: The integer dtypes a cast case draws: the suite's, and int16, which only a cast makes from the others.
CAST_INTS = (*INTS, "int16")


def _to(target: str) -> Fn:
    return Fn(torch.Tensor.to, dtype=getattr(torch, target))


def _in_range_float(d: Draw, label: str, shape: tuple[int, ...], dtype: str, lo: float, hi: float) -> np.ndarray:
    """Float values inside (lo, hi); specials kept only where defined for a cast to an integer."""
    x = d.tensor(label, shape, dtype, low=lo, high=hi)
    wide = x.astype(np.float64)
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(wide) & (wide > lo - 1) & (wide < hi + 1)
    return np.where(keep, x, np.zeros((), x.dtype)).astype(x.dtype)


@case(
    "cast",
    op_class=OpClass.EXACT,
    float64_truth=False,
    notes="Float to integer truncates toward zero. NaN, infinities and out-of-range values are undefined "
    "behaviour (C, torch and ONNX Cast) and are not drawn.",
)
def cast_float_to_int(d: Draw) -> Spec:
    src = d.dtype(FLOATS, label="from")
    dst = d.dtype(CAST_INTS, label="to")
    lo, hi = INT_RANGE[dst]
    if src in ("float16", "bfloat16") and dst in ("int16", "int32", "int64"):
        lo, hi = -1000, 1000  # keep fractional parts representable
    elif dst in ("int16", "int32", "int64") and d.boolean("small"):
        lo, hi = -4, 4
    return Spec(_to(dst), (_in_range_float(d, "x", d.shape(min_side=0), src, lo, hi),))


@case(
    "cast",
    op_class=OpClass.EXACT,
    float64_truth=False,
    notes="Integer to float rounds to nearest even (int32 above 2^24 to float32, int16 and int64 above 2^11 to "
    "float16, int64 above 65504 overflowing to inf there).",
)
def cast_int_to_float(d: Draw) -> Spec:
    src = d.dtype(CAST_INTS, label="from")
    dst = d.dtype(FLOATS, label="to")
    magnitude = d.choice("magnitude", (100, 2**12 + 1, 2**25 + 3))
    if src in ("int8", "uint8"):
        magnitude = 127
    elif src == "int16":
        magnitude = min(magnitude, 2**15 - 1)
    low = 0 if src == "uint8" else -magnitude
    return Spec(_to(dst), (d.tensor("x", d.shape(min_side=0), src, low=low, high=magnitude),))


@case(
    "cast",
    op_class=OpClass.EXACT,
    float64_truth=False,
    notes="Narrowing float casts round to nearest even and overflow to inf; bfloat16 rounding (not truncation) "
    "is what torch does and what ONNX Cast specifies.",
)
def cast_float_narrow(d: Draw) -> Spec:
    pairs = (
        ("float32", "float16"),
        ("float32", "bfloat16"),
        ("float64", "float32"),
        ("float64", "float16"),
        ("float64", "bfloat16"),
        ("float16", "bfloat16"),
        ("bfloat16", "float16"),
    )
    src, dst = d.choice("pair", pairs)
    scale = d.choice("scale", (3.0, 1e5, 1e-6))
    return Spec(_to(dst), (d.tensor("x", d.shape(min_side=0), src, low=-scale, high=scale),))


@case("cast", op_class=OpClass.EXACT, float64_truth=False, notes="Widening float casts are exact.")
def cast_float_widen(d: Draw) -> Spec:
    pairs = (
        ("float16", "float32"),
        ("bfloat16", "float32"),
        ("float16", "float64"),
        ("bfloat16", "float64"),
        ("float32", "float64"),
    )
    src, dst = d.choice("pair", pairs)
    return Spec(_to(dst), (d.tensor("x", d.shape(min_side=0), src, low=-100, high=100),))


@case(
    "cast",
    op_class=OpClass.EXACT,
    float64_truth=False,
    notes="Anything to bool is x != 0: -0.0 is False, NaN and subnormals are True.",
)
def cast_to_bool(d: Draw) -> Spec:
    src = d.dtype((*ALL, "int16"), label="from")
    x = d.tensor("x", d.shape(min_side=0), src, low=-2, high=2)
    if src in FLOATS:
        zeros = d.tensor("zeros", x.shape, "bool", special=False)
        x = np.where(zeros, np.zeros((), x.dtype), x).astype(x.dtype)
    return Spec(_to("bool"), (x,))


@case("cast", op_class=OpClass.EXACT, float64_truth=False, notes="bool to anything: 0 or 1.")
def cast_from_bool(d: Draw) -> Spec:
    dst = d.dtype((*ALL, "int16"), label="to")
    return Spec(_to(dst), (d.tensor("x", d.shape(min_side=0), "bool"),))


@case(
    "cast",
    op_class=OpClass.EXACT,
    float64_truth=False,
    notes="Integer narrowing and signed/unsigned changes wrap modulo 2^n in torch; ONNX Cast does not define "
    "out-of-range integer results, so a backend that saturates is not wrong by the spec (a spec gap).",
)
def cast_int_narrow(d: Draw) -> Spec:
    pairs = (
        ("int64", "int32"),
        ("int64", "int8"),
        ("int64", "uint8"),
        ("int32", "int8"),
        ("int32", "uint8"),
        ("int32", "int16"),
        ("int16", "int8"),
        ("int16", "uint8"),
        ("int8", "uint8"),
        ("uint8", "int8"),
        ("int32", "int64"),
        ("uint8", "int64"),
        ("int16", "int64"),
    )
    src, dst = d.choice("pair", pairs)
    wraps = d.boolean("out_of_range")
    lo, hi = (-1000, 1000) if wraps else (0, 100)
    return Spec(_to(dst), (d.tensor("x", d.shape(min_side=0), src, low=lo, high=hi),))


@case(
    "cast",
    op_class=OpClass.EXACT,
    float64_truth=False,
    notes="x.to(narrow).to(x.dtype), via float16, bfloat16, int16, int32, int64 (in-range values only) or "
    "float32: the round trip loses precision on purpose; a graph optimizer that folds the cast pair away is wrong.",
)
def cast_round_trip(d: Draw) -> Spec:
    src = d.dtype(("float32", "float64"), label="from")
    via = d.dtype(("float16", "bfloat16", "int16", "int32", "int64", "float32"), label="via")

    def round_trip(x: torch.Tensor) -> torch.Tensor:
        return x.to(getattr(torch, via)).to(x.dtype)

    x = (
        _in_range_float(d, "x", d.shape(min_side=0), src, -1000, 1000)
        if via in CAST_INTS
        else d.tensor("x", d.shape(min_side=0), src, low=-1000, high=1000)
    )
    return Spec(Fn(round_trip), (x,))


@case(
    "cast",
    op_class=OpClass.EXACT,
    float64_truth=False,
    notes="x.type_as(y): the dtype comes from the second input (bfloat16 and bool among them). y is returned too, so that an exporter that "
    "prunes unused inputs (torchscript does) keeps the model's inputs as drawn.",
)
def type_as(d: Draw) -> Spec:
    src = d.dtype(("float32", "float16", "int32", "int64", "bool"), label="from")
    dst = d.dtype(("float32", "float64", "float16", "bfloat16", "int64", "int32", "bool"), label="to")
    shape = d.shape(min_side=0)
    if src in FLOATS and dst in INTS:
        x = _in_range_float(d, "x", shape, src, -100, 100)
    else:
        x = d.tensor("x", shape, src, low=-100, high=100)

    def type_as(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.type_as(y), y

    return Spec(Fn(type_as), (x, d.tensor("y", (1,), dst)))


@case(
    "cast",
    op_class=OpClass.EXACT,
    float64_truth=False,
    notes="The dtype shorthands (x.float(), x.half(), x.long(), x.short(), x.char(), x.byte(), ...), which trace "
    "to the same cast; x.byte() gets non-negative values only (a negative one wraps, or is undefined from a float).",
)
def cast_methods(d: Draw) -> Spec:
    method = d.choice("method", ("float", "double", "half", "bfloat16", "int", "long", "short", "char", "byte", "bool"))
    src = d.dtype(("float32", "int64", "bool", "float16"), label="from")
    lo = 0 if method == "byte" else -100
    if src in FLOATS and method in ("int", "long", "short", "char", "byte"):
        x = _in_range_float(d, "x", d.shape(min_side=0), src, lo, 100)
    else:
        x = d.tensor("x", d.shape(min_side=0), src, low=lo, high=100)
    return Spec(Fn(getattr(torch.Tensor, method)), (x,))
