"""Time `initlab compare`'s training against a plain-NumPy loop written the course's way.

Both run the notebook's experiment (circles, [2, 10, 5, 1], lr 0.01, zeros / ×10 / He) in the
same process, alternating, best of ``--repeat``. The ratio printed is

    speed ratio = plain-NumPy seconds / initlab seconds   (> 1: initlab is faster)

Run:  python benchmarks/bench_compare.py [--iterations 15000] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time

import numpy as np

import initlab
from initlab.datasets import circles


def notebook_loop(X, Y, init, iterations, learning_rate=0.01):
    """The course's model(): column layout, parameter dict, hand-written 3-layer passes."""
    np.random.seed(3)
    dims = [X.shape[0], 10, 5, 1]
    p = {}
    for k in range(1, 4):
        if init == "zeros":
            p[f"W{k}"] = np.zeros((dims[k], dims[k - 1]))
        elif init == "random":
            p[f"W{k}"] = np.random.randn(dims[k], dims[k - 1]) * 10
        else:
            p[f"W{k}"] = np.random.randn(dims[k], dims[k - 1]) * math.sqrt(2.0 / dims[k - 1])
        p[f"b{k}"] = np.zeros((dims[k], 1))
    m = X.shape[1]
    costs = []
    with np.errstate(all="ignore"):
        for i in range(iterations):
            z1 = p["W1"] @ X + p["b1"]
            a1 = np.maximum(0, z1)
            z2 = p["W2"] @ a1 + p["b2"]
            a2 = np.maximum(0, z2)
            z3 = p["W3"] @ a2 + p["b3"]
            a3 = 1 / (1 + np.exp(-z3))
            cost = 1.0 / m * np.nansum(-np.log(a3) * Y - np.log(1 - a3) * (1 - Y))
            dz3 = 1.0 / m * (a3 - Y)
            dW3, db3 = dz3 @ a2.T, np.sum(dz3, axis=1, keepdims=True)
            dz2 = (p["W3"].T @ dz3) * (a2 > 0)
            dW2, db2 = dz2 @ a1.T, np.sum(dz2, axis=1, keepdims=True)
            dz1 = (p["W2"].T @ dz2) * (a1 > 0)
            dW1, db1 = dz1 @ X.T, np.sum(dz1, axis=1, keepdims=True)
            for k, dW, db in ((1, dW1, db1), (2, dW2, db2), (3, dW3, db3)):
                p[f"W{k}"] = p[f"W{k}"] - learning_rate * dW
                p[f"b{k}"] = p[f"b{k}"] - learning_rate * db
            if i % 1000 == 0:
                costs.append(cost)
    return p, costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=15_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    data = circles()
    X, Y = data.X_train.T, data.y_train.reshape(1, -1)
    inits = ("zeros", "random", "he")
    plain, lab = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        for init in inits:
            notebook_loop(X, Y, init, args.iterations)
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        initlab.compare(inits, iterations=args.iterations)
        lab.append(time.perf_counter() - t)
    result = {
        "benchmark": "compare: 3 runs x iterations, notebook network and data",
        "iterations": args.iterations,
        "repeat": args.repeat,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "plain_numpy_s": min(plain),
        "initlab_s": min(lab),
        "speed_ratio": min(plain) / min(lab),
        "plain_us_per_iteration": min(plain) / (3 * args.iterations) * 1e6,
        "initlab_us_per_iteration": min(lab) / (3 * args.iterations) * 1e6,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"plain NumPy notebook loop: {result['plain_numpy_s']:.3f} s "
            f"({result['plain_us_per_iteration']:.1f} µs/iteration)\n"
            f"initlab compare (training): {result['initlab_s']:.3f} s "
            f"({result['initlab_us_per_iteration']:.1f} µs/iteration)\n"
            f"speed ratio (plain / initlab): {result['speed_ratio']:.2f}x"
        )


if __name__ == "__main__":
    main()
