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
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from initlab import initializers
from initlab.datasets import circles, spiral
from initlab.estimator import DivergenceWarning, MLPClassifier
from initlab.network import forward
from initlab.rng import streams

# The checks fit dozens of times: a short Adam run keeps them fast, and each configuration
# still learns check_classifiers_train's blobs (accuracy > 0.83; these reach 0.90-0.94).
# The defaults (15,000 full-batch iterations) pass every check too, in about 2.5 minutes.
FAST = {"max_iter": 100, "optimizer": "adam", "random_state": 0}


@parametrize_with_checks(
    [
        MLPClassifier(**FAST),
        MLPClassifier(init="lsuv", activation="tanh", batch_size=16, **FAST),
        MLPClassifier(hidden_layer_sizes=(), init="zeros", alpha=0.1, **FAST),
        MLPClassifier(engine="reference", **FAST),
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
        MLPClassifier(max_iter=1500, random_state=0),
        {"init": ["zeros", "random", "he"], "learning_rate": [0.01, 0.1]},
        cv=3,
    )
    search.fit(data.X_train, data.y_train)
    assert search.best_params_ == {"init": "he", "learning_rate": 0.1}
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
        StandardScaler(), MLPClassifier(optimizer="adam", max_iter=500, random_state=0)
    )
    scores = cross_val_score(pipe, data.X_train, data.y_train, cv=3)
    assert scores.shape == (3,)
    assert scores.min() > 0.9


def test_fitted_attributes(data: Any) -> None:
    clf = MLPClassifier(max_iter=250, record_every=100, diagnose_every=100, random_state=0)
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
    assert clf.status_ == "completed"
    assert clf.diverged_at_ is None
    assert clf.loss_curve_iterations_ == [0, 100, 200]
    assert len(clf.loss_curve_) == 3
    assert clf.loss_ < clf.loss_curve_[0]
    assert clf.records_.iterations == [0, 100, 200, 250]
    assert [f.kind for f in clf.findings_] == ["healthy"]


def test_random_state(data: Any) -> None:
    X, y = data.X_train, data.y_train

    def fit(rs: Any) -> Any:
        return MLPClassifier(max_iter=1, random_state=rs).fit(X, y).initial_params_[0].W

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
    clf = MLPClassifier(learning_rate=0.1, max_iter=2000, random_state=0).fit(frame, names)
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
    clf = MLPClassifier((32, 32), optimizer="adam", max_iter=1500, random_state=0)
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
        hidden_layer_sizes=[8], init={"name": "random", "scale": 0.5}, learning_rate=0.05
    )
    params = clf.get_params()
    assert params["init"] == {"name": "random", "scale": 0.5}
    assert params["learning_rate"] == 0.05
    copy = clone(clf)
    assert copy.get_params() == params
    assert copy is not clf
    copy.set_params(init="he", alpha=0.1)
    assert copy.init == "he"
    assert clf.init == {"name": "random", "scale": 0.5}
    assert clone(copy).get_params() == copy.get_params()
    # An initializer object is a parameter like any other.
    obj = MLPClassifier(init=initializers.he_normal(), max_iter=5).fit([[0.0], [1.0]], [0, 1])
    assert clone(obj).get_params()["init"] == initializers.he_normal()


def test_pickle_a_fitted_estimator(data: Any) -> None:
    clf = MLPClassifier(activation="tanh", max_iter=300, random_state=0)
    clf.fit(data.X_train, data.y_train)
    restored = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(restored.predict_proba(data.X_test), clf.predict_proba(data.X_test))
    assert restored.why_ == clf.why_
    assert restored.records_.iterations == clf.records_.iterations


def test_lsuv_init_uses_the_training_set(data: Any) -> None:
    clf = MLPClassifier((16, 16, 16), activation="tanh", init="lsuv", max_iter=1, random_state=0)
    clf.fit(data.X_train, data.y_train)
    cache = forward(clf._network(), clf.initial_params_, data.X_train)
    assert all(abs(z.std() - 1) < 0.1 for z in cache.Z)


def test_zero_init_is_diagnosed(data: Any) -> None:
    clf = MLPClassifier(init="zeros", max_iter=300, random_state=0).fit(data.X_train, data.y_train)
    assert clf.findings_[0].kind == "symmetric"
    assert clf.score(data.X_train, data.y_train) == 0.5


def test_divergence_warns_and_leaves_a_fitted_estimator(data: Any) -> None:
    clf = MLPClassifier(activation="linear", learning_rate=10.0, max_iter=300, random_state=0)
    with pytest.warns(
        DivergenceWarning, match=r"diverged: the training cost became nan at iteration 8"
    ):
        clf.fit(data.X_train, data.y_train)
    assert clf.status_ == "diverged"
    assert clf.diverged_at_ == 8
    assert clf.n_iter_ == 8
    assert clf.findings_[0].kind == "diverged"
    assert clf.why_.startswith("diverged: cost became non-finite at iteration 8")
    assert clf.loss_curve_iterations_ == [0, 8]
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
            {"learning_rate": -1},
            r"`learning_rate` must be a positive finite float\. Received: learning_rate=-1",
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
        ({"record_every": 1.5}, r"record_every=1.5"),
        ({"diagnose_every": -5}, r"diagnose_every=-5"),
        ({"hidden_layer_sizes": (10, 0)}, r"Received: hidden_layer_sizes=\(10, 0\)"),
        ({"hidden_layer_sizes": "10"}, r"hidden_layer_sizes='10'"),
        ({"random_state": -1}, r"random_state=-1"),
        ({"random_state": "seed"}, r"random_state='seed'"),
        (
            {"engine": "gpu"},
            r"`engine` must be one of 'auto', 'numba', 'numpy', 'reference'\. Received: engine='gpu'",
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
    one = MLPClassifier(7, max_iter=1).fit(data.X_train, data.y_train)
    assert one.layer_sizes_ == (2, 7, 1)
    none = MLPClassifier((), max_iter=1).fit(data.X_train, data.y_train)
    assert none.layer_sizes_ == (2, 1)
    mixed = MLPClassifier((4, 3), activation=["tanh", "relu"], max_iter=1)
    assert mixed.fit(data.X_train, data.y_train).hidden_activations_ == ("tanh", "relu")


def test_fit_is_train_with_the_settings_it_builds(data: Any) -> None:
    """alpha is the settings' l2 and random_state their seed: the reference fit is train() bit
    for bit (the engines' fits agree with it to 1e-12: test_engines_agree_with_the_reference)."""
    from initlab.initializers import init_params
    from initlab.network import MLP
    from initlab.settings import TrainSettings
    from initlab.train import train

    clf = MLPClassifier(optimizer="adam", learning_rate=0.02, max_iter=60, batch_size=50,
                        alpha=0.1, record_every=20, random_state=4, engine="reference")  # fmt: skip
    clf.fit(data.X_train, data.y_train)
    mlp = MLP([2, 10, 5, 1])
    settings = TrainSettings(learning_rate=0.02, optimizer="adam", batch_size=50, l2=0.1,
                             seed=4, record_every=20)  # fmt: skip
    params = init_params(mlp, streams(4).init, "he")
    reference = train(mlp, params, data.X_train, data.y_train, iterations=60, settings=settings)
    for got, want in zip(clf.params_, reference.params, strict=True):
        np.testing.assert_array_equal(got.W, want.W)
        np.testing.assert_array_equal(got.b, want.b)
    assert clf.loss_curve_ == reference.history.costs
    assert clf.loss_ == reference.final_cost


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"alpha": float("inf")}, r"`alpha` must be a finite float ≥ 0\. Received: alpha=inf"),
        ({"alpha": True}, r"alpha=True"),
        ({"hidden_layer_sizes": (4, 2.0)}, r"hidden_layer_sizes=\(4, 2\.0\)"),
        ({"random_state": True}, r"`random_state` must be an integer ≥ 0, a RandomState or None"),
    ],
)
def test_more_bad_params(params: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit([[0.0, 1.0], [1.0, 0.0]], [0, 1])


def test_numpy_scalars_are_accepted(data: Any) -> None:
    clf = MLPClassifier(hidden_layer_sizes=(np.int64(3),), alpha=np.float32(0.5),
                        max_iter=np.int64(5), random_state=np.int64(1))  # fmt: skip
    clf.fit(data.X_train, data.y_train)
    assert clf.layer_sizes_ == (2, 3, 1)
    assert clf.n_iter_ == 5


# --- the engines against the reference loop -----------------------------------------------

AGREEMENT = {
    "gd": {"max_iter": 300, "diagnose_every": 100, "random_state": 0},
    "adam, mini-batch, alpha": {"optimizer": "adam", "learning_rate": 0.02, "max_iter": 60,
                                "batch_size": 50, "alpha": 0.1, "record_every": 20,
                                "diagnose_every": 20, "random_state": 4},
    "softmax, momentum": {"hidden_layer_sizes": (16, 8), "activation": "tanh",
                          "init": "glorot_normal", "optimizer": "momentum", "learning_rate": 0.1,
                          "max_iter": 300, "diagnose_every": 50, "random_state": 1},
    "lsuv, mini-batch": {"init": "lsuv", "activation": "tanh", "batch_size": 16,
                         "optimizer": "adam", "max_iter": 100, "random_state": 0},
}  # fmt: skip


@pytest.mark.parametrize("engine", ["auto", "numpy"])
@pytest.mark.parametrize("case", list(AGREEMENT))
def test_engines_agree_with_the_reference(case: str, engine: str) -> None:
    """The engines reproduce the readable loop: 1e-12 relative, as tests/test_engine.py holds
    them for well-conditioned runs (measured here: ≤ 2e-15; the NumPy engine bit for bit)."""
    kwargs = AGREEMENT[case]
    d = spiral(arms=3) if case.startswith("softmax") else circles()
    reference = MLPClassifier(engine="reference", **kwargs).fit(d.X_train, d.y_train)
    fitted = MLPClassifier(engine=engine, **kwargs).fit(d.X_train, d.y_train)
    assert fitted.status_ == reference.status_ == "completed"
    assert (fitted.n_iter_, fitted.diverged_at_) == (reference.n_iter_, reference.diverged_at_)
    for got, want in zip(fitted.params_, reference.params_, strict=True):
        for a, b in ((got.W, want.W), (got.b, want.b)):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12 * np.max(np.abs(b)))
    for coef, layer in zip(fitted.coefs_, fitted.params_, strict=True):
        assert np.array_equal(coef, layer.W.T)
    assert fitted.loss_curve_iterations_ == reference.loss_curve_iterations_
    np.testing.assert_allclose(fitted.loss_curve_, reference.loss_curve_, rtol=1e-12, atol=0)
    assert fitted.loss_ == pytest.approx(reference.loss_, rel=1e-12, abs=0)
    assert np.array_equal(fitted.predict(d.X_test), reference.predict(d.X_test))
    # Diagnostics at the same iterations, with the same verdict; the engines know the update
    # ratio only for full-batch gradient descent, where it equals the reference's.
    assert fitted.records_.iterations == reference.records_.iterations
    assert fitted.why_ == reference.why_
    plain_gd = kwargs.get("optimizer", "gd") == "gd" and "batch_size" not in kwargs
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


@pytest.mark.parametrize("engine", ["auto", "numpy", "reference"])
def test_every_engine_reports_divergence_alike(data: Any, engine: str) -> None:
    clf = MLPClassifier(activation="linear", learning_rate=10.0, max_iter=300, random_state=0,
                        engine=engine)  # fmt: skip
    with pytest.warns(
        DivergenceWarning, match=r"diverged: the training cost became nan at iteration 8"
    ):
        clf.fit(data.X_train, data.y_train)
    assert (clf.status_, clf.diverged_at_, clf.n_iter_) == ("diverged", 8, 8)
    assert clf.loss_curve_iterations_ == [0, 8]
    assert clf.records_.iterations == [0]
    assert clf.why_.startswith("diverged: cost became non-finite at iteration 8")
