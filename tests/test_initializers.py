"""Initializers: fans, the variance_scaling formula, registry and configs."""

import math

import numpy as np
import pytest

from initlab import initializers as I


def test_fans_follow_the_fan_out_fan_in_layout():
    assert I.compute_fans((10, 2)) == (2, 10)
    assert I.compute_fans((7,)) == (7, 7)
    assert I.compute_fans(()) == (1, 1)
    assert I.compute_fans((16, 3, 5, 5)) == (75, 400)


@pytest.mark.parametrize(
    ("init", "shape", "expected_var"),
    [
        (I.he(), (400, 300), 2 / 300),
        (I.VarianceScaling(1.0, "fan_out", "normal"), (400, 300), 1 / 400),
        (I.glorot_uniform(), (400, 300), 2 / 700),
        (I.glorot_normal(), (400, 300), 2 / 700),
        (I.lecun_normal(), (400, 300), 1 / 300),
        (I.random(), (400, 300), 100.0),
        (I.random(0.01), (400, 300), 1e-4),
    ],
)
def test_empirical_variance_matches_formula(init, shape, expected_var):
    w = init(np.random.default_rng(0), shape)
    assert w.shape == shape
    assert w.dtype == np.float64
    n = w.size  # 120,000 draws: the sample variance has relative s.e. √(2/n) ≈ 0.4%
    assert abs(w.mean()) < 4 * math.sqrt(expected_var / n)
    assert w.var() == pytest.approx(expected_var, rel=0.02)


def test_truncated_normal_is_cut_at_two_sigma():
    init = I.VarianceScaling(1.0, "fan_in", "truncated_normal")
    w = init(np.random.default_rng(1), (500, 400))
    sigma = math.sqrt(1 / 400)
    assert np.abs(w).max() <= 2 * sigma / I.TRUNCATED_NORMAL_STD + 1e-15
    assert w.std() == pytest.approx(sigma, rel=0.01)


def test_truncated_normal_constant_is_the_std_of_a_truncated_standard_normal():
    from scipy import stats

    assert stats.truncnorm(-2, 2).std() == pytest.approx(I.TRUNCATED_NORMAL_STD, rel=1e-15)


def test_uniform_bounds():
    w = I.glorot_uniform()(np.random.default_rng(2), (30, 20))
    limit = math.sqrt(6 / 50)
    assert np.abs(w).max() <= limit


def test_zeros_and_constant_draw_nothing():
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    assert not I.zeros()(rng, (3, 4)).any()
    assert (I.Constant(0.5)(rng, (2,)) == 0.5).all()
    assert rng.bit_generator.state == state


def test_same_seed_same_draw_and_dtype():
    a = I.he()(np.random.default_rng(5), (4, 3), np.float32)
    b = I.he()(np.random.default_rng(5), (4, 3), np.float32)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, b)


def test_registry_and_config_round_trip():
    for name in I.INITIALIZERS.names():
        init = I.get(name)
        assert I.get(I.get_config(init)) == init
    assert I.get("Xavier_Uniform") == I.glorot_uniform()
    assert I.get({"name": "random", "scale": 3}) == I.Normal(std=3.0)
    custom = I.he()
    assert I.get(custom) is custom


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: I.get("hee"), r"Unknown initializer 'hee'. Known initializers: constant, "),
        (lambda: I.VarianceScaling(scale=-1), r"`scale` must be a positive float. Received: scale=-1"),
        (lambda: I.VarianceScaling(mode="fan"), r"one of 'fan_in', 'fan_out', 'fan_avg'. Received: mode='fan'"),
        (lambda: I.VarianceScaling(distribution="cauchy"), r"Received: distribution='cauchy'"),
        (lambda: I.random(0), r"`std` must be a positive float. Received: std=0"),
        (lambda: I.get({"scale": 2}), r"needs a 'name' key"),
        (lambda: I.get({"name": "he", "mode": "fan_in"}), r"Bad arguments for initializer 'he'"),
        (lambda: I.get(3), r"must be a name, a config dict or a callable"),
    ],
)  # fmt: skip
def test_bad_arguments_name_the_value(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()
