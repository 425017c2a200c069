"""onnx2torch: the ONNX graph converted back to a torch module, run eagerly.

It tells an exporter round-trip problem apart from a runtime's: the same torch
kernels the oracle used, reached through ONNX. Precision is torch's own in the
declared dtypes.

onnx2torch imports torchvision for two converters (NonMaxSuppression,
RoiAlign) and is installed without its dependencies, because resolving them
would replace the pinned CPU torch. Where torchvision cannot be imported, a
stand-in serves the import and those two ops report `unsupported` when run.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Availability, Unsupported
from .onnx_backend import as_declared_all, declared_output_dtypes, distribution_version


def _torchvision_missing(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError("onnx2torch needs torchvision for this op, and torchvision is not installed")


def _import_onnx2torch() -> Any:
    """Import onnx2torch, with a stand-in torchvision only for the import if the real one is absent."""
    if "onnx2torch" in sys.modules:
        return sys.modules["onnx2torch"]
    try:
        import torchvision  # noqa: F401
    except Exception:
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]  # a half-imported broken install
        stub = types.ModuleType("torchvision")
        ops = types.ModuleType("torchvision.ops")
        stub.__spec__ = importlib.machinery.ModuleSpec("torchvision", None)
        ops.__spec__ = importlib.machinery.ModuleSpec("torchvision.ops", None)
        ops.nms = ops.box_convert = ops.roi_align = _torchvision_missing  # type: ignore[attr-defined]
        stub.ops = ops  # type: ignore[attr-defined]
        sys.modules["torchvision"], sys.modules["torchvision.ops"] = stub, ops
        try:
            import onnx2torch
        finally:  # onnx2torch keeps its references; nobody else should see the stand-in
            sys.modules.pop("torchvision", None)
            sys.modules.pop("torchvision.ops", None)
        return onnx2torch
    import onnx2torch

    return onnx2torch


class OnnxToTorch:
    name = "onnx2torch"

    def version(self) -> str:
        return distribution_version("onnx2torch")

    def available(self) -> Availability:
        try:
            import torch  # noqa: F401
        except ImportError as exc:
            return Availability(False, f"torch is not installed ({exc}); pip install 'onnx-conformance[torch]'")
        try:
            _import_onnx2torch()
        except ImportError as exc:
            return Availability(
                False, f"onnx2torch is not installed ({exc}); pip install --no-deps 'onnx2torch==1.5.15'"
            )
        return Availability(True)

    def metadata(self) -> dict[str, str]:
        import torch

        return {"torch": str(torch.__version__), "mode": "eager, no_grad"}

    def prepare(self, model_path: Path) -> Any:
        import onnx

        onnx2torch = _import_onnx2torch()
        model = onnx.load(str(model_path))
        try:
            module = onnx2torch.convert(model)
        except NotImplementedError as exc:  # "Converter is not implemented (OperationDescription(...))"
            raise Unsupported(f"onnx2torch: {exc}") from exc
        return module.eval(), declared_output_dtypes(model)

    def run(self, session: Any, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        import torch

        from ..tensors import flatten_outputs, to_numpy, to_torch

        module, dtypes = session
        try:
            with torch.no_grad():
                result = module(*[to_torch(x) for x in inputs])
        except NotImplementedError as exc:  # an op or dtype onnx2torch or torch has no kernel for
            raise Unsupported(f"{type(exc).__name__}: {exc}") from exc
        return as_declared_all(
            [to_numpy(t) if isinstance(t, torch.Tensor) else np.asarray(t) for t in flatten_outputs(result)], dtypes
        )
