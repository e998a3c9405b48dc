"""`verdict` takes what `diagnose` returns, and says so when given the records instead."""

import numpy as np
import pytest

from initlab import MLP, circles, init_params, train
from initlab.diagnostics import Finding, Recorder, diagnose, verdict


@pytest.fixture(scope="module")
def records():
    data, mlp = circles(), MLP([2, 10, 5, 1])
    params = init_params(mlp, np.random.default_rng(0), "he")
    result = train(mlp, params, data.X_train, data.y_train, iterations=2, recorder=Recorder(1))
    return result.records


def test_verdict_of_diagnose_joins_the_first_findings(records):
    findings = diagnose(records)
    assert verdict(findings) == "; ".join(f.message for f in findings[:2])
    assert verdict(findings, limit=1) == findings[0].message
    assert verdict([]) == ""


def test_verdict_of_the_records_says_to_diagnose_them(records):
    with pytest.raises(TypeError, match=r"call verdict\(diagnose\(records\)\)") as err:
        verdict(records)
    assert f"Received: a {type(records).__name__}" in str(err.value)


def test_verdict_of_layer_records_names_what_it_got(records):
    with pytest.raises(TypeError, match=r"Received: a list of LayerRecord"):
        verdict(records.rows)


@pytest.mark.parametrize("bad", ["healthy", None, [Finding("healthy", "ok"), "symmetry"]])
def test_verdict_refuses_anything_but_findings(bad):
    with pytest.raises(TypeError, match=r"verdict\(diagnose\(records\)\)"):
        verdict(bad)
