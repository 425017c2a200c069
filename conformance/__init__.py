"""Cross-framework conformance suite for ONNX backends."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "check_model"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `import conformance` (and the pytest plugin's registration) stays cheap.
    if name == "check_model":
        from .check import check_model

        return check_model
    raise AttributeError(name)
