"""Generation: stable ids, byte-identical inputs, special values that change values only."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conformance.generate import (
    GRID_SIDE,
    CaseError,
    Cover,
    discover_cases,
    draw_covering,
    draw_instances,
    make_values,
    numpy_dtype,
    select_cases,
    special_values,
)
from conformance.model import Values, is_float

DRAW_SCRIPT = """
import hashlib, json, sys
from conformance.generate import discover_cases, draw_instances
out = {}
for case in discover_cases():
    for inst in draw_instances(case, seed=int(sys.argv[1]), max_examples=3):
        out[inst.id] = [hashlib.sha256(x.tobytes()).hexdigest() + str(x.dtype) + str(x.shape) for x in inst.inputs]
print(json.dumps(out, sort_keys=True))
"""


def _draw_in_subprocess(seed: int, hash_seed: str) -> dict[str, list[str]]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    proc = subprocess.run(
        [sys.executable, "-c", DRAW_SCRIPT, str(seed)], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(proc.stdout)


def test_same_seed_gives_same_ids_and_input_bytes_in_any_process() -> None:
    """In this process and in two others with other hash seeds: the same ids and input bytes (every case is
    drawn once per process, so the three processes are the whole cost)."""
    here = {}
    for case in discover_cases():
        for inst in draw_instances(case, seed=11, max_examples=3):
            here[inst.id] = [hashlib.sha256(x.tobytes()).hexdigest() + str(x.dtype) + str(x.shape) for x in inst.inputs]
    assert here, "no instances drawn at all"
    for hash_seed in ("1", "987"):
        assert _draw_in_subprocess(11, hash_seed) == here, (
            f"ids or input bytes depend on the process (PYTHONHASHSEED={hash_seed}: hash seed, addresses, dict order)"
        )


def test_different_seeds_draw_different_instances() -> None:
    case = select_cases(discover_cases(), "add")[0]
    a = {i.id for i in draw_instances(case, seed=1, max_examples=5)}
    b = {i.id for i in draw_instances(case, seed=2, max_examples=5)}
    assert a != b


def test_special_values_change_values_and_nothing_else() -> None:
    """Same configuration draws in both modes; only input values differ.

    Special values can make two draws' inputs collide (a one-element tensor is
    NaN twice), and identical instances are kept once, so compare the sets of
    configurations drawn rather than the counts.
    """
    changed = 0
    for case in discover_cases():
        plain = draw_instances(case, seed=5, max_examples=3)
        special = draw_instances(case, seed=5, max_examples=3, special_values=True)
        configs = {json.dumps(p.params, sort_keys=True, default=str) for p in plain}
        assert configs == {json.dumps(s.params, sort_keys=True, default=str) for s in special}, (
            f"{case.path}: --special-values changed the configuration drawn"
        )
        by_config = {json.dumps(p.params, sort_keys=True, default=str): p for p in plain}
        for s in special:
            p = by_config[json.dumps(s.params, sort_keys=True, default=str)]
            assert [(x.dtype, x.shape) for x in p.inputs] == [(x.dtype, x.shape) for x in s.inputs]
            changed += any(x.tobytes() != y.tobytes() for x, y in zip(p.inputs, s.inputs, strict=True))
    assert changed > 0, "--special-values changed no input at all"


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
def test_special_pool_holds_the_values_that_break_implementations(dtype: str) -> None:
    pool = special_values(numpy_dtype(dtype)).astype(np.float64)
    assert np.isnan(pool).any(), "no NaN"
    assert np.isposinf(pool).any() and np.isneginf(pool).any(), "no ±inf"
    assert ((pool == 0) & np.signbit(pool)).any(), "no -0.0"
    tiny = float(__import__("ml_dtypes").finfo(numpy_dtype(dtype)).tiny)
    assert ((np.abs(pool) < tiny) & (pool != 0)).any(), "no subnormal"


def test_values_are_a_function_of_the_seed_only() -> None:
    a = make_values(42, (3, 4), numpy_dtype("bfloat16"), -3, 3, mode=Values.SPECIAL)
    b = make_values(42, (3, 4), numpy_dtype("bfloat16"), -3, 3, mode=Values.SPECIAL)
    assert a.tobytes() == b.tobytes()
    assert a.dtype.name == "bfloat16"


def test_draws_are_labelled_and_recorded() -> None:
    case = select_cases(discover_cases(), "conv2d")[0]
    inst = draw_instances(case, seed=0, max_examples=1)[0]
    for label in ("dtype", "groups", "kernel", "stride", "padding", "dilation", "x"):
        assert label in inst.params, f"draw {label!r} is not recorded in {inst.params}"
    assert inst.id.startswith("conv/conv2d[")


def test_selection_matches_names_and_tree_paths() -> None:
    cases = discover_cases()
    assert [c.name for c in select_cases(cases, "relu")] == ["relu"]
    assert all(c.name.startswith("relu") for c in select_cases(cases, "relu*"))
    assert {c.category for c in select_cases(cases, "shape/*")} == {"shape"}
    with pytest.raises(CaseError, match="no case matches 'nonexistent'"):
        select_cases(cases, "nonexistent")


def test_builtin_pack_has_the_required_kinds_of_case() -> None:
    categories = {c.category for c in discover_cases()}
    assert {"elementwise", "reduction", "linalg", "conv", "shape"} <= categories
    assert len(discover_cases()) >= 10


def test_scalar_draws_stay_scalars() -> None:
    """A 0-d input must reach torch and the exporters as 0-d, not as shape (1,)."""
    assert make_values(1, (), numpy_dtype("float32"), -1, 1, mode=Values.PLAIN).shape == ()
    assert make_values(1, (), numpy_dtype("bfloat16"), -1, 1, mode=Values.SPECIAL).shape == ()
    from conformance.tensors import to_torch

    assert tuple(to_torch(make_values(1, (), numpy_dtype("bfloat16"), -1, 1, mode=Values.PLAIN)).shape) == ()
    relu = select_cases(discover_cases(), "relu")[0]
    shapes = {inst.inputs[0].shape for inst in draw_instances(relu, seed=0, max_examples=10)}
    assert () in shapes, f"no 0-d draw among {shapes}"


def test_a_case_naming_behaviour_compare_cannot_leave_unjudged_is_refused_when_defined() -> None:
    """`unspecified=("nan-order",)` on eight cases was silently judged anyway; now it cannot be written."""
    import pytest

    from conformance.generate import case
    from conformance.model import Unspecified

    with pytest.raises(
        ValueError, match=r"case pool/maxish: unspecified='nan-order' .* \(known: signed-zero, values\)"
    ):

        @case("pool", unspecified=("nan-order",))
        def maxish(d):
            raise AssertionError("never drawn")

    @case("elementwise", unspecified=("signed-zero",))
    def negate(d):
        raise AssertionError("never drawn")

    assert negate.unspecified == (Unspecified.SIGNED_ZERO,)


def test_a_case_hash_covers_its_module_and_helpers_not_its_siblings(tmp_path, monkeypatch) -> None:
    import importlib
    import sys

    from conformance.generate import source_hash

    pkg = tmp_path / "packx"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "_helper.py").write_text("def helper():\n    return 1\n")
    (pkg / "a.py").write_text(
        "from ._helper import helper\nfrom .b import other\n\ndef draw(d):\n    return helper()\n"
    )
    (pkg / "b.py").write_text("def other():\n    return 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def hash_of_a() -> str:
        for name in [m for m in sys.modules if m == "packx" or m.startswith("packx.")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        return source_hash(importlib.import_module("packx.a").draw)

    first = hash_of_a()
    (pkg / "b.py").write_text("def other():\n    return 3  # a sibling edited\n")
    assert hash_of_a() == first, "editing a sibling case module changed another module's cache keys"
    (pkg / "_helper.py").write_text("def helper():\n    return 4  # the helper edited\n")
    assert hash_of_a() != first, "editing a helper the case uses must change its cache key"


# --------------------------------------------------------------------------- covering and value modes


#: The covering test runs in this many parts: every case's covering draw is the suite's longest test, and in
#: parts the xdist workers share it instead of one of them ending the suite alone.
COVERING_PARTS = 4


@pytest.mark.parametrize("part", range(COVERING_PARTS))
def test_covering_draws_every_value_of_every_parameter_and_keeps_the_random_draws(part: int) -> None:
    never = []
    cases = select_cases(discover_cases(), None)[part::COVERING_PARTS]
    assert len(cases) > 50, f"part {part} of the library holds only {len(cases)} cases"
    for case in cases:
        plain = draw_instances(case, seed=3, max_examples=2)
        covered = draw_covering(case, seed=3, max_examples=2, cover=Cover.EACH)
        assert [i.id for i in covered.instances[: len(plain)]] == [i.id for i in plain], (
            f"{case.path}: covering changed the random draws (frozen profiles would no longer draw)"
        )
        never += [(case.path, p.label, p.missing) for p in covered.coverage() if p.missing]
    assert not never, f"parameter values covering never drew: {never[:10]}"


def test_pairwise_covering_meets_every_pair_of_two_parameters() -> None:
    (case,) = select_cases(discover_cases(), "avg_pool2d")
    drawn = draw_covering(case, seed=0, max_examples=1, cover=Cover.PAIRS)
    for a, b in (("ceil_mode", "count_include_pad"), ("dtype", "ceil_mode")):
        met = {(i.params[a], i.params[b]) for i in drawn.instances}
        wanted = {(x, y) for x in drawn.domains[a] for y in drawn.domains[b]}
        assert met == wanted, f"avg_pool2d: pairs of {a} and {b} never drawn: {wanted - met}"


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "int32", "int64", "uint8"])
def test_a_large_enough_special_tensor_holds_every_special_value(dtype: str) -> None:
    np_dtype = numpy_dtype(dtype)
    pool = special_values(np_dtype)
    for seed in range(20):
        x = make_values(seed, (4, 5), np_dtype, -3, 3, mode=Values.SPECIAL)
        present = {v.tobytes() for v in x.reshape(-1)}
        missing = [v for v in pool if v.tobytes() not in present]
        assert not missing, f"make_values(seed={seed}, {dtype}, special): missing {missing}"
        small = make_values(seed, (3,), np_dtype, -3, 3, mode=Values.SPECIAL)
        assert len({v.tobytes() for v in small} & {v.tobytes() for v in pool}) == 3, "a small tensor: all specials"


def test_integer_specials_reach_past_float32_exactness_and_int32() -> None:
    assert {-(2**31), 2**31 - 1, 2**24 + 1, -(2**24 + 1), -1} <= set(special_values(np.dtype("int32")).tolist())
    assert {2**31 + 1, -(2**31 + 1), -(2**63)} <= set(special_values(np.dtype("int64")).tolist())


def test_wide_values_reach_large_magnitudes_and_stay_finite() -> None:
    x = make_values(7, (64,), np.dtype("float32"), -3, 3, mode=Values.WIDE)
    assert np.isfinite(x).all() and np.abs(x).max() > 1e4 and (x < 0).any() and (x > 0).any()
    h = make_values(7, (64,), numpy_dtype("float16"), -3, 3, mode=Values.WIDE)
    assert np.isfinite(h.astype(np.float64)).all(), "wide float16 values stay below its max: inf is a special value"
    i = make_values(7, (64,), np.dtype("int64"), -3, 3, mode=Values.WIDE)
    assert np.abs(i.astype(np.float64)).max() > 2.0**31


def test_a_binary_case_in_special_mode_gets_the_grid_of_both_operands_specials() -> None:
    (case,) = select_cases(discover_cases(), "elementwise/add")
    drawn = draw_covering(case, seed=0, max_examples=1, values=Values.SPECIAL, cover=Cover.EACH)
    grids = [i for i in drawn.instances if [x.shape for x in i.inputs] == [(GRID_SIDE, 1), (1, GRID_SIDE)]]
    dtypes = sorted(str(i.inputs[0].dtype) for i in grids)
    assert dtypes == sorted(set(dtypes)) and len(dtypes) == len(drawn.domains["dtype"]), f"one grid per dtype: {dtypes}"
    for grid in grids:
        a, b = grid.inputs
        pool = special_values(a.dtype)
        pairs = {(x.tobytes(), y.tobytes()) for x in a.reshape(-1) for y in b.reshape(-1)}
        missing = [(x, y) for x in pool for y in pool if (x.tobytes(), y.tobytes()) not in pairs]
        assert not missing, f"add's {a.dtype} grid: specials that never meet: {missing[:5]}"


def test_integer_division_grids_put_int_min_beside_minus_one() -> None:
    """The one overflowing quotient, which traps x86's divide: the divisor may be -1 in special mode, never 0."""
    for name in ("elementwise/div_floor", "elementwise/div_trunc", "remainder", "fmod"):
        (case,) = select_cases(discover_cases(), name)
        drawn = draw_covering(case, seed=0, max_examples=1, values=Values.SPECIAL, cover=Cover.EACH)
        met = set()
        for i in drawn.instances:
            a, b = i.inputs
            if a.dtype.kind == "i" and a.dtype.itemsize >= 4:
                assert not (b == 0).any(), f"{name}: a zero divisor in {i.id}"
                low = np.iinfo(a.dtype).min
                met |= {str(a.dtype) for x, y in np.broadcast(a, b) if x == low and y == -1}
        assert met >= {"int32", "int64"}, f"{name}: INT_MIN never meets -1 (met in {sorted(met)})"


def test_reductions_and_sorts_get_rows_all_nan_all_infinite_tied_and_signed_zeros() -> None:
    from conformance.generate import STRUCTURED_AXES, structured_values

    for name in ("reduction/sum", "sorting/argsort", "normalization/layer_norm", "reduction/argmax"):
        (case,) = select_cases(discover_cases(), name)
        drawn = draw_covering(case, seed=0, max_examples=1, values=Values.SPECIAL, cover=Cover.EACH)
        floats = [x.astype(np.float64) for i in drawn.instances for x in i.inputs if x.ndim >= 2 and is_float(x.dtype)]
        rows = [x.reshape(-1, x.shape[-1]) for x in floats] + [
            np.moveaxis(x, 0, -1).reshape(-1, len(x)) for x in floats
        ]
        seen = {"nan": False, "+inf": False, "-inf": False, "ties": False, "signed-zeros": False}
        for r in (r for block in rows for r in block if r.size >= 2):
            seen["nan"] |= bool(np.isnan(r).all())
            seen["+inf"] |= bool((r == np.inf).all())
            seen["-inf"] |= bool((r == -np.inf).all())
            seen["ties"] |= bool(np.isfinite(r).all() and (r == r[0]).all() and r[0] != 0)
            seen["signed-zeros"] |= bool((r == 0).all() and np.signbit(r).any() and not np.signbit(r).all())
        assert all(seen.values()), f"{name}: structured rows never drawn: {[k for k, v in seen.items() if not v]}"
    # Along the first axis too: a reduction over dim 0 sees the same rows.
    x = structured_values(np.ones((6, 2, 3), np.float32), STRUCTURED_AXES[1])
    assert np.isnan(x[:, 0, 0]).all() and (x[:, 0, 1] == np.inf).all()


def test_elementwise_cases_get_no_structured_instances() -> None:
    (case,) = select_cases(discover_cases(), "transcendental/exp")
    plain = draw_covering(case, seed=0, max_examples=2, values=Values.SPECIAL, cover=Cover.NONE)
    covered = draw_covering(case, seed=0, max_examples=2, values=Values.SPECIAL, cover=Cover.EACH)
    assert [i.id for i in plain.instances] == [i.id for i in covered.instances]


def test_value_modes_draw_the_same_parameters_and_distinct_ids() -> None:
    (case,) = select_cases(discover_cases(), "sin")
    modes = {m: draw_instances(case, seed=2, max_examples=3, values=m) for m in Values}
    params = {m: [json.dumps(i.params, sort_keys=True, default=str) for i in got] for m, got in modes.items()}
    assert params[Values.PLAIN] == params[Values.SPECIAL] == params[Values.WIDE]
    ids = [i.id for got in modes.values() for i in got]
    assert len(ids) == len(set(ids)) and all(i.values is m for m, got in modes.items() for i in got)


def test_covering_adds_a_large_instance_past_tile_widths_within_the_budget() -> None:
    from conformance.generate import LARGE_BUDGET, LARGE_SIDES

    for name in ("activation/relu", "reduction/sum", "elementwise/add"):
        (case,) = select_cases(discover_cases(), name)
        drawn = draw_covering(case, seed=0, max_examples=2, cover=Cover.EACH)
        large = [i for i in drawn.instances if any(x.ndim and x.shape[-1] in LARGE_SIDES for x in i.inputs)]
        assert large, f"{name}: no instance with an axis past a tile width"
        assert all(x.size <= LARGE_BUDGET for i in large for x in i.inputs)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_plain_values_stay_finite_where_the_case_range_passes_the_dtype(dtype: str) -> None:
    """A case drawing in [-1e5, 1e5] gave float16 infinities in plain mode (and an overflow warning)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = make_values(7, (4096,), numpy_dtype(dtype), -1e5, 1e5, Values.PLAIN)
    assert np.isfinite(values.astype(np.float32)).all(), f"make_values({dtype}, -1e5..1e5, plain) holds inf"


def test_a_selection_naming_one_pack_loads_that_pack_alone() -> None:
    """ONNX's node tests need no torch: `onnx-node/*` must not import the generated library (issue 16)."""
    from conformance.generate import packs_named

    names = ["builtin", "onnx-node"]
    assert packs_named("onnx-node/*", names) == {"onnx-node"}
    assert packs_named(["onnx-node/test_abs*", "onnx-node/test_add"], names) == {"onnx-node"}
    for mixed in ("onnx-node/*,relu", "*/test_abs", "elementwise/add", None, ""):
        assert packs_named(mixed, names) is None, mixed
    script = (
        "import sys\nfrom conformance.generate import discover_cases, select_cases\n"
        "cases = select_cases(discover_cases(None, 'onnx-node/test_abs*'), 'onnx-node/test_abs*', include_opt_in=True)\n"
        "assert cases and 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:3]\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_tensor_labelled_as_a_drawn_parameter_is_refused() -> None:
    """diff's `prepend` flag and its `prepend` tensor shared a label: the tensor overwrote the flag in the
    instance's parameters, so covering never saw `prepend=True` drawn and reported it missing."""
    import torch

    from conformance.casekit import Fn
    from conformance.generate import case
    from conformance.model import Spec

    @case("elementwise")
    def clash(d):
        given = d.boolean("weights")
        return Spec(Fn(torch.relu), (d.tensor("weights" if given else "x", (2,)),))

    with pytest.raises(CaseError, match=r"elementwise/clash: tensor label 'weights' already names a parameter"):
        draw_covering(clash, seed=0, max_examples=5, cover=Cover.EACH)


def test_quantize_cases_draw_saturation_and_exact_ties_and_never_nan() -> None:
    """Quantizing NaN is undefined (no integer holds it): special values keep ±inf, which saturate, and drop NaN.
    With `ties`, inputs sit exactly half way between two steps at a power-of-two scale, where round-half-to-even
    decides; plain values reach past both ends of the quantized range."""
    (case,) = select_cases(discover_cases(), "quant/quantize_per_tensor")
    special = draw_instances(case, seed=0, max_examples=4, values=Values.SPECIAL, cover=Cover.EACH)
    assert special and not any(np.isnan(i.inputs[0].astype(np.float64)).any() for i in special)
    assert any(np.isinf(i.inputs[0]).any() for i in special), "no infinity to saturate"
    plain = draw_instances(case, seed=0, max_examples=4, cover=Cover.EACH)
    exact = [
        i for i in plain if i.params.get("ties") and i.params["scale"] in (1.0, 0.25, 0.0078125) and i.inputs[0].size
    ]
    assert exact, [i.params for i in plain]
    for i in exact:
        steps = i.inputs[0].astype(np.float64) / i.params["scale"]
        assert np.all(steps - np.floor(steps) == 0.5), (i.params, i.inputs[0])
    # Past both ends of the quantized range: saturation is met on both sides.
    reach = [i.inputs[0].astype(np.float64) / i.params["scale"] for i in plain if i.inputs[0].size]
    low = min(float(r.min()) for r in reach)
    high = max(float(r.max()) for r in reach)
    assert low < -128 and high > 255, (low, high)
