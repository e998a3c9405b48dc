"""Limits before allocation: estimate the memory a request needs, refuse what does not fit.

Every entry point that allocates in proportion to its arguments — training (:func:`initlab.train`,
:func:`initlab.engine.train_batch`, :func:`initlab.compare.compare`,
:class:`initlab.MLPClassifier`), the theory (:func:`initlab.theory.predict`), data sets (a
generator's point count, a data file's size) and sweep specs (the number of runs) — first
builds an :class:`Estimate` here from its arguments alone and passes it to :func:`check`,
which raises :class:`LimitError` before anything is allocated::

    training 3 runs of [2, 100000000, 1] on 300 examples needs ~2.7 TiB, most of it for the
    activations (a layer of 100,000,000 units on 300 examples, 3 runs at once: ~2.6 TiB);
    the limit is 11.7 GiB (INITLAB_MAX_MEMORY, or --max-memory)

There is one limit, memory, in bytes: the environment variable ``INITLAB_MAX_MEMORY``
(:data:`ENV_MAX_MEMORY`; a number of bytes, or with a binary unit: ``512M``, ``8G``,
``1.5T``), read at every check; the commands' ``--max-memory SIZE`` sets it for one command
and the worker processes it starts. Unset, it is half of this machine's physical memory (or
of the memory its control group may use, if less), read without allocating
(:func:`default_max_memory`).

The estimates are sums of a few terms, each the count of values a request holds at once times
their size, with the per-object costs of Python's containers measured once (the constants
below). They aim to be upper bounds within a small factor — a check that refuses a request
the machine could run is a bug too — and name their largest term, so that a message says
which argument to change.

>>> format_bytes(training_estimate([2, 10, 5, 1], 300, models=3, iterations=15_000).total)
'4.5 MiB'
>>> check(training_estimate([2, 10**8, 1], 300), limit=2**30)
Traceback (most recent call last):
initlab.limits.LimitError: training 1 run of [2, 100000000, 1] on 300 examples needs ~912 GiB, \
most of it for the activations (a layer of 100,000,000 units on 300 examples: ~894 GiB); \
the limit is 1.0 GiB (INITLAB_MAX_MEMORY, or --max-memory)
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ENV_MAX_MEMORY = "INITLAB_MAX_MEMORY"
"""The environment variable that holds the memory limit (bytes, or ``8G``, ``512M`` …)."""

HOW_TO_RAISE = f"{ENV_MAX_MEMORY}, or --max-memory"
"""What every refusal says about raising the limit: the variable, and the commands' option."""

DEFAULT_FRACTION = 0.5
"""The share of the machine's memory a request may take by default: half leaves room for the
interpreter, the libraries, the operating system and whatever else runs beside it."""

UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}
"""Binary units of a size written with a suffix (``8G`` = 8·2³⁰ bytes; ``GB``, ``GiB`` too)."""

FLOAT = 8
"""Bytes of one float64: results are float64 whatever the training arithmetic."""

RUN_PARAM_COPIES = 4
"""Copies of each run's parameters held during training, besides the optimizer's state: the
initial ones, the result's copy of them, the trained ones, and the gradient."""

HISTORY_ENTRY_BYTES = 96
"""One recorded cost: a Python ``int`` and ``float`` in two lists (about 72 bytes, measured)
plus the compiled engine's float64 array entry, rounded up."""

RECORD_ROW_BYTES = 4096
"""One per-layer diagnostic record (statistics, two 40-bin histograms) of one recorded
iteration: 1.6 to 3.7 KiB measured with ``tracemalloc`` on the notebook's networks."""

OPTIMIZER_SLOTS = {"gd": 0, "sgd": 0, "momentum": 1, "adam": 2}
"""Per-parameter state each built-in optimizer keeps (velocity; Adam's two moments); an
optimizer not listed counts as two."""

SNAPSHOT_VALUE_BYTES = 2 * FLOAT
"""One parameter of one snapshot: the engine's array and the result's float64 copy."""

RUN_CONFIG_BYTES = 1024
"""One run of a sweep while it is planned: its :class:`~initlab.experiments.config.RunConfig`
(377 bytes measured), its key, and its place in the plan and the to-do list."""

THEORY_LAYER_BYTES = 400
"""One layer of a mean-field prediction: the network's size and shape entries, the per-layer
lists and arrays (337 bytes at the peak, measured at depth 20,000)."""

CSV_BYTES_PER_FILE_BYTE = 20
"""Memory per byte of a CSV file while it is read: every cell becomes a Python float in a row
list (32 bytes) from as little as two bytes of text (``1,``), then a float64 array."""

NPZ_COPIES = 3
"""Copies of an ``.npz`` array's uncompressed bytes while it is read and converted."""

GENERATED_POINT_BYTES = 4 * FLOAT
"""Memory per value of a generated data set: the draws, the points, the shuffled copy and the
train/test arrays (a point has ``n_features`` values and a label)."""


class LimitError(ValueError):
    """A request whose estimated memory is over the limit: its message names the estimate,
    its largest part, the limit and how to raise it, after ``prefix`` (where the request came
    from, such as a spec's ``file:line:``). ``estimate`` and ``limit`` hold them."""

    def __init__(self, estimate: Estimate, limit: int, prefix: str = ""):
        self.estimate = estimate
        self.limit = limit
        largest = estimate.largest
        super().__init__(
            f"{prefix}{estimate.subject} needs ~{format_bytes(estimate.total)}, most of it for "
            f"{largest.what} ({largest.detail}: ~{format_bytes(largest.bytes)}); the limit is "
            f"{format_bytes(limit)} ({HOW_TO_RAISE})"
        )

    @property
    def cause(self) -> tuple[str, ...]:
        """The arguments that set the largest part (``("layer_sizes",)``, …), so that a caller
        can name its own option or key for them."""
        return self.estimate.largest.cause


@dataclass(frozen=True)
class Part:
    """One term of an estimate: what it holds, its bytes, the numbers behind it in words, and
    the arguments that set it."""

    what: str
    bytes: int
    detail: str
    cause: tuple[str, ...]


@dataclass(frozen=True)
class Estimate:
    """The memory a request needs, as the sum of its parts."""

    subject: str
    """What is asked, in words: ``"training 3 runs of [2, 10, 5, 1] on 300 examples"``."""
    parts: tuple[Part, ...]

    @property
    def total(self) -> int:
        return sum(part.bytes for part in self.parts)

    @property
    def largest(self) -> Part:
        return max(self.parts, key=lambda part: part.bytes)


# --- the limit ----------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """A memory size: bytes, or a number with a binary unit (``K``, ``M``, ``G``, ``T``, ``P``,
    optionally followed by ``B`` or ``iB``); errors name the text and the allowed forms.

    >>> parse_size("8G"), parse_size("1.5 GiB"), parse_size("4096")
    (8589934592, 1610612736, 4096)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGTP]?)(?:i?B)?\s*", str(text), re.I)
    value = float(match.group(1)) * UNITS[match.group(2).upper()] if match else 0.0
    if not match or not 1 <= value < 2**63:
        raise ValueError(
            f"A memory size must be a positive number of bytes, or one with a unit such as "
            f"512M, 8G or 1.5T. Received: {text!r}"
        )
    return int(value)


def format_bytes(n: int) -> str:
    """``n`` bytes in the largest binary unit that keeps it ≥ 1, one decimal below 100.

    >>> format_bytes(1536), format_bytes(12_600_000_000), format_bytes(3 * 2**40)
    ('1.5 KiB', '11.7 GiB', '3.0 TiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            break
        n /= 1024  # type: ignore[assignment]
    if unit == "B":
        return f"{int(n)} B"
    return f"{n:.1f} {unit}" if n < 100 else f"{n:,.0f} {unit}"


@functools.cache
def physical_memory() -> int | None:
    """This machine's memory in bytes, from ``sysconf`` and, where lower, the control group's
    limit (``/sys/fs/cgroup/memory.max``): two numbers read once, nothing allocated. ``None``
    where neither is known."""
    found = []
    with contextlib.suppress(AttributeError, ValueError, OSError):
        found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        if text.isdigit():
            found.append(int(text))
    except OSError:
        pass
    usable = [n for n in found if n > 0]
    return min(usable) if usable else None


def default_max_memory() -> int:
    """:data:`DEFAULT_FRACTION` of :func:`physical_memory`; 4 GiB where it is unknown."""
    memory = physical_memory()
    return int(memory * DEFAULT_FRACTION) if memory else 4 * 2**30


def max_memory() -> int:
    """The limit now: ``INITLAB_MAX_MEMORY`` if set (an error names a bad value), else
    :func:`default_max_memory`."""
    text = os.environ.get(ENV_MAX_MEMORY, "").strip()
    if not text:
        return default_max_memory()
    try:
        return parse_size(text)
    except ValueError as exc:
        raise ValueError(f"{ENV_MAX_MEMORY}: {exc}") from None


def check(estimate: Estimate, limit: int | None = None) -> Estimate:
    """``estimate`` if its total is within ``limit`` (default: :func:`max_memory`); else
    :class:`LimitError`."""
    limit = max_memory() if limit is None else limit
    if estimate.total > limit:
        raise LimitError(estimate, limit)
    return estimate


# --- estimates ----------------------------------------------------------------------------


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _runs(count: int) -> str:
    return f"{count:,} run{'s' if count != 1 else ''}"


def n_parameters(layer_sizes: Sequence[int]) -> int:
    """Weights and biases of an MLP: Σ n_l·(n_{l−1} + 1).

    >>> n_parameters([2, 10, 5, 1])
    91
    """
    return sum(n_out * (n_in + 1) for n_in, n_out in itertools.pairwise(layer_sizes))


def network_parts(
    layer_sizes: Sequence[int],
    n_examples: int,
    *,
    models: int = 1,
    parallel: int | None = None,
    optimizer: str = "adam",
    itemsize: int = FLOAT,
) -> tuple[Part, ...]:
    """Parameters and activations of ``models`` runs of one network on ``n_examples``.

    Parameters: (:data:`RUN_PARAM_COPIES` + the ``optimizer``'s :data:`OPTIMIZER_SLOTS`)·P
    float64 per run. Activations: per run training at once
    (``parallel``, default all ``models``: the NumPy engine stacks them; the compiled one
    trains one per thread), the pre-activations and activations of every layer and two
    backward arrays of the widest one, each ``n_examples`` long, in ``itemsize`` bytes.
    """
    sizes = [int(s) for s in layer_sizes]
    at_once = models if parallel is None else min(parallel, models)
    params = n_parameters(sizes)
    widest = max(sizes[1:], default=0)
    runs = f" × {_runs(models)}" if models != 1 else ""
    values = n_examples * (sizes[0] + 2 * sum(sizes[1:]) + 2 * max(sizes))
    return (
        Part(
            "the parameters",
            models * params * FLOAT * (RUN_PARAM_COPIES + OPTIMIZER_SLOTS.get(optimizer, 2)),
            f"{params:,} weights and biases{runs}",
            ("layer_sizes",),
        ),
        Part(
            "the activations",
            at_once * values * itemsize,
            f"a layer of {widest:,} units on {n_examples:,} examples"
            + (f", {at_once:,} runs at once" if at_once != 1 else ""),
            ("layer_sizes",),
        ),
    )


def training_estimate(
    layer_sizes: Sequence[int],
    n_examples: int,
    *,
    models: int = 1,
    parallel: int | None = None,
    iterations: int = 0,
    record_every: int = 1,
    diagnose_every: int | None = None,
    snapshots: bool = True,
    optimizer: str = "adam",
    itemsize: int = FLOAT,
) -> Estimate:
    """What training ``models`` runs of ``layer_sizes`` on ``n_examples`` holds at its peak.

    :func:`network_parts`, plus per run the cost history (⌈iterations/record_every⌉ + 1
    entries of :data:`HISTORY_ENTRY_BYTES`) and, with ``diagnose_every``, the parameter
    per-layer records taken at iteration 0, every ``diagnose_every`` and at the end
    (:data:`RECORD_ROW_BYTES` per layer) and, with ``snapshots``, the parameters at each
    (:data:`SNAPSHOT_VALUE_BYTES` per parameter): the engines keep them to compute the
    records from.

    >>> part = training_estimate([2, 10, 5, 1], 300, iterations=10**9, record_every=1).largest
    >>> part.what, part.cause
    ('the cost history', ('iterations', 'record_every'))
    """
    sizes = [int(s) for s in layer_sizes]
    recorded = _ceil_div(iterations, record_every) + 1
    parts = [
        *network_parts(
            sizes,
            n_examples,
            models=models,
            parallel=parallel,
            optimizer=optimizer,
            itemsize=itemsize,
        ),
        Part(
            "the cost history",
            models * recorded * HISTORY_ENTRY_BYTES,
            f"{recorded:,} recorded costs per run",
            ("iterations", "record_every"),
        ),
    ]
    if diagnose_every is not None:
        taken = _ceil_div(iterations, diagnose_every) + 1
        every = f"every {diagnose_every:,} iteration{'s' if diagnose_every != 1 else ''}"
        parts += [
            Part(
                "the parameter snapshots",
                models * taken * n_parameters(sizes) * SNAPSHOT_VALUE_BYTES * snapshots,
                f"{taken:,} snapshots per run, {every}",
                ("iterations", "diagnose_every"),
            ),
            Part(
                "the diagnostic records",
                models * taken * (len(sizes) - 1) * RECORD_ROW_BYTES,
                f"{taken:,} × {len(sizes) - 1} per-layer records per run, {every}",
                ("iterations", "diagnose_every"),
            ),
        ]
    subject = f"training {_runs(models)} of {sizes} on {n_examples:,} examples"
    return Estimate(subject, tuple(parts))


def theory_estimate(n_layers: int, sampled_entries: int = 0) -> Estimate:
    """A mean-field prediction for ``n_layers`` layers (:data:`THEORY_LAYER_BYTES` each), plus
    a layer of ``sampled_entries`` weights drawn to measure a scheme that states no moments
    (the draw and its square, float64)."""
    parts = [
        Part(
            "the per-layer predictions",
            n_layers * THEORY_LAYER_BYTES,
            f"{n_layers:,} layers",
            ("depth",),
        )
    ]
    if sampled_entries:
        parts.append(
            Part(
                "the sampled weights",
                2 * sampled_entries * FLOAT,
                f"{sampled_entries:,} weights of one layer, drawn to measure their moments",
                ("width",),
            )
        )
    return Estimate(f"the mean-field prediction for {n_layers:,} layers", tuple(parts))


def runs_estimate(count: int, axes: str = "") -> Estimate:
    """Planning a sweep of ``count`` runs (:data:`RUN_CONFIG_BYTES` each); ``axes`` says how
    the count came about (``"seeds 1,000 × 7 inits"``)."""
    detail = f"{count:,} runs" + (f": {axes}" if axes else "")
    return Estimate(
        f"a sweep of {_runs(count)}",
        (Part("the run configurations", count * RUN_CONFIG_BYTES, detail, ("runs",)),),
    )


def generated_data_estimate(name: str, n_points: int, n_features: int = 2) -> Estimate:
    """Generating ``n_points`` points of ``n_features`` features (and a label) each."""
    return Estimate(
        f"the data set {name!r} with {n_points:,} points",
        (
            Part(
                "the points",
                n_points * (n_features + 1) * GENERATED_POINT_BYTES,
                f"{n_points:,} points of {n_features} features",
                ("n_train", "n_test"),
            ),
        ),
    )


def data_file_estimate(path: str | os.PathLike[str]) -> Estimate:
    """Reading the data file ``path``, from its size on disk: a CSV's bytes, an ``.npz``'s
    uncompressed members (from the archive's directory, nothing decompressed). Zero where it
    cannot be read: the reader then says why."""
    file = Path(path)
    npz = file.suffix.lower() == ".npz"
    try:
        on_disk = file.stat().st_size
        nbytes = NPZ_COPIES * _npz_members(file) if npz else CSV_BYTES_PER_FILE_BYTE * on_disk
    except (OSError, ValueError):
        on_disk = nbytes = 0
    part = Part("its arrays" if npz else "its cells", nbytes, f"{on_disk:,} bytes on disk",
                ("dataset",))  # fmt: skip
    return Estimate(f"reading {str(file)!r}", (part,))


def _npz_members(file: Path) -> int:
    """The uncompressed bytes of an archive's members (``ValueError`` for a non-zip file)."""
    import zipfile

    try:
        with zipfile.ZipFile(file) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, EOFError, RuntimeError) as exc:
        raise ValueError(str(exc)) from None
