"""Every parser and loader, fuzzed: bad input is a typed error from the API, exit 2 with one line from the
CLI, and nothing already recorded is lost.

Example counts come from the Hypothesis profile (`ci` by default, `thorough`
on demand; see conftest.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from conformance import cli
from conformance.certification import profile as profiles
from conformance.certification.bundle import summarize
from conformance.execute import ProcessExecutor
from conformance.expectations import ExpectationError, dumps, load, parse
from conformance.export import external_data_problem
from conformance.model import Artifact, Oracles, Outcome
from conformance.store import Store, StoreError

from .conftest import make_result

# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _folder() -> Iterator[Path]:
    """A fresh folder per example (pytest's tmp_path is per test, not per Hypothesis example)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as d:
        yield Path(d)


def _cli(*argv: str) -> tuple[int, str, str]:
    """The CLI in this process, as `conformance ARGV` would run it: exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse's --help and --version
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def _one_line_usage_error(code: int, err: str, argv: tuple[str, ...]) -> None:
    assert code == 2, f"conformance {' '.join(argv)}: exit {code}, expected 2 (usage or input error); stderr: {err!r}"
    assert "Traceback" not in err, f"conformance {' '.join(argv)} printed a traceback: {err[-2000:]}"
    assert err.count("\n") == 1 and err.startswith("error: "), f"conformance {' '.join(argv)}: not one line: {err!r}"


# --------------------------------------------------------------------------- expectation files

#: Any text TOML can hold: control characters (ESC, NUL, DEL), quotes, backslashes, astral characters.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=80)


@given(backend=TEXT, case=TEXT, reason=TEXT, exporter=st.text(st.characters(exclude_categories=("Cs",))))
def test_any_string_round_trips_through_the_expectations_writer(
    backend: str, case: str, reason: str, exporter: str
) -> None:
    entry = {"backend": backend, "case": case, "outcome": "mismatch", "reason": reason, "exporter": exporter}
    (parsed,) = parse(dumps([entry], comment="drafted\x1b[31m\x00"))
    assert (parsed.backend, parsed.case, parsed.reason, parsed.exporter) == (backend, case, reason, exporter)


@given(message=st.text(st.characters(exclude_categories=("Cs",)), max_size=300))
def test_expectations_update_writes_a_valid_file_whatever_the_backend_printed(message: str) -> None:
    with _folder() as d:
        db, target = d / "r.sqlite", d / "known.toml"
        target.write_text(
            '# reviewed by hand\n[[expectation]]\nbackend = "tvm"\ncase = "x"\noutcome = "crash"\nreason = "kept"\n'
        )
        with Store(db, create=True) as store:
            store.begin_run("r1", "2026-01-01T00:00:00", seed=0, environment={}, options={})
            store.record(make_result("math/exp[1]", Outcome.MISMATCH, message=message, run_id="r1"))
        code, _out, err = _cli("expectations", "update", "--from", "r1", "--file", str(target), "--db", str(db))
        assert code == 0, err
        text = target.read_text()
        entries = load(target)
        assert text.startswith("# reviewed by hand\n"), "what was in the file stays as written"
        assert entries[0].reason == "kept"
        failure = make_result("math/exp[1]", Outcome.MISMATCH, message=message, run_id="r1")
        assert entries[-1].matches(failure), f"the entry written for the finding must match its result: {entries[-1]}"


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
_KEYS = st.sampled_from(
    ["backend", "case", "outcome", "reason", "link", "backend_versions", "opset", "exporter", "dtype", "flaky"]
)
_ENTRY = st.dictionaries(_KEYS | TEXT, _VALUES, max_size=8)


def _toml_of(data: Any) -> str:
    import tomlkit

    try:
        return tomlkit.dumps(data)
    except (ValueError, TypeError):  # None and friends have no TOML form
        return json.dumps(data, default=str)  # not TOML at all: the parser must still say so in one line


@given(
    doc=st.one_of(
        st.dictionaries(st.just("expectation"), st.lists(_ENTRY, max_size=3)),
        st.dictionaries(TEXT, _VALUES, max_size=3),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    )
)
def test_a_malformed_expectations_file_is_a_typed_error(doc: Any) -> None:
    text = doc if isinstance(doc, str) else _toml_of(doc)
    try:
        entries = parse(text, "fuzz.toml")
    except ExpectationError as exc:
        assert str(exc).startswith("fuzz.toml"), f"the message names the file: {exc}"
        return
    for e in entries:
        assert isinstance(e.backend, str) and isinstance(e.case, str) and e.outcomes


@pytest.mark.parametrize(
    "text",
    [
        '[[expectation]]\nbackend = 3\ncase = "x"\noutcome = "crash"\nreason = "r"\n',
        '[[expectation]]\nbackend = "b"\ncase = "x"\noutcome = "crash"\nreason = "r"\nwhy = "unknown key"\n',
        '[[expectation]]\nbackend = "b"\ncase = "x"\noutcome = "pass"\nreason = "r"\n',
        "[[expectation]\n",
        "\x00\x1b\x7f",
    ],
)
def test_expectations_check_of_a_bad_file_is_exit_2_in_one_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    argv = ("expectations", "check", str(path))
    _one_line_usage_error(*_cli(*argv)[::2], argv)


def test_expectations_check_names_entries_that_match_nothing(tmp_path: Path) -> None:
    path = tmp_path / "dead.toml"
    path.write_text(
        dumps([
            {"backend": "onnxruntime", "case": "activation/relu", "outcome": "crash", "reason": "applies"},
            {"backend": "onnxruntime", "case": "no/such_case*", "outcome": "crash", "reason": "never applies"},
            {"backend": "no-such-backend", "case": "relu", "outcome": "crash", "reason": "never applies"},
        ])
    )  # fmt: skip
    code, out, _err = _cli("expectations", "check", str(path))
    assert code == 1
    assert "case 'no/such_case*' matches no case in the library" in out
    assert "backend 'no-such-backend' matches no installed backend" in out
    assert "2 that match nothing" in out


# --------------------------------------------------------------------------- profiles


@pytest.fixture(scope="module")
def real_profile() -> dict[str, Any]:
    return dict(profiles.load("models").document)


def _mutations() -> st.SearchStrategy[tuple[str, ...]]:
    return st.tuples(st.sampled_from(["drop", "replace"]), st.integers(0, 10_000), st.integers(0, 10_000))


def _mutate(profile: dict[str, Any], how: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """Drop or replace one node, chosen by index, anywhere in a copy of the profile."""
    data = json.loads(json.dumps(profile))
    nodes: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            nodes.append((node, key))
            walk(child)

    walk(data)
    kind, pick, _ = how
    parent, key = nodes[pick % len(nodes)]
    if kind == "drop":
        del parent[key]
    else:
        parent[key] = value
    return data


@given(how=_mutations(), value=_VALUES)
@example(how=("replace", 381, 0), value=float("inf"))  # found by the thorough profile: inf passed validate
def test_a_damaged_profile_is_a_profile_error_or_fully_usable(
    real_profile: dict[str, Any], how: tuple[Any, ...], value: Any
) -> None:
    data = _mutate(real_profile, how, value)
    try:
        profile = profiles.Profile.from_document(data, "fuzz.json")
    except profiles.ProfileError as exc:
        assert str(exc).startswith("fuzz.json: ")
        return
    # What validate accepts, everything downstream can read.
    profile.describe()
    for entry in profile.instances:
        entry.files()
    summarize(profile, ["pass"] * len(profile.instances))


@given(data=st.binary(max_size=300))
def test_profile_files_of_any_bytes_are_a_profile_error(data: bytes) -> None:
    with _folder() as d:
        path = d / "p.json"
        path.write_bytes(data)
        with pytest.raises(profiles.ProfileError):
            profiles.load(path)


# --------------------------------------------------------------------------- models


def _model_bytes() -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["s"]), helper.make_node("Relu", ["s"], ["y"])],
                              "g", [x], [y], [w])  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]).SerializeToString()


@pytest.fixture(scope="module")
def executor() -> Iterator[ProcessExecutor]:
    """One worker per backend for every example: a malformed model that crashes a backend costs its worker."""
    ex = ProcessExecutor(timeout=60)
    yield ex
    ex.close()


@given(
    cut=st.integers(0, 10_000),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=4),
)
def test_a_truncated_or_corrupted_model_is_a_recorded_outcome_never_an_exception(
    executor: ProcessExecutor, cut: int, flips: list[tuple[int, int]]
) -> None:
    from conformance.backends import select_backends

    good = bytearray(_model_bytes())
    data = good[: cut % (len(good) + 1)]
    for at, xor in flips:
        if data:
            data[at % len(data)] ^= xor
    assume(bytes(data) != bytes(good))
    backends = select_backends("onnxruntime,reference")
    with _folder() as d:
        path = d / "model.onnx"
        path.write_bytes(bytes(data))
        artifact = Artifact(
            "k", d, "prebuilt", 18, (np.ones((2, 3), np.float32),), Oracles(source=(), truth=None, spec=None), "", False
        )
        executions = executor.submit(backends, artifact)()
    for backend, execution in zip(backends, executions, strict=True):
        if execution.failure is None:
            assert execution.outputs is not None  # a flip in the weights can leave a valid model
            continue
        assert execution.failure in (Outcome.LOAD_FAIL, Outcome.RUN_ERROR, Outcome.CRASH, Outcome.UNSUPPORTED), (
            backend.name,
            execution,
        )
        assert execution.message, f"{backend.name}: a failure says why"


def _external_model(location: str) -> onnx.ModelProto:
    model = onnx.load_from_string(_model_bytes())
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value=location)
    return model


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("../secret.bin", "outside the model's folder"),
        ("data/../../secret.bin", "outside the model's folder"),
        ("/etc/passwd", "outside the model's folder"),
        ("link.bin", "resolves outside the model's folder"),
    ],
)
def test_external_data_outside_the_models_folder_is_refused(tmp_path: Path, location: str, why: str) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "secret.bin").write_bytes(bytes(24))
    (folder / "link.bin").symlink_to(tmp_path / "secret.bin")
    problem = external_data_problem(_external_model(location), folder)
    assert problem is not None and why in problem, problem
    inside = folder / "weights.bin"
    inside.write_bytes(bytes(24))
    assert external_data_problem(_external_model("weights.bin"), folder) is None


def test_a_prebuilt_model_with_external_data_is_skipped_with_the_reason(tmp_path: Path) -> None:
    """A pack's model is held as bytes: its external data would be read relative to the artifact cache."""
    from conformance.engine import RunOptions, run
    from conformance.model import Case, Prebuilt

    model = _external_model("../../../../etc/passwd").SerializeToString()
    item = Prebuilt(model, (np.ones((2, 3), np.float32),), (np.ones((2, 3), np.float32),), label="evil")
    case = Case(name="evil", category="fuzz", draw=lambda _d: None, prebuilt=lambda: [item])
    summary = run(
        RunOptions(backends="reference", db=tmp_path / "r.sqlite", cache_dir=tmp_path / "c", expectations=None),
        cases=[case],
    )
    (result,) = summary.results
    assert result.outcome is Outcome.SKIP and "outside the model's folder; refused" in result.message


# --------------------------------------------------------------------------- stores


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "s.sqlite"
    with Store(path, create=True) as store:
        store.begin_run("r1", "2026-01-01T00:00:00", seed=0, environment={}, options={})
        store.record_many([make_result(f"math/exp[{i}]", run_id="r1", message="x" * i) for i in range(40)])
        store.finish_run("r1", "2026-01-01T00:01:00")
    with sqlite3.connect(path) as db:  # everything in the main file, so damage to it is damage to the data
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@given(
    cut=st.one_of(st.none(), st.integers(0, 200_000)),
    flips=st.lists(st.tuples(st.integers(0, 200_000), st.integers(1, 255)), max_size=6),
)
@example(cut=None, flips=[(3695, 7)])  # found: a damaged schema's text put a newline in the error
@example(cut=None, flips=[(40237, 128)])  # found: a damaged header failed to decode as UTF-8 on open
@example(cut=None, flips=[(134649, 1)])  # found: a damaged cell read back as bytes, not text, broke `diff`
def test_a_corrupted_or_truncated_store_is_exit_2_in_one_line_and_left_as_it_was(
    real_store: Path, cut: int | None, flips: list[tuple[int, int]]
) -> None:
    with _folder() as d:
        path = d / "s.sqlite"
        data = bytearray(real_store.read_bytes())
        if cut is not None:
            data = data[: cut % (len(data) + 1)]
        for at, xor in flips:
            if data:
                data[at % len(data)] ^= xor
        path.write_bytes(bytes(data))
        for argv in (
            ("report", "latest", "--db", str(path), "--out", str(d / "out"), "--format", "json"),
            ("diff", "r1", "latest", "--db", str(path)),
        ):
            code, _out, err = _cli(*argv)
            if code != 2:  # the damage missed what this command reads
                assert code in (0, 1) and "Traceback" not in err, (argv, code, err)
            else:
                _one_line_usage_error(code, err, argv)
        assert path.read_bytes() == bytes(data), "a read must not change the file it was given"


def test_a_store_from_a_newer_schema_or_another_program_is_refused_untouched(tmp_path: Path) -> None:
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (t TEXT)")
    for path, why in ((newer, "schema version 99"), (other, "holds no results store")):
        before = path.read_bytes()
        argv = ("report", "latest", "--db", str(path), "--out", str(tmp_path / "o"))
        code, _out, err = _cli(*argv)
        _one_line_usage_error(code, err, argv)
        assert why in err
        assert path.read_bytes() == before
    assert not (tmp_path / "o").exists()


def test_a_read_of_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    for argv in (
        ("report", "latest", "--db", str(tmp_path / "nothing.sqlite"), "--out", str(tmp_path / "o")),
        ("diff", "a", "b", "--db", str(tmp_path / "nothing.sqlite")),
        ("expectations", "update", "--from", "latest", "--file", str(tmp_path / "k.toml"), "--db", str(tmp_path / "nothing.sqlite")),
        ("expectations", "prune", "--from", "latest", "--file", str(tmp_path / "k.toml"), "--db", str(tmp_path / "nothing.sqlite")),
        ("run", "--resume", "latest", "--db", str(tmp_path / "nothing.sqlite")),
    ):  # fmt: skip
        if argv[1] == "prune":
            (tmp_path / "k.toml").write_text("")
        code, _out, err = _cli(*argv)
        _one_line_usage_error(code, err, argv)
        assert "nothing.sqlite" in err
        assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["k.toml"]), "a read created a file"


def test_a_store_locked_by_another_writer_waits_then_fails_in_one_line(real_store: Path, tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    shutil.copyfile(real_store, path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with Store(path) as reader:  # WAL: a reader is not blocked by a writer
            assert len(reader.results("r1")) == 40
        with Store(path, create=True, timeout=0.5) as writer, pytest.raises(StoreError, match="cannot write"):
            writer.begin_run("r2", "2026-01-02T00:00:00", seed=0, environment={}, options={})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Store(path, create=True) as writer:  # once the lock is gone the write goes through, nothing lost
        writer.begin_run("r2", "2026-01-02T00:00:00", seed=0, environment={}, options={})
        assert len(writer.results("r1")) == 40


# --------------------------------------------------------------------------- CLI values

_BAD_VALUES = st.one_of(
    st.tuples(st.just("--max-examples"), st.integers(max_value=0).map(str) | st.sampled_from(["x", "1.5", "nan", ""])),
    st.tuples(st.just("--timeout"), st.floats(max_value=0).map(str) | st.sampled_from(["nan", "inf", "-inf", "s"])),
    st.tuples(st.just("--memory-limit"), st.integers(max_value=-1).map(str)),
    st.tuples(st.just("--opset"), (st.integers(max_value=6) | st.integers(min_value=100)).map(str)),
    st.tuples(st.just("--backends"), st.from_regex(r"[a-z]{3,12}", fullmatch=True).map(lambda s: f"nosuch-{s}")),
    st.tuples(st.just("--cases"), st.from_regex(r"[a-z_]{3,12}", fullmatch=True).map(lambda s: f"nosuch/{s}*")),
    st.tuples(st.just("--exporters"), st.from_regex(r"[a-z]{3,10}", fullmatch=True).filter(
        lambda s: s not in ("dynamo", "torchscript"))),
)  # fmt: skip


@given(bad=_BAD_VALUES, command=st.sampled_from(["run", "nightly"]))
def test_a_bad_run_or_nightly_value_is_exit_2_in_one_line(bad: tuple[str, str], command: str) -> None:
    with _folder() as d:
        # The session's warm cache: a fresh one would rebuild the onnx-node pack's store on every example.
        cache = os.environ["CONFORMANCE_CACHE_DIR"]
        argv = (command, bad[0], bad[1], "--db", str(d / "r.sqlite"), "--cache-dir", cache)
        if command == "nightly":
            argv += ("--out-root", str(d / "reports"))
        code, _out, err = _cli(*argv)
        _one_line_usage_error(code, err, argv)
        assert not (d / "r.sqlite").exists() or bad[0] in ("--backends", "--cases", "--exporters"), (
            "a refused value recorded a run"
        )


@given(
    argv=st.sampled_from([
        ("coverage", "--max-examples"), ("export-cases", "--max-examples"), ("verify", "x.tar.gz", "--rerun"),
        ("profile", "freeze", "p", "--per-case"), ("profile", "freeze", "p", "--min-pass-rate"),
        ("certify", "--backend", "onnxruntime", "--profile", "core", "--out", "b.tar.gz", "--timeout"),
    ]),
    value=st.sampled_from(["-1", "-0.5", "nan", "abc", "1e400", "2"]),
)  # fmt: skip
def test_a_bad_count_anywhere_is_exit_2_in_one_line(argv: tuple[str, ...], value: str) -> None:
    assume(not (value == "2" and argv[-1] != "--min-pass-rate"))  # 2 is a fine count
    full = (*argv, value) + (("out",) if argv[0] == "export-cases" else ())
    code, _out, err = _cli(*full)
    _one_line_usage_error(code, err, full)
