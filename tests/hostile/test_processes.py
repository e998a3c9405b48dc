"""``initlab sweep --workers 2`` stopped by SIGTERM, SIGKILL or Ctrl-C leaves no worker behind.

Workers die with their parent (``prctl(PR_SET_PDEATHSIG)`` on Linux) and ignore Ctrl-C; the
parent turns SIGTERM into the Ctrl-C path: the runs already stored are kept, the workers are
stopped, one line says so, and the exit code is 130. Each case waits until both workers exist,
then kills the sweep and looks for any of them still running (``/proc``; a zombie counts as
gone: it runs nothing and only waits for its new parent to reap it).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing, suppress
from pathlib import Path

import pytest

from initlab.cli.common import EXIT_INTERRUPTED
from initlab.experiments import load_spec
from initlab.experiments.runner import run_sweep
from initlab.experiments.store import ResultStore

from .conftest import CLI_CODE, limit_memory

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

SPEC = """
[sweep]
name = "long"
seeds = 8
iterations = 6000
record_every = 2000

[model]
depth = [1, 2]
width = 16

[[init]]
name = "he"

[train]
learning_rate = 0.1
"""
N_RUNS = 16  # 2 depths × 8 seeds, in batches of 2: eight batches for two workers (~10 s)


def children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (from /proc/PID/stat)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def _stat(pid: int) -> list[str] | None:
    """State and parent pid of ``pid``: fields 3 and 4 of /proc/PID/stat (after the name)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()[:2]


def start_sweep(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """The sweep, its stderr going to ``stderr.txt``: a pipe would be held open by orphaned
    workers, and reading it would hang instead of failing."""
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    store = tmp_path / "runs.db"
    with open(tmp_path / "stderr.txt", "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", CLI_CODE, "sweep", str(spec), "--workers", "2",
             "--max-batch", "2", "--store", str(store)],
            stdout=subprocess.DEVNULL, stderr=stderr, cwd=tmp_path, preexec_fn=limit_memory(),
        )  # fmt: skip
    return proc, spec, store


def wait_for_workers(proc: subprocess.Popen[bytes], n: int = 2, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = children(proc.pid)
        if len(workers) >= n:
            return workers
        assert proc.poll() is None, "the sweep ended before its workers started"
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"the sweep started no {n} workers in {timeout} s")


def assert_all_gone(workers: list[int], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(running(w) for w in workers):
        time.sleep(0.05)
    alive = [w for w in workers if running(w)]
    for pid in alive:  # never leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers {alive} outlived the sweep"


def wait_for_a_stored_batch(store: Path, timeout: float = 60) -> None:
    """Until the store holds a finished batch, so that stopping the sweep has runs to keep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(ValueError):  # not yet a store: the sweep is creating it
            if store.exists() and len(ResultStore(store, read_only=True)) >= 2:
                return
        time.sleep(0.05)
    pytest.fail(f"no batch was stored in {timeout} s")


def integrity(store: Path) -> str:
    with closing(sqlite3.connect(store)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_and_ctrl_c_stop_the_workers_and_keep_the_stored_runs(
    tmp_path: Path, signum: int
) -> None:
    proc, spec, store = start_sweep(tmp_path)
    workers = wait_for_workers(proc)
    wait_for_a_stored_batch(store)
    if signum == signal.SIGINT:  # Ctrl-C reaches every process of the foreground group
        for pid in [proc.pid, *workers]:
            os.kill(pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signum)
    proc.wait(timeout=60)
    assert_all_gone(workers)
    stderr = (tmp_path / "stderr.txt").read_text()
    assert proc.returncode == EXIT_INTERRUPTED, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("Interrupted: ")]
    assert len(lines) == 1, stderr
    kept = len(ResultStore(store, read_only=True))
    assert 2 <= kept < N_RUNS
    assert f"the {kept} runs stored in {store}" in lines[0]
    assert integrity(store) == "ok"
    if signum == signal.SIGTERM:  # resuming finishes the rest (once is enough: it takes ~5 s)
        tally = run_sweep(load_spec(spec), ResultStore(store))
        assert tally.skipped == kept
        assert len(ResultStore(store)) == N_RUNS


def test_sigkill_takes_the_workers_with_it(tmp_path: Path) -> None:
    proc, _, store = start_sweep(tmp_path)
    workers = wait_for_workers(proc)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert_all_gone(workers)
    if store.exists():
        assert integrity(store) == "ok"
