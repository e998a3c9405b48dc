"""Why a run trains the way it does: per-layer records during training, and verdicts.

A :class:`Recorder` passed to :func:`initlab.train.train` takes, at chosen iterations (always
at initialization and at the end), one :class:`LayerRecord` per layer:

- pre-activation ``Z`` and activation ``A`` mean, standard deviation and histogram;
- ``dead_fraction``: ReLU units never active on the training data;
- ``saturated_fraction``: for sigmoid/tanh hidden layers, the fraction of pre-activations where
  φ′(z) is below 1 % of its maximum (|z| > 2.99 for tanh, > 5.29 for sigmoid); for the output
  layer, the fraction of examples whose output rounds to exactly 0 or 1
  (|z| > :data:`SATURATION_LOGIT`);
- ``infinite_loss_fraction`` (output layer): examples whose loss, computed from probabilities
  as the course computes it, is ``log(0) = inf``;
- ‖∂L/∂W‖ and ‖∂L/∂b‖ (Frobenius), the update-to-weight ratio ‖ΔW‖/‖W‖ of that iteration's
  step, and the number of distinct units (units whose incoming weights and bias are equal
  compute the same function and get the same gradient forever: zero init leaves 1 per layer).

Statistics are computed on the whole training set. :func:`diagnose` turns the records into
findings — symmetric, exploding/vanishing activations or gradients, saturated output at
start, saturated or dead hidden units, diverged, healthy — and :func:`verdict` into one line.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from initlab import losses
from initlab._io import dumps
from initlab._validate import check_int
from initlab.network import MLP, Cache, Params

Array = NDArray[np.float64]

SATURATION_LOGIT = 36.7
"""|z| beyond which float64 rounds σ(z) to exactly 1 (and 1 − σ(z) to 0): log(1 − p) = −inf."""

SATURATION_DERIVATIVE = 0.01
"""A sigmoid/tanh pre-activation is saturated where φ′(z) < 1 % of φ′'s maximum."""

SATURATION_Z = {"tanh": math.acosh(1 / math.sqrt(SATURATION_DERIVATIVE)), "sigmoid": 5.2933}
"""|z| thresholds for :data:`SATURATION_DERIVATIVE`: tanh′ = sech², σ′/σ′(0) = 4σ(1 − σ)."""

HISTOGRAM_BINS = 40

# Verdict thresholds (see diagnose()).
EXPLODE = 100.0
"""Activations or gradients explode/vanish when the last-to-first ratio passes 100 (or 1/100)."""
ONSET = 10.0
"""…and the finding names the first layer whose ratio to the reference passes 10 (or 1/10)…"""
SUSTAINED = 1.1
"""…provided the deeper half of the layers still grows (shrinks) by ≥ 10 % per layer."""
DEAD = 0.5
"""Dead units are reported when at least half a ReLU layer never fires."""
SATURATED_HIDDEN = 0.5
"""Saturated hidden layers are reported when half their pre-activations are saturated."""


@dataclass(frozen=True)
class Histogram:
    """``counts`` in equal bins over [``low``, ``high``] (``np.histogram``'s rule)."""

    counts: list[int]
    low: float
    high: float

    @property
    def edges(self) -> list[float]:
        if not self.counts:
            return []
        edges: list[float] = np.linspace(self.low, self.high, len(self.counts) + 1).tolist()
        return edges


def summarize(values: Array, bins: int = HISTOGRAM_BINS) -> tuple[float, float, Histogram]:
    """Mean, standard deviation and histogram of ``values`` (finite ones only), in one go.

    Equivalent to ``np.mean``, ``np.std`` and ``np.histogram(values, bins)`` (last bin closed),
    but a few times faster on the small arrays of a training step: recording must stay cheap.
    """
    flat = values.reshape(-1)
    lo, hi = (float(flat.min()), float(flat.max())) if flat.size else (math.nan, math.nan)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        flat = flat[np.isfinite(flat)]
        if flat.size == 0:
            return math.nan, math.nan, Histogram([], math.nan, math.nan)
        lo, hi = float(flat.min()), float(flat.max())
    with np.errstate(over="ignore", invalid="ignore"):  # values near 1e308: inf, honestly
        mean = float(np.add.reduce(flat)) / flat.size
        centred = flat - mean
        std = math.sqrt(float(centred @ centred) / flat.size)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    width = hi - lo
    if 0 < width < math.inf and math.isfinite(bins / width):
        index = ((flat - lo) * (bins / width)).astype(np.intp)
    else:  # |values| near 1e308, or a range too narrow for bins / width: see _extreme_bins
        index = _extreme_bins(flat, lo, hi, bins)
    np.minimum(index, bins - 1, out=index)
    return mean, std, Histogram(np.bincount(index, minlength=bins).tolist(), lo, hi)


def _extreme_bins(flat: Array, lo: float, hi: float, bins: int) -> NDArray[np.intp]:
    """The histogram bins of finite ``flat`` in ``[lo, hi]`` where ``hi − lo`` overflows
    (values near ±1e308), ``bins / (hi − lo)`` does (a subnormal range), or ``lo == hi``
    still (equal values too large for ±0.5 to move): the same formula on values divided by
    max(|lo|, |hi|), which keeps every term within [−2, 2]; equal values fill the middle
    bin, as they do where ±0.5 applies."""
    if lo == hi:
        return np.full(flat.shape, bins // 2, dtype=np.intp)
    scale = max(abs(lo), abs(hi))
    low, high = lo / scale, hi / scale
    index = ((flat / scale - low) * (bins / (high - low))).astype(np.intp)
    return np.maximum(index, 0)


@dataclass(frozen=True)
class LayerRecord:
    """One layer at one iteration: one row of the tidy records."""

    iteration: int
    layer: int
    """1-based, as the course numbers W1, W2, …"""
    kind: Literal["hidden", "output"]
    activation: str
    width: int
    z_mean: float
    z_std: float
    a_mean: float
    a_std: float
    dead_fraction: float
    saturated_fraction: float
    infinite_loss_fraction: float
    grad_W_norm: float
    grad_b_norm: float
    update_ratio: float
    distinct_units: int
    z_hist: Histogram = field(repr=False)
    a_hist: Histogram = field(repr=False)

    @property
    def z_second_moment(self) -> float:
        # x * x, not x**2: a float's ** raises OverflowError where * gives inf.
        return self.z_std * self.z_std + self.z_mean * self.z_mean


SCALAR_COLUMNS = tuple(f.name for f in fields(LayerRecord) if not f.name.endswith("_hist"))


@dataclass
class Records:
    """The tidy records of one run, and optional parameter snapshots at the same iterations."""

    rows: list[LayerRecord] = field(default_factory=list)
    snapshots: dict[int, Params] = field(default_factory=dict)

    @property
    def iterations(self) -> list[int]:
        return sorted({row.iteration for row in self.rows})

    def _repr_html_(self) -> str:
        from initlab._html import table

        columns = ("iteration", "layer", "activation", "width", "z_std", "a_std",
                   "dead_fraction", "saturated_fraction", "grad_W_norm", "update_ratio",
                   "distinct_units")  # fmt: skip
        rows = [[getattr(r, c) for c in columns] for r in self.rows]
        return table(columns, rows, f"{len(self.iterations)} recorded iterations")

    def at(self, iteration: int) -> list[LayerRecord]:
        """The layers' records at ``iteration`` (``-1``: the last one), in layer order."""
        if iteration < 0:
            iteration = self.iterations[iteration]
        return sorted((r for r in self.rows if r.iteration == iteration), key=lambda r: r.layer)

    def column(self, name: str, layer: int) -> tuple[list[int], list[float]]:
        """``(iterations, values)`` of one statistic of one layer over training."""
        rows = sorted((r for r in self.rows if r.layer == layer), key=lambda r: r.iteration)
        return [r.iteration for r in rows], [getattr(r, name) for r in rows]

    def to_dicts(self, histograms: bool = False, **extra: Any) -> list[dict[str, Any]]:
        """One dict per (iteration, layer); ``extra`` columns (e.g. ``run="he"``) come first."""
        out = []
        for row in self.rows:
            d = {name: getattr(row, name) for name in SCALAR_COLUMNS}
            if histograms:
                for name, hist in (("z_hist", row.z_hist), ("a_hist", row.a_hist)):
                    d[name] = {"counts": hist.counts, "edges": hist.edges}
            out.append({**extra, **d})
        return out

    def to_csv(self, file: io.TextIOBase | None = None, **extra: Any) -> str:
        """The scalar columns as CSV (NaN written as an empty cell); returns the text."""
        buffer = io.StringIO()
        names = [*extra, *SCALAR_COLUMNS]
        writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        for d in self.to_dicts(**extra):
            writer.writerow({k: "" if _is_nan(v) else v for k, v in d.items()})
        text = buffer.getvalue()
        if file is not None:
            file.write(text)
        return text

    def to_json(self, histograms: bool = True, **extra: Any) -> str:
        """All columns, histograms included, as a JSON array (NaN and inf as null)."""
        return dumps(self.to_dicts(histograms, **extra))


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def distinct_units(W: Array, b: Array, rtol: float = 1e-9) -> int:
    """How many units of a layer differ: rows ``[W_i, b_i]`` equal within ``rtol`` count once.

    Rows are snapped to a grid of ``rtol × max|row entry|`` before comparing, so units that
    are identical (zero init) or equal up to rounding count once; O(n log n) in the width.
    """
    rows = np.hstack([W, b])
    if not np.isfinite(rows).all():
        return int(rows.shape[0])
    if rows.shape[0] <= 1 or (rows == rows[0]).all():
        return int(rows.shape[0] > 0)
    snapped = np.round(rows / (rtol * float(np.max(np.abs(rows)))))
    if np.unique(snapped[:, 0]).size == rows.shape[0]:  # distinct already in one column
        return int(rows.shape[0])
    ordered = snapped[np.lexsort(snapped.T[::-1])]
    return 1 + int(np.count_nonzero(np.any(ordered[1:] != ordered[:-1], axis=1)))


def _frobenius(a: Array) -> float:
    return float(np.sqrt(np.sum(a * a)))


class Recorder:
    """Collects :class:`LayerRecord`s every ``every`` iterations (and at the end) of a run.

    >>> import numpy as np
    >>> from initlab import MLP, circles, init_params, train
    >>> data, mlp = circles(), MLP([2, 10, 5, 1])
    >>> rec = Recorder(every=100)
    >>> params = init_params(mlp, np.random.default_rng(0), "zeros")
    >>> result = train(mlp, params, data.X_train, data.y_train, iterations=300, recorder=rec)
    >>> rec.records.iterations
    [0, 100, 200, 300]
    >>> [r.distinct_units for r in rec.records.at(-1)]
    [1, 1, 1]
    """

    def __init__(self, every: int = 100, bins: int = HISTOGRAM_BINS, keep_params: bool = False):
        self.every = check_int("every", every, 1, must="a positive integer")
        self.bins = bins
        self.keep_params = keep_params
        self.records = Records()

    def wants(self, iteration: int) -> bool:
        return iteration % self.every == 0

    def record(
        self,
        iteration: int,
        mlp: MLP,
        params: Params,
        cache: Cache,
        Y: Array,
        grads: Params,
        updated: Params | None = None,
    ) -> None:
        """Record every layer. ``params`` are those ``cache`` and ``grads`` were computed with;
        ``updated`` are the parameters after this iteration's step (``None`` at the end)."""
        names = (*mlp.hidden_activations, mlp.output)
        for k, (layer, grad, name) in enumerate(zip(params, grads, names)):
            self.records.rows.append(
                measure_layer(
                    iteration,
                    k + 1,
                    k < mlp.n_layers - 1,
                    name,
                    layer.W,
                    layer.b,
                    cache.Z[k],
                    cache.A[k + 1],
                    Y,
                    grad_W_norm=_frobenius(grad.W),
                    grad_b_norm=_frobenius(grad.b),
                    update_ratio=_update_ratio(layer.W, updated[k].W) if updated else math.nan,
                    bins=self.bins,
                )
            )
        if self.keep_params:
            self.records.snapshots[iteration] = [layer.copy() for layer in params]


def measure_layer(
    iteration: int,
    layer: int,
    hidden: bool,
    activation: str,
    W: Array,
    b: Array,
    Z: Array,
    A: Array,
    Y: Array | None,
    *,
    grad_W_norm: float,
    grad_b_norm: float,
    update_ratio: float = math.nan,
    bins: int = HISTOGRAM_BINS,
) -> LayerRecord:
    """One layer's :class:`LayerRecord` from its weights ``W`` (fan_out, fan_in), bias ``b``,
    pre-activations ``Z`` and activations ``A`` (units × examples) and, for the output layer,
    the targets ``Y`` (``None``: no infinite-loss fraction). ``layer`` is 1-based."""
    z_mean, z_std, z_hist = summarize(Z, bins)
    a_mean, a_std, a_hist = summarize(A, bins)
    return LayerRecord(
        iteration=iteration,
        layer=layer,
        kind="hidden" if hidden else "output",
        activation=activation,
        width=int(W.shape[0]),
        z_mean=z_mean,
        z_std=z_std,
        a_mean=a_mean,
        a_std=a_std,
        dead_fraction=_dead_fraction(Z) if activation == "relu" and hidden else math.nan,
        saturated_fraction=_saturated(Z, activation, hidden),
        infinite_loss_fraction=math.nan if hidden or Y is None else _infinite_loss(A, Y),
        grad_W_norm=grad_W_norm,
        grad_b_norm=grad_b_norm,
        update_ratio=update_ratio,
        distinct_units=distinct_units(W, b),
        z_hist=z_hist,
        a_hist=a_hist,
    )


def _dead_fraction(Z: Array) -> float:
    """Fraction of units (rows) never active on any example."""
    return float(np.count_nonzero(Z.max(axis=1) <= 0)) / float(Z.shape[0])


def _saturated(Z: Array, activation: str, hidden: bool) -> float:
    if not hidden:
        if Z.shape[0] == 1:
            return float(np.mean(np.abs(Z) > SATURATION_LOGIT))
        top2 = np.sort(Z, axis=0)[-2:]
        return float(np.mean(top2[1] - top2[0] > SATURATION_LOGIT))
    if activation in SATURATION_Z:
        return float(np.mean(np.abs(Z) > SATURATION_Z[activation]))
    return math.nan


def _infinite_loss(P: Array, Y: Array) -> float:
    if P.shape[0] == 1:
        return float(np.mean(losses.naive_bce_is_infinite(P, Y)))
    return float(np.mean(np.any((P == 0.0) & (Y == 1.0), axis=0)))


def _update_ratio(before: Array, after: Array) -> float:
    norm = _frobenius(before)
    return _frobenius(after - before) / norm if norm > 0 else math.nan


# --- verdicts --------------------------------------------------------------------------

FindingKind = Literal[
    "diverged",
    "symmetric",
    "saturated_output",
    "exploding_activations",
    "vanishing_activations",
    "exploding_gradients",
    "vanishing_gradients",
    "saturated_hidden",
    "dead_units",
    "healthy",
]


Severity = Literal["ok", "warning", "severe"]

SEVERITY: dict[FindingKind, Severity] = {
    "diverged": "severe",
    "symmetric": "severe",
    "saturated_output": "severe",
    "exploding_activations": "severe",
    "vanishing_activations": "severe",
    "exploding_gradients": "severe",
    "vanishing_gradients": "severe",
    "saturated_hidden": "warning",
    "dead_units": "warning",
    "healthy": "ok",
}
"""How bad each finding is: "severe" findings stop or cripple training at the start;
"warning" ones cost capacity (saturated or dead units) while the network still learns."""


@dataclass(frozen=True)
class Finding:
    """One diagnosis: what, where (1-based layer, if any) and the measured value behind it."""

    kind: FindingKind
    message: str
    layer: int | None = None
    value: float | None = None

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.kind]


def diagnose(records: Records, diverged_at: int | None = None) -> list[Finding]:
    """Findings from a run's records, most important first.

    At initialization: symmetric (a hidden layer with fewer distinct units than its width),
    saturated output (any example's output rounded to 0 or 1), exploding or vanishing
    activations (last layer's pre-activation second moment ≥ 100× or ≤ 1/100 of the first's,
    still changing ≥ 10 % per layer over the deeper half; the onset is the first layer past
    10×), exploding or vanishing gradients (‖∂L/∂W‖ of the first layer vs the last, same
    thresholds, read from the output down), saturated
    sigmoid/tanh hidden layers (≥ 50 % of pre-activations saturated); "healthy" when none of
    these apply. At the end: dead ReLU layers (≥ 50 % of units never fire; not reported for a
    symmetric network, whose units are all the same). And whether the run diverged.
    """
    findings: list[Finding] = []
    if diverged_at is not None:
        findings.append(
            Finding("diverged", f"diverged: cost became non-finite at iteration {diverged_at}")
        )
    if not records.rows:
        return findings
    start = records.at(records.iterations[0])
    hidden = [r for r in start if r.kind == "hidden"]
    output = start[-1]

    narrowed = [r for r in hidden if r.distinct_units < r.width]
    if narrowed:
        widths = ", ".join(str(r.distinct_units) for r in hidden)
        of = ", ".join(str(r.width) for r in hidden)
        findings.append(
            Finding(
                "symmetric",
                f"symmetry not broken: hidden layers act as {widths} distinct units (of {of})",
                narrowed[0].layer,
                float(narrowed[0].distinct_units),
            )
        )
    if output.saturated_fraction > 0:
        findings.append(
            Finding(
                "saturated_output",
                f"output saturated at start: {output.saturated_fraction:.0%} of examples "
                f"rounded to 0 or 1, {output.infinite_loss_fraction:.0%} would give "
                "log(0) = inf in a naive loss",
                output.layer,
                output.saturated_fraction,
            )
        )
    findings += _trend(
        [r.z_second_moment for r in start], "activations", "pre-activation variance", upward=True
    )
    findings += _trend([r.grad_W_norm for r in start], "gradients", "‖∂L/∂W‖", upward=False)
    for r in hidden:
        if r.saturated_fraction >= SATURATED_HIDDEN:
            findings.append(
                Finding(
                    "saturated_hidden",
                    f"saturated {r.activation} units: {r.saturated_fraction:.0%} of layer "
                    f"{r.layer}'s pre-activations at start",
                    r.layer,
                    r.saturated_fraction,
                )
            )
            break
    if not [f for f in findings if f.kind != "diverged"]:
        findings.append(
            Finding("healthy", "healthy at start: symmetry broken, signals well scaled")
        )
    end = records.at(-1)
    when = "at the end" if len(records.iterations) > 1 else "at start"
    for r in end:
        if r.kind == "hidden" and r.dead_fraction >= DEAD and not narrowed:
            dead = round(r.dead_fraction * r.width)
            findings.append(
                Finding(
                    "dead_units",
                    f"dead ReLUs {when}: {dead} of {r.width} units of layer {r.layer} never fire",
                    r.layer,
                    r.dead_fraction,
                )
            )
            break
    return findings


def _trend(values: list[float], what: str, label: str, upward: bool) -> list[Finding]:
    """Exploding/vanishing along the layers. Activations are read from the input up
    (reference: layer 1); gradients from the output down (reference: the last layer)."""
    if len(values) < 2 or not all(math.isfinite(v) for v in values):
        return []
    order = list(range(len(values))) if upward else list(range(len(values) - 1, -1, -1))
    ref = values[order[0]]
    if ref <= 0:
        return []
    ratios = [values[i] / ref for i in order]
    total = ratios[-1]
    # The trend must still hold over the deeper half: a tanh network settling onto its
    # fixed-point variance q* grows a lot from layer 1 and then stops — it does not explode.
    half = len(ratios) // 2
    steps = len(ratios) - 1 - half
    rate = (ratios[-1] / ratios[half]) ** (1 / steps) if steps and ratios[half] > 0 else total
    if total >= EXPLODE and rate >= SUSTAINED:
        kind, word, onset = (
            "exploding",
            "grows",
            next(i for i, r in zip(order, ratios) if r >= ONSET),
        )
    elif total <= 1 / EXPLODE and rate <= 1 / SUSTAINED:
        kind, word, onset = (
            "vanishing",
            "shrinks",
            next(i for i, r in zip(order, ratios) if r <= 1 / ONSET),
        )
    else:
        return []
    first, last = order[0] + 1, order[-1] + 1
    return [
        Finding(
            f"{kind}_{what}",  # type: ignore[arg-type]
            f"{kind} {what}: {label} {word} ×{total:.3g} from layer {first} to {last}, "
            f"past ×{ONSET if kind == 'exploding' else 1 / ONSET:g} from layer {onset + 1}",
            onset + 1,
            total,
        )
    ]


def verdict(findings: list[Finding], limit: int = 2) -> str:
    """The most important findings as one line: the first ``limit`` messages, joined by "; ".

    ``findings`` is what :func:`diagnose` returns, most important first, so a run's verdict is
    ``verdict(diagnose(records))``. Given the records themselves, or anything other than a list
    of :class:`Finding`, it raises a ``TypeError`` that says so (rather than failing inside).

    >>> verdict([Finding("healthy", "healthy: symmetry broken, output not saturated")])
    'healthy: symmetry broken, output not saturated'
    """
    if not (isinstance(findings, list | tuple) and all(isinstance(f, Finding) for f in findings)):
        received = f"a {type(findings).__name__}"
        if isinstance(findings, list | tuple) and findings:
            received += " of " + ", ".join(sorted({type(f).__name__ for f in findings}))
        raise TypeError(
            "verdict() takes a run's findings, not its records: call "
            f"verdict(diagnose(records)). Received: {received}"
        )
    return "; ".join(f.message for f in findings[:limit])
