"""Datasets and input validation."""

import numpy as np
import pytest

from initlab.datasets import DATASETS, check_xy, circles, load


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


def test_unknown_dataset():
    with pytest.raises(ValueError, match=r"Unknown dataset 'moon'. Known datasets: circles"):
        load("moon")


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.zeros(3), [0, 1, 0], "must be 2-D"),
        (np.zeros((0, 2)), [], "no samples"),
        ([["a", "b"]], [0], "numeric"),
        (np.zeros((3, 2)), [0, 1], r"one label per sample.*3 samples"),
        (np.zeros((2, 2)), [0, -1], r"Received labels \[-1\]"),
        (np.zeros((2, 2)), ["a", "b"], "numeric labels"),
        (np.array([[1.0, np.inf], [0, 0]]), [0, 1], r"row 0, column 1: inf"),
    ],
)
def test_check_xy_errors(X, y, match):
    with pytest.raises(ValueError, match=match):
        check_xy(X, y)


def test_check_xy_accepts_column_labels_and_floats():
    _, y = check_xy(np.zeros((3, 2)), np.array([[0.0], [1.0], [1.0]]))
    assert y.dtype == np.int64
    assert y.tolist() == [0, 1, 1]
