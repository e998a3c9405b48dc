"""Whole processes, timed as a user meets them: initlab's commands against the notebook's script.

Each case is one command line run in a fresh process, from start to exit, in its own
temporary folder (figures and records land there). Every round runs every case once, in a
rotated order, so a case and its baseline are measured minutes apart at most and drift on a
shared machine affects both; the table gives, per case, the median seconds over the rounds
and the median of the per-round ratios to its baseline (paired):

- start-up (``--help``, ``list``, ``compare --help``) against ``python -c "import numpy"``:
  target at most 4× that;
- the main job (``initlab compare`` with its figures, warm Numba cache) against the plain
  script: the course's 3-layer loop in plain NumPy (``notebook_loop`` of
  :mod:`bench_compare`), data from scikit-learn's ``make_circles`` as the course's
  ``load_dataset`` draws it, the three initializations, ``--iterations`` each; target at most
  1/3 of its time (goal 1/4). The script reports its own split (imports and data, training).
- the first run on a machine: ``initlab compare`` with its Numba cache emptied before every
  run (the compile announced and cached), against the warm ``initlab compare``;
- ``initlab diagnose --every 100`` against ``initlab compare``: target at most 1.5×.
- ``MLPClassifier`` on ``load_digits`` (500 Adam iterations): the engine against the readable
  loop, each a whole process;
- the playground's fast-forward (``initlab serve`` started, a session of the notebook's three
  runs created and stepped to ``--iterations`` as the page reopens a link: step requests of
  ``max_step`` iterations; the server stopped) against the plain script, which trains the same
  three runs. The script reports its split (server start, fast-forward).

Every case is run once before the rounds (the warm-up fills the Numba cache and the file
cache), except those marked otherwise (the plain script, which has nothing to warm, and the
empty-cache case).

initlab's modules are byte-compiled first (``compileall``), as ``pip install`` compiles an
installed package and as NumPy's and scikit-learn's, which the plain script imports, are: on
a machine with ``PYTHONDONTWRITEBYTECODE=1`` and an editable install, every process would
otherwise compile all of initlab's modules from source again (about 0.13 s of an
``initlab compare`` here). ``--source`` skips that, to measure that setting.

Adding a case: append a :class:`Case` in :func:`cases` — a name, the command, the baseline
it is measured against and its target; ``env`` adds environment variables and ``setup(folder)``
runs before every timed run, untimed (e.g. emptying a Numba cache folder in ``env`` for a
cold-cache case).

Run:  python benchmarks/bench_e2e.py [--rounds 5] [--iterations 15000] [--json PATH]
      [--only NAME ...]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    """One command line, timed as a whole process.

    ``baseline`` names the case it is compared with (``None``: none); ``target`` is the
    largest acceptable time ratio case / baseline (``None``: no target).
    """

    name: str
    argv: list[str]
    baseline: str | None = None
    target: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None
    warm_up: bool = True
    phases: bool = False
    """The command prints a JSON object of its own phase timings as its last stdout line."""


def notebook_loop_source() -> str:
    """The source of ``bench_compare.notebook_loop``, the course's loop in plain NumPy.

    Taken from the file rather than imported: importing :mod:`bench_compare` would also load
    initlab into the plain script's process, and the plain script uses NumPy alone.
    """
    path = HERE / "bench_compare.py"
    text = path.read_text(encoding="utf-8")
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == "notebook_loop":
            source = ast.get_source_segment(text, node)
            assert source is not None
            return source
    raise LookupError(f"no notebook_loop in {path}")  # pragma: no cover


PLAIN_SCRIPT = """\
import json, math, time
t0 = time.perf_counter()
import numpy as np
import sklearn.datasets

# The course's load_dataset(): train and test circles after np.random.seed(1) and (2).
np.random.seed(1)
train_X, train_Y = sklearn.datasets.make_circles(n_samples=300, noise=.05)
np.random.seed(2)
test_X, test_Y = sklearn.datasets.make_circles(n_samples=100, noise=.05)
X, Y = train_X.T, train_Y.reshape((1, train_X.shape[0]))
t1 = time.perf_counter()

{loop}

for init in ("zeros", "random", "he"):
    notebook_loop(X, Y, init, {iterations})
t2 = time.perf_counter()
print(json.dumps({{"imports and data": t1 - t0, "training": t2 - t1}}))
"""


def initlab_command() -> list[str]:
    """The ``initlab`` console script beside this Python, else ``python -m initlab.cli``."""
    script = Path(sys.executable).with_name("initlab")
    if script.exists():
        return [str(script)]
    found = shutil.which("initlab")
    return [found] if found else [sys.executable, "-m", "initlab.cli"]


COLD_CACHE = Path(tempfile.gettempdir()) / "initlab-bench-e2e-cold-numba-cache"


def empty_cold_cache(folder: Path) -> None:
    """Empty the cold case's Numba cache (its own folder: the warm cache is left alone)."""
    shutil.rmtree(COLD_CACHE, ignore_errors=True)
    COLD_CACHE.mkdir(parents=True)


NUMPY = "python -c 'import numpy'"
PLAIN = "plain NumPy script"
COMPARE = "initlab compare"


def cases(iterations: int) -> list[Case]:
    """Every case, in the table's order. Append new ones here."""
    initlab = initlab_command()
    n = ["--iterations", str(iterations)]
    plain = PLAIN_SCRIPT.format(loop=notebook_loop_source(), iterations=iterations)
    return [
        Case(NUMPY, [sys.executable, "-c", "import numpy"]),
        Case("initlab --help", [*initlab, "--help"], NUMPY, 4.0),
        Case("initlab list", [*initlab, "list"], NUMPY, 4.0),
        Case("initlab compare --help", [*initlab, "compare", "--help"], NUMPY, 4.0),
        Case(PLAIN, [sys.executable, "-c", plain], warm_up=False, phases=True),
        Case(COMPARE, [*initlab, "compare", *n, "--out", "out"], PLAIN, 1 / 3),
        Case("initlab compare --no-plots", [*initlab, "compare", *n, "--no-plots"], PLAIN),
        # The first run on a machine: the Numba cache emptied before every run (the compile
        # is announced on stderr), against the same command on the warm cache.
        Case(
            "initlab compare, empty engine cache",
            [*initlab, "compare", *n, "--out", "out"],
            COMPARE,
            env={"NUMBA_CACHE_DIR": str(COLD_CACHE)},
            setup=empty_cold_cache,
            warm_up=False,
        ),
        Case(
            "initlab diagnose --every 100",
            [*initlab, "diagnose", *n, "--every", "100", "--out", "out"],
            COMPARE,
            1.5,
        ),
        # The estimator on load_digits, 500 Adam iterations, BLAS left at its default threads
        # (initlab limits them inside training): the engine against the readable loop.
        Case("MLPClassifier digits (reference)", [sys.executable, "-c", DIGITS % "reference"]),
        Case(
            "MLPClassifier digits (engine)",
            [sys.executable, "-c", DIGITS % "auto"],
            "MLPClassifier digits (reference)",
        ),
        Case(
            "playground fast-forward",
            [sys.executable, "-c", PLAYGROUND.format(initlab=initlab, iterations=iterations)],
            PLAIN,
            phases=True,
        ),
    ]


DIGITS = """
from sklearn.datasets import load_digits
from initlab import MLPClassifier
X, y = load_digits(return_X_y=True)
MLPClassifier(hidden_layer_sizes=(10, 5), init="he", learning_rate_init=0.001, alpha=0,
              batch_size=None, max_iter=500, tol=None, random_state=0,
              engine="%s").fit(X / 16.0, y)
"""


PLAYGROUND = """
import json, re, subprocess, time, urllib.request
t0 = time.perf_counter()
server = subprocess.Popen({initlab} + ["serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
url = server.stdout.readline().split()[2].rstrip("/")
token = ""

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers={{
        "Content-Type": "application/json", "X-Initlab-Token": token}})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")

try:
    for _ in range(600):  # the server answers once uvicorn has started
        try:
            page = urllib.request.urlopen(url + "/").read().decode()
            break
        except OSError:
            time.sleep(0.05)
    found = re.search('<meta name="initlab-token" content="([^"]*)"', page)
    token = found.group(1) if found else ""
    t1 = time.perf_counter()
    limits = call("GET", "/api/options")["limits"]
    sid = call("POST", "/api/sessions", {{"inits": [{{"name": n}} for n in
                                                   ("zeros", "random", "he")]}})["session"]
    iteration = 0
    while iteration < {iterations}:
        n = min(limits["max_step"], {iterations} - iteration)
        frame = call("POST", f"/api/sessions/{{sid}}/step", {{"iterations": n, "since": iteration}})
        iteration = frame["iteration"]
    t2 = time.perf_counter()
finally:
    server.terminate()
    server.wait()
print(json.dumps({{"server start": t1 - t0, "fast-forward": t2 - t1}}))
"""
"""The page reopening a link at ``iterations`` (its ``fastForward``), in a whole process:
``initlab serve`` started, the notebook's three runs fast-forwarded, the server stopped."""


def machine() -> dict[str, Any]:
    """What the timings depend on: the CPU (its model, from /proc/cpuinfo where there is
    one), the core count, and the versions of Python and NumPy."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    numpy = subprocess.run(
        [sys.executable, "-c", "import numpy; print(numpy.__version__)"],
        capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version(), "numpy": numpy}


def run_once(case: Case, folder: Path) -> tuple[float, dict[str, float]]:
    """Seconds of one run of ``case`` in ``folder`` (setup excluded), and its phases."""
    if case.setup is not None:
        case.setup(folder)
    env = {**os.environ, **case.env}
    start = time.perf_counter()
    done = subprocess.run(case.argv, cwd=folder, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{case.name} exited {done.returncode}:\n{done.stderr[-2000:]}")
    phases = json.loads(done.stdout.strip().splitlines()[-1]) if case.phases else {}
    return seconds, phases


def measure(chosen: list[Case], rounds: int) -> dict[str, dict[str, Any]]:
    """Per case: its seconds per round, and its phases' seconds per round."""
    times: dict[str, list[float]] = {c.name: [] for c in chosen}
    phases: dict[str, dict[str, list[float]]] = {c.name: {} for c in chosen}
    with tempfile.TemporaryDirectory(prefix="initlab-e2e-") as tmp:
        folders = {c.name: Path(tmp) / f"case{i}" for i, c in enumerate(chosen)}
        for path in folders.values():
            path.mkdir()
        for case in chosen:
            if case.warm_up:
                run_once(case, folders[case.name])
        for r in range(rounds):
            order = chosen[r % len(chosen) :] + chosen[: r % len(chosen)]
            for case in order:
                seconds, split = run_once(case, folders[case.name])
                times[case.name].append(seconds)
                for phase, value in split.items():
                    phases[case.name].setdefault(phase, []).append(value)
                print(f"  round {r + 1}/{rounds}  {seconds:7.3f} s  {case.name}", file=sys.stderr)
    return {name: {"seconds": times[name], "phases": phases[name]} for name in times}


def summarise(chosen: list[Case], raw: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per case: median seconds, paired median ratio to its baseline, the target."""
    rows = []
    for case in chosen:
        seconds = raw[case.name]["seconds"]
        row: dict[str, Any] = {
            "case": case.name,
            "median_s": statistics.median(seconds),
            "min_s": min(seconds),
            "max_s": max(seconds),
            "phases_median_s": {
                k: statistics.median(v) for k, v in raw[case.name]["phases"].items()
            },
            "baseline": case.baseline,
            "ratio": None,
            "target": case.target,
            "meets_target": None,
        }
        if case.baseline is not None and case.baseline in raw:
            base = raw[case.baseline]["seconds"]
            row["ratio"] = statistics.median(s / b for s, b in zip(seconds, base))
            if case.target is not None:
                row["meets_target"] = row["ratio"] <= case.target
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """The rows as a text table; a phase split, where a case reports one, under its row."""
    width = max(len(row["case"]) for row in rows)
    print(f"{'case':<{width}}  {'median':>8}  {'min..max':>13}  {'ratio':>20}  {'target':<16}  of")
    for row in rows:
        spread = f"{row['min_s']:.2f}..{row['max_s']:.2f}"
        ratio = target = ""
        if row["ratio"] is not None:
            ratio = f"{row['ratio']:.2f}×"
            if row["ratio"] < 1:
                ratio += f" ({1 / row['ratio']:.2f}× faster)"
        if row["target"] is not None:
            target = f"≤ {row['target']:.2f}×"
            target += "  ok" if row["meets_target"] else "  MISSED"
        print(
            f"{row['case']:<{width}}  {row['median_s']:7.3f}s  {spread:>13}  {ratio:>20}  "
            f"{target:<16}  {row['baseline'] or ''}"
        )
        for phase, value in row["phases_median_s"].items():
            print(f"{'':<{width}}    {phase}: {value:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=15_000)
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run only this case (and its baseline)"
    )
    parser.add_argument(
        "--source",
        action="store_true",
        help="do not byte-compile initlab first (as an editable install never writing .pyc)",
    )
    args = parser.parse_args()
    if not args.source:
        import compileall

        import initlab

        compileall.compile_dir(Path(initlab.__file__).parent, quiet=1)

    every = cases(args.iterations)
    by_name = {case.name: case for case in every}
    chosen = every
    if args.only:
        wanted = set(args.only)
        for name in list(wanted):
            if name not in by_name:
                parser.error(f"unknown case {name!r}; known: {', '.join(by_name)}")
            baseline = by_name[name].baseline
            while baseline is not None:
                wanted.add(baseline)
                baseline = by_name[baseline].baseline
        chosen = [case for case in every if case.name in wanted]

    about = machine()
    raw = measure(chosen, args.rounds)
    rows = summarise(chosen, raw)
    compiled = "from source" if args.source else "byte-compiled"
    print(", ".join(f"{key} {value}" for key, value in about.items())
          + f", {args.rounds} rounds, initlab {compiled}")  # fmt: skip
    print_table(rows)
    if args.json is not None:
        result = {
            "benchmark": "whole processes, paired and interleaved",
            "rounds": args.rounds,
            "iterations": args.iterations,
            **about,
            "cases": rows,
            "raw": raw,
        }
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
