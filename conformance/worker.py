"""The backend worker's entry point: `python -m conformance.worker FD`.

A worker is a fresh interpreter started on this module, not a
multiprocessing child: a spawned child re-imports the caller's `__main__`,
which re-runs an unguarded script's top level, and fails outright where
there is no file to import (`python -`, a notebook, `exec`). The driver
hands over the pipe's file descriptor and makes its stdout and stderr the log
file; the import path and the backend arrive over the pipe, so the worker
depends on nothing else of its caller.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from multiprocessing.connection import Connection

    from .execute import serve

    return serve(Connection(int(argv[0])))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
