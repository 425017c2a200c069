"""Small, faithful re-implementations of real architectures for the model cases.

Each class follows the published design (torchvision, timm, Hugging Face
transformers, the Conformer and RetinaNet papers) at toy sizes, so that its
exported graph has the same operator pattern as the full model. Nothing here is
downloaded; `seeded` builds every module with weights drawn from a seed.

Everything a forward pass creates (masks, positions, rotary tables) follows
the dtype of its input or lives in a buffer, so the float64 truth (the module
promoted with `.to(torch.float64)`) computes the same function in more bits.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}


def randomize_norms(module: nn.Module) -> nn.Module:
    """Give every normalization layer non-trivial affine weights and running statistics.

    Freshly built BatchNorm has mean 0 and variance 1, which makes it an
    identity in eval mode and hides every mistake an exporter could make with
    it. Called inside `seeded`, so the values depend on the seed only.
    """
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)) and m.weight is not None:
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
        if isinstance(m, RMSNorm):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
    return module


# ---------------------------------------------------------------- plain and convolutional


class MLP(nn.Module):
    """Linear layers with an activation between them, none after the last."""

    def __init__(self, sizes: list[int], activation: str) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    )


class BasicBlock(nn.Module):
    """torchvision's ResNet-18/34 block: two 3x3 conv-BN, a projection shortcut when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = conv_bn(cin, cout, 3, stride)
        self.conv2 = conv_bn(cout, cout, 3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.conv1(x))
        out = self.conv2(out)
        return self.relu(out + self.downsample(x))


class Bottleneck(nn.Module):
    """torchvision's ResNet-50 block: 1x1 reduce, 3x3 (strided), 1x1 expand by 4."""

    expansion = 4

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = conv_bn(cin, width, 1)
        self.conv2 = conv_bn(width, width, 3, stride)
        self.conv3 = conv_bn(width, cout, 1)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.conv1(x))
        out = self.relu(self.conv2(out))
        out = self.conv3(out)
        return self.relu(out + self.downsample(x))


class InvertedResidual(nn.Module):
    """MobileNetV2: 1x1 expand + ReLU6, 3x3 depthwise + ReLU6, linear 1x1 projection, residual if shapes allow."""

    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = cin * expand_ratio
        self.use_residual = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers += [conv_bn(cin, hidden, 1), nn.ReLU6(inplace=True)]
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden), nn.ReLU6(inplace=True), conv_bn(hidden, cout, 1)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


class SqueezeExcitation(nn.Module):
    """Global average pool, bottleneck 1x1 convs, sigmoid gate multiplied back onto the channels."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.expand = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        s = torch.sigmoid(self.expand(F.silu(self.reduce(s))))
        return x * s


class MBConv(nn.Module):
    """EfficientNet block: expand, depthwise kxk, squeeze-excitation, project; SiLU throughout."""

    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: int, kernel: int) -> None:
        super().__init__()
        hidden = cin * expand_ratio
        self.use_residual = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers += [conv_bn(cin, hidden, 1), nn.SiLU()]
        layers += [
            conv_bn(hidden, hidden, kernel, stride, groups=hidden),
            nn.SiLU(),
            SqueezeExcitation(hidden, max(1, cin // 4)),
            conv_bn(hidden, cout, 1),
        ]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.use_residual else out


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(conv_bn(cin, cout, 3), nn.ReLU(inplace=True), conv_bn(cout, cout, 3), nn.ReLU(inplace=True))


class TinyUNet(nn.Module):
    """Two-level UNet: encoder, max-pool, bottom, upsample, concatenated skip, decoder, 1x1 head."""

    def __init__(self, cin: int, base: int, classes: int, upsample: str) -> None:
        super().__init__()
        self.enc = DoubleConv(cin, base)
        self.bottom = DoubleConv(base, 2 * base)
        self.upsample = upsample
        if upsample == "transpose":
            self.up = nn.ConvTranspose2d(2 * base, base, 2, stride=2)
        else:
            self.up = nn.Conv2d(2 * base, base, 1)
        self.dec = DoubleConv(2 * base, base)
        self.head = nn.Conv2d(base, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.enc(x)
        low = self.bottom(F.max_pool2d(skip, 2))
        if self.upsample == "transpose":
            up = self.up(low)
        elif self.upsample == "bilinear":
            up = self.up(F.interpolate(low, scale_factor=2, mode="bilinear", align_corners=False))
        else:
            up = self.up(F.interpolate(low, scale_factor=2, mode="nearest"))
        return self.head(self.dec(torch.cat([up, skip], dim=1)))


class DenseBlock(nn.Module):
    """DenseNet: each BN-ReLU-conv layer sees the concatenation of every earlier feature map."""

    def __init__(self, cin: int, growth: int, layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(
                nn.BatchNorm2d(cin + i * growth),
                nn.ReLU(),
                nn.Conv2d(cin + i * growth, growth, 3, padding=1, bias=False),
            )
            for i in range(layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)


class LeNet(nn.Module):
    """LeNet-5 shape: conv-tanh-avgpool twice (or relu-maxpool), flatten, three linear layers."""

    def __init__(self, cin: int, size: int, classes: int, modern: bool) -> None:
        super().__init__()
        self.modern = modern
        self.conv1 = nn.Conv2d(cin, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1)
        flat = 8 * (size // 4) * (size // 4)
        self.fc = MLP([flat, 24, 16, classes], "relu" if modern else "tanh")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = F.relu if self.modern else torch.tanh
        pool = F.max_pool2d if self.modern else F.avg_pool2d
        x = pool(act(self.conv1(x)), 2)
        x = pool(act(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


class CNNClassifier(nn.Module):
    """A stem, two strided conv-BN-ReLU stages, global average pool, flatten, linear: any input size."""

    def __init__(self, cin: int, width: int, classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(cin, width, 3),
            nn.ReLU(),
            conv_bn(width, 2 * width, 3, 2),
            nn.ReLU(),
            conv_bn(2 * width, 2 * width, 3, 2),
            nn.ReLU(),
        )
        self.fc = nn.Linear(2 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.fc(torch.flatten(x, 1))


class WaveNetBlock(nn.Module):
    """WaveNet/TCN: stacked dilated causal conv1d, gated tanh*sigmoid, residual and skip 1x1 convs."""

    def __init__(self, channels: int, kernel: int, dilations: list[int]) -> None:
        super().__init__()
        self.kernel = kernel
        self.dilations = dilations
        self.filters = nn.ModuleList(nn.Conv1d(channels, 2 * channels, kernel, dilation=d) for d in dilations)
        self.residual = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)
        self.skip = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = torch.zeros_like(x)
        for dilation, filt, res, skip in zip(self.dilations, self.filters, self.residual, self.skip, strict=True):
            h = filt(F.pad(x, ((self.kernel - 1) * dilation, 0)))  # left padding only: causal
            a, b = h.chunk(2, dim=1)
            h = torch.tanh(a) * torch.sigmoid(b)
            x = x + res(h)
            skips = skips + skip(h)
        return F.relu(skips)


# ---------------------------------------------------------------- recurrent


class RNN(nn.Module):
    """nn.LSTM, nn.GRU or nn.RNN (`rnn_tanh`, `rnn_relu`), optionally fed an initial state; returns the output
    and the final state(s).

    `batch_first`, `bias` and LSTM's `proj_size` change the exported graph (a Transpose around the ONNX
    RNN op or its `layout`, an absent `B` input, a projection matmul after each step), so cases draw them.
    """

    def __init__(
        self,
        kind: str,
        inp: int,
        hidden: int,
        layers: int,
        bidirectional: bool,
        with_state: bool,
        *,
        batch_first: bool = True,
        bias: bool = True,
        proj_size: int = 0,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.with_state = with_state
        common = dict(num_layers=layers, batch_first=batch_first, bidirectional=bidirectional, bias=bias)
        if kind == "lstm":
            self.rnn: nn.Module = nn.LSTM(inp, hidden, proj_size=proj_size, **common)
        elif kind == "gru":
            self.rnn = nn.GRU(inp, hidden, **common)
        else:
            self.rnn = nn.RNN(inp, hidden, nonlinearity=kind.removeprefix("rnn_"), **common)

    def forward(self, x: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.kind == "lstm":
            out, (h, c) = self.rnn(x, (state[0], state[1]) if self.with_state else None)
            return out, h, c
        out, h = self.rnn(x, state[0] if self.with_state else None)
        return out, h


# ---------------------------------------------------------------- attention


class EncoderLayer(nn.Module):
    """nn.TransformerEncoderLayer in eval mode (which may take PyTorch's fused fast path)."""

    def __init__(self, dim: int, heads: int, ff: int, activation: str, norm_first: bool) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(
            dim, heads, ff, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class DecoderLayer(nn.Module):
    """nn.TransformerDecoderLayer: causal self-attention over the target, cross-attention to the memory."""

    def __init__(self, dim: int, heads: int, ff: int, seq: int, norm_first: bool) -> None:
        super().__init__()
        self.layer = nn.TransformerDecoderLayer(dim, heads, ff, dropout=0.0, batch_first=True, norm_first=norm_first)
        # Boolean, True above the diagonal = may not attend; a bool buffer keeps its dtype under .to(float64).
        self.register_buffer("causal", torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1))

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        return self.layer(tgt, memory, tgt_mask=self.causal, tgt_is_causal=True)


class MHA(nn.Module):
    """nn.MultiheadAttention, self or cross, with a key padding mask built from per-sequence lengths."""

    def __init__(
        self, dim: int, heads: int, kdim: int, need_weights: bool, average: bool, bias_kv: bool, zero_attn: bool
    ) -> None:
        super().__init__()
        self.need_weights = need_weights
        self.average = average
        self.attn = nn.MultiheadAttention(
            dim, heads, batch_first=True, kdim=kdim, vdim=kdim, add_bias_kv=bias_kv, add_zero_attn=zero_attn
        )

    def forward(self, q: torch.Tensor, kv: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, ...]:
        positions = torch.arange(kv.shape[1], device=kv.device)
        padding = positions[None, :] >= lengths[:, None]  # True = padding, ignored
        out, weights = self.attn(
            q, kv, kv, key_padding_mask=padding, need_weights=self.need_weights, average_attn_weights=self.average
        )
        return (out, weights) if self.need_weights else (out,)


class SelfAttentionMLPBlock(nn.Module):
    """Pre-LN transformer block (ViT): x + MHA(LN(x)), then x + MLP(LN(x)) with exact GELU."""

    def __init__(self, dim: int, heads: int, ff: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, ff), nn.GELU(), nn.Linear(ff, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """Vision transformer: conv patchify, class token, learned position embedding, one block, head on the class token."""

    def __init__(self, cin: int, size: int, patch: int, dim: int, heads: int, classes: int) -> None:
        super().__init__()
        n = (size // patch) ** 2
        self.patchify = nn.Conv2d(cin, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.5)
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, dim) * 0.5)
        self.block = SelfAttentionMLPBlock(dim, heads, 2 * dim)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patchify(x).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], dim=1) + self.pos_embed
        tokens = self.norm(self.block(tokens))
        return self.head(tokens[:, 0])


class GPT2Block(nn.Module):
    """Hugging Face GPT-2 block: pre-LN, fused qkv projection, causal attention written out, tanh-GELU MLP."""

    def __init__(self, dim: int, heads: int, max_len: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(dim)
        self.c_attn = nn.Linear(dim, 3 * dim)
        self.c_proj = nn.Linear(dim, dim)
        self.ln_2 = nn.LayerNorm(dim)
        self.c_fc = nn.Linear(dim, 4 * dim)
        self.mlp_proj = nn.Linear(4 * dim, dim)
        self.register_buffer("bias", torch.tril(torch.ones(max_len, max_len, dtype=torch.bool)))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        b, s, dim = x.shape
        hd = dim // self.heads
        q, k, v = self.c_attn(x).split(dim, dim=2)
        q, k, v = (t.view(b, s, self.heads, hd).transpose(1, 2) for t in (q, k, v))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        scores = scores.masked_fill(~self.bias[:s, :s], float("-inf"))
        y = torch.matmul(torch.softmax(scores, dim=-1), v)
        return self.c_proj(y.transpose(1, 2).reshape(b, s, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class BertEmbeddingsLayer(nn.Module):
    """BERT: token + position + segment embeddings, LayerNorm, one post-LN encoder layer, tanh pooler."""

    def __init__(self, vocab: int, max_len: int, dim: int, heads: int, ff: int) -> None:
        super().__init__()
        self.heads = heads
        self.word = nn.Embedding(vocab, dim)
        self.position = nn.Embedding(max_len, dim)
        self.segment = nn.Embedding(2, dim)
        self.emb_norm = nn.LayerNorm(dim, eps=1e-12)
        self.qkv = nn.ModuleList(nn.Linear(dim, dim) for _ in range(3))
        self.attn_out = nn.Linear(dim, dim)
        self.attn_norm = nn.LayerNorm(dim, eps=1e-12)
        self.inter = nn.Linear(dim, ff)
        self.out = nn.Linear(ff, dim)
        self.out_norm = nn.LayerNorm(dim, eps=1e-12)
        self.pooler = nn.Linear(dim, dim)

    def forward(
        self, ids: torch.Tensor, segments: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b, s = ids.shape
        positions = torch.arange(s, device=ids.device)
        x = self.emb_norm(self.word(ids) + self.position(positions)[None] + self.segment(segments))
        dim = x.shape[-1]
        hd = dim // self.heads
        q, k, v = (lin(x).view(b, s, self.heads, hd).transpose(1, 2) for lin in self.qkv)
        # The Hugging Face extended mask: 0 where attended, the dtype's lowest value where padded.
        extended = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + extended
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, s, dim)
        x = self.attn_norm(x + self.attn_out(ctx))
        x = self.out_norm(x + self.out(F.gelu(self.inter(x))))
        return x, torch.tanh(self.pooler(x[:, 0]))


class RMSNorm(nn.Module):
    """LLaMA's RMSNorm: x / sqrt(mean(x^2) + eps) * weight, no mean subtraction, no bias."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=-1)
    return torch.cat([-b, a], dim=-1)


class LlamaBlock(nn.Module):
    """LLaMA decoder layer: RMSNorm, rotary q/k, grouped-query causal SDPA, RMSNorm, SwiGLU MLP."""

    def __init__(self, dim: int, heads: int, kv_heads: int, ff: int, base: float) -> None:
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, dim // heads
        self.input_norm = RMSNorm(dim)
        self.q_proj = nn.Linear(dim, heads * self.hd, bias=False)
        self.k_proj = nn.Linear(dim, kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(dim, kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(heads * self.hd, dim, bias=False)
        self.post_norm = RMSNorm(dim)
        self.gate_proj = nn.Linear(dim, ff, bias=False)
        self.up_proj = nn.Linear(dim, ff, bias=False)
        self.down_proj = nn.Linear(ff, dim, bias=False)
        inv_freq = 1.0 / (base ** (torch.arange(0, self.hd, 2, dtype=torch.float64) / self.hd))
        self.register_buffer("inv_freq", inv_freq.float())

    def rotary(self, s: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        positions = torch.arange(s, device=like.device, dtype=self.inv_freq.dtype)
        freqs = positions[:, None] * self.inv_freq[None, :]
        emb = torch.cat([freqs, freqs], dim=-1)
        return emb.cos().to(like.dtype), emb.sin().to(like.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        h = self.input_norm(x)
        q = self.q_proj(h).view(b, s, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
        cos, sin = self.rotary(s, x)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = self.heads // self.kv_heads
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o_proj(y.transpose(1, 2).reshape(b, s, self.heads * self.hd))
        h = self.post_norm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class ConformerConv(nn.Module):
    """Conformer convolution module: LN, pointwise conv to 2C, GLU, depthwise conv, BatchNorm, swish, pointwise, residual."""

    def __init__(self, dim: int, kernel: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.pointwise1 = nn.Conv1d(dim, 2 * dim, 1)
        self.depthwise = nn.Conv1d(dim, dim, kernel, padding=(kernel - 1) // 2, groups=dim)
        self.bn = nn.BatchNorm1d(dim)
        self.pointwise2 = nn.Conv1d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x).transpose(1, 2)
        h = F.glu(self.pointwise1(h), dim=1)
        h = F.silu(self.bn(self.depthwise(h)))
        return x + self.pointwise2(h).transpose(1, 2)


class DetectionHead(nn.Module):
    """RetinaNet/FCOS-style: a two-stage backbone, an FPN (lateral 1x1, top-down upsample-add, 3x3 smooth),
    a head shared across levels producing box regression, class logits and centerness per anchor."""

    def __init__(self, cin: int, width: int, fpn: int, anchors: int, classes: int) -> None:
        super().__init__()
        self.anchors, self.classes = anchors, classes
        self.c3 = nn.Sequential(conv_bn(cin, width, 3, 2), nn.ReLU())
        self.c4 = nn.Sequential(conv_bn(width, 2 * width, 3, 2), nn.ReLU())
        self.lat3 = nn.Conv2d(width, fpn, 1)
        self.lat4 = nn.Conv2d(2 * width, fpn, 1)
        self.smooth3 = nn.Conv2d(fpn, fpn, 3, padding=1)
        self.smooth4 = nn.Conv2d(fpn, fpn, 3, padding=1)
        self.tower = nn.Sequential(nn.Conv2d(fpn, fpn, 3, padding=1), nn.GroupNorm(2, fpn), nn.ReLU())
        self.box = nn.Conv2d(fpn, anchors * 4, 3, padding=1)
        self.cls = nn.Conv2d(fpn, anchors * classes, 3, padding=1)
        self.centerness = nn.Conv2d(fpn, anchors, 3, padding=1)

    def flat(self, t: torch.Tensor, k: int) -> torch.Tensor:
        b = t.shape[0]
        return t.permute(0, 2, 3, 1).reshape(b, -1, k)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c3 = self.c3(x)
        c4 = self.c4(c3)
        p4 = self.lat4(c4)
        p3 = self.lat3(c3) + F.interpolate(p4, size=c3.shape[-2:], mode="nearest")
        boxes, logits, center = [], [], []
        for p in (self.smooth3(p3), self.smooth4(p4)):
            t = self.tower(p)
            boxes.append(self.flat(F.relu(self.box(t)), 4))
            logits.append(self.flat(self.cls(t), self.classes))
            center.append(self.flat(torch.sigmoid(self.centerness(t)), 1))
        return torch.cat(boxes, 1), torch.cat(logits, 1), torch.cat(center, 1)


class MoE(nn.Module):
    """Mixture of experts (Switch/Mixtral style): softmax router, top-k experts per token, renormalized gates.

    Every expert runs on every token and the chosen ones are gathered: that is
    what exports to a static graph; the router's choices are an output too.
    """

    def __init__(self, dim: int, experts: int, k: int, ff: int, renormalize: bool) -> None:
        super().__init__()
        self.k, self.renormalize = k, renormalize
        self.router = nn.Linear(dim, experts, bias=False)
        self.w1 = nn.Parameter(torch.randn(experts, dim, ff) / math.sqrt(dim))
        self.w2 = nn.Parameter(torch.randn(experts, ff, dim) / math.sqrt(ff))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, s, dim = x.shape
        tokens = x.reshape(b * s, dim)
        probs = torch.softmax(self.router(tokens), dim=-1)
        gates, chosen = torch.topk(probs, self.k, dim=-1)
        if self.renormalize:
            gates = gates / gates.sum(-1, keepdim=True)
        hidden = F.silu(torch.einsum("td,edf->tef", tokens, self.w1))
        every = torch.einsum("tef,efd->ted", hidden, self.w2)  # (tokens, experts, dim)
        picked = torch.gather(every, 1, chosen[:, :, None].expand(-1, -1, dim))
        y = (gates[:, :, None] * picked).sum(1)
        return y.reshape(b, s, dim), chosen.reshape(b, s, self.k), gates.reshape(b, s, self.k)


class DLRM(nn.Module):
    """DLRM recommender: bottom MLP on dense features, embedding lookups on sparse ids,
    pairwise dot-product interaction (upper triangle), top MLP to a click logit."""

    def __init__(self, dense: int, tables: int, vocab: int, dim: int) -> None:
        super().__init__()
        self.bottom = MLP([dense, 16, dim], "relu")
        self.embeddings = nn.ModuleList(nn.Embedding(vocab, dim) for _ in range(tables))
        n = tables + 1
        rows, cols = torch.triu_indices(n, n, offset=1)
        self.register_buffer("rows", rows)
        self.register_buffer("cols", cols)
        self.top = MLP([dim + n * (n - 1) // 2, 16, 1], "relu")

    def forward(self, dense: torch.Tensor, sparse: torch.Tensor) -> torch.Tensor:
        d = F.relu(self.bottom(dense))
        feats = torch.stack([d] + [emb(sparse[:, i]) for i, emb in enumerate(self.embeddings)], dim=1)
        inter = torch.bmm(feats, feats.transpose(1, 2))[:, self.rows, self.cols]
        return self.top(torch.cat([d, inter], dim=1))
