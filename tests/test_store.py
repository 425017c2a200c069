"""The results store: versioned schema, clear errors, results kept when a run is killed."""

from __future__ import annotations

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

from .conftest import BIN


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
    with Store(tmp_path / "s.sqlite") as store:
        store.begin_run("r1", "2026-01-01T00:00:00", seed=1, environment={"onnx": "1"}, options={})
        store.record(_result())
        assert store.results("r1") == [_result()]
        assert store.run("latest").id == "r1"


def test_schema_version_is_recorded(tmp_path: Path) -> None:
    Store(tmp_path / "s.sqlite").close()
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
    with Store(tmp_path / "s.sqlite") as store, pytest.raises(StoreError, match="no run 'nope'"):
        store.run("nope")


def test_a_killed_run_keeps_what_it_finished(tmp_path: Path) -> None:
    db = tmp_path / "killed.sqlite"
    proc = subprocess.Popen(
        [
            str(BIN / "conformance"),
            "run",
            "--backends",
            "reference",
            "--max-examples",
            "20",
            "--db",
            str(db),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 240
    count = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            if db.exists():
                try:
                    with sqlite3.connect(db) as conn:
                        count = conn.execute("SELECT count(*) FROM results").fetchone()[0]
                except sqlite3.Error:
                    continue
                if count >= 3:
                    break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert count >= 3, "the run recorded nothing before it was killed"
    with Store(db) as store:
        run = store.run("latest")
        kept = store.results(run.id)
    assert run.status == "running", "a killed run cannot have marked itself complete"
    assert len(kept) >= count


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
