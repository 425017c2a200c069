"""Any `onnx.backend.base.Backend` as one of ours, plus the plumbing the other
adapters share (declared output dtypes, the compile cache folder).

`--backends onnx-backend:PACKAGE.MODULE` names a module that either is an ONNX
backend itself (module-level `prepare`, like `onnxruntime.backend`) or defines
a `Backend` subclass; a dotted path may also end at the class.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import inspect
import os
import platform
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Availability, Unsupported

PREFIX = "onnx-backend:"

#: Environment variable that moves every adapter's compile cache (tests point it at a temp dir).
CACHE_ENV = "CONFORMANCE_BACKEND_CACHE"


# --- shared by the adapters ---------------------------------------------------------------


def backend_cache_dir(backend: str) -> Path:
    """Where `backend` keeps what it compiled: $CONFORMANCE_BACKEND_CACHE/<backend>, else the user cache."""
    root = os.environ.get(CACHE_ENV)
    if root:
        base = Path(root)
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("onnx-conformance")) / "backends"
    return base / backend


def digest(*parts: bytes | str) -> str:
    """sha256 over the parts, each length-prefixed so that no two splits collide."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


@cache
def host_cpu() -> str:
    """The host CPU's identity, because `--iree-llvmcpu-target-cpu=host` builds for exactly it."""
    identity = [platform.machine()]
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("model name", "flags", "Features", "CPU part")):
                    identity.append(line.strip())
                if line.strip() == "":  # the first processor says it all
                    break
    except OSError:
        identity.append(platform.processor())
    return "\n".join(identity)


def write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary name, so that a concurrent reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@cache  # adapters ask on every prepare (their compile-cache keys hold it)
def distribution_version(*names: str) -> str:
    """The installed version of the first distribution found among `names`."""
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def declared_output_dtypes(model: Any) -> list[np.dtype | None]:
    """The NumPy dtype each graph output declares, in graph order (None where it declares no tensor type)."""
    from onnx import helper

    dtypes: list[np.dtype | None] = []
    for output in model.graph.output:
        elem = output.type.tensor_type.elem_type if output.type.HasField("tensor_type") else 0
        try:
            dtypes.append(np.dtype(helper.tensor_dtype_to_np_dtype(elem)) if elem else None)
        except (KeyError, TypeError, ValueError):
            dtypes.append(None)
    return dtypes


def as_declared(array: Any, dtype: np.dtype | None) -> np.ndarray:
    """`array` as NumPy, reinterpreted as the declared dtype where only the representation differs.

    Only signless-integer views are undone here (a compiler that knows i8 but
    not u8 hands back the same bits as int8). A different kind or width is a
    real dtype divergence and is left for the comparison to report.
    """
    a = np.asarray(array)
    if dtype is None or a.dtype == dtype:
        return a
    if a.dtype.kind in "iu" and dtype.kind in "iu" and a.dtype.itemsize == dtype.itemsize:
        return a.view(dtype)
    if dtype.kind == "b" and a.dtype.kind in "iu" and a.dtype.itemsize == 1:
        return a.astype(np.bool_)
    return a


def as_declared_all(outputs: Sequence[Any], dtypes: Sequence[np.dtype | None]) -> list[np.ndarray]:
    out = list(outputs)
    return [as_declared(o, dtypes[i] if i < len(dtypes) else None) for i, o in enumerate(out)]


def says_not_implemented(exc: BaseException) -> bool:
    """onnxruntime raises its own `NotImplemented` type; Python code raises NotImplementedError."""
    return isinstance(exc, NotImplementedError) or type(exc).__name__ == "NotImplemented"


# --- the wrapper -----------------------------------------------------------------------------


def _resolve(target: str) -> Any:
    """The backend object `target` names: a module with `prepare`, a Backend subclass, or a module defining one."""
    try:
        obj: Any = importlib.import_module(target)
    except ModuleNotFoundError:
        module_name, _, attr = target.rpartition(".")
        if not module_name:
            raise
        obj = getattr(importlib.import_module(module_name), attr)
    if inspect.ismodule(obj) and not callable(getattr(obj, "prepare", None)):
        from onnx.backend.base import Backend as OnnxBackend

        found = [
            v
            for v in vars(obj).values()
            if inspect.isclass(v)
            and issubclass(v, OnnxBackend)
            and v is not OnnxBackend
            and v.__module__ == obj.__name__
        ]
        if len(found) != 1:
            raise TypeError(
                f"{target} has no module-level prepare() and defines {len(found)} onnx.backend.base.Backend "
                "subclasses; name the class itself, e.g. onnx-backend:PACKAGE.MODULE.CLASS"
            )
        obj = found[0]
    if not callable(getattr(obj, "prepare", None)):
        raise TypeError(f"{target} is not an ONNX backend: it has no prepare()")
    return obj


class OnnxBackendAdapter:
    """Runs models through an `onnx.backend.base.Backend`: prepare(model, device="CPU"), rep.run(inputs)."""

    device = "CPU"

    def __init__(self, spec: str) -> None:
        target = spec[len(PREFIX) :] if spec.startswith(PREFIX) else spec
        if not target or any(not part.isidentifier() for part in target.split(".")):
            raise ValueError(f"{spec!r} does not name a module: expected {PREFIX}PACKAGE.MODULE")
        self.name = PREFIX + target
        self.target = target
        self._backend: Any = None

    def __getstate__(self) -> dict[str, Any]:
        """Backends travel to worker processes by pickle; a module does not, so it is imported again there."""
        return {**self.__dict__, "_backend": None}

    def _load(self) -> Any:
        if self._backend is None:
            self._backend = _resolve(self.target)
        return self._backend

    def version(self) -> str:
        top = self.target.split(".")[0]
        dists = importlib.metadata.packages_distributions().get(top, [])
        version = distribution_version(*dists) if dists else "unknown"
        if version == "unknown":
            module = importlib.import_module(top)
            version = str(getattr(module, "__version__", "unknown"))
        return version

    def available(self) -> Availability:
        try:
            backend = self._load()
        except Exception as exc:
            return Availability(False, f"cannot load ONNX backend {self.target}: {type(exc).__name__}: {exc}")
        supports = getattr(backend, "supports_device", None)
        try:
            if callable(supports) and not supports(self.device):
                return Availability(False, f"{self.target} does not support device {self.device}")
        except Exception as exc:
            return Availability(False, f"{self.target}.supports_device failed: {exc}")
        return Availability(True)

    def metadata(self) -> dict[str, str]:
        return {"onnx_backend": self.target, "device": self.device}

    def prepare(self, model_path: Path) -> Any:
        import onnx

        backend = self._load()
        model = onnx.load(str(model_path))
        compatible = getattr(backend, "is_compatible", None)
        if callable(compatible) and not compatible(model, device=self.device):
            raise Unsupported(f"{self.target}.is_compatible() says it cannot run this model")
        try:
            rep = backend.prepare(model, device=self.device)
        except Exception as exc:
            if says_not_implemented(exc):
                raise Unsupported(f"{type(exc).__name__}: {exc}") from exc
            raise
        return rep, declared_output_dtypes(model)

    def run(self, session: Any, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        rep, dtypes = session
        try:
            outputs = rep.run(list(inputs))
        except Exception as exc:
            if says_not_implemented(exc):
                raise Unsupported(f"{type(exc).__name__}: {exc}") from exc
            raise
        return as_declared_all(outputs, dtypes)


def wrap_onnx_backend(spec: str) -> OnnxBackendAdapter:
    """Our Backend over the ONNX backend that `spec` (``onnx-backend:PACKAGE.MODULE``) names.

    The module is imported here; one that fails to import still yields an
    adapter, whose `available()` says why (as for any backend missing here).
    A spec that names no module at all raises ValueError.
    """
    adapter = OnnxBackendAdapter(spec)
    try:
        adapter._load()
    except Exception:  # reported by available(), as for any backend that cannot run here
        pass
    return adapter
