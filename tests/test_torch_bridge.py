"""initlab.torch: initlab's initializers, LSUV and per-layer records on PyTorch models.

Distribution tests compare initlab's draw into a torch layer with torch.nn.init's own, on
layers of n ≈ 150,000–240,000 weights, at fixed seeds. Tolerances come from the sample size:
the standard error of a sample mean is σ/√n, that of a sample variance is σ²·√((κ − 1)/n)
(κ the kurtosis: 3 for a normal, 1.8 for a uniform, less than 3 for a truncated normal), so
≤ σ²·√(2/n) for every distribution here. Two independent samples differ by √2 times that.
Every check allows 5 standard errors; the Kolmogorov–Smirnov two-sample test must not
reject at the 0.1 % level.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scipy import stats  # noqa: E402
from torch import nn  # noqa: E402

from initlab import initializers  # noqa: E402
from initlab.datasets import circles, spiral  # noqa: E402
from initlab.diagnostics import Recorder, diagnose, verdict  # noqa: E402
from initlab.initializers import init_params  # noqa: E402
from initlab.initializers.lsuv import LSUVWarning  # noqa: E402
from initlab.network import MLP, Layer, forward, gradients  # noqa: E402
from initlab.rng import streams  # noqa: E402
from initlab.torch import (  # noqa: E402
    SkippedLayerWarning,
    execution_order,
    init_,
    initialize,
    lsuv_,
    record,
    weight_layers,
)

Z_TOL = 5.0  # standard errors allowed
KS_ALPHA = 1e-3


def linear_layer() -> Any:
    return nn.Linear(600, 400, bias=False)  # weight (400, 600): fan_in 600, fan_out 400


def conv_layer() -> Any:
    return nn.Conv2d(64, 96, (5, 5), bias=False)  # (96, 64, 5, 5): fan_in 1600, fan_out 2400


LAYERS = {"linear": (linear_layer, 600, 400), "conv2d": (conv_layer, 1600, 2400)}


def torch_draw(make: Any, fn: str, kwargs: dict[str, Any], seed: int = 0) -> np.ndarray:
    layer = make()
    getattr(nn.init, fn)(layer.weight, **kwargs, generator=torch.Generator().manual_seed(seed))
    return layer.weight.detach().numpy().astype(np.float64).ravel()


def initlab_draw(make: Any, config: dict[str, Any], seed: int = 0) -> np.ndarray:
    layer = init_(make(), config, generator=seed)
    return layer.weight.detach().numpy().astype(np.float64).ravel()


def truncnorm_moments(mean: float, std: float, a: float, b: float) -> tuple[float, float]:
    d = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    return float(d.mean()), float(d.var())


def gain(nonlinearity: str, a: float = 0.0) -> float:
    return initializers.calculate_gain(nonlinearity, a)


# (torch function, its arguments, initlab config, expected (mean, var) from the fans,
#  bounds (lo, hi) from the fans or None)
CONTINUOUS: list[tuple[str, dict[str, Any], dict[str, Any], Any, Any]] = [
    (
        "uniform_", {"a": -0.3, "b": 0.7}, {"name": "uniform", "a": -0.3, "b": 0.7},
        lambda fi, fo: (0.2, 1.0 / 12), lambda fi, fo: (-0.3, 0.7),
    ),
    (
        "normal_", {"mean": 0.2, "std": 0.5}, {"name": "normal", "mean": 0.2, "std": 0.5},
        lambda fi, fo: (0.2, 0.25), None,
    ),
    (
        "xavier_uniform_", {"gain": 1.5}, {"name": "xavier_uniform", "gain": 1.5},
        lambda fi, fo: (0.0, 1.5**2 * 2 / (fi + fo)),
        lambda fi, fo: (-1.5 * math.sqrt(6 / (fi + fo)), 1.5 * math.sqrt(6 / (fi + fo))),
    ),
    (
        "xavier_normal_", {"gain": 0.8}, {"name": "xavier_normal", "gain": 0.8},
        lambda fi, fo: (0.0, 0.8**2 * 2 / (fi + fo)), None,
    ),
    (
        "kaiming_uniform_", {"a": 0.2, "mode": "fan_in", "nonlinearity": "leaky_relu"},
        {"name": "kaiming_uniform", "a": 0.2, "mode": "fan_in", "nonlinearity": "leaky_relu"},
        lambda fi, fo: (0.0, gain("leaky_relu", 0.2) ** 2 / fi),
        lambda fi, fo: (-gain("leaky_relu", 0.2) * math.sqrt(3 / fi),
                        gain("leaky_relu", 0.2) * math.sqrt(3 / fi)),
    ),
    (
        "kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"},
        {"name": "kaiming_uniform", "mode": "fan_out", "nonlinearity": "relu"},
        lambda fi, fo: (0.0, 2 / fo),
        lambda fi, fo: (-math.sqrt(6 / fo), math.sqrt(6 / fo)),
    ),
    (
        "kaiming_normal_", {"mode": "fan_in", "nonlinearity": "relu"},
        {"name": "kaiming_normal", "mode": "fan_in", "nonlinearity": "relu"},
        lambda fi, fo: (0.0, 2 / fi), None,
    ),
    (
        "kaiming_normal_", {"a": 0.1, "mode": "fan_out", "nonlinearity": "leaky_relu"},
        {"name": "kaiming_normal", "a": 0.1, "mode": "fan_out", "nonlinearity": "leaky_relu"},
        lambda fi, fo: (0.0, gain("leaky_relu", 0.1) ** 2 / fo), None,
    ),
    (
        "kaiming_normal_", {"nonlinearity": "tanh"},
        {"name": "kaiming_normal", "nonlinearity": "tanh"},
        lambda fi, fo: (0.0, (5 / 3) ** 2 / fi), None,
    ),
    (
        "trunc_normal_", {"mean": 0.5, "std": 1.0, "a": -1.0, "b": 1.5},
        {"name": "trunc_normal", "mean": 0.5, "std": 1.0, "a": -1.0, "b": 1.5},
        lambda fi, fo: truncnorm_moments(0.5, 1.0, -1.0, 1.5), lambda fi, fo: (-1.0, 1.5),
    ),
    (
        "trunc_normal_", {"std": 0.02, "a": -0.04, "b": 0.04},
        {"name": "trunc_normal", "std": 0.02, "a": -0.04, "b": 0.04},
        lambda fi, fo: truncnorm_moments(0.0, 0.02, -0.04, 0.04), lambda fi, fo: (-0.04, 0.04),
    ),
]  # fmt: skip


def assert_same_distribution(
    ours: np.ndarray, theirs: np.ndarray, mean: float, var: float, ks: bool = True
) -> None:
    n = ours.size
    sd = math.sqrt(var)
    # Against the formula: one sample.
    assert abs(ours.mean() - mean) <= Z_TOL * sd / math.sqrt(n)
    assert abs(ours.var() / var - 1) <= Z_TOL * math.sqrt(2 / n)
    # Against torch's draw: two samples.
    assert abs(ours.mean() - theirs.mean()) <= Z_TOL * sd * math.sqrt(2 / n)
    assert abs(ours.var() / theirs.var() - 1) <= Z_TOL * math.sqrt(4 / n)
    if ks:
        assert stats.ks_2samp(ours, theirs).pvalue > KS_ALPHA


@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize(
    ("fn", "kwargs", "config", "moments", "bounds"),
    CONTINUOUS,
    ids=[f"{c[0]}{i}" for i, c in enumerate(CONTINUOUS)],
)
def test_continuous_schemes_match_torch(
    layer: str, fn: str, kwargs: dict[str, Any], config: dict[str, Any], moments: Any, bounds: Any
) -> None:
    make, fan_in, fan_out = LAYERS[layer]
    theirs = torch_draw(make, fn, kwargs)
    ours = initlab_draw(make, config)
    mean, var = moments(fan_in, fan_out)
    assert_same_distribution(ours, theirs, mean, var)
    if bounds is not None:
        lo, hi = bounds(fan_in, fan_out)
        tol = 1e-6 * max(abs(lo), abs(hi))  # float32 rounding of the bound itself
        for sample in (ours, theirs):
            assert sample.min() >= lo - tol
            assert sample.max() <= hi + tol
        if fn != "trunc_normal_":  # uniform: the extremes come within 20/n of the bounds
            width = hi - lo
            assert ours.min() < lo + 20 * width / ours.size
            assert ours.max() > hi - 20 * width / ours.size


@pytest.mark.parametrize(
    ("fn", "kwargs", "config", "layer"),
    [
        ("constant_", {"val": 0.3}, {"name": "constant", "value": 0.3}, lambda: nn.Linear(7, 5)),
        ("ones_", {}, "ones", lambda: nn.Conv2d(3, 4, 3)),
        ("zeros_", {}, "zeros", lambda: nn.Linear(7, 5)),
        ("eye_", {}, "eye", lambda: nn.Linear(7, 5)),
        ("eye_", {}, {"name": "identity"}, lambda: nn.Linear(5, 7)),
        ("dirac_", {}, "dirac", lambda: nn.Conv1d(4, 6, 3)),
        ("dirac_", {}, "dirac", lambda: nn.Conv2d(6, 4, (3, 5))),
        (
            "dirac_",
            {"groups": 2},
            {"name": "dirac", "groups": 2},
            lambda: nn.Conv2d(4, 6, 3, groups=2),
        ),
        ("dirac_", {}, "dirac", lambda: nn.Conv3d(3, 3, 3)),
    ],
)
def test_deterministic_schemes_match_torch_exactly(
    fn: str, kwargs: dict[str, Any], config: Any, layer: Any
) -> None:
    theirs = layer()
    with torch.no_grad():
        getattr(nn.init, fn)(theirs.weight, **kwargs)
    ours = init_(layer(), config, generator=0)
    assert torch.equal(ours.weight, theirs.weight)


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Linear(600, 400, bias=False),  # rows < cols: orthonormal rows
        lambda: nn.Linear(300, 500, bias=False),  # rows > cols: orthonormal columns
        lambda: nn.Conv2d(32, 16, 3, bias=False),  # (16, 288) flattened
    ],
)
def test_orthogonal_matches_torch(make: Any) -> None:
    g = 2.0
    theirs = make()
    nn.init.orthogonal_(theirs.weight, gain=g, generator=torch.Generator().manual_seed(0))
    ours = init_(make(), {"name": "orthogonal", "gain": g}, generator=0)
    for layer in (ours, theirs):
        W = layer.weight.detach().double().reshape(layer.weight.shape[0], -1)
        gram = W @ W.T if W.shape[0] <= W.shape[1] else W.T @ W
        assert torch.allclose(gram, g**2 * torch.eye(gram.shape[0], dtype=gram.dtype), atol=1e-4)
    a = ours.weight.detach().double().numpy().ravel()
    b = theirs.weight.detach().double().numpy().ravel()
    rows, cols = ours.weight.shape[0], a.size // ours.weight.shape[0]
    # Entries of a Haar orthogonal matrix: mean 0, variance gain²/max(rows, cols).
    assert_same_distribution(a, b, 0.0, g**2 / max(rows, cols))


def test_sparse_matches_torch() -> None:
    sparsity, std = 0.3, 0.05
    theirs = nn.Linear(600, 400, bias=False)
    nn.init.sparse_(theirs.weight, sparsity, std, generator=torch.Generator().manual_seed(0))
    ours = init_(
        nn.Linear(600, 400, bias=False),
        {"name": "sparse", "sparsity": sparsity, "std": std},
        generator=0,
    )
    zeros_per_column = math.ceil(sparsity * 400)
    for layer in (ours, theirs):
        counts = (layer.weight == 0).sum(dim=0)
        assert counts.tolist() == [zeros_per_column] * 600
    a = ours.weight.detach().double().numpy().ravel()
    b = theirs.weight.detach().double().numpy().ravel()
    assert_same_distribution(a[a != 0], b[b != 0], 0.0, std**2)
    # Which rows are zero differs from column to column.
    assert len({tuple(np.flatnonzero(col == 0)) for col in ours.weight.detach().numpy().T}) > 500


@pytest.mark.parametrize(
    ("make", "fan_in"),
    [
        (lambda: nn.Linear(70, 3000), 70),
        (lambda: nn.Conv1d(4, 600, 5), 4 * 5),
        (lambda: nn.Conv2d(8, 640, (3, 5)), 8 * 15),
        (lambda: nn.Conv2d(8, 640, 3, groups=4), 2 * 9),
        (lambda: nn.Conv3d(8, 320, 3, groups=2), 4 * 27),
    ],
    ids=["linear", "conv1d", "conv2d", "conv2d-groups", "conv3d-groups"],
)
def test_fans_are_torchs_for_every_layer_type(make: Any, fan_in: int) -> None:
    layer = make()
    fans = initializers.compute_fans(tuple(layer.weight.shape))
    assert fans == nn.init._calculate_fan_in_and_fan_out(layer.weight)
    assert fans[0] == fan_in
    # kaiming_uniform: every weight within ±√(6/fan_in), and the bound is (nearly) reached.
    w = init_(
        layer, {"name": "kaiming_uniform", "nonlinearity": "relu"}, generator=0
    ).weight.detach()
    bound = math.sqrt(6 / fan_in)
    assert float(w.abs().max()) <= bound * (1 + 1e-6)
    assert float(w.abs().max()) > bound * (1 - 20 / w.numel())


def test_init_draws_the_core_networks_weights() -> None:
    """Same seed, same scheme: the torch MLP gets initlab's own draws, layer by layer."""
    model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 1))
    init_(model.double(), "he", {"name": "normal", "std": 0.1}, generator=3)
    params = init_params(MLP([2, 10, 5, 1]), streams(3).init, "he", {"name": "normal", "std": 0.1})
    for layer, p in zip((model[0], model[2], model[4]), params):
        assert np.array_equal(layer.weight.detach().numpy(), p.W)
        assert np.array_equal(layer.bias.detach().numpy(), p.b.reshape(-1))


def test_init_keeps_dtype_device_and_leaf_parameters() -> None:
    for dtype in (torch.float32, torch.float64, torch.bfloat16):
        layer = nn.Linear(20, 10).to(dtype)
        init_(layer, "glorot_uniform", generator=np.random.default_rng(0))
        assert layer.weight.dtype == dtype
        assert layer.bias.dtype == dtype
        assert layer.weight.is_leaf
        assert layer.weight.requires_grad
        assert layer.weight.grad_fn is None
    a = init_(nn.Linear(20, 10), "he_normal", generator=5).weight
    b = init_(nn.Linear(20, 10), "he_normal", generator=5).weight
    c = init_(nn.Linear(20, 10), "he_normal", generator=6).weight
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_init_skips_transposed_convolutions_with_a_warning() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ConvTranspose2d(8, 3, 3))
    before = model[1].weight.detach().clone()
    with pytest.warns(SkippedLayerWarning, match=r"'1.weight', '1.bias' \(transposed convolution"):
        summary = initialize(model, "zeros")
    assert set(summary.skipped) == {"1.weight", "1.bias"}
    assert set(summary.done) == {"0.weight", "0.bias"}
    assert torch.equal(model[1].weight, before)
    assert not model[0].weight.any()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: init_(nn.Linear(2, 2), "hee"),
            ValueError,
            r"Unknown initializer 'hee'\. Known initializers: .*he_normal",
        ),
        (lambda: init_(nn.ReLU()), ValueError, "ReLU holds no parameters to initialize"),
        (lambda: record(nn.ReLU(), torch.zeros(2, 2)), ValueError, "holds no Linear, Conv1d"),
        (lambda: init_(nn.Linear(2, 2), embedding_init="lsuv"), ValueError, "embedding_init"),
        (lambda: init_(nn.Linear(2, 2), generator=-1), ValueError, "seed=-1"),
        (lambda: init_(nn.Linear(2, 2), generator=torch.Generator()), TypeError, "generator="),
        (lambda: init_(nn.Linear(2, 2), "he", "lsuv"), ValueError, "bias_init"),
        (lambda: init_(nn.Linear(2, 2), "lsuv"), ValueError, "pass a batch of inputs X"),
        (lambda: init_(nn.LazyLinear(2)), ValueError, "not been materialised"),
        (lambda: lsuv_(nn.Linear(2, 2), torch.zeros(1, 2)), ValueError, "at least 2 samples"),
        (lambda: lsuv_(nn.Linear(2, 2), torch.zeros(4, 2), tol=0), ValueError, "tol=0"),
    ],
)
def test_errors_name_the_problem(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


# --- LSUV --------------------------------------------------------------------------------


def deep_mlp(activation: type[nn.Module], depth: int = 10, width: int = 64) -> Any:
    mods: list[nn.Module] = [nn.Linear(32, width), activation()]
    for _ in range(depth - 2):
        mods += [nn.Linear(width, width), activation()]
    mods.append(nn.Linear(width, 1))
    return nn.Sequential(*mods)


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Tanh])
def test_lsuv_gives_unit_variance_in_every_layer_of_a_deep_mlp(activation: Any) -> None:
    X = torch.randn(512, 32, generator=torch.Generator().manual_seed(0))
    model = lsuv_(deep_mlp(activation), X, tol=0.1, generator=0)
    stds = [r.z_std for r in record(model, X).rows]
    assert len(stds) == 10
    assert all(abs(s - 1) < 0.1 for s in stds), stds
    # Without LSUV, the same network's variance drifts with depth.
    plain = init_(deep_mlp(activation), "orthogonal", generator=0)
    assert not all(abs(r.z_std - 1) < 0.1 for r in record(plain, X).rows)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_lsuv_is_the_core_algorithm(activation: str) -> None:
    """A double-precision torch MLP gets the weights initlab's own LSUV gives the same MLP."""
    X = np.random.default_rng(1).standard_normal((256, 32))
    torch_act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    model = lsuv_(deep_mlp(torch_act, depth=6, width=16).double(), X, generator=7)
    mlp = MLP([32, *[16] * 5, 1], activation)
    params = init_params(mlp, streams(7).init, "lsuv", X=X)
    torch_layers = [layer for _, layer in weight_layers(model)]
    for layer, p in zip(torch_layers, params, strict=True):
        np.testing.assert_allclose(layer.weight.detach().numpy(), p.W, rtol=1e-9, atol=1e-12)
        assert not layer.bias.any()


def test_init_dispatches_lsuv() -> None:
    X = torch.randn(128, 32, generator=torch.Generator().manual_seed(0))
    a = lsuv_(deep_mlp(nn.Tanh, depth=4), X, tol=0.05, generator=1)
    b = init_(deep_mlp(nn.Tanh, depth=4), {"name": "lsuv", "tol": 0.05}, X=X, generator=1)
    for (_, la), (_, lb) in zip(weight_layers(a), weight_layers(b)):
        assert torch.equal(la.weight, lb.weight)


def test_lsuv_on_a_conv_net_in_execution_order() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Linear(8 * 6 * 6, 3)  # registered first, called last
            self.conv1 = nn.Conv2d(3, 8, 3)
            self.conv2 = nn.Conv2d(8, 8, 3)

        def forward(self, x: Any) -> Any:
            x = torch.relu(self.conv1(x))
            x = torch.relu(self.conv2(x))
            return self.head(x.flatten(1))

    net = Net()
    X = torch.randn(64, 3, 10, 10, generator=torch.Generator().manual_seed(0))
    assert [name for name, _ in execution_order(net, X)] == ["conv1", "conv2", "head"]
    lsuv_(net, X, generator=0)
    records = record(net, X)
    assert [r.width for r in records.rows] == [8, 8, 3]
    assert all(abs(r.z_std - 1) < 0.1 for r in records.rows)


def test_lsuv_warns_about_dead_layers() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    X = torch.full((16, 4), -1.0)
    with pytest.warns(LSUVWarning, match="std 0"):
        # All-zero base weights: every layer's output is constant.
        lsuv_(model, X, base={"name": "constant", "value": 0.0})


# --- record ------------------------------------------------------------------------------

COMPARED = (
    "layer", "kind", "activation", "width", "z_mean", "z_std", "a_mean", "a_std",
    "dead_fraction", "saturated_fraction", "infinite_loss_fraction", "grad_W_norm",
    "grad_b_norm", "distinct_units",
)  # fmt: skip


def core_records(model: Any, mlp: MLP, X: np.ndarray, y: np.ndarray) -> Any:
    """initlab's own Recorder on the torch model's weights."""
    params = [
        Layer(layer.weight.detach().double().numpy().copy(),
              layer.bias.detach().double().numpy().reshape(-1, 1).copy())
        for _, layer in weight_layers(model)
    ]  # fmt: skip
    cache = forward(mlp, params, X)
    recorder = Recorder()
    recorder.record(0, mlp, params, cache, mlp.head.encode(y), gradients(mlp, params, X, y))
    return recorder.records


def assert_same_records(ours: Any, core: Any, rel: float) -> None:
    assert len(ours.rows) == len(core.rows)
    for a, b in zip(ours.rows, core.rows):
        for name in COMPARED:
            x, y = getattr(a, name), getattr(b, name)
            if isinstance(y, float):
                assert x == pytest.approx(y, rel=rel, abs=rel, nan_ok=True), (a.layer, name)
            else:
                assert x == y, (a.layer, name)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("init", ["he", "zeros", {"name": "random", "scale": 10.0}])
def test_record_matches_the_core_recorder_binary(dtype: Any, init: Any) -> None:
    data = circles()
    model = nn.Sequential(
        nn.Linear(2, 10), nn.ReLU(inplace=True), nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 1)
    ).to(dtype)
    init_(model, init, generator=0)
    ours = record(model, data.X_train, y=data.y_train)
    core = core_records(model, MLP([2, 10, 5, 1]), data.X_train, data.y_train)
    assert_same_records(ours, core, rel=1e-6 if dtype == torch.float64 else 1e-4)
    if dtype == torch.float64:  # the histograms too, bin for bin
        for a, b in zip(ours.rows, core.rows):
            assert a.z_hist.counts == b.z_hist.counts
            assert a.a_hist.counts == b.a_hist.counts
    assert verdict(diagnose(ours)) == verdict(diagnose(core))


def test_record_matches_the_core_recorder_softmax_tanh() -> None:
    data = spiral()
    model = nn.Sequential(
        nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)
    )
    init_(model.double(), "xavier_normal", generator=1)
    ours = record(model, data.X_train, y=data.y_train)
    core = core_records(model, MLP([2, 16, 16, 3], "tanh"), data.X_train, data.y_train)
    assert_same_records(ours, core, rel=1e-6)
    assert [r.activation for r in ours.rows] == ["tanh", "tanh", "softmax"]


def test_record_maps_modules_to_layers() -> None:
    X = torch.randn(100, 4, generator=torch.Generator().manual_seed(0))
    model = nn.Sequential(
        nn.Linear(4, 8), nn.Dropout(0.0), nn.GELU(), nn.Linear(8, 8), nn.Linear(8, 1), nn.Sigmoid()
    )
    init_(model, "he", generator=0)
    rows = record(model, X).rows
    assert [(r.layer, r.kind, r.activation) for r in rows] == [
        (1, "hidden", "gelu"), (2, "hidden", "linear"), (3, "output", "sigmoid"),
    ]  # fmt: skip
    with torch.no_grad():
        z3 = model[:5](X)
    assert rows[2].a_mean == pytest.approx(float(torch.sigmoid(z3).mean()), rel=1e-6)
    assert rows[1].a_std == rows[1].z_std  # no activation module: A = Z
    assert all(math.isnan(r.grad_W_norm) for r in rows)  # no labels, no gradients
    logits = record(nn.Sequential(nn.Linear(4, 2)), X, head="linear").rows[0]
    assert logits.activation == "linear"
    assert logits.a_std == logits.z_std


def test_record_on_a_conv_net_diagnoses_and_plots() -> None:
    from initlab.plots import plot_activation_histograms

    model = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.Conv2d(4, 6, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(6 * 4 * 4, 1),
    )
    X = torch.randn(32, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    y = torch.arange(32) % 2
    init_(model, {"name": "random", "scale": 10.0}, generator=0)
    records = record(model, X, y)
    assert [r.width for r in records.rows] == [4, 6, 1]
    assert [r.activation for r in records.rows] == ["relu", "relu", "sigmoid"]
    assert all(r.grad_W_norm > 0 for r in records.rows)
    kinds = [f.kind for f in diagnose(records)]
    assert "saturated_output" in kinds
    assert "exploding_activations" in kinds
    fig = plot_activation_histograms(records)
    assert len(fig.axes) == 3


def test_record_leaves_gradients_alone_and_appends() -> None:
    data = circles()
    model = init_(nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)), "he", generator=0)
    records = record(model, data.X_train, data.y_train)
    assert all(p.grad is None for p in model.parameters())
    record(model, data.X_train, data.y_train, iteration=10, into=records)
    assert records.iterations == [0, 10]
    loss = nn.BCEWithLogitsLoss()
    custom = record(
        model, data.X_train, torch.as_tensor(data.y_train, dtype=torch.float32).reshape(-1, 1), loss
    )
    assert [r.grad_W_norm for r in custom.rows] == pytest.approx(
        [r.grad_W_norm for r in records.at(0)], rel=1e-5
    )
