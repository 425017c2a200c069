"""Runs on a real Dask cluster (a LocalCluster of worker processes): the DESIGN's way past one machine.

Each worker declares the backends it has as Dask resources; the run routes a
backend's work to those workers only, and a backend that kills its worker or
hangs costs one result.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import dask
import pytest
from distributed import Client, LocalCluster

from conformance.backends import select_backends
from conformance.engine import RunOptions, run
from conformance.execute import DaskExecutor
from conformance.model import Outcome

from .misbehaving import Hang, Segfault


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    # A crash is not retried on another worker: it is the backend's result, once.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            resources={"onnxruntime": 1, "reference": 1, "segfault": 1, "hang": 1},
        ) as local:
            yield local


def test_a_run_on_dask_workers_gives_the_local_verdicts(options: RunOptions, cluster: Any) -> None:
    local = run(replace(options, cases="relu,matmul,sum"))
    distributed = run(replace(options, cases="relu,matmul,sum", dask=cluster.scheduler_address))
    assert [(r.case_id, r.backend, r.outcome) for r in distributed.results] == [
        (r.case_id, r.backend, r.outcome) for r in local.results
    ]
    assert len(distributed.results) == 3 * 2 * options.max_examples, "3 cases, 2 backends"
    assert all(r.outcome is Outcome.PASS for r in distributed.results)
    assert all(r.metrics.elements > 0 for r in distributed.results)


def test_a_crash_or_a_hang_on_a_worker_costs_one_result(options: RunOptions, cluster: Any) -> None:
    reference = select_backends("reference")
    with Client(cluster) as client:
        executor = DaskExecutor(client, timeout=15)
        summary = run(
            replace(options, cases="add,relu", max_examples=1),
            backends=[*reference, Segfault(), Hang()],
            executor=executor,
        )
    by = {(r.backend, r.case): r for r in summary.results}
    assert by[("segfault", "add")].outcome is Outcome.CRASH, by[("segfault", "add")]
    assert "worker died" in by[("segfault", "add")].message
    assert by[("hang", "add")].outcome is Outcome.TIMEOUT, by[("hang", "add")]
    for backend in ("reference", "segfault", "hang"):
        assert by[(backend, "relu")].outcome is Outcome.PASS, by[(backend, "relu")]
    assert by[("reference", "add")].outcome is Outcome.PASS


def test_a_backend_no_worker_offers_is_a_load_failure(options: RunOptions, cluster: Any) -> None:
    summary = run(
        replace(options, cases="relu", max_examples=1, backends="onnxruntime-noopt", dask=cluster.scheduler_address)
    )
    (result,) = summary.results
    assert result.outcome is Outcome.LOAD_FAIL
    assert "no Dask worker declares the resource 'onnxruntime-noopt'" in result.message


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path: Any) -> None:
    from .conftest import conformance

    proc = conformance("run", "--cases", "relu", "--max-examples", "1", "--dask", "tcp://127.0.0.1:9", "--db",
                       str(tmp_path / "r.sqlite"), timeout=120)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "cannot use the Dask scheduler 'tcp://127.0.0.1:9'" in proc.stderr and "Traceback" not in proc.stderr
