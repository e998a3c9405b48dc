"""Datasets and input validation."""

import hashlib
import inspect

import numpy as np
import pytest

from initlab.datasets import (
    DATASETS,
    Dataset,
    blobs,
    check_xy,
    circles,
    flower,
    from_csv,
    from_npz,
    gauss,
    load,
    spiral,
    xor,
)

BUILT_INS = ["blobs", "circles", "flower", "gauss", "moons", "spiral", "xor"]
"""The built-in classification sets; the regression ones are tested in test_regression_data.py
and, for what every generator shares, below."""
REGRESSION = ["gaussians", "plane"]
EVERY = sorted(BUILT_INS + REGRESSION)
EXPECTED_CLASSES = {"blobs": 3, "spiral": 3}


def _small(name, **kwargs):
    return load(name, n_train=60, n_test=30, **kwargs)


def test_registry_lists_every_built_in_with_a_description():
    assert DATASETS.names() == EVERY
    for entry in DATASETS:
        assert entry.description
        assert "\n" not in entry.description


@pytest.mark.parametrize("name", BUILT_INS)
def test_shapes_labels_and_dtypes(name):
    d = _small(name)
    k = EXPECTED_CLASSES.get(name, 2)
    assert d.name == name
    assert d.X_train.shape == (60, 2)
    assert d.X_test.shape == (30, 2)
    assert d.y_train.shape == (60,)
    assert d.y_test.shape == (30,)
    assert d.X_train.dtype == np.float64
    assert d.y_train.dtype == d.y_test.dtype == np.int64
    assert d.n_features == 2
    assert d.n_classes == k
    assert d.label_names == tuple(str(i) for i in range(k))
    assert set(d.y_train.tolist()) == set(range(k))
    assert set(d.y_test.tolist()) <= set(range(k))
    assert np.isfinite(d.X_train).all()
    assert f"classes={k}" in repr(d)
    check_xy(d.X_train, d.y_train, n_features=2, n_classes=k)


@pytest.mark.parametrize("name", EVERY)
def test_determinism_and_seeds(name):
    a, b, c = _small(name, seed=11), _small(name, seed=11), _small(name, seed=12)
    for field in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.X_train, c.X_train)
    assert not np.array_equal(a.X_test, c.X_test)


@pytest.mark.parametrize("name", EVERY)
def test_train_and_test_are_independent(name):
    d = load(name, n_train=50, n_test=50, seed=3)
    # (Every spiral arm starts at the origin, as in CS231n: leave those points out.)
    assert not np.isin(d.X_test[d.X_test.any(axis=1)], d.X_train).any()
    # The test set comes from its own stream: changing its size leaves training data alone.
    other = load(name, n_train=50, n_test=7, seed=3)
    np.testing.assert_array_equal(d.X_train, other.X_train)
    np.testing.assert_array_equal(d.y_train, other.y_train)


@pytest.mark.parametrize("name", EVERY)
def test_empty_test_set_and_zero_noise_allowed(name):
    d = load(name, n_test=0, noise=0.0, seed=1)
    assert d.X_test.shape == (0, 2)
    assert d.y_test.shape == (0,)


@pytest.mark.parametrize("name", ["blobs", "gauss", "moons", "spiral", "xor"])
def test_splits_are_shuffled(name):
    y = _small(name).y_train
    assert not (np.diff(y) >= 0).all()  # not sorted by class


@pytest.mark.parametrize("name", EVERY)
def test_global_random_state_untouched(name):
    before = np.random.get_state()
    _small(name)
    after = np.random.get_state()
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


@pytest.mark.parametrize(
    ("name", "match"),
    [
        (name, rf"seed.*{name} has no notebook data")
        for name in EVERY
        if name not in ("circles", "flower")
    ],
)
def test_notebook_seed_only_for_course_data(name, match):
    with pytest.raises(ValueError, match=match):
        load(name, seed="notebook")


@pytest.mark.parametrize("name", BUILT_INS)
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_train": 1}, r"Argument `n_train` must be an integer ≥ \d.*Received: n_train=1"),
        ({"n_train": 2.5}, r"Received: n_train=2.5"),
        ({"n_test": -1}, r"Argument `n_test` must be an integer ≥ 0. Received: n_test=-1"),
        ({"noise": -1}, r"Argument `noise` must be a float ≥ 0. Received: noise=-1"),
        ({"noise": float("nan")}, r"Received: noise=nan"),
        ({"noise": "big"}, r"Received: noise='big'"),
        ({"seed": -3}, r"Argument `seed` must be a non-negative integer.*Received: seed=-3"),
        ({"seed": "abc"}, r"seed.*Received: seed='abc'"),
        ({"seed": True}, r"Received: seed=True"),
    ],
)
def test_bad_common_arguments(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load(name, **kwargs)


@pytest.mark.parametrize(
    ("fn", "kwargs", "match"),
    [
        (circles, {"factor": 1.5}, r"factor.*Received: factor=1.5"),
        (blobs, {"centers": 1}, r"Argument `centers` must be an integer ≥ 2. Received: centers=1"),
        (
            blobs,
            {"n_features": 0},
            r"Argument `n_features` must be an integer ≥ 1. Received: n_features=0",
        ),
        (
            blobs,
            {"centers": 5, "n_train": 4},
            r"n_train.*≥ 5 \(at least one point per centre\). Received: n_train=4",
        ),
        (spiral, {"arms": 1}, r"Argument `arms` must be an integer ≥ 2. Received: arms=1"),
        (
            spiral,
            {"arms": 4, "n_train": 3},
            r"≥ 4 \(at least one point per arm\). Received: n_train=3",
        ),
    ],
)
def test_bad_specific_arguments(fn, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(**kwargs)


def test_circles_shapes_labels_and_seeds():
    d = circles()
    assert d.X_train.shape == (300, 2)
    assert d.X_test.shape == (100, 2)
    assert set(np.unique(d.y_train)) == {0, 1}
    assert d.n_features == 2
    other = circles(seed=5)
    np.testing.assert_array_equal(other.X_train, circles(seed=5).X_train)
    assert not np.array_equal(other.X_train, d.X_train)
    assert not np.array_equal(other.X_train[:100], other.X_test)
    assert load("CIRCLES").X_train.shape == (300, 2)
    assert "circles" in DATASETS


def test_circles_results_unchanged():
    # Digests of the data before the datasets were generalised: defaults and an integer seed.
    def digest(d):
        arrays = (d.X_train, d.y_train, d.X_test, d.y_test)
        return hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()[:16]

    assert digest(circles()) == "6cc3c07225b1a188"
    assert digest(circles(seed=7)) == "ca614d4430984857"


@pytest.mark.parametrize("n", [1, 2, 3, 100, 300, 301])
@pytest.mark.parametrize(("noise", "factor"), [(0.05, 0.8), (0.0, 0.5), (0.3, 0.1)])
def test_make_circles_is_scikit_learns_bit_for_bit(n, noise, factor):
    # circles() repeats make_circles' arithmetic to load without scikit-learn: same draws,
    # same bytes, same dtypes and memory layout, and the state left where scikit-learn leaves it.
    from sklearn.datasets import make_circles as sklearn_make_circles

    from initlab.datasets.generators import make_circles

    ours_state, their_state = np.random.RandomState(1), np.random.RandomState(1)
    ours = make_circles(n, noise, factor, ours_state)
    theirs = sklearn_make_circles(n, noise=noise, factor=factor, random_state=their_state)
    for a, b in zip(ours, theirs):
        assert a.tobytes() == b.tobytes()
        assert (a.dtype, a.shape, a.flags.c_contiguous) == (b.dtype, b.shape, b.flags.c_contiguous)
    assert ours_state.random_sample() == their_state.random_sample()


def test_circles_loads_without_scikit_learn():
    import subprocess
    import sys

    code = "import sys, initlab.datasets as d; d.circles(); print('sklearn' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_train": 1}, r"n_train.*Received: n_train=1"),
        ({"noise": -0.1}, r"noise.*Received: noise=-0.1"),
        ({"factor": 1.5}, r"factor.*Received: factor=1.5"),
        ({"seed": "abc"}, r"seed.*Received: seed='abc'"),
    ],
)
def test_circles_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        circles(**kwargs)


def test_moons_zero_noise_lies_on_unit_half_circles():
    d = load("moons", noise=0.0)
    upper = d.X_train[d.y_train == 0]
    lower = d.X_train[d.y_train == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert (upper[:, 1] >= 0).all()
    assert (lower[:, 1] <= 0.5).all()


def test_blobs_multi_class_shares_centres_between_train_and_test():
    d = blobs(n_train=400, n_test=200, centers=4, n_features=3, noise=0.0, seed=2)
    assert d.X_train.shape == (400, 3)
    assert d.n_classes == 4
    assert np.bincount(d.y_train).tolist() == [100, 100, 100, 100]
    for c in range(4):
        train_points = np.unique(d.X_train[d.y_train == c], axis=0)
        test_points = np.unique(d.X_test[d.y_test == c], axis=0)
        assert train_points.shape == test_points.shape == (1, 3)  # noise 0: the centre itself
        np.testing.assert_array_equal(train_points, test_points)
        assert (np.abs(train_points) <= 10).all()
    noisy = blobs(n_train=4000, noise=0.5, seed=2)
    centres = np.array([noisy.X_train[noisy.y_train == c].mean(axis=0) for c in range(3)])
    spread = noisy.X_train - centres[noisy.y_train]
    assert spread.std() == pytest.approx(0.5, rel=0.05)


def test_gauss_clusters():
    d = gauss(noise=0.0)
    np.testing.assert_array_equal(np.unique(d.X_train[d.y_train == 0], axis=0), [[-2.0, -2.0]])
    np.testing.assert_array_equal(np.unique(d.X_train[d.y_train == 1], axis=0), [[2.0, 2.0]])
    noisy = gauss(n_train=4000, noise=1.0)
    np.testing.assert_allclose(noisy.X_train[noisy.y_train == 0].mean(axis=0), [-2, -2], atol=0.1)
    np.testing.assert_allclose(noisy.X_train[noisy.y_train == 1].mean(axis=0), [2, 2], atol=0.1)
    assert noisy.X_train[noisy.y_train == 1].std(axis=0) == pytest.approx([1, 1], rel=0.06)
    assert np.bincount(gauss(n_train=7).y_train).tolist() == [4, 3]


def test_xor_sign_rule_and_label_noise():
    d = xor(n_train=2000, noise=0.0)
    for X, y in ((d.X_train, d.y_train), (d.X_test, d.y_test)):
        assert (np.abs(X) <= 1).all()
        np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] > 0).astype(int))
    noisy = xor(n_train=2000, noise=0.2)
    X, y = noisy.X_train, noisy.y_train
    flipped = y != (X[:, 0] * X[:, 1] > 0)
    assert 0 < flipped.mean() < 0.25
    # Jitter moves the label's reference point by at most `noise` per axis: flips stay near the axes.
    assert (np.abs(X[flipped]).min(axis=1) <= 0.2).all()


def test_spiral_arms():
    d = spiral(n_train=300, n_test=90, arms=3, noise=0.0)
    assert d.n_classes == 3
    assert np.bincount(d.y_train).tolist() == [100, 100, 100]
    assert np.bincount(d.y_test).tolist() == [30, 30, 30]
    assert np.bincount(spiral(n_train=301).y_train).tolist() == [101, 100, 100]
    # noise 0: each arm is r = linspace(0, 1), θ = linspace(4j, 4(j+1)).
    for j in range(3):
        arm = d.X_train[d.y_train == j]
        r = np.hypot(*arm.T)
        order = np.argsort(r)
        np.testing.assert_allclose(r[order], np.linspace(0, 1, 100), atol=1e-12)
        t = np.linspace(4 * j, 4 * (j + 1), 100)
        np.testing.assert_allclose(
            arm[order][1:], np.c_[np.sin(t), np.cos(t)][1:] * r[order][1:, None], atol=1e-12
        )
    five = spiral(arms=5, seed=4)
    assert five.n_classes == 5
    assert set(five.y_train.tolist()) == set(range(5))


def _legacy_planar():
    """The course's planar_utils.load_planar_dataset, with its global seeding."""
    np.random.seed(1)
    m = 400
    N = int(m / 2)
    D = 2
    X = np.zeros((m, D))
    Y = np.zeros((m, 1), dtype="uint8")
    a = 4
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return X.T, Y.T


def test_flower_notebook_equals_legacy_recipe_and_leaves_global_state_alone():
    state = np.random.get_state()
    try:
        legacy_X, legacy_Y = _legacy_planar()
        np.random.seed(2)  # the test set: the same recipe after np.random.seed(2)
        legacy_test_X, legacy_test_Y = (
            np.concatenate(parts)
            for parts in zip(
                *(
                    (
                        np.c_[r * np.sin(t), r * np.cos(t)],
                        np.full(50, j),
                    )
                    for j in range(2)
                    for t in [np.linspace(j * 3.12, (j + 1) * 3.12, 50) + np.random.randn(50) * 0.2]
                    for r in [4 * np.sin(4 * t) + np.random.randn(50) * 0.2]
                )
            )
        )
        np.random.seed(12345)
        before = np.random.get_state()
        d = flower()
        after = np.random.get_state()
    finally:
        np.random.set_state(state)
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]
    np.testing.assert_array_equal(d.X_train, legacy_X.T)  # bit for bit
    np.testing.assert_array_equal(d.y_train, legacy_Y.reshape(-1))
    np.testing.assert_array_equal(d.X_test, legacy_test_X)
    np.testing.assert_array_equal(d.y_test, legacy_test_Y)
    assert d.X_train.shape == (400, 2)
    assert d.X_test.shape == (100, 2)
    np.testing.assert_array_equal(flower(seed="notebook").X_train, d.X_train)


def test_flower_integer_seed_is_shuffled_and_petal_shaped():
    d = flower(seed=0, noise=0.0)
    assert not (np.diff(d.y_train) >= 0).all()
    # noise 0: every point lies on r = 4 sin(4t), i.e. |r| ≤ 4.
    assert np.hypot(*d.X_train.T).max() <= 4 + 1e-12
    assert np.bincount(flower(n_train=401, seed=0).y_train).tolist() == [201, 200]


def test_load_and_unknown_names():
    assert load("Spiral", arms=4).n_classes == 4
    with pytest.raises(
        ValueError,
        match=r"Unknown dataset 'moon'. Known datasets: blobs, circles, flower, gauss, gaussians, moons, plane, spiral, xor.",
    ):
        load("moon")
    with pytest.raises(
        ValueError,
        match=r"Dataset 'moons' has no argument `factor`. Its arguments: n_train, n_test, noise, seed.",
    ):
        load("moons", factor=0.5)


@pytest.mark.parametrize("name", EVERY)
def test_every_built_in_has_the_common_signature(name):
    params = list(inspect.signature(DATASETS.get(name)).parameters)
    assert params[:3] == ["n_train", "n_test", "noise"]
    assert params[-1] == "seed"


# --- user files ---------------------------------------------------------------------------------


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_from_csv_round_trip_with_string_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    names = np.array(["setosa", "virginica", "versicolor", "setosa"] * 10)
    lines = ["a,b,species,c"] + [
        ",".join([repr(float(x[0])), repr(float(x[1])), s, repr(float(x[2]))])
        for x, s in zip(X, names)
    ]
    path = _write(tmp_path, "\n".join(lines) + "\n\n", "iris.csv")
    content = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    d = from_csv(path, label_column="species", test_fraction=0.25, seed=1)
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == mtime
    assert d.name == "iris"
    assert d.label_names == ("setosa", "versicolor", "virginica")
    assert d.n_classes == 3
    assert d.n_features == 3
    assert len(d.y_train) + len(d.y_test) == 40
    # Stratified: each class sends round(n_c / 4) rows to the test set, halves rounding up.
    assert np.bincount(d.y_test).tolist() == [5, 3, 3]
    # Every row comes back once, with its label, features in file order (label column removed).
    all_X = np.concatenate([d.X_train, d.X_test])
    all_names = [d.label_names[i] for i in np.concatenate([d.y_train, d.y_test])]
    order = np.lexsort(all_X.T)
    expected = np.lexsort(X.T)
    np.testing.assert_array_equal(all_X[order], X[expected])
    assert [all_names[i] for i in order] == names[expected].tolist()
    again = from_csv(path, label_column="species", test_fraction=0.25, seed=1)
    np.testing.assert_array_equal(again.X_train, d.X_train)
    assert not np.array_equal(from_csv(path, label_column="species", seed=2).X_train, d.X_train)
    assert load(str(path), label_column="species").n_classes == 3


def test_from_csv_numeric_labels_sorted_numerically(tmp_path):
    rows = [f"{i},{lab}" for i, lab in enumerate(["10", "9", "1.0", "9", "10", "1"] * 2)]
    d = from_csv(_write(tmp_path, "x,label\n" + "\n".join(rows)), test_fraction=0.5)
    assert d.label_names == ("1", "9", "10")
    X = np.concatenate([d.X_train, d.X_test])[:, 0]
    y = np.concatenate([d.y_train, d.y_test])
    lookup = dict(zip(X.tolist(), y.tolist()))
    assert [lookup[i] for i in range(6)] == [2, 1, 0, 1, 2, 0]


def test_from_csv_keeps_one_training_row_per_class(tmp_path):
    d = from_csv(_write(tmp_path, "x,label\n1,a\n2,b\n"), test_fraction=0.9)
    assert sorted(d.y_train.tolist()) == [0, 1]
    assert d.X_test.shape == (0, 1)


@pytest.mark.parametrize(
    ("text", "kwargs", "match"),
    [
        (
            "x,y,cls\n1,2,a\n3,4,b\n",
            {},
            r"Label column 'label' not found in .*data.csv. Columns found: \['x', 'y', 'cls'\]",
        ),
        (
            "1,2,0\n3,4,1\n",
            {},
            r"Columns found: \['1', '2', '0'\].*header row naming the columns is required",
        ),
        ("x,label\n1,a\n3,b\n", {"label_column": "y"}, r"Label column 'y' not found"),
        ("x,label,label\n1,a,a\n", {}, r"Label column 'label' appears twice"),
        ("label\na\nb\n", {}, r"no feature columns"),
        (
            "x,y,label\n1,2,a\n3,oops,b\n",
            {},
            r"Column 'y' must be numeric: .*row 2 \(line 3\) holds the text 'oops'",
        ),
        ("x,y,label\n1,2,a\n3,,b\n", {}, r"Empty cell in .*row 2 \(line 3\), column 'y'"),
        (
            "x,y,label\n1,nan,a\n3,4,b\n",
            {},
            r"NaN or infinite value in .*row 1 \(line 2\), column 'y': 'nan'",
        ),
        ("x,y,label\n1,2,a\n3,4,\n", {}, r"Empty label in .*row 2 \(line 3\), column 'label'"),
        (
            "x,y,label\n1,2,1\n3,4,NaN\n",
            {},
            r"NaN or infinite label in .*row 2 \(line 3\), column 'label': 'NaN'",
        ),
        (
            "x,y,label\n1,2,a\n3,4\n",
            {},
            r"Ragged row in .*row 2 \(line 3\) has 2 field\(s\); the header has 3 columns",
        ),
        ("x,y,label\n1,2,a\n3,4,b,5\n", {}, r"row 2 \(line 3\) has 4 field"),
        (
            "x,y,label\n1,2,cat\n3,4,cat\n5,6,cat\n",
            {},
            r"Only one class in .*data.csv: label 'cat' in all 3 samples",
        ),
        ("x,label\n1,a\n", {}, r"has 1 sample\(s\); a data set needs at least 2"),
        ("x,label\n", {}, r"has 0 sample\(s\)"),
        ("", {}, r"is empty; it needs a header row"),
        (
            "x,label\n1,a\n2,b\n",
            {"test_fraction": 1.0},
            r"Argument `test_fraction` must be a float in \(0, 1\), exclusive. Received: test_fraction=1.0",
        ),
        ("x,label\n1,a\n2,b\n", {"test_fraction": 0}, r"Received: test_fraction=0"),
        ("x,label\n1,a\n2,b\n", {"seed": "notebook"}, r"from_csv has no notebook data"),
    ],
)
def test_from_csv_errors(tmp_path, text, kwargs, match):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=match):
        from_csv(path, **kwargs)
    assert path.read_text(encoding="utf-8") == text  # only read, never written


def test_from_csv_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Data file not found: '.*nope.csv'"):
        from_csv(tmp_path / "nope.csv")
    with pytest.raises(FileNotFoundError, match=r"it is a directory"):
        from_csv(tmp_path)


def test_from_csv_not_text(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"x,label\n\xff\xfe,1\n")
    with pytest.raises(ValueError, match=r"not UTF-8 text"):
        from_csv(path)


def test_from_npz_round_trip_numeric_and_string_labels(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4))
    y = np.array([3, 7, 7] * 10)
    path = tmp_path / "set.npz"
    np.savez(path, features=X, target=y)
    content = path.read_bytes()
    d = from_npz(path, X_key="features", y_key="target", test_fraction=0.3, seed=5)
    assert path.read_bytes() == content
    assert d.name == "set"
    assert d.label_names == ("3", "7")
    assert d.n_features == 4
    assert np.bincount(d.y_test).tolist() == [3, 6]
    all_X = np.concatenate([d.X_train, d.X_test])
    all_y = np.concatenate([d.y_train, d.y_test])
    order, expected = np.lexsort(all_X.T), np.lexsort(X.T)
    np.testing.assert_array_equal(all_X[order], X[expected])
    np.testing.assert_array_equal(np.array([3, 7])[all_y[order]], y[expected])

    strings = tmp_path / "strings.npz"
    np.savez(strings, X=X, y=np.where(y == 3, "no", "yes").reshape(-1, 1))
    s = load(strings)
    assert s.label_names == ("no", "yes")
    assert s.name == "strings"


@pytest.mark.parametrize(
    ("arrays", "kwargs", "match"),
    [
        (
            {"X": np.zeros((3, 2)), "labels": [0, 1, 0]},
            {},
            r"Key 'y' not found in .*bad.npz. Keys found: \['X', 'labels'\]",
        ),
        (
            {"X": np.zeros(3), "y": [0, 1, 0]},
            {},
            r"Array 'X' in .* must be 2-D.*Received shape \(3,\)",
        ),
        (
            {"X": np.array([["a", "b"]] * 2), "y": [0, 1]},
            {},
            r"Array 'X' .* must be numeric. Received dtype <U1",
        ),
        (
            {"X": np.array([[0, 1.0], [np.nan, 0]]), "y": [0, 1]},
            {},
            r"NaN or infinite.*row 1, column 0: nan",
        ),
        (
            {"X": np.zeros((3, 2)), "y": [0, 1]},
            {},
            r"one label per row of 'X': 3 rows, 'y' has shape \(2,\)",
        ),
        ({"X": np.zeros((3, 2)), "y": [0.0, np.nan, 1.0]}, {}, r"has label nan at row 1"),
        (
            {"X": np.zeros((3, 2)), "y": ["a", "a", "a"]},
            {},
            r"Only one class in .*: label 'a' in all 3 samples",
        ),
        ({"X": np.zeros((1, 2)), "y": [0]}, {}, r"has 1 sample\(s\)"),
        (
            {"X": np.zeros((2, 2)), "y": [0, 1]},
            {"test_fraction": -0.5},
            r"Received: test_fraction=-0.5",
        ),
    ],
)
def test_from_npz_errors(tmp_path, arrays, kwargs, match):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=match):
        from_npz(path, **kwargs)


def test_from_npz_refuses_pickles_and_plain_arrays(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, X=np.zeros((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match=r"Array 'y' in .* holds Python objects"):
        from_npz(path)
    single = tmp_path / "single.npz"
    with single.open("wb") as handle:
        np.save(handle, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"holds a single array, not an .npz archive"):
        from_npz(single)
    garbage = _write(tmp_path, "not numpy", "garbage.npz")
    with pytest.raises(ValueError, match=r"not a readable .npz archive"):
        from_npz(garbage)
    with pytest.raises(FileNotFoundError, match=r"Data file not found"):
        from_npz(tmp_path / "missing.npz")


# --- check_xy and Dataset -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "match"),
    [
        (np.zeros(3), [0, 1, 0], {}, "must be 2-D"),
        (np.zeros((0, 2)), [], {}, "no samples"),
        ([["a", "b"]], [0], {}, "numeric"),
        (np.zeros((3, 2)), [0, 1], {}, r"one label per sample.*3 samples"),
        (np.zeros((3, 2)), [[0, 1, 0, 1]], {}, r"3 samples, y has shape \(4,\)"),
        (np.zeros((2, 2)), [0, -1], {}, r"binary, labels 0 and 1 only. Received labels \[-1\]"),
        (np.zeros((2, 2)), [0, 2], {}, r"binary, labels 0 and 1 only. Received labels \[2\]"),
        (np.zeros((2, 2)), [0, 0.5], {}, r"Received labels \[0.5\]"),
        (np.zeros((2, 2)), ["a", "b"], {}, "numeric labels 0 and 1"),
        (
            np.zeros((2, 2)),
            ["a", "b"],
            {"n_classes": 3},
            r"numeric labels 0..2.*from_csv and from_npz",
        ),
        (
            np.zeros((3, 2)),
            [0, 3, 5],
            {"n_classes": 3},
            r"labels 0..2 only. Received labels \[3, 5\] \(all labels: \[0, 3, 5\]\)",
        ),
        (
            np.zeros((2, 2)),
            [0, 1],
            {"n_classes": 1},
            r"Argument `n_classes` must be an integer ≥ 2. Received: n_classes=1",
        ),
        (
            np.zeros((2, 2)),
            [0, 1],
            {"n_features": 3},
            r"2 features per sample but the network's input layer has 3",
        ),
        (np.array([[1.0, np.inf], [0, 0]]), [0, 1], {}, r"row 0, column 1: inf"),
    ],
)
def test_check_xy_errors(X, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_xy(X, y, **kwargs)


def test_check_xy_accepts_column_labels_and_floats():
    _, y = check_xy(np.zeros((3, 2)), np.array([[0.0], [1.0], [1.0]]))
    assert y.dtype == np.int64
    assert y.tolist() == [0, 1, 1]
    _, y = check_xy(np.zeros((3, 2)), [2, 0, 1], n_classes=3)
    assert y.tolist() == [2, 0, 1]


def test_dataset_label_names_default_and_check():
    X = np.zeros((3, 2))
    d = Dataset("d", X, np.array([0, 2, 1]), X[:0], np.array([], dtype=np.int64))
    assert d.label_names == ("0", "1", "2")
    assert d.n_classes == 3
    assert Dataset("d", X[:1], np.array([0]), X[:0], np.array([], dtype=np.int64)).n_classes == 2
    with pytest.raises(ValueError, match=r"has label 2 but only 2 label names"):
        Dataset("d", X, np.array([0, 2, 1]), X[:0], np.array([], dtype=np.int64), ("a", "b"))
