"""What every ``initlab`` command shares: exit codes, errors, argument parsing, progress, and
the command classes that keep start-up light.

Kept free of heavy imports (scikit-learn, matplotlib, the training code), so that
``initlab --help`` loads nothing a command has not asked for.
"""

from __future__ import annotations

import contextlib
import gc
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import typer
import typer.core
from rich.console import Console

from initlab.rng import NOTEBOOK, Seed

if TYPE_CHECKING:
    from rich.table import Table

    from initlab.progress import ProgressHook

EXIT_USAGE = 2
"""Exit code for invalid arguments, whether the CLI or the library rejects them."""
EXIT_IO = 1
"""Exit code for a file that cannot be read or written (any ``OSError``): one line names the
path and the reason."""
EXIT_INTERRUPTED = 130
"""Exit code of a command stopped by Ctrl-C or SIGTERM (128 + SIGINT, the shell's convention)."""

INT64_MAX = 2**63 - 1
"""The largest integer an option may take: counts and sizes reach NumPy and the compiled
engine as 64-bit integers, where a larger one raised ``OverflowError`` deep in training."""


class Group(typer.core.TyperGroup):
    """The ``initlab`` app's group: Typer's, with the help flag of :func:`light_help_flag`."""

    def get_help_option(self, ctx: Any) -> typer.core.TyperOption | None:
        return light_help_flag(super().get_help_option(ctx))


class Command(typer.core.TyperCommand):
    """An ``initlab`` command: Typer's, with the help flag of :func:`light_help_flag`, parse
    errors that repeat the bad value (:func:`echo_bad_value`), integers checked to fit 64 bits
    (:func:`check_int64`) and every ``OSError`` turned into one line (:func:`os_error_line`)."""

    def get_help_option(self, ctx: Any) -> typer.core.TyperOption | None:
        return light_help_flag(super().get_help_option(ctx))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            rest = super().parse_args(ctx, args)
        except typer.BadParameter as exc:
            echo_bad_value(exc)
            raise
        check_int64(ctx, self.params)
        return rest

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # a closed stdout (``| head``): Typer exits quietly
        except OSError as exc:
            fail(os_error_line(exc), EXIT_IO)


def echo_bad_value(exc: typer.BadParameter) -> None:
    """Append ``Received: 'abc'`` to a parse error that does not show the value.

    Typer checks option values with pydantic, whose message ("Input should be a valid number,
    unable to parse string as a number") leaves out what the user typed; the value is in the
    validation error that caused it."""
    errors = getattr(exc.__cause__, "errors", None)
    if not callable(errors):
        return
    found = [e["input"] for e in errors() if isinstance(e, dict) and "input" in e]
    if found and repr(found[0]) not in exc.message:
        exc.message = f"{exc.message.rstrip('.')}. Received: {found[0]!r}"


def check_int64(ctx: Any, params: list[Any]) -> None:
    """Refuse an integer option beyond ±:data:`INT64_MAX`, naming the option and the value."""
    for param in params:
        values = ctx.params.get(param.name)
        for value in values if isinstance(values, list | tuple) else [values]:
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
                raise typer.BadParameter(
                    f"{value} does not fit in a 64-bit integer (at most {INT64_MAX:,}).",
                    ctx=ctx,
                    param=param,
                )


def os_error_line(exc: OSError) -> str:
    """One line for a file that could not be read or written: the path(s) and the reason.

    >>> os_error_line(IsADirectoryError(21, "Is a directory", "out"))
    "'out': Is a directory"
    """
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    reason = exc.strerror or str(exc)
    if not paths:
        return reason
    if any(path in reason for path in paths):  # the library's own message names the path
        return reason
    return f"{' -> '.join(repr(p) for p in paths)}: {reason}"


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


@contextlib.contextmanager
def interrupted_by_sigterm() -> Iterator[None]:
    """Inside the block, SIGTERM raises ``KeyboardInterrupt`` as Ctrl-C does, so a command
    stopped by ``kill`` (or a service manager) cleans up and exits as it would on Ctrl-C;
    the previous handler is restored after. Only the main thread can install handlers: from
    another, the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def echo_warnings(category: type[Warning] = UserWarning) -> Iterator[None]:
    """Print the warnings of ``category`` raised inside the block as ``Warning: message`` lines
    on stderr (each once, after the block, even when it fails), instead of Python's two-line
    format with a source line."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", category)
        try:
            yield
        finally:
            for message in dict.fromkeys(str(w.message) for w in caught):
                typer.echo(f"Warning: {message}", err=True)


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
    """A spinner with ``message`` on stderr while the block runs (drawing figures), only when
    stderr is a terminal (training has :func:`training_progress`).

    Yields ``say(text)``, which prints a line on stderr above the spinner (or plainly where
    there is no spinner); nothing when disabled.
    """
    console = Console(stderr=True)
    if not enabled:
        yield lambda text: None
    elif console.is_terminal:
        with console.status(message):
            yield lambda text: console.print(text, highlight=False)
    else:
        yield lambda text: typer.echo(text, err=True)


@contextlib.contextmanager
def training_progress(
    labels: Sequence[str], enabled: bool, console: Console | None = None
) -> Iterator[tuple[Callable[[str], None], ProgressHook | None]]:
    """One progress bar per run on stderr while training — the run's label, the iterations
    done of those asked for, and the time left — only when stderr is a terminal.

    Yields ``(say, hook)``. ``say(text)`` prints a line on stderr above the bars (plainly
    where there are none; nothing when disabled), for news such as a compilation starting.
    ``hook`` is the :data:`~initlab.progress.ProgressHook` to train with, one count per
    label; ``None`` (nothing to count, no bars) when disabled or stderr is not a terminal.
    The bars appear at the hook's first call, when training starts, so an argument refused
    before it leaves none behind. ``rich.progress`` is imported only when bars are shown.
    """
    console = console or Console(stderr=True)
    if not enabled:
        yield (lambda text: None), None
        return
    if not console.is_terminal:
        yield (lambda text: typer.echo(text, err=True)), None
        return
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

    def say(text: str) -> None:
        console.print(text, highlight=False, markup=False)

    shown: list[tuple[Progress, list[TaskID]]] = []

    def hook(done: Sequence[int], total: int) -> None:
        if not shown:
            digits = len(f"{total:,}")
            bars = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                TextColumn(f"{{task.completed:>{digits},.0f}}/{total:,} iterations"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
                redirect_stdout=False,  # stdout may be a pipe or a file: not the terminal's
            )
            bars.start()
            shown.append((bars, [bars.add_task(label, total=total) for label in labels]))
        bars, tasks = shown[0]
        for task, count in zip(tasks, done):
            bars.update(task, completed=count)

    try:
        yield say, hook
    finally:
        for bars, _ in shown:
            bars.stop()


def print_wide(console: Console, table: Table) -> None:
    """Print a table at its natural width, so full-precision numbers are never cut."""
    width = console.measure(table, options=console.options.update(width=10_000)).maximum
    console.width = max(console.width, width)  # print() alone clamps to the console's width
    console.print(table, crop=False)


NUMBA_BLAS_PROBE = "scipy.linalg.cython_blas"
"""What importing ``numba.np.arraymath`` imports to see whether jitted code may call BLAS."""


def load_numba_without_blas_probe() -> None:
    """Import Numba's array library for the compiled engine, telling its BLAS probe "none".

    Loading any compiled kernel imports ``numba.np.arraymath``, which probes for a BLAS by
    importing ``scipy.linalg`` (0.1 s of a 1.4 s ``initlab compare``) so that ``np.dot`` and
    ``np.linalg`` work inside jitted code. initlab's kernels call neither. A command, which
    runs no jitted code but initlab's, imports it with the probe's module marked absent
    (``numba.np.arraymath._HAVE_BLAS`` is then False) and unmarks it at once, so SciPy itself
    still imports normally; the library never does this, so a user's own jitted code in their
    own process keeps Numba's BLAS. Nothing happens where Numba is missing, or where the probe
    has run or SciPy's BLAS is loaded already.
    """
    if "numba.np.arraymath" in sys.modules or NUMBA_BLAS_PROBE in sys.modules:
        return
    sys.modules[NUMBA_BLAS_PROBE] = None  # type: ignore[assignment]  # "import fails"
    try:
        import numba.np.arraymath  # noqa: F401
    except ImportError:
        pass
    finally:
        if sys.modules.get(NUMBA_BLAS_PROBE, "") is None:
            del sys.modules[NUMBA_BLAS_PROBE]
