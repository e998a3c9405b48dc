"""Playground sessions: one configuration's data and runs, trained step by step on request.

A :class:`Session` builds its data, network and initial weights exactly as an initlab sweep
builds a run: each initializer's run is a :class:`~initlab.experiments.config.RunConfig`
(:func:`~initlab.web.config.run_configs`) built by
:func:`~initlab.experiments.config.build`. Each run then trains with
:class:`initlab.train.Trainer` — ``train``'s own loop, resumable — so an exported spec
reproduces the playground's numbers. :mod:`initlab.web.frames` turns the state into what
the page draws. :class:`SessionStore` keeps sessions apart, bounded in number and removed
when idle; :class:`UploadStore` keeps uploaded CSV files, addressed by their content.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from initlab import datasets, theory
from initlab.datasets import Dataset
from initlab.diagnostics import Records
from initlab.experiments.config import build, build_mlp, load_data, sizes_for
from initlab.network import MLP, Params
from initlab.train import Trainer
from initlab.web.config import (
    UPLOAD_PREFIX,
    ConfigError,
    Limits,
    PlaygroundConfig,
    data_options,
    run_configs,
    unknown_upload,
)
from initlab.web.measure import boundary_grid, layer_records, metrics

CURVE_EVERY = 10
"""Curves get a point every 10 iterations, whatever the page's steps (so a reload, which
steps differently, draws the same curves)…"""
MAX_CURVE_POINTS = 2000
"""…until a curve would exceed 2,000 points: then its spacing doubles (and again later)."""

CURVE_COLUMNS = ("iteration", "train_cost", "test_cost", "train_accuracy", "test_accuracy")


class SessionError(LookupError):
    """An unknown or expired session."""


class TooManySessions(RuntimeError):
    """The server is at its session limit."""


@dataclass
class Curve:
    """Train/test cost and accuracy at every ``every``-th iteration: the points are a function
    of the iteration reached alone, never of how training was split into steps."""

    every: int = CURVE_EVERY
    iteration: list[int] = field(default_factory=list)
    train_cost: list[float] = field(default_factory=list)
    test_cost: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)

    def append(self, iteration: int, values: tuple[float, float, float, float]) -> None:
        if iteration % self.every or (self.iteration and self.iteration[-1] >= iteration):
            return
        self.iteration.append(iteration)
        for name, value in zip(CURVE_COLUMNS[1:], values):
            getattr(self, name).append(value)
        if len(self.iteration) > MAX_CURVE_POINTS:
            self.every *= 2
            keep = [k for k, it in enumerate(self.iteration) if it % self.every == 0]
            for name in CURVE_COLUMNS:
                column = getattr(self, name)
                setattr(self, name, [column[k] for k in keep])

    def since(self, iteration: int) -> dict[str, list[Any]]:
        start = next((k for k, it in enumerate(self.iteration) if it > iteration), None)
        if start is None:
            start = len(self.iteration)
        return {name: getattr(self, name)[start:] for name in CURVE_COLUMNS}


@dataclass
class Run:
    """One initializer's run in a session."""

    index: int
    init: dict[str, Any]
    label: str
    trainer: Trainer
    initial_rows: Records
    """Per-layer records at iteration 0 (the diagnosis' "at start")."""
    prediction: theory.Prediction | None
    theory_note: str | None
    curve: Curve = field(default_factory=Curve)

    @property
    def params(self) -> Params:
        return self.trainer.params


def init_label(init: dict[str, Any]) -> str:
    """``"he"``, or ``"random(scale=10)"`` with the arguments given."""
    args = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in init.items() if k != "name" and v is not None]  # fmt: skip
    return f"{init['name']}({', '.join(args)})" if args else str(init["name"])


def _predict(mlp: MLP, init: dict[str, Any], X: np.ndarray) -> tuple[theory.Prediction | None,
                                                                     str | None]:  # fmt: skip
    """The mean-field prediction at initialization, or why there is none."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", theory.TheoryWarning)
        try:
            prediction = theory.predict_from_data(mlp, init, X)
        except (ValueError, TypeError, NotImplementedError) as exc:
            return None, f"no mean-field prediction for {init_label(init)}: {exc}"
    notes = [str(w.message) for w in caught if issubclass(w.category, theory.TheoryWarning)]
    return prediction, (notes[0] if notes else None)


class Session:
    """One browser session: a configuration, its data and its runs (one per initializer)."""

    def __init__(
        self, session_id: str, config: PlaygroundConfig, limits: Limits, uploads: UploadStore
    ) -> None:
        self.id = session_id
        self.limits = limits
        self.uploads = uploads
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        self.configure(config)

    # -- building --------------------------------------------------------------------------

    def configure(self, config: PlaygroundConfig, seed: int | None = None) -> None:
        """Build data, network and runs for ``config`` (``seed`` replaces its seed); on an
        error the session keeps its previous state."""
        if seed is not None:
            config = dataclasses.replace(config, seed=seed)
        upload = self.uploads.get(config.upload_id) if config.upload_id is not None else None
        source = str(upload.path) if upload else config.dataset
        try:
            data = load_data(source, config.data_seed, data_options(config).items())
        except (ValueError, OSError) as exc:
            raise ConfigError(f"dataset: {exc}") from None
        limit = self.limits.max_iterations
        configs = run_configs(config, sizes_for(data, config.hidden), limit, limit, source)
        try:
            mlp = build_mlp(configs[0], data)
        except ValueError as exc:
            raise ConfigError(f"hidden: {exc}") from None
        runs = []
        for k, (init, run_config) in enumerate(zip(config.init_configs, configs, strict=True)):
            try:
                built = build(run_config, data)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"inits[{k}]: {init_label(init)} cannot initialize "
                                  f"{list(mlp.layer_sizes)}: {exc}") from None  # fmt: skip
            trainer = Trainer(mlp, built.initial_params, data.X_train, data.y_train,
                              settings=built.settings)  # fmt: skip
            prediction, note = _predict(mlp, init, data.X_train)
            run = Run(k, init, init_label(init), trainer, layer_records(trainer)[0], prediction,
                      note)  # fmt: skip
            run.curve.append(0, metrics(trainer, data))
            runs.append(run)
        self.config, self.data, self.mlp, self.runs = config, data, mlp, runs
        self.upload_name = upload.name if upload else None
        """The uploaded file's name (the session keeps its data if the file is dropped)."""
        self.iteration = 0
        self.extent = boundary_extent(data)
        self.boundary_grid = (
            boundary_grid(self.extent, self.limits.grid) if self.extent is not None else None
        )

    # -- training ----------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.iteration >= self.limits.max_iterations or all(
            run.trainer.diverged for run in self.runs
        )

    @property
    def flops_per_iteration(self) -> int:
        """Multiply-adds ×2 of one iteration of every run: forward (2) and backward (4) per
        weight and example of the batch."""
        n = len(self.data.y_train)
        batch = min(self.config.batch_size or n, n)
        weights = sum(a * b for a, b in self.mlp.weight_shapes())
        return 6 * batch * weights * len(self.runs)

    def step(self, iterations: int) -> int:
        """Train every run ``iterations`` more — fewer at the iteration limit, or where the
        work would pass ``limits.max_step_flops`` (at least one) — adding a curve point at
        every multiple of the curves' spacing on the way. Returns the iterations trained."""
        fits = max(1, int(self.limits.max_step_flops // self.flops_per_iteration))
        start = self.iteration
        end = min(start + iterations, start + fits, self.limits.max_iterations)
        while self.iteration < end:
            every = self.runs[0].curve.every
            upto = min(end, (self.iteration // every + 1) * every)
            for run in self.runs:
                if not run.trainer.diverged:
                    run.trainer.run(upto - self.iteration)
            self.iteration = upto
            if upto % every == 0:
                for run in self.runs:
                    run.curve.append(upto, metrics(run.trainer, self.data))
        return self.iteration - start

    def touch(self) -> None:
        self.last_used = time.monotonic()


def boundary_extent(data: Dataset) -> tuple[float, float, float, float] | None:
    """The decision-boundary box: every point plus a 10 % margin; ``None`` unless 2-D."""
    if data.n_features != 2:
        return None
    X = np.vstack([data.X_train, data.X_test])
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.maximum((hi - lo) * 0.1, 1e-3)
    lo, hi = lo - pad, hi + pad
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


class SessionStore:
    """Sessions by id, thread-safe; at most ``limits.max_sessions``, idle ones removed."""

    def __init__(self, limits: Limits, uploads: UploadStore,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.limits = limits
        self.uploads = uploads
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, config: PlaygroundConfig) -> Session:
        self.expire()
        with self._lock:
            if len(self._sessions) >= self.limits.max_sessions:
                raise TooManySessions(
                    f"The server already runs {len(self._sessions)} sessions, its limit "
                    f"(max_sessions={self.limits.max_sessions}); try again when one has been "
                    f"idle for {self.limits.idle_seconds:g} s"
                )
            session_id = secrets.token_urlsafe(16)
            # Reserve the slot before the (slow) build so concurrent creates respect the cap.
            self._sessions[session_id] = None  # type: ignore[assignment]
        try:
            session = Session(session_id, config, self.limits, self.uploads)
        except BaseException:
            with self._lock:
                del self._sessions[session_id]
            raise
        session.last_used = self.clock()
        with self._lock:
            self._sessions[session_id] = session
        return session

    def get(self, session_id: str) -> Session:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or self.clock() - session.last_used > self.limits.idle_seconds:
            raise SessionError(
                f"Unknown or expired session {session_id!r} (sessions idle for "
                f"{self.limits.idle_seconds:g} s are removed); start a new one"
            )
        session.last_used = self.clock()
        return session

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def expire(self) -> int:
        """Remove sessions idle for longer than ``limits.idle_seconds``; returns how many."""
        now = self.clock()
        with self._lock:
            idle = [k for k, s in self._sessions.items()
                    if s is not None and now - s.last_used > self.limits.idle_seconds]  # fmt: skip
            for k in idle:
                del self._sessions[k]
        return len(idle)


@dataclass(frozen=True)
class Upload:
    id: str
    name: str
    path: Path
    rows: int
    features: int
    classes: int


class UploadStore:
    """Uploaded CSV files in a private temporary folder, named by a hash of their bytes."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._dir = tempfile.TemporaryDirectory(prefix="initlab-uploads-")
        self._uploads: dict[str, Upload] = {}
        self._lock = threading.Lock()

    def __contains__(self, upload_id: object) -> bool:
        return upload_id in self._uploads

    def close(self) -> None:
        self._dir.cleanup()

    def get(self, upload_id: str) -> Upload:
        try:
            return self._uploads[upload_id]
        except KeyError:
            raise unknown_upload(UPLOAD_PREFIX + upload_id) from None

    def add(self, name: str, content: bytes) -> Upload:
        """Check and keep a CSV file; a :class:`ConfigError` says what is wrong with it."""
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name or "upload.csv").stem)[:60] or "upload"
        upload_id = hashlib.sha256(content).hexdigest()[:16]
        with self._lock:
            if upload_id in self._uploads:
                return self._uploads[upload_id]
        path = Path(self._dir.name) / upload_id / f"{stem}.csv"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
        try:
            data = datasets.from_csv(path, test_fraction=0.25, seed=0)
        except ValueError as exc:
            path.unlink()
            raise ConfigError(str(exc).replace(str(path), f"{stem}.csv")) from None
        rows = len(data.y_train) + len(data.y_test)
        problems = []
        if rows > self.limits.max_points:
            problems.append(f"{rows} rows (the limit is {self.limits.max_points})")
        if data.n_features > self.limits.max_features:
            problems.append(f"{data.n_features} features (the limit is {self.limits.max_features})")
        if data.n_classes > self.limits.max_classes:
            problems.append(f"{data.n_classes} classes (the limit is {self.limits.max_classes})")
        if problems:
            path.unlink()
            raise ConfigError(f"{stem}.csv has {' and '.join(problems)}")
        upload = Upload(upload_id, f"{stem}.csv", path, rows, data.n_features, data.n_classes)
        with self._lock:
            self._uploads[upload_id] = upload
            while len(self._uploads) > self.limits.max_uploads:  # dicts keep insertion order
                oldest = self._uploads.pop(next(iter(self._uploads)))
                oldest.path.unlink(missing_ok=True)
        return upload
