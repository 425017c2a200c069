"""Crash isolation with real misbehaving backends: each costs one result, never the run."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace
from pathlib import Path

from conformance.backends import select_backends
from conformance.engine import RunOptions, run
from conformance.execute import ProcessExecutor
from conformance.export import ArtifactCache, build_artifact
from conformance.generate import discover_cases, draw_instances, select_cases
from conformance.model import Outcome
from conformance.store import Store

from .misbehaving import Abort, BrokenLibrary, Gated, Hang, Hog, Segfault, SlowToPrepare, Tally


def test_crash_hang_and_memory_blowup_each_cost_one_result(options: RunOptions) -> None:
    reference = select_backends("reference")
    opts = replace(options, cases="add,relu,exp", max_examples=2, timeout=10.0, memory_limit_mb=1536)
    summary = run(opts, backends=[*reference, Segfault(), Abort(), Hang(), Hog()])

    by = {}
    for r in summary.results:
        by.setdefault((r.backend, r.case), []).append(r)
    for name, expected in (
        ("segfault", Outcome.CRASH),
        ("abort", Outcome.CRASH),
        ("hang", Outcome.TIMEOUT),
        ("hog", Outcome.CRASH),
    ):
        add = by[(name, "add")]
        assert add and all(r.outcome is expected for r in add), [(r.outcome, r.message) for r in add]
        # the worker was replaced and the other cases still ran and passed
        for other in ("relu", "exp"):
            assert all(r.outcome is Outcome.PASS for r in by[(name, other)]), by[(name, other)]
    assert all(r.outcome is Outcome.PASS for r in summary.results if r.backend == "reference")

    segv = by[("segfault", "add")][0].message
    assert "SIGSEGV" in segv and "Fatal Python error" in segv, segv
    assert "the backend's chatter on stdout" in segv, "a worker's stdout goes to its log, not the run's console"
    assert "SIGABRT" in by[("abort", "add")][0].message
    assert "the backend's last words" in by[("abort", "add")][0].message
    assert "no answer after 10 s" in by[("hang", "add")][0].message
    hog = by[("hog", "add")][0].message
    assert "memory limit" in hog or "SIGABRT" in hog or "SIGKILL" in hog, hog  # MemoryError, or a C allocator giving up

    with Store(opts.db) as store:
        kept = store.results(summary.run_id)
        assert store.run(summary.run_id).status == "complete"
    assert len(kept) == len(summary.results) == 2 * 3 * 5


def test_in_process_execution_gives_the_same_verdicts(options: RunOptions) -> None:
    isolated = run(replace(options, cases="relu,matmul"))
    direct = run(replace(options, cases="relu,matmul", isolate=False))
    assert isolated.results and all(r.outcome is Outcome.PASS for r in isolated.results)
    assert [(r.case_id, r.backend, r.outcome) for r in isolated.results] == [
        (r.case_id, r.backend, r.outcome) for r in direct.results
    ]


def test_workers_run_while_the_driver_goes_on(options: RunOptions, tmp_path: Path) -> None:
    """`submit` starts the backend and returns while it runs: the gated backend starts before anything is
    collected and finishes only after the driver opens the gate, which an executor that ran the backend inside
    `submit` would never reach."""
    (case,) = select_cases(discover_cases(), "add")
    instance = draw_instances(case, seed=0, max_examples=1)[0]
    artifact = build_artifact(instance, "dynamo", options.opset, ArtifactCache(options.cache_dir))
    gated = Gated(tmp_path / "gate")
    reference = select_backends("reference")
    executor = ProcessExecutor(timeout=60)
    try:
        collect = executor.submit([gated], artifact)
        started, deadline = tmp_path / "gate.started", time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert started.exists(), "the backend did not start before its result was collected"
        # Submitted again while the gated backend still waits: queued behind it, while a free backend runs
        # the second submission at once.
        second = executor.submit([gated, *reference], artifact)
        assert executor._in_flight.keys() == {"gated", "reference"}
        gated.gate.touch()
        (execution,) = collect()
        assert execution.failure is None, execution.message
        assert execution.outputs is not None and execution.outputs[0].shape == artifact.oracles.source[0].shape
        again, ran = second()  # the gate is open: the queued one runs now
        assert again.failure is None and ran.failure is None, (again.message, ran.message)
    finally:
        executor.close()


def test_a_backend_runs_ahead_while_a_slow_one_works(options: RunOptions, tmp_path: Path) -> None:
    """With submissions uncollected, each backend works through its own queue: the fast one has run every
    submission while the slow one still holds the first, and the results come back per submission."""
    (case,) = select_cases(discover_cases(), "add")
    instance = draw_instances(case, seed=0, max_examples=1)[0]
    artifact = build_artifact(instance, "dynamo", options.opset, ArtifactCache(options.cache_dir))
    gated, tally = Gated(tmp_path / "gate"), Tally(tmp_path / "tally")
    executor = ProcessExecutor(timeout=60)
    try:
        collects = [executor.submit([gated, tally], artifact) for _ in range(3)]

        def ran() -> int:
            return len(tally.tally.read_text().splitlines()) if tally.tally.exists() else 0

        seen_at_opening: list[int] = []

        def open_once_tallied() -> None:
            deadline = time.monotonic() + 60
            while ran() < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            seen_at_opening.append(ran())
            gated.gate.touch()

        # Collecting the first waits on the gated backend; meanwhile the tally works through its queue, and
        # only then is the gate opened.
        threading.Thread(target=open_once_tallied, daemon=True).start()
        for collect in collects:
            slow, fast = collect()
            assert slow.failure is None and fast.failure is None, (slow.message, fast.message)
        assert seen_at_opening == [3], "the fast backend waited for the slow one"
        assert len(tally.tally.read_text().splitlines()) == 3
    finally:
        executor.close()


def test_a_worker_that_dies_starting_is_a_load_failure_for_its_backend_only(options: RunOptions) -> None:
    reference = select_backends("reference")
    summary = run(replace(options, cases="relu", max_examples=2), backends=[*reference, BrokenLibrary()])
    broken = [r for r in summary.results if r.backend == "broken-library"]
    assert len(broken) == 2 and all(r.outcome is Outcome.LOAD_FAIL for r in broken), broken
    assert "worker for broken-library did not start (killed by signal SIGSEGV)" in broken[0].message
    assert all(r.outcome is Outcome.PASS for r in summary.results if r.backend == "reference")


def test_sigterm_ends_a_run_like_ctrl_c_and_leaves_no_worker_behind(tmp_path) -> None:
    """A cancelled CI job sends SIGTERM: the run keeps what it recorded and its worker processes go with it."""
    import signal
    import subprocess
    import time

    from .conftest import BIN

    db = tmp_path / "r.sqlite"
    proc = subprocess.Popen(
        [str(BIN / "conformance"), "run", "--cases", "onnx-node/*", "--backends", "reference,onnxruntime",
         "--db", str(db), "--quiet", "--expectations", "none"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not db.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)  # workers started, results arriving
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in err, (proc.returncode, err[-1500:])
    time.sleep(1)
    left = subprocess.run(
        ["ps", "-o", "pid=,args=", "-g", str(proc.pid)], capture_output=True, text=True
    ).stdout.splitlines()
    alive = [line for line in left if "<defunct>" not in line]  # exited, waiting for init to reap it
    assert not alive, f"processes of the run's group still alive: {alive}"
    with Store(db) as store:
        assert store.run("latest").status == "interrupted"


def test_a_timed_out_backend_leaves_no_child_process_behind(options: RunOptions, tmp_path) -> None:
    import os
    import time

    from .misbehaving import HangInAChild

    pid_file = tmp_path / "child.pid"
    summary = run(replace(options, cases="add", max_examples=1, timeout=5.0), backends=[HangInAChild(pid_file)])
    assert {r.outcome for r in summary.results} == {Outcome.TIMEOUT}, summary.results
    child = int(pid_file.read_text())
    time.sleep(0.5)
    try:
        os.kill(child, 0)
        state = open(f"/proc/{child}/stat").read().split()[2] if os.path.exists(f"/proc/{child}/stat") else "?"
        assert state == "Z", f"the backend's child {child} still runs (state {state})"
    except ProcessLookupError:
        pass  # gone, as it should be


def test_a_model_whose_prepare_timed_out_is_not_sent_again(options: RunOptions) -> None:
    """A compile past the timeout runs past it again: each value mode, and every later run, would wait the whole
    timeout for the same answer. A hang while running (values matter there) is tried again."""
    (case,) = select_cases(discover_cases(), "add")
    instance = draw_instances(case, seed=0, max_examples=1)[0]
    artifact = build_artifact(instance, "dynamo", options.opset, ArtifactCache(options.cache_dir))
    executor = ProcessExecutor(timeout=3)
    try:
        slow, hang = SlowToPrepare(), Hang()
        first = executor.submit([slow, hang], artifact)()
        assert [e.failure for e in first] == [Outcome.TIMEOUT, Outcome.TIMEOUT], first
        assert [e.message for e in first] == ["no answer after 3 s; worker killed"] * 2
        started = time.perf_counter()
        again = executor.submit([slow], artifact)()[0]
        assert again.failure is Outcome.TIMEOUT and time.perf_counter() - started < 1, again
        assert again.message.startswith("no answer after 3 s preparing this model before; not sent again"), again
        assert "prepare-timeouts" in again.message
        # The run-time hang is sent again (and hangs again).
        assert executor.submit([hang], artifact)()[0].message == "no answer after 3 s; worker killed"
    finally:
        executor.close()
    # A longer timeout than the one it ran past tries it again, in a later run too.
    patient = ProcessExecutor(timeout=4)
    try:
        assert patient.submit([SlowToPrepare()], artifact)()[0].message == "no answer after 4 s; worker killed"
    finally:
        patient.close()


def test_a_killed_driver_leaves_no_worker_and_no_log_behind(tmp_path) -> None:
    """SIGKILL (a CI runner's hard limit) gives the driver no chance to stop its workers or delete their logs:
    each worker sees its pipe close, deletes its own log and exits, instead of leaving one file per backend
    per killed run in the temp folder."""
    import os
    import signal
    import subprocess
    import time

    from .conftest import BIN

    db, tmp = tmp_path / "r.sqlite", tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen(
        [str(BIN / "conformance"), "run", "--cases", "onnx-node/*", "--backends", "reference,onnxruntime",
         "--db", str(db), "--quiet", "--expectations", "none"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, TMPDIR=str(tmp)),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while len(list(tmp.glob("conformance-*.log"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    logs = sorted(p.name for p in tmp.glob("conformance-*.log"))
    assert len(logs) == 2, f"expected a log per backend's worker, found {logs}"
    time.sleep(2)  # requests in flight
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    deadline = time.monotonic() + 30
    while list(tmp.glob("conformance-*.log")) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = sorted(p.name for p in tmp.glob("conformance-*.log"))
    assert not left, f"workers' logs left after the driver was killed: {left}"


def test_an_answer_that_waited_for_a_busy_driver_is_not_a_timeout(options: RunOptions) -> None:
    """The driver can be busy past the timeout (waiting for a slow export) while a worker answered at once: the
    answer waiting in the pipe is the result (a nightly reported all nine backends timed out together on one
    model that way). A worker whose own prepare and run took longer than the timeout is still a timeout."""
    from .misbehaving import Slow

    (case,) = select_cases(discover_cases(), "add")
    instance = draw_instances(case, seed=0, max_examples=1)[0]
    artifact = build_artifact(instance, "dynamo", options.opset, ArtifactCache(options.cache_dir))
    executor = ProcessExecutor(timeout=2)
    try:
        fast, slow = Slow(0.0), Slow(2.5)
        fast.name, slow.name = "fast", "slow"
        executor.submit([fast, slow], artifact)()  # workers started, imports done
        collect = executor.submit([fast, slow], artifact)
        time.sleep(4)  # the driver busy elsewhere; both workers have answered by now
        quick, late = collect()
        assert quick.failure is None and quick.outputs is not None, quick
        assert late.failure is Outcome.TIMEOUT, late
        assert re.fullmatch(r"no answer after 2 s \(it came after [2-3]\.\d s; the worker was kept\)", late.message), (
            late
        )
        # The late worker was not killed: it answered, and answers the next request.
        again = executor.submit([fast], artifact)()[0]
        assert again.failure is None, again
    finally:
        executor.close()
