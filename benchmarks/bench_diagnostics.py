"""Overhead of diagnostics recording on the notebook's He run.

Times, in one process, best of ``--repeat``: the plain-NumPy notebook loop (the reference of
every initlab benchmark), initlab's training with no recorder, and with a Recorder every
``--every`` iterations. Prints the overheads relative to the no-recorder run and the ratios
to the plain loop.

Run:  python benchmarks/bench_diagnostics.py [--iterations 15000] [--every 100] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from bench_compare import notebook_loop

from initlab import MLP, circles, init_params, train
from initlab.diagnostics import Recorder
from initlab.rng import notebook_init_rng


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=15_000)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    data = circles()
    mlp = MLP([2, 10, 5, 1])
    params = init_params(mlp, notebook_init_rng(), "he")
    X, Y = data.X_train.T, data.y_train.reshape(1, -1)

    def run_plain() -> None:
        notebook_loop(X, Y, "he", args.iterations)

    def run_off() -> None:
        train(mlp, params, data.X_train, data.y_train, iterations=args.iterations)

    def run_on() -> None:
        train(mlp, params, data.X_train, data.y_train, iterations=args.iterations,
              recorder=Recorder(every=args.every))  # fmt: skip

    best = {"plain": np.inf, "off": np.inf, "on": np.inf}
    for _ in range(args.repeat):
        for name, fn in (("plain", run_plain), ("off", run_off), ("on", run_on)):
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    result = {
        "benchmark": f"notebook He run, {args.iterations} iterations, record every {args.every}",
        "plain_numpy_s": best["plain"],
        "recording_off_s": best["off"],
        "recording_on_s": best["on"],
        "overhead_on_vs_off": best["on"] / best["off"] - 1,
        "off_speed_ratio_vs_plain": best["plain"] / best["off"],
        "on_speed_ratio_vs_plain": best["plain"] / best["on"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"plain NumPy loop:       {best['plain']:.3f} s\n"
            f"initlab, no recorder:   {best['off']:.3f} s "
            f"(speed ratio vs plain {result['off_speed_ratio_vs_plain']:.2f}x)\n"
            f"initlab, every {args.every:>4}:    {best['on']:.3f} s "
            f"(speed ratio vs plain {result['on_speed_ratio_vs_plain']:.2f}x)\n"
            f"recording overhead:     {result['overhead_on_vs_off']:+.1%}"
        )


if __name__ == "__main__":
    main()
