"""The `conformance` command: a thin front end over the engine, one module per command group.

A project's defaults come from `[tool.conformance]` in pyproject.toml or a conformance.toml (`config.py`):
they become the parsers' defaults before parsing, so the command line wins over them.

Exit status: 0 when nothing failed unexpectedly, 1 when something did, 2 for a
usage or input error (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from . import certification, config, expectations, findings, library, results, run
from .options import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Parser, UsageError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="conformance", description="Cross-framework conformance suite for ONNX backends.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour and styles in the console output: auto (on a terminal, unless NO_COLOR is set), always, never",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in (run, results, findings, expectations, library, certification, config):
        group.register(sub)
    return parser


def _pin_hash_seed() -> None:
    """Restart the command with PYTHONHASHSEED=0, so what it exports is the same in every process.

    The dynamo exporter's bytes depend on the string-hash seed (see
    `export.hash_seed`); profiles are frozen and certified through this
    command, so a model exported here hashes the same on any machine. Only the
    console command restarts: `main([...])` called from Python runs as it is.
    """
    if sys.flags.hash_randomization == 0 or os.name != "posix" or os.environ.get(_PINNED):
        return
    env = {**os.environ, "PYTHONHASHSEED": "0", _PINNED: "1"}  # _PINNED: never restart twice
    os.execve(sys.executable, [sys.executable, "-m", "conformance", *sys.argv[1:]], env)


_PINNED = "CONFORMANCE_HASH_SEED_PINNED"


def _colour(choice: str) -> None:
    """rich reads NO_COLOR and FORCE_COLOR when a console is made: the choice is said through them, once,
    before any command makes one. `auto` leaves them as the user set them."""
    if choice == "never":
        os.environ["NO_COLOR"] = "1"
        os.environ.pop("FORCE_COLOR", None)
    elif choice == "always":
        os.environ["FORCE_COLOR"] = "1"
        os.environ.pop("NO_COLOR", None)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM (a CI job cancelled, `kill`) ends a run as Ctrl-C does: what it recorded is kept, and the
    backend workers and the export pool are stopped on the way out instead of being left orphaned."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        _pin_hash_seed()
        signal.signal(signal.SIGTERM, _terminated)
    argv = list(sys.argv[1:] if argv is None else argv)
    from ..backends import BackendError
    from ..expectations import ExpectationError
    from ..generate import CaseError
    from ..store import StoreError

    try:
        parser = build_parser()
        config.configure(parser, Path.cwd())  # the project's config file, as defaults the command line overrides
        args = parser.parse_args(argv)
        args.argv = argv  # what `run`, `nightly` and `certify` record as the command line
        _colour(args.color)
        return int(args.func(args))
    except (UsageError, CaseError, BackendError, StoreError, ExpectationError) as exc:
        # One line whatever the message holds: a damaged file's text can bring its own newlines.
        sys.stderr.write("error: " + str(exc).replace("\r", "\\r").replace("\n", "\\n") + "\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: results recorded so far are kept in the store\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`conformance list cases | head`): not an error of ours. Python would
        # complain again flushing stdout at exit, so stdout is pointed at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
