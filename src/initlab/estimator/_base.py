"""What :class:`~initlab.estimator.MLPClassifier` and :class:`~initlab.estimator.MLPRegressor`
share: scikit-learn's parameters, their checks, the fit (initialize, train epoch by epoch,
judge each epoch) and the fitted attributes.

A subclass validates its targets — labels encoded ``0..K−1``, or real numbers — and calls
:meth:`BaseMLP._fit` with the output head they call for (sigmoid or softmax, identity);
everything else, from the initializer to the :class:`DivergenceWarning`, is done here once.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from initlab import initializers, limits, optim
from initlab._epochs import SEED_HIGH, Epochs, Plan, Stopping, hold_out, logits, train_epochs
from initlab._validate import check_choice, check_int, check_real, invalid, is_int, python_scalar
from initlab.diagnostics import diagnose, verdict
from initlab.engine import records_from_snapshots
from initlab.engine.resumable import ResumableRun, resumable_trainer
from initlab.initializers import init_params
from initlab.network import MLP, Params
from initlab.rng import NOTEBOOK, Seed, init_rng
from initlab.settings import TrainSettings, check_iterations, check_l2

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6 has the method instead

    def validate_data(_estimator: Any, /, *args: Any, **kwargs: Any) -> Any:
        return _estimator._validate_data(*args, **kwargs)


__all__ = ["AUTO_BATCH", "ENGINES", "BaseMLP", "DivergenceWarning", "documented", "validate_data"]

Array = NDArray[np.float64]
E = TypeVar("E")

ENGINES = ("auto", "numba", "reference")
"""What ``engine=`` accepts: :func:`~initlab.engine.resumable.resumable_trainer`'s engines, the
compiled kernel (``"auto"`` falls back to the reference loop where the kernel does not cover
the network) or the readable loop."""

AUTO_BATCH = 200
"""``batch_size="auto"`` is ``min(AUTO_BATCH, n_samples)``, as in scikit-learn."""


class DivergenceWarning(ConvergenceWarning):  # type: ignore[misc]
    """The training cost became NaN or infinite; the fit stopped there.

    The estimator is still fitted, with ``status_ == "diverged"``; its predictions come from
    non-finite parameters and mean nothing. A :class:`~sklearn.exceptions.ConvergenceWarning`,
    so scikit-learn's usual filters for it apply.
    """


@dataclass(frozen=True)
class _Config:
    """The estimator's parameters, validated, for one fit."""

    hidden: tuple[int, ...]
    max_iter: int
    rule: Stopping
    fraction: float
    diagnose_every: int | None
    learning_rate: float
    l2: float
    w_init: Any
    b_init: Any
    seed: Seed
    engine: str
    verbose: bool


# The dataclass writes the __init__ scikit-learn asks for, storing each argument as given;
# scikit-learn's own repr, equality (identity) and hashing are kept. Subclasses inherit it.
@dataclass(eq=False, repr=False)
class BaseMLP(BaseEstimator):  # type: ignore[misc]
    """The parameters, fit and fitted attributes of initlab's scikit-learn estimators (see
    :class:`~initlab.estimator.MLPClassifier` for what each parameter means)."""

    hidden_layer_sizes: int | Sequence[int] = (100,)
    activation: str | Sequence[str] = "relu"
    init: initializers.Identifier = "glorot_uniform"
    bias_init: initializers.Identifier = "zeros"
    optimizer: str | dict[str, Any] | optim.Optimizer = "adam"
    alpha: float = 1e-4
    batch_size: int | Literal["auto"] | None = "auto"
    learning_rate_init: float = 1e-3
    max_iter: int = 200
    shuffle: bool = True
    random_state: int | np.random.RandomState | Literal["notebook"] | None = None
    tol: float | None = 1e-4
    verbose: bool = False
    early_stopping: bool = False
    validation_fraction: float = 0.1
    n_iter_no_change: int = 10
    diagnose_every: int | None = None
    engine: str = "auto"

    # --- fit ---------------------------------------------------------------------------

    def _check_params(self) -> _Config:
        """Every parameter validated (before the data), each error repeating the bad value."""
        rule = Stopping(
            _check_tol(self.tol),
            check_iterations(python_scalar(self.n_iter_no_change), "n_iter_no_change"),
            _check_bool("early_stopping", self.early_stopping),
        )
        fraction = check_real("validation_fraction", python_scalar(self.validation_fraction),
                              low=0, high=1, low_open=True, high_open=True)  # fmt: skip
        diagnose_every = self.diagnose_every
        if diagnose_every is not None:
            diagnose_every = check_iterations(python_scalar(diagnose_every), "diagnose_every")
        learning_rate = check_real(
            "learning_rate_init", python_scalar(self.learning_rate_init), low=0, low_open=True
        )
        w_init, b_init = initializers.get(self.init), initializers.get(self.bias_init)
        if isinstance(b_init, initializers.DataDependentInitializer):
            raise ValueError(
                "Argument `bias_init` cannot be data-dependent. "
                f"Received: bias_init={self.bias_init!r}"
            )
        return _Config(
            hidden=_check_hidden(self.hidden_layer_sizes),
            max_iter=check_iterations(python_scalar(self.max_iter), "max_iter"),
            rule=rule,
            fraction=fraction,
            diagnose_every=diagnose_every,
            learning_rate=learning_rate,
            l2=check_l2(python_scalar(self.alpha), "alpha"),
            w_init=w_init,
            b_init=b_init,
            seed=_seed(self.random_state),
            engine=check_choice("engine", self.engine, ENGINES),
            verbose=_check_bool("verbose", self.verbose),
        )

    def _fit(
        self, config: _Config, X: Array, y: NDArray[Any], n_outputs: int, output: str | None
    ) -> None:
        """Initialize and train the network ``[n_features, *hidden, n_outputs]`` with the
        ``output`` head (``None``: sigmoid or softmax by size) on validated ``(X, y)``, epoch
        by epoch, and set the fitted attributes; warn as scikit-learn does."""
        rule, max_iter, seed = config.rule, config.max_iter, config.seed
        mlp = MLP([X.shape[1], *config.hidden, n_outputs], self.activation, output=output)
        validation = None
        if rule.on_validation:
            X, y, validation = hold_out(X, y, config.fraction, seed,
                                        stratify=not mlp.is_regression)  # fmt: skip
        n = X.shape[0]
        batch_size = _check_batch_size(python_scalar(self.batch_size), n)
        _check_shuffle(self.shuffle, batch_size)
        per_epoch = 1 if batch_size is None else -(-n // batch_size)
        settings = TrainSettings(
            learning_rate=config.learning_rate, optimizer=self.optimizer,
            batch_size=batch_size, l2=config.l2, seed=0 if seed == NOTEBOOK else seed,
            record_every=per_epoch,
        )  # fmt: skip
        limits.check(limits.training_estimate(
            mlp.layer_sizes, n, iterations=max_iter * per_epoch, record_every=per_epoch,
            diagnose_every=(config.diagnose_every or max_iter) * per_epoch,
            optimizer=settings.optimizer.name,
        ))  # fmt: skip
        params = init_params(mlp, init_rng(seed), config.w_init, config.b_init, X=X)
        trainer = resumable_trainer(
            mlp, params, X, y, settings=settings, engine=cast(Any, config.engine)
        )
        plan = Plan(max_iter, per_epoch, config.diagnose_every, config.verbose)
        epochs = train_epochs(trainer, plan, rule, validation)
        self._set_fitted(mlp, trainer, epochs, rule, n)
        self._warn(epochs, rule, max_iter, settings.learning_rate)

    def _set_fitted(
        self, mlp: MLP, trainer: ResumableRun, epochs: Epochs, rule: Stopping, n_train: int
    ) -> None:
        records = records_from_snapshots(
            mlp, epochs.snapshots, trainer.X, trainer.y, trainer.l2,
            learning_rate=trainer.learning_rate if trainer.settings.plain_gd else None,
            end=None if epochs.diverged_at is not None else epochs.n_iter,
        )  # fmt: skip
        records.snapshots.clear()
        self.params_: Params = epochs.params
        self.initial_params_: Params = [layer.copy() for layer in trainer.initial]
        self.coefs_ = [layer.W.T.copy() for layer in epochs.params]
        self.intercepts_ = [layer.b.reshape(-1).copy() for layer in epochs.params]
        self.layer_sizes_ = mlp.layer_sizes
        self.hidden_activations_ = mlp.hidden_activations
        self.n_layers_ = len(mlp.layer_sizes)
        self.n_outputs_ = mlp.layer_sizes[-1]
        self.out_activation_ = mlp.output
        self.n_iter_ = epochs.n_iter
        self.t_ = epochs.n_iter * n_train
        self.loss_curve_ = epochs.losses
        self.loss_ = epochs.losses[-1]
        on_validation = rule.on_validation
        self.best_loss_ = None if on_validation else rule.best_loss
        self.validation_scores_ = epochs.scores if on_validation else None
        self.best_validation_score_ = rule.best_score if on_validation else None
        self.status_ = "diverged" if epochs.diverged_at is not None else "completed"
        self.diverged_at_ = epochs.diverged_at
        self.records_ = records
        self.findings_ = diagnose(records, epochs.diverged_at)
        self.why_ = verdict(self.findings_)

    def _warn(self, epochs: Epochs, rule: Stopping, max_iter: int, lr: float) -> None:
        """scikit-learn's ConvergenceWarning at ``max_iter`` (none with ``tol=None``, as
        ``SGDClassifier``), or the DivergenceWarning."""
        if epochs.diverged_at is not None:
            warnings.warn(
                f"{type(self).__name__} diverged: the training cost became {self.loss_} at "
                f"epoch {epochs.diverged_at} of max_iter={max_iter} (init={self.init!r}, "
                f"learning_rate_init={lr!r}). The estimator is fitted with "
                "status_='diverged' and its predictions mean nothing; try a smaller "
                "learning_rate_init or a better-scaled init.",
                DivergenceWarning,
                stacklevel=4,
            )
        elif rule.tol is not None and not epochs.converged and epochs.n_iter == max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )

    # --- prediction ----------------------------------------------------------------------

    def _network(self) -> MLP:
        return MLP(self.layer_sizes_, self.hidden_activations_, output=self.out_activation_)

    def _logits(self, X: ArrayLike) -> Array:
        """The output layer's pre-activations for ``X`` (validated against the fit), one
        column per example."""
        check_is_fitted(self)
        X_arr = validate_data(self, X, dtype=np.float64, reset=False)
        return logits(self._network(), self.params_, X_arr)


# --- the shared documentation ------------------------------------------------------------

PARAMETERS = """\
Parameters
----------
hidden_layer_sizes : int or sequence of int, default=(100,)
    Width of each hidden layer; ``()`` is a linear model of the output head (logistic,
    softmax or least-squares regression).
activation : str or sequence of str, default="relu"
    Hidden-layer activation (any name in :data:`initlab.activations.ACTIVATIONS`), one for
    all hidden layers or one per hidden layer.
init : str, dict or initializer, default="glorot_uniform"
    Weight initializer: a registered name (``"glorot_uniform"``, ``"he"``, ``"zeros"``,
    ``"random"``, ``"orthogonal"``, ``"lsuv"``, …), a config such as
    ``{"name": "random", "scale": 0.01}``, or an initializer object. Data-dependent
    initializers (LSUV) are given the training set as their batch. The default is
    scikit-learn's: U(±√(6 / (fan_in + fan_out))) weights (Glorot & Bengio 2010), so the
    estimator starts where scikit-learn's does and ``init`` is the one thing a comparison
    changes. He (``init="he"``, variance 2 / fan_in) is what keeps the signal's variance
    through a deep ReLU stack; with one hidden layer both train alike.
bias_init : str, dict or initializer, default="zeros"
    Bias initializer (not data-dependent; scikit-learn draws biases like the weights).
    Ignored by LSUV, which sets biases to zero.
optimizer : str, dict or optimizer, default="adam"
    scikit-learn's ``solver``: ``"adam"`` (β₁ 0.9, β₂ 0.999, ε 1e-8, scikit-learn's),
    ``"momentum"`` (closest to scikit-learn's ``"sgd"``, which adds Nesterov momentum),
    ``"gd"`` (alias ``"sgd"``: plain gradient steps) or a config such as
    ``{"name": "adam", "beta1": 0.8}`` (:mod:`initlab.optim`).
alpha : float, default=0.0001
    L2 penalty λ ≥ 0, scikit-learn's ``alpha`` exactly: each mini-batch of m examples adds
    (λ / 2m)·Σ‖W‖² to its cost (biases excluded) and λ·W / m to the gradient, the course's
    L2 term with m the batch size.
batch_size : "auto", int or None, default="auto"
    Mini-batch size: ``"auto"`` is ``min(200, n_samples)``; ``None`` (or ≥ n_samples) is
    full-batch, one update per epoch, as in the course. Each epoch shuffles anew.
learning_rate_init : float, default=0.001
    Step size, > 0 (constant: scikit-learn's schedules are not offered).
max_iter : int, default=200
    Most epochs (passes over the training set; with ``batch_size=None`` an epoch is one
    update, so this counts updates).
shuffle : bool, default=True
    Mini-batches come from a fresh permutation every epoch; ``False`` is accepted only where
    there is nothing to shuffle (full batch): initlab's engines always reshuffle.
random_state : int, RandomState instance, "notebook" or None, default=None
    An int ≥ 0 is the seed of :func:`initlab.rng.streams`: its ``init`` stream draws the
    weights, its ``batch`` stream the mini-batches, its ``data`` stream the validation
    split. A ``RandomState`` (or ``None``, NumPy's global one) is asked for one seed
    ``randint(2**31 − 1)`` at each fit, so successive fits differ, as scikit-learn's
    convention has it. ``"notebook"``: the weights are drawn from the course's
    ``RandomState(3)`` (:func:`initlab.rng.init_rng`), the rest from seed 0's streams.
tol : float or None, default=1e-4
    Convergence: training stops once the training loss has not fallen below its best by
    more than ``tol`` for more than ``n_iter_no_change`` consecutive epochs (with
    ``early_stopping``: the validation score has not risen above its best by ``tol``).
    ``None`` (as in scikit-learn's ``SGDClassifier``): run all ``max_iter`` epochs, with no
    :class:`~sklearn.exceptions.ConvergenceWarning`.
verbose : bool, default=False
    Print ``Iteration N, loss = L`` after each epoch (and ``Validation score: S`` with
    ``early_stopping``) to standard output, as scikit-learn does; the lines come in bursts
    of :data:`~initlab._epochs.ITERATIONS_PER_CALL` iterations.
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the training set (stratified by class for the
    classifier), judge ``tol`` on the validation score after each epoch — the accuracy for
    the classifier, R² for the regressor, as in scikit-learn — and keep the parameters of
    the best epoch.
validation_fraction : float, default=0.1
    The held-out share, in (0, 1); used only with ``early_stopping``.
n_iter_no_change : int, default=10
    Epochs without improvement tolerated (≥ 1); see ``tol``.
diagnose_every : int or None, default=None
    Also record per-layer diagnostics every this many epochs; they are always recorded at
    initialization and at the end.
engine : {"auto", "numba", "reference"}, default="auto"
    What trains the network: the compiled Numba kernel (``"auto"`` falls back to the
    reference loop, with an :class:`~initlab.engine.EngineFallbackWarning` saying why, where
    the kernel does not cover the network), or the readable loop
    :class:`initlab.train.Trainer` (``"reference"``), which the kernel reproduces to about
    1e-12 relative on a well-conditioned fit.
"""

ATTRIBUTES = """\
Attributes
----------
{targets}
n_features_in_ : int
    Number of features seen during fit.
feature_names_in_ : ndarray of shape (n_features_in_,)
    Column names, when ``X`` was a DataFrame with string column names.
params_ : list of initlab.network.Layer
    The parameters kept, in initlab's layout: ``W`` of shape (fan_out, fan_in), ``b`` of
    shape (fan_out, 1) — the last epoch's, or with ``early_stopping`` the best epoch's.
initial_params_ : list of initlab.network.Layer
    The parameters the initializer drew.
coefs_, intercepts_ : list of ndarray
    ``params_`` in scikit-learn's layout: ``coefs_[i]`` (fan_in, fan_out), ``intercepts_[i]``
    (fan_out,).
layer_sizes_ : tuple of int
    ``(n_features, *hidden_layer_sizes, n_outputs)``.
n_layers_ : int
    Number of layers, input and output included (scikit-learn's count).
n_iter_ : int
    Epochs run.
t_ : int
    Training examples seen: ``n_iter_`` × the training set's size.
loss_curve_ : list of float
    The training cost ({loss} + L2 term) per epoch, on the whole training set with the
    parameters the epoch starts from — what scikit-learn records for a full batch; for
    mini-batches scikit-learn averages the batch costs over the epoch instead. A diverged
    fit ends with the non-finite cost that stopped it.
loss_ : float
    ``loss_curve_[-1]``.
best_loss_ : float or None
    The lowest ``loss_curve_`` entry (``None`` with ``early_stopping``).
validation_scores_ : list of float or None
    Validation {score} after each epoch (``None`` without ``early_stopping``).
best_validation_score_ : float or None
    Their maximum, whose parameters are kept (``None`` without ``early_stopping``).
status_ : {{"completed", "diverged"}}
    Whether the fit ended normally (converged or at ``max_iter``) or on a non-finite cost.
diverged_at_ : int or None
    The epoch whose cost was not finite.
records_ : initlab.diagnostics.Records
    Per-layer statistics at initialization, every ``diagnose_every`` epochs and at the end
    (a diverged fit has no end record), keyed by epoch. The update ratio ‖ΔW‖/‖W‖ is known
    only for full-batch ``"gd"`` (NaN otherwise).
findings_ : list of initlab.diagnostics.Finding
    :func:`initlab.diagnostics.diagnose` of ``records_``.
why_ : str
    The main findings in one line (:func:`initlab.diagnostics.verdict`).
"""

REFERENCES = """\
References
----------
X. Glorot and Y. Bengio, "Understanding the difficulty of training deep feedforward
neural networks", AISTATS 2010.
K. He, X. Zhang, S. Ren and J. Sun, "Delving Deep into Rectifiers: Surpassing
Human-Level Performance on ImageNet Classification", ICCV 2015.
D. Mishkin and J. Matas, "All you need is a good init", ICLR 2016.
"""


def documented(*, targets: str, loss: str, score: str) -> Callable[[type[E]], type[E]]:
    """Complete the decorated estimator's docstring — its summary, See Also and Examples —
    with the shared Parameters, the Attributes (its own ``targets`` entries first, and the
    names of its ``loss`` and its validation ``score``) and the References."""

    def decorate(cls: type[E]) -> type[E]:
        summary, rest = inspect.cleandoc(cls.__doc__ or "").split("\nSee Also\n", 1)
        see_also, examples = rest.split("\nExamples\n", 1)
        attributes = ATTRIBUTES.format(targets=inspect.cleandoc(targets), loss=loss, score=score)
        cls.__doc__ = "\n".join([
            summary.rstrip() + "\n", PARAMETERS, attributes, f"See Also\n{see_also.strip()}\n",
            REFERENCES, f"Examples\n{examples}",
        ])  # fmt: skip
        return cls

    return decorate


# --- argument checks ---------------------------------------------------------------------


def _check_hidden(sizes: object) -> tuple[int, ...]:
    items: Any = [sizes] if is_int(sizes) else sizes
    try:
        out: tuple[Any, ...] | None = tuple(items)
    except TypeError:
        out = None
    if out is None or not all(is_int(s) and s >= 1 for s in out):
        raise invalid("hidden_layer_sizes", "a positive integer or a sequence of them", sizes)
    return tuple(int(s) for s in out)


def _check_tol(tol: object) -> float | None:
    if tol is None:
        return None
    return check_real("tol", python_scalar(tol), low=0.0, must="a finite float ≥ 0 or None")


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise invalid(name, "True or False", value)
    return bool(value)


def _check_batch_size(batch_size: object, n: int) -> int | None:
    """``"auto"``: min(200, n); ``None`` or ≥ n: full batch (``None``); else the size."""
    if batch_size == "auto":
        batch_size = min(AUTO_BATCH, n)
    elif batch_size is not None:
        batch_size = check_int("batch_size", batch_size, 1, must="'auto', None or an integer ≥ 1")
    return None if batch_size is None or batch_size >= n else int(batch_size)


def _check_shuffle(shuffle: object, batch_size: int | None) -> None:
    if _check_bool("shuffle", shuffle) or batch_size is None:
        return
    raise ValueError(
        "Argument `shuffle` can be False only with full-batch training (batch_size=None): "
        "initlab's engines draw a new permutation of the mini-batches every epoch. "
        f"Received: shuffle=False, batch_size={batch_size}"
    )


def _seed(random_state: object) -> Seed:
    """An int ≥ 0 or ``"notebook"`` as it is; a ``RandomState`` or ``None``: one draw of
    ``randint(2**31 − 1)``."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return int(check_random_state(random_state).randint(SEED_HIGH))
    if random_state == NOTEBOOK:
        return NOTEBOOK
    return check_int("random_state", random_state, 0,
                     must="an integer ≥ 0, a RandomState, 'notebook' or None")  # fmt: skip
