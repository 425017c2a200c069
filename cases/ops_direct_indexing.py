"""Indexing and convolution forms torch's exporters never write, as single ONNX nodes.

torch's indices are never negative where ONNX allows them (Gather, GatherElements, GatherND,
ScatterElements), it writes GatherND without `batch_dims` and ScatterElements' reductions only
from `scatter_reduce`, and it writes Conv and ConvTranspose with explicit pads only: never
`auto_pad`, and ConvTranspose's `output_padding` only with the pads torch computed. Each case
writes its node itself (`direct=True`); its forward pass is the node's meaning by the spec.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cases._draws import SCATTER_REDUCTIONS, axis_of, conv_geometry, direct
from conformance.casekit import ZERO_SIGN, ZERO_SIGN_NOTE, OnnxNode
from conformance.generate import Draw
from conformance.model import OpClass, Spec


def _indices(d: Draw, label: str, shape: tuple[int, ...], size: int, dtype: str) -> np.ndarray:
    """Indices in [-size, size - 1], negative ones (counted from the end) as often as not."""
    values = d.tensor(label, shape, "int64", low=-size, high=size - 1, special=False)
    return values.astype(dtype)


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX Gather with negative indices, int32 or int64, of any rank (0-d included), along any axis.",
)
def gather(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "float16", "bool", "int8"))
    shape = d.shape(min_dims=1, min_side=1)
    axis = axis_of(d, len(shape))
    index_dtype = d.choice("index_dtype", ("int64", "int32"))
    index_shape = d.shape("index_shape", max_dims=2)
    size = shape[axis]
    data = d.tensor("data", shape, dtype)
    idx = _indices(d, "indices", index_shape, size, index_dtype)

    def fn(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        a = axis % x.dim()
        flat = torch.index_select(x, a, i.reshape(-1).to(torch.int64) % size)
        return flat.reshape((*x.shape[:a], *i.shape, *x.shape[a + 1 :]))

    return Spec(OnnxNode("Gather", fn, attributes={"axis": axis}), (data, idx))


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX GatherElements with negative indices along any axis, the index tensor smaller than the data "
    "along the other axes.",
)
def gather_elements(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "float16", "int32"))
    shape = d.shape(min_dims=1, min_side=1)
    axis = axis_of(d, len(shape))
    index_dtype = d.choice("index_dtype", ("int64", "int32"))
    # Along the axis any length; along the others at most the data's (the spec asks only the same rank).
    index_shape = tuple(
        d.integer("index_len", 1, 4) if k == axis % len(shape) else d.integer(f"index_side{k}", 1, side)
        for k, side in enumerate(shape)
    )
    size = shape[axis]
    data = d.tensor("data", shape, dtype)
    idx = _indices(d, "indices", index_shape, size, index_dtype)

    def fn(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return torch.gather(x, axis % x.dim(), i.to(torch.int64) % size)

    return Spec(OnnxNode("GatherElements", fn, attributes={"axis": axis}), (data, idx))


def _gather_tuples(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """GatherND without batch dims: each last-axis tuple of `index` (negative entries from the end) names an
    element or a slice of `x`."""
    k = index.shape[-1]
    parts = [x[tuple(int(t) % x.shape[j] for j, t in enumerate(row))] for row in index.reshape(-1, k)]
    return torch.stack(parts).reshape((*index.shape[:-1], *x.shape[k:]))


@direct(
    op_class=OpClass.EXACT,
    notes="ONNX GatherND with batch_dims 0 and 1, negative indices, index tuples naming an element or a slice.",
)
def gather_nd(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "int64", "float16"))
    batch_dims = d.choice("batch_dims", (0, 1))
    shape = d.shape(min_dims=batch_dims + 1, max_dims=4, min_side=1)
    k = d.integer("k", 1, len(shape) - batch_dims)
    outer = d.shape("outer", max_dims=2, max_side=3)
    index_shape = (*shape[:batch_dims], *outer, k)
    rows = [
        d.tensor(f"indices{j}", (*shape[:batch_dims], *outer), "int64", low=-s, high=s - 1, special=False)
        for j, s in enumerate(shape[batch_dims : batch_dims + k])
    ]
    idx = np.stack(rows, axis=-1).reshape(index_shape)
    data = d.tensor("data", shape, dtype)

    def fn(x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        i = i.to(torch.int64)
        if batch_dims == 0:
            return _gather_tuples(x, i)
        return torch.stack([_gather_tuples(x[b], i[b]) for b in range(x.shape[0])])

    attrs = {"batch_dims": batch_dims} if batch_dims or d.boolean("batch_dims.explicit") else {}
    return Spec(OnnxNode("GatherND", fn, attributes=attrs), (data, idx))


@direct(
    op_class=OpClass.REDUCTION,
    min_opset=18,
    notes="ONNX ScatterElements with negative indices and every reduction (none, add, mul, max, min: opset 18); "
    "without a reduction the indices are distinct along the axis (repeats leave the order of writes open).",
)
def scatter_elements(d: Draw) -> Spec:
    reduction = d.choice("reduction", ("none", "add", "mul", "max", "min"))
    dtype = d.dtype(("float32", "int64", "float16", "int32"))
    shape = d.shape(min_dims=1, min_side=1)
    rank = len(shape)
    axis = axis_of(d, rank)
    a = axis % rank
    size = shape[a]
    index_shape = tuple(d.integer(f"index_side{k}", 1, s) for k, s in enumerate(shape))
    if reduction == "none":  # each slice along the axis gets a permutation's prefix: no index repeats
        perms = d.tensor("perm_keys", (*index_shape[:a], size, *index_shape[a + 1 :]), "float32", special=False)
        order = np.argsort(perms, axis=a, kind="stable")
        idx = np.take(order, range(index_shape[a]), axis=a)
        idx = np.where(d.tensor("negate", idx.shape, "bool", special=False), idx - size, idx)
    else:
        idx = _indices(d, "indices", index_shape, size, "int64")
    updates = d.tensor("updates", index_shape, dtype)
    data = d.tensor("data", shape, dtype)

    def fn(x: torch.Tensor, i: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        positions = (i.to(torch.int64) % size).numpy()
        for where in np.ndindex(tuple(i.shape)):
            target = list(where)
            target[a] = int(positions[where])
            t = tuple(target)
            out[t] = SCATTER_REDUCTIONS[reduction](out[t], u[where])
        return out

    attrs: dict[str, object] = {"axis": axis}
    if reduction != "none" or d.boolean("reduction.explicit"):
        attrs["reduction"] = reduction
    return Spec(OnnxNode("ScatterElements", fn, attributes=attrs), (data, idx.astype(np.int64), updates))


_CONV = {1: F.conv1d, 2: F.conv2d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d}


@direct(
    op_class=OpClass.MATMUL,
    unspecified=ZERO_SIGN,
    notes="ONNX Conv with auto_pad SAME_UPPER, SAME_LOWER and VALID (torch writes explicit pads only) or "
    "explicit asymmetric pads; strides, dilations, groups (depthwise included), with and without a bias; 1-d "
    "and 2-d." + ZERO_SIGN_NOTE,
)
def conv(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    geo = conv_geometry(d)
    with_bias = d.boolean("bias")
    x = d.tensor("x", geo.x_shape(d.integer("n", 1, 2)), dtype)
    w = d.tensor("w", geo.w_shape, dtype, low=-1, high=1, special=False)
    inputs = (x, w, d.tensor("b", (geo.c_out,), dtype, special=False)) if with_bias else (x, w)

    def fn(*args: torch.Tensor) -> torch.Tensor:
        bias = args[2] if len(args) == 3 else None
        conv = _CONV[geo.rank]
        return conv(
            F.pad(args[0], geo.torch_pads), args[1], bias, stride=geo.strides, dilation=geo.dilations, groups=geo.group
        )

    attrs: dict[str, object] = {
        "kernel_shape": geo.kernel,
        "strides": geo.strides,
        "dilations": geo.dilations,
        "group": geo.group,
    }
    if geo.mode == "NOTSET":
        attrs["pads"] = geo.onnx_pads
    else:
        attrs["auto_pad"] = geo.mode
    return Spec(OnnxNode("Conv", fn, attributes=attrs), inputs)


@direct(
    op_class=OpClass.MATMUL,
    notes="ONNX ConvTranspose with auto_pad SAME_UPPER and SAME_LOWER (output = input * stride; the odd pad at "
    "the end for SAME_UPPER, by the spec's formula), VALID, explicit pads; output_padding (not with SAME, where "
    "the spec's text and ONNX's shape inference disagree), strides, dilations, groups; 1-d and 2-d.",
)
def conv_transpose(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    rank = d.choice("spatial_rank", (2, 1))
    g = d.choice("group", (1, 2))
    c_in, c_out = g * d.integer("in_per_group", 1, 2), g * d.integer("out_per_group", 1, 2)
    spatial = d.shape("spatial", min_dims=rank, max_dims=rank, min_side=1, max_side=5)
    strides = [d.integer(f"stride{i}", 1, 3) for i in range(rank)]
    dilations = [d.integer(f"dilation{i}", 1, 2) for i in range(rank)]
    # The kernel spans at least the stride: SAME's total padding is then never negative.
    kernel = [max(d.integer(f"kernel{i}", 1, 3), -(-strides[i] // dilations[i])) for i in range(rank)]
    mode = d.choice("auto_pad", ("SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET"))
    # With SAME, the spec's text keeps the output at input * stride and folds output_padding into the padding,
    # while ONNX's own shape inference adds it to the output: a spec inconsistency, so not drawn with SAME.
    same = mode in ("SAME_UPPER", "SAME_LOWER")
    output_padding = [0 if same else d.integer(f"output_padding{i}", 0, max(strides[i], dilations[i]) - 1)
                      for i in range(rank)]  # fmt: skip
    spans = [(kernel[i] - 1) * dilations[i] + 1 for i in range(rank)]
    pads = []
    for i in range(rank):
        full = strides[i] * (spatial[i] - 1) + output_padding[i] + spans[i]
        if mode in ("SAME_UPPER", "SAME_LOWER"):
            total = full - spatial[i] * strides[i]
            small, large = total // 2, total - total // 2
            pads.append((small, large) if mode == "SAME_UPPER" else (large, small))
        elif mode == "VALID":
            pads.append((0, 0))
        else:
            top = max(0, (full - 1) // 2)
            pads.append((d.integer(f"pad_begin{i}", 0, min(2, top)), d.integer(f"pad_end{i}", 0, min(2, top))))
    x = d.tensor("x", (d.integer("n", 1, 2), c_in, *spatial), dtype)
    w = d.tensor("w", (c_in, c_out // g, *kernel), dtype, low=-1, high=1, special=False)

    def fn(xt: torch.Tensor, wt: torch.Tensor) -> torch.Tensor:
        y = _CONV_T[rank](xt, wt, stride=strides, dilation=dilations, groups=g)
        # output_padding adds zeros-fed positions at the end, then the pads are cut from each side.
        y = F.pad(y, [v for i in reversed(range(rank)) for v in (0, output_padding[i])])
        for i in range(rank):
            begin, end = pads[i]
            y = y.narrow(2 + i, begin, y.shape[2 + i] - begin - end)
        return y

    attrs: dict[str, object] = {"kernel_shape": kernel, "strides": strides, "dilations": dilations, "group": g}
    if any(output_padding):
        attrs["output_padding"] = output_padding
    if mode == "NOTSET":
        attrs["pads"] = [b for b, _ in pads] + [e for _, e in pads]
    else:
        attrs["auto_pad"] = mode
    return Spec(OnnxNode("ConvTranspose", fn, attributes=attrs), (x, w))
