""":class:`MLPClassifier`: scikit-learn's multi-layer perceptron classifier, initialized by any
initlab initializer; and :data:`COURSE`, the course's experiment as its parameters."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets

from initlab._epochs import class_indices
from initlab.estimator._base import BaseMLP, documented, validate_data
from initlab.losses import output_size
from initlab.rng import NOTEBOOK

Array = NDArray[np.float64]

COURSE: dict[str, Any] = {
    "hidden_layer_sizes": (10, 5), "init": "he", "optimizer": "gd", "learning_rate_init": 0.01,
    "alpha": 0.0, "batch_size": None, "max_iter": 15_000, "tol": None, "random_state": NOTEBOOK,
}  # fmt: skip
"""The course notebook's experiment as parameters: ``MLPClassifier(**COURSE)`` is the
``[2, 10, 5, 1]`` ReLU network, He-initialized from the notebook's ``RandomState(3)``, trained
by full-batch gradient descent at 0.01 for 15,000 iterations without L2 or early stopping."""


@documented(
    targets="""
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_outputs_ : int
        1 for two classes (sigmoid), K for K classes (softmax).
    out_activation_ : str
        ``"sigmoid"`` or ``"softmax"``.
    """,
    loss="cross-entropy",
    score="accuracy",
)
class MLPClassifier(ClassifierMixin, BaseMLP):  # type: ignore[misc]
    """Multi-layer perceptron classifier with scikit-learn's defaults and any initialization.

    Two classes train one sigmoid output unit with binary cross-entropy; K > 2 classes a
    softmax of K units with cross-entropy. Labels may be of any type: they are encoded in
    the order of ``classes_``. The course's experiment is the one line
    ``MLPClassifier(hidden_layer_sizes=(10, 5), init="he", optimizer="gd",
    learning_rate_init=0.01, alpha=0, batch_size=None, max_iter=15000, tol=None,
    random_state="notebook")`` (:data:`COURSE`).

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's own, with Glorot-uniform init only.
    initlab.estimator.MLPRegressor : the same network with an identity output, for regression.

    Examples
    --------
    >>> from initlab.datasets import circles
    >>> data = circles()
    >>> clf = MLPClassifier(init="he", learning_rate_init=0.01, max_iter=1000, random_state=0)
    >>> clf.fit(data.X_train, data.y_train).score(data.X_test, data.y_test) > 0.9
    True
    >>> clf.n_iter_ < clf.max_iter, clf.why_  # stopped by tol: the loss stopped improving
    (True, 'healthy at start: symmetry broken, signals well scaled')
    >>> course = MLPClassifier(**COURSE).fit(data.X_train, data.y_train)
    >>> course.score(data.X_train, data.y_train), course.score(data.X_test, data.y_test)
    (0.9933333333333333, 0.96)
    """

    def fit(self, X: ArrayLike, y: ArrayLike) -> MLPClassifier:
        """Initialize with ``init`` and train on ``(X, y)`` epoch by epoch; returns the
        fitted estimator.

        Arguments are validated here, each error repeating the bad value. A fit that reaches
        ``max_iter`` before the stopping rule warns with a
        :class:`~sklearn.exceptions.ConvergenceWarning`; one whose cost becomes NaN or
        infinite stops, warns with a :class:`~initlab.estimator.DivergenceWarning` and leaves
        a fitted estimator with ``status_ == "diverged"``.
        """
        config = self._check_params()
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
        self._fit(config, X_arr, y_int, output_size(len(classes)), None)
        self.classes_ = classes
        return self

    def decision_function(self, X: ArrayLike) -> Array:
        """The logits: shape (n_samples,) for two classes (positive → ``classes_[1]``),
        (n_samples, n_classes) for more."""
        Z = self._logits(X)
        out: Array = Z[0].copy() if Z.shape[0] == 1 else np.ascontiguousarray(Z.T)
        return out

    def predict_proba(self, X: ArrayLike) -> Array:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order.

        For two classes the columns are [1 − p, p], p = σ(logit) = P(``classes_[1]`` | x).
        """
        Z = self._logits(X)
        with np.errstate(over="ignore", invalid="ignore"):
            P = self._network().head.activate(Z)
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
        index = class_indices(self._logits(X))
        labels: NDArray[Any] = self.classes_[index]
        return labels
