"""initlab.estimator.MLPClassifier: scikit-learn's conventions, and initialization as a
hyperparameter."""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from initlab import initializers
from initlab.datasets import circles, spiral
from initlab.estimator import COURSE, DivergenceWarning, MLPClassifier
from initlab.network import forward
from initlab.rng import streams


def course(**params: Any) -> MLPClassifier:
    """The course's setup (full-batch gradient descent, He, no L2, no tolerance stop) with
    ``params`` changed; seed 0's streams unless ``random_state`` is given."""
    return MLPClassifier(**{**COURSE, "random_state": 0, **params})


# The checks fit small data sets for at most max_iter epochs, and scikit-learn's own
# MLPClassifier warns that it has not converged in them too: the warning is the behaviour
# under test elsewhere (test_convergence_warning_at_max_iter), not a failure here.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    [
        MLPClassifier(),
        MLPClassifier(init="lsuv", activation="tanh", batch_size=16, max_iter=50),
        MLPClassifier(hidden_layer_sizes=(), init="zeros", alpha=0.1, learning_rate_init=0.01),
        MLPClassifier(engine="reference", learning_rate_init=0.01, max_iter=50),
        course(max_iter=300, learning_rate_init=0.1),
    ]
)
def test_sklearn_compatible(estimator: Any, check: Any) -> None:
    check(estimator)


@pytest.fixture(scope="module")
def data() -> Any:
    return circles()


def test_grid_search_over_the_init_picks_he(data: Any) -> None:
    """The course's three initializations as a hyperparameter: He wins, ×10 random is a
    distant second and zeros stays at chance (symmetry never breaks)."""
    search = GridSearchCV(
        course(max_iter=1500),
        {"init": ["zeros", "random", "he"], "learning_rate_init": [0.01, 0.1]},
        cv=3,
    )
    search.fit(data.X_train, data.y_train)
    assert search.best_params_ == {"init": "he", "learning_rate_init": 0.1}
    scores: dict[str, float] = {}
    for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
        scores[params["init"]] = max(scores.get(params["init"], 0.0), score)
    assert scores["he"] > 0.95
    assert scores["zeros"] == pytest.approx(0.5)
    assert scores["zeros"] < scores["random"] < scores["he"] - 0.2
    assert search.score(data.X_test, data.y_test) > 0.9
    assert search.best_estimator_.why_ == "healthy at start: symmetry broken, signals well scaled"


def test_pipeline_and_cross_val_score(data: Any) -> None:
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier(learning_rate_init=0.01, max_iter=1000, random_state=0)
    )
    scores = cross_val_score(pipe, data.X_train, data.y_train, cv=3)
    assert scores.shape == (3,)
    assert scores.min() > 0.9


def test_fitted_attributes(data: Any) -> None:
    clf = course(max_iter=250, diagnose_every=100)
    assert clf.fit(data.X_train, data.y_train) is clf
    assert clf.classes_.tolist() == [0, 1]
    assert clf.n_features_in_ == 2
    assert not hasattr(clf, "feature_names_in_")
    assert clf.layer_sizes_ == (2, 10, 5, 1)
    assert (clf.n_layers_, clf.n_outputs_, clf.out_activation_) == (4, 1, "sigmoid")
    # scikit-learn's layout (fan_in, fan_out) next to initlab's (fan_out, fan_in).
    assert [c.shape for c in clf.coefs_] == [(2, 10), (10, 5), (5, 1)]
    assert [b.shape for b in clf.intercepts_] == [(10,), (5,), (1,)]
    for coef, intercept, layer in zip(clf.coefs_, clf.intercepts_, clf.params_):
        assert np.array_equal(coef, layer.W.T)
        assert np.array_equal(intercept, layer.b.ravel())
    assert clf.n_iter_ == 250
    assert clf.t_ == 250 * 300
    assert clf.status_ == "completed"
    assert clf.diverged_at_ is None
    assert len(clf.loss_curve_) == 250
    assert clf.loss_ == clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert (clf.validation_scores_, clf.best_validation_score_) == (None, None)
    assert clf.records_.iterations == [0, 100, 200, 250]
    assert [f.kind for f in clf.findings_] == ["healthy"]


def test_random_state(data: Any) -> None:
    X, y = data.X_train, data.y_train

    def fit(rs: Any) -> Any:
        return course(max_iter=1, random_state=rs).fit(X, y).initial_params_[0].W

    # An int is the seed of initlab.rng.streams: its init stream draws the weights.
    expected = np.sqrt(2 / 2) * streams(7).init.standard_normal((10, 2))
    assert np.array_equal(fit(7), expected)
    assert np.array_equal(fit(7), fit(np.int64(7)))
    # A RandomState gives one seed, randint(2**31 − 1), per fit.
    seed = np.random.RandomState(3).randint(2**31 - 1)
    assert np.array_equal(fit(np.random.RandomState(3)), fit(seed))
    state = np.random.RandomState(3)
    assert not np.array_equal(fit(state), fit(state))
    assert fit(None).shape == (10, 2)


def test_string_labels_and_dataframe_input(data: Any) -> None:
    names = np.array(["outer", "inner"])[data.y_train]
    frame = pd.DataFrame(data.X_train, columns=["x1", "x2"])
    clf = course(learning_rate_init=0.1, max_iter=2000).fit(frame, names)
    assert clf.classes_.tolist() == ["inner", "outer"]
    assert clf.feature_names_in_.tolist() == ["x1", "x2"]
    test = pd.DataFrame(data.X_test, columns=["x1", "x2"])
    predicted = clf.predict(test)
    assert set(predicted) <= {"inner", "outer"}
    assert clf.score(test, np.array(["outer", "inner"])[data.y_test]) > 0.9
    # "inner" sorts first: P(inner) is column 0, and the sigmoid unit predicts "outer".
    proba = clf.predict_proba(test)
    assert np.array_equal(predicted == "outer", proba[:, 1] > 0.5)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        clf.predict(data.X_test)


@pytest.mark.parametrize("arms", [2, 3])
def test_predict_proba_decision_function_and_predict_agree(arms: int) -> None:
    d = spiral(arms=arms)
    clf = course(hidden_layer_sizes=(32, 32), optimizer="adam", max_iter=1500)
    clf.fit(d.X_train, d.y_train)
    proba, decision, predicted = (
        clf.predict_proba(d.X_test), clf.decision_function(d.X_test), clf.predict(d.X_test)
    )  # fmt: skip
    n = len(d.X_test)
    assert proba.shape == (n, arms)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.array_equal(clf.classes_[proba.argmax(axis=1)], predicted)
    if arms == 2:
        assert decision.shape == (n,)
        assert np.array_equal(clf.classes_[(decision > 0).astype(int)], predicted)
        np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-decision)))
    else:
        assert decision.shape == (n, arms)
        assert np.array_equal(clf.classes_[decision.argmax(axis=1)], predicted)
        assert clf.out_activation_ == "softmax"
        assert [c.shape[1] for c in clf.coefs_][-1] == arms
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(d.X_test)), proba)
    assert clf.score(d.X_test, d.y_test) > 0.85
    # The logits are initlab's own forward pass.
    logits = forward(clf._network(), clf.params_, d.X_test).logits
    np.testing.assert_allclose(decision, logits[0] if arms == 2 else logits.T)


def test_clone_and_params_round_trip() -> None:
    clf = MLPClassifier(
        hidden_layer_sizes=[8], init={"name": "random", "scale": 0.5}, learning_rate_init=0.05
    )
    params = clf.get_params()
    assert params["init"] == {"name": "random", "scale": 0.5}
    assert params["learning_rate_init"] == 0.05
    copy = clone(clf)
    assert copy.get_params() == params
    assert copy is not clf
    copy.set_params(init="he", alpha=0.1)
    assert copy.init == "he"
    assert clf.init == {"name": "random", "scale": 0.5}
    assert clone(copy).get_params() == copy.get_params()
    # An initializer object is a parameter like any other.
    obj = course(init=initializers.he_normal(), max_iter=5).fit([[0.0], [1.0]], [0, 1])
    assert clone(obj).get_params()["init"] == initializers.he_normal()


def test_pickle_a_fitted_estimator(data: Any) -> None:
    clf = course(activation="tanh", max_iter=300)
    clf.fit(data.X_train, data.y_train)
    restored = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(restored.predict_proba(data.X_test), clf.predict_proba(data.X_test))
    assert restored.why_ == clf.why_
    assert restored.records_.iterations == clf.records_.iterations


def test_lsuv_init_uses_the_training_set(data: Any) -> None:
    clf = course(hidden_layer_sizes=(16, 16, 16), activation="tanh", init="lsuv", max_iter=1)
    clf.fit(data.X_train, data.y_train)
    cache = forward(clf._network(), clf.initial_params_, data.X_train)
    assert all(abs(z.std() - 1) < 0.1 for z in cache.Z)


def test_zero_init_is_diagnosed(data: Any) -> None:
    clf = course(init="zeros", max_iter=300).fit(data.X_train, data.y_train)
    assert clf.findings_[0].kind == "symmetric"
    assert clf.score(data.X_train, data.y_train) == 0.5


def test_divergence_warns_and_leaves_a_fitted_estimator(data: Any) -> None:
    clf = course(activation="linear", learning_rate_init=10.0, max_iter=300)
    with pytest.warns(
        DivergenceWarning, match=r"diverged: the training cost became nan at epoch 8"
    ):
        clf.fit(data.X_train, data.y_train)
    assert clf.status_ == "diverged"
    assert clf.diverged_at_ == 8
    assert clf.n_iter_ == 8
    assert clf.findings_[0].kind == "diverged"
    assert clf.why_.startswith("diverged: cost became non-finite at iteration 8")
    assert len(clf.loss_curve_) == 9  # 8 epochs, then the non-finite cost that stopped it
    assert np.isfinite(clf.loss_curve_[:8]).all()
    assert not np.isfinite(clf.loss_curve_[-1])
    assert clf.records_.iterations == [0]  # no end record: the parameters are not finite
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # predicting from it neither raises nor warns
        assert clf.predict(data.X_test).shape == (100,)
        assert clf.predict_proba(data.X_test).shape == (100, 2)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"learning_rate_init": -1},
            r"`learning_rate_init` must be a positive finite float\. Received: learning_rate_init=-1",
        ),
        ({"init": "hee"}, r"Unknown initializer 'hee'\. Known initializers: .*'?he'?, he_normal"),
        (
            {"init": {"name": "random", "scael": 2}},
            r"Bad arguments for initializer 'random'.*scale",
        ),
        ({"bias_init": "lsuv"}, r"`bias_init` cannot be data-dependent"),
        ({"activation": "rellu"}, r"Unknown activation 'rellu'\. Known activations: .*relu"),
        ({"optimizer": "adamw"}, r"Unknown optimizer 'adamw'"),
        ({"max_iter": 0}, r"`max_iter` must be a positive integer\. Received: max_iter=0"),
        ({"alpha": -0.1}, r"`alpha` must be a finite float ≥ 0\. Received: alpha=-0.1"),
        ({"batch_size": 0}, r"batch_size=0"),
        ({"batch_size": "big"}, r"`batch_size` must be 'auto', None or an integer ≥ 1"),
        ({"tol": -1e-4}, r"`tol` must be a finite float ≥ 0 or None\. Received: tol=-0.0001"),
        ({"n_iter_no_change": 0}, r"`n_iter_no_change` must be a positive integer"),
        ({"validation_fraction": 1.0}, r"`validation_fraction` must be a finite float in \(0, 1\)"),
        (
            {"early_stopping": 1},
            r"`early_stopping` must be True or False\. Received: early_stopping=1",
        ),
        ({"verbose": "yes"}, r"verbose='yes'"),
        ({"shuffle": False, "batch_size": 1}, r"`shuffle` can be False only with full-batch"),
        ({"diagnose_every": -5}, r"diagnose_every=-5"),
        ({"hidden_layer_sizes": (10, 0)}, r"Received: hidden_layer_sizes=\(10, 0\)"),
        ({"hidden_layer_sizes": "10"}, r"hidden_layer_sizes='10'"),
        ({"random_state": -1}, r"random_state=-1"),
        ({"random_state": "seed"}, r"random_state='seed'"),
        (
            {"engine": "numpy"},
            r"`engine` must be one of 'auto', 'numba', 'reference'\. Received: engine='numpy'",
        ),
    ],
)
def test_bad_params_fail_at_fit_naming_the_value(params: dict[str, Any], match: str) -> None:
    clf = MLPClassifier(**params)  # __init__ only stores them
    assert clf.get_params()[next(iter(params))] == next(iter(params.values()))
    with pytest.raises(ValueError, match=match):
        clf.fit([[0.0, 1.0], [1.0, 0.0]], [0, 1])


def test_one_class_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"at least 2 classes.*Received: 1 class, \['a'\]"):
        MLPClassifier().fit([[0.0], [1.0]], ["a", "a"])


def test_hidden_layer_sizes_forms(data: Any) -> None:
    one = course(hidden_layer_sizes=7, max_iter=1).fit(data.X_train, data.y_train)
    assert one.layer_sizes_ == (2, 7, 1)
    none = course(hidden_layer_sizes=(), max_iter=1).fit(data.X_train, data.y_train)
    assert none.layer_sizes_ == (2, 1)
    mixed = course(hidden_layer_sizes=(4, 3), activation=["tanh", "relu"], max_iter=1)
    assert mixed.fit(data.X_train, data.y_train).hidden_activations_ == ("tanh", "relu")


def test_fit_is_train_with_the_settings_it_builds(data: Any) -> None:
    """alpha is the settings' l2 and random_state their seed: the reference fit is train() bit
    for bit (the engines' fits agree with it to 1e-12: test_engines_agree_with_the_reference)."""
    from initlab.initializers import init_params
    from initlab.network import MLP
    from initlab.settings import TrainSettings
    from initlab.train import train

    # 10 epochs of 6 mini-batches of 50: 60 updates, the cost recorded at each epoch's start.
    clf = course(optimizer="adam", learning_rate_init=0.02, max_iter=10, batch_size=50,
                 alpha=0.1, random_state=4, engine="reference")  # fmt: skip
    clf.fit(data.X_train, data.y_train)
    mlp = MLP([2, 10, 5, 1])
    settings = TrainSettings(learning_rate=0.02, optimizer="adam", batch_size=50, l2=0.1,
                             seed=4, record_every=6)  # fmt: skip
    params = init_params(mlp, streams(4).init, "he")
    reference = train(mlp, params, data.X_train, data.y_train, iterations=60, settings=settings)
    for got, want in zip(clf.params_, reference.params, strict=True):
        np.testing.assert_array_equal(got.W, want.W)
        np.testing.assert_array_equal(got.b, want.b)
    assert clf.loss_curve_ == reference.history.costs
    assert clf.n_iter_ == 10


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"alpha": float("inf")}, r"`alpha` must be a finite float ≥ 0\. Received: alpha=inf"),
        ({"alpha": True}, r"alpha=True"),
        ({"hidden_layer_sizes": (4, 2.0)}, r"hidden_layer_sizes=\(4, 2\.0\)"),
        (
            {"random_state": True},
            r"`random_state` must be an integer ≥ 0, a RandomState, 'notebook' or None",
        ),
    ],
)
def test_more_bad_params(params: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit([[0.0, 1.0], [1.0, 0.0]], [0, 1])


def test_numpy_scalars_are_accepted(data: Any) -> None:
    clf = MLPClassifier(hidden_layer_sizes=(np.int64(3),), alpha=np.float32(0.5),
                        max_iter=np.int64(5), random_state=np.int64(1), tol=None,
                        learning_rate_init=np.float64(0.01), batch_size=np.int64(100),
                        n_iter_no_change=np.int64(2), early_stopping=np.bool_(False))  # fmt: skip
    clf.fit(data.X_train, data.y_train)
    assert clf.layer_sizes_ == (2, 3, 1)
    assert clf.n_iter_ == 5


# --- the engines against the reference loop -----------------------------------------------

AGREEMENT = {
    "gd": {"max_iter": 300, "diagnose_every": 100},
    "adam, mini-batch, alpha": {"optimizer": "adam", "learning_rate_init": 0.02, "max_iter": 10,
                                "batch_size": 50, "alpha": 0.1, "diagnose_every": 2,
                                "random_state": 4},
    "softmax, momentum": {"hidden_layer_sizes": (16, 8), "activation": "tanh",
                          "init": "glorot_normal", "optimizer": "momentum",
                          "learning_rate_init": 0.1, "max_iter": 300, "diagnose_every": 50,
                          "random_state": 1},
    "lsuv, mini-batch": {"init": "lsuv", "activation": "tanh", "batch_size": 16,
                         "optimizer": "adam", "max_iter": 5},
    # scikit-learn's defaults, stopped by tol: epochs judged after the engine's calls.
    "defaults, tol": {**MLPClassifier(learning_rate_init=0.01, max_iter=1000).get_params(),
                      "hidden_layer_sizes": (20,), "random_state": 0},
    "early stopping": {**MLPClassifier(learning_rate_init=0.01, max_iter=1000).get_params(),
                       "hidden_layer_sizes": (20,), "early_stopping": True,
                       "random_state": 0},
}  # fmt: skip


@pytest.mark.parametrize("case", list(AGREEMENT))
def test_engine_agrees_with_the_reference(case: str) -> None:
    """The engine reproduces the readable loop: 1e-12 relative, as tests/test_engine.py holds
    it for well-conditioned runs (measured here: ≤ 2e-15), with the same stopping epoch."""
    kwargs = {**AGREEMENT[case], "engine": "auto"}
    d = spiral(arms=3) if case.startswith("softmax") else circles()
    fitted = course(**kwargs).fit(d.X_train, d.y_train)
    reference = course(**{**kwargs, "engine": "reference"}).fit(d.X_train, d.y_train)
    assert fitted.status_ == reference.status_ == "completed"
    assert (fitted.n_iter_, fitted.diverged_at_) == (reference.n_iter_, reference.diverged_at_)
    for got, want in zip(fitted.params_, reference.params_, strict=True):
        for a, b in ((got.W, want.W), (got.b, want.b)):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * np.max(np.abs(b)))
    for coef, layer in zip(fitted.coefs_, fitted.params_, strict=True):
        assert np.array_equal(coef, layer.W.T)
    np.testing.assert_allclose(fitted.loss_curve_, reference.loss_curve_, rtol=1e-12, atol=0)
    assert fitted.validation_scores_ == reference.validation_scores_
    assert np.array_equal(fitted.predict(d.X_test), reference.predict(d.X_test))
    # Diagnostics at the same epochs, with the same verdict; the engine knows the update
    # ratio only for full-batch gradient descent, where it equals the reference's.
    assert fitted.records_.iterations == reference.records_.iterations
    assert fitted.why_ == reference.why_
    plain_gd = fitted.optimizer == "gd" and fitted.batch_size is None
    for got_row, want_row in zip(
        fitted.records_.to_dicts(), reference.records_.to_dicts(), strict=True
    ):
        for key, want_value in want_row.items():
            value = got_row[key]
            if key == "update_ratio" and not plain_gd:
                assert np.isnan(value)
            elif isinstance(want_value, float) and np.isnan(want_value):
                assert np.isnan(value), key
            elif isinstance(want_value, float):
                assert value == pytest.approx(want_value, rel=1e-9, abs=1e-12), key
            else:
                assert value == want_value, key


@pytest.mark.parametrize("engine", ["auto", "reference"])
@pytest.mark.parametrize("batch_size", [None, 100])
def test_every_engine_reports_divergence_alike(
    data: Any, engine: str, batch_size: int | None
) -> None:
    clf = course(activation="linear", learning_rate_init=10.0, max_iter=300, engine=engine,
                 batch_size=batch_size, tol=1e-4)  # fmt: skip
    epoch = 8 if batch_size is None else 2  # mini-batches: the 8th update is in epoch 2
    with pytest.warns(DivergenceWarning, match=rf"cost became nan at epoch {epoch} "):
        clf.fit(data.X_train, data.y_train)
    assert (clf.status_, clf.diverged_at_, clf.n_iter_) == ("diverged", epoch, epoch)
    assert len(clf.loss_curve_) == epoch + 1
    assert clf.records_.iterations == [0]
    assert clf.why_.startswith(f"diverged: cost became non-finite at iteration {epoch}")


# --- scikit-learn's defaults and stopping rules --------------------------------------------


def test_defaults_are_scikit_learns() -> None:
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    ours, theirs = MLPClassifier().get_params(), SklearnMLP().get_params()
    shared = ["hidden_layer_sizes", "activation", "alpha", "batch_size", "learning_rate_init",
              "max_iter", "shuffle", "random_state", "tol", "verbose", "early_stopping",
              "validation_fraction", "n_iter_no_change"]  # fmt: skip
    assert {k: ours[k] for k in shared} == {k: theirs[k] for k in shared}
    # Its solver under initlab's name, and its initialization: Glorot-uniform.
    assert (ours["optimizer"], theirs["solver"]) == ("adam", "adam")
    assert ours["init"] == "glorot_uniform"


def test_batch_size_auto_is_min_200_n() -> None:
    """ "auto" is 200 on 400 examples, the whole set (one update per epoch) on 150."""
    d = spiral(arms=2, n_train=400)

    def coefs(batch_size: Any, n: int, **params: Any) -> list[Any]:
        clf = MLPClassifier(batch_size=batch_size, max_iter=3, tol=None, random_state=0, **params)
        return list(clf.fit(d.X_train[:n], d.y_train[:n]).coefs_)

    def same(a: list[Any], b: list[Any]) -> bool:
        return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))

    assert same(coefs("auto", 400), coefs(200, 400))
    assert not same(coefs("auto", 400), coefs(100, 400))  # the comparison can fail
    assert same(coefs("auto", 150), coefs(None, 150))
    assert same(coefs(150, 150), coefs(None, 150, shuffle=False))  # ≥ n: the full batch


def _stale_epoch(losses: list[float], tol: float, patience: int) -> int | None:
    """scikit-learn's rule, written out: the epoch (1-based) after which it stops."""
    best, stale = np.inf, 0
    for epoch, loss in enumerate(losses, 1):
        stale = stale + 1 if loss > best - tol else 0
        best = min(best, loss)
        if stale > patience:
            return epoch
    return None


def test_stops_when_the_loss_stops_improving(data: Any) -> None:
    clf = MLPClassifier(learning_rate_init=0.01, max_iter=1000, random_state=0)
    clf.fit(data.X_train, data.y_train)  # no ConvergenceWarning: warnings are errors here
    assert clf.n_iter_ < 1000
    assert len(clf.loss_curve_) == clf.n_iter_
    # The curve shows why: its last n_iter_no_change + 1 epochs are the first such run that
    # never beat the best loss by tol.
    assert _stale_epoch(clf.loss_curve_, clf.tol, clf.n_iter_no_change) == clf.n_iter_
    assert min(clf.loss_curve_[-11:]) > clf.best_loss_ - clf.tol
    assert clf.best_loss_ == min(clf.loss_curve_)
    # A larger tol stops earlier; tol=None runs every epoch, without a warning.
    assert (
        MLPClassifier(learning_rate_init=0.01, max_iter=1000, tol=1e-2, random_state=0)
        .fit(data.X_train, data.y_train)
        .n_iter_
        < clf.n_iter_
    )
    full = MLPClassifier(learning_rate_init=0.01, max_iter=clf.n_iter_ + 5, tol=None,
                         random_state=0).fit(data.X_train, data.y_train)  # fmt: skip
    assert full.n_iter_ == clf.n_iter_ + 5
    # The stopped fit is the first n_iter_ epochs of the full one: the engine's calls that
    # ran past the stop are discarded (the longer run's epochs are the same bits).
    assert full.loss_curve_[: clf.n_iter_] == clf.loss_curve_


def test_convergence_warning_at_max_iter(data: Any) -> None:
    clf = MLPClassifier(max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(5\) reached"):
        clf.fit(data.X_train, data.y_train)
    assert clf.n_iter_ == 5
    assert clf.t_ == 5 * 300


def test_early_stopping_keeps_the_best_validation_epoch() -> None:
    d = spiral(arms=3)
    params = {"hidden_layer_sizes": (32,), "learning_rate_init": 0.01, "max_iter": 1000,
              "early_stopping": True, "random_state": 0}  # fmt: skip
    clf = MLPClassifier(**params).fit(d.X_train, d.y_train)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ < 1000
    assert clf.best_validation_score_ == max(scores)
    assert clf.best_loss_ is None
    best = int(np.argmax(scores)) + 1  # the first epoch with the best score
    assert best < clf.n_iter_
    # It stopped n_iter_no_change + 1 epochs after the last one that beat the best by tol.
    assert all(s < clf.best_validation_score_ + clf.tol for s in scores[-11:])
    # The parameters kept are epoch `best`'s: those of a fit that ran exactly `best` epochs
    # (tol=None: no stop; the same split, the same training), not the last epoch's.
    at_best = MLPClassifier(**{**params, "max_iter": best, "tol": None}).fit(d.X_train, d.y_train)
    for kept, want in zip(clf.params_, at_best.params_, strict=True):
        np.testing.assert_array_equal(kept.W, want.W)


def test_course_line_reproduces_the_notebook(data: Any) -> None:
    """MLPClassifier(**COURSE) is the notebook's experiment: its six accuracies exactly, the
    ×10 run's true initial cost and zeros' log 2 throughout."""
    expected = {"zeros": (0.5, 0.5), "random": (0.83, 0.86), "he": (0.9933, 0.96)}
    for init, (train_acc, test_acc) in expected.items():
        clf = MLPClassifier(**{**COURSE, "init": init}).fit(data.X_train, data.y_train)
        assert clf.n_iter_ == 15_000
        assert round(clf.score(data.X_train, data.y_train), 4) == train_acc
        assert clf.score(data.X_test, data.y_test) == test_acc
    assert clf.why_.startswith("healthy at start")
    random = MLPClassifier(**{**COURSE, "init": "random", "max_iter": 1})
    assert random.fit(data.X_train, data.y_train).loss_curve_[0] == pytest.approx(1773.59, abs=0.01)


def test_verbose_prints_scikit_learns_lines(data: Any, capsys: Any) -> None:
    clf = MLPClassifier(max_iter=3, tol=None, verbose=True, random_state=0)
    clf.fit(data.X_train, data.y_train)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"Iteration {i}, loss = {loss:.8f}" for i, loss in enumerate(clf.loss_curve_, 1)
    ]
    MLPClassifier(max_iter=3, tol=None, random_state=0).fit(data.X_train, data.y_train)
    assert capsys.readouterr().out == ""  # silent unless verbose


def test_verbose_with_early_stopping(capsys: Any) -> None:
    d = spiral(arms=3)
    clf = MLPClassifier((32,), learning_rate_init=0.01, max_iter=1000, early_stopping=True,
                        verbose=True, random_state=0).fit(d.X_train, d.y_train)  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 * clf.n_iter_ + 1
    assert lines[1] == f"Validation score: {clf.validation_scores_[0]:f}"
    assert lines[-1] == (
        "Validation score did not improve more than tol=0.000100 for 10 consecutive epochs. "
        "Stopping."
    )


def test_alpha_is_scikit_learns_l2(data: Any) -> None:
    """alpha adds (α / 2m)·Σ‖W‖² to a batch of m examples' mean cross-entropy, as
    scikit-learn's _backprop does (``values / n_samples`` with ``0.5 * alpha``)."""
    clf = course(alpha=3.0, max_iter=1).fit(data.X_train, data.y_train)
    plain = course(alpha=0.0, max_iter=1).fit(data.X_train, data.y_train)
    squares = sum(float(np.sum(layer.W**2)) for layer in clf.initial_params_)
    assert clf.loss_curve_[0] == pytest.approx(plain.loss_curve_[0] + 3.0 / (2 * 300) * squares,
                                               rel=1e-14)  # fmt: skip
