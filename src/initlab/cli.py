"""The ``initlab`` command line: reproduce the course's comparison, list what is registered.

Only this layer prints and writes files; the library returns values. Library errors
(``ValueError``: an unknown name, a bad layer list, a non-positive learning rate, …) are
printed as ``Error: <message>`` on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import numpy as np
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

import initlab
from initlab import activations, datasets, initializers, optim
from initlab._registry import Registry
from initlab.compare import NOTEBOOK_INITS, NOTEBOOK_LAYERS, Comparison, compare
from initlab.rng import NOTEBOOK, Seed

if TYPE_CHECKING:
    from matplotlib.figure import Figure

EXIT_USAGE = 2
"""Exit code for invalid arguments, whether the CLI or the library rejects them."""
EXIT_IO = 1

DEFAULT_LAYERS = ",".join(str(n) for n in NOTEBOOK_LAYERS)

app = typer.Typer(
    name="initlab",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# --- helpers ---------------------------------------------------------------------------


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
            raise ValueError(
                f"--layers must be comma-separated integers such as {DEFAULT_LAYERS}; "
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


def finite_or_none(value: Any) -> Any:
    """A strict-JSON copy of ``value``: NaN and ±inf become ``None`` (null), NumPy scalars and
    arrays become Python numbers and lists."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(item) for item in value]
    return value


def fmt_cost(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def fmt_accuracy(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "—"


def status_text(comparison: Comparison, index: int) -> Text:
    result = comparison.runs[index].result
    if result.diverged:
        return Text(f"diverged at iteration {result.diverged_at}", style="bold red")
    return Text(result.status, style="green")


def safe_stem(name: str) -> str:
    """A file-name-safe version of an init's label (``cost_<stem>.png``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "init"


def figure_names(comparison: Comparison) -> list[str]:
    """One stem per run, made unique (``he``, ``he_2``) when an init is compared twice."""
    seen: dict[str, int] = {}
    stems = []
    for run in comparison.runs:
        stem = safe_stem(run.init)
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
    return stems


def save_figure(fig: Figure, path: Path) -> None:
    """Write ``fig`` as PNG to a temporary file next to ``path``, then rename it into place.

    A run interrupted while saving leaves at most a stray ``.*.part`` file, never a
    half-written ``path``.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as handle:
            fig.savefig(handle, format="png", dpi=100)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_figures(comparison: Comparison, out: Path) -> list[Path]:
    """``comparison.png`` plus ``cost_<init>.png`` and ``boundary_<init>.png`` per run."""
    from initlab import plots  # matplotlib is only needed here

    out.mkdir(parents=True, exist_ok=True)
    data = comparison.dataset
    written = []
    path = out / "comparison.png"
    save_figure(plots.plot_comparison(comparison), path)
    written.append(path)
    for run, stem in zip(comparison.runs, figure_names(comparison)):
        fig, ax = plots.new_figure()
        plots.plot_cost(run.result, ax=ax, label=run.init, logy=True, marker=".")
        ax.set_title(plots.run_title(run, width=70), fontsize="medium")
        path = out / f"cost_{stem}.png"
        save_figure(fig, path)
        written.append(path)

        fig, ax = plots.new_figure((6.0, 6.0))
        plots.plot_run_boundary(run, data.X_train, data.y_train, ax=ax)
        ax.set_aspect("equal")
        ax.set_title(plots.run_title(run, width=60), fontsize="medium")
        path = out / f"boundary_{stem}.png"
        save_figure(fig, path)
        written.append(path)
    return written


def results_table(comparison: Comparison) -> Table:
    table = Table(title=_experiment_line(comparison), title_justify="left")
    table.add_column("init", style="bold")
    table.add_column("status")
    table.add_column("final cost", justify="right")
    table.add_column("train acc", justify="right")
    table.add_column("test acc", justify="right")
    table.add_column("why")
    for index, run in enumerate(comparison.runs):
        table.add_row(
            Text(run.init),
            status_text(comparison, index),
            fmt_cost(run.result.final_cost),
            fmt_accuracy(run.train_accuracy),
            fmt_accuracy(run.test_accuracy),
            Text(run.why),
        )
    return table


def checkpoints_table(comparison: Comparison) -> Table:
    """One row per recorded iteration, one column per init, costs as full ``repr`` floats."""
    every = sorted({i for run in comparison.runs for i in run.result.history.iterations})
    table = Table(title="Cost at every recorded iteration (before that iteration's update)")
    table.add_column("iteration", justify="right", no_wrap=True)
    columns = []
    for run in comparison.runs:
        table.add_column(run.init, justify="right", no_wrap=True)
        history = run.result.history
        columns.append(dict(zip(history.iterations, history.costs)))
    for iteration in every:
        cells = [repr(column[iteration]) if iteration in column else "" for column in columns]
        table.add_row(str(iteration), *cells)
    return table


def _experiment_line(comparison: Comparison) -> str:
    first = comparison.runs[0].result
    activation = comparison.mlp.activation
    act = activation if isinstance(activation, str) else "/".join(activation)
    return (
        f"{comparison.dataset.name} · {list(comparison.mlp.layer_sizes)} {act} · "
        f"lr {first.learning_rate:g} · {first.iterations:,} iterations · seed {comparison.seed}"
        + (f" · {comparison.optimizer}" if comparison.optimizer != "gd" else "")
    )


@contextlib.contextmanager
def progress(message: str, enabled: bool) -> Iterator[None]:
    """A spinner on stderr while training, only when stderr is a terminal."""
    console = Console(stderr=True)
    if enabled and console.is_terminal:
        with console.status(message):
            yield
    else:
        yield


def _print_wide(console: Console, table: Table) -> None:
    """Print a table at its natural width, so full-precision numbers are never cut."""
    width = console.measure(table, options=console.options.update(width=10_000)).maximum
    console.print(table, width=max(console.width, width), crop=False)


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"initlab {initlab.__version__}")
        raise typer.Exit()


# --- commands --------------------------------------------------------------------------


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


@app.command("compare")
def compare_command(
    init: Annotated[
        list[str] | None,
        typer.Option(
            "--init",
            "-i",
            metavar="NAME",
            help=(
                "Initializer to compare; repeat for several. Any registered name or alias "
                "(see `initlab list`)."
            ),
            show_default="zeros, random, he",
        ),
    ] = None,
    iterations: Annotated[
        int, typer.Option("--iterations", "-n", help="Gradient-descent iterations per run.")
    ] = 15_000,
    learning_rate: Annotated[
        float, typer.Option("--learning-rate", "--lr", help="Gradient-descent step size.")
    ] = 0.01,
    seed: Annotated[
        str,
        typer.Option(
            help=(
                "'notebook' for the course's seeding (weights from RandomState(3)), or a "
                "non-negative integer for independent initialization streams."
            ),
        ),
    ] = NOTEBOOK,
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset",
            "-d",
            help=(
                "A registered dataset (see `initlab list`), built with its defaults, or a "
                ".csv (header row, a 'label' column) or .npz (arrays X, y) file."
            ),
        ),
    ] = "circles",
    layers: Annotated[
        str | None,
        typer.Option(
            help=(
                "Layer sizes, comma-separated: input, hidden…, output (1 for two classes, "
                "K for K classes)."
            ),
            show_default="2,10,5,1 (input and output sized to the data)",
        ),
    ] = None,
    activation: Annotated[
        str,
        typer.Option(
            help="Hidden-layer activation, or one per hidden layer comma-separated (tanh,relu)."
        ),
    ] = "relu",
    optimizer: Annotated[
        str, typer.Option(help="gd (the course's), sgd, momentum or adam (see `initlab list`).")
    ] = "gd",
    batch_size: Annotated[
        int | None,
        typer.Option(help="Mini-batch size; full batch (the course's) when not given."),
    ] = None,
    l2: Annotated[
        float, typer.Option("--l2", help="L2 weight decay λ: adds λ/(2m)·Σ‖W‖² to the cost.")
    ] = 0.0,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the PNG figures (created if needed).")
    ] = Path("initlab-out"),
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Do not draw any figure.")] = False,
    checkpoints: Annotated[
        bool,
        typer.Option(
            "--checkpoints",
            help=(
                "Also print the cost at every recorded iteration, one column per init, in full "
                "precision (to compare with the notebook's printed costs)."
            ),
        ),
    ] = False,
    record_every: Annotated[
        int, typer.Option(help="Record the cost every this many iterations (from 0).")
    ] = 1000,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help=(
                "Print only the results as JSON on stdout (NaN/inf as null; checkpoints "
                "included); no table, no progress. Figures are still written unless --no-plots."
            ),
        ),
    ] = False,
) -> None:
    """Train one network per initializer and compare them: the course's experiment.

    With no options this reproduces the course notebook: the circles data (300 train / 100
    test points), a [2, 10, 5, 1] network with ReLU hidden layers and a sigmoid output,
    15,000 iterations of full-batch gradient descent at learning rate 0.01, initialized with
    zeros, N(0, 10²) "random" and He N(0, 2/fan_in) from the notebook's seed. Expected
    accuracies (train/test): zeros 0.5/0.5, random 0.83/0.86, he 0.9933/0.96.

    Prints a table (status, final cost, accuracies and a one-line diagnosis per init) and
    writes comparison.png, cost_<init>.png and boundary_<init>.png to --out.
    """
    try:
        layer_sizes = parse_layers(layers) if layers is not None else None
        parsed_seed = parse_seed(seed)
        names = list(init) if init else list(NOTEBOOK_INITS)
        acts = activation.split(",") if "," in activation else activation
        data = datasets.load(dataset)
        label = ", ".join(names)
        with progress(f"Training {label} for {iterations:,} iterations…", not as_json):
            comparison = compare(
                names,
                dataset=data,
                layer_sizes=layer_sizes,
                activation=acts,
                learning_rate=learning_rate,
                iterations=iterations,
                seed=parsed_seed,
                record_every=record_every,
                optimizer=optimizer,
                batch_size=batch_size,
                l2=l2,
            )
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc))

    written: list[Path] = []
    if not no_plots:
        try:
            with progress("Drawing figures…", not as_json):
                written = write_figures(comparison, out)
        except OSError as exc:
            fail(f"cannot write the figures to {str(out)!r}: {exc}", EXIT_IO)

    if as_json:
        payload = finite_or_none(comparison.to_dict())
        typer.echo(json.dumps(payload, allow_nan=False))
        return

    console = Console()
    console.print(results_table(comparison))
    if checkpoints:
        _print_wide(console, checkpoints_table(comparison))
    if written:
        typer.echo("Figures: " + ", ".join(str(path) for path in written))


@app.command("list")
def list_command() -> None:
    """List every registered initializer, activation, optimizer and dataset, with a description."""
    console = Console()
    tables: list[tuple[str, Registry[Any]]] = [
        ("Initializers (--init)", initializers.INITIALIZERS),
        ("Activations (--activation)", activations.ACTIVATIONS),
        ("Optimizers (--optimizer)", optim.OPTIMIZERS),
        ("Datasets (--dataset)", datasets.DATASETS),
    ]
    for title, registry in tables:
        table = Table(title=title, title_justify="left")
        table.add_column("name", style="bold", no_wrap=True)
        table.add_column("aliases")
        table.add_column("description")
        for entry in registry:
            table.add_row(Text(entry.name), Text(", ".join(entry.aliases)), Text(entry.description))
        console.print(table)


def main() -> None:
    """Console-script entry point (``initlab``)."""
    app(prog_name="initlab")


if __name__ == "__main__":  # pragma: no cover
    main()
