"""Normalization cases: batch (eval, seeded running statistics), layer, group,
instance, RMS, local response and Lp normalization.

Affine parameters are drawn from a seed too, not left at torch's ones and
zeros, so a backend that drops a scale or a bias is caught. eps is drawn
large as well as small, so an eps in the wrong place (outside the square
root, or dropped) shows. Training is not drawn: the suite exports eval
modules, where track_running_stats decides between running and batch
statistics and momentum reaches the graph as an attribute only.
"""

from __future__ import annotations

import math

import torch

from conformance.casekit import Fn, seeded
from conformance.dtypes import FLOATS
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec


def _randomized(seed: int, factory: object) -> torch.nn.Module:
    """A seeded module whose parameters and running statistics are all drawn from the seed.

    Running variances stay positive (0.5 to 2); everything else is normal.
    """

    def build() -> torch.nn.Module:
        module = factory()  # type: ignore[operator]
        with torch.no_grad():
            for name, p in module.named_parameters():
                p.copy_(torch.randn(p.shape) * 0.5 + (1.0 if name == "weight" else 0.0))
            for name, b in module.named_buffers():
                if name == "running_var":
                    b.copy_(torch.rand(b.shape) * 1.5 + 0.5)
                elif name == "running_mean":
                    b.copy_(torch.randn(b.shape))
        return module

    return seeded(seed, build)


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.BatchNorm1d/2d/3d in eval mode (BatchNormalization) on (N, C) and (N, C, *spatial) "
    "inputs: eps 1e-5, 1e-3 or 0.1; affine or not, with or without bias; track_running_stats with seeded "
    "running mean and variance (momentum 0.1 or None, the cumulative average, which only the exported "
    "attribute sees), or without, where eval normalizes with the batch's own statistics.",
)
def batch_norm(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    rank = d.choice("spatial_dims", (0, 1, 2, 3))
    channels = d.integer("channels", 1, 4)
    affine = d.boolean("affine")
    bias = d.boolean("bias") if affine else True
    eps = d.choice("eps", (1e-5, 1e-3, 0.1))
    track = d.boolean("track_running_stats")
    momentum = d.choice("momentum", (0.1, None)) if track else 0.1
    cls = {0: torch.nn.BatchNorm1d, 1: torch.nn.BatchNorm1d, 2: torch.nn.BatchNorm2d, 3: torch.nn.BatchNorm3d}[rank]
    module = _randomized(
        d.weights_seed(),
        lambda: cls(channels, eps=eps, momentum=momentum, affine=affine, track_running_stats=track, bias=bias),
    ).to(getattr(torch, dtype))
    spatial = d.shape("spatial", min_dims=rank, max_dims=rank, max_side=4)
    # Batch statistics of one value per channel: torch refuses them.
    batch = d.integer("batch", 1 if track or math.prod(spatial) > 1 else 2, 3)
    return Spec(module, (d.tensor("x", (batch, channels, *spatial), dtype),))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.functional.batch_norm, training=False, running stats as graph inputs, weight and "
    "bias each passed as an input or left out, eps 1e-5 or 0.1.",
)
def batch_norm_functional(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    channels = d.integer("channels", 1, 4)
    spatial = d.shape("spatial", max_dims=2, max_side=4)
    eps = d.choice("eps", (1e-5, 0.1))
    with_weight = d.boolean("with_weight")
    with_bias = d.boolean("with_bias")
    x = d.tensor("x", (d.integer("batch", 1, 3), channels, *spatial), dtype)
    mean = d.tensor("running_mean", (channels,), dtype, special=False)
    var = d.tensor("running_var", (channels,), dtype, low=0.25, high=2.0, special=False)
    inputs = [x, mean, var]
    if with_weight:
        inputs.append(d.tensor("weight", (channels,), dtype, low=-2.0, high=2.0, special=False))
    if with_bias:
        inputs.append(d.tensor("bias", (channels,), dtype, special=False))

    def bn(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, *affine: torch.Tensor) -> torch.Tensor:
        weight = affine[0] if with_weight else None
        bias = affine[-1] if with_bias else None
        return torch.nn.functional.batch_norm(x, mean, var, weight, bias, training=False, eps=eps)

    return Spec(Fn(bn), tuple(inputs))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    min_opset=17,
    notes="torch.nn.LayerNorm over the last 1, 2 or 3 dims (LayerNormalization, opset 17), eps 1e-5 or "
    "0.1, with or without a seeded affine, with or without its bias.",
)
def layer_norm(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_dims=1)
    k = d.choice("normalized_dims", range(1, min(3, len(shape)) + 1))
    affine = d.boolean("elementwise_affine")
    bias = d.boolean("bias") if affine else True
    eps = d.choice("eps", (1e-5, 0.1))
    normalized = shape[len(shape) - k :]
    module = _randomized(
        d.weights_seed(), lambda: torch.nn.LayerNorm(normalized, eps=eps, elementwise_affine=affine, bias=bias)
    ).to(getattr(torch, dtype))
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.GroupNorm with 1, 2 or 3 groups of 1, 2 or 3 channels (one group is a layer norm, one "
    "channel per group an instance norm), eps 1e-5 or 0.1, seeded affine with or without bias; (N, C) "
    "inputs too. torch refuses only when every group of every sample holds one value.",
)
def group_norm(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    groups = d.choice("groups", (1, 2, 3))
    per_group = d.choice("channels_per_group", (1, 2, 3))
    channels = groups * per_group
    affine = d.boolean("affine")
    bias = d.boolean("bias") if affine else True
    eps = d.choice("eps", (1e-5, 0.1))
    spatial = d.shape("spatial", max_dims=3, max_side=4)
    module = _randomized(
        d.weights_seed(), lambda: torch.nn.GroupNorm(groups, channels, eps=eps, affine=affine, bias=bias)
    )
    module = module.to(getattr(torch, dtype))
    batch = d.integer("batch", 1 if per_group * math.prod(spatial) > 1 else 2, 3)
    return Spec(module, (d.tensor("x", (batch, channels, *spatial), dtype),))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.InstanceNorm1d/2d/3d, batched or not (C, *spatial), eps 1e-5 or 0.1, seeded affine "
    "with or without bias; per-sample statistics (InstanceNormalization), or with track_running_stats "
    "the seeded running ones, which eval uses instead.",
)
def instance_norm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    rank = d.choice("spatial_dims", (1, 2, 3))
    channels = d.integer("channels", 1, 4)
    affine = d.boolean("affine")
    bias = d.boolean("bias") if affine else True
    eps = d.choice("eps", (1e-5, 0.1))
    track = d.boolean("track_running_stats")
    cls = {1: torch.nn.InstanceNorm1d, 2: torch.nn.InstanceNorm2d, 3: torch.nn.InstanceNorm3d}[rank]
    module = _randomized(
        d.weights_seed(), lambda: cls(channels, eps=eps, affine=affine, track_running_stats=track, bias=bias)
    ).to(getattr(torch, dtype))
    # Per-sample statistics over one value: torch refuses them.
    spatial = d.shape("spatial", min_dims=rank, max_dims=rank, min_side=1 if track else 2, max_side=4)
    lead = (d.integer("batch", 1, 3),) if d.boolean("batched") else ()
    return Spec(module, (d.tensor("x", (*lead, channels, *spatial), dtype),))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.RMSNorm over the last 1, 2 or 3 dims with eps None (dtype eps), 1e-6 or 0.1, with or "
    "without a seeded weight.",
)
def rms_norm(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_dims=1)
    k = d.choice("normalized_dims", range(1, min(3, len(shape)) + 1))
    eps = d.choice("eps", (None, 1e-6, 0.1))
    affine = d.boolean("elementwise_affine")
    normalized = shape[len(shape) - k :]
    module = _randomized(d.weights_seed(), lambda: torch.nn.RMSNorm(normalized, eps=eps, elementwise_affine=affine)).to(
        getattr(torch, dtype)
    )
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.LocalResponseNorm across channels (LRN) on 3-d to 5-d inputs with size 1 to 5, alpha, "
    "beta and k drawn. Even sizes matter: torch sums size//2 channels before and (size-1)//2 after, ONNX "
    "LRN floor((size-1)/2) before and ceil((size-1)/2) after, so an exporter emitting LRN must shift the "
    "window (torch 2.13's exporters decompose into AveragePool instead). float16 only on 3-d inputs (torch "
    "has no float16 avg_pool3d on CPU).",
)
def local_response_norm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    size = d.choice("size", (1, 2, 3, 4, 5))
    alpha = d.choice("alpha", (1e-4, 1e-2, 1.0))
    beta = d.choice("beta", (0.75, 0.5, 1.0))
    k = d.choice("k", (1.0, 2.0))
    spatial = d.shape("spatial", min_dims=1, max_dims=1 if dtype == "float16" else 3, max_side=4)
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 6), *spatial), dtype)
    return Spec(torch.nn.LocalResponseNorm(size, alpha=alpha, beta=beta, k=k), (x,))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.functional.normalize: x / max(||x||_p, eps) along a dim (either spelling), p = 1, 2, "
    "3, 0.5 or inf, eps 1e-12 or 1.0 (large enough that the clamp often applies).",
)
def normalize(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    shape = d.shape(min_dims=1)
    rank = len(shape)
    dim = d.integer("dim", -rank, -1) if d.boolean("dim.negative") else d.integer("dim", 0, rank - 1)
    p = d.choice("p", (1.0, 2.0, 3.0, 0.5, math.inf))
    module = Fn(torch.nn.functional.normalize, p=p, dim=dim, eps=d.choice("eps", (1e-12, 1.0)))
    return Spec(module, (d.tensor("x", shape, dtype),))
