"""Execute stage: run one backend on one artifact and classify what went wrong.

An `Executor` decides where that happens. The in-process one is the simplest;
worker-process isolation (a crash or hang costs one result) plugs in behind
the same protocol.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .model import Artifact, Backend, Outcome, Unsupported


@dataclass(frozen=True)
class Execution:
    """A backend's raw outputs, or the outcome that stopped it before comparison."""

    outputs: tuple[np.ndarray, ...] | None
    failure: Outcome | None = None
    message: str = ""
    #: Seconds spent inside the backend's own `prepare` and `run` calls.
    prepare_seconds: float = 0.0
    run_seconds: float = 0.0


def error_text(exc: BaseException, limit: int = 2000) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def execute(backend: Backend, artifact: Artifact) -> Execution:
    start = time.perf_counter()
    try:
        session = backend.prepare(artifact.model_path)
    except Unsupported as exc:
        return Execution(None, Outcome.UNSUPPORTED, str(exc), time.perf_counter() - start)
    except Exception as exc:
        return Execution(None, Outcome.LOAD_FAIL, error_text(exc), time.perf_counter() - start)
    prepared = time.perf_counter()
    try:
        outputs = backend.run(session, artifact.inputs)
    except Unsupported as exc:
        return Execution(None, Outcome.UNSUPPORTED, str(exc), prepared - start, time.perf_counter() - prepared)
    except Exception as exc:
        return Execution(None, Outcome.RUN_ERROR, error_text(exc), prepared - start, time.perf_counter() - prepared)
    done = time.perf_counter()
    return Execution(tuple(np.asarray(o) for o in outputs), None, "", prepared - start, done - prepared)


class Executor(Protocol):
    def execute(self, backend: Backend, artifact: Artifact) -> Execution: ...

    def close(self) -> None: ...


class InProcessExecutor:
    """Runs backends in the driver process: fastest, but a segfault ends the run."""

    def execute(self, backend: Backend, artifact: Artifact) -> Execution:
        return execute(backend, artifact)

    def close(self) -> None:
        pass
