"""Render stage: reports are built from the results store, never from a live run.

One data model (`report_data`, the content of report.json, described by the
JSON Schema in `conformance/data/report.schema.json`) feeds every format: an
HTML page (one self-contained file, until a run is large enough that the rows
of its passing results move to a sidecar beside it: see `_browser_data`), a
Markdown summary sized for a CI comment, and JUnit XML. The templates live in
`conformance/templates/`; HTML and XML are rendered with autoescaping on, so
every string a backend or a case supplies is escaped.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import re
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .findings import finding_of, result_key, run_findings
from .history import (
    DEFAULT_DRIFT_ULP,
    NOT_RUN,
    PASSED,
    SEVERITY,
    BackendFigures,
    Diff,
    diff_results,
    figures_by_backend,
    previous_run,
    series_of,
    trend,
)
from .matrix import build as build_matrix
from .model import FAILING, PREBUILT_EXPORTER, OracleAgreement, Outcome, Result, Values
from .store import RunRecord, Store

SCHEMA_ID = "conformance-report/4"
FORMATS = ("html", "md", "json", "junit")
FILENAMES = {"html": "report.html", "md": "summary.md", "json": "report.json", "junit": "junit.xml"}

#: Upper bounds of the accuracy histogram bins (the last bin is open).
ULP_BINS: tuple[tuple[str, float], ...] = (
    ("0", 0.0),
    ("≤1", 1.0),
    ("≤4", 4.0),
    ("≤16", 16.0),
    ("≤256", 256.0),
    ("≤65536", 65536.0),
    (">65536", math.inf),
)
REL_BINS: tuple[tuple[str, float], ...] = (
    ("0", 0.0),
    ("≤1e-7", 1e-7),
    ("≤1e-5", 1e-5),
    ("≤1e-3", 1e-3),
    ("≤1e-1", 1e-1),
    (">1e-1", math.inf),
)

#: Markdown stays well under GitHub's 65,536-character comment limit.
MD_MAX_ROWS = 25


def schema_path() -> Path:
    return Path(__file__).parent / "data" / "report.schema.json"


def load_schema() -> dict[str, Any]:
    return json.loads(schema_path().read_text())


# --------------------------------------------------------------------------- data


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: those travel as the strings 'nan', 'inf', '-inf'.

    The exact-type checks first are only speed: this walks every result of the
    run (a million values at 50,000 results), and most values are plain.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float and math.isfinite(value):
        return value
    if kind is dict:
        return {str(k): _clean(v) for k, v in value.items()}
    if kind is list:
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def reproduce_command(result: Result, options: Mapping[str, Any]) -> str:
    """One line that re-runs exactly this instance: same case, seed, draw count, exporter and opset.

    `options` is a run's recorded options (`RunOptions.to_dict()`).
    """
    args = ["conformance", "run", "--cases", f"{result.category}/{result.case}", "--backends", result.backend]
    if result.exporter != PREBUILT_EXPORTER:  # a prebuilt model (an ONNX node test) is neither exported nor re-opset
        args += ["--exporters", result.exporter, "--opset", str(result.opset)]
    args += [
        "--seed",
        str(result.seed),
        "--max-examples",
        str(options.get("max_examples") or 1),
    ]
    values = result.values
    if values is Values.PLAIN and options.get("special_values") and not options.get("values"):
        values = Values.SPECIAL  # a run recorded before results said their value mode
    if values is Values.SPECIAL:
        args.append("--special-values")
    elif values is not Values.PLAIN:
        args += ["--values", str(values)]
    if options.get("cover") not in (None, "none"):
        args += ["--cover", str(options["cover"])]  # covering instances are drawn after the random ones
    return shlex.join(args)


def _histogram(values: Iterable[float], bins: Sequence[tuple[str, float]]) -> list[dict[str, Any]]:
    counts = [0] * len(bins)
    for v in values:
        if math.isnan(v):
            continue
        for i, (_, upper) in enumerate(bins):
            if v <= upper:
                counts[i] += 1
                break
    return [{"label": label, "count": n} for (label, _), n in zip(bins, counts, strict=True)]


def _worst(outcomes: Iterable[Outcome]) -> Outcome:
    return max(outcomes, key=lambda o: SEVERITY.get(o, 0))


def _rate(passed: int, ran: int) -> float | None:
    return passed / ran if ran else None


#: The category whose results make the scoreboard figure: ONNX's own node tests.
SCOREBOARD_CATEGORY = "onnx-node"


def scoreboard(results: Iterable[Result]) -> dict[str, Any] | None:
    """The old ONNX backend scoreboard's figure over the node tests: passed / (passed + failed).

    onnx/backend-scoreboard counted pytest's outcomes of ONNX's BackendTest: a
    test that ran and did not pass is failed, whatever stopped it (a wrong
    answer, an error, an operator the backend lacks, a crash); skips are set
    apart. So here: pass and xpass are passed; skip (a value the comparison
    cannot hold) is skipped; every other outcome (unsupported and xfail
    included) is failed. None when the run has no node test on the backend.
    """
    counts = Counter(
        "passed" if r.outcome in PASSED else "skipped" if r.outcome in NOT_RUN - {Outcome.UNSUPPORTED} else "failed"
        for r in results
        if r.category == SCOREBOARD_CATEGORY
    )
    tests = sum(counts.values())
    if not tests:
        return None
    passed, failed = counts["passed"], counts["failed"]
    return {
        "tests": tests,
        "passed": passed,
        "failed": failed,
        "skipped": counts["skipped"],
        "score": _rate(passed, passed + failed),
    }


def _failure_row(r: Result, run: RunRecord, finding: Mapping[str, str]) -> dict[str, Any]:
    return {
        "finding": finding.get(result_key(r)),
        "case_id": r.case_id,
        "case": f"{r.category}/{r.case}",
        "backend": r.backend,
        "exporter": r.exporter,
        "opset": r.opset,
        "values": str(r.values),
        "outcome": str(r.outcome),
        "oracle": str(r.oracle),
        "metrics": r.metrics.to_dict(),
        "message": r.message,
        "waiver": dict(r.waiver) if r.waiver else None,
        "reproduce": reproduce_command(r, run.options),
    }


def report_data(
    store: Store, run_id: str, *, threshold: float = DEFAULT_DRIFT_ULP, diff: Diff | None = None
) -> dict[str, Any]:
    """Everything every format shows, as plain JSON-able data (see report.schema.json).

    `diff` against the previous run of the series, where the caller already has it.
    """
    run = store.run(run_id)
    results = store.results(run.id)
    found = run_findings(store, run.id, results)
    finding = finding_of(found)
    by_backend: dict[str, Counter[str]] = {}
    for r in results:
        by_backend.setdefault(r.backend, Counter())[str(r.outcome)] += 1

    figures = figures_by_backend(results)
    versions: dict[str, str] = {}
    for r in results:
        versions.setdefault(r.backend, r.backend_version)
    backends: dict[str, Any] = {}
    for name, f in figures.items():
        mine = [r for r in results if r.backend == name and r.measured]
        backends[name] = {
            "version": versions.get(name, ""),
            **f.to_dict(),
            "outcomes": dict(sorted(by_backend[name].items())),
            "scoreboard": scoreboard(r for r in results if r.backend == name),
            "accuracy": {
                "measured": len(mine),
                "ulp": _histogram((r.metrics.max_ulp for r in mine), ULP_BINS),
                "rel": _histogram((r.metrics.max_rel_error for r in mine), REL_BINS),
            },
        }

    categories = sorted({r.category for r in results})
    cells: dict[tuple[str, str], BackendFigures] = {}
    for r in results:
        cells.setdefault((r.backend, r.category), BackendFigures()).add(r)
    matrix = {
        b: {
            c: {"ran": f.ran, "passed": f.passed, "total": f.total, "rate": f.correctness}
            for c in categories
            if (f := cells.get((b, c))) is not None
        }
        for b in figures
    }

    grid_cells: dict[str, dict[str, list[Result]]] = {}
    for r in results:
        grid_cells.setdefault(f"{r.category}/{r.case}", {}).setdefault(r.backend, []).append(r)
    grid = []
    for case_path in sorted(grid_cells):
        row: dict[str, Any] = {}
        for b, rs in sorted(grid_cells[case_path].items()):
            counts = Counter(str(r.outcome) for r in rs)
            row[b] = {
                "outcome": str(_worst(r.outcome for r in rs)),
                "total": len(rs),
                "passed": sum(r.outcome in PASSED for r in rs),
                "counts": dict(sorted(counts.items())),
            }
        grid.append({"case": case_path, "category": case_path.split("/", 1)[0], "cells": row})

    divergences: dict[tuple[str, str, int], dict[str, Any]] = {}
    for r in results:
        if r.oracle is OracleAgreement.AGREE or r.outcome in {Outcome.SKIP, Outcome.EXPORT_FAIL}:
            continue
        entry = divergences.setdefault(
            (r.case_id, r.exporter, r.opset),
            {
                "case_id": r.case_id,
                "case": f"{r.category}/{r.case}",
                "exporter": r.exporter,
                "opset": r.opset,
                "oracle": str(r.oracle),
                "backends": [],
                "message": r.message,
            },
        )
        entry["backends"].append(r.backend)

    special = [
        {
            "case_id": r.case_id,
            "case": f"{r.category}/{r.case}",
            "backend": r.backend,
            "exporter": r.exporter,
            "outcome": str(r.outcome),
            "special_mismatches": r.metrics.special_mismatches,
            "worst_index": list(r.metrics.worst_index),
            "worst_actual": r.metrics.worst_actual,
            "worst_expected": r.metrics.worst_expected,
            "message": r.message,
        }
        for r in results
        if r.outcome is Outcome.SPECIAL
        or r.metrics.special_mismatches > 0
        or (r.waiver or {}).get("actual") == str(Outcome.SPECIAL)
    ]

    if diff is None:
        prev = previous_run(store, run)
        if prev is not None:
            diff = diff_results(store.results(prev.id), results, run_a=prev.id, run_b=run.id, threshold=threshold)
    regressions = diff.to_dict() if diff is not None else None

    data = {
        "schema": SCHEMA_ID,
        "generated": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "run": {
            "id": run.id,
            "started": run.started,
            "finished": run.finished,
            "status": run.status,
            "seed": run.seed,
            "profile": run.profile,
            "series": series_of(run),
            "command": run.command,
            "options": run.options,
            "timings": run.timings,
            "versions": run.environment,
            "preset": run.options.get("preset"),
            "covered": {
                "exporters": sorted({r.exporter for r in results}),
                "opsets": sorted({r.opset for r in results}),
                "values": [str(v) for v in Values if any(r.values is v for r in results)],
            },
        },
        "summary": {
            "results": len(results),
            "failed": sum(r.outcome in FAILING for r in results),
            "outcomes": dict(Counter(str(r.outcome) for r in results)),
            "by_backend": {b: dict(c) for b, c in sorted(by_backend.items())},
        },
        "backends": backends,
        "categories": categories,
        "matrix": matrix,
        "grid": grid,
        "findings": [f.to_dict() for f in found],
        "op_support": build_matrix(results, store.graph_ops(run.id), found).to_dict(),
        "failures": [_failure_row(r, run, finding) for r in results if r.outcome in FAILING],
        "expected_failures": [_failure_row(r, run, finding) for r in results if r.outcome is Outcome.XFAIL],
        "divergences": list(divergences.values()),
        "special": special,
        "trend": trend(store, run, results=results),
        "previous_run": diff.run_a if diff is not None else None,
        "regressions": regressions,
        "results": [r.to_dict() for r in results],
    }
    return _clean(data)


# --------------------------------------------------------------------------- rendering


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _printable(value: Any) -> Any:
    """XML 1.0 cannot hold most control characters, even escaped: drop them (ANSI colours too).

    Markup (already-escaped output such as `tojson`) passes untouched: a plain
    string returned for it would be escaped a second time.
    """
    import markupsafe

    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return _XML_ILLEGAL.sub("", _ANSI.sub("", value))
    return value


def _md_cell(value: Any, limit: int = 160) -> str:
    """One Markdown table cell: one line, no pipes, no HTML, bounded length."""
    text = "" if value is None else str(value)
    text = _ANSI.sub("", text).replace("\r", " ").replace("\n", " ").strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("`", "'")


def _pct(value: Any) -> str:
    if value is None or isinstance(value, str):
        return "–"
    return f"{100 * value:.1f}%"


def _num(value: Any) -> str:
    """Metrics for people: short, and the non-finite ones spelled out."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if value == 0:
        return "0"
    return f"{value:.4g}"


def _first_line(value: Any, limit: int = 200) -> str:
    text = str(value or "").strip().splitlines()
    line = text[0] if text else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _rate_class(rate: Any) -> str:
    if rate is None or isinstance(rate, str):
        return "r-none"
    if rate >= 0.999999:
        return "r-100"
    if rate >= 0.9:
        return "r-90"
    if rate >= 0.5:
        return "r-50"
    return "r-0"


def _trend_svg(points: list[dict[str, Any]], backends: Sequence[str]) -> dict[str, Any]:
    """Geometry of a small line chart of correctness per backend over runs (drawn by the template)."""
    width, height, pad = 640, 200, 32
    n = len(points)
    xs = [pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5) for i in range(n)]
    series = []
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f"]
    for j, b in enumerate(backends):
        pts = []
        for x, p in zip(xs, points, strict=True):
            rate = p["backends"].get(b, {}).get("correctness")
            if rate is None or isinstance(rate, str):
                continue
            y = height - pad - (height - 2 * pad) * rate
            pts.append({"x": round(x, 1), "y": round(y, 1), "rate": rate, "run_id": p["run_id"]})
        series.append({"backend": b, "color": palette[j % len(palette)], "points": pts})
    every = max(1, math.ceil(n / 8))  # at most eight date labels under the axis
    ticks = [
        {"x": round(x, 1), "label": str(p["started"])[:10]}
        for i, (x, p) in enumerate(zip(xs, points, strict=True))
        if i % every == 0 or i == n - 1
    ]
    return {"width": width, "height": height, "pad": pad, "series": series, "ticks": ticks}


@functools.cache
def _environment():  # -> jinja2.Environment: built once, so its template cache serves every render
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "xml"), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_printable,
    )
    env.filters.update(
        md=_md_cell,
        pct=_pct,
        num=_num,
        first_line=_first_line,
        rate_class=_rate_class,
    )
    return env


def _context(data: dict[str, Any]) -> dict[str, Any]:
    backends = list(data["backends"])
    trend_backends = sorted({b for p in data["trend"] for b in p["backends"]})
    return {
        "d": data,
        "backends": backends,
        "outcome_names": [str(o) for o in sorted(Outcome, key=lambda o: SEVERITY.get(o, 0))],
        "failing": sorted(str(o) for o in FAILING),
        "not_run": sorted(str(o) for o in NOT_RUN),
        "chart": _trend_svg(data["trend"], trend_backends),
        "env": data["run"]["versions"],
    }


#: The page's sidecar, written beside report.html: the rows of the instances the page summarizes.
SIDECAR = "report-data.js"
#: write_reports' key for the sidecar's path, next to the formats' own.
SIDECAR_KEY = "html-data"
#: Outcomes whose instances the page summarizes (counts in the grid; rows on demand). Every other outcome
#: (the failures, xpass, xfail) is in the page in full, in its tables and in the grid's cell data.
SUMMARIZED = frozenset({Outcome.PASS, Outcome.SKIP, Outcome.UNSUPPORTED})
#: Up to this many summarized instances stay in the page, which is then one self-contained file; past it
#: they all move to the sidecar, so that the page grows with failures, not with results.
INLINE_SUMMARIZED_MAX = 2000
#: Columns of an instance's row in the page's data and in the sidecar.
BROWSER_COLUMNS = (
    "case_id",
    "backend",
    "exporter",
    "outcome",
    "oracle",
    "max_abs",
    "max_rel",
    "max_ulp",
    "fraction_off",
    "worst",
    "message",
    "params",
    "index",
)


def _browser_row(index: int, r: Mapping[str, Any]) -> list[Any]:
    m = r["metrics"]
    worst = ""
    if m.get("elements"):
        worst = f"out {m['worst_output']} at {m['worst_index']}: got {_num(m['worst_actual'])}, want {_num(m['worst_expected'])}"
    return [
        r["case_id"],
        r["backend"],
        r["exporter"],
        r["outcome"],
        r["oracle"],
        _num(m["max_abs_error"]),
        _num(m["max_rel_error"]),
        _num(m["max_ulp"]),
        _num(m["fraction_off"]),
        worst,
        _printable(r["message"]),
        json.dumps(r["params"], sort_keys=True),
        index,
    ]


def _browser_data(
    data: dict[str, Any], *, inline_max: int = INLINE_SUMMARIZED_MAX
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """What the page's script needs to open a grid cell: (the page's own rows, the sidecar's or None).

    Why a sidecar, and why a script: at 50,000 results a page holding every
    instance's row was 16 MB and took 3-4 s to open in headless Chromium
    (bench/bench_report.py), while what a reader came for (the findings and
    the failures) is a few thousand rows. So past
    `inline_max` summarized instances (pass, skip, unsupported: the grid
    already counts them) their rows go to `report-data.js` beside the page,
    which the page loads the first time a cell needs them, by adding a
    `<script src>` that assigns `window.conformanceReportData`. Not fetch() of
    a JSON file: Chromium refuses fetch() and XHR of file:// URLs, and the
    report is mostly opened from disk (a CI artifact, reports/latest/); a
    script element loads from file:// like any page resource. Not pagination
    either: every row would still be in the page. The sidecar names its run,
    so a page next to another run's sidecar says so instead of showing its
    rows; a page without its sidecar still shows every failure and the counts.
    Below the threshold nothing moves and the page stays one self-contained file.
    """
    inline: list[list[Any]] = []
    summarized: list[list[Any]] = []
    names = {str(o) for o in SUMMARIZED}
    for i, r in enumerate(data["results"]):
        (summarized if r["outcome"] in names else inline).append(_browser_row(i, r))
    run_id = data["run"]["id"]
    if len(summarized) <= inline_max:
        rows = sorted(inline + summarized, key=lambda row: row[-1])
        return {"columns": list(BROWSER_COLUMNS), "rows": rows, "sidecar": None}, None
    page = {
        "columns": list(BROWSER_COLUMNS),
        "rows": inline,
        "sidecar": {"src": SIDECAR, "run": run_id, "rows": len(summarized)},
    }
    return page, {"run": run_id, "columns": list(BROWSER_COLUMNS), "rows": summarized}


def _sidecar_script(sidecar: Mapping[str, Any]) -> str:
    """The sidecar as a classic script: plain JSON (ASCII-only, so no charset can misread it) assigned to a global."""
    body = json.dumps(sidecar, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return (
        "// Rows of the instances report.html summarizes, loaded by the page when a grid cell needs them.\n"
        f"window.conformanceReportData = {body};\n"
    )


def render_html_files(data: dict[str, Any], *, inline_max: int = INLINE_SUMMARIZED_MAX) -> tuple[str, str | None]:
    """The page and the text of its sidecar (`SIDECAR`), None where the page holds every instance itself."""
    page_data, sidecar = _browser_data(data, inline_max=inline_max)
    ctx = _context(data)
    ctx["browser_data"] = page_data
    html = _environment().get_template("report.html").render(ctx)
    return html, (_sidecar_script(sidecar) if sidecar is not None else None)


def render_html(data: dict[str, Any]) -> str:
    """The page alone: where it summarizes instances into a sidecar, `write_reports` writes that beside it."""
    return render_html_files(data)[0]


def render_markdown(data: dict[str, Any]) -> str:
    ctx = _context(data)
    ctx["max_rows"] = MD_MAX_ROWS
    return _environment().get_template("summary.md").render(ctx)


def render_junit(data: dict[str, Any]) -> str:
    suites: dict[str, list[dict[str, Any]]] = {}
    for r in data["results"]:
        suites.setdefault(r["backend"], []).append(r)
    failing = {str(o) for o in FAILING}
    skipped = {str(Outcome.SKIP), str(Outcome.UNSUPPORTED), str(Outcome.XFAIL)}
    summary = [
        {
            "name": b,
            "results": rs,
            "tests": len(rs),
            "failures": sum(r["outcome"] in failing for r in rs),
            "skipped": sum(r["outcome"] in skipped for r in rs),
            "time": sum(r["duration_s"] for r in rs if isinstance(r["duration_s"], int | float)),
        }
        for b, rs in sorted(suites.items())
    ]
    finding = {
        f"{f['case_id']}|{f['backend']}|{f['exporter']}|{f['opset']}": f["finding"]
        for f in (*data["failures"], *data["expected_failures"])
        if f["finding"]
    }
    ctx = _context(data)
    ctx.update(suites=summary, failing=failing, skipped=skipped, finding=finding)
    return _environment().get_template("junit.xml").render(ctx)


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, allow_nan=False)


_RENDER = {"html": render_html, "md": render_markdown, "json": render_json, "junit": render_junit}


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """'html,md' -> ('html', 'md'); 'all' means every format. Unknown names raise ValueError."""
    names = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    if not names or names == ["all"]:
        return FORMATS
    aliases = {"markdown": "md", "xml": "junit"}
    names = [aliases.get(n, n) for n in names]
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(names))


def write_reports(
    store: Store,
    run_id: str,
    out_dir: Path,
    formats: Sequence[str] = FORMATS,
    *,
    threshold: float = DEFAULT_DRIFT_ULP,
    diff: Diff | None = None,
) -> dict[str, Path]:
    """Write the chosen formats into `out_dir`; returns {format: path}, and `SIDECAR_KEY` for the page's sidecar.

    The sidecar is in the answer so that whoever copies the reports elsewhere
    (`conformance nightly` into latest/) copies it too. A sidecar left by an
    earlier report whose page no longer needs one is removed: the folder holds
    what its page reads.
    """
    data = report_data(store, run_id, threshold=threshold, diff=diff)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for fmt in formats:
        path = out_dir / FILENAMES[fmt]
        if fmt == "html":
            page, sidecar = render_html_files(data)
            path.write_text(page, encoding="utf-8")
            written[fmt] = path
            side = out_dir / SIDECAR
            if sidecar is None:
                side.unlink(missing_ok=True)
            else:
                side.write_text(sidecar, encoding="utf-8")
                written[SIDECAR_KEY] = side
            continue
        path.write_text(_RENDER[fmt](data), encoding="utf-8")
        written[fmt] = path
    return written


def write_json(store: Store, run_id: str, out_dir: Path) -> Path:
    return write_reports(store, run_id, out_dir, ("json",))["json"]
