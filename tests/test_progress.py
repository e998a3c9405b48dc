"""Progress while training: the library's hook (initlab.progress) and the command line's bars.

The oracle for "the hook changes nothing" is the same run without a hook, compared to the
bit: results (costs, parameters, snapshots, divergence) and, for the compiled kernel, its raw
output arrays. Chunks are forced small and out of step with every spacing (record, snapshot,
epoch) so that each run is cut in many places; divergence is put in a late chunk with a
linear network (×10 init, momentum with L2 at learning rate 0.05: overflow at iteration 61;
mini-batches at 0.2: at iteration 10).
"""

import importlib.util
import io
import itertools
import json
import os
import re
import select
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

import initlab.progress
from initlab import MLP, circles, init_params
from initlab.cli.common import training_progress
from initlab.compare import compare
from initlab.engine import train_batch
from initlab.rng import notebook_init_rng

HAS_NUMBA = importlib.util.find_spec("numba") is not None
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="Numba is not installed")
ENGINES = ["numpy", pytest.param("numba", marks=needs_numba)]
DATA = circles()


class Heard:
    """A hook that keeps every call, and the thread each came from."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[int, ...], int]] = []
        self.threads: set[int] = set()

    def __call__(self, done: Sequence[int], total: int) -> None:
        self.calls.append((tuple(done), total))
        self.threads.add(threading.get_ident())

    def check(self, runs: int, total: int, midway: bool = True) -> None:
        """The promises of initlab.progress: zeros first, totals last, never backwards, every
        call from this thread; and (``midway``) some counts in between. (The compiled
        engine's threads may finish a short run before this thread looks: its counts midway
        are checked on a long run.)"""
        counts = [done for done, _ in self.calls]
        assert {t for _, t in self.calls} == {total}
        assert counts[0] == (0,) * runs
        assert counts[-1] == (total,) * runs
        for before, after in itertools.pairwise(counts):
            assert before != after  # no call without news
            assert all(0 <= a <= b <= total for a, b in zip(before, after)), (before, after)
        assert self.threads == {threading.get_ident()}
        if midway:
            assert any(0 < c < total for done in counts for c in done), counts


@pytest.fixture
def chunks(monkeypatch: pytest.MonkeyPatch):
    """Fixed chunks of ``size`` iterations, and a hook called at every change."""

    def fix(size: int) -> None:
        monkeypatch.setattr(initlab.progress, "FIRST_CHUNK", size)
        monkeypatch.setattr(initlab.progress, "MAX_GROWTH", 1)
        monkeypatch.setattr(initlab.progress, "CHUNK_SECONDS", 1e9)
        monkeypatch.setattr(initlab.progress, "PROGRESS_SECONDS", 0.0)

    return fix


def notebook_batch() -> tuple[MLP, list, dict]:
    mlp = MLP([2, 10, 5, 1])
    params = [init_params(mlp, notebook_init_rng(), name) for name in ("zeros", "random", "he")]
    return mlp, params, {"learning_rate": 0.01}


def adam_batch() -> tuple[MLP, list, dict]:
    mlp, params, _ = notebook_batch()
    kw = {"learning_rate": 0.01, "optimizer": "adam", "batch_size": 64, "l2": 0.01}
    return mlp, params, kw


def diverging_batch(batch_size: int | None) -> tuple[MLP, list, dict]:
    mlp = MLP([2, 10, 5, 1], "linear")
    params = [init_params(mlp, notebook_init_rng(), name) for name in ("random", "he")]
    if batch_size is None:
        return mlp, params, {"learning_rate": [0.05, 0.01], "optimizer": "momentum", "l2": 0.1}
    return mlp, params, {"learning_rate": [0.2, 0.01], "batch_size": batch_size}


BATCHES = {
    "notebook": notebook_batch,
    "minibatch-adam-l2": adam_batch,
    "diverging-momentum-l2": lambda: diverging_batch(None),
    "diverging-minibatch": lambda: diverging_batch(64),
}
EXPECTED_DIVERGENCE = {"diverging-momentum-l2": 61, "diverging-minibatch": 10}


def assert_same_result(a, b) -> None:
    """Two TrainResults equal to the bit (NaN equal to NaN)."""
    assert (a.status, a.diverged_at, a.iterations_run) == (b.status, b.diverged_at,
                                                           b.iterations_run)  # fmt: skip
    assert a.history.iterations == b.history.iterations
    np.testing.assert_array_equal(a.history.costs, b.history.costs)
    np.testing.assert_array_equal(a.final_cost, b.final_cost)
    for x, y in zip(a.params, b.params, strict=True):
        np.testing.assert_array_equal(x.W, y.W)
        np.testing.assert_array_equal(x.b, y.b)
    snaps_a = a.records.snapshots if a.records else {}
    snaps_b = b.records.snapshots if b.records else {}
    assert sorted(snaps_a) == sorted(snaps_b)
    for i in snaps_a:
        for x, y in zip(snaps_a[i], snaps_b[i], strict=True):
            np.testing.assert_array_equal(x.W, y.W)
            np.testing.assert_array_equal(x.b, y.b)


# --- the library: train_batch ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine", "size"),
    [("numpy", 3), pytest.param("numba", 3, marks=needs_numba),
     pytest.param("numba", 37, marks=needs_numba)],
)  # fmt: skip
@pytest.mark.parametrize("name", list(BATCHES))
def test_a_hook_changes_no_result(chunks, engine: str, size: int, name: str) -> None:
    chunks(size)  # the NumPy engine has no chunks: the hook hears every iteration
    mlp, params, kw = BATCHES[name]()
    common = {"iterations": 400, "record_every": 30, "checkpoint_every": 45, "engine": engine}
    plain = train_batch(mlp, params, DATA.X_train, DATA.y_train, **common, **kw)
    heard = Heard()
    told = train_batch(mlp, params, DATA.X_train, DATA.y_train, progress=heard, **common, **kw)
    for a, b in zip(plain, told, strict=True):
        assert_same_result(a, b)
    if name in EXPECTED_DIVERGENCE:  # it diverged (past the first chunk, but at 10 in 37s)
        assert plain[0].diverged_at == EXPECTED_DIVERGENCE[name]
        assert plain[1].status == "completed"
    heard.check(len(params), 400, midway=engine == "numpy")


@needs_numba
def test_the_compiled_engine_tells_counts_midway(monkeypatch: pytest.MonkeyPatch) -> None:
    # The notebook's three runs, 15,000 iterations (about 0.15 s each on one core), chunks
    # as they come: this thread looks every 10 ms, while each model is trained.
    monkeypatch.setattr(initlab.progress, "PROGRESS_SECONDS", 0.01)
    mlp, params, kw = notebook_batch()
    heard = Heard()
    train_batch(mlp, params, DATA.X_train, DATA.y_train, engine="numba", progress=heard, **kw)
    heard.check(3, 15_000)
    assert len(heard.calls) >= 3


def kernel_outputs(mlp: MLP, params: list, rates: list[float], schedule, hook=None) -> list:
    """train_compiled's parameters, optimizer state and outputs, from copies of the inputs."""
    from dataclasses import replace

    from initlab.engine.compiled import train_compiled
    from initlab.network import flatten_params

    theta = np.stack([flatten_params(p) for p in params])
    copy = {k: getattr(schedule, k).copy() for k in ("velocity", "squares")
            if getattr(schedule, k) is not None}  # fmt: skip
    schedule = replace(schedule, **copy)
    X, Y = np.ascontiguousarray(DATA.X_train.T), DATA.y_train.reshape(1, -1).astype(float)
    outputs = train_compiled(mlp, theta, rates, X, Y, schedule, hook)
    return [theta, schedule.velocity, schedule.squares, *outputs]


@needs_numba
@pytest.mark.parametrize("batch_size", [None, 64])
def test_the_compiled_kernel_outputs_are_the_same_in_chunks_from_any_start(
    chunks, batch_size: int | None
) -> None:
    # The raw outputs of a resumed Adam run (start 123, optimizer state given, the order from
    # the start's epoch), cut into chunks of 7: costs, status, state and snapshots equal.
    from initlab import optim
    from initlab.engine.compiled import Schedule

    chunks(7)
    mlp, params, _ = notebook_batch()
    rng = np.random.default_rng(5)
    shape = (3, sum(layer.W.size + layer.b.size for layer in params[0]))
    velocity, squares = rng.normal(size=shape) * 1e-3, rng.random(shape) * 1e-6
    start, iterations = 123, 200
    order = None
    if batch_size is not None:
        per_epoch = -(-300 // batch_size)
        epochs = -(-(start + iterations) // per_epoch) - start // per_epoch
        order = np.concatenate([rng.permutation(300) for _ in range(epochs)]).astype(np.int64)
    schedule = Schedule(optim.get("adam"), 0.01, iterations, 20, 30, batch_size, order, start,
                        velocity, squares)  # fmt: skip
    heard = Heard()
    plain = kernel_outputs(mlp, params, [0.01] * 3, schedule)
    told = kernel_outputs(mlp, params, [0.01] * 3, schedule, heard)
    heard.check(3, iterations, midway=False)
    for a, b in zip(plain, told, strict=True):
        np.testing.assert_array_equal(a, b)


@needs_numba
def test_a_diverged_run_leaves_the_snapshot_rows_it_did_not_reach_empty(chunks) -> None:
    # Diverged at 61, snapshots every 45: rows 0 and 45 taken, row 2 (90) never. The chunk
    # that ended at 56 left its closing snapshot in that row, which must not stay there.
    from initlab import optim
    from initlab.engine.compiled import Schedule

    chunks(7)
    mlp, params, kw = diverging_batch(None)
    schedule = Schedule(optim.get("momentum"), 0.1, 200, 10, 45)
    heard = Heard()
    plain = kernel_outputs(mlp, params, kw["learning_rate"], schedule)
    told = kernel_outputs(mlp, params, kw["learning_rate"], schedule, heard)
    assert plain[4][0].tolist() == [61, 1]  # status: diverged at 61
    assert not plain[5][0, 2].any()
    for a, b in zip(plain, told, strict=True):
        np.testing.assert_array_equal(a, b)
    heard.check(2, 200, midway=False)


@needs_numba
@pytest.mark.parametrize("mode", ["a block of 7", "spread"])
def test_the_lanes_engine_tells_its_chunks_and_changes_no_result(
    chunks, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    # The diverging batch (its ×10 model overflows at 61) and 5 He-initialized models: one
    # block of 7 lanes; or its 2 models, each alone in a block with its examples spread over
    # the lanes (forced: fewer than 7 models go to the lanes engine only so). Chunks of 7,
    # out of step with the records (30) and the snapshots (45); without a hook each block is
    # trained in one call (the 2 spread blocks on 2 threads, or one after the other).
    from initlab.engine import lanes
    from tests.engine_checks import spy_on_lanes

    chunks(7)
    calls = spy_on_lanes(monkeypatch)
    mlp, params, kw = diverging_batch(None)
    rates = kw.pop("learning_rate")
    if mode == "spread":
        monkeypatch.setattr(lanes, "SPREAD_WORK", 0)
    else:
        params += [init_params(mlp, np.random.default_rng(s), "he") for s in range(5)]
        rates += [0.01 + 0.002 * s for s in range(5)]
    common = {"iterations": 400, "record_every": 30, "checkpoint_every": 45, "engine": "numba",
              "learning_rate": rates, **kw}  # fmt: skip
    plain = train_batch(mlp, params, DATA.X_train, DATA.y_train, **common)
    heard = Heard()
    told = train_batch(mlp, params, DATA.X_train, DATA.y_train, progress=heard, **common)
    assert calls == [len(params)] * 2
    for a, b in zip(plain, told, strict=True):
        assert_same_result(a, b)
    assert (plain[0].diverged_at, sorted(plain[0].records.snapshots)) == (61, [0, 45])
    assert all(r.status == "completed" for r in plain[1:])
    # Counts midway: the block's chunks (the spread blocks may end before this thread looks;
    # test_the_compiled_engine_tells_counts_midway trains the notebook's runs so, for longer)
    heard.check(len(params), 400, midway=mode == "a block of 7")


@pytest.mark.parametrize("engine", ENGINES)
def test_what_the_hook_raises_stops_training_and_propagates(chunks, engine: str) -> None:
    chunks(5)
    mlp, params, kw = notebook_batch()
    calls = []

    def hook(done: Sequence[int], total: int) -> None:
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_batch(mlp, params, DATA.X_train, DATA.y_train, iterations=100_000, engine=engine,
                    progress=hook, **kw)  # fmt: skip
    assert len(calls) == 3
    assert max(max(done) for done in calls) < 100_000


# --- the library: compare -------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["reference", *ENGINES])
def test_compare_tells_each_run_and_changes_nothing(chunks, engine: str) -> None:
    chunks(37)
    kw = {"iterations": 300, "diagnose_every": 100, "keep_params": True, "engine": engine}
    plain = compare(**kw)
    heard = Heard()
    told = compare(progress=heard, **kw)
    heard.check(3, 300, midway=engine != "numba")
    assert json.dumps(plain.to_dict()) == json.dumps(told.to_dict())
    for a, b in zip(plain.runs, told.runs, strict=True):
        assert_same_result(a.result, b.result)
        assert json.dumps(a.result.records.to_dicts()) == json.dumps(b.result.records.to_dicts())


def test_the_reference_loop_tells_a_diverged_run_done_where_it_stopped(chunks) -> None:
    chunks(7)
    kw = {"activation": "linear", "learning_rate": 0.05, "optimizer": "momentum", "l2": 0.1,
          "iterations": 200, "engine": "reference"}  # fmt: skip
    plain = compare(["random", "he"], **kw)
    heard = Heard()
    told = compare(["random", "he"], progress=heard, **kw)
    assert plain.runs[0].result.diverged_at == told.runs[0].result.diverged_at == 61
    for a, b in zip(plain.runs, told.runs, strict=True):
        assert_same_result(a.result, b.result)
    heard.check(2, 200)
    # The runs train one after the other: the second starts once the first has stopped.
    firsts = [done[0] for done, _ in heard.calls]
    assert 56 in firsts  # counted by chunks of 7 up to 56, then done
    assert 63 not in firsts
    assert all(done[1] == 0 for done, _ in heard.calls if done[0] < 200)


# --- the command line -----------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def test_the_bars_show_each_run_with_the_notices_above() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    with training_progress(["zeros", "he"], True, console) as (say, hook):
        assert hook is not None
        say("Compiling the fast engine (…) — once per machine, about 4 s…")
        hook((0, 0), 15_000)
        hook((1_500, 250), 15_000)
        say("Compiled in 3.9 s; later runs of this kind start at once.")
        hook((15_000, 15_000), 15_000)
    text = ANSI.sub("", out.getvalue())
    final = text[text.rindex("Compiled in") :]  # the last render, below the second notice
    assert re.search(r"zeros .*━.* 15,000/15,000 iterations ETA 0:00:00", final), final
    assert re.search(r"he .*━.* 15,000/15,000 iterations ETA 0:00:00", final), final
    assert text.index("Compiling the fast engine") < text.index("/15,000 iterations")


def test_no_bars_where_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    quiet = Console(file=io.StringIO(), force_terminal=False)
    with training_progress(["he"], True, quiet) as (say, hook):
        say("Compiling the fast engine")
    assert hook is None  # nothing to count: the engines train in one call, as without
    assert capsys.readouterr().err == "Compiling the fast engine\n"  # notices stay, plainly
    with training_progress(["he"], False, Console(force_terminal=True)) as (say, hook):
        say("Compiling the fast engine")
    assert hook is None
    assert capsys.readouterr().err == ""  # --json: nothing at all


def run_in_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """``python -m initlab.cli ARGS`` with stderr on a pseudo-terminal: (code, stdout, the
    terminal's text without its escape sequences)."""
    controller, terminal = os.openpty()
    command = [sys.executable, "-m", "initlab.cli", *args]
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=terminal, env=env) as done:  # fmt: skip
        os.close(terminal)
        seen = b""
        while True:
            ready, _, _ = select.select([controller], [], [], 120)
            if not ready:
                done.kill()
                raise AssertionError(f"no output for 120 s; so far: {seen!r}")
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the child has closed the terminal (EIO)
                break
            if not chunk:
                break
            seen += chunk
        os.close(controller)
        stdout, _ = done.communicate(timeout=60)
    return done.returncode, stdout.decode(), ANSI.sub("", seen.decode(errors="replace"))


def terminal_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}  # fmt: skip
    return {**env, "TERM": "xterm-256color", "COLUMNS": "100", **extra}


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_compare_in_a_terminal_shows_a_bar_per_run(tmp_path: Path) -> None:
    # A fresh Numba cache: the compile notice comes first, then the bars.
    env = terminal_env(NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    code, stdout, terminal = run_in_a_terminal(
        ["compare", "--iterations", "3000", "--no-plots", "--out", str(tmp_path)], env
    )
    assert code == 0, terminal
    lines = re.split(r"[\r\n]+", terminal)
    for init in ("zeros", "random", "he"):
        row = re.compile(rf"{init} +\S+ +3,000/3,000 iterations ETA \d:\d\d:\d\d")
        assert any(row.match(line) for line in lines), terminal
        assert init in stdout  # the table, on stdout
    if HAS_NUMBA:
        assert terminal.index("Compiling the fast engine") < terminal.index("iterations")
    assert "Training" not in terminal  # the old spinner


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_compare_json_in_a_terminal_shows_no_progress(tmp_path: Path) -> None:
    code, stdout, terminal = run_in_a_terminal(
        ["compare", "--iterations", "300", "--json", "--no-plots", "--out", str(tmp_path)],
        terminal_env(),
    )
    assert code == 0, terminal
    assert json.loads(stdout)["runs"][0]["iterations"] == 300
    assert "iterations" not in terminal, terminal
    assert "ETA" not in terminal


def test_diagnose_through_a_pipe_shows_no_progress(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "initlab.cli", "diagnose", "--iterations", "300", "--no-plots",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=terminal_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "he" in done.stdout
    # Nothing but a compile notice, where this machine has not compiled this run before.
    assert all(line.startswith("Compil") for line in done.stderr.splitlines()), done.stderr


# --- runs that share the threads ------------------------------------------------------------


@needs_numba
@pytest.mark.parametrize("name", list(BATCHES))
@pytest.mark.parametrize("threads", [2, 4])
def test_runs_sharing_the_threads_chunk_by_chunk_are_each_one_call(
    monkeypatch: pytest.MonkeyPatch, chunks, name: str, threads: int
) -> None:
    """3 runs on 2 threads (or 5 on 4) take turns in chunks so they end together; each run
    is still, to the bit, the run trained alone in one kernel call."""
    import initlab.engine.compiled

    chunks(29)  # many turns, ending mid-epoch and between snapshots
    monkeypatch.setattr(initlab.engine.compiled, "threads", lambda: threads)
    mlp, params, kw = BATCHES[name]()
    params = (params * 3)[: threads + 1]
    rates = kw.pop("learning_rate")
    rates = (rates if isinstance(rates, list) else [rates]) * len(params)
    rates = rates[: len(params)]
    data = circles()
    shared = train_batch(mlp, params, data.X_train, data.y_train, iterations=400,
                         learning_rate=rates, checkpoint_every=50, engine="numba", **kw)  # fmt: skip
    for p, rate, result in zip(params, rates, shared, strict=True):
        (alone,) = train_batch(mlp, [p], data.X_train, data.y_train, iterations=400,
                               learning_rate=[rate], checkpoint_every=50, engine="numba",
                               **kw)  # fmt: skip
        assert_same_result(result, alone)


def test_sharing_threads_gives_each_run_its_chunks_in_order() -> None:
    from initlab.progress import share_threads

    lock = threading.Lock()
    log: list[tuple[int, int]] = []
    at = [0, 0, 0]
    running: set[int] = set()

    def chunk(k: int, thread: int) -> int | None:
        with lock:
            assert k not in running  # a run is on one thread at a time
            running.add(k)
        log.append((k, at[k]))
        at[k] += 1
        with lock:
            running.discard(k)
        return None if at[k] == 5 else at[k]

    share_threads(chunk, lambda k: 5 - at[k], 3, 2)
    assert sorted(log) == [(k, i) for k in range(3) for i in range(5)]
    for k in range(3):
        assert [i for j, i in log if j == k] == list(range(5))
