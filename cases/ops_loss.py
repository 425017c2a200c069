"""Loss cases: torch.nn.functional's losses, as a model exported for training or evaluation holds them.

ONNX has two loss ops (NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss,
opset 12 on, with `reduction` and `ignore_index` attributes and an optional
weight input); exporters lower the other losses into elementwise ops and a
reduction. Every case draws `reduction` (none, mean, sum: the attribute, or
the reduction the exporter writes) as a covered parameter, and the arguments
of its torch signature that change the graph: weights given or not,
`ignore_index` left at -100 or naming a class the targets hold, label
smoothing, margins, `beta`/`delta` including 0, `log_target`, `full`.
Targets are drawn in their domain (class indices in range, probabilities,
±1) and never take special values; the scored inputs do in special mode.
The sign of a zero loss is left open, as ONNX leaves it for its sums and for
the max(0, ·) of a hinge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from conformance.casekit import ZERO_SIGN, Fn
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

#: torch's `reduction` values, drawn by every loss.
REDUCTIONS = ("none", "mean", "sum")


def _reduction(d: Draw, extra: tuple[str, ...] = ()) -> str:
    return str(d.choice("reduction", (*REDUCTIONS, *extra)))


def _maybe_weighted(
    d: Draw, loss: Any, inputs: tuple[np.ndarray, ...], weight_shape: tuple[int, ...], **kwargs: Any
) -> Spec:
    """`loss` of the inputs, given a `weight=` input of `weight_shape` where `weight` is drawn (in the
    inputs' dtype, positive, no special values)."""
    if not d.boolean("weight"):
        return Spec(Fn(loss, **kwargs), inputs)
    weight = d.tensor("weight_values", weight_shape, str(inputs[0].dtype), low=0.1, high=2.0, special=False)

    def weighted(*given: torch.Tensor) -> torch.Tensor:
        return loss(*given[:-1], weight=given[-1], **kwargs)

    return Spec(Fn(weighted), (*inputs, weight))


def _classes(d: Draw) -> tuple[int, int, tuple[int, ...]]:
    """Batch, classes and extra spatial dims (none, or one or two: the K-dimensional loss)."""
    batch = d.integer("batch", 1, 4)
    classes = d.integer("classes", 1, 5)
    spatial = d.choice("spatial", ((), (3,), (2, 3)))
    return batch, classes, tuple(spatial)


def _targets(d: Draw, batch: int, classes: int, spatial: tuple[int, ...], ignore: int | None) -> np.ndarray:
    """Class indices in range; where a class is ignored, the first target is that class (so it is met)."""
    target = d.tensor("target", (batch, *spatial), "int64", low=0, high=classes - 1, special=False)
    if ignore is not None:
        target.reshape(-1)[0] = ignore
    return target


def _ignore(d: Draw, classes: int) -> int | None:
    """None (torch's -100, never met) or a class the targets then hold."""
    if d.choice("ignore_index", ("default", "class")) == "default":
        return None
    return d.integer("ignore_index.class", 0, classes - 1)


@case(
    "loss",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    min_opset=12,
    notes="F.nll_loss (NegativeLogLikelihoodLoss) over (N, C) or (N, C, d1[, d2]) scores: reduction, a class "
    "weight input or none, ignore_index left at -100 or a class the targets hold (mean divides by the "
    "weight of the targets not ignored; all ignored gives NaN in torch).",
)
def nll_loss(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "float16"))
    batch, classes, spatial = _classes(d)
    ignore = _ignore(d, classes)
    reduction = _reduction(d)
    scores = d.tensor("input", (batch, classes, *spatial), dtype, low=-4, high=0)
    target = _targets(d, batch, classes, spatial, ignore)
    kwargs: dict[str, Any] = {"reduction": reduction}
    if ignore is not None:
        kwargs["ignore_index"] = ignore
    return _maybe_weighted(d, F.nll_loss, (scores, target), (classes,), **kwargs)


@case(
    "loss",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    min_opset=12,
    notes="F.cross_entropy (SoftmaxCrossEntropyLoss) over raw logits: targets as class indices or as "
    "probabilities, label_smoothing 0, 0.1 or 1, a class weight or none, ignore_index (class targets "
    "only) and reduction.",
)
def cross_entropy(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "float16"))
    batch, classes, spatial = _classes(d)
    probabilities = d.boolean("probability_targets")
    ignore = None if probabilities else _ignore(d, classes)
    reduction = _reduction(d)
    smoothing = d.choice("label_smoothing", (0.0, 0.1, 1.0))
    logits = d.tensor("input", (batch, classes, *spatial), dtype, low=-5, high=5)
    kwargs: dict[str, Any] = {"reduction": reduction, "label_smoothing": smoothing}
    if ignore is not None:
        kwargs["ignore_index"] = ignore
    if probabilities:
        raw = d.tensor("target", (batch, classes, *spatial), dtype, low=0, high=1, special=False)
        target = (raw / np.maximum(raw.sum(axis=1, keepdims=True), raw.dtype.type(1e-3))).astype(raw.dtype)
    else:
        target = _targets(d, batch, classes, spatial, ignore)
    return _maybe_weighted(d, F.cross_entropy, (logits, target), (classes,), **kwargs)


def _pair(d: Draw, dtype: str, low: float = -3.0, high: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """An input and a target of one drawn shape (0-d included), both in [low, high]."""
    shape = d.shape(max_dims=3)
    return d.tensor("input", shape, dtype, low=low, high=high), d.tensor("target", shape, dtype, low=low, high=high)


_FLOATS = ("float32", "float64", "float16")


@case(
    "loss",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    notes="F.mse_loss, F.l1_loss and F.soft_margin_loss (targets ±1) with each reduction: a difference, "
    "a power or abs or softplus, and the reduction the exporter writes.",
)
def pointwise_loss(d: Draw) -> Spec:
    dtype = d.dtype(_FLOATS)
    kind = d.choice("loss", ("mse_loss", "l1_loss", "soft_margin_loss"))
    x, y = _pair(d, dtype)
    if kind == "soft_margin_loss":
        y = np.where(y >= 0, 1, -1).astype(y.dtype)
    return Spec(Fn(getattr(F, kind), reduction=_reduction(d)), (x, y))


@case(
    "loss",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    notes="F.smooth_l1_loss (beta 0, 0.5, 1, 2: beta 0 is l1) and F.huber_loss (delta 0.5, 1, 2) with each "
    "reduction: a Where on |x - y| against the threshold, so values sit on both sides of it.",
)
def smooth_l1_loss(d: Draw) -> Spec:
    dtype = d.dtype(_FLOATS)
    huber = d.boolean("huber")
    x, y = _pair(d, dtype)
    reduction = _reduction(d)
    if huber:
        return Spec(Fn(F.huber_loss, reduction=reduction, delta=d.choice("delta", (0.5, 1.0, 2.0))), (x, y))
    return Spec(Fn(F.smooth_l1_loss, reduction=reduction, beta=d.choice("beta", (0.0, 0.5, 1.0, 2.0))), (x, y))


@case(
    "loss",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    notes="F.binary_cross_entropy of probabilities in (0, 1) (torch clamps each log at -100), with a "
    "broadcast weight or none, and each reduction; special mode puts 0 and 1 exactly among them.",
)
def binary_cross_entropy(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    shape = d.shape(max_dims=3)
    x = d.tensor("input", shape, dtype, low=0.001, high=0.999, special=False)
    y = d.tensor("target", shape, dtype, low=0, high=1, special=False)
    if d.special and x.size:  # the clamped logs: an input of exactly 0 and of exactly 1
        x.reshape(-1)[0] = 0
        x.reshape(-1)[-1] = 1
    kwargs = {"reduction": _reduction(d)}
    return _maybe_weighted(d, F.binary_cross_entropy, (x, y), shape[-1:], **kwargs)


@case(
    "loss",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    notes="F.binary_cross_entropy_with_logits over raw logits (the log-sum-exp form torch computes stays "
    "finite for large logits), with pos_weight per class or none, weight or none, and each reduction.",
)
def binary_cross_entropy_with_logits(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64", "float16"))
    shape = d.shape(min_dims=1, max_dims=3)
    x = d.tensor("input", shape, dtype, low=-8, high=8)
    y = d.tensor("target", shape, dtype, low=0, high=1, special=False)
    extras = [n for n in ("pos_weight", "weight") if d.boolean(n)]
    inputs = [x, y] + [d.tensor(f"{n}_values", shape[-1:], dtype, low=0.1, high=3.0, special=False) for n in extras]
    reduction = _reduction(d)

    def loss(a: torch.Tensor, b: torch.Tensor, *given: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(a, b, reduction=reduction, **dict(zip(extras, given, strict=True)))

    return Spec(Fn(loss), tuple(inputs))


@case(
    "loss",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    notes="F.kl_div of log-probabilities against probabilities or (log_target) log-probabilities, with "
    "reduction none, mean, sum or batchmean; a target of exactly 0 contributes 0 (torch's xlogy).",
)
def kl_div(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    shape = d.shape(min_dims=1, max_dims=3)
    log_target = d.boolean("log_target")
    x = d.tensor("input", shape, dtype, low=-4, high=0)
    y = d.tensor("target", shape, dtype, low=-4 if log_target else 0, high=0 if log_target else 1, special=False)
    if not log_target and y.size:
        y.reshape(-1)[0] = 0
    module = Fn(F.kl_div, reduction=_reduction(d, ("batchmean",)), log_target=log_target)
    return Spec(module, (x, y))


@case(
    "loss",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    notes="F.poisson_nll_loss with log_input or not, full (Stirling's term for targets > 1) or not, "
    "eps 1e-8 or 0.1, and each reduction; targets are non-negative counts.",
)
def poisson_nll_loss(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    shape = d.shape(max_dims=3)
    log_input = d.boolean("log_input")
    x = d.tensor("input", shape, dtype, low=-3 if log_input else 0.01, high=3)
    y = np.floor(d.tensor("target", shape, dtype, low=0, high=6, special=False)).astype(x.dtype)
    module = Fn(
        F.poisson_nll_loss,
        log_input=log_input,
        full=d.boolean("full"),
        eps=d.choice("eps", (1e-8, 0.1)),
        reduction=_reduction(d),
    )
    return Spec(module, (x, y))


@case(
    "loss",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    notes="F.gaussian_nll_loss with a variance per element or one per row (broadcast), full or not, eps "
    "1e-6 or 0.5 (variances below it are clamped), and each reduction.",
)
def gaussian_nll_loss(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    shape = d.shape(min_dims=2, max_dims=3)
    x, y = d.tensor("input", shape, dtype), d.tensor("target", shape, dtype)
    var_shape = shape if d.choice("var_shape", ("same", "row")) == "same" else (*shape[:-1], 1)
    var = d.tensor("var", var_shape, dtype, low=0.0, high=2.0, special=False)
    module = Fn(F.gaussian_nll_loss, full=d.boolean("full"), eps=d.choice("eps", (1e-6, 0.5)), reduction=_reduction(d))
    return Spec(module, (x, y, var))


@case(
    "loss",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    notes="F.margin_ranking_loss (pairs and ±1 targets) and F.hinge_embedding_loss (±1 targets) with margin "
    "0, 0.5 or 2 and each reduction: a max(0, ...) whose zero side is met.",
)
def margin_loss(d: Draw) -> Spec:
    dtype = d.dtype(_FLOATS)
    kind = d.choice("loss", ("margin_ranking_loss", "hinge_embedding_loss"))
    shape = d.shape(max_dims=3)
    x = d.tensor("input", shape, dtype)
    sign = d.tensor("target", shape, dtype, special=False)
    y = np.where(sign >= 0, 1, -1).astype(x.dtype)
    kwargs = {"margin": d.choice("margin", (0.0, 0.5, 2.0)), "reduction": _reduction(d)}
    if kind == "hinge_embedding_loss":
        return Spec(Fn(F.hinge_embedding_loss, **kwargs), (x, y))
    return Spec(Fn(F.margin_ranking_loss, **kwargs), (x, d.tensor("input2", shape, dtype), y))


@case(
    "loss",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    notes="F.cosine_embedding_loss (±1 targets, margin -0.5, 0 or 0.5) and F.triplet_margin_loss (p 1 or 2, "
    "swap, margin) over (N, D) rows, each reduction: a norm per row, then a hinge.",
)
def embedding_loss(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    kind = d.choice("loss", ("cosine_embedding_loss", "triplet_margin_loss"))
    rows, width = d.integer("rows", 1, 4), d.integer("width", 1, 6)
    a, b = d.tensor("input1", (rows, width), dtype), d.tensor("input2", (rows, width), dtype)
    reduction = _reduction(d)
    if kind == "cosine_embedding_loss":
        sign = d.tensor("target", (rows,), dtype, special=False)
        y = np.where(sign >= 0, 1, -1).astype(a.dtype)
        margin = d.choice("margin", (-0.5, 0.0, 0.5))
        return Spec(Fn(F.cosine_embedding_loss, margin=margin, reduction=reduction), (a, b, y))
    module = Fn(
        F.triplet_margin_loss,
        margin=d.choice("margin", (0.5, 1.0)),  # torch refuses a margin of 0
        p=d.choice("p", (1.0, 2.0)),
        swap=d.boolean("swap"),
        reduction=reduction,
    )
    return Spec(module, (a, b, d.tensor("negative", (rows, width), dtype)))


@case(
    "loss",
    op_class=OpClass.REDUCTION,
    unspecified=ZERO_SIGN,
    notes="F.multi_margin_loss (p 1 or 2, margin 1 or 0.5, a class weight or none) and "
    "F.multilabel_soft_margin_loss (0/1 targets) over (N, C) scores, each reduction.",
)
def multi_margin_loss(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float64"))
    kind = d.choice("loss", ("multi_margin_loss", "multilabel_soft_margin_loss"))
    rows, classes = d.integer("rows", 1, 4), d.integer("classes", 1, 5)
    x = d.tensor("input", (rows, classes), dtype)
    reduction = _reduction(d)
    if kind == "multilabel_soft_margin_loss":
        labels = d.tensor("target", (rows, classes), "int64", low=0, high=1, special=False).astype(x.dtype)
        return Spec(Fn(F.multilabel_soft_margin_loss, reduction=reduction), (x, labels))
    target = d.tensor("target", (rows,), "int64", low=0, high=classes - 1, special=False)
    kwargs = {"p": d.choice("p", (1, 2)), "margin": d.choice("margin", (1.0, 0.5)), "reduction": reduction}
    return _maybe_weighted(d, F.multi_margin_loss, (x, target), (classes,), **kwargs)
