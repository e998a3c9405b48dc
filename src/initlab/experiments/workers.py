"""Worker processes that never outlive the process that started them.

A :class:`~concurrent.futures.ProcessPoolExecutor`'s workers wait on a queue whose pipe every
worker also holds open, so when their parent dies — SIGKILL, or SIGTERM without a handler — no
worker ever sees the pipe close, and they wait forever. Two things stop that:

- :func:`die_with_parent`, run first in each worker: on Linux the kernel sends it SIGKILL when
  the parent dies (``prctl(PR_SET_PDEATHSIG)``), elsewhere a daemon thread polls the parent
  pid. A worker holds no results of its own (the parent writes the store), so killing it
  loses nothing that was not in flight. Workers also ignore SIGINT: Ctrl-C reaches the whole
  foreground process group, and it is the parent that decides what happens.
- :func:`worker_pool`, a pool whose workers are terminated at once when the code using it
  raises (``KeyboardInterrupt`` from Ctrl-C or SIGTERM, an error) instead of being waited
  for, which would mean waiting for every batch in flight.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1
"""``prctl`` option (``<linux/prctl.h>``): the signal this process gets when its parent dies."""

PARENT_POLL_SECONDS = 0.5
"""How often a worker checks its parent where ``prctl`` is not available."""


def die_with_parent() -> None:
    """Make this process exit when its parent process does; ignore Ctrl-C.

    The parent's pid is read before the death signal is armed and checked after, so a parent
    that died in between is noticed too. A worker forked from a handler-installing parent
    also gets SIGTERM's default action back (die), instead of the parent's handler.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = os.getppid()
    if not _kernel_kills_on_parent_death():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def _kernel_kills_on_parent_death() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where that is not
    available (another OS, no libc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    """Exit this process once it has been handed to another parent (its own died)."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool of ``workers`` processes that die with this one.

    Leaving the block normally waits for the pool as ``with ProcessPoolExecutor()`` does;
    leaving it by an exception (``KeyboardInterrupt`` included, or the generator using it being
    closed) cancels the queued batches and terminates the workers at once."""
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent)
    try:
        yield pool
    except BaseException:
        stop(pool, before)
        raise
    pool.shutdown(wait=True)


def stop(pool: ProcessPoolExecutor, others: set[multiprocessing.process.BaseProcess]) -> None:
    """Terminate the pool's workers (the children of this process that are not in
    ``others``) and reap them, then shut the pool down, its queued work cancelled.

    The workers go first: the pool's manager thread then sees them gone and ends, so the
    shutdown that waits for it returns at once. (A shutdown that does not wait left that
    thread to Python's exit, which on 3.11 sometimes wrote to its closed wake-up pipe and
    printed "Bad file descriptor" after the sweep's last line.)"""
    workers = [p for p in multiprocessing.active_children() if p not in others]
    for process in workers:
        process.terminate()
    for process in workers:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()
    pool.shutdown(wait=True, cancel_futures=True)
