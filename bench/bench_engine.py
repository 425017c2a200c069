"""Engine benchmark: cold versus warm run, and the harness's overhead per result.

Each phase runs in its own process so that its peak memory is its own; all
phases run in one invocation on the same machine. Targets: warm at least 10x
faster than cold (issue 2); harness overhead at most 0.3 ms per result
(median, issue 16; issue 2 asked for 1 ms).

    python bench/bench_engine.py [--cases GLOBS] [--max-examples N] [--backend NAME]

"Overhead" is the wall time of one result minus the time spent inside the
backend's own `prepare` and `run` calls for it: what the harness adds
(loading the cached artifact, comparing, writing the store, bookkeeping).
With worker processes the engine does that work for one instance while the
workers run the next, so what is left is mostly the pipe round trip and
whatever harness work the backend's own time does not cover; in-process,
all of it adds up.
The direct column times the backend's `run` called by hand on the same
session and inputs, to show the harness measures the backend fairly.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_CASES = "relu,add,mul,greater,exp,tanh,sum,mean,softmax,matmul,conv2d,reshape,transpose,cat"


def _phase(args: argparse.Namespace) -> dict[str, Any]:
    from conformance.engine import Progress, RunOptions, run
    from conformance.execute import Collect, Execution, InProcessExecutor, ProcessExecutor
    from conformance.model import Artifact, Backend

    executions: list[Execution] = []
    stamps: list[float] = []
    inner = InProcessExecutor() if args.in_process else ProcessExecutor()

    class Recording:
        """Wraps the executor a run would use and keeps each backend-side timing."""

        def start(self, backends: list[Backend]) -> None:
            inner.start(backends)

        def submit(self, backends: list[Backend], artifact: Artifact) -> Collect:
            collect = inner.submit(backends, artifact)

            def recorded() -> list[Execution]:
                results = collect()
                executions.extend(results)
                return results

            return recorded

        def close(self) -> None:
            inner.close()

    class Clock(Progress):
        def planned(self, total: int) -> None:
            stamps.append(time.perf_counter())

        def result(self, result: Any) -> None:
            stamps.append(time.perf_counter())

    options = RunOptions(
        cases=args.cases,
        backends=args.backend,
        max_examples=args.max_examples,
        seed=args.seed,
        cache_dir=Path(args.cache_dir),
        db=Path(args.db),
    )
    start = time.perf_counter()
    summary = run(options, progress=Clock(), executor=Recording())
    wall = time.perf_counter() - start

    # The first result also pays for starting the backend's worker process; leave it out.
    per_result = [b - a for a, b in itertools.pairwise(stamps)][1:]
    executions = executions[1:]
    overheads = [w - e.prepare_seconds - e.run_seconds for w, e in zip(per_result, executions, strict=True)]
    return {
        "wall_s": wall,
        "results": len(summary.results),
        "exported": summary.exported,
        "cached": summary.cached,
        "overhead_ms_median": 1000 * statistics.median(overheads) if overheads else None,
        "prepare_ms_median": 1000 * statistics.median(e.prepare_seconds for e in executions) if executions else None,
        "run_ms_median": 1000 * statistics.median(e.run_seconds for e in executions) if executions else None,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "direct_run_ms_median": _direct_run_ms(summary, args),
    }


def _direct_run_ms(summary: Any, args: argparse.Namespace) -> float | None:
    """The backend's own run call, timed by hand on the same artifacts, for comparison."""
    from conformance.backends import select_backends
    from conformance.export import ArtifactCache, artifact_key, build_artifact
    from conformance.generate import discover_cases, draw_instances, select_cases

    backend = select_backends(args.backend)[0]
    cache = ArtifactCache(Path(args.cache_dir))
    times = []
    for case in select_cases(discover_cases(), args.cases):
        for inst in draw_instances(case, seed=args.seed, max_examples=args.max_examples):
            if not (cache.path(artifact_key(inst, "dynamo", 18)) / "model.onnx").exists():
                continue
            art = build_artifact(inst, "dynamo", 18, cache)
            try:
                session = backend.prepare(art.model_path)
            except Exception:
                continue
            t = time.perf_counter()
            try:
                backend.run(session, art.inputs)
            except Exception:
                continue
            times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times) if times else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument("--max-examples", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="onnxruntime")
    parser.add_argument("--in-process", action="store_true", help="measure without worker-process isolation")
    parser.add_argument("--phase", choices=["cold", "warm"], help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        print(json.dumps(_phase(args)))
        return 0

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for phase in ("cold", "warm"):
            cmd = [
                sys.executable, __file__, "--phase", phase, "--cases", args.cases, "--max-examples",
                str(args.max_examples), "--seed", str(args.seed), "--backend", args.backend,
                "--cache-dir", f"{tmp}/cache", "--db", f"{tmp}/{phase}.sqlite",
            ] + (["--in-process"] if args.in_process else [])  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rows[phase] = json.loads(proc.stdout.strip().splitlines()[-1])

    cold, warm = rows["cold"], rows["warm"]
    speedup = cold["wall_s"] / warm["wall_s"]

    def fmt(v: Any, spec: str = ".2f") -> str:
        return "-" if v is None else format(v, spec)

    header = f"{'phase':<6} {'wall s':>8} {'results':>8} {'exported':>9} {'cached':>7} {'overhead ms':>12} " \
             f"{'prepare ms':>11} {'run ms':>8} {'direct run ms':>14} {'peak RSS MiB':>13}"  # fmt: skip
    executor = "in-process" if args.in_process else "worker process (the default)"
    print(f"backend {args.backend} ({executor}), cases {args.cases}, {args.max_examples} examples each")
    print(header)
    print("-" * len(header))
    for phase in ("cold", "warm"):
        r = rows[phase]
        print(
            f"{phase:<6} {fmt(r['wall_s']):>8} {r['results']:>8} {r['exported']:>9} {r['cached']:>7} "
            f"{fmt(r['overhead_ms_median'], '.3f'):>12} {fmt(r['prepare_ms_median'], '.3f'):>11} "
            f"{fmt(r['run_ms_median'], '.3f'):>8} {fmt(r['direct_run_ms_median'], '.3f'):>14} "
            f"{fmt(r['peak_rss_mib'], '.0f'):>13}"
        )
    overhead = warm["overhead_ms_median"]
    ok_speed = speedup >= 10
    ok_overhead = overhead is not None and overhead <= 0.3
    print()
    print(f"warm speed-up: {speedup:.1f}x (target >= 10x): {'met' if ok_speed else 'NOT met'}")
    print(f"median harness overhead per result (warm): {fmt(overhead, '.3f')} ms (target <= 0.3 ms): "
          f"{'met' if ok_overhead else 'NOT met'}")  # fmt: skip
    return 0 if ok_speed and ok_overhead else 1


if __name__ == "__main__":
    sys.exit(main())
