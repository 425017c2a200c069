"""Reduce stage: the smallest inputs that still show a lone node's discrepancy.

A maintainer reads a 2x3 tensor with one NaN in seconds and a 64x128 one
not at all. Inputs shrink delta-debugging style: first fewer elements along
each axis (kept subsets, then removed ones, down to single elements), then
simpler values (0, then 1), keeping every step only while the discrepancy
persists, and the node's attributes are never touched. Inputs that were
constants in the model (axes, shapes, indices) are left alone: changing
them changes what the op is asked to do, not how big the example is.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace

import numpy as np
import onnx

from .compare import judge, tolerance_for
from .localize import BackendDied, Localization, Runner, Status, in_process
from .model import Backend, OpClass, Outcome, is_float
from .oracle import reference_session, run_reference_session


class _OutOfTime(Exception):
    """The time budget is spent: the best inputs so far are the answer."""


#: What a lone model should give on some inputs, and who says so: (model bytes, inputs) -> (outputs, source).
Expect = Callable[[bytes, list[np.ndarray]], tuple[Sequence[np.ndarray], str]]


def by_reference(model_bytes: bytes, inputs: list[np.ndarray]) -> tuple[Sequence[np.ndarray], str]:
    """The ONNX reference evaluator's outputs: what reducing compares a backend with, by default."""
    outputs = run_reference_session(reference_session(onnx.load_from_string(model_bytes)), inputs)
    return outputs, "ONNX reference evaluator"


def fit_model(model_bytes: bytes, inputs: Sequence[np.ndarray]) -> bytes:
    """The model with its graph inputs shaped like `inputs`: a reduced example must still be a valid model.

    Output and intermediate shapes are cleared rather than recomputed; they
    follow from the inputs and a stale one would make a backend refuse the model.
    """
    model = onnx.load_from_string(model_bytes)
    initializers = {i.name for i in model.graph.initializer}
    fed = [i for i in model.graph.input if i.name not in initializers]
    if len(fed) != len(inputs):
        raise ValueError(f"the model has {len(fed)} graph inputs, {len(inputs)} given")
    for value_info, array in zip(fed, inputs, strict=True):
        tensor_type = value_info.type.tensor_type
        tensor_type.elem_type = onnx.helper.np_dtype_to_tensor_dtype(np.asarray(array).dtype)
        tensor_type.ClearField("shape")
        tensor_type.shape.SetInParent()  # a scalar still has a shape, of no dimensions
        for size in np.shape(array):
            tensor_type.shape.dim.add().dim_value = int(size)
    for output in model.graph.output:
        for dim in output.type.tensor_type.shape.dim:
            dim.Clear()  # the rank stays (ONNX's checker wants a shape on outputs); the sizes follow the inputs
    del model.graph.value_info[:]
    return model.SerializeToString()


def still_fails_on(
    backend: Backend,
    model_bytes: bytes,
    *,
    op_class: OpClass,
    outcome: Outcome | None = None,
    raises: bool = False,
    check_signed_zero: bool = True,
    run: Runner | None = None,
    died: bool = False,
    expect: Expect = by_reference,
) -> Callable[[list[np.ndarray]], bool]:
    """Does the backend still disagree with the reference on these inputs, in the same way?

    A candidate the reference (`expect`: the evaluator, or the backend that stood
    in for it) cannot run is no example at all (shapes that no longer agree). The same way means the same outcome
    (`special` stays `special`): a candidate on which the backend disagrees
    differently shows another bug. Where the original failure is the backend
    raising (`raises`), a candidate fails when the backend still raises (still
    dies, where it `died`: `run` then isolates it).
    """
    run = run or in_process(backend)

    def check(candidate: list[np.ndarray]) -> bool:
        fitted = fit_model(model_bytes, candidate)
        try:
            expected = [np.asarray(e) for e in expect(fitted, candidate)[0]]
        except Exception:
            return False
        try:
            actual = run(fitted, list(candidate))
        except BackendDied:
            return raises
        except Exception:
            return raises and not died
        if raises:
            return False
        tols = {i: tolerance_for(e.dtype, op_class) for i, e in enumerate(expected)}
        verdict = judge(actual, expected, expected, tols, check_signed_zero=check_signed_zero)
        return verdict.outcome is not Outcome.PASS and (outcome is None or verdict.outcome is outcome)

    return check


def reduce_inputs(
    model_bytes: bytes,
    inputs: Sequence[np.ndarray],
    still_fails: Callable[[list[np.ndarray]], bool],
    time_budget: float,
    *,
    keep: Collection[int] = (),
) -> list[np.ndarray]:
    """Smaller, simpler inputs on which `still_fails` holds; the inputs as given if it does not hold on them.

    `model_bytes` is the model the inputs feed; `still_fails` is expected to
    run it fitted to each candidate (`fit_model`), as `still_fails_on` does.
    Inputs whose index is in `keep` are never changed. No axis shrinks to
    zero elements: an empty tensor is a different example. When the budget
    runs out, the smallest failing inputs found so far are returned.
    """
    deadline = time.monotonic() + time_budget
    current = [np.asarray(x) for x in inputs]
    if not _holds(still_fails, current):
        return current
    onnx.load_from_string(model_bytes)  # a model that does not parse is the caller's error, said now
    free = [i for i in range(len(current)) if i not in keep]

    seen: dict[tuple[object, ...], bool] = {}

    def attempt(candidate: list[np.ndarray]) -> bool:
        key = tuple((x.dtype.str, x.shape, np.ascontiguousarray(x).tobytes()) for x in candidate)
        if key not in seen:
            if time.monotonic() > deadline:
                raise _OutOfTime
            seen[key] = _holds(still_fails, candidate)
        return seen[key]

    try:
        _shrink_shapes(current, free, attempt)
        _simplify_values(current, free, attempt)
    except _OutOfTime:
        pass
    return current


def _holds(still_fails: Callable[[list[np.ndarray]], bool], candidate: list[np.ndarray]) -> bool:
    """A predicate that raises on a candidate has not shown the failure on it."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return bool(still_fails(list(candidate)))
    except Exception:
        return False


def _split(items: Sequence[int], n: int) -> list[list[int]]:
    size, extra = divmod(len(items), n)
    chunks, start = [], 0
    for k in range(n):
        end = start + size + (1 if k < extra else 0)
        chunks.append(list(items[start:end]))
        start = end
    return [c for c in chunks if c]


def _shrink_axis(current: list[np.ndarray], group: list[int], axis: int, attempt: Callable) -> bool:
    """ddmin over the indices along `axis`, for the inputs in `group` together; True when anything shrank."""
    kept = list(range(current[group[0]].shape[axis]))
    shrank = False
    n = 2
    while len(kept) > 1:
        chunks = _split(kept, n)
        subsets = chunks + ([[k for k in kept if k not in c] for c in chunks] if n > 2 else [])
        for subset in subsets:
            if not subset or len(subset) == len(kept):
                continue
            candidate = list(current)
            index = np.asarray([kept.index(k) for k in subset])
            for i in group:
                candidate[i] = np.take(current[i], index, axis=axis)
            if attempt(candidate):
                current[:] = candidate
                kept = subset
                shrank = True
                n = 2 if subset in chunks else max(n - 1, 2)
                break
        else:
            if n >= len(kept):
                break
            n = min(2 * n, len(kept))
    return shrank


def _shrink_shapes(current: list[np.ndarray], free: list[int], attempt: Callable) -> None:
    """Axis by axis, the inputs that share the axis' length together first, then each input alone."""
    progress = True
    while progress:
        progress = False
        for axis in range(max((current[i].ndim for i in free), default=0)):
            lengths = [current[i].shape[axis] for i in free if current[i].ndim > axis]
            longest = max(lengths, default=1)
            together = [i for i in free if current[i].ndim > axis and current[i].shape[axis] == longest]
            if longest > 1 and len(together) > 1:
                progress |= _shrink_axis(current, together, axis, attempt)
            for i in free:
                if current[i].ndim > axis and current[i].shape[axis] > 1:
                    progress |= _shrink_axis(current, [i], axis, attempt)


def _simple_values(dtype: np.dtype) -> list[object]:
    if dtype.kind == "b":
        return [False, True]
    if dtype.kind in "iu" or is_float(dtype):
        return [0, 1]
    return []  # strings and the like: no simpler value to offer


def _simplify_values(current: list[np.ndarray], free: list[int], attempt: Callable) -> None:
    """Elements become 0, else 1, in chunks and then one by one; what cannot is what the failure needs."""
    for i in free:
        simples = [np.asarray(v).astype(current[i].dtype) for v in _simple_values(current[i].dtype)]
        for rank, value in enumerate(simples):
            flat = current[i].reshape(-1)
            pending = [p for p in range(flat.size) if not any(_same(flat[p], s) for s in simples[: rank + 1])]
            n = 1
            while pending:
                progress = False
                for chunk in _split(pending, min(n, len(pending))):
                    candidate = list(current)
                    changed = current[i].reshape(-1).copy()
                    changed[chunk] = value
                    candidate[i] = changed.reshape(current[i].shape)
                    if attempt(candidate):
                        current[:] = candidate
                        pending = [p for p in pending if p not in chunk]
                        progress = True
                if not progress:
                    if n >= len(pending):
                        break
                    n = min(2 * n, len(pending))


def _same(a: np.generic, b: np.ndarray) -> bool:
    return bool(a == b) and (not is_float(b.dtype) or np.signbit(a) == np.signbit(b))


def reduced(
    localization: Localization,
    backend: Backend,
    *,
    op_class: OpClass,
    time_budget: float = 10.0,
    check_signed_zero: bool = True,
    run: Runner | None = None,
    died: bool = False,
    expect: Expect = by_reference,
) -> Localization:
    """A localization whose lone-node example is as small as reducing made it, re-run so its numbers are its own.

    Reducing works on a culprit, or on a whole graph that fails only as a whole
    (where `whole_graph` put the model in); anything else comes back unchanged.
    `expect` gives the right answer for a candidate: the reference evaluator,
    or where it cannot run the node (RNN's Relu activation, in onnx 1.23) the
    backend localizing stood in with.
    """
    if localization.status not in (Status.NODE, Status.WHOLE_GRAPH) or not localization.model_bytes:
        return localization
    still_fails = still_fails_on(
        backend,
        localization.model_bytes,
        op_class=op_class,
        outcome=localization.outcome,
        raises=bool(localization.error),
        check_signed_zero=check_signed_zero,
        run=run,
        died=died,
        expect=expect,
    )
    inputs = reduce_inputs(
        localization.model_bytes,
        localization.inputs,
        still_fails,
        time_budget,
        keep=localization.constant_inputs,
    )
    model_bytes = fit_model(localization.model_bytes, inputs)
    outputs, source = expect(model_bytes, inputs)
    expected = tuple(np.asarray(e) for e in outputs)
    try:
        actual = tuple((run or in_process(backend))(model_bytes, inputs))
    except Exception:
        actual = ()
    metrics = localization.metrics
    if actual:
        tols = {i: tolerance_for(e.dtype, op_class) for i, e in enumerate(expected)}
        metrics = judge(actual, expected, expected, tols, check_signed_zero=check_signed_zero).metrics
    return replace(
        localization,
        model_bytes=model_bytes,
        inputs=tuple(inputs),
        expected=expected,
        expected_by=source,
        actual=actual,
        metrics=metrics,
    )
