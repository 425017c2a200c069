"""Failing draws kept in Hypothesis' example database, so a later run tries them first.

A run's random draws come from its seed: a failure drawn under seed 0 is not
drawn again under seed 1, nor after a case's source changes what a seed
draws. Hypothesis' answer is its example database: the choice sequence that
made a test fail is saved and replayed before anything new is generated. Here
the choices behind every random draw travel with its instance; when a run
completes, each instance that failed on some backend is saved under its case
and value mode, and each replayed one that now passes everywhere is deleted
(as Hypothesis clears examples that are no longer interesting). The next run
draws the saved ones first, as extra instances beside its own seeded draws.

The database is a `DirectoryBasedExampleDatabase` in `examples/` beside the
results store, the folder CI already keeps between runs. Drawing reads it
through `ReadOnly`: replaying never changes it, so a run, its export pool and
a resumed run all draw the same instances; only a completed run writes.
Covering draws are not saved: a forced draw's choices mean something else
without its forcing, and covering draws them again every run anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from .model import FAILING, CaseInstance, Outcome, Result

#: Choice sequences kept per case and value mode at most: a case failing everywhere cannot grow the folder
#: without bound, and a run replays at most this many extra instances of it.
MAX_KEPT = 16


def examples_dir(db: Path) -> Path:
    """The example database of the store at `db`: beside it, as its `logs/` are."""
    return Path(db).parent / "examples"


def key(case_path: str, mode: str) -> bytes:
    return f"conformance:{case_path}:{mode}".encode()


class ReadOnly(ExampleDatabase):
    """Fetches from a database and never changes it: Hypothesis deletes replayed examples that pass, and
    drawing must leave the database as the last completed run wrote it."""

    def __init__(self, inner: ExampleDatabase) -> None:
        super().__init__()
        self._inner = inner

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return self._inner.fetch(key)

    def save(self, key: bytes, value: bytes) -> None:
        pass

    def delete(self, key: bytes, value: bytes) -> None:
        pass

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        pass


def open_examples(db: Path) -> ExampleDatabase:
    return DirectoryBasedExampleDatabase(examples_dir(db))


def for_drawing(db: Path | None) -> ExampleDatabase | None:
    """The read-only view drawing replays from; None where there is no store or nothing was saved yet."""
    if db is None or not examples_dir(db).is_dir():
        return None
    return ReadOnly(open_examples(db))


#: A failure the expectations already know is still a failing draw worth trying again.
_KEEP = FAILING | {Outcome.XFAIL}


def remember(db: Path, instances: Iterable[CaseInstance], results: Iterable[Result]) -> tuple[int, int]:
    """Save the choices of each instance that failed, delete those of each replayed one that passed on every
    backend; returns (saved, deleted)."""
    failed: set[str] = set()
    ran: set[str] = set()
    for r in results:
        ran.add(r.case_id)
        if r.outcome in _KEEP:
            failed.add(r.case_id)
    database: ExampleDatabase | None = None
    saved = deleted = 0
    for instance, choices, mode_key in _with_choices(instances):
        if instance.id not in ran:
            continue
        if database is None:
            database = open_examples(db)
        if instance.id in failed:
            kept = list(database.fetch(mode_key))
            if choices not in kept and len(kept) < MAX_KEPT:
                database.save(mode_key, choices)
                saved += 1
        elif instance.replayed:
            database.delete(mode_key, choices)
            deleted += 1
    return saved, deleted


def _with_choices(instances: Iterable[CaseInstance]) -> Iterator[tuple[CaseInstance, bytes, bytes]]:
    for instance in instances:
        if instance.choices is not None:
            yield instance, instance.choices, key(instance.case.path, str(instance.values))
