"""`report`, `diff` and `matrix`: what a recorded run says, what changed between two, and which ops work where.

All three only read the store.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .options import EXIT_FAILED, EXIT_OK, UsageError, add_db, add_json, add_threshold, db_path, print_json, threshold


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="render a recorded run as HTML, Markdown, JSON and JUnit XML")
    p.add_argument("run_id", metavar="RUN_ID", help="run id, or 'latest'")
    p.add_argument("--format", default="html,md,json,junit", help="comma-separated: html, md, json, junit")
    p.add_argument("--out", type=Path, required=True, help="folder to write the reports into")
    add_db(p)
    add_threshold(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("diff", help="what changed between two runs; exit status 1 when something regressed")
    p.add_argument("run_a", metavar="RUN_A", help="the earlier run (id, or 'latest')")
    p.add_argument("run_b", metavar="RUN_B", help="the later run (id, or 'latest')")
    add_db(p)
    add_threshold(p)
    add_json(p)
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser(
        "matrix", help="operator support matrix: ONNX op × opset × dtype × backend, as a run measured it"
    )
    p.add_argument("run_id", metavar="RUN_ID", nargs="?", default="latest", help="run id, or 'latest' (default)")
    p.add_argument("--out", type=Path, help="also write matrix.json and matrix.md into this folder")
    p.add_argument("--op", help="only the op types matching this glob (for example 'Reduce*')")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_matrix)


def cmd_report(args: argparse.Namespace) -> int:
    from ..report import parse_formats, write_reports
    from ..store import Store

    try:
        formats = parse_formats(args.format)
    except ValueError as exc:
        raise UsageError(f"conformance report: {exc}") from None
    with Store(db_path(args.db)) as store:
        run = store.run(args.run_id)
        paths = write_reports(store, run.id, args.out, formats, threshold=threshold(args.threshold))
    for path in paths.values():
        print(path)
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from ..findings import changed_findings
    from ..history import diff_runs
    from ..store import Store

    with Store(db_path(args.db)) as store:
        d = diff_runs(store, args.run_a, args.run_b, threshold(args.threshold))
        new, fixed = changed_findings(store, d.run_a, d.run_b)
    if args.json:
        print_json(
            {**d.to_dict(), "findings": {"new": [f.to_dict() for f in new], "fixed": [f.to_dict() for f in fixed]}}
        )
    else:
        print(d.format_text())
        print(f"findings: {len(new)} new, {len(fixed)} fixed")
        for label, found in (("new", new), ("fixed", fixed)):
            for f in found:
                who = f.backend if f.backend != "*" else f"{f.exporter} export"
                print(f"  {label} {f.id} {f.party}: {who}, {f.op} ({f.dtype}) {f.outcome}: {f.message}")
    return EXIT_FAILED if d.regressed else EXIT_OK


def cmd_matrix(args: argparse.Namespace) -> int:
    import fnmatch

    from ..matrix import format_text, of_run, only_ops, to_markdown
    from ..store import Store

    with Store(db_path(args.db)) as store:
        matrix = of_run(store, store.run(args.run_id).id)
    if args.op:
        matrix = only_ops(matrix, lambda op: fnmatch.fnmatchcase(op, args.op))
    if args.out:
        import json

        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "matrix.json").write_text(json.dumps(matrix.to_dict(), indent=1) + "\n")
        (args.out / "matrix.md").write_text(to_markdown(matrix))
    if args.json:
        print_json(matrix.to_dict())
    else:
        print(format_text(matrix))
    return EXIT_OK
