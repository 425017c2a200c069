"""`expectations check|update|prune`: the known-failures files, checked, drafted from a run, pruned."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .options import EXIT_FAILED, EXIT_OK, Parser, add_db, db_path


def register(sub: Any) -> None:
    p = sub.add_parser("expectations", help="check or draft expectation files")
    actions = p.add_subparsers(dest="action", required=True, parser_class=Parser)
    check = actions.add_parser("check", help="validate an expectations file")
    check.add_argument("file", type=Path, nargs="?", help="default: the shipped file")
    check.set_defaults(func=cmd_check)
    update = actions.add_parser(
        "update", help="append one entry per finding (root cause) of a run's unexpected failures, with its evidence"
    )
    update.add_argument("--from", dest="run_id", required=True, help="run id, or 'latest'")
    update.add_argument("--file", type=Path, required=True, help="expectations file to append to")
    add_db(update)
    update.set_defaults(func=cmd_update)
    prune = actions.add_parser("prune", help="remove entries that the given runs show to be stale")
    prune.add_argument(
        "--from", dest="run_ids", action="append", required=True, help="run id, or 'latest'; repeat for several"
    )
    prune.add_argument("--file", type=Path, required=True, help="expectations file to prune")
    add_db(prune)
    prune.set_defaults(func=cmd_prune)


def cmd_check(args: argparse.Namespace) -> int:
    from ..backends import discover_backends
    from ..expectations import builtin_path, load, unmatched
    from ..generate import discover_cases

    path = args.file or builtin_path()
    entries = load(path)
    todo = [e for e in entries if e.reason.startswith("TODO")]
    dead = unmatched(entries, [(c.path, c.name) for c in discover_cases()], discover_backends())
    for entry, why in dead:
        print(f"{path}:{entry.line}: {why}")
    print(f"{path}: {len(entries)} expectations, {len(todo)} still to triage, {len(dead)} that match nothing")
    return EXIT_FAILED if todo or dead else EXIT_OK


def cmd_update(args: argparse.Namespace) -> int:
    from ..expectations import dumps, load, write
    from ..findings import expectation_entries, run_findings
    from ..store import Store

    with Store(db_path(args.db)) as store:
        run = store.run(args.run_id)
        found = run_findings(store, run.id)
        results = store.results(run.id)
        xpassed = [r for r in results if str(r.outcome) == "xpass"]
    if args.file.exists():
        load(args.file)  # refuse to append to a file that is already broken
    entries = expectation_entries(found, results)
    if entries:
        existing = args.file.read_text() if args.file.exists() else ""
        sep = "\n" if existing and not existing.endswith("\n\n") else ""
        write(args.file, existing + sep + dumps(entries, comment=f"one entry per finding of run {run.id}"))
    print(f"{args.file}: {len(entries)} entries, one per finding of run {run.id} that failed unexpectedly")
    for r in xpassed:
        print(f"xpass: {r.backend} {r.case_id} passed ({r.message})")
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    from ..expectations import load, removable, remove, write
    from ..store import Store

    entries = load(args.file)
    results = []
    with Store(db_path(args.db)) as store:
        for run_id in args.run_ids:
            results.extend(store.results(store.run(run_id).id))
    gone = removable(entries, results)
    if gone:
        write(args.file, remove(args.file.read_text(), [e.line for e in gone]))  # only if what is left parses
    for e in gone:
        print(f"removed (line {e.line}): {e.backend} {e.case} expected {'/'.join(map(str, e.outcomes))}, passed")
    print(f"{args.file}: {len(gone)} stale entries removed, {len(entries) - len(gone)} kept")
    return EXIT_OK
