"""The ``initlab`` commands that train or predict — compare, diagnose, theory — and list.

Each command parses its options, calls the library, and hands the values to
:mod:`initlab.cli.tables` (printing) and :mod:`initlab.cli.output` (files). The library
(training, datasets, theory, plots) and the file writers (with NumPy) are imported inside the
commands, so ``--help`` starts without them and ``list`` loads only the registries.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

import typer
from rich.console import Console

from initlab.cli.common import (
    EXIT_IO,
    fail,
    parse_layers,
    parse_seed,
    print_wide,
    progress,
    training_progress,
)
from initlab.cli.drawing import figure_process
from initlab.cli.limits import (
    DIAGNOSE_OPTIONS,
    THEORY_OPTIONS,
    TRAINING_OPTIONS,
    MaxMemoryOption,
    refusal,
)
from initlab.cli.tables import (
    checkpoints_table,
    diagnosis_table,
    registry_table,
    results_table,
    theory_table,
)
from initlab.rng import NOTEBOOK

if TYPE_CHECKING:
    from initlab._registry import Registry
    from initlab.compare import Comparison
    from initlab.engine import CompileNotice
    from initlab.theory import Prediction

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
L1Option = Annotated[
    float, typer.Option("--l1", help="L1 strength λ₁: adds λ₁/m·Σ|W| to the cost.")
]
OutOption = Annotated[
    Path, typer.Option("--out", "-o", help="Folder for the output files (created if needed).")
]
NoPlotsOption = Annotated[bool, typer.Option("--no-plots", help="Do not draw any figure.")]
COMPARE_FIGURES_DOC = (
    "comparison: comparison.png, every run's cost curve and decision boundary side by side; "
    "all: also cost_<init>.png and boundary_<init>.png per run (the same plots, one file "
    "each); none: no figure."
)
DIAGNOSE_FIGURES_DOC = (
    "summary: variance.png (measured vs theory by depth) and, per run, histograms_<init>.png "
    "(activations at init and after training) and gradients_<init>.png (gradient norm per "
    "layer); all: also boundaries_<init>.png (decision boundaries over training); none: no "
    "figure."
)
NoFiguresOption = Annotated[
    bool, typer.Option("--no-plots", help="Do not draw any figure (--figures none).")
]
FIGURES = ("comparison", "all", "none")
"""The choices of ``compare --figures``: the comparison figure, also the per-run ones, none."""
DIAGNOSE_FIGURES = ("summary", "all", "none")
"""The choices of ``diagnose --figures``: the figures that show why (variance by depth,
histograms, gradient norms), also the decision boundaries over training, none."""
DtypeOption = Annotated[
    str,
    typer.Option(
        help=(
            "float64, or float32 (the engines only: half the memory; on the notebook's He run "
            "its final cost agrees with float64's to about 2e-5 relative)."
        ),
    ),
]
EngineOption = Annotated[
    str,
    typer.Option(
        help=(
            "auto (the compiled Numba engine where installed, else batched NumPy), numba, "
            "numpy, or reference (the readable one-run-at-a-time loop)."
        ),
    ),
]


@dataclasses.dataclass(frozen=True)
class TrainingOptions:
    """The options of the commands that train (compare, diagnose): the first in their --help."""

    init: InitOption = None
    iterations: IterationsOption = 15_000
    learning_rate: LearningRateOption = 0.01
    seed: SeedOption = NOTEBOOK
    dataset: DatasetOption = "circles"
    layers: LayersOption = None
    activation: ActivationOption = "relu"
    optimizer: OptimizerOption = "gd"
    batch_size: BatchSizeOption = None
    l2: L2Option = 0.0
    l1: L1Option = 0.0
    engine: EngineOption = "auto"
    dtype: DtypeOption = "float64"
    max_memory: MaxMemoryOption = None


def with_training_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command(options, **own)`` as a Typer command: the :class:`TrainingOptions`, then its
    own options.

    Typer reads a command's options off its signature, so the wrapper's signature lists the
    fields of :class:`TrainingOptions` before ``command``'s own parameters (all but the first);
    the wrapper gathers those fields into the one ``options`` argument.
    """
    hints = get_type_hints(TrainingOptions, include_extras=True)
    keyword = inspect.Parameter.KEYWORD_ONLY
    shared = [
        inspect.Parameter(f.name, keyword, default=f.default, annotation=hints[f.name])
        for f in dataclasses.fields(TrainingOptions)
    ]
    own = list(inspect.signature(command, eval_str=True).parameters.values())[1:]

    @functools.wraps(command)
    def run(**kwargs: Any) -> None:
        command(TrainingOptions(**{p.name: kwargs.pop(p.name) for p in shared}), **kwargs)

    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*shared, *(p.replace(kind=keyword) for p in own)]
    )
    return run


def figures_to_draw(figures: str, allowed: tuple[str, ...], no_plots: bool) -> str:
    """The checked ``--figures`` choice; ``"none"`` under ``--no-plots``. Exits 2 on a bad one."""
    from initlab._validate import check_choice

    try:
        checked = check_choice("figures", figures, allowed)
    except ValueError as exc:
        fail(str(exc))
    return "none" if no_plots else checked


def compile_line(notice: CompileNotice) -> str:
    """What the CLI says when the compiled engine compiles (once per machine and run kind)."""
    if notice.stage == "start":
        return (
            f"Compiling the fast engine ({notice.what}) — once per machine, "
            f"about {notice.seconds:.0f} s…"
        )
    return f"Compiled in {notice.seconds:.1f} s; later runs of this kind start at once."


def run_comparison(
    options: TrainingOptions,
    *,
    quiet: bool,
    flags: Mapping[str, str] = TRAINING_OPTIONS,
    **kwargs: Any,
) -> Comparison:
    """Parse the shared options and run :func:`initlab.compare.compare`; errors exit 2 (a
    request over the memory limit names the ``flags`` that set it). While it trains, stderr
    shows one progress bar per run where it is a terminal, unless ``quiet``
    (:func:`~initlab.cli.common.training_progress`), with the compile notices above."""
    from initlab import datasets
    from initlab.cli.common import load_numba_without_blas_probe
    from initlab.compare import NOTEBOOK_INITS, compare
    from initlab.engine import EngineFallbackWarning, compile_notices
    from initlab.limits import LimitError

    try:
        layer_sizes = parse_layers(options.layers) if options.layers is not None else None
        parsed_seed = parse_seed(options.seed)
        names = list(options.init) if options.init else list(NOTEBOOK_INITS)
        activation = options.activation
        acts = activation.split(",") if "," in activation else activation
        data = datasets.load(options.dataset)
        if options.engine in ("auto", "numba"):
            load_numba_without_blas_probe()
        with (
            training_progress(names, not quiet) as (say, hook),
            compile_notices(lambda notice: say(compile_line(notice))),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always", EngineFallbackWarning)
            comparison = compare(
                names,
                dataset=data,
                layer_sizes=layer_sizes,
                activation=acts,
                seed=parsed_seed,
                learning_rate=options.learning_rate,
                iterations=options.iterations,
                optimizer=options.optimizer,
                batch_size=options.batch_size,
                l2=options.l2,
                l1=options.l1,
                engine=options.engine,
                dtype=options.dtype,
                progress=hook,
                **kwargs,
            )
        for notice in {str(w.message) for w in caught if w.category is EngineFallbackWarning}:
            typer.echo(f"Note: {notice}", err=True)
        return comparison
    except LimitError as exc:
        fail(refusal(exc, flags))
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc))


@with_training_options
def compare_command(
    options: TrainingOptions,
    out: OutOption = Path("initlab-out"),
    figures: Annotated[str, typer.Option(metavar="WHICH", help=COMPARE_FIGURES_DOC)] = "comparison",
    no_plots: NoFiguresOption = False,
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
                "included); no table, no progress. Figures are still written unless "
                "--figures none or --no-plots."
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
    writes comparison.png to --out (with --figures all, also cost_<init>.png and
    boundary_<init>.png per run).
    """
    figures = figures_to_draw(figures, FIGURES, no_plots)
    written: list[Path] = []
    with figure_process(start=figures != "none") as drawing:
        comparison = run_comparison(options, quiet=as_json, record_every=record_every)
        if figures != "none":
            drawing.send("write_figures", comparison, out, per_run=figures == "all")
        if not as_json:  # the results while the figures are drawn
            console = Console()
            console.print(results_table(comparison))
            if checkpoints:
                print_wide(console, checkpoints_table(comparison))
        if figures != "none":
            try:
                with progress("Drawing figures…", not as_json):
                    written = drawing.result()
            except OSError as exc:
                fail(f"cannot write the figures to {str(out)!r}: {exc}", EXIT_IO)

    if as_json:
        from initlab._io import dumps

        typer.echo(dumps(comparison.to_dict()))
        return
    if written:
        typer.echo("Figures: " + ", ".join(str(path) for path in written))


@with_training_options
def diagnose_command(
    options: TrainingOptions,
    every: Annotated[
        int | None,
        typer.Option(help="Record the per-layer statistics every this many iterations."),
    ] = None,
    out: OutOption = Path("initlab-out"),
    figures: Annotated[str, typer.Option(metavar="WHICH", help=DIAGNOSE_FIGURES_DOC)] = "summary",
    no_plots: NoFiguresOption = False,
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
    per run histograms_<init>.png and gradients_<init>.png, plus variance.png (measured vs
    theory by depth), to --out (with --figures all, also boundaries_<init>.png per run).
    """
    figures = figures_to_draw(figures, DIAGNOSE_FIGURES, no_plots)
    every = every if every is not None else max(1, options.iterations // 10)
    with figure_process(start=figures != "none") as drawing:
        comparison = run_comparison(
            options,
            quiet=as_json,
            flags=DIAGNOSE_OPTIONS,
            record_every=every,
            diagnose_every=every,
            keep_params=figures == "all",
        )
        predictions = {run.init: _prediction(comparison, run.config) for run in comparison.runs}
        # The figures are drawn by the child while this process writes the records.
        if figures != "none":
            drawing.send("write_diagnostic_figures", comparison, predictions, out,
                         boundaries=figures == "all")  # fmt: skip
        try:
            from initlab.cli.output import write_records

            written = write_records(comparison, out)
            if not as_json:  # the results while the figures are drawn
                console = Console()
                console.print(results_table(comparison))
                for run in comparison.runs:
                    console.print(diagnosis_table(run, predictions[run.init]))
            if figures != "none":
                written += drawing.result()
        except OSError as exc:
            fail(f"cannot write to {str(out)!r}: {exc}", EXIT_IO)
    from initlab._io import dumps

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
        typer.echo(dumps(payload))
        return
    typer.echo("Files: " + ", ".join(str(path) for path in written))


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
    max_memory: MaxMemoryOption = None,
) -> None:
    """Predict, before any training, how the signal propagates through a deep MLP.

    Mean-field theory (Poole et al. 2016; Schoenholz et al. 2017): the pre-activation
    variance obeys q^l = σ_w²·E[φ(√q^{l−1} z)²] + σ_b², and χ₁ = σ_w²·E[φ′(√q* z)²] tells the
    phase — ordered (χ₁ < 1: signals and gradients vanish), chaotic (> 1: they explode) or
    critical (= 1). Prints σ_w², χ₁, the phase and q per layer for each initializer, the
    critical σ_w² of the activation, and writes theory.png (q by depth) to --out.
    """
    from initlab import limits, theory
    from initlab._io import dumps
    from initlab.cli.output import write_theory_figure
    from initlab.network import MLP

    names = list(init) if init else ["he", "xavier_normal", "lecun_normal"]
    try:
        if depth < 1:
            raise ValueError(
                f"Argument `depth` must be a positive integer. Received: depth={depth}"
            )
        limits.check(limits.theory_estimate(depth + 1))  # before the network's size list
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
    except limits.LimitError as exc:
        fail(refusal(exc, THEORY_OPTIONS))
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
        typer.echo(dumps(payload))
    else:
        print_wide(
            Console(), theory_table(predictions, hidden_sw2, chis, phases, activation, critical)
        )
    if not no_plots:
        try:
            write_theory_figure(predictions, activation=activation, width=width, q0=q0, out=out)
        except OSError as exc:
            fail(f"cannot write to {str(out)!r}: {exc}", EXIT_IO)
        if not as_json:
            typer.echo(f"Figure: {out / 'theory.png'}")


def _prediction(comparison: Comparison, config: dict[str, Any]) -> Prediction | None:
    """The theory's prediction for a run's initializer on its training data, if it has one."""
    from initlab import theory

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", theory.TheoryWarning)
            return theory.predict_from_data(comparison.mlp, config, comparison.dataset.X_train)
    except (ValueError, TypeError):
        return None  # data-dependent (LSUV) or custom initializers have no prediction


def list_command() -> None:
    """List every registered initializer, activation, optimizer and dataset, with a description."""
    from initlab import activations, datasets, initializers, optim

    console = Console()
    tables: list[tuple[str, Registry[Any]]] = [
        ("Initializers (--init)", initializers.INITIALIZERS),
        ("Activations (--activation)", activations.ACTIVATIONS),
        ("Optimizers (--optimizer)", optim.OPTIMIZERS),
        ("Datasets (--dataset)", datasets.DATASETS),
    ]
    for title, registry in tables:
        console.print(registry_table(title, registry))
