"""Initializers: every registered scheme against its formula; fans, gains, configs, plugins.

Statistical tolerances. Each distribution check pools at least N = 2¹⁸ draws. The sample
variance of n i.i.d. draws has relative standard error √((κ − 1)/n), κ the kurtosis; every
distribution here has κ ≤ 3 (normal 3; uniform, truncated normals and orthogonal entries
less), so √(2/n) ≈ 0.28% bounds it and 5 s.e. ≈ 1.4% is the tolerance; checks of other laws
pass their own κ. The sample mean is checked to 5 s.e., 5·σ/√n. Draws are seeded, so a check
either always passes or always fails; a new seed fails one at 5 s.e. with probability ~10⁻⁶.
"""

import json
import math
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from scipy import linalg, stats

from initlab import initializers as I
from initlab.initializers import registry as R

N_POOLED = 2**18
SE_VAR = math.sqrt(2 / N_POOLED)
TRUNC2 = stats.truncnorm(-2, 2)

# --- the two frameworks' fan conventions, written out as they are in their sources -------


def torch_fans(shape):
    """torch.nn.init._calculate_fan_in_and_fan_out: weight (out, in, *kernel)."""
    if len(shape) < 2:
        raise ValueError("fewer than 2 dimensions")
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def keras_fans(shape):
    """keras.src.initializers.random_initializers.compute_fans: kernel (*kernel, in, out)."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def fan_in(shape):
    return torch_fans(shape)[0]


def fan_out(shape):
    return torch_fans(shape)[1]


def fan_sum(shape):
    return sum(torch_fans(shape))


# --- checks: each takes the initializer, a generator and a shape ---------------------------


def pooled(init, rng, shape):
    draws = max(1, math.ceil(N_POOLED / math.prod(shape)))
    return np.concatenate([init(rng, shape).ravel() for _ in range(draws)])


def assert_moments(w, var, mean=0.0, bounds=None, kurtosis=3.0):
    assert abs(w.mean() - mean) < 5 * math.sqrt(var / w.size)
    assert w.var() == pytest.approx(var, rel=5 * math.sqrt((kurtosis - 1) / w.size))
    if bounds is not None:
        assert bounds[0] <= w.min()
        assert w.max() <= bounds[1]


def moments(var, mean=lambda s: 0.0, bounds=None):
    """Empirical mean and variance against the formula; every draw inside ``bounds``."""

    def check(init, rng, shape):
        w = pooled(init, rng, shape)
        assert_moments(w, var(shape), mean(shape), None if bounds is None else bounds(shape))

    return check


def symmetric(bound):
    return lambda s: (-bound(s), bound(s))


def exact(expected):
    def check(init, rng, shape):
        np.testing.assert_array_equal(init(rng, shape), expected(shape))

    return check


def orthonormal(gain):
    """Orthonormal rows (W Wᵀ = gain²·I) when rows ≤ cols, else columns; to 1e-10."""

    def check(init, rng, shape):
        for _ in range(3):
            w = init(rng, shape).reshape(shape[0], -1)
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            np.testing.assert_allclose(gram, gain**2 * np.eye(len(gram)), rtol=0, atol=1e-10)
            # So the mean square is exactly gain²/max(rows, cols); the mean is ~0.
            assert np.mean(w**2) == pytest.approx(gain**2 / max(w.shape), rel=1e-12)
            assert abs(w.mean()) < 5 * gain / math.sqrt(max(w.shape) * w.size)

    return check


def sparse_check(sparsity, std):
    def check(init, rng, shape):
        w = init(rng, shape)
        rows = shape[0]
        np.testing.assert_array_equal((w == 0).sum(axis=0), math.ceil(sparsity * rows))
        assert len({tuple(np.flatnonzero(col == 0)) for col in w.T}) > 1  # random rows
        w = pooled(init, rng, shape)
        assert_moments(w[w != 0], std**2)

    return check


def torch_dirac(shape, groups):
    """torch.nn.init.dirac_, with its per-rank indexing written out."""
    w = np.zeros(shape)
    per_group = shape[0] // groups
    for g in range(groups):
        for d in range(min(per_group, shape[1])):
            if len(shape) == 3:
                w[g * per_group + d, d, shape[2] // 2] = 1
            elif len(shape) == 4:
                w[g * per_group + d, d, shape[2] // 2, shape[3] // 2] = 1
            else:
                w[g * per_group + d, d, shape[2] // 2, shape[3] // 2, shape[4] // 2] = 1
    return w


def zero_init_reference(shape):
    """Algorithm 1 of Zhao et al. (2022) with scipy's Sylvester Hadamard matrix."""
    P, Q = shape
    if P <= Q:
        return np.eye(P, Q)
    m = math.ceil(math.log2(P))
    return 2 ** (-(m - 1) / 2) * linalg.hadamard(2**m)[:P, :Q]


# --- the table: every registered initializer, its arguments, shapes and expected law --------

SHAPES = ((64, 32), (32, 64), (128, 128), (16, 8, 3, 3))
SHAPES_2D = (*SHAPES[:3], (50, 20), (20, 50))
CONV_SHAPES = ((16, 8, 3, 3), (8, 8, 5), (4, 6, 3, 3, 3), (6, 4, 3, 3))


@dataclass(frozen=True)
class Case:
    check: Callable[..., None] | None  # None: data-dependent, tested in test_lsuv.py
    args: dict[str, Any] = field(default_factory=dict)
    shapes: tuple[tuple[int, ...], ...] = SHAPES
    random: bool = True


def keras_truncated(var):
    """A Keras variance-scaling truncated normal: variance exact, cut at ±2σ/0.8796."""
    return moments(var, bounds=symmetric(lambda s: 2 * math.sqrt(var(s)) / I.TRUNCATED_NORMAL_STD))


def uniform_with_var(var):
    return moments(var, bounds=symmetric(lambda s: math.sqrt(3 * var(s))))


TN = dict(mean=0.5, std=2.0, a=-1.0, b=3.0)  # torch trunc_normal: absolute cut-offs
TN_LAW = stats.truncnorm((TN["a"] - 0.5) / 2, (TN["b"] - 0.5) / 2, loc=0.5, scale=2)
TANH = 5 / 3
LEAKY_02 = 2 / (1 + 0.2**2)

TABLE: dict[str, Case] = {
    # The course's.
    "zeros": Case(exact(np.zeros), random=False),
    "random": Case(moments(lambda s: 100.0)),
    "he": Case(moments(lambda s: 2 / fan_in(s))),
    # Keras (truncated normals, variance-corrected).
    "variance_scaling": Case(
        uniform_with_var(lambda s: 3 / fan_out(s)),
        {"scale": 3.0, "mode": "fan_out", "distribution": "uniform"},
    ),
    "he_normal": Case(keras_truncated(lambda s: 2 / fan_in(s))),
    "he_uniform": Case(uniform_with_var(lambda s: 2 / fan_in(s))),
    "glorot_normal": Case(keras_truncated(lambda s: 2 / fan_sum(s))),
    "glorot_uniform": Case(uniform_with_var(lambda s: 2 / fan_sum(s))),
    "lecun_normal": Case(keras_truncated(lambda s: 1 / fan_in(s))),
    "lecun_uniform": Case(uniform_with_var(lambda s: 1 / fan_in(s))),
    # PyTorch (plain normals, gains).
    "xavier_normal": Case(moments(lambda s: TANH**2 * 2 / fan_sum(s)), {"activation": "tanh"}),
    "xavier_uniform": Case(uniform_with_var(lambda s: 1.5**2 * 2 / fan_sum(s)), {"gain": 1.5}),
    "kaiming_normal": Case(moments(lambda s: LEAKY_02 / fan_out(s)), {"a": 0.2, "mode": "fan_out"}),
    "kaiming_uniform": Case(uniform_with_var(lambda s: 2 / fan_in(s))),
    # Fan-independent.
    "constant": Case(exact(lambda s: np.full(s, 0.3)), {"value": 0.3}, random=False),
    "ones": Case(exact(np.ones), random=False),
    "normal": Case(moments(lambda s: 4.0, mean=lambda s: 0.5), {"mean": 0.5, "std": 2.0}),
    "random_normal": Case(moments(lambda s: 0.05**2)),
    "uniform": Case(
        moments(lambda s: 16 / 12, mean=lambda s: 1.0, bounds=lambda s: (-1, 3)), {"a": -1, "b": 3}
    ),
    "random_uniform": Case(uniform_with_var(lambda s: 0.1**2 / 12)),
    "trunc_normal": Case(
        moments(lambda s: TN_LAW.var(), mean=lambda s: TN_LAW.mean(), bounds=lambda s: (-1, 3)),
        TN,
    ),
    "truncated_normal": Case(
        moments(lambda s: (0.05 * TRUNC2.std()) ** 2, bounds=symmetric(lambda s: 0.1))
    ),
    # Structured.
    "orthogonal": Case(orthonormal(1.5), {"gain": 1.5}, (*SHAPES, (40, 7), (7, 40))),
    "identity": Case(exact(lambda s: 2.0 * np.eye(*s)), {"gain": 2.0}, SHAPES_2D, random=False),
    "dirac": Case(exact(lambda s: torch_dirac(s, 2)), {"groups": 2}, CONV_SHAPES, random=False),
    "sparse": Case(sparse_check(0.3, 0.5), {"sparsity": 0.3, "std": 0.5}, SHAPES_2D),
    "zero_init": Case(exact(zero_init_reference), {}, (*SHAPES_2D, (3, 2), (5, 1)), random=False),
    # Data-dependent.
    "lsuv": Case(None),
}


def builtin_names():
    """Every name in the registry, except what tests or plugins registered."""
    return [e.name for e in I.INITIALIZERS if not isinstance(e.value, I.CustomFactory)]


def test_every_registered_initializer_has_a_table_entry():
    names = builtin_names()
    missing = sorted(set(names) - set(TABLE))
    assert not missing, f"add these registered initializers to TABLE: {missing}"
    assert sorted(TABLE) == sorted(names), "TABLE lists names that are not registered"


CASES = [
    pytest.param(name, shape, id=f"{name}-{'x'.join(map(str, shape))}")
    for name in builtin_names()
    if TABLE.get(name, Case(None)).check is not None
    for shape in TABLE[name].shapes
]


def make(name):
    return I.get({"name": name, **TABLE[name].args})


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_shape_dtype_and_determinism(name, shape):
    init, case = make(name), TABLE[name]
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    w = init(rng, shape)
    assert w.shape == shape
    assert w.dtype == np.float64
    w32 = init(np.random.default_rng(0), shape, np.float32)
    assert w32.dtype == np.float32
    np.testing.assert_array_equal(w32, w.astype(np.float32))  # same draws, cast
    np.testing.assert_array_equal(init(np.random.default_rng(0), shape), w)
    other = init(np.random.default_rng(1), shape)
    if case.random:
        assert not np.array_equal(other, w)
    else:
        np.testing.assert_array_equal(other, w)
        assert rng.bit_generator.state == state  # deterministic schemes draw nothing


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_distribution_matches_formula(name, shape):
    check = TABLE[name].check
    assert check is not None
    check(make(name), np.random.default_rng(2024), shape)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_config_round_trips_through_json(name):
    init = make(name)
    config = I.get_config(init)
    assert I.get(json.loads(json.dumps(config))) == init


def test_data_dependent_entries_are_data_dependent():
    for name, case in TABLE.items():
        init = I.get(name) if case.check is None else make(name)
        assert isinstance(init, I.DataDependentInitializer) == (case.check is None), name


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_moments_match_the_draws(name, shape):
    """Every data-independent scheme states (E[w], E[w²]) of its entries: exactly those of its
    draws when it is deterministic, else within 5 s.e. of ≥ 2¹⁶ pooled entries."""
    init = make(name)
    assert isinstance(init, I.HasMoments)
    mean, second = init.moments(shape)
    rng = np.random.default_rng(11)
    w = np.concatenate(
        [init(rng, shape).ravel() for _ in range(max(1, math.ceil(2**16 / math.prod(shape))))]
    )
    if not TABLE[name].random:
        assert (mean, second) == pytest.approx((w.mean(), (w * w).mean()), rel=1e-12, abs=1e-300)
        return
    n = w.size
    assert abs(w.mean() - mean) <= 5 * w.std() / math.sqrt(n) + 1e-15
    assert abs((w * w).mean() - second) <= 5 * (w * w).std() / math.sqrt(n) + 1e-12 * second


# --- fans ----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(10, 2), (300, 100), (16, 3, 5, 5), (8, 4, 3), (4, 2, 3, 3, 3)])
def test_fans_equal_torch_on_the_shape_and_keras_on_the_transpose(shape):
    # initlab weights are (fan_out, fan_in, *kernel), like torch's nn.Linear.weight; Keras
    # kernels are (*kernel, fan_in, fan_out): the same layer's kernel is the reversed shape.
    assert I.compute_fans(shape) == torch_fans(shape) == keras_fans(shape[::-1])


def test_fans_of_vectors_and_scalars():
    assert I.compute_fans((7,)) == keras_fans((7,)) == (7, 7)
    assert I.compute_fans(()) == keras_fans(()) == (1, 1)


@pytest.mark.parametrize(
    ("init", "var_from_fans"),
    [
        (I.he(), lambda fi, fo: 2 / fi),
        (I.he_normal(), lambda fi, fo: 2 / fi),
        (I.KaimingNormal(), lambda fi, fo: 2 / fi),
        (I.glorot_uniform(), lambda fi, fo: 2 / (fi + fo)),
        (I.XavierNormal(), lambda fi, fo: 2 / (fi + fo)),
    ],
)
def test_a_layers_variance_agrees_with_torch_and_keras_conventions(init, var_from_fans):
    n_in, n_out = 300, 100  # one dense layer, 300 inputs → 100 units
    w = init(np.random.default_rng(3), (n_out, n_in))  # initlab/torch layout
    torch_var = var_from_fans(*torch_fans((n_out, n_in)))
    keras_var = var_from_fans(*keras_fans((n_in, n_out)))  # the same layer's Keras kernel
    assert torch_var == keras_var
    # 30,000 draws: relative s.e. of the variance √(2/n) ≈ 0.8%; 5 s.e. ≈ 4%. Swapping the
    # fans would be off by a factor 3.
    assert w.var() == pytest.approx(torch_var, rel=5 * math.sqrt(2 / w.size))


# --- gains and the PyTorch/Keras pairs -----------------------------------------------------


def test_calculate_gain_is_pytorchs_table():
    for name in ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d"):
        assert I.calculate_gain(name) == 1
    for name in ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
        assert I.calculate_gain(name) == 1
    assert I.calculate_gain("tanh") == 5.0 / 3
    assert I.calculate_gain("relu") == math.sqrt(2.0)
    assert I.calculate_gain("leaky_relu") == math.sqrt(2.0 / (1 + 0.01**2))
    assert I.calculate_gain("leaky_relu", 0.2) == math.sqrt(2.0 / (1 + 0.2**2))
    assert I.calculate_gain("leaky_relu", 0) == math.sqrt(2.0)
    assert I.calculate_gain("selu") == 3.0 / 4


def test_kaiming_defaults_are_the_courses_he_up_to_rounding():
    # torch's default (leaky_relu, a=0) is √2/√fan_in; the course writes √(2/fan_in).
    shape = (64, 32)
    for init in (I.KaimingNormal(), I.KaimingNormal(nonlinearity="relu")):
        a = init(np.random.default_rng(7), shape)
        np.testing.assert_allclose(a, I.he()(np.random.default_rng(7), shape), rtol=1e-15)


def test_he_normal_takes_mode_and_leaky_slope():
    init = I.he_normal(mode="fan_out", negative_slope=0.2)
    assert init == I.VarianceScaling(2 / 1.04, "fan_out", "truncated_normal")
    assert I.he_uniform(negative_slope=0.2).scale == 2 / 1.04
    w = pooled(init, np.random.default_rng(4), (64, 32))
    assert w.var() == pytest.approx(2 / 1.04 / 64, rel=5 * SE_VAR)


def test_xavier_gain_from_activation_name():
    assert I.xavier_normal(activation="relu") == I.XavierNormal(math.sqrt(2))
    assert I.xavier_uniform(activation="leaky_relu", param=0.2) == I.XavierUniform(
        math.sqrt(2 / 1.04)
    )
    assert I.get({"name": "xavier_uniform", "activation": "tanh"}) == I.XavierUniform(5 / 3)
    bound = I.XavierUniform(2.0).bound((30, 20))
    assert bound == 2.0 * math.sqrt(6 / 50)


def test_torch_and_keras_normals_differ_only_in_truncation():
    shape = (256, 256)
    keras = I.glorot_normal()(np.random.default_rng(5), shape)
    torch = I.xavier_normal()(np.random.default_rng(5), shape)
    sigma = math.sqrt(2 / 512)
    assert np.abs(keras).max() <= 2 * sigma / I.TRUNCATED_NORMAL_STD
    assert np.abs(torch).max() > 2 * sigma / I.TRUNCATED_NORMAL_STD  # untruncated tails
    assert keras.std() == pytest.approx(torch.std(), rel=0.02)


# --- truncated normals ---------------------------------------------------------------------


def test_truncated_normal_is_cut_at_two_sigma():
    init = I.VarianceScaling(1.0, "fan_in", "truncated_normal")
    w = init(np.random.default_rng(1), (500, 400))  # 2·10⁵ draws
    sigma = math.sqrt(1 / 400)
    assert np.abs(w).max() <= 2 * sigma / I.TRUNCATED_NORMAL_STD
    assert w.std() == pytest.approx(sigma, rel=0.01)


def test_truncated_normal_constant_is_the_std_of_a_truncated_standard_normal():
    assert TRUNC2.std() == pytest.approx(I.TRUNCATED_NORMAL_STD, rel=1e-15)


def test_torch_trunc_normal_cuts_at_absolute_values():
    w = I.TruncNormal(std=10.0)(np.random.default_rng(0), (300, 400))
    assert np.abs(w).max() <= 2.0  # not ±20
    assert w.var() == pytest.approx(4 / 3, rel=0.02)  # ≈ U(−2, 2): the range is narrow


@pytest.mark.parametrize(("a", "b"), [(3.0, 4.0), (8.0, 9.0), (-9.0, -8.0), (-0.5, 30.0)])
def test_torch_trunc_normal_in_the_tails(a, b):
    # Sampled by inverting the CDF (no rejection), in the lower tail where Φ is precise:
    # Φ(8) rounds to 1 in double precision, so [8, 9] is drawn as −[−9, −8].
    w = I.TruncNormal(a=a, b=b)(np.random.default_rng(0), (300, 400))
    assert w.min() >= a
    assert w.max() <= b
    law = stats.truncnorm(a, b)
    # Far in a tail the law is nearly exponential (kurtosis → 9): use its own kurtosis.
    assert_moments(w, law.var(), law.mean(), kurtosis=3 + float(law.stats(moments="k")))


def test_keras_truncated_normal_is_not_variance_corrected():
    w = I.TruncatedNormal(mean=1.0, stddev=0.5)(np.random.default_rng(0), (300, 400))
    assert np.abs(w - 1.0).max() <= 1.0
    assert w.std() == pytest.approx(0.5 * I.TRUNCATED_NORMAL_STD, rel=0.01)


# --- structured schemes --------------------------------------------------------------------


def test_orthogonal_signs_are_fixed_so_the_draw_is_haar():
    # QR alone leaves Q's signs tied to R's (LAPACK: Q[0, 0] < 0 always); multiplying by
    # sign(diag R) makes every entry symmetric about 0, as for a Haar-random orthogonal matrix.
    rng = np.random.default_rng(0)
    corners = np.array([I.Orthogonal()(rng, (8, 8))[0, 0] for _ in range(400)])
    assert abs(corners.mean()) < 5 * math.sqrt(1 / 8 / corners.size)
    assert (corners > 0).mean() == pytest.approx(0.5, abs=5 * math.sqrt(0.25 / 400))


def test_zero_init_follows_algorithm_1():
    c = 2 ** (-1 / 2)  # P = 3: m = 2
    np.testing.assert_array_equal(
        I.ZerO()(None, (3, 2)), c * np.array([[1, 1], [1, -1], [1, 1]], dtype=float)
    )
    np.testing.assert_array_equal(I.ZerO()(None, (2, 3)), [[1, 0, 0], [0, 1, 0]])


def test_dirac_preserves_the_input_of_a_convolution():
    w = I.Dirac()(np.random.default_rng(0), (4, 4, 3))
    x = np.random.default_rng(1).standard_normal((4, 10))
    # "same" 1-D cross-correlation, out[o, t] = Σ_i Σ_k w[o, i, k]·x[i, t + k − 1]
    padded = np.pad(x, ((0, 0), (1, 1)))
    out = sum(w[:, :, k] @ padded[:, k : k + 10] for k in range(3))
    np.testing.assert_array_equal(out, x)


def test_ones_and_zeros_draw_nothing():
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    assert not I.zeros()(rng, (3, 4)).any()
    assert (I.ones()(rng, (2,)) == 1).all()
    assert (I.Constant(0.5)(rng, (2,)) == 0.5).all()
    assert rng.bit_generator.state == state


def test_the_course_schemes_are_unchanged():
    # he must stay randn(shape) * sqrt(2 / fan_in), operation for operation.
    rng = np.random.RandomState(3)
    expected = np.random.RandomState(3).randn(5, 10) * math.sqrt(2.0 / 10)
    np.testing.assert_array_equal(I.get("he")(rng, (5, 10)), expected)
    expected = np.random.RandomState(3).randn(5, 10) * 10
    np.testing.assert_array_equal(I.get("random")(np.random.RandomState(3), (5, 10)), expected)


# --- registry, names and errors ------------------------------------------------------------


def test_names_and_aliases():
    assert I.get("EYE") == I.Identity()
    assert I.get("Xavier_Uniform") == I.XavierUniform()
    assert I.get("kaiming_normal") == I.KaimingNormal(0.0, "fan_in", "leaky_relu")
    assert I.get("he_normal") == I.VarianceScaling(2.0, "fan_in", "truncated_normal")
    assert I.get({"name": "random_normal"}) == I.Normal(std=0.05)
    assert I.get({"name": "random", "scale": 3}) == I.Normal(std=3.0)
    custom = I.he()
    assert I.get(custom) is custom


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: I.get("hee"), r"Unknown initializer 'hee'. Known initializers: constant, dirac, "),
        (lambda: I.VarianceScaling(scale=-1), r"Argument `scale` must be a positive float. Received: scale=-1"),
        (lambda: I.VarianceScaling(mode="fan"), r"one of 'fan_in', 'fan_out', 'fan_avg'. Received: mode='fan'"),
        (lambda: I.VarianceScaling(distribution="cauchy"), r"Received: distribution='cauchy'"),
        (lambda: I.KaimingNormal(mode="fan_avg"), r"`mode` must be one of 'fan_in', 'fan_out'. Received: mode='fan_avg'"),
        (lambda: I.KaimingUniform(nonlinearity="gelu"), r"`nonlinearity` must be one of 'linear', .*'selu'. Received: nonlinearity='gelu'"),
        (lambda: I.calculate_gain("swish"), r"Received: nonlinearity='swish'"),
        (lambda: I.calculate_gain("leaky_relu", "big"), r"`param` must be a finite float. Received: param='big'"),
        (lambda: I.he_normal(negative_slope=float("nan")), r"Received: negative_slope=nan"),
        (lambda: I.xavier_normal(gain=2.0, activation="relu"), r"Give `gain` or `activation`, not both"),
        (lambda: I.XavierNormal(gain=0), r"`gain` must be a positive float. Received: gain=0"),
        (lambda: I.random(0), r"`scale` must be a positive float. Received: scale=0"),
        (lambda: I.Sparse(1.5), r"`sparsity` must be a float in \[0, 1\). Received: sparsity=1.5"),
        (lambda: I.Sparse(-0.1), r"Received: sparsity=-0.1"),
        (lambda: I.Uniform(1, 0), r"`a` must be less than `b`. Received: a=1.0, b=0.0"),
        (lambda: I.TruncNormal(a=2.0, b=2.0), r"`a` must be less than `b`. Received: a=2.0, b=2.0"),
        (lambda: I.TruncatedNormal(stddev=-1), r"Received: stddev=-1"),
        (lambda: I.Constant(float("inf")), r"`value` must be a finite float. Received: value=inf"),
        (lambda: I.Dirac(groups=0), r"`groups` must be an integer ≥ 1. Received: groups=0"),
        (lambda: I.Identity()(None, (3, 4, 5)), r"'identity' needs a 2-D weight shape. Received: shape=\(3, 4, 5\)"),
        (lambda: I.Sparse(0.5)(None, (3, 4, 5)), r"'sparse' needs a 2-D weight shape. Received: shape=\(3, 4, 5\)"),
        (lambda: I.Dirac()(None, (4, 4)), r"'dirac' needs a 3-D or 4-D or 5-D weight shape. Received: shape=\(4, 4\)"),
        (lambda: I.Dirac(3)(None, (4, 4, 3)), r"shape\[0\]=4 must be divisible by groups=3"),
        (lambda: I.Orthogonal()(None, (5,)), r"rank ≥ 2. Received: shape=\(5,\)"),
        (lambda: I.ZerO()(None, (4, 4, 3)), r"'zero_init' needs a 2-D weight shape"),
        (lambda: I.get("sparse"), r"Bad arguments for initializer 'sparse': missing a required argument: 'sparsity'. It takes: sparsity, std"),
        (lambda: I.get({"scale": 2}), r"needs a 'name' key"),
        (lambda: I.get({"name": "he", "mode": "fan_in"}), r"Bad arguments for initializer 'he': .*'mode'. It takes: scale"),
        (lambda: I.get(3), r"must be a name, a config dict or a callable"),
    ],
)  # fmt: skip
def test_bad_arguments_name_the_value(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# --- custom initializers -------------------------------------------------------------------


@pytest.fixture
def registry(monkeypatch):
    """A fresh registry of the built-ins; what a test registers is gone afterwards."""
    fresh = R._builtin_registry()
    monkeypatch.setattr(R, "INITIALIZERS", fresh)
    monkeypatch.setattr(I, "INITIALIZERS", fresh)
    return fresh


def halves(rng, shape, dtype=np.float64):
    """Every weight 0.5."""
    return np.full(shape, 0.5, dtype)


def test_register_a_function(registry):
    assert I.register_initializer("halves", halves) is halves
    init = I.get("Halves")
    assert I.get_config(init) == {"name": "halves"}
    assert I.get(I.get_config(init)) == init
    np.testing.assert_array_equal(init(None, (2, 3)), np.full((2, 3), 0.5))
    assert registry.entry("halves").description == "Every weight 0.5."
    with pytest.raises(ValueError, match=r"Bad arguments for initializer 'halves'"):
        I.get({"name": "halves", "value": 1})


def test_register_with_a_decorator_and_aliases(registry):
    @I.register_initializer("scaled_eye", description="c·I", aliases=("ceye",), factory=True)
    def scaled_eye(c=1.0):
        return lambda rng, shape, dtype=np.float64: c * np.eye(*shape, dtype=dtype)

    init = I.get({"name": "ceye", "c": 3.0})
    assert I.get_config(init) == {"name": "scaled_eye", "c": 3.0}
    assert I.get(I.get_config(init)) == init
    assert init != I.get({"name": "scaled_eye", "c": 2.0})
    np.testing.assert_array_equal(init(None, (2, 2)), 3 * np.eye(2))
    with pytest.raises(
        ValueError, match=r"Bad arguments for initializer 'scaled_eye'.* It takes: c"
    ):
        I.get({"name": "scaled_eye", "d": 1})
    with pytest.raises(ValueError, match=r"'he' is already registered"):
        I.register_initializer("he", halves)


def test_a_registered_factory_can_return_a_builtin(registry):
    I.register_initializer("tanh_xavier", lambda: I.xavier_normal(activation="tanh"), factory=True)
    init = I.get("tanh_xavier")
    assert I.get_config(init) == {"name": "tanh_xavier"}
    w = init(np.random.default_rng(0), (4, 3))
    np.testing.assert_array_equal(w, I.XavierNormal(5 / 3)(np.random.default_rng(0), (4, 3)))


def test_register_rejects_non_callables(registry):
    with pytest.raises(TypeError, match=r"`fn` must be callable. Received: fn=3"):
        I.register_initializer("three", 3)
    with pytest.raises(ValueError, match=r"`name` must be a non-empty string"):
        I.register_initializer("", halves)
    I.register_initializer("bad_factory", lambda: 3, factory=True)
    with pytest.raises(TypeError, match=r"'bad_factory' returned 3, which is not an initializer"):
        I.get("bad_factory")


# --- plugins from entry points -------------------------------------------------------------


@pytest.fixture
def install_plugin(tmp_path, monkeypatch):
    """Write a fake installed distribution (dist-info + module) and put it on sys.path."""
    modules = []

    def install(module, source, entry_points):
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        info = tmp_path / f"{module}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
        lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[{I.ENTRY_POINT_GROUP}]\n{lines}")
        monkeypatch.syspath_prepend(str(tmp_path))
        modules.append(module)

    yield install
    for module in modules:
        sys.modules.pop(module, None)


PLUGIN = """
    import numpy as np

    def quarters(rng, shape, dtype=np.float64):
        '''Every weight 0.25.'''
        return np.full(shape, 0.25, dtype)

    def scaled_normal(scale=1.0):
        '''N(0, scale²).'''
        return lambda rng, shape, dtype=np.float64: scale * rng.standard_normal(shape)
"""


def test_plugins_resolve_by_entry_point_name(registry, install_plugin):
    install_plugin(
        "initlab_test_plugin",
        PLUGIN,
        {"quarters": "initlab_test_plugin:quarters", "scaled": "initlab_test_plugin:scaled_normal"},
    )
    assert "initlab_test_plugin" not in sys.modules  # nothing loaded before it is needed
    init = I.get("quarters")
    np.testing.assert_array_equal(init(None, (2,)), [0.25, 0.25])
    assert I.get_config(init) == {"name": "quarters"}
    scaled = I.get({"name": "scaled", "scale": 3.0})
    assert I.get(I.get_config(scaled)) == scaled
    assert scaled(np.random.default_rng(0), (1000,)).std() == pytest.approx(3.0, rel=0.1)
    assert {"quarters", "scaled"} <= set(registry.names())
    assert registry.entry("quarters").description == "plugin: Every weight 0.25."


def test_plugins_are_listed_without_a_lookup(registry, install_plugin):
    install_plugin("initlab_test_listed", PLUGIN, {"listed": "initlab_test_listed:quarters"})
    assert "listed" in registry.names()


def test_a_broken_plugin_is_named_and_does_not_break_the_rest(registry, install_plugin):
    install_plugin(
        "initlab_test_broken",
        PLUGIN,
        {
            "missing": "initlab_test_broken:no_such_function",
            "he": "initlab_test_broken:quarters",  # a built-in name: skipped
            "fine": "initlab_test_broken:quarters",
        },
    )
    assert I.get("he") == I.he()  # known names never load plugins
    with pytest.warns(I.InitializerPluginWarning) as record:
        names = registry.names()
    messages = [str(w.message) for w in record]
    assert any("'missing' failed to load" in m and "AttributeError" in m for m in messages)
    assert any("'he' is built in" in m for m in messages)
    assert "fine" in names
    assert "missing" not in names
    with pytest.raises(
        I.InitializerPluginError,
        match=r"Initializer plugin 'missing' failed to load from entry point "
        r"'missing = initlab_test_broken:no_such_function' in group 'initlab.initializers' "
        r"\(distribution initlab_test_broken 1.0\): AttributeError",
    ):
        I.get("missing")
    assert I.get("he") == I.he()


def test_a_plugin_that_fails_on_import(registry, install_plugin):
    install_plugin(
        "initlab_test_raises", "raise RuntimeError('boom')\n", {"boom": "initlab_test_raises:f"}
    )
    with (
        pytest.warns(I.InitializerPluginWarning, match=r"RuntimeError: boom"),
        pytest.raises(I.InitializerPluginError, match=r"'boom' failed to load.*boom"),
    ):
        I.get("boom")
