"""IREE: ONNX imported to MLIR, compiled ahead of time for llvm-cpu, run on the VM.

Compiling takes seconds per model, so the compiled module (.vmfb) is cached on
disk, keyed by the model's bytes, the compiler and runtime versions, the flags
and the host CPU (the code is built for it). The cache folder is
$CONFORMANCE_BACKEND_CACHE/iree, else the user cache folder.

Precision: f64 is kept as f64 (IREE demotes it to f32 by default, which would
judge a float64 model at float32 accuracy); nothing else is demoted.
"""

from __future__ import annotations

import re
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
    write_atomically,
)

#: torch-mlir's ONNX conversions are written against this opset and newer;
#: older models are upgraded with onnx.version_converter first (IREE's docs say the same).
MIN_OPSET = 17

#: What the compiler says when no conversion exists for an ONNX op.
_NO_CONVERSION = re.compile(r"failed to legalize operation 'torch\.operator'")
#: What the importer says about a type it does not handle.
_IMPORT_UNSUPPORTED = re.compile(r"unsupport|unknown onnx tensor element type|unhandled onnx", re.IGNORECASE)


#: Lines of iree-compile's error text that say nothing about the model.
_NOISE = ("Stack dump:", "0.\tProgram arguments", "Please report", "Error invoking IREE", "Error code:", "Diagnostics:")


def _linker_flags() -> list[str]:
    """Work around iree-compile running its bundled linker through a shell without quoting its path.

    With IREE installed under a folder whose path holds a space, every
    llvm-cpu compile fails with `sh: 1: /first/part/of/the/path: not found`
    (seen with iree-base-compiler 3.13). A link to the linker from a
    space-free folder, passed with --iree-llvmcpu-embedded-linker-path, keeps
    the command line whole. The flag changes no compiled byte, so it is kept
    out of the cache key.
    """
    import hashlib
    import os
    import tempfile

    import iree.compiler

    lld = Path(iree.compiler.__file__).parent / "_mlir_libs" / "iree-lld"
    if not re.search(r"\s", str(lld)) or not lld.exists():
        return []
    folder = Path(tempfile.gettempdir()) / f"conformance-iree-{hashlib.sha256(str(lld).encode()).hexdigest()[:12]}"
    link = folder / "iree-lld"
    if re.search(r"\s", str(link)):
        return []  # no space-free folder to link from: the compile reports the tool's own error
    try:
        folder.mkdir(exist_ok=True)
        if not link.exists():
            tmp = folder / f".iree-lld-{os.getpid()}"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(lld)
            os.replace(tmp, link)  # atomic: workers starting together all see a whole link
    except OSError:
        return []
    return [f"--iree-llvmcpu-embedded-linker-path={link}"]


def _condense_compiler_error(text: str) -> str:
    """iree-compile's diagnostics without the command line and the stack dump."""
    kept = []
    for line in text.splitlines():
        if line.startswith(("Invoked with:", " iree-compile ")):
            break
        if line.strip() and not line.lstrip().startswith("#") and not line.startswith(_NOISE):
            kept.append(line)
    return "\n".join(kept)


@dataclass
class IreeSession:
    context: Any
    function: Any
    dtypes: list[np.dtype | None]
    vmfb: Path | None


class IREE:
    name = "iree"
    target_backend = "llvm-cpu"
    driver = "local-sync"
    flags = ("--iree-llvmcpu-target-cpu=host", "--iree-input-demote-f64-to-f32=false")

    def __init__(self) -> None:
        #: How often this adapter compiled, and how often the disk cache spared it (tests read these).
        self.compiles = 0
        self.cache_hits = 0

    def version(self) -> str:
        compiler = distribution_version("iree-base-compiler", "iree-compiler")
        runtime = distribution_version("iree-base-runtime", "iree-runtime")
        return compiler if compiler == runtime else f"compiler {compiler}, runtime {runtime}"

    def available(self) -> Availability:
        try:
            import iree.compiler  # noqa: F401
            from iree.compiler.extras import onnx_importer  # noqa: F401
        except ImportError as exc:
            return Availability(False, f"the IREE compiler is missing ({exc}); pip install 'onnx-conformance[iree]'")
        try:
            import iree.runtime as rt
        except ImportError as exc:
            return Availability(False, f"the IREE runtime is missing ({exc}); pip install 'onnx-conformance[iree]'")
        if self.driver not in rt.query_available_drivers():
            return Availability(False, f"the IREE runtime has no {self.driver} driver")
        return Availability(True)

    def metadata(self) -> dict[str, str]:
        return {
            "target": self.target_backend,
            "driver": self.driver,
            "flags": " ".join(self.flags),
            "min_opset": str(MIN_OPSET),
            "cache": str(backend_cache_dir(self.name)),
        }

    def cache_key(self, model_bytes: bytes) -> str:
        return digest(
            model_bytes, self.version(), self.target_backend, *self.flags, f"min-opset={MIN_OPSET}", host_cpu()
        )

    def _import(self, model: Any) -> str:
        """The model as torch-dialect MLIR text, the way `iree-import-onnx` makes it."""
        import onnx
        from iree.compiler.extras import onnx_importer
        from iree.compiler.ir import Context

        opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), MIN_OPSET)
        if opset < MIN_OPSET:
            try:
                model = onnx.version_converter.convert_version(model, MIN_OPSET)
            except Exception:  # not every model converts; the importer may still take the original
                pass
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
        try:
            info = onnx_importer.ModelInfo(model)
            module = info.create_module(context=Context()).operation
            onnx_importer.NodeImporter.define_function(info.main_graph, module).import_all()
            module.verify()
        except onnx_importer.OnnxImportError as exc:
            if _IMPORT_UNSUPPORTED.search(str(exc)):
                raise Unsupported(f"IREE's ONNX importer: {exc}") from exc
            raise
        return module.get_asm(assume_verified=True)

    def _compile(self, mlir: str) -> bytes:
        import iree.compiler as ic

        try:
            return ic.compile_str(
                mlir,
                target_backends=[self.target_backend],
                input_type="onnx",
                extra_args=[*self.flags, *_linker_flags()],
            )
        except ic.CompilerToolError as exc:
            text = str(exc)
            condensed = _condense_compiler_error(text) or text[:2000]
            if _NO_CONVERSION.search(text):
                raise Unsupported(f"iree-compile has no conversion: {condensed}") from exc
            code = re.search(r"Error code: (-?\d+)", text)
            if code and int(code.group(1)) < 0:
                raise RuntimeError(f"iree-compile crashed with signal {-int(code.group(1))}: {condensed}") from exc
            raise RuntimeError(f"iree-compile failed: {condensed}") from exc

    def prepare(self, model_path: Path) -> IreeSession:
        import onnx

        model_bytes = Path(model_path).read_bytes()
        model = onnx.load_from_string(model_bytes)
        vmfb_path = backend_cache_dir(self.name) / f"{self.cache_key(model_bytes)}.vmfb"
        try:
            vmfb = vmfb_path.read_bytes()
            self.cache_hits += 1
        except OSError:
            onnx.load_external_data_for_model(model, str(Path(model_path).parent))
            vmfb = self._compile(self._import(model))
            self.compiles += 1
            try:
                write_atomically(vmfb_path, vmfb)
            except OSError:  # a read-only cache costs time, not the result
                vmfb_path = None
        return self._load(vmfb, model, vmfb_path)

    def _load(self, vmfb: bytes, model: Any, vmfb_path: Path | None) -> IreeSession:
        import iree.runtime as rt

        context = rt.SystemContext(config=rt.Config(self.driver))
        vm_module = rt.VmModule.copy_buffer(context.instance, vmfb)
        context.add_vm_module(vm_module)
        names = [n for n in vm_module.function_names if not n.endswith("$async") and not n.startswith("__")]
        wanted = model.graph.name if model.graph.name in names else (names[0] if len(names) == 1 else None)
        if wanted is None:
            raise RuntimeError(f"cannot tell the entry function among {names} (graph {model.graph.name!r})")
        function = context.modules[vm_module.name][wanted]
        return IreeSession(context, function, declared_output_dtypes(model), vmfb_path)

    def run(self, session: IreeSession, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        result = session.function(*[np.asarray(x, order="C") for x in inputs])
        values = list(result) if isinstance(result, (tuple, list)) else [result]
        outputs = [v.to_host() if hasattr(v, "to_host") else np.asarray(v) for v in values]
        return as_declared_all([np.array(o, copy=True) for o in outputs], session.dtypes)
