"""The batched engines against the plain-NumPy notebook loop, in the same process.

This machine's timings drift by ±10 % (and more) from minute to minute, so every engine
measurement is paired with a measurement of the plain-NumPy notebook loop (the reference of
every initlab benchmark) taken just before it, and ratios are medians over trials:

(a) the notebook comparison — zeros, ×10 random and He, 3 runs × ``--iterations`` — as one
    batch, against the three plain loops; target ≥ 15x. Timed in alternation on what
    ``train_batch`` picks for it (the lanes engine in spread mode: each run alone in a block,
    its examples spread over the SIMD lanes, the 3 blocks sharing the threads chunk by
    chunk), on the per-model kernel (``lanes.disabled()``) and on one lanes block with 3 of
    its 8 lanes used (what a sweep of 3 runs gets). The compile is excluded and reported on
    its own, for each engine: on a cold cache (a fresh ``NUMBA_CACHE_DIR``, in a subprocess)
    and loaded from the warm cache.
(b) a sweep of ``--models`` He initializations (seeds 0, 1, …) on the notebook network and
    data, which ``train_batch`` trains on the lanes engine (one model per SIMD lane):
    per-model speed ratio = (plain seconds per model) / (engine seconds / models), targets
    ≥ 30x in float64; the same sweep in float32 (target: ≥ 2.5x the per-model kernel in
    float64, per model) and on the per-model kernel in float64 (``--kernel-models`` of the
    models: today's engine). Also the GFLOP/s achieved (formula printed) beside the
    dgemm/sgemm peak measured in the same run (``np.dot`` of two 2000×2000 matrices, BLAS
    threads as NumPy sets them, best of 3: 2n³/t; target for float64: ≥ 40 % of dgemm), and
    peak memory: the process's maximum resident set size, and the peak of NumPy's
    allocations (tracemalloc). The NumPy engine is timed on the same models over fewer
    iterations (``--numpy-iterations``).
(c) linear scaling: the compiled engine's time at three sizes each of models, iterations
    and examples; the exponent of a log-log fit should be ≈ 1.
(d) what the threads add here: one batch on one thread and on all (``NUMBA_NUM_THREADS``),
    which bounds what the sweep can gain from parallelism on this machine.

Run:  python benchmarks/bench_engine.py [--models 1024] [--iterations 15000] [--trials 5]
      [--kernel-models 128] [--json]; ``--quick`` shrinks everything for a smoke run.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numba
import numpy as np

import initlab
from bench_compare import notebook_loop
from initlab import MLP, circles, init_params
from initlab.engine import compiled, lanes, train_batch
from initlab.rng import notebook_init_rng, streams

NOTEBOOK_INITS = ("zeros", "random", "he")

COMPILE_SNIPPET = """
import time
import numpy as np
t0 = time.perf_counter()
from initlab import MLP, circles, init_params
from initlab.engine import train_batch
from initlab.rng import notebook_init_rng
data, mlp = circles(), MLP([2, 10, 5, 1])
params = [init_params(mlp, notebook_init_rng(), "he")]
t1 = time.perf_counter()
for dtype in (np.float64, np.float32):
    train_batch(mlp, params, data.X_train, data.y_train, iterations=1, engine="numba", dtype=dtype)
    t2 = time.perf_counter()
    train_batch(mlp, params, data.X_train, data.y_train, iterations=1, engine="numba", dtype=dtype)
    t3 = time.perf_counter()
    print((t2 - t1) - (t3 - t2))
    t1 = time.perf_counter()
"""


LANES_COMPILE_SNIPPET = """
import time
import numpy as np
t0 = time.perf_counter()
from initlab import MLP, circles, init_params
from initlab.engine import train_batch
from initlab.rng import streams
data, mlp = circles(), MLP([2, 10, 5, 1])
params = [init_params(mlp, streams(s).init, "he") for s in range(8)]
t1 = time.perf_counter()
for dtype in (np.float64, np.float32):
    train_batch(mlp, params, data.X_train, data.y_train, iterations=1, engine="numba", dtype=dtype)
    t2 = time.perf_counter()
    train_batch(mlp, params, data.X_train, data.y_train, iterations=1, engine="numba", dtype=dtype)
    t3 = time.perf_counter()
    print((t2 - t1) - (t3 - t2))
    t1 = time.perf_counter()
"""


SPREAD_COMPILE_SNIPPET = COMPILE_SNIPPET.replace(
    "t1 = time.perf_counter()",
    "from initlab.engine import lanes\nlanes.SPREAD_WORK = 0  # spread even 1 iteration\n"
    "t1 = time.perf_counter()",
    1,
)
"""The lanes engine in spread mode (the notebook's comparison), for one model."""


@contextlib.contextmanager
def per_model_kernel() -> Iterator[None]:
    """Within the block, ``train_batch`` trains every batch on the per-model kernel;
    ``lanes.for_every_batch()`` puts every batch on the lanes engine, one model per lane."""
    with lanes.disabled():
        yield


def blas_peak(dtype: Any, n: int = 2000) -> float:
    """GFLOP/s of ``np.dot`` on two n×n matrices (BLAS threads as NumPy sets them), best of
    3 after a warm-up: 2n³ / t."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
    np.dot(a, b)
    best = min(timed(lambda: np.dot(a, b)) for _ in range(3))
    return 2 * n**3 / best / 1e9


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def flops_per_iteration(sizes: tuple[int, ...], m: int) -> int:
    """Floating-point operations of one full-batch GD iteration of one model, counted as
    the kernel does them (a multiply-add is 2; exp, comparisons and ReLU masks count 0):

    forward  2·m·Σ n_l·n_{l-1}  (W·A)  + m·Σ n_l  (bias)
    backward m·n_L (P − Y) + m·n_L (×1/m) + 2·m·Σ n_l·n_{l-1} (dW) + m·Σ n_l (db)
             + 2·m·Σ_{l≥2} n_l·n_{l-1} (Wᵀ·dZ) + m·Σ_{hidden} n_l (⊙ φ′)
    update   2·P  (P parameters)
    """
    pairs = [a * b for a, b in itertools.pairwise(sizes)]
    units = sum(sizes[1:])
    hidden = sum(sizes[1:-1])
    params = sum(p + b for p, b in zip(pairs, sizes[1:]))
    forward = 2 * m * sum(pairs) + m * units
    backward = 2 * m * sizes[-1] + 2 * m * sum(pairs) + m * units
    backward += 2 * m * sum(pairs[1:]) + m * hidden
    return forward + backward + 2 * params


def compile_times(snippet: str) -> dict[str, list[float]]:
    """Compile time of an engine for the notebook's network (float64, float32), each
    compiled for that network and gradient descent only, on a cold cache, then on the warm
    one: ``COMPILE_SNIPPET`` (the per-model kernel, 1 model) or ``LANES_COMPILE_SNIPPET``
    (the lanes engine, 8 models)."""
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold", "warm"):
            text = subprocess.run(
                [sys.executable, "-c", snippet], env=env, check=True,
                capture_output=True, text=True,
            ).stdout  # fmt: skip
            out[label] = [float(line) for line in text.split()]
    return out


def fit_exponent(sizes: list[int], seconds: list[float]) -> float:
    """Slope of log(seconds) against log(size): 1 for linear."""
    slope = np.polyfit(np.log(sizes), np.log(seconds), 1)[0]
    return float(slope)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1024)
    parser.add_argument("--iterations", type=int, default=15_000)
    parser.add_argument("--numpy-iterations", type=int, default=500)
    parser.add_argument("--kernel-models", type=int, default=128,
                        help="models of the sweep timed on the per-model kernel")  # fmt: skip
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--no-compile", action="store_true", help="skip the compile timing")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.models, args.iterations, args.numpy_iterations, args.trials = 64, 1000, 100, 3
    args.kernel_models = min(args.kernel_models, args.models)

    data = circles()
    mlp = MLP([2, 10, 5, 1])
    X, Y = data.X_train.T, data.y_train.reshape(1, -1)
    n_iter = args.iterations
    threads = compiled.threads()

    def plain(inits: tuple[str, ...], iterations: int) -> float:
        return timed(lambda: [notebook_loop(X, Y, init, iterations) for init in inits])

    def batch(
        params: list[Any], iterations: int, engine: str = "numba", on: Any = data,
        dtype: Any = np.float64,
    ) -> float:  # fmt: skip
        start = time.perf_counter()
        train_batch(mlp, params, on.X_train, on.y_train, iterations=iterations, engine=engine,
                    dtype=dtype)  # fmt: skip
        return time.perf_counter() - start

    compile_s = None
    if not args.no_compile:
        compile_s = {
            "kernel": compile_times(COMPILE_SNIPPET),
            "lanes, spread": compile_times(SPREAD_COMPILE_SNIPPET),
            "lanes": compile_times(LANES_COMPILE_SNIPPET),
        }
    peaks = {"dgemm": blas_peak(np.float64), "sgemm": blas_peak(np.float32)}
    notebook = [init_params(mlp, notebook_init_rng(), init) for init in NOTEBOOK_INITS]
    batch(notebook, n_iter)  # load (or compile) the engines before timing
    with per_model_kernel():
        batch(notebook, 10)
    with lanes.for_every_batch():
        batch(notebook, 10)
    base_models, base_iter = 32 * threads, max(100, n_iter // 15)
    n_models = max(args.models, 4 * base_models)
    many = [init_params(mlp, streams(s).init, "he") for s in range(n_models)]
    sweep = many[: args.models]
    for dtype in (np.float64, np.float32):
        batch(sweep[: lanes.MIN_MODELS], 10, dtype=dtype)

    # (a) the notebook comparison, paired trials: plain, spread, per-model kernel, lanes.
    a_trials = []
    for _ in range(args.trials):
        plain_s = plain(NOTEBOOK_INITS, n_iter)
        spread_s = batch(notebook, n_iter)
        with per_model_kernel():
            kernel_s = batch(notebook, n_iter)
        with lanes.for_every_batch():
            lanes_s = batch(notebook, n_iter)
        a_trials.append((plain_s, spread_s, kernel_s, lanes_s))
    a_ratio = [p / s for p, s, _, _ in a_trials]
    a_kernel_ratio = [p / k for p, _, k, _ in a_trials]
    a_lanes_ratio = [p / la for p, _, _, la in a_trials]

    # (b) the sweep: the plain loop (one He run) before and after, the engines between.
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    before = plain(("he",), n_iter)
    tracemalloc.start()
    sweep_s = batch(sweep, n_iter)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    float32_s = batch(sweep, n_iter, dtype=np.float32)
    with per_model_kernel():
        kernel_s = batch(sweep[: args.kernel_models], n_iter)
    after = plain(("he",), n_iter)
    plain_per_model = (before + after) / 2
    per_model = {
        "lanes_float64": sweep_s / args.models,
        "lanes_float32": float32_s / args.models,
        "kernel_float64": kernel_s / args.kernel_models,
    }
    ratios = {name: plain_per_model / seconds for name, seconds in per_model.items()}
    flops = flops_per_iteration(mlp.layer_sizes, X.shape[1])
    gflops = {name: flops * n_iter / seconds / 1e9 for name, seconds in per_model.items()}
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    np_before = plain(("he",), args.numpy_iterations)
    numpy_s = batch(sweep, args.numpy_iterations, engine="numpy")
    np_after = plain(("he",), args.numpy_iterations)
    numpy_ratio = (np_before + np_after) / 2 / (numpy_s / args.models)

    # (c) linear scaling: three sizes each of models, iterations and examples; the sizes
    # of each are timed in turn, round after round, and the median of the rounds is kept.
    def scaling_of(sizes: list[int], run: Callable[[int], float]) -> dict[str, Any]:
        times: list[list[float]] = [[] for _ in sizes]
        for _ in range(args.trials):
            for k, size in enumerate(sizes):
                times[k].append(run(size))
        return {"sizes": sizes, "seconds": [statistics.median(t) for t in times]}

    sets = {n: circles(n_train=n) for n in (300, 600, 1200)}
    scaling = {
        "models": scaling_of(
            [base_models, 2 * base_models, 4 * base_models],
            lambda k: batch(many[:k], base_iter),
        ),
        "iterations": scaling_of(
            [base_iter, 2 * base_iter, 4 * base_iter],
            lambda t: batch(many[:base_models], t),
        ),
        "examples": scaling_of(
            list(sets), lambda n: batch(many[:base_models], base_iter, on=sets[n])
        ),
    }

    # (d) what the threads add on this machine: the same batch on one thread and on all.
    def on_threads(count: int) -> float:
        saved = numba.config.NUMBA_NUM_THREADS  # read by compiled.threads()
        numba.config.NUMBA_NUM_THREADS = count
        try:
            return batch(many[: 2 * base_models], base_iter)
        finally:
            numba.config.NUMBA_NUM_THREADS = saved

    parallel = [(on_threads(1), on_threads(threads)) for _ in range(args.trials)]
    speedup = statistics.median(one / many_s for one, many_s in parallel)

    for entry in scaling.values():
        entry["exponent"] = fit_exponent(entry["sizes"], entry["seconds"])

    result = {
        "benchmark": "initlab.engine.train_batch vs the plain-NumPy notebook loop",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "initlab": initlab.__version__,
        "cpus": os.cpu_count(),
        "threads": threads,
        "iterations": n_iter,
        "compile_s": compile_s,
        "blas_peak_gflops": peaks,
        "notebook": {
            "runs": list(NOTEBOOK_INITS),
            "trials": [
                {"plain_s": p, "spread_s": s, "kernel_s": k, "lanes_s": la}
                for p, s, k, la in a_trials
            ],
            "speed_ratio_median": statistics.median(a_ratio),
            "speed_ratio_range": [min(a_ratio), max(a_ratio)],
            "kernel_speed_ratio_median": statistics.median(a_kernel_ratio),
            "lanes_speed_ratio_median": statistics.median(a_lanes_ratio),
            "target": 15.0,
        },
        "sweep": {
            "models": args.models,
            "kernel_models": args.kernel_models,
            "engine_s": sweep_s,
            "float32_s": float32_s,
            "kernel_s": kernel_s,
            "plain_s_per_model": plain_per_model,
            "plain_s_before_after": [before, after],
            "per_model_speed_ratio": ratios["lanes_float64"],
            "float32_per_model_speed_ratio": ratios["lanes_float32"],
            "kernel_per_model_speed_ratio": ratios["kernel_float64"],
            "float32_vs_float64": sweep_s / float32_s,
            "float32_vs_kernel_float64": per_model["kernel_float64"] / per_model["lanes_float32"],
            "target": 30.0,
            "flops_per_model_iteration": flops,
            "gflops": gflops,
            "gflops_share_of_peak": {
                "float64": gflops["lanes_float64"] / peaks["dgemm"],
                "float32": gflops["lanes_float32"] / peaks["sgemm"],
            },
            "max_rss_bytes": maxrss,
            "max_rss_before_sweep_bytes": rss_before,
            "tracemalloc_peak_bytes": traced_peak,
            "numpy_engine_iterations": args.numpy_iterations,
            "numpy_engine_s": numpy_s,
            "numpy_engine_per_model_speed_ratio": numpy_ratio,
        },
        "scaling": scaling,
        "threads_speedup": {"threads": threads, "median": speedup, "trials": parallel},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print("\n".join(report_lines(result, args)))


def report_lines(result: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """The result, in words."""
    a, b, peaks = result["notebook"], result["sweep"], result["blas_peak_gflops"]
    lines = [f"threads: {result['threads']}; iterations: {result['iterations']}"]
    for engine, times in (result["compile_s"] or {}).items():
        lines.append(
            f"compile, {engine} (float64, float32): cold cache "
            + ", ".join(f"{t:.1f} s" for t in times["cold"])
            + "; warm cache "
            + ", ".join(f"{t:.2f} s" for t in times["warm"])
        )
    lo, hi = a["speed_ratio_range"]
    trials = a["trials"]
    plain_a = statistics.median(t["plain_s"] for t in trials)
    spread_a = statistics.median(t["spread_s"] for t in trials)
    kernel_a = statistics.median(t["kernel_s"] for t in trials)
    lanes_a = statistics.median(t["lanes_s"] for t in trials)
    g, share = b["gflops"], b["gflops_share_of_peak"]
    lines += [
        f"(a) notebook comparison, 3 runs as one batch: train_batch (lanes, spread) "
        f"{spread_a:.3f} s vs plain loop {plain_a:.2f} s → {a['speed_ratio_median']:.1f}x "
        f"(median of {args.trials} paired trials; {lo:.1f}–{hi:.1f}x; target ≥ 15x); "
        f"per-model kernel {kernel_a:.3f} s → {a['kernel_speed_ratio_median']:.1f}x; lanes "
        f"engine, one block (3 of 8 lanes) {lanes_a:.3f} s → {a['lanes_speed_ratio_median']:.1f}x",
        f"(b) sweep of {b['models']} models: plain loop {b['plain_s_per_model']:.3f} s per model",
        f"    lanes, float64: {b['engine_s']:.1f} s → per-model speed ratio "
        f"{b['per_model_speed_ratio']:.1f}x (target ≥ 30x); {g['lanes_float64']:.1f} GFLOP/s "
        f"= {share['float64']:.0%} of dgemm's {peaks['dgemm']:.0f} (target ≥ 40 %)",
        f"    lanes, float32: {b['float32_s']:.1f} s → {b['float32_per_model_speed_ratio']:.1f}x; "
        f"{g['lanes_float32']:.1f} GFLOP/s = {share['float32']:.0%} of sgemm's "
        f"{peaks['sgemm']:.0f}; {b['float32_vs_float64']:.2f}x float64's speed, "
        f"{b['float32_vs_kernel_float64']:.2f}x the per-model kernel's float64 (target ≥ 2.5x)",
        f"    per-model kernel, float64 ({b['kernel_models']} models): {b['kernel_s']:.1f} s → "
        f"{b['kernel_per_model_speed_ratio']:.1f}x; {g['kernel_float64']:.1f} GFLOP/s",
        f"    ({b['flops_per_model_iteration']:,} flops per model-iteration: "
        "forward 2m·Σn_l·n_{l-1} + m·Σn_l; backward 2m·n_L + 2m·Σn_l·n_{l-1} + m·Σn_l "
        "+ 2m·Σ_{l≥2}n_l·n_{l-1} + m·Σhidden; update 2P; peaks: np.dot of 2000×2000, 2n³/t)",
        f"    peak memory: max RSS {b['max_rss_bytes'] / 2**20:.0f} MiB (whole process; "
        f"{b['max_rss_before_sweep_bytes'] / 2**20:.0f} MiB before the sweep); NumPy "
        f"allocations during it {b['tracemalloc_peak_bytes'] / 2**20:.1f} MiB (tracemalloc)",
        f"    NumPy engine, {b['numpy_engine_iterations']} iterations: {b['numpy_engine_s']:.2f} s "
        f"→ per-model speed ratio {b['numpy_engine_per_model_speed_ratio']:.1f}x",
        "(c) scaling (exponent of time vs size; 1 = linear):",
    ]
    for name, entry in result["scaling"].items():
        pairs = ", ".join(f"{s}: {t:.3f} s" for s, t in zip(entry["sizes"], entry["seconds"]))
        lines.append(f"    {name:10s} {entry['exponent']:.2f}  ({pairs})")
    speedup, threads = result["threads_speedup"]["median"], result["threads"]
    lines.append(
        f"(d) {threads} threads vs 1 on the same batch: {speedup:.2f}x faster "
        f"(parallel efficiency {speedup / threads:.0%}; median of {args.trials})"
    )
    return lines


if __name__ == "__main__":
    main()
