"""Playground sessions in process: trained on the resumable engine, curves a function of the
iteration alone, however the training was stepped."""

import math

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the playground needs the web extra: initlab[web]")

from initlab.engine.resumable import EngineTrainer
from initlab.train import Trainer
from initlab.web import frames
from initlab.web import session as session_module
from initlab.web.config import Limits, parse_config
from initlab.web.session import CURVE_COLUMNS, Session, UploadStore

LIMITS = Limits()


@pytest.fixture(scope="module")
def uploads():
    store = UploadStore(LIMITS)
    yield store
    store.close()


def session(config: dict, uploads: UploadStore) -> Session:
    return Session("test", parse_config(config, LIMITS), LIMITS, uploads)


def stepped(config: dict, steps: list[int], uploads: UploadStore) -> Session:
    s = session(config, uploads)
    for n in steps:
        s.step(n)
    return s


def curves(s: Session) -> list[dict]:
    return [{name: getattr(run.curve, name) for name in CURVE_COLUMNS} for run in s.runs]


def assert_same_curves(a: Session, b: Session) -> None:
    """Equal curves, NaN equal to NaN (a diverged run's costs), bit for bit."""
    for x, y in zip(curves(a), curves(b), strict=True):
        assert x["iteration"] == y["iteration"]
        for name in CURVE_COLUMNS[1:]:
            np.testing.assert_array_equal(x[name], y[name])


MINI_BATCH_ADAM = {
    "inits": [{"name": "he"}, {"name": "glorot_uniform"}],
    "optimizer": "adam",
    "batch_size": 64,
    "l2": 0.05,
    "seed": 4,
}
DIVERGING = {
    "inits": [{"name": "random", "scale": 10}, {"name": "he"}],
    "hidden": [10, 10],
    "activation": "linear",
    "learning_rate": 10.0,
}


def test_sessions_train_on_the_engine(uploads):
    s = session(MINI_BATCH_ADAM, uploads)
    assert all(isinstance(run.trainer, EngineTrainer) for run in s.runs)


@pytest.mark.parametrize("config", [MINI_BATCH_ADAM, DIVERGING], ids=["adam", "diverging"])
def test_curves_are_the_same_in_small_steps_and_in_one_long_one(config, monkeypatch, uploads):
    """One long step, its runs on parallel threads, against frames of 7 iterations on one
    thread: the same curve points, bit for bit, and the same state."""
    monkeypatch.setattr(session_module, "PARALLEL_FLOPS", math.inf)
    small = stepped(config, [7] * 60, uploads)
    monkeypatch.setattr(session_module, "PARALLEL_FLOPS", 1)
    long = stepped(config, [420], uploads)
    assert small.iteration == long.iteration == 420
    assert_same_curves(small, long)
    assert curves(long)[0]["iteration"] == list(range(0, 421, 10))
    a, b = frames.frame(small), frames.frame(long)
    for x, y in zip(a["runs"], b["runs"], strict=True):
        assert x["train_cost"] == y["train_cost"]
        assert x["status"] == y["status"]
        assert x["diverged_at"] == y["diverged_at"]


def test_a_diverged_run_keeps_its_last_state_on_the_curve(uploads):
    s = stepped(DIVERGING, [100], uploads)
    bad, other = s.runs
    assert bad.trainer.diverged
    at = bad.trainer.diverged_at
    assert at is not None
    after = [k for k, it in enumerate(bad.curve.iteration) if it >= at]
    assert len(after) >= 2
    assert all(not math.isfinite(bad.curve.train_cost[k]) for k in after)
    assert len(bad.curve.iteration) == len(other.curve.iteration) == 11


def test_the_reference_fallback_draws_the_same_curves(monkeypatch, uploads):
    """Where the engine does not cover a run, the session trains with the reference
    Trainer: the same curve points to 1e-9 (the engine's agreement with it)."""
    engine = stepped(MINI_BATCH_ADAM, [95, 205], uploads)
    reference_trainer = session_module.resumable_trainer

    def reference(*args, **kwargs):
        return reference_trainer(*args, engine="reference", **kwargs)

    monkeypatch.setattr(session_module, "resumable_trainer", reference)
    fallback = stepped(MINI_BATCH_ADAM, [95, 205], uploads)
    assert all(type(run.trainer) is Trainer for run in fallback.runs)
    for x, y in zip(curves(engine), curves(fallback), strict=True):
        assert x["iteration"] == y["iteration"]
        for name in CURVE_COLUMNS[1:]:
            np.testing.assert_allclose(x[name], y[name], rtol=1e-9, atol=0)
