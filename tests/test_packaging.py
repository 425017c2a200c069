"""A non-editable install works as well as the editable one the tests run from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

PROBE = """
import json, conformance, cases
from conformance.backends import discover_backends
from conformance.generate import discover_cases
print(json.dumps({
    "conformance": conformance.__file__,
    "cases": cases.__file__,
    "backends": sorted(discover_backends()),
    "n_cases": len(discover_cases()),
}))
"""


def test_wheel_install_finds_backends_and_cases_through_entry_points(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--target",
            str(target),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=tmp_path, env=env, check=True
    )
    found = json.loads(proc.stdout)
    assert found["conformance"].startswith(str(target)), "the installed copy, not the source tree, must be imported"
    assert found["cases"].startswith(str(target)), "the built-in case pack must be in the wheel"
    assert {"onnxruntime", "onnxruntime-noopt", "reference"} <= set(found["backends"])
    assert found["n_cases"] >= 10
    cli = subprocess.run(
        [sys.executable, "-m", "conformance", "list", "backends", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    )
    assert {r["name"] for r in json.loads(cli.stdout) if r["available"]} >= {"onnxruntime", "reference"}
