"""Expectations: one file format, validated with errors that name the line, applied by run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from conformance.engine import RunOptions, run
from conformance.expectations import ExpectationError, apply, builtin_path, dumps, load, parse, removable
from conformance.model import Outcome, Result

from .conftest import conformance, make_result
from .test_engine import exp_exact

GOOD = """
# a comment
[[expectation]]
backend = "onnxruntime*"
case = "transcendental/exp"
outcome = ["mismatch", "special"]
reason = "exp is 2 ulp off"
link = "https://github.com/microsoft/onnxruntime/issues/1"
backend_versions = ">=1.18,<2"
opset = ">=17"

[[expectation]]
backend = "reference"
case = "shape/*"
outcome = "run-error"
reason = "flaky on purpose"
flaky = true
"""


def _result(outcome: Outcome, *, backend: str = "onnxruntime", case: str = "exp", category: str = "transcendental",
            version: str = "1.32.0", opset: int = 18) -> Result:  # fmt: skip
    return make_result(
        f"{category}/{case}[abc]",
        outcome,
        backend=backend,
        message="off by 2 ulp",
        backend_version=version,
        opset=opset,
    )


def test_a_good_file_parses() -> None:
    entries = parse(GOOD, "x.toml")
    assert [e.line for e in entries] == [3, 12]
    assert entries[0].outcomes == (Outcome.MISMATCH, Outcome.SPECIAL)
    assert entries[1].flaky


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[[expectation]]\nbackend='a'\ncase='b'\noutcome='mismatch'\n", "x.toml:1: missing 'reason'"),
        ("\n\n[[expectation]]\nbackend='a'\ncase='b'\noutcome='wrong'\nreason='r'\n", "x.toml:3: outcome 'wrong'"),
        ("[[expectation]]\nbackend='a'\ncase='b'\noutcome='pass'\nreason='r'\n", "cannot be expected"),
        ("[[expectation]]\nbackend='a'\ncase='b'\noutcome='crash'\nreason='r'\ncolour='red'\n", "unknown key 'colour'"),
        (
            "[[expectation]]\nbackend='a'\ncase='b'\noutcome='crash'\nreason='r'\nbackend_versions='>>1'\n",
            "not a version range",
        ),
        ("[[expectation]]\nbackend='a'\ncase='b'\noutcome='crash'\nreason='r'\nlink='ftp://x'\n", "http(s) URL"),
        ("[[expectation]]\nbackend = \n", "not valid TOML"),
        ("[expectations]\n", "unknown top-level key"),
    ],
)
def test_malformed_files_name_the_line_and_the_problem(text: str, needle: str) -> None:
    with pytest.raises(ExpectationError, match=None) as info:
        parse(text, "x.toml")
    assert needle in str(info.value), str(info.value)


def test_expected_failure_becomes_xfail_and_keeps_what_happened() -> None:
    entries = parse(GOOD)
    out = apply(_result(Outcome.MISMATCH), entries)
    assert out.outcome is Outcome.XFAIL
    assert out.waiver and out.waiver["actual"] == "mismatch" and out.waiver["reason"] == "exp is 2 ulp off"
    assert out.message.startswith("[mismatch]")


def test_a_pass_against_an_expectation_is_xpass_unless_flaky() -> None:
    entries = parse(GOOD)
    assert apply(_result(Outcome.PASS), entries).outcome is Outcome.XPASS
    flaky = apply(_result(Outcome.PASS, backend="reference", case="reshape", category="shape"), entries)
    assert flaky.outcome is Outcome.PASS and flaky.waiver


def test_an_unexpected_kind_of_failure_stays_a_failure() -> None:
    assert apply(_result(Outcome.CRASH), parse(GOOD)).outcome is Outcome.CRASH


def test_a_dtype_limits_an_entry() -> None:
    entries = parse(
        '[[expectation]]\nbackend = "openvino"\ncase = "*"\noutcome = "mismatch"\ndtype = "float64"\nreason = "f64 runs as f32"\n'
    )
    f64 = replace(_result(Outcome.MISMATCH, backend="openvino"), params={"dtype": "float64"})
    f32 = replace(f64, params={"dtype": "float32"})
    assert apply(f64, entries).outcome is Outcome.XFAIL
    assert apply(f32, entries).outcome is Outcome.MISMATCH


def test_version_and_opset_ranges_limit_an_entry() -> None:
    entries = parse(GOOD)
    assert apply(_result(Outcome.MISMATCH, version="2.1.0"), entries).outcome is Outcome.MISMATCH
    assert apply(_result(Outcome.MISMATCH, opset=16), entries).outcome is Outcome.MISMATCH


def test_run_turns_a_known_failure_into_xfail(options: RunOptions, tmp_path: Path) -> None:
    path = tmp_path / "known.toml"
    path.write_text(
        '[[expectation]]\nbackend = "*"\ncase = "test/exp_exact"\noutcome = "mismatch"\n'
        'reason = "the case demands zero error, which float32 exp cannot give"\n'
    )
    summary = run(replace(options, max_examples=1, expectations=path), cases=[exp_exact])
    assert summary.results and all(r.outcome is Outcome.XFAIL for r in summary.results)
    assert not summary.failed


def test_update_writes_one_entry_per_finding_that_holds_at_other_seeds(options: RunOptions, tmp_path: Path) -> None:
    summary = run(replace(options, max_examples=2, expectations=None), cases=[exp_exact])
    assert summary.failed
    target = tmp_path / "known.toml"
    proc = conformance(
        "expectations", "update", "--from", summary.run_id, "--file", str(target), "--db", str(options.db)
    )
    assert proc.returncode == 0, proc.stderr
    entries = load(target)
    # One per root cause (backend, case, dtype, outcome, message), not one per failing instance.
    assert {(e.backend, e.case) for e in entries} == {(r.backend, f"{r.category}/{r.case}") for r in summary.failed}
    assert len(entries) < len(summary.failed) and all(e.message and e.finding.startswith("F") for e in entries)
    assert all(e.reason.startswith(("backend: ", "case: ", "spec: ")) and "Finding F" in e.reason for e in entries)
    # Another seed draws other instances of the same causes: every failure is expected, and nothing is stale.
    again = run(replace(options, max_examples=2, seed=7, expectations=target), cases=[exp_exact])
    assert {r.case_id for r in again.results} - {r.case_id for r in summary.results}, "seed 7 drew new instances"
    assert again.results and all(r.outcome is Outcome.XFAIL for r in again.results), [
        (r.outcome, r.message) for r in again.results
    ]


def test_a_broken_expectations_file_stops_run_before_it_starts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[expectation]]\nbackend = 'x'\ncase = 'y'\noutcome = 'nonsense'\nreason = 'r'\n")
    proc = conformance("run", "--cases", "relu", "--expectations", str(bad), "--db", str(tmp_path / "r.sqlite"))
    assert proc.returncode == 2
    assert f"{bad}:1: outcome 'nonsense'" in proc.stderr and "Traceback" not in proc.stderr


def test_the_shipped_file_is_valid_and_reviewed() -> None:
    entries = load(builtin_path())
    assert all(not e.reason.startswith("TODO") for e in entries), "every shipped expectation has a reviewed reason"


def test_the_entry_naming_the_actual_outcome_applies() -> None:
    text = (
        '[[expectation]]\nbackend = "openvino"\ncase = "*"\noutcome = "mismatch"\nflaky = true\nreason = "broad"\n\n'
        '[[expectation]]\nbackend = "*"\ncase = "transcendental/exp"\noutcome = "export-fail"\nreason = "narrow"\n'
    )
    out = apply(_result(Outcome.EXPORT_FAIL, backend="openvino"), parse(text))
    assert out.outcome is Outcome.XFAIL and out.waiver and out.waiver["reason"] == "narrow"


def test_prune_removes_only_entries_a_run_shows_to_be_stale(options: RunOptions, tmp_path: Path) -> None:
    """Confirmed, flaky and unexercised entries stay; one that passed everywhere it applied goes, comments stay."""
    path = tmp_path / "known.toml"
    path.write_text(
        "# reviewed by hand\n\n"
        '[[expectation]]\nbackend = "*"\ncase = "test/exp_exact"\noutcome = "mismatch"\nreason = "confirmed"\n\n'
        "# the next one no longer holds\n"
        '[[expectation]]\nbackend = "onnxruntime"\ncase = "activation/relu"\noutcome = "mismatch"\nreason = "stale"\n\n'
        '[[expectation]]\nbackend = "reference"\ncase = "activation/relu"\noutcome = "mismatch"\nreason = "flaky"\n'
        "flaky = true\n\n"
        '[[expectation]]\nbackend = "openvino"\ncase = "activation/relu"\noutcome = "crash"\nreason = "not exercised"\n'
    )
    first = run(replace(options, max_examples=1, expectations=path), cases=[exp_exact])
    second = run(replace(options, cases="activation/relu", max_examples=1, expectations=path))
    assert {r.outcome for r in first.results} == {Outcome.XFAIL}
    assert {(r.backend, r.outcome) for r in second.results} == {
        ("onnxruntime", Outcome.XPASS),
        ("reference", Outcome.PASS),
    }

    proc = conformance(
        "expectations", "prune", "--from", first.run_id, "--from", second.run_id,
        "--file", str(path), "--db", str(options.db),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "1 stale entries removed, 3 kept" in proc.stdout
    assert [e.reason for e in load(path)] == ["confirmed", "flaky", "not exercised"]
    text = path.read_text()
    assert "# reviewed by hand" in text and "# the next one no longer holds" in text
    assert "\n\n\n" not in text
    again = run(replace(options, cases="activation/relu", max_examples=1, expectations=path))
    assert {r.outcome for r in again.results} == {Outcome.PASS}


def test_stale_reads_what_the_backend_really_did() -> None:
    entries = parse('[[expectation]]\nbackend = "onnxruntime"\ncase = "math/exp"\noutcome = "shape"\nreason = "r"\n')
    xfail = apply(make_result("math/exp[1]", Outcome.SHAPE), entries)
    xpass = apply(make_result("math/exp[2]"), entries)
    other = apply(make_result("math/exp[3]", Outcome.MISMATCH), entries)
    assert (xfail.outcome, xpass.outcome, other.outcome) == (Outcome.XFAIL, Outcome.XPASS, Outcome.MISMATCH)
    assert removable(entries, [xpass, other]) == entries, "passed once, never failed as expected"
    assert removable(entries, [xpass, xfail]) == [], "still fails on one instance: not stale"
    assert removable(entries, [other]) == [], "never passed: a different failure is no evidence of staleness"


def test_a_root_cause_entry_matches_its_message_at_any_instance_and_never_a_pass() -> None:
    (entry,) = parse(
        '[[expectation]]\nbackend = "onnxruntime"\ncase = "transcendental/exp"\noutcome = "mismatch"\n'
        'message = "off by <n> ulp"\nfinding = "F0123456789"\nreason = "backend: one cause"\n'
    )
    assert apply(_result(Outcome.MISMATCH), [entry]).outcome is Outcome.XFAIL
    other = make_result("transcendental/exp[def]", Outcome.MISMATCH, message="off by 17 ulp")
    assert apply(other, [entry]).outcome is Outcome.XFAIL, "another draw of the same cause is expected too"
    different = make_result("transcendental/exp[def]", Outcome.MISMATCH, message="output 0: NaN where 1.0")
    assert apply(different, [entry]).outcome is Outcome.MISMATCH, "another cause still stands out"
    assert apply(_result(Outcome.PASS), [entry]).outcome is Outcome.PASS, (
        "a pass says nothing of a way of failing: never xpass"
    )
    assert entry.entry()["finding"] == "F0123456789"


def test_an_op_entry_matches_any_case_whose_graph_holds_the_op_and_never_a_pass() -> None:
    """A wrong answer is known by the node localizing found wrong: its words are every wrong answer's."""
    (entry,) = parse(
        '[[expectation]]\nbackend = "tract"\ncase = "*"\nop = "Celu"\noutcome = "mismatch"\n'
        'finding = "F0123456789"\nreason = "backend: Celu ignores alpha"\n'
    )
    celu = make_result("activation/celu[abc]", Outcome.MISMATCH, backend="tract", message="output 0: 3 of 4 off")
    elsewhere = make_result("model/mlp[def]", Outcome.MISMATCH, backend="tract", message="output 0: 1 of 9 off")
    assert apply(celu, [entry], {"Celu"}).outcome is Outcome.XFAIL
    assert apply(elsewhere, [entry], {"MatMul", "Celu", "Add"}).outcome is Outcome.XFAIL, "any case holding it"
    assert apply(elsewhere, [entry], {"MatMul", "Add"}).outcome is Outcome.MISMATCH, "another cause stands out"
    assert apply(celu, [entry]).outcome is Outcome.MISMATCH, "graph ops unknown: an op entry cannot match"
    assert apply(replace(celu, backend="onnxruntime"), [entry], {"Celu"}).outcome is Outcome.MISMATCH
    passed = make_result("activation/celu[abc]", Outcome.PASS, backend="tract")
    assert apply(passed, [entry], {"Celu"}).outcome is Outcome.PASS, "a pass says nothing of a cause"
    assert parse(dumps([entry.entry()]))[0].op == "Celu", "written back, it reads the same"


def test_a_run_applies_an_op_entry_to_the_graphs_that_hold_the_op(options: RunOptions, tmp_path: Path) -> None:
    """The engine hands each graph's ops to the expectations: tract's Relu maps NaN to 0 in every case whose
    exported graph holds a Relu, and one entry for the op knows that cause at any seed and case."""
    pytest.importorskip("tract")
    path = tmp_path / "expectations.toml"
    path.write_text(
        '[[expectation]]\nbackend = "tract"\ncase = "*"\nop = "Relu"\noutcome = "special"\n'
        'reason = "backend: tract maps NaN to 0 in Relu"\n'
    )
    summary = run(
        replace(options, cases="relu", backends="tract", values=("special",), max_examples=2, expectations=path)
    )
    outcomes = {r.outcome for r in summary.results}
    assert Outcome.XFAIL in outcomes and not outcomes & {Outcome.SPECIAL, Outcome.XPASS}, summary.results
    assert all(r.waiver and r.waiver["op"] == "Relu" for r in summary.results if r.outcome is Outcome.XFAIL)
