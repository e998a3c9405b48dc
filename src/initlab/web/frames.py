"""What the page draws, computed from a session's current state.

A frame holds, for every run: costs and accuracies (train and test; R² for a regression
network), the new points of their curves, the decision boundary on a ``grid × grid`` box as
base64 ``uint8`` (a tenth of the size of JSON numbers; a regression network's predicted
surface on the targets' colour scale; the grid expanded to the run's input features), every
neuron's map, weights and histogram for the network diagram (:mod:`initlab.web.neurons`),
per-layer histograms of activations and of ∂L/∂W entries, the pre-activation second moment
measured now and at iteration 0 beside the mean-field prediction, and the diagnosis
(:func:`initlab.diagnostics.diagnose`) with its verdict.

Frames read sessions (:mod:`initlab.web.session`); what both need to measure a run lives in
:mod:`initlab.web.measure`, so the dependency points one way.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from initlab import diagnostics
from initlab._io import finite_or_none
from initlab.diagnostics import Histogram, Records, summarize
from initlab.network import MLP, Params, forward_columns
from initlab.web import neurons
from initlab.web.measure import layer_records, metrics
from initlab.web.session import Run, Session


def _hist(h: Histogram) -> dict[str, Any]:
    return {"counts": h.counts, "low": finite_or_none(h.low), "high": finite_or_none(h.high)}


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.uint8).tobytes()).decode()


CHUNK_BYTES = 96 << 10
"""The boundary's forward pass goes over the grid in chunks whose widest layer's activations
fit in 96 KiB: glibc's allocator hands blocks over 128 KiB back to the system when freed, so
each whole-grid pass (10 × 10,000 float64 per layer, 800 KB) faulted its memory in afresh.
The notebook's network, 100 × 100 grid: 1.16 ms in one pass, 0.43 ms in chunks (medians,
2 shared cores), the same numbers."""


def probabilities(mlp: MLP, params: Params, grid: np.ndarray) -> np.ndarray:
    """The head's output on every column of ``grid``, a chunk of columns at a time
    (:data:`CHUNK_BYTES`); NaN where the network overflows."""
    step = max(256, CHUNK_BYTES // (8 * max(mlp.layer_sizes)))
    with np.errstate(all="ignore"):
        return np.concatenate(
            [mlp.head.activate(forward_columns(mlp, params, grid[:, k : k + step]).logits)
             for k in range(0, grid.shape[1], step)], axis=1,
        )  # fmt: skip


def boundary(session: Session, run: Run) -> dict[str, Any] | None:
    """The decision boundary on the session's grid (the network's probabilities), or for a
    regression network its predicted surface (:func:`surface`); ``None`` unless the data has
    2 raw inputs."""
    grid = session.boundary_grid
    if session.extent is None or grid is None:
        return None
    if session.target_range is not None:
        return surface(session, run)
    size = session.limits.grid
    P = np.nan_to_num(probabilities(session.mlp, run.params, grid), nan=0.5)
    if P.shape[0] == 1:
        probability, classes = P[0], None
    else:
        classes = np.argmax(P, axis=0)
        probability = P[classes, np.arange(P.shape[1])]
    scaled = np.clip(np.rint(probability * 255.0), 0, 255)
    return {
        "kind": "probability",
        "size": size,
        "extent": list(session.extent),
        "probability": _b64(scaled),
        "classes": None if classes is None else _b64(classes),
    }


def surface(session: Session, run: Run) -> dict[str, Any]:
    """A regression network's prediction (its first output) over the boundary's grid, on
    the colour scale ``[low, high]`` of the targets (:func:`~initlab.web.session.target_range`)::

        q = clip(round(255 · (ŷ − low) / (high − low)), 0, 255)

    (127.5 is the scale's middle, 0 where it spans 0; a non-finite ŷ is sent as 0 or 255 by
    its sign, NaN as the middle). ``min``/``max`` are the prediction's own range on the grid
    (``null`` where it is not finite), so the page can say when it leaves the scale."""
    assert session.extent is not None
    assert session.boundary_grid is not None
    assert session.target_range is not None
    low, high = session.target_range
    values = probabilities(session.mlp, run.params, session.boundary_grid)[0]
    with np.errstate(all="ignore"):
        scaled = np.rint((values - low) / (high - low) * 255.0)
    scaled = np.where(np.isnan(scaled), 128.0, np.clip(scaled, 0, 255))
    finite = values[np.isfinite(values)]
    return {
        "kind": "surface",
        "size": session.limits.grid,
        "extent": list(session.extent),
        "values": _b64(scaled),
        "low": low,
        "high": high,
        "min": finite_or_none(float(finite.min())) if finite.size else None,
        "max": finite_or_none(float(finite.max())) if finite.size else None,
    }


NOISE_RELATIVE = 1e-12
"""A measured mean of Z² is rounding noise, shown as 0, when its root is at most this
fraction of the inputs' root mean square (:func:`noise_floor`). Every pre-activation descends
from the inputs and is measured in their units. float64 rounds each operation to
u = 2⁻⁵³ ≈ 1.1e-16 of its operands; a value that sums up to 10⁴ rounded terms of that scale
(a layer's inputs over the training set, a bias over thousands of updates) carries up to
about 10⁴·u ≈ 1e-12 of it where the exact value is 0. The zeros run's output pre-activation,
a bias that updates of ±½ drive to ~1e-16, has a mean Z² of ~1e-32 against a threshold of
~3e-25 on the course's circles; He's layers sit near 1. A signal truly this far below the
inputs (eight layers of ``random(scale=0.001)``) has vanished for every purpose of the page,
and the diagnosis says so."""


def noise_floor(X: np.ndarray) -> float:
    """The mean of Z² at or below which a measured one is rounding noise:
    ``(NOISE_RELATIVE)² · mean(X²)``, ``X`` the network's training inputs (0 for no inputs).

    >>> f"{noise_floor(np.array([[3.0, 4.0]])):.3g}"  # mean(X²) = 12.5
    '1.25e-23'
    """
    if X.size == 0:
        return 0.0
    with np.errstate(over="ignore"):
        q_x = float(np.mean(np.square(X)))
    return NOISE_RELATIVE**2 * q_x if math.isfinite(q_x) else 0.0


def _layers(
    run: Run, records: Records, grads_W: list[np.ndarray], q_noise: float
) -> list[dict[str, Any]]:
    current = records.at(-1)
    initial = run.initial_rows.at(0)
    predicted = run.prediction.q if run.prediction is not None else None
    out = []
    for k, (now, start) in enumerate(zip(current, initial)):
        with np.errstate(all="ignore"):
            _, _, grad_hist = summarize(grads_W[k])
        out.append(
            {
                "layer": now.layer,
                "kind": now.kind,
                "activation": now.activation,
                "width": now.width,
                "activation_hist": _hist(now.a_hist),
                "preactivation_hist": _hist(now.z_hist),
                "gradient_hist": _hist(grad_hist),
                "q_measured": finite_or_none(now.z_second_moment),
                "q_initial": finite_or_none(start.z_second_moment),
                "q_predicted": None if predicted is None else finite_or_none(float(predicted[k])),
                "q_noise": q_noise,
                "grad_norm": finite_or_none(now.grad_W_norm),
                "dead_fraction": finite_or_none(now.dead_fraction),
                "saturated_fraction": finite_or_none(now.saturated_fraction),
            }
        )
    return out


def _theory(run: Run) -> dict[str, Any]:
    p = run.prediction
    if p is None:
        return {"available": False, "note": run.theory_note, "chi1": [], "phase": None}
    chi = [float(c) for c in p.chi1]
    finite = [c for c in chi if math.isfinite(c) and c > 0]
    phase = None
    if finite:
        mean = math.exp(sum(math.log(c) for c in finite) / len(finite))
        phase = "ordered" if mean < 0.99 else "chaotic" if mean > 1.01 else "critical"
    elif chi:
        phase = "ordered"
    return {
        "available": True,
        "note": run.theory_note,
        "chi1": [finite_or_none(c) for c in chi],
        "phase": phase,
    }


def run_frame(session: Session, run: Run, since: int) -> dict[str, Any]:
    trainer = run.trainer
    iteration = trainer.iteration
    records, grads_W = layer_records(trainer)
    current = metrics(trainer, session.data)
    both = Records(rows=[*run.initial_rows.rows, *(records.rows if iteration else [])])
    findings = diagnostics.diagnose(both, trainer.diverged_at)
    if trainer.diverged:
        status = "diverged"
    elif session.iteration >= session.limits.max_iterations:
        status = "finished"
    else:
        status = "training"
    train_cost, test_cost, train_score, test_score = current
    regression = session.mlp.is_regression
    limits = session.limits
    network = neurons.network(session.mlp, run.params, session.data.X_train, session.extent,
                              limits.neuron_grid, limits.max_diagram_neurons,
                              session.config.features or ())  # fmt: skip
    return {
        "index": run.index,
        "label": run.label,
        "init": run.init,
        "status": status,
        "diverged_at": trainer.diverged_at,
        "engine_note": run.engine_note,
        "train_cost": finite_or_none(train_cost),
        "test_cost": finite_or_none(test_cost),
        "train_accuracy": None if regression else finite_or_none(train_score),
        "test_accuracy": None if regression else finite_or_none(test_score),
        "train_r2": finite_or_none(train_score) if regression else None,
        "test_r2": finite_or_none(test_score) if regression else None,
        "history": {
            k: [finite_or_none(v) if isinstance(v, float) else v for v in values]
            for k, values in run.curve.since(since).items()
        },
        "boundary": boundary(session, run),
        "network": network,
        "layers": _layers(run, records, grads_W, noise_floor(session.data.X_train)),
        "findings": [
            {"kind": f.kind, "severity": f.severity, "message": f.message, "layer": f.layer}
            for f in findings
        ],
        "verdict": diagnostics.verdict(findings),
        "theory": _theory(run),
    }


def frame(session: Session, since: int = -1) -> dict[str, Any]:
    """Everything the page draws for the session's current state."""
    return {
        "session": session.id,
        "iteration": session.iteration,
        "done": session.done,
        "runs": [run_frame(session, run, since) for run in session.runs],
    }


def data_payload(session: Session) -> dict[str, Any]:
    """The data as the page draws it: the raw inputs (the plane's points), the network's
    inputs by name (``inputs``: the features, or the raw ``x1 … xd``), labels or targets."""
    data, raw = session.data, session.raw
    features = session.config.features
    return {
        "name": data.name,
        "task": data.task,
        "n_features": raw.n_features,
        "inputs": list(features) if features else [f"x{i + 1}" for i in range(raw.n_features)],
        "n_classes": data.n_classes,
        "n_targets": data.n_targets,
        "label_names": list(data.label_names),
        "target_range": None if session.target_range is None else list(session.target_range),
        "train": {"X": raw.X_train.tolist(), "y": data.y_train.tolist()},
        "test": {"X": raw.X_test.tolist(), "y": data.y_test.tolist()},
        "extent": list(session.extent) if session.extent is not None else None,
    }


def results(session: Session) -> dict[str, Any]:
    """The export: configuration, iteration, and every run's full curves and final state."""
    from initlab import __version__

    current = frame(session, since=-1)
    runs = []
    for _run, f in zip(session.runs, current["runs"]):
        runs.append(
            {
                key: f[key]
                for key in (
                    "label",
                    "init",
                    "status",
                    "diverged_at",
                    "train_cost",
                    "test_cost",
                    "train_accuracy",
                    "test_accuracy",
                    "train_r2",
                    "test_r2",
                    "engine_note",
                    "history",
                    "findings",
                    "verdict",
                    "theory",
                )
            }
            | {
                "layers": [
                    {k: v for k, v in layer.items() if not k.endswith("_hist")}
                    for layer in f["layers"]
                ],
                "layer_sizes": list(session.mlp.layer_sizes),
            }
        )
    return {
        "initlab_version": __version__,
        "config": session.config.to_dict(),
        "iteration": session.iteration,
        "runs": runs,
    }
