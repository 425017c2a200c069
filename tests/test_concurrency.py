"""Two writers on one store, and a nightly killed mid-run: nothing recorded is lost, nothing is recorded twice.

ONNX's node tests are prebuilt (no export), so a run of a few hundred results
takes seconds and a kill lands while results are still arriving.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conformance.store import Store

from .conftest import BIN, conformance

BACKENDS = "onnxruntime,reference"
#: Two disjoint selections, each a few hundred results on the two backends; every outcome in them must be the
#: same on every run (this is how test_bernoulli*'s flipping outcome was found: random ops are now judged by
#: shape and dtype only).
FIRST, SECOND = "onnx-node/test_a*,onnx-node/test_d*", "onnx-node/test_c*"
#: Where the nightly is killed, as fractions of the results a whole run records: drawn once from a fixed
#: seed so a failure names a kill point that reproduces, plus the very first result and the last.
_RNG = random.Random(12)
KILL_AT = [0.0, round(_RNG.uniform(0.05, 0.95), 2), 0.98]
#: The nightly these tests kill and resume. Reducing findings records no results: that is left to
#: test_findings and test_localize (here it took 50 of the whole run's 64 s).
NIGHTLY = ("nightly", "--cases", FIRST, "--backends", BACKENDS, "--no-reduce")


def _command(*args: str) -> list[str]:
    return [str(BIN / "conformance"), *args]


def _keys(db: Path, run_id: str) -> list[tuple[str, str, str, str]]:
    """Every row the run holds (duplicates would show: the list is not a set)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT case_id, backend, exporter, outcome FROM results WHERE run_id = ? ORDER BY 1, 2, 3", (run_id,)
        ).fetchall()
    return [tuple(r) for r in rows]


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return int(con.execute("SELECT count(*) FROM results").fetchone()[0])
    except sqlite3.Error:  # not created yet
        return 0


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, str, str]]:
    """What an uninterrupted nightly of FIRST records: the truth the killed ones must end at."""
    d = tmp_path_factory.mktemp("whole")
    proc = conformance(*NIGHTLY, "--db", str(d / "r.sqlite"), "--out-root", str(d / "rep"))
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    with Store(d / "r.sqlite") as store:
        (run,) = store.runs()
    keys = _keys(d / "r.sqlite", run.id)
    assert len(keys) > 300 and len(set(keys)) == len(keys)
    return keys


def test_two_runs_writing_one_store_at_once_both_record_everything(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite"
    alone = {}
    for name, cases in (("first", FIRST), ("second", SECOND)):  # each alone, in a store of its own
        own = tmp_path / f"{name}.sqlite"
        proc = conformance("run", "--quiet", "--cases", cases, "--backends", BACKENDS, "--db", str(own))
        assert proc.returncode in (0, 1), proc.stderr[-3000:]
        with Store(own) as store:
            (run,) = store.runs()
        alone[name] = _keys(own, run.id)
    procs = [
        subprocess.Popen(
            _command("run", "--quiet", "--cases", cases, "--backends", BACKENDS, "--db", str(db)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ.copy(),
        )
        for cases in (FIRST, SECOND)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outputs, strict=True):
        assert p.returncode in (0, 1), err[-3000:]
    with Store(db) as store:
        runs = store.runs()
        assert [r.status for r in runs] == ["complete", "complete"]
        together = sorted(_keys(db, r.id) for r in runs)
    for got, want in zip(together, sorted(alone.values()), strict=True):
        assert len(got) == len(want), "a run writing beside another lost or duplicated results"
        changed = sorted(set(got) ^ set(want))
        assert not changed, f"a run writing beside another recorded other outcomes: {changed[:10]}"


@pytest.mark.parametrize("at", KILL_AT)
def test_a_killed_nightly_resumes_to_the_whole_run(
    tmp_path: Path, whole_run: list[tuple[str, str, str, str]], at: float
) -> None:
    db = tmp_path / "r.sqlite"
    want = max(1, int(at * len(whole_run)))
    proc = subprocess.Popen(
        _command(*NIGHTLY, "--db", str(db), "--out-root", str(tmp_path)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 300
    while _count(db) < want and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    seen = _count(db)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the nightly ended before its kill point ({seen}/{want} results)"
    with Store(db) as store:
        (stopped,) = store.runs()
    kept = _keys(db, stopped.id)
    if stopped.status == "complete":
        # The last results arrive within one poll of each other: the kill can land after the run closed
        # (while it writes its reports). Complete is then true, and nothing may be missing.
        assert kept == whole_run, f"a run marked complete holds {len(kept)} of {len(whole_run)} results"
        return
    assert stopped.status == "running", "a killed run must not look complete"
    assert len(kept) >= seen and set(kept) <= set(whole_run)

    # The nightly finishes what it started, in its own series, and writes its reports as an unbroken one would.
    out = tmp_path / "resumed"
    resumed = conformance(
        "nightly", "--quiet", "--resume", "latest", "--db", str(db), "--out-root", str(out), "--no-reduce"
    )
    assert resumed.returncode in (0, 1), f"killed at {len(kept)} results: {resumed.stderr[-3000:]}"
    with Store(db) as store:
        (run,) = store.runs()
    assert run.id == stopped.id and run.status == "complete" and run.profile == f"nightly:{FIRST}"
    assert (out / "latest" / "report.json").exists()
    assert _keys(db, run.id) == whole_run, f"killed at {len(kept)}/{len(whole_run)} results, resumed to a different run"
