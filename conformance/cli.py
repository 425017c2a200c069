"""The `conformance` command: a thin front end over the engine.

Exit status: 0 when nothing failed unexpectedly, 1 when something did, 2 for a
usage or input error (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _number(kind: type, minimum: float, what: str, maximum: float = float("inf")) -> Any:
    """An argparse type for a count or a limit: a bad value is a usage error naming the rule."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not minimum <= value <= maximum:  # NaN fails too
            raise argparse.ArgumentTypeError(f"{text!r}: must be {what}")
        return value

    parse.__name__ = what  # argparse names the type in its message
    return parse


#: The types every command's counts and limits are declared with.
COUNT = _number(int, 1, "a whole number, 1 or more")
NON_NEGATIVE = _number(int, 0, "a whole number, 0 or more")
SECONDS = _number(float, 1e-3, "a number of seconds above 0, at most a week", 7 * 86400.0)
RATE = _number(float, 0.0, "a rate from 0 to 1", 1.0)


def _opset(text: str) -> int:
    """An opset the installed onnx knows: from 7 (the oldest torch exports) to onnx's newest."""
    import onnx.defs

    newest = onnx.defs.onnx_opset_version()
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an opset number") from None
    if not 7 <= value <= newest:
        raise argparse.ArgumentTypeError(f"opset {value} is outside 7..{newest} (what onnx {onnx.__version__} knows)")
    return value


def _build_parser() -> argparse.ArgumentParser:
    from .execute import DEFAULT_MEMORY_LIMIT_MB, DEFAULT_TIMEOUT_S
    from .export import DEFAULT_OPSET

    parser = _Parser(prog="conformance", description="Cross-framework conformance suite for ONNX backends.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p_list = sub.add_parser("list", help="list cases or backends")
    p_list.add_argument("what", choices=["cases", "backends"])
    p_list.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p_list.add_argument("--cases", help="comma-separated globs over case names or paths")

    p_run = sub.add_parser("run", help="generate, export, run and judge cases; record and report")
    p_run.add_argument("--cases", help="comma-separated globs over case names or paths (default: all)")
    p_run.add_argument("--backends", help="comma-separated backend names (default: every available one)")
    p_run.add_argument("--exporters", default="dynamo", help="comma-separated: dynamo, torchscript (default: dynamo)")
    p_run.add_argument(
        "--opset", type=_opset, default=DEFAULT_OPSET, help=f"ONNX opset to export (default: {DEFAULT_OPSET})"
    )
    p_run.add_argument("--max-examples", type=COUNT, default=5, help="instances drawn per case (default: 5)")
    p_run.add_argument("--seed", type=int, default=0, help="generation seed (default: 0)")
    p_run.add_argument("--special-values", action="store_true", help="draw NaN, ±inf, -0.0, subnormals and extremes")
    p_run.add_argument("--cache-dir", type=Path, help="artifact cache (default: the user cache dir)")
    p_run.add_argument("--db", type=Path, help="results store (default: the user data dir)")
    p_run.add_argument("--out", type=Path, help="write the reports into this folder")
    p_run.add_argument("--quiet", action="store_true", help="no progress bar")
    p_run.add_argument(
        "--timeout",
        type=SECONDS,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds per result before `timeout` (default: {DEFAULT_TIMEOUT_S:g})",
    )
    p_run.add_argument(
        "--memory-limit",
        type=NON_NEGATIVE,
        default=DEFAULT_MEMORY_LIMIT_MB,
        help=f"MiB of address space per backend worker, 0 for no limit (default: {DEFAULT_MEMORY_LIMIT_MB})",
    )
    p_run.add_argument("--in-process", action="store_true", help="run backends in this process (no crash isolation)")
    p_run.add_argument("--dask", metavar="ADDRESS", help="run backends on this Dask scheduler's workers")
    p_run.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="finish a stopped run (id or 'latest') with its own options; what it recorded stays",
    )
    p_run.add_argument(
        "--expectations",
        help="known-failures file turning expected failures into xfail (default: the shipped one; 'none' for none)",
    )

    p_cov = sub.add_parser(
        "coverage", help="ONNX operators the exported graphs exercise; torch operators the cases run"
    )
    p_cov.add_argument("--cases", help="comma-separated globs over case names or paths (default: all)")
    p_cov.add_argument("--exporters", default="dynamo,torchscript", help="default: dynamo,torchscript")
    p_cov.add_argument("--opset", type=_opset, default=DEFAULT_OPSET)
    p_cov.add_argument("--max-examples", type=COUNT, default=2, help="instances per case (default: 2)")
    p_cov.add_argument("--seed", type=int, default=0)
    p_cov.add_argument("--cache-dir", type=Path, help="artifact cache (default: the user cache dir)")
    p_cov.add_argument("--json", nargs="?", const="-", metavar="FILE", help="write JSON (to FILE, or stdout)")

    p_exp = sub.add_parser("expectations", help="check or draft expectation files")
    exp_sub = p_exp.add_subparsers(dest="action", required=True, parser_class=_Parser)
    p_check = exp_sub.add_parser("check", help="validate an expectations file")
    p_check.add_argument("file", type=Path, nargs="?", help="default: the shipped file")
    p_update = exp_sub.add_parser("update", help="append draft entries for a run's unexpected failures")
    p_update.add_argument("--from", dest="run_id", required=True, help="run id, or 'latest'")
    p_update.add_argument("--file", type=Path, required=True, help="expectations file to append to")
    p_update.add_argument("--db", type=Path, help="results store (default: the user data dir)")
    p_prune = exp_sub.add_parser("prune", help="remove entries that the given runs show to be stale")
    p_prune.add_argument(
        "--from", dest="run_ids", action="append", required=True, help="run id, or 'latest'; repeat for several"
    )
    p_prune.add_argument("--file", type=Path, required=True, help="expectations file to prune")
    p_prune.add_argument("--db", type=Path, help="results store (default: the user data dir)")

    p_report = sub.add_parser("report", help="render a recorded run as HTML, Markdown, JSON and JUnit XML")
    p_report.add_argument("run_id", metavar="RUN_ID", help="run id, or 'latest'")
    p_report.add_argument("--format", default="html,md,json,junit", help="comma-separated: html, md, json, junit")
    p_report.add_argument("--out", type=Path, required=True, help="folder to write the reports into")
    p_report.add_argument("--db", type=Path, help="results store (default: the user data dir)")
    p_report.add_argument("--threshold", type=float, default=None, help="accuracy drift threshold in ULP")

    p_diff = sub.add_parser("diff", help="what changed between two runs; exit status 1 when something regressed")
    p_diff.add_argument("run_a", metavar="RUN_A", help="the earlier run (id, or 'latest')")
    p_diff.add_argument("run_b", metavar="RUN_B", help="the later run (id, or 'latest')")
    p_diff.add_argument("--db", type=Path, help="results store (default: the user data dir)")
    p_diff.add_argument("--threshold", type=float, default=None, help="accuracy drift threshold in ULP (default: 4)")
    p_diff.add_argument("--json", action="store_true", help="print JSON instead of text")

    p_nightly = sub.add_parser(
        "nightly", help="run the nightly profile, write reports/<date>/ and reports/latest/, exit 1 on a regression"
    )
    p_nightly.add_argument("--db", type=Path, help="results store (default: the user data dir)")
    p_nightly.add_argument("--out-root", type=Path, default=Path("reports"), help="default: reports")
    p_nightly.add_argument("--cases", help="comma-separated globs over case names or paths (default: all)")
    p_nightly.add_argument("--backends", help="comma-separated backend names (default: every available one)")
    p_nightly.add_argument(
        "--exporters", default="dynamo", help="comma-separated: dynamo, torchscript (default: dynamo)"
    )
    p_nightly.add_argument("--opset", type=_opset, default=DEFAULT_OPSET, help=f"default: {DEFAULT_OPSET}")
    p_nightly.add_argument("--max-examples", type=COUNT, default=5, help="instances drawn per case (default: 5)")
    p_nightly.add_argument("--seed", type=int, default=0, help="generation seed (default: 0)")
    p_nightly.add_argument("--cache-dir", type=Path, help="artifact cache (default: the user cache dir)")
    p_nightly.add_argument(
        "--profile", help="series name compared night to night (default: nightly, or nightly:CASES with --cases)"
    )
    p_nightly.add_argument("--threshold", type=float, default=None, help="accuracy drift threshold in ULP")
    p_nightly.add_argument("--dask", metavar="ADDRESS", help="run backends on this Dask scheduler's workers")
    _add_certification_parsers(sub, DEFAULT_OPSET)
    _add_export_cases_parser(sub, DEFAULT_OPSET)
    return parser


def _add_certification_parsers(sub: Any, default_opset: int) -> None:
    """`profile freeze|materialize|list`, `certify` and `verify`: the vendor certification commands."""
    p_prof = sub.add_parser("profile", help="freeze, materialize or list certification profiles")
    prof_sub = p_prof.add_subparsers(dest="action", required=True, parser_class=_Parser)
    p_freeze = prof_sub.add_parser("freeze", help="build a profile from the current case library (needs torch)")
    p_freeze.add_argument(
        "name", metavar="NAME", help="profile name; core, core-special, models, low-precision use their recipe"
    )
    p_freeze.add_argument("--cases", help="comma-separated globs over case names or paths (default: the recipe's)")
    p_freeze.add_argument("--max-examples", type=COUNT, help="instances drawn per case to pick from")
    p_freeze.add_argument("--per-case", type=COUNT, help="instances kept per case and dtype group (default: 1)")
    p_freeze.add_argument("--seed", type=int, default=0, help="generation seed (default: 0)")
    p_freeze.add_argument("--groups", help="dtype groups: standard, float16, bfloat16, any (comma-separated)")
    p_freeze.add_argument("--special-values", action=argparse.BooleanOptionalAction, default=None)
    p_freeze.add_argument("--exporter", default="dynamo", help="default: dynamo")
    p_freeze.add_argument("--opset", type=_opset, default=default_opset, help=f"default: {default_opset}")
    p_freeze.add_argument(
        "--version", dest="profile_version", type=COUNT, default=1, help="profile version (default: 1)"
    )
    p_freeze.add_argument("--must-pass", help="comma-separated globs of cases whose instances must pass")
    p_freeze.add_argument("--min-pass-rate", type=RATE, help="minimum pass rate per category and overall")
    p_freeze.add_argument("--out", type=Path, help="where to write the profile (default: NAME.json)")
    p_freeze.add_argument("--cache-dir", type=Path, help="artifact cache (default: the user cache dir)")
    p_freeze.add_argument("--quiet", action="store_true", help="no per-case progress")
    p_mat = prof_sub.add_parser("materialize", help="write a profile's artifacts in backend-test layout")
    p_mat.add_argument("name", metavar="NAME", help="shipped profile name or path to a profile JSON")
    p_mat.add_argument("dir", metavar="DIR", type=Path, help="new folder to write into")
    p_mat.add_argument("--cache-dir", type=Path, help="artifact cache (default: the user cache dir)")
    p_mat.add_argument("--quiet", action="store_true", help="no per-instance progress")
    p_plist = prof_sub.add_parser("list", help="the shipped profiles")
    p_plist.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p_cert = sub.add_parser("certify", help="run a profile on one backend and write a verifiable bundle")
    p_cert.add_argument("--backend", required=True, help="backend name (see `conformance list backends`)")
    p_cert.add_argument("--profile", required=True, help="shipped profile name or path to a profile JSON")
    p_cert.add_argument("--materialized", type=Path, help="a materialized profile folder (no torch needed)")
    p_cert.add_argument("--out", type=Path, required=True, help="the bundle to write (BUNDLE.tar.gz)")
    p_cert.add_argument("--cache-dir", type=Path, help="artifact cache (default: the user cache dir)")
    p_cert.add_argument(
        "--expectations", help="known failures used as waivers (default: the shipped file; 'none' for none)"
    )
    p_cert.add_argument("--timeout", type=SECONDS, help="seconds per result before `timeout`")
    p_cert.add_argument("--in-process", action="store_true", help="run the backend in this process")
    p_cert.add_argument("--db", type=Path, help="also record the run in this results store")
    p_cert.add_argument("--quiet", action="store_true", help="no per-instance progress")

    p_ver = sub.add_parser("verify", help="check a certification bundle; exit 1 on any problem")
    p_ver.add_argument("bundle", metavar="BUNDLE", type=Path, help="the bundle (.tar.gz)")
    p_ver.add_argument("--rerun", type=NON_NEGATIVE, default=0, metavar="N", help="re-run N sampled instances locally")
    p_ver.add_argument("--profile", help="profile to check against (default: the shipped one the manifest names)")
    p_ver.add_argument("--materialized", type=Path, help="materialized profile folder for --rerun")
    p_ver.add_argument("--cache-dir", type=Path, help="artifact cache (default: the user cache dir)")
    p_ver.add_argument("--seed", type=int, help="seed of the --rerun sample (default: random, printed)")
    p_ver.add_argument("--json", action="store_true", help="print the problems and notes as JSON")


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=1, default=str) + "\n")


def _cmd_list(args: argparse.Namespace) -> int:
    if args.what == "backends":
        from .backends import describe, discover_backends

        rows = [describe(b) for b in discover_backends().values()]
        if args.json:
            _print_json(rows)
            return EXIT_OK
        from rich.console import Console
        from rich.table import Table

        table = Table("backend", "version", "available", "reason")
        for r in rows:
            table.add_row(r["name"], r["version"] or "", "yes" if r["available"] else "no", r["reason"])
        Console().print(table)
        return EXIT_OK

    from .generate import discover_cases, select_cases

    cases = select_cases(discover_cases(), args.cases, include_opt_in=True)
    rows = [
        {
            "name": c.name,
            "path": c.path,
            "category": c.category,
            "op_class": str(c.op_class),
            "min_opset": c.min_opset,
            "tags": list(c.tags),
            "unspecified": list(c.unspecified),
            "notes": c.notes,
        }
        for c in cases
    ]
    if args.json:
        _print_json(rows)
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table("case", "category", "class", "min opset")
    for r in rows:
        table.add_row(r["path"], r["category"], r["op_class"], str(r["min_opset"]))
    Console().print(table)
    return EXIT_OK


def _cmd_run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .engine import Progress, run
    from .report import write_reports
    from .store import Store

    options, run_id = _run_options(args, argv), None
    if args.resume:
        from .engine import RunOptions
        from .store import default_db_path

        db = args.db or default_db_path()
        with Store(db) as store:
            stopped = store.run(args.resume)
        options, run_id = RunOptions.from_dict(stopped.options, db=db, command=stopped.command), stopped.id
    from rich.console import Console

    console = Console(stderr=True)
    if args.quiet or not console.is_terminal:  # a bar in a log file is noise
        summary = run(options, run_id=run_id, resume=run_id is not None)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        with Bar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[last]}"),
            console=console,
        ) as bar:
            task = bar.add_task("run", total=None, last="")

            class _BarProgress(Progress):
                def planned(self, total: int) -> None:
                    bar.update(task, total=total)

                def result(self, result: Any) -> None:
                    bar.update(task, advance=1, last=f"{result.case_id} {result.backend}: {result.outcome}")

            summary = run(options, progress=_BarProgress(), run_id=run_id, resume=run_id is not None)

    counts = ", ".join(f"{n} {o}" for o, n in sorted(summary.counts.items()))
    console.print(f"run {summary.run_id}: {len(summary.results)} results ({counts or 'none'})")
    console.print(f"artifacts: {summary.exported} exported, {summary.cached} from cache")
    for r in summary.failed[:20]:
        first = r.message.splitlines()[0] if r.message else ""
        console.print(
            f"  {r.outcome} {r.case_id} on {r.backend} ({r.exporter}): {first[:200]}", markup=False, soft_wrap=True
        )
    if args.out:
        with Store(options.db) as store:
            paths = write_reports(store, summary.run_id, args.out)
        console.print(f"reports: {', '.join(str(p) for p in paths.values())}")
    return EXIT_FAILED if summary.failed else EXIT_OK


def _cmd_coverage(args: argparse.Namespace) -> int:
    from .coverage import measure
    from .export import EXPORTERS, default_cache_dir
    from .generate import discover_cases, select_cases

    exporters = [e.strip() for e in args.exporters.split(",") if e.strip()]
    unknown = [e for e in exporters if e not in EXPORTERS]
    if unknown:
        raise UsageError(f"conformance coverage: unknown exporter {unknown[0]!r}; choose from {', '.join(EXPORTERS)}")
    data = measure(
        select_cases(discover_cases(), args.cases),
        seed=args.seed,
        max_examples=args.max_examples,
        exporters=exporters,
        opset=args.opset,
        cache_dir=args.cache_dir or default_cache_dir(),
    )
    if args.json == "-":
        _print_json(data)
        return EXIT_OK
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1))
    onnx_part, torch_part = data["onnx"], data["torch"]
    print(f"cases: {data['cases']['total']} ({data['cases']['model']} model cases)")
    print(
        f"ONNX operators exercised at opset {data['opset']}: {onnx_part['count']} of {onnx_part['available']} "
        f"in the default domain ({', '.join(data['exporters'])})"
    )
    print(f"not exercised: {', '.join(onnx_part['missing'])}")
    print(f"PyTorch (aten) operators run by the cases: {torch_part['count']}")
    if data["export_failures"]:
        print(f"instances that did not export: {len(data['export_failures'])} (see --json)")
    return EXIT_OK


def _run_options(args: argparse.Namespace, argv: Sequence[str], **extra: Any) -> Any:
    """RunOptions from the flags `run` and `nightly` share; a flag a command lacks keeps its default."""
    from .engine import RunOptions
    from .expectations import resolve_path
    from .export import default_cache_dir
    from .store import default_db_path

    defaults = RunOptions()
    return RunOptions(
        cases=args.cases,
        backends=args.backends,
        exporters=tuple(e.strip() for e in args.exporters.split(",") if e.strip()),
        opset=args.opset,
        max_examples=args.max_examples,
        seed=args.seed,
        special_values=getattr(args, "special_values", False),
        cache_dir=args.cache_dir or default_cache_dir(),
        db=args.db or default_db_path(),
        command=shlex.join(["conformance", *argv]),
        isolate=not getattr(args, "in_process", False),
        expectations=resolve_path(getattr(args, "expectations", None)),
        timeout=getattr(args, "timeout", defaults.timeout),
        memory_limit_mb=getattr(args, "memory_limit", defaults.memory_limit_mb),
        dask=args.dask,
        **extra,
    )


def _cmd_expectations(args: argparse.Namespace) -> int:
    from .expectations import builtin_path, drafts, dumps, load, write

    if args.action == "check":
        from .backends import discover_backends
        from .expectations import unmatched
        from .generate import discover_cases

        path = args.file or builtin_path()
        entries = load(path)
        todo = [e for e in entries if e.reason.startswith("TODO")]
        dead = unmatched(entries, [(c.path, c.name) for c in discover_cases()], discover_backends())
        for entry, why in dead:
            print(f"{path}:{entry.line}: {why}")
        print(f"{path}: {len(entries)} expectations, {len(todo)} still to triage, {len(dead)} that match nothing")
        return EXIT_FAILED if todo or dead else EXIT_OK

    from .store import Store, default_db_path

    if args.action == "prune":
        return _prune_expectations(args)
    with Store(args.db or default_db_path()) as store:
        run = store.run(args.run_id)
        results = store.results(run.id)
    if args.file.exists():
        load(args.file)  # refuse to append to a file that is already broken
    entries = drafts(results)
    stale = [r for r in results if str(r.outcome) == "xpass"]
    if entries:
        existing = args.file.read_text() if args.file.exists() else ""
        sep = "\n" if existing and not existing.endswith("\n\n") else ""
        write(args.file, existing + sep + dumps(entries, comment=f"drafted from run {run.id}"))
    drafted = len(entries)
    print(f"{args.file}: {drafted} draft entries from run {run.id}; reasons marked TODO need triage")
    for r in stale:
        print(f"stale: {r.backend} {r.case_id} passed ({r.message})")
    return EXIT_OK


def _prune_expectations(args: argparse.Namespace) -> int:
    from .expectations import load, remove, stale, write
    from .store import Store, default_db_path

    entries = load(args.file)
    results = []
    with Store(args.db or default_db_path()) as store:
        for run_id in args.run_ids:
            results.extend(store.results(store.run(run_id).id))
    gone = stale(entries, results)
    if gone:
        write(args.file, remove(args.file.read_text(), [e.line for e in gone]))  # only if what is left parses
    for e in gone:
        print(f"removed (line {e.line}): {e.backend} {e.case} expected {'/'.join(map(str, e.outcomes))}, passed")
    print(f"{args.file}: {len(gone)} stale entries removed, {len(entries) - len(gone)} kept")
    return EXIT_OK


def _threshold(value: float | None) -> float:
    from .history import DEFAULT_DRIFT_ULP

    if value is None:
        return DEFAULT_DRIFT_ULP
    if not value >= 0:
        raise UsageError("--threshold must be a number of ULP, 0 or more")
    return value


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import parse_formats, write_reports
    from .store import Store, default_db_path

    try:
        formats = parse_formats(args.format)
    except ValueError as exc:
        raise UsageError(f"conformance report: {exc}") from None
    with Store(args.db or default_db_path()) as store:
        run = store.run(args.run_id)
        paths = write_reports(store, run.id, args.out, formats, threshold=_threshold(args.threshold))
    for path in paths.values():
        print(path)
    return EXIT_OK


def _cmd_diff(args: argparse.Namespace) -> int:
    from .history import diff_runs
    from .store import Store, default_db_path

    with Store(args.db or default_db_path()) as store:
        d = diff_runs(store, args.run_a, args.run_b, _threshold(args.threshold))
    if args.json:
        _print_json(d.to_dict())
    else:
        print(d.format_text())
    return EXIT_FAILED if d.regressed else EXIT_OK


def _cmd_nightly(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run, record with the nightly profile, report into OUT_ROOT/<date>/ and OUT_ROOT/latest/, diff."""
    import shutil

    from .engine import run
    from .history import diff_results, previous_run
    from .report import write_reports
    from .store import Store

    threshold = _threshold(args.threshold)
    options = _run_options(args, argv, profile=args.profile or (f"nightly:{args.cases}" if args.cases else "nightly"))
    summary = run(options)
    with Store(options.db) as store:
        record = store.run(summary.run_id)
        prev = previous_run(store, record)
        d = None
        if prev is not None:
            d = diff_results(
                store.results(prev.id), summary.results, run_a=prev.id, run_b=record.id, threshold=threshold
            )
        dated = args.out_root / record.started[:10]
        paths = write_reports(store, record.id, dated, threshold=threshold, diff=d)
    latest = args.out_root / "latest"
    latest.mkdir(parents=True, exist_ok=True)
    for path in paths.values():
        shutil.copyfile(path, latest / path.name)
    counts = ", ".join(f"{n} {o}" for o, n in sorted(summary.counts.items()))
    print(
        f"nightly run {summary.run_id} (profile {options.profile}): {len(summary.results)} results ({counts or 'none'})"
    )
    print(f"reports: {dated}/ and {latest}/")
    if d is None:
        print("no earlier nightly run of this profile in the store: nothing to compare with")
        return EXIT_OK
    print(d.format_text())
    return EXIT_FAILED if d.regressed else EXIT_OK


def _cmd_profile(args: argparse.Namespace) -> int:
    from . import profiles

    try:
        if args.action == "list":
            rows = [profiles.describe(*profiles.load(name)) for name in profiles.shipped()]
            if args.json:
                _print_json(rows)
                return EXIT_OK
            for r in rows:
                cats = ", ".join(f"{c} {n}" for c, n in r["categories"].items())
                print(f"{r['name']} v{r['version']} {r['sha256'][:16]}  {r['instances']} instances ({cats})")
            return EXIT_OK
        if args.action == "materialize":
            profile, digest = profiles.load(args.name)
            log = None if args.quiet else (lambda m: sys.stderr.write(m + "\n"))
            path = profiles.materialize(profile, args.dir, cache_dir=args.cache_dir, log=log)
            print(f"{path}: profile {profile['name']} v{profile['version']} ({digest[:16]}), "
                  f"{len(profile['instances'])} instances")  # fmt: skip
            return EXIT_OK
        log = None if args.quiet else (lambda m: sys.stderr.write(m + "\n"))
        split = lambda v: [p.strip() for p in v.split(",") if p.strip()] if v else None  # noqa: E731
        profile = profiles.freeze(
            args.name,
            cases=args.cases,
            seed=args.seed,
            max_examples=args.max_examples,
            per_case=args.per_case,
            special_values=args.special_values,
            groups=split(args.groups),
            exporter=args.exporter,
            opset=args.opset,
            version=args.profile_version,
            must_pass=split(args.must_pass),
            min_pass_rate=args.min_pass_rate,
            cache_dir=args.cache_dir,
            log=log,
        )
        path = profiles.save(profile, args.out or Path(f"{args.name}.json"))
    except profiles.ProfileError as exc:
        raise UsageError(f"conformance profile {args.action}: {exc}") from None
    print(
        f"{path}: profile {profile['name']} v{profile['version']} ({profiles.profile_hash(profile)[:16]}), "
        f"{len(profile['instances'])} instances, {len(profile['excluded'])} left out"
    )
    return EXIT_OK


def _cmd_certify(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .certify import CertifyError, certify
    from .expectations import resolve_path
    from .profiles import ProfileError

    echo = None if args.quiet else (lambda m: sys.stderr.write(m + "\n"))
    try:
        done = certify(
            args.backend,
            args.profile,
            args.out,
            materialized=args.materialized,
            cache_dir=args.cache_dir,
            expectations=resolve_path(args.expectations),
            isolate=not args.in_process,
            timeout=args.timeout,
            db=args.db,
            command=shlex.join(["conformance", *argv]),
            echo=echo,
        )
    except (CertifyError, ProfileError) as exc:
        raise UsageError(f"conformance certify: {exc}") from None
    overall = done.summary["overall"]
    print(
        f"{done.path}: {overall['instances']} instances, pass rate {overall['pass_rate']:.1%} "
        f"(minimum {overall['min_pass_rate']:.0%}), {len(overall['must_pass_failures'])} must-pass failures: "
        f"{'MEETS' if done.summary['meets_profile'] else 'DOES NOT MEET'} profile {done.summary['profile']}"
    )
    for name, cat in done.summary["categories"].items():
        if not cat["meets"]:
            print(f"  {name}: pass rate {cat['pass_rate']:.1%} (minimum {cat['min_pass_rate']:.0%}), "
                  f"must-pass failures: {', '.join(cat['must_pass_failures']) or 'none'}")  # fmt: skip
    return EXIT_OK if done.summary["meets_profile"] else EXIT_FAILED


def _cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify

    result = verify(
        args.bundle,
        profile=args.profile,
        rerun_count=args.rerun,
        materialized=args.materialized,
        cache_dir=args.cache_dir,
        seed=args.seed,
        log=lambda m: sys.stderr.write(m + "\n"),
    )
    if args.json:
        _print_json({"ok": result.ok, "problems": result.problems, "notes": result.notes, "reran": result.reran})
    else:
        print(result.verdict(args.bundle))
    return EXIT_OK if result.ok else EXIT_FAILED


def _add_export_cases_parser(sub: Any, default_opset: int) -> None:
    """`export-cases`: generated cases as ONNX backend-test folders for other harnesses."""
    p = sub.add_parser(
        "export-cases", help="write cases as ONNX backend-test folders (onnx_test_runner, onnx.backend.test)"
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument("--profile", help="a shipped profile name or a profile JSON: export its frozen instances")
    source.add_argument("--cases", help="comma-separated globs over case names or paths (default: all)")
    p.add_argument("--exporters", default="dynamo", help="comma-separated: dynamo, torchscript (default: dynamo)")
    p.add_argument(
        "--opset", type=_opset, default=default_opset, help=f"ONNX opset to export (default: {default_opset})"
    )
    p.add_argument("--max-examples", type=COUNT, default=1, help="instances drawn per case (default: 1)")
    p.add_argument("--seed", type=int, default=0, help="generation seed (default: 0)")
    p.add_argument("--cache-dir", type=Path, help="artifact cache (default: the user cache dir)")
    p.add_argument("--quiet", action="store_true", help="no per-test progress")
    p.add_argument("dir", metavar="DIR", type=Path, help="folder to write test_*/ folders and manifest.json into")


def _cmd_export_cases(args: argparse.Namespace) -> int:
    from .backend_tests import export_cases, export_profile
    from .export import EXPORTERS, ArtifactCache, default_cache_dir
    from .generate import discover_cases, select_cases

    exporters = [e.strip() for e in args.exporters.split(",") if e.strip()]
    unknown = [e for e in exporters if e not in EXPORTERS]
    if unknown or not exporters:
        raise UsageError(
            f"conformance export-cases: unknown exporter {(unknown or [''])[0]!r}; choose from {', '.join(EXPORTERS)}"
        )
    cache = ArtifactCache(args.cache_dir or default_cache_dir())
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr))
    if args.profile:
        try:
            from . import profiles
        except ImportError as exc:
            raise UsageError(
                f"conformance export-cases: --profile needs conformance.profiles ({exc}); use --cases"
            ) from None
        try:
            profile, _digest = profiles.load(args.profile)
        except profiles.ProfileError as exc:
            raise UsageError(f"conformance export-cases: {exc}") from None
        report = export_profile(profile, args.dir, library=discover_cases(), cache=cache, log=log)
    else:
        report = export_cases(
            select_cases(discover_cases(), args.cases),
            args.dir,
            exporters=exporters,
            opset=args.opset,
            seed=args.seed,
            max_examples=args.max_examples,
            cache=cache,
            log=log,
        )
    print(
        f"{args.dir}: {len(report.written)} backend-test folders written, {len(report.failed)} instances not exported"
    )
    for case_id, exporter, why in report.failed[:20]:
        print(f"  not written: {case_id} ({exporter}): {(why.splitlines() or [''])[0][:200]}")
    return EXIT_OK if report.written else EXIT_FAILED


@contextlib.contextmanager
def _cache_dir_for_packs(cache_dir: Path | None) -> Iterator[None]:
    """Case packs cache what they build (the onnx-node pack, ONNX's collected tests) in the artifact cache.

    They are loaded through an entry point that takes no options, before any
    run option reaches them, so `--cache-dir` reaches them through the same
    variable the library reads, for this command only.
    """
    if cache_dir is None:
        yield
        return
    saved = os.environ.get("CONFORMANCE_CACHE_DIR")
    os.environ["CONFORMANCE_CACHE_DIR"] = str(cache_dir)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("CONFORMANCE_CACHE_DIR", None)
        else:
            os.environ["CONFORMANCE_CACHE_DIR"] = saved


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from .backends import BackendError
    from .expectations import ExpectationError
    from .generate import CaseError
    from .store import StoreError

    try:
        args = _build_parser().parse_args(argv)
        with _cache_dir_for_packs(getattr(args, "cache_dir", None)):
            return _dispatch(args, argv)
    except (UsageError, CaseError, BackendError, StoreError, ExpectationError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: results recorded so far are kept in the store\n")
        return 130


def _dispatch(args: argparse.Namespace, argv: list[str]) -> int:
    if args.command == "list":
        return _cmd_list(args)
    if args.command == "run":
        return _cmd_run(args, argv)
    if args.command == "coverage":
        return _cmd_coverage(args)
    if args.command == "expectations":
        return _cmd_expectations(args)
    if args.command == "report":
        return _cmd_report(args)
    if args.command == "diff":
        return _cmd_diff(args)
    if args.command == "nightly":
        return _cmd_nightly(args, argv)
    if args.command == "profile":
        return _cmd_profile(args)
    if args.command == "certify":
        return _cmd_certify(args, argv)
    if args.command == "verify":
        return _cmd_verify(args)
    if args.command == "export-cases":
        return _cmd_export_cases(args)
    raise UsageError(f"conformance: unknown command {args.command!r}")


if __name__ == "__main__":
    sys.exit(main())
