"""`findings` and `repro`: a run's failures as root causes, localized, reduced and bundled for upstream."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .options import EXIT_FAILED, EXIT_OK, UsageError, add_db, add_json, db_path, print_json, progress_steps


def register(sub: Any) -> None:
    p = sub.add_parser(
        "findings",
        help="a run's failures clustered by root cause, with whose fault each is; exit 1 when one is new and not waived",
    )
    p.add_argument("run_id", metavar="RUN_ID", nargs="?", default="latest", help="run id, or 'latest' (default)")
    p.add_argument(
        "--reduce",
        action="store_true",
        help="first localize each backend finding to its culprit node, reduce it and write its repro bundle",
    )
    p.add_argument(
        "--out", type=Path, help="with --reduce: where the bundles go (default: repros/RUN beside the store)"
    )
    add_budget(p)
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_findings)

    p = sub.add_parser("repro", help="a standalone repro bundle for a finding (or a failing result) of a run")
    p.add_argument("what", metavar="FINDING_OR_RESULT", help="a finding id (F...), or a case id with --backend")
    p.add_argument("--out", type=Path, required=True, help="the folder to write the bundle into")
    p.add_argument("--run", dest="run_id", default="latest", help="run id, or 'latest' (default)")
    p.add_argument("--backend", help="with a case id: the backend whose failure to reproduce")
    add_budget(p)
    add_db(p)
    p.set_defaults(func=cmd_repro)


def add_budget(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--budget", type=float, default=30.0, help="seconds to localize one finding, and half that to reduce it"
    )


@contextlib.contextmanager
def investigation_progress(store: Any, run_id: str, *, quiet: bool) -> Iterator[Callable[[str], None]]:
    """Each finding's line as it is localized; on a terminal, above a bar with an ETA over the run's findings."""
    from ..findings import cluster

    with progress_steps("localize and reduce", quiet=quiet) as steps:
        if steps.shown:  # clustering a large run takes seconds: only a bar needs the count
            steps.total(len(cluster(store.results(run_id))))

        def step(line: str) -> None:
            steps.line(f"finding {line}")
            steps.step(line.split(" ", 1)[0])

        yield step


def cmd_findings(args: argparse.Namespace) -> int:
    from ..findings import format_text, run_findings
    from ..investigate import investigate
    from ..store import Store

    db = db_path(args.db)
    with Store(db, create=args.reduce) as store:
        run = store.run(args.run_id)
        if args.reduce:
            out = args.out or db.parent / "repros" / run.id
            with investigation_progress(store, run.id, quiet=False) as progress:
                investigate(store, run.id, out, budget=args.budget, progress=progress)
        found = run_findings(store, run.id)
    if args.json:
        print_json([f.to_dict() for f in found])
    else:
        print(format_text(found))
    # A new finding whose every result an expectation waived was reviewed already: not news for a CI gate.
    return EXIT_FAILED if any(f.status == "new" and f.unexpected for f in found) else EXIT_OK


def cmd_repro(args: argparse.Namespace) -> int:
    from ..findings import cluster, run_findings
    from ..investigate import investigate
    from ..store import Store

    with Store(db_path(args.db)) as store:
        run = store.run(args.run_id)
        case_level = cluster(store.results(run.id))
        if args.what.startswith("F"):
            wanted = next((f for f in run_findings(store, run.id) if f.id == args.what), None)
            if wanted is None:
                raise UsageError(
                    f"conformance repro: no finding {args.what} in run {run.id} (see `conformance findings`)"
                )
            members = set(wanted.members)
        else:
            if not args.backend:
                raise UsageError("conformance repro: a case id needs --backend")
            members = {k for f in case_level for k in f.members if k.startswith(f"{args.what}|{args.backend}|")}
        ids = [f.id for f in case_level if members & set(f.members)]
        if not ids:
            raise UsageError(f"conformance repro: {args.what} names no failing result of run {run.id}")
        if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
            raise UsageError(f"conformance repro: {args.out} exists and is not an empty folder")
        (item,) = investigate(store, run.id, lambda f: args.out, budget=args.budget, only=ids[:1])
        loc = item.localized
        if not loc.repro:
            print(f"{args.what}: no bundle ({loc.status}): {loc.evidence}", file=sys.stderr)
            return EXIT_FAILED
    print(f"{args.out}: {loc.status} {loc.op or ''}; `python {args.out / 'repro.py'}` exits 1 while it reproduces")
    return EXIT_OK
