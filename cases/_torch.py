"""Small torch helpers shared by the case modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


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
