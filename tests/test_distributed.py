"""Sweeps on a real Dask cluster: a LocalCluster, its scheduler and two worker processes on
loopback. The results equal a local run's, and killing a worker mid-sweep loses nothing."""

import os
import signal
import textwrap
import threading
import time

import pytest

distributed = pytest.importorskip("distributed", reason="needs initlab[distributed]")

from initlab.experiments import load_spec  # noqa: E402
from initlab.experiments.distributed import DaskExecutor  # noqa: E402
from initlab.experiments.runner import run_sweep  # noqa: E402
from initlab.experiments.store import ResultStore  # noqa: E402

SPEC = """
[sweep]
seeds = 6
iterations = 1500
record_every = 100

[model]
depth = [1, 2]
width = 8

[[init]]
name = "random"
scale = { logspace = [-1, 0, 2] }

[[init]]
name = "he"

[train]
learning_rate = 0.3
"""


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=50,
    ) as local:  # fmt: skip
        yield local


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("dask") / "spec.toml"
    path.write_text(textwrap.dedent(SPEC))
    return load_spec(path)


@pytest.fixture(scope="module")
def local_results(spec, tmp_path_factory):
    store = ResultStore(tmp_path_factory.mktemp("local") / "local.db")
    run_sweep(spec, store)
    return {row.key: (row.final_cost, row.train_accuracy) for row in store.rows()}


def test_cluster_sweep_equals_local_sweep(cluster, spec, local_results, tmp_path):
    store = ResultStore(tmp_path / "dask.db")
    executor = DaskExecutor(cluster.scheduler_address)
    try:
        tally = run_sweep(spec, store, executor, max_batch=3)
    finally:
        executor.close()
    assert tally.done == tally.total == 36
    assert {row.key: (row.final_cost, row.train_accuracy) for row in store.rows()} == local_results


def test_killing_a_worker_mid_sweep_loses_nothing(cluster, spec, local_results, tmp_path):
    store = ResultStore(tmp_path / "killed.db")
    executor = DaskExecutor(cluster.scheduler_address)
    pids = executor.client.run(os.getpid)
    errors: list[BaseException] = []

    def sweep():
        try:
            run_sweep(spec, store, executor, max_batch=2)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=sweep)
    thread.start()
    deadline = time.time() + 60
    while time.time() < deadline and len(store) < 4:
        time.sleep(0.05)
    victim = next(iter(pids.values()))
    os.kill(victim, signal.SIGKILL)  # the worker process dies; its nanny starts a new one
    stored_at_kill = len(store)
    thread.join(timeout=240)
    executor.close()
    assert not thread.is_alive()
    assert errors == []
    assert stored_at_kill < 36  # the kill really happened mid-sweep
    assert 4 <= len(local_results) == len(store)
    assert {row.key: (row.final_cost, row.train_accuracy) for row in store.rows()} == local_results


def test_bad_cluster_address():
    with pytest.raises(ValueError, match=r"tcp://HOST:PORT. Received: 'localhost:1'"):
        DaskExecutor("localhost:1")
