"""`run` and `nightly`: one run through every stage; nightly adds its reports and the diff with last night.

Both take the same run options (`add_run_options`) and turn them into
`RunOptions` the same way (`run_options`).
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from .options import (
    EXIT_FAILED,
    EXIT_OK,
    NON_NEGATIVE,
    SECONDS,
    add_backends,
    add_cache_dir,
    add_cases,
    add_dask,
    add_db,
    add_expectations,
    add_exporters,
    add_max_examples,
    add_opset,
    add_quiet,
    add_seed,
    add_threshold,
    db_path,
    split,
    threshold,
)


def add_run_options(p: argparse.ArgumentParser, max_examples: int = 5) -> None:
    from ..execute import DEFAULT_MEMORY_LIMIT_MB, DEFAULT_TIMEOUT_S

    add_cases(p)
    add_backends(p)
    add_exporters(p)
    add_opset(p)
    add_max_examples(p, max_examples)
    add_seed(p)
    p.add_argument("--special-values", action="store_true", help="draw NaN, ±inf, -0.0, subnormals and extremes")
    add_cache_dir(p)
    add_db(p)
    add_quiet(p, "no progress bar")
    p.add_argument(
        "--timeout",
        type=SECONDS,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds per result before `timeout` (default: {DEFAULT_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--memory-limit",
        type=NON_NEGATIVE,
        default=DEFAULT_MEMORY_LIMIT_MB,
        help=f"MiB of address space per backend worker, 0 for no limit (default: {DEFAULT_MEMORY_LIMIT_MB})",
    )
    p.add_argument("--in-process", action="store_true", help="run backends in this process (no crash isolation)")
    add_dask(p)
    add_expectations(p, "known-failures file turning expected failures into xfail")


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="generate, export, run and judge cases; record and report")
    add_run_options(p)
    p.add_argument("--out", type=Path, help="write the reports into this folder")
    p.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="finish a stopped run (id or 'latest') with its own options; what it recorded stays",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "nightly", help="run the nightly profile, write reports/<date>/ and reports/latest/, exit 1 on a regression"
    )
    add_run_options(p)
    p.add_argument("--out-root", type=Path, default=Path("reports"), help="default: reports")
    p.add_argument(
        "--profile", help="series name compared night to night (default: nightly, or nightly:CASES with --cases)"
    )
    add_threshold(p)
    p.set_defaults(func=cmd_nightly)


def run_options(args: argparse.Namespace, **extra: Any) -> Any:
    """RunOptions from the flags `run` and `nightly` share."""
    from ..engine import RunOptions
    from ..expectations import resolve_path
    from ..export import default_cache_dir

    return RunOptions(
        cases=args.cases,
        backends=args.backends,
        exporters=tuple(split(args.exporters)),
        opset=args.opset,
        max_examples=args.max_examples,
        seed=args.seed,
        special_values=args.special_values,
        cache_dir=args.cache_dir or default_cache_dir(),
        db=db_path(args.db),
        command=shlex.join(["conformance", *args.argv]),
        isolate=not args.in_process,
        expectations=resolve_path(args.expectations),
        timeout=args.timeout,
        memory_limit_mb=args.memory_limit,
        dask=args.dask,
        **extra,
    )


def _run_with_progress(options: Any, quiet: bool, console: Any, **kwargs: Any) -> Any:
    """The engine's run, with a progress bar on a terminal (a bar in a log file is noise)."""
    from ..engine import Progress, run

    if quiet or not console.is_terminal:
        return run(options, **kwargs)
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Bar(*columns, TextColumn("{task.fields[last]}"), console=console) as bar:
        task = bar.add_task("run", total=None, last="")

        class _BarProgress(Progress):
            def planned(self, total: int) -> None:
                bar.update(task, total=total)

            def result(self, result: Any) -> None:
                bar.update(task, advance=1, last=f"{result.case_id} {result.backend}: {result.outcome}")

        return run(options, progress=_BarProgress(), **kwargs)


def cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..report import write_reports
    from ..store import Store

    options, run_id = run_options(args), None
    if args.resume:
        from ..engine import RunOptions

        db = db_path(args.db)
        with Store(db) as store:
            stopped = store.run(args.resume)
        options, run_id = RunOptions.from_dict(stopped.options, db=db, command=stopped.command), stopped.id
    console = Console(stderr=True)
    summary = _run_with_progress(options, args.quiet, console, run_id=run_id, resume=run_id is not None)
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


def cmd_nightly(args: argparse.Namespace) -> int:
    """Run, record with the nightly profile, report into OUT_ROOT/<date>/ and OUT_ROOT/latest/, diff."""
    import shutil

    from rich.console import Console

    from ..history import diff_results, previous_run
    from ..report import write_reports
    from ..store import Store

    drift = threshold(args.threshold)
    options = run_options(args, profile=args.profile or (f"nightly:{args.cases}" if args.cases else "nightly"))
    summary = _run_with_progress(options, args.quiet, Console(stderr=True))
    with Store(options.db) as store:
        record = store.run(summary.run_id)
        prev = previous_run(store, record)
        d = None
        if prev is not None:
            d = diff_results(store.results(prev.id), summary.results, run_a=prev.id, run_b=record.id, threshold=drift)
        dated = args.out_root / record.started[:10]
        paths = write_reports(store, record.id, dated, threshold=drift, diff=d)
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
