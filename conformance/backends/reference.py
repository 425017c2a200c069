"""The ONNX reference evaluator as a backend: the spec, run the way a backend is."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Availability
from ..oracle import reference_session, run_reference_session


class ReferenceBackend:
    name = "reference"

    def version(self) -> str:
        import onnx

        return str(onnx.__version__)

    def available(self) -> Availability:
        try:
            import onnx.reference  # noqa: F401
        except ImportError as exc:
            return Availability(False, f"onnx.reference cannot be imported: {exc}")
        return Availability(True)

    def prepare(self, model_path: Path) -> Any:
        import onnx

        return reference_session(onnx.load(str(model_path)))

    def run(self, session: Any, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        return run_reference_session(session, inputs)
