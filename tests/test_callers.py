"""check_model from every kind of caller: workers never re-run the caller's `__main__`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: What a user writes first: no main guard, a print at top level that a re-run would repeat.
SCRIPT = """
import torch
import conformance

print("top level ran")

class Tiny(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x) * 2 + 1

result = conformance.check_model(Tiny(), (torch.randn(3, 4),), backends=BACKENDS)
for entry in result.results:
    print("RESULT", entry.backend, entry.outcome, entry.message[:200])
result.assert_ok()
print("all ok")
"""


def _run(args: list[str], tmp_path: Path, backends: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CONFORMANCE_DB=str(tmp_path / "r.sqlite"))
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )


def _check(proc: subprocess.CompletedProcess[str], backends: list[str]) -> None:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("top level ran") == 1, "a worker re-ran the caller's top level"
    ran = {line.split()[1]: line.split()[2] for line in proc.stdout.splitlines() if line.startswith("RESULT")}
    assert ran == dict.fromkeys(backends, "pass"), proc.stdout
    assert "all ok" in proc.stdout


BACKENDS = ["onnxruntime", "reference", "openvino"]


def _script(backends: list[str]) -> str:
    return SCRIPT.replace("BACKENDS", repr(",".join(backends)))


def test_unguarded_script_file(tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    (tmp_path / "user.py").write_text(_script(BACKENDS))
    _check(_run(["user.py"], tmp_path, ",".join(BACKENDS)), BACKENDS)


def test_script_from_stdin(tmp_path: Path) -> None:
    _check(_run(["-"], tmp_path, "", stdin=_script(["onnxruntime", "reference"])), ["onnxruntime", "reference"])


def test_notebook_like_exec(tmp_path: Path) -> None:
    """A notebook runs cells with exec in a `__main__` that has no file."""
    code = f"import types, sys\nns = {{'__name__': '__main__'}}\nexec(compile({_script(['reference'])!r}, '<cell>', 'exec'), ns)\n"
    _check(_run(["-c", code], tmp_path, ""), ["reference"])


#: The engine from an unguarded script, with the export pool on: its spawned processes must not re-run it.
RUN_SCRIPT = """
import os
from pathlib import Path
from conformance.engine import RunOptions, run

print("top level ran")
os.environ["CONFORMANCE_BACKEND_CACHE"] = str(Path("backends").resolve())
summary = run(RunOptions(cases="relu,add", backends="reference,iree", max_examples=2, export_workers=1,
                         cache_dir=Path("cache"), db=Path("r.sqlite"), replay=False))
print("RESULTS", len(summary.results), "EXPORTED", summary.exported)
"""


def test_unguarded_script_with_the_export_pool(tmp_path: Path) -> None:
    """A pool of spawned processes re-imports the caller's `__main__` by default: each would run the script
    again, fail in multiprocessing's bootstrapping check and die, and the driver export everything itself.
    The same holds for the process that compiles IREE's models ahead."""
    (tmp_path / "user.py").write_text(RUN_SCRIPT)
    proc = _run(["user.py"], tmp_path, "")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("top level ran") == 1, proc.stdout
    assert "bootstrapping phase" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "RESULTS 8" in proc.stdout, proc.stdout
    assert (tmp_path / "cache").is_dir()
    # IREE's models were compiled ahead (a case's two, as one module) by the prefetcher's second process,
    # spawned from the same hidden main.
    assert len(list((tmp_path / "backends" / "iree").glob("*.in"))) >= 2, sorted((tmp_path / "backends").rglob("*"))
