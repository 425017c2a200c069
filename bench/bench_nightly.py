"""The whole-matrix nightly, cold and warm, measured stage by stage in one invocation.

    python bench/bench_nightly.py [--cases GLOBS] [--backends NAMES] [--preset NAME] [--node-tests]

cold    `conformance run --preset nightly` with empty caches: every model
        exported, every oracle computed, every compiled model (IREE, TVM,
        tinygrad kernels) built.
warm    the same command again: every artifact and compiled model cached.

Each is a fresh process timed from start to exit. The per-stage table comes
from the timings each run records in its store (see conformance/timing.py):
stages overlap, so they add up to more than the wall time. Peak RSS is the
driver's own and the largest of its worker processes'. Then `coverage` and
`matrix` are timed warm (they read the cache and the store), and with
--node-tests ONNX's node suite is run against ONNX's own runner
(bench_node_tests.py).

Targets (issue 16), for the whole matrix on two cores: cold <= 25 min, warm
<= 2 min, driver peak RSS <= 1 GiB; coverage and matrix <= 10 s warm; node
suite <= 0.15x ONNX's runner. `--cases` measures a subset quickly; figures for
a subset say nothing about the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
TARGETS = {"cold": 25 * 60.0, "warm": 120.0, "driver_rss_mb": 1024.0, "reader_s": 10.0, "node_ratio": 0.15}


def _env(work: Path) -> dict[str, str]:
    """Every cache under the work folder: a cold run starts from nothing, the warm run finds what it left."""
    env = dict(os.environ)
    env.update(
        HOME=str(work / "home"),
        XDG_CACHE_HOME=str(work / "xdg-cache"),
        XDG_DATA_HOME=str(work / "xdg-data"),
        CONFORMANCE_CACHE_DIR=str(work / "cache"),
        CONFORMANCE_BACKEND_CACHE=str(work / "backend-cache"),
    )
    (work / "home").mkdir(parents=True, exist_ok=True)
    return env


def _timed(argv: list[str], work: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def phase(name: str, args: argparse.Namespace, work: Path, env: dict[str, str]) -> dict[str, Any]:
    db = work / f"{name}.sqlite"
    argv = [str(BIN / "conformance"), "run", "--preset", args.preset, "--db", str(db), "--quiet"]
    argv += ["--expectations", "none", "--cache-dir", str(work / "cache")]
    argv += ["--cases", args.cases] if args.cases else []
    argv += ["--backends", args.backends] if args.backends else []
    argv += ["--export-workers", str(args.export_workers)] if args.export_workers is not None else []
    print(f"{name}: {' '.join(argv[1:])}", file=sys.stderr)
    seconds, proc = _timed(argv, work, env)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{name} run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    with sqlite3.connect(db) as con:
        (results,) = con.execute("SELECT COUNT(*) FROM results").fetchone()
        (timings, status) = con.execute("SELECT timings, status FROM runs").fetchone()
    if status != "complete":  # exit status 1 is also an uncaught exception's: a stopped run times nothing
        raise SystemExit(f"{name} run ended {status} after {results} results:\n{proc.stderr[-3000:]}")
    return {"wall_s": seconds, "results": int(results), "timings": json.loads(timings or "{}"), "db": db}


def reader(label: str, argv: list[str], work: Path, env: dict[str, str]) -> tuple[str, float]:
    seconds, proc = _timed(argv, work, env)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{label} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return label, seconds


def _row(label: str, *cells: str) -> str:
    return f"{label:<34}" + "".join(f"{c:>14}" for c in cells)


def table(cold: dict[str, Any], warm: dict[str, Any]) -> list[str]:
    out = [_row("", "cold wall s", "cold CPU s", "warm wall s", "warm CPU s")]
    stages = list(dict.fromkeys([*cold["timings"].get("stages", {}), *warm["timings"].get("stages", {})]))
    for s in stages:
        c = cold["timings"]["stages"].get(s, {})
        w = warm["timings"]["stages"].get(s, {})
        out.append(
            _row(
                f"stage {s}",
                *(f"{d.get(k, 0):.2f}" if d else "-" for d in (c, w) for k in ("wall_s", "cpu_s")),
            )
        )
    backends = list(dict.fromkeys([*cold["timings"].get("backends", {}), *warm["timings"].get("backends", {})]))
    for b in backends:
        c = cold["timings"]["backends"].get(b, {})
        w = warm["timings"]["backends"].get(b, {})
        out.append(
            _row(
                f"backend {b} (prepare+run)",
                f"{c.get('prepare_s', 0) + c.get('run_s', 0):.2f}",
                "",
                f"{w.get('prepare_s', 0) + w.get('run_s', 0):.2f}",
                "",
            )
        )
    out.append(_row("process wall s", f"{cold['wall_s']:.1f}", "", f"{warm['wall_s']:.1f}", ""))
    out.append(_row("results", str(cold["results"]), "", str(warm["results"]), ""))
    out.append(
        _row(
            "results per second",
            f"{cold['results'] / cold['wall_s']:.1f}",
            "",
            f"{warm['results'] / warm['wall_s']:.1f}",
            "",
        )
    )
    for who in ("driver", "workers"):
        c = cold["timings"].get("peak_rss_mb", {}).get(who, 0)
        w = warm["timings"].get("peak_rss_mb", {}).get(who, 0)
        out.append(_row(f"peak RSS MiB, {who}", f"{c:.0f}", "", f"{w:.0f}", ""))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="case globs (default: every case, as the nightly runs)")
    parser.add_argument("--backends", help="backend names (default: every available one)")
    parser.add_argument("--preset", default="nightly", help="the preset to measure (default: nightly)")
    parser.add_argument("--export-workers", type=int, help="passed to `run` (default: the run's own default)")
    parser.add_argument("--node-tests", action="store_true", help="also time ONNX's node suite against ONNX's runner")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-nightly-"))
    work.mkdir(parents=True, exist_ok=True)
    env = _env(work)
    try:
        cold = phase("cold", args, work, env)
        warm = phase("warm", args, work, env)
        readers = [
            reader("matrix (warm)", [str(BIN / "conformance"), "matrix", "--db", str(warm["db"])], work, env),
            reader(
                "coverage --params (no export)",
                [str(BIN / "conformance"), "coverage", "--params", "--preset", args.preset, "--json"]
                + (["--cases", args.cases] if args.cases else []),
                work,
                env,
            ),
        ]
        node = None
        if args.node_tests:
            sys.path.insert(0, str(Path(__file__).parent))
            from bench_node_tests import ours, theirs

            ours(work, "onnx-node/*", env)  # fills the node tests' artifacts, untimed
            node = (ours(work, "onnx-node/*", env), theirs(work, "onnx-node/*", env))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    print(f"preset {args.preset}, cases {args.cases or 'all'}, backends {args.backends or 'all available'}")
    print(f"machine: {os.cpu_count()} CPUs")
    print()
    print("\n".join(table(cold, warm)))
    print()
    for label, seconds in readers:
        print(_row(label, f"{seconds:.2f} s"))
    if node is not None:
        (o, t) = node
        print(_row("node suite: conformance run", f"{o[0]:.1f} s", f"{o[2]}/{o[1]} pass"))
        print(_row("node suite: ONNX BackendTest", f"{t[0]:.1f} s", f"{t[2]}/{t[1]} pass"))
        print(_row("node suite ratio (target 0.15)", f"{o[0] / t[0]:.2f}"))
    print()
    rss = cold["timings"].get("peak_rss_mb", {}).get("driver", 0)
    checks = [
        ("cold <= 25 min", cold["wall_s"] <= TARGETS["cold"]),
        ("warm <= 2 min", warm["wall_s"] <= TARGETS["warm"]),
        ("driver peak RSS <= 1 GiB", rss <= TARGETS["driver_rss_mb"]),
        ("matrix and coverage <= 10 s warm", all(s <= TARGETS["reader_s"] for _, s in readers)),
    ]
    scope = "" if not args.cases else " (a subset: not the whole matrix's figure)"
    for label, ok in checks:
        print(f"target {label}: {'met' if ok else 'MISSED'}{scope}")
    if args.json:
        figures = {
            "cold": {k: v for k, v in cold.items() if k != "db"},
            "warm": {k: v for k, v in warm.items() if k != "db"},
            "readers": dict(readers),
        }
        print(json.dumps(figures, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
