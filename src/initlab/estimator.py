"""A scikit-learn classifier whose initialization is any initlab initializer.

:class:`MLPClassifier` follows scikit-learn's conventions: ``__init__`` only stores its
arguments, :meth:`~MLPClassifier.fit` validates them and the data, and everything learnt ends
in ``_``. It therefore works in :class:`~sklearn.pipeline.Pipeline`,
:class:`~sklearn.model_selection.GridSearchCV` and
:func:`~sklearn.model_selection.cross_val_score`, and the initializer is one more
hyperparameter to search over::

    GridSearchCV(MLPClassifier(), {"init": ["zeros", "random", "he"]})

Underneath it is initlab's own network (:mod:`initlab.network`), trained by the fast engine
(:func:`initlab.engine.train_batch`) or, with ``engine="reference"``, by the readable loop
(:func:`initlab.train.train`) that the engine reproduces; a fit also records the per-layer
diagnostics of :mod:`initlab.diagnostics` and says in ``why_`` why it trained the way it did.

Only classification: initlab's networks end in a sigmoid or softmax head trained with
cross-entropy, and there is no regression head (identity output, squared error) to build an
``MLPRegressor`` on.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from initlab import initializers, limits, optim
from initlab._validate import check_choice, check_int, invalid, is_int, python_scalar
from initlab.diagnostics import Recorder, diagnose, verdict
from initlab.engine import ENGINES as BATCH_ENGINES
from initlab.engine import attach_records, train_batch
from initlab.initializers import init_params
from initlab.losses import output_size
from initlab.network import MLP, Params, forward
from initlab.rng import streams
from initlab.settings import TrainSettings, check_iterations, check_l2
from initlab.train import TrainResult, train

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6 has the method instead

    def validate_data(_estimator: Any, /, *args: Any, **kwargs: Any) -> Any:
        return _estimator._validate_data(*args, **kwargs)


Array = NDArray[np.float64]

SEED_HIGH = int(np.iinfo(np.int32).max)
"""A ``RandomState`` (or ``None``) becomes a seed drawn uniformly from [0, SEED_HIGH)."""

ENGINES = (*BATCH_ENGINES, "reference")
"""What ``MLPClassifier(engine=...)`` accepts: :func:`initlab.engine.train_batch`'s engines,
and ``"reference"`` for the readable loop, :func:`initlab.train.train`."""


class DivergenceWarning(ConvergenceWarning):  # type: ignore[misc]
    """The training cost became NaN or infinite; the fit stopped there.

    The estimator is still fitted, with ``status_ == "diverged"``; its predictions come from
    non-finite parameters and mean nothing. A :class:`~sklearn.exceptions.ConvergenceWarning`,
    so scikit-learn's usual filters for it apply.
    """


# The dataclass writes the __init__ scikit-learn asks for, storing each argument as given;
# scikit-learn's own repr, equality (identity) and hashing are kept.
@dataclass(eq=False, repr=False)
class MLPClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Multi-layer perceptron classifier with a choice of weight initialization.

    Two classes train one sigmoid output unit with binary cross-entropy; K > 2 classes a
    softmax of K units with cross-entropy. Labels may be of any type: they are encoded in
    the order of ``classes_``.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(10, 5)
        Width of each hidden layer; ``()`` is logistic (softmax) regression. The default is
        the course's ``[n_features, 10, 5, 1]`` network.
    activation : str or sequence of str, default="relu"
        Hidden-layer activation (any name in :data:`initlab.activations.ACTIVATIONS`), one for
        all hidden layers or one per hidden layer.
    init : str, dict or initializer, default="he"
        Weight initializer: a registered name (``"zeros"``, ``"random"``, ``"he"``,
        ``"glorot_uniform"``, ``"orthogonal"``, ``"lsuv"``, …), a config such as
        ``{"name": "random", "scale": 0.01}``, or an initializer object. Data-dependent
        initializers (LSUV) are given the training set as their batch.
    bias_init : str, dict or initializer, default="zeros"
        Bias initializer (not data-dependent). Ignored by LSUV, which sets biases to zero.
    optimizer : str, dict or optimizer, default="gd"
        ``"gd"``, ``"momentum"``, ``"adam"`` or a config (:mod:`initlab.optim`).
    learning_rate : float, default=0.01
        Step size, > 0.
    max_iter : int, default=15000
        Number of iterations (updates), each on the whole training set or on one
        mini-batch. Training always runs all of them unless it diverges: there is no
        tolerance-based early stop.
    batch_size : int or None, default=None
        ``None`` (or ≥ n_samples): full-batch gradient descent, as in the course.
        Otherwise each iteration uses the next mini-batch of a per-epoch shuffle.
    alpha : float, default=0.0
        L2 penalty λ: the cost gains (λ / 2m)·Σ‖W‖² (biases excluded), as in the course and
        in scikit-learn's ``MLPClassifier(alpha=...)``.
    record_every : int, default=100
        Spacing of ``loss_curve_``, in iterations.
    diagnose_every : int or None, default=None
        Also record per-layer diagnostics every this many iterations; they are always
        recorded at initialization and at the end.
    random_state : int, RandomState instance or None, default=None
        An int ≥ 0 is the seed of :func:`initlab.rng.streams`: its ``init`` stream draws the
        weights, its ``batch`` stream the mini-batches. A ``RandomState`` (or ``None``, NumPy's
        global one) is asked for one seed ``randint(2**31 − 1)`` at each fit, so successive
        fits differ, as scikit-learn's convention for ``random_state`` has it.
    engine : {"auto", "numba", "numpy", "reference"}, default="auto"
        What trains the network. ``"auto"``: :func:`initlab.engine.train_batch`'s compiled
        Numba kernel where it covers the fit, else its NumPy engine (with an
        :class:`~initlab.engine.EngineFallbackWarning` saying why); ``"numba"`` or
        ``"numpy"`` force one of them. ``"reference"``: the readable loop,
        :func:`initlab.train.train`, which the engines reproduce (to about 1e-12 relative
        on a well-conditioned fit; rounding differences grow in a chaotic one). With an
        engine, ``records_`` are computed after training from parameter snapshots, and their
        ``update_ratio`` is known only for full-batch ``"gd"`` (NaN otherwise); the
        reference records it for every optimizer.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
    params_ : list of initlab.network.Layer
        The trained parameters in initlab's layout: ``W`` of shape (fan_out, fan_in),
        ``b`` of shape (fan_out, 1).
    initial_params_ : list of initlab.network.Layer
        The parameters the initializer drew.
    coefs_ : list of ndarray
        The weights in scikit-learn's layout: ``coefs_[i]`` has shape (fan_in, fan_out).
    intercepts_ : list of ndarray
        The biases, ``intercepts_[i]`` of shape (fan_out,).
    layer_sizes_ : tuple of int
        ``(n_features, *hidden_layer_sizes, n_outputs)``.
    n_layers_ : int
        Number of layers, input and output included (scikit-learn's count).
    n_outputs_ : int
        1 for two classes (sigmoid), K for K classes (softmax).
    out_activation_ : str
        ``"sigmoid"`` or ``"softmax"``.
    n_iter_ : int
        Iterations run: ``max_iter``, or the iteration at which the cost diverged.
    loss_ : float
        Training cost (cross-entropy + L2 term) on the whole training set after the last
        update (NaN or inf if the fit diverged).
    loss_curve_ : list of float
        Training cost on the whole training set before the update of iterations
        0, ``record_every``, 2·``record_every``, …; if the fit diverged, the last entry is
        the non-finite cost at ``diverged_at_``.
    loss_curve_iterations_ : list of int
        The iteration of every ``loss_curve_`` entry.
    status_ : {"completed", "diverged"}
        Whether the fit ran all ``max_iter`` iterations or stopped on a non-finite cost.
    diverged_at_ : int or None
        The iteration whose cost was not finite.
    records_ : initlab.diagnostics.Records
        Per-layer statistics at initialization, every ``diagnose_every`` iterations and at the
        end (a diverged fit has no end record).
    findings_ : list of initlab.diagnostics.Finding
        :func:`initlab.diagnostics.diagnose` of ``records_``.
    why_ : str
        The main findings in one line (:func:`initlab.diagnostics.verdict`).

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's own, with Glorot-uniform init only.

    References
    ----------
    X. Glorot and Y. Bengio, "Understanding the difficulty of training deep feedforward
    neural networks", AISTATS 2010.
    K. He, X. Zhang, S. Ren and J. Sun, "Delving Deep into Rectifiers: Surpassing
    Human-Level Performance on ImageNet Classification", ICCV 2015.
    D. Mishkin and J. Matas, "All you need is a good init", ICLR 2016.

    Examples
    --------
    >>> from initlab.datasets import circles
    >>> data = circles()
    >>> clf = MLPClassifier(init="he", learning_rate=0.1, max_iter=2000, random_state=0)
    >>> clf.fit(data.X_train, data.y_train).score(data.X_test, data.y_test) > 0.9
    True
    >>> clf.status_, clf.why_
    ('completed', 'healthy at start: symmetry broken, signals well scaled')
    >>> MLPClassifier(init="zeros", max_iter=100).fit(data.X_train, data.y_train).why_
    'symmetry not broken: hidden layers act as 1, 1 distinct units (of 10, 5)'
    """

    hidden_layer_sizes: int | Sequence[int] = (10, 5)
    activation: str | Sequence[str] = "relu"
    init: initializers.Identifier = "he"
    bias_init: initializers.Identifier = "zeros"
    optimizer: str | dict[str, Any] | optim.Optimizer = "gd"
    learning_rate: float = 0.01
    max_iter: int = 15_000
    batch_size: int | None = None
    alpha: float = 0.0
    record_every: int = 100
    diagnose_every: int | None = None
    random_state: int | np.random.RandomState | None = None
    engine: str = "auto"

    # --- fit ---------------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike) -> MLPClassifier:
        """Initialize with ``init`` and train on ``(X, y)``; returns the fitted estimator.

        Arguments are validated here, each error repeating the bad value. A fit whose cost
        becomes NaN or infinite stops, warns with a :class:`DivergenceWarning` and leaves a
        fitted estimator with ``status_ == "diverged"``.
        """
        hidden = _check_hidden(self.hidden_layer_sizes)
        max_iter = check_iterations(python_scalar(self.max_iter), "max_iter")
        diagnose_every = self.diagnose_every
        if diagnose_every is not None:
            diagnose_every = check_iterations(python_scalar(diagnose_every), "diagnose_every")
        settings = TrainSettings(
            learning_rate=self.learning_rate,
            optimizer=self.optimizer,
            batch_size=self.batch_size,
            l2=check_l2(python_scalar(self.alpha), "alpha"),
            record_every=self.record_every,
        )
        w_init = initializers.get(self.init)
        b_init = initializers.get(self.bias_init)
        if isinstance(b_init, initializers.DataDependentInitializer):
            raise ValueError(
                "Argument `bias_init` cannot be data-dependent. "
                f"Received: bias_init={self.bias_init!r}"
            )
        settings = settings.replace(seed=_seed(self.random_state))
        engine = check_choice("engine", self.engine, ENGINES)

        X_arr, y_arr = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y_arr)
        encoder = LabelEncoder()
        y_int = encoder.fit_transform(y_arr).astype(np.int64)
        classes = encoder.classes_
        if len(classes) < 2:
            raise ValueError(
                "MLPClassifier needs at least 2 classes in y to learn from. "
                f"Received: 1 class, {classes.tolist()!r}"
            )
        n_outputs = output_size(len(classes))
        mlp = MLP([X_arr.shape[1], *hidden, n_outputs], self.activation)
        every = diagnose_every or max_iter
        limits.check(limits.training_estimate(
            mlp.layer_sizes, X_arr.shape[0], iterations=max_iter,
            record_every=settings.record_every, diagnose_every=every,
            optimizer=settings.optimizer.name,
        ))  # fmt: skip
        params = init_params(mlp, streams(settings.seed).init, w_init, b_init, X=X_arr)
        result = _train(mlp, params, X_arr, y_int, max_iter, settings, every, engine)
        records = result.records
        assert records is not None

        self.classes_ = classes
        self.params_: Params = result.params
        self.initial_params_: Params = result.initial_params
        self.coefs_ = [layer.W.T.copy() for layer in result.params]
        self.intercepts_ = [layer.b.reshape(-1).copy() for layer in result.params]
        self.layer_sizes_ = mlp.layer_sizes
        self.hidden_activations_ = mlp.hidden_activations
        self.n_layers_ = len(mlp.layer_sizes)
        self.n_outputs_ = n_outputs
        self.out_activation_ = mlp.output
        self.n_iter_ = result.iterations_run
        self.loss_ = result.final_cost
        self.loss_curve_ = list(result.history.costs)
        self.loss_curve_iterations_ = list(result.history.iterations)
        self.status_ = result.status
        self.diverged_at_ = result.diverged_at
        self.records_ = records
        self.findings_ = diagnose(records, result.diverged_at)
        self.why_ = verdict(self.findings_)
        if result.diverged:
            warnings.warn(
                f"MLPClassifier diverged: the training cost became {self.loss_curve_[-1]} at "
                f"iteration {result.diverged_at} of max_iter={max_iter} (init={self.init!r}, "
                f"learning_rate={settings.learning_rate!r}). The estimator is fitted with "
                "status_='diverged' and its predictions mean nothing; try a smaller "
                "learning_rate or a better-scaled init.",
                DivergenceWarning,
                stacklevel=2,
            )
        return self

    # --- prediction ----------------------------------------------------------------------

    def _network(self) -> MLP:
        return MLP(self.layer_sizes_, self.hidden_activations_)

    def decision_function(self, X: ArrayLike) -> Array:
        """The logits: shape (n_samples,) for two classes (positive → ``classes_[1]``),
        (n_samples, n_classes) for more."""
        check_is_fitted(self)
        X_arr = validate_data(self, X, dtype=np.float64, reset=False)
        with np.errstate(over="ignore", invalid="ignore"):  # only a diverged fit overflows
            Z = forward(self._network(), self.params_, X_arr).logits
        out: Array = Z[0].copy() if Z.shape[0] == 1 else np.ascontiguousarray(Z.T)
        return out

    def predict_proba(self, X: ArrayLike) -> Array:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order.

        For two classes the columns are [1 − p, p], p = σ(logit) = P(``classes_[1]`` | x).
        """
        check_is_fitted(self)
        X_arr = validate_data(self, X, dtype=np.float64, reset=False)
        mlp = self._network()
        with np.errstate(over="ignore", invalid="ignore"):
            P = mlp.head.activate(forward(mlp, self.params_, X_arr).logits)
        if P.shape[0] == 1:
            p = P[0]
            return np.column_stack([1.0 - p, p])
        return np.ascontiguousarray(P.T)

    def predict_log_proba(self, X: ArrayLike) -> Array:
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """Predicted labels: ``classes_[1]`` where the logit is > 0 (p > 0.5), or the class
        of the largest logit (largest probability)."""
        d = self.decision_function(X)
        index = (d > 0).astype(np.intp) if d.ndim == 1 else np.argmax(d, axis=1)
        labels: NDArray[Any] = self.classes_[index]
        return labels


def _train(
    mlp: MLP,
    params: Params,
    X: Array,
    y: NDArray[np.int64],
    iterations: int,
    settings: TrainSettings,
    diagnose_every: int,
    engine: str,
) -> TrainResult:
    """One run by ``engine``, with per-layer records at 0, every ``diagnose_every`` iterations
    and at the end: taken during training by the reference loop, or computed afterwards from
    the engine's parameter snapshots (as :func:`initlab.compare.compare` does)."""
    if engine == "reference":
        recorder = Recorder(every=diagnose_every)
        return train(mlp, params, X, y, iterations=iterations, settings=settings,
                     recorder=recorder)  # fmt: skip
    (result,) = train_batch(
        mlp, [params], X, y, iterations=iterations, settings=settings,
        engine=engine,  # type: ignore[arg-type]  # checked against ENGINES in fit
        checkpoint_every=diagnose_every,
    )  # fmt: skip
    attach_records(mlp, [result], X, y, l2=settings.l2, plain_gd=settings.plain_gd)
    return result


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


def _seed(random_state: object) -> int:
    """An int ≥ 0 as it is; a ``RandomState`` or ``None``: one draw of ``randint(2**31 − 1)``."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return int(check_random_state(random_state).randint(SEED_HIGH))
    return check_int("random_state", random_state, 0, must="an integer ≥ 0, a RandomState or None")
