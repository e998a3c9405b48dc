"""The ``initlab`` command line: reproduce the course's comparison, list what is registered.

Only this layer prints and writes files; the library returns values. Library errors
(``ValueError``: an unknown name, a bad layer list, a non-positive learning rate, …) are
printed as ``Error: <message>`` on stderr with exit code 2, never as a traceback.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import re
import warnings
from collections.abc import Iterator, Mapping
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
from initlab.compare import NOTEBOOK_INITS, NOTEBOOK_LAYERS, Comparison, Run, compare
from initlab.engine import EngineFallbackWarning
from initlab.network import MLP
from initlab.rng import NOTEBOOK, Seed

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from initlab.theory import Prediction

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
    console.width = max(console.width, width)  # print() alone clamps to the console's width
    console.print(table, crop=False)


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


# Options shared by the commands that train (compare, diagnose).
InitOption = Annotated[
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
]
IterationsOption = Annotated[
    int, typer.Option("--iterations", "-n", help="Gradient-descent iterations per run.")
]
LearningRateOption = Annotated[
    float, typer.Option("--learning-rate", "--lr", help="Gradient-descent step size.")
]
SeedOption = Annotated[
    str,
    typer.Option(
        help=(
            "'notebook' for the course's seeding (weights from RandomState(3)), or a "
            "non-negative integer for independent initialization streams."
        ),
    ),
]
DatasetOption = Annotated[
    str,
    typer.Option(
        "--dataset",
        "-d",
        help=(
            "A registered dataset (see `initlab list`), built with its defaults, or a "
            ".csv (header row, a 'label' column) or .npz (arrays X, y) file."
        ),
    ),
]
LayersOption = Annotated[
    str | None,
    typer.Option(
        help=(
            "Layer sizes, comma-separated: input, hidden…, output (1 for two classes, "
            "K for K classes)."
        ),
        show_default="2,10,5,1 (input and output sized to the data)",
    ),
]
ActivationOption = Annotated[
    str,
    typer.Option(
        help="Hidden-layer activation, or one per hidden layer comma-separated (tanh,relu)."
    ),
]
OptimizerOption = Annotated[
    str, typer.Option(help="gd (the course's), sgd, momentum or adam (see `initlab list`).")
]
BatchSizeOption = Annotated[
    int | None,
    typer.Option(help="Mini-batch size; full batch (the course's) when not given."),
]
L2Option = Annotated[
    float, typer.Option("--l2", help="L2 weight decay λ: adds λ/(2m)·Σ‖W‖² to the cost.")
]
OutOption = Annotated[
    Path, typer.Option("--out", "-o", help="Folder for the output files (created if needed).")
]
NoPlotsOption = Annotated[bool, typer.Option("--no-plots", help="Do not draw any figure.")]
EngineOption = Annotated[
    str,
    typer.Option(
        help=(
            "auto (the compiled Numba engine where installed, else batched NumPy), numba, "
            "numpy, or reference (the readable one-run-at-a-time loop)."
        ),
    ),
]


def run_comparison(
    init: list[str] | None,
    *,
    dataset: str,
    layers: str | None,
    activation: str,
    seed: str,
    quiet: bool,
    **kwargs: Any,
) -> Comparison:
    """Parse the shared options and run :func:`initlab.compare.compare`; errors exit 2."""
    try:
        layer_sizes = parse_layers(layers) if layers is not None else None
        parsed_seed = parse_seed(seed)
        names = list(init) if init else list(NOTEBOOK_INITS)
        acts = activation.split(",") if "," in activation else activation
        data = datasets.load(dataset)
        message = f"Training {', '.join(names)} for {kwargs['iterations']:,} iterations…"
        with progress(message, not quiet), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", EngineFallbackWarning)
            comparison = compare(
                names,
                dataset=data,
                layer_sizes=layer_sizes,
                activation=acts,
                seed=parsed_seed,
                **kwargs,
            )
        for notice in {str(w.message) for w in caught if w.category is EngineFallbackWarning}:
            typer.echo(f"Note: {notice}", err=True)
        return comparison
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc))


@app.command("compare")
def compare_command(
    init: InitOption = None,
    iterations: IterationsOption = 15_000,
    learning_rate: LearningRateOption = 0.01,
    seed: SeedOption = NOTEBOOK,
    dataset: DatasetOption = "circles",
    layers: LayersOption = None,
    activation: ActivationOption = "relu",
    optimizer: OptimizerOption = "gd",
    batch_size: BatchSizeOption = None,
    l2: L2Option = 0.0,
    engine: EngineOption = "auto",
    out: OutOption = Path("initlab-out"),
    no_plots: NoPlotsOption = False,
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
    comparison = run_comparison(
        init,
        dataset=dataset,
        layers=layers,
        activation=activation,
        seed=seed,
        quiet=as_json,
        learning_rate=learning_rate,
        iterations=iterations,
        record_every=record_every,
        optimizer=optimizer,
        batch_size=batch_size,
        l2=l2,
        engine=engine,
    )
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


@app.command("diagnose")
def diagnose_command(
    init: InitOption = None,
    iterations: IterationsOption = 15_000,
    learning_rate: LearningRateOption = 0.01,
    seed: SeedOption = NOTEBOOK,
    dataset: DatasetOption = "circles",
    layers: LayersOption = None,
    activation: ActivationOption = "relu",
    optimizer: OptimizerOption = "gd",
    batch_size: BatchSizeOption = None,
    l2: L2Option = 0.0,
    engine: EngineOption = "auto",
    every: Annotated[
        int | None,
        typer.Option(help="Record the per-layer statistics every this many iterations."),
    ] = None,
    out: OutOption = Path("initlab-out"),
    no_plots: NoPlotsOption = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print only the runs' findings and records as JSON."),
    ] = False,
) -> None:
    """Train with per-layer recording and explain each run: statistics, verdicts, theory.

    Records, at initialization, every --every iterations (default: a tenth of the run) and at
    the end, each layer's pre-activation and activation statistics, dead and saturated units,
    gradient norms, update-to-weight ratios and distinct units. Prints a summary table per run
    (at start and at the end) with its findings and the mean-field theory's predicted
    pre-activation variance beside the measured one. Writes records.csv and records.json, and
    per run histograms_<init>.png, gradients_<init>.png, boundaries_<init>.png, plus
    variance.png (measured vs theory by depth), to --out.
    """
    every = every if every is not None else max(1, iterations // 10)
    comparison = run_comparison(
        init,
        dataset=dataset,
        layers=layers,
        activation=activation,
        seed=seed,
        quiet=as_json,
        learning_rate=learning_rate,
        iterations=iterations,
        record_every=every,
        optimizer=optimizer,
        batch_size=batch_size,
        l2=l2,
        diagnose_every=every,
        keep_params=not no_plots,
        engine=engine,
    )
    predictions = {run.init: _prediction(comparison, run.config) for run in comparison.runs}
    try:
        written = write_diagnostics(comparison, predictions, out, plots=not no_plots)
    except OSError as exc:
        fail(f"cannot write to {str(out)!r}: {exc}", EXIT_IO)
    if as_json:
        payload = {
            **comparison.to_dict(checkpoints=False),
            "theory": {k: v.to_dict() if v else None for k, v in predictions.items()},
            "records": [
                row
                for run in comparison.runs
                if run.result.records is not None
                for row in run.result.records.to_dicts(run=run.init)
            ],
        }
        typer.echo(json.dumps(finite_or_none(payload), allow_nan=False))
        return
    console = Console()
    console.print(results_table(comparison))
    for run in comparison.runs:
        console.print(diagnosis_table(run, predictions[run.init]))
    typer.echo("Files: " + ", ".join(str(path) for path in written))


@app.command("theory")
def theory_command(
    init: Annotated[
        list[str] | None,
        typer.Option("--init", "-i", metavar="NAME", help="Initializer; repeat for several."),
    ] = None,
    activation: Annotated[str, typer.Option(help="Hidden-layer activation.")] = "relu",
    depth: Annotated[int, typer.Option(help="Number of hidden layers.")] = 30,
    width: Annotated[int, typer.Option(help="Width of every layer (and of the input).")] = 100,
    q0: Annotated[float, typer.Option(help="Input second moment per feature, ‖x‖²/n.")] = 1.0,
    bias_init: Annotated[str, typer.Option(help="Bias initializer.")] = "zeros",
    out: OutOption = Path("initlab-out"),
    no_plots: NoPlotsOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
) -> None:
    """Predict, before any training, how the signal propagates through a deep MLP.

    Mean-field theory (Poole et al. 2016; Schoenholz et al. 2017): the pre-activation
    variance obeys q^l = σ_w²·E[φ(√q^{l−1} z)²] + σ_b², and χ₁ = σ_w²·E[φ′(√q* z)²] tells the
    phase — ordered (χ₁ < 1: signals and gradients vanish), chaotic (> 1: they explode) or
    critical (= 1). Prints σ_w², χ₁, the phase and q per layer for each initializer, the
    critical σ_w² of the activation, and writes theory.png (q by depth) to --out.
    """
    from initlab import theory

    names = list(init) if init else ["he", "xavier_normal", "lecun_normal"]
    try:
        if depth < 1:
            raise ValueError(
                f"Argument `depth` must be a positive integer. Received: depth={depth}"
            )
        mlp = MLP([width] * (depth + 1) + [1], activation)
        predictions = {
            name: theory.predict(mlp, name, q0=q0, bias_init=bias_init) for name in names
        }
        sigma_b2 = float(next(iter(predictions.values())).sigma_b2[0])
        try:
            critical: float | None = theory.critical_sigma_w2(activation, sigma_b2)
        except ValueError:
            critical = None
        # The phase of the deep part: σ_w² of a hidden-to-hidden layer (width × width).
        hidden_sw2 = {
            name: float(p.sigma_w2[min(1, len(p.sigma_w2) - 1)]) for name, p in predictions.items()
        }
        chis = {
            name: float(theory.chi1(activation, sw2, sigma_b2)) for name, sw2 in hidden_sw2.items()
        }
        phases = {name: theory.phase(activation, sw2, sigma_b2) for name, sw2 in hidden_sw2.items()}
    except (ValueError, TypeError) as exc:
        fail(str(exc))
    if as_json:
        payload = {
            "activation": activation,
            "depth": depth,
            "width": width,
            "q0": q0,
            "critical_sigma_w2": critical,
            "predictions": {
                name: {**p.to_dict(), "chi1_fixed_point": chis[name], "phase": phases[name]}
                for name, p in predictions.items()
            },
        }
        typer.echo(json.dumps(finite_or_none(payload), allow_nan=False))
    else:
        _print_wide(
            Console(), theory_table(predictions, hidden_sw2, chis, phases, activation, critical)
        )
    if not no_plots:
        from initlab import plots

        fig, ax = plots.new_figure()
        for name, p in predictions.items():
            ax.plot(np.arange(1, len(p.q) + 1), p.q, marker=".", label=name)
        ax.set_yscale("log")
        ax.set_xlabel("layer")
        ax.set_ylabel("predicted pre-activation variance q")
        ax.set_title(f"{activation}, width {width}, q⁰ = {q0:g}", fontsize="medium")
        ax.legend(fontsize="small")
        ax.grid(True, alpha=0.3)
        try:
            out.mkdir(parents=True, exist_ok=True)
            save_figure(fig, out / "theory.png")
        except OSError as exc:
            fail(f"cannot write to {str(out)!r}: {exc}", EXIT_IO)
        if not as_json:
            typer.echo(f"Figure: {out / 'theory.png'}")


@app.command("sweep")
def sweep_command(
    spec_path: Annotated[Path, typer.Argument(metavar="SPEC", help="The sweep spec (TOML).")],
    store_path: Annotated[
        Path | None,
        typer.Option(
            "--store",
            "-s",
            help="Result store (SQLite file).",
            show_default="SPEC with the suffix .db",
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(help="Run the batches on this Dask scheduler (tcp://HOST:PORT)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Local worker processes (default: one per core; with Numba installed, one "
            "process whose compiled engine uses every core).",
            min=1,
        ),
    ] = None,
    max_batch: Annotated[
        int, typer.Option(help="Runs per batch (one architecture per batch).", min=1)
    ] = 256,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count the runs; train nothing.")
    ] = False,
) -> None:
    """Run every configuration of a sweep spec and store the results.

    Expands the grid (datasets × layer sizes or depth × width × activations × initializers
    with their arguments × optimizers × learning rates × … × seeds), skips the runs the store
    already has, groups the rest into batches of one architecture and trains them — locally
    on every core, or on an existing Dask cluster with --cluster — writing each batch to the
    store as it finishes. Interrupt it at any time and run it again to resume.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from initlab.experiments import load_spec
    from initlab.experiments.runner import (
        ProcessExecutor,
        SerialExecutor,
        SweepProgress,
        run_sweep,
    )
    from initlab.experiments.store import ResultStore

    try:
        spec = load_spec(spec_path)
        runs = spec.runs()
        if dry_run:
            typer.echo(f"{spec.name}: {len(runs)} runs, valid")
            return
        store = ResultStore(store_path or spec_path.with_suffix(".db"))
        executor: Any
        if cluster is not None:
            from initlab.experiments.distributed import DaskExecutor

            executor = DaskExecutor(cluster)
        elif workers is None and importlib.util.find_spec("numba") is not None:
            # The compiled engine already trains a batch's models on every core.
            executor = SerialExecutor()
        else:
            executor = ProcessExecutor(workers)
    except (ValueError, ImportError) as exc:
        fail(str(exc))
    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs · {task.fields[rate]:.1f} runs/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(spec.name, total=len(runs), rate=0.0)

        def update(p: SweepProgress) -> None:
            bar.update(task, completed=p.done, rate=p.rate)

        tally = run_sweep(spec, store, executor, progress=update, max_batch=max_batch)
    if hasattr(executor, "close"):
        executor.close()
    typer.echo(
        f"{tally.done - tally.skipped} runs trained, {tally.skipped} already in the store, "
        f"{len(store)} stored in {store.path}"
    )


@app.command("report")
def report_command(
    store_path: Annotated[Path, typer.Argument(metavar="STORE", help="The result store.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="The HTML file.", show_default="STORE with .html"),
    ] = None,
    export: Annotated[
        list[Path] | None,
        typer.Option(help="Also export the runs table to this .csv or .parquet; repeatable."),
    ] = None,
) -> None:
    """Write one self-contained HTML report of a result store (viewable offline)."""
    from initlab.experiments.store import ResultStore
    from initlab.report import write_report

    try:
        store = ResultStore(store_path, create=False)
        target = write_report(store_path, out or store_path.with_suffix(".html"))
        written = [store.export(path) for path in export or []]
    except (ValueError, FileNotFoundError, ImportError) as exc:
        fail(str(exc))
    typer.echo(f"Report: {target}" + "".join(f"\nExported: {path}" for path in written))


def _prediction(comparison: Comparison, config: dict[str, Any]) -> Prediction | None:
    """The theory's prediction for a run's initializer on its training data, if it has one."""
    from initlab import theory

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", theory.TheoryWarning)
            return theory.predict_from_data(comparison.mlp, config, comparison.dataset.X_train)
    except (ValueError, TypeError):
        return None  # data-dependent (LSUV) or custom initializers have no prediction


def _pct(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.0%}"


def diagnosis_table(run: Run, prediction: Prediction | None) -> Table:
    """One row per layer at start and at the end, then the run's findings."""
    records = run.result.records
    table = Table(title=f"{run.init}: per-layer statistics", title_justify="left")
    for name in ("when", "layer", "act", "width", "E[z²]", "theory q", "a std", "dead",
                 "saturated", "‖dW‖", "‖ΔW‖/‖W‖", "distinct"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("when", "act") else "right")
    if records is not None and records.rows:
        start, end = records.iterations[0], records.iterations[-1]
        for when, iteration in (("start", start), ("end", end)):
            for r in records.at(iteration):
                predicted = (
                    fmt_cost(float(prediction.q[r.layer - 1]))
                    if prediction is not None and when == "start"
                    else ""
                )
                table.add_row(
                    f"{when} ({iteration:,})" if r.layer == 1 else "",
                    str(r.layer),
                    r.activation,
                    str(r.width),
                    fmt_cost(r.z_second_moment),
                    predicted,
                    fmt_cost(r.a_std),
                    _pct(r.dead_fraction),
                    _pct(r.saturated_fraction),
                    fmt_cost(r.grad_W_norm),
                    fmt_cost(r.update_ratio) if math.isfinite(r.update_ratio) else "—",
                    str(r.distinct_units),
                )
    table.caption = "\n".join(f"• {f.message}" for f in run.findings)
    table.caption_justify = "left"
    return table


def theory_table(
    predictions: dict[str, Prediction],
    sigma_w2: dict[str, float],
    chi1: Mapping[str, float],
    phases: Mapping[str, str],
    activation: str,
    critical: float | None,
) -> Table:
    """Per init: the hidden layers' σ_w², χ₁ at the fixed point, the phase, q at a few depths."""
    first = next(iter(predictions.values()))
    n = len(first.q)
    shown = sorted({1, 2, 3, (n - 1) // 2, n - 1, n} & set(range(1, n + 1)))
    crit = "none" if critical is None else f"{critical:.4g}"
    table = Table(
        title=f"Mean-field prediction · {activation} · critical σ_w² = {crit}",
        title_justify="left",
    )
    for name in ("init", "σ_w²", "χ₁(q*)", "phase"):
        table.add_column(name, justify="left" if name in ("init", "phase") else "right")
    for layer in shown:
        table.add_column("q out" if layer == n else f"q{layer}", justify="right")
    for name, p in predictions.items():
        table.add_row(
            Text(name, style="bold"),
            f"{sigma_w2[name]:.4g}",
            f"{chi1[name]:.4g}",
            phases[name],
            *(f"{float(p.q[layer - 1]):.3g}" for layer in shown),
        )
    return table


def write_diagnostics(
    comparison: Comparison,
    predictions: dict[str, Prediction | None],
    out: Path,
    plots: bool = True,
) -> list[Path]:
    """records.csv, records.json and (with ``plots``) the diagnostics figures, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    runs = [run for run in comparison.runs if run.result.records is not None]
    # One table for all runs: every run's CSV has the same header; keep the first.
    texts = [run.result.records.to_csv(run=run.init) for run in runs]  # type: ignore[union-attr]
    csv_text = texts[0] + "".join(text.split("\n", 1)[1] for text in texts[1:]) if texts else ""
    written.append(_write_text(out / "records.csv", csv_text))
    rows = [
        row
        for run in runs
        for row in run.result.records.to_dicts(histograms=True, run=run.init)  # type: ignore[union-attr]
    ]
    written.append(_write_text(out / "records.json", json.dumps(finite_or_none(rows))))
    if not plots:
        return written
    from initlab import plots as figures

    data = comparison.dataset
    fig, ax = figures.new_figure((6.5, 4.5))
    for (run, stem), color in zip(zip(runs, figure_names(comparison)), _colors(len(runs))):
        records = run.result.records
        assert records is not None
        hist = figures.plot_activation_histograms(records, title=f"{run.init}: activations")
        written.append(_save(hist, out / f"histograms_{stem}.png"))
        gfig, gax = figures.new_figure()
        figures.plot_gradient_norms(records, ax=gax)
        gax.set_title(f"{run.init}: gradient norm per layer", fontsize="medium")
        written.append(_save(gfig, out / f"gradients_{stem}.png"))
        if records.snapshots:
            grid = figures.plot_boundary_grid(comparison.mlp, records, data.X_train,
                                              data.y_train, title=run.init)  # fmt: skip
            written.append(_save(grid, out / f"boundaries_{stem}.png"))
        measured = [r.z_second_moment for r in records.at(records.iterations[0])]
        prediction = predictions.get(run.init)
        figures.plot_variance_by_depth(
            [m if m > 0 else math.nan for m in measured],
            list(prediction.q) if prediction is not None else None,
            ax=ax,
            label=run.init,
            color=color,
        )
    ax.set_title("pre-activation variance at initialization", fontsize="medium")
    written.append(_save(fig, out / "variance.png"))
    return written


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    return [colormaps["tab10"](i % 10) for i in range(n)]


def _save(fig: Figure, path: Path) -> Path:
    save_figure(fig, path)
    return path


def _write_text(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


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


@app.command("serve")
def serve_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free port).")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in a web browser.")
    ] = False,
    max_width: Annotated[int, typer.Option(help="Most units per hidden layer.")] = 64,
    max_hidden_layers: Annotated[int, typer.Option(help="Most hidden layers.")] = 8,
    max_points: Annotated[int, typer.Option(help="Most data points (train + test).")] = 2000,
    max_iterations: Annotated[int, typer.Option(help="Most iterations per run.")] = 50_000,
    max_sessions: Annotated[int, typer.Option(help="Most concurrent sessions.")] = 64,
    idle: Annotated[float, typer.Option(help="Seconds before an idle session is removed.")] = 900,
) -> None:
    """Start the playground: train and watch initializations live in the browser."""
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        fail("the playground needs FastAPI and uvicorn: pip install 'initlab[web]'")
    import socket

    import uvicorn

    from initlab.web.app import create_app
    from initlab.web.config import Limits

    for name, value in (("--max-width", max_width), ("--max-hidden-layers", max_hidden_layers),
                        ("--max-points", max_points), ("--max-iterations", max_iterations),
                        ("--max-sessions", max_sessions)):  # fmt: skip
        if value < 1:
            fail(f"{name} must be a positive integer, not {value}")
    if not idle > 0:
        fail(f"--idle must be a positive number of seconds, not {idle}")
    if not 0 <= port <= 65535:
        fail(f"--port must be from 0 to 65535, not {port}")
    limits = Limits(
        max_hidden_layers=max_hidden_layers, max_width=max_width, max_points=max_points,
        max_iterations=max_iterations, max_sessions=max_sessions, idle_seconds=idle,
    )  # fmt: skip
    try:
        # proto=IPPROTO_TCP, not socket.create_server's 0: asyncio sets TCP_NODELAY only on
        # connections of such a socket, and without it every response waits 40 ms for the
        # browser's delayed ACK (20 frames/s at most instead of > 100).
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_IO)
    bound = sock.getsockname()[1]
    url = f"http://{host}:{bound}/"
    typer.echo(f"initlab playground: {url}  (Ctrl+C to stop)")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(create_app(limits), log_level="warning")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def main() -> None:
    """Console-script entry point (``initlab``)."""
    app(prog_name="initlab")


if __name__ == "__main__":  # pragma: no cover
    main()
