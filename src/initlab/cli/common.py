"""What every ``initlab`` command shares: exit codes, errors, argument parsing, progress, and
the command classes that keep start-up light.

Kept free of heavy imports (scikit-learn, matplotlib, the training code), so that
``initlab --help`` loads nothing a command has not asked for.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import typer
import typer.core
from rich.console import Console

from initlab.rng import NOTEBOOK, Seed

if TYPE_CHECKING:
    from rich.table import Table

EXIT_USAGE = 2
"""Exit code for invalid arguments, whether the CLI or the library rejects them."""
EXIT_IO = 1


class Group(typer.core.TyperGroup):
    """The ``initlab`` app's group: Typer's, with the help flag of :func:`light_help_flag`."""

    def get_help_option(self, ctx: Any) -> typer.core.TyperOption | None:
        return light_help_flag(super().get_help_option(ctx))


class Command(typer.core.TyperCommand):
    """An ``initlab`` command: Typer's, with the help flag of :func:`light_help_flag`."""

    def get_help_option(self, ctx: Any) -> typer.core.TyperOption | None:
        return light_help_flag(super().get_help_option(ctx))


def light_help_flag(option: typer.core.TyperOption | None) -> typer.core.TyperOption | None:
    """``--help`` with the default ``False`` instead of ``None``.

    Typer checks every option's value with a pydantic ``TypeAdapter`` built on first use, and
    skips that only for a flag whose value is already a bool. Its ``--help`` flag has no
    default, so without this every command line (``initlab list`` too) imported pydantic and
    built an adapter for it (about 70 ms); with it, only a command's own options do. Giving
    ``--help`` still shows the help; not giving it does nothing, as before.
    """
    if option is not None and option.default is None:
        option.default = False
    return option


def long_running() -> None:
    """Collect cyclic garbage again, for a command that may run for hours (``sweep``,
    ``serve``): :func:`initlab.cli.main` starts with the collector off; what exists now (the
    imported modules) is frozen out of its passes, the rest is collected as usual."""
    gc.freeze()
    gc.enable()


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``Error: message`` on stderr (plain text, no markup) and exit with ``code``."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def parse_layers(text: str) -> list[int]:
    """``"2,10,5,1"`` → ``[2, 10, 5, 1]``; a bad item is named in the error.

    Sizes are only parsed here; whether they make a valid network is the library's call.
    """
    items = [item.strip() for item in text.split(",")]
    sizes = []
    for item in items:
        try:
            sizes.append(int(item))
        except ValueError:
            from initlab.compare import NOTEBOOK_LAYERS

            default = ",".join(str(n) for n in NOTEBOOK_LAYERS)
            raise ValueError(
                f"--layers must be comma-separated integers such as {default}; "
                f"{item!r} in {text!r} is not an integer"
            ) from None
    return sizes


def parse_seed(text: str) -> Seed:
    """``"notebook"`` (any case) or an integer; the library checks the integer's range."""
    if text.strip().lower() == NOTEBOOK:
        return NOTEBOOK
    try:
        return int(text)
    except ValueError:
        raise ValueError(
            f"Argument `seed` must be a non-negative integer or 'notebook'. Received: seed={text!r}"
        ) from None


@contextlib.contextmanager
def progress(message: str, enabled: bool) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr while training, only when stderr is a terminal.

    Yields ``say(text)``, which prints a line on stderr above the spinner (or plainly where
    there is no spinner), for news such as a compilation starting; nothing when disabled.
    """
    console = Console(stderr=True)
    if not enabled:
        yield lambda text: None
    elif console.is_terminal:
        with console.status(message):
            yield lambda text: console.print(text, highlight=False)
    else:
        yield lambda text: typer.echo(text, err=True)


def print_wide(console: Console, table: Table) -> None:
    """Print a table at its natural width, so full-precision numbers are never cut."""
    width = console.measure(table, options=console.options.update(width=10_000)).maximum
    console.width = max(console.width, width)  # print() alone clamps to the console's width
    console.print(table, crop=False)
