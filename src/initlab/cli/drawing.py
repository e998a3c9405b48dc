"""Figures drawn by a second process that starts with the command and imports matplotlib
while the command trains.

``initlab compare`` spends about a third of its time on its figure: ~0.3–0.45 s importing
matplotlib and :mod:`initlab.plots`, then ~0.5 s building and saving ``comparison.png``;
before that, loading the compiled engine (~0.45 s) and training (~0.3 s) run on one core for
most of the time. Importing is Python code holding the GIL, so a thread cannot overlap the
two imports; a second process can. On a machine with two or more cores,
:class:`FigureProcess` starts ``python -m initlab.cli.drawing`` when the command starts. The
child imports matplotlib and the plotting code, then waits for one job on its stdin: a
pickle of the name of a function of :mod:`initlab.cli.output` and its arguments (the
comparison, the output folder, …), written by its parent, never by anyone else. It runs the
job and answers on its stdout, in JSON, with the files written or the ``OSError`` that
stopped it. All figures are drawn in that one process, each once.

Where the child cannot start, dies, or answers anything else, the parent draws the figures
itself, as it does on a single core: the files are the same either way (the same code draws
them), only the time differs.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["JOBS", "FigureProcess", "figure_process"]

JOBS = ("write_figures", "write_diagnostics", "write_diagnostic_figures")
"""The functions of :mod:`initlab.cli.output` the child runs (and nothing else)."""


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class FigureProcess:
    """A child process that imports matplotlib now and draws one job later.

    ``FigureProcess(start=False)``, or a machine with one usable core, starts nothing:
    :meth:`draw` then draws in this process.
    """

    def __init__(self, start: bool = True) -> None:
        self._child: subprocess.Popen[bytes] | None = None
        if start and _usable_cpus() >= 2:
            package_root = str(Path(__file__).resolve().parents[2])
            path = os.environ.get("PYTHONPATH")
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (package_root, path)))}
            with contextlib.suppress(OSError):
                self._child = subprocess.Popen(
                    [sys.executable, "-m", "initlab.cli.drawing"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )

    @property
    def started(self) -> bool:
        """Whether a child process was started (figures may still fall back to this one)."""
        return self._child is not None

    def send(self, job: str, *args: Any, **kwargs: Any) -> None:
        """Hand ``output.<job>(*args, **kwargs)`` to the child, which starts on it at once;
        :meth:`result` waits for its answer. Without a child the job waits for
        :meth:`result`, which runs it here."""
        if job not in JOBS:
            raise ValueError(f"unknown drawing job {job!r}; the jobs are {', '.join(JOBS)}")
        self._job = (job, args, kwargs)
        child = self._child
        if child is None or child.stdin is None:
            return
        try:
            child.stdin.write(pickle.dumps(self._job, protocol=pickle.HIGHEST_PROTOCOL))
            child.stdin.close()
        except OSError:  # the child is gone: draw here
            self.close()

    def result(self) -> list[Path]:
        """The files the job wrote. An ``OSError`` of the job (a folder that cannot be
        written) is raised here, with its message."""
        job, args, kwargs = self._job
        child = self._child
        if child is not None:
            answer = child.stdout.read() if child.stdout is not None else b""
            child.wait()  # it has answered: it is exiting
            self.close()
            try:
                reply = json.loads(answer)
            except ValueError:
                reply = None
            if child.returncode == 0 and isinstance(reply, dict):
                if "error" in reply:
                    raise OSError(str(reply["error"]))
                return [Path(name) for name in reply["written"]]
        from initlab.cli import output

        written: list[Path] = getattr(output, job)(*args, **kwargs)
        return written

    def close(self) -> None:
        """Stop the child if it has not answered (a command that failed, or drew nothing),
        and close its pipes."""
        child, self._child = self._child, None
        if child is None:
            return
        if child.poll() is None:
            child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


@contextlib.contextmanager
def figure_process(start: bool = True) -> Iterator[FigureProcess]:
    """A :class:`FigureProcess`, stopped on leaving the block whatever happened."""
    process = FigureProcess(start)
    try:
        yield process
    finally:
        process.close()


def _warm_up() -> None:
    """Draw a small figure with the kinds of artist the real ones use (a log axis, a line
    with markers, titles over several lines, filled contours, a scatter), while the parent
    still trains: loading the fonts and filling matplotlib's caches then costs nothing later
    (~0.08 s of the first ``comparison.png`` measured)."""
    import io

    from matplotlib.figure import Figure

    fig = Figure((3.0, 2.0))
    cost, boundary = fig.subplots(1, 2)
    cost.set_yscale("log")
    cost.plot([0.0, 1.0], [1.0, 100.0], marker=".")
    cost.set_title("cost\ncurve", fontsize="medium")
    cost.set_xlabel("iteration")
    boundary.contourf([[0.0, 1.0], [1.0, 0.0]], levels=[0.0, 0.5, 1.0], alpha=0.6)
    boundary.scatter([0.5], [0.5], c=[1.0], edgecolors="k")
    fig.suptitle("warm-up", fontsize="large")
    fig.savefig(io.BytesIO(), format="png", dpi=100)


def _serve() -> int:
    """The child: import the plotting code, then run the one job read from stdin."""
    gc.disable()  # a short process: see initlab.cli.main
    import matplotlib

    matplotlib.use("Agg")
    import initlab.plots  # noqa: F401  (imported now, while the parent trains)
    from initlab.cli import output

    _warm_up()
    payload = sys.stdin.buffer.read()
    if not payload:  # the parent drew nothing
        return 0
    job, args, kwargs = pickle.loads(payload)  # from our parent only: see the module's doc
    if job not in JOBS:
        return 1
    try:
        written = getattr(output, job)(*args, **kwargs)
    except OSError as exc:
        reply: dict[str, Any] = {"error": str(exc)}
    else:
        reply = {"written": [str(path) for path in written]}
    sys.stdout.write(json.dumps(reply))
    sys.stdout.flush()
    gc.freeze()
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
