"""Mean-field theory: closed forms, quadrature against Monte Carlo and against real networks.

Tolerances, and why:

- Closed forms (ReLU, leaky ReLU, linear) are exact: 1e-12 relative, a few roundings.
- The default quadrature splits the integral at the kink z = 0, so it is exact to rounding on
  ReLU too (1e-12). Plain Gauss–Hermite converges only like 1/n across a kink: 1% for E[relu].
- Monte Carlo: 10⁶ fixed-seed samples; the estimate's standard error is computed from the
  samples themselves, and the quadrature must lie within 4 of them.
- Wide networks: the theory is the infinite-width limit, averaged over weights. One tanh
  network of width n = 1000 measured on m = 500 examples deviates by O(1/n) corrections and
  by its own fluctuation. Components private to each example average over n·m entries and
  fluctuate little; what all examples share (the bias, and the correlation between examples
  that it induces) averages over the n units only, √(2/n) ≈ 4.5% of its share. Over a dozen
  seeds the worst layer was off by 0.8% without bias and 3.5% with σ_b² = 0.05. 5% allows
  that, and still catches a wrong map: dropping σ_b² is off by 13–21% from layer 3 on,
  E[φ(q z)²] for E[φ(√q z)²] by up to 78%. The draws are seeded: the check is deterministic.
"""

import json
import math

import numpy as np
import pytest

from initlab import activations
from initlab import initializers as I
from initlab import theory as T
from initlab.initializers import init_params
from initlab.network import MLP, forward

ALPHA = activations.LEAKY_RELU_SLOPE
SMOOTH = ("tanh", "gelu", "sigmoid", "elu", "selu")


def relu(u):
    return np.maximum(u, 0.0)


# --- closed forms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activation", "c"),
    [("relu", 0.5), ("linear", 1.0), ("leaky_relu", (1 + ALPHA**2) / 2)],
)
@pytest.mark.parametrize("sigma_w2", [0.5, 1.0, 2.0, 3.7])
@pytest.mark.parametrize("sigma_b2", [0.0, 0.1, 2.0])
def test_homogeneous_activations_follow_their_linear_map_exactly(activation, c, sigma_w2, sigma_b2):
    q0 = 1.3
    expected = [sigma_w2 * q0 + sigma_b2]
    for _ in range(29):
        expected.append(sigma_w2 * c * expected[-1] + sigma_b2)
    for depth in (1, 5, 30):
        q = T.propagate(activation, sigma_w2, sigma_b2, depth=depth, q0=q0)
        np.testing.assert_allclose(q, expected[:depth], rtol=1e-12, atol=0)


@pytest.mark.parametrize("q", [0.0, 1e-8, 0.3, 1.0, 17.0, 1e12])
def test_homogeneous_moments(q):
    s = math.sqrt(q / (2 * math.pi))
    assert T.moments("relu", q) == pytest.approx((s, q / 2, 0.5), rel=1e-12, abs=0)
    assert T.moments("linear", q) == pytest.approx((0.0, q, 1.0), rel=1e-12, abs=0)
    c = (1 + ALPHA**2) / 2
    assert T.moments("leaky_relu", q) == pytest.approx(((1 - ALPHA) * s, c * q, c), rel=1e-12)


@pytest.mark.parametrize("q", [1e-6, 0.25, 1.0, 9.0, 1e6])
def test_split_quadrature_is_exact_on_relu_because_it_splits_at_the_kink(q):
    exact = T.moments("relu", q)
    assert T.gaussian_expectation(relu, q) == pytest.approx(exact.mean, rel=1e-12)
    assert T.gaussian_expectation(lambda u: relu(u) ** 2, q) == pytest.approx(q / 2, rel=1e-12)
    assert T.gaussian_expectation(lambda u: (u > 0) * 1.0, q) == pytest.approx(0.5, rel=1e-12)


def test_gauss_hermite_is_looser_on_relu_its_kink_costs_it_the_fast_convergence():
    """Gauss–Hermite is exact for polynomials of degree < 2n; |z| (= 2·relu(z) − z) is not
    smooth at 0, and the error only falls like 1/n: 0.4% at n = 100, halving as n doubles."""
    exact = 1 / math.sqrt(2 * math.pi)
    errors = {
        n: T.gaussian_expectation(relu, 1.0, n=n, method="hermite") / exact - 1 for n in (50, 100)
    }
    assert 0 < errors[100] < 1e-2
    assert errors[50] / errors[100] == pytest.approx(2.0, rel=0.1)
    # On smooth functions at moderate q it agrees with the default rule to 1e-6 and better
    # (not on ELU and SELU: their second derivative jumps at 0, another kink for Hermite).
    for name in ("tanh", "gelu", "sigmoid"):
        act = activations.get(name)
        for q in (0.1, 1.0):
            h = T.gaussian_expectation(lambda u, act=act: act.forward(u) ** 2, q, method="hermite")
            assert h == pytest.approx(T.moments(name, q).mean_sq, rel=1e-6)


# --- against Monte Carlo ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def z():
    return np.random.default_rng(20170101).standard_normal(1_000_000)


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("q", [0.1, 1.0, 4.0])
def test_moments_agree_with_monte_carlo_within_4_standard_errors(z, name, q):
    act = activations.get(name)
    u = math.sqrt(q) * z
    phi = act.forward(u)
    dphi = np.asarray(act.derivative(u, phi), dtype=float)
    predicted = T.moments(name, q)
    for samples, value in [
        (phi, predicted.mean),
        (phi**2, predicted.mean_sq),
        (dphi**2, predicted.deriv_sq),
    ]:
        se = samples.std() / math.sqrt(samples.size)
        assert abs(value - samples.mean()) < 4 * se, (name, q, value, samples.mean(), se)


@pytest.mark.parametrize("sigma_b2", [0.0, 0.05])
def test_propagate_matches_a_wide_tanh_network(sigma_b2):
    width, depth, m, sigma_w2 = 1000, 5, 500, 1.5
    X = np.random.default_rng(1).standard_normal((m, width))
    X *= math.sqrt(width) / np.linalg.norm(X, axis=1, keepdims=True)  # every ‖x‖²/n = q⁰ = 1
    mlp = MLP([width] * (depth + 1), "tanh")
    w_init = {"name": "variance_scaling", "scale": sigma_w2, "distribution": "normal"}
    b_init = {"name": "normal", "std": math.sqrt(sigma_b2)} if sigma_b2 else "zeros"
    params = init_params(mlp, np.random.default_rng(2), w_init, b_init)
    measured = np.array([np.mean(Z * Z) for Z in forward(mlp, params, X).Z])

    predicted = T.propagate("tanh", sigma_w2, sigma_b2, depth=depth, q0=1.0)
    np.testing.assert_allclose(measured, predicted, rtol=0.05)
    p = T.predict_from_data(mlp, w_init, X, bias_init=b_init)
    np.testing.assert_allclose(p.q, predicted, rtol=1e-12)


# --- fixed points, χ₁ and phases -------------------------------------------------------------


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize(("sigma_w2", "sigma_b2"), [(0.8, 0.1), (1.5, 0.05), (1.6, 0.3)])
def test_fixed_point_is_fixed_and_is_where_iteration_goes(name, sigma_w2, sigma_b2):
    q_star = T.fixed_point(name, sigma_w2, sigma_b2)
    assert 0 < q_star < math.inf
    assert T.variance_map(name, q_star, sigma_w2, sigma_b2) == pytest.approx(q_star, rel=1e-12)
    q = T.propagate(name, sigma_w2, sigma_b2, depth=300, q0=1.0)
    assert q[-1] == pytest.approx(q_star, rel=1e-6)


def test_fixed_point_closed_forms_and_limits():
    assert T.fixed_point("relu", 1.0, 0.5) == pytest.approx(1.0, rel=1e-15)
    assert T.fixed_point("relu", 2.0, 0.0, q_init=3.7) == 3.7  # He: every q is fixed
    assert T.fixed_point("relu", 2.0, 0.1) == math.inf  # … and a bias adds up
    assert T.fixed_point("relu", 2.5) == math.inf
    assert T.fixed_point("relu", 2.5, 0.0, q_init=0.0) == 0.0
    assert T.fixed_point("leaky_relu", 2 / (1 + ALPHA**2), 0.0, q_init=0.4) == 0.4
    assert T.fixed_point("linear", 0.5, 1.0) == pytest.approx(2.0, rel=1e-15)
    assert T.fixed_point("tanh", 0.9) == 0.0  # ordered, no bias: the signal dies
    assert T.fixed_point("tanh", 0.9, 0.0, q_init=0.0) == 0.0
    assert T.fixed_point("gelu", 3.0) == math.inf
    assert 0 < T.fixed_point("tanh", 1.5) < 1  # chaotic: 0 is unstable, q* > 0


def test_chi1_and_phase():
    assert T.chi1("relu", 2.0) == 1.0
    assert T.chi1("linear", 0.7, 0.3) == pytest.approx(0.7, rel=1e-15)
    assert T.chi1("tanh", 0.5) == pytest.approx(0.5, rel=1e-12)  # q* = 0: χ₁ = σ_w²·tanh′(0)²
    assert [T.phase("relu", s) for s in (1.9, 2.0, 2.1)] == ["ordered", "critical", "chaotic"]
    critical = T.critical_sigma_w2("tanh", 0.05)
    assert T.phase("tanh", 0.95 * critical, 0.05) == "ordered"
    assert T.phase("tanh", critical, 0.05) == "critical"
    assert T.phase("tanh", 1.05 * critical, 0.05) == "chaotic"
    # χ₁ at a given q, vectorised: tanh′ shrinks as q grows into saturation.
    chi = T.chi1("tanh", 1.0, 0.0, q=[0.0, 1.0, 10.0])
    assert chi[0] == 1.0
    assert np.all(np.diff(chi) < 0)


def test_critical_sigma_w2_homogeneous():
    assert T.critical_sigma_w2("relu") == 2.0
    assert T.critical_sigma_w2("relu", 0.3) == 2.0
    assert T.critical_sigma_w2("leaky_relu") == pytest.approx(2 / (1 + ALPHA**2), rel=1e-15)
    assert T.critical_sigma_w2("linear", 0.1) == 1.0


def test_critical_tanh_tends_to_one_as_the_bias_vanishes():
    """Expanding near q = 0 (tanh² ≈ u² − 2u⁴/3 + 17u⁶/45) gives, on the critical line,
    q* ≈ (3σ_b²/4)^{1/3} and σ_w² ≈ 1 + 2q*: the approach to 1 is slow, like σ_b^{2/3}
    (1.018 at σ_b² = 10⁻⁶), with relative corrections of order q*."""
    assert T.critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, abs=1e-5)
    for sigma_b2 in (1e-12, 1e-9, 1e-6):
        q_asymptotic = (0.75 * sigma_b2) ** (1 / 3)
        critical = T.critical_sigma_w2("tanh", sigma_b2)
        assert (critical - 1) / (2 * q_asymptotic) == pytest.approx(1, abs=q_asymptotic)
        q_star = T.fixed_point("tanh", critical, sigma_b2)
        assert q_star / q_asymptotic == pytest.approx(1, abs=4 * q_asymptotic)
    assert abs(T.critical_sigma_w2("tanh", 1e-12) - 1) < 1e-3


def test_critical_tanh_line_rises_with_the_bias_and_has_chi1_one():
    """Schoenholz et al. (2017), Fig. 1: the ordered/chaotic boundary starts at σ_w² = 1 and
    moves to larger σ_w² as σ_b² grows (≈ 1.76 at σ_b² = 0.05 here)."""
    grid = [1e-4, 0.01, 0.05, 0.1, 0.5, 2.0]
    values = [T.critical_sigma_w2("tanh", s) for s in grid]
    assert np.all(np.diff(values) > 0)
    assert values[2] > 1
    for s, c in zip(grid, values):
        assert T.chi1("tanh", c, s) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("name", ["sigmoid", "elu", "selu"])
def test_critical_sigma_w2_of_other_activations_has_chi1_one(name):
    for sigma_b2 in (0.0, 0.1):
        c = T.critical_sigma_w2(name, sigma_b2)
        assert T.chi1(name, c, sigma_b2) == pytest.approx(1.0, abs=1e-6)


def test_selu_is_self_normalising_and_slightly_chaotic():
    """Klambauer et al. (2017) chose λ, α so that σ_w² = 1, σ_b² = 0 has q* = 1. At q → 0,
    E[φ′²] → λ²(1 + α²)/2, which sets the critical σ_w² without bias."""
    lam, alpha = activations.SELU_SCALE, activations.SELU_ALPHA
    assert T.fixed_point("selu", 1.0) == pytest.approx(1.0, rel=1e-9)
    assert T.fixed_point("selu", 1.0, 0.0, q_init=5.0) == pytest.approx(1.0, rel=1e-9)
    assert T.chi1("selu", 1.0) > 1
    assert T.critical_sigma_w2("selu") == pytest.approx(2 / (lam**2 * (1 + alpha**2)), rel=1e-6)


def test_sigmoid_needs_a_large_sigma_w2_to_reach_the_edge_of_chaos():
    """φ′ ≤ 1/4 and E[φ²] ≥ 1/4: χ₁ ≤ σ_w²/16, and q* ≥ σ_w²/4 pushes φ′ further down."""
    c = T.critical_sigma_w2("sigmoid")
    assert 16 < c < 1000
    assert T.phase("sigmoid", 1.0) == "ordered"


def test_gelu_without_bias_jumps_over_the_edge_of_chaos():
    """GELU ≈ z/2 near 0 and ≈ relu far out: from q = 1 the fixed point jumps from 0
    (χ₁ = σ_w²/4) to inf (χ₁ = σ_w²/2), so no σ_w² has χ₁ = 1."""
    with pytest.raises(ValueError, match=r"jumps over 1 at σ_w² ≈ 2\.35.*from 0 to inf"):
        T.critical_sigma_w2("gelu")


# --- initializers ---------------------------------------------------------------------------

SHAPE = (512, 512)  # 2¹⁸ entries per draw: mean(W²) to ~0.3%


@pytest.mark.parametrize(
    ("init", "expected"),
    [
        ("he", 2.0),
        ("he_normal", 2.0),
        ("he_uniform", 2.0),
        ({"name": "kaiming_normal", "nonlinearity": "relu"}, 2.0),
        ({"name": "kaiming_uniform", "nonlinearity": "relu"}, 2.0),
        ("glorot_normal", 1.0),
        ("glorot_uniform", 1.0),
        ("xavier_normal", 1.0),
        ({"name": "xavier_uniform", "gain": 5 / 3}, 25 / 9),
        ("lecun_normal", 1.0),
        ("lecun_uniform", 1.0),
        ({"name": "random", "scale": 10.0}, 100.0 * SHAPE[1]),
        ({"name": "normal", "mean": 0.1, "std": 0.05}, (0.05**2 + 0.01) * SHAPE[1]),
        ({"name": "uniform", "a": -0.1, "b": 0.3}, (0.4**2 / 12 + 0.01) * SHAPE[1]),
        ("random_uniform", 0.1**2 / 12 * SHAPE[1]),
        ("truncated_normal", (I.TRUNCATED_NORMAL_STD * 0.05) ** 2 * SHAPE[1]),
        ({"name": "trunc_normal", "std": 0.02}, 0.02**2 * SHAPE[1]),  # cut at ±100σ: none
        ({"name": "sparse", "sparsity": 0.25, "std": 0.1}, 0.01 * 0.75 * SHAPE[1]),
    ],
)
def test_sigma_w2_of_matches_formula_and_a_large_draw(init, expected):
    assert T.sigma_w2_of(init, SHAPE) == pytest.approx(expected, rel=1e-12)
    W2 = I.get(init)(np.random.default_rng(3), SHAPE) ** 2
    se = W2.std() / math.sqrt(W2.size) / W2.mean()  # relative standard error of mean(W²)
    assert SHAPE[1] * W2.mean() == pytest.approx(expected, rel=5 * se)


@pytest.mark.parametrize("shape", [(64, 64), (32, 96), (96, 32)])
@pytest.mark.parametrize("name", ["orthogonal", "identity"])
def test_sigma_w2_of_structured_schemes_is_exact(name, shape):
    init = I.get({"name": name, "gain": 1.5})
    fan_out, fan_in = shape
    expected = 2.25 * (1.0 if fan_out <= fan_in else fan_in / fan_out)
    assert T.sigma_w2_of(init, shape) == pytest.approx(expected, rel=1e-12)
    W = init(np.random.default_rng(4), shape)
    assert fan_in * np.mean(W * W) == pytest.approx(expected, rel=1e-12)


def test_sigma_w2_of_measures_anything_else():
    # ZerO is deterministic: the pooled draws are exact.
    for shape in [(16, 16), (24, 10), (10, 24)]:
        W = I.get("zero_init")(np.random.default_rng(0), shape)
        assert T.sigma_w2_of("zero_init", shape) == pytest.approx(shape[1] * np.mean(W * W))

    def halves(rng, shape, dtype=np.float64):
        return np.full(shape, 0.5, dtype) * np.sign(rng.uniform(-1, 1, size=shape))

    assert T.sigma_w2_of(halves, (10, 40)) == pytest.approx(40 * 0.25, rel=1e-12)
    assert T.sigma_w2_of(halves, (10, 40)) == T.sigma_w2_of(halves, (10, 40))  # fixed seed


class ScaledNormal:
    """N(0, scale²) that states its moments, as a plugin's scheme may (:class:`HasMoments`)."""

    def __init__(self, scale=0.3):
        self.scale = scale

    def __call__(self, rng, shape, dtype=np.float64):
        return (self.scale * rng.standard_normal(shape)).astype(dtype)

    def moments(self, shape):
        return 0.0, self.scale**2


@pytest.fixture
def scaled_normal():
    """ScaledNormal registered as a factory, the way a plugin's entry point is wrapped."""
    I.register_initializer("scaled_normal_m", ScaledNormal, factory=True)
    yield I.get({"name": "scaled_normal_m", "scale": 0.3})
    I.INITIALIZERS.unregister("scaled_normal_m")


def test_a_custom_scheme_that_declares_its_moments_gets_exact_theory(scaled_normal):
    # A measured σ_w² of N(0, 0.09) would be off by ~0.3%; the declared moments are exact.
    assert isinstance(ScaledNormal(), I.HasMoments)
    assert T.sigma_w2_of(ScaledNormal(), (10, 40)) == 40 * 0.09
    assert isinstance(scaled_normal, I.HasMoments)  # the registry's wrapper forwards it
    assert I.get_config(scaled_normal) == {"name": "scaled_normal_m", "scale": 0.3}
    assert T.sigma_w2_of({"name": "scaled_normal_m", "scale": 0.3}, (10, 40)) == 40 * 0.09
    p = T.predict(MLP([40, 20, 1]), "scaled_normal_m")
    np.testing.assert_array_equal(p.sigma_w2, [40 * 0.09, 20 * 0.09])
    measured = T._entry_moments(lambda rng, shape: ScaledNormal()(rng, shape), (10, 40))[1]
    assert measured != 0.09
    assert measured == pytest.approx(0.09, rel=0.02)


def test_schemes_without_moments_are_measured():
    def plain(rng, shape, dtype=np.float64):
        return 0.3 * rng.standard_normal(shape)

    I.register_initializer("plain_m", plain)
    try:
        assert not isinstance(I.get("plain_m"), I.HasMoments)
    finally:
        I.INITIALIZERS.unregister("plain_m")
    assert not isinstance(plain, I.HasMoments)
    assert T.sigma_w2_of(plain, (10, 40)) == pytest.approx(40 * 0.09, rel=0.02)


def test_data_dependent_initializers_are_refused():
    with pytest.raises(ValueError, match="data-independent initializer"):
        T.sigma_w2_of("lsuv", (10, 10))
    with pytest.raises(ValueError, match="'lsuv' is data-dependent"):
        T.predict(MLP([2, 10, 1]), "lsuv")


# --- predictions for networks ---------------------------------------------------------------


def test_he_keeps_relu_variance_and_glorot_halves_it_every_layer():
    """He et al. (2015): with σ_w² = 2, E[relu(√q z)²] = q/2 gives q^{l+1} = q^l, while
    Glorot's σ_w² = 1 on square layers gives q^{l+1} = q^l / 2: 2⁻²⁹ after 30 layers."""
    mlp = MLP([100] * 31 + [1], "relu")
    he = T.predict(mlp, "he", q0=1.0)
    np.testing.assert_allclose(he.q[:30], 2.0, rtol=1e-12)
    np.testing.assert_allclose(he.chi1, 1.0, rtol=1e-12)
    glorot = T.predict(mlp, "glorot_normal", q0=1.0)
    np.testing.assert_allclose(glorot.sigma_w2[:30], 1.0, rtol=1e-12)
    assert glorot.q[29] / glorot.q[0] == pytest.approx(2.0**-29, rel=1e-12)
    np.testing.assert_allclose(glorot.chi1[:29], 0.5, rtol=1e-12)
    assert glorot.chi1[29] == pytest.approx(0.5 * 100 * 2 / 101)  # into the 100 → 1 output


def test_prediction_fields_for_the_course_network():
    mlp = MLP([2, 10, 5, 1])
    p = T.predict(mlp, {"name": "random", "scale": 10.0}, q0=0.5)
    np.testing.assert_allclose(p.sigma_w2, [200.0, 1000.0, 500.0])
    np.testing.assert_allclose(p.q, T.propagate("relu", [200.0, 1000.0, 500.0], q0=0.5))
    np.testing.assert_allclose(p.act_mean[:2], np.sqrt(p.q[:2] / (2 * np.pi)))
    np.testing.assert_allclose(p.act_var[:2], p.q[:2] / 2 - p.q[:2] / (2 * np.pi))
    assert p.act_mean[-1] == 0.0
    assert p.act_var[-1] == p.q[-1]
    np.testing.assert_allclose(p.chi1, [1000.0 / 2, 500.0 / 2])
    assert p.layer_activations == ("relu", "relu", "sigmoid")
    with pytest.raises(ValueError, match="read-only"):
        p.q[0] = 1.0

    zeros = T.predict(mlp, "zeros", bias_init={"name": "normal", "std": 0.1})
    np.testing.assert_allclose(zeros.q, 0.01)  # W = 0: only the bias is left


def test_predict_accepts_one_initializer_per_layer_and_data():
    mlp = MLP([4, 8, 8, 2], ("tanh", "relu"))
    p = T.predict(mlp, ["lecun_normal", "he", "glorot_normal"], q0=2.0)
    np.testing.assert_allclose(p.sigma_w2, [1.0, 2.0, 2 * 8 / 10])
    expected = T.propagate(["tanh", "relu"], [1.0, 2.0, 1.6], q0=2.0)
    np.testing.assert_allclose(p.q, expected, rtol=1e-15)
    X = np.random.default_rng(5).standard_normal((50, 4))
    from_data = T.predict_from_data(mlp, "he", X)
    assert from_data.q0 == pytest.approx(np.mean(np.sum(X * X, axis=1)) / 4)
    with pytest.raises(ValueError, match="2 initializers for 3 layers"):
        T.predict(mlp, ["he", "he"])
    with pytest.raises(ValueError, match=r"shape \(n_samples, 4\)"):
        T.predict_from_data(mlp, "he", X[:, :3])


def test_to_dict_is_json_even_when_the_signal_explodes():
    mlp = MLP([2] + [50] * 200 + [1], "relu")
    p = T.predict(mlp, {"name": "random", "scale": 10.0})
    assert math.isinf(p.q[-1])
    d = json.loads(json.dumps(p.to_dict(), allow_nan=False))
    assert d["q"][-1] is None  # non-finite numbers are null in all of initlab's JSON
    assert d["q"][0] == p.q[0]
    assert d["sigma_w2"][:2] == [200.0, 5000.0]
    assert len(d["chi1"]) == 200
    assert set(d) == {
        "layer_sizes", "layer_activations", "q0", "sigma_w2", "sigma_b2", "q",
        "act_mean", "act_var", "chi1", "notes",
    }  # fmt: skip
    assert d["notes"] == list(p.notes)
    assert p.notes[0].startswith(f"q{np.argmax(np.isinf(p.q)) + 1} exceeds the float64 range")


@pytest.mark.parametrize("init", ["uniform", "ones", "identity"])
def test_predict_warns_when_weights_are_not_zero_mean(init):
    with pytest.warns(T.TheoryWarning, match="zero-mean independent weights"):
        T.predict(MLP([20, 20, 1]), init)


# --- numerics ---------------------------------------------------------------------------------


def test_overflow_and_underflow_are_reported_as_inf_and_zero_without_warnings():
    q = T.propagate(["relu", "relu", "tanh"], [1e200, 1e200, 1e200, 1.0], q0=1.0)
    assert q.tolist() == [1e200, math.inf, math.inf, 1.0]  # tanh saturates: E[φ²] = 1
    assert T.propagate("relu", 1e-200, depth=4).tolist() == [1e-200, 0.0, 0.0, 0.0]
    assert T.variance_map("gelu", math.inf, 1.0) == math.inf
    assert T.variance_map("sigmoid", math.inf, 2.0, 0.5) == pytest.approx(1.5)
    assert T.moments("selu", math.inf).deriv_sq == pytest.approx(activations.SELU_SCALE**2 / 2)
    assert T.variance_map("tanh", math.inf, 0.0, 0.3) == 0.3  # σ_w² = 0: no 0·inf


def test_gaussian_expectation_edges():
    q = np.array([[0.0, 1.0], [4.0, math.inf]])
    out = T.gaussian_expectation(lambda u: u * u, q[:, :1])
    assert out.shape == (2, 1)
    np.testing.assert_allclose(out, [[0.0], [4.0]], rtol=1e-13, atol=0)
    assert T.gaussian_expectation(np.tanh, 0.0) == 0.0
    assert T.gaussian_expectation(np.cos, 0.0) == 1.0
    assert T.gaussian_expectation(np.cos, 2.0) == pytest.approx(math.exp(-1.0), rel=1e-13)
    assert T.gaussian_expectation(lambda u: np.tanh(u) ** 2, math.inf) == 1.0
    # At a jump, q → 0⁺ averages the one-sided limits: ReLU′ gives 1/2, not φ′(0) = 0.
    assert T.gaussian_expectation(lambda u: (u > 0) * 1.0, 0.0) == 0.5
    assert T.moments("relu", 0.0).deriv_sq == 0.5
    assert T.moments("selu", 0.0).deriv_sq == pytest.approx(
        activations.SELU_SCALE**2 * (1 + activations.SELU_ALPHA**2) / 2
    )


@pytest.mark.parametrize("name", SMOOTH)
def test_large_q_is_accurate(name):
    """Saturating features shrink to |z| ~ 1/√q; the graded panels still resolve them. At
    q = 10⁸, E[φ′²] ≈ φ′² integrated over u, divided by √(2πq)."""
    act = activations.get(name)
    q = 1e8

    def d2(u):
        return np.asarray(act.derivative(u, act.forward(u)), dtype=float) ** 2

    far = 0.5 * (d2(np.array(1e3)) + d2(np.array(-1e3)))  # φ′² at ±∞
    u = np.linspace(-60, 60, 1_200_001)
    area = np.trapezoid(d2(u) - far, u)
    expected = far + area / math.sqrt(2 * math.pi * q)
    assert T.moments(name, q).deriv_sq == pytest.approx(expected, rel=1e-4)


# --- errors -----------------------------------------------------------------------------------


def test_unknown_activation_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown activation 'swish'.*gelu.*relu.*tanh"):
        T.variance_map("swish", 1.0, 1.0)
    with pytest.raises(ValueError, match=r"Unknown activation 'swish'"):
        T.propagate(["tanh", "swish"], 1.0, depth=3)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: T.variance_map("tanh", 1.0, -1.0), "sigma_w2=-1.0"),
        (lambda: T.variance_map("tanh", 1.0, 1.0, -0.5), "sigma_b2=-0.5"),
        (lambda: T.variance_map("tanh", -2.0, 1.0), "q=-2.0"),
        (lambda: T.moments("tanh", [1.0, float("nan")]), r"q\[1\]=nan"),
        (lambda: T.propagate("relu", 2.0, depth=3, q0=-0.5), "q0=-0.5"),
        (lambda: T.propagate("relu", [2.0, -1.0, 2.0]), r"sigma_w2\[1\]=-1.0"),
        (lambda: T.propagate("relu", [2.0, 2.0], depth=3), "2 entries for depth=3"),
        (lambda: T.propagate("relu", 2.0), "`depth` is needed"),
        (lambda: T.propagate(["relu"] * 5, 2.0, depth=3), "5 entries for depth=3"),
        (lambda: T.fixed_point("tanh", math.inf), "sigma_w2=inf"),
        (lambda: T.critical_sigma_w2("tanh", -1.0), "sigma_b2=-1.0"),
        (lambda: T.gaussian_expectation(np.tanh, 1.0, method="simpson"), "method='simpson'"),
        (lambda: T.gaussian_expectation(np.tanh, 1.0, n=0), "n=0"),
        (lambda: T.gaussian_expectation(np.tanh, 1.0, n=500, method="hermite"), "n=500"),
        (lambda: T.sigma_w2_of("he", (0, 3)), r"Received: \(0, 3\)"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
