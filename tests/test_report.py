"""Reports rendered from the store: JSON against the shipped schema, JUnit, Markdown, static HTML checks.

Most data is written as real rows into a real store (fast); one test runs a
small real `conformance run --out` end to end. What the page does in a
browser is in test_browser.py.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.model import FAILING, Metrics, OracleAgreement, Outcome, Result
from conformance.report import (
    FILENAMES,
    SIDECAR,
    SIDECAR_KEY,
    load_schema,
    parse_formats,
    render_html,
    render_html_files,
    render_junit,
    render_markdown,
    report_data,
    schema_path,
    write_json,
    write_reports,
)
from conformance.store import Store

from .conftest import conformance, make_result, record_large_run

HOSTILE = "<script>window.__pwned=1</script> | `x` </script><b>bold</b> & \x1b[31mred\x1b[0m \x00\x07 end"


def result(case_id: str, outcome: Outcome, backend: str = "onnxruntime", message: str = "", **kw: Any) -> Result:
    oracle = kw.pop("oracle", OracleAgreement.AGREE)
    waiver = kw.pop("waiver", None)
    return make_result(
        case_id, outcome, backend=backend, message=message, metrics=Metrics(**kw), backend_version="9.9",
        oracle=oracle, params={"dtype": "float16", "shape": [2, 3]}, seed=7, duration_s=0.25, waiver=waiver,
    )  # fmt: skip


ROWS = [
    result("activation/relu[1]", Outcome.PASS, elements=6),
    result("activation/relu[1]", Outcome.PASS, "reference", elements=6, max_ulp=0.5, max_rel_error=3e-8),
    result(
        "math/exp[2]",
        Outcome.MISMATCH,
        message=HOSTILE,
        elements=6,
        max_abs_error=0.5,
        max_rel_error=0.25,
        max_ulp=2048.0,
        fraction_off=1 / 6,
        worst_index=(1, 2),
        worst_actual=1.5,
        worst_expected=1.0,
    ),
    result("math/exp[2]", Outcome.PASS, "reference", elements=6),
    result(
        "math/log[3]",
        Outcome.SPECIAL,
        message="NaN where torch has -inf",
        elements=4,
        special_mismatches=2,
        max_ulp=math.inf,
        worst_actual=math.nan,
        worst_expected=-math.inf,
    ),
    result("math/log[3]", Outcome.UNSUPPORTED, "reference", message="no kernel for Log(float16)"),
    result("math/div[4]", Outcome.CRASH, message="Segmentation fault (signal 11)"),
    result("math/div[4]", Outcome.SKIP, "reference", message="needs opset 19"),
    result(
        "reduce/sum[5]",
        Outcome.PASS,
        message="oracles diverge (reference evaluator vs torch: dtype); judged against the reference evaluator",
        oracle=OracleAgreement.DIVERGE,
        elements=1,
    ),
    result(
        "reduce/sum[5]",
        Outcome.XFAIL,
        "reference",
        message="mismatch, known",
        oracle=OracleAgreement.DIVERGE,
        elements=1,
        max_ulp=40.0,
        waiver={"reason": "https://github.com/onnx/onnx/issues/1", "actual": "mismatch"},
    ),
    result("shape/view[6]", Outcome.EXPORT_FAIL, message="dynamo could not export", oracle=OracleAgreement.NO_SPEC),
]

ENV = {
    "conformance": "0.1.0",
    "python": "3.11.7",
    "platform": "Linux-6-x86_64",
    "machine": "x86_64",
    "processor": "x86_64",
    "numpy": "2.0",
    "onnx": "1.17",
    "torch": "2.13.0",
    "backends": {"onnxruntime": "9.9", "reference": "1.17"},
}
OPTIONS = {"cases": "math/*", "max_examples": 3, "seed": 7, "special_values": True}


def record(store: Store, run_id: str, started: str, rows: list[Result], **kw: Any) -> None:
    store.begin_run(run_id, started, seed=7, environment=ENV, options=OPTIONS, command="conformance run", **kw)
    for r in rows:
        store.record(replace(r, run_id=run_id))
    store.finish_run(run_id, started)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "s.sqlite", create=True)
    record(s, "r1", "2026-01-01T00:00:00+00:00", ROWS)
    return s


def validate(data: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(load_schema()).validate(data)


def test_the_schema_is_valid_and_shipped_in_the_package() -> None:
    assert schema_path().parent.name == "data" and schema_path().parent.parent.name == "conformance"
    jsonschema.Draft202012Validator.check_schema(load_schema())


def test_report_json_validates_and_has_no_nan(store: Store, tmp_path: Path) -> None:
    path = write_json(store, "r1", tmp_path / "out")
    text = path.read_text()

    def no_constant(name: str) -> None:
        raise AssertionError(f"report.json holds {name}, which is not JSON")

    data = json.loads(text, parse_constant=no_constant)
    validate(data)
    assert data["summary"]["results"] == len(ROWS)
    assert data["summary"]["failed"] == sum(r.outcome in FAILING for r in ROWS) == 4
    special = next(r for r in data["results"] if r["outcome"] == "special")
    assert special["metrics"]["max_ulp"] == "inf" and special["metrics"]["worst_actual"] == "nan"


def test_report_figures_keep_coverage_correctness_and_accuracy_apart(store: Store) -> None:
    data = report_data(store, "r1")
    ort, ref = data["backends"]["onnxruntime"], data["backends"]["reference"]
    # onnxruntime: relu pass, exp mismatch, log special, div crash, sum pass; view export-fail is not run
    assert (ort["ran"], ort["passed"], ort["unsupported"], ort["not_run"]) == (5, 2, 0, 1)
    assert ort["coverage"] == 1.0 and ort["correctness"] == pytest.approx(2 / 5)
    # reference: relu, exp pass; sum xfail ran; log unsupported; div skipped
    assert (ref["ran"], ref["passed"], ref["unsupported"], ref["not_run"]) == (3, 2, 1, 1)
    assert ref["coverage"] == pytest.approx(3 / 4) and ref["correctness"] == pytest.approx(2 / 3)
    ulp = {h["label"]: h["count"] for h in ort["accuracy"]["ulp"]}
    assert ulp["0"] == 2 and ulp["≤65536"] == 1 and ulp[">65536"] == 1
    assert data["matrix"]["reference"]["math"] == {"ran": 1, "passed": 1, "total": 3, "rate": 1.0}
    cells = {row["case"]: row["cells"] for row in data["grid"]}
    assert cells["math/log"]["onnxruntime"]["outcome"] == "special"
    assert cells["math/log"]["reference"]["outcome"] == "unsupported"
    assert [(v["case_id"], v["oracle"], v["backends"]) for v in data["divergences"]] == [
        ("reduce/sum[5]", "diverge", ["onnxruntime", "reference"])
    ]
    assert [s["case_id"] for s in data["special"]] == ["math/log[3]"]
    assert [f["case_id"] for f in data["expected_failures"]] == ["reduce/sum[5]"]


def test_a_failure_names_a_command_that_reruns_that_instance(store: Store) -> None:
    data = report_data(store, "r1")
    exp = next(f for f in data["failures"] if f["case_id"] == "math/exp[2]")
    argv = shlex.split(exp["reproduce"])
    assert argv[:2] == ["conformance", "run"]
    opts = dict(zip(argv[2::2], argv[3::2], strict=False))
    assert opts["--cases"] == "math/exp" and opts["--backends"] == "onnxruntime"
    assert (opts["--exporters"], opts["--opset"], opts["--seed"], opts["--max-examples"]) == ("dynamo", "18", "7", "3")
    assert argv[-1] == "--special-values", "the run drew special values, so the reproduction must too"


def test_junit_has_one_testcase_per_result_failures_and_skips(store: Store) -> None:
    data = report_data(store, "r1")
    root = ET.fromstring(render_junit(data).encode())
    cases = root.findall(".//testcase")
    assert len(cases) == len(ROWS)
    failed = {c.get("name", "").split(" ")[0] for c in cases if c.find("failure") is not None}
    skipped = {(c.get("classname"), c.get("name", "").split(" ")[0]) for c in cases if c.find("skipped") is not None}
    assert failed == {"math/exp[2]", "math/log[3]", "math/div[4]", "shape/view[6]"}
    assert skipped == {
        ("reference.math.log", "math/log[3]"),
        ("reference.math.div", "math/div[4]"),
        ("reference.reduce.sum", "reduce/sum[5]"),
    }
    assert root.get("tests") == str(len(ROWS)) and root.get("failures") == "4" and root.get("skipped") == "3"
    exp = next(c for c in cases if c.get("name", "").startswith("math/exp[2]"))
    failure = exp.find("failure")
    assert failure is not None and failure.get("type") == "mismatch"
    assert "<script>window.__pwned=1</script>" in (failure.text or ""), "the message survives, as text"
    assert "max_ulp=2048" in (failure.text or "")


def test_markdown_is_bounded_and_carries_no_html(store: Store, tmp_path: Path) -> None:
    md = render_markdown(report_data(store, "r1"))
    assert "| onnxruntime | 9.9 | 100.0% | 40.0% |" in md, md
    assert "<script>" not in md and "</script>" not in md and "<b>" not in md
    failures_header = next(line for line in md.splitlines() if line.startswith("| case | backend |"))
    exp_row = next(line for line in md.splitlines() if "math/exp[2]" in line)
    columns = len(re.findall(r"(?<!\\)\|", failures_header))
    assert len(re.findall(r"(?<!\\)\|", exp_row)) == columns, f"a pipe in a message must not add a column: {exp_row}"
    assert "\x1b" not in md and "\x00" not in md

    many = [result(f"math/op{i}[{i}]", Outcome.MISMATCH, message="x" * 5000) for i in range(2000)]
    with Store(tmp_path / "big.sqlite", create=True) as big:
        record(big, "big", "2026-01-01T00:00:00+00:00", many)
        huge = render_markdown(report_data(big, "big"))
    assert len(huge) < 65536, "a CI comment holds at most 65,536 characters"
    assert "and 1975 more" in huge


def test_html_is_self_contained_and_escapes_every_supplied_string(store: Store) -> None:
    html = render_html(report_data(store, "r1"))
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "no remote resource may be referenced"
    assert "@import" not in html and "url(" not in html
    assert "<script>window.__pwned" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html, "the message is shown, escaped"
    # only the page's own two script elements open and close
    assert html.count("<script") == 2 and html.count("</script>") == 2
    data_json = html.split('<script type="application/json" id="report-data">', 1)[1].split("</script>", 1)[0]
    rows = json.loads(data_json)["rows"]
    assert any("<script>window.__pwned=1</script> | `x` </script>" in str(cell) for row in rows for cell in row), (
        "the data keeps the text"
    )
    for section in ("matrix", "grid", "failures", "divergences", "special", "trend-chart", "environment-table"):
        assert f'id="{section}"' in html, section
    assert "conformance run --cases math/exp --backends onnxruntime" in html
    for version in ("3.11.7", "2.13.0", "1.17", "Linux-6-x86_64"):
        assert version in html


def test_the_report_shows_regressions_since_the_previous_run_of_its_series(store: Store, tmp_path: Path) -> None:
    worse = [
        replace(r, outcome=Outcome.RUN_ERROR, message="boom") if r.case_id == "activation/relu[1]" else r for r in ROWS
    ]
    record(store, "r2", "2026-01-02T00:00:00+00:00", worse)
    data = report_data(store, "r2")
    validate(data)
    assert data["previous_run"] == "r1"
    assert [c["case_id"] for c in data["regressions"]["new_failures"]] == ["activation/relu[1]"] * 2
    assert [p["run_id"] for p in data["trend"]] == ["r1", "r2"]
    html = render_html(data)
    assert 'id="regression-verdict">regressed<' in html
    assert html.count('class="trend-point"') == 4, "two runs, two backends"
    md = render_markdown(data)
    assert "**regressed**" in md and "activation/relu[1]" in md


def test_report_command_writes_the_chosen_formats(store: Store, tmp_path: Path) -> None:
    store.close()
    db = tmp_path / "s.sqlite"
    proc = conformance("report", "latest", "--format", "md,junit", "--out", str(tmp_path / "r"), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["junit.xml", "summary.md"]
    bad = conformance("report", "r1", "--format", "pdf", "--out", str(tmp_path / "x"), "--db", str(db))
    assert bad.returncode == 2 and "unknown report format 'pdf'" in bad.stderr
    assert parse_formats("all") == parse_formats("html,md,json,junit") == tuple(FILENAMES)


def test_run_out_writes_all_four_formats_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = conformance(
        "run", "--cases", "relu", "--backends", "reference", "--max-examples", "1", "--quiet",
        "--db", str(tmp_path / "s.sqlite"), "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["junit.xml", "report.html", "report.json", "summary.md"]
    data = json.loads((out / "report.json").read_text())
    validate(data)
    assert data["summary"]["results"] >= 1 and set(data["backends"]) == {"reference"}
    root = ET.parse(out / "junit.xml").getroot()
    assert root.tag == "testsuites" and len(root.findall(".//testcase")) == data["summary"]["results"]
    assert "activation/relu" in (out / "report.html").read_text()
    assert data["run"]["id"] in (out / "summary.md").read_text()
    with Store(tmp_path / "s.sqlite", create=True) as s:
        assert write_reports(s, "latest", tmp_path / "again")["html"].exists()


def test_every_format_leads_with_the_findings_and_names_each_failures_finding(store: Store) -> None:
    data = report_data(store, "r1")
    validate(data)
    ids = {f["id"] for f in data["findings"]}
    assert ids and all(f["finding"] in ids for f in data["failures"]), "every failure belongs to a finding"
    exp = next(f for f in data["findings"] if f["op"] == "math/exp")
    assert (exp["party"], exp["backend"], exp["status"]) == ("backend", "onnxruntime", "new")
    assert (exp["example"]["expected"], exp["example"]["got"]) == (1.0, 1.5), "expected against got"
    html = render_html(data)
    assert html.index('id="findings-section"') < html.index('id="summary"'), "the HTML report opens with findings"
    assert f'id="{exp["id"]}"' in html and f'href="#{exp["id"]}"' in html
    assert exp["id"] in render_markdown(data)
    root = ET.fromstring(render_junit(data).encode())
    case = next(c for c in root.findall(".//testcase") if c.get("name", "").startswith("math/exp[2]"))
    prop = case.find("properties/property")
    assert prop is not None and (prop.get("name"), prop.get("value")) == ("finding", exp["id"])
    assert exp["id"] in (case.find("failure").get("message") or "")  # type: ignore[union-attr]


def _write_large(tmp_path: Path, name: str, **kw: Any) -> tuple[dict[str, Any], dict[str, Path]]:
    with Store(tmp_path / f"{name}.sqlite", create=True) as s:
        facts = record_large_run(s, name, **kw)
        written = write_reports(s, name, tmp_path / name, ("html", "json"))
    return facts, written


def _sidecar(path: Path) -> dict[str, Any]:
    text = path.read_text()
    assert text.isascii(), "the sidecar is ASCII: no charset can misread it"
    body = text.split("window.conformanceReportData = ", 1)[1].rstrip().removesuffix(";")
    return json.loads(body)


def _page_rows(html: str) -> list[list[Any]]:
    data_json = html.split('<script type="application/json" id="report-data">', 1)[1].split("</script>", 1)[0]
    return json.loads(data_json)["rows"]


def test_a_large_run_summarizes_passing_results_and_the_page_grows_with_failures_not_results(tmp_path: Path) -> None:
    small, small_files = _write_large(tmp_path, "small", cases=50, instances=10)
    large, large_files = _write_large(tmp_path, "large", cases=50, instances=20)
    assert (small["results"], large["results"]) == (2500, 5000)
    assert small["in_full"] == large["in_full"] == 26, "more instances add passes only"
    html = large_files["html"].read_text()

    # passing instances are counted in the grid, not each a row of the page
    for case_id in large["all_passed_instances"]:
        assert case_id not in html, f"{case_id} passed everywhere: the page should summarize it"
    page_rows = _page_rows(html)
    assert {row[3] for row in page_rows} == {"mismatch", "crash", "xfail"}
    side = _sidecar(large_files[SIDECAR_KEY])
    assert large_files[SIDECAR_KEY] == tmp_path / "large" / SIDECAR and side["run"] == "large"
    assert len(side["rows"]) == large["summarized"] and {row[3] for row in side["rows"]} == {
        "pass",
        "skip",
        "unsupported",
    }
    index = side["columns"].index("index")
    assert sorted(row[index] for row in page_rows + side["rows"]) == list(range(5000)), "every instance, once"

    # the page's size follows its failures: twice the results, the same failures, (almost) the same page
    small_html = small_files["html"].stat().st_size
    large_html = large_files["html"].stat().st_size
    assert large_html < 1.05 * small_html, (small_html, large_html)
    assert large_html < 150_000 + 3_000 * large["in_full"], large_html
    everything = render_html_files(report_data(Store(tmp_path / "large.sqlite"), "large"), inline_max=10**9)[0]
    assert large_html < len(everything.encode()) / 3, "the page holding every row was three times larger"

    # report.json stays complete and valid (the schema checked on the smaller run: jsonschema takes 1 s per 1,000)
    assert len(json.loads(large_files["json"].read_text())["results"]) == 5000
    data = json.loads(small_files["json"].read_text())
    assert len(data["results"]) == 2500
    validate(data)


def test_a_page_that_no_longer_needs_its_sidecar_leaves_none_behind(store: Store, tmp_path: Path) -> None:
    _, files = _write_large(tmp_path, "big", cases=50, instances=10)
    folder = files["html"].parent
    assert (folder / SIDECAR).exists()
    written = write_reports(store, "r1", folder, ("html",))
    assert SIDECAR_KEY not in written and not (folder / SIDECAR).exists(), "a small page holds its rows itself"
    assert len(_page_rows(written["html"].read_text())) == len(ROWS)
