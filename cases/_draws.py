"""Draw helpers shared by case modules (a `_` module: part of the source hash of each case module using it)."""

from __future__ import annotations

import numpy as np

from conformance.generate import Draw


def int_divisor(d: Draw, label: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Integer divisors stay off 0: torch raises, and ONNX leaves it undefined.

    Plain draws also stay off -1, as they always have. In special mode the
    divisor holds every special integer, -1 among them, so INT_MIN meets -1:
    the one quotient that overflows, and traps x86's divide instruction.
    """
    b = d.tensor(label, shape, dtype, low=-9, high=9, special=None if d.special else False)
    off = (b == 0) if d.special else (b == 0) | (b == -1)
    return np.where(off, np.asarray(3, dtype=b.dtype), b).astype(b.dtype)
