"""What the page draws, computed from a session's current state.

A frame holds, for every run: costs and accuracies (train and test), the new points of their
curves, the decision boundary on a ``grid × grid`` box as base64 ``uint8`` (a tenth of the
size of JSON numbers), every neuron's map, weights and histogram for the network diagram
(:mod:`initlab.web.neurons`), per-layer histograms of activations and of ∂L/∂W entries, the
pre-activation second moment measured now and at iteration 0 beside the mean-field
prediction, and the diagnosis (:func:`initlab.diagnostics.diagnose`) with its verdict.

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
    grid = session.boundary_grid
    if session.extent is None or grid is None:
        return None
    size = session.limits.grid
    P = np.nan_to_num(probabilities(session.mlp, run.params, grid), nan=0.5)
    if P.shape[0] == 1:
        probability, classes = P[0], None
    else:
        classes = np.argmax(P, axis=0)
        probability = P[classes, np.arange(P.shape[1])]
    scaled = np.clip(np.rint(probability * 255.0), 0, 255)
    return {
        "size": size,
        "extent": list(session.extent),
        "probability": _b64(scaled),
        "classes": None if classes is None else _b64(classes),
    }


def _layers(run: Run, records: Records, grads_W: list[np.ndarray]) -> list[dict[str, Any]]:
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
    train_cost, test_cost, train_acc, test_acc = current
    limits = session.limits
    network = neurons.network(session.mlp, run.params, session.data.X_train, session.extent,
                              limits.neuron_grid, limits.max_diagram_neurons)  # fmt: skip
    return {
        "index": run.index,
        "label": run.label,
        "init": run.init,
        "status": status,
        "diverged_at": trainer.diverged_at,
        "train_cost": finite_or_none(train_cost),
        "test_cost": finite_or_none(test_cost),
        "train_accuracy": finite_or_none(train_acc),
        "test_accuracy": finite_or_none(test_acc),
        "history": {
            k: [finite_or_none(v) if isinstance(v, float) else v for v in values]
            for k, values in run.curve.since(since).items()
        },
        "boundary": boundary(session, run),
        "network": network,
        "layers": _layers(run, records, grads_W),
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
    data = session.data
    return {
        "name": data.name,
        "n_features": data.n_features,
        "n_classes": data.n_classes,
        "label_names": list(data.label_names),
        "train": {"X": data.X_train.tolist(), "y": data.y_train.tolist()},
        "test": {"X": data.X_test.tolist(), "y": data.y_test.tolist()},
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
