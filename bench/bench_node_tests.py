"""ONNX's node tests on onnxruntime: `conformance run` against ONNX's own BackendTest runner.

    python bench/bench_node_tests.py [--cases GLOB] [--repeat N] [--keep DIR]

Both sides run the same tests (`collect_testcases(None)`, about 1,880 with
onnx 1.23) on onnxruntime's CPU provider, one after the other in one
invocation on the same machine, each as a fresh process timed from start to
exit (interpreter start, imports, collecting the tests, running, judging,
recording or reporting: what a user waits for).

ours    `conformance run --cases 'onnx-node/*' --backends onnxruntime` with a
        warm artifact cache and case index (a first, untimed run fills them),
        a fresh results store each time, backends in their worker process.
theirs  pytest over a module that does what onnx/backend-scoreboard and
        onnxruntime's own CI do: `BackendTest(onnxruntime.backend, __name__)`
        and its node-test class in the module globals, CPU items only
        (`-k _cpu`; the CUDA items would only be skipped). A first, untimed
        run warms the same caches (bytecode, the OS file cache).

onnx >= 1.16 builds node tests in memory (`load_model_tests(kind="node")` is
`collect_testcases`), so ONNX's runner reads no node-test files: the same
models and data sets reach both sides without `cmd_tools generate-data`.

Prints a table with both wall times (best of --repeat) and the ratio ours/theirs
(issue 16's target is at most 0.15), plus each side's pass count as a sanity check.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
#: Issue 16: the node suite in at most this share of ONNX's own runner's time.
TARGET = 0.15

THEIR_MODULE = '''\
"""ONNX's BackendTest over onnxruntime.backend: node tests only."""
import re

import onnx.backend.test
import onnxruntime.backend

_backend_test = onnx.backend.test.BackendTest(onnxruntime.backend, __name__)
{include}
globals().update({{k: v for k, v in _backend_test.test_cases.items() if k == "OnnxBackendNodeModelTest"}})
'''


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def ours(work: Path, cases: str, env: dict[str, str]) -> tuple[float, int, int]:
    db = work / "ours.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    argv = [str(BIN / "conformance"), "run", "--cases", cases, "--backends", "onnxruntime"]
    argv += ["--cache-dir", str(work / "cache"), "--db", str(db), "--quiet"]
    seconds, proc = _timed(argv, work, env)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"conformance run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    with sqlite3.connect(db) as con:
        total, passed = con.execute("SELECT COUNT(*), SUM(outcome IN ('pass', 'xpass')) FROM results").fetchone()
    return seconds, int(total), int(passed or 0)


def theirs(work: Path, cases: str, env: dict[str, str]) -> tuple[float, int, int]:
    names = [c.strip().removeprefix("onnx-node/") for c in cases.split(",") if c.strip()]
    include = ""
    if names != ["*"]:
        regex = "|".join(re.escape(n).replace(r"\*", ".*") + "_cpu" for n in names)
        include = f"_backend_test.include(r'^({regex})$')"
    module = work / "test_onnx_backend.py"
    module.write_text(THEIR_MODULE.format(include=include))
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "_cpu", str(module)]
    seconds, proc = _timed(argv, work, env)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|error|errors)", tail)}
    if not counts:
        raise SystemExit(f"pytest gave no summary ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    ran = counts.get("passed", 0) + counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    return seconds, ran, counts.get("passed", 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="onnx-node/*", help="node tests to run (globs, default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per side, best kept (default: 1)")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-node-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # Both sides get the same isolated caches: onnxruntime and friends write under $HOME.
    env.update(
        HOME=str(work / "home"), XDG_CACHE_HOME=str(work / "xdg-cache"), CONFORMANCE_CACHE_DIR=str(work / "cache")
    )
    (work / "home").mkdir(exist_ok=True)
    try:
        print(f"warming up (first runs, untimed) in {work} ...", file=sys.stderr)
        ours(work, args.cases, env)
        theirs(work, args.cases, env)
        best_ours = best_theirs = None
        for _ in range(args.repeat):
            o = ours(work, args.cases, env)
            t = theirs(work, args.cases, env)
            best_ours = o if best_ours is None or o[0] < best_ours[0] else best_ours
            best_theirs = t if best_theirs is None or t[0] < best_theirs[0] else best_theirs
        assert best_ours is not None and best_theirs is not None
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    ratio = best_ours[0] / best_theirs[0]
    rows = [
        ("conformance run (warm cache)", best_ours),
        ("ONNX BackendTest under pytest", best_theirs),
    ]
    print(f"node tests: {args.cases}; onnxruntime CPU; best of {args.repeat}; {os.cpu_count()} CPUs")
    print(f"{'runner':<32} {'wall s':>8} {'tests':>6} {'passed':>7}")
    for label, (seconds, ran, passed) in rows:
        print(f"{label:<32} {seconds:>8.2f} {ran:>6} {passed:>7}")
    print(f"{'ratio ours/theirs':<32} {ratio:>8.2f}  (target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})")
    if args.json:
        print(
            json.dumps(
                {
                    "ours_s": best_ours[0],
                    "theirs_s": best_theirs[0],
                    "ratio": ratio,
                    "ours": {"results": best_ours[1], "passed": best_ours[2]},
                    "theirs": {"ran": best_theirs[1], "passed": best_theirs[2]},
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
