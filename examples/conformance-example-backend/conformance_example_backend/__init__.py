"""An example vendor backend: onnxruntime with only its basic graph optimizations.

A backend is a class with `name`, `version()`, `available()`, `prepare(path)`
and `run(session, inputs)` (the `Backend` protocol in conformance.model).
Raise `conformance.model.Unsupported` when the backend itself says it cannot
run a model; any other exception is recorded as load-fail or run-error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from conformance.model import Availability, Unsupported


class BasicOnnxRuntime:
    name = "example-ort-basic"

    def version(self) -> str:
        import onnxruntime

        return f"{onnxruntime.__version__}+basic"

    def available(self) -> Availability:
        try:
            import onnxruntime  # noqa: F401
        except ImportError as exc:
            return Availability(False, f"onnxruntime is not installed: {exc}")
        return Availability(True)

    def prepare(self, model_path: Path) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.log_severity_level = 3
        try:
            return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            if type(exc).__name__ == "NotImplemented":
                raise Unsupported(str(exc)) from exc
            raise

    def run(self, session: Any, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        names = [i.name for i in session.get_inputs()]
        return session.run(None, dict(zip(names, inputs, strict=True)))
