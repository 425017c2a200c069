"""OpenVINO on the CPU, forced to f32 inference precision.

Left to itself the CPU plugin may run f32 models in bf16 or f16 on hardware
that has them, which would make accuracy depend on the machine; the hint pins
it and the result metadata says so. No model cache is configured: OpenVINO
writes none unless CACHE_DIR is set, and reading ONNX directly is fast.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Availability, Unsupported
from .onnx_backend import as_declared_all, declared_output_dtypes, distribution_version

#: What OpenVINO says when it has no support for an op (frontend) or a layer (CPU plugin).
_UNSUPPORTED = re.compile(r"No conversion rule found for operations|Unsupported operation of type", re.IGNORECASE)


def _condense(message: str) -> str:
    """Drop OpenVINO's 'Exception from src/...' and 'Check ... failed at' trail lines."""
    lines = [
        line
        for line in message.splitlines()
        if line.strip() and not line.startswith("Exception from src/") and not line.startswith("Check '")
    ]
    return "\n".join(lines) or message


class OpenVINO:
    name = "openvino"
    device = "CPU"
    config = {"INFERENCE_PRECISION_HINT": "f32"}  # noqa: RUF012 - read only

    def __init__(self) -> None:
        self._core: Any = None

    def __getstate__(self) -> dict[str, Any]:
        """Backends travel to worker processes by pickle; the Core is made again there."""
        return {**self.__dict__, "_core": None}

    def version(self) -> str:
        return distribution_version("openvino")

    def available(self) -> Availability:
        try:
            import openvino as ov
        except ImportError as exc:
            return Availability(False, f"openvino is not installed ({exc}); pip install 'onnx-conformance[openvino]'")
        try:
            devices = ov.Core().available_devices
        except Exception as exc:
            return Availability(False, f"openvino cannot list its devices: {exc}")
        if self.device not in devices:
            return Availability(False, f"openvino has no {self.device} device (it has: {', '.join(devices) or 'none'})")
        return Availability(True)

    def notes(self) -> str:
        return ", ".join([self.device, *(f"{k}={v}" for k, v in self.config.items())])

    def metadata(self) -> dict[str, str]:
        return {"device": self.device, **self.config}

    def _get_core(self) -> Any:
        if self._core is None:
            import openvino as ov

            self._core = ov.Core()
        return self._core

    def prepare(self, model_path: Path) -> Any:
        import onnx

        try:
            compiled = self._get_core().compile_model(str(model_path), self.device, dict(self.config))
        except Exception as exc:
            message = _condense(str(exc))
            if _UNSUPPORTED.search(message):
                raise Unsupported(message) from exc
            raise RuntimeError(message) from exc
        return compiled, declared_output_dtypes(onnx.load(str(model_path), load_external_data=False))

    def run(self, session: Any, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        import openvino as ov

        compiled, dtypes = session
        request = compiled.create_infer_request()
        feeds = []
        for x in inputs:
            x = np.asarray(x, order="C")
            if x.dtype.name == "bfloat16":  # NumPy has no bf16 of its own: hand over the bits, typed
                tensor = ov.Tensor(ov.Type.bf16, x.shape)
                tensor.data[...] = x.view(np.float16)
                feeds.append(tensor)
            else:
                feeds.append(x)
        request.infer(feeds)
        outputs = []
        for i in range(len(compiled.outputs)):
            tensor = request.get_output_tensor(i)
            data = np.array(tensor.data, copy=True)
            if tensor.element_type == ov.Type.bf16:  # returned as float16-typed bf16 bits
                import ml_dtypes

                data = data.view(ml_dtypes.bfloat16)
            outputs.append(data)
        return as_declared_all(outputs, dtypes)
