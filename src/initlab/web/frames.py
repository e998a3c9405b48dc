"""What the page draws, computed from a session's current state.

A frame holds, for every run: costs and accuracies (train and test), the new points of their
curves, the decision boundary on a ``grid × grid`` box as base64 ``uint8`` (a tenth of the
size of JSON numbers), per-layer histograms of activations and of ∂L/∂W entries, the
pre-activation second moment measured now and at iteration 0 beside the mean-field
prediction, and the diagnosis (:func:`initlab.diagnostics.diagnose`) with its verdict.

Frames read a session through the :class:`Session` and :class:`Run` protocols, which
:mod:`initlab.web.session`'s classes satisfy, so this module does not import the sessions.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from initlab import diagnostics
from initlab.datasets import Dataset
from initlab.diagnostics import Histogram, Recorder, Records, summarize
from initlab.network import MLP, Params, forward_columns, l2_penalty
from initlab.train import Trainer
from initlab.web.config import Limits, PlaygroundConfig

if TYPE_CHECKING:
    from initlab import theory


class Curve(Protocol):
    def since(self, iteration: int) -> dict[str, list[Any]]:
        """The curve's points after ``iteration``, column by column."""
        ...


class Run(Protocol):
    """What a frame reads of one run (:class:`initlab.web.session.Run` has it)."""

    @property
    def index(self) -> int: ...
    @property
    def init(self) -> dict[str, Any]: ...
    @property
    def label(self) -> str: ...
    @property
    def trainer(self) -> Trainer: ...
    @property
    def initial_rows(self) -> Records: ...
    @property
    def prediction(self) -> theory.Prediction | None: ...
    @property
    def theory_note(self) -> str | None: ...
    @property
    def curve(self) -> Curve: ...
    @property
    def params(self) -> Params: ...


class Session(Protocol):
    """What a frame reads of a session (:class:`initlab.web.session.Session` has it)."""

    @property
    def id(self) -> str: ...
    @property
    def config(self) -> PlaygroundConfig: ...
    @property
    def limits(self) -> Limits: ...
    @property
    def data(self) -> Dataset: ...
    @property
    def mlp(self) -> MLP: ...
    @property
    def runs(self) -> Sequence[Run]: ...
    @property
    def iteration(self) -> int: ...
    @property
    def done(self) -> bool: ...
    @property
    def extent(self) -> tuple[float, float, float, float] | None: ...
    @property
    def boundary_grid(self) -> np.ndarray | None: ...


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _hist(h: Histogram) -> dict[str, Any]:
    return {"counts": h.counts, "low": _finite(h.low), "high": _finite(h.high)}


def layer_records(trainer: Trainer) -> tuple[Records, list[np.ndarray]]:
    """Per-layer records of the trainer's current parameters on the whole training set, and
    the gradient of every weight matrix."""
    recorder = Recorder(every=1)
    with np.errstate(all="ignore"):
        cache, grads = trainer.full_pass()
        recorder.record(trainer.iteration, trainer.mlp, trainer.params, cache, trainer.targets,
                        grads)  # fmt: skip
    return recorder.records, [g.W for g in grads]


def metrics(trainer: Trainer, data: Dataset) -> tuple[float, float, float, float]:
    """Train cost, test cost, train accuracy, test accuracy of the current parameters."""
    mlp, params, l2 = trainer.mlp, trainer.params, trainer.l2
    out = []
    with np.errstate(all="ignore"):
        for X, y in ((data.X_train, data.y_train), (data.X_test, data.y_test)):
            if len(y) == 0:
                out.append((math.nan, math.nan))
                continue
            logits = forward_columns(mlp, params, X.T).logits
            Y = mlp.head.encode(y)
            cost = mlp.head.loss(logits, Y) + l2_penalty(params, l2, Y.shape[1])
            labels = mlp.head.labels(mlp.head.activate(logits)) if math.isfinite(cost) else None
            acc = float(np.mean(labels == y)) if labels is not None else math.nan
            out.append((float(cost), acc))
    (train_cost, train_acc), (test_cost, test_acc) = out
    return train_cost, test_cost, train_acc, test_acc


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.uint8).tobytes()).decode()


def boundary_grid(extent: tuple[float, float, float, float], size: int) -> np.ndarray:
    """Cell centres of a ``size × size`` grid over ``extent``, row 0 at the top (y max),
    as a ``(2, size²)`` feature-major array."""
    xmin, xmax, ymin, ymax = extent
    dx, dy = (xmax - xmin) / size, (ymax - ymin) / size
    xs = xmin + dx * (np.arange(size) + 0.5)
    ys = ymax - dy * (np.arange(size) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    return np.vstack([gx.ravel(), gy.ravel()])


def boundary(session: Session, run: Run) -> dict[str, Any] | None:
    grid = session.boundary_grid
    if session.extent is None or grid is None:
        return None
    size = session.limits.grid
    with np.errstate(all="ignore"):
        P = session.mlp.head.activate(forward_columns(session.mlp, run.params, grid).logits)
    P = np.nan_to_num(P, nan=0.5)
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
                "q_measured": _finite(now.z_second_moment),
                "q_initial": _finite(start.z_second_moment),
                "q_predicted": _finite(float(predicted[k])) if predicted is not None else None,
                "grad_norm": _finite(now.grad_W_norm),
                "dead_fraction": _finite(now.dead_fraction),
                "saturated_fraction": _finite(now.saturated_fraction),
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
        "chi1": [_finite(c) for c in chi],
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
    return {
        "index": run.index,
        "label": run.label,
        "init": run.init,
        "status": status,
        "diverged_at": trainer.diverged_at,
        "train_cost": _finite(train_cost),
        "test_cost": _finite(test_cost),
        "train_accuracy": _finite(train_acc),
        "test_accuracy": _finite(test_acc),
        "history": {
            k: [_finite(v) if isinstance(v, float) else v for v in values]
            for k, values in run.curve.since(since).items()
        },
        "boundary": boundary(session, run),
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
