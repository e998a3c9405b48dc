"""scikit-learn estimators whose initialization is any initlab initializer.

:class:`MLPClassifier` and :class:`MLPRegressor` have scikit-learn's defaults and behaviour —
one hidden layer of 100 ReLUs, Adam at ``learning_rate_init=0.001`` on mini-batches of
``min(200, n)``, at most ``max_iter=200`` epochs, stopping when the loss stops improving by
``tol`` (or, with ``early_stopping``, the validation score: accuracy or R²) for
``n_iter_no_change`` epochs, a :class:`~sklearn.exceptions.ConvergenceWarning` when
``max_iter`` ends the fit first, and ``verbose`` printing the loss of every epoch — so
``initlab.MLPClassifier()`` can replace ``sklearn.neural_network.MLPClassifier()``, and
``initlab.MLPRegressor()`` its ``MLPRegressor()``. Their conventions are scikit-learn's:
``__init__`` only stores the arguments, ``fit`` validates them and the data, and everything
learnt ends in ``_``. They work in :class:`~sklearn.pipeline.Pipeline`,
:class:`~sklearn.model_selection.GridSearchCV` and
:func:`~sklearn.model_selection.cross_val_score`, and the initializer is one more
hyperparameter to search over::

    GridSearchCV(MLPClassifier(), {"init": ["glorot_uniform", "he", "lsuv"]})

The course's experiment is one line of parameters (see :data:`COURSE`).

Underneath is initlab's own network (:mod:`initlab.network`), trained epoch by epoch by the
compiled engine (:func:`initlab.engine.resumable.resumable_trainer`) or, with
``engine="reference"``, by the readable loop (:class:`initlab.train.Trainer`) that the engine
reproduces; a fit also records the per-layer diagnostics of :mod:`initlab.diagnostics` and
says in ``why_`` why it trained the way it did. The two estimators share everything but their
targets and output head (:mod:`initlab.estimator._base`); the epoch loop is
:mod:`initlab._epochs`.
"""

from initlab.estimator._base import AUTO_BATCH, ENGINES, DivergenceWarning
from initlab.estimator.classifier import COURSE, MLPClassifier
from initlab.estimator.regressor import MLPRegressor

__all__ = ["AUTO_BATCH", "COURSE", "ENGINES", "DivergenceWarning", "MLPClassifier", "MLPRegressor"]
