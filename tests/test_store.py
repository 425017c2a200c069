"""The results store: versioned schema, clear errors, results kept when a run is killed."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from conformance.model import Metrics, OracleAgreement, Outcome, Result
from conformance.store import SCHEMA_VERSION, Store, StoreError

from .conftest import BIN, conformance


def _result(case_id: str = "a/b[1]") -> Result:
    return Result(
        run_id="r1",
        case_id=case_id,
        case="b",
        category="a",
        backend="onnxruntime",
        backend_version="1",
        exporter="dynamo",
        opset=18,
        outcome=Outcome.MISMATCH,
        oracle=OracleAgreement.AGREE,
        metrics=Metrics(max_abs_error=0.5, worst_index=(1, 2), elements=6, fraction_off=1 / 6),
        message="<script>alert(1)</script>",
        params={"dtype": "float32"},
    )


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite", create=True) as store:
        store.begin_run("r1", "2026-01-01T00:00:00", seed=1, environment={"onnx": "1"}, options={})
        store.record(_result())
        assert store.results("r1") == [_result()]
        assert store.run("latest").id == "r1"


def test_schema_version_is_recorded(tmp_path: Path) -> None:
    Store(tmp_path / "s.sqlite", create=True).close()
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="schema version"):
        Store(path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_text("this is not sqlite" * 100)
    with pytest.raises(StoreError, match=str(path)):
        Store(path)


def test_unknown_run_is_a_clear_error(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite", create=True) as store, pytest.raises(StoreError, match="no run 'nope'"):
        store.run("nope")


def _run_and_kill(db: Path, cache: Path, *selection: str, after: int = 3) -> int:
    """Start `conformance run` and SIGKILL it once `after` results are in the store; the count seen."""
    log = db.with_suffix(".log")
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [str(BIN / "conformance"), "run", *selection, "--db", str(db), "--cache-dir", str(cache), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=os.environ.copy(),
        )
    deadline = time.monotonic() + 240
    count = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            if db.exists():
                try:
                    with sqlite3.connect(db) as conn:
                        count = conn.execute("SELECT count(*) FROM results").fetchone()[0]
                except sqlite3.Error:
                    continue
                if count >= after:
                    break
    finally:
        exited = proc.poll()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert exited is None, f"the run ended before it was killed (status {exited}): {log.read_text()[-2000:]}"
    return count


def test_a_killed_run_keeps_what_it_finished(tmp_path: Path) -> None:
    db = tmp_path / "killed.sqlite"
    # Three cases, not all of them: drawing every case first took most of this test's 90 s before the first result.
    selection = ("--cases", "activation/relu,activation/relu6,transcendental/exp")
    count = _run_and_kill(db, tmp_path / "cache", *selection, "--backends", "reference", "--max-examples", "20")
    assert count >= 3, "the run recorded nothing before it was killed"
    with Store(db) as store:
        run = store.run("latest")
        kept = store.results(run.id)
    assert run.status == "running", "a killed run cannot have marked itself complete"
    assert len(kept) >= count


def test_a_killed_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    """`run --resume` keeps what the killed run recorded and runs only the rest, with the run's own options."""
    from conformance.generate import discover_cases, draw_instances, select_cases

    db, cases = tmp_path / "resume.sqlite", "activation/relu,activation/relu6,transcendental/exp,transcendental/tanh"
    # 24 dynamo exports take several seconds: enough that a kill after 3 results comes mid-run.
    selection = ("--cases", cases, "--backends", "reference", "--max-examples", "6", "--seed", "5")
    count = _run_and_kill(db, tmp_path / "cache", *selection)
    with Store(db) as store:
        run_id = store.run("latest").id
        before = {(r.case_id, r.backend, r.exporter): r for r in store.results(run_id)}
    assert count >= 3 and before
    planned = {
        (i.id, "reference", "dynamo")
        for c in select_cases(discover_cases(), cases)
        for i in draw_instances(c, seed=5, max_examples=6)
    }
    assert set(before) < planned, "the kill came before the end of the run"

    proc = conformance("run", "--resume", "latest", "--db", str(db), "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    with Store(db) as store:
        run = store.run(run_id)
        after = store.results(run_id)
    assert run.status == "complete" and len(store_runs(db)) == 1, "the same run, finished"
    assert len(after) == len({(r.case_id, r.backend, r.exporter) for r in after}), "nothing recorded twice"
    assert {(r.case_id, r.backend, r.exporter) for r in after} == planned
    assert all(
        r == before[(r.case_id, r.backend, r.exporter)] for r in after if (r.case_id, r.backend, r.exporter) in before
    )
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert len(report["results"]) == len(planned), "the report covers the whole run"


def test_a_run_does_not_resume_on_other_versions(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    with Store(db, create=True) as store:
        store.begin_run("old", "2026-01-01T00:00:00+00:00", seed=0, environment={"onnx": "1.0.0"}, options={})
    proc = conformance("run", "--resume", "old", "--db", str(db), "--quiet")
    assert proc.returncode == 2
    assert "cannot resume run old: its" in proc.stderr and "Traceback" not in proc.stderr


def store_runs(db: Path) -> list[str]:
    with Store(db) as store:
        return [r.id for r in store.runs()]


def test_a_version_1_store_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE runs (id TEXT PRIMARY KEY, started TEXT NOT NULL, finished TEXT, status TEXT NOT NULL,"
            " seed INTEGER, profile TEXT, command TEXT, environment TEXT NOT NULL, options TEXT NOT NULL);"
            "CREATE TABLE results (run_id TEXT NOT NULL, case_id TEXT NOT NULL, case_name TEXT NOT NULL,"
            " category TEXT NOT NULL, backend TEXT NOT NULL, backend_version TEXT NOT NULL, exporter TEXT NOT NULL,"
            " opset INTEGER NOT NULL, outcome TEXT NOT NULL, oracle TEXT NOT NULL, message TEXT NOT NULL,"
            " metrics TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL, duration_s REAL NOT NULL,"
            " PRIMARY KEY (run_id, case_id, backend, exporter));"
            "INSERT INTO runs VALUES ('old', '2026-01-01', NULL, 'complete', 1, NULL, NULL, '{}', '{}');"
            "PRAGMA user_version = 1;"
        )
    with Store(path) as store:
        store.record(replace(_result(), run_id="old", waiver={"reason": "known"}))
        assert store.results("old")[0].waiver == {"reason": "known"}
        assert store.run("old").status == "complete"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_version_2_store_is_rebuilt_to_key_results_by_opset(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE runs (id TEXT PRIMARY KEY, started TEXT NOT NULL, finished TEXT, status TEXT NOT NULL,"
            " seed INTEGER, profile TEXT, command TEXT, environment TEXT NOT NULL, options TEXT NOT NULL);"
            "CREATE TABLE results (run_id TEXT NOT NULL, case_id TEXT NOT NULL, case_name TEXT NOT NULL,"
            " category TEXT NOT NULL, backend TEXT NOT NULL, backend_version TEXT NOT NULL, exporter TEXT NOT NULL,"
            " opset INTEGER NOT NULL, outcome TEXT NOT NULL, oracle TEXT NOT NULL, message TEXT NOT NULL,"
            " metrics TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL, duration_s REAL NOT NULL,"
            " waiver TEXT, PRIMARY KEY (run_id, case_id, backend, exporter));"
            "INSERT INTO runs VALUES ('plain', '2026-01-01', NULL, 'complete', 1, NULL, NULL, '{}', "
            "'{\"special_values\": false}');"
            "INSERT INTO runs VALUES ('special', '2026-01-02', NULL, 'complete', 1, NULL, NULL, '{}', "
            "'{\"special_values\": true}');"
            "INSERT INTO results VALUES ('plain', 'a/b[1]', 'b', 'a', 'ort', '1', 'dynamo', 18, 'pass', 'agree', '',"
            " '{}', '{}', 1, 0.1, NULL);"
            "INSERT INTO results VALUES ('special', 'a/b[2]', 'b', 'a', 'ort', '1', 'dynamo', 18, 'pass', 'agree', '',"
            " '{}', '{}', 1, 0.1, NULL);"
            "PRAGMA user_version = 2;"
        )
    with Store(path, create=True) as store:
        assert [str(r.values) for r in store.results("plain")] == ["plain"]
        assert [str(r.values) for r in store.results("special")] == ["special"], "the run's options say special"
        store.record_many([replace(_result(), run_id="plain", case_id="a/b[1]", opset=o) for o in (17, 21)])
        assert sorted(r.opset for r in store.results("plain")) == [17, 18, 21], "three opsets, three rows"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def _children(pid: int) -> list[int]:
    """The live processes whose parent is `pid` (Linux /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_killed_driver_leaves_no_export_process_behind(tmp_path: Path) -> None:
    """SIGKILL (a CI time limit) gives the driver no chance to shut its export pool down: each pool process
    notices its parent is gone and exits, instead of exporting the selection for hours as an orphan."""
    cases = "activation/relu,activation/relu6,transcendental/exp,transcendental/tanh,elementwise/add"
    proc = subprocess.Popen(
        [str(BIN / "conformance"), "run", "--cases", cases, "--backends", "reference", "--max-examples", "6",
         "--seed", "9", "--export-workers", "1", "--db", str(tmp_path / "r.sqlite"), "--cache-dir",
         str(tmp_path / "cache"), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy(),
    )  # fmt: skip
    pool: list[int] = []
    deadline = time.monotonic() + 120
    while not pool and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
        pool = [p for p in _children(proc.pid) if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert pool, "the run started no export pool process"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pool):
        time.sleep(0.2)
    alive = [p for p in pool if Path(f"/proc/{p}").exists()]
    for p in alive:
        os.kill(p, signal.SIGKILL)
    assert not alive, f"export pool process(es) {alive} outlived their killed driver"
