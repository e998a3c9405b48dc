"""Playground sessions: one configuration's data and runs, trained step by step on request.

A :class:`Session` builds its data (its inputs replaced by the configuration's features
where it names them, the raw inputs kept for drawing), network (a regression head on real
targets) and initial weights exactly as an initlab sweep builds a run: each initializer's
run is a :class:`~initlab.experiments.config.RunConfig`
(:func:`~initlab.web.config.run_configs`) built by :func:`~initlab.experiments.config.build`.
Each run then trains on the compiled engine, as a sweep does, resumable: an
:class:`~initlab.engine.resumable.EngineTrainer` continues from
step to step bit for bit as one call would (the reference :class:`initlab.train.Trainer`
where Numba is missing or the kernel lacks the run's activation or optimizer), so an
exported spec reproduces the playground's numbers. A step is one kernel call per run, which
also keeps the parameters at every curve point; the curve points' metrics are then one
batched NumPy pass (:func:`~initlab.web.measure.stacked_metrics`).
:mod:`initlab.web.frames` turns the state into what the page draws. :class:`SessionStore`
keeps sessions apart, bounded in number and removed when idle; :class:`UploadStore` keeps
uploaded CSV files, addressed by their content.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import os
import re
import secrets
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from initlab import datasets, theory
from initlab.datasets import Dataset
from initlab.datasets.base import TASKS
from initlab.diagnostics import Records
from initlab.engine import EngineFallbackWarning
from initlab.engine.resumable import ResumableRun, Snapshots, resumable_trainer, run_with_snapshots
from initlab.experiments.config import build, build_mlp, load_data, sizes_for
from initlab.network import MLP, Params
from initlab.web.config import (
    UPLOAD_PREFIX,
    ConfigError,
    Limits,
    PlaygroundConfig,
    check_inputs,
    data_options,
    run_configs,
    unknown_upload,
)
from initlab.web.fairness import LOCAL, Holdings
from initlab.web.measure import grid_inputs, layer_records, metrics, stacked_metrics

CURVE_EVERY = 10
"""Curves get a point every 10 iterations, whatever the page's steps (so a reload, which
steps differently, draws the same curves)…"""
MAX_CURVE_POINTS = 2000
"""…until a curve would exceed 2,000 points: then its spacing doubles (and again later)."""

PARALLEL_FLOPS = 5e7
"""A step whose training work (all runs) passes this — about 5 ms of the compiled kernel,
as a fast-forward's steps of thousands of iterations — trains its runs on parallel threads
(the kernel releases the GIL), as the engine trains a batch's models; a play frame's few
iterations stay on one thread. Threads pay where cores are idle; on a 2-core machine that
other processes kept busy (load 3.5) reopening 3 runs at 15,000 took the same either way
(0.93–1.38 s, three paired trials)."""

CURVE_COLUMNS = ("iteration", "train_cost", "test_cost", "train_accuracy", "test_accuracy")

Measure = Callable[[np.ndarray], np.ndarray]
"""Metrics (columns :data:`CURVE_COLUMNS` but the iteration) of stacked flat parameters."""


class SessionError(LookupError):
    """An unknown or expired session."""


class TooManySessions(RuntimeError):
    """The server is at its session limit."""


SCORES = {"accuracy": ("train_accuracy", "test_accuracy"), "r2": ("train_r2", "test_r2")}
"""A curve's score columns by the score's name: accuracy, or R² for a regression network."""


@dataclass
class Curve:
    """Train/test cost and score at every ``every``-th iteration: the points are a function
    of the iteration reached alone, never of how training was split into steps. The score is
    the accuracy, or R² for a regression network (``score = "r2"``: :meth:`since` names its
    columns ``train_r2``, ``test_r2``; they are kept in ``train_accuracy``, ``test_accuracy``)."""

    every: int = CURVE_EVERY
    score: str = "accuracy"
    iteration: list[int] = field(default_factory=list)
    train_cost: list[float] = field(default_factory=list)
    test_cost: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)

    def extend(self, start: int, end: int, snapshots: Snapshots, measure: Measure) -> None:
        """Add the points of a step from ``start`` to ``end``: at each multiple of
        :attr:`every` in ``(start, end]``, the metrics of the snapshot taken there, or of the
        last snapshot where training stopped before it (a diverged run stays where it
        stopped). ``measure`` gives the metrics of a stack of flat parameter sets (one row
        each); it is called once, on the snapshots used."""
        taken = snapshots.iterations
        points = range((start // self.every + 1) * self.every, end + 1, self.every)
        rows = [bisect.bisect_left(taken, it) if it < taken[-1] else len(taken) - 1
                for it in points]  # fmt: skip
        if not rows:
            return
        used = sorted(set(rows))
        values = measure(snapshots.flat[used])
        row_of = {q: k for k, q in enumerate(used)}
        for iteration, q in zip(points, rows):
            train_cost, test_cost, train_acc, test_acc = (float(v) for v in values[row_of[q]])
            self.append(iteration, (train_cost, test_cost, train_acc, test_acc))

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
        """The points after ``iteration``, by column (the score's named as :data:`SCORES`)."""
        start = next((k for k, it in enumerate(self.iteration) if it > iteration), None)
        if start is None:
            start = len(self.iteration)
        names = (*CURVE_COLUMNS[:3], *SCORES[self.score])
        return {key: getattr(self, name)[start:] for key, name in zip(names, CURVE_COLUMNS)}


@dataclass
class Run:
    """One initializer's run in a session."""

    index: int
    init: dict[str, Any]
    label: str
    trainer: ResumableRun
    initial_rows: Records
    """Per-layer records at iteration 0 (the diagnosis' "at start")."""
    prediction: theory.Prediction | None
    theory_note: str | None
    curve: Curve = field(default_factory=Curve)
    engine_note: str | None = None
    """Why the run trains on the reference loop instead of the compiled engine (the
    engine's :class:`~initlab.engine.EngineFallbackWarning`), or ``None``."""

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
        error the session keeps its previous state.

        The data is kept twice: :attr:`raw`, the data set's own inputs (what the page draws
        over), and :attr:`data`, its inputs replaced by the configuration's features (what the
        networks see), as :func:`~initlab.experiments.config.build_data` makes it."""
        if seed is not None:
            config = dataclasses.replace(config, seed=seed)
        upload = self.uploads.get(config.upload_id) if config.upload_id is not None else None
        source = str(upload.path) if upload else config.dataset
        task = upload.task if upload else "classification"
        try:
            raw = load_data(source, config.data_seed, data_options(config, task).items())
        except (ValueError, OSError) as exc:
            raise ConfigError(f"dataset: {exc}") from None
        check_inputs(config, raw.n_features)
        data = datasets.with_features(raw, config.features) if config.features else raw
        limit = self.limits.max_iterations
        configs = run_configs(config, sizes_for(data, config.hidden), limit, limit, source, task)
        try:
            mlp = build_mlp(configs[0], data)
        except ValueError as exc:
            raise ConfigError(f"hidden: {exc}") from None
        score = "r2" if mlp.is_regression else "accuracy"
        runs = []
        for k, (init, run_config) in enumerate(zip(config.init_configs, configs, strict=True)):
            try:
                built = build(run_config, data)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"inits[{k}]: {init_label(init)} cannot initialize "
                                  f"{list(mlp.layer_sizes)}: {exc}") from None  # fmt: skip
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", EngineFallbackWarning)
                trainer = resumable_trainer(mlp, built.initial_params, data.X_train,
                                            data.y_train, settings=built.settings)  # fmt: skip
            fallback = [str(w.message) for w in caught
                        if issubclass(w.category, EngineFallbackWarning)]  # fmt: skip
            prediction, note = _predict(mlp, init, data.X_train)
            run = Run(k, init, init_label(init), trainer, layer_records(trainer)[0], prediction,
                      note, Curve(score=score), fallback[0] if fallback else None)  # fmt: skip
            run.curve.append(0, metrics(trainer, data))
            runs.append(run)
        self.config, self.raw, self.data, self.mlp, self.runs = config, raw, data, mlp, runs
        self.upload_name = upload.name if upload else None
        """The uploaded file's name (the session keeps its data if the file is dropped)."""
        self.upload_task = task
        self.iteration = 0
        self.extent = boundary_extent(raw)
        self.boundary_grid = (
            grid_inputs(self.extent, self.limits.grid, config.features or ())
            if self.extent is not None
            else None
        )
        """The network's inputs on the boundary's grid (the raw plane, expanded)."""
        self.target_range = target_range(data) if data.is_regression else None
        """The regression surface's colour scale (:func:`target_range`)."""

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
        every multiple of the curves' spacing on the way. Returns the iterations trained.

        Each run trains in one call that keeps its parameters at those multiples
        (:func:`~initlab.engine.resumable.run_with_snapshots`); their metrics are then
        computed together (:func:`~initlab.web.measure.stacked_metrics`). A diverged run
        stays where it stopped, its points repeating its last state."""
        fits = max(1, int(self.limits.max_step_flops // self.flops_per_iteration))
        start = self.iteration
        end = min(start + iterations, start + fits, self.limits.max_iterations)
        if end <= start:
            return 0

        def advance(run: Run) -> None:
            snapshots = run_with_snapshots(run.trainer, end - start, run.curve.every)
            run.curve.extend(start, end, snapshots, self.measure)

        long = self.flops_per_iteration * (end - start) >= PARALLEL_FLOPS
        threads = min(len(self.runs), os.cpu_count() or 1) if long else 1
        if threads > 1:
            with ThreadPoolExecutor(threads, thread_name_prefix="initlab-session") as pool:
                list(pool.map(advance, self.runs))
        else:
            for run in self.runs:
                advance(run)
        self.iteration = end
        return end - start

    def measure(self, flat: np.ndarray) -> np.ndarray:
        """The curves' metrics of a stack of flat parameter sets (the runs share L2 and L1)."""
        return stacked_metrics(self.mlp, flat, self.data, self.config.l2, self.config.l1)

    def touch(self) -> None:
        self.last_used = time.monotonic()


def target_range(data: Dataset) -> tuple[float, float]:
    """The colour scale of a regression surface: the targets' range (train and test, every
    output), made symmetric about 0 where it spans 0 (so white is 0, as TensorFlow Playground
    draws it), widened to ±1 around a constant target.

    >>> import numpy as np
    >>> from initlab.datasets import Dataset
    >>> X = np.zeros((2, 2))
    >>> target_range(Dataset("t", X, np.array([-0.5, 2.0]), X, np.array([1.0, 0.0]),
    ...                      task="regression"))
    (-2.0, 2.0)
    """
    y = np.concatenate([np.ravel(data.y_train), np.ravel(data.y_test)])
    low, high = float(np.min(y)), float(np.max(y))
    if low < 0 < high:
        half = max(-low, high)
        return -half, half
    if low == high:
        return low - 1.0, high + 1.0
    return low, high


def boundary_extent(data: Dataset) -> tuple[float, float, float, float] | None:
    """The decision-boundary box: every point plus a 10 % margin; ``None`` unless 2-D (the
    data set's raw inputs)."""
    if data.n_features != 2:
        return None
    X = np.vstack([data.X_train, data.X_test])
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.maximum((hi - lo) * 0.1, 1e-3)
    lo, hi = lo - pad, hi + pad
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def warm_up_engine() -> None:
    """Load the compiled engine for the page's default run (the notebook's network, gradient
    descent, full batch, float64) by training it one iteration: Numba's import and the
    kernel's load from its disk cache (compiled there the first time) take about 1 s, which
    the first session would otherwise wait. Where the engine is unavailable, nothing happens
    here (sessions say why, falling back to the reference loop)."""
    from initlab.engine.resumable import EngineTrainer
    from initlab.network import Layer

    config = PlaygroundConfig()
    mlp = MLP([2, *config.hidden, 1], config.activation)
    params = [Layer(np.zeros(shape), np.zeros((shape[0], 1))) for shape in mlp.weight_shapes()]
    X, y = np.zeros((2, 2)), np.array([0, 1])
    try:
        trainer = EngineTrainer(mlp, params, X, y, settings=config.settings)
        trainer.run(1, snapshot_every=1)
    except Exception:  # Numba missing or broken: the sessions report it
        return


class SessionStore:
    """Sessions by id, thread-safe; at most ``limits.max_sessions``, idle ones removed.

    Each session is held by the client that made it (:class:`~initlab.web.fairness.Holdings`):
    a client may hold ``limits.max_sessions_per_client``; when the server is full, the least
    recently used session of the client holding the most gives way to a client holding less,
    so one client's flood locks out only itself.

    Made, it loads the compiled engine in a background thread (:func:`warm_up_engine`), so a
    link opened right after the server starts does not wait for it."""

    def __init__(self, limits: Limits, uploads: UploadStore,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.limits = limits
        self.uploads = uploads
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._holders = Holdings()
        self._lock = threading.Lock()
        threading.Thread(target=warm_up_engine, name="initlab-warm-up", daemon=True).start()

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, config: PlaygroundConfig, client: str = LOCAL) -> Session:
        """A new session held by ``client``; :class:`TooManySessions` if it holds its share,
        or if the server is full and no client holds more than it."""
        self.expire()
        with self._lock:
            self._make_room(client)
            session_id = secrets.token_urlsafe(16)
            # Reserve the slot before the (slow) build so concurrent creates respect the cap.
            self._sessions[session_id] = None  # type: ignore[assignment]
            self._holders.hold(client, session_id)
        try:
            session = Session(session_id, config, self.limits, self.uploads)
        except BaseException:
            with self._lock:
                self._remove(session_id)
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
            self._remove(session_id)

    def _remove(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
        self._holders.forget(session_id)

    def _make_room(self, client: str) -> None:
        """Refuse ``client`` past its share; when the server is full, remove the least
        recently used (built) session of the client holding the most, if it holds more."""
        limits, held = self.limits, self._holders.count(client)
        share = min(limits.max_sessions_per_client, limits.max_sessions)
        wait = f"try again when one has been idle for {limits.idle_seconds:g} s"
        if held >= share and share < limits.max_sessions:  # (else the server-wide message)
            raise TooManySessions(
                f"This client ({client}) already holds {held} sessions, the limit per client "
                f"(max_sessions_per_client={limits.max_sessions_per_client}); {wait}"
            )
        if len(self._sessions) < limits.max_sessions:
            return
        largest = self._holders.largest(prefer_not=client)
        built = [(s.last_used, k) for k in self._holders.held_by(largest or client)
                 if (s := self._sessions.get(k)) is not None]  # fmt: skip
        if largest is None or self._holders.count(largest) <= held or not built:
            raise TooManySessions(
                f"The server already runs {len(self._sessions)} sessions, its limit "
                f"(max_sessions={limits.max_sessions}); {wait}"
            )
        self._remove(min(built)[1])

    def expire(self) -> int:
        """Remove sessions idle for longer than ``limits.idle_seconds``; returns how many."""
        now = self.clock()
        with self._lock:
            idle = [k for k, s in self._sessions.items()
                    if s is not None and now - s.last_used > self.limits.idle_seconds]  # fmt: skip
            for k in idle:
                self._remove(k)
        return len(idle)


@dataclass(frozen=True)
class Upload:
    id: str
    name: str
    path: Path
    rows: int
    features: int
    classes: int
    """0 for a regression upload."""
    task: str = "classification"
    """``"regression"``: the label column holds a real target
    (:func:`initlab.datasets.from_csv`)."""


class UploadStore:
    """Uploaded CSV files in a private temporary folder, named by a hash of their bytes.

    Each upload is held by the clients that sent it (:class:`~initlab.web.fairness.Holdings`):
    past ``limits.max_uploads_per_client`` a client's own oldest is dropped, and past
    ``limits.max_uploads`` the oldest of the client holding the most, so one client's flood
    pushes out only its own files."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._dir = tempfile.TemporaryDirectory(prefix="initlab-uploads-")
        self._uploads: dict[str, Upload] = {}
        self._holders = Holdings()
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

    def add(
        self, name: str, content: bytes, client: str = LOCAL, task: str = "classification"
    ) -> Upload:
        """Check and keep a CSV file for ``client``; a :class:`ConfigError` says what is
        wrong with it. With ``task="regression"`` its label column is a real target; the same
        file read both ways is two uploads (the id hashes the task too)."""
        if task not in TASKS:
            raise ConfigError(f"task: {task!r} is not allowed; choose one of {', '.join(TASKS)}")
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(name or "upload.csv").stem)[:60] or "upload"
        marked = content if task == "classification" else content + b"\0" + task.encode()
        upload_id = hashlib.sha256(marked).hexdigest()[:16]
        with self._lock:
            if upload_id in self._uploads:
                self._hold(client, upload_id)
                return self._uploads[upload_id]
        path = Path(self._dir.name) / upload_id / f"{stem}.csv"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
        try:
            data = datasets.from_csv(path, test_fraction=0.25, seed=0, task=task)
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
            hint = ""
            if data.n_classes > self.limits.max_classes:
                hint = " (if its label column is a real number to predict, upload it as regression)"
            raise ConfigError(f"{stem}.csv has {' and '.join(problems)}{hint}")
        upload = Upload(upload_id, f"{stem}.csv", path, rows, data.n_features, data.n_classes,
                        task)  # fmt: skip
        with self._lock:
            self._uploads[upload_id] = upload
            self._hold(client, upload_id)
        return upload

    def _hold(self, client: str, upload_id: str) -> None:
        """``client`` holds the upload as its newest; then drop holdings past its share,
        and past the server's limit those of the client holding the most."""
        self._holders.hold(client, upload_id)
        while self._holders.count(client) > self.limits.max_uploads_per_client:
            self._release(client, self._holders.held_by(client)[0])
        while len(self._uploads) > self.limits.max_uploads:
            largest = self._holders.largest(prefer_not=client) or client
            self._release(largest, self._holders.held_by(largest)[0])

    def _release(self, client: str, upload_id: str) -> None:
        if self._holders.release(client, upload_id):
            self._uploads.pop(upload_id).path.unlink(missing_ok=True)
