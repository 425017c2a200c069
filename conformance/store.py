"""Record stage: the results store, one SQLite file.

Each result is committed as it arrives (WAL journal), so a run that is killed
keeps everything it finished. The schema version lives in `PRAGMA
user_version`; opening a file written by a newer schema is refused rather
than guessed at.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .model import Metrics, OpUse, OracleAgreement, Outcome, Result, Values

SCHEMA_VERSION = 5
#: Seconds a writer waits for another process's transaction before giving up (SQLite's busy timeout).
BUSY_TIMEOUT_S = 60.0
T = TypeVar("T")

#: Columns added since version 1, by the version that added them; applied in order on open.
_ADDED_COLUMNS: dict[int, list[tuple[str, str, str]]] = {
    2: [("results", "waiver", "TEXT")],
    5: [("runs", "timings", "TEXT")],
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          TEXT PRIMARY KEY,
    started     TEXT NOT NULL,
    finished    TEXT,
    status      TEXT NOT NULL,
    seed        INTEGER,
    profile     TEXT,
    command     TEXT,
    environment TEXT NOT NULL,
    options     TEXT NOT NULL,
    timings     TEXT
);
CREATE TABLE IF NOT EXISTS results (
    run_id          TEXT NOT NULL REFERENCES runs(id),
    case_id         TEXT NOT NULL,
    case_name       TEXT NOT NULL,
    category        TEXT NOT NULL,
    backend         TEXT NOT NULL,
    backend_version TEXT NOT NULL,
    exporter        TEXT NOT NULL,
    opset           INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    oracle          TEXT NOT NULL,
    message         TEXT NOT NULL,
    metrics         TEXT NOT NULL,
    params          TEXT NOT NULL,
    seed            INTEGER NOT NULL,
    duration_s      REAL NOT NULL,
    waiver          TEXT,
    value_mode      TEXT NOT NULL DEFAULT 'plain',
    PRIMARY KEY (run_id, case_id, backend, exporter, opset)
);
CREATE INDEX IF NOT EXISTS results_by_case ON results(case_id, backend, exporter);
CREATE TABLE IF NOT EXISTS localizations (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    finding     TEXT NOT NULL,
    result_key  TEXT NOT NULL,
    status      TEXT NOT NULL,
    op          TEXT,
    node        TEXT,
    evidence    TEXT NOT NULL,
    repro       TEXT,
    seconds     REAL NOT NULL,
    PRIMARY KEY (run_id, finding)
);
CREATE TABLE IF NOT EXISTS graph_ops (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    case_id     TEXT NOT NULL,
    exporter    TEXT NOT NULL,
    opset       INTEGER NOT NULL,
    ops         TEXT NOT NULL,
    PRIMARY KEY (run_id, case_id, exporter, opset)
);
"""
#: The results columns as version 2 had them: version 3 rebuilds the table to key results by opset too.
_V2_COLUMNS = (
    "run_id, case_id, case_name, category, backend, backend_version, exporter, opset, outcome, oracle, "
    "message, metrics, params, seed, duration_s, waiver"
)


class StoreError(RuntimeError):
    """The store file cannot be used; the message says which file and why."""


def _retry_locked(fn: Callable[[], T], deadline_s: float = BUSY_TIMEOUT_S) -> T:
    """Run `fn`, again while another process holds the lock SQLite's busy timeout does not wait for.

    Switching to WAL and some lock upgrades answer `database is locked` at
    once; two runs writing one store must both finish, so those are retried.
    """
    deadline = time.monotonic() + deadline_s
    pause = 0.01
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def default_db_path() -> Path:
    env = os.environ.get("CONFORMANCE_DB")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("onnx-conformance")) / "results.sqlite"


@dataclass(frozen=True)
class Localized:
    """A finding's localization as the store keeps it (the finding's id before localization names it)."""

    finding: str
    result_key: str
    status: str
    op: str | None
    node: Mapping[str, Any] | None
    evidence: str
    repro: str | None
    seconds: float


@dataclass(frozen=True)
class RunRecord:
    id: str
    started: str
    finished: str | None
    status: str
    seed: int | None
    profile: str | None
    command: str | None
    environment: dict[str, Any]
    options: dict[str, Any]
    #: Wall and CPU seconds per stage and per backend, and peak memory (see timing.py); {} before schema 5.
    timings: dict[str, Any] = field(default_factory=dict)


class Store:
    """A connection to one results file. Use as a context manager.

    Only the commands that record (`run`, `nightly`, `certify`, the plugin)
    pass `create=True`; a read of a path that holds no store is an error
    naming it, never a new empty file.
    """

    def __init__(self, path: Path | str, *, create: bool = False, timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self._timeout = timeout
        if not create and not self.path.is_file():
            what = "is not a file" if self.path.exists() else "does not exist"
            raise StoreError(f"no results store at {self.path}: it {what} (a run records one; check --db)")
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            uri = f"{self.path.resolve().as_uri()}?mode={'rwc' if create else 'rw'}"
            self._db = sqlite3.connect(uri, uri=True, timeout=timeout)
            version = _retry_locked(lambda: self._open_pragmas(create), timeout)
        except (sqlite3.Error, OSError, UnicodeDecodeError) as exc:  # a damaged header can fail to decode
            raise StoreError(f"cannot open results store {self.path}: {exc}") from exc
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"results store {self.path} has schema version {version}; this version of the tool reads up to "
                f"{SCHEMA_VERSION}: upgrade it or use another --db"
            )
        if version == SCHEMA_VERSION:
            return  # nothing to create or migrate: a reader takes no write lock
        if version == 0 and not create:
            self._db.close()
            raise StoreError(f"{self.path} is an SQLite file but holds no results store (check --db)")
        try:
            _retry_locked(lambda: self._initialise(version), timeout)
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise StoreError(f"cannot initialise results store {self.path}: {exc}") from exc

    def _open_pragmas(self, create: bool) -> int:
        """The file's schema version; a writer also sets WAL (kept in the file), a reader changes nothing."""
        if create:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, version: int) -> None:
        """Bring an older file up to date in place; a fresh file already has every column."""
        for added_in, columns in sorted(_ADDED_COLUMNS.items()):
            if version >= added_in:
                continue
            for table, column, kind in columns:
                present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        present = {row[1] for row in self._db.execute("PRAGMA table_info(results)")}
        if 0 < version < 3 and "value_mode" not in present:
            # A primary key cannot be altered: the table is rebuilt, every row kept; an older run drew special
            # values for all its instances or for none, as its recorded options say.
            self._db.execute("ALTER TABLE results RENAME TO results_v2")
            self._db.execute("DROP INDEX IF EXISTS results_by_case")
            self._db.executescript(_SCHEMA)
            self._db.execute(
                f"INSERT INTO results ({_V2_COLUMNS}, value_mode) SELECT {_V2_COLUMNS}, CASE WHEN "
                "(SELECT options FROM runs WHERE runs.id = results_v2.run_id) LIKE '%\"special_values\": true%' "
                "THEN 'special' ELSE 'plain' END FROM results_v2"
            )
            self._db.execute("DROP TABLE results_v2")

    def _initialise(self, version: int) -> None:
        with self._db:
            self._db.executescript(_SCHEMA)
            self._migrate(version)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # ---------------------------------------------------------------- writing

    def begin_run(
        self,
        run_id: str,
        started: str,
        *,
        seed: int | None,
        environment: Mapping[str, Any],
        options: Mapping[str, Any],
        command: str | None = None,
        profile: str | None = None,
    ) -> None:
        self._write(
            "INSERT INTO runs (id, started, status, seed, profile, command, environment, options) "
            "VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
            [(run_id, started, seed, profile, command, json.dumps(environment), json.dumps(options))],
        )

    def reopen_run(self, run_id: str) -> None:
        """A stopped run records again: it is `running` until it finishes."""
        self._write("UPDATE runs SET finished = NULL, status = 'running' WHERE id = ?", [(run_id,)])

    def finish_run(
        self, run_id: str, finished: str, status: str = "complete", timings: Mapping[str, Any] | None = None
    ) -> None:
        """A resumed run's timings are those of its last part: what the earlier parts spent is not kept."""
        self._write(
            "UPDATE runs SET finished = ?, status = ?, timings = COALESCE(?, timings) WHERE id = ?",
            [(finished, status, json.dumps(timings) if timings is not None else None, run_id)],
        )

    def add_timings(self, run_id: str, stages: Mapping[str, Mapping[str, Any]]) -> None:
        """Stages run after the run itself (localize, reduce) join its timings; a stage seen twice adds up."""
        timings = dict(self.run(run_id).timings)
        merged = dict(timings.get("stages", {}))
        for name, v in stages.items():
            was = merged.get(name, {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0})
            merged[name] = {k: round(was.get(k, 0) + v.get(k, 0), 3) for k in ("wall_s", "cpu_s", "calls")}
        timings["stages"] = merged
        self._write("UPDATE runs SET timings = ? WHERE id = ?", [(json.dumps(timings), run_id)])

    def record(self, result: Result) -> None:
        self.record_many([result])

    def record_many(self, results: Sequence[Result]) -> None:
        """Commit the results of one instance at once, as they arrive: what is recorded survives a killed run."""
        self._write(
            "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    result.run_id,
                    result.case_id,
                    result.case,
                    result.category,
                    result.backend,
                    result.backend_version,
                    result.exporter,
                    result.opset,
                    str(result.outcome),
                    str(result.oracle),
                    result.message,
                    json.dumps(result.metrics.to_dict()),
                    json.dumps(dict(result.params), default=str),
                    result.seed,
                    result.duration_s,
                    json.dumps(dict(result.waiver)) if result.waiver else None,
                    str(result.values),
                )
                for result in results
            ],
        )

    def record_localization(self, run_id: str, loc: Localized) -> None:
        """Where a finding's first result was localized to, and its repro bundle: kept beside the results."""
        self._write(
            "INSERT OR REPLACE INTO localizations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    loc.finding,
                    loc.result_key,
                    loc.status,
                    loc.op,
                    json.dumps(dict(loc.node), default=str) if loc.node else None,
                    loc.evidence,
                    loc.repro,
                    loc.seconds,
                )
            ],
        )

    def localizations(self, run_id: str) -> list[Localized]:
        rows = self._read("SELECT * FROM localizations WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [self._decode(_localized, row) for row in rows]

    def record_graph_ops(self, run_id: str, case_id: str, exporter: str, opset: int, ops: Sequence[OpUse]) -> None:
        """The kinds of node one exported graph holds: the op support matrix counts its results against them."""
        encoded = json.dumps([[u.op, u.dtype] for u in sorted(set(ops))])
        self._write(
            "INSERT OR REPLACE INTO graph_ops VALUES (?, ?, ?, ?, ?)", [(run_id, case_id, exporter, opset, encoded)]
        )

    def graph_ops(self, run_id: str) -> dict[tuple[str, str, int], tuple[OpUse, ...]]:
        """Per (case id, exporter, opset) of a run, the kinds of node its graph held; empty for older runs."""
        rows = self._read("SELECT case_id, exporter, opset, ops FROM graph_ops WHERE run_id = ?", (run_id,))
        return {(r[0], r[1], int(r[2])): self._decode(_op_uses, r) for r in rows}

    def _write(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One transaction, retried while another writer holds the file; a failure names the file."""

        def attempt() -> None:
            with self._db:
                self._db.executemany(sql, rows)

        try:
            _retry_locked(attempt, self._timeout)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to results store {self.path}: {exc}") from exc

    # ---------------------------------------------------------------- reading

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except (sqlite3.Error, UnicodeDecodeError) as exc:  # damaged text columns fail to decode
            raise StoreError(f"cannot read results store {self.path}: {exc}") from exc

    def run(self, run_id: str) -> RunRecord:
        """A run by id, or the newest with 'latest'."""
        if run_id == "latest":
            rows = self._read("SELECT * FROM runs ORDER BY started DESC, rowid DESC LIMIT 1")
        else:
            rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        if not rows:
            raise StoreError(f"no run {run_id!r} in {self.path}")
        return self._decode(_run_record, rows[0])

    def runs(self) -> list[RunRecord]:
        return [self._decode(_run_record, row) for row in self._read("SELECT * FROM runs ORDER BY started, rowid")]

    def results(self, run_id: str) -> list[Result]:
        rows = self._read("SELECT * FROM results WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [self._decode(_result, row) for row in rows]

    def _decode(self, fn: Callable[[Sequence[Any]], T], row: Sequence[Any]) -> T:
        """A row written by something other than this tool (or damaged) is an error naming the file."""
        try:
            return fn(row)
        except (ValueError, TypeError, KeyError, IndexError) as exc:  # JSONDecodeError is a ValueError
            raise StoreError(f"results store {self.path} holds a damaged row: {type(exc).__name__}: {exc}") from None


def _typed(value: Any, kind: type | tuple[type, ...]) -> Any:
    """A cell as this tool writes it: SQLite hands back whatever a damaged file holds (bytes for text)."""
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{value!r:.60} is not {getattr(kind, '__name__', kind)}")
    return value


def _result(row: Sequence[Any]) -> Result:
    m = json.loads(row[11])
    m["worst_index"] = tuple(m.get("worst_index", ()))
    return Result(
        run_id=_typed(row[0], str),
        case_id=_typed(row[1], str),
        case=_typed(row[2], str),
        category=_typed(row[3], str),
        backend=_typed(row[4], str),
        backend_version=_typed(row[5], str),
        exporter=_typed(row[6], str),
        opset=_typed(row[7], int),
        outcome=Outcome(row[8]),
        oracle=OracleAgreement(row[9]),
        message=_typed(row[10], str),
        metrics=Metrics(**m),
        params=json.loads(row[12]),
        seed=_typed(row[13], int),
        duration_s=_typed(row[14], (int, float)),
        waiver=json.loads(row[15]) if row[15] else None,
        values=Values(row[16]),
    )


def _run_record(row: Sequence[Any]) -> RunRecord:
    return RunRecord(
        id=row[0],
        started=row[1],
        finished=row[2],
        status=row[3],
        seed=row[4],
        profile=row[5],
        command=row[6],
        environment=json.loads(row[7]),
        options=json.loads(row[8]),
        timings=json.loads(row[9]) if len(row) > 9 and row[9] else {},
    )


def _op_uses(row: Sequence[Any]) -> tuple[OpUse, ...]:
    return tuple(OpUse(str(op), str(dtype)) for op, dtype in json.loads(row[3]))


def _localized(row: Sequence[Any]) -> Localized:
    return Localized(
        finding=row[1],
        result_key=row[2],
        status=row[3],
        op=row[4],
        node=json.loads(row[5]) if row[5] else None,
        evidence=row[6],
        repro=row[7],
        seconds=row[8],
    )
