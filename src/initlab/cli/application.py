"""The Typer app of the ``initlab`` command: its root options and the list of its commands, in
the order ``--help`` shows them (see :mod:`initlab.cli` for the command line's conventions).
The commands live in :mod:`~initlab.cli.commands`, :mod:`~initlab.cli.sweep` and
:mod:`~initlab.cli.serve`; their tables in :mod:`~initlab.cli.tables`, their files in
:mod:`~initlab.cli.output`. Each imports the heavy libraries only when it runs, so
``initlab --help`` starts at once.
"""

from __future__ import annotations

from typing import Annotated

import typer

import initlab
from initlab.cli.commands import compare_command, diagnose_command, list_command, theory_command
from initlab.cli.common import Command, Group
from initlab.cli.serve import serve_command
from initlab.cli.sweep import report_command, sweep_command

__all__ = ["app"]

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
