"""The HTML report at scale: its size and how fast headless Chromium opens it (issue 17, item 8).

    python bench/bench_report.py [--results 50000] [--fail-rate 1.0] [--opens 3] [--out DIR]

Builds a results store of synthetic but realistic results (300 cases x 9
backends x ~19 instances; mostly passes, then the mix a nightly shows:
declared gaps, skips, waived failures, dtype-specific mismatches, run errors
with tracebacks, a few crashes, special-value differences, export failures),
renders every report with `write_reports`, then opens report.html from disk
(file://) in Debian's headless chromium through Playwright, the driver the
browser tests use. It prints one table: the page's size and its sidecar's,
render time, the time to the `load` event and until the page's script has
built its tables (the `data-ready` mark), and the time for a grid cell whose
instances live in the sidecar to open.

Targets: at 50,000 results report.html under 10 MB and open (ready) in under
3 s. Times are medians over --opens fresh pages in one browser.
`--fail-rate` scales every failure probability, to see how the page grows with
failures (which it shows in full) rather than with results.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.model import Metrics, OpUse, OracleAgreement, Outcome, Result, Values
from conformance.report import write_reports
from conformance.store import Store

TARGET_HTML_MB = 10.0
TARGET_READY_S = 3.0

BACKENDS = (
    "onnxruntime",
    "onnxruntime-noopt",
    "reference",
    "openvino",
    "iree",
    "tvm",
    "tinygrad",
    "tract",
    "onnx2torch",
)
CATEGORIES = {
    "activation": 30,
    "math": 60,
    "reduce": 30,
    "shape": 40,
    "nn": 40,
    "linalg": 20,
    "logic": 20,
    "onnx-node": 60,
}
ONNX_OPS = (
    "Abs Acos Add And ArgMax AveragePool BatchNormalization Cast Ceil Clip Concat Conv ConvTranspose Cos CumSum "
    "DepthToSpace Div Einsum Elu Equal Erf Exp Expand Flatten Floor Gather GatherElements Gelu Gemm Greater "
    "GridSample HardSigmoid Identity InstanceNormalization IsNaN LayerNormalization LeakyRelu Less Log LogSoftmax "
    "MatMul Max MaxPool Mean Min Mod Mul Neg Not Or Pad Pow PRelu Range Reciprocal ReduceL2 ReduceMax ReduceMean "
    "ReduceMin ReduceProd ReduceSum Relu Reshape Resize Round ScatterElements Selu Shape Sigmoid Sign Sin Slice "
    "Softmax Softplus Split Sqrt Squeeze Sub Sum Tanh Tile TopK Transpose Trilu Unsqueeze Where Xor"
).split()
DTYPES = ("float32", "float16", "bfloat16", "int64", "float64")
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "conformance/execute.py", line 212, in _run_one\n'
    "    outputs = backend.run(session, inputs)\n"
    '  File "conformance/backends/{backend}.py", line 88, in run\n'
    "    return [np.asarray(o) for o in session.run(None, feeds)]\n"
    "RuntimeError: [{backend}] {op} node '/{op}_{n}' (op_type:{op}): "
    "could not find an implementation for {op}({dtype}) node with name '/{op}_{n}'"
)


def synthetic_results(n: int, rng: random.Random, fail_rate: float) -> tuple[list[Result], dict[str, list[OpUse]]]:
    """About `n` results (exactly n) and the ops each case's graph holds, deterministic in `rng`'s seed."""
    cases = [(cat, f"{cat}/op{i:03d}") for cat, count in CATEGORIES.items() for i in range(count)]
    per_case = math.ceil(math.ceil(n / len(BACKENDS)) / len(cases))
    results: list[Result] = []
    graph_ops: dict[str, list[OpUse]] = {}
    for cat, path in cases:
        ops = rng.sample(ONNX_OPS, rng.randint(1, 3))
        dtypes = rng.sample(DTYPES, rng.randint(1, 3))
        export_fail = rng.random() < 0.01 * fail_rate
        per_backend: dict[str, dict[str, Any]] = {}
        for b in BACKENDS:
            per_backend[b] = {
                "unsupported": rng.random() < 0.04,
                "skip": rng.random() < 0.02,
                "xfail": rng.random() < 0.015 * fail_rate,
                "run_error": rng.random() < 0.01 * fail_rate,
                "crash": rng.random() < 0.003 * fail_rate,
                "bad_dtype": rng.choice(dtypes) if rng.random() < 0.06 * fail_rate else None,
                "special": rng.random() < 0.1 * fail_rate,
            }
        for k in range(per_case):
            dtype = dtypes[k % len(dtypes)]
            values = Values.SPECIAL if k % 10 == 9 else Values.PLAIN
            shape = [rng.randint(1, 8) for _ in range(rng.randint(1, 4))]
            case_id = f"{path}[{dtype}-{k:02d}]"
            params = {"dtype": dtype, "shape": shape, "alpha": round(rng.uniform(-2, 2), 3), "keepdim": k % 2 == 0}
            graph_ops[case_id] = [OpUse(op, dtype) for op in ops]
            seed = rng.randrange(1 << 31)
            for b in BACKENDS:
                fate = per_backend[b]
                elements = math.prod(shape)
                want = round(rng.uniform(-5, 5), 6)
                metrics = Metrics(  # a pass's metrics are recorded too, worst element included
                    elements=elements,
                    max_ulp=float(rng.choice((0, 0, 0.5, 1, 2))),
                    max_rel_error=rng.choice((0.0, 3e-8, 1.2e-7)),
                    max_abs_error=rng.choice((0.0, 1e-8, 6e-8)),
                    worst_index=tuple(rng.randrange(s) for s in shape),
                    worst_actual=want + rng.choice((0.0, 1e-7)),
                    worst_expected=want,
                )
                message, waiver, oracle = "", None, OracleAgreement.AGREE
                if export_fail:
                    outcome, metrics = Outcome.EXPORT_FAIL, Metrics()
                    message = f"dynamo could not export {path}: unsupported aten op aten::{ops[0].lower()}.default"
                    oracle = OracleAgreement.NO_SPEC
                elif fate["unsupported"]:
                    outcome, metrics = Outcome.UNSUPPORTED, Metrics()
                    message = f"no kernel for {ops[0]}({dtype}) on {b}"
                elif fate["skip"]:
                    outcome, metrics, message = Outcome.SKIP, Metrics(), "needs opset 19"
                elif fate["crash"]:
                    outcome, metrics = Outcome.CRASH, Metrics()
                    message = f"worker died: Segmentation fault (signal 11) in {b} running {ops[0]}"
                elif fate["run_error"]:
                    outcome, metrics = Outcome.RUN_ERROR, Metrics()
                    message = TRACEBACK.format(backend=b, op=ops[0], n=k, dtype=dtype)
                elif fate["bad_dtype"] == dtype or rng.random() < 0.004 * fail_rate:
                    outcome = Outcome.XFAIL if fate["xfail"] else Outcome.MISMATCH
                    idx = tuple(rng.randrange(s) for s in shape)
                    metrics = Metrics(
                        elements=elements,
                        max_abs_error=rng.uniform(0.01, 3),
                        max_rel_error=rng.uniform(0.01, 1),
                        max_ulp=float(rng.choice((2048, 65536, 1e6))),
                        fraction_off=rng.random(),
                        worst_index=idx,
                        worst_actual=rng.uniform(-5, 5),
                        worst_expected=rng.uniform(-5, 5),
                    )
                    message = (
                        f"{metrics.fraction_off:.0%} of {elements} elements off: max ULP {metrics.max_ulp:g} > 4 "
                        f"at output 0 {list(idx)} ({dtype}, atol 1e-05, rtol 1e-05)"
                    )
                    if fate["xfail"]:
                        waiver = {"reason": f"https://github.com/example/{b}/issues/{rng.randint(1, 9999)}"}
                        waiver["actual"] = "mismatch"
                elif values is Values.SPECIAL and fate["special"]:
                    outcome = Outcome.SPECIAL
                    metrics = Metrics(
                        elements=elements,
                        special_mismatches=rng.randint(1, 4),
                        max_ulp=math.inf,
                        worst_actual=math.nan,
                        worst_expected=-math.inf,
                    )
                    message = "NaN where torch has -inf at output 0"
                else:
                    outcome = Outcome.PASS
                results.append(
                    Result(
                        run_id="bench",
                        case_id=case_id,
                        case=path.split("/", 1)[1],
                        category=cat,
                        backend=b,
                        backend_version="1.0",
                        exporter="dynamo",
                        opset=18,
                        outcome=outcome,
                        oracle=oracle,
                        metrics=metrics,
                        message=message,
                        params=params,
                        seed=seed,
                        duration_s=rng.uniform(0.001, 0.05),
                        waiver=waiver,
                        values=values,
                    )
                )
    return results[:n], graph_ops


def build_store(path: Path, n: int, seed: int, fail_rate: float) -> tuple[Store, Any]:
    results, graph_ops = synthetic_results(n, random.Random(seed), fail_rate)
    store = Store(path, create=True)
    options = {"max_examples": 19, "seed": seed, "cases": "*", "backends": ",".join(BACKENDS)}
    store.begin_run("bench", "2026-01-01T00:00:00+00:00", seed=seed, environment={"python": "3"}, options=options)
    for i in range(0, len(results), 2000):
        store.record_many(results[i : i + 2000])
    for case_id, ops in graph_ops.items():
        store.record_graph_ops("bench", case_id, "dynamo", 18, ops)
    store.finish_run("bench", "2026-01-01T01:00:00+00:00")
    return store, results


#: Installed before the page's own script: records when the page marks itself ready (`data-ready`), old pages too.
READY_PROBE = """
new MutationObserver(function (_, obs) {
  if (document.documentElement && document.documentElement.getAttribute("data-ready")) {
    window.__readyAt = performance.now(); obs.disconnect();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ["data-ready"]});
"""


#: Clicks a grid cell and resolves, in ms, when its rows are in the table and a frame has been drawn.
#: Timed in the page: Playwright's own click waits for layout to settle and adds seconds on this page.
CLICK_PROBE = """([td, total]) => new Promise(resolve => {
  const start = performance.now();
  td.click();
  (function poll() {
    if (document.querySelectorAll("#cell-table tbody tr").length === total) {
      requestAnimationFrame(() => resolve(performance.now() - start));
    } else setTimeout(poll, 5);
  })();
})"""


def open_in_chromium(html: Path, opens: int, lazy_cell: tuple[str, str, int] | None) -> dict[str, Any]:
    """Median time to `load` and to ready over `opens` fresh pages; then one click on a lazily loaded cell."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("no chromium on PATH (scripts/setup installs Debian's `chromium`)")
    loads, readies, walls = [], [], []
    click_s = None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            for i in range(opens):
                page = browser.new_page()
                page.add_init_script(READY_PROBE)
                errors: list[str] = []
                page.on("pageerror", lambda e, sink=errors: sink.append(str(e)))
                start = time.perf_counter()
                page.goto(html.as_uri(), wait_until="load", timeout=120_000)
                # Locators, not wait_for_function: the page's CSP (no 'unsafe-eval') refuses its string predicates.
                page.locator("html[data-ready]").wait_for(state="attached", timeout=120_000)
                walls.append(time.perf_counter() - start)
                nav = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
                loads.append(nav["loadEventStart"] / 1000)
                readies.append(page.evaluate("window.__readyAt") / 1000)
                if errors:
                    raise SystemExit(f"the page threw: {errors}")
                if i == opens - 1 and lazy_cell is not None:
                    case, backend, total = lazy_cell
                    cell = page.locator(f'#grid td.cell[data-case="{case}"][data-backend="{backend}"]')
                    cell.scroll_into_view_if_needed()  # as a reader would: the grid is laid out when scrolled to
                    click_s = page.evaluate(CLICK_PROBE, [cell.element_handle(), total]) / 1000
                    shown = page.locator("#cell-table tbody tr").count()
                    if shown != total:
                        raise SystemExit(f"the cell {case} on {backend} shows {shown} rows, not {total}")
                page.close()
        finally:
            browser.close()
    return {
        "load_s": statistics.median(loads),
        "ready_s": statistics.median(max(r, 0.0) for r in readies),
        "wall_s": statistics.median(walls),
        "lazy_cell_s": click_s,
        "chromium": executable,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fail-rate", type=float, default=1.0, help="scale every failure probability")
    ap.add_argument("--opens", type=int, default=3, help="fresh pages to time (median)")
    ap.add_argument("--out", type=Path, help="keep the store and reports here (default: a temporary folder)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = args.out or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        db = work / "bench.sqlite"
        db.unlink(missing_ok=True)
        start = time.perf_counter()
        store, results = build_store(db, args.results, args.seed, args.fail_rate)
        build_s = time.perf_counter() - start
        with store:
            start = time.perf_counter()
            written = write_reports(store, "bench", work / "report", ("html",))
            html_s = time.perf_counter() - start
            start = time.perf_counter()
            write_reports(store, "bench", work / "all")
            all_s = time.perf_counter() - start
        html = written["html"]
        sidecars = [p for p in html.parent.iterdir() if p != html]
        counts: dict[str, int] = {}
        for r in results:
            counts[str(r.outcome)] = counts.get(str(r.outcome), 0) + 1
        failing = sum(n for o, n in counts.items() if o not in ("pass", "skip", "unsupported", "xfail"))
        # A cell whose instances all passed: the one the page can only show from its sidecar.
        by_cell: dict[tuple[str, str], list[Result]] = {}
        for r in results:
            by_cell.setdefault((f"{r.category}/{r.case}", r.backend), []).append(r)
        lazy = next(
            ((*key, len(rs)) for key, rs in sorted(by_cell.items()) if all(r.outcome is Outcome.PASS for r in rs)),
            None,
        )
        browser = open_in_chromium(html, args.opens, lazy)
        html_mb = html.stat().st_size / 1e6
        sidecar_mb = sum(p.stat().st_size for p in sidecars) / 1e6
        json_mb = (work / "all" / "report.json").stat().st_size / 1e6

    figures = {
        "results": len(results),
        "failing": failing,
        "outcomes": dict(sorted(counts.items())),
        "html_mb": html_mb,
        "sidecar_mb": sidecar_mb,
        "sidecars": [p.name for p in sidecars],
        "json_mb": json_mb,
        "build_store_s": build_s,
        "render_html_s": html_s,
        "render_all_s": all_s,
        **browser,
    }
    rows = [
        ("results", f"{len(results):,}", ""),
        ("failing (shown in full)", f"{failing:,}", ""),
        ("report.html", f"{html_mb:.2f} MB", f"< {TARGET_HTML_MB:g} MB {'ok' if html_mb < TARGET_HTML_MB else 'OVER'}"),
        (
            "sidecar " + (", ".join(figures["sidecars"]) or "(none)"),
            f"{figures['sidecar_mb']:.2f} MB",
            "loaded on demand",
        ),
        ("report.json (every result)", f"{json_mb:.2f} MB", ""),
        ("render: write_reports html", f"{html_s:.2f} s", ""),
        ("render: write_reports all formats", f"{all_s:.2f} s", ""),
        ("chromium: load event", f"{browser['load_s']:.2f} s", ""),
        (
            "chromium: tables built (ready)",
            f"{browser['ready_s']:.2f} s",
            f"< {TARGET_READY_S:g} s {'ok' if browser['ready_s'] < TARGET_READY_S else 'OVER'}",
        ),
        ("chromium: goto to ready, wall", f"{browser['wall_s']:.2f} s", ""),
        (
            "chromium: open an all-pass cell",
            "–" if browser["lazy_cell_s"] is None else f"{browser['lazy_cell_s']:.2f} s",
            "first click loads the sidecar" if sidecars else "rows in the page",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'value':>10}  target / note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")
    if args.json:
        print(json.dumps(figures, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
