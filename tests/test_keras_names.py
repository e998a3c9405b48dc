"""Keras' names with Keras' meaning: ``VarianceScaling``'s distributions and the class names.

What Keras 3 documents and does (``keras/src/initializers/random_initializers.py``): its
``VarianceScaling(scale, mode, distribution)`` lower-cases ``distribution``, reads ``"normal"``
as ``"truncated_normal"`` and allows ``"truncated_normal"``, ``"untruncated_normal"`` and
``"uniform"``; with σ² = scale / max(1, n) it draws

- ``truncated_normal``: N(0, 1) cut at ±2, times σ / 0.87962566103423978 (variance σ²);
- ``untruncated_normal``: N(0, σ²);
- ``uniform``: U(−ℓ, ℓ), ℓ = √(3σ²).

Statistical tolerances (draws seeded, so each check always passes or always fails): N = 2¹⁸
draws of one (512, 512) weight. The sample variance's relative standard error is
√((κ − 1)/N) ≤ √(2/N) ≈ 0.28% (κ ≤ 3 for all three laws), checked to 5 s.e. ≈ 1.4%; the mean
to 5·σ/√N. The Kolmogorov–Smirnov test against the documented law must give p > 10⁻³; against
the other normal it gives p < 10⁻³⁰⁰ at this N (their CDFs differ by ~0.02, i.e. ~10 s.e.), so
the test tells truncated from plain.
"""

import math

import numpy as np
import pytest
from scipy import stats

from initlab import initializers as I

SHAPE = (512, 512)  # fan_in = fan_out = 512: N = 2¹⁸ draws
N = math.prod(SHAPE)
P_MIN = 1e-3


def keras_law(distribution, scale, n):
    """The law Keras 3 draws from, written out from its source (see the module docstring)."""
    sigma = math.sqrt(scale / max(1.0, n))
    if distribution == "truncated_normal":
        return stats.truncnorm(-2, 2, scale=sigma / 0.87962566103423978)
    if distribution == "untruncated_normal":
        return stats.norm(scale=sigma)
    limit = math.sqrt(3.0) * sigma
    return stats.uniform(-limit, 2 * limit)


def draw(init, seed=0):
    return init(np.random.default_rng(seed), SHAPE).ravel()


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("truncated_normal", "truncated_normal"),
        ("normal", "truncated_normal"),  # Keras' alias
        ("Normal", "truncated_normal"),  # Keras lower-cases
        ("untruncated_normal", "untruncated_normal"),
        ("UNIFORM", "uniform"),
    ],
)
def test_variance_scaling_reads_distribution_names_as_keras_does(given, stored):
    init = I.VarianceScaling(distribution=given)
    assert init.distribution == stored
    assert I.get_config(init)["distribution"] == stored  # configs say what is drawn
    assert I.get(I.get_config(init)) == init


def test_an_unknown_distribution_names_the_allowed_ones():
    with pytest.raises(ValueError, match="untruncated_normal") as err:
        I.VarianceScaling(distribution="gaussian")
    assert "Received: distribution='gaussian'" in str(err.value)
    assert "'normal'" in str(err.value)


@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "untruncated_normal",
                                          "uniform"])  # fmt: skip
@pytest.mark.parametrize(("scale", "mode"), [(2.0, "fan_in"), (1.0, "fan_avg"), (3.0, "fan_out")])
def test_variance_scaling_draws_keras_documented_law(distribution, scale, mode):
    law = keras_law(I.VarianceScaling(distribution=distribution).distribution, scale, 512)
    w = draw(I.VarianceScaling(scale, mode, distribution))
    var = scale / 512
    assert abs(w.mean()) < 5 * math.sqrt(var / N)
    assert w.var() == pytest.approx(var, rel=5 * math.sqrt(2 / N))
    assert law.var() == pytest.approx(var, rel=1e-12)  # the documented variance is exact
    assert stats.kstest(w, law.cdf).pvalue > P_MIN
    lo, hi = law.support()
    assert lo <= w.min()
    assert w.max() <= hi


def test_keras_normal_is_truncated_and_untruncated_normal_is_not():
    sigma = math.sqrt(2.0 / 512)
    cut = 2 * sigma / I.TRUNCATED_NORMAL_STD  # ≈ 2.27σ
    normal = draw(I.VarianceScaling(2.0, "fan_in", "normal"))
    plain = draw(I.VarianceScaling(2.0, "fan_in", "untruncated_normal"))
    assert np.abs(normal).max() <= cut
    # A plain normal puts 2·(1 − Φ(2.27)) ≈ 2.3% of its draws beyond the cut.
    beyond = np.mean(np.abs(plain) > cut)
    assert beyond == pytest.approx(2 * stats.norm.sf(cut / sigma), rel=0.05)
    # Each fails the other's test: the KS test can tell them apart at this N.
    assert stats.kstest(normal, stats.norm(scale=sigma).cdf).pvalue < P_MIN
    assert stats.kstest(plain, keras_law("truncated_normal", 2.0, 512).cdf).pvalue < P_MIN


def test_keras_fans_on_the_transposed_layout():
    # Keras stores a dense kernel as (fan_in, fan_out) = (70, 30); initlab as (30, 70).
    init = I.VarianceScaling(1.0, "fan_avg", "untruncated_normal")
    assert init.moments((30, 70)) == (0.0, 1.0 / 50)
    assert I.VarianceScaling(1.0, "fan_in").variance((30, 70)) == 1.0 / 70
    assert I.VarianceScaling(1.0, "fan_out").variance((30, 70)) == 1.0 / 30


@pytest.mark.parametrize(
    ("keras_name", "initlab_name"),
    [
        ("VarianceScaling", "variance_scaling"),
        ("HeNormal", "he_normal"),
        ("HeUniform", "he_uniform"),
        ("GlorotNormal", "glorot_normal"),
        ("GlorotUniform", "glorot_uniform"),
        ("LecunNormal", "lecun_normal"),
        ("LecunUniform", "lecun_uniform"),
        ("RandomNormal", "random_normal"),
        ("RandomUniform", "random_uniform"),
        ("TruncatedNormal", "truncated_normal"),
        ("Orthogonal", "orthogonal"),
        ("Identity", "identity"),
        ("Constant", "constant"),
        ("Zeros", "zeros"),
        ("zero", "zeros"),
        ("Ones", "ones"),
        ("one", "ones"),
    ],
)
def test_keras_class_names_resolve_to_the_same_scheme(keras_name, initlab_name):
    assert I.INITIALIZERS.canonical(keras_name) == initlab_name
    if initlab_name != "constant":  # Constant needs a value in initlab
        assert I.get(keras_name) == I.get(initlab_name)


@pytest.mark.parametrize(
    ("name", "scale", "mode", "distribution"),
    [
        ("HeNormal", 2.0, "fan_in", "truncated_normal"),
        ("HeUniform", 2.0, "fan_in", "uniform"),
        ("GlorotNormal", 1.0, "fan_avg", "truncated_normal"),
        ("GlorotUniform", 1.0, "fan_avg", "uniform"),
        ("LecunNormal", 1.0, "fan_in", "truncated_normal"),
        ("LecunUniform", 1.0, "fan_in", "uniform"),
    ],
)
def test_keras_specialisations_are_keras_variance_scaling(name, scale, mode, distribution):
    # As Keras 3 defines each class: VarianceScaling(scale, mode, distribution).
    assert I.get(name) == I.VarianceScaling(scale, mode, distribution)


def test_pytorch_and_course_schemes_keep_the_plain_normal():
    sigma = math.sqrt(2.0 / 512)
    plain = stats.norm(scale=sigma).cdf
    for init in (I.he(), I.KaimingNormal(nonlinearity="relu"), I.xavier_normal(gain=math.sqrt(2))):
        assert stats.kstest(draw(init), plain).pvalue > P_MIN, init
    # The course's He is randn(...)·√(2/fan_in), draw for draw.
    expected = np.random.default_rng(0).standard_normal(SHAPE) * sigma
    np.testing.assert_array_equal(draw(I.he()), expected.ravel())
    assert I.he().distribution == "untruncated_normal"


def test_a_spec_stores_what_is_drawn_not_the_alias() -> None:
    # "normal" used to draw a plain normal: a spec saying it now gets the truncated normal's
    # name in its runs' configs, so its keys differ from an older store's "normal" runs (which
    # are then trained again, not mistaken for the new ones).
    from initlab.experiments.spec import parse_spec

    spec = parse_spec(
        {
            "sweep": {"name": "keras"},
            "model": {"depth": 1, "width": 4},
            "init": [{"name": "variance_scaling", "distribution": ["normal", "Uniform"]}],
        }
    )
    drawn = [dict(run.init)["distribution"] for run in spec.runs()]
    assert drawn == ["truncated_normal", "uniform"]
