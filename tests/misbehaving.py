"""Backends that really misbehave, for the isolation tests: no mocks.

Each behaves like the reference evaluator except on models that contain an
`Add` node, where it segfaults, aborts, hangs or allocates without bound.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from conformance.backends.reference import ReferenceBackend


class _Misbehaving(ReferenceBackend):
    name = "misbehaving"

    def prepare(self, model_path: Path) -> Any:
        ops = {n.op_type for n in onnx.load(str(model_path)).graph.node}
        return super().prepare(model_path), "Add" in ops

    def run(self, session: Any, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        inner, trigger = session
        if trigger:
            self.misbehave()
        return super().run(inner, inputs)

    def misbehave(self) -> None:
        raise NotImplementedError


class Segfault(_Misbehaving):
    name = "segfault"

    def misbehave(self) -> None:
        print("the backend's chatter on stdout", flush=True)
        ctypes.string_at(0)  # reads address 0: SIGSEGV


class Abort(_Misbehaving):
    name = "abort"

    def misbehave(self) -> None:
        # As a Rust library panics with RUST_BACKTRACE=1: the reason, then a backtrace longer than any tail.
        os.write(2, b"thread '<unnamed>' panicked at src/ops/add.rs:42:9:\nabout to abort: the backend's last words\n")
        os.write(
            2,
            b"stack backtrace:\n"
            + b"".join(b"  %d: frame_%d\n             at src/frame.rs:1:1\n" % (i, i) for i in range(200)),
        )
        os.abort()


class Hang(_Misbehaving):
    name = "hang"

    def misbehave(self) -> None:
        while True:
            time.sleep(0.05)


class Slow(_Misbehaving):
    """Runs an `Add` model for `seconds`, then answers: slow, not hung."""

    name = "slow"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def misbehave(self) -> None:
        time.sleep(self.seconds)


class HangInAChild(_Misbehaving):
    """As IREE does: the work (a compile) runs in a child process, and the child is what hangs."""

    name = "hang-in-a-child"

    def __init__(self, pid_file: Path) -> None:
        self.pid_file = pid_file

    def misbehave(self) -> None:
        import subprocess

        child = subprocess.Popen(["sleep", "300"])
        self.pid_file.write_text(str(child.pid))
        child.wait()


class Hog(_Misbehaving):
    name = "hog"

    def misbehave(self) -> None:
        hoard = []
        while True:
            hoard.append(np.ones(256 * 1024 * 1024, dtype=np.uint8))  # touches 256 MiB a step


class Gated(_Misbehaving):
    """On an `Add` model, says it started (`gate` + ".started") and waits until the driver creates `gate`."""

    name = "gated"

    def __init__(self, gate: Path) -> None:
        self.gate = gate

    def misbehave(self) -> None:
        self.gate.with_suffix(".started").touch()
        deadline = time.monotonic() + 60
        while not self.gate.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"nobody opened {self.gate}")
            time.sleep(0.01)


class BrokenLibrary(ReferenceBackend):
    """Segfaults as its worker loads it, the way a backend with a broken native library does."""

    name = "broken-library"

    def __getstate__(self) -> dict[str, Any]:
        return {"library": "libbroken.so"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        ctypes.string_at(0)  # loading the library in the worker: SIGSEGV


class SlowToPrepare(_Misbehaving):
    """As IREE compiling a large convolution: `prepare` of an `Add` model runs past any timeout."""

    name = "slow-to-prepare"

    def prepare(self, model_path: Path) -> Any:
        session = super().prepare(model_path)
        if session[1]:
            time.sleep(300)
        return session


class Tally(ReferenceBackend):
    """The reference evaluator that appends a line to `tally` for each model it runs: what it ran, seen from
    outside its worker."""

    name = "tally"

    def __init__(self, tally: Path) -> None:
        self.tally = tally

    def run(self, session: Any, inputs: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        with self.tally.open("a") as out:
            out.write("ran\n")
        return super().run(session, inputs)
