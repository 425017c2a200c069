"""tinygrad: its ONNX runner on the CPU device, whose kernels clang compiles.

tinygrad caches compiled kernels in an SQLite file (CACHEDB), by default under
~/.cache; it is pointed at $CONFORMANCE_BACKEND_CACHE/tinygrad (else the user
cache folder of this suite) unless CACHEDB is already set. tinygrad is lazy:
`prepare` only parses the model, kernels are built and run in `run`.

Precision: tinygrad keeps the declared dtypes; NumPy has no bfloat16, so
tinygrad hands bf16 back as float32, which is turned back into bf16 (exactly).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Availability, Unsupported
from ..oracle import graph_input_names
from .onnx_backend import as_declared_all, backend_cache_dir, declared_output_dtypes, distribution_version


def _compiler() -> str:
    return os.environ.get("CC", "clang")


def _point_cache() -> None:
    """Set tinygrad's kernel cache before it opens it; a user's own CACHEDB wins."""
    if "CACHEDB" in os.environ:
        return
    path = str(backend_cache_dir("tinygrad") / "cache.db")
    helpers = sys.modules.get("tinygrad.helpers")
    if helpers is None:
        os.environ["CACHEDB"] = path  # read once, when tinygrad is imported
    elif getattr(helpers, "_db_connection", None) is None:
        helpers.CACHEDB = path


@dataclass
class TinygradSession:
    runner: Any
    names: list[str]
    dtypes: list[np.dtype | None]


class Tinygrad:
    name = "tinygrad"
    device = "CPU"

    def version(self) -> str:
        return distribution_version("tinygrad")

    def available(self) -> Availability:
        if shutil.which(_compiler()) is None:
            return Availability(
                False,
                f"tinygrad's CPU device compiles with {_compiler()}, which is not on PATH (apt-get install clang)",
            )
        try:
            _point_cache()
            from tinygrad.nn.onnx import OnnxRunner  # noqa: F401
        except ImportError as exc:
            return Availability(False, f"tinygrad is not installed ({exc}); pip install 'onnx-conformance[tinygrad]'")
        return Availability(True)

    def metadata(self) -> dict[str, str]:
        _point_cache()
        return {"device": self.device, "compiler": _compiler(), "kernel_cache": os.environ.get("CACHEDB", "")}

    def _context(self) -> Any:
        _point_cache()
        from tinygrad import Context

        return Context(DEV=self.device)

    def prepare(self, model_path: Path) -> TinygradSession:
        import onnx

        with self._context():
            from tinygrad.nn.onnx import OnnxRunner

            runner = OnnxRunner(Path(model_path))
        model = onnx.load(str(model_path), load_external_data=False)
        return TinygradSession(runner, graph_input_names(model), declared_output_dtypes(model))

    def run(self, session: TinygradSession, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        import ml_dtypes
        from tinygrad import Tensor, dtypes

        with self._context():
            feeds = dict(zip(session.names, [np.asarray(x, order="C") for x in inputs], strict=True))
            try:
                result = session.runner(feeds)
            except NotImplementedError as exc:  # "op='X' is not supported": the runner has no such op
                raise Unsupported(f"tinygrad: {exc}") from exc
            outputs = []
            for value in result.values():
                if isinstance(value, Tensor):
                    data = value.numpy()
                    if value.dtype == dtypes.bfloat16 and data.dtype != ml_dtypes.bfloat16:
                        data = data.astype(ml_dtypes.bfloat16)
                else:
                    data = np.asarray(value)
                outputs.append(np.array(data, copy=True))
        return as_declared_all(outputs, session.dtypes)
