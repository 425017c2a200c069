"""Normalization cases: batch (eval, seeded running statistics), layer, group,
instance, RMS, local response and Lp normalization.

Affine parameters are drawn from a seed too, not left at torch's ones and
zeros, so a backend that drops a scale or a bias is caught.
"""

from __future__ import annotations

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
    notes="torch.nn.BatchNorm1d/2d/3d in eval mode with seeded running mean and variance (BatchNormalization).",
)
def batch_norm(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    rank = d.integer("spatial_dims", 0, 3)
    channels = d.integer("channels", 1, 4)
    affine = d.boolean("affine")
    eps = d.choice("eps", (1e-5, 1e-3))
    cls = {0: torch.nn.BatchNorm1d, 1: torch.nn.BatchNorm1d, 2: torch.nn.BatchNorm2d, 3: torch.nn.BatchNorm3d}[rank]
    module = _randomized(d.weights_seed(), lambda: cls(channels, eps=eps, affine=affine)).to(getattr(torch, dtype))
    spatial = d.shape("spatial", min_dims=rank, max_dims=rank, max_side=4)
    return Spec(module, (d.tensor("x", (d.integer("batch", 1, 3), channels, *spatial), dtype),))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.functional.batch_norm, training=False, without weight or bias, running stats as inputs.",
)
def batch_norm_functional(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    channels = d.integer("channels", 1, 4)
    spatial = d.shape("spatial", max_dims=2, max_side=4)
    x = d.tensor("x", (d.integer("batch", 1, 3), channels, *spatial), dtype)
    mean = d.tensor("running_mean", (channels,), dtype, special=False)
    var = d.tensor("running_var", (channels,), dtype, low=0.25, high=2.0, special=False)

    def bn(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.batch_norm(x, mean, var, training=False, eps=1e-5)

    return Spec(Fn(bn), (x, mean, var))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    min_opset=17,
    notes="torch.nn.LayerNorm over the last 1 to 3 dims, seeded affine (LayerNormalization, opset 17).",
)
def layer_norm(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_dims=1)
    k = d.integer("normalized_dims", 1, min(3, len(shape)))
    affine = d.boolean("elementwise_affine")
    bias = d.boolean("bias")
    normalized = shape[len(shape) - k :]
    module = _randomized(
        d.weights_seed(), lambda: torch.nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias)
    ).to(getattr(torch, dtype))
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.GroupNorm with 1 to C groups and seeded affine; spatial dims of at least 2 (torch refuses one-value groups).",
)
def group_norm(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    groups = d.integer("groups", 1, 3)
    channels = groups * d.integer("channels_per_group", 1, 3)
    affine = d.boolean("affine")
    # torch refuses a group of one value; a spatial dim of at least 2 rules that out.
    spatial = d.shape("spatial", min_dims=1, max_dims=3, min_side=2, max_side=4)
    module = _randomized(d.weights_seed(), lambda: torch.nn.GroupNorm(groups, channels, affine=affine))
    module = module.to(getattr(torch, dtype))
    return Spec(module, (d.tensor("x", (d.integer("batch", 1, 3), channels, *spatial), dtype),))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.InstanceNorm1d/2d/3d (per-sample statistics, no running stats), seeded affine.",
)
def instance_norm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    rank = d.integer("spatial_dims", 1, 3)
    channels = d.integer("channels", 1, 4)
    affine = d.boolean("affine")
    cls = {1: torch.nn.InstanceNorm1d, 2: torch.nn.InstanceNorm2d, 3: torch.nn.InstanceNorm3d}[rank]
    module = _randomized(d.weights_seed(), lambda: cls(channels, affine=affine)).to(getattr(torch, dtype))
    spatial = d.shape("spatial", min_dims=rank, max_dims=rank, min_side=2, max_side=4)
    return Spec(module, (d.tensor("x", (d.integer("batch", 1, 3), channels, *spatial), dtype),))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.RMSNorm over the last 1 or 2 dims with eps None (dtype eps) or 1e-6, seeded weight.",
)
def rms_norm(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_dims=1)
    k = d.integer("normalized_dims", 1, min(2, len(shape)))
    eps = d.choice("eps", (None, 1e-6))
    affine = d.boolean("elementwise_affine")
    normalized = shape[len(shape) - k :]
    module = _randomized(d.weights_seed(), lambda: torch.nn.RMSNorm(normalized, eps=eps, elementwise_affine=affine)).to(
        getattr(torch, dtype)
    )
    return Spec(module, (d.tensor("x", shape, dtype),))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.LocalResponseNorm across channels (LRN) with drawn size, alpha, beta and k.",
)
def local_response_norm(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    size = d.integer("size", 1, 5)
    alpha = d.choice("alpha", (1e-4, 1e-2, 1.0))
    beta = d.choice("beta", (0.75, 0.5, 1.0))
    k = d.choice("k", (1.0, 2.0))
    spatial = d.shape("spatial", min_dims=1, max_dims=2, max_side=4)
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("channels", 1, 6), *spatial), dtype)
    return Spec(torch.nn.LocalResponseNorm(size, alpha=alpha, beta=beta, k=k), (x,))


@case(
    "normalization",
    op_class=OpClass.NORMALIZATION,
    notes="torch.nn.functional.normalize: x / max(||x||_p, eps) along a dim, p = 1, 2 or 3.",
)
def normalize(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    shape = d.shape(min_dims=1)
    dim = d.integer("dim", -len(shape), len(shape) - 1)
    module = Fn(torch.nn.functional.normalize, p=d.choice("p", (1.0, 2.0, 3.0)), dim=dim)
    return Spec(module, (d.tensor("x", shape, dtype),))
