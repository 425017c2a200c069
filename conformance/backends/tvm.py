"""Apache TVM: the Relax ONNX frontend, compiled for the llvm target, run on the Relax VM.

The compiled module is exported as a shared library and cached on disk, keyed
by the model's bytes, TVM's version, the target and the host CPU. Exporting
links with the system C++ compiler (g++, or $CXX); where there is none, the
model is compiled afresh each time and the metadata says the cache is off.
The cache folder is $CONFORMANCE_BACKEND_CACHE/tvm, else the user cache folder.

Precision: TVM keeps every dtype as declared (f64 stays f64).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Availability, Unsupported
from .onnx_backend import (
    as_declared_all,
    backend_cache_dir,
    declared_output_dtypes,
    digest,
    distribution_version,
    host_cpu,
)


def _linker() -> str | None:
    """The compiler `export_library` links with (TVM's own default is g++)."""
    return shutil.which(os.environ.get("CXX", "g++"))


@dataclass
class TvmSession:
    vm: Any
    dtypes: list[np.dtype | None]
    library: Path | None


def _flatten(value: Any) -> list[Any]:
    """The VM's result as a flat list of arrays; a shape computed as a Relax shape (a ShapeTuple of ints)
    is an int64 tensor in the ONNX graph, and is handed back as one."""
    import tvm

    if hasattr(value, "numpy"):
        return [value]
    if isinstance(value, tvm.runtime.ShapeTuple):
        return [np.array(list(value), dtype=np.int64)]
    out: list[Any] = []
    for v in value:
        out.extend(_flatten(v))
    return out


class TVM:
    name = "tvm"
    target = "llvm"

    def __init__(self) -> None:
        #: How often this adapter compiled, and how often the disk cache spared it (tests read these).
        self.compiles = 0
        self.cache_hits = 0

    def version(self) -> str:
        return distribution_version("apache-tvm", "tvm")

    def available(self) -> Availability:
        try:
            import tvm
            from tvm.relax.frontend.onnx import from_onnx  # noqa: F401
        except ImportError as exc:
            return Availability(False, f"apache-tvm is not installed ({exc}); pip install 'onnx-conformance[tvm]'")
        if not tvm.runtime.enabled("llvm"):
            return Availability(False, "this TVM build has no llvm code generator")
        return Availability(True)

    def metadata(self) -> dict[str, str]:
        cache = str(backend_cache_dir(self.name)) if _linker() else "off (no C++ compiler to export the library)"
        return {"target": self.target, "device": "cpu", "cache": cache}

    def cache_key(self, model_bytes: bytes) -> str:
        return digest(model_bytes, self.version(), self.target, host_cpu())

    def _compile(self, model: Any) -> Any:
        import tvm
        from tvm.relax.frontend.onnx import from_onnx

        try:
            mod = from_onnx(model, keep_params_in_input=False)
        except NotImplementedError as exc:  # tvm.error.OpNotImplemented and friends subclass it
            raise Unsupported(f"{type(exc).__name__}: {exc}") from exc
        return tvm.compile(mod, target=tvm.target.Target({"kind": self.target}))

    def prepare(self, model_path: Path) -> TvmSession:
        import onnx
        import tvm
        from tvm import relax

        model_bytes = Path(model_path).read_bytes()
        model = onnx.load_from_string(model_bytes)
        dtypes = declared_output_dtypes(model)
        library: Path | None = backend_cache_dir(self.name) / f"{self.cache_key(model_bytes)}.so"
        if library.exists():
            executable = tvm.runtime.load_module(str(library))
            self.cache_hits += 1
        else:
            onnx.load_external_data_for_model(model, str(Path(model_path).parent))
            executable = self._compile(model)
            self.compiles += 1
            library = self._store(executable, library)
        return TvmSession(relax.VirtualMachine(executable, tvm.cpu()), dtypes, library)

    def _store(self, executable: Any, library: Path) -> Path | None:
        """Export the compiled library into the cache; None where that is not possible here."""
        if _linker() is None:
            return None
        try:
            library.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=library.parent) as tmp:
                partial = Path(tmp) / library.name
                executable.export_library(str(partial))
                os.replace(partial, library)
        except Exception:  # a cache that cannot be written costs time, not the result
            return None
        return library

    def run(self, session: TvmSession, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        import tvm

        args = [tvm.runtime.tensor(np.asarray(x, order="C")) for x in inputs]
        result = session.vm["main"](*args)
        return as_declared_all(
            [np.asarray(v.numpy() if hasattr(v, "numpy") else v) for v in _flatten(result)], session.dtypes
        )
