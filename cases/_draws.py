"""Draw helpers shared by case modules (a `_` module: part of the source hash of each case module using it)."""

from __future__ import annotations

import numpy as np

from conformance.generate import Draw


def int_divisor(d: Draw, label: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Integer divisors stay off 0 (torch raises) and -1 (INT_MIN / -1 traps the CPU).

    Both are undefined behaviour in ONNX too; the dividend still gets every special value.
    """
    b = d.tensor(label, shape, dtype, low=-9, high=9, special=False)
    return np.where((b == 0) | (b == -1), np.asarray(3, dtype=b.dtype), b).astype(b.dtype)
