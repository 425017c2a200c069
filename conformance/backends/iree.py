"""IREE: ONNX imported to MLIR, compiled ahead of time for llvm-cpu, run on the VM.

Compiling takes seconds per model, so the compiled module (.vmfb) is cached on
disk, keyed by the model's bytes, the compiler and runtime versions, the flags
and the host CPU (the code is built for it). The cache folder is
$CONFORMANCE_BACKEND_CACHE/iree, else the user cache folder.

Most of a compile is paid once per compiler run, whatever the graph: about a
second for a lone Relu. `prepare_ahead` therefore compiles the models a run is
about to meet as a few modules of many functions each (one function per
model) and caches, per model, which module and function hold it; `prepare`
then loads that. A batch that fails is split until the failing models stand
alone, and those are left to `prepare`, which compiles them one at a time and
reports their own error, as without batching.

Precision: f64 is kept as f64 (IREE demotes it to f32 by default, which would
judge a float64 model at float32 accuracy); nothing else is demoted.
"""

from __future__ import annotations

import bisect
import re
import subprocess
import time
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

#: Models compiled as one module by `prepare_ahead`; more saves little and risks more on a failing batch.
BATCH_MODELS = 32
#: Seconds a batch may compile, fixed and per model, before it is given up (its models are then compiled one by
#: one in `prepare`, under the run's timeout): a batch takes less than its models alone, about a second or two
#: each, unless one of them is a model the compiler all but hangs on.
BATCH_TIMEOUT_S = (30.0, 2.0)
#: Slow failed compiles of a batch before it is split in halves rather than trimmed of the models the errors
#: name; a failure within `BATCH_CHEAP_S` seconds (an op with no conversion, found before code generation)
#: costs next to nothing and is not counted.
BATCH_TRIES = 2
BATCH_CHEAP_S = 5.0
#: A function defined in the importer's module: the symbols a batch must keep apart.
_DEFINED = re.compile(r"^\s*func\.func (private )?@([\w$.]+)", re.MULTILINE)
_SYMBOL = re.compile(r"@([\w$.]+)")
#: A weight blob in the importer's resource section, and a use of one.
_RESOURCE = re.compile(r'^\s*([\w.$-]+): ("0x[0-9A-Fa-f]*"),?$', re.MULTILINE)
_RESOURCE_USE = re.compile(r"dense_resource<([\w.$-]+)>")
#: Where the compiler points at the module it read from stdin.
_STDIN_LINE = re.compile(r"<stdin>:(\d+):\d+")

#: What the compiler says when no conversion exists for an ONNX op.
_NO_CONVERSION = re.compile(r"failed to legalize operation 'torch\.operator'")
#: What the importer says about a type it does not handle.
_IMPORT_UNSUPPORTED = re.compile(r"unsupport|unknown onnx tensor element type|unhandled onnx", re.IGNORECASE)


#: Lines of iree-compile's error text that say nothing about the model.
_NOISE = ("Stack dump:", "0.\tProgram arguments", "Please report", "Error invoking IREE", "Error code:", "Diagnostics:")


class _CompileFailed(Exception):
    def __init__(self, returncode: int, stderr: str) -> None:
        super().__init__(stderr)
        self.returncode = returncode
        self.stderr = stderr


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
        """One model, as `prepare` compiles it: its error classified (no conversion, a crash, a failure)."""
        try:
            return self._compile_text(mlir)
        except _CompileFailed as exc:
            condensed = _condense_compiler_error(exc.stderr) or exc.stderr[:2000]
            if _NO_CONVERSION.search(exc.stderr):
                raise Unsupported(f"iree-compile has no conversion: {condensed}") from None
            if exc.returncode < 0:
                raise RuntimeError(f"iree-compile crashed with signal {-exc.returncode}: {condensed}") from None
            raise RuntimeError(f"iree-compile failed: {condensed}") from None

    def _vmfb_path(self, model_bytes: bytes) -> Path:
        return backend_cache_dir(self.name) / f"{self.cache_key(model_bytes)}.vmfb"

    @staticmethod
    def _cached(vmfb_path: Path) -> tuple[bytes, Path, str | None] | None:
        """A model's compiled module and the function in it that `prepare_ahead` compiled it as (None: its own)."""
        try:
            return vmfb_path.read_bytes(), vmfb_path, None
        except OSError:
            pass
        try:
            module, function = vmfb_path.with_suffix(".in").read_text().split()
            batch = vmfb_path.with_name(module)
            return batch.read_bytes(), batch, function
        except (OSError, ValueError):
            return None

    def prepare(self, model_path: Path) -> IreeSession:
        import onnx

        model_bytes = Path(model_path).read_bytes()
        model = onnx.load_from_string(model_bytes)
        vmfb_path: Path | None = self._vmfb_path(model_bytes)
        cached = self._cached(vmfb_path)
        function = None
        if cached is not None:
            vmfb, vmfb_path, function = cached
            self.cache_hits += 1
        else:
            onnx.load_external_data_for_model(model, str(Path(model_path).parent))
            vmfb = self._compile(self._import(model))
            self.compiles += 1
            try:
                write_atomically(vmfb_path, vmfb)
            except OSError:  # a read-only cache costs time, not the result
                vmfb_path = None
        return self._load(vmfb, model, vmfb_path, function)

    def prepare_ahead(self, model_paths: Sequence[Path]) -> int:
        """Compile the models not yet in the cache as few modules; returns how many it compiled.

        Anything that goes wrong here only leaves a model to `prepare`, which compiles it alone and
        reports what it reports without batching.
        """
        import onnx

        todo: dict[Path, tuple[str, str]] = {}
        for path in model_paths:
            model_bytes = Path(path).read_bytes()
            vmfb_path = self._vmfb_path(model_bytes)
            if vmfb_path in todo or vmfb_path.exists() or vmfb_path.with_suffix(".in").exists():
                continue
            try:
                model = onnx.load_from_string(model_bytes)
                onnx.load_external_data_for_model(model, str(Path(path).parent))
                mlir = self._import(model)
            except Exception:
                continue
            if _joined([mlir], [model.graph.name]) is not None:  # else it is not renamed safely: `prepare` compiles it
                todo[vmfb_path] = (mlir, model.graph.name)
        items = list(todo.items())
        return sum(self._compile_batch(items[i : i + BATCH_MODELS]) for i in range(0, len(items), BATCH_MODELS))

    def _compile_batch(self, items: list[tuple[Path, tuple[str, str]]], tries: int = BATCH_TRIES) -> int:
        """Compile models as one module, leaving out those the compiler points at until the rest compiles.

        A failure costs a whole compile when it comes late (in code generation), so after `tries` slow
        failed attempts the batch is split in halves instead: a few failing models among many cost a few
        compiles each, not one per model.
        """
        while len(items) > 1:
            joined = _joined([mlir for _, (mlir, _) in items], [entry for _, (_, entry) in items])
            if joined is None:
                return 0
            text, functions, first_lines = joined
            started = time.perf_counter()
            try:
                vmfb = self._compile_text(text, BATCH_TIMEOUT_S[0] + BATCH_TIMEOUT_S[1] * len(items))
            except subprocess.TimeoutExpired:
                return 0  # one of them hangs the compiler: `prepare` meets it alone, under the run's timeout
            except _CompileFailed as exc:
                lines = [int(n) for n in _STDIN_LINE.findall(exc.stderr)]
                failing = {bisect.bisect_right(first_lines, n) - 1 for n in lines} - {-1}
                tries -= int(time.perf_counter() - started > BATCH_CHEAP_S)
                if not failing or tries <= 0:  # nothing to point at, or pointing costs too much: halves
                    half = len(items) // 2
                    return self._compile_batch(items[:half]) + self._compile_batch(items[half:])
                items = [item for i, item in enumerate(items) if i not in failing]
                continue
            module = f"batch-{self.cache_key(text.encode())}.vmfb"
            try:
                write_atomically(items[0][0].with_name(module), vmfb)
                for (vmfb_path, _), function in zip(items, functions, strict=True):
                    write_atomically(vmfb_path.with_suffix(".in"), f"{module} {function}\n".encode())
            except OSError:
                return 0
            self.compiles += 1
            return len(items)
        return 0

    def _compile_text(self, mlir: str, timeout: float | None = None) -> bytes:
        """iree-compile on MLIR text, in a process of its own (what `iree.compiler.compile_str` runs), with an
        optional time limit; `_CompileFailed` with its exit status and diagnostics."""
        from iree.compiler.tools.core import CompilerOptions, build_compile_command_line
        from iree.compiler.tools.debugging import TempFileSaver

        options = CompilerOptions(
            target_backends=[self.target_backend], input_type="onnx", extra_args=[*self.flags, *_linker_flags()]
        )
        with TempFileSaver.implicit() as tfs:
            command = build_compile_command_line("-", tfs, options)
        done = subprocess.run(command, input=mlir.encode(), capture_output=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise _CompileFailed(done.returncode, done.stderr.decode(errors="replace"))
        return done.stdout

    def _load(self, vmfb: bytes, model: Any, vmfb_path: Path | None, entry: str | None = None) -> IreeSession:
        import iree.runtime as rt

        context = rt.SystemContext(config=rt.Config(self.driver))
        vm_module = rt.VmModule.copy_buffer(context.instance, vmfb)
        context.add_vm_module(vm_module)
        names = [n for n in vm_module.function_names if not n.endswith("$async") and not n.startswith("__")]
        if entry is not None:
            wanted = entry if entry in names else None
        else:
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


def _joined(mlirs: Sequence[str], entries: Sequence[str]) -> tuple[str, list[str], list[int]] | None:
    """Modules from the ONNX importer as one: each model's functions and weights renamed apart (`m<i>_<name>`).

    Also returns each model's entry function in the joined module and the line its part starts on (1-based),
    so the compiler's `<stdin>:LINE` diagnostics name the model. None where a module is not the plain
    `module { func.func ... }` with builtin resource blobs that the importer writes, since renaming inside
    anything else is not safe.
    """
    parts: list[str] = []
    blobs: list[str] = []
    functions: list[str] = []
    first_lines: list[int] = []
    line = 2
    for i, (mlir, entry) in enumerate(zip(mlirs, entries, strict=True)):
        text, _, resources = mlir.strip().partition("\n{-#")
        text = text.strip()
        if not (text.startswith("module {") and text.endswith("}")):
            return None
        weights = dict(_RESOURCE.findall(resources))
        if resources and re.sub(r"\s", "", _RESOURCE.sub("", resources)) != "dialect_resources:{builtin:{}}#-}":
            return None
        body = text[len("module {") : -1].strip("\n")
        defined = {name: bool(private) for private, name in _DEFINED.findall(body)}
        public = [name for name, private in defined.items() if not private]
        wanted = entry if entry in public else (public[0] if len(public) == 1 else None)
        if wanted is None:
            return None
        body = _SYMBOL.sub(lambda m, i=i, d=defined: f"@m{i}_{m.group(1)}" if m.group(1) in d else m.group(0), body)
        body = _RESOURCE_USE.sub(
            lambda m, i=i, w=weights: f"dense_resource<m{i}_{m.group(1)}>" if m.group(1) in w else m.group(0), body
        )
        blobs += [f"      m{i}_{name}: {blob}" for name, blob in weights.items()]
        parts.append(body)
        functions.append(f"m{i}_{wanted}")
        first_lines.append(line)
        line += body.count("\n") + 1
    text = "module {\n" + "\n".join(parts) + "\n}\n"
    if blobs:
        text += "\n{-#\n  dialect_resources: {\n    builtin: {\n" + ",\n".join(blobs) + "\n    }\n  }\n#-}\n"
    return text, functions, first_lines
