"""The `conformance` command as a user runs it: real process, real exit codes."""

from __future__ import annotations

import json
from pathlib import Path

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
