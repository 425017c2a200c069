"""Backend discovery: built-in and third-party adapters alike come from the
`conformance.backends` entry point group; each entry point names a class or a
zero-argument factory that returns a `Backend`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np

from ..model import Availability, Backend

BACKENDS_GROUP = "conformance.backends"
#: `onnx-backend:PACKAGE.MODULE` wraps any implementation of `onnx.backend.base.Backend`.
ONNX_BACKEND_PREFIX = "onnx-backend:"


class BackendError(ValueError):
    """A backend selection cannot be honoured; the message says which and why."""


@dataclass(frozen=True)
class BrokenBackend:
    """Stands in for an entry point that failed to load, so listing still shows it and why."""

    name: str
    reason: str

    def version(self) -> str:
        return "unknown"

    def available(self) -> Availability:
        return Availability(False, self.reason)

    def prepare(self, model_path: Path) -> Any:
        raise RuntimeError(self.reason)

    def run(self, session: Any, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        raise RuntimeError(self.reason)


def discover_backends() -> dict[str, Backend]:
    found: dict[str, Backend] = {}
    for ep in sorted(entry_points(group=BACKENDS_GROUP), key=lambda e: e.name):
        try:
            backend = ep.load()()
            if not isinstance(backend, Backend):
                raise TypeError(f"{ep.value} does not implement the Backend protocol")
        except Exception as exc:  # one broken plugin must not hide the others
            backend = BrokenBackend(ep.name, f"entry point {ep.value} failed to load: {exc}")
        found[ep.name] = backend
    return found


def backend_version(backend: Backend) -> str:
    try:
        return backend.version()
    except Exception as exc:
        return f"unknown ({exc})"


def describe(backend: Backend) -> dict[str, Any]:
    availability = backend.available()
    return {
        "name": backend.name,
        "version": backend_version(backend) if availability.ok else None,
        "available": availability.ok,
        "reason": availability.reason,
    }


def select_backends(names: str | Sequence[str] | None, known: dict[str, Backend] | None = None) -> list[Backend]:
    """The named backends, or every available one; naming an unknown or unavailable one is an error."""
    known = discover_backends() if known is None else known
    if not names:
        chosen = [b for b in known.values() if b.available().ok]
        if not chosen:
            raise BackendError("no backend is available; `conformance list backends` says why")
        return chosen
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    chosen = []
    for name in names:
        if name.startswith(ONNX_BACKEND_PREFIX):
            chosen.append(_wrap(name))
            continue
        if name not in known:
            raise BackendError(f"unknown backend {name!r}; known: {', '.join(sorted(known))}")
        availability = known[name].available()
        if not availability.ok:
            raise BackendError(f"backend {name!r} is not available: {availability.reason}")
        chosen.append(known[name])
    return chosen


def _wrap(name: str) -> Backend:
    from .onnx_backend import wrap_onnx_backend

    try:
        backend = wrap_onnx_backend(name)
    except Exception as exc:
        raise BackendError(f"cannot use {name!r}: {exc}") from exc
    availability = backend.available()
    if not availability.ok:
        raise BackendError(f"backend {name!r} is not available: {availability.reason}")
    return backend
