"""tract: Sonos' Rust inference engine, through its Python wheel.

The model is loaded the way tract's own documentation does it
(`onnx().load(path).into_model().into_runnable()`): analysed with the shapes
and types the ONNX graph declares, typed, and optimized by tract's default
runtime. tract writes no cache.

tract's errors end in a Rust backtrace with build paths; only the message
before "Stack backtrace:" is kept, so findings cluster on what tract said.
An operator tract has no translation for (`Unimplemented(Op)`) and a datum
type it does not know (bfloat16) are `unsupported`, not failures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Availability, Unsupported
from .onnx_backend import as_declared_all, declared_output_dtypes, distribution_version

_UNSUPPORTED = re.compile(r"Unimplemented\(|Unknown DatumType|not implemented", re.IGNORECASE)


def condense(message: str) -> str:
    """tract's message without its Rust backtrace."""
    head = message.split("Stack backtrace:", 1)[0]
    lines = [line.rstrip() for line in head.splitlines() if line.strip()]
    return "\n".join(lines) or message


class Tract:
    name = "tract"

    def version(self) -> str:
        return distribution_version("tract")

    def available(self) -> Availability:
        try:
            import tract  # noqa: F401
        except ImportError as exc:
            return Availability(False, f"tract is not installed ({exc}); pip install 'onnx-conformance[tract]'")
        except OSError as exc:  # the wheel's native library does not load on this platform
            return Availability(False, f"tract's native library does not load: {exc}")
        return Availability(True)

    def metadata(self) -> dict[str, str]:
        return {"pipeline": "onnx().load().into_model().into_runnable()"}

    def prepare(self, model_path: Path) -> Any:
        import onnx
        import tract

        try:
            runnable = tract.onnx().load(str(model_path)).into_model().into_runnable()
        except tract.TractError as exc:
            message = condense(str(exc))
            if _UNSUPPORTED.search(message):
                raise Unsupported(f"tract: {message}") from exc
            raise RuntimeError(f"tract: {message}") from exc
        return runnable, declared_output_dtypes(onnx.load(str(model_path), load_external_data=False))

    def run(self, session: Any, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        import tract

        runnable, dtypes = session
        try:
            result = runnable.run([np.asarray(x, order="C") for x in inputs])  # ascontiguousarray makes 0-d 1-d
            return as_declared_all([_to_numpy(tract, t) for t in result], dtypes)
        except tract.TractError as exc:
            raise RuntimeError(f"tract: {condense(str(exc))}") from exc


def _to_numpy(tract: Any, tensor: Any) -> np.ndarray:
    """A tract tensor as NumPy; shape arithmetic comes back as TDim, which only converts to integers first.

    TDim is tract's symbolic dimension type, what it computes `Shape` and
    friends in; the graph declares int64 there, so the value is read as int64
    (a representation difference, like IREE's signless integers).
    """
    try:
        return np.array(tensor.to_numpy(), copy=True)
    except tract.TractError as exc:
        if "TDim" not in str(exc):
            raise
        return np.array(tensor.convert_to(tract.DatumType.I64).to_numpy(), copy=True)
