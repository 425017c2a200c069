"""Findings: failures clustered by root cause, attributed by what every backend did on the same graph."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import onnx
import pytest
from onnx import numpy_helper

from conformance.findings import Party, cluster, finding_id, normalize_message, with_history
from conformance.model import DIRECT_EXPORTER, FAILING, OracleAgreement, Outcome, Values
from conformance.store import Store

from .conftest import conformance, make_result

MISMATCH = "output 0: 3 of 54 elements off tolerance (rtol=0.0312, atol=0.0312); worst at output 0 [1, 2]: got 19.0"


def _graph(case_id: str, outcomes: dict[str, Outcome], message: str = MISMATCH, **fields: object) -> list:
    return [
        make_result(case_id, o, backend=b, message=message if o in FAILING else "", **fields)
        for b, o in outcomes.items()
    ]


def test_one_backend_bug_seen_in_many_draws_is_one_finding_with_a_stable_id() -> None:
    ok, bad = Outcome.PASS, Outcome.MISMATCH
    results = []
    for case_id in ("reduction/sum[aaaaaaaaaaaa]", "reduction/sum[bbbbbbbbbbbb]"):
        for exporter in ("dynamo", "torchscript"):
            for opset in (17, 21):
                peers = {"onnxruntime": ok, "openvino": bad, "tvm": ok, "reference": ok}
                results += _graph(case_id, peers, exporter=exporter, opset=opset, params={"dtype": "float16"})
    (finding,) = cluster(results)
    assert finding.backend == "openvino" and finding.party == Party.BACKEND
    assert finding.results == 8 and len(finding.instances) == 2 and finding.op == "reduction/sum"
    assert "2 of 2 other backends pass" in finding.evidence, finding.evidence
    # Another seed draws other instances of the same bug: the same id.
    again = cluster(
        _graph(
            "reduction/sum[cccccccccccc]", {"onnxruntime": ok, "openvino": bad, "tvm": ok}, params={"dtype": "float16"}
        )
    )
    assert [f.id for f in again] == [finding.id]
    # Another dtype is another signature.
    other = cluster(
        _graph("reduction/sum[dddddddddddd]", {"onnxruntime": ok, "openvino": bad}, params={"dtype": "int32"})
    )
    assert other[0].id != finding.id


def test_messages_lose_numbers_paths_hashes_and_names_but_keep_their_words() -> None:
    a = normalize_message(
        "output 0: 3 of 54 elements off (rtol=0.03); at /tmp/x/y.onnx node 'Add_12' 0x7f3a deadbeef12"
    )
    b = normalize_message(
        "output 1: 9 of 7 elements off (rtol=1e-05); at /home/u/z.onnx node 'Mul_3' 0x1 cafebabe99\nmore"
    )
    assert a == b and "elements off" in a and "<path>" in a
    # The worst element's sign is the draw's: got -inf and got inf are one cause.
    assert normalize_message("worst at output 0 [1, 2]: got -inf, expected nan") == normalize_message(
        "worst at output 0 [0, 0]: got inf, expected -nan"
    )
    # A shape or an index is one `<n>...` whatever the rank another seed drew: the cause is the same.
    assert normalize_message("output 0: shape [2, 3, 1], expected [4]; at [0, 1, 2]") == normalize_message(
        "output 0: shape [5], expected [1, 2]; at [3]"
    )
    assert normalize_message("operand type 'tensor<2x3x4xi64>' and (1,)") == normalize_message(
        "operand type 'tensor<7xi64>' and (1, 4, 1)"
    )
    assert "got <n>, expected <n>" in normalize_message("got 3, expected 4"), "words between numbers stay"


TORCH_ONNX_ERROR = """ConversionError: Failed to convert the exported program to an ONNX model. This is step 3/3 of exporting the model to ONNX. Next steps:
- If there is a missing ONNX function, implement it and register it to the registry.
## Exception summary
<class 'torch.onnx._internal.exporter._errors.DispatchError'>: No ONNX function found for <OpOverload(op='aten.sort', overload='stable')>. Failure message: No decompositions registered
⬆️
<class 'torch.onnx._internal.exporter._errors.ConversionError'>: Error when translating node %sort
"""


@pytest.mark.parametrize(
    ("message", "read"),
    [
        # torch.onnx's first line is the same for every cause: the cause is under its exception summary.
        (
            TORCH_ONNX_ERROR,
            "ConversionError: DispatchError: No ONNX function found for <OpOverload(op='aten.sort', "
            "overload='stable')>. Failure message: No decompositions registered",
        ),
        # tract's anyhow chain: the first line names the node, the last the root cause; node names go.
        (
            'RuntimeError: tract: Evaluating #1 "node_round_1" RoundHalfToEven\nCaused by:\n    '
            "RoundHalfToEven does not support F64",
            "RuntimeError: tract: Evaluating #<n> <name> RoundHalfToEven Caused by: RoundHalfToEven does not support F<n>",
        ),
        # OpenVINO's first line says where in its source; the second says why.
        (
            "RuntimeError: Exception from src/inference/src/cpp/infer_request.cpp:198:\nvector::_M_range_check: "
            "__n (which is 1) >= this->size() (which is 1)",
            "RuntimeError: Exception from src<path>:<n>: vector::_M_range_check: __n (which is <n>) >= this->size() "
            "(which is <n>)",
        ),
        # torchscript's symbolic errors end with the torch IR value they met: its dtype and shape are the draw's.
        (
            "SymbolicValueError: For (quant_min, quant_max), ONNX allows only (0, 127), (0, 255) and (-128, 127). "
            "Got (-127, 127)  [Caused by the value '0 defined in (%0 : Half(3, strides=[1], requires_grad=0, "
            "device=cpu) = prim::Param()\n)' (type 'Tensor') in the TorchScript graph.",
            "SymbolicValueError: For (quant_min, quant_max), ONNX allows only (<n>...), (<n>...) and (<n>...). "
            "Got (<n>...)",
        ),
    ],
)
def test_a_message_is_read_for_its_cause(message: str, read: str) -> None:
    assert normalize_message(message) == read


def test_an_error_naming_its_operator_is_any_dtypes_and_any_cases() -> None:
    """tract has no f64 Sigmoid: seen in silu, it is the same cause in logsigmoid at the next seed."""
    from conformance.findings import expectation_entries

    said = 'RuntimeError: tract: Evaluating #1 "n0" Sigmoid\nCaused by:\n    Sigmoid does not support F64'
    results = [
        *_graph("activation/silu[aaaaaaaaaaaa]", {"tract": Outcome.RUN_ERROR, "onnxruntime": Outcome.PASS},
                message=said, params={"dtype": "float64"}),
        *_graph("activation/silu[bbbbbbbbbbbb]", {"tract": Outcome.PASS, "onnxruntime": Outcome.PASS},
                params={"dtype": "float32"}),
    ]  # fmt: skip
    (entry,) = expectation_entries(cluster(results), results)
    # "F64" is in its words, normalized to "F<n>": a float's, of any width (the words keep the cause).
    assert entry["case"] == "*" and entry["dtype"] == "float*", entry
    sort = [
        *_graph("sorting/sort[aaaaaaaaaaaa]", {"onnxruntime": Outcome.EXPORT_FAIL}, message=TORCH_ONNX_ERROR,
                params={"dtype": "bfloat16", "stable": True}),
        *_graph("sorting/sort[bbbbbbbbbbbb]", {"onnxruntime": Outcome.PASS}, params={"dtype": "float32", "stable": None}),
    ]  # fmt: skip
    (entry,) = expectation_entries(cluster(sort), sort)
    assert "dtype" not in entry and entry["case"] == "*", entry  # float32 passed, but it drew no `stable`


def test_an_export_failure_is_the_exporters_on_every_backend() -> None:
    results = _graph(
        "shape/interpolate[aaaaaaaaaaaa]",
        {"onnxruntime": Outcome.EXPORT_FAIL, "openvino": Outcome.EXPORT_FAIL},
        exporter="torchscript",
        message="UnsupportedOperatorError: Exporting the operator 'aten::_upsample_nearest_exact2d' to ONNX opset 17",
    )
    (finding,) = cluster(results)
    assert (finding.party, finding.backend, finding.exporter, finding.results) == (
        Party.EXPORTER,
        "*",
        "torchscript",
        2,
    )


def _diverging(sides: dict[str, str]) -> list:
    """One graph on which torch and the reference evaluator diverge; each backend sided as given."""
    text = {
        "torch": "oracles diverge (reference evaluator vs torch: special: 1 special-value mismatches); the backend matches torch, not the reference evaluator",
        "reference": "oracles diverge (reference evaluator vs torch: special: 1 special-value mismatches); the backend matches the reference evaluator",
        "neither": "oracles diverge (reference evaluator vs torch: special: ...); the backend matches neither. Against the reference evaluator: output 0",
    }
    return [
        make_result(
            "reduction/amax[aaaaaaaaaaaa]",
            Outcome.SPECIAL if side == "neither" else Outcome.PASS,
            backend=backend,
            message=text[side],
            oracle=OracleAgreement.DIVERGE,
        )
        for backend, side in sides.items()
    ]


def test_when_backends_side_with_torch_the_reference_evaluator_is_wrong_and_so_is_a_backend_that_agrees_with_it() -> (
    None
):
    found = cluster(
        _diverging({"onnxruntime": "torch", "openvino": "torch", "tinygrad": "reference", "reference": "reference"})
    )
    by_party = {f.party: f for f in found}
    assert by_party[Party.REFERENCE].backend == "reference" and "side with torch" in by_party[Party.REFERENCE].evidence
    assert by_party[Party.BACKEND].backend == "tinygrad", [f.to_dict() for f in found]
    assert len(found) == 2


def test_when_backends_side_with_the_reference_the_exported_graph_is_in_question() -> None:
    found = cluster(
        _diverging({"onnxruntime": "reference", "openvino": "reference", "tvm": "neither", "reference": "reference"})
    )
    parties = sorted((f.party, f.backend) for f in found)
    assert parties == [(Party.BACKEND, "tvm"), (Party.EXPORTER, "*")], parties


def test_when_every_backend_gives_the_same_special_outcome_the_spec_is_in_question() -> None:
    results = _graph(
        "reduction/argmax[aaaaaaaaaaaa]",
        {b: Outcome.SPECIAL for b in ("onnxruntime", "openvino", "tvm", "iree")} | {"reference": Outcome.PASS},
    )
    found = cluster(results)
    assert {f.party for f in found} == {Party.SPEC} and {f.backend for f in found} == {"*"}
    assert "4 of" not in found[0].evidence and "3 of 3 other backends" in found[0].evidence


def test_a_consensus_mismatch_on_special_values_is_the_specs_question_and_on_plain_ones_the_cases() -> None:
    """An index cannot be `special`: ArgMax over a NaN that every backend answers alike is a spec question."""
    outcomes = {b: Outcome.MISMATCH for b in ("onnxruntime", "openvino", "tvm", "iree")} | {"reference": Outcome.PASS}
    special = cluster(_graph("direct/arg_reduce[aaaaaaaaaaaa]", outcomes, values=Values.SPECIAL))
    plain = cluster(_graph("direct/arg_reduce[bbbbbbbbbbbb]", outcomes, values=Values.PLAIN))
    assert {f.party for f in special} == {Party.SPEC}, [f.evidence for f in special]
    assert {f.party for f in plain} == {Party.CASE}, [f.evidence for f in plain]


def test_status_is_new_known_or_fixed_against_earlier_runs() -> None:
    ok, bad = Outcome.PASS, Outcome.MISMATCH
    a = cluster(_graph("reduction/sum[aaaaaaaaaaaa]", {"onnxruntime": ok, "openvino": bad, "tvm": ok}))
    b = cluster(_graph("reduction/prod[aaaaaaaaaaaa]", {"onnxruntime": bad, "openvino": ok, "tvm": ok}))
    now = with_history(a, [("t0", a + b)], "run2", "t1")
    status = {f.id: f.status for f in now}
    assert status == {a[0].id: "known", b[0].id: "fixed"}
    assert [f.first_seen for f in now if f.status == "known"] == ["t0"]
    assert {f.status for f in with_history(a, [], "run1", "t0")} == {"new"}
    assert finding_id(a[0].signature) == a[0].id


def test_findings_of_a_real_run_from_the_cli(tmp_path: Path) -> None:
    """INT_MIN / -1 and the specials of division: a crash on onnxruntime, divergences, fewer findings than rows."""
    db = str(tmp_path / "r.sqlite")
    proc = conformance(
        "run", "--quiet", "--cases", "div_floor", "--values", "special", "--cover", "each", "--exporters", "dynamo,torchscript",
        "--backends", "onnxruntime,reference", "--expectations", "none", "--db", db,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    with Store(Path(db)) as store:
        (run,) = store.runs()
        failing = [r for r in store.results(run.id) if r.outcome in FAILING]
    listed = conformance("findings", "--db", db, "--json")
    assert listed.returncode in (0, 1), listed.stderr
    found = json.loads(listed.stdout)
    # Every failing row belongs to a finding, and draws of one cause share it; divergences of the two
    # oracles are findings of their own (about the exporter or the reference evaluator).
    from_failures = [f for f in found if f["message"] != "oracles diverge"]
    assert failing and sum(f["results"] for f in from_failures) == len(failing)
    assert 0 < len(from_failures) < len(failing), (len(from_failures), len(failing))
    keys = {"id", "backend", "exporter", "op", "node", "party", "evidence", "status", "instances", "results", "repro"}
    assert all(keys <= set(f) and f["party"] in {"backend", "exporter", "reference", "spec", "case"} for f in found)
    assert all(f["status"] == "new" for f in found) and listed.returncode == 1
    crash = [f for f in found if f["outcome"] == "crash"]
    assert crash and crash[0]["backend"] == "onnxruntime" and crash[0]["party"] == "backend", found
    text = conformance("findings", "latest", "--db", db)
    assert crash[0]["id"] in text.stdout and "evidence:" in text.stdout


def test_a_waived_result_keeps_its_findings_id() -> None:
    from conformance.expectations import apply, parse

    results = _graph(
        "reduction/sum[aaaaaaaaaaaa]", {"onnxruntime": Outcome.PASS, "openvino": Outcome.MISMATCH, "tvm": Outcome.PASS}
    )
    (before,) = cluster(results)
    (entry,) = parse(
        '[[expectation]]\nbackend = "openvino"\ncase = "reduction/sum"\noutcome = "mismatch"\nmessage = "*"\nreason = "r"\n'
    )
    waived = [apply(r, [entry]) for r in results]
    assert Outcome.XFAIL in {r.outcome for r in waived}
    (after,) = cluster(waived)
    assert after.id == before.id and after.unexpected == 0 and before.unexpected == 1


def test_findings_reduce_localizes_and_bundles_a_real_onnxruntime_bug(tmp_path: Path) -> None:
    """onnxruntime 1.32 fuses Transpose into MatMul with a 1-D right operand and gets the product wrong.

    Every node is right alone and with the intermediates exposed (which stops the
    fusion): a whole-graph finding, whose repro is the exported graph, reduced.
    """
    db = str(tmp_path / "r.sqlite")
    proc = conformance(
        "run", "--quiet", "--cases", "linalg/mv", "--cover", "each", "--backends", "onnxruntime,reference",
        "--expectations", "none", "--db", db,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    reduced = conformance("findings", "--reduce", "--db", db, "--out", str(tmp_path / "repros"), "--json")
    assert reduced.returncode == 1, reduced.stderr[-2000:]
    (finding,) = [f for f in json.loads(reduced.stdout) if f["backend"] == "onnxruntime"]
    assert finding["repro"] and "whole-graph" in finding["evidence"], finding
    bundle = Path(finding["repro"])
    assert (bundle / "model.onnx").is_file() and (bundle / "test_data_set_0" / "input_0.pb").is_file()
    issue = (bundle / "ISSUE.md").read_text()
    assert issue.startswith("# onnxruntime: the graph Transpose+MatMul"), issue[:200]
    ran = subprocess.run([sys.executable, str(bundle / "repro.py")], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 1 and "REPRODUCED" in ran.stdout, ran.stdout + ran.stderr
    # The reduced input is smaller than the drawn one.
    x = numpy_helper.to_array(onnx.load_tensor(str(bundle / "test_data_set_0" / "input_0.pb")))
    assert x.size <= 4, x.shape
    # The time it took joins the run's own accounting.
    with Store(db) as store:
        stages = store.run("latest").timings["stages"]
    assert stages["localize"]["calls"] >= 1 and stages["reduce"]["wall_s"] > 0, stages

    # `repro ID --out DIR` writes the same kind of bundle where it is told; a second time refuses a full folder.
    out = tmp_path / "one"
    made = conformance("repro", finding["id"], "--out", str(out), "--db", db)
    assert made.returncode == 0, made.stderr[-2000:]
    assert subprocess.run([sys.executable, str(out / "repro.py")], capture_output=True, timeout=120).returncode == 1
    again = conformance("repro", finding["id"], "--out", str(out), "--db", db)
    assert again.returncode == 2 and "not an empty folder" in again.stderr
    unknown = conformance("repro", "F0000000000", "--out", str(tmp_path / "x"), "--db", db)
    assert unknown.returncode == 2 and "no finding F0000000000" in unknown.stderr


def test_a_graph_finding_becomes_each_backends_own_way_of_failing_in_expectations() -> None:
    """An invalid exported graph shows as a load failure on one backend and a run error on another; the
    expectations written from the finding match each in its own words, at another draw too."""
    from conformance.expectations import apply, dumps, parse
    from conformance.findings import expectation_entries

    def graph(case_id: str) -> list:
        return [
            make_result(case_id, Outcome.LOAD_FAIL, backend="onnxruntime", oracle=OracleAgreement.NO_SPEC,
                        message="Fail: Load model from /tmp/a1/model.onnx failed:Node (node_Pad_36) Op (Pad) bad"),
            make_result(case_id, Outcome.RUN_ERROR, backend="reference", oracle=OracleAgreement.NO_SPEC,
                        message="IndexError: index 3 is out of bounds for axis 0 with size 3"),
        ]  # fmt: skip

    results = graph("pool/unfold[aaaaaaaaaaaa]")
    (finding,) = cluster(results)
    assert (finding.backend, finding.party) == ("*", Party.EXPORTER), finding
    entries = expectation_entries([finding], results)
    assert {(e["backend"], e["outcome"]) for e in entries} == {("onnxruntime", "load-fail"), ("reference", "run-error")}
    assert all(e["finding"] == finding.id and e["case"] == "pool/unfold" for e in entries), entries
    known = parse(dumps(entries))
    for r in graph("pool/unfold[bbbbbbbbbbbb]"):  # another draw of the same cause
        assert apply(r, known).outcome is Outcome.XFAIL, r


def test_a_crash_on_a_graph_no_one_can_run_is_the_exporters() -> None:
    """tract aborts on the Pad torch writes for `unfold`; onnxruntime rejects it and the reference evaluator
    cannot run it: the graph is the root cause. Where another backend ran the graph, the crash is tract's."""

    def graph(onnxruntime: Outcome) -> list:
        return [
            make_result("pool/unfold[aaaaaaaaaaaa]", Outcome.CRASH, backend="tract", oracle=OracleAgreement.NO_SPEC,
                        message="worker died (killed by signal SIGABRT): thread panicked at pad.rs:1:1: index"),
            make_result("pool/unfold[aaaaaaaaaaaa]", onnxruntime, backend="onnxruntime",
                        oracle=OracleAgreement.NO_SPEC, message="Fail: Load model failed: Pads has incorrect number"),
        ]  # fmt: skip

    crash = next(f for f in cluster(graph(Outcome.LOAD_FAIL)) if f.outcome == "crash")
    assert crash.party == Party.EXPORTER and "exported model is invalid" in crash.evidence, crash
    ran = next(f for f in cluster(graph(Outcome.PASS)) if f.outcome == "crash")
    assert ran.party == Party.BACKEND and ran.backend == "tract", ran


def test_an_entry_dtype_reads_the_dtype_a_conversion_starts_from() -> None:
    """cast cases name their dtype `from`; findings and expectations read it alike."""
    from conformance.expectations import apply, dumps, parse

    r = make_result("cast/cast_round_trip[aaaaaaaaaaaa]", Outcome.MISMATCH, backend="openvino", message=MISMATCH,
                    params={"from": "float32", "via": "float16"})  # fmt: skip
    (finding,) = cluster([r])
    assert finding.dtype == "float32"
    entry = {"backend": "openvino", "case": "cast/cast_round_trip", "dtype": "float32", "outcome": "mismatch",
             "reason": "test"}  # fmt: skip
    assert apply(r, parse(dumps([entry]))).outcome is Outcome.XFAIL


def test_an_entry_names_its_dtype_only_where_another_dtype_did_not_fail_alike() -> None:
    from conformance.findings import expectation_entries

    fail = "ConversionError: Failed to convert the exported program to an ONNX model"
    everywhere = [
        make_result(f"activation/rrelu[{c * 12}]", Outcome.EXPORT_FAIL, message=fail, params={"dtype": d})
        for c, d in (("a", "float32"), ("b", "float64"))
    ]
    entries = expectation_entries(cluster(everywhere), everywhere)
    assert entries and all("dtype" not in e for e in entries), "every dtype failed alike: the next may too"
    one = [
        make_result("activation/rrelu[aaaaaaaaaaaa]", Outcome.EXPORT_FAIL, message=fail, params={"dtype": "float64"}),
        make_result("activation/rrelu[bbbbbbbbbbbb]", Outcome.PASS, params={"dtype": "float32"}),
    ]
    (entry,) = expectation_entries(cluster(one), one)
    assert entry["dtype"] == "float64", "float32 exported: the cause is float64's"
    # No other dtype drawn with the same settings: an exporter's refusal in words naming no dtype is any dtype's.
    narrow = "SymbolicValueError: For (quant_min, quant_max), ONNX allows only (0, 127), (0, 255) and (-128, 127)."
    alone = [make_result("quant/fq[aaaaaaaaaaaa]", Outcome.EXPORT_FAIL, message=narrow, params={"dtype": "float16"})]
    (entry,) = expectation_entries(cluster(alone), alone)
    assert "dtype" not in entry, entry


def test_the_findings_gate_ignores_a_new_finding_every_result_of_which_was_waived(tmp_path: Path) -> None:
    """A CI gate on `findings` fails on news, not on a cause the expectations file already reviewed."""
    db = str(tmp_path / "r.sqlite")
    expectations = tmp_path / "x.toml"
    expectations.write_text(
        '[[expectation]]\nbackend = "onnxruntime"\ncase = "linalg/mv"\noutcome = "mismatch"\nmessage = "output *"\nreason = "fusion bug"\n'
    )
    args = ("--cases", "linalg/mv", "--cover", "each", "--backends", "onnxruntime,reference", "--db", db, "--quiet")
    ran = conformance("run", *args, "--expectations", str(expectations))
    assert ran.returncode == 0, ran.stderr[-2000:]
    listed = conformance("findings", "--db", db, "--json")
    found = json.loads(listed.stdout)
    assert found and all(f["status"] == "new" and f["unexpected"] == 0 for f in found), found
    assert listed.returncode == 0, "every result of the new finding was waived"


def test_one_backend_error_in_the_same_words_across_cases_is_one_entry_for_any_case() -> None:
    """tract panics on every int64 MatMul: the next seed draws it in a case the triage did not."""
    from conformance.expectations import apply, dumps, parse
    from conformance.findings import expectation_entries

    panic = "worker died (killed by signal SIGABRT): thread '<unnamed>' panicked at linalg/src/frame/weights.rs:24:18: Can't build a WeightType from I64; stderr tail:\n..."
    seen = [
        make_result(
            f"linalg/{c}[aaaaaaaaaaaa]", Outcome.CRASH, backend="tract", message=panic, params={"dtype": "int64"}
        )
        for c in ("mv", "addmv")
    ]
    entries = expectation_entries(cluster(seen), seen)
    (entry,) = entries
    # "I64" in its words: an int's, in any case.
    assert entry["case"] == "*" and entry["backend"] == "tract" and entry["dtype"] == "int*", entry
    elsewhere = make_result(
        "linalg/bmm[bbbbbbbbbbbb]",
        Outcome.CRASH,
        backend="tract",
        message=panic.replace("24:18", "24:19"),
        params={"dtype": "int64"},
    )
    assert apply(elsewhere, parse(dumps(entries))).outcome is Outcome.XFAIL
    vague = [
        make_result(f"shape/{c}[aaaaaaaaaaaa]", Outcome.RUN_ERROR, backend="openvino",
                    message="RuntimeError: Exception from src/inference/src/cpp/infer_request.cpp:198:")
        for c in ("reshape", "tile")
    ]  # fmt: skip
    assert {e["case"] for e in expectation_entries(cluster(vague), vague)} == {"shape/reshape", "shape/tile"}


def test_a_wrong_answer_localized_to_a_node_is_expected_by_its_op_in_any_case_and_dtype() -> None:
    """tract's Celu ignores alpha: the next seed draws it in float32 where this run drew float64, and in a
    graph of another rank (other words); the op entry written from the localized finding holds both."""
    from conformance.expectations import apply, dumps, parse
    from conformance.findings import expectation_entries, localized, result_key
    from conformance.store import Localized

    results = [
        *_graph("activation/celu[aaaaaaaaaaaa]", {"tract": Outcome.MISMATCH, "onnxruntime": Outcome.PASS},
                params={"dtype": "float64", "alpha": 2.0}),
        *_graph("activation/celu[bbbbbbbbbbbb]", {"tract": Outcome.PASS, "onnxruntime": Outcome.PASS},
                params={"dtype": "float32", "alpha": 1.0}),
    ]  # fmt: skip
    (found,) = cluster(results)
    node = {"index": 0, "name": "n0", "op_type": "Celu", "domain": "", "attributes": {"alpha": 2.0}}
    loc = Localized(found.id, result_key(results[0]), "node", "Celu", node, "Celu alone is wrong", None, 1.0)
    (finding,) = localized(results, [loc])
    (entry,) = expectation_entries([finding], results)
    assert entry["op"] == "Celu" and entry["case"] == "*" and entry["backend"] == "tract", entry
    assert "dtype" not in entry and "message" not in entry and "exporter" not in entry, entry
    known = parse(dumps([entry]))
    later = make_result("model/mlp[cccccccccccc]", Outcome.MISMATCH, backend="tract", exporter="torchscript",
                        message="output 0: 1 of 3 elements off; worst at output 0 [0, 1, 2]: got 1.0, expected 2.0",
                        params={"dtype": "float32"})  # fmt: skip
    assert apply(later, known, {"Gemm", "Celu"}).outcome is Outcome.XFAIL
    assert apply(later, known, {"Gemm", "Relu"}).outcome is Outcome.MISMATCH, "a graph without Celu: a new cause"

    # Where a draw of the same case and settings in another dtype passed, the dtype is the cause's.
    pinned = [*results[:2], *_graph("activation/celu[dddddddddddd]", {"tract": Outcome.PASS},
                                    params={"dtype": "float32", "alpha": 2.0})]  # fmt: skip
    (entry,) = expectation_entries(localized(pinned, [loc]), pinned)
    assert entry["op"] == "Celu" and entry["dtype"] == "float64", entry


def test_words_that_name_a_dtype_pin_its_kind_not_the_width_the_run_drew() -> None:
    """TVM's Elu importer builds a float32 constant whatever the input: the triage run met it in float64, the
    next seed in float16, in the same normalized words. onnx2torch's ReduceSum returns int64 for int32 and int8
    alike. A bool's words still stand apart from an int's."""
    from conformance.expectations import apply, dumps, parse
    from conformance.findings import expectation_entries, localized, result_key
    from conformance.store import Localized

    said = (
        "TypeError: Binary operators must have the same datatype for both operands. However, "
        'R.subtract(R.const(1.0, "float32"), lv) uses datatype T.float32 on the LHS, and datatype T.{} on the RHS'
    )
    results = [
        *_graph("activation/elu[aaaaaaaaaaaa]", {"tvm": Outcome.LOAD_FAIL, "onnxruntime": Outcome.PASS},
                message=said.format("float64"), params={"dtype": "float64"}),
    ]  # fmt: skip
    (found,) = cluster(results)
    node = {"index": 0, "name": "n0", "op_type": "Elu", "domain": "", "attributes": {}}
    loc = Localized(found.id, result_key(results[0]), "node", "Elu", node, "Elu fails alone", None, 1.0)
    (entry,) = expectation_entries(localized(results, [loc]), results)
    assert entry["dtype"] == "float*", entry
    known = parse(dumps([entry]))
    later = make_result("activation/elu[bbbbbbbbbbbb]", Outcome.LOAD_FAIL, backend="tvm",
                        message=said.format("float16"), params={"dtype": "float16"})  # fmt: skip
    assert apply(later, known, {"Elu"}).outcome is Outcome.XFAIL
    assert apply(replace(later, params={"dtype": "bfloat16"}), known, {"Elu"}).outcome is Outcome.LOAD_FAIL

    wrong = [
        *_graph("shape/diagonal[aaaaaaaaaaaa]", {"onnx2torch": Outcome.DTYPE, "onnxruntime": Outcome.PASS},
                message="output 0: dtype int64, expected int32", params={"dtype": "int32"}),
    ]  # fmt: skip
    (found,) = cluster(wrong)
    node = {"index": 4, "name": "n4", "op_type": "ReduceSum", "domain": "", "attributes": {}}
    loc = Localized(found.id, result_key(wrong[0]), "node", "ReduceSum", node, "ReduceSum alone", None, 1.0)
    (entry,) = expectation_entries(localized(wrong, [loc]), wrong)
    assert (entry["op"], entry["dtype"]) == ("ReduceSum", "int*"), entry
    int8 = make_result("reduction/sum[cccccccccccc]", Outcome.DTYPE, backend="onnx2torch",
                       message="output 0: dtype int64, expected int8", params={"dtype": "int8"})  # fmt: skip
    assert apply(int8, parse(dumps([entry])), {"ReduceSum"}).outcome is Outcome.XFAIL
    uint8 = replace(int8, params={"dtype": "uint8"})
    assert apply(uint8, parse(dumps([entry])), {"ReduceSum"}).outcome is Outcome.DTYPE


def test_a_divergence_sharing_a_result_does_not_hide_where_the_backend_was_localized() -> None:
    """IREE cannot compile a ConvTranspose whose oracles diverge: its load failure is IREE's finding and the
    divergence's example. The divergence is not investigated; IREE's node must stay on IREE's finding."""
    from conformance.findings import localized, result_key
    from conformance.store import Localized

    results = _graph("conv/conv_transpose1d[aaaaaaaaaaaa]", {"iree": Outcome.LOAD_FAIL, "onnxruntime": Outcome.PASS},
                     message="RuntimeError: iree-compile failed: error: 'tensor.collapse_shape' op expected "
                     "reassociation map #0 to have size equal to the expanded rank (5), but it is 4.",
                     params={"dtype": "float32"})  # fmt: skip
    results = [replace(r, oracle=OracleAgreement.DIVERGE) for r in results]
    found = cluster(results)
    iree = next(f for f in found if f.backend == "iree")
    other = next(f for f in found if f.backend != "iree")
    assert result_key(results[0]) in other.members or result_key(results[1]) in other.members
    node = {"index": 0, "name": "n0", "op_type": "ConvTranspose", "domain": "", "attributes": {}}
    key = result_key(next(r for r in results if r.backend == "iree"))
    locs = [
        Localized(iree.id, key, "node", "ConvTranspose", node, "ConvTranspose fails alone", None, 1.0),
        Localized(other.id, key, "not-investigated", None, None, "a reference finding", None, 0.0),
    ]
    for order in (locs, locs[::-1]):
        (mine,) = [f for f in localized(results, order) if f.backend == "iree"]
        assert mine.node == node and mine.op == "ConvTranspose", mine


def test_tracts_node_reference_names_the_op_whatever_its_length() -> None:
    """`IsNan` is too short to be told from a word by the op-name list; tract's `#1 "n0" IsNan` names it."""
    said = 'RuntimeError: tract: Evaluating #1 "n0" IsNan\nCaused by:\n    Element wise eval in-place not defined'
    results = [
        *_graph("comparison/isnan[aaaaaaaaaaaa]", {"tract": Outcome.RUN_ERROR, "onnxruntime": Outcome.PASS},
                message=said, params={"dtype": "float32"}),
    ]  # fmt: skip
    from conformance.findings import expectation_entries

    (entry,) = expectation_entries(cluster(results), results)
    assert entry["case"] == "*" and "dtype" not in entry, entry  # the next seed draws isnan in float64


def test_an_error_localized_to_a_node_is_known_by_its_words_in_any_case_and_dtype() -> None:
    """tract panics in GatherND on advanced indexing whatever the dtype; a draw of another dtype passed with
    indices in range, which says nothing of the dtype. The entry is the op and the words, in any case."""
    from conformance.expectations import apply, dumps, parse
    from conformance.findings import expectation_entries, localized, result_key
    from conformance.store import Localized

    panic = "worker died (killed by signal SIGABRT): thread '<unnamed>' (201) panicked at core/src/gather_nd.rs:72:23: assertion failed: index < dim"
    results = [
        *_graph("indexing/advanced_index[aaaaaaaaaaaa]", {"tract": Outcome.CRASH, "onnxruntime": Outcome.PASS},
                message=panic, params={"dtype": "int64"}),
        *_graph("indexing/advanced_index[bbbbbbbbbbbb]", {"tract": Outcome.PASS, "onnxruntime": Outcome.PASS},
                params={"dtype": "uint8"}),
    ]  # fmt: skip
    (found,) = cluster(results)
    node = {"index": 1, "name": "n1", "op_type": "GatherND", "domain": "", "attributes": {}}
    loc = Localized(found.id, result_key(results[0]), "node", "GatherND", node, "GatherND dies alone", None, 1.0)
    (entry,) = expectation_entries(localized(results, [loc]), results)
    assert (entry["case"], entry["outcome"]) == ("*", "crash") and "op" not in entry, entry
    assert "dtype" not in entry and "assertion failed: index < dim" in entry["message"], entry
    later = make_result("indexing/index_put[cccccccccccc]", Outcome.CRASH, backend="tract",
                        message=panic.replace("(201)", "(7)"), params={"dtype": "uint8"})  # fmt: skip
    assert apply(later, parse(dumps([entry])), {"GatherND", "Unsqueeze"}).outcome is Outcome.XFAIL

    # Words that say nothing of why are known by the op besides.
    vague = [replace(r, message="RuntimeError: object is not initialized") if r.outcome is Outcome.CRASH else r
             for r in results]  # fmt: skip
    (found,) = cluster(vague)
    loc = replace(loc, finding=found.id)
    (entry,) = expectation_entries(localized(vague, [loc]), vague)
    assert entry["op"] == "GatherND" and entry["message"] == "RuntimeError: object is not initialized", entry


def test_an_error_pins_its_dtype_only_when_its_words_name_a_dtype_of_that_kind() -> None:
    from conformance.findings import _names_dtype

    assert _names_dtype("Sigmoid does not support F<n>", "float64")
    assert _names_dtype("uses datatype T.float<n> on the LHS", "float16")
    assert _names_dtype("can't convert np.ndarray of type ml_dtypes.bfloat<n>", "bfloat16")
    assert not _names_dtype("Evaluating #<n> <name> Eq Caused by: Bool is not a number", "int64"), "its own bool"
    assert not _names_dtype("Impossible to unify F<n> with F<n>", "int32")
    assert not _names_dtype("power only applies to float", "int32"), "a kind of types, not a dtype"


def test_a_graph_that_onnx_own_inference_rejects_is_the_exporters_even_where_backends_run_it() -> None:
    """torchscript writes Softmax on a 0-d tensor; onnxruntime's load (ONNX's shape inference) rejects it, the
    reference evaluator and OpenVINO run it. ONNX's own schema says the graph is invalid: the exporter's."""
    rejected = ("Fail: [ONNXRuntimeError] : 1 : FAIL : Load model from /tmp/a/model.onnx failed:Node (/Softmax) "
                "Op (Softmax) [ShapeInferenceError] Input rank must be >= 1 for Softmax.")  # fmt: skip
    results = _graph(
        "reduction/softmax[aaaaaaaaaaaa]",
        {"onnxruntime": Outcome.LOAD_FAIL, "openvino": Outcome.PASS, "reference": Outcome.PASS},
        message=rejected,
        exporter="torchscript",
    )
    (finding,) = cluster(results)
    assert (finding.party, finding.backend, finding.exporter) == (Party.EXPORTER, "*", "torchscript"), finding
    assert "Input rank must be >= 1 for Softmax" in finding.evidence, finding.evidence
    typed = "InvalidGraph: [ONNXRuntimeError] : 10 : INVALID_GRAPH : Load model from /x failed:This is an invalid model. Type Error: Type 'tensor(bool)' of input parameter (x) of operator (IsNaN) in node (n0) is invalid."
    (finding,) = cluster(
        _graph(
            "comparison/isnan[bbbbbbbbbbbb]", {"onnxruntime": Outcome.LOAD_FAIL, "tract": Outcome.PASS}, message=typed
        )
    )
    assert finding.party == Party.EXPORTER and "operator (IsNaN)" in finding.evidence, finding


def test_what_a_backend_makes_of_a_graph_onnx_own_inference_rejects_is_the_exporters() -> None:
    """torchscript writes QuantizeLinear of float16 at opset 17 (float16 is allowed from 19): onnxruntime refuses
    the graph by the schema, IREE and TVM run it and answer float32. Seen at seed 1 as an IREE finding."""
    typed = ("InvalidGraph: [ONNXRuntimeError] : 10 : INVALID_GRAPH : Load model from /x failed:This is an invalid "
             "model. Type Error: Type 'tensor(float16)' of input parameter (input_0) of operator (QuantizeLinear) "
             "in node (/QuantizeLinear) is invalid.")  # fmt: skip
    case = "quant/fake_quantize_per_tensor[aaaaaaaaaaaa]"
    results = [
        make_result(case, Outcome.LOAD_FAIL, backend="onnxruntime", oracle=OracleAgreement.NO_SPEC, message=typed),
        make_result(case, Outcome.DTYPE, backend="iree", oracle=OracleAgreement.NO_SPEC,
                    message="output 0: dtype float32, expected float16"),
        make_result(case, Outcome.DTYPE, backend="tvm", oracle=OracleAgreement.NO_SPEC,
                    message="output 0: dtype float32, expected float16"),
        make_result(case, Outcome.PASS, backend="tract", oracle=OracleAgreement.NO_SPEC),
    ]  # fmt: skip
    findings = cluster(results)
    assert {f.party for f in findings} == {Party.EXPORTER}, [f.to_dict() for f in findings]
    dtype = next(f for f in findings if f.outcome == "dtype")
    assert "onnxruntime rejects the graph" in dtype.evidence and "QuantizeLinear" in dtype.evidence, dtype.evidence


def test_an_operator_the_exporter_cannot_lower_is_one_finding_whatever_the_dtype() -> None:
    """torchscript refusing aten::diff was six findings, one per dtype drawn, and a seventh where the export ran
    in a forked child whose error came back wrapped in `RuntimeError: `: one cause, one finding."""
    unsupported = (
        "UnsupportedOperatorError: Exporting the operator 'aten::diff' to ONNX opset version 17 is not supported"
    )
    results = []
    for n, (dtype, message) in enumerate(
        [("float32", unsupported), ("int64", unsupported), ("bool", f"RuntimeError: {unsupported}")]
    ):
        results += _graph(
            f"reduction/diff[{n:012d}]",
            {"onnxruntime": Outcome.EXPORT_FAIL, "tract": Outcome.EXPORT_FAIL},
            message=message,
            exporter="torchscript",
            params={"dtype": dtype},
        )
    (finding,) = cluster(results)
    assert finding.party == Party.EXPORTER and finding.dtype == "-" and len(finding.instances) == 3, finding
    # Where the words name the dtype, the dtype is the cause's: float16 apart from the rest.
    named = "ConversionError: DispatchError: No ONNX function found for <OpOverload(op='aten.erfinv')> for float16"
    results = _graph(
        "special/x[000000000001]", {"onnxruntime": Outcome.EXPORT_FAIL}, message=named, params={"dtype": "float16"}
    )
    assert [f.dtype for f in cluster(results)] == ["float16"]


def test_a_graph_the_reference_evaluator_has_no_kernel_for_is_the_reference_evaluators_when_backends_run_it() -> None:
    """onnx 1.23's reference evaluator implements DequantizeLinear from version 19 only: an opset-17 graph that
    onnxruntime and OpenVINO run is not invalid; the evaluator is the one that falls short."""
    missing = "RuntimeError: No implementation for operator 'DequantizeLinear' domain '' and version 17, found 19, 21."
    results = [
        make_result("quant/fake_quantize_per_tensor[aaaaaaaaaaaa]", Outcome.LOAD_FAIL, backend="reference",
                    oracle=OracleAgreement.NO_SPEC, message=missing),
        make_result("quant/fake_quantize_per_tensor[aaaaaaaaaaaa]", Outcome.PASS, backend="onnxruntime",
                    oracle=OracleAgreement.NO_SPEC),
        make_result("quant/fake_quantize_per_tensor[aaaaaaaaaaaa]", Outcome.PASS, backend="openvino",
                    oracle=OracleAgreement.NO_SPEC),
    ]  # fmt: skip
    (finding,) = cluster(results)
    assert (finding.party, finding.backend) == (Party.REFERENCE, "reference"), finding
    assert "2 of 2 other backends" in finding.evidence, finding.evidence
    # Where no backend runs it either, the graph is in question as before.
    alone = [
        replace(r, outcome=Outcome.LOAD_FAIL, message="Fail: bad") if r.backend != "reference" else r for r in results
    ]
    assert {f.party for f in cluster(alone)} == {Party.EXPORTER}


def test_a_load_refused_by_a_type_constraint_is_the_exporters_even_where_the_oracles_diverge() -> None:
    """torchscript writes QuantizeLinear of float16 with a float32 scale: onnxruntime refuses it on load by the
    schema's type parameter, the lenient reference evaluator runs it (and so differs from torch in dtype)."""
    bound = ("Fail: [ONNXRuntimeError] : 1 : FAIL : Load model from /tmp/m.onnx failed:Type Error: Type parameter "
             "(T1) of Optype (QuantizeLinear) bound to different types (tensor(float16) and tensor(float) in node (q).")  # fmt: skip
    results = _graph(
        "quant/fake_quantize_per_channel[aaaaaaaaaaaa]",
        {"onnxruntime": Outcome.LOAD_FAIL, "reference": Outcome.PASS},
        message=bound,
        exporter="torchscript",
        oracle=OracleAgreement.DIVERGE,
    )
    found = [f for f in cluster(results) if f.outcome == "load-fail"]
    assert [(f.party, f.backend) for f in found] == [(Party.EXPORTER, "*")], [f.to_dict() for f in found]
    assert "QuantizeLinear" in found[0].evidence
    # A backend that cannot load the graph for a reason of its own matches no oracle: it ran nothing to compare.
    own = [replace(r, message="TypeError: 'int' object is not iterable") if r.backend == "onnxruntime" else r
           for r in results]  # fmt: skip
    (refused,) = [f for f in cluster(own) if f.outcome == "load-fail"]
    assert refused.party == Party.BACKEND and "matches neither" not in refused.evidence, refused.evidence


def test_a_mismatch_with_no_reference_to_judge_by_does_not_claim_the_oracles_agree() -> None:
    """The reference evaluator cannot run the graph: torch is the only oracle. Backends that agree with one another
    against torch say the graph computes something else (the exporter's); a lone one says nothing of the oracles."""
    many = _graph(
        "quant/quantize_per_tensor[aaaaaaaaaaaa]",
        {"onnxruntime": Outcome.MISMATCH, "openvino": Outcome.MISMATCH, "tract": Outcome.MISMATCH},
        oracle=OracleAgreement.NO_SPEC,
    )
    assert {(f.party, f.backend) for f in cluster(many)} == {(Party.EXPORTER, "*")}, [
        f.to_dict() for f in cluster(many)
    ]
    (lone,) = cluster(many[:1])
    assert "agree" not in lone.evidence and "reference evaluator cannot run" in lone.evidence, lone.evidence


def test_a_backend_finding_that_matches_the_reference_on_the_whole_model_is_the_graphs() -> None:
    """With torch the only oracle (opset-17 QDQ, which onnx 1.23's reference evaluator loads only converted), a
    backend's mismatch with torch was blamed on the backend. Localizing shows it computes what the reference does
    on the whole model: it follows the graph, and the graph differs from torch."""
    from conformance.findings import localized, result_key
    from conformance.store import Localized

    results = _graph("quant/fq[aaaaaaaaaaaa]", {"tinygrad": Outcome.MISMATCH}, oracle=OracleAgreement.NO_SPEC)
    (found,) = cluster(results)
    assert found.party == Party.BACKEND, found
    said = "tinygrad matches the reference on the whole model"
    loc = Localized(found.id, result_key(results[0]), "not-reproduced", None, None, said, None, 1.0)
    (finding,) = localized(results, [loc])
    assert finding.party == Party.EXPORTER and "the backend follows the graph" in finding.evidence, finding


def test_a_graph_onnxruntime_checks_but_has_no_kernel_for_is_not_called_invalid() -> None:
    """onnxruntime resolves a graph by ONNX's inference before it looks for a kernel: its `unsupported` says the
    graph is valid. Where the reference evaluator then fails too (MaxRoiPool: it has none), that is the
    evaluator's shortfall and the other backends' own refusals, not an invalid model (nor, for a direct case,
    the case's)."""
    results = _graph(
        "direct/max_roi_pool[aaaaaaaaaaaa]",
        {"onnxruntime": Outcome.UNSUPPORTED, "reference": Outcome.LOAD_FAIL, "tract": Outcome.LOAD_FAIL},
        message="no kernel",
        oracle=OracleAgreement.NO_SPEC,
        exporter=DIRECT_EXPORTER,
    )
    parties = {f.backend: f.party for f in cluster(results)}
    assert parties == {"reference": Party.REFERENCE, "tract": Party.BACKEND}, parties
    reference = next(f for f in cluster(results) if f.backend == "reference")
    assert "onnxruntime loads" in reference.evidence and "invalid" not in reference.evidence, reference.evidence
    # Without onnxruntime's word, a graph no one runs is still the graph's (here the case's own) fault.
    alone = [r for r in results if r.backend != "onnxruntime"]
    assert {f.party for f in cluster(alone)} == {Party.CASE}, [f.to_dict() for f in cluster(alone)]
