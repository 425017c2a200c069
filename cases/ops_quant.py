"""Quantization: fake quantization, quantize and dequantize (QuantizeLinear, DequantizeLinear) and float8 casts.

A quantized value is defined by rounding x / scale half to even, adding the
zero point and saturating to the integer range; dequantizing is
(q - zero_point) * scale. Nothing here reruns in float64: the rounding is the
op's meaning, so torch in the case dtype is the truth (`float64_truth=False`)
and results are judged exactly, one quantization step apart is a failure.

Values are drawn to reach both saturation ends (a few steps past the range)
and, with `ties`, to sit exactly half way between two steps (exact for the
power-of-two scales, where torch's x * (1/scale) and ONNX's x / scale agree).
NaN has no integer value, so quantizing it is undefined (like a cast of NaN to
an integer): special values keep the infinities, which saturate, and NaN
becomes 0. Float8 casts keep NaN, which every float8 type can hold.

Narrow ranges (0..127, -127..127) and 16-bit quantized types are what torch
allows and ONNX only partly has (16-bit types from opset 21): how the
exporters write them is part of what is tested.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

# Registers torch.ops.quantized_decomposed (the ops torch's PT2E quantization writes into graphs).
import torch.ao.quantization.fx._decomposed

from conformance.casekit import Fn
from conformance.generate import Draw, case
from conformance.model import Case, OpClass, Spec

from ._dims import one_dim

#: Quantized ranges torch's fake quantization accepts, by name: the two 8-bit ones ONNX has and two narrow ones.
RANGES = {"uint8": (0, 255), "int8": (-128, 127), "uint7": (0, 127), "int8_symmetric": (-127, 127)}
#: Integer dtypes of torch's quantize/dequantize ops: ONNX has 8-bit ones everywhere and 16-bit ones from opset 21.
QUANT_DTYPES = ("uint8", "int8", "uint16", "int16")
#: Scales: powers of two (exact ties), and ones whose reciprocal is inexact (0.1, 1/255's neighbour 0.003).
SCALES = (1.0, 0.25, 0.0078125, 0.1, 0.003)
#: Float dtypes torch fake-quantizes.
FAKE_DTYPES = ("float32", "float16")


def _quant_case(notes: str) -> Callable[[Callable[[Draw], Spec]], Case]:
    """A case of this module: the rounding is the op's meaning, so torch in the case dtype is the truth."""
    return case("quant", op_class=OpClass.EXACT, float64_truth=False, notes=notes)


def _zero_point(d: Draw, qmin: int, qmax: int) -> int:
    """The zero point at the range's low end, middle or high end (`zero_point`, covered)."""
    where = d.choice("zero_point", ("low", "middle", "high"))
    return {"low": qmin, "middle": (qmin + qmax + 1) // 2, "high": qmax}[where]


def _values(d: Draw, shape: tuple[int, ...], dtype: str, scale: float, zp: int, qmin: int, qmax: int) -> np.ndarray:
    """x over the quantized range and four steps past each end; exact half steps with `ties`; NaN as 0."""
    low, high = (qmin - zp - 4) * scale, (qmax - zp + 4) * scale
    x = d.tensor("x", shape, dtype, low=low, high=high)
    if x.size and d.boolean("ties"):
        steps = np.floor(x.astype(np.float64) / scale)
        finite = np.isfinite(steps)
        x = np.where(finite, (np.where(finite, steps, 0) + 0.5) * scale, x).astype(x.dtype)
    return np.where(np.isnan(x.astype(np.float64)), np.zeros((), x.dtype), x).astype(x.dtype)


@_quant_case(
    "torch.fake_quantize_per_tensor_affine: quantize then dequantize (QuantizeLinear, DequantizeLinear), "
    "scale and zero point as numbers or as tensors, 8-bit and narrow ranges. NaN is undefined and not drawn."
)
def fake_quantize_per_tensor(d: Draw) -> Spec:
    qmin, qmax = RANGES[d.choice("range", tuple(RANGES))]
    scale = d.choice("scale", SCALES)
    zp = _zero_point(d, qmin, qmax)
    dtype = d.dtype(FAKE_DTYPES)
    x = _values(d, d.shape(min_side=0), dtype, scale, zp, qmin, qmax)
    if d.choice("qparams", ("numbers", "tensors")) == "tensors":
        scale_t, zp_t = torch.tensor(scale, dtype=torch.float32), torch.tensor(zp, dtype=torch.int32)

        def fn(t: torch.Tensor) -> torch.Tensor:
            return torch.fake_quantize_per_tensor_affine(t, scale_t, zp_t, qmin, qmax)

        return Spec(Fn(fn), (x,))
    return Spec(
        Fn(torch.fake_quantize_per_tensor_affine, scale=scale, zero_point=zp, quant_min=qmin, quant_max=qmax), (x,)
    )


def _channel_params(d: Draw, channels: int, qmin: int, qmax: int) -> tuple[np.ndarray, np.ndarray]:
    """A scale and a zero point per channel: scales from SCALES, zero points anywhere in the range."""
    picks = d.tensor("scale_index", (channels,), "int64", low=0, high=len(SCALES) - 1, special=False)
    scales = np.asarray(SCALES, np.float32)[picks]
    zps = d.tensor("zero_points", (channels,), "int64", low=qmin, high=qmax, special=False)
    return scales, zps


@_quant_case(
    "torch.fake_quantize_per_channel_affine: a scale and a zero point per slice along `axis` (QuantizeLinear "
    "and DequantizeLinear with axis, opset 13). NaN is undefined and not drawn."
)
def fake_quantize_per_channel(d: Draw) -> Spec:
    qmin, qmax = RANGES[d.choice("range", tuple(RANGES))]
    dtype = d.dtype(FAKE_DTYPES)
    shape = d.shape(min_dims=1, min_side=1)
    axis = one_dim(d, len(shape)) % len(shape)  # torch takes no negative axis here
    scales, zps = _channel_params(d, shape[axis], qmin, qmax)
    x = _values(d, shape, dtype, float(scales.max()), int(zps.min()), qmin, qmax)
    scale_t, zp_t = torch.from_numpy(scales), torch.from_numpy(zps.astype(np.int32))

    def fn(t: torch.Tensor) -> torch.Tensor:
        return torch.fake_quantize_per_channel_affine(t, scale_t, zp_t, axis, qmin, qmax)

    return Spec(Fn(fn), (x,))


def _int_range(d: Draw, dtype: str) -> tuple[int, int]:
    """The dtype's whole range, or a narrower one (`narrow`: the symmetric or 7-bit ranges)."""
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    if d.boolean("narrow"):
        return (lo + 1, hi) if lo < 0 else (lo, hi // 2)
    return lo, hi


def _per_tensor(d: Draw, qdtype: str) -> dict[str, Any]:
    """The keyword arguments of quantized_decomposed's per-tensor ops: range, scale and zero point drawn."""
    qmin, qmax = _int_range(d, qdtype)
    scale = d.choice("scale", SCALES)
    zp = _zero_point(d, max(qmin, -128), min(qmax, 255))
    return {"scale": scale, "zero_point": zp, "quant_min": qmin, "quant_max": qmax, "dtype": getattr(torch, qdtype)}


@_quant_case(
    "quantized_decomposed.quantize_per_tensor (what PT2E quantization writes): QuantizeLinear to 8- and "
    "16-bit integers, whole or narrow range. NaN is undefined and not drawn."
)
def quantize_per_tensor(d: Draw) -> Spec:
    qparams = _per_tensor(d, d.dtype(QUANT_DTYPES, label="to"))
    args = qparams["scale"], qparams["zero_point"], qparams["quant_min"], qparams["quant_max"]
    x = _values(d, d.shape(min_side=0), "float32", *args)
    return Spec(Fn(torch.ops.quantized_decomposed.quantize_per_tensor, **qparams), (x,))


@_quant_case(
    "quantized_decomposed.dequantize_per_tensor: DequantizeLinear of 8- and 16-bit integers over their "
    "whole range (the extremes in special values), to float32, float16 or bfloat16 (`out_dtype`)."
)
def dequantize_per_tensor(d: Draw) -> Spec:
    src = d.dtype(QUANT_DTYPES, label="from")
    qparams = _per_tensor(d, src)
    out = d.choice("out_dtype", ("float32", "float16", "bfloat16"))
    qmin, qmax = qparams["quant_min"], qparams["quant_max"]
    q = np.clip(d.tensor("q", d.shape(min_side=0), src, low=qmin, high=qmax), qmin, qmax).astype(src)
    op = torch.ops.quantized_decomposed.dequantize_per_tensor
    return Spec(Fn(op, **qparams, out_dtype=getattr(torch, out)), (q,))


@_quant_case(
    "quantized_decomposed.quantize_per_channel and dequantize_per_channel: QuantizeLinear or "
    "DequantizeLinear with a scale and zero point per slice along `axis`. NaN is undefined and not drawn."
)
def quantize_per_channel(d: Draw) -> Spec:
    direction = d.choice("direction", ("quantize", "dequantize"))
    qdtype = d.dtype(("uint8", "int8"), label="qdtype")
    qmin, qmax = _int_range(d, qdtype)
    shape = d.shape(min_dims=1, min_side=1)
    axis = one_dim(d, len(shape)) % len(shape)
    scales, zps = _channel_params(d, shape[axis], qmin, qmax)
    scale_t, zp_t = torch.from_numpy(scales), torch.from_numpy(zps)
    qd = torch.ops.quantized_decomposed
    qtype = getattr(torch, qdtype)
    if direction == "quantize":
        x = _values(d, shape, "float32", float(scales.max()), int(zps.min()), qmin, qmax)

        def fn(t: torch.Tensor) -> torch.Tensor:
            return qd.quantize_per_channel(t, scale_t, zp_t, axis, qmin, qmax, qtype)

        return Spec(Fn(fn), (x,))
    q = np.clip(d.tensor("q", shape, qdtype, low=qmin, high=qmax), qmin, qmax).astype(qdtype)

    def dequantize(t: torch.Tensor) -> torch.Tensor:
        return qd.dequantize_per_channel(t, scale_t, zp_t, axis, qmin, qmax, qtype)

    return Spec(Fn(dequantize), (q,))


#: torch's float8 dtypes, each with its largest finite value: ONNX Cast saturates to it by default (saturate=1).
FLOAT8 = {"float8_e4m3fn": 448.0, "float8_e5m2": 57344.0, "float8_e4m3fnuz": 240.0, "float8_e5m2fnuz": 57344.0}


@_quant_case(
    "x.to(float8).to(x.dtype): Cast to FLOAT8E4M3FN, FLOAT8E5M2 and their FNUZ forms (opset 19) and back, "
    "rounding to nearest even. Values reach past the type's largest finite value (torch saturates e4m3fn only; "
    "ONNX's Cast saturates by default) and down to its subnormals (`tiny`)."
)
def cast_float8(d: Draw) -> Spec:
    f8 = d.choice("float8", tuple(FLOAT8))
    top = FLOAT8[f8]
    src = d.dtype(("float32", "float16", "bfloat16"), label="from")
    if d.boolean("tiny"):
        low, high = -(2.0**-6), 2.0**-6  # below every float8 type's smallest normal (e4m3's 2^-6 and e5m2's 2^-14)
    else:
        low, high = -2 * top, 2 * top
    if src == "float16":
        low, high = max(low, -60000.0), min(high, 60000.0)
    x = d.tensor("x", d.shape(min_side=0), src, low=low, high=high)
    target = getattr(torch, f8)

    def fn(t: torch.Tensor) -> torch.Tensor:
        return t.to(target).to(t.dtype)

    return Spec(Fn(fn), (x,))
