"""The compiled engine's first run: a cold Numba cache against a warm one, whole processes.

Each trial runs the notebook comparison (zeros, ×10 random, He on ``[2, 10, 5, 1]``, 15,000
iterations of gradient descent, float64) as one ``train_batch(engine="numba")`` call in a
fresh Python process, twice: with ``NUMBA_CACHE_DIR`` set to a new, empty folder (cold: the
kernel is compiled and written there), then to a folder that already holds it (warm: the
kernel is loaded). Cold and warm alternate, trial after trial, so drift on a shared machine
touches both. Reported, medians over the trials:

- the whole process, from start to exit (what a user waits);
- the first ``train_batch`` call inside it, cold and warm: their difference is the compile;
- the compile as the engine reports it (its :class:`~initlab.engine.CompileNotice`, where
  the code timed has them), and the process's CPU seconds.

``--source PATH`` times another checkout's ``src`` folder the same way, in the same rounds
(its cold and warm runs interleaved with this one's): e.g. the commit before a change, from
``git archive <commit> src | tar -x -C /tmp/before``. ``--dtype float32`` times the float32
kernel.

Target: at most 5 s of compile for the notebook's network on a 2-core machine.

Run:  python benchmarks/bench_compile.py [--trials 5] [--source /tmp/before/src] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SNIPPET = """
import json, sys, time
start = time.perf_counter()
import numpy as np
from initlab import MLP, circles, init_params
from initlab.engine import train_batch
from initlab.rng import notebook_init_rng
notices = []
try:
    from initlab.engine import compile_notices
except ImportError:  # code from before compile notices
    import contextlib
    compile_notices = lambda callback: contextlib.nullcontext()
data, mlp = circles(), MLP([2, 10, 5, 1])
inits = [init_params(mlp, notebook_init_rng(), name) for name in ("zeros", "random", "he")]
imported = time.perf_counter()
with compile_notices(notices.append):
    train_batch(mlp, inits, data.X_train, data.y_train, iterations=ITERATIONS, engine="numba",
                dtype=np.DTYPE)
trained = time.perf_counter()
compiled = [n.seconds for n in notices if n.stage == "end"]
print(json.dumps({"imports_s": imported - start, "first_call_s": trained - imported,
                  "reported_compile_s": compiled[0] if compiled else None}))
"""


def run_once(source: str | None, cache: str, iterations: int, dtype: str) -> dict[str, Any]:
    """One fresh process; its own timings plus the wall and CPU seconds of the whole."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([source, env.get("PYTHONPATH", "")])
    code = SNIPPET.replace("ITERATIONS", str(iterations)).replace("DTYPE", dtype)
    before = os.times()
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return {**json.loads(out.splitlines()[-1]), "process_s": wall, "cpu_s": cpu}


def summarize(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    keys = ("process_s", "cpu_s", "imports_s", "first_call_s", "reported_compile_s")
    summary: dict[str, float | None] = {}
    for key in keys:
        values = [run[key] for run in runs if run[key] is not None]
        summary[key] = statistics.median(values) if values else None
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=15_000)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--source", type=Path, help="another checkout's src folder to time")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    sources: dict[str, str | None] = {"this": None}
    if args.source is not None:
        sources["source"] = str(args.source.resolve())
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        name: {"cold": [], "warm": []} for name in sources
    }
    with tempfile.TemporaryDirectory() as folder:
        warm = {name: str(Path(folder, f"warm-{name}")) for name in sources}
        for name, source in sources.items():  # fill the warm caches
            run_once(source, warm[name], 10, args.dtype)
        for trial in range(args.trials):
            for name, source in sources.items():
                cold = str(Path(folder, f"cold-{name}-{trial}"))
                runs[name]["cold"].append(run_once(source, cold, args.iterations, args.dtype))
                runs[name]["warm"].append(run_once(source, warm[name], args.iterations, args.dtype))

    result: dict[str, Any] = {
        "benchmark": "the compiled engine's first run: cold vs warm Numba cache",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "trials": args.trials,
        "iterations": args.iterations,
        "dtype": args.dtype,
        "target_compile_s": 5.0,
    }
    for name in sources:
        cold, warm = summarize(runs[name]["cold"]), summarize(runs[name]["warm"])
        compile_s = statistics.median(
            c["first_call_s"] - w["first_call_s"]
            for c, w in zip(runs[name]["cold"], runs[name]["warm"], strict=True)
        )
        result[name] = {
            "source": sources[name] or "this checkout",
            "cold": cold,
            "warm": warm,
            "compile_s": compile_s,
            "runs": runs[name],
        }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.trials} trials, {args.iterations} iterations, {args.dtype}, medians:")
    for name in sources:
        entry = result[name]
        cold, warm = entry["cold"], entry["warm"]
        reported = cold["reported_compile_s"]
        print(
            f"{entry['source']}:\n"
            f"  whole process: cold {cold['process_s']:.2f} s (CPU {cold['cpu_s']:.2f} s), "
            f"warm {warm['process_s']:.2f} s (CPU {warm['cpu_s']:.2f} s)\n"
            f"  first train_batch: cold {cold['first_call_s']:.2f} s, "
            f"warm {warm['first_call_s']:.2f} s → compile {entry['compile_s']:.2f} s "
            f"(target ≤ 5 s)"
            + (f"; the engine's notice: {reported:.2f} s" if reported is not None else "")
        )


if __name__ == "__main__":
    main()
