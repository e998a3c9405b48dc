"""How far training has got, told to a callback: the library itself prints nothing.

:func:`initlab.compare.compare` and :func:`initlab.engine.train_batch` take ``progress=hook``,
a :data:`ProgressHook`. ``hook(done, total)`` hears the iterations each run has completed:

``done``
    A tuple of one count per run, in the order the runs were given.
``total``
    The iterations each run was asked for.

The calls keep these promises:

- The first call is all zeros (before training), the last one all ``total``; in between a
  count never decreases, and there is at most about one call per :data:`PROGRESS_SECONDS`,
  none when no count has changed.
- A run that stops early (it diverged) counts as done once it has stopped: its count jumps
  to ``total``. Its result says where it stopped.
- Every call comes from the thread that called ``compare``/``train_batch``, never from the
  engines' worker threads, so the hook needs no lock.
- What the hook raises (``KeyboardInterrupt`` included) stops the training within one chunk
  (below) and propagates.

How each engine counts:

compiled per-model kernel (``engine="numba"``)
    Without a hook each model is trained in one kernel call. With one, each model is trained
    in chunks of iterations that take about :data:`CHUNK_SECONDS` each (:func:`next_chunk`),
    the kernel resuming exactly where the previous chunk stopped, so the results are the
    same to the bit; the threads count, the calling thread reports. The cost: a few kernel
    calls more (see :data:`CHUNK_SECONDS`).
lanes engine (:mod:`initlab.engine.lanes`: batches of at least 7 models, or a few models spread)
    Trains each block of models in chunks as the kernel trains each model, going on from the
    block's kept state: the same numbers to the bit. A model that diverged counts as done.
NumPy engine
    Counts the iterations as the engine takes each one's examples (a full-batch run then
    takes all of them, as a view, and computes each recorded cost once more on the whole
    data, as mini-batch runs do: the same values).
reference loop (``compare(..., engine="reference")``)
    Trains the runs one after the other, each in chunks (:class:`initlab.train.Trainer`).

>>> from initlab import MLP, circles, init_params
>>> from initlab.engine import train_batch
>>> from initlab.rng import streams
>>> data, mlp = circles(), MLP([2, 10, 5, 1])
>>> inits = [init_params(mlp, streams(s).init, "he") for s in range(2)]
>>> heard = []
>>> results = train_batch(mlp, inits, data.X_train, data.y_train, iterations=300,
...                       engine="numpy", progress=lambda done, total: heard.append(done))
>>> heard[0], heard[-1]
((0, 0), (300, 300))
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = [
    "CHUNK_SECONDS",
    "PROGRESS_SECONDS",
    "ProgressHook",
    "Reporter",
    "next_chunk",
    "reporting",
    "run_in_threads",
    "share_threads",
    "train_in_chunks",
]

ProgressHook = Callable[[Sequence[int], int], None]
"""``hook(done, total)``: the iterations completed by each run, and the iterations asked for
(see the module's description for when it is called)."""

PROGRESS_SECONDS = 0.1
"""The least time between two calls of a hook (the first and the last call aside)."""

CHUNK_SECONDS = 0.1
"""About how long one chunk of training lasts between two looks at the counts. Measured on
a shared 2-core machine: a kernel call costs about 44 µs more than the iterations it trains
(15,000 iterations of the notebook's He run in 150 chunks vs one call); the notebook's
comparison (3 × 15,000 iterations, 5 chunks each) took 296.0 ms with a hook and 295.1 ms
without (fastest of 25 each): 0.3 %, within the noise."""

FIRST_CHUNK = 16
"""The iterations of a run's first chunk, before its speed is known."""

MAX_GROWTH = 8
"""A chunk is at most this many times longer than the one before (:func:`next_chunk`)."""

T = TypeVar("T")


def next_chunk(size: int | None = None, seconds: float = 0.0, target: float = CHUNK_SECONDS) -> int:
    """The iterations of the next chunk: :data:`FIRST_CHUNK` for the first (``size`` not
    given), then ``size · target / seconds`` after a chunk of ``size`` iterations took
    ``seconds`` — at most :data:`MAX_GROWTH` times ``size``, at least 1 (``target``: the
    seconds a chunk should last, :data:`CHUNK_SECONDS` by default).

    >>> next_chunk(), next_chunk(100, 0.05), next_chunk(100, 0.0), next_chunk(100, 20.0)
    (16, 200, 800, 1)
    """
    if size is None:
        return FIRST_CHUNK
    grown = size * MAX_GROWTH
    wanted = grown if seconds <= 0 else int(size * target / seconds)
    return max(1, min(wanted, grown))


class Reporter:
    """Calls a :data:`ProgressHook` as promised: all zeros at once, then throttled to one
    call per :data:`PROGRESS_SECONDS` with counts that never decrease, all ``total`` by
    :meth:`finish`. Use it from one thread, the one the hook belongs to.

    >>> heard = []
    >>> reporter = Reporter(lambda done, total: heard.append(tuple(done)), runs=2, total=10)
    >>> reporter.update([3, 4], now=True)
    >>> reporter.update([2, 4], now=True)  # a count never goes back: no change, no call
    >>> reporter.finish()
    >>> heard
    [(0, 0), (3, 4), (10, 10)]
    """

    def __init__(self, hook: ProgressHook, runs: int, total: int) -> None:
        self.hook, self.runs, self.total = hook, runs, total
        self._last = (0,) * runs
        self._when = time.perf_counter()
        hook(self._last, total)

    def update(self, done: Sequence[int], *, now: bool = False) -> None:
        """Tell the hook ``done`` (one count per run), unless it heard from this reporter
        less than :data:`PROGRESS_SECONDS` ago (``now``: tell it anyway) or nothing changed."""
        when = time.perf_counter()
        if not now and when - self._when < PROGRESS_SECONDS:
            return
        counts = tuple(
            max(last, min(int(count), self.total)) for last, count in zip(self._last, done)
        )
        if counts != self._last:
            self._last, self._when = counts, when
            self.hook(counts, self.total)

    def finish(self) -> None:
        """Tell the hook that every run is done (if it has not heard so already)."""
        self.update((self.total,) * self.runs, now=True)

    def counting(self, items: Iterator[T]) -> Iterator[T]:
        """``items``, telling before the ``i``-th that every run has done ``i`` iterations:
        for a loop that takes one item per iteration (the NumPy engine's example indices)."""
        for i, item in enumerate(items):
            self.update((i,) * self.runs)
            yield item


@contextlib.contextmanager
def reporting(hook: ProgressHook | None, runs: int, total: int) -> Iterator[Reporter | None]:
    """A :class:`Reporter` for ``hook`` (``None`` without a hook), told :meth:`~Reporter.finish`
    when the block ends without an exception."""
    reporter = Reporter(hook, runs, total) if hook is not None else None
    yield reporter
    if reporter is not None:
        reporter.finish()


def run_in_threads(
    work: Callable[[int, threading.Event], None],
    count: int,
    threads: int,
    poll: Callable[[], None],
) -> None:
    """Run ``work(k, stop)`` for ``k`` in ``range(count)`` on ``threads`` threads, calling
    ``poll()`` from this thread about every :data:`PROGRESS_SECONDS` until all have ended.

    ``work`` should return soon after ``stop`` is set, which happens when a ``work`` raises,
    ``poll`` raises or this thread is interrupted (Ctrl-C): the first exception propagates
    once every thread has stopped."""
    stop = threading.Event()
    with ThreadPoolExecutor(threads, thread_name_prefix="initlab-engine") as pool:
        futures: list[Future[None]] = [pool.submit(work, k, stop) for k in range(count)]
        try:
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, PROGRESS_SECONDS, FIRST_EXCEPTION)
                for future in finished:
                    future.result()  # a worker's exception, raised here
                poll()
        except BaseException:
            stop.set()
            for future in futures:
                future.cancel()
            raise


BALANCE_SECONDS = 0.02
"""About how long one chunk lasts when chunks only share the threads fairly (no hook): short
enough that 3 models on 2 threads end together within a chunk, long enough that the ~44 µs
of a kernel call stay under 0.3 %."""


def share_threads(
    chunk: Callable[[int, int], int | None],
    remaining: Callable[[int], int],
    models: int,
    threads: int,
    poll: Callable[[], None] = lambda: None,
) -> None:
    """Train ``models`` runs on ``threads`` threads chunk by chunk, each free thread taking the
    idle run with the most ``remaining(k)`` iterations, so that runs that do not divide evenly
    among the threads (3 runs on 2) still end together: ``chunk(k, thread)`` trains run
    ``k``'s next chunk and returns ``None`` once the run is over. A run is on one thread at a
    time and its chunks follow each other, so the results are those of one call per run."""
    cond = threading.Condition()
    busy = [False] * models
    over = [False] * models

    def take(stop: threading.Event) -> int | None:
        with cond:
            while not stop.is_set():
                idle = [k for k in range(models) if not busy[k] and not over[k]]
                if idle:
                    k = max(idle, key=lambda k: (remaining(k), -k))
                    busy[k] = True
                    return k
                if all(over):
                    return None
                cond.wait(PROGRESS_SECONDS)
            return None

    def work(thread: int, stop: threading.Event) -> None:
        while not stop.is_set():
            k = take(stop)
            if k is None:
                return
            ended = True  # a chunk that raises ends its run (and, through stop, the others)
            try:
                ended = chunk(k, thread) is None
            finally:
                with cond:  # one step: no other thread may take a run that just ended
                    busy[k] = False
                    over[k] = over[k] or ended or stop.is_set()
                    cond.notify_all()

    run_in_threads(work, threads, threads, poll)


def train_in_chunks(
    train: Callable[[int, int, int], bool],
    runs: int,
    start: int,
    end: int,
    threads: int,
    poll: Callable[[], None],
    *,
    reporting: bool,
    balance: bool = True,
) -> None:
    """Train ``runs`` runs from iteration ``start`` to ``end`` in chunks on ``threads``
    threads (:func:`share_threads`): ``train(k, t0, t1)`` trains run ``k``'s iterations
    ``t0 … t1 − 1``, going on from where its last chunk stopped, and returns whether the run
    is over (it diverged, or reached ``end``). Chunks are sized by :func:`next_chunk` to last
    about :data:`CHUNK_SECONDS` when ``reporting`` (``poll`` tells a hook), else
    :data:`BALANCE_SECONDS`. ``balance``: a free thread takes the run with the most
    iterations left, so that runs that do not divide evenly among the threads end together;
    otherwise the first idle run, so that each thread keeps to the first runs not over."""
    target = CHUNK_SECONDS if reporting else BALANCE_SECONDS
    at = [start] * runs  # the next iteration of run k
    sizes: list[int | None] = [None] * runs

    def chunk(k: int, thread: int) -> int | None:
        size = sizes[k] or next_chunk()
        t1 = min(end, at[k] + size)
        began = time.perf_counter()
        if train(k, at[k], t1):
            return None
        at[k] = t1
        sizes[k] = next_chunk(size, time.perf_counter() - began, target)
        return t1

    def remaining(k: int) -> int:
        return end - at[k] if balance else 0  # 0: the first idle run first

    share_threads(chunk, remaining, runs, threads, poll)
