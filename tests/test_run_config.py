"""Run configs and their builder: one build for compare, sweeps and the playground, and the
round trips through the result store and a TOML spec."""

import tomllib

import numpy as np
import pytest

from initlab import compare, datasets
from initlab.experiments import RunConfig, build, load_spec, parse_spec, to_toml
from initlab.experiments.config import score, sizes_for, spec_dict
from initlab.experiments.runner import run_sweep, train_batch_rows
from initlab.experiments.store import ResultStore
from initlab.losses import output_size
from initlab.settings import TrainSettings
from initlab.train import train

NOTEBOOK_INITS = ((("name", "zeros"),), (("name", "random"),), (("name", "he"),))


def circles_run(init, seed=0, iterations=300, **settings) -> RunConfig:
    return RunConfig("circles", "notebook", (), (2, 10, 5, 1), None, None, "relu", init,
                     iterations, TrainSettings(seed=seed, **settings))  # fmt: skip


def test_output_size_and_sizes_for():
    assert [output_size(k) for k in (2, 3, 7)] == [1, 3, 7]
    assert sizes_for(datasets.spiral(seed=0), (8,)) == (2, 8, 3)


@pytest.mark.parametrize("seed", [0, 5])
def test_builder_draws_what_compare_draws(seed):
    """compare's reference runs start from the builder's weights: training them gives compare's
    parameters bit for bit."""
    comparison = compare(["zeros", "random", "he"], seed=seed, iterations=50, engine="reference")
    for init, run in zip(NOTEBOOK_INITS, comparison.runs, strict=True):
        built = build(circles_run(init, seed=seed, iterations=50))
        assert built.mlp == comparison.mlp
        result = train(built.mlp, built.initial_params, built.data.X_train, built.data.y_train,
                       iterations=50, settings=built.settings)  # fmt: skip
        for mine, theirs in zip(result.params, run.result.params, strict=True):
            np.testing.assert_array_equal(mine.W, theirs.W)
            np.testing.assert_array_equal(mine.b, theirs.b)
        assert score(result, built.data.X_test, built.data.y_test) == run.test_accuracy


def test_a_sweep_equals_compare():
    spec = parse_spec({"sweep": {"seeds": [0], "iterations": 300, "record_every": 100},
                       "model": {"layer_sizes": [2, 10, 5, 1]},
                       "init": [{"name": "zeros"}, {"name": "random"}, {"name": "he"}]})  # fmt: skip
    rows = train_batch_rows(spec.runs())
    comparison = compare(["zeros", "random", "he"], seed=0, iterations=300, record_every=100)
    for row, run in zip(rows, comparison.runs, strict=True):
        # A sweep trains on the lanes engine, compare's three short runs on the per-model
        # kernel: the same data, weights and formulas, summed in a different order, and
        # multiply-adds fused in different places (the lanes' cost comes from the logits of
        # their own forward pass). zeros and He stay bit-identical; the ×10 run's cost at
        # iteration 0 differs by an ulp (measured 2.6e-16 relative: its logits are in the
        # hundreds), and the run, chaotic while its output is saturated, amplifies the
        # last-bit differences to 2.7 % by iteration 300 (measured), as it does between
        # engines in test_engine.py: 5 % there.
        costs, expected = row.curve["costs"], run.result.history.costs
        if run.init == "random":
            assert costs[0] == pytest.approx(expected[0], rel=1e-15, abs=0)
            np.testing.assert_allclose(costs, expected, rtol=0.05)
        else:
            assert costs == expected
        assert row.train_accuracy == run.train_accuracy
        assert row.test_accuracy == run.test_accuracy


def test_score_is_nan_where_there_is_nothing_to_score():
    config = RunConfig("circles", "notebook", (), (2, 10, 10, 1), None, None, "linear",
                       (("name", "random"),), 50, TrainSettings(learning_rate=10.0))  # fmt: skip
    built = build(config)
    result = train(built.mlp, built.initial_params, built.data.X_train, built.data.y_train,
                   iterations=50, settings=built.settings)  # fmt: skip
    assert result.diverged
    assert np.isnan(score(result, built.data.X_train, built.data.y_train))


def test_configs_round_trip_through_the_store(tmp_path):
    spec = parse_spec({"sweep": {"seeds": 2, "iterations": 20},
                       "data": {"dataset": "moons", "seed": 3, "options": {"noise": 0.3}},
                       "model": {"depth": [1, 2], "width": 4, "activation": "tanh"},
                       "init": [{"name": "random", "scale": [0.5, 2.0]}],
                       "train": {"optimizer": "adam", "batch_size": [0, 32], "l2": 0.01}})  # fmt: skip
    store = ResultStore(tmp_path / "runs.db")
    run_sweep(spec, store)
    configs = {config.key: config for config in spec.runs()}
    rows = store.rows()
    assert len(rows) == len(configs) == 16
    for row in rows:
        config = RunConfig.from_row(row)
        assert config == configs[row.key]
        assert config.key == row.key
        assert RunConfig.from_row(row.config) == config


CONFIGS = [
    circles_run((("name", "he"),)),
    RunConfig("moons", 4, (("n_test", 30), ("n_train", 90), ("noise", 0.25)), None, 3, 6, "tanh",
              (("distribution", "uniform"), ("mode", "fan_avg"), ("name", "variance_scaling"),
               ("scale", 2.0)), 123,
              TrainSettings(learning_rate=0.05, optimizer="adam", batch_size=16, l2=0.001,
                            seed=9, record_every=7)),
    RunConfig("spiral", 0, (), (2, 8, 3), None, None, "gelu", (("name", "lsuv"),), 10,
              TrainSettings(optimizer="momentum", record_every=1)),
    RunConfig("circles", "notebook", (), None, 2, 4, "tanh", (("name", "glorot_normal"),), 50,
              TrainSettings(batch_size=32, seed=2), dtype="float32"),
]  # fmt: skip


@pytest.mark.parametrize("config", CONFIGS, ids=["circles", "moons", "spiral", "float32"])
def test_to_toml_is_a_spec_of_the_same_run(config, tmp_path):
    text = config.to_toml(name="one")
    assert parse_spec(tomllib.loads(text)).runs() == [config]
    path = tmp_path / "one.toml"
    path.write_text(text)
    spec = load_spec(path)
    assert spec.name == "one"
    assert spec.runs() == [config]


def test_runs_that_differ_in_their_initializer_share_one_spec():
    runs = [circles_run(init) for init in NOTEBOOK_INITS]
    text = to_toml(runs, name="notebook", comments=["The course's experiment."])
    assert text.startswith("# The course's experiment.\n\n[sweep]\n")
    assert text.count("[[init]]") == 3
    assert parse_spec(tomllib.loads(text)).runs() == runs


def test_what_a_spec_cannot_hold_is_an_error():
    with pytest.raises(ValueError, match="differ only in their initializer"):
        spec_dict([circles_run((("name", "he"),)), circles_run((("name", "he"),), seed=1)])
    with pytest.raises(ValueError, match="names its optimizer"):
        spec_dict([circles_run((("name", "he"),), optimizer={"name": "adam", "beta1": 0.8})])
    with pytest.raises(ValueError, match="a list there is an axis"):
        spec_dict([circles_run((("name", "random"), ("scale", [1.0, 2.0])))])
    with pytest.raises(ValueError, match="needs layer_sizes, or depth and width"):
        RunConfig("circles", 0, (), None, 2, None, "relu", (("name", "he"),), 10, TrainSettings())


def test_an_optimizer_with_its_own_arguments_keeps_them_in_the_store():
    config = circles_run((("name", "he"),), optimizer={"name": "momentum", "beta": 0.5})
    assert config.to_dict()["optimizer"] == {"name": "momentum", "beta": 0.5, "nesterov": False}
    assert RunConfig.from_row(config.to_dict()) == config
    assert circles_run((("name", "he"),), optimizer="momentum").to_dict()["optimizer"] == "momentum"


def test_float64_runs_keep_their_keys_and_float32_has_its_own():
    """dtype joins a run's config (and key) only when it is not float64, so the stores written
    before it existed keep their keys; the key below is the one those stores hold."""
    config = circles_run((("name", "he"),))
    assert config.dtype == "float64"
    assert "dtype" not in config.to_dict()
    assert config.key == "7f3e07c46fc05ca37e6c8271f4a709b5937fb90f40969c77b1226572527c4e46"
    single = config.replace(dtype="float32")
    assert single.to_dict() == {**config.to_dict(), "dtype": "float32"}
    assert single.key != config.key
    assert single.group != config.group
    assert RunConfig.from_row(single.to_dict()) == single
    assert RunConfig.from_row(config.to_dict()) == config
    assert 'dtype = "float32"' in single.to_toml()
    assert "dtype" not in config.to_toml()
    with pytest.raises(
        ValueError, match=r"`dtype` must be one of 'float64', 'float32'\. Received: dtype='float16'"
    ):
        config.replace(dtype="float16")


@pytest.mark.slow
def test_float32_sweep_agrees_with_float64(tmp_path):
    """The notebook's experiment (circles, [2, 10, 5, 1] ReLU, learning rate 0.01, 15,000
    full-batch iterations), He init from seed 0, swept in both dtypes into one store.

    Measured, seed 0: final costs 2e-6 (compiled engine) and 9e-7 (NumPy engine) relative
    apart, recorded costs up to 9e-6 and 2e-5. Seeds 1-3: final costs up to 3e-5 apart, and
    seed 1's recorded cost 2e-4 apart at iteration 10,000, where it falls fastest. Accuracies
    equal for seeds 0-3. Pinned: 1e-4 on seed 0's final and recorded costs (5x the largest
    measured), accuracies exactly."""
    spec = parse_spec({"sweep": {"seeds": [0], "iterations": 15_000, "record_every": 1000},
                       "model": {"layer_sizes": [2, 10, 5, 1]}, "init": [{"name": "he"}],
                       "train": {"dtype": ["float64", "float32"]}})  # fmt: skip
    store = ResultStore(tmp_path / "runs.db")
    run_sweep(spec, store)
    double, single = (store.rows([run.key])[0] for run in spec.runs())
    assert double.config.get("dtype") is None
    assert single.config["dtype"] == "float32"
    assert single.status == double.status == "completed"
    assert single.final_cost == pytest.approx(double.final_cost, rel=1e-4, abs=0)
    np.testing.assert_allclose(single.curve["costs"], double.curve["costs"], rtol=1e-4, atol=0)
    assert (single.train_accuracy, single.test_accuracy) == (
        double.train_accuracy, double.test_accuracy
    )  # fmt: skip
    assert store.to_dataframe().set_index("key").loc[[double.key, single.key], "dtype"].tolist() == [
        "float64", "float32"
    ]  # fmt: skip
