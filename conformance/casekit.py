"""What a case needs besides a draw, for the built-in pack and third-party packs alike.

`Fn` wraps a torch function as an exportable module; `seeded` builds a
module whose weights depend on a seed only. A pack imports these from here
(not from the built-in pack's private modules); their source is part of the
source hash of every case module that uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .model import Unspecified


class Fn(torch.nn.Module):
    """Wraps a torch function with fixed keyword arguments as an exportable module."""

    def __init__(self, fn: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__()
        self.fn = fn
        self.kwargs = kwargs

    def forward(self, *args: torch.Tensor) -> Any:
        return self.fn(*args, **self.kwargs)


def seeded(seed: int, factory: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """Build a module whose initial weights depend on `seed` only, not on global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = factory()
    return module.eval()


#: For ops whose zero results' sign ONNX leaves open, with the note that says so.
ZERO_SIGN = (Unspecified.SIGNED_ZERO,)
ZERO_SIGN_NOTE = " The sign of a zero result is left open by ONNX."
