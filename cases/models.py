"""Model cases: small versions of real architectures, built in code with seeded weights.

Each case draws the architecture's sizes and options and its inputs through
`Draw`; the modules live in `_blocks`. Sizes are toy (hidden 8-32, sequences
3-8, images 8x8 to 16x16) so an instance exports in about a second, but the
operator pattern of each exported graph is that of the full model.

All models run in float32; `mlp`, `resnet_basic_block` and `gpt2_block` also
draw float16. Normalization layers get random affine weights and running
statistics (`randomize_norms`), so an exporter that drops or misplaces one is
caught. The `*_dynamic` cases are traced at one batch or sequence length and
judged at another, which passes only if the exported axis really is dynamic.

`min_opset` is the lowest opset at which the torchscript exporter produced a
graph that onnxruntime ran correctly for seeded draws, raised where a drawn
option needs more: Erf (gelu) and the RNN/ConstantOfShape lowerings need 9,
bilinear half-pixel Resize 11, einsum 12, the attention of
nn.MultiheadAttention (scaled_dot_product_attention) 14.
"""

from __future__ import annotations

import numpy as np
import torch

from conformance.casekit import seeded
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

from . import _blocks as B

HALF_TOO = ("float32", "float16")


def _to(module: torch.nn.Module, dtype: str) -> torch.nn.Module:
    return module.to(getattr(torch, dtype))


def _lengths_mask(lengths: np.ndarray, seq: int) -> np.ndarray:
    """A 0/1 int64 attention mask, 1 for the first `length` positions of each row."""
    return (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int64)


# ---------------------------------------------------------------- plain and convolutional


@case("model", op_class=OpClass.MATMUL, min_opset=9, tags=("mlp",))
def mlp(d: Draw) -> Spec:
    """Multi-layer perceptron: 2-4 linear layers with relu, gelu, tanh or silu between them."""
    dtype = d.dtype(HALF_TOO)
    depth = d.integer("depth", 2, 4)
    sizes = [d.integer(f"width{i}", 4, 32) for i in range(depth + 1)]
    activation = d.choice("activation", sorted(B.ACTIVATIONS))
    model = _to(seeded(d.weights_seed(), lambda: B.MLP(sizes, activation)), dtype)
    x = d.tensor("x", (d.integer("batch", 1, 4), sizes[0]), dtype)
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, tags=("cnn", "resnet"))
def resnet_basic_block(d: Draw) -> Spec:
    """ResNet-18 basic block: two 3x3 conv-BN, ReLU, identity or strided 1x1 projection shortcut."""
    dtype = d.dtype(HALF_TOO)
    cin = d.integer("in_channels", 2, 8)
    cout = d.integer("out_channels", 2, 8)
    stride = d.integer("stride", 1, 2)
    model = _to(seeded(d.weights_seed(), lambda: B.randomize_norms(B.BasicBlock(cin, cout, stride))), dtype)
    size = d.integer("size", 8, 12)
    x = d.tensor("x", (d.integer("batch", 1, 2), cin, size, size), dtype)
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, tags=("cnn", "resnet"))
def resnet_bottleneck_block(d: Draw) -> Spec:
    """ResNet-50 bottleneck: 1x1 reduce, 3x3 (maybe strided), 1x1 expand x4, projection shortcut."""
    cin = d.integer("in_channels", 4, 16)
    width = d.integer("width", 2, 4)
    stride = d.integer("stride", 1, 2)
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.Bottleneck(cin, width, stride)))
    size = d.integer("size", 8, 12)
    x = d.tensor("x", (d.integer("batch", 1, 2), cin, size, size))
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, tags=("cnn", "mobilenet", "depthwise"))
def mobilenetv2_inverted_residual(d: Draw) -> Spec:
    """MobileNetV2 inverted residual: expand 1x1, depthwise 3x3, ReLU6, linear bottleneck, residual."""
    cin = d.integer("in_channels", 2, 8)
    same = d.boolean("residual")  # in == out and stride 1: the residual path is taken
    cout = cin if same else d.integer("out_channels", 2, 8)
    stride = 1 if same else d.integer("stride", 1, 2)
    expand = d.choice("expand_ratio", (1, 2, 4, 6))
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.InvertedResidual(cin, cout, stride, expand)))
    size = d.integer("size", 8, 12)
    x = d.tensor("x", (d.integer("batch", 1, 2), cin, size, size))
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, tags=("cnn", "efficientnet", "depthwise", "squeeze-excitation"))
def efficientnet_mbconv(d: Draw) -> Spec:
    """EfficientNet MBConv: expand, depthwise 3x3 or 5x5, squeeze-excitation gate, SiLU, project, residual."""
    cin = d.integer("in_channels", 4, 8)
    same = d.boolean("residual")
    cout = cin if same else d.integer("out_channels", 4, 8)
    stride = 1 if same else d.integer("stride", 1, 2)
    expand = d.choice("expand_ratio", (1, 4, 6))
    kernel = d.choice("kernel", (3, 5))
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.MBConv(cin, cout, stride, expand, kernel)))
    size = d.integer("size", 8, 12)
    x = d.tensor("x", (d.integer("batch", 1, 2), cin, size, size))
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, min_opset=11, tags=("cnn", "unet", "segmentation", "resize"))
def unet_tiny(d: Draw) -> Spec:
    """Two-level UNet: double conv, max-pool, bottom, upsample (transposed conv, nearest or bilinear),
    skip concatenation, double conv, 1x1 head to per-pixel class logits."""
    cin = d.integer("in_channels", 1, 3)
    base = d.integer("base", 4, 8)
    classes = d.integer("classes", 1, 4)
    upsample = d.choice("upsample", ("transpose", "nearest", "bilinear"))
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.TinyUNet(cin, base, classes, upsample)))
    size = 2 * d.integer("half_size", 4, 8)
    x = d.tensor("x", (d.integer("batch", 1, 2), cin, size, size))
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, tags=("cnn", "densenet", "concat"))
def densenet_block(d: Draw) -> Spec:
    """DenseNet dense block: each BN-ReLU-conv3x3 layer reads the concatenation of all earlier features."""
    cin = d.integer("in_channels", 2, 8)
    growth = d.integer("growth", 2, 6)
    layers = d.integer("layers", 2, 4)
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.DenseBlock(cin, growth, layers)))
    size = d.integer("size", 8, 12)
    x = d.tensor("x", (d.integer("batch", 1, 2), cin, size, size))
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, tags=("cnn", "lenet", "pooling"))
def lenet(d: Draw) -> Spec:
    """LeNet-5 shape: conv-tanh-avgpool (classic) or conv-relu-maxpool (modern) twice, flatten, MLP."""
    cin = d.integer("in_channels", 1, 3)
    size = 4 * d.integer("quarter_size", 2, 4)
    classes = d.integer("classes", 2, 10)
    modern = d.boolean("modern")
    model = seeded(d.weights_seed(), lambda: B.LeNet(cin, size, classes, modern))
    x = d.tensor("x", (d.integer("batch", 1, 3), cin, size, size))
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, min_opset=9, tags=("cnn", "wavenet", "tcn", "audio", "dilation"))
def wavenet_tcn(d: Draw) -> Spec:
    """WaveNet / temporal conv net: dilated causal conv1d (left padding), gated tanh*sigmoid, residual and skip."""
    channels = d.integer("channels", 2, 8)
    kernel = d.integer("kernel", 2, 3)
    dilations = [2**i for i in range(d.integer("layers", 1, 3))]
    model = seeded(d.weights_seed(), lambda: B.WaveNetBlock(channels, kernel, dilations))
    x = d.tensor("x", (d.integer("batch", 1, 2), channels, d.integer("time", 4, 16)))
    return Spec(model, (x,))


# ---------------------------------------------------------------- recurrent


def _rnn(d: Draw, kind: str, layers: int, bidirectional: bool) -> Spec:
    inp = d.integer("input_size", 2, 16)
    hidden = d.integer("hidden_size", 2, 16)
    with_state = d.boolean("initial_state")
    batch_first, bias = d.boolean("batch_first"), d.boolean("bias")
    # LSTM only: project each step's h to proj_size < hidden (h and the output then have proj_size features).
    projection = d.choice("proj_size", ("none", "1", "hidden-1")) if kind == "lstm" else "none"
    proj = {"none": 0, "1": 1, "hidden-1": hidden - 1}[projection]  # hidden >= 2: both below it
    model = seeded(
        d.weights_seed(),
        lambda: B.RNN(kind, inp, hidden, layers, bidirectional, with_state, batch_first=batch_first, bias=bias,
                      proj_size=proj),
    )  # fmt: skip
    batch, seq = d.integer("batch", 1, 3), d.integer("seq", 1, 8)
    inputs = [d.tensor("x", (batch, seq, inp) if batch_first else (seq, batch, inp))]
    if with_state:
        directions = layers * (2 if bidirectional else 1)
        inputs.append(d.tensor("h0", (directions, batch, proj or hidden), low=-1, high=1))
        if kind == "lstm":
            inputs.append(d.tensor("c0", (directions, batch, hidden), low=-1, high=1))
    return Spec(model, tuple(inputs))


@case("model", op_class=OpClass.MATMUL, min_opset=9, tags=("rnn", "lstm"))
def lstm(d: Draw) -> Spec:
    """One-layer LSTM, batch first or not, with or without biases and a projection (`proj_size`), zero or
    given initial (h, c); outputs the sequence and final h and c."""
    return _rnn(d, "lstm", 1, False)


@case("model", op_class=OpClass.MATMUL, min_opset=9, tags=("rnn", "lstm", "bidirectional"))
def lstm_2layer_bidirectional(d: Draw) -> Spec:
    """Two stacked bidirectional LSTM layers: the second layer reads both directions of the first."""
    return _rnn(d, "lstm", 2, True)


@case("model", op_class=OpClass.MATMUL, min_opset=9, tags=("rnn", "gru"))
def gru(d: Draw) -> Spec:
    """One-layer GRU; PyTorch applies the reset gate after the hidden matmul (linear_before_reset=1)."""
    return _rnn(d, "gru", 1, False)


@case("model", op_class=OpClass.MATMUL, min_opset=9, tags=("rnn", "gru", "bidirectional"))
def gru_2layer_bidirectional(d: Draw) -> Spec:
    """Two stacked bidirectional GRU layers."""
    return _rnn(d, "gru", 2, True)


@case("model", op_class=OpClass.MATMUL, min_opset=9, tags=("rnn", "elman"))
def rnn(d: Draw) -> Spec:
    """One-layer Elman RNN (nn.RNN), tanh or ReLU: ONNX's RNN op and its `activations`, which no other
    case reaches."""
    return _rnn(d, d.choice("nonlinearity", ("rnn_tanh", "rnn_relu")), 1, False)


@case("model", op_class=OpClass.MATMUL, min_opset=9, tags=("rnn", "elman", "bidirectional"))
def rnn_2layer_bidirectional(d: Draw) -> Spec:
    """Two stacked bidirectional Elman RNN layers."""
    return _rnn(d, d.choice("nonlinearity", ("rnn_tanh", "rnn_relu")), 2, True)


# ---------------------------------------------------------------- attention


@case("model", op_class=OpClass.MATMUL, min_opset=14, tags=("transformer", "attention"))
def transformer_encoder_layer(d: Draw) -> Spec:
    """nn.TransformerEncoderLayer in eval mode, post-LN or pre-LN, relu or gelu feed-forward."""
    heads = d.choice("heads", (1, 2, 4))
    dim = heads * d.integer("head_dim", 2, 8)
    ff = d.integer("ff", 8, 32)
    activation = d.choice("activation", ("relu", "gelu"))
    norm_first = d.boolean("norm_first")
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.EncoderLayer(dim, heads, ff, activation, norm_first)))
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("seq", 2, 8), dim))
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, min_opset=14, tags=("transformer", "attention", "causal"))
def transformer_decoder_layer_causal(d: Draw) -> Spec:
    """nn.TransformerDecoderLayer: causal self-attention (boolean mask) and cross-attention to a memory."""
    heads = d.choice("heads", (1, 2, 4))
    dim = heads * d.integer("head_dim", 2, 8)
    ff = d.integer("ff", 8, 32)
    seq = d.integer("tgt_seq", 2, 8)
    norm_first = d.boolean("norm_first")
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.DecoderLayer(dim, heads, ff, seq, norm_first)))
    batch = d.integer("batch", 1, 2)
    tgt = d.tensor("tgt", (batch, seq, dim))
    memory = d.tensor("memory", (batch, d.integer("memory_seq", 1, 8), dim))
    return Spec(model, (tgt, memory))


@case("model", op_class=OpClass.MATMUL, min_opset=14, tags=("attention",))
def multihead_attention(d: Draw) -> Spec:
    """nn.MultiheadAttention, self or cross (other key/value width), key padding mask from lengths,
    optionally bias_kv, zero attention and the (averaged or per-head) attention weights as a second output."""
    heads = d.choice("heads", (1, 2, 4))
    dim = heads * d.integer("head_dim", 2, 8)
    cross = d.boolean("cross")
    kdim = d.integer("kdim", 2, 16) if cross else dim
    need_weights = d.boolean("need_weights")
    average = d.boolean("average_weights")
    bias_kv = d.boolean("add_bias_kv")
    zero_attn = d.boolean("add_zero_attn")
    model = seeded(d.weights_seed(), lambda: B.MHA(dim, heads, kdim, need_weights, average, bias_kv, zero_attn))
    batch, seq = d.integer("batch", 1, 3), d.integer("seq", 1, 8)
    kv_seq = d.integer("kv_seq", 1, 8) if cross else seq
    q = d.tensor("query", (batch, seq, dim))
    kv = d.tensor("kv", (batch, kv_seq, kdim)) if cross else q
    lengths = d.tensor("lengths", (batch,), "int64", low=1, high=kv_seq, special=False)
    return Spec(model, (q, kv, lengths))


@case("model", op_class=OpClass.MATMUL, min_opset=14, tags=("transformer", "vit", "attention", "cnn"))
def vit_tiny(d: Draw) -> Spec:
    """Vision transformer: conv patchify, class token, position embedding, one pre-LN block, head on the class token."""
    cin = d.integer("in_channels", 1, 3)
    patch = d.choice("patch", (2, 4))
    size = patch * d.integer("patches_per_side", 2, 4)
    heads = d.choice("heads", (1, 2, 4))
    dim = heads * d.integer("head_dim", 2, 8)
    classes = d.integer("classes", 2, 10)
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.ViT(cin, size, patch, dim, heads, classes)))
    x = d.tensor("x", (d.integer("batch", 1, 2), cin, size, size))
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, min_opset=9, tags=("transformer", "gpt2", "attention", "causal"))
def gpt2_block(d: Draw) -> Spec:
    """GPT-2 block: pre-LN, fused qkv, causal attention written out (masked_fill -inf), tanh-GELU MLP."""
    dtype = d.dtype(HALF_TOO)
    heads = d.choice("heads", (1, 2, 4))
    dim = heads * d.integer("head_dim", 2, 8)
    seq = d.integer("seq", 1, 8)
    model = _to(seeded(d.weights_seed(), lambda: B.randomize_norms(B.GPT2Block(dim, heads, 8))), dtype)
    x = d.tensor("x", (d.integer("batch", 1, 2), seq, dim), dtype)
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, min_opset=9, tags=("transformer", "bert", "attention", "embedding"))
def bert_embeddings_layer(d: Draw) -> Spec:
    """BERT: token + position + segment embeddings, LayerNorm (eps 1e-12), one post-LN encoder layer
    with the Hugging Face additive padding mask (finfo.min), and the tanh pooler on [CLS]."""
    vocab = d.integer("vocab", 8, 32)
    heads = d.choice("heads", (1, 2, 4))
    dim = heads * d.integer("head_dim", 2, 8)
    ff = d.integer("ff", 8, 32)
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.BertEmbeddingsLayer(vocab, 8, dim, heads, ff)))
    batch, seq = d.integer("batch", 1, 3), d.integer("seq", 1, 8)
    ids = d.tensor("ids", (batch, seq), "int64", low=0, high=vocab - 1, special=False)
    segments = d.tensor("segments", (batch, seq), "int64", low=0, high=1, special=False)
    lengths = d.tensor("lengths", (batch,), "int64", low=1, high=seq, special=False)
    return Spec(model, (ids, segments, _lengths_mask(lengths, seq)))


@case("model", op_class=OpClass.MATMUL, min_opset=14, tags=("transformer", "llama", "attention", "causal", "rotary"))
def llama_block(d: Draw) -> Spec:
    """LLaMA decoder layer: RMSNorm, rotary position embedding on q and k, grouped-query causal
    scaled_dot_product_attention, RMSNorm, SwiGLU feed-forward; no biases."""
    kv_heads = d.choice("kv_heads", (1, 2))
    heads = kv_heads * d.choice("group", (1, 2))
    dim = heads * 2 * d.integer("half_head_dim", 1, 4)
    ff = d.integer("ff", 8, 32)
    base = d.choice("rope_base", (10000.0, 500000.0))
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.LlamaBlock(dim, heads, kv_heads, ff, base)))
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("seq", 1, 8), dim))
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, tags=("conformer", "audio", "depthwise", "glu"))
def conformer_conv_module(d: Draw) -> Spec:
    """Conformer convolution module: LayerNorm, pointwise conv, GLU, depthwise conv, BatchNorm, swish, pointwise, residual."""
    dim = d.integer("dim", 4, 16)
    kernel = d.choice("kernel", (3, 5, 7))
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.ConformerConv(dim, kernel)))
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("time", 3, 12), dim))
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, min_opset=11, tags=("cnn", "detection", "fpn", "multi-output"))
def detection_head(d: Draw) -> Spec:
    """RetinaNet/FCOS-style detector: backbone, FPN (lateral, top-down nearest upsample, smooth), a shared
    conv tower with GroupNorm, and three outputs: boxes, class logits and centerness for every anchor."""
    cin = d.integer("in_channels", 1, 3)
    width = d.integer("width", 4, 8)
    fpn = 2 * d.integer("half_fpn", 2, 4)
    anchors = d.integer("anchors", 1, 3)
    classes = d.integer("classes", 1, 5)
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.DetectionHead(cin, width, fpn, anchors, classes)))
    size = 4 * d.integer("quarter_size", 2, 4)
    x = d.tensor("x", (d.integer("batch", 1, 2), cin, size, size))
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, min_opset=12, tags=("moe", "topk", "routing", "multi-output"))
def moe_topk_gate(d: Draw) -> Spec:
    """Mixture of experts: softmax router, top-k experts per token (the chosen indices are an int64 output,
    compared exactly), optionally renormalized gates, SiLU expert MLPs gathered and mixed."""
    dim = d.integer("dim", 4, 16)
    experts = d.integer("experts", 2, 8)
    k = d.integer("k", 1, min(2, experts))
    ff = d.integer("ff", 4, 16)
    renormalize = d.boolean("renormalize")
    model = seeded(d.weights_seed(), lambda: B.MoE(dim, experts, k, ff, renormalize))
    x = d.tensor("x", (d.integer("batch", 1, 2), d.integer("seq", 1, 6), dim))
    return Spec(model, (x,))


@case("model", op_class=OpClass.MATMUL, tags=("recommender", "dlrm", "embedding"))
def dlrm(d: Draw) -> Spec:
    """DLRM recommender: bottom MLP, embedding tables, pairwise dot-product interaction, top MLP."""
    dense = d.integer("dense_features", 2, 8)
    tables = d.integer("tables", 1, 4)
    vocab = d.integer("vocab", 4, 16)
    dim = d.integer("dim", 2, 8)
    model = seeded(d.weights_seed(), lambda: B.DLRM(dense, tables, vocab, dim))
    batch = d.integer("batch", 1, 4)
    x = d.tensor("dense", (batch, dense))
    ids = d.tensor("sparse", (batch, tables), "int64", low=0, high=vocab - 1, special=False)
    return Spec(model, (x, ids))


# ---------------------------------------------------------------- dynamic shapes


def _trace_size(d: Draw, label: str, judged: int, low: int, high: int) -> int:
    """A trace size other than the judged one, at least 2 so no exporter specializes it as 0 or 1."""
    options = [n for n in range(max(2, low), high + 1) if n != judged]
    return int(d.choice(label, options))


@case("model", op_class=OpClass.MATMUL, tags=("cnn", "dynamic"))
def cnn_classifier_dynamic(d: Draw) -> Spec:
    """Conv-BN-ReLU classifier with global average pool and flatten, exported with a dynamic batch
    (and optionally dynamic height and width), traced at one size and judged at another."""
    cin = d.integer("in_channels", 1, 3)
    width = d.integer("width", 2, 8)
    classes = d.integer("classes", 2, 6)
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.CNNClassifier(cin, width, classes)))
    batch = d.integer("batch", 1, 4)
    size = d.integer("size", 8, 12)
    spatial = d.boolean("dynamic_spatial")
    trace_batch = _trace_size(d, "trace_batch", batch, 2, 4)
    trace_size = _trace_size(d, "trace_size", size, 8, 12) if spatial else size
    x = d.tensor("x", (batch, cin, size, size))
    x_trace = d.tensor("x_trace", (trace_batch, cin, trace_size, trace_size))
    axes = {0: "batch", 2: "height", 3: "width"} if spatial else {0: "batch"}
    return Spec(model, (x,), dynamic_axes=(axes,), export_inputs=(x_trace,))


@case("model", op_class=OpClass.MATMUL, min_opset=9, tags=("rnn", "lstm", "dynamic"))
def lstm_dynamic(d: Draw) -> Spec:
    """One-layer LSTM exported with dynamic batch and sequence length, traced at other sizes than judged.

    torch.export specializes an LSTM's time axis unless torch.onnx's while_loop
    decomposition is in effect; in torch 2.13 that patch only takes hold on the
    first dynamic export of an LSTM per process (stale OpOverload dispatch
    cache), after which torch.onnx quietly applies export's suggested fix
    (seq = traced length) and declares the axis static.
    """
    inp = d.integer("input_size", 2, 16)
    hidden = d.integer("hidden_size", 2, 16)
    bidirectional = d.boolean("bidirectional")
    model = seeded(d.weights_seed(), lambda: B.RNN("lstm", inp, hidden, 1, bidirectional, False))
    batch, seq = d.integer("batch", 1, 3), d.integer("seq", 1, 8)
    trace_batch = _trace_size(d, "trace_batch", batch, 2, 3)
    trace_seq = _trace_size(d, "trace_seq", seq, 2, 8)
    x = d.tensor("x", (batch, seq, inp))
    x_trace = d.tensor("x_trace", (trace_batch, trace_seq, inp))
    return Spec(model, (x,), dynamic_axes=({0: "batch", 1: "seq"},), export_inputs=(x_trace,))


@case("model", op_class=OpClass.MATMUL, min_opset=10, tags=("transformer", "gpt2", "attention", "causal", "dynamic"))
def gpt2_block_dynamic(d: Draw) -> Spec:
    """GPT-2 block with dynamic batch and sequence length: the causal mask is sliced from a buffer by
    the runtime length, so a graph that froze the traced length gives the wrong shape or values."""
    heads = d.choice("heads", (1, 2, 4))
    dim = heads * d.integer("head_dim", 2, 8)
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.GPT2Block(dim, heads, 8)))
    batch, seq = d.integer("batch", 1, 3), d.integer("seq", 1, 8)
    trace_batch = _trace_size(d, "trace_batch", batch, 2, 3)
    trace_seq = _trace_size(d, "trace_seq", seq, 2, 7)
    x = d.tensor("x", (batch, seq, dim))
    x_trace = d.tensor("x_trace", (trace_batch, trace_seq, dim))
    return Spec(model, (x,), dynamic_axes=({0: "batch", 1: "seq"},), export_inputs=(x_trace,))


@case("model", op_class=OpClass.MATMUL, min_opset=9, tags=("transformer", "bert", "attention", "embedding", "dynamic"))
def bert_embeddings_layer_dynamic(d: Draw) -> Spec:
    """The BERT embeddings + encoder layer with dynamic batch and sequence on all three int64 inputs:
    the position ids come from arange(seq) at run time."""
    vocab = d.integer("vocab", 8, 32)
    heads = d.choice("heads", (1, 2))
    dim = heads * d.integer("head_dim", 2, 8)
    model = seeded(d.weights_seed(), lambda: B.randomize_norms(B.BertEmbeddingsLayer(vocab, 8, dim, heads, 2 * dim)))
    batch, seq = d.integer("batch", 1, 3), d.integer("seq", 1, 8)
    trace_batch = _trace_size(d, "trace_batch", batch, 2, 3)
    trace_seq = _trace_size(d, "trace_seq", seq, 2, 7)

    def inputs(prefix: str, b: int, s: int) -> tuple[np.ndarray, ...]:
        ids = d.tensor(f"{prefix}ids", (b, s), "int64", low=0, high=vocab - 1, special=False)
        segments = d.tensor(f"{prefix}segments", (b, s), "int64", low=0, high=1, special=False)
        lengths = d.tensor(f"{prefix}lengths", (b,), "int64", low=1, high=s, special=False)
        return ids, segments, _lengths_mask(lengths, s)

    axes = {0: "batch", 1: "seq"}
    return Spec(
        model,
        inputs("", batch, seq),
        dynamic_axes=(axes, axes, axes),
        export_inputs=inputs("trace_", trace_batch, trace_seq),
    )
