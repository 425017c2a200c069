"""Attention where a query row has nothing to attend to: fully masked rows of scaled_dot_product_attention.

torch 2.13 answers 0 for a query whose every key is masked (a boolean mask all
False, or an additive mask all -inf), in float64 as in float32. A plain
composition (the exporters' MatMul, Add, Softmax below opset 23) computes
softmax of a row of -inf, which is NaN; ONNX's Attention op (opset 23) is
what each backend makes of it. A mask of the dtype's most negative finite
value instead leaves every key equally weighted, unless adding it to the
scores overflows to -inf (float16).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from conformance.casekit import ZERO_SIGN, ZERO_SIGN_NOTE, Fn
from conformance.generate import Draw, case
from conformance.model import OpClass, Spec

#: How a masked key is written: a False in a boolean mask, -inf added, or the dtype's most negative finite value.
MASKS = ("bool", "neg_inf", "finfo_min")


@case(
    "attention",
    op_class=OpClass.NORMALIZATION,
    unspecified=ZERO_SIGN,
    notes="scaled_dot_product_attention with query rows whose every key is masked (`rows`: the first, the last or "
    "all of them), the mask boolean, additive -inf or the dtype's most negative finite value, broadcast over "
    "batch and heads or not, with grouped-query attention or not. torch gives 0 for a fully masked row."
    + ZERO_SIGN_NOTE,
)
def sdpa_masked_rows(d: Draw) -> Spec:
    dtype = d.dtype(("float32", "float16", "float64"))
    kind = d.choice("mask", MASKS)
    rows = d.choice("rows", ("first", "last", "all"))
    gqa = d.boolean("enable_gqa")
    heads = 4 if gqa else d.integer("heads", 1, 3)
    kv_heads = 2 if gqa else heads
    lq, lk, e = d.integer("q_len", 1, 5), d.integer("kv_len", 1, 6), d.integer("dim", 1, 8)
    q = d.tensor("q", (1, heads, lq, e), dtype)
    k = d.tensor("k", (1, kv_heads, lk, e), dtype)
    v = d.tensor("v", (1, kv_heads, lk, e), dtype)
    per_head = d.boolean("mask_per_head")
    keep = d.tensor("keep", (1, heads, lq, lk) if per_head else (lq, lk), "bool")
    masked = {"first": [0], "last": [lq - 1], "all": list(range(lq))}[rows]
    keep[..., masked, :] = False
    if kind == "bool":
        mask = keep
    else:
        fill = -np.inf if kind == "neg_inf" else float(np.finfo(np.dtype(dtype)).min)
        mask = np.where(keep, np.zeros((), dtype), np.array(fill, dtype)).astype(dtype)

    def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m, enable_gqa=gqa)

    return Spec(Fn(attend), (q, k, v, mask))
