"""What every command shares: the parser that turns mistakes into usage errors, typed values, and the
options several commands take, each declared once.

A command module registers its parsers with these helpers, so `--cases` or
`--db` means the same thing, with the same help, everywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: reported in one line with exit status 2."""


class Parser(argparse.ArgumentParser):
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
ULP = _number(float, 0.0, "a number of ULP, 0 or more")


def opset(text: str) -> int:
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


def opsets(text: str) -> tuple[int, ...]:
    """A comma-separated list of opsets, or `all`: 13 (the oldest both exporters are asked for) to onnx's newest."""
    import onnx.defs

    if text.strip() == "all":
        return tuple(range(13, onnx.defs.onnx_opset_version() + 1))
    values = tuple(dict.fromkeys(opset(part) for part in split(text)))
    if not values:
        raise argparse.ArgumentTypeError(f"{text!r} names no opset")
    return values


def value_modes(text: str) -> tuple[str, ...]:
    """Comma-separated value modes, each one the generator draws."""
    from ..model import Values

    names = tuple(dict.fromkeys(split(text)))
    wrong = [n for n in names if n not in {str(v) for v in Values}] or ([] if names else [""])
    if wrong:
        raise argparse.ArgumentTypeError(f"unknown value mode {wrong[0]!r}; choose from {', '.join(Values)}")
    return names


def split(value: str | None) -> list[str]:
    """A comma-separated option as its non-empty parts."""
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def exporters(value: str, prog: str) -> list[str]:
    """The exporters an option names, each one torch has."""
    from ..export import EXPORTERS

    names = split(value)
    unknown = [e for e in names if e not in EXPORTERS] or ([] if names else [""])
    if unknown:
        raise UsageError(f"{prog}: unknown exporter {unknown[0]!r}; choose from {', '.join(EXPORTERS)}")
    return names


# --------------------------------------------------------------------------- options declared once


def add_cases(p: argparse.ArgumentParser, default: str = "all") -> None:
    p.add_argument("--cases", help=f"comma-separated globs over case names or paths (default: {default})")


def add_backends(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backends", help="comma-separated backend names (default: every available one)")


def add_exporters(p: argparse.ArgumentParser, default: str | None = "dynamo", shown: str | None = None) -> None:
    p.add_argument(
        "--exporters", default=default, help=f"comma-separated: dynamo, torchscript (default: {shown or default})"
    )


def add_opset(p: argparse.ArgumentParser) -> None:
    from ..export import DEFAULT_OPSET

    p.add_argument(
        "--opset", type=opset, default=DEFAULT_OPSET, help=f"ONNX opset to export (default: {DEFAULT_OPSET})"
    )


def add_max_examples(p: argparse.ArgumentParser, default: int | None, what: str = "instances drawn per case") -> None:
    suffix = f" (default: {default})" if default is not None else ""
    p.add_argument("--max-examples", type=COUNT, default=default, help=what + suffix)


def add_seed(p: argparse.ArgumentParser, default: int | None = 0, what: str = "generation seed") -> None:
    suffix = f" (default: {default})" if default is not None else ""
    p.add_argument("--seed", type=int, default=default, help=what + suffix)


def add_cache_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cache-dir", type=Path, help="artifact cache (default: the user cache dir, or $CONFORMANCE_CACHE_DIR)"
    )


def add_db(p: argparse.ArgumentParser, what: str = "results store") -> None:
    p.add_argument("--db", type=Path, help=f"{what} (default: the user data dir, or $CONFORMANCE_DB)")


def add_quiet(p: argparse.ArgumentParser, what: str = "no progress") -> None:
    p.add_argument("--quiet", action="store_true", help=what)


def add_json(p: argparse.ArgumentParser) -> None:
    """`--json` is the same flag everywhere: JSON on stdout instead of text (`--json-out FILE` for a file)."""
    p.add_argument("--json", action="store_true", help="print JSON to stdout instead of text")


def add_threshold(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threshold", type=ULP, default=None, help="accuracy drift threshold in ULP (default: 4)")


def add_expectations(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--expectations", help=f"{what} (default: the shipped file; 'none' for none)")


def add_dask(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dask", metavar="ADDRESS", help="run backends on this Dask scheduler's workers")


# --------------------------------------------------------------------------- output and values


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=1, default=str) + "\n")


def stderr_log(quiet: bool) -> Any:
    """A progress logger for the library's `log=` parameters, or None when quiet."""
    return None if quiet else (lambda line: sys.stderr.write(line + "\n"))


class Steps:
    """A long command's progress: lines worth keeping, and steps of a known total.

    On a terminal the lines scroll above a rich bar with the stage and an ETA;
    piped, the lines go to stderr and the bar is left out (a bar in a log file is
    noise); quiet, nothing is shown.
    """

    def __init__(self, bar: Any = None, task: Any = None, *, echo: bool = True) -> None:
        self._bar, self._task, self._echo = bar, task, echo

    @property
    def shown(self) -> bool:
        """Whether there is a bar: what only a bar needs (a total that costs a pass over the store) waits on it."""
        return self._bar is not None

    def line(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, markup=False, soft_wrap=True, highlight=False)
        elif self._echo:
            print(text, file=sys.stderr)

    def step(self, what: str | None = None) -> None:
        """One step done; `what` (if given) is shown as the one in hand."""
        if self._bar is not None:
            self._bar.update(self._task, advance=1, **({} if what is None else {"last": what}))

    def stage(self, description: str, what: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=description, last=what)

    def total(self, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, total=total)

    def at(self, done: int, total: int, what: str) -> None:
        """The library's `progress(done, total, what)` callbacks: `done` of `total` finished, the last `what`."""
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total, last=what)


@contextlib.contextmanager
def progress_steps(label: str, total: int | None = None, *, quiet: bool = False) -> Iterator[Steps]:
    """`Steps` for `label` over `total` steps (None: not known yet; `Steps.total` sets it)."""
    from rich.console import Console

    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield Steps(echo=not quiet)
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[last]}", markup=False),
    )
    with Progress(*columns, console=console) as bar:
        yield Steps(bar, bar.add_task(label, total=total, last=""))


def threshold(value: float | None) -> float:
    from ..history import DEFAULT_DRIFT_ULP

    return DEFAULT_DRIFT_ULP if value is None else value


def db_path(value: Path | None) -> Path:
    from ..store import default_db_path

    return value or default_db_path()
