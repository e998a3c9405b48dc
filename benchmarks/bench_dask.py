"""Dask scaling: the same sweep on a LocalCluster of 1 and of 2 single-threaded workers.

Each worker is one process with one thread (``NUMBA_NUM_THREADS=1``), so the comparison is
the distribution itself — tasks, transfers, the store written by the client — and not the
compiled engine's own threads. Each cluster first runs a small warm-up sweep (compile or
cache load in every worker), then the timed sweep into a fresh store; medians of
``--repeat`` paired trials. This machine has 2 cores: 2× is the ceiling.

Run:  python benchmarks/bench_dask.py [--seeds 16] [--iterations 4000] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from initlab.experiments import parse_spec
from initlab.experiments.distributed import DaskExecutor
from initlab.experiments.runner import run_sweep
from initlab.experiments.store import ResultStore


def spec(seeds: int, iterations: int, name: str):
    return parse_spec({
        "sweep": {"name": name, "seeds": seeds, "iterations": iterations},
        "model": {"depth": [1, 2, 3, 4], "width": 10},
        "init": [{"name": "random", "scale": {"logspace": [-1, 1, 4]}}, {"name": "he"}],
        "train": {"learning_rate": 0.05},
    })  # fmt: skip


def timed_sweep(workers: int, seeds: int, iterations: int, batch: int) -> float:
    from distributed import LocalCluster

    os.environ["NUMBA_NUM_THREADS"] = "1"  # inherited by the worker processes
    options = {"threads_per_worker": 1, "processes": True, "host": "127.0.0.1",
               "dashboard_address": None, "silence_logs": 50}  # fmt: skip
    with LocalCluster(n_workers=workers, **options) as cluster:
        executor = DaskExecutor(cluster.scheduler_address)
        folder = Path(tempfile.mkdtemp())
        run_sweep(spec(2, 50, "warm-up"), ResultStore(folder / "warm.db"), executor, max_batch=2)
        store = ResultStore(folder / "timed.db")
        start = time.perf_counter()
        run_sweep(spec(seeds, iterations, "timed"), store, executor, max_batch=batch)
        seconds = time.perf_counter() - start
        executor.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--iterations", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    runs = len(spec(args.seeds, args.iterations, "count").runs())
    ratios, one, two = [], [], []
    for _ in range(args.repeat):
        t1 = timed_sweep(1, args.seeds, args.iterations, args.batch)
        t2 = timed_sweep(2, args.seeds, args.iterations, args.batch)
        one.append(t1)
        two.append(t2)
        ratios.append(t1 / t2)
    result = {
        "sweep": f"{runs} runs x {args.iterations} iterations, batches of {args.batch}",
        "one_worker_s": statistics.median(one),
        "two_workers_s": statistics.median(two),
        "speedup_median": statistics.median(ratios),
        "speedups": ratios,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['sweep']}\n1 worker:  {result['one_worker_s']:.1f} s\n"
            f"2 workers: {result['two_workers_s']:.1f} s\n"
            f"speed-up (median of paired trials): {result['speedup_median']:.2f}x "
            f"({', '.join(f'{r:.2f}' for r in ratios)})"
        )


if __name__ == "__main__":
    main()
