"""The three oracles: torch eager in the case dtype (source), torch in float64
(truth) and the ONNX reference evaluator on the exported model (spec).

They are computed once, when an artifact is built, and cached with it.
"""

from __future__ import annotations

import copy
import faulthandler
import os
import pickle
import select
import signal
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from .model import Relayed
from .tensors import flatten_outputs, to_numpy, to_torch

T = TypeVar("T")


class ChildCrashed(RuntimeError):
    """torch itself died on the inputs (a signal, not an exception): a finding about torch, not a lost run."""


def in_child(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a forked child, so a trap in torch's own kernels costs the instance, not the process.

    torch's CPU kernels divide integers with the machine's divide instruction:
    `torch.div(INT_MIN, -1, rounding_mode="trunc")` raises SIGFPE and takes the
    caller down. Special and wide integer inputs meet that quotient on purpose,
    so their oracles and torchscript's tracing (which runs the module) run here.
    An exception in the child comes back as `Relayed`, its text naming its class.

    GNU OpenMP is not fork-safe: a child entering a parallel region after the
    parent ran one waits forever at the team barrier (seen in a nightly's export
    pool: softmax in the child, hung for hours). The child therefore computes on
    one thread, which keeps torch out of OpenMP; and a child that still gives
    no answer within `CHILD_TIMEOUT_S` is killed and reported as hung.
    """
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork beside threads: the child only computes
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        faulthandler.disable()  # a trap here is the expected news, reported by the parent: no dump
        try:
            torch = sys.modules.get("torch")
            if torch is not None:
                torch.set_num_threads(1)
            try:
                payload = pickle.dumps(("ok", fn(*args)))
            except BaseException as exc:
                payload = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
            with os.fdopen(write, "wb") as out:
                out.write(payload)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as inp:
        data, hung = _read_within(inp, CHILD_TIMEOUT_S)
    if hung:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise ChildCrashed(f"torch's child process gave no answer within {CHILD_TIMEOUT_S:g} s (hung); killed")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise ChildCrashed(f"torch died with {name} (the process, not an exception)")
    if not data:
        raise ChildCrashed(f"torch's child process ended with status {os.waitstatus_to_exitcode(status)} and no result")
    kind, value = pickle.loads(data)
    if kind == "error":
        raise Relayed(value)
    return value


#: Seconds a forked torch computation may take before it is taken for hung (a plain one takes milliseconds).
CHILD_TIMEOUT_S = 120.0


def _read_within(stream: Any, timeout: float) -> tuple[bytes, bool]:
    """Everything the child writes until it closes the pipe, and whether the deadline came first."""
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stream], [], [], left)[0]:
            return b"".join(chunks), True
        chunk = os.read(stream.fileno(), 1 << 16)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)


def needs_child(inputs: Sequence[np.ndarray], values: str) -> bool:
    """Integer inputs drawn outside their plain range can hold INT_MIN beside -1."""
    return values != "plain" and any(np.asarray(x).dtype.kind in "iu" for x in inputs)


def run_torch(module: Any, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    import torch

    with torch.no_grad():
        result = module(*[to_torch(x) for x in inputs])
    return tuple(to_numpy(t) for t in flatten_outputs(result))


def run_torch_float64(module: Any, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """The module and its floating inputs promoted to float64: the truth floating outputs are judged by."""
    import torch

    promoted = copy.deepcopy(module).to(torch.float64)
    args = []
    for x in inputs:
        t = to_torch(x)
        args.append(t.to(torch.float64) if t.is_floating_point() else t)
    with torch.no_grad():
        result = promoted(*args)
    return tuple(to_numpy(t) for t in flatten_outputs(result))


def graph_input_names(model: Any) -> list[str]:
    initializers = {i.name for i in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in initializers]


def reference_session(model: Any) -> tuple[Any, list[str]]:
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(model), graph_input_names(model)


def run_reference_session(session: tuple[Any, list[str]], inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """NumPy's overflow and invalid-value warnings are what special-value inputs are for: not news."""
    import warnings

    evaluator, names = session
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return tuple(np.asarray(o) for o in evaluator.run(None, dict(zip(names, inputs, strict=True))))


def run_reference(model_bytes: bytes, inputs: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    import onnx

    return run_reference_session(reference_session(onnx.load_from_string(model_bytes)), inputs)
