"""The ``initlab`` command line: reproduce the course's comparison, list what is registered.

Only this layer prints and writes files; the library returns values. Library errors
(``ValueError``: an unknown name, a bad layer list, a non-positive learning rate, …) are
printed as ``Error: <message>`` on stderr with exit code 2, never as a traceback; so are
options that do not parse (the message repeats the value) or an integer beyond 64 bits. A file
the system will not read or write (any ``OSError``: a folder given as ``--out``, a full disk)
is one ``Error:`` line naming the path and the reason, exit code 1. Ctrl-C and SIGTERM stop a
sweep with exit code 130, keeping the runs already stored.

The Typer app is :mod:`~initlab.cli.application`; this package's root only holds the entry
point and loads the rest on first use (PEP 562), so that the figure process
(:mod:`~initlab.cli.drawing`), which imports :mod:`~initlab.cli.output`, does not load Typer
and every command.
"""

from __future__ import annotations

import gc
from typing import Any

__all__ = ["EXIT_IO", "EXIT_USAGE", "app", "fail", "main", "parse_layers", "parse_seed"]

_FROM = {"app": "application", "EXIT_IO": "common", "EXIT_USAGE": "common", "fail": "common",
         "parse_layers": "common", "parse_seed": "common"}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _FROM:
        import importlib

        return getattr(importlib.import_module(f"initlab.cli.{_FROM[name]}"), name)
    raise AttributeError(f"module 'initlab.cli' has no attribute {name!r}")


def main() -> None:
    """Console-script entry point (``initlab``).

    The cyclic garbage collector is off for the run and its objects frozen before exit:
    importing NumPy, Numba and matplotlib leaves ~150,000 long-lived objects, and the
    collector's full passes over them, which free nothing, took ~0.15 s of ``initlab
    compare`` and ~0.3 s of its exit (reference counting still frees everything else at once).
    The commands that run for long turn it back on (:func:`~initlab.cli.common.long_running`).
    """
    gc.disable()
    try:
        from initlab.cli.application import app

        app(prog_name="initlab")
    finally:
        gc.freeze()
