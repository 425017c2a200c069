"""Comparison: exact integers, tolerances from the rule, ULP, and special values apart."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from conformance.compare import EPSILON, judge, tolerance_for, ulp_distance
from conformance.model import OpClass, Outcome, Tolerance

F32 = tolerance_for("float32", OpClass.ELEMENTWISE)


def one(actual: np.ndarray, expected: np.ndarray, like: np.ndarray | None = None, tol: Tolerance = F32, **kw):
    return judge([actual], [expected], [expected if like is None else like], tol, **kw)


def test_tolerance_follows_the_rule() -> None:
    tol = tolerance_for("float16", OpClass.MATMUL)
    assert tol.rtol == pytest.approx(256 * EPSILON["float16"])
    assert tolerance_for("int32", OpClass.MATMUL) == Tolerance(0.0, 0.0)
    override = Tolerance(1e-2, 1e-3)
    assert tolerance_for("float32", OpClass.EXACT, override) is override


def test_integers_compare_exactly() -> None:
    exp = np.array([1, 2, 3], dtype=np.int32)
    assert one(exp.copy(), exp).outcome is Outcome.PASS
    v = one(np.array([1, 2, 4], dtype=np.int32), exp)
    assert v.outcome is Outcome.MISMATCH
    assert v.metrics.max_abs_error == 1 and v.metrics.worst_index == (2,)
    assert v.metrics.fraction_off == pytest.approx(1 / 3)


def test_passing_results_carry_metrics() -> None:
    truth = np.array([1.0, 2.0, 3.0], dtype=np.float64)
    actual = np.array([1.0, np.nextafter(np.float32(2.0), np.float32(3.0)), 3.0], dtype=np.float32)
    v = one(actual, truth, like=truth.astype(np.float32))
    assert v.outcome is Outcome.PASS
    assert v.metrics.max_ulp == 1.0
    assert v.metrics.max_abs_error == pytest.approx(2.0**-22)
    assert v.metrics.elements == 3 and v.metrics.worst_index == (1,)


def test_finite_mismatch_names_the_worst_element() -> None:
    truth = np.zeros((2, 3))
    actual = np.zeros((2, 3), dtype=np.float32)
    actual[1, 2] = 0.5
    v = one(actual, truth, like=truth.astype(np.float32))
    assert v.outcome is Outcome.MISMATCH
    assert v.metrics.worst_index == (1, 2) and v.metrics.worst_actual == 0.5 and v.metrics.worst_expected == 0.0
    assert "1 of 6 elements off" in v.message and "[1, 2]" in v.message


def test_relative_error_near_zero_does_not_explode() -> None:
    truth = np.array([1e-30, 1.0])
    actual = np.array([2e-30, 1.0], dtype=np.float32)
    v = one(actual, truth, like=truth.astype(np.float32))
    assert v.outcome is Outcome.PASS, "a 1e-30 absolute difference must not be a failure"
    assert v.metrics.max_rel_error < 1e-20


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        (np.nan, 1.0),
        (1.0, np.nan),
        (np.inf, -np.inf),
        (np.inf, 1.0),
        (-0.0, 0.0),
    ],
)
def test_special_value_disagreements_are_special(actual: float, expected: float) -> None:
    v = one(np.array([actual], np.float32), np.array([expected], np.float32))
    assert v.outcome is Outcome.SPECIAL, v
    assert v.metrics.special_mismatches == 1


def test_signed_zero_is_not_judged_where_the_spec_leaves_it_open() -> None:
    v = one(np.array([-0.0], np.float32), np.array([0.0], np.float32), check_signed_zero=False)
    assert v.outcome is Outcome.PASS


def test_matching_specials_pass() -> None:
    vals = np.array([np.nan, np.inf, -np.inf, -0.0], np.float32)
    assert one(vals.copy(), vals).outcome is Outcome.PASS


def test_specials_are_judged_against_the_case_dtype_not_float64() -> None:
    """A float32 result that overflows where float64 does not is right to be inf."""
    truth = np.array([1e39])
    like = np.array([np.inf], np.float32)
    assert one(np.array([np.inf], np.float32), truth, like=like).outcome is Outcome.PASS


def test_shape_and_dtype_are_their_own_outcomes() -> None:
    exp = np.zeros((2, 2), np.float32)
    assert one(np.zeros((4,), np.float32), exp).outcome is Outcome.SHAPE
    assert one(np.zeros((2, 2), np.float64), exp).outcome is Outcome.DTYPE
    assert judge([], [exp], [exp], F32).outcome is Outcome.SHAPE


def test_empty_outputs_pass() -> None:
    exp = np.zeros((0, 3), np.float32)
    assert one(exp.copy(), exp).outcome is Outcome.PASS


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, ml_dtypes.bfloat16])
def test_ulp_distance_counts_representable_values(dtype) -> None:
    dt = np.dtype(dtype)
    one_ = np.array([1.0], dt)
    nxt = np.nextafter(one_.astype(np.float64), 2).astype(dt) if dt.itemsize == 8 else None
    step = float(EPSILON[dt.name])
    two_up = np.array([1.0 + 2 * step], dt)
    assert ulp_distance(two_up, one_, dt)[0] == 2
    assert ulp_distance(np.array([-0.0], dt), np.array([0.0], dt), dt)[0] == 0
    assert ulp_distance(np.array([-1.0], dt), np.array([1.0], dt), dt)[0] > 1000
    if nxt is not None:
        assert ulp_distance(nxt, one_, dt)[0] == 1


def test_bfloat16_outputs_are_judged() -> None:
    exp = np.array([1.0, 2.0], ml_dtypes.bfloat16)
    tol = tolerance_for("bfloat16", OpClass.ELEMENTWISE)  # 4 bfloat16 ULP
    assert one(exp.copy(), exp.astype(np.float64), like=exp, tol=tol).outcome is Outcome.PASS
    # atol + rtol·|e| allows 8 ULP at 1.0: 8 above passes, 16 above does not.
    edge = np.array([1.0 + 8 * 2.0**-7, 2.0], ml_dtypes.bfloat16)
    assert one(edge, exp.astype(np.float64), like=exp, tol=tol).outcome is Outcome.PASS
    off = np.array([1.0 + 16 * 2.0**-7, 2.0], ml_dtypes.bfloat16)
    verdict = one(off, exp.astype(np.float64), like=exp, tol=tol)
    assert verdict.outcome is Outcome.MISMATCH and verdict.metrics.max_ulp == 16


def test_without_values_only_the_number_shape_and_dtype_of_outputs_are_judged() -> None:
    """What a random op's output is judged by (Unspecified.VALUES): a different draw passes, a wrong shape not."""
    expected = [np.array([0.0, 1.0, 1.0], dtype=np.float32)]
    tol = Tolerance(0.0, 0.0)
    other_draw = [np.array([1.0, 0.0, 1.0], dtype=np.float32)]
    assert judge(other_draw, expected, expected, tol).outcome is Outcome.MISMATCH
    assert judge(other_draw, expected, expected, tol, check_values=False).outcome is Outcome.PASS
    wrong_shape = [np.zeros(4, dtype=np.float32)]
    assert judge(wrong_shape, expected, expected, tol, check_values=False).outcome is Outcome.SHAPE
    wrong_dtype = [np.zeros(3, dtype=np.float64)]
    assert judge(wrong_dtype, expected, expected, tol, check_values=False).outcome is Outcome.DTYPE
    assert judge([], expected, expected, tol, check_values=False).outcome is Outcome.SHAPE
