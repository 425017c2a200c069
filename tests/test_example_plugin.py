"""A third party's backend, installed with pip from examples/, is found and run like a built-in one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import REPO


def test_the_example_plugin_installs_lists_and_runs(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target",
         str(target), str(REPO / "examples" / "conformance-example-backend")],
        check=True, capture_output=True,
    )  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(target))
    cli = [sys.executable, "-m", "conformance"]
    listing = subprocess.run([*cli, "list", "backends", "--json"], capture_output=True, text=True, env=env, check=True)
    rows = {r["name"]: r for r in json.loads(listing.stdout)}
    assert rows["example-ort-basic"]["available"], rows.get("example-ort-basic")
    assert rows["example-ort-basic"]["version"].endswith("+basic")
    run = subprocess.run(
        [*cli, "run", "--cases", "relu,matmul", "--backends", "example-ort-basic", "--max-examples", "2",
         "--db", str(tmp_path / "r.sqlite"), "--out", str(tmp_path / "out"), "--quiet"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {r["backend"] for r in report["results"]} == {"example-ort-basic"}
    assert all(r["outcome"] == "pass" for r in report["results"])
