"""The `conformance` command as a user runs it: real process, real exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import conformance


def test_list_backends_shows_the_builtin_three_with_versions() -> None:
    proc = conformance("list", "backends", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    for name in ("onnxruntime", "onnxruntime-noopt", "reference"):
        assert rows[name]["available"], rows[name]
        assert rows[name]["version"]


def test_list_cases_json_has_categories() -> None:
    proc = conformance("list", "cases", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) >= 10
    assert all(r["category"] and r["path"] == f"{r['category']}/{r['name']}" for r in rows)


def test_run_relu_passes_and_second_run_exports_nothing(tmp_path: Path) -> None:
    args = ["run", "--cases", "relu", "--backends", "onnxruntime,reference", "--max-examples", "5", "--seed", "1"]
    common = ["--db", str(tmp_path / "r.sqlite"), "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    first = conformance(*args, *common, "--out", str(tmp_path / "one"))
    assert first.returncode == 0, first.stderr
    report = json.loads((tmp_path / "one" / "report.json").read_text())
    for key in ("id", "started", "seed", "versions"):
        assert key in report["run"]
    assert report["run"]["seed"] == 1
    for name in ("torch", "onnx"):
        assert report["run"]["versions"][name]
    assert set(report["run"]["versions"]["backends"]) == {"onnxruntime", "reference"}
    assert report["results"]
    for r in report["results"]:
        assert r["outcome"] == "pass", r
        assert r["oracle"] == "agree"
        for key in ("case_id", "case", "backend", "exporter", "message"):
            assert key in r
        assert {"max_abs_error", "max_rel_error", "max_ulp", "fraction_off", "worst_index"} <= set(r["metrics"])
    assert "0 from cache" in first.stderr

    second = conformance(*args, *common, "--out", str(tmp_path / "two"))
    assert second.returncode == 0, second.stderr
    assert "artifacts: 0 exported" in second.stderr
    again = json.loads((tmp_path / "two" / "report.json").read_text())
    assert [r["case_id"] for r in again["results"]] == [r["case_id"] for r in report["results"]]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--backends", "nosuchbackend"], "unknown backend 'nosuchbackend'"),
        (["run", "--cases", "nosuchcase*"], "no case matches 'nosuchcase*'"),
        (["run", "--exporters", "onnxmagic", "--cases", "relu"], "unknown exporter 'onnxmagic'"),
        (["run", "--max-examples", "0"], "--max-examples: '0': must be a whole number, 1 or more"),
        (["run", "--opset", "eighteen"], "'eighteen' is not an opset number"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path: Path, args: list[str], needle: str) -> None:
    proc = conformance(*args, "--db", str(tmp_path / "r.sqlite")) if args[0] == "run" else conformance(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_broken_store_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not a database" * 100)
    proc = conformance("run", "--cases", "relu", "--db", str(bad), "--quiet")
    assert proc.returncode == 2
    assert "results store" in proc.stderr and "Traceback" not in proc.stderr


def _options(*argv: str) -> Any:
    from conformance.cli import build_parser
    from conformance.cli.run import run_options

    args = build_parser().parse_args(list(argv))
    args.argv = list(argv)
    return run_options(args)


def test_a_preset_names_the_matrix_and_options_given_override_it() -> None:
    nightly = _options("nightly")
    assert nightly.preset == "nightly" and nightly.exporters == ("dynamo", "torchscript")
    assert len(nightly.opset_list) >= 2 and [str(v) for v in nightly.value_modes] == ["plain", "special", "wide"]
    assert nightly.cover == "each" and nightly.opt_in
    mine = _options("nightly", "--exporters", "dynamo", "--opset", "18", "--values", "special", "--cover", "none")
    assert (mine.exporters, mine.opset_list, mine.values, mine.cover) == (("dynamo",), (18,), ("special",), "none")
    plain = _options("run")
    assert (plain.preset, plain.exporters, plain.opset_list, plain.max_examples, plain.cover) == (
        None, ("dynamo",), (18,), 5, "none"
    )  # fmt: skip
    assert _options("run", "--special-values").values == ("special",)
    assert _options("run", "--opset", "17,21,17").opset_list == (17, 21)
    assert _options("run", "--opset", "all").opset_list[0] == 13


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "--opset", "17,x"], "'x' is not an opset number"),
        (["run", "--values", "plain,loud"], "unknown value mode 'loud'"),
        (["run", "--preset", "weekly"], "invalid choice: 'weekly'"),
    ],
)
def test_a_bad_matrix_option_is_a_one_line_usage_error(argv: list[str], needle: str) -> None:
    proc = conformance(*argv)
    assert proc.returncode == 2 and needle in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_coverage_params_shows_every_value_drawn_without_exporting(tmp_path: Path) -> None:
    proc = conformance(
        "coverage", "--params", "--json", "--preset", "nightly", "--cases", "avg_pool2d,interpolate",
        "--cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = {r["case"]: r for r in json.loads(proc.stdout)}
    params = {p["label"]: p for p in rows["resampling/interpolate"]["parameters"]}
    assert {"mode", "align_corners", "dtype"} <= set(params)
    assert all(not p["never"] and len(p["drawn"]) == len(p["values"]) for r in rows.values() for p in r["parameters"])
    exported = [p for p in (tmp_path / "cache").rglob("model.onnx") if "onnx-node" not in p.parts]
    assert not exported, "nothing exported (the onnx-node pack's store is ONNX's own models)"
    bare = conformance("coverage", "--params", "--cases", "avg_pool2d", "--cover", "none", "--max-examples", "1")
    assert bare.returncode == 0 and "never:" in bare.stdout, "one random draw leaves values undrawn, and says which"


def test_torch_warnings_go_to_the_runs_log_not_the_console(tmp_path: Path) -> None:
    """scatter's `reduce=` draws torch's deprecation warning on every call; the console shows none of it."""
    db = tmp_path / "r.sqlite"
    done = conformance(
        "run", "--cases", "indexing/scatter", "--backends", "reference", "--max-examples", "3",
        "--db", str(db), "--quiet", "--expectations", "none",
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert "UserWarning" not in done.stderr and "UserWarning" not in done.stdout, done.stderr[-2000:]
    (log,) = (tmp_path / "logs").iterdir()
    assert f"log: {log} " in done.stderr, done.stderr[-2000:]
    text = log.read_text()
    assert "UserWarning" in text and "indexing/scatter[" in text, text[:500]


def test_piped_listing_is_one_full_name_per_line_and_a_closed_pipe_is_no_error() -> None:
    import subprocess

    from .conftest import BIN

    listed = conformance("list", "cases")
    lines = listed.stdout.splitlines()
    assert listed.returncode == 0 and len(lines) > 300, listed.stderr
    assert all(len(line.split("\t")) == 4 for line in lines), lines[:3]
    assert "pool/max_unpool2d" in {line.split("\t")[0] for line in lines}, "full case paths, never cut"
    head = subprocess.run(
        f"'{BIN / 'conformance'}' list cases | head -1", shell=True, capture_output=True, text=True, timeout=120
    )
    assert head.stdout.count("\n") == 1 and "Traceback" not in head.stderr and "BrokenPipe" not in head.stderr


def test_color_never_and_always() -> None:
    plain = conformance("--color", "never", "list", "backends")
    assert "\x1b[" not in plain.stdout and plain.returncode == 0
    forced = conformance("--color", "always", "list", "backends")
    assert "\x1b[" in forced.stdout, forced.stdout[:200]


def test_run_and_coverage_show_a_bar_with_stage_and_eta_on_a_terminal(tmp_path: Path) -> None:
    """Issue 17, item 6: `--color always` makes rich treat stderr as a terminal; piped, no bar."""
    db = str(tmp_path / "r.sqlite")
    shown = conformance("--color", "always", "run", "--cases", "relu", "--backends", "reference",
                        "--max-examples", "1", "--db", db)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "ETA" in shown.stderr and "activation/relu" in shown.stderr, shown.stderr[-2000:]
    covered = conformance("--color", "always", "coverage", "--cases", "relu", "--max-examples", "1")
    assert covered.returncode == 0, covered.stderr
    assert "coverage" in covered.stderr and "ETA" in covered.stderr and "1/1" in covered.stderr, covered.stderr
    piped = conformance("coverage", "--cases", "relu", "--max-examples", "1")
    assert piped.returncode == 0 and "ETA" not in piped.stderr, piped.stderr


def test_run_failed_reruns_exactly_the_failing_results(tmp_path: Path) -> None:
    """Like pytest's --lf: onnxruntime 1.32 gets linalg/mv wrong (its Transpose+MatMul fusion), reference
    does not; the re-run has exactly the failing (instance, backend) results and nothing else."""
    db = str(tmp_path / "r.sqlite")
    first = conformance(
        "run", "--cases", "linalg/mv,relu", "--cover", "each", "--backends", "onnxruntime,reference",
        "--expectations", "none", "--db", db, "--quiet",
    )  # fmt: skip
    assert first.returncode == 1, first.stderr[-2000:]
    again = conformance("run", "--failed", "--expectations", "none", "--db", db, "--quiet")
    assert again.returncode == 1, again.stderr[-2000:]
    from conformance.model import FAILING
    from conformance.store import Store

    with Store(db) as store:
        runs = store.runs()
        before = {
            (r.case_id, r.backend, r.exporter, r.opset) for r in store.results(runs[0].id) if r.outcome in FAILING
        }
        after = [(r.case_id, r.backend, r.exporter, r.opset, r.outcome) for r in store.results(runs[1].id)]
    assert before and {a[:4] for a in after} == before and len(after) == len(before), (after, before)
    assert all(o in FAILING for *_, o in after), after
    none = conformance("run", "--failed", runs[1].id, "--db", db, "--quiet")
    assert none.returncode in (0, 1)
