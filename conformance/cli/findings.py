"""`findings`: a recorded run's failures as root causes, each with the party at fault and the evidence."""

from __future__ import annotations

import argparse
from typing import Any

from .options import EXIT_FAILED, EXIT_OK, add_db, add_json, db_path, print_json


def register(sub: Any) -> None:
    p = sub.add_parser(
        "findings",
        help="a run's failures clustered by root cause, with whose fault each is; exit 1 when one is new",
    )
    p.add_argument("run_id", metavar="RUN_ID", nargs="?", default="latest", help="run id, or 'latest' (default)")
    add_db(p)
    add_json(p)
    p.set_defaults(func=cmd_findings)


def cmd_findings(args: argparse.Namespace) -> int:
    from ..findings import format_text, run_findings
    from ..store import Store

    with Store(db_path(args.db)) as store:
        found = run_findings(store, store.run(args.run_id).id)
    if args.json:
        print_json([f.to_dict() for f in found])
    else:
        print(format_text(found))
    return EXIT_FAILED if any(f.status == "new" for f in found) else EXIT_OK
