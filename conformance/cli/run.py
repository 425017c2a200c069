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
    UsageError,
    add_backends,
    add_cache_dir,
    add_cases,
    add_dask,
    add_db,
    add_expectations,
    add_exporters,
    add_max_examples,
    add_quiet,
    add_seed,
    add_threshold,
    db_path,
    exporters,
    opsets,
    progress_steps,
    threshold,
    value_modes,
)

#: What a run does where neither a preset nor an option says otherwise.
BASE = {"exporters": ("dynamo",), "max_examples": 5, "values": ("plain",), "cover": "none"}


def add_run_options(p: argparse.ArgumentParser, preset: str | None = None) -> None:
    from ..execute import DEFAULT_MEMORY_LIMIT_MB, DEFAULT_TIMEOUT_S
    from ..export import DEFAULT_OPSET
    from ..model import Cover
    from ..presets import PRESETS

    shown = f"the {preset} preset's" if preset else None
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=preset,
        help="a named matrix of exporters, opsets, value modes, draws and covering; options given, or set in "
        "the config file, override it" + (f" (default: {preset})" if preset else ""),
    )
    add_cases(p)
    add_backends(p)
    add_exporters(p, None, shown or "dynamo")
    p.add_argument(
        "--opset",
        type=opsets,
        help=f"ONNX opsets to export at, comma-separated, or 'all' (default: {shown or DEFAULT_OPSET})",
    )
    add_max_examples(p, None, f"random instances drawn per case (default: {shown or BASE['max_examples']})")
    add_seed(p)
    p.add_argument(
        "--values",
        type=value_modes,
        help=f"value modes, comma-separated: plain, special, wide (default: {shown or 'plain'})",
    )
    p.add_argument("--special-values", action="store_true", help="same as --values special")
    p.add_argument(
        "--cover",
        choices=[str(c) for c in Cover],
        help="beyond random draws: an instance per parameter value never drawn (each), or per pair (pairs) "
        f"(default: {shown or 'none'})",
    )
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
    p.add_argument(
        "--export-workers",
        type=NON_NEGATIVE,
        help="processes exporting ahead of the backends, 0 for none (default: one less than the cores, at least "
        "one, for runs of four cases or more)",
    )
    p.add_argument(
        "--no-replay",
        dest="replay",
        action="store_false",
        help="draw only from the seed: skip the failing draws earlier runs kept in the example database "
        "(examples/ beside the store), and keep none of this run's",
    )
    add_dask(p)
    add_expectations(p, "known-failures file turning expected failures into xfail")


def add_resume(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--resume",
        metavar="RUN_ID",
        help=f"finish a stopped {what} (id or 'latest') with its own options; what it recorded stays",
    )


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="generate, export, run and judge cases; record and report")
    add_run_options(p)
    p.add_argument("--out", type=Path, help="write the reports into this folder")
    add_resume(p, "run")
    p.add_argument(
        "--failed",
        metavar="RUN_ID",
        nargs="?",
        const="latest",
        help="re-run exactly the failing results of a run (default: the latest), with its options, as a new run",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "nightly", help="run the nightly matrix, write reports/<date>/ and reports/latest/, exit 1 on a regression"
    )
    add_run_options(p, preset="nightly")
    p.add_argument("--out-root", type=Path, default=Path("reports"), help="default: reports")
    p.add_argument(
        "--profile", help="series name compared night to night (default: nightly, or nightly:CASES with --cases)"
    )
    add_threshold(p)
    p.add_argument(
        "--no-reduce",
        dest="reduce",
        action="store_false",
        help="skip localizing and reducing the findings (`conformance findings --reduce` does it later)",
    )
    p.add_argument("--budget", type=float, default=30.0, help="seconds to localize one finding (default: 30)")
    add_resume(p, "nightly run")
    p.set_defaults(func=cmd_nightly)


def run_options(args: argparse.Namespace, **extra: Any) -> Any:
    """RunOptions from the flags `run` and `nightly` share."""
    from ..engine import RunOptions
    from ..expectations import resolve_path
    from ..export import default_cache_dir

    return RunOptions(
        cases=args.cases,
        backends=args.backends,
        seed=args.seed,
        **run_matrix(args),
        cache_dir=args.cache_dir or default_cache_dir(),
        db=db_path(args.db),
        command=shlex.join(["conformance", *args.argv]),
        isolate=not args.in_process,
        expectations=resolve_path(args.expectations),
        timeout=args.timeout,
        memory_limit_mb=args.memory_limit,
        export_workers=args.export_workers,
        replay=args.replay,
        dask=args.dask,
        **extra,
    )


def _failed_options(args: argparse.Namespace) -> Any:
    """The options of a run narrowed to its failing results, like pytest's --lf: its draws, on their backends."""
    from ..engine import RunOptions
    from ..expectations import resolve_path
    from ..findings import result_key
    from ..model import FAILING
    from ..store import Store

    db = db_path(args.db)
    with Store(db) as store:
        earlier = store.run(args.failed)
        failing = [r for r in store.results(earlier.id) if r.outcome in FAILING]
    if not failing:
        raise UsageError(f"conformance run: run {earlier.id} has no failing result to re-run")
    return RunOptions.from_dict(
        earlier.options,
        db=db,
        command=shlex.join(["conformance", *args.argv]),
        cases=",".join(sorted({r.case_id.split("[", 1)[0] for r in failing})),
        backends=",".join(sorted({r.backend for r in failing})),
        only=tuple(sorted(result_key(r) for r in failing)),
        expectations=resolve_path(args.expectations),
    )


def run_matrix(args: argparse.Namespace) -> dict[str, Any]:
    """The `RunOptions` fields of the run matrix: the preset's (or BASE's), with each option that has a value over them.

    An option has a value when it was given or a config file set it (`cli/config.py`): both count as
    asked for, so they override the preset.
    """
    from ..presets import PRESETS

    matrix: dict[str, Any] = {**BASE, **(PRESETS[args.preset].options() if args.preset else {})}
    if args.exporters is not None:
        matrix["exporters"] = tuple(exporters(args.exporters, f"conformance {args.command}"))
    if args.opset is not None:
        matrix["opset"], matrix["opsets"] = args.opset[0], args.opset
    if args.max_examples is not None:
        matrix["max_examples"] = args.max_examples
    if args.values is not None or args.special_values:
        matrix["values"] = tuple(dict.fromkeys((*(args.values or ()), *(("special",) if args.special_values else ()))))
    if args.cover is not None:
        matrix["cover"] = args.cover
    return matrix


#: Each matrix option (by dest) and the `RunOptions` field it sets: what `conformance config` fills from the preset.
MATRIX_FIELDS = {
    "exporters": "exporters",
    "opset": "opsets",
    "max_examples": "max_examples",
    "values": "values",
    "cover": "cover",
}


def matrix_origins(args: argparse.Namespace) -> dict[str, tuple[Any, str]]:
    """Each matrix option's value in the run, and where it comes from when it has no value of its own: the
    preset or the base.

    `conformance config` shows these, so the settings it prints are the ones the run gets, not argparse's `None`.
    """
    from ..export import DEFAULT_OPSET
    from ..presets import PRESETS

    matrix = {"opsets": (DEFAULT_OPSET,), **run_matrix(args)}
    preset = PRESETS[args.preset].options() if args.preset else {}
    return {
        dest: (matrix[field], f"preset:{args.preset}" if field in preset else "default")
        for dest, field in MATRIX_FIELDS.items()
    }


def _run_with_progress(options: Any, quiet: bool, **kwargs: Any) -> Any:
    """The engine's run, with a progress bar on a terminal (a bar in a log file is noise)."""
    from ..engine import Progress, run

    with progress_steps("drawing", quiet=quiet) as steps:
        if not steps.shown:
            return run(options, **kwargs)

        class _BarProgress(Progress):
            def planned(self, total: int) -> None:
                steps.total(total)

            def stage(self, what: str) -> None:
                steps.stage("run", what)

            def result(self, result: Any) -> None:
                steps.step()

        return run(options, progress=_BarProgress(), **kwargs)


def cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..report import write_reports
    from ..store import Store

    options, run_id = run_options(args), None
    if args.failed and args.resume:
        raise UsageError("conformance run: --failed and --resume cannot be combined")
    if args.failed:
        options = _failed_options(args)
    if args.resume:
        options, run_id = _resumed(args)
    console = Console(stderr=True)
    summary = _run_with_progress(options, args.quiet, run_id=run_id, resume=run_id is not None)
    counts = ", ".join(f"{n} {o}" for o, n in sorted(summary.counts.items()))
    console.print(f"run {summary.run_id}: {len(summary.results)} results ({counts or 'none'})")
    console.print(
        f"artifacts: {summary.exported} exported, {summary.shared} sharing an exported model, "
        f"{summary.cached} from cache"
    )
    if summary.replayed or summary.kept or summary.forgotten:
        console.print(
            f"example database: {summary.replayed} failing draws of earlier runs drawn again; "
            f"{summary.kept} failing draws kept for the next run, {summary.forgotten} that pass now dropped"
        )
    from ..timing import format_timings

    for line in format_timings(summary.clock.to_dict()):
        console.print(line, markup=False, soft_wrap=True)
    for backend, what in summary.broken_adapters().items():
        console.print(
            f"warning: {backend} never answered ({what}) while other backends passed: its adapter or install "
            "looks broken; these are not findings about the cases",
            markup=False,
            soft_wrap=True,
        )
    if summary.log is not None and summary.log.exists():
        console.print(
            f"log: {summary.log} (what torch warned about while drawing, exporting, computing oracles)",
            markup=False,
            soft_wrap=True,
        )
    for r in summary.failed[:20]:
        first = r.message.splitlines()[0] if r.message else ""
        console.print(
            f"  {r.outcome} {r.case_id} on {r.backend} ({r.exporter}, opset {r.opset}, {r.values}): {first[:200]}",
            markup=False,
            soft_wrap=True,
        )
    if args.out:
        with Store(options.db) as store:
            paths = write_reports(store, summary.run_id, args.out)
        console.print(f"reports: {', '.join(str(p) for p in paths.values())}")
    return EXIT_FAILED if summary.failed else EXIT_OK


def _resumed(args: argparse.Namespace) -> tuple[Any, str]:
    """The options a stopped run was started with (its series too), and its id: what `--resume` finishes."""
    from ..engine import RunOptions
    from ..store import Store

    db = db_path(args.db)
    with Store(db) as store:
        stopped = store.run(args.resume)
    options = RunOptions.from_dict(stopped.options, db=db, command=stopped.command, profile=stopped.profile)
    return options, stopped.id


def cmd_nightly(args: argparse.Namespace) -> int:
    """Run, record with the nightly profile, report into OUT_ROOT/<date>/ and OUT_ROOT/latest/, diff."""
    import shutil

    from ..findings import format_text, run_findings
    from ..history import diff_results, previous_run
    from ..investigate import investigate
    from ..report import write_reports
    from ..store import Store
    from .findings import investigation_progress

    drift = threshold(args.threshold)
    if args.resume:
        options, run_id = _resumed(args)
    else:
        options = run_options(args, profile=args.profile or (f"nightly:{args.cases}" if args.cases else "nightly"))
        run_id = None
    summary = _run_with_progress(options, args.quiet, run_id=run_id, resume=run_id is not None)
    with Store(options.db) as store:
        record = store.run(summary.run_id)
        dated = args.out_root / record.started[:10]
        if args.reduce:
            # Localize and reduce each backend finding; its bundle goes beside the reports it is linked from.
            with investigation_progress(store, record.id, quiet=args.quiet) as log:
                investigate(store, record.id, dated / "repros", budget=args.budget, progress=log)
        prev = previous_run(store, record)
        d = None
        if prev is not None:
            d = diff_results(store.results(prev.id), summary.results, run_a=prev.id, run_b=record.id, threshold=drift)
        paths = write_reports(store, record.id, dated, threshold=drift, diff=d)
        found = run_findings(store, record.id)
    latest = args.out_root / "latest"
    latest.mkdir(parents=True, exist_ok=True)
    for path in paths.values():
        shutil.copyfile(path, latest / path.name)
    counts = ", ".join(f"{n} {o}" for o, n in sorted(summary.counts.items()))
    print(
        f"nightly run {summary.run_id} (profile {options.profile}): {len(summary.results)} results ({counts or 'none'})"
    )
    print(f"reports: {dated}/ and {latest}/")
    news = [f for f in found if f.status != "known"]
    if news or not found:
        print(format_text(news, limit=20))
    else:
        print(
            f"findings: {len(found)}, each known from earlier nights of this profile (`conformance findings` lists them)"
        )
    if d is None:
        print("no earlier nightly run of this profile in the store: nothing to compare with")
        return EXIT_OK
    print(d.format_text())
    return EXIT_FAILED if d.regressed else EXIT_OK
