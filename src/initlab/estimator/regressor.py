""":class:`MLPRegressor`: scikit-learn's multi-layer perceptron regressor, initialized by any
initlab initializer."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import RegressorMixin

from initlab._epochs import r2_or_nan
from initlab._validate import python_scalar
from initlab.estimator._base import BaseMLP, documented, validate_data

Array = NDArray[np.float64]


@documented(
    targets="""
    n_outputs_ : int
        Targets per sample: 1 for a 1-D ``y``, k for ``y`` of shape (n_samples, k).
    out_activation_ : str
        ``"identity"``.
    """,
    loss="half the squared error summed over the outputs",
    score="R²",
)
class MLPRegressor(RegressorMixin, BaseMLP):  # type: ignore[misc]
    """Multi-layer perceptron regressor with scikit-learn's defaults and any initialization.

    The network's output layer is the identity, ŷ = z, one unit per target, trained on half
    the mean squared error summed over the outputs, (1 / 2m)·Σ_examples Σ_k (ŷ_k − y_k)²
    (:mod:`initlab.losses`), plus the L2 term. For one target that is scikit-learn's
    ``squared_error`` loss exactly; for k targets scikit-learn takes the same gradient steps
    (its output error is ŷ − y, as here) but reports the loss averaged over the outputs, so
    its ``loss_curve_`` — and the loss that its ``tol`` judges — is this one divided by k.
    ``y`` may be 1-D, giving :meth:`predict` of shape (n_samples,), or 2-D (n_samples, k),
    giving (n_samples, k) — also for k = 1, where scikit-learn's MLPRegressor flattens the
    column with a ``DataConversionWarning``. :meth:`score` is R² (uniform over the outputs).

    As with scikit-learn's, scale the targets as well as the features: Adam's steps of about
    ``learning_rate_init`` move the output slowly towards a target such as
    ``load_diabetes``' (mean 152), so a fit on unscaled targets needs thousands of epochs
    (both libraries alike: test R² −1.39 after the default 200).
    ``TransformedTargetRegressor(make_pipeline(StandardScaler(), MLPRegressor()),
    transformer=StandardScaler())`` trains on standardized targets and predicts in the
    original units.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : scikit-learn's own, with Glorot-uniform init only.
    initlab.estimator.MLPClassifier : the same network with a sigmoid or softmax output.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-2, 2, 200).reshape(-1, 1)
    >>> y = np.sin(2 * X[:, 0])
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", learning_rate_init=0.01,
    ...                    max_iter=1000, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.95, reg.predict(X[:3]).shape, reg.out_activation_
    (True, (3,), 'identity')
    >>> two = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", learning_rate_init=0.01,
    ...                    max_iter=1000, random_state=0).fit(X, np.column_stack([y, X ** 2]))
    >>> two.n_outputs_, two.predict(X[:3]).shape
    (2, (3, 2))
    """

    def fit(self, X: ArrayLike, y: ArrayLike) -> MLPRegressor:
        """Initialize with ``init`` and train on ``(X, y)`` epoch by epoch; returns the
        fitted estimator.

        ``y`` holds real numbers: shape (n_samples,) or (n_samples, k), finite; strings (class
        labels) are refused with a pointer to :class:`~initlab.estimator.MLPClassifier`.
        Arguments are validated here, each error repeating the bad value. A fit that reaches
        ``max_iter`` before the stopping rule warns with a
        :class:`~sklearn.exceptions.ConvergenceWarning`; one whose cost becomes NaN or
        infinite stops, warns with a :class:`~initlab.estimator.DivergenceWarning` and leaves
        a fitted estimator with ``status_ == "diverged"``.
        """
        config = self._check_params()
        X_arr, y_arr = validate_data(
            self, X, _numeric(y), dtype=np.float64, multi_output=True, y_numeric=True
        )
        y_arr = np.asarray(y_arr, dtype=np.float64)
        self._fit(config, X_arr, y_arr, 1 if y_arr.ndim == 1 else y_arr.shape[1], "identity")
        self._y_2d = y_arr.ndim == 2
        return self

    def predict(self, X: ArrayLike) -> Array:
        """The network's outputs ŷ: shape (n_samples,) for a 1-D ``y`` at fit, else
        (n_samples, n_outputs_). A diverged fit predicts non-finite values, without a
        warning."""
        Z = self._logits(X)
        out: Array = np.ascontiguousarray(Z.T) if self._y_2d else Z[0].copy()
        return out

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)² of :meth:`predict` against ``y``, averaged over the
        outputs (scikit-learn's ``r2_score``); NaN where a prediction is not finite (a
        diverged fit), as scikit-learn scores its validation set."""
        predicted = self.predict(X)
        y_arr = np.asarray(y)
        given = 1 if y_arr.ndim == 1 else int(np.prod(y_arr.shape[1:]))
        if given != self.n_outputs_ or y_arr.ndim > 2:
            raise ValueError(
                f"y must hold {self.n_outputs_} target{'s' if self.n_outputs_ != 1 else ''} "
                f"per sample, as at fit (n_outputs_={self.n_outputs_}). Received: y of shape "
                f"{y_arr.shape}"
            )
        return r2_or_nan(y_arr, predicted, sample_weight)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _more_tags(self) -> dict[str, bool]:  # scikit-learn < 1.6
        return {"multioutput": True}


def _numeric(y: Any) -> Any:
    """``y`` unchanged where it may hold numbers; strings (class labels, or numbers written as
    text) fail, naming one and pointing to the classifier. Other problems (``None``, NaN,
    shapes) are left to scikit-learn's checks and their usual messages."""
    try:
        values = np.asarray(y)
    except (TypeError, ValueError):
        return y
    if values.dtype.kind in "USO" and values.size:
        if values.dtype.kind == "O":
            try:
                values.astype(np.float64)
            except (TypeError, ValueError):
                pass
            else:
                return y
        example = python_scalar(next(v for v in values.flat if not _is_number(v)))
        raise ValueError(
            "Argument `y` must hold numeric regression targets (for class labels, use "
            f"MLPClassifier). Received: y of dtype {values.dtype} with values such as "
            f"{example!r}"
        )
    return y


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | str)
