"""The ``initlab`` commands for result stores: ``sweep`` fills one, ``report`` reads one.

The experiment runner, the store and the report (pandas, Dask, matplotlib where they are
used) are imported inside the commands.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from initlab.cli.common import (
    EXIT_INTERRUPTED,
    echo_warnings,
    fail,
    interrupted_by_sigterm,
    long_running,
)
from initlab.cli.limits import MaxMemoryOption


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
        bool,
        typer.Option(
            "--dry-run",
            help="Check the spec as the sweep would (data loaded, networks built against it, "
            "initial weights drawn, memory estimated) and count the runs; train nothing.",
        ),
    ] = False,
    max_memory: MaxMemoryOption = None,
) -> None:
    """Run every configuration of a sweep spec and store the results.

    Expands the grid (datasets × layer sizes or depth × width × activations × initializers
    with their arguments × optimizers × learning rates × … × seeds), skips the runs the store
    already has, groups the rest into batches of one architecture and trains them — locally
    on every core, or on an existing Dask cluster with --cluster — writing each batch to the
    store as it finishes. Interrupt it at any time and run it again to resume.
    """
    long_running()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from initlab.experiments import load_spec
    from initlab.experiments.check import check_spec
    from initlab.experiments.runner import (
        ProcessExecutor,
        SerialExecutor,
        SweepProgress,
        run_sweep,
    )
    from initlab.experiments.store import ResultStore

    try:
        spec = load_spec(spec_path)
        # The checks of a dry run, made before every real run too: "valid" means it.
        checked = check_spec(spec, max_batch=max_batch, batches_at_once=workers or 1)
        if dry_run:
            typer.echo(f"{spec.name}: {checked.runs} runs, valid")
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
    try:
        with interrupted_by_sigterm(), Progress(*columns, console=console) as bar:
            task = bar.add_task(spec.name, total=checked.runs, rate=0.0)

            def update(p: SweepProgress) -> None:
                bar.update(task, completed=p.done, rate=p.rate)

            tally = run_sweep(spec, store, executor, progress=update, max_batch=max_batch)
    except KeyboardInterrupt:
        typer.echo(
            f"Interrupted: the {len(store)} runs stored in {store.path} are kept; run the same "
            "command again to resume.",
            err=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        if hasattr(executor, "close"):
            executor.close()
    typer.echo(
        f"{tally.done - tally.skipped} runs trained, {tally.skipped} already in the store, "
        f"{len(store)} stored in {store.path}"
    )


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
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print only the paths written, no summary."),
    ] = False,
) -> None:
    """Write one self-contained HTML report of a result store (viewable offline), and print
    the best configuration of each scheme.

    The store is only read (opened read-only): it is never created or changed. A run that
    cannot be read from it is skipped with a warning naming it."""
    from initlab.cli.tables import best_table
    from initlab.experiments.store import ResultStore
    from initlab.report import write_report
    from initlab.report.data import best_per_group, load

    with echo_warnings():
        try:
            store = ResultStore(store_path, read_only=True)
            target = write_report(store_path, out or store_path.with_suffix(".html"))
            written = [store.export(path) for path in export or []]
            best = None if quiet else best_per_group(load(store))
        except (ValueError, FileNotFoundError, ImportError) as exc:
            fail(str(exc))
    if best is not None:
        Console().print(best_table(best))
    typer.echo(f"Report: {target}" + "".join(f"\nExported: {path}" for path in written))
