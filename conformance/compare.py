"""Compare stage: judge a backend's outputs against the oracles.

Tolerances follow one rule instead of tuned numbers: an op class allows
`k` units of its dtype's machine epsilon, relative and absolute
(`rtol = atol = k * eps`), with `k` growing with how much rounding the class
accumulates. Integers and booleans compare exactly. NaN positions, infinity
signs and signed zeros are checked apart from finite values and give the
outcome `special`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .expectations import Expectation, ExpectationSet
from .expectations import apply as apply_expectation
from .model import (
    Artifact,
    CaseInstance,
    Metrics,
    OpClass,
    OpUse,
    OracleAgreement,
    Outcome,
    Result,
    Tolerance,
    Unspecified,
    Verdict,
    is_float,
)

#: Machine epsilon (distance from 1.0 to the next value) of each floating dtype.
EPSILON = {"float64": 2.0**-52, "float32": 2.0**-23, "float16": 2.0**-10, "bfloat16": 2.0**-7}

#: Units of epsilon each op class may be off by; derived from the rounding each
#: class accumulates: one rounding for elementwise, library approximations for
#: transcendental, O(n) summation for reductions and matmul/conv, and a
#: division by a computed statistic for normalization.
ULP_BUDGET = {
    OpClass.EXACT: 0,
    OpClass.ELEMENTWISE: 4,
    OpClass.TRANSCENDENTAL: 16,
    OpClass.REDUCTION: 64,
    OpClass.MATMUL: 256,
    OpClass.NORMALIZATION: 256,
}


def tolerance_for(dtype: np.dtype | str, op_class: OpClass, override: Tolerance | None = None) -> Tolerance:
    if override is not None:
        return override
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    eps = EPSILON.get(name)
    if eps is None:
        return Tolerance(0.0, 0.0)
    k = ULP_BUDGET[op_class]
    return Tolerance(rtol=k * eps, atol=k * eps)


_INT_VIEW = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}


def ulp_distance(actual: np.ndarray, expected: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Number of representable `dtype` values between the two, elementwise (0 for +0 vs -0)."""
    view = _INT_VIEW[dtype.itemsize]
    magnitude = np.int64((1 << (8 * dtype.itemsize - 1)) - 1)

    def ordered(x: np.ndarray) -> np.ndarray:
        bits = np.array(x.astype(dtype), order="C").view(view).astype(np.int64)
        return np.where(bits < 0, -(bits & magnitude), bits)

    a, e = ordered(actual), ordered(expected)
    # The true difference fits in 64 unsigned bits; modular uint64 arithmetic gets it exactly.
    au, eu = a.view(np.uint64), e.view(np.uint64)
    return np.where(a >= e, au - eu, eu - au).astype(np.float64)


def _compare_one(
    actual: np.ndarray,
    expected: np.ndarray,
    like: np.ndarray,
    tol: Tolerance,
    check_signed_zero: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per element: abs error, relative error, ulp, finite-off mask, special-mismatch mask.

    Special values are judged against `like` (the output in the case dtype), not
    the float64 truth: overflow and NaN propagation depend on the working
    precision, and a float32 matmul whose partial sums overflow is right to give inf.
    """
    dtype = like.dtype
    if not is_float(dtype):
        a = actual.astype(np.float64)
        e = expected.astype(np.float64)
        err = np.abs(a - e)
        off = actual != expected.astype(actual.dtype, copy=False)
        return err, np.where(e != 0, err / np.maximum(np.abs(e), 1), err), err, off, np.zeros(off.shape, bool)
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    e_round = like.astype(np.float64)
    a_nan, e_nan = np.isnan(a), np.isnan(e_round)
    a_inf, e_inf = np.isinf(a), np.isinf(e_round)
    special = (a_nan != e_nan) | ((a_inf | e_inf) & ~(a_nan | e_nan) & (a != e_round))
    if check_signed_zero:
        zeros = (a == 0) & (e_round == 0)
        special |= zeros & (np.signbit(a) != np.signbit(e_round))
    finite = np.isfinite(a) & np.isfinite(e_round)
    err = np.where(finite, np.abs(a - e), 0.0)
    floor = tol.atol / tol.rtol if tol.rtol > 0 else float(np.finfo(np.float32).tiny)
    rel = np.where(finite, err / np.maximum(np.abs(e), floor), 0.0)
    off = finite & (err > tol.atol + tol.rtol * np.abs(e))
    ulp = np.where(finite, ulp_distance(a, e, dtype), 0.0)
    return err, rel, ulp, off, special


def _text(values: np.ndarray) -> np.ndarray:
    """An object array of strings with bytes decoded, so b"a" and "a" are the same string."""
    flat = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in values.ravel().tolist()]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(values.shape)


def judge(
    actual: Sequence[np.ndarray],
    expected: Sequence[np.ndarray],
    like: Sequence[np.ndarray],
    tol_for: Tolerance | dict[int, Tolerance],
    *,
    check_signed_zero: bool = True,
    check_values: bool = True,
) -> Verdict:
    """Judge a backend's outputs.

    `expected` holds the values finite outputs are measured against (the
    float64 truth where there is one); `like` holds the reference output in the
    case dtype, which fixes each output's shape, dtype and special values.
    Without `check_values` (outputs that are random draws) only the number,
    shapes and dtypes of the outputs are judged.
    """
    with np.errstate(all="ignore"):  # NaN and inf are judged explicitly, not warned about
        return _judge(actual, expected, like, tol_for, check_signed_zero, check_values)


def _judge(
    actual: Sequence[np.ndarray],
    expected: Sequence[np.ndarray],
    like: Sequence[np.ndarray],
    tol_for: Tolerance | dict[int, Tolerance],
    check_signed_zero: bool,
    check_values: bool = True,
) -> Verdict:
    if len(actual) != len(like):
        return Verdict(Outcome.SHAPE, message=f"backend returned {len(actual)} outputs, expected {len(like)}")
    total = off_total = special_total = 0
    best: tuple[float, int, tuple[int, ...], float | None, float | None] | None = None
    max_abs = max_rel = max_ulp = 0.0
    messages: list[str] = []
    for i, (a, e, ref) in enumerate(zip(actual, expected, like, strict=True)):
        a = np.asarray(a)
        tol = tol_for[i] if isinstance(tol_for, dict) else tol_for
        if a.shape != ref.shape:
            return Verdict(Outcome.SHAPE, message=f"output {i}: shape {list(a.shape)}, expected {list(ref.shape)}")
        strings = ref.dtype.kind == "O" and a.dtype.kind in "OUS"  # str, bytes or object: all string tensors
        if a.dtype != ref.dtype and not strings:
            return Verdict(Outcome.DTYPE, message=f"output {i}: dtype {a.dtype}, expected {ref.dtype}")
        total += a.size
        if a.size == 0 or not check_values:
            continue
        if strings:
            # String tensors compare exactly, element by element; they have no numeric metrics.
            off = _text(a) != _text(np.asarray(e))
            off_total += int(off.sum())
            if off.any():
                index = tuple(int(v) for v in np.unravel_index(int(np.argmax(off)), a.shape))
                if best is None or best[0] < np.inf:
                    best = (np.inf, i, index, None, None)
                got, want = a[index], np.asarray(e)[index]
                messages.append(
                    f"output {i}: {int(off.sum())} of {a.size} strings differ; first at {list(index)}: "
                    f"got {got!r}, expected {want!r}"
                )
            continue
        err, rel, ulp, off, special = _compare_one(a, np.asarray(e), ref, tol, check_signed_zero)
        off_total += int(off.sum())
        special_total += int(special.sum())
        max_abs = max(max_abs, float(err.max()))
        max_rel = max(max_rel, float(rel.max()))
        max_ulp = max(max_ulp, float(ulp.max()))
        bound = tol.atol + tol.rtol * np.abs(np.where(np.isfinite(e), e, 0).astype(np.float64))
        badness = np.where(special, np.inf, err / np.where(bound > 0, bound, 1.0))
        flat = int(np.argmax(badness))
        score = float(badness.flat[flat])
        if best is None or score > best[0]:
            index = tuple(int(v) for v in np.unravel_index(flat, a.shape))
            best = (
                score,
                i,
                index,
                float(a.flat[flat]),  # one element, not a float64 copy of the whole array
                float(np.asarray(e).flat[flat]),
            )
        if off.any() or special.any():
            messages.append(
                f"output {i}: {int(off.sum())} of {a.size} elements off tolerance (rtol={tol.rtol:.3g}, "
                f"atol={tol.atol:.3g}), {int(special.sum())} special-value mismatches"
            )
    metrics = Metrics(
        max_abs_error=max_abs,
        max_rel_error=max_rel,
        max_ulp=max_ulp,
        fraction_off=(off_total + special_total) / total if total else 0.0,
        worst_output=best[1] if best else 0,
        worst_index=best[2] if best else (),
        worst_actual=best[3] if best else None,
        worst_expected=best[4] if best else None,
        special_mismatches=special_total,
        elements=total,
    )
    if not off_total and not special_total:
        return Verdict(Outcome.PASS, metrics)
    worst = (
        f"; worst at output {metrics.worst_output} {list(metrics.worst_index)}: "
        f"got {metrics.worst_actual!r}, expected {metrics.worst_expected!r}"
        if metrics.worst_actual is not None or metrics.worst_expected is not None
        else ""
    )
    outcome = Outcome.MISMATCH if off_total else Outcome.SPECIAL
    return Verdict(outcome, metrics, "; ".join(messages) + worst)


# --------------------------------------------------------------------------- judging an instance


def tolerances(
    instance: CaseInstance, like: Sequence[Any], scale: float = 1.0, *, at_least_rule: bool = False
) -> dict[int, Tolerance]:
    """Per-output tolerances; `at_least_rule` never goes below the op class's rule.

    Whether two oracles agree is a question of semantics, not of how tightly a
    case judges backends: a case that demands exactness must not make torch
    and the reference evaluator "diverge" over one rounding.
    """
    out = {}
    for i, ref in enumerate(like):
        tol = tolerance_for(ref.dtype, instance.case.op_class, instance.case.tolerance)
        if at_least_rule:
            rule = tolerance_for(ref.dtype, instance.case.op_class)
            tol = Tolerance(max(tol.rtol, rule.rtol), max(tol.atol, rule.atol))
        out[i] = Tolerance(tol.rtol * scale, tol.atol * scale)
    return out


#: Bump when oracle_agreement or the tolerance rule changes: cached agreements are then recomputed.
AGREEMENT_RULE = 1


def oracle_agreement(instance: CaseInstance, artifact: Artifact) -> tuple[OracleAgreement, str]:
    """Do torch and the reference evaluator agree, and if not, how do they differ?

    Both round, so each may use the whole tolerance: the bound is doubled.
    """
    o = artifact.oracles
    if o.spec is None:
        return OracleAgreement.NO_SPEC, f"the ONNX reference evaluator cannot run the model: {o.spec_error}"
    signed_zero = Unspecified.SIGNED_ZERO not in instance.case.unspecified
    bounds = tolerances(instance, o.source, 2.0, at_least_rule=True)
    values = Unspecified.VALUES not in instance.case.unspecified
    verdict = judge(o.spec, o.source, o.source, bounds, check_signed_zero=signed_zero, check_values=values)
    if verdict.outcome is Outcome.PASS:
        return OracleAgreement.AGREE, ""
    return OracleAgreement.DIVERGE, f"reference evaluator vs torch: {verdict.outcome}: {verdict.message}"


def cached_agreement(instance: CaseInstance, artifact: Artifact) -> tuple[OracleAgreement, str]:
    """The oracles' agreement, computed once per artifact and kept beside it: a warm run re-judges nothing twice."""
    path = artifact.directory / "oracle" / "agreement.json"
    try:
        data = json.loads(path.read_text())
        if data.get("rule") == AGREEMENT_RULE:
            return OracleAgreement(data["agreement"]), data["why"]
    except (OSError, ValueError, KeyError):
        pass
    agreement, why = oracle_agreement(instance, artifact)
    with contextlib.suppress(OSError):  # a read-only cache only costs the recomputation
        path.write_text(json.dumps({"rule": AGREEMENT_RULE, "agreement": str(agreement), "why": why}))
    return agreement, why


def judge_outputs(instance: CaseInstance, artifact: Artifact, outputs: Sequence[Any], diverge: str) -> Verdict:
    """Against the float64 truth (or torch for integer outputs), unless the oracles diverge.

    Where torch and the spec disagree, the exported graph or the reference
    evaluator is in question, not the backend: a backend that matches either
    oracle passes, and the divergence is named in the message (the result's
    `oracle` field says `diverge`, so reports list it apart).
    """
    o = artifact.oracles
    signed_zero = Unspecified.SIGNED_ZERO not in instance.case.unspecified
    expected = o.truth if o.truth is not None else o.source
    rules = {"check_signed_zero": signed_zero, "check_values": Unspecified.VALUES not in instance.case.unspecified}
    against_torch = judge(outputs, expected, o.source, tolerances(instance, o.source), **rules)
    if not diverge or o.spec is None:
        return against_torch
    against_spec = judge(outputs, o.spec, o.spec, tolerances(instance, o.spec, 2.0), **rules)
    if against_spec.outcome is Outcome.PASS:
        note = f"oracles diverge ({diverge}); the backend matches the reference evaluator"
        return replace(against_spec, message=note)
    if against_torch.outcome is Outcome.PASS:
        note = f"oracles diverge ({diverge}); the backend matches torch, not the reference evaluator"
        return replace(against_torch, message=note)
    note = f"oracles diverge ({diverge}); the backend matches neither. Against the reference evaluator"
    return replace(against_spec, message=f"{note}: {against_spec.message}")


def apply_expectations(
    results: Sequence[Result],
    expectations: ExpectationSet | Sequence[Expectation],
    run_id: str,
    ops: Iterable[OpUse] | None = None,
) -> list[Result]:
    """Stamp each result with its run and let the known failures turn it into xfail or xpass.

    One function for the engine, certification and the pytest plugin: a result
    must read the same whichever front end recorded it. `ops`: what the graph
    the results ran holds (one graph: one instance, exporter and opset), for
    the entries that know a cause by its op; None where it is not known.
    """
    types = None if ops is None else frozenset(u.op for u in ops)
    return [apply_expectation(replace(r, run_id=run_id), expectations, types) for r in results]
