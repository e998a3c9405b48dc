"""Overhead of diagnostics recording on the notebook's He run.

This machine's timings drift by ±10 % from run to run, more than the effect measured, so the
benchmark pairs its trials: each trial times the plain-NumPy notebook loop (the reference of
every initlab benchmark), initlab's training without a recorder, and with a Recorder every
``--every`` iterations, back to back; the overhead is the median over trials of the per-trial
ratio, with its spread. It also times one ``Recorder.record`` call on its own, which gives
the overhead independently: record time / (every × time per iteration).

Run:  python benchmarks/bench_diagnostics.py [--iterations 3000] [--trials 15] [--every 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from bench_compare import notebook_loop
from initlab import MLP, circles, init_params, train
from initlab.diagnostics import Recorder
from initlab.network import backward_columns, forward_columns
from initlab.rng import notebook_init_rng


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    data = circles()
    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, notebook_init_rng(), "he")
    X, Y = data.X_train.T, data.y_train.reshape(1, -1)
    n = args.iterations

    def off() -> None:
        train(mlp, params, data.X_train, data.y_train, iterations=n)

    def on() -> None:
        train(mlp, params, data.X_train, data.y_train, iterations=n,
              recorder=Recorder(every=args.every))  # fmt: skip

    trials = []
    for _ in range(args.trials):
        plain_s = timed(lambda: notebook_loop(X, Y, "he", n))
        trials.append((plain_s, timed(off), timed(on)))
    overhead = [t_on / t_off - 1 for _, t_off, t_on in trials]
    ratio_off = [p / t_off for p, t_off, _ in trials]
    ratio_on = [p / t_on for p, _, t_on in trials]

    cache = forward_columns(mlp, params, X)
    grads = backward_columns(mlp, params, cache, Y.astype(float))
    rec = Recorder(every=1)
    record_s = (
        min(
            timed(lambda: [rec.record(0, mlp, params, cache, Y, grads, params) for _ in range(100)])
            for _ in range(5)
        )
        / 100
    )
    per_iteration_s = min(t_off for _, t_off, _ in trials) / n

    def quartiles(values: list[float]) -> list[float]:
        return statistics.quantiles(values, n=4)

    result = {
        "benchmark": f"notebook He run, {n} iterations x {args.trials} paired trials",
        "record_every": args.every,
        "overhead_median": statistics.median(overhead),
        "overhead_quartiles": quartiles(overhead),
        "speed_ratio_vs_plain_off_median": statistics.median(ratio_off),
        "speed_ratio_vs_plain_on_median": statistics.median(ratio_on),
        "record_call_us": record_s * 1e6,
        "iteration_us": per_iteration_s * 1e6,
        "overhead_from_record_cost": record_s / (args.every * per_iteration_s),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    q1, _, q3 = result["overhead_quartiles"]
    off_ratio, on_ratio = statistics.median(ratio_off), statistics.median(ratio_on)
    print(
        f"speed ratio vs plain NumPy loop, no recorder: {off_ratio:.2f}x\n"
        f"speed ratio vs plain NumPy loop, every {args.every}: {on_ratio:.2f}x\n"
        f"recording overhead (median of paired trials): {result['overhead_median']:+.1%} "
        f"(quartiles {q1:+.1%} … {q3:+.1%})\n"
        f"one record() call: {result['record_call_us']:.0f} µs; one iteration: "
        f"{result['iteration_us']:.0f} µs → overhead {result['overhead_from_record_cost']:.1%}"
    )


if __name__ == "__main__":
    main()
