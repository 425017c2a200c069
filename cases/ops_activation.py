"""Activation function cases (torch.nn.functional and modules with seeded weights).

Attributes (slopes, thresholds, beta, approximation mode) are drawn, so one
case covers the attribute space the exporters map to ONNX attributes.
bfloat16 is drawn where the exporters lower the activation to ops that allow
it (Relu, LeakyRelu, Sigmoid, Tanh, Erf, arithmetic); not where the natural
ONNX op takes float16/float/double only (Elu, Selu, HardSigmoid, HardSwish,
Softplus, Softsign, Mish, ThresholdedRelu).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from conformance.casekit import Fn, seeded
from conformance.dtypes import FLOATS, FLOATS_NO_BF16
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec


def _dim(d: Draw, shape: tuple[int, ...]) -> int:
    """A dim of `shape`, spelled negatively or not (covered); 0-d tensors accept 0 and -1."""
    rank = max(len(shape), 1)
    return d.integer("dim", -rank, -1) if d.boolean("dim.negative") else d.integer("dim", 0, rank - 1)


def _dtype_arg(d: Draw) -> dict[str, torch.dtype]:
    """softmax-like ops' `dtype=`: none, or a cast of the input to float32 or float64 before the op."""
    name = d.choice("dtype_arg", (None, "float32", "float64"))
    return {} if name is None else {"dtype": getattr(torch, name)}


def _act(
    d: Draw,
    fn,
    dtypes: tuple[str, ...] = FLOATS,
    *,
    low: float = -6.0,
    high: float = 6.0,
    min_dims: int = 0,
    **kwargs,
) -> Spec:
    dtype = d.dtype(dtypes)
    shape = d.shape(min_side=0, min_dims=min_dims)
    return Spec(Fn(fn, **kwargs), (d.tensor("x", shape, dtype, low=low, high=high),))


@case(
    "activation",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="min(max(x, 0), 6): Clip in ONNX, which leaves relu6(-0.0) open.",
)
def relu6(d: Draw) -> Spec:
    return _act(d, F.relu6, low=-3, high=9)


@case(
    "activation",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="ONNX LeakyRelu: the slope is drawn, 0, negative and above-1 slopes included.",
)
def leaky_relu(d: Draw) -> Spec:
    slope = d.choice("negative_slope", (0.01, 0.2, 0.0, -0.5, 1.5, 2.0))
    return _act(d, F.leaky_relu, negative_slope=slope)


@case(
    "activation",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="In eval mode rrelu is leaky_relu with slope (lower + upper) / 2: lower 0.125, 0 or -0.25, upper "
    "1/3 or 0.5 (slopes from about 0.04 to 0.31). training=True is not drawn: it samples slopes at random.",
)
def rrelu(d: Draw) -> Spec:
    lower = d.choice("lower", (0.125, 0.0, -0.25))
    upper = d.choice("upper", (1 / 3, 0.5))
    return _act(d, F.rrelu, lower=lower, upper=upper, training=False)


@case(
    "activation",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Exact gelu: x * Phi(x) with Erf (ONNX Gelu only from opset 20).",
)
def gelu(d: Draw) -> Spec:
    return _act(d, F.gelu, approximate="none")


@case(
    "activation",
    op_class=OpClass.TRANSCENDENTAL,
    notes="gelu(approximate='tanh'): the tanh formula; judged against torch's tanh formula in float64, "
    "not against the exact gelu.",
)
def gelu_tanh(d: Draw) -> Spec:
    return _act(d, F.gelu, approximate="tanh")


@case("activation", op_class=OpClass.TRANSCENDENTAL)
def silu(d: Draw) -> Spec:
    """x * sigmoid(x)."""
    return _act(d, F.silu, low=-20, high=20)


@case("activation", op_class=OpClass.TRANSCENDENTAL, notes="x * tanh(softplus(x)); ONNX Mish takes no bfloat16.")
def mish(d: Draw) -> Spec:
    return _act(d, F.mish, FLOATS_NO_BF16, low=-20, high=20)


@case("activation", op_class=OpClass.ELEMENTWISE, unspecified=("signed-zero",))
def hardswish(d: Draw) -> Spec:
    """x * relu6(x + 3) / 6; kinks at -3 and 3."""
    return _act(d, F.hardswish, FLOATS_NO_BF16)


@case("activation", op_class=OpClass.ELEMENTWISE)
def hardsigmoid(d: Draw) -> Spec:
    """relu6(x + 3) / 6 in torch: ONNX HardSigmoid with alpha=1/6, beta=0.5."""
    return _act(d, F.hardsigmoid, FLOATS_NO_BF16)


@case(
    "activation",
    op_class=OpClass.EXACT,
    unspecified=("signed-zero",),
    notes="clamp(x, min_val, max_val) with drawn bounds, a window wholly below zero and an empty one "
    "(min_val == max_val) included; Clip in ONNX.",
)
def hardtanh(d: Draw) -> Spec:
    lo = d.choice("min_val", (-1.0, -2.0, 0.0))
    hi = d.choice("max_val", (1.0, 2.5, -0.5) if lo < -0.5 else (1.0, 2.5, lo))
    return _act(d, F.hardtanh, min_val=lo, max_val=hi)


@case(
    "activation",
    op_class=OpClass.TRANSCENDENTAL,
    notes="log(1 + exp(beta x)) / beta, linear where beta x > `threshold`; beta 1, 2, 0.5 or -1, threshold "
    "20, 5 or 1. ONNX Softplus has neither beta nor threshold, so for those an exporter must compose.",
)
def softplus(d: Draw) -> Spec:
    beta = d.choice("beta", (1.0, 2.0, 0.5, -1.0))
    threshold = d.choice("threshold", (20.0, 5.0, 1.0))
    return _act(d, F.softplus, FLOATS_NO_BF16, low=-30, high=30, beta=beta, threshold=threshold)


@case("activation", op_class=OpClass.ELEMENTWISE)
def softsign(d: Draw) -> Spec:
    """x / (1 + |x|)."""
    return _act(d, F.softsign, FLOATS_NO_BF16, low=-50, high=50)


@case(
    "activation",
    op_class=OpClass.TRANSCENDENTAL,
    unspecified=("signed-zero",),
    notes="alpha 1, 0.5, 2 or 0 (a relu). ONNX Elu's formula alpha * (exp(x) - 1) gives +0.0 at x = -0.0, "
    "torch -0.0: the spec does not say.",
)
def elu(d: Draw) -> Spec:
    alpha = d.choice("alpha", (1.0, 0.5, 2.0, 0.0))
    return _act(d, F.elu, FLOATS_NO_BF16, alpha=alpha)


@case(
    "activation",
    op_class=OpClass.TRANSCENDENTAL,
    unspecified=("signed-zero",),
    notes="Fixed alpha and scale; ONNX Selu's defaults match. Its formula gives +0.0 at x = -0.0, torch -0.0.",
)
def selu(d: Draw) -> Spec:
    return _act(d, F.selu, FLOATS_NO_BF16)


@case(
    "activation",
    op_class=OpClass.TRANSCENDENTAL,
    unspecified=("signed-zero",),
    notes="alpha 1, 0.5 or 2 (0 divides by zero). ONNX Celu takes float32 only; other dtypes need the "
    "exporter to cast or compose. Its formula gives +0.0 at x = -0.0, torch -0.0.",
)
def celu(d: Draw) -> Spec:
    alpha = d.choice("alpha", (1.0, 0.5, 2.0))
    return _act(d, F.celu, FLOATS_NO_BF16, alpha=alpha)


@case(
    "activation",
    op_class=OpClass.ELEMENTWISE,
    unspecified=("signed-zero",),
    notes="nn.PReLU with seeded random slopes (not the constant 0.25 init): one per channel (dim 1 of a "
    "2-d to 4-d input), which ONNX PRelu must broadcast from the right, or one shared by an input of any "
    "rank, 0-d and 1-d included.",
)
def prelu(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    per_channel = d.boolean("per_channel")
    if per_channel:
        channels = d.integer("channels", 1, 4)
        shape = (d.integer("batch", 1, 3), channels, *d.shape("spatial", max_dims=2))
    else:
        channels, shape = 1, d.shape(min_side=0)
    seed = d.weights_seed()

    def build() -> torch.nn.Module:
        m = torch.nn.PReLU(num_parameters=channels if per_channel else 1)
        torch.nn.init.uniform_(m.weight, -1.0, 1.0)
        return m

    module = seeded(seed, build).to(getattr(torch, dtype))
    return Spec(module, (d.tensor("x", shape, dtype),))


@case("activation", op_class=OpClass.TRANSCENDENTAL, notes="log(sigmoid(x)), stable for large |x| in torch.")
def logsigmoid(d: Draw) -> Spec:
    return _act(d, F.logsigmoid, low=-30, high=30)


@case(
    "activation",
    op_class=OpClass.TRANSCENDENTAL,
    unspecified=("signed-zero",),
    notes="x - tanh(x): cancels for small x; a result that underflows is -0.0 or +0.0 depending on the "
    "working precision (float16 in torch, float32 in onnxruntime).",
)
def tanhshrink(d: Draw) -> Spec:
    return _act(d, F.tanhshrink)


@case(
    "activation",
    op_class=OpClass.EXACT,
    notes="ONNX Shrink with bias 0; values at +-lambda stay (strict >). lambd 0.5, 1, 0 or -0.5 (torch allows "
    "it: every value stays).",
)
def hardshrink(d: Draw) -> Spec:
    lambd = d.choice("lambd", (0.5, 1.0, 0.0, -0.5))
    return _act(d, F.hardshrink, FLOATS_NO_BF16, low=-2, high=2, lambd=lambd)


@case(
    "activation",
    op_class=OpClass.ELEMENTWISE,
    notes="ONNX Shrink with bias = lambda; lambd 0.5, 1 or 0 (torch refuses a negative one).",
)
def softshrink(d: Draw) -> Spec:
    lambd = d.choice("lambd", (0.5, 1.0, 0.0))
    return _act(d, F.softshrink, FLOATS_NO_BF16, low=-2, high=2, lambd=lambd)


@case(
    "activation",
    op_class=OpClass.EXACT,
    notes="x if x > threshold else value; with value 0 it is ONNX ThresholdedRelu, otherwise a Where.",
)
def threshold(d: Draw) -> Spec:
    th = d.choice("threshold", (0.0, 1.0, -0.5))
    value = d.choice("value", (0.0, -1.0, 20.0))
    return _act(d, F.threshold, threshold=th, value=value)


@case(
    "activation",
    op_class=OpClass.TRANSCENDENTAL,
    notes="a * sigmoid(b) over the halves of an even dim (either spelling), empty halves included.",
)
def glu(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = list(d.shape(min_dims=1, max_dims=3))
    dim = _dim(d, tuple(shape))
    shape[dim] = 2 * d.integer("half", 0, 3)
    return Spec(Fn(F.glu, dim=dim), (d.tensor("x", tuple(shape), dtype),))


@case(
    "activation",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Log-softmax over a drawn dim (either spelling; 0-d and empty inputs too), dtype= none, float32 or "
    "float64 (a cast before the op); large inputs on purpose.",
)
def log_softmax(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_side=0)
    dim = _dim(d, shape)
    scale = d.choice("scale", (3.0, 100.0))
    module = Fn(F.log_softmax, dim=dim, **_dtype_arg(d))
    return Spec(module, (d.tensor("x", shape, dtype, low=-scale, high=scale),))


@case(
    "activation",
    op_class=OpClass.TRANSCENDENTAL,
    notes="softmax(-x) over a drawn dim (either spelling; 0-d and empty inputs too), dtype= none, float32 or float64.",
)
def softmin(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    shape = d.shape(min_side=0)
    dim = _dim(d, shape)
    module = Fn(F.softmin, dim=dim, **_dtype_arg(d))
    return Spec(module, (d.tensor("x", shape, dtype, low=-10, high=10),))


@case(
    "activation",
    op_class=OpClass.TRANSCENDENTAL,
    notes="Softmax over dim -3 of a 3-d (unbatched) or 4-d input.",
)
def softmax2d(d: Draw) -> Spec:
    dtype = d.dtype(FLOATS)
    rank = d.choice("rank", (3, 4))
    shape = d.shape(min_dims=rank, max_dims=rank)
    return Spec(torch.nn.Softmax2d(), (d.tensor("x", shape, dtype),))
