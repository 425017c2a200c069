"""Convolution and pooling cases: conv 1-D/3-D, padding modes and 'same', transposed
convolution with output_padding, max/avg/adaptive/Lp pooling, fold and unfold.

Spatial sizes are drawn no smaller than the dilated kernel (minus padding where
torch allows it), so every draw is a valid torch call.
"""

from __future__ import annotations

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


def _conv(d: Draw, rank: int) -> Spec:
    dtype = d.dtype(CONV_DTYPES)
    groups = d.integer("groups", 1, 2)
    cin = groups * d.integer("in_per_group", 1, 2)
    cout = groups * d.integer("out_per_group", 1, 2)
    kernel = d.integer("kernel", 1, 3)
    dilation = d.integer("dilation", 1, 2)
    same = d.boolean("padding_same")
    stride = 1 if same else d.integer("stride", 1, 2)
    padding: int | str = "same" if same else d.integer("padding", 0, 1)
    mode = d.choice("padding_mode", ("zeros", "reflect", "replicate", "circular"))
    bias = d.boolean("bias")
    span = (kernel - 1) * dilation + 1
    spatial = tuple(d.integer(f"size{i}", span, span + (4 if rank < 3 else 2)) for i in range(rank))
    conv = seeded(
        d.weights_seed(),
        lambda: _CONV[rank](
            cin,
            cout,
            kernel,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=mode,
        ),
    ).to(getattr(torch, dtype))
    return Spec(conv, (d.tensor("x", (d.integer("batch", 1, 2), cin, *spatial), dtype),))


@case(
    "conv",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.Conv1d with stride, integer or 'same' padding, every padding_mode, dilation and groups."
    + ZERO_SIGN_NOTE,
)
def conv1d(d: Draw) -> Spec:
    return _conv(d, 1)


@case(
    "conv",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.Conv2d with padding='same' or an explicit pad and a non-zero padding_mode "
    "(reflect/replicate/circular become a Pad before the Conv)." + ZERO_SIGN_NOTE,
)
def conv2d_padding_modes(d: Draw) -> Spec:
    return _conv(d, 2)


@case(
    "conv",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.Conv3d with stride, padding (incl. 'same'), dilation and groups." + ZERO_SIGN_NOTE,
)
def conv3d(d: Draw) -> Spec:
    return _conv(d, 3)


def _conv_transpose(d: Draw, rank: int) -> Spec:
    dtype = d.dtype(CONV_DTYPES)
    groups = d.integer("groups", 1, 2)
    cin = groups * d.integer("in_per_group", 1, 2)
    cout = groups * d.integer("out_per_group", 1, 2)
    kernel = d.integer("kernel", 1, 3)
    stride = d.integer("stride", 1, 3)
    dilation = d.integer("dilation", 1, 2)
    padding = d.integer("padding", 0, (kernel - 1) * dilation // 2)
    # torch requires output_padding < stride or < dilation.
    output_padding = d.integer("output_padding", 0, max(stride, dilation) - 1)
    bias = d.boolean("bias")
    spatial = tuple(d.integer(f"size{i}", 1, 4) for i in range(rank))
    conv = seeded(
        d.weights_seed(),
        lambda: _CONV_T[rank](
            cin,
            cout,
            kernel,
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            groups=groups,
            bias=bias,
            dilation=dilation,
        ),
    ).to(getattr(torch, dtype))
    return Spec(conv, (d.tensor("x", (d.integer("batch", 1, 2), cin, *spatial), dtype),))


@case(
    "conv",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.ConvTranspose1d with stride, padding, output_padding, dilation and groups (ConvTranspose)."
    + ZERO_SIGN_NOTE,
)
def conv_transpose1d(d: Draw) -> Spec:
    return _conv_transpose(d, 1)


@case(
    "conv",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.ConvTranspose2d with output_padding, dilation and groups." + ZERO_SIGN_NOTE,
)
def conv_transpose2d(d: Draw) -> Spec:
    return _conv_transpose(d, 2)


@case(
    "conv",
    unspecified=ZERO_SIGN,
    op_class=OpClass.MATMUL,
    notes="torch.nn.ConvTranspose3d with output_padding, dilation and groups." + ZERO_SIGN_NOTE,
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


def _max_pool(d: Draw, rank: int) -> Spec:
    dtype = d.dtype(POOL_DTYPES)
    kernel = d.integer("kernel", 1, 3)
    stride = d.integer("stride", 1, 3)
    dilation = d.integer("dilation", 1, 2)
    padding = d.integer("padding", 0, kernel // 2)
    ceil_mode = d.boolean("ceil_mode")
    indices = d.boolean("return_indices")
    span = (kernel - 1) * dilation + 1
    spatial = tuple(d.integer(f"size{i}", max(span - 2 * padding, 1), span + 3) for i in range(rank))
    module = Fn(
        _MAX_POOL[rank],
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        return_indices=indices,
    )
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 3), *spatial), dtype, low=-1000, high=1000)
    return Spec(module, (x,))


_MAX_POOL_NOTES = (
    "with stride, padding, dilation and ceil_mode, and optionally the indices (MaxPool's second "
    "output, flattened per plane by the exporter). Values drawn wide so ties, whose index ONNX leaves "
    "open, are rare. NaN handling inside a window is a spec gap."
)


@case("pool", op_class=OpClass.EXACT, notes="max_pool1d " + _MAX_POOL_NOTES)
def max_pool1d(d: Draw) -> Spec:
    return _max_pool(d, 1)


@case("pool", op_class=OpClass.EXACT, notes="max_pool2d " + _MAX_POOL_NOTES)
def max_pool2d(d: Draw) -> Spec:
    return _max_pool(d, 2)


@case("pool", op_class=OpClass.EXACT, notes="max_pool3d " + _MAX_POOL_NOTES)
def max_pool3d(d: Draw) -> Spec:
    return _max_pool(d, 3)


def _avg_pool(d: Draw, rank: int) -> Spec:
    # torch has no float16 or bfloat16 avg_pool3d on the CPU.
    dtype = d.dtype(POOL_DTYPES if rank < 3 else ("float32", "float64"))
    kernel = d.integer("kernel", 1, 3)
    stride = d.integer("stride", 1, 3)
    padding = d.integer("padding", 0, kernel // 2)
    ceil_mode = d.boolean("ceil_mode")
    include = d.boolean("count_include_pad")
    # avg_pool3d insists on an input no smaller than the kernel, padding or not.
    smallest = kernel if rank == 3 else max(kernel - 2 * padding, 1)
    spatial = tuple(d.integer(f"size{i}", smallest, kernel + 3) for i in range(rank))
    module = Fn(
        _AVG_POOL[rank],
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=include,
    )
    return Spec(module, (d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 3), *spatial), dtype),))


_AVG_POOL_NOTES = (
    "with stride, padding, ceil_mode and count_include_pad (AveragePool). With ceil_mode a window "
    "may hang over the padded edge; torch never counts that overhang, even with count_include_pad."
)


@case("pool", unspecified=ZERO_SIGN, op_class=OpClass.REDUCTION, notes="avg_pool1d " + _AVG_POOL_NOTES + ZERO_SIGN_NOTE)
def avg_pool1d(d: Draw) -> Spec:
    return _avg_pool(d, 1)


@case("pool", unspecified=ZERO_SIGN, op_class=OpClass.REDUCTION, notes="avg_pool2d " + _AVG_POOL_NOTES + ZERO_SIGN_NOTE)
def avg_pool2d(d: Draw) -> Spec:
    return _avg_pool(d, 2)


@case("pool", unspecified=ZERO_SIGN, op_class=OpClass.REDUCTION, notes="avg_pool3d " + _AVG_POOL_NOTES + ZERO_SIGN_NOTE)
def avg_pool3d(d: Draw) -> Spec:
    return _avg_pool(d, 3)


_ADAPTIVE_AVG = {
    1: torch.nn.functional.adaptive_avg_pool1d,
    2: torch.nn.functional.adaptive_avg_pool2d,
    3: torch.nn.functional.adaptive_avg_pool3d,
}


def _adaptive(d: Draw, rank: int, fn: object, dtypes: tuple[str, ...]) -> Spec:
    dtype = d.dtype(dtypes)
    spatial = tuple(d.integer(f"size{i}", 1, 6) for i in range(rank))
    # Output 1 is global pooling; a divisor of the input gives uniform windows; otherwise windows overlap.
    out = tuple(d.integer(f"out{i}", 1, spatial[i]) for i in range(rank))
    module = Fn(fn, output_size=out)
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 3), *spatial), dtype, low=-1000, high=1000)
    return Spec(module, (x,))


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="adaptive_avg_pool1d to any output size up to the input's: global, uniform and overlapping windows."
    + ZERO_SIGN_NOTE,
)
def adaptive_avg_pool1d(d: Draw) -> Spec:
    return _adaptive(d, 1, _ADAPTIVE_AVG[1], POOL_DTYPES)


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="adaptive_avg_pool2d to any output size up to the input's." + ZERO_SIGN_NOTE,
)
def adaptive_avg_pool2d(d: Draw) -> Spec:
    return _adaptive(d, 2, _ADAPTIVE_AVG[2], POOL_DTYPES)


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="adaptive_avg_pool3d to any output size up to the input's." + ZERO_SIGN_NOTE,
)
def adaptive_avg_pool3d(d: Draw) -> Spec:
    return _adaptive(d, 3, _ADAPTIVE_AVG[3], POOL_DTYPES)


@case(
    "pool",
    op_class=OpClass.EXACT,
    notes="adaptive_max_pool1d (values only) to any output size up to the input's.",
)
def adaptive_max_pool1d(d: Draw) -> Spec:
    return _adaptive(d, 1, torch.nn.functional.adaptive_max_pool1d, POOL_DTYPES)


@case(
    "pool",
    op_class=OpClass.EXACT,
    notes="adaptive_max_pool2d (values only) to any output size up to the input's.",
)
def adaptive_max_pool2d(d: Draw) -> Spec:
    return _adaptive(d, 2, torch.nn.functional.adaptive_max_pool2d, POOL_DTYPES)


def _lp_pool(d: Draw, rank: int) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    norm_type = d.choice("norm_type", (1.0, 2.0, 3.0))
    kernel = d.integer("kernel", 1, 3)
    stride = d.integer("stride", 1, 2)
    ceil_mode = d.boolean("ceil_mode")
    spatial = tuple(d.integer(f"size{i}", kernel, kernel + 3) for i in range(rank))
    fn = torch.nn.functional.lp_pool1d if rank == 1 else torch.nn.functional.lp_pool2d
    module = Fn(fn, norm_type=norm_type, kernel_size=kernel, stride=stride, ceil_mode=ceil_mode)
    # Positive inputs: torch computes sign(s) * relu(|s|) ** (1/p) of the window sum s of x**p,
    # which for odd p and mixed signs is not LpPool's (sum |x|**p) ** (1/p).
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 3), *spatial), dtype, low=0.0, high=3.0)
    return Spec(module, (x,))


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="lp_pool1d with p = 1, 2, 3 on non-negative inputs (torch sums x**p, not |x|**p)." + ZERO_SIGN_NOTE,
)
def lp_pool1d(d: Draw) -> Spec:
    return _lp_pool(d, 1)


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    notes="lp_pool2d with p = 1, 2, 3 on non-negative inputs (torch sums x**p, not |x|**p)." + ZERO_SIGN_NOTE,
)
def lp_pool2d(d: Draw) -> Spec:
    return _lp_pool(d, 2)


@case(
    "pool", op_class=OpClass.EXACT, notes="torch.nn.functional.unfold (im2col) with kernel, dilation, padding, stride."
)
def unfold(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "float16"))
    kernel = (d.integer("kernel_h", 1, 3), d.integer("kernel_w", 1, 3))
    dilation = d.integer("dilation", 1, 2)
    padding = d.integer("padding", 0, 1)
    stride = d.integer("stride", 1, 2)
    h = d.integer("height", (kernel[0] - 1) * dilation + 1, 6)
    w = d.integer("width", (kernel[1] - 1) * dilation + 1, 6)
    module = Fn(torch.nn.functional.unfold, kernel_size=kernel, dilation=dilation, padding=padding, stride=stride)
    return Spec(module, (d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 3), h, w), dtype),))


@case(
    "pool",
    unspecified=ZERO_SIGN,
    op_class=OpClass.REDUCTION,
    min_opset=18,
    notes="torch.nn.functional.fold (col2im, ONNX Col2Im from opset 18): overlapping patches sum." + ZERO_SIGN_NOTE,
)
def fold(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    kernel = (d.integer("kernel_h", 1, 3), d.integer("kernel_w", 1, 3))
    dilation = d.integer("dilation", 1, 2)
    padding = d.integer("padding", 0, 1)
    stride = d.integer("stride", 1, 2)
    out = (
        d.integer("height", (kernel[0] - 1) * dilation + 1, 6),
        d.integer("width", (kernel[1] - 1) * dilation + 1, 6),
    )
    blocks = 1
    for i in range(2):
        blocks *= (out[i] + 2 * padding - dilation * (kernel[i] - 1) - 1) // stride + 1
    channels = d.integer("channels", 1, 2)
    module = Fn(
        torch.nn.functional.fold, output_size=out, kernel_size=kernel, dilation=dilation, padding=padding, stride=stride
    )
    x = d.tensor("x", (d.integer("batch", 1, 2), channels * kernel[0] * kernel[1], blocks), dtype)
    return Spec(module, (x,))


@case(
    "pool",
    op_class=OpClass.EXACT,
    notes="torch.nn.functional.max_unpool2d scattering values back by the indices of a max_pool2d in the "
    "same graph (MaxUnpool). Non-overlapping windows so indices are unique.",
)
def max_unpool2d(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    kernel = d.integer("kernel", 1, 3)
    h, w = kernel * d.integer("blocks_h", 1, 3), kernel * d.integer("blocks_w", 1, 3)

    def pool_unpool(x: torch.Tensor) -> torch.Tensor:
        values, indices = torch.nn.functional.max_pool2d(x, kernel, stride=kernel, return_indices=True)
        return torch.nn.functional.max_unpool2d(values, indices, kernel, stride=kernel, output_size=x.shape[-2:])

    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 3), h, w), dtype, low=-1000, high=1000)
    return Spec(Fn(pool_unpool), (x,))
