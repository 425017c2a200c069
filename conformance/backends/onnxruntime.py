"""onnxruntime on the CPU, with all graph optimizations and with none.

Running both tells a fusion or rewrite bug apart from a kernel bug.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Availability, Unsupported
from .onnx_backend import says_not_implemented

_BFLOAT16 = "tensor(bfloat16)"


def _bfloat16_from_ortvalue(value: Any) -> np.ndarray:
    """onnxruntime cannot hand bfloat16 to NumPy; copy the raw 16-bit words out instead."""
    import ml_dtypes

    shape = tuple(value.shape())
    count = int(np.prod(shape, dtype=np.int64))
    if count == 0:
        return np.zeros(shape, dtype=ml_dtypes.bfloat16)
    words = (ctypes.c_uint16 * count).from_address(value.data_ptr())
    return np.frombuffer(words, dtype=np.uint16).copy().view(ml_dtypes.bfloat16).reshape(shape)


class OnnxRuntime:
    """CPUExecutionProvider, one intra-op thread so reductions are reproducible."""

    name = "onnxruntime"
    optimize = True

    def version(self) -> str:
        import onnxruntime

        return str(onnxruntime.__version__)

    def available(self) -> Availability:
        try:
            import onnxruntime
        except ImportError as exc:
            return Availability(
                False, f"onnxruntime is not installed ({exc}); pip install 'onnx-conformance[onnxruntime]'"
            )
        if "CPUExecutionProvider" not in onnxruntime.get_available_providers():
            return Availability(False, "onnxruntime has no CPUExecutionProvider")
        return Availability(True)

    def prepare(self, model_path: Path) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_ALL if self.optimize else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        )
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            if says_not_implemented(exc):
                raise Unsupported(str(exc)) from exc
            raise

    def run(self, session: Any, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        names = [i.name for i in session.get_inputs()]
        wide = any(x.dtype.name == "bfloat16" for x in inputs) or any(
            o.type == _BFLOAT16 for o in session.get_outputs()
        )
        if not wide:
            return session.run(None, dict(zip(names, inputs, strict=True)))
        import onnxruntime as ort
        from onnx import TensorProto

        feeds = {}
        for name, x in zip(names, inputs, strict=True):
            if x.dtype.name == "bfloat16":
                feeds[name] = ort.OrtValue.ortvalue_from_numpy_with_onnx_type(
                    np.asarray(x, order="C").view(np.uint16), TensorProto.BFLOAT16
                )
            else:
                feeds[name] = ort.OrtValue.ortvalue_from_numpy(np.asarray(x, order="C"))
        values = session.run_with_ort_values(None, feeds)
        return [_bfloat16_from_ortvalue(v) if v.data_type() == _BFLOAT16 else v.numpy() for v in values]


class OnnxRuntimeNoOpt(OnnxRuntime):
    """Graph optimizations disabled: each node runs as written."""

    name = "onnxruntime-noopt"
    optimize = False
