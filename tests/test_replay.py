"""Failing draws kept in Hypothesis' example database are drawn first by a later run (issue 17, item 7).

The failure is real: tract maps NaN to 0 in Relu, and special values put a
NaN in every relu input. The reference evaluator propagates NaN, so the same
kept draws pass there and are dropped from the database.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from conformance.engine import RunOptions, run
from conformance.generate import discover_cases, draw_instances, select_cases
from conformance.model import FAILING, Values
from conformance.replay import examples_dir, for_drawing, key, open_examples

pytest.importorskip("tract")


def _relu(options: RunOptions):
    (case,) = select_cases(discover_cases(options.cache_dir), "relu")
    return case


def test_a_failing_draw_is_kept_and_drawn_first_by_a_later_run_with_another_seed(options: RunOptions) -> None:
    first = replace(options, cases="relu", backends="tract", values=("special",), max_examples=2, expectations=None)
    summary = run(first)
    failing = {r.case_id for r in summary.results if r.outcome in FAILING}
    assert failing, f"tract's Relu keeps NaN on no special draw: {[(r.case_id, r.outcome) for r in summary.results]}"
    assert summary.kept == len(failing), (summary.kept, failing)
    assert examples_dir(options.db).is_dir()
    case = _relu(options)
    assert len(list(open_examples(options.db).fetch(key(case.path, "special")))) == len(failing)

    # Another seed draws other instances, but the kept ones come first, as they were (same ids).
    later = run(replace(first, seed=first.seed + 1, max_examples=1))
    ids = [r.case_id for r in later.results]
    assert later.replayed == len(failing)
    assert set(ids[: len(failing)]) == failing, ids
    assert set(ids) > failing
    kept = list(open_examples(options.db).fetch(key(case.path, "special")))
    assert len(kept) == len(failing) + later.kept  # the same draws are not saved twice

    # Without replay, the seed alone decides, and the database is left alone.
    alone = run(replace(first, seed=first.seed + 1, max_examples=1, replay=False))
    assert not failing & {r.case_id for r in alone.results}
    assert alone.replayed == 0 and alone.kept == 0

    # Where the kept draws pass (the reference evaluator keeps NaN), they are dropped.
    fixed = run(replace(first, seed=first.seed + 2, max_examples=1, backends="reference"))
    assert fixed.replayed == len(kept)
    assert fixed.forgotten == len(kept) and fixed.kept == 0
    assert not list(open_examples(options.db).fetch(key(case.path, "special")))


def test_drawing_never_changes_the_database_and_draws_the_same_list_twice(options: RunOptions) -> None:
    """The export pool and a resumed run draw again what the driver drew: replaying must be read-only."""
    case = _relu(options)
    seeded = draw_instances(case, seed=5, max_examples=3, values=Values.SPECIAL)
    database = open_examples(options.db)
    database.save(key(case.path, "special"), seeded[0].choices or b"")
    examples = for_drawing(options.db)
    assert examples is not None
    once = draw_instances(case, seed=9, max_examples=1, values=Values.SPECIAL, examples=examples)
    twice = draw_instances(case, seed=9, max_examples=1, values=Values.SPECIAL, examples=examples)
    assert [i.id for i in once] == [i.id for i in twice]
    assert once[0].id == seeded[0].id and once[0].replayed
    assert len(list(database.fetch(key(case.path, "special")))) == 1
    # A mode keeps its own draws: plain mode replays nothing of special's.
    assert not any(i.replayed for i in draw_instances(case, seed=9, max_examples=1, examples=examples))


def test_no_store_folder_means_nothing_to_replay(tmp_path: Path) -> None:
    assert for_drawing(tmp_path / "nowhere" / "r.sqlite") is None
