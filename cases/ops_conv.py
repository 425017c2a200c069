"""Convolution and pooling cases: conv 1-D/3-D, padding modes, 'same' and 'valid',
depthwise and per-axis (tuple) arguments, transposed convolution with output_padding
or output_size, max/avg/adaptive/Lp pooling, fold and unfold.

Spatial sizes are drawn no smaller than the dilated kernel (minus padding where
torch allows it), so every draw is a valid torch call. A case drawn `per_axis`
passes kernel, stride, padding and dilation as tuples with a value per spatial
axis; otherwise as one int, as most models do.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from conformance.casekit import ZERO_SIGN, ZERO_SIGN_NOTE, Fn, seeded
from conformance.dtypes import FLOATS_NO_BF16
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

CONV_DTYPES = (
    "float32",
    "float16",
    "float64",
)  # ONNX Conv, ConvTranspose and the pools allow no bfloat16 before opset 22
POOL_DTYPES = FLOATS_NO_BF16

_CONV = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
_CONV_T = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}
#: Sums of products can end in a zero whose sign ONNX leaves open (Conv, AveragePool, ReduceMean).


def _axes(d: Draw, label: str, per_axis: bool, bounds: Sequence[tuple[int, int]]) -> tuple[int, ...]:
    """A value per spatial axis: drawn per axis (`label0`, `label1`, ...) or once for all of them."""
    if per_axis:
        return tuple(d.integer(f"{label}{i}", low, high) for i, (low, high) in enumerate(bounds))
    low, high = max(b[0] for b in bounds), min(b[1] for b in bounds)
    return (d.integer(label, low, high),) * len(bounds)


def _arg(values: tuple[int, ...], per_axis: bool) -> int | tuple[int, ...]:
    """The torch argument: the tuple where drawn per axis, else the one int."""
    return values if per_axis else values[0]


def _channels(d: Draw) -> tuple[int, int, int]:
    """(groups, in_channels, out_channels); depthwise is groups == in_channels with a channel multiplier."""
    if d.boolean("depthwise"):
        groups = d.integer("groups", 2, 3)
        return groups, groups, groups * d.integer("out_per_group", 1, 2)
    groups = d.integer("groups", 1, 2)
    return groups, groups * d.integer("in_per_group", 1, 2), groups * d.integer("out_per_group", 1, 2)


def _conv(d: Draw, rank: int) -> Spec:
    dtype = d.dtype(CONV_DTYPES)
    groups, cin, cout = _channels(d)
    per_axis = rank > 1 and d.boolean("per_axis")
    kernel = _axes(d, "kernel", per_axis, [(1, 3)] * rank)
    dilation = _axes(d, "dilation", per_axis, [(1, 2)] * rank)
    kind = d.choice("padding_kind", ("explicit", "same", "valid"))
    # torch allows 'same' with stride 1 only; an even dilated kernel then pads one more at the end.
    stride = (1,) * rank if kind == "same" else _axes(d, "stride", per_axis, [(1, 2)] * rank)
    pads = _axes(d, "padding", per_axis, [(0, 1)] * rank) if kind == "explicit" else (0,) * rank
    padding: int | str | tuple[int, ...] = _arg(pads, per_axis) if kind == "explicit" else kind
    mode = d.choice("padding_mode", ("zeros", "reflect", "replicate", "circular"))
    bias = d.boolean("bias")
    spans = [(k - 1) * dl + 1 for k, dl in zip(kernel, dilation, strict=True)]
    # The padded input must hold the dilated kernel; reflect also needs more input than padding.
    room = 4 if rank < 3 else 2
    spatial = tuple(
        d.integer(f"size{i}", max(s - 2 * p, p + 1), s + room) for i, (s, p) in enumerate(zip(spans, pads, strict=True))
    )
    conv = seeded(
        d.weights_seed(),
        lambda: _CONV[rank](
            cin,
            cout,
            _arg(kernel, per_axis),
            stride=_arg(stride, per_axis),
            padding=padding,
            dilation=_arg(dilation, per_axis),
            groups=groups,
            bias=bias,
            padding_mode=mode,
        ),
    ).to(getattr(torch, dtype))
    return Spec(conv, (d.tensor("x", (d.integer("batch", 1, 2), cin, *spatial), dtype),))


_CONV_NOTES = (
    " with explicit, 'same' (stride 1; an even dilated kernel pads asymmetrically) or 'valid' padding, every "
    "padding_mode (reflect/replicate/circular become a Pad before the Conv), dilation, groups, depthwise "
    "(groups == in_channels) and optional bias."
)


@case(
    "conv",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.Conv1d" + _CONV_NOTES + ZERO_SIGN_NOTE,
)
def conv1d(d: Draw) -> Spec:
    return _conv(d, 1)


@case(
    "conv",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.Conv2d"
    + _CONV_NOTES
    + " Kernel, stride, padding and dilation as ints or per-axis tuples."
    + ZERO_SIGN_NOTE,
)
def conv2d_padding_modes(d: Draw) -> Spec:
    return _conv(d, 2)


@case(
    "conv",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.Conv3d"
    + _CONV_NOTES
    + " Kernel, stride, padding and dilation as ints or per-axis tuples."
    + ZERO_SIGN_NOTE,
)
def conv3d(d: Draw) -> Spec:
    return _conv(d, 3)


def _conv_transpose(d: Draw, rank: int) -> Spec:
    dtype = d.dtype(CONV_DTYPES)
    groups, cin, cout = _channels(d)
    per_axis = rank > 1 and d.boolean("per_axis")
    kernel = _axes(d, "kernel", per_axis, [(1, 3)] * rank)
    stride = _axes(d, "stride", per_axis, [(1, 3)] * rank)
    dilation = _axes(d, "dilation", per_axis, [(1, 2)] * rank)
    padding = _axes(d, "padding", per_axis, [(0, (k - 1) * dl // 2) for k, dl in zip(kernel, dilation, strict=True)])
    # The extra rows at the end come as output_padding (torch requires it < stride or < dilation), or
    # through forward's output_size, which torch turns into an output_padding below the stride.
    form = d.choice("output_size", ("none", "spatial", "full"))
    top = [max(s, dl) - 1 if form == "none" else s - 1 for s, dl in zip(stride, dilation, strict=True)]
    extra = _axes(d, "output_padding", per_axis, [(0, t) for t in top])
    bias = d.boolean("bias")
    batch = d.integer("batch", 1, 2)
    spatial = tuple(d.integer(f"size{i}", 1, 4) for i in range(rank))
    conv = seeded(
        d.weights_seed(),
        lambda: _CONV_T[rank](
            cin,
            cout,
            _arg(kernel, per_axis),
            stride=_arg(stride, per_axis),
            padding=_arg(padding, per_axis),
            output_padding=_arg(extra, per_axis) if form == "none" else 0,
            groups=groups,
            bias=bias,
            dilation=_arg(dilation, per_axis),
        ),
    ).to(getattr(torch, dtype))
    x = d.tensor("x", (batch, cin, *spatial), dtype)
    if form == "none":
        return Spec(conv, (x,))
    sizes = [
        (n - 1) * s - 2 * p + dl * (k - 1) + 1 + e
        for n, s, p, dl, k, e in zip(spatial, stride, padding, dilation, kernel, extra, strict=True)
    ]
    return Spec(Fn(conv, output_size=sizes if form == "spatial" else [batch, cout, *sizes]), (x,))


_CONV_T_NOTES = (
    " with stride, padding, dilation, groups, depthwise (groups == in_channels), optional bias, and extra "
    "output rows given as output_padding or as forward's output_size (spatial sizes or the full shape)."
)


@case(
    "conv",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.ConvTranspose1d (ConvTranspose)" + _CONV_T_NOTES + ZERO_SIGN_NOTE,
)
def conv_transpose1d(d: Draw) -> Spec:
    return _conv_transpose(d, 1)


@case(
    "conv",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.ConvTranspose2d" + _CONV_T_NOTES + " Arguments as ints or per-axis tuples." + ZERO_SIGN_NOTE,
)
def conv_transpose2d(d: Draw) -> Spec:
    return _conv_transpose(d, 2)


@case(
    "conv",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.ConvTranspose3d" + _CONV_T_NOTES + " Arguments as ints or per-axis tuples." + ZERO_SIGN_NOTE,
)
def conv_transpose3d(d: Draw) -> Spec:
    return _conv_transpose(d, 3)


# ---------------------------------------------------------------- pooling

_MAX_POOL = {
    1: torch.nn.functional.max_pool1d,
    2: torch.nn.functional.max_pool2d,
    3: torch.nn.functional.max_pool3d,
}
_AVG_POOL = {
    1: torch.nn.functional.avg_pool1d,
    2: torch.nn.functional.avg_pool2d,
    3: torch.nn.functional.avg_pool3d,
}


def _window(d: Draw, rank: int, stride_high: int) -> tuple[bool, tuple[int, ...], tuple[int, ...] | None]:
    """(per_axis, kernel, stride); stride None (torch: the kernel) when drawn so."""
    per_axis = rank > 1 and d.boolean("per_axis")
    kernel = _axes(d, "kernel", per_axis, [(1, 3)] * rank)
    stride = None if d.boolean("stride_none") else _axes(d, "stride", per_axis, [(1, stride_high)] * rank)
    return per_axis, kernel, stride


def _max_pool(d: Draw, rank: int) -> Spec:
    dtype = d.dtype(POOL_DTYPES)
    per_axis, kernel, stride = _window(d, rank, 3)
    dilation = _axes(d, "dilation", per_axis, [(1, 2)] * rank)
    # torch allows padding up to half the (undilated) kernel.
    padding = _axes(d, "padding", per_axis, [(0, k // 2) for k in kernel])
    ceil_mode = d.boolean("ceil_mode")
    indices = d.boolean("return_indices")
    spans = [(k - 1) * dl + 1 for k, dl in zip(kernel, dilation, strict=True)]
    spatial = tuple(
        d.integer(f"size{i}", max(s - 2 * p, 1), s + 3) for i, (s, p) in enumerate(zip(spans, padding, strict=True))
    )
    module = Fn(
        _MAX_POOL[rank],
        kernel_size=_arg(kernel, per_axis),
        stride=None if stride is None else _arg(stride, per_axis),
        padding=_arg(padding, per_axis),
        dilation=_arg(dilation, per_axis),
        ceil_mode=ceil_mode,
        return_indices=indices,
    )
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 3), *spatial), dtype, low=-1000, high=1000)
    return Spec(module, (x,))


_MAX_POOL_NOTES = (
    "with stride (None: the kernel), padding, dilation and ceil_mode, and optionally the indices (MaxPool's "
    "second output, flattened per plane by the exporter). Values drawn wide so ties, whose index ONNX leaves "
    "open, are rare. NaN handling inside a window is a spec gap."
)


@case("pool", op_class=OpClass.EXACT, notes="max_pool1d " + _MAX_POOL_NOTES)
def max_pool1d(d: Draw) -> Spec:
    return _max_pool(d, 1)


@case("pool", op_class=OpClass.EXACT, notes="max_pool2d " + _MAX_POOL_NOTES + " Arguments as ints or per-axis tuples.")
def max_pool2d(d: Draw) -> Spec:
    return _max_pool(d, 2)


@case("pool", op_class=OpClass.EXACT, notes="max_pool3d " + _MAX_POOL_NOTES + " Arguments as ints or per-axis tuples.")
def max_pool3d(d: Draw) -> Spec:
    return _max_pool(d, 3)


def _avg_pool(d: Draw, rank: int) -> Spec:
    # torch has no float16 or bfloat16 avg_pool3d on the CPU.
    dtype = d.dtype(POOL_DTYPES if rank < 3 else ("float32", "float64"))
    per_axis, kernel, stride = _window(d, rank, 3)
    padding = _axes(d, "padding", per_axis, [(0, k // 2) for k in kernel])
    ceil_mode = d.boolean("ceil_mode")
    include = d.boolean("count_include_pad")
    # avg_pool1d has no divisor_override; ONNX AveragePool has none either.
    divisor = {} if rank == 1 else {"divisor_override": d.choice("divisor_override", (None, 1, 3))}
    # avg_pool3d insists on an input no smaller than the kernel, padding or not.
    spatial = tuple(
        d.integer(f"size{i}", k if rank == 3 else max(k - 2 * p, 1), k + 3)
        for i, (k, p) in enumerate(zip(kernel, padding, strict=True))
    )
    module = Fn(
        _AVG_POOL[rank],
        kernel_size=_arg(kernel, per_axis),
        stride=None if stride is None else _arg(stride, per_axis),
        padding=_arg(padding, per_axis),
        ceil_mode=ceil_mode,
        count_include_pad=include,
        **divisor,
    )
    return Spec(module, (d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 3), *spatial), dtype),))


_AVG_POOL_NOTES = (
    "with stride (None: the kernel), padding, ceil_mode and count_include_pad (AveragePool). With ceil_mode a "
    "window may hang over the padded edge; torch never counts that overhang, even with count_include_pad."
)
_DIVISOR_NOTE = (
    " Arguments as ints or per-axis tuples; divisor_override None, 1 or 3 (AveragePool has no such attribute, "
    "so an exporter must rescale)."
)


@case("pool", unspecified=ZERO_SIGN, op_class=OpClass.REDUCTION, notes="avg_pool1d " + _AVG_POOL_NOTES + ZERO_SIGN_NOTE)
def avg_pool1d(d: Draw) -> Spec:
    return _avg_pool(d, 1)


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="avg_pool2d " + _AVG_POOL_NOTES + _DIVISOR_NOTE + ZERO_SIGN_NOTE,
)
def avg_pool2d(d: Draw) -> Spec:
    return _avg_pool(d, 2)


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="avg_pool3d " + _AVG_POOL_NOTES + _DIVISOR_NOTE + ZERO_SIGN_NOTE,
)
def avg_pool3d(d: Draw) -> Spec:
    return _avg_pool(d, 3)


_ADAPTIVE_AVG = {
    1: torch.nn.functional.adaptive_avg_pool1d,
    2: torch.nn.functional.adaptive_avg_pool2d,
    3: torch.nn.functional.adaptive_avg_pool3d,
}


def _adaptive(d: Draw, rank: int, fn: object, dtypes: tuple[str, ...], *, indices: bool = False) -> Spec:
    dtype = d.dtype(dtypes)
    # The first axis's output: 1 (global pooling), a divisor of the input (uniform windows), a non-divisor
    # (windows of two lengths that overlap), larger than the input (windows repeat), or None (kept as is).
    form = d.choice("output_form", ("global", "divisor", "uneven", "larger", *(("none",) if rank > 1 else ())))
    first = d.integer("size0", 3 if form == "uneven" else 1, 6)
    spatial = (first, *(d.integer(f"size{i}", 1, 6) for i in range(1, rank)))
    out0: int | None
    if form == "global":
        out0 = 1
    elif form == "divisor":
        out0 = d.choice("out0", [k for k in range(1, first + 1) if first % k == 0], cover=False)
    elif form == "uneven":
        out0 = d.choice("out0", [k for k in range(2, first) if first % k], cover=False)
    elif form == "larger":
        out0 = d.integer("out0", first + 1, first + 3)
    else:
        out0 = None
    out = (out0, *(d.integer(f"out{i}", 1, spatial[i] + 2) for i in range(1, rank)))
    extra = {"return_indices": d.boolean("return_indices")} if indices else {}
    module = Fn(fn, output_size=out[0] if rank == 1 else out, **extra)
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 3), *spatial), dtype, low=-1000, high=1000)
    return Spec(module, (x,))


_ADAPTIVE_NOTES = (
    " The first axis's output is 1 (global), a divisor of the input, a non-divisor (uneven, overlapping "
    "windows), larger than the input (repeated windows){none}; other axes any size up to two past the input."
)


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="adaptive_avg_pool1d." + _ADAPTIVE_NOTES.format(none="") + ZERO_SIGN_NOTE,
)
def adaptive_avg_pool1d(d: Draw) -> Spec:
    return _adaptive(d, 1, _ADAPTIVE_AVG[1], POOL_DTYPES)


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="adaptive_avg_pool2d." + _ADAPTIVE_NOTES.format(none=" or None (the input's size)") + ZERO_SIGN_NOTE,
)
def adaptive_avg_pool2d(d: Draw) -> Spec:
    return _adaptive(d, 2, _ADAPTIVE_AVG[2], POOL_DTYPES)


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="adaptive_avg_pool3d." + _ADAPTIVE_NOTES.format(none=" or None (the input's size)") + ZERO_SIGN_NOTE,
)
def adaptive_avg_pool3d(d: Draw) -> Spec:
    return _adaptive(d, 3, _ADAPTIVE_AVG[3], POOL_DTYPES)


@case(
    "pool",
    op_class=OpClass.EXACT,
    notes="adaptive_max_pool1d, optionally with the indices."
    + _ADAPTIVE_NOTES.format(none="")
    + " Values drawn wide so ties are rare.",
)
def adaptive_max_pool1d(d: Draw) -> Spec:
    return _adaptive(d, 1, torch.nn.functional.adaptive_max_pool1d, POOL_DTYPES, indices=True)


@case(
    "pool",
    op_class=OpClass.EXACT,
    notes="adaptive_max_pool2d, optionally with the indices."
    + _ADAPTIVE_NOTES.format(none=" or None (the input's size)")
    + " Values drawn wide so ties are rare.",
)
def adaptive_max_pool2d(d: Draw) -> Spec:
    return _adaptive(d, 2, torch.nn.functional.adaptive_max_pool2d, POOL_DTYPES, indices=True)


@case(
    "pool",
    op_class=OpClass.EXACT,
    notes="adaptive_max_pool3d, optionally with the indices."
    + _ADAPTIVE_NOTES.format(none=" or None (the input's size)")
    + " Values drawn wide so ties are rare.",
)
def adaptive_max_pool3d(d: Draw) -> Spec:
    return _adaptive(d, 3, torch.nn.functional.adaptive_max_pool3d, POOL_DTYPES, indices=True)


def _lp_pool(d: Draw, rank: int) -> Spec:
    dtype = d.dtype(POOL_DTYPES)
    norm_type = d.choice("norm_type", (1.0, 1.5, 2.0, 3.0))
    per_axis, kernel, stride = _window(d, rank, 2)
    ceil_mode = d.boolean("ceil_mode")
    spatial = tuple(d.integer(f"size{i}", k, k + 3) for i, k in enumerate(kernel))
    fn = {1: torch.nn.functional.lp_pool1d, 2: torch.nn.functional.lp_pool2d, 3: torch.nn.functional.lp_pool3d}[rank]
    module = Fn(
        fn,
        norm_type=norm_type,
        kernel_size=_arg(kernel, per_axis),
        stride=None if stride is None else _arg(stride, per_axis),
        ceil_mode=ceil_mode,
    )
    # Positive inputs: torch computes sign(s) * relu(|s|) ** (1/p) of the window sum s of x**p,
    # which for odd p and mixed signs is not LpPool's (sum |x|**p) ** (1/p).
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 3), *spatial), dtype, low=0.0, high=3.0)
    return Spec(module, (x,))


_LP_POOL_NOTES = (
    " with p = 1, 1.5, 2, 3 on non-negative inputs (torch sums x**p, not |x|**p), stride (None: the kernel) "
    "and ceil_mode (torch scales a window cut short by the edge up to the full kernel's count)."
)


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="lp_pool1d" + _LP_POOL_NOTES + ZERO_SIGN_NOTE,
)
def lp_pool1d(d: Draw) -> Spec:
    return _lp_pool(d, 1)


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="lp_pool2d" + _LP_POOL_NOTES + " Kernel and stride as ints or per-axis tuples." + ZERO_SIGN_NOTE,
)
def lp_pool2d(d: Draw) -> Spec:
    return _lp_pool(d, 2)


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="lp_pool3d" + _LP_POOL_NOTES + " Kernel and stride as ints or per-axis tuples." + ZERO_SIGN_NOTE,
)
def lp_pool3d(d: Draw) -> Spec:
    return _lp_pool(d, 3)


def _im2col_args(d: Draw) -> tuple[bool, tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(per_axis, dilation, padding, stride) for unfold and fold."""
    per_axis = d.boolean("per_axis")
    dilation = _axes(d, "dilation", per_axis, [(1, 2)] * 2)
    padding = _axes(d, "padding", per_axis, [(0, 1)] * 2)
    stride = _axes(d, "stride", per_axis, [(1, 2)] * 2)
    return per_axis, dilation, padding, stride


@case(
    "pool",
    op_class=OpClass.EXACT,
    notes="torch.nn.functional.unfold (im2col) with kernel, dilation, padding, stride as ints or per-axis "
    "tuples, on batched (N, C, H, W) or unbatched (C, H, W) input.",
)
def unfold(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "float16"))
    kernel = (d.integer("kernel_h", 1, 3), d.integer("kernel_w", 1, 3))
    per_axis, dilation, padding, stride = _im2col_args(d)
    h = d.integer("height", (kernel[0] - 1) * dilation[0] + 1, 6)
    w = d.integer("width", (kernel[1] - 1) * dilation[1] + 1, 6)
    module = Fn(
        torch.nn.functional.unfold,
        kernel_size=kernel,
        dilation=_arg(dilation, per_axis),
        padding=_arg(padding, per_axis),
        stride=_arg(stride, per_axis),
    )
    batch = (d.integer("batch", 1, 2),) if d.boolean("batched") else ()
    return Spec(module, (d.tensor("x", (*batch, d.integer("channels", 1, 3), h, w), dtype),))


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    min_opset=18,
    notes="torch.nn.functional.fold (col2im, ONNX Col2Im from opset 18): overlapping patches sum. Dilation, "
    "padding and stride as ints or per-axis tuples; batched (N, C*kh*kw, L) or unbatched (C*kh*kw, L) input."
    + ZERO_SIGN_NOTE,
)
def fold(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    kernel = (d.integer("kernel_h", 1, 3), d.integer("kernel_w", 1, 3))
    per_axis, dilation, padding, stride = _im2col_args(d)
    out = (
        d.integer("height", (kernel[0] - 1) * dilation[0] + 1, 6),
        d.integer("width", (kernel[1] - 1) * dilation[1] + 1, 6),
    )
    blocks = 1
    for i in range(2):
        blocks *= (out[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
    channels = d.integer("channels", 1, 2)
    module = Fn(
        torch.nn.functional.fold,
        output_size=out,
        kernel_size=kernel,
        dilation=_arg(dilation, per_axis),
        padding=_arg(padding, per_axis),
        stride=_arg(stride, per_axis),
    )
    batch = (d.integer("batch", 1, 2),) if d.boolean("batched") else ()
    x = d.tensor("x", (*batch, channels * kernel[0] * kernel[1], blocks), dtype)
    return Spec(module, (x,))


_MAX_POOL = {1: torch.nn.functional.max_pool1d, 2: torch.nn.functional.max_pool2d, 3: torch.nn.functional.max_pool3d}
_MAX_UNPOOL = {
    1: torch.nn.functional.max_unpool1d,
    2: torch.nn.functional.max_unpool2d,
    3: torch.nn.functional.max_unpool3d,
}


def _max_unpool(d: Draw, rank: int) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    layout = d.choice("windows", ("adjacent", "overlapping", "gaps"))
    kernel = d.integer("kernel", 2 if layout == "overlapping" else 1, 3)
    stride = {"adjacent": kernel, "overlapping": kernel - 1, "gaps": kernel + 1}[layout]
    sized = d.boolean("output_size")
    # Indices are flat over the pooled input's plane: without output_size torch's default size must be
    # that plane, so the windows tile it exactly with no padding; with it, rows may be left over.
    padding = d.integer("padding", 0, kernel // 2) if sized else 0
    spatial = tuple(
        kernel + stride * (d.integer(f"blocks_{a}", 1, 3) - 1) + (d.integer(f"rest_{a}", 0, stride - 1) if sized else 0)
        for a in "dhw"[3 - rank :]
    )

    def pool_unpool(x: torch.Tensor) -> torch.Tensor:
        values, indices = _MAX_POOL[rank](x, kernel, stride, padding, return_indices=True)
        size = x.shape[-rank:] if sized else None
        return _MAX_UNPOOL[rank](values, indices, kernel, stride, padding, output_size=size)

    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 3), *spatial), dtype, low=-1000, high=1000)
    return Spec(Fn(pool_unpool), (x,))


_MAX_UNPOOL_NOTES = (
    " scattering values back by the indices of a max pool of the same rank in the same graph (MaxUnpool). "
    "Windows side by side, overlapping (a shared maximum is written twice, the same value) or with gaps; "
    "padding, and output_size (the pooled input's size, any rows left over) or torch's default size (windows "
    "that tile the input exactly)."
)


@case("pool", op_class=OpClass.EXACT, notes="torch.nn.functional.max_unpool1d" + _MAX_UNPOOL_NOTES)
def max_unpool1d(d: Draw) -> Spec:
    return _max_unpool(d, 1)


@case("pool", op_class=OpClass.EXACT, notes="torch.nn.functional.max_unpool2d" + _MAX_UNPOOL_NOTES)
def max_unpool2d(d: Draw) -> Spec:
    return _max_unpool(d, 2)


@case("pool", op_class=OpClass.EXACT, notes="torch.nn.functional.max_unpool3d" + _MAX_UNPOOL_NOTES)
def max_unpool3d(d: Draw) -> Spec:
    return _max_unpool(d, 3)
