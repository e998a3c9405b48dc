"""The ``initlab`` command line: reproduce the course's comparison, list what is registered.

Only this layer prints and writes files; the library returns values. Library errors
(``ValueError``: an unknown name, a bad layer list, a non-positive learning rate, …) are
printed as ``Error: <message>`` on stderr with exit code 2, never as a traceback; so are
options that do not parse (the message repeats the value) or an integer beyond 64 bits. A file
the system will not read or write (any ``OSError``: a folder given as ``--out``, a full disk)
is one ``Error:`` line naming the path and the reason, exit code 1. Ctrl-C and SIGTERM stop a
sweep with exit code 130, keeping the runs already stored.

This module is the Typer app: its root options and the list of its commands, in the order
``--help`` shows them. The commands live in :mod:`~initlab.cli.commands`,
:mod:`~initlab.cli.sweep` and :mod:`~initlab.cli.serve`; their tables in
:mod:`~initlab.cli.tables`, their files in :mod:`~initlab.cli.output`. Each imports the
heavy libraries only when it runs, so ``initlab --help`` starts at once.
"""

from __future__ import annotations

import gc
from typing import Annotated

import typer

import initlab
from initlab.cli.commands import compare_command, diagnose_command, list_command, theory_command
from initlab.cli.common import EXIT_IO, EXIT_USAGE, Command, Group, fail, parse_layers, parse_seed
from initlab.cli.serve import serve_command
from initlab.cli.sweep import report_command, sweep_command

__all__ = ["EXIT_IO", "EXIT_USAGE", "app", "fail", "main", "parse_layers", "parse_seed"]

app = typer.Typer(
    name="initlab",
    cls=Group,
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"initlab {initlab.__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=version_callback,
            is_eager=True,
            help="Show initlab's version and exit.",
        ),
    ] = False,
) -> None:
    """initlab: a laboratory for neural-network weight initialization.

    Reproduce the course's experiment (zeros vs large random vs He initialization of a
    [2, 10, 5, 1] ReLU network on the circles data), vary it, and see why each
    initialization trains the way it does.
    """


app.command("compare", cls=Command)(compare_command)
app.command("diagnose", cls=Command)(diagnose_command)
app.command("theory", cls=Command)(theory_command)
app.command("sweep", cls=Command)(sweep_command)
app.command("report", cls=Command)(report_command)
app.command("list", cls=Command)(list_command)
app.command("serve", cls=Command)(serve_command)


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
        app(prog_name="initlab")
    finally:
        gc.freeze()
